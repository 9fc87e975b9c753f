/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PIO and MMIO buses. A device registers a region with an ops table that states
 * which access sizes it accepts; the bus splits wider accesses and widens narrower
 * reads, so a handler only ever sees sizes it declared. Unclaimed reads return
 * all ones, unclaimed writes are dropped.
 *
 * Lookups are lock-free (immutable snapshots, like guest-mem); registration takes
 * the bus's writer lock. Retired snapshots are reclaimed with all vCPUs paused.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct VmmBus VmmBus;

typedef struct {
    /* Optional (reads return all ones without it): @offset from region start, @size in bytes. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    /* Optional (writes dropped without it). */
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
    /* Access sizes the handler accepts: powers of two, 1 <= min <= max <= 8. 0 means 1 and 4. */
    unsigned min_access;
    unsigned max_access;
} VmmIoOps;

typedef struct {
    const char *name;    /* Borrowed, static */
    uint64_t base;
    uint64_t len;
    const VmmIoOps *ops; /* Borrowed, static */
    void *opaque;        /* Borrowed */
    GMutex *lock;        /* Borrowed, optional: held around every callback (the device lock) */
} VmmIoRegion;

VmmBus *vmm_bus_new(const char *name);
void vmm_bus_free(VmmBus *bus);

/* Returns a handle (> 0) or -EEXIST when the range overlaps an existing region. */
int vmm_bus_register(VmmBus *bus, const char *name, uint64_t base, uint64_t len,
                     const VmmIoOps *ops, void *opaque, GMutex *lock);
int vmm_bus_unregister(VmmBus *bus, int handle);
/* Moves an existing region (PCI BAR reprogramming). */
int vmm_bus_move(VmmBus *bus, int handle, uint64_t new_base);
void vmm_bus_reclaim(VmmBus *bus);

/* Dispatch one guest access of @size (1, 2, 4 or 8) bytes, little-endian in @data. */
bool vmm_bus_read(VmmBus *bus, uint64_t addr, void *data, unsigned size);
bool vmm_bus_write(VmmBus *bus, uint64_t addr, const void *data, unsigned size);
/* Convenience for tests and internal callers. */
uint64_t vmm_bus_read_val(VmmBus *bus, uint64_t addr, unsigned size);
void vmm_bus_write_val(VmmBus *bus, uint64_t addr, uint64_t value, unsigned size);
