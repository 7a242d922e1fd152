//! Reference model of the storage: which contents each page may read back.
//!
//! Every write has a unique id; its sector `s` holds `pattern(id, lun, s)`.
//! A write `w` to a sector is *superseded* once some acknowledged write to
//! the same sector was issued after `w` ended (was acknowledged, failed, or was
//! lost with its controller). A read may return any write to the sector that
//! was issued before the read completed and was not superseded when the read
//! was issued. Anything else — a lost acknowledged write, a resurrected old
//! version, a torn page — is a violation.

use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Version {
    id: u64,
    issued: u64,
    /// Acknowledged at.
    acked: Option<u64>,
    /// Failed or lost at (not acknowledged).
    closed: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct Reference {
    pages: BTreeMap<(u32, u64), Vec<Version>>,
    /// Max issue time of acknowledged writes, per page.
    floor: BTreeMap<(u32, u64), u64>,
    unit_bytes: usize,
}

/// The bytes sector `page` of LUN `lun` holds after write `id` (id 0 is the
/// initial content of the disks); `page_bytes` is the sector size.
pub fn pattern(id: u64, lun: u32, page: u64, page_bytes: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(page_bytes);
    let mut x = id
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((lun as u64) << 48 | page)
        | 1;
    while v.len() < page_bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(page_bytes);
    v[..8].copy_from_slice(&id.to_le_bytes());
    v
}

impl Reference {
    pub fn new(unit_bytes: usize) -> Self {
        Reference {
            unit_bytes,
            ..Default::default()
        }
    }
    pub fn issue(&mut self, id: u64, lun: u32, pages: std::ops::Range<u64>, now: u64) {
        for p in pages {
            self.pages.entry((lun, p)).or_default().push(Version {
                id,
                issued: now,
                acked: None,
                closed: None,
            });
        }
    }
    fn each(&mut self, id: u64, lun: u32, pages: std::ops::Range<u64>, f: impl Fn(&mut Version)) {
        for p in pages {
            if let Some(vs) = self.pages.get_mut(&(lun, p)) {
                for v in vs.iter_mut().filter(|v| v.id == id) {
                    f(v);
                }
            }
        }
    }
    pub fn ack(&mut self, id: u64, lun: u32, pages: std::ops::Range<u64>, now: u64) {
        self.each(id, lun, pages.clone(), |v| v.acked = Some(now));
        for p in pages {
            let issued = self.pages[&(lun, p)]
                .iter()
                .find(|v| v.id == id)
                .map(|v| v.issued)
                .unwrap_or(0);
            let f = self.floor.entry((lun, p)).or_insert(0);
            *f = (*f).max(issued);
        }
    }
    /// Failed, or lost with the controller that held it.
    pub fn close(&mut self, id: u64, lun: u32, pages: std::ops::Range<u64>, now: u64) {
        self.each(id, lun, pages, |v| {
            if v.closed.is_none() {
                v.closed = Some(now)
            }
        });
    }
    /// Snapshot taken when a read is issued.
    pub fn floor(&self, lun: u32, page: u64) -> u64 {
        self.floor.get(&(lun, page)).copied().unwrap_or(0)
    }
    /// Ids a read of (`lun`, `page`) issued with `floor` and completing at
    /// `now` may return.
    pub fn allowed(&self, lun: u32, page: u64, floor: u64, now: u64) -> Vec<u64> {
        let mut ids = Vec::new();
        // The initial content (id 0) was written at time 0: any acknowledged
        // write (issued at time 1 or later) supersedes it.
        if floor == 0 {
            ids.push(0);
        }
        let vs = self.pages.get(&(lun, page));
        for v in vs.into_iter().flatten() {
            if v.issued >= now {
                continue;
            }
            let end = v.acked.or(v.closed);
            if end.is_none_or(|e| e >= floor) {
                ids.push(v.id);
            }
        }
        ids
    }
    /// Which allowed id `bytes` is, if any.
    pub fn check(
        &self,
        lun: u32,
        page: u64,
        floor: u64,
        now: u64,
        bytes: &[u8],
    ) -> Result<u64, String> {
        let ids = self.allowed(lun, page, floor, now);
        for &id in &ids {
            if bytes == pattern(id, lun, page, self.unit_bytes).as_slice() {
                return Ok(id);
            }
        }
        let got = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
        let torn = !ids.is_empty()
            && !self
                .pages
                .get(&(lun, page))
                .into_iter()
                .flatten()
                .any(|v| bytes == pattern(v.id, lun, page, self.unit_bytes).as_slice())
            && got != 0;
        Err(format!(
            "LUN {lun} sector {page}: read back write {got}{} at t={now}, allowed {ids:?} (floor {floor})",
            if torn { " (torn or foreign bytes)" } else { "" }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acknowledged_write_supersedes_older_ones() {
        let mut r = Reference::new(64);
        r.issue(1, 0, 0..1, 1);
        r.ack(1, 0, 0..1, 2);
        r.issue(2, 0, 0..1, 3);
        r.ack(2, 0, 0..1, 4);
        let f = r.floor(0, 0);
        assert_eq!(r.allowed(0, 0, f, 10), vec![2]);
        assert!(r.check(0, 0, f, 10, &pattern(1, 0, 0, 64)).is_err());
        assert!(r.check(0, 0, f, 10, &pattern(2, 0, 0, 64)).is_ok());
    }

    #[test]
    fn a_write_in_flight_may_read_old_or_new_but_not_torn() {
        let mut r = Reference::new(64);
        r.issue(1, 0, 0..1, 1);
        r.ack(1, 0, 0..1, 2);
        r.issue(2, 0, 0..1, 3);
        let f = r.floor(0, 0);
        assert_eq!(r.allowed(0, 0, f, 10), vec![1, 2]);
        let mut torn = pattern(1, 0, 0, 64);
        torn[32..].copy_from_slice(&pattern(2, 0, 0, 64)[32..]);
        assert!(r.check(0, 0, f, 10, &torn).is_err());
        // The initial content is gone once write 1 is acknowledged.
        assert!(r.check(0, 0, f, 10, &pattern(0, 0, 0, 64)).is_err());
    }
}
