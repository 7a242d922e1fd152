//! The co-simulated pair: two cards, two host memories, the NTB link.
//!
//! Each cycle, every input of both cards is computed from the world's state
//! as it stood before the cycle (link queues, pending requests, seeded
//! back-pressure), both cards are clocked, and the world's state is updated
//! from the transfers their outputs show. Nothing depends on wall-clock time
//! or thread scheduling: one configuration and seed give one trace.

use crate::link::{Link, LinkBeat};
use crate::memory::{HostMemory, Iova};
use crate::model::{inp, out, CardModel, BEAT_BYTES};
use crate::spi_flash::{FlashModelConfig, SpiFlash};
use crate::{Result, SimError};
use duplex_regs::BAR0_SIZE;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Co-simulation parameters.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Link latency in cycles, each direction (added to the one-cycle hop).
    pub link_latency: u64,
    /// Percent of cycles in which a link direction refuses a beat.
    pub link_stall_pct: u8,
    /// Percent of cycles in which host memory refuses a DMA request.
    pub host_stall_pct: u8,
    /// Cycles from a DMA read request to its first response beat.
    pub dma_read_latency: u64,
    /// Bytes of host memory per controller.
    pub host_memory_bytes: usize,
    /// Keep a per-cycle hash of every output of both cards.
    pub record_trace: bool,
    /// Write VCD waveforms to `<dir>/card<N>.vcd`.
    pub vcd_dir: Option<std::path::PathBuf>,
    /// The SPI configuration flash on each card's board.
    pub flash: FlashModelConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            link_latency: 0,
            link_stall_pct: 0,
            host_stall_pct: 0,
            dma_read_latency: 20,
            host_memory_bytes: 16 << 20,
            record_trace: false,
            vcd_dir: std::env::var_os("DUPLEX_VCD_DIR").map(Into::into),
            flash: FlashModelConfig::default(),
        }
    }
}

struct BarReq {
    write: bool,
    offset: u32,
    data: u32,
}

struct DmaReadJob {
    due: u64,
    addr: u64,
    remaining: usize,
    tag: u64,
    error: bool,
}

/// Counters of the environment around the cards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorldStats {
    pub dma_read_beats: u64,
    pub dma_write_beats: u64,
    /// DMA writes or reads that fell outside host memory (never performed).
    pub dma_out_of_range: u64,
    /// Reconfigurations the card requested (FLASH.CTRL.BOOT).
    pub boots: u64,
    /// Resets applied to the card (boot, power cut, fault injection).
    pub resets: u64,
}

/// Cycles a card is held in reset when it reconfigures or loses power.
pub const RESET_CYCLES: u64 = 4;

pub struct SimWorld {
    cfg: SimConfig,
    cards: [CardModel; 2],
    mem: [HostMemory; 2],
    /// `links[c]` carries beats sent by card `c` to card `1 - c`.
    links: [Link; 2],
    link_up: bool,
    bar: [Option<BarReq>; 2],
    dma_reads: [VecDeque<DmaReadJob>; 2],
    rng: ChaCha8Rng,
    cycle: u64,
    trace: Vec<u64>,
    flash: [SpiFlash; 2],
    /// Cycles of reset still to apply to each card.
    reset_left: [u64; 2],
    pub stats: [WorldStats; 2],
}

impl SimWorld {
    pub fn new(cfg: SimConfig) -> Result<Self> {
        let mut w = Self {
            cards: [CardModel::new(), CardModel::new()],
            mem: [
                HostMemory::new(0, cfg.host_memory_bytes),
                HostMemory::new(1, cfg.host_memory_bytes),
            ],
            links: [Link::default(), Link::default()],
            link_up: true,
            bar: [None, None],
            dma_reads: [VecDeque::new(), VecDeque::new()],
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            cycle: 0,
            trace: Vec::new(),
            stats: Default::default(),
            flash: [
                SpiFlash::new(cfg.flash.clone()),
                SpiFlash::new(cfg.flash.clone()),
            ],
            reset_left: [0; 2],
            cfg,
        };
        if let Some(dir) = w.cfg.vcd_dir.clone() {
            std::fs::create_dir_all(&dir).map_err(|_| SimError::Trace {
                path: dir.display().to_string(),
            })?;
            for c in 0..2 {
                w.cards[c].trace_to(&dir.join(format!("card{c}.vcd")))?;
            }
        }
        // Power-on reset: two cycles with reset high.
        w.reset_left = [2, 2];
        w.step_n(2);
        Ok(w)
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }
    pub fn cycle(&self) -> u64 {
        self.cycle
    }
    /// Per-cycle hashes of both cards' outputs (when `record_trace` is set).
    pub fn trace(&self) -> &[u64] {
        &self.trace
    }
    pub fn memory(&self, card: usize) -> Result<&HostMemory> {
        self.mem.get(card).ok_or(SimError::NoSuchCard(card))
    }
    pub fn memory_mut(&mut self, card: usize) -> Result<&mut HostMemory> {
        self.mem.get_mut(card).ok_or(SimError::NoSuchCard(card))
    }
    pub fn set_link_latency(&mut self, cycles: u64) {
        self.cfg.link_latency = cycles;
    }
    /// Cuts or heals the NTB link; a cut loses everything in flight.
    pub fn set_link_up(&mut self, up: bool) {
        if !up {
            self.links.iter_mut().for_each(Link::cut);
        }
        self.link_up = up;
    }
    pub fn link_up(&self) -> bool {
        self.link_up
    }
    /// Link beats carried from card `card` to its partner.
    pub fn link_beats_sent(&self, card: usize) -> u64 {
        self.links[card].carried
    }
    /// The card's interrupt line as of the last cycle.
    pub fn irq(&self, card: usize) -> Result<bool> {
        self.check(card)?;
        Ok(self.cards[card].outputs.bit(out::IRQ))
    }

    /// The configuration flash chip of a card.
    pub fn flash(&self, card: usize) -> Result<&SpiFlash> {
        self.flash.get(card).ok_or(SimError::NoSuchCard(card))
    }
    pub fn flash_mut(&mut self, card: usize) -> Result<&mut SpiFlash> {
        self.flash.get_mut(card).ok_or(SimError::NoSuchCard(card))
    }

    /// Holds the card in reset for [`RESET_CYCLES`] and steps through it.
    /// Host memory and the flash keep their contents.
    pub fn reset_card(&mut self, card: usize) -> Result<()> {
        self.check(card)?;
        self.reset_left[card] = RESET_CYCLES;
        self.stats[card].resets += 1;
        self.step_n(RESET_CYCLES + 1);
        Ok(())
    }

    /// Power cut on the card's board: a program or erase under way in the
    /// flash is torn, and the card restarts from reset.
    pub fn power_cut(&mut self, card: usize) -> Result<()> {
        self.check(card)?;
        self.flash[card].power_cut();
        self.reset_card(card)
    }

    fn check(&self, card: usize) -> Result<()> {
        if card < 2 {
            Ok(())
        } else {
            Err(SimError::NoSuchCard(card))
        }
    }

    pub fn step_n(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    /// Advances both cards and their environment by one clock cycle.
    pub fn step(&mut self) {
        let now = self.cycle;
        let mut link_ready = [false; 2];
        let mut host_ready = [false; 2];
        for c in 0..2 {
            link_ready[c] = self.link_up && self.rng.gen_range(0..100u8) >= self.cfg.link_stall_pct;
            host_ready[c] = self.rng.gen_range(0..100u8) >= self.cfg.host_stall_pct;
        }
        for c in 0..2 {
            self.drive_inputs(c, now, link_ready[c], host_ready[c]);
            let held = self.reset_left[c] > 0;
            self.cards[c].inputs.set_bit(inp::RESET, held);
            self.reset_left[c] = self.reset_left[c].saturating_sub(1);
        }
        for card in &mut self.cards {
            card.cycle();
        }
        for c in 0..2 {
            self.take_outputs(c, now, link_ready[c], host_ready[c]);
        }
        if self.cfg.record_trace {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for card in &self.cards {
                for w in &card.outputs.words {
                    h = (h ^ *w as u64).wrapping_mul(0x0100_0000_01b3);
                }
            }
            self.trace.push(h);
        }
        self.cycle += 1;
    }

    fn drive_inputs(&mut self, c: usize, now: u64, link_ready: bool, host_ready: bool) {
        let peer = 1 - c;
        let pins = &mut self.cards[c].inputs;
        match &self.bar[c] {
            Some(r) => {
                pins.set_bit(inp::BAR_REQ_VALID, true);
                pins.set_bit(inp::BAR_REQ_WRITE, r.write);
                pins.set(inp::BAR_REQ_ADDR, r.offset as u64);
                pins.set(inp::BAR_REQ_WDATA, r.data as u64);
            }
            None => pins.set_bit(inp::BAR_REQ_VALID, false),
        }
        pins.set_bit(inp::NTB_LINK_UP, self.link_up);
        pins.set_bit(inp::FLASH_MISO, self.flash[c].miso());
        pins.set_bit(inp::NTB_TX_READY, link_ready);
        match self.links[peer].head(now) {
            Some(b) => {
                pins.set_bit(inp::NTB_RX_VALID, true);
                pins.set(inp::NTB_RX_KIND, b.kind as u64);
                pins.set(inp::NTB_RX_ADDR, b.addr);
                pins.set_bytes(inp::NTB_RX_DATA, &b.data);
                pins.set_bit(inp::NTB_RX_LAST, b.last);
            }
            None => pins.set_bit(inp::NTB_RX_VALID, false),
        }
        pins.set_bit(inp::DMA_RD_REQ_READY, host_ready);
        pins.set_bit(inp::DMA_WR_READY, host_ready);
        let job = self.dma_reads[c].front().filter(|j| j.due <= now);
        match job {
            Some(j) => {
                let mut data = vec![0u8; BEAT_BYTES];
                let error = j.error || self.mem[c].read(Iova(j.addr), &mut data).is_err();
                pins.set_bit(inp::DMA_RD_RSP_VALID, true);
                pins.set_bytes(inp::DMA_RD_RSP_DATA, if error { &[] } else { &data });
                pins.set(inp::DMA_RD_RSP_TAG, j.tag);
                pins.set_bit(inp::DMA_RD_RSP_LAST, j.remaining <= BEAT_BYTES || error);
                pins.set_bit(inp::DMA_RD_RSP_ERR, error);
            }
            None => pins.set_bit(inp::DMA_RD_RSP_VALID, false),
        }
    }

    fn take_outputs(&mut self, c: usize, now: u64, link_ready: bool, host_ready: bool) {
        let peer = 1 - c;
        let o = &self.cards[c].outputs;
        let i = &self.cards[c].inputs;
        self.flash[c].cycle(
            o.bit(out::FLASH_CS_N),
            o.bit(out::FLASH_SCK),
            o.bit(out::FLASH_MOSI),
        );
        if o.bit(out::BOOT_REQ) && self.reset_left[c] == 0 {
            // Reconfiguration: the FPGA reloads and the card starts from reset.
            self.stats[c].boots += 1;
            self.stats[c].resets += 1;
            self.reset_left[c] = RESET_CYCLES;
        }
        // BAR requests are presented for exactly one cycle.
        self.bar[c] = None;
        if o.bit(out::NTB_TX_VALID) && link_ready {
            let beat = LinkBeat {
                kind: o.get(out::NTB_TX_KIND) as u8,
                addr: o.get(out::NTB_TX_ADDR),
                data: o.bytes(out::NTB_TX_DATA),
                last: o.bit(out::NTB_TX_LAST),
            };
            self.links[c].send(now, self.cfg.link_latency, beat);
        }
        if i.bit(inp::NTB_RX_VALID) && o.bit(out::NTB_RX_READY) {
            self.links[peer].pop();
        }
        // DMA read responses.
        if i.bit(inp::DMA_RD_RSP_VALID) && o.bit(out::DMA_RD_RSP_READY) {
            let error = i.bit(inp::DMA_RD_RSP_ERR);
            if let Some(j) = self.dma_reads[c].front_mut() {
                self.stats[c].dma_read_beats += 1;
                if error || j.remaining <= BEAT_BYTES {
                    if error {
                        self.stats[c].dma_out_of_range += 1;
                    }
                    self.dma_reads[c].pop_front();
                } else {
                    j.remaining -= BEAT_BYTES;
                    j.addr += BEAT_BYTES as u64;
                }
            }
        }
        // DMA read requests.
        if o.bit(out::DMA_RD_REQ_VALID) && host_ready {
            let addr = o.get(out::DMA_RD_REQ_ADDR);
            let len = o.get(out::DMA_RD_REQ_LEN) as usize;
            let error = self.mem[c].read(Iova(addr), &mut vec![0; len]).is_err();
            self.dma_reads[c].push_back(DmaReadJob {
                due: now + 1 + self.cfg.dma_read_latency,
                addr,
                remaining: len.max(1),
                tag: o.get(out::DMA_RD_REQ_TAG),
                error,
            });
        }
        // DMA writes.
        if o.bit(out::DMA_WR_VALID) && host_ready {
            let addr = o.get(out::DMA_WR_ADDR);
            let data = o.bytes(out::DMA_WR_DATA);
            let strb_bytes = o.bytes(out::DMA_WR_STRB);
            let strobe: Vec<bool> = (0..BEAT_BYTES)
                .map(|b| strb_bytes[b / 8] >> (b % 8) & 1 == 1)
                .collect();
            self.stats[c].dma_write_beats += 1;
            if self.mem[c]
                .write_strobed(Iova(addr), &data, &strobe)
                .is_err()
            {
                self.stats[c].dma_out_of_range += 1;
            }
        }
    }

    fn check_offset(&self, card: usize, offset: u32) -> Result<()> {
        self.check(card)?;
        if offset >= BAR0_SIZE {
            return Err(SimError::BarRange {
                card,
                offset,
                size: BAR0_SIZE,
            });
        }
        Ok(())
    }

    /// A posted 32-bit BAR0 write: presented to the card in the next cycle.
    pub fn bar_write(&mut self, card: usize, offset: u32, data: u32) -> Result<()> {
        self.check_offset(card, offset)?;
        self.bar[card] = Some(BarReq {
            write: true,
            offset,
            data,
        });
        self.step();
        Ok(())
    }

    /// A 32-bit BAR0 read: waits for the card's response (at most 64 cycles).
    pub fn bar_read(&mut self, card: usize, offset: u32) -> Result<u32> {
        const LIMIT: u64 = 64;
        self.check_offset(card, offset)?;
        self.bar[card] = Some(BarReq {
            write: false,
            offset,
            data: 0,
        });
        self.step();
        for _ in 0..LIMIT {
            self.step();
            let o = &self.cards[card].outputs;
            if o.bit(out::BAR_RSP_VALID) {
                return Ok(o.get(out::BAR_RSP_RDATA) as u32);
            }
        }
        Err(SimError::BarTimeout {
            card,
            offset,
            cycles: LIMIT,
        })
    }

    /// Steps until the card's interrupt line is high; returns the cycles waited.
    pub fn wait_irq(&mut self, card: usize, max_cycles: u64) -> Result<u64> {
        self.check(card)?;
        for n in 0..=max_cycles {
            if self.cards[card].outputs.bit(out::IRQ) {
                return Ok(n);
            }
            self.step();
        }
        Err(SimError::IrqTimeout {
            card,
            cycles: max_cycles,
        })
    }
}
