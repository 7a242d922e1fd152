//! Helpers for the DMA scenarios (`tests/tests/dma.rs`): expected-memory
//! shadows the reference model writes into, views of the co-simulated host
//! memories for the model, and the windows of a brought-up pair.

use duplex_driver::mirror_pair::{InboundAreas, MirrorPair};
use duplex_hdl::dma_model::{HostReadFault, HostView, MemWrite, WinModel};
use duplex_sim::{HostMemory, SimWorld};
use std::ops::Range;

/// Expected contents of one region of a host memory; bytes nobody can
/// predict are marked unknown and never compared.
pub struct Shadow {
    pub base: u64,
    pub bytes: Vec<u8>,
    pub known: Vec<bool>,
}

impl Shadow {
    /// A region as it is now in `mem`.
    pub fn capture(mem: &HostMemory, base: u64, len: usize) -> Self {
        let mut bytes = vec![0u8; len];
        mem.read(duplex_sim::Iova(base), &mut bytes)
            .expect("region inside host memory");
        Self {
            base,
            bytes,
            known: vec![true; len],
        }
    }
    fn range(&self, iova: u64, len: u64) -> Option<Range<usize>> {
        let o = iova.checked_sub(self.base)?;
        let end = o.checked_add(len)?;
        (end <= self.bytes.len() as u64).then_some(o as usize..end as usize)
    }
}

/// The shadows of one host's regions.
#[derive(Default)]
pub struct Shadows {
    pub regions: Vec<Shadow>,
}

impl Shadows {
    fn find(&self, iova: u64, len: u64) -> Option<(usize, Range<usize>)> {
        self.regions
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.range(iova, len).map(|r| (i, r)))
    }
    /// Applies an expected write; panics if it falls outside every region
    /// (the model said the hardware writes where no test expects it).
    pub fn write(&mut self, w: &MemWrite) {
        let (i, r) = self
            .find(w.iova, w.data.len() as u64)
            .unwrap_or_else(|| panic!("expected write at {:#x} outside the shadows", w.iova));
        self.regions[i].bytes[r.clone()].copy_from_slice(&w.data);
        self.regions[i].known[r].fill(true);
    }
    pub fn forget(&mut self, range: &Range<u64>) {
        if let Some((i, r)) = self.find(range.start, range.end - range.start) {
            self.regions[i].known[r].fill(false);
        }
    }
    /// The first known byte in `range` that differs in `mem`:
    /// (IOVA, expected, found).
    pub fn mismatch(&self, mem: &HostMemory, range: Range<u64>) -> Option<(u64, u8, u8)> {
        let (i, r) = self.find(range.start, range.end - range.start)?;
        let s = &self.regions[i];
        let mut got = vec![0u8; r.len()];
        mem.read(duplex_sim::Iova(range.start), &mut got).ok()?;
        (0..r.len())
            .find(|&k| s.known[r.start + k] && s.bytes[r.start + k] != got[k])
            .map(|k| (range.start + k as u64, s.bytes[r.start + k], got[k]))
    }
    /// [`Shadows::mismatch`] over every region.
    pub fn first_mismatch(&self, mem: &HostMemory) -> Option<(u64, u8, u8)> {
        self.regions
            .iter()
            .find_map(|s| self.mismatch(mem, s.base..s.base + s.bytes.len() as u64))
    }
}

impl HostView for Shadows {
    fn read(&self, iova: u64, buf: &mut [u8]) -> Result<(), HostReadFault> {
        let (i, r) = self.find(iova, buf.len() as u64).ok_or(HostReadFault)?;
        buf.copy_from_slice(&self.regions[i].bytes[r]);
        Ok(())
    }
    fn unknown(&self, iova: u64, len: u64) -> bool {
        self.find(iova, len)
            .is_some_and(|(i, r)| self.regions[i].known[r].iter().any(|k| !k))
    }
}

/// A host memory as the co-simulation holds it, with its read faults.
pub struct LiveMemory<'w> {
    pub mem: &'w HostMemory,
    pub faults: &'w [Range<u64>],
}

impl HostView for LiveMemory<'_> {
    fn read(&self, iova: u64, buf: &mut [u8]) -> Result<(), HostReadFault> {
        let end = iova + buf.len() as u64;
        if self.faults.iter().any(|f| f.start < end && iova < f.end) {
            return Err(HostReadFault);
        }
        self.mem
            .read(duplex_sim::Iova(iova), buf)
            .map_err(|_| HostReadFault)
    }
}

/// The partner-side windows card `c` writes through: host `1 - c`'s areas.
pub fn partner_windows(pair: &MirrorPair<'_>, c: usize) -> WinModel {
    win_of(&pair.areas[1 - c])
}

/// WIN settings of a host's inbound areas.
pub fn win_of(a: &InboundAreas) -> WinModel {
    WinModel {
        mirror_base: a.mirror.iova().0,
        mirror_size: a.mirror.len() as u64,
        meta_base: a.meta.iova().0,
        meta_size: a.meta.len() as u64,
    }
}

/// Shadows of a host's inbound areas as they are now.
pub fn area_shadows(world: &SimWorld, pair: &MirrorPair<'_>, c: usize) -> Shadows {
    let mem = world.memory(c).expect("card memory");
    let a = &pair.areas[c];
    Shadows {
        regions: vec![
            Shadow::capture(mem, a.mirror.iova().0, a.mirror.len()),
            Shadow::capture(mem, a.meta.iova().0, a.meta.len()),
        ],
    }
}

/// Offsets of the slot headers of a mirror area that decode as valid
/// records: (slot, record).
pub fn valid_headers(mem: &HostMemory, a: &InboundAreas) -> Vec<(u32, duplex_regs::MetaRecord)> {
    let mut table = vec![0u8; a.layout.slots as usize * 64];
    mem.read(duplex_sim::Iova(a.mirror.iova().0), &mut table)
        .expect("mirror area");
    table
        .chunks(64)
        .enumerate()
        .filter_map(|(s, b)| {
            duplex_regs::MetaRecord::decode_valid(b)
                .ok()
                .map(|r| (s as u32, r))
        })
        .collect()
}
