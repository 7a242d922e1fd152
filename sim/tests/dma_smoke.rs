//! The DMA engine and the inbound windows at the BAR0 level, without the
//! driver: one descriptor of each kind, checked byte by byte in both memories.

use duplex_regs::dma::{self, win};
use duplex_regs::{
    meta_kind, opcode, slot_alloc, status, Completion, Descriptor, MetaRecord, MirrorAreaLayout,
};
use duplex_sim::{Iova, SimConfig, SimWorld};

const SLOTS: u32 = 64;
// Offsets into host memory (IOVAs are IOVA_BASE + offset).
const MIRROR: u64 = duplex_sim::memory::IOVA_BASE + 0x10_0000;
const META: u64 = duplex_sim::memory::IOVA_BASE + 0x20_0000;
const DESC: u64 = duplex_sim::memory::IOVA_BASE + 0x1_0000;
const CPL: u64 = duplex_sim::memory::IOVA_BASE + 0x2_0000;
const PAGES: u64 = duplex_sim::memory::IOVA_BASE + 0x30_0000;
const META_LOG2: u32 = 4;

fn layout() -> MirrorAreaLayout {
    MirrorAreaLayout {
        slots: SLOTS,
        slot_size: 4096,
    }
}

fn w64(w: &mut SimWorld, card: usize, lo: duplex_regs::Reg, hi: duplex_regs::Reg, v: u64) {
    w.bar_write(card, lo.offset, v as u32).unwrap();
    w.bar_write(card, hi.offset, (v >> 32) as u32).unwrap();
}

/// Both cards: allocator of SLOTS, a mirror area and metadata ring for the
/// partner, rings of 16 entries, engine enabled.
fn setup(latency: u64) -> SimWorld {
    let mut w = SimWorld::new(SimConfig {
        link_latency: latency,
        ..SimConfig::default()
    })
    .unwrap();
    let l = layout();
    for c in 0..2 {
        w.bar_write(c, slot_alloc::SLOTS.offset, SLOTS).unwrap();
        w.bar_write(c, slot_alloc::CTRL.offset, 1).unwrap();
        w64(&mut w, c, win::MIRROR_BASE_LO, win::MIRROR_BASE_HI, MIRROR);
        w64(
            &mut w,
            c,
            win::MIRROR_SIZE_LO,
            win::MIRROR_SIZE_HI,
            l.total_bytes(),
        );
        w64(&mut w, c, win::META_BASE_LO, win::META_BASE_HI, META);
        w.bar_write(c, win::META_SIZE.offset, 64 << META_LOG2)
            .unwrap();
        w64(
            &mut w,
            c,
            dma::OUT_MIRROR_SIZE_LO,
            dma::OUT_MIRROR_SIZE_HI,
            l.total_bytes(),
        );
        w.bar_write(c, dma::OUT_HDR_BYTES.offset, l.header_table_bytes() as u32)
            .unwrap();
        w.bar_write(c, dma::OUT_META_LOG2.offset, META_LOG2)
            .unwrap();
        w64(&mut w, c, dma::DESC_BASE_LO, dma::DESC_BASE_HI, DESC);
        w.bar_write(c, dma::DESC_LOG2.offset, 4).unwrap();
        w64(&mut w, c, dma::CPL_BASE_LO, dma::CPL_BASE_HI, CPL);
        w.bar_write(c, dma::CPL_LOG2.offset, 4).unwrap();
        w.bar_write(c, dma::CTRL.offset, 1).unwrap();
    }
    w.step_n(4096 / 16 + 10);
    w
}

/// Posts descriptors on `card` and waits for their completions.
fn run(w: &mut SimWorld, card: usize, descs: &[Descriptor]) -> Vec<Completion> {
    let tail = w.bar_read(card, dma::DESC_TAIL.offset).unwrap();
    for (i, d) in descs.iter().enumerate() {
        let idx = (tail as u64 + i as u64) % 16;
        w.memory_mut(card)
            .unwrap()
            .write(Iova(DESC + idx * 128), &d.encode())
            .unwrap();
    }
    let want = tail + descs.len() as u32;
    w.bar_write(card, dma::DESC_TAIL.offset, want).unwrap();
    let start = w.cycle();
    while w.bar_read(card, dma::CPL_TAIL.offset).unwrap() != want {
        assert!(w.cycle() - start < 200_000, "no completion");
    }
    (tail..want)
        .map(|i| {
            let mut b = [0u8; 64];
            w.memory(card)
                .unwrap()
                .read(Iova(CPL + (i as u64 % 16) * 64), &mut b)
                .unwrap();
            Completion::decode(&b).unwrap()
        })
        .collect()
}

fn pattern(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn mirror_release_meta_and_copy_back_round_trip() {
    let mut w = setup(7);
    let l = layout();
    let data = pattern(1, 3 * 4096);
    w.memory_mut(0).unwrap().write(Iova(PAGES), &data).unwrap();
    let d = Descriptor {
        opcode: opcode::MIRROR,
        count: 3,
        tag: 0xABCD,
        local_addr: PAGES,
        lba: 800,
        lun: 2,
        seq: 10,
        dirty_first: 0xF0,
        dirty_last: 0x0F,
        cache_id: 1,
        epoch: 5,
        ..Default::default()
    };
    let c = run(&mut w, 0, &[d]);
    assert_eq!(c[0].status, status::OK, "{:?}", c[0]);
    assert_eq!(c[0].tag, 0xABCD);
    assert_eq!(c[0].count, 3);
    assert_eq!(&c[0].slots[..3], &[0, 1, 2]);
    for i in 0..3u32 {
        let s = c[0].slots[i as usize] as u32;
        let mut page = vec![0u8; 4096];
        w.memory(1)
            .unwrap()
            .read(Iova(MIRROR + l.data_offset(s)), &mut page)
            .unwrap();
        assert!(
            page == data[i as usize * 4096..][..4096],
            "page {i} differs"
        );
        let mut h = [0u8; 64];
        w.memory(1)
            .unwrap()
            .read(Iova(MIRROR + l.header_offset(s)), &mut h)
            .unwrap();
        let r = MetaRecord::decode_valid(&h).expect("valid header");
        assert_eq!(r.kind, meta_kind::MIRROR);
        assert_eq!(r.slot as u32, s);
        assert_eq!(r.seq, 10 + i);
        assert_eq!(r.lba, 800 + 8 * i as u64);
        assert_eq!((r.lun, r.cache_id, r.epoch), (2, 1, 5));
        let dirty = [0xF0, u64::MAX, 0x0F][i as usize];
        assert_eq!(r.dirty, dirty, "page {i}");
    }

    // COPY_BACK slots 2 and 0 into fresh local pages.
    let back = duplex_sim::memory::IOVA_BASE + 0x40_0000;
    let cb = Descriptor {
        opcode: opcode::COPY_BACK,
        count: 2,
        local_addr: back,
        slots: {
            let mut s = [0u16; 16];
            s[0] = 2;
            s[1] = 0;
            s
        },
        ..Default::default()
    };
    let c = run(&mut w, 0, &[cb]);
    assert_eq!(c[0].status, status::OK, "{:?}", c[0]);
    let mut got = vec![0u8; 8192];
    w.memory(0).unwrap().read(Iova(back), &mut got).unwrap();
    assert!(got[..4096] == data[8192..], "copy back of slot 2");
    assert!(got[4096..] == data[..4096], "copy back of slot 0");

    // RELEASE slots 1 and 1 again (double free) in one descriptor.
    let rel = Descriptor {
        opcode: opcode::RELEASE,
        count: 2,
        slots: {
            let mut s = [0u16; 16];
            s[0] = 1;
            s[1] = 1;
            s
        },
        ..Default::default()
    };
    let c = run(&mut w, 0, &[rel]);
    assert_eq!(c[0].status, status::DOUBLE_FREE, "{:?}", c[0]);
    assert_eq!(c[0].detail, 0b01);
    let mut h = [0u8; 64];
    w.memory(1)
        .unwrap()
        .read(Iova(MIRROR + l.header_offset(1)), &mut h)
        .unwrap();
    assert_eq!(h, [0u8; 64], "released header is zeroed");

    // META: two records into the partner's ring.
    let recs: Vec<u8> = (0..2)
        .flat_map(|i| {
            MetaRecord {
                kind: meta_kind::INVALIDATE,
                lba: 1000 + i,
                seq: 77,
                ..Default::default()
            }
            .sealed()
            .encode()
        })
        .collect();
    w.memory_mut(0)
        .unwrap()
        .write(Iova(duplex_sim::memory::IOVA_BASE + 0x50_0000), &recs)
        .unwrap();
    let m = Descriptor {
        opcode: opcode::META,
        count: 2,
        local_addr: duplex_sim::memory::IOVA_BASE + 0x50_0000,
        ..Default::default()
    };
    let c = run(&mut w, 0, &[m]);
    assert_eq!(c[0].status, status::OK, "{:?}", c[0]);
    let mut ring = vec![0u8; 128];
    w.memory(1).unwrap().read(Iova(META), &mut ring).unwrap();
    assert!(ring == recs, "metadata ring");
    assert_eq!(w.bar_read(0, dma::OUT_META_HEAD.offset).unwrap(), 2);

    // Bad descriptors complete with their status and change nothing.
    let bad = [
        Descriptor {
            opcode: 9,
            count: 1,
            ..Default::default()
        },
        Descriptor {
            opcode: opcode::MIRROR,
            count: 0,
            ..Default::default()
        },
        Descriptor {
            opcode: opcode::MIRROR,
            count: 1,
            local_addr: PAGES + 8,
            ..Default::default()
        },
        Descriptor {
            opcode: opcode::RELEASE,
            count: 1,
            slots: [SLOTS as u16; 16],
            ..Default::default()
        },
    ];
    let c = run(&mut w, 0, &bad);
    let got: Vec<u8> = c.iter().map(|c| c.status).collect();
    assert_eq!(
        got,
        [
            status::BAD_OPCODE,
            status::BAD_LENGTH,
            status::BAD_ADDRESS,
            status::BAD_SLOT
        ]
    );
}

/// Back-to-back single-page MIRRORs: prints payload bytes per cycle over the
/// data-path bytes per cycle (the figure `duplexctl bench dma` reports).
#[test]
fn back_to_back_mirrors_stream() {
    let mut w = setup(0);
    let n = 15u32;
    let data = pattern(2, n as usize * 4096);
    w.memory_mut(0).unwrap().write(Iova(PAGES), &data).unwrap();
    let descs: Vec<Descriptor> = (0..n)
        .map(|i| Descriptor {
            opcode: opcode::MIRROR,
            count: 1,
            local_addr: PAGES + i as u64 * 4096,
            ..Default::default()
        })
        .collect();
    let start = w.cycle();
    let c = run(&mut w, 0, &descs);
    let cycles = w.cycle() - start;
    assert!(c.iter().all(|c| c.status == status::OK));
    let beat = w.beat_bytes() as f64;
    let eff = (n as f64 * 4096.0) / (cycles as f64 * beat);
    eprintln!("{n} mirrors in {cycles} cycles: efficiency {eff:.3}");
    assert!(eff > 0.0);
}

/// Writes the Verilog of every card width to `$DUPLEX_VERILOG_DIR` (for
/// hand-run synthesis); does nothing without it.
#[test]
fn card_verilog_for_synthesis() {
    let Some(dir) = std::env::var_os("DUPLEX_VERILOG_DIR") else {
        return;
    };
    for w in duplex_sim::hdl::DATA_WIDTHS {
        let v = duplex_sim::hdl::card_verilog(w, duplex_sim::hdl::CardConfig::default()).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("card{w}.v")), v).unwrap();
    }
}
