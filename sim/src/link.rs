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

/// Link kinds are 4 bits wide on the card's ports.
pub const LINK_KINDS: usize = 16;

/// What one direction of the link carried, by transaction kind
/// (`duplex_regs::dma::link`): every beat, and bursts (beats with `last`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub beats: [u64; LINK_KINDS],
    pub bursts: [u64; LINK_KINDS],
}

impl LinkStats {
    /// Beats of `kind` carried.
    pub fn beats_of(&self, kind: u8) -> u64 {
        self.beats.get(kind as usize).copied().unwrap_or(0)
    }
    /// Bursts (beats with `last`) of `kind` carried.
    pub fn bursts_of(&self, kind: u8) -> u64 {
        self.bursts.get(kind as usize).copied().unwrap_or(0)
    }
    pub fn total_beats(&self) -> u64 {
        self.beats.iter().sum()
    }
}

#[derive(Default)]
pub struct Link {
    queue: VecDeque<(u64, LinkBeat)>,
    /// Beats carried since the simulation started.
    pub carried: u64,
    /// Beats and bursts by kind (clearable).
    pub stats: LinkStats,
}

impl Link {
    /// Accepts a beat in cycle `now`, deliverable from `now + 1 + latency`.
    pub fn send(&mut self, now: u64, latency: u64, beat: LinkBeat) {
        let k = beat.kind as usize % LINK_KINDS;
        self.stats.beats[k] += 1;
        if beat.last {
            self.stats.bursts[k] += 1;
        }
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
