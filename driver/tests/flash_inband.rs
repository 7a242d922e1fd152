//! `duplexctl flash --device sim:0`: the in-band path end to end through the
//! CLI, with the co-simulated card's flash kept in a file between runs.

use duplex_driver::bitstream::{build_bit, synthetic_config_data};
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_duplexctl"))
        .args(args)
        .env(
            "DUPLEX_BOARD_FILES",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../board-files"),
        )
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn interrupted_write_is_reported_invalid_then_a_full_write_verifies_and_boots() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("flash-inband");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let body: Vec<u8> = (0..48 * 1024).map(|i| (i * 13 + 5) as u8).collect();
    let bit = dir.join("top.bit");
    std::fs::write(
        &bit,
        build_bit(
            "duplex_top",
            "7k325tffg900",
            "2025/02/01",
            "10:00:00",
            &synthetic_config_data(&body),
        ),
    )
    .unwrap();
    let chip = dir.join("card0.flash").display().to_string();
    let bit = bit.display().to_string();
    let dev = [
        "--device",
        "sim:0",
        "--board",
        "kc705",
        "--sim-flash",
        &chip,
    ];

    let o = run(&[
        &["flash", "write", &bit, "--sim-power-cut-after", "16384"],
        &dev[..],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("power"), "{}", err(&o));
    let o = run(&[&["flash", "verify"], &dev[..]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("update image: INVALID"));

    let o = run(&[&["flash", "write", &bit], &dev[..]].concat());
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("program"), "a progress bar on stderr");
    let o = run(&[&["flash", "verify", &bit, "--json"], &dev[..]].concat());
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);

    let o = run(&[&["flash", "erase", "--golden"], &dev[..]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("--force-golden"));
    let o = run(&[&["flash", "boot"], &dev[..]].concat());
    assert!(o.status.success(), "{}", err(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("answers its ID again"));
}
