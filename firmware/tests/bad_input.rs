//! Nothing the partner, the card, the disks or the host send makes the
//! firmware panic: malformed input is refused and counted (STYLE.md rule 7).

use duplex_firmware::sim::rng::SplitMix64;
use duplex_firmware::{Action, Config, Controller, DiskStatus, Input, LineKey, Message};
use duplex_regs::{Completion, MetaRecord};

fn random_input(r: &mut SplitMix64) -> Input {
    let small = |r: &mut SplitMix64| r.below(4) as u32;
    let any = |r: &mut SplitMix64| r.next_u64();
    match r.below(18) {
        0 => {
            let n = r.range(1, 4) as usize;
            Input::MetaRecords(
                (0..n)
                    .map(|_| {
                        let mut b = [0u8; 64];
                        b.iter_mut().for_each(|x| *x = r.below(256) as u8);
                        if r.chance(50) {
                            // Valid seal, arbitrary fields.
                            let rec = MetaRecord {
                                kind: r.below(256) as u8,
                                cache_id: r.below(3) as u16,
                                seq: any(r) as u32,
                                slot: any(r) as u16,
                                lba: any(r),
                                lun: small(r),
                                epoch: r.below(4) as u32,
                                dirty: any(r),
                                ..Default::default()
                            };
                            b = rec.sealed().encode();
                        }
                        b
                    })
                    .collect(),
            )
        }
        1 => Input::Message(Message::Hello {
            cache_bytes: if r.chance(50) {
                any(r)
            } else {
                r.below(1 << 22)
            },
            epoch: r.below(5) as u32,
            survivor: r.chance(50),
        }),
        2 => Input::Message(Message::CopyBack {
            entries: (0..r.below(20))
                .map(|_| {
                    (
                        any(r) as u16,
                        LineKey {
                            lun: small(r),
                            page: any(r) % 200,
                        },
                    )
                })
                .collect(),
        }),
        3 => Input::Message(Message::HandBack {
            luns: (0..r.below(4)).map(|_| small(r) * 1000).collect(),
        }),
        4 => Input::Message(Message::OwnershipGrant { lun: any(r) as u32 }),
        5 => Input::Message(Message::OwnershipRequest { lun: small(r) }),
        6 => Input::Message(Message::ForwardWrite {
            req: any(r),
            lun: small(r),
            lba: any(r) % 2000,
            sectors: r.below(200) as u32,
        }),
        7 => {
            let mut c = Completion {
                tag: r.below(64) as u32,
                status: r.below(12) as u8,
                opcode: r.range(1, 4) as u8,
                count: r.below(20) as u16,
                ..Default::default()
            };
            c.slots.iter_mut().for_each(|s| *s = any(r) as u16);
            Input::Dma(c)
        }
        8 => Input::DiskDone {
            io: r.below(64),
            status: [DiskStatus::Ok, DiskStatus::Error, DiskStatus::Fenced][r.below(3) as usize],
        },
        9 => Input::HostDataLanded {
            req: r.below(40),
            index: r.below(20) as u32,
        },
        10 => Input::MirrorAreaScanned(
            (0..r.below(8))
                .map(|_| {
                    let mut b = [0u8; 64];
                    b.iter_mut().for_each(|x| *x = r.below(256) as u8);
                    b
                })
                .collect(),
        ),
        11 => Input::HostWrite {
            req: r.below(40),
            lun: small(r),
            lba: any(r) % 3000,
            sectors: r.below(300) as u32,
        },
        12 => Input::HostRead {
            req: r.below(40) + 100,
            lun: small(r),
            lba: if r.chance(10) {
                u64::MAX - 3
            } else {
                any(r) % 3000
            },
            sectors: r.below(300) as u32,
        },
        13 => Input::HostTrim {
            req: 200,
            lun: small(r),
            lba: any(r) % 3000,
            sectors: r.below(64) as u32,
        },
        14 => [Input::LinkDown, Input::LinkUp, Input::PartnerBack][r.below(3) as usize].clone(),
        15 => Input::Message(Message::WriteDone {
            req: r.below(40),
            result: Ok(()),
        }),
        16 => Input::HostFlush {
            req: 300 + r.below(5),
        },
        _ => Input::Tick,
    }
}

/// Answers to the firmware's own actions, with random faults: the card and
/// the disks mostly succeed, sometimes fail, sometimes answer twice or with
/// a wrong slot list.
fn answers(actions: &[Action], r: &mut SplitMix64, out: &mut Vec<Input>) {
    for a in actions {
        match a {
            Action::LandHostData { req, index, .. } => out.push(Input::HostDataLanded {
                req: *req,
                index: *index,
            }),
            Action::Submit(c) => {
                let mut done = Completion {
                    tag: c.desc.tag,
                    opcode: c.desc.opcode,
                    status: if r.chance(85) { 0 } else { r.below(10) as u8 },
                    count: c.desc.count.min(16),
                    ..Default::default()
                };
                for (i, s) in done.slots.iter_mut().enumerate() {
                    *s = if r.chance(95) {
                        i as u16 + r.below(64) as u16
                    } else {
                        u16::MAX
                    };
                }
                out.push(Input::Dma(done));
                if r.chance(3) {
                    out.push(Input::Dma(done));
                }
            }
            Action::DiskRead { io, .. }
            | Action::DiskWrite { io, .. }
            | Action::DiskFlush { io, .. } => {
                let status = match r.below(200) {
                    0..=9 => DiskStatus::Error,
                    10 => DiskStatus::Fenced,
                    _ => DiskStatus::Ok,
                };
                out.push(Input::DiskDone { io: *io, status });
            }
            Action::ScanMirrorArea => out.push(Input::MirrorAreaScanned(Vec::new())),
            _ => {}
        }
    }
}

#[test]
fn random_inputs_never_panic_and_bad_records_are_counted() {
    let mut rejected = 0;
    let mut restarts = 0;
    let mut acked = 0;
    for seed in 0..200u64 {
        let mut r = SplitMix64::new(seed);
        let mut c = Config::new((seed % 2) as u16, 128 * 1024);
        c.lun_pages = 200;
        let boot = |c: &Config| {
            let mut fw = Controller::new(c.clone());
            fw.handle(Input::Start, 0);
            fw.handle(Input::LinkUp, 1);
            let hello = Message::Hello {
                cache_bytes: 128 * 1024,
                epoch: 0,
                survivor: false,
            };
            fw.handle(Input::Message(hello), 2);
            fw
        };
        let mut fw = boot(&c);
        let mut pending: Vec<Input> = Vec::new();
        for t in 0..3000u64 {
            if fw.phase() == duplex_firmware::Phase::Fenced {
                // The runtime restarts a fenced controller.
                rejected += fw.stats.records_rejected;
                acked += fw.stats.writes_acked;
                fw = boot(&c);
                pending.clear();
                restarts += 1;
            }
            if r.chance(1) {
                fw.handle(Input::PartnerDead, t);
            }
            // Mostly the firmware's own answers, in a shuffled order, with
            // garbage between them.
            let input = if !pending.is_empty() && r.chance(70) {
                let i = r.below(pending.len() as u64) as usize;
                pending.swap_remove(i)
            } else {
                random_input(&mut r)
            };
            let actions = fw.handle(input, 10 + t);
            answers(&actions, &mut r, &mut pending);
        }
        rejected += fw.stats.records_rejected;
        acked += fw.stats.writes_acked;
    }
    println!("{rejected} malformed inputs refused, {restarts} fenced restarts, {acked} writes acknowledged");
    assert!(rejected > 0, "no malformed record was ever counted");
    assert!(acked > 0, "the driver never got a write through");
}
