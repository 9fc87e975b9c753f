/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The runner's console service: org.boxwood.Console1 (data/dbus/org.boxwood.Console1.xml)
 * for the machine's first console, exported on every peer connection the runner's
 * control server accepts. The framebuffer travels as a memfd; damage, resize and cursor
 * changes as signals; key and pointer input come back as method calls.
 *
 * Main thread only.
 */
#pragma once

#include <gio/gio.h>

#include "vmm/machine.h"

typedef struct RunnerConsole RunnerConsole;

/* NULL when the machine has no display device. */
RunnerConsole *runner_console_new(VmmMachine *m);
/* Exports the interface on @conn at @object_path; unexported when @conn closes. While
 * at least one connection is attached the console refreshes at its viewer rate. */
bool runner_console_attach(RunnerConsole *rc, GDBusConnection *conn, const char *object_path,
                           GError **error);
void runner_console_free(RunnerConsole *rc);
