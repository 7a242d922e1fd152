//! IRQ block: interrupt causes, mask, and the card's interrupt line.
//!
//! ```text
//!   events (pulses) ──►┌─────────┐
//!   SET writes ───────►│ STATUS  │── event bits latch, W1C ─┐
//!   doorbell level ────┼─────────┼──────────────────────────┤ cause
//!                      │  MASK   │◄── RW                    ▼
//!                      └─────────┘        PENDING = cause & !MASK ──► irq
//! ```
//!
//! Only the bits declared as causes in `duplex_regs::irq` are stored; other
//! bits read as 0.

use crate::regport::{c32, word, RegPort, WORD_BITS};
use duplex_regs::irq;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct IrqBlock {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub regs: RegPort,
    // Causes
    /// Level: an unmasked doorbell is pending in the NTB block.
    pub doorbell: Signal<In, Bit>,
    /// One-cycle pulses, one bit per event cause (STATUS bit positions).
    pub events: Signal<In, Bits<32>>,
    // Interrupt line
    pub irq: Signal<Out, Bit>,
    status: DFF<Bits<32>>,
    mask: DFFWithInit<Bits<32>>,
    cause: Signal<Local, Bits<32>>,
    pending: Signal<Local, Bits<32>>,
    w_status: Constant<Bits<WORD_BITS>>,
    w_mask: Constant<Bits<WORD_BITS>>,
    w_pending: Constant<Bits<WORD_BITS>>,
    w_set: Constant<Bits<WORD_BITS>>,
    event_bits: Constant<Bits<32>>,
    cause_bits: Constant<Bits<32>>,
    mask_reset: Constant<Bits<32>>,
}

impl Default for IrqBlock {
    fn default() -> Self {
        let cause_bits = irq::EVENT_BITS | irq::DOORBELL.mask();
        Self {
            clock: Default::default(),
            reset: Default::default(),
            regs: Default::default(),
            doorbell: Default::default(),
            events: Default::default(),
            irq: Default::default(),
            status: Default::default(),
            mask: DFFWithInit::new(((irq::MASK.reset & cause_bits) as u64).to_bits()),
            cause: Default::default(),
            pending: Default::default(),
            w_status: word(irq::STATUS),
            w_mask: word(irq::MASK),
            w_pending: word(irq::PENDING),
            w_set: word(irq::SET),
            event_bits: c32(irq::EVENT_BITS),
            cause_bits: c32(cause_bits),
            mask_reset: c32(irq::MASK.reset & cause_bits),
        }
    }
}

impl Logic for IrqBlock {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, status, mask);
        // Events latch until software writes 1 to them.
        self.status.d.next = self.status.q.val() | (self.events.val() & self.event_bits.val());
        if self.regs.wr_en.val() {
            if self.regs.wr_word.val() == self.w_status.val() {
                self.status.d.next = (self.status.q.val() & !self.regs.wr_data.val())
                    | (self.events.val() & self.event_bits.val());
            }
            if self.regs.wr_word.val() == self.w_set.val() {
                self.status.d.next = self.status.q.val()
                    | ((self.regs.wr_data.val() | self.events.val()) & self.event_bits.val());
            }
            if self.regs.wr_word.val() == self.w_mask.val() {
                self.mask.d.next = self.regs.wr_data.val() & self.cause_bits.val();
            }
        }
        if self.reset.val() {
            self.status.d.next = 0.into();
            self.mask.d.next = self.mask_reset.val();
        }
        self.cause.next = self.status.q.val();
        if self.doorbell.val() {
            self.cause.next = self.status.q.val() | 1;
        }
        self.pending.next = self.cause.val() & !self.mask.q.val();
        self.irq.next = self.pending.val().any();

        self.regs.rd_hit.next = true;
        self.regs.rd_data.next = 0.into();
        if self.regs.rd_word.val() == self.w_status.val() {
            self.regs.rd_data.next = self.cause.val();
        } else if self.regs.rd_word.val() == self.w_mask.val() {
            self.regs.rd_data.next = self.mask.q.val();
        } else if self.regs.rd_word.val() == self.w_pending.val() {
            self.regs.rd_data.next = self.pending.val();
        } else if self.regs.rd_word.val() == self.w_set.val() {
            self.regs.rd_data.next = 0.into();
        } else {
            self.regs.rd_hit.next = false;
        }
        self.regs.wr_hit.next = (self.regs.wr_word.val() == self.w_status.val())
            || (self.regs.wr_word.val() == self.w_mask.val())
            || (self.regs.wr_word.val() == self.w_pending.val())
            || (self.regs.wr_word.val() == self.w_set.val());
    }
}
