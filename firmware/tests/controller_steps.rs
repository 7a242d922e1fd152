//! Single-controller behaviour, driven input by input (DESIGN.md ideas 2–10).

use duplex_firmware::{
    Action, Config, Controller, DiskStatus, Input, Message, OwnershipPolicy, PageRef, Phase,
};
use duplex_regs::{meta_kind, opcode, status, Completion, MetaRecord, MirrorAreaLayout};

const PARTNER_CACHE: u64 = 1 << 20;

fn cfg(id: u16) -> Config {
    let mut c = Config::new(id, 256 * 1024);
    c.lun_pages = 64;
    c
}

/// A controller paired with a fresh partner.
fn paired(c: Config) -> Controller {
    let mut fw = Controller::new(c);
    fw.handle(Input::Start, 0);
    fw.handle(Input::LinkUp, 1);
    fw.handle(
        Input::Message(Message::Hello {
            cache_bytes: PARTNER_CACHE,
            epoch: 0,
            survivor: false,
        }),
        2,
    );
    assert_eq!(fw.phase(), Phase::Paired);
    fw
}

fn submits(a: &[Action], op: u8) -> Vec<duplex_firmware::Command> {
    a.iter()
        .filter_map(|x| match x {
            Action::Submit(c) if c.desc.opcode == op => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn landing(a: &[Action]) -> Vec<(u64, u32, PageRef)> {
    a.iter()
        .filter_map(|x| match x {
            Action::LandHostData {
                req, index, page, ..
            } => Some((*req, *index, *page)),
            _ => None,
        })
        .collect()
}

fn ok(tag: u32, op: u8, slots: &[u16]) -> Input {
    let mut c = Completion {
        tag,
        status: status::OK,
        opcode: op,
        count: slots.len() as u16,
        ..Default::default()
    };
    c.slots[..slots.len()].copy_from_slice(slots);
    Input::Dma(c)
}

fn acked(a: &[Action], req: u64) -> bool {
    a.iter()
        .any(|x| matches!(x, Action::CompleteWrite { req: r, result: Ok(()) } if *r == req))
}

#[test]
fn bring_up_programs_the_allocator_with_the_partners_slot_count() {
    let mut fw = Controller::new(cfg(0));
    let a = fw.handle(Input::Start, 0);
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Publish { cache_bytes, .. } if *cache_bytes == 256 * 1024)));
    fw.handle(Input::LinkUp, 1);
    let a = fw.handle(
        Input::Message(Message::Hello {
            cache_bytes: PARTNER_CACHE,
            epoch: 0,
            survivor: false,
        }),
        2,
    );
    let want = MirrorAreaLayout::slots_for(PARTNER_CACHE, 30, 4096);
    assert!(
        a.contains(&Action::ProgramAllocator { slots: want }),
        "{a:?}"
    );
    // Our own pool leaves 30 % of our cache to the partner's mirror area.
    let c = cfg(0);
    assert!(c.pool_pages() as u64 * 4096 <= c.cache_bytes * 70 / 100 + 4096);
}

#[test]
fn a_write_is_acknowledged_only_after_every_mirror_completion_and_pages_pipeline() {
    let mut fw = paired(cfg(0));
    let a = fw.handle(
        Input::HostWrite {
            req: 7,
            lun: 0,
            lba: 0,
            sectors: 16,
        },
        10,
    );
    let l = landing(&a);
    assert_eq!(l.len(), 1, "one page lands at a time");
    let a = fw.handle(Input::HostDataLanded { req: 7, index: 0 }, 11);
    let m = submits(&a, opcode::MIRROR);
    assert_eq!(m.len(), 1);
    // Pipelining: page 1 lands while page 0 is being copied.
    assert_eq!(landing(&a).len(), 1);
    assert!(!acked(&a, 7));
    let a = fw.handle(ok(m[0].desc.tag, opcode::MIRROR, &[3]), 12);
    assert!(
        !acked(&a, 7),
        "acknowledged before the second page was mirrored"
    );
    let a = fw.handle(Input::HostDataLanded { req: 7, index: 1 }, 13);
    let m2 = submits(&a, opcode::MIRROR);
    assert_eq!(m2[0].desc.lba, 8, "second page carries its own LBA");
    let a = fw.handle(ok(m2[0].desc.tag, opcode::MIRROR, &[4]), 14);
    assert!(acked(&a, 7));
}

fn write_one(fw: &mut Controller, req: u64, slot: u16, t: u64) -> Vec<Action> {
    fw.handle(
        Input::HostWrite {
            req,
            lun: 0,
            lba: 0,
            sectors: 8,
        },
        t,
    );
    let a = fw.handle(Input::HostDataLanded { req, index: 0 }, t + 1);
    let m = submits(&a, opcode::MIRROR);
    fw.handle(ok(m[0].desc.tag, opcode::MIRROR, &[slot]), t + 2)
}

#[test]
fn overwriting_a_dirty_line_releases_the_old_slot() {
    let mut fw = paired(cfg(0));
    write_one(&mut fw, 1, 5, 10);
    let a = write_one(&mut fw, 2, 6, 20);
    assert!(acked(&a, 2));
    let rel = submits(&a, opcode::RELEASE);
    assert_eq!(rel.len(), 1);
    assert_eq!(rel[0].desc.slots[0], 5, "old slot released, not leaked");
    let line = fw.cache().lines().next().unwrap().1.clone();
    assert_eq!(line.slot, Some(6));
}

#[test]
fn read_hits_come_from_the_cache_and_misses_from_disk() {
    let mut fw = paired(cfg(0));
    write_one(&mut fw, 1, 5, 10);
    let a = fw.handle(
        Input::HostRead {
            req: 9,
            lun: 0,
            lba: 0,
            sectors: 16,
        },
        20,
    );
    let disk_reads: Vec<_> = a
        .iter()
        .filter(|x| matches!(x, Action::DiskRead { .. }))
        .collect();
    assert_eq!(disk_reads.len(), 1, "page 0 hits, page 1 misses: {a:?}");
    let Action::DiskRead { io, .. } = disk_reads[0] else {
        unreachable!()
    };
    let a = fw.handle(
        Input::DiskDone {
            io: *io,
            status: DiskStatus::Ok,
        },
        25,
    );
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::CompleteRead { req: 9, result: Ok(p) } if p.len() == 2)));
}

#[test]
fn malformed_and_stale_records_are_rejected_and_counted() {
    let mut fw = paired(cfg(0));
    let good = MetaRecord {
        kind: meta_kind::MIRROR,
        cache_id: 1,
        lun: 1,
        lba: 16,
        epoch: 1,
        slot: 2,
        seq: 1,
        ..Default::default()
    }
    .sealed()
    .encode();
    let mut torn = good;
    torn[20] ^= 0xFF;
    let stale = MetaRecord {
        epoch: 0,
        ..MetaRecord::decode(&good).unwrap()
    }
    .sealed()
    .encode();
    fw.handle(Input::MetaRecords(vec![good, torn, [0xAB; 64], stale]), 5);
    assert_eq!(fw.stats.records_received, 1);
    assert_eq!(fw.stats.records_rejected, 2);
    assert_eq!(fw.stats.stale_epoch_rejected, 1);
    assert_eq!(fw.partner_table().len(), 1);
}

#[test]
fn partner_death_fences_first_then_adopts_and_writes_go_through() {
    let mut fw = paired(cfg(0));
    let a = fw.handle(Input::PartnerDead, 10);
    let fence = a
        .iter()
        .position(|x| matches!(x, Action::FenceDisks { .. }))
        .unwrap();
    let inbound = a
        .iter()
        .position(|x| matches!(x, Action::Inbound { open: false }))
        .unwrap();
    let scan = a
        .iter()
        .position(|x| matches!(x, Action::ScanMirrorArea))
        .unwrap();
    assert!(
        fence < scan && inbound < scan,
        "fence before the scan: {a:?}"
    );
    assert_eq!(fw.phase(), Phase::Degraded);
    // Two records for one line (the newer wins), one of an older epoch.
    let rec = |slot: u16, seq: u32, epoch: u32| {
        MetaRecord {
            kind: meta_kind::MIRROR,
            cache_id: 1,
            lun: 1,
            lba: 8,
            epoch,
            slot,
            seq,
            ..Default::default()
        }
        .sealed()
        .encode()
    };
    let mut heads = vec![[0u8; 64]; 8];
    heads[2] = rec(2, 5, 1);
    heads[3] = rec(3, 6, 1);
    heads[4] = MetaRecord::decode(&rec(4, 9, 0))
        .map(|r| MetaRecord { lba: 24, ..r }.sealed().encode())
        .unwrap();
    fw.handle(Input::MirrorAreaScanned(heads), 11);
    assert_eq!(fw.stats.slots_adopted, 1);
    assert_eq!(fw.stats.stale_epoch_rejected, 1);
    let (_, line) = fw.cache().lines().next().unwrap();
    assert_eq!(line.page, Some(PageRef::Slot(3)));
    assert!(line.dirty);
    assert_eq!(fw.owner_of(1), Some(0), "the partner's LUN is taken over");
    // Write-through: no acknowledgement before the disk write and flush.
    fw.handle(
        Input::HostWrite {
            req: 3,
            lun: 0,
            lba: 0,
            sectors: 8,
        },
        20,
    );
    let a = fw.handle(Input::HostDataLanded { req: 3, index: 0 }, 21);
    let Some(Action::DiskWrite { io, epoch, .. }) = a
        .iter()
        .find(|x| matches!(x, Action::DiskWrite { lba: 0, .. }))
    else {
        panic!("no write-through: {a:?}")
    };
    assert_eq!(*epoch, fw.epoch());
    let a = fw.handle(
        Input::DiskDone {
            io: *io,
            status: DiskStatus::Ok,
        },
        22,
    );
    assert!(!acked(&a, 3));
    let Some(Action::DiskFlush { io, .. }) =
        a.iter().find(|x| matches!(x, Action::DiskFlush { .. }))
    else {
        panic!("no flush")
    };
    let a = fw.handle(
        Input::DiskDone {
            io: *io,
            status: DiskStatus::Ok,
        },
        23,
    );
    assert!(acked(&a, 3));
}

#[test]
fn a_fenced_controller_fails_what_it_holds_and_stops() {
    let mut fw = paired(cfg(0));
    fw.handle(Input::LinkDown, 5);
    fw.handle(
        Input::HostWrite {
            req: 4,
            lun: 0,
            lba: 0,
            sectors: 8,
        },
        6,
    );
    fw.handle(Input::HostDataLanded { req: 4, index: 0 }, 7);
    // The survivor announces a newer epoch: we were fenced.
    let a = fw.handle(
        Input::Message(Message::Hello {
            cache_bytes: PARTNER_CACHE,
            epoch: 9,
            survivor: true,
        }),
        8,
    );
    assert_eq!(fw.phase(), Phase::Fenced);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::CompleteWrite {
            req: 4,
            result: Err(_)
        }
    )));
    assert!(fw
        .handle(
            Input::HostWrite {
                req: 5,
                lun: 0,
                lba: 0,
                sectors: 8
            },
            9
        )
        .is_empty());
}

#[test]
fn ownership_is_requested_granted_after_hardening_and_switched_back() {
    let mut c0 = cfg(0);
    c0.ownership = OwnershipPolicy::TakeOwnership;
    let mut owner = paired(c0.clone());
    let mut c1 = cfg(1);
    c1.ownership = OwnershipPolicy::TakeOwnership;
    let mut other = paired(c1);
    // The owner holds a dirty line of LUN 0.
    write_one(&mut owner, 1, 5, 10);
    // A write on the non-owner asks for the LUN instead of serving it.
    let a = other.handle(
        Input::HostWrite {
            req: 2,
            lun: 0,
            lba: 8,
            sectors: 8,
        },
        20,
    );
    assert!(a.contains(&Action::Send(Message::OwnershipRequest { lun: 0 })));
    assert!(landing(&a).is_empty());
    let a = owner.handle(Input::Message(Message::OwnershipRequest { lun: 0 }), 21);
    assert!(
        !a.contains(&Action::Send(Message::OwnershipGrant { lun: 0 })),
        "granted before hardening"
    );
    // Destage the dirty line: write, flush, notice, then grant.
    let mut a = a;
    let mut t = 22;
    let mut granted = false;
    for _ in 0..10 {
        let mut next = Vec::new();
        for x in &a {
            let input = match x {
                Action::DiskWrite { io, .. } | Action::DiskFlush { io, .. } => {
                    Some(Input::DiskDone {
                        io: *io,
                        status: DiskStatus::Ok,
                    })
                }
                Action::Submit(c) => Some(ok(
                    c.desc.tag,
                    c.desc.opcode,
                    &c.desc.slots[..c.desc.count as usize],
                )),
                Action::Send(Message::OwnershipGrant { lun: 0 }) => {
                    granted = true;
                    None
                }
                _ => None,
            };
            if let Some(i) = input {
                next.extend(owner.handle(i, t));
                t += 1;
            }
        }
        if next.is_empty() {
            next = owner.handle(Input::Tick, t);
        }
        a = next;
        if granted {
            break;
        }
    }
    assert!(granted, "owner never granted the LUN");
    assert_eq!(owner.owner_of(0), Some(1));
    assert!(
        owner.cache().lines().all(|(k, _)| k.lun != 0),
        "old owner keeps no copy"
    );
    let a = other.handle(Input::Message(Message::OwnershipGrant { lun: 0 }), t);
    assert_eq!(other.owner_of(0), Some(1));
    assert_eq!(landing(&a).len(), 1, "the parked write now runs");
    // Switch back: the original owner asks again.
    let a = owner.handle(
        Input::HostWrite {
            req: 3,
            lun: 0,
            lba: 0,
            sectors: 8,
        },
        t + 1,
    );
    assert!(a.contains(&Action::Send(Message::OwnershipRequest { lun: 0 })));
}

#[test]
fn bad_configurations_are_refused() {
    let mut c = cfg(0);
    c.page_sectors = 65;
    assert!(Controller::try_new(c).is_err());
    let mut c = cfg(0);
    c.cache_bytes = 1024;
    assert!(Controller::try_new(c).is_err());
    assert!(Controller::try_new(cfg(1)).is_ok());
}

/// Runs the firmware's own actions against instant, successful hardware
/// until nothing is left, returning every action seen.
fn drive(fw: &mut Controller, first: Vec<Action>, t: &mut u64) -> Vec<Action> {
    let mut seen = Vec::new();
    let mut todo = first;
    while !todo.is_empty() {
        let mut next = Vec::new();
        for x in &todo {
            let input = match x {
                Action::DiskWrite { io, .. }
                | Action::DiskFlush { io, .. }
                | Action::DiskRead { io, .. } => Some(Input::DiskDone {
                    io: *io,
                    status: DiskStatus::Ok,
                }),
                Action::Submit(c) => Some(ok(
                    c.desc.tag,
                    c.desc.opcode,
                    &c.desc.slots[..c.desc.count as usize],
                )),
                _ => None,
            };
            if let Some(i) = input {
                *t += 1;
                next.extend(fw.handle(i, *t));
            }
        }
        seen.extend(todo);
        todo = next;
    }
    seen
}

#[test]
fn flush_notice_variant_orders_invalid_then_consistent_then_reusable() {
    let mut fw = paired(cfg(0));
    write_one(&mut fw, 1, 5, 10);
    let mut t = 20;
    let a = fw.handle(Input::Tick, t);
    let seen = drive(&mut fw, a, &mut t);
    let pos = |f: &dyn Fn(&Action) -> bool| seen.iter().position(f).expect("action present");
    let notice = pos(
        &|x| matches!(x, Action::Submit(c) if c.records.first().is_some_and(|r| r.kind == meta_kind::FLUSH_NOTICE)),
    );
    let write = pos(&|x| matches!(x, Action::DiskWrite { .. }));
    let flush = pos(&|x| matches!(x, Action::DiskFlush { .. }));
    let inval = pos(
        &|x| matches!(x, Action::Submit(c) if c.records.first().is_some_and(|r| r.kind == meta_kind::INVALIDATE)),
    );
    let release = pos(&|x| matches!(x, Action::Submit(c) if c.desc.opcode == opcode::RELEASE));
    assert!(
        notice < write && write < flush && flush < inval && inval < release,
        "{seen:?}"
    );
    assert_eq!(fw.dirty_lines(), 0);
}

#[test]
fn bitmap_variant_destages_without_per_line_notices() {
    let mut c = cfg(0);
    c.hardening = duplex_firmware::HardeningMode::DestageScan;
    let mut fw = paired(c);
    write_one(&mut fw, 1, 5, 10);
    let mut t = 20;
    let a = fw.handle(Input::Tick, t);
    let seen = drive(&mut fw, a, &mut t);
    let kinds: Vec<u8> = seen
        .iter()
        .filter_map(|x| match x {
            Action::Submit(c) if c.desc.opcode == opcode::META => Some(c.records[0].kind),
            _ => None,
        })
        .collect();
    assert!(!kinds.contains(&meta_kind::FLUSH_NOTICE) && !kinds.contains(&meta_kind::INVALIDATE));
    // The scan toggled the range and cleared it once the line was hardened.
    assert_eq!(
        kinds,
        [
            duplex_firmware::hardening::KIND_TOGGLE,
            duplex_firmware::hardening::KIND_CLEAR_OLD
        ]
    );
    assert!(seen
        .iter()
        .any(|x| matches!(x, Action::Submit(c) if c.desc.opcode == opcode::RELEASE)));
}

#[test]
fn trim_hardens_then_drops_the_range() {
    let mut fw = paired(cfg(0));
    write_one(&mut fw, 1, 5, 10);
    let mut t = 20;
    let a = fw.handle(
        Input::HostTrim {
            req: 8,
            lun: 0,
            lba: 0,
            sectors: 32,
        },
        t,
    );
    let seen = drive(&mut fw, a, &mut t);
    assert!(
        seen.iter().any(|x| matches!(
            x,
            Action::CompleteTrim {
                req: 8,
                result: Ok(())
            }
        )),
        "{seen:?}"
    );
    assert!(fw.cache().is_empty());
}

#[test]
fn without_link_or_verdict_even_reads_wait_until_the_partner_confirms() {
    let mut fw = paired(cfg(0));
    write_one(&mut fw, 1, 5, 10);
    fw.handle(Input::LinkDown, 20);
    // The partner may be taking LUN 0 over right now: no answer from cache.
    let a = fw.handle(
        Input::HostRead {
            req: 9,
            lun: 0,
            lba: 0,
            sectors: 8,
        },
        21,
    );
    assert!(
        !a.iter().any(|x| matches!(x, Action::CompleteRead { .. })),
        "{a:?}"
    );
    let a = fw.handle(Input::LinkUp, 22);
    assert!(
        !a.iter().any(|x| matches!(x, Action::CompleteRead { .. })),
        "served before the partner confirmed"
    );
    // The partner confirms the same epoch: nobody took over.
    let epoch = fw.epoch();
    let a = fw.handle(
        Input::Message(Message::Hello {
            cache_bytes: PARTNER_CACHE,
            epoch,
            survivor: false,
        }),
        23,
    );
    assert!(
        a.iter().any(|x| matches!(
            x,
            Action::CompleteRead {
                req: 9,
                result: Ok(_)
            }
        )),
        "{a:?}"
    );
}

#[test]
fn a_returning_controller_declines_a_verdict_until_handed_back() {
    let mut fw = Controller::new(cfg(1));
    fw.handle(Input::Start, 0);
    fw.handle(Input::LinkUp, 1);
    fw.handle(
        Input::Message(Message::Hello {
            cache_bytes: PARTNER_CACHE,
            epoch: 4,
            survivor: true,
        }),
        2,
    );
    assert!(fw.awaiting_handback());
    let a = fw.handle(Input::PartnerDead, 3);
    assert!(!a.iter().any(|x| matches!(x, Action::FenceDisks { .. })));
    assert_eq!(fw.stats.verdicts_declined, 1);
    fw.handle(Input::Message(Message::HandBack { luns: vec![1] }), 4);
    let a = fw.handle(Input::PartnerDead, 5);
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::FenceDisks { epoch: 5 })),
        "{a:?}"
    );
}
