//! The mirror-slot allocator inside the co-simulated card, through the
//! driver's `SlotAllocator` API and raw BAR0 accesses: init from the slot
//! count, software alloc/free checked against the reference model, typed
//! refusals, sticky errors raising IRQ.ERROR, and the re-init rules.

use duplex_driver::regs::Regs;
use duplex_driver::slot_allocator::SlotAllocator;
use duplex_driver::{Device, DriverError};
use duplex_hdl::slot_allocator_model::{AllocOp, SlotAllocatorModel};
use duplex_regs::slot_alloc::{self as a, status};
use duplex_regs::{irq, params};
use duplex_sim::SimConfig;
use duplex_tests::{pair, seed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rejected(e: DriverError) -> u32 {
    match e {
        DriverError::AllocRejected { status, .. } => status,
        e => panic!("expected a refusal by the allocator, got: {e}"),
    }
}

#[test]
fn software_operations_on_the_card_match_the_reference_model() {
    let s = seed(31);
    let mut rng = ChaCha8Rng::seed_from_u64(s);
    let (_p, dev, _b) = pair(SimConfig::default());
    let alloc = SlotAllocator::new(&dev).unwrap();
    let st = alloc.stats().unwrap();
    assert!(!st.ready);
    assert_eq!((st.max_slots, st.max_count), (params::MAX_SLOTS, 16));
    assert_eq!(rejected(alloc.alloc(1).unwrap_err()), status::NOT_READY);

    let n = 40;
    alloc.init(n, false).unwrap();
    let mut model = SlotAllocatorModel::new(params::MAX_SLOTS);
    model.apply(AllocOp::Alloc { count: 1 }); // the NOT_READY above
    model.init(n, false).unwrap();
    let mut held: Vec<u32> = Vec::new();
    for i in 0..400 {
        let op = if rng.gen_bool(0.5) || held.is_empty() {
            AllocOp::Alloc {
                count: rng.gen_range(0..=18),
            }
        } else if rng.gen_bool(0.8) {
            AllocOp::Free {
                slot: held[rng.gen_range(0..held.len())],
            }
        } else {
            AllocOp::Free {
                slot: rng.gen_range(0..n + 4),
            }
        };
        let want = model.apply(op);
        let got = match op {
            AllocOp::Alloc { count } => alloc.alloc(count),
            AllocOp::Free { slot } => alloc.free(slot).map(|()| Vec::new()),
        };
        match got {
            Ok(slots) => {
                assert_eq!(want.status, status::OK, "seed {s} op {i} {op:?}");
                assert_eq!(slots, want.slots, "seed {s} op {i} {op:?}");
                match op {
                    AllocOp::Alloc { .. } => held.extend(&slots),
                    AllocOp::Free { slot } => held.retain(|&x| x != slot),
                }
            }
            Err(e) => assert_eq!(rejected(e), want.status, "seed {s} op {i} {op:?}"),
        }
    }
    let st = alloc.stats().unwrap();
    let c = model.counters;
    assert_eq!(
        (st.free, st.allocated, st.high_water, st.errors),
        (
            model.free_count(),
            model.allocated(),
            model.high_water(),
            c.errors
        )
    );
    assert_eq!(
        (
            st.double_free,
            st.never_allocated,
            st.out_of_range,
            st.bad_count
        ),
        (
            c.double_free,
            c.never_allocated,
            c.out_of_range,
            c.bad_count
        )
    );
    assert_eq!(
        (st.no_space, st.allocs, st.frees),
        (c.no_space, c.alloc_ops, c.free_ops)
    );
    assert_eq!(st.free + st.allocated, n);
}

#[test]
fn double_free_is_rejected_counted_and_raises_the_error_interrupt() {
    let (p, dev, _b) = pair(SimConfig::default());
    let regs = Regs::new(&dev);
    regs.write(irq::MASK, !irq::ERROR.mask()).unwrap();
    let alloc = SlotAllocator::new(&dev).unwrap();
    alloc.init(8, false).unwrap();
    assert!(!p.world().irq(0).unwrap());
    let slots = alloc.alloc(2).unwrap();
    assert_eq!(slots, vec![0, 1]);
    alloc.free(1).unwrap();
    let before = alloc.stats().unwrap();
    assert_eq!(rejected(alloc.free(1).unwrap_err()), status::DOUBLE_FREE);
    assert_eq!(
        rejected(alloc.free(5).unwrap_err()),
        status::NEVER_ALLOCATED
    );
    assert_eq!(rejected(alloc.free(8).unwrap_err()), status::OUT_OF_RANGE);
    assert_eq!(
        rejected(alloc.free(70_000).unwrap_err()),
        status::OUT_OF_RANGE
    );
    let after = alloc.stats().unwrap();
    assert_eq!(
        (after.free, after.allocated),
        (before.free, before.allocated)
    );
    assert_eq!(
        (after.double_free, after.never_allocated, after.out_of_range),
        (1, 1, 1)
    );
    assert_eq!(
        after.errors,
        a::ERR_DOUBLE_FREE.mask() | a::ERR_NEVER_ALLOCATED.mask() | a::ERR_OUT_OF_RANGE.mask()
    );
    assert!(p.world().irq(0).unwrap(), "IRQ.ERROR raised the line");
    assert_eq!(alloc.clear_errors().unwrap(), after.errors);
    assert_eq!(alloc.stats().unwrap().errors, 0);
    // The rejected frees changed nothing: the next alloc gets slot 1 back.
    assert_eq!(alloc.alloc(1).unwrap(), vec![1]);
}

#[test]
fn reinit_is_refused_while_slots_are_allocated_unless_forced() {
    let (_p, dev, _b) = pair(SimConfig::default());
    let alloc = SlotAllocator::new(&dev).unwrap();
    alloc.init(16, false).unwrap();
    alloc.alloc(3).unwrap();
    match alloc.init(32, false).unwrap_err() {
        DriverError::AllocInitRefused { slots: 32, .. } => {}
        e => panic!("{e}"),
    }
    let st = alloc.stats().unwrap();
    assert_eq!((st.slots, st.allocated, st.errors), (16, 3, 0));
    assert!(matches!(
        alloc.init(params::MAX_SLOTS + 1, true),
        Err(DriverError::AllocInitRefused { .. })
    ));
    alloc.init(32, true).unwrap();
    let st = alloc.stats().unwrap();
    assert_eq!(
        (st.slots, st.free, st.allocated, st.high_water),
        (32, 32, 0, 0)
    );
    assert_eq!(alloc.alloc(16).unwrap(), (0..16).collect::<Vec<_>>());
    assert_eq!(rejected(alloc.alloc(17).unwrap_err()), status::BAD_COUNT);
    assert_eq!(rejected(alloc.alloc(0).unwrap_err()), status::BAD_COUNT);
    alloc.alloc(16).unwrap();
    assert_eq!(rejected(alloc.alloc(1).unwrap_err()), status::NO_SPACE);
    // A full free list and every slot back: allocated returns to zero.
    for s in 0..32 {
        alloc.free(s).unwrap();
    }
    let st = alloc.stats().unwrap();
    assert_eq!((st.free, st.allocated, st.high_water), (32, 0, 32));
    alloc.init(8, false).unwrap();
}

#[test]
fn an_op_written_while_the_previous_one_is_pending_is_ignored_and_flagged() {
    let (_p, dev, _b) = pair(SimConfig::default());
    let alloc = SlotAllocator::new(&dev).unwrap();
    alloc.init(8, false).unwrap();
    // Two posted writes in consecutive cycles: the second finds BUSY set.
    dev.write32(a::OP.offset, a::OP_COUNT.set(0, 1)).unwrap();
    dev.write32(a::OP.offset, a::OP_COUNT.set(0, 4)).unwrap();
    let st = alloc.stats().unwrap();
    assert_eq!(st.allocated, 1, "only the first alloc ran");
    assert_eq!(st.errors, a::ERR_OP_OVERRUN.mask());
}
