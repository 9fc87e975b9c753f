#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bench double for boxwood-vm: serves org.boxwood.Runner1 and org.boxwood.Console1 on
$XDG_RUNTIME_DIR/boxwood/vm-<uuid>.sock with a WIDTHxHEIGHT XRGB8888 surface in a memfd
whose every pixel changes RATE times a second, each change announced as one full-screen
Damage signal. Prints "emit <CLOCK_MONOTONIC µs>" per Damage on stderr, so bench-gui.py
can measure the viewer's damage-to-paint latency and CPU cost without a guest's own
rendering in the way.

    fake-console-runner.py --startvm UUID [--headless]
Environment: BOXWOOD_SOURCE_ROOT (for the interface XML), BENCH_WIDTH/HEIGHT/RATE
(default 1920x1080 at 60).
"""
import mmap
import os
import sys
import time

import gi
gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib

args = sys.argv[1:]
if len(args) < 2 or args[0] != "--startvm":
    print("usage: fake-console-runner.py --startvm UUID [--headless]", file=sys.stderr)
    sys.exit(2)
uuid = args[1].strip("{}").lower()
W = int(os.environ.get("BENCH_WIDTH", "1920"))
H = int(os.environ.get("BENCH_HEIGHT", "1080"))
RATE = int(os.environ.get("BENCH_RATE", "60"))
STRIDE = W * 4
XR24 = 0x34325258

root = os.environ["BOXWOOD_SOURCE_ROOT"]
ifaces = {}
for name in ("Runner1", "Console1"):
    with open(os.path.join(root, "data", "dbus", f"org.boxwood.{name}.xml")) as f:
        ifaces[name] = Gio.DBusNodeInfo.new_for_xml(f.read()).interfaces[0]

fd = os.memfd_create("bench-surface")
os.ftruncate(fd, STRIDE * H)
pixels = mmap.mmap(fd, STRIDE * H)
# Four whole frames, so a frame change is one 8 MB copy rather than a Python loop.
frames = [bytes([v, 255 - v, (v * 7) & 255, 0]) * (W * H) for v in (0, 85, 170, 255)]
frame = 0
state = "starting"
connections = []
loop = GLib.MainLoop()
rundir = os.path.join(os.environ["XDG_RUNTIME_DIR"], "boxwood")
sock = os.path.join(rundir, f"vm-{uuid}.sock")


def emit(name, iface, sig, params):
    for c in list(connections):
        if not c.is_closed():
            c.emit_signal(None, "/org/boxwood/Runner", f"org.boxwood.{iface}", sig, params)


def draw():
    global frame
    frame += 1
    pixels[:] = frames[frame & 3]
    print(f"emit {time.monotonic_ns() // 1000}", file=sys.stderr, flush=True)
    emit("", "Console1", "Damage", GLib.Variant("(a(iiii))", ([(0, 0, W, H)],)))
    return True


def on_runner_call(conn, sender, path, iface, method, params, inv):
    global state
    if method in ("PowerOff", "AcpiPowerButton"):
        inv.return_value(None)
        state = "poweroff"
        emit("", "Runner1", "StateChanged", GLib.Variant("(ss)", (state, "bench done")))
        GLib.timeout_add(100, lambda: (os.unlink(sock), loop.quit()))
        return
    inv.return_value(None)


def on_runner_get(conn, sender, path, iface, prop):
    return {
        "MachineUuid": GLib.Variant("s", "{" + uuid + "}"),
        "SettingsPath": GLib.Variant("s", ""),
        "Pid": GLib.Variant("u", os.getpid()),
        "State": GLib.Variant("s", state),
        "Frontend": GLib.Variant("s", "gui"),
    }[prop]


def on_console_call(conn, sender, path, iface, method, params, inv):
    if method == "GetSurface":
        fds = Gio.UnixFDList.new()
        idx = fds.append(fd)
        inv.return_value_with_unix_fd_list(
            GLib.Variant("(huuuu)", (idx, W, H, STRIDE, XR24)), fds)
        return
    inv.return_value(None)


def on_console_get(conn, sender, path, iface, prop):
    return GLib.Variant("u", W if prop == "Width" else H)


def on_new_connection(server, conn):
    conn.register_object("/org/boxwood/Runner", ifaces["Runner1"], on_runner_call,
                         on_runner_get, None)
    conn.register_object("/org/boxwood/Runner", ifaces["Console1"], on_console_call,
                         on_console_get, None)
    connections.append(conn)
    return True


def boot():
    global state
    state = "running"
    emit("", "Runner1", "StateChanged", GLib.Variant("(ss)", (state, "bench")))
    GLib.timeout_add(max(1, 1000 // RATE), draw)
    return False


os.makedirs(rundir, mode=0o700, exist_ok=True)
if os.path.exists(sock):
    os.unlink(sock)
server = Gio.DBusServer.new_sync("unix:path=" + sock, Gio.DBusServerFlags.NONE,
                                 Gio.dbus_generate_guid(), None, None)
server.connect("new-connection", on_new_connection)
server.start()
GLib.timeout_add(200, boot)
loop.run()
