#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the small guest kernel of tests/guests/kernel/ from Debian's linux-source-6.1 into a
# cache directory keyed by the hash of the config fragment, this script and the source
# tarball's package version, and prints that directory (it holds bzImage, vmlinux, config and
# build-seconds). A present, complete cache entry is reused at once.
#
#   build-kernel.sh [--print-dir]      (--print-dir: only print where the kernel would be)
#
# Environment: BOXWOOD_CACHE (default /var/cache/boxwood, or ~/.cache/boxwood when that is
# not writable), BOXWOOD_KERNEL_JOBS (default: number of CPUs).
# Needs: linux-source-6.1 bc bison flex libelf-dev libssl-dev (scripts/install-deps.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/boxwood-tiny.config
tarball=/usr/src/linux-source-6.1.tar.xz

die() {
    echo "build-kernel: $*" >&2
    exit 1
}

[[ -r $tarball ]] || die "missing $tarball (install Debian's linux-source-6.1)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s "$tarball")
key=$( (cat "$fragment" "$0"; echo "$srcver") | sha256sum | cut -c1-16)

cache=${BOXWOOD_CACHE:-/var/cache/boxwood}
if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/boxwood
    mkdir -p "$cache"
fi
out=$cache/kernel-$key
if [[ ${1:-} == --print-dir ]]; then
    echo "$out"
    exit 0
fi
if [[ -f $out/complete ]]; then
    echo "$out"
    exit 0
fi

for tool in bc bison flex make gcc; do
    command -v $tool >/dev/null || die "missing $tool (scripts/install-deps.sh installs it)"
done

# One builder per cache entry; a second caller waits for the first.
mkdir -p "$out"
exec 9>"$out/lock"
flock 9
if [[ -f $out/complete ]]; then
    echo "$out"
    exit 0
fi

work=$out/work
rm -rf "$work"
mkdir -p "$work"
start=$(date +%s)
echo "build-kernel: unpacking $tarball into $work" >&2
tar -xf "$tarball" -C "$work"
src=$(echo "$work"/linux-source-6.1)
[[ -d $src ]] || die "unexpected layout of $tarball"
jobs=${BOXWOOD_KERNEL_JOBS:-$(nproc)}
echo "build-kernel: configuring (allnoconfig + $(basename "$fragment"))" >&2
make -s -C "$src" ARCH=x86_64 KCONFIG_ALLCONFIG="$fragment" allnoconfig >&2
# Every line of the fragment must have survived Kconfig: catch typos and dependencies.
bad=0
while IFS= read -r line; do
    [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] || continue
    sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
    if [[ $val == n ]]; then
        grep -q "^$sym=" "$src/.config" && { echo "build-kernel: $sym not off" >&2; bad=1; }
    else
        grep -qx "$sym=$val" "$src/.config" || { echo "build-kernel: $sym=$val not taken" >&2; bad=1; }
    fi
done <"$fragment"
[[ $bad == 0 ]] || die "the config fragment does not apply cleanly"
echo "build-kernel: building with -j$jobs" >&2
make -s -C "$src" ARCH=x86_64 -j"$jobs" bzImage >&2
cp "$src/arch/x86/boot/bzImage" "$src/vmlinux" "$src/.config" "$out/"
mv "$out/.config" "$out/config"
echo $(($(date +%s) - start)) >"$out/build-seconds"
rm -rf "$work"
touch "$out/complete"
echo "build-kernel: done in $(cat "$out/build-seconds") s" >&2
echo "$out"
