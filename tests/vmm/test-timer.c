/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "vmm/machine.h"

typedef struct {
    VmmMachine *m;
    VmmTimer *t;
    int fired;
    int64_t fired_at[8];
    int64_t period;
} Ctx;

static void tick(void *opaque)
{
    Ctx *c = opaque;
    if (c->fired < 8) {
        c->fired_at[c->fired] = vmm_clock_ns(c->m);
    }
    c->fired++;
    if (c->period > 0) {
        vmm_timer_mod(c->t, vmm_clock_ns(c->m) + c->period);
    }
}

static void test_manual_clock(void)
{
    VmmMachine *m = vmm_machine_new_fake();
    GMutex lock;
    g_mutex_init(&lock);
    Ctx c = {.m = m, .period = 1000};
    vmm_clock_set_manual(m);
    int64_t t0 = vmm_clock_ns(m);
    c.t = vmm_timer_new(m, tick, &c, &lock);
    vmm_timer_mod(c.t, t0 + 1000);
    g_assert_true(vmm_timer_pending(c.t));
    vmm_clock_advance(m, 999);
    g_assert_cmpint(c.fired, ==, 0);
    vmm_clock_advance(m, 1);
    g_assert_cmpint(c.fired, ==, 1);
    vmm_clock_advance(m, 5500);
    g_assert_cmpint(c.fired, ==, 6);
    /* Each callback saw the clock at its own deadline. */
    for (int i = 0; i < 6; i++) {
        g_assert_cmpint(c.fired_at[i], ==, t0 + 1000 * (i + 1));
    }
    vmm_timer_del(c.t);
    g_assert_false(vmm_timer_pending(c.t));
    vmm_clock_advance(m, 10000);
    g_assert_cmpint(c.fired, ==, 6);
    vmm_timer_free(c.t);
    g_mutex_clear(&lock);
    vmm_machine_free(m);
}

static void test_pause_freezes_clock(void)
{
    VmmMachine *m = vmm_machine_new_fake();
    vmm_clock_pause(m);
    int64_t a = vmm_clock_ns(m);
    g_usleep(20000);
    int64_t b = vmm_clock_ns(m);
    g_assert_cmpint(a, ==, b);
    vmm_clock_resume(m);
    g_usleep(2000);
    g_assert_cmpint(vmm_clock_ns(m), >, b);
    vmm_machine_free(m);
}

static gboolean quit_cb(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

static void test_real_clock_fires_on_context(void)
{
    VmmMachine *m = vmm_machine_new_fake();
    Ctx c = {.m = m, .period = 0};
    c.t = vmm_timer_new(m, tick, &c, NULL);
    vmm_timer_mod(c.t, vmm_clock_ns(m) + 2000000);
    GMainLoop *loop = g_main_loop_new(m->ctx, FALSE);
    GSource *s = g_timeout_source_new(500);
    g_source_set_callback(s, quit_cb, loop, NULL);
    g_source_attach(s, m->ctx);
    while (c.fired == 0 && !g_source_is_destroyed(s)) {
        g_main_context_iteration(m->ctx, TRUE);
    }
    g_assert_cmpint(c.fired, ==, 1);
    g_source_destroy(s);
    g_source_unref(s);
    g_main_loop_unref(loop);
    vmm_timer_free(c.t);
    vmm_machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmm/timer/manual-clock", test_manual_clock);
    g_test_add_func("/vmm/timer/pause-freezes-clock", test_pause_freezes_clock);
    g_test_add_func("/vmm/timer/real-clock-fires", test_real_clock_fires_on_context);
    return g_test_run();
}
