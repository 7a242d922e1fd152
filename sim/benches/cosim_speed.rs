//! Co-simulation speed: simulated cycles per second of the two-card model,
//! idle and with link traffic. `cargo bench -p duplex-sim --bench cosim_speed`

use duplex_regs::ntb;
use duplex_sim::{SimConfig, SimWorld};
use std::time::Instant;

fn main() {
    let cycles = 200_000u64;
    let mut w = SimWorld::new(SimConfig::default()).expect("sim");
    let t = Instant::now();
    w.step_n(cycles);
    let idle = cycles as f64 / t.elapsed().as_secs_f64();

    let mut w = SimWorld::new(SimConfig {
        link_latency: 50,
        ..SimConfig::default()
    })
    .expect("sim");
    let t = Instant::now();
    let start = w.cycle();
    while w.cycle() - start < cycles {
        w.bar_write(0, ntb::PEER_SPAD.offset, 1).expect("write");
        w.bar_write(1, ntb::PEER_DB.offset, 1).expect("write");
        w.step_n(8);
    }
    let busy = (w.cycle() - start) as f64 / t.elapsed().as_secs_f64();
    println!("two-card co-simulation, 256-bit cards:");
    println!("  idle:          {idle:>12.0} cycles/s");
    println!("  link traffic:  {busy:>12.0} cycles/s");
}
