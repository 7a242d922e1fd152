//! The host side of the simulator: workload generation, routing of
//! requests to a controller, and the reference-model bookkeeping of issue.

use super::world::*;
use crate::config::Config;
use crate::event::Input;

impl World {
    pub(super) fn route(&mut self, lun: u32) -> Option<usize> {
        let home = Config::home_of(lun) as usize;
        let mut n = home;
        if self.cfg.misroute_pct > 0 && self.rng.chance(self.cfg.misroute_pct) {
            n ^= 1;
        }
        if !self.nodes[n].alive {
            n ^= 1;
        }
        self.nodes[n].alive.then_some(n)
    }

    /// Records a host request in flight and hands it to controller `n`.
    fn submit(&mut self, n: usize, kind: ReqKind, input: Input) {
        let (Input::HostWrite {
            req,
            lun,
            lba,
            sectors,
        }
        | Input::HostRead {
            req,
            lun,
            lba,
            sectors,
        }) = input
        else {
            return;
        };
        // First page and page count of the sector range.
        let ps = self.cfg.page_sectors as u64;
        let first = lba / ps;
        let pages = ((lba + sectors as u64 - 1) / ps - first + 1) as u32;
        self.reqs.insert(
            req,
            HostReq {
                kind,
                lun,
                lba,
                sectors,
                first,
                pages,
                node: n,
                issued: self.now,
                forwarded: false,
                orphan: false,
            },
        );
        let inc = self.nodes[n].inc;
        self.at(self.now, Ev::Input(n, inc, input));
    }

    pub(super) fn issue(&mut self, op: Op) {
        if self.report.workload_first_step == 0 && !self.stopping {
            self.report.workload_first_step = self.step;
        }
        let req = self.next_req;
        self.next_req += 1;
        match op {
            Op::Write { lun, lba, sectors } => {
                let Some(n) = self.route(lun) else { return };
                let id = self.next_write;
                self.next_write += 1;
                self.report.writes_issued += 1;
                self.reference
                    .issue(id, lun, lba..lba + sectors as u64, self.now);
                let input = Input::HostWrite {
                    req,
                    lun,
                    lba,
                    sectors,
                };
                self.submit(n, ReqKind::Write { id }, input);
            }
            Op::Read { lun, lba, sectors } => {
                let Some(n) = self.route(lun) else { return };
                let floors = (lba..lba + sectors as u64)
                    .map(|s| self.reference.floor(lun, s))
                    .collect();
                let input = Input::HostRead {
                    req,
                    lun,
                    lba,
                    sectors,
                };
                self.submit(n, ReqKind::Read { floors }, input);
            }
            Op::Flush => {
                // A host flush goes to both controllers: each hardens its own
                // dirty lines.
                for n in 0..2 {
                    if !self.nodes[n].alive {
                        continue;
                    }
                    let req = if n == 0 { req } else { self.next_req };
                    if n == 1 {
                        self.next_req += 1;
                    }
                    self.reqs.insert(
                        req,
                        HostReq {
                            kind: ReqKind::Other,
                            lun: 0,
                            lba: 0,
                            sectors: 0,
                            first: 0,
                            pages: 0,
                            node: n,
                            issued: self.now,
                            forwarded: false,
                            orphan: false,
                        },
                    );
                    let inc = self.nodes[n].inc;
                    self.at(self.now, Ev::Input(n, inc, Input::HostFlush { req }));
                }
            }
        }
    }

    pub(super) fn host_op(&mut self) {
        let op = match &self.cfg.workload {
            Some(w) => match w.get(self.ops_issued as usize) {
                Some(op) => *op,
                None => return,
            },
            None => {
                if self.ops_issued >= self.cfg.ops {
                    return;
                }
                let lun = self.rng.below(self.cfg.luns as u64) as u32;
                let pages = self
                    .rng
                    .range(1, self.cfg.max_write_pages as u64)
                    .min(self.cfg.lun_pages) as u32;
                let page = self.rng.below(self.cfg.lun_pages - pages as u64 + 1);
                let ps = self.cfg.page_sectors as u64;
                // Half the requests are page aligned, half start and end
                // anywhere (partial pages: read-modify-write, idea 4 bitmaps).
                let (lba, sectors) = if self.rng.chance(50) {
                    (page * ps, pages * ps as u32)
                } else {
                    let lba = page * ps + self.rng.below(ps);
                    let max = self.cfg.lun_pages * ps - lba;
                    (lba, self.rng.range(1, (pages as u64 * ps).min(max)) as u32)
                };
                match self.rng.below(10) {
                    0..=5 => Op::Write { lun, lba, sectors },
                    6..=8 => Op::Read { lun, lba, sectors },
                    _ => Op::Flush,
                }
            }
        };
        self.ops_issued += 1;
        self.issue(op);
        let gap = if self.cfg.workload.is_some() {
            3
        } else {
            self.rng.range(1, 8)
        };
        self.at(self.now + gap, Ev::HostOp);
    }

    pub(super) fn workload_done(&self) -> bool {
        match &self.cfg.workload {
            Some(w) => self.ops_issued as usize >= w.len(),
            None => self.ops_issued >= self.cfg.ops,
        }
    }
}
