//! Invariant checks of the simulator: hardening superset after every event
//! (idea 7), settled state, mirror copies identical to their lines and no
//! slot leak (ideas 3, 10).

use duplex_regs::{MetaRecord, MirrorAreaLayout};

use super::world::*;
use crate::config::HardeningMode;
use crate::controller::Phase;

impl World {
    /// Idea 7: for every dirty mirrored line of one side, the other side's
    /// knowledge (hardening bitmaps, or the partner table in the flush-notice
    /// variant) names the track.
    pub(super) fn check_hardening(&mut self) {
        if !self.link_ok() {
            return;
        }
        for n in 0..2 {
            let (me, other) = (&self.nodes[n].fw, &self.nodes[n ^ 1].fw);
            if me.phase() != Phase::Paired
                || other.phase() != Phase::Paired
                || me.epoch() != other.epoch()
            {
                continue;
            }
            let bitmaps = !matches!(self.cfg.hardening, HardeningMode::FlushNotices);
            let mut bad = None;
            for (k, l) in me.cache().lines() {
                if !l.dirty || l.slot.is_none() {
                    continue;
                }
                let t = me.track_of(*k);
                let known = if bitmaps {
                    other.partner_bits().may_be_unhardened(t)
                } else {
                    other.partner_table().get(k).is_some()
                };
                if !known {
                    bad = Some(*k);
                    break;
                }
            }
            if let Some(k) = bad {
                self.fail(format!(
                    "node {n}: dirty line {k:?} is not in node {}'s hardening records",
                    n ^ 1
                ));
            }
        }
    }

    pub(super) fn settled(&self) -> bool {
        self.workload_done()
            && self.reqs.values().all(|r| r.orphan)
            && self.link_ok()
            && self.nodes.iter().all(|n| {
                n.fw.phase() == Phase::Paired && n.fw.idle() && !n.card.busy() && !n.restart_pending
            })
    }

    /// Both copies identical (ideas 3, 10): every dirty mirrored line's slot
    /// in the partner holds its bytes under a valid header; every clean
    /// line equals the disk.
    pub(super) fn check_copies(&mut self) {
        let pb = self.page_bytes();
        for n in 0..2 {
            let me = &self.nodes[n];
            let other = &self.nodes[n ^ 1];
            let pc = other.fw.config();
            let lay: MirrorAreaLayout = pc.hosted_area();
            let base = pc.area_base() as usize;
            let mut errs = Vec::new();
            for (k, l) in me.fw.cache().lines() {
                let Some(p) = l.page else { continue };
                let at = me.fw.config().page_iova(p) as usize;
                let bytes = &me.mem[at..at + pb];
                if l.dirty {
                    let Some(s) = l.slot else {
                        errs.push(format!(
                            "node {n}: dirty line {k:?} has no mirror after settling"
                        ));
                        continue;
                    };
                    let h = base + lay.header_offset(s as u32) as usize;
                    let rec = MetaRecord::decode_valid(&other.mem[h..h + 64]);
                    let d = base + lay.data_offset(s as u32) as usize;
                    let ok = rec.is_ok_and(|r| {
                        r.lun == k.lun
                            && r.lba == k.page * self.cfg.page_sectors as u64
                            && r.seq == l.seq
                    }) && &other.mem[d..d + pb] == bytes;
                    if !ok {
                        errs.push(format!("node {n}: mirror of {k:?} in slot {s} differs"));
                    }
                } else if *bytes != self.disk_page(k.lun, k.page)[..] {
                    errs.push(format!("node {n}: clean line {k:?} differs from disk"));
                }
            }
            // No slot leaks (idea 3): the allocator holds exactly the slots
            // of this side's dirty mirrored lines.
            let mut held: Vec<u16> = me
                .fw
                .cache()
                .lines()
                .filter(|(_, l)| l.dirty)
                .filter_map(|(_, l)| l.slot)
                .collect();
            held.sort_unstable();
            let taken = me.card.alloc.taken();
            if held != taken {
                errs.push(format!(
                    "node {n}: allocator holds slots {taken:?}, dirty lines hold {held:?}"
                ));
            }
            if !me.fw.destage_queue_consistent() {
                errs.push(format!(
                    "node {n}: write-back queue and dirty lines disagree"
                ));
            }
            for e in errs {
                self.fail(e);
            }
        }
    }

    /// At the end of a failback (idea 10): the marked tracks lie between
    /// the partner-LUN tracks the survivor acknowledged while the partner was
    /// away and those it landed data for since the partner left.
    pub(super) fn check_marked(&mut self, n: usize) {
        let marked: std::collections::BTreeSet<(u32, u64)> = self.nodes[n]
            .fw
            .last_marked()
            .iter()
            .map(|k| (k.lun, k.page))
            .collect();
        if !self.away_acked[n].is_subset(&marked) {
            let miss: Vec<_> = self.away_acked[n].difference(&marked).copied().collect();
            self.fail(format!(
                "node {n}: acknowledged while away but not marked: {miss:?}"
            ));
        }
        if !marked.is_subset(&self.away_landed[n]) {
            let extra: Vec<_> = marked.difference(&self.away_landed[n]).copied().collect();
            self.fail(format!("node {n}: marked but never written: {extra:?}"));
        }
        self.report.marked_checks += 1;
    }

    /// Both controllers up and paired in one epoch, no failback running.
    pub(super) fn pair_whole(&self) -> bool {
        self.link_ok()
            && !self.link_cut
            && self.nodes.iter().all(|n| {
                n.fw.phase() == Phase::Paired
                    && !n.fw.failing_back()
                    && !n.fw.awaiting_handback()
                    && !n.restart_pending
            })
            && self.nodes[0].fw.epoch() == self.nodes[1].fw.epoch()
    }
}
