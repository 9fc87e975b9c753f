#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot a small Linux kernel directly (no firmware) in boxwood-vm.

The kernel is built from Debian's linux-source-6.1 with tests/guests/kernel/boxwood-tiny.config
by tests/guests/kernel/build-kernel.sh into a cache directory keyed by the config's hash
(reused when present). The initramfs is made here: busybox-static, a few applet links,
uncompressed newc cpio, with an /init that prints a marker and powers off through ACPI S5
(PIIX4 PM). Two boots:

  pvh      vmlinux through its PVH entry (hvm_start_info)
  bzimage  bzImage through the 64-bit boot protocol (boot_params; in-guest decompressor)

Each must print the marker and make the runner exit 0 (powered off). The boot time and the
runner's emulation/SYSCALL fix-up counters are printed.

Exit 77 (skip) without /dev/kvm, the runner, busybox-static or the kernel sources.
Environment: BOXWOOD_VM, BOXWOOD_LINUX_TIMEOUT (seconds per boot, default 600),
BOXWOOD_LINUX_BOOTS (comma list: pvh, bzimage; default "pvh"), BOXWOOD_KERNEL_DIR (use this
kernel build instead of building), BOXWOOD_KEEP_LOGS.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_KERNEL = os.path.join(HERE, 'kernel', 'build-kernel.sh')
BUSYBOX = '/bin/busybox'
TIMEOUT = float(os.environ.get('BOXWOOD_LINUX_TIMEOUT', '600'))
MARKER = 'BOXWOOD-LINUX-READY'
# Few applets: every symlink costs emulated kernel time when the initramfs is unpacked.
APPLETS = ['sh', 'mount', 'cat', 'uname', 'poweroff']
INIT = f'''#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "{MARKER} $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
cat /proc/interrupts
poweroff -f
'''
# Performance only; the board adds the kvm_pvm feature-hiding arguments itself.
APPEND = 'console=ttyS0 panic=-1 mitigations=off init_on_alloc=0 nokaslr'


def log(msg):
    print(msg, flush=True)


def skip(reason):
    log(f'SKIP: {reason}')
    sys.exit(SKIP)


def cpio_newc(entries):
    """entries: (name, mode, data, rdev_major, rdev_minor). Returns the archive bytes."""
    out = bytearray()

    def pad4():
        while len(out) % 4:
            out.append(0)

    for ino, (name, mode, data, major, minor) in enumerate(entries + [('TRAILER!!!', 0, b'', 0, 0)],
                                                         start=1):
        nameb = name.encode() + b'\0'
        fields = [ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0, major,
                  minor, len(nameb), 0]
        out += b'070701' + b''.join(b'%08X' % f for f in fields)
        out += nameb
        pad4()
        out += data
        pad4()
    return bytes(out)


def make_initramfs(path):
    with open(BUSYBOX, 'rb') as f:
        busybox = f.read()
    d = stat.S_IFDIR | 0o755
    entries = [('dev', d, b'', 0, 0), ('dev/console', stat.S_IFCHR | 0o600, b'', 5, 1),
               ('bin', d, b'', 0, 0), ('proc', d, b'', 0, 0), ('sys', d, b'', 0, 0),
               ('bin/busybox', stat.S_IFREG | 0o755, busybox, 0, 0),
               ('init', stat.S_IFREG | 0o755, INIT.encode(), 0, 0)]
    for a in APPLETS:
        entries.append((f'bin/{a}', stat.S_IFLNK | 0o777, b'busybox', 0, 0))
    with open(path, 'wb') as f:
        f.write(cpio_newc(entries))


def kernel_dir():
    if os.environ.get('BOXWOOD_KERNEL_DIR'):
        return os.environ['BOXWOOD_KERNEL_DIR']
    if not os.path.exists('/usr/src/linux-source-6.1.tar.xz'):
        skip('Debian linux-source-6.1 is not installed (scripts/install-deps.sh)')
    for tool in ('bc', 'bison', 'flex', 'make', 'gcc'):
        if shutil.which(tool) is None:
            skip(f'{tool} is missing for the kernel build (scripts/install-deps.sh)')
    cached = subprocess.run([BUILD_KERNEL, '--print-dir'], capture_output=True, text=True,
                            check=True).stdout.strip()
    if not os.path.exists(os.path.join(cached, 'complete')):
        log(f'building the guest kernel into {cached} (first run only; takes minutes)')
    start = time.monotonic()
    res = subprocess.run([BUILD_KERNEL], capture_output=True, text=True)
    if res.returncode != 0:
        log(res.stderr[-4000:])
        log('FAIL: the guest kernel did not build')
        sys.exit(1)
    out = res.stdout.strip().splitlines()[-1]
    try:
        with open(os.path.join(out, 'build-seconds')) as f:
            log(f'kernel: {out} (built in {f.read().strip()} s; '
                f'this run waited {time.monotonic() - start:.0f} s)')
    except OSError:
        log(f'kernel: {out}')
    return out


def boot(runner, workdir, name, kernel, initrd, cpus):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    serial = os.path.join(d, 'serial.txt')
    err = os.path.join(d, 'stderr.txt')
    vmlog = os.path.join(d, 'vm.log')
    cmd = [runner, '--kernel', kernel, '--initrd', initrd, '--append', APPEND, '--memory', '256',
           '--cpus', str(cpus), '--serial', 'file:' + serial, '--no-reboot', '--log', vmlog, '-v']
    log('$ ' + ' '.join(cmd))
    start = time.monotonic()
    marker_at = None
    timed_out = False
    with open(err, 'wb') as ef:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=ef, stderr=ef)
        while proc.poll() is None:
            if time.monotonic() - start > TIMEOUT:
                # SIGTERM first: the runner then logs its counters on the way out.
                timed_out = True
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                break
            if marker_at is None:
                try:
                    with open(serial, 'rb') as f:
                        if MARKER.encode() in f.read():
                            marker_at = time.monotonic() - start
                except FileNotFoundError:
                    pass
            time.sleep(0.2)
    total = time.monotonic() - start
    text = open(serial, 'rb').read().decode('utf-8', 'replace') if os.path.exists(serial) else ''
    errtext = open(err, 'rb').read().decode('utf-8', 'replace')
    logtext = open(vmlog, 'rb').read().decode('utf-8', 'replace') if os.path.exists(vmlog) else ''
    ok = True
    if MARKER not in text:
        log(f'FAIL [{name}]: no "{MARKER}" on the serial console within {TIMEOUT:.0f} s')
        ok = False
    if timed_out:
        log(f'FAIL [{name}]: stopped after the {TIMEOUT:.0f} s timeout')
        ok = False
    elif proc.returncode != 0:
        log(f'FAIL [{name}]: runner exit status {proc.returncode} (0 = powered off)')
        ok = False
    if marker_at is None and MARKER in text:
        marker_at = total
    log(f'[{name}] marker after {marker_at if marker_at is not None else float("nan"):.1f} s, '
        f'runner finished after {total:.1f} s, exit status {proc.returncode}')
    counters = [ln for ln in (errtext + logtext).splitlines()
                if 'fix-up' in ln or 'emulat' in ln or 'powered off' in ln]
    for ln in counters[-20:]:
        log(f'[{name}]   {ln.strip()}')
    if not ok:
        log(f'[{name}] serial console tail:\n' + text[-3000:])
        log(f'[{name}] runner stderr tail:\n' + errtext[-3000:])
    return ok


def main():
    runner = os.environ.get('BOXWOOD_VM')
    if not runner and os.environ.get('BOXWOOD_BUILD_ROOT'):
        runner = os.path.join(os.environ['BOXWOOD_BUILD_ROOT'], 'app', 'runner', 'boxwood-vm')
    if not runner or not os.access(runner, os.X_OK):
        skip('boxwood-vm not found (set BOXWOOD_VM)')
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        skip('/dev/kvm is not available')
    if not os.path.exists(BUSYBOX):
        skip('busybox-static is not installed (scripts/install-deps.sh)')
    kdir = kernel_dir()
    workdir = tempfile.mkdtemp(prefix='boxwood-linux-')
    initrd = os.path.join(workdir, 'initramfs.cpio')
    make_initramfs(initrd)
    log(f'initramfs: {os.path.getsize(initrd)} bytes, uncompressed newc')
    boots = {'pvh': os.path.join(kdir, 'vmlinux'), 'bzimage': os.path.join(kdir, 'bzImage')}
    wanted = os.environ.get('BOXWOOD_LINUX_BOOTS', 'pvh').split(',')
    ok = True
    for name in wanted:
        name = name.strip()
        if name not in boots:
            log(f'FAIL: unknown boot {name}')
            ok = False
            continue
        ok = boot(runner, workdir, name, boots[name], initrd, 1) and ok
    if ok and not os.environ.get('BOXWOOD_KEEP_LOGS'):
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f'logs kept in {workdir}')
    log('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
