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
