//! Shared helpers for the end-to-end scenarios in `tests/tests/`.

pub mod dma_rig;

use duplex_driver::sim_device::{SimDevice, SimPair};
use duplex_sim::SimConfig;

/// A co-simulated pair and its two cards as driver Devices.
pub fn pair(cfg: SimConfig) -> (SimPair, SimDevice, SimDevice) {
    let p = SimPair::new(cfg).expect("co-simulation starts");
    let a = p.device(0).expect("card 0");
    let b = p.device(1).expect("card 1");
    (p, a, b)
}

/// The seed for randomised scenarios: `DUPLEX_SEED` if set, else `default`.
/// Tests print it on failure so a failing run reproduces.
pub fn seed(default: u64) -> u64 {
    std::env::var("DUPLEX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
