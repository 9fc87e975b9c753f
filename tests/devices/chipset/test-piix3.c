/* SPDX-License-Identifier: GPL-3.0-or-later */
/* PIIX3 tests: reset control register 0xCF9, port 0x92, PIRQ register storage. */
#define G_LOG_DOMAIN "test-piix3"
#include <glib.h>

#include "chipset-helpers.h"

#define ISA VMM_PCI_DEVFN(1, 0)

static void test_rcr(void)
{
    ChipsetFixture f;

    chipset_setup(&f, 0);
    chipset_reset_devices(&f);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcf9, 1), ==, 0);
    /* Selecting a hard reset alone does nothing. */
    vmm_bus_write_val(f.m->pio, 0xcf9, 0x02, 1);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_NONE);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcf9, 1), ==, 0x02);
    /* RCPU 0 -> 1 resets. */
    vmm_bus_write_val(f.m->pio, 0xcf9, 0x06, 1);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_RESET);
    g_assert_cmpstr(f.m->pending_detail, ==, "0xCF9");
    chipset_clear_request(&f);
    /* The config address register next door is unaffected by 0xCF9 accesses. */
    vmm_bus_write_val(f.m->pio, 0xcf8, 0x80000800u, 4);
    vmm_bus_write_val(f.m->pio, 0xcf9, 0x02, 1);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcf8, 4), ==, 0x80000800u);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcfc, 4), ==, 0x70008086u);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_NONE);
    /* Reset clears the register. */
    chipset_reset_devices(&f);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcf9, 1), ==, 0);
    chipset_teardown(&f);
}

static void test_port92(void)
{
    ChipsetFixture f;

    chipset_setup(&f, 0);
    chipset_reset_devices(&f);
    /* A20 reads enabled: KVM never masks it. */
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x92, 1), ==, 0x02);
    vmm_bus_write_val(f.m->pio, 0x92, 0x00, 1);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x92, 1), ==, 0x00);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_NONE);
    vmm_bus_write_val(f.m->pio, 0x92, 0x03, 1);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_RESET);
    g_assert_cmpstr(f.m->pending_detail, ==, "port 0x92");
    chipset_clear_request(&f);
    /* Only a rising edge resets. */
    vmm_bus_write_val(f.m->pio, 0x92, 0x03, 1);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_NONE);
    vmm_bus_write_val(f.m->pio, 0x92, 0x02, 1);
    vmm_bus_write_val(f.m->pio, 0x92, 0x03, 1);
    g_assert_cmpint(f.m->pending, ==, VMM_REQ_RESET);
    chipset_teardown(&f);
}

static void test_pirq_registers(void)
{
    ChipsetFixture f;

    chipset_setup(&f, 0);
    chipset_reset_devices(&f);
    g_assert_cmphex(cfg_read(&f, ISA, 0x60, 4), ==, 0x80808080u);
    /* SeaBIOS's routing. */
    cfg_write(&f, ISA, 0x60, 1, 0x0a);
    cfg_write(&f, ISA, 0x61, 1, 0x0a);
    cfg_write(&f, ISA, 0x62, 1, 0x0b);
    cfg_write(&f, ISA, 0x63, 1, 0x0b);
    g_assert_cmphex(cfg_read(&f, ISA, 0x60, 4), ==, 0x0b0b0a0au);
    /* Reserved bits 6:4 do not stick. */
    cfg_write(&f, ISA, 0x61, 1, 0xff);
    g_assert_cmphex(cfg_read(&f, ISA, 0x61, 1), ==, 0x8f);
    /* No ELCR ports: those belong to the in-kernel PIC. */
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0x4d0, 1), ==, 0xff);
    chipset_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/piix3/rcr", test_rcr);
    g_test_add_func("/piix3/port92", test_port92);
    g_test_add_func("/piix3/pirq-registers", test_pirq_registers);
    return g_test_run();
}
