//! Plain-Rust model of one card: the mirror-slot allocator (idea 1), the
//! descriptor ring executed in order, and the NTB windows. It refuses what
//! the hardware refuses, with the contract's status codes: slots not below
//! the slot count, double frees, addresses outside the windows, bad lengths,
//! use before the allocator is initialised.
//!
//! The card executes one page (or one whole non-MIRROR descriptor) per
//! [`step`](CardModel::step), so a crash or a link cut can fall between two
//! pages of one descriptor.

use std::collections::VecDeque;

use duplex_regs::{
    flags, meta_kind, opcode, status, Completion, MetaRecord, MirrorAreaLayout, MAX_DESC_SLOTS,
};

use crate::event::Command;
use crate::Config;

/// Link traffic and errors, counted per card.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardStats {
    /// Commands and doorbells carried over the NTB.
    pub link_messages: u64,
    pub link_bytes: u64,
    /// Bytes read from the partner by COPY_BACK (idea 10).
    pub copyback_bytes: u64,
    /// Completions with a status other than OK, by status code.
    pub errors: [u64; 16],
}

/// The allocator's view: free list of the partner's slots.
#[derive(Clone, Debug, Default)]
pub struct SlotAllocator {
    initialised: bool,
    free: VecDeque<u16>,
    taken: Vec<bool>,
}

impl SlotAllocator {
    pub fn init(&mut self, n: u32) {
        self.initialised = true;
        self.free = (0..n as u16).collect();
        self.taken = vec![false; n as usize];
    }
    pub fn slots(&self) -> u32 {
        self.taken.len() as u32
    }
    /// Slots currently allocated.
    pub fn taken(&self) -> Vec<u16> {
        (0..self.taken.len() as u16)
            .filter(|s| self.taken[*s as usize])
            .collect()
    }
    pub fn free_count(&self) -> usize {
        self.free.len()
    }
    /// Takes `k` slots at once, or none (idea 1: multi-slot allocation).
    pub fn alloc(&mut self, k: usize) -> Result<Vec<u16>, u8> {
        if !self.initialised {
            return Err(status::NOT_INITIALISED);
        }
        if self.free.len() < k {
            return Err(status::NO_SLOTS);
        }
        let v: Vec<u16> = self.free.drain(..k).collect();
        for &s in &v {
            self.taken[s as usize] = true;
        }
        Ok(v)
    }
    pub fn check_free(&self, s: u16) -> Result<(), u8> {
        if !self.initialised {
            return Err(status::NOT_INITIALISED);
        }
        match self.taken.get(s as usize) {
            None => Err(status::BAD_SLOT),
            Some(false) => Err(status::DOUBLE_FREE),
            Some(true) => Ok(()),
        }
    }
    pub fn free(&mut self, s: u16) -> Result<(), u8> {
        self.check_free(s)?;
        self.taken[s as usize] = false;
        self.free.push_back(s);
        Ok(())
    }
}

/// Geometry the card is configured with at bring-up.
#[derive(Clone, Debug)]
pub struct CardGeometry {
    pub page_bytes: u64,
    pub page_sectors: u32,
    pub mem_bytes: u64,
    /// The partner's hosted area (our outbound window).
    pub out_base: u64,
    pub out_layout: MirrorAreaLayout,
}

#[derive(Clone, Debug)]
struct Running {
    cmd: Command,
    slots: Vec<u16>,
    done: usize,
}

/// What one step did, for the world to apply.
#[derive(Debug, Default)]
pub struct StepOut {
    pub completion: Option<Completion>,
    /// Link down: everything else queued failed at once.
    pub failed: Vec<Completion>,
    /// Records to append to the partner's metadata ring.
    pub records: Vec<[u8; 64]>,
    pub more: bool,
}

#[derive(Debug)]
pub struct CardModel {
    pub geo: CardGeometry,
    pub alloc: SlotAllocator,
    queue: VecDeque<Command>,
    running: Option<Running>,
    pub stats: CardStats,
}

impl CardModel {
    pub fn new(own: &Config, partner: &Config) -> Self {
        CardModel {
            geo: CardGeometry {
                page_bytes: own.page_bytes(),
                page_sectors: own.page_sectors,
                mem_bytes: own.cache_bytes,
                out_base: partner.area_base(),
                out_layout: partner.hosted_area(),
            },
            alloc: SlotAllocator::default(),
            queue: VecDeque::new(),
            running: None,
            stats: CardStats::default(),
        }
    }
    pub fn submit(&mut self, c: Command) {
        self.queue.push_back(c);
    }
    pub fn doorbell(&mut self) {
        self.stats.link_messages += 1;
        self.stats.link_bytes += 4;
    }
    pub fn busy(&self) -> bool {
        self.running.is_some() || !self.queue.is_empty()
    }

    fn complete(&mut self, cmd: &Command, st: u8, slots: &[u16]) -> Completion {
        if st != status::OK {
            self.stats.errors[st as usize & 15] += 1;
        }
        let mut c = Completion {
            tag: cmd.desc.tag,
            status: st,
            opcode: cmd.desc.opcode,
            count: slots.len() as u16,
            ..Default::default()
        };
        c.slots[..slots.len()].copy_from_slice(slots);
        c
    }

    fn local_ok(&self, iova: u64) -> bool {
        iova % self.geo.page_bytes == 0 && iova + self.geo.page_bytes <= self.geo.mem_bytes
    }

    /// Executes the next page or descriptor. `local` is our memory, `remote`
    /// the partner's when the link is up and the partner alive; `iova` maps
    /// the command's pages.
    pub fn step(
        &mut self,
        local: &mut [u8],
        remote: Option<&mut [u8]>,
        iova: &dyn Fn(crate::PageRef) -> u64,
    ) -> StepOut {
        let mut out = StepOut::default();
        let mut run = match self.running.take() {
            Some(r) => r,
            None => {
                let Some(cmd) = self.queue.pop_front() else {
                    return out;
                };
                // A command crosses the link once: one message.
                self.stats.link_messages += 1;
                Running {
                    cmd,
                    slots: Vec::new(),
                    done: 0,
                }
            }
        };
        let d = run.cmd.desc;
        let n = d.count as usize;
        let pb = self.geo.page_bytes as usize;
        let lay = self.geo.out_layout;
        let base = self.geo.out_base as usize;
        let Some(remote) = remote else {
            let slots = run.slots.clone();
            out.completion = Some(self.complete(&run.cmd, status::LINK_DOWN, &slots));
            out.failed = self.fail_all();
            return out;
        };
        if n == 0 || n > MAX_DESC_SLOTS && d.opcode != opcode::META || n > 64 {
            out.completion = Some(self.complete(&run.cmd, status::BAD_LENGTH, &[]));
            out.more = !self.queue.is_empty();
            return out;
        }
        match d.opcode {
            opcode::MIRROR => {
                if run.done == 0 && run.slots.is_empty() {
                    if run.cmd.pages.len() != n
                        || run.cmd.pages.iter().any(|p| !self.local_ok(iova(*p)))
                    {
                        out.completion = Some(self.complete(&run.cmd, status::BAD_ADDRESS, &[]));
                        out.more = !self.queue.is_empty();
                        return out;
                    }
                    let got = if d.flags & flags::SLOTS_GIVEN != 0 {
                        let given = d.slots[..n].to_vec();
                        if given.iter().any(|s| *s as u32 >= self.alloc.slots()) {
                            Err(status::BAD_SLOT)
                        } else {
                            Ok(given)
                        }
                    } else {
                        self.alloc.alloc(n)
                    };
                    match got {
                        Ok(s) => run.slots = s,
                        Err(st) => {
                            out.completion = Some(self.complete(&run.cmd, st, &[]));
                            out.more = !self.queue.is_empty();
                            return out;
                        }
                    }
                }
                let i = run.done;
                let slot = run.slots[i];
                let src = iova(run.cmd.pages[i]) as usize;
                let dst = base + lay.data_offset(slot as u32) as usize;
                remote[dst..dst + pb].copy_from_slice(&local[src..src + pb]);
                let rec = MetaRecord {
                    kind: meta_kind::MIRROR,
                    cache_id: d.cache_id,
                    seq: d.seq.wrapping_add(i as u32),
                    slot,
                    lba: d.lba + (i as u64) * self.geo.page_sectors as u64,
                    lun: d.lun,
                    epoch: d.epoch,
                    dirty: if i + 1 == n {
                        d.dirty_last
                    } else if i == 0 {
                        d.dirty_first
                    } else {
                        u64::MAX
                    },
                    ..Default::default()
                }
                .sealed();
                let h = base + lay.header_offset(slot as u32) as usize;
                let bytes = rec.encode();
                remote[h..h + 64].copy_from_slice(&bytes);
                out.records.push(bytes);
                self.stats.link_bytes += pb as u64 + 64;
                run.done += 1;
                if run.done < n {
                    self.running = Some(run);
                    out.more = true;
                    return out;
                }
                let slots = run.slots.clone();
                out.completion = Some(self.complete(&run.cmd, status::OK, &slots));
            }
            opcode::RELEASE => {
                let slots = d.slots[..n].to_vec();
                let mut check = self.alloc.clone();
                let bad = slots.iter().find_map(|s| check.free(*s).err());
                if let Some(st) = bad {
                    out.completion = Some(self.complete(&run.cmd, st, &[]));
                } else {
                    for &s in &slots {
                        let h = base + lay.header_offset(s as u32) as usize;
                        remote[h..h + 64].fill(0);
                        self.stats.link_bytes += 64;
                        // Checked on the copy above: cannot fail.
                        let _ = self.alloc.free(s);
                    }
                    out.completion = Some(self.complete(&run.cmd, status::OK, &slots));
                }
            }
            opcode::META => {
                if run.cmd.records.len() != n {
                    out.completion = Some(self.complete(&run.cmd, status::BAD_LENGTH, &[]));
                } else {
                    for r in &run.cmd.records {
                        out.records.push(r.encode());
                        self.stats.link_bytes += 64;
                    }
                    out.completion = Some(self.complete(&run.cmd, status::OK, &[]));
                }
            }
            opcode::COPY_BACK => {
                let slots = d.slots[..n].to_vec();
                if slots.iter().any(|s| *s as u32 >= lay.slots) {
                    out.completion = Some(self.complete(&run.cmd, status::BAD_SLOT, &[]));
                } else if run.cmd.pages.len() != n
                    || run.cmd.pages.iter().any(|p| !self.local_ok(iova(*p)))
                {
                    out.completion = Some(self.complete(&run.cmd, status::BAD_ADDRESS, &[]));
                } else {
                    for (i, &s) in slots.iter().enumerate() {
                        let src = base + lay.data_offset(s as u32) as usize;
                        let dst = iova(run.cmd.pages[i]) as usize;
                        local[dst..dst + pb].copy_from_slice(&remote[src..src + pb]);
                        self.stats.link_bytes += pb as u64;
                        self.stats.copyback_bytes += pb as u64;
                    }
                    out.completion = Some(self.complete(&run.cmd, status::OK, &slots));
                }
            }
            _ => out.completion = Some(self.complete(&run.cmd, status::BAD_OPCODE, &[])),
        }
        out.more = !self.queue.is_empty();
        out
    }

    /// Link loss: everything queued completes with LINK_DOWN, keeping the
    /// slots a partly done MIRROR took.
    pub fn fail_all(&mut self) -> Vec<Completion> {
        let mut v = Vec::new();
        if let Some(r) = self.running.take() {
            let slots = r.slots.clone();
            v.push(self.complete(&r.cmd, status::LINK_DOWN, &slots));
        }
        while let Some(c) = self.queue.pop_front() {
            v.push(self.complete(&c, status::LINK_DOWN, &[]));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocator_refuses_out_of_range_and_double_free() {
        let mut a = SlotAllocator::default();
        assert_eq!(a.alloc(1), Err(status::NOT_INITIALISED));
        a.init(2);
        let s = a.alloc(2).unwrap();
        assert_eq!(a.alloc(1), Err(status::NO_SLOTS));
        assert_eq!(a.free(2), Err(status::BAD_SLOT));
        assert_eq!(a.free(s[0]), Ok(()));
        assert_eq!(a.free(s[0]), Err(status::DOUBLE_FREE));
    }
}
