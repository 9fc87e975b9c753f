#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot Debian's SeaBIOS in boxwood-vm and check what it reports.

1. For 1, 2 and 4 vCPUs: the banner and "No bootable device" on COM1, and in SeaBIOS's
   debug log (port 0x402) the CPU count, the e820 map and the PM base move.
2. With bios-256k.bin (built with the DSDT parser, unlike the 128 KiB bios.bin): SeaBIOS
   finds the FADT through the VMM's XSDT and parses the DSDT the FADT points at.
3. The pc-selftest option ROM: PIT and RTC interrupts, an ACPI RSDP (its OEM ID is
   compared with BOXWOOD_ACPI_OEM when set), a reset through port 0xCF9, a
   reset through the i8042, then ACPI S5 power-off, after which the runner exits 0.

Exit 77 (skip) when /dev/kvm, the runner or the firmware is missing.
Environment: BOXWOOD_VM (runner), BOXWOOD_PC_SELFTEST (ROM), BOXWOOD_BIOS (firmware),
BOXWOOD_BIOS_256K (the 256 KiB build for the ACPI check; skipped when missing),
BOXWOOD_ACPI_OEM (expected RSDP OEM ID), BOXWOOD_GUEST_TIMEOUT (seconds per boot, default
120), BOXWOOD_KEEP_LOGS (keep the logs).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
BIOS = os.environ.get('BOXWOOD_BIOS', '/usr/share/seabios/bios.bin')
BIOS_256K = os.environ.get('BOXWOOD_BIOS_256K', '/usr/share/seabios/bios-256k.bin')
TIMEOUT = float(os.environ.get('BOXWOOD_GUEST_TIMEOUT', '120'))
# OEM ID of the VMM's own ACPI tables; SeaBIOS's built-in fallback tables say "BOCHS ".
ACPI_OEM = os.environ.get('BOXWOOD_ACPI_OEM')

failures = []
skips = []


def log(msg):
    print(msg, flush=True)


def skip_all(reason):
    log(f'SKIP: {reason}')
    sys.exit(SKIP)


def find_runner():
    path = os.environ.get('BOXWOOD_VM')
    if not path and os.environ.get('BOXWOOD_BUILD_ROOT'):
        path = os.path.join(os.environ['BOXWOOD_BUILD_ROOT'], 'app', 'runner', 'boxwood-vm')
    return path


def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', errors='replace')
    except FileNotFoundError:
        return ''


class Boot:
    """One run of the runner with serial and debugcon going to files."""

    def __init__(self, workdir, name, cpus, extra=(), until=None, timeout=TIMEOUT, bios=None):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.serial_path = os.path.join(self.dir, 'serial.txt')
        self.dbg_path = os.path.join(self.dir, 'debugcon.txt')
        self.err_path = os.path.join(self.dir, 'stderr.txt')
        cmd = [RUNNER, '--bios', bios or BIOS, '--memory', '128', '--cpus', str(cpus),
               '--serial', 'file:' + self.serial_path, '--debugcon', 'file:' + self.dbg_path,
               '--nographic', *extra]
        log('$ ' + ' '.join(cmd))
        self.timed_out = False
        self.stopped_by_us = False
        start = time.monotonic()
        with open(self.err_path, 'wb') as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            while True:
                try:
                    self.rc = proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if until is not None and until in read(self.serial_path):
                    self.stopped_by_us = True
                elif time.monotonic() - start > timeout:
                    self.timed_out = True
                else:
                    continue
                proc.terminate()
                try:
                    self.rc = proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    self.rc = proc.wait()
                break
        self.seconds = time.monotonic() - start
        self.serial = read(self.serial_path)
        self.dbg = read(self.dbg_path)
        self.stderr = read(self.err_path)
        log(f'  exit {self.rc} after {self.seconds:.1f} s'
            + (' (timed out)' if self.timed_out else '')
            + (' (stopped by the test)' if self.stopped_by_us else ''))

    def dump(self):
        for title, text in (('stderr', self.stderr), ('serial', self.serial),
                            ('debugcon', self.dbg)):
            tail = '\n'.join(text.splitlines()[-25:])
            log(f'  --- {title} (last lines) ---\n{tail}')


def check(ok, what):
    log(('  ok   ' if ok else '  FAIL ') + what)
    if not ok:
        failures.append(what)
    return ok


def test_boot(workdir, cpus):
    b = Boot(workdir, f'cpus{cpus}', cpus, until='No bootable device')
    banner = 'SeaBIOS (version' in b.serial
    if not banner and not b.stopped_by_us and b.rc not in (0, None) and not b.timed_out:
        if cpus > 2 and re.search(r'cpu|vcpu', b.stderr, re.IGNORECASE):
            reason = f'{cpus} vCPUs refused by the runner: {b.stderr.strip()[-200:]}'
            log(f'  SKIP {reason}')
            skips.append(reason)
            return
    good = all([
        check(banner, f'cpus={cpus}: SeaBIOS banner on serial'),
        check('No bootable device' in b.serial, f'cpus={cpus}: "No bootable device" on serial'),
        check(f'Found {cpus} cpu(s)' in b.dbg, f'cpus={cpus}: debugcon "Found {cpus} cpu(s)"'),
        check('e820 map has' in b.dbg, f'cpus={cpus}: debugcon e820 map'),
        check('Moving pm_base to 0x600' in b.dbg, f'cpus={cpus}: debugcon PM base moved'),
        # Debian's 128 KiB bios.bin logs nothing about where its ACPI tables came from
        # (no "table(...)" or "ACPI: parse DSDT" lines, unlike bios-256k.bin): the
        # pc-selftest ROM checks the RSDP from inside the guest instead.
        check(not b.timed_out, f'cpus={cpus}: reached the boot failure within {TIMEOUT:.0f} s'),
    ])
    if not good:
        b.dump()


def test_acpi_parse(workdir):
    # Only SeaBIOS builds with CONFIG_ACPI_PARSE (Debian's bios-256k.bin, QEMU's default for
    # "pc") look the FADT up during POST; Debian's bios.bin logs neither of these lines
    # under QEMU either, so their absence there says nothing about our tables.
    b = Boot(workdir, 'acpi-256k', 1, until='No bootable device', bios=BIOS_256K)
    fadt = re.search(r'table\(50434146\)=(0x[0-9a-f]+) \(via (xsdt|rsdt)\)', b.dbg)
    dsdt = re.search(r'ACPI: parse DSDT at (0x[0-9a-f]+) \(len (\d+)\)', b.dbg)
    good = all([
        check(fadt is not None, 'bios-256k: debugcon "table(50434146)=... (via ...)" (FADT)'),
        check(fadt is not None and fadt.group(2) == 'xsdt',
              'bios-256k: FADT found through the XSDT (RSDP revision 2)'),
        check(dsdt is not None and int(dsdt.group(2)) > 36,
              'bios-256k: debugcon "ACPI: parse DSDT at ..." with a non-empty DSDT'),
        check('No bootable device' in b.serial, 'bios-256k: "No bootable device" on serial'),
        check(not b.timed_out, f'bios-256k: reached the boot failure within {TIMEOUT:.0f} s'),
    ])
    if not good:
        b.dump()


def test_selftest(workdir, rom):
    b = Boot(workdir, 'selftest', 1, extra=['--option-rom', rom], timeout=3 * TIMEOUT)
    s = b.serial
    good = all([
        check(s.count('PIT OK') == 3, 'selftest: "PIT OK" on all three boots'),
        check(s.count('RTC OK') == 3, 'selftest: "RTC OK" on all three boots'),
        check('FAIL' not in s, 'selftest: no FAIL'),
        check(s.count('ACPI RSDP OK') == 3, 'selftest: ACPI RSDP present on all three boots'),
        check(ACPI_OEM is None or f'oem={ACPI_OEM}' in s,
              f'selftest: RSDP OEM ID is {ACPI_OEM!r} (tables from the VMM\'s loader)'),
        check('STAGE0 reset via 0xCF9' in s, 'selftest: stage 0 (0xCF9 reset)'),
        check('STAGE1 reset via i8042' in s, 'selftest: stage 1 (i8042 reset)'),
        check('STAGE2 poweroff via ACPI S5' in s, 'selftest: stage 2 (ACPI S5)'),
        check(re.search(r'guest reset: .*0xCF9', b.stderr) is not None,
              'selftest: runner reports the 0xCF9 reset'),
        check(re.search(r'guest reset: .*i8042 0xFE', b.stderr) is not None,
              'selftest: runner reports the i8042 reset'),
        check('powered off' in b.stderr, 'selftest: runner reports the power-off'),
        check(not b.timed_out and b.rc == 0, 'selftest: runner exits 0 on power-off'),
    ])
    if not good:
        b.dump()


def main():
    global RUNNER
    if not os.path.exists('/dev/kvm'):
        skip_all('/dev/kvm does not exist (no KVM on this host)')
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        skip_all('/dev/kvm is not accessible (add the user to the "kvm" group)')
    RUNNER = find_runner()
    if not RUNNER or not os.access(RUNNER, os.X_OK):
        skip_all(f'runner not built: {RUNNER}')
    if not os.path.exists(BIOS):
        skip_all(f'{BIOS} missing (apt-get install seabios)')

    workdir = tempfile.mkdtemp(prefix='boxwood-seabios-')
    try:
        for cpus in (1, 2, 4):
            test_boot(workdir, cpus)
        if os.path.exists(BIOS_256K):
            test_acpi_parse(workdir)
        else:
            reason = f'{BIOS_256K} missing: no DSDT parse check'
            log(f'SKIP {reason}')
            skips.append(reason)
        rom = os.environ.get('BOXWOOD_PC_SELFTEST')
        if rom and os.path.exists(rom):
            test_selftest(workdir, rom)
        else:
            reason = 'pc-selftest.bin not built (nasm missing)'
            log(f'SKIP {reason}')
            skips.append(reason)
    finally:
        if os.environ.get('BOXWOOD_KEEP_LOGS') or failures:
            log(f'logs kept in {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    log(f'{len(failures)} failed check(s), {len(skips)} skipped part(s)')
    for s in skips:
        log(f'  skipped: {s}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
