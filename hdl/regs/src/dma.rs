//! DMA: the copy engine's queues and outbound window (DESIGN.md ideas 3, 4,
//! 6), and WIN: the inbound NTB windows. Also the link protocol the two cards
//! speak over the non-transparent bridge.
//!
//! ## Queues
//!
//! Software writes 128-byte [`crate::Descriptor`]s into a ring in host memory
//! and writes the free-running count of descriptors posted to
//! [`DESC_TAIL`] (the doorbell). The card fetches descriptors in order, runs
//! them, and writes one 64-byte [`crate::Completion`] per descriptor into the
//! completion ring, in descriptor order. Ring indices are free-running 16-bit
//! counters; entry `i` of a ring of `2^LOG2` entries sits at `base + (i mod
//! 2^LOG2) * entry size`. The completion's PHASE flag is 1 on the first pass
//! through the completion ring, 0 on the second, and so on, so a fresh entry
//! is told from a stale one without a register read. The card never
//! overwrites a completion software has not consumed ([`CPL_HEAD`]); it waits.
//!
//! ## Order
//!
//! For one MIRROR: every page's data, then its metadata records, go over the
//! link in that order; the last record is a non-posted write the partner card
//! acknowledges once it has handed the record to its host memory, and only
//! then is the completion written. The link delivers in order and the partner
//! commits in arrival order, so an OK completion means data and records have
//! landed in the partner's memory. Descriptors complete in ring order.
//!
//! ## Outbound addresses
//!
//! The engine addresses the partner's mirror area by offset: slot `s`'s
//! header at `s * 64`, its page at [`OUT_HDR_BYTES`] `+ s * slot_size`
//! ([`crate::MirrorAreaLayout`]), each checked against [`OUT_MIRROR_SIZE_LO`]
//! before anything is sent. Metadata-ring records go to
//! [`link::META_WINDOW`] `+ (head mod 2^OUT_META_LOG2) * 64`.

use crate::blocks::{field, one, reg, type_id};
use crate::{version, Access, Block, Field, Reg, BLOCK_SIZE};

pub const BASE: u32 = 5 * BLOCK_SIZE;
/// The inbound window block.
pub const WIN_BASE: u32 = 7 * BLOCK_SIZE;

/// The link protocol between the two cards' NTB ports.
///
/// Every link beat carries a kind, a 64-bit address and one data beat of the
/// card's data-path width; `last` marks the final beat of a burst (a page, a
/// record, a read response). Memory beats are always whole, aligned beats.
pub mod link {
    /// Scratchpad message (address = index, data 31:0 = value).
    pub const SPAD: u8 = 1;
    /// Doorbell message (data 15:0 = bits to set).
    pub const DOORBELL: u8 = 2;
    /// Posted memory write of one beat at a window offset.
    pub const WRITE: u8 = 3;
    /// Non-posted memory write of one beat: the receiver answers [`ACK`] once
    /// the beat has been handed to its host memory, or a refusal if the beat
    /// fell outside its windows.
    pub const WRITE_ACK: u8 = 4;
    /// Answer to [`WRITE_ACK`]: data bit 0 = 1 when the write was refused.
    pub const ACK: u8 = 5;
    /// Read request: address = window offset, data 31:0 = length in bytes,
    /// data 47:32 = requester's tag.
    pub const READ_REQ: u8 = 6;
    /// Read data, one beat, in request order; address 15:0 = requester's
    /// tag; `last` on the final beat.
    pub const READ_DATA: u8 = 7;
    /// The read was refused (outside the windows, or the host returned an
    /// error); address 15:0 = requester's tag; ends the response.
    pub const READ_ERR: u8 = 8;

    /// Window offsets from this value up address the metadata ring; below it,
    /// the mirror area.
    pub const META_WINDOW: u64 = 1 << 48;

    pub const fn name(kind: u8) -> &'static str {
        match kind {
            SPAD => "scratchpad",
            DOORBELL => "doorbell",
            WRITE => "write",
            WRITE_ACK => "write (acked)",
            ACK => "ack",
            READ_REQ => "read request",
            READ_DATA => "read data",
            READ_ERR => "read refused",
            _ => "unknown",
        }
    }
}

const fn rw(offset: u32, name: &'static str, reset: u32, doc: &'static str) -> Reg {
    reg(BASE + offset, name, Access::Rw, reset, doc, &[])
}
const fn ro(offset: u32, name: &'static str, doc: &'static str) -> Reg {
    reg(BASE + offset, name, Access::Ro, 0, doc, &[])
}

pub const INDEX: Field = field("INDEX", 0, 16, "Free-running ring index.");
pub const LOG2: Field = field("LOG2", 0, 4, "Base-2 logarithm of the ring size.");
pub const ADDR_128: Field = field("ADDR", 7, 25, "Address bits 31:7.");
pub const ADDR_64: Field = field("ADDR", 6, 26, "Address bits 31:6.");
pub const COUNT16: Field = field("VALUE", 0, 16, "Threshold.");

pub const CAPS_TAGS: Field = field(
    "READ_TAGS",
    0,
    8,
    "Page reads the engine keeps outstanding on the DMA port.",
);
pub const CAPS_MAX_PAGES: Field = field("MAX_PAGES", 8, 5, "Most pages per descriptor.");
pub const CAPS_ACK_DEPTH: Field = field(
    "ACK_DEPTH",
    16,
    8,
    "Descriptors that may wait for the partner's acknowledgement at once.",
);
pub const CAPS: Reg = reg(
    BASE + 0x0C,
    "CAPS",
    Access::Ro,
    8 | (16 << 8) | (32 << 16),
    "Build parameters of the engine.",
    &[CAPS_TAGS, CAPS_MAX_PAGES, CAPS_ACK_DEPTH],
);

pub const CTRL_ENABLE: Field = field(
    "ENABLE",
    0,
    1,
    "Fetch and run descriptors. Clearing it stops fetching; descriptors already fetched finish.",
);
pub const CTRL: Reg = reg(
    BASE + 0x10,
    "CTRL",
    Access::Rw,
    0,
    "Engine control.",
    &[CTRL_ENABLE],
);

pub const STATUS_IDLE: Field = field("IDLE", 0, 1, "No descriptor fetched and not yet completed.");
pub const STATUS: Reg = reg(
    BASE + 0x14,
    "STATUS",
    Access::Ro,
    1,
    "Engine state.",
    &[STATUS_IDLE],
);

pub const DESC_BASE_LO: Reg = reg(
    BASE + 0x18,
    "DESC_BASE_LO",
    Access::Rw,
    0,
    "Descriptor ring IOVA, bits 31:0 (128-byte aligned; bits 6:0 are ignored).",
    &[ADDR_128],
);
pub const DESC_BASE_HI: Reg = rw(0x1C, "DESC_BASE_HI", 0, "Descriptor ring IOVA, bits 63:32.");
pub const DESC_LOG2: Reg = reg(
    BASE + 0x20,
    "DESC_LOG2",
    Access::Rw,
    0,
    "Descriptor ring size: 2^DESC_LOG2 entries (1..=15).",
    &[LOG2],
);
pub const DESC_TAIL: Reg = reg(
    BASE + 0x24,
    "DESC_TAIL",
    Access::Rw,
    0,
    "Doorbell: free-running count (bits 15:0) of descriptors software has posted.",
    &[INDEX],
);
pub const DESC_HEAD: Reg = reg(
    BASE + 0x28,
    "DESC_HEAD",
    Access::Ro,
    0,
    "Free-running count of descriptors the card has fetched.",
    &[INDEX],
);
pub const CPL_BASE_LO: Reg = reg(
    BASE + 0x2C,
    "CPL_BASE_LO",
    Access::Rw,
    0,
    "Completion ring IOVA, bits 31:0 (64-byte aligned; bits 5:0 are ignored).",
    &[ADDR_64],
);
pub const CPL_BASE_HI: Reg = rw(0x30, "CPL_BASE_HI", 0, "Completion ring IOVA, bits 63:32.");
pub const CPL_LOG2: Reg = reg(
    BASE + 0x34,
    "CPL_LOG2",
    Access::Rw,
    0,
    "Completion ring size: 2^CPL_LOG2 entries (1..=15).",
    &[LOG2],
);
pub const CPL_TAIL: Reg = reg(
    BASE + 0x38,
    "CPL_TAIL",
    Access::Ro,
    0,
    "Free-running count of completions the card has written.",
    &[INDEX],
);
pub const CPL_HEAD: Reg = reg(
    BASE + 0x3C,
    "CPL_HEAD",
    Access::Rw,
    0,
    "Free-running count of completions software has consumed; the card waits while CPL_TAIL - CPL_HEAD = ring size.",
    &[INDEX],
);
pub const COAL_COUNT: Reg = reg(
    BASE + 0x40,
    "COAL_COUNT",
    Access::Rw,
    1,
    "Raise IRQ.STATUS.DMA once this many completions are unsignalled (0 acts as 1).",
    &[COUNT16],
);
pub const COAL_TIME: Reg = reg(
    BASE + 0x44,
    "COAL_TIME",
    Access::Rw,
    0,
    "...or once the oldest unsignalled completion is this many cycles old (0 = no timer).",
    &[COUNT16],
);
pub const HOST_LIMIT_LO: Reg = rw(
    0x48,
    "HOST_LIMIT_LO",
    0xFFFF_FFFF,
    "Local IOVAs the engine may touch for pages and records end below this, bits 31:0.",
);
pub const HOST_LIMIT_HI: Reg = rw(
    0x4C,
    "HOST_LIMIT_HI",
    0xFFFF_FFFF,
    "Bits 63:32 of HOST_LIMIT.",
);
pub const OUT_MIRROR_SIZE_LO: Reg = reg(
    BASE + 0x50,
    "OUT_MIRROR_SIZE_LO",
    Access::Rw,
    0,
    "Bytes of the partner's mirror area (its header table and slots), bits 31:0; a multiple of 64. 0: nothing is sent.",
    &[ADDR_64],
);
pub const OUT_MIRROR_SIZE_HI: Reg = rw(0x54, "OUT_MIRROR_SIZE_HI", 0, "Bits 63:32.");
pub const OUT_HDR_BYTES: Reg = reg(
    BASE + 0x58,
    "OUT_HDR_BYTES",
    Access::Rw,
    0,
    "Bytes of the header table at the start of the partner's mirror area (slot pages follow); a multiple of 64.",
    &[ADDR_64],
);
pub const OUT_META_LOG2: Reg = reg(
    BASE + 0x5C,
    "OUT_META_LOG2",
    Access::Rw,
    0,
    "The partner's metadata ring holds 2^OUT_META_LOG2 records (1..=15); 0: no ring, META is refused.",
    &[LOG2],
);
pub const OUT_META_HEAD: Reg = reg(
    BASE + 0x60,
    "OUT_META_HEAD",
    Access::Ro,
    0,
    "Free-running count of records written into the partner's metadata ring.",
    &[INDEX],
);
pub const OUT_META_TAIL: Reg = reg(
    BASE + 0x64,
    "OUT_META_TAIL",
    Access::Rw,
    0,
    "Free-running count of ring records the partner has consumed (software relays it); META that would overrun it completes RING_FULL.",
    &[INDEX],
);

pub const DESC_DONE: Reg = ro(0x68, "DESC_DONE", "Descriptors completed (saturating).");
pub const DESC_FAILED: Reg = ro(
    0x6C,
    "DESC_FAILED",
    "Descriptors completed with a status other than OK (saturating).",
);
pub const PAGES_SENT: Reg = ro(
    0x70,
    "PAGES_SENT",
    "Pages written to the partner (saturating).",
);
pub const RECORDS_SENT: Reg = ro(
    0x74,
    "RECORDS_SENT",
    "Metadata records and zeroed headers written to the partner (saturating).",
);
pub const LAST_STATUS_CODE: Field = field("STATUS", 0, 8, "Completion status.");
pub const LAST_STATUS_INDEX: Field = field(
    "INDEX",
    16,
    16,
    "Ring position of that descriptor (its completion's desc_index).",
);
pub const LAST_STATUS: Reg = reg(
    BASE + 0x78,
    "LAST_STATUS",
    Access::Ro,
    0,
    "The most recent descriptor that completed with a status other than OK.",
    &[LAST_STATUS_CODE, LAST_STATUS_INDEX],
);
pub const CLEAR: Reg = reg(
    BASE + 0x7C,
    "CLEAR",
    Access::Wo,
    0,
    "Writing 1 to bit 0 zeroes the counters of this block.",
    &[],
);

pub const DMA: Block = Block {
    name: "DMA",
    base: BASE,
    type_id: type_id(7),
    version: version(1, 0),
    next: crate::blocks::flash::BASE,
    doc: "DMA copy engine: descriptor and completion rings in host memory, interrupt coalescing, \
          and the outbound window into the partner's mirror area and metadata ring.",
    regs: &[
        one(CAPS),
        one(CTRL),
        one(STATUS),
        one(DESC_BASE_LO),
        one(DESC_BASE_HI),
        one(DESC_LOG2),
        one(DESC_TAIL),
        one(DESC_HEAD),
        one(CPL_BASE_LO),
        one(CPL_BASE_HI),
        one(CPL_LOG2),
        one(CPL_TAIL),
        one(CPL_HEAD),
        one(COAL_COUNT),
        one(COAL_TIME),
        one(HOST_LIMIT_LO),
        one(HOST_LIMIT_HI),
        one(OUT_MIRROR_SIZE_LO),
        one(OUT_MIRROR_SIZE_HI),
        one(OUT_HDR_BYTES),
        one(OUT_META_LOG2),
        one(OUT_META_HEAD),
        one(OUT_META_TAIL),
        one(DESC_DONE),
        one(DESC_FAILED),
        one(PAGES_SENT),
        one(RECORDS_SENT),
        one(LAST_STATUS),
        one(CLEAR),
    ],
};

/// WIN: the inbound NTB windows. A beat from the partner lands in local
/// memory only inside one of two regions — the mirror area this card keeps
/// for the partner and the metadata ring — translated from its window offset
/// to a local IOVA. Anything else (outside both, misaligned, a beat crossing
/// the end, a window of size 0) is dropped, counted and reported; it never
/// reaches memory.
pub mod win {
    use super::*;

    const fn rw(offset: u32, name: &'static str, doc: &'static str) -> Reg {
        reg(WIN_BASE + offset, name, Access::Rw, 0, doc, &[])
    }
    const fn ro(offset: u32, name: &'static str, doc: &'static str) -> Reg {
        reg(WIN_BASE + offset, name, Access::Ro, 0, doc, &[])
    }

    pub const MIRROR_BASE_LO: Reg = reg(
        WIN_BASE + 0x0C,
        "MIRROR_BASE_LO",
        Access::Rw,
        0,
        "Local IOVA of the mirror area kept for the partner, bits 31:0 (64-byte aligned).",
        &[ADDR_64],
    );
    pub const MIRROR_BASE_HI: Reg = rw(0x10, "MIRROR_BASE_HI", "Bits 63:32.");
    pub const MIRROR_SIZE_LO: Reg = reg(
        WIN_BASE + 0x14,
        "MIRROR_SIZE_LO",
        Access::Rw,
        0,
        "Bytes of the mirror area, bits 31:0 (window offsets 0..size; a multiple of 64). 0 closes it.",
        &[ADDR_64],
    );
    pub const MIRROR_SIZE_HI: Reg = rw(0x18, "MIRROR_SIZE_HI", "Bits 63:32.");
    pub const META_BASE_LO: Reg = reg(
        WIN_BASE + 0x1C,
        "META_BASE_LO",
        Access::Rw,
        0,
        "Local IOVA of the metadata ring the partner writes, bits 31:0 (64-byte aligned).",
        &[ADDR_64],
    );
    pub const META_BASE_HI: Reg = rw(0x20, "META_BASE_HI", "Bits 63:32.");
    pub const META_SIZE: Reg = reg(
        WIN_BASE + 0x24,
        "META_SIZE",
        Access::Rw,
        0,
        "Bytes of the metadata ring (window offsets META_WINDOW..META_WINDOW+size; a multiple of 64). 0 closes it.",
        &[ADDR_64],
    );
    pub const WRITES: Reg = ro(
        0x28,
        "WRITES",
        "Inbound beats written to memory (saturating).",
    );
    pub const READS: Reg = ro(0x2C, "READS", "Inbound read requests served (saturating).");
    pub const DROPPED: Reg = ro(
        0x30,
        "DROPPED",
        "Inbound writes and reads refused by the windows (saturating).",
    );
    pub const LAST_BAD_LO: Reg = ro(
        0x34,
        "LAST_BAD_LO",
        "Window offset of the last refused beat, bits 31:0.",
    );
    pub const LAST_BAD_HI: Reg = ro(0x38, "LAST_BAD_HI", "Bits 63:32.");
    pub const ERR_REFUSED: Field = field(
        "REFUSED",
        0,
        1,
        "An inbound access was refused; also latches IRQ.STATUS.ERROR.",
    );
    pub const ERRORS: Reg = reg(
        WIN_BASE + 0x3C,
        "ERRORS",
        Access::W1c,
        0,
        "Sticky error causes of the inbound windows.",
        &[ERR_REFUSED],
    );
    pub const CLEAR: Reg = reg(
        WIN_BASE + 0x40,
        "CLEAR",
        Access::Wo,
        0,
        "Writing 1 to bit 0 zeroes the counters of this block.",
        &[],
    );
}

pub const WIN: Block = Block {
    name: "WIN",
    base: WIN_BASE,
    type_id: type_id(8),
    version: version(1, 0),
    next: 0,
    doc: "Inbound NTB windows: the mirror area and the metadata ring the partner may write \
          (and read, for copy-back); every other inbound access is refused and counted.",
    regs: &[
        one(win::MIRROR_BASE_LO),
        one(win::MIRROR_BASE_HI),
        one(win::MIRROR_SIZE_LO),
        one(win::MIRROR_SIZE_HI),
        one(win::META_BASE_LO),
        one(win::META_BASE_HI),
        one(win::META_SIZE),
        one(win::WRITES),
        one(win::READS),
        one(win::DROPPED),
        one(win::LAST_BAD_LO),
        one(win::LAST_BAD_HI),
        one(win::ERRORS),
        one(win::CLEAR),
    ],
};
