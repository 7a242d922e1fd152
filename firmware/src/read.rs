//! The read path (DESIGN.md idea 6): hits are served from the cache, misses
//! from disk; a miss is kept as a clean line only when nothing changed the
//! line while the disk read was out.

use alloc::vec::Vec;

use crate::cache::{LineKey, PageRef};
use crate::controller::{Controller, DiskOp};
use crate::error::Error;
use crate::event::{Action, ReqId};

impl Controller {
    /// Reads: hits from the cache, misses from disk (idea 6).
    pub(crate) fn pump_reads(&mut self) {
        let ids: Vec<ReqId> = self.reads.keys().copied().collect();
        for req in ids {
            let Some(r) = self.reads.get(&req) else {
                continue;
            };
            let (lun, first, n) = (r.lun, r.first, r.sources.len());
            for i in 0..n {
                if self.reads[&req].issued[i] {
                    continue;
                }
                let key = LineKey {
                    lun,
                    page: first + i as u64,
                };
                let cached = self.cache.get(&key).and_then(|l| l.page);
                let src = if let Some(p) = cached {
                    self.stats.read_hits += 1;
                    self.cache.touch(&key);
                    self.cache.pin(p);
                    p
                } else {
                    let Some(p) = self.cache.alloc_page() else {
                        break;
                    };
                    self.stats.read_misses += 1;
                    let io = self.io();
                    let op = DiskOp::ReadMiss {
                        req,
                        index: i as u32,
                        page: p,
                        clock: self.clock,
                    };
                    self.disk.insert(io, op);
                    let lba = self.lba_of(key);
                    self.emit(Action::DiskRead {
                        io,
                        lun,
                        lba,
                        page: p,
                    });
                    let r = self.reads.get_mut(&req).expect("read present");
                    r.issued[i] = true;
                    continue;
                };
                let r = self.reads.get_mut(&req).expect("read present");
                r.issued[i] = true;
                r.sources[i] = Some(src);
                r.outstanding -= 1;
            }
            self.finish_read(req);
        }
    }

    pub(crate) fn finish_read(&mut self, req: ReqId) {
        if self.reads.get(&req).is_none_or(|r| r.outstanding > 0) {
            return;
        }
        let r = self.reads.remove(&req).expect("read present");
        if self.forwarded.remove(&req) {
            self.emit(Action::Send(crate::event::Message::ReadDone { req }));
        }
        let result = match r.error {
            Some(e) => Err(e),
            None => Ok(r.sources.iter().map(|s| s.expect("source set")).collect()),
        };
        // The runtime copies the data out synchronously with this action, so
        // the pages can be unpinned right after it.
        self.emit(Action::CompleteRead { req, result });
        for p in r.sources.into_iter().flatten() {
            self.cache.unpin(p);
        }
    }

    pub(crate) fn read_miss_done(
        &mut self,
        req: ReqId,
        index: u32,
        page: PageRef,
        clock: u64,
        ok: bool,
    ) {
        let lun_first = self.reads.get(&req).map(|r| (r.lun, r.first));
        let Some((lun, first)) = lun_first else {
            self.cache.unpin(page);
            return;
        };
        let key = LineKey {
            lun,
            page: first + index as u64,
        };
        if ok {
            // Insert the page as a clean line only if no line changed while
            // the disk read was out: otherwise it could be older than a
            // version committed (and even destaged and evicted) meanwhile.
            if clock == self.clock && self.cache.get(&key).is_none() && self.owns(lun) {
                self.cache.pin(page);
                let l = self.cache.entry(key);
                l.page = Some(page);
                l.seq = 0;
            }
        } else {
            self.stats.disk_errors += 1;
        }
        let lba = self.lba_of(key);
        let r = self.reads.get_mut(&req).expect("read present");
        if index as usize >= r.sources.len() {
            self.cache.unpin(page);
            return;
        }
        if ok {
            r.sources[index as usize] = Some(page);
        } else {
            self.cache.unpin(page);
            r.error = Some(Error::Disk { lun, lba });
            // Keep the vector full so `finish_read` can unpin uniformly.
        }
        let r = self.reads.get_mut(&req).expect("read present");
        r.outstanding -= 1;
        if r.error.is_some() && r.outstanding == 0 {
            let pages: Vec<PageRef> = r.sources.iter().flatten().copied().collect();
            let e = r.error.clone().expect("error set");
            self.reads.remove(&req);
            for p in pages {
                self.cache.unpin(p);
            }
            self.emit(Action::CompleteRead {
                req,
                result: Err(e),
            });
            return;
        }
        self.finish_read(req);
    }
}
