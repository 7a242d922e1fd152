//! `duplexctl flash --device`: in-band flashing through the card's FLASH block.

use crate::flash_cmd::FlashOp;
use anyhow::{bail, Result};

pub fn run(_op: &FlashOp, dev: &str, _board: Option<&str>) -> Result<()> {
    bail!("{dev}: in-band flashing needs the card's FLASH block, which this build lacks; use --board NAME (JTAG)")
}
