//! Link cost of the protocol variants (DESIGN.md ideas 4–7): one fixed
//! workload, run fault-free under each variant; link messages and link bytes
//! per host write.

use super::rng::SplitMix64;
use super::world::{run, Op, SimConfig};
use crate::config::{HardeningMode, MetadataMode};

#[derive(Clone, Debug)]
pub struct VariantRow {
    pub metadata: MetadataMode,
    pub hardening: HardeningMode,
    pub host_writes: u64,
    pub link_messages: u64,
    pub link_bytes: u64,
}

impl VariantRow {
    pub fn messages_per_write(&self) -> f64 {
        self.link_messages as f64 / self.host_writes.max(1) as f64
    }
    pub fn bytes_per_write(&self) -> f64 {
        self.link_bytes as f64 / self.host_writes.max(1) as f64
    }
}

/// The fixed workload: `n` operations, writes of 1–16 pages (two in three)
/// and reads, over two LUNs, then a flush.
pub fn fixed_workload(n: usize, lun_pages: u64, page_sectors: u64) -> Vec<Op> {
    let mut r = SplitMix64::new(0x5EED);
    let mut ops: Vec<Op> = (0..n)
        .map(|_| {
            let lun = r.below(2) as u32;
            let pages = r.range(1, 16) as u32;
            let page = r.below(lun_pages - pages as u64 + 1);
            let (lba, sectors) = (page * page_sectors, pages * page_sectors as u32);
            if r.below(3) < 2 {
                Op::Write { lun, lba, sectors }
            } else {
                Op::Read { lun, lba, sectors }
            }
        })
        .collect();
    ops.push(Op::Flush);
    ops
}

pub const VARIANTS: [(MetadataMode, HardeningMode); 6] = [
    (MetadataMode::PerLine, HardeningMode::FlushNotices),
    (MetadataMode::PerLine, HardeningMode::DestageScan),
    (MetadataMode::PerLine, HardeningMode::Counter { n: 8 }),
    (MetadataMode::Batched, HardeningMode::FlushNotices),
    (MetadataMode::Batched, HardeningMode::DestageScan),
    (MetadataMode::Batched, HardeningMode::Counter { n: 8 }),
];

/// Runs the fixed workload under every variant. Panics with the failures if
/// a run is not clean: the figures of a broken run mean nothing.
pub fn variant_table(ops: usize) -> Vec<VariantRow> {
    VARIANTS
        .iter()
        .map(|&(metadata, hardening)| {
            let mut c = SimConfig::small(1);
            // Hardware-sized pages (8 sectors of 512 bytes = one 4 KiB slot),
            // so the byte counts weigh data against headers as on the card.
            c.lun_pages = 64;
            c.sector_bytes = 512;
            c.cache_bytes = [1 << 20, 1 << 20];
            c.metadata = metadata;
            c.hardening = hardening;
            c.workload = Some(fixed_workload(ops, c.lun_pages, c.page_sectors as u64));
            let r = run(c);
            assert!(
                r.failures.is_empty(),
                "{metadata:?}/{hardening:?}: {:?}",
                r.failures
            );
            VariantRow {
                metadata,
                hardening,
                host_writes: r.writes_issued,
                link_messages: r.workload_link_messages,
                link_bytes: r.workload_link_bytes,
            }
        })
        .collect()
}
