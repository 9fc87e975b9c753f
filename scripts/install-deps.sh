#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs everything Boxwood needs to build and test on Debian 12 (bookworm).
# Idempotent and quiet; run as root (re-runs itself with sudo otherwise).
set -euo pipefail

packages=(
    # toolchain and build
    build-essential meson ninja-build pkg-config gcc clang lld libclang-rt-14-dev
    python3 git ca-certificates linux-libc-dev
    # libraries
    libglib2.0-dev libxml2-dev libgtk-4-dev libadwaita-1-dev libgirepository1.0-dev
    libspice-server-dev libspice-client-glib-2.0-dev libpulse-dev libusb-1.0-0-dev
    libslirp-dev liburing-dev
    # firmware build and guest payloads
    acpica-tools nasm
    # guests, oracles and image tools for the tests and benchmarks
    seabios ovmf qemu-system-x86 qemu-utils xorriso mtools grub-pc-bin e2fsprogs
    # guest kernel for the direct-boot tests (tests/guests/kernel/build-kernel.sh), its
    # initramfs, and iPXE
    linux-source-6.1 bc bison flex libelf-dev libssl-dev busybox-static cpio ipxe
    # desktop data validation and translations
    desktop-file-utils appstream gettext
    # GUI tests: X server, input, screenshots, accessibility tree, session bus
    xvfb xauth xdotool x11-apps imagemagick gir1.2-atspi-2.0 at-spi2-core python3-gi dbus
)

die() {
    echo "install-deps: $*" >&2
    exit 1
}
trap 'die "failed at line $LINENO (exit $?)"' ERR

if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "run as root (no sudo found)"
    exec sudo -- "$0" "$@"
fi
[[ -r /etc/debian_version ]] || die "this script is for Debian 12; install the packages listed in it by hand"

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -qq update
apt-get -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
