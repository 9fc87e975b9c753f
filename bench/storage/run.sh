#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# GRUB reading a 256 MiB file through each storage controller (virtio-blk, AHCI, IDE),
# Boxwood vs QEMU (-accel kvm) in the same run, same raw image, same firmware; host dd of
# the same file is the limit. See bench/README.md.
#
#   bench/storage/run.sh [BUILD_DIR] [CONTROLLERS]      (CONTROLLERS default virtio,ahci,ide)
#
# The image (320 MiB disk, GRUB in the MBR, ext2 with a 256 MiB random rand.bin) is built
# by tests/guests/mk-storage-assets.sh into BUILD_DIR/bench/storage-assets-<size> (cached).
# GRUB's `testspeed -s 1048576 /rand.bin` reads the whole file in 1 MiB calls; the time is
# taken from typing the command until the grub> prompt comes back (GRUB's own figure is
# printed too). Environment: BOXWOOD_BIOS, QEMU (default qemu-system-x86_64),
# BOXWOOD_BENCH_TIMEOUT (seconds per GRUB boot or command, default 1800),
# BOXWOOD_BENCH_RAND_KIB (file size in KiB, default 262144 = 256 MiB).
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
controllers=${2:-virtio,ahci,ide}
build=$(cd "$build" && pwd)
runner=$build/app/runner/boxwood-vm
qemu=${QEMU:-qemu-system-x86_64}
bios=${BOXWOOD_BIOS:-/usr/share/seabios/bios.bin}

[[ -x $runner ]] || { echo "storage bench: $runner not built"; exit 1; }
[[ -e /dev/kvm ]] || { echo "storage bench: no /dev/kvm"; exit 1; }
command -v "$qemu" >/dev/null || echo "storage bench: $qemu missing, Boxwood only"

# BOXWOOD_BENCH_RAND_KIB picks another file size (for hosts where GRUB is slow, see README).
rand_kib=${BOXWOOD_BENCH_RAND_KIB:-262144}
assets=$build/bench/storage-assets-${rand_kib}k
echo "building the image with a $((rand_kib / 1024)) MiB file in $assets (cached) ..."
"$src/tests/guests/mk-storage-assets.sh" --rand-kib "$rand_kib" "$assets"

work=$(mktemp -d /tmp/boxwood-storage-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The limit: the host reading the same bytes, once through the page cache (after a first
# read has warmed it) and once with O_DIRECT.
size=$(stat -c %s "$assets/rand.bin")
dd_rate() {
    local start end
    start=$(date +%s.%N)
    dd if="$assets/rand.bin" of=/dev/null bs=1M "$@" status=none
    end=$(date +%s.%N)
    python3 -c "print(f'{$size / ($end - $start) / 1e6:.1f}')"
}
dd_rate >/dev/null
host_cached=$(dd_rate)
host_direct=$(dd_rate iflag=direct)
echo "host dd: ${host_cached} MB/s (page cache), ${host_direct} MB/s (O_DIRECT)"

python3 - "$src/tests/guests" "$runner" "$qemu" "$bios" "$assets" "$work" "$controllers" \
    "$host_cached" <<'PYEOF'
import os, re, shutil, sys
sys.path.insert(0, sys.argv[1])
import grubconsole

runner, qemu, bios, assets, work, controllers, host = sys.argv[2:9]
timeout = float(os.environ.get('BOXWOOD_BENCH_TIMEOUT', '1800'))
size = os.path.getsize(os.path.join(assets, 'rand.bin'))
image = os.path.join(assets, 'disk.raw')
rows = []
for ctrl in controllers.split(','):
    rates = {}
    for vmm in ('boxwood', 'qemu'):
        if vmm == 'qemu' and not shutil.which(qemu):
            continue
        sock = os.path.join(work, f'{vmm}-{ctrl}.sock')
        # Writable for both (QEMU's IDE disks cannot be read-only); GRUB only reads.
        drives = [(ctrl, 'disk', image, 'raw')]
        if vmm == 'boxwood':
            argv = grubconsole.boxwood_argv(runner, bios, sock, drives, 0, memory=512)
        else:
            argv = grubconsole.qemu_argv(qemu, bios, sock, drives, 0, memory=512)
            # Several runs of this script may share the image (one per controller).
            argv[argv.index(f'if=none,id=d0,file={image},format=raw')] += ',file.locking=off'
        vm = grubconsole.Vm(argv, sock, os.path.join(work, f'{vmm}-{ctrl}.log'))
        try:
            vm.start()
            vm.wait_prompt(timeout)
            out, took = vm.command('testspeed -s 1048576 /rand.bin', timeout)
            grub = re.search(r'Speed:\s*([0-9.]+\s*\S+)', out)
            rates[vmm] = size / took / 1e6
            print(f'{ctrl:7s} {vmm:8s} {rates[vmm]:8.2f} MB/s  ({took:.1f} s; GRUB says '
                  f'{grub.group(1) if grub else "?"})', flush=True)
        except grubconsole.GrubTimeout as e:
            print(f'{ctrl:7s} {vmm:8s} failed: {e}', flush=True)
        finally:
            vm.stop()
    rows.append((ctrl, rates))

print()
print(f'{"controller":10s} {"Boxwood":>10s} {"QEMU":>10s} {"Bx/QEMU":>8s} {"Bx/host":>8s}')
for ctrl, rates in rows:
    b, q = rates.get('boxwood'), rates.get('qemu')
    fmt = lambda v: f'{v:10.2f}' if v else f'{"-":>10s}'
    ratio = f'{b / q:8.2f}' if b and q else f'{"-":>8s}'
    hr = f'{b / float(host):8.4f}' if b else f'{"-":>8s}'
    print(f'{ctrl:10s} {fmt(b)} {fmt(q)} {ratio} {hr}')
print(f'(MB/s = 10^6 bytes/s; host dd through the page cache: {host} MB/s)')
PYEOF
