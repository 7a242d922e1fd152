//! The co-simulated pair: two cards, two host memories, the NTB link.
//!
//! Each cycle, every input of both cards is computed from the world's state
//! as it stood before the cycle (link queues, pending requests, seeded
//! back-pressure), both cards are clocked, and the world's state is updated
//! from the transfers their outputs show. Nothing depends on wall-clock time
//! or thread scheduling: one configuration and seed give one trace.

use crate::link::{Link, LinkBeat, LinkStats};
use crate::memory::{HostMemory, Iova};
use crate::model::{card_ports, CardModel};
use crate::ports::CardPorts;
use crate::spi_flash::{FlashModelConfig, SpiFlash};
use crate::{Result, SimError};
use duplex_regs::BAR0_SIZE;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::ops::Range;

/// Co-simulation parameters.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Data-path width of both cards in bits: 64, 128, 256 or 512
    /// ([`crate::model::BUILT_WIDTHS`]).
    pub width_bits: usize,
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
            width_bits: 256,
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
    /// The error comes from [`SimWorld::fail_dma_reads`].
    injected: bool,
}

/// Counters of the environment around the cards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorldStats {
    pub dma_read_beats: u64,
    pub dma_write_beats: u64,
    /// DMA writes or reads that fell outside host memory (never performed).
    pub dma_out_of_range: u64,
    /// DMA reads answered with an error by [`SimWorld::fail_dma_reads`].
    pub dma_read_faults: u64,
    /// Reconfigurations the card requested (FLASH.CTRL.BOOT).
    pub boots: u64,
    /// Resets applied to the card (boot, power cut, fault injection).
    pub resets: u64,
}

/// Cycles a card is held in reset when it reconfigures or loses power.
pub const RESET_CYCLES: u64 = 4;

pub struct SimWorld {
    cfg: SimConfig,
    /// Port layout of both cards' build.
    ports: &'static CardPorts,
    /// Bytes per data beat of that build.
    beat_bytes: usize,
    cards: [CardModel; 2],
    mem: [HostMemory; 2],
    /// `links[c]` carries beats sent by card `c` to card `1 - c`.
    links: [Link; 2],
    link_up: bool,
    bar: [Option<BarReq>; 2],
    dma_reads: [VecDeque<DmaReadJob>; 2],
    /// IOVA ranges whose host reads fail, per card (fault injection).
    read_faults: [Vec<Range<u64>>; 2],
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
        let ports = card_ports(cfg.width_bits)?;
        let mut w = Self {
            ports,
            beat_bytes: ports.width_bits / 8,
            cards: [
                CardModel::new(cfg.width_bits)?,
                CardModel::new(cfg.width_bits)?,
            ],
            mem: [
                HostMemory::new(0, cfg.host_memory_bytes),
                HostMemory::new(1, cfg.host_memory_bytes),
            ],
            links: [Link::default(), Link::default()],
            link_up: true,
            bar: [None, None],
            dma_reads: [VecDeque::new(), VecDeque::new()],
            read_faults: [Vec::new(), Vec::new()],
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
    /// Data-path width of the cards in bits.
    pub fn width_bits(&self) -> usize {
        self.ports.width_bits
    }
    /// Bytes per data beat (DMA port and link).
    pub fn beat_bytes(&self) -> usize {
        self.beat_bytes
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
        self.links.get(card).map_or(0, |l| l.carried)
    }
    /// Beats and bursts, by kind, carried from card `card` to its partner
    /// (injected beats included).
    pub fn link_stats(&self, card: usize) -> Result<&LinkStats> {
        self.check(card)?;
        Ok(&self.links[card].stats)
    }
    /// Zeroes the per-kind link counters of both directions.
    pub fn clear_link_stats(&mut self) {
        self.links
            .iter_mut()
            .for_each(|l| l.stats = LinkStats::default());
    }
    /// Puts `beat` on the link from card `from_card` to its partner as if
    /// that card had sent it this cycle: a faulty or hostile partner. The
    /// data is cut or zero-padded to the beat width. Dropped like any other
    /// beat while the link is down.
    pub fn inject_link_beat(&mut self, from_card: usize, mut beat: LinkBeat) -> Result<()> {
        self.check(from_card)?;
        beat.data.resize(self.beat_bytes, 0);
        if self.link_up {
            self.links[from_card].send(self.cycle, self.cfg.link_latency, beat);
        }
        Ok(())
    }
    /// From now on, every host read by card `card` that touches `range`
    /// (IOVAs) is answered with an error, as a host whose IOMMU or memory
    /// faults would. Several ranges may be set; see
    /// [`SimWorld::clear_dma_read_faults`].
    pub fn fail_dma_reads(&mut self, card: usize, range: Range<u64>) -> Result<()> {
        self.check(card)?;
        self.read_faults[card].push(range);
        Ok(())
    }
    /// Removes every read fault set with [`SimWorld::fail_dma_reads`].
    pub fn clear_dma_read_faults(&mut self, card: usize) -> Result<()> {
        self.check(card)?;
        self.read_faults[card].clear();
        Ok(())
    }
    fn read_faulted(&self, card: usize, addr: u64, len: usize) -> bool {
        let end = addr.saturating_add(len.max(1) as u64);
        self.read_faults[card]
            .iter()
            .any(|r| r.start < end && addr < r.end)
    }
    /// The card's interrupt line as of the last cycle.
    pub fn irq(&self, card: usize) -> Result<bool> {
        self.check(card)?;
        Ok(self.cards[card].outputs.bit(self.ports.output.irq))
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
            self.cards[c].inputs.set_bit(self.ports.input.reset, held);
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
        let (inp, beat) = (&self.ports.input, self.beat_bytes);
        let pins = &mut self.cards[c].inputs;
        match &self.bar[c] {
            Some(r) => {
                pins.set_bit(inp.bar_req_valid, true);
                pins.set_bit(inp.bar_req_write, r.write);
                pins.set(inp.bar_req_addr, r.offset as u64);
                pins.set(inp.bar_req_wdata, r.data as u64);
            }
            None => pins.set_bit(inp.bar_req_valid, false),
        }
        pins.set_bit(inp.ntb_link_up, self.link_up);
        pins.set_bit(inp.flash_miso, self.flash[c].miso());
        pins.set_bit(inp.ntb_tx_ready, link_ready);
        match self.links[peer].head(now) {
            Some(b) => {
                pins.set_bit(inp.ntb_rx_valid, true);
                pins.set(inp.ntb_rx_kind, b.kind as u64);
                pins.set(inp.ntb_rx_addr, b.addr);
                pins.set_bytes(inp.ntb_rx_data, &b.data);
                pins.set_bit(inp.ntb_rx_last, b.last);
            }
            None => pins.set_bit(inp.ntb_rx_valid, false),
        }
        pins.set_bit(inp.dma_rd_req_ready, host_ready);
        pins.set_bit(inp.dma_wr_ready, host_ready);
        let job = self.dma_reads[c].front().filter(|j| j.due <= now);
        match job {
            Some(j) => {
                let mut data = vec![0u8; beat];
                let error = j.error || self.mem[c].read(Iova(j.addr), &mut data).is_err();
                pins.set_bit(inp.dma_rd_rsp_valid, true);
                pins.set_bytes(inp.dma_rd_rsp_data, if error { &[] } else { &data });
                pins.set(inp.dma_rd_rsp_tag, j.tag);
                pins.set_bit(inp.dma_rd_rsp_last, j.remaining <= beat || error);
                pins.set_bit(inp.dma_rd_rsp_err, error);
            }
            None => pins.set_bit(inp.dma_rd_rsp_valid, false),
        }
    }

    fn take_outputs(&mut self, c: usize, now: u64, link_ready: bool, host_ready: bool) {
        let peer = 1 - c;
        let (out, inp, beat) = (&self.ports.output, &self.ports.input, self.beat_bytes);
        let o = &self.cards[c].outputs;
        let i = &self.cards[c].inputs;
        self.flash[c].cycle(
            o.bit(out.flash_cs_n),
            o.bit(out.flash_sck),
            o.bit(out.flash_mosi),
        );
        if o.bit(out.boot_req) && self.reset_left[c] == 0 {
            // Reconfiguration: the FPGA reloads and the card starts from reset.
            self.stats[c].boots += 1;
            self.stats[c].resets += 1;
            self.reset_left[c] = RESET_CYCLES;
        }
        // BAR requests are presented for exactly one cycle.
        self.bar[c] = None;
        if o.bit(out.ntb_tx_valid) && link_ready {
            let sent = LinkBeat {
                kind: o.get(out.ntb_tx_kind) as u8,
                addr: o.get(out.ntb_tx_addr),
                data: o.bytes(out.ntb_tx_data),
                last: o.bit(out.ntb_tx_last),
            };
            self.links[c].send(now, self.cfg.link_latency, sent);
        }
        if i.bit(inp.ntb_rx_valid) && o.bit(out.ntb_rx_ready) {
            self.links[peer].pop();
        }
        // DMA read responses.
        if i.bit(inp.dma_rd_rsp_valid) && o.bit(out.dma_rd_rsp_ready) {
            let error = i.bit(inp.dma_rd_rsp_err);
            if let Some(j) = self.dma_reads[c].front_mut() {
                self.stats[c].dma_read_beats += 1;
                if error || j.remaining <= beat {
                    if error && j.injected {
                        self.stats[c].dma_read_faults += 1;
                    } else if error {
                        self.stats[c].dma_out_of_range += 1;
                    }
                    self.dma_reads[c].pop_front();
                } else {
                    j.remaining -= beat;
                    j.addr += beat as u64;
                }
            }
        }
        // DMA read requests.
        if o.bit(out.dma_rd_req_valid) && host_ready {
            let addr = o.get(out.dma_rd_req_addr);
            let len = o.get(out.dma_rd_req_len) as usize;
            let outside = self.mem[c].read(Iova(addr), &mut vec![0; len]).is_err();
            let injected = !outside && self.read_faulted(c, addr, len);
            self.dma_reads[c].push_back(DmaReadJob {
                due: now + 1 + self.cfg.dma_read_latency,
                addr,
                remaining: len.max(1),
                tag: o.get(out.dma_rd_req_tag),
                error: outside || injected,
                injected,
            });
        }
        // DMA writes.
        if o.bit(out.dma_wr_valid) && host_ready {
            let addr = o.get(out.dma_wr_addr);
            let data = o.bytes(out.dma_wr_data);
            let strb_bytes = o.bytes(out.dma_wr_strb);
            let strobe: Vec<bool> = (0..beat)
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
            if o.bit(self.ports.output.bar_rsp_valid) {
                return Ok(o.get(self.ports.output.bar_rsp_rdata) as u32);
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
            if self.cards[card].outputs.bit(self.ports.output.irq) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_faults_cover_every_read_touching_their_range_until_cleared() {
        let mut w = SimWorld::new(SimConfig::default()).unwrap();
        w.fail_dma_reads(1, 0x2000..0x3000).unwrap();
        assert!(w.read_faulted(1, 0x1F00, 0x101));
        assert!(w.read_faulted(1, 0x2FFF, 1));
        assert!(!w.read_faulted(1, 0x1F00, 0x100));
        assert!(!w.read_faulted(1, 0x3000, 64));
        assert!(!w.read_faulted(0, 0x2000, 64), "only card 1");
        assert!(w.fail_dma_reads(2, 0..1).is_err());
        w.clear_dma_read_faults(1).unwrap();
        assert!(!w.read_faulted(1, 0x2000, 64));
    }
}
