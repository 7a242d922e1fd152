//! Board flash profiles: `board-files/<board>/flash.toml`.
//!
//! A profile says which FPGA a board carries (part, family, capacity for the
//! resource report), how openFPGALoader reaches it (board name, default
//! cable), which SPI NOR chip holds its configuration (JEDEC id, geometry,
//! typical timings) and where in that chip the two images live: the
//! *golden* image the FPGA falls back to, and the *update* image that
//! `duplexctl flash write` replaces. The golden region is never erased or
//! programmed unless the user says `--force-golden`.

use crate::error::{DriverError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of a profile inside its board folder.
pub const PROFILE_FILE: &str = "flash.toml";

/// One board's flash profile.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BoardProfile {
    /// Name openFPGALoader knows the board by (`openFPGALoader --list-boards`).
    pub board: String,
    pub description: String,
    pub fpga: Fpga,
    pub jtag: Jtag,
    pub flash: FlashChip,
    pub golden: Region,
    pub update: Region,
}

/// The FPGA on the board and what it holds (for the resource report).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fpga {
    /// Full Xilinx part name with package and speed grade, e.g. `xc7a200tfbg484-3`.
    pub part: String,
    /// Yosys `synth_xilinx -family` value: `xc7` for every 7-series part.
    pub family: String,
    pub luts: u64,
    pub flip_flops: u64,
    /// 36 Kbit block RAMs.
    pub bram36: u64,
    pub dsp: u64,
}

/// How openFPGALoader reaches the board.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Jtag {
    /// Cable passed with `-c` unless `--cable` overrides; empty = the board's default.
    pub cable: String,
    /// JTAG clock in Hz (`--freq`).
    pub frequency_hz: u64,
}

/// The configuration SPI NOR flash.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FlashChip {
    pub chip: String,
    /// Manufacturer, memory type and capacity bytes of RDID (0x9F), big-endian.
    pub jedec_id: u32,
    pub size: u64,
    /// Erase unit of the sector erase command, bytes.
    pub sector_size: u64,
    /// Page program unit, bytes (at most 256: the card's page buffer).
    pub page_size: u64,
    /// 3 or 4: address bytes of the read/program/erase commands used.
    pub address_bytes: u8,
    /// Typical page program time (datasheet), microseconds.
    pub page_program_us: u64,
    /// Typical sector erase time (datasheet), microseconds.
    pub sector_erase_us: u64,
    /// Fastest SPI clock for FAST_READ, Hz.
    pub max_clock_hz: u64,
}

/// A byte range of the flash.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub offset: u64,
    pub size: u64,
}

impl Region {
    pub fn end(&self) -> u64 {
        self.offset + self.size
    }
    pub fn overlaps(&self, offset: u64, len: u64) -> bool {
        len > 0 && offset < self.end() && offset + len > self.offset
    }
}

impl BoardProfile {
    /// Parses and checks a profile. `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let p: BoardProfile = toml::from_str(text).map_err(|e| DriverError::Profile {
            path: origin.to_string(),
            detail: e.message().to_string(),
        })?;
        p.validate().map_err(|detail| DriverError::Profile {
            path: origin.to_string(),
            detail,
        })?;
        Ok(p)
    }

    /// Reads `board` as a profile file path (when it names a file) or as a
    /// board folder name under the board-files directory.
    pub fn load(board: &str) -> Result<Self> {
        let path = resolve(board)?;
        let text = std::fs::read_to_string(&path).map_err(|source| DriverError::File {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let f = &self.flash;
        let pow2 = |v: u64| v.is_power_of_two();
        if !pow2(f.size) || !pow2(f.sector_size) || !pow2(f.page_size) {
            return Err("flash size, sector size and page size must be powers of two".into());
        }
        if f.page_size > 256 || f.sector_size < f.page_size || f.size < f.sector_size {
            return Err("flash geometry: page <= 256 bytes, page <= sector <= size".into());
        }
        if f.address_bytes != 3 && f.address_bytes != 4 {
            return Err(format!(
                "flash address_bytes must be 3 or 4, not {}",
                f.address_bytes
            ));
        }
        if f.address_bytes == 3 && f.size > 1 << 24 {
            return Err("a flash larger than 16 MiB needs address_bytes = 4".into());
        }
        if f.jedec_id > 0xFF_FFFF {
            return Err(format!("jedec_id {:#x} has more than 3 bytes", f.jedec_id));
        }
        for (name, r) in [("golden", self.golden), ("update", self.update)] {
            if r.size == 0 || r.offset % f.sector_size != 0 || r.size % f.sector_size != 0 {
                return Err(format!(
                    "{name} region must be a non-empty whole number of {}-byte sectors",
                    f.sector_size
                ));
            }
            if r.end() > f.size {
                return Err(format!(
                    "{name} region ends at {:#x}, past the {:#x}-byte flash",
                    r.end(),
                    f.size
                ));
            }
        }
        if self.golden.overlaps(self.update.offset, self.update.size) {
            return Err("golden and update regions overlap".into());
        }
        if self.update.size < 2 * f.sector_size {
            return Err("the update region needs at least two sectors (image + trailer)".into());
        }
        if self.fpga.part.is_empty() || self.board.is_empty() {
            return Err("board and fpga.part must be set".into());
        }
        Ok(())
    }

    /// Largest image the update region holds: everything but its last sector,
    /// which holds the image trailer.
    pub fn max_image(&self) -> u64 {
        self.update.size - self.flash.sector_size
    }
}

/// The directory holding one folder per board: `DUPLEX_BOARD_FILES`, else
/// `./board-files`, else the repository's own `board-files`.
pub fn board_files_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DUPLEX_BOARD_FILES") {
        return PathBuf::from(d);
    }
    let local = PathBuf::from("board-files");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../board-files")
}

fn resolve(board: &str) -> Result<PathBuf> {
    let direct = Path::new(board);
    if board.ends_with(".toml") || board.contains('/') {
        return Ok(direct.to_path_buf());
    }
    let dir = board_files_dir();
    let path = dir.join(board).join(PROFILE_FILE);
    if path.is_file() {
        return Ok(path);
    }
    Err(DriverError::UnknownBoard {
        board: board.to_string(),
        known: known_boards(&dir).join(", "),
    })
}

/// Board folders that hold a profile, sorted.
pub fn known_boards(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join(PROFILE_FILE).is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A Xilinx part name reduced to what a `.bit` header carries: no `xc`
/// prefix, no speed grade, no separators, lower case
/// (`xc7a200t-fbg484-3` and `7a200tfbg484` are the same part).
pub fn normalize_part(part: &str) -> String {
    let p = part.trim().to_ascii_lowercase();
    let p = p.strip_prefix("xc").unwrap_or(&p);
    // A speed grade is a trailing "-N" or "-NL" / "-NE" / "-NI".
    let p = match p.rfind('-') {
        Some(i)
            if p[i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
                && p[i + 1..].len() <= 3 =>
        {
            &p[..i]
        }
        _ => p,
    };
    p.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_profile(name: &str) -> BoardProfile {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../board-files");
        let path = dir.join(name).join(PROFILE_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        BoardProfile::parse(&text, &path.display().to_string()).unwrap()
    }

    #[test]
    fn shipped_profiles_parse_and_keep_golden_and_update_apart() {
        for name in ["acornCle215", "kc705"] {
            let p = repo_profile(name);
            assert_eq!(p.board, name);
            assert!(!p.golden.overlaps(p.update.offset, p.update.size));
            assert!(p.max_image() >= 4 << 20, "{name}: room for a real image");
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../board-files");
        assert_eq!(known_boards(&dir), ["acornCle215", "kc705"]);
    }

    #[test]
    fn part_names_normalize_to_the_bit_header_form() {
        assert_eq!(normalize_part("xc7a200tfbg484-3"), "7a200tfbg484");
        assert_eq!(normalize_part("XC7K325T-FFG900-2"), "7k325tffg900");
        assert_eq!(normalize_part("7a200tfbg484"), "7a200tfbg484");
        assert_eq!(normalize_part("xc7a35tcpg236-1L"), "7a35tcpg236");
        assert_ne!(
            normalize_part("xc7a100tfgg484"),
            normalize_part("xc7a200tfbg484")
        );
    }

    #[test]
    fn bad_profiles_are_refused_with_the_reason() {
        let good = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../board-files/kc705/flash.toml"),
        )
        .unwrap();
        let overlap = good.replace("offset = 0x800000", "offset = 0x400000");
        let e = BoardProfile::parse(&overlap, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlap"), "{e}");
        let typo = good.replace("page_size", "pagesize");
        let e = BoardProfile::parse(&typo, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("board profile x.toml:"), "{e}");
        assert!(BoardProfile::parse("not toml [", "y").is_err());
    }

    #[test]
    fn an_unknown_board_names_the_known_ones() {
        let e = BoardProfile::load("nosuchboard").unwrap_err().to_string();
        assert!(
            e.contains("nosuchboard") && e.contains("acornCle215"),
            "{e}"
        );
    }
}
