#!/bin/sh
# Builds the duplex bitstream for acornCle215 with Vivado in batch mode:
#   sh board-files/acornCle215/build.sh        (from the repository root)
# Output: target/boards/acornCle215/duplex_acornCle215.bit (and .bin for flashing).
set -eu
out=target/boards/acornCle215
mkdir -p "$out"
cargo run --release -p duplex-driver --bin duplexctl -- verilog --out "$out" --width 256 >/dev/null
command -v vivado >/dev/null 2>&1 || { echo "vivado not on PATH (source settings64.sh)" >&2; exit 1; }
vivado -mode batch -nojournal -log "$out/vivado.log" \
  -source board-files/common/build.tcl \
  -tclargs acornCle215 xc7a200tfbg484-3 4 "$out/duplex_card_w256.v" "$out" 01000000 32
