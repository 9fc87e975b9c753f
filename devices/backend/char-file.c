/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "char"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "devices/backend/char-private.h"

typedef struct {
    int fd; /* Owned */
} CharFile;

static size_t file_write(VmmCharBackend *be, const uint8_t *data, size_t len)
{
    CharFile *f = be->priv;

    return char_write_fd(f->fd, data, len);
}

static void file_close(VmmCharBackend *be)
{
    CharFile *f = be->priv;

    close(f->fd);
    g_free(f);
}

static const VmmCharOps file_ops = {
    .kind = "file",
    .write = file_write,
    .close = file_close,
};

bool char_open_file(VmmCharBackend *be, const char *path, GError **error)
{
    CharFile *f;
    int fd;

    if (path[0] == '\0') {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "character back end 'file:' needs a path");
        return false;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot open '%s': %s", path,
                    g_strerror(err));
        return false;
    }
    f = g_new0(CharFile, 1);
    f->fd = fd;
    be->priv = f;
    be->ops = &file_ops;
    return true;
}
