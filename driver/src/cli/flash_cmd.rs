//! `duplexctl flash`: board images over JTAG (`--board`) or in-band through
//! the card (`--device`).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use duplex_driver::bitstream::{self, Bitstream};
use duplex_driver::board::BoardProfile;
use duplex_driver::flash::{FlashAccess, Flasher, JtagFlash, Target};
use duplex_driver::image::ImageStatus;
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum FlashOp {
    /// Erase, program and verify an image (.bit, or raw .bin with --part).
    Write {
        /// The bitstream: a Vivado .bit file, or a raw .bin with --part.
        image: PathBuf,
        #[command(flatten)]
        t: TargetArgs,
    },
    /// Compare the flash with an image (if given) and check the update image's trailer.
    Verify {
        image: Option<PathBuf>,
        #[command(flatten)]
        t: TargetArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Read flash bytes into a file (default: the whole target region).
    Read {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// First flash byte (default: start of the target region); 0x prefix for hex.
        #[arg(long, value_parser = parse_num)]
        offset: Option<u64>,
        /// Bytes to read (default: the rest of the target region).
        #[arg(long, value_parser = parse_num)]
        len: Option<u64>,
        #[command(flatten)]
        t: TargetArgs,
    },
    /// Erase the target region.
    Erase {
        #[command(flatten)]
        t: TargetArgs,
    },
    /// Make the FPGA reload its configuration from flash.
    Boot {
        #[command(flatten)]
        t: TargetArgs,
    },
}

#[derive(Args)]
pub struct TargetArgs {
    /// Board profile (board-files/NAME/flash.toml, or a path to one). Alone:
    /// flash over JTAG with openFPGALoader. With --device: the card's board.
    #[arg(long)]
    board: Option<String>,
    /// Flash in-band through this card: sim:0, sim:1 or a PCI address.
    #[arg(long, short)]
    device: Option<String>,
    /// JTAG cable for openFPGALoader (default: the profile's).
    #[arg(long)]
    cable: Option<String>,
    /// Part of a raw .bin image; must match the board's part.
    #[arg(long)]
    part: Option<String>,
    /// Address the golden image region instead of the update region.
    #[arg(long)]
    golden: bool,
    /// Allow erasing or programming the golden image region.
    #[arg(long)]
    force_golden: bool,
    /// Seed of the co-simulation (sim devices only).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the co-simulated card's flash in this file between runs (sim only).
    #[arg(long)]
    sim_flash: Option<PathBuf>,
    /// Fault injection (sim only): cut the card's power after this many
    /// image bytes have been programmed.
    #[arg(long, hide = true, value_parser = parse_num)]
    sim_power_cut_after: Option<u64>,
}

fn parse_num(s: &str) -> std::result::Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s:?}: {e}"))
}

/// A progress bar on stderr: one line per phase, redrawn in place.
pub struct Bar {
    what: String,
    pct: u64,
}

impl Bar {
    pub fn new() -> Self {
        Self {
            what: String::new(),
            pct: u64::MAX,
        }
    }
    pub fn update(&mut self, what: &str, done: u64, total: u64) {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        if what == self.what && pct == self.pct {
            return;
        }
        if what != self.what && !self.what.is_empty() && self.pct != 100 {
            eprintln!();
        }
        let filled = (pct / 4) as usize;
        eprint!(
            "\r{what:<28} [{}{}] {pct:>3}% {done}/{total} bytes",
            "#".repeat(filled),
            " ".repeat(25 - filled)
        );
        if pct == 100 {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
        self.what = what.to_string();
        self.pct = pct;
    }
}

fn target(t: &TargetArgs) -> Target {
    if t.golden {
        Target::Golden
    } else {
        Target::Update
    }
}

fn load_image(path: &Path, t: &TargetArgs, p: &BoardProfile) -> Result<Bitstream> {
    let img = bitstream::load(path, t.part.as_deref())?;
    img.check_part(&p.board, &p.fpga.part)?;
    Ok(img)
}

pub fn run(op: FlashOp) -> Result<()> {
    let t = target_args(&op);
    match (&t.device, &t.board) {
        (None, None) => {
            bail!("say where the flash is: --board NAME (JTAG) or --device DEV (in-band)")
        }
        (None, Some(board)) => {
            let profile = BoardProfile::load(board)?;
            let access = JtagFlash::new(&profile, t.cable.clone())?;
            let mut f = Flasher::new(&profile, access, t.force_golden);
            run_op(&op, &mut f)
        }
        (Some(dev), board) => crate::inband_cmd::run(&op, dev, board.as_deref()),
    }
}

pub fn target_args(op: &FlashOp) -> &TargetArgs {
    match op {
        FlashOp::Write { t, .. }
        | FlashOp::Verify { t, .. }
        | FlashOp::Read { t, .. }
        | FlashOp::Erase { t }
        | FlashOp::Boot { t } => t,
    }
}

impl TargetArgs {
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn sim_flash(&self) -> Option<&Path> {
        self.sim_flash.as_deref()
    }
    pub fn sim_power_cut_after(&self) -> Option<u64> {
        self.sim_power_cut_after
    }
    pub fn force_golden(&self) -> bool {
        self.force_golden
    }
}

/// Runs one operation through the shared rules of [`Flasher`].
pub fn run_op<A: FlashAccess>(op: &FlashOp, f: &mut Flasher<'_, A>) -> Result<()> {
    let mut bar = Bar::new();
    let mut progress = |w: &str, d: u64, n: u64| bar.update(w, d, n);
    match op {
        FlashOp::Write { image, t } => {
            let img = load_image(image, t, f.profile)?;
            f.write(&img, target(t), &mut progress)?;
            println!(
                "wrote {} bytes of {} ({}) to the {} region of {} and verified them",
                img.data.len(),
                image.display(),
                img.part,
                if t.golden { "golden" } else { "update" },
                f.profile.board
            );
        }
        FlashOp::Verify { image, t, json } => {
            let img = image
                .as_ref()
                .map(|i| load_image(i, t, f.profile))
                .transpose()?;
            let st = f.verify(img.as_ref(), target(t), &mut progress)?;
            report(&st, *json, if t.golden { "golden" } else { "update" })?;
            if !st.valid {
                bail!(
                    "{} image invalid: {}",
                    if t.golden { "golden" } else { "update" },
                    st.reason
                );
            }
        }
        FlashOp::Read {
            out,
            offset,
            len,
            t,
        } => {
            let r = if t.golden {
                f.profile.golden
            } else {
                f.profile.update
            };
            let offset = offset.unwrap_or(r.offset);
            let len = len.unwrap_or_else(|| r.end().saturating_sub(offset));
            let data = f.read(offset, len, &mut progress)?;
            std::fs::write(out, &data).with_context(|| format!("writing {}", out.display()))?;
            println!("read {len} bytes at {offset:#x} into {}", out.display());
        }
        FlashOp::Erase { t } => {
            f.erase(target(t), &mut progress)?;
            println!(
                "erased the {} region",
                if t.golden { "golden" } else { "update" }
            );
        }
        FlashOp::Boot { .. } => {
            f.boot()?;
            println!("{}: reconfiguration from flash requested", f.profile.board);
        }
    }
    Ok(())
}

fn report(st: &ImageStatus, json: bool, region: &str) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(st)?);
    } else {
        println!(
            "{region} image: {} ({})",
            if st.valid { "valid" } else { "INVALID" },
            st.reason
        );
    }
    Ok(())
}
