//! The Verilated pair at the BAR0 level, without the driver.

use duplex_regs::{id, ntb, ID, NTB, UNMAPPED_READ_VALUE};
use duplex_sim::{SimConfig, SimWorld};

fn world(latency: u64) -> SimWorld {
    SimWorld::new(SimConfig {
        link_latency: latency,
        ..SimConfig::default()
    })
    .expect("sim")
}

#[test]
fn id_block_header_and_design_id_read_back() {
    let mut w = world(0);
    assert_eq!(w.bar_read(0, ID.base).unwrap(), ID.type_id);
    assert_eq!(
        w.bar_read(1, id::DESIGN_ID.offset).unwrap(),
        id::DESIGN_ID.reset
    );
    assert_eq!(w.bar_read(0, NTB.base + 8).unwrap(), NTB.next);
    assert_eq!(w.bar_read(0, 0xFF00).unwrap(), UNMAPPED_READ_VALUE);
}

#[test]
fn peer_scratchpad_write_lands_in_partner_after_exact_latency() {
    // Cycles from the PEER_SPAD write until the partner's SPAD changes.
    fn visible_after(latency: u64) -> u64 {
        let mut w = world(latency);
        w.bar_write(0, ntb::PEER_SPAD.at(3).offset, 0xCAFE_0003)
            .unwrap();
        let start = w.cycle();
        loop {
            if w.bar_read(1, ntb::SPAD.at(3).offset).unwrap() == 0xCAFE_0003 {
                return w.cycle() - start;
            }
            assert!(w.cycle() - start < 10_000, "never arrived");
        }
    }
    // Reads take 2 cycles each, so poll resolution is 2; compare differences
    // of the polled arrival at latencies that are multiples of 2.
    let base = visible_after(0);
    assert_eq!(visible_after(100) - base, 100);
}

#[test]
fn every_built_width_runs_and_reports_its_data_path() {
    for w in duplex_sim::model::BUILT_WIDTHS {
        let mut sim = SimWorld::new(SimConfig {
            width_bits: w,
            ..SimConfig::default()
        })
        .expect("sim");
        assert_eq!((sim.width_bits(), sim.beat_bytes()), (w, w / 8));
        assert_eq!(sim.bar_read(1, id::DATA_WIDTH.offset).unwrap(), w as u32);
        // The link works at every width.
        sim.bar_write(0, ntb::PEER_SPAD.at(1).offset, 0x600D)
            .unwrap();
        sim.step_n(8);
        assert_eq!(sim.bar_read(1, ntb::SPAD.at(1).offset).unwrap(), 0x600D);
    }
    match SimWorld::new(SimConfig {
        width_bits: 96,
        ..SimConfig::default()
    }) {
        Err(duplex_sim::SimError::NoCardModel(96)) => {}
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a 96-bit card is not built"),
    }
}

#[test]
fn an_injected_beat_reaches_the_partner_and_is_counted_by_kind() {
    use duplex_regs::dma::link;
    use duplex_sim::LinkBeat;
    let mut w = world(5);
    w.bar_write(0, ntb::PEER_SPAD.at(0).offset, 1).unwrap();
    // A partner that sends a scratchpad message of its own, in two beats.
    for last in [false, true] {
        w.inject_link_beat(
            0,
            LinkBeat {
                kind: link::SPAD,
                addr: 2,
                data: vec![0xEF, 0xBE],
                last,
            },
        )
        .unwrap();
    }
    w.step_n(10);
    assert_eq!(w.bar_read(1, ntb::SPAD.at(2).offset).unwrap(), 0xBEEF);
    let s = w.link_stats(0).unwrap();
    assert_eq!((s.beats_of(link::SPAD), s.bursts_of(link::SPAD)), (3, 2));
    assert_eq!(s.total_beats(), 3);
    assert_eq!(w.link_stats(1).unwrap().total_beats(), 0);
    assert!(w.link_stats(2).is_err());
    // Nothing is carried while the link is down.
    w.set_link_up(false);
    w.inject_link_beat(
        0,
        LinkBeat {
            kind: link::DOORBELL,
            addr: 0,
            data: vec![1],
            last: true,
        },
    )
    .unwrap();
    assert_eq!(w.link_stats(0).unwrap().beats_of(link::DOORBELL), 0);
    w.clear_link_stats();
    assert_eq!(w.link_stats(0).unwrap().total_beats(), 0);
}
