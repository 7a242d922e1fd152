//! The NTB link between the two cards: one FIFO per direction, delivering
//! each transaction `1 + latency` cycles after the sender handed it over.

use std::collections::VecDeque;

/// One link transaction (one data beat).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkBeat {
    pub kind: u8,
    pub addr: u64,
    pub data: Vec<u8>,
    pub last: bool,
}

#[derive(Default)]
pub struct Link {
    queue: VecDeque<(u64, LinkBeat)>,
    /// Beats carried since the simulation started.
    pub carried: u64,
}

impl Link {
    /// Accepts a beat in cycle `now`, deliverable from `now + 1 + latency`.
    pub fn send(&mut self, now: u64, latency: u64, beat: LinkBeat) {
        self.queue.push_back((now + 1 + latency, beat));
        self.carried += 1;
    }
    /// The beat to present to the receiver in cycle `now`, if one is due.
    pub fn head(&self, now: u64) -> Option<&LinkBeat> {
        self.queue
            .front()
            .filter(|(due, _)| *due <= now)
            .map(|(_, b)| b)
    }
    pub fn pop(&mut self) {
        self.queue.pop_front();
    }
    /// Drops everything in flight (the link was cut).
    pub fn cut(&mut self) {
        self.queue.clear();
    }
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }
}
