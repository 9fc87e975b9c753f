/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-vcpu"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gio/gio.h>

#include "kvm.h"
#include "log.h"
#include "machine.h"
#include "vcpu.h"
#include "x86/emulate.h"
#include "x86/pvm-syscall.h"
#include "x86/x87.h"

#define VCPU_KICK_SIGNAL SIGUSR1

/* KVM paravirt MSRs a reset must switch off, or KVM keeps writing into guest RAM. */
static const uint32_t pv_msrs_to_clear[] = {
    0x4b564d01, /* MSR_KVM_SYSTEM_TIME_NEW */
    0x4b564d02, /* MSR_KVM_ASYNC_PF_EN */
    0x4b564d03, /* MSR_KVM_STEAL_TIME */
    0x4b564d04, /* MSR_KVM_PV_EOI_EN */
    0x12,       /* MSR_KVM_SYSTEM_TIME (old) */
};

static void kick_handler(int sig)
{
    /* Nothing: the signal only makes KVM_RUN return -EINTR. */
}

static void install_kick_handler(void)
{
    static gsize once;
    if (g_once_init_enter(&once)) {
        struct sigaction sa = {.sa_handler = kick_handler};
        sigemptyset(&sa.sa_mask);
        sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
        g_once_init_leave(&once, 1);
    }
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == fn &&
            (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == idx)) {
            return e;
        }
    }
    return NULL;
}

/*
 * The CPUID policy: what KVM supports, with each vCPU's APIC ID filled in and, on
 * kvm_pvm hosts, the KVM paravirt features removed whose hypercalls hang a vCPU
 * there (PLATFORM.md §0).
 */
static bool vcpu_set_cpuid(VmmVcpu *vcpu, GError **error)
{
    VmmMachine *m = vcpu->m;
    const struct kvm_cpuid2 *sup = vmm_kvm_supported_cpuid(m->kvm);
    size_t sz = sizeof(struct kvm_cpuid2) + sup->nent * sizeof(struct kvm_cpuid_entry2);
    g_autofree struct kvm_cpuid2 *c = g_memdup2(sup, sz);
    struct kvm_cpuid_entry2 *e;

    if ((e = cpuid_find(c, 1, 0)) != NULL) {
        e->ebx = (e->ebx & 0x0000ffff) | (vcpu->index << 24) | (MIN(m->n_vcpus, 255u) << 16);
        if (m->n_vcpus > 1) {
            e->edx |= 1u << 28; /* HTT: the logical-processor count in EBX is valid */
        }
    }
    for (uint32_t i = 0; i < c->nent; i++) {
        e = &c->entries[i];
        if (e->function == 0xb || e->function == 0x1f) {
            e->edx = vcpu->index; /* x2APIC ID */
        }
    }
    if (vmm_kvm_is_pvm(m->kvm) && (e = cpuid_find(c, 0x40000001, 0)) != NULL) {
        e->eax &= ~((1u << 7) | (1u << 9) | (1u << 11) | (1u << 13) | (1u << 16));
    }
    /*
     * kvm_pvm honours these bits of our table (unlike most of leaves 1/7/0xd, see
     * docs/kvm-pvm.md), and guest kernel mode cannot execute what they announce without
     * the slow emulation path: CMPXCHG16B and RDTSCP/RDPID.
     */
    if (vmm_kvm_is_pvm(m->kvm) && (e = cpuid_find(c, 1, 0)) != NULL) {
        e->ecx &= ~(1u << 13); /* CX16 */
    }
    if (vmm_kvm_is_pvm(m->kvm) && (e = cpuid_find(c, 0x80000001, 0)) != NULL) {
        e->edx &= ~(1u << 27); /* RDTSCP */
    }
    if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "vCPU %u: KVM_SET_CPUID2: %s",
                    vcpu->index, g_strerror(errno));
        return false;
    }
    return true;
}

VmmVcpu *vmm_vcpu_new(VmmMachine *m, unsigned index, GError **error)
{
    VmmVcpu *vcpu = g_new0(VmmVcpu, 1);
    vcpu->m = m;
    vcpu->index = index;
    vcpu->fd = ioctl(vmm_kvm_vm_fd(m->kvm), KVM_CREATE_VCPU, (unsigned long)index);
    if (vcpu->fd < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create vCPU %u: %s", index,
                    g_strerror(errno));
        g_free(vcpu);
        return NULL;
    }
    int sz = vmm_kvm_vcpu_mmap_size(m->kvm);
    vcpu->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (vcpu->run == MAP_FAILED) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot map vCPU %u: %s", index,
                    g_strerror(errno));
        close(vcpu->fd);
        g_free(vcpu);
        return NULL;
    }
    if (!vcpu_set_cpuid(vcpu, error)) {
        vmm_vcpu_free(vcpu);
        return NULL;
    }
    if (vmm_kvm_is_pvm(m->kvm)) {
        vcpu->pvm_syscall = g_new0(VmmPvmSyscall, 1);
    }
    /* Remember the power-on state KVM gave us; resets go back to it. */
    ioctl(vcpu->fd, KVM_GET_REGS, &vcpu->reset_regs);
    ioctl(vcpu->fd, KVM_GET_SREGS, &vcpu->reset_sregs);
    ioctl(vcpu->fd, KVM_GET_FPU, &vcpu->reset_fpu);
    ioctl(vcpu->fd, KVM_GET_MP_STATE, &vcpu->reset_mp);
    vcpu->reset_lapic_ok = ioctl(vcpu->fd, KVM_GET_LAPIC, &vcpu->reset_lapic) == 0;
    return vcpu;
}

void vmm_vcpu_free(VmmVcpu *vcpu)
{
    if (vcpu == NULL) {
        return;
    }
    if (vcpu->pvm_syscall != NULL) {
        if (vcpu->pvm_syscall->fixups || vcpu->pvm_syscall->passes) {
            g_message("vCPU %u: kvm_pvm SYSCALL fix-ups %" G_GUINT64_FORMAT
                      ", page faults passed through %" G_GUINT64_FORMAT,
                      vcpu->index, vcpu->pvm_syscall->fixups, vcpu->pvm_syscall->passes);
        }
        g_free(vcpu->pvm_syscall);
    }
    if (vcpu->run != NULL && vcpu->run != MAP_FAILED) {
        munmap(vcpu->run, (size_t)vmm_kvm_vcpu_mmap_size(vcpu->m->kvm));
    }
    if (vcpu->fd >= 0) {
        close(vcpu->fd);
    }
    g_free(vcpu);
}

void vmm_vcpu_reset(VmmVcpu *vcpu)
{
    g_autofree struct kvm_msrs *msrs =
        g_malloc0(sizeof(struct kvm_msrs) +
                  G_N_ELEMENTS(pv_msrs_to_clear) * sizeof(struct kvm_msr_entry));
    struct kvm_vcpu_events ev = {0};

    for (size_t i = 0; i < G_N_ELEMENTS(pv_msrs_to_clear); i++) {
        msrs->entries[i].index = pv_msrs_to_clear[i];
    }
    msrs->nmsrs = G_N_ELEMENTS(pv_msrs_to_clear);
    /* Unknown MSRs stop the batch early; that is fine, the rest stay as they are. */
    ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
    ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev);
    ioctl(vcpu->fd, KVM_SET_SREGS, &vcpu->reset_sregs);
    ioctl(vcpu->fd, KVM_SET_REGS, &vcpu->reset_regs);
    ioctl(vcpu->fd, KVM_SET_FPU, &vcpu->reset_fpu);
    if (vcpu->reset_lapic_ok) {
        ioctl(vcpu->fd, KVM_SET_LAPIC, &vcpu->reset_lapic);
    }
    ioctl(vcpu->fd, KVM_SET_MP_STATE, &vcpu->reset_mp);
    if (vcpu->pvm_syscall != NULL) {
        vmm_pvm_syscall_reset(vcpu, vcpu->pvm_syscall);
    }
    vcpu->run->immediate_exit = 0;
}

static void vcpu_handle_io(VmmVcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    unsigned size = run->io.size;
    uint32_t count = run->io.count;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    uint64_t area = (uint64_t)vmm_kvm_vcpu_mmap_size(vcpu->m->kvm);

    /* KVM fills the data area; still, never trust offsets into the shared page blindly. */
    if (size == 0 || size > 4 || run->io.data_offset + (uint64_t)size * count > area) {
        vmm_guest_error("vCPU %u: bad PIO exit (size %u count %u)", vcpu->index, size, count);
        return;
    }
    vcpu->stats.io++;
    for (uint32_t i = 0; i < count; i++, data += size) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            vmm_bus_write(vcpu->m->pio, run->io.port, data, size);
        } else {
            vmm_bus_read(vcpu->m->pio, run->io.port, data, size);
        }
    }
}

static void vcpu_handle_mmio(VmmVcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    unsigned len = run->mmio.len;

    vcpu->stats.mmio++;
    if (len != 1 && len != 2 && len != 4 && len != 8) {
        vmm_guest_error("vCPU %u: %u-byte MMIO access at 0x%llx ignored", vcpu->index, len,
                        (unsigned long long)run->mmio.phys_addr);
        if (!run->mmio.is_write) {
            memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
        }
        return;
    }
    if (run->mmio.is_write) {
        vmm_bus_write(vcpu->m->mmio, run->mmio.phys_addr, run->mmio.data, len);
    } else {
        vmm_bus_read(vcpu->m->mmio, run->mmio.phys_addr, run->mmio.data, len);
    }
}

/* The instruction bytes at the failing RIP: from the exit if KVM gave them, else from memory. */
static void vcpu_describe_emulation_failure(VmmVcpu *vcpu, GString *out)
{
    struct kvm_run *run = vcpu->run;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    uint8_t bytes[15];
    unsigned n = 0;

    if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
        g_string_append_printf(out, "vCPU %u: emulation failure (registers unavailable)",
                               vcpu->index);
        return;
    }
    if (run->emulation_failure.ndata >= 3 &&
        (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
        n = MIN(run->emulation_failure.insn_size, (uint8_t)sizeof(bytes));
        memcpy(bytes, run->emulation_failure.insn_bytes, n);
    } else {
        uint64_t la = sregs.cs.base + regs.rip;
        struct kvm_translation tr = {.linear_address = la};
        if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
            for (n = 0; n < sizeof(bytes); n++) {
                if (vmm_guest_read(vcpu->m->mem, tr.physical_address + n, &bytes[n], 1) < 0) {
                    break;
                }
            }
        }
    }
    const char *mode = !(sregs.cr0 & 1)                ? "real"
                       : (sregs.efer & (1u << 10)) ? "long"
                                                   : "protected";
    g_string_append_printf(out,
                           "vCPU %u: instruction KVM cannot execute (emulation failure) at "
                           "CS:RIP %04x:%016llx (%s mode, CPL %u), bytes:",
                           vcpu->index, sregs.cs.selector, (unsigned long long)regs.rip, mode,
                           sregs.cs.dpl);
    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(out, " %02x", bytes[i]);
    }
    if (n == 0) {
        g_string_append(out, " (unreadable)");
    }
}

/* ---- instruction-emulation fallback (vmm/x86/emulate.c) ---------------------------------- */

static int emul_read_phys(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    VmmVcpu *vcpu = opaque;
    return vmm_guest_read(vcpu->m->mem, gpa, buf, len);
}

static int emul_write_phys(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    VmmVcpu *vcpu = opaque;
    return vmm_guest_write(vcpu->m->mem, gpa, buf, len);
}

static void *emul_map_phys(void *opaque, uint64_t gpa, size_t len, bool write)
{
    VmmVcpu *vcpu = opaque;
    return vmm_guest_map(vcpu->m->mem, gpa, len, write);
}

static int emul_read_msr(void *opaque, uint32_t index, uint64_t *value)
{
    VmmVcpu *vcpu = opaque;
    g_autofree struct kvm_msrs *msrs =
        g_malloc0(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry));
    msrs->nmsrs = 1;
    msrs->entries[0].index = index;
    if (ioctl(vcpu->fd, KVM_GET_MSRS, msrs) != 1) {
        return -EIO;
    }
    *value = msrs->entries[0].data;
    return 0;
}

static void emul_ferr(void *opaque)
{
    VmmVcpu *vcpu = opaque;
    vmm_irq_pulse(vcpu->m, 13);
}

static const VmmX86EmulOps emul_ops = {
    .read_phys = emul_read_phys,
    .write_phys = emul_write_phys,
    .map_phys = emul_map_phys,
    .read_msr = emul_read_msr,
    .ferr = emul_ferr,
};

static void fpu_to_fx(const struct kvm_fpu *f, uint8_t *fx)
{
    uint32_t ip = (uint32_t)f->last_ip, dp = (uint32_t)f->last_dp, mask = 0xffff;
    memset(fx, 0, VMM_X87_FXSAVE_SIZE);
    memcpy(fx + VMM_X87_FX_FCW, &f->fcw, 2);
    memcpy(fx + VMM_X87_FX_FSW, &f->fsw, 2);
    fx[VMM_X87_FX_FTW] = f->ftwx;
    memcpy(fx + VMM_X87_FX_FOP, &f->last_opcode, 2);
    memcpy(fx + VMM_X87_FX_FIP, &ip, 4);
    memcpy(fx + VMM_X87_FX_FDP, &dp, 4);
    memcpy(fx + VMM_X87_FX_MXCSR, &f->mxcsr, 4);
    memcpy(fx + VMM_X87_FX_MXCSR_MASK, &mask, 4);
    memcpy(fx + VMM_X87_FX_ST0, f->fpr, sizeof(f->fpr));
    memcpy(fx + VMM_X87_FX_XMM0, f->xmm, sizeof(f->xmm));
}

static void fx_to_fpu(const uint8_t *fx, struct kvm_fpu *f)
{
    uint32_t ip, dp;
    memcpy(&f->fcw, fx + VMM_X87_FX_FCW, 2);
    memcpy(&f->fsw, fx + VMM_X87_FX_FSW, 2);
    f->ftwx = fx[VMM_X87_FX_FTW];
    memcpy(&f->last_opcode, fx + VMM_X87_FX_FOP, 2);
    memcpy(&ip, fx + VMM_X87_FX_FIP, 4);
    memcpy(&dp, fx + VMM_X87_FX_FDP, 4);
    f->last_ip = ip;
    f->last_dp = dp;
    memcpy(&f->mxcsr, fx + VMM_X87_FX_MXCSR, 4);
    memcpy(f->fpr, fx + VMM_X87_FX_ST0, sizeof(f->fpr));
    memcpy(f->xmm, fx + VMM_X87_FX_XMM0, sizeof(f->xmm));
}

/*
 * Emulates the instruction KVM could not execute. True when the guest can continue
 * (the instruction ran, or the right exception is queued); false when the vCPU state is
 * unavailable and the VM must stop.
 */
static bool vcpu_emulate(VmmVcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    g_autofree VmmX86Cpu *cpu = g_new0(VmmX86Cpu, 1);
    struct kvm_fpu fpu;
    struct kvm_xcrs xcrs = {0};
    g_autofree struct kvm_xsave *xs = NULL;
    bool use_xsave = false;

    cpu->ops = &emul_ops;
    cpu->opaque = vcpu;

    if (ioctl(vcpu->fd, KVM_GET_REGS, &cpu->regs) < 0 ||
        ioctl(vcpu->fd, KVM_GET_SREGS, &cpu->sregs) < 0) {
        return false;
    }
    if (run->emulation_failure.ndata >= 3 &&
        (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
        cpu->insn_len = MIN(run->emulation_failure.insn_size, (uint8_t)sizeof(cpu->insn));
        memcpy(cpu->insn, run->emulation_failure.insn_bytes, cpu->insn_len);
    }

    /* The FPU/XSAVE state costs two more ioctls: only fetched for instructions using it. */
    if (vmm_x86_emulate(cpu) == VMM_X86_EMUL_NEED_FPU) {
        xs = g_new0(struct kvm_xsave, 1);
        use_xsave = ioctl(vcpu->fd, KVM_GET_XSAVE, xs) == 0;
        if (use_xsave) {
            /* Its legacy area is the FXSAVE image; the AVX state stays untouched. */
            memcpy(cpu->fx, xs->region, VMM_X87_FXSAVE_SIZE);
        } else if (ioctl(vcpu->fd, KVM_GET_FPU, &fpu) == 0) {
            fpu_to_fx(&fpu, cpu->fx);
        } else {
            return false;
        }
        cpu->xcr0 = 1;
        if (ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs) == 0) {
            for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
                if (xcrs.xcrs[i].xcr == 0) {
                    cpu->xcr0 = xcrs.xcrs[i].value;
                }
            }
        }
        cpu->fpu_valid = true;
        vmm_x86_emulate(cpu);
    }

    if (cpu->fpu_dirty && use_xsave) {
        memcpy(xs->region, cpu->fx, VMM_X87_FXSAVE_SIZE);
        /* XSTATE_BV: the x87 and SSE components are now in the image. */
        xs->region[128] |= 3;
        if (ioctl(vcpu->fd, KVM_SET_XSAVE, xs) < 0) {
            return false;
        }
    } else if (cpu->fpu_dirty) {
        fx_to_fpu(cpu->fx, &fpu);
        if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0) {
            return false;
        }
    }
    if (cpu->sregs_dirty && ioctl(vcpu->fd, KVM_SET_SREGS, &cpu->sregs) < 0) {
        return false;
    }
    if (cpu->regs_dirty && ioctl(vcpu->fd, KVM_SET_REGS, &cpu->regs) < 0) {
        return false;
    }
    if (cpu->event.kind != VMM_X86_EVENT_NONE) {
        struct kvm_vcpu_events ev;
        if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
            return false;
        }
        if (cpu->event.kind == VMM_X86_EVENT_EXCEPTION) {
            ev.exception.injected = 1;
            ev.exception.nr = cpu->event.vector;
            ev.exception.has_error_code = cpu->event.has_error;
            ev.exception.error_code = cpu->event.error;
        } else {
            ev.interrupt.injected = 1;
            ev.interrupt.nr = cpu->event.vector;
            ev.interrupt.soft = 0;
        }
        ev.flags = 0;
        if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
            return false;
        }
    }
    return true;
}

/* Parks the calling vCPU while a pause is requested (or it stopped on an error). */
static bool vcpu_park(VmmVcpu *vcpu)
{
    VmmMachine *m = vcpu->m;
    bool quit;

    g_mutex_lock(&m->lock);
    while ((m->pause_requested || vcpu->halted_on_error) && !m->quitting) {
        m->n_parked++;
        g_cond_broadcast(&m->cond);
        g_cond_wait(&m->cond, &m->lock);
        m->n_parked--;
    }
    /* Cleared under the lock: a kick after this point sets it again and is not lost. */
    __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_RELEASE);
    quit = m->quitting;
    g_mutex_unlock(&m->lock);
    return !quit;
}

static void vcpu_stop_on_error(VmmVcpu *vcpu, const char *detail)
{
    VmmMachine *m = vcpu->m;
    g_mutex_lock(&m->lock);
    vcpu->halted_on_error = true;
    g_mutex_unlock(&m->lock);
    vmm_machine_request(m, VMM_REQ_ERROR, detail);
}

static void *vcpu_thread(void *opaque)
{
    VmmVcpu *vcpu = opaque;
    VmmMachine *m = vcpu->m;
    sigset_t set;

    g_autofree char *name = g_strdup_printf("vcpu%u", vcpu->index);
    pthread_setname_np(pthread_self(), name);
    sigemptyset(&set);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    if (!vcpu_park(vcpu)) {
        return NULL;
    }
    for (;;) {
        int ret = ioctl(vcpu->fd, KVM_RUN, 0);
        if (ret < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                if (!vcpu_park(vcpu)) {
                    break;
                }
                continue;
            }
            g_autofree char *d = g_strdup_printf("vCPU %u: KVM_RUN failed: %s", vcpu->index,
                                                 g_strerror(errno));
            vcpu_stop_on_error(vcpu, d);
            if (!vcpu_park(vcpu)) {
                break;
            }
            continue;
        }
        switch (vcpu->run->exit_reason) {
        case KVM_EXIT_IO:
            vcpu_handle_io(vcpu);
            break;
        case KVM_EXIT_MMIO:
            vcpu_handle_mmio(vcpu);
            break;
        case KVM_EXIT_HLT:
        case KVM_EXIT_IRQ_WINDOW_OPEN:
        case KVM_EXIT_INTR:
            break;
        case KVM_EXIT_SHUTDOWN:
            vcpu->stats.other++;
            vmm_machine_request(m, VMM_REQ_RESET, "triple fault");
            /* Stay out of KVM_RUN until the reset: the vCPU state is undefined now. */
            g_mutex_lock(&m->lock);
            vcpu->halted_on_error = true;
            g_mutex_unlock(&m->lock);
            break;
        case KVM_EXIT_SYSTEM_EVENT:
            vcpu->stats.other++;
            if (vcpu->run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
                vmm_machine_request(m, VMM_REQ_RESET, "system event");
            } else {
                vmm_machine_request(m, VMM_REQ_POWEROFF, "system event");
            }
            break;
        case KVM_EXIT_INTERNAL_ERROR: {
            g_autoptr(GString) d = g_string_new(NULL);
            vcpu->stats.emulation_failures++;
            if (vcpu->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
                vcpu_emulate(vcpu)) {
                break;
            }
            if (vcpu->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
                vcpu_describe_emulation_failure(vcpu, d);
            } else {
                g_string_printf(d, "vCPU %u: KVM internal error, suberror %u", vcpu->index,
                                vcpu->run->internal.suberror);
            }
            g_message("%s", d->str);
            vcpu_stop_on_error(vcpu, d->str);
            break;
        }
        case KVM_EXIT_DEBUG:
            if (vcpu->pvm_syscall != NULL &&
                vmm_pvm_syscall_debug_exit(vcpu, vcpu->pvm_syscall)) {
                break;
            }
            vcpu->stats.other++;
            vcpu_stop_on_error(vcpu, "unexpected debug exit");
            break;
        case KVM_EXIT_FAIL_ENTRY: {
            g_autofree char *d = g_strdup_printf(
                "vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)", vcpu->index,
                (unsigned long long)vcpu->run->fail_entry.hardware_entry_failure_reason);
            vcpu_stop_on_error(vcpu, d);
            break;
        }
        default: {
            g_autofree char *d = g_strdup_printf("vCPU %u: unexpected KVM exit %u", vcpu->index,
                                                 vcpu->run->exit_reason);
            vcpu_stop_on_error(vcpu, d);
            break;
        }
        }
        if (vcpu->pvm_syscall != NULL) {
            vmm_pvm_syscall_poll(vcpu, vcpu->pvm_syscall);
        }
        if (vcpu->halted_on_error && !vcpu_park(vcpu)) {
            break;
        }
    }
    return NULL;
}

bool vmm_vcpu_start(VmmVcpu *vcpu, GError **error)
{
    sigset_t set, old;
    install_kick_handler();

    /* The thread starts with the kick signal blocked and unblocks it itself. */
    sigemptyset(&set);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot start vCPU %u thread: %s",
                    vcpu->index, g_strerror(ret));
        return false;
    }
    vcpu->thread_started = true;
    return true;
}

void vmm_vcpu_kick(VmmVcpu *vcpu)
{
    /* Pairs with the clear in vcpu_park(): KVM_RUN returns at once if we are not in it yet. */
    __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
    if (vcpu->thread_started) {
        pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
    }
}

void vmm_vcpu_join(VmmVcpu *vcpu)
{
    if (vcpu->thread_started) {
        pthread_join(vcpu->thread, NULL);
        vcpu->thread_started = false;
        if (vcpu->index == 0 && vmm_x86_emul_total() > 0) {
            g_autofree char *st = vmm_x86_emul_stats_format();
            g_message("instruction emulation counts: %s", st);
        }
    }
}
