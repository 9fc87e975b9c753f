/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Virtio over PCI, modern (virtio 1.x) transport only: vendor 1af4, device
 * 0x1040 + virtio id, revision 1. One 16 KiB 64-bit prefetchable memory BAR (BAR 4)
 * holds the common configuration (0x0000), the ISR byte (0x1000), the device-specific
 * configuration (0x2000) and the notification area (0x3000, 4 bytes per queue); the
 * vendor capabilities point there, plus a VIRTIO_PCI_CAP_PCI_CFG window that lets
 * firmware reach the BAR through configuration space (SeaBIOS uses it when the BAR
 * sits above 4 GiB). MSI-X lives in BAR 1 with one vector for configuration changes
 * and one per queue; without MSI-X, interrupts go through the ISR byte and INTA.
 *
 * A device model (virtio-blk, later net/console...) embeds VirtioPciDevice as the
 * first member of its instance struct and supplies a VirtioDeviceOps table. Every
 * ops callback runs with the device lock held.
 *
 * Queue notifications: on a KVM machine each queue's notify address is an ioeventfd
 * whose handler runs on the I/O thread; on a fake machine the MMIO write calls the
 * handler directly. Either way the handler runs under the device lock.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtqueue.h"
#include "vmm/pci.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_MAX_QUEUES 16
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Device status bits (virtio 1.1 §2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

#define VIRTIO_F_VERSION_1 32

/* BAR 4 layout. */
#define VIRTIO_PCI_BAR 4
#define VIRTIO_PCI_BAR_SIZE 0x4000u
#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_COMMON_LEN 0x38u
#define VIRTIO_PCI_ISR_OFF 0x1000u
#define VIRTIO_PCI_DEVICE_OFF 0x2000u
#define VIRTIO_PCI_NOTIFY_OFF 0x3000u
#define VIRTIO_PCI_NOTIFY_MULT 4u
#define VIRTIO_PCI_MSIX_BAR 1

/* Common configuration registers. */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00
#define VIRTIO_PCI_COMMON_DF 0x04
#define VIRTIO_PCI_COMMON_GFSELECT 0x08
#define VIRTIO_PCI_COMMON_GF 0x0c
#define VIRTIO_PCI_COMMON_MSIX 0x10
#define VIRTIO_PCI_COMMON_NUMQ 0x12
#define VIRTIO_PCI_COMMON_STATUS 0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16
#define VIRTIO_PCI_COMMON_Q_SIZE 0x18
#define VIRTIO_PCI_COMMON_Q_MSIX 0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF 0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO 0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI 0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO 0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI 0x34

/* Vendor capability types. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

typedef struct VirtioPciDevice VirtioPciDevice;

typedef struct {
    uint16_t device_id; /* virtio device id (2 = block) */
    uint32_t pci_class; /* 24-bit class code */
    /* Required: feature bits the device offers (transport bits are added). */
    uint64_t (*get_features)(VirtioPciDevice *vp);
    /* Optional: device config space read/write; @offset + @size <= config_len. */
    uint32_t (*config_read)(VirtioPciDevice *vp, unsigned offset, unsigned size);
    void (*config_write)(VirtioPciDevice *vp, unsigned offset, uint32_t value, unsigned size);
    /* Required: the driver kicked queue @q (enabled and not broken). */
    void (*queue_notify)(VirtioPciDevice *vp, unsigned q);
    /* Optional: device-specific reset (the driver wrote status 0, or machine reset). */
    void (*reset)(VirtioPciDevice *vp);
    /*
     * Optional: requests still in flight. After the driver writes status 0, the status
     * reads back non-zero until this turns false, so the driver does not reuse buffers
     * the device may still write (§2.1.2: it waits for status to read 0).
     */
    bool (*busy)(VirtioPciDevice *vp);
} VirtioDeviceOps;

typedef struct {
    int fd; /* eventfd, -1 without KVM */
    VirtioPciDevice *vp;
    unsigned q;
} VirtioNotifier;

struct VirtioPciDevice {
    VmmPciDevice pci;
    const VirtioDeviceOps *ops; /* Borrowed, static */
    unsigned config_len;
    unsigned num_queues;
    uint16_t queue_max;

    uint64_t host_features;
    uint64_t guest_features;
    uint32_t dfselect;
    uint32_t gfselect;
    uint8_t status;
    bool reset_pending;      /* reset requested while the device was busy */
    uint8_t status_in_reset; /* what status reads while reset_pending */
    uint8_t config_generation;
    uint8_t isr;
    uint16_t queue_sel;
    uint16_t config_vector;
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
    VirtQueue vq[VIRTIO_MAX_QUEUES];

    uint8_t pcicfg_cap; /* offset of the PCI_CFG capability */
    VirtioNotifier notifier[VIRTIO_MAX_QUEUES];
    uint64_t ioeventfd_base; /* BAR address the ioeventfds are bound to, 0 = none */
};

/*
 * Realize: PCI function at @devfn, ids, capabilities, BARs, MSI-X, queues (@num_queues
 * <= VIRTIO_MAX_QUEUES, each at most @queue_max entries), notifiers.
 */
bool virtio_pci_realize(VirtioPciDevice *vp, uint8_t devfn, const VirtioDeviceOps *ops,
                        unsigned num_queues, uint16_t queue_max, unsigned config_len,
                        GError **error);
void virtio_pci_unrealize(VirtioPciDevice *vp);
/* Full power-on reset (transport, queues, PCI state, device ops->reset). Lock held. */
void virtio_pci_reset(VirtioPciDevice *vp);

bool virtio_pci_has_feature(VirtioPciDevice *vp, unsigned bit);
/* Signals queue @q's interrupt (MSI-X vector or ISR bit 0 + INTA). Lock held. */
void virtio_pci_notify_queue(VirtioPciDevice *vp, unsigned q);
/* Push-side helper: notify when the ring's suppression state asks for it. */
void virtio_pci_queue_maybe_notify(VirtioPciDevice *vp, unsigned q);
/* The device config changed (ISR bit 1 or config vector). Lock held. */
void virtio_pci_notify_config(VirtioPciDevice *vp);
/* Device-detected error: sets NEEDS_RESET and signals a config change. Lock held. */
void virtio_pci_set_needs_reset(VirtioPciDevice *vp);
