//! Cycle figures of the DMA engine on the co-simulated pair, behind
//! `duplexctl bench dma`: link efficiency of back-to-back single-page
//! MIRRORs, doorbell-to-completion latency, and link transactions per
//! mirrored page by kind.
//!
//! Efficiency = payload bytes / (cycles from the doorbell to the last
//! completion × bytes per beat): the share of the data path's cycles that
//! carried page data. Cycles are simulated card cycles, so the figures do
//! not depend on the host running the simulation.

use crate::card::{mirror_descriptor, CardSetup, GuardedBuffer, MirrorMeta};
use crate::error::{DriverError, Result};
use crate::mirror_pair::{MirrorPair, PairSetup};
use crate::sim_device::{SimPair, SIM_CLOCK_HZ};
use duplex_regs::dma::link;
use duplex_regs::layout::status;
use duplex_sim::SimConfig;
use std::collections::BTreeMap;
use std::time::Duration;

const PAGE: u64 = 4096;
/// Source pages the descriptors cycle through.
const SOURCE_PAGES: u64 = 16;
/// Most descriptors one measurement posts (one slot each).
pub const MAX_DESCRIPTORS: u32 = 4096;

/// Link traffic per mirrored page of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct PerWrite {
    pub beats: f64,
    /// Beats with `last` set.
    pub bursts: f64,
}

/// The figures of one data-path width.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DmaBenchRow {
    pub width_bits: usize,
    pub descriptors: u32,
    pub payload_bytes: u64,
    /// Doorbell to last completion, back to back.
    pub cycles: u64,
    pub efficiency: f64,
    /// One 4 KiB MIRROR, doorbell to completion, by link latency.
    pub doorbell_to_completion_cycles: BTreeMap<String, u64>,
    /// Link transactions per mirrored page by kind name, both directions.
    pub link_transactions_per_write: BTreeMap<String, PerWrite>,
}

/// A co-simulated pair of `width_bits` with host memory for `slots` mirror
/// slots each way.
fn rig(width_bits: usize, latency: u64, slots: u32) -> Result<SimPair> {
    let area = u64::from(slots) * (PAGE + 64);
    SimPair::new(SimConfig {
        width_bits,
        link_latency: latency,
        host_memory_bytes: (area + (8 << 20)) as usize,
        ..SimConfig::default()
    })
}

/// Posts `n` single-page MIRRORs on card 0, rings the doorbell once and
/// returns (cycles from the doorbell to the last completion, link stats).
fn back_to_back(p: &SimPair, n: u32) -> Result<(u64, [duplex_sim::LinkStats; 2])> {
    let (a, b) = (p.device(0)?, p.device(1)?);
    let log2 = (32 - (n.max(2) - 1).leading_zeros()).clamp(1, 15);
    let setup = PairSetup {
        slots: n.max(1),
        meta_log2: 4,
        card: CardSetup {
            desc_log2: log2,
            cpl_log2: log2,
            ..CardSetup::default()
        },
        ..PairSetup::default()
    };
    let mut mp = MirrorPair::bring_up([&a, &b], &setup)?;
    let src = GuardedBuffer::new(&a, (SOURCE_PAGES * PAGE) as usize, 0)?;
    let fill: Vec<u8> = (0..SOURCE_PAGES * PAGE).map(|i| (i % 251) as u8).collect();
    src.write(0, &fill)?;
    let card = &mut mp.cards[0];
    for i in 0..u64::from(n) {
        let page = duplex_regs::Descriptor {
            tag: i as u32,
            ..mirror_descriptor(
                crate::Iova(src.iova().0 + (i % SOURCE_PAGES) * PAGE),
                1,
                &MirrorMeta::default(),
            )
        };
        card.post(&page)?;
    }
    p.world().clear_link_stats();
    let start = p.world().cycle();
    card.ring_doorbell()?;
    let mut done = 0;
    let mut last = start;
    // Eight times the beats of a 64-bit card per page, and then some.
    let limit = start + 200_000 + PAGE * u64::from(n);
    while done < n {
        while let Some(c) = card.poll()? {
            if c.status != status::OK {
                return Err(DriverError::DmaFailed {
                    device: "sim:0".into(),
                    op: "bench mirror",
                    tag: c.tag,
                    status: c.status,
                    reason: status::name(c.status),
                    slots: Vec::new(),
                });
            }
            done += 1;
            last = p.world().cycle();
        }
        if done < n {
            let mut w = p.world();
            w.step();
            if w.cycle() > limit {
                let cycles = limit - start;
                return Err(DriverError::Timeout {
                    device: "sim:0".into(),
                    what: format!("completion of {n} MIRRORs ({done} done)"),
                    timeout: Duration::from_nanos(cycles * 1_000_000_000 / SIM_CLOCK_HZ),
                });
            }
        }
    }
    let w = p.world();
    let stats = [w.link_stats(0)?.clone(), w.link_stats(1)?.clone()];
    Ok((last - start, stats))
}

/// Measures one width.
pub fn run_width(width_bits: usize, descriptors: u32) -> Result<DmaBenchRow> {
    if descriptors == 0 || descriptors > MAX_DESCRIPTORS {
        return Err(DriverError::DmaBadRequest {
            device: "sim".into(),
            op: "bench",
            detail: format!("{descriptors} descriptors (1..={MAX_DESCRIPTORS})"),
        });
    }
    let p = rig(width_bits, 0, descriptors)?;
    let (cycles, stats) = back_to_back(&p, descriptors)?;
    let beat = (width_bits / 8) as u64;
    let payload = u64::from(descriptors) * PAGE;
    let mut per = BTreeMap::new();
    for kind in 0..16u8 {
        let (beats, bursts) = stats.iter().fold((0, 0), |(x, y), s| {
            (x + s.beats_of(kind), y + s.bursts_of(kind))
        });
        if beats > 0 {
            per.insert(
                link::name(kind).to_string(),
                PerWrite {
                    beats: beats as f64 / f64::from(descriptors),
                    bursts: bursts as f64 / f64::from(descriptors),
                },
            );
        }
    }
    let mut latency = BTreeMap::new();
    for l in [0u64, 500] {
        let p = rig(width_bits, l, 1)?;
        let (c, _) = back_to_back(&p, 1)?;
        latency.insert(format!("latency_{l}"), c);
    }
    Ok(DmaBenchRow {
        width_bits,
        descriptors,
        payload_bytes: payload,
        cycles,
        efficiency: payload as f64 / (cycles.max(1) * beat) as f64,
        doorbell_to_completion_cycles: latency,
        link_transactions_per_write: per,
    })
}
