/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Virtio PCI modern transport (virtio 1.1 §4.1): common configuration, ISR,
 * device configuration and notification areas in BAR 4, MSI-X in BAR 1, the
 * configuration-space access window, feature negotiation and the device status
 * state machine. See virtio-pci.h for the layout.
 */
#define G_LOG_DOMAIN "virtio-pci"
#include "devices/virtio/virtio-pci.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/iothread.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/machine.h"

#define PCI_SUBSYS_ID 0x1100 /* "emulated device", as virtual platforms usually report */

/* Offsets inside a vendor capability (struct virtio_pci_cap). */
#define CAP_LEN 2
#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_ID 5
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_NOTIFY_MULT 16
#define CAP_PCI_CFG_DATA 16

static VmmMachine *vp_machine(VirtioPciDevice *vp)
{
    return vp->pci.parent.machine;
}

bool virtio_pci_has_feature(VirtioPciDevice *vp, unsigned bit)
{
    return (vp->guest_features >> bit) & 1;
}

/* ---- interrupts ---- */

static void update_intx(VirtioPciDevice *vp)
{
    vmm_pci_set_irq(&vp->pci, (vp->isr & 3) != 0 && !vmm_pci_msix_enabled(&vp->pci));
}

void virtio_pci_notify_queue(VirtioPciDevice *vp, unsigned q)
{
    if (q >= vp->num_queues) {
        return;
    }
    if (vmm_pci_msix_enabled(&vp->pci)) {
        if (vp->queue_vector[q] != VIRTIO_MSI_NO_VECTOR) {
            vmm_pci_msix_notify(&vp->pci, vp->queue_vector[q]);
        }
        return;
    }
    vp->isr |= 1;
    update_intx(vp);
}

void virtio_pci_queue_maybe_notify(VirtioPciDevice *vp, unsigned q)
{
    if (q < vp->num_queues && virtqueue_should_notify(&vp->vq[q])) {
        virtio_pci_notify_queue(vp, q);
    }
}

void virtio_pci_notify_config(VirtioPciDevice *vp)
{
    if (vmm_pci_msix_enabled(&vp->pci)) {
        if (vp->config_vector != VIRTIO_MSI_NO_VECTOR) {
            vmm_pci_msix_notify(&vp->pci, vp->config_vector);
        }
        return;
    }
    vp->isr |= 2;
    update_intx(vp);
}

void virtio_pci_set_needs_reset(VirtioPciDevice *vp)
{
    if (vp->status & VIRTIO_STATUS_NEEDS_RESET) {
        return;
    }
    vp->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (vp->status & VIRTIO_STATUS_DRIVER_OK) {
        vp->config_generation++;
        virtio_pci_notify_config(vp);
    }
}

static void vq_error(void *opaque, VirtQueue *vq)
{
    virtio_pci_set_needs_reset(opaque);
}

/* ---- reset ---- */

/* Virtio device reset (status 0): transport state and queues; PCI state stays. */
static void virtio_device_reset(VirtioPciDevice *vp)
{
    vp->guest_features = 0;
    vp->dfselect = 0;
    vp->gfselect = 0;
    vp->status = 0;
    vp->reset_pending = false;
    vp->isr = 0;
    vp->queue_sel = 0;
    vp->config_vector = VIRTIO_MSI_NO_VECTOR;
    for (unsigned q = 0; q < vp->num_queues; q++) {
        virtqueue_reset(&vp->vq[q]);
        vp->vq[q].size = vp->queue_max;
        vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
    }
    update_intx(vp);
    if (vp->ops->reset) {
        vp->ops->reset(vp);
    }
}

/* ---- notifications ---- */

static void handle_notify(VirtioPciDevice *vp, unsigned q)
{
    if (q >= vp->num_queues) {
        vmm_guest_error("%s: notify for queue %u of %u", vp->pci.parent.id, q, vp->num_queues);
        return;
    }
    VirtQueue *vq = &vp->vq[q];
    if (!vq->enabled || vq->broken) {
        return;
    }
    vp->ops->queue_notify(vp, q);
}

static void notifier_ready(void *opaque, uint32_t events)
{
    VirtioNotifier *n = opaque;
    uint64_t count;

    if (read(n->fd, &count, sizeof(count)) < 0) {
        return;
    }
    g_mutex_lock(&n->vp->pci.parent.lock);
    handle_notify(n->vp, n->q);
    g_mutex_unlock(&n->vp->pci.parent.lock);
}

/* Binds the KVM ioeventfds to wherever the guest mapped BAR 4 now. Lock held. */
static void update_ioeventfds(VirtioPciDevice *vp)
{
    VmmMachine *m = vp_machine(vp);
    uint64_t base = vmm_pci_bar_address(&vp->pci, VIRTIO_PCI_BAR);

    if (!m->kvm || base == vp->ioeventfd_base) {
        return;
    }
    for (unsigned q = 0; q < vp->num_queues; q++) {
        int fd = vp->notifier[q].fd;
        uint64_t off = VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT;

        if (fd < 0) {
            continue;
        }
        if (vp->ioeventfd_base) {
            vmm_kvm_ioeventfd(m->kvm, fd, vp->ioeventfd_base + off, 2, false, false, 0, false);
        }
        if (base && vmm_kvm_ioeventfd(m->kvm, fd, base + off, 2, false, false, 0, true) < 0) {
            g_warning("%s: no ioeventfd for queue %u; notifications go through MMIO exits",
                      vp->pci.parent.id, q);
        }
    }
    vp->ioeventfd_base = base;
}

/* ---- common configuration ---- */

typedef struct {
    unsigned off;
    unsigned len;
} Field;

static const Field common_fields[] = {
    {VIRTIO_PCI_COMMON_DFSELECT, 4},  {VIRTIO_PCI_COMMON_DF, 4},
    {VIRTIO_PCI_COMMON_GFSELECT, 4},  {VIRTIO_PCI_COMMON_GF, 4},
    {VIRTIO_PCI_COMMON_MSIX, 2},      {VIRTIO_PCI_COMMON_NUMQ, 2},
    {VIRTIO_PCI_COMMON_STATUS, 1},    {VIRTIO_PCI_COMMON_CFGGENERATION, 1},
    {VIRTIO_PCI_COMMON_Q_SELECT, 2},  {VIRTIO_PCI_COMMON_Q_SIZE, 2},
    {VIRTIO_PCI_COMMON_Q_MSIX, 2},    {VIRTIO_PCI_COMMON_Q_ENABLE, 2},
    {VIRTIO_PCI_COMMON_Q_NOFF, 2},    {VIRTIO_PCI_COMMON_Q_DESCLO, 4},
    {VIRTIO_PCI_COMMON_Q_DESCHI, 4},  {VIRTIO_PCI_COMMON_Q_AVAILLO, 4},
    {VIRTIO_PCI_COMMON_Q_AVAILHI, 4}, {VIRTIO_PCI_COMMON_Q_USEDLO, 4},
    {VIRTIO_PCI_COMMON_Q_USEDHI, 4},
};

static VirtQueue *selected_vq(VirtioPciDevice *vp)
{
    return vp->queue_sel < vp->num_queues ? &vp->vq[vp->queue_sel] : NULL;
}

static uint32_t common_get(VirtioPciDevice *vp, unsigned off)
{
    VirtQueue *vq = selected_vq(vp);

    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return vp->dfselect;
    case VIRTIO_PCI_COMMON_DF:
        return vp->dfselect < 2 ? (uint32_t)(vp->host_features >> (32 * vp->dfselect)) : 0;
    case VIRTIO_PCI_COMMON_GFSELECT:
        return vp->gfselect;
    case VIRTIO_PCI_COMMON_GF:
        return vp->gfselect < 2 ? (uint32_t)(vp->guest_features >> (32 * vp->gfselect)) : 0;
    case VIRTIO_PCI_COMMON_MSIX:
        return vp->config_vector;
    case VIRTIO_PCI_COMMON_NUMQ:
        return vp->num_queues;
    case VIRTIO_PCI_COMMON_STATUS:
        if (vp->reset_pending) {
            if (vp->ops->busy && vp->ops->busy(vp)) {
                return vp->status_in_reset;
            }
            vp->reset_pending = false;
        }
        return vp->status;
    case VIRTIO_PCI_COMMON_CFGGENERATION:
        return vp->config_generation;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        return vp->queue_sel;
    default:
        break;
    }
    if (!vq) {
        return 0; /* queue size 0: no such queue */
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return vq->size;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return vp->queue_vector[vp->queue_sel];
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return vq->enabled;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return vp->queue_sel;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
        return (uint32_t)vq->desc_gpa;
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        return (uint32_t)(vq->desc_gpa >> 32);
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
        return (uint32_t)vq->avail_gpa;
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        return (uint32_t)(vq->avail_gpa >> 32);
    case VIRTIO_PCI_COMMON_Q_USEDLO:
        return (uint32_t)vq->used_gpa;
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        return (uint32_t)(vq->used_gpa >> 32);
    default:
        return 0;
    }
}

static uint16_t checked_vector(VirtioPciDevice *vp, uint32_t v)
{
    /* A vector the function does not have reads back as NO_VECTOR (§4.1.5.1.2). */
    return v < vp->pci.msix_vectors ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void set_addr_half(uint64_t *addr, bool high, uint32_t v)
{
    if (high) {
        *addr = (*addr & 0xffffffffull) | ((uint64_t)v << 32);
    } else {
        *addr = (*addr & ~0xffffffffull) | v;
    }
}

static void set_status(VirtioPciDevice *vp, uint8_t v)
{
    if (v == 0) {
        uint8_t before = vp->status;

        virtio_device_reset(vp);
        if (vp->ops->busy && vp->ops->busy(vp)) {
            vp->reset_pending = true;
            vp->status_in_reset = before ? before : VIRTIO_STATUS_ACKNOWLEDGE;
        }
        return;
    }
    uint8_t old = vp->status;

    vp->reset_pending = false;

    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* Accept only features we offered, and only modern (VERSION_1) drivers. */
        if ((vp->guest_features & ~vp->host_features) != 0 ||
            !virtio_pci_has_feature(vp, VIRTIO_F_VERSION_1)) {
            vmm_guest_error("%s: features 0x%" G_GINT64_MODIFIER "x not accepted",
                            vp->pci.parent.id, vp->guest_features);
            v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
        }
    }
    vp->status = v | (old & VIRTIO_STATUS_NEEDS_RESET);
}

static void enable_queue(VirtioPciDevice *vp, VirtQueue *vq)
{
    if (vq->enabled) {
        return;
    }
    if (vq->size > vp->queue_max) {
        vmm_guest_error("%s: queue %u size %u above %u", vp->pci.parent.id, vq->index, vq->size,
                        vp->queue_max);
        return;
    }
    vq->indirect = virtio_pci_has_feature(vp, VIRTIO_F_INDIRECT_DESC);
    vq->event_idx = virtio_pci_has_feature(vp, VIRTIO_F_EVENT_IDX);
    if (virtqueue_enable(vq) < 0) {
        vmm_guest_error("%s: queue %u layout invalid (size %u, desc 0x%" G_GINT64_MODIFIER
                        "x, avail 0x%" G_GINT64_MODIFIER "x, used 0x%" G_GINT64_MODIFIER "x)",
                        vp->pci.parent.id, vq->index, vq->size, vq->desc_gpa, vq->avail_gpa,
                        vq->used_gpa);
    }
}

static void common_set(VirtioPciDevice *vp, unsigned off, uint32_t v)
{
    VirtQueue *vq = selected_vq(vp);

    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        vp->dfselect = v;
        return;
    case VIRTIO_PCI_COMMON_GFSELECT:
        vp->gfselect = v;
        return;
    case VIRTIO_PCI_COMMON_GF:
        if (vp->status & VIRTIO_STATUS_FEATURES_OK) {
            vmm_guest_error("%s: feature write after FEATURES_OK", vp->pci.parent.id);
        } else if (vp->gfselect < 2) {
            unsigned shift = 32 * vp->gfselect;
            vp->guest_features =
                (vp->guest_features & ~(0xffffffffull << shift)) | ((uint64_t)v << shift);
        }
        return;
    case VIRTIO_PCI_COMMON_MSIX:
        vp->config_vector = checked_vector(vp, v);
        return;
    case VIRTIO_PCI_COMMON_STATUS:
        set_status(vp, (uint8_t)v);
        return;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        vp->queue_sel = (uint16_t)v;
        return;
    default:
        break;
    }
    if (!vq) {
        return;
    }
    if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
        vp->queue_vector[vp->queue_sel] = checked_vector(vp, v);
        return;
    }
    if (off == VIRTIO_PCI_COMMON_Q_ENABLE) {
        if (v == 1) {
            enable_queue(vp, vq);
        }
        return;
    }
    if (vq->enabled) {
        /* Layout is fixed while the queue is live (§4.1.4.3.2). */
        vmm_guest_error("%s: queue %u layout write while enabled", vp->pci.parent.id, vq->index);
        return;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        vq->size = (uint16_t)v;
        break;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        set_addr_half(&vq->desc_gpa, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        set_addr_half(&vq->avail_gpa, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
        break;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        set_addr_half(&vq->used_gpa, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
        break;
    default:
        break; /* read-only fields */
    }
}

static const Field *find_field(unsigned off)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(common_fields); i++) {
        if (off >= common_fields[i].off && off < common_fields[i].off + common_fields[i].len) {
            return &common_fields[i];
        }
    }
    return NULL;
}

static uint64_t common_read(VirtioPciDevice *vp, unsigned off, unsigned size)
{
    uint64_t result = 0;

    /* Byte by byte through the fields, so any access width reads consistently. */
    for (unsigned i = 0; i < size; i++) {
        const Field *f = find_field(off + i);
        if (f) {
            uint32_t v = common_get(vp, f->off);
            result |= (uint64_t)((v >> (8 * (off + i - f->off))) & 0xff) << (8 * i);
        }
    }
    return result;
}

static void common_write(VirtioPciDevice *vp, unsigned off, uint64_t value, unsigned size)
{
    const Field *f = find_field(off);

    if (!f || off + size > f->off + f->len) {
        vmm_guest_error("%s: common cfg write of %u bytes at 0x%x", vp->pci.parent.id, size, off);
        return;
    }
    /* Narrower writes merge into the field's current value. */
    uint32_t v = common_get(vp, f->off);
    unsigned shift = 8 * (off - f->off);
    uint32_t mask = size >= 4 ? 0xffffffffu : ((1u << (8 * size)) - 1);
    v = (v & ~(mask << shift)) | (((uint32_t)value & mask) << shift);
    common_set(vp, f->off, v);
}

/* ---- BAR 4 ---- */

static uint64_t bar_read(void *opaque, uint64_t offset, unsigned size)
{
    VirtioPciDevice *vp = opaque;

    if (offset < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
        return common_read(vp, (unsigned)offset, size);
    }
    if (offset == VIRTIO_PCI_ISR_OFF) {
        /* Reading the ISR acknowledges it and lowers INTx (§4.1.4.5). */
        uint8_t v = vp->isr;
        vp->isr = 0;
        update_intx(vp);
        return v;
    }
    if (offset >= VIRTIO_PCI_DEVICE_OFF && offset < VIRTIO_PCI_NOTIFY_OFF) {
        uint64_t off = offset - VIRTIO_PCI_DEVICE_OFF;
        if (off + size <= vp->config_len && vp->ops->config_read) {
            return vp->ops->config_read(vp, (unsigned)off, size);
        }
    }
    return 0;
}

static void bar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    VirtioPciDevice *vp = opaque;

    if (offset < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
        common_write(vp, (unsigned)offset, value, size);
    } else if (offset >= VIRTIO_PCI_DEVICE_OFF && offset < VIRTIO_PCI_NOTIFY_OFF) {
        uint64_t off = offset - VIRTIO_PCI_DEVICE_OFF;
        if (off + size <= vp->config_len && vp->ops->config_write) {
            vp->ops->config_write(vp, (unsigned)off, (uint32_t)value, size);
        }
    } else if (offset >= VIRTIO_PCI_NOTIFY_OFF) {
        handle_notify(vp, (unsigned)((offset - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT));
    }
}

static const VmmIoOps bar_ops = {
    .read = bar_read,
    .write = bar_write,
    .min_access = 1,
    .max_access = 4,
};

/* ---- configuration space: the VIRTIO_PCI_CAP_PCI_CFG window ---- */

/* The window's BAR access, when bar/offset/length describe a valid one. */
static bool pcicfg_target(VirtioPciDevice *vp, uint32_t *off, unsigned *len)
{
    unsigned cap = vp->pcicfg_cap;
    uint8_t bar = vmm_pci_get_byte(&vp->pci, cap + CAP_BAR);

    *off = vmm_pci_get_long(&vp->pci, cap + CAP_OFFSET);
    *len = vmm_pci_get_long(&vp->pci, cap + CAP_LENGTH);
    if (bar != VIRTIO_PCI_BAR || (*len != 1 && *len != 2 && *len != 4) || (*off % *len) != 0 ||
        *off >= VIRTIO_PCI_BAR_SIZE) {
        return false;
    }
    return true;
}

static bool in_pcicfg_data(VirtioPciDevice *vp, unsigned offset, unsigned size)
{
    unsigned data = vp->pcicfg_cap + CAP_PCI_CFG_DATA;
    return vp->pcicfg_cap && offset < data + 4 && offset + size > data;
}

static uint32_t vp_config_read(VmmPciDevice *d, unsigned offset, unsigned size)
{
    VirtioPciDevice *vp = (VirtioPciDevice *)d;

    if (in_pcicfg_data(vp, offset, size)) {
        uint32_t off;
        unsigned len;
        uint32_t v = 0;

        if (pcicfg_target(vp, &off, &len)) {
            v = (uint32_t)bar_read(vp, off, len);
        }
        vmm_pci_set_long(d, vp->pcicfg_cap + CAP_PCI_CFG_DATA, v);
    }
    return vmm_pci_default_config_read(d, offset, size);
}

static void vp_config_write(VmmPciDevice *d, unsigned offset, uint32_t value, unsigned size)
{
    VirtioPciDevice *vp = (VirtioPciDevice *)d;

    vmm_pci_default_config_write(d, offset, value, size);
    if (in_pcicfg_data(vp, offset, size)) {
        uint32_t off;
        unsigned len;

        if (pcicfg_target(vp, &off, &len)) {
            uint32_t v = vmm_pci_get_long(d, vp->pcicfg_cap + CAP_PCI_CFG_DATA);
            bar_write(vp, off, len == 4 ? v : v & ((1u << (8 * len)) - 1), len);
        }
    }
    /* BAR 4 may have moved, or MSI-X been switched: rebind notifications and INTx. */
    update_ioeventfds(vp);
    update_intx(vp);
}

static const VmmPciDeviceOps vp_pci_ops = {
    .config_read = vp_config_read,
    .config_write = vp_config_write,
};

static int add_vendor_cap(VirtioPciDevice *vp, uint8_t type, unsigned len, uint32_t offset,
                          uint32_t length)
{
    int cap = vmm_pci_add_capability(&vp->pci, VMM_PCI_CAP_ID_VNDR, len);

    if (cap < 0) {
        return cap;
    }
    vmm_pci_set_byte(&vp->pci, cap + CAP_LEN, (uint8_t)len);
    vmm_pci_set_byte(&vp->pci, cap + CAP_CFG_TYPE, type);
    vmm_pci_set_byte(&vp->pci, cap + CAP_BAR, type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_BAR);
    vmm_pci_set_long(&vp->pci, cap + CAP_OFFSET, offset);
    vmm_pci_set_long(&vp->pci, cap + CAP_LENGTH, length);
    return cap;
}

bool virtio_pci_realize(VirtioPciDevice *vp, uint8_t devfn, const VirtioDeviceOps *ops,
                        unsigned num_queues, uint16_t queue_max, unsigned config_len,
                        GError **error)
{
    VmmMachine *m = vp_machine(vp);

    g_return_val_if_fail(num_queues > 0 && num_queues <= VIRTIO_MAX_QUEUES, false);
    g_return_val_if_fail(config_len <= VIRTIO_PCI_NOTIFY_OFF - VIRTIO_PCI_DEVICE_OFF, false);

    vp->ops = ops;
    vp->num_queues = num_queues;
    vp->queue_max = queue_max;
    vp->config_len = config_len;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        vp->notifier[q].fd = -1;
    }
    if (!vmm_pci_device_realize(&vp->pci, devfn, &vp_pci_ops, error)) {
        return false;
    }
    vmm_pci_set_ids(&vp->pci, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + ops->device_id,
                    ops->pci_class, 1);
    vmm_pci_set_subsystem(&vp->pci, VIRTIO_PCI_VENDOR, PCI_SUBSYS_ID);
    vmm_pci_set_interrupt_pin(&vp->pci, 1);

    int ret = vmm_pci_register_bar(&vp->pci, VIRTIO_PCI_BAR, VMM_PCI_BAR_MEM64, true,
                                   VIRTIO_PCI_BAR_SIZE, "virtio-pci", &bar_ops, vp);
    if (ret >= 0) {
        ret = vmm_pci_msix_init(&vp->pci, num_queues + 1, VIRTIO_PCI_MSIX_BAR);
    }
    if (ret >= 0) {
        ret = add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, 16, VIRTIO_PCI_COMMON_OFF,
                             VIRTIO_PCI_COMMON_LEN);
    }
    if (ret >= 0) {
        ret = add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, 16, VIRTIO_PCI_ISR_OFF, 1);
    }
    if (ret >= 0 && config_len > 0) {
        ret = add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, 16, VIRTIO_PCI_DEVICE_OFF, config_len);
    }
    if (ret >= 0) {
        ret = add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, 20, VIRTIO_PCI_NOTIFY_OFF,
                             num_queues * VIRTIO_PCI_NOTIFY_MULT);
        if (ret >= 0) {
            vmm_pci_set_long(&vp->pci, ret + CAP_NOTIFY_MULT, VIRTIO_PCI_NOTIFY_MULT);
        }
    }
    if (ret >= 0) {
        ret = add_vendor_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 20, 0, 0);
        if (ret >= 0) {
            vp->pcicfg_cap = (uint8_t)ret;
            /* The driver programs bar, offset, length and the data window. */
            vmm_pci_set_wmask(&vp->pci, ret + CAP_BAR, 1, 0xff);
            vmm_pci_set_wmask(&vp->pci, ret + CAP_OFFSET, 4, 0xffffffffu);
            vmm_pci_set_wmask(&vp->pci, ret + CAP_LENGTH, 4, 0xffffffffu);
            vmm_pci_set_wmask(&vp->pci, ret + CAP_PCI_CFG_DATA, 4, 0xffffffffu);
        }
    }
    if (ret < 0) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: cannot set up the virtio PCI function: %s",
                    vp->pci.parent.id, g_strerror(-ret));
        vmm_pci_device_unrealize(&vp->pci);
        return false;
    }

    for (unsigned q = 0; q < num_queues; q++) {
        virtqueue_init(&vp->vq[q], m->mem, q, vq_error, vp);
        vp->notifier[q].vp = vp;
        vp->notifier[q].q = q;
        if (m->kvm && m->io) {
            int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (fd >= 0 &&
                vmm_iothread_add_fd(m->io, fd, EPOLLIN, notifier_ready, &vp->notifier[q]) < 0) {
                close(fd);
                fd = -1;
            }
            vp->notifier[q].fd = fd;
        }
    }
    vp->host_features |= 1ull << VIRTIO_F_VERSION_1;
    vp->host_features |= 1ull << VIRTIO_F_INDIRECT_DESC;
    vp->host_features |= 1ull << VIRTIO_F_EVENT_IDX;
    vp->host_features |= ops->get_features(vp);
    virtio_device_reset(vp);
    return true;
}

void virtio_pci_reset(VirtioPciDevice *vp)
{
    vmm_pci_device_reset(&vp->pci);
    virtio_device_reset(vp);
    update_ioeventfds(vp);
}

void virtio_pci_unrealize(VirtioPciDevice *vp)
{
    VmmMachine *m = vp_machine(vp);

    g_mutex_lock(&vp->pci.parent.lock);
    for (unsigned q = 0; q < vp->num_queues; q++) {
        int fd = vp->notifier[q].fd;
        if (fd >= 0 && vp->ioeventfd_base) {
            vmm_kvm_ioeventfd(
                m->kvm, fd, vp->ioeventfd_base + VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT,
                2, false, false, 0, false);
        }
    }
    vp->ioeventfd_base = 0;
    g_mutex_unlock(&vp->pci.parent.lock);
    /*
     * Without the lock: removal waits for a running handler, which takes it. When the
     * machine is torn down its I/O thread is already gone (m->io NULL).
     */
    for (unsigned q = 0; q < vp->num_queues; q++) {
        if (vp->notifier[q].fd >= 0) {
            if (m->io) {
                vmm_iothread_remove_fd(m->io, vp->notifier[q].fd);
            }
            close(vp->notifier[q].fd);
            vp->notifier[q].fd = -1;
        }
    }
    vmm_pci_device_unrealize(&vp->pci);
}
