/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Debug console (0x402) and test-exit port (0x501) on a fake machine. */
#define G_LOG_DOMAIN "test-debugcon"
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "devices/misc/debugcon.h"
#include "devices/misc/testexit.h"
#include "vmm/machine.h"

#define G_LOG_DOMAIN_TESTEXIT "testexit"

static void test_debugcon_readback_and_output(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("bw-debugcon-XXXXXX", &err);
    g_autofree char *path = NULL;
    g_autofree char *spec = NULL;
    g_autofree char *contents = NULL;
    VmmMachine *m = vmm_machine_new_fake();
    VmmCfgNode *cfg = vmm_cfg_new();

    g_assert_no_error(err);
    path = g_build_filename(dir, "debug.log", NULL);
    spec = g_strdup_printf("file:%s", path);
    vmm_cfg_set_string(cfg, "backend", spec);
    g_assert_nonnull(vmm_device_create(m, &debugcon_type, "debugcon", cfg, &err));
    g_assert_no_error(err);

    /* SeaBIOS only logs here once inb(0x402) reads 0xE9. */
    g_assert_cmphex(vmm_bus_read_val(m->pio, 0x402, 1), ==, 0xe9);
    g_assert_cmphex(vmm_bus_read_val(m->pio, 0x401, 1), ==, 0xff); /* not ours */
    for (const char *p = "SeaBIOS (version 1.16.2)\n"; *p != '\0'; p++) {
        vmm_bus_write_val(m->pio, 0x402, (uint8_t)*p, 1);
    }
    g_file_get_contents(path, &contents, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(contents, ==, "SeaBIOS (version 1.16.2)\n");

    vmm_machine_free(m);
    vmm_cfg_free(cfg);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_debugcon_other_port(void)
{
    g_autoptr(GError) err = NULL;
    VmmMachine *m = vmm_machine_new_fake();
    VmmCfgNode *cfg = vmm_cfg_new();

    vmm_cfg_set_int(cfg, "iobase", 0xe9);
    g_assert_nonnull(vmm_device_create(m, &debugcon_type, "e9", cfg, &err));
    g_assert_no_error(err);
    g_assert_cmphex(vmm_bus_read_val(m->pio, 0xe9, 1), ==, 0xe9);
    g_assert_cmphex(vmm_bus_read_val(m->pio, 0x402, 1), ==, 0xff);
    vmm_machine_free(m);
    vmm_cfg_free(cfg);
}

static void test_testexit(void)
{
    static const struct {
        unsigned size;
        uint64_t value;
        int code;
    } cases[] = {
        {1, 0x00, 0},
        {1, 0x2a, 42},
        {2, 0x1234, 0x34},
        {4, 0xdeadbe01, 0x01},
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        VmmMachine *m = vmm_machine_new_fake();

        g_assert_nonnull(vmm_device_create(m, &testexit_type, "testexit", NULL, &err));
        g_assert_no_error(err);
        g_assert_cmpint(m->pending, ==, VMM_REQ_NONE);
        vmm_bus_write_val(m->pio, 0x501, cases[i].value, cases[i].size);
        g_assert_cmpint(m->pending, ==, VMM_REQ_TEST_EXIT);
        g_assert_cmpint(m->exit_code, ==, cases[i].code);
        g_assert_cmpstr(m->pending_detail, ==, "test-exit port");
        vmm_machine_free(m);
    }
}

static void test_testexit_other_offsets(void)
{
    g_autoptr(GError) err = NULL;
    VmmMachine *m = vmm_machine_new_fake();

    g_assert_nonnull(vmm_device_create(m, &testexit_type, "testexit", NULL, &err));
    g_assert_no_error(err);
    /* Reads and writes to the other three ports do nothing (the write is logged). */
    g_test_expect_message(G_LOG_DOMAIN_TESTEXIT, G_LOG_LEVEL_MESSAGE, "*0x503*");
    vmm_bus_write_val(m->pio, 0x503, 7, 1);
    g_test_assert_expected_messages();
    g_assert_cmpint(m->pending, ==, VMM_REQ_NONE);
    (void)vmm_bus_read_val(m->pio, 0x501, 1);
    g_assert_cmpint(m->pending, ==, VMM_REQ_NONE);
    vmm_machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/debugcon/readback-and-output", test_debugcon_readback_and_output);
    g_test_add_func("/debugcon/other-port", test_debugcon_other_port);
    g_test_add_func("/testexit/codes", test_testexit);
    g_test_add_func("/testexit/other-offsets", test_testexit_other_offsets);
    return g_test_run();
}
