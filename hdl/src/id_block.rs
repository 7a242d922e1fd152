//! ID block: identification and build parameters (all read-only).
//!
//! ```text
//!   rd_word ──► constant table ──► rd_data / rd_hit
//!   wr_word ──► decode ──────────► wr_hit (writes are ignored)
//! ```

use crate::regport::{c32, word, RegPort, WORD_BITS};
use duplex_regs::{id, params};
use rust_hdl::prelude::*;

/// Build parameters the ID block reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdConfig {
    pub data_width_bits: u32,
    pub slot_size: u32,
    pub max_slots: u32,
    pub max_pages: u32,
}

#[derive(LogicBlock)]
pub struct IdBlock {
    pub regs: RegPort,
    w_design: Constant<Bits<WORD_BITS>>,
    w_hw_version: Constant<Bits<WORD_BITS>>,
    w_data_width: Constant<Bits<WORD_BITS>>,
    w_slot_size: Constant<Bits<WORD_BITS>>,
    w_max_slots: Constant<Bits<WORD_BITS>>,
    w_max_pages: Constant<Bits<WORD_BITS>>,
    w_scratchpads: Constant<Bits<WORD_BITS>>,
    v_design: Constant<Bits<32>>,
    v_hw_version: Constant<Bits<32>>,
    v_data_width: Constant<Bits<32>>,
    v_slot_size: Constant<Bits<32>>,
    v_max_slots: Constant<Bits<32>>,
    v_max_pages: Constant<Bits<32>>,
    v_scratchpads: Constant<Bits<32>>,
}

impl IdBlock {
    pub fn new(cfg: IdConfig) -> Self {
        Self {
            regs: Default::default(),
            w_design: word(id::DESIGN_ID),
            w_hw_version: word(id::HW_VERSION),
            w_data_width: word(id::DATA_WIDTH),
            w_slot_size: word(id::SLOT_SIZE),
            w_max_slots: word(id::MAX_SLOTS),
            w_max_pages: word(id::MAX_PAGES),
            w_scratchpads: word(id::SCRATCHPADS),
            v_design: c32(params::DESIGN_ID),
            v_hw_version: c32(params::HW_VERSION),
            v_data_width: c32(cfg.data_width_bits),
            v_slot_size: c32(cfg.slot_size),
            v_max_slots: c32(cfg.max_slots),
            v_max_pages: c32(cfg.max_pages),
            v_scratchpads: c32(params::SCRATCHPADS),
        }
    }
}

impl Logic for IdBlock {
    #[hdl_gen]
    fn update(&mut self) {
        self.regs.rd_hit.next = true;
        self.regs.rd_data.next = 0.into();
        if self.regs.rd_word.val() == self.w_design.val() {
            self.regs.rd_data.next = self.v_design.val();
        } else if self.regs.rd_word.val() == self.w_hw_version.val() {
            self.regs.rd_data.next = self.v_hw_version.val();
        } else if self.regs.rd_word.val() == self.w_data_width.val() {
            self.regs.rd_data.next = self.v_data_width.val();
        } else if self.regs.rd_word.val() == self.w_slot_size.val() {
            self.regs.rd_data.next = self.v_slot_size.val();
        } else if self.regs.rd_word.val() == self.w_max_slots.val() {
            self.regs.rd_data.next = self.v_max_slots.val();
        } else if self.regs.rd_word.val() == self.w_max_pages.val() {
            self.regs.rd_data.next = self.v_max_pages.val();
        } else if self.regs.rd_word.val() == self.w_scratchpads.val() {
            self.regs.rd_data.next = self.v_scratchpads.val();
        } else {
            self.regs.rd_hit.next = false;
        }
        // Every ID register is read-only: a write is decoded (so it is not
        // counted as unmapped) and has no effect.
        self.regs.wr_hit.next = (self.regs.wr_word.val() >= self.w_design.val())
            && (self.regs.wr_word.val() <= self.w_scratchpads.val());
    }
}
