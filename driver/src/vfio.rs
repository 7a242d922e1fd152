//! Real cards through VFIO (Linux `vfio-pci`), via the `pci-driver` crate.
//!
//! Kept thin: open by PCI address, map BAR0, map DMA memory through the IOMMU,
//! wait for the interrupt on an eventfd-less poll of IRQ.PENDING. What can be
//! tested without `/dev/vfio` (address and config-space parsing) lives in
//! [`crate::pci`] and is unit-tested there.

use crate::device::{check_dma_range, Device, DmaBacking, DmaBuffer, Iova};
use crate::error::{DriverError, Result};
use crate::pci::PciAddress;
use duplex_regs::{irq, BAR0_SIZE};
use pci_driver::backends::vfio::VfioPciDevice;
use pci_driver::device::PciDevice;
use pci_driver::regions::{OwningPciRegion, PciRegion, Permissions};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

pub struct VfioDevice {
    addr: PciAddress,
    dev: Rc<VfioPciDevice>,
    bar0: OwningPciRegion,
    next_iova: Cell<u64>,
    opened: Instant,
}

impl VfioDevice {
    /// Opens the card at `addr`, which must be bound to `vfio-pci`.
    pub fn open(addr: PciAddress) -> Result<Self> {
        let open_err = |source| DriverError::VfioOpen {
            device: addr.to_string(),
            source,
        };
        let dev = VfioPciDevice::open(addr.sysfs_path()).map_err(open_err)?;
        let bar0 = dev.bar(0).ok_or_else(|| {
            open_err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the device has no BAR0",
            ))
        })?;
        Ok(Self {
            addr,
            dev: Rc::new(dev),
            bar0,
            next_iova: Cell::new(0x1_0000_0000),
            opened: Instant::now(),
        })
    }

    fn mmio_err(&self, offset: u32, source: std::io::Error) -> DriverError {
        DriverError::Mmio {
            device: self.name(),
            offset,
            source,
        }
    }

    fn check(&self, offset: u32) -> Result<()> {
        if offset >= BAR0_SIZE || offset as u64 >= self.bar0.len() {
            return Err(DriverError::OffsetOutOfRange {
                device: self.name(),
                offset,
                size: BAR0_SIZE,
            });
        }
        Ok(())
    }
}

impl Device for VfioDevice {
    fn name(&self) -> String {
        self.addr.to_string()
    }
    fn read32(&self, offset: u32) -> Result<u32> {
        self.check(offset)?;
        self.bar0
            .read_le_u32(offset as u64)
            .map_err(|e| self.mmio_err(offset, e))
    }
    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        self.check(offset)?;
        self.bar0
            .write_le_u32(offset as u64, value)
            .map_err(|e| self.mmio_err(offset, e))
    }
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer> {
        let dma_err = |detail: String| DriverError::Dma {
            device: self.name(),
            detail,
        };
        let iommu = self.dev.iommu();
        let align = iommu.alignment().max(4096);
        let size = len.div_ceil(align) * align;
        let map = memmap2::MmapMut::map_anon(size).map_err(|e| dma_err(e.to_string()))?;
        let iova = self.next_iova.get();
        // SAFETY: `map` stays alive (owned by the returned backing) for as long
        // as the IOMMU mapping exists; the backing unmaps before dropping it.
        unsafe {
            iommu
                .map(iova, size, map.as_ptr(), Permissions::ReadWrite)
                .map_err(|e| dma_err(e.to_string()))?;
        }
        self.next_iova.set(iova + size as u64);
        Ok(DmaBuffer::new(Box::new(VfioDma {
            name: self.name(),
            dev: Rc::clone(&self.dev),
            iova,
            map,
            len,
        })))
    }
    fn clock(&self) -> Duration {
        self.opened.elapsed()
    }
    fn wait_irq(&self, timeout: Duration) -> Result<()> {
        // Polls IRQ.PENDING; MSI-X eventfds need the interrupt set-up of a
        // running controller and are wired by the runtime, not here.
        let start = Instant::now();
        loop {
            if self.read32(irq::PENDING.offset)? != 0 {
                return Ok(());
            }
            if start.elapsed() >= timeout {
                return Err(DriverError::IrqTimeout {
                    device: self.name(),
                    timeout,
                });
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

struct VfioDma {
    name: String,
    dev: Rc<VfioPciDevice>,
    iova: u64,
    map: memmap2::MmapMut,
    len: usize,
}

impl DmaBacking for VfioDma {
    fn iova(&self) -> Iova {
        Iova(self.iova)
    }
    fn len(&self) -> usize {
        self.len
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        check_dma_range(&self.name, offset, buf.len(), self.len)?;
        // SAFETY: the range is inside the live mapping (checked above); the
        // card may write it concurrently, so copy with volatile reads.
        for (i, b) in buf.iter_mut().enumerate() {
            *b = unsafe { std::ptr::read_volatile(self.map.as_ptr().add(offset + i)) };
        }
        Ok(())
    }
    fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        check_dma_range(&self.name, offset, data.len(), self.len)?;
        let base = self.map.as_ptr() as *mut u8;
        for (i, b) in data.iter().enumerate() {
            // SAFETY: inside the live mapping (checked above); volatile because
            // the card reads this memory behind the compiler's back.
            unsafe { std::ptr::write_volatile(base.add(offset + i), *b) };
        }
        Ok(())
    }
}

impl Drop for VfioDma {
    fn drop(&mut self) {
        // Nothing to report to: a failed unmap leaves the IOVA reserved until
        // the container closes, which is safe.
        let _ = self.dev.iommu().unmap(self.iova, self.map.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_a_missing_card_is_a_clear_error() {
        let addr: PciAddress = "0000:ff:1f.7".parse().unwrap();
        let err = VfioDevice::open(addr).err().expect("no such device here");
        let msg = err.to_string();
        assert!(msg.contains("0000:ff:1f.7"), "{msg}");
        assert!(matches!(err, DriverError::VfioOpen { .. }));
    }
}
