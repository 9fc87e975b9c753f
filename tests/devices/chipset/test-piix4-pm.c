/* SPDX-License-Identifier: GPL-3.0-or-later */
/* PIIX4 PM tests: PMBA mapping, PM1 registers, S5, PM timer, SCI, GPE0. */
#define G_LOG_DOMAIN "test-piix4-pm"
#include <glib.h>

#include "chipset-helpers.h"
#include "devices/chipset/piix4-pm.h"
#include "vmm/timer.h"

#define PM VMM_PCI_DEVFN(1, 3)
#define SEC 1000000000ll
#define PM_HZ 3579545u

static void pm_setup(ChipsetFixture *f, uint16_t base)
{
    chipset_setup(f, 0);
    vmm_clock_set_manual(f->m);
    chipset_reset_devices(f);
    cfg_write(f, PM, 0x40, 4, base | 1u);
    cfg_write(f, PM, 0x80, 1, 0x01);
}

static uint32_t pm_tmr(ChipsetFixture *f, uint16_t base)
{
    return (uint32_t)vmm_bus_read_val(f->m->pio, base + 8, 4);
}

static void test_pmba(void)
{
    ChipsetFixture f;

    chipset_setup(&f, 0);
    chipset_reset_devices(&f);
    g_assert_cmphex(cfg_read(&f, PM, 0x40, 4), ==, 0x1);
    g_assert_cmphex(cfg_read(&f, PM, 0x80, 1), ==, 0x0);
    /* APMC_EN preset: no SMM here. */
    g_assert_cmphex(cfg_read(&f, PM, 0x5b, 1) & 0x02, ==, 0x02);

    /* Base alone does not map the block: PMIOSE must be set too. */
    cfg_write(&f, PM, 0x40, 4, 0x601);
    g_assert_cmphex(cfg_read(&f, PM, 0x40, 4), ==, 0x601);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x604, 2), ==, 0xffff);
    cfg_write(&f, PM, 0x80, 1, 0x01);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x604, 2), ==, 0x0001); /* SCI_EN */

    /* Moving it (OVMF's 0xB000). */
    cfg_write(&f, PM, 0x40, 4, 0xb000);
    g_assert_cmphex(cfg_read(&f, PM, 0x40, 4), ==, 0xb001); /* bit 0 reads 1 */
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x604, 2), ==, 0xffff);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xb004, 2), ==, 0x0001);
    /* Unaligned bits are dropped: 64-byte block. */
    cfg_write(&f, PM, 0x40, 4, 0xb03f);
    g_assert_cmphex(cfg_read(&f, PM, 0x40, 4), ==, 0xb001);

    /* Disabling unmaps. */
    cfg_write(&f, PM, 0x80, 1, 0x00);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xb004, 2), ==, 0xffff);

    /* SMBus base and host config are stored. */
    cfg_write(&f, PM, 0x90, 4, 0x701);
    cfg_write(&f, PM, 0xd2, 1, 0x09);
    g_assert_cmphex(cfg_read(&f, PM, 0x90, 4), ==, 0x701);
    g_assert_cmphex(cfg_read(&f, PM, 0xd2, 1), ==, 0x09);

    /* GPE0 is fixed at 0xAFE0. */
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xafe0, 4), ==, 0);
    chipset_teardown(&f);
}

static void test_sci_en_and_s5(void)
{
    ChipsetFixture f;

    pm_setup(&f, 0x600);
    /* SCI_EN cannot be cleared on an ACPI-only platform. */
    vmm_bus_write_val(f.m->pio, 0x604, 0x0000, 2);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x604, 2), ==, 0x0001);
    /* S3 (type 1) is ignored for now. */
    vmm_bus_write_val(f.m->pio, 0x604, (1u << 10) | 0x2000, 2);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_NONE);
    /* SLP_TYP stored, SLP_EN never reads back. */
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x604, 2), ==, (1u << 10) | 1u);
    /* S5: SLP_TYP 0 + SLP_EN, written as the high byte alone (like a byte-wise OS). */
    vmm_bus_write_val(f.m->pio, 0x604, 0x0000, 2);
    vmm_bus_write_val(f.m->pio, 0x605, 0x20, 1);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_POWEROFF);
    g_assert_cmpstr(f.m->pending_detail, ==, "ACPI S5");
    chipset_teardown(&f);
}

static void test_pm_timer(void)
{
    ChipsetFixture f;
    uint32_t t0, t1;

    pm_setup(&f, 0x600);
    t0 = pm_tmr(&f, 0x600);
    g_assert_cmphex(t0, <=, 0xffffff);
    /* Frozen clock: frozen timer. */
    g_assert_cmphex(pm_tmr(&f, 0x600), ==, t0);
    vmm_clock_advance(f.m, SEC);
    t1 = pm_tmr(&f, 0x600);
    g_assert_cmphex((t1 - t0) & 0xffffff, ==, PM_HZ);
    /* 5 s is more than one 24-bit period (about 4.69 s): it wraps. */
    vmm_clock_advance(f.m, 5 * SEC);
    t0 = t1;
    t1 = pm_tmr(&f, 0x600);
    g_assert_cmphex((t1 - t0) & 0xffffff, ==, (5u * PM_HZ) & 0xffffff);
    /* Byte access to the timer works too. */
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x60a, 1), ==, (t1 >> 16) & 0xff);
    /* A short step moves it by about the right amount. */
    vmm_clock_advance(f.m, 1000000);
    t0 = t1;
    t1 = pm_tmr(&f, 0x600);
    g_assert_cmpuint((t1 - t0) & 0xffffff, >=, 3579);
    g_assert_cmpuint((t1 - t0) & 0xffffff, <=, 3580);
    chipset_teardown(&f);
}

static void test_tmr_sts(void)
{
    ChipsetFixture f;

    pm_setup(&f, 0x600);
    vmm_bus_write_val(f.m->pio, 0x600, 0xffff, 2);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x600, 2) & 1, ==, 0);
    /* Bit 23 toggles every 2^23 ticks (about 2.34 s). */
    vmm_clock_advance(f.m, 3 * SEC);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x600, 2) & 1, ==, 1);
    /* No interrupt without TMR_EN. */
    g_assert_false(f.m->irq_level[9]);
    /* Write-1-to-clear; writing 0 leaves it. */
    vmm_bus_write_val(f.m->pio, 0x600, 0x0000, 2);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x600, 2) & 1, ==, 1);
    vmm_bus_write_val(f.m->pio, 0x600, 0x0001, 2);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x600, 2) & 1, ==, 0);

    /* With TMR_EN the overflow raises the SCI from a timer, without any read. */
    vmm_bus_write_val(f.m->pio, 0x602, 0x0001, 2);
    g_assert_false(f.m->irq_level[9]);
    vmm_clock_advance(f.m, 3 * SEC);
    g_assert_true(f.m->irq_level[9]);
    vmm_bus_write_val(f.m->pio, 0x600, 0x0001, 2);
    g_assert_false(f.m->irq_level[9]);
    chipset_teardown(&f);
}

static void test_power_button(void)
{
    ChipsetFixture f;
    Piix4PmState *pm;

    pm_setup(&f, 0x600);
    pm = (Piix4PmState *)f.piix4_pm;
    /* Not enabled: status only. */
    piix4_pm_power_button(pm);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x600, 2) & 0x100, ==, 0x100);
    g_assert_false(f.m->irq_level[9]);
    /* Enabling PWRBTN_EN with the status set raises the SCI. */
    vmm_bus_write_val(f.m->pio, 0x602, 0x0100, 2);
    g_assert_true(f.m->irq_level[9]);
    vmm_bus_write_val(f.m->pio, 0x601, 0x01, 1); /* W1C through the high byte */
    g_assert_false(f.m->irq_level[9]);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x600, 2) & 0x100, ==, 0);
    piix4_pm_power_button(pm);
    g_assert_true(f.m->irq_level[9]);
    /* Reset drops it. */
    chipset_reset_devices(&f);
    g_assert_false(f.m->irq_level[9]);
    chipset_teardown(&f);
}

static void test_gpe(void)
{
    ChipsetFixture f;
    Piix4PmState *pm;

    pm_setup(&f, 0x600);
    pm = (Piix4PmState *)f.piix4_pm;
    piix4_pm_set_gpe(pm, 1);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xafe0, 2), ==, 0x2);
    g_assert_false(f.m->irq_level[9]);
    vmm_bus_write_val(f.m->pio, 0xafe2, 0x2, 2);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xafe2, 2), ==, 0x2);
    g_assert_true(f.m->irq_level[9]);
    vmm_bus_write_val(f.m->pio, 0xafe0, 0x2, 1);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xafe0, 4), ==, 0x00020000u);
    g_assert_false(f.m->irq_level[9]);
    chipset_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/piix4-pm/pmba", test_pmba);
    g_test_add_func("/piix4-pm/sci-en-s5", test_sci_en_and_s5);
    g_test_add_func("/piix4-pm/timer", test_pm_timer);
    g_test_add_func("/piix4-pm/tmr-sts", test_tmr_sts);
    g_test_add_func("/piix4-pm/power-button", test_power_button);
    g_test_add_func("/piix4-pm/gpe", test_gpe);
    return g_test_run();
}
