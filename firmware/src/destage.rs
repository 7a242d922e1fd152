//! Background destage and the sending side of the hardening protocols
//! (DESIGN.md ideas 6, 7).
//!
//! A dirty line is written to disk and the disk is flushed; then the line is
//! clean, its mirror slot is released (header zeroed, slot back on the free
//! list) and the partner learns the data is consistent with disk — by an
//! INVALIDATE notice in the flush-notice variant, by a CLEAR of the hardening
//! bitmap's old generation in the bitmap variants.

use alloc::vec::Vec;
use duplex_regs::meta_kind;

use crate::cache::{LineKey, PageRef};
use crate::config::HardeningMode;
use crate::controller::{After, Controller, DiskOp, DiskStage, Phase};
use crate::error::Error;
use crate::event::{Action, DiskStatus};
use crate::hardening::{RangeNotice, KIND_CLEAR_OLD, KIND_TOGGLE};

impl Controller {
    /// Starts up to `budget` destages, least recently used first; lines of
    /// the range being scanned, of a LUN being given away and adopted lines
    /// go first.
    pub(crate) fn destage(&mut self, budget: u32) {
        let mut room = self
            .cfg
            .destage_inflight
            .saturating_sub(self.destaging)
            .min(budget);
        if room == 0 {
            return;
        }
        let scan = self.scan_range;
        let rt = self.tracker.range_tracks;
        let mut urgent: Vec<LineKey> = Vec::new();
        let mut rest: Vec<LineKey> = Vec::new();
        for k in self.wb_queue.iter() {
            let Some(l) = self.cache.get(k) else { continue };
            if !l.dirty || l.disk_busy || l.page.is_none() {
                continue;
            }
            let t = k.lun as u64 * self.cfg.lun_pages + k.page;
            let is_urgent = scan == Some(t / rt)
                || self.giving.contains(&k.lun)
                || matches!(l.page, Some(PageRef::Slot(_)))
                || self.failback.is_some();
            if is_urgent {
                urgent.push(*k);
            } else {
                rest.push(*k);
            }
        }
        for k in urgent.into_iter().chain(rest) {
            if room == 0 {
                break;
            }
            room -= 1;
            self.start_destage(k);
        }
    }

    fn start_destage(&mut self, key: LineKey) {
        let line = self.cache.get_mut(&key).expect("line present");
        let page = line.page.expect("dirty line has a page");
        let seq = line.seq;
        line.disk_busy = true;
        // The write-back queue holds the slot of the version being destaged.
        let slot = self.wb_queue.slot_of(&key);
        self.cache.pin(page);
        self.destaging += 1;
        let io = self.io();
        let notice = match (self.flush_notice_kind(), slot) {
            (Some(kind), Some(s)) if self.phase == Phase::Paired => Some((kind, s)),
            _ => None,
        };
        let stage = if notice.is_some() {
            DiskStage::Notice
        } else {
            DiskStage::Write
        };
        self.disk.insert(
            io,
            DiskOp::Destage {
                key,
                seq,
                page,
                stage,
            },
        );
        match notice {
            // Flush-notice variant: the mirror is "temporarily invalid" before
            // the disk starts changing (idea 6).
            Some((kind, s)) => self.notice(kind, key, seq, s, After::Destage(io)),
            None => self.destage_write(io),
        }
    }

    pub(crate) fn destage_write(&mut self, io: u64) {
        let epoch = self.epoch;
        let Some(DiskOp::Destage {
            key, page, stage, ..
        }) = self.disk.get_mut(&io)
        else {
            return;
        };
        *stage = DiskStage::Write;
        let (key, page) = (*key, *page);
        let lba = self.lba_of(key);
        self.emit(Action::DiskWrite {
            io,
            lun: key.lun,
            lba,
            page,
            epoch,
        });
    }

    pub(crate) fn disk_done(&mut self, io: u64, st: DiskStatus) {
        let Some(op) = self.disk.remove(&io) else {
            return;
        };
        // A command issued before our own fence carries the old epoch: its
        // refusal is not the partner fencing us, just a retry (idea 9).
        let stale = io < self.epoch_first_io;
        if st == DiskStatus::Fenced && !stale {
            self.disk.insert(io, op);
            self.self_fence();
            return;
        }
        if stale && st == DiskStatus::Fenced {
            if let DiskOp::WriteThrough { pp, .. } = op {
                if let Some(l) = self.cache.get_mut(&pp.key) {
                    l.disk_busy = false;
                }
                self.mirror_queue.push_front(pp);
                return;
            }
        }
        let ok = st == DiskStatus::Ok;
        if !ok {
            self.stats.disk_errors += 1;
        }
        match op {
            DiskOp::Destage {
                key,
                seq,
                page,
                stage,
            } => {
                if ok && stage == DiskStage::Write {
                    let lun = key.lun;
                    let epoch = self.epoch;
                    self.disk.insert(
                        io,
                        DiskOp::Destage {
                            key,
                            seq,
                            page,
                            stage: DiskStage::Flush,
                        },
                    );
                    self.emit(Action::DiskFlush { io, lun, epoch });
                    return;
                }
                self.destaging = self.destaging.saturating_sub(1);
                self.cache.unpin(page);
                if ok {
                    self.hardened(key, seq);
                }
                if let Some(l) = self.cache.get_mut(&key) {
                    l.disk_busy = false;
                }
                if ok {
                    self.stats.destages += 1;
                }
            }
            DiskOp::WriteThrough { pp, stage } => {
                if ok && stage == DiskStage::Write {
                    let (lun, epoch) = (pp.key.lun, self.epoch);
                    self.disk.insert(
                        io,
                        DiskOp::WriteThrough {
                            pp,
                            stage: DiskStage::Flush,
                        },
                    );
                    self.emit(Action::DiskFlush { io, lun, epoch });
                    return;
                }
                if let Some(l) = self.cache.get_mut(&pp.key) {
                    l.disk_busy = false;
                }
                if ok {
                    self.commit(pp, None, false);
                } else {
                    let lba = self.lba_of(pp.key);
                    let lun = pp.key.lun;
                    self.abandon(pp, Error::Disk { lun, lba });
                }
            }
            DiskOp::ReadMiss {
                req,
                index,
                page,
                clock,
            } => self.read_miss_done(req, index, page, clock, ok),
            DiskOp::Stage { key, slot } => self.staged(key, slot, ok),
            DiskOp::Fill { req, index, page } => self.filled(req, index, page, ok),
        }
    }

    /// Version `seq` of `key` is on disk.
    fn hardened(&mut self, key: LineKey, seq: u32) {
        let track = self.track_of(key);
        let paired = self.phase == Phase::Paired;
        let bitmaps = self.bitmaps();
        let Some(line) = self.cache.get_mut(&key) else {
            return;
        };
        line.hardened_seq = line.hardened_seq.max(seq);
        if line.seq != seq || !line.dirty {
            // Overwritten meanwhile: the older version's slot and generation
            // were retired when the new one committed.
            return;
        }
        line.dirty = false;
        line.dirty_sectors = 0;
        line.needs_mirror = false;
        line.slot = None;
        let slot = self.wb_queue.slot_of(&key);
        self.wb_queue.cleaned(&key);
        let gen = line.gen.take();
        if matches!(line.page, Some(PageRef::Slot(_))) && !line.write_busy {
            // An adopted page goes back to the hosted area: drop the line
            // rather than keep a hosted slot busy as clean cache. A line a
            // write holds stays: that write's page replaces the slot.
            self.cache.remove(&key);
            self.clock += 1;
        }
        if let Some(g) = gen {
            let mut notes = Vec::new();
            self.tracker.retire(track, g, &mut notes);
            self.send_notices(notes);
        }
        if let Some(s) = slot {
            if paired && !bitmaps {
                // Consistent, then reusable (idea 6).
                self.notice(meta_kind::INVALIDATE, key, seq, s, After::Release(s));
            } else {
                self.release_queue.push(s);
            }
        }
    }

    /// TOGGLE and CLEAR records for the partner's hardening bitmaps.
    pub(crate) fn send_notices(&mut self, notes: Vec<RangeNotice>) {
        for n in notes {
            match n {
                RangeNotice::Toggle(r) => self.send_ordered_record(KIND_TOGGLE, r),
                RangeNotice::ClearOld(r) => {
                    if self.scan_range == Some(r) {
                        self.scan_range = None;
                    }
                    self.send_ordered_record(KIND_CLEAR_OLD, r)
                }
            }
        }
    }

    /// Destage-scan protocol: one range at a time is toggled and destaged
    /// (idea 7).
    pub(crate) fn hardening_tick(&mut self) {
        if self.cfg.hardening != HardeningMode::DestageScan || !self.can_mirror() {
            return;
        }
        if self.scan_range.is_some() {
            return;
        }
        let n = self.tracker.ranges.len() as u64;
        for i in 0..n {
            let r = (self.scan_cursor + i) % n;
            let g = &self.tracker.ranges[r as usize];
            if g.count[g.cur as usize] == 0 || g.old_pending {
                continue;
            }
            let mut notes = Vec::new();
            if self.tracker.toggle(r, &mut notes) {
                if self.tracker.ranges[r as usize].old_pending {
                    self.scan_range = Some(r);
                }
                self.scan_cursor = r + 1;
                self.send_notices(notes);
                return;
            }
        }
    }

    /// Counter protocol: toggle a range after N writes into it (idea 7).
    pub(crate) fn counter_toggles(&mut self, n: u32) {
        let mut notes = Vec::new();
        for r in 0..self.tracker.ranges.len() {
            let g = &self.tracker.ranges[r];
            if g.writes >= n.max(1) && !g.old_pending {
                self.tracker.toggle(r as u64, &mut notes);
            }
        }
        self.send_notices(notes);
    }

    /// Flushes and trims complete once every version dirty when they arrived
    /// is on disk: its line is clean (a dirty version only becomes clean by
    /// reaching disk, or by a newer one written through) or a version at
    /// least as new is hardened.
    pub(crate) fn pump_flushes(&mut self) {
        let mut i = 0;
        while i < self.flushes.len() {
            let done = self.flushes[i].waits.iter().all(|(k, seq)| {
                self.cache
                    .get(k)
                    .is_none_or(|l| !l.dirty || l.hardened_seq >= *seq)
            });
            if !done {
                i += 1;
                continue;
            }
            let f = self.flushes.remove(i);
            if let Some((lun, first, end)) = f.trim {
                for page in first..end {
                    let k = LineKey { lun, page };
                    if self.cache.get(&k).is_some_and(|l| !l.dirty && l.idle()) {
                        self.cache.remove(&k);
                        self.clock += 1;
                    }
                }
                self.emit(Action::CompleteTrim {
                    req: f.req,
                    result: Ok(()),
                });
            } else {
                self.emit(Action::CompleteFlush {
                    req: f.req,
                    result: Ok(()),
                });
            }
        }
    }
}
