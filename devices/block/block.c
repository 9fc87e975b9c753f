/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The block layer core: opening (format probe), request validation, and the
 * asynchronous engine. Requests go into a per-image queue served by a small pool
 * of worker threads that call the format driver synchronously (pread/pwrite/
 * fdatasync); adjacent requests of the same kind waiting in the queue are merged
 * into one vectored call. Completions are handed to the machine's I/O thread
 * through an eventfd when the image was opened with one.
 */
#define G_LOG_DOMAIN "block"
#include "devices/block/block-int.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/iothread.h"

#define BLOCK_WORKERS 4
/* Merging stops at these limits so one merged call stays bounded. */
#define MERGE_MAX_BYTES (4u << 20)
#define MERGE_MAX_IOV 256

typedef enum { REQ_READ, REQ_WRITE, REQ_FLUSH, REQ_DISCARD } ReqKind;

typedef struct BlockReq {
    ReqKind kind;
    uint64_t offset;
    uint64_t len;
    struct iovec *iov; /* owned copy */
    unsigned niov;
    BlockCompleteFunc cb;
    void *opaque;
    int ret;
} BlockReq;

typedef struct BlockWorkers {
    GMutex lock;
    GCond work_cond;  /* workers wait for requests */
    GCond idle_cond;  /* block_close waits for in-flight requests */
    GQueue queue;     /* BlockReq *, not yet started */
    GQueue done;      /* BlockReq *, finished, callback pending (I/O thread mode) */
    unsigned inflight; /* queued + running + done-not-yet-called */
    bool stopping;
    GThread *threads[BLOCK_WORKERS];
    int event_fd;     /* -1 without an I/O thread */
} BlockWorkers;

/* ---- iovec helpers ---- */

unsigned block_iov_slice(const struct iovec *iov, unsigned niov, size_t skip, size_t len,
                         struct iovec *out)
{
    unsigned n = 0;

    for (unsigned i = 0; i < niov && len > 0; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t take = MIN(iov[i].iov_len - skip, len);
        out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[n].iov_len = take;
        n++;
        len -= take;
        skip = 0;
    }
    return n;
}

void block_iov_memset(const struct iovec *iov, unsigned niov, int c)
{
    for (unsigned i = 0; i < niov; i++) {
        memset(iov[i].iov_base, c, iov[i].iov_len);
    }
}

size_t block_iov_to_buf(const struct iovec *iov, unsigned niov, void *buf, size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < niov && done < len; i++) {
        size_t take = MIN(iov[i].iov_len, len - done);
        memcpy((uint8_t *)buf + done, iov[i].iov_base, take);
        done += take;
    }
    return done;
}

static size_t iov_total(const struct iovec *iov, unsigned niov)
{
    size_t total = 0;

    for (unsigned i = 0; i < niov; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

/*
 * preadv/pwritev may transfer less than asked (signals, huge requests); loop on a
 * private copy of the vector, advancing it.
 */
static int full_rw(int fd, const struct iovec *iov, unsigned niov, uint64_t offset, bool write,
                   bool zero_past_eof)
{
    g_autofree struct iovec *v = g_memdup2(iov, sizeof(*iov) * MAX(niov, 1));
    struct iovec *cur = v;
    unsigned left = niov;

    while (left > 0) {
        if (cur->iov_len == 0) {
            cur++;
            left--;
            continue;
        }
        int cnt = (int)MIN(left, (unsigned)IOV_MAX);
        ssize_t r = write ? pwritev(fd, cur, cnt, (off_t)offset) : preadv(fd, cur, cnt,
                                                                             (off_t)offset);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            if (write) {
                return -EIO;
            }
            if (!zero_past_eof) {
                return -EIO;
            }
            block_iov_memset(cur, left, 0);
            return 0;
        }
        offset += (uint64_t)r;
        size_t n = (size_t)r;
        while (n > 0 && left > 0) {
            if (n >= cur->iov_len) {
                n -= cur->iov_len;
                cur++;
                left--;
            } else {
                cur->iov_base = (uint8_t *)cur->iov_base + n;
                cur->iov_len -= n;
                n = 0;
            }
        }
    }
    return 0;
}

int block_full_preadv(int fd, const struct iovec *iov, unsigned niov, uint64_t offset,
                      bool zero_past_eof)
{
    return full_rw(fd, iov, niov, offset, false, zero_past_eof);
}

int block_full_pwritev(int fd, const struct iovec *iov, unsigned niov, uint64_t offset)
{
    return full_rw(fd, iov, niov, offset, true, false);
}

/* ---- open / close ---- */

static bool probe_vdi(int fd)
{
    uint8_t sig[4];

    if (pread(fd, sig, sizeof(sig), 0x40) != sizeof(sig)) {
        return false;
    }
    return sig[0] == 0x7f && sig[1] == 0x10 && sig[2] == 0xda && sig[3] == 0xbe;
}

BlockDev *block_open_internal(const char *path, const BlockOpenOptions *options, GError **error)
{
    BlockOpenOptions defaults = { 0 };
    const BlockOpenOptions *o = options != NULL ? options : &defaults;
    BlockDev *bd;
    int fd;

    fd = open(path, (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: cannot open: %s",
                    path, g_strerror(e));
        return NULL;
    }
    bd = g_new0(BlockDev, 1);
    bd->path = g_strdup(path);
    bd->fd = fd;
    bd->read_only = o->read_only;
    bd->io = o->io;
    bd->format = o->format;
    if (bd->format == BLOCK_FORMAT_AUTO) {
        bd->format = probe_vdi(fd) ? BLOCK_FORMAT_VDI : BLOCK_FORMAT_RAW;
    }
    switch (bd->format) {
    case BLOCK_FORMAT_RAW:
        bd->drv = &block_raw_driver;
        break;
    case BLOCK_FORMAT_VDI:
        bd->drv = &block_vdi_driver;
        break;
    default:
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: unknown format %d",
                    path, (int)bd->format);
        close(fd);
        g_free(bd->path);
        g_free(bd);
        return NULL;
    }
    if (!bd->drv->open(bd, o, error)) {
        close(fd);
        g_free(bd->path);
        g_free(bd);
        return NULL;
    }
    return bd;
}

BlockDev *block_open(const char *path, const BlockOpenOptions *options, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    return block_open_internal(path, options, error);
}

static void run_done(BlockWorkers *w);

void block_close(BlockDev *bd)
{
    if (bd == NULL) {
        return;
    }
    BlockWorkers *w = bd->workers;
    if (w != NULL) {
        /*
         * Wait for in-flight requests. Finished requests waiting for the I/O
         * thread are completed here, so closing from the I/O thread itself cannot
         * deadlock.
         */
        g_mutex_lock(&w->lock);
        while (w->inflight > 0) {
            if (w->done.length > 0) {
                g_mutex_unlock(&w->lock);
                run_done(w);
                g_mutex_lock(&w->lock);
                continue;
            }
            g_cond_wait(&w->idle_cond, &w->lock);
        }
        w->stopping = true;
        g_cond_broadcast(&w->work_cond);
        g_mutex_unlock(&w->lock);
        for (unsigned i = 0; i < BLOCK_WORKERS; i++) {
            g_thread_join(w->threads[i]);
        }
        if (w->event_fd >= 0) {
            vmm_iothread_remove_fd(bd->io, w->event_fd);
            close(w->event_fd);
        }
        g_mutex_clear(&w->lock);
        g_cond_clear(&w->work_cond);
        g_cond_clear(&w->idle_cond);
        g_free(w);
    }
    bd->drv->close(bd);
    close(bd->fd);
    g_free(bd->path);
    g_free(bd);
}

uint64_t block_size(BlockDev *bd)
{
    return bd->size;
}

bool block_is_read_only(BlockDev *bd)
{
    return bd->read_only;
}

BlockFormat block_format(BlockDev *bd)
{
    return bd->format;
}

const char *block_path(BlockDev *bd)
{
    return bd->path;
}

/* ---- validation and the synchronous path ---- */

static int check_range(BlockDev *bd, uint64_t offset, uint64_t len)
{
    if (offset % BLOCK_SECTOR_SIZE != 0 || len % BLOCK_SECTOR_SIZE != 0) {
        return -EINVAL;
    }
    if (offset > bd->size || len > bd->size - offset) {
        return -ENOSPC;
    }
    /* One request is bounded so no caller can make a driver allocate without limit. */
    if (len > (1u << 30)) {
        return -EINVAL;
    }
    return 0;
}

int block_drv_readv(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov)
{
    return bd->drv->readv(bd, offset, iov, niov);
}

int block_pread(BlockDev *bd, uint64_t offset, void *buf, size_t len)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    int r = check_range(bd, offset, len);

    if (r < 0) {
        return r;
    }
    if (len == 0) {
        return 0;
    }
    return bd->drv->readv(bd, offset, &iov, 1);
}

int block_pwrite(BlockDev *bd, uint64_t offset, const void *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    int r = check_range(bd, offset, len);

    if (r < 0) {
        return r;
    }
    if (bd->read_only) {
        return -EROFS;
    }
    if (len == 0) {
        return 0;
    }
    return bd->drv->writev(bd, offset, &iov, 1);
}

int block_flush(BlockDev *bd)
{
    if (bd->read_only) {
        return 0;
    }
    return bd->drv->flush(bd);
}

int block_resize(BlockDev *bd, uint64_t new_size)
{
    if (bd->read_only) {
        return -EROFS;
    }
    if (new_size % BLOCK_SECTOR_SIZE != 0 || new_size < bd->size) {
        return -EINVAL;
    }
    if (new_size == bd->size) {
        return 0;
    }
    if (bd->drv->resize == NULL) {
        return -ENOTSUP;
    }
    /* Resizing with requests in flight is the caller's bug; the tools resize idle images. */
    return bd->drv->resize(bd, new_size);
}

/* ---- the asynchronous engine ---- */

static void complete_req(BlockReq *req)
{
    req->cb(req->opaque, req->ret);
    g_free(req->iov);
    g_free(req);
}

static void finish_locked(BlockDev *bd, BlockWorkers *w, BlockReq *req)
{
    if (w->event_fd >= 0) {
        uint64_t one = 1;
        g_queue_push_tail(&w->done, req);
        /* The counter can only fail to increase when it is saturated, i.e. already set. */
        if (write(w->event_fd, &one, sizeof(one)) < 0) {
            g_debug("%s: eventfd write: %s", bd->path, g_strerror(errno));
        }
        g_cond_broadcast(&w->idle_cond);
        return;
    }
    g_mutex_unlock(&w->lock);
    complete_req(req);
    g_mutex_lock(&w->lock);
    w->inflight--;
    g_cond_broadcast(&w->idle_cond);
}

static void run_done(BlockWorkers *w)
{
    for (;;) {
        g_mutex_lock(&w->lock);
        BlockReq *req = g_queue_pop_head(&w->done);
        g_mutex_unlock(&w->lock);
        if (req == NULL) {
            return;
        }
        complete_req(req);
        g_mutex_lock(&w->lock);
        w->inflight--;
        g_cond_broadcast(&w->idle_cond);
        g_mutex_unlock(&w->lock);
    }
}

static void done_event_cb(void *opaque, uint32_t events)
{
    BlockWorkers *w = opaque;
    uint64_t cnt;

    if (read(w->event_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN) {
        g_debug("eventfd read: %s", g_strerror(errno));
    }
    run_done(w);
}

static int exec_one(BlockDev *bd, ReqKind kind, uint64_t offset, uint64_t len,
                    const struct iovec *iov, unsigned niov)
{
    switch (kind) {
    case REQ_READ:
        return bd->drv->readv(bd, offset, iov, niov);
    case REQ_WRITE:
        return bd->drv->writev(bd, offset, iov, niov);
    case REQ_FLUSH:
        return bd->drv->flush(bd);
    case REQ_DISCARD:
        return bd->drv->discard != NULL ? bd->drv->discard(bd, offset, len) : 0;
    }
    return -EINVAL;
}

static gpointer worker_main(gpointer data)
{
    BlockDev *bd = data;
    BlockWorkers *w = bd->workers;
    GPtrArray *batch = g_ptr_array_new();

    g_mutex_lock(&w->lock);
    for (;;) {
        while (w->queue.length == 0 && !w->stopping) {
            g_cond_wait(&w->work_cond, &w->lock);
        }
        if (w->queue.length == 0 && w->stopping) {
            break;
        }
        BlockReq *first = g_queue_pop_head(&w->queue);
        g_ptr_array_set_size(batch, 0);
        g_ptr_array_add(batch, first);
        uint64_t end = first->offset + first->len;
        unsigned niov = first->niov;
        uint64_t bytes = first->len;
        /* Merge queued requests that continue this one exactly. */
        while (first->kind == REQ_READ || first->kind == REQ_WRITE) {
            BlockReq *next = g_queue_peek_head(&w->queue);
            if (next == NULL || next->kind != first->kind || next->offset != end ||
                niov + next->niov > MERGE_MAX_IOV || bytes + next->len > MERGE_MAX_BYTES) {
                break;
            }
            g_queue_pop_head(&w->queue);
            g_ptr_array_add(batch, next);
            end += next->len;
            niov += next->niov;
            bytes += next->len;
        }
        g_mutex_unlock(&w->lock);

        int ret;
        if (batch->len == 1) {
            ret = exec_one(bd, first->kind, first->offset, first->len, first->iov, first->niov);
        } else {
            g_autofree struct iovec *all = g_new(struct iovec, niov);
            unsigned n = 0;
            for (unsigned i = 0; i < batch->len; i++) {
                BlockReq *r = g_ptr_array_index(batch, i);
                memcpy(&all[n], r->iov, sizeof(*all) * r->niov);
                n += r->niov;
            }
            ret = exec_one(bd, first->kind, first->offset, bytes, all, n);
        }

        g_mutex_lock(&w->lock);
        for (unsigned i = 0; i < batch->len; i++) {
            BlockReq *r = g_ptr_array_index(batch, i);
            r->ret = ret;
            finish_locked(bd, w, r);
        }
    }
    g_mutex_unlock(&w->lock);
    g_ptr_array_free(batch, TRUE);
    return NULL;
}

static int ensure_workers(BlockDev *bd)
{
    /* Created by the first request; requests come from one owner at a time (device lock). */
    static GMutex create_lock;
    int ret = 0;

    g_mutex_lock(&create_lock);
    if (bd->workers == NULL) {
        BlockWorkers *w = g_new0(BlockWorkers, 1);
        g_mutex_init(&w->lock);
        g_cond_init(&w->work_cond);
        g_cond_init(&w->idle_cond);
        g_queue_init(&w->queue);
        g_queue_init(&w->done);
        w->event_fd = -1;
        if (bd->io != NULL) {
            w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            if (w->event_fd < 0) {
                ret = -errno;
                g_free(w);
                goto out;
            }
            ret = vmm_iothread_add_fd(bd->io, w->event_fd, EPOLLIN, done_event_cb, w);
            if (ret < 0) {
                close(w->event_fd);
                g_free(w);
                goto out;
            }
        }
        bd->workers = w;
        for (unsigned i = 0; i < BLOCK_WORKERS; i++) {
            w->threads[i] = g_thread_new("block-worker", worker_main, bd);
        }
    }
out:
    g_mutex_unlock(&create_lock);
    return ret;
}

static int submit(BlockDev *bd, ReqKind kind, uint64_t offset, uint64_t len,
                  const struct iovec *iov, unsigned niov, BlockCompleteFunc cb, void *opaque)
{
    int r;

    if (cb == NULL) {
        return -EINVAL;
    }
    r = ensure_workers(bd);
    if (r < 0) {
        return r;
    }
    BlockReq *req = g_new0(BlockReq, 1);
    req->kind = kind;
    req->offset = offset;
    req->len = len;
    req->iov = niov > 0 ? g_memdup2(iov, sizeof(*iov) * niov) : NULL;
    req->niov = niov;
    req->cb = cb;
    req->opaque = opaque;

    BlockWorkers *w = bd->workers;
    g_mutex_lock(&w->lock);
    w->inflight++;
    g_queue_push_tail(&w->queue, req);
    g_cond_signal(&w->work_cond);
    g_mutex_unlock(&w->lock);
    return 0;
}

static int check_rw(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                    uint64_t *len)
{
    if (niov == 0 || niov > IOV_MAX || (iov == NULL)) {
        return -EINVAL;
    }
    *len = iov_total(iov, niov);
    if (*len == 0) {
        return -EINVAL;
    }
    return check_range(bd, offset, *len);
}

int block_read_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                     BlockCompleteFunc cb, void *opaque)
{
    uint64_t len;
    int r = check_rw(bd, offset, iov, niov, &len);

    if (r < 0) {
        return r;
    }
    return submit(bd, REQ_READ, offset, len, iov, niov, cb, opaque);
}

int block_write_async(BlockDev *bd, uint64_t offset, const struct iovec *iov, unsigned niov,
                      BlockCompleteFunc cb, void *opaque)
{
    uint64_t len;
    int r = check_rw(bd, offset, iov, niov, &len);

    if (r < 0) {
        return r;
    }
    if (bd->read_only) {
        return -EROFS;
    }
    return submit(bd, REQ_WRITE, offset, len, iov, niov, cb, opaque);
}

int block_flush_async(BlockDev *bd, BlockCompleteFunc cb, void *opaque)
{
    /* A read-only image has nothing to flush; fdatasync on it is harmless and succeeds. */
    return submit(bd, REQ_FLUSH, 0, 0, NULL, 0, cb, opaque);
}

int block_discard_async(BlockDev *bd, uint64_t offset, uint64_t len, BlockCompleteFunc cb,
                        void *opaque)
{
    int r = check_range(bd, offset, len);

    if (r < 0) {
        return r;
    }
    if (bd->read_only) {
        return -EROFS;
    }
    return submit(bd, REQ_DISCARD, offset, len, NULL, 0, cb, opaque);
}

/* ---- creation and information ---- */

bool block_create_raw(const char *path, uint64_t size, GError **error)
{
    if (size == 0 || size % BLOCK_SECTOR_SIZE != 0 || size > (UINT64_C(1) << 60)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: size %" G_GUINT64_FORMAT " is not a positive multiple of 512", path,
                    size);
        return false;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: cannot create: %s",
                    path, g_strerror(e));
        if (fd >= 0) {
            close(fd);
        }
        return false;
    }
    close(fd);
    return true;
}

char *block_dup_info(BlockDev *bd)
{
    g_autofree char *uuid = block_dup_uuid(bd);
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "image: %s\nformat: %s\nvirtual size: %" G_GUINT64_FORMAT
                           " bytes (%.1f MiB)\n", bd->path,
                           bd->format == BLOCK_FORMAT_VDI ? "vdi" : "raw", bd->size,
                           bd->size / 1048576.0);
    if (uuid != NULL) {
        g_string_append_printf(s, "uuid: %s\n", uuid);
    }
    if (bd->format == BLOCK_FORMAT_VDI) {
        block_vdi_describe(bd, s);
    }
    return g_string_free(s, FALSE);
}
