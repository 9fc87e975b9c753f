/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The block layer: disk images behind one asynchronous interface, used by the
 * storage controllers (virtio-blk, AHCI, IDE) and by the tools (image creation,
 * conversion). A BlockDev is an opened image: a format driver (raw, VDI) on top
 * of a host file. Requests run on the block layer's worker threads with a queue
 * depth > 1; completions are delivered on the machine's I/O thread when the
 * device was opened with one, otherwise on a worker thread. Callbacks run with no
 * block-layer lock held and may submit new requests.
 *
 * Every offset and length is in bytes. Requests must be 512-byte aligned
 * (BLOCK_SECTOR_SIZE); the devices validate guest-supplied LBAs against
 * block_size() before submitting, and the layer checks again (-EINVAL / -ENOSPC).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct BlockDev BlockDev;
typedef struct VmmIoThread VmmIoThread;

#define BLOCK_SECTOR_SIZE 512u

typedef enum {
    BLOCK_FORMAT_AUTO = 0, /* probe: VDI signature, else raw */
    BLOCK_FORMAT_RAW,
    BLOCK_FORMAT_VDI,
} BlockFormat;

/*
 * Differencing VDI images name their parent only by UUID; the caller (the settings'
 * media registry later, a path list in tests) turns a UUID into a path.
 * Return an owned path or NULL when unknown.
 */
typedef char *(*BlockParentLookup)(void *opaque, const char *uuid /* canonical text form */);

typedef struct {
    BlockFormat format;
    bool read_only;
    VmmIoThread *io;               /* optional: where completions run */
    BlockParentLookup parent_lookup; /* optional, for differencing images */
    void *parent_lookup_opaque;
} BlockOpenOptions;

/* @ret is 0 or -errno. */
typedef void (*BlockCompleteFunc)(void *opaque, int ret);

/* Opens an image; errors name the file and the problem. NULL options = auto, read-write. */
BlockDev *block_open(const char *path, const BlockOpenOptions *options, GError **error);
/* Waits for in-flight requests (their callbacks run), then closes. */
void block_close(BlockDev *bd);

uint64_t block_size(BlockDev *bd); /* virtual disk size in bytes */
bool block_is_read_only(BlockDev *bd);
BlockFormat block_format(BlockDev *bd);
const char *block_path(BlockDev *bd);

/*
 * Asynchronous requests. The iovec array is copied; the buffers it points to must
 * stay valid until @cb runs. Returns 0 when queued (the callback will run exactly
 * once), or -errno without calling @cb.
 */
int block_read_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                     BlockCompleteFunc cb, void *opaque);
int block_write_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                      BlockCompleteFunc cb, void *opaque);
int block_flush_async(BlockDev *bd, BlockCompleteFunc cb, void *opaque);
int block_discard_async(BlockDev *bd, uint64_t offset, uint64_t len, BlockCompleteFunc cb,
                        void *opaque);

/* Synchronous helpers (tools, tests). Return 0 or -errno. */
int block_pread(BlockDev *bd, uint64_t offset, void *buf, size_t len);
int block_pwrite(BlockDev *bd, uint64_t offset, const void *buf, size_t len);
int block_flush(BlockDev *bd);

/* ---- Image creation and maintenance (tools, tests) ---- */

typedef enum {
    BLOCK_VDI_DYNAMIC = 0, /* "standard": blocks allocated on first write */
    BLOCK_VDI_FIXED,       /* every block preallocated, map i -> i */
    BLOCK_VDI_DIFF,        /* differencing image on top of a parent */
} BlockVdiVariant;

/* Creates (or truncates and replaces) a raw image of @size bytes (multiple of 512). */
bool block_create_raw(const char *path, uint64_t size, GError **error);
/*
 * Creates a VDI 1.1 image in VirtualBox's layout (1 MiB blocks, map and data at
 * 1 MiB boundaries). For BLOCK_VDI_DIFF, @parent is the opened parent image (its
 * size is used, @size is ignored); otherwise @parent must be NULL.
 */
bool block_create_vdi(const char *path, uint64_t size, BlockVdiVariant variant,
                      BlockDev *parent, GError **error);
/* Grows the virtual disk (raw, dynamic/diff VDI). Returns 0 or -errno. */
int block_resize(BlockDev *bd, uint64_t new_size);
/* A human-readable multi-line description of the image (format, size, VDI header). */
char *block_dup_info(BlockDev *bd);
/* VDI: the image's creation UUID in canonical text form, NULL for other formats. */
char *block_dup_uuid(BlockDev *bd);
/* Reads the creation UUID from a VDI file's header without opening the image (for parent
 * lookups); NULL when @path is not a VDI file. */
char *block_vdi_read_uuid(const char *path);
