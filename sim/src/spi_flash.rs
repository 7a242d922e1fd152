//! A SPI NOR flash chip at the pin level, for the card's FLASH block.
//!
//! Mode 0: MOSI is sampled on SCK rising edges, MISO changes on falling
//! edges; a command is the bytes between CS# falling and rising. Modelled
//! commands (the common set of Micron N25Q and Spansion S25FL parts):
//!
//! | opcode | command | notes |
//! |---|---|---|
//! | 9F | RDID | 3 JEDEC id bytes |
//! | 05 | RDSR | status, repeated; bit 0 WIP, bit 1 WEL |
//! | 06 / 04 | WREN / WRDI | set / clear WEL |
//! | 03 / 13 | READ (3 / 4-byte address) | |
//! | 0B / 0C | FAST_READ (3 / 4-byte address) | one dummy byte |
//! | 02 / 12 | PAGE PROGRAM (3 / 4-byte address) | wraps inside the page; 1→0 only |
//! | D8 / DC | SECTOR ERASE (3 / 4-byte address) | |
//! | C7 / 60 | CHIP ERASE | |
//!
//! Program and erase need WEL, start when CS# rises on a byte boundary, keep
//! WIP set for their time in cycles, and clear WEL when done; while WIP is
//! set only RDSR is answered. Timings come from the datasheet figures of the
//! board profile, divided by [`FlashModelConfig::time_scale`] so tests finish
//! (the scale is reported by whoever sets it).
//!
//! A power cut ([`SpiFlash::power_cut`]) during a program or erase leaves the
//! operation half done: the first half of the bytes programmed or of the
//! sector erased, the rest untouched — a torn write, as on real parts.

/// Geometry, identity and timing of the modelled chip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlashModelConfig {
    pub jedec_id: u32,
    pub size: usize,
    pub sector_size: usize,
    pub page_size: usize,
    /// Page program time in card cycles (already scaled).
    pub page_program_cycles: u64,
    /// Sector erase time in card cycles (already scaled).
    pub sector_erase_cycles: u64,
    /// What the datasheet times were divided by (1 = real time).
    pub time_scale: u64,
}

impl Default for FlashModelConfig {
    /// A 16 MiB Micron N25Q128A (the KC705's SPI flash) at 250 MHz with its
    /// typical times divided by 1000.
    fn default() -> Self {
        Self::from_datasheet(0x20BA18, 16 << 20, 64 << 10, 256, 500, 700_000, 1000)
    }
}

impl FlashModelConfig {
    /// Times in microseconds at a 250 MHz card clock, divided by `scale`.
    pub fn from_datasheet(
        jedec_id: u32,
        size: usize,
        sector_size: usize,
        page_size: usize,
        page_program_us: u64,
        sector_erase_us: u64,
        scale: u64,
    ) -> Self {
        let cycles = |us: u64| (us * 250 / scale.max(1)).max(1);
        Self {
            jedec_id,
            size,
            sector_size,
            page_size,
            page_program_cycles: cycles(page_program_us),
            sector_erase_cycles: cycles(sector_erase_us),
            time_scale: scale.max(1),
        }
    }
}

#[derive(Clone, Debug)]
enum Pending {
    Program { addr: usize, data: Vec<u8> },
    Erase { start: usize, len: usize },
}

/// Counters of what the chip did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlashStats {
    pub programs: u64,
    pub erases: u64,
    pub ignored_busy: u64,
    pub torn: u64,
}

pub struct SpiFlash {
    cfg: FlashModelConfig,
    mem: Vec<u8>,
    // Pin state
    prev_cs_n: bool,
    prev_sck: bool,
    miso: bool,
    // Command state
    bits: u8,
    byte: u8,
    bytes: Vec<u8>,
    out: u8,
    // Status
    wel: bool,
    busy_until: u64,
    busy: Option<Pending>,
    now: u64,
    pub stats: FlashStats,
}

impl SpiFlash {
    pub fn new(cfg: FlashModelConfig) -> Self {
        Self {
            mem: vec![0xFF; cfg.size],
            cfg,
            prev_cs_n: true,
            prev_sck: false,
            miso: false,
            bits: 0,
            byte: 0,
            bytes: Vec::new(),
            out: 0,
            wel: false,
            busy_until: 0,
            busy: None,
            now: 0,
            stats: FlashStats::default(),
        }
    }

    pub fn config(&self) -> &FlashModelConfig {
        &self.cfg
    }
    pub fn contents(&self) -> &[u8] {
        &self.mem
    }
    /// Replaces the contents (e.g. from a file); missing bytes read erased.
    pub fn load(&mut self, data: &[u8]) {
        let n = data.len().min(self.mem.len());
        self.mem[..n].copy_from_slice(&data[..n]);
        self.mem[n..].fill(0xFF);
    }
    /// The MISO level the chip drives.
    pub fn miso(&self) -> bool {
        self.miso
    }
    pub fn write_in_progress(&self) -> bool {
        self.busy.is_some()
    }

    fn finish_due(&mut self) {
        if self.busy.is_some() && self.now >= self.busy_until {
            match self.busy.take() {
                Some(Pending::Program { addr, data }) => self.program_bytes(addr, &data),
                Some(Pending::Erase { start, len }) => self.mem[start..start + len].fill(0xFF),
                None => {}
            }
            self.wel = false;
        }
    }

    fn program_bytes(&mut self, addr: usize, data: &[u8]) {
        let page = addr / self.cfg.page_size * self.cfg.page_size;
        for (i, b) in data.iter().enumerate() {
            let a = page + (addr - page + i) % self.cfg.page_size;
            self.mem[a] &= b;
        }
    }

    /// Power lost: a program or erase in progress is torn (half done), the
    /// command in flight is dropped, WEL clears.
    pub fn power_cut(&mut self) {
        match self.busy.take() {
            Some(Pending::Program { addr, data }) => {
                let half = data.len() / 2;
                self.program_bytes(addr, &data[..half]);
                self.stats.torn += 1;
            }
            Some(Pending::Erase { start, len }) => {
                self.mem[start..start + len / 2].fill(0xFF);
                self.stats.torn += 1;
            }
            None => {}
        }
        self.wel = false;
        self.bytes.clear();
        self.bits = 0;
        self.prev_cs_n = true;
        self.prev_sck = false;
        self.miso = false;
    }

    fn status(&self) -> u8 {
        (self.busy.is_some() as u8) | (self.wel as u8) << 1
    }

    fn addr(&self, n: usize) -> Option<usize> {
        let b = self.bytes.get(1..1 + n)?;
        let a = b.iter().fold(0usize, |a, &x| a << 8 | x as usize);
        Some(a % self.cfg.size)
    }

    /// The byte to shift out next, given the bytes received so far.
    fn next_out(&self) -> u8 {
        let op = self.bytes[0];
        let n = self.bytes.len();
        if self.busy.is_some() {
            return if op == 0x05 { self.status() } else { 0xFF };
        }
        let read_at = |ab: usize, dummy: usize| -> u8 {
            let hdr = 1 + ab + dummy;
            if n < hdr {
                return 0xFF;
            }
            let a = self.addr(ab).unwrap_or(0);
            self.mem[(a + n - hdr) % self.cfg.size]
        };
        match op {
            0x9F => match n {
                1 => (self.cfg.jedec_id >> 16) as u8,
                2 => (self.cfg.jedec_id >> 8) as u8,
                3 => self.cfg.jedec_id as u8,
                _ => 0xFF,
            },
            0x05 => self.status(),
            0x03 => read_at(3, 0),
            0x13 => read_at(4, 0),
            0x0B => read_at(3, 1),
            0x0C => read_at(4, 1),
            _ => 0xFF,
        }
    }

    /// CS# rose: run a complete program or erase command.
    fn end_command(&mut self) {
        if self.bits != 0 || self.bytes.is_empty() {
            return; // not on a byte boundary: the command is discarded
        }
        let op = self.bytes[0];
        if self.busy.is_some() {
            if op != 0x05 {
                self.stats.ignored_busy += 1;
            }
            return;
        }
        match op {
            0x06 => self.wel = true,
            0x04 => self.wel = false,
            0x02 | 0x12 if self.wel => {
                let ab = if op == 0x02 { 3 } else { 4 };
                if let Some(addr) = self.addr(ab) {
                    let data: Vec<u8> = self.bytes[1 + ab..]
                        .iter()
                        .copied()
                        .rev()
                        .take(self.cfg.page_size)
                        .rev()
                        .collect();
                    if !data.is_empty() {
                        self.stats.programs += 1;
                        self.busy = Some(Pending::Program { addr, data });
                        self.busy_until = self.now + self.cfg.page_program_cycles;
                    }
                }
            }
            0xD8 | 0xDC if self.wel => {
                let ab = if op == 0xD8 { 3 } else { 4 };
                if let Some(addr) = self.addr(ab) {
                    let start = addr / self.cfg.sector_size * self.cfg.sector_size;
                    self.stats.erases += 1;
                    self.busy = Some(Pending::Erase {
                        start,
                        len: self.cfg.sector_size,
                    });
                    self.busy_until = self.now + self.cfg.sector_erase_cycles;
                }
            }
            0xC7 | 0x60 if self.wel => {
                self.stats.erases += 1;
                self.busy = Some(Pending::Erase {
                    start: 0,
                    len: self.cfg.size,
                });
                self.busy_until = self.now
                    + self.cfg.sector_erase_cycles * (self.cfg.size / self.cfg.sector_size) as u64;
            }
            _ => {}
        }
    }

    /// One card cycle with the pin levels the card drives in it.
    pub fn cycle(&mut self, cs_n: bool, sck: bool, mosi: bool) {
        self.now += 1;
        self.finish_due();
        if cs_n {
            if !self.prev_cs_n {
                self.end_command();
            }
            self.bytes.clear();
            self.bits = 0;
            self.miso = false;
        } else if !self.prev_cs_n || !cs_n {
            if sck && !self.prev_sck {
                self.byte = self.byte << 1 | mosi as u8;
                self.bits += 1;
                if self.bits == 8 {
                    self.bytes.push(self.byte);
                    self.bits = 0;
                    self.out = self.next_out();
                }
            } else if !sck && self.prev_sck {
                // Falling edge: present the next bit of the current out byte.
                self.miso = (self.out >> (7 - self.bits)) & 1 == 1;
            }
        }
        self.prev_cs_n = cs_n;
        self.prev_sck = sck;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives one command at the pin level (SCK = clock / 2) and returns the
    /// bytes sampled on MISO at each rising edge.
    fn xfer(f: &mut SpiFlash, tx: &[u8]) -> Vec<u8> {
        let mut rx = Vec::new();
        f.cycle(false, false, false);
        for &b in tx {
            let mut r = 0u8;
            for i in (0..8).rev() {
                let bit = b >> i & 1 == 1;
                f.cycle(false, false, bit);
                r = r << 1 | f.miso() as u8;
                f.cycle(false, true, bit);
            }
            rx.push(r);
        }
        f.cycle(false, false, false);
        f.cycle(true, false, false);
        rx
    }

    fn wait(f: &mut SpiFlash) -> u64 {
        let mut n = 0;
        while xfer(f, &[0x05, 0])[1] & 1 == 1 {
            n += 1;
        }
        n
    }

    #[test]
    fn rdid_returns_the_jedec_id() {
        let mut f = SpiFlash::new(FlashModelConfig::default());
        assert_eq!(xfer(&mut f, &[0x9F, 0, 0, 0])[1..], [0x20, 0xBA, 0x18]);
    }

    #[test]
    fn program_needs_wel_takes_time_and_only_clears_bits() {
        let mut f = SpiFlash::new(FlashModelConfig::default());
        xfer(&mut f, &[0x02, 0, 0x01, 0x00, 0x0F]);
        assert_eq!(f.contents()[0x100], 0xFF, "no WEL: ignored");
        xfer(&mut f, &[0x06]);
        assert_eq!(xfer(&mut f, &[0x05, 0])[1], 0b10);
        xfer(&mut f, &[0x02, 0, 0x01, 0x00, 0x0F, 0xF0]);
        assert!(wait(&mut f) > 0, "WIP while programming");
        assert_eq!(xfer(&mut f, &[0x05, 0])[1], 0, "WEL cleared when done");
        xfer(&mut f, &[0x06]);
        xfer(&mut f, &[0x02, 0, 0x01, 0x00, 0xF3]);
        wait(&mut f);
        assert_eq!(
            xfer(&mut f, &[0x0B, 0, 0x01, 0x00, 0, 0, 0])[5..],
            [0x03, 0xF0]
        );
    }

    #[test]
    fn sector_erase_and_a_torn_erase() {
        let mut f = SpiFlash::new(FlashModelConfig::default());
        f.load(&vec![0u8; 1 << 20]);
        xfer(&mut f, &[0x06]);
        xfer(&mut f, &[0xD8, 0x01, 0x00, 0x00]);
        wait(&mut f);
        assert!(f.contents()[0x10000..0x20000].iter().all(|&b| b == 0xFF));
        assert_eq!(f.contents()[0xFFFF], 0);
        xfer(&mut f, &[0x06]);
        xfer(&mut f, &[0xD8, 0x02, 0x00, 0x00]);
        f.power_cut();
        assert_eq!(f.stats.torn, 1);
        assert_eq!(f.contents()[0x20000], 0xFF);
        assert_eq!(f.contents()[0x2FFFF], 0x00);
    }

    #[test]
    fn a_command_cut_mid_byte_is_discarded() {
        let mut f = SpiFlash::new(FlashModelConfig::default());
        xfer(&mut f, &[0x06]);
        f.cycle(false, false, false);
        f.cycle(false, true, true); // one bit of a second byte, then CS# rises
        f.cycle(true, false, false);
        assert_eq!(xfer(&mut f, &[0x05, 0])[1], 0b10, "WEL kept, nothing run");
    }
}
