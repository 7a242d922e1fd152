//! Walks a card's BAR0 block list and reads every readable register: what
//! `duplexctl examine` prints.

use crate::device::Device;
use crate::error::{DriverError, Result};
use crate::regs::Regs;
use duplex_regs::{ntb, Access, Block, Reg, BLOCKS};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CardReport {
    pub device: String,
    pub link_up: bool,
    pub link_active: bool,
    pub blocks: Vec<BlockReport>,
}

#[derive(Debug, Serialize)]
pub struct BlockReport {
    pub name: String,
    pub offset: u32,
    pub type_id: u32,
    pub version: String,
    pub registers: Vec<RegValue>,
}

#[derive(Debug, Serialize)]
pub struct RegValue {
    pub name: String,
    pub offset: u32,
    pub access: &'static str,
    pub value: Option<u32>,
    pub fields: Vec<(String, u32)>,
}

/// Most blocks a card may list; more means the list loops or is corrupt.
const MAX_BLOCKS: usize = 64;

/// Walks the block list from offset 0, checking each block's TYPE against the
/// register contract and its major VERSION against the one this driver knows.
pub fn examine(dev: &dyn Device) -> Result<CardReport> {
    let regs = Regs::new(dev);
    let mut blocks = Vec::new();
    let mut offset = 0u32;
    loop {
        let bad = |detail: String| DriverError::BlockList {
            device: dev.name(),
            offset,
            detail,
        };
        if blocks.len() == MAX_BLOCKS {
            return Err(bad(format!(
                "more than {MAX_BLOCKS} blocks: the list loops"
            )));
        }
        let type_id = dev.read32(offset)?;
        let version = dev.read32(offset + 4)?;
        let next = dev.read32(offset + 8)?;
        let known: &Block = BLOCKS
            .iter()
            .find(|b| b.type_id == type_id && b.base == offset)
            .ok_or_else(|| bad(format!("unknown block type {type_id:#010x}")))?;
        if version >> 16 != known.major() as u32 {
            return Err(bad(format!(
                "{} block version {}.{}, this driver knows {}.x",
                known.name,
                version >> 16,
                version & 0xFFFF,
                known.major()
            )));
        }
        let mut registers = Vec::new();
        for a in known.regs {
            for i in 0..a.count {
                let r: Reg = a.reg.at(i);
                let name = if a.count > 1 {
                    format!("{}[{i}]", r.name)
                } else {
                    r.name.to_string()
                };
                let value = match r.access {
                    Access::Wo => None,
                    _ => Some(regs.read(r)?),
                };
                let fields = value
                    .map(|v| {
                        r.fields
                            .iter()
                            .map(|f| (f.name.to_string(), f.get(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                registers.push(RegValue {
                    name,
                    offset: r.offset,
                    access: r.access.as_str(),
                    value,
                    fields,
                });
            }
        }
        blocks.push(BlockReport {
            name: known.name.to_string(),
            offset,
            type_id,
            version: format!("{}.{}", version >> 16, version & 0xFFFF),
            registers,
        });
        if next == 0 {
            break;
        }
        if next <= offset {
            return Err(bad(format!("NEXT {next:#06x} does not move forward")));
        }
        offset = next;
    }
    let link = regs.read(ntb::LINK_STATUS)?;
    Ok(CardReport {
        device: dev.name(),
        link_up: ntb::LINK_UP.get(link) == 1,
        link_active: ntb::LINK_ACTIVE.get(link) == 1,
        blocks,
    })
}
