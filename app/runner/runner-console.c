/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "boxwood-runner"

#include "runner-console.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <unistd.h>

#include "bw-console-dbus.h"
#include "vmm/console.h"

/* Keys a viewer may press at once with SendKeys (Ctrl+Alt+Shift+Del is 4). */
#define MAX_SEND_KEYS 8
/* Highest Linux key code we accept (KEY_MAX is 0x2ff). */
#define MAX_KEYCODE 0x2ffu

struct RunnerConsole {
    VmmMachine *m;
    VmmConsole *con;
    BwConsole1 *skel;
    unsigned listener;   /* 0 while no viewer is attached */
    GHashTable *viewers; /* GDBusConnection * (ref) → "closed" handler id */
};

static void on_resize(void *opaque, VmmConsole *con)
{
    RunnerConsole *rc = opaque;
    unsigned w = vmm_console_get_width(con), h = vmm_console_get_height(con);
    bw_console1_set_width(rc->skel, w);
    bw_console1_set_height(rc->skel, h);
    bw_console1_emit_resized(rc->skel, w, h);
}

static void on_damage(void *opaque, VmmConsole *con, const VmmRect *rects, unsigned n)
{
    RunnerConsole *rc = opaque;
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(iiii)"));
    for (unsigned i = 0; i < n; i++) {
        g_variant_builder_add(&b, "(iiii)", rects[i].x, rects[i].y, rects[i].w, rects[i].h);
    }
    bw_console1_emit_damage(rc->skel, g_variant_builder_end(&b));
}

static void on_cursor(void *opaque, VmmConsole *con, const VmmConsoleCursor *c)
{
    RunnerConsole *rc = opaque;
    bw_console1_emit_cursor(rc->skel, c->visible, c->col, c->row);
}

static const VmmConsoleListenerOps listener_ops = {
    .resize = on_resize,
    .damage = on_damage,
    .cursor = on_cursor,
};

static gboolean handle_get_surface(BwConsole1 *skel, GDBusMethodInvocation *inv,
                                   GUnixFDList *in_fds, RunnerConsole *rc)
{
    /* Bring the pixels up to date before the viewer maps them. */
    vmm_console_refresh(rc->con, true);
    int fd = vmm_console_get_fd(rc->con);
    if (fd < 0) {
        g_dbus_method_invocation_return_dbus_error(inv, "org.boxwood.Error.NoDisplay",
                                                   "The display has no surface yet");
        return TRUE;
    }
    GError *error = NULL;
    GUnixFDList *fds = g_unix_fd_list_new();
    int idx = g_unix_fd_list_append(fds, fd, &error); /* dups */
    if (idx < 0) {
        g_dbus_method_invocation_take_error(inv, error);
        g_object_unref(fds);
        return TRUE;
    }
    bw_console1_complete_get_surface(skel, inv, fds, g_variant_new_handle(idx),
                                     vmm_console_get_width(rc->con),
                                     vmm_console_get_height(rc->con),
                                     vmm_console_get_stride(rc->con),
                                     vmm_console_get_format(rc->con));
    g_object_unref(fds);
    return TRUE;
}

static gboolean handle_key(BwConsole1 *skel, GDBusMethodInvocation *inv, guint keycode,
                           gboolean down, RunnerConsole *rc)
{
    if (keycode == 0 || keycode > MAX_KEYCODE) {
        g_dbus_method_invocation_return_error(inv, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                              "Key code %u is not a Linux key code", keycode);
        return TRUE;
    }
    vmm_console_key(rc->con, keycode, down);
    bw_console1_complete_key(skel, inv);
    return TRUE;
}

static gboolean handle_send_keys(BwConsole1 *skel, GDBusMethodInvocation *inv, GVariant *keys,
                                 RunnerConsole *rc)
{
    gsize n = 0;
    const guint32 *codes = g_variant_get_fixed_array(keys, &n, sizeof(guint32));
    if (n == 0 || n > MAX_SEND_KEYS) {
        g_dbus_method_invocation_return_error(inv, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                              "SendKeys takes 1 to %d keys", MAX_SEND_KEYS);
        return TRUE;
    }
    for (gsize i = 0; i < n; i++) {
        if (codes[i] == 0 || codes[i] > MAX_KEYCODE) {
            g_dbus_method_invocation_return_error(inv, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                                  "Key code %u is not a Linux key code",
                                                  codes[i]);
            return TRUE;
        }
    }
    for (gsize i = 0; i < n; i++) {
        vmm_console_key(rc->con, codes[i], true);
    }
    for (gsize i = n; i-- > 0;) {
        vmm_console_key(rc->con, codes[i], false);
    }
    bw_console1_complete_send_keys(skel, inv);
    return TRUE;
}

static gboolean handle_pointer_rel(BwConsole1 *skel, GDBusMethodInvocation *inv, gint dx,
                                   gint dy, gint dz, guint buttons, RunnerConsole *rc)
{
    /* PS/2 packets carry 9-bit deltas; the device splits big moves, but a viewer asking
     * for more than a screen's width at once is confused. */
    dx = CLAMP(dx, -4096, 4096);
    dy = CLAMP(dy, -4096, 4096);
    dz = CLAMP(dz, -16, 16);
    vmm_console_pointer_rel(rc->con, dx, dy, dz, buttons & 0x1f);
    bw_console1_complete_pointer_rel(skel, inv);
    return TRUE;
}

RunnerConsole *runner_console_new(VmmMachine *m)
{
    VmmConsole *con = vmm_machine_get_console(m, 0);
    if (!con) {
        return NULL;
    }
    RunnerConsole *rc = g_new0(RunnerConsole, 1);
    rc->m = m;
    rc->con = con;
    rc->viewers = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref, NULL);
    rc->skel = bw_console1_skeleton_new();
    bw_console1_set_width(rc->skel, vmm_console_get_width(con));
    bw_console1_set_height(rc->skel, vmm_console_get_height(con));
    g_signal_connect(rc->skel, "handle-get-surface", G_CALLBACK(handle_get_surface), rc);
    g_signal_connect(rc->skel, "handle-key", G_CALLBACK(handle_key), rc);
    g_signal_connect(rc->skel, "handle-send-keys", G_CALLBACK(handle_send_keys), rc);
    g_signal_connect(rc->skel, "handle-pointer-rel", G_CALLBACK(handle_pointer_rel), rc);
    return rc;
}

static void on_closed(GDBusConnection *conn, gboolean remote_vanished, GError *error,
                      gpointer user_data)
{
    RunnerConsole *rc = user_data;
    gulong id = GPOINTER_TO_SIZE(g_hash_table_lookup(rc->viewers, conn));
    if (!id) {
        return;
    }
    g_signal_handler_disconnect(conn, id);
    g_dbus_interface_skeleton_unexport_from_connection(G_DBUS_INTERFACE_SKELETON(rc->skel),
                                                       conn);
    g_hash_table_remove(rc->viewers, conn);
    if (g_hash_table_size(rc->viewers) == 0 && rc->listener) {
        vmm_console_remove_listener(rc->con, rc->listener);
        rc->listener = 0;
    }
}

bool runner_console_attach(RunnerConsole *rc, GDBusConnection *conn, const char *object_path,
                           GError **error)
{
    if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(rc->skel), conn,
                                          object_path, error)) {
        return false;
    }
    gulong id = g_signal_connect(conn, "closed", G_CALLBACK(on_closed), rc);
    g_hash_table_insert(rc->viewers, g_object_ref(conn), GSIZE_TO_POINTER(id));
    if (!rc->listener) {
        rc->listener = vmm_console_add_listener(rc->con, &listener_ops, rc);
    }
    return true;
}

void runner_console_free(RunnerConsole *rc)
{
    if (!rc) {
        return;
    }
    if (rc->listener) {
        vmm_console_remove_listener(rc->con, rc->listener);
    }
    GHashTableIter it;
    gpointer conn, id;
    g_hash_table_iter_init(&it, rc->viewers);
    while (g_hash_table_iter_next(&it, &conn, &id)) {
        g_signal_handler_disconnect(conn, GPOINTER_TO_SIZE(id));
    }
    g_hash_table_unref(rc->viewers);
    g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(rc->skel));
    g_object_unref(rc->skel);
    g_free(rc);
}
