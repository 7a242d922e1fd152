//! The write-back queue (DESIGN.md idea 6): dirty lines in the order they
//! became dirty, each entry holding the partner slot of the line's current
//! mirror copy, so the destage knows which slot to release without asking
//! the line table.

use alloc::collections::BTreeMap;

use crate::cache::LineKey;

#[derive(Clone, Debug, Default)]
pub struct DestageQueue {
    order: BTreeMap<u64, LineKey>,
    entries: BTreeMap<LineKey, (u64, Option<u16>)>,
    next: u64,
}

impl DestageQueue {
    /// The line is dirty with its mirror in `slot`: queued at the tail if it
    /// was clean, its slot updated in place if it was already queued (an
    /// overwrite does not push a line back).
    pub fn dirtied(&mut self, k: LineKey, slot: Option<u16>) {
        match self.entries.get_mut(&k) {
            Some(e) => e.1 = slot,
            None => {
                self.entries.insert(k, (self.next, slot));
                self.order.insert(self.next, k);
                self.next += 1;
            }
        }
    }
    /// The line is clean (hardened, or written through).
    pub fn cleaned(&mut self, k: &LineKey) {
        if let Some((o, _)) = self.entries.remove(k) {
            self.order.remove(&o);
        }
    }
    /// The partner is gone: no entry has a mirror any more.
    pub fn forget_slots(&mut self) {
        self.entries.values_mut().for_each(|e| e.1 = None);
    }
    pub fn slot_of(&self, k: &LineKey) -> Option<u16> {
        self.entries.get(k).and_then(|e| e.1)
    }
    pub fn contains(&self, k: &LineKey) -> bool {
        self.entries.contains_key(k)
    }
    /// Keys from the oldest dirty line to the newest.
    pub fn iter(&self) -> impl Iterator<Item = &LineKey> {
        self.order.values()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn clear(&mut self) {
        self.order.clear();
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overwrite_keeps_the_place_and_takes_the_new_slot() {
        let mut q = DestageQueue::default();
        let a = LineKey { lun: 0, page: 1 };
        let b = LineKey { lun: 0, page: 2 };
        q.dirtied(a, Some(3));
        q.dirtied(b, Some(4));
        q.dirtied(a, Some(7));
        assert_eq!(q.iter().copied().collect::<alloc::vec::Vec<_>>(), [a, b]);
        assert_eq!(q.slot_of(&a), Some(7));
        q.cleaned(&a);
        assert_eq!(q.iter().copied().collect::<alloc::vec::Vec<_>>(), [b]);
    }
}
