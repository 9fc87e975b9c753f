/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fwcfg"
#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#include "devices/firmware/fw-cfg.h"
#include "vmm/bus.h"
#include "vmm/guest-mem.h"
#include "vmm/log.h"
#include "vmm/machine.h"

/* Bit 14 of the selector once meant "write"; firmware may still set it. */
#define FW_CFG_SEL_WRITE_FLAG 0x4000u
#define FW_CFG_SEL_ARCH 0x8000u
/* A transfer may run past an item's end (zeros), but not by more than this. */
#define FW_CFG_DMA_MAX_ZERO_FILL (64u * 1024 * 1024)
/* The data offset saturates here, far past any item, so it can never wrap. */
#define FW_CFG_OFFSET_LIMIT (UINT64_C(1) << 40)
#define FW_CFG_DIR_ENTRY_SIZE 64
#define FW_CFG_DMA_DESC_SIZE 16

typedef struct {
    uint8_t *data; /* Owned, may be NULL when len == 0 */
    size_t len;
    bool writable;
    FwCfgWriteCb write_cb; /* Optional */
    void *write_opaque;    /* Borrowed */
} FwCfgItem;

typedef struct {
    char name[FW_CFG_MAX_NAME];
    FwCfgItem item;
} FwCfgFile;

struct FwCfgState {
    VmmDevice parent;
    /* Everything below is guarded by parent.lock. */
    GHashTable *items;   /* Owned: numeric key -> FwCfgItem * (owned) */
    GPtrArray *files;    /* Owned: FwCfgFile * sorted by name; key = 0x20 + index */
    uint16_t cur_key;    /* selected key, write flag stripped */
    uint64_t cur_offset; /* next byte of the selected item */
    uint32_t dma_high;   /* high half of the DMA address, host order */
};

/* What reads of 0x514..0x51b return: the DMA register's "QEMU CFG" signature. */
static const uint8_t dma_signature[8] = {'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G'};
static const uint8_t zero_page[4096];

static void item_free(gpointer p)
{
    FwCfgItem *it = p;
    g_free(it->data);
    g_free(it);
}

static void file_free(gpointer p)
{
    FwCfgFile *f = p;
    g_free(f->item.data);
    g_free(f);
}

static FwCfgItem *item_lookup_locked(FwCfgState *s, uint16_t key)
{
    if ((key & FW_CFG_SEL_ARCH) == 0 && key >= FW_CFG_FILE_FIRST) {
        unsigned idx = key - FW_CFG_FILE_FIRST;
        if (idx < s->files->len) {
            FwCfgFile *f = g_ptr_array_index(s->files, idx);
            return &f->item;
        }
        return NULL;
    }
    return g_hash_table_lookup(s->items, GUINT_TO_POINTER(key));
}

static void item_set_locked(FwCfgState *s, uint16_t key, const void *data, size_t len)
{
    FwCfgItem *it = g_new0(FwCfgItem, 1);
    it->data = len ? g_memdup2(data, len) : NULL;
    it->len = len;
    g_hash_table_replace(s->items, GUINT_TO_POINTER(key), it);
}

/* FILE_DIR: be32 count, then {be32 size, be16 select, u16 reserved, char name[56]}. */
static void rebuild_dir_locked(FwCfgState *s)
{
    size_t len = 4 + (size_t)s->files->len * FW_CFG_DIR_ENTRY_SIZE;
    g_autofree uint8_t *dir = g_malloc0(len);
    uint32_t count = GUINT32_TO_BE(s->files->len);

    memcpy(dir, &count, 4);
    for (unsigned i = 0; i < s->files->len; i++) {
        FwCfgFile *f = g_ptr_array_index(s->files, i);
        uint8_t *e = dir + 4 + (size_t)i * FW_CFG_DIR_ENTRY_SIZE;
        uint32_t size = GUINT32_TO_BE((uint32_t)f->item.len);
        uint16_t sel = GUINT16_TO_BE((uint16_t)(FW_CFG_FILE_FIRST + i));

        memcpy(e, &size, 4);
        memcpy(e + 4, &sel, 2);
        memcpy(e + 8, f->name, FW_CFG_MAX_NAME);
    }
    item_set_locked(s, FW_CFG_FILE_DIR, dir, len);
}

static void select_locked(FwCfgState *s, uint16_t key)
{
    s->cur_key = key & ~FW_CFG_SEL_WRITE_FLAG;
    s->cur_offset = 0;
}

static void advance_locked(FwCfgState *s, uint64_t n)
{
    s->cur_offset = MIN(s->cur_offset + MIN(n, FW_CFG_OFFSET_LIMIT), FW_CFG_OFFSET_LIMIT);
}

static uint8_t data_read_byte_locked(FwCfgState *s)
{
    FwCfgItem *it = item_lookup_locked(s, s->cur_key);

    if (it == NULL || s->cur_offset >= it->len) {
        return 0;
    }
    return it->data[s->cur_offset++];
}

/* READ: item bytes first, then zeros for whatever lies past the item's end. */
static int dma_read_locked(FwCfgState *s, FwCfgItem *it, uint64_t gpa, uint32_t len)
{
    VmmGuestMem *mem = s->parent.machine->mem;
    uint64_t avail = (it != NULL && s->cur_offset < it->len) ? it->len - s->cur_offset : 0;
    uint64_t n = MIN((uint64_t)len, avail);
    uint64_t rest = len - n;

    if (n > 0) {
        if (vmm_guest_write(mem, gpa, it->data + s->cur_offset, n) < 0) {
            return -EFAULT;
        }
        advance_locked(s, n);
        gpa += n;
    }
    if (rest > FW_CFG_DMA_MAX_ZERO_FILL) {
        return -EINVAL;
    }
    while (rest > 0) {
        size_t chunk = MIN(rest, sizeof(zero_page));
        if (vmm_guest_write(mem, gpa, zero_page, chunk) < 0) {
            return -EFAULT;
        }
        advance_locked(s, chunk);
        gpa += chunk;
        rest -= chunk;
    }
    return 0;
}

/* WRITE: only into writable items, and never past their end (no resizing). */
static int dma_write_locked(FwCfgState *s, FwCfgItem *it, uint64_t gpa, uint32_t len)
{
    if (it == NULL || !it->writable) {
        return -EPERM;
    }
    if (s->cur_offset > it->len || len > it->len - s->cur_offset) {
        return -ERANGE;
    }
    if (len == 0) {
        return 0;
    }
    uint64_t off = s->cur_offset;
    if (vmm_guest_read(s->parent.machine->mem, gpa, it->data + off, len) < 0) {
        return -EFAULT;
    }
    advance_locked(s, len);
    if (it->write_cb != NULL) {
        it->write_cb(it->write_opaque, it->data, it->len, off, len);
    }
    return 0;
}

static void dma_run_locked(FwCfgState *s, uint64_t desc_gpa)
{
    VmmGuestMem *mem = s->parent.machine->mem;
    uint8_t raw[FW_CFG_DMA_DESC_SIZE];
    uint32_t control, length;
    uint64_t address;
    int ret = 0;

    /* Copy the descriptor out of guest memory first; only the copy is looked at. */
    if (vmm_guest_read(mem, desc_gpa, raw, sizeof(raw)) < 0) {
        vmm_guest_error("fw_cfg: DMA descriptor at 0x%" G_GINT64_MODIFIER "x unreadable", desc_gpa);
        return;
    }
    memcpy(&control, raw, 4);
    memcpy(&length, raw + 4, 4);
    memcpy(&address, raw + 8, 8);
    control = GUINT32_FROM_BE(control);
    length = GUINT32_FROM_BE(length);
    address = GUINT64_FROM_BE(address);

    if (control & FW_CFG_DMA_SELECT) {
        select_locked(s, (uint16_t)(control >> 16));
    }

    FwCfgItem *it = item_lookup_locked(s, s->cur_key);
    bool transfers = (control & (FW_CFG_DMA_READ | FW_CFG_DMA_WRITE)) != 0;
    if (transfers && length > 0 && address > UINT64_MAX - (length - 1)) {
        ret = -EINVAL;
    } else if (control & FW_CFG_DMA_READ) {
        ret = dma_read_locked(s, it, address, length);
    } else if (control & FW_CFG_DMA_WRITE) {
        ret = dma_write_locked(s, it, address, length);
    } else if (control & FW_CFG_DMA_SKIP) {
        advance_locked(s, length);
    }

    if (ret < 0) {
        vmm_guest_error("fw_cfg: DMA control 0x%x key 0x%x len %u addr 0x%" G_GINT64_MODIFIER
                        "x failed: %s",
                        control, s->cur_key, length, address, g_strerror(-ret));
    }
    /* Firmware polls the control word: 0 when done, the ERROR bit on failure. */
    if (vmm_guest_write_u32(mem, desc_gpa, GUINT32_TO_BE(ret < 0 ? FW_CFG_DMA_ERROR : 0)) < 0) {
        vmm_guest_error("fw_cfg: cannot complete DMA descriptor at 0x%" G_GINT64_MODIFIER "x",
                        desc_gpa);
    }
}

static uint64_t fw_cfg_io_read(void *opaque, uint64_t offset, unsigned size)
{
    FwCfgState *s = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        uint64_t p = offset + i;
        uint8_t b = 0;

        if (offset == FW_CFG_PORT_DATA - FW_CFG_PORT_SEL) {
            /* A wide read of the data port returns that many consecutive item bytes. */
            b = data_read_byte_locked(s);
        } else if (p >= FW_CFG_PORT_DMA - FW_CFG_PORT_SEL && p < FW_CFG_PORT_LEN) {
            b = dma_signature[p - (FW_CFG_PORT_DMA - FW_CFG_PORT_SEL)];
        }
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void fw_cfg_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    FwCfgState *s = opaque;

    switch (offset) {
    case 0:
        select_locked(s, (uint16_t)value);
        return;
    case 1:
        /* Data port writes have been ignored since QEMU 2.4; firmware does not rely on them. */
        return;
    case 4:
        if (size == 4) {
            s->dma_high = GUINT32_FROM_BE((uint32_t)value);
            return;
        }
        break;
    case 8:
        if (size == 4) {
            uint64_t gpa = ((uint64_t)s->dma_high << 32) | GUINT32_FROM_BE((uint32_t)value);
            /* SeaBIOS only writes the low half, so the high half must not linger. */
            s->dma_high = 0;
            dma_run_locked(s, gpa);
            return;
        }
        break;
    default:
        break;
    }
    vmm_guest_error("fw_cfg: ignored %u-byte write of 0x%" G_GINT64_MODIFIER "x at port 0x%x", size,
                    value, (unsigned)(FW_CFG_PORT_SEL + offset));
}

static const VmmIoOps fw_cfg_io_ops = {
    .read = fw_cfg_io_read,
    .write = fw_cfg_io_write,
    .min_access = 1,
    .max_access = 4,
};

static void fw_cfg_unrealize(VmmDevice *dev)
{
    FwCfgState *s = (FwCfgState *)dev;

    g_clear_pointer(&s->items, g_hash_table_unref);
    g_clear_pointer(&s->files, g_ptr_array_unref);
}

static bool fw_cfg_realize(VmmDevice *dev, GError **error)
{
    FwCfgState *s = (FwCfgState *)dev;
    static const uint8_t signature[4] = {'Q', 'E', 'M', 'U'};
    uint32_t id = GUINT32_TO_LE(FW_CFG_VERSION);

    s->items = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, item_free);
    s->files = g_ptr_array_new_with_free_func(file_free);
    item_set_locked(s, FW_CFG_SIGNATURE, signature, sizeof(signature));
    item_set_locked(s, FW_CFG_ID, &id, sizeof(id));
    rebuild_dir_locked(s);

    int ret = vmm_bus_register(dev->machine->pio, "fw_cfg", FW_CFG_PORT_SEL, FW_CFG_PORT_LEN,
                               &fw_cfg_io_ops, s, &dev->lock);
    if (ret < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-ret),
                    "fw_cfg: cannot claim I/O ports 0x%x-0x%x: %s", FW_CFG_PORT_SEL,
                    FW_CFG_PORT_SEL + FW_CFG_PORT_LEN - 1, g_strerror(-ret));
        fw_cfg_unrealize(dev);
        return false;
    }
    return true;
}

static void fw_cfg_reset(VmmDevice *dev)
{
    FwCfgState *s = (FwCfgState *)dev;

    s->cur_key = FW_CFG_SIGNATURE;
    s->cur_offset = 0;
    s->dma_high = 0;
}

const VmmDeviceType fwcfg_type = {
    .name = "fwcfg",
    .description = "QEMU-compatible firmware configuration interface (fw_cfg) with DMA",
    .instance_size = sizeof(FwCfgState),
    .props = NULL,
    .realize = fw_cfg_realize,
    .reset = fw_cfg_reset,
    .unrealize = fw_cfg_unrealize,
};

FwCfgState *fw_cfg_from_device(VmmDevice *dev)
{
    if (dev == NULL || dev->type != &fwcfg_type) {
        return NULL;
    }
    return (FwCfgState *)dev;
}

int fw_cfg_add_bytes(FwCfgState *s, uint16_t key, const void *data, size_t len)
{
    if (key == FW_CFG_SIGNATURE || key == FW_CFG_ID || key == FW_CFG_FILE_DIR ||
        (key & FW_CFG_SEL_WRITE_FLAG) != 0 ||
        ((key & FW_CFG_SEL_ARCH) == 0 && key >= FW_CFG_FILE_FIRST)) {
        return -EINVAL;
    }
    if (len > UINT32_MAX) {
        return -E2BIG;
    }
    g_mutex_lock(&s->parent.lock);
    item_set_locked(s, key, data, len);
    g_mutex_unlock(&s->parent.lock);
    return 0;
}

int fw_cfg_add_i16(FwCfgState *s, uint16_t key, uint16_t v)
{
    uint16_t le = GUINT16_TO_LE(v);
    return fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

int fw_cfg_add_i32(FwCfgState *s, uint16_t key, uint32_t v)
{
    uint32_t le = GUINT32_TO_LE(v);
    return fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

int fw_cfg_add_i64(FwCfgState *s, uint16_t key, uint64_t v)
{
    uint64_t le = GUINT64_TO_LE(v);
    return fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

/* Index of @name in the sorted directory, or where it would go (*found false). */
static unsigned file_position_locked(FwCfgState *s, const char *name, bool *found)
{
    unsigned lo = 0, hi = s->files->len;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        FwCfgFile *f = g_ptr_array_index(s->files, mid);
        int c = strcmp(f->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

static int add_file(FwCfgState *s, const char *name, const void *data, size_t len, bool writable,
                    FwCfgWriteCb cb, void *opaque)
{
    size_t name_len = name ? strlen(name) : 0;
    bool found;

    if (name_len == 0 || name_len >= FW_CFG_MAX_NAME) {
        return -EINVAL;
    }
    if (len > UINT32_MAX) {
        return -E2BIG;
    }

    g_mutex_lock(&s->parent.lock);
    unsigned pos = file_position_locked(s, name, &found);
    FwCfgFile *f;
    if (found) {
        f = g_ptr_array_index(s->files, pos);
        g_free(f->item.data);
    } else {
        if (s->files->len >= FW_CFG_MAX_FILES) {
            g_mutex_unlock(&s->parent.lock);
            return -ENOSPC;
        }
        f = g_new0(FwCfgFile, 1);
        memcpy(f->name, name, name_len);
        g_ptr_array_insert(s->files, (gint)pos, f);
    }
    f->item.data = len ? g_memdup2(data, len) : NULL;
    f->item.len = len;
    f->item.writable = writable;
    f->item.write_cb = cb;
    f->item.write_opaque = opaque;
    rebuild_dir_locked(s);
    g_mutex_unlock(&s->parent.lock);
    return 0;
}

int fw_cfg_add_file(FwCfgState *s, const char *name, const void *data, size_t len)
{
    return add_file(s, name, data, len, false, NULL, NULL);
}

int fw_cfg_add_file_writable(FwCfgState *s, const char *name, const void *data, size_t len,
                             FwCfgWriteCb cb, void *opaque)
{
    return add_file(s, name, data, len, true, cb, opaque);
}

bool fw_cfg_find_file(FwCfgState *s, const char *name, uint16_t *key, const uint8_t **data,
                      size_t *len)
{
    bool found = false;

    if (name == NULL) {
        return false;
    }
    g_mutex_lock(&s->parent.lock);
    unsigned pos = file_position_locked(s, name, &found);
    if (found) {
        FwCfgFile *f = g_ptr_array_index(s->files, pos);
        if (key != NULL) {
            *key = (uint16_t)(FW_CFG_FILE_FIRST + pos);
        }
        if (data != NULL) {
            *data = f->item.data;
        }
        if (len != NULL) {
            *len = f->item.len;
        }
    }
    g_mutex_unlock(&s->parent.lock);
    return found;
}
