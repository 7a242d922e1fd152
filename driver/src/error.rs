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
    #[error("PCI config space: {0}")]
    ConfigSpace(String),
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Sim(#[from] duplex_sim::SimError),
}

pub type Result<T> = std::result::Result<T, DriverError>;
