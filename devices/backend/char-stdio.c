/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "char"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <gio/gio.h>

#include "devices/backend/char-private.h"

/*
 * The process has one stdin and one terminal, so there is at most one stdio back end.
 * The saved terminal state is global so an exit() that skips vmm_char_close() still
 * gives the user a working shell back.
 */
G_LOCK_DEFINE_STATIC(stdio_state);
static bool stdio_in_use;
static bool stdio_tty_saved;
static struct termios stdio_saved_tio;
static bool stdio_atexit_registered;

static void stdio_restore_tty(void)
{
    G_LOCK(stdio_state);
    if (stdio_tty_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &stdio_saved_tio);
        stdio_tty_saved = false;
    }
    G_UNLOCK(stdio_state);
}

static size_t stdio_write(VmmCharBackend *be, const uint8_t *data, size_t len)
{
    return char_write_fd(STDOUT_FILENO, data, len);
}

static void stdio_close(VmmCharBackend *be)
{
    stdio_restore_tty();
    G_LOCK(stdio_state);
    stdio_in_use = false;
    G_UNLOCK(stdio_state);
}

static const VmmCharOps stdio_ops = {
    .kind = "stdio",
    .write = stdio_write,
    .close = stdio_close,
};

static void stdio_input_cb(void *opaque, uint32_t events)
{
    VmmCharBackend *be = opaque;
    uint8_t buf[CHAR_READ_CHUNK];
    ssize_t n;

    n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n > 0) {
        char_deliver(be, buf, n);
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    /* End of input: stop watching, or the level-triggered loop would spin. */
    char_watch_remove_from_cb(be, STDIN_FILENO);
}

static void stdio_make_raw(void)
{
    struct termios tio;

    /* A runner in a background job would be stopped (SIGTTOU) for touching the terminal. */
    if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp() ||
        tcgetattr(STDIN_FILENO, &tio) != 0) {
        return;
    }
    stdio_saved_tio = tio;
    stdio_tty_saved = true;
    /* Bytes go to the guest as typed; ISIG stays so ^C still stops the runner, OPOST stays
     * so host log lines on stderr keep their line feeds. */
    tio.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    tio.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    tio.c_cflag &= ~(CSIZE | PARENB);
    tio.c_cflag |= CS8;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &tio);
    if (!stdio_atexit_registered) {
        stdio_atexit_registered = true;
        atexit(stdio_restore_tty);
    }
}

bool char_open_stdio(VmmCharBackend *be, GError **error)
{
    int ret;

    G_LOCK(stdio_state);
    if (stdio_in_use) {
        G_UNLOCK(stdio_state);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
                    "stdio is already used by another character back end");
        return false;
    }
    stdio_in_use = true;
    stdio_make_raw();
    G_UNLOCK(stdio_state);

    be->ops = &stdio_ops;
    /* A stdin that cannot be watched (a regular file, /dev/null) just gives no input. */
    ret = char_watch_add(be, STDIN_FILENO, stdio_input_cb);
    if (ret < 0) {
        g_debug("stdin not watched for input: %s", g_strerror(-ret));
    }
    return true;
}
