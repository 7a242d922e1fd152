//! `duplexctl bench alloc` and `duplexctl synth`: the allocator's cycle
//! figures (the goals: one operation per cycle, slots two cycles after the
//! request) and resource reports, through the real binary.

use serde_json::Value;
use std::process::Command;

fn duplexctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_duplexctl"))
        .args(args)
        .output()
        .expect("run duplexctl")
}

#[test]
fn bench_alloc_sustains_one_operation_per_cycle_with_two_cycle_latency() {
    let out = duplexctl(&["bench", "alloc", "--ops", "20000", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert!(r["ops_per_cycle"].as_f64().unwrap() >= 0.999, "{r}");
        assert_eq!(r["latency_max_cycles"], 2, "{r}");
        assert_eq!(r["refused"], 0, "{r}");
    }
    let both = &rows[2];
    assert!(
        both["sw_latency_max_cycles"].as_u64().unwrap() > 0,
        "{both}"
    );
}

#[test]
fn synth_reports_the_card_core_against_the_boards_part() {
    let out = duplexctl(&["synth", "--board", "acornCle215", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["part"], "xc7a200tfbg484-3");
    let luts = v["luts"].as_u64().unwrap();
    let share = v["lut_share_pct"].as_f64().unwrap();
    assert!(luts > 1000, "{v}");
    assert!(
        (share - 100.0 * luts as f64 / 134_600.0).abs() < 1e-9,
        "{v}"
    );
    assert!(
        v["bram36"].as_f64().unwrap() >= 2.0,
        "the allocator's RAM: {v}"
    );
}

#[test]
fn synth_refuses_bad_requests_in_one_line() {
    for args in [
        &["synth", "--block", "allocator", "--slots", "1000"][..],
        &["synth", "--block", "fifo"][..],
        &["synth"][..],
        &["synth", "--board", "no-such-board"][..],
    ] {
        let out = duplexctl(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("duplexctl: error: "), "{err}");
    }
}

#[test]
fn bench_dma_reports_efficiency_latency_and_link_transactions_per_width() {
    let out = duplexctl(&["bench", "dma", "--descriptors", "32", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let widths: Vec<u64> = rows
        .iter()
        .map(|r| r["width_bits"].as_u64().unwrap())
        .collect();
    assert_eq!(widths, vec![64, 128, 256, 512]);
    for r in &rows {
        let e = r["efficiency"].as_f64().unwrap();
        assert!(e > 0.0 && e <= 1.0, "{r}");
        assert_eq!(r["payload_bytes"], 32 * 4096, "{r}");
        let lat = &r["doorbell_to_completion_cycles"];
        let (l0, l500) = (
            lat["latency_0"].as_u64().unwrap(),
            lat["latency_500"].as_u64().unwrap(),
        );
        // A page needs at least its data beats; the acknowledgement crosses
        // the link twice.
        let beat_bytes = r["width_bits"].as_u64().unwrap() / 8;
        let beats = 4096 / beat_bytes;
        assert!(l0 >= beats, "{r}");
        assert!(l500 >= l0 + 2 * 500, "{r}");
        let per = r["link_transactions_per_write"].as_object().unwrap();
        let data = per["write"]["beats"].as_f64().unwrap()
            + per["write (acked)"]["beats"].as_f64().unwrap();
        // Every page's data and its 64-byte record cross the link.
        assert!(data >= (beats + 64 / beat_bytes) as f64 - 1e-9, "{r}");
        assert!(per["ack"]["bursts"].as_f64().unwrap() >= 1.0, "{r}");
    }
}

#[test]
fn bench_dma_refuses_a_bad_width_in_one_line() {
    for args in [
        &["bench", "dma", "--width", "96"][..],
        &["bench", "dma", "--width", "1024", "--json"][..],
        &["bench", "dma", "--descriptors", "0"][..],
    ] {
        let out = duplexctl(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("duplexctl: error: "), "{err}");
    }
}
