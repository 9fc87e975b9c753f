/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The instruction emulator without KVM: the decoder on byte sequences in 16/32/64-bit
 * code, and instructions executed against a fake vCPU state and fake memory (x87 results
 * compared with the host's FPU, interrupts, IRET, #PF delivery and rollback, CMPXCHG16B,
 * RDTSCP, unknown opcodes, counters).
 */
#include <glib.h>
#include <string.h>

#include "vmm/x86/emulate.h"
#include "vmm/x86/x87.h"

#define MEM_SIZE (1u << 20)

static uint8_t mem[MEM_SIZE] __attribute__((aligned(16)));
static unsigned ferr_count;

static int fake_read(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa) {
        return -14;
    }
    memcpy(buf, mem + gpa, len);
    return 0;
}

static int fake_write(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa) {
        return -14;
    }
    memcpy(mem + gpa, buf, len);
    return 0;
}

static void *fake_map(void *opaque, uint64_t gpa, size_t len, bool write)
{
    return (gpa < MEM_SIZE && len <= MEM_SIZE - gpa) ? mem + gpa : NULL;
}

static int fake_msr(void *opaque, uint32_t index, uint64_t *v)
{
    if (index == 0x10) {
        *v = 0x1122334455667788ull;
        return 0;
    }
    if (index == 0xc0000103) {
        *v = 7;
        return 0;
    }
    return -22;
}

static void fake_ferr(void *opaque)
{
    ferr_count++;
}

static const VmmX86EmulOps ops = {
    .read_phys = fake_read,
    .write_phys = fake_write,
    .map_phys = fake_map,
    .read_msr = fake_msr,
    .ferr = fake_ferr,
};

static void seg(struct kvm_segment *s, uint16_t sel, uint64_t base, uint32_t limit, uint8_t type,
                bool db, bool l, uint8_t dpl)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = base;
    s->limit = limit;
    s->type = type;
    s->present = 1;
    s->s = 1;
    s->db = db;
    s->l = l;
    s->dpl = dpl;
    s->g = limit > 0xfffff;
}

typedef enum { REAL, PROT32, LONG64 } Mode;

/* A vCPU in @mode with code at linear 0x1000 (real mode: CS=0x100) and the stack at 0x8000. */
static VmmX86Cpu *make_cpu(Mode mode)
{
    VmmX86Cpu *c = g_new0(VmmX86Cpu, 1);
    memset(mem, 0, MEM_SIZE);
    c->ops = &ops;
    c->fpu_valid = true;
    vmm_x87_fninit(c->fx);
    uint32_t mx = 0x1f80, mask = 0xffff;
    memcpy(c->fx + VMM_X87_FX_MXCSR, &mx, 4);
    memcpy(c->fx + VMM_X87_FX_MXCSR_MASK, &mask, 4);
    c->regs.rflags = 2;
    c->regs.rsp = 0x8000;
    c->sregs.idt.limit = 0x3ff;
    if (mode == REAL) {
        seg(&c->sregs.cs, 0x100, 0x1000, 0xffff, 0xb, false, false, 0);
        seg(&c->sregs.ds, 0, 0, 0xffff, 3, false, false, 0);
        c->regs.rip = 0;
    } else {
        seg(&c->sregs.cs, 0x08, 0, 0xffffffff, 0xb, mode == PROT32, mode == LONG64, 0);
        seg(&c->sregs.ds, 0x10, 0, 0xffffffff, 3, true, false, 0);
        c->sregs.cr0 = 0x31; /* PE, ET, NE */
        c->sregs.cr4 = 1u << 9;
        c->regs.rip = 0x1000;
        c->sregs.idt.base = 0x2000;
        c->sregs.idt.limit = mode == LONG64 ? 0xfff : 0x7ff;
        c->sregs.gdt.base = 0x3000;
        c->sregs.gdt.limit = 0xff;
    }
    c->sregs.es = c->sregs.fs = c->sregs.gs = c->sregs.ss = c->sregs.ds;
    if (mode == LONG64) {
        /* Identity map of the first 1 GiB with one 1 GiB page. */
        uint64_t e = 0x5000 | 3;
        memcpy(mem + 0x4000, &e, 8);
        e = 0x83;
        memcpy(mem + 0x5000, &e, 8);
        c->sregs.cr3 = 0x4000;
        c->sregs.cr4 |= 0x20;
        c->sregs.cr0 |= 0x80000000u;
        c->sregs.efer = (1u << 8) | (1u << 10);
    }
    return c;
}

static void code(VmmX86Cpu *c, const uint8_t *bytes, size_t len)
{
    uint64_t lin = c->sregs.cs.base + c->regs.rip;
    memcpy(mem + lin, bytes, len);
}

#define CODE(c, ...)                                                                          \
    do {                                                                                      \
        static const uint8_t b_[] = {__VA_ARGS__};                                            \
        code(c, b_, sizeof(b_));                                                              \
    } while (0)

/* ---- decoder ---- */

typedef struct {
    const uint8_t *b;
    size_t n;
} Bytes;

static int fetch_bytes(void *opaque, unsigned off, uint8_t *byte)
{
    Bytes *b = opaque;
    if (off >= b->n) {
        return -1;
    }
    *byte = b->b[off];
    return 0;
}

static VmmX86DecodeResult dec(unsigned bits, const uint8_t *b, size_t n, VmmX86Insn *i)
{
    Bytes bb = {b, n};
    return vmm_x86_decode(bits, fetch_bytes, &bb, i);
}

static void test_decode(void)
{
    VmmX86Insn i;

    /* fstp qword [esp] (SIB, no index) */
    static const uint8_t a[] = {0xdd, 0x1c, 0x24};
    g_assert_cmpint(dec(32, a, sizeof(a), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpuint(i.len, ==, 3);
    g_assert_cmpint(i.base_reg, ==, 4);
    g_assert_cmpint(i.index_reg, ==, -1);
    g_assert_cmpstr(i.name, ==, "x87-dd");

    /* 16-bit: fldcw [0x1234] and fnstsw [bp+0x100] */
    static const uint8_t b[] = {0xd9, 0x2e, 0x34, 0x12};
    g_assert_cmpint(dec(16, b, sizeof(b), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpuint(i.len, ==, 4);
    g_assert_cmpint(i.disp, ==, 0x1234);
    g_assert_cmpstr(i.name, ==, "fldcw");
    static const uint8_t c[] = {0xdd, 0xbe, 0x00, 0x01};
    g_assert_cmpint(dec(16, c, sizeof(c), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpstr(i.name, ==, "fnstsw");
    g_assert_cmpint(i.base_reg, ==, 5);
    g_assert_cmpint(i.disp, ==, 0x100);

    /* 64-bit: lock cmpxchg16b [0x20138] (SIB with no base) */
    static const uint8_t d[] = {0xf0, 0x48, 0x0f, 0xc7, 0x0c, 0x25, 0x38, 0x01, 0x02, 0x00};
    g_assert_cmpint(dec(64, d, sizeof(d), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpuint(i.len, ==, 10);
    g_assert_true(i.lock);
    g_assert_cmpuint(i.opsize, ==, 8);
    g_assert_cmpint(i.base_reg, ==, -1);
    g_assert_cmpint(i.disp, ==, 0x20138);

    /* 64-bit RIP-relative fld qword [rip+0x10] */
    static const uint8_t e[] = {0xdd, 0x05, 0x10, 0x00, 0x00, 0x00};
    g_assert_cmpint(dec(64, e, sizeof(e), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpint(i.base_reg, ==, 16);
    g_assert_cmpuint(i.len, ==, 6);

    /* REX.B/X extend base and index: fild dword [r12 + r9*4 - 8] */
    static const uint8_t f[] = {0x43, 0xdb, 0x44, 0x8c, 0xf8};
    g_assert_cmpint(dec(64, f, sizeof(f), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpint(i.base_reg, ==, 12);
    g_assert_cmpint(i.index_reg, ==, 9);
    g_assert_cmpuint(i.scale, ==, 2);
    g_assert_cmpint(i.disp, ==, -8);

    /* int 0x80, popcnt with its mandatory F3, rdtscp */
    static const uint8_t g[] = {0xcd, 0x80};
    g_assert_cmpint(dec(32, g, sizeof(g), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmphex(i.imm, ==, 0x80);
    static const uint8_t h[] = {0xf3, 0x0f, 0xb8, 0xc1};
    g_assert_cmpint(dec(32, h, sizeof(h), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpstr(i.name, ==, "popcnt");
    static const uint8_t h2[] = {0x0f, 0xb8, 0xc1};
    g_assert_cmpint(dec(32, h2, sizeof(h2), &i), ==, VMM_X86_DECODE_UNKNOWN);
    static const uint8_t r[] = {0x0f, 0x01, 0xf9};
    g_assert_cmpint(dec(64, r, sizeof(r), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpstr(i.name, ==, "rdtscp");

    /* 0x66 in 32-bit code: 16-bit operands; 0x67: 16-bit addressing */
    static const uint8_t k[] = {0x66, 0x67, 0xd9, 0x36, 0x00, 0x10};
    g_assert_cmpint(dec(32, k, sizeof(k), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpuint(i.opsize, ==, 2);
    g_assert_cmpuint(i.addrsize, ==, 2);
    g_assert_cmpstr(i.name, ==, "fnstenv");

    /* Segment override, 15-byte limit, unknown opcode, truncated input */
    static const uint8_t s[] = {0x26, 0xd9, 0x3f};
    g_assert_cmpint(dec(32, s, sizeof(s), &i), ==, VMM_X86_DECODE_OK);
    g_assert_cmpint(i.seg, ==, VMM_X86_SEG_ES);
    uint8_t longp[20];
    memset(longp, 0x66, sizeof(longp));
    g_assert_cmpint(dec(32, longp, sizeof(longp), &i), ==, VMM_X86_DECODE_TOO_LONG);
    static const uint8_t u[] = {0x0f, 0xa2}; /* cpuid: KVM's business */
    g_assert_cmpint(dec(32, u, sizeof(u), &i), ==, VMM_X86_DECODE_UNKNOWN);
    static const uint8_t t[] = {0xdd, 0x05, 0x10};
    g_assert_cmpint(dec(64, t, sizeof(t), &i), ==, VMM_X86_DECODE_FETCH);
}

/* ---- x87 ---- */

static void test_x87_host(void)
{
    VmmX86Cpu *c = make_cpu(PROT32);
    /* fldpi; fld1; faddp; fsqrt; fstp qword [0x9000] */
    CODE(c, 0xd9, 0xeb, 0xd9, 0xe8, 0xde, 0xc1, 0xd9, 0xfa, 0xdd, 0x1d, 0x00, 0x90, 0x00, 0x00);
    for (int k = 0; k < 5; k++) {
        g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
        g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    }
    g_assert_cmphex(c->regs.rip, ==, 0x1000 + 14);
    double host;
    __asm__ volatile("fninit; fldpi; fld1; faddp; fsqrt; fstpl %0; fninit" : "=m"(host));
    g_assert_cmpmem(mem + 0x9000, 8, &host, 8);
    /* The stack is empty again: TOP back to 0, all tags empty. */
    uint16_t fsw;
    memcpy(&fsw, c->fx + VMM_X87_FX_FSW, 2);
    g_assert_cmphex((fsw >> 11) & 7, ==, 0);
    g_assert_cmphex(vmm_x87_full_tag(c->fx), ==, 0xffff);

    /* fld1; fldz; fcomi st0, st1 (0 < 1: CF); fcmovb st0, st1 (taken);
     * fstp qword [0x9008]; fstp st0 */
    c->regs.rflags = 0x8c2; /* OF, SF, ZF: fcomi must clear them */
    CODE(c, 0xd9, 0xe8, 0xd9, 0xee, 0xdb, 0xf1, 0xda, 0xc1, 0xdd, 0x1d, 0x08, 0x90, 0x00, 0x00,
         0xdd, 0xd8);
    for (int k = 0; k < 3; k++) {
        g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    }
    g_assert_cmphex(c->regs.rflags, ==, 0x3);
    for (int k = 0; k < 3; k++) {
        g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    }
    double one = 1.0;
    g_assert_cmpmem(mem + 0x9008, 8, &one, 8);
    /* fcmov and the others leave EFLAGS alone. */
    g_assert_cmphex(c->regs.rflags, ==, 0x3);
    g_free(c);
}

static void test_x87_control(void)
{
    VmmX86Cpu *c = make_cpu(PROT32);
    /* fld1; fnsave [0x9000]; (fninit implied) fnstcw [0x9100]; frstor [0x9000];
     * fnstsw ax */
    CODE(c, 0xd9, 0xe8, 0xdd, 0x35, 0x00, 0x90, 0x00, 0x00, 0xd9, 0x3d, 0x00, 0x91, 0x00, 0x00,
         0xdd, 0x25, 0x00, 0x90, 0x00, 0x00, 0xdf, 0xe0);
    for (int k = 0; k < 5; k++) {
        g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
        g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    }
    /* 32-bit protected-mode image: FCW, FSW (TOP = 7), full tag (ST0 valid), FIP, regs. */
    uint16_t w;
    memcpy(&w, mem + 0x9000, 2);
    g_assert_cmphex(w, ==, 0x37f);
    memcpy(&w, mem + 0x9004, 2);
    g_assert_cmphex((w >> 11) & 7, ==, 7);
    memcpy(&w, mem + 0x9008, 2);
    g_assert_cmphex(w, ==, 0x3fff);
    uint32_t fip;
    memcpy(&fip, mem + 0x900c, 4);
    g_assert_cmphex(fip, ==, 0x1000); /* the fld1 */
    long double one = 1.0L;
    g_assert_cmpmem(mem + 0x9000 + 28, 10, &one, 10);
    /* fnsave re-initialised the FPU. */
    memcpy(&w, mem + 0x9100, 2);
    g_assert_cmphex(w, ==, 0x37f);
    /* frstor brought TOP = 7 back; fnstsw ax shows it. */
    g_assert_cmphex((c->regs.rax >> 11) & 7, ==, 7);
    g_assert_cmphex(c->fx[VMM_X87_FX_FTW], ==, 0x80);
    g_free(c);
}

static void test_x87_exceptions(void)
{
    VmmX86Cpu *c = make_cpu(PROT32);
    /* Pending unmasked zero-divide: fwait raises #MF with CR0.NE. */
    uint16_t fcw = 0x37b, fsw = 0x0004;
    memcpy(c->fx + VMM_X87_FX_FCW, &fcw, 2);
    memcpy(c->fx + VMM_X87_FX_FSW, &fsw, 2);
    CODE(c, 0x9b, 0xd9, 0xe8);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_EXCEPTION);
    g_assert_cmpuint(c->event.vector, ==, 16);
    g_assert_cmphex(c->regs.rip, ==, 0x1000);
    /* Without CR0.NE: FERR# (IRQ 13) and the instruction completes. */
    c->sregs.cr0 &= ~0x20ull;
    ferr_count = 0;
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    g_assert_cmpuint(ferr_count, ==, 1);
    g_assert_cmphex(c->regs.rip, ==, 0x1001);
    /* fld1 with the exception still pending runs on the host without trapping it. */
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(ferr_count, ==, 2);
    g_assert_cmphex(c->regs.rip, ==, 0x1003);
    /* CR0.TS: #NM for x87, and for fwait only together with MP. */
    c->regs.rip = 0x1000;
    c->sregs.cr0 |= 0x8;
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    c->sregs.cr0 |= 0x2;
    c->regs.rip = 0x1000;
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 7);
    /* Reserved x87 encoding: #UD. */
    c->sregs.cr0 &= ~0xaull;
    c->regs.rip = 0x1000;
    CODE(c, 0xd9, 0xd1);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 6);
    g_free(c);
}

/* ---- interrupts ---- */

static void test_real_mode_int(void)
{
    VmmX86Cpu *c = make_cpu(REAL);
    /* IVT[0x10] = 0x2000:0x0030 */
    uint16_t ivt[2] = {0x0030, 0x2000};
    memcpy(mem + 0x10 * 4, ivt, 4);
    c->regs.rflags = 0x202 | 0x100;
    CODE(c, 0xcd, 0x10);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    g_assert_cmphex(c->sregs.cs.selector, ==, 0x2000);
    g_assert_cmphex(c->sregs.cs.base, ==, 0x20000);
    g_assert_cmphex(c->regs.rip, ==, 0x30);
    g_assert_cmphex(c->regs.rsp, ==, 0x8000 - 6);
    g_assert_cmphex(c->regs.rflags & 0x300, ==, 0);
    uint16_t frame[3];
    memcpy(frame, mem + 0x8000 - 6, 6);
    g_assert_cmphex(frame[0], ==, 2);     /* IP after int */
    g_assert_cmphex(frame[1], ==, 0x100); /* CS */
    g_assert_cmphex(frame[2], ==, 0x302); /* FLAGS */
    /* iret back */
    memcpy(mem + 0x20030, (uint8_t[]){0xcf}, 1);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmphex(c->sregs.cs.selector, ==, 0x100);
    g_assert_cmphex(c->regs.rip, ==, 2);
    g_assert_cmphex(c->regs.rsp, ==, 0x8000);
    g_assert_cmphex(c->regs.rflags, ==, 0x302);
    /* Unknown instruction in real mode: #UD through IVT[6]. */
    uint16_t ud[2] = {0x0040, 0x2000};
    memcpy(mem + 6 * 4, ud, 4);
    CODE(c, 0x0f, 0xa2);
    uint64_t unknown_before = vmm_x86_emul_total();
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_UNKNOWN);
    g_assert_cmpuint(vmm_x86_emul_total(), ==, unknown_before + 1);
    g_assert_cmphex(c->regs.rip, ==, 0x40);
    memcpy(frame, mem + 0x8000 - 6, 6);
    g_assert_cmphex(frame[0], ==, 2); /* faults push the instruction's own IP */
    g_free(c);
}

static void gate32(unsigned vec, uint8_t type_attr)
{
    uint8_t g[8] = {0x00, 0x50, 0x08, 0x00, 0x00, type_attr, 0x00, 0x00};
    memcpy(mem + 0x2000 + vec * 8, g, 8);
}

static void test_prot_int(void)
{
    VmmX86Cpu *c = make_cpu(PROT32);
    gate32(0x30, 0x8e);
    gate32(0x31, 0x0e); /* not present */
    CODE(c, 0xcd, 0x30);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_INTERRUPT);
    g_assert_cmpuint(c->event.vector, ==, 0x30);
    g_assert_cmphex(c->regs.rip, ==, 0x1002);
    /* int3 likewise, into only with OF */
    c->regs.rip = 0x1000;
    CODE(c, 0xcc);
    gate32(3, 0x8e);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 3);
    g_assert_cmphex(c->regs.rip, ==, 0x1001);
    c->regs.rip = 0x1000;
    CODE(c, 0xce);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    g_assert_cmphex(c->regs.rip, ==, 0x1001);
    /* Gate DPL 0 from CPL 3: #GP(vector*8+2), RIP unchanged. */
    c->regs.rip = 0x1000;
    c->sregs.ss.dpl = 3;
    c->sregs.cs.dpl = 3;
    CODE(c, 0xcd, 0x30);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 13);
    g_assert_cmphex(c->event.error, ==, 0x30 * 8 + 2);
    g_assert_cmphex(c->regs.rip, ==, 0x1000);
    /* Virtual-8086 mode with IOPL 0: INT n is #GP(0), INT3 is not IOPL-sensitive. */
    c->regs.rflags |= 1u << 17;
    c->sregs.cs.base = 0;
    c->regs.rip = 0x1000;
    CODE(c, 0xcd, 0x30);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 13);
    g_assert_cmphex(c->event.error, ==, 0);
    CODE(c, 0xcc);
    c->sregs.ss.dpl = 3;
    gate32(3, 0xee); /* DPL 3 */
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_INTERRUPT);
    g_assert_cmpuint(c->event.vector, ==, 3);
    c->regs.rflags &= ~(1ull << 17);
    c->regs.rip = 0x1000;
    /* Not-present gate: #NP */
    c->sregs.ss.dpl = 0;
    c->sregs.cs.dpl = 0;
    CODE(c, 0xcd, 0x31);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 11);
    g_free(c);
}

static void test_iret_outer(void)
{
    VmmX86Cpu *c = make_cpu(PROT32);
    /* GDT: 0x08 code0, 0x10 data0, 0x1b code3, 0x23 data3 */
    static const uint64_t gdt[] = {0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
                                   0x00cffb000000ffffull, 0x00cff3000000ffffull};
    memcpy(mem + 0x3000, gdt, sizeof(gdt));
    uint32_t frame[5] = {0x4000, 0x1b, 0x202, 0x7000, 0x23};
    c->regs.rsp = 0x8000 - sizeof(frame);
    memcpy(mem + c->regs.rsp, frame, sizeof(frame));
    CODE(c, 0xcf);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    g_assert_cmphex(c->regs.rip, ==, 0x4000);
    g_assert_cmphex(c->regs.rsp, ==, 0x7000);
    g_assert_cmphex(c->sregs.cs.selector, ==, 0x1b);
    g_assert_cmpuint(c->sregs.cs.dpl, ==, 3);
    g_assert_cmphex(c->sregs.ss.selector, ==, 0x23);
    g_assert_cmpuint(c->sregs.ss.dpl, ==, 3);
    g_assert_cmphex(c->regs.rflags, ==, 0x202);
    /* DS (DPL 0) is not usable at CPL 3 any more. */
    g_assert_true(c->sregs.ds.unusable);

    /* Same-privilege return to a selector beyond the GDT limit: #GP(selector). */
    VmmX86Cpu *d = make_cpu(PROT32);
    memcpy(mem + 0x3000, gdt, sizeof(gdt));
    uint32_t f2[3] = {0x4000, 0x1f8, 0x2};
    d->regs.rsp = 0x8000 - sizeof(f2);
    memcpy(mem + d->regs.rsp, f2, sizeof(f2));
    CODE(d, 0xcf);
    g_assert_cmpint(vmm_x86_emulate(d), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(d->event.vector, ==, 13);
    g_assert_cmphex(d->event.error, ==, 0x1f8);
    g_assert_cmphex(d->regs.rsp, ==, 0x8000 - sizeof(f2)); /* rolled back */
    /* NT set: nested-task return is refused with #GP(0). */
    d->regs.rflags |= 1u << 14;
    g_assert_cmpint(vmm_x86_emulate(d), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(d->event.vector, ==, 13);
    g_assert_cmphex(d->event.error, ==, 0);
    g_free(c);
    g_free(d);
}

/* ---- memory, faults, atomics ---- */

static void test_page_fault_rollback(void)
{
    VmmX86Cpu *c = make_cpu(LONG64);
    /* Map la 0x40000000.. with a 4-level walk to a not-present page table entry. */
    uint64_t e = 0x6000 | 3;
    memcpy(mem + 0x5000 + 8, &e, 8); /* PDPT[1] -> PD at 0x6000, PD[0] = 0: not present */
    /* fld1; fstp qword [0x40000010] */
    CODE(c, 0xd9, 0xe8, 0xdd, 0x1c, 0x25, 0x10, 0x00, 0x00, 0x40);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    uint8_t fx_before[512];
    memcpy(fx_before, c->fx, 512);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_EXCEPTION);
    g_assert_cmpuint(c->event.vector, ==, 14);
    g_assert_true(c->event.has_error);
    g_assert_cmphex(c->event.error, ==, 0x2); /* write, not present, supervisor */
    g_assert_cmphex(c->sregs.cr2, ==, 0x40000010);
    g_assert_true(c->sregs_dirty);
    g_assert_cmphex(c->regs.rip, ==, 0x1002);
    /* The store did not pop the FPU stack. */
    g_assert_cmpmem(c->fx, 512, fx_before, 512);
    g_free(c);
}

static void test_cmpxchg16b(void)
{
    VmmX86Cpu *c = make_cpu(LONG64);
    uint64_t v[2] = {1, 2};
    memcpy(mem + 0x9000, v, 16);
    c->regs.rax = 1;
    c->regs.rdx = 2;
    c->regs.rbx = 3;
    c->regs.rcx = 4;
    /* lock cmpxchg16b [0x9000] */
    CODE(c, 0xf0, 0x48, 0x0f, 0xc7, 0x0c, 0x25, 0x00, 0x90, 0x00, 0x00);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmphex(c->regs.rflags & 0x40, ==, 0x40);
    memcpy(v, mem + 0x9000, 16);
    g_assert_cmphex(v[0], ==, 3);
    g_assert_cmphex(v[1], ==, 4);
    /* Again: now it differs, RDX:RAX get the memory value. */
    c->regs.rip = 0x1000;
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmphex(c->regs.rflags & 0x40, ==, 0);
    g_assert_cmphex(c->regs.rax, ==, 3);
    g_assert_cmphex(c->regs.rdx, ==, 4);
    /* Misaligned: #GP(0). */
    c->regs.rip = 0x1000;
    CODE(c, 0xf0, 0x48, 0x0f, 0xc7, 0x0c, 0x25, 0x08, 0x90, 0x00, 0x00);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 13);
    /* cmpxchg8b in 32-bit code, success */
    VmmX86Cpu *d = make_cpu(PROT32);
    uint64_t q = 0x2222222211111111ull;
    memcpy(mem + 0x9000, &q, 8);
    d->regs.rax = 0x11111111;
    d->regs.rdx = 0x22222222;
    d->regs.rbx = 0x55;
    d->regs.rcx = 0x66;
    CODE(d, 0x0f, 0xc7, 0x0d, 0x00, 0x90, 0x00, 0x00);
    g_assert_cmpint(vmm_x86_emulate(d), ==, VMM_X86_EMUL_DONE);
    memcpy(&q, mem + 0x9000, 8);
    g_assert_cmphex(q, ==, 0x0000006600000055ull);
    g_free(c);
    g_free(d);
}

static void test_misc(void)
{
    VmmX86Cpu *c = make_cpu(LONG64);
    c->regs.rcx = 0xffffffff00000000ull;
    CODE(c, 0x0f, 0x01, 0xf9); /* rdtscp */
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmphex(c->regs.rax, ==, 0x55667788);
    g_assert_cmphex(c->regs.rdx, ==, 0x11223344);
    g_assert_cmphex(c->regs.rcx, ==, 7);
    /* stac; clac */
    c->regs.rip = 0x1000;
    CODE(c, 0x0f, 0x01, 0xcb, 0x0f, 0x01, 0xca);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmphex(c->regs.rflags & (1u << 18), !=, 0);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmphex(c->regs.rflags & (1u << 18), ==, 0);
    /* popcnt rax, [0x9000] with a 64-bit operand */
    uint64_t v = 0x8000000000000003ull;
    memcpy(mem + 0x9000, &v, 8);
    c->regs.rip = 0x1000;
    CODE(c, 0xf3, 0x48, 0x0f, 0xb8, 0x04, 0x25, 0x00, 0x90, 0x00, 0x00);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->regs.rax, ==, 3);
    /* xgetbv: #UD without CR4.OSXSAVE, else XCR0 */
    c->regs.rip = 0x1000;
    c->regs.rcx = 0;
    c->xcr0 = 7;
    CODE(c, 0x0f, 0x01, 0xd0);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 6);
    c->sregs.cr4 |= 1u << 18;
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    g_assert_cmpuint(c->regs.rax, ==, 7);
    /* ldmxcsr with a reserved bit: #GP */
    uint32_t mx = 0x10000;
    memcpy(mem + 0x9000, &mx, 4);
    c->regs.rip = 0x1000;
    CODE(c, 0x0f, 0xae, 0x14, 0x25, 0x00, 0x90, 0x00, 0x00);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 13);
    /* Needs the FPU state. */
    c->fpu_valid = false;
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_NEED_FPU);
    /* Counters */
    g_autofree char *st = vmm_x86_emul_stats_format();
    g_assert_nonnull(strstr(st, "rdtscp="));
    g_assert_nonnull(strstr(st, "popcnt="));
    g_free(c);
}

static void test_sse(void)
{
    VmmX86Cpu *c = make_cpu(LONG64);
    /* xmm1 = {1,2,3,4} (dwords), xmm9 = {10,20,30,40}; memory at 0x9000 = {100..400} */
    uint32_t x1[4] = {1, 2, 3, 4}, x9[4] = {10, 20, 30, 40}, m[4] = {100, 200, 300, 400};
    memcpy(c->fx + VMM_X87_FX_XMM0 + 16 * 1, x1, 16);
    memcpy(c->fx + VMM_X87_FX_XMM0 + 16 * 9, x9, 16);
    memcpy(mem + 0x9000, m, 16);
    /* paddd xmm1, xmm9 (66 41 0f fe c9); paddd xmm1, [0x9000] (66 0f fe 0c 25 00 90 00 00);
     * pshufd xmm9, xmm1, 0x1b (66 44 0f 70 c9 1b) */
    CODE(c, 0x66, 0x41, 0x0f, 0xfe, 0xc9, 0x66, 0x0f, 0xfe, 0x0c, 0x25, 0x00, 0x90, 0x00, 0x00,
         0x66, 0x44, 0x0f, 0x70, 0xc9, 0x1b);
    for (int k = 0; k < 3; k++) {
        g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
        g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    }
    uint32_t r1[4], r9[4];
    memcpy(r1, c->fx + VMM_X87_FX_XMM0 + 16 * 1, 16);
    memcpy(r9, c->fx + VMM_X87_FX_XMM0 + 16 * 9, 16);
    g_assert_cmpuint(r1[0], ==, 111);
    g_assert_cmpuint(r1[3], ==, 444);
    g_assert_cmpuint(r9[0], ==, 444);
    g_assert_cmpuint(r9[3], ==, 111);
    g_assert_cmphex(c->regs.rip, ==, 0x1000 + 20);
    /* divps by zero with ZM unmasked and OSXMMEXCPT: #XM, nothing changes. */
    uint32_t mx = 0x1f80 & ~(1u << 9);
    memcpy(c->fx + VMM_X87_FX_MXCSR, &mx, 4);
    c->sregs.cr4 |= 1u << 10;
    memset(c->fx + VMM_X87_FX_XMM0 + 16 * 2, 0, 16);
    CODE(c, 0x0f, 0x5e, 0xca); /* divps xmm1, xmm2 */
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 19);
    memcpy(r1, c->fx + VMM_X87_FX_XMM0 + 16 * 1, 16);
    g_assert_cmpuint(r1[0], ==, 111);
    /* Masked: the flag is recorded. */
    mx = 0x1f80;
    memcpy(c->fx + VMM_X87_FX_MXCSR, &mx, 4);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpint(c->event.kind, ==, VMM_X86_EVENT_NONE);
    memcpy(&mx, c->fx + VMM_X87_FX_MXCSR, 4);
    g_assert_cmphex(mx & 0x3f, ==, 0x4);
    /* Misaligned m128: #GP; no OSFXSR: #UD; MMX form (no prefix): #UD. */
    c->regs.rip = 0x1000;
    CODE(c, 0x66, 0x0f, 0xfe, 0x0c, 0x25, 0x04, 0x90, 0x00, 0x00);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 13);
    c->sregs.cr4 &= ~(1ull << 9);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 6);
    c->sregs.cr4 |= 1ull << 9;
    CODE(c, 0x0f, 0xfe, 0xc1);
    g_assert_cmpint(vmm_x86_emulate(c), ==, VMM_X86_EMUL_DONE);
    g_assert_cmpuint(c->event.vector, ==, 6);
    g_free(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmm/x86-emul/decode", test_decode);
    g_test_add_func("/vmm/x86-emul/x87-host", test_x87_host);
    g_test_add_func("/vmm/x86-emul/x87-control", test_x87_control);
    g_test_add_func("/vmm/x86-emul/x87-exceptions", test_x87_exceptions);
    g_test_add_func("/vmm/x86-emul/real-mode-int", test_real_mode_int);
    g_test_add_func("/vmm/x86-emul/prot-int", test_prot_int);
    g_test_add_func("/vmm/x86-emul/iret-outer", test_iret_outer);
    g_test_add_func("/vmm/x86-emul/page-fault-rollback", test_page_fault_rollback);
    g_test_add_func("/vmm/x86-emul/cmpxchg16b", test_cmpxchg16b);
    g_test_add_func("/vmm/x86-emul/misc", test_misc);
    g_test_add_func("/vmm/x86-emul/sse", test_sse);
    return g_test_run();
}
