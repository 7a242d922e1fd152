//! The driver's ring handling in `Card` against a fake card (no Verilator):
//! an engine that completes every descriptor at once with status OK. Pins
//! down the phase bit across many passes, ring-full refusal, reopening on an
//! odd pass, completions kept for poll by the high-level calls, typed errors
//! for failed statuses, and guard checks.

use duplex_driver::card::{Card, CardSetup, GuardedBuffer, MirrorMeta};
use duplex_driver::device::{DmaBacking, DmaBuffer};
use duplex_driver::{Device, DriverError, Iova, Result};
use duplex_regs::dma::{self as d};
use duplex_regs::layout::{completion_flags, opcode, status};
use duplex_regs::{irq, Completion, Descriptor, DMA, WIN};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

const BASE: u64 = 0x1_0000;

/// Registers, one memory arena, and an engine run on every DESC_TAIL write.
struct FakeCard {
    regs: RefCell<HashMap<u32, u32>>,
    mem: Rc<RefCell<Vec<u8>>>,
    next: Cell<u64>,
    /// Status the engine gives each descriptor, by opcode.
    status_of: RefCell<HashMap<u8, u8>>,
    /// Fake time: cycles spent in register accesses and waits.
    cycles: Cell<u64>,
}

impl FakeCard {
    fn new() -> Self {
        let mut regs = HashMap::new();
        for b in [DMA, WIN] {
            regs.insert(b.type_reg().offset, b.type_id);
            regs.insert(b.version_reg().offset, b.version);
        }
        regs.insert(d::CAPS.offset, d::CAPS.reset);
        Self {
            regs: RefCell::new(regs),
            mem: Rc::new(RefCell::new(vec![0; 1 << 20])),
            next: Cell::new(BASE),
            status_of: RefCell::new(HashMap::new()),
            cycles: Cell::new(0),
        }
    }
    fn reg(&self, r: duplex_regs::Reg) -> u32 {
        self.regs.borrow().get(&r.offset).copied().unwrap_or(0)
    }
    fn set(&self, r: duplex_regs::Reg, v: u32) {
        self.regs.borrow_mut().insert(r.offset, v);
    }
    /// Completes every posted descriptor while the completion ring has room.
    fn run(&self) {
        if self.reg(d::CTRL) & 1 == 0 {
            return;
        }
        let dbase =
            u64::from(self.reg(d::DESC_BASE_LO)) | u64::from(self.reg(d::DESC_BASE_HI)) << 32;
        let cbase = u64::from(self.reg(d::CPL_BASE_LO)) | u64::from(self.reg(d::CPL_BASE_HI)) << 32;
        let (dlog, clog) = (self.reg(d::DESC_LOG2), self.reg(d::CPL_LOG2));
        loop {
            let (head, tail) = (self.reg(d::DESC_HEAD) as u16, self.reg(d::DESC_TAIL) as u16);
            let (ct, ch) = (self.reg(d::CPL_TAIL) as u16, self.reg(d::CPL_HEAD) as u16);
            if head == tail || ct.wrapping_sub(ch) == 1 << clog {
                return;
            }
            let pos = head & ((1 << dlog) - 1);
            let mut mem = self.mem.borrow_mut();
            let at = (dbase - BASE) as usize + usize::from(pos) * 128;
            let desc = Descriptor::decode(&mem[at..at + 128]).unwrap();
            let st = self
                .status_of
                .borrow()
                .get(&desc.opcode)
                .copied()
                .unwrap_or(0);
            let mut c = Completion {
                tag: desc.tag,
                status: st,
                opcode: desc.opcode,
                count: desc.count,
                desc_index: pos,
                slots: desc.slots,
                ..Default::default()
            };
            if desc.opcode == opcode::MIRROR && desc.flags & 1 == 0 {
                c.slots = core::array::from_fn(|i| 100 + i as u16);
            }
            if (ct >> clog) & 1 == 0 {
                c.flags = completion_flags::PHASE;
            }
            let at = (cbase - BASE) as usize + usize::from(ct & ((1 << clog) - 1)) * 64;
            mem[at..at + 64].copy_from_slice(&c.encode());
            drop(mem);
            self.set(d::DESC_HEAD, u32::from(head.wrapping_add(1)));
            self.set(d::CPL_TAIL, u32::from(ct.wrapping_add(1)));
            let s = self.reg(irq::STATUS) | irq::DMA.mask();
            self.set(irq::STATUS, s);
        }
    }
}

struct Mem {
    mem: Rc<RefCell<Vec<u8>>>,
    iova: u64,
    len: usize,
}
impl DmaBacking for Mem {
    fn iova(&self) -> Iova {
        Iova(self.iova)
    }
    fn len(&self) -> usize {
        self.len
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        let o = (self.iova - BASE) as usize + offset;
        buf.copy_from_slice(&self.mem.borrow()[o..o + buf.len()]);
        Ok(())
    }
    fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        let o = (self.iova - BASE) as usize + offset;
        self.mem.borrow_mut()[o..o + data.len()].copy_from_slice(data);
        Ok(())
    }
}

impl Device for FakeCard {
    fn name(&self) -> String {
        "fake".into()
    }
    fn read32(&self, offset: u32) -> Result<u32> {
        self.cycles.set(self.cycles.get() + 2);
        Ok(self.regs.borrow().get(&offset).copied().unwrap_or(0))
    }
    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        self.cycles.set(self.cycles.get() + 1);
        if offset == irq::STATUS.offset {
            let s = self.reg(irq::STATUS) & !value;
            self.set(irq::STATUS, s);
        } else {
            self.regs.borrow_mut().insert(offset, value);
        }
        if offset == d::DESC_TAIL.offset || offset == d::CPL_HEAD.offset || offset == d::CTRL.offset
        {
            self.run();
        }
        Ok(())
    }
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer> {
        let iova = self.next.get();
        self.next.set(iova + len.div_ceil(4096) as u64 * 4096);
        Ok(DmaBuffer::new(Box::new(Mem {
            mem: Rc::clone(&self.mem),
            iova,
            len,
        })))
    }
    fn clock(&self) -> Duration {
        Duration::from_nanos(self.cycles.get() * 4)
    }
    fn wait_irq(&self, timeout: Duration) -> Result<()> {
        let masked = self.reg(irq::MASK);
        if self.reg(irq::STATUS) & !masked != 0 {
            return Ok(());
        }
        self.cycles
            .set(self.cycles.get() + (timeout.as_nanos() / 4) as u64);
        Err(DriverError::IrqTimeout {
            device: self.name(),
            timeout,
        })
    }
}

fn setup(log2: u32) -> CardSetup {
    CardSetup {
        desc_log2: log2,
        cpl_log2: log2,
        guard_bytes: 4096,
        ..CardSetup::default()
    }
}

fn mirror_desc(tag: u32) -> Descriptor {
    Descriptor {
        opcode: opcode::MIRROR,
        count: 1,
        tag,
        ..Default::default()
    }
}

#[test]
fn completions_are_found_by_phase_over_many_passes_of_the_rings() {
    let dev = FakeCard::new();
    let mut card = Card::open(&dev, setup(2)).unwrap();
    for i in 0..50u32 {
        let pos = card.submit(&mirror_desc(i)).unwrap();
        assert_eq!(pos, (i % 4) as u16);
        let c = card.wait(Duration::from_micros(10)).unwrap();
        assert_eq!((c.tag, c.desc_index), (i, pos));
        assert!(card.poll().unwrap().is_none(), "entry {i} taken twice");
    }
    card.check_guards().unwrap();
}

#[test]
fn a_full_descriptor_ring_is_refused_until_completions_are_taken() {
    let dev = FakeCard::new();
    let mut card = Card::open(&dev, setup(2)).unwrap();
    card.set_enabled(false).unwrap();
    for i in 0..4 {
        card.post(&mirror_desc(i)).unwrap();
    }
    match card.post(&mirror_desc(9)) {
        Err(DriverError::DmaRingFull { entries: 4, .. }) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
    card.ring_doorbell().unwrap();
    card.set_enabled(true).unwrap();
    assert_eq!(card.poll().unwrap().unwrap().tag, 0);
    card.post(&mirror_desc(4)).unwrap();
    assert_eq!(card.outstanding(), 4);
}

#[test]
fn reopening_on_an_odd_pass_does_not_take_the_fresh_ring_for_completions() {
    let dev = FakeCard::new();
    for s in [d::DESC_HEAD, d::DESC_TAIL, d::CPL_TAIL, d::CPL_HEAD] {
        dev.set(s, 4 + 1);
    }
    let mut card = Card::open(&dev, setup(2)).unwrap();
    assert!(card.poll().unwrap().is_none());
    let c = card.execute(mirror_desc(0)).unwrap();
    assert_eq!(c.desc_index, 1);
    assert_eq!(c.flags & completion_flags::PHASE, 0, "second pass");
}

#[test]
fn high_level_calls_keep_other_completions_for_poll_and_type_failures() {
    let dev = FakeCard::new();
    let mut card = Card::open(&dev, setup(3)).unwrap();
    card.submit(&mirror_desc(77)).unwrap();
    let slots = card.mirror(Iova(BASE), 2, &MirrorMeta::default()).unwrap();
    assert_eq!(slots, vec![100, 101]);
    assert_eq!(card.poll().unwrap().unwrap().tag, 77, "kept for poll");
    dev.status_of
        .borrow_mut()
        .insert(opcode::RELEASE, status::DOUBLE_FREE);
    let e = card.release(&[1, 2, 3]).unwrap_err();
    assert_eq!(e.dma_status(), Some(status::DOUBLE_FREE));
    assert!(e.to_string().contains("double free"), "{e}");
    // A MIRROR that failed reading host memory releases what it got.
    dev.status_of
        .borrow_mut()
        .insert(opcode::MIRROR, status::DMA_READ_ERROR);
    dev.status_of
        .borrow_mut()
        .insert(opcode::RELEASE, status::OK);
    let done_before = dev.reg(d::DESC_TAIL);
    match card
        .mirror(Iova(BASE), 3, &MirrorMeta::default())
        .unwrap_err()
    {
        DriverError::DmaFailed {
            status: st, slots, ..
        } => {
            assert_eq!((st, slots), (status::DMA_READ_ERROR, vec![100, 101, 102]));
        }
        e => panic!("{e}"),
    }
    assert_eq!(dev.reg(d::DESC_TAIL), done_before + 2, "mirror + release");
    // Bad requests never reach the card.
    assert!(matches!(card.release(&[]), Ok(())));
    assert!(matches!(
        card.mirror_into(Iova(BASE), &[0; 17], &MirrorMeta::default()),
        Err(DriverError::DmaBadRequest { .. })
    ));
}

#[test]
fn a_wait_with_nothing_posted_times_out_with_a_typed_error() {
    let dev = FakeCard::new();
    let mut card = Card::open(&dev, setup(2)).unwrap();
    match card.wait(Duration::from_micros(5)) {
        Err(DriverError::Timeout { .. }) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn bad_setups_and_other_blocks_are_refused() {
    let dev = FakeCard::new();
    for bad in [0, 16] {
        assert!(matches!(
            Card::open(&dev, setup(bad)),
            Err(DriverError::DmaSetup { .. })
        ));
    }
    dev.set(WIN.type_reg(), 0x4458_0001);
    assert!(matches!(
        Card::open(&dev, setup(2)),
        Err(DriverError::BlockList { .. })
    ));
}

#[test]
fn a_guard_overwritten_by_a_stray_write_is_reported() {
    let dev = FakeCard::new();
    let g = GuardedBuffer::new(&dev, 100, 10).unwrap();
    assert_eq!(g.guard_bytes(), 4096);
    g.write(0, &[1; 100]).unwrap();
    g.check_guards("buffer").unwrap();
    assert!(g.write(1, &[0; 100]).is_err(), "past the end");
    // A stray write right after the buffer.
    let o = (g.iova().0 - BASE) as usize + 100;
    dev.mem.borrow_mut()[o + 5] ^= 0xFF;
    match g.check_guards("buffer") {
        Err(DriverError::GuardDamaged {
            side: "after",
            offset: 5,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}
