/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * x86 instruction-emulation fallback (IEM's role): what KVM reports as an emulation
 * failure (on kvm_pvm hosts: x87, int3/int n/iret, cmpxchg16b, rdtscp ...; see
 * docs/emulation.md) is decoded and executed here against a snapshot of the vCPU state.
 *
 * The emulator itself touches no KVM: it works on a VmmX86Cpu (register, segment and FPU
 * state plus memory/MSR callbacks), so the decoder and the instructions are unit-tested and
 * fuzzed on fake state. vcpu.c fills the struct from KVM_GET_*, calls vmm_x86_emulate() and
 * writes back what changed, then injects the event the emulator asked for.
 */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* 0 or -errno: guest-physical access. Required. */
    int (*read_phys)(void *opaque, uint64_t gpa, void *buf, size_t len);
    int (*write_phys)(void *opaque, uint64_t gpa, const void *buf, size_t len);
    /* Host pointer for @len bytes at @gpa (atomic instructions), or NULL. Optional. */
    void *(*map_phys)(void *opaque, uint64_t gpa, size_t len, bool write);
    /* 0 or -errno. Optional (then RDTSCP reads TSC_AUX as 0 and the host TSC). */
    int (*read_msr)(void *opaque, uint32_t index, uint64_t *value);
    /* FERR# (x87 error with CR0.NE clear): the board raises IRQ 13. Optional. */
    void (*ferr)(void *opaque);
} VmmX86EmulOps;

typedef enum {
    VMM_X86_EVENT_NONE,
    VMM_X86_EVENT_EXCEPTION, /* vector, optional error code */
    VMM_X86_EVENT_INTERRUPT, /* INT n in protected/long mode, RIP already past it */
} VmmX86EventKind;

typedef struct {
    VmmX86EventKind kind;
    uint8_t vector;
    bool has_error;
    uint32_t error;
} VmmX86Event;

typedef struct {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    uint64_t xcr0;
    /* FXSAVE image of the x87/SSE state (see x87.h); valid when fpu_valid. */
    uint8_t fx[512] __attribute__((aligned(16)));
    bool fpu_valid;

    /* Instruction bytes KVM reported with the exit (may be fewer than the instruction). */
    uint8_t insn[16];
    unsigned insn_len;

    const VmmX86EmulOps *ops;
    void *opaque;

    /* Out: what changed and what to deliver. */
    bool regs_dirty, sregs_dirty, fpu_dirty;
    VmmX86Event event;
    unsigned counter;     /* index of the instruction's counter (see stats) */
} VmmX86Cpu;

typedef enum {
    VMM_X86_EMUL_DONE,      /* executed (possibly with an event to deliver) */
    VMM_X86_EMUL_UNKNOWN,   /* not an instruction we know: event = #UD */
    VMM_X86_EMUL_NEED_FPU,  /* fpu_valid was false and the instruction needs it: retry */
} VmmX86EmulResult;

/* Decodes and executes the instruction at CS:RIP. */
VmmX86EmulResult vmm_x86_emulate(VmmX86Cpu *cpu);

/* Decoder only (tests, fuzzing, diagnostics). */
typedef struct {
    unsigned len;          /* total length */
    unsigned opsize;       /* 2, 4 or 8 */
    unsigned addrsize;     /* 2, 4 or 8 */
    int seg;               /* segment override (VMM_X86_SEG_*) or -1 */
    uint8_t rex;
    bool lock, rep, repne, opsize_prefix;
    unsigned map;          /* 0 = one byte, 1 = 0f, 2 = 0f38, 3 = 0f3a */
    uint8_t opcode;
    bool has_modrm;
    uint8_t modrm, mod, reg, rm; /* reg/rm extended by REX */
    bool has_sib;
    uint8_t sib;
    int64_t disp;
    uint64_t imm;
    int base_reg, index_reg;   /* -1 = none, 16 = RIP */
    unsigned scale;
    int entry;             /* index into the instruction table, -1 = unknown */
    const char *name;
} VmmX86Insn;

enum { VMM_X86_SEG_ES, VMM_X86_SEG_CS, VMM_X86_SEG_SS, VMM_X86_SEG_DS, VMM_X86_SEG_FS,
       VMM_X86_SEG_GS };

typedef enum {
    VMM_X86_DECODE_OK,
    VMM_X86_DECODE_UNKNOWN,  /* well-formed but not in our table */
    VMM_X86_DECODE_TOO_LONG, /* > 15 bytes: #GP */
    VMM_X86_DECODE_FETCH,    /* the fetch callback failed */
} VmmX86DecodeResult;

/* Fetches byte @off of the instruction; 0 or -1 (fault, already recorded by the caller). */
typedef int (*VmmX86FetchFn)(void *opaque, unsigned off, uint8_t *byte);

/* @mode_bits: 16, 32 or 64 (default operand/address size of the code segment). */
VmmX86DecodeResult vmm_x86_decode(unsigned mode_bits, VmmX86FetchFn fetch, void *opaque,
                                  VmmX86Insn *insn);

/* Statistics: per-instruction emulation counts, process wide. */
typedef struct {
    const char *name;
    uint64_t count;
} VmmX86EmulStat;

/* Fills up to @max entries with non-zero counters; returns how many. */
unsigned vmm_x86_emul_stats(VmmX86EmulStat *out, unsigned max);
/* Total emulated instructions. */
uint64_t vmm_x86_emul_total(void);
/* One-line summary ("fwait=4 int3=1 ..."), or an empty string. Caller frees. */
char *vmm_x86_emul_stats_format(void);
void vmm_x86_emul_stats_reset(void);
/* Counts instruction @counter (the cpu->counter of an emulation). */
void vmm_x86_emul_count(unsigned counter);
