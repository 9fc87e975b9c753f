/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-io"
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gio/gio.h>

#include "iothread.h"

typedef struct {
    int fd;
    VmmIoFunc cb;
    void *opaque;
} IoHandler;

struct VmmIoThread {
    int epfd;
    int wake_fd;        /* eventfd: tells the thread to quit */
    GThread *thread;
    GMutex lock;        /* guards @handlers; held while a callback runs */
    GHashTable *handlers; /* fd → IoHandler * */
    bool quit;
};

static void *iothread_main(void *opaque)
{
    VmmIoThread *io = opaque;
    struct epoll_event evs[32];

    for (;;) {
        int n = epoll_wait(io->epfd, evs, G_N_ELEMENTS(evs), -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            g_warning("epoll_wait: %s", g_strerror(errno));
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == io->wake_fd) {
                return NULL;
            }
            /* Look the handler up again: it may have been removed since epoll_wait returned. */
            g_mutex_lock(&io->lock);
            IoHandler *h = g_hash_table_lookup(io->handlers, GINT_TO_POINTER(fd));
            if (h != NULL) {
                h->cb(h->opaque, evs[i].events);
            }
            g_mutex_unlock(&io->lock);
        }
    }
}

VmmIoThread *vmm_iothread_new(GError **error)
{
    VmmIoThread *io = g_new0(VmmIoThread, 1);
    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    io->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (io->epfd < 0 || io->wake_fd < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "I/O thread: %s",
                    g_strerror(errno));
        if (io->epfd >= 0) {
            close(io->epfd);
        }
        if (io->wake_fd >= 0) {
            close(io->wake_fd);
        }
        g_free(io);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = io->wake_fd};
    epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->wake_fd, &ev);
    g_mutex_init(&io->lock);
    io->handlers = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    io->thread = g_thread_new("io", iothread_main, io);
    return io;
}

void vmm_iothread_stop(VmmIoThread *io)
{
    if (io == NULL || io->thread == NULL) {
        return;
    }
    uint64_t one = 1;
    if (write(io->wake_fd, &one, sizeof(one)) < 0) {
        g_warning("cannot wake the I/O thread: %s", g_strerror(errno));
    }
    g_thread_join(io->thread);
    io->thread = NULL;
}

void vmm_iothread_free(VmmIoThread *io)
{
    if (io == NULL) {
        return;
    }
    vmm_iothread_stop(io);
    close(io->wake_fd);
    close(io->epfd);
    g_hash_table_unref(io->handlers);
    g_mutex_clear(&io->lock);
    g_free(io);
}

static bool on_io_thread(VmmIoThread *io)
{
    return g_thread_self() == io->thread;
}

int vmm_iothread_add_fd(VmmIoThread *io, int fd, uint32_t events, VmmIoFunc cb, void *opaque)
{
    bool here = on_io_thread(io);
    IoHandler *h = g_new0(IoHandler, 1);
    h->fd = fd;
    h->cb = cb;
    h->opaque = opaque;

    if (!here) {
        g_mutex_lock(&io->lock);
    }
    int ret = 0;
    if (g_hash_table_contains(io->handlers, GINT_TO_POINTER(fd))) {
        ret = -EEXIST;
        g_free(h);
    } else {
        struct epoll_event ev = {.events = events, .data.fd = fd};
        if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            ret = -errno;
            g_free(h);
        } else {
            g_hash_table_insert(io->handlers, GINT_TO_POINTER(fd), h);
        }
    }
    if (!here) {
        g_mutex_unlock(&io->lock);
    }
    return ret;
}

int vmm_iothread_remove_fd(VmmIoThread *io, int fd)
{
    bool here = on_io_thread(io);
    int ret = 0;

    /* Taking the lock waits for a running callback, so @opaque may be freed on return. */
    if (!here) {
        g_mutex_lock(&io->lock);
    }
    if (!g_hash_table_remove(io->handlers, GINT_TO_POINTER(fd))) {
        ret = -ENOENT;
    } else if (epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, NULL) < 0) {
        ret = -errno;
    }
    if (!here) {
        g_mutex_unlock(&io->lock);
    }
    return ret;
}
