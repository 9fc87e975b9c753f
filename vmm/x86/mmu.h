/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Guest page-table walker for the instruction emulator (PGM's walker role): translates a
 * guest linear address the way the guest's current paging mode does (none, 32-bit, PAE,
 * 4- and 5-level long mode), checks present/write/user/NX/SMEP and reports the #PF error
 * code when the access would fault. Works on any physical memory through callbacks, so
 * it runs on fake memory in tests.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    VMM_X86_ACC_WRITE = 1u << 0,
    VMM_X86_ACC_USER = 1u << 1,  /* access made at CPL 3 */
    VMM_X86_ACC_FETCH = 1u << 2,
    VMM_X86_ACC_NO_AD = 1u << 3, /* do not set accessed/dirty bits (probes, debuggers) */
};

/* Page-fault error code bits. */
enum {
    VMM_X86_PF_P = 1u << 0,
    VMM_X86_PF_W = 1u << 1,
    VMM_X86_PF_U = 1u << 2,
    VMM_X86_PF_RSVD = 1u << 3,
    VMM_X86_PF_I = 1u << 4,
};

typedef struct {
    uint64_t cr0, cr3, cr4, efer;
    /* 0 or -errno; @write may be NULL (then A/D bits are not updated). */
    int (*read_phys)(void *opaque, uint64_t gpa, void *buf, size_t len);
    int (*write_phys)(void *opaque, uint64_t gpa, const void *buf, size_t len);
    void *opaque;
} VmmX86Paging;

typedef enum {
    VMM_X86_XLATE_OK = 0,
    VMM_X86_XLATE_PF,      /* the guest takes #PF with *pf_error */
    VMM_X86_XLATE_BAD_MEM, /* a page-table entry lies outside guest memory */
} VmmX86XlateResult;

/* Translates @la for an access of kind @access (VMM_X86_ACC_*). */
VmmX86XlateResult vmm_x86_mmu_translate(const VmmX86Paging *p, uint64_t la, unsigned access,
                                        uint64_t *gpa, uint32_t *pf_error);
