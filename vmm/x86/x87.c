/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-x87"
#include <glib.h>
#include <string.h>
#include <sys/mman.h>

#include "x87.h"

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

VmmX87Class vmm_x87_classify(uint8_t op, uint8_t modrm, unsigned *mem_size, VmmX87MemDir *dir)
{
    unsigned reg = (modrm >> 3) & 7;
    *mem_size = 0;
    *dir = VMM_X87_MEM_NONE;

    if ((modrm >> 6) != 3) {
        /* Memory forms: size and direction per opcode row and ModRM.reg. */
        static const struct {
            uint8_t size;
            uint8_t dir; /* 'r', 'w', 'c' = control (C), 0 = invalid */
        } mem[8][8] = {
            /* d8 */ {{4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}},
            /* d9 */ {{4, 'r'}, {0, 0}, {4, 'w'}, {4, 'w'}, {0, 'c'}, {0, 'c'}, {0, 'c'}, {0, 'c'}},
            /* da */ {{4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}, {4, 'r'}},
            /* db */ {{4, 'r'}, {4, 'w'}, {4, 'w'}, {4, 'w'}, {0, 0}, {10, 'r'}, {0, 0}, {10, 'w'}},
            /* dc */ {{8, 'r'}, {8, 'r'}, {8, 'r'}, {8, 'r'}, {8, 'r'}, {8, 'r'}, {8, 'r'}, {8, 'r'}},
            /* dd */ {{8, 'r'}, {8, 'w'}, {8, 'w'}, {8, 'w'}, {0, 'c'}, {0, 0}, {0, 'c'}, {0, 'c'}},
            /* de */ {{2, 'r'}, {2, 'r'}, {2, 'r'}, {2, 'r'}, {2, 'r'}, {2, 'r'}, {2, 'r'}, {2, 'r'}},
            /* df */ {{2, 'r'}, {2, 'w'}, {2, 'w'}, {2, 'w'}, {10, 'r'}, {8, 'r'}, {10, 'w'}, {8, 'w'}},
        };
        uint8_t d = mem[op & 7][reg].dir;
        if (d == 0) {
            return VMM_X87_INVALID;
        }
        if (d == 'c') {
            return VMM_X87_CONTROL;
        }
        *mem_size = mem[op & 7][reg].size;
        *dir = d == 'r' ? VMM_X87_MEM_READ : VMM_X87_MEM_WRITE;
        return VMM_X87_HOST;
    }

    switch (op) {
    case 0xd8:
    case 0xdc:
        return VMM_X87_HOST;
    case 0xd9:
        if (modrm == 0xd0) {
            return VMM_X87_CONTROL; /* fnop */
        }
        if ((modrm >= 0xd1 && modrm <= 0xd7) || modrm == 0xe2 || modrm == 0xe3 ||
            modrm == 0xe6 || modrm == 0xe7 || modrm == 0xef) {
            return VMM_X87_INVALID;
        }
        return VMM_X87_HOST;
    case 0xda:
        return (modrm < 0xe0 || modrm == 0xe9) ? VMM_X87_HOST : VMM_X87_INVALID;
    case 0xdb:
        if (modrm < 0xe0 || (modrm >= 0xe8 && modrm <= 0xf7)) {
            return VMM_X87_HOST;
        }
        /* fneni/fndisi/fnclex/fninit/fsetpm; the rest is reserved. */
        return modrm <= 0xe4 ? VMM_X87_CONTROL : VMM_X87_INVALID;
    case 0xdd:
        return modrm < 0xf0 ? VMM_X87_HOST : VMM_X87_INVALID;
    case 0xde:
        return (modrm < 0xd8 || modrm == 0xd9 || modrm >= 0xe0) ? VMM_X87_HOST
                                                                  : VMM_X87_INVALID;
    case 0xdf:
        if (modrm == 0xe0) {
            return VMM_X87_CONTROL; /* fnstsw ax */
        }
        return (modrm < 0xe0 || (modrm >= 0xe8 && modrm <= 0xf7)) ? VMM_X87_HOST
                                                                     : VMM_X87_INVALID;
    default:
        return VMM_X87_INVALID;
    }
}

/*
 * Stubs, one per (opcode row, ModRM) with all memory forms of a row and reg field sharing
 * one stub that addresses (%rsi). Called as stub(rdi = guest image, rsi = operand,
 * rdx = host save area):
 *   fxsave (%rdx); fxrstor (%rdi); <op modrm'>; fxsave (%rdi); fxrstor (%rdx); ret
 */
#define STUB_SIZE 16
#define N_STUBS (8 * 256)
static uint8_t *stubs;

static void build_stubs(void)
{
    size_t len = N_STUBS * STUB_SIZE;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        g_error("x87: cannot map the host stubs");
    }
    for (unsigned row = 0; row < 8; row++) {
        for (unsigned m = 0; m < 256; m++) {
            uint8_t *s = p + (row * 256 + m) * STUB_SIZE;
            uint8_t modrm = (m >> 6) == 3 ? (uint8_t)m : (uint8_t)(((m >> 3) & 7) << 3 | 6);
            const uint8_t code[] = {
                0x0f, 0xae, 0x02,           /* fxsave (%rdx) */
                0x0f, 0xae, 0x0f,           /* fxrstor (%rdi) */
                (uint8_t)(0xd8 + row), modrm,
                0x0f, 0xae, 0x07,           /* fxsave (%rdi) */
                0x0f, 0xae, 0x0a,           /* fxrstor (%rdx) */
                0xc3,                       /* ret */
            };
            memcpy(s, code, sizeof(code));
            s[sizeof(code)] = 0xcc;
        }
    }
    if (mprotect(p, len, PROT_READ | PROT_EXEC) < 0) {
        g_error("x87: cannot make the host stubs executable");
    }
    stubs = p;
}

void vmm_x87_exec_host(uint8_t *fx, uint8_t op, uint8_t modrm, uint8_t *mem)
{
    static gsize once;
    uint8_t host[VMM_X87_FXSAVE_SIZE] __attribute__((aligned(16)));
    uint8_t guest[VMM_X87_FXSAVE_SIZE] __attribute__((aligned(16)));

    if (g_once_init_enter(&once)) {
        build_stubs();
        g_once_init_leave(&once, 1);
    }
    if (op < 0xd8 || op > 0xdf) {
        return;
    }
    memcpy(guest, fx, sizeof(guest));
    /* Never let a stale ES/B bit trap on the host: the caller raised #MF if one was due. */
    put16(guest + VMM_X87_FX_FSW, get16(guest + VMM_X87_FX_FSW) & 0x7f7f);
    /* A guest MXCSR with reserved bits set would make FXRSTOR fault on the host. */
    put32(guest + VMM_X87_FX_MXCSR, get32(guest + VMM_X87_FX_MXCSR) & 0xffff);
    void *fn = stubs + ((op - 0xd8) * 256 + modrm) * STUB_SIZE;
    register void *rdi __asm__("rdi") = guest;
    register void *rsi __asm__("rsi") = mem;
    register void *rdx __asm__("rdx") = host;
    /* Step over the red zone: the call pushes a return address below %rsp. */
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "call *%[fn]\n\t"
                     "add $128, %%rsp"
                     : "+r"(rdi), "+r"(rsi), "+r"(rdx)
                     : [fn] "r"(fn)
                     : "memory", "cc");
    memcpy(fx, guest, sizeof(guest));
}

bool vmm_x87_pending(const uint8_t *fx)
{
    uint16_t fcw = get16(fx + VMM_X87_FX_FCW);
    uint16_t fsw = get16(fx + VMM_X87_FX_FSW);
    return (fsw & ~fcw & 0x3f) != 0;
}

void vmm_x87_fninit(uint8_t *fx)
{
    put16(fx + VMM_X87_FX_FCW, 0x037f);
    put16(fx + VMM_X87_FX_FSW, 0);
    fx[VMM_X87_FX_FTW] = 0;
    memset(fx + VMM_X87_FX_FOP, 0, VMM_X87_FX_MXCSR - VMM_X87_FX_FOP);
}

void vmm_x87_fnclex(uint8_t *fx)
{
    put16(fx + VMM_X87_FX_FSW, get16(fx + VMM_X87_FX_FSW) & 0x7f00);
}

static unsigned top_of(const uint8_t *fx)
{
    return (get16(fx + VMM_X87_FX_FSW) >> 11) & 7;
}

uint16_t vmm_x87_full_tag(const uint8_t *fx)
{
    uint16_t tag = 0;
    unsigned top = top_of(fx);
    for (unsigned phys = 0; phys < 8; phys++) {
        unsigned t;
        if (!(fx[VMM_X87_FX_FTW] & (1u << phys))) {
            t = 3;
        } else {
            const uint8_t *r = fx + VMM_X87_FX_ST0 + ((phys - top) & 7) * 16;
            uint64_t mant;
            memcpy(&mant, r, 8);
            unsigned exp = get16(r + 8) & 0x7fff;
            if (exp == 0x7fff) {
                t = 2;
            } else if (exp == 0) {
                t = mant == 0 ? 1 : 2;
            } else {
                t = (mant >> 63) ? 0 : 2;
            }
        }
        tag |= (uint16_t)(t << (2 * phys));
    }
    return tag;
}

static void set_full_tag(uint8_t *fx, uint16_t tag)
{
    uint8_t ab = 0;
    for (unsigned phys = 0; phys < 8; phys++) {
        if (((tag >> (2 * phys)) & 3) != 3) {
            ab |= (uint8_t)(1u << phys);
        }
    }
    fx[VMM_X87_FX_FTW] = ab;
}

unsigned vmm_x87_store_env(const uint8_t *fx, bool op32, bool real, uint8_t *out)
{
    uint16_t fcw = get16(fx + VMM_X87_FX_FCW), fsw = get16(fx + VMM_X87_FX_FSW);
    uint16_t ftw = vmm_x87_full_tag(fx), fop = get16(fx + VMM_X87_FX_FOP) & 0x7ff;
    uint32_t fip = get32(fx + VMM_X87_FX_FIP), fdp = get32(fx + VMM_X87_FX_FDP);
    uint16_t fcs = get16(fx + VMM_X87_FX_FCS), fds = get16(fx + VMM_X87_FX_FDS);

    if (op32) {
        memset(out, 0, 28);
        put32(out + 0, 0xffff0000u | fcw);
        put32(out + 4, 0xffff0000u | fsw);
        put32(out + 8, 0xffff0000u | ftw);
        if (real) {
            put32(out + 12, 0xffff0000u | (fip & 0xffff));
            put32(out + 16, ((fip >> 16) & 0xffff) << 12 | fop);
            put32(out + 20, 0xffff0000u | (fdp & 0xffff));
            put32(out + 24, ((fdp >> 16) & 0xffff) << 12);
        } else {
            put32(out + 12, fip);
            put32(out + 16, (uint32_t)fop << 16 | fcs);
            put32(out + 20, fdp);
            put32(out + 24, 0xffff0000u | fds);
        }
        return 28;
    }
    put16(out + 0, fcw);
    put16(out + 2, fsw);
    put16(out + 4, ftw);
    if (real) {
        put16(out + 6, (uint16_t)fip);
        put16(out + 8, (uint16_t)(((fip >> 16) & 0xf) << 12 | fop));
        put16(out + 10, (uint16_t)fdp);
        put16(out + 12, (uint16_t)(((fdp >> 16) & 0xf) << 12));
    } else {
        put16(out + 6, (uint16_t)fip);
        put16(out + 8, fcs);
        put16(out + 10, (uint16_t)fdp);
        put16(out + 12, fds);
    }
    return 14;
}

void vmm_x87_load_env(uint8_t *fx, bool op32, bool real, const uint8_t *in)
{
    uint32_t fip, fdp;
    uint16_t fcs = 0, fds = 0, fop = 0;
    put16(fx + VMM_X87_FX_FCW, get16(in));
    if (op32) {
        put16(fx + VMM_X87_FX_FSW, get16(in + 4));
        set_full_tag(fx, get16(in + 8));
        if (real) {
            fip = (get32(in + 12) & 0xffff) | ((get32(in + 16) >> 12) & 0xffff) << 16;
            fop = get32(in + 16) & 0x7ff;
            fdp = (get32(in + 20) & 0xffff) | ((get32(in + 24) >> 12) & 0xffff) << 16;
        } else {
            fip = get32(in + 12);
            fcs = get16(in + 16);
            fop = (get32(in + 16) >> 16) & 0x7ff;
            fdp = get32(in + 20);
            fds = get16(in + 24);
        }
    } else {
        put16(fx + VMM_X87_FX_FSW, get16(in + 2));
        set_full_tag(fx, get16(in + 4));
        if (real) {
            fip = get16(in + 6) | (uint32_t)(get16(in + 8) >> 12) << 16;
            fop = get16(in + 8) & 0x7ff;
            fdp = get16(in + 10) | (uint32_t)(get16(in + 12) >> 12) << 16;
        } else {
            fip = get16(in + 6);
            fcs = get16(in + 8);
            fdp = get16(in + 10);
            fds = get16(in + 12);
        }
    }
    put16(fx + VMM_X87_FX_FOP, fop);
    put32(fx + VMM_X87_FX_FIP, fip);
    put16(fx + VMM_X87_FX_FCS, fcs);
    put32(fx + VMM_X87_FX_FDP, fdp);
    put16(fx + VMM_X87_FX_FDS, fds);
}

unsigned vmm_x87_save(uint8_t *fx, bool op32, bool real, uint8_t *out)
{
    unsigned n = vmm_x87_store_env(fx, op32, real, out);
    for (unsigned i = 0; i < 8; i++) {
        memcpy(out + n + i * 10, fx + VMM_X87_FX_ST0 + i * 16, 10);
    }
    return n + 80;
}

void vmm_x87_restore(uint8_t *fx, bool op32, bool real, const uint8_t *in)
{
    unsigned n = op32 ? 28 : 14;
    vmm_x87_load_env(fx, op32, real, in);
    for (unsigned i = 0; i < 8; i++) {
        memcpy(fx + VMM_X87_FX_ST0 + i * 16, in + n + i * 10, 10);
        memset(fx + VMM_X87_FX_ST0 + i * 16 + 10, 0, 6);
    }
}
