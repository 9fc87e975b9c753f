/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The KVM backend (HM's role): /dev/kvm and VM file descriptors, capability
 * checks, the platform pieces KVM provides in-kernel (PIC, IOAPIC, LAPIC, PIT),
 * GSI routing, memslots, irqfd/ioeventfd and MSI injection.
 */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest-mem.h"

typedef struct VmmKvm VmmKvm;

GQuark vmm_kvm_error_quark(void);

/* Where KVM keeps its TSS and identity map: QEMU's addresses, clear of a 4 MiB flash image. */
#define VMM_KVM_IDENTITY_MAP_ADDR 0xfeffc000ull
#define VMM_KVM_TSS_ADDR 0xfeffd000ull
#define VMM_KVM_RESERVED_SIZE 0x4000ull

/*
 * Opens /dev/kvm (or $BOXWOOD_KVM_DEVICE), checks the API version and every capability
 * Boxwood needs, and creates a VM. Errors say what the user can do about them.
 */
VmmKvm *vmm_kvm_open(GError **error);
void vmm_kvm_free(VmmKvm *kvm);

int vmm_kvm_vm_fd(VmmKvm *kvm);
int vmm_kvm_sys_fd(VmmKvm *kvm);
/* Hard limit on vCPUs for one VM, and KVM's recommended count (usually the host's CPUs). */
unsigned vmm_kvm_max_vcpus(VmmKvm *kvm);
unsigned vmm_kvm_recommended_vcpus(VmmKvm *kvm);
/* True on kvm_pvm (software nested virtualization: see PLATFORM.md §0). */
bool vmm_kvm_is_pvm(VmmKvm *kvm);

/* TSS/identity map, in-kernel irqchip, PIT2, QEMU-style GSI routing (GSI 0 → IOAPIC pin 2). */
bool vmm_kvm_setup_platform(VmmKvm *kvm, GError **error);
/* Saves/restores in-kernel PIC, IOAPIC and PIT state (power-on state for resets). */
void vmm_kvm_save_platform_state(VmmKvm *kvm);
void vmm_kvm_restore_platform_state(VmmKvm *kvm);

/* Turns guest-mem regions into memslots. opaque = VmmKvm *. */
extern const VmmMemListener vmm_kvm_mem_listener;

int vmm_kvm_irq_line(VmmKvm *kvm, unsigned gsi, bool level);
int vmm_kvm_signal_msi(VmmKvm *kvm, uint64_t addr, uint32_t data);
int vmm_kvm_irqfd(VmmKvm *kvm, int fd, unsigned gsi, int resample_fd, bool assign);
int vmm_kvm_ioeventfd(VmmKvm *kvm, int fd, uint64_t addr, unsigned len, bool pio,
                      bool datamatch, uint64_t data, bool assign);

/* KVM_GET_SUPPORTED_CPUID, cached. Borrowed. */
const struct kvm_cpuid2 *vmm_kvm_supported_cpuid(VmmKvm *kvm);
int vmm_kvm_vcpu_mmap_size(VmmKvm *kvm);
