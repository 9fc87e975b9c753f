/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Guest physical memory (PGM's role): a table of regions mapping guest-physical
 * ranges onto host memory, main RAM backed by a memfd, and the checked helpers
 * every device uses to touch guest memory.
 *
 * The region table is published as an immutable snapshot: readers (vCPU and I/O
 * threads doing DMA) never take a lock; writers build a new table and swap it in.
 * Old tables are reclaimed at quiescent points (vmm_guest_mem_reclaim(), called
 * with all vCPUs paused) so a reader can never see freed memory.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct VmmGuestMem VmmGuestMem;

enum {
    VMM_MEM_READONLY = 1u << 0, /* guest writes exit as MMIO and are dropped */
};

typedef struct {
    const char *name; /* Borrowed: a static string describing the region */
    uint64_t gpa;     /* guest-physical start, page aligned */
    uint64_t size;    /* bytes, page aligned, > 0 */
    uint8_t *host;    /* Borrowed: host mapping of the first byte */
    uint32_t flags;   /* VMM_MEM_* */
    int id;           /* stable handle, also used as the KVM memslot number */
} VmmMemRegion;

/*
 * Told about every region change, e.g. the KVM backend turning regions into memslots.
 * Called with the region table's writer lock held; must not call back into guest-mem.
 */
typedef struct {
    /* Required: a region appeared. Return 0 or -errno (the add then fails). */
    int (*region_add)(void *opaque, const VmmMemRegion *r);
    /* Required: a region disappeared. */
    void (*region_del)(void *opaque, const VmmMemRegion *r);
} VmmMemListener;

VmmGuestMem *vmm_guest_mem_new(void);
void vmm_guest_mem_free(VmmGuestMem *mem);

/* Replays every existing region to the listener, then reports changes. One listener. */
int vmm_guest_mem_set_listener(VmmGuestMem *mem, const VmmMemListener *l, void *opaque);

/*
 * Allocates main RAM (a sealed-size memfd, mapped shared). The board decides where
 * pieces of it appear with vmm_guest_mem_add_region() and vmm_guest_mem_ram_ptr().
 */
bool vmm_guest_mem_alloc_ram(VmmGuestMem *mem, uint64_t size, GError **error);
uint64_t vmm_guest_mem_ram_size(VmmGuestMem *mem);
int vmm_guest_mem_ram_fd(VmmGuestMem *mem);
/* Host pointer to RAM offset @offset with @len bytes available, or NULL when out of range. */
uint8_t *vmm_guest_mem_ram_ptr(VmmGuestMem *mem, uint64_t offset, uint64_t len);

/* Adds a region. Returns its id (>= 0), -EEXIST on overlap, -EINVAL on bad alignment. */
int vmm_guest_mem_add_region(VmmGuestMem *mem, const char *name, uint64_t gpa, uint64_t size,
                             uint8_t *host, uint32_t flags);
/* Removes a region by id. Returns 0 or -ENOENT. */
int vmm_guest_mem_del_region(VmmGuestMem *mem, int id);
/* Frees retired region tables. Only call when no other thread can be inside a helper. */
void vmm_guest_mem_reclaim(VmmGuestMem *mem);

/*
 * Checked access. The whole range must be backed by regions (it may span several
 * adjacent ones); otherwise nothing is transferred and -EFAULT is returned.
 * Writes to read-only regions fail with -EFAULT too.
 */
int vmm_guest_read(VmmGuestMem *mem, uint64_t gpa, void *buf, size_t len);
int vmm_guest_write(VmmGuestMem *mem, uint64_t gpa, const void *buf, size_t len);

/*
 * Direct pointer to @len bytes at @gpa when the whole range lies in one region
 * (and that region is writable when @write). NULL otherwise. The pointer stays
 * valid until the region is removed, which only happens with the VM paused.
 */
void *vmm_guest_map(VmmGuestMem *mem, uint64_t gpa, size_t len, bool write);

/* Little-endian helpers built on the above. */
int vmm_guest_read_u16(VmmGuestMem *mem, uint64_t gpa, uint16_t *v);
int vmm_guest_read_u32(VmmGuestMem *mem, uint64_t gpa, uint32_t *v);
int vmm_guest_read_u64(VmmGuestMem *mem, uint64_t gpa, uint64_t *v);
int vmm_guest_write_u16(VmmGuestMem *mem, uint64_t gpa, uint16_t v);
int vmm_guest_write_u32(VmmGuestMem *mem, uint64_t gpa, uint32_t v);
int vmm_guest_write_u64(VmmGuestMem *mem, uint64_t gpa, uint64_t v);
