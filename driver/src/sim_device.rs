//! The co-simulated pair as [`Device`]s: `sim:0` and `sim:1` share one
//! [`SimWorld`], so an access to either card clocks both.
//!
//! Time in the simulation is simulated time: a timeout of `d` waits
//! `d × SIM_CLOCK_HZ` cycles, whatever the host's speed, so every wait is
//! deterministic.

use crate::device::{check_dma_range, Device, DmaBacking, DmaBuffer, Iova};
use crate::error::Result;
use duplex_sim::{memory, SimConfig, SimWorld};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Nominal card clock used to turn timeouts into cycles (250 MHz, the
/// PCIe Gen3 x8 user clock of the target boards).
pub const SIM_CLOCK_HZ: u64 = 250_000_000;

/// A co-simulated controller pair.
#[derive(Clone)]
pub struct SimPair {
    world: Rc<RefCell<SimWorld>>,
}

impl SimPair {
    pub fn new(cfg: SimConfig) -> Result<Self> {
        Ok(Self {
            world: Rc::new(RefCell::new(SimWorld::new(cfg)?)),
        })
    }
    /// Card `n` (0 or 1) as a Device.
    pub fn device(&self, n: usize) -> Result<SimDevice> {
        if n > 1 {
            return Err(duplex_sim::SimError::NoSuchCard(n).into());
        }
        Ok(SimDevice {
            world: Rc::clone(&self.world),
            card: n,
        })
    }
    /// The world, for fault injection and inspection.
    pub fn world(&self) -> std::cell::RefMut<'_, SimWorld> {
        self.world.borrow_mut()
    }
}

pub struct SimDevice {
    world: Rc<RefCell<SimWorld>>,
    card: usize,
}

impl SimDevice {
    pub fn card(&self) -> usize {
        self.card
    }
}

fn cycles(d: Duration) -> u64 {
    (d.as_nanos() * SIM_CLOCK_HZ as u128 / 1_000_000_000).min(u64::MAX as u128) as u64
}

impl Device for SimDevice {
    fn name(&self) -> String {
        format!("sim:{}", self.card)
    }
    fn read32(&self, offset: u32) -> Result<u32> {
        Ok(self.world.borrow_mut().bar_read(self.card, offset)?)
    }
    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        Ok(self
            .world
            .borrow_mut()
            .bar_write(self.card, offset, value)?)
    }
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer> {
        let iova = self.world.borrow_mut().memory_mut(self.card)?.alloc(len)?;
        Ok(DmaBuffer::new(Box::new(SimDma {
            world: Rc::clone(&self.world),
            card: self.card,
            iova,
            len,
        })))
    }
    fn clock(&self) -> Duration {
        let c = self.world.borrow().cycle();
        Duration::from_nanos((c as u128 * 1_000_000_000 / SIM_CLOCK_HZ as u128) as u64)
    }
    fn wait_irq(&self, timeout: Duration) -> Result<()> {
        self.world
            .borrow_mut()
            .wait_irq(self.card, cycles(timeout))?;
        Ok(())
    }
}

struct SimDma {
    world: Rc<RefCell<SimWorld>>,
    card: usize,
    iova: memory::Iova,
    len: usize,
}

impl DmaBacking for SimDma {
    fn iova(&self) -> Iova {
        Iova(self.iova.0)
    }
    fn len(&self) -> usize {
        self.len
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        check_dma_range(&format!("sim:{}", self.card), offset, buf.len(), self.len)?;
        let w = self.world.borrow();
        Ok(w.memory(self.card)?
            .read(memory::Iova(self.iova.0 + offset as u64), buf)?)
    }
    fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        check_dma_range(&format!("sim:{}", self.card), offset, data.len(), self.len)?;
        let mut w = self.world.borrow_mut();
        Ok(w.memory_mut(self.card)?
            .write(memory::Iova(self.iova.0 + offset as u64), data)?)
    }
}

impl Drop for SimDma {
    fn drop(&mut self) {
        if let Ok(mut w) = self.world.try_borrow_mut() {
            if let Ok(m) = w.memory_mut(self.card) {
                m.free(self.iova);
            }
        }
    }
}
