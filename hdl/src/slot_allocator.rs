//! Mirror-slot allocator (DESIGN.md idea 1): the free list of the mirror
//! slots in the **partner's** memory, held by the local card, so taking a slot
//! costs no link message and no partner CPU.
//!
//! ```text
//!  dma_req_* ──┐   S0 arbitrate     S1 alloc: reserve, read   S2 free: decide,
//!              ├─► read pos[slot] ─► 16 stack banks  ───────► push; respond ──► dma_rsp_*
//!  OP (BAR0) ──┘   pre-check        free: read stack[pos]                  └──► RESULT*
//!
//!   stack bank b (b = 0..15), depth MAX/16     pos[slot], depth MAX
//!   ┌────┬────┬─────┬─────┐                    ┌─────────────────┐
//!   │ u=b│b+16│b+32 │ ... │  slot values       │ stack position  │
//!   └────┴────┴─────┴─────┘                    └─────────────────┘
//!     T = free count; stack positions 0..T hold exactly the free slots
//! ```
//!
//! # Organisation, and why
//!
//! The free list is a **stack of slot numbers** split over 16 RAM banks by
//! position, so the up to 16 slots of one alloc sit in 16 different banks and
//! are read in a single cycle: an alloc of k slots costs the same one cycle as
//! an alloc of one. Position q lives at physical index `u = MAX-1-q`, bank
//! `u % 16`, address `u / 16`; the k slots of an alloc are then the banks
//! `r, r+1, …` from a rotation `r`, undone by one barrel rotate.
//!
//! Double frees are caught without a per-slot state bit (which an alloc of 16
//! slots would have to write 16 times in one cycle): a second RAM `pos[slot]`
//! holds the stack position the slot was last pushed to, and a slot is free
//! exactly when `pos[slot] < T` and `stack[pos[slot]] == slot` (the sparse-set
//! membership test of Briggs and Torczon, 1993: stale or uninitialised `pos`
//! entries cannot pass it because positions below T hold only free slots, each
//! once). Allocs write nothing but T. Init pushes slots so that they come out
//! 0, 1, 2, …; a slot `s` has never been handed out since init exactly when
//! it still sits at its initial position, i.e. `N-1-s < L` where L is the
//! lowest T since init — and `N - L` is the high-water mark for free.
//!
//! Cost: `MAX × 16` bits of stack plus `MAX × 16` bits of `pos` (two 1 Mbit
//! memories at 65,536 slots), 17-bit counters, and a 16×16-bit rotate; no CAM.
//!
//! # Timing
//!
//! One operation is accepted per cycle (requesters arbitrated round-robin when
//! both present one). Request in cycle c, response in cycle c+2, for allocs
//! and frees alike, never stalled. Operations are serialised in the order
//! accepted; results are forwarded between the stages where a later operation
//! reads memory an earlier one is still writing.
//!
//! # Ports
//!
//! | port | dir | meaning |
//! |---|---|---|
//! | `dma_req_valid/ready` | in/out | DMA engine request handshake |
//! | `dma_req_free` | in | 1 = free `dma_req_slot`, 0 = alloc `dma_req_count` |
//! | `dma_rsp_valid` | out | response, two cycles after the request was taken |
//! | `dma_rsp_status` | out | `duplex_regs::slot_alloc::status` code |
//! | `dma_rsp_count`, `dma_rsp_slots` | out | slots taken, 16 bits each, slot j at bits 16j.. |
//! | `regs` | — | BAR0 block ALLOC (`duplex_regs::slot_alloc`) |
//! | `error_event` | out | pulses when an error is counted (to IRQ.ERROR) |

use crate::regport::{word, RegPort, WORD_BITS};
use duplex_regs::slot_alloc as a;
use duplex_regs::slot_alloc::status;
use rust_hdl::prelude::*;

/// Slots per request and stack banks.
pub const BANKS: usize = 16;

/// The event counters, bit i of `cnt_inc` for counter i in register order:
/// DOUBLE_FREE, NEVER_ALLOCATED, OUT_OF_RANGE, NOT_READY, BAD_COUNT,
/// NO_SPACE, ALLOC_OPS, FREE_OPS.
const COUNTERS: usize = 8;
const _: () =
    assert!(a::FREE_OPS.offset - a::DOUBLE_FREE_COUNT.offset == 4 * (COUNTERS as u32 - 1));

#[derive(LogicBlock)]
pub struct SlotAllocator<const SB: usize, const BB: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    // Register port (BAR0 block ALLOC)
    pub regs: RegPort,
    // DMA engine requests
    pub dma_req_valid: Signal<In, Bit>,
    pub dma_req_ready: Signal<Out, Bit>,
    pub dma_req_free: Signal<In, Bit>,
    pub dma_req_count: Signal<In, Bits<5>>,
    pub dma_req_slot: Signal<In, Bits<16>>,
    // DMA engine responses (fixed latency, not flow-controlled)
    pub dma_rsp_valid: Signal<Out, Bit>,
    pub dma_rsp_status: Signal<Out, Bits<4>>,
    pub dma_rsp_count: Signal<Out, Bits<5>>,
    pub dma_rsp_slots: Signal<Out, Bits<256>>,
    // Status
    pub error_event: Signal<Out, Bit>,
    /// The active slot count N (ACTIVE_SLOTS).
    pub active_slots: Signal<Out, Bits<17>>,

    // Free-list memories
    bank: [RAM<Bits<16>, BB>; BANKS],
    pos: RAM<Bits<16>, SB>,
    // Free list state
    ready: DFF<Bit>,
    init_busy: DFF<Bit>,
    init_addr: DFF<Bits<BB>>,
    init_val: DFF<Bits<16>>,
    n_act: DFF<Bits<17>>,
    t: DFF<Bits<17>>,
    low: DFF<Bits<17>>,
    slots_reg: DFF<Bits<17>>,
    // Software requester
    sw_pend: DFF<Bit>,
    sw_busy: DFF<Bit>,
    sw_free: DFF<Bit>,
    sw_count: DFF<Bits<5>>,
    sw_slot: DFF<Bits<16>>,
    prefer_sw: DFF<Bit>,
    // Stage S1
    s1_valid: DFF<Bit>,
    s1_sw: DFF<Bit>,
    s1_free: DFF<Bit>,
    s1_count: DFF<Bits<5>>,
    s1_slot: DFF<Bits<16>>,
    s1_rej: DFF<Bits<4>>,
    // Stage S2
    s2_valid: DFF<Bit>,
    s2_sw: DFF<Bit>,
    s2_free: DFF<Bit>,
    s2_count: DFF<Bits<5>>,
    s2_slot: DFF<Bits<16>>,
    s2_status: DFF<Bits<4>>,
    s2_p: DFF<Bits<16>>,
    s2_fbank: DFF<Bits<4>>,
    s2_rot: DFF<Bits<4>>,
    s2_byp: DFF<Bit>,
    s2_byp_slot: DFF<Bits<16>>,
    // The last two pushes (forwarded to frees whose reads missed them)
    c1_valid: DFF<Bit>,
    c1_slot: DFF<Bits<16>>,
    c1_pos: DFF<Bits<16>>,
    c2_valid: DFF<Bit>,
    c2_slot: DFF<Bits<16>>,
    c2_pos: DFF<Bits<16>>,
    // Software result
    res_status: DFF<Bits<4>>,
    res_count: DFF<Bits<5>>,
    res_free: DFF<Bit>,
    res_seq: DFF<Bits<8>>,
    res_slots: DFF<Bits<256>>,
    // Errors and counters (in register order: the counter registers from
    // DOUBLE_FREE_COUNT to FREE_OPS, consecutive words)
    errors: DFF<Bits<7>>,
    cnt: [DFF<Bits<32>>; COUNTERS],
    cnt_inc: Signal<Local, Bits<COUNTERS>>,
    // Combinational
    take_dma: Signal<Local, Bit>,
    take_sw: Signal<Local, Bit>,
    op_valid: Signal<Local, Bit>,
    op_free: Signal<Local, Bit>,
    op_count: Signal<Local, Bits<5>>,
    op_slot: Signal<Local, Bits<16>>,
    op_rej: Signal<Local, Bits<4>>,
    f_d: Signal<Local, Bit>,
    f_member: Signal<Local, Bit>,
    f_status: Signal<Local, Bits<4>>,
    s2_final: Signal<Local, Bits<4>>,
    push: Signal<Local, Bit>,
    u_push: Signal<Local, Bits<17>>,
    t_mid: Signal<Local, Bits<17>>,
    t_new: Signal<Local, Bits<17>>,
    alloc_ok: Signal<Local, Bit>,
    s1_status: Signal<Local, Bits<4>>,
    u_alloc: Signal<Local, Bits<17>>,
    u_free: Signal<Local, Bits<17>>,
    hi: Signal<Local, Bits<BB>>,
    rot: Signal<Local, Bits<4>>,
    never_lim: Signal<Local, Bits<17>>,
    cat: Signal<Local, Bits<256>>,
    cat2: Signal<Local, Bits<512>>,
    rot16: Signal<Local, Bits<9>>,
    cnt16: Signal<Local, Bits<9>>,
    slots_out: Signal<Local, Bits<256>>,
    err_now: Signal<Local, Bits<7>>,
    init_ok: Signal<Local, Bit>,
    init_first: Signal<Local, Bits<17>>,
    // Constants
    c_max: Constant<Bits<17>>,
    c_max1: Constant<Bits<17>>,
    c_last_addr: Constant<Bits<BB>>,
    c_ones: Constant<Bits<256>>,
    c_hi_mask: Constant<Bits<256>>,
    c_bank: [Constant<Bits<16>>; BANKS],
    c_caps: Constant<Bits<32>>,
    k_no_space: Constant<Bits<4>>,
    k_not_ready: Constant<Bits<4>>,
    k_bad_count: Constant<Bits<4>>,
    k_range: Constant<Bits<4>>,
    k_never: Constant<Bits<4>>,
    k_double: Constant<Bits<4>>,
    w_caps: Constant<Bits<WORD_BITS>>,
    w_slots: Constant<Bits<WORD_BITS>>,
    w_ctrl: Constant<Bits<WORD_BITS>>,
    w_status: Constant<Bits<WORD_BITS>>,
    w_active: Constant<Bits<WORD_BITS>>,
    w_free_count: Constant<Bits<WORD_BITS>>,
    w_alloc_count: Constant<Bits<WORD_BITS>>,
    w_high_water: Constant<Bits<WORD_BITS>>,
    w_errors: Constant<Bits<WORD_BITS>>,
    w_cnt_first: Constant<Bits<WORD_BITS>>,
    w_clear: Constant<Bits<WORD_BITS>>,
    w_op: Constant<Bits<WORD_BITS>>,
    w_result: Constant<Bits<WORD_BITS>>,
    w_result_slots: Constant<Bits<WORD_BITS>>,
}

fn k4(v: u32) -> Constant<Bits<4>> {
    Constant::new((v as u64).to_bits())
}

impl<const SB: usize, const BB: usize> SlotAllocator<SB, BB> {
    /// An allocator for up to `2^SB` slots in 16 banks of `2^BB` entries.
    ///
    /// # Panics
    /// When the parameters do not fit: `SB` outside 5..=16 or `BB != SB - 4`.
    pub fn new() -> Self {
        assert!((5..=16).contains(&SB), "max slots must be 32..=65,536");
        assert_eq!(BB + 4, SB, "16 banks of MAX/16 entries");
        let max = 1u64 << SB;
        let bits = |v: u64| -> Constant<Bits<17>> { Constant::new(v.to_bits()) };
        Self {
            clock: Default::default(),
            reset: Default::default(),
            regs: Default::default(),
            dma_req_valid: Default::default(),
            dma_req_ready: Default::default(),
            dma_req_free: Default::default(),
            dma_req_count: Default::default(),
            dma_req_slot: Default::default(),
            dma_rsp_valid: Default::default(),
            dma_rsp_status: Default::default(),
            dma_rsp_count: Default::default(),
            dma_rsp_slots: Default::default(),
            error_event: Default::default(),
            active_slots: Default::default(),
            bank: std::array::from_fn(|_| Default::default()),
            pos: Default::default(),
            ready: Default::default(),
            init_busy: Default::default(),
            init_addr: Default::default(),
            init_val: Default::default(),
            n_act: Default::default(),
            t: Default::default(),
            low: Default::default(),
            slots_reg: Default::default(),
            sw_pend: Default::default(),
            sw_busy: Default::default(),
            sw_free: Default::default(),
            sw_count: Default::default(),
            sw_slot: Default::default(),
            prefer_sw: Default::default(),
            s1_valid: Default::default(),
            s1_sw: Default::default(),
            s1_free: Default::default(),
            s1_count: Default::default(),
            s1_slot: Default::default(),
            s1_rej: Default::default(),
            s2_valid: Default::default(),
            s2_sw: Default::default(),
            s2_free: Default::default(),
            s2_count: Default::default(),
            s2_slot: Default::default(),
            s2_status: Default::default(),
            s2_p: Default::default(),
            s2_fbank: Default::default(),
            s2_rot: Default::default(),
            s2_byp: Default::default(),
            s2_byp_slot: Default::default(),
            c1_valid: Default::default(),
            c1_slot: Default::default(),
            c1_pos: Default::default(),
            c2_valid: Default::default(),
            c2_slot: Default::default(),
            c2_pos: Default::default(),
            res_status: Default::default(),
            res_count: Default::default(),
            res_free: Default::default(),
            res_seq: Default::default(),
            res_slots: Default::default(),
            errors: Default::default(),
            cnt: Default::default(),
            cnt_inc: Default::default(),
            take_dma: Default::default(),
            take_sw: Default::default(),
            op_valid: Default::default(),
            op_free: Default::default(),
            op_count: Default::default(),
            op_slot: Default::default(),
            op_rej: Default::default(),
            f_d: Default::default(),
            f_member: Default::default(),
            f_status: Default::default(),
            s2_final: Default::default(),
            push: Default::default(),
            u_push: Default::default(),
            t_mid: Default::default(),
            t_new: Default::default(),
            alloc_ok: Default::default(),
            s1_status: Default::default(),
            u_alloc: Default::default(),
            u_free: Default::default(),
            hi: Default::default(),
            rot: Default::default(),
            never_lim: Default::default(),
            cat: Default::default(),
            cat2: Default::default(),
            rot16: Default::default(),
            cnt16: Default::default(),
            slots_out: Default::default(),
            err_now: Default::default(),
            init_ok: Default::default(),
            init_first: Default::default(),
            c_max: bits(max),
            c_max1: bits(max - 1),
            c_last_addr: Constant::new(((1u64 << BB) - 1).to_bits()),
            c_ones: Constant::new(Bits::<256>::mask()),
            c_hi_mask: Constant::new(Bits::<256>::mask() << 16),
            c_bank: std::array::from_fn(|b| Constant::new((b as u64).to_bits())),
            c_caps: Constant::new((max | ((a::MAX_COUNT as u64) << 20)).to_bits()),
            k_no_space: k4(status::NO_SPACE),
            k_not_ready: k4(status::NOT_READY),
            k_bad_count: k4(status::BAD_COUNT),
            k_range: k4(status::OUT_OF_RANGE),
            k_never: k4(status::NEVER_ALLOCATED),
            k_double: k4(status::DOUBLE_FREE),
            w_caps: word(a::CAPS),
            w_slots: word(a::SLOTS),
            w_ctrl: word(a::CTRL),
            w_status: word(a::STATUS),
            w_active: word(a::ACTIVE_SLOTS),
            w_free_count: word(a::FREE_COUNT),
            w_alloc_count: word(a::ALLOC_COUNT),
            w_high_water: word(a::HIGH_WATER),
            w_errors: word(a::ERRORS),
            w_cnt_first: word(a::DOUBLE_FREE_COUNT),
            w_clear: word(a::CLEAR),
            w_op: word(a::OP),
            w_result: word(a::RESULT),
            w_result_slots: word(a::RESULT_SLOTS),
        }
    }
}

impl<const SB: usize, const BB: usize> Default for SlotAllocator<SB, BB> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SB: usize, const BB: usize> Logic for SlotAllocator<SB, BB> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            ready,
            init_busy,
            init_addr,
            init_val,
            n_act,
            t,
            low,
            slots_reg,
            sw_pend,
            sw_busy,
            sw_free,
            sw_count,
            sw_slot,
            prefer_sw,
            s1_valid,
            s1_sw,
            s1_free,
            s1_count,
            s1_slot,
            s1_rej,
            s2_valid,
            s2_sw,
            s2_free,
            s2_count,
            s2_slot,
            s2_status,
            s2_p,
            s2_fbank,
            s2_rot,
            s2_byp,
            s2_byp_slot,
            c1_valid,
            c1_slot,
            c1_pos,
            c2_valid,
            c2_slot,
            c2_pos,
            res_status,
            res_count,
            res_free,
            res_seq,
            res_slots,
            errors
        );
        for i in 0..COUNTERS {
            self.cnt[i].clock.next = self.clock.val();
            self.cnt[i].d.next = self.cnt[i].q.val();
        }
        for b in 0..BANKS {
            self.bank[b].read_clock.next = self.clock.val();
            self.bank[b].write_clock.next = self.clock.val();
            self.bank[b].write_enable.next = false;
            self.bank[b].write_address.next = 0.into();
            self.bank[b].write_data.next = 0.into();
            self.bank[b].read_address.next = 0.into();
        }
        self.pos.read_clock.next = self.clock.val();
        self.pos.write_clock.next = self.clock.val();
        self.err_now.next = 0.into();

        // ---- S0: arbitration (round-robin under contention) and pre-checks.
        self.dma_req_ready.next = !(self.sw_pend.q.val() && self.prefer_sw.q.val());
        self.take_dma.next = self.dma_req_valid.val() && self.dma_req_ready.val();
        self.take_sw.next = self.sw_pend.q.val() && !self.take_dma.val();
        if self.take_dma.val() {
            self.prefer_sw.d.next = self.sw_pend.q.val();
        } else if self.take_sw.val() {
            self.prefer_sw.d.next = false;
        }
        self.op_valid.next = self.take_dma.val() || self.take_sw.val();
        self.op_free.next = self.dma_req_free.val();
        self.op_count.next = self.dma_req_count.val();
        self.op_slot.next = self.dma_req_slot.val();
        if self.take_sw.val() {
            self.op_free.next = self.sw_free.q.val();
            self.op_count.next = self.sw_count.q.val();
            self.op_slot.next = self.sw_slot.q.val();
            self.sw_pend.d.next = false;
        }
        self.op_rej.next = 0.into();
        if !self.ready.q.val() {
            self.op_rej.next = self.k_not_ready.val();
        } else if self.op_free.val() {
            if bit_cast::<17, 16>(self.op_slot.val()) >= self.n_act.q.val() {
                self.op_rej.next = self.k_range.val();
            }
        } else if (self.op_count.val() == 0) || (self.op_count.val() > 16) {
            self.op_rej.next = self.k_bad_count.val();
        }
        self.pos.read_address.next = self.op_slot.val().get_bits::<SB>(0);
        self.s1_valid.d.next = self.op_valid.val();
        self.s1_sw.d.next = self.take_sw.val();
        self.s1_free.d.next = self.op_free.val();
        self.s1_count.d.next = self.op_count.val();
        self.s1_slot.d.next = self.op_slot.val();
        self.s1_rej.d.next = self.op_rej.val();

        // ---- S2: a free decides and commits (before the S1 alloc of this
        // cycle, which was accepted after it).
        self.f_d.next = false;
        for b in 0..BANKS {
            if self.s2_fbank.q.val().index() == b {
                self.f_d.next = self.bank[b].read_data.val() == self.s2_slot.q.val();
            }
        }
        // Is the slot on the free list now? Pushes of the last two cycles were
        // not visible to the memory reads; forward them (newest first).
        if self.c1_valid.q.val() && (self.c1_slot.q.val() == self.s2_slot.q.val()) {
            self.f_member.next = bit_cast::<17, 16>(self.c1_pos.q.val()) < self.t.q.val();
        } else if self.c2_valid.q.val() && (self.c2_slot.q.val() == self.s2_slot.q.val()) {
            self.f_member.next = (bit_cast::<17, 16>(self.c2_pos.q.val()) < self.t.q.val())
                && !(self.c1_valid.q.val() && (self.c1_pos.q.val() == self.c2_pos.q.val()));
        } else {
            self.f_member.next = (bit_cast::<17, 16>(self.s2_p.q.val()) < self.t.q.val())
                && self.f_d.val()
                && !(self.c1_valid.q.val() && (self.c1_pos.q.val() == self.s2_p.q.val()));
        }
        // A slot never handed out since init still sits at its initial
        // position N-1-s, below the low-water mark L: s >= N - L.
        self.never_lim.next = self.n_act.q.val() - self.low.q.val();
        self.f_status.next = 0.into();
        if bit_cast::<17, 16>(self.s2_slot.q.val()) >= self.never_lim.val() {
            self.f_status.next = self.k_never.val();
        } else if self.f_member.val() {
            self.f_status.next = self.k_double.val();
        }
        self.s2_final.next = self.s2_status.q.val();
        if self.s2_free.q.val() && (self.s2_status.q.val() == 0) {
            self.s2_final.next = self.f_status.val();
        }
        // Operations still in flight when an init starts are answered
        // NOT_READY and commit nothing: init rebuilds the list under them.
        if self.init_busy.q.val() {
            self.s2_final.next = self.k_not_ready.val();
        }
        self.push.next =
            self.s2_valid.q.val() && self.s2_free.q.val() && (self.s2_final.val() == 0);
        self.u_push.next = self.c_max1.val() - self.t.q.val();
        if self.push.val() {
            for b in 0..BANKS {
                if self.u_push.val().get_bits::<4>(0).index() == b {
                    self.bank[b].write_enable.next = true;
                }
                self.bank[b].write_address.next = self.u_push.val().get_bits::<BB>(4);
                self.bank[b].write_data.next = self.s2_slot.q.val();
            }
        }
        self.pos.write_enable.next = self.push.val();
        self.pos.write_address.next = self.s2_slot.q.val().get_bits::<SB>(0);
        self.pos.write_data.next = self.t.q.val().get_bits::<16>(0);
        self.c2_valid.d.next = self.c1_valid.q.val();
        self.c2_slot.d.next = self.c1_slot.q.val();
        self.c2_pos.d.next = self.c1_pos.q.val();
        self.c1_valid.d.next = self.push.val();
        self.c1_slot.d.next = self.s2_slot.q.val();
        self.c1_pos.d.next = self.t.q.val().get_bits::<16>(0);
        self.t_mid.next = self.t.q.val() + self.push.val();

        // ---- S1: an alloc reserves its slots and reads them from the banks;
        // a free reads the stack entry at its recorded position.
        self.alloc_ok.next = self.s1_valid.q.val()
            && !self.init_busy.q.val()
            && !self.s1_free.q.val()
            && (self.s1_rej.q.val() == 0)
            && (bit_cast::<17, 5>(self.s1_count.q.val()) <= self.t_mid.val());
        self.s1_status.next = self.s1_rej.q.val();
        if !self.s1_free.q.val()
            && (self.s1_rej.q.val() == 0)
            && (bit_cast::<17, 5>(self.s1_count.q.val()) > self.t_mid.val())
        {
            self.s1_status.next = self.k_no_space.val();
        }
        self.t_new.next = self.t_mid.val();
        if self.alloc_ok.val() {
            self.t_new.next = self.t_mid.val() - bit_cast::<17, 5>(self.s1_count.q.val());
            if self.t_new.val() < self.low.q.val() {
                self.low.d.next = self.t_new.val();
            }
        }
        self.t.d.next = self.t_new.val();
        // Top of stack is position T_mid-1, physical index MAX - T_mid.
        self.u_alloc.next = self.c_max.val() - self.t_mid.val();
        self.rot.next = self.u_alloc.val().get_bits::<4>(0);
        self.hi.next = self.u_alloc.val().get_bits::<BB>(4);
        self.u_free.next = self.c_max1.val() - bit_cast::<17, 16>(self.pos.read_data.val());
        for b in 0..BANKS {
            if self.s1_free.q.val() {
                self.bank[b].read_address.next = self.u_free.val().get_bits::<BB>(4);
            } else if self.rot.val().index() > b {
                self.bank[b].read_address.next = self.hi.val() + 1;
            } else {
                self.bank[b].read_address.next = self.hi.val();
            }
        }
        self.s2_valid.d.next = self.s1_valid.q.val();
        self.s2_sw.d.next = self.s1_sw.q.val();
        self.s2_free.d.next = self.s1_free.q.val();
        self.s2_count.d.next = self.s1_count.q.val();
        self.s2_slot.d.next = self.s1_slot.q.val();
        self.s2_status.d.next = self.s1_status.val();
        self.s2_p.d.next = self.pos.read_data.val();
        self.s2_fbank.d.next = self.u_free.val().get_bits::<4>(0);
        self.s2_rot.d.next = self.rot.val();
        // The free committing this cycle pushed the very slot at the top.
        self.s2_byp.d.next = self.alloc_ok.val() && self.push.val();
        self.s2_byp_slot.d.next = self.s2_slot.q.val();

        // ---- S2 output: rotate the banks into slot order. Only evaluated
        // when an alloc succeeds (the wide logic is the costliest part of
        // the block to simulate; in hardware it is the same mux either way).
        self.cat.next = 0.into();
        self.cat2.next = 0.into();
        self.rot16.next = 0.into();
        self.cnt16.next = 0.into();
        self.slots_out.next = 0.into();
        if self.s2_valid.q.val() && !self.s2_free.q.val() && (self.s2_final.val() == 0) {
            // (Written out: rust-hdl cannot widen a value indexed by a loop variable.)
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[0].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[1].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[2].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[3].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[4].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[5].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[6].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[7].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[8].read_data.val()) << 240);
            self.cat.next =
                (self.cat.val() >> 16) | (bit_cast::<256, 16>(self.bank[9].read_data.val()) << 240);
            self.cat.next = (self.cat.val() >> 16)
                | (bit_cast::<256, 16>(self.bank[10].read_data.val()) << 240);
            self.cat.next = (self.cat.val() >> 16)
                | (bit_cast::<256, 16>(self.bank[11].read_data.val()) << 240);
            self.cat.next = (self.cat.val() >> 16)
                | (bit_cast::<256, 16>(self.bank[12].read_data.val()) << 240);
            self.cat.next = (self.cat.val() >> 16)
                | (bit_cast::<256, 16>(self.bank[13].read_data.val()) << 240);
            self.cat.next = (self.cat.val() >> 16)
                | (bit_cast::<256, 16>(self.bank[14].read_data.val()) << 240);
            self.cat.next = (self.cat.val() >> 16)
                | (bit_cast::<256, 16>(self.bank[15].read_data.val()) << 240);
            self.cat2.next = bit_cast::<512, 256>(self.cat.val())
                | (bit_cast::<512, 256>(self.cat.val()) << 256);
            self.rot16.next = bit_cast::<9, 4>(self.s2_rot.q.val()) << 4;
            self.slots_out.next = self.cat2.val().get_bits::<256>(self.rot16.val().index());
            if self.s2_byp.q.val() {
                self.slots_out.next = (self.slots_out.val() & self.c_hi_mask.val())
                    | bit_cast::<256, 16>(self.s2_byp_slot.q.val());
            }
            self.cnt16.next = bit_cast::<9, 5>(self.s2_count.q.val()) << 4;
            self.slots_out.next = self.slots_out.val() & !(self.c_ones.val() << self.cnt16.val());
        }
        self.dma_rsp_valid.next = self.s2_valid.q.val() && !self.s2_sw.q.val();
        self.active_slots.next = self.n_act.q.val();
        self.dma_rsp_status.next = self.s2_final.val();
        self.dma_rsp_count.next = 0.into();
        if !self.s2_free.q.val() && (self.s2_final.val() == 0) {
            self.dma_rsp_count.next = self.s2_count.q.val();
        }
        self.dma_rsp_slots.next = self.slots_out.val();
        if self.s2_valid.q.val() && self.s2_sw.q.val() {
            self.res_status.d.next = self.s2_final.val();
            self.res_count.d.next = self.dma_rsp_count.val();
            self.res_free.d.next = self.s2_free.q.val();
            self.res_slots.d.next = self.slots_out.val();
            self.res_seq.d.next = self.res_seq.q.val() + 1;
            self.sw_busy.d.next = false;
        }

        // ---- Errors and counters, at the point an operation is decided.
        self.cnt_inc.next = 0.into();
        if self.s2_valid.q.val() {
            if self.s2_final.val() == 0 {
                if self.s2_free.q.val() {
                    self.cnt_inc.next = 128.into();
                } else {
                    self.cnt_inc.next = 64.into();
                }
            }
            if self.s2_final.val() == self.k_no_space.val() {
                self.cnt_inc.next = 32.into();
            }
            if self.s2_final.val() == self.k_double.val() {
                self.err_now.next = 1.into();
                self.cnt_inc.next = 1.into();
            }
            if self.s2_final.val() == self.k_never.val() {
                self.err_now.next = 2.into();
                self.cnt_inc.next = 2.into();
            }
            if self.s2_final.val() == self.k_range.val() {
                self.err_now.next = 4.into();
                self.cnt_inc.next = 4.into();
            }
            if self.s2_final.val() == self.k_not_ready.val() {
                self.err_now.next = 8.into();
                self.cnt_inc.next = 8.into();
            }
            if self.s2_final.val() == self.k_bad_count.val() {
                self.err_now.next = 16.into();
                self.cnt_inc.next = 16.into();
            }
        }
        // Saturating at 0xFFFFFFFF.
        for i in 0..COUNTERS {
            if self.cnt_inc.val().get_bit(i) && (self.cnt[i].q.val() != 0xFFFF_FFFF_u64) {
                self.cnt[i].d.next = self.cnt[i].q.val() + 1;
            }
        }

        // ---- Register writes.
        self.init_ok.next = (self.slots_reg.q.val() != 0)
            && (self.slots_reg.q.val() <= self.c_max.val())
            && (self.regs.wr_data.val().get_bit(1)
                || !self.ready.q.val()
                || ((self.t.q.val() == self.n_act.q.val())
                    && !self.s1_valid.q.val()
                    && !self.s2_valid.q.val()));
        self.init_first.next = self.slots_reg.q.val() - self.c_max.val();
        if self.regs.wr_en.val() {
            if self.regs.wr_word.val() == self.w_slots.val() {
                self.slots_reg.d.next = self.regs.wr_data.val().get_bits::<17>(0);
            }
            if (self.regs.wr_word.val() == self.w_ctrl.val()) && self.regs.wr_data.val().get_bit(0)
            {
                if self.init_ok.val() {
                    self.init_busy.d.next = true;
                    self.ready.d.next = false;
                    self.init_addr.d.next = 0.into();
                    // Physical index u holds slot u - (MAX - N).
                    self.init_val.d.next = self.init_first.val().get_bits::<16>(0);
                    self.n_act.d.next = self.slots_reg.q.val();
                } else {
                    self.err_now.next = self.err_now.val() | 32;
                }
            }
            if self.regs.wr_word.val() == self.w_errors.val() {
                self.errors.d.next =
                    self.errors.q.val() & !self.regs.wr_data.val().get_bits::<7>(0);
            }
            if (self.regs.wr_word.val() == self.w_clear.val()) && self.regs.wr_data.val().get_bit(0)
            {
                for i in 0..COUNTERS {
                    self.cnt[i].d.next = 0.into();
                }
            }
            if self.regs.wr_word.val() == self.w_op.val() {
                if self.sw_busy.q.val() {
                    self.err_now.next = self.err_now.val() | 64;
                } else {
                    self.sw_pend.d.next = true;
                    self.sw_busy.d.next = true;
                    self.sw_free.d.next = self.regs.wr_data.val().get_bit(31);
                    self.sw_count.d.next = self.regs.wr_data.val().get_bits::<5>(16);
                    self.sw_slot.d.next = self.regs.wr_data.val().get_bits::<16>(0);
                }
            }
        }
        self.errors.d.next = self.errors.d.val() | self.err_now.val();
        self.error_event.next = self.err_now.val().any();

        // ---- Init: 16 banks written in parallel, MAX/16 cycles.
        if self.init_busy.q.val() {
            for b in 0..BANKS {
                self.bank[b].write_enable.next = true;
                self.bank[b].write_address.next = self.init_addr.q.val();
                self.bank[b].write_data.next = self.init_val.q.val() + self.c_bank[b].val();
            }
            self.init_addr.d.next = self.init_addr.q.val() + 1;
            self.init_val.d.next = self.init_val.q.val() + 16;
            if self.init_addr.q.val() == self.c_last_addr.val() {
                self.init_busy.d.next = false;
                self.ready.d.next = true;
                self.t.d.next = self.n_act.q.val();
                self.low.d.next = self.n_act.q.val();
                self.c1_valid.d.next = false;
                self.c2_valid.d.next = false;
            }
        }

        if self.reset.val() {
            self.ready.d.next = false;
            self.init_busy.d.next = false;
            self.n_act.d.next = 0.into();
            self.t.d.next = 0.into();
            self.low.d.next = 0.into();
            self.slots_reg.d.next = 0.into();
            self.sw_pend.d.next = false;
            self.sw_busy.d.next = false;
            self.prefer_sw.d.next = false;
            self.s1_valid.d.next = false;
            self.s2_valid.d.next = false;
            self.c1_valid.d.next = false;
            self.c2_valid.d.next = false;
            self.res_status.d.next = 0.into();
            self.res_count.d.next = 0.into();
            self.res_free.d.next = false;
            self.res_seq.d.next = 0.into();
            self.res_slots.d.next = 0.into();
            self.errors.d.next = 0.into();
            for i in 0..COUNTERS {
                self.cnt[i].d.next = 0.into();
            }
        }

        // ---- Register reads.
        self.regs.rd_hit.next = true;
        self.regs.rd_data.next = 0.into();
        if self.regs.rd_word.val() == self.w_caps.val() {
            self.regs.rd_data.next = self.c_caps.val();
        } else if self.regs.rd_word.val() == self.w_slots.val() {
            self.regs.rd_data.next = bit_cast::<32, 17>(self.slots_reg.q.val());
        } else if self.regs.rd_word.val() == self.w_status.val() {
            self.regs.rd_data.next = bit_cast::<32, 1>(self.ready.q.val().into())
                | (bit_cast::<32, 1>(self.init_busy.q.val().into()) << 1);
        } else if self.regs.rd_word.val() == self.w_active.val() {
            self.regs.rd_data.next = bit_cast::<32, 17>(self.n_act.q.val());
        } else if self.regs.rd_word.val() == self.w_free_count.val() {
            self.regs.rd_data.next = bit_cast::<32, 17>(self.t.q.val());
        } else if self.regs.rd_word.val() == self.w_alloc_count.val() {
            self.regs.rd_data.next = bit_cast::<32, 17>(self.n_act.q.val() - self.t.q.val());
        } else if self.regs.rd_word.val() == self.w_high_water.val() {
            self.regs.rd_data.next = bit_cast::<32, 17>(self.never_lim.val());
        } else if self.regs.rd_word.val() == self.w_errors.val() {
            self.regs.rd_data.next = bit_cast::<32, 7>(self.errors.q.val());
        } else if (self.regs.rd_word.val() == self.w_ctrl.val())
            || (self.regs.rd_word.val() == self.w_clear.val())
            || (self.regs.rd_word.val() == self.w_op.val())
        {
            self.regs.rd_data.next = 0.into();
        } else if self.regs.rd_word.val() == self.w_result.val() {
            self.regs.rd_data.next = bit_cast::<32, 4>(self.res_status.q.val())
                | (bit_cast::<32, 5>(self.res_count.q.val()) << 4)
                | (bit_cast::<32, 1>(self.res_free.q.val().into()) << 12)
                | (bit_cast::<32, 8>(self.res_seq.q.val()) << 16)
                | (bit_cast::<32, 1>(self.sw_busy.q.val().into()) << 31);
        } else {
            self.regs.rd_hit.next = false;
        }
        for i in 0..COUNTERS {
            if (self.regs.rd_word.val() - self.w_cnt_first.val()).index() == i {
                self.regs.rd_hit.next = true;
                self.regs.rd_data.next = self.cnt[i].q.val();
            }
        }
        for i in 0..8 {
            if (self.regs.rd_word.val() - self.w_result_slots.val()).index() == i {
                self.regs.rd_hit.next = true;
                self.regs.rd_data.next = self.res_slots.q.val().get_bits::<32>(i * 32);
            }
        }
        self.regs.wr_hit.next = ((self.regs.wr_word.val() >= self.w_caps.val())
            && (self.regs.wr_word.val() <= self.w_result.val()))
            || ((self.regs.wr_word.val() - self.w_result_slots.val()) < 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verilog<const SB: usize, const BB: usize>() -> String {
        let mut uut = SlotAllocator::<SB, BB>::new();
        uut.connect_all();
        generate_verilog(&uut)
    }

    #[test]
    fn allocator_passes_the_yosys_structural_check() {
        crate::check::yosys_check(&verilog::<8, 4>()).expect("yosys check");
    }

    #[test]
    #[should_panic(expected = "16 banks")]
    fn mismatched_bank_parameters_are_refused() {
        let _ = SlotAllocator::<12, 4>::new();
    }
}
