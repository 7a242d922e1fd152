//! Crash campaigns (DESIGN.md ideas 3, 9, 10): random workloads of reads,
//! overlapping writes of 1–16 pages and flushes, with a crash of either
//! controller at a random point; every read, during the run and after
//! failover and failback, is checked against the reference model.

mod common;
use common::*;

use duplex_firmware::sim::run;
use duplex_firmware::sim::world::{At, Fault, SimConfig};

#[test]
fn random_crash_campaign_2000_seeds() {
    let mut reads = 0;
    let mut acked = 0;
    let mut failbacks = 0;
    for seed in seeds(2000) {
        let r = run(crash_config(seed));
        assert_clean(&r, "crash campaign");
        assert!(r.crashes == 1 || r.failures.is_empty(), "seed {seed}: no crash injected");
        reads += r.reads_checked;
        acked += r.writes_acked;
        failbacks += r.failbacks;
    }
    println!("crash campaign: {acked} writes acknowledged, {reads} page reads checked, {failbacks} failbacks");
    assert!(reads > 0 && acked > 0 && failbacks > 0);
}
