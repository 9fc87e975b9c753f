/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Intel PIIX3 PCI-to-ISA bridge, function 0 (00:01.0): the PCI interrupt router
 * (PIRQ route control registers 0x60-0x63), the reset control register at port
 * 0xCF9 and the fast reset / A20 port 0x92. The 8259 ELCR at 0x4D0/0x4D1 belongs to
 * KVM's in-kernel PIC, so it is not claimed here.
 *
 * INTx wiring follows QEMU's "pc" machine, which SeaBIOS's tables ($PIR, MP table,
 * interrupt line values) and QEMU-style DSDTs assume: INTx pin p (0 = INTA) of slot s
 * drives PIRQ link (s + p - 1) & 3.
 */
#define G_LOG_DOMAIN "piix3"
#include <errno.h>
#include <stdbool.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/pci.h"

#define PIIX3_VENDOR 0x8086
#define PIIX3_DEVICE 0x7000
#define PIIX3_CLASS 0x060100 /* ISA bridge */

#define PIRQ_ROUTE 0x60
#define PIRQ_COUNT 4
#define PIRQ_DISABLE 0x80
#define PIRQ_IRQ_MASK 0x0f

#define RCR_PORT 0xcf9
#define RCR_SRST 0x02 /* hard reset when RCPU toggles */
#define RCR_RCPU 0x04 /* 0 -> 1 resets the system */

#define PORT92 0x92
#define PORT92_INIT 0x01 /* 0 -> 1: fast reset */
#define PORT92_A20 0x02

struct Piix3State {
    VmmPciDevice pci;
    uint8_t addr; /* property: devfn */

    /*
     * GSI per PIRQ link, or -1. Written under the device lock, read lock-free by the
     * PCI bus's router callback (which runs under the bus IRQ lock).
     */
    int pirq_gsi[PIRQ_COUNT];

    uint8_t rcr;              /* device lock */
    uint8_t port92;           /* device lock */
    int rcr_handle;           /* own 0xCF9 region when no i440FX decodes it */
    I440fxState *host_bridge; /* Borrowed: forwards 0xCF9 to us */
};

/* ---- interrupt router --------------------------------------------------------------------- */

static unsigned piix3_map_pin(void *opaque, uint8_t devfn, unsigned pin)
{
    return (VMM_PCI_SLOT(devfn) + pin - 1u) & 3u;
}

static int piix3_pirq_to_gsi(void *opaque, unsigned pirq)
{
    Piix3State *s = opaque;

    if (pirq >= PIRQ_COUNT) {
        return -1;
    }
    return g_atomic_int_get(&s->pirq_gsi[pirq]);
}

static const VmmPciIrqRouter piix3_router = {
    .map_pin = piix3_map_pin,
    .pirq_to_gsi = piix3_pirq_to_gsi,
    .npirq = PIRQ_COUNT,
};

/* IRQs the PIIX3 can route PIRQs to; 0-2, 8 and 13 are reserved in the datasheet. */
static bool pirq_irq_valid(unsigned irq)
{
    return irq >= 3 && irq <= 15 && irq != 8 && irq != 13;
}

/* Reloads the routing from the config registers and re-drives the lines. Device lock held. */
static void piix3_update_routes(Piix3State *s)
{
    for (unsigned i = 0; i < PIRQ_COUNT; i++) {
        uint8_t v = vmm_pci_get_byte(&s->pci, PIRQ_ROUTE + i);
        unsigned irq = v & PIRQ_IRQ_MASK;
        int gsi = -1;

        if (!(v & PIRQ_DISABLE)) {
            if (pirq_irq_valid(irq)) {
                gsi = (int)irq;
            } else {
                vmm_guest_error("piix3: PIRQ%c routed to reserved IRQ %u; disabled", 'A' + i, irq);
            }
        }
        g_atomic_int_set(&s->pirq_gsi[i], gsi);
    }
    if (s->pci.bus != NULL) {
        vmm_pci_bus_update_irq_routes(s->pci.bus);
    }
}

static void piix3_config_write(VmmPciDevice *d, unsigned offset, uint32_t value, unsigned size)
{
    Piix3State *s = (Piix3State *)d;

    vmm_pci_default_config_write(d, offset, value, size);
    if (offset < PIRQ_ROUTE + PIRQ_COUNT && offset + size > PIRQ_ROUTE) {
        piix3_update_routes(s);
    }
}

static const VmmPciDeviceOps piix3_pci_ops = {
    .config_write = piix3_config_write,
};

/* ---- reset control (0xCF9) and port 0x92 -------------------------------------------------- */

static uint8_t rcr_read_cb(void *opaque)
{
    Piix3State *s = opaque;

    return s->rcr;
}

static void rcr_write_cb(void *opaque, uint8_t val)
{
    Piix3State *s = opaque;

    /*
     * RCPU acts on its 0 -> 1 edge. It never reads back as 1 (the reset it starts takes
     * effect at once), so every write with bit 2 set is such an edge: firmware writes 0x02
     * then 0x06, Linux reads, ORs 0x02 and then 0x06.
     */
    s->rcr = val & RCR_SRST;
    if (val & RCR_RCPU) {
        vmm_machine_request(s->pci.parent.machine, VMM_REQ_RESET, "0xCF9");
    }
}

static const I440fxRcrOps piix3_rcr_ops = {
    .read = rcr_read_cb,
    .write = rcr_write_cb,
};

static uint64_t rcr_port_read(void *opaque, uint64_t offset, unsigned size)
{
    return rcr_read_cb(opaque);
}

static void rcr_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    rcr_write_cb(opaque, (uint8_t)value);
}

static const VmmIoOps rcr_port_ops = {
    .read = rcr_port_read,
    .write = rcr_port_write,
    .min_access = 1,
    .max_access = 1,
};

static uint64_t port92_read(void *opaque, uint64_t offset, unsigned size)
{
    Piix3State *s = opaque;

    return s->port92;
}

static void port92_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Piix3State *s = opaque;
    uint8_t old = s->port92;

    /* A20 is never masked under KVM; the bit is only remembered for read-back. */
    s->port92 = (uint8_t)value & (PORT92_INIT | PORT92_A20);
    if ((value & PORT92_INIT) && !(old & PORT92_INIT)) {
        vmm_machine_request(s->pci.parent.machine, VMM_REQ_RESET, "port 0x92");
    }
}

static const VmmIoOps port92_ops = {
    .read = port92_read,
    .write = port92_write,
    .min_access = 1,
    .max_access = 1,
};

/* ---- device ------------------------------------------------------------------------------- */

static void piix3_reset(VmmDevice *dev)
{
    Piix3State *s = (Piix3State *)dev;

    vmm_pci_device_reset(&s->pci);
    for (unsigned i = 0; i < PIRQ_COUNT; i++) {
        vmm_pci_set_byte(&s->pci, PIRQ_ROUTE + i, PIRQ_DISABLE);
    }
    piix3_update_routes(s);
    s->rcr = 0;
    s->port92 = PORT92_A20;
}

static bool piix3_realize(VmmDevice *dev, GError **error)
{
    Piix3State *s = (Piix3State *)dev;
    VmmMachine *m = dev->machine;
    VmmPciDevice *hb;
    int r;

    if (!vmm_pci_device_realize(&s->pci, s->addr, &piix3_pci_ops, error)) {
        return false;
    }
    vmm_pci_set_ids(&s->pci, PIIX3_VENDOR, PIIX3_DEVICE, PIIX3_CLASS, 0);
    vmm_pci_set_header_type(&s->pci, VMM_PCI_HEADER_TYPE_MULTI_FUNCTION);
    for (unsigned i = 0; i < PIRQ_COUNT; i++) {
        vmm_pci_set_wmask(&s->pci, PIRQ_ROUTE + i, 1, PIRQ_DISABLE | PIRQ_IRQ_MASK);
        vmm_pci_set_byte(&s->pci, PIRQ_ROUTE + i, PIRQ_DISABLE);
        s->pirq_gsi[i] = -1;
    }
    s->port92 = PORT92_A20;

    r = vmm_bus_register(m->pio, "port92", PORT92, 1, &port92_ops, s, &dev->lock);
    if (r < 0) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: port 0x92: %s", dev->id, g_strerror(-r));
        vmm_pci_device_unrealize(&s->pci);
        return false;
    }

    /* 0xCF9 lies inside the host bridge's 0xCF8 dword: let the i440FX forward it. */
    hb = vmm_pci_bus_get_device(s->pci.bus, 0);
    if (hb != NULL && hb->parent.type == &i440fx_type) {
        s->host_bridge = (I440fxState *)hb;
        i440fx_set_rcr_handler(s->host_bridge, &piix3_rcr_ops, s, &dev->lock);
    } else {
        r = vmm_bus_register(m->pio, "piix3-rcr", RCR_PORT, 1, &rcr_port_ops, s, &dev->lock);
        if (r < 0) {
            g_set_error(error, VMM_PCI_ERROR, 0, "%s: port 0xcf9: %s", dev->id, g_strerror(-r));
            vmm_pci_device_unrealize(&s->pci);
            return false;
        }
        s->rcr_handle = r;
    }

    vmm_pci_bus_set_irq_router(s->pci.bus, &piix3_router, s);
    return true;
}

static void piix3_unrealize(VmmDevice *dev)
{
    Piix3State *s = (Piix3State *)dev;
    VmmPciBus *bus = s->pci.bus;

    if (bus != NULL) {
        vmm_pci_bus_set_irq_router(bus, NULL, NULL);
        /* The host bridge may already be gone; only touch it while it is on the bus. */
        if (s->host_bridge != NULL &&
            vmm_pci_bus_get_device(bus, 0) == (VmmPciDevice *)s->host_bridge) {
            i440fx_set_rcr_handler(s->host_bridge, NULL, NULL, NULL);
        }
    }
    vmm_pci_device_unrealize(&s->pci);
}

static const VmmPropDesc piix3_props[] = {
    VMM_PROP_INT(VMM_PROP_U8, "addr", Piix3State, addr, VMM_PCI_DEVFN(1, 0), 0, 0xff,
                 "PCI device/function (devfn) of the ISA bridge"),
    VMM_PROP_END,
};

const VmmDeviceType piix3_type = {
    .name = "piix3",
    .description = "Intel PIIX3 PCI-ISA bridge (PIRQ router, reset control 0xCF9, port 0x92)",
    .instance_size = sizeof(Piix3State),
    .props = piix3_props,
    .realize = piix3_realize,
    .reset = piix3_reset,
    .unrealize = piix3_unrealize,
};
