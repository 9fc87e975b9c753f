/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the settings loader (.vbox and the global file). The first byte
 * picks how the input is used: 0 the input is a machine file; 1 a global file; 2 byte
 * patches (offset lo, offset hi, value) on a valid machine file with a snapshot,
 * differencing disk, NICs and controllers; 3 the input spliced into that file at an
 * offset given by its first two bytes. Nothing may crash or leak, and whatever loads
 * must save and load again with the same view (the save/reload invariant), also after
 * typical edits.
 */
#define G_LOG_DOMAIN "fuzz-settings"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "app/libboxwood/bw-settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char template_vbox[] =
    "<?xml version=\"1.0\"?>\n"
    "<VirtualBox xmlns=\"http://www.virtualbox.org/\" version=\"1.16-linux\">\n"
    "  <Machine uuid=\"{2b0d56c6-75a2-4456-895e-f074b77ecbd1}\" name=\"F\" OSType=\"Debian_64\""
    " currentSnapshot=\"{421f408c-9fe6-4544-8a1f-7dab078a2e52}\">\n"
    "    <MediaRegistry>\n"
    "      <HardDisks>\n"
    "        <HardDisk uuid=\"{3febde4a-e4d0-4744-9728-3abd5e1d3788}\" location=\"F.vdi\""
    " format=\"VDI\" type=\"Normal\">\n"
    "          <HardDisk uuid=\"{09c1c225-f8fc-485e-a40a-00b3f8b34fc0}\" location=\"S/a.vdi\""
    " format=\"VDI\"/>\n"
    "        </HardDisk>\n"
    "      </HardDisks>\n"
    "      <DVDImages>\n"
    "        <Image uuid=\"{1436a392-35a6-491e-a882-16a1b7a69d0d}\" location=\"C:/x.iso\"/>\n"
    "      </DVDImages>\n"
    "    </MediaRegistry>\n"
    "    <ExtraData>\n"
    "      <ExtraDataItem name=\"GUI/A\" value=\"1\"/>\n"
    "    </ExtraData>\n"
    "    <Snapshot uuid=\"{421f408c-9fe6-4544-8a1f-7dab078a2e52}\" name=\"s\" timeStamp=\"t\">\n"
    "      <Hardware><Memory RAMSize=\"512\"/></Hardware>\n"
    "      <StorageControllers>\n"
    "        <StorageController name=\"SATA\" type=\"AHCI\" PortCount=\"1\">\n"
    "          <AttachedDevice type=\"HardDisk\" port=\"0\" device=\"0\">\n"
    "            <Image uuid=\"{3febde4a-e4d0-4744-9728-3abd5e1d3788}\"/>\n"
    "          </AttachedDevice>\n"
    "        </StorageController>\n"
    "      </StorageControllers>\n"
    "    </Snapshot>\n"
    "    <Hardware>\n"
    "      <CPU count=\"2\"><PAE enabled=\"false\"/><LongMode enabled=\"true\"/></CPU>\n"
    "      <Memory RAMSize=\"2048\"/>\n"
    "      <Firmware type=\"EFI\"/>\n"
    "      <Boot><Order position=\"1\" device=\"HardDisk\"/></Boot>\n"
    "      <Display controller=\"VMSVGA\" VRAMSize=\"30\" monitorCount=\"1\"/>\n"
    "      <USB><Controllers><Controller name=\"OHCI\" type=\"OHCI\"/></Controllers></USB>\n"
    "      <Network>\n"
    "        <Adapter slot=\"0\" enabled=\"true\" MACAddress=\"080027CF22CB\" type=\"82540EM\">\n"
    "          <NAT><Forwarding name=\"ssh\" proto=\"1\" hostport=\"2222\" guestport=\"22\"/></NAT>\n"
    "        </Adapter>\n"
    "        <Adapter slot=\"1\" enabled=\"true\"><BridgedInterface name=\"eth0\"/></Adapter>\n"
    "      </Network>\n"
    "      <UART><Port slot=\"0\" enabled=\"true\" IOBase=\"0x3f8\" IRQ=\"4\" hostMode=\"RawFile\""
    " path=\"/tmp/s\"/></UART>\n"
    "      <AudioAdapter driver=\"WAS\" enabled=\"true\"/>\n"
    "      <RTC localOrUTC=\"UTC\"/>\n"
    "    </Hardware>\n"
    "    <StorageControllers>\n"
    "      <StorageController name=\"IDE\" type=\"PIIX4\" PortCount=\"2\">\n"
    "        <AttachedDevice passthrough=\"false\" type=\"DVD\" port=\"1\" device=\"0\">\n"
    "          <Image uuid=\"{1436a392-35a6-491e-a882-16a1b7a69d0d}\"/>\n"
    "        </AttachedDevice>\n"
    "      </StorageController>\n"
    "      <StorageController name=\"SATA\" type=\"AHCI\" PortCount=\"1\">\n"
    "        <AttachedDevice type=\"HardDisk\" port=\"0\" device=\"0\">\n"
    "          <Image uuid=\"{09c1c225-f8fc-485e-a40a-00b3f8b34fc0}\"/>\n"
    "        </AttachedDevice>\n"
    "      </StorageController>\n"
    "    </StorageControllers>\n"
    "  </Machine>\n"
    "</VirtualBox>\n";

#define PATH "/fuzz/machine/F.vbox"

static void check_same_view(BwMachineConfig *a, BwMachineConfig *b)
{
    if (g_strcmp0(a->uuid, b->uuid) != 0 || g_strcmp0(a->name, b->name) != 0 ||
        a->memory_mb != b->memory_mb || a->cpus != b->cpus ||
        a->controllers->len != b->controllers->len || a->media->len != b->media->len ||
        a->snapshot_count != b->snapshot_count || a->firmware != b->firmware ||
        memcmp(a->boot, b->boot, sizeof(a->boot)) != 0 ||
        a->extra_data->len != b->extra_data->len) {
        g_error("the view changed across save and reload");
    }
    for (unsigned i = 0; i < BW_MAX_NICS; i++) {
        if (a->nics[i].enabled != b->nics[i].enabled ||
            g_strcmp0(a->nics[i].attachment, b->nics[i].attachment) != 0) {
            g_error("NIC %u changed across save and reload", i);
        }
    }
}

static BwMachineSettings *save_and_reload(BwMachineSettings *s)
{
    g_autoptr(GError) err = NULL;
    size_t len = 0;
    g_autofree char *out = bw_machine_settings_to_data(s, &len, &err);

    if (out == NULL) {
        return NULL; /* the view was refused (e.g. an edit made it invalid): fine */
    }
    BwMachineSettings *again = bw_machine_settings_load_from_data(out, len, PATH, &err);
    if (again == NULL) {
        g_error("a saved file does not load again: %s", err->message);
    }
    check_same_view(bw_machine_settings_config(s), bw_machine_settings_config(again));
    return again;
}

static void exercise_machine(const char *data, size_t len)
{
    g_autoptr(GError) err = NULL;
    BwMachineSettings *s = bw_machine_settings_load_from_data(data, len, PATH, &err);

    if (s == NULL) {
        if (err == NULL || err->domain != BW_SETTINGS_ERROR || err->message == NULL ||
            !g_str_has_prefix(err->message, PATH)) {
            g_error("a failed load must say which file");
        }
        return;
    }
    BwMachineSettings *again = save_and_reload(s);
    bw_machine_settings_free(again);

    /* Typical edits: memory, CPUs, a NIC, a controller with an empty DVD drive. */
    BwMachineConfig *c = bw_machine_settings_config(s);
    c->memory_mb = 1024;
    c->cpus = 3;
    c->nics[2].enabled = true;
    g_free(c->nics[2].attachment);
    c->nics[2].attachment = g_strdup("intnet");
    c->nics[2].attachment_name = g_strdup("fuzznet");
    if (bw_machine_config_find_controller(c, "FuzzCtl") == NULL) {
        BwStorageController *sc = bw_machine_config_add_controller(c, "FuzzCtl", "AHCI", 4);
        bw_storage_controller_attach(sc, BW_DEVICE_DVD, 3, 0, NULL);
    }
    if (c->media->len > 0) {
        g_ptr_array_remove_index(c->extra_data->len >= 2 ? c->extra_data : c->media, 0);
    }
    again = save_and_reload(s);
    if (again != NULL) {
        BwMachineConfig *a = bw_machine_settings_config(again);
        if (a->memory_mb != 1024 || a->cpus != 3 || !a->nics[2].enabled ||
            g_strcmp0(a->nics[2].attachment_name, "fuzznet") != 0 ||
            bw_machine_config_find_controller(a, "FuzzCtl") == NULL) {
            g_error("an edit was lost");
        }
        bw_machine_settings_free(again);
    }
    bw_machine_settings_free(s);
}

static void exercise_global(const char *data, size_t len)
{
    g_autoptr(GError) err = NULL;
    BwGlobalSettings *g = bw_global_settings_load_from_data(data, len, "/fuzz/Boxwood.xml", &err);

    if (g == NULL) {
        return;
    }
    g_free(bw_global_settings_get_machine_folder(g));
    bw_global_settings_set_machine_folder(g, "/fuzz/vms");
    if (!bw_global_settings_add_machine(g, "{aaaaaaaa-9d31-436e-9365-3203bdeb7f5c}",
                                        "/fuzz/a.vbox", NULL)) {
        /* already there: fine */
    }
    GPtrArray *m = bw_global_settings_machines(g);
    if (m->len > 0) {
        BwMachineEntry *e = g_ptr_array_index(m, 0);
        g_autofree char *uuid = g_strdup(e->uuid);
        if (!bw_global_settings_remove_machine(g, uuid, NULL)) {
            g_error("a listed machine cannot be removed");
        }
    }
    bw_global_settings_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t mode = data[0] % 4;
    data++;
    size--;

    if (mode == 0) {
        exercise_machine((const char *)data, size);
    } else if (mode == 1) {
        exercise_global((const char *)data, size);
    } else if (mode == 2) {
        g_autofree char *file = g_memdup2(template_vbox, sizeof(template_vbox));
        size_t tlen = sizeof(template_vbox) - 1;
        for (size_t i = 0; i + 3 <= size; i += 3) {
            size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % tlen;
            file[off] = (char)data[i + 2];
        }
        exercise_machine(file, tlen);
    } else {
        size_t tlen = sizeof(template_vbox) - 1;
        size_t at = size >= 2 ? ((size_t)data[0] | (size_t)data[1] << 8) % tlen : 0;
        const uint8_t *ins = size >= 2 ? data + 2 : data;
        size_t ins_len = size >= 2 ? size - 2 : size;
        GString *s = g_string_new_len(template_vbox, (gssize)at);
        g_string_append_len(s, (const char *)ins, (gssize)ins_len);
        g_string_append_len(s, template_vbox + at, (gssize)(tlen - at));
        exercise_machine(s->str, s->len);
        g_string_free(s, TRUE);
    }
    return 0;
}
