/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-mem"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gio/gio.h>

#include "guest-mem.h"

#define PAGE_MASK 0xfffull
#define MAX_REGIONS 256

/* Immutable once published: sorted by gpa, non-overlapping. */
typedef struct {
    unsigned n;
    VmmMemRegion r[];
} MemTable;

struct VmmGuestMem {
    GMutex wlock;        /* serialises writers and the listener */
    MemTable *table;     /* accessed atomically */
    GPtrArray *retired;  /* old tables */
    const VmmMemListener *listener;
    void *listener_opaque;

    int ram_fd;
    uint8_t *ram;
    uint64_t ram_size;
};

VmmGuestMem *vmm_guest_mem_new(void)
{
    VmmGuestMem *mem = g_new0(VmmGuestMem, 1);
    g_mutex_init(&mem->wlock);
    mem->table = g_malloc0(sizeof(MemTable));
    mem->retired = g_ptr_array_new_with_free_func(g_free);
    mem->ram_fd = -1;
    return mem;
}

void vmm_guest_mem_free(VmmGuestMem *mem)
{
    if (mem == NULL) {
        return;
    }
    if (mem->ram != NULL) {
        munmap(mem->ram, mem->ram_size);
    }
    if (mem->ram_fd >= 0) {
        close(mem->ram_fd);
    }
    g_ptr_array_unref(mem->retired);
    g_free(mem->table);
    g_mutex_clear(&mem->wlock);
    g_free(mem);
}

int vmm_guest_mem_set_listener(VmmGuestMem *mem, const VmmMemListener *l, void *opaque)
{
    int ret = 0;

    g_mutex_lock(&mem->wlock);
    mem->listener = l;
    mem->listener_opaque = opaque;
    for (unsigned i = 0; i < mem->table->n && ret == 0; i++) {
        ret = l->region_add(opaque, &mem->table->r[i]);
    }
    g_mutex_unlock(&mem->wlock);
    return ret;
}

bool vmm_guest_mem_alloc_ram(VmmGuestMem *mem, uint64_t size, GError **error)
{
    if (mem->ram != NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "guest RAM is already allocated");
        return false;
    }
    if (size == 0 || (size & PAGE_MASK) != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "guest RAM size %" G_GUINT64_FORMAT " is not a positive multiple of 4 KiB",
                    size);
        return false;
    }
    int fd = memfd_create("boxwood-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "memfd_create: %s",
                    g_strerror(errno));
        return false;
    }
    if (ftruncate(fd, (off_t)size) < 0) {
        int e = errno;
        close(fd);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                    "cannot size guest RAM to %" G_GUINT64_FORMAT " MiB: %s", size >> 20,
                    g_strerror(e));
        return false;
    }
    /* The size never changes again: sealing lets us hand the fd to other processes safely. */
    (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                    "cannot map %" G_GUINT64_FORMAT " MiB of guest RAM: %s", size >> 20,
                    g_strerror(e));
        return false;
    }
    madvise(p, size, MADV_HUGEPAGE);
    mem->ram_fd = fd;
    mem->ram = p;
    mem->ram_size = size;
    return true;
}

uint64_t vmm_guest_mem_ram_size(VmmGuestMem *mem)
{
    return mem->ram_size;
}

int vmm_guest_mem_ram_fd(VmmGuestMem *mem)
{
    return mem->ram_fd;
}

uint8_t *vmm_guest_mem_ram_ptr(VmmGuestMem *mem, uint64_t offset, uint64_t len)
{
    if (mem->ram == NULL || offset > mem->ram_size || len > mem->ram_size - offset) {
        return NULL;
    }
    return mem->ram + offset;
}

static MemTable *table_get(VmmGuestMem *mem)
{
    /* Pairs with the release store in table_publish(). */
    return __atomic_load_n(&mem->table, __ATOMIC_ACQUIRE);
}

static void table_publish(VmmGuestMem *mem, MemTable *t)
{
    MemTable *old = mem->table;
    /* Pairs with the acquire load in table_get(). */
    __atomic_store_n(&mem->table, t, __ATOMIC_RELEASE);
    g_ptr_array_add(mem->retired, old);
}

static int lowest_free_id(const MemTable *t)
{
    for (int id = 0; id < MAX_REGIONS; id++) {
        bool used = false;
        for (unsigned i = 0; i < t->n; i++) {
            if (t->r[i].id == id) {
                used = true;
                break;
            }
        }
        if (!used) {
            return id;
        }
    }
    return -ENOSPC;
}

int vmm_guest_mem_add_region(VmmGuestMem *mem, const char *name, uint64_t gpa, uint64_t size,
                             uint8_t *host, uint32_t flags)
{
    if (size == 0 || ((gpa | size) & PAGE_MASK) != 0 || gpa + size < gpa || host == NULL) {
        return -EINVAL;
    }
    g_mutex_lock(&mem->wlock);
    MemTable *cur = mem->table;
    unsigned pos = 0;
    for (unsigned i = 0; i < cur->n; i++) {
        const VmmMemRegion *r = &cur->r[i];
        if (gpa < r->gpa + r->size && r->gpa < gpa + size) {
            g_mutex_unlock(&mem->wlock);
            return -EEXIST;
        }
        if (r->gpa < gpa) {
            pos = i + 1;
        }
    }
    int id = lowest_free_id(cur);
    if (id < 0) {
        g_mutex_unlock(&mem->wlock);
        return id;
    }
    VmmMemRegion nr = {
        .name = name, .gpa = gpa, .size = size, .host = host, .flags = flags, .id = id};
    if (mem->listener != NULL) {
        int ret = mem->listener->region_add(mem->listener_opaque, &nr);
        if (ret < 0) {
            g_mutex_unlock(&mem->wlock);
            return ret;
        }
    }
    MemTable *t = g_malloc0(sizeof(MemTable) + (cur->n + 1) * sizeof(VmmMemRegion));
    memcpy(t->r, cur->r, pos * sizeof(VmmMemRegion));
    t->r[pos] = nr;
    memcpy(&t->r[pos + 1], &cur->r[pos], (cur->n - pos) * sizeof(VmmMemRegion));
    t->n = cur->n + 1;
    table_publish(mem, t);
    g_mutex_unlock(&mem->wlock);
    return id;
}

int vmm_guest_mem_del_region(VmmGuestMem *mem, int id)
{
    g_mutex_lock(&mem->wlock);
    MemTable *cur = mem->table;
    for (unsigned i = 0; i < cur->n; i++) {
        if (cur->r[i].id != id) {
            continue;
        }
        MemTable *t = g_malloc0(sizeof(MemTable) + cur->n * sizeof(VmmMemRegion));
        memcpy(t->r, cur->r, i * sizeof(VmmMemRegion));
        memcpy(&t->r[i], &cur->r[i + 1], (cur->n - i - 1) * sizeof(VmmMemRegion));
        t->n = cur->n - 1;
        /* Publish first so no new access goes through the region, then drop the memslot. */
        table_publish(mem, t);
        if (mem->listener != NULL) {
            mem->listener->region_del(mem->listener_opaque, &cur->r[i]);
        }
        g_mutex_unlock(&mem->wlock);
        return 0;
    }
    g_mutex_unlock(&mem->wlock);
    return -ENOENT;
}

void vmm_guest_mem_reclaim(VmmGuestMem *mem)
{
    g_mutex_lock(&mem->wlock);
    g_ptr_array_set_size(mem->retired, 0);
    g_mutex_unlock(&mem->wlock);
}

static const VmmMemRegion *region_find(const MemTable *t, uint64_t gpa)
{
    unsigned lo = 0, hi = t->n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const VmmMemRegion *r = &t->r[mid];
        if (gpa < r->gpa) {
            hi = mid;
        } else if (gpa - r->gpa >= r->size) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

/* Checks the whole range first so a failed access transfers nothing. */
static bool range_ok(const MemTable *t, uint64_t gpa, size_t len, bool write)
{
    if (gpa + len < gpa) {
        return false;
    }
    while (len > 0) {
        const VmmMemRegion *r = region_find(t, gpa);
        if (r == NULL || (write && (r->flags & VMM_MEM_READONLY))) {
            return false;
        }
        uint64_t chunk = MIN((uint64_t)len, r->gpa + r->size - gpa);
        gpa += chunk;
        len -= chunk;
    }
    return true;
}

static int guest_copy(VmmGuestMem *mem, uint64_t gpa, void *buf, size_t len, bool write)
{
    const MemTable *t = table_get(mem);
    uint8_t *p = buf;

    if (!range_ok(t, gpa, len, write)) {
        return -EFAULT;
    }
    while (len > 0) {
        const VmmMemRegion *r = region_find(t, gpa);
        if (r == NULL) {
            return -EFAULT; /* cannot happen: range_ok() checked it */
        }
        uint64_t off = gpa - r->gpa;
        size_t chunk = MIN((uint64_t)len, r->size - off);
        if (write) {
            memcpy(r->host + off, p, chunk);
        } else {
            memcpy(p, r->host + off, chunk);
        }
        p += chunk;
        gpa += chunk;
        len -= chunk;
    }
    return 0;
}

int vmm_guest_read(VmmGuestMem *mem, uint64_t gpa, void *buf, size_t len)
{
    return guest_copy(mem, gpa, buf, len, false);
}

int vmm_guest_write(VmmGuestMem *mem, uint64_t gpa, const void *buf, size_t len)
{
    return guest_copy(mem, gpa, (void *)buf, len, true);
}

void *vmm_guest_map(VmmGuestMem *mem, uint64_t gpa, size_t len, bool write)
{
    const VmmMemRegion *r = region_find(table_get(mem), gpa);

    if (r == NULL || (write && (r->flags & VMM_MEM_READONLY))) {
        return NULL;
    }
    uint64_t off = gpa - r->gpa;
    if (len > r->size - off) {
        return NULL;
    }
    return r->host + off;
}

#define GUEST_RW_HELPERS(bits)                                                                     \
    int vmm_guest_read_u##bits(VmmGuestMem *mem, uint64_t gpa, uint##bits##_t *v)                 \
    {                                                                                              \
        uint##bits##_t raw;                                                                        \
        int ret = vmm_guest_read(mem, gpa, &raw, sizeof(raw));                                     \
        if (ret == 0) {                                                                            \
            *v = GUINT##bits##_FROM_LE(raw);                                                       \
        }                                                                                          \
        return ret;                                                                                \
    }                                                                                              \
    int vmm_guest_write_u##bits(VmmGuestMem *mem, uint64_t gpa, uint##bits##_t v)                 \
    {                                                                                              \
        uint##bits##_t raw = GUINT##bits##_TO_LE(v);                                               \
        return vmm_guest_write(mem, gpa, &raw, sizeof(raw));                                       \
    }

GUEST_RW_HELPERS(16)
GUEST_RW_HELPERS(32)
GUEST_RW_HELPERS(64)
