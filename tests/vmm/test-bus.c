/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>

#include "vmm/bus.h"

typedef struct {
    uint8_t regs[16];
    unsigned reads, writes;
    unsigned last_size;
} Dev;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    Dev *d = opaque;
    uint64_t v = 0;
    g_assert_cmpuint(off + size, <=, sizeof(d->regs));
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)d->regs[off + i] << (8 * i);
    }
    d->reads++;
    d->last_size = size;
    return v;
}

static void dev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Dev *d = opaque;
    g_assert_cmpuint(off + size, <=, sizeof(d->regs));
    for (unsigned i = 0; i < size; i++) {
        d->regs[off + i] = val >> (8 * i);
    }
    d->writes++;
    d->last_size = size;
}

static const VmmIoOps ops_bytes = {.read = dev_read, .write = dev_write, .min_access = 1, .max_access = 1};
static const VmmIoOps ops_dword = {.read = dev_read, .write = dev_write, .min_access = 4, .max_access = 4};

static void test_register_overlap(void)
{
    VmmBus *bus = vmm_bus_new("test");
    Dev d = {0};
    int h = vmm_bus_register(bus, "a", 0x100, 16, &ops_bytes, &d, NULL);
    g_assert_cmpint(h, >, 0);
    g_assert_cmpint(vmm_bus_register(bus, "b", 0x10f, 1, &ops_bytes, &d, NULL), ==, -EEXIST);
    g_assert_cmpint(vmm_bus_register(bus, "b", 0xf0, 0x11, &ops_bytes, &d, NULL), ==, -EEXIST);
    g_assert_cmpint(vmm_bus_register(bus, "c", 0x110, 4, &ops_bytes, &d, NULL), >, 0);
    g_assert_cmpint(vmm_bus_register(bus, "z", 0, 0, &ops_bytes, &d, NULL), ==, -EINVAL);
    g_assert_cmpint(vmm_bus_register(bus, "w", UINT64_MAX, 2, &ops_bytes, &d, NULL), ==, -EINVAL);
    g_assert_cmpint(vmm_bus_unregister(bus, h), ==, 0);
    g_assert_cmpint(vmm_bus_unregister(bus, h), ==, -ENOENT);
    g_assert_cmpuint(vmm_bus_read_val(bus, 0x100, 1), ==, 0xff);
    vmm_bus_free(bus);
}

static void test_split_and_widen(void)
{
    VmmBus *bus = vmm_bus_new("test");
    Dev d = {0};
    vmm_bus_register(bus, "bytes", 0x100, 16, &ops_bytes, &d, NULL);

    /* A dword access to a byte-wide device becomes four byte accesses. */
    vmm_bus_write_val(bus, 0x100, 0x44332211, 4);
    g_assert_cmpuint(d.writes, ==, 4);
    g_assert_cmpuint(d.last_size, ==, 1);
    g_assert_cmphex(d.regs[0], ==, 0x11);
    g_assert_cmphex(d.regs[3], ==, 0x44);
    g_assert_cmphex(vmm_bus_read_val(bus, 0x100, 4), ==, 0x44332211);

    Dev w = {0};
    vmm_bus_register(bus, "dword", 0x200, 8, &ops_dword, &w, NULL);
    vmm_bus_write_val(bus, 0x200, 0xaabbccdd, 4);
    g_assert_cmpuint(w.last_size, ==, 4);
    /* A byte read of a dword-only device is widened and the right byte extracted. */
    g_assert_cmphex(vmm_bus_read_val(bus, 0x202, 1), ==, 0xbb);
    g_assert_cmpuint(w.last_size, ==, 4);
    /* A narrower write to a dword-only device is dropped. */
    unsigned before = w.writes;
    vmm_bus_write_val(bus, 0x201, 0x55, 1);
    g_assert_cmpuint(w.writes, ==, before);
    g_assert_cmphex(w.regs[1], ==, 0xcc);
    /* A qword splits in two dwords. */
    vmm_bus_write_val(bus, 0x200, 0x1122334455667788ull, 8);
    g_assert_cmphex(vmm_bus_read_val(bus, 0x200, 8), ==, 0x1122334455667788ull);

    /* Straddling the region end: the part outside reads as ones. */
    g_assert_cmphex(vmm_bus_read_val(bus, 0x10e, 4), ==, 0xffff0000 | (d.regs[15] << 8) | d.regs[14]);
    /* Invalid size: nothing dispatched. */
    uint8_t buf[3];
    g_assert_false(vmm_bus_read(bus, 0x100, buf, 3));
    vmm_bus_free(bus);
}

static void test_move(void)
{
    VmmBus *bus = vmm_bus_new("test");
    Dev d = {.regs = {0x5a}};
    int h = vmm_bus_register(bus, "m", 0x1000, 16, &ops_bytes, &d, NULL);
    vmm_bus_register(bus, "other", 0x3000, 16, &ops_bytes, &d, NULL);
    g_assert_cmpint(vmm_bus_move(bus, h, 0x2000), ==, 0);
    g_assert_cmphex(vmm_bus_read_val(bus, 0x1000, 1), ==, 0xff);
    g_assert_cmphex(vmm_bus_read_val(bus, 0x2000, 1), ==, 0x5a);
    g_assert_cmpint(vmm_bus_move(bus, h, 0x2ff8), ==, -EEXIST);
    g_assert_cmphex(vmm_bus_read_val(bus, 0x2000, 1), ==, 0x5a);
    vmm_bus_reclaim(bus);
    vmm_bus_free(bus);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmm/bus/register-overlap", test_register_overlap);
    g_test_add_func("/vmm/bus/split-and-widen", test_split_and_widen);
    g_test_add_func("/vmm/bus/move", test_move);
    return g_test_run();
}
