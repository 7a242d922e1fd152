//! ERR block: error counters, and the ERROR interrupt event.
//!
//! ```text
//!   unmapped_rd, unmapped_wr (pulses) ──► UNMAPPED_COUNT (+0/1/2, saturating)
//!   unmapped_rd_info / _wr_info ────────► UNMAPPED_LAST
//!   CLEAR write ────────────────────────► zero counters
//! ```

use crate::regport::{word, RegPort, WORD_BITS};
use duplex_regs::err;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct ErrBlock {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub regs: RegPort,
    // Error sources
    pub unmapped_rd: Signal<In, Bit>,
    pub unmapped_rd_info: Signal<In, Bits<32>>,
    pub unmapped_wr: Signal<In, Bit>,
    pub unmapped_wr_info: Signal<In, Bits<32>>,
    // Interrupt event
    pub error_event: Signal<Out, Bit>,
    count: DFF<Bits<32>>,
    last: DFF<Bits<32>>,
    w_count: Constant<Bits<WORD_BITS>>,
    w_last: Constant<Bits<WORD_BITS>>,
    w_clear: Constant<Bits<WORD_BITS>>,
}

impl Default for ErrBlock {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            regs: Default::default(),
            unmapped_rd: Default::default(),
            unmapped_rd_info: Default::default(),
            unmapped_wr: Default::default(),
            unmapped_wr_info: Default::default(),
            error_event: Default::default(),
            count: Default::default(),
            last: Default::default(),
            w_count: word(err::UNMAPPED_COUNT),
            w_last: word(err::UNMAPPED_LAST),
            w_clear: word(err::CLEAR),
        }
    }
}

impl Logic for ErrBlock {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, count, last);
        // Saturating add of 0, 1 or 2 events this cycle.
        if self.unmapped_rd.val() && self.unmapped_wr.val() {
            if self.count.q.val() < 0xFFFF_FFFE_u64 {
                self.count.d.next = self.count.q.val() + 2;
            } else {
                self.count.d.next = 0xFFFF_FFFF_u64.into();
            }
        } else if (self.unmapped_rd.val() || self.unmapped_wr.val())
            && (self.count.q.val() != 0xFFFF_FFFF_u64)
        {
            self.count.d.next = self.count.q.val() + 1;
        }
        if self.unmapped_rd.val() {
            self.last.d.next = self.unmapped_rd_info.val();
        }
        if self.unmapped_wr.val() {
            self.last.d.next = self.unmapped_wr_info.val();
        }
        self.error_event.next = self.unmapped_rd.val() || self.unmapped_wr.val();
        if self.regs.wr_en.val()
            && (self.regs.wr_word.val() == self.w_clear.val())
            && self.regs.wr_data.val().get_bit(0)
        {
            self.count.d.next = 0.into();
            self.last.d.next = 0.into();
        }
        if self.reset.val() {
            self.count.d.next = 0.into();
            self.last.d.next = 0.into();
        }
        self.regs.rd_hit.next = true;
        self.regs.rd_data.next = 0.into();
        if self.regs.rd_word.val() == self.w_count.val() {
            self.regs.rd_data.next = self.count.q.val();
        } else if self.regs.rd_word.val() == self.w_last.val() {
            self.regs.rd_data.next = self.last.q.val();
        } else if self.regs.rd_word.val() == self.w_clear.val() {
            self.regs.rd_data.next = 0.into();
        } else {
            self.regs.rd_hit.next = false;
        }
        self.regs.wr_hit.next = (self.regs.wr_word.val() == self.w_count.val())
            || (self.regs.wr_word.val() == self.w_last.val())
            || (self.regs.wr_word.val() == self.w_clear.val());
    }
}
