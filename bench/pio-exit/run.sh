#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Port-I/O exit cost: bare KVM loop vs Boxwood vs QEMU, same guest loop, one run.
# Usage: bench/pio-exit/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail

build=${1:-build}
bios=${BOXWOOD_BIOS:-/usr/share/seabios/bios.bin}
bare="$build/bench/bare-kvm"
rom="$build/bench/pio-loop.bin"
vm="$build/app/runner/boxwood-vm"
timeout_s=300

for f in "$bare" "$rom"; do
    [[ -e $f ]] || { echo "missing $f: build first (ninja -C $build)" >&2; exit 1; }
done
[[ -r /dev/kvm && -w /dev/kvm ]] || { echo "/dev/kvm not accessible" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tsc_mhz=$("$bare" --tsc-mhz)

# cycles/exit from the ROM's line on COM1
rom_cycles() {
    grep -aoE 'pio-exit: N=[0-9]+ cycles/exit=[0-9]+' "$1" | sed -E 's/.*cycles\/exit=//' | tail -1
}

declare -A cycles
bare_line=$("$bare")
echo "$bare_line"
cycles[bare]=$(sed -E 's/.* ([0-9]+) cycles\/exit/\1/' <<<"$bare_line")

if [[ -x $vm ]]; then
    timeout "$timeout_s" "$vm" --bios "$bios" --memory 128 --cpus 1 --nographic \
        --serial "file:$tmp/boxwood.txt" --option-rom "$rom" >/dev/null 2>"$tmp/boxwood.err" || true
    cycles[boxwood]=$(rom_cycles "$tmp/boxwood.txt" || true)
    [[ -n ${cycles[boxwood]} ]] || { echo "boxwood: no result"; tail -5 "$tmp/boxwood.err"; }
else
    echo "boxwood: $vm not built, skipped"
fi

if command -v qemu-system-x86_64 >/dev/null; then
    timeout "$timeout_s" qemu-system-x86_64 -accel kvm -nographic -monitor none -nic none \
        -m 128 -smp 1 -bios "$bios" -serial "file:$tmp/qemu.txt" -option-rom "$rom" \
        >/dev/null 2>"$tmp/qemu.err" || true
    cycles[qemu]=$(rom_cycles "$tmp/qemu.txt" || true)
    [[ -n ${cycles[qemu]} ]] || { echo "qemu: no result"; tail -5 "$tmp/qemu.err"; }
else
    echo "qemu: qemu-system-x86_64 not installed, skipped"
fi

echo
printf 'TSC %.0f MHz, port 0x80, 200000 exits\n' "$tsc_mhz"
printf '%-8s %12s %10s %10s\n' "" "cycles/exit" "ns/exit" "vs bare"
for name in bare boxwood qemu; do
    c=${cycles[$name]:-}
    [[ -n $c ]] || continue
    awk -v n="$name" -v c="$c" -v b="${cycles[bare]}" -v mhz="$tsc_mhz" \
        'BEGIN { printf "%-8s %12d %10.0f %9.2fx\n", n, c, c * 1000 / mhz, c / b }'
done
if [[ -n ${cycles[boxwood]:-} && -n ${cycles[qemu]:-} ]]; then
    awk -v a="${cycles[boxwood]}" -v q="${cycles[qemu]}" \
        'BEGIN { printf "boxwood/qemu: %.2f\n", a / q }'
fi
