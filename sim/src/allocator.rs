//! A stand-alone Verilated mirror-slot allocator, clocked cycle by cycle.
//!
//! The card contains the same block; testing it alone lets a test drive both
//! requesters (the DMA port and the register port) every cycle and compare
//! each response with the reference model, far faster than through BAR0.
//!
//! Cycle semantics are those of [`crate::model::CardModel`]: inputs are set,
//! the model is evaluated with the clock low, outputs are sampled, then the
//! clock rises. A request is taken in a cycle where `valid` and the sampled
//! `ready` are both high; its response is sampled two cycles later.

use crate::model::{Pins, Slot};
use crate::ports::{alloc32, alloc65536};
use crate::{Result, SimError};
use duplex_regs::slot_alloc as a;
use duplex_regs::Reg;

/// Slot counts of the stand-alone allocator builds.
pub const BUILT_SIZES: &[u32] = &[32, 65_536];

type NewFn = unsafe extern "C" fn() -> *mut core::ffi::c_void;
type FreeFn = unsafe extern "C" fn(*mut core::ffi::c_void);
type CycleFn = unsafe extern "C" fn(*mut core::ffi::c_void, *const u32, *mut u32);

struct Ports {
    reset: Slot,
    wr_en: Slot,
    wr_word: Slot,
    wr_data: Slot,
    rd_word: Slot,
    req_valid: Slot,
    req_free: Slot,
    req_count: Slot,
    req_slot: Slot,
    rd_data: Slot,
    rd_hit: Slot,
    req_ready: Slot,
    rsp_valid: Slot,
    rsp_status: Slot,
    rsp_count: Slot,
    rsp_slots: Slot,
    error_event: Slot,
}

macro_rules! ports_of {
    ($m:ident, $new:ident, $free:ident, $cycle:ident) => {
        (
            Ports {
                reset: $m::input::RESET,
                wr_en: $m::input::REGS_WR_EN,
                wr_word: $m::input::REGS_WR_WORD,
                wr_data: $m::input::REGS_WR_DATA,
                rd_word: $m::input::REGS_RD_WORD,
                req_valid: $m::input::DMA_REQ_VALID,
                req_free: $m::input::DMA_REQ_FREE,
                req_count: $m::input::DMA_REQ_COUNT,
                req_slot: $m::input::DMA_REQ_SLOT,
                rd_data: $m::output::REGS_RD_DATA,
                rd_hit: $m::output::REGS_RD_HIT,
                req_ready: $m::output::DMA_REQ_READY,
                rsp_valid: $m::output::DMA_RSP_VALID,
                rsp_status: $m::output::DMA_RSP_STATUS,
                rsp_count: $m::output::DMA_RSP_COUNT,
                rsp_slots: $m::output::DMA_RSP_SLOTS,
                error_event: $m::output::ERROR_EVENT,
            },
            $m::IN_WORDS,
            $m::OUT_WORDS,
            $m::$new as NewFn,
            ($m::$free as FreeFn, $m::$cycle as CycleFn),
        )
    };
}

/// A request on the DMA-engine port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaRequest {
    Alloc { count: u32 },
    Free { slot: u32 },
}

/// A response on the DMA-engine port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmaResponse {
    pub status: u32,
    pub slots: Vec<u32>,
}

/// What one cycle showed.
#[derive(Clone, Debug, Default)]
pub struct AllocCycle {
    /// The DMA request presented this cycle was taken.
    pub taken: bool,
    /// The response of the DMA request taken two cycles earlier.
    pub response: Option<DmaResponse>,
    pub error_event: bool,
    /// Register read of the word set with [`AllocatorSim::set_read`].
    pub rd_data: u32,
    pub rd_hit: bool,
}

/// One Verilated allocator. Not `Send`: the creating thread evaluates it.
pub struct AllocatorSim {
    handle: *mut core::ffi::c_void,
    free_fn: FreeFn,
    cycle_fn: CycleFn,
    p: Ports,
    inputs: Pins,
    outputs: Pins,
    max_slots: u32,
    cycles: u64,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl AllocatorSim {
    /// A freshly reset allocator of `max_slots` slots (one of [`BUILT_SIZES`]).
    pub fn new(max_slots: u32) -> Result<Self> {
        let (p, inw, outw, new_fn, (free_fn, cycle_fn)) = match max_slots {
            32 => ports_of!(alloc32, alloc32_new, alloc32_free, alloc32_cycle),
            65_536 => ports_of!(
                alloc65536,
                alloc65536_new,
                alloc65536_free,
                alloc65536_cycle
            ),
            n => return Err(SimError::NoAllocatorModel(n)),
        };
        // SAFETY: the generated constructor allocates a fresh model and
        // returns an owned handle, released exactly once in Drop.
        let handle = unsafe { new_fn() };
        let mut s = Self {
            handle,
            free_fn,
            cycle_fn,
            p,
            inputs: Pins::new(inw),
            outputs: Pins::new(outw),
            max_slots,
            cycles: 0,
            _not_send: std::marker::PhantomData,
        };
        s.reset();
        Ok(s)
    }

    pub fn max_slots(&self) -> u32 {
        self.max_slots
    }

    /// Cycles clocked so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Holds the reset input for two cycles.
    pub fn reset(&mut self) {
        self.inputs.set_bit(self.p.reset, true);
        self.set_request(None);
        self.cycle();
        self.cycle();
        self.inputs.set_bit(self.p.reset, false);
    }

    /// The DMA request presented from the next cycle on (held until changed).
    pub fn set_request(&mut self, req: Option<DmaRequest>) {
        let p = &self.p;
        match req {
            None => self.inputs.set_bit(p.req_valid, false),
            Some(DmaRequest::Alloc { count }) => {
                self.inputs.set_bit(p.req_valid, true);
                self.inputs.set_bit(p.req_free, false);
                self.inputs.set(p.req_count, u64::from(count & 0x1F));
                self.inputs.set(p.req_slot, 0);
            }
            Some(DmaRequest::Free { slot }) => {
                self.inputs.set_bit(p.req_valid, true);
                self.inputs.set_bit(p.req_free, true);
                self.inputs.set(p.req_count, 0);
                self.inputs.set(p.req_slot, u64::from(slot & 0xFFFF));
            }
        }
    }

    /// A register write performed in the next cycle only.
    pub fn write_reg(&mut self, reg: Reg, value: u32) {
        self.inputs.set_bit(self.p.wr_en, true);
        self.inputs.set(self.p.wr_word, u64::from(reg.word()));
        self.inputs.set(self.p.wr_data, u64::from(value));
    }

    /// The register word read out (combinationally) from the next cycle on.
    pub fn set_read(&mut self, reg: Reg) {
        self.inputs.set(self.p.rd_word, u64::from(reg.word()));
    }

    /// One clock cycle.
    pub fn cycle(&mut self) -> AllocCycle {
        // SAFETY: the handle is live; `inputs`/`outputs` have exactly the word
        // counts the generated shim reads and writes.
        unsafe {
            (self.cycle_fn)(
                self.handle,
                self.inputs.words.as_ptr(),
                self.outputs.words.as_mut_ptr(),
            )
        };
        self.cycles += 1;
        self.inputs.set_bit(self.p.wr_en, false);
        let o = &self.outputs;
        let p = &self.p;
        let taken = self.inputs.bit(p.req_valid) && o.bit(p.req_ready);
        let response = o.bit(p.rsp_valid).then(|| {
            let count = o.get(p.rsp_count) as usize;
            let bytes = o.bytes(p.rsp_slots);
            DmaResponse {
                status: o.get(p.rsp_status) as u32,
                slots: (0..count)
                    .map(|j| u32::from(u16::from_le_bytes([bytes[2 * j], bytes[2 * j + 1]])))
                    .collect(),
            }
        });
        AllocCycle {
            taken,
            response,
            error_event: o.bit(p.error_event),
            rd_data: o.get(p.rd_data) as u32,
            rd_hit: o.bit(p.rd_hit),
        }
    }

    /// Reads a register, spending one cycle with no DMA request.
    pub fn read_reg(&mut self, reg: Reg) -> u32 {
        let held = self.inputs.bit(self.p.req_valid);
        self.inputs.set_bit(self.p.req_valid, false);
        self.set_read(reg);
        let v = self.cycle().rd_data;
        self.inputs.set_bit(self.p.req_valid, held);
        v
    }

    /// Programs N and runs init (with FORCE if asked) until READY; returns
    /// the cycles init took, or the refusal recorded in ERRORS.
    pub fn init(&mut self, n: u32, force: bool) -> Result<u64> {
        self.write_reg(a::SLOTS, n);
        self.cycle();
        let ctrl = a::CTRL_INIT.set(0, 1) | a::CTRL_FORCE.set(0, u32::from(force));
        self.write_reg(a::CTRL, ctrl);
        self.cycle();
        let start = self.cycles;
        let limit = u64::from(self.max_slots) / 16 + 16;
        loop {
            let st = self.read_reg(a::STATUS);
            if a::STATUS_READY.get(st) == 1 {
                return Ok(self.cycles - start);
            }
            if a::STATUS_INIT_BUSY.get(st) == 0 || self.cycles - start > limit {
                return Err(SimError::AllocatorInitTimeout {
                    cycles: self.cycles - start,
                });
            }
        }
    }
}

impl Drop for AllocatorSim {
    fn drop(&mut self) {
        // SAFETY: the handle came from the matching constructor and is freed
        // only here.
        unsafe { (self.free_fn)(self.handle) }
    }
}
