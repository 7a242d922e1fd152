//! What goes into the firmware ([`Input`]) and what comes out ([`Action`]).

use alloc::vec::Vec;
use duplex_regs::{Completion, Descriptor, MetaRecord};

use crate::cache::{LineKey, PageRef};
use crate::error::Error;

/// Time, as the runtime counts it; the firmware never reads a clock.
pub type Tick = u64;
/// A host request id, unique across the pair (forwarded requests keep theirs).
pub type ReqId = u64;

/// Outcome of a disk command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskStatus {
    Ok,
    Error,
    /// The disk refused the command's epoch: the partner fenced us (idea 9).
    Fenced,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Power-on: publish the cache size, wait for the partner's.
    Start,
    /// `lba` and `sectors` count sectors: a request may start and end
    /// anywhere inside a page.
    HostRead {
        req: ReqId,
        lun: u32,
        lba: u64,
        sectors: u32,
    },
    HostWrite {
        req: ReqId,
        lun: u32,
        lba: u64,
        sectors: u32,
    },
    HostFlush {
        req: ReqId,
    },
    /// Advisory: the range's lines are hardened and dropped from the cache.
    HostTrim {
        req: ReqId,
        lun: u32,
        lba: u64,
        sectors: u32,
    },
    /// Host data for page `index` of write `req` is in the page it was given.
    HostDataLanded {
        req: ReqId,
        index: u32,
    },
    Dma(Completion),
    /// Metadata records the partner's card wrote into our ring (raw bytes,
    /// validated here).
    MetaRecords(Vec<[u8; 64]>),
    Message(Message),
    DiskDone {
        io: u64,
        status: DiskStatus,
    },
    LinkUp,
    LinkDown,
    PartnerDead,
    PartnerBack,
    /// The header table of the mirror area we host, as asked for by
    /// [`Action::ScanMirrorArea`].
    MirrorAreaScanned(Vec<[u8; 64]>),
    Tick,
}

/// Controller-to-controller messages that are not metadata records: bring-up,
/// forwarded requests, ownership, failback (ideas 2, 8, 10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Bring-up exchange through the NTB scratchpads.
    Hello {
        cache_bytes: u64,
        epoch: u32,
        survivor: bool,
    },
    ForwardWrite {
        req: ReqId,
        lun: u32,
        lba: u64,
        sectors: u32,
    },
    ForwardRead {
        req: ReqId,
        lun: u32,
        lba: u64,
        sectors: u32,
    },
    /// The owner finished a forwarded write; the origin replies to the host.
    WriteDone {
        req: ReqId,
        result: Result<(), Error>,
    },
    /// The owner answered a forwarded read (its data went with the reply).
    ReadDone {
        req: ReqId,
    },
    OwnershipRequest {
        lun: u32,
    },
    OwnershipGrant {
        lun: u32,
    },
    /// Failback: slots of the survivor's memory that hold marked tracks.
    CopyBack {
        entries: Vec<(u16, LineKey)>,
    },
    CopyBackDone,
    /// Failback: ownership of these LUNs goes back to the returning side.
    HandBack {
        luns: Vec<u32>,
    },
}

/// A descriptor with what the runtime places in memory for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub desc: Descriptor,
    /// For `PAGE_LIST`: the pages, written as the list `local_addr` points at.
    pub pages: Vec<PageRef>,
    /// For META: the records, written as the batch `local_addr` points at.
    pub records: Vec<MetaRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write our cache size and epoch to the scratchpads (idea 2).
    Publish {
        cache_bytes: u64,
        epoch: u32,
        survivor: bool,
    },
    /// Initialise the mirror-slot allocator with the partner's slot count
    /// (idea 1).
    ProgramAllocator {
        slots: u32,
    },
    Submit(Command),
    RingDoorbell,
    /// Land the host's data for page `index` of write `req` in `page`: first
    /// a copy of `base` when given (the line's committed content, under a
    /// partial page), then the host's sectors named by the `sectors` bitmap.
    LandHostData {
        req: ReqId,
        index: u32,
        page: PageRef,
        sectors: u64,
        base: Option<PageRef>,
    },
    /// The pages the request spans; the runtime returns the requested
    /// sectors of them.
    CompleteRead {
        req: ReqId,
        result: Result<Vec<PageRef>, Error>,
    },
    CompleteWrite {
        req: ReqId,
        result: Result<(), Error>,
    },
    CompleteFlush {
        req: ReqId,
        result: Result<(), Error>,
    },
    CompleteTrim {
        req: ReqId,
        result: Result<(), Error>,
    },
    DiskRead {
        io: u64,
        lun: u32,
        lba: u64,
        page: PageRef,
    },
    DiskWrite {
        io: u64,
        lun: u32,
        lba: u64,
        page: PageRef,
        epoch: u32,
    },
    DiskFlush {
        io: u64,
        lun: u32,
        epoch: u32,
    },
    Send(Message),
    /// Raise the disks' epoch so nothing older is accepted (idea 9).
    FenceDisks {
        epoch: u32,
    },
    /// Open or close the NTB inbound window of the mirror area we host.
    /// Closing it fences the partner's card: nothing it sends after the
    /// verdict lands in memory we are about to scan (idea 9).
    Inbound {
        open: bool,
    },
    /// Complete every queued descriptor with LINK_DOWN now: nothing queued
    /// for a partner declared dead may run against its successor (idea 9).
    AbortDma,
    /// Read the header table of the mirror area we host.
    ScanMirrorArea,
    /// Zero the header table of the mirror area we host.
    ClearMirrorArea,
    /// Copy a local page into a hosted slot and write its header (failback).
    StageSlot {
        slot: u16,
        page: PageRef,
        record: MetaRecord,
    },
}
