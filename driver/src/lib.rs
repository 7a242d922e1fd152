//! Host side of duplex.
//!
//! Layers, bottom up: [`device::Device`] (BAR0 MMIO, DMA memory, interrupts)
//! with two backends — [`vfio`] for real cards and [`sim_device`] for the
//! co-simulated pair; [`regs`], the typed register accessors over any Device
//! (no raw offsets above this layer); [`examine`], the block walk behind
//! `duplexctl examine`; [`slot_allocator`] and [`card`], the allocator and
//! the DMA engine with its windows; [`mirror_pair`], the bring-up of two
//! cards that mirror into each other.

pub mod bitstream;
pub mod board;
pub mod card;
pub mod device;
#[cfg(feature = "sim")]
pub mod dma_bench;
pub mod error;
pub mod examine;
pub mod flash;
pub mod image;
pub mod inband;
pub mod jtag;
pub mod mirror_pair;
pub mod pci;
pub mod regs;
#[cfg(feature = "sim")]
pub mod sim_device;
pub mod slot_allocator;
pub mod vfio;

pub use device::{Device, DeviceSpec, DmaBuffer, Iova};
pub use error::{DriverError, Result};
