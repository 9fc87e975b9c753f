/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vCPUs (EM's role): one thread per vCPU running the KVM_RUN loop and dispatching
 * exits to the PIO and MMIO buses. The machine pauses them with a flag, a no-op
 * signal and immediate_exit (so a pending I/O completes first), never by doing
 * work in a signal handler.
 */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct VmmMachine VmmMachine;
typedef struct VmmPvmSyscall VmmPvmSyscall;

typedef struct {
    uint64_t io;
    uint64_t mmio;
    uint64_t emulation_failures;
    uint64_t other;
} VmmVcpuStats;

struct VmmVcpu {
    VmmMachine *m;          /* Borrowed */
    unsigned index;
    int fd;
    struct kvm_run *run;    /* mmap of the vCPU fd */
    pthread_t thread;
    bool thread_started;
    bool halted_on_error;   /* guarded by m->lock: parked until the next reset */
    VmmVcpuStats stats;
    VmmPvmSyscall *pvm_syscall; /* Owned; kvm_pvm only (vmm/x86/pvm-syscall.h) */

    /* Power-on state restored on reset. */
    struct kvm_regs reset_regs;
    struct kvm_sregs reset_sregs;
    struct kvm_fpu reset_fpu;
    struct kvm_lapic_state reset_lapic;
    struct kvm_mp_state reset_mp;
    bool reset_lapic_ok;
};

typedef struct VmmVcpu VmmVcpu;

VmmVcpu *vmm_vcpu_new(VmmMachine *m, unsigned index, GError **error);
void vmm_vcpu_free(VmmVcpu *vcpu);
bool vmm_vcpu_start(VmmVcpu *vcpu, GError **error);
/* Forces the vCPU out of KVM_RUN soon (used with the machine's pause flag). */
void vmm_vcpu_kick(VmmVcpu *vcpu);
/* Restores the power-on register state. The vCPU must be parked. */
void vmm_vcpu_reset(VmmVcpu *vcpu);
void vmm_vcpu_join(VmmVcpu *vcpu);
