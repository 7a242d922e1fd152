//! The Verilated mirror-slot allocator against its reference model
//! (`duplex_hdl::slot_allocator_model`): seeded random streams on both
//! requesters at once, bounded-exhaustive sequences for N <= 8, and the
//! register view (counts, high-water mark, sticky errors, init rules).

use duplex_hdl::slot_allocator_model::{AllocOp, SlotAllocatorModel};
use duplex_regs::slot_alloc::{self as a, status};
use duplex_sim::allocator::{AllocatorSim, DmaRequest};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

fn seed(default: u64) -> u64 {
    std::env::var("DUPLEX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn to_op(r: DmaRequest) -> AllocOp {
    match r {
        DmaRequest::Alloc { count } => AllocOp::Alloc { count },
        DmaRequest::Free { slot } => AllocOp::Free { slot },
    }
}

#[test]
fn first_allocs_hand_out_slots_in_order_two_cycles_after_the_request() {
    let mut hw = AllocatorSim::new(32).unwrap();
    hw.init(8, false).unwrap();
    hw.set_request(Some(DmaRequest::Alloc { count: 3 }));
    let c0 = hw.cycle();
    assert!(c0.taken);
    hw.set_request(Some(DmaRequest::Free { slot: 1 }));
    let c1 = hw.cycle();
    assert!(c1.taken && c1.response.is_none());
    hw.set_request(Some(DmaRequest::Alloc { count: 2 }));
    let c2 = hw.cycle();
    let r = c2.response.expect("response two cycles after the request");
    assert_eq!((r.status, r.slots), (status::OK, vec![0, 1, 2]));
    hw.set_request(None);
    let r = hw.cycle().response.unwrap();
    assert_eq!((r.status, r.slots.len()), (status::OK, 0));
    let r = hw.cycle().response.unwrap();
    assert_eq!((r.status, r.slots), (status::OK, vec![1, 3]));
    assert_eq!(hw.read_reg(a::FREE_COUNT), 4);
    assert_eq!(hw.read_reg(a::ALLOC_COUNT), 4);
    assert_eq!(hw.read_reg(a::HIGH_WATER), 4);
}

/// Checks every response of `hw` against `model` while two requesters drive
/// it: the DMA port (valid held until taken) and software through OP/RESULT.
struct Harness {
    hw: AllocatorSim,
    model: SlotAllocatorModel,
    rng: ChaCha8Rng,
    seed: u64,
    /// Slots the model says are allocated (to pick meaningful frees).
    held: Vec<u32>,
    dma_req: Option<DmaRequest>,
    dma_expect: VecDeque<(u64, u32, Vec<u32>)>,
    sw_op: Option<DmaRequest>,
    /// 0 idle, 1 OP written, 2 taken (result due), 3.. reading the result.
    sw_phase: u32,
    sw_due: u64,
    sw_expect: (u32, Vec<u32>),
    sw_seq: u32,
    sw_words: Vec<u32>,
    /// Percent chance per cycle that each requester presents a new operation.
    dma_pct: u32,
    sw_pct: u32,
    /// Percent of allocs (vs frees) among new operations.
    alloc_pct: u32,
    pub checked: u64,
    pub contended: u64,
}

impl Harness {
    fn new(max: u32, seed: u64) -> Self {
        Self {
            hw: AllocatorSim::new(max).unwrap(),
            model: SlotAllocatorModel::new(max),
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            held: Vec::new(),
            dma_req: None,
            dma_expect: VecDeque::new(),
            sw_op: None,
            sw_phase: 0,
            sw_due: 0,
            sw_expect: (0, Vec::new()),
            sw_seq: 0,
            sw_words: Vec::new(),
            dma_pct: 90,
            sw_pct: 30,
            alloc_pct: 50,
            checked: 0,
            contended: 0,
        }
    }

    fn random_op(&mut self) -> DmaRequest {
        let n = self.model.slots().max(1);
        let r = self.rng.gen_range(0..100);
        if self.rng.gen_range(0..100) < self.alloc_pct {
            let count = match r {
                0..=54 => 1,
                55..=94 => self.rng.gen_range(2..=16),
                95..=97 => 0,
                _ => self.rng.gen_range(17..=31),
            };
            DmaRequest::Alloc { count }
        } else {
            let slot = match r {
                0..=79 if !self.held.is_empty() => {
                    self.held[self.rng.gen_range(0..self.held.len())]
                }
                0..=89 => self.rng.gen_range(0..n),
                90..=94 => self.rng.gen_range(0..n.min(8)),
                // Past N (a 16-bit slot number cannot be past 65,536 slots).
                _ if n <= 0xFFFF => self.rng.gen_range(n..=(n + 40).min(0xFFFF)),
                _ => self.rng.gen_range(0..n),
            };
            DmaRequest::Free { slot }
        }
    }

    fn apply(&mut self, op: DmaRequest) -> (u32, Vec<u32>) {
        let r = self.model.apply(to_op(op));
        if r.status == status::OK {
            match op {
                DmaRequest::Alloc { .. } => self.held.extend(&r.slots),
                DmaRequest::Free { slot } => {
                    let i = self.held.iter().position(|&s| s == slot).unwrap();
                    self.held.swap_remove(i);
                }
            }
        }
        (r.status, r.slots)
    }

    fn ctx(&self) -> String {
        format!(
            "seed {} (DUPLEX_SEED={} reproduces), cycle {}",
            self.seed,
            self.seed,
            self.hw.cycles()
        )
    }

    /// One cycle of both requesters; `issue` false lets traffic drain.
    fn step(&mut self, issue: bool) {
        if issue && self.dma_req.is_none() && self.rng.gen_range(0..100) < self.dma_pct {
            self.dma_req = Some(self.random_op());
        }
        self.hw.set_request(self.dma_req);
        let sw_pending = self.sw_phase == 1;
        if issue && self.sw_phase == 0 && self.rng.gen_range(0..100) < self.sw_pct {
            let op = self.random_op();
            let v = match op {
                DmaRequest::Alloc { count } => a::OP_COUNT.set(0, count),
                DmaRequest::Free { slot } => a::OP_SLOT.set(a::OP_FREE.set(0, 1), slot),
            };
            self.hw.write_reg(a::OP, v);
            self.sw_op = Some(op);
        }
        // Result read-back: RESULT, then the eight RESULT_SLOTS words.
        if self.sw_phase >= 3 {
            let i = self.sw_phase - 3;
            let reg = if i == 0 {
                a::RESULT
            } else {
                a::RESULT_SLOTS.at(i - 1)
            };
            self.hw.set_read(reg);
        }
        let now = self.hw.cycles();
        let c = self.hw.cycle();
        let ctx = self.ctx();

        if c.taken {
            let op = self.dma_req.take().unwrap();
            let (st, slots) = self.apply(op);
            self.dma_expect.push_back((now + 2, st, slots));
            if sw_pending {
                self.contended += 1;
            }
        } else if sw_pending {
            let op = self.sw_op.unwrap();
            self.sw_expect = self.apply(op);
            self.sw_due = now + 2;
            self.sw_phase = 2;
        }
        if self.sw_phase == 0 && self.sw_op.is_some() {
            self.sw_phase = 1;
        }
        match c.response {
            Some(r) => {
                let (due, st, slots) = self
                    .dma_expect
                    .pop_front()
                    .unwrap_or_else(|| panic!("{ctx}: response with no request: {r:?}"));
                assert_eq!(due, now, "{ctx}: response latency is not 2 cycles");
                assert_eq!(
                    (r.status, &r.slots),
                    (st, &slots),
                    "{ctx}: DMA response differs from the model ({})",
                    status::name(st)
                );
                self.checked += 1;
            }
            None => assert!(
                self.dma_expect.front().is_none_or(|e| e.0 > now),
                "{ctx}: missing response"
            ),
        }
        if self.sw_phase >= 3 {
            self.sw_words.push(c.rd_data);
            self.sw_phase += 1;
            if self.sw_phase == 3 + 1 + a::RESULT_SLOT_WORDS {
                self.check_sw_result();
            }
        } else if self.sw_phase == 2 && now == self.sw_due {
            self.sw_phase = 3;
        }
    }

    fn check_sw_result(&mut self) {
        let ctx = self.ctx();
        let w = std::mem::take(&mut self.sw_words);
        let res = w[0];
        self.sw_seq = (self.sw_seq + 1) & 0xFF;
        assert_eq!(a::RESULT_BUSY.get(res), 0, "{ctx}: RESULT still busy");
        assert_eq!(a::RESULT_SEQ.get(res), self.sw_seq, "{ctx}: RESULT.SEQ");
        let (st, slots) = std::mem::take(&mut self.sw_expect);
        assert_eq!(a::RESULT_STATUS.get(res), st, "{ctx}: software status");
        assert_eq!(a::RESULT_COUNT.get(res) as usize, slots.len(), "{ctx}");
        let mut got = Vec::new();
        for x in &w[1..] {
            got.push(a::RESULT_SLOT_LO.get(*x));
            got.push(a::RESULT_SLOT_HI.get(*x));
        }
        for (j, g) in got.iter().enumerate() {
            let want = slots.get(j).copied().unwrap_or(0);
            assert_eq!(*g, want, "{ctx}: RESULT_SLOTS entry {j}");
        }
        self.checked += 1;
        self.sw_op = None;
        self.sw_phase = 0;
    }

    /// Lets every operation in flight finish (and the software result be read).
    fn drain(&mut self) {
        while self.dma_req.is_some() || !self.dma_expect.is_empty() || self.sw_op.is_some() {
            self.step(false);
        }
    }

    /// With nothing in flight: the register view equals the model's.
    fn check_registers(&mut self) {
        let ctx = self.ctx();
        let m = &self.model;
        let c = m.counters;
        let want = [
            (a::FREE_COUNT, m.free_count()),
            (a::ALLOC_COUNT, m.allocated()),
            (a::HIGH_WATER, m.high_water()),
            (a::ACTIVE_SLOTS, m.slots()),
            (a::ERRORS, c.errors),
            (a::DOUBLE_FREE_COUNT, c.double_free),
            (a::NEVER_ALLOCATED_COUNT, c.never_allocated),
            (a::OUT_OF_RANGE_COUNT, c.out_of_range),
            (a::NOT_READY_COUNT, c.not_ready),
            (a::BAD_COUNT_COUNT, c.bad_count),
            (a::NO_SPACE_COUNT, c.no_space),
            (a::ALLOC_OPS, c.alloc_ops),
            (a::FREE_OPS, c.free_ops),
        ];
        for (reg, v) in want {
            assert_eq!(self.hw.read_reg(reg), v, "{ctx}: {}", reg.name);
        }
    }

    fn reinit(&mut self, n: u32) {
        self.drain();
        self.hw.init(n, true).unwrap();
        self.model.init(n, true).unwrap();
        self.held.clear();
    }
}

#[test]
fn a_million_random_operations_from_both_requesters_match_the_model() {
    let s = seed(0xA110C);
    let target: u64 = std::env::var("DUPLEX_ALLOC_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut h = Harness::new(65_536, s);
    // Operations before init are refused and counted.
    for _ in 0..50 {
        h.step(true);
    }
    h.drain();
    h.check_registers();
    let mut phase = 0u64;
    while h.checked < target {
        let n = match phase % 7 {
            0 => h.rng.gen_range(1..=8),
            1 | 4 => h.rng.gen_range(9..=48),
            2 | 5 => h.rng.gen_range(49..=600),
            3 => h.rng.gen_range(601..=4096),
            _ => 65_536,
        };
        h.reinit(n);
        // Fill-heavy, balanced and drain-heavy stretches reach full and empty.
        for (alloc_pct, dma_pct, sw_pct, ops) in [
            (70, 95, 40, 6_000),
            (50, 60, 30, 6_000),
            (25, 100, 50, 6_000),
            (50, 100, 0, 4_000),
        ] {
            h.alloc_pct = alloc_pct;
            h.dma_pct = dma_pct;
            h.sw_pct = sw_pct;
            let stop = h.checked + ops;
            while h.checked < stop {
                h.step(true);
            }
            h.drain();
            h.check_registers();
        }
        if phase.is_multiple_of(3) {
            let e = h.hw.read_reg(a::ERRORS);
            h.hw.write_reg(a::ERRORS, e);
            h.hw.cycle();
            h.model.counters.errors = 0;
            h.hw.write_reg(a::CLEAR, 1);
            h.hw.cycle();
            h.model.clear_counters();
            h.check_registers();
        }
        phase += 1;
    }
    println!(
        "seed {s}: {} operations checked over {} cycles, {} cycles with both requesters contending",
        h.checked,
        h.hw.cycles(),
        h.contended
    );
    let c = h.model.counters;
    println!("model counters over the last stretch: {c:?}");
    assert!(h.contended > 1_000, "the requesters must contend");
}

/// Every sequence of up to four operations, for every N <= 8, issued
/// back-to-back (every forwarding path in use) and spaced by one idle cycle:
/// each response must equal the model's.
#[test]
fn every_short_operation_sequence_for_n_up_to_8_matches_the_model() {
    let mut hw = AllocatorSim::new(32).unwrap();
    let mut sequences = 0u64;
    for n in 1..=8u32 {
        let mut alphabet: Vec<DmaRequest> = Vec::new();
        let mut counts = vec![0, 1, 2, 3, n, n + 1, 16, 17];
        counts.sort_unstable();
        counts.dedup();
        alphabet.extend(counts.into_iter().map(|count| DmaRequest::Alloc { count }));
        alphabet.extend((0..=n).map(|slot| DmaRequest::Free { slot }));
        let k = alphabet.len();
        for len in 1..=4u32 {
            for code in 0..k.pow(len) {
                let ops: Vec<DmaRequest> = (0..len)
                    .scan(code, |c, _| {
                        let op = alphabet[*c % k];
                        *c /= k;
                        Some(op)
                    })
                    .collect();
                for gap in [0, 1] {
                    hw.init(n, true).unwrap();
                    let mut model = SlotAllocatorModel::new(32);
                    model.init(n, true).unwrap();
                    let mut expect = VecDeque::new();
                    let mut got = Vec::new();
                    let mut queue: VecDeque<DmaRequest> = ops.iter().copied().collect();
                    let mut idle = 0;
                    let mut cycles = 0;
                    while !queue.is_empty() || got.len() < ops.len() {
                        cycles += 1;
                        assert!(cycles < 32, "N={n}, ops {ops:?}: responses missing");
                        let req = if idle == 0 {
                            queue.front().copied()
                        } else {
                            None
                        };
                        hw.set_request(req);
                        let c = hw.cycle();
                        if c.taken {
                            let op = queue.pop_front().unwrap();
                            let r = model.apply(to_op(op));
                            expect.push_back((r.status, r.slots));
                            idle = gap;
                        } else if idle > 0 {
                            idle -= 1;
                        }
                        if let Some(r) = c.response {
                            got.push((r.status, r.slots));
                        }
                    }
                    hw.set_request(None);
                    let expect: Vec<_> = expect.into_iter().collect();
                    assert_eq!(got, expect, "N={n}, ops {ops:?}, gap {gap}");
                    sequences += 1;
                }
            }
        }
    }
    println!("{sequences} sequences checked");
    assert!(sequences > 500_000);
}

/// A forced init while allocs stream in: an alloc still in flight when the
/// command lands is answered NOT_READY (its slots are free again in the
/// rebuilt list, so an OK would let two users hold one slot), and the rebuilt
/// list hands out every slot once, from slot 0.
#[test]
fn forced_init_under_traffic_answers_in_flight_allocs_not_ready() {
    let mut hw = AllocatorSim::new(32).unwrap();
    for lead in 0..3u64 {
        hw.init(32, true).unwrap();
        hw.set_request(Some(DmaRequest::Alloc { count: 2 }));
        let start = hw.cycles();
        let mut ctrl_at = None;
        let mut after: Vec<u32> = Vec::new();
        while after.len() < 32 {
            let now = hw.cycles();
            if now == start + 3 + lead {
                hw.write_reg(a::CTRL, a::CTRL_INIT.set(a::CTRL_FORCE.set(0, 1), 1));
                ctrl_at = Some(now);
            }
            let c = hw.cycle();
            let Some(r) = c.response else { continue };
            match ctrl_at {
                // Accepted after the command took effect: part of the new list.
                Some(x) if now > x && r.status == status::OK => after.extend(&r.slots),
                Some(x) if now > x => assert_eq!(r.status, status::NOT_READY, "lead {lead}"),
                _ => assert_eq!(r.status, status::OK, "lead {lead}"),
            }
            assert!(now < start + 200, "lead {lead}: stream stalled");
        }
        hw.set_request(None);
        assert_eq!(after, (0..32).collect::<Vec<_>>(), "lead {lead}");
    }
}
