//! Carrying out the firmware's actions in the simulated world: memory copies
//! happen at once (landing host data, read completions, staging), card
//! commands, disk commands and link messages become future events.

use super::reference::pattern;
use super::world::*;
use crate::event::{Action, Input, Message};

impl World {
    pub(super) fn apply(&mut self, n: usize, a: Action) {
        let pb = self.page_bytes();
        match a {
            Action::Publish {
                cache_bytes,
                epoch,
                survivor,
            } => {
                // Scratchpads: 64 bytes over the link.
                let m = Message::Hello {
                    cache_bytes,
                    epoch,
                    survivor,
                };
                self.send(n, m, 16);
            }
            Action::ProgramAllocator { slots } => {
                let expect = self.cfg.controller(n ^ 1).hosted_area().slots;
                if slots != expect {
                    self.fail(format!(
                        "node {n} programmed {slots} slots, partner hosts {expect}"
                    ));
                }
                self.nodes[n].card.alloc.init(slots);
            }
            Action::Submit(cmd) => {
                self.nodes[n].card.submit(cmd);
                if !self.nodes[n].card_scheduled {
                    self.nodes[n].card_scheduled = true;
                    let inc = self.nodes[n].inc;
                    let lat = self.rng.range(1, 3);
                    self.at(self.now + lat, Ev::Card(n, inc));
                }
            }
            Action::RingDoorbell => {
                if self.link_ok() {
                    self.nodes[n].card.doorbell();
                }
            }
            Action::LandHostData {
                req,
                index,
                page,
                sectors,
                base,
            } => {
                let Some(r) = self.reqs.get(&req) else {
                    self.fail(format!("node {n} lands data of unknown request {req}"));
                    return;
                };
                let ReqKind::Write { id } = r.kind else {
                    return;
                };
                let (lun, lba, count, first, origin) = (r.lun, r.lba, r.sectors, r.first, r.node);
                let ps = self.cfg.page_sectors as u64;
                let sb = self.cfg.sector_bytes as usize;
                let pno = first + index as u64;
                // The firmware's bitmap must be exactly the request's sectors
                // inside this page (idea 4).
                let want: u64 = (0..ps)
                    .filter(|b| (lba..lba + count as u64).contains(&(pno * ps + b)))
                    .fold(0, |m, b| m | 1 << b);
                if sectors != want {
                    self.fail(format!("node {n}: page {pno} of write {req} lands bitmap {sectors:#x}, request covers {want:#x}"));
                }
                if origin != n {
                    // Forwarded: the data crosses the link.
                    self.nodes[n ^ 1].card.stats.link_bytes +=
                        sectors.count_ones() as u64 * sb as u64;
                }
                // Every landing for the partner's LUNs counts: a write in
                // flight when the partner left is committed while it is away.
                if crate::Config::home_of(lun) as usize != n {
                    self.away_landed[n].insert((lun, pno));
                }
                let at = self.iova(n, page);
                if let Some(b) = base {
                    let from = self.iova(n, b);
                    self.nodes[n].mem.copy_within(from..from + pb, at);
                }
                for bit in 0..ps {
                    if sectors & (1 << bit) != 0 {
                        let bytes = pattern(id, lun, pno * ps + bit, sb);
                        let o = at + bit as usize * sb;
                        self.nodes[n].mem[o..o + sb].copy_from_slice(&bytes);
                    }
                }
                let inc = self.nodes[n].inc;
                let lat = self.rng.range(1, 2);
                self.at(
                    self.now + lat,
                    Ev::Input(n, inc, Input::HostDataLanded { req, index }),
                );
            }
            Action::CompleteRead { req, result } => {
                let Some(r) = self.reqs.remove(&req) else {
                    return;
                };
                let ReqKind::Read { floors } = r.kind else {
                    return;
                };
                if let Ok(pages) = result {
                    if pages.len() != r.pages as usize {
                        self.fail(format!(
                            "read {req} returned {} pages of {}",
                            pages.len(),
                            r.pages
                        ));
                        return;
                    }
                    if r.node != n {
                        self.nodes[n].card.stats.link_bytes += pb as u64 * r.pages as u64;
                    }
                    let ps = self.cfg.page_sectors as u64;
                    let sb = self.cfg.sector_bytes as usize;
                    for (i, p) in pages.iter().enumerate() {
                        let at = self.iova(n, *p);
                        let pno = r.first + i as u64;
                        for bit in 0..ps {
                            let sector = pno * ps + bit;
                            if !(r.lba..r.lba + r.sectors as u64).contains(&sector) {
                                continue;
                            }
                            let o = at + bit as usize * sb;
                            let bytes = self.nodes[n].mem[o..o + sb].to_vec();
                            let floor = floors[(sector - r.lba) as usize];
                            if let Err(e) =
                                self.reference.check(r.lun, sector, floor, self.now, &bytes)
                            {
                                self.fail(format!("read {req} on node {n}: {e}"));
                            }
                        }
                        self.report.reads_checked += 1;
                    }
                }
            }
            Action::CompleteWrite { req, result } => {
                if self.reqs.get(&req).is_some_and(|r| r.orphan) {
                    return;
                }
                if result == Err(crate::Error::PartnerLost) {
                    // The owner it was forwarded to is unreachable: the
                    // outcome is unknown and the owner may still carry it
                    // out, so it stays in flight for good.
                    if let Some(r) = self.reqs.get_mut(&req) {
                        r.orphan = true;
                    }
                    return;
                }
                let Some(r) = self.reqs.remove(&req) else {
                    return;
                };
                let ReqKind::Write { id } = r.kind else {
                    return;
                };
                let range = r.lba..r.lba + r.sectors as u64;
                let pages = r.first..r.first + r.pages as u64;
                match result {
                    Ok(()) => {
                        // A write issued after the partner left and
                        // acknowledged before it is back must be marked.
                        let away = self.nodes[n].fw.phase() == crate::Phase::Degraded
                            || self.nodes[n].fw.failing_back();
                        let after = r.issued > self.away_since[n];
                        if away && after && crate::Config::home_of(r.lun) as usize != n {
                            for p in pages.clone() {
                                self.away_acked[n].insert((r.lun, p));
                            }
                        }
                        self.report.writes_acked += 1;
                        self.report.workload_last_step = self.step;
                        self.reference.ack(id, r.lun, range, self.now);
                        if self.split_window && r.issued >= self.cut_at {
                            // From the cut until the pair is whole again only
                            // one side may acknowledge new writes to a LUN:
                            // a write issued after the cut cannot have been
                            // mirrored, so the losing side must not ack it
                            // (idea 9).
                            let prev = *self.cut_acks.entry(r.lun).or_insert(n);
                            if prev != n {
                                self.fail(format!(
                                    "both controllers acknowledged writes to LUN {} during a link cut",
                                    r.lun
                                ));
                            }
                        }
                    }
                    Err(_) => self.reference.close(id, r.lun, range, self.now),
                }
            }
            Action::CompleteFlush { req, .. } | Action::CompleteTrim { req, .. } => {
                self.reqs.remove(&req);
            }
            Action::DiskRead { io, lun, lba, page } => {
                let lat = self.rng.range(2, 8);
                let inc = self.nodes[n].inc;
                let pg = lba / self.cfg.page_sectors as u64;
                self.at(
                    self.now + lat,
                    Ev::Disk(
                        n,
                        inc,
                        DiskReq::Read {
                            io,
                            lun,
                            page: pg,
                            at: page,
                        },
                    ),
                );
            }
            Action::DiskWrite {
                io,
                lun,
                lba,
                page,
                epoch,
            } => {
                let lat = self.rng.range(3, 12);
                let inc = self.nodes[n].inc;
                let pg = lba / self.cfg.page_sectors as u64;
                self.at(
                    self.now + lat,
                    Ev::Disk(
                        n,
                        inc,
                        DiskReq::Write {
                            io,
                            lun,
                            page: pg,
                            at: page,
                            epoch,
                        },
                    ),
                );
            }
            Action::DiskFlush { io, epoch, .. } => {
                let lat = self.rng.range(1, 4);
                let inc = self.nodes[n].inc;
                self.at(
                    self.now + lat,
                    Ev::Disk(n, inc, DiskReq::Flush { io, epoch }),
                );
            }
            Action::Send(m) => {
                if let Message::ForwardWrite { req, .. } | Message::ForwardRead { req, .. } = &m {
                    if let Some(r) = self.reqs.get_mut(req) {
                        r.forwarded = true;
                    }
                }
                let bytes = match &m {
                    Message::CopyBack { entries } => 16 * entries.len() as u64,
                    _ => 64,
                };
                self.send(n, m, bytes);
            }
            Action::FenceDisks { epoch } => self.fence = self.fence.max(epoch),
            Action::Inbound { open } => self.nodes[n].inbound_open = open,
            Action::AbortDma => {
                let inc = self.nodes[n].inc;
                for c in self.nodes[n].card.fail_all() {
                    self.at(self.now, Ev::Input(n, inc, Input::Dma(c)));
                }
            }
            Action::ScanMirrorArea => {
                let c = self.nodes[n].fw.config().clone();
                let lay = c.hosted_area();
                let base = c.area_base() as usize;
                let heads: Vec<[u8; 64]> = (0..lay.slots)
                    .map(|s| {
                        let h = base + lay.header_offset(s) as usize;
                        let mut b = [0u8; 64];
                        b.copy_from_slice(&self.nodes[n].mem[h..h + 64]);
                        b
                    })
                    .collect();
                let inc = self.nodes[n].inc;
                self.at(
                    self.now + 1,
                    Ev::Input(n, inc, Input::MirrorAreaScanned(heads)),
                );
            }
            Action::ClearMirrorArea => {
                let c = self.nodes[n].fw.config().clone();
                let base = c.area_base() as usize;
                let len = c.hosted_area().header_table_bytes() as usize;
                self.nodes[n].mem[base..base + len].fill(0);
            }
            Action::StageSlot { slot, page, record } => {
                let c = self.nodes[n].fw.config().clone();
                let lay = c.hosted_area();
                let base = c.area_base() as usize;
                let src = self.iova(n, page);
                let dst = base + lay.data_offset(slot as u32) as usize;
                if src != dst {
                    self.nodes[n].mem.copy_within(src..src + pb, dst);
                }
                let h = base + lay.header_offset(slot as u32) as usize;
                self.nodes[n].mem[h..h + 64].copy_from_slice(&record.encode());
            }
        }
    }
}
