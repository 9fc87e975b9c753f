/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The raw format: the file is the disk. Any size that is a multiple of 512 bytes;
 * discard punches holes so the file becomes sparse again.
 */
#define G_LOG_DOMAIN "block"
#include "devices/block/block-int.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

static bool raw_open(BlockDev *bd, const BlockOpenOptions *options, GError **error)
{
    off_t end = lseek(bd->fd, 0, SEEK_END);

    if (end < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: cannot size: %s",
                    bd->path, g_strerror(e));
        return false;
    }
    if (end == 0 || end % BLOCK_SECTOR_SIZE != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "%s: raw image size %lld is not a positive multiple of 512 bytes", bd->path,
                    (long long)end);
        return false;
    }
    bd->size = (uint64_t)end;
    return true;
}

static void raw_close(BlockDev *bd)
{
}

static int raw_readv(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov)
{
    /* The file may have been shortened behind our back: read zeros past its end. */
    return block_full_preadv(bd->fd, iov, niov, offset, true);
}

static int raw_writev(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov)
{
    return block_full_pwritev(bd->fd, iov, niov, offset);
}

static int raw_flush(BlockDev *bd)
{
    return fdatasync(bd->fd) < 0 ? -errno : 0;
}

static int raw_discard(BlockDev *bd, uint64_t offset, uint64_t len)
{
    if (fallocate(bd->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
                  (off_t)len) < 0) {
        /* Discard is advisory: a file system without hole punching just keeps the data. */
        if (errno == EOPNOTSUPP || errno == ENOSYS) {
            return 0;
        }
        return -errno;
    }
    return 0;
}

static int raw_resize(BlockDev *bd, uint64_t new_size)
{
    if (ftruncate(bd->fd, (off_t)new_size) < 0) {
        return -errno;
    }
    bd->size = new_size;
    return 0;
}

const BlockDriver block_raw_driver = {
    .name = "raw",
    .open = raw_open,
    .close = raw_close,
    .readv = raw_readv,
    .writev = raw_writev,
    .flush = raw_flush,
    .discard = raw_discard,
    .resize = raw_resize,
};
