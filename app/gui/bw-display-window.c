/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A machine's display window: the guest screen read from the runner's shared
 * framebuffer (org.boxwood.Console1 on the runner's own peer socket), keyboard and
 * pointer input sent back, and the machine's controls. Closing the window asks whether
 * to keep the machine running in the background, shut it down or power it off;
 * opening it again attaches to the running machine.
 */
#define G_LOG_DOMAIN "boxwood-gui"

#include <gio/gunixfdlist.h>
#include <linux/input-event-codes.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bw-console-dbus.h"
#include "bw-gui.h"

#define RUNNER_PATH "/org/boxwood/Runner"
#define HOST_KEY KEY_RIGHTCTRL

struct _BwDisplayWindow {
    AdwApplicationWindow parent;
    BwManagerWindow *manager; /* weak */
    BwMachine *machine;
    GDBusConnection *conn;
    BwConsole1 *console;
    GtkPicture *picture;
    GtkStack *stack;
    AdwStatusPage *status;
    AdwWindowTitle *title;
    GtkWidget *pause_button;

    /* The mapped surface. */
    guint8 *map;
    gsize map_len;
    unsigned width, height, stride;
    guint8 *shadow;    /* RGBA copy with alpha forced opaque */
    bool dirty;
    guint tick_id;
    gint64 damage_at;  /* bench: when the oldest unpainted damage arrived */
    gint64 frames;
    gulong paint_handler;

    bool grabbed;
    double last_x, last_y;
    bool have_last;
    unsigned buttons;
    bool closing_confirmed;
};

G_DEFINE_FINAL_TYPE(BwDisplayWindow, bw_display_window, ADW_TYPE_APPLICATION_WINDOW)

static void unmap_surface(BwDisplayWindow *w)
{
    if (w->map) {
        munmap(w->map, w->map_len);
        w->map = NULL;
    }
    g_clear_pointer(&w->shadow, g_free);
}

/* Copies the whole surface into a new texture: textures are immutable, and a full
 * copy of a 1080p frame is cheaper than tracking which old texture a rectangle is in. */
static void update_texture(BwDisplayWindow *w)
{
    if (!w->map || !w->shadow) {
        return;
    }
    for (unsigned y = 0; y < w->height; y++) {
        const guint32 *src = (const guint32 *)(w->map + (gsize)y * w->stride);
        guint32 *dst = (guint32 *)(w->shadow + (gsize)y * w->width * 4);
        for (unsigned x = 0; x < w->width; x++) {
            dst[x] = src[x] | 0xff000000u; /* XRGB → opaque ARGB (B,G,R,A bytes) */
        }
    }
    GBytes *bytes = g_bytes_new(w->shadow, (gsize)w->width * w->height * 4);
    GdkTexture *tex = gdk_memory_texture_new((int)w->width, (int)w->height,
                                             GDK_MEMORY_B8G8R8A8_PREMULTIPLIED, bytes,
                                             (gsize)w->width * 4);
    gtk_picture_set_paintable(w->picture, GDK_PAINTABLE(tex));
    g_object_unref(tex);
    g_bytes_unref(bytes);
}

static gboolean on_tick(GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
    BwDisplayWindow *w = BW_DISPLAY_WINDOW(widget);
    if (w->dirty) {
        w->dirty = false;
        update_texture(w);
        if (bw_gui_bench_enabled() && !w->paint_handler) {
            w->paint_handler = g_signal_connect_object(clock, "after-paint",
                                                       G_CALLBACK(on_after_paint), w, 0);
        }
    }
    return G_SOURCE_CONTINUE;
}

static bool map_surface(BwDisplayWindow *w, GError **error)
{
    GVariant *fd_index = NULL;
    GUnixFDList *fds = NULL;
    guint width, height, stride, format;
    unmap_surface(w);
    if (!bw_console1_call_get_surface_sync(w->console, NULL, &fd_index, &width, &height,
                                           &stride, &format, &fds, NULL, error)) {
        return false;
    }
    int fd = g_unix_fd_list_get(fds, g_variant_get_handle(fd_index), error);
    g_variant_unref(fd_index);
    g_object_unref(fds);
    if (fd < 0) {
        return false;
    }
    /* The runner is trusted less than ourselves: check the geometry it claims. */
    if (format != 0x34325258u || width == 0 || height == 0 || width > 8192 || height > 8192 ||
        stride < width * 4 || stride > width * 4 + 4096) {
        close(fd);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "The machine offered an unusable screen (%ux%u, stride %u, format %#x)",
                    width, height, stride, format);
        return false;
    }
    gsize len = (gsize)stride * height;
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "Cannot map the screen: %s",
                    g_strerror(errno));
        return false;
    }
    w->map = p;
    w->map_len = len;
    w->width = width;
    w->height = height;
    w->stride = stride;
    w->shadow = g_malloc((gsize)width * height * 4);
    update_texture(w);
    return true;
}

static void on_resized(BwConsole1 *c, guint width, guint height, BwDisplayWindow *w)
{
    GError *error = NULL;
    if (!map_surface(w, &error)) {
        g_warning("%s", error->message);
        g_error_free(error);
    }
}

static void on_damage(BwConsole1 *c, GVariant *rects, BwDisplayWindow *w)
{
    if (!w->dirty && bw_gui_bench_enabled()) {
        w->damage_at = g_get_monotonic_time();
    }
    w->dirty = true;
}

/* Bench: the frame that shows a damage has been painted. */
static void on_after_paint(GdkFrameClock *clock, BwDisplayWindow *w)
{
    if (w->damage_at) {
        gint64 now = g_get_monotonic_time();
        g_printerr("boxwood-bench paint %" G_GINT64_FORMAT " latency-us %" G_GINT64_FORMAT
                   " frame %" G_GINT64_FORMAT "\n", now, now - w->damage_at, ++w->frames);
        w->damage_at = 0;
    }
}

/* ---- input ------------------------------------------------------------------------ */

static void send_key(BwDisplayWindow *w, guint keycode, gboolean down)
{
    if (w->console) {
        bw_console1_call_key(w->console, keycode, down, NULL, NULL, NULL);
    }
}

static void set_grab(BwDisplayWindow *w, bool grab)
{
    if (w->grabbed == grab) {
        return;
    }
    w->grabbed = grab;
    w->have_last = false;
    GdkSurface *surface = gtk_native_get_surface(GTK_NATIVE(w));
    if (grab) {
        gtk_widget_set_cursor_from_name(GTK_WIDGET(w->picture), "none");
        if (GDK_IS_TOPLEVEL(surface)) {
            gdk_toplevel_inhibit_system_shortcuts(GDK_TOPLEVEL(surface), NULL);
        }
        adw_window_title_set_subtitle(w->title, _("Press Right Ctrl to release the pointer"));
    } else {
        gtk_widget_set_cursor(GTK_WIDGET(w->picture), NULL);
        if (GDK_IS_TOPLEVEL(surface)) {
            gdk_toplevel_restore_system_shortcuts(GDK_TOPLEVEL(surface));
        }
        adw_window_title_set_subtitle(w->title, _("Click the screen to use it"));
    }
}

static gboolean on_key_pressed(GtkEventControllerKey *k, guint keyval, guint keycode,
                               GdkModifierType state, BwDisplayWindow *w)
{
    if (!w->grabbed || keycode < 8) {
        return FALSE; /* let the window's shortcuts work */
    }
    guint code = keycode - 8; /* XKB key code → Linux evdev code */
    if (code == HOST_KEY) {
        set_grab(w, false);
        return TRUE;
    }
    send_key(w, code, TRUE);
    return TRUE;
}

static void on_key_released(GtkEventControllerKey *k, guint keyval, guint keycode,
                            GdkModifierType state, BwDisplayWindow *w)
{
    if (w->grabbed && keycode >= 8 && keycode - 8 != HOST_KEY) {
        send_key(w, keycode - 8, FALSE);
    }
}

static void send_pointer(BwDisplayWindow *w, int dx, int dy, int dz)
{
    if (w->console) {
        bw_console1_call_pointer_rel(w->console, dx, dy, dz, w->buttons, NULL, NULL, NULL);
    }
}

static void on_motion(GtkEventControllerMotion *m, double x, double y, BwDisplayWindow *w)
{
    if (!w->grabbed) {
        return;
    }
    if (w->have_last) {
        /* Scale widget pixels to guest pixels so the guest pointer follows the host's. */
        double scale = 1.0;
        int pw = gtk_widget_get_width(GTK_WIDGET(w->picture));
        if (pw > 0 && w->width) {
            scale = (double)w->width / pw;
        }
        int dx = (int)((x - w->last_x) * scale), dy = (int)((y - w->last_y) * scale);
        if (dx || dy) {
            send_pointer(w, dx, dy, 0);
        }
    }
    w->last_x = x;
    w->last_y = y;
    w->have_last = true;
}

static unsigned button_bit(guint button)
{
    switch (button) {
    case GDK_BUTTON_PRIMARY:
        return 1;
    case GDK_BUTTON_SECONDARY:
        return 2;
    case GDK_BUTTON_MIDDLE:
        return 4;
    default:
        return 0;
    }
}

static void on_pressed(GtkGestureClick *g, int n, double x, double y, BwDisplayWindow *w)
{
    if (!w->grabbed) {
        set_grab(w, true);
        gtk_widget_grab_focus(GTK_WIDGET(w->picture));
        return;
    }
    w->buttons |= button_bit(gtk_gesture_single_get_current_button(GTK_GESTURE_SINGLE(g)));
    send_pointer(w, 0, 0, 0);
}

static void on_released(GtkGestureClick *g, int n, double x, double y, BwDisplayWindow *w)
{
    if (!w->grabbed) {
        return;
    }
    w->buttons &= ~button_bit(gtk_gesture_single_get_current_button(GTK_GESTURE_SINGLE(g)));
    send_pointer(w, 0, 0, 0);
}

static gboolean on_scroll(GtkEventControllerScroll *s, double dx, double dy, BwDisplayWindow *w)
{
    if (w->grabbed && dy != 0) {
        send_pointer(w, 0, 0, dy > 0 ? 1 : -1);
    }
    return w->grabbed;
}

/* ---- actions ------------------------------------------------------------------------ */

static void send_combo(BwDisplayWindow *w, const guint32 *codes, gsize n)
{
    if (w->console) {
        GVariant *v = g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, codes, n,
                                                sizeof(guint32));
        bw_console1_call_send_keys(w->console, v, NULL, NULL, NULL);
    }
}

static void action_cad(GSimpleAction *a, GVariant *p, gpointer data)
{
    static const guint32 keys[] = {KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE};
    send_combo(data, keys, G_N_ELEMENTS(keys));
}

static void action_cab(GSimpleAction *a, GVariant *p, gpointer data)
{
    static const guint32 keys[] = {KEY_LEFTCTRL, KEY_LEFTALT, KEY_BACKSPACE};
    send_combo(data, keys, G_N_ELEMENTS(keys));
}

static void action_caf(GSimpleAction *a, GVariant *p, gpointer data)
{
    /* Ctrl+Alt+F<n>: switch the guest's virtual terminal. */
    guint32 n = g_variant_get_uint32(p);
    static const guint32 fkeys[] = {KEY_F1, KEY_F2, KEY_F3, KEY_F4, KEY_F5, KEY_F6, KEY_F7};
    if (n >= 1 && n <= G_N_ELEMENTS(fkeys)) {
        guint32 keys[] = {KEY_LEFTCTRL, KEY_LEFTALT, fkeys[n - 1]};
        send_combo(data, keys, G_N_ELEMENTS(keys));
    }
}

static void action_fullscreen(GSimpleAction *a, GVariant *p, gpointer data)
{
    GtkWindow *w = GTK_WINDOW(data);
    if (gtk_window_is_fullscreen(w)) {
        gtk_window_unfullscreen(w);
    } else {
        gtk_window_fullscreen(w);
    }
}

static void action_scale(GSimpleAction *a, GVariant *p, gpointer data)
{
    BwDisplayWindow *w = data;
    GVariant *state = g_action_get_state(G_ACTION(a));
    gboolean scale = !g_variant_get_boolean(state);
    g_variant_unref(state);
    g_simple_action_set_state(a, g_variant_new_boolean(scale));
    /* GtkPicture scales to its allocation, so 1:1 means giving it only its natural size. */
    gtk_picture_set_can_shrink(w->picture, scale);
    gtk_widget_set_halign(GTK_WIDGET(w->picture), scale ? GTK_ALIGN_FILL : GTK_ALIGN_CENTER);
    gtk_widget_set_valign(GTK_WIDGET(w->picture), scale ? GTK_ALIGN_FILL : GTK_ALIGN_CENTER);
}

typedef struct {
    BwMachine *machine;
    char *what;
    char *path;
} ControlOp;

static void control_op_free(gpointer p)
{
    ControlOp *op = p;
    g_clear_object(&op->machine);
    g_free(op->what);
    g_free(op->path);
    g_free(op);
}

static gboolean control_work(gpointer data, GCancellable *c, GError **error)
{
    ControlOp *op = data;
    if (op->path) {
        return bw_machine_screenshot_png_sync(op->machine, op->path, c, error);
    }
    return bw_machine_control_sync(op->machine, op->what, c, error);
}

static void control_done(gpointer data, const GError *error, gpointer user_data)
{
    ControlOp *op = data;
    BwDisplayWindow *w = user_data;
    if (error) {
        GtkWidget *d = adw_message_dialog_new(GTK_WINDOW(w), _("The machine did not respond"),
                                              error->message);
        adw_message_dialog_add_response(ADW_MESSAGE_DIALOG(d), "close", _("_Close"));
        gtk_window_present(GTK_WINDOW(d));
    } else if (op->path && w->manager) {
        g_autofree char *msg = g_strdup_printf(_("Screenshot saved to %s"), op->path);
        bw_manager_window_toast(w->manager, msg);
    }
    g_object_unref(w);
}

static void control(BwDisplayWindow *w, const char *what, const char *path)
{
    ControlOp *op = g_new0(ControlOp, 1);
    op->machine = g_object_ref(w->machine);
    op->what = g_strdup(what);
    op->path = g_strdup(path);
    bw_gui_run_in_thread(control_work, control_done, op, control_op_free, g_object_ref(w));
}

static void action_control(GSimpleAction *a, GVariant *p, gpointer data)
{
    control(data, g_action_get_name(G_ACTION(a)), NULL);
}

static void action_screenshot(GSimpleAction *a, GVariant *p, gpointer data)
{
    BwDisplayWindow *w = data;
    const char *dir = g_get_user_special_dir(G_USER_DIRECTORY_PICTURES);
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%d %H-%M-%S");
    g_autofree char *name = g_strdup_printf("%s %s.png", bw_machine_get_name(w->machine), stamp);
    g_autofree char *path = g_build_filename(dir ? dir : g_get_home_dir(), name, NULL);
    control(w, "screenshot", path);
}

static const GActionEntry display_actions[] = {
    {.name = "ctrl-alt-del", .activate = action_cad},
    {.name = "ctrl-alt-backspace", .activate = action_cab},
    {.name = "ctrl-alt-fn", .activate = action_caf, .parameter_type = "u"},
    {.name = "fullscreen", .activate = action_fullscreen},
    {.name = "scale", .activate = action_scale, .state = "true"},
    {.name = "pause", .activate = action_control},
    {.name = "resume", .activate = action_control},
    {.name = "reset", .activate = action_control},
    {.name = "acpipowerbutton", .activate = action_control},
    {.name = "poweroff", .activate = action_control},
    {.name = "screenshot", .activate = action_screenshot},
};

/* ---- state ------------------------------------------------------------------------ */

static void update_state(BwDisplayWindow *w)
{
    BwMachineState s = bw_machine_get_state(w->machine);
    bool running = s == BW_MACHINE_STATE_RUNNING, paused = s == BW_MACHINE_STATE_PAUSED;
#define ENABLE(n, cond)                                                                    \
    g_simple_action_set_enabled(                                                           \
        G_SIMPLE_ACTION(g_action_map_lookup_action(G_ACTION_MAP(w), n)), cond)
    ENABLE("pause", running);
    ENABLE("resume", paused);
    ENABLE("reset", running);
    ENABLE("acpipowerbutton", running);
    ENABLE("poweroff", running || paused);
#undef ENABLE
    gtk_button_set_icon_name(GTK_BUTTON(w->pause_button),
                             paused ? "media-playback-start-symbolic"
                                    : "media-playback-pause-symbolic");
    gtk_actionable_set_action_name(GTK_ACTIONABLE(w->pause_button),
                                   paused ? "win.resume" : "win.pause");
    gtk_widget_set_tooltip_text(w->pause_button, paused ? _("Resume") : _("Pause"));
    if (running || paused || s == BW_MACHINE_STATE_STARTING) {
        gtk_stack_set_visible_child_name(w->stack, "screen");
        if (paused) {
            adw_window_title_set_subtitle(w->title, _("Paused"));
        } else if (!w->grabbed) {
            adw_window_title_set_subtitle(w->title, _("Click the screen to use it"));
        }
    } else {
        set_grab(w, false);
        adw_status_page_set_title(w->status, _("The Machine Is Not Running"));
        gtk_stack_set_visible_child_name(w->stack, "stopped");
        adw_window_title_set_subtitle(w->title, _("Powered off"));
    }
}

static void on_state(GObject *o, GParamSpec *p, BwDisplayWindow *w)
{
    update_state(w);
}

static void on_close_response(AdwMessageDialog *d, const char *response, BwDisplayWindow *w)
{
    if (g_str_equal(response, "cancel")) {
        return;
    }
    if (g_str_equal(response, "shutdown")) {
        control(w, "acpipowerbutton", NULL);
    } else if (g_str_equal(response, "poweroff")) {
        control(w, "poweroff", NULL);
    }
    w->closing_confirmed = true;
    gtk_window_close(GTK_WINDOW(w));
}

static gboolean on_close_request(GtkWindow *win, gpointer data)
{
    BwDisplayWindow *w = BW_DISPLAY_WINDOW(win);
    BwMachineState s = bw_machine_get_state(w->machine);
    if (w->closing_confirmed ||
        (s != BW_MACHINE_STATE_RUNNING && s != BW_MACHINE_STATE_PAUSED)) {
        return FALSE;
    }
    g_autofree char *heading = g_strdup_printf(_("Close “%s”?"), bw_machine_get_name(w->machine));
    GtkWidget *d = adw_message_dialog_new(
        win, heading,
        _("The machine can keep running in the background; open it again from the "
          "machine list."));
    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(d), "cancel", _("_Cancel"), "poweroff",
                                     _("_Power Off"), "shutdown", _("_Shut Down"), "keep",
                                     _("_Keep Running"), NULL);
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(d), "poweroff",
                                               ADW_RESPONSE_DESTRUCTIVE);
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(d), "keep",
                                               ADW_RESPONSE_SUGGESTED);
    adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(d), "keep");
    adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(d), "cancel");
    g_signal_connect(d, "response", G_CALLBACK(on_close_response), w);
    gtk_window_present(GTK_WINDOW(d));
    return TRUE;
}

/* ---- construction ------------------------------------------------------------------- */

static GtkWidget *build(BwDisplayWindow *w)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *header = adw_header_bar_new();
    w->title = ADW_WINDOW_TITLE(adw_window_title_new(bw_machine_get_name(w->machine), ""));
    adw_header_bar_set_title_widget(ADW_HEADER_BAR(header), GTK_WIDGET(w->title));

    w->pause_button = gtk_button_new_from_icon_name("media-playback-pause-symbolic");
    adw_header_bar_pack_start(ADW_HEADER_BAR(header), w->pause_button);

    GMenu *menu = g_menu_new();
    GMenu *keys = g_menu_new();
    g_menu_append(keys, _("Send Ctrl+Alt+_Del"), "win.ctrl-alt-del");
    g_menu_append(keys, _("Send Ctrl+Alt+_Backspace"), "win.ctrl-alt-backspace");
    g_menu_append(keys, _("Send Ctrl+Alt+F_1"), "win.ctrl-alt-fn(uint32 1)");
    g_menu_append(keys, _("Send Ctrl+Alt+F_2"), "win.ctrl-alt-fn(uint32 2)");
    g_menu_append(keys, _("Send Ctrl+Alt+F_7"), "win.ctrl-alt-fn(uint32 7)");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(keys));
    GMenu *view = g_menu_new();
    g_menu_append(view, _("_Scale to Window"), "win.scale");
    g_menu_append(view, _("_Fullscreen"), "win.fullscreen");
    g_menu_append(view, _("Take _Screenshot"), "win.screenshot");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(view));
    GMenu *power = g_menu_new();
    g_menu_append(power, _("Rese_t"), "win.reset");
    g_menu_append(power, _("Shut _Down"), "win.acpipowerbutton");
    g_menu_append(power, _("Power _Off"), "win.poweroff");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(power));
    GtkWidget *mb = gtk_menu_button_new();
    gtk_menu_button_set_icon_name(GTK_MENU_BUTTON(mb), "open-menu-symbolic");
    gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(mb), G_MENU_MODEL(menu));
    gtk_widget_set_tooltip_text(mb, _("Machine Menu"));
    adw_header_bar_pack_end(ADW_HEADER_BAR(header), mb);
    g_object_unref(keys);
    g_object_unref(view);
    g_object_unref(power);
    g_object_unref(menu);
    gtk_box_append(GTK_BOX(box), header);

    w->stack = GTK_STACK(gtk_stack_new());
    gtk_widget_set_vexpand(GTK_WIDGET(w->stack), TRUE);
    w->picture = GTK_PICTURE(gtk_picture_new());
    gtk_picture_set_can_shrink(w->picture, TRUE);
    gtk_picture_set_keep_aspect_ratio(w->picture, TRUE);
    gtk_widget_set_focusable(GTK_WIDGET(w->picture), TRUE);
    gtk_widget_add_css_class(GTK_WIDGET(w->picture), "boxwood-screen");
    GtkWidget *frame = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    gtk_widget_set_name(frame, "screen-frame");
    gtk_widget_set_hexpand(GTK_WIDGET(w->picture), TRUE);
    gtk_widget_set_vexpand(GTK_WIDGET(w->picture), TRUE);
    gtk_box_append(GTK_BOX(frame), GTK_WIDGET(w->picture));
    gtk_stack_add_named(w->stack, frame, "screen");

    w->status = ADW_STATUS_PAGE(adw_status_page_new());
    adw_status_page_set_icon_name(w->status, "computer-symbolic");
    gtk_stack_add_named(w->stack, GTK_WIDGET(w->status), "stopped");
    gtk_box_append(GTK_BOX(box), GTK_WIDGET(w->stack));

    GtkEventController *key = gtk_event_controller_key_new();
    g_signal_connect(key, "key-pressed", G_CALLBACK(on_key_pressed), w);
    g_signal_connect(key, "key-released", G_CALLBACK(on_key_released), w);
    gtk_widget_add_controller(GTK_WIDGET(w), key);
    GtkEventController *motion = gtk_event_controller_motion_new();
    g_signal_connect(motion, "motion", G_CALLBACK(on_motion), w);
    gtk_widget_add_controller(GTK_WIDGET(w->picture), motion);
    GtkGesture *click = gtk_gesture_click_new();
    gtk_gesture_single_set_button(GTK_GESTURE_SINGLE(click), 0);
    g_signal_connect(click, "pressed", G_CALLBACK(on_pressed), w);
    g_signal_connect(click, "released", G_CALLBACK(on_released), w);
    gtk_widget_add_controller(GTK_WIDGET(w->picture), GTK_EVENT_CONTROLLER(click));
    GtkEventController *scroll =
        gtk_event_controller_scroll_new(GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
    g_signal_connect(scroll, "scroll", G_CALLBACK(on_scroll), w);
    gtk_widget_add_controller(GTK_WIDGET(w->picture), scroll);
    return box;
}

static void bw_display_window_dispose(GObject *obj)
{
    BwDisplayWindow *w = BW_DISPLAY_WINDOW(obj);
    if (w->tick_id) {
        gtk_widget_remove_tick_callback(GTK_WIDGET(w), w->tick_id);
        w->tick_id = 0;
    }

    unmap_surface(w);
    g_clear_object(&w->console);
    if (w->conn) {
        g_dbus_connection_close(w->conn, NULL, NULL, NULL);
        g_clear_object(&w->conn);
    }
    g_clear_object(&w->machine);
    g_clear_weak_pointer(&w->manager);
    G_OBJECT_CLASS(bw_display_window_parent_class)->dispose(obj);
}

static void bw_display_window_class_init(BwDisplayWindowClass *klass)
{
    G_OBJECT_CLASS(klass)->dispose = bw_display_window_dispose;
}

static void bw_display_window_init(BwDisplayWindow *w)
{
    g_action_map_add_action_entries(G_ACTION_MAP(w), display_actions,
                                    G_N_ELEMENTS(display_actions), w);
    gtk_window_set_default_size(GTK_WINDOW(w), 1024, 800);
}

BwMachine *bw_display_window_get_machine(BwDisplayWindow *w)
{
    return w->machine;
}

BwDisplayWindow *bw_display_window_open(BwManagerWindow *manager, BwMachine *machine,
                                        GError **error)
{
    GtkApplication *app = gtk_window_get_application(GTK_WINDOW(manager));
    for (GList *l = gtk_application_get_windows(app); l; l = l->next) {
        if (BW_IS_DISPLAY_WINDOW(l->data) &&
            bw_display_window_get_machine(l->data) == machine) {
            gtk_window_present(l->data);
            return l->data;
        }
    }
    const char *address = bw_machine_get_runner_address(machine);
    if (!address) {
        g_set_error(error, BW_CLIENT_ERROR, BW_CLIENT_ERROR_INVALID_STATE,
                    _("“%s” is not running"), bw_machine_get_name(machine));
        return NULL;
    }
    GDBusConnection *conn = g_dbus_connection_new_for_address_sync(
        address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, error);
    if (!conn) {
        return NULL;
    }
    BwConsole1 *console = bw_console1_proxy_new_sync(conn, G_DBUS_PROXY_FLAGS_NONE, NULL,
                                                     RUNNER_PATH, NULL, error);
    if (!console) {
        g_object_unref(conn);
        return NULL;
    }
    BwDisplayWindow *w = g_object_new(BW_TYPE_DISPLAY_WINDOW, "application", app, NULL);
    g_set_weak_pointer(&w->manager, manager);
    w->machine = g_object_ref(machine);
    w->conn = conn;
    w->console = console;
    gtk_window_set_title(GTK_WINDOW(w), bw_machine_get_name(machine));
    adw_application_window_set_content(ADW_APPLICATION_WINDOW(w), build(w));
    g_signal_connect(console, "resized", G_CALLBACK(on_resized), w);
    g_signal_connect(console, "damage", G_CALLBACK(on_damage), w);
    g_signal_connect_object(machine, "notify::state", G_CALLBACK(on_state), w, 0);
    g_signal_connect(w, "close-request", G_CALLBACK(on_close_request), NULL);
    if (!map_surface(w, error)) {
        gtk_window_destroy(GTK_WINDOW(w));
        return NULL;
    }
    w->tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(w), on_tick, NULL, NULL);
    update_state(w);
    gtk_window_present(GTK_WINDOW(w));
    return w;
}
