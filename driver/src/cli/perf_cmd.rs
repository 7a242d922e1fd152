//! `duplexctl bench` and `duplexctl synth`: cycle-level figures from the
//! co-simulation and resource figures from Yosys.
//!
//! `bench dma` reports figures; the speed goals (efficiency >= 0.95 at every
//! width) are read from them, not asserted by tests.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use duplex_driver::board::BoardProfile;
use duplex_driver::dma_bench;
use duplex_sim::allocator_bench;
use duplex_sim::hdl::synth::{synth_xilinx, Resources};
use serde_json::json;

#[derive(Subcommand)]
pub enum BenchOp {
    /// Mirror-slot allocator: operations per cycle and latency in cycles
    /// (stand-alone Verilated 65,536-slot build).
    Alloc {
        /// Operations per stream.
        #[arg(long, default_value_t = 200_000)]
        ops: u64,
        /// Slots initialised (N).
        #[arg(long, default_value_t = 4096)]
        slots: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print JSON rows instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// DMA engine: link efficiency of back-to-back 4 KiB MIRRORs, doorbell-to-
    /// completion cycles at link latency 0 and 500, link transactions per page.
    Dma {
        /// Data-path width in bits: 64, 128, 256 or 512 (default: all four).
        #[arg(long)]
        width: Option<usize>,
        /// Single-page MIRROR descriptors posted back to back (1..=4096).
        #[arg(long, default_value_t = 512)]
        descriptors: u32,
        /// Print JSON rows instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn bench_dma(width: Option<usize>, descriptors: u32, json: bool) -> Result<()> {
    let widths: Vec<usize> = match width {
        None => duplex_sim::model::BUILT_WIDTHS.to_vec(),
        Some(w) if duplex_sim::model::BUILT_WIDTHS.contains(&w) => vec![w],
        Some(w) => bail!("--width {w}: the data path is 64, 128, 256 or 512 bits"),
    };
    if descriptors == 0 || descriptors > dma_bench::MAX_DESCRIPTORS {
        bail!(
            "--descriptors {descriptors}: 1..={}",
            dma_bench::MAX_DESCRIPTORS
        );
    }
    let mut rows = Vec::new();
    for w in widths {
        rows.push(dma_bench::run_width(w, descriptors).with_context(|| format!("{w}-bit card"))?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:>6} {:>6} {:>10} {:>10} {:>14} {:>14}  link beats/bursts per page",
        "width", "descs", "cycles", "efficiency", "1 page, lat 0", "1 page, lat 500"
    );
    for r in &rows {
        let kinds: Vec<String> = r
            .link_transactions_per_write
            .iter()
            .map(|(k, v)| format!("{k} {:.1}/{:.1}", v.beats, v.bursts))
            .collect();
        println!(
            "{:>6} {:>6} {:>10} {:>10.3} {:>14} {:>14}  {}",
            r.width_bits,
            r.descriptors,
            r.cycles,
            r.efficiency,
            r.doorbell_to_completion_cycles["latency_0"],
            r.doorbell_to_completion_cycles["latency_500"],
            kinds.join(", ")
        );
    }
    Ok(())
}

pub fn bench(op: BenchOp) -> Result<()> {
    match op {
        BenchOp::Dma {
            width,
            descriptors,
            json,
        } => bench_dma(width, descriptors, json),
        BenchOp::Alloc {
            ops,
            slots,
            seed,
            json,
        } => {
            if slots == 0 || slots > 65_536 {
                bail!("--slots must be 1..=65536");
            }
            let rows = allocator_bench::run(ops, slots, seed).context("allocator bench")?;
            if json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "stream": r.stream,
                            "ops": r.ops,
                            "cycles": r.cycles,
                            "ops_per_cycle": r.ops_per_cycle,
                            "slots_per_cycle": r.slots_per_cycle,
                            "latency_min_cycles": r.latency_min,
                            "latency_max_cycles": r.latency_max,
                            "sw_latency_max_cycles": r.sw_latency_max,
                            "refused": r.refused,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{:<28} {:>9} {:>9} {:>9} {:>11} {:>12} {:>14}",
                    "stream",
                    "ops",
                    "cycles",
                    "ops/cyc",
                    "slots/cyc",
                    "dma latency",
                    "sw op latency"
                );
                for r in &rows {
                    let sw = if r.sw_latency_max > 0 {
                        format!("<= {}", r.sw_latency_max)
                    } else {
                        "-".into()
                    };
                    println!(
                        "{:<28} {:>9} {:>9} {:>9.3} {:>11.3} {:>12} {:>14}",
                        r.stream,
                        r.ops,
                        r.cycles,
                        r.ops_per_cycle,
                        r.slots_per_cycle,
                        format!("{}..{}", r.latency_min, r.latency_max),
                        sw
                    );
                }
            }
            if rows.iter().any(|r| r.refused != 0) {
                bail!("the allocator refused operations the stream made valid");
            }
            Ok(())
        }
    }
}

/// What `synth` synthesises.
pub struct SynthArgs {
    pub block: Option<String>,
    pub slots: u32,
    pub board: Option<String>,
    pub width: usize,
    pub json: bool,
}

fn share(used: f64, total: u64) -> String {
    if total == 0 {
        "-".into()
    } else {
        format!("{:.1} %", 100.0 * used / total as f64)
    }
}

pub fn synth(a: SynthArgs) -> Result<()> {
    let (what, verilog, profile) = match (&a.block, &a.board) {
        (Some(b), None) if b == "allocator" => (
            format!("allocator, {} slots", a.slots),
            duplex_sim::hdl::allocator_verilog(a.slots)?,
            None,
        ),
        (Some(b), None) if b == "card" => (
            format!("card core, {}-bit data path", a.width),
            duplex_sim::hdl::card_verilog(a.width, duplex_sim::hdl::CardConfig::default())?,
            None,
        ),
        (Some(b), None) => bail!("unknown block {b:?} (blocks: allocator, card)"),
        (None, Some(board)) => {
            let p = BoardProfile::load(board)?;
            let v = duplex_sim::hdl::card_verilog(a.width, duplex_sim::hdl::CardConfig::default())?;
            (
                format!(
                    "card core, {}-bit data path, for {} ({})",
                    a.width, p.board, p.fpga.part
                ),
                v,
                Some(p),
            )
        }
        (None, None) => bail!("say what to synthesise: --block allocator|card or --board NAME"),
        (Some(_), Some(_)) => bail!("--block and --board exclude each other"),
    };
    let family = profile
        .as_ref()
        .map(|p| p.fpga.family.clone())
        .unwrap_or_else(|| "xc7".into());
    if !a.json {
        eprintln!("yosys synth_xilinx -family {family}: {what} ...");
    }
    let r: Resources = synth_xilinx(&verilog, &family)?;
    let caps = profile.as_ref().map(|p| &p.fpga);
    if a.json {
        let mut v = json!({
            "design": what,
            "family": family,
            "luts": r.luts,
            "lutram_luts": r.lutram_luts,
            "ffs": r.ffs,
            "bram36": r.bram36,
            "dsp": r.dsp,
        });
        if let Some(f) = caps {
            v["part"] = json!(f.part);
            v["lut_share_pct"] = json!(100.0 * r.luts as f64 / f.luts as f64);
            v["ff_share_pct"] = json!(100.0 * r.ffs as f64 / f.flip_flops as f64);
            v["bram_share_pct"] = json!(100.0 * r.bram36 / f.bram36 as f64);
            v["dsp_share_pct"] = json!(100.0 * r.dsp as f64 / f.dsp.max(1) as f64);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{what} (Yosys synth_xilinx -family {family})");
        let rows = [
            ("LUT", r.luts as f64, caps.map(|f| f.luts)),
            ("  of which LUTRAM", r.lutram_luts as f64, None),
            ("FF", r.ffs as f64, caps.map(|f| f.flip_flops)),
            ("BRAM36", r.bram36, caps.map(|f| f.bram36)),
            ("DSP", r.dsp as f64, caps.map(|f| f.dsp)),
        ];
        for (name, used, total) in rows {
            match total {
                Some(t) => println!("  {name:<18} {used:>9}  {:>7} of {t}", share(used, t)),
                None => println!("  {name:<18} {used:>9}"),
            }
        }
    }
    Ok(())
}
