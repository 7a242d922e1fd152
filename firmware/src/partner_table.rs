//! What the partner's cache holds, learnt from its metadata records (DESIGN.md
//! idea 4): each side knows the other's dirty lines and where their mirror
//! copies sit in the area it hosts.

use alloc::collections::BTreeMap;

use crate::cache::LineKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartnerLineState {
    /// Dirty in the partner's cache; our hosted slot holds the mirror.
    Dirty,
    /// Flush-notice variant: being destaged, mirror temporarily invalid
    /// as a source of truth for the disk (idea 6).
    Flushing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartnerLine {
    pub slot: u16,
    pub seq: u32,
    pub dirty: u64,
    pub state: PartnerLineState,
}

#[derive(Clone, Debug, Default)]
pub struct PartnerTable {
    lines: BTreeMap<LineKey, PartnerLine>,
}

impl PartnerTable {
    /// A mirror record: the newer version wins.
    pub fn mirrored(&mut self, k: LineKey, slot: u16, seq: u32, dirty: u64) {
        match self.lines.get(&k) {
            Some(old) if old.seq > seq => {}
            _ => {
                self.lines.insert(
                    k,
                    PartnerLine {
                        slot,
                        seq,
                        dirty,
                        state: PartnerLineState::Dirty,
                    },
                );
            }
        }
    }
    pub fn flushing(&mut self, k: LineKey, seq: u32) {
        if let Some(l) = self.lines.get_mut(&k) {
            if l.seq == seq {
                l.state = PartnerLineState::Flushing;
            }
        }
    }
    /// The partner hardened version `seq`: older or equal versions go.
    pub fn consistent(&mut self, k: LineKey, seq: u32) {
        if self.lines.get(&k).is_some_and(|l| l.seq <= seq) {
            self.lines.remove(&k);
        }
    }
    pub fn get(&self, k: &LineKey) -> Option<&PartnerLine> {
        self.lines.get(k)
    }
    pub fn len(&self) -> usize {
        self.lines.len()
    }
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
    pub fn clear(&mut self) {
        self.lines.clear();
    }
    pub fn iter(&self) -> impl Iterator<Item = (&LineKey, &PartnerLine)> {
        self.lines.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_record_does_not_replace_a_newer_one() {
        let mut t = PartnerTable::default();
        let k = LineKey { lun: 1, page: 2 };
        t.mirrored(k, 7, 10, u64::MAX);
        t.mirrored(k, 3, 9, u64::MAX);
        assert_eq!(t.get(&k).unwrap().slot, 7);
        t.consistent(k, 9);
        assert!(t.get(&k).is_some());
        t.consistent(k, 10);
        assert!(t.get(&k).is_none());
    }
}
