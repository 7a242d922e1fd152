//! The DMA engine and the inbound windows under attack and failure, on the
//! co-simulated pair through the driver: every error status produced on
//! purpose, a hostile partner writing and reading outside the windows, the
//! link cut while a MIRROR streams, a host read error, and interrupt
//! coalescing by count, by time and by IRQ_NOW.

use duplex_driver::card::{mirror_descriptor, Card, CardSetup, GuardedBuffer, MirrorMeta};
use duplex_driver::mirror_pair::{MirrorPair, PairSetup};
use duplex_driver::regs::Regs;
use duplex_driver::sim_device::{SimDevice, SimPair};
use duplex_driver::slot_allocator::SlotAllocator;
use duplex_driver::{DriverError, Iova};
use duplex_regs::dma::{link, win};
use duplex_regs::layout::{flags, opcode, status};
use duplex_regs::{irq, Descriptor, MetaRecord};
use duplex_sim::{LinkBeat, SimConfig};
use duplex_tests::dma_rig::valid_headers;
use duplex_tests::pair;
use std::time::Duration;

const PAGE: u64 = 4096;

fn setup(slots: u32) -> PairSetup {
    PairSetup {
        slots,
        meta_log2: 2,
        guard_bytes: 4096,
        card: CardSetup {
            // 500,000 card cycles: every call here needs far fewer.
            timeout: Duration::from_millis(2),
            ..CardSetup::default()
        },
        ..PairSetup::default()
    }
}

/// `n` pages of host memory on `dev` filled with `byte`.
fn pages(dev: &SimDevice, n: u64, byte: u8) -> GuardedBuffer {
    let b = GuardedBuffer::new(dev, (n * PAGE) as usize, 4096).unwrap();
    b.write(0, &vec![byte; (n * PAGE) as usize]).unwrap();
    b
}

fn status_of(r: Result<impl Sized, DriverError>) -> u8 {
    match r {
        Ok(_) => status::OK,
        Err(e) => e
            .dma_status()
            .unwrap_or_else(|| panic!("expected a DMA status, got: {e}")),
    }
}

fn alloc_count(dev: &SimDevice) -> u32 {
    SlotAllocator::new(dev).unwrap().stats().unwrap().allocated
}

#[test]
fn every_error_status_can_be_produced_on_purpose() {
    let (p, a, b) = pair(SimConfig::default());
    let mut mp = MirrorPair::bring_up([&a, &b], &setup(32)).unwrap();
    let src = pages(&a, 16, 0x5A);
    let records = pages(&a, 1, 0x11);
    let m = MirrorMeta::default();
    let card = &mut mp.cards[0];
    let raw = |op| Descriptor {
        opcode: op,
        count: 1,
        local_addr: src.iova().0,
        ..Default::default()
    };
    assert_eq!(card.execute(raw(9)).unwrap().status, status::BAD_OPCODE);
    let mut listed = raw(opcode::MIRROR);
    listed.flags = flags::PAGE_LIST;
    assert_eq!(card.execute(listed).unwrap().status, status::BAD_OPCODE);
    assert_eq!(
        status_of(card.mirror(src.iova(), 0, &m)),
        status::BAD_LENGTH
    );
    assert_eq!(
        status_of(card.mirror(src.iova(), 17, &m)),
        status::BAD_LENGTH
    );
    assert_eq!(
        status_of(card.mirror(Iova(src.iova().0 + 8), 1, &m)),
        status::BAD_ADDRESS
    );
    card.set_host_limit(src.iova().0 + 2 * PAGE).unwrap();
    assert_eq!(
        status_of(card.mirror(src.iova(), 3, &m)),
        status::BAD_ADDRESS
    );
    card.set_host_limit(u64::MAX).unwrap();
    assert_eq!(status_of(card.release(&[32])), status::BAD_SLOT);
    assert_eq!(
        status_of(card.mirror_into(src.iova(), &[1, 40], &m)),
        status::BAD_SLOT
    );
    // The allocator runs dry.
    let mut held = card.mirror(src.iova(), 16, &m).unwrap();
    held.extend(card.mirror(src.iova(), 16, &m).unwrap());
    assert_eq!(status_of(card.mirror(src.iova(), 1, &m)), status::NO_SLOTS);
    card.release(&held).unwrap();
    assert_eq!(status_of(card.release(&[held[0]])), status::DOUBLE_FREE);
    // A host read error.
    let bad_page = src.iova().0 + PAGE;
    p.world().fail_dma_reads(0, bad_page..bad_page + 1).unwrap();
    assert_eq!(
        status_of(card.mirror(src.iova(), 2, &m)),
        status::DMA_READ_ERROR
    );
    p.world().clear_dma_read_faults(0).unwrap();
    assert_eq!(alloc_count(&a), 0, "the driver released the slots");
    // The partner's 4-record ring fills up until the tail is relayed.
    card.meta(records.iova(), 4).unwrap();
    assert_eq!(status_of(card.meta(records.iova(), 1)), status::RING_FULL);
    card.set_meta_tail(4).unwrap();
    card.meta(records.iova(), 1).unwrap();
    // The partner closes its ring window, then shrinks its mirror window.
    let area = &mp.areas[1];
    let (mirror, meta) = (area.mirror.iova(), area.meta.iova());
    let partner = &mp.cards[1];
    partner
        .set_inbound((mirror, area.mirror.len() as u64), (meta, 0))
        .unwrap();
    let card = &mut mp.cards[0];
    assert_eq!(status_of(card.meta(records.iova(), 1)), status::REFUSED);
    let slots = card.mirror(src.iova(), 1, &m).unwrap();
    mp.cards[1]
        .set_inbound((mirror, area.layout.header_table_bytes()), (meta, 0))
        .unwrap();
    let card = &mut mp.cards[0];
    assert_eq!(
        status_of(card.copy_back(&slots, records.iova())),
        status::REFUSED
    );
    // The link is down.
    p.world().set_link_up(false);
    assert_eq!(status_of(card.mirror(src.iova(), 1, &m)), status::LINK_DOWN);
    p.world().set_link_up(true);
    let st = card.stats().unwrap();
    assert_eq!(st.last_status & 0xFF, u32::from(status::LINK_DOWN));
    assert_eq!(st.desc_failed, 15);
    assert!(p.world().link_up());
}

#[test]
fn a_mirror_without_an_initialised_allocator_is_not_initialised() {
    let (_p, a, _b) = pair(SimConfig::default());
    let mut card = Card::open(&a, CardSetup::default()).unwrap();
    card.set_outbound(1 << 20, 4096, 2).unwrap();
    let src = pages(&a, 1, 1);
    let e = card.mirror(src.iova(), 1, &MirrorMeta::default());
    assert_eq!(status_of(e), status::NOT_INITIALISED);
}

#[test]
fn a_hostile_partner_cannot_write_or_read_outside_the_windows() {
    let (p, a, b) = pair(SimConfig {
        host_memory_bytes: 4 << 20,
        ..SimConfig::default()
    });
    let mut mp = MirrorPair::bring_up([&a, &b], &setup(16)).unwrap();
    let beat = p.world().beat_bytes() as u64;
    let area = &mp.areas[1];
    let (msize, qsize) = (area.mirror.len() as u64, area.meta.len() as u64);
    let snapshot = |c: usize| {
        let w = p.world();
        let mem = w.memory(c).unwrap();
        let mut all = vec![0u8; mem.size() as usize];
        mem.read(duplex_sim::Iova(duplex_sim::memory::IOVA_BASE), &mut all)
            .unwrap();
        all
    };
    let before = [snapshot(0), snapshot(1)];
    let bad: Vec<(u8, u64, u64)> = vec![
        (link::WRITE, msize, 0),
        (link::WRITE, msize - beat / 2, 0),
        (link::WRITE, 8, 0),
        (link::WRITE, 1 << 40, 0),
        (link::WRITE, link::META_WINDOW - beat, 0),
        (link::WRITE_ACK, link::META_WINDOW + qsize, 0),
        (link::WRITE_ACK, u64::MAX - beat + 1, 0),
        (link::READ_REQ, msize - 64, 4096),
        (link::READ_REQ, link::META_WINDOW + qsize, 64),
        (link::READ_REQ, 4, 64),
    ];
    for (i, &(kind, addr, len)) in bad.iter().enumerate() {
        let mut data = vec![0xEE; beat as usize];
        if kind == link::READ_REQ {
            data[..4].copy_from_slice(&(len as u32).to_le_bytes());
            data[4..6].copy_from_slice(&(i as u16).to_le_bytes());
        }
        p.world()
            .inject_link_beat(
                0,
                LinkBeat {
                    kind,
                    addr,
                    data,
                    last: true,
                },
            )
            .unwrap();
    }
    p.world().step_n(300);
    assert_eq!(snapshot(1), before[1], "the refused beats reached memory");
    assert_eq!(snapshot(0), before[0], "refusals changed the hostile side");
    let st = mp.cards[1].stats().unwrap();
    assert_eq!(
        (st.win_dropped, st.win_writes, st.win_reads),
        (bad.len() as u32, 0, 0)
    );
    assert_eq!(st.win_last_bad, 4);
    assert_eq!(
        st.win_errors & win::ERR_REFUSED.mask(),
        win::ERR_REFUSED.mask()
    );
    let r = Regs::new(&b);
    assert_eq!(r.read_field(irq::STATUS, irq::ERROR).unwrap(), 1);
    let answers = p.world().link_stats(1).unwrap().clone();
    assert_eq!(
        answers.bursts_of(link::ACK),
        2,
        "each acked write is answered"
    );
    assert_eq!(
        answers.bursts_of(link::READ_ERR),
        3,
        "each read is answered"
    );
    // A beat inside the window does land: the path works, the check refused.
    let inside = vec![0x77; beat as usize];
    p.world()
        .inject_link_beat(
            0,
            LinkBeat {
                kind: link::WRITE,
                addr: 0,
                data: inside.clone(),
                last: true,
            },
        )
        .unwrap();
    p.world().step_n(50);
    let mut got = vec![0u8; beat as usize];
    area.mirror.read(0, &mut got).unwrap();
    assert_eq!(got, inside);
    assert_eq!(mp.cards[1].stats().unwrap().win_writes, 1);
    // The attacked card's own engine still mirrors into the other host.
    let src = pages(&b, 1, 3);
    let slots = mp.cards[1]
        .mirror(src.iova(), 1, &MirrorMeta::default())
        .unwrap();
    assert_eq!(slots.len(), 1);
    mp.check_guards().unwrap();
}

/// Answers the engine never asked for (a faulty partner, or answers to the
/// hostile beats above) must not be taken for the answers to its next
/// acknowledged write or read: an OK completion means the record landed.
#[test]
fn unsolicited_acks_and_read_answers_are_ignored() {
    let latency = 200;
    let (p, a, b) = pair(SimConfig {
        link_latency: latency,
        ..SimConfig::default()
    });
    let mut mp = MirrorPair::bring_up([&a, &b], &setup(16)).unwrap();
    let beat = p.world().beat_bytes();
    for (kind, bit) in [
        (link::ACK, 0u8),
        (link::ACK, 1),
        (link::READ_DATA, 0),
        (link::READ_ERR, 0),
    ] {
        let mut data = vec![0; beat];
        data[0] = bit;
        p.world()
            .inject_link_beat(
                1,
                LinkBeat {
                    kind,
                    addr: 0,
                    data,
                    last: true,
                },
            )
            .unwrap();
    }
    p.world().step_n(2 * latency);
    let src = pages(&a, 1, 0x6D);
    let d = mirror_descriptor(src.iova(), 1, &MirrorMeta::default());
    let card = &mut mp.cards[0];
    card.submit(&d).unwrap();
    let start = p.world().cycle();
    let c = card.wait(Duration::from_millis(1)).unwrap();
    let took = p.world().cycle() - start;
    assert_eq!(c.status, status::OK, "{c:?}");
    assert!(
        took >= 2 * latency,
        "completed OK after {took} cycles: before the record could cross the link and be acknowledged"
    );
    {
        let w = p.world();
        let valid = valid_headers(w.memory(1).unwrap(), &mp.areas[1]);
        assert_eq!(
            valid.len(),
            1,
            "the OK MIRROR's header is in the partner's memory"
        );
    }
    let back = pages(&a, 1, 0);
    mp.cards[0].copy_back(&[c.slots[0]], back.iova()).unwrap();
    let mut got = vec![0u8; PAGE as usize];
    back.read(0, &mut got).unwrap();
    assert!(
        got.iter().all(|&x| x == 0x6D),
        "copy-back took a stray answer"
    );
}

#[test]
fn a_link_cut_mid_transfer_fails_in_flight_and_queued_descriptors() {
    let (p, a, b) = pair(SimConfig {
        width_bits: 128,
        link_latency: 100,
        ..SimConfig::default()
    });
    let mut mp = MirrorPair::bring_up([&a, &b], &setup(64)).unwrap();
    let src = pages(&a, 16, 0x42);
    let records = pages(&a, 1, 0x99);
    let m = MirrorMeta {
        lun: 1,
        dirty_first: 1,
        dirty_last: 1,
        ..Default::default()
    };
    let card = &mut mp.cards[0];
    let queue = [
        mirror_descriptor(src.iova(), 16, &m),
        mirror_descriptor(src.iova(), 2, &m),
        Descriptor {
            opcode: opcode::META,
            count: 2,
            local_addr: records.iova().0,
            ..Default::default()
        },
        Descriptor {
            opcode: opcode::RELEASE,
            count: 1,
            ..Default::default()
        },
    ];
    for d in &queue {
        card.post(d).unwrap();
    }
    card.ring_doorbell().unwrap();
    // Cut once a few pages' worth of data beats have gone out.
    loop {
        p.world().step_n(8);
        if p.world().link_stats(0).unwrap().beats_of(link::WRITE) >= 4 * 256 {
            break;
        }
        assert!(p.world().cycle() < 1_000_000, "the MIRROR never streamed");
    }
    p.world().set_link_up(false);
    let mut got = Vec::new();
    while got.len() < queue.len() {
        got.push(card.wait(Duration::from_millis(1)).unwrap());
    }
    for (i, c) in got.iter().enumerate() {
        assert_eq!(c.status, status::LINK_DOWN, "descriptor {i}: {c:?}");
    }
    assert_eq!(got[0].count, 16, "the streaming MIRROR lists its slots");
    assert_eq!(alloc_count(&a), 16 + u32::from(got[1].count));
    let w = p.world();
    assert!(
        valid_headers(w.memory(1).unwrap(), &mp.areas[1]).is_empty(),
        "a header landed for a MIRROR that did not complete OK"
    );
    drop(w);
    let mut ring = vec![0u8; mp.areas[1].meta.len()];
    mp.areas[1].meta.read(0, &mut ring).unwrap();
    assert!(ring.iter().all(|&x| x == 0), "ring records landed");
    // Healed: the slots the cut MIRRORs took are released, and the next
    // MIRROR lands with its header.
    p.world().set_link_up(true);
    p.world().step_n(10);
    let card = &mut mp.cards[0];
    card.release(&got[0].slots[..16]).unwrap();
    if got[1].count > 0 {
        card.release(&got[1].slots[..2]).unwrap();
    }
    let slots = card.mirror(src.iova(), 1, &m).unwrap();
    let w = p.world();
    let valid = valid_headers(w.memory(1).unwrap(), &mp.areas[1]);
    assert_eq!(valid.len(), 1);
    assert_eq!(valid[0].0, u32::from(slots[0]));
    drop(w);
    mp.check_guards().unwrap();
}

#[test]
fn a_host_read_error_fails_the_mirror_and_the_driver_returns_its_slots() {
    let (p, a, b) = pair(SimConfig {
        width_bits: 64,
        host_stall_pct: 20,
        ..SimConfig::default()
    });
    let mut mp = MirrorPair::bring_up([&a, &b], &setup(16)).unwrap();
    let src = pages(&a, 4, 0x3C);
    let third = src.iova().0 + 2 * PAGE + 512;
    p.world().fail_dma_reads(0, third..third + 64).unwrap();
    let m = MirrorMeta::default();
    match mp.cards[0].mirror(src.iova(), 4, &m) {
        Err(DriverError::DmaFailed {
            status: st, slots, ..
        }) => {
            assert_eq!(st, status::DMA_READ_ERROR);
            assert_eq!(slots, vec![0, 1, 2, 3]);
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert_eq!(alloc_count(&a), 0);
    assert!(p.world().stats[0].dma_read_faults > 0);
    {
        let w = p.world();
        assert!(valid_headers(w.memory(1).unwrap(), &mp.areas[1]).is_empty());
    }
    p.world().clear_dma_read_faults(0).unwrap();
    let slots = mp.cards[0].mirror(src.iova(), 4, &m).unwrap();
    let hdr = mp.areas[1].layout.header_table_bytes() as usize;
    let mut page = vec![0u8; PAGE as usize];
    for s in &slots {
        mp.areas[1]
            .mirror
            .read(hdr + usize::from(*s) * PAGE as usize, &mut page)
            .unwrap();
        assert!(page.iter().all(|&x| x == 0x3C), "slot {s}");
        let mut rec = [0u8; 64];
        mp.areas[1]
            .mirror
            .read(usize::from(*s) * 64, &mut rec)
            .unwrap();
        assert_eq!(MetaRecord::decode_valid(&rec).unwrap().slot, *s);
    }
}

/// Cycles from the completion of `desc` (seen by polling) to the DMA
/// interrupt line, or None if it stays low for `window` cycles.
fn irq_delay(p: &SimPair, card: &mut Card<'_>, desc: &Descriptor, window: u64) -> Option<u64> {
    card.submit(desc).unwrap();
    let mut n = 0;
    while card.poll().unwrap().is_none() {
        p.world().step();
        n += 1;
        assert!(n < 100_000, "no completion");
    }
    for k in 0..window {
        if p.world().irq(0).unwrap() {
            return Some(k);
        }
        p.world().step();
    }
    None
}

#[test]
fn interrupts_are_coalesced_by_count_by_time_and_by_irq_now() {
    let (p, a, b) = pair(SimConfig::default());
    let s = PairSetup {
        card: CardSetup {
            coalesce_count: 4,
            ..CardSetup::default()
        },
        ..setup(64)
    };
    let mut mp = MirrorPair::bring_up([&a, &b], &s).unwrap();
    let src = pages(&a, 1, 7);
    let d = mirror_descriptor(src.iova(), 1, &MirrorMeta::default());
    let card = &mut mp.cards[0];
    let r = Regs::new(&a);
    // Count: three completions stay quiet, the fourth raises the line.
    for i in 0..3 {
        assert_eq!(irq_delay(&p, card, &d, 2000), None, "completion {i}");
    }
    assert!(irq_delay(&p, card, &d, 50).is_some(), "fourth completion");
    assert_eq!(r.read_field(irq::STATUS, irq::DMA).unwrap(), 1);
    r.write(irq::STATUS, irq::DMA.mask()).unwrap();
    p.world().step_n(4);
    assert!(!p.world().irq(0).unwrap());
    // Time: one completion, signalled once it is 300 cycles old.
    card.set_coalescing(100, 300).unwrap();
    let delay = irq_delay(&p, card, &d, 2000).expect("timer fires");
    assert!(
        (285..=320).contains(&delay),
        "timer fired after {delay} cycles"
    );
    r.write(irq::STATUS, irq::DMA.mask()).unwrap();
    // IRQ_NOW: signalled at once, whatever the thresholds say.
    card.set_coalescing(100, 0).unwrap();
    assert_eq!(irq_delay(&p, card, &d, 2000), None);
    let mut now = d;
    now.flags |= flags::IRQ_NOW;
    let delay = irq_delay(&p, card, &now, 200).expect("IRQ_NOW signals");
    assert!(delay < 20, "IRQ_NOW took {delay} cycles");
}

/// A RELEASE in which every free is refused writes nothing and completes
/// DOUBLE_FREE; the engine-allocated MIRROR after it must run as usual.
#[test]
fn a_mirror_after_a_release_that_freed_nothing_runs_normally() {
    let (_p, a, b) = pair(SimConfig::default());
    let mut mp = MirrorPair::bring_up([&a, &b], &setup(16)).unwrap();
    let src = pages(&a, 1, 0x21);
    let mut release = Descriptor {
        opcode: opcode::RELEASE,
        count: 1,
        ..Default::default()
    };
    release.slots[0] = 7; // never allocated
    let card = &mut mp.cards[0];
    card.post(&release).unwrap();
    card.post(&mirror_descriptor(src.iova(), 1, &MirrorMeta::default()))
        .unwrap();
    card.ring_doorbell().unwrap();
    let first = card.wait(Duration::from_millis(1)).unwrap();
    let second = card.wait(Duration::from_millis(1)).unwrap();
    assert_eq!((first.status, first.detail), (status::DOUBLE_FREE, 0));
    assert_eq!(
        (second.status, second.count, second.slots[0]),
        (status::OK, 1, 0),
        "{second:?}"
    );
    assert_eq!(alloc_count(&a), 1);
}

/// Descriptors take effect in ring order: a COPY_BACK of a slot posted
/// before a MIRROR into that slot reads the page as it was before, whatever
/// the host back-pressure on the partner (the host may serve a read after
/// writes that arrived later, as PCIe lets posted writes pass reads).
#[test]
fn a_copy_back_is_not_overtaken_by_the_next_mirror_into_its_slot() {
    let mut overtaken = Vec::new();
    for seed in 0..12u64 {
        for (width, latency, stall, pages_after) in [(256, 0, 30, 2u16), (64, 8, 10, 8)] {
            let (_p, a, b) = pair(SimConfig {
                seed,
                width_bits: width,
                link_latency: latency,
                host_stall_pct: stall,
                ..SimConfig::default()
            });
            let mut mp = MirrorPair::bring_up([&a, &b], &setup(16)).unwrap();
            let new = pages(&a, u64::from(pages_after), 0xB2);
            let back = pages(&a, 1, 0x55);
            let card = &mut mp.cards[0];
            // Slot 0's page in the partner is still zero; the MIRROR after
            // the COPY_BACK takes slot 0 first.
            let mut cb = Descriptor {
                opcode: opcode::COPY_BACK,
                count: 1,
                local_addr: back.iova().0,
                ..Default::default()
            };
            cb.slots[0] = 0;
            card.post(&cb).unwrap();
            card.post(&mirror_descriptor(
                new.iova(),
                pages_after,
                &MirrorMeta::default(),
            ))
            .unwrap();
            card.ring_doorbell().unwrap();
            for _ in 0..2 {
                let c = card.wait(Duration::from_millis(1)).unwrap();
                assert_eq!(c.status, status::OK, "{c:?}");
            }
            let mut got = vec![0u8; PAGE as usize];
            back.read(0, &mut got).unwrap();
            let stale = got.iter().filter(|&&x| x != 0).count();
            if stale > 0 {
                overtaken.push(format!(
                    "seed {seed}, {width} bits, latency {latency}, host stall {stall} %: {stale} bytes"
                ));
            }
        }
    }
    assert!(
        overtaken.is_empty(),
        "the COPY_BACK returned bytes of the later MIRROR: {overtaken:?}"
    );
}

/// An engine-allocated MIRROR lists the slots the allocator handed out,
/// including slots freed before and handed out again (last freed first),
/// and its records land in exactly those slots — one at a time and posted
/// back to back behind the RELEASE.
#[test]
fn a_mirror_lists_reused_slots_as_the_allocator_handed_them_out() {
    for batched in [false, true] {
        let (p, a, b) = pair(SimConfig::default());
        let mut mp = MirrorPair::bring_up([&a, &b], &setup(16)).unwrap();
        let src = pages(&a, 4, 0x3E);
        let m = MirrorMeta::default();
        let card = &mut mp.cards[0];
        let mut release = Descriptor {
            opcode: opcode::RELEASE,
            count: 2,
            ..Default::default()
        };
        release.slots[..2].copy_from_slice(&[1, 3]);
        let list = [
            mirror_descriptor(src.iova(), 4, &m),
            release,
            mirror_descriptor(src.iova(), 3, &m),
        ];
        let mut got = Vec::new();
        for d in &list {
            card.post(d).unwrap();
            if !batched {
                card.ring_doorbell().unwrap();
                got.push(card.wait(Duration::from_millis(1)).unwrap());
            }
        }
        card.ring_doorbell().unwrap();
        while got.len() < list.len() {
            got.push(card.wait(Duration::from_millis(1)).unwrap());
        }
        let w = p.world();
        let mut valid: Vec<u32> = valid_headers(w.memory(1).unwrap(), &mp.areas[1])
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        valid.sort();
        let last = &got[2];
        assert_eq!(
            (last.status, &last.slots[..4]),
            (status::OK, &[3, 1, 4, 0][..]),
            "batched {batched}: the slots listed (valid headers in the partner: {valid:?})"
        );
        assert_eq!(valid, vec![0, 1, 2, 3, 4], "batched {batched}");
    }
}

/// A cut after a MIRROR's last record reached the partner but before the
/// partner's ACK came back: the descriptor completes LINK_DOWN although its
/// header is whole and valid in the partner's memory (it cannot be taken
/// back). What must hold: every valid header there is the genuine record of
/// a posted MIRROR, in the slot its completion lists.
#[test]
fn a_link_cut_while_a_record_awaits_its_ack_leaves_only_genuine_records() {
    let latency = 300;
    let (p, a, b) = pair(SimConfig {
        link_latency: latency,
        ..SimConfig::default()
    });
    let mut mp = MirrorPair::bring_up([&a, &b], &setup(16)).unwrap();
    let src = pages(&a, 4, 0x4B);
    let card = &mut mp.cards[0];
    let descs: Vec<Descriptor> = (0..4u32)
        .map(|i| {
            let m = MirrorMeta {
                seq: 1000 + i,
                lba: 8 * u64::from(i),
                lun: 2,
                dirty_first: 0xFF,
                dirty_last: 0xFF,
                ..Default::default()
            };
            mirror_descriptor(Iova(src.iova().0 + u64::from(i) * PAGE), 1, &m)
        })
        .collect();
    for d in &descs {
        card.post(d).unwrap();
    }
    card.ring_doorbell().unwrap();
    while p.world().link_stats(0).unwrap().bursts_of(link::WRITE_ACK) == 0 {
        p.world().step();
        assert!(p.world().cycle() < 100_000, "no record sent");
    }
    // The first record lands after `latency` cycles; its ACK needs as many
    // again to come back.
    p.world().step_n(latency + latency / 2);
    p.world().set_link_up(false);
    let got: Vec<_> = (0..descs.len())
        .map(|_| card.wait(Duration::from_millis(1)).unwrap())
        .collect();
    assert!(got.iter().all(|c| c.status == status::LINK_DOWN), "{got:?}");
    let w = p.world();
    let valid = valid_headers(w.memory(1).unwrap(), &mp.areas[1]);
    for (slot, rec) in &valid {
        let i = (rec.seq - 1000) as usize;
        assert!(i < descs.len(), "a header nobody sent: {rec:?}");
        assert_eq!(
            u32::from(got[i].slots[0]),
            *slot,
            "record {i} in another slot"
        );
        assert_eq!((rec.lba, rec.lun), (descs[i].lba, 2));
    }
    assert!(
        valid.iter().any(|(_, r)| r.seq == 1000),
        "the first record had reached the partner before the cut"
    );
}
