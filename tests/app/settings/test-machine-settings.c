/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Machine settings: the real VirtualBox samples read into the right typed view (values
 * checked by hand against the .vbox files in data/), saved without loss, changed precisely, version
 * upgrades backed up, hostile files refused with the file and line, crash-safe writes.
 */
#define G_LOG_DOMAIN "test-machine-settings"
#include <glib.h>
#include <glib/gstdio.h>
#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>
#include <sys/stat.h>

#include "app/libboxwood/bw-settings.h"

#define DEBIAN "jocokad-debian-1snap.vbox"
#define SAVED "joelfernandes03-ubuntu-savedstate.vbox"
#define OHCI "shaochenzhang-ubuntu-ohci-ehci.vbox"

static char *sample_path(const char *name)
{
    return g_build_filename(SETTINGS_DATA_DIR, name, NULL);
}

static BwMachineSettings *load_sample(const char *name)
{
    g_autofree char *p = sample_path(name);
    g_autoptr(GError) err = NULL;
    BwMachineSettings *s = bw_machine_settings_load(p, &err);

    g_assert_no_error(err);
    g_assert_nonnull(s);
    return s;
}

static char *read_file(const char *path)
{
    char *data = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_true(g_file_get_contents(path, &data, NULL, &err));
    g_assert_no_error(err);
    return data;
}

/* Copies a sample into a fresh temp dir as <dest>; returns the new path. */
static char *copy_sample(const char *name, const char *dest, char **dir_out)
{
    g_autofree char *src = sample_path(name);
    g_autofree char *data = read_file(src);
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp("bw-settings-XXXXXX", &err);
    char *path;

    g_assert_no_error(err);
    path = g_build_filename(dir, dest, NULL);
    g_assert_true(g_file_set_contents(path, data, -1, &err));
    *dir_out = dir;
    return path;
}

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

static char *canonical(const char *data, size_t len)
{
    xmlDoc *doc = xmlReadMemory(data, (int)len, NULL, NULL, XML_PARSE_NONET);
    xmlChar *out = NULL;
    char *ret;

    g_assert_nonnull(doc);
    g_assert_cmpint(xmlC14NDocDumpMemory(doc, NULL, XML_C14N_1_0, NULL, 1, &out), >, 0);
    ret = g_strdup((const char *)out);
    xmlFree(out);
    xmlFreeDoc(doc);
    return ret;
}

/* Every attribute and non-blank text as "path@attr=value", elements numbered per name. */
static void collect(xmlNode *n, const char *prefix, GHashTable *set)
{
    GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, NULL);

    for (xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            unsigned k = GPOINTER_TO_UINT(g_hash_table_lookup(counts, c->name));
            g_hash_table_insert(counts, (gpointer)c->name, GUINT_TO_POINTER(k + 1));
            g_autofree char *p = g_strdup_printf("%s/%s[%u]", prefix, c->name, k);
            g_hash_table_add(set, g_strdup(p));
            for (xmlAttr *a = c->properties; a != NULL; a = a->next) {
                xmlChar *v = xmlNodeGetContent((xmlNode *)a);
                g_hash_table_add(set, g_strdup_printf("%s@%s=%s", p, a->name, v));
                xmlFree(v);
            }
            collect(c, p, set);
        } else if ((c->type == XML_TEXT_NODE && !xmlIsBlankNode(c)) ||
                   c->type == XML_COMMENT_NODE) {
            g_hash_table_add(set, g_strdup_printf("%s#%s", prefix, c->content));
        }
    }
    g_hash_table_unref(counts);
}

static GHashTable *items_of(const char *data)
{
    xmlDoc *doc = xmlReadMemory(data, (int)strlen(data), NULL, NULL, XML_PARSE_NONET);
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    g_assert_nonnull(doc);
    collect((xmlNode *)doc, "", set);
    xmlFreeDoc(doc);
    return set;
}

static int cmp_strp(gconstpointer a, gconstpointer b, gpointer unused)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *diff_lines(GHashTable *a, GHashTable *b)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    GString *s = g_string_new(NULL);

    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        if (!g_hash_table_contains(b, k)) {
            g_ptr_array_add(out, k);
        }
    }
    g_qsort_with_data(out->pdata, (gint)out->len, sizeof(char *), cmp_strp, NULL);
    for (guint i = 0; i < out->len; i++) {
        g_string_append_printf(s, "%s\n", (char *)g_ptr_array_index(out, i));
    }
    g_ptr_array_unref(out);
    return g_string_free(s, FALSE);
}

/* ---- the samples, read by hand ------------------------------------------------------ */

static void test_sample_debian_snapshot(void)
{
    BwMachineSettings *s = load_sample(DEBIAN);
    BwMachineConfig *c = bw_machine_settings_config(s);
    const char *folder = bw_machine_settings_get_folder(s);

    g_assert_cmpstr(bw_machine_settings_get_version(s), ==, "1.19-windows");
    g_assert_cmpstr(c->name, ==, "Debian");
    g_assert_cmpstr(c->uuid, ==, "{2b0d56c6-75a2-4456-895e-f074b77ecbd1}");
    g_assert_cmpstr(c->os_type, ==, "Debian_64");
    g_assert_cmpuint(c->memory_mb, ==, 2048);
    g_assert_cmpuint(c->cpus, ==, 2);
    g_assert_cmpuint(c->vram_mb, ==, 30);
    g_assert_cmpstr(c->graphics_controller, ==, "VMSVGA");
    g_assert_cmpint(c->firmware, ==, BW_FIRMWARE_BIOS);
    g_assert_true(c->ioapic);
    g_assert_false(c->pae);
    g_assert_true(c->long_mode);
    g_assert_true(c->large_pages);
    g_assert_true(c->rtc_utc);
    g_assert_cmpstr(c->pointing, ==, "USBTablet");
    g_assert_true(c->usb_ohci);
    g_assert_true(c->usb_ehci);
    g_assert_false(c->usb_xhci);
    g_assert_true(c->audio_enabled);
    g_assert_cmpstr(c->audio_driver, ==, "WAS"); /* kept as read */
    g_assert_true(c->audio_out);
    g_assert_false(c->audio_in);
    /* No <Boot>: VirtualBox's default order. */
    g_assert_cmpint(c->boot[0], ==, BW_BOOT_FLOPPY);
    g_assert_cmpint(c->boot[1], ==, BW_BOOT_DVD);
    g_assert_cmpint(c->boot[2], ==, BW_BOOT_DISK);
    g_assert_cmpint(c->boot[3], ==, BW_BOOT_NONE);
    g_assert_cmpstr(c->current_snapshot, ==, "{421f408c-9fe6-4544-8a1f-7dab078a2e52}");
    g_assert_null(c->state_file);

    /* NIC 1: bridged, with NAT etc. only under DisabledModes. */
    g_assert_true(c->nics[0].enabled);
    g_assert_cmpstr(c->nics[0].mac, ==, "080027CF22CB");
    g_assert_cmpstr(c->nics[0].type, ==, "82540EM");
    g_assert_cmpstr(c->nics[0].attachment, ==, "bridged");
    g_assert_cmpstr(c->nics[0].attachment_name, ==, "Intel(R) Ethernet Controller (3) I225-V");
    g_assert_false(c->nics[1].enabled);
    g_assert_false(c->uarts[0].enabled);
    g_assert_cmpuint(c->uarts[0].io_base, ==, 0x3f8);

    /* Controllers inside <Hardware> (1.19 layout). */
    g_assert_cmpuint(c->controllers->len, ==, 2);
    BwStorageController *ide = bw_machine_config_find_controller(c, "IDE");
    BwStorageController *sata = bw_machine_config_find_controller(c, "SATA");
    g_assert_nonnull(ide);
    g_assert_nonnull(sata);
    g_assert_cmpstr(ide->type, ==, "PIIX4");
    g_assert_cmpstr(ide->bus, ==, "IDE");
    g_assert_cmpuint(ide->port_count, ==, 2);
    g_assert_true(ide->host_io_cache);
    g_assert_cmpuint(ide->attachments->len, ==, 1);
    BwAttachment *dvd = g_ptr_array_index(ide->attachments, 0);
    g_assert_cmpint(dvd->type, ==, BW_DEVICE_DVD);
    g_assert_cmpint(dvd->port, ==, 1);
    g_assert_cmpint(dvd->device, ==, 0);
    g_assert_null(dvd->medium_uuid);
    g_assert_cmpstr(sata->type, ==, "AHCI");
    g_assert_cmpstr(sata->bus, ==, "SATA");
    g_assert_false(sata->host_io_cache);
    BwAttachment *hd = g_ptr_array_index(sata->attachments, 0);
    g_assert_cmpint(hd->type, ==, BW_DEVICE_HARDDISK);
    /* The current state uses the differencing child. */
    g_assert_cmpstr(hd->medium_uuid, ==, "{09c1c225-f8fc-485e-a40a-00b3f8b34fc0}");

    /* Media: base + nested differencing child + a DVD on a Windows path. */
    g_assert_cmpuint(c->media->len, ==, 3);
    BwMedium *base = bw_machine_config_find_medium(c, "{3febde4a-e4d0-4744-9728-3abd5e1d3788}");
    BwMedium *diff = bw_machine_config_find_medium(c, hd->medium_uuid);
    BwMedium *iso = bw_machine_config_find_medium(c, "{1436a392-35a6-491e-a882-16a1b7a69d0d}");
    g_assert_nonnull(base);
    g_assert_nonnull(diff);
    g_assert_nonnull(iso);
    g_assert_true(diff->parent == base);
    g_assert_null(base->parent);
    g_assert_cmpuint(base->children->len, ==, 1);
    g_assert_true(g_ptr_array_index(base->children, 0) == diff);
    g_assert_cmpstr(base->format, ==, "VDI");
    g_assert_cmpstr(base->type, ==, "Normal");
    g_assert_null(diff->type);
    g_assert_cmpint(base->device, ==, BW_DEVICE_HARDDISK);
    g_autofree char *base_path = g_build_filename(folder, "Debian.vdi", NULL);
    g_autofree char *diff_path = g_build_filename(
        folder, "Snapshots", "{09c1c225-f8fc-485e-a40a-00b3f8b34fc0}.vdi", NULL);
    g_assert_cmpstr(base->path, ==, base_path);
    g_assert_cmpstr(diff->path, ==, diff_path);
    g_assert_false(base->foreign_path);
    g_assert_cmpint(iso->device, ==, BW_DEVICE_DVD);
    g_assert_cmpstr(iso->location, ==, "C:/VMs/Debian/debian-11.6.0-amd64-DVD-1.iso");
    g_assert_true(iso->foreign_path);
    g_assert_null(iso->path);

    /* One snapshot. */
    g_assert_cmpuint(c->snapshot_count, ==, 1);
    g_assert_nonnull(c->snapshots);
    g_assert_cmpstr(c->snapshots->name, ==, "Nach Basisinstallation");
    g_assert_cmpstr(c->snapshots->uuid, ==, "{421f408c-9fe6-4544-8a1f-7dab078a2e52}");
    g_assert_cmpstr(c->snapshots->time_stamp, ==, "2022-12-30T12:05:16Z");
    g_assert_null(c->snapshots->parent);
    g_assert_cmpuint(c->snapshots->children->len, ==, 0);

    g_assert_cmpuint(c->extra_data->len, ==, 4);
    g_assert_cmpstr(g_ptr_array_index(c->extra_data, 0), ==, "GUI/LastCloseAction");
    g_assert_cmpstr(g_ptr_array_index(c->extra_data, 1), ==, "PowerOff");
    bw_machine_settings_free(s);
}

static void test_sample_saved_state(void)
{
    BwMachineSettings *s = load_sample(SAVED);
    BwMachineConfig *c = bw_machine_settings_config(s);

    g_assert_cmpstr(bw_machine_settings_get_version(s), ==, "1.19-windows");
    g_assert_cmpstr(c->name, ==, "Ubuntu");
    g_assert_cmpstr(c->uuid, ==, "{14944358-e5c5-4512-9153-15dfe543ed6d}");
    g_assert_cmpstr(c->os_type, ==, "Ubuntu_64");
    g_assert_cmpuint(c->memory_mb, ==, 3906);
    g_assert_cmpuint(c->cpus, ==, 20);
    g_assert_cmpuint(c->vram_mb, ==, 16);
    g_assert_cmpstr(c->state_file, ==, "Snapshots/2023-08-22T14-08-50-835597100Z.sav");
    g_assert_true(c->aborted);
    g_assert_cmpint(c->boot[0], ==, BW_BOOT_DISK);
    g_assert_cmpint(c->boot[1], ==, BW_BOOT_DVD);
    g_assert_cmpint(c->boot[2], ==, BW_BOOT_FLOPPY);
    g_assert_cmpint(c->boot[3], ==, BW_BOOT_NONE);
    g_assert_cmpint(c->firmware, ==, BW_FIRMWARE_BIOS);
    g_assert_cmpstr(c->nics[0].attachment, ==, "nat");
    g_assert_cmpstr(c->nics[0].mac, ==, "080027750CF7");
    g_assert_null(c->nics[0].attachment_name);
    g_assert_cmpuint(c->nics[0].nat_rules->len, ==, 0);
    g_assert_cmpuint(c->snapshot_count, ==, 0);
    g_assert_null(c->snapshots);
    g_assert_cmpuint(c->controllers->len, ==, 2);
    BwStorageController *sata = bw_machine_config_find_controller(c, "SATA");
    BwAttachment *hd = g_ptr_array_index(sata->attachments, 0);
    g_assert_cmpstr(hd->medium_uuid, ==, "{9475f18c-a9a6-47f4-8fde-29249e452f61}");
    BwMedium *viso = bw_machine_config_find_medium(c, "{16cac816-a37b-43c8-bd2b-4404a6327adf}");
    g_assert_nonnull(viso);
    g_assert_cmpstr(viso->format, ==, "VBoxIsoMaker");
    g_assert_false(viso->foreign_path);
    g_assert_nonnull(viso->path);
    bw_machine_settings_free(s);
}

static void test_sample_ohci_sibling_controllers(void)
{
    BwMachineSettings *s = load_sample(OHCI);
    BwMachineConfig *c = bw_machine_settings_config(s);

    g_assert_cmpstr(bw_machine_settings_get_version(s), ==, "1.16-windows");
    g_assert_cmpstr(c->uuid, ==, "{c3da0012-67b4-4d48-9c89-e63c130672cb}");
    g_assert_cmpuint(c->memory_mb, ==, 8192);
    g_assert_cmpuint(c->cpus, ==, 3);
    g_assert_cmpuint(c->vram_mb, ==, 64);
    g_assert_cmpstr(c->audio_driver, ==, "DirectSound");
    g_assert_false(c->audio_in);
    g_assert_true(c->usb_ohci && c->usb_ehci);
    g_assert_cmpstr(c->nics[0].attachment, ==, "nat");
    g_assert_cmpstr(c->nics[0].mac, ==, "0800271051E5");
    /* <StorageControllers> is a sibling of <Hardware> here. */
    g_assert_cmpuint(c->controllers->len, ==, 2);
    BwStorageController *sata = bw_machine_config_find_controller(c, "SATA");
    g_assert_nonnull(sata);
    g_assert_cmpuint(sata->port_count, ==, 1);
    BwAttachment *hd = g_ptr_array_index(sata->attachments, 0);
    g_assert_cmpstr(hd->medium_uuid, ==, "{a569b804-496a-46f4-9eba-d78b1ab9b03e}");
    g_assert_cmpuint(c->media->len, ==, 2);
    g_assert_cmpuint(c->extra_data->len, ==, 10);
    g_assert_cmpuint(c->snapshot_count, ==, 0);
    bw_machine_settings_free(s);
}

/* ---- round trips -------------------------------------------------------------------- */

static void test_roundtrip_unchanged(void)
{
    const char *names[] = { DEBIAN, SAVED, OHCI };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *p = sample_path(names[i]);
        g_autofree char *orig = read_file(p);
        BwMachineSettings *s = load_sample(names[i]);
        g_autoptr(GError) err = NULL;
        size_t len = 0;
        g_autofree char *out = bw_machine_settings_to_data(s, &len, &err);

        g_assert_no_error(err);
        g_autofree char *a = canonical(orig, strlen(orig));
        g_autofree char *b = canonical(out, len);
        g_assert_cmpstr(a, ==, b);
        /* Not only equivalent: the same text, but for the final newline. */
        g_assert_true(g_str_has_prefix(out, orig));
        bw_machine_settings_free(s);
    }
}

static char *write_fake_vdi(const char *dir, const char *name, const uint8_t uuid[16],
                            uint32_t type, const uint8_t *parent)
{
    uint8_t h[0x200] = { 0 };
    char *p = g_build_filename(dir, name, NULL);
    uint32_t sig = GUINT32_TO_LE(0xbeda107f), ver = GUINT32_TO_LE(0x00010001);

    memcpy(h + 0x40, &sig, 4);
    memcpy(h + 0x44, &ver, 4);
    type = GUINT32_TO_LE(type);
    memcpy(h + 0x4c, &type, 4);
    memcpy(h + 0x188, uuid, 16);
    h[0x198] = 1;
    if (parent != NULL) {
        memcpy(h + 0x1a8, parent, 16);
    }
    g_assert_true(g_file_set_contents(p, (const char *)h, sizeof(h), NULL));
    return p;
}

/* {99414d56-0b0c-4ae6-b3aa-65a52bcfda9e} in the GUID byte order VDI uses. */
static const uint8_t vdi_uuid[16] = { 0x56, 0x4d, 0x41, 0x99, 0x0c, 0x0b, 0xe6, 0x4a,
                                      0xb3, 0xaa, 0x65, 0xa5, 0x2b, 0xcf, 0xda, 0x9e };

static void test_modify_diff(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *path = copy_sample(OHCI, "Ubuntu.vbox", &dir);
    g_autofree char *before = read_file(path);
    g_autoptr(GError) err = NULL;
    BwMachineSettings *s = bw_machine_settings_load(path, &err);
    g_assert_no_error(err);
    BwMachineConfig *c = bw_machine_settings_config(s);
    g_autofree char *vdi = write_fake_vdi(dir, "data.vdi", vdi_uuid, 1, NULL);

    c->memory_mb = 4096;
    c->cpus = 4;
    g_free(c->nics[0].attachment);
    c->nics[0].attachment = g_strdup("bridged");
    c->nics[0].attachment_name = g_strdup("eth0");
    BwMedium *m = bw_machine_settings_register_medium(s, vdi, BW_DEVICE_HARDDISK, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(m->uuid, ==, "{99414d56-0b0c-4ae6-b3aa-65a52bcfda9e}");
    g_assert_cmpstr(m->location, ==, "data.vdi");
    BwStorageController *sc = bw_machine_config_add_controller(c, "SCSI", "LsiLogic", 16);
    bw_storage_controller_attach(sc, BW_DEVICE_HARDDISK, 2, 0, m->uuid);
    g_assert_true(bw_machine_settings_save(s, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(bw_machine_settings_get_version(s), ==, "1.16-windows");
    bw_machine_settings_free(s);

    /* Reload: the changes are there. */
    s = bw_machine_settings_load(path, &err);
    g_assert_no_error(err);
    c = bw_machine_settings_config(s);
    g_assert_cmpuint(c->memory_mb, ==, 4096);
    g_assert_cmpuint(c->cpus, ==, 4);
    g_assert_cmpstr(c->nics[0].attachment, ==, "bridged");
    g_assert_cmpstr(c->nics[0].attachment_name, ==, "eth0");
    sc = bw_machine_config_find_controller(c, "SCSI");
    g_assert_nonnull(sc);
    g_assert_cmpstr(sc->bus, ==, "SCSI");
    g_assert_cmpuint(sc->port_count, ==, 16);
    g_assert_cmpuint(sc->attachments->len, ==, 1);
    g_assert_cmpstr(((BwAttachment *)g_ptr_array_index(sc->attachments, 0))->medium_uuid, ==,
                    "{99414d56-0b0c-4ae6-b3aa-65a52bcfda9e}");
    bw_machine_settings_free(s);

    /* Diff: exactly these items went away / appeared; everything else is untouched. */
    g_autofree char *after = read_file(path);
    g_autoptr(GHashTable) a = items_of(before);
    g_autoptr(GHashTable) b = items_of(after);
    g_autofree char *removed = diff_lines(a, b);
    g_autofree char *added = diff_lines(b, a);
    const char *hw = "/VirtualBox[0]/Machine[0]/Hardware[0]";
    g_autofree char *exp_removed = g_strdup_printf(
        "%s/CPU[0]@count=3\n"
        "%s/Memory[0]@RAMSize=8192\n"
        "%s/Network[0]/Adapter[0]/NAT[0]\n",
        hw, hw, hw);
    g_assert_cmpstr(removed, ==, exp_removed);
    const char *mr = "/VirtualBox[0]/Machine[0]/MediaRegistry[0]/HardDisks[0]/HardDisk[1]";
    const char *sc0 = "/VirtualBox[0]/Machine[0]/StorageControllers[0]/StorageController[2]";
    g_autofree char *exp_added = g_strdup_printf(
        "%s/CPU[0]@count=4\n"
        "%s/Memory[0]@RAMSize=4096\n"
        "%s/Network[0]/Adapter[0]/BridgedInterface[0]\n"
        "%s/Network[0]/Adapter[0]/BridgedInterface[0]@name=eth0\n"
        "%s\n%s@format=VDI\n%s@location=data.vdi\n%s@type=Normal\n"
        "%s@uuid={99414d56-0b0c-4ae6-b3aa-65a52bcfda9e}\n"
        "%s\n%s/AttachedDevice[0]\n%s/AttachedDevice[0]/Image[0]\n"
        "%s/AttachedDevice[0]/Image[0]@uuid={99414d56-0b0c-4ae6-b3aa-65a52bcfda9e}\n"
        "%s/AttachedDevice[0]@device=0\n%s/AttachedDevice[0]@hotpluggable=false\n"
        "%s/AttachedDevice[0]@port=2\n%s/AttachedDevice[0]@type=HardDisk\n"
        "%s@Bootable=true\n%s@PortCount=16\n%s@name=SCSI\n%s@type=LsiLogic\n"
        "%s@useHostIOCache=false\n",
        hw, hw, hw, hw, mr, mr, mr, mr, mr, sc0, sc0, sc0, sc0, sc0, sc0, sc0, sc0, sc0, sc0,
        sc0, sc0, sc0);
    g_assert_cmpstr(added, ==, exp_added);
    /* No backup: nothing needed a newer version. */
    g_autofree char *backup = g_build_filename(dir, "Ubuntu-1.16-windows.vbox", NULL);
    g_assert_false(g_file_test(backup, G_FILE_TEST_EXISTS));
    /* The previous content is kept as -prev. */
    g_autofree char *prev_path = g_strconcat(path, "-prev", NULL);
    g_autofree char *prev = read_file(prev_path);
    g_assert_cmpstr(prev, ==, before);
    rm_rf(dir);
}

static void test_remove_and_edit(void)
{
    BwMachineSettings *s = load_sample(DEBIAN);
    BwMachineConfig *c = bw_machine_settings_config(s);
    g_autoptr(GError) err = NULL;
    size_t len;

    /* Detach the DVD, drop an extra data item, change one, add a NAT rule + UART. */
    BwStorageController *ide = bw_machine_config_find_controller(c, "IDE");
    g_assert_true(bw_storage_controller_detach(ide, 1, 0));
    g_free(g_ptr_array_index(c->extra_data, 3));
    g_ptr_array_index(c->extra_data, 3) = g_strdup("1,2,3,4");
    g_ptr_array_remove_range(c->extra_data, 0, 2);
    g_free(c->nics[0].attachment);
    c->nics[0].attachment = g_strdup("nat");
    bw_nic_add_nat_rule(&c->nics[0], "ssh", true, "127.0.0.1", 2222, "", 22);
    c->uarts[0].enabled = true;
    g_free(c->uarts[0].mode);
    c->uarts[0].mode = g_strdup("RawFile");
    c->uarts[0].path = g_strdup("/tmp/serial.log");
    c->boot[0] = BW_BOOT_DISK;
    c->description = g_strdup("a <test> & more");
    g_autofree char *data = bw_machine_settings_to_data(s, &len, &err);
    g_assert_no_error(err);
    bw_machine_settings_free(s);

    s = bw_machine_settings_load_from_data(data, len, "/nowhere/Debian.vbox", &err);
    g_assert_no_error(err);
    c = bw_machine_settings_config(s);
    ide = bw_machine_config_find_controller(c, "IDE");
    g_assert_cmpuint(ide->attachments->len, ==, 0);
    g_assert_cmpuint(c->extra_data->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(c->extra_data, 0), ==, "GUI/LastNormalWindowPosition");
    g_assert_cmpstr(g_ptr_array_index(c->extra_data, 1), ==, "1,2,3,4");
    g_assert_cmpstr(c->nics[0].attachment, ==, "nat");
    g_assert_cmpuint(c->nics[0].nat_rules->len, ==, 1);
    BwNatRule *r = g_ptr_array_index(c->nics[0].nat_rules, 0);
    g_assert_cmpstr(r->name, ==, "ssh");
    g_assert_true(r->tcp);
    g_assert_cmpstr(r->host_ip, ==, "127.0.0.1");
    g_assert_cmpuint(r->host_port, ==, 2222);
    g_assert_cmpuint(r->guest_port, ==, 22);
    g_assert_true(c->uarts[0].enabled);
    g_assert_cmpstr(c->uarts[0].mode, ==, "RawFile");
    g_assert_cmpstr(c->uarts[0].path, ==, "/tmp/serial.log");
    g_assert_cmpuint(c->uarts[0].io_base, ==, 0x3f8);
    g_assert_cmpuint(c->uarts[0].irq, ==, 4);
    g_assert_cmpint(c->boot[0], ==, BW_BOOT_DISK);
    g_assert_cmpint(c->boot[1], ==, BW_BOOT_DVD);
    g_assert_cmpint(c->boot[2], ==, BW_BOOT_DISK);
    g_assert_cmpstr(c->description, ==, "a <test> & more");
    /* The snapshot's own DVD drive is untouched. */
    g_assert_nonnull(strstr(data, "<AttachedDevice passthrough=\"false\" type=\"DVD\""));
    bw_machine_settings_free(s);
}

static void test_unknown_kept(void)
{
    const char *xml =
        "<?xml version=\"1.0\"?>\n"
        "<VirtualBox xmlns=\"http://www.virtualbox.org/\" version=\"1.15-linux\" future=\"x\">\n"
        "  <Machine uuid=\"{11111111-2222-3333-4444-555555555555}\" name=\"u\" OSType=\"Linux\""
        " wibble=\"1\">\n"
        "    <!-- a comment -->\n"
        "    <Hardware>\n"
        "      <Memory RAMSize=\"512\" PageFusion=\"false\" Frob=\"7\"/>\n"
        "      <Gizmo a=\"b\"><Inner>text</Inner></Gizmo>\n"
        "      <Chipset type=\"ARMv9Future\"/>\n"
        "    </Hardware>\n"
        "    <Unknown/>\n"
        "  </Machine>\n"
        "</VirtualBox>\n";
    g_autoptr(GError) err = NULL;
    BwMachineSettings *s =
        bw_machine_settings_load_from_data(xml, strlen(xml), "/x/u.vbox", &err);
    g_assert_no_error(err);
    BwMachineConfig *c = bw_machine_settings_config(s);
    g_assert_cmpstr(c->chipset, ==, "ARMv9Future");
    c->memory_mb = 1024;
    size_t len;
    g_autofree char *out = bw_machine_settings_to_data(s, &len, &err);
    g_assert_no_error(err);
    g_autoptr(GHashTable) a = items_of(xml);
    g_autoptr(GHashTable) b = items_of(out);
    g_autofree char *removed = diff_lines(a, b);
    g_autofree char *added = diff_lines(b, a);
    g_assert_cmpstr(removed, ==, "/VirtualBox[0]/Machine[0]/Hardware[0]/Memory[0]@RAMSize=512\n");
    g_assert_cmpstr(added, ==, "/VirtualBox[0]/Machine[0]/Hardware[0]/Memory[0]@RAMSize=1024\n");
    g_assert_cmpstr(bw_machine_settings_get_version(s), ==, "1.15-linux");
    bw_machine_settings_free(s);
}

static void test_namespaces(void)
{
    const char *ns[] = { " xmlns=\"http://www.virtualbox.org/\"",
                         " xmlns=\"http://www.innotek.de/VirtualBox-settings\"", "",
                         " xmlns:vb=\"http://www.virtualbox.org/\"" };

    for (size_t i = 0; i < G_N_ELEMENTS(ns); i++) {
        const char *p = i == 3 ? "vb:" : "";
        g_autofree char *xml = g_strdup_printf(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
            "<%sVirtualBox%s version=\"1.12-linux\">\n"
            "  <%sMachine uuid=\"{11111111-2222-3333-4444-555555555555}\" name=\"n\" "
            "OSType=\"Other\">\n"
            "    <%sHardware><%sCPU count=\"3\"/><%sMemory RAMSize=\"300\"/></%sHardware>\n"
            "    <%sStorageControllers/>\n"
            "  </%sMachine>\n"
            "</%sVirtualBox>\n",
            p, ns[i], p, p, p, p, p, p, p, p);
        g_autoptr(GError) err = NULL;
        BwMachineSettings *s =
            bw_machine_settings_load_from_data(xml, strlen(xml), "/x/n.vbox", &err);
        g_assert_no_error(err);
        BwMachineConfig *c = bw_machine_settings_config(s);
        g_assert_cmpuint(c->cpus, ==, 3);
        g_assert_cmpuint(c->memory_mb, ==, 300);
        /* New elements land in the document's namespace. */
        bw_machine_config_add_controller(c, "SATA", "AHCI", 2);
        c->vram_mb = 12;
        size_t len;
        g_autofree char *out = bw_machine_settings_to_data(s, &len, &err);
        g_assert_no_error(err);
        bw_machine_settings_free(s);
        s = bw_machine_settings_load_from_data(out, len, "/x/n.vbox", &err);
        g_assert_no_error(err);
        c = bw_machine_settings_config(s);
        g_assert_cmpuint(c->vram_mb, ==, 12);
        g_assert_nonnull(bw_machine_config_find_controller(c, "SATA"));
        if (i == 3) {
            g_assert_nonnull(strstr(out, "<vb:StorageController "));
        }
        bw_machine_settings_free(s);
    }
}

/* ---- hostile and broken files ------------------------------------------------------- */

typedef struct {
    const char *what;
    const char *xml;
    int code;
    const char *needle; /* in the message, besides the file name */
} BadCase;

#define MACHINE_OPEN                                                                       \
    "<VirtualBox xmlns=\"http://www.virtualbox.org/\" version=\"1.16-linux\">\n"          \
    "<Machine uuid=\"{11111111-2222-3333-4444-555555555555}\" name=\"n\" OSType=\"Other\">\n"
#define MACHINE_CLOSE "</Machine>\n</VirtualBox>\n"

static void test_bad_files(void)
{
    static const BadCase cases[] = {
        { "not xml", "<VirtualBox version=\"1.16\">\n<Machine>\n</VirtualBox>",
          BW_SETTINGS_ERROR_PARSE, "well-formed" },
        { "wrong root", "<Foo/>", BW_SETTINGS_ERROR_INVALID, "root element" },
        { "too old", "<VirtualBox version=\"1.2-linux\"><Machine/></VirtualBox>",
          BW_SETTINGS_ERROR_VERSION, "too old" },
        { "too new", "<VirtualBox version=\"1.99-linux\"><Machine/></VirtualBox>",
          BW_SETTINGS_ERROR_VERSION, "newer" },
        { "no version", "<VirtualBox><Machine/></VirtualBox>", BW_SETTINGS_ERROR_VERSION,
          "version" },
        { "encrypted",
          "<VirtualBox version=\"1.19-linux\">\n<MachineEncrypted uuid=\"x\"/></VirtualBox>",
          BW_SETTINGS_ERROR_UNSUPPORTED, "encrypted" },
        { "global", "<VirtualBox version=\"1.12-linux\"><Global/></VirtualBox>",
          BW_SETTINGS_ERROR_INVALID, "global" },
        { "no uuid", "<VirtualBox version=\"1.16\">\n<Machine name=\"a\"/></VirtualBox>",
          BW_SETTINGS_ERROR_INVALID, "uuid" },
        { "bad uuid",
          "<VirtualBox version=\"1.16\">\n<Machine uuid=\"{zz}\" name=\"a\"/></VirtualBox>",
          BW_SETTINGS_ERROR_INVALID, "not a UUID" },
        { "no name",
          "<VirtualBox version=\"1.16\">\n<Machine uuid=\"{11111111-2222-3333-4444-"
          "555555555555}\"/></VirtualBox>",
          BW_SETTINGS_ERROR_INVALID, "no name" },
        { "memory", MACHINE_OPEN "<Hardware><Memory RAMSize=\"99999999999\"/></Hardware>\n"
          MACHINE_CLOSE, BW_SETTINGS_ERROR_INVALID, "RAMSize" },
        { "memory zero", MACHINE_OPEN "<Hardware><Memory RAMSize=\"0\"/></Hardware>\n"
          MACHINE_CLOSE, BW_SETTINGS_ERROR_INVALID, "out of range" },
        { "cpus", MACHINE_OPEN "<Hardware><CPU count=\"100000\"/></Hardware>\n" MACHINE_CLOSE,
          BW_SETTINGS_ERROR_INVALID, "count" },
        { "cpus text", MACHINE_OPEN "<Hardware><CPU count=\"many\"/></Hardware>\n"
          MACHINE_CLOSE, BW_SETTINGS_ERROR_INVALID, "not a number" },
        { "nat port", MACHINE_OPEN "<Hardware><Network><Adapter slot=\"0\"><NAT>"
          "<Forwarding name=\"a\" proto=\"1\" hostport=\"70000\" guestport=\"22\"/>"
          "</NAT></Adapter></Network></Hardware>\n" MACHINE_CLOSE,
          BW_SETTINGS_ERROR_INVALID, "hostport" },
        { "nic slot", MACHINE_OPEN "<Hardware><Network><Adapter slot=\"4000\"/></Network>"
          "</Hardware>\n" MACHINE_CLOSE, BW_SETTINGS_ERROR_INVALID, "slot" },
        { "bool", MACHINE_OPEN "<Hardware><CPU><PAE enabled=\"maybe\"/></CPU></Hardware>\n"
          MACHINE_CLOSE, BW_SETTINGS_ERROR_INVALID, "true or false" },
        { "unknown medium", MACHINE_OPEN "<StorageControllers><StorageController name=\"S\" "
          "type=\"AHCI\"><AttachedDevice type=\"HardDisk\" port=\"0\" device=\"0\">\n"
          "<Image uuid=\"{99999999-2222-3333-4444-555555555555}\"/></AttachedDevice>"
          "</StorageController></StorageControllers>\n" MACHINE_CLOSE,
          BW_SETTINGS_ERROR_INVALID, "not in the MediaRegistry" },
        { "dup medium", MACHINE_OPEN "<MediaRegistry><HardDisks>"
          "<HardDisk uuid=\"{99999999-2222-3333-4444-555555555555}\" location=\"a\"/>\n"
          "<HardDisk uuid=\"{99999999-2222-3333-4444-555555555555}\" location=\"b\"/>"
          "</HardDisks></MediaRegistry>\n" MACHINE_CLOSE, BW_SETTINGS_ERROR_INVALID, "twice" },
        { "medium without location", MACHINE_OPEN "<MediaRegistry><HardDisks>"
          "<HardDisk uuid=\"{99999999-2222-3333-4444-555555555555}\"/>"
          "</HardDisks></MediaRegistry>\n" MACHINE_CLOSE, BW_SETTINGS_ERROR_INVALID,
          "no location" },
        { "bad current snapshot", "<VirtualBox version=\"1.16\">\n<Machine uuid=\"{11111111-"
          "2222-3333-4444-555555555555}\" name=\"a\" currentSnapshot=\"{11111111-2222-3333-"
          "4444-555555555556}\"/></VirtualBox>", BW_SETTINGS_ERROR_INVALID, "currentSnapshot" },
        { "attachment type", MACHINE_OPEN "<StorageControllers><StorageController name=\"S\" "
          "type=\"AHCI\"><AttachedDevice type=\"Tape\" port=\"0\" device=\"0\"/>"
          "</StorageController></StorageControllers>\n" MACHINE_CLOSE,
          BW_SETTINGS_ERROR_INVALID, "Tape" },
        { "doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE VirtualBox [ <!ENTITY a \"aaaa\"> ]>\n"
          "<VirtualBox version=\"1.16\"><Machine name=\"&a;\"/></VirtualBox>",
          BW_SETTINGS_ERROR_INVALID, "DOCTYPE" },
        { "external entity", "<?xml version=\"1.0\"?>\n<!DOCTYPE VirtualBox [ <!ENTITY x "
          "SYSTEM \"file:///etc/passwd\"> ]>\n<VirtualBox version=\"1.16\"><Machine "
          "name=\"&x;\"/></VirtualBox>", 0, NULL },
        { "undefined entity", "<VirtualBox version=\"1.16\"><Machine name=\"&x;\"/>"
          "</VirtualBox>", BW_SETTINGS_ERROR_PARSE, "well-formed" },
        { "empty", "", BW_SETTINGS_ERROR_PARSE, "well-formed" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        BwMachineSettings *s = bw_machine_settings_load_from_data(
            cases[i].xml, strlen(cases[i].xml), "/some/where/bad.vbox", &err);

        g_test_message("case %s", cases[i].what);
        g_assert_null(s);
        g_assert_nonnull(err);
        g_assert_true(err->domain == BW_SETTINGS_ERROR);
        if (cases[i].needle != NULL) {
            g_assert_cmpint(err->code, ==, cases[i].code);
            g_assert_nonnull(strstr(err->message, cases[i].needle));
        }
        /* The file name and a line number lead every message. */
        g_assert_true(g_str_has_prefix(err->message, "/some/where/bad.vbox:"));
    }
}

static void test_hostile_sizes(void)
{
    g_autoptr(GError) err = NULL;
    /* A 40000-byte name. */
    GString *x = g_string_new("<VirtualBox version=\"1.16\">\n<Machine uuid=\"{11111111-2222-"
                              "3333-4444-555555555555}\" name=\"");
    for (int i = 0; i < 40000; i++) {
        g_string_append_c(x, 'a');
    }
    g_string_append(x, "\"/></VirtualBox>");
    BwMachineSettings *s = bw_machine_settings_load_from_data(x->str, x->len, "/h.vbox", &err);
    g_assert_null(s);
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "/h.vbox:2:"));
    g_string_free(x, TRUE);
    g_clear_error(&err);

    /* Differencing images nested 250 deep (deeper than the cap). */
    x = g_string_new(MACHINE_OPEN "<MediaRegistry><HardDisks>");
    for (int i = 0; i < 250; i++) {
        g_string_append_printf(x, "<HardDisk uuid=\"{%08x-2222-3333-4444-555555555555}\" "
                                  "location=\"d%d.vdi\">", i, i);
    }
    for (int i = 0; i < 250; i++) {
        g_string_append(x, "</HardDisk>");
    }
    g_string_append(x, "</HardDisks></MediaRegistry>" MACHINE_CLOSE);
    s = bw_machine_settings_load_from_data(x->str, x->len, "/deep.vbox", &err);
    g_assert_null(s);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, "/deep.vbox:"));
    g_string_free(x, TRUE);
    g_clear_error(&err);

    /* But 60 deep is fine (real chains are < 20). */
    x = g_string_new(MACHINE_OPEN "<MediaRegistry><HardDisks>");
    for (int i = 0; i < 60; i++) {
        g_string_append_printf(x, "<HardDisk uuid=\"{%08x-2222-3333-4444-555555555555}\" "
                                  "location=\"d%d.vdi\">", i, i);
    }
    for (int i = 0; i < 60; i++) {
        g_string_append(x, "</HardDisk>");
    }
    g_string_append(x, "</HardDisks></MediaRegistry>" MACHINE_CLOSE);
    s = bw_machine_settings_load_from_data(x->str, x->len, "/deep.vbox", &err);
    g_assert_no_error(err);
    BwMedium *leaf = bw_machine_config_find_medium(bw_machine_settings_config(s),
                                                   "{0000003b-2222-3333-4444-555555555555}");
    g_assert_nonnull(leaf);
    unsigned depth = 0;
    for (BwMedium *m = leaf; m->parent != NULL; m = m->parent) {
        depth++;
    }
    g_assert_cmpuint(depth, ==, 59);
    bw_machine_settings_free(s);
    g_string_free(x, TRUE);
}

static void test_failed_load_never_writes(void)
{
    g_autofree char *dir = g_dir_make_tmp("bw-settings-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "bad.vbox", NULL);
    const char *bad = "<VirtualBox version=\"1.16\"><Machine name=\"x\"/></VirtualBox>";
    g_autoptr(GError) err = NULL;
    struct stat st1, st2;

    g_assert_true(g_file_set_contents(path, bad, -1, NULL));
    g_assert_cmpint(stat(path, &st1), ==, 0);
    g_assert_null(bw_machine_settings_load(path, &err));
    g_assert_nonnull(strstr(err->message, path));
    g_assert_cmpint(stat(path, &st2), ==, 0);
    g_assert_cmpint(st1.st_mtim.tv_nsec, ==, st2.st_mtim.tv_nsec);
    g_autofree char *now = read_file(path);
    g_assert_cmpstr(now, ==, bad);
    g_autofree char *prev = g_strconcat(path, "-prev", NULL);
    g_autofree char *tmp = g_strconcat(path, "-tmp", NULL);
    g_assert_false(g_file_test(prev, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_clear_error(&err);
    /* A missing file is NOT_FOUND. */
    g_autofree char *missing = g_build_filename(dir, "nope.vbox", NULL);
    g_assert_null(bw_machine_settings_load(missing, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_NOT_FOUND);
    rm_rf(dir);
}

static void test_invalid_view_refused(void)
{
    BwMachineSettings *s = load_sample(SAVED);
    BwMachineConfig *c = bw_machine_settings_config(s);
    g_autoptr(GError) err = NULL;
    size_t len;

    c->memory_mb = 0;
    g_assert_null(bw_machine_settings_to_data(s, &len, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID);
    g_clear_error(&err);
    c->memory_mb = 1024;
    BwStorageController *sata = bw_machine_config_find_controller(c, "SATA");
    bw_storage_controller_attach(sata, BW_DEVICE_HARDDISK, 1, 0,
                                 "{00000000-0000-0000-0000-000000000001}");
    g_assert_null(bw_machine_settings_to_data(s, &len, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "not registered"));
    g_clear_error(&err);
    bw_storage_controller_detach(sata, 1, 0);
    g_free(c->nics[0].mac);
    c->nics[0].mac = g_strdup("zz");
    g_assert_null(bw_machine_settings_to_data(s, &len, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID);
    bw_machine_settings_free(s);
}

/* ---- versions, new files ------------------------------------------------------------ */

static void test_version_bump_backup(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *path = copy_sample(OHCI, "Ubuntu.vbox", &dir);
    g_autofree char *before = read_file(path);
    g_autoptr(GError) err = NULL;
    BwMachineSettings *s = bw_machine_settings_load(path, &err);
    BwMachineConfig *c = bw_machine_settings_config(s);

    /* A memory change alone keeps 1.16. */
    c->memory_mb = 2048;
    g_assert_true(bw_machine_settings_save(s, &err));
    g_assert_cmpstr(bw_machine_settings_get_version(s), ==, "1.16-windows");
    g_autofree char *backup = g_build_filename(dir, "Ubuntu-1.16-windows.vbox", NULL);
    g_assert_false(g_file_test(backup, G_FILE_TEST_EXISTS));
    g_autofree char *before_bump = read_file(path);

    /* virtio-scsi needs 1.18. */
    bw_machine_config_add_controller(c, "VirtIO", "VirtioSCSI", 1);
    g_assert_true(bw_machine_settings_save(s, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(bw_machine_settings_get_version(s), ==, "1.18-linux");
    g_autofree char *saved = read_file(backup);
    g_assert_cmpstr(saved, ==, before_bump);
    g_autofree char *now = read_file(path);
    g_assert_nonnull(strstr(now, "version=\"1.18-linux\""));

    /* A second save does not touch the backup. */
    c->cpus = 2;
    g_assert_true(bw_machine_settings_save(s, &err));
    g_autofree char *saved2 = read_file(backup);
    g_assert_cmpstr(saved2, ==, before_bump);
    bw_machine_settings_free(s);
    (void)before;
    rm_rf(dir);
}

static void test_new_machine(void)
{
    g_autofree char *dir = g_dir_make_tmp("bw-settings-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "vm1", "vm1.vbox", NULL);
    g_autofree char *vmdir = g_build_filename(dir, "vm1", NULL);
    g_autoptr(GError) err = NULL;
    BwMachineSettings *s = bw_machine_settings_new("vm1", "Debian_64", NULL, path);
    BwMachineConfig *c = bw_machine_settings_config(s);

    g_assert_cmpstr(bw_machine_settings_get_version(s), ==, "1.19-linux");
    g_assert_cmpstr(c->name, ==, "vm1");
    g_assert_cmpuint(c->memory_mb, ==, 128);
    g_assert_cmpuint(c->cpus, ==, 1);
    g_assert_cmpuint(c->vram_mb, ==, 16);
    g_assert_cmpstr(c->graphics_controller, ==, "VMSVGA");
    g_assert_cmpint(c->firmware, ==, BW_FIRMWARE_BIOS);
    g_assert_cmpint(c->boot[0], ==, BW_BOOT_DVD);
    g_assert_cmpint(c->boot[1], ==, BW_BOOT_DISK);
    g_assert_cmpint(c->boot[2], ==, BW_BOOT_NONE);
    g_assert_true(c->nics[0].enabled);
    g_assert_cmpstr(c->nics[0].attachment, ==, "nat");
    g_assert_cmpstr(c->nics[0].type, ==, "82540EM");
    g_assert_true(g_str_has_prefix(c->nics[0].mac, "080027"));
    g_assert_true(c->long_mode);
    g_assert_cmpuint(c->controllers->len, ==, 0);
    g_assert_true(c->uuid[0] == '{');

    g_assert_cmpint(g_mkdir_with_parents(vmdir, 0755), ==, 0);
    g_autofree char *vdi = write_fake_vdi(vmdir, "disk.vdi", vdi_uuid, 1, NULL);
    g_autofree char *iso_path = g_build_filename(dir, "boot.iso", NULL);
    g_assert_true(g_file_set_contents(iso_path, "CD001", 5, NULL));
    BwMedium *disk = bw_machine_settings_register_medium(s, vdi, BW_DEVICE_HARDDISK, &err);
    g_assert_no_error(err);
    BwMedium *iso = bw_machine_settings_register_medium(s, iso_path, BW_DEVICE_DVD, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(iso->location, ==, iso_path); /* outside the folder: absolute */
    g_assert_null(iso->format);
    BwStorageController *sc = bw_machine_config_add_controller(c, "SATA", "AHCI", 2);
    bw_storage_controller_attach(sc, BW_DEVICE_HARDDISK, 0, 0, disk->uuid);
    bw_storage_controller_attach(sc, BW_DEVICE_DVD, 1, 0, iso->uuid);
    g_assert_true(bw_machine_settings_save(s, &err));
    g_assert_no_error(err);
    bw_machine_settings_free(s);

    g_autofree char *text = read_file(path);
    g_assert_true(g_str_has_prefix(text, "<?xml version=\"1.0\"?>\n<!--\n** DO NOT EDIT THIS "
                                         "FILE."));
    g_assert_nonnull(strstr(text, "<VirtualBox xmlns=\"http://www.virtualbox.org/\" "
                                  "version=\"1.19-linux\">"));
    /* 1.19 layout: controllers inside Hardware, indented like VirtualBox. */
    g_assert_nonnull(strstr(text, "    </Hardware>\n"));
    const char *hw_end = strstr(text, "</Hardware>");
    const char *scs = strstr(text, "\n      <StorageControllers>\n        <StorageController "
                                   "name=\"SATA\"");
    g_assert_nonnull(scs);
    g_assert_true(scs < hw_end);
    g_assert_nonnull(strstr(text, "<HardDisk uuid=\"{99414d56-0b0c-4ae6-b3aa-65a52bcfda9e}\" "
                                  "location=\"disk.vdi\" format=\"VDI\" type=\"Normal\"/>"));

    s = bw_machine_settings_load(path, &err);
    g_assert_no_error(err);
    c = bw_machine_settings_config(s);
    sc = bw_machine_config_find_controller(c, "SATA");
    g_assert_cmpuint(sc->attachments->len, ==, 2);
    g_assert_cmpuint(c->media->len, ==, 2);
    BwMedium *d = bw_machine_config_find_medium(c, "{99414d56-0b0c-4ae6-b3aa-65a52bcfda9e}");
    g_assert_cmpstr(d->path, ==, vdi);
    bw_machine_settings_free(s);

    /* EFI default for Windows 11. */
    s = bw_machine_settings_new("w", "Windows11_64", "{11111111-2222-3333-4444-555555555555}",
                                path);
    g_assert_cmpint(bw_machine_settings_config(s)->firmware, ==, BW_FIRMWARE_EFI);
    g_assert_cmpstr(bw_machine_settings_config(s)->uuid, ==,
                    "{11111111-2222-3333-4444-555555555555}");
    bw_machine_settings_free(s);
    rm_rf(dir);
}

static void test_register_medium(void)
{
    g_autofree char *dir = g_dir_make_tmp("bw-settings-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "m.vbox", NULL);
    g_autoptr(GError) err = NULL;
    BwMachineSettings *s = bw_machine_settings_new("m", "Linux_64", NULL, path);
    BwMachineConfig *c = bw_machine_settings_config(s);
    const uint8_t child_uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

    g_autofree char *base = write_fake_vdi(dir, "base.vdi", vdi_uuid, 1, NULL);
    g_autofree char *child = write_fake_vdi(dir, "child.vdi", child_uuid, 4, vdi_uuid);
    g_autofree char *raw = g_build_filename(dir, "raw.img", NULL);
    g_assert_true(g_file_set_contents(raw, "rawdata", -1, NULL));

    /* The child first: its parent is not registered yet. */
    g_assert_null(bw_machine_settings_register_medium(s, child, BW_DEVICE_HARDDISK, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_NOT_FOUND);
    g_clear_error(&err);
    BwMedium *b = bw_machine_settings_register_medium(s, base, BW_DEVICE_HARDDISK, &err);
    g_assert_no_error(err);
    BwMedium *k = bw_machine_settings_register_medium(s, child, BW_DEVICE_HARDDISK, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(k->uuid, ==, "{04030201-0605-0807-090a-0b0c0d0e0f10}");
    g_assert_true(k->parent == b);
    g_assert_null(k->type);
    /* Again: the same entry. */
    g_assert_true(bw_machine_settings_register_medium(s, "base.vdi", BW_DEVICE_HARDDISK,
                                                      &err) == b);
    BwMedium *r = bw_machine_settings_register_medium(s, raw, BW_DEVICE_HARDDISK, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(r->format, ==, "RAW");
    g_assert_cmpuint(strlen(r->uuid), ==, 38);
    /* A copy of base.vdi has the same UUID: refused. */
    g_autofree char *copy = write_fake_vdi(dir, "copy.vdi", vdi_uuid, 1, NULL);
    g_assert_null(bw_machine_settings_register_medium(s, copy, BW_DEVICE_HARDDISK, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_EXISTS);
    g_clear_error(&err);
    g_autofree char *missing = g_build_filename(dir, "none.vdi", NULL);
    g_assert_null(bw_machine_settings_register_medium(s, missing, BW_DEVICE_HARDDISK, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_NOT_FOUND);
    g_clear_error(&err);

    /* Saved as nested differencing image. */
    size_t len;
    g_autofree char *data = bw_machine_settings_to_data(s, &len, &err);
    g_assert_no_error(err);
    bw_machine_settings_free(s);
    s = bw_machine_settings_load_from_data(data, len, path, &err);
    g_assert_no_error(err);
    c = bw_machine_settings_config(s);
    k = bw_machine_config_find_medium(c, "{04030201-0605-0807-090a-0b0c0d0e0f10}");
    g_assert_nonnull(k->parent);
    g_assert_cmpstr(k->parent->uuid, ==, "{99414d56-0b0c-4ae6-b3aa-65a52bcfda9e}");
    g_assert_cmpstr(k->location, ==, "child.vdi");
    bw_machine_settings_free(s);
    rm_rf(dir);
}

static void test_remove_medium(void)
{
    BwMachineSettings *s = load_sample(DEBIAN);
    BwMachineConfig *c = bw_machine_settings_config(s);
    g_autoptr(GError) err = NULL;
    const char *base = "{3febde4a-e4d0-4744-9728-3abd5e1d3788}";
    const char *diff = "{09c1c225-f8fc-485e-a40a-00b3f8b34fc0}";
    const char *iso = "{1436a392-35a6-491e-a882-16a1b7a69d0d}";

    /* The base has a child; the child is attached. */
    g_assert_false(bw_machine_config_remove_medium(c, base, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_false(bw_machine_config_remove_medium(c, diff, &err));
    g_assert_nonnull(strstr(err->message, "detach"));
    g_clear_error(&err);
    g_assert_true(bw_machine_config_remove_medium(c, iso, &err));
    g_assert_false(bw_machine_config_remove_medium(c, iso, &err));
    g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_NOT_FOUND);
    g_clear_error(&err);
    size_t len;
    g_autofree char *data = bw_machine_settings_to_data(s, &len, &err);
    g_assert_no_error(err);
    g_assert_null(strstr(data, "1436a392"));
    g_assert_nonnull(strstr(data, "<DVDImages/>"));
    bw_machine_settings_free(s);
}

static void test_owned_paths(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *path = copy_sample(SAVED, "Ubuntu.vbox", &dir);
    g_autoptr(GError) err = NULL;
    BwMachineSettings *s = bw_machine_settings_load(path, &err);
    BwMachineConfig *c = bw_machine_settings_config(s);

    g_autofree char *state = bw_machine_settings_resolve_owned_path(s, c->state_file, &err);
    g_assert_no_error(err);
    g_autofree char *expect = g_build_filename(dir, c->state_file, NULL);
    g_assert_cmpstr(state, ==, expect);
    const char *bad[] = { "../outside.sav", "/etc/passwd", "Snapshots/../../x", "C:\\x.sav",
                          "link/x.sav" };
    /* A symlink out of the machine folder, to a directory of our own. */
    g_autofree char *outside = g_dir_make_tmp("bw-outside-XXXXXX", NULL);
    g_autofree char *link = g_build_filename(dir, "link", NULL);
    g_assert_cmpint(symlink(outside, link), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *r = bw_machine_settings_resolve_owned_path(s, bad[i], &err);
        g_assert_null(r);
        g_assert_error(err, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID);
        g_clear_error(&err);
    }
    g_autofree char *ok = bw_machine_settings_resolve_owned_path(s, "Logs/VBox.log", &err);
    g_assert_no_error(err);
    bw_machine_settings_free(s);
    g_assert_cmpint(g_unlink(link), ==, 0);
    rm_rf(dir);
    g_assert_cmpint(g_rmdir(outside), ==, 0);
}

/* ---- crash-safe writes -------------------------------------------------------------- */

static void test_safe_write(void)
{
    g_autofree char *dir = g_dir_make_tmp("bw-settings-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "f.vbox", NULL);
    g_autofree char *prev = g_strconcat(path, "-prev", NULL);
    g_autofree char *tmp = g_strconcat(path, "-tmp", NULL);
    const char *a = "first version of the file, long enough";
    const char *b = "second version of the file, long enough";
    const char *c = "third version of the file, long enough";
    g_autoptr(GError) err = NULL;

    g_assert_true(bw_settings_write_file_safely(path, a, strlen(a), &err));
    g_assert_false(g_file_test(prev, G_FILE_TEST_EXISTS));
    g_assert_true(bw_settings_write_file_safely(path, b, strlen(b), &err));
    g_autofree char *now = read_file(path);
    g_autofree char *was = read_file(prev);
    g_assert_cmpstr(now, ==, b);
    g_assert_cmpstr(was, ==, a);
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));

    /* A crash left a half-written -tmp (even a symlink trap): harmless. */
    g_assert_true(g_file_set_contents(tmp, "<VirtualBox trunc", -1, NULL));
    g_assert_true(bw_settings_write_file_safely(path, c, strlen(c), &err));
    g_assert_no_error(err);
    g_autofree char *now2 = read_file(path);
    g_autofree char *was2 = read_file(prev);
    g_assert_cmpstr(now2, ==, c);
    g_assert_cmpstr(was2, ==, b);
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));

    g_autofree char *target = g_build_filename(dir, "victim", NULL);
    g_assert_cmpint(symlink(target, tmp), ==, 0);
    g_assert_true(bw_settings_write_file_safely(path, a, strlen(a), &err));
    g_assert_no_error(err);
    g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
    g_autofree char *now3 = read_file(path);
    g_assert_cmpstr(now3, ==, a);

    /* Loading never picks up -tmp or -prev. */
    g_assert_true(g_file_set_contents(tmp, "garbage", -1, NULL));
    rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/settings/sample/debian-snapshot", test_sample_debian_snapshot);
    g_test_add_func("/settings/sample/saved-state", test_sample_saved_state);
    g_test_add_func("/settings/sample/ohci-sibling-controllers",
                    test_sample_ohci_sibling_controllers);
    g_test_add_func("/settings/roundtrip/unchanged", test_roundtrip_unchanged);
    g_test_add_func("/settings/roundtrip/modify-diff", test_modify_diff);
    g_test_add_func("/settings/roundtrip/remove-and-edit", test_remove_and_edit);
    g_test_add_func("/settings/roundtrip/unknown-kept", test_unknown_kept);
    g_test_add_func("/settings/namespaces", test_namespaces);
    g_test_add_func("/settings/hostile/bad-files", test_bad_files);
    g_test_add_func("/settings/hostile/sizes", test_hostile_sizes);
    g_test_add_func("/settings/hostile/failed-load-never-writes", test_failed_load_never_writes);
    g_test_add_func("/settings/hostile/invalid-view", test_invalid_view_refused);
    g_test_add_func("/settings/version/bump-backup", test_version_bump_backup);
    g_test_add_func("/settings/new-machine", test_new_machine);
    g_test_add_func("/settings/register-medium", test_register_medium);
    g_test_add_func("/settings/safe-write", test_safe_write);
    g_test_add_func("/settings/remove-medium", test_remove_medium);
    g_test_add_func("/settings/hostile/owned-paths", test_owned_paths);
    return g_test_run();
}
