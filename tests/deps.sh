#!/bin/sh
# Installs the system tools duplex needs (Debian/Ubuntu) when run as root;
# otherwise prints the exact install line and fails.
set -eu
need=""
for pair in verilator:verilator yosys:yosys fio:fio nbdkit:nbdkit nbdinfo:libnbd-bin \
            qemu-img:qemu-utils openFPGALoader:openfpgaloader cadical:cadical; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need="$need $pkg"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing:$need" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
else
  echo "duplex needs:$need" >&2
  echo "run: sudo apt-get install -y$need" >&2
  exit 1
fi
