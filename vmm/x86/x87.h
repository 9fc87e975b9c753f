/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * x87 FPU emulation for the instruction emulator. The guest's FPU state is kept as a
 * 512-byte FXSAVE image; control instructions (fninit, fnstenv, fnsave, ...) are done
 * in C on that image, arithmetic and data movement run on the host's FPU: a stub loads
 * the image with FXRSTOR, executes the same x87 instruction with its memory operand
 * redirected to a scratch buffer, stores the image back with FXSAVE and restores the
 * host's own FPU state. The host thus computes exactly what the guest's FPU would,
 * including rounding, precision control, flags and the tag word.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define VMM_X87_FXSAVE_SIZE 512

/* FXSAVE image offsets. */
enum {
    VMM_X87_FX_FCW = 0,
    VMM_X87_FX_FSW = 2,
    VMM_X87_FX_FTW = 4, /* abridged: one bit per physical register, 1 = not empty */
    VMM_X87_FX_FOP = 6,
    VMM_X87_FX_FIP = 8,
    VMM_X87_FX_FCS = 12,
    VMM_X87_FX_FDP = 16,
    VMM_X87_FX_FDS = 20,
    VMM_X87_FX_MXCSR = 24,
    VMM_X87_FX_MXCSR_MASK = 28,
    VMM_X87_FX_ST0 = 32,
    VMM_X87_FX_XMM0 = 160,
};

typedef enum {
    VMM_X87_MEM_NONE,
    VMM_X87_MEM_READ,
    VMM_X87_MEM_WRITE,
} VmmX87MemDir;

typedef enum {
    VMM_X87_INVALID,   /* reserved encoding: #UD */
    VMM_X87_HOST,      /* executed on the host FPU */
    VMM_X87_CONTROL,   /* done in C by the emulator (fninit, fnstenv, fnstsw ...) */
} VmmX87Class;

/*
 * Classifies x87 opcode @op (0xd8..0xdf) with ModRM @modrm; for memory forms of host
 * instructions also returns the operand size and direction.
 */
VmmX87Class vmm_x87_classify(uint8_t op, uint8_t modrm, unsigned *mem_size, VmmX87MemDir *dir);

/*
 * Runs a VMM_X87_HOST instruction on @fx (16-byte aligned, 512 bytes) with @mem (at least
 * 16 bytes) as its memory operand. The caller has checked for pending exceptions.
 */
void vmm_x87_exec_host(uint8_t *fx, uint8_t op, uint8_t modrm, uint8_t *mem);

/* Pending unmasked exception (what makes a waiting x87 instruction raise #MF). */
bool vmm_x87_pending(const uint8_t *fx);
void vmm_x87_fninit(uint8_t *fx);
void vmm_x87_fnclex(uint8_t *fx);
/* The full 16-bit tag word derived from the abridged one and the register contents. */
uint16_t vmm_x87_full_tag(const uint8_t *fx);

/*
 * FNSTENV/FLDENV image: 14 bytes (16-bit operand size) or 28 bytes, real-mode or
 * protected-mode layout. Returns the length.
 */
unsigned vmm_x87_store_env(const uint8_t *fx, bool op32, bool real, uint8_t *out);
void vmm_x87_load_env(uint8_t *fx, bool op32, bool real, const uint8_t *in);
/* FNSAVE/FRSTOR: the environment plus the eight 80-bit registers. Returns the length. */
unsigned vmm_x87_save(uint8_t *fx, bool op32, bool real, uint8_t *out);
void vmm_x87_restore(uint8_t *fx, bool op32, bool real, const uint8_t *in);
