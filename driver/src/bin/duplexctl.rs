//! `duplexctl`: control duplex cards — real ones by PCI address, or the
//! co-simulated pair as `sim:0` / `sim:1`.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 bad command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use duplex_driver::examine::{examine, CardReport};
use duplex_driver::{Device, DeviceSpec};
use std::path::PathBuf;

#[path = "../cli/flash_cmd.rs"]
mod flash_cmd;
#[path = "../cli/inband_cmd.rs"]
mod inband_cmd;
#[path = "../cli/perf_cmd.rs"]
mod perf_cmd;

#[derive(Parser)]
#[command(
    name = "duplexctl",
    version,
    about = "Control duplex dual-controller mirroring cards (real or co-simulated)",
    long_about = "Control duplex dual-controller mirroring cards.\n\n\
        A card is named by --device: a PCI address (0000:03:00.0, bound to vfio-pci) or \
        sim:0 / sim:1, the two cards of a Verilator co-simulation started for the command.\n\n\
        Read-only commands take --json for scripts. Exit codes: 0 success, 1 failure, \
        2 bad command line."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Walk the card's register blocks and print blocks, versions, registers and link state.
    Examine {
        /// Card to examine: sim:0, sim:1 or a PCI address.
        #[arg(long, short, default_value = "sim:0")]
        device: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Seed of the co-simulation (sim devices only).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Board images in the configuration flash: over JTAG (--board, openFPGALoader)
    /// or in-band through the card (--device).
    Flash {
        #[command(subcommand)]
        op: flash_cmd::FlashOp,
    },
    /// Cycle-level benchmarks in the co-simulation.
    Bench {
        #[command(subcommand)]
        op: perf_cmd::BenchOp,
    },
    /// Resource figures from Yosys synth_xilinx: a block (--block allocator --slots N, --block card --width W)
    /// or the card core for a board (--board NAME), with its share of the part.
    Synth {
        /// Block to synthesise alone: allocator or card.
        #[arg(long)]
        block: Option<String>,
        /// Allocator size in slots (a power of two, 32..=65536).
        #[arg(long, default_value_t = 4096)]
        slots: u32,
        /// Board whose FPGA to report against (board-files/NAME/flash.toml).
        #[arg(long)]
        board: Option<String>,
        /// Data-path width of the card core (with --block card or --board).
        #[arg(long, default_value_t = 256)]
        width: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write the card's Verilog (rust-hdl output) to a directory.
    Verilog {
        /// Output directory (created if missing).
        #[arg(long, default_value = "target/verilog")]
        out: PathBuf,
        /// Data-path width in bits: 64, 128, 256 or 512.
        #[arg(long, default_value_t = 256)]
        width: usize,
    },
}

fn main() {
    // Behave like other command-line tools when piped into `head`: exit
    // quietly on a closed pipe instead of failing the print.
    // SAFETY: restoring the default disposition of SIGPIPE at start-up,
    // before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        // One clear line: the error and its causes, outermost first.
        let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("duplexctl: error: {}", chain.join(": "));
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Examine { device, json, seed } => cmd_examine(&device, json, seed),
        Cmd::Verilog { out, width } => cmd_verilog(&out, width),
        Cmd::Flash { op } => flash_cmd::run(op),
        Cmd::Bench { op } => perf_cmd::bench(op),
        Cmd::Synth {
            block,
            slots,
            board,
            width,
            json,
        } => perf_cmd::synth(perf_cmd::SynthArgs {
            block,
            slots,
            board,
            width,
            json,
        }),
    }
}

fn with_device<T>(spec: &str, seed: u64, f: impl FnOnce(&dyn Device) -> Result<T>) -> Result<T> {
    match spec.parse::<DeviceSpec>()? {
        DeviceSpec::Sim(n) => {
            let pair = duplex_driver::sim_device::SimPair::new(duplex_sim::SimConfig {
                seed,
                ..Default::default()
            })
            .context("starting the co-simulation")?;
            let dev = pair.device(n)?;
            f(&dev)
        }
        DeviceSpec::Pci(addr) => {
            let dev = duplex_driver::vfio::VfioDevice::open(addr)?;
            f(&dev)
        }
    }
}

fn cmd_examine(device: &str, json: bool, seed: u64) -> Result<()> {
    let report = with_device(device, seed, |d| Ok(examine(d)?))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &CardReport) {
    println!(
        "{}: link {}{}",
        r.device,
        if r.link_up { "up" } else { "down" },
        if r.link_active { ", active" } else { "" }
    );
    for b in &r.blocks {
        println!(
            "\n{:<5} @ {:#06x}  type {:#010x}  version {}",
            b.name, b.offset, b.type_id, b.version
        );
        for reg in &b.registers {
            let value = match reg.value {
                Some(v) => format!("{v:#010x}"),
                None => "(write-only)".to_string(),
            };
            let fields: Vec<String> = reg.fields.iter().map(|(n, v)| format!("{n}={v}")).collect();
            println!(
                "  {:#06x}  {:<22} {:<3}  {}  {}",
                reg.offset,
                reg.name,
                reg.access,
                value,
                fields.join(" ")
            );
        }
    }
}

fn cmd_verilog(out: &std::path::Path, width: usize) -> Result<()> {
    let v = duplex_sim::hdl::card_verilog(width, duplex_sim::hdl::CardConfig::default())?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(format!("duplex_card_w{width}.v"));
    std::fs::write(&path, v).with_context(|| format!("writing {}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
