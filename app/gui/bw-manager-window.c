/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The manager window: every registered machine with its live state (changes made by
 * boxwood-manage or another window appear at once: the client follows the service's
 * signals), and the actions on them.
 */
#define G_LOG_DOMAIN "boxwood-gui"

#include "bw-gui.h"

struct _BwManagerWindow {
    AdwApplicationWindow parent;
    AdwToastOverlay *toasts;
    GtkStack *stack;
    AdwStatusPage *error_page;
    GtkListBox *list;
    GtkSpinner *spinner;
    BwClient *client;        /* NULL until connected */
    GHashTable *rows;        /* BwMachine * → GtkWidget * row (borrowed) */
    GSettings *settings;     /* NULL when the schema is not installed */
    GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE(BwManagerWindow, bw_manager_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- worker threads ------------------------------------------------------------ */

typedef struct {
    BwGuiWorkFunc work;
    BwGuiDoneFunc done;
    gpointer data;
    GDestroyNotify data_free;
    gpointer user_data;
} ThreadJob;

static void job_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *c)
{
    ThreadJob *job = task_data;
    GError *error = NULL;
    if (job->work(job->data, c, &error)) {
        g_task_return_boolean(task, TRUE);
    } else {
        g_task_return_error(task, error);
    }
}

static void job_free(gpointer p)
{
    ThreadJob *job = p;
    if (job->data_free && job->data) {
        job->data_free(job->data);
    }
    g_free(job);
}

static void job_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    ThreadJob *job = g_task_get_task_data(G_TASK(res));
    GError *error = NULL;
    g_task_propagate_boolean(G_TASK(res), &error);
    if (job->done) {
        job->done(job->data, error, job->user_data);
    }
    g_clear_error(&error);
}

void bw_gui_run_in_thread(BwGuiWorkFunc work, BwGuiDoneFunc done, gpointer data,
                          GDestroyNotify data_free, gpointer user_data)
{
    ThreadJob *job = g_new0(ThreadJob, 1);
    job->work = work;
    job->done = done;
    job->data = data;
    job->data_free = data_free;
    job->user_data = user_data;
    GTask *task = g_task_new(NULL, NULL, job_done, NULL);
    g_task_set_task_data(task, job, job_free);
    g_task_run_in_thread(task, job_thread);
    g_object_unref(task);
}

/* ---- helpers --------------------------------------------------------------------- */

BwClient *bw_manager_window_get_client(BwManagerWindow *win)
{
    return win->client;
}

void bw_manager_window_toast(BwManagerWindow *win, const char *text)
{
    AdwToast *t = adw_toast_new(text);
    adw_toast_set_timeout(t, 4);
    adw_toast_overlay_add_toast(win->toasts, t);
}

void bw_manager_window_error(BwManagerWindow *win, const char *heading, const GError *error)
{
    GtkWidget *d = adw_message_dialog_new(GTK_WINDOW(win), heading,
                                          error ? error->message : NULL);
    adw_message_dialog_add_response(ADW_MESSAGE_DIALOG(d), "close", _("_Close"));
    gtk_window_present(GTK_WINDOW(d));
}

static const char *state_label(BwMachineState s)
{
    switch (s) {
    case BW_MACHINE_STATE_POWERED_OFF:
        return _("Powered off");
    case BW_MACHINE_STATE_SAVED:
        return _("Saved");
    case BW_MACHINE_STATE_ABORTED:
        return _("Aborted");
    case BW_MACHINE_STATE_STARTING:
        return _("Starting");
    case BW_MACHINE_STATE_RUNNING:
        return _("Running");
    case BW_MACHINE_STATE_PAUSED:
        return _("Paused");
    case BW_MACHINE_STATE_STOPPING:
        return _("Stopping");
    }
    return "";
}

static bool is_active(BwMachineState s)
{
    return s == BW_MACHINE_STATE_RUNNING || s == BW_MACHINE_STATE_PAUSED ||
           s == BW_MACHINE_STATE_STARTING || s == BW_MACHINE_STATE_STOPPING;
}

/* ---- machine actions --------------------------------------------------------------- */

typedef struct {
    BwMachine *machine;
    char *what; /* control action, "start", or "remove"/"delete" */
    BwClient *client;
} MachineOp;

static void machine_op_free(gpointer p)
{
    MachineOp *op = p;
    g_clear_object(&op->machine);
    g_clear_object(&op->client);
    g_free(op->what);
    g_free(op);
}

static gboolean machine_op_work(gpointer data, GCancellable *c, GError **error)
{
    MachineOp *op = data;
    if (g_str_equal(op->what, "start")) {
        return bw_machine_start_sync(op->machine, "gui", c, error);
    }
    if (g_str_equal(op->what, "remove") || g_str_equal(op->what, "delete")) {
        return bw_client_unregister_machine_sync(op->client, op->machine,
                                                 g_str_equal(op->what, "delete"), c, error);
    }
    return bw_machine_control_sync(op->machine, op->what, c, error);
}

static void show_display(BwManagerWindow *win, BwMachine *m)
{
    GError *error = NULL;
    if (!bw_display_window_open(win, m, &error)) {
        g_autofree char *heading =
            g_strdup_printf(_("Cannot show “%s”"), bw_machine_get_name(m));
        bw_manager_window_error(win, heading, error);
        g_error_free(error);
    }
}

static void machine_op_done(gpointer data, const GError *error, gpointer user_data)
{
    MachineOp *op = data;
    BwManagerWindow *win = user_data;
    if (!error && g_str_equal(op->what, "start")) {
        show_display(win, op->machine);
    }
    if (error) {
        char *heading = g_str_equal(op->what, "start")
            ? g_strdup_printf(_("Could not start “%s”"), bw_machine_get_name(op->machine))
            : g_strdup_printf(_("Could not change “%s”"), bw_machine_get_name(op->machine));
        bw_manager_window_error(win, heading, error);
        g_free(heading);
    }
    g_object_unref(win);
}

static void run_machine_op(BwManagerWindow *win, BwMachine *m, const char *what)
{
    MachineOp *op = g_new0(MachineOp, 1);
    op->machine = g_object_ref(m);
    op->client = win->client ? g_object_ref(win->client) : NULL;
    op->what = g_strdup(what);
    bw_gui_run_in_thread(machine_op_work, machine_op_done, op, machine_op_free,
                         g_object_ref(win));
}

void bw_manager_window_start_machine(BwManagerWindow *win, const char *name_or_uuid,
                                     bool start)
{
    GError *error = NULL;
    BwMachine *m = win->client ? bw_client_find_machine(win->client, name_or_uuid, &error)
                               : NULL;
    if (!m) {
        bw_manager_window_toast(win, error ? error->message
                                           : _("Not connected to the Boxwood service yet"));
        g_clear_error(&error);
        return;
    }
    BwMachineState s = bw_machine_get_state(m);
    if (start && !is_active(s)) {
        run_machine_op(win, m, "start");
    } else {
        show_display(win, m);
    }
    g_object_unref(m);
}

static void on_remove_response(AdwMessageDialog *d, const char *response, gpointer user_data)
{
    BwMachine *m = user_data;
    BwManagerWindow *win = BW_MANAGER_WINDOW(gtk_window_get_transient_for(GTK_WINDOW(d)));
    if (g_str_equal(response, "remove") || g_str_equal(response, "delete")) {
        run_machine_op(win, m, response);
    }
    g_object_unref(m);
}

static void confirm_remove(BwManagerWindow *win, BwMachine *m)
{
    char *heading = g_strdup_printf(_("Remove “%s”?"), bw_machine_get_name(m));
    GtkWidget *d = adw_message_dialog_new(
        GTK_WINDOW(win), heading,
        _("“Remove” only takes the machine off the list; its files stay where they are and "
          "it can be added again. “Delete” also deletes its settings, logs and the disks "
          "only it uses. This cannot be undone."));
    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(d), "cancel", _("_Cancel"), "remove",
                                     _("_Remove"), "delete", _("_Delete Files"), NULL);
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(d), "delete",
                                               ADW_RESPONSE_DESTRUCTIVE);
    adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(d), "cancel");
    adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(d), "cancel");
    g_signal_connect(d, "response", G_CALLBACK(on_remove_response), g_object_ref(m));
    gtk_window_present(GTK_WINDOW(d));
    g_free(heading);
}

static void row_action(GSimpleAction *a, GVariant *p, gpointer row)
{
    BwMachine *m = g_object_get_data(G_OBJECT(row), "machine");
    BwManagerWindow *win = BW_MANAGER_WINDOW(gtk_widget_get_root(GTK_WIDGET(row)));
    const char *name = g_action_get_name(G_ACTION(a));
    if (!m || !win) {
        return;
    }
    if (g_str_equal(name, "show")) {
        show_display(win, m);
    } else if (g_str_equal(name, "settings")) {
        bw_machine_settings_dialog_show(win, m);
    } else if (g_str_equal(name, "remove")) {
        confirm_remove(win, m);
    } else {
        run_machine_op(win, m, name);
    }
}

static const GActionEntry row_actions[] = {
    {.name = "start", .activate = row_action},
    {.name = "show", .activate = row_action},
    {.name = "pause", .activate = row_action},
    {.name = "resume", .activate = row_action},
    {.name = "reset", .activate = row_action},
    {.name = "acpipowerbutton", .activate = row_action},
    {.name = "poweroff", .activate = row_action},
    {.name = "settings", .activate = row_action},
    {.name = "remove", .activate = row_action},
};

/* ---- rows ---------------------------------------------------------------------- */

static void row_update(GtkWidget *row)
{
    BwMachine *m = g_object_get_data(G_OBJECT(row), "machine");
    GActionMap *group = g_object_get_data(G_OBJECT(row), "actions");
    GtkButton *primary = g_object_get_data(G_OBJECT(row), "primary");
    BwMachineState s = bw_machine_get_state(m);
    const BwOsType *os = bw_os_type_find(bw_machine_get_os_type(m));
    char *subtitle;

    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), bw_machine_get_name(m));
    if (!bw_machine_get_accessible(m)) {
        subtitle = g_strdup_printf(_("Inaccessible: %s"), bw_machine_get_access_error(m));
    } else {
        subtitle = g_strdup_printf("%s · %s", os ? os->description : bw_machine_get_os_type(m),
                                   state_label(s));
    }
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row), subtitle);
    g_free(subtitle);

    bool ok = bw_machine_get_accessible(m);
#define ENABLE(n, cond) \
    g_simple_action_set_enabled(G_SIMPLE_ACTION(g_action_map_lookup_action(group, n)), cond)
    ENABLE("start", ok && !is_active(s));
    ENABLE("show", s == BW_MACHINE_STATE_RUNNING || s == BW_MACHINE_STATE_PAUSED);
    ENABLE("pause", s == BW_MACHINE_STATE_RUNNING);
    ENABLE("resume", s == BW_MACHINE_STATE_PAUSED);
    ENABLE("reset", s == BW_MACHINE_STATE_RUNNING);
    ENABLE("acpipowerbutton", s == BW_MACHINE_STATE_RUNNING);
    ENABLE("poweroff", s == BW_MACHINE_STATE_RUNNING || s == BW_MACHINE_STATE_PAUSED);
    ENABLE("settings", ok && !is_active(s));
    ENABLE("remove", !is_active(s));
#undef ENABLE

    if (s == BW_MACHINE_STATE_RUNNING) {
        gtk_button_set_icon_name(primary, "media-playback-pause-symbolic");
        gtk_widget_set_tooltip_text(GTK_WIDGET(primary), _("Pause"));
        gtk_actionable_set_action_name(GTK_ACTIONABLE(primary), "machine.pause");
    } else if (s == BW_MACHINE_STATE_PAUSED) {
        gtk_button_set_icon_name(primary, "media-playback-start-symbolic");
        gtk_widget_set_tooltip_text(GTK_WIDGET(primary), _("Resume"));
        gtk_actionable_set_action_name(GTK_ACTIONABLE(primary), "machine.resume");
    } else {
        gtk_button_set_icon_name(primary, "media-playback-start-symbolic");
        gtk_widget_set_tooltip_text(GTK_WIDGET(primary), _("Start"));
        gtk_actionable_set_action_name(GTK_ACTIONABLE(primary), "machine.start");
    }
}

static void on_machine_notify(GObject *obj, GParamSpec *pspec, gpointer row)
{
    row_update(row);
}

static void on_machine_changed(BwMachine *m, gpointer row)
{
    row_update(row);
}

static GtkWidget *row_new(BwMachine *m)
{
    GtkWidget *row = adw_action_row_new();
    GSimpleActionGroup *group = g_simple_action_group_new();
    g_action_map_add_action_entries(G_ACTION_MAP(group), row_actions, G_N_ELEMENTS(row_actions),
                                    row);
    gtk_widget_insert_action_group(row, "machine", G_ACTION_GROUP(group));
    g_object_set_data_full(G_OBJECT(row), "actions", group, g_object_unref);
    g_object_set_data_full(G_OBJECT(row), "machine", g_object_ref(m), g_object_unref);

    adw_action_row_add_prefix(ADW_ACTION_ROW(row),
                              gtk_image_new_from_icon_name("computer-symbolic"));

    GtkWidget *primary = gtk_button_new_from_icon_name("media-playback-start-symbolic");
    gtk_widget_set_valign(primary, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class(primary, "flat");
    g_object_set_data(G_OBJECT(row), "primary", primary);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), primary);

    GMenu *menu = g_menu_new();
    GMenu *run = g_menu_new();
    g_menu_append(run, _("_Start"), "machine.start");
    g_menu_append(run, _("S_how"), "machine.show");
    g_menu_append(run, _("_Pause"), "machine.pause");
    g_menu_append(run, _("Res_ume"), "machine.resume");
    g_menu_append(run, _("Rese_t"), "machine.reset");
    g_menu_append(run, _("Shut _Down"), "machine.acpipowerbutton");
    g_menu_append(run, _("Power _Off"), "machine.poweroff");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(run));
    GMenu *edit = g_menu_new();
    g_menu_append(edit, _("S_ettings"), "machine.settings");
    g_menu_append(edit, _("_Remove…"), "machine.remove");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(edit));
    GtkWidget *more = gtk_menu_button_new();
    gtk_menu_button_set_icon_name(GTK_MENU_BUTTON(more), "view-more-symbolic");
    gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(more), G_MENU_MODEL(menu));
    gtk_widget_set_valign(more, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class(more, "flat");
    gtk_widget_set_tooltip_text(more, _("Machine menu"));
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), more);
    g_object_unref(run);
    g_object_unref(edit);
    g_object_unref(menu);

    g_signal_connect_object(m, "notify::state", G_CALLBACK(on_machine_notify), row, 0);
    g_signal_connect_object(m, "notify::name", G_CALLBACK(on_machine_notify), row, 0);
    g_signal_connect_object(m, "notify::accessible", G_CALLBACK(on_machine_notify), row, 0);
    g_signal_connect_object(m, "changed", G_CALLBACK(on_machine_changed), row, 0);
    row_update(row);
    return row;
}

static void update_page(BwManagerWindow *win)
{
    gtk_stack_set_visible_child_name(win->stack,
                                     g_hash_table_size(win->rows) ? "list" : "empty");
}

static int sort_rows(GtkListBoxRow *a, GtkListBoxRow *b, gpointer data)
{
    BwMachine *ma = g_object_get_data(G_OBJECT(a), "machine");
    BwMachine *mb = g_object_get_data(G_OBJECT(b), "machine");
    return g_utf8_collate(bw_machine_get_name(ma), bw_machine_get_name(mb));
}

static void add_machine_row(BwManagerWindow *win, BwMachine *m)
{
    if (g_hash_table_contains(win->rows, m)) {
        return;
    }
    GtkWidget *row = row_new(m);
    gtk_list_box_append(win->list, row);
    g_hash_table_insert(win->rows, g_object_ref(m), row);
    update_page(win);
}

static void on_machine_added(BwClient *c, BwMachine *m, BwManagerWindow *win)
{
    add_machine_row(win, m);
    gtk_list_box_invalidate_sort(win->list);
}

static void on_machine_removed(BwClient *c, BwMachine *m, BwManagerWindow *win)
{
    GtkWidget *row = g_hash_table_lookup(win->rows, m);
    if (row) {
        gtk_list_box_remove(win->list, row);
        g_hash_table_remove(win->rows, m);
    }
    update_page(win);
}

/* ---- connecting ------------------------------------------------------------------- */

static void on_first_paint(GdkFrameClock *clock, BwManagerWindow *win)
{
    g_printerr("boxwood-bench first-frame %" G_GINT64_FORMAT " machines %u\n",
               g_get_monotonic_time(), g_hash_table_size(win->rows));
    g_signal_handlers_disconnect_by_func(clock, on_first_paint, win);
}

static void on_connected(GObject *src, GAsyncResult *res, gpointer user_data)
{
    BwManagerWindow *win = user_data;
    GError *error = NULL;
    BwClient *client = bw_client_new_finish(res, &error);
    if (!client) {
        if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
            adw_status_page_set_description(win->error_page, error->message);
            gtk_stack_set_visible_child_name(win->stack, "error");
        }
        g_error_free(error);
        g_object_unref(win);
        return;
    }
    win->client = client;
    g_signal_connect_object(client, "machine-added", G_CALLBACK(on_machine_added), win, 0);
    g_signal_connect_object(client, "machine-removed", G_CALLBACK(on_machine_removed), win, 0);
    GPtrArray *machines = bw_client_list_machines(client);
    for (guint i = 0; i < machines->len; i++) {
        add_machine_row(win, machines->pdata[i]);
    }
    g_ptr_array_unref(machines);
    gtk_spinner_stop(win->spinner);
    update_page(win);
    if (bw_gui_bench_enabled()) {
        /* The first frame painted with the whole list in it. */
        GdkFrameClock *clock = gtk_widget_get_frame_clock(GTK_WIDGET(win));
        if (clock) {
            g_signal_connect_object(clock, "after-paint", G_CALLBACK(on_first_paint), win, 0);
            gtk_widget_queue_draw(GTK_WIDGET(win));
        }
    }
    g_object_unref(win);
}

void bw_manager_window_connect(BwManagerWindow *win)
{
    if (win->client) {
        return;
    }
    gtk_spinner_start(win->spinner);
    gtk_stack_set_visible_child_name(win->stack, "loading");
    bw_client_new(win->cancellable, on_connected, g_object_ref(win));
}

static void on_retry(GtkButton *b, BwManagerWindow *win)
{
    bw_manager_window_connect(win);
}

/* ---- add existing ------------------------------------------------------------------ */

typedef struct {
    BwClient *client;
    char *path;
} AddOp;

static void add_op_free(gpointer p)
{
    AddOp *op = p;
    g_clear_object(&op->client);
    g_free(op->path);
    g_free(op);
}

static gboolean add_op_work(gpointer data, GCancellable *c, GError **error)
{
    AddOp *op = data;
    BwMachine *m = bw_client_register_machine_sync(op->client, op->path, c, error);
    if (!m) {
        return FALSE;
    }
    g_object_unref(m);
    return TRUE;
}

static void add_op_done(gpointer data, const GError *error, gpointer user_data)
{
    BwManagerWindow *win = user_data;
    if (error) {
        bw_manager_window_error(win, _("Could not add the machine"), error);
    } else {
        bw_manager_window_toast(win, _("Machine added"));
    }
    g_object_unref(win);
}

void bw_manager_window_add_existing(BwManagerWindow *win, GFile *file)
{
    if (!win->client) {
        bw_manager_window_toast(win, _("Not connected to the Boxwood service yet"));
        return;
    }
    AddOp *op = g_new0(AddOp, 1);
    op->client = g_object_ref(win->client);
    op->path = g_file_get_path(file);
    bw_gui_run_in_thread(add_op_work, add_op_done, op, add_op_free, g_object_ref(win));
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static void on_open_response(GtkNativeDialog *d, int response, gpointer user_data)
{
    BwManagerWindow *win = user_data;
    if (response == GTK_RESPONSE_ACCEPT) {
        GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(d));
        if (f) {
            bw_manager_window_add_existing(win, f);
            g_object_unref(f);
        }
    }
    g_object_unref(d);
}

static void action_add_machine(GSimpleAction *a, GVariant *p, gpointer user_data)
{
    BwManagerWindow *win = user_data;
    GtkFileChooserNative *d = gtk_file_chooser_native_new(
        _("Add Existing Machine"), GTK_WINDOW(win), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Add"),
        _("_Cancel"));
    GtkFileFilter *filter = gtk_file_filter_new();
    gtk_file_filter_set_name(filter, _("Machine settings (.vbox)"));
    gtk_file_filter_add_pattern(filter, "*.vbox");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), filter);
    g_object_unref(filter);
    g_signal_connect(d, "response", G_CALLBACK(on_open_response), win);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}
G_GNUC_END_IGNORE_DEPRECATIONS

static void action_new_machine(GSimpleAction *a, GVariant *p, gpointer user_data)
{
    BwManagerWindow *win = user_data;
    if (!win->client) {
        bw_manager_window_toast(win, _("Not connected to the Boxwood service yet"));
        return;
    }
    bw_new_machine_dialog_show(win);
}

static const GActionEntry win_actions[] = {
    {.name = "new-machine", .activate = action_new_machine},
    {.name = "add-machine", .activate = action_add_machine},
};

/* ---- life cycle ------------------------------------------------------------------- */

static GtkWidget *build_content(BwManagerWindow *win)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *header = adw_header_bar_new();

    GtkWidget *add = gtk_button_new_from_icon_name("list-add-symbolic");
    gtk_widget_set_tooltip_text(add, _("New Machine"));
    gtk_actionable_set_action_name(GTK_ACTIONABLE(add), "win.new-machine");
    adw_header_bar_pack_start(ADW_HEADER_BAR(header), add);

    GMenu *menu = g_menu_new();
    GMenu *sec1 = g_menu_new();
    g_menu_append(sec1, _("_Add Existing Machine…"), "win.add-machine");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(sec1));
    GMenu *sec2 = g_menu_new();
    g_menu_append(sec2, _("_Preferences"), "app.preferences");
    g_menu_append(sec2, _("_Keyboard Shortcuts"), "app.shortcuts");
    g_menu_append(sec2, _("_About Boxwood"), "app.about");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(sec2));
    GtkWidget *menu_button = gtk_menu_button_new();
    gtk_menu_button_set_icon_name(GTK_MENU_BUTTON(menu_button), "open-menu-symbolic");
    gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(menu_button), G_MENU_MODEL(menu));
    gtk_widget_set_tooltip_text(menu_button, _("Main Menu"));
    adw_header_bar_pack_end(ADW_HEADER_BAR(header), menu_button);
    g_object_unref(sec1);
    g_object_unref(sec2);
    g_object_unref(menu);
    gtk_box_append(GTK_BOX(box), header);

    win->stack = GTK_STACK(gtk_stack_new());
    gtk_widget_set_vexpand(GTK_WIDGET(win->stack), TRUE);

    win->spinner = GTK_SPINNER(gtk_spinner_new());
    gtk_widget_set_size_request(GTK_WIDGET(win->spinner), 32, 32);
    gtk_widget_set_halign(GTK_WIDGET(win->spinner), GTK_ALIGN_CENTER);
    gtk_widget_set_valign(GTK_WIDGET(win->spinner), GTK_ALIGN_CENTER);
    gtk_stack_add_named(win->stack, GTK_WIDGET(win->spinner), "loading");

    GtkWidget *empty = adw_status_page_new();
    adw_status_page_set_icon_name(ADW_STATUS_PAGE(empty), BW_APP_ID "-symbolic");
    adw_status_page_set_title(ADW_STATUS_PAGE(empty), _("No Machines"));
    adw_status_page_set_description(
        ADW_STATUS_PAGE(empty),
        _("Create a machine to install an operating system from an ISO image, or add one "
          "you made with VirtualBox."));
    GtkWidget *empty_box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
    gtk_widget_set_halign(empty_box, GTK_ALIGN_CENTER);
    GtkWidget *b_new = gtk_button_new_with_mnemonic(_("_New Machine"));
    gtk_widget_add_css_class(b_new, "pill");
    gtk_widget_add_css_class(b_new, "suggested-action");
    gtk_actionable_set_action_name(GTK_ACTIONABLE(b_new), "win.new-machine");
    GtkWidget *b_add = gtk_button_new_with_mnemonic(_("_Add Existing Machine…"));
    gtk_widget_add_css_class(b_add, "pill");
    gtk_actionable_set_action_name(GTK_ACTIONABLE(b_add), "win.add-machine");
    gtk_box_append(GTK_BOX(empty_box), b_new);
    gtk_box_append(GTK_BOX(empty_box), b_add);
    adw_status_page_set_child(ADW_STATUS_PAGE(empty), empty_box);
    gtk_stack_add_named(win->stack, empty, "empty");

    win->error_page = ADW_STATUS_PAGE(adw_status_page_new());
    adw_status_page_set_icon_name(win->error_page, "dialog-error-symbolic");
    adw_status_page_set_title(win->error_page, _("Cannot Reach the Boxwood Service"));
    GtkWidget *retry = gtk_button_new_with_mnemonic(_("_Try Again"));
    gtk_widget_add_css_class(retry, "pill");
    gtk_widget_set_halign(retry, GTK_ALIGN_CENTER);
    g_signal_connect(retry, "clicked", G_CALLBACK(on_retry), win);
    adw_status_page_set_child(win->error_page, retry);
    gtk_stack_add_named(win->stack, GTK_WIDGET(win->error_page), "error");

    win->list = GTK_LIST_BOX(gtk_list_box_new());
    gtk_list_box_set_selection_mode(win->list, GTK_SELECTION_NONE);
    gtk_widget_add_css_class(GTK_WIDGET(win->list), "boxed-list");
    gtk_widget_set_valign(GTK_WIDGET(win->list), GTK_ALIGN_START);
    gtk_list_box_set_sort_func(win->list, sort_rows, NULL, NULL);
    GtkWidget *clamp = adw_clamp_new();
    adw_clamp_set_maximum_size(ADW_CLAMP(clamp), 800);
    gtk_widget_set_margin_top(clamp, 24);
    gtk_widget_set_margin_bottom(clamp, 24);
    gtk_widget_set_margin_start(clamp, 12);
    gtk_widget_set_margin_end(clamp, 12);
    adw_clamp_set_child(ADW_CLAMP(clamp), GTK_WIDGET(win->list));
    GtkWidget *scroll = gtk_scrolled_window_new();
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER,
                                   GTK_POLICY_AUTOMATIC);
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), clamp);
    gtk_stack_add_named(win->stack, scroll, "list");

    gtk_box_append(GTK_BOX(box), GTK_WIDGET(win->stack));
    win->toasts = ADW_TOAST_OVERLAY(adw_toast_overlay_new());
    adw_toast_overlay_set_child(win->toasts, box);
    return GTK_WIDGET(win->toasts);
}

static GSettings *settings_if_installed(void)
{
    GSettingsSchemaSource *src = g_settings_schema_source_get_default();
    GSettingsSchema *schema = src ? g_settings_schema_source_lookup(src, BW_APP_ID, TRUE) : NULL;
    if (!schema) {
        return NULL;
    }
    g_settings_schema_unref(schema);
    return g_settings_new(BW_APP_ID);
}

static gboolean on_close_request(GtkWindow *w, gpointer data)
{
    BwManagerWindow *win = BW_MANAGER_WINDOW(w);
    if (win->settings) {
        int width, height;
        gtk_window_get_default_size(w, &width, &height);
        g_settings_set_int(win->settings, "window-width", width);
        g_settings_set_int(win->settings, "window-height", height);
        g_settings_set_boolean(win->settings, "window-maximized", gtk_window_is_maximized(w));
    }
    return FALSE;
}

static void bw_manager_window_dispose(GObject *obj)
{
    BwManagerWindow *win = BW_MANAGER_WINDOW(obj);
    if (win->cancellable) {
        g_cancellable_cancel(win->cancellable);
        g_clear_object(&win->cancellable);
    }
    g_clear_pointer(&win->rows, g_hash_table_unref);
    g_clear_object(&win->client);
    g_clear_object(&win->settings);
    G_OBJECT_CLASS(bw_manager_window_parent_class)->dispose(obj);
}

static void bw_manager_window_class_init(BwManagerWindowClass *klass)
{
    G_OBJECT_CLASS(klass)->dispose = bw_manager_window_dispose;
}

static void bw_manager_window_init(BwManagerWindow *win)
{
    win->rows = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref, NULL);
    win->cancellable = g_cancellable_new();
    win->settings = settings_if_installed();
    gtk_window_set_title(GTK_WINDOW(win), "Boxwood");
    gtk_window_set_icon_name(GTK_WINDOW(win), BW_APP_ID);
    if (win->settings) {
        gtk_window_set_default_size(GTK_WINDOW(win),
                                    g_settings_get_int(win->settings, "window-width"),
                                    g_settings_get_int(win->settings, "window-height"));
        if (g_settings_get_boolean(win->settings, "window-maximized")) {
            gtk_window_maximize(GTK_WINDOW(win));
        }
    } else {
        gtk_window_set_default_size(GTK_WINDOW(win), 900, 600);
    }
    g_action_map_add_action_entries(G_ACTION_MAP(win), win_actions, G_N_ELEMENTS(win_actions),
                                    win);
    adw_application_window_set_content(ADW_APPLICATION_WINDOW(win), build_content(win));
    g_signal_connect(win, "close-request", G_CALLBACK(on_close_request), NULL);
}

BwManagerWindow *bw_manager_window_new(AdwApplication *app)
{
    return g_object_new(BW_TYPE_MANAGER_WINDOW, "application", app, NULL);
}
