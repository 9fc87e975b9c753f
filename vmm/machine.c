/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-machine"
#include <gio/gio.h>

#include "iothread.h"
#include "kvm.h"
#include "machine.h"
#include "vcpu.h"

typedef struct {
    VmmResetHook hook;
    void *opaque;
} ResetHook;

const char *vmm_request_name(VmmRequest req)
{
    switch (req) {
    case VMM_REQ_NONE:
        return "none";
    case VMM_REQ_RESET:
        return "reset";
    case VMM_REQ_POWEROFF:
        return "power off";
    case VMM_REQ_ERROR:
        return "error";
    case VMM_REQ_TEST_EXIT:
        return "test exit";
    }
    return "?";
}

static VmmMachine *machine_alloc(void)
{
    VmmMachine *m = g_new0(VmmMachine, 1);
    g_mutex_init(&m->lock);
    g_cond_init(&m->cond);
    m->state = VMM_RUN_CREATED;
    m->ctx = g_main_context_new();
    m->mem = vmm_guest_mem_new();
    m->pio = vmm_bus_new("pio");
    m->mmio = vmm_bus_new("mmio");
    m->devices = g_ptr_array_new();
    m->reset_hooks = g_array_new(FALSE, TRUE, sizeof(ResetHook));
    vmm_clock_init(m);
    return m;
}

VmmMachine *vmm_machine_new_fake(void)
{
    return machine_alloc();
}

VmmMachine *vmm_machine_new(VmmCfgNode *cfg, GError **error)
{
    VmmMachine *m = machine_alloc();
    m->cfg = cfg;
    m->kvm = vmm_kvm_open(error);
    if (m->kvm == NULL || !vmm_kvm_setup_platform(m->kvm, error) ||
        vmm_guest_mem_set_listener(m->mem, &vmm_kvm_mem_listener, m->kvm) < 0) {
        vmm_machine_free(m);
        return NULL;
    }
    m->io = vmm_iothread_new(error);
    if (m->io == NULL) {
        vmm_machine_free(m);
        return NULL;
    }
    return m;
}

static void machine_stop_vcpus(VmmMachine *m)
{
    g_mutex_lock(&m->lock);
    m->quitting = true;
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
    for (unsigned i = 0; i < m->n_vcpus; i++) {
        vmm_vcpu_kick(m->vcpus[i]);
    }
    for (unsigned i = 0; i < m->n_vcpus; i++) {
        vmm_vcpu_join(m->vcpus[i]);
    }
}

void vmm_machine_free(VmmMachine *m)
{
    if (m == NULL) {
        return;
    }
    machine_stop_vcpus(m);
    /*
     * Back ends may still deliver on the I/O thread: stop it before devices go away, but
     * keep the structure so their unrealize can still unregister fds (block_close, char).
     */
    vmm_iothread_stop(m->io);
    for (guint i = m->devices->len; i > 0; i--) {
        vmm_device_destroy(m->devices->pdata[i - 1]);
    }
    vmm_iothread_free(m->io);
    m->io = NULL;
    g_ptr_array_unref(m->devices);
    for (unsigned i = 0; i < m->n_vcpus; i++) {
        vmm_vcpu_free(m->vcpus[i]);
    }
    g_free(m->vcpus);
    g_array_unref(m->reset_hooks);
    /* After the devices, before guest memory: memslots may point into board memory, but
     * the VM fd (and so every memslot) is only closed with vmm_kvm_free() below. */
    if (m->board_free != NULL) {
        m->board_free(m->board);
    }
    if (m->request_source != NULL) {
        g_source_destroy(m->request_source);
        g_source_unref(m->request_source);
    }
    vmm_clock_fini(m);
    vmm_bus_free(m->pio);
    vmm_bus_free(m->mmio);
    vmm_guest_mem_free(m->mem);
    vmm_kvm_free(m->kvm);
    g_main_context_unref(m->ctx);
    g_free(m->pending_detail);
    g_free(m->stop_detail);
    g_cond_clear(&m->cond);
    g_mutex_clear(&m->lock);
    g_free(m);
}

void vmm_machine_set_events(VmmMachine *m, const VmmMachineEvents *ev, void *opaque)
{
    m->events = ev;
    m->events_opaque = opaque;
}

void vmm_machine_add_reset_hook(VmmMachine *m, VmmResetHook hook, void *opaque)
{
    ResetHook h = {.hook = hook, .opaque = opaque};
    g_array_append_val(m->reset_hooks, h);
}

bool vmm_machine_create_vcpus(VmmMachine *m, unsigned n, GError **error)
{
    if (m->kvm == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "a fake machine has no vCPUs");
        return false;
    }
    unsigned max = vmm_kvm_max_vcpus(m->kvm);
    if (n == 0 || n > max) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%u vCPUs requested; this host's KVM allows 1 to %u", n, max);
        return false;
    }
    if (n > vmm_kvm_recommended_vcpus(m->kvm)) {
        g_message("%u vCPUs is more than the %u KVM recommends on this host; the guest will "
                  "run slower",
                  n, vmm_kvm_recommended_vcpus(m->kvm));
    }
    m->vcpus = g_new0(VmmVcpu *, n);
    m->n_vcpus = n;
    for (unsigned i = 0; i < n; i++) {
        m->vcpus[i] = vmm_vcpu_new(m, i, error);
        if (m->vcpus[i] == NULL) {
            m->n_vcpus = i;
            return false;
        }
    }
    vmm_kvm_save_platform_state(m->kvm);
    return true;
}

bool vmm_machine_start(VmmMachine *m, GError **error)
{
    g_mutex_lock(&m->lock);
    m->pause_requested = false;
    m->state = VMM_RUN_RUNNING;
    g_mutex_unlock(&m->lock);
    for (unsigned i = 0; i < m->n_vcpus; i++) {
        if (!vmm_vcpu_start(m->vcpus[i], error)) {
            return false;
        }
    }
    return true;
}

/* Number of vCPU threads that run (and so can park). */
static unsigned running_threads(VmmMachine *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->n_vcpus; i++) {
        n += m->vcpus[i]->thread_started ? 1 : 0;
    }
    return n;
}

void vmm_machine_pause(VmmMachine *m)
{
    g_mutex_lock(&m->lock);
    if (m->pause_requested) {
        g_mutex_unlock(&m->lock);
        return;
    }
    m->pause_requested = true;
    g_mutex_unlock(&m->lock);

    for (unsigned i = 0; i < m->n_vcpus; i++) {
        vmm_vcpu_kick(m->vcpus[i]);
    }
    unsigned want = running_threads(m);
    g_mutex_lock(&m->lock);
    while (m->n_parked < want && !m->quitting) {
        g_cond_wait(&m->cond, &m->lock);
    }
    if (m->state == VMM_RUN_RUNNING) {
        m->state = VMM_RUN_PAUSED;
    }
    g_mutex_unlock(&m->lock);
    vmm_clock_pause(m);
    /* Every vCPU is parked: nobody can hold a pointer into an old table now. */
    vmm_bus_reclaim(m->pio);
    vmm_bus_reclaim(m->mmio);
    vmm_guest_mem_reclaim(m->mem);
}

void vmm_machine_resume(VmmMachine *m)
{
    vmm_clock_resume(m);
    g_mutex_lock(&m->lock);
    m->pause_requested = false;
    if (m->state == VMM_RUN_PAUSED) {
        m->state = VMM_RUN_RUNNING;
    }
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
}

void vmm_machine_reset(VmmMachine *m)
{
    bool was_running = !m->pause_requested;

    vmm_machine_pause(m);
    for (guint i = 0; i < m->devices->len; i++) {
        vmm_device_reset(m->devices->pdata[i]);
    }
    for (guint i = 0; i < m->reset_hooks->len; i++) {
        ResetHook *h = &g_array_index(m->reset_hooks, ResetHook, i);
        h->hook(h->opaque);
    }
    if (m->kvm != NULL) {
        vmm_kvm_restore_platform_state(m->kvm);
    }
    g_mutex_lock(&m->lock);
    for (unsigned i = 0; i < m->n_vcpus; i++) {
        vmm_vcpu_reset(m->vcpus[i]);
        m->vcpus[i]->halted_on_error = false;
    }
    m->reset_count++;
    g_mutex_unlock(&m->lock);
    if (was_running) {
        vmm_machine_resume(m);
    }
}

static int request_severity(VmmRequest r)
{
    switch (r) {
    case VMM_REQ_NONE:
        return 0;
    case VMM_REQ_RESET:
        return 1;
    case VMM_REQ_TEST_EXIT:
    case VMM_REQ_POWEROFF:
        return 2;
    case VMM_REQ_ERROR:
        return 3;
    }
    return 0;
}

static gboolean handle_request_cb(gpointer data)
{
    VmmMachine *m = data;

    g_mutex_lock(&m->lock);
    VmmRequest req = m->pending;
    char *detail = g_steal_pointer(&m->pending_detail);
    m->pending = VMM_REQ_NONE;
    g_clear_pointer(&m->request_source, g_source_unref);
    g_mutex_unlock(&m->lock);

    if (req == VMM_REQ_RESET) {
        if (m->events && m->events->reset) {
            m->events->reset(m->events_opaque, detail ? detail : "");
        }
        vmm_machine_reset(m);
    } else if (req != VMM_REQ_NONE) {
        vmm_machine_pause(m);
        g_mutex_lock(&m->lock);
        m->state = VMM_RUN_STOPPED;
        m->stop_reason = req;
        g_free(m->stop_detail);
        m->stop_detail = g_strdup(detail ? detail : "");
        g_mutex_unlock(&m->lock);
        if (m->events && m->events->stopped) {
            m->events->stopped(m->events_opaque, req, m->stop_detail);
        }
        if (m->loop != NULL) {
            g_main_loop_quit(m->loop);
        }
    }
    g_free(detail);
    return G_SOURCE_REMOVE;
}

static void machine_post_request(VmmMachine *m, VmmRequest req, const char *detail, int code)
{
    g_mutex_lock(&m->lock);
    if (m->state == VMM_RUN_STOPPED) {
        g_mutex_unlock(&m->lock);
        return;
    }
    if (request_severity(req) > request_severity(m->pending)) {
        m->pending = req;
        g_free(m->pending_detail);
        m->pending_detail = g_strdup(detail);
        if (req == VMM_REQ_TEST_EXIT) {
            m->exit_code = code;
        }
    }
    /* Fake machines have vCPUs and a loop only in our imagination: just record. */
    if (m->kvm != NULL && m->request_source == NULL) {
        m->request_source = g_idle_source_new();
        g_source_set_priority(m->request_source, G_PRIORITY_HIGH);
        g_source_set_callback(m->request_source, handle_request_cb, m, NULL);
        g_source_attach(m->request_source, m->ctx);
    }
    g_mutex_unlock(&m->lock);
}

void vmm_machine_request(VmmMachine *m, VmmRequest req, const char *detail)
{
    machine_post_request(m, req, detail, 0);
}

void vmm_machine_request_exit(VmmMachine *m, int code, const char *detail)
{
    machine_post_request(m, VMM_REQ_TEST_EXIT, detail, code);
}

VmmRequest vmm_machine_run(VmmMachine *m)
{
    g_main_context_push_thread_default(m->ctx);
    m->loop = g_main_loop_new(m->ctx, FALSE);
    if (m->state != VMM_RUN_STOPPED) {
        g_main_loop_run(m->loop);
    }
    g_clear_pointer(&m->loop, g_main_loop_unref);
    g_main_context_pop_thread_default(m->ctx);
    return m->stop_reason;
}
