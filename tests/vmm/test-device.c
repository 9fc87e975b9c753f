/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "vmm/machine.h"

typedef struct {
    VmmDevice parent;
    uint16_t iobase;
    uint8_t irq;
    bool flag;
    char *name;
    int resets;
} TestDev;

static const VmmPropDesc test_props[] = {
    VMM_PROP_INT(VMM_PROP_U16, "iobase", TestDev, iobase, 0x3f8, 0, 0, "I/O port base"),
    VMM_PROP_INT(VMM_PROP_U8, "irq", TestDev, irq, 4, 0, 15, "ISA IRQ"),
    VMM_PROP_INT(VMM_PROP_BOOL, "flag", TestDev, flag, 0, 0, 0, NULL),
    VMM_PROP_STR("name", TestDev, name, "dflt", NULL),
    VMM_PROP_END,
};

static bool test_realize(VmmDevice *dev, GError **error)
{
    TestDev *t = (TestDev *)dev;
    if (t->iobase == 0xdead) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "refused");
        return false;
    }
    return true;
}

static void test_reset(VmmDevice *dev)
{
    ((TestDev *)dev)->resets++;
}

static const VmmDeviceType test_type = {
    .name = "testdev",
    .instance_size = sizeof(TestDev),
    .props = test_props,
    .realize = test_realize,
    .reset = test_reset,
};

static void test_props_defaults_and_values(void)
{
    VmmMachine *m = vmm_machine_new_fake();
    g_autoptr(VmmCfgNode) cfg = vmm_cfg_new();
    g_autoptr(GError) err = NULL;

    TestDev *a = (TestDev *)vmm_device_create(m, &test_type, "a", NULL, &err);
    g_assert_no_error(err);
    g_assert_cmphex(a->iobase, ==, 0x3f8);
    g_assert_cmpuint(a->irq, ==, 4);
    g_assert_cmpstr(a->name, ==, "dflt");

    VmmCfgNode *bc = vmm_cfg_ensure_child(cfg, "b");
    vmm_cfg_set_int(bc, "iobase", 0x2f8);
    vmm_cfg_set_int(bc, "irq", 3);
    vmm_cfg_set_int(bc, "flag", 1);
    vmm_cfg_set_string(bc, "name", "com2");
    TestDev *b = (TestDev *)vmm_device_create(m, &test_type, "b", bc, &err);
    g_assert_no_error(err);
    g_assert_cmphex(b->iobase, ==, 0x2f8);
    g_assert_true(b->flag);
    g_assert_cmpstr(b->name, ==, "com2");
    g_assert_true(vmm_device_find(m, "b") == &b->parent);

    /* Duplicate id, out of range, wrong type, unknown key, realize failure. */
    g_assert_null(vmm_device_create(m, &test_type, "b", NULL, &err));
    g_clear_error(&err);
    VmmCfgNode *bad = vmm_cfg_ensure_child(cfg, "bad");
    vmm_cfg_set_int(bad, "irq", 16);
    g_assert_null(vmm_device_create(m, &test_type, "c", bad, &err));
    g_assert_nonnull(strstr(err->message, "out of range"));
    g_clear_error(&err);
    vmm_cfg_set_string(bad, "irq", "four");
    g_assert_null(vmm_device_create(m, &test_type, "c", bad, &err));
    g_clear_error(&err);
    VmmCfgNode *typo = vmm_cfg_ensure_child(cfg, "typo");
    vmm_cfg_set_int(typo, "iobsae", 1);
    g_assert_null(vmm_device_create(m, &test_type, "c", typo, &err));
    g_assert_nonnull(strstr(err->message, "iobsae"));
    g_clear_error(&err);
    VmmCfgNode *refuse = vmm_cfg_ensure_child(cfg, "refuse");
    vmm_cfg_set_int(refuse, "iobase", 0xdead);
    g_assert_null(vmm_device_create(m, &test_type, "c", refuse, &err));
    g_clear_error(&err);
    g_assert_null(vmm_device_find(m, "c"));

    vmm_machine_reset(m);
    g_assert_cmpint(a->resets, ==, 1);
    g_assert_cmpint(b->resets, ==, 1);
    vmm_machine_free(m);
}

static void test_requests_recorded(void)
{
    VmmMachine *m = vmm_machine_new_fake();
    vmm_machine_request(m, VMM_REQ_RESET, "first");
    g_assert_cmpint(m->pending, ==, VMM_REQ_RESET);
    vmm_machine_request_exit(m, 7, "exit");
    g_assert_cmpint(m->pending, ==, VMM_REQ_TEST_EXIT);
    g_assert_cmpint(m->exit_code, ==, 7);
    /* A milder request does not replace a more severe one. */
    vmm_machine_request(m, VMM_REQ_RESET, "later");
    g_assert_cmpstr(m->pending_detail, ==, "exit");
    vmm_irq_pulse(m, 4);
    g_assert_cmpuint(m->irq_raise_count[4], ==, 1);
    g_assert_false(m->irq_level[4]);
    vmm_irq_set_level(m, 99, true); /* ignored, logged */
    vmm_msi_send(m, 0xfee00000, 0x41);
    g_assert_cmpuint(m->msi_count, ==, 1);
    vmm_machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmm/device/props", test_props_defaults_and_values);
    g_test_add_func("/vmm/device/requests", test_requests_recorded);
    return g_test_run();
}
