/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The emulator's page-table walker on fake physical memory: every paging mode, the
 * permission checks and #PF error codes, large pages and the accessed/dirty bits.
 */
#include <glib.h>
#include <string.h>

#include "vmm/x86/mmu.h"

#define MEM_SIZE (1u << 20)

static uint8_t mem[MEM_SIZE];

static int fake_read(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa) {
        return -14;
    }
    memcpy(buf, mem + gpa, len);
    return 0;
}

static int fake_write(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa) {
        return -14;
    }
    memcpy(mem + gpa, buf, len);
    return 0;
}

static void put32(uint64_t a, uint32_t v)
{
    memcpy(mem + a, &v, 4);
}

static void put64(uint64_t a, uint64_t v)
{
    memcpy(mem + a, &v, 8);
}

static uint64_t get64(uint64_t a)
{
    uint64_t v;
    memcpy(&v, mem + a, 8);
    return v;
}

static VmmX86Paging paging(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer)
{
    VmmX86Paging p = {.cr0 = cr0, .cr3 = cr3, .cr4 = cr4, .efer = efer,
                      .read_phys = fake_read, .write_phys = fake_write};
    return p;
}

#define PG 0x80000000ull
#define WP 0x10000ull
#define PE 1ull

static void test_no_paging(void)
{
    VmmX86Paging p = paging(PE, 0, 0, 0);
    uint64_t gpa;
    uint32_t err;
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x1234567890ull, VMM_X86_ACC_WRITE, &gpa, &err),
                    ==, VMM_X86_XLATE_OK);
    g_assert_cmphex(gpa, ==, 0x34567890);
}

static void test_32bit(void)
{
    memset(mem, 0, MEM_SIZE);
    /* la 0x12345678: PDE 0x48, PTE 0x345 */
    put32(0x1000 + 0x48 * 4, 0x2000 | 0x7);
    put32(0x2000 + 0x345 * 4, 0x99000 | 0x7);
    /* la 0x00c01234: 4 MiB page at 0x400000 (PSE), read-only, supervisor */
    put32(0x1000 + 3 * 4, 0x400000 | 0x81);
    VmmX86Paging p = paging(PE | PG | WP, 0x1000, 0x10 /* PSE */, 0);
    uint64_t gpa;
    uint32_t err;

    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x12345678, 0, &gpa, &err), ==, VMM_X86_XLATE_OK);
    g_assert_cmphex(gpa, ==, 0x99678);
    /* Accessed set on both levels, dirty only after a write. */
    g_assert_cmphex(mem[0x1000 + 0x48 * 4] & 0x20, ==, 0x20);
    g_assert_cmphex(mem[0x2000 + 0x345 * 4] & 0x60, ==, 0x20);
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x12345678, VMM_X86_ACC_WRITE | VMM_X86_ACC_USER,
                                          &gpa, &err), ==, VMM_X86_XLATE_OK);
    g_assert_cmphex(mem[0x2000 + 0x345 * 4] & 0x60, ==, 0x60);

    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x00c01234, 0, &gpa, &err), ==, VMM_X86_XLATE_OK);
    g_assert_cmphex(gpa, ==, 0x401234);
    /* Supervisor write to a read-only page with CR0.WP: P|W. */
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x00c01234, VMM_X86_ACC_WRITE, &gpa, &err), ==,
                    VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, VMM_X86_PF_P | VMM_X86_PF_W);
    /* Without WP the supervisor may write. */
    p.cr0 &= ~WP;
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x00c01234, VMM_X86_ACC_WRITE, &gpa, &err), ==,
                    VMM_X86_XLATE_OK);
    /* User read of a supervisor page: P|U. */
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x00c01234, VMM_X86_ACC_USER, &gpa, &err), ==,
                    VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, VMM_X86_PF_P | VMM_X86_PF_U);
    /* Not present: write by user: W|U, P clear. */
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x80000000, VMM_X86_ACC_WRITE | VMM_X86_ACC_USER,
                                          &gpa, &err), ==, VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, VMM_X86_PF_W | VMM_X86_PF_U);
    /* Without CR4.PSE the PS bit is ignored: the PDE points at a page table. */
    p.cr4 = 0;
    put32(0x400000 & (MEM_SIZE - 1), 0);
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x00c01234, 0, &gpa, &err), !=, VMM_X86_XLATE_OK);
}

static void test_pae(void)
{
    memset(mem, 0, MEM_SIZE);
    /* PDPT at 0x3020 (32-byte aligned), PD at 0x4000, PT at 0x5000. */
    put64(0x3020 + 1 * 8, 0x4000 | 1);        /* la 0x40000000.. */
    put64(0x4000 + 0 * 8, 0x5000 | 0x7);
    put64(0x5000 + 5 * 8, 0x77000 | 0x7 | (1ull << 63)); /* NX */
    put64(0x4000 + 1 * 8, 0x200000 | 0x83);   /* 2 MiB page at la 0x40200000 */
    VmmX86Paging p = paging(PE | PG, 0x3020, 0x20, 1ull << 11 /* NXE */);
    uint64_t gpa;
    uint32_t err;

    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x40005abc, 0, &gpa, &err), ==, VMM_X86_XLATE_OK);
    g_assert_cmphex(gpa, ==, 0x77abc);
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x40005abc, VMM_X86_ACC_FETCH, &gpa, &err), ==,
                    VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, VMM_X86_PF_P | VMM_X86_PF_I);
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x40212345, VMM_X86_ACC_WRITE, &gpa, &err), ==,
                    VMM_X86_XLATE_OK);
    g_assert_cmphex(gpa, ==, 0x212345);
    g_assert_cmphex(get64(0x4000 + 8) & 0x60, ==, 0x60);
    /* NX set while EFER.NXE is clear: reserved-bit fault. */
    p.efer = 0;
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x40005abc, 0, &gpa, &err), ==, VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, VMM_X86_PF_P | VMM_X86_PF_RSVD);
    /* Not-present PDPTE. */
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x00001000, 0, &gpa, &err), ==, VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, 0);
}

static void test_long_mode(void)
{
    memset(mem, 0, MEM_SIZE);
    uint64_t la = 0xffff800012345678ull;
    unsigned i4 = (la >> 39) & 511, i3 = (la >> 30) & 511, i2 = (la >> 21) & 511,
             i1 = (la >> 12) & 511;
    put64(0x10000 + i4 * 8, 0x11000 | 3);
    put64(0x11000 + i3 * 8, 0x12000 | 3);
    put64(0x12000 + i2 * 8, 0x13000 | 3);
    put64(0x13000 + i1 * 8, 0x5a000 | 1); /* read-only supervisor */
    put64(0x10000 + 0, 0x14000 | 7);
    put64(0x14000 + 1 * 8, 0x40000000ull | 0x87); /* 1 GiB page at la 1 GiB, user */
    VmmX86Paging p = paging(PE | PG | WP, 0x10000, 0x20, (1ull << 10) | (1ull << 8));
    uint64_t gpa;
    uint32_t err;

    g_assert_cmpint(vmm_x86_mmu_translate(&p, la, 0, &gpa, &err), ==, VMM_X86_XLATE_OK);
    g_assert_cmphex(gpa, ==, 0x5a678);
    g_assert_cmpint(vmm_x86_mmu_translate(&p, la, VMM_X86_ACC_WRITE, &gpa, &err), ==,
                    VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, VMM_X86_PF_P | VMM_X86_PF_W);
    /* The user bit must be set at every level. */
    g_assert_cmpint(vmm_x86_mmu_translate(&p, la, VMM_X86_ACC_USER, &gpa, &err), ==,
                    VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, VMM_X86_PF_P | VMM_X86_PF_U);
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x40000000ull + 0x123456, VMM_X86_ACC_USER, &gpa,
                                          &err), ==, VMM_X86_XLATE_OK);
    g_assert_cmphex(gpa, ==, 0x40123456);
    /* SMEP: supervisor fetch from a user page. */
    p.cr4 |= 1u << 20;
    g_assert_cmpint(vmm_x86_mmu_translate(&p, 0x40000000ull, VMM_X86_ACC_FETCH, &gpa, &err), ==,
                    VMM_X86_XLATE_PF);
    g_assert_cmphex(err, ==, VMM_X86_PF_P | VMM_X86_PF_I);
    /* NO_AD leaves the entries alone. */
    put64(0x13000 + i1 * 8, 0x5a000 | 1);
    g_assert_cmpint(vmm_x86_mmu_translate(&p, la, VMM_X86_ACC_NO_AD, &gpa, &err), ==,
                    VMM_X86_XLATE_OK);
    g_assert_cmphex(get64(0x13000 + i1 * 8), ==, 0x5a001);
    /* Page tables outside memory. */
    p.cr3 = 0x7ff000000ull;
    g_assert_cmpint(vmm_x86_mmu_translate(&p, la, 0, &gpa, &err), ==, VMM_X86_XLATE_BAD_MEM);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmm/x86-mmu/no-paging", test_no_paging);
    g_test_add_func("/vmm/x86-mmu/32bit", test_32bit);
    g_test_add_func("/vmm/x86-mmu/pae", test_pae);
    g_test_add_func("/vmm/x86-mmu/long-mode", test_long_mode);
    return g_test_run();
}
