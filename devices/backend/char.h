/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Character back ends: where a UART or debug port sends its bytes and gets its input from.
 * A device opens one from a spec string and never touches the host file, socket or
 * terminal itself:
 *
 *   null         discard output, no input
 *   stdio        the runner's stdin/stdout (stdin in raw mode when it is a terminal)
 *   file:PATH    create/truncate PATH, append output to it, no input
 *   unix:PATH    listening UNIX stream socket; one client at a time; output while no
 *                client is connected is dropped
 *
 * Threads: vmm_char_write() is called from vCPU threads with the device lock held and never
 * blocks (bytes the host cannot take right now are dropped and counted). Input arrives on the
 * machine's I/O thread and is handed to the receiver callback with no back-end lock held, so
 * the receiver may take the device lock. Lock order: device lock -> back-end lock.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/machine.h"

typedef struct VmmCharBackend VmmCharBackend;

/* Input from the host: called on the I/O thread (or the caller of vmm_char_inject). */
typedef void (*VmmCharReceiveFunc)(void *opaque, const uint8_t *data, size_t len);

/*
 * Opens a back end from @spec. Input is watched on @m's I/O thread when the machine has
 * one; fake machines get input only through vmm_char_inject() and vmm_char_poll().
 */
VmmCharBackend *vmm_char_open(VmmMachine *m, const char *spec, GError **error);
/*
 * Stops input (waiting for a running receiver call to return), restores the terminal and
 * frees @be. NULL is ignored. Must not be called with the receiver's device lock held.
 */
void vmm_char_close(VmmCharBackend *be);

/* Sends bytes to the host without blocking. Returns how many were accepted (the rest dropped). */
size_t vmm_char_write(VmmCharBackend *be, const uint8_t *data, size_t len);
/* Sets (or, with cb == NULL, clears) where input goes. */
void vmm_char_set_receiver(VmmCharBackend *be, VmmCharReceiveFunc cb, void *opaque);

/* Tests: delivers @data to the receiver as if it came from the host. */
void vmm_char_inject(VmmCharBackend *be, const uint8_t *data, size_t len);
/*
 * Tests on machines without an I/O thread: waits up to @timeout_ms for host input
 * (connections, bytes) and handles what arrived, exactly as the I/O thread would.
 * Returns true when something was handled.
 */
bool vmm_char_poll(VmmCharBackend *be, int timeout_ms);

/* Bytes dropped because the host side was slow or absent. */
uint64_t vmm_char_dropped(VmmCharBackend *be);
/* The kind from the spec: "null", "stdio", "file", "unix". */
const char *vmm_char_kind(VmmCharBackend *be);
