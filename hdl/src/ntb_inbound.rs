//! Inbound side of the NTB (the WIN block): what the partner card sends
//! besides scratchpads and doorbells.
//!
//! ```text
//!   rx WRITE / WRITE_ACK ──► window check ──► host write ──► (ACK to the partner)
//!   rx READ_REQ ──────────► window check ──► host read ───► READ_DATA / READ_ERR
//!   rx ACK, READ_DATA, READ_ERR ──────────────────────────► the local DMA engine
//! ```
//!
//! Only two regions of local memory are reachable: the mirror area kept for
//! the partner (window offsets `0..MIRROR_SIZE`) and the metadata ring
//! (`META_WINDOW..META_WINDOW+META_SIZE`). A beat that is misaligned, crosses
//! the end of its region, or falls outside both is refused: counted, its
//! offset latched in LAST_BAD, ERRORS.REFUSED set, and nothing is written.
//! A refused WRITE_ACK is still answered (with the refusal bit) and a refused
//! read with READ_ERR, so the partner's engine never waits for an answer that
//! cannot come.

use crate::regport::{word, RegPort, WORD_BITS};
use duplex_regs::dma::{self as d, win};
use rust_hdl::prelude::*;

// Link kinds, as literals (see the assertion).
const _: () = assert!(
    d::link::WRITE == 3
        && d::link::WRITE_ACK == 4
        && d::link::ACK == 5
        && d::link::READ_REQ == 6
        && d::link::READ_DATA == 7
        && d::link::READ_ERR == 8
);

#[derive(LogicBlock)]
pub struct NtbInbound<const W: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub regs: RegPort,
    // From the link (everything but scratchpads and doorbells)
    pub rx_valid: Signal<In, Bit>,
    pub rx_ready: Signal<Out, Bit>,
    pub rx_kind: Signal<In, Bits<4>>,
    pub rx_addr: Signal<In, Bits<64>>,
    pub rx_data: Signal<In, Bits<W>>,
    pub rx_last: Signal<In, Bit>,
    // Host memory
    pub wr_valid: Signal<Out, Bit>,
    pub wr_ready: Signal<In, Bit>,
    pub wr_addr: Signal<Out, Bits<64>>,
    pub wr_data: Signal<Out, Bits<W>>,
    pub rd_req_valid: Signal<Out, Bit>,
    pub rd_req_ready: Signal<In, Bit>,
    pub rd_req_addr: Signal<Out, Bits<64>>,
    pub rd_req_len: Signal<Out, Bits<16>>,
    pub rd_rsp_valid: Signal<In, Bit>,
    pub rd_rsp_ready: Signal<Out, Bit>,
    pub rd_rsp_data: Signal<In, Bits<W>>,
    pub rd_rsp_last: Signal<In, Bit>,
    pub rd_rsp_err: Signal<In, Bit>,
    // Answers to the partner
    pub tx_valid: Signal<Out, Bit>,
    pub tx_ready: Signal<In, Bit>,
    pub tx_kind: Signal<Out, Bits<4>>,
    pub tx_addr: Signal<Out, Bits<64>>,
    pub tx_data: Signal<Out, Bits<W>>,
    pub tx_last: Signal<Out, Bit>,
    // To the local DMA engine
    pub ack_valid: Signal<Out, Bit>,
    pub ack_refused: Signal<Out, Bit>,
    pub rdata_valid: Signal<Out, Bit>,
    pub rdata_ready: Signal<In, Bit>,
    pub rdata_data: Signal<Out, Bits<W>>,
    pub rdata_last: Signal<Out, Bit>,
    pub rdata_err: Signal<Out, Bit>,
    pub error_event: Signal<Out, Bit>,

    mbase_lo: DFF<Bits<32>>,
    mbase_hi: DFF<Bits<32>>,
    msize_lo: DFF<Bits<32>>,
    msize_hi: DFF<Bits<32>>,
    rbase_lo: DFF<Bits<32>>,
    rbase_hi: DFF<Bits<32>>,
    rsize: DFF<Bits<32>>,
    cnt_writes: DFF<Bits<32>>,
    cnt_reads: DFF<Bits<32>>,
    cnt_dropped: DFF<Bits<32>>,
    bad_lo: DFF<Bits<32>>,
    bad_hi: DFF<Bits<32>>,
    errors: DFF<Bit>,
    ack_pend: DFF<Bit>,
    ack_ref: DFF<Bit>,
    rerr_pend: DFF<Bit>,
    rerr_tag: DFF<Bits<16>>,
    rd_busy: DFF<Bit>,
    rd_tag: DFF<Bits<16>>,
    // Window arithmetic
    mbase: Signal<Local, Bits<64>>,
    msize: Signal<Local, Bits<64>>,
    rbase: Signal<Local, Bits<64>>,
    roff: Signal<Local, Bits<64>>,
    len: Signal<Local, Bits<64>>,
    in_mirror: Signal<Local, Bit>,
    in_meta: Signal<Local, Bit>,
    aligned: Signal<Local, Bit>,
    ok: Signal<Local, Bit>,
    xlat: Signal<Local, Bits<64>>,
    take: Signal<Local, Bit>,
    refuse: Signal<Local, Bit>,
    k_beat: Constant<Bits<64>>,
    k_window: Constant<Bits<64>>,
    w_mbase_lo: Constant<Bits<WORD_BITS>>,
    w_mbase_hi: Constant<Bits<WORD_BITS>>,
    w_msize_lo: Constant<Bits<WORD_BITS>>,
    w_msize_hi: Constant<Bits<WORD_BITS>>,
    w_rbase_lo: Constant<Bits<WORD_BITS>>,
    w_rbase_hi: Constant<Bits<WORD_BITS>>,
    w_rsize: Constant<Bits<WORD_BITS>>,
    w_writes: Constant<Bits<WORD_BITS>>,
    w_reads: Constant<Bits<WORD_BITS>>,
    w_dropped: Constant<Bits<WORD_BITS>>,
    w_bad_lo: Constant<Bits<WORD_BITS>>,
    w_bad_hi: Constant<Bits<WORD_BITS>>,
    w_errors: Constant<Bits<WORD_BITS>>,
    w_clear: Constant<Bits<WORD_BITS>>,
}

impl<const W: usize> Default for NtbInbound<W> {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            regs: Default::default(),
            rx_valid: Default::default(),
            rx_ready: Default::default(),
            rx_kind: Default::default(),
            rx_addr: Default::default(),
            rx_data: Default::default(),
            rx_last: Default::default(),
            wr_valid: Default::default(),
            wr_ready: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            rd_req_valid: Default::default(),
            rd_req_ready: Default::default(),
            rd_req_addr: Default::default(),
            rd_req_len: Default::default(),
            rd_rsp_valid: Default::default(),
            rd_rsp_ready: Default::default(),
            rd_rsp_data: Default::default(),
            rd_rsp_last: Default::default(),
            rd_rsp_err: Default::default(),
            tx_valid: Default::default(),
            tx_ready: Default::default(),
            tx_kind: Default::default(),
            tx_addr: Default::default(),
            tx_data: Default::default(),
            tx_last: Default::default(),
            ack_valid: Default::default(),
            ack_refused: Default::default(),
            rdata_valid: Default::default(),
            rdata_ready: Default::default(),
            rdata_data: Default::default(),
            rdata_last: Default::default(),
            rdata_err: Default::default(),
            error_event: Default::default(),
            mbase_lo: Default::default(),
            mbase_hi: Default::default(),
            msize_lo: Default::default(),
            msize_hi: Default::default(),
            rbase_lo: Default::default(),
            rbase_hi: Default::default(),
            rsize: Default::default(),
            cnt_writes: Default::default(),
            cnt_reads: Default::default(),
            cnt_dropped: Default::default(),
            bad_lo: Default::default(),
            bad_hi: Default::default(),
            errors: Default::default(),
            ack_pend: Default::default(),
            ack_ref: Default::default(),
            rerr_pend: Default::default(),
            rerr_tag: Default::default(),
            rd_busy: Default::default(),
            rd_tag: Default::default(),
            mbase: Default::default(),
            msize: Default::default(),
            rbase: Default::default(),
            roff: Default::default(),
            len: Default::default(),
            in_mirror: Default::default(),
            in_meta: Default::default(),
            aligned: Default::default(),
            ok: Default::default(),
            xlat: Default::default(),
            take: Default::default(),
            refuse: Default::default(),
            k_beat: Constant::new(((W / 8) as u64).to_bits()),
            k_window: Constant::new(d::link::META_WINDOW.to_bits()),
            w_mbase_lo: word(win::MIRROR_BASE_LO),
            w_mbase_hi: word(win::MIRROR_BASE_HI),
            w_msize_lo: word(win::MIRROR_SIZE_LO),
            w_msize_hi: word(win::MIRROR_SIZE_HI),
            w_rbase_lo: word(win::META_BASE_LO),
            w_rbase_hi: word(win::META_BASE_HI),
            w_rsize: word(win::META_SIZE),
            w_writes: word(win::WRITES),
            w_reads: word(win::READS),
            w_dropped: word(win::DROPPED),
            w_bad_lo: word(win::LAST_BAD_LO),
            w_bad_hi: word(win::LAST_BAD_HI),
            w_errors: word(win::ERRORS),
            w_clear: word(win::CLEAR),
        }
    }
}

impl<const W: usize> Logic for NtbInbound<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            mbase_lo,
            mbase_hi,
            msize_lo,
            msize_hi,
            rbase_lo,
            rbase_hi,
            rsize,
            cnt_writes,
            cnt_reads,
            cnt_dropped,
            bad_lo,
            bad_hi,
            errors,
            ack_pend,
            ack_ref,
            rerr_pend,
            rerr_tag,
            rd_busy,
            rd_tag
        );
        self.mbase.next = (bit_cast::<64, 32>(self.mbase_hi.q.val()) << 32)
            | bit_cast::<64, 32>(self.mbase_lo.q.val());
        self.msize.next = (bit_cast::<64, 32>(self.msize_hi.q.val()) << 32)
            | bit_cast::<64, 32>(self.msize_lo.q.val());
        self.rbase.next = (bit_cast::<64, 32>(self.rbase_hi.q.val()) << 32)
            | bit_cast::<64, 32>(self.rbase_lo.q.val());
        self.roff.next = self.rx_addr.val() - self.k_window.val();

        // The bytes the access covers: a beat, or a read's length.
        self.len.next = self.k_beat.val();
        if self.rx_kind.val() == 6 {
            self.len.next = bit_cast::<64, 32>(self.rx_data.val().get_bits::<32>(0));
        }
        self.aligned.next =
            !(self.rx_addr.val() & (self.k_beat.val() - 1)).any() && self.len.val().any();
        self.in_mirror.next = (self.rx_addr.val() < self.msize.val())
            && (self.len.val() <= (self.msize.val() - self.rx_addr.val()));
        self.in_meta.next = (self.rx_addr.val() >= self.k_window.val())
            && (self.roff.val() < bit_cast::<64, 32>(self.rsize.q.val()))
            && (self.len.val() <= (bit_cast::<64, 32>(self.rsize.q.val()) - self.roff.val()));
        self.ok.next = self.aligned.val() && (self.in_mirror.val() || self.in_meta.val());
        self.xlat.next = self.rbase.val() + self.roff.val();
        if self.in_mirror.val() {
            self.xlat.next = self.mbase.val() + self.rx_addr.val();
        }

        // Defaults.
        self.rx_ready.next = false;
        self.wr_valid.next = false;
        self.wr_addr.next = self.xlat.val();
        self.wr_data.next = self.rx_data.val();
        self.rd_req_valid.next = false;
        self.rd_req_addr.next = self.xlat.val();
        self.rd_req_len.next = self.len.val().get_bits::<16>(0);
        self.ack_valid.next = false;
        self.ack_refused.next = self.rx_data.val().get_bit(0);
        self.rdata_valid.next = false;
        self.rdata_data.next = self.rx_data.val();
        self.rdata_last.next = self.rx_last.val() || (self.rx_kind.val() == 8);
        self.rdata_err.next = self.rx_kind.val() == 8;
        self.take.next = false;
        self.refuse.next = false;
        self.error_event.next = false;

        if self.rx_valid.val() {
            if (self.rx_kind.val() == 3) || (self.rx_kind.val() == 4) {
                // A write; an acknowledged one waits for the previous answer.
                if (self.rx_kind.val() == 3) || !self.ack_pend.q.val() {
                    if self.ok.val() {
                        self.wr_valid.next = true;
                        self.rx_ready.next = self.wr_ready.val();
                        self.take.next = self.wr_ready.val();
                    } else {
                        self.rx_ready.next = true;
                        self.refuse.next = true;
                    }
                    if self.rx_ready.val() && (self.rx_kind.val() == 4) {
                        self.ack_pend.d.next = true;
                        self.ack_ref.d.next = !self.ok.val();
                    }
                }
            } else if self.rx_kind.val() == 6 {
                // A read: one at a time.
                if !self.rd_busy.q.val() && !self.rerr_pend.q.val() {
                    if self.ok.val() {
                        self.rd_req_valid.next = true;
                        self.rx_ready.next = self.rd_req_ready.val();
                        if self.rd_req_ready.val() {
                            self.rd_busy.d.next = true;
                            self.rd_tag.d.next = self.rx_data.val().get_bits::<16>(32);
                            if self.cnt_reads.q.val() != 0xFFFF_FFFF_u64 {
                                self.cnt_reads.d.next = self.cnt_reads.q.val() + 1;
                            }
                        }
                    } else {
                        self.rx_ready.next = true;
                        self.refuse.next = true;
                        self.rerr_pend.d.next = true;
                        self.rerr_tag.d.next = self.rx_data.val().get_bits::<16>(32);
                    }
                }
            } else if self.rx_kind.val() == 5 {
                self.ack_valid.next = true;
                self.rx_ready.next = true;
            } else if (self.rx_kind.val() == 7) || (self.rx_kind.val() == 8) {
                self.rdata_valid.next = true;
                self.rx_ready.next = self.rdata_ready.val();
            } else {
                // Not a kind this card knows.
                self.rx_ready.next = true;
                self.refuse.next = true;
            }
        }
        if self.take.val() && (self.cnt_writes.q.val() != 0xFFFF_FFFF_u64) {
            self.cnt_writes.d.next = self.cnt_writes.q.val() + 1;
        }
        if self.refuse.val() {
            if self.cnt_dropped.q.val() != 0xFFFF_FFFF_u64 {
                self.cnt_dropped.d.next = self.cnt_dropped.q.val() + 1;
            }
            self.bad_lo.d.next = self.rx_addr.val().get_bits::<32>(0);
            self.bad_hi.d.next = self.rx_addr.val().get_bits::<32>(32);
            self.errors.d.next = true;
            self.error_event.next = true;
        }

        // Answers: acknowledgements first, then refusals, then read data.
        self.tx_valid.next = false;
        self.tx_kind.next = 5.into();
        self.tx_addr.next = 0.into();
        self.tx_data.next = bit_cast::<W, 1>(self.ack_ref.q.val().into());
        self.tx_last.next = true;
        self.rd_rsp_ready.next = false;
        if self.ack_pend.q.val() {
            self.tx_valid.next = true;
            if self.tx_ready.val() {
                self.ack_pend.d.next = false;
            }
        } else if self.rerr_pend.q.val() {
            self.tx_valid.next = true;
            self.tx_kind.next = 8.into();
            self.tx_addr.next = bit_cast::<64, 16>(self.rerr_tag.q.val());
            self.tx_data.next = 0.into();
            if self.tx_ready.val() {
                self.rerr_pend.d.next = false;
            }
        } else if self.rd_busy.q.val() && self.rd_rsp_valid.val() {
            self.tx_valid.next = true;
            self.tx_kind.next = 7.into();
            self.tx_addr.next = bit_cast::<64, 16>(self.rd_tag.q.val());
            self.tx_data.next = self.rd_rsp_data.val();
            self.tx_last.next = self.rd_rsp_last.val();
            if self.rd_rsp_err.val() {
                self.tx_kind.next = 8.into();
                self.tx_data.next = 0.into();
                self.tx_last.next = true;
            }
            self.rd_rsp_ready.next = self.tx_ready.val();
            if self.tx_ready.val() && (self.rd_rsp_last.val() || self.rd_rsp_err.val()) {
                self.rd_busy.d.next = false;
            }
        }

        // Registers.
        if self.regs.wr_en.val() {
            if self.regs.wr_word.val() == self.w_mbase_lo.val() {
                self.mbase_lo.d.next = self.regs.wr_data.val() & 0xFFFF_FFC0_u64;
            }
            if self.regs.wr_word.val() == self.w_mbase_hi.val() {
                self.mbase_hi.d.next = self.regs.wr_data.val();
            }
            if self.regs.wr_word.val() == self.w_msize_lo.val() {
                self.msize_lo.d.next = self.regs.wr_data.val() & 0xFFFF_FFC0_u64;
            }
            if self.regs.wr_word.val() == self.w_msize_hi.val() {
                self.msize_hi.d.next = self.regs.wr_data.val();
            }
            if self.regs.wr_word.val() == self.w_rbase_lo.val() {
                self.rbase_lo.d.next = self.regs.wr_data.val() & 0xFFFF_FFC0_u64;
            }
            if self.regs.wr_word.val() == self.w_rbase_hi.val() {
                self.rbase_hi.d.next = self.regs.wr_data.val();
            }
            if self.regs.wr_word.val() == self.w_rsize.val() {
                self.rsize.d.next = self.regs.wr_data.val() & 0xFFFF_FFC0_u64;
            }
            if (self.regs.wr_word.val() == self.w_errors.val())
                && self.regs.wr_data.val().get_bit(0)
                && !self.refuse.val()
            {
                self.errors.d.next = false;
            }
            if (self.regs.wr_word.val() == self.w_clear.val()) && self.regs.wr_data.val().get_bit(0)
            {
                self.cnt_writes.d.next = 0.into();
                self.cnt_reads.d.next = 0.into();
                self.cnt_dropped.d.next = 0.into();
            }
        }
        if self.reset.val() {
            self.mbase_lo.d.next = 0.into();
            self.mbase_hi.d.next = 0.into();
            self.msize_lo.d.next = 0.into();
            self.msize_hi.d.next = 0.into();
            self.rbase_lo.d.next = 0.into();
            self.rbase_hi.d.next = 0.into();
            self.rsize.d.next = 0.into();
            self.cnt_writes.d.next = 0.into();
            self.cnt_reads.d.next = 0.into();
            self.cnt_dropped.d.next = 0.into();
            self.bad_lo.d.next = 0.into();
            self.bad_hi.d.next = 0.into();
            self.errors.d.next = false;
            self.ack_pend.d.next = false;
            self.rerr_pend.d.next = false;
            self.rd_busy.d.next = false;
        }

        self.regs.rd_hit.next = true;
        self.regs.rd_data.next = 0.into();
        if self.regs.rd_word.val() == self.w_mbase_lo.val() {
            self.regs.rd_data.next = self.mbase_lo.q.val();
        } else if self.regs.rd_word.val() == self.w_mbase_hi.val() {
            self.regs.rd_data.next = self.mbase_hi.q.val();
        } else if self.regs.rd_word.val() == self.w_msize_lo.val() {
            self.regs.rd_data.next = self.msize_lo.q.val();
        } else if self.regs.rd_word.val() == self.w_msize_hi.val() {
            self.regs.rd_data.next = self.msize_hi.q.val();
        } else if self.regs.rd_word.val() == self.w_rbase_lo.val() {
            self.regs.rd_data.next = self.rbase_lo.q.val();
        } else if self.regs.rd_word.val() == self.w_rbase_hi.val() {
            self.regs.rd_data.next = self.rbase_hi.q.val();
        } else if self.regs.rd_word.val() == self.w_rsize.val() {
            self.regs.rd_data.next = self.rsize.q.val();
        } else if self.regs.rd_word.val() == self.w_writes.val() {
            self.regs.rd_data.next = self.cnt_writes.q.val();
        } else if self.regs.rd_word.val() == self.w_reads.val() {
            self.regs.rd_data.next = self.cnt_reads.q.val();
        } else if self.regs.rd_word.val() == self.w_dropped.val() {
            self.regs.rd_data.next = self.cnt_dropped.q.val();
        } else if self.regs.rd_word.val() == self.w_bad_lo.val() {
            self.regs.rd_data.next = self.bad_lo.q.val();
        } else if self.regs.rd_word.val() == self.w_bad_hi.val() {
            self.regs.rd_data.next = self.bad_hi.q.val();
        } else if self.regs.rd_word.val() == self.w_errors.val() {
            self.regs.rd_data.next = bit_cast::<32, 1>(self.errors.q.val().into());
        } else if self.regs.rd_word.val() == self.w_clear.val() {
            self.regs.rd_data.next = 0.into();
        } else {
            self.regs.rd_hit.next = false;
        }
        self.regs.wr_hit.next = (self.regs.wr_word.val() >= self.w_mbase_lo.val())
            && (self.regs.wr_word.val() <= self.w_clear.val());
    }
}
