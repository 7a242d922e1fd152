//! Bring-up, degrade (failover) and failback (DESIGN.md ideas 2, 9, 10).
//!
//! * Bring-up: each side publishes its cache size and epoch; each programs its
//!   slot allocator with the slot count of the area the partner reserves.
//! * Degrade: on a partner-dead verdict the survivor first fences (raises
//!   the disks' epoch: nothing from the older epoch is accepted), then scans
//!   the mirror area it hosts and links every valid mirror page into its own
//!   cache as dirty, takes over the partner's LUNs, keeps the area reserved,
//!   and marks every track of the partner's LUNs written while it is away.
//! * Failback: once the partner is back (fresh, epoch 0), the survivor drains
//!   adopted pages and the partner's LUNs to disk, stages exactly the marked
//!   tracks in its hosted area, the partner copies them back (COPY_BACK),
//!   mirrors are rebuilt, and ownership is handed back.
//!
//! A controller that learns it was fenced (the disks refuse its epoch, or the
//! partner announces a higher survivor epoch) fails everything pending and
//! stops: with a cut link, only the side holding the verdict acknowledges.

use alloc::vec::Vec;
use duplex_regs::{
    flags, meta_kind, opcode, status, Descriptor, LayoutError, MetaRecord, MAX_DESC_SLOTS,
};

use crate::cache::{Cache, LineKey, PageRef};
use crate::config::Config;
use crate::controller::{Controller, DiskOp, DmaOp, Failback, Phase};
use crate::error::Error;
use crate::event::{Action, Command, Input, Message};

/// Largest cache size a partner may announce (1 PiB).
const MAX_CACHE_BYTES: u64 = 1 << 50;

/// Header kind of a slot staged for failback copy-back.
pub const KIND_STAGED: u8 = duplex_regs::meta_kind::FIRMWARE_BASE + 3;

impl Controller {
    pub(crate) fn message(&mut self, m: Message) {
        match m {
            Message::Hello {
                cache_bytes,
                epoch,
                survivor,
            } => self.hello(cache_bytes, epoch, survivor),
            Message::CopyBack { entries } => {
                // Only a returning controller takes tracks back, and only
                // tracks that exist.
                if !self.awaiting_handback {
                    self.stats.messages_ignored += 1;
                    return;
                }
                let (luns, pages, slots) = (self.cfg.luns, self.cfg.lun_pages, self.partner_slots);
                let round: Vec<(u16, LineKey)> = entries
                    .into_iter()
                    .filter(|(s, k)| k.lun < luns && k.page < pages && (*s as u32) < slots)
                    .collect();
                if round == self.copyback_round {
                    // The survivor asks again (our answer was lost with the
                    // link): answer again, copy nothing twice.
                    if self.copyback_round_done {
                        self.emit_message(Message::CopyBackDone);
                    }
                    return;
                }
                self.copyback_round = round.clone();
                self.copyback_round_done = false;
                self.copyback_todo.extend(round);
                self.pump_copyback();
            }
            Message::CopyBackDone => {
                if let Some(fb) = self.failback.as_mut() {
                    fb.sent = false;
                    fb.handed += fb.staged.len() as u64;
                    fb.staged.clear();
                    self.emit(Action::ClearMirrorArea);
                }
            }
            Message::HandBack { luns } => {
                for l in luns {
                    if (l as usize) < self.owner.len() {
                        self.owner[l as usize] = Some(self.cfg.cache_id);
                    }
                }
                self.awaiting_handback = false;
            }
            other => self.ownership_message(other),
        }
    }

    fn program(&mut self, partner_cache_bytes: u64) {
        let slots = Config::area_for(
            partner_cache_bytes,
            self.cfg.mirror_fraction_pct,
            self.cfg.page_bytes(),
        )
        .slots;
        self.partner_slots = slots;
        self.emit(Action::ProgramAllocator { slots });
    }

    fn publish(&mut self) {
        let a = Action::Publish {
            cache_bytes: self.cfg.cache_bytes,
            epoch: self.epoch,
            survivor: self.phase == Phase::Degraded || self.failback.is_some(),
        };
        self.emit(a);
    }

    fn hello(&mut self, cache_bytes: u64, epoch: u32, survivor: bool) {
        // A cache size no controller can have is a corrupt announcement:
        // ignored and counted, never used in the slot arithmetic.
        if cache_bytes == 0 || cache_bytes > MAX_CACHE_BYTES {
            self.stats.records_rejected += 1;
            return;
        }
        match self.phase {
            Phase::Booting => {
                if survivor {
                    // We come back to a survivor: it owns everything until it
                    // hands our LUNs back (idea 10).
                    self.epoch = epoch;
                    self.program(cache_bytes);
                    let p = self.partner_id();
                    self.owner.iter_mut().for_each(|o| *o = Some(p));
                    self.awaiting_handback = true;
                    self.phase = Phase::Paired;
                    self.confirmed = true;
                } else if epoch == 0 && self.epoch == 0 {
                    // Both fresh: first epoch, home ownership. The partner
                    // repeats its fresh announcement; only a link loss makes
                    // a later one mean a restart.
                    self.fresh_seen = true;
                    self.epoch = 1;
                    self.program(cache_bytes);
                    for (l, o) in self.owner.iter_mut().enumerate() {
                        *o = Some(Config::home_of(l as u32));
                    }
                    self.phase = Phase::Paired;
                    self.confirmed = true;
                }
                // A partner with state but no survivor role has not yet seen
                // that we restarted: wait for it to fail over and announce.
            }
            Phase::Paired => {
                if epoch == 0 && !survivor && self.awaiting_handback && self.link_up {
                    // The survivor died while handing back and restarted
                    // empty: a double failure. Take over with what we have
                    // (disk and the mirrors it rebuilt in our area), then
                    // fail back to it.
                    self.stats.double_failure_takeovers += 1;
                    self.awaiting_handback = false;
                    self.partner_dead();
                    self.partner_fresh = true;
                    self.fresh_seen = true;
                } else if epoch == 0
                    && !survivor
                    && !self.fresh_seen
                    && !self.awaiting_handback
                    && self.link_up
                {
                    // The partner restarted before any verdict reached us:
                    // its mirror of our data is gone and ours of its data is
                    // all that is left. Fail over, then fail back.
                    self.partner_dead();
                    self.partner_fresh = true;
                    self.fresh_seen = true;
                } else if epoch > self.epoch && survivor {
                    self.self_fence();
                } else if epoch == self.epoch {
                    self.confirmed = true;
                }
            }
            Phase::Degraded => {
                // An announcement that arrives with the link down was sent
                // before it dropped: the partner announces again on link up.
                if epoch == 0 && !survivor && !self.fresh_seen && self.link_up {
                    if self.adopting {
                        self.partner_fresh = true;
                    } else {
                        self.begin_failback(cache_bytes);
                    }
                    self.partner_cache = cache_bytes;
                } else if survivor && epoch > self.epoch {
                    self.self_fence();
                } else {
                    // A fenced partner that has not noticed yet: tell it.
                    self.publish();
                }
            }
            Phase::Fenced => {}
        }
        self.partner_cache = cache_bytes;
    }

    pub(crate) fn link_up(&mut self) {
        self.link_up = true;
        self.publish();
        // A copy-back round whose answer may have been lost is asked again.
        if let Some(fb) = self.failback.as_ref().filter(|f| f.sent) {
            let entries = fb.staged.clone();
            self.emit_message(Message::CopyBack { entries });
        }
        self.resend_ownership_requests();
    }

    pub(crate) fn link_down(&mut self) {
        self.link_up = false;
        self.confirmed = false;
        self.link_barrier = true;
        self.hardening_resync = true;
        // A fresh partner seen after this is a new restart.
        self.fresh_seen = false;
    }

    /// Degrade (idea 9): fence first, then adopt.
    pub(crate) fn partner_dead(&mut self) {
        if matches!(self.phase, Phase::Degraded | Phase::Fenced) {
            return;
        }
        if self.awaiting_handback {
            // Coming back, not yet handed our LUNs: the survivor may still
            // hold the only copy of some dirty lines, so taking over now
            // could serve stale data. Stay passive; the survivor goes on
            // when the link returns.
            self.stats.verdicts_declined += 1;
            return;
        }
        // The next fresh announcement is a new restart of the partner.
        self.fresh_seen = false;
        self.partner_fresh = false;
        self.adopt_epoch = self.epoch;
        self.epoch = self.epoch.max(1) + 1;
        self.epoch_first_io = self.next_io;
        self.emit(Action::FenceDisks { epoch: self.epoch });
        self.emit(Action::Inbound { open: false });
        self.emit(Action::AbortDma);
        self.fail_forwarded();
        self.phase = Phase::Degraded;
        self.partner_slots = 0;
        self.adopting = true;
        self.emit(Action::ScanMirrorArea);
        // Tell a partner that is still alive (cut link, healed) at once.
        self.publish();
        self.partner_table.clear();
        // The bitmaps as they stood at the verdict tell the adoption which
        // records are already hardened (idea 7); then they start afresh.
        self.adopt_filter = self.bitmaps().then(|| self.partner_bits.clone());
        self.partner_bits.reset();
        self.tracker.reset();
        self.scan_range = None;
        self.release_queue.clear();
        self.ordered_retry.clear();
        self.marked.clear_all();
        self.failback = None;
        self.copyback_todo.clear();
        self.copyback_round.clear();
        self.copyback_round_done = false;
        self.giving.clear();
        self.requested.clear();
        self.wb_queue.forget_slots();
        let keys = self.cache.keys();
        for k in keys {
            let l = self.cache.get_mut(&k).expect("line present");
            l.slot = None;
            l.gen = None;
            if l.dirty {
                l.needs_mirror = true;
            }
        }
        if self.awaiting_handback {
            // We had come back but the survivor died before handing back.
            self.awaiting_handback = false;
        }
    }

    /// Links every valid mirror page of the hosted area into our cache as
    /// dirty data (idea 9). Only records of the partner's last epoch count.
    pub(crate) fn adopt(&mut self, headers: &[[u8; 64]]) {
        if !self.adopting {
            return;
        }
        let partner = self.partner_id();
        let mut best: alloc::collections::BTreeMap<LineKey, (u32, u16, u64)> = Default::default();
        for (slot, raw) in headers.iter().enumerate() {
            let r = match MetaRecord::decode_valid(raw) {
                Ok(r) => r,
                Err(LayoutError::BadMagic(0)) => continue,
                Err(_) => {
                    self.stats.records_rejected += 1;
                    continue;
                }
            };
            if r.kind != meta_kind::MIRROR || r.cache_id != partner || r.slot as usize != slot {
                continue;
            }
            if r.epoch != self.adopt_epoch {
                self.stats.stale_epoch_rejected += 1;
                continue;
            }
            let k = LineKey {
                lun: r.lun,
                page: r.lba / self.cfg.page_sectors as u64,
            };
            if r.lun >= self.cfg.luns || k.page >= self.cfg.lun_pages {
                self.stats.records_rejected += 1;
                continue;
            }
            // Only the partner's own LUNs: a record left for a LUN it had
            // handed back to us is an old version of a line we own.
            if self.owner.get(r.lun as usize).copied().flatten() != Some(partner) {
                continue;
            }
            // A track outside `cur ∪ old` is hardened (the union is a
            // superset of the partner's un-hardened tracks): its data is on
            // disk, nothing to adopt.
            let track = self.track_of(k);
            if self
                .adopt_filter
                .as_ref()
                .is_some_and(|b| !b.may_be_unhardened(track))
            {
                self.stats.adoptions_skipped_hardened += 1;
                continue;
            }
            if best.get(&k).is_none_or(|(s, _, _)| r.seq > *s) {
                best.insert(k, (r.seq, r.slot, r.dirty));
            }
        }
        for (k, (_, slot, dirty)) in best {
            // The partner's acknowledged version beats a clean copy we hold
            // (from a copy-back); a line we hold dirty is our own newer write.
            match self.cache.get(&k) {
                Some(l) if l.dirty || !l.idle() => continue,
                Some(_) => {
                    self.cache.remove(&k);
                }
                None => {}
            }
            let seq = self.next_seq();
            let page = PageRef::Slot(slot);
            self.cache.pin(page);
            let l = self.cache.entry(k);
            l.page = Some(page);
            l.dirty = true;
            l.dirty_sectors = dirty;
            self.wb_queue.dirtied(k, None);
            l.seq = seq;
            l.needs_mirror = true;
            self.stats.slots_adopted += 1;
        }
        self.clock += 1;
        self.adopting = false;
        self.adopt_filter = None;
        let me = self.cfg.cache_id;
        self.owner.iter_mut().for_each(|o| *o = Some(me));
        if self.partner_fresh && self.link_up {
            let cb = self.partner_cache;
            self.begin_failback(cb);
        }
    }

    fn begin_failback(&mut self, partner_cache_bytes: u64) {
        // The partner repeats its fresh announcement (at start and at link
        // up); only the first one of a restart starts a failback.
        self.fresh_seen = true;
        self.partner_fresh = false;
        self.phase = Phase::Paired;
        self.confirmed = true;
        self.program(partner_cache_bytes);
        self.emit(Action::Inbound { open: true });
        self.failback = Some(Failback::default());
        self.stats.failbacks += 1;
        self.publish();
    }

    /// Survivor side of failback (idea 10).
    pub(crate) fn pump_failback(&mut self) {
        let Some(fb) = self.failback.as_ref() else {
            return;
        };
        if !self.link_up {
            return;
        }
        let me = self.cfg.cache_id;
        let theirs = |lun: u32| Config::home_of(lun) != me;
        if !fb.drained {
            // Adopted pages already hardened but kept while a write held
            // their line go back to the area now.
            let stale: Vec<LineKey> = self
                .cache
                .lines()
                .filter(|(_, l)| matches!(l.page, Some(PageRef::Slot(_))) && !l.dirty && l.idle())
                .map(|(k, _)| *k)
                .collect();
            for k in stale {
                self.cache.remove(&k);
            }
            let lines_ok = self.cache.lines().all(|(k, l)| {
                !matches!(l.page, Some(PageRef::Slot(_)))
                    && !(theirs(k.lun) && (l.dirty || !l.idle()))
            });
            let writes_ok = !self.writes.values().any(|w| theirs(w.lun))
                && !self.mirror_queue.iter().any(|p| theirs(p.key.lun));
            if !(lines_ok && writes_ok && self.cache.slots_in_use() == 0) {
                return;
            }
            let todo: Vec<LineKey> = self
                .marked
                .iter()
                .map(|t| LineKey {
                    lun: (t / self.cfg.lun_pages) as u32,
                    page: t % self.cfg.lun_pages,
                })
                .filter(|k| theirs(k.lun))
                .collect();
            self.emit(Action::ClearMirrorArea);
            self.last_marked = todo.clone();
            let fb = self.failback.as_mut().expect("failback");
            fb.todo = todo;
            fb.drained = true;
        }
        let fb = self.failback.as_ref().expect("failback");
        if fb.sent || fb.staging > 0 {
            return;
        }
        if !fb.staged.is_empty() {
            let entries = fb.staged.clone();
            self.failback.as_mut().expect("failback").sent = true;
            self.emit_message(Message::CopyBack { entries });
            return;
        }
        if fb.todo.is_empty() {
            // Hand back only once every dirty line has its mirror in the
            // rebuilt area: from then on the partner holds a copy of all
            // our unique data and may take over if we die (idea 10).
            if self
                .cache
                .lines()
                .all(|(_, l)| !l.dirty || l.slot.is_some())
            {
                self.finish_failback();
            }
            return;
        }
        // Stage the next round: as many marked tracks as the area has slots.
        let n = fb.todo.len().min(self.cfg.hosted_area().slots as usize);
        let round: Vec<LineKey> = {
            let fb = self.failback.as_mut().expect("failback");
            let at = fb.todo.len() - n;
            fb.todo.split_off(at)
        };
        for (i, key) in round.into_iter().enumerate() {
            let slot = i as u16;
            let cached = self.cache.get(&key).and_then(|l| l.page);
            match cached {
                Some(page) => {
                    let record = self.staged_record(key, slot);
                    self.emit(Action::StageSlot { slot, page, record });
                    self.failback
                        .as_mut()
                        .expect("failback")
                        .staged
                        .push((slot, key));
                }
                None => {
                    let io = self.io();
                    self.disk.insert(io, DiskOp::Stage { key, slot });
                    let lba = self.lba_of(key);
                    self.emit(Action::DiskRead {
                        io,
                        lun: key.lun,
                        lba,
                        page: PageRef::Slot(slot),
                    });
                    self.failback.as_mut().expect("failback").staging += 1;
                }
            }
        }
    }

    fn staged_record(&self, key: LineKey, slot: u16) -> MetaRecord {
        MetaRecord {
            kind: KIND_STAGED,
            cache_id: self.cfg.cache_id,
            slot,
            lba: self.lba_of(key),
            lun: key.lun,
            epoch: self.epoch,
            dirty: self.full_mask(),
            ..Default::default()
        }
        .sealed()
    }

    pub(crate) fn staged(&mut self, key: LineKey, slot: u16, ok: bool) {
        let record = self.staged_record(key, slot);
        let Some(fb) = self.failback.as_mut() else {
            return;
        };
        fb.staging = fb.staging.saturating_sub(1);
        if ok {
            fb.staged.push((slot, key));
            let page = PageRef::Slot(slot);
            self.emit(Action::StageSlot { slot, page, record });
        } else {
            fb.todo.push(key);
        }
    }

    fn finish_failback(&mut self) {
        let Some(fb) = self.failback.take() else {
            return;
        };
        self.emit(Action::ClearMirrorArea);
        let me = self.cfg.cache_id;
        let p = self.partner_id();
        let luns: Vec<u32> = (0..self.cfg.luns)
            .filter(|l| Config::home_of(*l) != me)
            .collect();
        for &l in &luns {
            self.owner[l as usize] = Some(p);
        }
        let keys: Vec<LineKey> = self
            .cache
            .keys()
            .into_iter()
            .filter(|k| luns.contains(&k.lun))
            .collect();
        for k in keys {
            self.cache.remove(&k);
        }
        self.clock += 1;
        self.stats.tracks_handed_back = fb.handed;
        self.stats.failbacks_completed += 1;
        self.marked.clear_all();
        self.emit_message(Message::HandBack { luns });
    }

    /// Returning side: read the staged slots from the survivor's memory.
    pub(crate) fn pump_copyback(&mut self) {
        // After a link loss the survivor must confirm its epoch first: the
        // controller now at the other end may have restarted empty.
        if self.copyback_pending > 0 || !self.link_up || !self.confirmed || !self.awaiting_handback
        {
            return;
        }
        if self.copyback_todo.is_empty() {
            return;
        }
        let n = self.copyback_todo.len().min(MAX_DESC_SLOTS);
        let mut entries = Vec::new();
        let mut pages = Vec::new();
        let mut desc = Descriptor {
            opcode: opcode::COPY_BACK,
            flags: flags::PAGE_LIST | flags::SLOTS_GIVEN,
            cache_id: self.cfg.cache_id,
            epoch: self.epoch,
            ..Default::default()
        };
        for (slot, key) in self
            .copyback_todo
            .iter()
            .take(n)
            .copied()
            .collect::<Vec<_>>()
        {
            let Some(page) = self.cache.alloc_page() else {
                break;
            };
            desc.slots[entries.len()] = slot;
            entries.push((slot, key, page));
            pages.push(page);
        }
        if entries.is_empty() {
            return;
        }
        self.copyback_todo.drain(..entries.len());
        let tag = self.tag();
        desc.tag = tag;
        desc.count = entries.len() as u16;
        self.copyback_pending += 1;
        self.dma.insert(tag, DmaOp::CopyBack(entries));
        self.emit(Action::Submit(Command {
            desc,
            pages,
            records: Vec::new(),
        }));
    }

    pub(crate) fn copyback_done(&mut self, st: u8, entries: Vec<(u16, LineKey, PageRef)>) {
        self.copyback_pending = self.copyback_pending.saturating_sub(1);
        for (slot, key, page) in entries.into_iter().rev() {
            if st != status::OK {
                // Not copied (link lost): copied again when the link is up,
                // unless the round was abandoned (the survivor died).
                self.cache.unpin(page);
                if self.awaiting_handback {
                    self.copyback_todo.insert(0, (slot, key));
                }
            } else if self.cache.get(&key).is_none() {
                let l = self.cache.entry(key);
                l.page = Some(page);
            } else {
                self.cache.unpin(page);
            }
        }
        self.clock += 1;
        self.pump_copyback();
        if self.awaiting_handback
            && self.copyback_todo.is_empty()
            && self.copyback_pending == 0
            && !self.copyback_round_done
        {
            self.copyback_round_done = true;
            self.emit_message(Message::CopyBackDone);
        }
    }

    /// The partner fenced us: fail everything pending and stop. The runtime
    /// restarts the controller, which then comes back as a fresh partner.
    pub(crate) fn self_fence(&mut self) {
        let e = Error::Fenced { epoch: self.epoch };
        let writes: Vec<u64> = self.writes.keys().copied().collect();
        for req in writes {
            if !self.writes[&req].acked {
                self.emit(Action::CompleteWrite {
                    req,
                    result: Err(e.clone()),
                });
            }
        }
        let reads: Vec<u64> = self.reads.keys().copied().collect();
        for req in reads {
            self.emit(Action::CompleteRead {
                req,
                result: Err(e.clone()),
            });
        }
        for f in core::mem::take(&mut self.flushes) {
            self.emit(Action::CompleteFlush {
                req: f.req,
                result: Err(e.clone()),
            });
        }
        for p in core::mem::take(&mut self.parked) {
            let a = match p {
                Input::HostWrite { req, .. } => Action::CompleteWrite {
                    req,
                    result: Err(e.clone()),
                },
                Input::HostRead { req, .. } => Action::CompleteRead {
                    req,
                    result: Err(e.clone()),
                },
                Input::HostFlush { req } => Action::CompleteFlush {
                    req,
                    result: Err(e.clone()),
                },
                Input::HostTrim { req, .. } => Action::CompleteTrim {
                    req,
                    result: Err(e.clone()),
                },
                _ => continue,
            };
            self.emit(a);
        }
        self.fail_forwarded();
        self.writes.clear();
        self.reads.clear();
        self.cache = Cache::new(0);
        self.wb_queue.clear();
        self.phase = Phase::Fenced;
    }
}
