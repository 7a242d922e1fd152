//! DMA copy engine (DESIGN.md ideas 3, 4, 6): descriptor ring in, completion
//! ring out, pages from host memory to the partner's mirror slots through the
//! NTB, metadata records after them, slots from the allocator's DMA port.
//!
//! ```text
//!  DESC_TAIL ─► fetcher ─► rd_req ─► host ─► rd_rsp ─► streamer ─┬─► desc FIFO ─► executor
//!                  ▲                                            ├─► tx WRITE (page beats)
//!                  └──────────── executor: check, alloc, page reads ┘   │ token per descriptor
//!  executor ─► post FIFO ─► post stage: records (WRITE … WRITE_ACK), RELEASE frees + zeroed
//!                                       headers, COPY_BACK reads, META records
//!  post stage ─► completion FIFO ─► (partner's ACK) ─► completion writer ─► wr ─► CPL ring
//! ```
//!
//! Three stages overlap so that back-to-back MIRRORs keep the link busy: the
//! fetcher keeps up to [`DESC_AHEAD`] descriptors fetched; the executor checks
//! a descriptor, takes its slots and issues its page reads (up to
//! [`READ_TAGS`] pages outstanding) and moves on; the streamer forwards read
//! data beat by beat onto the link; the post stage writes each descriptor's
//! records once its pages are out; the completion writer posts completions in
//! order once the partner acknowledged the last record. RELEASE, COPY_BACK
//! and META run alone (the executor waits for everything before them to leave
//! the post stage, and for them to leave it).
//!
//! The host memory port returns read data in request order (the PCIe
//! adapter's job), one request per page, record or descriptor.

use crate::regport::{c32, word, RegPort, WORD_BITS};
use duplex_regs::dma as d;
use duplex_regs::{flags, opcode, status};
use rust_hdl::prelude::*;

/// Descriptors the fetcher keeps fetched ahead of the executor.
pub const DESC_AHEAD: u64 = 4;
/// Page reads outstanding at once.
pub const READ_TAGS: u64 = 8;
/// Completions that may wait for the partner's acknowledgement.
pub const ACK_DEPTH: u64 = 32;
const _: () = assert!(
    d::CAPS.reset == (READ_TAGS as u32) | (16 << 8) | ((ACK_DEPTH as u32) << 16),
    "DMA.CAPS reset value must describe this build"
);

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum XState {
    Idle,
    Check,
    Alloc,
    AllocWait,
    Issue,
    Push,
    Drain,
    IssueRec,
    DrainAfter,
}
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum PState {
    Idle,
    Start,
    WaitData,
    RecLoad,
    Emit,
    Free,
    RelNext,
    CbReq,
    CbData,
    RecWait,
    Done,
}
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
enum CState {
    Idle,
    Space,
    Write,
}
// Streamer job kinds: 0 descriptor, 1 page, 2 META record. Token codes
// (streamer to post stage): 0 ok, 1 read error, 2 link down. Status and
// opcode values are written as literals below (rust-hdl cannot name Rust
// constants in generated logic); these assertions tie them to the contract.
const _: () = assert!(
    opcode::MIRROR == 1 && opcode::RELEASE == 2 && opcode::COPY_BACK == 3 && opcode::META == 4
);
const _: () = assert!(flags::SLOTS_GIVEN == 1 && flags::PAGE_LIST == 2 && flags::IRQ_NOW == 4);
const _: () = assert!(
    status::OK == 0
        && status::BAD_OPCODE == 1
        && status::BAD_LENGTH == 2
        && status::BAD_ADDRESS == 3
        && status::BAD_SLOT == 4
        && status::NO_SLOTS == 5
        && status::DMA_READ_ERROR == 6
        && status::LINK_DOWN == 7
        && status::NOT_INITIALISED == 8
        && status::DOUBLE_FREE == 9
        && status::RING_FULL == 10
        && status::REFUSED == 11
);
const _: () = assert!(d::link::WRITE == 3 && d::link::WRITE_ACK == 4 && d::link::READ_REQ == 6);
const _: () = assert!(READ_TAGS == 8);

/// Bits of a post-FIFO entry: descriptor bits 0..768 (slots filled in),
/// status, ring index, slots-valid flag.
const POST_BITS: usize = 768 + 8 + 16 + 1;
/// Bits of a completion-FIFO entry.
const CPL_BITS: usize = 32 + 8 + 8 + 16 + 16 + 32 + 256 + 1 + 1;
// The completion entry is put together from six 64-bit words, the last one
// holding its top 50 bits.
const _: () = assert!(CPL_BITS == 5 * 64 + 50);

#[derive(LogicBlock)]
pub struct DmaEngine<const W: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub regs: RegPort,
    pub link_active: Signal<In, Bit>,
    /// The allocator's active slot count N.
    pub n_slots: Signal<In, Bits<17>>,
    // Host memory: reads
    pub rd_req_valid: Signal<Out, Bit>,
    pub rd_req_ready: Signal<In, Bit>,
    pub rd_req_addr: Signal<Out, Bits<64>>,
    pub rd_req_len: Signal<Out, Bits<16>>,
    /// A fresh tag per request (7 bits; the card adds bit 7 for the windows).
    pub rd_req_tag: Signal<Out, Bits<7>>,
    pub rd_rsp_valid: Signal<In, Bit>,
    pub rd_rsp_ready: Signal<Out, Bit>,
    pub rd_rsp_data: Signal<In, Bits<W>>,
    pub rd_rsp_last: Signal<In, Bit>,
    pub rd_rsp_err: Signal<In, Bit>,
    // Host memory: writes (whole beats)
    pub wr_valid: Signal<Out, Bit>,
    pub wr_ready: Signal<In, Bit>,
    pub wr_addr: Signal<Out, Bits<64>>,
    pub wr_data: Signal<Out, Bits<W>>,
    // Link, outbound
    pub tx_valid: Signal<Out, Bit>,
    pub tx_ready: Signal<In, Bit>,
    pub tx_kind: Signal<Out, Bits<4>>,
    pub tx_addr: Signal<Out, Bits<64>>,
    pub tx_data: Signal<Out, Bits<W>>,
    pub tx_last: Signal<Out, Bit>,
    // From the partner, through the inbound block
    pub ack_valid: Signal<In, Bit>,
    pub ack_refused: Signal<In, Bit>,
    pub rdata_valid: Signal<In, Bit>,
    pub rdata_ready: Signal<Out, Bit>,
    pub rdata_data: Signal<In, Bits<W>>,
    pub rdata_last: Signal<In, Bit>,
    pub rdata_err: Signal<In, Bit>,
    // Allocator DMA port
    pub al_req_valid: Signal<Out, Bit>,
    pub al_req_ready: Signal<In, Bit>,
    pub al_req_free: Signal<Out, Bit>,
    pub al_req_count: Signal<Out, Bits<5>>,
    pub al_req_slot: Signal<Out, Bits<16>>,
    pub al_rsp_valid: Signal<In, Bit>,
    pub al_rsp_status: Signal<In, Bits<4>>,
    pub al_rsp_slots: Signal<In, Bits<256>>,
    /// One-cycle pulse: raise IRQ.STATUS.DMA.
    pub irq_event: Signal<Out, Bit>,

    // Registers
    enable: DFF<Bit>,
    desc_base_lo: DFF<Bits<32>>,
    desc_base_hi: DFF<Bits<32>>,
    desc_log2: DFF<Bits<4>>,
    desc_tail: DFF<Bits<16>>,
    desc_head: DFF<Bits<16>>,
    cpl_base_lo: DFF<Bits<32>>,
    cpl_base_hi: DFF<Bits<32>>,
    cpl_log2: DFF<Bits<4>>,
    cpl_tail: DFF<Bits<16>>,
    cpl_head: DFF<Bits<16>>,
    coal_count: DFFWithInit<Bits<16>>,
    coal_time: DFF<Bits<16>>,
    limit_lo: DFFWithInit<Bits<32>>,
    limit_hi: DFFWithInit<Bits<32>>,
    out_size_lo: DFF<Bits<32>>,
    out_size_hi: DFF<Bits<32>>,
    out_hdr: DFF<Bits<32>>,
    meta_log2: DFF<Bits<4>>,
    meta_head: DFF<Bits<16>>,
    meta_tail: DFF<Bits<16>>,
    cnt_done: DFF<Bits<32>>,
    cnt_failed: DFF<Bits<32>>,
    cnt_pages: DFF<Bits<32>>,
    cnt_records: DFF<Bits<32>>,
    last_status: DFF<Bits<32>>,
    // Derived configuration, registered
    win_ok: DFF<Bit>,
    limit: Signal<Local, Bits<64>>,
    desc_mask: Signal<Local, Bits<16>>,
    cpl_mask: Signal<Local, Bits<16>>,
    meta_mask: Signal<Local, Bits<16>>,
    meta_size: Signal<Local, Bits<17>>,
    out_size: Signal<Local, Bits<64>>,
    n_bytes_hdr: Signal<Local, Bits<64>>,
    n_bytes_pages: Signal<Local, Bits<64>>,
    // Reset flush: FIFOs have no reset, so they are drained after one
    flushing: DFF<Bit>,

    // Fetcher
    tag_ctr: DFF<Bits<7>>,
    // Occupancy counters (a FIFO's empty flag lags its write by a cycle)
    jobs_out: DFF<Bits<6>>,
    post_busy: DFF<Bits<5>>,
    cpl_pending: DFF<Bits<7>>,
    acks_due: DFF<Bits<7>>,
    ack_take: Signal<Local, Bit>,
    ack_sent: Signal<Local, Bit>,
    desc_credit: DFF<Bits<4>>,
    fetch_want: Signal<Local, Bit>,
    fetch_go: Signal<Local, Bit>,
    desc_fifo: SynchronousFIFO<Bits<1025>, 2, 3, 1>,
    // Streamer
    jobs: SynchronousFIFO<Bits<67>, 4, 5, 1>,
    job_kind: Signal<Local, Bits<2>>,
    job_dst: Signal<Local, Bits<64>>,
    job_last: Signal<Local, Bit>,
    desc_sr: DFF<Bits<1024>>,
    desc_next: Signal<Local, Bits<1024>>,
    desc_err: DFF<Bit>,
    page_off: DFF<Bits<64>>,
    page_fail: DFF<Bits<2>>,
    page_credit: DFF<Bits<5>>,
    tokens: SynchronousFIFO<Bits<2>, 4, 5, 1>,
    rec_sr: DFF<Bits<512>>,
    rec_full: DFF<Bit>,
    rec_err: DFF<Bit>,
    st_tx_valid: Signal<Local, Bit>,
    st_tx_ready: Signal<Local, Bit>,
    page_issue: Signal<Local, Bit>,
    page_retire: Signal<Local, Bit>,

    // Executor
    xs: DFF<XState>,
    cur: DFF<Bits<1025>>,
    cur_status: DFF<Bits<8>>,
    cur_index: DFF<Bits<16>>,
    exec_index: DFF<Bits<16>>,
    issue_i: DFF<Bits<5>>,
    issue_addr: DFF<Bits<64>>,
    issue_slots: DFF<Bits<256>>,
    c_opc: Signal<Local, Bits<8>>,
    c_flags: Signal<Local, Bits<8>>,
    c_count: Signal<Local, Bits<16>>,
    c_local: Signal<Local, Bits<64>>,
    c_bytes: Signal<Local, Bits<64>>,
    c_given: Signal<Local, Bit>,
    c_slot_bad: Signal<Local, Bit>,
    c_n16: Signal<Local, Bits<16>>,
    c_room: Signal<Local, Bits<17>>,
    meta_used: Signal<Local, Bits<16>>,
    c_status: Signal<Local, Bits<8>>,
    x_rd_valid: Signal<Local, Bit>,
    x_rd_addr: Signal<Local, Bits<64>>,
    x_rd_len: Signal<Local, Bits<16>>,
    x_job: Signal<Local, Bits<67>>,
    post_fifo: SynchronousFIFO<Bits<POST_BITS>, 3, 4, 1>,
    post_entry: Signal<Local, Bits<POST_BITS>>,
    post_tail: Signal<Local, Bits<32>>,

    // Post stage
    ps: DFF<PState>,
    pj: DFF<Bits<POST_BITS>>,
    p_status: DFF<Bits<8>>,
    p_i: DFF<Bits<5>>,
    p_j: DFF<Bits<5>>,
    p_slots: DFF<Bits<256>>,
    p_seq: DFF<Bits<32>>,
    p_lba: DFF<Bits<64>>,
    p_detail: DFF<Bits<32>>,
    p_needs_ack: DFF<Bit>,
    p_off: DFF<Bits<64>>,
    emit_sr: DFF<Bits<512>>,
    emit_addr: DFF<Bits<64>>,
    emit_beats: DFF<Bits<5>>,
    emit_final: DFF<Bit>,
    p_opc: Signal<Local, Bits<8>>,
    p_count: Signal<Local, Bits<16>>,
    p_last_rec: Signal<Local, Bit>,
    p_dirty: Signal<Local, Bits<64>>,
    p_slot: Signal<Local, Bits<16>>,
    rec: Signal<Local, Bits<512>>,
    rec_check: Signal<Local, Bits<32>>,
    p_tx_valid: Signal<Local, Bit>,
    p_tx_kind: Signal<Local, Bits<4>>,
    p_tx_addr: Signal<Local, Bits<64>>,
    p_tx_data: Signal<Local, Bits<W>>,
    p_tx_last: Signal<Local, Bit>,
    cb_wr_valid: Signal<Local, Bit>,
    cpl_fifo: SynchronousFIFO<Bits<CPL_BITS>, 5, 6, 1>,
    cpl_entry: Signal<Local, Bits<CPL_BITS>>,
    cpl_w0: Signal<Local, Bits<64>>,
    cpl_w1: Signal<Local, Bits<64>>,
    cpl_w2: Signal<Local, Bits<64>>,
    cpl_w3: Signal<Local, Bits<64>>,
    cpl_w4: Signal<Local, Bits<64>>,
    cpl_w5: Signal<Local, Bits<64>>,
    pe_count: Signal<Local, Bits<16>>,
    pe_slots: Signal<Local, Bits<256>>,
    rel_here: Signal<Local, Bits<32>>,
    rel_after: Signal<Local, Bits<32>>,

    // Completion writer
    acks: SynchronousFIFO<Bits<2>, 5, 6, 1>,
    link_lost: DFF<Bit>,
    link_q: DFF<Bit>,
    cs: DFF<CState>,
    ce: DFF<Bits<CPL_BITS>>,
    ce_status: DFF<Bits<8>>,
    cpl_sr: DFF<Bits<512>>,
    cpl_addr: DFF<Bits<64>>,
    cpl_beats: DFF<Bits<5>>,
    cpl_value: Signal<Local, Bits<512>>,
    cpl_full: Signal<Local, Bit>,
    cpl_done: Signal<Local, Bit>,
    cpl_used: Signal<Local, Bits<16>>,
    cpl_size: Signal<Local, Bits<17>>,
    tail_sh: Signal<Local, Bits<16>>,
    phase: Signal<Local, Bit>,
    unsig: DFF<Bits<16>>,
    timer: DFF<Bits<16>>,
    fire_now: DFF<Bit>,

    // Constants
    k_beat: Constant<Bits<64>>,
    k_w: Constant<Bits<11>>,
    k_top: Constant<Bits<11>>,
    k_desc_top: Constant<Bits<11>>,
    k_rec_beats: Constant<Bits<5>>,
    k_meta_window: Constant<Bits<64>>,
    k_magic: Constant<Bits<32>>,
    k_ones16: Constant<Bits<16>>,
    k_slot_field: Constant<Bits<1025>>,
    k_caps: Constant<Bits<32>>,
    w_caps: Constant<Bits<WORD_BITS>>,
    w_ctrl: Constant<Bits<WORD_BITS>>,
    w_status: Constant<Bits<WORD_BITS>>,
    w_desc_base_lo: Constant<Bits<WORD_BITS>>,
    w_desc_base_hi: Constant<Bits<WORD_BITS>>,
    w_desc_log2: Constant<Bits<WORD_BITS>>,
    w_desc_tail: Constant<Bits<WORD_BITS>>,
    w_desc_head: Constant<Bits<WORD_BITS>>,
    w_cpl_base_lo: Constant<Bits<WORD_BITS>>,
    w_cpl_base_hi: Constant<Bits<WORD_BITS>>,
    w_cpl_log2: Constant<Bits<WORD_BITS>>,
    w_cpl_tail: Constant<Bits<WORD_BITS>>,
    w_cpl_head: Constant<Bits<WORD_BITS>>,
    w_coal_count: Constant<Bits<WORD_BITS>>,
    w_coal_time: Constant<Bits<WORD_BITS>>,
    w_limit_lo: Constant<Bits<WORD_BITS>>,
    w_limit_hi: Constant<Bits<WORD_BITS>>,
    w_out_size_lo: Constant<Bits<WORD_BITS>>,
    w_out_size_hi: Constant<Bits<WORD_BITS>>,
    w_out_hdr: Constant<Bits<WORD_BITS>>,
    w_meta_log2: Constant<Bits<WORD_BITS>>,
    w_meta_head: Constant<Bits<WORD_BITS>>,
    w_meta_tail: Constant<Bits<WORD_BITS>>,
    w_done: Constant<Bits<WORD_BITS>>,
    w_failed: Constant<Bits<WORD_BITS>>,
    w_pages: Constant<Bits<WORD_BITS>>,
    w_records: Constant<Bits<WORD_BITS>>,
    w_last_status: Constant<Bits<WORD_BITS>>,
    w_clear: Constant<Bits<WORD_BITS>>,
}

fn k64(v: u64) -> Constant<Bits<64>> {
    Constant::new(v.to_bits())
}

impl<const W: usize> Default for DmaEngine<W> {
    fn default() -> Self {
        assert!([64, 128, 256, 512].contains(&W), "unsupported data width");
        let beat = (W / 8) as u64;
        Self {
            clock: Default::default(),
            reset: Default::default(),
            regs: Default::default(),
            link_active: Default::default(),
            n_slots: Default::default(),
            rd_req_valid: Default::default(),
            rd_req_ready: Default::default(),
            rd_req_addr: Default::default(),
            rd_req_len: Default::default(),
            rd_req_tag: Default::default(),
            rd_rsp_valid: Default::default(),
            rd_rsp_ready: Default::default(),
            rd_rsp_data: Default::default(),
            rd_rsp_last: Default::default(),
            rd_rsp_err: Default::default(),
            wr_valid: Default::default(),
            wr_ready: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
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
            al_req_valid: Default::default(),
            al_req_ready: Default::default(),
            al_req_free: Default::default(),
            al_req_count: Default::default(),
            al_req_slot: Default::default(),
            al_rsp_valid: Default::default(),
            al_rsp_status: Default::default(),
            al_rsp_slots: Default::default(),
            irq_event: Default::default(),
            enable: Default::default(),
            desc_base_lo: Default::default(),
            desc_base_hi: Default::default(),
            desc_log2: Default::default(),
            desc_tail: Default::default(),
            desc_head: Default::default(),
            cpl_base_lo: Default::default(),
            cpl_base_hi: Default::default(),
            cpl_log2: Default::default(),
            cpl_tail: Default::default(),
            cpl_head: Default::default(),
            coal_count: DFFWithInit::new((d::COAL_COUNT.reset as u64).to_bits()),
            coal_time: Default::default(),
            limit_lo: DFFWithInit::new((d::HOST_LIMIT_LO.reset as u64).to_bits()),
            limit_hi: DFFWithInit::new((d::HOST_LIMIT_HI.reset as u64).to_bits()),
            out_size_lo: Default::default(),
            out_size_hi: Default::default(),
            out_hdr: Default::default(),
            meta_log2: Default::default(),
            meta_head: Default::default(),
            meta_tail: Default::default(),
            cnt_done: Default::default(),
            cnt_failed: Default::default(),
            cnt_pages: Default::default(),
            cnt_records: Default::default(),
            last_status: Default::default(),
            win_ok: Default::default(),
            limit: Default::default(),
            desc_mask: Default::default(),
            cpl_mask: Default::default(),
            meta_mask: Default::default(),
            meta_size: Default::default(),
            out_size: Default::default(),
            n_bytes_hdr: Default::default(),
            n_bytes_pages: Default::default(),
            flushing: Default::default(),
            tag_ctr: Default::default(),
            jobs_out: Default::default(),
            post_busy: Default::default(),
            cpl_pending: Default::default(),
            acks_due: Default::default(),
            ack_take: Default::default(),
            ack_sent: Default::default(),
            desc_credit: Default::default(),
            fetch_want: Default::default(),
            fetch_go: Default::default(),
            desc_fifo: Default::default(),
            jobs: Default::default(),
            job_kind: Default::default(),
            job_dst: Default::default(),
            job_last: Default::default(),
            desc_sr: Default::default(),
            desc_next: Default::default(),
            desc_err: Default::default(),
            page_off: Default::default(),
            page_fail: Default::default(),
            page_credit: Default::default(),
            tokens: Default::default(),
            rec_sr: Default::default(),
            rec_full: Default::default(),
            rec_err: Default::default(),
            st_tx_valid: Default::default(),
            st_tx_ready: Default::default(),
            page_issue: Default::default(),
            page_retire: Default::default(),
            meta_used: Default::default(),
            pe_count: Default::default(),
            pe_slots: Default::default(),
            rel_here: Default::default(),
            rel_after: Default::default(),
            cpl_used: Default::default(),
            cpl_done: Default::default(),
            cpl_size: Default::default(),
            tail_sh: Default::default(),
            xs: Default::default(),
            cur: Default::default(),
            cur_status: Default::default(),
            cur_index: Default::default(),
            exec_index: Default::default(),
            issue_i: Default::default(),
            issue_addr: Default::default(),
            issue_slots: Default::default(),
            c_opc: Default::default(),
            c_flags: Default::default(),
            c_count: Default::default(),
            c_local: Default::default(),
            c_bytes: Default::default(),
            c_given: Default::default(),
            c_slot_bad: Default::default(),
            c_n16: Default::default(),
            c_room: Default::default(),
            c_status: Default::default(),
            x_rd_valid: Default::default(),
            x_rd_addr: Default::default(),
            x_rd_len: Default::default(),
            x_job: Default::default(),
            post_fifo: Default::default(),
            post_entry: Default::default(),
            post_tail: Default::default(),
            ps: Default::default(),
            pj: Default::default(),
            p_status: Default::default(),
            p_i: Default::default(),
            p_j: Default::default(),
            p_slots: Default::default(),
            p_seq: Default::default(),
            p_lba: Default::default(),
            p_detail: Default::default(),
            p_needs_ack: Default::default(),
            p_off: Default::default(),
            emit_sr: Default::default(),
            emit_addr: Default::default(),
            emit_beats: Default::default(),
            emit_final: Default::default(),
            p_opc: Default::default(),
            p_count: Default::default(),
            p_last_rec: Default::default(),
            p_dirty: Default::default(),
            p_slot: Default::default(),
            rec: Default::default(),
            rec_check: Default::default(),
            p_tx_valid: Default::default(),
            p_tx_kind: Default::default(),
            p_tx_addr: Default::default(),
            p_tx_data: Default::default(),
            p_tx_last: Default::default(),
            cb_wr_valid: Default::default(),
            cpl_fifo: Default::default(),
            cpl_entry: Default::default(),
            cpl_w0: Default::default(),
            cpl_w1: Default::default(),
            cpl_w2: Default::default(),
            cpl_w3: Default::default(),
            cpl_w4: Default::default(),
            cpl_w5: Default::default(),
            acks: Default::default(),
            link_lost: Default::default(),
            link_q: Default::default(),
            cs: Default::default(),
            ce: Default::default(),
            ce_status: Default::default(),
            cpl_sr: Default::default(),
            cpl_addr: Default::default(),
            cpl_beats: Default::default(),
            cpl_value: Default::default(),
            cpl_full: Default::default(),
            phase: Default::default(),
            unsig: Default::default(),
            timer: Default::default(),
            fire_now: Default::default(),
            k_beat: k64(beat),
            k_w: Constant::new((W as u64).to_bits()),
            k_top: Constant::new(((512 - W) as u64).to_bits()),
            k_desc_top: Constant::new(((1024 - W) as u64).to_bits()),
            k_rec_beats: Constant::new((64 / beat).to_bits()),
            k_meta_window: k64(d::link::META_WINDOW),
            k_magic: c32(duplex_regs::META_MAGIC),
            k_ones16: Constant::new(0xFFFFu64.to_bits()),
            k_slot_field: Constant::new({
                let mut b: Bits<1025> = 0.into();
                for i in 512..768 {
                    b = b.replace_bit(i, true);
                }
                b
            }),
            k_caps: c32(d::CAPS.reset),
            w_caps: word(d::CAPS),
            w_ctrl: word(d::CTRL),
            w_status: word(d::STATUS),
            w_desc_base_lo: word(d::DESC_BASE_LO),
            w_desc_base_hi: word(d::DESC_BASE_HI),
            w_desc_log2: word(d::DESC_LOG2),
            w_desc_tail: word(d::DESC_TAIL),
            w_desc_head: word(d::DESC_HEAD),
            w_cpl_base_lo: word(d::CPL_BASE_LO),
            w_cpl_base_hi: word(d::CPL_BASE_HI),
            w_cpl_log2: word(d::CPL_LOG2),
            w_cpl_tail: word(d::CPL_TAIL),
            w_cpl_head: word(d::CPL_HEAD),
            w_coal_count: word(d::COAL_COUNT),
            w_coal_time: word(d::COAL_TIME),
            w_limit_lo: word(d::HOST_LIMIT_LO),
            w_limit_hi: word(d::HOST_LIMIT_HI),
            w_out_size_lo: word(d::OUT_MIRROR_SIZE_LO),
            w_out_size_hi: word(d::OUT_MIRROR_SIZE_HI),
            w_out_hdr: word(d::OUT_HDR_BYTES),
            w_meta_log2: word(d::OUT_META_LOG2),
            w_meta_head: word(d::OUT_META_HEAD),
            w_meta_tail: word(d::OUT_META_TAIL),
            w_done: word(d::DESC_DONE),
            w_failed: word(d::DESC_FAILED),
            w_pages: word(d::PAGES_SENT),
            w_records: word(d::RECORDS_SENT),
            w_last_status: word(d::LAST_STATUS),
            w_clear: word(d::CLEAR),
        }
    }
}

impl<const W: usize> Logic for DmaEngine<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            enable,
            desc_base_lo,
            desc_base_hi,
            desc_log2,
            desc_tail,
            desc_head,
            cpl_base_lo,
            cpl_base_hi,
            cpl_log2,
            cpl_tail,
            cpl_head,
            coal_count,
            coal_time,
            limit_lo,
            limit_hi,
            out_size_lo,
            out_size_hi,
            out_hdr,
            meta_log2,
            meta_head,
            meta_tail,
            cnt_done,
            cnt_failed,
            cnt_pages,
            cnt_records,
            last_status,
            win_ok,
            flushing,
            tag_ctr,
            jobs_out,
            post_busy,
            cpl_pending,
            acks_due,
            desc_credit,
            desc_sr,
            desc_err,
            page_off,
            page_fail,
            page_credit,
            rec_sr,
            rec_full,
            rec_err,
            xs,
            cur,
            cur_status,
            cur_index,
            exec_index,
            issue_i,
            issue_addr,
            issue_slots,
            ps,
            pj,
            p_status,
            p_i,
            p_j,
            p_slots,
            p_seq,
            p_lba,
            p_detail,
            p_needs_ack,
            p_off,
            emit_sr,
            emit_addr,
            emit_beats,
            emit_final,
            link_lost,
            link_q,
            cs,
            ce,
            ce_status,
            cpl_sr,
            cpl_addr,
            cpl_beats,
            unsig,
            timer,
            fire_now
        );
        clock!(self, clock, desc_fifo, jobs, tokens, post_fifo, cpl_fifo, acks);

        // ------------------------------------------------------------------
        // Derived configuration
        // ------------------------------------------------------------------
        self.limit.next = (bit_cast::<64, 32>(self.limit_hi.q.val()) << 32)
            | bit_cast::<64, 32>(self.limit_lo.q.val());
        self.out_size.next = (bit_cast::<64, 32>(self.out_size_hi.q.val()) << 32)
            | bit_cast::<64, 32>(self.out_size_lo.q.val());
        self.desc_mask.next = !(self.k_ones16.val() << self.desc_log2.q.val());
        self.cpl_mask.next = !(self.k_ones16.val() << self.cpl_log2.q.val());
        self.meta_mask.next = !(self.k_ones16.val() << self.meta_log2.q.val());
        self.meta_size.next = bit_cast::<17, 1>(1.into()) << self.meta_log2.q.val();
        self.n_bytes_hdr.next = bit_cast::<64, 17>(self.n_slots.val()) << 6;
        self.n_bytes_pages.next = bit_cast::<64, 17>(self.n_slots.val()) << 12;
        self.win_ok.d.next = self.out_size.val().any()
            && (self.n_bytes_hdr.val() <= bit_cast::<64, 32>(self.out_hdr.q.val()))
            && ((bit_cast::<64, 32>(self.out_hdr.q.val()) + self.n_bytes_pages.val())
                <= self.out_size.val());

        // Default outputs.
        self.rd_req_valid.next = false;
        self.rd_req_addr.next = 0.into();
        self.rd_req_len.next = 0.into();
        self.rd_req_tag.next = self.tag_ctr.q.val();
        self.rd_rsp_ready.next = false;
        self.wr_valid.next = false;
        self.wr_addr.next = 0.into();
        self.wr_data.next = 0.into();
        self.tx_valid.next = false;
        self.tx_kind.next = 0.into();
        self.tx_addr.next = 0.into();
        self.tx_data.next = 0.into();
        self.tx_last.next = false;
        self.rdata_ready.next = false;
        self.al_req_valid.next = false;
        self.al_req_free.next = false;
        self.al_req_count.next = 0.into();
        self.al_req_slot.next = 0.into();
        self.irq_event.next = false;
        self.desc_fifo.write.next = false;
        self.desc_fifo.read.next = false;
        self.desc_fifo.data_in.next = 0.into();
        self.jobs.write.next = false;
        self.jobs.read.next = false;
        self.jobs.data_in.next = 0.into();
        self.tokens.write.next = false;
        self.tokens.read.next = false;
        self.tokens.data_in.next = 0.into();
        self.post_fifo.write.next = false;
        self.post_fifo.read.next = false;
        self.cpl_fifo.write.next = false;
        self.cpl_fifo.read.next = false;
        self.acks.write.next = false;
        self.acks.read.next = false;
        self.acks.data_in.next = bit_cast::<2, 1>(self.ack_refused.val().into());
        self.page_issue.next = false;
        self.page_retire.next = false;

        // ------------------------------------------------------------------
        // Fetcher: keeps up to DESC_AHEAD descriptors fetched or in flight.
        // ------------------------------------------------------------------
        self.fetch_want.next = self.enable.q.val()
            && !self.flushing.q.val()
            && (self.desc_tail.q.val() != self.desc_head.q.val())
            && (self.desc_credit.q.val() < 4)
            && !self.jobs.full.val();
        self.fetch_go.next = false;

        // ------------------------------------------------------------------
        // Executor
        // ------------------------------------------------------------------
        self.c_opc.next = self.cur.q.val().get_bits::<8>(0);
        self.c_flags.next = self.cur.q.val().get_bits::<8>(8);
        self.c_count.next = self.cur.q.val().get_bits::<16>(16);
        self.c_local.next = self.cur.q.val().get_bits::<64>(64);
        self.c_bytes.next = bit_cast::<64, 16>(self.c_count.val()) << 12;
        if self.c_opc.val() == 4 {
            self.c_bytes.next = bit_cast::<64, 16>(self.c_count.val()) << 6;
        }
        self.c_given.next = (self.c_opc.val() == 2)
            || (self.c_opc.val() == 3)
            || ((self.c_opc.val() == 1) && (self.c_flags.val() & 1).any());
        self.c_n16.next = self.n_slots.val().get_bits::<16>(0);
        if self.n_slots.val().get_bit(16) {
            self.c_n16.next = 0xFFFF.into();
        }
        // The descriptor checks, evaluated in Check only (their result is
        // used nowhere else).
        self.meta_used.next = self.meta_head.q.val() - self.meta_tail.q.val();
        self.c_room.next = self.meta_size.val() - bit_cast::<17, 16>(self.meta_used.val());
        self.c_slot_bad.next = false;
        self.c_status.next = 0.into();
        if self.xs.q.val() == XState::Check {
            for i in 0..16 {
                if (self.c_count.val().index() > i)
                    && (self.cur.q.val().get_bits::<16>(512 + 16 * i) >= self.c_n16.val())
                {
                    self.c_slot_bad.next = true;
                }
            }
            // Checks in the documented order; the first failing one wins.
            if self.cur.q.val().get_bit(1024) {
                self.c_status.next = 6.into();
            } else if (self.c_opc.val() == 0)
                || (self.c_opc.val() > 4)
                || (self.c_flags.val() & 2).any()
            {
                self.c_status.next = 1.into();
            } else if (self.c_count.val() == 0) || (self.c_count.val() > 16) {
                self.c_status.next = 2.into();
            } else if (self.c_opc.val() != 2)
                && (self.c_local.val().get_bits::<6>(0).any()
                    || (self.c_local.val() > self.limit.val())
                    || (self.c_bytes.val() > (self.limit.val() - self.c_local.val())))
            {
                self.c_status.next = 3.into();
            } else if self.c_given.val() && self.c_slot_bad.val() {
                self.c_status.next = 4.into();
            } else if !self.link_active.val() {
                self.c_status.next = 7.into();
            } else if self.c_opc.val() == 4 {
                if !self.meta_log2.q.val().any() {
                    self.c_status.next = 3.into();
                } else if bit_cast::<17, 16>(self.c_count.val()) > self.c_room.val() {
                    self.c_status.next = 10.into();
                }
            } else if !self.win_ok.q.val() {
                self.c_status.next = 3.into();
            }
        }

        self.x_rd_valid.next = false;
        self.x_rd_addr.next = self.issue_addr.q.val();
        self.x_rd_len.next = 4096.into();
        // Wide values that feed one state's multiplexer arm (the page job,
        // the record, the record beat, the completion) are built only in that
        // state and are 0 otherwise: in hardware it is the same multiplexer
        // either way, but the simulation skips them when unused. The entries
        // written into the post and completion FIFOs are built every cycle
        // (gating a FIFO's write data would add logic in front of its RAM),
        // but from narrow pieces placed on 32-bit boundaries, which the
        // simulation builds cheaply.
        self.x_job.next = 0.into();
        if self.xs.q.val() == XState::Issue {
            self.x_job.next = (bit_cast::<67, 2>(1.into()) << 64)
                | bit_cast::<67, 64>(
                    bit_cast::<64, 32>(self.out_hdr.q.val())
                        + (bit_cast::<64, 16>(self.issue_slots.q.val().get_bits::<16>(0)) << 12),
                );
            if self.issue_i.q.val() == (self.c_count.val().get_bits::<5>(0) - 1) {
                self.x_job.next = self.x_job.val() | (bit_cast::<67, 1>(1.into()) << 66);
            }
        }
        self.post_tail.next = bit_cast::<32, 8>(self.cur_status.q.val())
            | (bit_cast::<32, 16>(self.cur_index.q.val()) << 8);
        self.post_entry.next = bit_cast::<POST_BITS, 768>(self.cur.q.val().get_bits::<768>(0))
            | (bit_cast::<POST_BITS, 32>(self.post_tail.val()) << 768);
        self.post_fifo.data_in.next = self.post_entry.val();

        match self.xs.q.val() {
            XState::Idle => {
                if !self.desc_fifo.empty.val() && !self.flushing.q.val() {
                    self.cur.d.next = self.desc_fifo.data_out.val();
                    self.desc_fifo.read.next = true;
                    self.cur_index.d.next = self.exec_index.q.val() & self.desc_mask.val();
                    self.exec_index.d.next = self.exec_index.q.val() + 1;
                    self.xs.d.next = XState::Check;
                }
            }
            XState::Check => {
                self.cur_status.d.next = self.c_status.val();
                self.issue_i.d.next = 0.into();
                self.issue_addr.d.next = self.c_local.val();
                self.issue_slots.d.next = self.cur.q.val().get_bits::<256>(512);
                if self.c_status.val().any() {
                    self.xs.d.next = XState::Push;
                } else if self.c_opc.val() == 1 {
                    if self.c_given.val() {
                        self.xs.d.next = XState::Issue;
                    } else {
                        self.xs.d.next = XState::Alloc;
                    }
                } else {
                    self.xs.d.next = XState::Drain;
                }
            }
            XState::Alloc => {
                self.al_req_valid.next = true;
                self.al_req_count.next = self.c_count.val().get_bits::<5>(0);
                if self.al_req_ready.val() {
                    self.xs.d.next = XState::AllocWait;
                }
            }
            XState::AllocWait => {
                if self.al_rsp_valid.val() {
                    if self.al_rsp_status.val() == 0 {
                        self.cur.d.next = (self.cur.q.val() & !self.k_slot_field.val())
                            | (bit_cast::<1025, 256>(self.al_rsp_slots.val()) << 512);
                        self.issue_slots.d.next = self.al_rsp_slots.val();
                        self.xs.d.next = XState::Issue;
                    } else {
                        if self.al_rsp_status.val() == 1 {
                            self.cur_status.d.next = 5.into();
                        } else if self.al_rsp_status.val() == 2 {
                            self.cur_status.d.next = 8.into();
                        } else {
                            self.cur_status.d.next = 2.into();
                        }
                        self.xs.d.next = XState::Push;
                    }
                }
            }
            XState::Issue => {
                if (self.page_credit.q.val() < 8) && !self.jobs.full.val() && !self.fetch_want.val()
                {
                    self.x_rd_valid.next = true;
                    if self.rd_req_ready.val() {
                        self.jobs.write.next = true;
                        self.jobs.data_in.next = self.x_job.val();
                        self.page_issue.next = true;
                        self.issue_i.d.next = self.issue_i.q.val() + 1;
                        self.issue_addr.d.next = self.issue_addr.q.val() + 4096;
                        self.issue_slots.d.next = self.issue_slots.q.val() >> 16;
                        if self.issue_i.q.val() == (self.c_count.val().get_bits::<5>(0) - 1) {
                            self.xs.d.next = XState::Push;
                        }
                    }
                }
            }
            XState::IssueRec => {
                self.x_rd_len.next = 64.into();
                if !self.jobs.full.val() && !self.fetch_want.val() {
                    self.x_rd_valid.next = true;
                    if self.rd_req_ready.val() {
                        self.jobs.write.next = true;
                        self.jobs.data_in.next = bit_cast::<67, 2>(2.into()) << 64;
                        self.issue_i.d.next = self.issue_i.q.val() + 1;
                        self.issue_addr.d.next = self.issue_addr.q.val() + 64;
                        if self.issue_i.q.val() == (self.c_count.val().get_bits::<5>(0) - 1) {
                            self.xs.d.next = XState::DrainAfter;
                        }
                    }
                }
            }
            XState::Push => {
                if !self.post_fifo.full.val() {
                    self.post_fifo.write.next = true;
                    self.xs.d.next = XState::Idle;
                    if !self.cur_status.q.val().any() && (self.c_opc.val() != 1) {
                        self.xs.d.next = XState::DrainAfter;
                    }
                }
            }
            XState::Drain => {
                // RELEASE, COPY_BACK and META run alone.
                if !self.post_busy.q.val().any() && !self.jobs_out.q.val().any() {
                    if self.c_opc.val() == 4 {
                        // The post stage consumes the records as they arrive.
                        if !self.post_fifo.full.val() {
                            self.post_fifo.write.next = true;
                            self.xs.d.next = XState::IssueRec;
                        }
                    } else {
                        self.xs.d.next = XState::Push;
                    }
                }
            }
            XState::DrainAfter => {
                if !self.post_busy.q.val().any() && !self.post_fifo.write.val() {
                    self.xs.d.next = XState::Idle;
                }
            }
        }

        // Read-request port: the fetcher first, then the executor.
        if self.fetch_want.val() {
            self.rd_req_valid.next = true;
            self.rd_req_addr.next = ((bit_cast::<64, 32>(self.desc_base_hi.q.val()) << 32)
                | bit_cast::<64, 32>(self.desc_base_lo.q.val() & 0xFFFF_FF80_u64))
                + (bit_cast::<64, 16>(self.desc_head.q.val() & self.desc_mask.val()) << 7);
            self.rd_req_len.next = 128.into();
            if self.rd_req_ready.val() {
                self.fetch_go.next = true;
                self.jobs.write.next = true;
                self.jobs.data_in.next = bit_cast::<67, 2>(0.into()) << 64;
                self.desc_head.d.next = self.desc_head.q.val() + 1;
            }
        } else if self.x_rd_valid.val() {
            self.rd_req_valid.next = true;
            self.rd_req_addr.next = self.x_rd_addr.val();
            self.rd_req_len.next = self.x_rd_len.val();
        }
        if self.rd_req_valid.val() && self.rd_req_ready.val() {
            self.tag_ctr.d.next = self.tag_ctr.q.val() + 1;
        }
        if self.fetch_go.val() && !self.desc_fifo.read.val() {
            self.desc_credit.d.next = self.desc_credit.q.val() + 1;
        } else if !self.fetch_go.val() && self.desc_fifo.read.val() {
            self.desc_credit.d.next = self.desc_credit.q.val() - 1;
        }
        // ------------------------------------------------------------------
        // Post stage
        // ------------------------------------------------------------------
        self.p_opc.next = self.pj.q.val().get_bits::<8>(0);
        self.p_count.next = self.pj.q.val().get_bits::<16>(16);
        self.p_slot.next = self.p_slots.q.val().get_bits::<16>(0);
        self.p_last_rec.next = self.p_i.q.val() == (self.p_count.val().get_bits::<5>(0) - 1);
        // The MIRROR record of page p_i, without its check word (built in
        // RecLoad only, see above).
        self.p_dirty.next = 0.into();
        self.rec.next = 0.into();
        self.rec_check.next = 0.into();
        if self.ps.q.val() == PState::RecLoad {
            self.p_dirty.next = 0xFFFF_FFFF_FFFF_FFFF_u64.into();
            if self.p_i.q.val() == 0 {
                self.p_dirty.next = self.pj.q.val().get_bits::<64>(256);
            } else if self.p_last_rec.val() {
                self.p_dirty.next = self.pj.q.val().get_bits::<64>(320);
            }
            self.rec.next = bit_cast::<512, 32>(self.k_magic.val())
                | (bit_cast::<512, 8>(1.into()) << 32)
                | (bit_cast::<512, 16>(self.pj.q.val().get_bits::<16>(384)) << 48)
                | (bit_cast::<512, 32>(self.p_seq.q.val()) << 64)
                | (bit_cast::<512, 16>(self.p_slot.val()) << 96)
                | (bit_cast::<512, 64>(self.p_lba.q.val()) << 128)
                | (bit_cast::<512, 32>(self.pj.q.val().get_bits::<32>(192)) << 192)
                | (bit_cast::<512, 32>(self.pj.q.val().get_bits::<32>(416)) << 224)
                | (bit_cast::<512, 64>(self.p_dirty.val()) << 256);
            self.rec_check.next = !(self.rec.val().get_bits::<32>(0)
                ^ self.rec.val().get_bits::<32>(32)
                ^ self.rec.val().get_bits::<32>(64)
                ^ self.rec.val().get_bits::<32>(96)
                ^ self.rec.val().get_bits::<32>(128)
                ^ self.rec.val().get_bits::<32>(160)
                ^ self.rec.val().get_bits::<32>(192)
                ^ self.rec.val().get_bits::<32>(224)
                ^ self.rec.val().get_bits::<32>(256)
                ^ self.rec.val().get_bits::<32>(288));
        }

        self.rel_here.next = self.p_detail.q.val() >> self.p_i.q.val();
        self.rel_after.next = self.rel_here.val() >> 1;
        self.p_tx_valid.next = false;
        self.p_tx_kind.next = 3.into();
        self.p_tx_addr.next = self.emit_addr.q.val();
        self.p_tx_data.next = 0.into();
        if self.ps.q.val() == PState::Emit {
            self.p_tx_data.next = bit_cast::<W, 512>(self.emit_sr.q.val() >> self.k_top.val());
        }
        self.p_tx_last.next = self.emit_beats.q.val() == 1;
        self.cb_wr_valid.next = false;
        // The completion-FIFO entry (see above), in 64-bit words.
        self.pe_count.next = self.p_count.val();
        self.pe_slots.next = self.pj.q.val().get_bits::<256>(512);
        if self.pj.q.val().get_bits::<8>(768).any() {
            // Failed before it started: no count, no slots.
            self.pe_count.next = 0.into();
            self.pe_slots.next = 0.into();
        }
        if self.p_opc.val() == 4 {
            self.pe_slots.next = 0.into();
        }
        // Bits 0..64: tag, status, opcode, count.
        self.cpl_w0.next = bit_cast::<64, 32>(self.pj.q.val().get_bits::<32>(32))
            | (bit_cast::<64, 8>(self.p_status.q.val()) << 32)
            | (bit_cast::<64, 8>(self.p_opc.val()) << 40)
            | (bit_cast::<64, 16>(self.pe_count.val()) << 48);
        // Bits 64..128: ring index, detail, slots 0..16.
        self.cpl_w1.next = bit_cast::<64, 16>(self.pj.q.val().get_bits::<16>(776))
            | (bit_cast::<64, 32>(self.p_detail.q.val()) << 16)
            | (bit_cast::<64, 16>(self.pe_slots.val().get_bits::<16>(0)) << 48);
        self.cpl_w2.next = self.pe_slots.val().get_bits::<64>(16);
        self.cpl_w3.next = self.pe_slots.val().get_bits::<64>(80);
        self.cpl_w4.next = self.pe_slots.val().get_bits::<64>(144);
        // Bits 320..370: slots 208..256, needs-ack, IRQ_NOW.
        self.cpl_w5.next = bit_cast::<64, 48>(self.pe_slots.val().get_bits::<48>(208))
            | (bit_cast::<64, 1>(self.p_needs_ack.q.val().into()) << 48)
            | (bit_cast::<64, 1>((self.pj.q.val().get_bits::<8>(8) & 4).any().into()) << 49);
        self.cpl_entry.next = bit_cast::<CPL_BITS, 64>(self.cpl_w0.val())
            | (bit_cast::<CPL_BITS, 64>(self.cpl_w1.val()) << 64)
            | (bit_cast::<CPL_BITS, 64>(self.cpl_w2.val()) << 128)
            | (bit_cast::<CPL_BITS, 64>(self.cpl_w3.val()) << 192)
            | (bit_cast::<CPL_BITS, 64>(self.cpl_w4.val()) << 256)
            | (bit_cast::<CPL_BITS, 64>(self.cpl_w5.val()) << 320);
        self.cpl_fifo.data_in.next = self.cpl_entry.val();

        match self.ps.q.val() {
            PState::Idle => {
                if !self.post_fifo.empty.val() && !self.flushing.q.val() {
                    self.pj.d.next = self.post_fifo.data_out.val();
                    self.post_fifo.read.next = true;
                    self.ps.d.next = PState::Start;
                }
            }
            PState::Start => {
                self.p_status.d.next = self.pj.q.val().get_bits::<8>(768);
                self.p_i.d.next = 0.into();
                self.p_j.d.next = 0.into();
                self.p_slots.d.next = self.pj.q.val().get_bits::<256>(512);
                self.p_seq.d.next = self.pj.q.val().get_bits::<32>(224);
                self.p_lba.d.next = self.pj.q.val().get_bits::<64>(128);
                self.p_detail.d.next = 0.into();
                self.p_needs_ack.d.next = false;
                self.p_off.d.next = 0.into();
                if self.pj.q.val().get_bits::<8>(768).any() {
                    self.ps.d.next = PState::Done;
                } else if self.p_opc.val() == 1 {
                    self.ps.d.next = PState::WaitData;
                } else if self.p_opc.val() == 2 {
                    self.ps.d.next = PState::Free;
                } else if self.p_opc.val() == 3 {
                    self.ps.d.next = PState::CbReq;
                } else {
                    self.ps.d.next = PState::RecWait;
                }
            }
            PState::WaitData => {
                if !self.tokens.empty.val() {
                    self.tokens.read.next = true;
                    if self.tokens.data_out.val() == 1 {
                        self.p_status.d.next = 6.into();
                        self.ps.d.next = PState::Done;
                    } else if self.tokens.data_out.val() == 2 {
                        self.p_status.d.next = 7.into();
                        self.ps.d.next = PState::Done;
                    } else {
                        self.ps.d.next = PState::RecLoad;
                    }
                }
            }
            PState::RecLoad => {
                // MIRROR: the record of page p_i into its slot's header.
                self.emit_sr.d.next =
                    self.rec.val() | (bit_cast::<512, 32>(self.rec_check.val()) << 480);
                self.emit_addr.d.next =
                    (bit_cast::<64, 16>(self.p_slot.val()) << 6) + 64 - self.k_beat.val();
                self.emit_beats.d.next = self.k_rec_beats.val();
                self.emit_final.d.next = self.p_last_rec.val();
                self.ps.d.next = PState::Emit;
            }
            PState::Emit => {
                if !self.link_active.val() {
                    self.p_status.d.next = 7.into();
                    self.p_needs_ack.d.next = false;
                    if self.p_opc.val() == 4 {
                        self.p_i.d.next = self.p_i.q.val() + 1;
                        self.ps.d.next = PState::RecWait;
                        if self.p_last_rec.val() {
                            self.ps.d.next = PState::Done;
                        }
                    } else {
                        self.ps.d.next = PState::Done;
                    }
                } else {
                    self.p_tx_valid.next = true;
                    if self.emit_final.q.val() && (self.emit_beats.q.val() == 1) {
                        self.p_tx_kind.next = 4.into();
                    }
                    if self.tx_ready.val() {
                        self.emit_sr.d.next = self.emit_sr.q.val() << self.k_w.val();
                        self.emit_addr.d.next = self.emit_addr.q.val() - self.k_beat.val();
                        self.emit_beats.d.next = self.emit_beats.q.val() - 1;
                        if self.emit_beats.q.val() == 1 {
                            // Record done.
                            if self.cnt_records.q.val() != 0xFFFF_FFFF_u64 {
                                self.cnt_records.d.next = self.cnt_records.q.val() + 1;
                            }
                            self.p_i.d.next = self.p_i.q.val() + 1;
                            self.p_slots.d.next = self.p_slots.q.val() >> 16;
                            self.p_seq.d.next = self.p_seq.q.val() + 1;
                            self.p_lba.d.next = self.p_lba.q.val() + 8;
                            if self.emit_final.q.val() {
                                self.p_needs_ack.d.next = true;
                            }
                            if self.p_opc.val() == 1 {
                                self.ps.d.next = PState::RecLoad;
                                if self.p_last_rec.val() {
                                    self.ps.d.next = PState::Done;
                                }
                            } else if self.p_opc.val() == 2 {
                                self.ps.d.next = PState::RelNext;
                            } else {
                                self.meta_head.d.next = self.meta_head.q.val() + 1;
                                self.ps.d.next = PState::RecWait;
                                if self.p_last_rec.val() {
                                    self.ps.d.next = PState::Done;
                                }
                            }
                        }
                    }
                }
            }
            PState::Free => {
                // RELEASE: free every slot (p_i issues, p_j collects).
                if self.p_i.q.val() < self.p_count.val().get_bits::<5>(0) {
                    self.al_req_valid.next = true;
                    self.al_req_free.next = true;
                    self.al_req_slot.next = self.p_slot.val();
                    if self.al_req_ready.val() {
                        self.p_i.d.next = self.p_i.q.val() + 1;
                        self.p_slots.d.next = self.p_slots.q.val() >> 16;
                    }
                }
                if self.al_rsp_valid.val() {
                    self.p_j.d.next = self.p_j.q.val() + 1;
                    if self.al_rsp_status.val() == 0 {
                        self.p_detail.d.next = self.p_detail.q.val()
                            | (bit_cast::<32, 1>(1.into()) << self.p_j.q.val());
                    } else {
                        self.p_status.d.next = 9.into();
                    }
                    if self.p_j.q.val() == (self.p_count.val().get_bits::<5>(0) - 1) {
                        self.p_i.d.next = 0.into();
                        self.p_slots.d.next = self.pj.q.val().get_bits::<256>(512);
                        self.ps.d.next = PState::RelNext;
                    }
                }
            }
            PState::RelNext => {
                // Zero the header of the next freed slot, if any.
                if self.p_i.q.val() >= self.p_count.val().get_bits::<5>(0) {
                    self.ps.d.next = PState::Done;
                } else if self.rel_here.val().get_bit(0) {
                    self.emit_sr.d.next = 0.into();
                    self.emit_addr.d.next =
                        (bit_cast::<64, 16>(self.p_slot.val()) << 6) + 64 - self.k_beat.val();
                    self.emit_beats.d.next = self.k_rec_beats.val();
                    self.emit_final.d.next = !self.rel_after.val().any();
                    self.ps.d.next = PState::Emit;
                } else {
                    self.p_i.d.next = self.p_i.q.val() + 1;
                    self.p_slots.d.next = self.p_slots.q.val() >> 16;
                }
            }
            PState::CbReq => {
                // COPY_BACK: one read request per slot, then the data.
                if !self.link_active.val() {
                    self.p_status.d.next = 7.into();
                    self.ps.d.next = PState::Done;
                } else {
                    self.p_tx_valid.next = true;
                    self.p_tx_kind.next = 6.into();
                    self.p_tx_addr.next = bit_cast::<64, 32>(self.out_hdr.q.val())
                        + (bit_cast::<64, 16>(self.p_slot.val()) << 12);
                    self.p_tx_data.next =
                        bit_cast::<W, 32>(4096.into()) | (bit_cast::<W, 5>(self.p_i.q.val()) << 32);
                    self.p_tx_last.next = true;
                    if self.tx_ready.val() {
                        self.p_i.d.next = self.p_i.q.val() + 1;
                        self.p_slots.d.next = self.p_slots.q.val() >> 16;
                        if self.p_last_rec.val() {
                            self.p_i.d.next = 0.into();
                            self.ps.d.next = PState::CbData;
                        }
                    }
                }
            }
            PState::CbData => {
                if !self.link_active.val() {
                    self.p_status.d.next = 7.into();
                    self.ps.d.next = PState::Done;
                } else if self.rdata_valid.val() {
                    if self.rdata_err.val() {
                        self.rdata_ready.next = true;
                        self.p_status.d.next = 11.into();
                    } else {
                        self.cb_wr_valid.next = true;
                        self.rdata_ready.next = self.wr_ready.val();
                    }
                    if self.rdata_ready.val() {
                        self.p_off.d.next = self.p_off.q.val() + self.k_beat.val();
                        if self.rdata_last.val() || self.rdata_err.val() {
                            self.p_off.d.next = 0.into();
                            self.p_i.d.next = self.p_i.q.val() + 1;
                            if self.p_last_rec.val() {
                                self.ps.d.next = PState::Done;
                            }
                        }
                    }
                }
            }
            PState::RecWait => {
                // META: each record as it arrives from host memory.
                if self.rec_full.q.val() {
                    self.rec_full.d.next = false;
                    self.rec_err.d.next = false;
                    if self.rec_err.q.val() || self.p_status.q.val().any() {
                        if !self.p_status.q.val().any() {
                            self.p_status.d.next = 6.into();
                        }
                        self.p_needs_ack.d.next = false;
                        self.p_i.d.next = self.p_i.q.val() + 1;
                        if self.p_last_rec.val() {
                            self.ps.d.next = PState::Done;
                        }
                    } else {
                        self.emit_sr.d.next = self.rec_sr.q.val();
                        self.emit_addr.d.next = self.k_meta_window.val()
                            + (bit_cast::<64, 16>(self.meta_head.q.val() & self.meta_mask.val())
                                << 6)
                            + 64
                            - self.k_beat.val();
                        self.emit_beats.d.next = self.k_rec_beats.val();
                        self.emit_final.d.next = self.p_last_rec.val();
                        self.ps.d.next = PState::Emit;
                    }
                }
            }
            PState::Done => {
                if !self.cpl_fifo.full.val() {
                    self.cpl_fifo.write.next = true;
                    self.ps.d.next = PState::Idle;
                }
            }
        }

        // ------------------------------------------------------------------
        // Streamer: routes read data by the kind of the oldest read.
        // ------------------------------------------------------------------
        self.job_dst.next = self.jobs.data_out.val().get_bits::<64>(0);
        self.job_kind.next = self.jobs.data_out.val().get_bits::<2>(64);
        self.job_last.next = self.jobs.data_out.val().get_bit(66);
        self.desc_next.next = 0.into();
        self.st_tx_valid.next = false;
        self.st_tx_ready.next = self.tx_ready.val() && !self.p_tx_valid.val();
        if !self.jobs.empty.val() && self.rd_rsp_valid.val() {
            if self.job_kind.val() == 0 {
                // A descriptor beat: shifted in from the top.
                self.desc_next.next = (self.desc_sr.q.val() >> self.k_w.val())
                    | (bit_cast::<1024, W>(self.rd_rsp_data.val()) << self.k_desc_top.val());
                self.rd_rsp_ready.next = true;
                self.desc_sr.d.next = self.desc_next.val();
                if self.rd_rsp_err.val() {
                    self.desc_err.d.next = true;
                }
                if self.rd_rsp_last.val() {
                    self.desc_fifo.write.next = true;
                    self.desc_fifo.data_in.next = bit_cast::<1025, 1024>(self.desc_next.val())
                        | (bit_cast::<1025, 1>(
                            (self.desc_err.q.val() || self.rd_rsp_err.val()).into(),
                        ) << 1024);
                    self.desc_err.d.next = false;
                    self.jobs.read.next = true;
                }
            } else if self.job_kind.val() == 1 {
                if self.rd_rsp_err.val() || !self.link_active.val() || self.page_fail.q.val().any()
                {
                    // Dropped: an error, or nowhere to send it.
                    self.rd_rsp_ready.next = true;
                    if self.rd_rsp_err.val() {
                        self.page_fail.d.next = 1.into();
                    } else if !self.link_active.val() && !self.page_fail.q.val().any() {
                        self.page_fail.d.next = 2.into();
                    }
                } else {
                    self.st_tx_valid.next = true;
                    self.rd_rsp_ready.next = self.st_tx_ready.val();
                }
                if self.rd_rsp_ready.val() {
                    self.page_off.d.next = self.page_off.q.val() + self.k_beat.val();
                    if self.rd_rsp_last.val() || self.rd_rsp_err.val() {
                        self.page_off.d.next = 0.into();
                        self.jobs.read.next = true;
                        self.page_retire.next = true;
                        if !self.rd_rsp_err.val()
                            && self.link_active.val()
                            && !self.page_fail.q.val().any()
                            && (self.cnt_pages.q.val() != 0xFFFF_FFFF_u64)
                        {
                            self.cnt_pages.d.next = self.cnt_pages.q.val() + 1;
                        }
                        if self.job_last.val() {
                            self.tokens.write.next = true;
                            self.tokens.data_in.next = self.page_fail.q.val();
                            if self.rd_rsp_err.val() {
                                self.tokens.data_in.next = 1.into();
                            } else if !self.link_active.val() && !self.page_fail.q.val().any() {
                                self.tokens.data_in.next = 2.into();
                            }
                            self.page_fail.d.next = 0.into();
                        }
                    }
                }
            } else {
                // A META record read: assembled for the post stage.
                if !self.rec_full.q.val() {
                    self.rd_rsp_ready.next = true;
                    self.rec_sr.d.next = (self.rec_sr.q.val() >> self.k_w.val())
                        | (bit_cast::<512, W>(self.rd_rsp_data.val()) << self.k_top.val());
                    if self.rd_rsp_err.val() {
                        self.rec_err.d.next = true;
                    }
                    if self.rd_rsp_last.val() || self.rd_rsp_err.val() {
                        self.rec_full.d.next = true;
                        self.jobs.read.next = true;
                    }
                }
            }
        }

        if self.page_issue.val() && !self.page_retire.val() {
            self.page_credit.d.next = self.page_credit.q.val() + 1;
        } else if !self.page_issue.val() && self.page_retire.val() {
            self.page_credit.d.next = self.page_credit.q.val() - 1;
        }

        // Read data nobody asked for is dropped rather than left to block
        // the link. While a COPY_BACK is still sending its requests, the
        // first answers wait.
        if (self.ps.q.val() != PState::CbData) && (self.ps.q.val() != PState::CbReq) {
            self.rdata_ready.next = true;
        }

        // Occupancy counters.
        if self.jobs.write.val() && !self.jobs.read.val() {
            self.jobs_out.d.next = self.jobs_out.q.val() + 1;
        } else if !self.jobs.write.val() && self.jobs.read.val() {
            self.jobs_out.d.next = self.jobs_out.q.val() - 1;
        }
        if self.post_fifo.write.val() && !self.cpl_fifo.write.val() {
            self.post_busy.d.next = self.post_busy.q.val() + 1;
        } else if !self.post_fifo.write.val() && self.cpl_fifo.write.val() {
            self.post_busy.d.next = self.post_busy.q.val() - 1;
        }

        // Link output: the post stage first, then the streamed pages.
        if self.p_tx_valid.val() {
            self.tx_valid.next = true;
            self.tx_kind.next = self.p_tx_kind.val();
            self.tx_addr.next = self.p_tx_addr.val();
            self.tx_data.next = self.p_tx_data.val();
            self.tx_last.next = self.p_tx_last.val();
        } else if self.st_tx_valid.val() {
            self.tx_valid.next = true;
            self.tx_kind.next = 3.into();
            self.tx_addr.next = self.job_dst.val() + self.page_off.q.val();
            self.tx_data.next = self.rd_rsp_data.val();
            self.tx_last.next = self.rd_rsp_last.val();
        }

        // ------------------------------------------------------------------
        // Completion writer: in order, after the partner's acknowledgement.
        // ------------------------------------------------------------------
        self.link_q.d.next = self.link_active.val();
        if self.link_q.q.val() && !self.link_active.val() {
            self.link_lost.d.next = true;
        }
        // An acknowledgement nobody waits for (a confused or hostile
        // partner) is dropped.
        self.ack_take.next =
            self.ack_valid.val() && !self.link_lost.q.val() && self.acks_due.q.val().any();
        if self.ack_take.val() {
            self.acks.write.next = true;
        }
        if self.link_lost.q.val() && !self.acks.empty.val() {
            // Acknowledgements from before the cut no longer line up.
            self.acks.read.next = true;
        }
        if self.link_lost.q.val()
            && !self.cpl_pending.q.val().any()
            && (self.cs.q.val() == CState::Idle)
        {
            self.link_lost.d.next = false;
        }
        self.cpl_used.next = self.cpl_tail.q.val() - self.cpl_head.q.val();
        self.cpl_size.next = bit_cast::<17, 1>(1.into()) << self.cpl_log2.q.val();
        self.cpl_full.next = bit_cast::<17, 16>(self.cpl_used.val()) == self.cpl_size.val();
        self.tail_sh.next = self.cpl_tail.q.val() >> self.cpl_log2.q.val();
        self.phase.next = !self.tail_sh.val().get_bit(0);
        // The completion as written, built in Space only.
        self.cpl_value.next = 0.into();
        if self.cs.q.val() == CState::Space {
            self.cpl_value.next = bit_cast::<512, 32>(self.ce.q.val().get_bits::<32>(0))
                | (bit_cast::<512, 8>(self.ce_status.q.val()) << 32)
                | (bit_cast::<512, 8>(self.ce.q.val().get_bits::<8>(40)) << 40)
                | (bit_cast::<512, 1>(self.phase.val().into()) << 48)
                | (bit_cast::<512, 16>(self.ce.q.val().get_bits::<16>(48)) << 64)
                | (bit_cast::<512, 16>(self.ce.q.val().get_bits::<16>(64)) << 80)
                | (bit_cast::<512, 32>(self.ce.q.val().get_bits::<32>(80)) << 96)
                | (bit_cast::<512, 256>(self.ce.q.val().get_bits::<256>(112)) << 128);
        }
        self.cpl_done.next = false;
        match self.cs.q.val() {
            CState::Idle => {
                if !self.cpl_fifo.empty.val() && !self.flushing.q.val() {
                    if !self.cpl_fifo.data_out.val().get_bit(368) {
                        self.ce.d.next = self.cpl_fifo.data_out.val();
                        self.ce_status.d.next = self.cpl_fifo.data_out.val().get_bits::<8>(32);
                        self.cpl_fifo.read.next = true;
                        self.cs.d.next = CState::Space;
                    } else if self.link_lost.q.val() || !self.link_active.val() {
                        self.ce.d.next = self.cpl_fifo.data_out.val();
                        self.ce_status.d.next = 7.into();
                        self.cpl_fifo.read.next = true;
                        self.cs.d.next = CState::Space;
                    } else if !self.acks.empty.val() {
                        self.acks.read.next = true;
                        self.ce.d.next = self.cpl_fifo.data_out.val();
                        self.ce_status.d.next = self.cpl_fifo.data_out.val().get_bits::<8>(32);
                        if self.acks.data_out.val().get_bit(0) {
                            self.ce_status.d.next = 11.into();
                        }
                        self.cpl_fifo.read.next = true;
                        self.cs.d.next = CState::Space;
                    }
                }
            }
            CState::Space => {
                if !self.cpl_full.val() {
                    self.cpl_sr.d.next = self.cpl_value.val();
                    self.cpl_addr.d.next = ((bit_cast::<64, 32>(self.cpl_base_hi.q.val()) << 32)
                        | bit_cast::<64, 32>(self.cpl_base_lo.q.val() & 0xFFFF_FFC0_u64))
                        + (bit_cast::<64, 16>(self.cpl_tail.q.val() & self.cpl_mask.val()) << 6)
                        + 64
                        - self.k_beat.val();
                    self.cpl_beats.d.next = self.k_rec_beats.val();
                    self.cs.d.next = CState::Write;
                }
            }
            CState::Write => {
                // Highest beat first: the phase word lands last.
                if !self.cb_wr_valid.val() {
                    self.wr_valid.next = true;
                    self.wr_addr.next = self.cpl_addr.q.val();
                    self.wr_data.next = bit_cast::<W, 512>(self.cpl_sr.q.val() >> self.k_top.val());
                    if self.wr_ready.val() {
                        self.cpl_sr.d.next = self.cpl_sr.q.val() << self.k_w.val();
                        self.cpl_addr.d.next = self.cpl_addr.q.val() - self.k_beat.val();
                        self.cpl_beats.d.next = self.cpl_beats.q.val() - 1;
                        if self.cpl_beats.q.val() == 1 {
                            self.cpl_tail.d.next = self.cpl_tail.q.val() + 1;
                            if self.cnt_done.q.val() != 0xFFFF_FFFF_u64 {
                                self.cnt_done.d.next = self.cnt_done.q.val() + 1;
                            }
                            if self.ce_status.q.val().any() {
                                if self.cnt_failed.q.val() != 0xFFFF_FFFF_u64 {
                                    self.cnt_failed.d.next = self.cnt_failed.q.val() + 1;
                                }
                                self.last_status.d.next = bit_cast::<32, 8>(self.ce_status.q.val())
                                    | (bit_cast::<32, 16>(self.ce.q.val().get_bits::<16>(64))
                                        << 16);
                            }
                            self.cpl_done.next = true;
                            self.cs.d.next = CState::Idle;
                        }
                    }
                }
            }
        }
        if self.cb_wr_valid.val() {
            self.wr_valid.next = true;
            self.wr_addr.next = self.pj.q.val().get_bits::<64>(64)
                + (bit_cast::<64, 5>(self.p_i.q.val()) << 12)
                + self.p_off.q.val();
            self.wr_data.next = self.rdata_data.val();
        }

        self.ack_sent.next =
            self.p_tx_valid.val() && self.tx_ready.val() && (self.p_tx_kind.val() == 4);
        if self.ack_sent.val() && !self.ack_take.val() {
            self.acks_due.d.next = self.acks_due.q.val() + 1;
        } else if !self.ack_sent.val() && self.ack_take.val() {
            self.acks_due.d.next = self.acks_due.q.val() - 1;
        }
        if self.link_lost.q.val() {
            self.acks_due.d.next = 0.into();
        }
        if self.cpl_fifo.write.val() && !self.cpl_fifo.read.val() {
            self.cpl_pending.d.next = self.cpl_pending.q.val() + 1;
        } else if !self.cpl_fifo.write.val() && self.cpl_fifo.read.val() {
            self.cpl_pending.d.next = self.cpl_pending.q.val() - 1;
        }

        // Interrupt coalescing: a completion written this cycle counts from
        // the next one.
        if self.unsig.q.val().any() && (self.timer.q.val() != 0xFFFF_u64) {
            self.timer.d.next = self.timer.q.val() + 1;
        }
        if self.cpl_done.val() {
            self.unsig.d.next = self.unsig.q.val() + 1;
            if self.ce.q.val().get_bit(369) {
                self.fire_now.d.next = true;
            }
        }
        if (self.unsig.q.val().any()
            && ((self.unsig.q.val() >= self.coal_count.q.val())
                || (self.coal_time.q.val().any()
                    && (self.timer.q.val() >= self.coal_time.q.val()))))
            || self.fire_now.q.val()
        {
            self.irq_event.next = true;
            self.unsig.d.next = 0.into();
            self.timer.d.next = 0.into();
            self.fire_now.d.next = false;
            if self.cpl_done.val() {
                self.unsig.d.next = 1.into();
                self.fire_now.d.next = self.ce.q.val().get_bit(369);
            }
        }

        // ------------------------------------------------------------------
        // Registers
        // ------------------------------------------------------------------
        if self.regs.wr_en.val() {
            if self.regs.wr_word.val() == self.w_ctrl.val() {
                self.enable.d.next = self.regs.wr_data.val().get_bit(0);
            }
            if self.regs.wr_word.val() == self.w_desc_base_lo.val() {
                self.desc_base_lo.d.next = self.regs.wr_data.val() & 0xFFFF_FF80_u64;
            }
            if self.regs.wr_word.val() == self.w_desc_base_hi.val() {
                self.desc_base_hi.d.next = self.regs.wr_data.val();
            }
            if self.regs.wr_word.val() == self.w_desc_log2.val() {
                self.desc_log2.d.next = self.regs.wr_data.val().get_bits::<4>(0);
            }
            if self.regs.wr_word.val() == self.w_desc_tail.val() {
                self.desc_tail.d.next = self.regs.wr_data.val().get_bits::<16>(0);
            }
            if self.regs.wr_word.val() == self.w_cpl_base_lo.val() {
                self.cpl_base_lo.d.next = self.regs.wr_data.val() & 0xFFFF_FFC0_u64;
            }
            if self.regs.wr_word.val() == self.w_cpl_base_hi.val() {
                self.cpl_base_hi.d.next = self.regs.wr_data.val();
            }
            if self.regs.wr_word.val() == self.w_cpl_log2.val() {
                self.cpl_log2.d.next = self.regs.wr_data.val().get_bits::<4>(0);
            }
            if self.regs.wr_word.val() == self.w_cpl_head.val() {
                self.cpl_head.d.next = self.regs.wr_data.val().get_bits::<16>(0);
            }
            if self.regs.wr_word.val() == self.w_coal_count.val() {
                self.coal_count.d.next = self.regs.wr_data.val().get_bits::<16>(0);
            }
            if self.regs.wr_word.val() == self.w_coal_time.val() {
                self.coal_time.d.next = self.regs.wr_data.val().get_bits::<16>(0);
            }
            if self.regs.wr_word.val() == self.w_limit_lo.val() {
                self.limit_lo.d.next = self.regs.wr_data.val();
            }
            if self.regs.wr_word.val() == self.w_limit_hi.val() {
                self.limit_hi.d.next = self.regs.wr_data.val();
            }
            if self.regs.wr_word.val() == self.w_out_size_lo.val() {
                self.out_size_lo.d.next = self.regs.wr_data.val() & 0xFFFF_FFC0_u64;
            }
            if self.regs.wr_word.val() == self.w_out_size_hi.val() {
                self.out_size_hi.d.next = self.regs.wr_data.val();
            }
            if self.regs.wr_word.val() == self.w_out_hdr.val() {
                self.out_hdr.d.next = self.regs.wr_data.val() & 0xFFFF_FFC0_u64;
            }
            if self.regs.wr_word.val() == self.w_meta_log2.val() {
                self.meta_log2.d.next = self.regs.wr_data.val().get_bits::<4>(0);
            }
            if self.regs.wr_word.val() == self.w_meta_tail.val() {
                self.meta_tail.d.next = self.regs.wr_data.val().get_bits::<16>(0);
            }
            if (self.regs.wr_word.val() == self.w_clear.val()) && self.regs.wr_data.val().get_bit(0)
            {
                self.cnt_done.d.next = 0.into();
                self.cnt_failed.d.next = 0.into();
                self.cnt_pages.d.next = 0.into();
                self.cnt_records.d.next = 0.into();
                self.last_status.d.next = 0.into();
            }
        }

        // Reset: registers to their reset values; the FIFOs are drained.
        if self.flushing.q.val() {
            self.desc_fifo.read.next = !self.desc_fifo.empty.val();
            self.jobs.read.next = !self.jobs.empty.val();
            self.tokens.read.next = !self.tokens.empty.val();
            self.post_fifo.read.next = !self.post_fifo.empty.val();
            self.cpl_fifo.read.next = !self.cpl_fifo.empty.val();
            self.acks.read.next = !self.acks.empty.val();
            self.desc_fifo.write.next = false;
            self.jobs.write.next = false;
            self.tokens.write.next = false;
            self.post_fifo.write.next = false;
            self.cpl_fifo.write.next = false;
            self.acks.write.next = false;
            self.rd_rsp_ready.next = true;
            self.rdata_ready.next = true;
            self.jobs_out.d.next = 0.into();
            self.post_busy.d.next = 0.into();
            self.cpl_pending.d.next = 0.into();
            self.acks_due.d.next = 0.into();
            if self.desc_fifo.empty.val()
                && self.jobs.empty.val()
                && self.tokens.empty.val()
                && self.post_fifo.empty.val()
                && self.cpl_fifo.empty.val()
                && self.acks.empty.val()
            {
                self.flushing.d.next = false;
            }
        }
        if self.reset.val() {
            self.flushing.d.next = true;
            self.enable.d.next = false;
            self.desc_base_lo.d.next = 0.into();
            self.desc_base_hi.d.next = 0.into();
            self.desc_log2.d.next = 0.into();
            self.desc_tail.d.next = 0.into();
            self.desc_head.d.next = 0.into();
            self.cpl_base_lo.d.next = 0.into();
            self.cpl_base_hi.d.next = 0.into();
            self.cpl_log2.d.next = 0.into();
            self.cpl_tail.d.next = 0.into();
            self.cpl_head.d.next = 0.into();
            self.coal_count.d.next = 1.into();
            self.coal_time.d.next = 0.into();
            self.limit_lo.d.next = 0xFFFF_FFFF_u64.into();
            self.limit_hi.d.next = 0xFFFF_FFFF_u64.into();
            self.out_size_lo.d.next = 0.into();
            self.out_size_hi.d.next = 0.into();
            self.out_hdr.d.next = 0.into();
            self.meta_log2.d.next = 0.into();
            self.meta_head.d.next = 0.into();
            self.meta_tail.d.next = 0.into();
            self.cnt_done.d.next = 0.into();
            self.cnt_failed.d.next = 0.into();
            self.cnt_pages.d.next = 0.into();
            self.cnt_records.d.next = 0.into();
            self.last_status.d.next = 0.into();
            self.desc_credit.d.next = 0.into();
            self.desc_err.d.next = false;
            self.page_off.d.next = 0.into();
            self.page_fail.d.next = 0.into();
            self.page_credit.d.next = 0.into();
            self.rec_full.d.next = false;
            self.rec_err.d.next = false;
            self.xs.d.next = XState::Idle;
            self.exec_index.d.next = 0.into();
            self.ps.d.next = PState::Idle;
            self.link_lost.d.next = false;
            self.cs.d.next = CState::Idle;
            self.unsig.d.next = 0.into();
            self.timer.d.next = 0.into();
            self.fire_now.d.next = false;
        }

        self.regs.rd_hit.next = true;
        self.regs.rd_data.next = 0.into();
        if self.regs.rd_word.val() == self.w_caps.val() {
            self.regs.rd_data.next = self.k_caps.val();
        } else if self.regs.rd_word.val() == self.w_ctrl.val() {
            self.regs.rd_data.next = bit_cast::<32, 1>(self.enable.q.val().into());
        } else if self.regs.rd_word.val() == self.w_status.val() {
            self.regs.rd_data.next = bit_cast::<32, 1>(
                ((self.xs.q.val() == XState::Idle)
                    && (self.ps.q.val() == PState::Idle)
                    && (self.cs.q.val() == CState::Idle)
                    && self.desc_fifo.empty.val()
                    && self.jobs.empty.val()
                    && self.post_fifo.empty.val()
                    && self.cpl_fifo.empty.val()
                    && !self.desc_credit.q.val().any())
                .into(),
            );
        } else if self.regs.rd_word.val() == self.w_desc_base_lo.val() {
            self.regs.rd_data.next = self.desc_base_lo.q.val();
        } else if self.regs.rd_word.val() == self.w_desc_base_hi.val() {
            self.regs.rd_data.next = self.desc_base_hi.q.val();
        } else if self.regs.rd_word.val() == self.w_desc_log2.val() {
            self.regs.rd_data.next = bit_cast::<32, 4>(self.desc_log2.q.val());
        } else if self.regs.rd_word.val() == self.w_desc_tail.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.desc_tail.q.val());
        } else if self.regs.rd_word.val() == self.w_desc_head.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.desc_head.q.val());
        } else if self.regs.rd_word.val() == self.w_cpl_base_lo.val() {
            self.regs.rd_data.next = self.cpl_base_lo.q.val();
        } else if self.regs.rd_word.val() == self.w_cpl_base_hi.val() {
            self.regs.rd_data.next = self.cpl_base_hi.q.val();
        } else if self.regs.rd_word.val() == self.w_cpl_log2.val() {
            self.regs.rd_data.next = bit_cast::<32, 4>(self.cpl_log2.q.val());
        } else if self.regs.rd_word.val() == self.w_cpl_tail.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.cpl_tail.q.val());
        } else if self.regs.rd_word.val() == self.w_cpl_head.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.cpl_head.q.val());
        } else if self.regs.rd_word.val() == self.w_coal_count.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.coal_count.q.val());
        } else if self.regs.rd_word.val() == self.w_coal_time.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.coal_time.q.val());
        } else if self.regs.rd_word.val() == self.w_limit_lo.val() {
            self.regs.rd_data.next = self.limit_lo.q.val();
        } else if self.regs.rd_word.val() == self.w_limit_hi.val() {
            self.regs.rd_data.next = self.limit_hi.q.val();
        } else if self.regs.rd_word.val() == self.w_out_size_lo.val() {
            self.regs.rd_data.next = self.out_size_lo.q.val();
        } else if self.regs.rd_word.val() == self.w_out_size_hi.val() {
            self.regs.rd_data.next = self.out_size_hi.q.val();
        } else if self.regs.rd_word.val() == self.w_out_hdr.val() {
            self.regs.rd_data.next = self.out_hdr.q.val();
        } else if self.regs.rd_word.val() == self.w_meta_log2.val() {
            self.regs.rd_data.next = bit_cast::<32, 4>(self.meta_log2.q.val());
        } else if self.regs.rd_word.val() == self.w_meta_head.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.meta_head.q.val());
        } else if self.regs.rd_word.val() == self.w_meta_tail.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.meta_tail.q.val());
        } else if self.regs.rd_word.val() == self.w_done.val() {
            self.regs.rd_data.next = self.cnt_done.q.val();
        } else if self.regs.rd_word.val() == self.w_failed.val() {
            self.regs.rd_data.next = self.cnt_failed.q.val();
        } else if self.regs.rd_word.val() == self.w_pages.val() {
            self.regs.rd_data.next = self.cnt_pages.q.val();
        } else if self.regs.rd_word.val() == self.w_records.val() {
            self.regs.rd_data.next = self.cnt_records.q.val();
        } else if self.regs.rd_word.val() == self.w_last_status.val() {
            self.regs.rd_data.next = self.last_status.q.val();
        } else if self.regs.rd_word.val() == self.w_clear.val() {
            self.regs.rd_data.next = 0.into();
        } else {
            self.regs.rd_hit.next = false;
        }
        self.regs.wr_hit.next = (self.regs.wr_word.val() >= self.w_caps.val())
            && (self.regs.wr_word.val() <= self.w_clear.val());
    }
}
