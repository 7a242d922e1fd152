//! In-band flashing on the co-simulated card: the FLASH block drives the
//! SPI flash model through the driver. The flash model's datasheet times are
//! divided by 1000 (`TIME_SCALE`) and SCK runs at clock / 2 so a 1 MiB image
//! takes seconds, not minutes; the command sequence is the real one.

use duplex_driver::bitstream::{build_bit, parse_bit, synthetic_config_data, Bitstream};
use duplex_driver::board::BoardProfile;
use duplex_driver::flash::{Flasher, Target};
use duplex_driver::inband::{sim_flash_model, CardFlash};
use duplex_driver::regs::Regs;
use duplex_driver::{Device, DriverError};
use duplex_regs::{flash, id, params};
use duplex_sim::SimConfig;
use duplex_tests::{pair, seed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TIME_SCALE: u64 = 1000;

fn profile(name: &str) -> BoardProfile {
    BoardProfile::load(&format!(
        "{}/../board-files/{name}/flash.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn sim_for(p: &BoardProfile) -> SimConfig {
    SimConfig {
        flash: sim_flash_model(p, TIME_SCALE),
        ..Default::default()
    }
}

fn image(p: &BoardProfile, len: usize, s: u64) -> Bitstream {
    let mut rng = ChaCha8Rng::seed_from_u64(s);
    let body: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    let part = duplex_driver::board::normalize_part(&p.fpga.part);
    let bit = build_bit(
        "duplex_top",
        &part,
        "2025/02/01",
        "10:00:00",
        &synthetic_config_data(&body),
    );
    parse_bit(&bit, "test.bit").unwrap()
}

fn quiet() -> impl FnMut(&str, u64, u64) {
    |_, _, _| {}
}

#[test]
fn one_mib_image_writes_verifies_and_reads_back_through_the_card() {
    let p = profile("acornCle215"); // 32 MiB, 4-byte addressing
    let (pair, a, _b) = pair(sim_for(&p));
    let img = image(&p, 1 << 20, seed(11));
    let access = CardFlash::open(&a, &p, false, Some(0)).unwrap();
    let mut f = Flasher::new(&p, access, false);
    f.write(&img, Target::Update, &mut quiet()).unwrap();
    let st = f.verify(Some(&img), Target::Update, &mut quiet()).unwrap();
    assert!(st.valid, "{}", st.reason);
    let back = f
        .read(p.update.offset, img.data.len() as u64, &mut quiet())
        .unwrap();
    assert!(back == img.data, "read back differs");
    let w = pair.world();
    let chip = w.flash(0).unwrap();
    let at = p.update.offset as usize;
    assert!(chip.contents()[at..at + img.data.len()] == img.data[..]);
    assert!(chip.contents()[..p.golden.end() as usize]
        .iter()
        .all(|&b| b == 0xFF));
    // The partner's flash is its own chip and untouched.
    assert_eq!(w.flash(1).unwrap().stats.programs, 0);
}

#[test]
fn golden_region_is_refused_by_the_driver_and_by_the_card() {
    let p = profile("kc705"); // 16 MiB, 3-byte addressing
    let (pair, a, _b) = pair(sim_for(&p));
    let img = image(&p, 64 << 10, seed(12));
    let access = CardFlash::open(&a, &p, false, Some(0)).unwrap();
    let mut f = Flasher::new(&p, access, false);
    let e = f.write(&img, Target::Golden, &mut quiet()).unwrap_err();
    assert!(matches!(e, DriverError::GoldenProtected { .. }), "{e}");
    assert!(e.to_string().contains("--force-golden"));
    // Below the driver: the FLASH block itself refuses a sector erase at 0.
    use duplex_driver::flash::FlashAccess;
    let e = f
        .access
        .erase(0, p.flash.sector_size, &mut quiet())
        .unwrap_err();
    assert!(matches!(e, DriverError::FlashRefused { .. }), "{e}");
    assert_eq!(pair.world().flash(0).unwrap().stats.erases, 0);
    // With --force-golden both let it through.
    let access = CardFlash::open(&a, &p, true, Some(0)).unwrap();
    let mut f = Flasher::new(&p, access, true);
    f.write(&img, Target::Golden, &mut quiet()).unwrap();
    assert!(pair.world().flash(0).unwrap().contents()[..img.data.len()] == img.data[..]);
}

#[test]
fn power_cut_while_programming_leaves_golden_intact_and_update_invalid() {
    let p = profile("kc705");
    let (pair, a, _b) = pair(sim_for(&p));
    let golden = image(&p, 96 << 10, seed(13));
    let mut chip = vec![0xFFu8; p.flash.size as usize];
    chip[..golden.data.len()].copy_from_slice(&golden.data);
    pair.world().flash_mut(0).unwrap().load(&chip);
    // A complete update first, then an interrupted one over it.
    let first = image(&p, 64 << 10, seed(14));
    {
        let access = CardFlash::open(&a, &p, false, Some(0)).unwrap();
        Flasher::new(&p, access, false)
            .write(&first, Target::Update, &mut quiet())
            .unwrap();
    }
    let second = image(&p, 256 << 10, seed(15));
    let cut_at = 100 << 10;
    let mut access = CardFlash::open(&a, &p, false, Some(0)).unwrap();
    let world = pair.clone();
    access.hook = Some(Box::new(move |done| {
        if done >= cut_at {
            world.world().power_cut(0)?;
            return Err(DriverError::Timeout {
                device: "sim:0".into(),
                what: "power (cut by the test)".into(),
                timeout: std::time::Duration::ZERO,
            });
        }
        Ok(())
    }));
    let mut f = Flasher::new(&p, access, false);
    assert!(f.write(&second, Target::Update, &mut quiet()).is_err());
    {
        let w = pair.world();
        assert_eq!(
            w.flash(0).unwrap().stats.torn,
            1,
            "the cut tore a page program"
        );
        assert!(w.flash(0).unwrap().contents()[..golden.data.len()] == golden.data[..]);
        assert_eq!(w.stats[0].resets, 1);
    }
    // After the card restarts, the update image reads invalid.
    let access = CardFlash::open(&a, &p, false, Some(0)).unwrap();
    let mut f = Flasher::new(&p, access, false);
    let st = f.update_status(&mut quiet()).unwrap();
    assert!(!st.valid);
    assert!(st.reason.contains("never completed"), "{}", st.reason);
    // The golden image still verifies.
    let mut g = Flasher::new(&p, CardFlash::open(&a, &p, false, Some(0)).unwrap(), false);
    assert!(
        g.verify(Some(&golden), Target::Golden, &mut quiet())
            .unwrap()
            .valid
    );
}

#[test]
fn boot_resets_the_card_and_it_answers_its_id_again() {
    let p = profile("kc705");
    let (pair, a, _b) = pair(sim_for(&p));
    let regs = Regs::new(&a);
    let access = CardFlash::open(&a, &p, false, Some(0)).unwrap();
    assert_eq!(regs.read(flash::CLK_DIV).unwrap(), 0);
    assert_eq!(access.boot().unwrap(), params::DESIGN_ID);
    assert_eq!(pair.world().stats[0].boots, 1);
    // The card came back from reset: its FLASH registers are at reset values.
    assert_eq!(regs.read(flash::CLK_DIV).unwrap(), flash::CLK_DIV.reset);
    assert_eq!(regs.read(flash::PROTECT_END).unwrap(), u32::MAX);
    assert_eq!(regs.read(id::DESIGN_ID).unwrap(), params::DESIGN_ID);
    assert_eq!(pair.world().stats[1].boots, 0);
    let _ = a.name();
}

#[test]
fn a_chip_that_is_not_the_profiles_is_refused() {
    let kc = profile("kc705");
    let acorn = profile("acornCle215");
    let (_pair, a, _b) = pair(sim_for(&kc));
    let e = CardFlash::open(&a, &acorn, false, Some(0)).err().unwrap();
    assert!(
        matches!(
            e,
            DriverError::JedecMismatch {
                found: 0x20BA18,
                ..
            }
        ),
        "{e}"
    );
}
