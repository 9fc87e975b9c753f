/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Intel 440FX PCI and memory controller, host bridge function (00:00.0), as QEMU's
 * "pc" machine presents it: SeaBIOS and OVMF key their chipset code on 8086:1237.
 *
 * Shadow RAM (PAM): every 16 KiB segment of 0xC0000-0xEFFFF and the 64 KiB segment at
 * 0xF0000 is a separate guest memory region (a KVM memslot) chosen by its PAM nibble:
 * RAM read-write, the same RAM read-only, or nothing (PCI). In "PCI" mode the
 * 0xE0000-0xFFFFF range shows the last 128 KiB of the BIOS image instead, like the
 * ISA BIOS alias of a real board. Adjacent segments of the same kind share a region.
 */
#define G_LOG_DOMAIN "i440fx"
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "devices/chipset/i440fx.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/pci.h"

#define I440FX_VENDOR 0x8086
#define I440FX_DEVICE 0x1237
#define I440FX_REVISION 0x02
#define I440FX_CLASS 0x060000 /* host bridge */

#define CONFIG_ADDR_PORT 0xcf8
#define CONFIG_PORTS_LEN 8
#define CONFIG_ADDR_ENABLE 0x80000000u
/* Bits 30:24 are reserved and read 0; bits 1:0 select a dword and read 0. */
#define CONFIG_ADDR_MASK 0x80fffffcu

#define PAM0 0x59
#define PAM_LAST 0x5f
#define SMRAM 0x72
#define SMRAM_RESET 0x02

#define PAM_SEGMENTS 13
#define ISA_BIOS_BASE 0xe0000
#define ISA_BIOS_SIZE 0x20000

typedef enum {
    PAM_NONE, /* PCI: nothing mapped, accesses go to the MMIO bus */
    PAM_RAM_RW,
    PAM_RAM_RO,
    PAM_ISA_BIOS, /* the BIOS image alias (read-only) */
} PamKind;

typedef struct {
    uint64_t gpa;
    uint64_t size;
    PamKind kind;
    int id; /* guest-mem region id */
} PamRegion;

struct I440fxState {
    VmmPciDevice pci;

    uint8_t addr; /* property: devfn */

    /* Guards config_addr. Ranks above every device lock: config accesses nest inside it. */
    GMutex port_lock;
    uint32_t config_addr;
    int port_handle;

    VmmPciBus *bus; /* Owned reference: the root bus */

    uint8_t *isa_bios;               /* Borrowed: last 128 KiB of the BIOS image, or NULL */
    PamRegion regions[PAM_SEGMENTS]; /* currently mapped shadow regions */
    unsigned n_regions;
    bool warned_no_ram;

    const I440fxRcrOps *rcr_ops; /* Borrowed, written at realize time only */
    void *rcr_opaque;
    GMutex *rcr_lock;
};

/* ---- PAM ---------------------------------------------------------------------------------- */

static void pam_segment(unsigned seg, uint64_t *gpa, uint64_t *size, unsigned *reg, unsigned *shift)
{
    if (seg < 12) {
        *gpa = 0xc0000 + (uint64_t)seg * 0x4000;
        *size = 0x4000;
        *reg = PAM0 + 1 + seg / 2;
        *shift = (seg & 1) ? 4 : 0;
    } else {
        *gpa = 0xf0000;
        *size = 0x10000;
        *reg = PAM0;
        *shift = 4;
    }
}

static PamKind pam_kind(I440fxState *s, unsigned seg)
{
    uint64_t gpa, size;
    unsigned reg, shift;
    unsigned mode;

    pam_segment(seg, &gpa, &size, &reg, &shift);
    mode = (vmm_pci_get_byte(&s->pci, reg) >> shift) & 3;
    switch (mode) {
    case 1:
        return PAM_RAM_RO;
    case 2: /* write-only DRAM: approximated as read-write (reads see RAM, not ROM) */
    case 3:
        return PAM_RAM_RW;
    default:
        return gpa >= ISA_BIOS_BASE && s->isa_bios != NULL ? PAM_ISA_BIOS : PAM_NONE;
    }
}

static const char *pam_kind_name(PamKind k)
{
    switch (k) {
    case PAM_RAM_RW:
        return "pam-ram";
    case PAM_RAM_RO:
        return "pam-ram-ro";
    case PAM_ISA_BIOS:
        return "isa-bios";
    case PAM_NONE:
    default:
        return "pam-pci";
    }
}

static bool pam_region_equal(const PamRegion *a, const PamRegion *b)
{
    return a->gpa == b->gpa && a->size == b->size && a->kind == b->kind;
}

static bool pam_region_in(const PamRegion *r, const PamRegion *set, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (pam_region_equal(r, &set[i])) {
            return true;
        }
    }
    return false;
}

static int pam_map(I440fxState *s, PamRegion *r)
{
    VmmGuestMem *mem = s->pci.parent.machine->mem;
    uint8_t *host;
    uint32_t flags = 0;

    switch (r->kind) {
    case PAM_ISA_BIOS:
        host = s->isa_bios + (r->gpa - ISA_BIOS_BASE);
        flags = VMM_MEM_READONLY;
        break;
    case PAM_RAM_RO:
        flags = VMM_MEM_READONLY;
        G_GNUC_FALLTHROUGH;
    case PAM_RAM_RW:
        /* Low RAM is identity mapped: RAM offset == guest-physical address. */
        host = vmm_guest_mem_ram_ptr(mem, r->gpa, r->size);
        if (host == NULL) {
            if (!s->warned_no_ram) {
                g_warning("no RAM behind the PAM area 0x%" G_GINT64_MODIFIER "x; left unmapped",
                          r->gpa);
                s->warned_no_ram = true;
            }
            return -ENOMEM;
        }
        break;
    case PAM_NONE:
    default:
        return -EINVAL;
    }
    return vmm_guest_mem_add_region(mem, pam_kind_name(r->kind), r->gpa, r->size, host, flags);
}

/* Makes the shadow regions match the PAM registers. Device lock held. */
static void pam_update(I440fxState *s)
{
    VmmGuestMem *mem = s->pci.parent.machine->mem;
    PamRegion want[PAM_SEGMENTS];
    PamRegion keep[PAM_SEGMENTS];
    unsigned n_want = 0, n_keep = 0;

    for (unsigned seg = 0; seg < PAM_SEGMENTS; seg++) {
        uint64_t gpa, size;
        unsigned reg, shift;
        PamKind kind = pam_kind(s, seg);

        pam_segment(seg, &gpa, &size, &reg, &shift);
        if (kind == PAM_NONE) {
            continue;
        }
        /* Both the RAM and the BIOS alias are linear in gpa, so neighbours can merge. */
        if (n_want > 0 && want[n_want - 1].kind == kind &&
            want[n_want - 1].gpa + want[n_want - 1].size == gpa) {
            want[n_want - 1].size += size;
        } else {
            want[n_want++] = (PamRegion){.gpa = gpa, .size = size, .kind = kind, .id = -1};
        }
    }

    /* Remove what changed first: the new regions may overlap the old ones. */
    for (unsigned i = 0; i < s->n_regions; i++) {
        if (pam_region_in(&s->regions[i], want, n_want)) {
            keep[n_keep++] = s->regions[i];
        } else {
            vmm_guest_mem_del_region(mem, s->regions[i].id);
        }
    }
    s->n_regions = 0;
    for (unsigned i = 0; i < n_keep; i++) {
        s->regions[s->n_regions++] = keep[i];
    }
    for (unsigned i = 0; i < n_want; i++) {
        int id;

        if (pam_region_in(&want[i], keep, n_keep)) {
            continue;
        }
        id = pam_map(s, &want[i]);
        if (id < 0) {
            if (id != -ENOMEM) {
                g_warning("cannot map %s at 0x%" G_GINT64_MODIFIER "x: %s",
                          pam_kind_name(want[i].kind), want[i].gpa, g_strerror(-id));
            }
            continue;
        }
        want[i].id = id;
        s->regions[s->n_regions++] = want[i];
    }
}

static void pam_unmap_all(I440fxState *s)
{
    VmmGuestMem *mem = s->pci.parent.machine->mem;

    for (unsigned i = 0; i < s->n_regions; i++) {
        vmm_guest_mem_del_region(mem, s->regions[i].id);
    }
    s->n_regions = 0;
}

void i440fx_set_isa_bios(I440fxState *s, uint8_t *host, size_t size)
{
    if (host != NULL && (size != ISA_BIOS_SIZE || ((uintptr_t)host & 4095) != 0)) {
        /* Memslots need whole, page-aligned host pages. */
        g_warning("ISA BIOS alias must be %u page-aligned bytes, got %zu at %p; ignored",
                  ISA_BIOS_SIZE, size, (void *)host);
        return;
    }
    g_mutex_lock(&s->pci.parent.lock);
    /* Drop the old alias before its memory can go away. */
    pam_unmap_all(s);
    s->isa_bios = host;
    pam_update(s);
    g_mutex_unlock(&s->pci.parent.lock);
}

void i440fx_set_rcr_handler(I440fxState *s, const I440fxRcrOps *ops, void *opaque, GMutex *lock)
{
    g_mutex_lock(&s->port_lock);
    s->rcr_ops = ops;
    s->rcr_opaque = opaque;
    s->rcr_lock = lock;
    g_mutex_unlock(&s->port_lock);
}

/* ---- config space ------------------------------------------------------------------------- */

static void i440fx_config_write(VmmPciDevice *d, unsigned offset, uint32_t value, unsigned size)
{
    I440fxState *s = (I440fxState *)d;

    vmm_pci_default_config_write(d, offset, value, size);
    if (offset <= PAM_LAST && offset + size > PAM0) {
        pam_update(s);
    }
}

static const VmmPciDeviceOps i440fx_pci_ops = {
    .config_write = i440fx_config_write,
};

/* ---- ports 0xCF8-0xCFF -------------------------------------------------------------------- */

static uint64_t ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

static uint64_t config_port_read(void *opaque, uint64_t offset, unsigned size)
{
    I440fxState *s = opaque;

    if (offset == 0 && size == 4) {
        return s->config_addr;
    }
    if (offset == 1 && size == 1 && s->rcr_ops != NULL) {
        uint8_t v;

        if (s->rcr_lock != NULL) {
            g_mutex_lock(s->rcr_lock);
        }
        v = s->rcr_ops->read(s->rcr_opaque);
        if (s->rcr_lock != NULL) {
            g_mutex_unlock(s->rcr_lock);
        }
        return v;
    }
    if (offset >= 4 && offset + size <= CONFIG_PORTS_LEN && (s->config_addr & CONFIG_ADDR_ENABLE)) {
        uint16_t bdf = (s->config_addr >> 8) & 0xffff;
        unsigned reg = (s->config_addr & 0xfc) + (unsigned)(offset - 4);

        return vmm_pci_bus_config_read(s->bus, bdf, reg, size);
    }
    /* Other byte/word accesses to 0xCF8-0xCFB go to ISA, where nothing answers. */
    return ones(size);
}

static void config_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    I440fxState *s = opaque;

    if (offset == 0 && size == 4) {
        s->config_addr = (uint32_t)value & CONFIG_ADDR_MASK;
        return;
    }
    if (offset == 1 && size == 1) {
        if (s->rcr_ops != NULL) {
            if (s->rcr_lock != NULL) {
                g_mutex_lock(s->rcr_lock);
            }
            s->rcr_ops->write(s->rcr_opaque, (uint8_t)value);
            if (s->rcr_lock != NULL) {
                g_mutex_unlock(s->rcr_lock);
            }
        }
        return;
    }
    if (offset >= 4 && offset + size <= CONFIG_PORTS_LEN && (s->config_addr & CONFIG_ADDR_ENABLE)) {
        uint16_t bdf = (s->config_addr >> 8) & 0xffff;
        unsigned reg = (s->config_addr & 0xfc) + (unsigned)(offset - 4);

        vmm_pci_bus_config_write(s->bus, bdf, reg, size, (uint32_t)value);
    }
}

static const VmmIoOps config_port_ops = {
    .read = config_port_read,
    .write = config_port_write,
    .min_access = 1,
    .max_access = 4,
};

/* ---- device ------------------------------------------------------------------------------- */

static void i440fx_reset(VmmDevice *dev)
{
    I440fxState *s = (I440fxState *)dev;

    vmm_pci_device_reset(&s->pci);
    for (unsigned r = PAM0; r <= PAM_LAST; r++) {
        vmm_pci_set_byte(&s->pci, r, 0);
    }
    vmm_pci_set_byte(&s->pci, SMRAM, SMRAM_RESET);
    pam_update(s);

    /*
     * Resets run with every vCPU paused, and the port lock ranks above device locks, so
     * it must not be taken here: no port access can race with this store.
     */
    s->config_addr = 0;
}

static bool i440fx_realize(VmmDevice *dev, GError **error)
{
    I440fxState *s = (I440fxState *)dev;
    VmmMachine *m = dev->machine;
    int r;

    if (m->pci_bus != NULL) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: the machine already has a root PCI bus", dev->id);
        return false;
    }
    g_mutex_init(&s->port_lock);
    s->bus = vmm_pci_bus_new(m, 0);
    m->pci_bus = s->bus;
    if (!vmm_pci_device_realize(&s->pci, s->addr, &i440fx_pci_ops, error)) {
        goto fail;
    }
    vmm_pci_set_ids(&s->pci, I440FX_VENDOR, I440FX_DEVICE, I440FX_CLASS, I440FX_REVISION);
    /* SeaBIOS only sets its "running on QEMU" flag with this subsystem. */
    vmm_pci_set_subsystem(&s->pci, 0x1af4, 0x1100);
    /* PAM0's low nibble is reserved; each nibble has RE (bit 0) and WE (bit 1). */
    vmm_pci_set_wmask(&s->pci, PAM0, 1, 0x30);
    for (unsigned reg = PAM0 + 1; reg <= PAM_LAST; reg++) {
        vmm_pci_set_wmask(&s->pci, reg, 1, 0x33);
    }
    /* SMRAM: D_OPEN, D_CLS, D_LCK, G_SMRAME stored; C_BASE_SEG fixed at 010b. */
    vmm_pci_set_wmask(&s->pci, SMRAM, 1, 0x78);
    vmm_pci_set_byte(&s->pci, SMRAM, SMRAM_RESET);

    r = vmm_bus_register(m->pio, "pci-config", CONFIG_ADDR_PORT, CONFIG_PORTS_LEN, &config_port_ops,
                         s, &s->port_lock);
    if (r < 0) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: ports 0xcf8-0xcff: %s", dev->id, g_strerror(-r));
        vmm_pci_device_unrealize(&s->pci);
        goto fail;
    }
    s->port_handle = r;
    return true;

fail:
    m->pci_bus = NULL;
    g_clear_pointer(&s->bus, vmm_pci_bus_unref);
    g_mutex_clear(&s->port_lock);
    return false;
}

static void i440fx_unrealize(VmmDevice *dev)
{
    I440fxState *s = (I440fxState *)dev;

    pam_unmap_all(s);
    vmm_pci_device_unrealize(&s->pci);
    if (dev->machine->pci_bus == s->bus) {
        dev->machine->pci_bus = NULL;
    }
    g_clear_pointer(&s->bus, vmm_pci_bus_unref);
    g_mutex_clear(&s->port_lock);
}

static const VmmPropDesc i440fx_props[] = {
    VMM_PROP_INT(VMM_PROP_U8, "addr", I440fxState, addr, 0x00, 0, 0xff,
                 "PCI device/function (devfn) of the host bridge"),
    VMM_PROP_END,
};

const VmmDeviceType i440fx_type = {
    .name = "i440fx",
    .description = "Intel 440FX host bridge (PCI root, config ports, PAM shadow RAM)",
    .instance_size = sizeof(I440fxState),
    .props = i440fx_props,
    .realize = i440fx_realize,
    .reset = i440fx_reset,
    .unrealize = i440fx_unrealize,
};
