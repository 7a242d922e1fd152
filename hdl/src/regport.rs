//! The register-access port every BAR0 block exposes to the card's BAR front
//! end, and the TYPE/VERSION/NEXT header every block answers.
//!
//! ```text
//!            wr_en, wr_word, wr_data ──►┌────────┐──► wr_hit  (word is decoded)
//!   BAR front end                       │ block  │
//!            rd_word ──────────────────►└────────┘──► rd_data, rd_hit
//! ```
//!
//! Writes are presented in the cycle the request arrives; reads are presented
//! one cycle later from the front end's latched address, so `rd_*` and `wr_*`
//! may name different words in the same cycle. Both decodes are combinational.

use rust_hdl::prelude::*;

/// Width of a word index inside a block (BAR0 offset bits 7:2).
pub const WORD_BITS: usize = 6;

#[derive(LogicInterface, Default)]
pub struct RegPort {
    // Write interface
    pub wr_en: Signal<In, Bit>,
    pub wr_word: Signal<In, Bits<WORD_BITS>>,
    pub wr_data: Signal<In, Bits<32>>,
    pub wr_hit: Signal<Out, Bit>,
    // Read interface
    pub rd_word: Signal<In, Bits<WORD_BITS>>,
    pub rd_data: Signal<Out, Bits<32>>,
    pub rd_hit: Signal<Out, Bit>,
}

/// Word index of a register declared in `duplex-regs`, as a hardware constant.
pub fn word(reg: duplex_regs::Reg) -> Constant<Bits<WORD_BITS>> {
    Constant::new((reg.word() as u64).to_bits())
}

/// A 32-bit hardware constant.
pub fn c32(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).to_bits())
}

/// Answers reads of a block's TYPE (word 0), VERSION (1) and NEXT (2).
#[derive(LogicBlock)]
pub struct BlockHeader {
    pub rd_word: Signal<In, Bits<WORD_BITS>>,
    pub rd_data: Signal<Out, Bits<32>>,
    pub rd_hit: Signal<Out, Bit>,
    type_id: Constant<Bits<32>>,
    version: Constant<Bits<32>>,
    next: Constant<Bits<32>>,
}

impl BlockHeader {
    pub fn new(block: &duplex_regs::Block) -> Self {
        Self {
            rd_word: Default::default(),
            rd_data: Default::default(),
            rd_hit: Default::default(),
            type_id: c32(block.type_id),
            version: c32(block.version),
            next: c32(block.next),
        }
    }
}

impl Logic for BlockHeader {
    #[hdl_gen]
    fn update(&mut self) {
        self.rd_hit.next = true;
        self.rd_data.next = 0.into();
        if self.rd_word.val() == 0 {
            self.rd_data.next = self.type_id.val();
        } else if self.rd_word.val() == 1 {
            self.rd_data.next = self.version.val();
        } else if self.rd_word.val() == 2 {
            self.rd_data.next = self.next.val();
        } else {
            self.rd_hit.next = false;
        }
    }
}
