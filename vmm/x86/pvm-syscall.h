/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SYSCALL fix-up for kvm_pvm hosts (research/pvm-guests.md, "Blockers" #3).
 *
 * There, SYSCALL from guest user mode loads RIP = LSTAR (and RCX/R11) but leaves the vCPU
 * at CPL 3, so the first fetch of the kernel's entry code page-faults from user mode. We
 * put a hardware execute breakpoint (KVM_SET_GUEST_DEBUG, DR0) on the guest's #PF handler
 * (found through IDTR and IDT[14]); when it hits for a fault whose frame says "user-mode
 * instruction fetch at LSTAR with CR2 == LSTAR", we drop the exception frame and finish
 * the SYSCALL: CS/SS from MSR_STAR at CPL 0, RIP = LSTAR, RSP = the user RSP, RFLAGS =
 * the frame's RFLAGS masked by MSR_FMASK. Other page faults single-step over the
 * breakpoint (KVM ignores RF here) and re-arm it. One VM exit per guest syscall, two per
 * ordinary guest page fault. Only enabled when vmm_kvm_is_pvm().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct VmmVcpu VmmVcpu;

typedef struct VmmPvmSyscall {
    uint64_t bp_addr;      /* linear address of the #PF handler we break on, 0 = unarmed */
    bool stepping;         /* single-stepping over the breakpoint */
    int64_t next_check_us; /* when to look at the guest's IDT again */
    uint64_t fixups;       /* syscalls completed */
    uint64_t passes;       /* other page faults passed through */
    uint64_t rearms;       /* handler address changes seen */
} VmmPvmSyscall;

/* Clears the state after a vCPU reset (the breakpoint is switched off). */
void vmm_pvm_syscall_reset(VmmVcpu *vcpu, VmmPvmSyscall *s);

/* After any exit: every few ms, (re)arms the breakpoint when the #PF handler moved. */
void vmm_pvm_syscall_poll(VmmVcpu *vcpu, VmmPvmSyscall *s);

/* KVM_EXIT_DEBUG: returns true when it was ours and the vCPU can continue. */
bool vmm_pvm_syscall_debug_exit(VmmVcpu *vcpu, VmmPvmSyscall *s);

/* Pure decision used by the exit handler, exposed for tests. */
typedef struct {
    uint64_t error_code, rip, cs, rflags, rsp, ss;
} VmmPvmFaultFrame;

bool vmm_pvm_is_syscall_fault(const VmmPvmFaultFrame *f, uint64_t cr2, uint64_t lstar);
