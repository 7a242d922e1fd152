//! ALLOC: the mirror-slot allocator (DESIGN.md idea 1).
//!
//! The card keeps the free list of the mirror slots that live in the
//! **partner's** memory, so taking a slot costs no link message and no partner
//! CPU. Two requesters share it — the DMA copy engine inside the card and
//! software through [`OP`] / [`RESULT`] — at one operation per cycle between
//! them. Every response carries one of the [`status`] codes.

use crate::blocks::{field, one, params, reg, type_id};
use crate::{version, Access, Block, Field, Reg, RegArray, BLOCK_SIZE};

pub const BASE: u32 = 4 * BLOCK_SIZE;

/// Most slots one alloc request may take (the descriptor's slot list).
pub const MAX_COUNT: u32 = 16;
const _: () = assert!(MAX_COUNT == params::MAX_PAGES_PER_DESC);

/// Response codes of the allocator, on the DMA port and in `RESULT.STATUS`.
pub mod status {
    /// Done: the slots were taken, or the slot was returned.
    pub const OK: u32 = 0;
    /// Alloc refused as a whole: fewer free slots than asked for.
    pub const NO_SPACE: u32 = 1;
    /// The free list is not initialised (or is being initialised).
    pub const NOT_READY: u32 = 2;
    /// Alloc of 0 slots or of more than `MAX_COUNT`.
    pub const BAD_COUNT: u32 = 3;
    /// Free of a slot number at or above the active slot count.
    pub const OUT_OF_RANGE: u32 = 4;
    /// Free of a slot never handed out since the last init.
    pub const NEVER_ALLOCATED: u32 = 5;
    /// Free of a slot that is already free.
    pub const DOUBLE_FREE: u32 = 6;

    /// Name of a status code, for messages.
    pub const fn name(code: u32) -> &'static str {
        match code {
            OK => "ok",
            NO_SPACE => "no free slots",
            NOT_READY => "allocator not initialised",
            BAD_COUNT => "bad slot count",
            OUT_OF_RANGE => "slot out of range",
            NEVER_ALLOCATED => "slot never allocated",
            DOUBLE_FREE => "double free",
            _ => "unknown status",
        }
    }
}

pub const CAPS_MAX_SLOTS: Field = field(
    "MAX_SLOTS",
    0,
    17,
    "Most slots this build can manage (build parameter).",
);
pub const CAPS_MAX_COUNT: Field = field("MAX_COUNT", 20, 5, "Most slots one alloc may take.");
pub const CAPS: Reg = reg(
    BASE + 0x0C,
    "CAPS",
    Access::Ro,
    params::MAX_SLOTS | (MAX_COUNT << 20),
    "Build parameters of the allocator (default build shown).",
    &[CAPS_MAX_SLOTS, CAPS_MAX_COUNT],
);

pub const SLOTS_COUNT: Field = field(
    "COUNT",
    0,
    17,
    "Slot count N to build at the next init (1..=MAX_SLOTS).",
);
pub const SLOTS: Reg = reg(
    BASE + 0x10,
    "SLOTS",
    Access::Rw,
    0,
    "Slot count for the next init: the partner's mirror area in slots (idea 2).",
    &[SLOTS_COUNT],
);

pub const CTRL_INIT: Field = field(
    "INIT",
    0,
    1,
    "Build the free list with SLOTS free slots. Refused (ERRORS.INIT_REFUSED) while a slot is allocated or an operation is in flight, or when SLOTS is 0 or above MAX_SLOTS.",
);
pub const CTRL_FORCE: Field = field(
    "FORCE",
    1,
    1,
    "With INIT: rebuild even while slots are allocated (after a partner failure).",
);
pub const CTRL: Reg = reg(
    BASE + 0x14,
    "CTRL",
    Access::Wo,
    0,
    "Initialisation command.",
    &[CTRL_INIT, CTRL_FORCE],
);

pub const STATUS_READY: Field = field(
    "READY",
    0,
    1,
    "The free list is built: operations are served.",
);
pub const STATUS_INIT_BUSY: Field = field(
    "INIT_BUSY",
    1,
    1,
    "Init in progress (MAX_SLOTS / 16 cycles).",
);
pub const STATUS: Reg = reg(
    BASE + 0x18,
    "STATUS",
    Access::Ro,
    0,
    "Allocator state.",
    &[STATUS_READY, STATUS_INIT_BUSY],
);

pub const ACTIVE_SLOTS: Reg = reg(
    BASE + 0x1C,
    "ACTIVE_SLOTS",
    Access::Ro,
    0,
    "Slot count N of the current free list (set by the last init).",
    &[],
);
pub const FREE_COUNT: Reg = reg(
    BASE + 0x20,
    "FREE_COUNT",
    Access::Ro,
    0,
    "Slots on the free list.",
    &[],
);
pub const ALLOC_COUNT: Reg = reg(
    BASE + 0x24,
    "ALLOC_COUNT",
    Access::Ro,
    0,
    "Slots handed out and not yet returned; FREE_COUNT + ALLOC_COUNT = N.",
    &[],
);
pub const HIGH_WATER: Reg = reg(
    BASE + 0x28,
    "HIGH_WATER",
    Access::Ro,
    0,
    "Most slots allocated at once since the last init.",
    &[],
);

pub const ERR_DOUBLE_FREE: Field = field("DOUBLE_FREE", 0, 1, "A free slot was freed.");
pub const ERR_NEVER_ALLOCATED: Field = field(
    "NEVER_ALLOCATED",
    1,
    1,
    "A slot never handed out since init was freed.",
);
pub const ERR_OUT_OF_RANGE: Field = field("OUT_OF_RANGE", 2, 1, "A slot number >= N was freed.");
pub const ERR_NOT_READY: Field = field(
    "NOT_READY",
    3,
    1,
    "An operation arrived before init completed.",
);
pub const ERR_BAD_COUNT: Field = field(
    "BAD_COUNT",
    4,
    1,
    "An alloc asked for 0 or more than MAX_COUNT slots.",
);
pub const ERR_INIT_REFUSED: Field = field("INIT_REFUSED", 5, 1, "An init was refused.");
pub const ERR_OP_OVERRUN: Field = field(
    "OP_OVERRUN",
    6,
    1,
    "OP was written while the previous software operation was still pending; the write was ignored.",
);
pub const ERRORS: Reg = reg(
    BASE + 0x2C,
    "ERRORS",
    Access::W1c,
    0,
    "Sticky error causes; a rejected operation changes nothing. Each new error also latches IRQ.STATUS.ERROR.",
    &[
        ERR_DOUBLE_FREE,
        ERR_NEVER_ALLOCATED,
        ERR_OUT_OF_RANGE,
        ERR_NOT_READY,
        ERR_BAD_COUNT,
        ERR_INIT_REFUSED,
        ERR_OP_OVERRUN,
    ],
);

const fn counter(offset: u32, name: &'static str, doc: &'static str) -> Reg {
    reg(BASE + offset, name, Access::Ro, 0, doc, &[])
}

pub const DOUBLE_FREE_COUNT: Reg = counter(0x30, "DOUBLE_FREE_COUNT", "Double frees rejected.");
pub const NEVER_ALLOCATED_COUNT: Reg = counter(
    0x34,
    "NEVER_ALLOCATED_COUNT",
    "Frees of never-allocated slots rejected.",
);
pub const OUT_OF_RANGE_COUNT: Reg =
    counter(0x38, "OUT_OF_RANGE_COUNT", "Frees of slots >= N rejected.");
pub const NOT_READY_COUNT: Reg = counter(
    0x3C,
    "NOT_READY_COUNT",
    "Operations rejected before init completed.",
);
pub const BAD_COUNT_COUNT: Reg =
    counter(0x40, "BAD_COUNT_COUNT", "Allocs of a bad count rejected.");
pub const NO_SPACE_COUNT: Reg = counter(
    0x44,
    "NO_SPACE_COUNT",
    "Allocs refused for lack of free slots (not an error).",
);
pub const ALLOC_OPS: Reg = counter(0x48, "ALLOC_OPS", "Allocs served.");
pub const FREE_OPS: Reg = counter(0x4C, "FREE_OPS", "Frees served.");

pub const CLEAR: Reg = reg(
    BASE + 0x50,
    "CLEAR",
    Access::Wo,
    0,
    "Writing 1 to bit 0 zeroes the counters of this block (not ERRORS). Counters saturate at 0xFFFFFFFF.",
    &[],
);

pub const OP_SLOT: Field = field("SLOT", 0, 16, "Free: the slot to return.");
pub const OP_COUNT: Field = field("COUNT", 16, 5, "Alloc: how many slots (1..=MAX_COUNT).");
pub const OP_FREE: Field = field("FREE", 31, 1, "1 = free SLOT, 0 = alloc COUNT slots.");
pub const OP: Reg = reg(
    BASE + 0x54,
    "OP",
    Access::Wo,
    0,
    "Software operation. The result appears in RESULT (BUSY clears) a few cycles later.",
    &[OP_SLOT, OP_COUNT, OP_FREE],
);

pub const RESULT_STATUS: Field = field(
    "STATUS",
    0,
    4,
    "Status code of the last software operation.",
);
pub const RESULT_COUNT: Field = field("COUNT", 4, 5, "Slots returned in RESULT_SLOTS.");
pub const RESULT_FREE: Field = field("FREE", 12, 1, "The operation was a free.");
pub const RESULT_SEQ: Field = field(
    "SEQ",
    16,
    8,
    "Counts completed software operations (wraps).",
);
pub const RESULT_BUSY: Field = field(
    "BUSY",
    31,
    1,
    "A software operation is pending; the other fields are stale.",
);
pub const RESULT: Reg = reg(
    BASE + 0x58,
    "RESULT",
    Access::Ro,
    0,
    "Result of the last software operation.",
    &[
        RESULT_STATUS,
        RESULT_COUNT,
        RESULT_FREE,
        RESULT_SEQ,
        RESULT_BUSY,
    ],
);

pub const RESULT_SLOT_LO: Field = field("LO", 0, 16, "Slot 2i.");
pub const RESULT_SLOT_HI: Field = field("HI", 16, 16, "Slot 2i+1.");
pub const RESULT_SLOTS: Reg = reg(
    BASE + 0x60,
    "RESULT_SLOTS",
    Access::Ro,
    0,
    "Slots taken by the last software alloc, two per word, in the order handed out; unused entries read 0.",
    &[RESULT_SLOT_LO, RESULT_SLOT_HI],
);
/// Words of `RESULT_SLOTS`.
pub const RESULT_SLOT_WORDS: u32 = MAX_COUNT / 2;

pub const ALLOC: Block = Block {
    name: "ALLOC",
    base: BASE,
    type_id: type_id(5),
    version: version(1, 0),
    next: crate::dma::BASE,
    doc: "Mirror-slot allocator: the free list of the slots in the partner's mirror area (idea 1).",
    regs: &[
        one(CAPS),
        one(SLOTS),
        one(CTRL),
        one(STATUS),
        one(ACTIVE_SLOTS),
        one(FREE_COUNT),
        one(ALLOC_COUNT),
        one(HIGH_WATER),
        one(ERRORS),
        one(DOUBLE_FREE_COUNT),
        one(NEVER_ALLOCATED_COUNT),
        one(OUT_OF_RANGE_COUNT),
        one(NOT_READY_COUNT),
        one(BAD_COUNT_COUNT),
        one(NO_SPACE_COUNT),
        one(ALLOC_OPS),
        one(FREE_OPS),
        one(CLEAR),
        one(OP),
        one(RESULT),
        RegArray {
            reg: RESULT_SLOTS,
            count: RESULT_SLOT_WORDS,
        },
    ],
};
