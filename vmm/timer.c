/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-timer"
#include <time.h>

#include "machine.h"
#include "timer.h"

struct VmmTimer {
    VmmMachine *m;      /* Borrowed */
    VmmTimerFunc cb;
    void *opaque;
    GMutex *lock;       /* Borrowed, optional */
    int64_t expire;     /* virtual ns; valid while armed */
    bool armed;         /* guarded by m->clock_lock */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t clock_now_locked(VmmMachine *m)
{
    if (m->clock_manual) {
        return m->manual_now;
    }
    int64_t now = m->paused_since >= 0 ? m->paused_since : mono_ns();
    return now - m->clock_base - m->paused_total;
}

int64_t vmm_clock_ns(VmmMachine *m)
{
    g_mutex_lock(&m->clock_lock);
    int64_t v = clock_now_locked(m);
    g_mutex_unlock(&m->clock_lock);
    return v;
}

/* Re-arms the main-context source for the earliest timer. Called with clock_lock held. */
static void timer_source_update_locked(VmmMachine *m)
{
    if (m->timer_source == NULL) {
        return;
    }
    if (m->timers == NULL || m->paused_since >= 0 || m->clock_manual) {
        g_source_set_ready_time(m->timer_source, -1);
        return;
    }
    VmmTimer *first = m->timers->data;
    /* Virtual → monotonic; GLib wants microseconds. Round up so we never wake early. */
    int64_t real_ns = first->expire + m->clock_base + m->paused_total;
    g_source_set_ready_time(m->timer_source, (real_ns + 999) / 1000);
}

static gint timer_cmp(gconstpointer a, gconstpointer b)
{
    const VmmTimer *x = a, *y = b;
    return x->expire < y->expire ? -1 : (x->expire > y->expire ? 1 : 0);
}

VmmTimer *vmm_timer_new(VmmMachine *m, VmmTimerFunc cb, void *opaque, GMutex *lock)
{
    VmmTimer *t = g_new0(VmmTimer, 1);
    t->m = m;
    t->cb = cb;
    t->opaque = opaque;
    t->lock = lock;
    return t;
}

static void timer_unlink_locked(VmmTimer *t)
{
    if (t->armed) {
        t->m->timers = g_list_remove(t->m->timers, t);
        t->armed = false;
    }
}

void vmm_timer_free(VmmTimer *t)
{
    if (t == NULL) {
        return;
    }
    vmm_timer_del(t);
    g_free(t);
}

void vmm_timer_mod(VmmTimer *t, int64_t expire_ns)
{
    VmmMachine *m = t->m;
    g_mutex_lock(&m->clock_lock);
    timer_unlink_locked(t);
    t->expire = expire_ns;
    t->armed = true;
    m->timers = g_list_insert_sorted(m->timers, t, timer_cmp);
    timer_source_update_locked(m);
    g_mutex_unlock(&m->clock_lock);
}

void vmm_timer_del(VmmTimer *t)
{
    VmmMachine *m = t->m;
    g_mutex_lock(&m->clock_lock);
    timer_unlink_locked(t);
    timer_source_update_locked(m);
    g_mutex_unlock(&m->clock_lock);
}

bool vmm_timer_pending(VmmTimer *t)
{
    g_mutex_lock(&t->m->clock_lock);
    bool armed = t->armed;
    g_mutex_unlock(&t->m->clock_lock);
    return armed;
}

/* Runs every timer due at or before @now, one at a time, without clock_lock held. */
static void timers_run_expired(VmmMachine *m, int64_t now)
{
    for (;;) {
        g_mutex_lock(&m->clock_lock);
        VmmTimer *t = m->timers ? m->timers->data : NULL;
        if (t == NULL || t->expire > now) {
            timer_source_update_locked(m);
            g_mutex_unlock(&m->clock_lock);
            return;
        }
        timer_unlink_locked(t);
        g_mutex_unlock(&m->clock_lock);

        if (t->lock) {
            g_mutex_lock(t->lock);
        }
        t->cb(t->opaque);
        if (t->lock) {
            g_mutex_unlock(t->lock);
        }
    }
}

static gboolean timer_source_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    VmmMachine *m = data;
    timers_run_expired(m, vmm_clock_ns(m));
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
    .dispatch = timer_source_dispatch,
};

void vmm_clock_init(VmmMachine *m)
{
    g_mutex_init(&m->clock_lock);
    m->clock_base = mono_ns();
    m->paused_since = -1;
    m->timer_source = g_source_new(&timer_source_funcs, sizeof(GSource));
    g_source_set_callback(m->timer_source, NULL, m, NULL);
    g_source_set_ready_time(m->timer_source, -1);
    g_source_set_name(m->timer_source, "vmm-timers");
    g_source_attach(m->timer_source, m->ctx);
}

void vmm_clock_fini(VmmMachine *m)
{
    if (m->timer_source != NULL) {
        g_source_destroy(m->timer_source);
        g_clear_pointer(&m->timer_source, g_source_unref);
    }
    g_list_free(m->timers);
    m->timers = NULL;
    g_mutex_clear(&m->clock_lock);
}

void vmm_clock_pause(VmmMachine *m)
{
    g_mutex_lock(&m->clock_lock);
    if (m->paused_since < 0) {
        m->paused_since = mono_ns();
    }
    timer_source_update_locked(m);
    g_mutex_unlock(&m->clock_lock);
}

void vmm_clock_resume(VmmMachine *m)
{
    g_mutex_lock(&m->clock_lock);
    if (m->paused_since >= 0) {
        m->paused_total += mono_ns() - m->paused_since;
        m->paused_since = -1;
    }
    timer_source_update_locked(m);
    g_mutex_unlock(&m->clock_lock);
}

void vmm_clock_set_manual(VmmMachine *m)
{
    g_mutex_lock(&m->clock_lock);
    if (!m->clock_manual) {
        m->manual_now = clock_now_locked(m);
        m->clock_manual = true;
    }
    timer_source_update_locked(m);
    g_mutex_unlock(&m->clock_lock);
}

void vmm_clock_advance(VmmMachine *m, int64_t ns)
{
    g_mutex_lock(&m->clock_lock);
    int64_t target = m->manual_now + ns;
    g_mutex_unlock(&m->clock_lock);

    /* Step through expiries so callbacks see the clock at their own deadline. */
    for (;;) {
        g_mutex_lock(&m->clock_lock);
        VmmTimer *t = m->timers ? m->timers->data : NULL;
        int64_t step = (t != NULL && t->expire <= target) ? MAX(t->expire, m->manual_now) : target;
        m->manual_now = step;
        g_mutex_unlock(&m->clock_lock);
        timers_run_expired(m, step);
        if (step >= target) {
            break;
        }
    }
}
