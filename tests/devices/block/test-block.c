/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Block layer tests: raw and VDI (fixed, dynamic, differencing) round trips, bad
 * images refused without modification, asynchronous requests completing on an
 * I/O thread, cross-checks with qemu-img, and a kill -9 crash test.
 */
#define G_LOG_DOMAIN "test-block"
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/block/block.h"
#include "vmm/iothread.h"

#define MiB (1024u * 1024u)

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
}

static char *checksum_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

static const char *qemu_img(void)
{
    static char *path;
    if (path == NULL) {
        path = g_find_program_in_path("qemu-img");
        if (path == NULL) {
            g_error("qemu-img not found: it is a test dependency (scripts/install-deps.sh)");
        }
    }
    return path;
}

/* Runs a command; returns its exit status. */
static int run(const char *const *argv, char **out)
{
    g_autoptr(GError) err = NULL;
    int status = 0;
    g_autofree char *sout = NULL;
    g_autofree char *serr = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &sout,
                               &serr, &status, &err));
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_test_message("%s: %s%s", argv[0], sout, serr);
    }
    if (out != NULL) {
        *out = g_strconcat(sout, serr, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void assert_qemu_check(const char *path)
{
    const char *argv[] = { qemu_img(), "check", "-f", "vdi", path, NULL };
    g_assert_cmpint(run(argv, NULL), ==, 0);
}

static void assert_qemu_compare(const char *a, const char *fa, const char *b, const char *fb)
{
    const char *argv[] = { qemu_img(), "compare", "-f", fa, "-F", fb, a, b, NULL };
    g_assert_cmpint(run(argv, NULL), ==, 0);
}

static BlockDev *open_rw(const char *path, BlockFormat fmt)
{
    g_autoptr(GError) err = NULL;
    BlockOpenOptions o = { .format = fmt };
    BlockDev *bd = block_open(path, &o, &err);
    g_assert_no_error(err);
    g_assert_nonnull(bd);
    return bd;
}

/* Random writes mirrored into a shadow buffer, then read back. */
static void random_writes(BlockDev *bd, uint8_t *shadow, uint64_t size, unsigned n, uint32_t seed)
{
    GRand *r = g_rand_new_with_seed(seed);
    for (unsigned i = 0; i < n; i++) {
        uint64_t sectors = size / 512;
        uint64_t off = (uint64_t)g_rand_int_range(r, 0, (gint32)sectors) * 512;
        uint64_t len = (uint64_t)g_rand_int_range(r, 1, 2 * MiB / 512) * 512;
        len = MIN(len, size - off);
        fill(shadow + off, len, g_rand_int(r));
        g_assert_cmpint(block_pwrite(bd, off, shadow + off, len), ==, 0);
    }
    g_rand_free(r);
}

static void assert_content(BlockDev *bd, const uint8_t *shadow, uint64_t size)
{
    g_autofree uint8_t *buf = g_malloc(size);
    g_assert_cmpint(block_pread(bd, 0, buf, size), ==, 0);
    g_assert_true(memcmp(buf, shadow, size) == 0);
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    g_assert_true(g_file_set_contents(path, (const char *)data, len, NULL));
}

/* ---- raw ---- */

static void test_raw(void)
{
    g_autofree char *path = tmp_path("raw.img");
    const uint64_t size = 8 * MiB + 512;
    g_autofree uint8_t *shadow = g_malloc0(size);
    g_autoptr(GError) err = NULL;

    g_assert_true(block_create_raw(path, size, &err));
    BlockDev *bd = open_rw(path, BLOCK_FORMAT_AUTO);
    g_assert_cmpint(block_format(bd), ==, BLOCK_FORMAT_RAW);
    g_assert_cmpuint(block_size(bd), ==, size);
    random_writes(bd, shadow, size, 30, 1);
    assert_content(bd, shadow, size);
    /* Range checks. */
    uint8_t b[512];
    g_assert_cmpint(block_pread(bd, size, b, 512), ==, -ENOSPC);
    g_assert_cmpint(block_pread(bd, 1, b, 512), ==, -EINVAL);
    g_assert_cmpint(block_pwrite(bd, size - 512, b, 1024), ==, -ENOSPC);
    block_close(bd);

    bd = open_rw(path, BLOCK_FORMAT_RAW);
    assert_content(bd, shadow, size);
    g_assert_cmpint(block_resize(bd, size + MiB), ==, 0);
    g_assert_cmpuint(block_size(bd), ==, size + MiB);
    block_close(bd);

    /* Read-only opens refuse writes. */
    BlockOpenOptions ro = { .read_only = true };
    bd = block_open(path, &ro, &err);
    g_assert_nonnull(bd);
    g_assert_cmpint(block_pwrite(bd, 0, b, 512), ==, -EROFS);
    block_close(bd);
}

static void discard_cb(void *opaque, int ret)
{
    int *out = opaque;
    g_atomic_int_set(out, ret == 0 ? 1 : ret);
}

static void test_raw_discard(void)
{
    g_autofree char *path = tmp_path("discard.img");
    g_autofree uint8_t *buf = g_malloc(MiB);
    g_autofree uint8_t *zero = g_malloc0(MiB);
    g_assert_true(block_create_raw(path, 4 * MiB, NULL));
    BlockDev *bd = open_rw(path, BLOCK_FORMAT_RAW);
    fill(buf, MiB, 7);
    g_assert_cmpint(block_pwrite(bd, MiB, buf, MiB), ==, 0);
    int done = 0;
    g_assert_cmpint(block_discard_async(bd, MiB, MiB, discard_cb, &done), ==, 0);
    block_close(bd); /* waits for the callback */
    g_assert_cmpint(done, ==, 1);
    bd = open_rw(path, BLOCK_FORMAT_RAW);
    g_assert_cmpint(block_pread(bd, MiB, buf, MiB), ==, 0);
    /* tmpfs and ext4 punch holes; the hole reads zeros. */
    g_assert_true(memcmp(buf, zero, MiB) == 0);
    block_close(bd);
}

/* ---- VDI ---- */

static void vdi_roundtrip(BlockVdiVariant variant, const char *name)
{
    g_autofree char *path = tmp_path(name);
    g_autofree char *raw = g_strconcat(path, ".raw", NULL);
    const uint64_t size = 24 * MiB + 4096; /* a partial last block */
    g_autofree uint8_t *shadow = g_malloc0(size);
    g_autoptr(GError) err = NULL;

    g_assert_true(block_create_vdi(path, size, variant, NULL, &err));
    g_assert_no_error(err);
    assert_qemu_check(path);
    BlockDev *bd = open_rw(path, BLOCK_FORMAT_AUTO);
    g_assert_cmpint(block_format(bd), ==, BLOCK_FORMAT_VDI);
    g_assert_cmpuint(block_size(bd), ==, size);
    assert_content(bd, shadow, size);
    random_writes(bd, shadow, size, 40, 2);
    /* A whole-block write and a write spanning a block boundary. */
    fill(shadow + 5 * MiB, MiB, 99);
    g_assert_cmpint(block_pwrite(bd, 5 * MiB, shadow + 5 * MiB, MiB), ==, 0);
    fill(shadow + 10 * MiB - 4096, 8192, 98);
    g_assert_cmpint(block_pwrite(bd, 10 * MiB - 4096, shadow + 10 * MiB - 4096, 8192), ==, 0);
    assert_content(bd, shadow, size);
    g_assert_cmpint(block_flush(bd), ==, 0);
    block_close(bd);

    bd = open_rw(path, BLOCK_FORMAT_VDI);
    assert_content(bd, shadow, size);
    block_close(bd);

    assert_qemu_check(path);
    write_file(raw, shadow, size);
    assert_qemu_compare(path, "vdi", raw, "raw");
}

static void test_vdi_dynamic(void)
{
    vdi_roundtrip(BLOCK_VDI_DYNAMIC, "dyn.vdi");
}

static void test_vdi_fixed(void)
{
    vdi_roundtrip(BLOCK_VDI_FIXED, "fixed.vdi");
}

static void test_vdi_resize(void)
{
    g_autofree char *path = tmp_path("grow.vdi");
    g_autofree uint8_t *buf = g_malloc(MiB);
    g_autofree uint8_t *got = g_malloc(MiB);
    g_assert_true(block_create_vdi(path, 4 * MiB, BLOCK_VDI_DYNAMIC, NULL, NULL));
    BlockDev *bd = open_rw(path, BLOCK_FORMAT_VDI);
    fill(buf, MiB, 3);
    g_assert_cmpint(block_pwrite(bd, MiB, buf, MiB), ==, 0);
    g_assert_cmpint(block_resize(bd, 64 * MiB), ==, 0);
    g_assert_cmpint(block_pwrite(bd, 60 * MiB, buf, MiB), ==, 0);
    block_close(bd);
    assert_qemu_check(path);
    bd = open_rw(path, BLOCK_FORMAT_VDI);
    g_assert_cmpuint(block_size(bd), ==, 64 * MiB);
    g_assert_cmpint(block_pread(bd, 60 * MiB, got, MiB), ==, 0);
    g_assert_true(memcmp(buf, got, MiB) == 0);
    g_assert_cmpint(block_pread(bd, MiB, got, MiB), ==, 0);
    g_assert_true(memcmp(buf, got, MiB) == 0);
    block_close(bd);

    /* Fixed images do not grow. */
    g_autofree char *fpath = tmp_path("nogrow.vdi");
    g_assert_true(block_create_vdi(fpath, 4 * MiB, BLOCK_VDI_FIXED, NULL, NULL));
    bd = open_rw(fpath, BLOCK_FORMAT_VDI);
    g_assert_cmpint(block_resize(bd, 8 * MiB), ==, -ENOTSUP);
    block_close(bd);
}

/* ---- differencing chains ---- */

static char *lookup_list(void *opaque, const char *uuid)
{
    char **paths = opaque;
    for (unsigned i = 0; paths[i] != NULL; i++) {
        g_autofree char *u = block_vdi_read_uuid(paths[i]);
        if (g_strcmp0(u, uuid) == 0) {
            return g_strdup(paths[i]);
        }
    }
    return NULL;
}

static void set_map_entry(const char *path, uint32_t blk, uint32_t value)
{
    int fd = open(path, O_RDWR);
    g_assert_cmpint(fd, >=, 0);
    uint32_t le = GUINT32_TO_LE(value);
    g_assert_cmpint(pwrite(fd, &le, 4, MiB + 4 * blk), ==, 4);
    close(fd);
}

static void test_vdi_diff_chain(void)
{
    g_autofree char *base = tmp_path("base.vdi");
    g_autofree char *mid = tmp_path("mid.vdi");
    g_autofree char *leaf = tmp_path("leaf.vdi");
    char *paths[] = { base, mid, leaf, NULL };
    const uint64_t size = 8 * MiB;
    g_autofree uint8_t *a = g_malloc(size);
    g_autofree uint8_t *b = g_malloc(MiB);
    g_autofree uint8_t *got = g_malloc(size);
    g_autofree uint8_t *zero = g_malloc0(MiB);
    g_autoptr(GError) err = NULL;

    g_assert_true(block_create_vdi(base, size, BLOCK_VDI_DYNAMIC, NULL, &err));
    BlockDev *bd = open_rw(base, BLOCK_FORMAT_VDI);
    fill(a, size, 11);
    g_assert_cmpint(block_pwrite(bd, 0, a, size), ==, 0);
    block_close(bd);

    BlockOpenOptions o = { .format = BLOCK_FORMAT_VDI, .parent_lookup = lookup_list,
                           .parent_lookup_opaque = paths };
    BlockOpenOptions ro = o;
    ro.read_only = true;
    /* base <- mid <- leaf */
    bd = block_open(base, &ro, &err);
    g_assert_true(block_create_vdi(mid, 0, BLOCK_VDI_DIFF, bd, &err));
    block_close(bd);
    bd = block_open(mid, &o, &err);
    g_assert_no_error(err);
    fill(b, MiB, 12);
    /* mid: block 1 partially overwritten (rest comes from base) */
    g_assert_cmpint(block_pwrite(bd, MiB + 4096, b, 8192), ==, 0);
    memcpy(a + MiB + 4096, b, 8192);
    g_assert_true(block_create_vdi(leaf, 0, BLOCK_VDI_DIFF, bd, &err));
    block_close(bd);
    g_autofree char *base_sum = checksum_file(base);
    g_autofree char *mid_sum = checksum_file(mid);

    /* A differencing image without a lookup is refused with a clear error. */
    BlockDev *none = block_open(leaf, NULL, &err);
    g_assert_null(none);
    g_assert_nonnull(strstr(err->message, "parent"));
    g_clear_error(&err);

    bd = block_open(leaf, &o, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(block_size(bd), ==, size);
    /* FREE falls through the chain: everything reads as base + mid. */
    g_assert_cmpint(block_pread(bd, 0, got, size), ==, 0);
    g_assert_true(memcmp(got, a, size) == 0);
    /* Writes go to the leaf: a partial write into block 3. */
    fill(b, MiB, 13);
    g_assert_cmpint(block_pwrite(bd, 3 * MiB + 512, b, 1024), ==, 0);
    memcpy(a + 3 * MiB + 512, b, 1024);
    g_assert_cmpint(block_pread(bd, 0, got, size), ==, 0);
    g_assert_true(memcmp(got, a, size) == 0);
    block_close(bd);
    g_autofree char *base_sum2 = checksum_file(base);
    g_autofree char *mid_sum2 = checksum_file(mid);
    g_assert_cmpstr(base_sum, ==, base_sum2);
    g_assert_cmpstr(mid_sum, ==, mid_sum2);

    /* ZERO in the leaf stops the walk: block 5 reads zeros although base has data. */
    set_map_entry(leaf, 5, 0xfffffffe);
    bd = block_open(leaf, &o, &err);
    g_assert_no_error(err);
    g_assert_cmpint(block_pread(bd, 5 * MiB, got, MiB), ==, 0);
    g_assert_true(memcmp(got, zero, MiB) == 0);
    /* A partial write to a ZERO block keeps the rest zero (no parent data). */
    g_assert_cmpint(block_pwrite(bd, 5 * MiB, b, 512), ==, 0);
    g_assert_cmpint(block_pread(bd, 5 * MiB, got, MiB), ==, 0);
    g_assert_true(memcmp(got, b, 512) == 0);
    g_assert_true(memcmp(got + 512, zero, MiB - 512) == 0);
    /* Block 6 still falls through to base. */
    g_assert_cmpint(block_pread(bd, 6 * MiB, got, MiB), ==, 0);
    g_assert_true(memcmp(got, a + 6 * MiB, MiB) == 0);
    /* A whole block of zeros over block 7 becomes a ZERO entry, not a data block. */
    GStatBuf st1, st2;
    g_assert_cmpint(g_stat(leaf, &st1), ==, 0);
    g_assert_cmpint(block_pwrite(bd, 7 * MiB, zero, MiB), ==, 0);
    g_assert_cmpint(g_stat(leaf, &st2), ==, 0);
    g_assert_cmpint(st1.st_size, ==, st2.st_size);
    g_assert_cmpint(block_pread(bd, 7 * MiB, got, MiB), ==, 0);
    g_assert_true(memcmp(got, zero, MiB) == 0);
    block_close(bd);
    bd = block_open(leaf, &o, &err);
    g_assert_no_error(err);
    g_assert_cmpint(block_pread(bd, 7 * MiB, got, MiB), ==, 0);
    g_assert_true(memcmp(got, zero, MiB) == 0);
    block_close(bd);

    /* A wrong parent (UUID mismatch) is refused. */
    char *wrong[] = { leaf, NULL };
    BlockOpenOptions ow = { .format = BLOCK_FORMAT_VDI, .parent_lookup = lookup_list,
                            .parent_lookup_opaque = wrong };
    g_assert_null(block_open(mid, &ow, &err));
    g_assert_nonnull(strstr(err->message, "not found"));
}

/* ---- bad images ---- */

typedef void (*Corrupt)(uint8_t *img, size_t *len);

static void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, 4);
}

static void c_truncated_header(uint8_t *img, size_t *len)
{
    *len = 300;
}
static void c_truncated_map(uint8_t *img, size_t *len)
{
    *len = MiB + 8;
}
static void c_signature(uint8_t *img, size_t *len)
{
    img[0x40] ^= 0xff;
}
static void c_version(uint8_t *img, size_t *len)
{
    put32(img + 0x44, 0x00020000);
}
static void c_map_past_end(uint8_t *img, size_t *len)
{
    put32(img + MiB + 4, 1000);
}
static void c_map_past_file(uint8_t *img, size_t *len)
{
    put32(img + MiB + 4, 7);
}
static void c_map_duplicate(uint8_t *img, size_t *len)
{
    put32(img + MiB + 4, 0); /* block 0 is allocated at index 0 */
}
static void c_absurd_size(uint8_t *img, size_t *len)
{
    put32(img + 0x170, 0xffffffff);
    put32(img + 0x174, 0xffffffff);
}
static void c_block_size(uint8_t *img, size_t *len)
{
    put32(img + 0x178, 3 * MiB);
}
static void c_too_few_blocks(uint8_t *img, size_t *len)
{
    put32(img + 0x180, 2);
}
static void c_type(uint8_t *img, size_t *len)
{
    put32(img + 0x4c, 9);
}
static void c_layout(uint8_t *img, size_t *len)
{
    put32(img + 0x158, MiB); /* data overlaps the map */
}
static void c_alloc_count(uint8_t *img, size_t *len)
{
    put32(img + 0x184, 100);
}

static void test_bad_images(void)
{
    static const struct {
        const char *name;
        Corrupt fn;
        const char *needle;
    } cases[] = {
        { "truncated-header", c_truncated_header, "truncated" },
        { "truncated-map", c_truncated_map, "truncated" },
        { "signature", c_signature, "signature" },
        { "version", c_version, "version" },
        { "map-past-end", c_map_past_end, "past the last block" },
        { "map-past-file", c_map_past_file, "past the end of the file" },
        { "map-duplicate", c_map_duplicate, "duplicates" },
        { "absurd-size", c_absurd_size, "disk size" },
        { "block-size", c_block_size, "power of two" },
        { "too-few-blocks", c_too_few_blocks, "cannot hold" },
        { "type", c_type, "type" },
        { "layout", c_layout, "layout" },
        { "alloc-count", c_alloc_count, "allocated" },
    };
    g_autofree char *good = tmp_path("good.vdi");
    g_autofree uint8_t *buf = g_malloc(MiB);
    g_assert_true(block_create_vdi(good, 8 * MiB, BLOCK_VDI_DYNAMIC, NULL, NULL));
    BlockDev *bd = open_rw(good, BLOCK_FORMAT_VDI);
    fill(buf, MiB, 5);
    g_assert_cmpint(block_pwrite(bd, 0, buf, MiB), ==, 0);
    block_close(bd);
    g_autofree char *img = NULL;
    gsize img_len = 0;
    g_assert_true(g_file_get_contents(good, &img, &img_len, NULL));

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = tmp_path(cases[i].name);
        g_autofree uint8_t *copy = g_memdup2(img, img_len);
        size_t len = img_len;
        cases[i].fn(copy, &len);
        write_file(path, copy, len);
        g_autofree char *before = checksum_file(path);
        for (int ro = 0; ro < 2; ro++) {
            g_autoptr(GError) err = NULL;
            BlockOpenOptions o = { .format = ro ? BLOCK_FORMAT_AUTO : BLOCK_FORMAT_VDI,
                                   .read_only = ro };
            if (ro && cases[i].fn == c_signature) {
                o.format = BLOCK_FORMAT_VDI;
            }
            BlockDev *b = block_open(path, &o, &err);
            g_test_message("%s: %s", cases[i].name, err != NULL ? err->message : "opened");
            g_assert_null(b);
            g_assert_nonnull(err);
            g_assert_nonnull(strstr(err->message, path));
            g_assert_nonnull(strstr(err->message, cases[i].needle));
        }
        g_autofree char *after = checksum_file(path);
        g_assert_cmpstr(before, ==, after);
    }
}

/* A header count that disagrees with the map (a crash window) opens; only rw repairs it. */
static void test_count_repair(void)
{
    g_autofree char *path = tmp_path("count.vdi");
    g_autofree uint8_t *buf = g_malloc(MiB);
    g_assert_true(block_create_vdi(path, 8 * MiB, BLOCK_VDI_DYNAMIC, NULL, NULL));
    BlockDev *bd = open_rw(path, BLOCK_FORMAT_VDI);
    fill(buf, MiB, 5);
    g_assert_cmpint(block_pwrite(bd, 0, buf, MiB), ==, 0);
    g_assert_cmpint(block_pwrite(bd, 2 * MiB, buf, MiB), ==, 0);
    block_close(bd);
    int fd = open(path, O_RDWR);
    uint32_t one = GUINT32_TO_LE(1);
    g_assert_cmpint(pwrite(fd, &one, 4, 0x184), ==, 4);
    close(fd);
    g_autofree char *before = checksum_file(path);
    BlockOpenOptions ro = { .format = BLOCK_FORMAT_VDI, .read_only = true };
    bd = block_open(path, &ro, NULL);
    g_assert_nonnull(bd);
    block_close(bd);
    g_autofree char *after = checksum_file(path);
    g_assert_cmpstr(before, ==, after);
    bd = open_rw(path, BLOCK_FORMAT_VDI);
    g_assert_cmpint(block_pwrite(bd, 4 * MiB, buf, 512), ==, 0);
    block_close(bd);
    assert_qemu_check(path);
}

/* ---- asynchronous requests ---- */

typedef struct {
    GMutex lock;
    GCond cond;
    unsigned done;
    int errors;
    GThread *threads[64];
    unsigned nthreads;
} AsyncState;

static void async_cb(void *opaque, int ret)
{
    AsyncState *s = opaque;
    g_mutex_lock(&s->lock);
    if (ret != 0) {
        s->errors++;
    }
    if (s->nthreads < G_N_ELEMENTS(s->threads)) {
        s->threads[s->nthreads++] = g_thread_self();
    }
    s->done++;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static void wait_done(AsyncState *s, unsigned n)
{
    g_mutex_lock(&s->lock);
    while (s->done < n) {
        g_cond_wait(&s->cond, &s->lock);
    }
    g_mutex_unlock(&s->lock);
}

static void async_on(const char *name, bool vdi)
{
    g_autofree char *path = tmp_path(name);
    enum { N = 32, LEN = 64 * 1024 };
    g_autoptr(GError) err = NULL;
    VmmIoThread *io = vmm_iothread_new(&err);
    g_assert_no_error(err);
    if (vdi) {
        g_assert_true(block_create_vdi(path, 8 * MiB, BLOCK_VDI_DYNAMIC, NULL, NULL));
    } else {
        g_assert_true(block_create_raw(path, 8 * MiB, NULL));
    }
    BlockOpenOptions o = { .io = io };
    BlockDev *bd = block_open(path, &o, &err);
    g_assert_no_error(err);
    g_autofree uint8_t *wbuf = g_malloc(N * LEN);
    g_autofree uint8_t *rbuf = g_malloc0(N * LEN);
    fill(wbuf, N * LEN, 21);
    AsyncState s = { 0 };
    g_mutex_init(&s.lock);
    g_cond_init(&s.cond);

    /* 32 adjacent writes in flight at once (the workers may merge them). */
    for (unsigned i = 0; i < N; i++) {
        struct iovec iov[2] = {
            { wbuf + i * LEN, LEN / 2 },
            { wbuf + i * LEN + LEN / 2, LEN / 2 },
        };
        g_assert_cmpint(block_write_async(bd, (uint64_t)i * LEN, iov, 2, async_cb, &s), ==, 0);
    }
    wait_done(&s, N);
    g_assert_cmpint(block_flush_async(bd, async_cb, &s), ==, 0);
    wait_done(&s, N + 1);
    for (unsigned i = 0; i < N; i++) {
        struct iovec iov = { rbuf + i * LEN, LEN };
        g_assert_cmpint(block_read_async(bd, (uint64_t)i * LEN, &iov, 1, async_cb, &s), ==, 0);
    }
    wait_done(&s, 2 * N + 1);
    g_assert_cmpint(s.errors, ==, 0);
    g_assert_true(memcmp(wbuf, rbuf, N * LEN) == 0);
    /* Every completion ran on the one I/O thread, not here and not on several workers. */
    for (unsigned i = 0; i < s.nthreads; i++) {
        g_assert_true(s.threads[i] != g_thread_self());
        g_assert_true(s.threads[i] == s.threads[0]);
    }
    /* Invalid requests fail synchronously without a callback. */
    struct iovec bad = { rbuf, 100 };
    g_assert_cmpint(block_read_async(bd, 0, &bad, 1, async_cb, &s), ==, -EINVAL);
    struct iovec past = { rbuf, 512 };
    g_assert_cmpint(block_read_async(bd, 8 * MiB, &past, 1, async_cb, &s), ==, -ENOSPC);

    /* Requests still in flight at close complete before it returns. */
    unsigned before = s.done;
    for (unsigned i = 0; i < 8; i++) {
        struct iovec iov = { rbuf + i * LEN, LEN };
        g_assert_cmpint(block_read_async(bd, (uint64_t)i * LEN, &iov, 1, async_cb, &s), ==, 0);
    }
    block_close(bd);
    g_assert_cmpuint(s.done, ==, before + 8);
    vmm_iothread_free(io);
    g_mutex_clear(&s.lock);
    g_cond_clear(&s.cond);
}

static void test_async_raw(void)
{
    async_on("async.raw", false);
}

static void test_async_vdi(void)
{
    async_on("async.vdi", true);
}

/* ---- qemu-img made images ---- */

static void read_qemu_image(const char *const *create_opts, const char *name)
{
    g_autofree char *raw = tmp_path("q-src.raw");
    g_autofree char *vdi = tmp_path(name);
    const uint64_t size = 12 * MiB;
    g_autofree uint8_t *data = g_malloc0(size);
    fill(data + MiB, 3 * MiB + 512, 31);
    fill(data + 9 * MiB + 4096, 4096, 32);
    write_file(raw, data, size);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)qemu_img());
    g_ptr_array_add(argv, "convert");
    g_ptr_array_add(argv, "-f");
    g_ptr_array_add(argv, "raw");
    g_ptr_array_add(argv, "-O");
    g_ptr_array_add(argv, "vdi");
    for (unsigned i = 0; create_opts[i] != NULL; i++) {
        g_ptr_array_add(argv, (char *)create_opts[i]);
    }
    g_ptr_array_add(argv, raw);
    g_ptr_array_add(argv, vdi);
    g_ptr_array_add(argv, NULL);
    g_assert_cmpint(run((const char *const *)argv->pdata, NULL), ==, 0);
    g_ptr_array_free(argv, TRUE);

    g_autofree char *sum = checksum_file(vdi);
    BlockOpenOptions ro = { .read_only = true };
    BlockDev *bd = block_open(vdi, &ro, NULL);
    g_assert_nonnull(bd);
    g_assert_cmpint(block_format(bd), ==, BLOCK_FORMAT_VDI);
    g_assert_cmpuint(block_size(bd), ==, size);
    assert_content(bd, data, size);
    block_close(bd);
    g_autofree char *sum2 = checksum_file(vdi);
    g_assert_cmpstr(sum, ==, sum2);

    /* And writing into a QEMU-layout image keeps it valid for qemu-img. */
    bd = open_rw(vdi, BLOCK_FORMAT_VDI);
    random_writes(bd, data, size, 10, 33);
    block_close(bd);
    assert_qemu_check(vdi);
    write_file(raw, data, size);
    assert_qemu_compare(vdi, "vdi", raw, "raw");
}

static void test_qemu_convert_dynamic(void)
{
    const char *opts[] = { NULL };
    read_qemu_image(opts, "q-dyn.vdi");
}

static void test_qemu_convert_static(void)
{
    const char *opts[] = { "-o", "static=on", NULL };
    read_qemu_image(opts, "q-static.vdi");
}

static void test_qemu_create(void)
{
    g_autofree char *vdi = tmp_path("q-create.vdi");
    const char *argv[] = { qemu_img(), "create", "-q", "-f", "vdi", vdi, "5M", NULL };
    g_assert_cmpint(run(argv, NULL), ==, 0);
    g_autofree uint8_t *zero = g_malloc0(5 * MiB);
    BlockOpenOptions ro = { .read_only = true };
    BlockDev *bd = block_open(vdi, &ro, NULL);
    g_assert_nonnull(bd);
    g_assert_cmpuint(block_size(bd), ==, 5 * MiB);
    assert_content(bd, zero, 5 * MiB);
    block_close(bd);
}

static char *tool_path(void)
{
    const char *root = g_getenv("BOXWOOD_BUILD_ROOT");
    g_assert_nonnull(root);
    return g_build_filename(root, "app", "img", "boxwood-img", NULL);
}

static void test_tool(void)
{
    g_autofree char *tool = tool_path();
    g_autofree char *raw = tmp_path("tool.raw");
    g_autofree char *vdi = tmp_path("tool.vdi");
    g_autofree char *back = tmp_path("tool-back.raw");
    g_autofree char *fixed = tmp_path("tool-fixed.vdi");
    const uint64_t size = 6 * MiB;
    g_autofree uint8_t *data = g_malloc0(size);
    g_autofree char *out = NULL;
    fill(data + 512, 2 * MiB, 41);
    write_file(raw, data, size);

    const char *conv[] = { tool, "convert", "-O", "vdi", raw, vdi, NULL };
    g_assert_cmpint(run(conv, NULL), ==, 0);
    assert_qemu_check(vdi);
    assert_qemu_compare(vdi, "vdi", raw, "raw");
    const char *conv2[] = { tool, "convert", "-f", "vdi", "-O", "raw", vdi, back, NULL };
    g_assert_cmpint(run(conv2, NULL), ==, 0);
    assert_qemu_compare(back, "raw", raw, "raw");

    const char *create[] = { tool, "create", "-f", "vdi", "--variant", "fixed", fixed, "3M",
                             NULL };
    g_assert_cmpint(run(create, NULL), ==, 0);
    assert_qemu_check(fixed);
    const char *info[] = { tool, "info", fixed, NULL };
    g_assert_cmpint(run(info, &out), ==, 0);
    g_assert_nonnull(strstr(out, "fixed"));
    g_clear_pointer(&out, g_free);
    const char *check[] = { tool, "check", vdi, NULL };
    g_assert_cmpint(run(check, NULL), ==, 0);
    /* Errors: a bad image is 1, bad usage is 2. */
    const char *check_bad[] = { tool, "check", "/nonexistent/x.vdi", NULL };
    g_assert_cmpint(run(check_bad, &out), ==, 1);
    g_assert_nonnull(strstr(out, "/nonexistent/x.vdi"));
    const char *bad_size[] = { tool, "create", "-f", "vdi", fixed, "12Q", NULL };
    g_assert_cmpint(run(bad_size, NULL), ==, 2);
    const char *bad_cmd[] = { tool, "frobnicate", NULL };
    g_assert_cmpint(run(bad_cmd, NULL), ==, 2);
    const char *help[] = { tool, "convert", "--help", NULL };
    g_assert_cmpint(run(help, NULL), ==, 0);
}

/* ---- kill -9 ---- */

static void test_crash(void)
{
    const char *root = g_getenv("BOXWOOD_BUILD_ROOT");
    g_autofree char *helper = g_build_filename(root, "tests", "devices", "block",
                                               "block-crash-helper", NULL);
    g_autofree char *vdi = tmp_path("crash.vdi");
    enum { SLOTS = 4096, SLOT = 16 * 1024, QD = 8 };
    const uint64_t size = (uint64_t)SLOTS * SLOT;
    GRand *r = g_rand_new_with_seed(1234);
    GArray *acked = g_array_new(FALSE, FALSE, sizeof(uint32_t) * 3);
    /* The helper maps its i-th write to slot (i * 389) % SLOTS; see block-crash-helper.c. */
    unsigned next = 0;

    g_assert_true(block_create_vdi(vdi, size, BLOCK_VDI_DYNAMIC, NULL, NULL));
    for (unsigned round = 0; round < 20 && next < SLOTS; round++) {
        g_autofree char *start = g_strdup_printf("%u", next);
        const char *argv[] = { helper, vdi, start, NULL };
        GPid pid;
        int out_fd;
        g_autoptr(GError) err = NULL;
        g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                               G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                               NULL, &out_fd, NULL, &err));
        g_usleep((gulong)g_rand_int_range(r, 5000, 80000));
        kill(pid, SIGKILL);
        int status;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_spawn_close_pid(pid);
        /* Every complete line is an acknowledged write: slot, length, seed. */
        GString *text = g_string_new(NULL);
        char chunk[4096];
        ssize_t n;
        while ((n = read(out_fd, chunk, sizeof(chunk))) > 0) {
            g_string_append_len(text, chunk, n);
        }
        close(out_fd);
        char **lines = g_strsplit(text->str, "\n", -1);
        unsigned nl = g_strv_length(lines);
        for (unsigned i = 0; i + 1 < nl; i++) {
            uint32_t e[3];
            g_assert_cmpint(sscanf(lines[i], "%u %u %u", &e[0], &e[1], &e[2]), ==, 3);
            g_array_append_val(acked, e);
        }
        g_strfreev(lines);
        g_string_free(text, TRUE);
        /*
         * The helper's i-th write goes to a fixed slot; with QD writes in flight, at most
         * acknowledged + QD writes were submitted. Later rounds start past all of them so
         * no slot holds a write whose outcome is unknown.
         */
        next += (nl > 0 ? nl - 1 : 0) + QD;
        g_test_message("round %u: %u writes acknowledged so far", round, acked->len);

        assert_qemu_check(vdi);
        BlockOpenOptions ro = { .read_only = true };
        BlockDev *bd = block_open(vdi, &ro, &err);
        g_assert_no_error(err);
        g_autofree uint8_t *want = g_malloc(SLOT);
        g_autofree uint8_t *got = g_malloc(SLOT);
        for (unsigned i = 0; i < acked->len; i++) {
            uint32_t *e = &g_array_index(acked, uint32_t, 3 * i);
            fill(want, e[1], e[2]);
            g_assert_cmpint(block_pread(bd, (uint64_t)e[0] * SLOT, got, e[1]), ==, 0);
            g_assert_true(memcmp(want, got, e[1]) == 0);
        }
        block_close(bd);
    }
    g_assert_cmpuint(acked->len, >, 0);
    g_array_free(acked, TRUE);
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-block-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/block/raw", test_raw);
    g_test_add_func("/block/raw-discard", test_raw_discard);
    g_test_add_func("/block/vdi-dynamic", test_vdi_dynamic);
    g_test_add_func("/block/vdi-fixed", test_vdi_fixed);
    g_test_add_func("/block/vdi-resize", test_vdi_resize);
    g_test_add_func("/block/vdi-diff-chain", test_vdi_diff_chain);
    g_test_add_func("/block/bad-images", test_bad_images);
    g_test_add_func("/block/count-repair", test_count_repair);
    g_test_add_func("/block/async-raw", test_async_raw);
    g_test_add_func("/block/async-vdi", test_async_vdi);
    g_test_add_func("/block/qemu-convert-dynamic", test_qemu_convert_dynamic);
    g_test_add_func("/block/qemu-convert-static", test_qemu_convert_static);
    g_test_add_func("/block/qemu-create", test_qemu_create);
    g_test_add_func("/block/tool", test_tool);
    g_test_add_func("/block/crash-kill9", test_crash);
    int ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        g_printerr("cannot remove %s\n", tmpdir);
    }
    g_free(tmpdir);
    return ret;
}
