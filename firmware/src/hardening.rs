//! Hardening records (DESIGN.md idea 7).
//!
//! The receiving side keeps, per range of tracks, two bitmaps of the tracks
//! the partner may hold un-hardened: `cur` collects a bit for every mirror
//! record that arrives; a TOGGLE record moves `cur` to `old` and starts a new
//! `cur`; a CLEAR record drops `old`. The sending side decides when to toggle
//! and when the old generation is fully hardened, by one of two protocols:
//!
//! * destage scan: a scan of a range toggles it, destages every line dirty in
//!   it, and clears the old generation when none of those lines is left;
//! * counter (N/M): after N writes into a range the range toggles; the old
//!   generation clears when M, its count of un-hardened lines, reaches zero.
//!
//! Both rely on the card carrying TOGGLE/CLEAR records in the same ring as the
//! mirror records, in order, so `cur ∪ old` is a superset of the un-hardened
//! tracks at every instant.

use alloc::vec::Vec;

/// META record kind: move `cur` to `old` for range `lba`.
pub const KIND_TOGGLE: u8 = duplex_regs::meta_kind::FIRMWARE_BASE + 1;
/// META record kind: clear `old` for range `lba`.
pub const KIND_CLEAR_OLD: u8 = duplex_regs::meta_kind::FIRMWARE_BASE + 2;
/// META record kind: forget both bitmaps; MARK records follow.
pub const KIND_RESYNC: u8 = duplex_regs::meta_kind::FIRMWARE_BASE + 4;
/// META record kind: track (`lun`, `lba`) may be un-hardened.
pub const KIND_MARK: u8 = duplex_regs::meta_kind::FIRMWARE_BASE + 5;

/// A plain bitmap over track numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackBitmap {
    words: Vec<u64>,
}

impl TrackBitmap {
    pub fn new(tracks: u64) -> Self {
        TrackBitmap {
            words: alloc::vec![0; tracks.div_ceil(64) as usize],
        }
    }
    pub fn set(&mut self, t: u64) {
        if let Some(w) = self.words.get_mut((t / 64) as usize) {
            *w |= 1 << (t % 64);
        }
    }
    pub fn clear(&mut self, t: u64) {
        if let Some(w) = self.words.get_mut((t / 64) as usize) {
            *w &= !(1 << (t % 64));
        }
    }
    pub fn get(&self, t: u64) -> bool {
        self.words
            .get((t / 64) as usize)
            .is_some_and(|w| w & (1 << (t % 64)) != 0)
    }
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| w.count_ones() as u64).sum()
    }
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.iter().enumerate().flat_map(|(i, w)| {
            (0..64)
                .filter(move |b| w & (1u64 << b) != 0)
                .map(move |b| i as u64 * 64 + b)
        })
    }
    pub fn clear_all(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }
}

/// What we know the partner may hold un-hardened, per range, `cur` and `old`.
#[derive(Clone, Debug)]
pub struct HardeningBitmap {
    range_tracks: u64,
    cur: TrackBitmap,
    old: TrackBitmap,
}

impl HardeningBitmap {
    pub fn new(tracks: u64, range_tracks: u32) -> Self {
        HardeningBitmap {
            range_tracks: range_tracks.max(1) as u64,
            cur: TrackBitmap::new(tracks),
            old: TrackBitmap::new(tracks),
        }
    }
    pub fn mark(&mut self, track: u64) {
        self.cur.set(track);
    }
    /// Number of ranges.
    pub fn ranges(&self) -> u64 {
        (self.cur.words.len() as u64 * 64).div_ceil(self.range_tracks)
    }
    fn span(&self, range: u64) -> core::ops::Range<u64> {
        range * self.range_tracks..(range + 1) * self.range_tracks
    }
    pub fn toggle(&mut self, range: u64) {
        for t in self.span(range) {
            if self.cur.get(t) {
                self.old.set(t);
            } else {
                self.old.clear(t);
            }
            self.cur.clear(t);
        }
    }
    pub fn clear_old(&mut self, range: u64) {
        for t in self.span(range) {
            self.old.clear(t);
        }
    }
    /// The partner may hold `track` un-hardened.
    pub fn may_be_unhardened(&self, track: u64) -> bool {
        self.cur.get(track) || self.old.get(track)
    }
    pub fn union_count(&self) -> u64 {
        self.cur.iter().filter(|t| !self.old.get(*t)).count() as u64 + self.old.count()
    }
    pub fn reset(&mut self) {
        self.cur.clear_all();
        self.old.clear_all();
    }
}

/// Per range: the sender's view of its two generations.
#[derive(Clone, Debug, Default)]
pub struct RangeGens {
    /// Index (0/1) of the current generation.
    pub cur: u8,
    /// Un-hardened line versions counted in each generation (M).
    pub count: [u32; 2],
    /// Writes into the current generation since the last toggle (N).
    pub writes: u32,
    /// A toggle was sent and the old generation is not yet cleared.
    pub old_pending: bool,
}

/// The sending side of both protocols: generation bookkeeping per range.
#[derive(Clone, Debug)]
pub struct HardeningTracker {
    pub range_tracks: u64,
    pub ranges: Vec<RangeGens>,
}

/// What the tracker wants sent to the partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeNotice {
    Toggle(u64),
    ClearOld(u64),
}

impl HardeningTracker {
    pub fn new(tracks: u64, range_tracks: u32) -> Self {
        let rt = range_tracks.max(1) as u64;
        HardeningTracker {
            range_tracks: rt,
            ranges: alloc::vec![RangeGens::default(); tracks.div_ceil(rt) as usize],
        }
    }
    pub fn range_of(&self, track: u64) -> u64 {
        track / self.range_tracks
    }
    /// A mirror record for `track` is being submitted: count it in the
    /// current generation and return that generation.
    pub fn submit(&mut self, track: u64) -> u8 {
        let r = &mut self.ranges[(track / self.range_tracks) as usize];
        r.count[r.cur as usize] += 1;
        r.writes += 1;
        r.cur
    }
    /// A counted version is hardened, superseded, or never made it.
    pub fn retire(&mut self, track: u64, gen: u8, out: &mut Vec<RangeNotice>) {
        let range = track / self.range_tracks;
        let r = &mut self.ranges[range as usize];
        let g = gen as usize & 1;
        r.count[g] = r.count[g].saturating_sub(1);
        if r.old_pending && g != r.cur as usize && r.count[g] == 0 {
            r.old_pending = false;
            out.push(RangeNotice::ClearOld(range));
        }
    }
    /// Starts a new generation for `range` if the old one is clear. Returns
    /// whether it toggled.
    pub fn toggle(&mut self, range: u64, out: &mut Vec<RangeNotice>) -> bool {
        let r = &mut self.ranges[range as usize];
        if r.old_pending {
            return false;
        }
        r.cur ^= 1;
        r.writes = 0;
        out.push(RangeNotice::Toggle(range));
        if r.count[(r.cur ^ 1) as usize] == 0 {
            out.push(RangeNotice::ClearOld(range));
        } else {
            r.old_pending = true;
        }
        true
    }
    pub fn reset(&mut self) {
        self.ranges
            .iter_mut()
            .for_each(|r| *r = RangeGens::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggle_keeps_old_bits_until_cleared() {
        let mut b = HardeningBitmap::new(128, 64);
        b.mark(3);
        b.toggle(0);
        assert!(b.may_be_unhardened(3));
        b.mark(5);
        b.clear_old(0);
        assert!(!b.may_be_unhardened(3));
        assert!(b.may_be_unhardened(5));
        // Another range is untouched by range 0's toggle.
        b.mark(70);
        b.toggle(0);
        b.clear_old(0);
        assert!(b.may_be_unhardened(70));
    }

    #[test]
    fn old_generation_clears_when_its_count_reaches_zero() {
        let mut t = HardeningTracker::new(128, 64);
        let mut out = Vec::new();
        let g = t.submit(1);
        assert!(t.toggle(0, &mut out));
        assert_eq!(out, [RangeNotice::Toggle(0)]);
        // No second toggle while the old generation is pending.
        assert!(!t.toggle(0, &mut out));
        out.clear();
        t.retire(1, g, &mut out);
        assert_eq!(out, [RangeNotice::ClearOld(0)]);
    }
}
