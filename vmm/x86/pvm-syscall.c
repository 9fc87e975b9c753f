/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-pvm-syscall"
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <glib.h>
#include <linux/kvm.h>

#include "vmm/guest-mem.h"
#include "vmm/machine.h"
#include "vmm/vcpu.h"
#include "vmm/x86/pvm-syscall.h"

#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
#define EFER_LMA (1u << 10)
#define CR0_PG (1u << 31)
#define PF_USER 0x4
#define PF_INSN 0x10
#define CHECK_INTERVAL_US 20000

bool vmm_pvm_is_syscall_fault(const VmmPvmFaultFrame *f, uint64_t cr2, uint64_t lstar)
{
    return lstar != 0 && cr2 == lstar && f->rip == lstar && (f->cs & 3) == 3 &&
           (f->error_code & (PF_USER | PF_INSN)) == (PF_USER | PF_INSN);
}

static int set_debug(VmmVcpu *vcpu, uint64_t bp, bool step)
{
    struct kvm_guest_debug dbg;
    memset(&dbg, 0, sizeof(dbg));
    if (bp != 0 || step) {
        dbg.control = KVM_GUESTDBG_ENABLE;
    }
    if (step) {
        dbg.control |= KVM_GUESTDBG_SINGLESTEP;
    } else if (bp != 0) {
        dbg.control |= KVM_GUESTDBG_USE_HW_BP;
        dbg.arch.debugreg[0] = bp;
        dbg.arch.debugreg[7] = 0x1; /* L0, execute, 1 byte */
    }
    return ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 ? -errno : 0;
}

/* Reads @len bytes at guest-linear @la (page by page through KVM_TRANSLATE). */
static int read_linear(VmmVcpu *vcpu, uint64_t la, void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len > 0) {
        struct kvm_translation tr = {.linear_address = la};
        size_t chunk = MIN(len, 4096 - (la & 0xfff));
        if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid) {
            return -EFAULT;
        }
        if (vmm_guest_read(vcpu->m->mem, tr.physical_address, out, chunk) < 0) {
            return -EFAULT;
        }
        la += chunk;
        out += chunk;
        len -= chunk;
    }
    return 0;
}

static int get_msrs(VmmVcpu *vcpu, uint64_t *star, uint64_t *lstar, uint64_t *fmask)
{
    /* struct kvm_msrs ends in a flexible array: allocate header and entries together. */
    union {
        struct kvm_msrs hdr;
        uint8_t raw[sizeof(struct kvm_msrs) + 3 * sizeof(struct kvm_msr_entry)];
    } buf;
    struct kvm_msrs *m = &buf.hdr;

    memset(&buf, 0, sizeof(buf));
    m->nmsrs = 3;
    m->entries[0].index = MSR_STAR;
    m->entries[1].index = MSR_LSTAR;
    m->entries[2].index = MSR_FMASK;
    if (ioctl(vcpu->fd, KVM_GET_MSRS, m) != 3) {
        return -EIO;
    }
    *star = m->entries[0].data;
    *lstar = m->entries[1].data;
    *fmask = m->entries[2].data;
    return 0;
}

void vmm_pvm_syscall_reset(VmmVcpu *vcpu, VmmPvmSyscall *s)
{
    if (s->bp_addr != 0 || s->stepping) {
        set_debug(vcpu, 0, false);
    }
    s->bp_addr = 0;
    s->stepping = false;
    s->next_check_us = 0;
}

void vmm_pvm_syscall_poll(VmmVcpu *vcpu, VmmPvmSyscall *s)
{
    struct kvm_sregs sregs;
    uint8_t gate[16];
    int64_t now = g_get_monotonic_time();

    if (s->stepping || now < s->next_check_us) {
        return;
    }
    s->next_check_us = now + CHECK_INTERVAL_US;
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
        return;
    }
    /* Only 64-bit guests with paging use SYSCALL from user mode the way this fixes. */
    if (!(sregs.efer & EFER_LMA) || !(sregs.cr0 & CR0_PG) || sregs.idt.limit < 15 * 16 - 1) {
        return;
    }
    if (read_linear(vcpu, sregs.idt.base + 14 * 16, gate, sizeof(gate)) < 0) {
        return;
    }
    /* A present 64-bit interrupt or trap gate. */
    if (!(gate[5] & 0x80) || ((gate[5] & 0xe) != 0xe)) {
        return;
    }
    uint64_t handler = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 | (uint64_t)gate[6] << 16 |
                       (uint64_t)gate[7] << 24 | (uint64_t)gate[8] << 32 |
                       (uint64_t)gate[9] << 40 | (uint64_t)gate[10] << 48 |
                       (uint64_t)gate[11] << 56;
    if (handler == s->bp_addr || handler == 0) {
        return;
    }
    if (set_debug(vcpu, handler, false) == 0) {
        g_info("vCPU %u: SYSCALL fix-up armed on the #PF handler at 0x%" G_GINT64_MODIFIER "x",
               vcpu->index, handler);
        s->bp_addr = handler;
        s->rearms++;
    }
}

bool vmm_pvm_syscall_debug_exit(VmmVcpu *vcpu, VmmPvmSyscall *s)
{
    struct kvm_debug_exit_arch *d = &vcpu->run->debug.arch;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    uint64_t star, lstar, fmask, raw[6];

    if (s->stepping) {
        s->stepping = false;
        set_debug(vcpu, s->bp_addr, false);
        return true;
    }
    if (s->bp_addr == 0 || d->pc != s->bp_addr) {
        return false;
    }
    if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0 ||
        get_msrs(vcpu, &star, &lstar, &fmask) < 0) {
        return false;
    }
    /* The frame the CPU pushed: error code, RIP, CS, RFLAGS, RSP, SS. */
    if (read_linear(vcpu, regs.rsp, raw, sizeof(raw)) < 0) {
        goto pass;
    }
    VmmPvmFaultFrame f = {
        .error_code = GUINT64_FROM_LE(raw[0]),
        .rip = GUINT64_FROM_LE(raw[1]),
        .cs = GUINT64_FROM_LE(raw[2]),
        .rflags = GUINT64_FROM_LE(raw[3]),
        .rsp = GUINT64_FROM_LE(raw[4]),
        .ss = GUINT64_FROM_LE(raw[5]),
    };
    if (!vmm_pvm_is_syscall_fault(&f, sregs.cr2, lstar)) {
        goto pass;
    }
    /* Finish the SYSCALL: RCX and R11 already hold the return RIP and RFLAGS. */
    uint16_t kcs = (uint16_t)((star >> 32) & 0xfffc);
    sregs.cs = (struct kvm_segment){
        .limit = 0xffffffff, .selector = kcs, .type = 0xb, .present = 1, .s = 1, .l = 1, .g = 1,
    };
    sregs.ss = (struct kvm_segment){
        .limit = 0xffffffff, .selector = (uint16_t)(kcs + 8), .type = 0x3, .present = 1, .s = 1,
        .db = 1, .g = 1,
    };
    regs.rip = lstar;
    regs.rsp = f.rsp;
    regs.rflags = (f.rflags & ~fmask & ~(1ull << 16)) | 0x2;
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
        g_warning("vCPU %u: SYSCALL fix-up could not set the registers: %s", vcpu->index,
                  g_strerror(errno));
        return false;
    }
    s->fixups++;
    return true;

pass:
    /* An ordinary page fault: execute the handler's first instruction, then re-arm. */
    if (set_debug(vcpu, 0, true) < 0) {
        return false;
    }
    s->stepping = true;
    s->passes++;
    return true;
}
