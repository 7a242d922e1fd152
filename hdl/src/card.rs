//! The card top: BAR0 front end, register blocks, and the card's external
//! interfaces — the register-access port (BAR0 requests from the PCIe block),
//! the DMA master port (host memory), the NTB link pair and the interrupt line.
//!
//! ```text
//!                 ┌──────────────────────────── card ─────────────────────────────┐
//!   bar_req_* ───►│ BAR front end ──► ID │ IRQ │ NTB │ ERR │ ALLOC │ DMA │ FLASH │ WIN │──► bar_rsp_*
//!                 │      │ unmapped ─────────────► ERR                              │
//!                 │ DMA engine ◄──► ALLOC (DMA port: slots for MIRROR, RELEASE frees)│
//!   dma_* ◄──────►│ host port, shared: WIN (partner's writes/reads) first, then DMA │
//!                 │ link tx: NTB messages, then WIN answers, then DMA ───► ntb_tx_* │──► partner
//!                 │ link rx: SPAD/DOORBELL ─► NTB block; the rest ─► WIN ◄─ ntb_rx_*│◄── partner
//!   flash_* ◄────►│ FLASH block (SPI command engine) ──────────────► boot_req       │
//!                 │ IRQ block ─────────────────────────────────────────► irq        │
//!                 └──────────────────────────────────────────────────────────────────┘
//! ```
//!
//! BAR0 protocol: a request is taken in any cycle `bar_req_valid` is high
//! (the port never stalls). Writes are posted. A read is answered exactly one
//! cycle later with `bar_rsp_valid` and `bar_rsp_rdata`; an offset no register
//! decodes, or one not 32-bit aligned, reads `UNMAPPED_READ_VALUE` and is
//! counted in `ERR.UNMAPPED_COUNT` (writes there are dropped and counted too).

use crate::dma_engine::DmaEngine;
use crate::err_block::ErrBlock;
use crate::flash_block::FlashBlock;
use crate::id_block::{IdBlock, IdConfig};
use crate::irq_block::IrqBlock;
use crate::ntb_block::NtbBlock;
use crate::ntb_inbound::NtbInbound;
use crate::regport::{c32, BlockHeader, WORD_BITS};
use crate::slot_allocator::SlotAllocator;
use duplex_regs::{irq, params, ALLOC, DMA, ERR, FLASH, ID, IRQ, NTB, UNMAPPED_READ_VALUE, WIN};
use rust_hdl::prelude::*;

/// Width of a BAR0 byte offset.
pub const BAR_ADDR_BITS: usize = 16;
/// Width of a DMA / link tag.
pub const TAG_BITS: usize = 8;

/// Build-time parameters of a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardConfig {
    /// Mirror slot size in bytes: a power of two, at least 512.
    pub slot_size: u32,
    /// Most mirror slots the allocator manages: 1..=65,536.
    pub max_slots: u32,
    /// Most pages per MIRROR descriptor: 1..=16.
    pub max_pages: u32,
}

impl Default for CardConfig {
    fn default() -> Self {
        Self {
            slot_size: params::SLOT_SIZE,
            max_slots: params::MAX_SLOTS,
            max_pages: params::MAX_PAGES_PER_DESC,
        }
    }
}

/// Slot-index bits of the card's allocator: it holds up to 4,096 slots
/// (`params::MAX_SLOTS`), in 16 banks of 256.
pub const ALLOC_SLOT_BITS: usize = 12;
const ALLOC_BANK_BITS: usize = ALLOC_SLOT_BITS - 4;
const _: () = assert!(1 << ALLOC_SLOT_BITS == params::MAX_SLOTS);

/// Data-path widths a card can be built with.
pub const DATA_WIDTHS: [usize; 4] = [64, 128, 256, 512];

#[derive(LogicBlock)]
pub struct Card<const W: usize, const S: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    // Register-access port (BAR0 requests from the PCIe block)
    pub bar_req_valid: Signal<In, Bit>,
    pub bar_req_write: Signal<In, Bit>,
    pub bar_req_addr: Signal<In, Bits<BAR_ADDR_BITS>>,
    pub bar_req_wdata: Signal<In, Bits<32>>,
    pub bar_rsp_valid: Signal<Out, Bit>,
    pub bar_rsp_rdata: Signal<Out, Bits<32>>,
    // DMA master port: read requests
    pub dma_rd_req_valid: Signal<Out, Bit>,
    pub dma_rd_req_ready: Signal<In, Bit>,
    pub dma_rd_req_addr: Signal<Out, Bits<64>>,
    pub dma_rd_req_len: Signal<Out, Bits<16>>,
    pub dma_rd_req_tag: Signal<Out, Bits<TAG_BITS>>,
    // DMA master port: read responses
    pub dma_rd_rsp_valid: Signal<In, Bit>,
    pub dma_rd_rsp_ready: Signal<Out, Bit>,
    pub dma_rd_rsp_data: Signal<In, Bits<W>>,
    pub dma_rd_rsp_tag: Signal<In, Bits<TAG_BITS>>,
    pub dma_rd_rsp_last: Signal<In, Bit>,
    pub dma_rd_rsp_err: Signal<In, Bit>,
    // DMA master port: writes (one beat per transfer, byte strobes)
    pub dma_wr_valid: Signal<Out, Bit>,
    pub dma_wr_ready: Signal<In, Bit>,
    pub dma_wr_addr: Signal<Out, Bits<64>>,
    pub dma_wr_data: Signal<Out, Bits<W>>,
    pub dma_wr_strb: Signal<Out, Bits<S>>,
    // NTB link: outbound
    pub ntb_tx_valid: Signal<Out, Bit>,
    pub ntb_tx_ready: Signal<In, Bit>,
    pub ntb_tx_kind: Signal<Out, Bits<4>>,
    pub ntb_tx_addr: Signal<Out, Bits<64>>,
    pub ntb_tx_data: Signal<Out, Bits<W>>,
    pub ntb_tx_last: Signal<Out, Bit>,
    // NTB link: inbound
    pub ntb_rx_valid: Signal<In, Bit>,
    pub ntb_rx_ready: Signal<Out, Bit>,
    pub ntb_rx_kind: Signal<In, Bits<4>>,
    pub ntb_rx_addr: Signal<In, Bits<64>>,
    pub ntb_rx_data: Signal<In, Bits<W>>,
    pub ntb_rx_last: Signal<In, Bit>,
    pub ntb_link_up: Signal<In, Bit>,
    // Interrupt line
    pub irq: Signal<Out, Bit>,
    // Configuration flash (SPI mode 0) and reconfiguration request
    pub flash_cs_n: Signal<Out, Bit>,
    pub flash_sck: Signal<Out, Bit>,
    pub flash_mosi: Signal<Out, Bit>,
    pub flash_miso: Signal<In, Bit>,
    pub boot_req: Signal<Out, Bit>,

    // Register blocks, in BAR0 order
    hdr_id: BlockHeader,
    id: IdBlock,
    hdr_irq: BlockHeader,
    irqs: IrqBlock,
    hdr_ntb: BlockHeader,
    ntb: NtbBlock<W>,
    hdr_err: BlockHeader,
    errs: ErrBlock,
    hdr_alloc: BlockHeader,
    alloc: SlotAllocator<ALLOC_SLOT_BITS, ALLOC_BANK_BITS>,
    hdr_dma: BlockHeader,
    dma: DmaEngine<W>,
    hdr_flash: BlockHeader,
    flash: FlashBlock,
    hdr_win: BlockHeader,
    win: NtbInbound<W>,
    // Port sharing between the engine and the inbound windows
    rx_msg: Signal<Local, Bit>,
    rsp_inbound: Signal<Local, Bit>,
    all_strobes: Constant<Bits<S>>,
    // BAR front end
    rd_pending: DFF<Bit>,
    rd_addr: DFF<Bits<BAR_ADDR_BITS>>,
    wr_block: Signal<Local, Bits<8>>,
    rd_block: Signal<Local, Bits<8>>,
    wr_aligned: Signal<Local, Bit>,
    rd_aligned: Signal<Local, Bit>,
    wr_hit: Signal<Local, Bit>,
    rd_hit: Signal<Local, Bit>,
    rd_data: Signal<Local, Bits<32>>,
    b_id: Constant<Bits<8>>,
    b_irq: Constant<Bits<8>>,
    b_ntb: Constant<Bits<8>>,
    b_err: Constant<Bits<8>>,
    b_alloc: Constant<Bits<8>>,
    b_flash: Constant<Bits<8>>,
    b_dma: Constant<Bits<8>>,
    b_win: Constant<Bits<8>>,
    unmapped_value: Constant<Bits<32>>,
    write_flag: Constant<Bits<32>>,
}

impl<const W: usize, const S: usize> Card<W, S> {
    /// A card of data-path width `W` bits (`S` = `W / 8` byte strobes).
    ///
    /// # Panics
    /// When the configuration cannot be built: an unsupported width, a slot
    /// size that is not a power of two of at least 512 bytes, a slot count
    /// outside 1..=65,536 or a page count outside 1..=16.
    pub fn new(cfg: CardConfig) -> Self {
        assert!(
            DATA_WIDTHS.contains(&W),
            "data path must be 64, 128, 256 or 512 bits"
        );
        assert_eq!(S * 8, W, "strobe width must be W / 8");
        assert!(
            cfg.slot_size.is_power_of_two() && cfg.slot_size >= 512,
            "slot size must be a power of two >= 512"
        );
        assert_eq!(
            cfg.max_slots,
            params::MAX_SLOTS,
            "the card's allocator is built for params::MAX_SLOTS slots"
        );
        assert!(
            (1..=16).contains(&cfg.max_pages),
            "pages per descriptor out of range"
        );
        Self {
            clock: Default::default(),
            reset: Default::default(),
            bar_req_valid: Default::default(),
            bar_req_write: Default::default(),
            bar_req_addr: Default::default(),
            bar_req_wdata: Default::default(),
            bar_rsp_valid: Default::default(),
            bar_rsp_rdata: Default::default(),
            dma_rd_req_valid: Default::default(),
            dma_rd_req_ready: Default::default(),
            dma_rd_req_addr: Default::default(),
            dma_rd_req_len: Default::default(),
            dma_rd_req_tag: Default::default(),
            dma_rd_rsp_valid: Default::default(),
            dma_rd_rsp_ready: Default::default(),
            dma_rd_rsp_data: Default::default(),
            dma_rd_rsp_tag: Default::default(),
            dma_rd_rsp_last: Default::default(),
            dma_rd_rsp_err: Default::default(),
            dma_wr_valid: Default::default(),
            dma_wr_ready: Default::default(),
            dma_wr_addr: Default::default(),
            dma_wr_data: Default::default(),
            dma_wr_strb: Default::default(),
            ntb_tx_valid: Default::default(),
            ntb_tx_ready: Default::default(),
            ntb_tx_kind: Default::default(),
            ntb_tx_addr: Default::default(),
            ntb_tx_data: Default::default(),
            ntb_tx_last: Default::default(),
            ntb_rx_valid: Default::default(),
            ntb_rx_ready: Default::default(),
            ntb_rx_kind: Default::default(),
            ntb_rx_addr: Default::default(),
            ntb_rx_data: Default::default(),
            ntb_rx_last: Default::default(),
            ntb_link_up: Default::default(),
            irq: Default::default(),
            flash_cs_n: Default::default(),
            flash_sck: Default::default(),
            flash_mosi: Default::default(),
            flash_miso: Default::default(),
            boot_req: Default::default(),
            hdr_id: BlockHeader::new(&ID),
            id: IdBlock::new(IdConfig {
                data_width_bits: W as u32,
                slot_size: cfg.slot_size,
                max_slots: cfg.max_slots,
                max_pages: cfg.max_pages,
            }),
            hdr_irq: BlockHeader::new(&IRQ),
            irqs: IrqBlock::default(),
            hdr_ntb: BlockHeader::new(&NTB),
            ntb: NtbBlock::default(),
            hdr_err: BlockHeader::new(&ERR),
            errs: ErrBlock::default(),
            hdr_alloc: BlockHeader::new(&ALLOC),
            alloc: SlotAllocator::new(),
            hdr_dma: BlockHeader::new(&DMA),
            dma: DmaEngine::default(),
            hdr_flash: BlockHeader::new(&FLASH),
            flash: FlashBlock::default(),
            hdr_win: BlockHeader::new(&WIN),
            win: NtbInbound::default(),
            rx_msg: Default::default(),
            rsp_inbound: Default::default(),
            all_strobes: Constant::new({
                let mut b: Bits<S> = 0.into();
                for i in 0..S {
                    b = b.replace_bit(i, true);
                }
                b
            }),
            rd_pending: Default::default(),
            rd_addr: Default::default(),
            wr_block: Default::default(),
            rd_block: Default::default(),
            wr_aligned: Default::default(),
            rd_aligned: Default::default(),
            wr_hit: Default::default(),
            rd_hit: Default::default(),
            rd_data: Default::default(),
            b_id: Constant::new((ID.index() as u64).to_bits()),
            b_irq: Constant::new((IRQ.index() as u64).to_bits()),
            b_ntb: Constant::new((NTB.index() as u64).to_bits()),
            b_err: Constant::new((ERR.index() as u64).to_bits()),
            b_alloc: Constant::new((ALLOC.index() as u64).to_bits()),
            b_flash: Constant::new((FLASH.index() as u64).to_bits()),
            b_dma: Constant::new((DMA.index() as u64).to_bits()),
            b_win: Constant::new((WIN.index() as u64).to_bits()),
            unmapped_value: c32(UNMAPPED_READ_VALUE),
            write_flag: c32(duplex_regs::err::LAST_WRITE.mask()),
        }
    }
}

impl<const W: usize, const S: usize> Logic for Card<W, S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd_pending, rd_addr);
        clock!(self, clock, irqs, ntb, errs, alloc, flash, dma, win);
        self.dma.reset.next = self.reset.val();
        self.win.reset.next = self.reset.val();
        self.alloc.reset.next = self.reset.val();
        self.irqs.reset.next = self.reset.val();
        self.ntb.reset.next = self.reset.val();
        self.errs.reset.next = self.reset.val();
        self.flash.reset.next = self.reset.val();

        // BAR front end: decode the block from offset bits 15:8.
        self.wr_block.next = self.bar_req_addr.val().get_bits::<8>(8);
        self.rd_block.next = self.rd_addr.q.val().get_bits::<8>(8);
        self.wr_aligned.next = self.bar_req_addr.val().get_bits::<2>(0) == 0;
        self.rd_aligned.next = self.rd_addr.q.val().get_bits::<2>(0) == 0;
        self.rd_pending.d.next = self.bar_req_valid.val() && !self.bar_req_write.val();
        if self.bar_req_valid.val() && !self.bar_req_write.val() {
            self.rd_addr.d.next = self.bar_req_addr.val();
        }
        self.id.regs.wr_en.next = self.bar_req_valid.val()
            && self.bar_req_write.val()
            && self.wr_aligned.val()
            && (self.wr_block.val() == self.b_id.val());
        self.id.regs.wr_word.next = self.bar_req_addr.val().get_bits::<WORD_BITS>(2);
        self.id.regs.wr_data.next = self.bar_req_wdata.val();
        self.id.regs.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.hdr_id.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.irqs.regs.wr_en.next = self.bar_req_valid.val()
            && self.bar_req_write.val()
            && self.wr_aligned.val()
            && (self.wr_block.val() == self.b_irq.val());
        self.irqs.regs.wr_word.next = self.bar_req_addr.val().get_bits::<WORD_BITS>(2);
        self.irqs.regs.wr_data.next = self.bar_req_wdata.val();
        self.irqs.regs.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.hdr_irq.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.ntb.regs.wr_en.next = self.bar_req_valid.val()
            && self.bar_req_write.val()
            && self.wr_aligned.val()
            && (self.wr_block.val() == self.b_ntb.val());
        self.ntb.regs.wr_word.next = self.bar_req_addr.val().get_bits::<WORD_BITS>(2);
        self.ntb.regs.wr_data.next = self.bar_req_wdata.val();
        self.ntb.regs.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.hdr_ntb.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.errs.regs.wr_en.next = self.bar_req_valid.val()
            && self.bar_req_write.val()
            && self.wr_aligned.val()
            && (self.wr_block.val() == self.b_err.val());
        self.errs.regs.wr_word.next = self.bar_req_addr.val().get_bits::<WORD_BITS>(2);
        self.errs.regs.wr_data.next = self.bar_req_wdata.val();
        self.errs.regs.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.hdr_err.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.alloc.regs.wr_en.next = self.bar_req_valid.val()
            && self.bar_req_write.val()
            && self.wr_aligned.val()
            && (self.wr_block.val() == self.b_alloc.val());
        self.alloc.regs.wr_word.next = self.bar_req_addr.val().get_bits::<WORD_BITS>(2);
        self.alloc.regs.wr_data.next = self.bar_req_wdata.val();
        self.alloc.regs.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.hdr_alloc.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.flash.regs.wr_en.next = self.bar_req_valid.val()
            && self.bar_req_write.val()
            && self.wr_aligned.val()
            && (self.wr_block.val() == self.b_flash.val());
        self.flash.regs.wr_word.next = self.bar_req_addr.val().get_bits::<WORD_BITS>(2);
        self.flash.regs.wr_data.next = self.bar_req_wdata.val();
        self.flash.regs.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.hdr_flash.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.dma.regs.wr_en.next = self.bar_req_valid.val()
            && self.bar_req_write.val()
            && self.wr_aligned.val()
            && (self.wr_block.val() == self.b_dma.val());
        self.dma.regs.wr_word.next = self.bar_req_addr.val().get_bits::<WORD_BITS>(2);
        self.dma.regs.wr_data.next = self.bar_req_wdata.val();
        self.dma.regs.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.hdr_dma.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.win.regs.wr_en.next = self.bar_req_valid.val()
            && self.bar_req_write.val()
            && self.wr_aligned.val()
            && (self.wr_block.val() == self.b_win.val());
        self.win.regs.wr_word.next = self.bar_req_addr.val().get_bits::<WORD_BITS>(2);
        self.win.regs.wr_data.next = self.bar_req_wdata.val();
        self.win.regs.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);
        self.hdr_win.rd_word.next = self.rd_addr.q.val().get_bits::<WORD_BITS>(2);

        // Write decode: a header word is read-only but mapped.
        self.wr_hit.next = false;
        if self.wr_aligned.val() {
            if self.bar_req_addr.val().get_bits::<WORD_BITS>(2) < 3 {
                self.wr_hit.next = (self.wr_block.val() == self.b_id.val())
                    || (self.wr_block.val() == self.b_irq.val())
                    || (self.wr_block.val() == self.b_ntb.val())
                    || (self.wr_block.val() == self.b_err.val())
                    || (self.wr_block.val() == self.b_alloc.val())
                    || (self.wr_block.val() == self.b_flash.val())
                    || (self.wr_block.val() == self.b_dma.val())
                    || (self.wr_block.val() == self.b_win.val());
            } else if self.wr_block.val() == self.b_id.val() {
                self.wr_hit.next = self.id.regs.wr_hit.val();
            } else if self.wr_block.val() == self.b_irq.val() {
                self.wr_hit.next = self.irqs.regs.wr_hit.val();
            } else if self.wr_block.val() == self.b_ntb.val() {
                self.wr_hit.next = self.ntb.regs.wr_hit.val();
            } else if self.wr_block.val() == self.b_err.val() {
                self.wr_hit.next = self.errs.regs.wr_hit.val();
            } else if self.wr_block.val() == self.b_alloc.val() {
                self.wr_hit.next = self.alloc.regs.wr_hit.val();
            } else if self.wr_block.val() == self.b_flash.val() {
                self.wr_hit.next = self.flash.regs.wr_hit.val();
            } else if self.wr_block.val() == self.b_dma.val() {
                self.wr_hit.next = self.dma.regs.wr_hit.val();
            } else if self.wr_block.val() == self.b_win.val() {
                self.wr_hit.next = self.win.regs.wr_hit.val();
            }
        }

        // Read response, one cycle after the request.
        self.rd_hit.next = false;
        self.rd_data.next = 0.into();
        if self.rd_aligned.val() {
            if self.rd_block.val() == self.b_id.val() {
                if self.hdr_id.rd_hit.val() {
                    self.rd_hit.next = true;
                    self.rd_data.next = self.hdr_id.rd_data.val();
                } else {
                    self.rd_hit.next = self.id.regs.rd_hit.val();
                    self.rd_data.next = self.id.regs.rd_data.val();
                }
            } else if self.rd_block.val() == self.b_irq.val() {
                if self.hdr_irq.rd_hit.val() {
                    self.rd_hit.next = true;
                    self.rd_data.next = self.hdr_irq.rd_data.val();
                } else {
                    self.rd_hit.next = self.irqs.regs.rd_hit.val();
                    self.rd_data.next = self.irqs.regs.rd_data.val();
                }
            } else if self.rd_block.val() == self.b_ntb.val() {
                if self.hdr_ntb.rd_hit.val() {
                    self.rd_hit.next = true;
                    self.rd_data.next = self.hdr_ntb.rd_data.val();
                } else {
                    self.rd_hit.next = self.ntb.regs.rd_hit.val();
                    self.rd_data.next = self.ntb.regs.rd_data.val();
                }
            } else if self.rd_block.val() == self.b_err.val() {
                if self.hdr_err.rd_hit.val() {
                    self.rd_hit.next = true;
                    self.rd_data.next = self.hdr_err.rd_data.val();
                } else {
                    self.rd_hit.next = self.errs.regs.rd_hit.val();
                    self.rd_data.next = self.errs.regs.rd_data.val();
                }
            } else if self.rd_block.val() == self.b_alloc.val() {
                if self.hdr_alloc.rd_hit.val() {
                    self.rd_hit.next = true;
                    self.rd_data.next = self.hdr_alloc.rd_data.val();
                } else {
                    self.rd_hit.next = self.alloc.regs.rd_hit.val();
                    self.rd_data.next = self.alloc.regs.rd_data.val();
                }
            } else if self.rd_block.val() == self.b_flash.val() {
                if self.hdr_flash.rd_hit.val() {
                    self.rd_hit.next = true;
                    self.rd_data.next = self.hdr_flash.rd_data.val();
                } else {
                    self.rd_hit.next = self.flash.regs.rd_hit.val();
                    self.rd_data.next = self.flash.regs.rd_data.val();
                }
            } else if self.rd_block.val() == self.b_dma.val() {
                if self.hdr_dma.rd_hit.val() {
                    self.rd_hit.next = true;
                    self.rd_data.next = self.hdr_dma.rd_data.val();
                } else {
                    self.rd_hit.next = self.dma.regs.rd_hit.val();
                    self.rd_data.next = self.dma.regs.rd_data.val();
                }
            } else if self.rd_block.val() == self.b_win.val() {
                if self.hdr_win.rd_hit.val() {
                    self.rd_hit.next = true;
                    self.rd_data.next = self.hdr_win.rd_data.val();
                } else {
                    self.rd_hit.next = self.win.regs.rd_hit.val();
                    self.rd_data.next = self.win.regs.rd_data.val();
                }
            }
        }
        self.bar_rsp_valid.next = self.rd_pending.q.val();
        self.bar_rsp_rdata.next = self.rd_data.val();
        if !self.rd_hit.val() {
            self.bar_rsp_rdata.next = self.unmapped_value.val();
        }

        // Unmapped accesses are counted in ERR.
        self.errs.unmapped_rd.next = self.rd_pending.q.val() && !self.rd_hit.val();
        self.errs.unmapped_rd_info.next = bit_cast::<32, BAR_ADDR_BITS>(self.rd_addr.q.val());
        self.errs.unmapped_wr.next =
            self.bar_req_valid.val() && self.bar_req_write.val() && !self.wr_hit.val();
        self.errs.unmapped_wr_info.next =
            bit_cast::<32, BAR_ADDR_BITS>(self.bar_req_addr.val()) | self.write_flag.val();

        // NTB link. Inbound: scratchpads and doorbells go to the NTB block,
        // everything else to the inbound windows. Outbound: the NTB block's
        // messages first, then the windows' answers, then the DMA engine.
        self.ntb.link_up.next = self.ntb_link_up.val();
        self.rx_msg.next = (self.ntb_rx_kind.val() == 1) || (self.ntb_rx_kind.val() == 2);
        self.ntb.rx_valid.next = self.ntb_rx_valid.val() && self.rx_msg.val();
        self.ntb.rx_kind.next = self.ntb_rx_kind.val();
        self.ntb.rx_addr.next = self.ntb_rx_addr.val();
        self.ntb.rx_data.next = self.ntb_rx_data.val();
        self.ntb.rx_last.next = self.ntb_rx_last.val();
        self.win.rx_valid.next = self.ntb_rx_valid.val() && !self.rx_msg.val();
        self.win.rx_kind.next = self.ntb_rx_kind.val();
        self.win.rx_addr.next = self.ntb_rx_addr.val();
        self.win.rx_data.next = self.ntb_rx_data.val();
        self.win.rx_last.next = self.ntb_rx_last.val();
        self.ntb_rx_ready.next = self.win.rx_ready.val();
        if self.rx_msg.val() {
            self.ntb_rx_ready.next = self.ntb.rx_ready.val();
        }
        self.ntb.tx_ready.next = self.ntb_tx_ready.val();
        self.win.tx_ready.next = self.ntb_tx_ready.val() && !self.ntb.tx_valid.val();
        self.dma.tx_ready.next =
            self.ntb_tx_ready.val() && !self.ntb.tx_valid.val() && !self.win.tx_valid.val();
        self.ntb_tx_valid.next =
            self.ntb.tx_valid.val() || self.win.tx_valid.val() || self.dma.tx_valid.val();
        if self.ntb.tx_valid.val() {
            self.ntb_tx_kind.next = self.ntb.tx_kind.val();
            self.ntb_tx_addr.next = self.ntb.tx_addr.val();
            self.ntb_tx_data.next = self.ntb.tx_data.val();
            self.ntb_tx_last.next = self.ntb.tx_last.val();
        } else if self.win.tx_valid.val() {
            self.ntb_tx_kind.next = self.win.tx_kind.val();
            self.ntb_tx_addr.next = self.win.tx_addr.val();
            self.ntb_tx_data.next = self.win.tx_data.val();
            self.ntb_tx_last.next = self.win.tx_last.val();
        } else {
            self.ntb_tx_kind.next = self.dma.tx_kind.val();
            self.ntb_tx_addr.next = self.dma.tx_addr.val();
            self.ntb_tx_data.next = self.dma.tx_data.val();
            self.ntb_tx_last.next = self.dma.tx_last.val();
        }
        self.dma.link_active.next = self.ntb.link_active.val();
        self.dma.ack_valid.next = self.win.ack_valid.val();
        self.dma.ack_refused.next = self.win.ack_refused.val();
        self.dma.rdata_valid.next = self.win.rdata_valid.val();
        self.win.rdata_ready.next = self.dma.rdata_ready.val();
        self.dma.rdata_data.next = self.win.rdata_data.val();
        self.dma.rdata_last.next = self.win.rdata_last.val();
        self.dma.rdata_err.next = self.win.rdata_err.val();

        // Interrupts.
        self.irqs.doorbell.next = self.ntb.doorbell.val();
        self.irqs.events.next = 0.into();
        if self.ntb.link_change.val() {
            self.irqs.events.next = self.irqs.events.val() | 2;
        }
        if self.dma.irq_event.val() {
            self.irqs.events.next = self.irqs.events.val() | 8;
        }
        if self.errs.error_event.val() || self.alloc.error_event.val() || self.win.error_event.val()
        {
            self.irqs.events.next = self.irqs.events.val() | 4;
        }
        self.irq.next = self.irqs.irq.val();

        // Allocator: the DMA engine's port; software uses the register port.
        self.alloc.dma_req_valid.next = self.dma.al_req_valid.val();
        self.dma.al_req_ready.next = self.alloc.dma_req_ready.val();
        self.alloc.dma_req_free.next = self.dma.al_req_free.val();
        self.alloc.dma_req_count.next = self.dma.al_req_count.val();
        self.alloc.dma_req_slot.next = self.dma.al_req_slot.val();
        self.dma.al_rsp_valid.next = self.alloc.dma_rsp_valid.val();
        self.dma.al_rsp_status.next = self.alloc.dma_rsp_status.val();
        self.dma.al_rsp_slots.next = self.alloc.dma_rsp_slots.val();
        self.dma.n_slots.next = self.alloc.active_slots.val();
        // Configuration flash.
        self.flash_cs_n.next = self.flash.spi_cs_n.val();
        self.flash_sck.next = self.flash.spi_sck.val();
        self.flash_mosi.next = self.flash.spi_mosi.val();
        self.flash.spi_miso.next = self.flash_miso.val();
        self.boot_req.next = self.flash.boot_req.val();

        // DMA master port, shared: the inbound windows first (the partner's
        // writes must not wait behind local work), then the engine. Read
        // responses are routed by tag bit 7.
        self.win.rd_req_ready.next = self.dma_rd_req_ready.val();
        self.dma.rd_req_ready.next = self.dma_rd_req_ready.val() && !self.win.rd_req_valid.val();
        self.dma_rd_req_valid.next = self.win.rd_req_valid.val() || self.dma.rd_req_valid.val();
        self.dma_rd_req_addr.next = self.dma.rd_req_addr.val();
        self.dma_rd_req_len.next = self.dma.rd_req_len.val();
        self.dma_rd_req_tag.next = bit_cast::<TAG_BITS, 7>(self.dma.rd_req_tag.val());
        if self.win.rd_req_valid.val() {
            self.dma_rd_req_addr.next = self.win.rd_req_addr.val();
            self.dma_rd_req_len.next = self.win.rd_req_len.val();
            self.dma_rd_req_tag.next = 0x80.into();
        }
        self.rsp_inbound.next = self.dma_rd_rsp_tag.val().get_bit(7);
        self.win.rd_rsp_valid.next = self.dma_rd_rsp_valid.val() && self.rsp_inbound.val();
        self.dma.rd_rsp_valid.next = self.dma_rd_rsp_valid.val() && !self.rsp_inbound.val();
        self.win.rd_rsp_data.next = self.dma_rd_rsp_data.val();
        self.dma.rd_rsp_data.next = self.dma_rd_rsp_data.val();
        self.win.rd_rsp_last.next = self.dma_rd_rsp_last.val();
        self.dma.rd_rsp_last.next = self.dma_rd_rsp_last.val();
        self.win.rd_rsp_err.next = self.dma_rd_rsp_err.val();
        self.dma.rd_rsp_err.next = self.dma_rd_rsp_err.val();
        self.dma_rd_rsp_ready.next = self.dma.rd_rsp_ready.val();
        if self.rsp_inbound.val() {
            self.dma_rd_rsp_ready.next = self.win.rd_rsp_ready.val();
        }
        self.win.wr_ready.next = self.dma_wr_ready.val();
        self.dma.wr_ready.next = self.dma_wr_ready.val() && !self.win.wr_valid.val();
        self.dma_wr_valid.next = self.win.wr_valid.val() || self.dma.wr_valid.val();
        self.dma_wr_addr.next = self.dma.wr_addr.val();
        self.dma_wr_data.next = self.dma.wr_data.val();
        if self.win.wr_valid.val() {
            self.dma_wr_addr.next = self.win.wr_addr.val();
            self.dma_wr_data.next = self.win.wr_data.val();
        }
        self.dma_wr_strb.next = self.all_strobes.val();
    }
}

// The interrupt event bits wired above must match the register contract.
const _: () = assert!(irq::LINK_CHANGE.lsb == 1 && irq::ERROR.lsb == 2);
