//! Shared set-up of the simulator campaigns.
#![allow(dead_code)]

use duplex_firmware::sim::rng::SplitMix64;
use duplex_firmware::sim::world::{At, Fault, SimConfig};
use duplex_firmware::sim::{run, RunReport};
use duplex_firmware::{HardeningMode, MetadataMode, OwnershipPolicy};

/// `DUPLEX_SEED=N` reruns one seed; `DUPLEX_SEEDS=N` widens a campaign to
/// `0..N` (soak runs); otherwise `0..n`.
pub fn seeds(n: u64) -> Vec<u64> {
    let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse().ok());
    match (env("DUPLEX_SEED"), env("DUPLEX_SEEDS")) {
        (Some(s), _) => vec![s],
        (None, Some(m)) => (0..m).collect(),
        (None, None) => (0..n).collect(),
    }
}

/// The protocol variants, chosen by seed so every campaign covers them all.
pub fn variant(c: &mut SimConfig, seed: u64) {
    c.metadata = if seed % 2 == 0 {
        MetadataMode::PerLine
    } else {
        MetadataMode::Batched
    };
    c.hardening = match (seed / 2) % 3 {
        0 => HardeningMode::FlushNotices,
        1 => HardeningMode::DestageScan,
        _ => HardeningMode::Counter { n: 4 },
    };
    c.ownership = if (seed / 6) % 2 == 0 {
        OwnershipPolicy::Forward
    } else {
        OwnershipPolicy::TakeOwnership
    };
}

/// A random workload with one crash of a random controller at a random time
/// inside the workload.
pub fn crash_config(seed: u64) -> SimConfig {
    let mut c = SimConfig::small(seed);
    variant(&mut c, seed);
    let mut r = SplitMix64::new(seed ^ 0xC0FFEE);
    c.ops = r.range(10, 30) as u32;
    c.misroute_pct = r.below(3) * 10;
    // The two caches need not be the same size (idea 2).
    c.cache_bytes = [r.range(12, 24) * 1024, r.range(12, 24) * 1024];
    let t = r.range(5, c.ops as u64 * 4);
    c.faults = vec![(At::Time(t), Fault::Crash(r.below(2) as usize))];
    c
}

pub fn assert_clean(r: &RunReport, what: &str) {
    assert!(
        r.failures.is_empty(),
        "{what}: seed {} failed (rerun with DUPLEX_SEED={}): {:#?}",
        r.seed,
        r.seed,
        r.failures
    );
}

pub fn run_seed(c: SimConfig) -> RunReport {
    run(c)
}
