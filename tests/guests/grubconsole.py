# SPDX-License-Identifier: GPL-3.0-or-later
"""Drives GRUB's command line over a VM's COM1 (a Unix socket) for the storage tests and
bench/storage. The images come from tests/guests/mk-storage-assets.sh: their grub.cfg puts
GRUB on the serial port, prints READY and leaves GRUB at its grub> prompt.

Works with boxwood-vm (--serial unix:PATH, the runner listens) and with QEMU
(-chardev socket,server=on,wait=off), so the same scripts run against both.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

READY = b'BOXWOOD-GRUB-READY'
PROMPT = b'grub> '
ANSI = re.compile(rb'\x1b\[[0-9;?]*[A-Za-z]')


class GrubTimeout(Exception):
    pass


class Vm:
    """One VM whose COM1 is a Unix socket; stdout/stderr go to a file."""

    def __init__(self, argv, sock_path, log_path):
        self.argv = argv
        self.sock_path = sock_path
        self.log_path = log_path
        self.proc = None
        self.sock = None
        self.buf = b''
        self.transcript = b''

    def start(self, timeout=30):
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise GrubTimeout(f'VM exited with status {self.proc.returncode} before COM1 '
                                  f'was up')
            if os.path.exists(self.sock_path):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.sock_path)
                    break
                except OSError:
                    s.close()
            if time.monotonic() > end:
                raise GrubTimeout('COM1 socket never appeared')
            time.sleep(0.05)
        s.settimeout(0.2)
        self.sock = s

    def expect(self, pattern, timeout):
        """Reads until the regex @pattern (bytes) matches; returns the text up to its end."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                text = self.buf[:m.end()]
                self.buf = self.buf[m.end():]
                return text
            if time.monotonic() > end:
                raise GrubTimeout(f'no {pattern!r} within {timeout:.0f} s; last output: '
                                  f'{self.buf[-300:]!r}')
            if self.proc.poll() is not None:
                raise GrubTimeout(f'VM exited with status {self.proc.returncode} waiting for '
                                  f'{pattern!r}')
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                raise GrubTimeout(f'COM1: {e}')
            if not data:
                raise GrubTimeout('COM1 closed')
            data = ANSI.sub(b'', data)
            self.buf += data
            self.transcript += data

    def wait_prompt(self, timeout):
        """Waits for GRUB's banner from grub.cfg and then its prompt."""
        self.expect(re.escape(READY), timeout)
        self.expect(re.escape(PROMPT), 60)

    def command(self, line, timeout):
        """Types @line at the grub> prompt; returns (output text, seconds until the prompt
        came back). GRUB echoes what it gets, so the output starts after the echo."""
        self.buf = b''
        start = time.monotonic()
        # GRUB's serial input has no flow control: type in small pieces.
        data = line.encode() + b'\r'
        for i in range(0, len(data), 16):
            self.sock.sendall(data[i:i + 16])
            time.sleep(0.02)
        text = self.expect(re.escape(PROMPT), timeout)
        took = time.monotonic() - start
        text = text[:-len(PROMPT)].decode('utf-8', errors='replace')
        echo = text.find(line)
        if echo >= 0:
            text = text[echo + len(line):]
        return text.replace('\r', ''), took

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
            return self.proc.returncode
        return None


def hashsum(vm, path, timeout):
    """GRUB's hashsum --hash sha256 of @path in the guest; returns (hex digest, seconds)."""
    out, took = vm.command(f'hashsum --hash sha256 {path}', timeout)
    m = re.search(r'\b([0-9a-f]{64})\s', out)
    if not m:
        raise GrubTimeout(f'no sha256 in GRUB\'s answer: {out.strip()[-300:]!r}')
    return m.group(1), took


def qemu_argv(qemu, bios, sock_path, drives, boot_first, memory=256):
    """QEMU command line with the same firmware and controllers as boxwood-vm's --drive.
    @drives: (iface, media, path, format) with iface virtio|ide|ahci, as in --drive order."""
    argv = [qemu, '-accel', 'kvm', '-M', 'pc', '-m', str(memory), '-bios', bios,
            '-display', 'none', '-vga', 'none', '-nodefaults', '-net', 'none',
            '-chardev', f'socket,id=com1,path={sock_path},server=on,wait=off',
            '-serial', 'chardev:com1', '-monitor', 'none']
    ide_unit = ahci_port = 0
    slot = 3
    have_ahci = False
    for i, (iface, media, path, fmt) in enumerate(drives):
        drv = f'-drive if=none,id=d{i},file={path},format={fmt}'
        if media == 'cdrom':
            drv += ',media=cdrom,readonly=on'
        argv += drv.split(' ', 1)
        bootindex = f',bootindex={1 if i == boot_first else 10 + i}'
        if iface == 'ide':
            kind = 'ide-cd' if media == 'cdrom' else 'ide-hd'
            argv += ['-device', f'{kind},drive=d{i},bus=ide.{ide_unit // 2},'
                                f'unit={ide_unit % 2}{bootindex}']
            ide_unit += 1
        elif iface == 'ahci':
            if not have_ahci:
                argv += ['-device', 'ich9-ahci,id=ahci,addr=4']
                have_ahci = True
            kind = 'ide-cd' if media == 'cdrom' else 'ide-hd'
            argv += ['-device', f'{kind},drive=d{i},bus=ahci.{ahci_port}{bootindex}']
            ahci_port += 1
        else:
            if slot == 4:
                slot = 5
            argv += ['-device', f'virtio-blk-pci,drive=d{i},addr={slot}{bootindex}']
            slot += 1
    return argv


def boxwood_argv(runner, bios, sock_path, drives, boot_first, memory=256, debugcon=None):
    argv = [runner, '--bios', bios, '--memory', str(memory), '--nographic',
            '--serial', f'unix:{sock_path}']
    if debugcon:
        argv += ['--debugcon', f'file:{debugcon}']
    for iface, media, path, fmt in drives:
        argv += ['--drive', f'file={path},if={iface},media={media},format={fmt}']
    argv += ['--boot', str(boot_first)]
    return argv


def have_kvm():
    return os.path.exists('/dev/kvm') and os.access('/dev/kvm', os.R_OK | os.W_OK)


def which(name):
    return shutil.which(name)
