/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fake-block"
#include "fake-block.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>

FakeBlock fake_block;

typedef enum { OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD } FakeOp;

typedef struct {
    FakeOp op;
    uint64_t offset;
    uint64_t len;
    struct iovec *iov;
    unsigned niov;
    BlockCompleteFunc cb;
    void *opaque;
} FakeReq;

static GQueue pending = G_QUEUE_INIT;

void fake_block_init(uint64_t size)
{
    fake_block_cleanup();
    fake_block.data = g_malloc(size);
    fake_block.size = size;
    for (uint64_t i = 0; i < size; i++) {
        fake_block.data[i] = (uint8_t)(i * 7 + 3);
    }
}

void fake_block_cleanup(void)
{
    g_free(fake_block.data);
    memset(&fake_block, 0, sizeof(fake_block));
}

BlockDev *block_open(const char *path, const BlockOpenOptions *options, GError **error)
{
    if (!fake_block.data) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no fake disk", path);
        return NULL;
    }
    fake_block.opens++;
    if (options && options->read_only) {
        fake_block.read_only = true;
    }
    return (BlockDev *)&fake_block;
}

void block_close(BlockDev *bd)
{
    fake_block_run();
}

uint64_t block_size(BlockDev *bd)
{
    return fake_block.size;
}

bool block_is_read_only(BlockDev *bd)
{
    return fake_block.read_only;
}

static int queue_req(FakeOp op, uint64_t offset, uint64_t len, const struct iovec *iov,
                     unsigned niov, BlockCompleteFunc cb, void *opaque)
{
    FakeReq *r = g_new0(FakeReq, 1);

    /* The block layer checks again what devices must check first. */
    g_assert_true(offset % BLOCK_SECTOR_SIZE == 0);
    g_assert_true(offset <= fake_block.size && len <= fake_block.size - offset);
    r->op = op;
    r->offset = offset;
    r->len = len;
    r->iov = g_memdup2(iov, sizeof(*iov) * niov);
    r->niov = niov;
    r->cb = cb;
    r->opaque = opaque;
    g_queue_push_tail(&pending, r);
    return 0;
}

static uint64_t iov_total(const struct iovec *iov, unsigned niov)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < niov; i++) {
        t += iov[i].iov_len;
    }
    return t;
}

int block_read_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                     BlockCompleteFunc cb, void *opaque)
{
    return queue_req(OP_READ, offset, iov_total(iov, niov), iov, niov, cb, opaque);
}

int block_write_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                      BlockCompleteFunc cb, void *opaque)
{
    g_assert_false(fake_block.read_only);
    return queue_req(OP_WRITE, offset, iov_total(iov, niov), iov, niov, cb, opaque);
}

int block_flush_async(BlockDev *bd, BlockCompleteFunc cb, void *opaque)
{
    return queue_req(OP_FLUSH, 0, 0, NULL, 0, cb, opaque);
}

int block_discard_async(BlockDev *bd, uint64_t offset, uint64_t len, BlockCompleteFunc cb,
                        void *opaque)
{
    return queue_req(OP_DISCARD, offset, len, NULL, 0, cb, opaque);
}

unsigned fake_block_pending(void)
{
    return g_queue_get_length(&pending);
}

unsigned fake_block_run(void)
{
    unsigned n = 0;
    FakeReq *r;

    while ((r = g_queue_pop_head(&pending)) != NULL) {
        uint64_t off = r->offset;
        int ret = fake_block.fail_next;

        fake_block.fail_next = 0;
        if (ret == 0) {
            for (unsigned i = 0; i < r->niov; i++) {
                if (r->op == OP_READ) {
                    memcpy(r->iov[i].iov_base, fake_block.data + off, r->iov[i].iov_len);
                } else if (r->op == OP_WRITE) {
                    memcpy(fake_block.data + off, r->iov[i].iov_base, r->iov[i].iov_len);
                }
                off += r->iov[i].iov_len;
            }
            switch (r->op) {
            case OP_READ:
                fake_block.reads++;
                break;
            case OP_WRITE:
                fake_block.writes++;
                break;
            case OP_FLUSH:
                fake_block.flushes++;
                break;
            case OP_DISCARD:
                fake_block.discards++;
                fake_block.last_discard_offset = r->offset;
                fake_block.last_discard_len = r->len;
                break;
            }
        }
        r->cb(r->opaque, ret);
        g_free(r->iov);
        g_free(r);
        n++;
    }
    return n;
}
