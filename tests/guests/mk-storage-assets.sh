#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds the storage test images into OUTDIR (never into the source tree), without root or
# loop devices, from Debian's grub-pc-bin, xorriso, mtools, e2fsprogs and qemu-utils:
#
#   rand.bin, rand.sha256   random data (fixed seed) and its sha256
#   grub.iso                grub-mkrescue ISO: GRUB on COM1, rand.bin at the root
#   disk.raw                MBR disk: GRUB boot.img in sector 0, core.img in the post-MBR gap
#                           (prefix (hd0,msdos1)/boot/grub), partition 1 at LBA 2048 with an
#                           ext2 file system holding rand.bin, /boot/grub/{grub.cfg,grubenv}
#                           and GRUB's modules
#   disk-qemu.vdi           disk.raw converted by qemu-img convert -O vdi
#   disk-boxwood.vdi        disk.raw converted by boxwood-img convert -O vdi (only when
#                           BOXWOOD_IMG names the tool or --boxwood-img PATH is given)
#
# The random file is 512 KiB by default (--rand-kib N for another size; --big means 256 MiB,
# for bench/storage) and the disk is 64 MiB larger than it. GRUB reads through the BIOS in
# 32-bit protected mode without paging, which nested hypervisors (kvm_pvm) emulate: there
# GRUB reads well under 1 MB/s over IDE PIO, so the tests keep the file small. Idempotent: OUTDIR/stamp records a hash of everything
# that goes into the images and nothing is rebuilt while it matches. Generated images are
# written to temporary names and renamed, so an interrupted run never leaves a half image.
#
# GRUB's console is the serial port (unit 0, 115200) and grub.cfg only prints
# "BOXWOOD-GRUB-READY" and returns to the grub> prompt: the tests type commands there.
set -euo pipefail

usage() {
    echo "usage: $0 [--big | --rand-kib N] [--boxwood-img PATH] [--seed N] OUTDIR" >&2
    exit 2
}

rand_kib=512
seed=20261201
boxwood_img=${BOXWOOD_IMG:-}
outdir=
while [[ $# -gt 0 ]]; do
    case $1 in
    --big) rand_kib=$((256 * 1024)) ;;
    --rand-kib) rand_kib=$2; shift ;;
    --boxwood-img) boxwood_img=$2; shift ;;
    --seed) seed=$2; shift ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) [[ -z $outdir ]] || usage; outdir=$1 ;;
    esac
    shift
done
[[ -n $outdir ]] || usage

die() {
    echo "mk-storage-assets: $*" >&2
    exit 1
}

grubdir=/usr/lib/grub/i386-pc
for tool in grub-mkrescue grub-mkimage grub-editenv xorriso mformat mke2fs qemu-img python3; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done
[[ -r $grubdir/boot.img ]] || die "$grubdir/boot.img is missing (install grub-pc-bin)"
if [[ -n $boxwood_img && ! -x $boxwood_img ]]; then
    die "boxwood-img not found at $boxwood_img"
fi

[[ $rand_kib =~ ^[1-9][0-9]*$ ]] || die "--rand-kib needs a positive number"
disk_mib=$(( (rand_kib + 1023) / 1024 + 64 ))

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

# Everything the images depend on: this script, the GRUB build, the parameters and the tool.
key=$( {
    cat "$0"
    grub-mkimage --version
    md5sum "$grubdir/boot.img" "$grubdir/kernel.img" "$grubdir/diskboot.img"
    echo "$seed $rand_kib $disk_mib"
    if [[ -n $boxwood_img ]]; then md5sum "$boxwood_img" | cut -d' ' -f1; fi
} | sha256sum | cut -d' ' -f1)
if [[ -f $outdir/stamp && $(cat "$outdir/stamp") == "$key" ]]; then
    exit 0
fi
rm -f "$outdir/stamp"

work=$(mktemp -d "$outdir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. Random data from a fixed seed, so a given build always has the same file.
python3 - "$work/rand.bin" "$seed" "$rand_kib" <<'EOF'
import random, sys
rng = random.Random(int(sys.argv[2]))
with open(sys.argv[1], 'wb') as f:
    for _ in range(int(sys.argv[3])):
        f.write(rng.randbytes(1024))
EOF
sha256sum "$work/rand.bin" | cut -d' ' -f1 >"$work/rand.sha256"

# GRUB on the serial console; no menu entries, so GRUB lands at its grub> prompt.
write_cfg() {
    cat >"$1" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
terminfo -g 200x40 serial dumb
set timeout=0
set pager=0
insmod hashsum
insmod gcry_sha256
insmod loadenv
echo BOXWOOD-GRUB-READY
EOF
}

# 2. The ISO (El Torito no-emulation boot, GRUB's BIOS image only).
mkdir -p "$work/iso/boot/grub"
write_cfg "$work/iso/boot/grub/grub.cfg"
cp "$work/rand.bin" "$work/iso/rand.bin"
grub-mkrescue -d "$grubdir" -o "$work/grub.iso" "$work/iso" \
    --modules="serial terminfo hashsum gcry_sha256 iso9660 biosdisk" >"$work/mkrescue.log" 2>&1 ||
    { cat "$work/mkrescue.log" >&2; die "grub-mkrescue failed"; }

# 3. The disk. Partition 1 starts at LBA 2048 (1 MiB) and fills the disk.
part_start=2048
total_sectors=$((disk_mib * 2048))
part_sectors=$((total_sectors - part_start))
root=$work/root
mkdir -p "$root/boot/grub/i386-pc"
write_cfg "$root/boot/grub/grub.cfg"
cp "$grubdir"/*.mod "$grubdir"/*.lst "$root/boot/grub/i386-pc/"
grub-editenv "$root/boot/grub/grubenv" create
cp "$work/rand.bin" "$root/rand.bin"
# A fixed UUID and hash seed keep the file system the same for the same inputs.
E2FSPROGS_FAKE_TIME=1764547200 mke2fs -q -F -t ext2 -b 4096 -L boxwood \
    -U 6b6f7862-6f6f-4477-8f6f-647465737431 -E hash_seed=6b6f7862-6f6f-4477-8f6f-647465737432 \
    -d "$root" "$work/part.img" "$((part_sectors / 2))k" >/dev/null

# core.img: diskboot.img + kernel + the modules needed to find the prefix; everything else
# is loaded from /boot/grub/i386-pc. grub-mkimage fills diskboot's block list for a
# core.img that starts at sector 1, which is where it goes.
grub-mkimage -d "$grubdir" -O i386-pc -o "$work/core.img" -p '(hd0,msdos1)/boot/grub' \
    biosdisk part_msdos ext2
core_sectors=$(( ($(stat -c %s "$work/core.img") + 511) / 512 ))
[[ $core_sectors -lt $part_start ]] || die "core.img ($core_sectors sectors) does not fit the gap"

# MBR: boot.img's code (bytes 0..439) and a partition table with one bootable Linux
# partition (LBA addressing; CHS fields say "use LBA").
python3 - "$grubdir/boot.img" "$work/mbr.bin" "$part_start" "$part_sectors" <<'EOF'
import struct, sys
boot = open(sys.argv[1], 'rb').read()
assert len(boot) == 512
start, count = int(sys.argv[3]), int(sys.argv[4])
mbr = bytearray(512)
mbr[:440] = boot[:440]
struct.pack_into('<I', mbr, 440, 0x626f7877)          # disk signature
entry = struct.pack('<B3sB3sII', 0x80, b'\xfe\xff\xff', 0x83, b'\xfe\xff\xff', start, count)
mbr[446:462] = entry
mbr[510:512] = b'\x55\xaa'
open(sys.argv[2], 'wb').write(mbr)
EOF
disk=$work/disk.raw
truncate -s "${disk_mib}M" "$disk"
dd if="$work/mbr.bin" of="$disk" conv=notrunc status=none
dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none
dd if="$work/part.img" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none

# 4. VDI copies: one by QEMU, one by Boxwood's own tool.
qemu-img convert -f raw -O vdi "$disk" "$work/disk-qemu.vdi"
if [[ -n $boxwood_img ]]; then
    "$boxwood_img" convert -O vdi "$disk" "$work/disk-boxwood.vdi"
    qemu-img check -q -f vdi "$work/disk-boxwood.vdi" ||
        die "qemu-img check rejects boxwood-img's VDI"
fi

for f in rand.bin rand.sha256 grub.iso disk.raw disk-qemu.vdi disk-boxwood.vdi; do
    if [[ -f $work/$f ]]; then
        mv -f "$work/$f" "$outdir/$f"
    else
        rm -f "$outdir/$f"
    fi
done
echo "$key" >"$outdir/stamp"
