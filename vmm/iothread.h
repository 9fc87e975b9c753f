/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The I/O thread: one epoll loop over ioeventfds, back-end completion fds and
 * sockets. Handlers run on that thread and must not block.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct VmmIoThread VmmIoThread;
/* @events are EPOLL* bits that fired. */
typedef void (*VmmIoFunc)(void *opaque, uint32_t events);

VmmIoThread *vmm_iothread_new(GError **error);
/* Stops and joins the thread; fds can still be removed afterwards (no callback runs). */
void vmm_iothread_stop(VmmIoThread *io);
/* Stops the thread if needed and frees everything. */
void vmm_iothread_free(VmmIoThread *io);
/* Watches @fd for @events (EPOLLIN...). Safe from any thread. Returns 0 or -errno. */
int vmm_iothread_add_fd(VmmIoThread *io, int fd, uint32_t events, VmmIoFunc cb, void *opaque);
/*
 * Stops watching @fd. When called from another thread it waits until a running
 * callback for @fd has returned, so @opaque may be freed afterwards.
 */
int vmm_iothread_remove_fd(VmmIoThread *io, int fd);
