/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-bus"
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "log.h"

typedef struct {
    VmmIoRegion r;
    int handle;
} BusEntry;

/* Immutable once published: sorted by base, non-overlapping. */
typedef struct {
    unsigned n;
    BusEntry e[];
} BusTable;

struct VmmBus {
    char *name;
    GMutex wlock;         /* serialises writers; readers use @table without locks */
    BusTable *table;      /* accessed atomically */
    GPtrArray *retired;   /* old tables, freed by vmm_bus_reclaim() */
    int next_handle;
};

VmmBus *vmm_bus_new(const char *name)
{
    VmmBus *bus = g_new0(VmmBus, 1);
    bus->name = g_strdup(name);
    g_mutex_init(&bus->wlock);
    bus->table = g_malloc0(sizeof(BusTable));
    bus->retired = g_ptr_array_new_with_free_func(g_free);
    bus->next_handle = 1;
    return bus;
}

void vmm_bus_free(VmmBus *bus)
{
    if (bus == NULL) {
        return;
    }
    g_ptr_array_unref(bus->retired);
    g_free(bus->table);
    g_mutex_clear(&bus->wlock);
    g_free(bus->name);
    g_free(bus);
}

static BusTable *table_get(VmmBus *bus)
{
    /* Pairs with the release store in table_publish(). */
    return __atomic_load_n(&bus->table, __ATOMIC_ACQUIRE);
}

static void table_publish(VmmBus *bus, BusTable *t)
{
    BusTable *old = bus->table;
    /* Pairs with the acquire load in table_get(): readers see a fully built table. */
    __atomic_store_n(&bus->table, t, __ATOMIC_RELEASE);
    g_ptr_array_add(bus->retired, old);
}

static BusTable *table_copy(const BusTable *t, unsigned extra)
{
    BusTable *n = g_malloc0(sizeof(BusTable) + (t->n + extra) * sizeof(BusEntry));
    n->n = t->n;
    memcpy(n->e, t->e, t->n * sizeof(BusEntry));
    return n;
}

static bool table_overlaps(const BusTable *t, uint64_t base, uint64_t len, int except)
{
    for (unsigned i = 0; i < t->n; i++) {
        const BusEntry *e = &t->e[i];
        if (e->handle == except) {
            continue;
        }
        if (base < e->r.base + e->r.len && e->r.base < base + len) {
            return true;
        }
    }
    return false;
}

static int entry_cmp(const void *a, const void *b)
{
    const BusEntry *x = a, *y = b;
    return x->r.base < y->r.base ? -1 : (x->r.base > y->r.base ? 1 : 0);
}

int vmm_bus_register(VmmBus *bus, const char *name, uint64_t base, uint64_t len,
                     const VmmIoOps *ops, void *opaque, GMutex *lock)
{
    if (len == 0 || base + len < base || ops == NULL) {
        return -EINVAL;
    }
    g_mutex_lock(&bus->wlock);
    BusTable *cur = bus->table;
    if (table_overlaps(cur, base, len, 0)) {
        g_mutex_unlock(&bus->wlock);
        return -EEXIST;
    }
    BusTable *t = table_copy(cur, 1);
    BusEntry *e = &t->e[t->n++];
    e->r = (VmmIoRegion){
        .name = name, .base = base, .len = len, .ops = ops, .opaque = opaque, .lock = lock};
    e->handle = bus->next_handle++;
    int handle = e->handle;
    qsort(t->e, t->n, sizeof(BusEntry), entry_cmp);
    table_publish(bus, t);
    g_mutex_unlock(&bus->wlock);
    return handle;
}

int vmm_bus_unregister(VmmBus *bus, int handle)
{
    int ret = -ENOENT;

    g_mutex_lock(&bus->wlock);
    BusTable *cur = bus->table;
    for (unsigned i = 0; i < cur->n; i++) {
        if (cur->e[i].handle == handle) {
            BusTable *t = table_copy(cur, 0);
            memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(BusEntry));
            t->n--;
            table_publish(bus, t);
            ret = 0;
            break;
        }
    }
    g_mutex_unlock(&bus->wlock);
    return ret;
}

int vmm_bus_move(VmmBus *bus, int handle, uint64_t new_base)
{
    int ret = -ENOENT;

    g_mutex_lock(&bus->wlock);
    BusTable *cur = bus->table;
    for (unsigned i = 0; i < cur->n; i++) {
        if (cur->e[i].handle != handle) {
            continue;
        }
        uint64_t len = cur->e[i].r.len;
        if (new_base + len < new_base) {
            ret = -EINVAL;
        } else if (table_overlaps(cur, new_base, len, handle)) {
            ret = -EEXIST;
        } else {
            BusTable *t = table_copy(cur, 0);
            t->e[i].r.base = new_base;
            qsort(t->e, t->n, sizeof(BusEntry), entry_cmp);
            table_publish(bus, t);
            ret = 0;
        }
        break;
    }
    g_mutex_unlock(&bus->wlock);
    return ret;
}

void vmm_bus_reclaim(VmmBus *bus)
{
    g_mutex_lock(&bus->wlock);
    g_ptr_array_set_size(bus->retired, 0);
    g_mutex_unlock(&bus->wlock);
}

static const BusEntry *bus_find(const BusTable *t, uint64_t addr)
{
    unsigned lo = 0, hi = t->n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const BusEntry *e = &t->e[mid];
        if (addr < e->r.base) {
            hi = mid;
        } else if (addr - e->r.base >= e->r.len) {
            lo = mid + 1;
        } else {
            return e;
        }
    }
    return NULL;
}

static void ops_sizes(const VmmIoOps *ops, unsigned *min, unsigned *max)
{
    *min = ops->min_access ? ops->min_access : 1;
    *max = ops->max_access ? ops->max_access : 4;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : ((1ull << (size * 8)) - 1);
}

/* One access that lies entirely inside @e. */
static uint64_t entry_read(const BusEntry *e, uint64_t off, unsigned size)
{
    const VmmIoOps *ops = e->r.ops;
    unsigned min, max;
    uint64_t val = 0;

    if (ops->read == NULL) {
        return size_mask(size);
    }
    ops_sizes(ops, &min, &max);
    if (size > max) {
        /* Split into max-sized little-endian pieces. */
        for (unsigned done = 0; done < size; done += max) {
            uint64_t part = entry_read(e, off + done, max);
            val |= (part & size_mask(max)) << (done * 8);
        }
        return val;
    }
    if (size < min) {
        /* Widen: read the aligned min-sized unit around the access, extract our bytes. */
        uint64_t aligned = off & ~(uint64_t)(min - 1);
        if (aligned + min > e->r.len) {
            return size_mask(size);
        }
        uint64_t wide = entry_read(e, aligned, min);
        return (wide >> ((off - aligned) * 8)) & size_mask(size);
    }
    if (e->r.lock) {
        g_mutex_lock(e->r.lock);
    }
    val = ops->read(e->r.opaque, off, size);
    if (e->r.lock) {
        g_mutex_unlock(e->r.lock);
    }
    return val & size_mask(size);
}

static void entry_write(const BusEntry *e, uint64_t off, uint64_t val, unsigned size)
{
    const VmmIoOps *ops = e->r.ops;
    unsigned min, max;

    if (ops->write == NULL) {
        return;
    }
    ops_sizes(ops, &min, &max);
    if (size > max) {
        for (unsigned done = 0; done < size; done += max) {
            entry_write(e, off + done, (val >> (done * 8)) & size_mask(max), max);
        }
        return;
    }
    if (size < min) {
        vmm_guest_error("%u-byte write to %s+0x%" G_GINT64_MODIFIER "x, which takes %u..%u bytes",
                        size, e->r.name, off, min, max);
        return;
    }
    if (e->r.lock) {
        g_mutex_lock(e->r.lock);
    }
    ops->write(e->r.opaque, off, val & size_mask(size), size);
    if (e->r.lock) {
        g_mutex_unlock(e->r.lock);
    }
}

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

bool vmm_bus_read(VmmBus *bus, uint64_t addr, void *data, unsigned size)
{
    const BusTable *t = table_get(bus);
    const BusEntry *e = bus_find(t, addr);
    uint64_t val;
    bool claimed = e != NULL;

    if (!valid_size(size)) {
        memset(data, 0xff, size);
        return false;
    }
    if (e != NULL && addr - e->r.base + size <= e->r.len) {
        val = entry_read(e, addr - e->r.base, size);
    } else {
        /* Straddles a region edge (or nothing is there): go byte by byte. */
        val = 0;
        for (unsigned i = 0; i < size; i++) {
            const BusEntry *b = bus_find(t, addr + i);
            uint64_t byte = b ? entry_read(b, addr + i - b->r.base, 1) : 0xff;
            val |= (byte & 0xff) << (i * 8);
        }
    }
    memcpy(data, &val, size);
    return claimed;
}

bool vmm_bus_write(VmmBus *bus, uint64_t addr, const void *data, unsigned size)
{
    const BusTable *t = table_get(bus);
    const BusEntry *e = bus_find(t, addr);
    uint64_t val = 0;

    if (!valid_size(size)) {
        return false;
    }
    memcpy(&val, data, size);
    if (e != NULL && addr - e->r.base + size <= e->r.len) {
        entry_write(e, addr - e->r.base, val, size);
        return true;
    }
    for (unsigned i = 0; i < size; i++) {
        const BusEntry *b = bus_find(t, addr + i);
        if (b != NULL) {
            entry_write(b, addr + i - b->r.base, (val >> (i * 8)) & 0xff, 1);
        }
    }
    return e != NULL;
}

uint64_t vmm_bus_read_val(VmmBus *bus, uint64_t addr, unsigned size)
{
    uint64_t v = 0;
    vmm_bus_read(bus, addr, &v, size);
    return v;
}

void vmm_bus_write_val(VmmBus *bus, uint64_t addr, uint64_t value, unsigned size)
{
    vmm_bus_write(bus, addr, &value, size);
}
