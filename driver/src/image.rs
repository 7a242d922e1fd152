//! The update-image trailer: how a reader tells a complete update image from
//! an interrupted one.
//!
//! The update region holds the configuration data from its first byte and,
//! in its last sector, a 256-byte trailer:
//!
//! ```text
//!   0  "DPLXIMG1"          magic
//!   8  u32 LE  version (1)
//!  12  u32 LE  image length in bytes
//!  16  u32 LE  CRC-32 (IEEE) of the image bytes
//!  20  [u8; 32] part, NUL padded
//!  52  [u8; 64] design name, NUL padded
//! 116  u32 LE  CRC-32 of bytes 0..116
//! ```
//!
//! Writers erase the trailer sector first and program the trailer last, after
//! the image has been programmed and verified. A power cut at any point before
//! the last step leaves no trailer (erased flash reads 0xFF) or a stale one
//! whose CRC no longer matches the data: the image is reported invalid, and the
//! FPGA's multiboot fallback keeps booting the golden image.

use crate::board::BoardProfile;
use serde::Serialize;

pub const TRAILER_MAGIC: [u8; 8] = *b"DPLXIMG1";
pub const TRAILER_VERSION: u32 = 1;
/// Bytes of the trailer (one flash page).
pub const TRAILER_LEN: usize = 256;
const BODY: usize = 116;

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib computes it.
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

/// Continues a CRC-32 over more data (`crc` is a previous result).
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    let mut c = !crc;
    for &b in data {
        c = table[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// A decoded trailer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trailer {
    pub len: u32,
    pub crc: u32,
    pub part: String,
    pub design: String,
}

fn put_str(dst: &mut [u8], s: &str) {
    let n = s.len().min(dst.len() - 1);
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}

fn get_str(src: &[u8]) -> String {
    let end = src.iter().position(|&b| b == 0).unwrap_or(src.len());
    String::from_utf8_lossy(&src[..end]).into_owned()
}

impl Trailer {
    pub fn for_image(data: &[u8], part: &str, design: &str) -> Self {
        Self {
            len: data.len() as u32,
            crc: crc32(data),
            part: part.to_string(),
            design: design.to_string(),
        }
    }

    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut t = [0xFFu8; TRAILER_LEN];
        t[..BODY].fill(0);
        t[0..8].copy_from_slice(&TRAILER_MAGIC);
        t[8..12].copy_from_slice(&TRAILER_VERSION.to_le_bytes());
        t[12..16].copy_from_slice(&self.len.to_le_bytes());
        t[16..20].copy_from_slice(&self.crc.to_le_bytes());
        put_str(&mut t[20..52], &self.part);
        put_str(&mut t[52..116], &self.design);
        let c = crc32(&t[..BODY]);
        t[BODY..BODY + 4].copy_from_slice(&c.to_le_bytes());
        t
    }

    /// Decodes a trailer page; `Err` says why it is not one.
    pub fn decode(t: &[u8]) -> std::result::Result<Self, String> {
        if t.len() < BODY + 4 {
            return Err("trailer page too short".into());
        }
        if t[0..8] != TRAILER_MAGIC {
            return Err(if t[..8].iter().all(|&b| b == 0xFF) {
                "no trailer (erased): the image was never completed".into()
            } else {
                "no trailer magic".into()
            });
        }
        let word = |o: usize| u32::from_le_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
        if crc32(&t[..BODY]) != word(BODY) {
            return Err("trailer CRC mismatch".into());
        }
        if word(8) != TRAILER_VERSION {
            return Err(format!("trailer version {} unknown", word(8)));
        }
        Ok(Self {
            len: word(12),
            crc: word(16),
            part: get_str(&t[20..52]),
            design: get_str(&t[52..116]),
        })
    }
}

/// Flash offset of the update image's trailer.
pub fn trailer_offset(p: &BoardProfile) -> u64 {
    p.update.end() - p.flash.sector_size
}

/// The verdict on an update region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageStatus {
    pub valid: bool,
    pub reason: String,
    pub trailer: Option<Trailer>,
}

/// Judges an update image from its trailer page and a reader of image bytes
/// (`read(offset_in_region, len)`), which is called only when the trailer is
/// sound.
pub fn check_update<E>(
    p: &BoardProfile,
    trailer_page: &[u8],
    mut read: impl FnMut(u64, usize) -> std::result::Result<Vec<u8>, E>,
) -> std::result::Result<ImageStatus, E> {
    let t = match Trailer::decode(trailer_page) {
        Ok(t) => t,
        Err(reason) => {
            return Ok(ImageStatus {
                valid: false,
                reason,
                trailer: None,
            })
        }
    };
    if t.len as u64 > p.max_image() || t.len == 0 {
        return Ok(ImageStatus {
            valid: false,
            reason: format!(
                "trailer claims {} bytes, the region holds at most {}",
                t.len,
                p.max_image()
            ),
            trailer: Some(t),
        });
    }
    let mut crc = 0;
    let mut off = 0u64;
    const CHUNK: usize = 64 << 10;
    while off < t.len as u64 {
        let n = CHUNK.min((t.len as u64 - off) as usize);
        crc = crc32_update(crc, &read(off, n)?);
        off += n as u64;
    }
    let valid = crc == t.crc;
    Ok(ImageStatus {
        valid,
        reason: if valid {
            format!("{} bytes, CRC-32 {:08x} matches", t.len, t.crc)
        } else {
            format!(
                "image CRC-32 {crc:08x} does not match the trailer's {:08x}: the image was interrupted or overwritten",
                t.crc
            )
        },
        trailer: Some(t),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_update(crc32(b"1234"), b"56789"), 0xCBF4_3926);
    }

    #[test]
    fn trailer_round_trips_and_damage_is_named() {
        let t = Trailer::for_image(b"abc", "7a200tfbg484", "top");
        let page = t.encode();
        assert_eq!(Trailer::decode(&page).unwrap(), t);
        assert!(Trailer::decode(&[0xFF; 256])
            .unwrap_err()
            .contains("erased"));
        let mut bad = page;
        bad[13] ^= 1;
        assert!(Trailer::decode(&bad).unwrap_err().contains("CRC"));
    }
}
