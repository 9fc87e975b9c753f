/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Split virtqueue, device side (virtio 1.1 §2.6). Ring layout:
 *   descriptor table: size x {le64 addr, le32 len, le16 flags, le16 next}, 16-byte aligned
 *   driver ring:      le16 flags, le16 idx, le16 ring[size], le16 used_event; 2-aligned
 *   device ring:      le16 flags, le16 idx, {le32 id, le32 len}[size], le16 avail_event;
 *                     4-aligned
 *
 * Memory ordering follows the spec's pairs (the driver's side in brackets):
 *   - read avail->idx, acquire fence, then read ring entries and descriptors
 *     [driver: write entries, write barrier, write avail->idx];
 *   - write a used entry, release fence, then write used->idx
 *     [driver: read used->idx, read barrier, read used entries];
 *   - write used->idx, full fence, then read avail flags / used_event
 *     [driver: write used_event, full barrier, re-read used->idx];
 *   - write avail_event (or clear NO_NOTIFY), full fence, then re-read avail->idx
 *     [driver: write avail->idx, full barrier, read avail_event / used flags].
 */
#define G_LOG_DOMAIN "virtqueue"
#include "devices/virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

#define DESC_SIZE 16u

typedef struct {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} VirtqDesc;

void virtqueue_mark_broken(VirtQueue *vq, const char *why)
{
    if (!vq->broken) {
        vmm_guest_error("virtqueue %u: %s; device needs reset", vq->index, why);
        vq->broken = true;
        if (vq->on_error) {
            vq->on_error(vq->opaque, vq);
        }
    }
}

static uint64_t avail_bytes(uint16_t size)
{
    return 6u + 2u * (uint64_t)size;
}

static uint64_t used_bytes(uint16_t size)
{
    return 6u + 8u * (uint64_t)size;
}

static bool avail_read16(VirtQueue *vq, uint64_t off, uint16_t *v)
{
    if (vq->avail_map) {
        *v = GUINT16_FROM_LE(__atomic_load_n((uint16_t *)(vq->avail_map + off), __ATOMIC_RELAXED));
        return true;
    }
    if (vmm_guest_read_u16(vq->mem, vq->avail_gpa + off, v) < 0) {
        virtqueue_mark_broken(vq, "driver ring not readable");
        return false;
    }
    return true;
}

static bool used_write16(VirtQueue *vq, uint64_t off, uint16_t v)
{
    if (vq->used_map) {
        __atomic_store_n((uint16_t *)(vq->used_map + off), GUINT16_TO_LE(v), __ATOMIC_RELAXED);
        return true;
    }
    if (vmm_guest_write_u16(vq->mem, vq->used_gpa + off, v) < 0) {
        virtqueue_mark_broken(vq, "device ring not writable");
        return false;
    }
    return true;
}

static bool used_write32(VirtQueue *vq, uint64_t off, uint32_t v)
{
    if (vq->used_map) {
        __atomic_store_n((uint32_t *)(vq->used_map + off), GUINT32_TO_LE(v), __ATOMIC_RELAXED);
        return true;
    }
    if (vmm_guest_write_u32(vq->mem, vq->used_gpa + off, v) < 0) {
        virtqueue_mark_broken(vq, "device ring not writable");
        return false;
    }
    return true;
}

void virtqueue_init(VirtQueue *vq, VmmGuestMem *mem, unsigned index, VirtQueueErrorFunc on_error,
                    void *opaque)
{
    memset(vq, 0, sizeof(*vq));
    vq->mem = mem;
    vq->index = index;
    vq->on_error = on_error;
    vq->opaque = opaque;
}

void virtqueue_reset(VirtQueue *vq)
{
    unsigned generation = vq->generation + 1;
    VmmGuestMem *mem = vq->mem;
    unsigned index = vq->index;
    VirtQueueErrorFunc on_error = vq->on_error;
    void *opaque = vq->opaque;

    virtqueue_init(vq, mem, index, on_error, opaque);
    vq->generation = generation;
}

/* True when [gpa, gpa + len) is backed by guest memory (maps or copies to find out). */
static bool range_backed(VmmGuestMem *mem, uint64_t gpa, uint64_t len)
{
    if (vmm_guest_map(mem, gpa, len, false)) {
        return true;
    }
    g_autofree uint8_t *tmp = g_malloc(len);
    return vmm_guest_read(mem, gpa, tmp, len) == 0;
}

int virtqueue_enable(VirtQueue *vq)
{
    uint16_t size = vq->size;

    if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0) {
        return -EINVAL;
    }
    if ((vq->desc_gpa & 15) != 0 || (vq->avail_gpa & 1) != 0 || (vq->used_gpa & 3) != 0) {
        return -EINVAL;
    }
    if (!range_backed(vq->mem, vq->desc_gpa, (uint64_t)size * DESC_SIZE) ||
        !range_backed(vq->mem, vq->avail_gpa, avail_bytes(size)) ||
        !range_backed(vq->mem, vq->used_gpa, used_bytes(size))) {
        return -EINVAL;
    }
    /* Contiguous rings are accessed in place; otherwise through the copying helpers. */
    vq->avail_map = vmm_guest_map(vq->mem, vq->avail_gpa, avail_bytes(size), false);
    vq->used_map = vmm_guest_map(vq->mem, vq->used_gpa, used_bytes(size), true);
    vq->last_avail = 0;
    vq->used_idx = 0;
    /* Both sides start at used index 0, so the driver's view is known from the start. */
    vq->signalled_used = 0;
    vq->signalled_valid = true;
    vq->broken = false;
    vq->enabled = true;
    return 0;
}

bool virtqueue_empty(VirtQueue *vq)
{
    uint16_t idx;

    if (!vq->enabled || vq->broken) {
        return true;
    }
    if (!avail_read16(vq, 2, &idx)) {
        return true;
    }
    return idx == vq->last_avail;
}

static bool read_desc(VirtQueue *vq, uint64_t gpa, VirtqDesc *d)
{
    uint8_t raw[DESC_SIZE];

    if (vmm_guest_read(vq->mem, gpa, raw, sizeof(raw)) < 0) {
        return false;
    }
    memcpy(&d->addr, raw, 8);
    memcpy(&d->len, raw + 8, 4);
    memcpy(&d->flags, raw + 12, 2);
    memcpy(&d->next, raw + 14, 2);
    d->addr = GUINT64_FROM_LE(d->addr);
    d->len = GUINT32_FROM_LE(d->len);
    d->flags = GUINT16_FROM_LE(d->flags);
    d->next = GUINT16_FROM_LE(d->next);
    return true;
}

typedef struct {
    struct iovec *iov;
    unsigned n;
    unsigned cap;
    unsigned n_in;
    uint64_t out_len;
    uint64_t in_len;
} ChainBuilder;

static void builder_add(ChainBuilder *b, void *base, size_t len, bool in)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->iov = g_renew(struct iovec, b->iov, b->cap);
    }
    b->iov[b->n].iov_base = base;
    b->iov[b->n].iov_len = len;
    b->n++;
    if (in) {
        b->n_in++;
        b->in_len += len;
    } else {
        b->out_len += len;
    }
}

/* Adds one data descriptor; returns an error text or NULL. */
static const char *add_buffer(VirtQueue *vq, ChainBuilder *b, const VirtqDesc *d)
{
    bool in = (d->flags & VIRTQ_DESC_F_WRITE) != 0;

    if (!in && b->n_in > 0) {
        return "driver-readable descriptor after a device-writable one";
    }
    if ((uint64_t)d->len > VIRTQ_MAX_ELEM_BYTES - (b->out_len + b->in_len)) {
        return "chain describes too many bytes";
    }
    uint64_t addr = d->addr;
    uint64_t len = d->len;

    if (addr + len < addr) {
        return "buffer wraps the address space";
    }
    while (len > 0) {
        uint64_t chunk = len;
        void *host = vmm_guest_map(vq->mem, addr, len, in);

        if (!host) {
            /*
             * The buffer may straddle two adjacent memory regions: find the longest
             * prefix inside one (prefixes of a mappable range are mappable).
             */
            uint64_t ok = 0;
            uint64_t bad = len;
            while (bad - ok > 1) {
                uint64_t mid = ok + (bad - ok) / 2;
                if (vmm_guest_map(vq->mem, addr, mid, in)) {
                    ok = mid;
                } else {
                    bad = mid;
                }
            }
            if (ok == 0) {
                return "buffer outside guest RAM";
            }
            chunk = ok;
            host = vmm_guest_map(vq->mem, addr, chunk, in);
        }
        if (b->n >= VIRTQ_MAX_SEGS) {
            return "chain has too many segments";
        }
        builder_add(b, host, chunk, in);
        addr += chunk;
        len -= chunk;
    }
    return NULL;
}

static const char *walk_chain(VirtQueue *vq, uint16_t head, ChainBuilder *b)
{
    g_autofree uint8_t *table = NULL; /* copy of the indirect table, once entered */
    unsigned n = vq->size;            /* entries in the current table */
    unsigned count = 0;
    unsigned i = head;

    for (;;) {
        VirtqDesc d;

        /* Every walk visits at most n descriptors: this bounds loops as well. */
        if (++count > n) {
            return table ? "indirect chain loops or is too long" : "chain loops or is too long";
        }
        if (table) {
            memcpy(&d.addr, table + i * DESC_SIZE, 8);
            memcpy(&d.len, table + i * DESC_SIZE + 8, 4);
            memcpy(&d.flags, table + i * DESC_SIZE + 12, 2);
            memcpy(&d.next, table + i * DESC_SIZE + 14, 2);
            d.addr = GUINT64_FROM_LE(d.addr);
            d.len = GUINT32_FROM_LE(d.len);
            d.flags = GUINT16_FROM_LE(d.flags);
            d.next = GUINT16_FROM_LE(d.next);
        } else if (!read_desc(vq, vq->desc_gpa + (uint64_t)i * DESC_SIZE, &d)) {
            return "descriptor table not readable";
        }

        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (table) {
                return "nested indirect table";
            }
            if (!vq->indirect) {
                return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
            }
            if (d.flags & VIRTQ_DESC_F_NEXT) {
                return "indirect descriptor with NEXT";
            }
            if (d.len == 0 || d.len % DESC_SIZE != 0 || d.len / DESC_SIZE > VIRTQ_MAX_INDIRECT) {
                return "bad indirect table length";
            }
            table = g_malloc(d.len);
            if (vmm_guest_read(vq->mem, d.addr, table, d.len) < 0) {
                return "indirect table outside guest RAM";
            }
            n = d.len / DESC_SIZE;
            count = 0;
            i = 0;
            continue;
        }

        const char *err = add_buffer(vq, b, &d);
        if (err) {
            return err;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
            return NULL;
        }
        i = d.next;
        if (i >= n) {
            return "next index out of range";
        }
    }
}

int virtqueue_pop(VirtQueue *vq, VirtQueueElement **elem)
{
    uint16_t avail_idx;
    uint16_t head;

    *elem = NULL;
    if (vq->broken) {
        return -EIO;
    }
    if (!vq->enabled) {
        return 0;
    }
    if (!avail_read16(vq, 2, &avail_idx)) {
        return -EIO;
    }
    if (avail_idx == vq->last_avail) {
        return 0;
    }
    if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
        virtqueue_mark_broken(vq, "driver ring index ran ahead of the queue size");
        return -EIO;
    }
    /* Acquire: entries and descriptors are read after the index that published them. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (!avail_read16(vq, 4 + 2u * (vq->last_avail % vq->size), &head)) {
        return -EIO;
    }
    if (head >= vq->size) {
        virtqueue_mark_broken(vq, "head index out of range");
        return -EIO;
    }

    ChainBuilder b = {0};
    const char *err = walk_chain(vq, head, &b);
    if (err) {
        g_free(b.iov);
        virtqueue_mark_broken(vq, err);
        return -EIO;
    }
    vq->last_avail++;

    unsigned n_out = b.n - b.n_in;
    VirtQueueElement *e = g_malloc0(sizeof(*e) + b.n * sizeof(struct iovec));
    e->head = head;
    e->generation = vq->generation;
    e->out = (struct iovec *)(e + 1);
    e->in = e->out + n_out;
    e->out_num = n_out;
    e->in_num = b.n_in;
    e->out_len = b.out_len;
    e->in_len = b.in_len;
    /* Read-only buffers all precede writable ones (checked), so the order is kept. */
    if (b.n > 0) {
        memcpy(e->out, b.iov, b.n * sizeof(struct iovec));
    }
    g_free(b.iov);
    *elem = e;
    return 1;
}

void virtqueue_element_free(VirtQueueElement *elem)
{
    g_free(elem);
}

bool virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem, uint32_t written)
{
    if (!vq->enabled || vq->broken || elem->generation != vq->generation) {
        return false;
    }
    uint64_t off = 4 + 8u * (vq->used_idx % vq->size);
    if (!used_write32(vq, off, elem->head) || !used_write32(vq, off + 4, written)) {
        return false;
    }
    /* Release: the entry is visible before the index that publishes it. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vq->used_idx++;
    return used_write16(vq, 2, vq->used_idx);
}

bool virtqueue_should_notify(VirtQueue *vq)
{
    uint16_t v;

    if (!vq->enabled || vq->broken) {
        return false;
    }
    uint16_t old = vq->signalled_used;
    bool valid = vq->signalled_valid;
    uint16_t now = vq->used_idx;

    /* Nothing returned since the last decision: nothing to tell. */
    if (old == now) {
        return false;
    }
    vq->signalled_used = now;
    vq->signalled_valid = true;
    /* Full fence: our used->idx store before reading the driver's suppression fields. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->event_idx) {
        if (!avail_read16(vq, 0, &v)) {
            return false;
        }
        return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    if (!avail_read16(vq, 4 + 2u * vq->size, &v)) {
        return false;
    }
    if (!valid) {
        return true;
    }
    /* Notify when used_event lies in [old, now): the driver asked to hear about it. */
    return (uint16_t)(now - v - 1) < (uint16_t)(now - old);
}

void virtqueue_set_notification(VirtQueue *vq, bool enable)
{
    if (!vq->enabled || vq->broken) {
        return;
    }
    if (vq->event_idx) {
        if (enable) {
            used_write16(vq, 4 + 8u * vq->size, vq->last_avail);
        }
    } else {
        used_write16(vq, 0, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
    }
    if (enable) {
        /* Full fence: re-arming is visible before the caller re-reads avail->idx. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        size_t chunk = MIN(iov[i].iov_len - offset, len - done);
        memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + offset, chunk);
        done += chunk;
        offset = 0;
    }
    return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        size_t chunk = MIN(iov[i].iov_len - offset, len - done);
        memcpy((uint8_t *)iov[i].iov_base + offset, (const uint8_t *)buf + done, chunk);
        done += chunk;
        offset = 0;
    }
    return done;
}
