//! NTB block: the card's side of the non-transparent bridge — link state,
//! doorbells and scratchpads shared with the partner card.
//!
//! ```text
//!   PEER_SPAD[i] / PEER_DB writes ──► msg FIFO ──► tx_* ──► link ──► partner
//!   partner ──► link ──► rx_* ──► SPAD[i] / DB (set bits)
//!                                  DB & !DB_MASK ──► doorbell (to IRQ block)
//!   link_up ──► LINK_STATUS, link_change pulse (to IRQ block)
//! ```
//!
//! Link transactions carry a kind, an address and one data beat of the card's
//! data-path width. Kinds used here: [`LINK_SPAD`] (address = scratchpad index,
//! data bits 31:0 = value) and [`LINK_DOORBELL`] (data bits 15:0 = doorbell
//! bits to set). The receiver always accepts (`rx_ready` is high) so the link
//! never blocks behind register traffic. Messages written while the link is
//! not active, or while 16 are already queued, are dropped and counted in
//! `TX_DROPPED`, like a posted write to a dead bridge.

use crate::regport::{word, RegPort, WORD_BITS};
use duplex_regs::{ntb, params};
use rust_hdl::prelude::*;

/// Link transaction kinds (`ntb_*_kind` ports).
pub const LINK_SPAD: u64 = 1;
pub const LINK_DOORBELL: u64 = 2;

/// Number of scratchpads (must match `duplex_regs::params::SCRATCHPADS`).
pub const SPADS: usize = 8;
const _: () = assert!(SPADS as u32 == params::SCRATCHPADS);

#[derive(LogicBlock)]
pub struct NtbBlock<const W: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub regs: RegPort,
    // Physical link state
    pub link_up: Signal<In, Bit>,
    // Outbound link stream
    pub tx_valid: Signal<Out, Bit>,
    pub tx_ready: Signal<In, Bit>,
    pub tx_kind: Signal<Out, Bits<4>>,
    pub tx_addr: Signal<Out, Bits<64>>,
    pub tx_data: Signal<Out, Bits<W>>,
    pub tx_last: Signal<Out, Bit>,
    // Inbound link stream
    pub rx_valid: Signal<In, Bit>,
    pub rx_ready: Signal<Out, Bit>,
    pub rx_kind: Signal<In, Bits<4>>,
    pub rx_addr: Signal<In, Bits<64>>,
    pub rx_data: Signal<In, Bits<W>>,
    pub rx_last: Signal<In, Bit>,
    // To the IRQ block
    pub doorbell: Signal<Out, Bit>,
    pub link_change: Signal<Out, Bit>,
    /// The link is up and enabled (LINK_STATUS.ACTIVE).
    pub link_active: Signal<Out, Bit>,
    spad: [DFF<Bits<32>>; SPADS],
    db: DFF<Bits<16>>,
    db_mask: DFF<Bits<16>>,
    enable: DFFWithInit<Bits<1>>,
    link_up_q: DFF<Bit>,
    tx_count: DFF<Bits<32>>,
    rx_count: DFF<Bits<32>>,
    tx_dropped: DFF<Bits<32>>,
    txq: SynchronousFIFO<Bits<40>, 4, 5, 1>,
    active: Signal<Local, Bit>,
    push: Signal<Local, Bit>,
    push_msg: Signal<Local, Bits<40>>,
    peer_index: Signal<Local, Bits<WORD_BITS>>,
    drop_head: Signal<Local, Bit>,
    rx_set: Signal<Local, Bits<16>>,
    w_link_status: Constant<Bits<WORD_BITS>>,
    w_link_ctrl: Constant<Bits<WORD_BITS>>,
    w_db: Constant<Bits<WORD_BITS>>,
    w_db_mask: Constant<Bits<WORD_BITS>>,
    w_db_set: Constant<Bits<WORD_BITS>>,
    w_peer_db: Constant<Bits<WORD_BITS>>,
    w_tx_count: Constant<Bits<WORD_BITS>>,
    w_rx_count: Constant<Bits<WORD_BITS>>,
    w_tx_dropped: Constant<Bits<WORD_BITS>>,
    w_spad: Constant<Bits<WORD_BITS>>,
    w_peer_spad: Constant<Bits<WORD_BITS>>,
    k_spad: Constant<Bits<4>>,
    k_doorbell: Constant<Bits<4>>,
}

impl<const W: usize> Default for NtbBlock<W> {
    fn default() -> Self {
        assert!(
            W >= 32,
            "the link data beat must hold a 32-bit register value"
        );
        Self {
            clock: Default::default(),
            reset: Default::default(),
            regs: Default::default(),
            link_up: Default::default(),
            tx_valid: Default::default(),
            tx_ready: Default::default(),
            tx_kind: Default::default(),
            tx_addr: Default::default(),
            tx_data: Default::default(),
            tx_last: Default::default(),
            rx_valid: Default::default(),
            rx_ready: Default::default(),
            rx_kind: Default::default(),
            rx_addr: Default::default(),
            rx_data: Default::default(),
            rx_last: Default::default(),
            doorbell: Default::default(),
            link_change: Default::default(),
            link_active: Default::default(),
            spad: std::array::from_fn(|_| Default::default()),
            db: Default::default(),
            db_mask: Default::default(),
            enable: DFFWithInit::new((ntb::LINK_CTRL.reset as u64).to_bits()),
            link_up_q: Default::default(),
            tx_count: Default::default(),
            rx_count: Default::default(),
            tx_dropped: Default::default(),
            txq: Default::default(),
            active: Default::default(),
            push: Default::default(),
            push_msg: Default::default(),
            peer_index: Default::default(),
            drop_head: Default::default(),
            rx_set: Default::default(),
            w_link_status: word(ntb::LINK_STATUS),
            w_link_ctrl: word(ntb::LINK_CTRL),
            w_db: word(ntb::DB),
            w_db_mask: word(ntb::DB_MASK),
            w_db_set: word(ntb::DB_SET),
            w_peer_db: word(ntb::PEER_DB),
            w_tx_count: word(ntb::TX_COUNT),
            w_rx_count: word(ntb::RX_COUNT),
            w_tx_dropped: word(ntb::TX_DROPPED),
            w_spad: word(ntb::SPAD),
            w_peer_spad: word(ntb::PEER_SPAD),
            k_spad: Constant::new(LINK_SPAD.to_bits()),
            k_doorbell: Constant::new(LINK_DOORBELL.to_bits()),
        }
    }
}

impl<const W: usize> Logic for NtbBlock<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, db, db_mask, enable, link_up_q, tx_count, rx_count, tx_dropped);
        for i in 0..SPADS {
            self.spad[i].clock.next = self.clock.val();
            self.spad[i].d.next = self.spad[i].q.val();
        }
        self.txq.clock.next = self.clock.val();
        self.link_up_q.d.next = self.link_up.val();
        self.link_change.next = self.link_up.val() != self.link_up_q.q.val();
        self.active.next = self.link_up.val() && self.enable.q.val().any();
        self.link_active.next = self.active.val();

        // Outbound: the FIFO head goes on the link while it is active, and is
        // dropped (and counted) while it is not.
        self.tx_valid.next = !self.txq.empty.val() && self.active.val();
        self.tx_kind.next = self.txq.data_out.val().get_bits::<4>(36);
        self.tx_addr.next = bit_cast::<64, 4>(self.txq.data_out.val().get_bits::<4>(32));
        self.tx_data.next = bit_cast::<W, 32>(self.txq.data_out.val().get_bits::<32>(0));
        self.tx_last.next = true;
        self.drop_head.next = !self.txq.empty.val() && !self.active.val();
        self.txq.read.next = (self.tx_valid.val() && self.tx_ready.val()) || self.drop_head.val();
        if self.tx_valid.val() && self.tx_ready.val() {
            self.tx_count.d.next = self.tx_count.q.val() + 1;
        }

        // Register writes that send a message to the partner.
        self.peer_index.next = self.regs.wr_word.val() - self.w_peer_spad.val();
        self.push.next = false;
        self.push_msg.next = (bit_cast::<40, 4>(self.k_doorbell.val()) << 36)
            | bit_cast::<40, 32>(self.regs.wr_data.val());
        if self.regs.wr_en.val() {
            if self.regs.wr_word.val() == self.w_peer_db.val() {
                self.push.next = true;
            }
            if self.peer_index.val() < 8 {
                self.push.next = true;
                self.push_msg.next = (bit_cast::<40, 4>(self.k_spad.val()) << 36)
                    | (bit_cast::<40, WORD_BITS>(self.peer_index.val()) << 32)
                    | bit_cast::<40, 32>(self.regs.wr_data.val());
            }
        }
        self.txq.write.next = self.push.val() && !self.txq.full.val() && self.active.val();
        self.txq.data_in.next = self.push_msg.val();
        if (self.push.val() && (self.txq.full.val() || !self.active.val())) || self.drop_head.val()
        {
            self.tx_dropped.d.next = self.tx_dropped.q.val() + 1;
        }

        // Inbound: always accepted.
        self.rx_ready.next = true;
        self.rx_set.next = 0.into();
        if self.rx_valid.val() && self.link_up.val() {
            self.rx_count.d.next = self.rx_count.q.val() + 1;
            if self.rx_kind.val() == self.k_doorbell.val() {
                self.rx_set.next = self.rx_data.val().get_bits::<16>(0);
            }
            for i in 0..SPADS {
                if (self.rx_kind.val() == self.k_spad.val())
                    && (self.rx_addr.val().get_bits::<4>(0).index() == i)
                {
                    self.spad[i].d.next = self.rx_data.val().get_bits::<32>(0);
                }
            }
        }
        self.db.d.next = self.db.q.val() | self.rx_set.val();

        // Local register writes.
        if self.regs.wr_en.val() {
            if self.regs.wr_word.val() == self.w_link_ctrl.val() {
                self.enable.d.next = self.regs.wr_data.val().get_bits::<1>(0);
            }
            if self.regs.wr_word.val() == self.w_db.val() {
                self.db.d.next = (self.db.q.val() & !self.regs.wr_data.val().get_bits::<16>(0))
                    | self.rx_set.val();
            }
            if self.regs.wr_word.val() == self.w_db_set.val() {
                self.db.d.next =
                    self.db.q.val() | self.regs.wr_data.val().get_bits::<16>(0) | self.rx_set.val();
            }
            if self.regs.wr_word.val() == self.w_db_mask.val() {
                self.db_mask.d.next = self.regs.wr_data.val().get_bits::<16>(0);
            }
            for i in 0..SPADS {
                if (self.regs.wr_word.val() - self.w_spad.val()).index() == i {
                    self.spad[i].d.next = self.regs.wr_data.val();
                }
            }
        }
        self.doorbell.next = (self.db.q.val() & !self.db_mask.q.val()).any();

        if self.reset.val() {
            self.db.d.next = 0.into();
            self.db_mask.d.next = 0.into();
            self.enable.d.next = 1.into();
            self.tx_count.d.next = 0.into();
            self.rx_count.d.next = 0.into();
            self.tx_dropped.d.next = 0.into();
            for i in 0..SPADS {
                self.spad[i].d.next = 0.into();
            }
        }

        // Register reads.
        self.regs.rd_hit.next = true;
        self.regs.rd_data.next = 0.into();
        if self.regs.rd_word.val() == self.w_link_status.val() {
            self.regs.rd_data.next = bit_cast::<32, 1>(self.link_up.val().into())
                | (bit_cast::<32, 1>(self.active.val().into()) << 1);
        } else if self.regs.rd_word.val() == self.w_link_ctrl.val() {
            self.regs.rd_data.next = bit_cast::<32, 1>(self.enable.q.val());
        } else if self.regs.rd_word.val() == self.w_db.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.db.q.val());
        } else if self.regs.rd_word.val() == self.w_db_mask.val() {
            self.regs.rd_data.next = bit_cast::<32, 16>(self.db_mask.q.val());
        } else if self.regs.rd_word.val() == self.w_tx_count.val() {
            self.regs.rd_data.next = self.tx_count.q.val();
        } else if self.regs.rd_word.val() == self.w_rx_count.val() {
            self.regs.rd_data.next = self.rx_count.q.val();
        } else if self.regs.rd_word.val() == self.w_tx_dropped.val() {
            self.regs.rd_data.next = self.tx_dropped.q.val();
        } else if (self.regs.rd_word.val() == self.w_db_set.val())
            || (self.regs.rd_word.val() == self.w_peer_db.val())
            || ((self.regs.rd_word.val() - self.w_peer_spad.val()) < 8)
        {
            self.regs.rd_data.next = 0.into();
        } else {
            self.regs.rd_hit.next = false;
        }
        for i in 0..SPADS {
            if (self.regs.rd_word.val() - self.w_spad.val()).index() == i {
                self.regs.rd_hit.next = true;
                self.regs.rd_data.next = self.spad[i].q.val();
            }
        }
        self.regs.wr_hit.next = ((self.regs.wr_word.val() >= self.w_link_status.val())
            && (self.regs.wr_word.val() <= self.w_tx_dropped.val()))
            || ((self.regs.wr_word.val() - self.w_spad.val()) < 16);
    }
}
