#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot SeaBIOS from a virtio-blk disk in boxwood-vm.

The disk (payloads/disk-boot.asm) is a raw image whose MBR prints through INT 10h
(SeaBIOS's serial console mirrors it on COM1), reads sector 1 and writes/reads back
sector 2 through INT 13h - which SeaBIOS serves with its virtio-blk driver - then
exits through the test-exit port with 0x21 (33) on success.

Checks: SeaBIOS found the device in modern mode, booted from it, the MBR's messages
appear on serial, the run ended with exit status 33, and the image on the host holds
the sector the guest wrote. Exit 77 (skip) without /dev/kvm, the runner, the firmware
or the disk image.
Environment: BOXWOOD_VM, BOXWOOD_BIOS, BOXWOOD_DISK_BOOT (image), BOXWOOD_GUEST_TIMEOUT.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
BIOS = os.environ.get('BOXWOOD_BIOS', '/usr/share/seabios/bios.bin')
TIMEOUT = float(os.environ.get('BOXWOOD_GUEST_TIMEOUT', '120'))
EXIT_OK = 0x21


def log(msg):
    print(msg, flush=True)


def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', errors='replace')
    except FileNotFoundError:
        return ''


def main():
    runner = os.environ.get('BOXWOOD_VM')
    image = os.environ.get('BOXWOOD_DISK_BOOT')
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        log('SKIP: /dev/kvm is missing or not accessible')
        return SKIP
    for what, path in (('runner', runner), ('firmware', BIOS), ('disk image', image)):
        if not path or not os.path.exists(path):
            log(f'SKIP: no {what} ({path})')
            return SKIP

    workdir = tempfile.mkdtemp(prefix='boxwood-virtio-blk-')
    ok = False
    try:
        disk = os.path.join(workdir, 'disk.img')
        shutil.copyfile(image, disk)  # the guest writes to it
        serial = os.path.join(workdir, 'serial.txt')
        dbg = os.path.join(workdir, 'debugcon.txt')
        errf = os.path.join(workdir, 'stderr.txt')
        cmd = [runner, '--bios', BIOS, '--memory', '128', '--nographic',
               '--serial', 'file:' + serial, '--debugcon', 'file:' + dbg,
               '--device', f'virtio-blk,addr=0x18,file={disk},format=raw,serial=BXWD-TEST']
        log('$ ' + ' '.join(cmd))
        start = time.monotonic()
        timed_out = False
        with open(errf, 'wb') as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            try:
                rc = proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                timed_out = True
                proc.terminate()
                try:
                    rc = proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rc = proc.wait()
        log(f'  exit {rc} after {time.monotonic() - start:.1f} s' +
            (' (timed out)' if timed_out else ''))
        stderr = read(errf)
        out = read(serial)
        dlog = read(dbg)
        with open(disk, 'rb') as f:
            f.seek(2 * 512)
            sector2 = f.read(512)

        checks = [
            ('found virtio-blk' in dlog, 'SeaBIOS found the virtio-blk device'),
            ('using modern (1.0) virtio mode' in dlog, 'SeaBIOS drives it in modern mode'),
            ('boxwood disk boot: MBR running' in out, 'the MBR ran (INT 10h on serial)'),
            ('boxwood disk boot: sector 1 read OK' in out, 'INT 13h read of sector 1'),
            (sector2 == b'\x5a' * 512, 'the guest\'s write reached the image'),
            (rc == EXIT_OK, f'exit status {EXIT_OK} from the test-exit port (got {rc})'),
            (not timed_out, f'finished within {TIMEOUT:.0f} s'),
        ]
        for good, what in checks:
            log(('  ok   ' if good else '  FAIL ') + what)
        ok = all(good for good, _ in checks)
        if not ok:
            for title, text in (('stderr', stderr), ('serial', out), ('debugcon', dlog)):
                tail = '\n'.join(text.splitlines()[-25:])
                log(f'  --- {title} (last lines) ---\n{tail}')
    finally:
        if os.environ.get('BOXWOOD_KEEP_LOGS'):
            log(f'logs kept in {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
