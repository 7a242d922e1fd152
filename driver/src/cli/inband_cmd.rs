//! `duplexctl flash --device`: in-band flashing through the card's FLASH block.
//!
//! For `sim:N` the co-simulation starts with the board's flash chip (default
//! board: kc705) whose datasheet times are divided by [`SIM_TIME_SCALE`],
//! and SCK runs at the card clock / 2; `--sim-flash FILE` keeps the chip's
//! contents between runs.

use crate::flash_cmd::{run_op, target_args, FlashOp};
use anyhow::{bail, Context, Result};
use duplex_driver::board::BoardProfile;
use duplex_driver::flash::Flasher;
use duplex_driver::inband::{sim_flash_model, CardFlash};
use duplex_driver::{DeviceSpec, DriverError};

/// Datasheet flash times are divided by this in the co-simulation.
pub const SIM_TIME_SCALE: u64 = 1000;
/// Board assumed for a co-simulated card when --board is not given.
pub const SIM_DEFAULT_BOARD: &str = "kc705";

pub fn run(op: &FlashOp, dev: &str, board: Option<&str>) -> Result<()> {
    let t = target_args(op);
    match dev.parse::<DeviceSpec>()? {
        DeviceSpec::Pci(addr) => {
            let Some(board) = board else {
                bail!("{dev}: say which board the card sits on: --board NAME");
            };
            let profile = BoardProfile::load(board)?;
            let card = duplex_driver::vfio::VfioDevice::open(addr)?;
            let access = CardFlash::open(&card, &profile, t.force_golden(), None)?;
            let mut f = Flasher::new(&profile, access, t.force_golden());
            let r = run_op(op, &mut f);
            drop(f);
            r
        }
        DeviceSpec::Sim(n) => {
            let profile = BoardProfile::load(board.unwrap_or(SIM_DEFAULT_BOARD))?;
            let pair = duplex_driver::sim_device::SimPair::new(duplex_sim::SimConfig {
                seed: t.seed(),
                flash: sim_flash_model(&profile, SIM_TIME_SCALE),
                ..Default::default()
            })
            .context("starting the co-simulation")?;
            if let Some(path) = t.sim_flash().filter(|p| p.exists()) {
                let data =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                pair.world().flash_mut(n)?.load(&data);
            }
            let card = pair.device(n)?;
            let mut access = CardFlash::open(&card, &profile, t.force_golden(), Some(0))?;
            if let Some(limit) = t.sim_power_cut_after() {
                let world = pair.clone();
                access.hook = Some(Box::new(move |done| {
                    if done >= limit {
                        world.world().power_cut(n)?;
                        return Err(DriverError::Timeout {
                            device: format!("sim:{n}"),
                            what: format!(
                                "power (cut after {done} bytes by --sim-power-cut-after)"
                            ),
                            timeout: std::time::Duration::ZERO,
                        });
                    }
                    Ok(())
                }));
            }
            let result = run_op(op, &mut Flasher::new(&profile, access, t.force_golden()));
            if let Some(path) = t.sim_flash() {
                let w = pair.world();
                std::fs::write(path, w.flash(n)?.contents())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if result.is_ok() && matches!(op, FlashOp::Boot { .. }) {
                let w = pair.world();
                println!(
                    "sim:{n}: card reset by the reconfiguration request ({} boot(s)); it answers its ID again",
                    w.stats[n].boots
                );
            }
            result
        }
    }
}
