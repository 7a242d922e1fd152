//! Throughput and latency of the Verilated mirror-slot allocator, measured
//! in clock cycles (`duplexctl bench alloc`).
//!
//! Each stream keeps the DMA-engine port busy every cycle for `ops`
//! operations; a stream may also keep the software port busy (OP written as
//! soon as the previous RESULT is in), so both requesters contend. Figures
//! are cycle counts from the model, independent of the host's speed.

use crate::allocator::{AllocatorSim, DmaRequest};
use crate::Result;
use duplex_regs::slot_alloc::{self as a, status};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// One measured stream.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocBenchRow {
    pub stream: &'static str,
    /// Operations taken on both ports.
    pub ops: u64,
    /// Cycles from the first operation taken to the last.
    pub cycles: u64,
    pub ops_per_cycle: f64,
    /// Slots handed out per cycle.
    pub slots_per_cycle: f64,
    /// DMA port: cycles from a request taken to its response.
    pub latency_min: u64,
    pub latency_max: u64,
    /// Software port: cycles from the OP write to RESULT no longer busy
    /// (0 when the stream does not use it).
    pub sw_latency_max: u64,
    /// Responses that were refusals (should be 0: streams only make valid requests).
    pub refused: u64,
}

/// Where the software requester is.
#[derive(Clone, Copy)]
enum Sw {
    Idle,
    Wait { since: u64, free: bool },
    ReadSlot,
    Free(u32),
}

#[derive(Clone, Copy)]
enum Stream {
    Alloc1Free,
    Alloc16Free,
    BothPorts,
}

/// Runs the streams on the 65,536-slot build with `slots` slots initialised.
pub fn run(ops: u64, slots: u32, seed: u64) -> Result<Vec<AllocBenchRow>> {
    let mut rows = Vec::new();
    for (name, s) in [
        ("alloc(1)/free mix", Stream::Alloc1Free),
        ("alloc(16)/free mix", Stream::Alloc16Free),
        ("alloc(1)/free, both ports", Stream::BothPorts),
    ] {
        rows.push(run_stream(name, s, ops, slots, seed)?);
    }
    Ok(rows)
}

fn run_stream(
    name: &'static str,
    stream: Stream,
    ops: u64,
    slots: u32,
    seed: u64,
) -> Result<AllocBenchRow> {
    let mut hw = AllocatorSim::new(65_536)?;
    hw.init(slots, false)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Slots held by the stream, as the responses hand them out; slots whose
    // alloc is still in flight are counted as reserved.
    let mut held: Vec<u32> = Vec::new();
    let mut reserved = 0u32;
    let mut inflight: VecDeque<u64> = VecDeque::new();
    let (mut taken, mut handed, mut refused) = (0u64, 0u64, 0u64);
    let (mut lat_min, mut lat_max, mut sw_lat_max) = (u64::MAX, 0u64, 0u64);
    let (mut first, mut last) = (None, 0u64);
    let mut sw = Sw::Idle;
    let mut sw_seq = 0;
    let k = match stream {
        Stream::Alloc16Free => 16,
        _ => 1,
    };
    let target = slots / 2;
    let mut req: Option<DmaRequest> = None;
    while taken < ops || !inflight.is_empty() || !matches!(sw, Sw::Idle) {
        if req.is_none() && taken < ops {
            let outstanding = held.len() as u32 + reserved;
            let alloc = if outstanding + k > slots {
                false
            } else if held.is_empty() {
                true
            } else if outstanding < target {
                rng.gen_bool(0.7)
            } else {
                rng.gen_bool(0.3)
            };
            req = Some(if alloc {
                reserved += k;
                DmaRequest::Alloc { count: k }
            } else {
                let i = rng.gen_range(0..held.len());
                DmaRequest::Free {
                    slot: held.swap_remove(i),
                }
            });
        }
        hw.set_request(req);
        // Software port: alloc(1), read the slot, free it, again.
        let both = matches!(stream, Stream::BothPorts);
        match sw {
            Sw::Idle if both && taken < ops => {
                hw.write_reg(a::OP, a::OP_COUNT.set(0, 1));
                hw.set_read(a::RESULT);
            }
            Sw::ReadSlot => hw.set_read(a::RESULT_SLOTS),
            Sw::Free(slot) => {
                hw.write_reg(a::OP, a::OP_SLOT.set(a::OP_FREE.set(0, 1), slot));
                hw.set_read(a::RESULT);
            }
            _ => hw.set_read(a::RESULT),
        }
        let now = hw.cycles();
        let c = hw.cycle();
        let done = a::RESULT_BUSY.get(c.rd_data) == 0 && a::RESULT_SEQ.get(c.rd_data) != sw_seq;
        sw = match sw {
            Sw::Idle if both && taken < ops => Sw::Wait {
                since: now,
                free: false,
            },
            Sw::Wait { since, free } if done => {
                sw_seq = a::RESULT_SEQ.get(c.rd_data);
                sw_lat_max = sw_lat_max.max(now - since);
                taken += 1;
                if a::RESULT_STATUS.get(c.rd_data) != status::OK {
                    refused += 1;
                }
                if free {
                    Sw::Idle
                } else {
                    handed += u64::from(a::RESULT_COUNT.get(c.rd_data));
                    Sw::ReadSlot
                }
            }
            Sw::ReadSlot => Sw::Free(a::RESULT_SLOT_LO.get(c.rd_data)),
            Sw::Free(_) => Sw::Wait {
                since: now,
                free: true,
            },
            other => other,
        };
        if c.taken {
            req = None;
            first.get_or_insert(now);
            last = now;
            taken += 1;
            inflight.push_back(now);
        }
        if let Some(r) = c.response {
            let t0 = inflight.pop_front().unwrap_or(now);
            lat_min = lat_min.min(now - t0);
            lat_max = lat_max.max(now - t0);
            if r.status != status::OK {
                refused += 1;
            }
            if !r.slots.is_empty() {
                reserved -= r.slots.len() as u32;
                handed += r.slots.len() as u64;
                held.extend(&r.slots);
            }
        }
    }
    let first = first.unwrap_or(0);
    let cycles = last - first + 1;
    Ok(AllocBenchRow {
        stream: name,
        ops: taken,
        cycles,
        ops_per_cycle: taken as f64 / cycles as f64,
        slots_per_cycle: handed as f64 / cycles as f64,
        latency_min: if lat_min == u64::MAX { 0 } else { lat_min },
        latency_max: lat_max,
        sw_latency_max: sw_lat_max,
        refused,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn streams_run_without_refusals() {
        let rows = super::run(2_000, 4_096, 1).unwrap();
        assert_eq!(rows.len(), 3);
        for r in &rows {
            assert_eq!(r.refused, 0, "{r:?}");
            assert!(r.ops >= 2_000, "{r:?}");
        }
    }
}
