//! A deterministic two-controller simulator (feature `sim`): a plain-Rust
//! card model with the card's contract (rings, slot allocator, NTB windows),
//! shared disks with fencing, a reference model of what each LBA must read
//! back, and fault injection at any event (controller crash with memory
//! loss, link cut and heal, disk errors). One seed gives one run.
//!
//! The campaigns in `firmware/tests/` read `DUPLEX_SEED=N` (rerun one seed),
//! `DUPLEX_SEEDS=N` (widen a campaign to seeds `0..N`) and `DUPLEX_TRACE=1`
//! (print every input and action of the run).

mod actions;
pub mod card;
mod checks;
mod host;
pub mod reference;
pub mod rng;
pub mod variants;
pub mod world;

pub use card::{CardModel, CardStats};
pub use reference::Reference;
pub use rng::SplitMix64;
pub use world::{run, Fault, RunReport, SimConfig, World};
