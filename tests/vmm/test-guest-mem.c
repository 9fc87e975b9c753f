/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <string.h>

#include "vmm/guest-mem.h"

typedef struct {
    int adds, dels;
    uint32_t last_flags;
} Listener;

static int l_add(void *opaque, const VmmMemRegion *r)
{
    Listener *l = opaque;
    l->adds++;
    l->last_flags = r->flags;
    return 0;
}

static void l_del(void *opaque, const VmmMemRegion *r)
{
    ((Listener *)opaque)->dels++;
}

static const VmmMemListener listener = {.region_add = l_add, .region_del = l_del};

static void test_ram_and_regions(void)
{
    VmmGuestMem *mem = vmm_guest_mem_new();
    g_autoptr(GError) err = NULL;
    Listener l = {0};

    g_assert_true(vmm_guest_mem_alloc_ram(mem, 1 << 20, &err));
    g_assert_no_error(err);
    g_assert_cmpint(vmm_guest_mem_ram_fd(mem), >=, 0);
    uint8_t *ram = vmm_guest_mem_ram_ptr(mem, 0, 1 << 20);
    g_assert_nonnull(ram);
    g_assert_null(vmm_guest_mem_ram_ptr(mem, 1 << 20, 1));
    g_assert_null(vmm_guest_mem_ram_ptr(mem, 4096, UINT64_MAX));

    /* Two adjacent RAM regions with a hole, plus a read-only one. */
    int a = vmm_guest_mem_add_region(mem, "lo", 0, 0x8000, ram, 0);
    int b = vmm_guest_mem_add_region(mem, "hi", 0x8000, 0x8000, ram + 0x8000, 0);
    int rom = vmm_guest_mem_add_region(mem, "rom", 0x20000, 0x1000, ram + 0x20000, VMM_MEM_READONLY);
    g_assert_cmpint(a, >=, 0);
    g_assert_cmpint(b, >=, 0);
    g_assert_cmpint(rom, >=, 0);
    g_assert_cmpint(vmm_guest_mem_add_region(mem, "x", 0x4000, 0x1000, ram, 0), ==, -EEXIST);
    g_assert_cmpint(vmm_guest_mem_add_region(mem, "x", 0x100, 0x1000, ram, 0), ==, -EINVAL);

    /* The listener sees existing regions replayed, then changes. */
    g_assert_cmpint(vmm_guest_mem_set_listener(mem, &listener, &l), ==, 0);
    g_assert_cmpint(l.adds, ==, 3);

    /* An access spanning both regions works. */
    uint8_t buf[16];
    memset(buf, 0xab, sizeof(buf));
    g_assert_cmpint(vmm_guest_write(mem, 0x7ff8, buf, sizeof(buf)), ==, 0);
    g_assert_cmphex(ram[0x8007], ==, 0xab);
    /* Touching the hole fails and transfers nothing. */
    memset(ram + 0xfff0, 0x11, 16);
    g_assert_cmpint(vmm_guest_write(mem, 0xfff8, buf, 16), ==, -EFAULT);
    g_assert_cmphex(ram[0xfff8], ==, 0x11);
    g_assert_cmpint(vmm_guest_read(mem, 0x10000, buf, 1), ==, -EFAULT);
    /* Overflowing ranges fail. */
    g_assert_cmpint(vmm_guest_read(mem, UINT64_MAX - 2, buf, 8), ==, -EFAULT);
    /* ROM reads, but refuses writes. */
    ram[0x20010] = 0x42;
    uint32_t v32;
    g_assert_cmpint(vmm_guest_read_u32(mem, 0x20010, &v32), ==, 0);
    g_assert_cmphex(v32 & 0xff, ==, 0x42);
    g_assert_cmpint(vmm_guest_write_u32(mem, 0x20010, 1), ==, -EFAULT);
    g_assert_null(vmm_guest_map(mem, 0x20000, 16, true));
    g_assert_nonnull(vmm_guest_map(mem, 0x20000, 16, false));
    /* map() needs the range inside a single region. */
    g_assert_null(vmm_guest_map(mem, 0x7ff8, 16, false));
    g_assert_true(vmm_guest_map(mem, 0x100, 16, true) == ram + 0x100);

    g_assert_cmpint(vmm_guest_mem_del_region(mem, b), ==, 0);
    g_assert_cmpint(l.dels, ==, 1);
    g_assert_cmpint(vmm_guest_read(mem, 0x8000, buf, 1), ==, -EFAULT);
    g_assert_cmpint(vmm_guest_mem_del_region(mem, b), ==, -ENOENT);
    /* Freed ids are reused (KVM slot numbers stay small). */
    g_assert_cmpint(vmm_guest_mem_add_region(mem, "again", 0x8000, 0x1000, ram, 0), ==, b);
    vmm_guest_mem_reclaim(mem);
    vmm_guest_mem_free(mem);
}

static void test_bad_ram_size(void)
{
    VmmGuestMem *mem = vmm_guest_mem_new();
    g_autoptr(GError) err = NULL;
    g_assert_false(vmm_guest_mem_alloc_ram(mem, 12345, &err));
    g_assert_nonnull(err);
    vmm_guest_mem_free(mem);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmm/guest-mem/ram-and-regions", test_ram_and_regions);
    g_test_add_func("/vmm/guest-mem/bad-ram-size", test_bad_ram_size);
    return g_test_run();
}
