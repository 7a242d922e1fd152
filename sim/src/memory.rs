//! A controller's host memory: a byte arena addressed by IOVA, with a small
//! allocator for DMA buffers. Every access is bounds-checked; nothing outside
//! the arena is ever read or written.

use crate::{Result, SimError};
use std::collections::BTreeMap;

/// An I/O virtual address: what the card puts on its DMA port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Iova(pub u64);

/// First IOVA of every arena; IOVA 0 is never valid.
pub const IOVA_BASE: u64 = 0x1000_0000;
/// Allocation granule (a page).
pub const GRANULE: u64 = 4096;

pub struct HostMemory {
    card: usize,
    bytes: Vec<u8>,
    /// Allocated ranges: start offset → length (rounded to the granule).
    allocs: BTreeMap<u64, u64>,
}

impl HostMemory {
    pub fn new(card: usize, size: usize) -> Self {
        Self {
            card,
            bytes: vec![0; size],
            allocs: BTreeMap::new(),
        }
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn range(&self, iova: u64, len: usize) -> Result<std::ops::Range<usize>> {
        let err = || SimError::MemoryRange {
            card: self.card,
            iova,
            len,
            size: self.size(),
        };
        let off = iova.checked_sub(IOVA_BASE).ok_or_else(err)?;
        let end = off.checked_add(len as u64).ok_or_else(err)?;
        if end > self.size() {
            return Err(err());
        }
        Ok(off as usize..end as usize)
    }

    pub fn read(&self, iova: Iova, buf: &mut [u8]) -> Result<()> {
        let r = self.range(iova.0, buf.len())?;
        buf.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    pub fn write(&mut self, iova: Iova, data: &[u8]) -> Result<()> {
        let r = self.range(iova.0, data.len())?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }

    /// Writes the bytes of `data` whose strobe bit is set.
    pub fn write_strobed(&mut self, iova: Iova, data: &[u8], strobe: &[bool]) -> Result<()> {
        let r = self.range(iova.0, data.len())?;
        for (i, b) in self.bytes[r].iter_mut().enumerate() {
            if strobe.get(i).copied().unwrap_or(false) {
                *b = data[i];
            }
        }
        Ok(())
    }

    /// Allocates `len` bytes (page-aligned, zeroed); first fit.
    pub fn alloc(&mut self, len: usize) -> Result<Iova> {
        let want = (len as u64).div_ceil(GRANULE).max(1) * GRANULE;
        let mut cursor = 0u64;
        for (&start, &l) in &self.allocs {
            if start - cursor >= want {
                break;
            }
            cursor = start + l;
        }
        if cursor + want > self.size() {
            let used: u64 = self.allocs.values().sum();
            return Err(SimError::OutOfMemory {
                card: self.card,
                len,
                free: self.size() - used,
            });
        }
        self.allocs.insert(cursor, want);
        let r = cursor as usize..(cursor + want) as usize;
        self.bytes[r].fill(0);
        Ok(Iova(IOVA_BASE + cursor))
    }

    /// Releases an allocation; unknown addresses are ignored (idempotent).
    pub fn free(&mut self, iova: Iova) {
        if let Some(off) = iova.0.checked_sub(IOVA_BASE) {
            self.allocs.remove(&off);
        }
    }

    /// Forgets everything: the controller lost power.
    pub fn wipe(&mut self) {
        self.bytes.fill(0);
        self.allocs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_arena_access_is_a_typed_error_and_writes_nothing() {
        let mut m = HostMemory::new(0, 8192);
        assert!(m.write(Iova(IOVA_BASE + 8190), &[1, 2, 3]).is_err());
        assert!(m.write(Iova(0), &[1]).is_err());
        let mut b = [9u8; 2];
        m.read(Iova(IOVA_BASE + 8190), &mut b).unwrap();
        assert_eq!(b, [0, 0]);
    }

    #[test]
    fn allocations_do_not_overlap_and_are_reused_after_free() {
        let mut m = HostMemory::new(0, 4 * 4096);
        let a = m.alloc(100).unwrap();
        let b = m.alloc(5000).unwrap();
        assert_eq!(b.0 - a.0, 4096);
        assert!(m.alloc(8192).is_err(), "only one page is left");
        m.free(a);
        assert_eq!(m.alloc(10).unwrap(), a);
    }
}
