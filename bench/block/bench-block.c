/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Block layer throughput bench (host side, not a test): sequential (64 KiB) and
 * random 4 KiB reads and writes at queue depth 1 and 32, through the block layer
 * on a raw image and on a (fully allocated) dynamic VDI, against plain pread/pwrite
 * on the same file (QD 32 = 32 threads). Prints MB/s, IOPS and block/plain ratios.
 *
 * Usage: bench-block [DIR [SIZE_MIB [SECONDS]]]   (default: $TMPDIR, 256 MiB, 1 s)
 */
#define G_LOG_DOMAIN "bench-block"
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/block.h"

typedef struct {
    const char *name;
    bool write;
    bool random;
    size_t bs;
} Workload;

static const Workload workloads[] = {
    { "seq-read", false, false, 64 * 1024 },
    { "seq-write", true, false, 64 * 1024 },
    { "rand-read", false, true, 4096 },
    { "rand-write", true, true, 4096 },
};

typedef struct {
    const Workload *w;
    uint64_t size;
    gint64 deadline;
    gint64 ops;        /* atomic */
    gint64 seq_next;   /* atomic, in units of bs */
    int fd;
    BlockDev *bd;
    /* async state */
    GMutex lock;
    GCond cond;
    unsigned inflight;
} Run;

static uint64_t next_offset(Run *r, GRand *rand)
{
    uint64_t slots = r->size / r->w->bs;
    if (r->w->random) {
        return ((uint64_t)g_rand_int(rand) * 65536 + g_rand_int_range(rand, 0, 65536)) % slots *
               r->w->bs;
    }
    return (uint64_t)__atomic_fetch_add(&r->seq_next, 1, __ATOMIC_RELAXED) % slots * r->w->bs;
}

static gpointer plain_thread(gpointer data)
{
    Run *r = data;
    GRand *rand = g_rand_new();
    uint8_t *buf = g_malloc(r->w->bs);
    memset(buf, 0x5a, r->w->bs);
    while (g_get_monotonic_time() < r->deadline) {
        uint64_t off = next_offset(r, rand);
        ssize_t n = r->w->write ? pwrite(r->fd, buf, r->w->bs, (off_t)off)
                                : pread(r->fd, buf, r->w->bs, (off_t)off);
        if (n != (ssize_t)r->w->bs) {
            g_error("plain I/O failed: %s", g_strerror(errno));
        }
        __atomic_fetch_add(&r->ops, 1, __ATOMIC_RELAXED);
    }
    g_free(buf);
    g_rand_free(rand);
    return NULL;
}

static void block_cb(void *opaque, int ret)
{
    Run *r = opaque;
    if (ret < 0) {
        g_error("block I/O failed: %s", g_strerror(-ret));
    }
    g_mutex_lock(&r->lock);
    r->inflight--;
    r->ops++;
    g_cond_signal(&r->cond);
    g_mutex_unlock(&r->lock);
}

static void run_block(Run *r, unsigned qd)
{
    GRand *rand = g_rand_new();
    uint8_t *buf = g_malloc(r->w->bs * qd);
    memset(buf, 0x5a, r->w->bs * qd);
    unsigned slot = 0;
    g_mutex_lock(&r->lock);
    while (g_get_monotonic_time() < r->deadline) {
        while (r->inflight < qd) {
            struct iovec iov = { buf + (slot++ % qd) * r->w->bs, r->w->bs };
            uint64_t off = next_offset(r, rand);
            r->inflight++;
            g_mutex_unlock(&r->lock);
            int ret = r->w->write ? block_write_async(r->bd, off, &iov, 1, block_cb, r)
                                  : block_read_async(r->bd, off, &iov, 1, block_cb, r);
            g_mutex_lock(&r->lock);
            if (ret < 0) {
                g_error("submit failed: %s", g_strerror(-ret));
            }
        }
        g_cond_wait(&r->cond, &r->lock);
    }
    while (r->inflight > 0) {
        g_cond_wait(&r->cond, &r->lock);
    }
    g_mutex_unlock(&r->lock);
    g_free(buf);
    g_rand_free(rand);
}

/* Returns IOPS. */
static double measure(int fd, BlockDev *bd, uint64_t size, const Workload *w, unsigned qd,
                      double secs)
{
    Run r = { .w = w, .size = size, .fd = fd, .bd = bd };
    /* Start every cell with no dirty pages, so write-back of the previous cell does not
     * throttle this one. */
    sync();
    g_mutex_init(&r.lock);
    g_cond_init(&r.cond);
    gint64 start = g_get_monotonic_time();
    r.deadline = start + (gint64)(secs * G_USEC_PER_SEC);
    if (bd == NULL) {
        GThread *t[32];
        for (unsigned i = 0; i < qd; i++) {
            t[i] = g_thread_new("plain", plain_thread, &r);
        }
        for (unsigned i = 0; i < qd; i++) {
            g_thread_join(t[i]);
        }
    } else {
        run_block(&r, qd);
    }
    double elapsed = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
    g_mutex_clear(&r.lock);
    g_cond_clear(&r.cond);
    return r.ops / elapsed;
}

static void fill_image(BlockDev *bd, uint64_t size)
{
    const size_t chunk = 1u << 20;
    uint8_t *buf = g_malloc(chunk);
    memset(buf, 0x33, chunk);
    for (uint64_t off = 0; off < size; off += chunk) {
        if (block_pwrite(bd, off, buf, chunk) < 0) {
            g_error("prefill failed");
        }
    }
    g_free(buf);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : g_get_tmp_dir();
    uint64_t size = (argc > 2 ? g_ascii_strtoull(argv[2], NULL, 10) : 256) << 20;
    double secs = argc > 3 ? g_ascii_strtod(argv[3], NULL) : 1.0;
    g_autoptr(GError) err = NULL;
    g_autofree char *raw = g_build_filename(dir, "bench-block.raw", NULL);
    g_autofree char *vdi = g_build_filename(dir, "bench-block.vdi", NULL);

    if (size == 0 || secs <= 0) {
        g_printerr("usage: bench-block [DIR [SIZE_MIB [SECONDS]]]\n");
        return 2;
    }
    if (!block_create_raw(raw, size, &err) ||
        !block_create_vdi(vdi, size, BLOCK_VDI_DYNAMIC, NULL, &err)) {
        g_printerr("%s\n", err->message);
        return 1;
    }
    BlockDev *rbd = block_open(raw, NULL, &err);
    BlockDev *vbd = rbd != NULL ? block_open(vdi, NULL, &err) : NULL;
    if (vbd == NULL) {
        g_printerr("%s\n", err->message);
        return 1;
    }
    fill_image(rbd, size);
    fill_image(vbd, size);
    int fd = open(raw, O_RDWR);

    printf("block bench: %s, %" G_GUINT64_FORMAT " MiB, %.1f s per cell (page cache, "
           "buffered I/O)\n", dir, size >> 20, secs);
    printf("%-11s %-4s %12s %12s %12s %8s %8s\n", "workload", "QD", "plain MB/s", "raw MB/s",
           "vdi MB/s", "raw/pl", "vdi/pl");
    const char *only = g_getenv("BENCH_BLOCK_ONLY"); /* e.g. "rand-read": one workload */
    for (unsigned i = 0; i < G_N_ELEMENTS(workloads); i++) {
        const Workload *w = &workloads[i];
        if (only != NULL && strcmp(only, w->name) != 0) {
            continue;
        }
        unsigned qds[] = { 1, 32 };
        for (unsigned q = 0; q < 2; q++) {
            measure(fd, NULL, size, w, qds[q], 0.2);
            double p = measure(fd, NULL, size, w, qds[q], secs);
            /* A short untimed warm-up per engine: thread start-up and CPU placement
             * otherwise penalise whichever cell runs first. */
            measure(-1, rbd, size, w, qds[q], 0.2);
            double rr = measure(-1, rbd, size, w, qds[q], secs);
            measure(-1, vbd, size, w, qds[q], 0.2);
            double v = measure(-1, vbd, size, w, qds[q], secs);
            double mb = w->bs / 1e6;
            printf("%-11s %-4u %12.1f %12.1f %12.1f %8.2f %8.2f   (IOPS %.0f / %.0f / %.0f)\n",
                   w->name, qds[q], p * mb, rr * mb, v * mb, rr / p, v / p, p, rr, v);
            fflush(stdout);
        }
    }
    /* Allocation cost: first writes to a fresh dynamic VDI (each 1 MiB block fdatasync'ed). */
    block_close(vbd);
    block_create_vdi(vdi, size, BLOCK_VDI_DYNAMIC, NULL, NULL);
    vbd = block_open(vdi, NULL, NULL);
    gint64 t0 = g_get_monotonic_time();
    fill_image(vbd, MIN(size, (uint64_t)64 << 20));
    double el = (g_get_monotonic_time() - t0) / (double)G_USEC_PER_SEC;
    printf("vdi allocating sequential write (1 MiB, QD 1): %.1f MB/s\n",
           MIN(size, (uint64_t)64 << 20) / 1e6 / el);
    close(fd);
    block_close(vbd);
    block_close(rbd);
    g_unlink(raw);
    g_unlink(vdi);
    return 0;
}
