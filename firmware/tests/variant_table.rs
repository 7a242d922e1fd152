//! Link messages and bytes per host write for each protocol variant, on one
//! fixed workload (DESIGN.md: "measured against each other").
//! `cargo test -p duplex-firmware -- --nocapture variant_table`

use duplex_firmware::sim::variants::variant_table;
use duplex_firmware::{HardeningMode, MetadataMode};

#[test]
fn variant_table_orders_the_protocols() {
    let rows = variant_table(120);
    println!("| metadata | hardening | host writes | link msgs/write | link bytes/write |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {:?} | {:?} | {} | {:.2} | {:.0} |",
            r.metadata,
            r.hardening,
            r.host_writes,
            r.messages_per_write(),
            r.bytes_per_write()
        );
    }
    let get = |m: MetadataMode, h: HardeningMode| {
        rows.iter()
            .find(|r| r.metadata == m && r.hardening == h)
            .expect("row present")
            .messages_per_write()
    };
    let modes = [
        HardeningMode::FlushNotices,
        HardeningMode::DestageScan,
        HardeningMode::Counter { n: 8 },
    ];
    for h in modes {
        // Idea 5: batching carries more per message.
        assert!(
            get(MetadataMode::Batched, h) < get(MetadataMode::PerLine, h),
            "batched should send fewer messages per write than per-line under {h:?}"
        );
    }
    for m in [MetadataMode::PerLine, MetadataMode::Batched] {
        // Idea 7 vs 6: bitmaps replace two notices per destaged line by a
        // few range records.
        assert!(
            get(m, HardeningMode::DestageScan) < get(m, HardeningMode::FlushNotices),
            "destage-scan bitmaps should send fewer messages than flush notices under {m:?}"
        );
    }
}
