#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""GUI benchmarks (issue 5), under Xvfb:

1. First frame of the manager with N registered machines (default 500): time from
   starting `boxwood` until the first frame painted with the whole list (the app's
   BOXWOOD_BENCH "first-frame" line), median of RUNS.
2. A display window on a 1920x1080 console whose every pixel changes 60 times a second
   (fake-console-runner.py serves the real org.boxwood.Console1 protocol: memfd surface +
   Damage signals): damage-to-paint latency (D-Bus delivery + texture upload + paint,
   from the emitter's timestamp to the window's after-paint) and the app's CPU time per
   second of that load.

    bench/gui/bench-gui.py BUILD_DIR [MACHINES [RUNS]]

There is no QEMU counterpart for these (QEMU's GTK UI is a different program); the
numbers are reported on their own. The guest side of a frame (a guest write reaching
the surface) adds at most one refresh period of the console: 33 ms at 30 Hz.
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
procs = []


def spawn(cmd, env, **kw):
    p = subprocess.Popen(cmd, env=env, **kw)
    procs.append(p)
    return p


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    tick = os.sysconf('SC_CLK_TCK')
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime


def read_lines(path, prefix):
    try:
        with open(path) as f:
            return [l.split() for l in f if l.startswith(prefix)]
    except FileNotFoundError:
        return []


def wait_for(pred, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build')
    machines = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    gui = os.path.join(build, 'app', 'gui', 'boxwood')
    manage = os.path.join(build, 'app', 'manage', 'boxwood-manage')
    svc = os.path.join(build, 'app', 'service', 'boxwood-svc')
    for b in (gui, manage, svc):
        if not os.access(b, os.X_OK):
            sys.exit(f'bench-gui: {b} is not built')
    for tool in ('Xvfb', 'dbus-daemon', 'gdbus'):
        if not shutil.which(tool):
            sys.exit(f'bench-gui: {tool} is missing (scripts/install-deps.sh)')

    work = tempfile.mkdtemp(prefix='bench-gui-')
    runtime = os.path.join(work, 'run')
    os.makedirs(runtime, mode=0o700)
    env = dict(os.environ)
    env.update({
        'HOME': os.path.join(work, 'home'), 'BOXWOOD_USER_HOME': os.path.join(work, 'cfg'),
        'XDG_RUNTIME_DIR': runtime, 'BOXWOOD_SVC': svc,
        'BOXWOOD_VM': os.path.join(HERE, 'fake-console-runner.py'),
        'BOXWOOD_SOURCE_ROOT': os.path.dirname(os.path.dirname(HERE)),
        'GSETTINGS_SCHEMA_DIR': os.path.join(build, 'data'), 'GSETTINGS_BACKEND': 'memory',
        'BOXWOOD_BENCH': '1', 'NO_AT_BRIDGE': '1',
    })
    os.makedirs(env['HOME'])
    try:
        n = 99
        while os.path.exists(f'/tmp/.X11-unix/X{n}'):
            n += 1
        spawn(['Xvfb', f':{n}', '-screen', '0', '2560x1600x24', '-nolisten', 'tcp'], env,
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(f'/tmp/.X11-unix/X{n}'), 20)
        env['DISPLAY'] = f':{n}'
        bus = spawn(['dbus-daemon', '--session', '--nofork', '--print-address=1'], env,
                    stdout=subprocess.PIPE, text=True)
        env['DBUS_SESSION_BUS_ADDRESS'] = bus.stdout.readline().strip()

        t = time.monotonic()
        for i in range(machines):
            subprocess.run([manage, 'createvm', '--name', f'bench-{i:04d}', '--ostype',
                            'Debian_64', '--register'], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        print(f'registered {machines} machines with boxwood-manage in '
              f'{time.monotonic() - t:.1f} s')

        first = []
        for r in range(runs):
            log = os.path.join(work, f'gui-{r}.log')
            t0 = time.monotonic_ns() // 1000
            p = spawn([gui], env, stderr=open(log, 'w'), stdout=subprocess.DEVNULL)
            line = wait_for(lambda: read_lines(log, 'boxwood-bench first-frame'), 120)
            if line:
                ms = (int(line[0][2]) - t0) / 1000
                first.append(ms)
                print(f'run {r}: first frame with {line[0][4]} machines after {ms:.0f} ms')
            p.send_signal(signal.SIGTERM)
            p.wait(10)
        if first:
            print(f'first frame, {machines} machines: median {statistics.median(first):.0f} ms '
                  f'(runs: {", ".join(f"{v:.0f}" for v in first)})')

        # Display: a 1080p console changing every pixel at 60 Hz.
        subprocess.run([manage, 'createvm', '--name', 'display-bench', '--ostype', 'Debian_64',
                        '--register'], env=env, check=True, stdout=subprocess.DEVNULL)
        log = os.path.join(work, 'gui-display.log')
        p = spawn([gui], env, stderr=open(log, 'w'), stdout=subprocess.DEVNULL)
        wait_for(lambda: read_lines(log, 'boxwood-bench first-frame'), 120)
        subprocess.run(['gdbus', 'call', '--session', '--dest', 'org.boxwood.Boxwood',
                        '--object-path', '/org/boxwood/Boxwood', '--method',
                        'org.gtk.Actions.Activate', 'start-machine', "[<'display-bench'>]", '{}'],
                       env=env, stdout=subprocess.DEVNULL)
        if not wait_for(lambda: len(read_lines(log, 'boxwood-bench paint')) > 30, 120):
            print('display: the window did not paint frames; see', log)
            return 1
        c0, t0 = cpu_seconds(p.pid), time.monotonic()
        time.sleep(10)
        c1, t1 = cpu_seconds(p.pid), time.monotonic()
        paints = read_lines(log, 'boxwood-bench paint')
        lat = [int(x[3]) / 1000 for x in paints[10:]]
        print(f'display 1920x1080, every pixel changing at 60 Hz: app CPU '
              f'{100 * (c1 - c0) / (t1 - t0):.0f}% of one core; {len(paints)} frames painted; '
              f'damage receipt to paint: median {statistics.median(lat):.1f} ms, '
              f'p95 {sorted(lat)[int(len(lat) * 0.95)]:.1f} ms')
        p.send_signal(signal.SIGTERM)
        p.wait(10)
    finally:
        for q in reversed(procs):
            if q.poll() is None:
                q.kill()
        needle = f'XDG_RUNTIME_DIR={runtime}'.encode()
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{pid}/environ', 'rb') as f:
                    if needle in f.read().split(b'\0'):
                        os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
