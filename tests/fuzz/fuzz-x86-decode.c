/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the x86 instruction emulator: the input chooses the CPU mode,
 * control registers, segment state, general registers, FPU image, the instruction bytes
 * and the contents of a small fake guest memory (page tables included); the decoder and
 * the emulator then run on it. Nothing may crash, hang or trip the sanitizers, and a
 * requested event must be well-formed.
 */
#define G_LOG_DOMAIN "fuzz-x86-decode"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/x86/emulate.h"
#include "vmm/x86/x87.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE (64u << 10)

static uint8_t mem[MEM_SIZE] __attribute__((aligned(16)));

static int fz_read(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa) {
        return -14;
    }
    memcpy(buf, mem + gpa, len);
    return 0;
}

static int fz_write(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa) {
        return -14;
    }
    memcpy(mem + gpa, buf, len);
    return 0;
}

static void *fz_map(void *opaque, uint64_t gpa, size_t len, bool write)
{
    return (gpa < MEM_SIZE && len <= MEM_SIZE - gpa) ? mem + gpa : NULL;
}

static int fz_msr(void *opaque, uint32_t index, uint64_t *v)
{
    *v = index * 0x9e3779b97f4a7c15ull;
    return (index & 1) ? -22 : 0;
}

static void fz_ferr(void *opaque)
{
}

static const VmmX86EmulOps ops = {
    .read_phys = fz_read,
    .write_phys = fz_write,
    .map_phys = fz_map,
    .read_msr = fz_msr,
    .ferr = fz_ferr,
};

typedef struct {
    const uint8_t *d;
    size_t n, pos;
} Reader;

static uint64_t take(Reader *r, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < bytes; k++) {
        v |= (uint64_t)(r->pos < r->n ? r->d[r->pos++] : 0) << (8 * k);
    }
    return v;
}

static void take_seg(Reader *r, struct kvm_segment *s, bool small)
{
    s->selector = (uint16_t)take(r, 2);
    s->base = small ? take(r, 2) : take(r, 8);
    s->limit = (uint32_t)take(r, 4);
    uint8_t a = (uint8_t)take(r, 1), b = (uint8_t)take(r, 1);
    s->type = a & 0xf;
    s->s = (a >> 4) & 1;
    s->dpl = (a >> 5) & 3;
    s->present = a >> 7;
    s->db = b & 1;
    s->l = (b >> 1) & 1;
    s->g = (b >> 2) & 1;
    s->unusable = (b >> 3) & 1;
}

static int fetch_input(void *opaque, unsigned off, uint8_t *byte)
{
    Reader *r = opaque;
    if (off >= r->n) {
        return -1;
    }
    *byte = r->d[off];
    return 0;
}

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer u)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        once = true;
        g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        g_log_set_handler("vmm-x86-emul", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, quiet_log,
                          NULL);
    }
    Reader r = {data, size, 0};
    VmmX86Cpu *cpu = g_new0(VmmX86Cpu, 1);
    cpu->ops = &ops;

    uint8_t mode = (uint8_t)take(&r, 1);
    cpu->sregs.cr0 = take(&r, 4);
    cpu->sregs.cr4 = take(&r, 4);
    cpu->sregs.efer = take(&r, 2);
    cpu->sregs.cr3 = take(&r, 2) << 4; /* inside the fake memory most of the time */
    switch (mode & 3) {
    case 0: /* real mode */
        cpu->sregs.cr0 &= ~1ull;
        cpu->sregs.efer &= ~(1ull << 10);
        break;
    case 1: /* protected, no long mode */
        cpu->sregs.cr0 |= 1;
        cpu->sregs.efer &= ~(1ull << 10);
        break;
    default: /* long mode */
        cpu->sregs.cr0 |= 0x80000001ull;
        cpu->sregs.cr4 |= 0x20;
        cpu->sregs.efer |= (1ull << 10) | (1ull << 8);
        break;
    }
    bool small = mode & 4;
    take_seg(&r, &cpu->sregs.cs, small);
    take_seg(&r, &cpu->sregs.ss, small);
    take_seg(&r, &cpu->sregs.ds, small);
    cpu->sregs.es = cpu->sregs.fs = cpu->sregs.gs = cpu->sregs.ds;
    if (mode & 8) {
        take_seg(&r, &cpu->sregs.fs, small);
    }
    cpu->sregs.ldt.base = take(&r, 2);
    cpu->sregs.ldt.limit = (uint32_t)take(&r, 2);
    cpu->sregs.ldt.present = 1;
    cpu->sregs.gdt.base = take(&r, 2);
    cpu->sregs.gdt.limit = (uint16_t)take(&r, 2);
    cpu->sregs.idt.base = take(&r, 2);
    cpu->sregs.idt.limit = (uint16_t)take(&r, 2);
    cpu->regs.rip = small ? take(&r, 2) : take(&r, 8);
    cpu->regs.rsp = small ? take(&r, 2) : take(&r, 8);
    cpu->regs.rflags = take(&r, 4) | 2;
    cpu->regs.rax = take(&r, 8);
    cpu->regs.rbx = take(&r, 8);
    cpu->regs.rcx = take(&r, 8);
    cpu->regs.rdx = take(&r, 8);
    cpu->regs.rsi = take(&r, 2);
    cpu->regs.rdi = take(&r, 2);
    cpu->regs.rbp = take(&r, 2);
    cpu->xcr0 = take(&r, 1);
    cpu->fpu_valid = !(mode & 0x10);
    if (mode & 0x20) {
        /* Arbitrary x87 control/status/tag and two registers. */
        for (unsigned k = 0; k < 8; k++) {
            cpu->fx[k] = (uint8_t)take(&r, 1);
        }
        for (unsigned k = 0; k < 20; k++) {
            cpu->fx[VMM_X87_FX_ST0 + (k / 10) * 16 + k % 10] = (uint8_t)take(&r, 1);
        }
    } else {
        vmm_x87_fninit(cpu->fx);
    }
    uint32_t mx = (uint32_t)take(&r, 4), mask = (mode & 0x40) ? 0 : 0xffff;
    memcpy(cpu->fx + VMM_X87_FX_MXCSR, &mx, 4);
    memcpy(cpu->fx + VMM_X87_FX_MXCSR_MASK, &mask, 4);
    cpu->insn_len = (unsigned)take(&r, 1) % 17;
    for (unsigned k = 0; k < sizeof(cpu->insn); k++) {
        cpu->insn[k] = (uint8_t)take(&r, 1);
    }
    if (mode & 0x80) {
        /* Steer random inputs towards the opcodes the emulator knows. */
        static const uint8_t first[] = {0x9b, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
                                        0xcc, 0xcd, 0xce, 0xcf, 0x0f, 0xf3, 0xf0, 0x66, 0x48};
        static const uint8_t second[] = {0x01, 0xae, 0xc7, 0xb8, 0x0b};
        uint8_t pick = cpu->insn[0];
        cpu->insn[0] = first[pick % sizeof(first)];
        if (cpu->insn[0] == 0x0f) {
            cpu->insn[1] = second[cpu->insn[1] % sizeof(second)];
        }
        if (cpu->insn_len < 4) {
            cpu->insn_len = 4;
        }
    }
    /* The rest fills guest memory, repeated. */
    size_t rest = r.pos < size ? size - r.pos : 0;
    for (size_t k = 0; k < MEM_SIZE; k++) {
        mem[k] = rest ? data[r.pos + k % rest] : 0;
    }

    for (int step = 0; step < 4; step++) {
        VmmX86EmulResult res = vmm_x86_emulate(cpu);
        if (res == VMM_X86_EMUL_NEED_FPU) {
            cpu->fpu_valid = true;
            continue;
        }
        if (cpu->event.kind == VMM_X86_EVENT_EXCEPTION && cpu->event.vector > 31) {
            g_error("exception vector %u", cpu->event.vector);
        }
        cpu->insn_len = 0; /* the next steps fetch through memory */
    }

    /* The decoder on its own, in every mode, straight on the input bytes. */
    static const unsigned modes[] = {16, 32, 64};
    for (unsigned k = 0; k < G_N_ELEMENTS(modes); k++) {
        VmmX86Insn insn;
        Reader src = {data, size, 0};
        if (vmm_x86_decode(modes[k], fetch_input, &src, &insn) == VMM_X86_DECODE_OK &&
            (insn.len == 0 || insn.len > 15)) {
            g_error("decoded length %u", insn.len);
        }
    }
    g_free(cpu);
    return 0;
}
