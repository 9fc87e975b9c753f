#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Firmware boot time: process start until SeaBIOS prints "No bootable device" on the
# serial port, Boxwood vs QEMU on the same bios.bin, 5 runs each, median and ratio.
# Usage: bench/boot-time/run.sh [BUILD_DIR] [RUNS]
set -euo pipefail

build=${1:-build}
runs=${2:-5}
bios=${BOXWOOD_BIOS:-/usr/share/seabios/bios.bin}
vm="$build/app/runner/boxwood-vm"

[[ -r /dev/kvm && -w /dev/kvm ]] || { echo "/dev/kvm not accessible" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Starts "$@" with the serial log at $SERIAL, prints seconds until the marker appears.
time_boot() {
    python3 - "$@" <<'PY'
import os, subprocess, sys, time
serial = os.environ['SERIAL']
start = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
result = None
while time.monotonic() - start < 300:
    try:
        with open(serial, 'rb') as f:
            if b'No bootable device' in f.read():
                result = time.monotonic() - start
                break
    except FileNotFoundError:
        pass
    if p.poll() is not None:
        break
    time.sleep(0.01)
p.kill()
p.wait()
print(f'{result:.3f}' if result is not None else 'fail')
PY
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a" } else if (NR % 2) { print v[(NR + 1) / 2] } else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 } }'
}

bench() {
    local name=$1; shift
    local times=()
    for ((i = 1; i <= runs; i++)); do
        export SERIAL="$tmp/$name-$i.txt"
        local cmd=("$@")
        cmd=("${cmd[@]//@SERIAL@/$SERIAL}")
        t=$(time_boot "${cmd[@]}")
        echo "$name run $i: $t s" >&2
        [[ $t == fail ]] || times+=("$t")
    done
    printf '%s\n' "${times[@]}" | grep . | median
}

declare -A med
if [[ -x $vm ]]; then
    med[boxwood]=$(bench boxwood "$vm" --bios "$bios" --memory 128 --cpus 1 --nographic \
        --serial "file:@SERIAL@")
else
    echo "boxwood: $vm not built, skipped" >&2
fi
if command -v qemu-system-x86_64 >/dev/null; then
    # No NIC: QEMU's default e1000 would add iPXE (Boxwood has no NIC yet).
    med[qemu]=$(bench qemu qemu-system-x86_64 -accel kvm -nographic -monitor none -nic none \
        -m 128 -smp 1 -bios "$bios" -serial "file:@SERIAL@")
else
    echo "qemu: not installed, skipped" >&2
fi

echo
echo "boot to \"No bootable device\", median of $runs runs"
for name in boxwood qemu; do
    [[ -n ${med[$name]:-} ]] && printf '%-8s %8s s\n' "$name" "${med[$name]}"
done
if [[ -n ${med[boxwood]:-} && -n ${med[qemu]:-} && ${med[boxwood]} != n/a && ${med[qemu]} != n/a ]]; then
    awk -v a="${med[boxwood]}" -v q="${med[qemu]}" 'BEGIN { printf "boxwood/qemu: %.2f\n", a / q }'
fi
