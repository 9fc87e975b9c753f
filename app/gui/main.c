/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * boxwood: the desktop app. One manager window per application instance (GApplication
 * uniqueness brings an already running app to the front); files passed on the command
 * line (.vbox) are added as existing machines.
 */
#define G_LOG_DOMAIN "boxwood-gui"

#include <locale.h>

#include "bw-gui.h"

bool bw_gui_bench_enabled(void)
{
    static int enabled = -1;
    if (enabled < 0) {
        enabled = g_getenv("BOXWOOD_BENCH") != NULL;
    }
    return enabled;
}

static BwManagerWindow *get_window(GtkApplication *app)
{
    GtkWindow *w = gtk_application_get_active_window(app);
    if (w && BW_IS_MANAGER_WINDOW(w)) {
        return BW_MANAGER_WINDOW(w);
    }
    for (GList *l = gtk_application_get_windows(app); l; l = l->next) {
        if (BW_IS_MANAGER_WINDOW(l->data)) {
            return BW_MANAGER_WINDOW(l->data);
        }
    }
    BwManagerWindow *win = bw_manager_window_new(ADW_APPLICATION(app));
    bw_manager_window_connect(win);
    return win;
}

static void on_activate(GApplication *app, gpointer data)
{
    gtk_window_present(GTK_WINDOW(get_window(GTK_APPLICATION(app))));
}

static void on_open(GApplication *app, GFile **files, int n, const char *hint, gpointer data)
{
    BwManagerWindow *win = get_window(GTK_APPLICATION(app));
    gtk_window_present(GTK_WINDOW(win));
    for (int i = 0; i < n; i++) {
        bw_manager_window_add_existing(win, files[i]);
    }
}

static void action_quit(GSimpleAction *a, GVariant *p, gpointer app)
{
    /* Closing the manager never stops machines: they run on in their runners. */
    g_application_quit(G_APPLICATION(app));
}

static void action_about(GSimpleAction *a, GVariant *p, gpointer app)
{
    const char *developers[] = {"The Boxwood developers", NULL};
    GtkWindow *parent = gtk_application_get_active_window(GTK_APPLICATION(app));
    AdwAboutWindow *about = ADW_ABOUT_WINDOW(adw_about_window_new());
    gtk_window_set_transient_for(GTK_WINDOW(about), parent);
    adw_about_window_set_application_name(about, "Boxwood");
    adw_about_window_set_application_icon(about, BW_APP_ID);
    adw_about_window_set_version(about, PACKAGE_VERSION);
    adw_about_window_set_developer_name(about, "The Boxwood developers");
    adw_about_window_set_developers(about, developers);
    adw_about_window_set_license_type(about, GTK_LICENSE_GPL_3_0);
    adw_about_window_set_comments(about,
        _("Run other operating systems in windows, with KVM, and keep using your "
          "VirtualBox machines."));
    /* Translators: put your names here, one per line. */
    adw_about_window_set_translator_credits(about, _("translator-credits"));
    gtk_window_present(GTK_WINDOW(about));
}

static const char shortcuts_ui[] =
    "<interface>"
    "<object class='GtkShortcutsWindow' id='shortcuts'>"
    " <property name='modal'>1</property>"
    " <child><object class='GtkShortcutsSection'>"
    "  <property name='section-name'>main</property>"
    "  <child><object class='GtkShortcutsGroup'>"
    "   <property name='title' translatable='yes'>Machines</property>"
    "   <child><object class='GtkShortcutsShortcut'>"
    "    <property name='accelerator'>&lt;Control&gt;n</property>"
    "    <property name='title' translatable='yes'>New machine</property></object></child>"
    "   <child><object class='GtkShortcutsShortcut'>"
    "    <property name='accelerator'>&lt;Control&gt;o</property>"
    "    <property name='title' translatable='yes'>Add existing machine</property></object></child>"
    "  </object></child>"
    "  <child><object class='GtkShortcutsGroup'>"
    "   <property name='title' translatable='yes'>General</property>"
    "   <child><object class='GtkShortcutsShortcut'>"
    "    <property name='accelerator'>&lt;Control&gt;comma</property>"
    "    <property name='title' translatable='yes'>Preferences</property></object></child>"
    "   <child><object class='GtkShortcutsShortcut'>"
    "    <property name='accelerator'>&lt;Control&gt;question</property>"
    "    <property name='title' translatable='yes'>Keyboard shortcuts</property></object></child>"
    "   <child><object class='GtkShortcutsShortcut'>"
    "    <property name='accelerator'>&lt;Control&gt;q</property>"
    "    <property name='title' translatable='yes'>Quit</property></object></child>"
    "  </object></child>"
    " </object></child>"
    "</object>"
    "</interface>";

static void action_shortcuts(GSimpleAction *a, GVariant *p, gpointer app)
{
    GtkBuilder *b = gtk_builder_new();
    gtk_builder_set_translation_domain(b, GETTEXT_PACKAGE);
    gtk_builder_add_from_string(b, shortcuts_ui, -1, NULL);
    GtkWindow *w = GTK_WINDOW(gtk_builder_get_object(b, "shortcuts"));
    gtk_window_set_transient_for(w, gtk_application_get_active_window(GTK_APPLICATION(app)));
    gtk_window_present(w);
    g_object_unref(b);
}

static void action_preferences(GSimpleAction *a, GVariant *p, gpointer app)
{
    bw_preferences_show(get_window(GTK_APPLICATION(app)));
}

static void action_start_machine(GSimpleAction *a, GVariant *p, gpointer app)
{
    bw_manager_window_start_machine(get_window(GTK_APPLICATION(app)),
                                    g_variant_get_string(p, NULL), true);
}

static void action_show_machine(GSimpleAction *a, GVariant *p, gpointer app)
{
    bw_manager_window_start_machine(get_window(GTK_APPLICATION(app)),
                                    g_variant_get_string(p, NULL), false);
}

static const GActionEntry app_actions[] = {
    {.name = "start-machine", .activate = action_start_machine, .parameter_type = "s"},
    {.name = "show-machine", .activate = action_show_machine, .parameter_type = "s"},
    {.name = "quit", .activate = action_quit},
    {.name = "about", .activate = action_about},
    {.name = "shortcuts", .activate = action_shortcuts},
    {.name = "preferences", .activate = action_preferences},
};

static void on_startup(GApplication *app, gpointer data)
{
    static const struct {
        const char *action;
        const char *accels[2];
    } accels[] = {
        {"app.quit", {"<Control>q", NULL}},
        {"app.shortcuts", {"<Control>question", NULL}},
        {"app.preferences", {"<Control>comma", NULL}},
        {"win.new-machine", {"<Control>n", NULL}},
        {"win.add-machine", {"<Control>o", NULL}},
        {"window.close", {"<Control>w", NULL}},
    };
    g_action_map_add_action_entries(G_ACTION_MAP(app), app_actions, G_N_ELEMENTS(app_actions),
                                    app);
    for (size_t i = 0; i < G_N_ELEMENTS(accels); i++) {
        gtk_application_set_accels_for_action(GTK_APPLICATION(app), accels[i].action,
                                              accels[i].accels);
    }
}

int main(int argc, char **argv)
{
    if (bw_gui_bench_enabled()) {
        g_printerr("boxwood-bench main %" G_GINT64_FORMAT "\n", g_get_monotonic_time());
    }
    setlocale(LC_ALL, "");
    bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);

    g_set_application_name("Boxwood");
    AdwApplication *app = adw_application_new(BW_APP_ID, G_APPLICATION_HANDLES_OPEN);
    g_signal_connect(app, "startup", G_CALLBACK(on_startup), NULL);
    g_signal_connect(app, "activate", G_CALLBACK(on_activate), NULL);
    g_signal_connect(app, "open", G_CALLBACK(on_open), NULL);
    int status = g_application_run(G_APPLICATION(app), argc, argv);
    g_object_unref(app);
    return status;
}
