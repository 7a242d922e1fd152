//! `SlotAllocator`: software's use of the card's mirror-slot allocator (BAR0
//! block ALLOC, DESIGN.md idea 1) over any [`Device`].
//!
//! The DMA engine takes slots through its own port inside the card; software
//! uses this API at bring-up (init with the slot count from the cache-size
//! exchange, idea 2), after a partner failure (forced re-init), and for
//! diagnostics. Every operation is checked: a refusal by the hardware comes
//! back as a typed error naming the status, and changes nothing.

use crate::device::Device;
use crate::error::{DriverError, Result};
use crate::regs::Regs;
use duplex_regs::slot_alloc::{self as a, status};
use duplex_regs::ALLOC;
use serde::Serialize;
use std::time::Duration;

/// How long a software operation or an init may take before it is an error
/// (init of 65,536 slots takes 4,096 card cycles).
const TIMEOUT: Duration = Duration::from_millis(100);

/// The allocator's counters and state, as BAR0 shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AllocStats {
    pub ready: bool,
    pub max_slots: u32,
    pub max_count: u32,
    /// Slot count N of the current free list.
    pub slots: u32,
    pub free: u32,
    pub allocated: u32,
    pub high_water: u32,
    /// Sticky `ERRORS` bits.
    pub errors: u32,
    pub double_free: u32,
    pub never_allocated: u32,
    pub out_of_range: u32,
    pub not_ready: u32,
    pub bad_count: u32,
    pub no_space: u32,
    pub allocs: u32,
    pub frees: u32,
}

/// The card's mirror-slot allocator.
pub struct SlotAllocator<'a> {
    regs: Regs<'a>,
}

impl<'a> SlotAllocator<'a> {
    /// Opens the ALLOC block, checking its TYPE and major VERSION first.
    pub fn new(dev: &'a dyn Device) -> Result<Self> {
        let regs = Regs::new(dev);
        let ty = regs.read(ALLOC.type_reg())?;
        let ver = regs.read(ALLOC.version_reg())?;
        if ty != ALLOC.type_id || ver >> 16 != ALLOC.version >> 16 {
            return Err(DriverError::BlockList {
                device: dev.name(),
                offset: ALLOC.base,
                detail: format!(
                    "expected the ALLOC block (type {:#010x}, version {}.x), found type {ty:#010x} version {:#x}",
                    ALLOC.type_id,
                    ALLOC.version >> 16,
                    ver
                ),
            });
        }
        Ok(Self { regs })
    }

    fn device(&self) -> String {
        self.regs.device().name()
    }

    /// Builds the free list with `slots` free slots. Refused while slots are
    /// allocated unless `force` (after a partner failure every slot in the
    /// partner's area is reclaimed at once).
    pub fn init(&self, slots: u32, force: bool) -> Result<()> {
        let max = a::CAPS_MAX_SLOTS.get(self.regs.read(a::CAPS)?);
        if slots == 0 || slots > max {
            return Err(DriverError::AllocInitRefused {
                device: self.device(),
                slots,
                reason: format!("the slot count must be 1..={max}"),
            });
        }
        let before = self.regs.read(a::ERRORS)?;
        self.regs.write(a::ERRORS, a::ERR_INIT_REFUSED.mask())?;
        self.regs.write(a::SLOTS, slots)?;
        let ctrl = a::CTRL_INIT.set(0, 1) | a::CTRL_FORCE.set(0, u32::from(force));
        self.regs.write(a::CTRL, ctrl)?;
        if a::ERR_INIT_REFUSED.get(self.regs.read(a::ERRORS)?) == 1 {
            // Leave the sticky bit as software found it.
            if a::ERR_INIT_REFUSED.get(before) == 0 {
                self.regs.write(a::ERRORS, a::ERR_INIT_REFUSED.mask())?;
            }
            let allocated = self.regs.read(a::ALLOC_COUNT)?;
            return Err(DriverError::AllocInitRefused {
                device: self.device(),
                slots,
                reason: format!(
                    "{allocated} slots are allocated (use force after a partner failure)"
                ),
            });
        }
        self.regs
            .wait_for(a::STATUS, TIMEOUT, |v| a::STATUS_READY.get(v) == 1)?;
        Ok(())
    }

    /// Runs one software operation and returns its RESULT word.
    fn op(&self, op: u32, what: &str) -> Result<u32> {
        let seq = a::RESULT_SEQ.get(self.regs.read(a::RESULT)?);
        self.regs.write(a::OP, op)?;
        let res = self
            .regs
            .wait_for(a::RESULT, TIMEOUT, |v| {
                a::RESULT_BUSY.get(v) == 0 && a::RESULT_SEQ.get(v) != seq
            })
            .map_err(|e| match e {
                DriverError::Timeout {
                    device, timeout, ..
                } => DriverError::Timeout {
                    device,
                    what: format!("allocator {what}"),
                    timeout,
                },
                e => e,
            })?;
        let st = a::RESULT_STATUS.get(res);
        if st != status::OK {
            return Err(DriverError::AllocRejected {
                device: self.device(),
                op: what.to_string(),
                status: st,
                reason: status::name(st),
            });
        }
        Ok(res)
    }

    /// Takes `count` slots (1..=16), all or none.
    pub fn alloc(&self, count: u32) -> Result<Vec<u32>> {
        let res = self.op(a::OP_COUNT.set(0, count), &format!("alloc of {count}"))?;
        let n = a::RESULT_COUNT.get(res);
        let mut slots = Vec::with_capacity(n as usize);
        for i in 0..n.div_ceil(2) {
            let w = self.regs.read(a::RESULT_SLOTS.at(i))?;
            slots.push(a::RESULT_SLOT_LO.get(w));
            if slots.len() < n as usize {
                slots.push(a::RESULT_SLOT_HI.get(w));
            }
        }
        Ok(slots)
    }

    /// Returns `slot` to the free list.
    pub fn free(&self, slot: u32) -> Result<()> {
        if slot > a::OP_SLOT.mask() {
            return Err(DriverError::AllocRejected {
                device: self.device(),
                op: format!("free of slot {slot}"),
                status: status::OUT_OF_RANGE,
                reason: status::name(status::OUT_OF_RANGE),
            });
        }
        self.op(
            a::OP_SLOT.set(a::OP_FREE.set(0, 1), slot),
            &format!("free of slot {slot}"),
        )?;
        Ok(())
    }

    /// Counters and state.
    pub fn stats(&self) -> Result<AllocStats> {
        let r = |reg| self.regs.read(reg);
        let caps = r(a::CAPS)?;
        Ok(AllocStats {
            ready: a::STATUS_READY.get(r(a::STATUS)?) == 1,
            max_slots: a::CAPS_MAX_SLOTS.get(caps),
            max_count: a::CAPS_MAX_COUNT.get(caps),
            slots: r(a::ACTIVE_SLOTS)?,
            free: r(a::FREE_COUNT)?,
            allocated: r(a::ALLOC_COUNT)?,
            high_water: r(a::HIGH_WATER)?,
            errors: r(a::ERRORS)?,
            double_free: r(a::DOUBLE_FREE_COUNT)?,
            never_allocated: r(a::NEVER_ALLOCATED_COUNT)?,
            out_of_range: r(a::OUT_OF_RANGE_COUNT)?,
            not_ready: r(a::NOT_READY_COUNT)?,
            bad_count: r(a::BAD_COUNT_COUNT)?,
            no_space: r(a::NO_SPACE_COUNT)?,
            allocs: r(a::ALLOC_OPS)?,
            frees: r(a::FREE_OPS)?,
        })
    }

    /// Clears the sticky error bits; returns the ones that were set.
    pub fn clear_errors(&self) -> Result<u32> {
        let e = self.regs.read(a::ERRORS)?;
        self.regs.write(a::ERRORS, e)?;
        Ok(e)
    }

    /// Zeroes the counters.
    pub fn clear_counters(&self) -> Result<()> {
        self.regs.write(a::CLEAR, 1)
    }
}
