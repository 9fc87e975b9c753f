/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-x86-mmu"
#include "mmu.h"

#define CR0_PG (1ull << 31)
#define CR0_WP (1ull << 16)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
/* Physical-address bits of an entry (52-bit MAXPHYADDR is the architectural ceiling). */
#define PTE_ADDR 0x000ffffffffff000ull

static int read_entry(const VmmX86Paging *p, uint64_t gpa, unsigned size, uint64_t *v)
{
    uint64_t e = 0;
    if (p->read_phys(p->opaque, gpa, &e, size) < 0) {
        return -1;
    }
    *v = e;
    return 0;
}

static void set_bits(const VmmX86Paging *p, uint64_t gpa, unsigned size, uint64_t old,
                     uint64_t bits)
{
    /* Best effort, like the hardware's locked update; a failed write just leaves A/D clear. */
    if (p->write_phys != NULL && (old & bits) != bits) {
        uint64_t v = old | bits;
        p->write_phys(p->opaque, gpa, &v, size);
    }
}

static VmmX86XlateResult check(const VmmX86Paging *p, unsigned access, bool rw, bool us, bool nx,
                               uint32_t *pf_error)
{
    bool user = access & VMM_X86_ACC_USER;
    bool fault = false;

    if (user && !us) {
        fault = true;
    }
    if ((access & VMM_X86_ACC_WRITE) && !rw && (user || (p->cr0 & CR0_WP))) {
        fault = true;
    }
    if ((access & VMM_X86_ACC_FETCH) && nx) {
        fault = true;
    }
    if ((access & VMM_X86_ACC_FETCH) && !user && us && (p->cr4 & CR4_SMEP)) {
        fault = true;
    }
    if (fault) {
        *pf_error |= VMM_X86_PF_P;
        return VMM_X86_XLATE_PF;
    }
    return VMM_X86_XLATE_OK;
}

VmmX86XlateResult vmm_x86_mmu_translate(const VmmX86Paging *p, uint64_t la, unsigned access,
                                        uint64_t *gpa, uint32_t *pf_error)
{
    bool nxe = p->efer & EFER_NXE;
    bool ad = !(access & VMM_X86_ACC_NO_AD);
    uint32_t err = 0;

    if (access & VMM_X86_ACC_WRITE) {
        err |= VMM_X86_PF_W;
    }
    if (access & VMM_X86_ACC_USER) {
        err |= VMM_X86_PF_U;
    }
    if ((access & VMM_X86_ACC_FETCH) && (nxe || (p->cr4 & CR4_SMEP))) {
        err |= VMM_X86_PF_I;
    }
    *pf_error = err;

    if (!(p->cr0 & CR0_PG)) {
        *gpa = (p->efer & EFER_LMA) ? la : (la & 0xffffffffull);
        return VMM_X86_XLATE_OK;
    }

    if (!(p->cr4 & CR4_PAE)) {
        /* 32-bit paging: 4 KiB pages, or 4 MiB pages with CR4.PSE. */
        uint32_t la32 = (uint32_t)la;
        uint64_t pde_a = (p->cr3 & 0xfffff000ull) + ((la32 >> 22) * 4);
        uint64_t pde, pte;
        if (read_entry(p, pde_a, 4, &pde) < 0) {
            return VMM_X86_XLATE_BAD_MEM;
        }
        if (!(pde & PTE_P)) {
            return VMM_X86_XLATE_PF;
        }
        if ((pde & PTE_PS) && (p->cr4 & CR4_PSE)) {
            VmmX86XlateResult r = check(p, access, pde & PTE_RW, pde & PTE_US, false, pf_error);
            if (r != VMM_X86_XLATE_OK) {
                return r;
            }
            if (ad) {
                set_bits(p, pde_a, 4, pde,
                         PTE_A | ((access & VMM_X86_ACC_WRITE) ? PTE_D : 0));
            }
            *gpa = (pde & 0xffc00000ull) | (((pde >> 13) & 0xffull) << 32) | (la32 & 0x3fffff);
            return VMM_X86_XLATE_OK;
        }
        uint64_t pte_a = (pde & 0xfffff000ull) + (((la32 >> 12) & 0x3ff) * 4);
        if (read_entry(p, pte_a, 4, &pte) < 0) {
            return VMM_X86_XLATE_BAD_MEM;
        }
        if (!(pte & PTE_P)) {
            return VMM_X86_XLATE_PF;
        }
        VmmX86XlateResult r = check(p, access, (pde & pte & PTE_RW) != 0,
                                    (pde & pte & PTE_US) != 0, false, pf_error);
        if (r != VMM_X86_XLATE_OK) {
            return r;
        }
        if (ad) {
            set_bits(p, pde_a, 4, pde, PTE_A);
            set_bits(p, pte_a, 4, pte, PTE_A | ((access & VMM_X86_ACC_WRITE) ? PTE_D : 0));
        }
        *gpa = (pte & 0xfffff000ull) | (la32 & 0xfff);
        return VMM_X86_XLATE_OK;
    }

    /* PAE and long mode: 8-byte entries, 9 bits per level. */
    int levels;
    uint64_t table;
    if (p->efer & EFER_LMA) {
        levels = (p->cr4 & CR4_LA57) ? 5 : 4;
        table = p->cr3 & PTE_ADDR;
    } else {
        uint64_t pdpte;
        uint64_t a = (p->cr3 & 0xffffffe0ull) + (((uint32_t)la >> 30) & 3) * 8;
        if (read_entry(p, a, 8, &pdpte) < 0) {
            return VMM_X86_XLATE_BAD_MEM;
        }
        if (!(pdpte & PTE_P)) {
            return VMM_X86_XLATE_PF;
        }
        la &= 0xffffffffull;
        levels = 2;
        table = pdpte & PTE_ADDR;
    }
    bool rw = true, us = true, nx = false;
    for (int level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t a = table + ((la >> shift) & 0x1ff) * 8;
        uint64_t e;
        if (read_entry(p, a, 8, &e) < 0) {
            return VMM_X86_XLATE_BAD_MEM;
        }
        if (!(e & PTE_P)) {
            return VMM_X86_XLATE_PF;
        }
        if (!nxe && (e & PTE_NX)) {
            *pf_error |= VMM_X86_PF_P | VMM_X86_PF_RSVD;
            return VMM_X86_XLATE_PF;
        }
        rw = rw && (e & PTE_RW);
        us = us && (e & PTE_US);
        nx = nx || (nxe && (e & PTE_NX));
        bool leaf = level == 1 || ((level == 2 || level == 3) && (e & PTE_PS));
        if (leaf) {
            VmmX86XlateResult r = check(p, access, rw, us, nx, pf_error);
            if (r != VMM_X86_XLATE_OK) {
                return r;
            }
            if (ad) {
                set_bits(p, a, 8, e, PTE_A | ((access & VMM_X86_ACC_WRITE) ? PTE_D : 0));
            }
            uint64_t mask = (1ull << shift) - 1;
            uint64_t base = e & PTE_ADDR;
            if (level > 1) {
                /* Large pages: bit 12 of the entry is PAT, not address. */
                base &= ~mask;
            }
            *gpa = base | (la & mask);
            return VMM_X86_XLATE_OK;
        }
        if (ad) {
            set_bits(p, a, 8, e, PTE_A);
        }
        table = e & PTE_ADDR;
    }
    return VMM_X86_XLATE_PF; /* not reached */
}
