//! The seam between the driver and a card: BAR0 MMIO, DMA-able memory and the
//! interrupt line. Backends: [`crate::vfio::VfioDevice`] (real cards) and
//! [`crate::sim_device::SimDevice`] (the co-simulated pair).
//!
//! Only [`crate::regs`] calls the raw `read32`/`write32`; everything above it
//! names registers from `duplex-regs`.

use crate::error::{DriverError, Result};
use std::fmt;
use std::time::Duration;

/// An I/O virtual address: what the card is told to DMA to or from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Iova(pub u64);

impl fmt::Display for Iova {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Memory the card can reach by DMA. The mapping is released when the value
/// is dropped.
pub trait DmaBacking {
    fn iova(&self) -> Iova;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()>;
    fn write(&self, offset: usize, data: &[u8]) -> Result<()>;
}

/// A DMA buffer: an IOVA view (for the card) and a host view (these methods).
pub struct DmaBuffer {
    inner: Box<dyn DmaBacking>,
}

impl DmaBuffer {
    pub fn new(inner: Box<dyn DmaBacking>) -> Self {
        Self { inner }
    }
    pub fn iova(&self) -> Iova {
        self.inner.iova()
    }
    pub fn len(&self) -> usize {
        self.inner.len()
    }
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.inner.read(offset, buf)
    }
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        self.inner.write(offset, data)
    }
}

/// Checks an access of `len` bytes at `offset` against a buffer of `size`.
pub(crate) fn check_dma_range(device: &str, offset: usize, len: usize, size: usize) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(DriverError::DmaRange {
            device: device.to_string(),
            offset,
            len,
            size,
        }),
    }
}

/// A card as the driver sees it.
pub trait Device {
    /// Name for messages: `sim:0`, `0000:03:00.0`.
    fn name(&self) -> String;
    /// Raw 32-bit BAR0 read. Use [`crate::regs::Regs`] instead.
    fn read32(&self, offset: u32) -> Result<u32>;
    /// Raw 32-bit BAR0 write. Use [`crate::regs::Regs`] instead.
    fn write32(&self, offset: u32, value: u32) -> Result<()>;
    /// 64-bit read as two 32-bit reads, low word first (the card's register
    /// port is 32 bits wide; 64-bit registers latch their high word on the
    /// low-word read).
    fn read64(&self, offset: u32) -> Result<u64> {
        let lo = self.read32(offset)? as u64;
        let hi = self.read32(offset + 4)? as u64;
        Ok(lo | hi << 32)
    }
    /// 64-bit write as two 32-bit writes, low word first.
    fn write64(&self, offset: u32, value: u64) -> Result<()> {
        self.write32(offset, value as u32)?;
        self.write32(offset + 4, (value >> 32) as u32)
    }
    /// Allocates `len` bytes of DMA-able memory.
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer>;
    /// Monotonic time as this device sees it: wall-clock time for a real
    /// card, simulated time for a co-simulated one (so waits replay exactly).
    fn clock(&self) -> Duration;
    /// Waits until the card's interrupt is asserted, at most `timeout`.
    fn wait_irq(&self, timeout: Duration) -> Result<()>;
}

/// How a card is named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// Card `n` of the co-simulated pair.
    Sim(usize),
    /// A real card, by PCI address.
    Pci(crate::pci::PciAddress),
}

impl std::str::FromStr for DeviceSpec {
    type Err = DriverError;
    fn from_str(s: &str) -> Result<Self> {
        if let Some(n) = s.strip_prefix("sim:") {
            return match n.parse::<usize>() {
                Ok(n) if n < 2 => Ok(DeviceSpec::Sim(n)),
                _ => Err(DriverError::BadDeviceSpec(s.to_string())),
            };
        }
        s.parse()
            .map(DeviceSpec::Pci)
            .map_err(|_| DriverError::BadDeviceSpec(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_specs_parse_and_bad_ones_are_typed_errors() {
        assert_eq!("sim:1".parse::<DeviceSpec>().unwrap(), DeviceSpec::Sim(1));
        assert!(matches!(
            "0000:03:00.0".parse::<DeviceSpec>().unwrap(),
            DeviceSpec::Pci(_)
        ));
        for bad in ["sim:2", "sim:x", "card0", ""] {
            assert!(matches!(
                bad.parse::<DeviceSpec>(),
                Err(DriverError::BadDeviceSpec(_))
            ));
        }
    }

    #[test]
    fn dma_range_check_rejects_overflow_and_overrun() {
        assert!(check_dma_range("d", 0, 10, 10).is_ok());
        assert!(check_dma_range("d", 5, 6, 10).is_err());
        assert!(check_dma_range("d", usize::MAX, 2, 10).is_err());
    }
}
