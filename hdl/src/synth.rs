//! Resource figures: Yosys `synth_xilinx` on generated Verilog, and the cell
//! counts read back from its `stat` report.
//!
//! Yosys maps to 7-series primitives without vendor tools. The figures are
//! Yosys's, not Vivado's (Vivado usually packs somewhat better), but they are
//! repeatable on any machine and good for comparing designs and sizes.

use crate::{HdlError, Result};
use std::collections::BTreeMap;
use std::process::Command;

/// FPGA resources used by a design, in 7-series terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    /// Logic LUTs plus LUTs used as distributed RAM or shift registers.
    pub luts: u64,
    /// LUTs used as distributed RAM / shift registers (included in `luts`).
    pub lutram_luts: u64,
    /// Flip-flops and latches.
    pub ffs: u64,
    /// Block RAM in 36 Kbit tiles (a RAMB18 counts one half).
    pub bram36: f64,
    pub dsp: u64,
    /// Every cell type Yosys reported, with its count.
    pub cells: BTreeMap<String, u64>,
}

/// LUTs a distributed-RAM or shift-register primitive occupies.
fn lutram_weight(cell: &str) -> Option<u64> {
    Some(match cell {
        "RAM32X1S" | "RAM64X1S" | "SRL16E" | "SRLC32E" | "SRLC16E" => 1,
        "RAM32X1D" | "RAM64X1D" | "RAM128X1S" => 2,
        "RAM32M" | "RAM64M" | "RAM128X1D" | "RAM256X1S" | "RAM32M16" => 4,
        _ => return None,
    })
}

impl Resources {
    /// Reads the cell table of a Yosys `stat` report (the last one printed).
    pub fn from_stat(log: &str) -> Self {
        let start = log.rfind("Number of cells:").unwrap_or(0);
        let mut cells = BTreeMap::new();
        for line in log[start..].lines().skip(1) {
            let mut it = line.split_whitespace();
            let (Some(name), Some(n), None) = (it.next(), it.next(), it.next()) else {
                if line.trim().is_empty() {
                    continue;
                }
                break;
            };
            let Ok(n) = n.parse::<u64>() else { break };
            *cells.entry(name.to_string()).or_insert(0) += n;
        }
        let mut r = Resources::default();
        for (c, &n) in &cells {
            if let Some(w) = lutram_weight(c) {
                r.lutram_luts += w * n;
            } else if c.starts_with("LUT") && c[3..].parse::<u8>().is_ok() {
                r.luts += n;
            } else if c.starts_with("FD") || c.starts_with("LD") {
                r.ffs += n;
            } else if c.starts_with("RAMB36") {
                r.bram36 += n as f64;
            } else if c.starts_with("RAMB18") {
                r.bram36 += n as f64 / 2.0;
            } else if c.starts_with("DSP48") {
                r.dsp += n;
            }
        }
        r.luts += r.lutram_luts;
        r.cells = cells;
        r
    }
}

/// Runs `synth_xilinx -family <family>` on `verilog` (root module `top`) and
/// returns the resources of the flattened design. `family` is Yosys's name:
/// `xc7` for Artix-7 / Kintex-7 / Virtex-7.
pub fn synth_xilinx(verilog: &str, family: &str) -> Result<Resources> {
    let dir = std::env::temp_dir().join(format!("duplex-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| HdlError::Io {
        path: dir.clone(),
        source,
    })?;
    let vfile = dir.join(format!("top-{:016x}.v", fxhash(verilog)));
    std::fs::write(&vfile, verilog).map_err(|source| HdlError::Io {
        path: vfile.clone(),
        source,
    })?;
    let script = format!(
        "read_verilog {}; synth_xilinx -family {family} -top top -flatten; stat",
        vfile.display()
    );
    let out = Command::new("yosys")
        .args(["-q", "-l", "/dev/stdout", "-p", &script])
        .output()
        .map_err(|source| HdlError::ToolMissing {
            tool: "yosys",
            source,
        });
    let _ = std::fs::remove_file(&vfile);
    let out = out?;
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        return Err(HdlError::ToolFailed {
            tool: "yosys",
            log: format!(
                "{err}{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ),
        });
    }
    Ok(Resources::from_stat(&log))
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "
=== top ===

   Number of wires:                100
   Number of cells:                 12
     BUFG                            1
     CARRY4                          2
     FDRE                           40
     FDSE                            2
     LUT2                           10
     LUT6                            5
     RAM32M                          3
     RAMB18E1                        1
     RAMB36E1                        2
     DSP48E1                         1

";

    #[test]
    fn stat_report_is_read_into_resources() {
        let r = Resources::from_stat(STAT);
        assert_eq!(r.luts, 15 + 12);
        assert_eq!(r.lutram_luts, 12);
        assert_eq!(r.ffs, 42);
        assert_eq!(r.bram36, 2.5);
        assert_eq!(r.dsp, 1);
        assert_eq!(r.cells["CARRY4"], 2);
    }

    #[test]
    fn allocator_synthesises_with_block_ram_for_its_stack() {
        let v = crate::allocator_verilog(4096).unwrap();
        let r = synth_xilinx(&v, "xc7").expect("yosys synth_xilinx");
        assert!(r.luts > 50 && r.ffs > 100, "{r:?}");
        assert!(
            r.bram36 >= 2.0,
            "pos[] (64 Kbit) must map to block RAM: {r:?}"
        );
    }
}
