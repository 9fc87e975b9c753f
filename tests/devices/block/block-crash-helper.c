/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helper for the kill -9 test: writes random data to distinct 64 KiB slots of a
 * dynamic VDI and prints "slot length seed" after each write is acknowledged, until
 * it is killed or runs out of slots. Usage: block-crash-helper IMAGE FIRST-WRITE
 */
#define G_LOG_DOMAIN "block-crash-helper"
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/block/block.h"

#define SLOTS 1024u
#define SLOT (64u * 1024u)
#define STRIDE 389u /* coprime with SLOTS: the i-th write goes to a distinct slot */

static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
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
    uint8_t *buf = g_malloc(SLOT);
    for (unsigned i = first; i < SLOTS; i++) {
        uint32_t slot = (i * STRIDE) % SLOTS;
        uint32_t len = (uint32_t)g_rand_int_range(r, 1, SLOT / 512 + 1) * 512;
        uint32_t seed = g_rand_int(r);
        fill(buf, len, seed);
        int ret = block_pwrite(bd, (uint64_t)slot * SLOT, buf, len);
        if (ret < 0) {
            g_printerr("write failed: %d\n", ret);
            return 1;
        }
        printf("%u %u %u\n", slot, len, seed);
        fflush(stdout);
    }
    g_free(buf);
    g_rand_free(r);
    block_close(bd);
    return 0;
}
