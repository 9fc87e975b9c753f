#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""SeaBIOS boots GRUB from every storage controller and GRUB checks a file's sha256.

The images are built by mk-storage-assets.sh into the build directory (cached):
a grub-mkrescue ISO and an MBR disk with GRUB in the MBR and post-MBR gap, an ext2
partition holding rand.bin and /boot/grub/grubenv, plus that disk converted to VDI by
boxwood-img and by qemu-img. For each case the runner gets --drive/--boot, the test talks
to GRUB on COM1 (--serial unix:PATH), types `hashsum --hash sha256 /rand.bin` and compares
the answer with the host's sha256.

Cases (BOXWOOD_STORAGE_CASES, comma-separated; default: all but kill9):
  iso-ide, iso-ahci                     ATAPI CD-ROM boot
  multi                                 one VM with raw, qemu-img VDI and boxwood-img VDI on
                                        each of virtio-blk, AHCI and IDE (9 disks), booting
                                        boxwood-img's VDI from virtio-blk: GRUB hashes
                                        rand.bin on every BIOS disk, save_env/load_env a
                                        token, then rewrites grubenv in a loop and the runner
                                        gets SIGKILL; then qemu-img check, qemu-img compare of
                                        the VDI as QEMU and as boxwood-img read it, and the
                                        host finds the token and rand.bin in the image
  disk-{virtio,ahci,ide}-{raw,qvdi,bvdi}  disk boot; qvdi = qemu-img's VDI, bvdi = boxwood-img's
  write                                 GRUB save_env on a boxwood-img VDI (through virtio-blk):
                                        grubenv read back by GRUB and, after power-off, on the
                                        host (image converted by qemu-img); qemu-img check
  kill9                                 GRUB rewrites grubenv in a loop (save_env through
                                        virtio-blk onto a VDI) and the runner is killed with
                                        SIGKILL mid-loop, BOXWOOD_STORAGE_KILL_ROUNDS times
                                        (default 2); qemu-img check after every kill and the
                                        image must still read back (GRUB's writes land on
                                        allocated blocks, so this checks that interrupted
                                        data writes leave the VDI consistent)

Exit 77 (skip) without /dev/kvm, the runner, the firmware or the image tools.
Environment: BOXWOOD_VM, BOXWOOD_IMG (boxwood-img; the test skips without it),
BOXWOOD_BIOS, BOXWOOD_STORAGE_ASSETS (directory for the images), BOXWOOD_STORAGE_JOBS (VMs
at a time, default 3), BOXWOOD_GUEST_TIMEOUT (seconds for GRUB to come up, default 2400:
GRUB runs in protected mode without paging, which nested hypervisors emulate slowly),
BOXWOOD_KEEP_LOGS.
"""
import concurrent.futures
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grubconsole  # noqa: E402

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
BIOS = os.environ.get('BOXWOOD_BIOS', '/usr/share/seabios/bios.bin')
BOOT_TIMEOUT = float(os.environ.get('BOXWOOD_GUEST_TIMEOUT', '2400'))
CMD_TIMEOUT = 900

failures = []


def log(msg):
    print(msg, flush=True)


def check(ok, what):
    log(('  ok   ' if ok else '  FAIL ') + what)
    if not ok:
        failures.append(what)
    return ok


def find_runner():
    path = os.environ.get('BOXWOOD_VM')
    if not path and os.environ.get('BOXWOOD_BUILD_ROOT'):
        path = os.path.join(os.environ['BOXWOOD_BUILD_ROOT'], 'app', 'runner', 'boxwood-vm')
    return path


def qemu_img(*args):
    return subprocess.run(['qemu-img', *args], capture_output=True, text=True)


def read_from_image(image, fmt, path, workdir):
    """File @path of the disk image's partition 1 (bytes or None, error text), via debugfs."""
    raw = os.path.join(workdir, 'env-check.raw')
    part = os.path.join(workdir, 'env-check.part')
    r = qemu_img('convert', '-f', fmt, '-O', 'raw', image, raw)
    if r.returncode != 0:
        return None, r.stderr
    subprocess.run(['dd', f'if={raw}', f'of={part}', 'bs=1M', 'skip=1', 'status=none'],
                   check=True)
    r = subprocess.run(['debugfs', '-R', f'cat {path}', part], capture_output=True)
    os.unlink(raw)
    os.unlink(part)
    return (r.stdout if r.returncode == 0 else None), r.stderr.decode(errors='replace')


def read_grubenv(image, fmt, workdir):
    data, err = read_from_image(image, fmt, '/boot/grub/grubenv', workdir)
    return (data.decode(errors='replace') if data is not None else None), err


class Case:
    def __init__(self, name, drives, expect_listed):
        self.name = name
        self.drives = drives  # (iface, media, asset name, format)
        self.expect_listed = expect_listed


def run_read_case(runner, assets, workdir, case, want):
    d = os.path.join(workdir, case.name)
    os.makedirs(d, exist_ok=True)
    drives = []
    for iface, media, asset, fmt in case.drives:
        path = os.path.join(assets, asset)
        if media == 'disk':
            # GRUB does not write here, but a copy keeps the cached image pristine anyway.
            copy = os.path.join(d, asset)
            shutil.copyfile(path, copy)
            path = copy
        drives.append((iface, media, path, fmt))
    dbg = os.path.join(d, 'debugcon.txt')
    argv = grubconsole.boxwood_argv(runner, BIOS, os.path.join(d, 'com1'), drives, 0,
                                    debugcon=dbg)
    vm = grubconsole.Vm(argv, os.path.join(d, 'com1'), os.path.join(d, 'runner.txt'))
    result = {'name': case.name, 'argv': argv, 'dir': d}
    start = time.monotonic()
    try:
        vm.start()
        vm.wait_prompt(BOOT_TIMEOUT)
        result['boot_s'] = time.monotonic() - start
        digest, took = grubconsole.hashsum(vm, '/rand.bin', CMD_TIMEOUT)
        result['digest'] = digest
        result['hash_s'] = took
    except grubconsole.GrubTimeout as e:
        result['error'] = str(e)
    finally:
        vm.stop()
        with open(os.path.join(d, 'com1.txt'), 'wb') as f:
            f.write(vm.transcript)
    with open(dbg, 'rb') as f:
        result['listed'] = case.expect_listed.encode() in f.read()
    result['want'] = want
    return result


def report_read(result, case):
    name = result['name']
    if 'error' in result:
        check(False, f'{name}: {result["error"]}')
        log(f'  $ {" ".join(result["argv"])}\n  logs in {result["dir"]}')
        return
    check(result['listed'], f'{name}: SeaBIOS lists "{case.expect_listed}"')
    check(result['digest'] == result['want'],
          f'{name}: GRUB booted in {result["boot_s"]:.0f} s; its sha256 of /rand.bin '
          f'({result["hash_s"]:.0f} s) {result["digest"][:16]}... matches the host\'s')


def env_value(text, key):
    for line in (text or '').splitlines():
        if line.startswith(key + '='):
            return line[len(key) + 1:]
    return None


def run_write_case(runner, assets, workdir):
    d = os.path.join(workdir, 'write')
    os.makedirs(d, exist_ok=True)
    image = os.path.join(d, 'disk.vdi')
    shutil.copyfile(os.path.join(assets, 'disk-boxwood.vdi'), image)
    token = f'w{random.getrandbits(48):012x}'
    drives = [('virtio', 'disk', image, 'vdi')]
    argv = grubconsole.boxwood_argv(runner, BIOS, os.path.join(d, 'com1'), drives, 0)
    vm = grubconsole.Vm(argv, os.path.join(d, 'com1'), os.path.join(d, 'runner.txt'))
    try:
        vm.start()
        vm.wait_prompt(BOOT_TIMEOUT)
        vm.command(f'set boxwood_token={token}', 60)
        out, _ = vm.command('save_env boxwood_token', CMD_TIMEOUT)
        check('error' not in out, f'write: GRUB save_env through virtio-blk ({out.strip()!r})')
        vm.command('unset boxwood_token', 60)
        vm.command('load_env', CMD_TIMEOUT)
        out, _ = vm.command('echo token=$boxwood_token', 60)
        check(f'token={token}' in out, f'write: GRUB load_env reads back {token}')
    except grubconsole.GrubTimeout as e:
        check(False, f'write: {e}')
    finally:
        # SIGTERM powers the VM off in order: the runner flushes and closes the image.
        status = vm.stop()
        with open(os.path.join(d, 'com1.txt'), 'wb') as f:
            f.write(vm.transcript)
    check(status == 0, f'write: runner exits 0 after SIGTERM (status {status})')
    r = qemu_img('check', '-f', 'vdi', image)
    check(r.returncode == 0, f'write: qemu-img check accepts the VDI ({r.stdout.strip()} '
                             f'{r.stderr.strip()})'.strip())
    # Boxwood's and QEMU's readers must see the same disk after Boxwood wrote it.
    bx_raw = os.path.join(d, 'boxwood-read.raw')
    boxwood_img = os.environ.get('BOXWOOD_IMG')
    r = subprocess.run([boxwood_img, 'convert', '-f', 'vdi', '-O', 'raw', image, bx_raw],
                       capture_output=True, text=True)
    if check(r.returncode == 0, f'write: boxwood-img converts the VDI back {r.stderr.strip()}'):
        r = qemu_img('compare', '-f', 'vdi', '-F', 'raw', image, bx_raw)
        check(r.returncode == 0, f'write: qemu-img compare: VDI as QEMU reads it == as Boxwood '
                                 f'reads it ({r.stdout.strip()})')
        os.unlink(bx_raw)
    env, err = read_grubenv(image, 'vdi', d)
    check(env_value(env, 'boxwood_token') == token,
          f'write: the host finds boxwood_token={token} in grubenv ({err.strip()[-100:]})')


def run_kill_case(runner, assets, workdir, rounds, want):
    d = os.path.join(workdir, 'kill9')
    os.makedirs(d, exist_ok=True)
    image = os.path.join(d, 'disk.vdi')
    shutil.copyfile(os.path.join(assets, 'disk-boxwood.vdi'), image)
    loop = ('set n=a; while true; do if [ $n = a ]; then set n=b; else set n=a; fi; '
            'save_env n; done')
    for i in range(rounds):
        drives = [('virtio', 'disk', image, 'vdi')]
        argv = grubconsole.boxwood_argv(runner, BIOS, os.path.join(d, 'com1'), drives, 0)
        vm = grubconsole.Vm(argv, os.path.join(d, 'com1'), os.path.join(d, f'runner{i}.txt'))
        try:
            vm.start()
            vm.wait_prompt(BOOT_TIMEOUT)
            vm.sock.sendall(loop.encode() + b'\r')
            # Long enough for several save_env rounds even where GRUB runs emulated.
            time.sleep(random.uniform(15, 30))
            killed = vm.stop(signal.SIGKILL)
            check(killed == -signal.SIGKILL, f'kill9 round {i}: runner killed mid-write')
        except grubconsole.GrubTimeout as e:
            vm.stop(signal.SIGKILL)
            check(False, f'kill9 round {i}: {e}')
            return
        r = qemu_img('check', '-f', 'vdi', image)
        check(r.returncode == 0, f'kill9 round {i}: qemu-img check accepts the VDI '
                                 f'({(r.stdout + r.stderr).strip()[-200:]})')
    # The file GRUB never wrote must still read back intact.
    data, err = read_from_image(image, 'vdi', '/rand.bin', d)
    check(data is not None and hashlib.sha256(data).hexdigest() == want,
          f'kill9: rand.bin still reads back with its sha256 after the kills {err.strip()[-100:]}')
    env, err = read_grubenv(image, 'vdi', d)
    check(env is not None and env.startswith('# GRUB Environment Block') and
          env_value(env, 'n') in ('a', 'b'),
          f'kill9: grubenv is a valid environment block holding GRUB\'s last write '
          f'(n={env_value(env, "n")}) {err.strip()[-100:]}')


def run_multi_case(runner, assets, workdir, want):
    """One VM with every disk variant on every controller: boots boxwood-img's VDI from
    virtio-blk, GRUB hashes rand.bin on every BIOS disk, writes grubenv on the boot disk,
    then rewrites it in a loop until the runner is killed with SIGKILL."""
    d = os.path.join(workdir, 'multi')
    os.makedirs(d, exist_ok=True)
    variants = (('disk.raw', 'raw'), ('disk-qemu.vdi', 'vdi'), ('disk-boxwood.vdi', 'vdi'))
    drives = []
    # The boot disk first (--boot 0): boxwood-img's VDI on virtio-blk.
    for iface in ('virtio', 'ahci', 'ide'):
        for asset, fmt in reversed(variants):
            copy = os.path.join(d, f'{iface}-{asset}')
            shutil.copyfile(os.path.join(assets, asset), copy)
            drives.append((iface, 'disk', copy, fmt))
    image = drives[0][2]
    dbg = os.path.join(d, 'debugcon.txt')
    argv = grubconsole.boxwood_argv(runner, BIOS, os.path.join(d, 'com1'), drives, 0,
                                    debugcon=dbg)
    vm = grubconsole.Vm(argv, os.path.join(d, 'com1'), os.path.join(d, 'runner.txt'))
    token = f'w{random.getrandbits(48):012x}'
    start = time.monotonic()
    try:
        vm.start()
        vm.wait_prompt(BOOT_TIMEOUT)
        log(f'multi: GRUB up after {time.monotonic() - start:.0f} s')
        out, _ = vm.command('ls', 120)
        disks = sorted(set(re.findall(r'\(hd(\d+),msdos1\)', out)), key=int)
        check(len(disks) == len(drives),
              f'multi: GRUB sees {len(disks)} BIOS disks with a partition (want {len(drives)}): '
              f'{out.strip()[:200]}')
        for n in disks:
            digest, took = grubconsole.hashsum(vm, f'(hd{n},msdos1)/rand.bin', CMD_TIMEOUT)
            check(digest == want, f'multi: sha256 of (hd{n},msdos1)/rand.bin matches the '
                                  f'host\'s ({took:.0f} s)')
        vm.command(f'set boxwood_token={token}', 60)
        out, _ = vm.command('save_env boxwood_token', CMD_TIMEOUT)
        check('error' not in out, f'multi: GRUB save_env onto the VDI through virtio-blk '
                                  f'({out.strip()!r})')
        vm.command('unset boxwood_token', 60)
        vm.command('load_env', CMD_TIMEOUT)
        out, _ = vm.command('echo token=$boxwood_token', 60)
        check(f'token={token}' in out, f'multi: GRUB load_env reads back {token}')
        # Keep GRUB writing (save_env rewrites grubenv in place) and kill the VMM mid-write.
        vm.sock.sendall(b'set n=a; while true; do if [ $n = a ]; then set n=b; else set n=a; '
                        b'fi; save_env n; done\r')
        time.sleep(random.uniform(15, 30))
        killed = vm.stop(signal.SIGKILL)
        check(killed == -signal.SIGKILL, 'multi: runner killed with SIGKILL while GRUB writes')
    except grubconsole.GrubTimeout as e:
        check(False, f'multi: {e}')
        log(f'  $ {" ".join(argv)}')
        return
    finally:
        vm.stop(signal.SIGKILL)
        with open(os.path.join(d, 'com1.txt'), 'wb') as f:
            f.write(vm.transcript)
    r = qemu_img('check', '-f', 'vdi', image)
    check(r.returncode == 0, f'multi: qemu-img check accepts the VDI after the kill '
                             f'({(r.stdout + r.stderr).strip()[-200:]})')
    bx_raw = os.path.join(d, 'boxwood-read.raw')
    r = subprocess.run([os.environ['BOXWOOD_IMG'], 'convert', '-f', 'vdi', '-O', 'raw', image,
                        bx_raw], capture_output=True, text=True)
    if check(r.returncode == 0, f'multi: boxwood-img converts the VDI back {r.stderr.strip()}'):
        r = qemu_img('compare', '-f', 'vdi', '-F', 'raw', image, bx_raw)
        check(r.returncode == 0, f'multi: qemu-img compare: the VDI as QEMU reads it == as '
                                 f'Boxwood reads it ({r.stdout.strip()})')
        os.unlink(bx_raw)
    env, err = read_grubenv(image, 'vdi', d)
    check(env_value(env, 'boxwood_token') == token and env_value(env, 'n') in ('a', 'b'),
          f'multi: the host finds boxwood_token={token} and the loop\'s n= in grubenv '
          f'(n={env_value(env, "n")}) {err.strip()[-100:]}')
    data, err = read_from_image(image, 'vdi', '/rand.bin', d)
    check(data is not None and hashlib.sha256(data).hexdigest() == want,
          f'multi: rand.bin still reads back after the kill {err.strip()[-100:]}')


def main():
    if not grubconsole.have_kvm():
        log('SKIP: no usable /dev/kvm')
        return SKIP
    runner = find_runner()
    if not runner or not os.access(runner, os.X_OK):
        log(f'SKIP: runner not built: {runner}')
        return SKIP
    if not os.path.exists(BIOS):
        log(f'SKIP: {BIOS} missing')
        return SKIP
    for tool in ('grub-mkrescue', 'xorriso', 'mke2fs', 'debugfs', 'qemu-img'):
        if shutil.which(tool) is None:
            log(f'SKIP: {tool} missing (scripts/install-deps.sh)')
            return SKIP
    boxwood_img = os.environ.get('BOXWOOD_IMG')
    if boxwood_img and not os.access(boxwood_img, os.X_OK):
        boxwood_img = None
    assets = os.environ.get('BOXWOOD_STORAGE_ASSETS') or os.path.join(
        tempfile.gettempdir(), 'boxwood-storage-assets')
    cmd = [os.path.join(HERE, 'mk-storage-assets.sh')]
    if boxwood_img:
        cmd += ['--boxwood-img', boxwood_img]
    r = subprocess.run(cmd + [assets], capture_output=True, text=True)
    if r.returncode != 0:
        log(f'FAIL: mk-storage-assets.sh: {r.stderr.strip()[-500:]}')
        return 1
    with open(os.path.join(assets, 'rand.sha256')) as f:
        want = f.read().strip()
    with open(os.path.join(assets, 'rand.bin'), 'rb') as f:
        check(hashlib.sha256(f.read()).hexdigest() == want, 'host: rand.sha256 is right')

    listed = {'ide': 'ata0-0: BOXWOOD', 'ahci': 'AHCI/0: BOXWOOD', 'virtio': 'found virtio-blk'}
    cases = [
        Case('iso-ide', [('ide', 'cdrom', 'grub.iso', 'raw')], 'DVD/CD [ata0-0: BOXWOOD CD-ROM'),
        Case('iso-ahci', [('ahci', 'cdrom', 'grub.iso', 'raw')], 'DVD/CD [AHCI/0: BOXWOOD CD-ROM'),
    ]
    for iface in ('virtio', 'ahci', 'ide'):
        for tag, asset, fmt in (('raw', 'disk.raw', 'raw'), ('qvdi', 'disk-qemu.vdi', 'vdi'),
                                ('bvdi', 'disk-boxwood.vdi', 'vdi')):
            cases.append(Case(f'disk-{iface}-{tag}', [(iface, 'disk', asset, fmt)],
                              listed[iface]))
    # By default: both CD-ROM controllers, one boot per disk variant on every controller,
    # the nine-disk VM (multi) and GRUB save_env (write); kill9 runs when named (the
    # disk-crash test covers kills during guest writes).
    default = ['iso-ide', 'iso-ahci', 'multi', 'write'] + \
        [c.name for c in cases if c.name.startswith('disk-')]
    wanted = os.environ.get('BOXWOOD_STORAGE_CASES', ','.join(default)).split(',')
    selected = [c for c in cases if c.name in wanted]
    if not boxwood_img:
        log('SKIP: BOXWOOD_IMG (boxwood-img) is needed for the VDI cases')
        return SKIP
    do_write = 'write' in wanted
    do_kill = 'kill9' in wanted
    do_multi = 'multi' in wanted
    rounds = int(os.environ.get('BOXWOOD_STORAGE_KILL_ROUNDS', '2'))

    workdir = tempfile.mkdtemp(prefix='boxwood-storage-')
    jobs = max(1, int(os.environ.get('BOXWOOD_STORAGE_JOBS', '3')))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_read_case, runner, assets, workdir, c, want): c
                       for c in selected}
            extra = []
            if do_write:
                extra.append(pool.submit(run_write_case, runner, assets, workdir))
            if do_kill:
                extra.append(pool.submit(run_kill_case, runner, assets, workdir, rounds, want))
            if do_multi:
                extra.append(pool.submit(run_multi_case, runner, assets, workdir, want))
            for fut in concurrent.futures.as_completed(futures):
                case = futures[fut]
                log(f'{case.name}:')
                report_read(fut.result(), case)
            for fut in extra:
                fut.result()
    finally:
        if os.environ.get('BOXWOOD_KEEP_LOGS') or failures:
            log(f'logs kept in {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f'{len(failures)} failed check(s)')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
