/* SPDX-License-Identifier: GPL-3.0-or-later */
/* i440FX tests: PAM shadow RAM and the ISA BIOS alias, seen through guest memory. */
#define G_LOG_DOMAIN "test-i440fx"
#include <glib.h>
#include <string.h>

#include "chipset-helpers.h"
#include "devices/chipset/i440fx.h"

#define HB VMM_PCI_DEVFN(0, 0)
#define ISA_BIOS_SIZE 0x20000

typedef struct {
    ChipsetFixture f;
    uint8_t *bios; /* Owned: the fake last 128 KiB of a BIOS image */
} PamFixture;

static void pam_setup(PamFixture *p)
{
    chipset_setup(&p->f, 2 * 1024 * 1024);
    p->bios = g_aligned_alloc(1, ISA_BIOS_SIZE, 4096);
    for (unsigned i = 0; i < ISA_BIOS_SIZE; i++) {
        p->bios[i] = (uint8_t)(i * 7 + (i >> 12));
    }
    i440fx_set_isa_bios((I440fxState *)p->f.i440fx, p->bios, ISA_BIOS_SIZE);
    chipset_reset_devices(&p->f);
}

static void pam_teardown(PamFixture *p)
{
    chipset_teardown(&p->f);
    g_aligned_free(p->bios);
}

static bool can_read(PamFixture *p, uint64_t gpa, uint8_t *out)
{
    return vmm_guest_read(p->f.m->mem, gpa, out, 1) == 0;
}

static bool can_write(PamFixture *p, uint64_t gpa, uint8_t v)
{
    return vmm_guest_write(p->f.m->mem, gpa, &v, 1) == 0;
}

static void test_pam_reset_state(void)
{
    PamFixture p;
    uint8_t buf[16];
    uint8_t v;

    pam_setup(&p);
    for (unsigned reg = 0x59; reg <= 0x5f; reg++) {
        g_assert_cmphex(cfg_read(&p.f, HB, reg, 1), ==, 0);
    }
    g_assert_cmphex(cfg_read(&p.f, HB, 0x72, 1), ==, 0x02);
    /* 0xE0000-0xFFFFF shows the BIOS image's last 128 KiB, read-only. */
    g_assert_cmpint(vmm_guest_read(p.f.m->mem, 0xf0000, buf, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf, sizeof(buf), p.bios + 0x10000, sizeof(buf));
    g_assert_cmpint(vmm_guest_read(p.f.m->mem, 0xe4010, buf, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf, sizeof(buf), p.bios + 0x4010, sizeof(buf));
    g_assert_cmpint(vmm_guest_read(p.f.m->mem, 0xffff0, buf, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf, sizeof(buf), p.bios + 0x1fff0, sizeof(buf));
    g_assert_false(can_write(&p, 0xf0000, 0x11));
    /* The whole alias reads in one go. */
    {
        g_autofree uint8_t *all = g_malloc(ISA_BIOS_SIZE);

        g_assert_cmpint(vmm_guest_read(p.f.m->mem, 0xe0000, all, ISA_BIOS_SIZE), ==, 0);
        g_assert_cmpmem(all, ISA_BIOS_SIZE, p.bios, ISA_BIOS_SIZE);
    }
    /* 0xC0000-0xDFFFF is PCI space: nothing there. */
    g_assert_false(can_read(&p, 0xc0000, &v));
    g_assert_false(can_read(&p, 0xdc000, &v));
    pam_teardown(&p);
}

static void test_pam_modes(void)
{
    PamFixture p;
    uint8_t v = 0;
    uint8_t *ram;

    pam_setup(&p);
    ram = vmm_guest_mem_ram_ptr(p.f.m->mem, 0, 0x100000);
    g_assert_nonnull(ram);

    /* SeaBIOS's make_bios_writable(): everything read-write. */
    cfg_write(&p.f, HB, 0x58, 4, 0x33333000u);
    cfg_write(&p.f, HB, 0x5c, 4, 0x33333333u);
    g_assert_cmphex(cfg_read(&p.f, HB, 0x58, 4), ==, 0x33333000u);
    g_assert_true(can_write(&p, 0xf0000, 0xa5));
    g_assert_true(can_read(&p, 0xf0000, &v));
    g_assert_cmphex(v, ==, 0xa5);
    g_assert_cmphex(ram[0xf0000], ==, 0xa5); /* identity-mapped low RAM */
    g_assert_true(can_write(&p, 0xc0000, 0x5a));
    g_assert_cmphex(ram[0xc0000], ==, 0x5a);
    g_assert_true(can_write(&p, 0xeffff, 0x77));
    /* A write spanning all shadow segments works (the regions are adjacent). */
    {
        g_autofree uint8_t *buf = g_malloc0(0x40000);

        g_assert_cmpint(vmm_guest_write(p.f.m->mem, 0xc0000, buf, 0x40000), ==, 0);
    }

    /* make_bios_readonly(): 0x11 everywhere; RAM keeps what was written, writes fail. */
    g_assert_true(can_write(&p, 0xf0010, 0x99));
    cfg_write(&p.f, HB, 0x58, 4, 0x11111000u);
    cfg_write(&p.f, HB, 0x5c, 4, 0x31111111u);
    g_assert_false(can_write(&p, 0xf0010, 0x42));
    g_assert_true(can_read(&p, 0xf0010, &v));
    g_assert_cmphex(v, ==, 0x99);
    g_assert_false(can_write(&p, 0xc4000, 0x42));
    /* PAM6 high nibble (0xEC000) is 3: still writable. */
    g_assert_true(can_write(&p, 0xec000, 0x42));
    g_assert_false(can_write(&p, 0xe8000, 0x42));

    /* Back to mode 0: the BIOS alias returns at 0xF0000 and 0xC0000 goes away. */
    cfg_write(&p.f, HB, 0x59, 1, 0x00);
    g_assert_true(can_read(&p, 0xf0010, &v));
    g_assert_cmphex(v, ==, p.bios[0x10010]);
    cfg_write(&p.f, HB, 0x5a, 1, 0x30); /* 0xC0000 PCI, 0xC4000 RAM read-write */
    g_assert_false(can_read(&p, 0xc0000, &v));
    g_assert_true(can_write(&p, 0xc4000, 0x43));

    /* Mode 2 (write-only) is approximated as read-write. */
    cfg_write(&p.f, HB, 0x5b, 1, 0x02);
    g_assert_true(can_write(&p, 0xc8000, 0x44));

    /* Reserved nibble bits do not stick. */
    cfg_write(&p.f, HB, 0x5d, 1, 0xff);
    g_assert_cmphex(cfg_read(&p.f, HB, 0x5d, 1), ==, 0x33);
    cfg_write(&p.f, HB, 0x59, 1, 0xff);
    g_assert_cmphex(cfg_read(&p.f, HB, 0x59, 1), ==, 0x30);

    /* Reset: all PCI again, alias back. */
    chipset_reset_devices(&p.f);
    g_assert_cmphex(cfg_read(&p.f, HB, 0x5c, 4), ==, 0);
    g_assert_false(can_write(&p, 0xf0000, 0x1));
    g_assert_true(can_read(&p, 0xf0000, &v));
    g_assert_cmphex(v, ==, p.bios[0x10000]);
    g_assert_false(can_read(&p, 0xc4000, &v));
    pam_teardown(&p);
}

static void test_smram_stored(void)
{
    PamFixture p;

    pam_setup(&p);
    cfg_write(&p.f, HB, 0x72, 1, 0x4a);
    g_assert_cmphex(cfg_read(&p.f, HB, 0x72, 1), ==, 0x4a);
    chipset_reset_devices(&p.f);
    g_assert_cmphex(cfg_read(&p.f, HB, 0x72, 1), ==, 0x02);
    pam_teardown(&p);
}

static void test_isa_bios_checks(void)
{
    PamFixture p;
    uint8_t v;

    pam_setup(&p);
    /* A misaligned or wrongly sized image is refused and the old alias stays. */
    g_test_expect_message("i440fx", G_LOG_LEVEL_WARNING, "*page-aligned*");
    i440fx_set_isa_bios((I440fxState *)p.f.i440fx, p.bios + 1, ISA_BIOS_SIZE);
    g_test_assert_expected_messages();
    g_test_expect_message("i440fx", G_LOG_LEVEL_WARNING, "*page-aligned*");
    i440fx_set_isa_bios((I440fxState *)p.f.i440fx, p.bios, 4096);
    g_test_assert_expected_messages();
    g_assert_true(can_read(&p, 0xf0000, &v));
    g_assert_cmphex(v, ==, p.bios[0x10000]);
    /* NULL removes the alias. */
    i440fx_set_isa_bios((I440fxState *)p.f.i440fx, NULL, 0);
    g_assert_false(can_read(&p, 0xf0000, &v));
    pam_teardown(&p);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i440fx/pam/reset-state", test_pam_reset_state);
    g_test_add_func("/i440fx/pam/modes", test_pam_modes);
    g_test_add_func("/i440fx/smram", test_smram_stored);
    g_test_add_func("/i440fx/isa-bios-checks", test_isa_bios_checks);
    return g_test_run();
}
