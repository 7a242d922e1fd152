//! Layouts of what the card and the host exchange through memory: the DMA
//! descriptor, the completion, the metadata record (DESIGN.md idea 4), and the
//! layout of the mirror area a card writes into in its partner's memory.
//!
//! All multi-byte fields are little-endian. Each struct is `repr(C)` with its
//! size and field offsets asserted at compile time; `encode`/`decode` move it
//! to and from the exact bytes the hardware reads and writes.

use core::fmt;
use core::mem::{offset_of, size_of};

/// Descriptor opcodes (DESIGN.md "DMA copy engine").
pub mod opcode {
    /// Read 1..=16 local pages, write each into a partner mirror slot through
    /// the NTB, then write one metadata record per page into the slot header.
    pub const MIRROR: u8 = 1;
    /// Zero the slot header(s) in partner memory, then free the slot(s).
    pub const RELEASE: u8 = 2;
    /// Read slots from the partner's memory into local pages (failback).
    pub const COPY_BACK: u8 = 3;
    /// Send a batch of metadata records (no page data) to the partner's
    /// metadata ring (DESIGN.md idea 5).
    pub const META: u8 = 4;
}

/// Descriptor flags.
pub mod flags {
    /// MIRROR: use the slots listed in `slots` instead of allocating.
    pub const SLOTS_GIVEN: u8 = 1 << 0;
    /// `local_addr` points at a list of `count` u64 page IOVAs instead of at
    /// `count` contiguous pages.
    pub const PAGE_LIST: u8 = 1 << 1;
    /// Raise the DMA interrupt cause when this descriptor completes, whatever
    /// the coalescing thresholds say.
    pub const IRQ_NOW: u8 = 1 << 2;
}

/// Completion status codes.
pub mod status {
    pub const OK: u8 = 0;
    pub const BAD_OPCODE: u8 = 1;
    /// Zero pages/records, or more than the build maximum.
    pub const BAD_LENGTH: u8 = 2;
    /// Misaligned address, or an address outside every configured window.
    pub const BAD_ADDRESS: u8 = 3;
    /// A given slot number is not below the allocator's slot count.
    pub const BAD_SLOT: u8 = 4;
    /// Fewer free slots than pages: nothing was allocated or written.
    pub const NO_SLOTS: u8 = 5;
    /// The host returned an error for a DMA read.
    pub const DMA_READ_ERROR: u8 = 6;
    /// The NTB link was down: the descriptor was not (or not fully) carried out.
    pub const LINK_DOWN: u8 = 7;
    /// The allocator was not initialised.
    pub const NOT_INITIALISED: u8 = 8;
    /// RELEASE of a slot that was not allocated (the other slots of the
    /// descriptor were released; `Completion::detail` says which).
    pub const DOUBLE_FREE: u8 = 9;
    /// META would overrun the partner's metadata ring: nothing was sent.
    pub const RING_FULL: u8 = 10;
    /// The partner card refused a write or read: outside its inbound windows,
    /// or its host returned an error for a copy-back read.
    pub const REFUSED: u8 = 11;

    pub const fn name(code: u8) -> &'static str {
        match code {
            OK => "ok",
            BAD_OPCODE => "bad opcode",
            BAD_LENGTH => "bad length",
            BAD_ADDRESS => "bad address",
            BAD_SLOT => "bad slot",
            NO_SLOTS => "no free slots",
            DMA_READ_ERROR => "DMA read error",
            LINK_DOWN => "link down",
            NOT_INITIALISED => "allocator not initialised",
            DOUBLE_FREE => "double free",
            RING_FULL => "partner metadata ring full",
            REFUSED => "refused by the partner",
            _ => "unknown status",
        }
    }
}

/// Metadata record kinds.
pub mod meta_kind {
    /// The slot holds dirty data for (lun, lba) with the given sector bitmap.
    pub const MIRROR: u8 = 1;
    /// The line was hardened to disk; the partner's copy is no longer needed.
    pub const INVALIDATE: u8 = 2;
    /// Flush-notice variant: the mirror is temporarily invalid while destaging.
    pub const FLUSH_NOTICE: u8 = 3;
    /// Kinds from this value up are defined by the firmware protocol.
    pub const FIRMWARE_BASE: u8 = 0x80;
}

/// Most slots one descriptor names.
pub const MAX_DESC_SLOTS: usize = 16;

/// A layout decode error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The buffer is shorter than the record.
    Short { need: usize, got: usize },
    /// A metadata record's magic word is wrong (never written, or zeroed).
    BadMagic(u32),
    /// A metadata record's check word does not match its contents (torn).
    BadCheck { stored: u32, computed: u32 },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::Short { need, got } => {
                write!(f, "record needs {need} bytes, buffer has {got}")
            }
            LayoutError::BadMagic(m) => write!(f, "metadata record magic {m:#010x} is not valid"),
            LayoutError::BadCheck { stored, computed } => write!(
                f,
                "metadata record check {stored:#010x} does not match contents ({computed:#010x})"
            ),
        }
    }
}

macro_rules! le_codec {
    ($ty:ident, $size:expr, { $($field:ident : $fty:ty),* $(,)? }) => {
        impl $ty {
            pub const SIZE: usize = $size;
            /// The bytes as they sit in memory.
            pub fn encode(&self) -> [u8; $size] {
                let mut out = [0u8; $size];
                $( le_put(&mut out, offset_of!($ty, $field), &self.$field); )*
                out
            }
            /// Reads the record from the front of `bytes`.
            pub fn decode(bytes: &[u8]) -> Result<Self, LayoutError> {
                if bytes.len() < $size {
                    return Err(LayoutError::Short { need: $size, got: bytes.len() });
                }
                let mut v = Self::default();
                $( le_get(bytes, offset_of!($ty, $field), &mut v.$field); )*
                Ok(v)
            }
        }
        const _: () = assert!(size_of::<$ty>() == $size);
    };
}

trait Le: Sized {
    fn put(&self, out: &mut [u8]);
    fn get(bytes: &[u8]) -> Self;
}
macro_rules! le_int {
    ($($t:ty),*) => {$(
        impl Le for $t {
            fn put(&self, out: &mut [u8]) {
                out[..size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut b = [0u8; size_of::<$t>()];
                b.copy_from_slice(&bytes[..size_of::<$t>()]);
                <$t>::from_le_bytes(b)
            }
        }
    )*};
}
le_int!(u8, u16, u32, u64);
impl<T: Le + Copy + Default, const N: usize> Le for [T; N] {
    fn put(&self, out: &mut [u8]) {
        for (i, x) in self.iter().enumerate() {
            x.put(&mut out[i * size_of::<T>()..]);
        }
    }
    fn get(bytes: &[u8]) -> Self {
        let mut v = [T::default(); N];
        for (i, x) in v.iter_mut().enumerate() {
            *x = T::get(&bytes[i * size_of::<T>()..]);
        }
        v
    }
}
fn le_put<T: Le>(out: &mut [u8], off: usize, v: &T) {
    v.put(&mut out[off..]);
}
fn le_get<T: Le>(bytes: &[u8], off: usize, v: &mut T) {
    *v = T::get(&bytes[off..]);
}

/// A DMA descriptor, 128 bytes, in the descriptor ring in host memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// One of [`opcode`].
    pub opcode: u8,
    /// Bits of [`flags`].
    pub flags: u8,
    /// Pages (MIRROR, COPY_BACK), slots (RELEASE) or records (META).
    pub count: u16,
    /// Software's tag, echoed in the completion.
    pub tag: u32,
    /// IOVA of the first local page, of the page list, or of the record batch.
    pub local_addr: u64,
    /// LBA (in 512-byte sectors) of the first page.
    pub lba: u64,
    pub lun: u32,
    /// Sequence number of the first metadata record; +1 per page.
    pub seq: u32,
    /// Dirty-sector bitmap of the first page.
    pub dirty_first: u64,
    /// Dirty-sector bitmap of the last page (pages between are fully dirty).
    pub dirty_last: u64,
    /// Which controller's cache the line belongs to.
    pub cache_id: u16,
    pub reserved0: u16,
    /// Fencing epoch the records carry (DESIGN.md idea 9).
    pub epoch: u32,
    pub reserved1: u64,
    /// Slots for SLOTS_GIVEN MIRROR, RELEASE and COPY_BACK.
    pub slots: [u16; MAX_DESC_SLOTS],
    pub reserved2: [u64; 4],
}
le_codec!(Descriptor, 128, {
    opcode: u8, flags: u8, count: u16, tag: u32, local_addr: u64, lba: u64, lun: u32,
    seq: u32, dirty_first: u64, dirty_last: u64, cache_id: u16, reserved0: u16,
    epoch: u32, reserved1: u64, slots: [u16; 16], reserved2: [u64; 4],
});
const _: () = assert!(offset_of!(Descriptor, slots) == 64);

/// Completion flags.
pub mod completion_flags {
    /// Phase bit: flips each time the card wraps the completion ring, so the
    /// host tells a fresh entry from a stale one without a head register read.
    pub const PHASE: u8 = 1 << 0;
}

/// A completion, 64 bytes, in the completion ring in host memory.
///
/// The card writes the entry's beats highest address first, so the first
/// eight bytes — with the PHASE flag — land last: once software sees the new
/// phase, the whole entry is there.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    pub tag: u32,
    /// One of [`status`].
    pub status: u8,
    pub opcode: u8,
    /// Bits of [`completion_flags`].
    pub flags: u8,
    pub reserved0: u8,
    /// Slots valid in `slots` (pages or records for META).
    pub count: u16,
    /// Index of the descriptor in its ring.
    pub desc_index: u16,
    /// RELEASE: bit i = `slots[i]` was freed and its header zeroed.
    pub detail: u32,
    /// Slots taken (MIRROR) or freed (RELEASE).
    pub slots: [u16; MAX_DESC_SLOTS],
    pub reserved2: [u64; 2],
}
le_codec!(Completion, 64, {
    tag: u32, status: u8, opcode: u8, flags: u8, reserved0: u8, count: u16, desc_index: u16,
    detail: u32, slots: [u16; 16], reserved2: [u64; 2],
});
const _: () = assert!(offset_of!(Completion, flags) == 6 && offset_of!(Completion, slots) == 16);

/// `"DXMR"`: marks a written metadata record.
pub const META_MAGIC: u32 = 0x524D_5844;

/// A metadata record, 64 bytes: the header of a mirror slot in the partner's
/// mirror area, or an entry of the partner's metadata ring (DESIGN.md idea 4).
///
/// A record is valid only when `magic` is [`META_MAGIC`] and `check` matches
/// [`MetaRecord::compute_check`]: a zeroed header (released slot) and a torn
/// record are both invalid.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaRecord {
    pub magic: u32,
    /// One of [`meta_kind`].
    pub kind: u8,
    pub flags: u8,
    pub cache_id: u16,
    pub seq: u32,
    pub slot: u16,
    pub reserved0: u16,
    pub lba: u64,
    pub lun: u32,
    pub epoch: u32,
    /// Dirty-sector bitmap: bit i = sector i of the page holds new data.
    pub dirty: u64,
    pub reserved1: [u32; 5],
    pub check: u32,
}
le_codec!(MetaRecord, 64, {
    magic: u32, kind: u8, flags: u8, cache_id: u16, seq: u32, slot: u16, reserved0: u16,
    lba: u64, lun: u32, epoch: u32, dirty: u64, reserved1: [u32; 5], check: u32,
});

impl MetaRecord {
    /// The check word: the complement of the XOR of the first fifteen
    /// little-endian words. Cheap to compute on the streaming data path; never
    /// equal to 0 for an all-zero record.
    pub fn compute_check(bytes: &[u8; 64]) -> u32 {
        let mut x = 0u32;
        for w in bytes[..60].chunks_exact(4) {
            x ^= u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        }
        !x
    }
    /// The record with `magic` and `check` filled in.
    pub fn sealed(mut self) -> Self {
        self.magic = META_MAGIC;
        self.check = 0;
        self.check = Self::compute_check(&self.encode());
        self
    }
    /// Decodes and validates a record: magic and check must match.
    pub fn decode_valid(bytes: &[u8]) -> Result<Self, LayoutError> {
        let r = Self::decode(bytes)?;
        if r.magic != META_MAGIC {
            return Err(LayoutError::BadMagic(r.magic));
        }
        let computed = Self::compute_check(&r.encode());
        if computed != r.check {
            return Err(LayoutError::BadCheck {
                stored: r.check,
                computed,
            });
        }
        Ok(r)
    }
}

/// The mirror area a card writes in its partner's memory: a header table (one
/// [`MetaRecord`] per slot), padded to a slot boundary, then the slot pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MirrorAreaLayout {
    pub slots: u32,
    pub slot_size: u32,
}

impl MirrorAreaLayout {
    pub const fn header_table_bytes(&self) -> u64 {
        let raw = self.slots as u64 * MetaRecord::SIZE as u64;
        raw.div_ceil(self.slot_size as u64) * self.slot_size as u64
    }
    /// Byte offset of slot `s`'s header from the start of the area.
    pub const fn header_offset(&self, s: u32) -> u64 {
        s as u64 * MetaRecord::SIZE as u64
    }
    /// Byte offset of slot `s`'s page from the start of the area.
    pub const fn data_offset(&self, s: u32) -> u64 {
        self.header_table_bytes() + s as u64 * self.slot_size as u64
    }
    /// Total bytes of the area.
    pub const fn total_bytes(&self) -> u64 {
        self.data_offset(self.slots)
    }
    /// Slots that fit when `fraction_pct` percent of a cache of `cache_bytes`
    /// is reserved as mirror area for the partner (DESIGN.md idea 2).
    pub const fn slots_for(cache_bytes: u64, fraction_pct: u32, slot_size: u32) -> u32 {
        let area = cache_bytes * fraction_pct as u64 / 100;
        // Each slot costs its page plus its header.
        let per_slot = slot_size as u64 + MetaRecord::SIZE as u64;
        let n = area / per_slot;
        if n > u32::MAX as u64 {
            u32::MAX
        } else {
            n as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trips_through_bytes() {
        let mut d = Descriptor {
            opcode: opcode::MIRROR,
            flags: flags::SLOTS_GIVEN,
            count: 3,
            tag: 0xAABB_CCDD,
            local_addr: 0x1122_3344_5566_7788,
            lba: 77,
            lun: 5,
            seq: 9,
            dirty_first: 0xF0,
            dirty_last: 0x0F,
            cache_id: 1,
            epoch: 4,
            ..Default::default()
        };
        d.slots[2] = 0x1234;
        let b = d.encode();
        assert_eq!(b[0], opcode::MIRROR);
        assert_eq!(&b[4..8], &0xAABB_CCDDu32.to_le_bytes());
        assert_eq!(&b[68..70], &0x1234u16.to_le_bytes());
        assert_eq!(Descriptor::decode(&b).unwrap(), d);
    }

    #[test]
    fn short_buffer_is_a_typed_error() {
        assert_eq!(
            Completion::decode(&[0u8; 10]),
            Err(LayoutError::Short { need: 64, got: 10 })
        );
    }

    #[test]
    fn zeroed_and_torn_records_are_invalid() {
        assert!(matches!(
            MetaRecord::decode_valid(&[0u8; 64]),
            Err(LayoutError::BadMagic(0))
        ));
        let r = MetaRecord {
            kind: meta_kind::MIRROR,
            lba: 8,
            lun: 1,
            dirty: 0xFF,
            slot: 3,
            ..Default::default()
        }
        .sealed();
        let mut b = r.encode();
        assert_eq!(MetaRecord::decode_valid(&b).unwrap(), r);
        // A record whose second half never landed.
        for x in &mut b[32..60] {
            *x = 0;
        }
        assert!(matches!(
            MetaRecord::decode_valid(&b),
            Err(LayoutError::BadCheck { .. })
        ));
    }

    #[test]
    fn mirror_area_puts_pages_after_the_header_table() {
        let l = MirrorAreaLayout {
            slots: 100,
            slot_size: 4096,
        };
        assert_eq!(l.header_table_bytes(), 8192);
        assert_eq!(l.data_offset(0), 8192);
        assert_eq!(l.data_offset(1), 8192 + 4096);
        assert_eq!(l.total_bytes(), 8192 + 100 * 4096);
        // 30 % of 1 GiB in 4 KiB slots with 64-byte headers.
        let n = MirrorAreaLayout::slots_for(1 << 30, 30, 4096);
        assert_eq!(n, ((1u64 << 30) * 30 / 100 / 4160) as u32);
    }
}
