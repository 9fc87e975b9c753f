/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for the PCI configuration path: random sequences of 0xCF8/0xCFC
 * accesses, accesses to whatever the guest mapped (BARs, the PM block, GPE0, 0xCF9,
 * port 0x92, MSI-X table), clock steps and device-side interrupt events, against a
 * fake machine with the i440FX, PIIX3, PIIX4 PM and a test device with every BAR
 * type, MSI and MSI-X. Nothing may crash, leak or trip a sanitizer.
 */
#define G_LOG_DOMAIN "fuzz-pci-config"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "devices/chipset/piix4-pm.h"
#include "vmm/machine.h"
#include "vmm/pci.h"
#include "vmm/timer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    VmmPciDevice pci;
    uint8_t addr;
} FuzzDev;

static uint64_t fuzz_bar_read(void *opaque, uint64_t offset, unsigned size)
{
    return offset;
}

static void fuzz_bar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
}

static const VmmIoOps fuzz_bar_ops = {
    .read = fuzz_bar_read,
    .write = fuzz_bar_write,
    .min_access = 1,
    .max_access = 8,
};

static bool fuzzdev_realize(VmmDevice *dev, GError **error)
{
    FuzzDev *t = (FuzzDev *)dev;

    if (!vmm_pci_device_realize(&t->pci, t->addr, NULL, error)) {
        return false;
    }
    vmm_pci_set_ids(&t->pci, 0x1234, 0x0001, 0xff0000, 0);
    vmm_pci_set_interrupt_pin(&t->pci, 2);
    vmm_pci_register_bar(&t->pci, 0, VMM_PCI_BAR_IO, false, 64, "fuzz-io", &fuzz_bar_ops, t);
    vmm_pci_register_bar(&t->pci, 1, VMM_PCI_BAR_MEM32, false, 0x1000, "fuzz-mem", &fuzz_bar_ops,
                         t);
    vmm_pci_register_bar(&t->pci, 2, VMM_PCI_BAR_MEM64, true, 0x10000, "fuzz-mem64", &fuzz_bar_ops,
                         t);
    vmm_pci_msi_init(&t->pci, 8, true);
    vmm_pci_msix_init(&t->pci, 70, 5);
    return true;
}

static void fuzzdev_reset(VmmDevice *dev)
{
    vmm_pci_device_reset((VmmPciDevice *)dev);
}

static void fuzzdev_unrealize(VmmDevice *dev)
{
    vmm_pci_device_unrealize((VmmPciDevice *)dev);
}

static const VmmPropDesc fuzzdev_props[] = {
    VMM_PROP_INT(VMM_PROP_U8, "addr", FuzzDev, addr, 0x10, 0, 0xff, "devfn"),
    VMM_PROP_END,
};

static const VmmDeviceType fuzzdev_type = {
    .name = "fuzz-pci",
    .description = "PCI device for fuzzing",
    .instance_size = sizeof(FuzzDev),
    .props = fuzzdev_props,
    .realize = fuzzdev_realize,
    .reset = fuzzdev_reset,
    .unrealize = fuzzdev_unrealize,
};

typedef struct {
    const uint8_t *p;
    size_t left;
} Input;

static uint32_t take(Input *in, unsigned n)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < n && in->left > 0; i++) {
        v |= (uint32_t)*in->p << (8 * i);
        in->p++;
        in->left--;
    }
    return v;
}

/* Ports worth hitting: config, reset, PM block candidates, GPE0, usual BAR spots. */
static const uint16_t ports[] = {
    0xcf8, 0xcf9,  0xcfa,  0xcfc,  0xcfd,  0xcfe,  0xcff,  0x92,   0x600, 0x604,
    0x608, 0xb000, 0xb004, 0xb008, 0xafe0, 0xafe2, 0xc000, 0xc040, 0x4d0, 0x0,
};

static const uint64_t mmio_bases[] = {
    0xfe000000u, 0xfebf0000u, 0x800000000ull, 0xfffff000u, 0xc0000000u, 0x0,
};

static unsigned access_size(uint8_t sel)
{
    static const unsigned sizes[] = {1, 2, 4, 4};

    return sizes[sel & 3];
}

static uint8_t isa_bios[128 * 1024] __attribute__((aligned(4096)));

static void discard_log(const char *domain, GLogLevelFlags level, const char *message,
                        gpointer user_data)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    VmmMachine *m;
    VmmDevice *devs[4];
    VmmCfgNode *cfg;
    Input in = {data, size};
    unsigned steps = 0;

    if (!quiet) {
        /* Guest-error warnings are expected here; keep the output readable. */
        static const char *const domains[] = {"vmm-pci", "piix3", "piix4-pm", "vmm"};

        for (unsigned i = 0; i < G_N_ELEMENTS(domains); i++) {
            g_log_set_handler(domains[i], G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, discard_log,
                              NULL);
        }
        quiet = true;
    }

    m = vmm_machine_new_fake();
    if (!vmm_guest_mem_alloc_ram(m->mem, 2 * 1024 * 1024, NULL)) {
        g_error("cannot allocate fuzzing RAM");
    }
    cfg = vmm_cfg_new();
    vmm_cfg_set_int(cfg, "addr", 0x10);
    vmm_clock_set_manual(m);
    devs[0] = vmm_device_create(m, &i440fx_type, "i440fx", NULL, NULL);
    devs[1] = vmm_device_create(m, &piix3_type, "piix3", NULL, NULL);
    devs[2] = vmm_device_create(m, &piix4_pm_type, "piix4-pm", NULL, NULL);
    devs[3] = vmm_device_create(m, &fuzzdev_type, "fuzz0", cfg, NULL);
    if (devs[0] == NULL || devs[1] == NULL || devs[2] == NULL || devs[3] == NULL) {
        g_error("cannot build the fuzzing machine");
    }
    i440fx_set_isa_bios((I440fxState *)devs[0], isa_bios, sizeof(isa_bios));
    for (unsigned i = 0; i < G_N_ELEMENTS(devs); i++) {
        vmm_device_reset(devs[i]);
    }

    while (in.left > 0 && steps++ < 4096) {
        uint8_t op = (uint8_t)take(&in, 1);
        unsigned sz = access_size(op >> 4);

        switch (op & 7) {
        case 0: { /* config address, mostly enabled and on bus 0 */
            uint32_t v = take(&in, 4);

            /* Mostly aim at a populated function so the fuzzer gets somewhere quickly. */
            if (op & 0x08) {
                static const uint8_t devfns[] = {0x00, 0x08, 0x0b, 0x10};

                v = 0x80000000u | ((uint32_t)devfns[(v >> 8) & 3] << 8) | (v & 0xfcu);
            }
            vmm_bus_write_val(m->pio, 0xcf8, v, 4);
            break;
        }
        case 1: /* config data read */
            vmm_bus_read_val(m->pio, 0xcfc + ((op >> 3) & 3), sz);
            break;
        case 2: /* config data write */
            vmm_bus_write_val(m->pio, 0xcfc + ((op >> 3) & 3), take(&in, sz), sz);
            break;
        case 3: { /* port read near an interesting port */
            uint8_t sel = (uint8_t)take(&in, 1);
            uint16_t port = ports[sel % G_N_ELEMENTS(ports)] + ((sel >> 5) & 7);

            vmm_bus_read_val(m->pio, port, sz);
            break;
        }
        case 4: { /* port write */
            uint8_t sel = (uint8_t)take(&in, 1);
            uint16_t port = ports[sel % G_N_ELEMENTS(ports)] + ((sel >> 5) & 7);
            uint32_t v = take(&in, sz);

            /* Keep the reset/power requests from dominating: they are only recorded. */
            vmm_bus_write_val(m->pio, port, v, sz);
            break;
        }
        case 5: { /* MMIO access at a likely BAR address */
            uint8_t sel = (uint8_t)take(&in, 1);
            uint64_t addr = mmio_bases[sel % G_N_ELEMENTS(mmio_bases)] + take(&in, 2);
            unsigned msz = (op & 0x80) ? 8 : sz;

            if (op & 0x08) {
                vmm_bus_write_val(m->mmio, addr, take(&in, 4), msz);
            } else {
                vmm_bus_read_val(m->mmio, addr, msz);
            }
            break;
        }
        case 6: /* time passes */
            vmm_clock_advance(m, (int64_t)take(&in, 4) * 16);
            break;
        case 7: { /* device-side events */
            VmmPciDevice *pd = (VmmPciDevice *)devs[3];
            uint8_t arg = (uint8_t)take(&in, 1);

            switch ((op >> 3) & 7) {
            case 0:
                g_mutex_lock(&pd->parent.lock);
                vmm_pci_set_irq(pd, arg & 1);
                g_mutex_unlock(&pd->parent.lock);
                break;
            case 1:
                g_mutex_lock(&pd->parent.lock);
                vmm_pci_msi_notify(pd, arg);
                g_mutex_unlock(&pd->parent.lock);
                break;
            case 2:
                g_mutex_lock(&pd->parent.lock);
                vmm_pci_msix_notify(pd, arg);
                g_mutex_unlock(&pd->parent.lock);
                break;
            case 3:
                piix4_pm_power_button((Piix4PmState *)devs[2]);
                break;
            case 4:
                piix4_pm_set_gpe((Piix4PmState *)devs[2], arg);
                break;
            case 5:
                vmm_device_reset(devs[arg % G_N_ELEMENTS(devs)]);
                break;
            default:
                break;
            }
            break;
        }
        default:
            break;
        }
    }

    vmm_machine_free(m);
    vmm_cfg_free(cfg);
    return 0;
}
