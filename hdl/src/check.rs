//! Static checks of emitted Verilog with Yosys and Verilator.
//!
//! Yosys: the design must elaborate with no implicitly declared nets
//! (`read_verilog -noautowire`), infer no latches after `proc`, and pass
//! `check -assert` (no undriven wires, no multiple drivers, no logic loops).
//! Verilator: `--lint-only -Wall`, with only the warnings listed in
//! [`ACCEPTED_VERILATOR_WARNINGS`] disabled, each for the reason given there.

use crate::{HdlError, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Verilator warnings we accept in rust-hdl output, and why.
pub const ACCEPTED_VERILATOR_WARNINGS: &[(&str, &str)] = &[
    (
        "UNUSEDPARAM",
        "rust-hdl declares a state machine's enum values as parameters in every module \
         that holds the state register, also the DFF that only stores it",
    ),
    (
        "WIDTH",
        "rust-hdl emits literals and shift results with loose widths (32-bit integer \
         literals against narrower vectors); the values are correct, only declared widths differ",
    ),
    (
        "UNUSEDSIGNAL",
        "ports kept for interface symmetry (the DMA port's tags, the \
         upper data bits of register messages on the link) and rust-hdl FIFO status outputs \
         nothing needs",
    ),
    (
        "DECLFILENAME",
        "rust-hdl emits every module into one file named after the top",
    ),
    (
        "UNOPTFLAT",
        "rust-hdl's synchronous FIFO passes empty/full through sub-module ports, which \
         Verilator sees as a cycle at module granularity; the flattened design has no \
         combinational loop (the Yosys check asserts that)",
    ),
];

/// What a Yosys check reports on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YosysReport {
    pub cells: u64,
}

fn scratch_dir(tag: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("duplex-check-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| HdlError::Io {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| HdlError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn run(tool: &'static str, cmd: &mut Command) -> Result<(bool, String)> {
    let out = cmd
        .output()
        .map_err(|source| HdlError::ToolMissing { tool, source })?;
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), log))
}

/// Elaborates `verilog` (root module `top`) with Yosys and fails on latches,
/// implicit nets, undriven or multiply driven wires.
pub fn yosys_check(verilog: &str) -> Result<YosysReport> {
    let dir = scratch_dir("yosys")?;
    let src = dir.join("top.v");
    write(&src, verilog)?;
    let script = "read_verilog -noautowire top.v; hierarchy -check -top top; proc; \
                  flatten; opt_clean; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr; \
                  check -assert; stat";
    let (ok, log) = run(
        "yosys",
        Command::new("yosys")
            .current_dir(&dir)
            .arg("-p")
            .arg(script),
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    if !ok {
        return Err(HdlError::ToolFailed { tool: "yosys", log });
    }
    let cells = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("Number of cells:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Ok(YosysReport { cells })
}

/// Runs `verilator --lint-only -Wall` with only the accepted warnings off.
pub fn verilator_lint(verilog: &str) -> Result<()> {
    let dir = scratch_dir("lint")?;
    let src = dir.join("top.v");
    write(&src, verilog)?;
    let mut cmd = Command::new("verilator");
    cmd.arg("--lint-only")
        .arg("-Wall")
        .arg("--top-module")
        .arg("top");
    for (w, _) in ACCEPTED_VERILATOR_WARNINGS {
        cmd.arg(format!("-Wno-{w}"));
    }
    cmd.arg(&src);
    let (ok, log) = run("verilator", &mut cmd)?;
    let _ = std::fs::remove_dir_all(&dir);
    if !ok || log.contains("%Warning") || log.contains("%Error") {
        return Err(HdlError::ToolFailed {
            tool: "verilator",
            log,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{card_verilog, CardConfig};

    #[test]
    fn card_top_passes_yosys_with_no_latches_or_undriven_nets() {
        for w in [64, 256] {
            let v = card_verilog(w, CardConfig::default()).unwrap();
            let r = yosys_check(&v).unwrap_or_else(|e| panic!("width {w}: {e}"));
            assert!(r.cells > 0);
        }
    }

    #[test]
    fn card_top_passes_verilator_lint_with_only_accepted_warnings() {
        let v = card_verilog(256, CardConfig::default()).unwrap();
        verilator_lint(&v).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn yosys_check_rejects_a_latch() {
        let v = "module top(input wire en, input wire d, output reg q);\n\
                 always @(*) if (en) q = d;\nendmodule\n";
        assert!(matches!(yosys_check(v), Err(HdlError::ToolFailed { .. })));
    }

    #[test]
    fn yosys_check_rejects_an_implicit_net() {
        let v = "module top(input wire a, output wire y);\nassign y = b & a;\nendmodule\n";
        assert!(matches!(yosys_check(v), Err(HdlError::ToolFailed { .. })));
    }
}
