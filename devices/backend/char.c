/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "char"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "devices/backend/char-private.h"

/* Terminals and pipes are written in pieces no bigger than what POLLOUT promises room for. */
#define CHAR_NONBLOCK_CHUNK 256

static size_t null_write(VmmCharBackend *be, const uint8_t *data, size_t len)
{
    return len;
}

static const VmmCharOps null_ops = {
    .kind = "null",
    .write = null_write,
};

VmmCharBackend *vmm_char_open(VmmMachine *m, const char *spec, GError **error)
{
    VmmCharBackend *be = g_new0(VmmCharBackend, 1);
    bool ok;

    g_mutex_init(&be->lock);
    be->machine = m;
    for (unsigned i = 0; i < CHAR_MAX_WATCHES; i++) {
        be->watches[i].fd = -1;
    }

    if (spec == NULL || strcmp(spec, "null") == 0 || spec[0] == '\0') {
        be->ops = &null_ops;
        ok = true;
    } else if (strcmp(spec, "stdio") == 0) {
        ok = char_open_stdio(be, error);
    } else if (g_str_has_prefix(spec, "file:")) {
        ok = char_open_file(be, spec + strlen("file:"), error);
    } else if (g_str_has_prefix(spec, "unix:")) {
        ok = char_open_unix(be, spec + strlen("unix:"), error);
    } else {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "unknown character back end '%s' (use null, stdio, file:PATH or unix:PATH)",
                    spec);
        ok = false;
    }
    if (!ok) {
        g_mutex_clear(&be->lock);
        g_free(be);
        return NULL;
    }
    return be;
}

void vmm_char_close(VmmCharBackend *be)
{
    CharWatch watches[CHAR_MAX_WATCHES];

    if (be == NULL) {
        return;
    }
    g_mutex_lock(&be->lock);
    be->closing = true;
    memcpy(watches, be->watches, sizeof(watches));
    for (unsigned i = 0; i < CHAR_MAX_WATCHES; i++) {
        be->watches[i].fd = -1;
    }
    be->receive = NULL;
    g_mutex_unlock(&be->lock);

    /* Without the lock: removal waits for a running callback, which may want the lock.
     * Slot order matters: a listening socket (slot 0) goes first, so an accept callback
     * still adding its client has finished before the client's fd is removed. */
    for (unsigned i = 0; i < CHAR_MAX_WATCHES; i++) {
        if (watches[i].fd >= 0 && char_io(be) != NULL) {
            vmm_iothread_remove_fd(char_io(be), watches[i].fd);
        }
    }
    if (be->ops->close != NULL) {
        be->ops->close(be);
    }
    g_mutex_clear(&be->lock);
    g_free(be);
}

size_t vmm_char_write(VmmCharBackend *be, const uint8_t *data, size_t len)
{
    size_t n;

    if (len == 0) {
        return 0;
    }
    g_mutex_lock(&be->lock);
    n = be->ops->write(be, data, len);
    if (n > len) {
        n = len;
    }
    be->dropped += len - n;
    g_mutex_unlock(&be->lock);
    return n;
}

void vmm_char_set_receiver(VmmCharBackend *be, VmmCharReceiveFunc cb, void *opaque)
{
    g_mutex_lock(&be->lock);
    be->receive = cb;
    be->receive_opaque = opaque;
    g_mutex_unlock(&be->lock);
}

void char_deliver(VmmCharBackend *be, const uint8_t *data, size_t len)
{
    VmmCharReceiveFunc cb;
    void *opaque;

    g_mutex_lock(&be->lock);
    cb = be->receive;
    opaque = be->receive_opaque;
    g_mutex_unlock(&be->lock);
    /* Called unlocked: the receiver takes its device lock (device lock -> back-end lock). */
    if (cb != NULL && len > 0) {
        cb(opaque, data, len);
    }
}

void vmm_char_inject(VmmCharBackend *be, const uint8_t *data, size_t len)
{
    char_deliver(be, data, len);
}

uint64_t vmm_char_dropped(VmmCharBackend *be)
{
    uint64_t n;

    g_mutex_lock(&be->lock);
    n = be->dropped;
    g_mutex_unlock(&be->lock);
    return n;
}

const char *vmm_char_kind(VmmCharBackend *be)
{
    return be->ops->kind;
}

VmmIoThread *char_io(VmmCharBackend *be)
{
    return be->machine != NULL ? be->machine->io : NULL;
}

int char_watch_add(VmmCharBackend *be, int fd, VmmIoFunc cb)
{
    int slot = -1;
    int ret = 0;

    /* Reserve the slot under the lock, register without it: the I/O thread may be running
     * one of our callbacks, which takes be->lock. vmm_char_close() cannot miss the fd:
     * it either sees the reserved slot, or we see `closing` here. */
    g_mutex_lock(&be->lock);
    if (be->closing) {
        g_mutex_unlock(&be->lock);
        return -EBUSY;
    }
    for (unsigned i = 0; i < CHAR_MAX_WATCHES; i++) {
        if (be->watches[i].fd < 0) {
            slot = i;
            be->watches[i].fd = fd;
            be->watches[i].cb = cb;
            break;
        }
    }
    g_mutex_unlock(&be->lock);
    if (slot < 0) {
        return -ENOSPC;
    }
    if (char_io(be) != NULL) {
        ret = vmm_iothread_add_fd(char_io(be), fd, EPOLLIN, cb, be);
    }
    if (ret < 0) {
        g_mutex_lock(&be->lock);
        if (be->watches[slot].fd == fd) {
            be->watches[slot].fd = -1;
        }
        g_mutex_unlock(&be->lock);
    }
    return ret;
}

bool char_watch_remove_from_cb(VmmCharBackend *be, int fd)
{
    VmmIoThread *io;

    g_mutex_lock(&be->lock);
    if (be->closing) {
        g_mutex_unlock(&be->lock);
        return false;
    }
    for (unsigned i = 0; i < CHAR_MAX_WATCHES; i++) {
        if (be->watches[i].fd == fd) {
            be->watches[i].fd = -1;
        }
    }
    io = char_io(be);
    g_mutex_unlock(&be->lock);
    /* On the I/O thread itself removal does not wait, so this cannot deadlock. */
    if (io != NULL) {
        vmm_iothread_remove_fd(io, fd);
    }
    return true;
}

bool vmm_char_poll(VmmCharBackend *be, int timeout_ms)
{
    CharWatch watches[CHAR_MAX_WATCHES];
    struct pollfd pfd[CHAR_MAX_WATCHES];
    unsigned n = 0;
    bool handled = false;
    int r;

    g_mutex_lock(&be->lock);
    for (unsigned i = 0; i < CHAR_MAX_WATCHES; i++) {
        if (be->watches[i].fd >= 0) {
            watches[n] = be->watches[i];
            pfd[n].fd = watches[n].fd;
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
            n++;
        }
    }
    g_mutex_unlock(&be->lock);

    if (n == 0) {
        if (timeout_ms > 0) {
            g_usleep(timeout_ms * 1000);
        }
        return false;
    }
    do {
        r = poll(pfd, n, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if (pfd[i].revents != 0) {
            /* POLLIN/POLLERR/POLLHUP have the same values as their EPOLL* twins. */
            watches[i].cb(be, (uint32_t)pfd[i].revents);
            handled = true;
        }
    }
    return handled;
}

size_t char_write_fd(int fd, const uint8_t *data, size_t len)
{
    size_t done = 0;

    while (done < len) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        size_t chunk = MIN(len - done, CHAR_NONBLOCK_CHUNK);
        ssize_t n;
        int r;

        /* A vCPU must never wait for a slow terminal or pipe reader: only write what fits. */
        r = poll(&p, 1, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0 || !(p.revents & POLLOUT)) {
            break;
        }
        n = write(fd, data + done, chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += n;
    }
    return done;
}
