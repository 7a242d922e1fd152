//! LUN ownership (DESIGN.md idea 8).
//!
//! Each LUN has one owner; only the owner caches it and acknowledges writes
//! to it. A write reaching the other controller is forwarded or makes it ask
//! for the LUN, by policy. The owner grants a LUN only once every line of it
//! is hardened and dropped, so the new owner starts from a disk that holds
//! every acknowledged write and no stale copy survives on the old owner
//! ("a write invalidates the partner's copy"). Reads on the non-owner are
//! served by the owner's cache, which holds any dirty line.

use alloc::vec::Vec;

use crate::cache::LineKey;
use crate::config::{Config, OwnershipPolicy};
use crate::controller::{Controller, Phase};
use crate::event::{Input, Message};

impl Controller {
    pub(crate) fn owns(&self, lun: u32) -> bool {
        self.owner_of(lun) == Some(self.cfg.cache_id)
    }

    /// Whether this controller serves `input` now; if not, it was parked or
    /// forwarded.
    pub(crate) fn serve_here(&mut self, lun: u32, write: bool, input: &Input) -> bool {
        let me = self.cfg.cache_id;
        let partner_home_in_failback = self.failback.is_some() && Config::home_of(lun) != me;
        // With the link down and no verdict, the partner may be taking our
        // LUNs over this very moment: serving even a read from our cache
        // could return data it has already overwritten (idea 9). Requests
        // wait for the verdict, or for the link to return and the partner
        // to confirm our epoch.
        let undecided = self.phase == Phase::Paired && !(self.link_up && self.confirmed);
        let blocked = self.phase == Phase::Booting
            || undecided
            || self.adopting
            || self.giving.contains(&lun)
            || partner_home_in_failback
            || (self.awaiting_handback && Config::home_of(lun) == me);
        if blocked {
            self.parked.push_back(input.clone());
            return false;
        }
        match self.owner_of(lun) {
            Some(o) if o == me => true,
            Some(_) if self.can_mirror() => {
                match (write, self.cfg.ownership) {
                    (true, OwnershipPolicy::TakeOwnership) => {
                        if self.requested.insert(lun) {
                            self.emit_message(Message::OwnershipRequest { lun });
                        }
                        self.parked.push_back(input.clone());
                    }
                    _ => {
                        let m = match *input {
                            Input::HostWrite {
                                req,
                                lun,
                                lba,
                                sectors,
                            } => {
                                self.stats.writes_forwarded += 1;
                                self.note_forward(req, true);
                                Message::ForwardWrite {
                                    req,
                                    lun,
                                    lba,
                                    sectors,
                                }
                            }
                            Input::HostRead {
                                req,
                                lun,
                                lba,
                                sectors,
                            } => {
                                self.stats.reads_forwarded += 1;
                                self.note_forward(req, false);
                                Message::ForwardRead {
                                    req,
                                    lun,
                                    lba,
                                    sectors,
                                }
                            }
                            _ => return false,
                        };
                        self.emit_message(m);
                    }
                }
                false
            }
            _ => {
                self.parked.push_back(input.clone());
                false
            }
        }
    }

    /// Bookkeeping of a request sent to the partner. A request the partner
    /// forwarded to us goes back to its origin (ownership moved meanwhile):
    /// the origin answers it, so we forget it.
    fn note_forward(&mut self, req: u64, write: bool) {
        if !self.forwarded.remove(&req) {
            self.forwarded_out.insert(req, write);
        }
    }

    /// A request arriving from the partner: ours coming back, or theirs.
    fn note_forwarded_in(&mut self, req: u64) {
        if self.forwarded_out.remove(&req).is_none() {
            self.forwarded.insert(req);
        }
    }

    pub(crate) fn emit_message(&mut self, m: Message) {
        self.emit(crate::event::Action::Send(m));
    }

    /// Grants LUNs the partner asked for once they are hardened and idle.
    pub(crate) fn pump_ownership(&mut self) {
        let luns: Vec<u32> = self.giving.iter().copied().collect();
        for lun in luns {
            let busy_write = self.writes.values().any(|w| w.lun == lun)
                || self.mirror_queue.iter().any(|p| p.key.lun == lun);
            let busy_line = self
                .cache
                .lines()
                .any(|(k, l)| k.lun == lun && (l.dirty || !l.idle()));
            // The grant waits for the RELEASEs of the LUN's slots too: no
            // valid header of ours for it may outlive the hand-over.
            let releasing = !self.release_queue.is_empty() || self.release_inflight > 0;
            if busy_write || busy_line || releasing || !self.link_up {
                continue;
            }
            let keys: Vec<LineKey> = self
                .cache
                .keys()
                .into_iter()
                .filter(|k| k.lun == lun)
                .collect();
            for k in keys {
                self.cache.remove(&k);
            }
            self.clock += 1;
            self.giving.remove(&lun);
            self.owner[lun as usize] = Some(self.partner_id());
            self.stats.ownership_transfers += 1;
            self.emit_message(Message::OwnershipGrant { lun });
        }
    }

    pub(crate) fn ownership_message(&mut self, m: Message) {
        match m {
            Message::OwnershipRequest { lun }
                if self.owns(lun) && self.phase == Phase::Paired && self.failback.is_none() =>
            {
                self.giving.insert(lun);
            }
            Message::OwnershipGrant { lun } if (lun as usize) < self.owner.len() => {
                self.owner[lun as usize] = Some(self.cfg.cache_id);
                self.requested.remove(&lun);
            }
            Message::ForwardWrite {
                req,
                lun,
                lba,
                sectors,
            } => {
                self.note_forwarded_in(req);
                self.host(Input::HostWrite {
                    req,
                    lun,
                    lba,
                    sectors,
                });
            }
            Message::ForwardRead {
                req,
                lun,
                lba,
                sectors,
            } => {
                self.note_forwarded_in(req);
                self.host(Input::HostRead {
                    req,
                    lun,
                    lba,
                    sectors,
                });
            }
            Message::WriteDone { req, result } if self.forwarded_out.remove(&req).is_some() => {
                self.emit(crate::event::Action::CompleteWrite { req, result });
            }
            Message::ReadDone { req } => {
                self.forwarded_out.remove(&req);
            }
            _ => {}
        }
    }

    /// Requests forwarded to a partner that is now gone: their outcome is
    /// unknown, so the host gets an error rather than silence.
    pub(crate) fn fail_forwarded(&mut self) {
        for (req, write) in core::mem::take(&mut self.forwarded_out) {
            let e = crate::error::Error::PartnerLost;
            let a = if write {
                crate::event::Action::CompleteWrite {
                    req,
                    result: Err(e),
                }
            } else {
                crate::event::Action::CompleteRead {
                    req,
                    result: Err(e),
                }
            };
            self.emit(a);
        }
    }

    /// Re-asks for LUNs whose request may have been lost with the link.
    pub(crate) fn resend_ownership_requests(&mut self) {
        let luns: Vec<u32> = self.requested.iter().copied().collect();
        for lun in luns {
            self.emit_message(Message::OwnershipRequest { lun });
        }
    }
}
