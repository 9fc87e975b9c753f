/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-irq"
#include "kvm.h"
#include "log.h"
#include "machine.h"

void vmm_irq_set_level(VmmMachine *m, unsigned gsi, bool level)
{
    if (gsi >= VMM_MAX_GSI) {
        vmm_guest_error("interrupt line %u does not exist", gsi);
        return;
    }
    if (m->kvm == NULL) {
        /* Fake machine: record for the device tests. */
        bool was = __atomic_exchange_n(&m->irq_level[gsi], level, __ATOMIC_SEQ_CST);
        if (level && !was) {
            __atomic_add_fetch(&m->irq_raise_count[gsi], 1, __ATOMIC_SEQ_CST);
        }
        return;
    }
    m->irq_level[gsi] = level;
    int ret = vmm_kvm_irq_line(m->kvm, gsi, level);
    if (ret < 0) {
        vmm_guest_error("KVM_IRQ_LINE gsi %u: %s", gsi, g_strerror(-ret));
    }
}

void vmm_irq_pulse(VmmMachine *m, unsigned gsi)
{
    vmm_irq_set_level(m, gsi, true);
    vmm_irq_set_level(m, gsi, false);
}

void vmm_msi_send(VmmMachine *m, uint64_t addr, uint32_t data)
{
    if (m->kvm == NULL) {
        __atomic_add_fetch(&m->msi_count, 1, __ATOMIC_SEQ_CST);
        m->last_msi_addr = addr;
        m->last_msi_data = data;
        return;
    }
    int ret = vmm_kvm_signal_msi(m->kvm, addr, data);
    if (ret < 0) {
        vmm_guest_error("MSI to 0x%" G_GINT64_MODIFIER "x data 0x%x: %s", addr, data,
                        g_strerror(-ret));
    }
}
