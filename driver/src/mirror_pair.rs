//! Bring-up of two cards that mirror into each other (DESIGN.md ideas 1–3):
//! each host reserves a mirror area and a metadata ring for its partner,
//! opens its inbound windows onto them, and the partner's card is told their
//! sizes (its outbound window) and takes slots from its own allocator,
//! initialised with the area's slot count.
//!
//! ```text
//!   host A: areas[0] (mirror area + ring for B)      host B: areas[1] (for A)
//!      ▲ WIN of card A                                   ▲ WIN of card B
//!      └──────── card B's DMA (outbound) ◄──┐   ┌──► card A's DMA (outbound) ──┘
//! ```
//!
//! The cache-size exchange of idea 2 is not done here: the caller gives the
//! slot count, the same on both sides.

use crate::card::{Card, CardSetup, GuardedBuffer};
use crate::device::Device;
use crate::error::{DriverError, Result};
use crate::regs::Regs;
use crate::slot_allocator::SlotAllocator;
use duplex_regs::{id, MetaRecord, MirrorAreaLayout};

/// What [`MirrorPair::bring_up`] sets up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairSetup {
    /// Mirror slots each host keeps for its partner (N of both allocators).
    pub slots: u32,
    /// Each metadata ring holds 2^meta_log2 records (1..=15).
    pub meta_log2: u32,
    /// Pattern-filled guard bytes around every area (rounded up to pages).
    pub guard_bytes: usize,
    /// Rebuild the allocators even while slots are allocated.
    pub force_init: bool,
    /// Rings, coalescing and guards of both cards.
    pub card: CardSetup,
}

impl Default for PairSetup {
    fn default() -> Self {
        Self {
            slots: 64,
            meta_log2: 6,
            guard_bytes: 0,
            force_init: false,
            card: CardSetup::default(),
        }
    }
}

/// What one host keeps for its partner.
pub struct InboundAreas {
    pub layout: MirrorAreaLayout,
    /// Header table, then the slot pages.
    pub mirror: GuardedBuffer,
    /// The metadata ring.
    pub meta: GuardedBuffer,
}

impl InboundAreas {
    pub fn check_guards(&self) -> Result<()> {
        self.mirror.check_guards("mirror area")?;
        self.meta.check_guards("metadata ring")
    }
}

/// Two cards set up to mirror into each other.
pub struct MirrorPair<'a> {
    pub cards: [Card<'a>; 2],
    /// `areas[c]` sits in host `c`'s memory and is written by card `1 - c`.
    pub areas: [InboundAreas; 2],
}

impl<'a> MirrorPair<'a> {
    pub fn bring_up(devs: [&'a dyn Device; 2], setup: &PairSetup) -> Result<Self> {
        if !(1..=15).contains(&setup.meta_log2) {
            return Err(DriverError::DmaSetup {
                device: devs[0].name(),
                detail: format!("metadata ring 2^{} is outside 2^1..=2^15", setup.meta_log2),
            });
        }
        let (card0, areas0) = Self::side(devs[0], setup)?;
        let (card1, areas1) = Self::side(devs[1], setup)?;
        for (card, partner) in [(&card0, &areas1), (&card1, &areas0)] {
            card.set_outbound(
                partner.layout.total_bytes(),
                partner.layout.header_table_bytes(),
                setup.meta_log2,
            )?;
        }
        Ok(Self {
            cards: [card0, card1],
            areas: [areas0, areas1],
        })
    }

    /// One host: its allocator, its areas for the partner, its card with
    /// the inbound windows open onto them.
    fn side(dev: &'a dyn Device, setup: &PairSetup) -> Result<(Card<'a>, InboundAreas)> {
        SlotAllocator::new(dev)?.init(setup.slots, setup.force_init)?;
        let slot_size = Regs::new(dev).read(id::SLOT_SIZE)?;
        let layout = MirrorAreaLayout {
            slots: setup.slots,
            slot_size,
        };
        let mirror_len =
            usize::try_from(layout.total_bytes()).map_err(|_| DriverError::DmaSetup {
                device: dev.name(),
                detail: format!("a {}-byte mirror area", layout.total_bytes()),
            })?;
        let mirror = GuardedBuffer::new(dev, mirror_len, setup.guard_bytes)?;
        let meta = GuardedBuffer::new(dev, MetaRecord::SIZE << setup.meta_log2, setup.guard_bytes)?;
        let card = Card::open(dev, setup.card)?;
        card.set_inbound(
            (mirror.iova(), mirror.len() as u64),
            (meta.iova(), meta.len() as u64),
        )?;
        Ok((
            card,
            InboundAreas {
                layout,
                mirror,
                meta,
            },
        ))
    }

    /// Guards of every ring and area of both hosts.
    pub fn check_guards(&self) -> Result<()> {
        for c in 0..2 {
            self.cards[c].check_guards()?;
            self.areas[c].check_guards()?;
        }
        Ok(())
    }
}
