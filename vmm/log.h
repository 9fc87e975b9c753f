/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Logging for the VMM. Everything goes through GLib's structured logging so the
 * runner can route it to the VM's log file. Guest-triggered problems use
 * vmm_guest_error(), which is rate-limited per call site: a hostile guest must
 * not be able to flood the host log.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    gint64 window_start_us; /* start of the current one-second window */
    unsigned count;         /* messages logged in that window */
    unsigned suppressed;    /* messages dropped in that window */
} VmmRateLimit;

/* Returns true when a message may be logged now (at most 10 per second per site). */
bool vmm_rate_limit_allow(VmmRateLimit *rl);

#define vmm_guest_error(...)                                                                       \
    do {                                                                                           \
        static VmmRateLimit vmm_rl_;                                                               \
        if (vmm_rate_limit_allow(&vmm_rl_)) {                                                      \
            g_message("guest error: " __VA_ARGS__);                                                \
        }                                                                                          \
    } while (0)
