/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Dialogs of the manager: "New machine" (name, OS type with per-OS defaults, memory,
 * CPUs, a new or existing disk, an ISO), the machine settings dialog for the common
 * hardware, and Preferences (the machine folder).
 *
 * Widgets stay within GTK 4.8 / libadwaita 1.2 (Debian 12): spin rows are action rows
 * with a GtkSpinButton, file choosers are GtkFileChooserNative.
 */
#define G_LOG_DOMAIN "boxwood-gui"

#include "bw-gui.h"
#include "devices/block/block.h"

/* ---- applying a setup (worker thread) -------------------------------------------- */

void bw_machine_setup_free(BwMachineSetup *setup)
{
    g_clear_object(&setup->machine);
    g_free(setup->existing_disk);
    g_free(setup->iso);
    g_free(setup);
}

typedef struct {
    BwMachineSetup *setup;
    const char *disk_path;
} SetupEdit;

static BwStorageController *ensure_sata(BwMachineConfig *c)
{
    BwStorageController *ctl = bw_machine_config_find_controller(c, "SATA");
    if (!ctl) {
        ctl = bw_machine_config_add_controller(c, "SATA", "AHCI", 2);
        ctl->bootable = true;
    }
    return ctl;
}

static gboolean setup_edit(BwMachineSettings *s, gpointer user_data, GError **error)
{
    SetupEdit *e = user_data;
    BwMachineSetup *setup = e->setup;
    BwMachineConfig *c = bw_machine_settings_config(s);

    if (setup->memory_mb) {
        c->memory_mb = setup->memory_mb;
    }
    if (setup->cpus) {
        c->cpus = setup->cpus;
    }
    if (e->disk_path) {
        BwMedium *m = bw_machine_settings_register_medium(s, e->disk_path, BW_DEVICE_HARDDISK,
                                                          error);
        if (!m) {
            return FALSE;
        }
        BwStorageController *ctl = ensure_sata(c);
        bw_storage_controller_attach(ctl, BW_DEVICE_HARDDISK, 0, 0, m->uuid);
    }
    if (setup->change_iso) {
        const char *uuid = NULL;
        if (setup->iso) {
            BwMedium *m = bw_machine_settings_register_medium(s, setup->iso, BW_DEVICE_DVD,
                                                              error);
            if (!m) {
                return FALSE;
            }
            uuid = m->uuid;
        }
        /* Reuse the machine's DVD drive wherever it is (a VirtualBox machine may have it
         * on IDE); only a machine without one gets a drive on SATA port 1. */
        BwAttachment *dvd = NULL;
        BwStorageController *dvd_ctl = NULL;
        for (guint i = 0; i < c->controllers->len && !dvd; i++) {
            BwStorageController *ctl = c->controllers->pdata[i];
            for (guint j = 0; j < ctl->attachments->len; j++) {
                BwAttachment *a = ctl->attachments->pdata[j];
                if (a->type == BW_DEVICE_DVD) {
                    dvd = a;
                    dvd_ctl = ctl;
                    break;
                }
            }
        }
        if (dvd) {
            bw_storage_controller_attach(dvd_ctl, BW_DEVICE_DVD, dvd->port, dvd->device, uuid);
        } else if (uuid) {
            bw_storage_controller_attach(ensure_sata(c), BW_DEVICE_DVD, 1, 0, uuid);
        }
    }
    if (e->disk_path || setup->iso) {
        c->boot[0] = BW_BOOT_DVD;
        c->boot[1] = BW_BOOT_DISK;
        c->boot[2] = BW_BOOT_NONE;
        c->boot[3] = BW_BOOT_NONE;
    }
    return TRUE;
}

gboolean bw_machine_setup_apply(BwMachineSetup *setup, GCancellable *cancellable,
                                GError **error)
{
    g_autofree char *disk = NULL;
    if (setup->disk_bytes) {
        g_autofree char *folder = g_path_get_dirname(bw_machine_get_settings_path(setup->machine));
        g_autofree char *base = g_strdup_printf("%s.vdi", bw_machine_get_name(setup->machine));
        disk = g_build_filename(folder, base, NULL);
        if (g_file_test(disk, G_FILE_TEST_EXISTS)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        _("“%s” already exists; choose “Use an existing disk” to use it"),
                        disk);
            return FALSE;
        }
        uint64_t bytes = (setup->disk_bytes + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
        if (!block_create_vdi(disk, bytes, BLOCK_VDI_DYNAMIC, NULL, error)) {
            return FALSE;
        }
    } else if (setup->existing_disk) {
        disk = g_strdup(setup->existing_disk);
    }
    SetupEdit e = {.setup = setup, .disk_path = disk};
    return bw_machine_modify_sync(setup->machine, setup_edit, &e, cancellable, error);
}

/* ---- small widgets ---------------------------------------------------------------- */

static GtkWidget *spin_row(const char *title, const char *subtitle, double min, double max,
                           double step, double value, GtkSpinButton **out)
{
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
    if (subtitle) {
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), subtitle);
    }
    GtkWidget *spin = gtk_spin_button_new_with_range(min, max, step);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(spin), value);
    gtk_widget_set_valign(spin, GTK_ALIGN_CENTER);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), spin);
    adw_action_row_set_activatable_widget(ADW_ACTION_ROW(row), spin);
    *out = GTK_SPIN_BUTTON(spin);
    return row;
}

typedef struct {
    GtkWidget *row;
    char *path;
    const char *pattern_name;
    const char *pattern;
} FileRow;

static void file_row_free(gpointer p)
{
    FileRow *fr = p;
    g_free(fr->path);
    g_free(fr);
}

static void file_row_set(FileRow *fr, const char *path)
{
    g_free(fr->path);
    fr->path = g_strdup(path);
    if (path) {
        g_autofree char *base = g_path_get_basename(path);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(fr->row), base);
    } else {
        adw_action_row_set_subtitle(ADW_ACTION_ROW(fr->row), _("None"));
    }
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static void on_file_response(GtkNativeDialog *d, int response, gpointer user_data)
{
    FileRow *fr = user_data;
    if (response == GTK_RESPONSE_ACCEPT) {
        GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(d));
        if (f) {
            g_autofree char *path = g_file_get_path(f);
            file_row_set(fr, path);
            g_object_unref(f);
        }
    }
    g_object_unref(d);
}

static void on_file_choose(GtkButton *b, gpointer user_data)
{
    FileRow *fr = user_data;
    GtkFileChooserNative *d = gtk_file_chooser_native_new(
        adw_preferences_row_get_title(ADW_PREFERENCES_ROW(fr->row)),
        GTK_WINDOW(gtk_widget_get_root(GTK_WIDGET(b))), GTK_FILE_CHOOSER_ACTION_OPEN,
        _("_Select"), _("_Cancel"));
    GtkFileFilter *filter = gtk_file_filter_new();
    gtk_file_filter_set_name(filter, fr->pattern_name);
    gtk_file_filter_add_pattern(filter, fr->pattern);
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), filter);
    g_object_unref(filter);
    g_signal_connect(d, "response", G_CALLBACK(on_file_response), fr);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}
G_GNUC_END_IGNORE_DEPRECATIONS

static void on_file_clear(GtkButton *b, gpointer user_data)
{
    file_row_set(user_data, NULL);
}

static FileRow *file_row_new(const char *title, const char *pattern_name, const char *pattern)
{
    FileRow *fr = g_new0(FileRow, 1);
    fr->pattern_name = pattern_name;
    fr->pattern = pattern;
    fr->row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(fr->row), title);
    GtkWidget *clear = gtk_button_new_from_icon_name("edit-clear-symbolic");
    gtk_widget_set_tooltip_text(clear, _("Remove"));
    gtk_widget_set_valign(clear, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class(clear, "flat");
    g_signal_connect(clear, "clicked", G_CALLBACK(on_file_clear), fr);
    GtkWidget *choose = gtk_button_new_from_icon_name("document-open-symbolic");
    gtk_widget_set_tooltip_text(choose, _("Choose a file"));
    gtk_widget_set_valign(choose, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class(choose, "flat");
    g_signal_connect(choose, "clicked", G_CALLBACK(on_file_choose), fr);
    adw_action_row_add_suffix(ADW_ACTION_ROW(fr->row), clear);
    adw_action_row_add_suffix(ADW_ACTION_ROW(fr->row), choose);
    g_object_set_data_full(G_OBJECT(fr->row), "file-row", fr, file_row_free);
    file_row_set(fr, NULL);
    return fr;
}

/* ---- New machine ------------------------------------------------------------------- */

typedef struct {
    BwManagerWindow *win;   /* borrowed: the dialog is transient for it */
    GtkWidget *dialog;
    AdwEntryRow *name;
    AdwComboRow *os;
    GtkSpinButton *memory, *cpus, *disk_gb;
    AdwComboRow *disk_mode; /* new / existing / none */
    GtkWidget *disk_size_row;
    FileRow *existing, *iso;
    GtkWidget *create;
    GtkStringList *os_ids;
} NewMachine;

typedef struct {
    BwClient *client;
    char *name, *os_type;
    BwMachineSetup *setup;
} NewMachineOp;

static void new_machine_op_free(gpointer p)
{
    NewMachineOp *op = p;
    g_clear_object(&op->client);
    g_free(op->name);
    g_free(op->os_type);
    if (op->setup) {
        bw_machine_setup_free(op->setup);
    }
    g_free(op);
}

static gboolean new_machine_work(gpointer data, GCancellable *c, GError **error)
{
    NewMachineOp *op = data;
    op->setup->machine = bw_client_create_machine_sync(op->client, op->name, op->os_type, NULL,
                                                       TRUE, c, error);
    if (!op->setup->machine) {
        return FALSE;
    }
    return bw_machine_setup_apply(op->setup, c, error);
}

static void new_machine_done(gpointer data, const GError *error, gpointer user_data)
{
    NewMachineOp *op = data;
    BwManagerWindow *win = user_data;
    if (error) {
        bw_manager_window_error(win, _("Could not create the machine"), error);
    } else {
        g_autofree char *msg = g_strdup_printf(_("“%s” created"), op->name);
        bw_manager_window_toast(win, msg);
    }
    g_object_unref(win);
}

static void on_os_selected(GObject *row, GParamSpec *pspec, NewMachine *nm)
{
    guint i = adw_combo_row_get_selected(nm->os);
    const char *id = gtk_string_list_get_string(nm->os_ids, i);
    const BwOsType *t = id ? bw_os_type_find(id) : NULL;
    if (t) {
        gtk_spin_button_set_value(nm->memory, t->memory_mb);
        gtk_spin_button_set_value(nm->disk_gb, t->disk_gb);
    }
}

static void on_name_changed(GtkEditable *e, NewMachine *nm)
{
    const char *name = gtk_editable_get_text(e);
    bool ok = name[0] && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
    gtk_widget_set_sensitive(nm->create, ok);
}

static void on_disk_mode(GObject *row, GParamSpec *pspec, NewMachine *nm)
{
    guint mode = adw_combo_row_get_selected(nm->disk_mode);
    gtk_widget_set_visible(nm->disk_size_row, mode == 0);
    gtk_widget_set_visible(nm->existing->row, mode == 1);
}

static void on_create(GtkButton *b, NewMachine *nm)
{
    NewMachineOp *op = g_new0(NewMachineOp, 1);
    op->client = g_object_ref(bw_manager_window_get_client(nm->win));
    op->name = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(nm->name))));
    op->os_type = g_strdup(gtk_string_list_get_string(nm->os_ids,
                                                      adw_combo_row_get_selected(nm->os)));
    op->setup = g_new0(BwMachineSetup, 1);
    op->setup->memory_mb = (guint)gtk_spin_button_get_value(nm->memory);
    op->setup->cpus = (guint)gtk_spin_button_get_value(nm->cpus);
    switch (adw_combo_row_get_selected(nm->disk_mode)) {
    case 0:
        op->setup->disk_bytes = (guint64)gtk_spin_button_get_value(nm->disk_gb) << 30;
        break;
    case 1:
        op->setup->existing_disk = g_strdup(nm->existing->path);
        break;
    default:
        break;
    }
    op->setup->iso = g_strdup(nm->iso->path);
    op->setup->change_iso = nm->iso->path != NULL;
    bw_gui_run_in_thread(new_machine_work, new_machine_done, op, new_machine_op_free,
                         g_object_ref(nm->win));
    gtk_window_destroy(GTK_WINDOW(nm->dialog));
}

static void new_machine_free(gpointer p)
{
    NewMachine *nm = p;
    g_clear_object(&nm->os_ids);
    g_free(nm);
}

void bw_new_machine_dialog_show(BwManagerWindow *win)
{
    NewMachine *nm = g_new0(NewMachine, 1);
    nm->win = win;
    nm->dialog = adw_window_new();
    g_object_set_data_full(G_OBJECT(nm->dialog), "new-machine", nm, new_machine_free);
    gtk_window_set_title(GTK_WINDOW(nm->dialog), _("New Machine"));
    gtk_window_set_modal(GTK_WINDOW(nm->dialog), TRUE);
    gtk_window_set_transient_for(GTK_WINDOW(nm->dialog), GTK_WINDOW(win));
    gtk_window_set_default_size(GTK_WINDOW(nm->dialog), 520, 640);

    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *header = adw_header_bar_new();
    adw_header_bar_set_show_end_title_buttons(ADW_HEADER_BAR(header), FALSE);
    GtkWidget *cancel = gtk_button_new_with_mnemonic(_("_Cancel"));
    g_signal_connect_swapped(cancel, "clicked", G_CALLBACK(gtk_window_destroy), nm->dialog);
    adw_header_bar_pack_start(ADW_HEADER_BAR(header), cancel);
    nm->create = gtk_button_new_with_mnemonic(_("C_reate"));
    gtk_widget_add_css_class(nm->create, "suggested-action");
    gtk_widget_set_sensitive(nm->create, FALSE);
    g_signal_connect(nm->create, "clicked", G_CALLBACK(on_create), nm);
    adw_header_bar_pack_end(ADW_HEADER_BAR(header), nm->create);
    gtk_box_append(GTK_BOX(box), header);

    GtkWidget *page = adw_preferences_page_new();
    gtk_widget_set_vexpand(page, TRUE);

    GtkWidget *g1 = adw_preferences_group_new();
    nm->name = ADW_ENTRY_ROW(adw_entry_row_new());
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(nm->name), _("Name"));
    g_signal_connect(nm->name, "changed", G_CALLBACK(on_name_changed), nm);
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g1), GTK_WIDGET(nm->name));

    size_t n_os;
    const BwOsType *types = bw_os_types(&n_os);
    GtkStringList *labels = gtk_string_list_new(NULL);
    nm->os_ids = gtk_string_list_new(NULL);
    guint debian = 0;
    for (size_t i = 0; i < n_os; i++) {
        gtk_string_list_append(labels, types[i].description);
        gtk_string_list_append(nm->os_ids, types[i].id);
        if (g_str_equal(types[i].id, "Debian_64")) {
            debian = (guint)i;
        }
    }
    nm->os = ADW_COMBO_ROW(adw_combo_row_new());
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(nm->os), _("Operating system"));
    adw_combo_row_set_model(nm->os, G_LIST_MODEL(labels));
    g_object_unref(labels);
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g1), GTK_WIDGET(nm->os));
    adw_preferences_page_add(ADW_PREFERENCES_PAGE(page), ADW_PREFERENCES_GROUP(g1));

    GtkWidget *g2 = adw_preferences_group_new();
    adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(g2), _("Hardware"));
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g2),
                              spin_row(_("Memory"), _("MiB"), 4, 65536, 256, 2048, &nm->memory));
    guint ncpu = MAX(1, MIN(64, g_get_num_processors()));
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g2),
                              spin_row(_("Processors"), NULL, 1, ncpu, 1, MIN(2, ncpu), &nm->cpus));
    adw_preferences_page_add(ADW_PREFERENCES_PAGE(page), ADW_PREFERENCES_GROUP(g2));

    GtkWidget *g3 = adw_preferences_group_new();
    adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(g3), _("Disk"));
    const char *modes[] = {_("Create a new disk"), _("Use an existing disk"), _("No disk"), NULL};
    GtkStringList *mode_list = gtk_string_list_new(modes);
    nm->disk_mode = ADW_COMBO_ROW(adw_combo_row_new());
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(nm->disk_mode), _("Hard disk"));
    adw_combo_row_set_model(nm->disk_mode, G_LIST_MODEL(mode_list));
    g_object_unref(mode_list);
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g3), GTK_WIDGET(nm->disk_mode));
    nm->disk_size_row = spin_row(_("Size"), _("GiB, allocated as the guest writes"), 1, 4096,
                                 1, 20, &nm->disk_gb);
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g3), nm->disk_size_row);
    nm->existing = file_row_new(_("Existing disk"), _("Disk images (.vdi, .img)"), "*");
    gtk_widget_set_visible(nm->existing->row, FALSE);
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g3), nm->existing->row);
    nm->iso = file_row_new(_("Installation image"), _("CD/DVD images (.iso)"), "*.iso");
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g3), nm->iso->row);
    adw_preferences_page_add(ADW_PREFERENCES_PAGE(page), ADW_PREFERENCES_GROUP(g3));

    g_signal_connect(nm->os, "notify::selected", G_CALLBACK(on_os_selected), nm);
    g_signal_connect(nm->disk_mode, "notify::selected", G_CALLBACK(on_disk_mode), nm);
    adw_combo_row_set_selected(nm->os, debian);
    on_os_selected(NULL, NULL, nm);

    gtk_box_append(GTK_BOX(box), page);
    adw_window_set_content(ADW_WINDOW(nm->dialog), box);
    gtk_window_present(GTK_WINDOW(nm->dialog));
}

/* ---- Machine settings ---------------------------------------------------------------- */

typedef struct {
    BwManagerWindow *win;
    BwMachine *machine;
    GtkWidget *dialog;
    GtkSpinButton *memory, *cpus;
    FileRow *iso;
    char *initial_iso;
} SettingsDialog;

static void settings_dialog_free(gpointer p)
{
    SettingsDialog *sd = p;
    g_clear_object(&sd->machine);
    g_free(sd->initial_iso);
    g_free(sd);
}

static gboolean apply_work(gpointer data, GCancellable *c, GError **error)
{
    return bw_machine_setup_apply(data, c, error);
}

static void apply_done(gpointer data, const GError *error, gpointer user_data)
{
    BwManagerWindow *win = user_data;
    if (error) {
        bw_manager_window_error(win, _("Could not save the settings"), error);
    }
    g_object_unref(win);
}

static void on_settings_close(GtkWindow *w, SettingsDialog *sd)
{
    BwMachineSetup *setup = g_new0(BwMachineSetup, 1);
    setup->machine = g_object_ref(sd->machine);
    setup->memory_mb = (guint)gtk_spin_button_get_value(sd->memory);
    setup->cpus = (guint)gtk_spin_button_get_value(sd->cpus);
    if (g_strcmp0(sd->iso->path, sd->initial_iso) != 0) {
        setup->iso = g_strdup(sd->iso->path);
        setup->change_iso = TRUE;
    }
    bw_gui_run_in_thread(apply_work, apply_done, setup, (GDestroyNotify)bw_machine_setup_free,
                         g_object_ref(sd->win));
}

void bw_machine_settings_dialog_show(BwManagerWindow *win, BwMachine *machine)
{
    GError *error = NULL;
    /* One D-Bus round trip to the local service: fast enough for the main thread. */
    BwMachineSettings *s = bw_machine_get_settings_sync(machine, NULL, &error);
    if (!s) {
        bw_manager_window_error(win, _("Could not read the settings"), error);
        g_error_free(error);
        return;
    }
    BwMachineConfig *c = bw_machine_settings_config(s);

    SettingsDialog *sd = g_new0(SettingsDialog, 1);
    sd->win = win;
    sd->machine = g_object_ref(machine);
    sd->dialog = adw_preferences_window_new();
    g_object_set_data_full(G_OBJECT(sd->dialog), "settings", sd, settings_dialog_free);
    g_autofree char *title = g_strdup_printf(_("%s Settings"), bw_machine_get_name(machine));
    gtk_window_set_title(GTK_WINDOW(sd->dialog), title);
    gtk_window_set_modal(GTK_WINDOW(sd->dialog), TRUE);
    gtk_window_set_transient_for(GTK_WINDOW(sd->dialog), GTK_WINDOW(win));

    GtkWidget *page = adw_preferences_page_new();
    adw_preferences_page_set_title(ADW_PREFERENCES_PAGE(page), _("Hardware"));
    adw_preferences_page_set_icon_name(ADW_PREFERENCES_PAGE(page), "computer-symbolic");
    GtkWidget *g = adw_preferences_group_new();
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g),
                              spin_row(_("Memory"), _("MiB"), 4, 2097152, 256, c->memory_mb,
                                       &sd->memory));
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g),
                              spin_row(_("Processors"), NULL, 1, 64, 1, c->cpus, &sd->cpus));
    adw_preferences_page_add(ADW_PREFERENCES_PAGE(page), ADW_PREFERENCES_GROUP(g));

    GtkWidget *g2 = adw_preferences_group_new();
    adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(g2), _("Storage"));
    sd->iso = file_row_new(_("CD/DVD image"), _("CD/DVD images (.iso)"), "*.iso");
    for (guint i = 0; i < c->controllers->len && !sd->initial_iso; i++) {
        BwStorageController *ctl = c->controllers->pdata[i];
        for (guint j = 0; j < ctl->attachments->len; j++) {
            BwAttachment *a = ctl->attachments->pdata[j];
            BwMedium *m = a->medium_uuid ? bw_machine_config_find_medium(c, a->medium_uuid)
                                         : NULL;
            if (a->type == BW_DEVICE_DVD && m && m->path) {
                sd->initial_iso = g_strdup(m->path);
                break;
            }
        }
    }
    file_row_set(sd->iso, sd->initial_iso);
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g2), sd->iso->row);
    adw_preferences_page_add(ADW_PREFERENCES_PAGE(page), ADW_PREFERENCES_GROUP(g2));
    adw_preferences_window_add(ADW_PREFERENCES_WINDOW(sd->dialog), ADW_PREFERENCES_PAGE(page));
    bw_machine_settings_free(s);

    /* GNOME preferences apply on close, no Apply button. */
    g_signal_connect(sd->dialog, "close-request", G_CALLBACK(on_settings_close), sd);
    gtk_window_present(GTK_WINDOW(sd->dialog));
}

/* ---- Preferences ------------------------------------------------------------------- */

typedef struct {
    BwClient *client;
    char *folder;
} FolderOp;

static void folder_op_free(gpointer p)
{
    FolderOp *op = p;
    g_clear_object(&op->client);
    g_free(op->folder);
    g_free(op);
}

static gboolean folder_work(gpointer data, GCancellable *c, GError **error)
{
    FolderOp *op = data;
    return bw_client_set_property_sync(op->client, "machinefolder", op->folder, c, error);
}

static void folder_done(gpointer data, const GError *error, gpointer user_data)
{
    BwManagerWindow *win = user_data;
    if (error) {
        bw_manager_window_error(win, _("Could not change the machine folder"), error);
    } else {
        bw_manager_window_toast(win, _("New machines will be created in the new folder"));
    }
    g_object_unref(win);
}

static void on_folder_apply(AdwEntryRow *row, BwManagerWindow *win)
{
    BwClient *client = bw_manager_window_get_client(win);
    if (!client) {
        return;
    }
    FolderOp *op = g_new0(FolderOp, 1);
    op->client = g_object_ref(client);
    op->folder = g_strdup(gtk_editable_get_text(GTK_EDITABLE(row)));
    bw_gui_run_in_thread(folder_work, folder_done, op, folder_op_free, g_object_ref(win));
}

void bw_preferences_show(BwManagerWindow *win)
{
    GtkWidget *w = adw_preferences_window_new();
    gtk_window_set_modal(GTK_WINDOW(w), TRUE);
    gtk_window_set_transient_for(GTK_WINDOW(w), GTK_WINDOW(win));
    GtkWidget *page = adw_preferences_page_new();
    GtkWidget *g = adw_preferences_group_new();
    adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(g), _("Machines"));
    adw_preferences_group_set_description(
        ADW_PREFERENCES_GROUP(g),
        _("New machines get a folder of their own inside this folder. Existing machines "
          "stay where they are."));
    GtkWidget *row = adw_entry_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), _("Machine folder"));
    adw_entry_row_set_show_apply_button(ADW_ENTRY_ROW(row), TRUE);
    BwClient *client = bw_manager_window_get_client(win);
    g_autofree char *folder = client ? bw_client_get_property(client, "machinefolder", NULL)
                                     : NULL;
    gtk_editable_set_text(GTK_EDITABLE(row), folder ? folder : "");
    g_signal_connect(row, "apply", G_CALLBACK(on_folder_apply), win);
    adw_preferences_group_add(ADW_PREFERENCES_GROUP(g), row);
    adw_preferences_page_add(ADW_PREFERENCES_PAGE(page), ADW_PREFERENCES_GROUP(g));
    adw_preferences_window_add(ADW_PREFERENCES_WINDOW(w), ADW_PREFERENCES_PAGE(page));
    gtk_window_present(GTK_WINDOW(w));
}
