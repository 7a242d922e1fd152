//! Flashing over JTAG with openFPGALoader (0.10 flags, `openFPGALoader --help`).
//!
//! openFPGALoader reaches a 7-series configuration flash through its
//! spiOverJtag bridge: it loads a small bridge bitstream into the FPGA and
//! talks SPI through it. duplex builds every command line from the board's
//! flash profile:
//!
//! | operation | command line |
//! |---|---|
//! | write   | `-b BOARD [-c CABLE] --freq HZ -f -o OFFSET --verify --file-type bin FILE` |
//! | read    | `-b BOARD [-c CABLE] --freq HZ --dump-flash -o OFFSET --file-size LEN FILE` |
//! | boot    | `-b BOARD [-c CABLE] --freq HZ -r` (JPROGRAM: the FPGA reloads from flash) |
//!
//! openFPGALoader 0.10 has no ranged erase (only `--bulk-erase`, the whole
//! chip): a region is erased by writing a file of 0xFF bytes over it, which
//! erases exactly the sectors it covers.

use crate::board::BoardProfile;
use crate::error::{DriverError, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The program run; found on PATH.
pub const OPENFPGALOADER: &str = "openFPGALoader";

/// One openFPGALoader invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JtagCommand {
    pub args: Vec<String>,
}

impl JtagCommand {
    fn base(p: &BoardProfile, cable: Option<&str>) -> Self {
        let mut args = vec!["-b".to_string(), p.board.clone()];
        let cable = cable.unwrap_or(&p.jtag.cable);
        if !cable.is_empty() {
            args.extend(["-c".to_string(), cable.to_string()]);
        }
        args.extend(["--freq".to_string(), p.jtag.frequency_hz.to_string()]);
        Self { args }
    }

    /// Programs `file` (raw bytes) at flash `offset`, verifying it.
    pub fn write(p: &BoardProfile, cable: Option<&str>, offset: u64, file: &Path) -> Self {
        let mut c = Self::base(p, cable);
        c.args.extend(
            [
                "-f".to_string(),
                "-o".to_string(),
                format!("{offset:#x}"),
                "--verify".to_string(),
                "--file-type".to_string(),
                "bin".to_string(),
            ]
            .into_iter()
            .chain([file.display().to_string()]),
        );
        c
    }

    /// Dumps `len` flash bytes from `offset` into `file`.
    pub fn read(p: &BoardProfile, cable: Option<&str>, offset: u64, len: u64, file: &Path) -> Self {
        let mut c = Self::base(p, cable);
        c.args.extend([
            "--dump-flash".to_string(),
            "-o".to_string(),
            format!("{offset:#x}"),
            "--file-size".to_string(),
            len.to_string(),
            file.display().to_string(),
        ]);
        c
    }

    /// Makes the FPGA reload its configuration from flash.
    pub fn boot(p: &BoardProfile, cable: Option<&str>) -> Self {
        let mut c = Self::base(p, cable);
        c.args.push("-r".to_string());
        c
    }

    /// The command as a shell would show it.
    pub fn display(&self) -> String {
        std::iter::once(OPENFPGALOADER.to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command; a missing program or a failure is one typed error.
    pub fn run(&self) -> Result<()> {
        let status = Command::new(OPENFPGALOADER)
            .args(&self.args)
            .status()
            .map_err(|source| DriverError::ToolMissing {
                tool: OPENFPGALOADER.to_string(),
                source,
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(DriverError::ToolFailed {
                tool: OPENFPGALOADER.to_string(),
                status: status.to_string(),
                command: self.display(),
            })
        }
    }
}

/// A scratch directory for the files handed to openFPGALoader, removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new() -> Result<Self> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("duplex-jtag-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|source| DriverError::File {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Self { dir })
    }
    pub fn file(&self, name: &str, data: &[u8]) -> Result<PathBuf> {
        let path = self.dir.join(name);
        std::fs::write(&path, data).map_err(|source| DriverError::File {
            path: path.display().to_string(),
            source,
        })?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kc705() -> BoardProfile {
        BoardProfile::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../board-files/kc705/flash.toml"
        ))
        .unwrap()
    }

    #[test]
    fn write_command_carries_board_cable_offset_and_verify() {
        let c = JtagCommand::write(&kc705(), None, 0x80_0000, Path::new("/t/img.bin"));
        assert_eq!(
            c.display(),
            "openFPGALoader -b kc705 -c digilent --freq 15000000 -f -o 0x800000 --verify \
             --file-type bin /t/img.bin"
        );
        let c = JtagCommand::write(&kc705(), Some("ft232"), 0, Path::new("x"));
        assert_eq!(&c.args[2..4], ["-c", "ft232"]);
    }

    #[test]
    fn read_and_boot_commands() {
        let c = JtagCommand::read(&kc705(), None, 0x80_0000, 4096, Path::new("/t/d.bin"));
        assert!(c
            .display()
            .ends_with("--dump-flash -o 0x800000 --file-size 4096 /t/d.bin"));
        assert!(JtagCommand::boot(&kc705(), None).display().ends_with(" -r"));
    }
}
