/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for the split virtqueue (devices/virtio/virtqueue.c): the input fills
 * a small guest RAM holding the descriptor table, both rings and the buffers, then
 * drives a sequence of pops, pushes, notification decisions, suppression changes,
 * RAM mutations (a guest racing the device) and resets. Nothing may crash, hang,
 * leak, or hand out a buffer outside guest RAM.
 */
#define G_LOG_DOMAIN "fuzz-virtqueue"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "vmm/guest-mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE 0x10000u
#define DESC_GPA 0x0000u
#define AVAIL_GPA 0x0800u
#define USED_GPA 0x1000u
#define MAX_HELD 8

static VmmGuestMem *mem;
static uint8_t *ram;
/* The same size of RAM cut into three regions at 0x1000 and 0x2000: rings straddle them. */
static VmmGuestMem *split_mem;
static uint8_t *split_ram;
static unsigned errors;

static void on_error(void *opaque, VirtQueue *vq)
{
    errors++;
}

static void init_once(void)
{
    if (mem) {
        return;
    }
    mem = vmm_guest_mem_new();
    if (!vmm_guest_mem_alloc_ram(mem, RAM_SIZE, NULL)) {
        g_error("no RAM");
    }
    ram = vmm_guest_mem_ram_ptr(mem, 0, RAM_SIZE);
    if (vmm_guest_mem_add_region(mem, "ram", 0, RAM_SIZE, ram, 0) < 0) {
        g_error("no region");
    }
    split_mem = vmm_guest_mem_new();
    if (!vmm_guest_mem_alloc_ram(split_mem, RAM_SIZE, NULL)) {
        g_error("no RAM");
    }
    split_ram = vmm_guest_mem_ram_ptr(split_mem, 0, RAM_SIZE);
    if (vmm_guest_mem_add_region(split_mem, "lo", 0, 0x1000, split_ram, 0) < 0 ||
        vmm_guest_mem_add_region(split_mem, "mid", 0x1000, 0x1000, split_ram + 0x1000, 0) < 0 ||
        vmm_guest_mem_add_region(split_mem, "hi", 0x2000, RAM_SIZE - 0x2000, split_ram + 0x2000,
                                 0) < 0) {
        g_error("no region");
    }
}

static void check_elem(const VirtQueueElement *e)
{
    const struct iovec *all[2] = {e->out, e->in};
    unsigned counts[2] = {e->out_num, e->in_num};
    volatile uint8_t sink = 0;

    for (unsigned k = 0; k < 2; k++) {
        for (unsigned i = 0; i < counts[k]; i++) {
            const uint8_t *b = all[k][i].iov_base;
            size_t len = all[k][i].iov_len;
            if (b < ram || len > RAM_SIZE || b + len > ram + RAM_SIZE) {
                g_error("buffer outside guest RAM");
            }
            sink ^= b[0];
            sink ^= b[len - 1];
        }
    }
    (void)sink;
}

/* Makes random descriptors mostly well-formed so the fuzzer reaches deep states. */
static void tame_descriptors(uint16_t qsize, uint8_t mode, uint64_t avail_gpa)
{
    for (unsigned i = 0; i < qsize; i++) {
        uint8_t *d = ram + DESC_GPA + 16 * i;
        uint64_t addr;
        uint32_t len;
        uint16_t next;

        memcpy(&addr, d, 8);
        memcpy(&len, d + 8, 4);
        memcpy(&next, d + 14, 2);
        addr = 0x2000 + (addr % (RAM_SIZE - 0x3000));
        len = (mode & 1) ? (len & 0x3ff) : (len & 0x1ff0);
        next %= qsize;
        memcpy(d, &addr, 8);
        memcpy(d + 8, &len, 4);
        memcpy(d + 14, &next, 2);
    }
    for (unsigned i = 0; i < qsize; i++) {
        uint16_t *slot = (uint16_t *)(ram + avail_gpa + 4 + 2 * i);
        *slot %= qsize;
    }
    uint16_t *idx = (uint16_t *)(ram + avail_gpa + 2);
    *idx %= (uint16_t)(qsize + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VirtQueue vq;
    VirtQueueElement *held[MAX_HELD] = {0};
    unsigned nheld = 0;

    init_once();
    if (size < 4) {
        return 0;
    }
    bool split = data[1] & 8;
    VmmGuestMem *m = split ? split_mem : mem;
    ram = split ? split_ram : vmm_guest_mem_ram_ptr(mem, 0, RAM_SIZE);
    /* Split layout: the driver ring straddles 0x1000, the device ring 0x2000. */
    uint64_t avail_gpa = split ? 0x0ff0 : AVAIL_GPA;
    uint64_t used_gpa = split ? 0x1ff0 : USED_GPA;
    uint16_t qsize = (uint16_t)(1u << (data[0] % 8)); /* 1 .. 128 */
    uint8_t flags = data[1];
    size_t nops = MIN((size_t)data[2] * 3, size - 4);
    const uint8_t *ops = data + size - nops;
    size_t fill = MIN(size - 4 - nops, (size_t)RAM_SIZE);

    memset(ram, 0, RAM_SIZE);
    memcpy(ram, data + 4, fill);
    if (flags & 0x80) {
        tame_descriptors(qsize, data[3], avail_gpa);
    }

    virtqueue_init(&vq, m, 0, on_error, NULL);
    vq.size = qsize;
    vq.desc_gpa = DESC_GPA;
    vq.avail_gpa = avail_gpa;
    vq.used_gpa = used_gpa;
    vq.indirect = flags & 1;
    vq.event_idx = flags & 2;
    if (flags & 4) {
        vq.desc_gpa = RAM_SIZE - 8; /* invalid layout: enable must refuse */
    }
    if (virtqueue_enable(&vq) < 0) {
        return 0;
    }

    for (size_t i = 0; i + 3 <= nops; i += 3) {
        uint8_t op = ops[i];
        uint16_t arg = (uint16_t)(ops[i + 1] | (ops[i + 2] << 8));

        switch (op % 7) {
        case 0: {
            VirtQueueElement *e = NULL;
            int r = virtqueue_pop(&vq, &e);
            if (r == 1) {
                check_elem(e);
                if (nheld < MAX_HELD) {
                    held[nheld++] = e;
                } else {
                    virtqueue_push(&vq, e, arg);
                    virtqueue_element_free(e);
                }
            } else if (e != NULL) {
                g_error("pop returned %d with an element", r);
            }
            break;
        }
        case 1:
            if (nheld > 0) {
                VirtQueueElement *e = held[0];
                memmove(held, held + 1, (nheld - 1) * sizeof(held[0]));
                nheld--;
                /* Written length comes from the device; keep it within the element. */
                virtqueue_push(&vq, e, (uint32_t)MIN((uint64_t)arg, e->in_len));
                virtqueue_element_free(e);
            }
            break;
        case 2:
            virtqueue_should_notify(&vq);
            break;
        case 3:
            virtqueue_set_notification(&vq, arg & 1);
            break;
        case 4:
            /* The guest rewrites rings behind the device's back. */
            ram[arg % 0x2000] = (uint8_t)(arg >> 8) ^ op;
            break;
        case 5:
            virtqueue_empty(&vq);
            break;
        case 6:
            if (arg % 4 == 0) {
                virtqueue_reset(&vq);
                vq.size = qsize;
                vq.desc_gpa = DESC_GPA;
                vq.avail_gpa = avail_gpa;
                vq.used_gpa = used_gpa;
                vq.indirect = flags & 1;
                vq.event_idx = flags & 2;
                virtqueue_enable(&vq);
            }
            break;
        }
    }
    for (unsigned i = 0; i < nheld; i++) {
        /* Stale after a reset: push must refuse quietly. */
        virtqueue_push(&vq, held[i], 0);
        virtqueue_element_free(held[i]);
    }
    return 0;
}
