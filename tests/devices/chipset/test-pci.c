/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PCI framework tests through configuration mechanism #1: config space access,
 * BAR sizing and mapping, MSI/MSI-X delivery and INTx routing via the PIIX3.
 */
#define G_LOG_DOMAIN "test-pci"
#include <glib.h>

#include "chipset-helpers.h"

#define TEST_VENDOR 0x1234
#define TEST_DEVICE 0xabcd
#define TEST_SLOT 3
#define TEST_DEVFN VMM_PCI_DEVFN(TEST_SLOT, 0)

#define HB VMM_PCI_DEVFN(0, 0)
#define ISA VMM_PCI_DEVFN(1, 0)
#define PM VMM_PCI_DEVFN(1, 3)

/* A PCI device with every kind of BAR, MSI and MSI-X. */
typedef struct {
    VmmPciDevice pci;
    uint8_t addr;
    int msi_cap;
    int msix_cap;
    uint64_t last_io_write;
} TestDev;

static uint64_t test_io_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0xa0 + offset;
}

static void test_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    TestDev *t = opaque;

    t->last_io_write = value;
}

static const VmmIoOps test_io_ops = {
    .read = test_io_read,
    .write = test_io_write,
    .min_access = 1,
    .max_access = 4,
};

static uint64_t test_mem_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0x5a000000u + offset;
}

static const VmmIoOps test_mem_ops = {
    .read = test_mem_read,
    .min_access = 4,
    .max_access = 4,
};

static bool testdev_realize(VmmDevice *dev, GError **error)
{
    TestDev *t = (TestDev *)dev;

    if (!vmm_pci_device_realize(&t->pci, t->addr, NULL, error)) {
        return false;
    }
    vmm_pci_set_ids(&t->pci, TEST_VENDOR, TEST_DEVICE, 0xff0000, 7);
    vmm_pci_set_subsystem(&t->pci, 0x1af4, 0x1234);
    vmm_pci_set_interrupt_pin(&t->pci, 1);
    g_assert_cmpint(
        vmm_pci_register_bar(&t->pci, 0, VMM_PCI_BAR_IO, false, 32, "test-io", &test_io_ops, t), ==,
        0);
    g_assert_cmpint(vmm_pci_register_bar(&t->pci, 1, VMM_PCI_BAR_MEM32, false, 0x1000, "test-mem",
                                         &test_mem_ops, t),
                    ==, 0);
    g_assert_cmpint(vmm_pci_register_bar(&t->pci, 2, VMM_PCI_BAR_MEM64, true, 0x4000, "test-mem64",
                                         &test_mem_ops, t),
                    ==, 0);
    /* The upper half of a 64-bit BAR cannot be used again. */
    g_assert_cmpint(
        vmm_pci_register_bar(&t->pci, 3, VMM_PCI_BAR_IO, false, 32, "bad", &test_io_ops, t), <, 0);
    t->msi_cap = vmm_pci_msi_init(&t->pci, 4, true);
    g_assert_cmpint(t->msi_cap, >=, 0x40);
    t->msix_cap = vmm_pci_msix_init(&t->pci, 4, 4);
    g_assert_cmpint(t->msix_cap, >, t->msi_cap);
    return true;
}

static void testdev_reset(VmmDevice *dev)
{
    vmm_pci_device_reset((VmmPciDevice *)dev);
}

static void testdev_unrealize(VmmDevice *dev)
{
    vmm_pci_device_unrealize((VmmPciDevice *)dev);
}

static const VmmPropDesc testdev_props[] = {
    VMM_PROP_INT(VMM_PROP_U8, "addr", TestDev, addr, 0x18, 0, 0xff, "devfn"),
    VMM_PROP_END,
};

static const VmmDeviceType testdev_type = {
    .name = "test-pci",
    .description = "PCI test device",
    .instance_size = sizeof(TestDev),
    .props = testdev_props,
    .realize = testdev_realize,
    .reset = testdev_reset,
    .unrealize = testdev_unrealize,
};

static TestDev *add_testdev(ChipsetFixture *f, const char *id, uint8_t devfn)
{
    g_autoptr(GError) err = NULL;
    VmmDevice *dev =
        vmm_device_create(f->m, &testdev_type, id, chipset_addr_cfg(f, id, devfn), &err);

    g_assert_no_error(err);
    g_assert_nonnull(dev);
    return (TestDev *)dev;
}

static void setup(ChipsetFixture *f)
{
    chipset_setup(f, 0);
    add_testdev(f, "test0", TEST_DEVFN);
    chipset_reset_devices(f);
}

/* ---- configuration mechanism #1 ----------------------------------------------------------- */

static void test_config_address(void)
{
    ChipsetFixture f;

    setup(&f);
    vmm_bus_write_val(f.m->pio, 0xcf8, 0x80000000u, 4);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcf8, 4), ==, 0x80000000u);
    vmm_bus_write_val(f.m->pio, 0xcf8, 0x80001234u, 4);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcf8, 4), ==, 0x80001234u);
    /* Reserved bits 30:24 and the dword-select bits 1:0 read as zero. */
    vmm_bus_write_val(f.m->pio, 0xcf8, 0xffffffffu, 4);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcf8, 4), ==, 0x80fffffcu);
    vmm_bus_write_val(f.m->pio, 0xcf8, 0, 4);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcf8, 4), ==, 0);
    /* Without the enable bit, data reads float. */
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcfc, 4), ==, 0xffffffffu);
    chipset_teardown(&f);
}

static void test_config_ids(void)
{
    ChipsetFixture f;

    setup(&f);
    g_assert_cmphex(cfg_read(&f, HB, 0, 4), ==, 0x12378086u);
    g_assert_cmphex(cfg_read(&f, HB, 0x08, 4), ==, 0x06000002u);
    g_assert_cmphex(cfg_read(&f, HB, 0x2c, 4), ==, 0x11001af4u);
    g_assert_cmphex(cfg_read(&f, ISA, 0, 4), ==, 0x70008086u);
    g_assert_cmphex(cfg_read(&f, ISA, 0x08, 4) >> 8, ==, 0x060100u);
    g_assert_cmphex(cfg_read(&f, ISA, 0x0e, 1), ==, 0x80);
    g_assert_cmphex(cfg_read(&f, PM, 0, 4), ==, 0x71138086u);
    g_assert_cmphex(cfg_read(&f, PM, 0x08, 4), ==, 0x06800003u);
    g_assert_cmphex(cfg_read(&f, PM, 0x3d, 1), ==, 1);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0, 4), ==, 0xabcd1234u);
    /* Empty slots and functions, and other buses, read all ones. */
    g_assert_cmphex(cfg_read(&f, VMM_PCI_DEVFN(1, 1), 0, 4), ==, 0xffffffffu);
    g_assert_cmphex(cfg_read(&f, VMM_PCI_DEVFN(31, 7), 0, 4), ==, 0xffffffffu);
    vmm_bus_write_val(f.m->pio, 0xcf8, 0x80010000u, 4);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcfc, 4), ==, 0xffffffffu);
    /* Writes to an empty slot go nowhere and do not disturb the others. */
    cfg_write(&f, VMM_PCI_DEVFN(9, 0), 0x04, 2, 0x7);
    g_assert_cmphex(cfg_read(&f, VMM_PCI_DEVFN(9, 0), 0x04, 2), ==, 0xffff);
    chipset_teardown(&f);
}

static void test_config_narrow(void)
{
    ChipsetFixture f;

    setup(&f);
    vmm_bus_write_val(f.m->pio, 0xcf8, 0x80000000u, 4);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcfc, 1), ==, 0x86);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcfd, 1), ==, 0x80);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcfe, 1), ==, 0x37);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcff, 1), ==, 0x12);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcfc, 2), ==, 0x8086);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xcfe, 2), ==, 0x1237);
    /* Byte write at offset 1 of the interrupt line dword (0x3d, the pin) is read-only. */
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x3c, 4), ==, 0x00000100u);
    cfg_write(&f, TEST_DEVFN, 0x3c, 1, 0x0b);
    cfg_write(&f, TEST_DEVFN, 0x3d, 1, 0x04);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x3c, 4), ==, 0x0000010bu);
    /* Word write at offset 2: the device ID is read-only; latency timer (0x0d) is writable. */
    cfg_write(&f, TEST_DEVFN, 0x02, 2, 0xffff);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x02, 2), ==, TEST_DEVICE);
    cfg_write(&f, TEST_DEVFN, 0x0d, 1, 0x40);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x0c, 4), ==, 0x00004000u);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x0d, 1), ==, 0x40);
    chipset_teardown(&f);
}

/* ---- BARs --------------------------------------------------------------------------------- */

static void test_bar_sizing(void)
{
    ChipsetFixture f;

    setup(&f);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x10, 4), ==, 0x1);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x18, 4), ==, 0xc);
    for (unsigned bar = 0; bar < 6; bar++) {
        cfg_write(&f, TEST_DEVFN, 0x10 + 4 * bar, 4, 0xffffffffu);
    }
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x10, 4), ==, 0xffffffe1u);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x14, 4), ==, 0xfffff000u);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x18, 4), ==, 0xffffc00cu);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x1c, 4), ==, 0xffffffffu);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x20, 4), ==, 0xfffff000u); /* MSI-X, 4 KiB */
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x24, 4), ==, 0);           /* unused */
    chipset_teardown(&f);
}

static void test_bar_mapping(void)
{
    ChipsetFixture f;
    TestDev *t;

    setup(&f);
    t = (TestDev *)vmm_device_find(f.m, "test0");
    cfg_write(&f, TEST_DEVFN, 0x10, 4, 0xc000);
    cfg_write(&f, TEST_DEVFN, 0x14, 4, 0xfe000000u);
    cfg_write(&f, TEST_DEVFN, 0x18, 4, 0x0);
    cfg_write(&f, TEST_DEVFN, 0x1c, 4, 0x8);
    /* Decoding off: nothing on the buses yet. */
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xc004, 1), ==, 0xff);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfe000010u, 4), ==, 0xffffffffu);

    cfg_write(&f, TEST_DEVFN, 0x04, 2, VMM_PCI_COMMAND_IO);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xc004, 1), ==, 0xa4);
    vmm_bus_write_val(f.m->pio, 0xc01f, 0x55, 1);
    g_assert_cmphex(t->last_io_write, ==, 0x55);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfe000010u, 4), ==, 0xffffffffu);

    cfg_write(&f, TEST_DEVFN, 0x04, 2, VMM_PCI_COMMAND_IO | VMM_PCI_COMMAND_MEMORY);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfe000010u, 4), ==, 0x5a000010u);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0x800000020ull, 4), ==, 0x5a000020u);
    g_assert_cmphex(vmm_pci_bar_address(&t->pci, 2), ==, 0x800000000ull);

    /* Moving a BAR: the old address goes dead, the new one answers. */
    cfg_write(&f, TEST_DEVFN, 0x10, 4, 0xd000);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xc004, 1), ==, 0xff);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xd004, 1), ==, 0xa4);
    cfg_write(&f, TEST_DEVFN, 0x14, 4, 0xfe100000u);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfe000010u, 4), ==, 0xffffffffu);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfe100010u, 4), ==, 0x5a000010u);

    /* Sizing unmaps the BAR; restoring the address maps it again. */
    cfg_write(&f, TEST_DEVFN, 0x14, 4, 0xffffffffu);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfe100010u, 4), ==, 0xffffffffu);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfffff010u, 4), ==, 0xffffffffu);
    g_assert_cmphex(vmm_pci_bar_address(&t->pci, 1), ==, 0);
    cfg_write(&f, TEST_DEVFN, 0x14, 4, 0xfe100000u);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfe100010u, 4), ==, 0x5a000010u);

    /* Disabling decode removes the regions. */
    cfg_write(&f, TEST_DEVFN, 0x04, 2, 0);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xd004, 1), ==, 0xff);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0xfe100010u, 4), ==, 0xffffffffu);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, 0x800000020ull, 4), ==, 0xffffffffu);

    /* Reset clears the address and unmaps. */
    cfg_write(&f, TEST_DEVFN, 0x04, 2, VMM_PCI_COMMAND_IO);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xd004, 1), ==, 0xa4);
    chipset_reset_devices(&f);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xd004, 1), ==, 0xff);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x10, 4), ==, 0x1);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x04, 2), ==, 0);
    chipset_teardown(&f);
}

static void test_bar_conflict(void)
{
    ChipsetFixture f;
    TestDev *t;

    setup(&f);
    t = (TestDev *)vmm_device_find(f.m, "test0");
    /* Over the config ports themselves: must be refused and left unmapped. */
    cfg_write(&f, TEST_DEVFN, 0x10, 4, 0x0ce0);
    g_test_expect_message("vmm-pci", G_LOG_LEVEL_MESSAGE, "*overlaps*");
    cfg_write(&f, TEST_DEVFN, 0x04, 2, VMM_PCI_COMMAND_IO);
    g_test_assert_expected_messages();
    g_assert_cmphex(vmm_pci_bar_address(&t->pci, 0), ==, 0);
    g_assert_cmphex(cfg_read(&f, HB, 0, 4), ==, 0x12378086u);
    /* Moving it somewhere free maps it. */
    cfg_write(&f, TEST_DEVFN, 0x10, 4, 0xc100);
    g_assert_cmphex(vmm_pci_bar_address(&t->pci, 0), ==, 0xc100);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, 0xc101, 1), ==, 0xa1);
    chipset_teardown(&f);
}

/* ---- MSI / MSI-X -------------------------------------------------------------------------- */

static void test_msi(void)
{
    ChipsetFixture f;
    TestDev *t;
    unsigned cap;

    setup(&f);
    t = (TestDev *)vmm_device_find(f.m, "test0");
    cap = (unsigned)t->msi_cap;
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, 0x34, 1), ==, cap);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, cap, 1), ==, VMM_PCI_CAP_ID_MSI);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, cap + 1, 1), ==, (unsigned)t->msix_cap);
    g_assert_true(cfg_read(&f, TEST_DEVFN, 0x06, 2) & VMM_PCI_STATUS_CAP_LIST);

    cfg_write(&f, TEST_DEVFN, cap + 4, 4, 0xfee00000u);
    cfg_write(&f, TEST_DEVFN, cap + 8, 4, 0);
    cfg_write(&f, TEST_DEVFN, cap + 12, 2, 0x4040);
    /* Not enabled yet: nothing. */
    g_mutex_lock(&t->pci.parent.lock);
    vmm_pci_msi_notify(&t->pci, 0);
    g_mutex_unlock(&t->pci.parent.lock);
    g_assert_cmpuint(f.m->msi_count, ==, 0);

    cfg_write(&f, TEST_DEVFN, 0x04, 2, VMM_PCI_COMMAND_MASTER);
    cfg_write(&f, TEST_DEVFN, cap + 2, 2, 0x0001 | (2 << 4)); /* enable, 4 vectors */
    g_mutex_lock(&t->pci.parent.lock);
    vmm_pci_msi_notify(&t->pci, 3);
    g_mutex_unlock(&t->pci.parent.lock);
    g_assert_cmpuint(f.m->msi_count, ==, 1);
    g_assert_cmphex(f.m->last_msi_addr, ==, 0xfee00000u);
    g_assert_cmphex(f.m->last_msi_data, ==, 0x4043);
    /* Out-of-range vectors are dropped. */
    g_mutex_lock(&t->pci.parent.lock);
    vmm_pci_msi_notify(&t->pci, 4);
    g_mutex_unlock(&t->pci.parent.lock);
    g_assert_cmpuint(f.m->msi_count, ==, 1);
    chipset_teardown(&f);
}

static void msix_notify(TestDev *t, unsigned vector)
{
    g_mutex_lock(&t->pci.parent.lock);
    vmm_pci_msix_notify(&t->pci, vector);
    g_mutex_unlock(&t->pci.parent.lock);
}

static void test_msix(void)
{
    ChipsetFixture f;
    TestDev *t;
    unsigned cap;
    uint64_t table = 0xfebf0000u;
    uint32_t pba_off;

    setup(&f);
    t = (TestDev *)vmm_device_find(f.m, "test0");
    cap = (unsigned)t->msix_cap;
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, cap, 1), ==, VMM_PCI_CAP_ID_MSIX);
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, cap + 2, 2), ==, 3); /* 4 entries */
    g_assert_cmphex(cfg_read(&f, TEST_DEVFN, cap + 4, 4), ==, 4); /* table in BAR4 at 0 */
    pba_off = cfg_read(&f, TEST_DEVFN, cap + 8, 4);
    g_assert_cmphex(pba_off & 7, ==, 4);
    pba_off &= ~7u;

    cfg_write(&f, TEST_DEVFN, 0x20, 4, (uint32_t)table);
    cfg_write(&f, TEST_DEVFN, 0x04, 2, VMM_PCI_COMMAND_MEMORY | VMM_PCI_COMMAND_MASTER);
    /* Entries come out of reset masked. */
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, table + 12, 4), ==, 1);
    vmm_bus_write_val(f.m->mmio, table + 0, 0xfee01000u, 4);
    vmm_bus_write_val(f.m->mmio, table + 4, 0, 4);
    vmm_bus_write_val(f.m->mmio, table + 8, 0x31, 4);
    vmm_bus_write_val(f.m->mmio, table + 12, 0, 4);
    vmm_bus_write_val(f.m->mmio, table + 16, 0xfee02000u, 4);
    vmm_bus_write_val(f.m->mmio, table + 24, 0x32, 4);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, table + 8, 4), ==, 0x31);

    /* Disabled: dropped. */
    msix_notify(t, 0);
    g_assert_cmpuint(f.m->msi_count, ==, 0);

    cfg_write(&f, TEST_DEVFN, cap + 2, 2, 0x8000);
    msix_notify(t, 0);
    g_assert_cmpuint(f.m->msi_count, ==, 1);
    g_assert_cmphex(f.m->last_msi_addr, ==, 0xfee01000u);
    g_assert_cmphex(f.m->last_msi_data, ==, 0x31);

    /* Vector 1 is still masked: it becomes pending and fires on unmask. */
    msix_notify(t, 1);
    g_assert_cmpuint(f.m->msi_count, ==, 1);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, table + pba_off, 8), ==, 0x2);
    vmm_bus_write_val(f.m->mmio, table + 28, 0, 4);
    g_assert_cmpuint(f.m->msi_count, ==, 2);
    g_assert_cmphex(f.m->last_msi_addr, ==, 0xfee02000u);
    g_assert_cmphex(f.m->last_msi_data, ==, 0x32);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, table + pba_off, 8), ==, 0);
    /* The PBA is read-only. */
    vmm_bus_write_val(f.m->mmio, table + pba_off, 0xff, 4);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, table + pba_off, 4), ==, 0);

    /* Function mask: pending until the mask is lifted. */
    cfg_write(&f, TEST_DEVFN, cap + 2, 2, 0xc000);
    msix_notify(t, 0);
    g_assert_cmpuint(f.m->msi_count, ==, 2);
    g_assert_cmphex(vmm_bus_read_val(f.m->mmio, table + pba_off, 4), ==, 0x1);
    cfg_write(&f, TEST_DEVFN, cap + 2, 2, 0x8000);
    g_assert_cmpuint(f.m->msi_count, ==, 3);
    g_assert_cmphex(f.m->last_msi_data, ==, 0x31);

    /* Out-of-range vectors are ignored. */
    msix_notify(t, 4);
    g_assert_cmpuint(f.m->msi_count, ==, 3);
    chipset_teardown(&f);
}

/* ---- INTx --------------------------------------------------------------------------------- */

static void set_irq(TestDev *t, bool level)
{
    g_mutex_lock(&t->pci.parent.lock);
    vmm_pci_set_irq(&t->pci, level);
    g_mutex_unlock(&t->pci.parent.lock);
}

static void test_intx(void)
{
    ChipsetFixture f;
    TestDev *a, *b, *c;

    setup(&f);
    a = (TestDev *)vmm_device_find(f.m, "test0");      /* slot 3: PIRQC */
    b = add_testdev(&f, "test1", VMM_PCI_DEVFN(7, 0)); /* slot 7: PIRQC */
    c = add_testdev(&f, "test2", VMM_PCI_DEVFN(4, 0)); /* slot 4: PIRQD */
    chipset_reset_devices(&f);

    /* PIRQ registers come out of reset disabled. */
    g_assert_cmphex(cfg_read(&f, ISA, 0x60, 4), ==, 0x80808080u);
    set_irq(a, true);
    for (unsigned g = 0; g < VMM_MAX_GSI; g++) {
        g_assert_false(f.m->irq_level[g]);
    }
    g_assert_true(cfg_read(&f, TEST_DEVFN, 0x06, 2) & VMM_PCI_STATUS_INTERRUPT);

    /* Routing PIRQC to IRQ 11 delivers the pending level. */
    cfg_write(&f, ISA, 0x62, 1, 11);
    g_assert_true(f.m->irq_level[11]);
    /* Rerouting moves it. */
    cfg_write(&f, ISA, 0x62, 1, 10);
    g_assert_false(f.m->irq_level[11]);
    g_assert_true(f.m->irq_level[10]);

    /* Shared line: ORed. */
    set_irq(b, true);
    set_irq(a, false);
    g_assert_true(f.m->irq_level[10]);
    set_irq(b, false);
    g_assert_false(f.m->irq_level[10]);

    /* Two links on one IRQ (SeaBIOS: A,B -> 10, C,D -> 11). */
    cfg_write(&f, ISA, 0x60, 4, 0x0b0b0a0au);
    set_irq(c, true);
    g_assert_true(f.m->irq_level[11]);
    set_irq(a, true);
    g_assert_true(f.m->irq_level[11]);
    set_irq(c, false);
    g_assert_true(f.m->irq_level[11]);
    set_irq(a, false);
    g_assert_false(f.m->irq_level[11]);

    /* The INTx disable bit masks the pin; clearing it delivers again. */
    set_irq(a, true);
    g_assert_true(f.m->irq_level[11]);
    cfg_write(&f, TEST_DEVFN, 0x04, 2, VMM_PCI_COMMAND_INTX_DISABLE);
    g_assert_false(f.m->irq_level[11]);
    cfg_write(&f, TEST_DEVFN, 0x04, 2, 0);
    g_assert_true(f.m->irq_level[11]);

    /* Disabling the link drops the line. */
    cfg_write(&f, ISA, 0x62, 1, 0x8b);
    g_assert_false(f.m->irq_level[11]);

    /* Reset lowers everything. */
    cfg_write(&f, ISA, 0x62, 1, 0x0b);
    g_assert_true(f.m->irq_level[11]);
    chipset_reset_devices(&f);
    g_assert_false(f.m->irq_level[11]);
    g_assert_cmphex(cfg_read(&f, ISA, 0x60, 4), ==, 0x80808080u);
    chipset_teardown(&f);
}

static void test_intx_swizzle(void)
{
    ChipsetFixture f;
    TestDev *t;

    setup(&f);
    /* PIRQA..D -> 3, 4, 5, 6 so the link is visible in the GSI. */
    cfg_write(&f, ISA, 0x60, 4, 0x06050403u);
    for (unsigned slot = 2; slot < 10; slot++) {
        g_autofree char *id = g_strdup_printf("swz%u", slot);
        unsigned link = (slot + 0 - 1) & 3; /* INTA: (slot + pin - 1) & 3, pin 0-based */

        if (slot == TEST_SLOT) {
            continue;
        }
        t = add_testdev(&f, id, VMM_PCI_DEVFN(slot, 0));
        set_irq(t, true);
        g_assert_true(f.m->irq_level[3 + link]);
        for (unsigned g = 3; g < 7; g++) {
            if (g != 3 + link) {
                g_assert_false(f.m->irq_level[g]);
            }
        }
        set_irq(t, false);
        g_assert_false(f.m->irq_level[3 + link]);
    }
    /* Reserved IRQ numbers disable the link. */
    t = (TestDev *)vmm_device_find(f.m, "test0");
    g_test_expect_message("piix3", G_LOG_LEVEL_MESSAGE, "*reserved*");
    cfg_write(&f, ISA, 0x62, 1, 0x02);
    g_test_assert_expected_messages();
    set_irq(t, true);
    g_assert_false(f.m->irq_level[2]);
    set_irq(t, false);
    chipset_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/config/address", test_config_address);
    g_test_add_func("/pci/config/ids", test_config_ids);
    g_test_add_func("/pci/config/narrow", test_config_narrow);
    g_test_add_func("/pci/bar/sizing", test_bar_sizing);
    g_test_add_func("/pci/bar/mapping", test_bar_mapping);
    g_test_add_func("/pci/bar/conflict", test_bar_conflict);
    g_test_add_func("/pci/msi", test_msi);
    g_test_add_func("/pci/msix", test_msix);
    g_test_add_func("/pci/intx/routing", test_intx);
    g_test_add_func("/pci/intx/swizzle", test_intx_swizzle);
    return g_test_run();
}
