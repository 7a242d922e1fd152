//! `duplexctl flash --board`: the openFPGALoader command lines, against a
//! stand-in openFPGALoader on PATH that records its arguments and keeps a
//! flash chip in a file (so write, read back and verify really round-trip).

use duplex_driver::bitstream::{build_bit, synthetic_config_data};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STAND_IN: &str = r#"#!/bin/sh
echo "$@" >> "$FAKE_LOG"
off=0; size=0; dump=0; write=0; file=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) off=$(($2)); shift;;
    --file-size) size=$2; shift;;
    --dump-flash) dump=1;;
    -f) write=1;;
    -b|-c|--freq|--file-type) shift;;
    -*) ;;
    *) file=$1;;
  esac
  shift
done
if [ $dump = 1 ]; then tail -c +$((off + 1)) "$FAKE_FLASH" | head -c "$size" > "$file"; fi
if [ $write = 1 ]; then dd if="$file" of="$FAKE_FLASH" bs=256 seek=$((off / 256)) conv=notrunc status=none; fi
exit 0
"#;

struct Bench {
    dir: PathBuf,
}

impl Bench {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("flash-jtag-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let tool = dir.join("bin/openFPGALoader");
        std::fs::write(&tool, STAND_IN).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("flash"), vec![0xFFu8; 16 << 20]).unwrap();
        std::fs::write(dir.join("log"), "").unwrap();
        Self { dir }
    }
    fn run(&self, args: &[&str]) -> Output {
        let path = format!("{}:/usr/bin:/bin", self.dir.join("bin").display());
        self.run_with_path(args, Path::new(&path))
    }
    fn run_with_path(&self, args: &[&str], path: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_duplexctl"))
            .args(args)
            .env("PATH", path)
            .env("FAKE_LOG", self.dir.join("log"))
            .env("FAKE_FLASH", self.dir.join("flash"))
            .env(
                "DUPLEX_BOARD_FILES",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../board-files"),
            )
            .env("TMPDIR", &self.dir)
            .output()
            .unwrap()
    }
    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("log"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }
    fn file(&self, name: &str, data: &[u8]) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, data).unwrap();
        p.display().to_string()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn image(part: &str, kib: usize) -> Vec<u8> {
    let body: Vec<u8> = (0..kib * 1024).map(|i| (i * 7 + i / 251) as u8).collect();
    build_bit(
        "duplex_top",
        part,
        "2025/02/01",
        "10:00:00",
        &synthetic_config_data(&body),
    )
}

/// Replaces the scratch-file paths in a logged command line with their names.
fn shape(line: &str) -> String {
    line.split(' ')
        .map(|w| match w.rsplit_once('/') {
            Some((_, f)) if f.ends_with(".bin") => f.split('-').next().unwrap_or(f).to_string(),
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn write_runs_openfpgaloader_with_the_profile_and_verify_round_trips() {
    let b = Bench::new("write");
    let bit = b.file("top.bit", &image("7k325tffg900", 64));
    let o = b.run(&["flash", "write", &bit, "--board", "kc705"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let log: Vec<String> = b.log().iter().map(|l| shape(l)).collect();
    let base = "-b kc705 -c digilent --freq 15000000";
    // Old trailer blanked, image programmed with --verify, read back,
    // trailer programmed last and read back.
    assert_eq!(
        log,
        [
            format!("{base} -f -o 0xff0000 --verify --file-type bin write"),
            format!("{base} -f -o 0x800000 --verify --file-type bin write"),
            format!("{base} --dump-flash -o 0x800000 --file-size 65588 dump"),
            format!("{base} -f -o 0xff0000 --verify --file-type bin write"),
            format!("{base} --dump-flash -o 0xff0000 --file-size 256 dump"),
        ]
    );
    let o = b.run(&[
        "flash", "verify", &bit, "--board", "kc705", "--cable", "ft232",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("update image: valid"));
    assert!(b.log().last().unwrap().starts_with("-b kc705 -c ft232 "));
}

#[test]
fn a_bitstream_for_another_part_is_refused_in_one_line_before_any_jtag() {
    let b = Bench::new("part");
    let bit = b.file("a7.bit", &image("7a200tfbg484", 1));
    let o = b.run(&["flash", "write", &bit, "--board", "kc705"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("7a200tfbg484") && e.contains("xc7k325tffg900-2"),
        "{e}"
    );
    assert!(b.log().is_empty());
}

#[test]
fn a_raw_bin_needs_the_boards_part() {
    let b = Bench::new("raw");
    let bin = b.file("top.bin", &synthetic_config_data(&[0x5A; 4096]));
    let o = b.run(&["flash", "write", &bin, "--board", "acornCle215"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--part"), "{}", stderr(&o));
    let o = b.run(&[
        "flash",
        "write",
        &bin,
        "--board",
        "acornCle215",
        "--part",
        "xc7k325t-ffg900-2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("xc7a200tfbg484-3"), "{}", stderr(&o));
    assert!(b.log().is_empty());
    let o = b.run(&[
        "flash",
        "write",
        &bin,
        "--board",
        "acornCle215",
        "--part",
        "xc7a200t-fbg484-3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        b.log()[1].contains("-b acornCle215 -c ft2232 --freq 10000000 -f -o 0x1000000 --verify")
    );
}

#[test]
fn golden_region_needs_force_golden() {
    let b = Bench::new("golden");
    let o = b.run(&["flash", "erase", "--golden", "--board", "kc705"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force-golden"), "{}", stderr(&o));
    assert!(b.log().is_empty());
    let o = b.run(&[
        "flash",
        "erase",
        "--golden",
        "--force-golden",
        "--board",
        "kc705",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        shape(&b.log()[0]),
        "-b kc705 -c digilent --freq 15000000 -f -o 0x0 --verify --file-type bin write"
    );
}

#[test]
fn read_and_boot_command_lines() {
    let b = Bench::new("read");
    let out = b.dir.join("dump.bin").display().to_string();
    let o = b.run(&[
        "flash", "read", "--board", "kc705", "--out", &out, "--offset", "0x800000", "--len", "4096",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dump = std::fs::read(&out).unwrap();
    assert!(dump.len() == 4096 && dump.iter().all(|&b| b == 0xFF));
    let o = b.run(&["flash", "boot", "--board", "kc705"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(b.log()[1], "-b kc705 -c digilent --freq 15000000 -r");
}

#[test]
fn an_interrupted_update_is_reported_invalid() {
    let b = Bench::new("invalid");
    let o = b.run(&["flash", "verify", "--board", "kc705"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("never completed"), "{}", stderr(&o));
    let bit = b.file("top.bit", &image("7k325tffg900", 8));
    assert!(b
        .run(&["flash", "write", &bit, "--board", "kc705"])
        .status
        .success());
    // Damage one image byte in the "chip": the trailer's CRC no longer matches.
    let mut chip = std::fs::read(b.dir.join("flash")).unwrap();
    chip[0x800000 + 100] ^= 0xFF;
    std::fs::write(b.dir.join("flash"), chip).unwrap();
    let o = b.run(&["flash", "verify", "--board", "kc705"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
}

#[test]
fn a_missing_openfpgaloader_is_one_clear_line() {
    let b = Bench::new("missing");
    let empty = b.dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = b.run_with_path(&["flash", "boot", "--board", "kc705"], &empty);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("cannot run openFPGALoader") && e.contains("apt-get install openfpgaloader"),
        "{e}"
    );
}

#[test]
fn an_unknown_board_lists_the_known_ones() {
    let b = Bench::new("unknown");
    let o = b.run(&["flash", "boot", "--board", "zedboard"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("acornCle215, kc705"), "{}", stderr(&o));
}
