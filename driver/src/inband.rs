//! In-band flash access through the card's FLASH block (BAR0, see
//! `duplex_regs::flash`): one SPI command at a time, data through the
//! block's 256-byte buffer.
//!
//! Command set: RDID (9F) to check the chip against the board profile, WREN
//! (06) before every program or erase, RDSR (05) polled until WIP clears,
//! FAST_READ (0B / 0C), PAGE PROGRAM (02 / 12) and SECTOR ERASE (D8 / DC) —
//! the 4-byte-address forms when the profile says `address_bytes = 4`.
//! The driver also sets the block's hardware guard `PROTECT_END` to the end
//! of the golden region (0 with `force_golden`), so a bug above this layer
//! still cannot erase the golden image.

use crate::board::BoardProfile;
use crate::device::Device;
use crate::error::{DriverError, Result};
use crate::flash::{FlashAccess, Progress};
use crate::regs::Regs;
use duplex_regs::{flash, id, params, FLASH};
use std::time::Duration;

/// Called after each page program command is issued, with the image bytes
/// programmed so far; an error aborts the write (fault injection in tests).
pub type ProgramHook<'a> = Box<dyn FnMut(u64) -> Result<()> + 'a>;

pub struct CardFlash<'a> {
    regs: Regs<'a>,
    profile: &'a BoardProfile,
    /// Bytes programmed since this value was made.
    pub programmed: u64,
    pub hook: Option<ProgramHook<'a>>,
}

const RDID: u32 = 0x9F;
const RDSR: u32 = 0x05;
const WREN: u32 = 0x06;

impl<'a> CardFlash<'a> {
    /// Checks the FLASH block and the chip's JEDEC id, sets the SPI clock
    /// divider (`clk_div`, or the fastest the profile allows at 250 MHz) and
    /// the hardware guard of the golden region.
    pub fn open(
        dev: &'a dyn Device,
        profile: &'a BoardProfile,
        force_golden: bool,
        clk_div: Option<u8>,
    ) -> Result<Self> {
        let regs = Regs::new(dev);
        let t = regs.read(FLASH.type_reg())?;
        let v = regs.read(FLASH.version_reg())?;
        if t != FLASH.type_id || v >> 16 != FLASH.major() as u32 {
            return Err(DriverError::NoFlashBlock {
                device: dev.name(),
                detail: format!("TYPE {t:#010x} VERSION {v:#010x} at {:#x}", FLASH.base),
            });
        }
        let div = clk_div.unwrap_or_else(|| {
            let half = 250_000_000u64.div_ceil(2 * profile.flash.max_clock_hz.max(1));
            half.clamp(1, 256) as u8 - 1
        });
        regs.write(flash::CLK_DIV, div as u32)?;
        regs.write(flash::CTRL, flash::CLEAR.mask())?;
        let protect = if force_golden {
            0
        } else {
            profile.golden.end() as u32
        };
        regs.write(flash::PROTECT_END, protect)?;
        let f = Self {
            regs,
            profile,
            programmed: 0,
            hook: None,
        };
        let found = f.jedec_id()?;
        if found != profile.flash.jedec_id {
            return Err(DriverError::JedecMismatch {
                device: dev.name(),
                board: profile.board.clone(),
                chip: profile.flash.chip.clone(),
                expected: profile.flash.jedec_id,
                found,
            });
        }
        Ok(f)
    }

    fn timeout(&self, us: u64) -> Duration {
        // Four times the typical figure, and never less than 10 ms.
        Duration::from_micros((us * 4).max(10_000))
    }

    /// Runs one command and waits for the engine to finish it.
    fn command(
        &self,
        op: u32,
        addr: u64,
        ab: u32,
        dummy: u32,
        read: bool,
        len: usize,
    ) -> Result<()> {
        let cmd = flash::OPCODE.set(0, op)
            | flash::ADDR_BYTES.set(0, ab)
            | flash::DUMMY_BYTES.set(0, dummy)
            | flash::READ.set(0, read as u32);
        self.regs.write(flash::CMD, cmd)?;
        self.regs.write(flash::ADDR, addr as u32)?;
        self.regs.write(flash::LEN, len as u32)?;
        self.regs.write(flash::CTRL, flash::START.mask())?;
        let st = self
            .regs
            .wait_for(flash::STATUS, Duration::from_millis(10), |s| {
                flash::BUSY.get(s) == 0
            })?;
        if flash::REFUSED.get(st) == 1 {
            self.regs.write(flash::CTRL, flash::CLEAR.mask())?;
            return Err(DriverError::FlashRefused {
                device: self.regs.device().name(),
                protect_end: self.regs.read(flash::PROTECT_END)? as u64,
            });
        }
        Ok(())
    }

    fn ab(&self) -> u32 {
        self.profile.flash.address_bytes as u32
    }

    pub fn jedec_id(&self) -> Result<u32> {
        self.command(RDID, 0, 0, 0, true, 3)?;
        let w = self.read_buf(4)?;
        Ok(u32::from_be_bytes([0, w[0], w[1], w[2]]))
    }

    fn status(&self) -> Result<u8> {
        self.command(RDSR, 0, 0, 0, true, 1)?;
        Ok(flash::RX_LAST.get(self.regs.read(flash::STATUS)?) as u8)
    }

    /// Polls RDSR until WIP clears, at most `timeout` of device time.
    fn wait_ready(&self, timeout: Duration, what: &str) -> Result<()> {
        let dev = self.regs.device();
        let start = dev.clock();
        while self.status()? & 1 == 1 {
            if dev.clock() - start >= timeout {
                return Err(DriverError::Timeout {
                    device: dev.name(),
                    what: format!("flash {what} (WIP still set)"),
                    timeout,
                });
            }
        }
        Ok(())
    }

    fn load_buf(&self, data: &[u8]) -> Result<()> {
        self.regs.write(flash::BUF_PTR, 0)?;
        for c in data.chunks(4) {
            let mut w = [0xFFu8; 4];
            w[..c.len()].copy_from_slice(c);
            self.regs.write(flash::BUF_WDATA, u32::from_le_bytes(w))?;
        }
        Ok(())
    }

    fn read_buf(&self, len: usize) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity(len);
        for w in 0..len.div_ceil(4) {
            self.regs.write(flash::BUF_PTR, w as u32)?;
            v.extend_from_slice(&self.regs.read(flash::BUF_RDATA)?.to_le_bytes());
        }
        v.truncate(len);
        Ok(v)
    }

    /// Requests reconfiguration from flash and waits for the card to answer
    /// its ID again.
    pub fn boot(&self) -> Result<u32> {
        self.regs.write(flash::CTRL, flash::BOOT.mask())?;
        self.regs
            .wait_for(id::DESIGN_ID, Duration::from_millis(100), |v| {
                v == params::DESIGN_ID
            })
    }
}

impl FlashAccess for CardFlash<'_> {
    fn program_erases(&self) -> bool {
        false
    }

    fn erase(&mut self, offset: u64, len: u64, progress: Progress) -> Result<()> {
        let s = self.profile.flash.sector_size;
        let op = if self.ab() == 4 { 0xDC } else { 0xD8 };
        let mut a = offset / s * s;
        while a < offset + len {
            progress("erase", a - offset / s * s, len);
            self.command(WREN, 0, 0, 0, false, 0)?;
            self.command(op, a, self.ab(), 0, false, 0)?;
            self.wait_ready(
                self.timeout(self.profile.flash.sector_erase_us),
                "sector erase",
            )?;
            a += s;
        }
        progress("erase", len, len);
        Ok(())
    }

    fn program(&mut self, offset: u64, data: &[u8], progress: Progress) -> Result<()> {
        let page = self.profile.flash.page_size;
        let op = if self.ab() == 4 { 0x12 } else { 0x02 };
        let mut done = 0usize;
        while done < data.len() {
            let a = offset + done as u64;
            // Never cross a page boundary: page program wraps inside the page.
            let n = ((page - a % page) as usize).min(data.len() - done);
            let chunk = &data[done..done + n];
            done += n;
            if chunk.iter().all(|&b| b == 0xFF) {
                continue; // erased flash already reads 0xFF
            }
            self.load_buf(chunk)?;
            self.command(WREN, 0, 0, 0, false, 0)?;
            self.command(op, a, self.ab(), 0, false, n)?;
            self.programmed += n as u64;
            if let Some(hook) = self.hook.as_mut() {
                hook(self.programmed)?;
            }
            self.wait_ready(
                self.timeout(self.profile.flash.page_program_us),
                "page program",
            )?;
            progress("program", done as u64, data.len() as u64);
        }
        progress("program", data.len() as u64, data.len() as u64);
        Ok(())
    }

    fn read(&mut self, offset: u64, len: usize, progress: Progress) -> Result<Vec<u8>> {
        let (op, ab) = if self.ab() == 4 { (0x0C, 4) } else { (0x0B, 3) };
        let mut v = Vec::with_capacity(len);
        while v.len() < len {
            let n = (len - v.len()).min(256);
            self.command(op, offset + v.len() as u64, ab, 1, true, n)?;
            v.extend(self.read_buf(n)?);
            progress("read", v.len() as u64, len as u64);
        }
        Ok(v)
    }

    fn boot(&mut self) -> Result<()> {
        CardFlash::boot(self).map(|_| ())
    }
}

/// The co-simulation's flash chip for a board: the profile's chip, with its
/// datasheet times divided by `time_scale`.
#[cfg(feature = "sim")]
pub fn sim_flash_model(p: &BoardProfile, time_scale: u64) -> duplex_sim::FlashModelConfig {
    duplex_sim::FlashModelConfig::from_datasheet(
        p.flash.jedec_id,
        p.flash.size as usize,
        p.flash.sector_size as usize,
        p.flash.page_size as usize,
        p.flash.page_program_us,
        p.flash.sector_erase_us,
        time_scale,
    )
}
