//! The driver's error type: one enum, context in every variant.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("bad device name {0:?}: expected sim:0, sim:1 or a PCI address like 0000:03:00.0")]
    BadDeviceSpec(String),
    #[error("bad PCI address {0:?}: expected DDDD:BB:DD.F (hex)")]
    BadPciAddress(String),
    #[error("{device}: cannot open through VFIO")]
    VfioOpen {
        device: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{device}: BAR0 access at {offset:#06x} failed")]
    Mmio {
        device: String,
        offset: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("{device}: BAR0 offset {offset:#x} is outside the BAR ({size:#x} bytes)")]
    OffsetOutOfRange {
        device: String,
        offset: u32,
        size: u32,
    },
    #[error("{device}: no interrupt within {timeout:?}")]
    IrqTimeout { device: String, timeout: Duration },
    #[error("{device}: DMA memory: {detail}")]
    Dma { device: String, detail: String },
    #[error("{device}: {len}-byte access at offset {offset:#x} of a {size}-byte DMA buffer")]
    DmaRange {
        device: String,
        offset: usize,
        len: usize,
        size: usize,
    },
    #[error("{device}: register block at {offset:#06x}: {detail}")]
    BlockList {
        device: String,
        offset: u32,
        detail: String,
    },
    #[error("{device}: {what} did not happen within {timeout:?}")]
    Timeout {
        device: String,
        what: String,
        timeout: Duration,
    },
    #[error("{device}: slot allocator refused the {op}: {reason} (status {status})")]
    AllocRejected {
        device: String,
        op: String,
        status: u32,
        reason: &'static str,
    },
    #[error("{device}: slot allocator refused init with {slots} slots: {reason}")]
    AllocInitRefused {
        device: String,
        slots: u32,
        reason: String,
    },
    #[error("{device}: DMA set-up: {detail}")]
    DmaSetup { device: String, detail: String },
    #[error("{device}: DMA descriptor ring full ({entries} descriptors await their completions)")]
    DmaRingFull { device: String, entries: u32 },
    #[error("{device}: DMA {op}: {detail}")]
    DmaBadRequest {
        device: String,
        op: &'static str,
        detail: String,
    },
    #[error("{device}: DMA {op} failed: {reason} (status {status}, tag {tag:#x}){}", slot_note(.slots))]
    DmaFailed {
        device: String,
        op: &'static str,
        tag: u32,
        status: u8,
        reason: &'static str,
        /// Slots the completion lists (a failed MIRROR's slots the card took).
        slots: Vec<u16>,
    },
    #[error("{device}: guard bytes {side} the {what} were overwritten (byte {offset}: {found:#04x}, expected {expected:#04x})")]
    GuardDamaged {
        device: String,
        what: String,
        side: &'static str,
        offset: usize,
        found: u8,
        expected: u8,
    },
    #[error("board profile {path}: {detail}")]
    Profile { path: String, detail: String },
    #[error("no board named {board:?} (board files have: {known})")]
    UnknownBoard { board: String, known: String },
    #[error("{path}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: truncated .bit file: {what} cut off at byte {offset}")]
    BitTruncated {
        path: String,
        what: String,
        offset: usize,
    },
    #[error("{path}: not a valid .bit file: {detail}")]
    BitCorrupt { path: String, detail: String },
    #[error(
        "{path}: no configuration sync word (AA 99 55 66) in the data: not a 7-series bitstream"
    )]
    NoSyncWord { path: String },
    #[error(
        "{what} is for part {image_part}, but {target} has part {target_part}: refusing to flash"
    )]
    PartMismatch {
        what: String,
        image_part: String,
        target: String,
        target_part: String,
    },
    #[error(
        "{path}: a raw image has no header naming its part: give --part PART (the board's part)"
    )]
    RawNeedsPart { path: String },
    #[error("{what}: {len} bytes do not fit the {room}-byte {region} region")]
    ImageTooBig {
        what: String,
        len: u64,
        room: u64,
        region: &'static str,
    },
    #[error("{op} of {len:#x} bytes at {offset:#x} touches the golden image region ({golden_offset:#x}..{golden_end:#x}): add --force-golden to really do it")]
    GoldenProtected {
        op: &'static str,
        offset: u64,
        len: u64,
        golden_offset: u64,
        golden_end: u64,
    },
    #[error("{offset:#x}+{len:#x} is outside the {size:#x}-byte flash")]
    FlashRange { offset: u64, len: u64, size: u64 },
    #[error("cannot run {tool}: {source} (install it: apt-get install openfpgaloader)")]
    ToolMissing {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} failed ({status}): {command}")]
    ToolFailed {
        tool: String,
        status: String,
        command: String,
    },
    #[error("{device}: flash chip answers JEDEC id {found:06x}, the {board} profile expects {expected:06x} ({chip})")]
    JedecMismatch {
        device: String,
        board: String,
        chip: String,
        expected: u32,
        found: u32,
    },
    #[error("{device}: flash verify failed: first difference at flash offset {offset:#x} (wrote {wrote:#04x}, read {read:#04x})")]
    VerifyMismatch {
        device: String,
        offset: u64,
        wrote: u8,
        read: u8,
    },
    #[error("{device}: the card refused a flash command into the protected region below {protect_end:#x}")]
    FlashRefused { device: String, protect_end: u64 },
    #[error("{device}: flash has no card FLASH block: {detail}")]
    NoFlashBlock { device: String, detail: String },
    #[error("PCI config space: {0}")]
    ConfigSpace(String),
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Sim(#[from] duplex_sim::SimError),
}

fn slot_note(slots: &[u16]) -> String {
    if slots.is_empty() {
        String::new()
    } else {
        format!("; slots {slots:?}")
    }
}

impl DriverError {
    /// The completion status of a failed DMA descriptor, if this is one.
    pub fn dma_status(&self) -> Option<u8> {
        match self {
            DriverError::DmaFailed { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, DriverError>;
