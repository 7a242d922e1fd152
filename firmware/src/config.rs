//! Build-time and bring-up parameters of one controller, and the protocol
//! variants the engine can run (DESIGN.md: "policies of one engine").

use duplex_regs::MirrorAreaLayout;

/// How metadata records travel to the partner (DESIGN.md ideas 4 and 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataMode {
    /// One MIRROR descriptor per page, one META descriptor per notice.
    PerLine,
    /// Double-buffered lists: pages and notices gather in one list while the
    /// other is in flight; contiguous pages share one MIRROR command (headers
    /// and data together), notices share one META command.
    Batched,
}

/// How the partner learns which of our tracks are hardened (ideas 6 and 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HardeningMode {
    /// Per-line flush notices: "temporarily invalid" before the destage,
    /// "consistent" after it, then the slot is released (reusable).
    FlushNotices,
    /// Hardening bitmaps, toggled per range by a destage scan of the range.
    DestageScan,
    /// Hardening bitmaps, toggled after `n` writes into a range; the old
    /// generation clears when its count of un-hardened lines reaches zero.
    Counter { n: u32 },
}

/// What a controller does with a write to a LUN it does not own (idea 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnershipPolicy {
    /// Send the write to the owner.
    Forward,
    /// Ask the owner for the LUN, then serve the write locally.
    TakeOwnership,
}

/// Deliberately broken protocol variants, kept so the crash campaign can show
/// it catches them. Never set outside tests.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    None,
    /// Acknowledge a write when its data has landed locally, before the mirror
    /// copy completes (breaks idea 3).
    AckBeforeMirror,
    /// Never set the hardening bit of track 0 (breaks idea 7's superset).
    DropBitmapBit,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// 0 or 1: which controller of the pair this is.
    pub cache_id: u16,
    /// Bytes of cache memory, mirror area for the partner included.
    pub cache_bytes: u64,
    /// Sectors per page (= per track, per mirror slot); at most 64 because
    /// the dirty-sector bitmap is 64 bits wide.
    pub page_sectors: u32,
    pub sector_bytes: u32,
    /// Percentage of the cache reserved as mirror area for the partner (idea 2).
    pub mirror_fraction_pct: u32,
    pub luns: u32,
    /// Pages per LUN.
    pub lun_pages: u64,
    pub metadata: MetadataMode,
    pub hardening: HardeningMode,
    pub ownership: OwnershipPolicy,
    /// Tracks per hardening range (idea 7).
    pub range_tracks: u32,
    /// While no mirror exists, acknowledge writes only once they are on disk.
    pub degraded_write_through: bool,
    /// Destages started per timer tick.
    pub destage_per_tick: u32,
    /// Lines destaged concurrently at most.
    pub destage_inflight: u32,
    #[doc(hidden)]
    pub mutation: Mutation,
}

impl Config {
    /// A small configuration for controller `cache_id`.
    pub fn new(cache_id: u16, cache_bytes: u64) -> Self {
        Config {
            cache_id,
            cache_bytes,
            page_sectors: 8,
            sector_bytes: 512,
            mirror_fraction_pct: 30,
            luns: 2,
            lun_pages: 1024,
            metadata: MetadataMode::PerLine,
            hardening: HardeningMode::FlushNotices,
            ownership: OwnershipPolicy::Forward,
            range_tracks: 64,
            degraded_write_through: true,
            destage_per_tick: 4,
            destage_inflight: 8,
            mutation: Mutation::None,
        }
    }
    /// Checks the parameters the state machine relies on.
    pub fn validate(&self) -> Result<(), crate::error::Error> {
        use crate::error::Error::BadConfig;
        if self.cache_id > 1 {
            return Err(BadConfig("cache_id must be 0 or 1"));
        }
        if self.page_sectors == 0 || self.page_sectors > 64 {
            return Err(BadConfig(
                "page_sectors must be 1..=64 (dirty bitmap width)",
            ));
        }
        if self.sector_bytes == 0 || self.luns == 0 || self.lun_pages == 0 {
            return Err(BadConfig(
                "sector size, LUN count and LUN size must be non-zero",
            ));
        }
        if !(1..=90).contains(&self.mirror_fraction_pct) {
            return Err(BadConfig("mirror fraction must be 1..=90 %"));
        }
        if self.range_tracks == 0 || self.destage_inflight == 0 || self.destage_per_tick == 0 {
            return Err(BadConfig("range size and destage limits must be non-zero"));
        }
        if self.pool_pages() == 0 || self.hosted_area().slots == 0 {
            return Err(BadConfig(
                "cache too small for a page pool and a mirror area",
            ));
        }
        Ok(())
    }
    pub fn page_bytes(&self) -> u64 {
        self.page_sectors as u64 * self.sector_bytes as u64
    }
    /// Mirror area this controller hosts for a partner (idea 2): the slot
    /// count follows from its own cache size.
    pub fn hosted_area(&self) -> MirrorAreaLayout {
        Self::area_for(
            self.cache_bytes,
            self.mirror_fraction_pct,
            self.page_bytes(),
        )
    }
    /// The mirror area a controller with `cache_bytes` of cache reserves.
    pub fn area_for(cache_bytes: u64, pct: u32, page_bytes: u64) -> MirrorAreaLayout {
        let slot_size = page_bytes as u32;
        let slots = MirrorAreaLayout::slots_for(cache_bytes, pct, slot_size).min(u16::MAX as u32);
        MirrorAreaLayout { slots, slot_size }
    }
    /// The hosted area sits at the top of cache memory.
    pub fn area_base(&self) -> u64 {
        let total = self.hosted_area().total_bytes();
        let base = self.cache_bytes.saturating_sub(total);
        base - base % self.page_bytes()
    }
    /// Local cache pages: what is left below the mirror area.
    pub fn pool_pages(&self) -> u32 {
        (self.area_base() / self.page_bytes()).min(u32::MAX as u64) as u32
    }
    /// The controller that owns `lun` when both are up.
    pub fn home_of(lun: u32) -> u16 {
        (lun % 2) as u16
    }
    pub fn tracks(&self) -> u64 {
        self.lun_pages
    }
}

impl Config {
    /// IOVA of a page buffer in this controller's memory: pool pages from
    /// address 0, hosted slots inside the mirror area at [`Config::area_base`].
    pub fn page_iova(&self, p: crate::cache::PageRef) -> u64 {
        match p {
            crate::cache::PageRef::Cache(i) => i as u64 * self.page_bytes(),
            crate::cache::PageRef::Slot(s) => {
                self.area_base() + self.hosted_area().data_offset(s as u32)
            }
        }
    }
}
