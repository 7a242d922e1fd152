//! Plain-Rust reference model of the DMA copy engine's observable behaviour
//! (BAR0 blocks DMA and WIN, `duplex_regs::dma`; DESIGN.md ideas 3, 4, 6).
//!
//! Written from the register contract and the engine's documented
//! behaviour, not from the hardware: one descriptor at a time, in ring order,
//! it decides the completion and every byte the engine puts in the partner's
//! memory (mirror pages, slot headers, metadata-ring records) and in local
//! memory (COPY_BACK), through the partner's inbound windows ([`WinModel`]).
//!
//! ```text
//!   Descriptor ─► validate (first failing check wins) ─► run ─► Outcome
//!                   opcode, length, local address,          │    completion
//!                   slots < N, link, window / ring,         │    partner writes (after WIN)
//!                   allocator (MIRROR without SLOTS_GIVEN)  │    local writes (COPY_BACK)
//!                                                           │    what may hold garbage
//!   SlotAllocatorModel ◄── alloc / free (DMA port) ─────────┘
//! ```
//!
//! Where the hardware may legitimately leave bytes unpredictable (a MIRROR
//! whose page read failed, a COPY_BACK the partner refused half-way), the
//! outcome lists those ranges as *unknown* instead of guessing; a test then
//! accepts any content there until the range is written again. Counters the
//! hardware may count either way in those cases carry a slack.

use crate::slot_allocator_model::{AllocOp, SlotAllocatorModel};
use duplex_regs::dma::link::META_WINDOW;
use duplex_regs::layout::{
    completion_flags, flags, meta_kind, opcode, status, Completion, Descriptor, MetaRecord,
    MAX_DESC_SLOTS,
};
use duplex_regs::params;
use duplex_regs::slot_alloc::status as alloc_status;
use std::ops::Range;

/// Bytes of a metadata record, a slot header and a completion.
const RECORD: u64 = MetaRecord::SIZE as u64;

/// The engine's settings as its registers hold them (DMA block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineRegs {
    /// `HOST_LIMIT`: local pages and records must end at or below it.
    pub host_limit: u64,
    /// `OUT_MIRROR_SIZE`: bytes of the partner's mirror area (0: closed).
    pub out_mirror_size: u64,
    /// `OUT_HDR_BYTES`: header table at the start of that area.
    pub out_hdr_bytes: u64,
    /// `OUT_META_LOG2`: the partner's ring holds 2^log2 records (0: none).
    pub out_meta_log2: u32,
    /// `OUT_META_TAIL`: records of that ring the partner has consumed.
    pub out_meta_tail: u16,
    /// `DESC_LOG2` and `CPL_LOG2`: ring sizes.
    pub desc_log2: u32,
    pub cpl_log2: u32,
}

impl Default for EngineRegs {
    fn default() -> Self {
        Self {
            host_limit: u64::MAX,
            out_mirror_size: 0,
            out_hdr_bytes: 0,
            out_meta_log2: 0,
            out_meta_tail: 0,
            desc_log2: 1,
            cpl_log2: 1,
        }
    }
}

/// The partner card's inbound windows (its WIN block): window offset →
/// the partner's local IOVA, or refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WinModel {
    pub mirror_base: u64,
    pub mirror_size: u64,
    pub meta_base: u64,
    pub meta_size: u64,
}

impl WinModel {
    /// Where an access of `len` bytes at window offset `offset` lands, or
    /// `None` when the window refuses it: outside both regions, crossing the
    /// end of one, not aligned to the beat, or empty.
    pub fn translate(&self, offset: u64, len: u64, beat_bytes: u64) -> Option<u64> {
        if len == 0 || beat_bytes == 0 || !offset.is_multiple_of(beat_bytes) {
            return None;
        }
        let end = offset.checked_add(len)?;
        if end <= self.mirror_size {
            return self.mirror_base.checked_add(offset);
        }
        let rel = offset.checked_sub(META_WINDOW)?;
        if rel.checked_add(len)? <= self.meta_size {
            return self.meta_base.checked_add(rel);
        }
        None
    }
}

/// A host refused a DMA read (an IOMMU fault, a memory error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostReadFault;

/// Host memory as the model sees it.
pub trait HostView {
    /// Fills `buf` from `iova`, or reports that the host answers the read
    /// with an error.
    fn read(&self, iova: u64, buf: &mut [u8]) -> Result<(), HostReadFault>;
    /// True when some byte of the range holds content nobody can predict
    /// (an earlier outcome's unknown range). Defaults to false.
    fn unknown(&self, _iova: u64, _len: u64) -> bool {
        false
    }
}

/// Bytes written into a host memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemWrite {
    pub iova: u64,
    pub data: Vec<u8>,
}

/// What one descriptor does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub completion: Completion,
    /// Bytes landing in the partner's memory (after its windows), in order.
    pub partner_writes: Vec<MemWrite>,
    /// Partner IOVA ranges left with unpredictable content.
    pub partner_unknown: Vec<Range<u64>>,
    /// Bytes landing in local memory (COPY_BACK), in order.
    pub local_writes: Vec<MemWrite>,
    /// Local IOVA ranges left with unpredictable content.
    pub local_unknown: Vec<Range<u64>>,
    /// Beats (writes) and requests (reads) the partner's windows refused:
    /// its `WIN.DROPPED`. Exact unless `dropped_slack` says otherwise.
    pub partner_dropped: u32,
    /// Refusals the hardware may have counted on top of `partner_dropped`.
    pub partner_dropped_slack: u32,
    /// Beats written into the partner's memory: its `WIN.WRITES` ...
    pub partner_win_writes: u32,
    /// ... and how many more may have landed (a failed descriptor's beats).
    pub partner_win_writes_slack: u32,
    /// Read requests the partner served: its `WIN.READS`.
    pub partner_win_reads: u32,
}

/// The DMA block's counters (saturating in hardware; plain here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmaCounters {
    pub desc_done: u32,
    pub desc_failed: u32,
    /// Pages certainly written to the partner ...
    pub pages_sent: u32,
    /// ... and how many more the hardware may have counted (failed
    /// descriptors whose pages were partly streamed).
    pub pages_slack: u32,
    pub records_sent: u32,
    pub records_slack: u32,
    /// `LAST_STATUS`: status in 7:0, free-running descriptor index in 31:16.
    pub last_status: u32,
}

/// Reference model of one card's engine.
#[derive(Clone, Debug)]
pub struct DmaModel {
    /// Bytes per data beat (W / 8).
    pub beat_bytes: u64,
    pub slot_size: u64,
    pub max_pages: u16,
    pub regs: EngineRegs,
    /// `OUT_META_HEAD`.
    pub meta_head: u16,
    /// Free-running index of the next descriptor (`DESC_HEAD` once fetched).
    pub next_index: u16,
    /// Free-running count of completions written (`CPL_TAIL`).
    pub cpl_count: u16,
    pub counters: DmaCounters,
}

/// Per-beat write plan: beats that land, merged into runs, and beats refused.
struct Landed {
    writes: Vec<MemWrite>,
    landed_beats: u32,
    dropped: u32,
    /// Whether the beat at the lowest offset landed (records go highest beat
    /// first, so that beat is the one a WRITE_ACK carries).
    first_beat_landed: bool,
}

impl DmaModel {
    /// The engine of a card of `width_bits` (64..=512) after reset, with the
    /// default build's slot size and page limit.
    pub fn new(width_bits: u32) -> Self {
        Self {
            beat_bytes: u64::from(width_bits / 8).max(1),
            slot_size: u64::from(params::SLOT_SIZE),
            max_pages: params::MAX_PAGES_PER_DESC as u16,
            regs: EngineRegs::default(),
            meta_head: 0,
            next_index: 0,
            cpl_count: 0,
            counters: DmaCounters::default(),
        }
    }

    /// The `desc_index` field of the completion of free-running descriptor
    /// `index`: its position in the descriptor ring.
    pub fn ring_position(&self, index: u16) -> u16 {
        index & mask16(self.regs.desc_log2)
    }

    /// The PHASE flag of free-running completion number `n`: 1 on the first
    /// pass of the ring, 0 on the second, ...
    pub fn phase(&self, n: u16) -> bool {
        let log2 = self.regs.cpl_log2.min(15);
        (n >> log2) & 1 == 0
    }

    /// Partner window offset of slot `s`'s header.
    pub fn header_offset(s: u16) -> u64 {
        u64::from(s) * RECORD
    }
    /// Partner window offset of slot `s`'s page.
    pub fn page_offset(&self, s: u16) -> u64 {
        self.regs.out_hdr_bytes + u64::from(s) * self.slot_size
    }

    /// Runs the next descriptor: the completion it gets and what it writes.
    /// `alloc` is the card's allocator (the engine's DMA port), `link_active`
    /// NTB.LINK_STATUS.ACTIVE, `local` this card's host memory, `partner_win`
    /// and `partner` the partner card's windows and host memory.
    pub fn run(
        &mut self,
        d: &Descriptor,
        alloc: &mut SlotAllocatorModel,
        link_active: bool,
        local: &dyn HostView,
        partner_win: &WinModel,
        partner: &dyn HostView,
    ) -> Outcome {
        let index = self.next_index;
        self.next_index = index.wrapping_add(1);
        let mut out = Outcome::default();
        let mut c = Completion {
            tag: d.tag,
            opcode: d.opcode,
            desc_index: self.ring_position(index),
            ..Default::default()
        };
        match self.validate(d, alloc, link_active) {
            Err(st) => c.status = st,
            Ok(slots) => {
                let n = usize::from(d.count);
                c.count = d.count;
                c.status = match d.opcode {
                    opcode::MIRROR => self.mirror(d, &slots, local, partner_win, &mut out),
                    opcode::RELEASE => self.release(d, alloc, partner_win, &mut out, &mut c),
                    opcode::COPY_BACK => self.copy_back(d, partner_win, partner, &mut out),
                    _ => self.meta(d, local, partner_win, &mut out),
                };
                if d.opcode != opcode::META {
                    c.slots[..n].copy_from_slice(&slots[..n]);
                }
            }
        }
        if self.phase(self.cpl_count) {
            c.flags |= completion_flags::PHASE;
        }
        self.cpl_count = self.cpl_count.wrapping_add(1);
        let k = &mut self.counters;
        k.desc_done = k.desc_done.saturating_add(1);
        if c.status != status::OK {
            k.desc_failed = k.desc_failed.saturating_add(1);
            k.last_status = u32::from(c.status) | u32::from(c.desc_index) << 16;
        }
        out.completion = c;
        out
    }

    /// The checks in hardware order; the first failing one is the status.
    /// On success, the slots the descriptor works on.
    fn validate(
        &self,
        d: &Descriptor,
        alloc: &mut SlotAllocatorModel,
        link_active: bool,
    ) -> Result<[u16; MAX_DESC_SLOTS], u8> {
        let op = d.opcode;
        if !(opcode::MIRROR..=opcode::META).contains(&op) || d.flags & flags::PAGE_LIST != 0 {
            return Err(status::BAD_OPCODE);
        }
        if d.count == 0 || d.count > self.max_pages {
            return Err(status::BAD_LENGTH);
        }
        let n = usize::from(d.count);
        if op != opcode::RELEASE {
            let unit = if op == opcode::META {
                RECORD
            } else {
                self.slot_size
            };
            let bytes = u64::from(d.count) * unit;
            let past_limit = d
                .local_addr
                .checked_add(bytes)
                .is_none_or(|end| end > self.regs.host_limit);
            if !d.local_addr.is_multiple_of(RECORD) || past_limit {
                return Err(status::BAD_ADDRESS);
            }
        }
        let slots_given = op == opcode::RELEASE
            || op == opcode::COPY_BACK
            || (op == opcode::MIRROR && d.flags & flags::SLOTS_GIVEN != 0);
        let active = alloc.slots();
        if slots_given && d.slots[..n].iter().any(|&s| u32::from(s) >= active) {
            return Err(status::BAD_SLOT);
        }
        if !link_active {
            return Err(status::LINK_DOWN);
        }
        if op != opcode::META && !self.window_ok(active) {
            return Err(status::BAD_ADDRESS);
        }
        if op == opcode::META {
            if self.regs.out_meta_log2 == 0 {
                return Err(status::BAD_ADDRESS);
            }
            let size = 1u32 << self.regs.out_meta_log2.min(15);
            let used = u32::from(self.meta_head.wrapping_sub(self.regs.out_meta_tail));
            if u32::from(d.count) > size.saturating_sub(used) {
                return Err(status::RING_FULL);
            }
        }
        let mut slots = [0u16; MAX_DESC_SLOTS];
        if slots_given {
            slots[..n].copy_from_slice(&d.slots[..n]);
        } else if op == opcode::MIRROR {
            let r = alloc.apply(AllocOp::Alloc {
                count: u32::from(d.count),
            });
            match r.status {
                alloc_status::OK => {
                    for (s, got) in slots.iter_mut().zip(&r.slots) {
                        *s = *got as u16;
                    }
                }
                alloc_status::NOT_READY => return Err(status::NOT_INITIALISED),
                _ => return Err(status::NO_SLOTS),
            }
        }
        Ok(slots)
    }

    /// Every slot below `active` has its header and page inside the
    /// partner's mirror area.
    fn window_ok(&self, active: u32) -> bool {
        let r = &self.regs;
        let n = u64::from(active);
        r.out_mirror_size != 0
            && n * RECORD <= r.out_hdr_bytes
            && r.out_hdr_bytes
                .checked_add(n * self.slot_size)
                .is_some_and(|end| end <= r.out_mirror_size)
    }

    /// `data` written at window offset `offset`, beat by beat, through the
    /// partner's windows.
    fn send(&self, win: &WinModel, offset: u64, data: &[u8]) -> Landed {
        let b = self.beat_bytes as usize;
        let mut l = Landed {
            writes: Vec::new(),
            landed_beats: 0,
            dropped: 0,
            first_beat_landed: false,
        };
        for (i, chunk) in data.chunks(b).enumerate() {
            let off = offset + (i * b) as u64;
            match win.translate(off, b as u64, self.beat_bytes) {
                Some(iova) => {
                    l.landed_beats += 1;
                    if i == 0 {
                        l.first_beat_landed = true;
                    }
                    match l.writes.last_mut() {
                        Some(w) if w.iova + w.data.len() as u64 == iova => {
                            w.data.extend_from_slice(chunk)
                        }
                        _ => l.writes.push(MemWrite {
                            iova,
                            data: chunk.to_vec(),
                        }),
                    }
                }
                None => l.dropped += 1,
            }
        }
        l
    }

    fn apply(out: &mut Outcome, l: Landed) {
        out.partner_win_writes += l.landed_beats;
        out.partner_dropped += l.dropped;
        out.partner_writes.extend(l.writes);
    }

    /// A window range the engine may or may not have written: its bytes
    /// become unknown where they land, and the partner's counters get slack.
    fn maybe_sent(&self, win: &WinModel, offset: u64, len: u64, out: &mut Outcome) {
        let l = self.send(win, offset, &vec![0u8; len as usize]);
        for w in &l.writes {
            out.partner_unknown
                .push(w.iova..w.iova + w.data.len() as u64);
        }
        out.partner_win_writes_slack += l.landed_beats;
        out.partner_dropped_slack += l.dropped;
    }

    fn mirror(
        &mut self,
        d: &Descriptor,
        slots: &[u16; MAX_DESC_SLOTS],
        local: &dyn HostView,
        win: &WinModel,
        out: &mut Outcome,
    ) -> u8 {
        let n = usize::from(d.count);
        let mut page = vec![0u8; self.slot_size as usize];
        let mut landed = Vec::with_capacity(n);
        for (i, &s) in slots[..n].iter().enumerate() {
            let src = d.local_addr + i as u64 * self.slot_size;
            if local.read(src, &mut page).is_err() {
                // Beats already streamed may have landed in any page of the
                // descriptor; no record is written; the slots stay allocated.
                for &s in &slots[..n] {
                    self.maybe_sent(win, self.page_offset(s), self.slot_size, out);
                }
                self.counters.pages_slack += i as u32;
                return status::DMA_READ_ERROR;
            }
            landed.push(self.send(win, self.page_offset(s), &page));
        }
        for l in landed {
            Self::apply(out, l);
        }
        self.counters.pages_sent += n as u32;
        let mut acked = true;
        for (i, &s) in slots[..n].iter().enumerate() {
            let dirty = if n == 1 || i == 0 {
                d.dirty_first
            } else if i == n - 1 {
                d.dirty_last
            } else {
                u64::MAX
            };
            let rec = MetaRecord {
                kind: meta_kind::MIRROR,
                cache_id: d.cache_id,
                seq: d.seq.wrapping_add(i as u32),
                slot: s,
                lba: d.lba.wrapping_add(8 * i as u64),
                lun: d.lun,
                epoch: d.epoch,
                dirty,
                ..Default::default()
            }
            .sealed();
            let l = self.send(win, Self::header_offset(s), &rec.encode());
            acked = l.first_beat_landed;
            Self::apply(out, l);
        }
        self.counters.records_sent += n as u32;
        if acked {
            status::OK
        } else {
            status::REFUSED
        }
    }

    fn release(
        &mut self,
        d: &Descriptor,
        alloc: &mut SlotAllocatorModel,
        win: &WinModel,
        out: &mut Outcome,
        c: &mut Completion,
    ) -> u8 {
        let mut st = status::OK;
        let mut acked = None;
        for (i, &s) in d.slots[..usize::from(d.count)].iter().enumerate() {
            let r = alloc.apply(AllocOp::Free { slot: u32::from(s) });
            if r.status != alloc_status::OK {
                st = status::DOUBLE_FREE;
                continue;
            }
            c.detail |= 1 << i;
            let l = self.send(win, Self::header_offset(s), &[0u8; RECORD as usize]);
            acked = Some(l.first_beat_landed);
            Self::apply(out, l);
            self.counters.records_sent += 1;
        }
        // The last zeroed header is the acknowledged write.
        if acked == Some(false) {
            status::REFUSED
        } else {
            st
        }
    }

    fn copy_back(
        &mut self,
        d: &Descriptor,
        win: &WinModel,
        partner: &dyn HostView,
        out: &mut Outcome,
    ) -> u8 {
        let n = usize::from(d.count);
        let len = self.slot_size;
        let mut page = vec![0u8; len as usize];
        for (i, &s) in d.slots[..n].iter().enumerate() {
            let dst = d.local_addr + i as u64 * len;
            let read = win
                .translate(self.page_offset(s), len, self.beat_bytes)
                .ok_or(HostReadFault)
                .and_then(|src| partner.read(src, &mut page).map(|()| src));
            match read {
                Ok(src) => {
                    out.partner_win_reads += 1;
                    if partner.unknown(src, len) {
                        out.local_unknown.push(dst..dst + len);
                    } else {
                        out.local_writes.push(MemWrite {
                            iova: dst,
                            data: page.clone(),
                        });
                    }
                }
                Err(HostReadFault) => {
                    // A window refusal is counted by the partner; a host read
                    // error there is served and answered READ_ERR. Whether
                    // the engine goes on with later pages is its choice.
                    if win
                        .translate(self.page_offset(s), len, self.beat_bytes)
                        .is_none()
                    {
                        out.partner_dropped += 1;
                    } else {
                        out.partner_win_reads += 1;
                    }
                    let end = d.local_addr + n as u64 * len;
                    out.local_unknown.push(dst..end);
                    return status::REFUSED;
                }
            }
        }
        status::OK
    }

    fn meta(
        &mut self,
        d: &Descriptor,
        local: &dyn HostView,
        win: &WinModel,
        out: &mut Outcome,
    ) -> u8 {
        let n = usize::from(d.count);
        let size_mask = mask16(self.regs.out_meta_log2);
        let pos = |i: usize| {
            let p = self.meta_head.wrapping_add(i as u16) & size_mask;
            META_WINDOW + u64::from(p) * RECORD
        };
        // Records are read and sent one by one: a host read error stops the
        // batch there; the records before it have gone out and count.
        let mut acked = true;
        for i in 0..n {
            let mut rec = [0u8; RECORD as usize];
            if local
                .read(d.local_addr + i as u64 * RECORD, &mut rec)
                .is_err()
            {
                self.meta_head = self.meta_head.wrapping_add(i as u16);
                self.counters.records_sent += i as u32;
                return status::DMA_READ_ERROR;
            }
            let l = self.send(win, pos(i), &rec);
            acked = l.first_beat_landed;
            Self::apply(out, l);
        }
        self.meta_head = self.meta_head.wrapping_add(d.count);
        self.counters.records_sent += n as u32;
        if acked {
            status::OK
        } else {
            status::REFUSED
        }
    }
}

/// Mask of a free-running 16-bit index into a ring of 2^log2 entries.
fn mask16(log2: u32) -> u16 {
    if log2 >= 16 {
        u16::MAX
    } else {
        ((1u32 << log2) - 1) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duplex_regs::layout::MirrorAreaLayout;

    /// A host memory for the model: one flat region from `base`, with an
    /// optional range whose reads fail.
    struct Mem {
        base: u64,
        bytes: Vec<u8>,
        fail: Range<u64>,
    }
    impl Mem {
        fn new(base: u64, len: usize) -> Self {
            Self {
                base,
                bytes: (0..len).map(|i| (i * 7 + i / 4096) as u8).collect(),
                fail: 0..0,
            }
        }
        fn apply(&mut self, writes: &[MemWrite]) {
            for w in writes {
                let o = (w.iova - self.base) as usize;
                self.bytes[o..o + w.data.len()].copy_from_slice(&w.data);
            }
        }
        fn at(&self, iova: u64, len: u64) -> &[u8] {
            let o = (iova - self.base) as usize;
            &self.bytes[o..o + len as usize]
        }
    }
    impl HostView for Mem {
        fn read(&self, iova: u64, buf: &mut [u8]) -> Result<(), HostReadFault> {
            let end = iova + buf.len() as u64;
            if iova < self.fail.end && self.fail.start < end {
                return Err(HostReadFault);
            }
            let o = iova.checked_sub(self.base).ok_or(HostReadFault)? as usize;
            let src = self.bytes.get(o..o + buf.len()).ok_or(HostReadFault)?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    const LOCAL: u64 = 0x1000_0000;
    const PARTNER: u64 = 0x2000_0000;
    const SLOTS: u32 = 8;

    /// A 256-bit engine set up for 8 slots, its allocator, local memory, and
    /// the partner's memory and windows (mirror area at PARTNER, a 4-record
    /// metadata ring right after it).
    fn rig() -> (DmaModel, SlotAllocatorModel, Mem, WinModel, Mem) {
        let layout = MirrorAreaLayout {
            slots: SLOTS,
            slot_size: 4096,
        };
        let mut m = DmaModel::new(256);
        m.regs.out_mirror_size = layout.total_bytes();
        m.regs.out_hdr_bytes = layout.header_table_bytes();
        m.regs.out_meta_log2 = 2;
        m.regs.desc_log2 = 2;
        m.regs.cpl_log2 = 2;
        let mut alloc = SlotAllocatorModel::new(params::MAX_SLOTS);
        alloc.init(SLOTS, false).unwrap();
        let win = WinModel {
            mirror_base: PARTNER,
            mirror_size: layout.total_bytes(),
            meta_base: PARTNER + layout.total_bytes(),
            meta_size: 4 * RECORD,
        };
        let mut partner = Mem::new(PARTNER, (layout.total_bytes() + 4 * RECORD) as usize);
        partner.bytes.fill(0);
        (m, alloc, Mem::new(LOCAL, 64 * 4096), win, partner)
    }

    fn mirror(count: u16) -> Descriptor {
        Descriptor {
            opcode: opcode::MIRROR,
            count,
            tag: 0x7A6,
            local_addr: LOCAL,
            lba: 800,
            lun: 3,
            seq: u32::MAX - 1,
            dirty_first: 0xF0,
            dirty_last: 0x0F,
            cache_id: 1,
            epoch: 9,
            ..Default::default()
        }
    }

    #[test]
    fn windows_refuse_outside_misaligned_crossing_and_empty_accesses() {
        let w = WinModel {
            mirror_base: 0x1000,
            mirror_size: 256,
            meta_base: 0x9000,
            meta_size: 128,
        };
        assert_eq!(w.translate(0, 32, 32), Some(0x1000));
        assert_eq!(w.translate(224, 32, 32), Some(0x1000 + 224));
        assert_eq!(w.translate(240, 32, 32), None, "misaligned");
        assert_eq!(w.translate(256, 32, 32), None, "past the end");
        assert_eq!(w.translate(192, 128, 32), None, "crosses the end");
        assert_eq!(w.translate(META_WINDOW + 96, 32, 32), Some(0x9000 + 96));
        assert_eq!(w.translate(META_WINDOW + 128, 32, 32), None);
        assert_eq!(w.translate(META_WINDOW - 32, 32, 32), None);
        assert_eq!(w.translate(u64::MAX - 31, 32, 32), None, "overflow");
        assert_eq!(w.translate(0, 0, 32), None);
        let closed = WinModel::default();
        assert_eq!(closed.translate(0, 32, 32), None);
        assert_eq!(closed.translate(META_WINDOW, 32, 32), None);
    }

    #[test]
    fn mirror_writes_every_page_then_one_sealed_record_per_page() {
        let (mut m, mut alloc, local, win, mut partner) = rig();
        alloc.apply(AllocOp::Alloc { count: 1 }); // slot 0 is taken
        let o = m.run(&mirror(3), &mut alloc, true, &local, &win, &partner);
        let c = o.completion;
        assert_eq!(
            (c.status, c.count, c.tag, c.opcode),
            (status::OK, 3, 0x7A6, 1)
        );
        assert_eq!(&c.slots[..4], &[1, 2, 3, 0]);
        assert_eq!((c.desc_index, c.flags), (0, completion_flags::PHASE));
        // Pages first, then the records.
        assert_eq!(o.partner_writes.len(), 3 + 3);
        assert_eq!(o.partner_win_writes, 3 * 128 + 3 * 2);
        partner.apply(&o.partner_writes);
        let hdr = m.regs.out_hdr_bytes;
        for (i, s) in [1u64, 2, 3].into_iter().enumerate() {
            let page = partner.at(PARTNER + hdr + s * 4096, 4096);
            assert_eq!(page, local.at(LOCAL + i as u64 * 4096, 4096));
            let r = MetaRecord::decode_valid(partner.at(PARTNER + s * 64, 64)).unwrap();
            assert_eq!(
                (r.kind, r.slot, r.lun, r.epoch, r.cache_id),
                (1, s as u16, 3, 9, 1)
            );
            assert_eq!(r.seq, (u32::MAX - 1).wrapping_add(i as u32));
            assert_eq!(r.lba, 800 + 8 * i as u64);
            assert_eq!(r.dirty, [0xF0, u64::MAX, 0x0F][i]);
        }
        assert!(alloc.is_allocated(3));
        assert_eq!((m.counters.pages_sent, m.counters.records_sent), (3, 3));
        // A single page carries dirty_first.
        let o = m.run(&mirror(1), &mut alloc, true, &local, &win, &partner);
        partner.apply(&o.partner_writes);
        let r = MetaRecord::decode_valid(partner.at(PARTNER + 4 * 64, 64)).unwrap();
        assert_eq!(r.dirty, 0xF0);
    }

    #[test]
    fn slots_given_are_used_as_listed_without_the_allocator() {
        let (mut m, mut alloc, local, win, partner) = rig();
        let mut d = mirror(2);
        d.flags = flags::SLOTS_GIVEN | flags::IRQ_NOW;
        d.slots[..2].copy_from_slice(&[7, 5]);
        let o = m.run(&d, &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::OK);
        assert_eq!(&o.completion.slots[..3], &[7, 5, 0]);
        assert_eq!(alloc.allocated(), 0);
        assert_eq!(o.partner_writes[0].iova, PARTNER + 4096 + 7 * 4096);
    }

    /// Each descriptor fails several checks; the first in hardware order
    /// gives the status, and a failed descriptor writes nothing.
    #[test]
    fn the_first_failing_check_gives_the_status() {
        let bad_op = |op, f| Descriptor {
            opcode: op,
            flags: f,
            ..mirror(0)
        };
        let mut unaligned_long = mirror(17);
        unaligned_long.local_addr += 8;
        let mut unaligned_badslot = mirror(1);
        unaligned_badslot.local_addr += 32;
        unaligned_badslot.flags = flags::SLOTS_GIVEN;
        unaligned_badslot.slots[0] = SLOTS as u16;
        let mut past_limit = mirror(2);
        past_limit.local_addr = u64::MAX - 4095;
        let mut badslot = Descriptor {
            opcode: opcode::RELEASE,
            count: 2,
            ..Default::default()
        };
        badslot.slots[1] = SLOTS as u16;
        let copy_bad = Descriptor {
            opcode: opcode::COPY_BACK,
            local_addr: 3,
            count: 1,
            ..Default::default()
        };
        let meta = Descriptor {
            opcode: opcode::META,
            count: 5,
            local_addr: LOCAL,
            ..Default::default()
        };
        let cases: Vec<(Descriptor, bool, u8)> = vec![
            (bad_op(0, 0), true, status::BAD_OPCODE),
            (bad_op(5, 0), true, status::BAD_OPCODE),
            (bad_op(1, flags::PAGE_LIST), false, status::BAD_OPCODE),
            (mirror(0), false, status::BAD_LENGTH),
            (unaligned_long, false, status::BAD_LENGTH),
            (unaligned_badslot, false, status::BAD_ADDRESS),
            (past_limit, true, status::BAD_ADDRESS),
            (copy_bad, true, status::BAD_ADDRESS),
            (badslot, false, status::BAD_SLOT),
            (mirror(1), false, status::LINK_DOWN),
            (meta, true, status::RING_FULL),
        ];
        for (i, (d, link, want)) in cases.into_iter().enumerate() {
            let (mut m, mut alloc, local, win, partner) = rig();
            let o = m.run(&d, &mut alloc, link, &local, &win, &partner);
            let c = o.completion;
            assert_eq!(c.status, want, "case {i}: {d:?}");
            assert_eq!((c.count, c.detail, c.slots), (0, 0, [0; 16]), "case {i}");
            assert!(o.partner_writes.is_empty() && o.local_writes.is_empty());
            assert_eq!(alloc.allocated(), 0, "case {i}");
            assert_eq!(m.counters.desc_failed, 1);
            assert_eq!(m.counters.last_status, u32::from(want));
        }
    }

    #[test]
    fn window_ring_and_allocator_refusals_map_to_their_statuses() {
        // A mirror area too small for N slots: BAD_ADDRESS before any alloc.
        let (mut m, mut alloc, local, win, partner) = rig();
        m.regs.out_mirror_size -= 64;
        let o = m.run(&mirror(1), &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::BAD_ADDRESS);
        assert_eq!(alloc.counters.alloc_ops + alloc.counters.no_space, 0);
        m.regs.out_mirror_size += 64;
        m.regs.out_hdr_bytes = u64::from(SLOTS) * 64 - 64;
        let o = m.run(&mirror(1), &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::BAD_ADDRESS, "header table");
        // No metadata ring.
        let (mut m, mut alloc, local, win, partner) = rig();
        m.regs.out_meta_log2 = 0;
        let d = Descriptor {
            opcode: opcode::META,
            count: 1,
            local_addr: LOCAL,
            ..Default::default()
        };
        let o = m.run(&d, &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::BAD_ADDRESS);
        // More pages than free slots: nothing taken.
        let (mut m, mut alloc, local, win, partner) = rig();
        alloc.apply(AllocOp::Alloc { count: 6 });
        let o = m.run(&mirror(3), &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::NO_SLOTS);
        assert_eq!((alloc.allocated(), alloc.counters.no_space), (6, 1));
        // Allocator never initialised: every given slot is >= N = 0 ...
        let (mut m, _, local, win, partner) = rig();
        let mut fresh = SlotAllocatorModel::new(params::MAX_SLOTS);
        let mut d = mirror(1);
        d.flags = flags::SLOTS_GIVEN;
        let o = m.run(&d, &mut fresh, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::BAD_SLOT);
        // ... and an engine alloc is refused NOT_READY.
        let o = m.run(&mirror(1), &mut fresh, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::NOT_INITIALISED);
        assert_eq!(fresh.counters.not_ready, 1);
    }

    #[test]
    fn release_zeroes_headers_frees_slots_and_flags_double_frees() {
        let (mut m, mut alloc, local, win, mut partner) = rig();
        let o = m.run(&mirror(3), &mut alloc, true, &local, &win, &partner);
        partner.apply(&o.partner_writes);
        let mut d = Descriptor {
            opcode: opcode::RELEASE,
            count: 4,
            tag: 5,
            ..Default::default()
        };
        d.slots[..4].copy_from_slice(&[2, 6, 0, 2]);
        let o = m.run(&d, &mut alloc, true, &local, &win, &partner);
        let c = o.completion;
        assert_eq!(
            (c.status, c.count, c.detail),
            (status::DOUBLE_FREE, 4, 0b0101)
        );
        assert_eq!(&c.slots[..5], &[2, 6, 0, 2, 0]);
        partner.apply(&o.partner_writes);
        for s in [0u64, 2] {
            assert_eq!(partner.at(PARTNER + s * 64, 64), &[0u8; 64]);
        }
        assert!(MetaRecord::decode_valid(partner.at(PARTNER + 64, 64)).is_ok());
        assert_eq!((alloc.allocated(), alloc.counters.never_allocated), (1, 1));
        assert_eq!(alloc.counters.double_free, 1);
        assert_eq!(m.counters.records_sent, 3 + 2);
    }

    #[test]
    fn copy_back_reads_partner_pages_and_a_refusal_leaves_the_rest_unknown() {
        let (mut m, mut alloc, local, win, mut partner) = rig();
        let o = m.run(&mirror(3), &mut alloc, true, &local, &win, &partner);
        partner.apply(&o.partner_writes);
        let mut d = Descriptor {
            opcode: opcode::COPY_BACK,
            count: 3,
            local_addr: LOCAL + 32 * 4096,
            ..Default::default()
        };
        d.slots[..3].copy_from_slice(&[2, 0, 1]);
        let o = m.run(&d, &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::OK);
        assert_eq!(&o.completion.slots[..3], &[2, 0, 1]);
        assert_eq!(o.local_writes.len(), 3);
        assert_eq!(o.local_writes[0].iova, LOCAL + 32 * 4096);
        assert_eq!(o.local_writes[0].data, local.at(LOCAL + 2 * 4096, 4096));
        assert_eq!(o.partner_win_reads, 3);
        // The partner's window ends before slot 2's page: pages from the
        // refused one on are unknown.
        let short = WinModel {
            mirror_size: win.mirror_size - 6 * 4096,
            ..win
        };
        let mut in_order = d;
        in_order.slots[..3].copy_from_slice(&[0, 1, 2]);
        let o = m.run(&in_order, &mut alloc, true, &local, &short, &partner);
        assert_eq!(o.completion.status, status::REFUSED);
        assert_eq!(o.local_writes.len(), 2);
        let base = LOCAL + 34 * 4096;
        assert_eq!(o.local_unknown, vec![base..base + 4096]);
        assert_eq!(o.partner_dropped, 1);
        // A host read error on the partner is a refusal too.
        partner.fail = PARTNER + 4096..PARTNER + 4097;
        let o = m.run(&d, &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::REFUSED);
        assert_eq!(o.local_unknown[0].start, LOCAL + 32 * 4096 + 4096);
    }

    #[test]
    fn a_failed_page_read_lists_the_slots_and_writes_no_record() {
        let (mut m, mut alloc, mut local, win, partner) = rig();
        local.fail = LOCAL + 4096 + 100..LOCAL + 4096 + 101;
        let o = m.run(&mirror(3), &mut alloc, true, &local, &win, &partner);
        let c = o.completion;
        assert_eq!((c.status, c.count), (status::DMA_READ_ERROR, 3));
        assert_eq!(&c.slots[..3], &[0, 1, 2]);
        assert!(o.partner_writes.is_empty());
        assert_eq!(o.partner_unknown.len(), 3);
        assert!(o.partner_unknown.iter().all(|r| r.start >= PARTNER + 4096));
        assert_eq!(o.partner_win_writes_slack, 3 * 128);
        assert_eq!(alloc.allocated(), 3, "the hardware does not free them");
        assert_eq!((m.counters.pages_sent, m.counters.pages_slack), (0, 1));
    }

    #[test]
    fn meta_records_fill_the_ring_in_order_and_wrap() {
        let (mut m, mut alloc, local, win, mut partner) = rig();
        let d = |count| Descriptor {
            opcode: opcode::META,
            count,
            local_addr: LOCAL + 64,
            ..Default::default()
        };
        let o = m.run(&d(3), &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::OK);
        assert_eq!((o.completion.count, o.completion.slots), (3, [0; 16]));
        partner.apply(&o.partner_writes);
        let ring = win.meta_base;
        assert_eq!(partner.at(ring, 192), local.at(LOCAL + 64, 192));
        assert_eq!(m.meta_head, 3);
        assert_eq!(
            m.run(&d(2), &mut alloc, true, &local, &win, &partner)
                .completion
                .status,
            status::RING_FULL
        );
        m.regs.out_meta_tail = 2;
        let o = m.run(&d(2), &mut alloc, true, &local, &win, &partner);
        assert_eq!(o.completion.status, status::OK);
        assert_eq!(o.partner_writes[0].iova, ring + 3 * 64);
        assert_eq!(o.partner_writes[1].iova, ring, "wrapped to the start");
        assert_eq!(m.meta_head, 5);
        // The partner's ring window is smaller than the ring: the records
        // past it are dropped and the acknowledged one is refused.
        let small = WinModel {
            meta_size: 64,
            ..win
        };
        m.regs.out_meta_tail = 5;
        let o = m.run(&d(1), &mut alloc, true, &local, &small, &partner);
        assert_eq!(o.completion.status, status::REFUSED);
        assert_eq!(o.partner_dropped, 2);
    }

    #[test]
    fn phase_flips_on_each_pass_and_ring_positions_wrap() {
        let (mut m, mut alloc, local, win, partner) = rig();
        let mut seen = Vec::new();
        for _ in 0..10 {
            let c = m
                .run(&mirror(0), &mut alloc, true, &local, &win, &partner)
                .completion;
            seen.push((c.desc_index, c.flags & completion_flags::PHASE));
        }
        let p = completion_flags::PHASE;
        assert_eq!(
            seen,
            vec![
                (0, p),
                (1, p),
                (2, p),
                (3, p),
                (0, 0),
                (1, 0),
                (2, 0),
                (3, 0),
                (0, p),
                (1, p)
            ]
        );
        // The 16-bit free-running counters wrap consistently.
        m.cpl_count = u16::MAX;
        assert!(!m.phase(u16::MAX));
        assert!(m.phase(0));
        assert_eq!(m.counters.desc_failed, 10);
        assert_eq!(
            m.counters.last_status,
            // Descriptor 9's ring position in a ring of 4.
            u32::from(status::BAD_LENGTH) | 1 << 16
        );
    }
}
