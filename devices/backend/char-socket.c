/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "char"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <gio/gio.h>

#include "devices/backend/char-private.h"

/*
 * A listening UNIX stream socket with at most one client. The listening and client fds
 * are watched for input; the client fd changes only on the input path (I/O thread) and
 * in close, both under be->lock, which the write path also holds.
 */
typedef struct {
    char *path;    /* Owned: unlinked on close */
    int listen_fd; /* Owned */
    int client_fd; /* Owned, -1 while no client is connected */
} CharUnix;

static size_t unix_write(VmmCharBackend *be, const uint8_t *data, size_t len)
{
    CharUnix *u = be->priv;
    ssize_t n;

    if (u->client_fd < 0) {
        return 0;
    }
    do {
        n = send(u->client_fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the client reads too slowly; EPIPE and friends: the I/O thread will see the
     * hang-up and drop the client. Either way the bytes are dropped, never waited for. */
    return n > 0 ? (size_t)n : 0;
}

static void unix_close(VmmCharBackend *be)
{
    CharUnix *u = be->priv;

    if (u->client_fd >= 0) {
        close(u->client_fd);
    }
    close(u->listen_fd);
    unlink(u->path);
    g_free(u->path);
    g_free(u);
}

static const VmmCharOps unix_ops = {
    .kind = "unix",
    .write = unix_write,
    .close = unix_close,
};

static void unix_drop_client(VmmCharBackend *be, int fd)
{
    CharUnix *u = be->priv;

    if (!char_watch_remove_from_cb(be, fd)) {
        return; /* closing: vmm_char_close() owns the fd now */
    }
    g_mutex_lock(&be->lock);
    if (u->client_fd == fd) {
        u->client_fd = -1;
    }
    g_mutex_unlock(&be->lock);
    close(fd);
    g_debug("%s: client disconnected", u->path);
}

static void unix_client_cb(void *opaque, uint32_t events)
{
    VmmCharBackend *be = opaque;
    CharUnix *u = be->priv;
    uint8_t buf[CHAR_READ_CHUNK];
    ssize_t n;
    int fd;

    g_mutex_lock(&be->lock);
    fd = u->client_fd;
    g_mutex_unlock(&be->lock);
    if (fd < 0) {
        return;
    }
    n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
        char_deliver(be, buf, n);
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    unix_drop_client(be, fd);
}

static void unix_listen_cb(void *opaque, uint32_t events)
{
    VmmCharBackend *be = opaque;
    CharUnix *u = be->priv;
    bool busy;
    int fd;

    fd = accept4(u->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        return;
    }
    g_mutex_lock(&be->lock);
    busy = u->client_fd >= 0 || be->closing;
    if (!busy) {
        u->client_fd = fd;
    }
    g_mutex_unlock(&be->lock);
    if (busy) {
        /* One client at a time: accepting and closing keeps the listener from spinning. */
        g_message("%s: refusing a second client", u->path);
        close(fd);
        return;
    }
    if (char_watch_add(be, fd, unix_client_cb) < 0) {
        g_mutex_lock(&be->lock);
        if (u->client_fd == fd) {
            u->client_fd = -1;
        }
        g_mutex_unlock(&be->lock);
        close(fd);
        return;
    }
    g_debug("%s: client connected", u->path);
}

bool char_open_unix(VmmCharBackend *be, const char *path, GError **error)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct stat st;
    CharUnix *u;
    int fd;
    int ret;

    if (path[0] == '\0' || strlen(path) >= sizeof(addr.sun_path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "unix socket path '%s' is empty or longer than %zu bytes", path,
                    sizeof(addr.sun_path) - 1);
        return false;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);

    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "'%s' exists and is not a socket; not replacing it", path);
            return false;
        }
        /* A socket left behind by an earlier run. */
        unlink(path);
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int err = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "socket(): %s", g_strerror(err));
        return false;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1) != 0) {
        int err = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot listen on '%s': %s",
                    path, g_strerror(err));
        close(fd);
        return false;
    }

    u = g_new0(CharUnix, 1);
    u->path = g_strdup(path);
    u->listen_fd = fd;
    u->client_fd = -1;
    be->priv = u;
    be->ops = &unix_ops;

    ret = char_watch_add(be, fd, unix_listen_cb);
    if (ret < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-ret),
                    "cannot watch '%s' for connections: %s", path, g_strerror(-ret));
        unix_close(be);
        be->priv = NULL;
        return false;
    }
    return true;
}
