/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The PCI framework (PDM's PCI role): a bus of 256 device/function slots, the
 * type 0 configuration header with per-byte write and write-1-to-clear masks,
 * BARs mapped onto the machine's PIO/MMIO buses as the guest programs them,
 * capabilities (MSI, MSI-X) and INTx routed through a chipset-provided router.
 *
 * A PCI device model embeds VmmPciDevice as the first member of its instance
 * struct (VmmPciDevice itself starts with VmmDevice, so the device framework
 * sees an ordinary device). In realize() it calls vmm_pci_device_realize(),
 * fills the header with the helpers below, registers BARs and capabilities; its
 * reset() calls vmm_pci_device_reset() and its unrealize() must call
 * vmm_pci_device_unrealize().
 *
 * Locks: configuration accesses come from the host bridge's port handler, which
 * holds the host bridge's address-register lock; the framework then takes the
 * target device's lock (VmmDevice.lock) around config_read/config_write. BAR
 * regions are registered with the device lock too, so every callback of a device
 * runs under that device's lock. INTx bookkeeping uses the bus's own IRQ lock,
 * the innermost lock: the router callbacks run under it and must not take any
 * device lock.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "device.h"

typedef struct VmmPciBus VmmPciBus;
typedef struct VmmPciDevice VmmPciDevice;

#define VMM_PCI_ERROR (vmm_pci_error_quark())
GQuark vmm_pci_error_quark(void);

#define VMM_PCI_DEVFN(slot, fn) ((uint8_t)((((slot) & 0x1f) << 3) | ((fn) & 7)))
#define VMM_PCI_SLOT(devfn) (((devfn) >> 3) & 0x1f)
#define VMM_PCI_FUNC(devfn) ((devfn) & 7)
/* Bus/device/function as used by configuration mechanism #1: bus in bits 15:8. */
#define VMM_PCI_BDF(bus, devfn) ((uint16_t)(((bus) << 8) | (devfn)))

#define VMM_PCI_CONFIG_SIZE 256
#define VMM_PCIE_CONFIG_SIZE 4096
#define VMM_PCI_NUM_BARS 6
#define VMM_PCI_MAX_PIRQ 8

/* Type 0 header. */
#define VMM_PCI_VENDOR_ID 0x00
#define VMM_PCI_DEVICE_ID 0x02
#define VMM_PCI_COMMAND 0x04
#define VMM_PCI_STATUS 0x06
#define VMM_PCI_REVISION_ID 0x08
#define VMM_PCI_CLASS_PROG 0x09
#define VMM_PCI_CLASS_DEVICE 0x0a
#define VMM_PCI_CACHE_LINE_SIZE 0x0c
#define VMM_PCI_LATENCY_TIMER 0x0d
#define VMM_PCI_HEADER_TYPE 0x0e
#define VMM_PCI_BAR0 0x10
#define VMM_PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define VMM_PCI_SUBSYSTEM_ID 0x2e
#define VMM_PCI_CAPABILITY_LIST 0x34
#define VMM_PCI_INTERRUPT_LINE 0x3c
#define VMM_PCI_INTERRUPT_PIN 0x3d

#define VMM_PCI_COMMAND_IO 0x0001
#define VMM_PCI_COMMAND_MEMORY 0x0002
#define VMM_PCI_COMMAND_MASTER 0x0004
#define VMM_PCI_COMMAND_PARITY 0x0040
#define VMM_PCI_COMMAND_SERR 0x0100
#define VMM_PCI_COMMAND_INTX_DISABLE 0x0400

#define VMM_PCI_STATUS_INTERRUPT 0x0008
#define VMM_PCI_STATUS_CAP_LIST 0x0010

#define VMM_PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

#define VMM_PCI_CAP_ID_MSI 0x05
#define VMM_PCI_CAP_ID_VNDR 0x09
#define VMM_PCI_CAP_ID_MSIX 0x11

typedef enum {
    VMM_PCI_BAR_NONE = 0,
    VMM_PCI_BAR_IO,
    VMM_PCI_BAR_MEM32,
    VMM_PCI_BAR_MEM64, /* takes two BAR slots: @bar and @bar + 1 */
} VmmPciBarType;

typedef struct {
    VmmPciBarType type;
    bool prefetch;
    uint64_t size;       /* power of two; 0 when the slot is unused */
    const char *name;    /* Borrowed, static: bus region name */
    const VmmIoOps *ops; /* Borrowed, static */
    void *opaque;        /* Borrowed */
    int handle;          /* bus region handle while mapped, else 0 */
    uint64_t addr;       /* where it is mapped (valid while handle > 0) */
} VmmPciBar;

typedef struct {
    /*
     * Optional: read @size (1, 2 or 4) bytes at @offset (offset + size <= config size).
     * Without it the stored config bytes are returned. Implementations usually handle a
     * few registers and call vmm_pci_default_config_read() for the rest.
     */
    uint32_t (*config_read)(VmmPciDevice *d, unsigned offset, unsigned size);
    /*
     * Optional: write. Implementations usually call vmm_pci_default_config_write() first
     * (which applies the masks and updates BARs, INTx, MSI/MSI-X) and then act on their
     * own registers.
     */
    void (*config_write)(VmmPciDevice *d, unsigned offset, uint32_t value, unsigned size);
} VmmPciDeviceOps;

struct VmmPciDevice {
    VmmDevice parent;
    VmmPciBus *bus; /* Borrowed (a reference is held while registered) */
    uint8_t devfn;
    bool registered;
    const VmmPciDeviceOps *ops; /* Borrowed, may be NULL */
    unsigned config_size;       /* 256 for conventional PCI */

    uint8_t config[VMM_PCIE_CONFIG_SIZE];
    uint8_t wmask[VMM_PCIE_CONFIG_SIZE];   /* bits the guest may write */
    uint8_t w1cmask[VMM_PCIE_CONFIG_SIZE]; /* bits cleared by writing 1 */
    unsigned cap_end;                      /* first free byte for the next capability */

    VmmPciBar bars[VMM_PCI_NUM_BARS];

    /* INTx: what the device drives, and what the bus currently counts for it. */
    bool intx_level;
    bool intx_asserted;
    unsigned intx_pirq;

    /* MSI (cap offset 0 when absent). */
    uint8_t msi_cap;
    unsigned msi_vectors;
    bool msi_64bit;

    /* MSI-X (cap offset 0 when absent); table and PBA live in a BAR of their own. */
    uint8_t msix_cap;
    unsigned msix_vectors;
    unsigned msix_bar;
    uint64_t msix_pba_offset; /* PBA offset in the BAR */
    uint8_t *msix_table;      /* Owned: 16 bytes per vector */
    uint8_t *msix_pba;        /* Owned: one bit per vector, in 8-byte units */
};

/*
 * Interrupt router installed by the chipset (PIIX3/ICH9). Both callbacks run under
 * the bus's IRQ lock and must not take device locks.
 */
typedef struct {
    /* Required: link (PIRQ) index < npirq for INTx @pin (0 = INTA) of @devfn. */
    unsigned (*map_pin)(void *opaque, uint8_t devfn, unsigned pin);
    /* Required: GSI currently routed to link @pirq, or -1 when that link is disabled. */
    int (*pirq_to_gsi)(void *opaque, unsigned pirq);
    unsigned npirq; /* <= VMM_PCI_MAX_PIRQ */
} VmmPciIrqRouter;

/* Bus. The creator holds one reference; every registered device holds one more. */
VmmPciBus *vmm_pci_bus_new(VmmMachine *m, uint8_t number);
void vmm_pci_bus_unref(VmmPciBus *bus);
uint8_t vmm_pci_bus_number(VmmPciBus *bus);
/* Borrowed device at @devfn, or NULL. */
VmmPciDevice *vmm_pci_bus_get_device(VmmPciBus *bus, uint8_t devfn);

/*
 * Configuration access by bus/device/function (bdf: bus in bits 15:8, devfn in 7:0),
 * @offset within the function's config space, @size 1, 2 or 4. Anything invalid or
 * unpopulated reads all ones and drops writes. Takes the target device's lock.
 */
uint32_t vmm_pci_bus_config_read(VmmPciBus *bus, uint16_t bdf, unsigned offset, unsigned size);
void vmm_pci_bus_config_write(VmmPciBus *bus, uint16_t bdf, unsigned offset, unsigned size,
                              uint32_t value);

void vmm_pci_bus_set_irq_router(VmmPciBus *bus, const VmmPciIrqRouter *router, void *opaque);
/* The router's routing changed (the guest rewrote a PIRQ register): re-drive every GSI. */
void vmm_pci_bus_update_irq_routes(VmmPciBus *bus);

/*
 * Device life cycle. realize: attach to the machine's root bus at @devfn (error when
 * there is no bus yet or the slot is taken) and set up an empty type 0 header.
 */
bool vmm_pci_device_realize(VmmPciDevice *d, uint8_t devfn, const VmmPciDeviceOps *ops,
                            GError **error);
/* Back to the power-on state of the generic parts: command, status, BARs, INTx, MSI(-X). */
void vmm_pci_device_reset(VmmPciDevice *d);
void vmm_pci_device_unrealize(VmmPciDevice *d);

/* Header helpers (realize time). @class_code is 24 bits: class, subclass, prog-if. */
void vmm_pci_set_ids(VmmPciDevice *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision);
void vmm_pci_set_subsystem(VmmPciDevice *d, uint16_t vendor, uint16_t id);
void vmm_pci_set_header_type(VmmPciDevice *d, uint8_t type);
/* @pin: 0 none, 1 = INTA ... 4 = INTD. */
void vmm_pci_set_interrupt_pin(VmmPciDevice *d, uint8_t pin);

/* Raw config accessors for the device model (no masks, no side effects). */
uint8_t vmm_pci_get_byte(VmmPciDevice *d, unsigned offset);
uint16_t vmm_pci_get_word(VmmPciDevice *d, unsigned offset);
uint32_t vmm_pci_get_long(VmmPciDevice *d, unsigned offset);
void vmm_pci_set_byte(VmmPciDevice *d, unsigned offset, uint8_t v);
void vmm_pci_set_word(VmmPciDevice *d, unsigned offset, uint16_t v);
void vmm_pci_set_long(VmmPciDevice *d, unsigned offset, uint32_t v);
/* Guest-writable and write-1-to-clear masks for @len bytes from @offset, little-endian. */
void vmm_pci_set_wmask(VmmPciDevice *d, unsigned offset, unsigned len, uint32_t mask);
void vmm_pci_set_w1cmask(VmmPciDevice *d, unsigned offset, unsigned len, uint32_t mask);

/* Default behaviour, for config_read/config_write overrides to fall back on. */
uint32_t vmm_pci_default_config_read(VmmPciDevice *d, unsigned offset, unsigned size);
void vmm_pci_default_config_write(VmmPciDevice *d, unsigned offset, uint32_t value, unsigned size);

/*
 * BARs. @size is a power of two (I/O: 4..256 bytes; memory: >= 16). The region is
 * registered on m->pio / m->mmio with the device lock when the guest enables decoding
 * and programs a valid address; @ops see offsets from the BAR start. Returns 0 or
 * -EINVAL (bad index, size or overlap with another BAR slot).
 */
int vmm_pci_register_bar(VmmPciDevice *d, unsigned bar, VmmPciBarType type, bool prefetch,
                         uint64_t size, const char *name, const VmmIoOps *ops, void *opaque);
/* Guest-programmed address of @bar, or 0 while it is not mapped. */
uint64_t vmm_pci_bar_address(VmmPciDevice *d, unsigned bar);

/*
 * Capabilities. Adds a capability of @size bytes (>= 2) with id @id to the list,
 * read-only by default. Returns its config offset or -ENOSPC.
 */
int vmm_pci_add_capability(VmmPciDevice *d, uint8_t id, unsigned size);

/* MSI with @vectors (1, 2, 4, 8, 16 or 32) messages. Returns the cap offset or -errno. */
int vmm_pci_msi_init(VmmPciDevice *d, unsigned vectors, bool is64bit);
bool vmm_pci_msi_enabled(VmmPciDevice *d);
/* Sends message @vector when MSI and bus mastering are enabled. */
void vmm_pci_msi_notify(VmmPciDevice *d, unsigned vector);

/*
 * MSI-X with @vectors (1..2048) entries; the table (offset 0) and the PBA live in
 * memory BAR @bar, which this registers. Returns the cap offset or -errno.
 */
int vmm_pci_msix_init(VmmPciDevice *d, unsigned vectors, unsigned bar);
bool vmm_pci_msix_enabled(VmmPciDevice *d);
/* Sends @vector, or sets its pending bit while it (or the function) is masked. */
void vmm_pci_msix_notify(VmmPciDevice *d, unsigned vector);

/*
 * INTx: drive the device's interrupt pin (the one in the header) to @level. The bus
 * ORs the levels of every device on the same link. Caller holds the device lock.
 */
void vmm_pci_set_irq(VmmPciDevice *d, bool level);
