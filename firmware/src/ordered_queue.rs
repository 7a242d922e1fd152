//! An order-keeping retry queue.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// A queue that keeps submission order across retries: an entry that failed
/// goes back to its original place, ahead of everything queued after it.
/// RELEASEs and hardening TOGGLE/CLEAR records must reach the partner in the
/// order they were decided (ideas 6, 7).
#[derive(Clone, Debug)]
pub struct OrderedQueue<T> {
    items: BTreeMap<u64, T>,
    next: u64,
}

impl<T> Default for OrderedQueue<T> {
    fn default() -> Self {
        OrderedQueue {
            items: BTreeMap::new(),
            next: 0,
        }
    }
}

impl<T> OrderedQueue<T> {
    pub fn push(&mut self, t: T) {
        self.items.insert(self.next, t);
        self.next += 1;
    }
    /// Puts back an entry taken with [`OrderedQueue::take`].
    pub fn put_back(&mut self, no: u64, t: T) {
        self.items.insert(no, t);
    }
    /// The oldest `n` entries with their order numbers.
    pub fn take(&mut self, n: usize) -> Vec<(u64, T)> {
        let mut v = Vec::new();
        while v.len() < n {
            match self.items.pop_first() {
                Some(e) => v.push(e),
                None => break,
            }
        }
        v
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_back_entry_goes_before_later_ones() {
        let mut q = OrderedQueue::default();
        q.push('a');
        q.push('b');
        let taken = q.take(1);
        q.push('c');
        for (no, x) in taken {
            q.put_back(no, x);
        }
        let order: Vec<char> = q.take(3).into_iter().map(|(_, x)| x).collect();
        assert_eq!(order, ['a', 'b', 'c']);
    }
}
