//! Typed register access over any [`Device`]: every offset comes from a
//! `duplex_regs::Reg`, every field from a `duplex_regs::Field`.

use crate::device::Device;
use crate::error::{DriverError, Result};
use duplex_regs::{Field, Reg};
use std::time::Duration;

pub struct Regs<'a> {
    dev: &'a dyn Device,
}

impl<'a> Regs<'a> {
    pub fn new(dev: &'a dyn Device) -> Self {
        Self { dev }
    }
    pub fn device(&self) -> &'a dyn Device {
        self.dev
    }
    pub fn read(&self, reg: Reg) -> Result<u32> {
        self.dev.read32(reg.offset)
    }
    pub fn write(&self, reg: Reg, value: u32) -> Result<()> {
        self.dev.write32(reg.offset, value)
    }
    pub fn read_field(&self, reg: Reg, field: Field) -> Result<u32> {
        Ok(field.get(self.read(reg)?))
    }
    /// Read-modify-write of one field.
    pub fn write_field(&self, reg: Reg, field: Field, value: u32) -> Result<()> {
        let v = self.read(reg)?;
        self.write(reg, field.set(v, value))
    }
    /// Polls `reg` until `pred` holds, at most `timeout`.
    pub fn wait_for(&self, reg: Reg, timeout: Duration, pred: impl Fn(u32) -> bool) -> Result<u32> {
        let start = self.dev.clock();
        loop {
            let v = self.read(reg)?;
            if pred(v) {
                return Ok(v);
            }
            if self.dev.clock() - start >= timeout {
                return Err(DriverError::Timeout {
                    device: self.dev.name(),
                    what: format!("{} reaching the expected value", reg.name),
                    timeout,
                });
            }
        }
    }
}
