/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stand-in for the block layer (devices/block/block.h) while it is written in
 * parallel: raw files only, requests run on a small thread pool so completions
 * arrive asynchronously like the real thing.
 */
#define G_LOG_DOMAIN "fake-block"
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/block.h"

struct BlockDev {
    int fd;
    char *path;
    uint64_t size;
    bool read_only;
    GThreadPool *pool;
};

typedef struct {
    BlockDev *bd;
    int kind; /* 0 read, 1 write, 2 flush */
    uint64_t offset;
    struct iovec iov;
    BlockCompleteFunc cb;
    void *opaque;
} FakeReq;

static void run_req(gpointer data, gpointer user)
{
    FakeReq *r = data;
    int ret = 0;

    if (r->kind == 0) {
        ret = block_pread(r->bd, r->offset, r->iov.iov_base, r->iov.iov_len);
    } else if (r->kind == 1) {
        ret = block_pwrite(r->bd, r->offset, r->iov.iov_base, r->iov.iov_len);
    } else {
        ret = block_flush(r->bd);
    }
    r->cb(r->opaque, ret);
    g_free(r);
}

BlockDev *block_open(const char *path, const BlockOpenOptions *options, GError **error)
{
    bool ro = options != NULL && options->read_only;
    int fd = open(path, ro ? O_RDONLY : O_RDWR);
    struct stat st;
    BlockDev *bd;

    if (fd < 0 || fstat(fd, &st) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", path,
                    g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    bd = g_new0(BlockDev, 1);
    bd->fd = fd;
    bd->path = g_strdup(path);
    bd->size = (uint64_t)st.st_size;
    bd->read_only = ro;
    bd->pool = g_thread_pool_new(run_req, bd, 1, TRUE, NULL);
    return bd;
}

void block_close(BlockDev *bd)
{
    g_thread_pool_free(bd->pool, FALSE, TRUE);
    close(bd->fd);
    g_free(bd->path);
    g_free(bd);
}

uint64_t block_size(BlockDev *bd)
{
    return bd->size;
}

bool block_is_read_only(BlockDev *bd)
{
    return bd->read_only;
}

BlockFormat block_format(BlockDev *bd)
{
    return BLOCK_FORMAT_RAW;
}

const char *block_path(BlockDev *bd)
{
    return bd->path;
}

static int submit(BlockDev *bd, int kind, uint64_t offset, const struct iovec *iov, unsigned niov,
                  BlockCompleteFunc cb, void *opaque)
{
    FakeReq *r;

    if (kind != 2 &&
        (niov != 1 || offset % BLOCK_SECTOR_SIZE || iov[0].iov_len % BLOCK_SECTOR_SIZE ||
         offset > bd->size || iov[0].iov_len > bd->size - offset)) {
        return -EINVAL;
    }
    if (kind == 1 && bd->read_only) {
        return -EROFS;
    }
    r = g_new0(FakeReq, 1);
    r->bd = bd;
    r->kind = kind;
    r->offset = offset;
    if (kind != 2) {
        r->iov = iov[0];
    }
    r->cb = cb;
    r->opaque = opaque;
    g_thread_pool_push(bd->pool, r, NULL);
    return 0;
}

int block_read_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                     BlockCompleteFunc cb, void *opaque)
{
    return submit(bd, 0, offset, iov, niov, cb, opaque);
}

int block_write_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                      BlockCompleteFunc cb, void *opaque)
{
    return submit(bd, 1, offset, iov, niov, cb, opaque);
}

int block_flush_async(BlockDev *bd, BlockCompleteFunc cb, void *opaque)
{
    return submit(bd, 2, 0, NULL, 0, cb, opaque);
}

int block_discard_async(BlockDev *bd, uint64_t offset, uint64_t len, BlockCompleteFunc cb,
                        void *opaque)
{
    return -ENOTSUP;
}

int block_pread(BlockDev *bd, uint64_t offset, void *buf, size_t len)
{
    ssize_t n = pread(bd->fd, buf, len, (off_t)offset);

    return n == (ssize_t)len ? 0 : -EIO;
}

int block_pwrite(BlockDev *bd, uint64_t offset, const void *buf, size_t len)
{
    ssize_t n = pwrite(bd->fd, buf, len, (off_t)offset);

    return n == (ssize_t)len ? 0 : -EIO;
}

int block_flush(BlockDev *bd)
{
    return fdatasync(bd->fd) == 0 ? 0 : -errno;
}
