/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * VirtualBox Disk Image (VDI 1.1): fixed, dynamic ("normal") and differencing
 * images. The file holds a header, a block map of little-endian u32 entries
 * (0xFFFFFFFF free: ask the parent or read zeros; 0xFFFFFFFE: zeros) and the data
 * blocks. Unallocated blocks are allocated on write by appending a whole block.
 *
 * Allocation order (see docs/block-layer.md): block data, fdatasync, map entry,
 * header count. Allocations are serialised by one lock per image.
 */
#define G_LOG_DOMAIN "block"
#include "devices/block/block-int.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_TYPE_NORMAL 1u
#define VDI_TYPE_FIXED 2u
#define VDI_TYPE_UNDO 3u
#define VDI_TYPE_DIFF 4u
#define VDI_BLOCK_FREE 0xffffffffu
#define VDI_BLOCK_ZERO 0xfffffffeu
#define VDI_DEFAULT_BLOCK (1u << 20)
#define VDI_PREHEADER_SIZE 0x48u
#define VDI_HEADER1_SIZE 0x180u
#define VDI_HEADER1PLUS_SIZE 0x190u
#define VDI_MAX_CHAIN 32
/* 256 TiB: keeps the map below 1 GiB and every offset of a created image in 32 bits. */
#define VDI_MAX_CREATE_SIZE (UINT64_C(1) << 48)

/* Header field offsets in the file. */
enum {
    H_TEXT = 0x00,
    H_SIGNATURE = 0x40,
    H_VERSION = 0x44,
    H_HEADER_SIZE = 0x48,
    H_TYPE = 0x4c,
    H_FLAGS = 0x50,
    H_COMMENT = 0x54,
    H_OFF_BLOCKS = 0x154,
    H_OFF_DATA = 0x158,
    H_LEGACY_GEOM = 0x15c,
    H_DUMMY = 0x16c,
    H_DISK_SIZE = 0x170,
    H_BLOCK_SIZE = 0x178,
    H_BLOCK_EXTRA = 0x17c,
    H_BLOCKS = 0x180,
    H_BLOCKS_ALLOCATED = 0x184,
    H_UUID_CREATE = 0x188,
    H_UUID_MODIFY = 0x198,
    H_UUID_LINKAGE = 0x1a8,
    H_UUID_PARENT_MODIFY = 0x1b8,
    H_LCHS_GEOM = 0x1c8,
    H_END = 0x1d8,
};

typedef struct Vdi {
    GMutex map_lock;   /* map[], used[], allocated, next_index */
    GMutex alloc_lock; /* serialises allocations and header writes; taken before map_lock */
    uint8_t header[512];
    uint32_t type;
    uint32_t header_size;
    uint32_t off_blocks;
    uint32_t off_data;
    uint64_t disk_size;
    uint32_t block_size;
    uint32_t block_extra;
    uint32_t nblocks;
    uint32_t allocated;
    uint32_t *map;     /* host byte order */
    uint8_t *used;     /* bitmap over data block indices */
    uint32_t next_index;
    gint modify_uuid_done; /* atomic */
    BlockDev *parent;  /* owned, read-only, differencing images only */
} Vdi;

static __thread int open_depth;

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return GUINT64_FROM_LE(v);
}

static void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p, &v, 8);
}

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* ---- UUIDs: IPRT stores the first three fields little-endian ---- */

static void uuid_disk_to_text(const uint8_t *d, char out[37])
{
    uint8_t b[16];

    b[0] = d[3];
    b[1] = d[2];
    b[2] = d[1];
    b[3] = d[0];
    b[4] = d[5];
    b[5] = d[4];
    b[6] = d[7];
    b[7] = d[6];
    memcpy(b + 8, d + 8, 8);
    g_snprintf(out, 37,
               "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
               b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
               b[15]);
}

static void uuid_text_to_disk(const char *text, uint8_t *d)
{
    uint8_t b[16] = { 0 };
    unsigned n = 0;

    for (const char *p = text; *p != '\0' && n < 32; p++) {
        int v = g_ascii_xdigit_value(*p);
        if (v < 0) {
            continue;
        }
        b[n / 2] = (uint8_t)(b[n / 2] << 4 | v);
        n++;
    }
    d[0] = b[3];
    d[1] = b[2];
    d[2] = b[1];
    d[3] = b[0];
    d[4] = b[5];
    d[5] = b[4];
    d[6] = b[7];
    d[7] = b[6];
    memcpy(d + 8, b + 8, 8);
}

static void uuid_random_disk(uint8_t *d)
{
    g_autofree char *text = g_uuid_string_random();
    uuid_text_to_disk(text, d);
}

static bool uuid_is_null(const uint8_t *d)
{
    for (unsigned i = 0; i < 16; i++) {
        if (d[i] != 0) {
            return false;
        }
    }
    return true;
}

/* ---- helpers ---- */

static uint64_t data_offset(Vdi *v, uint32_t index)
{
    return (uint64_t)v->off_data + (uint64_t)index * ((uint64_t)v->block_size + v->block_extra) +
           v->block_extra;
}

static uint32_t map_get(Vdi *v, uint32_t blk)
{
    g_mutex_lock(&v->map_lock);
    uint32_t e = blk < v->nblocks ? v->map[blk] : VDI_BLOCK_FREE;
    g_mutex_unlock(&v->map_lock);
    return e;
}

static bool fail(GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool fail(GError **error, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", path, msg);
    return false;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    return block_full_pwritev(fd, &iov, 1, off);
}

/* Reads @iov at @pos of the parent chain: past the parent's end the disk reads zeros. */
static int read_parent(BlockDev *parent, uint64_t pos, const struct iovec *iov, unsigned niov,
                       size_t len)
{
    if (parent == NULL || pos >= parent->size) {
        block_iov_memset(iov, niov, 0);
        return 0;
    }
    if (len <= parent->size - pos) {
        return block_drv_readv(parent, pos, iov, niov);
    }
    size_t inside = parent->size - pos;
    g_autofree struct iovec *a = g_new(struct iovec, niov);
    unsigned na = block_iov_slice(iov, niov, 0, inside, a);
    int r = block_drv_readv(parent, pos, a, na);
    if (r < 0) {
        return r;
    }
    na = block_iov_slice(iov, niov, inside, len - inside, a);
    block_iov_memset(a, na, 0);
    return 0;
}

/* ---- open ---- */

static bool vdi_load_map(BlockDev *bd, Vdi *v, uint64_t file_size, GError **error)
{
    size_t map_bytes = (size_t)v->nblocks * 4;
    g_autofree uint8_t *raw = g_try_malloc(map_bytes);
    struct iovec iov = { .iov_base = raw, .iov_len = map_bytes };
    uint32_t count = 0;
    uint32_t max_index = 0;
    bool any = false;

    if (raw == NULL) {
        return fail(error, bd->path, "block map of %u entries does not fit in memory",
                    v->nblocks);
    }
    if (block_full_preadv(bd->fd, &iov, 1, v->off_blocks, false) < 0) {
        return fail(error, bd->path, "cannot read the block map");
    }
    v->map = g_new(uint32_t, v->nblocks);
    v->used = g_new0(uint8_t, v->nblocks / 8 + 1);
    for (uint32_t i = 0; i < v->nblocks; i++) {
        uint32_t e = get32(raw + 4 * (size_t)i);
        v->map[i] = e;
        if (e >= VDI_BLOCK_ZERO) {
            continue;
        }
        if (e >= v->nblocks) {
            return fail(error, bd->path, "block map entry %u points to data block %u, past the "
                        "last block %u", i, e, v->nblocks - 1);
        }
        if (v->used[e / 8] & (1u << (e % 8))) {
            return fail(error, bd->path, "block map entry %u duplicates data block %u", i, e);
        }
        if (data_offset(v, e) + v->block_size > file_size) {
            return fail(error, bd->path, "block map entry %u: data block %u lies past the end of "
                        "the file (%" G_GUINT64_FORMAT " bytes)", i, e, file_size);
        }
        v->used[e / 8] |= (uint8_t)(1u << (e % 8));
        count++;
        max_index = MAX(max_index, e);
        any = true;
    }
    v->next_index = any ? max_index + 1 : 0;
    if (count != v->allocated) {
        /*
         * The map is the truth (a crash between the map entry and the header write
         * leaves this); a writable open repairs the header, a read-only one must not.
         */
        g_message("%s: header counts %u allocated blocks, the map %u", bd->path, v->allocated,
                  count);
        v->allocated = count;
        if (!bd->read_only) {
            put32(v->header + H_BLOCKS_ALLOCATED, count);
            if (pwrite_all(bd->fd, v->header + H_BLOCKS_ALLOCATED, 4, H_BLOCKS_ALLOCATED) < 0) {
                return fail(error, bd->path, "cannot repair the allocated block count");
            }
        }
    }
    return true;
}

static bool vdi_open_parent(BlockDev *bd, Vdi *v, const BlockOpenOptions *options,
                            GError **error)
{
    char uuid[37];
    char mine[37];

    uuid_disk_to_text(v->header + H_UUID_LINKAGE, uuid);
    if (uuid_is_null(v->header + H_UUID_LINKAGE)) {
        return fail(error, bd->path, "differencing image without a parent UUID");
    }
    if (options == NULL || options->parent_lookup == NULL) {
        return fail(error, bd->path, "differencing image needs its parent {%s}, but no parent "
                    "lookup was given", uuid);
    }
    if (open_depth >= VDI_MAX_CHAIN) {
        return fail(error, bd->path, "differencing chain deeper than %d images (a loop?)",
                    VDI_MAX_CHAIN);
    }
    /* The lookup may open images itself: count it as a level of the chain too. */
    open_depth++;
    g_autofree char *ppath = options->parent_lookup(options->parent_lookup_opaque, uuid);
    open_depth--;
    if (ppath == NULL) {
        return fail(error, bd->path, "parent image {%s} not found", uuid);
    }
    BlockOpenOptions po = {
        .format = BLOCK_FORMAT_VDI,
        .read_only = true,
        .parent_lookup = options->parent_lookup,
        .parent_lookup_opaque = options->parent_lookup_opaque,
    };
    open_depth++;
    v->parent = block_open_internal(ppath, &po, error);
    open_depth--;
    if (v->parent == NULL) {
        g_prefix_error(error, "%s: parent {%s}: ", bd->path, uuid);
        return false;
    }
    Vdi *pv = v->parent->opaque;
    uuid_disk_to_text(pv->header + H_UUID_CREATE, mine);
    if (memcmp(pv->header + H_UUID_CREATE, v->header + H_UUID_LINKAGE, 16) != 0) {
        return fail(error, bd->path, "parent %s has UUID {%s}, expected {%s}", ppath, mine,
                    uuid);
    }
    return true;
}

static void vdi_free(Vdi *v)
{
    if (v->parent != NULL) {
        block_close(v->parent);
    }
    g_mutex_clear(&v->map_lock);
    g_mutex_clear(&v->alloc_lock);
    g_free(v->map);
    g_free(v->used);
    g_free(v);
}

static bool vdi_parse(BlockDev *bd, Vdi *v, uint64_t file_size, GError **error)
{
    const uint8_t *h = v->header;
    uint32_t sig = get32(h + H_SIGNATURE);
    uint32_t version = get32(h + H_VERSION);

    if (file_size < 512) {
        return fail(error, bd->path, "truncated: %" G_GUINT64_FORMAT " bytes, a VDI header needs "
                    "512", file_size);
    }
    if (sig != VDI_SIGNATURE) {
        return fail(error, bd->path, "not a VDI image (signature 0x%08x)", sig);
    }
    if (version >> 16 != 1) {
        return fail(error, bd->path, "unsupported VDI version %u.%u", version >> 16,
                    version & 0xffff);
    }
    v->header_size = get32(h + H_HEADER_SIZE);
    v->type = get32(h + H_TYPE);
    uint32_t flags = get32(h + H_FLAGS);
    v->off_blocks = get32(h + H_OFF_BLOCKS);
    v->off_data = get32(h + H_OFF_DATA);
    v->disk_size = get64(h + H_DISK_SIZE);
    v->block_size = get32(h + H_BLOCK_SIZE);
    v->block_extra = get32(h + H_BLOCK_EXTRA);
    v->nblocks = get32(h + H_BLOCKS);
    v->allocated = get32(h + H_BLOCKS_ALLOCATED);

    if (v->header_size < VDI_HEADER1_SIZE || v->header_size > 0x10000) {
        return fail(error, bd->path, "header size %u out of range", v->header_size);
    }
    if (v->type != VDI_TYPE_NORMAL && v->type != VDI_TYPE_FIXED && v->type != VDI_TYPE_DIFF) {
        return fail(error, bd->path, "unsupported image type %u", v->type);
    }
    if (flags & ~1u) {
        return fail(error, bd->path, "unknown image flags 0x%x", flags);
    }
    if (v->header_size >= VDI_HEADER1PLUS_SIZE) {
        uint32_t lchs_sector = get32(h + H_LCHS_GEOM + 12);
        if (lchs_sector != 0 && lchs_sector != 512) {
            return fail(error, bd->path, "logical geometry sector size %u is not 512",
                        lchs_sector);
        }
    }
    if (v->disk_size == 0 || v->disk_size % BLOCK_SECTOR_SIZE != 0 ||
        v->disk_size > (UINT64_C(1) << 56)) {
        return fail(error, bd->path, "absurd disk size %" G_GUINT64_FORMAT, v->disk_size);
    }
    if (!is_pow2(v->block_size) || v->block_size < 4096 || v->block_size > (256u << 20)) {
        return fail(error, bd->path, "block size %u is not a power of two in [4 KiB, 256 MiB]",
                    v->block_size);
    }
    if (v->block_extra != 0 && (!is_pow2(v->block_extra) || v->block_extra > (1u << 20))) {
        return fail(error, bd->path, "block extra size %u is not 0 or a power of two",
                    v->block_extra);
    }
    if (v->nblocks == 0 || v->nblocks >= VDI_BLOCK_ZERO ||
        (uint64_t)v->nblocks * v->block_size < v->disk_size) {
        return fail(error, bd->path, "%u blocks of %u bytes cannot hold %" G_GUINT64_FORMAT
                    " bytes", v->nblocks, v->block_size, v->disk_size);
    }
    if (v->allocated > v->nblocks) {
        return fail(error, bd->path, "%u allocated blocks out of %u", v->allocated, v->nblocks);
    }
    if (v->off_blocks < VDI_PREHEADER_SIZE + v->header_size || v->off_blocks % 512 != 0 ||
        v->off_data % 512 != 0 || (uint64_t)v->off_data < (uint64_t)v->off_blocks +
        4 * (uint64_t)v->nblocks) {
        return fail(error, bd->path, "inconsistent layout: header %u bytes, map at 0x%x for %u "
                    "blocks, data at 0x%x", v->header_size, v->off_blocks, v->nblocks,
                    v->off_data);
    }
    if ((uint64_t)v->off_blocks + 4 * (uint64_t)v->nblocks > file_size) {
        return fail(error, bd->path, "truncated: the block map ends at %" G_GUINT64_FORMAT
                    " but the file has %" G_GUINT64_FORMAT " bytes",
                    (uint64_t)v->off_blocks + 4 * (uint64_t)v->nblocks, file_size);
    }
    if (uuid_is_null(h + H_UUID_CREATE)) {
        return fail(error, bd->path, "null image UUID");
    }
    return true;
}

static bool vdi_open(BlockDev *bd, const BlockOpenOptions *options, GError **error)
{
    struct stat st;
    Vdi *v = g_new0(Vdi, 1);

    g_mutex_init(&v->map_lock);
    g_mutex_init(&v->alloc_lock);
    if (fstat(bd->fd, &st) < 0) {
        fail(error, bd->path, "cannot stat: %s", g_strerror(errno));
        goto err;
    }
    struct iovec iov = { .iov_base = v->header, .iov_len = sizeof(v->header) };
    if ((uint64_t)st.st_size >= sizeof(v->header) &&
        block_full_preadv(bd->fd, &iov, 1, 0, false) < 0) {
        fail(error, bd->path, "cannot read the header: %s", g_strerror(errno));
        goto err;
    }
    if (!vdi_parse(bd, v, (uint64_t)st.st_size, error) ||
        !vdi_load_map(bd, v, (uint64_t)st.st_size, error)) {
        goto err;
    }
    if (v->type == VDI_TYPE_DIFF && !vdi_open_parent(bd, v, options, error)) {
        goto err;
    }
    bd->opaque = v;
    bd->size = v->disk_size;
    return true;
err:
    vdi_free(v);
    return false;
}

static void vdi_close(BlockDev *bd)
{
    vdi_free(bd->opaque);
    bd->opaque = NULL;
}

/* ---- I/O ---- */

static int vdi_read_segment(BlockDev *bd, uint32_t blk, uint32_t inblk, const struct iovec *iov,
                            unsigned niov, size_t len)
{
    Vdi *v = bd->opaque;
    uint32_t e = map_get(v, blk);

    if (e < VDI_BLOCK_ZERO) {
        /* A block cut short by a truncated file reads zeros rather than failing. */
        return block_full_preadv(bd->fd, iov, niov, data_offset(v, e) + inblk, true);
    }
    if (e == VDI_BLOCK_FREE && v->parent != NULL) {
        return read_parent(v->parent, (uint64_t)blk * v->block_size + inblk, iov, niov, len);
    }
    block_iov_memset(iov, niov, 0);
    return 0;
}

typedef int (*SegmentFunc)(BlockDev *bd, uint32_t blk, uint32_t inblk, const struct iovec *iov,
                           unsigned niov, size_t len);

static int for_each_segment(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                            SegmentFunc fn)
{
    Vdi *v = bd->opaque;
    size_t total = 0;
    g_autofree struct iovec *sl = g_new(struct iovec, niov);

    for (unsigned i = 0; i < niov; i++) {
        total += iov[i].iov_len;
    }
    for (size_t done = 0; done < total;) {
        uint64_t pos = offset + done;
        uint32_t blk = (uint32_t)(pos / v->block_size);
        uint32_t inblk = (uint32_t)(pos % v->block_size);
        size_t n = MIN((size_t)(v->block_size - inblk), total - done);
        unsigned k = block_iov_slice(iov, niov, done, n, sl);
        int r = fn(bd, blk, inblk, sl, k, n);
        if (r < 0) {
            return r;
        }
        done += n;
    }
    return 0;
}

static int vdi_readv(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov)
{
    return for_each_segment(bd, offset, iov, niov, vdi_read_segment);
}

static uint32_t pick_index_locked(Vdi *v)
{
    if (v->next_index < v->nblocks) {
        return v->next_index;
    }
    /* Data indices ran past the end with holes left behind: reuse the first hole. */
    for (uint32_t i = 0; i < v->nblocks; i++) {
        if (!(v->used[i / 8] & (1u << (i % 8)))) {
            return i;
        }
    }
    return VDI_BLOCK_FREE;
}

static bool iov_is_zero(const struct iovec *iov, unsigned niov)
{
    for (unsigned i = 0; i < niov; i++) {
        const uint8_t *p = iov[i].iov_base;
        for (size_t j = 0; j < iov[i].iov_len; j++) {
            if (p[j] != 0) {
                return false;
            }
        }
    }
    return true;
}

/* Called with alloc_lock held for a block that is FREE or ZERO. */
static int vdi_allocate_locked(BlockDev *bd, uint32_t blk, uint32_t inblk, uint32_t old,
                               const struct iovec *iov, unsigned niov, size_t len)
{
    Vdi *v = bd->opaque;
    size_t whole = (size_t)v->block_extra + v->block_size;
    g_autofree uint8_t *buf = g_try_malloc0(whole);
    uint8_t *data;
    uint8_t le[4];
    int r;

    if (buf == NULL) {
        return -ENOMEM;
    }
    data = buf + v->block_extra;
    if (len < v->block_size && old == VDI_BLOCK_FREE && v->parent != NULL) {
        struct iovec piov = { .iov_base = data, .iov_len = v->block_size };
        r = read_parent(v->parent, (uint64_t)blk * v->block_size, &piov, 1, v->block_size);
        if (r < 0) {
            return r;
        }
    }
    block_iov_to_buf(iov, niov, data + inblk, len);

    g_mutex_lock(&v->map_lock);
    uint32_t index = pick_index_locked(v);
    g_mutex_unlock(&v->map_lock);
    if (index == VDI_BLOCK_FREE) {
        return -ENOSPC;
    }
    /* 1. the data, durable before anything points to it */
    r = pwrite_all(bd->fd, buf, whole, data_offset(v, index) - v->block_extra);
    if (r < 0) {
        return r;
    }
    if (fdatasync(bd->fd) < 0) {
        return -errno;
    }
    /* 2. the map entry, 3. the header count: back to back, nothing in between */
    put32(le, index);
    r = pwrite_all(bd->fd, le, 4, v->off_blocks + 4 * (uint64_t)blk);
    if (r < 0) {
        return r;
    }
    put32(v->header + H_BLOCKS_ALLOCATED, v->allocated + 1);
    r = pwrite_all(bd->fd, v->header + H_BLOCKS_ALLOCATED, 4, H_BLOCKS_ALLOCATED);
    if (r < 0) {
        return r;
    }
    g_mutex_lock(&v->map_lock);
    v->allocated++;
    v->map[blk] = index;
    v->used[index / 8] |= (uint8_t)(1u << (index % 8));
    if (index >= v->next_index) {
        v->next_index = index + 1;
    }
    g_mutex_unlock(&v->map_lock);
    return 0;
}

static int vdi_write_segment(BlockDev *bd, uint32_t blk, uint32_t inblk, const struct iovec *iov,
                             unsigned niov, size_t len)
{
    Vdi *v = bd->opaque;
    uint32_t e = map_get(v, blk);
    int r;

    if (e < VDI_BLOCK_ZERO) {
        return block_full_pwritev(bd->fd, iov, niov, data_offset(v, e) + inblk);
    }
    g_mutex_lock(&v->alloc_lock);
    e = map_get(v, blk);
    if (e < VDI_BLOCK_ZERO) {
        /* Another request allocated it while we waited. */
        g_mutex_unlock(&v->alloc_lock);
        return block_full_pwritev(bd->fd, iov, niov, data_offset(v, e) + inblk);
    }
    if (len == v->block_size && iov_is_zero(iov, niov)) {
        /*
         * A whole block of zeros needs no data block: a base image already reads zeros
         * there; a differencing image records ZERO so the parent no longer shows through
         * (as VirtualBox does). One 4-byte map write, no count change: crash-safe.
         */
        r = 0;
        if (v->parent != NULL && e == VDI_BLOCK_FREE) {
            uint8_t le[4];
            put32(le, VDI_BLOCK_ZERO);
            r = pwrite_all(bd->fd, le, 4, v->off_blocks + 4 * (uint64_t)blk);
            if (r == 0) {
                g_mutex_lock(&v->map_lock);
                v->map[blk] = VDI_BLOCK_ZERO;
                g_mutex_unlock(&v->map_lock);
            }
        }
        g_mutex_unlock(&v->alloc_lock);
        return r;
    }
    r = vdi_allocate_locked(bd, blk, inblk, e, iov, niov, len);
    g_mutex_unlock(&v->alloc_lock);
    return r;
}

static int vdi_writev(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov)
{
    Vdi *v = bd->opaque;

    if (!g_atomic_int_get(&v->modify_uuid_done)) {
        /* The content changes: a new modification UUID, once per open. */
        g_mutex_lock(&v->alloc_lock);
        if (!g_atomic_int_get(&v->modify_uuid_done)) {
            uuid_random_disk(v->header + H_UUID_MODIFY);
            int r = pwrite_all(bd->fd, v->header + H_UUID_MODIFY, 16, H_UUID_MODIFY);
            if (r < 0) {
                g_mutex_unlock(&v->alloc_lock);
                return r;
            }
            g_atomic_int_set(&v->modify_uuid_done, 1);
        }
        g_mutex_unlock(&v->alloc_lock);
    }
    return for_each_segment(bd, offset, iov, niov, vdi_write_segment);
}

static int vdi_flush(BlockDev *bd)
{
    return fdatasync(bd->fd) < 0 ? -errno : 0;
}

static int vdi_resize(BlockDev *bd, uint64_t new_size)
{
    Vdi *v = bd->opaque;
    uint64_t nb64 = (new_size + v->block_size - 1) / v->block_size;

    if (v->type == VDI_TYPE_FIXED) {
        return -ENOTSUP;
    }
    if (new_size > (UINT64_C(1) << 56) || nb64 >= VDI_BLOCK_ZERO) {
        return -EFBIG;
    }
    uint32_t nb = (uint32_t)nb64;
    /* Growing the map into the data area would mean moving blocks: not supported. */
    if ((uint64_t)v->off_blocks + 4 * nb64 > v->off_data) {
        return -ENOSPC;
    }
    g_mutex_lock(&v->alloc_lock);
    if (nb > v->nblocks) {
        size_t n = nb - v->nblocks;
        g_autofree uint8_t *ff = g_malloc(4 * n);
        memset(ff, 0xff, 4 * n);
        /* New entries first (unused space), then the header that makes them part of the map. */
        int r = pwrite_all(bd->fd, ff, 4 * n, v->off_blocks + 4 * (uint64_t)v->nblocks);
        if (r < 0) {
            g_mutex_unlock(&v->alloc_lock);
            return r;
        }
        g_mutex_lock(&v->map_lock);
        v->map = g_renew(uint32_t, v->map, nb);
        for (uint32_t i = v->nblocks; i < nb; i++) {
            v->map[i] = VDI_BLOCK_FREE;
        }
        v->used = g_realloc(v->used, nb / 8 + 1);
        memset(v->used + v->nblocks / 8 + 1, 0, nb / 8 - v->nblocks / 8);
        g_mutex_unlock(&v->map_lock);
    }
    put64(v->header + H_DISK_SIZE, new_size);
    put32(v->header + H_BLOCKS, MAX(nb, v->nblocks));
    int r = pwrite_all(bd->fd, v->header, VDI_PREHEADER_SIZE + MIN(v->header_size, 0x190u), 0);
    if (r == 0) {
        g_mutex_lock(&v->map_lock);
        v->nblocks = MAX(nb, v->nblocks);
        v->disk_size = new_size;
        g_mutex_unlock(&v->map_lock);
        bd->size = new_size;
    }
    g_mutex_unlock(&v->alloc_lock);
    return r;
}

const BlockDriver block_vdi_driver = {
    .name = "vdi",
    .open = vdi_open,
    .close = vdi_close,
    .readv = vdi_readv,
    .writev = vdi_writev,
    .flush = vdi_flush,
    .resize = vdi_resize,
};

/* ---- creation and information ---- */

char *block_dup_uuid(BlockDev *bd)
{
    char text[37];

    if (bd->format != BLOCK_FORMAT_VDI) {
        return NULL;
    }
    uuid_disk_to_text(((Vdi *)bd->opaque)->header + H_UUID_CREATE, text);
    return g_strdup(text);
}

char *block_vdi_read_uuid(const char *path)
{
    uint8_t h[512];
    char text[37];
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return NULL;
    }
    ssize_t n = pread(fd, h, sizeof(h), 0);
    close(fd);
    if (n != (ssize_t)sizeof(h) || get32(h + H_SIGNATURE) != VDI_SIGNATURE ||
        uuid_is_null(h + H_UUID_CREATE)) {
        return NULL;
    }
    uuid_disk_to_text(h + H_UUID_CREATE, text);
    return g_strdup(text);
}

void block_vdi_describe(BlockDev *bd, GString *s)
{
    Vdi *v = bd->opaque;
    char u[37];
    static const char *const types[] = { "?", "dynamic", "fixed", "undo", "differencing" };

    g_string_append_printf(s, "vdi type: %s\nblock size: %u\nblocks: %u (%u allocated)\n"
                           "map offset: 0x%x\ndata offset: 0x%x\n", types[v->type],
                           v->block_size, v->nblocks, v->allocated, v->off_blocks, v->off_data);
    uuid_disk_to_text(v->header + H_UUID_MODIFY, u);
    g_string_append_printf(s, "modification uuid: %s\n", u);
    if (v->type == VDI_TYPE_DIFF) {
        uuid_disk_to_text(v->header + H_UUID_LINKAGE, u);
        g_string_append_printf(s, "parent uuid: %s\n", u);
        if (v->parent != NULL) {
            g_string_append_printf(s, "parent: %s\n", v->parent->path);
        }
    }
}

bool block_create_vdi(const char *path, uint64_t size, BlockVdiVariant variant,
                      BlockDev *parent, GError **error)
{
    uint8_t h[512] = { 0 };
    static const char text[] = "<<< Oracle VM VirtualBox Disk Image >>>\n";

    if (variant == BLOCK_VDI_DIFF) {
        if (parent == NULL || parent->format != BLOCK_FORMAT_VDI) {
            return fail(error, path, "a differencing image needs an opened VDI parent");
        }
        size = parent->size;
    } else if (parent != NULL) {
        return fail(error, path, "only differencing images have a parent");
    }
    if (size == 0 || size % BLOCK_SECTOR_SIZE != 0 || size > VDI_MAX_CREATE_SIZE) {
        return fail(error, path, "size %" G_GUINT64_FORMAT " is not a positive multiple of 512 "
                    "up to 256 TiB", size);
    }
    uint32_t nblocks = (uint32_t)((size + VDI_DEFAULT_BLOCK - 1) / VDI_DEFAULT_BLOCK);
    /* VirtualBox's layout: map after the header at 1 MiB, data at the next 1 MiB boundary. */
    uint32_t off_blocks = 1u << 20;
    uint64_t off_data = ((uint64_t)off_blocks + 4 * (uint64_t)nblocks + (1u << 20) - 1) &
                        ~(uint64_t)((1u << 20) - 1);
    bool fixed = variant == BLOCK_VDI_FIXED;

    memcpy(h + H_TEXT, text, sizeof(text) - 1);
    put32(h + H_SIGNATURE, VDI_SIGNATURE);
    put32(h + H_VERSION, VDI_VERSION_1_1);
    put32(h + H_HEADER_SIZE, VDI_HEADER1PLUS_SIZE);
    put32(h + H_TYPE, fixed ? VDI_TYPE_FIXED : variant == BLOCK_VDI_DIFF ? VDI_TYPE_DIFF
                                                                          : VDI_TYPE_NORMAL);
    put32(h + H_OFF_BLOCKS, off_blocks);
    put32(h + H_OFF_DATA, (uint32_t)off_data);
    put32(h + H_LEGACY_GEOM + 12, 512);
    put64(h + H_DISK_SIZE, size);
    put32(h + H_BLOCK_SIZE, VDI_DEFAULT_BLOCK);
    put32(h + H_BLOCKS, nblocks);
    put32(h + H_BLOCKS_ALLOCATED, fixed ? nblocks : 0);
    uuid_random_disk(h + H_UUID_CREATE);
    uuid_random_disk(h + H_UUID_MODIFY);
    if (variant == BLOCK_VDI_DIFF) {
        Vdi *pv = parent->opaque;
        memcpy(h + H_UUID_LINKAGE, pv->header + H_UUID_CREATE, 16);
        memcpy(h + H_UUID_PARENT_MODIFY, pv->header + H_UUID_MODIFY, 16);
    }
    put32(h + H_LCHS_GEOM + 12, 512);

    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: cannot create: %s",
                    path, g_strerror(e));
        return false;
    }
    int r = pwrite_all(fd, h, sizeof(h), 0);
    /* The map, in chunks so huge disks do not need one huge buffer. */
    const uint32_t chunk = 65536;
    g_autofree uint8_t *buf = g_malloc(4 * (size_t)chunk);
    for (uint32_t i = 0; r == 0 && i < nblocks; i += chunk) {
        uint32_t n = MIN(chunk, nblocks - i);
        for (uint32_t j = 0; j < n; j++) {
            put32(buf + 4 * (size_t)j, fixed ? i + j : VDI_BLOCK_FREE);
        }
        r = pwrite_all(fd, buf, 4 * (size_t)n, off_blocks + 4 * (uint64_t)i);
    }
    /* Fixed images own every block (sparse here: the file system allocates on write). */
    uint64_t end = off_data + (fixed ? (uint64_t)nblocks * VDI_DEFAULT_BLOCK : 0);
    if (r == 0 && ftruncate(fd, (off_t)end) < 0) {
        r = -errno;
    }
    if (r == 0 && fsync(fd) < 0) {
        r = -errno;
    }
    close(fd);
    if (r < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-r), "%s: cannot write: %s",
                    path, g_strerror(-r));
        return false;
    }
    return true;
}
