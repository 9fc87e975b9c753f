/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helper for the kill -9 test: writes random data to distinct 16 KiB slots of a
 * dynamic VDI with up to QD asynchronous writes in flight, and prints "slot length
 * seed" from each completion callback (the write is acknowledged), until it is killed
 * or runs out of slots. The i-th write goes to slot (i * STRIDE) % SLOTS, so a test
 * that saw N acknowledgements knows no write beyond FIRST + N + QD was submitted.
 * Usage: block-crash-helper IMAGE FIRST-WRITE
 */
#define G_LOG_DOMAIN "block-crash-helper"
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/block/block.h"

#define SLOTS 4096u
#define SLOT (16u * 1024u)
#define STRIDE 389u /* coprime with SLOTS: the i-th write goes to a distinct slot */
#define QD 8u

typedef struct {
    uint32_t slot, len, seed;
    uint8_t buf[SLOT];
} Write;

static GMutex lock;
static GCond cond;
static unsigned inflight;
static int failed;

static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
}

static void done_cb(void *opaque, int ret)
{
    Write *w = opaque;
    g_mutex_lock(&lock);
    if (ret < 0) {
        failed = ret;
    } else {
        printf("%u %u %u\n", w->slot, w->len, w->seed);
        fflush(stdout);
    }
    g_free(w);
    inflight--;
    g_cond_signal(&cond);
    g_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;

    if (argc != 3) {
        g_printerr("usage: %s IMAGE FIRST-WRITE\n", argv[0]);
        return 2;
    }
    unsigned first = (unsigned)strtoul(argv[2], NULL, 10);
    BlockOpenOptions o = { .format = BLOCK_FORMAT_VDI };
    BlockDev *bd = block_open(argv[1], &o, &err);
    if (bd == NULL) {
        g_printerr("%s\n", err->message);
        return 1;
    }
    GRand *r = g_rand_new();
    for (unsigned i = first; i < SLOTS; i++) {
        Write *w = g_new(Write, 1);
        w->slot = (i * STRIDE) % SLOTS;
        w->len = (uint32_t)g_rand_int_range(r, 1, SLOT / 512 + 1) * 512;
        w->seed = g_rand_int(r);
        fill(w->buf, w->len, w->seed);
        struct iovec iov = { w->buf, w->len };
        g_mutex_lock(&lock);
        while (inflight >= QD) {
            g_cond_wait(&cond, &lock);
        }
        if (failed < 0) {
            g_printerr("write failed: %d\n", failed);
            return 1;
        }
        inflight++;
        g_mutex_unlock(&lock);
        int ret = block_write_async(bd, (uint64_t)w->slot * SLOT, &iov, 1, done_cb, w);
        if (ret < 0) {
            g_printerr("submit failed: %d\n", ret);
            return 1;
        }
    }
    block_close(bd);
    g_rand_free(r);
    return failed < 0 ? 1 : 0;
}
