/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-chipset"
#include "chipset-helpers.h"

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "devices/chipset/piix4-pm.h"

void chipset_setup(ChipsetFixture *f, uint64_t ram_size)
{
    g_autoptr(GError) err = NULL;

    f->m = vmm_machine_new_fake();
    g_assert_nonnull(f->m);
    f->cfg = vmm_cfg_new();
    if (ram_size > 0) {
        g_assert_true(vmm_guest_mem_alloc_ram(f->m->mem, ram_size, &err));
        g_assert_no_error(err);
    }
    f->i440fx = vmm_device_create(f->m, &i440fx_type, "i440fx", NULL, &err);
    g_assert_no_error(err);
    f->piix3 = vmm_device_create(f->m, &piix3_type, "piix3", NULL, &err);
    g_assert_no_error(err);
    f->piix4_pm = vmm_device_create(f->m, &piix4_pm_type, "piix4-pm", NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(f->m->pci_bus);
}

void chipset_teardown(ChipsetFixture *f)
{
    vmm_machine_free(f->m);
    vmm_cfg_free(f->cfg);
    f->m = NULL;
    f->cfg = NULL;
}

void chipset_reset_devices(ChipsetFixture *f)
{
    for (unsigned i = 0; i < f->m->devices->len; i++) {
        vmm_device_reset(g_ptr_array_index(f->m->devices, i));
    }
}

VmmCfgNode *chipset_addr_cfg(ChipsetFixture *f, const char *name, uint8_t devfn)
{
    VmmCfgNode *node = vmm_cfg_ensure_child(f->cfg, name);

    vmm_cfg_set_int(node, "addr", devfn);
    return node;
}

uint32_t cfg_read(ChipsetFixture *f, uint8_t devfn, unsigned offset, unsigned size)
{
    vmm_bus_write_val(f->m->pio, 0xcf8, 0x80000000u | ((uint32_t)devfn << 8) | (offset & 0xfc), 4);
    return (uint32_t)vmm_bus_read_val(f->m->pio, 0xcfc + (offset & 3), size);
}

void cfg_write(ChipsetFixture *f, uint8_t devfn, unsigned offset, unsigned size, uint32_t v)
{
    vmm_bus_write_val(f->m->pio, 0xcf8, 0x80000000u | ((uint32_t)devfn << 8) | (offset & 0xfc), 4);
    vmm_bus_write_val(f->m->pio, 0xcfc + (offset & 3), v, size);
}

void chipset_clear_request(ChipsetFixture *f)
{
    g_mutex_lock(&f->m->lock);
    f->m->pending = VMM_REQ_NONE;
    g_clear_pointer(&f->m->pending_detail, g_free);
    g_mutex_unlock(&f->m->lock);
}
