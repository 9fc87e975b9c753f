/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the character back ends: the ops table each kind implements and the shared
 * input-watch plumbing (I/O thread when the machine has one, vmm_char_poll() otherwise).
 */
#pragma once

#include "devices/backend/char.h"
#include <sys/epoll.h>

#include "vmm/iothread.h"

#define CHAR_MAX_WATCHES 2
#define CHAR_READ_CHUNK 4096

typedef struct VmmCharOps {
    const char *kind;
    /* Required: take up to @len bytes without blocking; returns how many were taken.
     * Called with be->lock held. */
    size_t (*write)(VmmCharBackend *be, const uint8_t *data, size_t len);
    /* Optional: release the kind's state. Every input watch is already gone. */
    void (*close)(VmmCharBackend *be);
} VmmCharOps;

typedef struct {
    int fd;       /* -1 when the slot is free */
    VmmIoFunc cb; /* runs on the I/O thread (or in vmm_char_poll) with @be as opaque */
} CharWatch;

struct VmmCharBackend {
    const VmmCharOps *ops; /* Borrowed, static */
    VmmMachine *machine;   /* Borrowed, may be NULL: its I/O thread (if any) watches input */
    GMutex lock;           /* guards everything below */
    VmmCharReceiveFunc receive;
    void *receive_opaque;
    uint64_t dropped;
    bool closing; /* set by vmm_char_close: callbacks must not touch watches */
    CharWatch watches[CHAR_MAX_WATCHES];
    void *priv; /* Owned by the kind */
};

/*
 * The machine's I/O thread, read at each use: vmm_machine_free() stops and clears it
 * before devices close their back ends, and then there is nothing left to unregister.
 */
VmmIoThread *char_io(VmmCharBackend *be);

/* Starts watching @fd for input. Takes be->lock; fails (-EBUSY) while closing. */
int char_watch_add(VmmCharBackend *be, int fd, VmmIoFunc cb);
/*
 * Stops watching @fd from an input callback (I/O thread). Returns false when the back end
 * is closing: the caller must then leave the fd alone, vmm_char_close() owns it.
 */
bool char_watch_remove_from_cb(VmmCharBackend *be, int fd);
/* Hands input to the receiver (be->lock must NOT be held). */
void char_deliver(VmmCharBackend *be, const uint8_t *data, size_t len);
/* Non-blocking write to an fd that may be a terminal, pipe or regular file. */
size_t char_write_fd(int fd, const uint8_t *data, size_t len);

bool char_open_stdio(VmmCharBackend *be, GError **error);
bool char_open_file(VmmCharBackend *be, const char *path, GError **error);
bool char_open_unix(VmmCharBackend *be, const char *path, GError **error);
