/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * virtio-blk on the real block layer (a raw image in a temporary directory) on a
 * fake machine: requests complete on the block layer's worker threads, so the test
 * waits for the used ring to move. Checks data end to end: the guest reads what is in
 * the file, its writes land in the file, flush and GET_ID complete, and a read-only
 * image is refused writes.
 */
#define G_LOG_DOMAIN "test-virtio-blk-real"
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "../chipset/chipset-helpers.h"
#include "devices/block/block.h"
#include "devices/virtio/virtio-blk.h"
#include "devices/virtio/virtio-pci.h"
#include "vmm/machine.h"

#define RAM_SIZE (4u * 1024 * 1024)
#define DEVFN 0x18
#define BAR4_ADDR 0xe0000000ull
#define DISK_SIZE (256u * 1024)
#define QSIZE 8
#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define HDR 0x100000
#define DATA 0x101000
#define STATUS 0x120000

typedef struct {
    ChipsetFixture f;
    uint8_t *ram;
    char *dir;
    char *path;
    uint16_t avail_idx;
} T;

static void wr(T *t, unsigned off, uint64_t v, unsigned size)
{
    vmm_bus_write_val(t->f.m->mmio, BAR4_ADDR + off, v, size);
}

static uint64_t rd(T *t, unsigned off, unsigned size)
{
    return vmm_bus_read_val(t->f.m->mmio, BAR4_ADDR + off, size);
}

static void put16(T *t, uint64_t gpa, uint16_t v)
{
    g_assert_cmpint(vmm_guest_write_u16(t->f.m->mem, gpa, v), ==, 0);
}

static void put_desc(T *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags)
{
    uint64_t gpa = DESC + 16ull * i;
    g_assert_cmpint(vmm_guest_write_u64(t->f.m->mem, gpa, addr), ==, 0);
    g_assert_cmpint(vmm_guest_write_u32(t->f.m->mem, gpa + 8, len), ==, 0);
    put16(t, gpa + 12, flags);
    put16(t, gpa + 14, (uint16_t)(i + 1));
}

static void setup(T *t, bool readonly)
{
    g_autoptr(GError) err = NULL;

    memset(t, 0, sizeof(*t));
    t->dir = g_dir_make_tmp("boxwood-vblk-XXXXXX", &err);
    g_assert_no_error(err);
    t->path = g_build_filename(t->dir, "disk.img", NULL);
    g_autofree uint8_t *content = g_malloc(DISK_SIZE);
    for (unsigned i = 0; i < DISK_SIZE; i++) {
        content[i] = (uint8_t)(i * 13 + 1);
    }
    g_assert_true(g_file_set_contents(t->path, (const char *)content, DISK_SIZE, &err));

    chipset_setup(&t->f, 0);
    g_assert_true(vmm_guest_mem_alloc_ram(t->f.m->mem, RAM_SIZE, &err));
    t->ram = vmm_guest_mem_ram_ptr(t->f.m->mem, 0, RAM_SIZE);
    g_assert_cmpint(vmm_guest_mem_add_region(t->f.m->mem, "ram", 0, RAM_SIZE, t->ram, 0), >=, 0);
    VmmCfgNode *node = chipset_addr_cfg(&t->f, "vblk", DEVFN);
    vmm_cfg_set_string(node, "file", t->path);
    vmm_cfg_set_string(node, "format", "raw");
    vmm_cfg_set_string(node, "serial", "REAL-1");
    vmm_cfg_set_int(node, "readonly", readonly);
    g_assert_nonnull(vmm_device_create(t->f.m, &virtio_blk_type, "vblk", node, &err));
    g_assert_no_error(err);
    cfg_write(&t->f, DEVFN, 0x20, 4, (uint32_t)BAR4_ADDR);
    cfg_write(&t->f, DEVFN, 0x24, 4, 0);
    cfg_write(&t->f, DEVFN, 0x04, 2, VMM_PCI_COMMAND_MEMORY | VMM_PCI_COMMAND_MASTER);

    wr(t, VIRTIO_PCI_COMMON_STATUS, 3, 1);
    wr(t, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    wr(t, VIRTIO_PCI_COMMON_GF, 1, 4); /* VERSION_1 */
    wr(t, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_STATUS, 1), ==, 0x0b);
    wr(t, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    wr(t, VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
    wr(t, VIRTIO_PCI_COMMON_Q_DESCLO, DESC, 4);
    wr(t, VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL, 4);
    wr(t, VIRTIO_PCI_COMMON_Q_USEDLO, USED, 4);
    wr(t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    wr(t, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
}

static void teardown(T *t)
{
    chipset_teardown(&t->f); /* closes the image: waits for in-flight requests */
    g_unlink(t->path);
    g_rmdir(t->dir);
    g_free(t->path);
    g_free(t->dir);
}

/* Submits header [+ data] + status and waits (up to 10 s) for the used ring to move. */
static uint8_t request(T *t, uint32_t type, uint64_t sector, uint32_t len, bool in)
{
    unsigned n = 0;

    g_assert_cmpint(vmm_guest_write_u32(t->f.m->mem, HDR, type), ==, 0);
    g_assert_cmpint(vmm_guest_write_u32(t->f.m->mem, HDR + 4, 0), ==, 0);
    g_assert_cmpint(vmm_guest_write_u64(t->f.m->mem, HDR + 8, sector), ==, 0);
    t->ram[STATUS] = 0xee;
    put_desc(t, n++, HDR, 16, VIRTQ_DESC_F_NEXT);
    if (len) {
        put_desc(t, n++, DATA, len, VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0));
    }
    put_desc(t, n++, STATUS, 1, VIRTQ_DESC_F_WRITE);
    put16(t, AVAIL + 4 + 2 * (t->avail_idx % QSIZE), 0);
    t->avail_idx++;
    put16(t, AVAIL + 2, t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);

    for (unsigned i = 0; i < 10000; i++) {
        uint16_t used = 0;
        g_assert_cmpint(vmm_guest_read_u16(t->f.m->mem, USED + 2, &used), ==, 0);
        if (used == t->avail_idx) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            return t->ram[STATUS];
        }
        g_usleep(1000);
    }
    g_assert_not_reached();
}

static void test_read_write(void)
{
    T t;

    setup(&t, false);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_DEVICE_OFF, 4), ==, DISK_SIZE / 512);

    memset(t.ram + DATA, 0, 4096);
    g_assert_cmpuint(request(&t, 0, 7, 4096, true), ==, 0);
    for (unsigned i = 0; i < 4096; i++) {
        g_assert_cmpuint(t.ram[DATA + i], ==, (uint8_t)((7 * 512 + i) * 13 + 1));
    }

    memset(t.ram + DATA, 0x3c, 1024);
    g_assert_cmpuint(request(&t, 1, 2, 1024, false), ==, 0);
    g_assert_cmpuint(request(&t, 4, 0, 0, false), ==, 0);
    g_assert_cmpuint(request(&t, 8, 0, 20, true), ==, 0);
    g_assert_cmpstr((const char *)t.ram + DATA, ==, "REAL-1");
    g_assert_cmpuint(request(&t, 0, DISK_SIZE / 512, 512, true), ==, 1);
    teardown(&t);
}

static void test_write_lands_in_file(void)
{
    T t;
    g_autofree char *content = NULL;
    gsize len = 0;

    setup(&t, false);
    for (unsigned i = 0; i < 1024; i++) {
        t.ram[DATA + i] = (uint8_t)(0x80 ^ i);
    }
    g_assert_cmpuint(request(&t, 1, 3, 1024, false), ==, 0);
    g_assert_cmpuint(request(&t, 4, 0, 0, false), ==, 0);
    g_assert_true(g_file_get_contents(t.path, &content, &len, NULL));
    g_assert_cmpuint(len, ==, DISK_SIZE);
    g_assert_cmpmem(content + 3 * 512, 1024, t.ram + DATA, 1024);
    g_assert_cmpuint((uint8_t)content[3 * 512 - 1], ==, (uint8_t)((3 * 512 - 1) * 13 + 1));
    teardown(&t);
}

static void test_readonly(void)
{
    T t;

    setup(&t, true);
    wr(&t, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    g_assert_true(rd(&t, VIRTIO_PCI_COMMON_DF, 4) & (1u << 5));
    g_assert_cmpuint(request(&t, 1, 0, 512, false), ==, 1);
    g_assert_cmpuint(request(&t, 0, 0, 512, true), ==, 0);
    g_assert_cmpuint(t.ram[DATA + 1], ==, 14);
    teardown(&t);
}

static void test_missing_file(void)
{
    g_autoptr(GError) err = NULL;
    ChipsetFixture f;

    chipset_setup(&f, 0);
    VmmCfgNode *node = chipset_addr_cfg(&f, "vblk", DEVFN);
    vmm_cfg_set_string(node, "file", "/nonexistent/boxwood/disk.img");
    g_assert_null(vmm_device_create(f.m, &virtio_blk_type, "vblk", node, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "/nonexistent/boxwood/disk.img"));
    g_clear_error(&err);
    node = chipset_addr_cfg(&f, "vblk2", DEVFN);
    g_assert_null(vmm_device_create(f.m, &virtio_blk_type, "vblk2", node, &err));
    g_assert_nonnull(strstr(err->message, "file="));
    chipset_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-blk-real/read-write", test_read_write);
    g_test_add_func("/virtio-blk-real/write-lands-in-file", test_write_lands_in_file);
    g_test_add_func("/virtio-blk-real/readonly", test_readonly);
    g_test_add_func("/virtio-blk-real/missing-file", test_missing_file);
    return g_test_run();
}
