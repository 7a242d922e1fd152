//! The DMA copy engine on the co-simulated pair, through the driver, against
//! the reference model (`duplex_hdl::dma_model`).
//!
//! Random streams: both cards post seeded descriptor batches at once (MIRROR
//! of 1..16 pages, with given slots too, RELEASE with double frees, COPY_BACK,
//! META, and bad descriptors of every kind the model can predict, host read
//! errors included), at every data-path width, with host back-pressure and
//! link latency varied per run. Every completion is compared with the model,
//! every byte the model expects in the partner's mirror area, metadata ring
//! and the copy-back targets is compared after each batch and again at the
//! end, counters are compared, and guard pages around every ring, area and
//! buffer must be untouched. `DUPLEX_SEED` replays a run; a failure prints
//! its seed. Adversarial scenarios are in `dma_faults.rs`.

use duplex_driver::card::{CardSetup, GuardedBuffer};
use duplex_driver::mirror_pair::{MirrorPair, PairSetup};
use duplex_driver::slot_allocator::SlotAllocator;
use duplex_hdl::dma_model::{DmaModel, Outcome};
use duplex_hdl::slot_allocator_model::SlotAllocatorModel;
use duplex_regs::layout::{flags, opcode, status};
use duplex_regs::{params, Completion, Descriptor};
use duplex_sim::SimConfig;
use duplex_tests::dma_rig::{area_shadows, partner_windows, LiveMemory, Shadow, Shadows};
use duplex_tests::{pair, seed};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::ops::Range;

const PAGE: u64 = 4096;
/// Slots per side: small, so the allocator runs dry now and then.
const SLOTS: u32 = 96;
/// Source pages refilled per batch, pages filled once, poisoned pages.
const FRESH: u64 = 64;
const STATIC: u64 = 16;
const POISON: u64 = 16;
const DEST_PAGES: u64 = 16;
const GUARD: usize = 4096;

/// One run's environment.
#[derive(Clone, Copy, Debug)]
struct Run {
    width: usize,
    latency: u64,
    stall: u8,
    desc_log2: u32,
    cpl_log2: u32,
    /// Descriptors per card.
    descriptors: usize,
}

/// What the test keeps per card.
struct Side {
    model: DmaModel,
    alloc: SlotAllocatorModel,
    pool: GuardedBuffer,
    dest: GuardedBuffer,
    /// Expected contents of this host's copy-back target.
    dest_shadow: Shadows,
    /// Descriptors posted, with the completion the model expects.
    expected: VecDeque<(Descriptor, Completion)>,
    /// Expected totals at the partner's WIN for this card's traffic:
    /// writes, write slack, drops, drop slack, reads.
    win: [u64; 5],
    /// Source pages used in this batch.
    cursor: u64,
    /// Batches where nothing is released, so the allocator runs dry.
    hoard: bool,
}

impl Side {
    fn pool_page(&self, i: u64) -> u64 {
        self.pool.iova().0 + i * PAGE
    }
    fn poison(&self) -> Range<u64> {
        self.pool_page(FRESH + STATIC)..self.pool_page(FRESH + STATIC + POISON)
    }
    fn held(&self) -> Vec<u16> {
        (0..SLOTS)
            .filter(|&s| self.alloc.is_allocated(s))
            .map(|s| s as u16)
            .collect()
    }
}

fn some_slots(rng: &mut ChaCha8Rng, n: usize) -> Vec<u16> {
    (0..n).map(|_| rng.gen_range(0..SLOTS as u16)).collect()
}

/// The next random descriptor of a card; fills the fresh source pages it
/// reads. `None` when the batch has used its pages.
fn next_descriptor(
    rng: &mut ChaCha8Rng,
    side: &mut Side,
    limit: u64,
    fill: &mut dyn FnMut(u64, &[u8]),
) -> Option<Descriptor> {
    let mut d = Descriptor {
        tag: rng.gen(),
        lba: rng.gen(),
        lun: rng.gen(),
        seq: rng.gen(),
        dirty_first: rng.gen(),
        dirty_last: rng.gen(),
        cache_id: rng.gen(),
        epoch: rng.gen(),
        ..Default::default()
    };
    let pages = |rng: &mut ChaCha8Rng| -> u16 {
        match rng.gen_range(0..10) {
            0..=5 => rng.gen_range(1..=4),
            6..=8 => rng.gen_range(5..=8),
            _ => rng.gen_range(9..=16),
        }
    };
    let mut fresh = |side: &mut Side, n: u64, rng: &mut ChaCha8Rng| -> Option<u64> {
        if side.cursor + n > FRESH {
            return None;
        }
        let at = side.pool_page(side.cursor);
        let mut bytes = vec![0u8; (n * PAGE) as usize];
        rng.fill_bytes(&mut bytes);
        fill(at, &bytes);
        side.cursor += n;
        Some(at)
    };
    let held = side.held();
    let mut pick = rng.gen_range(0..100);
    if side.hoard && (45..=64).contains(&pick) {
        pick = 0; // a MIRROR instead of a RELEASE
    }
    match pick {
        0..=34 => {
            d.opcode = opcode::MIRROR;
            let free = side.alloc.free_count();
            d.count = if free < 16 && rng.gen_bool(0.5) {
                rng.gen_range(free + 1..=16) as u16 // NO_SLOTS
            } else {
                pages(rng)
            };
            d.local_addr = fresh(side, u64::from(d.count), rng)?;
        }
        35..=44 => {
            d.opcode = opcode::MIRROR;
            d.flags = flags::SLOTS_GIVEN;
            d.count = pages(rng);
            let s = some_slots(rng, d.count.into());
            d.slots[..s.len()].copy_from_slice(&s);
            d.local_addr = fresh(side, u64::from(d.count), rng)?;
        }
        45..=64 => {
            d.opcode = opcode::RELEASE;
            let mut s: Vec<u16> = held.iter().copied().filter(|_| rng.gen_bool(0.5)).collect();
            s.truncate(16);
            if s.is_empty() || rng.gen_bool(0.2) {
                s.push(rng.gen_range(0..SLOTS as u16)); // double free or never allocated
            }
            s.truncate(16);
            d.count = s.len() as u16;
            d.slots[..s.len()].copy_from_slice(&s);
        }
        65..=72 => {
            d.opcode = opcode::COPY_BACK;
            d.count = rng.gen_range(1..=DEST_PAGES as u16);
            let s = some_slots(rng, d.count.into());
            d.slots[..s.len()].copy_from_slice(&s);
            let room = DEST_PAGES - u64::from(d.count);
            d.local_addr = side.dest.iova().0 + rng.gen_range(0..=room) * PAGE;
        }
        73..=84 => {
            d.opcode = opcode::META;
            d.count = rng.gen_range(1..=16);
            d.local_addr = fresh(side, 1, rng)? + rng.gen_range(0..48) * 64;
        }
        k => bad_descriptor(rng, side, limit, k, &mut d),
    }
    Some(d)
}

/// One of the bad descriptors (or a host read error).
fn bad_descriptor(rng: &mut ChaCha8Rng, side: &Side, limit: u64, k: u32, d: &mut Descriptor) {
    d.opcode = opcode::MIRROR;
    d.count = rng.gen_range(1..=4);
    d.local_addr = side.pool_page(FRESH);
    match k {
        85 => d.opcode = [0, 5, 7, 0xFF][rng.gen_range(0..4)],
        86 => d.flags = flags::PAGE_LIST,
        87 => d.count = [0, 17, 100, u16::MAX][rng.gen_range(0..4)],
        88 => d.local_addr += [8, 32, 63][rng.gen_range(0..3)],
        89 => d.local_addr = limit - PAGE * u64::from(d.count) + 64,
        90 => {
            d.opcode = [opcode::RELEASE, opcode::COPY_BACK][rng.gen_range(0..2)];
            d.local_addr = side.dest.iova().0;
            d.slots[0] = rng.gen_range(SLOTS as u16..=u16::MAX);
        }
        91 => {
            d.flags = flags::SLOTS_GIVEN;
            d.slots[usize::from(d.count) - 1] = SLOTS as u16 + rng.gen_range(0..4);
        }
        92 => {
            d.opcode = opcode::COPY_BACK;
            d.local_addr = side.dest.iova().0 + 16;
        }
        93 | 94 => {
            // Pages running into the poisoned ones: DMA_READ_ERROR.
            let before = rng.gen_range(0..u64::from(d.count));
            d.local_addr = side.poison().start - before * PAGE;
        }
        95 => {
            d.opcode = opcode::META;
            d.count = rng.gen_range(1..=16);
            d.local_addr = side.poison().start - rng.gen_range(0..4) * 64;
        }
        96 => {
            d.opcode = opcode::META;
            d.count = rng.gen_range(1..=16);
            d.local_addr = side.pool_page(FRESH) + 4;
        }
        _ => {
            // A META larger than the ring's free space may be RING_FULL.
            d.opcode = opcode::META;
            d.count = 16;
            d.local_addr = side.pool_page(FRESH);
        }
    }
}

/// Run number `index` of the test seeded `test_seed`.
fn run_stream(run: Run, test_seed: u64, index: u64) -> [u32; 256] {
    let ctx = format!("DUPLEX_SEED={test_seed} (run {index}: {run:?})");
    let s = test_seed.wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let cfg = SimConfig {
        seed: s,
        width_bits: run.width,
        link_latency: run.latency,
        host_stall_pct: run.stall,
        host_memory_bytes: 8 << 20,
        ..SimConfig::default()
    };
    let limit = duplex_sim::memory::IOVA_BASE + cfg.host_memory_bytes as u64;
    let (p, a, b) = pair(cfg);
    let setup = PairSetup {
        slots: SLOTS,
        meta_log2: 5,
        guard_bytes: GUARD,
        force_init: false,
        card: CardSetup {
            desc_log2: run.desc_log2,
            cpl_log2: run.cpl_log2,
            guard_bytes: GUARD,
            ..CardSetup::default()
        },
    };
    let mut mp = MirrorPair::bring_up([&a, &b], &setup).expect(&ctx);
    let devs = [&a, &b];
    let mut rng = ChaCha8Rng::seed_from_u64(s);
    let mut sides: Vec<Side> = Vec::new();
    for (c, dev) in devs.into_iter().enumerate() {
        mp.cards[c].set_host_limit(limit).expect(&ctx);
        let pool = GuardedBuffer::new(dev, ((FRESH + STATIC + POISON) * PAGE) as usize, GUARD)
            .expect(&ctx);
        let dest = GuardedBuffer::new(dev, (DEST_PAGES * PAGE) as usize, GUARD).expect(&ctx);
        let mut still = vec![0u8; ((STATIC + POISON) * PAGE) as usize];
        rng.fill_bytes(&mut still);
        pool.write((FRESH * PAGE) as usize, &still).expect(&ctx);
        let mut model = DmaModel::new(run.width as u32);
        let layout = &mp.areas[1 - c].layout;
        model.regs.host_limit = limit;
        model.regs.out_mirror_size = layout.total_bytes();
        model.regs.out_hdr_bytes = layout.header_table_bytes();
        model.regs.out_meta_log2 = setup.meta_log2;
        model.regs.desc_log2 = run.desc_log2;
        model.regs.cpl_log2 = run.cpl_log2;
        let mut alloc = SlotAllocatorModel::new(params::MAX_SLOTS);
        alloc.init(SLOTS, false).expect(&ctx);
        let side = Side {
            model,
            alloc,
            dest_shadow: Shadows::default(),
            pool,
            dest,
            expected: VecDeque::new(),
            win: [0; 5],
            cursor: 0,
            hoard: false,
        };
        sides.push(side);
    }
    let mut areas = [0, 1].map(|c| area_shadows(&p.world(), &mp, c));
    for (c, side) in sides.iter_mut().enumerate() {
        let w = p.world();
        let mem = w.memory(c).expect(&ctx);
        side.dest_shadow
            .regions
            .push(Shadow::capture(mem, side.dest.iova().0, side.dest.len()));
        drop(w);
        let poison = side.poison();
        p.world().fail_dma_reads(c, poison).expect(&ctx);
    }

    let mut done = 0usize;
    let mut batch_no = 0u64;
    let mut seen = [0u32; 256];
    while done < run.descriptors * 2 {
        batch_no += 1;
        // Ranges the model wrote in this batch: (host, in the copy-back
        // target rather than the inbound areas, range).
        let mut touched: Vec<(usize, bool, Range<u64>)> = Vec::new();
        for (c, side) in sides.iter_mut().enumerate() {
            side.cursor = 0;
            if rng.gen_bool(0.15) {
                side.hoard = !side.hoard;
            }
            let room = (1usize << run.desc_log2).min(12);
            for _ in 0..rng.gen_range(1..=room) {
                let mut fill = |iova: u64, bytes: &[u8]| {
                    p.world()
                        .memory_mut(c)
                        .expect("memory")
                        .write(duplex_sim::Iova(iova), bytes)
                        .expect("pool write");
                };
                let Some(d) = next_descriptor(&mut rng, side, limit, &mut fill) else {
                    break;
                };
                let win = partner_windows(&mp, c);
                let o: Outcome = {
                    let w = p.world();
                    let faults = [side.poison()];
                    let local = LiveMemory {
                        mem: w.memory(c).expect("memory"),
                        faults: &faults,
                    };
                    let theirs = &areas[1 - c];
                    side.model
                        .run(&d, &mut side.alloc, true, &local, &win, theirs)
                };
                seen[usize::from(o.completion.status)] += 1;
                for wr in &o.partner_writes {
                    areas[1 - c].write(wr);
                    touched.push((1 - c, false, wr.iova..wr.iova + wr.data.len() as u64));
                }
                for r in &o.partner_unknown {
                    areas[1 - c].forget(r);
                }
                for wr in &o.local_writes {
                    side.dest_shadow.write(wr);
                    touched.push((c, true, wr.iova..wr.iova + wr.data.len() as u64));
                }
                for r in &o.local_unknown {
                    side.dest_shadow.forget(r);
                }
                let w = &mut side.win;
                w[0] += u64::from(o.partner_win_writes);
                w[1] += u64::from(o.partner_win_writes_slack);
                w[2] += u64::from(o.partner_dropped);
                w[3] += u64::from(o.partner_dropped_slack);
                w[4] += u64::from(o.partner_win_reads);
                mp.cards[c].post(&d).expect(&ctx);
                side.expected.push_back((d, o.completion));
                done += 1;
            }
        }
        for card in mp.cards.iter_mut() {
            card.ring_doorbell().expect(&ctx);
        }
        drain(&ctx, batch_no, &p, &mut mp, &mut sides);
        let w = p.world();
        for (host, dest, r) in &touched {
            let shadow = if *dest {
                &sides[*host].dest_shadow
            } else {
                &areas[*host]
            };
            if let Some((at, want, got)) = shadow.mismatch(w.memory(*host).unwrap(), r.clone()) {
                panic!(
                    "{ctx}: batch {batch_no}: host {host} memory at {at:#x} is {got:#04x}, \
                     the model expects {want:#04x}"
                );
            }
        }
        drop(w);
        // The partner consumes its metadata ring now and then.
        for (c, side) in sides.iter_mut().enumerate() {
            if rng.gen_bool(0.5) {
                let tail = side.model.meta_head;
                mp.cards[c].set_meta_tail(tail).expect(&ctx);
                side.model.regs.out_meta_tail = tail;
            }
        }
    }
    finish(&ctx, &p, &mp, &sides, &areas, devs);
    seen
}

/// Takes both cards' completions in order and compares each with the model.
fn drain(
    ctx: &str,
    batch_no: u64,
    p: &duplex_driver::sim_device::SimPair,
    mp: &mut MirrorPair<'_>,
    sides: &mut [Side],
) {
    let mut idle_cycles = 0u64;
    while sides.iter().any(|x| !x.expected.is_empty()) {
        let mut progress = false;
        for (c, side) in sides.iter_mut().enumerate() {
            while let Some(got) = mp.cards[c].poll().expect(ctx) {
                let Some((d, want)) = side.expected.pop_front() else {
                    panic!("{ctx}: card {c} wrote a completion nobody expects: {got:?}");
                };
                assert_eq!(
                    got, want,
                    "{ctx}: card {c}, batch {batch_no}, descriptor {d:?}: completion differs \
                     (left: hardware, right: model)"
                );
                progress = true;
            }
        }
        if progress {
            idle_cycles = 0;
        } else {
            p.world().step_n(16);
            idle_cycles += 16;
            assert!(
                idle_cycles < 1_000_000,
                "{ctx}: batch {batch_no}: no completion for {idle_cycles} cycles; next expected \
                 on card 0: {:?}, on card 1: {:?}",
                sides[0].expected.front(),
                sides[1].expected.front()
            );
        }
    }
}

/// End of a run: every shadow byte, every guard, every counter.
fn finish(
    ctx: &str,
    p: &duplex_driver::sim_device::SimPair,
    mp: &MirrorPair<'_>,
    sides: &[Side],
    areas: &[Shadows; 2],
    devs: [&duplex_driver::sim_device::SimDevice; 2],
) {
    {
        let w = p.world();
        for c in 0..2 {
            let mem = w.memory(c).unwrap();
            for sh in [&areas[c], &sides[c].dest_shadow] {
                if let Some((at, want, got)) = sh.first_mismatch(mem) {
                    panic!("{ctx}: host {c} at {at:#x}: {got:#04x}, model {want:#04x}");
                }
            }
        }
    }
    mp.check_guards().expect(ctx);
    for side in sides {
        side.pool.check_guards("source pages").expect(ctx);
        side.dest.check_guards("copy-back target").expect(ctx);
    }
    for c in 0..2 {
        let st = mp.cards[c].stats().expect(ctx);
        let k = &sides[c].model.counters;
        let within = |got: u32, lo: u32, slack: u32| got >= lo && got <= lo + slack;
        assert_eq!(
            (st.desc_done, st.desc_failed, st.last_status, st.meta_head),
            (
                k.desc_done,
                k.desc_failed,
                k.last_status,
                sides[c].model.meta_head
            ),
            "{ctx}: card {c} DESC_DONE, DESC_FAILED, LAST_STATUS, OUT_META_HEAD"
        );
        assert!(
            within(st.pages_sent, k.pages_sent, k.pages_slack),
            "{ctx}: card {c} PAGES_SENT {} outside {}..={}",
            st.pages_sent,
            k.pages_sent,
            k.pages_sent + k.pages_slack
        );
        assert!(
            within(st.records_sent, k.records_sent, k.records_slack),
            "{ctx}: card {c} RECORDS_SENT {} outside {}..={}",
            st.records_sent,
            k.records_sent,
            k.records_sent + k.records_slack
        );
        // Card c's WIN counts what card 1 - c sent.
        let w = &sides[1 - c].win;
        let (writes, dropped) = (u64::from(st.win_writes), u64::from(st.win_dropped));
        assert!(
            writes >= w[0] && writes <= w[0] + w[1],
            "{ctx}: card {c} WIN.WRITES {writes} outside {}..={}",
            w[0],
            w[0] + w[1]
        );
        assert!(
            dropped >= w[2] && dropped <= w[2] + w[3],
            "{ctx}: card {c} WIN.DROPPED {dropped}, model {}..={}",
            w[2],
            w[2] + w[3]
        );
        assert_eq!(u64::from(st.win_reads), w[4], "{ctx}: card {c} WIN.READS");
        let al = SlotAllocator::new(devs[c]).expect(ctx).stats().expect(ctx);
        let m = &sides[c].alloc;
        assert_eq!(
            (al.free, al.allocated, al.allocs, al.frees, al.no_space),
            (
                m.free_count(),
                m.allocated(),
                m.counters.alloc_ops,
                m.counters.free_ops,
                m.counters.no_space
            ),
            "{ctx}: card {c} allocator (free, allocated, allocs, frees, no_space)"
        );
        assert_eq!(
            (al.double_free, al.never_allocated),
            (m.counters.double_free, m.counters.never_allocated),
            "{ctx}: card {c} allocator refusals"
        );
    }
}

/// Two runs per width; 10,000 descriptors over the four tests.
fn runs_for(width: usize, s: u64) -> [Run; 2] {
    let mut rng = ChaCha8Rng::seed_from_u64(s ^ width as u64);
    let run = |latency, stall, desc_log2, cpl_log2| Run {
        width,
        latency,
        stall,
        desc_log2,
        cpl_log2,
        descriptors: 625,
    };
    [
        run(rng.gen_range(0..=60), rng.gen_range(0..=20), 4, 3),
        run(rng.gen_range(300..=500), rng.gen_range(20..=50), 5, 5),
    ]
}

fn stream_test(width: usize) {
    let s = seed(0xD3A0 + width as u64);
    let mut seen = [0u32; 256];
    for (i, run) in runs_for(width, s).into_iter().enumerate() {
        for (total, n) in seen.iter_mut().zip(run_stream(run, s, i as u64)) {
            *total += n;
        }
    }
    // The generator is built to produce every status a stream can predict.
    for st in STREAM_STATUSES {
        assert!(
            seen[usize::from(st)] > 0,
            "DUPLEX_SEED={s}, {width} bits: no descriptor completed {} ({st})",
            status::name(st)
        );
    }
}

#[test]
fn random_streams_from_both_cards_match_the_model_at_64_bits() {
    stream_test(64);
}

#[test]
fn random_streams_from_both_cards_match_the_model_at_128_bits() {
    stream_test(128);
}

#[test]
fn random_streams_from_both_cards_match_the_model_at_256_bits() {
    stream_test(256);
}

#[test]
fn random_streams_from_both_cards_match_the_model_at_512_bits() {
    stream_test(512);
}

/// Every status a random stream produces on purpose.
const STREAM_STATUSES: [u8; 9] = [
    status::OK,
    status::BAD_OPCODE,
    status::BAD_LENGTH,
    status::BAD_ADDRESS,
    status::BAD_SLOT,
    status::NO_SLOTS,
    status::DMA_READ_ERROR,
    status::DOUBLE_FREE,
    status::RING_FULL,
];
