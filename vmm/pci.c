/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-pci"
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "log.h"
#include "machine.h"
#include "pci.h"

#define PCI_NUM_DEVFN 256

/* MSI capability layout (offsets from the capability). */
#define MSI_FLAGS 2
#define MSI_FLAGS_ENABLE 0x0001
#define MSI_FLAGS_QSIZE_SHIFT 4 /* multiple message enable, bits 6:4 */
#define MSI_FLAGS_QMASK_SHIFT 1 /* multiple message capable, bits 3:1 */
#define MSI_FLAGS_64BIT 0x0080
#define MSI_ADDR_LO 4
#define MSI_ADDR_HI 8
#define MSI_DATA_32 8
#define MSI_DATA_64 12

/* MSI-X capability layout. */
#define MSIX_FLAGS 2
#define MSIX_FLAGS_ENABLE 0x8000
#define MSIX_FLAGS_MASKALL 0x4000
#define MSIX_TABLE 4
#define MSIX_PBA 8
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_ADDR_LO 0
#define MSIX_ENTRY_ADDR_HI 4
#define MSIX_ENTRY_DATA 8
#define MSIX_ENTRY_CTRL 12
#define MSIX_ENTRY_CTRL_MASKED 0x1
#define MSIX_MAX_VECTORS 2048

struct VmmPciBus {
    VmmMachine *machine; /* Borrowed */
    uint8_t number;
    int refcount;                         /* main thread only: creator + registered devices */
    VmmPciDevice *devices[PCI_NUM_DEVFN]; /* Borrowed; changed only at realize/unrealize */

    GMutex irq_lock;               /* guards everything below; innermost lock */
    const VmmPciIrqRouter *router; /* Borrowed */
    void *router_opaque;
    unsigned pirq_count[VMM_PCI_MAX_PIRQ]; /* asserted INTx lines per link */
    bool gsi_level[VMM_MAX_GSI];           /* level this bus currently drives per GSI */
};

GQuark vmm_pci_error_quark(void)
{
    return g_quark_from_static_string("vmm-pci-error-quark");
}

/* ---- small helpers ------------------------------------------------------------------------ */

static bool range_ok(VmmPciDevice *d, unsigned offset, unsigned len)
{
    return offset <= d->config_size && len <= d->config_size - offset;
}

static bool ranges_overlap(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
    return a < b + blen && b < a + alen;
}

uint8_t vmm_pci_get_byte(VmmPciDevice *d, unsigned offset)
{
    return offset < VMM_PCIE_CONFIG_SIZE ? d->config[offset] : 0xff;
}

uint16_t vmm_pci_get_word(VmmPciDevice *d, unsigned offset)
{
    return (uint16_t)(vmm_pci_get_byte(d, offset) | (vmm_pci_get_byte(d, offset + 1) << 8));
}

uint32_t vmm_pci_get_long(VmmPciDevice *d, unsigned offset)
{
    return (uint32_t)vmm_pci_get_word(d, offset) |
           ((uint32_t)vmm_pci_get_word(d, offset + 2) << 16);
}

void vmm_pci_set_byte(VmmPciDevice *d, unsigned offset, uint8_t v)
{
    if (offset < VMM_PCIE_CONFIG_SIZE) {
        d->config[offset] = v;
    }
}

void vmm_pci_set_word(VmmPciDevice *d, unsigned offset, uint16_t v)
{
    vmm_pci_set_byte(d, offset, v & 0xff);
    vmm_pci_set_byte(d, offset + 1, v >> 8);
}

void vmm_pci_set_long(VmmPciDevice *d, unsigned offset, uint32_t v)
{
    vmm_pci_set_word(d, offset, v & 0xffff);
    vmm_pci_set_word(d, offset + 2, v >> 16);
}

static void set_mask(uint8_t *mask, unsigned offset, unsigned len, uint32_t value)
{
    for (unsigned i = 0; i < len && i < 4 && offset + i < VMM_PCIE_CONFIG_SIZE; i++) {
        mask[offset + i] = (value >> (8 * i)) & 0xff;
    }
}

void vmm_pci_set_wmask(VmmPciDevice *d, unsigned offset, unsigned len, uint32_t mask)
{
    set_mask(d->wmask, offset, len, mask);
}

void vmm_pci_set_w1cmask(VmmPciDevice *d, unsigned offset, unsigned len, uint32_t mask)
{
    set_mask(d->w1cmask, offset, len, mask);
}

void vmm_pci_set_ids(VmmPciDevice *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision)
{
    vmm_pci_set_word(d, VMM_PCI_VENDOR_ID, vendor);
    vmm_pci_set_word(d, VMM_PCI_DEVICE_ID, device);
    vmm_pci_set_byte(d, VMM_PCI_REVISION_ID, revision);
    vmm_pci_set_byte(d, VMM_PCI_CLASS_PROG, class_code & 0xff);
    vmm_pci_set_word(d, VMM_PCI_CLASS_DEVICE, (class_code >> 8) & 0xffff);
}

void vmm_pci_set_subsystem(VmmPciDevice *d, uint16_t vendor, uint16_t id)
{
    vmm_pci_set_word(d, VMM_PCI_SUBSYSTEM_VENDOR_ID, vendor);
    vmm_pci_set_word(d, VMM_PCI_SUBSYSTEM_ID, id);
}

void vmm_pci_set_header_type(VmmPciDevice *d, uint8_t type)
{
    vmm_pci_set_byte(d, VMM_PCI_HEADER_TYPE, type);
}

void vmm_pci_set_interrupt_pin(VmmPciDevice *d, uint8_t pin)
{
    vmm_pci_set_byte(d, VMM_PCI_INTERRUPT_PIN, pin <= 4 ? pin : 0);
}

/* ---- bus ---------------------------------------------------------------------------------- */

VmmPciBus *vmm_pci_bus_new(VmmMachine *m, uint8_t number)
{
    VmmPciBus *bus = g_new0(VmmPciBus, 1);

    bus->machine = m;
    bus->number = number;
    bus->refcount = 1;
    g_mutex_init(&bus->irq_lock);
    return bus;
}

void vmm_pci_bus_unref(VmmPciBus *bus)
{
    if (bus == NULL || --bus->refcount > 0) {
        return;
    }
    g_mutex_clear(&bus->irq_lock);
    g_free(bus);
}

uint8_t vmm_pci_bus_number(VmmPciBus *bus)
{
    return bus->number;
}

VmmPciDevice *vmm_pci_bus_get_device(VmmPciBus *bus, uint8_t devfn)
{
    return bus->devices[devfn];
}

uint32_t vmm_pci_bus_config_read(VmmPciBus *bus, uint16_t bdf, unsigned offset, unsigned size)
{
    uint32_t v;
    VmmPciDevice *d;

    if ((bdf >> 8) != bus->number || (size != 1 && size != 2 && size != 4)) {
        return 0xffffffff;
    }
    d = bus->devices[bdf & 0xff];
    if (d == NULL) {
        return 0xffffffff;
    }
    g_mutex_lock(&d->parent.lock);
    if (!range_ok(d, offset, size)) {
        v = 0xffffffff;
    } else if (d->ops != NULL && d->ops->config_read != NULL) {
        v = d->ops->config_read(d, offset, size);
    } else {
        v = vmm_pci_default_config_read(d, offset, size);
    }
    g_mutex_unlock(&d->parent.lock);
    if (size < 4) {
        v &= (1u << (8 * size)) - 1;
    }
    return v;
}

void vmm_pci_bus_config_write(VmmPciBus *bus, uint16_t bdf, unsigned offset, unsigned size,
                              uint32_t value)
{
    VmmPciDevice *d;

    if ((bdf >> 8) != bus->number || (size != 1 && size != 2 && size != 4)) {
        return;
    }
    d = bus->devices[bdf & 0xff];
    if (d == NULL) {
        return;
    }
    if (size < 4) {
        value &= (1u << (8 * size)) - 1;
    }
    g_mutex_lock(&d->parent.lock);
    if (range_ok(d, offset, size)) {
        if (d->ops != NULL && d->ops->config_write != NULL) {
            d->ops->config_write(d, offset, value, size);
        } else {
            vmm_pci_default_config_write(d, offset, value, size);
        }
    }
    g_mutex_unlock(&d->parent.lock);
}

/* ---- INTx --------------------------------------------------------------------------------- */

static void bus_irq_eval_locked(VmmPciBus *bus)
{
    bool want[VMM_MAX_GSI] = {false};

    if (bus->router != NULL) {
        for (unsigned p = 0; p < bus->router->npirq && p < VMM_PCI_MAX_PIRQ; p++) {
            int gsi = bus->router->pirq_to_gsi(bus->router_opaque, p);

            if (gsi >= 0 && gsi < VMM_MAX_GSI && bus->pirq_count[p] > 0) {
                want[gsi] = true;
            }
        }
    }
    /* Only touch lines whose PCI level changes, so ISA users of other GSIs are unaffected. */
    for (unsigned g = 0; g < VMM_MAX_GSI; g++) {
        if (want[g] != bus->gsi_level[g]) {
            bus->gsi_level[g] = want[g];
            vmm_irq_set_level(bus->machine, g, want[g]);
        }
    }
}

void vmm_pci_bus_set_irq_router(VmmPciBus *bus, const VmmPciIrqRouter *router, void *opaque)
{
    g_mutex_lock(&bus->irq_lock);
    bus->router = router;
    bus->router_opaque = opaque;
    bus_irq_eval_locked(bus);
    g_mutex_unlock(&bus->irq_lock);
}

void vmm_pci_bus_update_irq_routes(VmmPciBus *bus)
{
    g_mutex_lock(&bus->irq_lock);
    bus_irq_eval_locked(bus);
    g_mutex_unlock(&bus->irq_lock);
}

static unsigned default_map_pin(uint8_t devfn, unsigned pin)
{
    /* The conventional swizzle used when no chipset router is installed. */
    return (VMM_PCI_SLOT(devfn) + pin) & 3;
}

/* Recomputes whether this device's INTx counts on its link. Device lock held. */
static void pci_intx_update(VmmPciDevice *d)
{
    uint8_t pin = d->config[VMM_PCI_INTERRUPT_PIN];
    bool want = d->intx_level && pin >= 1 && pin <= 4 &&
                !(vmm_pci_get_word(d, VMM_PCI_COMMAND) & VMM_PCI_COMMAND_INTX_DISABLE);
    VmmPciBus *bus = d->bus;

    if (want == d->intx_asserted || bus == NULL) {
        return;
    }
    g_mutex_lock(&bus->irq_lock);
    if (want) {
        unsigned pirq;

        if (bus->router != NULL) {
            pirq = bus->router->map_pin(bus->router_opaque, d->devfn, pin - 1u);
        } else {
            pirq = default_map_pin(d->devfn, pin - 1u);
        }
        d->intx_pirq = pirq < VMM_PCI_MAX_PIRQ ? pirq : 0;
        bus->pirq_count[d->intx_pirq]++;
    } else if (bus->pirq_count[d->intx_pirq] > 0) {
        bus->pirq_count[d->intx_pirq]--;
    }
    d->intx_asserted = want;
    bus_irq_eval_locked(bus);
    g_mutex_unlock(&bus->irq_lock);
}

void vmm_pci_set_irq(VmmPciDevice *d, bool level)
{
    uint16_t status = vmm_pci_get_word(d, VMM_PCI_STATUS);

    d->intx_level = level;
    if (level) {
        status |= VMM_PCI_STATUS_INTERRUPT;
    } else {
        status &= ~VMM_PCI_STATUS_INTERRUPT;
    }
    vmm_pci_set_word(d, VMM_PCI_STATUS, status);
    pci_intx_update(d);
}

/* ---- BARs --------------------------------------------------------------------------------- */

static unsigned bar_reg(unsigned bar)
{
    return VMM_PCI_BAR0 + 4 * bar;
}

/* The read-only low bits of a BAR: space, type and prefetchable. */
static uint32_t bar_type_bits(const VmmPciBar *b)
{
    switch (b->type) {
    case VMM_PCI_BAR_IO:
        return 0x1;
    case VMM_PCI_BAR_MEM32:
        return b->prefetch ? 0x8 : 0x0;
    case VMM_PCI_BAR_MEM64:
        return 0x4 | (b->prefetch ? 0x8 : 0x0);
    case VMM_PCI_BAR_NONE:
    default:
        return 0;
    }
}

/* Address the guest programmed, or 0 when the BAR cannot be mapped (unset or being sized). */
static uint64_t bar_decoded_address(VmmPciDevice *d, unsigned i)
{
    VmmPciBar *b = &d->bars[i];
    uint16_t cmd = vmm_pci_get_word(d, VMM_PCI_COMMAND);
    uint64_t addr, last;

    switch (b->type) {
    case VMM_PCI_BAR_IO:
        if (!(cmd & VMM_PCI_COMMAND_IO)) {
            return 0;
        }
        addr = vmm_pci_get_long(d, bar_reg(i)) & ~(uint64_t)3 & 0xffffffffu;
        /* x86 I/O space is 64 KiB; the all-ones sizing pattern lands far above it. */
        if (addr == 0 || addr >= 0x10000 || addr + b->size > 0x10000) {
            return 0;
        }
        return addr;
    case VMM_PCI_BAR_MEM32:
        if (!(cmd & VMM_PCI_COMMAND_MEMORY)) {
            return 0;
        }
        addr = vmm_pci_get_long(d, bar_reg(i)) & ~(uint64_t)0xf & 0xffffffffu;
        last = addr + b->size - 1;
        /* The sizing pattern ends exactly at 4 GiB - 1: treat that as "not mapped". */
        if (addr == 0 || last >= 0xffffffffu) {
            return 0;
        }
        return addr;
    case VMM_PCI_BAR_MEM64:
        if (!(cmd & VMM_PCI_COMMAND_MEMORY)) {
            return 0;
        }
        addr = ((uint64_t)vmm_pci_get_long(d, bar_reg(i) + 4) << 32) |
               (vmm_pci_get_long(d, bar_reg(i)) & ~0xfu);
        last = addr + b->size - 1;
        if (addr == 0 || last < addr || last == UINT64_MAX) {
            return 0;
        }
        return addr;
    case VMM_PCI_BAR_NONE:
    default:
        return 0;
    }
}

static void bar_unmap(VmmPciDevice *d, VmmPciBar *b)
{
    VmmMachine *m = d->parent.machine;
    VmmBus *vbus = b->type == VMM_PCI_BAR_IO ? m->pio : m->mmio;

    if (b->handle > 0) {
        vmm_bus_unregister(vbus, b->handle);
        b->handle = 0;
        b->addr = 0;
    }
}

/* Brings every BAR's bus region in line with the config space. Device lock held. */
static void pci_update_mappings(VmmPciDevice *d)
{
    VmmMachine *m = d->parent.machine;

    for (unsigned i = 0; i < VMM_PCI_NUM_BARS; i++) {
        VmmPciBar *b = &d->bars[i];
        VmmBus *vbus;
        uint64_t addr;
        int r;

        if (b->type == VMM_PCI_BAR_NONE) {
            continue;
        }
        vbus = b->type == VMM_PCI_BAR_IO ? m->pio : m->mmio;
        addr = bar_decoded_address(d, i);
        if (addr == 0) {
            bar_unmap(d, b);
            continue;
        }
        if (b->handle > 0 && b->addr == addr) {
            continue;
        }
        if (b->handle > 0) {
            r = vmm_bus_move(vbus, b->handle, addr);
            if (r == 0) {
                b->addr = addr;
                continue;
            }
            bar_unmap(d, b);
        } else {
            r = vmm_bus_register(vbus, b->name, addr, b->size, b->ops, b->opaque, &d->parent.lock);
            if (r > 0) {
                b->handle = r;
                b->addr = addr;
                continue;
            }
        }
        vmm_guest_error("%s: BAR%u at 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                        "x overlaps another region (%d); left unmapped",
                        d->parent.id, i, addr, b->size, r);
    }
}

int vmm_pci_register_bar(VmmPciDevice *d, unsigned bar, VmmPciBarType type, bool prefetch,
                         uint64_t size, const char *name, const VmmIoOps *ops, void *opaque)
{
    uint64_t mask;

    if (bar >= VMM_PCI_NUM_BARS || size == 0 || (size & (size - 1)) != 0 ||
        d->bars[bar].type != VMM_PCI_BAR_NONE) {
        return -EINVAL;
    }
    switch (type) {
    case VMM_PCI_BAR_IO:
        if (size < 4 || size > 256 || prefetch) {
            return -EINVAL;
        }
        mask = ~(size - 1) & 0xfffffffcu;
        break;
    case VMM_PCI_BAR_MEM32:
        if (size < 16 || size > 0x80000000u) {
            return -EINVAL;
        }
        mask = ~(size - 1) & 0xfffffff0u;
        break;
    case VMM_PCI_BAR_MEM64:
        if (size < 16 || bar + 1 >= VMM_PCI_NUM_BARS || d->bars[bar + 1].type != VMM_PCI_BAR_NONE) {
            return -EINVAL;
        }
        mask = ~(size - 1) & ~(uint64_t)0xf;
        break;
    case VMM_PCI_BAR_NONE:
    default:
        return -EINVAL;
    }
    /* A 64-bit BAR's upper slot must not already be the upper half of another one. */
    if (bar > 0 && d->bars[bar - 1].type == VMM_PCI_BAR_MEM64) {
        return -EINVAL;
    }

    d->bars[bar] = (VmmPciBar){
        .type = type,
        .prefetch = prefetch,
        .size = size,
        .name = name,
        .ops = ops,
        .opaque = opaque,
    };
    vmm_pci_set_long(d, bar_reg(bar), bar_type_bits(&d->bars[bar]));
    vmm_pci_set_wmask(d, bar_reg(bar), 4, (uint32_t)mask);
    if (type == VMM_PCI_BAR_MEM64) {
        vmm_pci_set_long(d, bar_reg(bar + 1), 0);
        vmm_pci_set_wmask(d, bar_reg(bar + 1), 4, (uint32_t)(mask >> 32));
    }
    return 0;
}

uint64_t vmm_pci_bar_address(VmmPciDevice *d, unsigned bar)
{
    if (bar >= VMM_PCI_NUM_BARS || d->bars[bar].handle <= 0) {
        return 0;
    }
    return d->bars[bar].addr;
}

/* ---- capabilities ------------------------------------------------------------------------- */

int vmm_pci_add_capability(VmmPciDevice *d, uint8_t id, unsigned size)
{
    unsigned offset = (d->cap_end + 3) & ~3u;
    unsigned prev;

    if (size < 2 || offset < 0x40 || offset + size > VMM_PCI_CONFIG_SIZE) {
        return -ENOSPC;
    }
    memset(&d->config[offset], 0, size);
    memset(&d->wmask[offset], 0, size);
    memset(&d->w1cmask[offset], 0, size);
    d->config[offset] = id;
    d->config[offset + 1] = 0;

    /* Append at the end of the list so capabilities appear in creation order. */
    prev = VMM_PCI_CAPABILITY_LIST;
    for (unsigned n = 0; d->config[prev] != 0 && n < 64; n++) {
        prev = d->config[prev] + 1u;
    }
    d->config[prev] = (uint8_t)offset;
    vmm_pci_set_word(d, VMM_PCI_STATUS,
                     vmm_pci_get_word(d, VMM_PCI_STATUS) | VMM_PCI_STATUS_CAP_LIST);
    d->cap_end = offset + size;
    return (int)offset;
}

/* ---- MSI ---------------------------------------------------------------------------------- */

int vmm_pci_msi_init(VmmPciDevice *d, unsigned vectors, bool is64bit)
{
    unsigned log2 = 0;
    int cap;
    uint16_t flags;

    if (vectors == 0 || vectors > 32 || (vectors & (vectors - 1)) != 0 || d->msi_cap != 0) {
        return -EINVAL;
    }
    while ((1u << log2) < vectors) {
        log2++;
    }
    cap = vmm_pci_add_capability(d, VMM_PCI_CAP_ID_MSI, is64bit ? 14 : 10);
    if (cap < 0) {
        return cap;
    }
    flags = (uint16_t)(log2 << MSI_FLAGS_QMASK_SHIFT) | (is64bit ? MSI_FLAGS_64BIT : 0);
    vmm_pci_set_word(d, cap + MSI_FLAGS, flags);
    vmm_pci_set_wmask(d, cap + MSI_FLAGS, 2, MSI_FLAGS_ENABLE | (7u << MSI_FLAGS_QSIZE_SHIFT));
    vmm_pci_set_wmask(d, cap + MSI_ADDR_LO, 4, 0xfffffffc);
    if (is64bit) {
        vmm_pci_set_wmask(d, cap + MSI_ADDR_HI, 4, 0xffffffff);
        vmm_pci_set_wmask(d, cap + MSI_DATA_64, 2, 0xffff);
    } else {
        vmm_pci_set_wmask(d, cap + MSI_DATA_32, 2, 0xffff);
    }
    d->msi_cap = (uint8_t)cap;
    d->msi_vectors = vectors;
    d->msi_64bit = is64bit;
    return cap;
}

bool vmm_pci_msi_enabled(VmmPciDevice *d)
{
    return d->msi_cap != 0 && (vmm_pci_get_word(d, d->msi_cap + MSI_FLAGS) & MSI_FLAGS_ENABLE);
}

static bool bus_master(VmmPciDevice *d)
{
    return (vmm_pci_get_word(d, VMM_PCI_COMMAND) & VMM_PCI_COMMAND_MASTER) != 0;
}

void vmm_pci_msi_notify(VmmPciDevice *d, unsigned vector)
{
    unsigned cap = d->msi_cap;
    uint16_t flags;
    unsigned enabled;
    uint64_t addr;
    uint16_t data;

    if (!vmm_pci_msi_enabled(d) || !bus_master(d)) {
        return;
    }
    flags = vmm_pci_get_word(d, cap + MSI_FLAGS);
    /* The guest may enable more vectors than advertised; clamp to what we offer. */
    enabled = 1u << MIN((flags >> MSI_FLAGS_QSIZE_SHIFT) & 7u, 5u);
    enabled = MIN(enabled, d->msi_vectors);
    if (vector >= enabled) {
        return;
    }
    addr = vmm_pci_get_long(d, cap + MSI_ADDR_LO);
    if (d->msi_64bit) {
        addr |= (uint64_t)vmm_pci_get_long(d, cap + MSI_ADDR_HI) << 32;
        data = vmm_pci_get_word(d, cap + MSI_DATA_64);
    } else {
        data = vmm_pci_get_word(d, cap + MSI_DATA_32);
    }
    /* Multiple messages: the low bits of the data carry the vector number. */
    data = (uint16_t)((data & ~(enabled - 1)) | vector);
    vmm_msi_send(d->parent.machine, addr, data);
}

/* ---- MSI-X -------------------------------------------------------------------------------- */

static unsigned msix_table_size(VmmPciDevice *d)
{
    return d->msix_vectors * MSIX_ENTRY_SIZE;
}

static unsigned msix_pba_size(VmmPciDevice *d)
{
    return ((d->msix_vectors + 63) / 64) * 8;
}

bool vmm_pci_msix_enabled(VmmPciDevice *d)
{
    return d->msix_cap != 0 && (vmm_pci_get_word(d, d->msix_cap + MSIX_FLAGS) & MSIX_FLAGS_ENABLE);
}

static bool msix_function_masked(VmmPciDevice *d)
{
    return (vmm_pci_get_word(d, d->msix_cap + MSIX_FLAGS) & MSIX_FLAGS_MASKALL) != 0;
}

static uint32_t msix_entry_long(VmmPciDevice *d, unsigned vector, unsigned field)
{
    const uint8_t *p = &d->msix_table[vector * MSIX_ENTRY_SIZE + field];

    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static bool msix_vector_masked(VmmPciDevice *d, unsigned vector)
{
    return msix_function_masked(d) ||
           (msix_entry_long(d, vector, MSIX_ENTRY_CTRL) & MSIX_ENTRY_CTRL_MASKED);
}

static bool msix_pending(VmmPciDevice *d, unsigned vector)
{
    return (d->msix_pba[vector / 8] >> (vector % 8)) & 1;
}

static void msix_set_pending(VmmPciDevice *d, unsigned vector, bool pending)
{
    if (pending) {
        d->msix_pba[vector / 8] |= (uint8_t)(1u << (vector % 8));
    } else {
        d->msix_pba[vector / 8] &= (uint8_t) ~(1u << (vector % 8));
    }
}

static void msix_send(VmmPciDevice *d, unsigned vector)
{
    uint64_t addr = msix_entry_long(d, vector, MSIX_ENTRY_ADDR_LO) |
                    ((uint64_t)msix_entry_long(d, vector, MSIX_ENTRY_ADDR_HI) << 32);

    vmm_msi_send(d->parent.machine, addr, msix_entry_long(d, vector, MSIX_ENTRY_DATA));
}

void vmm_pci_msix_notify(VmmPciDevice *d, unsigned vector)
{
    if (d->msix_cap == 0 || vector >= d->msix_vectors || !vmm_pci_msix_enabled(d) ||
        !bus_master(d)) {
        return;
    }
    if (msix_vector_masked(d, vector)) {
        msix_set_pending(d, vector, true);
        return;
    }
    msix_send(d, vector);
}

/* Delivers what became deliverable after an unmask. Device lock held. */
static void msix_flush_pending(VmmPciDevice *d, unsigned first, unsigned count)
{
    if (!vmm_pci_msix_enabled(d) || msix_function_masked(d) || !bus_master(d)) {
        return;
    }
    for (unsigned v = first; v < first + count && v < d->msix_vectors; v++) {
        if (msix_pending(d, v) && !msix_vector_masked(d, v)) {
            msix_set_pending(d, v, false);
            msix_send(d, v);
        }
    }
}

static uint64_t msix_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    VmmPciDevice *d = opaque;
    uint64_t v = 0;
    const uint8_t *src = NULL;
    uint64_t base = 0;

    if (offset < msix_table_size(d) && size <= msix_table_size(d) - offset) {
        src = d->msix_table;
        base = offset;
    } else if (offset >= d->msix_pba_offset && offset - d->msix_pba_offset < msix_pba_size(d) &&
               size <= msix_pba_size(d) - (offset - d->msix_pba_offset)) {
        src = d->msix_pba;
        base = offset - d->msix_pba_offset;
    }
    if (src == NULL) {
        return 0;
    }
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)src[base + i] << (8 * i);
    }
    return v;
}

static void msix_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    VmmPciDevice *d = opaque;
    unsigned first, last;

    /* The PBA is read-only; only table writes have an effect. */
    if (offset >= msix_table_size(d) || size > msix_table_size(d) - offset) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        d->msix_table[offset + i] = (value >> (8 * i)) & 0xff;
    }
    first = (unsigned)offset / MSIX_ENTRY_SIZE;
    last = (unsigned)(offset + size - 1) / MSIX_ENTRY_SIZE;
    msix_flush_pending(d, first, last - first + 1);
}

static const VmmIoOps msix_ops = {
    .read = msix_mmio_read,
    .write = msix_mmio_write,
    .min_access = 1,
    .max_access = 8,
};

static void msix_reset(VmmPciDevice *d)
{
    if (d->msix_cap == 0) {
        return;
    }
    memset(d->msix_table, 0, msix_table_size(d));
    memset(d->msix_pba, 0, msix_pba_size(d));
    for (unsigned v = 0; v < d->msix_vectors; v++) {
        d->msix_table[v * MSIX_ENTRY_SIZE + MSIX_ENTRY_CTRL] = MSIX_ENTRY_CTRL_MASKED;
    }
    vmm_pci_set_word(d, d->msix_cap + MSIX_FLAGS, (uint16_t)(d->msix_vectors - 1));
}

int vmm_pci_msix_init(VmmPciDevice *d, unsigned vectors, unsigned bar)
{
    uint64_t pba_offset, bar_size;
    int cap, r;

    if (vectors == 0 || vectors > MSIX_MAX_VECTORS || bar >= VMM_PCI_NUM_BARS || d->msix_cap != 0) {
        return -EINVAL;
    }
    /* PBA on its own 8-byte aligned spot after the table; BAR at least a page. */
    pba_offset = (uint64_t)vectors * MSIX_ENTRY_SIZE;
    bar_size = 4096;
    while (bar_size < pba_offset + ((vectors + 63) / 64) * 8) {
        bar_size <<= 1;
    }
    r = vmm_pci_register_bar(d, bar, VMM_PCI_BAR_MEM32, false, bar_size, "msix", &msix_ops, d);
    if (r < 0) {
        return r;
    }
    cap = vmm_pci_add_capability(d, VMM_PCI_CAP_ID_MSIX, 12);
    if (cap < 0) {
        d->bars[bar] = (VmmPciBar){.type = VMM_PCI_BAR_NONE};
        vmm_pci_set_long(d, bar_reg(bar), 0);
        vmm_pci_set_wmask(d, bar_reg(bar), 4, 0);
        return cap;
    }
    d->msix_cap = (uint8_t)cap;
    d->msix_vectors = vectors;
    d->msix_bar = bar;
    d->msix_pba_offset = pba_offset;
    d->msix_table = g_malloc0(vectors * MSIX_ENTRY_SIZE);
    d->msix_pba = g_malloc0(((vectors + 63) / 64) * 8);
    vmm_pci_set_long(d, cap + MSIX_TABLE, bar);
    vmm_pci_set_long(d, cap + MSIX_PBA, (uint32_t)pba_offset | bar);
    vmm_pci_set_wmask(d, cap + MSIX_FLAGS, 2, MSIX_FLAGS_ENABLE | MSIX_FLAGS_MASKALL);
    msix_reset(d);
    return cap;
}

/* ---- default config access ---------------------------------------------------------------- */

uint32_t vmm_pci_default_config_read(VmmPciDevice *d, unsigned offset, unsigned size)
{
    uint32_t v = 0;

    if (size > 4 || !range_ok(d, offset, size)) {
        return 0xffffffff;
    }
    for (unsigned i = 0; i < size; i++) {
        v |= (uint32_t)d->config[offset + i] << (8 * i);
    }
    return v;
}

void vmm_pci_default_config_write(VmmPciDevice *d, unsigned offset, uint32_t value, unsigned size)
{
    bool msix_was_enabled = vmm_pci_msix_enabled(d);
    bool msix_was_masked = d->msix_cap != 0 && msix_function_masked(d);

    if (size > 4 || !range_ok(d, offset, size)) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        unsigned o = offset + i;
        uint8_t b = (value >> (8 * i)) & 0xff;

        d->config[o] = (uint8_t)((d->config[o] & ~d->wmask[o]) | (b & d->wmask[o]));
        d->config[o] &= (uint8_t) ~(b & d->w1cmask[o]);
    }

    if (ranges_overlap(offset, size, VMM_PCI_COMMAND, 2) ||
        ranges_overlap(offset, size, VMM_PCI_BAR0, 4 * VMM_PCI_NUM_BARS)) {
        pci_update_mappings(d);
    }
    if (ranges_overlap(offset, size, VMM_PCI_COMMAND, 2)) {
        pci_intx_update(d);
    }
    if (d->msix_cap != 0 && ranges_overlap(offset, size, d->msix_cap + MSIX_FLAGS, 2)) {
        if ((!msix_was_enabled && vmm_pci_msix_enabled(d)) ||
            (msix_was_masked && !msix_function_masked(d))) {
            msix_flush_pending(d, 0, d->msix_vectors);
        }
    }
}

/* ---- device life cycle -------------------------------------------------------------------- */

bool vmm_pci_device_realize(VmmPciDevice *d, uint8_t devfn, const VmmPciDeviceOps *ops,
                            GError **error)
{
    VmmPciBus *bus = d->parent.machine->pci_bus;

    if (bus == NULL) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: no PCI bus (create the host bridge first)",
                    d->parent.id);
        return false;
    }
    if (bus->devices[devfn] != NULL) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: PCI address %02x.%x is taken by %s", d->parent.id,
                    VMM_PCI_SLOT(devfn), VMM_PCI_FUNC(devfn), bus->devices[devfn]->parent.id);
        return false;
    }
    d->bus = bus;
    d->devfn = devfn;
    d->ops = ops;
    d->config_size = VMM_PCI_CONFIG_SIZE;
    d->cap_end = 0x40;
    memset(d->config, 0, sizeof(d->config));
    memset(d->wmask, 0, sizeof(d->wmask));
    memset(d->w1cmask, 0, sizeof(d->w1cmask));

    vmm_pci_set_wmask(d, VMM_PCI_COMMAND, 2,
                      VMM_PCI_COMMAND_IO | VMM_PCI_COMMAND_MEMORY | VMM_PCI_COMMAND_MASTER |
                          VMM_PCI_COMMAND_PARITY | VMM_PCI_COMMAND_SERR |
                          VMM_PCI_COMMAND_INTX_DISABLE);
    /* Error bits: parity, signalled/received aborts, SERR, detected parity. */
    vmm_pci_set_w1cmask(d, VMM_PCI_STATUS, 2, 0xf900);
    vmm_pci_set_wmask(d, VMM_PCI_CACHE_LINE_SIZE, 1, 0xff);
    vmm_pci_set_wmask(d, VMM_PCI_LATENCY_TIMER, 1, 0xff);
    vmm_pci_set_wmask(d, VMM_PCI_INTERRUPT_LINE, 1, 0xff);

    bus->devices[devfn] = d;
    bus->refcount++;
    d->registered = true;
    return true;
}

void vmm_pci_device_reset(VmmPciDevice *d)
{
    uint16_t status;

    vmm_pci_set_word(d, VMM_PCI_COMMAND, 0);
    status = vmm_pci_get_word(d, VMM_PCI_STATUS);
    status &= (uint16_t) ~(0xf900 | VMM_PCI_STATUS_INTERRUPT);
    vmm_pci_set_word(d, VMM_PCI_STATUS, status);
    vmm_pci_set_byte(d, VMM_PCI_CACHE_LINE_SIZE, 0);
    vmm_pci_set_byte(d, VMM_PCI_LATENCY_TIMER, 0);
    vmm_pci_set_byte(d, VMM_PCI_INTERRUPT_LINE, 0);

    for (unsigned i = 0; i < VMM_PCI_NUM_BARS; i++) {
        VmmPciBar *b = &d->bars[i];

        if (b->type == VMM_PCI_BAR_NONE) {
            continue;
        }
        /* Keep the read-only type bits, clear the address. */
        vmm_pci_set_long(d, bar_reg(i), bar_type_bits(b));
        if (b->type == VMM_PCI_BAR_MEM64) {
            vmm_pci_set_long(d, bar_reg(i + 1), 0);
        }
    }
    pci_update_mappings(d);

    if (d->msi_cap != 0) {
        unsigned cap = d->msi_cap;
        uint16_t flags = vmm_pci_get_word(d, cap + MSI_FLAGS);

        vmm_pci_set_word(d, cap + MSI_FLAGS,
                         flags & ~(MSI_FLAGS_ENABLE | (7u << MSI_FLAGS_QSIZE_SHIFT)));
        vmm_pci_set_long(d, cap + MSI_ADDR_LO, 0);
        vmm_pci_set_long(d, cap + MSI_ADDR_HI, 0);
        if (d->msi_64bit) {
            vmm_pci_set_word(d, cap + MSI_DATA_64, 0);
        }
    }
    msix_reset(d);

    d->intx_level = false;
    pci_intx_update(d);
}

void vmm_pci_device_unrealize(VmmPciDevice *d)
{
    VmmPciBus *bus = d->bus;

    if (!d->registered) {
        return;
    }
    if (d->intx_asserted) {
        d->intx_level = false;
        pci_intx_update(d);
    }
    for (unsigned i = 0; i < VMM_PCI_NUM_BARS; i++) {
        bar_unmap(d, &d->bars[i]);
    }
    g_clear_pointer(&d->msix_table, g_free);
    g_clear_pointer(&d->msix_pba, g_free);
    if (bus->devices[d->devfn] == d) {
        bus->devices[d->devfn] = NULL;
    }
    d->registered = false;
    d->bus = NULL;
    vmm_pci_bus_unref(bus);
}
