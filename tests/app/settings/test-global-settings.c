/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Global settings (machine registry, default machine folder) against the real
 * VirtualBox.xml sample, plus the locations: BOXWOOD_USER_HOME, the runtime dir, log
 * rotation and the OS type table.
 */
#define G_LOG_DOMAIN "test-global-settings"
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "app/libboxwood/bw-settings.h"

#define GLOBAL_SAMPLE "00riddle00-VirtualBox.xml"

static char *home;

/* Never follows symlinks: the tests plant some that point outside their directory. */
static void rm_rf(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *n;

    while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(dir, n, NULL);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            rm_rf(p);
        } else {
            g_unlink(p);
        }
    }
    g_rmdir(dir);
}

static char *read_file(const char *path)
{
    char *data = NULL;

    g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
    return data;
}

static void test_sample(void)
{
    g_autofree char *p = g_build_filename(SETTINGS_DATA_DIR, GLOBAL_SAMPLE, NULL);
    g_autoptr(GError) err = NULL;
    BwGlobalSettings *g = bw_global_settings_load(p, &err);

    g_assert_no_error(err);
    GPtrArray *m = bw_global_settings_machines(g);
    g_assert_cmpuint(m->len, ==, 5);
    BwMachineEntry *e0 = g_ptr_array_index(m, 0);
    BwMachineEntry *e4 = g_ptr_array_index(m, 4);
    g_assert_cmpstr(e0->uuid, ==, "{c9091860-9d31-436e-9365-3203bdeb7f5c}");
    g_assert_cmpstr(e0->path, ==, "/home/riddle/VirtualBox VMs/VirtualBoxVMs_default_"
                                  "1464096994674_51263/VirtualBoxVMs_default_1464096994674_"
                                  "51263.vbox");
    g_assert_cmpstr(e4->uuid, ==, "{0232d814-a51e-4be3-9d2c-5ddc71647fab}");
    g_autofree char *folder = bw_global_settings_get_machine_folder(g);
    g_assert_cmpstr(folder, ==, "/home/riddle/VirtualBox VMs");
    bw_global_settings_free(g);
}

static void test_edit_keeps_unknown(void)
{
    g_autofree char *p = g_build_filename(SETTINGS_DATA_DIR, GLOBAL_SAMPLE, NULL);
    g_autofree char *data = read_file(p);
    g_autofree char *dst = g_build_filename(home, "edit", "VirtualBox.xml", NULL);
    g_autoptr(GError) err = NULL;
    BwGlobalSettings *g = bw_global_settings_load_from_data(data, strlen(data), dst, &err);

    g_assert_no_error(err);
    g_assert_true(bw_global_settings_add_machine(g, "{aaaaaaaa-9d31-436e-9365-3203bdeb7f5c}",
                                                 "/vms/a/a.vbox", &err));
    g_assert_no_error(err);
    /* Same UUID or same file again: refused. */
    g_assert_false(bw_global_settings_add_machine(g, "{AAAAAAAA-9d31-436e-9365-3203bdeb7f5c}",
                                                  "/vms/b/b.vbox", &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_EXISTS);
    g_clear_error(&err);
    g_assert_false(bw_global_settings_add_machine(g, "{bbbbbbbb-9d31-436e-9365-3203bdeb7f5c}",
                                                  "/vms/a/a.vbox", &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_EXISTS);
    g_clear_error(&err);
    g_assert_false(bw_global_settings_add_machine(g, "{cccccccc-9d31-436e-9365-3203bdeb7f5c}",
                                                  "relative.vbox", &err));
    g_clear_error(&err);
    g_assert_true(bw_global_settings_remove_machine(g, "{c418a567-a990-4a64-a341-d9e7a31452db}",
                                                    &err));
    g_assert_false(bw_global_settings_remove_machine(
        g, "{c418a567-a990-4a64-a341-d9e7a31452db}", &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_NOT_FOUND);
    g_clear_error(&err);
    bw_global_settings_set_machine_folder(g, "/srv/vms");
    g_assert_true(bw_global_settings_save(g, &err));
    g_assert_no_error(err);
    bw_global_settings_free(g);

    g_autofree char *text = read_file(dst);
    /* Unknown content survives. */
    g_assert_nonnull(strstr(text, "<DHCPServer networkName=\"HostInterfaceNetworking-vboxnet0\""));
    g_assert_nonnull(strstr(text, "HostOnly/vboxnet1/IPNetMask"));
    g_assert_nonnull(strstr(text, "exclusiveHwVirt=\"true\""));
    g_assert_nonnull(strstr(text, "version=\"1.12-linux\""));
    g_assert_null(strstr(text, "c418a567"));

    g = bw_global_settings_load(dst, &err);
    g_assert_no_error(err);
    GPtrArray *m = bw_global_settings_machines(g);
    g_assert_cmpuint(m->len, ==, 5);
    g_assert_cmpstr(((BwMachineEntry *)g_ptr_array_index(m, 4))->path, ==, "/vms/a/a.vbox");
    g_autofree char *folder = bw_global_settings_get_machine_folder(g);
    g_assert_cmpstr(folder, ==, "/srv/vms");
    bw_global_settings_set_machine_folder(g, "default");
    g_autofree char *def = bw_global_settings_get_machine_folder(g);
    g_autofree char *expect = bw_paths_default_machine_folder();
    g_assert_cmpstr(def, ==, expect);
    bw_global_settings_free(g);
}

static void test_user_home_and_new_file(void)
{
    g_autofree char *uh = g_build_filename(home, "userhome", NULL);
    g_autoptr(GError) err = NULL;

    g_setenv("BOXWOOD_USER_HOME", uh, TRUE);
    g_autofree char *h = bw_paths_user_home();
    g_assert_cmpstr(h, ==, uh);
    g_autofree char *gf = bw_paths_global_file();
    g_autofree char *expect = g_build_filename(uh, "Boxwood.xml", NULL);
    g_assert_cmpstr(gf, ==, expect);

    /* Missing file: an empty registry; saving creates the directory and the file. */
    BwGlobalSettings *g = bw_global_settings_load(NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(bw_global_settings_get_path(g), ==, expect);
    g_assert_cmpuint(bw_global_settings_machines(g)->len, ==, 0);
    g_assert_true(bw_global_settings_add_machine(g, "{aaaaaaaa-9d31-436e-9365-3203bdeb7f5c}",
                                                 "/vms/a/a.vbox", &err));
    g_assert_true(bw_global_settings_save(g, &err));
    g_assert_no_error(err);
    bw_global_settings_free(g);
    struct stat st;
    g_assert_cmpint(stat(uh, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0700);
    g_autofree char *text = read_file(expect);
    g_assert_true(g_str_has_prefix(text, "<?xml version=\"1.0\"?>\n<!--\n** DO NOT EDIT"));
    g_assert_nonnull(strstr(text, "    <MachineRegistry>\n      <MachineEntry uuid=\"{aaaaaaaa-"
                                  "9d31-436e-9365-3203bdeb7f5c}\" src=\"/vms/a/a.vbox\"/>\n"
                                  "    </MachineRegistry>\n"));
    g_unsetenv("BOXWOOD_USER_HOME");
}

static void test_relative_src_and_errors(void)
{
    const char *xml = "<VirtualBox xmlns=\"http://www.innotek.de/VirtualBox-settings\" "
                      "version=\"1.7-linux\"><Global><MachineRegistry>\n"
                      "<MachineEntry uuid=\"{aaaaaaaa-9d31-436e-9365-3203bdeb7f5c}\" "
                      "src=\"Machines/X/X.xml\"/></MachineRegistry></Global></VirtualBox>";
    g_autoptr(GError) err = NULL;
    BwGlobalSettings *g = bw_global_settings_load_from_data(xml, strlen(xml),
                                                            "/home/u/.VirtualBox/VirtualBox.xml",
                                                            &err);
    g_assert_no_error(err);
    BwMachineEntry *e = g_ptr_array_index(bw_global_settings_machines(g), 0);
    g_assert_cmpstr(e->path, ==, "/home/u/.VirtualBox/Machines/X/X.xml");
    bw_global_settings_free(g);

    static const char *bad[] = {
        "<VirtualBox version=\"1.12\"><Global><MachineRegistry>\n<MachineEntry src=\"/a\"/>"
        "</MachineRegistry></Global></VirtualBox>",
        "<VirtualBox version=\"1.12\"><Global><MachineRegistry>\n<MachineEntry uuid=\"{aaaaaaaa-"
        "9d31-436e-9365-3203bdeb7f5c}\"/></MachineRegistry></Global></VirtualBox>",
        "<VirtualBox version=\"1.12\">\n<Machine/></VirtualBox>",
        "<VirtualBox version=\"1.12\"><Global><MachineRegistry>"
        "<MachineEntry uuid=\"{aaaaaaaa-9d31-436e-9365-3203bdeb7f5c}\" src=\"/a\"/>\n"
        "<MachineEntry uuid=\"{aaaaaaaa-9d31-436e-9365-3203bdeb7f5c}\" src=\"/b\"/>"
        "</MachineRegistry></Global></VirtualBox>",
        "<Global/>",
        "<VirtualBox version=\"1.12\"><Global>",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_error(&err);
        g = bw_global_settings_load_from_data(bad[i], strlen(bad[i]), "/etc/x.xml", &err);
        g_assert_null(g);
        g_assert_nonnull(err);
        g_assert_true(g_str_has_prefix(err->message, "/etc/x.xml:"));
    }
}

static void test_runtime_dir(void)
{
    g_autofree char *rt = g_build_filename(home, "run", NULL);
    g_autoptr(GError) err = NULL;
    struct stat st;

    g_assert_cmpint(g_mkdir(rt, 0755), ==, 0);
    g_setenv("XDG_RUNTIME_DIR", rt, TRUE);
    g_autofree char *d = bw_paths_runtime_dir(&err);
    g_assert_no_error(err);
    g_autofree char *expect = g_build_filename(rt, "boxwood", NULL);
    g_assert_cmpstr(d, ==, expect);
    g_assert_cmpint(lstat(d, &st), ==, 0);
    g_assert_true(S_ISDIR(st.st_mode));
    g_assert_cmpint(st.st_mode & 0777, ==, 0700);
    /* A loosened mode is tightened again. */
    g_assert_cmpint(chmod(d, 0755), ==, 0);
    g_autofree char *d2 = bw_paths_runtime_dir(&err);
    g_assert_no_error(err);
    g_assert_cmpint(stat(d2, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0700);
    /* A symlink planted in its place is refused. */
    g_autofree char *rt2 = g_build_filename(home, "run2", NULL);
    g_assert_cmpint(g_mkdir(rt2, 0700), ==, 0);
    g_autofree char *link = g_build_filename(rt2, "boxwood", NULL);
    g_assert_cmpint(symlink(home, link), ==, 0);
    g_setenv("XDG_RUNTIME_DIR", rt2, TRUE);
    g_assert_null(bw_paths_runtime_dir(&err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO);
    g_unsetenv("XDG_RUNTIME_DIR");
}

static void test_logs_rotate(void)
{
    g_autofree char *logs = g_build_filename(home, "vm", "Logs", NULL);
    g_autoptr(GError) err = NULL;

    for (int i = 0; i < 5; i++) {
        g_assert_true(bw_logs_rotate(logs, "VBox.log", 3, &err));
        g_assert_no_error(err);
        g_autofree char *p = g_build_filename(logs, "VBox.log", NULL);
        g_autofree char *content = g_strdup_printf("run %d", i);
        g_assert_true(g_file_set_contents(p, content, -1, NULL));
    }
    /* Runs 4 (current), 3, 2, 1; run 0 dropped. */
    static const char *names[] = { "VBox.log", "VBox.log.1", "VBox.log.2", "VBox.log.3" };
    for (int i = 0; i < 4; i++) {
        g_autofree char *p = g_build_filename(logs, names[i], NULL);
        g_autofree char *c = read_file(p);
        g_autofree char *expect = g_strdup_printf("run %d", 4 - i);
        g_assert_cmpstr(c, ==, expect);
    }
    g_autofree char *p4 = g_build_filename(logs, "VBox.log.4", NULL);
    g_assert_false(g_file_test(p4, G_FILE_TEST_EXISTS));
}

static void test_os_types(void)
{
    static const char *ids[] = { "Other", "Other_64", "Linux", "Linux_64", "Debian",
                                 "Debian_64", "Ubuntu_64", "Fedora_64", "ArchLinux_64",
                                 "OpenSUSE_64", "RedHat_64", "Windows10_64", "Windows11_64",
                                 "Windows7", "Windows7_64", "WindowsXP", "FreeBSD_64", "DOS" };
    size_t n = 0;
    const BwOsType *all = bw_os_types(&n);

    g_assert_cmpuint(n, >=, G_N_ELEMENTS(ids));
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        const BwOsType *t = bw_os_type_find(ids[i]);
        g_assert_nonnull(t);
        g_assert_cmpstr(t->id, ==, ids[i]);
        g_assert_cmpuint(t->memory_mb, >=, 32);
        g_assert_cmpuint(t->disk_gb, >=, 1);
        g_assert_true(t->is_64bit == (strstr(ids[i], "_64") != NULL));
    }
    for (size_t i = 0; i < n; i++) {
        g_assert_nonnull(all[i].description);
        g_assert_nonnull(all[i].family);
    }
    g_assert_true(bw_os_type_find("debian_64") == bw_os_type_find("Debian_64"));
    g_assert_true(bw_os_type_find("Windows11_64")->efi);
    g_assert_null(bw_os_type_find("Plan9"));
    g_assert_null(bw_os_type_find(NULL));
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    home = g_dir_make_tmp("bw-global-XXXXXX", NULL);
    g_test_add_func("/settings/global/sample", test_sample);
    g_test_add_func("/settings/global/edit-keeps-unknown", test_edit_keeps_unknown);
    g_test_add_func("/settings/global/user-home-new-file", test_user_home_and_new_file);
    g_test_add_func("/settings/global/relative-src-and-errors", test_relative_src_and_errors);
    g_test_add_func("/settings/paths/runtime-dir", test_runtime_dir);
    g_test_add_func("/settings/paths/logs-rotate", test_logs_rotate);
    g_test_add_func("/settings/os-types", test_os_types);
    rc = g_test_run();
    rm_rf(home);
    g_free(home);
    return rc;
}
