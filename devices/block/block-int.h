/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals of the block layer shared by the core (block.c) and the format drivers
 * (block-raw.c, block-vdi.c). Drivers do synchronous, thread-safe I/O on byte
 * ranges that the core has already validated; the core runs them on its workers.
 */
#pragma once

#include "devices/block/block.h"

#include <sys/types.h>

typedef struct BlockDriver {
    const char *name;
    /* Required: fills bd->size and bd->opaque; errors name the file. */
    bool (*open)(BlockDev *bd, const BlockOpenOptions *options, GError **error);
    /* Required. */
    void (*close)(BlockDev *bd);
    /* Required: the range lies inside the disk and is sector aligned. */
    int (*readv)(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov);
    int (*writev)(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov);
    int (*flush)(BlockDev *bd);
    /* Optional: advisory, may do nothing. */
    int (*discard)(BlockDev *bd, uint64_t offset, uint64_t len);
    /* Optional: grow the disk. */
    int (*resize)(BlockDev *bd, uint64_t new_size);
} BlockDriver;

struct BlockWorkers;

struct BlockDev {
    char *path;
    int fd;
    bool read_only;
    BlockFormat format;
    const BlockDriver *drv;
    uint64_t size;
    void *opaque;               /* driver state, owned by the driver */
    struct BlockWorkers *workers; /* owned; created lazily by the first async request */
    VmmIoThread *io;            /* borrowed */
};

extern const BlockDriver block_raw_driver;
extern const BlockDriver block_vdi_driver;

/* Helpers for the drivers. */
int block_full_preadv(int fd, const struct iovec *iov, unsigned niov, uint64_t offset,
                      bool zero_past_eof);
int block_full_pwritev(int fd, const struct iovec *iov, unsigned niov, uint64_t offset);
/* Copies the byte range [skip, skip+len) of @iov into @out (room for niov entries). */
unsigned block_iov_slice(const struct iovec *iov, unsigned niov, size_t skip, size_t len,
                         struct iovec *out);
void block_iov_memset(const struct iovec *iov, unsigned niov, int c);
size_t block_iov_to_buf(const struct iovec *iov, unsigned niov, void *buf, size_t len);
/* Opens a file for a driver, e.g. a parent image (always read-only). */
BlockDev *block_open_internal(const char *path, const BlockOpenOptions *options, GError **error);
int block_drv_readv(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov);
/* Appends the VDI header details to @s (block-vdi.c). */
void block_vdi_describe(BlockDev *bd, GString *s);
