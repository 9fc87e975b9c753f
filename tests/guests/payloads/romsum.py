#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finish an option ROM: fix its last byte so all bytes sum to 0 mod 256, check its header.

Usage: romsum.py IN.bin [OUT.bin]               fix IN (in place without OUT)
       romsum.py --nasm NASM IN.asm OUT.bin     assemble with nasm -f bin first
"""
import subprocess
import sys


def fix(rom, name):
    if len(rom) < 512 or rom[0:2] != b'\x55\xaa':
        sys.exit(f'{name}: not an option ROM (no 55 AA signature)')
    if rom[2] * 512 != len(rom):
        sys.exit(f'{name}: header says {rom[2] * 512} bytes, the image has {len(rom)}')
    rom[-1] = 0
    rom[-1] = (-sum(rom)) & 0xff
    return rom


def main():
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == '--nasm':
        nasm, src, dst = args[1:]
        subprocess.run([nasm, '-f', 'bin', '-o', dst, src], check=True)
        src = dst
    elif len(args) in (1, 2):
        src = args[0]
        dst = args[1] if len(args) == 2 else src
    else:
        sys.exit(__doc__.strip())
    with open(src, 'rb') as f:
        rom = fix(bytearray(f.read()), src)
    with open(dst, 'wb') as f:
        f.write(rom)


if __name__ == '__main__':
    main()
