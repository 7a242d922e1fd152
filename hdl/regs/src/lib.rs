//! The hardware/software contract of the duplex card.
//!
//! This crate is the one place where a BAR0 register offset, a register field,
//! or the layout of a DMA descriptor, completion or metadata record is written.
//! The hardware (`duplex-hdl`) decodes the constants declared here, the driver
//! reads and writes through [`Reg`] and [`Field`] values declared here, and the
//! register reference `REGISTERS.md` is generated from [`BLOCKS`] (a test fails
//! when the committed file is stale).
//!
//! BAR0 is a list of register blocks. Every block starts with three words —
//! TYPE, VERSION, NEXT — so software can walk the list from offset 0 and check
//! each block's version before it touches the block (the Corundum convention).
//! NEXT holds the BAR0 offset of the next block, or 0 for the last one.
#![no_std]

pub mod blocks;
pub mod dma;
pub mod layout;
pub mod markdown;
pub mod slot_alloc;

pub use blocks::*;
pub use dma::{DMA, WIN};
pub use layout::*;
pub use slot_alloc::ALLOC;

/// How software may access a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read-only: writes are ignored.
    Ro,
    /// Read/write: a write sets the value, a read returns it.
    Rw,
    /// Write-one-to-clear: reads return the value, writing 1 to a bit clears it.
    W1c,
    /// Write-only command register: a write triggers an action, reads return 0.
    Wo,
}

impl Access {
    pub const fn as_str(self) -> &'static str {
        match self {
            Access::Ro => "RO",
            Access::Rw => "RW",
            Access::W1c => "W1C",
            Access::Wo => "WO",
        }
    }
}

/// A bit field inside a 32-bit register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub lsb: u32,
    pub width: u32,
    pub doc: &'static str,
}

impl Field {
    pub const fn mask(&self) -> u32 {
        if self.width >= 32 {
            u32::MAX
        } else {
            ((1u32 << self.width) - 1) << self.lsb
        }
    }
    /// The field's value inside a register value.
    pub const fn get(&self, reg_value: u32) -> u32 {
        (reg_value & self.mask()) >> self.lsb
    }
    /// `reg_value` with this field replaced by `v` (excess bits of `v` dropped).
    pub const fn set(&self, reg_value: u32, v: u32) -> u32 {
        (reg_value & !self.mask()) | ((v << self.lsb) & self.mask())
    }
}

/// One 32-bit register in BAR0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg {
    pub name: &'static str,
    /// Absolute byte offset in BAR0 (32-bit aligned).
    pub offset: u32,
    pub access: Access,
    pub reset: u32,
    pub doc: &'static str,
    pub fields: &'static [Field],
}

impl Reg {
    /// Word index of this register inside its block (offset bits 7:2).
    pub const fn word(&self) -> u32 {
        (self.offset & (BLOCK_SIZE - 1)) >> 2
    }
    /// The offset of the `i`th register of an array whose first element is `self`.
    pub const fn at(&self, i: u32) -> Reg {
        Reg {
            offset: self.offset + 4 * i,
            ..*self
        }
    }
}

/// A register block: a TYPE/VERSION/NEXT header followed by its registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub name: &'static str,
    pub base: u32,
    /// Value of the TYPE word: identifies what the block is.
    pub type_id: u32,
    /// Value of the VERSION word: major in bits 31:16, minor in 15:0.
    pub version: u32,
    /// Value of the NEXT word: BAR0 offset of the next block, 0 for the last.
    pub next: u32,
    pub doc: &'static str,
    /// The registers after the header, in offset order. Arrays are listed by
    /// their first element with `count` > 1 in [`RegArray`].
    pub regs: &'static [RegArray],
}

/// A register, or an array of `count` consecutive registers of the same kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegArray {
    pub reg: Reg,
    pub count: u32,
}

/// Size of every register block in BAR0 bytes. A block's registers are decoded
/// from BAR0 offset bits 7:2; bits 15:8 select the block.
pub const BLOCK_SIZE: u32 = 0x100;
/// Size of BAR0.
pub const BAR0_SIZE: u32 = 0x1_0000;
/// What a read of an unmapped BAR0 offset returns. Distinct from 0xFFFF_FFFF,
/// which a host sees when the card has dropped off the bus, so software can
/// tell "wrong offset" from "card gone". Each such access is counted in
/// `ERR.UNMAPPED_COUNT`.
pub const UNMAPPED_READ_VALUE: u32 = 0xBAD0_0BAD;

/// Word offsets of the block header, common to every block.
pub const HDR_TYPE: u32 = 0x0;
pub const HDR_VERSION: u32 = 0x4;
pub const HDR_NEXT: u32 = 0x8;

/// `major.minor` packed the way VERSION words hold it.
pub const fn version(major: u16, minor: u16) -> u32 {
    ((major as u32) << 16) | minor as u32
}

impl Block {
    pub const fn type_reg(&self) -> Reg {
        hdr(
            self.base + HDR_TYPE,
            "TYPE",
            self.type_id,
            "Block type identifier.",
        )
    }
    pub const fn version_reg(&self) -> Reg {
        hdr(
            self.base + HDR_VERSION,
            "VERSION",
            self.version,
            "Block version, major in 31:16, minor in 15:0.",
        )
    }
    pub const fn next_reg(&self) -> Reg {
        hdr(
            self.base + HDR_NEXT,
            "NEXT",
            self.next,
            "BAR0 offset of the next block; 0 ends the list.",
        )
    }
    /// Block index as decoded by hardware from BAR0 offset bits 15:8.
    pub const fn index(&self) -> u32 {
        self.base / BLOCK_SIZE
    }
    pub const fn major(&self) -> u16 {
        (self.version >> 16) as u16
    }
    /// True when `offset` lies inside a declared register of this block
    /// (header included).
    pub fn decodes(&self, offset: u32) -> bool {
        if offset < self.base || offset >= self.base + BLOCK_SIZE || !offset.is_multiple_of(4) {
            return false;
        }
        if offset < self.base + 0xC {
            return true;
        }
        self.regs
            .iter()
            .any(|a| offset >= a.reg.offset && offset < a.reg.offset + 4 * a.count)
    }
}

const fn hdr(offset: u32, name: &'static str, reset: u32, doc: &'static str) -> Reg {
    Reg {
        name,
        offset,
        access: Access::Ro,
        reset,
        doc,
        fields: &[],
    }
}

/// Finds the block that contains `offset`.
pub fn block_at(offset: u32) -> Option<&'static Block> {
    BLOCKS
        .iter()
        .find(|b| offset >= b.base && offset < b.base + BLOCK_SIZE)
}

/// True when a BAR0 access at `offset` hits a declared register.
pub fn is_mapped(offset: u32) -> bool {
    block_at(offset).is_some_and(|b| b.decodes(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_list_is_linked_in_order_and_ends() {
        let mut off = 0u32;
        let mut seen = 0;
        loop {
            let b = block_at(off).expect("NEXT points into a block");
            assert_eq!(b.base, off);
            seen += 1;
            if b.next == 0 {
                break;
            }
            assert!(b.next > b.base, "NEXT must move forward");
            off = b.next;
        }
        assert_eq!(seen, BLOCKS.len());
    }

    #[test]
    fn registers_are_aligned_inside_their_block_and_do_not_overlap() {
        for b in BLOCKS {
            let mut last_end = b.base + 0xC;
            for a in b.regs {
                assert_eq!(a.reg.offset % 4, 0, "{}.{}", b.name, a.reg.name);
                assert!(
                    a.reg.offset >= last_end,
                    "{}.{} overlaps",
                    b.name,
                    a.reg.name
                );
                last_end = a.reg.offset + 4 * a.count;
                assert!(last_end <= b.base + BLOCK_SIZE, "{}.{}", b.name, a.reg.name);
                for f in a.reg.fields {
                    assert!(
                        f.lsb + f.width <= 32,
                        "{}.{}.{}",
                        b.name,
                        a.reg.name,
                        f.name
                    );
                }
            }
        }
    }

    #[test]
    fn field_set_and_get_round_trip() {
        let f = Field {
            name: "X",
            lsb: 4,
            width: 3,
            doc: "",
        };
        let v = f.set(0xFFFF_FFFF, 0b010);
        assert_eq!(f.get(v), 0b010);
        assert_eq!(v | f.mask(), 0xFFFF_FFFF);
        assert_eq!(f.set(0, 0xFF), 0b111 << 4);
    }

    #[test]
    fn unmapped_offsets_are_not_decoded() {
        assert!(is_mapped(ID.base));
        assert!(!is_mapped(ID.base + 2));
        assert!(!is_mapped(0xFF00));
        assert!(!is_mapped(ID.base + BLOCK_SIZE - 4));
    }
}
