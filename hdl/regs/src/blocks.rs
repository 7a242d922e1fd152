//! The BAR0 register blocks, in BAR0 order.
//!
//! Block `k` sits at `k * BLOCK_SIZE`. Later blocks (slot allocator, DMA
//! engine, flash) are appended by linking the last block's NEXT to them.

use crate::{version, Access, Block, Field, Reg, RegArray, BLOCK_SIZE};

pub(crate) const fn reg(
    offset: u32,
    name: &'static str,
    access: Access,
    reset: u32,
    doc: &'static str,
    fields: &'static [Field],
) -> Reg {
    Reg {
        name,
        offset,
        access,
        reset,
        doc,
        fields,
    }
}

pub(crate) const fn one(reg: Reg) -> RegArray {
    RegArray { reg, count: 1 }
}

pub(crate) const fn field(name: &'static str, lsb: u32, width: u32, doc: &'static str) -> Field {
    Field {
        name,
        lsb,
        width,
        doc,
    }
}

/// Type word prefix: ASCII "DX" in bits 31:16, block kind in 15:0.
pub(crate) const fn type_id(kind: u16) -> u32 {
    0x4458_0000 | kind as u32
}

/// Build parameters of the default card. The hardware reports the values it
/// was actually built with in the ID block; these are the defaults.
pub mod params {
    /// Data-path width in bits of the default build.
    pub const DATA_WIDTH_BITS: u32 = 256;
    /// Mirror slot (cache page) size in bytes.
    pub const SLOT_SIZE: u32 = 4096;
    /// Most slots the allocator of the default build can hold.
    pub const MAX_SLOTS: u32 = 4096;
    /// Most pages one MIRROR descriptor may carry.
    pub const MAX_PAGES_PER_DESC: u32 = 16;
    /// Number of NTB scratchpads.
    pub const SCRATCHPADS: u32 = 8;
    /// Number of NTB doorbell bits.
    pub const DOORBELLS: u32 = 16;
    /// Identifies a duplex design in `ID.DESIGN_ID`: ASCII "DPLX".
    pub const DESIGN_ID: u32 = 0x4450_4C58;
    /// Hardware release in `ID.HW_VERSION`.
    pub const HW_VERSION: u32 = super::version(0, 1);
}

// ---------------------------------------------------------------------------
// ID: identification and build parameters
// ---------------------------------------------------------------------------

pub mod id {
    use super::*;
    pub const BASE: u32 = 0;
    pub const DESIGN_ID: Reg = reg(
        BASE + 0x0C,
        "DESIGN_ID",
        Access::Ro,
        params::DESIGN_ID,
        "Identifies a duplex card: ASCII \"DPLX\".",
        &[],
    );
    pub const HW_VERSION: Reg = reg(
        BASE + 0x10,
        "HW_VERSION",
        Access::Ro,
        params::HW_VERSION,
        "Hardware release, major in 31:16, minor in 15:0.",
        &[],
    );
    pub const DATA_WIDTH: Reg = reg(
        BASE + 0x14,
        "DATA_WIDTH",
        Access::Ro,
        params::DATA_WIDTH_BITS,
        "Width of the DMA and NTB data path in bits (build parameter; default shown).",
        &[],
    );
    pub const SLOT_SIZE: Reg = reg(
        BASE + 0x18,
        "SLOT_SIZE",
        Access::Ro,
        params::SLOT_SIZE,
        "Mirror slot size in bytes (build parameter).",
        &[],
    );
    pub const MAX_SLOTS: Reg = reg(
        BASE + 0x1C,
        "MAX_SLOTS",
        Access::Ro,
        params::MAX_SLOTS,
        "Most mirror slots the allocator can manage (build parameter).",
        &[],
    );
    pub const MAX_PAGES: Reg = reg(
        BASE + 0x20,
        "MAX_PAGES",
        Access::Ro,
        params::MAX_PAGES_PER_DESC,
        "Most pages one MIRROR descriptor may carry (build parameter).",
        &[],
    );
    pub const SCRATCHPADS: Reg = reg(
        BASE + 0x24,
        "SCRATCHPADS",
        Access::Ro,
        params::SCRATCHPADS,
        "Number of NTB scratchpad registers.",
        &[],
    );
}

pub const ID: Block = Block {
    name: "ID",
    base: id::BASE,
    type_id: type_id(1),
    version: version(1, 0),
    next: irq::BASE,
    doc: "Identification and build parameters.",
    regs: &[
        one(id::DESIGN_ID),
        one(id::HW_VERSION),
        one(id::DATA_WIDTH),
        one(id::SLOT_SIZE),
        one(id::MAX_SLOTS),
        one(id::MAX_PAGES),
        one(id::SCRATCHPADS),
    ],
};

// ---------------------------------------------------------------------------
// IRQ: interrupt status and mask
// ---------------------------------------------------------------------------

pub mod irq {
    use super::*;
    pub const BASE: u32 = BLOCK_SIZE;

    /// Interrupt cause bits, shared by STATUS, MASK, PENDING and SET.
    pub const DOORBELL: Field = field(
        "DOORBELL",
        0,
        1,
        "An unmasked NTB doorbell is pending (level: cleared at NTB.DB, not here).",
    );
    pub const LINK_CHANGE: Field = field("LINK_CHANGE", 1, 1, "The NTB link went up or down.");
    pub const ERROR: Field = field(
        "ERROR",
        2,
        1,
        "An error was counted: in ERR (for example an unmapped access) or in ALLOC (ERRORS).",
    );
    pub const DMA: Field = field("DMA", 3, 1, "The DMA engine posted completions.");
    pub const SOFTWARE: Field = field(
        "SOFTWARE",
        8,
        8,
        "Software-set causes, for testing the interrupt path.",
    );
    const CAUSES: &[Field] = &[DOORBELL, LINK_CHANGE, ERROR, DMA, SOFTWARE];
    /// Bits of STATUS that are events (latched, write-one-to-clear).
    pub const EVENT_BITS: u32 = 0x0000_FF0E;

    pub const STATUS: Reg = reg(
        BASE + 0x0C,
        "STATUS",
        Access::W1c,
        0,
        "Interrupt causes. Event bits latch until written with 1; DOORBELL is a level.",
        CAUSES,
    );
    pub const MASK: Reg = reg(
        BASE + 0x10,
        "MASK",
        Access::Rw,
        0xFFFF_FFFF,
        "1 masks a cause from the interrupt line. All causes are masked at reset.",
        CAUSES,
    );
    pub const PENDING: Reg = reg(
        BASE + 0x14,
        "PENDING",
        Access::Ro,
        0,
        "STATUS & !MASK: the interrupt line is high while this is non-zero.",
        CAUSES,
    );
    pub const SET: Reg = reg(
        BASE + 0x18,
        "SET",
        Access::Wo,
        0,
        "Writing 1 to an event bit latches it in STATUS (interrupt self-test).",
        CAUSES,
    );
}

pub const IRQ: Block = Block {
    name: "IRQ",
    base: irq::BASE,
    type_id: type_id(2),
    version: version(1, 0),
    next: ntb::BASE,
    doc: "Interrupt status, mask and self-test; drives the card's interrupt line.",
    regs: &[
        one(irq::STATUS),
        one(irq::MASK),
        one(irq::PENDING),
        one(irq::SET),
    ],
};

// ---------------------------------------------------------------------------
// NTB: link, doorbells, scratchpads
// ---------------------------------------------------------------------------

pub mod ntb {
    use super::*;
    pub const BASE: u32 = 2 * BLOCK_SIZE;

    pub const LINK_UP: Field = field("UP", 0, 1, "The physical NTB link to the partner is up.");
    pub const LINK_ACTIVE: Field = field(
        "ACTIVE",
        1,
        1,
        "Link up and enabled: traffic to the partner flows.",
    );
    pub const LINK_ENABLE: Field = field(
        "ENABLE",
        0,
        1,
        "Send traffic to the partner. When clear, outbound messages are dropped and counted.",
    );

    /// The doorbell bits of DB, DB_MASK, DB_SET and PEER_DB.
    pub const DB_BITS: Field = field("BITS", 0, params::DOORBELLS, "One bit per doorbell.");
    const DB_FIELDS: &[Field] = &[DB_BITS];

    pub const LINK_STATUS: Reg = reg(
        BASE + 0x0C,
        "LINK_STATUS",
        Access::Ro,
        0,
        "State of the NTB link.",
        &[LINK_UP, LINK_ACTIVE],
    );
    pub const LINK_CTRL: Reg = reg(
        BASE + 0x10,
        "LINK_CTRL",
        Access::Rw,
        1,
        "Link control.",
        &[LINK_ENABLE],
    );
    pub const DB: Reg = reg(
        BASE + 0x14,
        "DB",
        Access::W1c,
        0,
        "Inbound doorbell bits, set by the partner's PEER_DB; write 1 to clear.",
        DB_FIELDS,
    );
    pub const DB_MASK: Reg = reg(
        BASE + 0x18,
        "DB_MASK",
        Access::Rw,
        0,
        "1 masks a doorbell bit from IRQ.STATUS.DOORBELL.",
        DB_FIELDS,
    );
    pub const DB_SET: Reg = reg(
        BASE + 0x1C,
        "DB_SET",
        Access::Wo,
        0,
        "Writing 1 sets the local doorbell bit (self-test).",
        DB_FIELDS,
    );
    pub const PEER_DB: Reg = reg(
        BASE + 0x20,
        "PEER_DB",
        Access::Wo,
        0,
        "Writing 1 rings the partner's doorbell bit over the link.",
        DB_FIELDS,
    );
    pub const TX_COUNT: Reg = reg(
        BASE + 0x24,
        "TX_COUNT",
        Access::Ro,
        0,
        "Link transactions sent to the partner (wraps).",
        &[],
    );
    pub const RX_COUNT: Reg = reg(
        BASE + 0x28,
        "RX_COUNT",
        Access::Ro,
        0,
        "Link transactions received from the partner (wraps).",
        &[],
    );
    pub const TX_DROPPED: Reg = reg(
        BASE + 0x2C,
        "TX_DROPPED",
        Access::Ro,
        0,
        "Outbound messages dropped because the link was not active (wraps).",
        &[],
    );
    pub const SPAD: Reg = reg(
        BASE + 0x40,
        "SPAD",
        Access::Rw,
        0,
        "Scratchpads: written locally or by the partner's PEER_SPAD, read locally.",
        &[],
    );
    pub const PEER_SPAD: Reg = reg(
        BASE + 0x60,
        "PEER_SPAD",
        Access::Wo,
        0,
        "Writing PEER_SPAD[i] writes the partner's SPAD[i] over the link.",
        &[],
    );
}

pub const NTB: Block = Block {
    name: "NTB",
    base: ntb::BASE,
    type_id: type_id(3),
    version: version(1, 0),
    next: err::BASE,
    doc: "Non-transparent bridge: link state, doorbells and scratchpads shared with the partner card.",
    regs: &[
        one(ntb::LINK_STATUS),
        one(ntb::LINK_CTRL),
        one(ntb::DB),
        one(ntb::DB_MASK),
        one(ntb::DB_SET),
        one(ntb::PEER_DB),
        one(ntb::TX_COUNT),
        one(ntb::RX_COUNT),
        one(ntb::TX_DROPPED),
        RegArray {
            reg: ntb::SPAD,
            count: params::SCRATCHPADS,
        },
        RegArray {
            reg: ntb::PEER_SPAD,
            count: params::SCRATCHPADS,
        },
    ],
};

// ---------------------------------------------------------------------------
// ERR: error counters
// ---------------------------------------------------------------------------

pub mod err {
    use super::*;
    pub const BASE: u32 = 3 * BLOCK_SIZE;

    pub const LAST_OFFSET: Field = field("OFFSET", 0, 16, "BAR0 offset of the access.");
    pub const LAST_WRITE: Field = field("WRITE", 31, 1, "1 if the access was a write.");

    pub const UNMAPPED_COUNT: Reg = reg(
        BASE + 0x0C,
        "UNMAPPED_COUNT",
        Access::Ro,
        0,
        "BAR0 accesses to offsets no register decodes (saturates at 0xFFFFFFFF).",
        &[],
    );
    pub const UNMAPPED_LAST: Reg = reg(
        BASE + 0x10,
        "UNMAPPED_LAST",
        Access::Ro,
        0,
        "The most recent unmapped access.",
        &[LAST_OFFSET, LAST_WRITE],
    );
    pub const CLEAR: Reg = reg(
        BASE + 0x14,
        "CLEAR",
        Access::Wo,
        0,
        "Writing 1 to bit 0 zeroes the counters of this block.",
        &[],
    );
}

pub const ERR: Block = Block {
    name: "ERR",
    base: err::BASE,
    type_id: type_id(4),
    version: version(1, 0),
    next: crate::slot_alloc::BASE,
    doc: "Error counters. Each counted error also latches IRQ.STATUS.ERROR.",
    regs: &[
        one(err::UNMAPPED_COUNT),
        one(err::UNMAPPED_LAST),
        one(err::CLEAR),
    ],
};

// ---------------------------------------------------------------------------
// FLASH: SPI flash controller for in-band image updates
// ---------------------------------------------------------------------------

pub mod flash {
    use super::*;
    pub const BASE: u32 = 6 * BLOCK_SIZE;

    pub const OPCODE: Field = field("OPCODE", 0, 8, "SPI command byte sent first.");
    pub const ADDR_BYTES: Field = field(
        "ADDR_BYTES",
        8,
        3,
        "Address bytes sent after the opcode, most significant first (0..4; above 4 acts as 4).",
    );
    pub const DUMMY_BYTES: Field = field(
        "DUMMY_BYTES",
        11,
        3,
        "Dummy bytes (zeros) sent after the address, e.g. 1 for FAST_READ.",
    );
    pub const READ: Field = field(
        "READ",
        16,
        1,
        "Data phase direction: 1 = bytes received into the buffer, 0 = buffer bytes sent.",
    );
    pub const LEN_BYTES: Field = field(
        "BYTES",
        0,
        9,
        "Data bytes after the header, 0..256 (above 256 acts as 256).",
    );
    pub const START: Field = field(
        "START",
        0,
        1,
        "Run the command in CMD/ADDR/LEN (ignored while BUSY). Erase, program and \
         status-write opcodes addressed below PROTECT_END are refused and set REFUSED.",
    );
    pub const BOOT: Field = field(
        "BOOT",
        1,
        1,
        "Request reconfiguration from flash (the board top issues IPROG through ICAPE2).",
    );
    pub const CLEAR: Field = field("CLEAR", 2, 1, "Clear STATUS.REFUSED.");
    pub const BUSY: Field = field("BUSY", 0, 1, "A command is being shifted out; CS# is low.");
    pub const REFUSED: Field = field(
        "REFUSED",
        1,
        1,
        "Sticky: a START was refused because it would modify the protected region.",
    );
    pub const RX_LAST: Field = field(
        "RX_LAST",
        8,
        8,
        "The last byte received on MISO (the status byte after RDSR).",
    );
    pub const DIV: Field = field(
        "DIV",
        0,
        8,
        "SCK half period in card clocks, minus one: SCK = clock / (2 * (DIV + 1)).",
    );
    pub const PTR: Field = field("WORD", 0, 6, "Word index into the 256-byte buffer.");

    pub const CMD: Reg = reg(
        BASE + 0x0C,
        "CMD",
        Access::Rw,
        0,
        "The command START runs.",
        &[OPCODE, ADDR_BYTES, DUMMY_BYTES, READ],
    );
    pub const ADDR: Reg = reg(
        BASE + 0x10,
        "ADDR",
        Access::Rw,
        0,
        "Flash byte address of the command.",
        &[],
    );
    pub const LEN: Reg = reg(
        BASE + 0x14,
        "LEN",
        Access::Rw,
        0,
        "Length of the data phase.",
        &[LEN_BYTES],
    );
    pub const CTRL: Reg = reg(
        BASE + 0x18,
        "CTRL",
        Access::Wo,
        0,
        "Commands.",
        &[START, BOOT, CLEAR],
    );
    pub const STATUS: Reg = reg(
        BASE + 0x1C,
        "STATUS",
        Access::Ro,
        0,
        "Engine state.",
        &[BUSY, REFUSED, RX_LAST],
    );
    pub const PROTECT_END: Reg = reg(
        BASE + 0x20,
        "PROTECT_END",
        Access::Rw,
        0xFFFF_FFFF,
        "Flash addresses below this (sector aligned) cannot be erased or programmed; \
         while it is non-zero, chip erase and status-register writes are refused too. \
         All of the flash is protected after reset.",
        &[],
    );
    pub const CLK_DIV: Reg = reg(
        BASE + 0x24,
        "CLK_DIV",
        Access::Rw,
        3,
        "SPI clock divider.",
        &[DIV],
    );
    pub const BUF_PTR: Reg = reg(
        BASE + 0x28,
        "BUF_PTR",
        Access::Rw,
        0,
        "Buffer word that BUF_WDATA writes and BUF_RDATA reads.",
        &[PTR],
    );
    pub const BUF_WDATA: Reg = reg(
        BASE + 0x2C,
        "BUF_WDATA",
        Access::Wo,
        0,
        "Writes buffer bytes 4*PTR..4*PTR+3 (little-endian) and advances BUF_PTR.",
        &[],
    );
    pub const BUF_RDATA: Reg = reg(
        BASE + 0x30,
        "BUF_RDATA",
        Access::Ro,
        0,
        "Buffer bytes 4*PTR..4*PTR+3 (little-endian); reading does not advance BUF_PTR.",
        &[],
    );
}

pub const FLASH: Block = Block {
    name: "FLASH",
    base: flash::BASE,
    type_id: type_id(6),
    version: version(1, 0),
    next: crate::dma::WIN_BASE,
    doc: "SPI flash controller: one command at a time (opcode, address, dummy bytes, up to \
          256 data bytes through a buffer), hardware protection of the golden image region, \
          and the reconfiguration request.",
    regs: &[
        one(flash::CMD),
        one(flash::ADDR),
        one(flash::LEN),
        one(flash::CTRL),
        one(flash::STATUS),
        one(flash::PROTECT_END),
        one(flash::CLK_DIV),
        one(flash::BUF_PTR),
        one(flash::BUF_WDATA),
        one(flash::BUF_RDATA),
    ],
};

/// Every block, in BAR0 order.
pub const BLOCKS: &[Block] = &[
    ID,
    IRQ,
    NTB,
    ERR,
    crate::slot_alloc::ALLOC,
    crate::dma::DMA,
    FLASH,
    crate::dma::WIN,
];
