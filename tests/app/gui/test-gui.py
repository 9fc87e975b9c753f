#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop app under Xvfb, end to end.

1. A machine is created with boxwood-manage (GRUB ISO on IDE, COM1 to a file, std VGA).
2. The app starts; its manager lists the machine (read from the accessibility tree, as
   a screen reader would) - and a machine created with the CLI while the app runs
   appears too.
3. The machine is started through the app (the "start-machine" action on the session
   bus, what a desktop shortcut would use); the display window opens. Its pixels, at
   1:1 scale, must contain the guest screen as the runner itself renders it
   (controlvm screenshotpng) - while SeaBIOS runs and again at GRUB's prompt.
4. Keys typed into the window (xdotool, real X key events) reach GRUB's command line:
   the echo shows up on the guest's serial port.
5. Closing the window and answering "Keep Running" leaves the runner alive; the
   "show-machine" action opens a new window that shows the guest again.
6. Screenshots of the manager and the display window are written to
   BOXWOOD_SCREENSHOT_DIR when set (data/screenshots/ is made from them).

Exit 77 (skip) without Xvfb/xdotool/ImageMagick/AT-SPI, grub-mkrescue or /dev/kvm.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
NAME = 'GuiTest'
GRUB_MARKER = 'BOXWOOD-GUI-GRUB'
TYPED = 'echo typed-in-window'
TIMEOUT = float(os.environ.get('BOXWOOD_GUEST_TIMEOUT', '600'))
failures = []
procs = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    log(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        failures.append(what)
    return cond


def wait_for(pred, timeout, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', errors='replace')
    except FileNotFoundError:
        return ''


def spawn(cmd, env, **kw):
    p = subprocess.Popen(cmd, env=env, **kw)
    procs.append(p)
    return p


def start_xvfb(env):
    for n in range(90, 130):
        if not os.path.exists(f'/tmp/.X11-unix/X{n}') and not os.path.exists(f'/tmp/.X{n}-lock'):
            break
    spawn(['Xvfb', f':{n}', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], env,
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_for(lambda: os.path.exists(f'/tmp/.X11-unix/X{n}'), 20):
        return None
    return f':{n}'


def start_session_bus(env):
    p = spawn(['dbus-daemon', '--session', '--nofork', '--print-address=1'], env,
              stdout=subprocess.PIPE, text=True)
    return p.stdout.readline().strip()


def manage(env, *args, check_rc=True):
    r = subprocess.run([env['BOXWOOD_MANAGE'], *args], env=env, capture_output=True, text=True,
                       timeout=120)
    if check_rc:
        check(r.returncode == 0, f'boxwood-manage {" ".join(args)}: rc {r.returncode} '
                                 f'{r.stderr.strip()[-300:]}')
    return r


def rgb(path):
    """(width, height, bytes) of an image as packed RGB."""
    wh = subprocess.run(['identify', '-format', '%w %h', path], capture_output=True,
                        text=True).stdout.split()
    data = subprocess.run(['convert', path, '-depth', '8', 'rgb:-'], capture_output=True).stdout
    return int(wh[0]), int(wh[1]), data


def contains_image(big_path, small_path):
    """Fraction of the small image's rows found at one offset inside the big image."""
    bw, bh, big = rgb(big_path)
    sw, sh, small = rgb(small_path)
    if sw > bw or sh > bh or not small:
        return 0.0
    rows = [small[y * sw * 3:(y + 1) * sw * 3] for y in range(sh)]
    # Anchor on a row with detail (not one colour) so a black row cannot match anywhere.
    anchor = next((y for y, r in enumerate(rows) if len(set(r[i:i + 3] for i in
                                                          range(0, len(r), 3))) > 2), None)
    if anchor is None:
        return 0.0
    start = 0
    best = 0.0
    while True:
        pos = big.find(rows[anchor], start)
        if pos < 0:
            return best
        start = pos + 1
        x3 = pos % (bw * 3)
        if x3 % 3 or x3 + sw * 3 > bw * 3:
            continue
        top = pos // (bw * 3) - anchor
        if top < 0 or top + sh > bh:
            continue
        same = sum(1 for y in range(sh)
                   if big[(top + y) * bw * 3 + x3:(top + y) * bw * 3 + x3 + sw * 3] == rows[y])
        best = max(best, same / sh)
        if best > 0.97:
            return best


def window_id(env, pattern):
    r = subprocess.run(['xdotool', 'search', '--onlyvisible', '--name', pattern], env=env,
                       capture_output=True, text=True)
    ids = r.stdout.split()
    return ids[-1] if ids else None


def screenshot(env, win, path):
    r = subprocess.run(['import', '-window', win, path], env=env, capture_output=True)
    return r.returncode == 0 and os.path.exists(path)


def atspi_names(app_name):
    from gi.repository import Atspi
    names = set()
    desktop = Atspi.get_desktop(0)
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        if app is None or (app.get_name() or '').lower() != app_name:
            continue
        stack = [app]
        while stack and len(names) < 5000:
            node = stack.pop()
            try:
                if node.get_name():
                    names.add(node.get_name())
                for j in range(node.get_child_count()):
                    c = node.get_child_at_index(j)
                    if c is not None:
                        stack.append(c)
            except Exception:
                continue
    return names


def gapp_action(env, name, arg):
    return subprocess.run(
        ['gdbus', 'call', '--session', '--dest', 'org.boxwood.Boxwood', '--object-path',
         '/org/boxwood/Boxwood', '--method', 'org.gtk.Actions.Activate', name,
         f"[<'{arg}'>]", '{}'], env=env, capture_output=True, text=True, timeout=30)


def window_action(env, name):
    """Activates a window action on the newest window the application exported."""
    r = subprocess.run(['gdbus', 'introspect', '--session', '--dest', 'org.boxwood.Boxwood',
                        '--object-path', '/org/boxwood/Boxwood/window'], env=env,
                       capture_output=True, text=True)
    ids = sorted(int(w.split()[1].rstrip('{').strip()) for w in r.stdout.splitlines()
                 if w.strip().startswith('node ') and w.split()[1].rstrip('{').strip().isdigit())
    if not ids:
        return False
    r = subprocess.run(['gdbus', 'call', '--session', '--dest', 'org.boxwood.Boxwood',
                        '--object-path', f'/org/boxwood/Boxwood/window/{ids[-1]}', '--method',
                        'org.gtk.Actions.Activate', name, '[]', '{}'], env=env,
                       capture_output=True, text=True)
    return r.returncode == 0


def guest_matches_window(env, workdir, tag, window_pattern):
    """Runner screenshot vs. the display window's pixels; returns the match fraction."""
    guest = os.path.join(workdir, f'guest-{tag}.png')
    shot = os.path.join(workdir, f'window-{tag}.png')
    r = manage(env, 'controlvm', NAME, 'screenshotpng', guest, check_rc=False)
    win = window_id(env, window_pattern)
    if r.returncode != 0 or not win or not screenshot(env, win, shot):
        return 0.0, shot
    return contains_image(shot, guest), shot


def kill_strays(runtime):
    """Runners and services live in their own sessions: find ours by their runtime dir."""
    needle = f'XDG_RUNTIME_DIR={runtime}'.encode()
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/environ', 'rb') as f:
                if needle in f.read().split(b'\0'):
                    os.kill(int(pid), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def main():
    build = os.environ.get('BOXWOOD_BUILD_ROOT', '')
    bins = {
        'BOXWOOD_GUI': os.path.join(build, 'app', 'gui', 'boxwood'),
        'BOXWOOD_MANAGE': os.path.join(build, 'app', 'manage', 'boxwood-manage'),
        'BOXWOOD_SVC': os.path.join(build, 'app', 'service', 'boxwood-svc'),
        'BOXWOOD_VM': os.path.join(build, 'app', 'runner', 'boxwood-vm'),
    }
    for k, v in bins.items():
        if not os.access(v, os.X_OK):
            log(f'SKIP: {k} not built ({v})')
            return SKIP
    for tool in ('Xvfb', 'xdotool', 'import', 'convert', 'identify', 'dbus-daemon', 'gdbus',
                 'grub-mkrescue', 'xorriso'):
        if shutil.which(tool) is None:
            log(f'SKIP: {tool} is not installed (scripts/install-deps.sh installs it)')
            return SKIP
    try:
        import gi
        gi.require_version('Atspi', '2.0')
    except (ImportError, ValueError):
        log('SKIP: python3-gi with Atspi 2.0 is needed (gir1.2-atspi-2.0)')
        return SKIP
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        log('SKIP: /dev/kvm is missing or not accessible (the test boots a guest)')
        return SKIP

    workdir = tempfile.mkdtemp(prefix='boxwood-gui-')
    env = dict(os.environ)
    env.update(bins)
    runtime = os.path.join(workdir, 'run')
    os.makedirs(runtime, mode=0o700)
    env.update({
        'HOME': os.path.join(workdir, 'home'),
        'BOXWOOD_USER_HOME': os.path.join(workdir, 'config'),
        'XDG_CONFIG_HOME': os.path.join(workdir, 'xdg-config'),
        'XDG_RUNTIME_DIR': runtime,
        'GSETTINGS_SCHEMA_DIR': os.path.join(build, 'data'),
        'GSETTINGS_BACKEND': 'memory',
        'GTK_A11Y': 'atspi',
        'LANG': 'C.UTF-8',
    })
    env.pop('NO_AT_BRIDGE', None)
    os.makedirs(env['HOME'])
    serial = os.path.join(workdir, 'serial.txt')
    try:
        # The guest: GRUB from an ISO, talking on both the screen and COM1.
        root = os.path.join(workdir, 'iso')
        os.makedirs(os.path.join(root, 'boot', 'grub'))
        with open(os.path.join(root, 'boot', 'grub', 'grub.cfg'), 'w') as f:
            f.write('serial --unit=0 --speed=115200\n'
                    'terminal_input console serial\n'
                    'terminal_output console serial\n'
                    f'echo {GRUB_MARKER}\n')
        iso = os.path.join(workdir, 'grub.iso')
        r = subprocess.run(['grub-mkrescue', '-o', iso, root], capture_output=True, text=True)
        if r.returncode != 0:
            log(f'SKIP: grub-mkrescue failed: {r.stderr[-300:]}')
            return SKIP

        display = start_xvfb(env)
        if not check(display is not None, 'Xvfb started'):
            return 1
        env['DISPLAY'] = display
        env['DBUS_SESSION_BUS_ADDRESS'] = start_session_bus(env)
        os.environ['DBUS_SESSION_BUS_ADDRESS'] = env['DBUS_SESSION_BUS_ADDRESS']

        manage(env, 'createvm', '--name', NAME, '--ostype', 'Debian_64', '--register')
        manage(env, 'modifyvm', NAME, '--memory', '128', '--boot1', 'dvd',
               '--graphicscontroller', 'vmsvga', '--uart1', '0x3f8', '4',
               '--uartmode1', 'file', serial)
        manage(env, 'storagectl', NAME, '--name', 'IDE', '--add', 'ide')
        manage(env, 'storageattach', NAME, '--storagectl', 'IDE', '--port', '1', '--device',
               '0', '--type', 'dvddrive', '--medium', iso)

        app = spawn([env['BOXWOOD_GUI']], env, stdout=open(os.path.join(workdir, 'app.log'), 'w'),
                    stderr=subprocess.STDOUT)
        manager = wait_for(lambda: window_id(env, '^Boxwood$'), 60)
        if not check(manager is not None, 'the manager window appeared'):
            return 1
        names = wait_for(lambda: NAME in atspi_names('boxwood') and atspi_names('boxwood'), 30)
        check(bool(names) and NAME in names, f'the manager lists "{NAME}" (accessibility tree)')
        manage(env, 'createvm', '--name', 'MadeWhileRunning', '--ostype', 'Windows10_64',
               '--register')
        check(bool(wait_for(lambda: 'MadeWhileRunning' in atspi_names('boxwood'), 30)),
              'a machine created with the CLI while the app runs appears in the list')
        shots = os.environ.get('BOXWOOD_SCREENSHOT_DIR')
        if shots:
            os.makedirs(shots, exist_ok=True)
            screenshot(env, manager, os.path.join(shots, 'manager.png'))

        r = gapp_action(env, 'start-machine', NAME)
        check(r.returncode == 0, f'start-machine action: {r.stderr.strip()}')
        display_win = wait_for(lambda: window_id(env, f'^{NAME}$'), 120)
        if not check(display_win is not None, 'the display window opened'):
            return 1
        # 1:1 so the window holds the guest's pixels unscaled.
        check(window_action(env, 'scale'), 'switched the display window to 1:1')

        # SeaBIOS: match while GRUB has not spoken yet.
        seabios_seen = False
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end and GRUB_MARKER not in read_text(serial):
            frac, _ = guest_matches_window(env, workdir, 'seabios', f'^{NAME}$')
            if frac > 0.9 and GRUB_MARKER not in read_text(serial) and \
                    'SeaBIOS' in read_text(serial):
                seabios_seen = True
                break
            time.sleep(0.5)
        check(seabios_seen, 'the window showed the guest screen while SeaBIOS ran')
        check(bool(wait_for(lambda: GRUB_MARKER in read_text(serial), TIMEOUT, 1)),
              'GRUB started (marker on COM1)')
        time.sleep(2)
        frac, shot = guest_matches_window(env, workdir, 'grub', f'^{NAME}$')
        check(frac > 0.9, f'the window shows GRUB as the runner renders it ({frac:.0%} of rows)')
        if shots and os.path.exists(shot):
            shutil.copyfile(shot, os.path.join(shots, 'display.png'))

        # Type into the window: click to grab, then real key events.
        subprocess.run(['xdotool', 'windowactivate', '--sync', display_win], env=env)
        subprocess.run(['xdotool', 'mousemove', '--window', display_win, '400', '300', 'click',
                        '1'], env=env)
        time.sleep(0.5)
        subprocess.run(['xdotool', 'type', '--delay', '150', TYPED], env=env)
        subprocess.run(['xdotool', 'key', '--delay', '150', 'Return'], env=env)
        check(bool(wait_for(lambda: 'typed-in-window' in read_text(serial).split(TYPED)[-1]
                            if TYPED in read_text(serial) else False, 120, 0.5)),
              'keys typed into the window reached GRUB (its echo is on COM1)')

        # Close with "Keep Running": release the grab (host key), Ctrl+W, Enter = default.
        subprocess.run(['xdotool', 'key', 'Control_R'], env=env)
        time.sleep(0.3)
        subprocess.run(['xdotool', 'key', 'ctrl+w'], env=env)
        time.sleep(1)
        subprocess.run(['xdotool', 'key', 'Return'], env=env)
        check(bool(wait_for(lambda: window_id(env, f'^{NAME}$') is None, 20)),
              'the display window closed')
        time.sleep(2)
        r = manage(env, 'list', 'runningvms', check_rc=False)
        check(NAME in r.stdout, f'the machine keeps running after "Keep Running" ({r.stdout.strip()})')

        r = gapp_action(env, 'show-machine', NAME)
        check(bool(wait_for(lambda: window_id(env, f'^{NAME}$'), 60)), 'a new window reattached')
        window_action(env, 'scale')
        time.sleep(2)
        frac, _ = guest_matches_window(env, workdir, 'reattach', f'^{NAME}$')
        check(frac > 0.9, f'the reattached window shows the guest ({frac:.0%} of rows)')

        manage(env, 'controlvm', NAME, 'poweroff')
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        kill_strays(runtime)
        if failures or os.environ.get('BOXWOOD_KEEP_LOGS'):
            log(f'logs kept in {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f'{len(failures)} failed check(s)')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
