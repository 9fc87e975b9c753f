/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stand-in for the block layer while devices/block/ has no implementation in this
 * tree: every function is weak, so a real block layer (or a test's fake) replaces
 * it, and virtio-blk fails to realize with a clear message instead of a link error.
 * meson only builds this file when devices/block/meson.build is absent.
 */
#define G_LOG_DOMAIN "block-stub"
#include <errno.h>
#include <gio/gio.h>

#include "devices/block/block.h"

#define WEAK __attribute__((weak))

WEAK BlockDev *block_open(const char *path, const BlockOpenOptions *options, GError **error)
{
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "%s: this build has no block layer", path);
    return NULL;
}

WEAK void block_close(BlockDev *bd)
{
}

WEAK uint64_t block_size(BlockDev *bd)
{
    return 0;
}

WEAK bool block_is_read_only(BlockDev *bd)
{
    return true;
}

WEAK int block_read_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                          BlockCompleteFunc cb, void *opaque)
{
    return -ENOSYS;
}

WEAK int block_write_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                           BlockCompleteFunc cb, void *opaque)
{
    return -ENOSYS;
}

WEAK int block_flush_async(BlockDev *bd, BlockCompleteFunc cb, void *opaque)
{
    return -ENOSYS;
}

WEAK int block_discard_async(BlockDev *bd, uint64_t offset, uint64_t len, BlockCompleteFunc cb,
                             void *opaque)
{
    return -ENOSYS;
}
