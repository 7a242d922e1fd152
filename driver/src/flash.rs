//! Board image operations — write, verify, read, erase, boot — over either
//! path to the configuration flash: JTAG ([`JtagFlash`], openFPGALoader) or
//! in-band through the card's FLASH block ([`crate::inband::CardFlash`]).
//!
//! Both paths obey the same rules, enforced here and not in the backends:
//! the image's part must be the board's; an image must fit its region;
//! nothing touches the golden region without `force_golden`; and an update
//! image is written image first, trailer last (see [`crate::image`]), so an
//! interrupted write is always reported invalid.

use crate::bitstream::Bitstream;
use crate::board::{BoardProfile, Region};
use crate::error::{DriverError, Result};
use crate::image::{check_update, trailer_offset, ImageStatus, Trailer};
use crate::jtag::{JtagCommand, Scratch};

/// Reports progress of long operations: `(what, done, total)`.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

/// Raw access to a board's configuration flash.
pub trait FlashAccess {
    /// True when [`FlashAccess::program`] erases the sectors it covers itself.
    fn program_erases(&self) -> bool;
    /// Erases the sectors covering `offset..offset + len` (sector aligned).
    fn erase(&mut self, offset: u64, len: u64, progress: Progress) -> Result<()>;
    /// Programs erased flash at `offset` with `data`.
    fn program(&mut self, offset: u64, data: &[u8], progress: Progress) -> Result<()>;
    fn read(&mut self, offset: u64, len: usize, progress: Progress) -> Result<Vec<u8>>;
    /// Makes the FPGA reload its configuration from flash.
    fn boot(&mut self) -> Result<()>;
}

/// Which image region an operation addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Update,
    Golden,
}

/// Rules shared by both paths.
pub struct Flasher<'p, A: FlashAccess> {
    pub profile: &'p BoardProfile,
    pub access: A,
    pub force_golden: bool,
}

fn sector_span(p: &BoardProfile, offset: u64, len: u64) -> (u64, u64) {
    let s = p.flash.sector_size;
    let start = offset / s * s;
    let end = (offset + len).div_ceil(s) * s;
    (start, end - start)
}

impl<'p, A: FlashAccess> Flasher<'p, A> {
    pub fn new(profile: &'p BoardProfile, access: A, force_golden: bool) -> Self {
        Self {
            profile,
            access,
            force_golden,
        }
    }

    fn region(&self, t: Target) -> Region {
        match t {
            Target::Update => self.profile.update,
            Target::Golden => self.profile.golden,
        }
    }

    /// Refuses an access outside the flash, or inside the golden region
    /// without `force_golden`.
    pub fn guard(&self, op: &'static str, offset: u64, len: u64) -> Result<()> {
        let size = self.profile.flash.size;
        if offset.checked_add(len).is_none_or(|e| e > size) {
            return Err(DriverError::FlashRange { offset, len, size });
        }
        let g = self.profile.golden;
        if !self.force_golden && g.overlaps(offset, len) {
            return Err(DriverError::GoldenProtected {
                op,
                offset,
                len,
                golden_offset: g.offset,
                golden_end: g.end(),
            });
        }
        Ok(())
    }

    /// Writes `image` into the target region: erase, program, read back and
    /// compare; for the update region the trailer goes last.
    pub fn write(&mut self, image: &Bitstream, target: Target, progress: Progress) -> Result<()> {
        let p = self.profile;
        image.check_part(&p.board, &p.fpga.part)?;
        let region = self.region(target);
        let room = match target {
            Target::Update => p.max_image(),
            Target::Golden => region.size,
        };
        let len = image.data.len() as u64;
        if len > room {
            return Err(DriverError::ImageTooBig {
                what: "image".into(),
                len,
                room,
                region: if target == Target::Update {
                    "update"
                } else {
                    "golden"
                },
            });
        }
        let (start, span) = sector_span(p, region.offset, len);
        self.guard("write", start, span)?;
        let trailer_at = trailer_offset(p);
        if target == Target::Update {
            // The old trailer goes first: from here on the region reads invalid
            // until the new trailer lands.
            self.guard("write", trailer_at, p.flash.sector_size)?;
            if self.access.program_erases() {
                let blank = vec![0xFF; crate::image::TRAILER_LEN];
                self.access.program(trailer_at, &blank, progress)?;
            } else {
                self.access
                    .erase(trailer_at, p.flash.sector_size, progress)?;
            }
        }
        if !self.access.program_erases() {
            self.access.erase(start, span, progress)?;
        }
        self.access.program(region.offset, &image.data, progress)?;
        self.compare(region.offset, &image.data, progress)?;
        if target == Target::Update {
            let design = image
                .header
                .as_ref()
                .map(|h| h.design.clone())
                .unwrap_or_default();
            let t = Trailer::for_image(&image.data, &image.part, &design).encode();
            self.access.program(trailer_at, &t, progress)?;
            self.compare(trailer_at, &t, progress)?;
        }
        Ok(())
    }

    fn compare(&mut self, offset: u64, want: &[u8], progress: Progress) -> Result<()> {
        let got = self.access.read(offset, want.len(), progress)?;
        match want.iter().zip(&got).position(|(a, b)| a != b) {
            None if got.len() == want.len() => Ok(()),
            at => {
                let i = at.unwrap_or(got.len().min(want.len()));
                Err(DriverError::VerifyMismatch {
                    device: self.profile.board.clone(),
                    offset: offset + i as u64,
                    wrote: want.get(i).copied().unwrap_or(0),
                    read: got.get(i).copied().unwrap_or(0),
                })
            }
        }
    }

    /// Compares the target region with `image` (when given) and judges the
    /// update image by its trailer.
    pub fn verify(
        &mut self,
        image: Option<&Bitstream>,
        target: Target,
        progress: Progress,
    ) -> Result<ImageStatus> {
        let region = self.region(target);
        if let Some(img) = image {
            img.check_part(&self.profile.board, &self.profile.fpga.part)?;
            self.compare(region.offset, &img.data, progress)?;
        }
        match target {
            Target::Update => self.update_status(progress),
            Target::Golden => Ok(ImageStatus {
                valid: image.is_some(),
                reason: if image.is_some() {
                    "golden region matches the image".into()
                } else {
                    "the golden image carries no trailer: give an image to compare".into()
                },
                trailer: None,
            }),
        }
    }

    /// Whether the update region holds a complete image.
    pub fn update_status(&mut self, progress: Progress) -> Result<ImageStatus> {
        let p = self.profile;
        let page = self.access.read(
            trailer_offset(p),
            crate::image::TRAILER_LEN,
            &mut |_, _, _| {},
        )?;
        let base = p.update.offset;
        let access = &mut self.access;
        check_update(p, &page, |off, n| access.read(base + off, n, progress))
    }

    pub fn read(&mut self, offset: u64, len: u64, progress: Progress) -> Result<Vec<u8>> {
        let size = self.profile.flash.size;
        if offset.checked_add(len).is_none_or(|e| e > size) {
            return Err(DriverError::FlashRange { offset, len, size });
        }
        self.access.read(offset, len as usize, progress)
    }

    /// Erases a whole region.
    pub fn erase(&mut self, target: Target, progress: Progress) -> Result<()> {
        let r = self.region(target);
        self.guard("erase", r.offset, r.size)?;
        if self.access.program_erases() {
            let blank = vec![0xFF; r.size as usize];
            self.access.program(r.offset, &blank, progress)
        } else {
            self.access.erase(r.offset, r.size, progress)
        }
    }

    pub fn boot(&mut self) -> Result<()> {
        self.access.boot()
    }
}

/// The configuration flash through openFPGALoader.
pub struct JtagFlash<'p> {
    pub profile: &'p BoardProfile,
    pub cable: Option<String>,
    scratch: Scratch,
    seq: u32,
}

impl<'p> JtagFlash<'p> {
    pub fn new(profile: &'p BoardProfile, cable: Option<String>) -> Result<Self> {
        Ok(Self {
            profile,
            cable,
            scratch: Scratch::new()?,
            seq: 0,
        })
    }
    fn name(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("{what}-{}.bin", self.seq)
    }
}

impl FlashAccess for JtagFlash<'_> {
    fn program_erases(&self) -> bool {
        true
    }
    fn erase(&mut self, offset: u64, len: u64, progress: Progress) -> Result<()> {
        self.program(offset, &vec![0xFF; len as usize], progress)
    }
    fn program(&mut self, offset: u64, data: &[u8], progress: Progress) -> Result<()> {
        let name = self.name("write");
        let file = self.scratch.file(&name, data)?;
        progress("program (openFPGALoader)", 0, data.len() as u64);
        JtagCommand::write(self.profile, self.cable.as_deref(), offset, &file).run()?;
        progress(
            "program (openFPGALoader)",
            data.len() as u64,
            data.len() as u64,
        );
        Ok(())
    }
    fn read(&mut self, offset: u64, len: usize, progress: Progress) -> Result<Vec<u8>> {
        let name = self.name("dump");
        let file = self.scratch.dir.join(name);
        progress("read (openFPGALoader)", 0, len as u64);
        JtagCommand::read(
            self.profile,
            self.cable.as_deref(),
            offset,
            len as u64,
            &file,
        )
        .run()?;
        let data = std::fs::read(&file).map_err(|source| DriverError::File {
            path: file.display().to_string(),
            source,
        })?;
        progress("read (openFPGALoader)", len as u64, len as u64);
        Ok(data)
    }
    fn boot(&mut self) -> Result<()> {
        JtagCommand::boot(self.profile, self.cable.as_deref()).run()
    }
}
