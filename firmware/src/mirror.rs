//! The write path and the mirror protocol (DESIGN.md ideas 3, 4, 5).
//!
//! A page of a host write lands in a fresh local page, then goes to the
//! partner in a MIRROR descriptor (the card takes the slot: no message, idea
//! 1); the host is acknowledged when every page's mirror has completed. The
//! next page of the same write lands while the previous one is copying.
//! Per-line mode sends one descriptor per page and per notice; batched mode
//! gathers landed pages and notices in one list while the other is in flight
//! and swaps lists on completion (idea 5).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use duplex_regs::{
    flags, meta_kind, opcode, status, Completion, Descriptor, MetaRecord, MAX_DESC_SLOTS,
};

use crate::cache::{LineKey, PageRef};
use crate::config::{HardeningMode, MetadataMode, Mutation};
use crate::controller::{After, Controller, DiskOp, DiskStage, DmaOp, PendingPage, Phase};
use crate::error::Error;
use crate::event::{Action, Command, ReqId};

impl Controller {
    /// Mirroring is possible: paired, link up, allocator programmed.
    pub(crate) fn can_mirror(&self) -> bool {
        self.phase == Phase::Paired && self.link_up && self.partner_slots > 0 && !self.link_barrier
    }

    /// Starts landing the next page of each write whose previous page has
    /// landed (pipelining, idea 3). A page the write covers only in part is
    /// built on the line's committed content, or on the disk's when the
    /// line is not cached (read-modify-write).
    pub(crate) fn pump_writes(&mut self) {
        let ids: Vec<ReqId> = self.writes.keys().copied().collect();
        for req in ids {
            let w = &self.writes[&req];
            if w.landing.is_some() || w.next >= w.pages {
                continue;
            }
            let key = LineKey {
                lun: w.lun,
                page: w.first + w.next as u64,
            };
            let index = w.next;
            let mask = self.page_mask(w.lba, w.sectors, key.page);
            if self.cache.get(&key).is_some_and(|l| l.write_busy) {
                continue;
            }
            // A new version always lands in a new page: the committed one may
            // be on its way to disk or to a reader.
            let Some(page) = self.cache.alloc_page() else {
                continue;
            };
            let base = self.cache.get(&key).and_then(|l| l.page);
            self.cache.entry(key).write_busy = true;
            self.writes.get_mut(&req).expect("write present").landing = Some(page);
            if mask == self.full_mask() || base.is_some() {
                self.emit(Action::LandHostData {
                    req,
                    index,
                    page,
                    sectors: mask,
                    base: base.filter(|_| mask != self.full_mask()),
                });
            } else {
                let io = self.io();
                self.disk.insert(io, DiskOp::Fill { req, index, page });
                let lba = self.lba_of(key);
                self.emit(Action::DiskRead {
                    io,
                    lun: key.lun,
                    lba,
                    page,
                });
            }
        }
    }

    /// The disk content under a partial page is in: land the host's sectors
    /// on it.
    pub(crate) fn filled(&mut self, req: ReqId, index: u32, page: PageRef, ok: bool) {
        let Some(w) = self.writes.get(&req) else {
            self.cache.unpin(page);
            return;
        };
        let key = LineKey {
            lun: w.lun,
            page: w.first + index as u64,
        };
        let mask = self.page_mask(w.lba, w.sectors, key.page);
        if ok {
            self.emit(Action::LandHostData {
                req,
                index,
                page,
                sectors: mask,
                base: None,
            });
            return;
        }
        self.stats.disk_errors += 1;
        let w = self.writes.get_mut(&req).expect("write present");
        w.landing = None;
        w.next += 1;
        let lba = self.lba_of(key);
        let pp = PendingPage {
            req: Some(req),
            index,
            key,
            page,
            seq: 0,
            gen: None,
            mask,
        };
        self.abandon(pp, Error::Disk { lun: key.lun, lba });
    }

    pub(crate) fn landed(&mut self, req: ReqId, index: u32) {
        let Some(w) = self.writes.get_mut(&req) else {
            return;
        };
        let Some(page) = w.landing.take() else { return };
        if index != w.next {
            return;
        }
        w.next += 1;
        let key = LineKey {
            lun: w.lun,
            page: w.first + index as u64,
        };
        let (lba, sectors) = (w.lba, w.sectors);
        if self.cfg.mutation == Mutation::AckBeforeMirror && w.next == w.pages && !w.acked {
            w.acked = true;
            self.reply_write(req, Ok(()));
        }
        let mask = self.page_mask(lba, sectors, key.page);
        self.mirror_queue.push_back(PendingPage {
            req: Some(req),
            index,
            key,
            page,
            seq: 0,
            gen: None,
            mask,
        });
    }

    /// Lines left dirty without a mirror (after failover, or written while
    /// the partner was away) are mirrored again once a partner is back: the
    /// rebuilt mirror area (idea 10).
    fn queue_remirrors(&mut self) {
        let failing_back = self.failback.is_some();
        let me = self.cfg.cache_id;
        let keys: Vec<LineKey> = self
            .cache
            .lines()
            .filter(|(k, l)| {
                l.needs_mirror
                    && l.dirty
                    && l.idle()
                    && matches!(l.page, Some(PageRef::Cache(_)))
                    // During failback the partner's LUNs are destaged and
                    // handed back, not mirrored (idea 10).
                    && !(failing_back && crate::config::Config::home_of(k.lun) != me)
            })
            .map(|(k, _)| *k)
            .take(16)
            .collect();
        for key in keys {
            let line = self.cache.get_mut(&key).expect("line present");
            let page = line.page.expect("page present");
            line.write_busy = true;
            line.needs_mirror = false;
            let mask = line.dirty_sectors;
            self.cache.pin(page);
            self.mirror_queue.push_back(PendingPage {
                req: None,
                index: 0,
                key,
                page,
                seq: 0,
                gen: None,
                mask,
            });
        }
    }

    pub(crate) fn pump_mirror(&mut self) {
        if self.phase == Phase::Degraded {
            self.write_through();
            return;
        }
        if !self.can_mirror() || self.slots_exhausted {
            return;
        }
        if self.cache.lines().any(|(_, l)| l.needs_mirror) {
            self.queue_remirrors();
        }
        match self.cfg.metadata {
            MetadataMode::PerLine => {
                while let Some(pp) = self.mirror_queue.pop_front() {
                    self.submit_mirror(alloc::vec![pp]);
                }
            }
            MetadataMode::Batched => {
                if self.mirror_inflight > 0 || self.mirror_queue.is_empty() {
                    return;
                }
                // Swap lists: everything gathered while the previous batch was
                // in flight goes now, contiguous pages in one command.
                let list: Vec<PendingPage> = self.mirror_queue.drain(..).collect();
                // A run never needs more than half the partner's slots, so
                // it always fits once destage has freed some.
                let max_run = MAX_DESC_SLOTS.min((self.partner_slots as usize / 2).max(1));
                let mut run: Vec<PendingPage> = Vec::new();
                let full = self.full_mask();
                for pp in list {
                    // One descriptor carries the first and the last page's
                    // bitmaps; the pages between must be fully dirty.
                    let joins = run.last().is_some_and(|l: &PendingPage| {
                        l.key.lun == pp.key.lun
                            && l.key.page + 1 == pp.key.page
                            && (run.len() == 1 || self.record_mask(l) == full)
                    }) && run.len() < max_run;
                    if !joins && !run.is_empty() {
                        self.submit_mirror(core::mem::take(&mut run));
                    }
                    run.push(pp);
                }
                if !run.is_empty() {
                    self.submit_mirror(run);
                }
            }
        }
    }

    /// The dirty-sector bitmap the partner records for a page: what this
    /// version changes plus what a dirty committed version already did.
    fn record_mask(&self, pp: &PendingPage) -> u64 {
        match self.cache.get(&pp.key) {
            Some(l) if l.dirty => l.dirty_sectors | pp.mask,
            _ => pp.mask,
        }
    }

    fn submit_mirror(&mut self, mut pages: Vec<PendingPage>) {
        let first_seq = self.seq + 1;
        for pp in pages.iter_mut() {
            pp.seq = self.next_seq();
            if self.bitmaps() {
                let t = self.track_of(pp.key);
                pp.gen = Some(self.tracker.submit(t));
            }
        }
        let tag = self.tag();
        let k = pages[0].key;
        let desc = Descriptor {
            opcode: opcode::MIRROR,
            flags: flags::PAGE_LIST,
            count: pages.len() as u16,
            tag,
            lba: self.lba_of(k),
            lun: k.lun,
            seq: first_seq,
            dirty_first: self.record_mask(&pages[0]),
            dirty_last: self.record_mask(&pages[pages.len() - 1]),
            cache_id: self.cfg.cache_id,
            epoch: self.epoch,
            ..Default::default()
        };
        let refs = pages.iter().map(|p| p.page).collect();
        self.stats.pages_mirrored += pages.len() as u64;
        self.mirror_inflight += 1;
        self.dma.insert(tag, DmaOp::Mirror(pages));
        self.emit(Action::Submit(Command {
            desc,
            pages: refs,
            records: Vec::new(),
        }));
        self.doorbell();
        if let HardeningMode::Counter { n } = self.cfg.hardening {
            self.counter_toggles(n);
        }
    }

    /// Degraded: no mirror exists, so a write is acknowledged once it is on
    /// disk (idea 9), unless configured otherwise.
    fn write_through(&mut self) {
        let mut waiting = VecDeque::new();
        while let Some(mut pp) = self.mirror_queue.pop_front() {
            if !self.cfg.degraded_write_through {
                pp.seq = self.next_seq();
                self.commit(pp, None, true);
                continue;
            }
            let busy = self.cache.get(&pp.key).is_some_and(|l| l.disk_busy);
            if busy {
                waiting.push_back(pp);
                continue;
            }
            pp.seq = self.next_seq();
            self.cache.entry(pp.key).disk_busy = true;
            let io = self.io();
            let (lun, lba, page, epoch) = (pp.key.lun, self.lba_of(pp.key), pp.page, self.epoch);
            self.disk.insert(
                io,
                DiskOp::WriteThrough {
                    pp,
                    stage: DiskStage::Write,
                },
            );
            self.emit(Action::DiskWrite {
                io,
                lun,
                lba,
                page,
                epoch,
            });
        }
        self.mirror_queue = waiting;
    }

    /// A page's new version becomes the line's committed content.
    pub(crate) fn commit(&mut self, pp: PendingPage, slot: Option<u16>, dirty: bool) {
        self.clock += 1;
        let degraded = self.phase == Phase::Degraded;
        let partner_home = crate::config::Config::home_of(pp.key.lun) != self.cfg.cache_id;
        let track = self.track_of(pp.key);
        let line = self.cache.entry(pp.key);
        let old_page = line.page.replace(pp.page);
        let old_slot = core::mem::replace(&mut line.slot, slot);
        let old_gen = core::mem::replace(&mut line.gen, pp.gen);
        line.seq = pp.seq;
        // The new version's dirty sectors add to those of a dirty version it
        // replaces; a version written through to disk has none.
        line.dirty_sectors = match (dirty, line.dirty) {
            (false, _) => 0,
            (true, true) => line.dirty_sectors | pp.mask,
            (true, false) => pp.mask,
        };
        line.dirty = dirty;
        if !dirty {
            line.hardened_seq = pp.seq;
        }
        line.needs_mirror = dirty && slot.is_none();
        line.write_busy = false;
        if dirty {
            self.wb_queue.dirtied(pp.key, slot);
        } else {
            self.wb_queue.cleaned(&pp.key);
        }
        if let Some(p) = old_page {
            // The line's reference to its old page goes (for a re-mirror the
            // old page is the new one, pinned once more when it was queued).
            self.cache.unpin(p);
        }
        // The overwritten version's slot is released, never leaked (idea 3);
        // the new slot's record carries a higher sequence number, so a scan
        // that finds both keeps the new one.
        if let Some(s) = old_slot {
            if Some(s) != slot {
                self.release_queue.push(s);
            }
        }
        if let Some(g) = old_gen {
            let mut notes = Vec::new();
            self.tracker.retire(track, g, &mut notes);
            self.send_notices(notes);
        }
        if (degraded || self.failback.is_some()) && partner_home && pp.req.is_some() {
            // Idea 9: every track of the partner's LUNs written while it is
            // away is marked for the failback copy.
            self.marked.set(track);
        }
        if let Some(req) = pp.req {
            self.page_done(req, None);
        }
    }

    /// One page of a write finished (or failed); ack when all have.
    pub(crate) fn page_done(&mut self, req: ReqId, err: Option<Error>) {
        let Some(w) = self.writes.get_mut(&req) else {
            return;
        };
        w.done += 1;
        if err.is_some() && w.error.is_none() {
            w.error = err;
        }
        if w.done < w.pages {
            return;
        }
        let w = self.writes.remove(&req).expect("write present");
        if w.acked {
            self.forwarded.remove(&req);
            return;
        }
        let result = match w.error {
            Some(e) => Err(e),
            None => {
                self.stats.writes_acked += 1;
                Ok(())
            }
        };
        self.reply_write(req, result);
        self.forwarded.remove(&req);
    }

    /// The host's answer; for a forwarded write it goes back to the origin,
    /// which answers the host once it arrives.
    fn reply_write(&mut self, req: ReqId, result: Result<(), Error>) {
        if self.forwarded.contains(&req) {
            self.emit(Action::Send(crate::event::Message::WriteDone {
                req,
                result,
            }));
        } else {
            self.emit(Action::CompleteWrite { req, result });
        }
    }

    pub(crate) fn dma_done(&mut self, c: Completion) {
        let Some(op) = self.dma.remove(&c.tag) else {
            // A completion from before a restart or an unknown tag: ignored.
            return;
        };
        if c.status != status::OK {
            self.stats.dma_errors += 1;
        }
        if c.status == status::LINK_DOWN {
            // Whatever was queued behind may still have run: hold new
            // submissions until everything sent has completed (ideas 6, 7).
            self.link_barrier = true;
            self.hardening_resync = true;
        }
        match op {
            DmaOp::Mirror(pages) => {
                self.mirror_inflight = self.mirror_inflight.saturating_sub(1);
                if c.status == status::OK {
                    for (i, pp) in pages.into_iter().enumerate() {
                        let slot = c.slots.get(i).copied();
                        self.commit(pp, slot, true);
                    }
                    return;
                }
                // Slots the card took before it stopped hold records of a
                // version that was never committed: release them.
                for s in c.slots.iter().take(c.count as usize) {
                    self.release_queue.push(*s);
                }
                if c.status == status::NO_SLOTS {
                    self.slots_exhausted = true;
                }
                let retry = matches!(c.status, status::NO_SLOTS | status::LINK_DOWN);
                for pp in pages.into_iter().rev() {
                    if let Some(g) = pp.gen {
                        let mut notes = Vec::new();
                        let t = self.track_of(pp.key);
                        self.tracker.retire(t, g, &mut notes);
                        self.send_notices(notes);
                    }
                    if retry {
                        self.mirror_queue
                            .push_front(PendingPage { gen: None, ..pp });
                    } else {
                        self.abandon(
                            pp,
                            Error::Dma {
                                op: opcode::MIRROR,
                                status: c.status,
                            },
                        );
                    }
                }
            }
            DmaOp::Meta(records) => {
                self.meta_inflight = self.meta_inflight.saturating_sub(1);
                if c.status == status::OK || self.phase == Phase::Degraded {
                    for (_, after, _) in records {
                        self.after_meta(after);
                    }
                } else {
                    // Ordered records go back to their places before later
                    // mirror records; notices just go again.
                    for (r, after, no) in records.into_iter().rev() {
                        match no {
                            Some(no) => self.ordered_retry.put_back(no, r),
                            None => self.meta_queue.push_front((r, after)),
                        }
                    }
                }
            }
            DmaOp::Release(slots) => {
                self.release_inflight = self.release_inflight.saturating_sub(1);
                if c.status == status::LINK_DOWN && self.phase != Phase::Degraded {
                    // Back in their places: a later RELEASE must never land
                    // while an earlier one is lost.
                    for (no, s) in slots {
                        self.release_queue.put_back(no, s);
                    }
                } else if c.status == status::OK {
                    self.slots_exhausted = false;
                }
            }
            DmaOp::CopyBack(entries) => self.copyback_done(c.status, entries),
        }
    }

    /// A page that will never be committed: free it and fail its write.
    pub(crate) fn abandon(&mut self, pp: PendingPage, e: Error) {
        self.cache.unpin(pp.page);
        if let Some(l) = self.cache.get_mut(&pp.key) {
            l.write_busy = false;
            if pp.req.is_none() {
                l.needs_mirror = true;
            }
        }
        if let Some(l) = self.cache.get(&pp.key) {
            if l.page.is_none() && l.idle() {
                self.cache.remove(&pp.key);
            }
        }
        if let Some(req) = pp.req {
            self.page_done(req, Some(e));
        }
    }

    fn after_meta(&mut self, after: After) {
        match after {
            After::Nothing => {}
            After::Release(s) => self.release_queue.push(s),
            After::Destage(io) => self.destage_write(io),
        }
    }

    /// A notice for the partner: per-line it goes now, batched it waits in
    /// the list being filled.
    pub(crate) fn notice(&mut self, kind: u8, key: LineKey, seq: u32, slot: u16, after: After) {
        let rec = MetaRecord {
            kind,
            cache_id: self.cfg.cache_id,
            seq,
            slot,
            lba: self.lba_of(key),
            lun: key.lun,
            epoch: self.epoch,
            ..Default::default()
        }
        .sealed();
        self.meta_queue.push_back((rec, after));
    }

    pub(crate) fn pump_meta(&mut self) {
        if !self.can_mirror() {
            if self.phase == Phase::Degraded {
                // No partner to tell: run what waited on the notices.
                while let Some((_, after)) = self.meta_queue.pop_front() {
                    if let After::Release(_) = after {
                        continue;
                    }
                    self.after_meta(after);
                }
            }
            return;
        }
        match self.cfg.metadata {
            MetadataMode::PerLine => {
                while let Some(r) = self.meta_queue.pop_front() {
                    self.submit_meta(alloc::vec![r]);
                }
            }
            MetadataMode::Batched => {
                if self.meta_inflight > 0 || self.meta_queue.is_empty() {
                    return;
                }
                while !self.meta_queue.is_empty() {
                    let n = self.meta_queue.len().min(MAX_DESC_SLOTS);
                    let batch: Vec<_> = self.meta_queue.drain(..n).collect();
                    self.submit_meta(batch);
                }
            }
        }
    }

    pub(crate) fn submit_meta(&mut self, records: Vec<(MetaRecord, After)>) {
        let recs = records.into_iter().map(|(r, a)| (r, a, None)).collect();
        self.submit_meta_records(recs);
    }

    pub(crate) fn submit_meta_records(&mut self, records: Vec<(MetaRecord, After, Option<u64>)>) {
        let tag = self.tag();
        let desc = Descriptor {
            opcode: opcode::META,
            count: records.len() as u16,
            tag,
            cache_id: self.cfg.cache_id,
            epoch: self.epoch,
            ..Default::default()
        };
        let recs = records.iter().map(|(r, _, _)| *r).collect();
        self.meta_inflight += 1;
        self.dma.insert(tag, DmaOp::Meta(records));
        self.emit(Action::Submit(Command {
            desc,
            pages: Vec::new(),
            records: recs,
        }));
        self.doorbell();
    }

    /// Per-line: a doorbell per descriptor. Batched: one per round of
    /// submissions, rung at the end of the round (idea 5).
    fn doorbell(&mut self) {
        match self.cfg.metadata {
            MetadataMode::PerLine => self.emit(Action::RingDoorbell),
            MetadataMode::Batched => self.doorbell_due = true,
        }
    }

    pub(crate) fn pump_release(&mut self) {
        if self.phase == Phase::Degraded {
            // The slots were in the dead partner's memory; the allocator is
            // programmed afresh at failback.
            self.release_queue.clear();
            return;
        }
        if !self.can_mirror() {
            return;
        }
        let per_desc = match self.cfg.metadata {
            MetadataMode::PerLine => 1,
            // Releases gather while the previous batch is in flight.
            MetadataMode::Batched if self.release_inflight > 0 => return,
            MetadataMode::Batched => MAX_DESC_SLOTS,
        };
        while !self.release_queue.is_empty() {
            let slots = self.release_queue.take(per_desc);
            let n = slots.len();
            let tag = self.tag();
            let mut desc = Descriptor {
                opcode: opcode::RELEASE,
                count: n as u16,
                tag,
                cache_id: self.cfg.cache_id,
                epoch: self.epoch,
                ..Default::default()
            };
            for (i, (_, s)) in slots.iter().enumerate() {
                desc.slots[i] = *s;
            }
            self.release_inflight += 1;
            self.dma.insert(tag, DmaOp::Release(slots));
            self.emit(Action::Submit(Command {
                desc,
                pages: Vec::new(),
                records: Vec::new(),
            }));
        }
    }

    /// Kind of the notice a destage sends before its disk write, if any.
    pub(crate) fn flush_notice_kind(&self) -> Option<u8> {
        match self.cfg.hardening {
            HardeningMode::FlushNotices => Some(meta_kind::FLUSH_NOTICE),
            _ => None,
        }
    }
}
