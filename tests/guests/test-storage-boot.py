#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""SeaBIOS boots GRUB from the IDE and AHCI controllers.

An ISO is made at test time with grub-mkrescue; its grub.cfg switches GRUB to the
serial console and prints a marker. The same (hybrid) image also boots as a hard disk.
Cases: IDE ATAPI CD-ROM, AHCI ATAPI CD-ROM, AHCI disk, IDE disk. Each case checks that
SeaBIOS lists the drive (debugcon) and that the marker reaches COM1.

Exit 77 (skip) when /dev/kvm, the runner, the firmware or grub-mkrescue is missing.
Environment: BOXWOOD_VM, BOXWOOD_BIOS, BOXWOOD_GUEST_TIMEOUT (seconds per boot, default
600: GRUB is slow under nested virtualization), BOXWOOD_STORAGE_CASES (comma-separated
subset: ide-cd, ahci-cd, ahci-disk, ide-disk), BOXWOOD_KEEP_LOGS.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
BIOS = os.environ.get('BOXWOOD_BIOS', '/usr/share/seabios/bios.bin')
TIMEOUT = float(os.environ.get('BOXWOOD_GUEST_TIMEOUT', '600'))
MARKER = 'BOXWOOD-GRUB-SAYS-HELLO'
GRUB_CFG = f"""serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
echo "{MARKER}"
sleep 600
"""

# name: (--device spec with {img}, what SeaBIOS's debug log must contain)
CASES = {
    'ide-cd': ('piix3-ide,sm_file={img},sm_media=cdrom', 'DVD/CD [ata1-0: BOXWOOD CD-ROM'),
    'ahci-cd': ('ahci,port0_file={img},port0_media=cdrom', 'DVD/CD [AHCI/0: BOXWOOD CD-ROM'),
    'ahci-disk': ('ahci,port0_file={img},port0_format=raw', 'AHCI/0: BOXWOOD HARDDISK'),
    'ide-disk': ('piix3-ide,pm_file={img},pm_format=raw', 'ata0-0: BOXWOOD HARDDISK'),
}

failures = []


def log(msg):
    print(msg, flush=True)


def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', errors='replace')
    except FileNotFoundError:
        return ''


def boot(runner, workdir, name, device):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    serial = os.path.join(d, 'serial.txt')
    dbg = os.path.join(d, 'debugcon.txt')
    err_path = os.path.join(d, 'stderr.txt')
    cmd = [runner, '--bios', BIOS, '--memory', '128', '--serial', 'file:' + serial,
           '--debugcon', 'file:' + dbg, '--nographic', '--device', device]
    log('$ ' + ' '.join(cmd))
    start = time.monotonic()
    seen = False
    with open(err_path, 'wb') as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        while proc.poll() is None:
            if MARKER in read(serial):
                seen = True
                break
            if time.monotonic() - start > TIMEOUT:
                break
            time.sleep(0.5)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    log(f'  {time.monotonic() - start:.1f} s')
    return seen or MARKER in read(serial), read(dbg), read(serial), read(err_path)


def check(ok, what):
    log(('  ok   ' if ok else '  FAIL ') + what)
    if not ok:
        failures.append(what)
    return ok


def main():
    if not os.path.exists('/dev/kvm') or not os.access('/dev/kvm', os.R_OK | os.W_OK):
        log('SKIP: no usable /dev/kvm')
        return SKIP
    runner = os.environ.get('BOXWOOD_VM')
    if not runner and os.environ.get('BOXWOOD_BUILD_ROOT'):
        runner = os.path.join(os.environ['BOXWOOD_BUILD_ROOT'], 'app', 'runner', 'boxwood-vm')
    if not runner or not os.access(runner, os.X_OK):
        log(f'SKIP: runner not built: {runner}')
        return SKIP
    if not os.path.exists(BIOS):
        log(f'SKIP: {BIOS} missing')
        return SKIP
    mkrescue = shutil.which('grub-mkrescue')
    if mkrescue is None or not os.path.isdir('/usr/lib/grub/i386-pc') or \
            shutil.which('xorriso') is None:
        log('SKIP: grub-mkrescue with i386-pc modules and xorriso needed')
        return SKIP

    wanted = os.environ.get('BOXWOOD_STORAGE_CASES')
    names = [n for n in CASES if not wanted or n in wanted.split(',')]
    workdir = tempfile.mkdtemp(prefix='boxwood-storage-')
    try:
        root = os.path.join(workdir, 'iso-root')
        os.makedirs(os.path.join(root, 'boot', 'grub'))
        with open(os.path.join(root, 'boot', 'grub', 'grub.cfg'), 'w') as f:
            f.write(GRUB_CFG)
        img = os.path.join(workdir, 'grub.iso')
        r = subprocess.run([mkrescue, '-o', img, root], capture_output=True, text=True)
        if r.returncode != 0:
            log(f'SKIP: grub-mkrescue failed: {r.stderr[-500:]}')
            return SKIP
        for name in names:
            spec, listed = CASES[name]
            ok, dbg, serial, err = boot(runner, workdir, name, spec.format(img=img))
            if 'unknown device type' in err:
                log(f'SKIP: the runner does not know the controller yet: {err.strip()[-200:]}')
                return SKIP
            good = check(listed in dbg, f'{name}: SeaBIOS lists "{listed}"')
            good = check(ok, f'{name}: GRUB runs grub.cfg ("{MARKER}" on COM1)') and good
            if not good:
                for title, text in (('stderr', err), ('serial', serial), ('debugcon', dbg)):
                    tail = '\n'.join(text.splitlines()[-15:])
                    log(f'  --- {title} ---\n{tail}')
    finally:
        if os.environ.get('BOXWOOD_KEEP_LOGS') or failures:
            log(f'logs kept in {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f'{len(failures)} failed check(s)')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
