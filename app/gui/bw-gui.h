/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Boxwood desktop app: the manager window (machines from boxwood-svc, live), the
 * "New machine" assistant, the settings dialog, preferences, about and shortcuts.
 *
 * Every call into the Main API that may block (D-Bus round trips, creating disk
 * images) runs on a worker thread through bw_gui_run_in_thread(); results come back
 * on the main thread, errors become toasts or dialogs that say what to do.
 */
#pragma once

#include <adwaita.h>
#include <glib/gi18n.h>

#include "app/libboxwood/bw-client.h"

G_BEGIN_DECLS

#define BW_APP_ID "org.boxwood.Boxwood"

/* Benchmarks (bench/gui): when BOXWOOD_BENCH is set, the app prints timing lines
 * ("boxwood-bench <event> <CLOCK_MONOTONIC µs> ...") on stderr. */
bool bw_gui_bench_enabled(void);

/* Work for a worker thread: returns FALSE with @error set on failure. */
typedef gboolean (*BwGuiWorkFunc)(gpointer data, GCancellable *cancellable, GError **error);
/* Runs on the main thread afterwards; @error is NULL on success. */
typedef void (*BwGuiDoneFunc)(gpointer data, const GError *error, gpointer user_data);

/* Runs @work(@data) on a worker thread, then @done on the main thread; @data is freed
 * with @data_free after @done. */
void bw_gui_run_in_thread(BwGuiWorkFunc work, BwGuiDoneFunc done, gpointer data,
                          GDestroyNotify data_free, gpointer user_data);

#define BW_TYPE_MANAGER_WINDOW (bw_manager_window_get_type())
G_DECLARE_FINAL_TYPE(BwManagerWindow, bw_manager_window, BW, MANAGER_WINDOW,
                     AdwApplicationWindow)

BwManagerWindow *bw_manager_window_new(AdwApplication *app);
/* Connects to the service (asynchronously); shows an error page when it fails. */
void bw_manager_window_connect(BwManagerWindow *win);
BwClient *bw_manager_window_get_client(BwManagerWindow *win);
void bw_manager_window_toast(BwManagerWindow *win, const char *text);
/* A dialog for errors a user must act on (no /dev/kvm, missing ISO...). */
void bw_manager_window_error(BwManagerWindow *win, const char *heading, const GError *error);
/* Starts (when needed) and shows the machine called @name_or_uuid: the app's
 * "start-machine" / "show-machine" actions, reachable over the session bus
 * (org.gtk.Actions) so desktop shortcuts and tests can use them. */
void bw_manager_window_start_machine(BwManagerWindow *win, const char *name_or_uuid,
                                     bool start);
/* Registers an existing .vbox (VirtualBox's or ours). */
void bw_manager_window_add_existing(BwManagerWindow *win, GFile *file);

#define BW_TYPE_DISPLAY_WINDOW (bw_display_window_get_type())
G_DECLARE_FINAL_TYPE(BwDisplayWindow, bw_display_window, BW, DISPLAY_WINDOW,
                     AdwApplicationWindow)

/* Opens (or presents) the display window of a running machine. */
BwDisplayWindow *bw_display_window_open(BwManagerWindow *manager, BwMachine *machine,
                                        GError **error);
BwMachine *bw_display_window_get_machine(BwDisplayWindow *w);

/* Dialogs (bw-new-machine.c, bw-machine-settings-dialog.c, bw-preferences.c). */
void bw_new_machine_dialog_show(BwManagerWindow *win);
void bw_machine_settings_dialog_show(BwManagerWindow *win, BwMachine *machine);
void bw_preferences_show(BwManagerWindow *win);

/* Shared by the dialogs: create a VDI for a new machine and attach disk/ISO to it. */
typedef struct {
    BwMachine *machine;      /* owned ref */
    guint memory_mb;
    guint cpus;
    guint64 disk_bytes;      /* 0: no new disk */
    char *existing_disk;     /* or NULL */
    char *iso;               /* or NULL */
    gboolean change_iso;     /* put @iso in the DVD drive (NULL: eject) */
} BwMachineSetup;

gboolean bw_machine_setup_apply(BwMachineSetup *setup, GCancellable *cancellable,
                                GError **error);
void bw_machine_setup_free(BwMachineSetup *setup);

G_END_DECLS
