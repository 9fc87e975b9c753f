/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm"
#include "log.h"

#define VMM_RATE_LIMIT_PER_SECOND 10

bool vmm_rate_limit_allow(VmmRateLimit *rl)
{
    gint64 now = g_get_monotonic_time();

    /* Call sites are static and may be hit from several vCPU threads; a lost update only
     * changes how many lines get through, never memory safety. */
    if (now - rl->window_start_us >= G_USEC_PER_SEC) {
        if (rl->suppressed > 0) {
            g_message("guest error: %u similar messages suppressed", rl->suppressed);
        }
        rl->window_start_us = now;
        rl->count = 0;
        rl->suppressed = 0;
    }
    if (rl->count < VMM_RATE_LIMIT_PER_SECOND) {
        rl->count++;
        return true;
    }
    rl->suppressed++;
    return false;
}
