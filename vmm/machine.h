/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A virtual machine: guest memory, buses, vCPUs, devices, the I/O thread and the
 * virtual clock, plus the life cycle (run, pause, reset, power off) driven from
 * the main thread.
 *
 * Threads: the main thread runs the machine's GMainContext (timers, requests,
 * front-end work); one thread per vCPU; one I/O thread. Devices ask for a
 * reset or power-off with vmm_machine_request(), which is safe from any thread;
 * the main thread then carries it out with every vCPU paused.
 *
 * Locks: the VM lock (@lock: life cycle, pause, topology) is taken before any
 * device lock, never after.
 *
 * A machine can also be created without KVM (vmm_machine_new_fake): device tests
 * then drive devices through the buses with fake guest memory, and interrupt
 * lines are recorded instead of injected.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "device.h"
#include "guest-mem.h"
#include "timer.h"

typedef struct VmmKvm VmmKvm;
typedef struct VmmVcpu VmmVcpu;
typedef struct VmmIoThread VmmIoThread;
typedef struct VmmPciBus VmmPciBus;

typedef enum {
    VMM_RUN_CREATED,
    VMM_RUN_RUNNING,
    VMM_RUN_PAUSED,
    VMM_RUN_STOPPED,
} VmmRunState;

typedef enum {
    VMM_REQ_NONE = 0,
    VMM_REQ_RESET,     /* guest or user asked for a reset */
    VMM_REQ_POWEROFF,  /* guest powered off (ACPI S5) or user pulled the plug */
    VMM_REQ_ERROR,     /* the VMM cannot continue (emulation failure, KVM error) */
    VMM_REQ_TEST_EXIT, /* a test payload asked the runner to exit with a code */
} VmmRequest;

#define VMM_MAX_GSI 24

typedef struct VmmMachineEvents {
    /* Optional: a reset is about to be carried out (@why: "i8042 0xFE", "0xCF9", ...). */
    void (*reset)(void *opaque, const char *why);
    /* Optional: the machine stopped for good; vmm_machine_stop_* tell why. */
    void (*stopped)(void *opaque, VmmRequest why, const char *detail);
} VmmMachineEvents;

struct VmmMachine {
    GMutex lock;          /* VM lock: run state, pending requests, pause handshake */
    GCond cond;           /* signalled when vCPUs park/unpark */
    VmmRunState state;

    VmmKvm *kvm;          /* Owned; NULL for fake machines */
    VmmGuestMem *mem;     /* Owned */
    VmmBus *pio;          /* Owned */
    VmmBus *mmio;         /* Owned */
    VmmIoThread *io;      /* Owned; NULL for fake machines */
    VmmCfgNode *cfg;      /* Borrowed: the machine's config tree root */
    VmmPciBus *pci_bus;   /* Borrowed: root PCI bus, set by the host bridge device */
    GMainContext *ctx;    /* Owned ref: where timers and requests run */

    VmmVcpu **vcpus;      /* Owned */
    unsigned n_vcpus;
    bool pause_requested; /* guarded by @lock: vCPUs park while set */
    bool quitting;        /* guarded by @lock: vCPU threads exit */
    unsigned n_parked;    /* guarded by @lock */
    GMainLoop *loop;      /* Owned while vmm_machine_run() runs */

    GPtrArray *devices;   /* Owned: VmmDevice *, in creation (and reset) order */
    GArray *reset_hooks;  /* Owned: board-level hooks run after device resets */
    void *board;          /* Owned via @board_free: the board's own state (firmware image...) */
    GDestroyNotify board_free;

    /* Pending request (the most severe wins) and its detail text. */
    VmmRequest pending;
    char *pending_detail; /* Owned */
    int exit_code;        /* for VMM_REQ_TEST_EXIT */
    GSource *request_source; /* Owned ref */

    /* Why the machine stopped, once state == STOPPED. */
    VmmRequest stop_reason;
    char *stop_detail;    /* Owned */
    unsigned reset_count;

    const VmmMachineEvents *events; /* Borrowed */
    void *events_opaque;

    /* Virtual clock (timer.c). */
    GMutex clock_lock;
    int64_t clock_base;     /* monotonic ns at creation */
    int64_t paused_total;   /* ns spent paused */
    int64_t paused_since;   /* monotonic ns when the current pause began, or -1 */
    bool clock_manual;
    int64_t manual_now;
    GList *timers;          /* VmmTimer *, armed ones sorted by expiry */
    GSource *timer_source;  /* Owned ref */

    /* Fake machines: interrupt lines and MSIs are recorded here. */
    bool irq_level[VMM_MAX_GSI];
    unsigned irq_raise_count[VMM_MAX_GSI];
    unsigned msi_count;
    uint64_t last_msi_addr;
    uint32_t last_msi_data;
};

typedef void (*VmmResetHook)(void *opaque);

/* Real machine on KVM: opens /dev/kvm (actionable error when missing), creates the VM. */
VmmMachine *vmm_machine_new(VmmCfgNode *cfg, GError **error);
/* Machine without KVM for device tests: buses, guest memory and clock only. */
VmmMachine *vmm_machine_new_fake(void);
void vmm_machine_free(VmmMachine *m);

void vmm_machine_set_events(VmmMachine *m, const VmmMachineEvents *ev, void *opaque);
void vmm_machine_add_reset_hook(VmmMachine *m, VmmResetHook hook, void *opaque);

/* Creates @n vCPUs (after RAM and the board are in place). */
bool vmm_machine_create_vcpus(VmmMachine *m, unsigned n, GError **error);
/* Starts the vCPU threads. */
bool vmm_machine_start(VmmMachine *m, GError **error);
/* Pause/resume every vCPU from the main thread; pause waits until all are parked. */
void vmm_machine_pause(VmmMachine *m);
void vmm_machine_resume(VmmMachine *m);
/* Resets devices, board hooks and vCPUs with the VM paused (main thread). */
void vmm_machine_reset(VmmMachine *m);
/* Runs the machine's main context until it stops. Returns the stop reason. */
VmmRequest vmm_machine_run(VmmMachine *m);

/* Any thread: ask the main thread to reset / power off / stop. @detail is copied. */
void vmm_machine_request(VmmMachine *m, VmmRequest req, const char *detail);
void vmm_machine_request_exit(VmmMachine *m, int code, const char *detail);

const char *vmm_request_name(VmmRequest req);

/* Interrupts (irq.c). @gsi < VMM_MAX_GSI; out-of-range lines are logged and ignored. */
void vmm_irq_set_level(VmmMachine *m, unsigned gsi, bool level);
/* Edge: raise then lower. */
void vmm_irq_pulse(VmmMachine *m, unsigned gsi);
void vmm_msi_send(VmmMachine *m, uint64_t addr, uint32_t data);
