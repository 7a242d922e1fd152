//! Xilinx 7-series bitstreams: the `.bit` container and raw `.bin` images.
//!
//! A `.bit` file starts with a fixed 13-byte preamble (a 2-byte length 9,
//! the bytes `0F F0 0F F0 0F F0 0F F0 00`, then a 2-byte length 1), followed
//! by tagged fields: `a` design name, `b` part, `c` date, `d` time — each a
//! 2-byte big-endian length and a NUL-terminated string — and `e`, a 4-byte
//! big-endian length of the configuration data that follows. The data must
//! contain the configuration sync word `AA 99 55 66` (UG470, "Bitstream
//! Composition": the dummy words and bus-width pattern come before it).
//!
//! What goes into the configuration flash is the data alone; `.bin` files
//! (from `write_bitstream -bin_file` or `write_cfgmem -format bin`) are that
//! data without a header, so they carry no part name: the user must state it.

use crate::board::normalize_part;
use crate::error::{DriverError, Result};
use std::path::Path;

/// The preamble every `.bit` file starts with.
pub const BIT_PREAMBLE: [u8; 13] = [
    0x00, 0x09, 0x0F, 0xF0, 0x0F, 0xF0, 0x0F, 0xF0, 0x0F, 0xF0, 0x00, 0x00, 0x01,
];
/// The configuration sync word (UG470 table 5-19).
pub const SYNC_WORD: [u8; 4] = [0xAA, 0x99, 0x55, 0x66];
/// How far into the data the sync word may appear: after the dummy and
/// bus-width words, well inside the first kilobyte.
const SYNC_SEARCH: usize = 1024;

/// The header fields of a `.bit` file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BitHeader {
    pub design: String,
    /// Part as written by Vivado, e.g. `7a200tfbg484`.
    pub part: String,
    pub date: String,
    pub time: String,
    pub data_len: u32,
}

/// A bitstream ready for the flash: the configuration data and, for a
/// `.bit` file, its header.
#[derive(Clone, Debug)]
pub struct Bitstream {
    pub header: Option<BitHeader>,
    /// The part the image is for (from the header, or stated with `--part`).
    pub part: String,
    pub data: Vec<u8>,
}

fn corrupt(path: &str, detail: impl Into<String>) -> DriverError {
    DriverError::BitCorrupt {
        path: path.to_string(),
        detail: detail.into(),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(DriverError::BitTruncated {
                path: self.path.to_string(),
                what: what.to_string(),
                offset: self.pos,
            }),
        }
    }
    fn u16(&mut self, what: &str) -> Result<usize> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]) as usize)
    }
    fn string_field(&mut self, key: u8, name: &str) -> Result<String> {
        let k = self.take(1, name)?[0];
        if k != key {
            return Err(corrupt(
                self.path,
                format!(
                    "expected field '{}' ({name}) at byte {}, found {k:#04x}",
                    key as char,
                    self.pos - 1
                ),
            ));
        }
        let len = self.u16(name)?;
        let raw = self.take(len, name)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec())
            .map_err(|_| corrupt(self.path, format!("{name} is not text")))
    }
}

/// Parses a `.bit` file's header and checks its data.
pub fn parse_bit(bytes: &[u8], path: &str) -> Result<Bitstream> {
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        path,
    };
    let pre = r.take(BIT_PREAMBLE.len(), "preamble")?;
    if pre != BIT_PREAMBLE {
        return Err(corrupt(path, "no .bit preamble (00 09 0f f0 ...)"));
    }
    let design = r.string_field(b'a', "design name")?;
    let part = r.string_field(b'b', "part")?;
    let date = r.string_field(b'c', "date")?;
    let time = r.string_field(b'd', "time")?;
    let k = r.take(1, "data length")?[0];
    if k != b'e' {
        return Err(corrupt(
            path,
            format!("expected field 'e' (data length), found {k:#04x}"),
        ));
    }
    let l = r.take(4, "data length")?;
    let data_len = u32::from_be_bytes([l[0], l[1], l[2], l[3]]);
    let data = r.take(data_len as usize, "configuration data")?.to_vec();
    if r.pos != bytes.len() {
        return Err(corrupt(
            path,
            format!(
                "{} bytes after the {data_len}-byte data the header announces",
                bytes.len() - r.pos
            ),
        ));
    }
    check_sync(&data, path)?;
    if part.is_empty() {
        return Err(corrupt(path, "empty part field"));
    }
    Ok(Bitstream {
        part: part.clone(),
        header: Some(BitHeader {
            design,
            part,
            date,
            time,
            data_len,
        }),
        data,
    })
}

fn check_sync(data: &[u8], path: &str) -> Result<()> {
    let window = &data[..data.len().min(SYNC_SEARCH)];
    if window.windows(4).any(|w| w == SYNC_WORD) {
        Ok(())
    } else {
        Err(DriverError::NoSyncWord {
            path: path.to_string(),
        })
    }
}

/// Reads a bitstream from `path`: a `.bit` file (header parsed, `part` must
/// match if given) or anything else as raw data, which needs `part`.
pub fn load(path: &Path, part: Option<&str>) -> Result<Bitstream> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| DriverError::File {
        path: name.clone(),
        source,
    })?;
    from_bytes(&bytes, &name, part)
}

/// As [`load`], from bytes already read. A file is taken as `.bit` when it
/// starts with the preamble, whatever its name.
pub fn from_bytes(bytes: &[u8], name: &str, part: Option<&str>) -> Result<Bitstream> {
    if bytes.starts_with(&BIT_PREAMBLE[..2]) && !name.ends_with(".bin") {
        let b = parse_bit(bytes, name)?;
        if let Some(p) = part {
            if normalize_part(p) != normalize_part(&b.part) {
                return Err(DriverError::PartMismatch {
                    what: format!("{name} (header)"),
                    image_part: b.part,
                    target: "--part".into(),
                    target_part: p.to_string(),
                });
            }
        }
        return Ok(b);
    }
    let Some(part) = part else {
        return Err(DriverError::RawNeedsPart {
            path: name.to_string(),
        });
    };
    if bytes.is_empty() {
        return Err(DriverError::BitTruncated {
            path: name.to_string(),
            what: "configuration data".into(),
            offset: 0,
        });
    }
    check_sync(bytes, name)?;
    Ok(Bitstream {
        header: None,
        part: part.to_string(),
        data: bytes.to_vec(),
    })
}

impl Bitstream {
    /// Refuses an image whose part is not the board's, in one line.
    pub fn check_part(&self, board: &str, board_part: &str) -> Result<()> {
        if normalize_part(&self.part) == normalize_part(board_part) {
            Ok(())
        } else {
            Err(DriverError::PartMismatch {
                what: "bitstream".into(),
                image_part: self.part.clone(),
                target: format!("board {board}"),
                target_part: board_part.to_string(),
            })
        }
    }
}

/// Builds a `.bit` file in the Vivado format around `data`. Used by the
/// tests and by `duplexctl` self-tests; real files come from Vivado.
pub fn build_bit(design: &str, part: &str, date: &str, time: &str, data: &[u8]) -> Vec<u8> {
    let mut v = BIT_PREAMBLE.to_vec();
    for (k, s) in [(b'a', design), (b'b', part), (b'c', date), (b'd', time)] {
        v.push(k);
        v.extend_from_slice(&((s.len() + 1) as u16).to_be_bytes());
        v.extend_from_slice(s.as_bytes());
        v.push(0);
    }
    v.push(b'e');
    v.extend_from_slice(&(data.len() as u32).to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// Configuration data shaped like a 7-series bitstream: dummy words, the
/// bus-width detection pattern, the sync word, then `body` (UG470 5-19).
pub fn synthetic_config_data(body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF; 32];
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0xBB, 0x11, 0x22, 0x00, 0x44]);
    v.extend_from_slice(&[0xFF; 8]);
    v.extend_from_slice(&SYNC_WORD);
    v.extend_from_slice(body);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        build_bit(
            "duplex_top;UserID=0XFFFFFFFF;Version=2023.2",
            "7a200tfbg484",
            "2025/01/31",
            "12:34:56",
            &synthetic_config_data(&[0x20, 0, 0, 0, 0x30, 0x00, 0x80, 0x01]),
        )
    }

    #[test]
    fn bit_header_fields_are_read() {
        let b = parse_bit(&sample(), "t.bit").unwrap();
        let h = b.header.unwrap();
        assert_eq!(h.design, "duplex_top;UserID=0XFFFFFFFF;Version=2023.2");
        assert_eq!(h.part, "7a200tfbg484");
        assert_eq!(h.date, "2025/01/31");
        assert_eq!(h.time, "12:34:56");
        assert_eq!(h.data_len as usize, b.data.len());
        assert_eq!(&b.data[48..52], &SYNC_WORD);
    }

    #[test]
    fn every_truncation_is_a_typed_error_never_a_panic() {
        let full = sample();
        for n in 0..full.len() {
            let e = parse_bit(&full[..n], "t.bit").unwrap_err();
            assert!(
                matches!(
                    e,
                    DriverError::BitTruncated { .. } | DriverError::BitCorrupt { .. }
                ),
                "{n}: {e}"
            );
        }
    }

    #[test]
    fn a_flipped_sync_word_or_field_key_is_refused() {
        let mut bad = sample();
        let at = bad.windows(4).position(|w| w == SYNC_WORD).unwrap();
        bad[at + 1] ^= 0x01;
        assert!(matches!(
            parse_bit(&bad, "t.bit"),
            Err(DriverError::NoSyncWord { .. })
        ));
        let mut bad = sample();
        bad[13] = b'z';
        let e = parse_bit(&bad, "t.bit").unwrap_err().to_string();
        assert!(e.contains("expected field 'a'"), "{e}");
        let mut long = sample();
        long.push(0);
        assert!(parse_bit(&long, "t.bit").is_err());
    }

    #[test]
    fn part_check_names_both_parts() {
        let b = parse_bit(&sample(), "t.bit").unwrap();
        assert!(b.check_part("acornCle215", "xc7a200tfbg484-3").is_ok());
        let e = b.check_part("kc705", "xc7k325tffg900-2").unwrap_err();
        let line = e.to_string();
        assert!(
            line.contains("7a200tfbg484") && line.contains("xc7k325tffg900-2"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn raw_bin_needs_a_part_and_a_sync_word() {
        let data = synthetic_config_data(&[1, 2, 3]);
        assert!(matches!(
            from_bytes(&data, "x.bin", None),
            Err(DriverError::RawNeedsPart { .. })
        ));
        let b = from_bytes(&data, "x.bin", Some("xc7k325tffg900-2")).unwrap();
        assert!(b.header.is_none());
        assert!(b.check_part("kc705", "xc7k325t-ffg900-2").is_ok());
        assert!(matches!(
            from_bytes(&[0xFF; 64], "x.bin", Some("xc7k325t")),
            Err(DriverError::NoSyncWord { .. })
        ));
        // A .bit whose header names another part than --part is refused.
        assert!(matches!(
            from_bytes(&sample(), "t.bit", Some("xc7k325tffg900-2")),
            Err(DriverError::PartMismatch { .. })
        ));
    }
}
