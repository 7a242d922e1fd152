//! Builds the Verilated card models.
//!
//! For each data-path width in `WIDTHS`: rust-hdl emits the card's Verilog,
//! `verilator --cc` turns it into C++ (without `--build`: Verilator 5.006's
//! own make flow is not used), and the `cc` crate compiles the model, a C ABI
//! shim generated from the card's port list, and the Verilator runtime.
//! A Rust file with the port layout is generated beside it, so the harness
//! and the shim always agree with the hardware's ports. For the cards it also
//! holds one [`CardPorts`] table per width (ports by name, the model's entry
//! points), so the width is chosen when a world is created, not at compile
//! time; every width must have the same port names.

use duplex_hdl::{allocator_verilog, card_verilog, parse_ports, CardConfig, Port, PortDir};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Widths built into the co-simulation.
const WIDTHS: &[usize] = &[64, 128, 256, 512];
/// Stand-alone allocator builds (slot counts): a small one for exhaustive
/// checks and the largest one the allocator supports.
const ALLOCATORS: &[u32] = &[32, 65_536];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VERILATOR_ROOT");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let root = verilator_root();
    let cache = Cache::new(&out);
    let mut rust = String::new();
    let mut card_ports: Vec<(usize, Vec<Port>)> = Vec::new();
    for &w in WIDTHS {
        let verilog = card_verilog(w, CardConfig::default()).expect("card verilog");
        let doc = format!("{w}-bit card model");
        build_model(
            &out,
            &root,
            &cache,
            &format!("card{w}"),
            &verilog,
            &doc,
            &mut rust,
        );
        card_ports.push((w, parse_ports(&verilog)));
    }
    card_tables(&card_ports, &mut rust);
    for &n in ALLOCATORS {
        let verilog = allocator_verilog(n).expect("allocator verilog");
        let doc = format!("stand-alone {n}-slot allocator model");
        build_model(
            &out,
            &root,
            &cache,
            &format!("alloc{n}"),
            &verilog,
            &doc,
            &mut rust,
        );
    }
    std::fs::write(out.join("ports.rs"), rust).expect("write ports.rs");

    let rt_key = cache.key(&["verilated_runtime"]);
    if !cache.link(&out, "verilated_runtime", rt_key) {
        let mut rt = cc::Build::new();
        rt.cpp(true)
            .std("c++17")
            .opt_level(2)
            .warnings(false)
            .include(root.join("include"))
            .include(root.join("include/vltstd"))
            .file(root.join("include/verilated.cpp"))
            .file(root.join("include/verilated_vcd_c.cpp"))
            .file(root.join("include/verilated_threads.cpp"))
            .define("VM_TRACE", "1")
            .compile("verilated_runtime");
        cache.store(&out, "verilated_runtime", rt_key);
    }
    println!("cargo:rustc-link-lib=stdc++");
}

/// Compiled models kept across runs of this script, in
/// `<target>/<profile>/duplex-models/`, keyed by everything that goes into
/// them (the Verilog, the shim, this script, the Verilator and C++ compiler
/// versions). `cargo clippy` and `cargo test` run the script separately (the
/// lint wrapper changes its fingerprint); with the cache the second run links
/// the archives the first one built instead of Verilating and compiling
/// every model again.
struct Cache {
    dir: Option<PathBuf>,
    /// Versions of the tools and the script itself.
    tools: String,
}

impl Cache {
    fn new(out: &Path) -> Self {
        let version = |cmd: &str| {
            Command::new(cmd)
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
        let tools = format!(
            "{}{}{}{}",
            version("verilator"),
            version(&cxx),
            std::env::var("TARGET").unwrap_or_default(),
            include_str!("build.rs")
        );
        // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out.
        let dir = out.ancestors().nth(3).map(|p| p.join("duplex-models"));
        Cache { dir, tools }
    }

    /// FNV-1a over the tools and `parts`.
    fn key(&self, parts: &[&str]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in std::iter::once(self.tools.as_str()).chain(parts.iter().copied()) {
            for b in part.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }

    fn path(&self, lib: &str, key: u64) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(format!("lib{lib}-{key:016x}.a")))
    }

    /// Links the cached archive of `lib` if there is one.
    fn link(&self, out: &Path, lib: &str, key: u64) -> bool {
        let Some(cached) = self.path(lib, key).filter(|p| p.exists()) else {
            return false;
        };
        if std::fs::copy(&cached, out.join(format!("lib{lib}.a"))).is_err() {
            return false;
        }
        println!("cargo:rustc-link-search=native={}", out.display());
        println!("cargo:rustc-link-lib=static={lib}");
        true
    }

    /// Keeps the archive of `lib` just built (best effort: a failure only
    /// costs the next build its time).
    fn store(&self, out: &Path, lib: &str, key: u64) {
        let (Some(dir), Some(dst)) = (&self.dir, self.path(lib, key)) else {
            return;
        };
        let tmp = dir.join(format!(".lib{lib}-{key:016x}.{}", std::process::id()));
        let ok = std::fs::create_dir_all(dir).is_ok()
            && std::fs::copy(out.join(format!("lib{lib}.a")), &tmp).is_ok()
            && std::fs::rename(&tmp, &dst).is_ok();
        if !ok {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

fn verilator_root() -> PathBuf {
    if let Ok(r) = std::env::var("VERILATOR_ROOT") {
        return PathBuf::from(r);
    }
    let out = Command::new("verilator")
        .arg("--getenv")
        .arg("VERILATOR_ROOT")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string())
        }
        _ => panic!(
            "verilator not found: the co-simulation needs Verilator 5 \
             (apt-get install verilator), see README.md"
        ),
    }
}

fn words(width: usize) -> usize {
    width.div_ceil(32)
}

/// Verilog port name as a C++ member of the Verilated model (`$` is
/// mangled by Verilator) and as a Rust constant.
fn cpp_name(port: &str) -> String {
    port.replace('$', "__024")
}
fn rust_name(port: &str) -> String {
    port.replace('$', "_").to_uppercase()
}

fn build_model(
    out: &Path,
    root: &Path,
    cache: &Cache,
    name: &str,
    verilog: &str,
    doc: &str,
    rust: &mut String,
) {
    let prefix = format!("V{name}");
    let ports = parse_ports(verilog);
    let (inputs, outputs) = model_ports(&ports);
    let shim_text = shim_source(name, &prefix, &inputs, &outputs);
    port_layout(name, doc, &inputs, &outputs, rust);
    let lib = format!("{name}_model");
    let key = cache.key(&[name, verilog, &shim_text]);
    if cache.link(out, &lib, key) {
        return;
    }
    let vfile = out.join(format!("{name}.v"));
    std::fs::write(&vfile, verilog).expect("write verilog");
    let mdir = out.join(name);
    let _ = std::fs::remove_dir_all(&mdir);
    let status = Command::new("verilator")
        .args(["--cc", "--prefix", &prefix, "--top-module", "top"])
        .args(["-Wno-fatal", "-Wno-WIDTH", "-Wno-UNOPTFLAT"])
        .args(["--trace", "--x-assign", "0", "--x-initial", "0", "-O3"])
        .arg("-Mdir")
        .arg(&mdir)
        .arg(&vfile)
        .output()
        .expect("run verilator");
    if !status.status.success() {
        panic!(
            "verilator failed on {}:\n{}",
            vfile.display(),
            String::from_utf8_lossy(&status.stderr)
        );
    }

    let shim = out.join(format!("{name}_shim.cpp"));
    std::fs::write(&shim, &shim_text).expect("write shim");

    let mut b = cc::Build::new();
    b.cpp(true)
        .std("c++17")
        .opt_level(2)
        .warnings(false)
        .include(root.join("include"))
        .include(root.join("include/vltstd"))
        .include(&mdir)
        .define("VM_TRACE", "1")
        .file(&shim);
    let mut cpps: Vec<PathBuf> = std::fs::read_dir(&mdir)
        .expect("read verilator output")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    cpps.sort();
    for c in cpps {
        b.file(c);
    }
    b.compile(&lib);
    cache.store(out, &lib, key);
}

/// The port layout of model `name` for the Rust harness.
fn port_layout(name: &str, doc: &str, inputs: &[&Port], outputs: &[&Port], rust: &mut String) {
    let in_words: usize = inputs.iter().map(|p| words(p.width)).sum();
    let out_words: usize = outputs.iter().map(|p| words(p.width)).sum();
    writeln!(rust, "/// Port layout of the {doc}.").unwrap();
    writeln!(rust, "pub mod {name} {{").unwrap();
    writeln!(rust, "    use crate::model::Slot;").unwrap();
    writeln!(rust, "    pub const IN_WORDS: usize = {in_words};").unwrap();
    writeln!(rust, "    pub const OUT_WORDS: usize = {out_words};").unwrap();
    for (set, list) in [("input", &inputs), ("output", &outputs)] {
        writeln!(rust, "    pub mod {set} {{").unwrap();
        writeln!(rust, "        use super::Slot;").unwrap();
        let mut off = 0;
        for p in list.iter() {
            writeln!(
                rust,
                "        pub const {}: Slot = Slot {{ word: {off}, width: {} }};",
                rust_name(&p.name),
                p.width
            )
            .unwrap();
            off += words(p.width);
        }
        writeln!(rust, "    }}").unwrap();
    }
    writeln!(rust, "    unsafe extern \"C\" {{").unwrap();
    for f in [
        "pub fn {n}_new() -> *mut core::ffi::c_void;",
        "pub fn {n}_free(h: *mut core::ffi::c_void);",
        "pub fn {n}_cycle(h: *mut core::ffi::c_void, inp: *const u32, out: *mut u32);",
        "pub fn {n}_trace_open(h: *mut core::ffi::c_void, path: *const core::ffi::c_char) -> i32;",
    ] {
        writeln!(rust, "        {}", f.replace("{n}", name)).unwrap();
    }
    writeln!(rust, "    }}").unwrap();
    writeln!(rust, "}}").unwrap();
}

fn model_ports(ports: &[Port]) -> (Vec<&Port>, Vec<&Port>) {
    let inputs = ports
        .iter()
        .filter(|p| p.dir == PortDir::Input && p.name != "clock")
        .collect();
    let outputs = ports.iter().filter(|p| p.dir == PortDir::Output).collect();
    (inputs, outputs)
}

fn field_name(port: &str) -> String {
    port.replace('$', "_").to_lowercase()
}

/// The run-time port tables of the card builds: `CardInputs` / `CardOutputs`
/// name every port once (from the first width), and `CARD_PORTS` holds each
/// width's slots and entry points.
fn card_tables(cards: &[(usize, Vec<Port>)], rust: &mut String) {
    let (_, first) = &cards[0];
    let (fin, fout) = model_ports(first);
    for (w, ports) in cards {
        let (i, o) = model_ports(ports);
        let names = |v: &[&Port]| v.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert!(
            names(&i) == names(&fin) && names(&o) == names(&fout),
            "the {w}-bit card has other ports than the {}-bit one",
            cards[0].0
        );
    }
    for (ty, list, doc) in [
        ("CardInputs", &fin, "Input"),
        ("CardOutputs", &fout, "Output"),
    ] {
        writeln!(rust, "/// {doc} ports of a card model, by name.").unwrap();
        writeln!(rust, "#[derive(Clone, Copy, Debug)]").unwrap();
        writeln!(rust, "pub struct {ty} {{").unwrap();
        for p in list.iter() {
            writeln!(rust, "    pub {}: crate::model::Slot,", field_name(&p.name)).unwrap();
        }
        writeln!(rust, "}}").unwrap();
    }
    writeln!(
        rust,
        "/// One card build: its width, port layout and the C ABI of its model."
    )
    .unwrap();
    writeln!(rust, "pub struct CardPorts {{").unwrap();
    writeln!(rust, "    pub width_bits: usize,").unwrap();
    writeln!(rust, "    pub in_words: usize,").unwrap();
    writeln!(rust, "    pub out_words: usize,").unwrap();
    writeln!(rust, "    pub input: CardInputs,").unwrap();
    writeln!(rust, "    pub output: CardOutputs,").unwrap();
    writeln!(
        rust,
        "    pub new: unsafe extern \"C\" fn() -> *mut core::ffi::c_void,"
    )
    .unwrap();
    writeln!(
        rust,
        "    pub free: unsafe extern \"C\" fn(*mut core::ffi::c_void),"
    )
    .unwrap();
    writeln!(
        rust,
        "    pub cycle: unsafe extern \"C\" fn(*mut core::ffi::c_void, *const u32, *mut u32),"
    )
    .unwrap();
    writeln!(
        rust,
        "    pub trace_open: unsafe extern \"C\" fn(*mut core::ffi::c_void, *const core::ffi::c_char) -> i32,"
    )
    .unwrap();
    writeln!(rust, "}}").unwrap();
    writeln!(rust, "/// Every card build, narrowest first.").unwrap();
    writeln!(
        rust,
        "pub static CARD_PORTS: [CardPorts; {}] = [",
        cards.len()
    )
    .unwrap();
    for (w, _) in cards {
        let m = format!("card{w}");
        writeln!(rust, "    CardPorts {{").unwrap();
        writeln!(rust, "        width_bits: {w},").unwrap();
        writeln!(rust, "        in_words: {m}::IN_WORDS,").unwrap();
        writeln!(rust, "        out_words: {m}::OUT_WORDS,").unwrap();
        for (field, set, list) in [
            ("input", "CardInputs", &fin),
            ("output", "CardOutputs", &fout),
        ] {
            writeln!(rust, "        {field}: {set} {{").unwrap();
            for p in list.iter() {
                writeln!(
                    rust,
                    "            {}: {m}::{field}::{},",
                    field_name(&p.name),
                    rust_name(&p.name)
                )
                .unwrap();
            }
            writeln!(rust, "        }},").unwrap();
        }
        for f in ["new", "free", "cycle", "trace_open"] {
            writeln!(rust, "        {f}: {m}::{m}_{f},").unwrap();
        }
        writeln!(rust, "    }},").unwrap();
    }
    writeln!(rust, "];").unwrap();
}

/// C++ for one card model: a handle with its own VerilatedContext, one call
/// per clock cycle that takes every input and returns every output packed in
/// 32-bit words (port order of the Verilog), and optional VCD tracing.
fn shim_source(name: &str, prefix: &str, inputs: &[&Port], outputs: &[&Port]) -> String {
    let mut s = String::new();
    writeln!(s, "#include \"{prefix}.h\"").unwrap();
    writeln!(s, "#include \"verilated.h\"").unwrap();
    writeln!(s, "#include \"verilated_vcd_c.h\"").unwrap();
    writeln!(s, "#include <cstdint>").unwrap();
    writeln!(
        s,
        "struct H {{ VerilatedContext* ctx; {prefix}* m; VerilatedVcdC* tfp; uint64_t t; }};"
    )
    .unwrap();
    writeln!(s, "extern \"C\" void* {name}_new() {{").unwrap();
    writeln!(
        s,
        "  H* h = new H; h->ctx = new VerilatedContext; h->ctx->traceEverOn(true);"
    )
    .unwrap();
    writeln!(
        s,
        "  h->m = new {prefix}(h->ctx, \"top\"); h->tfp = nullptr; h->t = 0;"
    )
    .unwrap();
    writeln!(s, "  h->m->clock = 0; h->m->eval(); return h; }}").unwrap();
    writeln!(s, "extern \"C\" void {name}_free(void* p) {{ H* h = (H*)p;").unwrap();
    writeln!(s, "  if (h->tfp) {{ h->tfp->close(); delete h->tfp; }}").unwrap();
    writeln!(
        s,
        "  h->m->final(); delete h->m; delete h->ctx; delete h; }}"
    )
    .unwrap();
    writeln!(
        s,
        "extern \"C\" int {name}_trace_open(void* p, const char* path) {{ H* h = (H*)p;"
    )
    .unwrap();
    writeln!(
        s,
        "  if (h->tfp) return -1; h->tfp = new VerilatedVcdC; h->m->trace(h->tfp, 99);"
    )
    .unwrap();
    writeln!(
        s,
        "  h->tfp->open(path); return h->tfp->isOpen() ? 0 : -1; }}"
    )
    .unwrap();
    writeln!(
        s,
        "extern \"C\" void {name}_cycle(void* p, const uint32_t* in, uint32_t* out) {{"
    )
    .unwrap();
    writeln!(s, "  H* h = (H*)p; {prefix}* m = h->m;").unwrap();
    let mut off = 0;
    for p in inputs {
        let n = words(p.width);
        if p.width <= 32 {
            writeln!(s, "  m->{} = in[{off}];", cpp_name(&p.name)).unwrap();
        } else if p.width <= 64 {
            writeln!(
                s,
                "  m->{} = (uint64_t)in[{off}] | ((uint64_t)in[{}] << 32);",
                cpp_name(&p.name),
                off + 1
            )
            .unwrap();
        } else {
            writeln!(
                s,
                "  for (int i = 0; i < {n}; i++) m->{}[i] = in[{off} + i];",
                cpp_name(&p.name)
            )
            .unwrap();
        }
        off += n;
    }
    writeln!(
        s,
        "  m->clock = 0; m->eval(); if (h->tfp) h->tfp->dump(h->t); h->t += 2;"
    )
    .unwrap();
    let mut off = 0;
    for p in outputs {
        let n = words(p.width);
        if p.width <= 32 {
            writeln!(s, "  out[{off}] = m->{};", cpp_name(&p.name)).unwrap();
        } else if p.width <= 64 {
            writeln!(
                s,
                "  out[{off}] = (uint32_t)m->{n}; out[{}] = (uint32_t)(m->{n} >> 32);",
                off + 1,
                n = cpp_name(&p.name)
            )
            .unwrap();
        } else {
            writeln!(
                s,
                "  for (int i = 0; i < {n}; i++) out[{off} + i] = m->{}[i];",
                cpp_name(&p.name)
            )
            .unwrap();
        }
        off += n;
    }
    writeln!(
        s,
        "  m->clock = 1; m->eval(); if (h->tfp) h->tfp->dump(h->t - 1);"
    )
    .unwrap();
    writeln!(s, "}}").unwrap();
    s
}
