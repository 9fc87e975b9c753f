/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-x86-emul"
#include <errno.h>
#include <string.h>

#include "emulate.h"
#include "mmu.h"
#include "x87.h"

/* Exception vectors. */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_BP = 3, EXC_OF = 4, EXC_UD = 6, EXC_NM = 7, EXC_DF = 8,
    EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16,
};

#define FL_CF (1ull << 0)
#define FL_PF (1ull << 2)
#define FL_AF (1ull << 4)
#define FL_ZF (1ull << 6)
#define FL_SF (1ull << 7)
#define FL_TF (1ull << 8)
#define FL_IF (1ull << 9)
#define FL_DF (1ull << 10)
#define FL_OF (1ull << 11)
#define FL_IOPL (3ull << 12)
#define FL_NT (1ull << 14)
#define FL_RF (1ull << 16)
#define FL_VM (1ull << 17)
#define FL_AC (1ull << 18)
#define FL_VIF (1ull << 19)
#define FL_VIP (1ull << 20)
#define FL_ID (1ull << 21)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR4_TSD (1ull << 2)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXSAVE (1ull << 18)
#define EFER_LMA (1ull << 10)

#define MSR_IA32_TSC 0x10
#define MSR_TSC_AUX 0xc0000103

/* Decoder flags of a table entry. */
enum {
    F_MODRM = 1u << 0,
    F_MEM = 1u << 1,   /* ModRM must address memory */
    F_IMM8 = 1u << 2,
    F_NOPFX = 1u << 3, /* no 66/F2/F3 prefix allowed */
    F_F3 = 1u << 4,    /* mandatory F3 prefix */
};

typedef struct Emu Emu;
typedef void (*Handler)(Emu *e);

typedef struct {
    const char *name;
    uint8_t map;
    uint8_t opcode;
    int16_t reg;   /* required ModRM.reg, or -1 */
    int16_t modrm; /* required ModRM byte, or -1 */
    uint8_t flags;
    Handler fn;
} Entry;

struct Emu {
    VmmX86Cpu *cpu;
    VmmX86Insn i;
    unsigned mode_bits;
    bool real, v86, prot, long_mode, long64;
    unsigned cpl;
    uint64_t next_rip;
    bool fault; /* an exception was raised: roll back */
};

/* ---- helpers -------------------------------------------------------------------------- */

static struct kvm_segment *seg_ptr(struct kvm_sregs *s, int seg)
{
    switch (seg) {
    case VMM_X86_SEG_ES:
        return &s->es;
    case VMM_X86_SEG_CS:
        return &s->cs;
    case VMM_X86_SEG_SS:
        return &s->ss;
    case VMM_X86_SEG_FS:
        return &s->fs;
    case VMM_X86_SEG_GS:
        return &s->gs;
    default:
        return &s->ds;
    }
}

/* x86 register number (0 = rAX ... 15 = r15) to kvm_regs field. */
static __u64 *gpr(VmmX86Cpu *cpu, unsigned n)
{
    struct kvm_regs *r = &cpu->regs;
    __u64 *map[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi,
                         &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13,
                         &r->r14, &r->r15};
    return map[n & 15];
}

static uint64_t size_mask(unsigned bytes)
{
    return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

/* Register write with x86 semantics: 32-bit writes zero the upper half, 8/16-bit merge. */
static void set_gpr(VmmX86Cpu *cpu, unsigned n, unsigned bytes, uint64_t v)
{
    __u64 *r = gpr(cpu, n);
    if (bytes == 4) {
        *r = (uint32_t)v;
    } else if (bytes == 8) {
        *r = v;
    } else {
        *r = (*r & ~size_mask(bytes)) | (v & size_mask(bytes));
    }
    cpu->regs_dirty = true;
}

static void throw_exc(Emu *e, uint8_t vector, bool has_error, uint32_t error)
{
    if (e->fault) {
        return; /* keep the first */
    }
    e->fault = true;
    e->cpu->event.kind = VMM_X86_EVENT_EXCEPTION;
    e->cpu->event.vector = vector;
    /* Real mode pushes no error codes. */
    e->cpu->event.has_error = has_error && !e->real;
    e->cpu->event.error = error;
}

static void raise_gp0(Emu *e)
{
    throw_exc(e, EXC_GP, true, 0);
}

static void raise_ud(Emu *e)
{
    throw_exc(e, EXC_UD, false, 0);
}

static bool canonical(uint64_t la)
{
    /* 48-bit linear addresses; 57-bit when CR4.LA57 is not considered: good enough. */
    return (uint64_t)(((int64_t)(la << 16)) >> 16) == la;
}

static bool segment_linear(Emu *e, int seg, uint64_t off, unsigned len, bool write,
                           uint64_t *la)
{
    struct kvm_segment *s = seg_ptr(&e->cpu->sregs, seg);
    uint8_t vec = seg == VMM_X86_SEG_SS ? EXC_SS : EXC_GP;

    if (e->long64) {
        uint64_t base = (seg == VMM_X86_SEG_FS || seg == VMM_X86_SEG_GS) ? s->base : 0;
        *la = base + off;
        if (!canonical(*la) || !canonical(*la + len - 1)) {
            throw_exc(e, vec, true, 0);
            return false;
        }
        return true;
    }
    if (e->prot && !e->v86) {
        if (s->unusable || !s->present) {
            throw_exc(e, vec, true, 0);
            return false;
        }
        bool code = s->type & 8;
        if (write && (code || !(s->type & 2))) {
            throw_exc(e, vec, true, 0);
            return false;
        }
        if (!write && code && !(s->type & 2)) {
            throw_exc(e, vec, true, 0);
            return false;
        }
    }
    uint64_t last = off + len - 1;
    bool expand_down = !(s->type & 8) && (s->type & 4) && e->prot && !e->v86;
    if (expand_down) {
        uint64_t max = s->db ? 0xffffffffull : 0xffffull;
        if (off <= s->limit || last > max) {
            throw_exc(e, vec, true, 0);
            return false;
        }
    } else if (last > s->limit) {
        throw_exc(e, vec, true, 0);
        return false;
    }
    *la = (s->base + off) & 0xffffffffull;
    return true;
}

static VmmX86Paging paging_of(Emu *e)
{
    VmmX86Paging p = {
        .cr0 = e->cpu->sregs.cr0,
        .cr3 = e->cpu->sregs.cr3,
        .cr4 = e->cpu->sregs.cr4,
        .efer = e->cpu->sregs.efer,
        .read_phys = e->cpu->ops->read_phys,
        .write_phys = e->cpu->ops->write_phys,
        .opaque = e->cpu->opaque,
    };
    return p;
}

/* Translates one linear range (at most two pages) for @acc; raises #PF on failure. */
static bool translate(Emu *e, uint64_t la, unsigned len, unsigned acc, uint64_t gpa[2],
                      unsigned *first_len)
{
    VmmX86Paging p = paging_of(e);
    uint64_t page_left = 0x1000 - (la & 0xfff);
    unsigned n1 = len < page_left ? len : (unsigned)page_left;
    uint32_t err;

    if (e->cpl == 3 && !(acc & VMM_X86_ACC_NO_AD)) {
        acc |= VMM_X86_ACC_USER;
    }
    for (unsigned k = 0; k < 2; k++) {
        uint64_t a = k == 0 ? la : la + n1;
        if (k == 1 && n1 == len) {
            gpa[1] = 0;
            break;
        }
        VmmX86XlateResult r = vmm_x86_mmu_translate(&p, a, acc & ~VMM_X86_ACC_NO_AD, &gpa[k],
                                                    &err);
        if (r == VMM_X86_XLATE_PF) {
            e->cpu->sregs.cr2 = a;
            e->cpu->sregs_dirty = true;
            throw_exc(e, EXC_PF, true, err);
            return false;
        }
        if (r != VMM_X86_XLATE_OK) {
            /* Page tables outside RAM: what the hardware would do is undefined; #GP. */
            raise_gp0(e);
            return false;
        }
    }
    *first_len = n1;
    return true;
}

static bool linear_read(Emu *e, uint64_t la, void *buf, unsigned len, unsigned acc)
{
    uint64_t gpa[2];
    unsigned n1;
    if (!translate(e, la, len, acc, gpa, &n1)) {
        return false;
    }
    if (e->cpu->ops->read_phys(e->cpu->opaque, gpa[0], buf, n1) < 0 ||
        (len > n1 &&
         e->cpu->ops->read_phys(e->cpu->opaque, gpa[1], (uint8_t *)buf + n1, len - n1) < 0)) {
        /* Not RAM (MMIO): reads as all ones, like an unclaimed bus. */
        memset(buf, 0xff, len);
    }
    return true;
}

static bool linear_write(Emu *e, uint64_t la, const void *buf, unsigned len)
{
    uint64_t gpa[2];
    unsigned n1;
    if (!translate(e, la, len, VMM_X86_ACC_WRITE, gpa, &n1)) {
        return false;
    }
    /* Writes outside RAM (ROM, MMIO) are dropped. */
    e->cpu->ops->write_phys(e->cpu->opaque, gpa[0], buf, n1);
    if (len > n1) {
        e->cpu->ops->write_phys(e->cpu->opaque, gpa[1], (const uint8_t *)buf + n1, len - n1);
    }
    return true;
}

static bool mem_read(Emu *e, int seg, uint64_t off, void *buf, unsigned len)
{
    uint64_t la;
    return segment_linear(e, seg, off, len, false, &la) && linear_read(e, la, buf, len, 0);
}

static bool mem_write(Emu *e, int seg, uint64_t off, const void *buf, unsigned len)
{
    uint64_t la;
    return segment_linear(e, seg, off, len, true, &la) && linear_write(e, la, buf, len);
}

/* Checks that a write would succeed (segment and paging) without writing. */
static bool mem_probe_write(Emu *e, int seg, uint64_t off, unsigned len)
{
    uint64_t la, gpa[2];
    unsigned n1;
    return segment_linear(e, seg, off, len, true, &la) &&
           translate(e, la, len, VMM_X86_ACC_WRITE | VMM_X86_ACC_NO_AD, gpa, &n1);
}

/* Effective address of the ModRM memory operand (offset within its segment). */
static uint64_t ea(Emu *e)
{
    VmmX86Insn *i = &e->i;
    uint64_t a = (uint64_t)i->disp;
    if (i->base_reg == 16) {
        a += e->next_rip;
    } else if (i->base_reg >= 0) {
        a += *gpr(e->cpu, (unsigned)i->base_reg);
    }
    if (i->index_reg >= 0) {
        a += *gpr(e->cpu, (unsigned)i->index_reg) << i->scale;
    }
    return a & size_mask(i->addrsize);
}

static int ea_seg(Emu *e)
{
    VmmX86Insn *i = &e->i;
    if (i->seg >= 0) {
        return i->seg;
    }
    if (i->addrsize == 2) {
        /* bp-based 16-bit forms default to SS. */
        return (i->base_reg == 5) ? VMM_X86_SEG_SS : VMM_X86_SEG_DS;
    }
    return (i->base_reg == 4 || i->base_reg == 5) ? VMM_X86_SEG_SS : VMM_X86_SEG_DS;
}

static unsigned stack_size(Emu *e)
{
    if (e->long64) {
        return 8;
    }
    return e->cpu->sregs.ss.db ? 4 : 2;
}

static bool push(Emu *e, uint64_t v, unsigned bytes)
{
    unsigned ss = stack_size(e);
    uint64_t rsp = (e->cpu->regs.rsp - bytes) & size_mask(ss);
    if (!mem_write(e, VMM_X86_SEG_SS, rsp, &v, bytes)) {
        return false;
    }
    e->cpu->regs.rsp = (e->cpu->regs.rsp & ~size_mask(ss)) | rsp;
    e->cpu->regs_dirty = true;
    return true;
}

static bool pop(Emu *e, uint64_t *v, unsigned bytes)
{
    unsigned ss = stack_size(e);
    uint64_t rsp = e->cpu->regs.rsp & size_mask(ss);
    uint64_t val = 0;
    if (!mem_read(e, VMM_X86_SEG_SS, rsp, &val, bytes)) {
        return false;
    }
    *v = val;
    e->cpu->regs.rsp = (e->cpu->regs.rsp & ~size_mask(ss)) | ((rsp + bytes) & size_mask(ss));
    e->cpu->regs_dirty = true;
    return true;
}

static void finish(Emu *e)
{
    e->cpu->regs.rip = e->next_rip;
    e->cpu->regs_dirty = true;
}

/* ---- decoder -------------------------------------------------------------------------- */

static void h_fwait(Emu *e);
static void h_x87(Emu *e);
static void h_int3(Emu *e);
static void h_int(Emu *e);
static void h_into(Emu *e);
static void h_iret(Emu *e);
static void h_cmpxchg8b16b(Emu *e);
static void h_rdtscp(Emu *e);
static void h_clac(Emu *e);
static void h_stac(Emu *e);
static void h_xgetbv(Emu *e);
static void h_ldmxcsr(Emu *e);
static void h_stmxcsr(Emu *e);
static void h_fxsave(Emu *e);
static void h_fxrstor(Emu *e);
static void h_popcnt(Emu *e);
static void h_ud2(Emu *e);

/*
 * The instruction table. The first entry matching (map, opcode, prefix, ModRM) wins, so
 * specific forms come before the generic x87 rows. To add an instruction: add a line here
 * and a handler below (docs/emulation.md).
 */
static const Entry table[] = {
    {"fwait", 0, 0x9b, -1, -1, 0, h_fwait},
    {"fninit", 0, 0xdb, -1, 0xe3, F_MODRM, h_x87},
    {"fnclex", 0, 0xdb, -1, 0xe2, F_MODRM, h_x87},
    {"fnstsw", 0, 0xdf, -1, 0xe0, F_MODRM, h_x87},
    {"fnstsw", 0, 0xdd, 7, -1, F_MODRM | F_MEM, h_x87},
    {"fnstcw", 0, 0xd9, 7, -1, F_MODRM | F_MEM, h_x87},
    {"fldcw", 0, 0xd9, 5, -1, F_MODRM | F_MEM, h_x87},
    {"fnstenv", 0, 0xd9, 6, -1, F_MODRM | F_MEM, h_x87},
    {"fldenv", 0, 0xd9, 4, -1, F_MODRM | F_MEM, h_x87},
    {"fnsave", 0, 0xdd, 6, -1, F_MODRM | F_MEM, h_x87},
    {"frstor", 0, 0xdd, 4, -1, F_MODRM | F_MEM, h_x87},
    {"x87-d8", 0, 0xd8, -1, -1, F_MODRM, h_x87},
    {"x87-d9", 0, 0xd9, -1, -1, F_MODRM, h_x87},
    {"x87-da", 0, 0xda, -1, -1, F_MODRM, h_x87},
    {"x87-db", 0, 0xdb, -1, -1, F_MODRM, h_x87},
    {"x87-dc", 0, 0xdc, -1, -1, F_MODRM, h_x87},
    {"x87-dd", 0, 0xdd, -1, -1, F_MODRM, h_x87},
    {"x87-de", 0, 0xde, -1, -1, F_MODRM, h_x87},
    {"x87-df", 0, 0xdf, -1, -1, F_MODRM, h_x87},
    {"int3", 0, 0xcc, -1, -1, 0, h_int3},
    {"int", 0, 0xcd, -1, -1, F_IMM8, h_int},
    {"into", 0, 0xce, -1, -1, 0, h_into},
    {"iret", 0, 0xcf, -1, -1, 0, h_iret},
    {"ud2", 1, 0x0b, -1, -1, 0, h_ud2},
    {"rdtscp", 1, 0x01, -1, 0xf9, F_MODRM, h_rdtscp},
    {"clac", 1, 0x01, -1, 0xca, F_MODRM, h_clac},
    {"stac", 1, 0x01, -1, 0xcb, F_MODRM, h_stac},
    {"xgetbv", 1, 0x01, -1, 0xd0, F_MODRM, h_xgetbv},
    {"fxsave", 1, 0xae, 0, -1, F_MODRM | F_MEM | F_NOPFX, h_fxsave},
    {"fxrstor", 1, 0xae, 1, -1, F_MODRM | F_MEM | F_NOPFX, h_fxrstor},
    {"ldmxcsr", 1, 0xae, 2, -1, F_MODRM | F_MEM | F_NOPFX, h_ldmxcsr},
    {"stmxcsr", 1, 0xae, 3, -1, F_MODRM | F_MEM | F_NOPFX, h_stmxcsr},
    {"cmpxchg8b/16b", 1, 0xc7, 1, -1, F_MODRM | F_MEM, h_cmpxchg8b16b},
    {"popcnt", 1, 0xb8, -1, -1, F_MODRM | F_F3, h_popcnt},
};

#define N_ENTRIES G_N_ELEMENTS(table)
#define COUNTER_UNKNOWN N_ENTRIES
static uint64_t counters[N_ENTRIES + 1];

static bool opcode_has_modrm(unsigned map, uint8_t op, bool *known, bool *imm8)
{
    *known = false;
    *imm8 = false;
    for (size_t k = 0; k < N_ENTRIES; k++) {
        if (table[k].map == map && table[k].opcode == op) {
            *known = true;
            *imm8 = table[k].flags & F_IMM8;
            return table[k].flags & F_MODRM;
        }
    }
    return false;
}

typedef struct {
    VmmX86FetchFn fetch;
    void *opaque;
    unsigned pos;
    bool failed;
    bool too_long;
} Fetcher;

static uint8_t next_byte(Fetcher *f)
{
    uint8_t b = 0;
    if (f->failed || f->too_long) {
        return 0;
    }
    if (f->pos >= 15) {
        f->too_long = true;
        return 0;
    }
    if (f->fetch(f->opaque, f->pos, &b) < 0) {
        f->failed = true;
        return 0;
    }
    f->pos++;
    return b;
}

static uint64_t next_le(Fetcher *f, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < bytes; k++) {
        v |= (uint64_t)next_byte(f) << (8 * k);
    }
    return v;
}

static void decode_modrm(Fetcher *f, VmmX86Insn *i)
{
    i->modrm = next_byte(f);
    i->mod = i->modrm >> 6;
    i->reg = (uint8_t)(((i->modrm >> 3) & 7) | ((i->rex & 4) ? 8 : 0));
    i->rm = i->modrm & 7;
    i->base_reg = -1;
    i->index_reg = -1;
    i->scale = 0;
    i->disp = 0;
    if (i->mod == 3) {
        i->rm = (uint8_t)(i->rm | ((i->rex & 1) ? 8 : 0));
        return;
    }
    if (i->addrsize == 2) {
        static const int8_t base16[8] = {3, 3, 5, 5, 6, 7, 5, 3};
        static const int8_t index16[8] = {6, 7, 6, 7, -1, -1, -1, -1};
        if (i->mod == 0 && i->rm == 6) {
            i->disp = (int16_t)next_le(f, 2);
            return;
        }
        i->base_reg = base16[i->rm];
        i->index_reg = index16[i->rm];
        if (i->mod == 1) {
            i->disp = (int8_t)next_byte(f);
        } else if (i->mod == 2) {
            i->disp = (int16_t)next_le(f, 2);
        }
        return;
    }
    unsigned rm = i->rm;
    if (rm == 4) {
        i->has_sib = true;
        i->sib = next_byte(f);
        unsigned index = ((i->sib >> 3) & 7) | ((i->rex & 2) ? 8 : 0);
        unsigned base = (i->sib & 7) | ((i->rex & 1) ? 8 : 0);
        i->scale = i->sib >> 6;
        i->index_reg = index == 4 ? -1 : (int)index;
        if ((i->sib & 7) == 5 && i->mod == 0) {
            i->base_reg = -1;
            i->disp = (int32_t)next_le(f, 4);
            return;
        }
        i->base_reg = (int)base;
    } else if (rm == 5 && i->mod == 0) {
        i->disp = (int32_t)next_le(f, 4);
        i->base_reg = i->addrsize == 8 ? 16 : -1; /* RIP-relative in 64-bit mode */
        if (i->addrsize == 8) {
            /* In 64-bit mode with a 32-bit address size it is EIP-relative: same math. */
        }
        return;
    } else {
        i->base_reg = (int)(rm | ((i->rex & 1) ? 8 : 0));
    }
    if (i->mod == 1) {
        i->disp = (int8_t)next_byte(f);
    } else if (i->mod == 2) {
        i->disp = (int32_t)next_le(f, 4);
    }
}

VmmX86DecodeResult vmm_x86_decode(unsigned mode_bits, VmmX86FetchFn fetch, void *opaque,
                                  VmmX86Insn *i)
{
    Fetcher f = {.fetch = fetch, .opaque = opaque};
    bool long64 = mode_bits == 64;
    uint8_t b;

    memset(i, 0, sizeof(*i));
    i->seg = -1;
    i->entry = -1;
    i->base_reg = -1;
    i->index_reg = -1;
    bool addr_prefix = false;

    for (;;) {
        b = next_byte(&f);
        if (f.failed || f.too_long) {
            break;
        }
        switch (b) {
        case 0x66:
            i->opsize_prefix = true;
            i->rex = 0;
            continue;
        case 0x67:
            addr_prefix = true;
            i->rex = 0;
            continue;
        case 0xf0:
            i->lock = true;
            i->rex = 0;
            continue;
        case 0xf2:
            i->repne = true;
            i->rep = false;
            i->rex = 0;
            continue;
        case 0xf3:
            i->rep = true;
            i->repne = false;
            i->rex = 0;
            continue;
        case 0x26:
        case 0x2e:
        case 0x36:
        case 0x3e:
            /* In 64-bit mode ES/CS/SS/DS overrides are ignored. */
            if (!long64) {
                i->seg = (b >> 3) & 3;
            }
            i->rex = 0;
            continue;
        case 0x64:
        case 0x65:
            i->seg = b == 0x64 ? VMM_X86_SEG_FS : VMM_X86_SEG_GS;
            i->rex = 0;
            continue;
        default:
            break;
        }
        if (long64 && (b & 0xf0) == 0x40) {
            i->rex = b;
            continue;
        }
        break;
    }
    if (f.failed) {
        return VMM_X86_DECODE_FETCH;
    }
    if (f.too_long) {
        return VMM_X86_DECODE_TOO_LONG;
    }

    if (long64) {
        i->opsize = (i->rex & 8) ? 8 : (i->opsize_prefix ? 2 : 4);
        i->addrsize = addr_prefix ? 4 : 8;
    } else {
        unsigned def = mode_bits == 32 ? 4 : 2;
        i->opsize = i->opsize_prefix ? (6 - def) : def;
        i->addrsize = addr_prefix ? (6 - def) : def;
    }

    i->map = 0;
    if (b == 0x0f) {
        b = next_byte(&f);
        i->map = 1;
        if (b == 0x38 || b == 0x3a) {
            i->map = b == 0x38 ? 2 : 3;
            b = next_byte(&f);
        }
    }
    i->opcode = b;
    bool known, imm8;
    i->has_modrm = opcode_has_modrm(i->map, b, &known, &imm8);
    if (i->has_modrm) {
        decode_modrm(&f, i);
    }
    if (imm8) {
        i->imm = next_byte(&f);
    }
    if (f.failed) {
        return VMM_X86_DECODE_FETCH;
    }
    if (f.too_long) {
        return VMM_X86_DECODE_TOO_LONG;
    }
    i->len = f.pos;
    if (!known) {
        return VMM_X86_DECODE_UNKNOWN;
    }
    for (size_t k = 0; k < N_ENTRIES; k++) {
        const Entry *t = &table[k];
        if (t->map != i->map || t->opcode != i->opcode) {
            continue;
        }
        if (t->reg >= 0 && (i->mod == 3 || ((i->modrm >> 3) & 7) != t->reg)) {
            continue;
        }
        if (t->modrm >= 0 && i->modrm != t->modrm) {
            continue;
        }
        if ((t->flags & F_MEM) && i->mod == 3) {
            continue;
        }
        if ((t->flags & F_NOPFX) && (i->opsize_prefix || i->rep || i->repne)) {
            continue;
        }
        if ((t->flags & F_F3) && !i->rep) {
            continue;
        }
        i->entry = (int)k;
        i->name = t->name;
        return VMM_X86_DECODE_OK;
    }
    return VMM_X86_DECODE_UNKNOWN;
}

/* ---- instructions --------------------------------------------------------------------- */

/* Real-mode (and virtual-8086 IOPL 3 INT n) delivery through the IVT. */
static void deliver_real(Emu *e, uint8_t vector, uint64_t return_ip)
{
    VmmX86Cpu *cpu = e->cpu;
    uint8_t vec[4];
    uint64_t la = cpu->sregs.idt.base + vector * 4u;

    if (vector * 4u + 3 > cpu->sregs.idt.limit) {
        raise_gp0(e);
        return;
    }
    if (!linear_read(e, la & 0xfffff, vec, 4, 0)) {
        return;
    }
    uint64_t fl = cpu->regs.rflags;
    if (!push(e, fl & 0xffff, 2) || !push(e, cpu->sregs.cs.selector, 2) ||
        !push(e, return_ip & 0xffff, 2)) {
        return;
    }
    cpu->regs.rflags &= ~(FL_IF | FL_TF | FL_AC | FL_RF);
    cpu->sregs.cs.selector = (uint16_t)(vec[2] | vec[3] << 8);
    cpu->sregs.cs.base = (uint64_t)cpu->sregs.cs.selector << 4;
    cpu->regs.rip = (uint64_t)(vec[0] | vec[1] << 8);
    cpu->regs_dirty = true;
    cpu->sregs_dirty = true;
}

/* Reads the 8-byte IDT gate of @vector in protected/long mode (16 bytes in long mode). */
static bool idt_gate_dpl(Emu *e, uint8_t vector, unsigned *dpl, bool *present)
{
    unsigned size = e->long_mode ? 16 : 8;
    uint8_t g[8];
    if ((uint32_t)vector * size + size - 1 > e->cpu->sregs.idt.limit) {
        throw_exc(e, EXC_GP, true, vector * 8u + 2);
        return false;
    }
    if (!linear_read(e, e->cpu->sregs.idt.base + (uint64_t)vector * size, g, 8,
                     VMM_X86_ACC_NO_AD)) {
        return false;
    }
    *dpl = (g[5] >> 5) & 3;
    *present = g[5] >> 7;
    return true;
}

/* Software interrupt @vector: IVT in real mode, otherwise through KVM's injection. */
static void soft_int(Emu *e, uint8_t vector, bool check_dpl)
{
    if (e->real) {
        deliver_real(e, vector, e->next_rip);
        return;
    }
    if (e->v86 && check_dpl && ((e->cpu->regs.rflags & FL_IOPL) >> 12) < 3) {
        raise_gp0(e);
        return;
    }
    unsigned dpl;
    bool present;
    if (!idt_gate_dpl(e, vector, &dpl, &present)) {
        return;
    }
    if (check_dpl && dpl < e->cpl) {
        throw_exc(e, EXC_GP, true, vector * 8u + 2);
        return;
    }
    if (!present) {
        throw_exc(e, EXC_NP, true, vector * 8u + 2);
        return;
    }
    finish(e);
    /*
     * Injected as an (external-style) interrupt with RIP already past the instruction: the
     * kernel then delivers it through the IDT with all privilege and stack switching, and
     * needs no instruction length (which KVM_SET_VCPU_EVENTS cannot carry).
     */
    e->cpu->event.kind = VMM_X86_EVENT_INTERRUPT;
    e->cpu->event.vector = vector;
    e->cpu->event.has_error = false;
}

static void h_int3(Emu *e)
{
    soft_int(e, EXC_BP, true);
}

static void h_int(Emu *e)
{
    soft_int(e, (uint8_t)e->i.imm, true);
}

static void h_into(Emu *e)
{
    if (e->long64) {
        raise_ud(e);
        return;
    }
    if (e->cpu->regs.rflags & FL_OF) {
        soft_int(e, EXC_OF, true);
    } else {
        finish(e);
    }
}

static void h_ud2(Emu *e)
{
    raise_ud(e);
}

/* Loads a descriptor for @sel from the GDT/LDT into @out. Raises #GP(sel) when outside. */
static bool load_descriptor(Emu *e, uint16_t sel, struct kvm_segment *out, uint64_t *addr)
{
    struct kvm_sregs *s = &e->cpu->sregs;
    uint64_t base, limit;
    uint8_t d[8];

    if (sel & 4) {
        if (s->ldt.unusable || !s->ldt.present) {
            throw_exc(e, EXC_GP, true, sel & 0xfffc);
            return false;
        }
        base = s->ldt.base;
        limit = s->ldt.limit;
    } else {
        base = s->gdt.base;
        limit = s->gdt.limit;
    }
    if ((uint64_t)(sel | 7) > limit) {
        throw_exc(e, EXC_GP, true, sel & 0xfffc);
        return false;
    }
    *addr = base + (sel & ~7u);
    if (!linear_read(e, *addr, d, 8, VMM_X86_ACC_NO_AD)) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->selector = sel;
    out->base = (uint64_t)d[2] | (uint64_t)d[3] << 8 | (uint64_t)d[4] << 16 |
                (uint64_t)d[7] << 24;
    uint32_t lim = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)(d[6] & 0xf) << 16;
    out->type = d[5] & 0xf;
    out->s = (d[5] >> 4) & 1;
    out->dpl = (d[5] >> 5) & 3;
    out->present = d[5] >> 7;
    out->avl = (d[6] >> 4) & 1;
    out->l = (d[6] >> 5) & 1;
    out->db = (d[6] >> 6) & 1;
    out->g = d[6] >> 7;
    out->limit = out->g ? (lim << 12) | 0xfff : lim;
    return true;
}

static void mark_accessed(Emu *e, struct kvm_segment *seg, uint64_t addr)
{
    if (!(seg->type & 1)) {
        seg->type |= 1;
        uint8_t b5 = (uint8_t)(seg->type | seg->s << 4 | seg->dpl << 5 | seg->present << 7);
        linear_write(e, addr + 5, &b5, 1);
    }
}

static struct kvm_segment real_segment(const struct kvm_segment *old, uint16_t sel, bool v86)
{
    struct kvm_segment s = *old;
    s.selector = sel;
    s.base = (uint64_t)sel << 4;
    if (v86) {
        s.limit = 0xffff;
        s.type = 3;
        s.s = 1;
        s.dpl = 3;
        s.present = 1;
        s.db = 0;
        s.l = 0;
        s.g = 0;
        s.unusable = 0;
    }
    return s;
}

/* New RFLAGS after IRET from @cpl with popped @v of @bytes. */
static uint64_t iret_flags(Emu *e, uint64_t old, uint64_t v, unsigned bytes)
{
    uint64_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_RF | FL_AC | FL_ID;
    unsigned iopl = (unsigned)((old & FL_IOPL) >> 12);
    if (e->real || e->cpl == 0) {
        mask |= FL_IOPL | FL_IF | FL_VIF | FL_VIP;
    } else if (e->cpl <= iopl) {
        mask |= FL_IF;
    }
    if (e->v86) {
        mask &= ~FL_IOPL;
        mask |= FL_IF;
    }
    if (bytes == 2) {
        mask &= 0xffff;
    }
    return ((old & ~mask) | (v & mask)) | 2;
}

static void h_iret(Emu *e)
{
    VmmX86Cpu *cpu = e->cpu;
    unsigned n = e->i.opsize;
    uint64_t ip, cs, fl;

    if (e->real || e->v86) {
        if (e->v86 && ((cpu->regs.rflags & FL_IOPL) >> 12) < 3) {
            raise_gp0(e);
            return;
        }
        if (n == 8) {
            n = 4;
        }
        if (!pop(e, &ip, n) || !pop(e, &cs, n) || !pop(e, &fl, n)) {
            return;
        }
        if (ip > cpu->sregs.cs.limit && n == 4 && (ip >> 16) != 0) {
            raise_gp0(e);
            return;
        }
        cpu->regs.rip = ip & size_mask(n);
        cpu->regs.rflags = iret_flags(e, cpu->regs.rflags, fl, n);
        cpu->sregs.cs = real_segment(&cpu->sregs.cs, (uint16_t)cs, e->v86);
        cpu->sregs_dirty = true;
        cpu->regs_dirty = true;
        return;
    }

    if (cpu->regs.rflags & FL_NT) {
        /* Task return through the TSS back link: not supported. */
        g_message("IRET with NT set (nested task return) is not emulated: #GP");
        raise_gp0(e);
        return;
    }
    if (!pop(e, &ip, n) || !pop(e, &cs, n) || !pop(e, &fl, n)) {
        return;
    }
    cs &= 0xffff;
    if (!e->long_mode && (fl & FL_VM) && e->cpl == 0 && n == 4) {
        /* Return to virtual-8086 mode: ESP, SS, ES, DS, FS, GS follow on the stack. */
        uint64_t sp, ss, es, ds, fs, gs;
        if (!pop(e, &sp, 4) || !pop(e, &ss, 4) || !pop(e, &es, 4) || !pop(e, &ds, 4) ||
            !pop(e, &fs, 4) || !pop(e, &gs, 4)) {
            return;
        }
        cpu->regs.rflags = (fl & 0x3f7fd5) | 2;
        cpu->regs.rip = ip & 0xffff;
        cpu->regs.rsp = sp;
        cpu->sregs.cs = real_segment(&cpu->sregs.cs, (uint16_t)cs, true);
        cpu->sregs.ss = real_segment(&cpu->sregs.ss, (uint16_t)ss, true);
        cpu->sregs.es = real_segment(&cpu->sregs.es, (uint16_t)es, true);
        cpu->sregs.ds = real_segment(&cpu->sregs.ds, (uint16_t)ds, true);
        cpu->sregs.fs = real_segment(&cpu->sregs.fs, (uint16_t)fs, true);
        cpu->sregs.gs = real_segment(&cpu->sregs.gs, (uint16_t)gs, true);
        cpu->sregs_dirty = true;
        cpu->regs_dirty = true;
        return;
    }
    if ((cs & 0xfffc) == 0) {
        raise_gp0(e);
        return;
    }
    struct kvm_segment ncs;
    uint64_t cs_addr;
    if (!load_descriptor(e, (uint16_t)cs, &ncs, &cs_addr)) {
        return;
    }
    unsigned rpl = cs & 3;
    bool conforming = ncs.type & 4;
    if (!ncs.s || !(ncs.type & 8) || rpl < e->cpl || (conforming && ncs.dpl > rpl) ||
        (!conforming && ncs.dpl != rpl) || (e->long_mode && ncs.l && ncs.db)) {
        throw_exc(e, EXC_GP, true, cs & 0xfffc);
        return;
    }
    if (!ncs.present) {
        throw_exc(e, EXC_NP, true, cs & 0xfffc);
        return;
    }
    bool outer = rpl > e->cpl;
    uint64_t sp = 0, ss = 0;
    struct kvm_segment nss = {0};
    uint64_t ss_addr = 0;
    if (outer || e->long64) {
        if (!pop(e, &sp, n) || !pop(e, &ss, n)) {
            return;
        }
        ss &= 0xffff;
        if ((ss & 0xfffc) == 0) {
            /* A null SS is fine only when returning to 64-bit code below CPL 3. */
            if (!(e->long_mode && ncs.l && rpl != 3)) {
                raise_gp0(e);
                return;
            }
            nss = cpu->sregs.ss;
            nss.selector = (uint16_t)ss;
            nss.unusable = 1;
            nss.dpl = (uint8_t)rpl;
        } else {
            if (!load_descriptor(e, (uint16_t)ss, &nss, &ss_addr)) {
                return;
            }
            if ((ss & 3) != rpl || nss.dpl != rpl || !nss.s || (nss.type & 8) ||
                !(nss.type & 2)) {
                throw_exc(e, EXC_GP, true, ss & 0xfffc);
                return;
            }
            if (!nss.present) {
                throw_exc(e, EXC_SS, true, ss & 0xfffc);
                return;
            }
        }
    }
    bool to64 = e->long_mode && ncs.l;
    if (!to64) {
        ip &= 0xffffffffull;
        if (ip > ncs.limit) {
            raise_gp0(e);
            return;
        }
    } else if (!canonical(ip)) {
        raise_gp0(e);
        return;
    }
    /* Commit. */
    mark_accessed(e, &ncs, cs_addr);
    cpu->regs.rflags = iret_flags(e, cpu->regs.rflags, fl, n);
    cpu->regs.rip = n == 2 ? (ip & 0xffff) : ip;
    cpu->sregs.cs = ncs;
    if (outer || e->long64) {
        if (ss_addr != 0) {
            mark_accessed(e, &nss, ss_addr);
        }
        cpu->sregs.ss = nss;
        cpu->regs.rsp = (n == 2) ? ((cpu->regs.rsp & ~0xffffull) | (sp & 0xffff)) : sp;
        if (!nss.db && !to64 && n == 4) {
            cpu->regs.rsp = sp & 0xffffffffull;
        }
    }
    if (outer) {
        /* Data segments the new privilege level may not use become null. */
        struct kvm_segment *segs[4] = {&cpu->sregs.es, &cpu->sregs.ds, &cpu->sregs.fs,
                                       &cpu->sregs.gs};
        for (unsigned k = 0; k < 4; k++) {
            struct kvm_segment *d = segs[k];
            bool conf_code = (d->type & 8) && (d->type & 4);
            if (!d->unusable && d->s && !conf_code && d->dpl < rpl) {
                d->selector = 0;
                d->unusable = 1;
                d->present = 0;
            }
        }
    }
    cpu->regs_dirty = true;
    cpu->sregs_dirty = true;
}

static void h_cmpxchg8b16b(Emu *e)
{
    VmmX86Cpu *cpu = e->cpu;
    bool wide = e->i.opsize == 8;
    unsigned len = wide ? 16 : 8;
    uint64_t off = ea(e);
    int seg = ea_seg(e);
    uint64_t la, gpa[2];
    unsigned n1;

    if (wide && (off & 15)) {
        raise_gp0(e);
        return;
    }
    if (!segment_linear(e, seg, off, len, true, &la) ||
        !translate(e, la, len, VMM_X86_ACC_WRITE, gpa, &n1)) {
        return;
    }
    uint64_t lo_cmp = wide ? cpu->regs.rax : (uint32_t)cpu->regs.rax;
    uint64_t hi_cmp = wide ? cpu->regs.rdx : (uint32_t)cpu->regs.rdx;
    uint64_t lo_new = wide ? cpu->regs.rbx : (uint32_t)cpu->regs.rbx;
    uint64_t hi_new = wide ? cpu->regs.rcx : (uint32_t)cpu->regs.rcx;
    uint64_t lo_old, hi_old;
    bool equal;
    void *host = (n1 == len && cpu->ops->map_phys != NULL)
                     ? cpu->ops->map_phys(cpu->opaque, gpa[0], len, true)
                     : NULL;

    if (host != NULL && wide) {
        /* Atomic on guest memory: other vCPUs may race with us. */
        uint64_t a = lo_cmp, d = hi_cmp;
        uint8_t ok;
        __asm__ volatile("lock cmpxchg16b %[m]\n\tsete %[ok]"
                         : [m] "+m"(*(volatile unsigned __int128 *)host), "+a"(a), "+d"(d),
                           [ok] "=q"(ok)
                         : "b"(lo_new), "c"(hi_new)
                         : "memory", "cc");
        equal = ok;
        lo_old = a;
        hi_old = d;
    } else if (host != NULL) {
        uint64_t expected = lo_cmp | hi_cmp << 32;
        equal = __atomic_compare_exchange_n((uint64_t *)host, &expected, lo_new | hi_new << 32,
                                            false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        lo_old = (uint32_t)expected;
        hi_old = expected >> 32;
    } else {
        /* Not plain RAM (or split across pages): do it non-atomically, as a locked MMIO. */
        uint8_t buf[16];
        if (!linear_read(e, la, buf, len, VMM_X86_ACC_WRITE)) {
            return;
        }
        if (wide) {
            memcpy(&lo_old, buf, 8);
            memcpy(&hi_old, buf + 8, 8);
        } else {
            uint32_t l, h;
            memcpy(&l, buf, 4);
            memcpy(&h, buf + 4, 4);
            lo_old = l;
            hi_old = h;
        }
        equal = lo_old == lo_cmp && hi_old == hi_cmp;
        if (equal) {
            if (wide) {
                memcpy(buf, &lo_new, 8);
                memcpy(buf + 8, &hi_new, 8);
            } else {
                uint32_t l = (uint32_t)lo_new, h = (uint32_t)hi_new;
                memcpy(buf, &l, 4);
                memcpy(buf + 4, &h, 4);
            }
        }
        /* The locked cycle always writes. */
        if (!linear_write(e, la, buf, len)) {
            return;
        }
    }
    if (equal) {
        cpu->regs.rflags |= FL_ZF;
    } else {
        cpu->regs.rflags &= ~FL_ZF;
        set_gpr(cpu, 0, wide ? 8 : 4, lo_old);
        set_gpr(cpu, 2, wide ? 8 : 4, hi_old);
    }
    finish(e);
}

static void h_rdtscp(Emu *e)
{
    VmmX86Cpu *cpu = e->cpu;
    uint64_t tsc = 0, aux = 0;
    if ((cpu->sregs.cr4 & CR4_TSD) && e->cpl > 0) {
        raise_gp0(e);
        return;
    }
    if (cpu->ops->read_msr == NULL || cpu->ops->read_msr(cpu->opaque, MSR_IA32_TSC, &tsc) < 0) {
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        tsc = lo | (uint64_t)hi << 32;
    }
    if (cpu->ops->read_msr != NULL) {
        cpu->ops->read_msr(cpu->opaque, MSR_TSC_AUX, &aux);
    }
    set_gpr(cpu, 0, 4, tsc);
    set_gpr(cpu, 2, 4, tsc >> 32);
    set_gpr(cpu, 1, 4, aux);
    finish(e);
}

static void h_clac(Emu *e)
{
    if (e->cpl > 0 || e->v86) {
        raise_ud(e);
        return;
    }
    e->cpu->regs.rflags &= ~FL_AC;
    finish(e);
}

static void h_stac(Emu *e)
{
    if (e->cpl > 0 || e->v86) {
        raise_ud(e);
        return;
    }
    e->cpu->regs.rflags |= FL_AC;
    finish(e);
}

static void h_xgetbv(Emu *e)
{
    VmmX86Cpu *cpu = e->cpu;
    if (!(cpu->sregs.cr4 & CR4_OSXSAVE)) {
        raise_ud(e);
        return;
    }
    if ((uint32_t)cpu->regs.rcx != 0) {
        raise_gp0(e);
        return;
    }
    set_gpr(cpu, 0, 4, cpu->xcr0);
    set_gpr(cpu, 2, 4, cpu->xcr0 >> 32);
    finish(e);
}

/* SSE state instructions: #UD without OSFXSR (ldmxcsr/stmxcsr) or with EM, #NM with TS. */
static bool sse_usable(Emu *e, bool need_osfxsr)
{
    uint64_t cr0 = e->cpu->sregs.cr0;
    if ((cr0 & CR0_EM) || (need_osfxsr && !(e->cpu->sregs.cr4 & CR4_OSFXSR))) {
        raise_ud(e);
        return false;
    }
    if (cr0 & CR0_TS) {
        throw_exc(e, EXC_NM, false, 0);
        return false;
    }
    return true;
}

static uint32_t mxcsr_mask(const VmmX86Cpu *cpu)
{
    uint32_t m;
    memcpy(&m, cpu->fx + VMM_X87_FX_MXCSR_MASK, 4);
    return m != 0 ? m : 0xffbf;
}

static void h_ldmxcsr(Emu *e)
{
    uint32_t v;
    if (!sse_usable(e, true) || !mem_read(e, ea_seg(e), ea(e), &v, 4)) {
        return;
    }
    if (v & ~mxcsr_mask(e->cpu)) {
        raise_gp0(e);
        return;
    }
    memcpy(e->cpu->fx + VMM_X87_FX_MXCSR, &v, 4);
    e->cpu->fpu_dirty = true;
    finish(e);
}

static void h_stmxcsr(Emu *e)
{
    if (!sse_usable(e, true) || !mem_write(e, ea_seg(e), ea(e), e->cpu->fx + VMM_X87_FX_MXCSR, 4)) {
        return;
    }
    finish(e);
}

static void h_fxsave(Emu *e)
{
    uint64_t off = ea(e);
    if (!sse_usable(e, false)) {
        return;
    }
    if (off & 15) {
        raise_gp0(e);
        return;
    }
    uint8_t img[512];
    memcpy(img, e->cpu->fx, 512);
    if (!e->long64) {
        memset(img + VMM_X87_FX_XMM0 + 8 * 16, 0, 8 * 16);
    }
    if (!mem_write(e, ea_seg(e), off, img, 416)) {
        return;
    }
    finish(e);
}

static void h_fxrstor(Emu *e)
{
    uint64_t off = ea(e);
    uint8_t img[512];
    uint32_t mx;
    if (!sse_usable(e, false)) {
        return;
    }
    if (off & 15) {
        raise_gp0(e);
        return;
    }
    if (!mem_read(e, ea_seg(e), off, img, 416)) {
        return;
    }
    memcpy(&mx, img + VMM_X87_FX_MXCSR, 4);
    if (mx & ~mxcsr_mask(e->cpu)) {
        raise_gp0(e);
        return;
    }
    unsigned n = e->long64 ? 416 : VMM_X87_FX_XMM0 + 8 * 16;
    /* MXCSR_MASK is read-only. */
    memcpy(img + VMM_X87_FX_MXCSR_MASK, e->cpu->fx + VMM_X87_FX_MXCSR_MASK, 4);
    memcpy(e->cpu->fx, img, n);
    e->cpu->fpu_dirty = true;
    finish(e);
}

static void h_popcnt(Emu *e)
{
    VmmX86Cpu *cpu = e->cpu;
    unsigned n = e->i.opsize;
    uint64_t v = 0;
    if (e->i.mod == 3) {
        v = *gpr(cpu, e->i.rm);
    } else if (!mem_read(e, ea_seg(e), ea(e), &v, n)) {
        return;
    }
    v &= size_mask(n);
    set_gpr(cpu, e->i.reg, n, (uint64_t)__builtin_popcountll(v));
    cpu->regs.rflags &= ~FL_ARITH;
    if (v == 0) {
        cpu->regs.rflags |= FL_ZF;
    }
    finish(e);
}

/* ---- x87 ------------------------------------------------------------------------------ */

/* The #NM and pending-exception checks every waiting x87 instruction makes. */
static bool x87_wait_check(Emu *e, bool waiting)
{
    VmmX86Cpu *cpu = e->cpu;
    if (waiting && vmm_x87_pending(cpu->fx)) {
        if (cpu->sregs.cr0 & CR0_NE) {
            throw_exc(e, EXC_MF, false, 0);
            return false;
        }
        /* Legacy FERR#: the board turns it into IRQ 13; the instruction then proceeds. */
        if (cpu->ops->ferr != NULL) {
            cpu->ops->ferr(cpu->opaque);
        }
    }
    return true;
}

static void h_fwait(Emu *e)
{
    uint64_t cr0 = e->cpu->sregs.cr0;
    if ((cr0 & CR0_TS) && (cr0 & CR0_MP)) {
        throw_exc(e, EXC_NM, false, 0);
        return;
    }
    if (!x87_wait_check(e, true)) {
        return;
    }
    finish(e);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void h_x87(Emu *e)
{
    VmmX86Cpu *cpu = e->cpu;
    uint8_t op = e->i.opcode, modrm = e->i.modrm;
    unsigned reg = (modrm >> 3) & 7;
    bool memop = e->i.mod != 3;
    unsigned size;
    VmmX87MemDir dir;
    bool op32 = e->i.opsize != 2;
    bool realfmt = e->real || e->v86;

    if (cpu->sregs.cr0 & (CR0_EM | CR0_TS)) {
        throw_exc(e, EXC_NM, false, 0);
        return;
    }
    VmmX87Class cls = vmm_x87_classify(op, modrm, &size, &dir);
    if (cls == VMM_X87_INVALID) {
        raise_ud(e);
        return;
    }
    uint64_t off = memop ? ea(e) : 0;
    int seg = memop ? ea_seg(e) : -1;

    if (cls == VMM_X87_CONTROL) {
        uint8_t buf[108];
        uint16_t w;
        if (!memop) {
            if (op == 0xdb && modrm == 0xe3) {
                vmm_x87_fninit(cpu->fx);
            } else if (op == 0xdb && modrm == 0xe2) {
                vmm_x87_fnclex(cpu->fx);
            } else if (op == 0xdf && modrm == 0xe0) {
                memcpy(&w, cpu->fx + VMM_X87_FX_FSW, 2);
                set_gpr(cpu, 0, 2, w);
            } else if (op == 0xd9 && modrm == 0xd0) {
                if (!x87_wait_check(e, true)) { /* fnop is a waiting instruction */
                    return;
                }
            }
            /* fneni/fndisi/fsetpm (db e0/e1/e4) do nothing on a 387 or later. */
            cpu->fpu_dirty = true;
            finish(e);
            return;
        }
        switch (op << 8 | reg) {
        case 0xd904: /* fldenv */
        case 0xdd04: /* frstor */ {
            unsigned n = (op32 ? 28 : 14) + (op == 0xdd ? 80 : 0);
            if (!x87_wait_check(e, true) || !mem_read(e, seg, off, buf, n)) {
                return;
            }
            if (op == 0xdd) {
                vmm_x87_restore(cpu->fx, op32, realfmt, buf);
            } else {
                vmm_x87_load_env(cpu->fx, op32, realfmt, buf);
            }
            break;
        }
        case 0xd905: /* fldcw */
            if (!x87_wait_check(e, true) || !mem_read(e, seg, off, &w, 2)) {
                return;
            }
            memcpy(cpu->fx + VMM_X87_FX_FCW, &w, 2);
            break;
        case 0xd906: /* fnstenv */ {
            unsigned n = vmm_x87_store_env(cpu->fx, op32, realfmt, buf);
            if (!mem_write(e, seg, off, buf, n)) {
                return;
            }
            /* FNSTENV then masks all exceptions. */
            memcpy(&w, cpu->fx + VMM_X87_FX_FCW, 2);
            w |= 0x3f;
            memcpy(cpu->fx + VMM_X87_FX_FCW, &w, 2);
            break;
        }
        case 0xd907: /* fnstcw */
            if (!mem_write(e, seg, off, cpu->fx + VMM_X87_FX_FCW, 2)) {
                return;
            }
            break;
        case 0xdd06: /* fnsave */ {
            unsigned n = vmm_x87_save(cpu->fx, op32, realfmt, buf);
            if (!mem_write(e, seg, off, buf, n)) {
                return;
            }
            vmm_x87_fninit(cpu->fx);
            break;
        }
        case 0xdd07: /* fnstsw m16 */
            if (!mem_write(e, seg, off, cpu->fx + VMM_X87_FX_FSW, 2)) {
                return;
            }
            break;
        default:
            raise_ud(e);
            return;
        }
        cpu->fpu_dirty = true;
        finish(e);
        return;
    }

    /* Host-executed: check, fetch the operand, run, store the operand. */
    uint8_t mem[16] __attribute__((aligned(16))) = {0};
    if (!x87_wait_check(e, true)) {
        return;
    }
    if (memop) {
        if (dir == VMM_X87_MEM_READ) {
            if (!mem_read(e, seg, off, mem, size)) {
                return;
            }
        } else {
            /* Pre-load the old bytes so a store the FPU suppresses writes back the same. */
            if (!mem_probe_write(e, seg, off, size) || !mem_read(e, seg, off, mem, size)) {
                return;
            }
        }
    }
    vmm_x87_exec_host(cpu->fx, op, modrm, mem);
    if (memop && dir == VMM_X87_MEM_WRITE && !mem_write(e, seg, off, mem, size)) {
        return;
    }
    /* Last instruction/operand pointers as the guest's FPU would record them. */
    uint32_t fip = (uint32_t)(e->real || e->v86 ? cpu->sregs.cs.base + cpu->regs.rip
                                                : cpu->regs.rip);
    uint32_t fdp = (uint32_t)(memop && (e->real || e->v86)
                                  ? seg_ptr(&cpu->sregs, seg)->base + off
                                  : off);
    put16(cpu->fx + VMM_X87_FX_FOP, (uint16_t)(((op & 7) << 8) | modrm));
    memcpy(cpu->fx + VMM_X87_FX_FIP, &fip, 4);
    put16(cpu->fx + VMM_X87_FX_FCS, cpu->sregs.cs.selector);
    if (memop) {
        memcpy(cpu->fx + VMM_X87_FX_FDP, &fdp, 4);
        put16(cpu->fx + VMM_X87_FX_FDS, seg_ptr(&cpu->sregs, seg)->selector);
    }
    cpu->fpu_dirty = true;
    finish(e);
}

/* ---- entry ---------------------------------------------------------------------------- */

static int emu_fetch(void *opaque, unsigned off, uint8_t *byte)
{
    Emu *e = opaque;
    VmmX86Cpu *cpu = e->cpu;
    if (off < cpu->insn_len && off < sizeof(cpu->insn)) {
        *byte = cpu->insn[off];
        return 0;
    }
    uint64_t rip = cpu->regs.rip + off;
    uint64_t la;
    if (e->long64) {
        la = rip;
        if (!canonical(la)) {
            raise_gp0(e);
            return -1;
        }
    } else {
        rip &= e->mode_bits == 16 ? 0xffff : 0xffffffff;
        if (rip > cpu->sregs.cs.limit) {
            raise_gp0(e);
            return -1;
        }
        la = (cpu->sregs.cs.base + rip) & 0xffffffffull;
    }
    return linear_read(e, la, byte, 1, VMM_X86_ACC_FETCH) ? 0 : -1;
}

static bool log_unknown_once(uint64_t linear)
{
    static GMutex lock;
    static GHashTable *seen;
    bool first = false;
    g_mutex_lock(&lock);
    if (seen == NULL) {
        seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    }
    /* Bounded: after 256 distinct addresses stop logging new ones. */
    if (g_hash_table_size(seen) < 256 && !g_hash_table_contains(seen, &linear)) {
        gint64 *k = g_new(gint64, 1);
        *k = (gint64)linear;
        g_hash_table_add(seen, k);
        first = true;
    }
    g_mutex_unlock(&lock);
    return first;
}

VmmX86EmulResult vmm_x86_emulate(VmmX86Cpu *cpu)
{
    Emu e = {.cpu = cpu};
    struct kvm_regs regs0 = cpu->regs;
    struct kvm_sregs sregs0 = cpu->sregs;
    uint8_t fx0[512];

    memcpy(fx0, cpu->fx, sizeof(fx0));
    memset(&cpu->event, 0, sizeof(cpu->event));
    cpu->counter = COUNTER_UNKNOWN;

    e.real = !(cpu->sregs.cr0 & CR0_PE);
    e.v86 = !e.real && (cpu->regs.rflags & FL_VM);
    e.prot = !e.real;
    e.long_mode = (cpu->sregs.efer & EFER_LMA) != 0;
    e.long64 = e.long_mode && cpu->sregs.cs.l;
    e.cpl = e.real ? 0 : e.v86 ? 3 : cpu->sregs.ss.dpl;
    e.mode_bits = e.long64 ? 64 : (e.v86 ? 16 : (cpu->sregs.cs.db ? 32 : 16));

    VmmX86DecodeResult dr = vmm_x86_decode(e.mode_bits, emu_fetch, &e, &e.i);
    if (dr == VMM_X86_DECODE_FETCH) {
        /* The fetch raised #PF/#GP already. */
        goto out;
    }
    if (dr == VMM_X86_DECODE_TOO_LONG) {
        raise_gp0(&e);
        goto out;
    }
    if (dr == VMM_X86_DECODE_UNKNOWN) {
        uint64_t lin = cpu->sregs.cs.base + cpu->regs.rip;
        vmm_x86_emul_count(COUNTER_UNKNOWN);
        if (log_unknown_once(lin)) {
            g_message("cannot emulate the instruction at %04x:%llx (linear 0x%llx, bytes "
                      "%02x %02x %02x %02x %02x %02x): #UD to the guest",
                      cpu->sregs.cs.selector, (unsigned long long)cpu->regs.rip,
                      (unsigned long long)lin, cpu->insn[0], cpu->insn[1], cpu->insn[2],
                      cpu->insn[3], cpu->insn[4], cpu->insn[5]);
        }
        raise_ud(&e);
        goto out_unknown;
    }
    if (e.i.lock && e.i.entry >= 0 && table[e.i.entry].fn != h_cmpxchg8b16b) {
        raise_ud(&e);
        goto out;
    }
    const Entry *t = &table[e.i.entry];
    cpu->counter = (unsigned)e.i.entry;
    if (!cpu->fpu_valid && (t->fn == h_x87 || t->fn == h_fwait || t->fn == h_ldmxcsr ||
                            t->fn == h_stmxcsr || t->fn == h_fxsave || t->fn == h_fxrstor)) {
        return VMM_X86_EMUL_NEED_FPU;
    }
    vmm_x86_emul_count(cpu->counter);
    e.next_rip = cpu->regs.rip + e.i.len;
    if (!e.long64) {
        e.next_rip &= e.mode_bits == 16 ? 0xffff : 0xffffffffull;
    }
    t->fn(&e);

out:
    if (e.fault) {
        /* Faults leave the instruction unexecuted: roll back (but keep CR2 for #PF). */
        uint64_t cr2 = cpu->sregs.cr2;
        bool pf = cpu->event.vector == EXC_PF;
        cpu->regs = regs0;
        cpu->sregs = sregs0;
        memcpy(cpu->fx, fx0, sizeof(fx0));
        cpu->fpu_dirty = false;
        cpu->regs_dirty = false;
        cpu->sregs_dirty = false;
        if (pf) {
            cpu->sregs.cr2 = cr2;
            cpu->sregs_dirty = true;
        }
    }
    if (e.real && cpu->event.kind == VMM_X86_EVENT_EXCEPTION) {
        /* Real mode: deliver faults through the IVT ourselves (no error codes). */
        uint8_t vec = cpu->event.vector;
        memset(&cpu->event, 0, sizeof(cpu->event));
        e.fault = false;
        deliver_real(&e, vec, cpu->regs.rip);
        if (e.fault) {
            /* Delivery itself failed (IVT limit): leave it to KVM as an exception. */
            cpu->event.kind = VMM_X86_EVENT_EXCEPTION;
        }
    }
    return VMM_X86_EMUL_DONE;

out_unknown:
    if (e.real) {
        memset(&cpu->event, 0, sizeof(cpu->event));
        e.fault = false;
        deliver_real(&e, EXC_UD, cpu->regs.rip);
    }
    return VMM_X86_EMUL_UNKNOWN;
}

/* ---- statistics ----------------------------------------------------------------------- */

void vmm_x86_emul_count(unsigned counter)
{
    if (counter <= N_ENTRIES) {
        __atomic_add_fetch(&counters[counter], 1, __ATOMIC_RELAXED);
    }
}

unsigned vmm_x86_emul_stats(VmmX86EmulStat *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned k = 0; k <= N_ENTRIES && n < max; k++) {
        uint64_t c = __atomic_load_n(&counters[k], __ATOMIC_RELAXED);
        if (c == 0) {
            continue;
        }
        out[n].name = k == COUNTER_UNKNOWN ? "unknown(#UD)" : table[k].name;
        out[n].count = c;
        n++;
    }
    return n;
}

uint64_t vmm_x86_emul_total(void)
{
    uint64_t t = 0;
    for (unsigned k = 0; k <= N_ENTRIES; k++) {
        t += __atomic_load_n(&counters[k], __ATOMIC_RELAXED);
    }
    return t;
}

char *vmm_x86_emul_stats_format(void)
{
    VmmX86EmulStat s[N_ENTRIES + 1];
    unsigned n = vmm_x86_emul_stats(s, G_N_ELEMENTS(s));
    GString *str = g_string_new(NULL);
    for (unsigned k = 0; k < n; k++) {
        g_string_append_printf(str, "%s%s=%llu", k ? " " : "", s[k].name,
                               (unsigned long long)s[k].count);
    }
    return g_string_free(str, FALSE);
}

void vmm_x86_emul_stats_reset(void)
{
    for (unsigned k = 0; k <= N_ENTRIES; k++) {
        __atomic_store_n(&counters[k], 0, __ATOMIC_RELAXED);
    }
}
