//! The two-controller world: firmware, card models, memories, shared disks,
//! host workload, faults, and the checks (reference model, hardening
//! superset, mirror copies, failback exactness).

use std::collections::BTreeMap;

use super::card::CardModel;
use super::reference::{pattern, Reference};
use super::rng::SplitMix64;
use crate::cache::PageRef;
use crate::config::{Config, HardeningMode, MetadataMode, Mutation, OwnershipPolicy};
use crate::controller::{Controller, Phase};
use crate::event::{DiskStatus, Input, Message, ReqId};

/// A fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Controller crash: its memory is lost; it restarts later.
    Crash(usize),
    LinkCut,
    LinkHeal,
}

/// When a fault fires: at a simulated time or before the n-th event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    Time(u64),
    Step(u64),
    /// `n` ticks after the pair is whole again (both paired, same epoch,
    /// no failback running, link up) — a failure after full recovery.
    WhenWhole(u64),
}

/// A host operation of an explicit workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `lba` and `sectors` in sectors.
    Write {
        lun: u32,
        lba: u64,
        sectors: u32,
    },
    Read {
        lun: u32,
        lba: u64,
        sectors: u32,
    },
    Flush,
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub luns: u32,
    pub lun_pages: u64,
    pub page_sectors: u32,
    pub sector_bytes: u32,
    pub cache_bytes: [u64; 2],
    pub metadata: MetadataMode,
    pub hardening: HardeningMode,
    pub ownership: OwnershipPolicy,
    pub mutation: Mutation,
    /// Random operations (ignored when `workload` is given).
    pub ops: u32,
    pub max_write_pages: u32,
    /// Explicit workload, issued one op per `gap` ticks.
    pub workload: Option<Vec<Op>>,
    pub faults: Vec<(At, Fault)>,
    /// Percentage of disk commands that fail.
    pub disk_error_pct: u64,
    /// Percentage of host requests sent to the controller that does not own
    /// the LUN.
    pub misroute_pct: u64,
    pub check_invariants: bool,
}

impl SimConfig {
    pub fn small(seed: u64) -> Self {
        SimConfig {
            seed,
            luns: 2,
            lun_pages: 48,
            page_sectors: 8,
            sector_bytes: 16,
            cache_bytes: [16 * 1024, 16 * 1024],
            metadata: MetadataMode::PerLine,
            hardening: HardeningMode::FlushNotices,
            ownership: OwnershipPolicy::Forward,
            mutation: Mutation::None,
            ops: 40,
            max_write_pages: 16,
            workload: None,
            faults: Vec::new(),
            disk_error_pct: 0,
            misroute_pct: 0,
            check_invariants: true,
        }
    }
    pub fn controller(&self, id: usize) -> Config {
        let mut c = Config::new(id as u16, self.cache_bytes[id]);
        c.page_sectors = self.page_sectors;
        c.sector_bytes = self.sector_bytes;
        c.luns = self.luns;
        c.lun_pages = self.lun_pages;
        c.metadata = self.metadata;
        c.hardening = self.hardening;
        c.ownership = self.ownership;
        c.range_tracks = 16;
        c.mutation = self.mutation;
        c
    }
}

/// What a run did and what it found.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub seed: u64,
    pub steps: u64,
    pub end_time: u64,
    pub writes_issued: u64,
    pub writes_acked: u64,
    pub reads_checked: u64,
    pub crashes: u64,
    /// Controllers that found themselves fenced and restarted.
    pub fenced_restarts: u64,
    pub failbacks: u64,
    pub copyback_bytes: u64,
    pub marked_bytes: u64,
    /// Valid mirror records the survivor did not adopt because its hardening
    /// bitmaps proved the track hardened.
    pub adoptions_skipped: u64,
    /// Failbacks whose marked set was checked against the host's writes.
    pub marked_checks: u64,
    pub link_messages: u64,
    pub link_bytes: u64,
    /// Link traffic from the start to the end of the workload (settled),
    /// without the final read-back.
    pub workload_link_messages: u64,
    pub workload_link_bytes: u64,
    /// Step of the first host operation, of the last acknowledgement, and
    /// at which the pair settled: the window of interesting crash points.
    pub workload_first_step: u64,
    pub workload_last_step: u64,
    pub settled_step: u64,
    /// Violations; empty means the run passed.
    pub failures: Vec<String>,
}

pub(super) enum DiskReq {
    Read {
        io: u64,
        lun: u32,
        page: u64,
        at: PageRef,
    },
    Write {
        io: u64,
        lun: u32,
        page: u64,
        at: PageRef,
        epoch: u32,
    },
    Flush {
        io: u64,
        epoch: u32,
    },
}

pub(super) enum Ev {
    Input(usize, u32, Input),
    Card(usize, u32),
    Disk(usize, u32, DiskReq),
    Tick(usize, u32),
    HostOp,
    Restart(usize),
}

#[derive(Clone, Debug)]
pub(super) enum ReqKind {
    Read { floors: Vec<u64> },
    Write { id: u64 },
    Other,
}

impl HostReq {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            ReqKind::Read { .. } => "read",
            ReqKind::Write { .. } => "write",
            ReqKind::Other => "flush",
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct HostReq {
    pub(super) kind: ReqKind,
    pub(super) lun: u32,
    pub(super) lba: u64,
    pub(super) sectors: u32,
    pub(super) first: u64,
    pub(super) pages: u32,
    pub(super) node: usize,
    pub(super) issued: u64,
    /// Sent on to the owner by the controller it reached.
    pub(super) forwarded: bool,
    /// Its controller died after forwarding it: the owner may still carry
    /// it out, but nobody will answer the host.
    pub(super) orphan: bool,
}

pub(super) struct Node {
    pub(super) fw: Controller,
    pub(super) mem: Vec<u8>,
    pub(super) card: CardModel,
    pub(super) alive: bool,
    pub(super) inc: u32,
    pub(super) card_scheduled: bool,
    pub(super) restart_pending: bool,
    /// NTB inbound window into the hosted mirror area and metadata ring.
    pub(super) inbound_open: bool,
}

pub struct World {
    pub(super) cfg: SimConfig,
    pub(super) rng: SplitMix64,
    pub(super) now: u64,
    pub(super) step: u64,
    pub(super) seq: u64,
    pub(super) nodes: Vec<Node>,
    pub(super) disk: BTreeMap<(u32, u64), Vec<u8>>,
    pub(super) fence: u32,
    pub(super) link_cut: bool,
    pub(super) events: BTreeMap<(u64, u64), Ev>,
    pub(super) reference: Reference,
    pub(super) reqs: BTreeMap<ReqId, HostReq>,
    pub(super) next_req: ReqId,
    pub(super) next_write: u64,
    pub(super) ops_issued: u32,
    pub(super) faults: Vec<(At, Fault)>,
    pub(super) cut_acks: BTreeMap<u32, usize>,
    pub(super) stopping: bool,
    pub(super) trace: bool,
    pub(super) link_last: [u64; 2],
    /// Per node, while it runs without its partner: tracks of the partner's
    /// LUNs it acknowledged writes to, and tracks it landed data for.
    pub(super) away_acked: [std::collections::BTreeSet<(u32, u64)>; 2],
    pub(super) away_landed: [std::collections::BTreeSet<(u32, u64)>; 2],
    pub(super) was_degraded: [bool; 2],
    pub(super) failbacks_seen: [u64; 2],
    pub(super) away_since: [u64; 2],
    /// A link cut happened and the pair has not come back together since.
    pub(super) split_window: bool,
    pub(super) cut_at: u64,
    pub report: RunReport,
}

const VERDICT_DELAY: u64 = 40;
const RESTART_DELAY: u64 = 120;

impl World {
    pub fn new(cfg: SimConfig) -> Self {
        let c0 = cfg.controller(0);
        let c1 = cfg.controller(1);
        let node = |own: &Config, other: &Config| Node {
            fw: Controller::new(own.clone()),
            mem: vec![0; own.cache_bytes as usize],
            card: CardModel::new(own, other),
            alive: true,
            inc: 0,
            card_scheduled: false,
            restart_pending: false,
            inbound_open: true,
        };
        let nodes = vec![node(&c0, &c1), node(&c1, &c0)];
        let cfg_sector_bytes = c0.sector_bytes as usize;
        let mut w = World {
            rng: SplitMix64::new(cfg.seed),
            faults: cfg.faults.clone(),
            report: RunReport {
                seed: cfg.seed,
                ..Default::default()
            },
            cfg,
            now: 0,
            step: 0,
            seq: 0,
            nodes,
            disk: BTreeMap::new(),
            fence: 0,
            link_cut: false,
            events: BTreeMap::new(),
            reference: Reference::new(cfg_sector_bytes),
            reqs: BTreeMap::new(),
            next_req: 1,
            next_write: 1,
            ops_issued: 0,
            cut_acks: BTreeMap::new(),
            stopping: false,
            link_last: [0; 2],
            split_window: false,
            cut_at: 0,
            away_acked: Default::default(),
            away_landed: Default::default(),
            was_degraded: [false; 2],
            failbacks_seen: [0; 2],
            away_since: [0; 2],
            trace: std::env::var("DUPLEX_TRACE").is_ok(),
        };
        for n in 0..2 {
            w.at(0, Ev::Input(n, 0, Input::Start));
            w.at(1, Ev::Input(n, 0, Input::LinkUp));
            w.at(5, Ev::Tick(n, 0));
        }
        w.at(10, Ev::HostOp);
        w
    }

    pub(super) fn page_bytes(&self) -> usize {
        (self.cfg.page_sectors * self.cfg.sector_bytes) as usize
    }
    pub(super) fn at(&mut self, t: u64, e: Ev) {
        self.seq += 1;
        self.events.insert((t, self.seq), e);
    }
    pub(super) fn link_ok(&self) -> bool {
        !self.link_cut && self.nodes.iter().all(|n| n.alive)
    }
    pub(super) fn fail(&mut self, msg: String) {
        if self.report.failures.len() < 8 {
            self.report
                .failures
                .push(format!("t={} step={}: {msg}", self.now, self.step));
        }
    }
    pub fn controller(&self, n: usize) -> &Controller {
        &self.nodes[n].fw
    }

    pub(super) fn iova(&self, n: usize, p: PageRef) -> usize {
        self.nodes[n].fw.config().page_iova(p) as usize
    }
    pub(super) fn disk_page(&self, lun: u32, page: u64) -> Vec<u8> {
        self.disk.get(&(lun, page)).cloned().unwrap_or_else(|| {
            let ps = self.cfg.page_sectors as u64;
            let sb = self.cfg.sector_bytes as usize;
            (page * ps..(page + 1) * ps)
                .flat_map(|s| pattern(0, lun, s, sb))
                .collect()
        })
    }

    /// Runs one event; false when the queue is empty.
    pub(super) fn step_once(&mut self) -> bool {
        // Faults keyed by step or time fire before the event.
        let (t, _) = match self.events.first_key_value() {
            Some((k, _)) => *k,
            None => return false,
        };
        // A failure "once whole again" is armed only when every fault before
        // it has fired and the pair has recovered from them.
        if let Some((At::WhenWhole(d), _)) = self.faults.first().copied() {
            if self.pair_whole() {
                self.faults[0].0 = At::Time(self.now + d);
            }
        }
        let due: Vec<Fault> = self
            .faults
            .iter()
            .filter(|(a, _)| match a {
                At::Step(s) => *s <= self.step,
                At::Time(x) => *x <= t,
                At::WhenWhole(_) => false,
            })
            .map(|(_, f)| *f)
            .collect();
        if !due.is_empty() {
            self.faults.retain(|(a, _)| match a {
                At::Step(s) => *s > self.step,
                At::Time(x) => *x > t,
                At::WhenWhole(_) => true,
            });
            for f in due {
                self.inject(f);
            }
        }
        let Some(((t, _), ev)) = self.events.pop_first() else {
            return false;
        };
        self.now = t;
        self.step += 1;
        match ev {
            Ev::Input(n, inc, i) => {
                if self.nodes[n].alive && self.nodes[n].inc == inc {
                    self.deliver(n, i);
                }
            }
            Ev::Card(n, inc) => {
                if self.nodes[n].alive && self.nodes[n].inc == inc {
                    self.card_step(n);
                }
            }
            Ev::Disk(n, inc, r) => {
                if self.nodes[n].alive && self.nodes[n].inc == inc {
                    self.disk_io(n, r);
                }
            }
            Ev::Tick(n, inc) => {
                if self.nodes[n].alive && self.nodes[n].inc == inc {
                    self.deliver(n, Input::Tick);
                    let gap = self.rng.range(4, 12);
                    self.at(self.now + gap, Ev::Tick(n, inc));
                }
            }
            Ev::HostOp => self.host_op(),
            Ev::Restart(n) => self.restart(n),
        }
        if self.cfg.check_invariants {
            self.check_hardening();
        }
        if self.split_window && self.link_ok() {
            let (a, b) = (&self.nodes[0].fw, &self.nodes[1].fw);
            if a.phase() == Phase::Paired && b.phase() == Phase::Paired && a.epoch() == b.epoch() {
                self.split_window = false;
            }
        }
        true
    }

    pub(super) fn inject(&mut self, f: Fault) {
        if self.trace {
            eprintln!("t={} FAULT {f:?}", self.now);
        }
        match f {
            Fault::Crash(n) => self.crash(n),
            Fault::LinkCut => {
                if self.link_cut {
                    return;
                }
                let was_ok = self.link_ok();
                self.link_cut = true;
                self.split_window = true;
                self.cut_at = self.now;
                self.cut_acks.clear();
                if was_ok {
                    for n in 0..2 {
                        let inc = self.nodes[n].inc;
                        self.at(self.now, Ev::Input(n, inc, Input::LinkDown));
                    }
                    // The arbiter gives the verdict to one side only.
                    let w = self.rng.below(2) as usize;
                    let inc = self.nodes[w].inc;
                    self.at(
                        self.now + VERDICT_DELAY,
                        Ev::Input(w, inc, Input::PartnerDead),
                    );
                }
            }
            Fault::LinkHeal => {
                if !self.link_cut {
                    return;
                }
                self.link_cut = false;
                if self.link_ok() {
                    for n in 0..2 {
                        let inc = self.nodes[n].inc;
                        self.at(self.now, Ev::Input(n, inc, Input::LinkUp));
                    }
                }
            }
        }
    }

    pub(super) fn crash(&mut self, n: usize) {
        if !self.nodes[n].alive {
            return;
        }
        self.report.crashes += 1;
        let was_ok = self.link_ok();
        self.lose(n);
        let p = n ^ 1;
        if was_ok && self.nodes[p].alive {
            let inc = self.nodes[p].inc;
            self.at(self.now, Ev::Input(p, inc, Input::LinkDown));
            self.at(
                self.now + VERDICT_DELAY,
                Ev::Input(p, inc, Input::PartnerDead),
            );
        }
        self.nodes[n].restart_pending = true;
        self.at(self.now + RESTART_DELAY, Ev::Restart(n));
    }

    /// Node `n` goes down: memory lost; the host's requests to it are lost.
    pub(super) fn lose(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.alive = false;
        node.inc += 1;
        node.mem.fill(0);
        node.card_scheduled = false;
        let cfg = [self.cfg.controller(0), self.cfg.controller(1)];
        node.card = CardModel::new(&cfg[n], &cfg[n ^ 1]);
        let lost: Vec<ReqId> = self
            .reqs
            .iter()
            .filter(|(_, r)| r.node == n && !r.orphan)
            .map(|(k, _)| *k)
            .collect();
        for id in lost {
            if self.reqs[&id].forwarded && matches!(self.reqs[&id].kind, ReqKind::Write { .. }) {
                // The owner may still land it: it stays in flight for good.
                self.reqs.get_mut(&id).expect("req").orphan = true;
                continue;
            }
            let r = self.reqs.remove(&id).expect("req");
            if let ReqKind::Write { id } = r.kind {
                self.reference
                    .close(id, r.lun, r.lba..r.lba + r.sectors as u64, self.now);
            }
        }
    }

    pub(super) fn restart(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.restart_pending = false;
        if node.alive {
            return;
        }
        node.fw = Controller::new(self.cfg.controller(n));
        node.alive = true;
        node.inbound_open = true;
        node.mem.fill(0);
        let inc = node.inc;
        self.at(self.now, Ev::Input(n, inc, Input::Start));
        self.at(self.now + 1, Ev::Tick(n, inc));
        if self.link_ok() {
            self.at(self.now + 1, Ev::Input(n, inc, Input::LinkUp));
            let p = n ^ 1;
            let pinc = self.nodes[p].inc;
            self.at(self.now + 1, Ev::Input(p, pinc, Input::LinkUp));
            self.at(self.now + 1, Ev::Input(p, pinc, Input::PartnerBack));
        }
    }

    pub(super) fn deliver(&mut self, n: usize, input: Input) {
        let trace = self.trace;
        if trace {
            eprintln!("t={} node {n} <- {input:?}", self.now);
        }
        let actions = self.nodes[n].fw.handle(input, self.now);
        for a in actions {
            if trace {
                eprintln!("t={} node {n} -> {a:?}", self.now);
            }
            self.apply(n, a);
        }
        let degraded = self.nodes[n].fw.phase() == Phase::Degraded;
        if degraded && !self.was_degraded[n] {
            // A new absence of the partner starts.
            self.away_acked[n].clear();
            self.away_since[n] = self.now;
        }
        self.was_degraded[n] = degraded;
        // At each completed failback (not one a new partner death aborted).
        let completed = self.nodes[n].fw.stats.failbacks_completed;
        if completed > self.failbacks_seen[n] {
            self.failbacks_seen[n] = completed;
            self.check_marked(n);
            self.away_landed[n].clear();
        }
        if self.nodes[n].fw.phase() == Phase::Fenced && !self.nodes[n].restart_pending {
            // A fenced controller reboots: same as a crash without a verdict.
            self.report.fenced_restarts += 1;
            self.lose(n);
            self.nodes[n].restart_pending = true;
            self.at(self.now + RESTART_DELAY / 2, Ev::Restart(n));
        }
    }

    pub(super) fn send(&mut self, n: usize, m: Message, bytes: u64) {
        if !self.link_ok() {
            return;
        }
        self.nodes[n].card.stats.link_messages += 1;
        self.nodes[n].card.stats.link_bytes += bytes;
        let p = n ^ 1;
        let inc = self.nodes[p].inc;
        // The link is FIFO per direction.
        let lat = self.rng.range(1, 3);
        let t = (self.now + lat).max(self.link_last[n]);
        self.link_last[n] = t;
        self.at(t, Ev::Input(p, inc, Input::Message(m)));
    }

    pub(super) fn card_step(&mut self, n: usize) {
        let p = n ^ 1;
        let ok = self.link_ok() && self.nodes[p].inbound_open;
        let cfg = self.nodes[n].fw.config().clone();
        let (a, b) = self.nodes.split_at_mut(1);
        let (me, other) = if n == 0 {
            (&mut a[0], &mut b[0])
        } else {
            (&mut b[0], &mut a[0])
        };
        let iova = |r: PageRef| cfg.page_iova(r);
        let remote = if ok {
            Some(other.mem.as_mut_slice())
        } else {
            None
        };
        let out = me.card.step(&mut me.mem, remote, &iova);
        let busy = me.card.busy();
        if !out.records.is_empty() && ok {
            let inc = self.nodes[p].inc;
            self.at(self.now, Ev::Input(p, inc, Input::MetaRecords(out.records)));
        }
        let inc = self.nodes[n].inc;
        for c in out.completion.into_iter().chain(out.failed) {
            self.at(self.now + 1, Ev::Input(n, inc, Input::Dma(c)));
        }
        if busy {
            let lat = self.rng.range(1, 3);
            self.at(self.now + lat, Ev::Card(n, inc));
        } else {
            self.nodes[n].card_scheduled = false;
        }
    }

    pub(super) fn disk_io(&mut self, n: usize, r: DiskReq) {
        let pb = self.page_bytes();
        let err = self.cfg.disk_error_pct > 0 && self.rng.chance(self.cfg.disk_error_pct);
        let (io, st) = match r {
            DiskReq::Read { io, lun, page, at } => {
                if err {
                    (io, DiskStatus::Error)
                } else {
                    let bytes = self.disk_page(lun, page);
                    let a = self.iova(n, at);
                    self.nodes[n].mem[a..a + pb].copy_from_slice(&bytes);
                    (io, DiskStatus::Ok)
                }
            }
            DiskReq::Write {
                io,
                lun,
                page,
                at,
                epoch,
            } => {
                if epoch < self.fence {
                    (io, DiskStatus::Fenced)
                } else if err {
                    (io, DiskStatus::Error)
                } else {
                    let a = self.iova(n, at);
                    let bytes = self.nodes[n].mem[a..a + pb].to_vec();
                    self.disk.insert((lun, page), bytes);
                    (io, DiskStatus::Ok)
                }
            }
            DiskReq::Flush { io, epoch } => {
                if epoch < self.fence {
                    (io, DiskStatus::Fenced)
                } else {
                    (io, DiskStatus::Ok)
                }
            }
        };
        self.deliver(n, Input::DiskDone { io, status: st });
    }

    fn run_until(&mut self, limit: u64, done: impl Fn(&World) -> bool) -> bool {
        while !done(self) {
            if self.now > limit || !self.step_once() {
                return false;
            }
        }
        true
    }
}

/// Runs one seed to the end: workload with faults, heal, settle, checks,
/// then a read of every page.
pub fn run(cfg: SimConfig) -> RunReport {
    let mut w = World::new(cfg);
    let limit = 200_000;
    w.run_until(limit, |w| w.workload_done() && w.faults.is_empty());
    // Heal: reconnect, restart the dead, let failback finish.
    w.inject(Fault::LinkHeal);
    for n in 0..2 {
        if !w.nodes[n].alive && !w.nodes[n].restart_pending {
            w.nodes[n].restart_pending = true;
            let t = w.now + 1;
            w.at(t, Ev::Restart(n));
        }
    }
    if !w.run_until(limit, |w| w.settled()) {
        let s: Vec<String> = w
            .nodes
            .iter()
            .map(|n| format!("{:?} {}", n.fw.phase(), n.fw.busy_reasons()))
            .chain(w.reqs.iter().take(3).map(|(id, r)| {
                format!("req {id}: {:?} lun {} lba {}", r.kind_name(), r.lun, r.lba)
            }))
            .collect();
        w.fail(format!("did not settle: {s:?}"));
        return finish(w);
    }
    w.report.settled_step = w.step;
    for n in &w.nodes {
        w.report.workload_link_messages += n.card.stats.link_messages;
        w.report.workload_link_bytes += n.card.stats.link_bytes;
    }
    w.check_copies();
    // Failback exactness (idea 10): bytes copied back = marked tracks × size.
    for n in 0..2 {
        let s = &w.nodes[n].fw.stats;
        if s.failbacks > 0 {
            let copied = w.nodes[n ^ 1].card.stats.copyback_bytes;
            let marked = s.tracks_handed_back * w.page_bytes() as u64;
            w.report.failbacks += s.failbacks;
            w.report.copyback_bytes += copied;
            w.report.marked_bytes += marked;
            if copied != marked {
                w.fail(format!(
                    "failback copied {copied} bytes, marked tracks are {marked} bytes"
                ));
            }
        }
    }
    // Read everything back.
    w.stopping = true;
    let luns = w.cfg.luns;
    let lp = w.cfg.lun_pages;
    for lun in 0..luns {
        for page in (0..lp).step_by(8) {
            let pages = 8.min(lp - page) as u32;
            let ps = w.cfg.page_sectors as u64;
            w.issue(Op::Read {
                lun,
                lba: page * ps,
                sectors: pages * ps as u32,
            });
        }
    }
    if !w.run_until(limit * 2, |w| w.reqs.values().all(|r| r.orphan)) {
        w.fail("final reads did not complete".into());
    }
    finish(w)
}

fn finish(mut w: World) -> RunReport {
    w.report.steps = w.step;
    w.report.end_time = w.now;
    for n in &w.nodes {
        w.report.adoptions_skipped += n.fw.stats.adoptions_skipped_hardened;
        w.report.link_messages += n.card.stats.link_messages;
        w.report.link_bytes += n.card.stats.link_bytes;
        for (code, c) in n.card.stats.errors.iter().enumerate() {
            if *c > 0
                && ![
                    duplex_regs::status::LINK_DOWN,
                    duplex_regs::status::NO_SLOTS,
                ]
                .contains(&(code as u8))
            {
                let e = format!("card error {} x{c}", duplex_regs::status::name(code as u8));
                w.report.failures.push(e);
            }
        }
        if n.fw.stats.records_rejected > 0 {
            w.report
                .failures
                .push(format!("{} records rejected", n.fw.stats.records_rejected));
        }
    }
    w.report
}
