/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Main API: what every client (the GTK app, boxwood-manage, Python through
 * GObject-Introspection "Boxwood-1.0") uses to reach boxwood-svc.
 *
 * bw_client_new*() connects to the service's peer-to-peer D-Bus socket
 * ($XDG_RUNTIME_DIR/boxwood/service.sock) and, when no service runs, spawns
 * boxwood-svc and waits for it (race-free: two clients starting at once end up on
 * the same service). The client keeps a live list of BwMachine objects, updated
 * from the service's signals (machine-added / machine-removed, BwMachine::changed,
 * notify::state).
 *
 * Settings edits follow an optimistic scheme so that concurrent clients lose no
 * update: bw_machine_modify_sync() fetches the machine's XML and its generation
 * number, loads it with the settings model (bw-settings.h), calls the caller's edit
 * function on the typed view, and submits the new XML with the generation it was
 * based on; the service (the single writer) refuses a stale generation and the
 * client retries from a fresh copy.
 *
 * Errors: BW_CLIENT_ERROR (and BW_SETTINGS_ERROR passed through from the service).
 */
#pragma once

#include <gio/gio.h>

#include "bw-settings.h"

G_BEGIN_DECLS

#define BW_CLIENT_ERROR (bw_client_error_quark())
GQuark bw_client_error_quark(void);

typedef enum {
    BW_CLIENT_ERROR_FAILED,
    BW_CLIENT_ERROR_NO_SERVICE,   /* cannot start or reach boxwood-svc */
    BW_CLIENT_ERROR_NOT_FOUND,    /* no such machine */
    BW_CLIENT_ERROR_LOCKED,       /* the machine is in use (running) */
    BW_CLIENT_ERROR_CONFLICT,     /* settings changed under us (internal: retried) */
    BW_CLIENT_ERROR_INVALID_STATE, /* e.g. pause a machine that is not running */
    BW_CLIENT_ERROR_EXISTS,       /* name/UUID/file already registered */
} BwClientError;

/**
 * BwMachineState:
 * @BW_MACHINE_STATE_POWERED_OFF: not running
 * @BW_MACHINE_STATE_SAVED: has a saved state (cannot be resumed by Boxwood; starts cold)
 * @BW_MACHINE_STATE_ABORTED: the runner died unexpectedly
 * @BW_MACHINE_STATE_STARTING: the runner is starting
 * @BW_MACHINE_STATE_RUNNING: running
 * @BW_MACHINE_STATE_PAUSED: paused
 * @BW_MACHINE_STATE_STOPPING: powering off
 *
 * VBoxManage's VMState strings: "poweroff", "saved", "aborted", "starting",
 * "running", "paused", "stopping" (bw_machine_state_to_string()).
 */
typedef enum {
    BW_MACHINE_STATE_POWERED_OFF,
    BW_MACHINE_STATE_SAVED,
    BW_MACHINE_STATE_ABORTED,
    BW_MACHINE_STATE_STARTING,
    BW_MACHINE_STATE_RUNNING,
    BW_MACHINE_STATE_PAUSED,
    BW_MACHINE_STATE_STOPPING,
} BwMachineState;

const char *bw_machine_state_to_string(BwMachineState state);

#define BW_TYPE_MACHINE_STATE (bw_machine_state_get_type())
GType bw_machine_state_get_type(void);

#define BW_TYPE_MACHINE (bw_machine_get_type())
G_DECLARE_FINAL_TYPE(BwMachine, bw_machine, BW, MACHINE, GObject)

#define BW_TYPE_CLIENT (bw_client_get_type())
G_DECLARE_FINAL_TYPE(BwClient, bw_client, BW, CLIENT, GObject)

/* ---- BwClient ---------------------------------------------------------------------- */

/**
 * bw_client_new_sync:
 * Returns: (transfer full): a connected client, spawning boxwood-svc when needed.
 */
BwClient *bw_client_new_sync(GCancellable *cancellable, GError **error);
void bw_client_new(GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
BwClient *bw_client_new_finish(GAsyncResult *result, GError **error);

/**
 * bw_client_list_machines:
 * Returns: (transfer container) (element-type BwMachine): registered machines.
 */
GPtrArray *bw_client_list_machines(BwClient *client);
/**
 * bw_client_find_machine:
 * @name_or_uuid: a machine name or UUID (with or without braces)
 * Returns: (transfer full) (nullable):
 */
BwMachine *bw_client_find_machine(BwClient *client, const char *name_or_uuid, GError **error);

/**
 * bw_client_create_machine_sync:
 * @base_folder: (nullable): parent folder; NULL = the machine folder setting
 * Creates <base>/<name>/<name>.vbox with defaults for @os_type and registers it when
 * @register_it. Returns: (transfer full):
 */
BwMachine *bw_client_create_machine_sync(BwClient *client, const char *name, const char *os_type,
                                         const char *base_folder, gboolean register_it,
                                         GCancellable *cancellable, GError **error);
/**
 * bw_client_register_machine_sync:
 * Registers an existing .vbox (VirtualBox's or ours). Returns: (transfer full):
 */
BwMachine *bw_client_register_machine_sync(BwClient *client, const char *path,
                                           GCancellable *cancellable, GError **error);
/* @delete_files: also delete the settings file, its -prev, Logs/ and the disks only this
 * machine uses (VBoxManage unregistervm --delete). */
gboolean bw_client_unregister_machine_sync(BwClient *client, BwMachine *machine,
                                           gboolean delete_files, GCancellable *cancellable,
                                           GError **error);

/* System properties: "machinefolder" (get/set; "default" resets). Returns: (transfer full): */
char *bw_client_get_property(BwClient *client, const char *name, GError **error);
gboolean bw_client_set_property_sync(BwClient *client, const char *name, const char *value,
                                     GCancellable *cancellable, GError **error);

/* Signals on BwClient: "machine-added" (BwMachine *), "machine-removed" (BwMachine *). */

/* ---- BwMachine ------------------------------------------------------------------- */

const char *bw_machine_get_uuid(BwMachine *machine);
const char *bw_machine_get_name(BwMachine *machine);
const char *bw_machine_get_os_type(BwMachine *machine);
const char *bw_machine_get_settings_path(BwMachine *machine);
/* Properties "uuid", "name", "os-type", "settings-path", "state" (notify::state),
 * "accessible" + "access-error" (a registered file that fails to load stays listed,
 * inaccessible, as in VirtualBox). Signal "changed": settings changed. */
BwMachineState bw_machine_get_state(BwMachine *machine);
gboolean bw_machine_get_accessible(BwMachine *machine);
const char *bw_machine_get_access_error(BwMachine *machine);

/**
 * bw_machine_get_settings_sync:
 * Returns: (transfer full) (skip): the current settings, loaded from the service's copy.
 */
BwMachineSettings *bw_machine_get_settings_sync(BwMachine *machine, GCancellable *cancellable,
                                                GError **error);
/**
 * bw_machine_get_settings_xml_sync:
 * Returns: (transfer full): the settings file's text as the service has it.
 */
char *bw_machine_get_settings_xml_sync(BwMachine *machine, GCancellable *cancellable,
                                       GError **error);

/**
 * BwMachineEditFunc:
 * @settings: (skip): the settings to edit (edit bw_machine_settings_config())
 * Returns: FALSE with @error set to abandon the edit.
 */
typedef gboolean (*BwMachineEditFunc)(BwMachineSettings *settings, gpointer user_data,
                                      GError **error);
/**
 * bw_machine_modify_sync: (skip)
 * Runs @edit on a fresh copy and submits it; retries on conflicts. Fails with
 * BW_CLIENT_ERROR_LOCKED while the machine runs.
 */
gboolean bw_machine_modify_sync(BwMachine *machine, BwMachineEditFunc edit, gpointer user_data,
                                GCancellable *cancellable, GError **error);
/* GI-friendly edits for scripts: "memory" (MiB), "cpus", "ostype", "description", "name". */
gboolean bw_machine_set_setting_sync(BwMachine *machine, const char *key, const char *value,
                                     GCancellable *cancellable, GError **error);

/**
 * bw_machine_start_sync:
 * @frontend: "headless" or "gui"
 * Spawns a runner through the service; returns once it runs (or failed to start).
 */
gboolean bw_machine_start_sync(BwMachine *machine, const char *frontend,
                               GCancellable *cancellable, GError **error);
void bw_machine_start(BwMachine *machine, const char *frontend, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data);
gboolean bw_machine_start_finish(BwMachine *machine, GAsyncResult *result, GError **error);

/* Running machines: pause, resume, reset, poweroff, acpipowerbutton (VBoxManage
 * controlvm names). */
gboolean bw_machine_control_sync(BwMachine *machine, const char *action,
                                 GCancellable *cancellable, GError **error);
/* Writes a PNG of the guest screen to @path. */
gboolean bw_machine_screenshot_png_sync(BwMachine *machine, const char *path,
                                        GCancellable *cancellable, GError **error);
/**
 * bw_machine_get_runner_address:
 * Returns: (nullable): "unix:path=..." of the running VM's own peer socket
 * (org.boxwood.Runner1, console for display windows), or NULL when not running.
 */
const char *bw_machine_get_runner_address(BwMachine *machine);

G_END_DECLS
