//! `Card`: software's side of the DMA copy engine and the inbound NTB windows
//! (BAR0 blocks DMA and WIN, `duplex_regs::dma`; DESIGN.md ideas 3, 4, 6)
//! over any [`Device`].
//!
//! ```text
//!   submit ─► descriptor ring (host memory) ─► DESC_TAIL doorbell ─► engine
//!   poll / wait ◄─ completion ring (host memory, PHASE flag) ◄──────┘
//!                 CPL_HEAD ◄─ consumed count          IRQ.STATUS.DMA ─► wait_irq
//! ```
//!
//! Rings are free-running 16-bit counters. A completion is fresh when its
//! PHASE flag matches the pass of the ring software is on; the card writes the
//! entry's first eight bytes (with the flag) last, so a fresh flag means a
//! whole entry. The high-level calls ([`Card::mirror`], [`Card::release`],
//! [`Card::copy_back`], [`Card::meta`]) run one descriptor at a time and turn
//! a failed status into a typed error; completions of descriptors posted with
//! [`Card::submit`] that they meet on the way are kept for [`Card::poll`].

use crate::device::{Device, DmaBuffer, Iova};
use crate::error::{DriverError, Result};
use crate::regs::Regs;
use duplex_regs::dma::{self as d, win};
use duplex_regs::layout::{completion_flags, flags, opcode, status};
use duplex_regs::{irq, params, Completion, Descriptor, Reg, DMA, WIN};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;

/// How long a high-level call waits for its completion.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);
/// Guard regions are whole pages.
const GUARD_GRANULE: usize = 4096;

/// What [`Card::open`] sets up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardSetup {
    /// Descriptor ring of 2^desc_log2 entries (1..=15).
    pub desc_log2: u32,
    /// Completion ring of 2^cpl_log2 entries (1..=15).
    pub cpl_log2: u32,
    /// IRQ.STATUS.DMA once this many completions are unsignalled (0 acts as 1).
    pub coalesce_count: u16,
    /// ... or once the oldest is this many card cycles old (0: no timer).
    pub coalesce_time: u16,
    /// Pattern-filled bytes before and after each ring (rounded up to pages;
    /// 0: none), checked by [`Card::check_guards`].
    pub guard_bytes: usize,
    /// How long a high-level call waits for its completion.
    pub timeout: Duration,
}

impl Default for CardSetup {
    fn default() -> Self {
        Self {
            desc_log2: 8,
            cpl_log2: 8,
            coalesce_count: 1,
            coalesce_time: 0,
            guard_bytes: 0,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The metadata a MIRROR carries to the partner (DESIGN.md idea 4): the
/// record of page `i` gets `lba + 8 i`, `seq + i`, and `dirty_first` (first
/// page), `dirty_last` (last page) or all ones (pages between).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MirrorMeta {
    pub lun: u32,
    pub lba: u64,
    pub seq: u32,
    pub dirty_first: u64,
    pub dirty_last: u64,
    pub cache_id: u16,
    pub epoch: u32,
}

/// DMA memory with pattern-filled guard regions on both sides, so a stray
/// DMA write just outside it is caught ([`GuardedBuffer::check_guards`]).
pub struct GuardedBuffer {
    buf: DmaBuffer,
    guard: usize,
    len: usize,
    device: String,
}

/// The guard pattern: never all-zero, differs between neighbouring bytes.
fn guard_byte(i: usize) -> u8 {
    (i as u8).wrapping_mul(37) ^ 0xA5
}

impl GuardedBuffer {
    /// `len` bytes of DMA memory with `guard` bytes (rounded up to a page)
    /// of pattern before and after.
    pub fn new(dev: &dyn Device, len: usize, guard: usize) -> Result<Self> {
        let guard = guard.div_ceil(GUARD_GRANULE) * GUARD_GRANULE;
        let total = guard
            .checked_mul(2)
            .and_then(|g| g.checked_add(len))
            .ok_or_else(|| DriverError::Dma {
                device: dev.name(),
                detail: format!("{len} bytes with {guard}-byte guards overflow"),
            })?;
        let buf = dev.alloc_dma(total)?;
        let g = Self {
            buf,
            guard,
            len,
            device: dev.name(),
        };
        if guard > 0 {
            let pattern: Vec<u8> = (0..guard).map(guard_byte).collect();
            g.buf.write(0, &pattern)?;
            g.buf.write(guard + len, &pattern)?;
        }
        Ok(g)
    }
    /// IOVA of the first byte inside the guards.
    pub fn iova(&self) -> Iova {
        Iova(self.buf.iova().0 + self.guard as u64)
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn guard_bytes(&self) -> usize {
        self.guard
    }
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        crate::device::check_dma_range(&self.device, offset, buf.len(), self.len)?;
        self.buf.read(self.guard + offset, buf)
    }
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        crate::device::check_dma_range(&self.device, offset, data.len(), self.len)?;
        self.buf.write(self.guard + offset, data)
    }
    /// Checks both guards still hold their pattern; `what` names the buffer
    /// in the error.
    pub fn check_guards(&self, what: &str) -> Result<()> {
        let mut got = vec![0u8; self.guard];
        for (side, start) in [("before", 0), ("after", self.guard + self.len)] {
            self.buf.read(start, &mut got)?;
            if let Some(i) = (0..self.guard).find(|&i| got[i] != guard_byte(i)) {
                return Err(DriverError::GuardDamaged {
                    device: self.device.clone(),
                    what: what.to_string(),
                    side,
                    offset: i,
                    found: got[i],
                    expected: guard_byte(i),
                });
            }
        }
        Ok(())
    }
}

/// The engine's and the inbound windows' counters and state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DmaStats {
    pub idle: bool,
    pub desc_head: u16,
    pub desc_tail: u16,
    pub cpl_tail: u16,
    pub cpl_head: u16,
    pub meta_head: u16,
    pub meta_tail: u16,
    pub desc_done: u32,
    pub desc_failed: u32,
    pub pages_sent: u32,
    pub records_sent: u32,
    /// Status of the last failed descriptor (7:0) and its index (31:16).
    pub last_status: u32,
    pub win_writes: u32,
    pub win_reads: u32,
    pub win_dropped: u32,
    pub win_last_bad: u64,
    pub win_errors: u32,
}

/// One card's DMA engine and inbound windows.
pub struct Card<'a> {
    regs: Regs<'a>,
    desc: GuardedBuffer,
    cpl: GuardedBuffer,
    desc_log2: u32,
    cpl_log2: u32,
    /// Free-running count of descriptors written into the ring.
    posted: u16,
    /// The last value written to DESC_TAIL.
    doorbell: u16,
    /// Free-running count of completions taken from the ring.
    consumed: u16,
    max_pages: u16,
    slot_size: u64,
    /// Completions taken from the ring by a high-level call that were not
    /// its own, for [`Card::poll`].
    stash: VecDeque<Completion>,
    next_tag: u32,
    timeout: Duration,
}

impl<'a> Card<'a> {
    /// Checks the DMA and WIN blocks' TYPE and major VERSION, allocates the
    /// rings, programs them, unmasks the DMA interrupt cause and enables the
    /// engine. The engine must be idle (nothing posted and not fetched).
    pub fn open(dev: &'a dyn Device, setup: CardSetup) -> Result<Self> {
        let regs = Regs::new(dev);
        for b in [DMA, WIN] {
            let ty = regs.read(b.type_reg())?;
            let ver = regs.read(b.version_reg())?;
            if ty != b.type_id || ver >> 16 != b.version >> 16 {
                return Err(DriverError::BlockList {
                    device: dev.name(),
                    offset: b.base,
                    detail: format!(
                        "expected the {} block (type {:#010x}, version {}.x), found type {ty:#010x} version {ver:#x}",
                        b.name,
                        b.type_id,
                        b.version >> 16
                    ),
                });
            }
        }
        let bad = |detail: String| DriverError::DmaSetup {
            device: dev.name(),
            detail,
        };
        for (what, v) in [("desc_log2", setup.desc_log2), ("cpl_log2", setup.cpl_log2)] {
            if !(1..=15).contains(&v) {
                return Err(bad(format!("{what} {v} is outside 1..=15")));
            }
        }
        let max_pages = d::CAPS_MAX_PAGES.get(regs.read(d::CAPS)?) as u16;
        let (head, tail) = (regs.read(d::DESC_HEAD)?, regs.read(d::DESC_TAIL)?);
        if head != tail {
            return Err(bad(format!(
                "the engine still has descriptors {head}..{tail} to fetch"
            )));
        }
        let desc = GuardedBuffer::new(dev, 128 << setup.desc_log2, setup.guard_bytes)?;
        let cpl = GuardedBuffer::new(dev, 64 << setup.cpl_log2, setup.guard_bytes)?;
        regs.write(d::CTRL, 0)?;
        let consumed = regs.read(d::CPL_TAIL)? as u16;
        let mut card = Self {
            regs,
            desc,
            cpl,
            desc_log2: setup.desc_log2,
            cpl_log2: setup.cpl_log2,
            posted: tail as u16,
            doorbell: tail as u16,
            consumed,
            max_pages: max_pages.max(1),
            slot_size: u64::from(params::SLOT_SIZE),
            stash: VecDeque::new(),
            next_tag: 1,
            timeout: setup.timeout,
        };
        card.mark_ring_stale()?;
        let r = &card.regs;
        write64(r, d::DESC_BASE_LO, d::DESC_BASE_HI, card.desc.iova().0)?;
        r.write(d::DESC_LOG2, setup.desc_log2)?;
        write64(r, d::CPL_BASE_LO, d::CPL_BASE_HI, card.cpl.iova().0)?;
        r.write(d::CPL_LOG2, setup.cpl_log2)?;
        r.write(d::CPL_HEAD, u32::from(consumed))?;
        r.write(d::COAL_COUNT, u32::from(setup.coalesce_count))?;
        r.write(d::COAL_TIME, u32::from(setup.coalesce_time))?;
        let mask = r.read(irq::MASK)?;
        r.write(irq::MASK, mask & !irq::DMA.mask())?;
        r.write(irq::STATUS, irq::DMA.mask())?;
        r.write(d::CTRL, d::CTRL_ENABLE.mask())?;
        Ok(card)
    }

    /// Writes every completion entry with the PHASE value that marks it
    /// stale for the next pass, so a fresh ring is never mistaken for
    /// completions (the counters may be on an odd pass already).
    fn mark_ring_stale(&mut self) -> Result<()> {
        let size = 1u32 << self.cpl_log2;
        for k in 0..size {
            let n = self.consumed.wrapping_add(k as u16);
            let stale = Completion {
                flags: if self.phase_of(n) {
                    0
                } else {
                    completion_flags::PHASE
                },
                ..Default::default()
            };
            self.cpl.write(self.cpl_offset(n), &stale.encode())?;
        }
        Ok(())
    }

    fn device(&self) -> String {
        self.regs.device().name()
    }
    fn desc_size(&self) -> u16 {
        1 << self.desc_log2
    }
    fn cpl_offset(&self, n: u16) -> usize {
        usize::from(n & ((1u16 << self.cpl_log2) - 1)) * Completion::SIZE
    }
    /// PHASE of free-running completion number `n`: set on even passes.
    fn phase_of(&self, n: u16) -> bool {
        (n >> self.cpl_log2) & 1 == 0
    }

    /// Most pages (or records, or slots) one descriptor carries (DMA.CAPS).
    pub fn max_pages(&self) -> u16 {
        self.max_pages
    }
    /// The descriptor ring and the completion ring, for guard checks.
    pub fn check_guards(&self) -> Result<()> {
        self.desc.check_guards("descriptor ring")?;
        self.cpl.check_guards("completion ring")
    }
    /// Descriptors posted whose completion software has not taken yet.
    pub fn outstanding(&self) -> u16 {
        self.posted.wrapping_sub(self.consumed)
    }

    /// Writes `desc` into the next ring entry without ringing the doorbell;
    /// returns its ring position (the completion's `desc_index`). Refused
    /// when every entry holds a descriptor whose completion is not taken.
    pub fn post(&mut self, desc: &Descriptor) -> Result<u16> {
        if self.outstanding() >= self.desc_size() {
            return Err(DriverError::DmaRingFull {
                device: self.device(),
                entries: u32::from(self.desc_size()),
            });
        }
        let pos = self.posted & (self.desc_size() - 1);
        self.desc
            .write(usize::from(pos) * Descriptor::SIZE, &desc.encode())?;
        self.posted = self.posted.wrapping_add(1);
        Ok(pos)
    }
    /// Tells the card about every posted descriptor (DESC_TAIL).
    pub fn ring_doorbell(&mut self) -> Result<()> {
        if self.doorbell != self.posted {
            self.regs.write(d::DESC_TAIL, u32::from(self.posted))?;
            self.doorbell = self.posted;
        }
        Ok(())
    }
    /// [`Card::post`] and [`Card::ring_doorbell`].
    pub fn submit(&mut self, desc: &Descriptor) -> Result<u16> {
        let pos = self.post(desc)?;
        self.ring_doorbell()?;
        Ok(pos)
    }

    /// Takes the next completion from the ring if the card has written it.
    fn take(&mut self) -> Result<Option<Completion>> {
        let mut raw = [0u8; Completion::SIZE];
        self.cpl.read(self.cpl_offset(self.consumed), &mut raw)?;
        let c = Completion::decode(&raw).map_err(|e| DriverError::Dma {
            device: self.device(),
            detail: e.to_string(),
        })?;
        let fresh = c.flags & completion_flags::PHASE != 0;
        if fresh != self.phase_of(self.consumed) {
            return Ok(None);
        }
        self.consumed = self.consumed.wrapping_add(1);
        self.regs.write(d::CPL_HEAD, u32::from(self.consumed))?;
        Ok(Some(c))
    }

    /// The next completion, if there is one; never waits (on the
    /// co-simulated card, time only moves when the card is accessed: wait
    /// with [`Card::wait`]).
    pub fn poll(&mut self) -> Result<Option<Completion>> {
        if let Some(c) = self.stash.pop_front() {
            return Ok(Some(c));
        }
        self.take()
    }

    /// The next completion, waiting for the DMA interrupt at most `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Result<Completion> {
        if let Some(c) = self.stash.pop_front() {
            return Ok(c);
        }
        self.wait_ring(timeout, "a completion")
    }

    fn wait_ring(&mut self, timeout: Duration, what: &str) -> Result<Completion> {
        let dev = self.regs.device();
        let start = dev.clock();
        loop {
            if let Some(c) = self.take()? {
                return Ok(c);
            }
            // Acknowledge the cause, then look again: a completion that
            // landed before the acknowledgement raises no new interrupt.
            self.regs.write(irq::STATUS, irq::DMA.mask())?;
            if let Some(c) = self.take()? {
                return Ok(c);
            }
            let elapsed = dev.clock().saturating_sub(start);
            let left = timeout.saturating_sub(elapsed);
            let timed_out = left.is_zero()
                || match dev.wait_irq(left) {
                    Ok(()) => false,
                    Err(e) if is_timeout(&e) => true,
                    Err(e) => return Err(e),
                };
            if timed_out {
                // Coalescing may hold the interrupt back: look once more.
                if let Some(c) = self.take()? {
                    return Ok(c);
                }
                return Err(DriverError::Timeout {
                    device: dev.name(),
                    what: what.to_string(),
                    timeout,
                });
            }
        }
    }

    /// Runs one descriptor to completion (IRQ_NOW, own tag) and returns its
    /// completion; earlier completions met on the way are kept for poll.
    pub fn execute(&mut self, mut desc: Descriptor) -> Result<Completion> {
        desc.flags |= flags::IRQ_NOW;
        desc.tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1);
        let pos = self.submit(&desc)?;
        loop {
            let what = format!("completion of descriptor {pos} (tag {:#x})", desc.tag);
            let c = self.wait_ring(self.timeout, &what)?;
            if c.tag == desc.tag && c.desc_index == pos {
                return Ok(c);
            }
            self.stash.push_back(c);
        }
    }

    fn failed(&self, c: &Completion, op: &'static str) -> DriverError {
        DriverError::DmaFailed {
            device: self.device(),
            op,
            tag: c.tag,
            status: c.status,
            reason: status::name(c.status),
            slots: c.slots[..usize::from(c.count.min(16))].to_vec(),
        }
    }

    /// MIRROR: copies `count` contiguous local pages from `pages` into slots
    /// the card takes, with their metadata records; returns the slots. On a
    /// host read error (or a refusal by the partner) the slots the card took
    /// are released before the error is returned; on LINK_DOWN they stay
    /// allocated and the error lists them (releasing needs the link).
    pub fn mirror(&mut self, pages: Iova, count: u16, meta: &MirrorMeta) -> Result<Vec<u16>> {
        let desc = mirror_descriptor(pages, count, meta);
        let c = self.execute(desc)?;
        if c.status == status::OK {
            return Ok(c.slots[..usize::from(c.count)].to_vec());
        }
        let err = self.failed(&c, "mirror");
        if matches!(c.status, status::DMA_READ_ERROR | status::REFUSED) && c.count > 0 {
            // Best effort: the original failure is what the caller needs.
            let _ = self.release(&c.slots[..usize::from(c.count.min(16))]);
        }
        Err(err)
    }

    /// MIRROR into the slots given (they need not come from the allocator).
    pub fn mirror_into(&mut self, pages: Iova, slots: &[u16], meta: &MirrorMeta) -> Result<()> {
        let mut desc = mirror_descriptor(pages, slots.len().min(16) as u16, meta);
        self.put_slots(&mut desc, slots, "mirror")?;
        desc.flags |= flags::SLOTS_GIVEN;
        let c = self.execute(desc)?;
        self.ok(&c, "mirror")
    }

    fn put_slots(&self, desc: &mut Descriptor, slots: &[u16], op: &'static str) -> Result<()> {
        if slots.is_empty() || slots.len() > usize::from(self.max_pages) {
            return Err(DriverError::DmaBadRequest {
                device: self.device(),
                op,
                detail: format!(
                    "{} slots (1..={} per descriptor)",
                    slots.len(),
                    self.max_pages
                ),
            });
        }
        desc.count = slots.len() as u16;
        desc.slots[..slots.len()].copy_from_slice(slots);
        Ok(())
    }

    fn ok(&self, c: &Completion, op: &'static str) -> Result<()> {
        if c.status == status::OK {
            Ok(())
        } else {
            Err(self.failed(c, op))
        }
    }

    /// RELEASE: zeroes each slot's header in the partner's memory and frees
    /// it, up to [`Card::max_pages`] slots per descriptor. Every slot is
    /// tried; the first failure is returned.
    pub fn release(&mut self, slots: &[u16]) -> Result<()> {
        let mut first = None;
        for chunk in slots.chunks(usize::from(self.max_pages)) {
            let mut desc = Descriptor {
                opcode: opcode::RELEASE,
                ..Default::default()
            };
            self.put_slots(&mut desc, chunk, "release")?;
            let c = self.execute(desc)?;
            if c.status != status::OK && first.is_none() {
                first = Some(self.failed(&c, "release"));
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// COPY_BACK: reads each slot's page from the partner's memory into
    /// consecutive local pages from `dst` (failback).
    pub fn copy_back(&mut self, slots: &[u16], dst: Iova) -> Result<()> {
        for (k, chunk) in slots.chunks(usize::from(self.max_pages)).enumerate() {
            let mut desc = Descriptor {
                opcode: opcode::COPY_BACK,
                local_addr: dst.0 + (k * usize::from(self.max_pages)) as u64 * self.slot_size,
                ..Default::default()
            };
            self.put_slots(&mut desc, chunk, "copy-back")?;
            let c = self.execute(desc)?;
            self.ok(&c, "copy-back")?;
        }
        Ok(())
    }

    /// META: sends `count` 64-byte records from `records` to the partner's
    /// metadata ring, up to [`Card::max_pages`] per descriptor.
    pub fn meta(&mut self, records: Iova, count: u32) -> Result<()> {
        let per = u32::from(self.max_pages);
        let mut done = 0;
        while done < count {
            let n = (count - done).min(per);
            let desc = Descriptor {
                opcode: opcode::META,
                count: n as u16,
                local_addr: records.0 + u64::from(done) * 64,
                ..Default::default()
            };
            let c = self.execute(desc)?;
            self.ok(&c, "meta")?;
            done += n;
        }
        Ok(())
    }

    /// Inbound windows (WIN): the mirror area this host keeps for the
    /// partner and the metadata ring the partner writes, as (IOVA, bytes).
    pub fn set_inbound(&self, mirror: (Iova, u64), meta: (Iova, u64)) -> Result<()> {
        let r = &self.regs;
        write64(r, win::MIRROR_BASE_LO, win::MIRROR_BASE_HI, mirror.0 .0)?;
        write64(r, win::MIRROR_SIZE_LO, win::MIRROR_SIZE_HI, mirror.1)?;
        write64(r, win::META_BASE_LO, win::META_BASE_HI, meta.0 .0)?;
        let meta_size = u32::try_from(meta.1).map_err(|_| DriverError::DmaSetup {
            device: self.device(),
            detail: format!("a {}-byte metadata ring does not fit WIN.META_SIZE", meta.1),
        })?;
        r.write(win::META_SIZE, meta_size)
    }

    /// Outbound window (DMA): the partner's mirror area size, its header
    /// table size, and its metadata ring of 2^meta_log2 records (0: none).
    pub fn set_outbound(
        &self,
        partner_mirror_bytes: u64,
        hdr_bytes: u64,
        meta_log2: u32,
    ) -> Result<()> {
        if meta_log2 > 15 || u32::try_from(hdr_bytes).is_err() {
            return Err(DriverError::DmaSetup {
                device: self.device(),
                detail: format!(
                    "header table {hdr_bytes} bytes, metadata ring 2^{meta_log2}: out of range"
                ),
            });
        }
        let r = &self.regs;
        write64(
            r,
            d::OUT_MIRROR_SIZE_LO,
            d::OUT_MIRROR_SIZE_HI,
            partner_mirror_bytes,
        )?;
        r.write(d::OUT_HDR_BYTES, hdr_bytes as u32)?;
        r.write(d::OUT_META_LOG2, meta_log2)
    }

    /// Local IOVAs the engine may touch end at or below `limit`.
    pub fn set_host_limit(&self, limit: u64) -> Result<()> {
        write64(&self.regs, d::HOST_LIMIT_LO, d::HOST_LIMIT_HI, limit)
    }

    /// Relays how many metadata-ring records the partner has consumed.
    pub fn set_meta_tail(&self, tail: u16) -> Result<()> {
        self.regs.write(d::OUT_META_TAIL, u32::from(tail))
    }

    /// Interrupt coalescing: IRQ.STATUS.DMA once `count` completions are
    /// unsignalled (0 acts as 1) or the oldest is `time` cycles old (0: no
    /// timer); a descriptor with IRQ_NOW always signals.
    pub fn set_coalescing(&self, count: u16, time: u16) -> Result<()> {
        self.regs.write(d::COAL_COUNT, u32::from(count))?;
        self.regs.write(d::COAL_TIME, u32::from(time))
    }

    /// Stops fetching descriptors (those fetched finish) or resumes.
    pub fn set_enabled(&self, on: bool) -> Result<()> {
        self.regs
            .write(d::CTRL, d::CTRL_ENABLE.set(0, u32::from(on)))
    }

    /// Counters and state of DMA and WIN.
    pub fn stats(&self) -> Result<DmaStats> {
        let r = |reg| self.regs.read(reg);
        let idx = |reg| -> Result<u16> { Ok(d::INDEX.get(r(reg)?) as u16) };
        Ok(DmaStats {
            idle: d::STATUS_IDLE.get(r(d::STATUS)?) == 1,
            desc_head: idx(d::DESC_HEAD)?,
            desc_tail: idx(d::DESC_TAIL)?,
            cpl_tail: idx(d::CPL_TAIL)?,
            cpl_head: idx(d::CPL_HEAD)?,
            meta_head: idx(d::OUT_META_HEAD)?,
            meta_tail: idx(d::OUT_META_TAIL)?,
            desc_done: r(d::DESC_DONE)?,
            desc_failed: r(d::DESC_FAILED)?,
            pages_sent: r(d::PAGES_SENT)?,
            records_sent: r(d::RECORDS_SENT)?,
            last_status: r(d::LAST_STATUS)?,
            win_writes: r(win::WRITES)?,
            win_reads: r(win::READS)?,
            win_dropped: r(win::DROPPED)?,
            win_last_bad: u64::from(r(win::LAST_BAD_LO)?) | u64::from(r(win::LAST_BAD_HI)?) << 32,
            win_errors: r(win::ERRORS)?,
        })
    }

    /// Zeroes the counters of DMA and WIN and clears WIN's sticky errors.
    pub fn clear_counters(&self) -> Result<()> {
        self.regs.write(d::CLEAR, 1)?;
        self.regs.write(win::CLEAR, 1)?;
        self.regs.write(win::ERRORS, win::ERR_REFUSED.mask())
    }
}

impl Drop for Card<'_> {
    fn drop(&mut self) {
        // The rings are freed with the card: stop fetching so the engine
        // does not read them afterwards. A failure here cannot be reported.
        let _ = self.regs.write(d::CTRL, 0);
    }
}

/// A MIRROR descriptor for `count` contiguous pages at `pages`.
pub fn mirror_descriptor(pages: Iova, count: u16, m: &MirrorMeta) -> Descriptor {
    Descriptor {
        opcode: opcode::MIRROR,
        count,
        local_addr: pages.0,
        lba: m.lba,
        lun: m.lun,
        seq: m.seq,
        dirty_first: m.dirty_first,
        dirty_last: m.dirty_last,
        cache_id: m.cache_id,
        epoch: m.epoch,
        ..Default::default()
    }
}

fn write64(r: &Regs<'_>, lo: Reg, hi: Reg, v: u64) -> Result<()> {
    r.write(lo, v as u32)?;
    r.write(hi, (v >> 32) as u32)
}

/// The device's wait for an interrupt ran out (as opposed to failing).
fn is_timeout(e: &DriverError) -> bool {
    match e {
        DriverError::IrqTimeout { .. } | DriverError::Timeout { .. } => true,
        #[cfg(feature = "sim")]
        DriverError::Sim(duplex_sim::SimError::IrqTimeout { .. }) => true,
        _ => false,
    }
}
