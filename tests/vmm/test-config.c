/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "vmm/config.h"

static void test_paths(void)
{
    g_autoptr(VmmCfgNode) root = vmm_cfg_new();
    VmmCfgNode *n = vmm_cfg_ensure_child(root, "Devices/serial/0/Config");

    g_assert_nonnull(n);
    g_assert_true(vmm_cfg_get_child(root, "Devices/serial/0/Config") == n);
    g_assert_true(vmm_cfg_get_child(root, "/Devices//serial/0/Config/") == n);
    g_assert_null(vmm_cfg_get_child(root, "Devices/serial/1"));
    g_assert_cmpstr(vmm_cfg_node_name(n), ==, "Config");

    vmm_cfg_ensure_child(root, "Devices/rtc");
    VmmCfgNode *devs = vmm_cfg_get_child(root, "Devices");
    VmmCfgNode *c = vmm_cfg_first_child(devs);
    g_assert_cmpstr(vmm_cfg_node_name(c), ==, "serial");
    c = vmm_cfg_next_sibling(c);
    g_assert_cmpstr(vmm_cfg_node_name(c), ==, "rtc");
    g_assert_null(vmm_cfg_next_sibling(c));
}

static void test_values(void)
{
    g_autoptr(VmmCfgNode) root = vmm_cfg_new();
    g_autoptr(GError) err = NULL;
    uint64_t v = 7;
    const char *s = NULL;

    vmm_cfg_set_int(root, "iobase", 0x3f8);
    vmm_cfg_set_string(root, "backend", "stdio");
    g_assert_true(vmm_cfg_get_int(root, "iobase", &v, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(v, ==, 0x3f8);
    g_assert_true(vmm_cfg_get_string(root, "backend", &s, &err));
    g_assert_cmpstr(s, ==, "stdio");

    /* Wrong type is an error, not a silent default. */
    g_assert_false(vmm_cfg_get_int(root, "backend", &v, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpuint(vmm_cfg_int_or(root, "backend", 5), ==, 5);
    g_assert_false(vmm_cfg_get_int(root, "missing", &v, &err));
    g_assert_no_error(err);

    /* Overwrite changes type. */
    vmm_cfg_set_int(root, "backend", 1);
    g_assert_cmpuint(vmm_cfg_int_or(root, "backend", 0), ==, 1);
    g_assert_cmpuint(vmm_cfg_n_values(root), ==, 2);
    g_assert_cmpstr(vmm_cfg_value_key(root, 1), ==, "backend");

    g_autoptr(GString) dump = g_string_new(NULL);
    vmm_cfg_dump(root, dump);
    g_assert_nonnull(strstr(dump->str, "iobase = 1016 (0x3f8)"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmm/config/paths", test_paths);
    g_test_add_func("/vmm/config/values", test_values);
    return g_test_run();
}
