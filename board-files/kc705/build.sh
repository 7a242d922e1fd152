#!/bin/sh
# Builds the duplex bitstream for kc705 with Vivado in batch mode:
#   sh board-files/kc705/build.sh        (from the repository root)
# Output: target/boards/kc705/duplex_kc705.bit (and .bin for flashing).
set -eu
out=target/boards/kc705
mkdir -p "$out"
cargo run --release -p duplex-driver --bin duplexctl -- verilog --out "$out" --width 256 >/dev/null
command -v vivado >/dev/null 2>&1 || { echo "vivado not on PATH (source settings64.sh)" >&2; exit 1; }
vivado -mode batch -nojournal -log "$out/vivado.log" \
  -source board-files/common/build.tcl \
  -tclargs kc705 xc7k325tffg900-2 8 "$out/duplex_card_w256.v" "$out" 00800000 16
