/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * virtio-blk (virtio 1.1 §5.2) on the modern PCI transport: a disk image from the
 * block layer behind one or more request queues. Requests (IN, OUT, FLUSH, GET_ID,
 * DISCARD) are parsed from copied, validated descriptor chains; data moves straight
 * between guest memory and the image through the block layer's asynchronous API,
 * and the completion (on the I/O thread) writes the status byte, returns the chain
 * and interrupts the guest.
 */
#define G_LOG_DOMAIN "virtio-blk"
#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#include "devices/block/block.h"
#include "devices/virtio/virtio-blk.h"
#include "devices/virtio/virtio-pci.h"
#include "vmm/log.h"
#include "vmm/machine.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_CLASS 0x010000 /* mass storage, SCSI (what guests expect for virtio-blk) */
#define VIRTIO_BLK_QUEUE_SIZE 256

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13

/* Config space offsets (struct virtio_blk_config). */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_LEN 60

/* Request types and status (§5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define HDR_LEN 16
#define DISCARD_SEG_LEN 16
#define MAX_DISCARD_SECTORS 0x400000u /* 2 GiB per discard request */

typedef struct {
    VirtioPciDevice vp;
    uint8_t addr;
    char *file;
    char *format;
    bool readonly;
    char *serial;
    uint16_t num_queues;

    BlockDev *bd; /* Owned */
    bool ro;      /* effective: requested or the image is read-only */
    uint64_t sectors;
    unsigned inflight;                      /* submitted to the block layer */
    unsigned inflight_q[VIRTIO_MAX_QUEUES]; /* the same, per queue */
    bool throttled[VIRTIO_MAX_QUEUES];      /* stopped popping at the in-flight cap */
} VirtioBlk;

static void blk_queue_notify(VirtioPciDevice *vp, unsigned q);

typedef struct {
    VirtioBlk *s;
    unsigned q;
    VirtQueueElement *elem; /* Owned */
    uint8_t *status;        /* Borrowed: last byte of the chain's writable part */
    uint32_t written;
    struct iovec *iov; /* Owned: the data buffers */
    unsigned niov;
} BlkReq;

static uint64_t blk_get_features(VirtioPciDevice *vp)
{
    VirtioBlk *s = (VirtioBlk *)vp;
    uint64_t f = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
                 (1ull << VIRTIO_BLK_F_FLUSH);

    if (s->ro) {
        f |= 1ull << VIRTIO_BLK_F_RO;
    } else {
        f |= 1ull << VIRTIO_BLK_F_DISCARD;
    }
    if (s->num_queues > 1) {
        f |= 1ull << VIRTIO_BLK_F_MQ;
    }
    return f;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t blk_config_read(VirtioPciDevice *vp, unsigned offset, unsigned size)
{
    VirtioBlk *s = (VirtioBlk *)vp;
    uint8_t cfg[CFG_LEN] = {0};
    uint32_t v = 0;

    put_le(cfg + CFG_CAPACITY, s->sectors, 8);
    put_le(cfg + CFG_SEG_MAX, VIRTIO_BLK_QUEUE_SIZE - 2, 4);
    put_le(cfg + CFG_BLK_SIZE, BLOCK_SECTOR_SIZE, 4);
    put_le(cfg + CFG_NUM_QUEUES, s->num_queues, 2);
    put_le(cfg + CFG_MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS, 4);
    put_le(cfg + CFG_MAX_DISCARD_SEG, 1, 4);
    put_le(cfg + CFG_DISCARD_ALIGN, 1, 4);
    for (unsigned i = 0; i < size && offset + i < CFG_LEN; i++) {
        v |= (uint32_t)cfg[offset + i] << (8 * i);
    }
    return v;
}

static void req_free(BlkReq *r)
{
    virtqueue_element_free(r->elem);
    g_free(r->iov);
    g_free(r);
}

/* Lock held: status byte last, then the used entry, then maybe an interrupt. */
static void req_complete_locked(BlkReq *r, uint8_t status, bool notify)
{
    VirtioBlk *s = r->s;

    *r->status = status;
    if (virtqueue_push(&s->vp.vq[r->q], r->elem, r->written) && notify) {
        virtio_pci_queue_maybe_notify(&s->vp, r->q);
    }
    req_free(r);
}

static void req_done(void *opaque, int ret)
{
    BlkReq *r = opaque;
    VirtioBlk *s = r->s;

    unsigned q = r->q;

    g_mutex_lock(&s->vp.pci.parent.lock);
    s->inflight--;
    s->inflight_q[q]--;
    if (ret < 0 && ret != -EOPNOTSUPP) {
        g_message("%s: I/O error: %s", s->vp.pci.parent.id, g_strerror(-ret));
    }
    /* An unsupported discard is not an error: discard is only a hint. */
    req_complete_locked(r, ret < 0 && ret != -EOPNOTSUPP ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK,
                        true);
    if (s->throttled[q]) {
        s->throttled[q] = false;
        blk_queue_notify(&s->vp, q);
    }
    g_mutex_unlock(&s->vp.pci.parent.lock);
}

/* Copies @iov minus its first @skip bytes and its last @trim bytes into r->iov. */
static void req_set_data(BlkReq *r, const struct iovec *iov, unsigned n, size_t skip, size_t trim)
{
    size_t total = 0;

    for (unsigned i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    size_t want = total - skip - trim; /* callers checked total >= skip + trim */
    r->iov = g_new(struct iovec, n ? n : 1);
    r->niov = 0;
    for (unsigned i = 0; i < n && want > 0; i++) {
        size_t len = iov[i].iov_len;
        uint8_t *base = iov[i].iov_base;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        base += skip;
        len -= skip;
        skip = 0;
        len = MIN(len, want);
        r->iov[r->niov].iov_base = base;
        r->iov[r->niov].iov_len = len;
        r->niov++;
        want -= len;
    }
}

static bool range_ok(VirtioBlk *s, uint64_t sector, uint64_t bytes)
{
    uint64_t n = bytes / BLOCK_SECTOR_SIZE;
    return bytes % BLOCK_SECTOR_SIZE == 0 && sector <= s->sectors && n <= s->sectors - sector;
}

/* Lock held. Starts one request; completes it at once when it cannot be submitted. */
static void blk_handle(VirtioBlk *s, unsigned q, VirtQueueElement *e)
{
    uint8_t hdr[HDR_LEN];

    if (e->out_len < HDR_LEN || e->in_len < 1) {
        /* Nowhere to report a status: the driver broke the protocol (§5.2.6.1). */
        virtqueue_mark_broken(&s->vp.vq[q], "virtio-blk request without header or status byte");
        virtqueue_element_free(e);
        return;
    }
    iov_to_buf(e->out, e->out_num, 0, hdr, HDR_LEN);
    uint32_t type;
    uint64_t sector;
    memcpy(&type, hdr, 4);
    memcpy(&sector, hdr + 8, 8);
    type = GUINT32_FROM_LE(type);
    sector = GUINT64_FROM_LE(sector);

    BlkReq *r = g_new0(BlkReq, 1);
    r->s = s;
    r->q = q;
    r->elem = e;
    const struct iovec *last = &e->in[e->in_num - 1];
    r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    r->written = 1;

    int ret;
    switch (type) {
    case VIRTIO_BLK_T_IN: {
        uint64_t len = e->in_len - 1;
        if (!range_ok(s, sector, len)) {
            vmm_guest_error("%s: read of %" G_GUINT64_FORMAT " bytes at sector %" G_GUINT64_FORMAT
                            " outside the disk",
                            s->vp.pci.parent.id, len, sector);
            req_complete_locked(r, VIRTIO_BLK_S_IOERR, false);
            return;
        }
        req_set_data(r, e->in, e->in_num, 0, 1);
        r->written = (uint32_t)(len + 1);
        if (len == 0) {
            req_complete_locked(r, VIRTIO_BLK_S_OK, false);
            return;
        }
        ret = block_read_async(s->bd, sector * BLOCK_SECTOR_SIZE, r->iov, r->niov, req_done, r);
        break;
    }
    case VIRTIO_BLK_T_OUT: {
        uint64_t len = e->out_len - HDR_LEN;
        if (s->ro) {
            req_complete_locked(r, VIRTIO_BLK_S_IOERR, false);
            return;
        }
        if (!range_ok(s, sector, len)) {
            vmm_guest_error("%s: write of %" G_GUINT64_FORMAT " bytes at sector %" G_GUINT64_FORMAT
                            " outside the disk",
                            s->vp.pci.parent.id, len, sector);
            req_complete_locked(r, VIRTIO_BLK_S_IOERR, false);
            return;
        }
        if (len == 0) {
            req_complete_locked(r, VIRTIO_BLK_S_OK, false);
            return;
        }
        req_set_data(r, e->out, e->out_num, HDR_LEN, 0);
        ret = block_write_async(s->bd, sector * BLOCK_SECTOR_SIZE, r->iov, r->niov, req_done, r);
        break;
    }
    case VIRTIO_BLK_T_FLUSH:
        if (s->ro) {
            req_complete_locked(r, VIRTIO_BLK_S_OK, false);
            return;
        }
        ret = block_flush_async(s->bd, req_done, r);
        break;
    case VIRTIO_BLK_T_GET_ID: {
        uint8_t id[VIRTIO_BLK_ID_BYTES] = {0};
        if (s->serial) {
            memcpy(id, s->serial, MIN(strlen(s->serial), sizeof(id)));
        }
        size_t n = MIN((uint64_t)sizeof(id), e->in_len - 1);
        req_set_data(r, e->in, e->in_num, 0, 1);
        iov_from_buf(r->iov, r->niov, 0, id, n);
        r->written = (uint32_t)n + 1;
        req_complete_locked(r, VIRTIO_BLK_S_OK, false);
        return;
    }
    case VIRTIO_BLK_T_DISCARD: {
        uint8_t seg[DISCARD_SEG_LEN];
        uint64_t dsector;
        uint32_t nsect;
        uint32_t flags;
        if (s->ro || e->out_len - HDR_LEN != DISCARD_SEG_LEN) {
            /* One segment only: max_discard_seg is 1. */
            req_complete_locked(r, s->ro ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP, false);
            return;
        }
        iov_to_buf(e->out, e->out_num, HDR_LEN, seg, sizeof(seg));
        memcpy(&dsector, seg, 8);
        memcpy(&nsect, seg + 8, 4);
        memcpy(&flags, seg + 12, 4);
        dsector = GUINT64_FROM_LE(dsector);
        nsect = GUINT32_FROM_LE(nsect);
        flags = GUINT32_FROM_LE(flags);
        if (flags != 0) {
            req_complete_locked(r, VIRTIO_BLK_S_UNSUPP, false); /* unmap bit is for zeroes */
            return;
        }
        if (nsect > MAX_DISCARD_SECTORS ||
            !range_ok(s, dsector, (uint64_t)nsect * BLOCK_SECTOR_SIZE)) {
            req_complete_locked(r, VIRTIO_BLK_S_IOERR, false);
            return;
        }
        if (nsect == 0) {
            req_complete_locked(r, VIRTIO_BLK_S_OK, false);
            return;
        }
        ret = block_discard_async(s->bd, dsector * BLOCK_SECTOR_SIZE,
                                  (uint64_t)nsect * BLOCK_SECTOR_SIZE, req_done, r);
        break;
    }
    default:
        req_complete_locked(r, VIRTIO_BLK_S_UNSUPP, false);
        return;
    }
    if (ret < 0) {
        req_complete_locked(r,
                            ret == -EOPNOTSUPP && type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_S_OK
                                                                               : VIRTIO_BLK_S_IOERR,
                            false);
        return;
    }
    s->inflight++;
    s->inflight_q[q]++;
}

static void blk_queue_notify(VirtioPciDevice *vp, unsigned q)
{
    VirtioBlk *s = (VirtioBlk *)vp;
    VirtQueue *vq = &vp->vq[q];
    VirtQueueElement *e;

    if (!s->bd) {
        return;
    }
    /* Drain with kicks suppressed; re-arm, then look again to close the race. */
    do {
        virtqueue_set_notification(vq, false);
        for (;;) {
            /*
             * A driver that re-queues chains before they complete could make us hold
             * unbounded work: at one queue's worth in flight, wait for completions.
             */
            if (s->inflight_q[q] >= vq->size) {
                s->throttled[q] = true;
                break;
            }
            if (virtqueue_pop(vq, &e) != 1) {
                break;
            }
            blk_handle(s, q, e);
        }
        virtqueue_set_notification(vq, true);
    } while (!s->throttled[q] && !virtqueue_empty(vq));
    virtio_pci_queue_maybe_notify(vp, q);
}

static bool blk_busy(VirtioPciDevice *vp)
{
    return ((VirtioBlk *)vp)->inflight > 0;
}

static void blk_reset(VirtioPciDevice *vp)
{
    VirtioBlk *s = (VirtioBlk *)vp;

    /* In-flight requests finish on their own (stale: not returned); stop throttling. */
    memset(s->throttled, 0, sizeof(s->throttled));
}

static const VirtioDeviceOps blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .pci_class = VIRTIO_BLK_CLASS,
    .get_features = blk_get_features,
    .config_read = blk_config_read,
    .queue_notify = blk_queue_notify,
    .reset = blk_reset,
    .busy = blk_busy,
};

static bool parse_format(const char *s, BlockFormat *f)
{
    if (!s || g_str_equal(s, "auto")) {
        *f = BLOCK_FORMAT_AUTO;
    } else if (g_str_equal(s, "raw")) {
        *f = BLOCK_FORMAT_RAW;
    } else if (g_str_equal(s, "vdi")) {
        *f = BLOCK_FORMAT_VDI;
    } else {
        return false;
    }
    return true;
}

static bool virtio_blk_realize(VmmDevice *dev, GError **error)
{
    VirtioBlk *s = (VirtioBlk *)dev;
    BlockOpenOptions opts = {0};

    if (!s->file || !*s->file) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: virtio-blk needs a disk image (file=PATH)", dev->id);
        return false;
    }
    if (!parse_format(s->format, &opts.format)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: unknown format \"%s\" (auto, raw or vdi)", dev->id, s->format);
        return false;
    }
    if (s->serial && strlen(s->serial) > VIRTIO_BLK_ID_BYTES) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: serial \"%s\" is longer than %u characters", dev->id, s->serial,
                    VIRTIO_BLK_ID_BYTES);
        return false;
    }
    opts.read_only = s->readonly;
    /* Completions run on the I/O thread (NULL on fake machines: then on block workers). */
    opts.io = dev->machine->io;
    s->bd = block_open(s->file, &opts, error);
    if (!s->bd) {
        return false;
    }
    s->ro = s->readonly || block_is_read_only(s->bd);
    s->sectors = block_size(s->bd) / BLOCK_SECTOR_SIZE;
    if (!virtio_pci_realize(&s->vp, s->addr, &blk_ops, s->num_queues, VIRTIO_BLK_QUEUE_SIZE,
                            CFG_LEN, error)) {
        block_close(s->bd);
        s->bd = NULL;
        return false;
    }
    return true;
}

static void virtio_blk_reset(VmmDevice *dev)
{
    virtio_pci_reset(&((VirtioBlk *)dev)->vp);
}

static void virtio_blk_unrealize(VmmDevice *dev)
{
    VirtioBlk *s = (VirtioBlk *)dev;

    /* Completions take the device lock and touch the queues: drain them first. */
    if (s->bd) {
        block_close(s->bd);
        s->bd = NULL;
    }
    virtio_pci_unrealize(&s->vp);
}

static const VmmPropDesc virtio_blk_props[] = {
    VMM_PROP_INT(VMM_PROP_U8, "addr", VirtioBlk, addr, 0x18, 0, 0xff,
                 "PCI device/function (devfn), e.g. 0x18 = slot 3"),
    VMM_PROP_STR("file", VirtioBlk, file, NULL, "disk image path"),
    VMM_PROP_STR("format", VirtioBlk, format, "auto", "image format: auto, raw or vdi"),
    VMM_PROP_INT(VMM_PROP_BOOL, "readonly", VirtioBlk, readonly, 0, 0, 1,
                 "present the disk read-only"),
    VMM_PROP_STR("serial", VirtioBlk, serial, NULL, "serial number (up to 20 characters)"),
    VMM_PROP_INT(VMM_PROP_U16, "num_queues", VirtioBlk, num_queues, 1, 1, VIRTIO_MAX_QUEUES - 1,
                 "request queues"),
    VMM_PROP_END,
};

const VmmDeviceType virtio_blk_type = {
    .name = "virtio-blk",
    .description = "virtio block device (PCI, modern)",
    .instance_size = sizeof(VirtioBlk),
    .props = virtio_blk_props,
    .realize = virtio_blk_realize,
    .reset = virtio_blk_reset,
    .unrealize = virtio_blk_unrealize,
};
