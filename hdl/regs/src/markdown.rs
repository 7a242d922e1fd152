//! The register reference, generated from [`crate::BLOCKS`] and the record
//! layouts. `hdl/regs/REGISTERS.md` holds its output; the test
//! `register_reference_is_current` fails when that file is stale
//! (`DUPLEX_BLESS=1 cargo test -p duplex-regs` rewrites it).

use crate::{layout, Block, BLOCKS, UNMAPPED_READ_VALUE};
use core::fmt::{self, Write};

/// Writes the whole register reference as Markdown.
pub fn write_reference(w: &mut impl Write) -> fmt::Result {
    writeln!(w, "# duplex card register reference")?;
    writeln!(w)?;
    writeln!(
        w,
        "Generated from `hdl/regs` (the one source of truth); do not edit by hand."
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "BAR0 is a linked list of {}-byte blocks. Every block starts with TYPE (0x0), \
         VERSION (0x4, major.minor in 31:16/15:0) and NEXT (0x8, offset of the next block, \
         0 for the last). A read of an offset no register decodes returns `{:#010x}` and \
         is counted in `ERR.UNMAPPED_COUNT`; a write there is dropped and counted.",
        crate::BLOCK_SIZE,
        UNMAPPED_READ_VALUE
    )?;
    writeln!(w)?;
    writeln!(w, "| block | offset | TYPE | VERSION | what it is |")?;
    writeln!(w, "|---|---|---|---|---|")?;
    for b in BLOCKS {
        writeln!(
            w,
            "| {} | {:#06x} | {:#010x} | {}.{} | {} |",
            b.name,
            b.base,
            b.type_id,
            b.version >> 16,
            b.version & 0xFFFF,
            b.doc
        )?;
    }
    for b in BLOCKS {
        write_block(w, b)?;
    }
    write_layouts(w)
}

fn write_block(w: &mut impl Write, b: &Block) -> fmt::Result {
    writeln!(w)?;
    writeln!(w, "## {} at {:#06x}", b.name, b.base)?;
    writeln!(w)?;
    writeln!(w, "{}", b.doc)?;
    writeln!(w)?;
    writeln!(w, "| offset | register | access | reset | description |")?;
    writeln!(w, "|---|---|---|---|---|")?;
    for r in [b.type_reg(), b.version_reg(), b.next_reg()] {
        writeln!(
            w,
            "| {:#06x} | {} | {} | {:#010x} | {} |",
            r.offset,
            r.name,
            r.access.as_str(),
            r.reset,
            r.doc
        )?;
    }
    for a in b.regs {
        let r = &a.reg;
        let name = if a.count > 1 {
            let mut s = heapless_name::Name::new();
            let _ = write!(s, "{}[0..{}]", r.name, a.count);
            s
        } else {
            let mut s = heapless_name::Name::new();
            let _ = write!(s, "{}", r.name);
            s
        };
        writeln!(
            w,
            "| {:#06x} | {} | {} | {:#010x} | {} |",
            r.offset,
            name.as_str(),
            r.access.as_str(),
            r.reset,
            r.doc
        )?;
        for f in r.fields {
            writeln!(
                w,
                "| | `[{}:{}]` {} | | | {} |",
                f.lsb + f.width - 1,
                f.lsb,
                f.name,
                f.doc
            )?;
        }
    }
    Ok(())
}

fn write_layouts(w: &mut impl Write) -> fmt::Result {
    writeln!(w)?;
    writeln!(w, "## Records in host memory")?;
    writeln!(w)?;
    writeln!(
        w,
        "Little-endian. Descriptor: {} bytes; completion: {} bytes; metadata record: {} bytes \
         (valid when magic is `{:#010x}` and the check word is the complement of the XOR of \
         words 0..15). The mirror area in the partner's memory is a header table of one \
         metadata record per slot, padded to a slot boundary, followed by the slot pages.",
        layout::Descriptor::SIZE,
        layout::Completion::SIZE,
        layout::MetaRecord::SIZE,
        layout::META_MAGIC
    )
}

/// A small fixed-capacity string, so this crate stays free of `alloc`.
mod heapless_name {
    use core::fmt;
    pub struct Name {
        buf: [u8; 48],
        len: usize,
    }
    impl Name {
        pub fn new() -> Self {
            Name {
                buf: [0; 48],
                len: 0,
            }
        }
        pub fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
        }
    }
    impl fmt::Write for Name {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let b = s.as_bytes();
            if self.len + b.len() > self.buf.len() {
                return Err(fmt::Error);
            }
            self.buf[self.len..self.len + b.len()].copy_from_slice(b);
            self.len += b.len();
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;

    #[test]
    fn register_reference_is_current() {
        let mut s = String::new();
        super::write_reference(&mut s).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/REGISTERS.md");
        if std::env::var_os("DUPLEX_BLESS").is_some() {
            std::fs::write(path, &s).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == s,
            "hdl/regs/REGISTERS.md is stale: run `DUPLEX_BLESS=1 cargo test -p duplex-regs`"
        );
    }
}
