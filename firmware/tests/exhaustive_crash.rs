//! Exhaustive crash points (DESIGN.md ideas 3, 9, 10): every workload of at
//! most three writes over at most four LBAs of one LUN, each write a
//! contiguous range, and a crash of either controller before every event of
//! the workload's window. The four LBAs are sectors 6..=9: they straddle a
//! page boundary, so writes are partial pages (read-modify-write, dirty-sector
//! bitmaps) and multi-page. After failover and failback every page must read
//! back its latest acknowledged content, or the content of a write in flight
//! at the crash.

mod common;

use duplex_firmware::sim::run;
use duplex_firmware::sim::world::{At, Fault, Op, SimConfig};

/// The ten contiguous ranges of LBAs 6..=9 (pages are 8 sectors).
fn ranges() -> Vec<(u64, u32)> {
    let mut v = Vec::new();
    for start in 0..4u64 {
        for len in 1..=(4 - start) as u32 {
            v.push((6 + start, len));
        }
    }
    v
}

fn workloads(n: usize) -> Vec<Vec<Op>> {
    let r = ranges();
    let mut out: Vec<Vec<Op>> = vec![Vec::new()];
    for _ in 0..n {
        out = out
            .into_iter()
            .flat_map(|w| {
                r.iter().map(move |&(lba, sectors)| {
                    let mut w = w.clone();
                    w.push(Op::Write {
                        lun: 0,
                        lba,
                        sectors,
                    });
                    w
                })
            })
            .collect();
    }
    out
}

fn config(w: &[Op], index: usize) -> SimConfig {
    let mut c = SimConfig::small(index as u64);
    // Every protocol variant gets its share of the workloads.
    common::variant(&mut c, index as u64);
    c.lun_pages = 4;
    c.luns = 2;
    // A trailing flush destages everything, so the window also covers the
    // destage, the notices and the slot releases (idea 6).
    let mut w = w.to_vec();
    w.push(Op::Flush);
    c.workload = Some(w);
    c
}

/// Returns (workloads, crash runs).
fn exhaust(n: usize) -> (u64, u64) {
    let mut runs = 0;
    let ws = workloads(n);
    for (i, w) in ws.iter().enumerate() {
        // The fault-free run fixes the window: from the first host operation
        // to the end of the run's workload phase.
        let base = run(config(w, i));
        assert!(
            base.failures.is_empty(),
            "workload {w:?} fails without a crash: {:?}",
            base.failures
        );
        let (from, to) = (base.workload_first_step, base.settled_step);
        for step in from..=to {
            for node in 0..2 {
                let mut c = config(w, i);
                c.faults = vec![(At::Step(step), Fault::Crash(node))];
                let r = run(c);
                assert!(
                    r.failures.is_empty(),
                    "workload {w:?}, crash of node {node} before step {step}: {:#?}",
                    r.failures
                );
                runs += 1;
            }
        }
    }
    (ws.len() as u64, runs)
}

#[test]
fn exhaustive_crash_points_one_write() {
    let (w, r) = exhaust(1);
    println!("exhaustive: {w} workloads of 1 write, {r} crash runs");
}

#[test]
fn exhaustive_crash_points_two_writes() {
    let (w, r) = exhaust(2);
    println!("exhaustive: {w} workloads of 2 writes, {r} crash runs");
}

#[test]
fn exhaustive_crash_points_three_writes() {
    let (w, r) = exhaust(3);
    println!("exhaustive: {w} workloads of 3 writes, {r} crash runs");
}

/// The enumeration catches a firmware that acknowledges before the mirror
/// copy lands (idea 3 broken), already with one write.
#[test]
fn exhaustive_crash_points_catch_ack_before_mirror() {
    let mut caught = 0;
    for (i, w) in workloads(1).iter().enumerate() {
        let base = run(config(w, i));
        for step in base.workload_first_step..=base.settled_step {
            let mut c = config(w, i);
            c.mutation = duplex_firmware::Mutation::AckBeforeMirror;
            c.faults = vec![(At::Step(step), Fault::Crash(0))];
            if !run(c).failures.is_empty() {
                caught += 1;
            }
        }
    }
    assert!(
        caught > 0,
        "no crash point exposed the early acknowledgement"
    );
}

/// Link cuts at every event of every workload of up to three writes (ideas 9,
/// 10): the cut heals once the workload has been issued, and the arbiter's
/// verdict reaches one side 40 ticks after the cut — usually after the heal,
/// the hardest case. No acknowledged write is lost, no write issued after the
/// cut is acknowledged by both sides, the hardening superset holds throughout.
#[test]
fn exhaustive_link_cut_points_up_to_three_writes() {
    let mut runs = 0;
    for n in 1..=3 {
        for (i, w) in workloads(n).iter().enumerate() {
            let base = run(config(w, i));
            for step in base.workload_first_step..=base.settled_step {
                let mut c = config(w, i);
                c.faults = vec![(At::Step(step), Fault::LinkCut)];
                let r = run(c);
                assert!(
                    r.failures.is_empty(),
                    "workload {w:?} (variant {i}), link cut before step {step}: {:#?}",
                    r.failures
                );
                runs += 1;
            }
        }
    }
    println!("exhaustive: {runs} link-cut runs");
}
