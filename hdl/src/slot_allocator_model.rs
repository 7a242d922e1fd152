//! Plain-Rust reference model of the mirror-slot allocator
//! ([`crate::slot_allocator::SlotAllocator`]).
//!
//! The model is written from the register contract, not from the hardware:
//! it keeps the free list as a stack and one explicit state per slot (never
//! handed out / allocated / returned), where the hardware infers the same
//! answers from a stack position index and a low-water mark. The Verilator
//! tests compare every response of the hardware with this model.

use duplex_regs::slot_alloc::{status, MAX_COUNT};

/// What an operation asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocOp {
    /// Take `count` slots (1..=16), all or none.
    Alloc { count: u32 },
    /// Return `slot`.
    Free { slot: u32 },
}

/// What the allocator answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocResponse {
    /// One of [`duplex_regs::slot_alloc::status`].
    pub status: u32,
    /// Slots handed out (empty unless an alloc succeeded), in the order the
    /// hardware lists them.
    pub slots: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    NeverAllocated,
    Allocated,
    Returned,
}

/// Counters the block exposes in BAR0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocCounters {
    pub double_free: u32,
    pub never_allocated: u32,
    pub out_of_range: u32,
    pub not_ready: u32,
    pub bad_count: u32,
    pub no_space: u32,
    pub alloc_ops: u32,
    pub free_ops: u32,
    /// Sticky `ERRORS` bits.
    pub errors: u32,
}

/// Reference model of one allocator.
#[derive(Clone, Debug)]
pub struct SlotAllocatorModel {
    max_slots: u32,
    n: u32,
    ready: bool,
    /// Free slots; the top of the stack is the last element.
    free: Vec<u32>,
    state: Vec<SlotState>,
    high_water: u32,
    pub counters: AllocCounters,
}

/// Why an init was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitRefused {
    /// N is 0 or above the build's maximum.
    BadCount,
    /// Slots are allocated and FORCE was not given.
    SlotsAllocated,
}

fn bump(c: &mut u32) {
    *c = c.saturating_add(1);
}

impl SlotAllocatorModel {
    /// A freshly reset allocator of a build that holds up to `max_slots`.
    pub fn new(max_slots: u32) -> Self {
        Self {
            max_slots,
            n: 0,
            ready: false,
            free: Vec::new(),
            state: Vec::new(),
            high_water: 0,
            counters: AllocCounters::default(),
        }
    }

    /// Builds the free list with `n` free slots. Slot 0 is handed out first,
    /// then 1, 2, … (the hardware's init order).
    pub fn init(&mut self, n: u32, force: bool) -> Result<(), InitRefused> {
        let refused = if n == 0 || n > self.max_slots {
            Some(InitRefused::BadCount)
        } else if self.ready && !force && self.allocated() != 0 {
            Some(InitRefused::SlotsAllocated)
        } else {
            None
        };
        if let Some(r) = refused {
            self.counters.errors |= duplex_regs::slot_alloc::ERR_INIT_REFUSED.mask();
            return Err(r);
        }
        self.n = n;
        self.ready = true;
        self.free = (0..n).rev().collect();
        self.state = vec![SlotState::NeverAllocated; n as usize];
        self.high_water = 0;
        Ok(())
    }

    pub fn ready(&self) -> bool {
        self.ready
    }
    /// Slot count of the current free list.
    pub fn slots(&self) -> u32 {
        self.n
    }
    pub fn free_count(&self) -> u32 {
        self.free.len() as u32
    }
    pub fn allocated(&self) -> u32 {
        self.n - self.free_count()
    }
    pub fn high_water(&self) -> u32 {
        self.high_water
    }
    /// True when `slot` is currently handed out.
    pub fn is_allocated(&self, slot: u32) -> bool {
        self.state.get(slot as usize) == Some(&SlotState::Allocated)
    }

    fn reject(&mut self, code: u32) -> AllocResponse {
        use duplex_regs::slot_alloc as a;
        let c = &mut self.counters;
        match code {
            status::NO_SPACE => bump(&mut c.no_space),
            status::NOT_READY => {
                bump(&mut c.not_ready);
                c.errors |= a::ERR_NOT_READY.mask();
            }
            status::BAD_COUNT => {
                bump(&mut c.bad_count);
                c.errors |= a::ERR_BAD_COUNT.mask();
            }
            status::OUT_OF_RANGE => {
                bump(&mut c.out_of_range);
                c.errors |= a::ERR_OUT_OF_RANGE.mask();
            }
            status::NEVER_ALLOCATED => {
                bump(&mut c.never_allocated);
                c.errors |= a::ERR_NEVER_ALLOCATED.mask();
            }
            status::DOUBLE_FREE => {
                bump(&mut c.double_free);
                c.errors |= a::ERR_DOUBLE_FREE.mask();
            }
            _ => {}
        }
        AllocResponse {
            status: code,
            slots: Vec::new(),
        }
    }

    /// Applies one operation, as the hardware serialises it.
    pub fn apply(&mut self, op: AllocOp) -> AllocResponse {
        if !self.ready {
            return self.reject(status::NOT_READY);
        }
        match op {
            AllocOp::Alloc { count } => {
                if count == 0 || count > MAX_COUNT {
                    return self.reject(status::BAD_COUNT);
                }
                if count > self.free_count() {
                    return self.reject(status::NO_SPACE);
                }
                let mut slots = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let s = self.free.pop().expect("count checked against free list");
                    self.state[s as usize] = SlotState::Allocated;
                    slots.push(s);
                }
                self.high_water = self.high_water.max(self.allocated());
                bump(&mut self.counters.alloc_ops);
                AllocResponse {
                    status: status::OK,
                    slots,
                }
            }
            AllocOp::Free { slot } => {
                if slot >= self.n {
                    return self.reject(status::OUT_OF_RANGE);
                }
                match self.state[slot as usize] {
                    SlotState::NeverAllocated => self.reject(status::NEVER_ALLOCATED),
                    SlotState::Returned => self.reject(status::DOUBLE_FREE),
                    SlotState::Allocated => {
                        self.state[slot as usize] = SlotState::Returned;
                        self.free.push(slot);
                        bump(&mut self.counters.free_ops);
                        AllocResponse {
                            status: status::OK,
                            slots: Vec::new(),
                        }
                    }
                }
            }
        }
    }

    /// Zeroes the counters (CLEAR), keeping the sticky error bits.
    pub fn clear_counters(&mut self) {
        self.counters = AllocCounters {
            errors: self.counters.errors,
            ..AllocCounters::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_hands_out_slots_in_ascending_order_then_lifo() {
        let mut m = SlotAllocatorModel::new(16);
        m.init(8, false).unwrap();
        assert_eq!(m.apply(AllocOp::Alloc { count: 3 }).slots, vec![0, 1, 2]);
        assert_eq!(m.apply(AllocOp::Free { slot: 1 }).status, status::OK);
        assert_eq!(m.apply(AllocOp::Alloc { count: 2 }).slots, vec![1, 3]);
        assert_eq!(m.high_water(), 4);
    }

    #[test]
    fn errors_are_classified_and_change_nothing() {
        let mut m = SlotAllocatorModel::new(16);
        assert_eq!(
            m.apply(AllocOp::Alloc { count: 1 }).status,
            status::NOT_READY
        );
        m.init(4, false).unwrap();
        m.apply(AllocOp::Alloc { count: 1 });
        let before = (m.free_count(), m.allocated());
        assert_eq!(
            m.apply(AllocOp::Free { slot: 3 }).status,
            status::NEVER_ALLOCATED
        );
        assert_eq!(
            m.apply(AllocOp::Free { slot: 4 }).status,
            status::OUT_OF_RANGE
        );
        assert_eq!(
            m.apply(AllocOp::Alloc { count: 0 }).status,
            status::BAD_COUNT
        );
        assert_eq!(
            m.apply(AllocOp::Alloc { count: 17 }).status,
            status::BAD_COUNT
        );
        assert_eq!(
            m.apply(AllocOp::Alloc { count: 4 }).status,
            status::NO_SPACE
        );
        assert_eq!((m.free_count(), m.allocated()), before);
        assert_eq!(m.apply(AllocOp::Free { slot: 0 }).status, status::OK);
        assert_eq!(
            m.apply(AllocOp::Free { slot: 0 }).status,
            status::DOUBLE_FREE
        );
        assert_eq!(m.counters.errors, 0b1_1111);
    }

    #[test]
    fn reinit_needs_force_while_slots_are_allocated() {
        let mut m = SlotAllocatorModel::new(16);
        m.init(4, false).unwrap();
        m.apply(AllocOp::Alloc { count: 2 });
        assert_eq!(m.init(4, false), Err(InitRefused::SlotsAllocated));
        assert_eq!(m.init(0, true), Err(InitRefused::BadCount));
        assert_eq!(m.init(17, true), Err(InitRefused::BadCount));
        m.init(6, true).unwrap();
        assert_eq!(m.free_count(), 6);
    }
}
