/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the VDI parser: the input becomes a VDI file in a memfd that
 * is opened read-only (through /proc/self/fd) and read in a few ranges. The first
 * byte picks how: 0 the input is the file; 1 the input is a list of byte patches
 * (offset lo, offset hi, value) on a valid small image; 2 a valid header followed
 * by the input as map and data. Nothing may crash, hang or allocate without bound,
 * and absurd reads are refused.
 */
#define G_LOG_DOMAIN "fuzz-vdi"
#include <errno.h>
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TBLOCK 4096u
#define TBLOCKS 4u
#define TEMPLATE_SIZE (0x400u + TBLOCKS * TBLOCK)

static void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, 4);
}

/* A QEMU-layout dynamic image: 4 blocks of 4 KiB, blocks 0 and 2 allocated. */
static void make_template(uint8_t *t)
{
    memset(t, 0, TEMPLATE_SIZE);
    put32(t + 0x40, 0xbeda107f);
    put32(t + 0x44, 0x00010001);
    put32(t + 0x48, 0x180);
    put32(t + 0x4c, 1);
    put32(t + 0x154, 0x200);
    put32(t + 0x158, 0x400);
    put32(t + 0x170, TBLOCKS * TBLOCK);
    put32(t + 0x178, TBLOCK);
    put32(t + 0x180, TBLOCKS);
    put32(t + 0x184, 2);
    t[0x188] = 1;
    t[0x198] = 2;
    put32(t + 0x200, 0);
    put32(t + 0x204, 0xffffffff);
    put32(t + 0x208, 1);
    put32(t + 0x20c, 0xfffffffe);
    memset(t + 0x400, 0xaa, 2 * TBLOCK);
}

static char *self_lookup(void *opaque, const char *uuid)
{
    /* Every parent is the image itself: the chain depth limit must stop the loop. */
    return g_strdup(opaque);
}

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer u)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        once = true;
        g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        g_log_set_handler("block", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, quiet_log, NULL);
    }
    if (size < 1) {
        return 0;
    }
    uint8_t mode = data[0] % 3;
    data++;
    size--;

    g_autofree uint8_t *file = NULL;
    size_t file_len;
    if (mode == 0) {
        file = g_memdup2(data, size);
        file_len = size;
    } else if (mode == 1) {
        file = g_malloc(TEMPLATE_SIZE);
        file_len = TEMPLATE_SIZE;
        make_template(file);
        for (size_t i = 0; i + 3 <= size; i += 3) {
            size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % TEMPLATE_SIZE;
            file[off] = data[i + 2];
        }
    } else {
        file_len = 0x200 + size;
        file = g_malloc0(MAX(file_len, (size_t)TEMPLATE_SIZE));
        make_template(file);
        memcpy(file + 0x200, data, size);
        put32(file + 0x184, 0);
    }

    int fd = memfd_create("fuzz-vdi", MFD_CLOEXEC);
    if (fd < 0) {
        g_error("memfd_create: %s", g_strerror(errno));
    }
    if (file_len > 0 && write(fd, file, file_len) != (ssize_t)file_len) {
        g_error("memfd write failed");
    }
    g_autofree char *path = g_strdup_printf("/proc/self/fd/%d", fd);
    BlockOpenOptions o = { .format = BLOCK_FORMAT_VDI, .read_only = true,
                           .parent_lookup = self_lookup, .parent_lookup_opaque = path };
    BlockDev *bd = block_open(path, &o, NULL);
    if (bd != NULL) {
        uint64_t disk = block_size(bd);
        uint8_t buf[8192];
        /* The start, a block boundary, the end, and reads that must be refused. */
        uint64_t offs[] = { 0, TBLOCK - 512, disk / 2 / 512 * 512, disk - 512 };
        for (unsigned i = 0; i < G_N_ELEMENTS(offs); i++) {
            size_t len = (size_t)MIN((uint64_t)sizeof(buf), disk - offs[i]);
            (void)block_pread(bd, offs[i], buf, len);
        }
        if (block_pread(bd, 0, buf, (size_t)1 << 40) == 0 ||
            block_pread(bd, disk, buf, 512) == 0 || block_pread(bd, 3, buf, 512) == 0 ||
            block_pwrite(bd, 0, buf, 512) == 0) {
            g_error("an absurd request was accepted");
        }
        block_close(bd);
    }
    close(fd);
    return 0;
}
