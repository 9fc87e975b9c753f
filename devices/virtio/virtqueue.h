/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Virtio 1.x split virtqueues, device side: the descriptor table, the driver
 * ("available") ring and the device ("used") ring in guest memory, descriptor chains
 * with indirect tables, event-index notification suppression.
 *
 * The guest owns the rings and may rewrite them at any moment, so every descriptor
 * is copied before use and validated. A malformed ring marks the queue broken and
 * calls the owner's error callback (the transport then sets DEVICE_NEEDS_RESET); a
 * broken queue pops nothing until it is reset.
 *
 * Locking: a VirtQueue has no lock of its own; its owner (the device) serialises every
 * call with its device lock.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/guest-mem.h"

#define VIRTQ_MAX_SIZE 1024u     /* largest queue size a device may offer here */
#define VIRTQ_MAX_INDIRECT 1024u /* entries in one indirect table */
/* iovecs per element (a buffer straddling memory regions takes several). */
#define VIRTQ_MAX_SEGS 2048u
/* Total bytes one element may describe: bounds the work a single request can cause. */
#define VIRTQ_MAX_ELEM_BYTES (256u * 1024u * 1024u)

/* Descriptor flags and ring flags (virtio 1.1 §2.6.5, §2.6.6, §2.6.8). */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* Feature bits the queue layer implements. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29

typedef struct VirtQueue VirtQueue;

/* Called when the driver broke the ring (the queue is already marked broken). */
typedef void (*VirtQueueErrorFunc)(void *opaque, VirtQueue *vq);

struct VirtQueue {
    VmmGuestMem *mem; /* Borrowed */
    unsigned index;   /* queue number within the device */
    VirtQueueErrorFunc on_error;
    void *opaque;

    /* Driver-programmed layout (valid once enabled). */
    uint16_t size;
    uint64_t desc_gpa;
    uint64_t avail_gpa;
    uint64_t used_gpa;
    bool enabled;
    bool broken;
    bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
    bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */

    /* Host pointers when a ring lies in one region (NULL: copy through guest-mem). */
    uint8_t *avail_map;
    uint8_t *used_map;

    uint16_t last_avail;     /* next driver-ring slot to consume */
    uint16_t used_idx;       /* our copy of used->idx */
    uint16_t signalled_used; /* used_idx when the driver was last notified */
    bool signalled_valid;
    unsigned generation; /* bumped on reset: stale completions are dropped */
};

/*
 * One popped chain. The iovecs point straight into guest memory (driver-readable
 * "out" buffers first, then device-writable "in" buffers); they stay valid while the
 * VM runs (regions are only removed with the VM paused).
 */
typedef struct {
    uint16_t head;
    unsigned out_num;
    unsigned in_num;
    uint64_t out_len;
    uint64_t in_len;
    struct iovec *out; /* Owned by the element (one allocation with in) */
    struct iovec *in;
    unsigned generation;
} VirtQueueElement;

void virtqueue_init(VirtQueue *vq, VmmGuestMem *mem, unsigned index, VirtQueueErrorFunc on_error,
                    void *opaque);
/* Back to the disabled power-on state; outstanding elements become stale. */
void virtqueue_reset(VirtQueue *vq);
/*
 * Enables the queue with the layout already stored in @vq (size, addresses, features).
 * Returns 0, or -EINVAL when the layout is invalid (size not a power of two, rings
 * misaligned or outside guest RAM); the queue then stays disabled.
 */
int virtqueue_enable(VirtQueue *vq);

/*
 * Pops the next available chain. Returns 1 with *@elem set (free it with
 * virtqueue_element_free), 0 when the ring is empty, -EIO when the queue is broken
 * (now or before).
 */
int virtqueue_pop(VirtQueue *vq, VirtQueueElement **elem);
void virtqueue_element_free(VirtQueueElement *elem);
/*
 * Returns @elem to the driver with @written bytes written into its in-buffers.
 * Ignored (returns false) for stale elements or a broken/disabled queue.
 */
bool virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem, uint32_t written);
/* After pushes: true when the driver wants an interrupt now (flags or used_event). */
bool virtqueue_should_notify(VirtQueue *vq);
/*
 * Driver-notification suppression: @enable false asks the driver not to kick us while
 * we drain the ring; true re-arms (writing avail_event with EVENT_IDX). After
 * re-arming, callers must check virtqueue_empty() again to close the race.
 */
void virtqueue_set_notification(VirtQueue *vq, bool enable);
bool virtqueue_empty(VirtQueue *vq);
/* The device found the driver's request malformed: log, mark broken, call on_error. */
void virtqueue_mark_broken(VirtQueue *vq, const char *why);

/* Copies from/to an iovec array (bounded by its total length). Returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf,
                    size_t len);
