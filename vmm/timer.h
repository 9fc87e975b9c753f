/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Virtual time (TM's role). The machine clock is CLOCK_MONOTONIC minus the time
 * spent paused, so device timers neither fire nor catch up while the VM is paused.
 * Timer callbacks run on the machine's main context with the owning device's lock
 * held. Tests may switch a machine to a manual clock and advance it by hand.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef struct VmmMachine VmmMachine;
typedef struct VmmTimer VmmTimer;
typedef void (*VmmTimerFunc)(void *opaque);

/* Nanoseconds of virtual time since the machine was created. */
int64_t vmm_clock_ns(VmmMachine *m);

/* @lock (optional) is taken around @cb: pass the device lock. */
VmmTimer *vmm_timer_new(VmmMachine *m, VmmTimerFunc cb, void *opaque, GMutex *lock);
void vmm_timer_free(VmmTimer *t);
/* Arms the timer to fire once at virtual time @expire_ns (replacing an earlier arm). */
void vmm_timer_mod(VmmTimer *t, int64_t expire_ns);
void vmm_timer_del(VmmTimer *t);
bool vmm_timer_pending(VmmTimer *t);

/* Tests: freeze the clock at its current value; it then moves only with vmm_clock_advance(). */
void vmm_clock_set_manual(VmmMachine *m);
/* Tests: moves a manual clock forward and runs every timer that expired, in order. */
void vmm_clock_advance(VmmMachine *m, int64_t ns);

/* Machine internals (machine.c): freeze/thaw the clock, attach the timer source. */
void vmm_clock_init(VmmMachine *m);
void vmm_clock_fini(VmmMachine *m);
void vmm_clock_pause(VmmMachine *m);
void vmm_clock_resume(VmmMachine *m);
