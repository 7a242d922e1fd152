//! Formal checks of the mirror-slot allocator ([`crate::slot_allocator`])
//! with Yosys 0.23 `sat`, on the 32-slot build (`allocator_verilog(32)`,
//! any active count N = 1..=32).
//!
//! ```text
//!  formal_top (wrapper)                          top (allocator, patched copy)
//!  ┌──────────────────────────────────┐          ┌──────────────────────────────┐
//!  │ free inputs: dma_req_*, wr_*  ───┼─────────►│ S0 ─► S1 ─► S2 ─► dma_rsp_*  │
//!  │ held[32], held list, allocated:  │◄─────────┼─ responses (status/count/    │
//!  │   +slots of OK allocs, -OK frees │          │  slots; s2_valid, s2_slot)   │
//!  │ checks w_chk (properties 1-3)    ├─ held ──►│ checks f_chk (invariants)    │
//!  │ ok_all, ok_<group>: proven       │◄─ f_chk ─┤ RAMs expose contents (f_mem) │
//!  └──────────────────────────────────┘          │                              │
//!                                                └──────────────────────────────┘
//! ```
//!
//! # What is checked
//!
//! The wrapper keeps a shadow bitmap `held` of the slots the requesters
//! hold: it sets the slots of every OK alloc response and clears the slot of
//! every OK free response, from either requester (the DMA port, and the
//! software OP register, whose result is the same S2 response latched into
//! RESULT), and counts `allocated`: slots handed out by OK allocs minus
//! slots given back by OK frees. Inputs are unconstrained: `dma_req_*` and
//! the register write port (OP, SLOTS, CLEAR, ERRORS, …) every cycle,
//! except that CTRL.INIT may only be written while the block is neither
//! ready nor initialising (so no forced re-init). The register read port is
//! tied to FREE_COUNT.
//!
//! * **Property 1** (no slot handed out twice while allocated): every slot
//!   of an OK alloc response is `< N`, not held, and different from the
//!   other slots of the same response.
//! * **Property 2** (free count + allocated count = N): when ready,
//!   FREE_COUNT (as read on the register port) `+ allocated + k == N`, where
//!   k is the count of an OK alloc being answered this cycle (its slots are
//!   already off the stack, not yet handed out). ALLOC_COUNT is
//!   `N - FREE_COUNT` by construction.
//! * **Property 3**: an OK free gives back a slot that is held (so, with
//!   property 1, `allocated` is the number of held slots: the held list
//!   below checks it slot by slot).
//! * Every DMA request is answered exactly two cycles later, and a free's
//!   answer is about the slot that was asked for.
//! * The strengthening invariants (one bit of `f_chk`/`w_chk` each, in
//!   [`Group`]s): the wrapper's held *list* (`hlist[0..allocated)` with
//!   positions `hpos`, a sparse set) holds exactly the bitmap's slots, so a
//!   held slot implies `allocated > 0` without counting bits (counting is
//!   what SAT solvers handle worst: a popcount invariant never finished);
//!   `allocated + T' == N` with T' = T + k; stack positions below the
//!   low-water mark L* still hold their initial slot `N-1-q`; positions
//!   `L*..T'` hold slots `< N - L*` and satisfy the sparse-set link
//!   `pos[stack[q]] == q` (which makes the free slots distinct without
//!   comparing pairs); every slot `< N` is held or on the stack, never both;
//!   the forwarding registers c1/c2 and the memory reads in flight agree
//!   with memory; an OK alloc in S2 answers exactly the slots at positions
//!   `T'-1, T'-2, …`; before and during init nothing is held or pushed and
//!   every operation is refused, and the banks below `init_addr` hold their
//!   initial slots. (L* is L, or for an OK alloc being answered the mark
//!   before it reserved its slots, kept in the ghost register `f_low1`.)
//!
//! # Decomposed induction
//!
//! One induction step over all ~1,400 checks at once does not finish in
//! reasonable time. The checks are therefore proven a [`Group`] at a time,
//! in the order of [`GROUPS`]: `ok_<group>` says "the group holds in every
//! cycle in which every check held the cycle before (`okp`) and the earlier
//! groups hold now", and each `ok_<group>` is proven by a length-1
//! induction from reset ([`ProofMode::Group`]). If every group is proven,
//! every check holds in every reachable state: in the first checked cycle
//! `okp` is set by reset, and in any cycle where all checks held the cycle
//! before, the groups hold one after the other.
//!
//! # What is proven, and what is not
//!
//! * **Bounded, default test**: from *any* freshly initialised state
//!   (assumed: ready, T = L = N for any N in 1..=32, the stack as init leaves
//!   it, `pos` arbitrary, pipeline and forwarding registers empty, nothing
//!   held; no power-up values assumed for any register), every check holds
//!   for the first [`BOUNDED_DEPTH`] = 3 cycles (`sat -tempinduct
//!   -tempinduct-baseonly -maxsteps 3`).
//! * **Unbounded**: [`prove_allocator_inductive`] (the ignored test
//!   `allocator_invariants_are_inductive`) runs every group. **The
//!   unbounded result is not yet established**: Control, Stack, Link,
//!   Forwarding and Answer are proven (1.5 to 4.5 minutes each on a shared
//!   2-core machine); Shadow and Partition did not finish within 25
//!   minutes, Properties within 19 (Partition restricted to slot 0 is
//!   proven in 5 minutes, so finer groups, one per slot, are the next
//!   step).
//! * **Not vacuous**: with the c1 forwarding disabled
//!   ([`Mutation::NoForwardingFromC1`]) the Properties group fails one step
//!   after a state that satisfies every check (a double free of a slot
//!   pushed the cycle before is accepted: an OK free of a slot not held),
//!   and with the alloc pointer off by one
//!   ([`Mutation::AllocPointerOffByOne`]) the bounded check fails at cycle 3.
//!
//! Run: `cargo test -p duplex-hdl formal` (about 2-3 minutes on 2 shared
//! cores); the decomposed induction: `cargo test -p duplex-hdl formal --
//! --ignored`. `DUPLEX_FORMAL_DIR=dir` keeps each run's `proof.v` and Yosys
//! log there.
//! The Yosys command is [`proof_script`]; the Verilog is
//! [`allocator_proof_verilog`].

use crate::{allocator_verilog, HdlError, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Slots of the build the checks run on (the smallest allocator build).
pub const PROOF_MAX_SLOTS: u32 = 32;

/// Cycles the bounded check covers from an initialised allocator.
pub const BOUNDED_DEPTH: u32 = 3;

const SB: usize = 5;
const MAX: usize = 1 << SB;
const BANKS: usize = 16;
const DEPTH: usize = MAX / BANKS;
const RAM_PORTS: &str =
    "(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable)";

/// The error for generated Verilog that no longer has the shape the proof
/// patches.
fn verilog_changed(what: &str) -> HdlError {
    HdlError::ToolFailed {
        tool: "formal",
        log: format!("generated Verilog changed: {what}"),
    }
}

/// Replaces `from` by `to` in `text`, failing unless `from` occurs exactly once.
fn replace_once(text: &str, from: &str, to: &str) -> Result<String> {
    if text.matches(from).count() != 1 {
        return Err(verilog_changed(&format!("`{from}` is not unique")));
    }
    Ok(text.replacen(from, to, 1))
}

/// Gives RAM module `name` (depth `depth`) an output `f_mem` with its whole
/// contents, entry i at bits 16i.., and connects it to `wire` in `top`.
fn tap_ram(v: &str, name: &str, depth: usize, wire: &str) -> Result<String> {
    let head = format!("module top${name}{RAM_PORTS};");
    let decl = format!("reg[15:0] mem[{}:0];", depth - 1);
    let start = v
        .find(&head)
        .ok_or_else(|| verilog_changed(&format!("no module top${name}")))?;
    let end = start
        + v[start..]
            .find("endmodule")
            .ok_or_else(|| verilog_changed(&format!("top${name} has no end")))?;
    let mut body = v[start..end].to_string();
    body = replace_once(
        &body,
        &head,
        &format!(
            "module top${name}{},f_mem);",
            RAM_PORTS.trim_end_matches(')')
        ),
    )?;
    let mut tap = format!("{decl}\n    output wire [{}:0] f_mem;\n", 16 * depth - 1);
    for i in 0..depth {
        let _ = writeln!(
            tap,
            "    assign f_mem[{}:{}] = mem[{i}];",
            16 * i + 15,
            16 * i
        );
    }
    body = replace_once(&body, &decl, &tap)?;
    let mut out = String::with_capacity(v.len() + 4096);
    out.push_str(&v[..start]);
    out.push_str(&body);
    out.push_str(&v[end..]);
    let inst = format!(".write_enable({name}$write_enable)");
    replace_once(&out, &inst, &format!("{inst},\n        .f_mem({wire})"))
}

/// The allocator with its memories and a few internals tapped, the
/// strengthening invariants added inside `top`, and the wrapper
/// `formal_top` that drives it and keeps the shadow `held` bitmap.
pub fn allocator_proof_verilog(mutate: Option<Mutation>, from: Start) -> Result<String> {
    let mut v = allocator_verilog(PROOF_MAX_SLOTS)?;
    for b in 0..BANKS {
        v = tap_ram(&v, &format!("bank${b}"), DEPTH, &format!("f_mem_bank${b}"))?;
    }
    v = tap_ram(&v, "pos", MAX, "f_mem_pos")?;
    v = add_top_ports(&v, TAP_PORTS)?;
    let (inv, checks) = invariants();
    v = replace_once(
        &v,
        "\nendmodule // top\n",
        &format!("\n{inv}\nendmodule // top\n"),
    )?;
    v = without_power_up_values(&v);
    if let Some(m) = mutate {
        v = m.apply(&v)?;
    }
    v.push_str(&wrapper(from, &checks));
    Ok(v)
}

/// The ports the proof adds to `top` (declared in [`invariants`]).
const TAP_PORTS: &str = "f_chk,f_start,f_held,f_alloc_n,f_ready,f_init_busy,f_n_act,f_rsp_any,\
     f_rsp_req_slot,f_s1_dma,f_s1_free_req,f_s1_slot,f_s2_free_req";

/// Appends `ports` to the port list of module `top` (`module top(a,b,...);`),
/// whatever ports the generated block has.
fn add_top_ports(v: &str, ports: &str) -> Result<String> {
    let start = v
        .find("\nmodule top(")
        .ok_or_else(|| verilog_changed("no module top"))?;
    let close = start
        + v[start..]
            .find(");")
            .ok_or_else(|| verilog_changed("module top has no port list"))?;
    Ok(format!("{},{ports}{}", &v[..close], &v[close..]))
}

/// Drops the `initial` blocks rust-hdl gives every register, so that the
/// checks assume nothing about power-up values.
fn without_power_up_values(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut skip = 0;
    for line in v.lines() {
        if line.trim() == "initial begin" {
            skip = 3;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Where the checked runs begin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Reset in the first cycle; init is then done through the register port.
    Reset,
    /// The state right after an init of any N in 1..=MAX (assumed).
    Initialised,
}

/// A deliberate bug, to show the proof is not vacuous.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// The S2 free ignores the push of the previous cycle (forwarding
    /// register c1), so freeing a slot freed one cycle earlier is accepted.
    NoForwardingFromC1,
    /// An alloc takes its slots starting one position above the top of the
    /// stack.
    AllocPointerOffByOne,
}

impl Mutation {
    fn apply(self, v: &str) -> Result<String> {
        match self {
            Mutation::NoForwardingFromC1 => replace_once(
                v,
                "if (c1_valid$q && (c1_slot$q == s2_slot$q)) begin",
                "if (1'b0 && c1_valid$q && (c1_slot$q == s2_slot$q)) begin",
            ),
            Mutation::AllocPointerOffByOne => {
                replace_once(v, "u_alloc = c_max - t_mid;", "u_alloc = c_max1 - t_mid;")
            }
        }
    }
}

/// Stack position q sits at physical index u = MAX-1-q: bank u % 16,
/// address u / 16.
fn phys(u: usize) -> String {
    let (b, a) = (u % BANKS, u / BANKS);
    format!("f_mem_bank${b}[{}:{}]", 16 * a + 15, 16 * a)
}

fn invariants() -> (String, Checks) {
    let m = MAX;
    let lo = SB - 1;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    // ---- Formal: taps and strengthening invariants
    input wire f_start;
    input wire [{mm}:0] f_held;
    input wire [16:0] f_alloc_n;
    output wire f_ready;
    output wire f_init_busy;
    output wire [16:0] f_n_act;
    output wire f_rsp_any;
    output wire [15:0] f_rsp_req_slot;
    output wire f_s1_dma;
    output wire f_s1_free_req;
    output wire [15:0] f_s1_slot;
    output wire f_s2_free_req;
    wire [{w}:0] f_mem_bank$0, f_mem_bank$1, f_mem_bank$2, f_mem_bank$3,
        f_mem_bank$4, f_mem_bank$5, f_mem_bank$6, f_mem_bank$7,
        f_mem_bank$8, f_mem_bank$9, f_mem_bank$10, f_mem_bank$11,
        f_mem_bank$12, f_mem_bank$13, f_mem_bank$14, f_mem_bank$15;
    wire [{pw}:0] f_mem_pos;
    assign f_ready = ready$q;
    assign f_init_busy = init_busy$q;
    assign f_n_act = n_act$q;
    assign f_rsp_any = s2_valid$q;
    assign f_rsp_req_slot = s2_slot$q;
    assign f_s1_dma = s1_valid$q && !s1_sw$q;
    assign f_s1_free_req = s1_free$q;
    assign f_s1_slot = s1_slot$q;
    assign f_s2_free_req = s2_free$q;
    // Physical stack (index u) and stack by position (q = MAX-1-u).
    wire [{pw}:0] f_phys;
    wire [{pw}:0] f_stack;",
        mm = m - 1,
        w = 16 * DEPTH - 1,
        pw = 16 * m - 1
    );
    let _ = writeln!(
        s,
        "    function [15:0] f_sel(input [{}:0] v, input [{lo}:0] i);\n        case (i)",
        16 * m - 1
    );
    for i in 0..m {
        let _ = writeln!(s, "            {i}: f_sel = v[{}:{}];", 16 * i + 15, 16 * i);
    }
    s.push_str("        endcase\n    endfunction\n");
    for u in 0..m {
        let _ = writeln!(
            s,
            "    assign f_phys[{}:{}] = {};",
            16 * u + 15,
            16 * u,
            phys(u)
        );
        let q = m - 1 - u;
        let _ = writeln!(
            s,
            "    assign f_stack[{}:{}] = {};",
            16 * q + 15,
            16 * q,
            phys(u)
        );
    }
    let _ = writeln!(
        s,
        "    wire f_s2_ok_alloc = s2_valid$q && !s2_free$q && (s2_status$q == 0);
    wire f_s2_free = s2_valid$q && s2_free$q && (s2_status$q == 0);
    wire f_s1_free = s1_valid$q && s1_free$q && (s1_rej$q == 0);
    wire [16:0] f_k = f_s2_ok_alloc ? {{12'd0, s2_count$q}} : 17'd0;
    wire [16:0] f_tp = t$q + f_k;
    wire [16:0] f_n = n_act$q;
    wire [15:0] f_first = n_act$q - {m};
    wire [15:0] f_init_val = f_first + 16*init_addr$q;
    // Ghost: the low-water mark one cycle ago. For an OK alloc in S2 that is
    // the mark before the alloc reserved its slots, so L* below is the mark
    // the reserved positions T..T' are still described by.
    reg [16:0] f_low1;
    always @(posedge clock) f_low1 <= low$q;
    wire [16:0] f_ls = f_s2_ok_alloc ? f_low1 : low$q;
    wire [16:0] f_never_s = n_act$q - f_ls;
    wire [15:0] f_P_c1 = f_sel(f_mem_pos, c1_slot$q[{lo}:0]);
    wire [15:0] f_P_c2 = f_sel(f_mem_pos, c2_slot$q[{lo}:0]);
    wire [15:0] f_S_c1 = f_sel(f_stack, c1_pos$q[{lo}:0]);
    wire [15:0] f_S_c2 = f_sel(f_stack, c2_pos$q[{lo}:0]);
    wire [15:0] f_P_s1 = f_sel(f_mem_pos, s1_slot$q[{lo}:0]);
    wire [15:0] f_P_s2 = f_sel(f_mem_pos, s2_slot$q[{lo}:0]);
    wire [{lo}:0] f_u2 = {m1} - s2_p$q[{lo}:0];
    wire [15:0] f_phys_u2 = f_sel(f_phys, f_u2);
",
        m1 = m - 1
    );
    let mut c = Checks::new(Group::Control);
    // Accepted allocs ask for 1..=16 slots.
    c.add(
        "s1_valid$q && !s1_free$q && s1_rej$q == 0",
        "s1_count$q >= 1 && s1_count$q <= 16",
    );
    c.add("f_s2_ok_alloc", "s2_count$q >= 1 && s2_count$q <= 16");
    // Before init: nothing held, nothing pushed, every operation refused.
    let idle = "!ready$q";
    c.add(idle, "f_held == 0");
    c.add(idle, "!c1_valid$q && !c2_valid$q");
    c.add(idle, "!s1_valid$q || s1_rej$q != 0");
    c.add(idle, "!s2_valid$q || s2_status$q != 0");
    // Init: the banks below init_addr hold their initial slots.
    let busy = "init_busy$q";
    c.add(busy, "!ready$q");
    c.add(busy, &format!("n_act$q >= 1 && n_act$q <= {m}"));
    c.add(busy, "init_val$q == f_init_val");
    for a in 0..DEPTH {
        for b in 0..BANKS {
            let u = a * BANKS + b;
            c.add(
                &format!("{busy} && init_addr$q > {a}"),
                &format!("{} == f_first + 16'd{u}", phys(u)),
            );
        }
    }
    // Ready: the stack, pos, the forwarding registers and the reads in
    // flight agree with each other and with the shadow bitmap.
    let rdy = "ready$q";
    c.add(rdy, "!init_busy$q");
    c.add(rdy, &format!("n_act$q >= 1 && n_act$q <= {m}"));
    c.add(rdy, "low$q <= t$q && t$q <= n_act$q && f_tp <= n_act$q");
    c.add(
        &format!("{rdy} && f_s2_ok_alloc"),
        "f_low1 <= f_tp && low$q == (f_low1 < t$q ? f_low1 : t$q)",
    );
    c.add(rdy, "f_alloc_n + f_tp == n_act$q");
    c.add(idle, "f_alloc_n == 0");
    c.add(rdy, "(f_held >> n_act$q) == 0");
    c.group = Group::Forwarding;
    let c1 = format!("{rdy} && c1_valid$q");
    c.add(&c1, "c1_slot$q < n_act$q && c1_pos$q < n_act$q");
    c.add(&c1, "f_P_c1 == c1_pos$q");
    c.add(&c1, "f_S_c1 == c1_slot$q");
    let c2 = format!("{rdy} && c2_valid$q");
    c.add(&c2, "c2_slot$q < n_act$q && c2_pos$q < n_act$q");
    c.add(
        &c2,
        "(c1_valid$q && c1_slot$q == c2_slot$q) || f_P_c2 == c2_pos$q",
    );
    c.add(
        &c2,
        "(c1_valid$q && c1_pos$q == c2_pos$q) || f_S_c2 == c2_slot$q",
    );
    let s1 = format!("{rdy} && f_s1_free");
    c.add(&s1, "s1_slot$q < n_act$q");
    c.add(
        &format!("{s1} && !(c1_valid$q && c1_slot$q == s1_slot$q)"),
        "pos$read_data == f_P_s1",
    );
    let s2 = format!("{rdy} && f_s2_free");
    c.add(&s2, "s2_slot$q < n_act$q");
    c.add(&s2, "s2_fbank$q == f_u2[3:0]");
    c.add(
        &format!(
            "{s2} && !(c1_valid$q && c1_slot$q == s2_slot$q) && !(c2_valid$q && c2_slot$q == s2_slot$q)"
        ),
        "s2_p$q == f_P_s2",
    );
    c.add(
        &format!("{s2} && !(c1_valid$q && c1_pos$q[{lo}:0] == s2_p$q[{lo}:0])"),
        "f_d == (f_phys_u2 == s2_slot$q)",
    );
    // Positions 0..T' (T' = T + k of an OK alloc being answered): below L*
    // the initial slots N-1-q, from L* up slots < N - L*, each linked to
    // its position through pos (f_live: the linked positions; f_hit_s: the
    // positions that hold slot s). The link makes the slots distinct (two
    // equal slots would have the same position) without comparing pairs.
    c.group = Group::Stack;
    let _ = writeln!(s, "    wire [{mm}:0] f_live;", mm = m - 1);
    for q in 0..m {
        let sq = format!("f_stack[{}:{}]", 16 * q + 15, 16 * q);
        let _ = writeln!(s, "    assign f_live[{q}] = {q} >= f_ls && {q} < f_tp;");
        c.add(
            &format!("{rdy} && {q} < f_ls"),
            &format!("{sq} == n_act$q - {}", q + 1),
        );
        c.add(&format!("{rdy} && {q} < f_tp"), &format!("{sq} < n_act$q"));
        c.add(
            &format!("{rdy} && f_live[{q}]"),
            &format!("{sq} < f_never_s"),
        );
    }
    for sl in 0..m {
        let _ = writeln!(s, "    wire [{mm}:0] f_hit_{sl};", mm = m - 1);
        for q in 0..m {
            let _ = writeln!(
                s,
                "    assign f_hit_{sl}[{q}] = f_stack[{}:{}] == {sl};",
                16 * q + 15,
                16 * q
            );
            c.group = Group::Link;
            c.add(
                &format!("{rdy} && f_live[{q}] && f_hit_{sl}[{q}]"),
                &format!("f_mem_pos[{}:{}] == {q}", 16 * sl + 15, 16 * sl),
            );
        }
        // Every slot < N is either held or on the stack below T', never
        // both (below L* it sits at its initial position N-1-s).
        c.group = Group::Partition;
        c.add(
            &format!("{rdy} && {sl} < n_act$q"),
            &format!("f_held[{sl}] == !({sl} >= f_never_s || |(f_live & f_hit_{sl}))"),
        );
    }
    c.group = Group::Answer;
    for j in 0..BANKS {
        c.add(
            &format!("{rdy} && f_s2_ok_alloc && {j} < s2_count$q"),
            &format!(
                "slots_out[{}:{}] == f_sel(f_stack, f_tp[{lo}:0] - {})",
                16 * j + 15,
                16 * j,
                j + 1
            ),
        );
    }
    let _ = writeln!(s, "    output wire [{}:0] f_chk;", c.items.len() - 1);
    s.push_str(&c.emit("f_chk"));
    // The state right after an init of N slots (N = 1..=MAX): used as the
    // start state of the bounded check (pos stays arbitrary, as after init).
    let mut start = format!(
        "    always @(*) if (f_start) begin
        assume(ready$q && !init_busy$q && n_act$q >= 1 && n_act$q <= {m});
        assume(t$q == n_act$q && low$q == n_act$q);
        assume(!s1_valid$q && !s2_valid$q && !c1_valid$q && !c2_valid$q);
        assume(!sw_pend$q && !sw_busy$q);
"
    );
    for u in 0..m {
        let _ = writeln!(start, "        assume({} == f_first + 16'd{u});", phys(u));
    }
    start.push_str("    end\n");
    s.push_str(&start);
    (s, c)
}

/// Checked conditions, each `guard -> expr` in a [`Group`], emitted as one
/// bit of a check vector (so a counterexample shows which one failed).
struct Checks {
    items: Vec<(Group, String, String)>,
    group: Group,
}

impl Checks {
    fn new(group: Group) -> Self {
        Self {
            items: Vec::new(),
            group,
        }
    }

    fn add(&mut self, guard: &str, expr: &str) {
        self.items
            .push((self.group, guard.to_string(), expr.to_string()));
    }

    /// The assignments of vector `name` (declared by the caller).
    fn emit(&self, name: &str) -> String {
        let mut s = String::new();
        for (i, (_, g, e)) in self.items.iter().enumerate() {
            let _ = writeln!(s, "    assign {name}[{i}] = !({g}) || ({e});");
        }
        s
    }

    /// A binary literal with bit i set where check i is in `group`.
    fn mask(&self, group: Group) -> String {
        self.items
            .iter()
            .rev()
            .map(|(g, _, _)| if *g == group { '1' } else { '0' })
            .collect()
    }

    /// The indices of the checks in `group`.
    fn indices(&self, group: Group) -> Vec<usize> {
        (0..self.items.len())
            .filter(|&i| self.items[i].0 == group)
            .collect()
    }
}

/// The checks, in groups, in the order the decomposed induction proves
/// them: each group one cycle on, assuming every check in the cycle before
/// and the earlier groups in the same cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// The held list agrees with the shadow bitmap.
    Shadow,
    /// Requests and responses at the ports, init, and the counters (T, the
    /// low-water mark L, N, the allocated count).
    Control,
    /// What the stack holds: the initial slots below L*, slots < N.
    Stack,
    /// The sparse-set link `pos[stack[q]] == q` above L*.
    Link,
    /// The forwarding registers and the memory reads in flight.
    Forwarding,
    /// Every slot < N is held or on the free list, never both.
    Partition,
    /// An OK alloc answers the slots at the top of the stack.
    Answer,
    /// Properties 1, 2 and 3 at the ports.
    Properties,
}

impl Group {
    /// The group's name in the proof Verilog (`ok_<name>`, `g_<name>`).
    pub fn name(self) -> String {
        format!("{self:?}").to_lowercase()
    }

    /// How many obligations the group's checks are split into (contiguous
    /// runs of its checks, in the order they were added): one per slot for
    /// the per-slot groups, so each SAT problem stays small.
    pub fn slices(self) -> usize {
        match self {
            Group::Shadow | Group::Partition => MAX,
            _ => 1,
        }
    }

    /// Time frames of the group's obligation: 2 when it needs the cycle
    /// before (an induction step), 1 when it follows from the earlier groups
    /// in the same cycle (registers free, no transition: half the problem).
    pub fn frames(self) -> u32 {
        match self {
            Group::Properties => 1,
            _ => 2,
        }
    }
}

/// One proof obligation of the decomposed induction: slice `slice` (of
/// [`Group::slices`]) of a group's checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Obligation {
    pub group: Group,
    pub slice: usize,
}

impl Obligation {
    /// The whole group (its slices together; for small groups the only
    /// obligation).
    pub fn whole(group: Group) -> Self {
        Obligation {
            group,
            slice: usize::MAX,
        }
    }

    /// The name of its `ok_` wire in the proof Verilog.
    pub fn name(self) -> String {
        if self.slice == usize::MAX {
            self.group.name()
        } else {
            format!("{}_{}", self.group.name(), self.slice)
        }
    }
}

/// Every obligation of the unbounded proof, in proof order.
pub fn obligations() -> Vec<Obligation> {
    GROUPS
        .iter()
        .flat_map(|&g| {
            let n = g.slices();
            (0..n).map(move |i| {
                if n == 1 {
                    Obligation::whole(g)
                } else {
                    Obligation { group: g, slice: i }
                }
            })
        })
        .collect()
}

/// Every group, in proof order.
pub const GROUPS: [Group; 8] = [
    Group::Shadow,
    Group::Control,
    Group::Stack,
    Group::Link,
    Group::Forwarding,
    Group::Partition,
    Group::Answer,
    Group::Properties,
];

fn wrapper(from: Start, inner: &Checks) -> String {
    let (en, start, reset_rule) = match from {
        Start::Reset => ("past_valid", "1'b0", "assume(reset == !past_valid);"),
        Start::Initialised => (
            "1'b1",
            "!past_valid",
            "assume(!reset);\n        if (!past_valid) assume(held == 0 && allocated == 0 && !w1_valid && !w2_valid);",
        ),
    };
    let m = MAX;
    let lo = SB - 1;
    let mut s = format!(
        "
// Formal wrapper: drives the allocator from unconstrained inputs and keeps
// the shadow bitmap of slots held by the requesters.
module formal_top(
    input wire clock,
    input wire reset,
    input wire wr_en,
    input wire [5:0] wr_word,
    input wire [31:0] wr_data,
    input wire dma_req_valid,
    input wire dma_req_free,
    input wire [4:0] dma_req_count,
    input wire [15:0] dma_req_slot
);
    wire wr_hit, rd_hit, dma_req_ready, dma_rsp_valid, error_event;
    wire [31:0] rd_data;
    wire [3:0] dma_rsp_status;
    wire [4:0] dma_rsp_count;
    wire [255:0] dma_rsp_slots;
    wire f_ready, f_init_busy, f_rsp_any, f_s1_dma, f_s1_free_req, f_s2_free_req;
    wire [15:0] f_s1_slot;
    wire [16:0] f_n_act;
    wire [15:0] f_rsp_req_slot;
    wire [{nf}:0] f_chk;
    reg [{mm}:0] held;
    reg [16:0] allocated;
    reg past_valid;
    initial past_valid = 1'b0;
    always @(posedge clock) past_valid <= 1'b1;
    top dut(
        .clock(clock), .reset(reset),
        .regs$wr_en(wr_en), .regs$wr_word(wr_word), .regs$wr_data(wr_data),
        .regs$wr_hit(wr_hit), .regs$rd_word(6'd{fc}), .regs$rd_data(rd_data),
        .regs$rd_hit(rd_hit),
        .dma_req_valid(dma_req_valid), .dma_req_ready(dma_req_ready),
        .dma_req_free(dma_req_free), .dma_req_count(dma_req_count),
        .dma_req_slot(dma_req_slot),
        .dma_rsp_valid(dma_rsp_valid), .dma_rsp_status(dma_rsp_status),
        .dma_rsp_count(dma_rsp_count), .dma_rsp_slots(dma_rsp_slots),
        .error_event(error_event),
        .f_chk(f_chk), .f_start({start}), .f_held(held), .f_alloc_n(allocated),
        .f_ready(f_ready),
        .f_init_busy(f_init_busy), .f_n_act(f_n_act), .f_rsp_any(f_rsp_any),
        .f_rsp_req_slot(f_rsp_req_slot), .f_s1_dma(f_s1_dma),
        .f_s1_free_req(f_s1_free_req), .f_s1_slot(f_s1_slot),
        .f_s2_free_req(f_s2_free_req)
    );
    // Reset in the first cycle only; init (CTRL.INIT) only from the
    // not-ready, not-initialising state.
    always @(*) begin
        {reset_rule}
        if (wr_en && wr_word == 6'd{ctrl} && wr_data[0]) assume(!f_ready && !f_init_busy);
    end
    // Responses (either requester; the DMA port sees the same status,
    // count and slots, qualified by dma_rsp_valid).
    wire ok_alloc = f_rsp_any && dma_rsp_status == 0 && dma_rsp_count != 0;
    wire ok_free = f_rsp_any && dma_rsp_status == 0 && dma_rsp_count == 0;
    reg [{mm}:0] held_next;
    always @(*) begin
        held_next = held;
        if (ok_free) held_next[f_rsp_req_slot[{lo}:0]] = 1'b0;
",
        mm = m - 1,
        nf = inner.items.len() - 1,
        ctrl = duplex_regs::slot_alloc::CTRL.word(),
        fc = duplex_regs::slot_alloc::FREE_COUNT.word(),
    );
    for j in 0..BANKS {
        let _ = writeln!(
            s,
            "        if (ok_alloc && dma_rsp_count > {j}) held_next[dma_rsp_slots[{}:{}]] = 1'b1;",
            16 * j + lo,
            16 * j
        );
    }
    s.push_str("    end\n");
    s.push_str(&held_list());
    s.push_str(
        "    always @(posedge clock) held <= reset ? 0 : held_next;
    // The allocated count as the requesters see it: slots handed out by OK
    // allocs and not yet given back by OK frees.
    always @(posedge clock)
        allocated <= reset ? 17'd0
            : allocated + (ok_alloc ? {12'd0, dma_rsp_count} : 17'd0) - {16'd0, ok_free};
    // The DMA request taken two cycles ago, tracked at the ports.
    reg w1_valid, w1_free, w2_valid, w2_free;
    reg [15:0] w1_slot, w2_slot;
    always @(posedge clock) begin
        w1_valid <= !reset && dma_req_valid && dma_req_ready;
        w1_free <= dma_req_free;
        w1_slot <= dma_req_slot;
        w2_valid <= !reset && w1_valid;
        w2_free <= w1_free;
        w2_slot <= w1_slot;
    end
    wire [16:0] inflight = ok_alloc ? {12'd0, dma_rsp_count} : 17'd0;
",
    );
    // The held list: a sparse set (hlist[0..allocated) the held slots,
    // each linked to its position through hpos) that holds exactly the
    // slots of the bitmap, so a held slot means allocated > 0 without
    // counting bits.
    let mut c = Checks::new(Group::Shadow);
    // Per slot (so a slice of the group is a slot): its entries link back
    // to it, and it is held iff a live entry names it.
    c.add("1", &format!("allocated <= {m}"));
    for sl in 0..m {
        for i in 0..m {
            c.add(
                &format!("{i} < allocated && hlist[{}:{}] == {sl}", 5 * i + 4, 5 * i),
                &format!("hpos[{}:{}] == {i}", 5 * sl + 4, 5 * sl),
            );
        }
        c.add("1", &format!("held[{sl}] == |(h_alive & h_hit_{sl})"));
    }
    c.group = Group::Control;
    // Every DMA request is answered exactly two cycles later, and a free's
    // answer is about the slot that was asked for.
    c.add("1", "dma_rsp_valid == w2_valid");
    c.add("dma_rsp_valid", "f_rsp_any");
    c.add("dma_rsp_valid", "f_s2_free_req == w2_free");
    c.add("dma_rsp_valid && w2_free", "f_rsp_req_slot == w2_slot");
    c.add("1", "w1_valid == f_s1_dma");
    c.add(
        "w1_valid",
        "w1_free == f_s1_free_req && w1_slot == f_s1_slot",
    );
    c.group = Group::Properties;
    // Property 1: slots handed out are in range, distinct and not held.
    for j in 0..BANKS {
        let sj = format!("dma_rsp_slots[{}:{}]", 16 * j + 15, 16 * j);
        let g = format!("ok_alloc && dma_rsp_count > {j}");
        c.add(&g, &format!("{sj} < f_n_act"));
        c.add(
            &g,
            &format!("!held[dma_rsp_slots[{}:{}]]", 16 * j + lo, 16 * j),
        );
        for i in 0..j {
            c.add(
                &g,
                &format!("{sj} != dma_rsp_slots[{}:{}]", 16 * i + 15, 16 * i),
            );
        }
    }
    // Property 3: an OK free gives back a slot that is held.
    c.add(
        "ok_free",
        &format!("f_rsp_req_slot < f_n_act && held[f_rsp_req_slot[{lo}:0]]"),
    );
    // Property 2: FREE_COUNT (the read port is tied to it) + the allocated
    // count (+ the slots of an OK alloc being answered, already off the
    // free list) = N.
    c.add("f_ready", "rd_data == f_n_act - allocated - inflight");
    let _ = writeln!(s, "    wire [{}:0] w_chk;", c.items.len() - 1);
    s.push_str(&c.emit("w_chk"));
    // What is proven: `ok_all` (every check, every cycle), or for the
    // decomposed induction `ok_<group>`: the group holds in every cycle in
    // which every check held the cycle before (okp) and the earlier groups
    // hold now.
    let _ = writeln!(
        s,
        "    wire [{n}:0] allv = {{w_chk, f_chk}};
    (* keep *) wire ok_all = !({en}) || &allv;
    reg okp;
    always @(posedge clock) okp <= !past_valid || &allv;",
        n = c.items.len() + inner.items.len() - 1
    );
    let mut earlier = String::from("1'b1");
    for g in GROUPS {
        let mask = format!("{}{}", c.mask(g), inner.mask(g));
        let name = g.name();
        let _ = writeln!(
            s,
            "    wire g_{name} = &(allv | ~{w}'b{mask});
    (* keep *) wire ok_{name} = !({en} && okp && {earlier}) || g_{name};",
            w = mask.len()
        );
        // The slices: contiguous runs of the group's checks (inner first).
        let n = g.slices();
        if n > 1 {
            let bits: Vec<usize> = inner
                .indices(g)
                .into_iter()
                .chain(c.indices(g).into_iter().map(|i| i + inner.items.len()))
                .collect();
            for i in 0..n {
                let part = &bits[i * bits.len() / n..(i + 1) * bits.len() / n];
                let and = part
                    .iter()
                    .map(|b| format!("allv[{b}]"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    s,
                    "    (* keep *) wire ok_{name}_{i} = !({en} && okp && {earlier}) || &{{{and}}};"
                );
            }
        }
        earlier = format!("{earlier} && g_{name}");
    }
    s.push_str("endmodule\n");
    s
}

/// The wrapper's held list: `hlist` (5 bits per entry) holds the held slots
/// at positions `0..allocated`, `hpos[s]` the position of slot s. An OK
/// alloc appends its slots; an OK free moves the last entry into the freed
/// slot's place.
fn held_list() -> String {
    let m = MAX;
    let cat = |name: &str| -> String {
        (0..m)
            .rev()
            .map(|i| format!("{name}{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = String::from("    // The held slots as a list (checked against the bitmap).\n");
    for i in 0..m {
        let _ = writeln!(s, "    reg [4:0] hl{i}, hp{i}, hln{i}, hpn{i};");
    }
    let _ = writeln!(
        s,
        "    wire [{w}:0] hlist = {{{hl}}};
    wire [{w}:0] hpos = {{{hp}}};
    function [4:0] e5(input [{w}:0] v, input [4:0] i);
        case (i)
{e5cases}        endcase
    endfunction
    function [4:0] rsp5(input [255:0] v, input [4:0] j);
        case (j)
{rcases}            default: rsp5 = 5'd0;
        endcase
    endfunction
    wire [4:0] f_base = allocated[4:0];
    wire [4:0] f_p = e5(hpos, f_rsp_req_slot[4:0]);
    wire [4:0] f_last = e5(hlist, f_base - 5'd1);
    wire [{mm}:0] h_alive;",
        w = 5 * m - 1,
        mm = m - 1,
        hl = cat("hl"),
        hp = cat("hp"),
        e5cases = (0..m)
            .map(|i| format!("            {i}: e5 = v[{}:{}];\n", 5 * i + 4, 5 * i))
            .collect::<String>(),
        rcases = (0..BANKS)
            .map(|j| format!("            {j}: rsp5 = v[{}:{}];\n", 16 * j + 4, 16 * j))
            .collect::<String>(),
    );
    // Entry i: an alloc writes entries allocated.. (slot j at allocated +
    // j); a free moves the last entry into the freed slot's place.
    for i in 0..m {
        let _ = writeln!(
            s,
            "    wire [4:0] f_d{i} = 5'd{i} - f_base;
    always @(*)
        if (ok_alloc && {i} >= allocated && {{12'd0, f_d{i}}} < {{12'd0, dma_rsp_count}})
            hln{i} = rsp5(dma_rsp_slots, f_d{i});
        else if (ok_free && f_p == 5'd{i}) hln{i} = f_last;
        else hln{i} = hl{i};"
        );
    }
    // Slot s: its position.
    for sl in 0..m {
        let _ = writeln!(
            s,
            "    always @(*) begin
        hpn{sl} = hp{sl};
        if (ok_free && f_last == 5'd{sl}) hpn{sl} = f_p;"
        );
        for j in 0..BANKS {
            let _ = writeln!(
                s,
                "        if (ok_alloc && dma_rsp_count > {j} && dma_rsp_slots[{}:{}] == 5'd{sl}) hpn{sl} = f_base + 5'd{j};",
                16 * j + 4,
                16 * j
            );
        }
        s.push_str("    end\n");
    }
    s.push_str("    always @(posedge clock) begin\n");
    for i in 0..m {
        let _ = writeln!(s, "        hl{i} <= hln{i};\n        hp{i} <= hpn{i};");
    }
    s.push_str("    end\n");
    for i in 0..m {
        let _ = writeln!(s, "    assign h_alive[{i}] = {i} < allocated;");
    }
    for sl in 0..m {
        let _ = writeln!(s, "    wire [{}:0] h_hit_{sl};", m - 1);
        for i in 0..m {
            let _ = writeln!(
                s,
                "    assign h_hit_{sl}[{i}] = hlist[{}:{}] == {sl};",
                5 * i + 4,
                5 * i
            );
        }
    }
    s
}

/// How Yosys judged the properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every assertion holds in every reachable state: the base case holds
    /// for `length` steps from reset and the assertions are `length`-inductive.
    Proven { length: u32 },
    /// An assertion fails `step` cycles after reset (a real bug, or an
    /// invariant that is too strong).
    FailsFromStart { step: u32 },
    /// No violation within `max_length` steps of reset, but the assertions
    /// were not inductive up to that length.
    NotInductive { max_length: u32 },
    /// Bounded check only (`sat -tempinduct-baseonly`): no violation within
    /// `depth` steps of reset.
    HoldsToDepth { depth: u32 },
}

/// A finished proof run.
#[derive(Clone, Debug)]
pub struct ProofReport {
    pub verdict: Verdict,
    /// The commands that were run.
    pub command: String,
    pub log: String,
    /// Wall-clock time of the run.
    pub seconds: f64,
}

/// What to ask of Yosys's own solver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofMode {
    /// Temporal induction of every check at once, trying lengths
    /// 1..=max_length.
    Induction { max_length: u32 },
    /// Bounded model check from reset to `depth` steps.
    Bounded { depth: u32 },
}

/// The Yosys command that reads the proof Verilog `proof.v` and runs `sat`.
pub fn proof_script(mode: ProofMode) -> String {
    let show = "-show f_chk -show w_chk -show-inputs -show-regs";
    let sat = match mode {
        ProofMode::Induction { max_length } => {
            format!("sat -tempinduct -prove ok_all 1 -set-assumes -maxsteps {max_length} {show}")
        }
        ProofMode::Bounded { depth } => format!(
            "sat -tempinduct -tempinduct-baseonly -prove ok_all 1 -set-assumes \
             -maxsteps {depth} {show}"
        ),
    };
    format!("{FRONT}; {sat}")
}

const FRONT: &str = "read_verilog -formal proof.v; prep -top formal_top; flatten; memory -nomap; \
                     memory_map; opt -keepdc";

/// The Yosys command that writes the SAT problem of each obligation in
/// `obs` to `<name>.cnf`: "ok_<name> fails in the last of its frames", with
/// every register free in the first frame (the proof Verilog for this has
/// no initial value for `past_valid`, so the first frame is any state: the
/// reset cycle or one in which the checks held). Two frames: the induction
/// step, assuming the obligation in the first frame as `sat -tempinduct`
/// does; one frame: the obligation follows from the same cycle alone. The
/// SAT problems are solved by CaDiCaL ([`prove_obligation`]); Yosys's own
/// MiniSat gets one second.
pub fn step_script(obs: &[Obligation]) -> String {
    let mut s = String::from(FRONT);
    for ob in obs {
        let name = ob.name();
        let frames = ob.group.frames();
        let first = if frames == 2 {
            format!("-set-at 1 ok_{name} 1 -prove-skip 1 ")
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "; sat -seq {frames} {first}-prove ok_{name} 1 -set-assumes -timeout 1 -dump_cnf {name}.cnf"
        );
    }
    s
}

/// The directory a run works in: kept under `DUPLEX_FORMAL_DIR` if set,
/// else a temporary one.
fn work_dir(name: &str) -> Result<(PathBuf, bool)> {
    let keep = std::env::var_os("DUPLEX_FORMAL_DIR").map(PathBuf::from);
    let name = name.replace([' ', '{', '}', ':'], "");
    let dir = match &keep {
        Some(d) => d.join(name),
        None => std::env::temp_dir().join(format!("duplex-formal-{}-{name}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).map_err(|source| HdlError::Io {
        path: dir.clone(),
        source,
    })?;
    Ok((dir, keep.is_some()))
}

/// Runs Yosys with `script` in `dir`; returns its log.
fn run_yosys(dir: &Path, script: &str) -> Result<String> {
    let out = Command::new("yosys")
        .current_dir(dir)
        .arg("-q")
        .arg("-l")
        .arg("yosys.log")
        .arg("-p")
        .arg(script)
        .output()
        .map_err(|source| HdlError::ToolMissing {
            tool: "yosys",
            source,
        })?;
    let mut log = std::fs::read_to_string(dir.join("yosys.log")).unwrap_or_default();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(log)
}

/// Builds the proof Verilog (with `mutation` applied, if any), runs Yosys on
/// it and reads the verdict from its log.
pub fn prove_allocator(
    mutation: Option<Mutation>,
    from: Start,
    mode: ProofMode,
) -> Result<ProofReport> {
    let t0 = std::time::Instant::now();
    let verilog = allocator_proof_verilog(mutation, from)?;
    let (dir, keep) = work_dir(&format!("{from:?}-{mode:?}-{mutation:?}"))?;
    write(&dir.join("proof.v"), &verilog)?;
    let script = proof_script(mode);
    let log = run_yosys(&dir, &script);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let log = log?;
    let verdict = verdict(&log, mode).ok_or_else(|| HdlError::ToolFailed {
        tool: "yosys",
        log: log.clone(),
    })?;
    Ok(ProofReport {
        verdict,
        command: script,
        log,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Proves obligations of the decomposed induction (all from one group, so
/// one Yosys run writes their SAT problems): each is [`Verdict::Proven`]
/// when CaDiCaL finds its SAT problem unsatisfiable, and
/// [`Verdict::NotInductive`] when it finds a model (a state that satisfies
/// every check, or the checks of the same cycle, from which the obligation
/// fails). `jobs` CaDiCaL runs at a time.
pub fn prove_obligations(
    mutation: Option<Mutation>,
    obs: &[Obligation],
    jobs: usize,
) -> Result<Vec<(Obligation, ProofReport)>> {
    let t0 = std::time::Instant::now();
    let Some(first) = obs.first() else {
        return Ok(Vec::new());
    };
    let verilog = allocator_proof_verilog(mutation, Start::Reset)?;
    let verilog = replace_once(&verilog, "initial past_valid = 1'b0;", "")?;
    let (dir, keep) = work_dir(&format!("Step-{}-{mutation:?}", first.name()))?;
    write(&dir.join("proof.v"), &verilog)?;
    let script = step_script(obs);
    let ylog = run_yosys(&dir, &script)?;
    let ysecs = t0.elapsed().as_secs_f64();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let solved: Vec<Vec<(usize, Result<ProofReport>)>> = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                sc.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(ob) = obs.get(i) else { break };
                        let r = solve_cnf(&dir, *ob, &ylog, &script).map(|mut r| {
                            // Each obligation's share of the Yosys run.
                            r.seconds += ysecs / obs.len() as f64;
                            r
                        });
                        done.push((i, r));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    vec![(
                        usize::MAX,
                        Err(HdlError::ToolFailed {
                            tool: "formal",
                            log: "proof thread panicked".into(),
                        }),
                    )]
                })
            })
            .collect()
    });
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut all: Vec<(usize, Result<ProofReport>)> = solved.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter()
        .map(|(i, r)| {
            r.map(|r| {
                let ob = obs.get(i).copied().unwrap_or(*first);
                (ob, r)
            })
        })
        .collect()
}

/// Runs CaDiCaL on `<name>.cnf` in `dir` (written by `ylog`'s Yosys run)
/// and deletes the file.
fn solve_cnf(dir: &Path, ob: Obligation, ylog: &str, script: &str) -> Result<ProofReport> {
    let t0 = std::time::Instant::now();
    let cnf = dir.join(format!("{}.cnf", ob.name()));
    if !cnf.exists() {
        return Err(HdlError::ToolFailed {
            tool: "yosys",
            log: format!("no {} written\n{ylog}", cnf.display()),
        });
    }
    let out = Command::new("cadical")
        .arg("-q")
        .arg("-n")
        .arg(&cnf)
        .output()
        .map_err(|source| HdlError::ToolMissing {
            tool: "cadical",
            source,
        });
    let _ = std::fs::remove_file(&cnf);
    let out = out?;
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    let verdict = match out.status.code() {
        Some(20) => Verdict::Proven { length: 1 },
        Some(10) => Verdict::NotInductive { max_length: 1 },
        _ => {
            return Err(HdlError::ToolFailed {
                tool: "cadical",
                log: format!("{log}{}", String::from_utf8_lossy(&out.stderr)),
            })
        }
    };
    Ok(ProofReport {
        verdict,
        command: format!("yosys -p \"{script}\"; cadical -q -n {}.cnf", ob.name()),
        log,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// One obligation (see [`prove_obligations`]).
pub fn prove_obligation(mutation: Option<Mutation>, ob: Obligation) -> Result<ProofReport> {
    let mut r = prove_obligations(mutation, &[ob], 1)?;
    r.pop().map(|(_, r)| r).ok_or_else(|| HdlError::ToolFailed {
        tool: "formal",
        log: "no result".into(),
    })
}

/// The unbounded proof: every obligation of [`obligations`], a group at a
/// time, `jobs` solver runs at a time. Every check holds in every reachable
/// state when every obligation is [`Verdict::Proven`] (see the module text).
pub fn prove_allocator_inductive(
    mutation: Option<Mutation>,
    jobs: usize,
) -> Result<Vec<(Obligation, ProofReport)>> {
    let all = obligations();
    let mut out = Vec::new();
    for g in GROUPS {
        let obs: Vec<Obligation> = all.iter().copied().filter(|o| o.group == g).collect();
        out.extend(prove_obligations(mutation, &obs, jobs)?);
    }
    Ok(out)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| HdlError::Io {
        path: PathBuf::from(path),
        source,
    })
}

/// The last `[tag N]` number in `log`.
fn last_step(log: &str, tag: &str) -> u32 {
    log.lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix(tag))
        .find_map(|r| r.split(']').next()?.trim().parse().ok())
        .unwrap_or(0)
}

fn verdict(log: &str, mode: ProofMode) -> Option<Verdict> {
    if log.contains("model found for base case") {
        return Some(Verdict::FailsFromStart {
            step: last_step(log, "[base case"),
        });
    }
    let max_length = match mode {
        ProofMode::Bounded { depth } => {
            return log
                .contains(&format!("proved base case for {depth} steps: SUCCESS!"))
                .then_some(Verdict::HoldsToDepth { depth });
        }
        ProofMode::Induction { max_length } => max_length,
    };
    if log.contains("Induction step proven: SUCCESS!") {
        Some(Verdict::Proven {
            length: last_step(log, "[induction step"),
        })
    } else if log.contains("Reached maximum number of time steps") {
        Some(Verdict::NotInductive { max_length })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mutation: Option<Mutation>, from: Start, mode: ProofMode) -> Verdict {
        match prove_allocator(mutation, from, mode) {
            Ok(r) => r.verdict,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn allocator_properties_hold_for_three_cycles_from_any_initialised_state() {
        let v = run(
            None,
            Start::Initialised,
            ProofMode::Bounded {
                depth: BOUNDED_DEPTH,
            },
        );
        assert_eq!(
            v,
            Verdict::HoldsToDepth {
                depth: BOUNDED_DEPTH
            }
        );
    }

    #[test]
    fn alloc_pointer_off_by_one_is_caught_by_the_bounded_check() {
        let v = run(
            Some(Mutation::AllocPointerOffByOne),
            Start::Initialised,
            ProofMode::Bounded { depth: 3 },
        );
        assert!(matches!(v, Verdict::FailsFromStart { step: 3 }), "{v:?}");
    }

    #[test]
    fn missing_c1_forwarding_breaks_the_invariants_in_one_step() {
        // The double free it lets through is an OK free of a slot that is
        // not held: property 3 fails one cycle after a good state.
        let r = prove_obligation(
            Some(Mutation::NoForwardingFromC1),
            Obligation::whole(Group::Properties),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.verdict, Verdict::NotInductive { max_length: 1 });
    }

    #[test]
    fn slices_split_each_group_exactly() {
        let v = allocator_proof_verilog(None, Start::Reset).expect("verilog");
        let line = |name: &str| -> &str {
            v.lines()
                .find(|l| l.contains(&format!(" {name} =")))
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let all = obligations();
        for g in GROUPS {
            let obs: Vec<_> = all.iter().filter(|o| o.group == g).collect();
            assert_eq!(obs.len(), g.slices(), "{g:?}");
            if g.slices() == 1 {
                continue;
            }
            // The group's checks: the set bits of its mask (MSB first).
            let mask = line(&format!("g_{}", g.name()));
            let lit = mask
                .rsplit("'b")
                .next()
                .expect("mask")
                .trim_end_matches(");");
            let want: Vec<usize> = lit
                .chars()
                .rev()
                .enumerate()
                .filter(|(_, c)| *c == '1')
                .map(|(i, _)| i)
                .collect();
            // The slices' checks, in slice order.
            let mut got = Vec::new();
            for ob in obs {
                let part: Vec<usize> = line(&format!("ok_{}", ob.name()))
                    .split("allv[")
                    .skip(1)
                    .filter_map(|b| b.split(']').next()?.parse().ok())
                    .collect();
                assert!(!part.is_empty(), "{}", ob.name());
                got.extend(part);
            }
            assert_eq!(got, want, "{g:?}");
        }
    }

    /// Solver runs at a time: `DUPLEX_FORMAL_JOBS`, default 2.
    fn jobs() -> usize {
        std::env::var("DUPLEX_FORMAL_JOBS")
            .ok()
            .and_then(|j| j.parse().ok())
            .unwrap_or(2)
    }

    /// The unbounded proof: every obligation of the decomposed induction.
    #[test]
    #[ignore]
    fn allocator_invariants_are_inductive() {
        for (ob, r) in prove_allocator_inductive(None, jobs()).expect("proof") {
            eprintln!("{} {:?} {:.1} s", ob.name(), r.verdict, r.seconds);
            assert_eq!(r.verdict, Verdict::Proven { length: 1 }, "{}", ob.name());
        }
    }
}
