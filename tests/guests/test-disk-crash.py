#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kill -9 loop while the guest writes to a dynamic VDI: no acknowledged write is lost.

The disk is a 32 MiB dynamic VDI (made by boxwood-img from payloads/disk-writer.asm)
whose boot sector bumps a boot counter at LBA 1 and then writes one sector into every
1 MiB block in turn, forever; the first write to a block allocates it (the block layer
reads the rest of the block, writes the whole block, syncs, then writes the map entry).
After INT 13h reports a write done, the guest acknowledges it on the debug console.
The runner is killed with SIGKILL at a random moment; then:
  - `qemu-img check` accepts the image (no corruption, no leaked or mismatched blocks),
  - every acknowledged record (block, sequence) of the last boot is on the disk, as read
    by qemu-img and by boxwood-img (their raw conversions are identical),
  - the boot counter on the disk is the last one the guest reported.
Rounds alternate virtio-blk and AHCI (SeaBIOS's drivers issue the writes); even rounds
start from a fresh, unallocated VDI (kills land among allocations), odd rounds reuse the
image of the round before (rewrites of allocated blocks and the remaining allocations).

Exit 77 (skip) without /dev/kvm, the runner, boxwood-img, qemu-img or the payload.
Environment: BOXWOOD_VM, BOXWOOD_IMG, BOXWOOD_BIOS, BOXWOOD_DISK_WRITER (payload),
BOXWOOD_CRASH_ROUNDS (default 6), BOXWOOD_GUEST_TIMEOUT (seconds to the first write,
default 300), BOXWOOD_KEEP_LOGS.
"""
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77
BIOS = os.environ.get('BOXWOOD_BIOS', '/usr/share/seabios/bios.bin')
TIMEOUT = float(os.environ.get('BOXWOOD_GUEST_TIMEOUT', '300'))
ROUNDS = int(os.environ.get('BOXWOOD_CRASH_ROUNDS', '6'))
DISK_MIB = 32
NBLOCKS = 32  # as in disk-writer.asm
failures = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    log(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        failures.append(what)
    return cond


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('ascii', errors='replace')
    except FileNotFoundError:
        return ''


def acked(debugcon):
    """Boot id and {block: last acknowledged seq} of the last boot in the log."""
    boot = None
    writes = {}
    for line in debugcon.split('\n')[:-1]:  # the last line may be cut by the kill
        m = re.fullmatch(r'B ([0-9a-f]{8})', line.strip())
        if m:
            boot = int(m.group(1), 16)
            writes = {}
            continue
        m = re.fullmatch(r'W ([0-9a-f]{8}) ([0-9a-f]{8})', line.strip())
        if m and boot is not None:
            writes[int(m.group(1), 16)] = int(m.group(2), 16)
    return boot, writes


def run_round(runner, img, workdir, n, iface):
    dbg = os.path.join(workdir, f'debugcon-{n}.txt')
    serial = os.path.join(workdir, f'serial-{n}.txt')
    err = open(os.path.join(workdir, f'stderr-{n}.txt'), 'w')
    cmd = [runner, '--bios', BIOS, '--memory', '64', '--nographic',
           '--serial', f'file:{serial}', '--debugcon', f'file:{dbg}',
           '--drive', f'file={img},if={iface},format=vdi', '--boot', 'disk']
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    # Kill after a random number of acknowledged writes: early rounds hit allocations,
    # later ones mostly rewrites of allocated blocks.
    want = random.randint(1, NBLOCKS)
    deadline = time.monotonic() + TIMEOUT
    seen = 0
    while time.monotonic() < deadline and p.poll() is None:
        seen = read_text(dbg).count('\nW ')
        if seen >= want:
            break
        time.sleep(0.05)
    time.sleep(random.uniform(0, 0.3))
    alive = p.poll() is None
    if alive:
        p.send_signal(signal.SIGKILL)
    p.wait()
    err.close()
    check(alive, f'round {n} ({iface}): runner still running at the kill '
                 f'(exit {p.returncode}, {seen}/{want} writes seen)')
    return read_text(dbg)


def verify(img, workdir, n, boot, writes, qemu_img, boxwood_img):
    r = subprocess.run([qemu_img, 'check', '-f', 'vdi', img], capture_output=True, text=True)
    check(r.returncode == 0, f'round {n}: qemu-img check: {(r.stdout + r.stderr).strip()[-300:]}')
    raw_q = os.path.join(workdir, 'q.raw')
    raw_b = os.path.join(workdir, 'b.raw')
    r = subprocess.run([qemu_img, 'convert', '-f', 'vdi', '-O', 'raw', img, raw_q],
                       capture_output=True, text=True)
    if not check(r.returncode == 0, f'round {n}: qemu-img convert {r.stderr.strip()}'):
        return
    r = subprocess.run([boxwood_img, 'convert', '-O', 'raw', img, raw_b],
                       capture_output=True, text=True)
    if not check(r.returncode == 0, f'round {n}: boxwood-img convert {r.stderr.strip()}'):
        return
    with open(raw_q, 'rb') as f:
        data = f.read()
    with open(raw_b, 'rb') as f:
        check(f.read() == data, f'round {n}: boxwood-img and qemu-img read the same image')
    counter = struct.unpack_from('<I', data, 512)[0]
    check(counter == boot, f'round {n}: boot counter on disk {counter} == reported {boot}')
    lost = []
    for block, seq in sorted(writes.items()):
        off = (block * 2048 + 7) * 512
        sig, b_boot, b_block, b_seq = struct.unpack_from('<4sIII', data, off)
        if sig != b'BXWK' or b_boot != boot or b_block != block or b_seq < seq:
            lost.append((block, seq, sig, b_boot, b_block, b_seq))
    check(not lost, f'round {n}: all {len(writes)} acknowledged blocks hold their record '
                    f'(lost: {lost[:4]})')


def main():
    runner = os.environ.get('BOXWOOD_VM')
    boxwood_img = os.environ.get('BOXWOOD_IMG')
    payload = os.environ.get('BOXWOOD_DISK_WRITER')
    qemu_img = shutil.which('qemu-img')
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        log('SKIP: /dev/kvm is missing or not accessible')
        return SKIP
    for what, path in (('runner', runner), ('boxwood-img', boxwood_img), ('firmware', BIOS),
                       ('payload', payload), ('qemu-img', qemu_img)):
        if not path or not os.path.exists(path):
            log(f'SKIP: no {what} ({path})')
            return SKIP

    workdir = tempfile.mkdtemp(prefix='boxwood-disk-crash-')
    try:
        raw = os.path.join(workdir, 'disk.raw')
        shutil.copyfile(payload, raw)
        with open(raw, 'r+b') as f:
            f.truncate(DISK_MIB << 20)
        fresh = os.path.join(workdir, 'fresh.vdi')
        img = os.path.join(workdir, 'disk.vdi')
        r = subprocess.run([boxwood_img, 'convert', '-O', 'vdi', raw, fresh],
                           capture_output=True, text=True)
        if not check(r.returncode == 0, f'boxwood-img convert to a dynamic VDI {r.stderr}'):
            return 1
        allocated = []
        last_boot = 0
        for n in range(ROUNDS):
            iface = ('virtio', 'ahci')[n % 2]
            if n % 2 == 0:
                shutil.copyfile(fresh, img)
                last_boot = 0
            text = run_round(runner, img, workdir, n, iface)
            boot, writes = acked(text)
            if not check(boot is not None and writes,
                         f'round {n} ({iface}): the guest booted and acknowledged writes '
                         f'(boot {boot}, {len(writes)} blocks)'):
                break
            check(boot == last_boot + 1, f'round {n}: boot counter {boot} follows the last round')
            last_boot = boot
            verify(img, workdir, n, boot, writes, qemu_img, boxwood_img)
            info = subprocess.run([qemu_img, 'info', '--output=json', img],
                                  capture_output=True, text=True).stdout
            m = re.search(r'"actual-size": (\d+)', info)
            allocated.append(int(m.group(1)) if m else -1)
        log(f'image size on disk after each round: {allocated}')
    finally:
        if os.environ.get('BOXWOOD_KEEP_LOGS') or failures:
            log(f'logs kept in {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f'{len(failures)} failed check(s)')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
