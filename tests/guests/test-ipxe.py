#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot iPXE's ipxe.lkrn (Debian package ipxe) through SeaBIOS and check it runs a script.

ipxe.lkrn is a bzImage with only the real-mode entry: it needs BIOS services. The runner's
--kernel hands it to the firmware through fw_cfg, the fwcfg-linuxboot option ROM (built
from tests/guests/payloads/fwcfg-linuxboot.asm) loads and starts it, and iPXE runs its
command line as a script: it echoes a marker. On kvm_pvm this needs the instruction
emulator (iPXE's 32-bit code uses iret). The marker on COM1 (SeaBIOS mirrors the BIOS
console there) is the proof; the runner is then stopped.

Exit 77 (skip) without /dev/kvm, the runner, the ROM or ipxe.lkrn.
Environment: BOXWOOD_VM, BOXWOOD_LINUXBOOT_ROM, BOXWOOD_IPXE_LKRN (default
/usr/lib/ipxe/ipxe.lkrn), BOXWOOD_IPXE_TIMEOUT (seconds, default 600), BOXWOOD_KEEP_LOGS.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
LKRN = os.environ.get('BOXWOOD_IPXE_LKRN', '/usr/lib/ipxe/ipxe.lkrn')
TIMEOUT = float(os.environ.get('BOXWOOD_IPXE_TIMEOUT', '600'))
MARKER = 'BOXWOOD-IPXE-READY'


def log(msg):
    print(msg, flush=True)


def skip(reason):
    log(f'SKIP: {reason}')
    sys.exit(SKIP)


def main():
    runner = os.environ.get('BOXWOOD_VM')
    rom = os.environ.get('BOXWOOD_LINUXBOOT_ROM')
    if not runner or not os.access(runner, os.X_OK):
        skip('boxwood-vm not found (set BOXWOOD_VM)')
    if not rom or not os.path.exists(rom):
        skip('fwcfg-linuxboot.bin not built (needs nasm)')
    if not os.path.exists(LKRN):
        skip(f'{LKRN} missing (Debian package ipxe)')
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        skip('/dev/kvm is not available')
    workdir = tempfile.mkdtemp(prefix='boxwood-ipxe-')
    serial = os.path.join(workdir, 'serial.txt')
    dbg = os.path.join(workdir, 'debugcon.txt')
    vmlog = os.path.join(workdir, 'vm.log')
    err = os.path.join(workdir, 'stderr.txt')
    # The command line is iPXE's script; the marker is split so the echo of the command
    # line itself cannot match.
    script = 'set m BOXWOOD-IPXE && echo ${m}-READY'
    cmd = [runner, '--kernel', LKRN, '--append', script, '--option-rom', rom, '--memory', '128',
           '--serial', 'file:' + serial, '--debugcon', 'file:' + dbg, '--nographic',
           '--no-reboot', '--log', vmlog, '-v']
    log('$ ' + ' '.join(cmd))
    start = time.monotonic()
    seen = None
    with open(err, 'wb') as ef:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=ef, stderr=ef)
        while proc.poll() is None and time.monotonic() - start < TIMEOUT:
            try:
                with open(serial, 'rb') as f:
                    if MARKER.encode() in f.read():
                        seen = time.monotonic() - start
                        break
            except FileNotFoundError:
                pass
            time.sleep(0.5)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text = open(serial, 'rb').read().decode('utf-8', 'replace') if os.path.exists(serial) else ''
    logtext = open(vmlog, 'rb').read().decode('utf-8', 'replace') if os.path.exists(vmlog) else ''
    for ln in logtext.splitlines():
        if 'emulation counts' in ln:
            log('  ' + ln.strip())
    ok = seen is not None
    if ok:
        log(f'iPXE ran its script: marker after {seen:.1f} s')
        banner = re.search(r'iPXE [^\r\n]*', text)
        if banner:
            log(f'  banner: {banner.group(0)[:100]}')
        shutil.rmtree(workdir, ignore_errors=True) if not os.environ.get('BOXWOOD_KEEP_LOGS') \
            else log(f'logs kept in {workdir}')
        log('PASS')
        return 0
    log(f'FAIL: no "{MARKER}" on COM1 within {TIMEOUT:.0f} s (runner status {proc.returncode})')
    log('serial tail:\n' + re.sub(r'\x1b\[[0-9;?]*[a-zA-Z]', '', text)[-2000:])
    dtext = open(dbg, 'rb').read().decode('utf-8', 'replace') if os.path.exists(dbg) else ''
    log('firmware debug log tail:\n' + dtext[-1500:])
    log(f'logs kept in {workdir}')
    return 1


if __name__ == '__main__':
    sys.exit(main())
