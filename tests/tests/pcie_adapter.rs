//! The board's PCIe adapter (`board-files/common/duplex_pcie_adapter.v`):
//! Verilator `-Wall` lint, Yosys `check -assert`, and its SystemVerilog
//! testbench (straddled 128-bit RX beats, CplD checks under back-pressure,
//! unsupported TLPs, INTx/MSI) run under Verilator. CI installs both tools
//! (`tests/deps.sh`); a missing tool fails the test, it is not skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn adapter() -> PathBuf {
    root().join("board-files/common/duplex_pcie_adapter.v")
}

fn run(cmd: &mut Command, dir: &Path) -> Output {
    let name = cmd.get_program().to_string_lossy().into_owned();
    cmd.current_dir(dir).output().unwrap_or_else(|e| {
        panic!("cannot run `{name}` ({e}): install it with `sh tests/deps.sh` (Debian: apt-get install {name})")
    })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh directory under target/ for one test's build products.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir under target/");
    dir
}

#[test]
fn adapter_is_clean_under_verilator_lint_wall() {
    let dir = scratch("pcie_adapter_lint");
    let out = run(
        Command::new("verilator")
            .args(["--lint-only", "-Wall"])
            .arg(adapter()),
        &dir,
    );
    let log = text(&out);
    assert!(out.status.success(), "verilator -Wall failed:\n{log}");
    assert!(
        !log.contains("%Warning"),
        "verilator -Wall warnings:\n{log}"
    );
}

#[test]
fn adapter_passes_yosys_check_assert() {
    let dir = scratch("pcie_adapter_yosys");
    let script = format!(
        "read_verilog -noautowire {}; proc; check -assert",
        adapter().display()
    );
    let out = run(Command::new("yosys").args(["-q", "-p", &script]), &dir);
    let log = text(&out);
    assert!(out.status.success(), "yosys check failed:\n{log}");
    assert!(!log.contains("Warning"), "yosys warnings:\n{log}");
}

#[test]
fn adapter_testbench_completes_reads_applies_writes_and_discards_unsupported_tlps() {
    let dir = scratch("pcie_adapter_tb");
    let tb = root().join("board-files/common/tb/duplex_pcie_adapter_tb.sv");
    // -O0: the C++ build dominates the run time; the simulation is ~10 ms.
    let build = run(
        Command::new("verilator")
            .args(["--binary", "--build-jobs", "2", "--top-module"])
            .arg("duplex_pcie_adapter_tb")
            .args(["-MAKEFLAGS", "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"])
            .arg(&tb)
            .arg(adapter()),
        &dir,
    );
    assert!(
        build.status.success(),
        "verilator build failed:\n{}",
        text(&build)
    );
    let sim = run(
        &mut Command::new(dir.join("obj_dir/Vduplex_pcie_adapter_tb")),
        &dir,
    );
    let log = text(&sim);
    assert!(sim.status.success(), "testbench failed:\n{log}");
    assert!(
        log.lines().any(|l| l.trim() == "PASS"),
        "no PASS line:\n{log}"
    );
    for case in [
        "basic_3dw_4dw",
        "start_in_dw2",
        "straddled_back_to_back",
        "split_writes_partial_be_zero_length",
        "unsupported_discarded",
        "tx_backpressure",
        "random_seed_1",
        "interrupts",
    ] {
        assert!(
            log.contains(&format!("case {case}: ok=1")),
            "case {case} missing or failed:\n{log}"
        );
    }
    assert!(!log.contains("FAIL"), "testbench reported failures:\n{log}");
}
