/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Machine settings (.vbox): the libxml2 document is the truth, BwMachineConfig a typed
 * view of it. Sync reads the document again into a second view and writes back only
 * the fields where the caller's view differs, so everything else (unknown elements,
 * values Boxwood maps to something it emulates, comments, attribute order) is saved as
 * it was read. The reader's defaults for missing elements equal what we compare
 * against, so "absent" and "unchanged" never cause a write.
 */
#define G_LOG_DOMAIN "bw-settings"
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bw-settings-private.h"

#define MAX_MEMORY_MB 2097152u
#define MAX_CPUS 256u
#define MAX_VRAM_MB 1024u
#define MAX_MONITORS 64u
#define MAX_NIC_SLOT 35u     /* ICH9 allows 36 adapters; slots >= BW_MAX_NICS are kept, not shown */
#define MAX_PORT 255u        /* controller ports and devices */
#define MAX_DESCRIPTION (1024u * 1024)

struct BwMachineSettings {
    char *path;
    char *folder;
    xmlDoc *doc;
    char *version;      /* what the next save writes */
    char *version_read; /* as loaded; NULL for a new machine */
    unsigned minor;
    unsigned minor_read;
    bool backup_done;
    BwMachineConfig cfg;
};

/* ---- small helpers ----------------------------------------------------------------- */

typedef struct {
    const char *file;
    const char *folder;
    unsigned minor;
    GError **error;
} Rd;

G_GNUC_PRINTF(3, 4)
static bool bad(Rd *r, const xmlNode *n, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(r->error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID, "%s:%ld: %s", r->file,
                n != NULL ? xmlGetLineNo((xmlNode *)n) : 0L, msg);
    return false;
}

static bool rd_str(Rd *r, xmlNode *n, const char *attr, char **out)
{
    xmlChar *v;

    *out = NULL;
    if (n == NULL) {
        return true;
    }
    v = xmlGetProp(n, BAD_CAST attr);
    if (v == NULL) {
        return true;
    }
    if (strlen((const char *)v) > BW_XML_MAX_ATTR) {
        xmlFree(v);
        return bad(r, n, "<%s> attribute %s is longer than %u bytes", n->name, attr,
                   BW_XML_MAX_ATTR);
    }
    *out = g_strdup((const char *)v);
    xmlFree(v);
    return true;
}

static bool parse_ull(const char *s, unsigned long long *out)
{
    const char *p = s;
    char *end = NULL;
    unsigned base = 10;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!g_ascii_isxdigit(*p)) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(p, &end, base);
    if (errno != 0) {
        return false;
    }
    while (g_ascii_isspace(*end)) {
        end++;
    }
    return *end == '\0';
}

static bool rd_uint(Rd *r, xmlNode *n, const char *attr, unsigned def, unsigned min,
                    unsigned max, unsigned *out)
{
    g_autofree char *v = NULL;
    unsigned long long x;

    *out = def;
    if (!rd_str(r, n, attr, &v)) {
        return false;
    }
    if (v == NULL) {
        return true;
    }
    if (!parse_ull(v, &x)) {
        return bad(r, n, "<%s %s=\"%.40s\"> is not a number", n->name, attr, v);
    }
    if (x < min || x > max) {
        return bad(r, n, "<%s %s=\"%.40s\"> is out of range (%u..%u)", n->name, attr, v, min,
                   max);
    }
    *out = (unsigned)x;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    if (g_ascii_strcasecmp(v, "true") == 0 || g_ascii_strcasecmp(v, "yes") == 0 ||
        g_ascii_strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return true;
    }
    if (g_ascii_strcasecmp(v, "false") == 0 || g_ascii_strcasecmp(v, "no") == 0 ||
        g_ascii_strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return true;
    }
    return false;
}

static bool rd_bool(Rd *r, xmlNode *n, const char *attr, bool def, bool *out)
{
    g_autofree char *v = NULL;

    *out = def;
    if (!rd_str(r, n, attr, &v)) {
        return false;
    }
    if (v != NULL && !parse_bool(v, out)) {
        return bad(r, n, "<%s %s=\"%.40s\"> is not true or false", n->name, attr, v);
    }
    return true;
}

static bool rd_uuid(Rd *r, xmlNode *n, const char *attr, bool required, char **out)
{
    g_autofree char *v = NULL;

    *out = NULL;
    if (!rd_str(r, n, attr, &v)) {
        return false;
    }
    if (v == NULL) {
        return required ? bad(r, n, "<%s> has no %s attribute", n->name, attr) : true;
    }
    if (!bw_uuid_normalise(v, out)) {
        return bad(r, n, "<%s %s=\"%.60s\"> is not a UUID", n->name, attr, v);
    }
    return true;
}

static xmlNode *find_path(xmlNode *base, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    xmlNode *n = base;

    for (int i = 0; parts[i] != NULL && n != NULL; i++) {
        n = bw_xml_child(n, parts[i]);
    }
    return n;
}

static xmlNode *ensure_path(xmlNode *base, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    xmlNode *n = base;

    for (int i = 0; parts[i] != NULL; i++) {
        xmlNode *c = bw_xml_child(n, parts[i]);
        n = c != NULL ? c : bw_xml_add_child(n, parts[i]);
    }
    return n;
}

/* Where a setting lives: @path before 1.20, @alt in the 1.20 <Platform> layout. */
typedef struct {
    const char *path;
    const char *alt;
    const char *attr;
} Loc;

static xmlNode *loc_find(xmlNode *m, const Loc *l)
{
    xmlNode *n = find_path(m, l->path);

    if (n == NULL && l->alt != NULL) {
        n = find_path(m, l->alt);
    }
    return n;
}

static xmlNode *loc_ensure(xmlNode *m, const Loc *l, unsigned minor)
{
    xmlNode *n = loc_find(m, l);

    if (n == NULL) {
        n = ensure_path(m, minor >= 20 && l->alt != NULL ? l->alt : l->path);
    }
    return n;
}

static const Loc L_MEMORY = { "Hardware/Memory", NULL, "RAMSize" };
static const Loc L_CPUS = { "Hardware/CPU", "Platform/CPU", "count" };
static const Loc L_VRAM = { "Hardware/Display", NULL, "VRAMSize" };
static const Loc L_MONITORS = { "Hardware/Display", NULL, "monitorCount" };
static const Loc L_GRAPHICS = { "Hardware/Display", NULL, "controller" };
static const Loc L_FIRMWARE = { "Hardware/Firmware", NULL, "type" };
static const Loc L_CHIPSET = { "Hardware/Chipset", "Platform/Chipset", "type" };
static const Loc L_PARAVIRT = { "Hardware/Paravirt", NULL, "provider" };
static const Loc L_IOAPIC = { "Hardware/BIOS/IOAPIC", "Hardware/Firmware/IOAPIC", "enabled" };
static const Loc L_ACPI = { "Hardware/BIOS/ACPI", "Hardware/Firmware/ACPI", "enabled" };
static const Loc L_PAE = { "Hardware/CPU/PAE", "Platform/x86/CPU/PAE", "enabled" };
static const Loc L_LONGMODE = { "Hardware/CPU/LongMode", "Platform/x86/CPU/LongMode", "enabled" };
static const Loc L_HWVIRT = { "Hardware/CPU/HardwareVirtEx",
                              "Platform/x86/CPU/HardwareVirtEx", "enabled" };
static const Loc L_NESTEDPAGING = { "Hardware/CPU/HardwareVirtExNestedPaging",
                                    "Platform/x86/CPU/HardwareVirtExNestedPaging", "enabled" };
static const Loc L_VPID = { "Hardware/CPU/HardwareVirtExVPID",
                            "Platform/x86/CPU/HardwareVirtExVPID", "enabled" };
static const Loc L_LARGEPAGES = { "Hardware/CPU/HardwareVirtExLargePages",
                                  "Platform/x86/CPU/HardwareVirtExLargePages", "enabled" };
static const Loc L_NESTEDHW = { "Hardware/CPU/NestedHWVirt", "Platform/x86/CPU/NestedHWVirt",
                                "enabled" };
static const Loc L_RTC = { "Hardware/RTC", "Platform/RTC", "localOrUTC" };
static const Loc L_POINTING = { "Hardware/HID", NULL, "Pointing" };
static const Loc L_KEYBOARD = { "Hardware/HID", NULL, "Keyboard" };
static const Loc L_AUDIO_ON = { "Hardware/AudioAdapter", NULL, "enabled" };
static const Loc L_AUDIO_CTL = { "Hardware/AudioAdapter", NULL, "controller" };
static const Loc L_AUDIO_DRV = { "Hardware/AudioAdapter", NULL, "driver" };
static const Loc L_AUDIO_IN = { "Hardware/AudioAdapter", NULL, "enabledIn" };
static const Loc L_AUDIO_OUT = { "Hardware/AudioAdapter", NULL, "enabledOut" };

static bool rd_loc_uint(Rd *r, xmlNode *m, const Loc *l, unsigned def, unsigned min,
                        unsigned max, unsigned *out)
{
    return rd_uint(r, loc_find(m, l), l->attr, def, min, max, out);
}

static bool rd_loc_bool(Rd *r, xmlNode *m, const Loc *l, bool def, bool *out)
{
    return rd_bool(r, loc_find(m, l), l->attr, def, out);
}

static bool rd_loc_str(Rd *r, xmlNode *m, const Loc *l, const char *def, char **out)
{
    if (!rd_str(r, loc_find(m, l), l->attr, out)) {
        return false;
    }
    if (*out == NULL && def != NULL) {
        *out = g_strdup(def);
    }
    return true;
}

/* ---- view objects ------------------------------------------------------------------ */

static void medium_free(gpointer p)
{
    BwMedium *m = p;

    if (m == NULL) {
        return;
    }
    g_free(m->uuid);
    g_free(m->location);
    g_free(m->path);
    g_free(m->format);
    g_free(m->type);
    if (m->children != NULL) {
        g_ptr_array_unref(m->children);
    }
    g_free(m);
}

static void attachment_free(gpointer p)
{
    BwAttachment *a = p;

    if (a == NULL) {
        return;
    }
    g_free(a->medium_uuid);
    g_free(a->host_drive);
    g_free(a);
}

static void controller_free(gpointer p)
{
    BwStorageController *sc = p;

    if (sc == NULL) {
        return;
    }
    g_free(sc->name);
    g_free(sc->type);
    g_free(sc->bus);
    if (sc->attachments != NULL) {
        g_ptr_array_unref(sc->attachments);
    }
    g_free(sc);
}

static void nat_rule_free(gpointer p)
{
    BwNatRule *r = p;

    if (r == NULL) {
        return;
    }
    g_free(r->name);
    g_free(r->host_ip);
    g_free(r->guest_ip);
    g_free(r);
}

static void snapshot_free(BwSnapshot *sn)
{
    if (sn == NULL) {
        return;
    }
    g_free(sn->uuid);
    g_free(sn->name);
    g_free(sn->time_stamp);
    g_free(sn->description);
    if (sn->children != NULL) {
        g_ptr_array_unref(sn->children);
    }
    g_free(sn);
}

static void snapshot_free_cb(gpointer p)
{
    snapshot_free(p);
}

static void config_clear(BwMachineConfig *c)
{
    g_free(c->uuid);
    g_free(c->name);
    g_free(c->os_type);
    g_free(c->description);
    g_free(c->state_file);
    g_free(c->current_snapshot);
    g_free(c->snapshot_folder);
    g_free(c->graphics_controller);
    g_free(c->chipset);
    g_free(c->paravirt_provider);
    g_free(c->pointing);
    g_free(c->keyboard);
    g_free(c->audio_controller);
    g_free(c->audio_driver);
    for (unsigned i = 0; i < BW_MAX_NICS; i++) {
        g_free(c->nics[i].mac);
        g_free(c->nics[i].type);
        g_free(c->nics[i].attachment);
        g_free(c->nics[i].attachment_name);
        if (c->nics[i].nat_rules != NULL) {
            g_ptr_array_unref(c->nics[i].nat_rules);
        }
    }
    for (unsigned i = 0; i < BW_MAX_UARTS; i++) {
        g_free(c->uarts[i].mode);
        g_free(c->uarts[i].path);
    }
    if (c->controllers != NULL) {
        g_ptr_array_unref(c->controllers);
    }
    if (c->media != NULL) {
        g_ptr_array_unref(c->media);
    }
    snapshot_free(c->snapshots);
    if (c->extra_data != NULL) {
        g_ptr_array_unref(c->extra_data);
    }
    memset(c, 0, sizeof(*c));
}

const char *bw_storage_bus_for_type(const char *type)
{
    static const struct {
        const char *type;
        const char *bus;
    } map[] = {
        { "AHCI", "SATA" },       { "PIIX3", "IDE" },       { "PIIX4", "IDE" },
        { "ICH6", "IDE" },        { "LsiLogic", "SCSI" },   { "BusLogic", "SCSI" },
        { "LsiLogicSas", "SAS" }, { "I82078", "Floppy" },   { "USB", "USB" },
        { "NVMe", "PCIe" },       { "VirtioSCSI", "VirtIO" },
    };

    for (size_t i = 0; type != NULL && i < G_N_ELEMENTS(map); i++) {
        if (g_ascii_strcasecmp(map[i].type, type) == 0) {
            return map[i].bus;
        }
    }
    return NULL;
}

static const char *device_name(BwDeviceType t)
{
    switch (t) {
    case BW_DEVICE_DVD:
        return "DVD";
    case BW_DEVICE_FLOPPY:
        return "Floppy";
    case BW_DEVICE_HARDDISK:
    default:
        return "HardDisk";
    }
}

static bool device_parse(const char *s, BwDeviceType *t)
{
    if (s == NULL) {
        return false;
    }
    if (g_ascii_strcasecmp(s, "HardDisk") == 0) {
        *t = BW_DEVICE_HARDDISK;
    } else if (g_ascii_strcasecmp(s, "DVD") == 0) {
        *t = BW_DEVICE_DVD;
    } else if (g_ascii_strcasecmp(s, "Floppy") == 0) {
        *t = BW_DEVICE_FLOPPY;
    } else {
        return false;
    }
    return true;
}

static const struct {
    const char *element;
    const char *mode;
    const char *name_attr;
} nic_modes[] = {
    { "NAT", "nat", NULL },
    { "BridgedInterface", "bridged", "name" },
    { "InternalNetwork", "intnet", "name" },
    { "HostOnlyInterface", "hostonly", "name" },
    { "GenericInterface", "generic", "driver" },
    { "NATNetwork", "natnetwork", "name" },
    { "HostOnlyNetwork", "hostonlynetwork", "name" },
    { "CloudNetwork", "cloud", "name" },
};

static int nic_mode_index(const char *mode)
{
    for (size_t i = 0; mode != NULL && i < G_N_ELEMENTS(nic_modes); i++) {
        if (g_ascii_strcasecmp(nic_modes[i].mode, mode) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* The adapter's active attachment element (not the ones under <DisabledModes>). */
static xmlNode *nic_mode_element(xmlNode *adapter, int *index)
{
    for (xmlNode *c = adapter->children; c != NULL; c = c->next) {
        for (size_t i = 0; i < G_N_ELEMENTS(nic_modes); i++) {
            if (bw_xml_is(c, nic_modes[i].element)) {
                *index = (int)i;
                return c;
            }
        }
    }
    *index = -1;
    return NULL;
}

static const unsigned uart_default_base[BW_MAX_UARTS] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const unsigned uart_default_irq[BW_MAX_UARTS] = { 4, 3, 4, 3 };

/* ---- reading ------------------------------------------------------------------------ */

static BwMedium *find_medium_uuid(GPtrArray *media, const char *uuid)
{
    for (guint i = 0; media != NULL && i < media->len; i++) {
        BwMedium *m = g_ptr_array_index(media, i);
        if (bw_uuid_equal(m->uuid, uuid)) {
            return m;
        }
    }
    return NULL;
}

static bool read_medium(Rd *r, xmlNode *n, BwDeviceType dev, BwMedium *parent, GPtrArray *media,
                        unsigned depth)
{
    g_autofree char *uuid = NULL;
    BwMedium *m;

    if (depth > BW_XML_MAX_DEPTH) {
        return bad(r, n, "differencing images nest deeper than %d levels", BW_XML_MAX_DEPTH);
    }
    if (!rd_uuid(r, n, "uuid", true, &uuid)) {
        return false;
    }
    if (find_medium_uuid(media, uuid) != NULL) {
        return bad(r, n, "medium %s is registered twice", uuid);
    }
    m = g_new0(BwMedium, 1);
    m->uuid = g_steal_pointer(&uuid);
    m->device = dev;
    m->parent = parent;
    m->children = g_ptr_array_new();
    g_ptr_array_add(media, m);
    if (parent != NULL) {
        g_ptr_array_add(parent->children, m);
    }
    if (!rd_str(r, n, "location", &m->location) || !rd_str(r, n, "format", &m->format) ||
        !rd_str(r, n, "type", &m->type)) {
        return false;
    }
    if (m->location == NULL || m->location[0] == '\0') {
        return bad(r, n, "medium %s has no location", m->uuid);
    }
    m->path = bw_settings_resolve_path(r->folder, m->location, &m->foreign_path);
    if (dev == BW_DEVICE_HARDDISK) {
        for (xmlNode *c = bw_xml_child(n, "HardDisk"); c != NULL; c = bw_xml_next(c, "HardDisk")) {
            if (!read_medium(r, c, dev, m, media, depth + 1)) {
                return false;
            }
        }
    }
    return true;
}

static bool read_media(Rd *r, xmlNode *machine, BwMachineConfig *c)
{
    xmlNode *reg = bw_xml_child(machine, "MediaRegistry");
    static const struct {
        const char *list;
        const char *item;
        BwDeviceType dev;
    } kinds[] = {
        { "HardDisks", "HardDisk", BW_DEVICE_HARDDISK },
        { "DVDImages", "Image", BW_DEVICE_DVD },
        { "FloppyImages", "Image", BW_DEVICE_FLOPPY },
    };

    for (size_t k = 0; reg != NULL && k < G_N_ELEMENTS(kinds); k++) {
        xmlNode *list = bw_xml_child(reg, kinds[k].list);
        for (xmlNode *n = bw_xml_child(list, kinds[k].item); n != NULL;
             n = bw_xml_next(n, kinds[k].item)) {
            if (!read_medium(r, n, kinds[k].dev, NULL, c->media, 0)) {
                return false;
            }
        }
    }
    return true;
}

static xmlNode *controllers_element(xmlNode *owner)
{
    xmlNode *hw = bw_xml_child(owner, "Hardware");
    xmlNode *in_hw = bw_xml_child(hw, "StorageControllers");

    return in_hw != NULL ? in_hw : bw_xml_child(owner, "StorageControllers");
}

/* Checks the medium references of one <StorageControllers>; fills @out when not NULL. */
static bool read_controllers(Rd *r, xmlNode *scs, GPtrArray *media, GPtrArray *out)
{
    for (xmlNode *n = bw_xml_child(scs, "StorageController"); n != NULL;
         n = bw_xml_next(n, "StorageController")) {
        BwStorageController *sc = g_new0(BwStorageController, 1);
        bool ok;

        sc->attachments = g_ptr_array_new_with_free_func(attachment_free);
        ok = rd_str(r, n, "name", &sc->name) && rd_str(r, n, "type", &sc->type) &&
             rd_uint(r, n, "PortCount", 0, 0, MAX_PORT + 1, &sc->port_count) &&
             rd_bool(r, n, "Bootable", true, &sc->bootable) &&
             rd_bool(r, n, "useHostIOCache", false, &sc->host_io_cache);
        if (ok && (sc->name == NULL || sc->type == NULL)) {
            ok = bad(r, n, "<StorageController> needs a name and a type");
        }
        if (ok) {
            sc->bus = g_strdup(bw_storage_bus_for_type(sc->type));
        }
        for (xmlNode *a = bw_xml_child(n, "AttachedDevice"); ok && a != NULL;
             a = bw_xml_next(a, "AttachedDevice")) {
            BwAttachment *at = g_new0(BwAttachment, 1);
            g_autofree char *type = NULL;
            unsigned port = 0, dev = 0;

            g_ptr_array_add(sc->attachments, at);
            ok = rd_str(r, a, "type", &type) && rd_uint(r, a, "port", 0, 0, MAX_PORT, &port) &&
                 rd_uint(r, a, "device", 0, 0, MAX_PORT, &dev) &&
                 rd_bool(r, a, "passthrough", false, &at->passthrough) &&
                 rd_bool(r, a, "nonrotational", false, &at->nonrotational) &&
                 rd_bool(r, a, "discard", false, &at->discard) &&
                 rd_bool(r, a, "hotpluggable", false, &at->hotpluggable) &&
                 rd_bool(r, a, "tempeject", false, &at->tempeject);
            if (!ok) {
                break;
            }
            if (!device_parse(type, &at->type)) {
                ok = bad(r, a, "<AttachedDevice type=\"%.40s\"> is not HardDisk, DVD or Floppy",
                         type != NULL ? type : "");
                break;
            }
            at->port = (int)port;
            at->device = (int)dev;
            xmlNode *img = bw_xml_child(a, "Image");
            xmlNode *host = bw_xml_child(a, "HostDrive");
            if (img != NULL) {
                ok = rd_uuid(r, img, "uuid", true, &at->medium_uuid);
                /* Before 1.11 media lived in the global registry: cannot check here. */
                if (ok && r->minor >= 11 && find_medium_uuid(media, at->medium_uuid) == NULL) {
                    ok = bad(r, img, "refers to medium %s, which is not in the MediaRegistry",
                             at->medium_uuid);
                }
            } else if (host != NULL) {
                ok = rd_str(r, host, "src", &at->host_drive);
            }
        }
        if (ok && out != NULL) {
            for (guint i = 0; i < out->len; i++) {
                BwStorageController *o = g_ptr_array_index(out, i);
                if (strcmp(o->name, sc->name) == 0) {
                    ok = bad(r, n, "two storage controllers are named \"%s\"", sc->name);
                    break;
                }
            }
        }
        if (!ok || out == NULL) {
            controller_free(sc);
            if (!ok) {
                return false;
            }
            continue;
        }
        g_ptr_array_add(out, sc);
    }
    return true;
}

static bool read_snapshot(Rd *r, xmlNode *n, BwSnapshot *parent, BwMachineConfig *c,
                          unsigned depth, BwSnapshot **out)
{
    BwSnapshot *sn;

    *out = NULL;
    if (depth > BW_XML_MAX_DEPTH / 2) {
        return bad(r, n, "snapshots nest deeper than %d levels", BW_XML_MAX_DEPTH / 2);
    }
    sn = g_new0(BwSnapshot, 1);
    sn->parent = parent;
    sn->children = g_ptr_array_new_with_free_func(snapshot_free_cb);
    *out = sn;
    c->snapshot_count++;
    if (!rd_uuid(r, n, "uuid", true, &sn->uuid) || !rd_str(r, n, "name", &sn->name) ||
        !rd_str(r, n, "timeStamp", &sn->time_stamp)) {
        return false;
    }
    xmlNode *d = bw_xml_child(n, "Description");
    if (d != NULL) {
        xmlChar *t = xmlNodeGetContent(d);
        if (t != NULL && strlen((const char *)t) > MAX_DESCRIPTION) {
            xmlFree(t);
            return bad(r, d, "the description is longer than %u bytes", MAX_DESCRIPTION);
        }
        sn->description = g_strdup((const char *)t);
        xmlFree(t);
    }
    if (!read_controllers(r, controllers_element(n), c->media, NULL)) {
        return false;
    }
    xmlNode *kids = bw_xml_child(n, "Snapshots");
    for (xmlNode *k = bw_xml_child(kids, "Snapshot"); k != NULL; k = bw_xml_next(k, "Snapshot")) {
        BwSnapshot *child = NULL;
        bool ok = read_snapshot(r, k, sn, c, depth + 1, &child);

        if (child != NULL) {
            g_ptr_array_add(sn->children, child);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

static BwSnapshot *find_snapshot(BwSnapshot *sn, const char *uuid)
{
    if (sn == NULL) {
        return NULL;
    }
    if (bw_uuid_equal(sn->uuid, uuid)) {
        return sn;
    }
    for (guint i = 0; i < sn->children->len; i++) {
        BwSnapshot *f = find_snapshot(g_ptr_array_index(sn->children, i), uuid);
        if (f != NULL) {
            return f;
        }
    }
    return NULL;
}

static bool read_nics(Rd *r, xmlNode *m, BwMachineConfig *c)
{
    xmlNode *net = find_path(m, "Hardware/Network");
    bool seen[MAX_NIC_SLOT + 1] = { false };

    for (unsigned i = 0; i < BW_MAX_NICS; i++) {
        BwNic *nic = &c->nics[i];
        nic->cable = true;
        nic->type = g_strdup("Am79C973");
        nic->attachment = g_strdup("none");
        nic->nat_rules = g_ptr_array_new_with_free_func(nat_rule_free);
    }
    for (xmlNode *a = bw_xml_child(net, "Adapter"); a != NULL; a = bw_xml_next(a, "Adapter")) {
        unsigned slot;
        int mi;

        if (!rd_uint(r, a, "slot", 0, 0, MAX_NIC_SLOT, &slot)) {
            return false;
        }
        if (seen[slot]) {
            return bad(r, a, "two network adapters use slot %u", slot);
        }
        seen[slot] = true;
        if (slot >= BW_MAX_NICS) {
            continue; /* kept in the document, not shown */
        }
        BwNic *nic = &c->nics[slot];
        g_clear_pointer(&nic->type, g_free);
        if (!rd_bool(r, a, "enabled", false, &nic->enabled) ||
            !rd_str(r, a, "MACAddress", &nic->mac) || !rd_bool(r, a, "cable", true, &nic->cable) ||
            !rd_str(r, a, "type", &nic->type)) {
            return false;
        }
        if (nic->type == NULL) {
            nic->type = g_strdup("Am79C973");
        }
        if (nic->mac != NULL) {
            char *up = g_ascii_strup(nic->mac, -1);
            g_free(nic->mac);
            nic->mac = up;
        }
        xmlNode *mode = nic_mode_element(a, &mi);
        if (mode != NULL) {
            g_free(nic->attachment);
            nic->attachment = g_strdup(nic_modes[mi].mode);
            if (nic_modes[mi].name_attr != NULL &&
                !rd_str(r, mode, nic_modes[mi].name_attr, &nic->attachment_name)) {
                return false;
            }
        }
        xmlNode *nat = bw_xml_child(a, "NAT");
        for (xmlNode *f = bw_xml_child(nat, "Forwarding"); f != NULL;
             f = bw_xml_next(f, "Forwarding")) {
            BwNatRule *rule = g_new0(BwNatRule, 1);
            unsigned proto = 1;

            g_ptr_array_add(nic->nat_rules, rule);
            if (!rd_str(r, f, "name", &rule->name) || !rd_uint(r, f, "proto", 1, 0, 1, &proto) ||
                !rd_str(r, f, "hostip", &rule->host_ip) ||
                !rd_uint(r, f, "hostport", 0, 0, 65535, &rule->host_port) ||
                !rd_str(r, f, "guestip", &rule->guest_ip) ||
                !rd_uint(r, f, "guestport", 0, 0, 65535, &rule->guest_port)) {
                return false;
            }
            rule->tcp = proto == 1;
            if (rule->name == NULL) {
                rule->name = g_strdup("");
            }
            if (rule->host_ip == NULL) {
                rule->host_ip = g_strdup("");
            }
            if (rule->guest_ip == NULL) {
                rule->guest_ip = g_strdup("");
            }
        }
    }
    return true;
}

static bool read_uarts(Rd *r, xmlNode *m, BwMachineConfig *c)
{
    xmlNode *uart = find_path(m, "Hardware/UART");
    bool seen[BW_MAX_UARTS] = { false };

    for (unsigned i = 0; i < BW_MAX_UARTS; i++) {
        c->uarts[i].io_base = uart_default_base[i];
        c->uarts[i].irq = uart_default_irq[i];
        c->uarts[i].mode = g_strdup("Disconnected");
    }
    for (xmlNode *p = bw_xml_child(uart, "Port"); p != NULL; p = bw_xml_next(p, "Port")) {
        unsigned slot;

        if (!rd_uint(r, p, "slot", 0, 0, BW_MAX_UARTS - 1, &slot)) {
            return false;
        }
        if (seen[slot]) {
            return bad(r, p, "two serial ports use slot %u", slot);
        }
        seen[slot] = true;
        BwUart *u = &c->uarts[slot];
        g_clear_pointer(&u->mode, g_free);
        if (!rd_bool(r, p, "enabled", false, &u->enabled) ||
            !rd_uint(r, p, "IOBase", uart_default_base[slot], 0, 0xffff, &u->io_base) ||
            !rd_uint(r, p, "IRQ", uart_default_irq[slot], 0, 255, &u->irq) ||
            !rd_str(r, p, "hostMode", &u->mode) || !rd_str(r, p, "path", &u->path) ||
            !rd_bool(r, p, "server", false, &u->server)) {
            return false;
        }
        if (u->mode == NULL) {
            u->mode = g_strdup("Disconnected");
        }
    }
    return true;
}

static bool read_boot(Rd *r, xmlNode *m, BwMachineConfig *c)
{
    xmlNode *boot = find_path(m, "Hardware/Boot");
    static const BwBootDevice def[BW_MAX_BOOT] = { BW_BOOT_FLOPPY, BW_BOOT_DVD, BW_BOOT_DISK,
                                                   BW_BOOT_NONE };

    if (boot == NULL) {
        memcpy(c->boot, def, sizeof(def));
        return true;
    }
    for (unsigned i = 0; i < BW_MAX_BOOT; i++) {
        c->boot[i] = BW_BOOT_NONE;
    }
    for (xmlNode *o = bw_xml_child(boot, "Order"); o != NULL; o = bw_xml_next(o, "Order")) {
        unsigned pos;
        g_autofree char *dev = NULL;

        if (!rd_uint(r, o, "position", 1, 1, 64, &pos) || !rd_str(r, o, "device", &dev)) {
            return false;
        }
        if (pos > BW_MAX_BOOT) {
            continue;
        }
        BwBootDevice d = BW_BOOT_NONE;
        if (dev == NULL || g_ascii_strcasecmp(dev, "None") == 0) {
            d = BW_BOOT_NONE;
        } else if (g_ascii_strcasecmp(dev, "Floppy") == 0) {
            d = BW_BOOT_FLOPPY;
        } else if (g_ascii_strcasecmp(dev, "DVD") == 0) {
            d = BW_BOOT_DVD;
        } else if (g_ascii_strcasecmp(dev, "HardDisk") == 0) {
            d = BW_BOOT_DISK;
        } else if (g_ascii_strcasecmp(dev, "Network") == 0) {
            d = BW_BOOT_NET;
        } /* else: USB, SharedFolder ... we cannot boot: shown as none, kept in the file */
        c->boot[pos - 1] = d;
    }
    return true;
}

static bool read_usb(Rd *r, xmlNode *m, BwMachineConfig *c)
{
    xmlNode *ctls = find_path(m, "Hardware/USB/Controllers");

    if (ctls != NULL) {
        for (xmlNode *n = bw_xml_child(ctls, "Controller"); n != NULL;
             n = bw_xml_next(n, "Controller")) {
            g_autofree char *type = NULL;
            if (!rd_str(r, n, "type", &type)) {
                return false;
            }
            if (type == NULL) {
                continue;
            }
            if (g_ascii_strcasecmp(type, "OHCI") == 0) {
                c->usb_ohci = true;
            } else if (g_ascii_strcasecmp(type, "EHCI") == 0) {
                c->usb_ehci = true;
            } else if (g_ascii_strcasecmp(type, "XHCI") == 0) {
                c->usb_xhci = true;
            }
        }
        return true;
    }
    /* Before 1.14: <USBController enabled= enabledEhci=>. */
    xmlNode *old = find_path(m, "Hardware/USBController");
    return rd_bool(r, old, "enabled", false, &c->usb_ohci) &&
           rd_bool(r, old, "enabledEhci", false, &c->usb_ehci);
}

static bool read_config(BwMachineSettings *s, BwMachineConfig *c, GError **error)
{
    Rd rd = { s->path, s->folder, s->minor, error };
    Rd *r = &rd;
    xmlNode *root = xmlDocGetRootElement(s->doc);
    xmlNode *m = bw_xml_child(root, "Machine");
    g_autofree char *fw = NULL;
    g_autofree char *rtc = NULL;
    bool ok;

    memset(c, 0, sizeof(*c));
    c->controllers = g_ptr_array_new_with_free_func(controller_free);
    c->media = g_ptr_array_new_with_free_func(medium_free);
    c->extra_data = g_ptr_array_new_with_free_func(g_free);

    if (m == NULL) {
        if (bw_xml_child(root, "MachineEncrypted") != NULL) {
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_UNSUPPORTED,
                        "%s:%ld: the machine is encrypted (<MachineEncrypted>); Boxwood cannot "
                        "open encrypted machines — decrypt it in VirtualBox first", s->path,
                        xmlGetLineNo(bw_xml_child(root, "MachineEncrypted")));
            return false;
        }
        if (bw_xml_child(root, "Global") != NULL) {
            return bad(r, root, "this is a global settings file, not a machine (.vbox) file");
        }
        return bad(r, root, "<VirtualBox> has no <Machine> element");
    }

    if (!rd_uuid(r, m, "uuid", true, &c->uuid) || !rd_str(r, m, "name", &c->name) ||
        !rd_str(r, m, "OSType", &c->os_type) || !rd_str(r, m, "stateFile", &c->state_file) ||
        !rd_uuid(r, m, "currentSnapshot", false, &c->current_snapshot) ||
        !rd_str(r, m, "snapshotFolder", &c->snapshot_folder) ||
        !rd_bool(r, m, "aborted", false, &c->aborted)) {
        return false;
    }
    if (c->name == NULL || c->name[0] == '\0') {
        return bad(r, m, "<Machine> has no name");
    }
    if (c->os_type == NULL) {
        c->os_type = g_strdup("Other");
    }
    if (c->snapshot_folder == NULL) {
        c->snapshot_folder = g_strdup("Snapshots");
    }
    xmlNode *desc = bw_xml_child(m, "Description");
    if (desc != NULL) {
        xmlChar *t = xmlNodeGetContent(desc);
        if (t != NULL && strlen((const char *)t) > MAX_DESCRIPTION) {
            xmlFree(t);
            return bad(r, desc, "the description is longer than %u bytes", MAX_DESCRIPTION);
        }
        c->description = g_strdup(t != NULL ? (const char *)t : "");
        xmlFree(t);
    }

    ok = rd_loc_uint(r, m, &L_MEMORY, 128, 4, MAX_MEMORY_MB, &c->memory_mb) &&
         rd_loc_uint(r, m, &L_CPUS, 1, 1, MAX_CPUS, &c->cpus) &&
         rd_loc_uint(r, m, &L_VRAM, 8, 0, MAX_VRAM_MB, &c->vram_mb) &&
         rd_loc_str(r, m, &L_GRAPHICS, "VBoxVGA", &c->graphics_controller) &&
         rd_loc_str(r, m, &L_FIRMWARE, NULL, &fw) &&
         rd_loc_str(r, m, &L_CHIPSET, "PIIX3", &c->chipset) &&
         rd_loc_str(r, m, &L_PARAVIRT, "Legacy", &c->paravirt_provider) &&
         rd_loc_bool(r, m, &L_IOAPIC, false, &c->ioapic) &&
         rd_loc_bool(r, m, &L_ACPI, true, &c->acpi) &&
         rd_loc_bool(r, m, &L_PAE, false, &c->pae) &&
         rd_loc_bool(r, m, &L_LONGMODE, false, &c->long_mode) &&
         rd_loc_bool(r, m, &L_HWVIRT, true, &c->hwvirt) &&
         rd_loc_bool(r, m, &L_NESTEDPAGING, true, &c->nested_paging) &&
         rd_loc_bool(r, m, &L_VPID, true, &c->vpid) &&
         rd_loc_bool(r, m, &L_LARGEPAGES, false, &c->large_pages) &&
         rd_loc_bool(r, m, &L_NESTEDHW, false, &c->nested_hw_virt) &&
         rd_loc_str(r, m, &L_RTC, NULL, &rtc) &&
         rd_loc_str(r, m, &L_POINTING, "PS2Mouse", &c->pointing) &&
         rd_loc_str(r, m, &L_KEYBOARD, "PS2Keyboard", &c->keyboard) &&
         rd_loc_bool(r, m, &L_AUDIO_ON, false, &c->audio_enabled) &&
         rd_loc_str(r, m, &L_AUDIO_CTL, "AC97", &c->audio_controller) &&
         rd_loc_str(r, m, &L_AUDIO_DRV, "Null", &c->audio_driver) &&
         rd_loc_bool(r, m, &L_AUDIO_IN, false, &c->audio_in) &&
         rd_loc_bool(r, m, &L_AUDIO_OUT, false, &c->audio_out);
    if (!ok) {
        return false;
    }
    /* Old files spell it MonitorCount. */
    xmlNode *disp = loc_find(m, &L_MONITORS);
    if (disp != NULL && xmlHasProp(disp, BAD_CAST "monitorCount") == NULL &&
        xmlHasProp(disp, BAD_CAST "MonitorCount") != NULL) {
        ok = rd_uint(r, disp, "MonitorCount", 1, 1, MAX_MONITORS, &c->monitor_count);
    } else {
        ok = rd_uint(r, disp, "monitorCount", 1, 1, MAX_MONITORS, &c->monitor_count);
    }
    if (!ok) {
        return false;
    }
    c->firmware = fw != NULL && (g_ascii_strncasecmp(fw, "EFI", 3) == 0 || strcmp(fw, "2") == 0)
                      ? BW_FIRMWARE_EFI
                      : BW_FIRMWARE_BIOS;
    c->rtc_utc = rtc != NULL && g_ascii_strcasecmp(rtc, "UTC") == 0;

    if (!read_boot(r, m, c) || !read_usb(r, m, c) || !read_nics(r, m, c) ||
        !read_uarts(r, m, c) || !read_media(r, m, c) ||
        !read_controllers(r, controllers_element(m), c->media, c->controllers)) {
        return false;
    }

    xmlNode *sn = bw_xml_child(m, "Snapshot");
    if (sn != NULL) {
        ok = read_snapshot(r, sn, NULL, c, 0, &c->snapshots);
        if (!ok) {
            return false;
        }
    }
    if (c->current_snapshot != NULL && find_snapshot(c->snapshots, c->current_snapshot) == NULL) {
        return bad(r, m, "currentSnapshot %s names no snapshot in the file", c->current_snapshot);
    }

    xmlNode *ed = bw_xml_child(m, "ExtraData");
    for (xmlNode *it = bw_xml_child(ed, "ExtraDataItem"); it != NULL;
         it = bw_xml_next(it, "ExtraDataItem")) {
        char *name = NULL, *value = NULL;
        if (!rd_str(r, it, "name", &name) || !rd_str(r, it, "value", &value)) {
            g_free(name);
            return false;
        }
        if (name == NULL) {
            g_free(value);
            return bad(r, it, "<ExtraDataItem> has no name");
        }
        g_ptr_array_add(c->extra_data, name);
        g_ptr_array_add(c->extra_data, value != NULL ? value : g_strdup(""));
    }
    return true;
}

/* ---- load / new / free -------------------------------------------------------------- */

static BwMachineSettings *settings_from_doc(xmlDoc *doc, const char *path, GError **error)
{
    BwMachineSettings *s = g_new0(BwMachineSettings, 1);
    g_autofree char *abs = g_canonicalize_filename(path, NULL);

    s->path = g_steal_pointer(&abs);
    s->folder = g_path_get_dirname(s->path);
    s->doc = doc;
    if (!bw_xml_check_root(doc, path, &s->version, &s->minor, error) ||
        !read_config(s, &s->cfg, error)) {
        bw_machine_settings_free(s);
        return NULL;
    }
    s->version_read = g_strdup(s->version);
    s->minor_read = s->minor;
    return s;
}

BwMachineSettings *bw_machine_settings_load_from_data(const char *data, size_t len,
                                                      const char *path, GError **error)
{
    xmlDoc *doc = bw_xml_parse(data, len, path, error);

    if (doc == NULL) {
        return NULL;
    }
    return settings_from_doc(doc, path, error);
}

BwMachineSettings *bw_machine_settings_load(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    size_t len = 0;
    bool exists;

    if (!bw_xml_read_file(path, &data, &len, &exists, error)) {
        return NULL;
    }
    return bw_machine_settings_load_from_data(data, len, path, error);
}

void bw_machine_settings_free(BwMachineSettings *s)
{
    if (s == NULL) {
        return;
    }
    config_clear(&s->cfg);
    if (s->doc != NULL) {
        xmlFreeDoc(s->doc);
    }
    g_free(s->path);
    g_free(s->folder);
    g_free(s->version);
    g_free(s->version_read);
    g_free(s);
}

static const char new_machine_template[] =
    "<?xml version=\"1.0\"?>\n"
    "<!--\n"
    "** DO NOT EDIT THIS FILE.\n"
    "** If you make changes to this file while any VirtualBox related application\n"
    "** is running, your changes will be overwritten later, without taking effect.\n"
    "** Use VBoxManage or the VirtualBox Manager GUI to make changes.\n"
    "-->\n"
    "<VirtualBox xmlns=\"http://www.virtualbox.org/\" version=\"" BW_SETTINGS_VERSION_NEW "\">\n"
    "  <Machine uuid=\"\" name=\"\" OSType=\"\" snapshotFolder=\"Snapshots\">\n"
    "    <MediaRegistry/>\n"
    "    <Hardware>\n"
    "      <CPU count=\"1\">\n"
    "        <PAE enabled=\"false\"/>\n"
    "        <LongMode enabled=\"false\"/>\n"
    "        <HardwareVirtExLargePages enabled=\"true\"/>\n"
    "      </CPU>\n"
    "      <Memory RAMSize=\"128\"/>\n"
    "      <Firmware type=\"BIOS\"/>\n"
    "      <HID Pointing=\"USBTablet\" Keyboard=\"PS2Keyboard\"/>\n"
    "      <Boot>\n"
    "        <Order position=\"1\" device=\"DVD\"/>\n"
    "        <Order position=\"2\" device=\"HardDisk\"/>\n"
    "        <Order position=\"3\" device=\"None\"/>\n"
    "        <Order position=\"4\" device=\"None\"/>\n"
    "      </Boot>\n"
    "      <Display controller=\"VMSVGA\" VRAMSize=\"16\"/>\n"
    "      <BIOS>\n"
    "        <IOAPIC enabled=\"true\"/>\n"
    "      </BIOS>\n"
    "      <Network>\n"
    "        <Adapter slot=\"0\" enabled=\"true\" MACAddress=\"\" type=\"82540EM\">\n"
    "          <NAT/>\n"
    "        </Adapter>\n"
    "      </Network>\n"
    "      <AudioAdapter driver=\"Pulse\" enabled=\"false\"/>\n"
    "      <RTC localOrUTC=\"UTC\"/>\n"
    "    </Hardware>\n"
    "  </Machine>\n"
    "</VirtualBox>\n";

BwMachineSettings *bw_machine_settings_new(const char *name, const char *os_type,
                                           const char *uuid, const char *path)
{
    xmlDoc *doc = bw_xml_parse(new_machine_template, sizeof(new_machine_template) - 1, path,
                               NULL);
    g_autofree char *id = uuid != NULL ? g_strdup(uuid) : bw_generate_uuid();
    g_autofree char *mac = bw_generate_mac();
    const BwOsType *ost = bw_os_type_find(os_type);
    xmlNode *m;
    BwMachineSettings *s;

    g_return_val_if_fail(doc != NULL, NULL);
    m = bw_xml_child(xmlDocGetRootElement(doc), "Machine");
    bw_xml_set(m, "uuid", id);
    bw_xml_set(m, "name", name);
    bw_xml_set(m, "OSType", os_type != NULL ? os_type : "Other");
    bw_xml_set(find_path(m, "Hardware/Network/Adapter"), "MACAddress", mac);
    if (ost != NULL && ost->is_64bit) {
        bw_xml_set(find_path(m, "Hardware/CPU/LongMode"), "enabled", "true");
    }
    if (ost != NULL && ost->efi) {
        bw_xml_set(find_path(m, "Hardware/Firmware"), "type", "EFI");
    }

    s = settings_from_doc(doc, path, NULL);
    if (s == NULL) {
        /* Only a bad @uuid or @name can fail here; fall back to a fresh UUID. */
        g_autofree char *fresh = bw_generate_uuid();
        if (uuid != NULL) {
            return bw_machine_settings_new(name != NULL && name[0] != '\0' ? name : "Unnamed",
                                           os_type, fresh, path);
        }
        return bw_machine_settings_new("Unnamed", os_type, fresh, path);
    }
    g_clear_pointer(&s->version_read, g_free);
    s->minor_read = 0;
    return s;
}

const char *bw_machine_settings_get_path(const BwMachineSettings *s)
{
    return s->path;
}

const char *bw_machine_settings_get_folder(const BwMachineSettings *s)
{
    return s->folder;
}

const char *bw_machine_settings_get_version(const BwMachineSettings *s)
{
    return s->version;
}

BwMachineConfig *bw_machine_settings_config(BwMachineSettings *s)
{
    return &s->cfg;
}

/* ---- validation of the caller's view ------------------------------------------------ */

G_GNUC_PRINTF(3, 4)
static bool invalid(BwMachineSettings *s, GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID, "%s: %s", s->path, msg);
    return false;
}

static bool valid_text(const char *s, size_t max)
{
    if (s == NULL || strlen(s) > max || !g_utf8_validate(s, -1, NULL)) {
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
            return false; /* XML 1.0 cannot carry other control characters */
        }
    }
    return true;
}

static bool valid_opt_text(const char *s, size_t max)
{
    return s == NULL || valid_text(s, max);
}

static bool valid_mac(const char *mac)
{
    if (mac == NULL || strlen(mac) != 12) {
        return false;
    }
    for (int i = 0; i < 12; i++) {
        if (!g_ascii_isxdigit(mac[i])) {
            return false;
        }
    }
    return true;
}

static char *relative_location(BwMachineSettings *s, const char *path)
{
    size_t fl = strlen(s->folder);

    if (strncmp(path, s->folder, fl) == 0 && path[fl] == '/' && path[fl + 1] != '\0') {
        return g_strdup(path + fl + 1);
    }
    return g_strdup(path);
}

static bool validate_view(BwMachineSettings *s, GError **error)
{
    BwMachineConfig *c = &s->cfg;
    g_autofree char *u = NULL;

    if (c->uuid == NULL || !bw_uuid_normalise(c->uuid, &u)) {
        return invalid(s, error, "the machine UUID \"%s\" is not a UUID",
                       c->uuid != NULL ? c->uuid : "");
    }
    if (!valid_text(c->name, 1024) || c->name[0] == '\0') {
        return invalid(s, error, "the machine name is empty, too long or has control characters");
    }
    if (!valid_text(c->os_type, 256) || c->os_type[0] == '\0') {
        return invalid(s, error, "the OS type is empty or invalid");
    }
    if (!valid_opt_text(c->description, MAX_DESCRIPTION) ||
        !valid_opt_text(c->state_file, 4096) || !valid_opt_text(c->snapshot_folder, 4096)) {
        return invalid(s, error, "the description, state file or snapshot folder is invalid");
    }
    if (c->current_snapshot != NULL && find_snapshot(c->snapshots, c->current_snapshot) == NULL) {
        return invalid(s, error, "the current snapshot %s does not exist", c->current_snapshot);
    }
    if (c->memory_mb < 4 || c->memory_mb > MAX_MEMORY_MB) {
        return invalid(s, error, "memory %u MB is out of range (4..%u)", c->memory_mb,
                       MAX_MEMORY_MB);
    }
    if (c->cpus < 1 || c->cpus > MAX_CPUS) {
        return invalid(s, error, "%u CPUs is out of range (1..%u)", c->cpus, MAX_CPUS);
    }
    if (c->vram_mb > MAX_VRAM_MB || c->monitor_count < 1 || c->monitor_count > MAX_MONITORS) {
        return invalid(s, error, "video memory (%u MB) or monitor count (%u) out of range",
                       c->vram_mb, c->monitor_count);
    }
    const char *strs[] = { c->graphics_controller, c->chipset, c->paravirt_provider, c->pointing,
                           c->keyboard, c->audio_controller, c->audio_driver };
    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++) {
        if (!valid_opt_text(strs[i], 256)) {
            return invalid(s, error, "a hardware setting has an invalid value");
        }
    }
    for (unsigned i = 0; i < BW_MAX_NICS; i++) {
        BwNic *n = &c->nics[i];
        if (n->enabled && n->mac == NULL) {
            n->mac = bw_generate_mac();
        }
        if (n->mac != NULL && !valid_mac(n->mac)) {
            return invalid(s, error, "network adapter %u: MAC address \"%s\" is not 12 hex "
                           "digits", i + 1, n->mac);
        }
        if (!valid_opt_text(n->type, 64) || !valid_opt_text(n->attachment_name, 1024)) {
            return invalid(s, error, "network adapter %u: invalid type or network name", i + 1);
        }
        if (n->attachment != NULL && strcmp(n->attachment, "none") != 0 &&
            strcmp(n->attachment, "null") != 0 && nic_mode_index(n->attachment) < 0) {
            return invalid(s, error, "network adapter %u: unknown attachment \"%s\"", i + 1,
                           n->attachment);
        }
        for (guint k = 0; n->nat_rules != NULL && k < n->nat_rules->len; k++) {
            BwNatRule *rule = g_ptr_array_index(n->nat_rules, k);
            if (rule->host_port > 65535 || rule->guest_port > 65535 ||
                !valid_opt_text(rule->name, 256) || !valid_opt_text(rule->host_ip, 64) ||
                !valid_opt_text(rule->guest_ip, 64)) {
                return invalid(s, error, "network adapter %u: invalid port forwarding rule",
                               i + 1);
            }
        }
    }
    for (unsigned i = 0; i < BW_MAX_UARTS; i++) {
        BwUart *p = &c->uarts[i];
        if (p->io_base > 0xffff || p->irq > 255 || !valid_opt_text(p->mode, 64) ||
            !valid_opt_text(p->path, 4096)) {
            return invalid(s, error, "serial port %u: invalid I/O base, IRQ, mode or path", i + 1);
        }
    }
    for (guint i = 0; i < c->media->len; i++) {
        BwMedium *md = g_ptr_array_index(c->media, i);
        g_autofree char *mu = NULL;

        if (md->uuid == NULL || !bw_uuid_normalise(md->uuid, &mu)) {
            return invalid(s, error, "a medium has an invalid UUID");
        }
        if (md->location == NULL && md->path != NULL) {
            md->location = relative_location(s, md->path);
        }
        if (md->location == NULL || md->location[0] == '\0' ||
            !valid_text(md->location, 4096) || !valid_opt_text(md->format, 64) ||
            !valid_opt_text(md->type, 64)) {
            return invalid(s, error, "medium %s has no or an invalid location", md->uuid);
        }
        for (guint j = 0; j < i; j++) {
            if (bw_uuid_equal(md->uuid, ((BwMedium *)g_ptr_array_index(c->media, j))->uuid)) {
                return invalid(s, error, "medium %s is registered twice", md->uuid);
            }
        }
        if (md->parent != NULL && !g_ptr_array_find(c->media, md->parent, NULL)) {
            return invalid(s, error, "medium %s has a parent that is not registered", md->uuid);
        }
    }
    for (guint i = 0; i < c->controllers->len; i++) {
        BwStorageController *sc = g_ptr_array_index(c->controllers, i);

        if (!valid_text(sc->name, 256) || sc->name[0] == '\0' || !valid_text(sc->type, 64)) {
            return invalid(s, error, "a storage controller has no or an invalid name or type");
        }
        if (sc->port_count > MAX_PORT + 1) {
            return invalid(s, error, "controller %s: %u ports is too many", sc->name,
                           sc->port_count);
        }
        for (guint j = 0; j < i; j++) {
            if (strcmp(sc->name, ((BwStorageController *)g_ptr_array_index(c->controllers, j))
                                     ->name) == 0) {
                return invalid(s, error, "two storage controllers are named \"%s\"", sc->name);
            }
        }
        for (guint k = 0; sc->attachments != NULL && k < sc->attachments->len; k++) {
            BwAttachment *a = g_ptr_array_index(sc->attachments, k);
            if (a->port < 0 || a->port > (int)MAX_PORT || a->device < 0 ||
                a->device > (int)MAX_PORT) {
                return invalid(s, error, "controller %s: port %d device %d is out of range",
                               sc->name, a->port, a->device);
            }
            for (guint l = 0; l < k; l++) {
                BwAttachment *b = g_ptr_array_index(sc->attachments, l);
                if (b->port == a->port && b->device == a->device) {
                    return invalid(s, error, "controller %s: two devices on port %d device %d",
                                   sc->name, a->port, a->device);
                }
            }
            if (a->medium_uuid != NULL && s->minor >= 11 &&
                find_medium_uuid(c->media, a->medium_uuid) == NULL) {
                return invalid(s, error, "controller %s port %d: medium %s is not registered",
                               sc->name, a->port, a->medium_uuid);
            }
            if (!valid_opt_text(a->host_drive, 4096)) {
                return invalid(s, error, "controller %s: invalid host drive", sc->name);
            }
        }
    }
    if (c->extra_data->len % 2 != 0) {
        return invalid(s, error, "extra data must be name/value pairs");
    }
    for (guint i = 0; i < c->extra_data->len; i += 2) {
        const char *n = g_ptr_array_index(c->extra_data, i);
        const char *v = g_ptr_array_index(c->extra_data, i + 1);
        if (!valid_text(n, 4096) || !valid_opt_text(v, BW_XML_MAX_ATTR)) {
            return invalid(s, error, "an extra data item is invalid");
        }
    }
    return true;
}

/* ---- writing back ------------------------------------------------------------------- */

typedef struct {
    BwMachineSettings *s;
    xmlNode *m;
} Wr;

static void w_str(Wr *w, const Loc *l, const char *v)
{
    bw_xml_set(loc_ensure(w->m, l, w->s->minor), l->attr, v);
}

static void w_uint(Wr *w, const Loc *l, unsigned v)
{
    bw_xml_set_uint(loc_ensure(w->m, l, w->s->minor), l->attr, v);
}

static void w_bool(Wr *w, const Loc *l, bool v)
{
    bw_xml_set_bool(loc_ensure(w->m, l, w->s->minor), l->attr, v);
}

#define SYNC_STR(f, loc)                  \
    if (g_strcmp0(c->f, o->f) != 0) {     \
        w_str(w, &(loc), c->f);           \
    }
#define SYNC_UINT(f, loc)                 \
    if (c->f != o->f) {                   \
        w_uint(w, &(loc), c->f);          \
    }
#define SYNC_BOOL(f, loc)                 \
    if (c->f != o->f) {                   \
        w_bool(w, &(loc), c->f);          \
    }

static void set_text_child(xmlNode *parent, const char *name, const char *text)
{
    xmlNode *el = bw_xml_child(parent, name);

    if (text == NULL) {
        if (el != NULL) {
            bw_xml_remove(el);
        }
        return;
    }
    if (el == NULL) {
        el = bw_xml_add_child(parent, name);
    }
    while (el->children != NULL) {
        xmlNode *k = el->children;
        xmlUnlinkNode(k);
        xmlFreeNode(k);
    }
    xmlAddChild(el, xmlNewDocText(el->doc, BAD_CAST text));
}

static const char *boot_name(BwBootDevice d)
{
    switch (d) {
    case BW_BOOT_FLOPPY:
        return "Floppy";
    case BW_BOOT_DVD:
        return "DVD";
    case BW_BOOT_DISK:
        return "HardDisk";
    case BW_BOOT_NET:
        return "Network";
    case BW_BOOT_NONE:
    default:
        return "None";
    }
}

static void sync_boot(Wr *w, BwMachineConfig *c, BwMachineConfig *o)
{
    if (memcmp(c->boot, o->boot, sizeof(c->boot)) == 0) {
        return;
    }
    bool fresh = find_path(w->m, "Hardware/Boot") == NULL;
    xmlNode *boot = ensure_path(w->m, "Hardware/Boot");
    for (unsigned i = 0; i < BW_MAX_BOOT; i++) {
        /* A new <Boot> lists every position: an absent one would read as none. */
        if (!fresh && c->boot[i] == o->boot[i]) {
            continue;
        }
        xmlNode *order = NULL;
        for (xmlNode *n = bw_xml_child(boot, "Order"); n != NULL; n = bw_xml_next(n, "Order")) {
            xmlChar *p = xmlGetProp(n, BAD_CAST "position");
            unsigned long long pos = 0;
            bool match = p != NULL && parse_ull((const char *)p, &pos) && pos == i + 1;
            xmlFree(p);
            if (match) {
                order = n;
                break;
            }
        }
        if (order == NULL) {
            order = bw_xml_add_child(boot, "Order");
            bw_xml_set_uint(order, "position", i + 1);
        }
        bw_xml_set(order, "device", boot_name(c->boot[i]));
    }
}

static void sync_usb(Wr *w, BwMachineConfig *c, BwMachineConfig *o)
{
    static const char *types[] = { "OHCI", "EHCI", "XHCI" };
    bool now[] = { c->usb_ohci, c->usb_ehci, c->usb_xhci };
    bool was[] = { o->usb_ohci, o->usb_ehci, o->usb_xhci };

    if (memcmp(now, was, sizeof(now)) == 0) {
        return;
    }
    if (w->s->minor < 14 && find_path(w->m, "Hardware/USB/Controllers") == NULL) {
        xmlNode *old = ensure_path(w->m, "Hardware/USBController");
        bw_xml_set_bool(old, "enabled", c->usb_ohci);
        bw_xml_set_bool(old, "enabledEhci", c->usb_ehci);
        return;
    }
    xmlNode *ctls = ensure_path(w->m, "Hardware/USB/Controllers");
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        if (now[i] == was[i]) {
            continue;
        }
        if (now[i]) {
            xmlNode *n = bw_xml_add_child(ctls, "Controller");
            bw_xml_set(n, "name", types[i]);
            bw_xml_set(n, "type", types[i]);
            continue;
        }
        xmlNode *n = bw_xml_child(ctls, "Controller");
        while (n != NULL) {
            xmlNode *next = bw_xml_next(n, "Controller");
            xmlChar *t = xmlGetProp(n, BAD_CAST "type");
            if (t != NULL && g_ascii_strcasecmp((const char *)t, types[i]) == 0) {
                bw_xml_remove(n);
            }
            xmlFree(t);
            n = next;
        }
    }
}

static xmlNode *find_by_attr(xmlNode *parent, const char *el, const char *attr, unsigned value)
{
    for (xmlNode *n = bw_xml_child(parent, el); n != NULL; n = bw_xml_next(n, el)) {
        xmlChar *v = xmlGetProp(n, BAD_CAST attr);
        unsigned long long x = 0;
        bool match = (v == NULL && value == 0) ||
                     (v != NULL && parse_ull((const char *)v, &x) && x == value);
        xmlFree(v);
        if (match) {
            return n;
        }
    }
    return NULL;
}

static xmlNode *find_by_str(xmlNode *parent, const char *el, const char *attr, const char *value)
{
    for (xmlNode *n = bw_xml_child(parent, el); n != NULL; n = bw_xml_next(n, el)) {
        xmlChar *v = xmlGetProp(n, BAD_CAST attr);
        bool match = v != NULL && strcmp((const char *)v, value) == 0;
        xmlFree(v);
        if (match) {
            return n;
        }
    }
    return NULL;
}

static bool nat_rules_equal(GPtrArray *a, GPtrArray *b)
{
    guint la = a != NULL ? a->len : 0, lb = b != NULL ? b->len : 0;

    if (la != lb) {
        return false;
    }
    for (guint i = 0; i < la; i++) {
        BwNatRule *x = g_ptr_array_index(a, i), *y = g_ptr_array_index(b, i);
        if (g_strcmp0(x->name, y->name) != 0 || x->tcp != y->tcp ||
            g_strcmp0(x->host_ip, y->host_ip) != 0 || x->host_port != y->host_port ||
            g_strcmp0(x->guest_ip, y->guest_ip) != 0 || x->guest_port != y->guest_port) {
            return false;
        }
    }
    return true;
}

static bool attachment_is_none(const char *a)
{
    return a == NULL || strcmp(a, "none") == 0 || strcmp(a, "null") == 0;
}

static void sync_nic(Wr *w, unsigned slot, BwNic *n, BwNic *o)
{
    bool same_mode = attachment_is_none(n->attachment) == attachment_is_none(o->attachment) &&
                     (attachment_is_none(n->attachment) ||
                      g_ascii_strcasecmp(n->attachment, o->attachment) == 0);
    bool changed = n->enabled != o->enabled || g_strcmp0(n->mac, o->mac) != 0 ||
                   n->cable != o->cable || g_strcmp0(n->type, o->type) != 0 || !same_mode ||
                   g_strcmp0(n->attachment_name, o->attachment_name) != 0 ||
                   !nat_rules_equal(n->nat_rules, o->nat_rules);
    if (!changed) {
        return;
    }
    xmlNode *net = ensure_path(w->m, "Hardware/Network");
    xmlNode *a = find_by_attr(net, "Adapter", "slot", slot);
    bool fresh = a == NULL;
    if (fresh) {
        a = bw_xml_add_child(net, "Adapter");
        bw_xml_set_uint(a, "slot", slot);
    }
    if (fresh || n->enabled != o->enabled) {
        bw_xml_set_bool(a, "enabled", n->enabled);
    }
    if (fresh || g_strcmp0(n->mac, o->mac) != 0) {
        bw_xml_set(a, "MACAddress", n->mac);
    }
    if (n->cable != o->cable) {
        bw_xml_set_bool(a, "cable", n->cable);
    }
    if (fresh || g_strcmp0(n->type, o->type) != 0) {
        bw_xml_set(a, "type", n->type);
    }
    int mi;
    xmlNode *mode = nic_mode_element(a, &mi);
    if (!same_mode) {
        if (mode != NULL) {
            bw_xml_remove(mode);
            mode = NULL;
        }
        if (!attachment_is_none(n->attachment)) {
            mi = nic_mode_index(n->attachment);
            mode = bw_xml_add_child(a, nic_modes[mi].element);
        }
    }
    if (mode != NULL && nic_modes[mi].name_attr != NULL &&
        (!same_mode || g_strcmp0(n->attachment_name, o->attachment_name) != 0)) {
        bw_xml_set(mode, nic_modes[mi].name_attr, n->attachment_name);
    }
    if (!nat_rules_equal(n->nat_rules, o->nat_rules) || (!same_mode && mode != NULL &&
                                                         bw_xml_is(mode, "NAT"))) {
        xmlNode *nat = bw_xml_child(a, "NAT");
        if (nat == NULL && n->nat_rules != NULL && n->nat_rules->len > 0) {
            /* Rules of an adapter not attached to NAT live under <DisabledModes>. */
            nat = ensure_path(a, "DisabledModes/NAT");
        }
        if (nat != NULL) {
            xmlNode *f = bw_xml_child(nat, "Forwarding");
            while (f != NULL) {
                xmlNode *next = bw_xml_next(f, "Forwarding");
                bw_xml_remove(f);
                f = next;
            }
            for (guint i = 0; n->nat_rules != NULL && i < n->nat_rules->len; i++) {
                BwNatRule *r = g_ptr_array_index(n->nat_rules, i);
                xmlNode *fw = bw_xml_add_child(nat, "Forwarding");
                bw_xml_set(fw, "name", r->name != NULL ? r->name : "");
                bw_xml_set_uint(fw, "proto", r->tcp ? 1 : 0);
                if (r->host_ip != NULL && r->host_ip[0] != '\0') {
                    bw_xml_set(fw, "hostip", r->host_ip);
                }
                bw_xml_set_uint(fw, "hostport", r->host_port);
                if (r->guest_ip != NULL && r->guest_ip[0] != '\0') {
                    bw_xml_set(fw, "guestip", r->guest_ip);
                }
                bw_xml_set_uint(fw, "guestport", r->guest_port);
            }
        }
    }
}

static void sync_uart(Wr *w, unsigned slot, BwUart *u, BwUart *o)
{
    if (u->enabled == o->enabled && u->io_base == o->io_base && u->irq == o->irq &&
        g_strcmp0(u->mode, o->mode) == 0 && g_strcmp0(u->path, o->path) == 0 &&
        u->server == o->server) {
        return;
    }
    xmlNode *uart = ensure_path(w->m, "Hardware/UART");
    xmlNode *p = find_by_attr(uart, "Port", "slot", slot);
    bool fresh = p == NULL;
    if (fresh) {
        p = bw_xml_add_child(uart, "Port");
        bw_xml_set_uint(p, "slot", slot);
    }
    if (fresh || u->enabled != o->enabled) {
        bw_xml_set_bool(p, "enabled", u->enabled);
    }
    if (fresh || u->io_base != o->io_base) {
        char buf[16];
        g_snprintf(buf, sizeof(buf), "0x%x", u->io_base);
        bw_xml_set(p, "IOBase", buf);
    }
    if (fresh || u->irq != o->irq) {
        bw_xml_set_uint(p, "IRQ", u->irq);
    }
    if (fresh || g_strcmp0(u->mode, o->mode) != 0) {
        bw_xml_set(p, "hostMode", u->mode != NULL ? u->mode : "Disconnected");
    }
    if (g_strcmp0(u->path, o->path) != 0) {
        bw_xml_set(p, "path", u->path);
    }
    if (u->server != o->server) {
        bw_xml_set_bool(p, "server", u->server);
    }
}

static BwStorageController *find_controller(GPtrArray *a, const char *name)
{
    for (guint i = 0; a != NULL && i < a->len; i++) {
        BwStorageController *sc = g_ptr_array_index(a, i);
        if (g_strcmp0(sc->name, name) == 0) {
            return sc;
        }
    }
    return NULL;
}

static BwAttachment *find_attachment(BwStorageController *sc, int port, int device)
{
    for (guint i = 0; sc != NULL && sc->attachments != NULL && i < sc->attachments->len; i++) {
        BwAttachment *a = g_ptr_array_index(sc->attachments, i);
        if (a->port == port && a->device == device) {
            return a;
        }
    }
    return NULL;
}

static xmlNode *find_attached_el(xmlNode *ctl, int port, int device)
{
    for (xmlNode *n = bw_xml_child(ctl, "AttachedDevice"); n != NULL;
         n = bw_xml_next(n, "AttachedDevice")) {
        xmlChar *p = xmlGetProp(n, BAD_CAST "port");
        xmlChar *d = xmlGetProp(n, BAD_CAST "device");
        unsigned long long pp = 0, dd = 0;
        bool match = (p == NULL || parse_ull((const char *)p, &pp)) &&
                     (d == NULL || parse_ull((const char *)d, &dd)) && pp == (unsigned)port &&
                     dd == (unsigned)device;
        xmlFree(p);
        xmlFree(d);
        if (match) {
            return n;
        }
    }
    return NULL;
}

static void sync_attachment(xmlNode *ctl, BwAttachment *a, BwAttachment *o)
{
    xmlNode *el = o != NULL ? find_attached_el(ctl, o->port, o->device) : NULL;
    bool fresh = el == NULL;

    if (fresh) {
        el = bw_xml_add_child(ctl, "AttachedDevice");
    }
#define ATT_BOOL(f, name)                          \
    if (fresh ? a->f : a->f != o->f) {             \
        bw_xml_set_bool(el, name, a->f);           \
    }
    if (fresh || a->type != o->type) {
        bw_xml_set(el, "type", device_name(a->type));
    }
    if (fresh) {
        bw_xml_set_bool(el, "hotpluggable", a->hotpluggable);
    } else if (a->hotpluggable != o->hotpluggable) {
        bw_xml_set_bool(el, "hotpluggable", a->hotpluggable);
    }
    if (fresh || a->port != o->port) {
        bw_xml_set_uint(el, "port", (unsigned)a->port);
    }
    if (fresh || a->device != o->device) {
        bw_xml_set_uint(el, "device", (unsigned)a->device);
    }
    ATT_BOOL(passthrough, "passthrough");
    ATT_BOOL(nonrotational, "nonrotational");
    ATT_BOOL(discard, "discard");
    ATT_BOOL(tempeject, "tempeject");
#undef ATT_BOOL
    bool media_changed = fresh || !(a->medium_uuid == NULL ? o->medium_uuid == NULL
                                                            : bw_uuid_equal(a->medium_uuid,
                                                                      o->medium_uuid)) ||
                         g_strcmp0(a->host_drive, o->host_drive) != 0;
    if (!media_changed) {
        return;
    }
    xmlNode *img = bw_xml_child(el, "Image");
    xmlNode *host = bw_xml_child(el, "HostDrive");
    if (img != NULL) {
        bw_xml_remove(img);
    }
    if (host != NULL) {
        bw_xml_remove(host);
    }
    if (a->medium_uuid != NULL) {
        bw_xml_set(bw_xml_add_child(el, "Image"), "uuid", a->medium_uuid);
    } else if (a->host_drive != NULL) {
        bw_xml_set(bw_xml_add_child(el, "HostDrive"), "src", a->host_drive);
    }
}

static void sync_controllers(Wr *w, BwMachineConfig *c, BwMachineConfig *o)
{
    xmlNode *scs = controllers_element(w->m);

    /* Removed controllers. */
    for (guint i = 0; i < o->controllers->len; i++) {
        BwStorageController *oc = g_ptr_array_index(o->controllers, i);
        if (find_controller(c->controllers, oc->name) == NULL) {
            xmlNode *el = find_by_str(scs, "StorageController", "name", oc->name);
            if (el != NULL) {
                bw_xml_remove(el);
            }
        }
    }
    for (guint i = 0; i < c->controllers->len; i++) {
        BwStorageController *sc = g_ptr_array_index(c->controllers, i);
        BwStorageController *oc = find_controller(o->controllers, sc->name);
        xmlNode *el = oc != NULL ? find_by_str(scs, "StorageController", "name", sc->name) : NULL;
        bool fresh = el == NULL;

        if (fresh) {
            if (scs == NULL) {
                /* VirtualBox 7 (1.19) keeps them inside <Hardware>; older versions read
                 * them only as a sibling of <Hardware>. */
                scs = w->s->minor >= 19 ? ensure_path(w->m, "Hardware/StorageControllers")
                                        : ensure_path(w->m, "StorageControllers");
            }
            el = bw_xml_add_child(scs, "StorageController");
            bw_xml_set(el, "name", sc->name);
            oc = NULL;
        }
        if (fresh || g_strcmp0(sc->type, oc->type) != 0) {
            bw_xml_set(el, "type", sc->type);
        }
        if (fresh || sc->port_count != oc->port_count) {
            bw_xml_set_uint(el, "PortCount", sc->port_count);
        }
        if (fresh || sc->host_io_cache != oc->host_io_cache) {
            bw_xml_set_bool(el, "useHostIOCache", sc->host_io_cache);
        }
        if (fresh || sc->bootable != oc->bootable) {
            bw_xml_set_bool(el, "Bootable", sc->bootable);
        }
        for (guint k = 0; oc != NULL && k < oc->attachments->len; k++) {
            BwAttachment *oa = g_ptr_array_index(oc->attachments, k);
            if (find_attachment(sc, oa->port, oa->device) == NULL) {
                xmlNode *ael = find_attached_el(el, oa->port, oa->device);
                if (ael != NULL) {
                    bw_xml_remove(ael);
                }
            }
        }
        for (guint k = 0; sc->attachments != NULL && k < sc->attachments->len; k++) {
            BwAttachment *a = g_ptr_array_index(sc->attachments, k);
            BwAttachment *oa = find_attachment(oc, a->port, a->device);
            if (oa != NULL && oa->type == a->type && oa->passthrough == a->passthrough &&
                oa->nonrotational == a->nonrotational && oa->discard == a->discard &&
                oa->hotpluggable == a->hotpluggable && oa->tempeject == a->tempeject &&
                (a->medium_uuid == NULL ? oa->medium_uuid == NULL
                                        : bw_uuid_equal(a->medium_uuid, oa->medium_uuid)) &&
                g_strcmp0(a->host_drive, oa->host_drive) == 0) {
                continue;
            }
            sync_attachment(el, a, oa);
        }
    }
}

static xmlNode *find_medium_el(xmlNode *n, const char *uuid, unsigned depth)
{
    if (depth > BW_XML_MAX_DEPTH) {
        return NULL;
    }
    for (xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (bw_xml_is(c, "HardDisk") || bw_xml_is(c, "Image")) {
            xmlChar *u = xmlGetProp(c, BAD_CAST "uuid");
            bool match = u != NULL && bw_uuid_equal((const char *)u, uuid);
            xmlFree(u);
            if (match) {
                return c;
            }
        }
        if (bw_xml_is(c, "HardDisk") || bw_xml_is(c, "HardDisks") || bw_xml_is(c, "DVDImages") ||
            bw_xml_is(c, "FloppyImages")) {
            xmlNode *f = find_medium_el(c, uuid, depth + 1);
            if (f != NULL) {
                return f;
            }
        }
    }
    return NULL;
}

static xmlNode *ensure_medium_el(Wr *w, BwMachineConfig *o, BwMedium *md, unsigned depth)
{
    xmlNode *reg = ensure_path(w->m, "MediaRegistry");
    xmlNode *el = find_medium_el(reg, md->uuid, 0);
    xmlNode *parent_el;

    if (el != NULL || depth > BW_XML_MAX_DEPTH) {
        return el;
    }
    if (md->parent != NULL) {
        parent_el = ensure_medium_el(w, o, md->parent, depth + 1);
        if (parent_el == NULL) {
            return NULL;
        }
        el = bw_xml_add_child(parent_el, "HardDisk");
    } else {
        const char *list = md->device == BW_DEVICE_DVD      ? "DVDImages"
                           : md->device == BW_DEVICE_FLOPPY ? "FloppyImages"
                                                            : "HardDisks";
        el = bw_xml_add_child(ensure_path(reg, list),
                              md->device == BW_DEVICE_HARDDISK ? "HardDisk" : "Image");
    }
    bw_xml_set(el, "uuid", md->uuid);
    bw_xml_set(el, "location", md->location);
    bw_xml_set(el, "format", md->format);
    bw_xml_set(el, "type", md->parent == NULL ? md->type : NULL);
    return el;
}

static void sync_media(Wr *w, BwMachineConfig *c, BwMachineConfig *o)
{
    xmlNode *reg = bw_xml_child(w->m, "MediaRegistry");

    for (guint i = 0; reg != NULL && i < o->media->len; i++) {
        BwMedium *om = g_ptr_array_index(o->media, i);
        if (find_medium_uuid(c->media, om->uuid) == NULL) {
            xmlNode *el = find_medium_el(reg, om->uuid, 0);
            if (el != NULL) {
                bw_xml_remove(el);
            }
        }
    }
    for (guint i = 0; i < c->media->len; i++) {
        BwMedium *md = g_ptr_array_index(c->media, i);
        BwMedium *om = find_medium_uuid(o->media, md->uuid);

        if (om == NULL) {
            ensure_medium_el(w, o, md, 0);
            continue;
        }
        if (g_strcmp0(md->location, om->location) == 0 &&
            g_strcmp0(md->format, om->format) == 0 && g_strcmp0(md->type, om->type) == 0) {
            continue;
        }
        xmlNode *el = find_medium_el(reg, md->uuid, 0);
        if (el == NULL) {
            continue;
        }
        bw_xml_set(el, "location", md->location);
        bw_xml_set(el, "format", md->format);
        bw_xml_set(el, "type", md->type);
    }
    /* Keep path in step with a changed location. */
    for (guint i = 0; i < c->media->len; i++) {
        BwMedium *md = g_ptr_array_index(c->media, i);
        g_free(md->path);
        md->path = bw_settings_resolve_path(w->s->folder, md->location, &md->foreign_path);
    }
}

static void sync_extra_data(Wr *w, BwMachineConfig *c, BwMachineConfig *o)
{
    xmlNode *ed = bw_xml_child(w->m, "ExtraData");

    for (guint i = 0; ed != NULL && i < o->extra_data->len; i += 2) {
        const char *name = g_ptr_array_index(o->extra_data, i);
        bool kept = false;
        for (guint j = 0; j < c->extra_data->len; j += 2) {
            if (strcmp(name, g_ptr_array_index(c->extra_data, j)) == 0) {
                kept = true;
                break;
            }
        }
        if (!kept) {
            xmlNode *el = find_by_str(ed, "ExtraDataItem", "name", name);
            if (el != NULL) {
                bw_xml_remove(el);
            }
        }
    }
    for (guint i = 0; i < c->extra_data->len; i += 2) {
        const char *name = g_ptr_array_index(c->extra_data, i);
        const char *value = g_ptr_array_index(c->extra_data, i + 1);
        const char *old = NULL;
        bool found = false;

        for (guint j = 0; j < o->extra_data->len; j += 2) {
            if (strcmp(name, g_ptr_array_index(o->extra_data, j)) == 0) {
                old = g_ptr_array_index(o->extra_data, j + 1);
                found = true;
                break;
            }
        }
        if (found && g_strcmp0(old, value) == 0) {
            continue;
        }
        if (ed == NULL) {
            ed = ensure_path(w->m, "ExtraData");
        }
        xmlNode *el = found ? find_by_str(ed, "ExtraDataItem", "name", name) : NULL;
        if (el == NULL) {
            el = bw_xml_add_child(ed, "ExtraDataItem");
            bw_xml_set(el, "name", name);
        }
        bw_xml_set(el, "value", value != NULL ? value : "");
    }
}

/*
 * The features that need a newer settings version than a loaded file may have. Kept
 * small on purpose: only what Boxwood's own tools can switch on. The minimum version
 * comes from the XIDL SettingsVersion notes (vbox-formats.md §1.3).
 */
static unsigned required_minor(const BwMachineConfig *c)
{
    unsigned m = 0;

    if (c->firmware == BW_FIRMWARE_EFI) {
        m = MAX(m, 9);
    }
    if (g_strcmp0(c->audio_controller, "HDA") == 0) {
        m = MAX(m, 11);
    }
    if (c->usb_xhci) {
        m = MAX(m, 14);
    }
    if (c->paravirt_provider != NULL && g_ascii_strcasecmp(c->paravirt_provider, "Legacy") != 0) {
        m = MAX(m, 15);
    }
    if (c->nested_hw_virt) {
        m = MAX(m, 17);
    }
    for (guint i = 0; i < c->controllers->len; i++) {
        BwStorageController *sc = g_ptr_array_index(c->controllers, i);
        if (g_ascii_strcasecmp(sc->type, "NVMe") == 0) {
            m = MAX(m, 16);
        } else if (g_ascii_strcasecmp(sc->type, "VirtioSCSI") == 0) {
            m = MAX(m, 18);
        }
    }
    return m;
}

bool bw_machine_settings_sync(BwMachineSettings *s, GError **error)
{
    BwMachineConfig orig;
    BwMachineConfig *c = &s->cfg;
    BwMachineConfig *o = &orig;
    xmlNode *root = xmlDocGetRootElement(s->doc);
    Wr wr = { s, bw_xml_child(root, "Machine") };
    Wr *w = &wr;

    if (!validate_view(s, error)) {
        return false;
    }
    /* The document as it stands is the reference: it was validated on load and only
     * changed by earlier syncs, so reading it cannot fail. */
    if (!read_config(s, &orig, error)) {
        config_clear(&orig);
        return false;
    }

    unsigned need = required_minor(c);
    if (need > s->minor && need > required_minor(o)) {
        g_autofree char *v = g_strdup_printf("1.%u-linux", need);
        bw_xml_set(root, "version", v);
        g_free(s->version);
        s->version = g_steal_pointer(&v);
        s->minor = need;
    }

    xmlNode *m = w->m;
    if (g_strcmp0(c->uuid, o->uuid) != 0) {
        bw_xml_set(m, "uuid", c->uuid);
    }
    if (g_strcmp0(c->name, o->name) != 0) {
        bw_xml_set(m, "name", c->name);
    }
    if (g_strcmp0(c->os_type, o->os_type) != 0) {
        bw_xml_set(m, "OSType", c->os_type);
    }
    if (g_strcmp0(c->state_file, o->state_file) != 0) {
        bw_xml_set(m, "stateFile", c->state_file);
    }
    if (g_strcmp0(c->current_snapshot, o->current_snapshot) != 0) {
        bw_xml_set(m, "currentSnapshot", c->current_snapshot);
    }
    if (g_strcmp0(c->snapshot_folder, o->snapshot_folder) != 0) {
        bw_xml_set(m, "snapshotFolder", c->snapshot_folder);
    }
    if (c->aborted != o->aborted) {
        bw_xml_set(m, "aborted", c->aborted ? "true" : NULL);
    }
    if (g_strcmp0(c->description, o->description) != 0) {
        set_text_child(m, "Description", c->description);
    }

    SYNC_UINT(memory_mb, L_MEMORY);
    SYNC_UINT(cpus, L_CPUS);
    SYNC_UINT(vram_mb, L_VRAM);
    if (c->monitor_count != o->monitor_count) {
        xmlNode *d = loc_ensure(m, &L_MONITORS, s->minor);
        if (xmlHasProp(d, BAD_CAST "MonitorCount") != NULL &&
            xmlHasProp(d, BAD_CAST "monitorCount") == NULL) {
            bw_xml_set_uint(d, "MonitorCount", c->monitor_count);
        } else {
            bw_xml_set_uint(d, "monitorCount", c->monitor_count);
        }
    }
    SYNC_STR(graphics_controller, L_GRAPHICS);
    if (c->firmware != o->firmware) {
        w_str(w, &L_FIRMWARE, c->firmware == BW_FIRMWARE_EFI ? "EFI" : "BIOS");
    }
    sync_boot(w, c, o);
    SYNC_STR(chipset, L_CHIPSET);
    SYNC_STR(paravirt_provider, L_PARAVIRT);
    SYNC_BOOL(ioapic, L_IOAPIC);
    SYNC_BOOL(acpi, L_ACPI);
    SYNC_BOOL(pae, L_PAE);
    SYNC_BOOL(long_mode, L_LONGMODE);
    SYNC_BOOL(hwvirt, L_HWVIRT);
    SYNC_BOOL(nested_paging, L_NESTEDPAGING);
    SYNC_BOOL(vpid, L_VPID);
    SYNC_BOOL(large_pages, L_LARGEPAGES);
    SYNC_BOOL(nested_hw_virt, L_NESTEDHW);
    if (c->rtc_utc != o->rtc_utc) {
        w_str(w, &L_RTC, c->rtc_utc ? "UTC" : "local");
    }
    SYNC_STR(pointing, L_POINTING);
    SYNC_STR(keyboard, L_KEYBOARD);
    SYNC_BOOL(audio_enabled, L_AUDIO_ON);
    SYNC_STR(audio_controller, L_AUDIO_CTL);
    SYNC_STR(audio_driver, L_AUDIO_DRV);
    SYNC_BOOL(audio_in, L_AUDIO_IN);
    SYNC_BOOL(audio_out, L_AUDIO_OUT);
    sync_usb(w, c, o);
    for (unsigned i = 0; i < BW_MAX_NICS; i++) {
        sync_nic(w, i, &c->nics[i], &o->nics[i]);
    }
    for (unsigned i = 0; i < BW_MAX_UARTS; i++) {
        sync_uart(w, i, &c->uarts[i], &o->uarts[i]);
    }
    /* Media before controllers: a new attachment's medium must exist first. */
    sync_media(w, c, o);
    sync_controllers(w, c, o);
    sync_extra_data(w, c, o);

    config_clear(&orig);
    return true;
}

char *bw_machine_settings_to_data(BwMachineSettings *s, size_t *len, GError **error)
{
    if (!bw_machine_settings_sync(s, error)) {
        return NULL;
    }
    return bw_xml_dump(s->doc, len);
}

/* VirtualBox's naming for the copy made before a version upgrade:
 * "Win10.vbox" read as 1.16-linux → "Win10-1.16-linux.vbox". */
static bool backup_before_bump(BwMachineSettings *s, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(s->path);
    g_autofree char *base = g_path_get_basename(s->path);
    const char *dot = strrchr(base, '.');
    g_autofree char *stem = dot != NULL && dot != base ? g_strndup(base, dot - base)
                                                        : g_strdup(base);
    g_autofree char *name = g_strdup_printf("%s-%s%s", stem, s->version_read,
                                            dot != NULL && dot != base ? dot : "");
    g_autofree char *backup = g_build_filename(dir, name, NULL);
    g_autofree char *data = NULL;
    gsize len = 0;

    if (g_file_test(backup, G_FILE_TEST_EXISTS)) {
        return true; /* an earlier upgrade's backup is the one to keep */
    }
    if (!g_file_get_contents(s->path, &data, &len, NULL)) {
        return true; /* nothing on disk to keep */
    }
    g_autoptr(GError) err = NULL;
    if (!g_file_set_contents_full(backup, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                  &err)) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot back up %s to %s before upgrading its settings version: %s",
                    s->path, backup, err->message);
        return false;
    }
    return true;
}

bool bw_machine_settings_save(BwMachineSettings *s, GError **error)
{
    g_autofree char *data = NULL;
    size_t len = 0;

    data = bw_machine_settings_to_data(s, &len, error);
    if (data == NULL) {
        return false;
    }
    if (s->version_read != NULL && s->minor > s->minor_read && !s->backup_done) {
        if (!backup_before_bump(s, error)) {
            return false;
        }
        s->backup_done = true;
    }
    if (g_mkdir_with_parents(s->folder, 0755) != 0) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot create the machine folder %s: %s", s->folder, g_strerror(e));
        return false;
    }
    return bw_settings_write_file_safely(s->path, data, len, error);
}

/* ---- helpers on the view ------------------------------------------------------------ */

BwMedium *bw_machine_config_find_medium(BwMachineConfig *c, const char *uuid_or_path)
{
    if (uuid_or_path == NULL) {
        return NULL;
    }
    BwMedium *m = find_medium_uuid(c->media, uuid_or_path);
    if (m != NULL) {
        return m;
    }
    for (guint i = 0; i < c->media->len; i++) {
        m = g_ptr_array_index(c->media, i);
        if (g_strcmp0(m->path, uuid_or_path) == 0 || g_strcmp0(m->location, uuid_or_path) == 0) {
            return m;
        }
    }
    return NULL;
}

bool bw_machine_config_remove_medium(BwMachineConfig *c, const char *uuid_or_path,
                                     GError **error)
{
    BwMedium *m = bw_machine_config_find_medium(c, uuid_or_path);

    if (m == NULL) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_NOT_FOUND,
                    "No medium %s is registered with this machine", uuid_or_path);
        return false;
    }
    if (m->children != NULL && m->children->len > 0) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                    "Medium %s has differencing images (snapshots) based on it; delete those "
                    "snapshots first", m->location);
        return false;
    }
    for (guint i = 0; i < c->controllers->len; i++) {
        BwStorageController *sc = g_ptr_array_index(c->controllers, i);
        for (guint k = 0; sc->attachments != NULL && k < sc->attachments->len; k++) {
            BwAttachment *a = g_ptr_array_index(sc->attachments, k);
            if (a->medium_uuid != NULL && bw_uuid_equal(a->medium_uuid, m->uuid)) {
                g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                            "Medium %s is attached to %s port %d device %d; detach it first",
                            m->location, sc->name, a->port, a->device);
                return false;
            }
        }
    }
    if (m->parent != NULL) {
        g_ptr_array_remove(m->parent->children, m);
    }
    g_ptr_array_remove(c->media, m);
    return true;
}

/* The deepest existing ancestor of @path with symlinks resolved, plus the rest. */
static char *real_path_prefix(const char *path)
{
    g_autofree char *dir = g_strdup(path);
    g_autoptr(GString) rest = g_string_new(NULL);

    while (true) {
        char *real = realpath(dir, NULL);
        if (real != NULL) {
            char *out = g_strconcat(real, rest->str, NULL);
            free(real);
            return out;
        }
        if (strcmp(dir, "/") == 0 || dir[0] == '\0') {
            return g_strdup(path);
        }
        g_autofree char *base = g_path_get_basename(dir);
        g_autofree char *parent = g_path_get_dirname(dir);
        g_string_prepend(rest, base);
        g_string_prepend_c(rest, '/');
        g_free(dir);
        dir = g_steal_pointer(&parent);
    }
}

char *bw_machine_settings_resolve_owned_path(const BwMachineSettings *s, const char *rel,
                                             GError **error)
{
    bool foreign = false;
    g_autofree char *abs = bw_settings_resolve_path(s->folder, rel, &foreign);

    if (abs == NULL) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                    "%s: \"%s\" is not a usable path on this host", s->path,
                    rel != NULL ? rel : "");
        return NULL;
    }
    g_autofree char *real_folder = real_path_prefix(s->folder);
    g_autofree char *real = real_path_prefix(abs);
    size_t fl = strlen(real_folder);
    if (strncmp(real, real_folder, fl) != 0 || (real[fl] != '/' && real[fl] != '\0')) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                    "%s: \"%s\" points outside the machine folder %s; Boxwood only creates "
                    "or deletes files inside it", s->path, rel, s->folder);
        return NULL;
    }
    return g_steal_pointer(&abs);
}

BwStorageController *bw_machine_config_find_controller(BwMachineConfig *c, const char *name)
{
    return find_controller(c->controllers, name);
}

BwStorageController *bw_machine_config_add_controller(BwMachineConfig *c, const char *name,
                                                      const char *type, unsigned port_count)
{
    BwStorageController *sc = g_new0(BwStorageController, 1);

    sc->name = g_strdup(name);
    sc->type = g_strdup(type);
    sc->bus = g_strdup(bw_storage_bus_for_type(type));
    sc->port_count = port_count;
    sc->bootable = true;
    sc->attachments = g_ptr_array_new_with_free_func(attachment_free);
    g_ptr_array_add(c->controllers, sc);
    return sc;
}

bool bw_storage_controller_detach(BwStorageController *sc, int port, int device)
{
    BwAttachment *a = find_attachment(sc, port, device);

    return a != NULL && g_ptr_array_remove(sc->attachments, a);
}

BwAttachment *bw_storage_controller_attach(BwStorageController *sc, BwDeviceType type,
                                           int port, int device, const char *medium_uuid)
{
    BwAttachment *a = g_new0(BwAttachment, 1);

    bw_storage_controller_detach(sc, port, device);
    a->type = type;
    a->port = port;
    a->device = device;
    a->medium_uuid = g_strdup(medium_uuid);
    if (sc->attachments == NULL) {
        sc->attachments = g_ptr_array_new_with_free_func(attachment_free);
    }
    g_ptr_array_add(sc->attachments, a);
    return a;
}

BwNatRule *bw_nic_add_nat_rule(BwNic *nic, const char *name, bool tcp, const char *host_ip,
                               unsigned host_port, const char *guest_ip, unsigned guest_port)
{
    BwNatRule *r = g_new0(BwNatRule, 1);

    r->name = g_strdup(name != NULL ? name : "");
    r->tcp = tcp;
    r->host_ip = g_strdup(host_ip != NULL ? host_ip : "");
    r->host_port = host_port;
    r->guest_ip = g_strdup(guest_ip != NULL ? guest_ip : "");
    r->guest_port = guest_port;
    if (nic->nat_rules == NULL) {
        nic->nat_rules = g_ptr_array_new_with_free_func(nat_rule_free);
    }
    g_ptr_array_add(nic->nat_rules, r);
    return r;
}

/* VDI keeps UUIDs in Microsoft GUID order: the first three fields little-endian. */
static char *vdi_uuid_string(const uint8_t *b)
{
    return g_strdup_printf("{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x}",
                           b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10],
                           b[11], b[12], b[13], b[14], b[15]);
}

static bool uuid_is_null(const uint8_t *b)
{
    for (int i = 0; i < 16; i++) {
        if (b[i] != 0) {
            return false;
        }
    }
    return true;
}

BwMedium *bw_machine_settings_register_medium(BwMachineSettings *s, const char *path,
                                              BwDeviceType device, GError **error)
{
    BwMachineConfig *c = &s->cfg;
    g_autofree char *abs = g_canonicalize_filename(path, s->folder);
    g_autofree char *uuid = NULL;
    g_autofree char *parent_uuid = NULL;
    const char *format = NULL;
    uint8_t hdr[0x200];
    ssize_t n = 0;
    BwMedium *m;

    m = bw_machine_config_find_medium(c, abs);
    if (m != NULL) {
        return m;
    }
    int fd = open(abs, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR,
                    e == ENOENT ? BW_SETTINGS_ERROR_NOT_FOUND : BW_SETTINGS_ERROR_IO,
                    "Cannot open the medium %s: %s", abs, g_strerror(e));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        close(fd);
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "The medium %s is not a file or a block device", abs);
        return NULL;
    }
    do {
        n = pread(fd, hdr, sizeof(hdr), 0);
    } while (n < 0 && errno == EINTR);
    close(fd);

    uint32_t sig = 0;
    if (n >= 0x44) {
        memcpy(&sig, hdr + 0x40, 4);
    }
    if (device == BW_DEVICE_HARDDISK && n >= 0x1c8 && GUINT32_FROM_LE(sig) == 0xbeda107fu) {
        uint32_t type;
        memcpy(&type, hdr + 0x4c, 4);
        type = GUINT32_FROM_LE(type);
        if (uuid_is_null(hdr + 0x188)) {
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                        "The VDI image %s has no UUID in its header; it is damaged", abs);
            return NULL;
        }
        uuid = vdi_uuid_string(hdr + 0x188);
        format = "VDI";
        if (type == 4 && !uuid_is_null(hdr + 0x1a8)) {
            parent_uuid = vdi_uuid_string(hdr + 0x1a8);
        }
    } else {
        uuid = bw_generate_uuid();
        format = device == BW_DEVICE_HARDDISK ? "RAW" : NULL;
    }

    m = find_medium_uuid(c->media, uuid);
    if (m != NULL) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_EXISTS,
                    "%s has UUID %s, which is already registered as %s; clone the image "
                    "(it needs a new UUID) instead of copying it", abs, uuid, m->location);
        return NULL;
    }
    BwMedium *parent = NULL;
    if (parent_uuid != NULL) {
        parent = find_medium_uuid(c->media, parent_uuid);
        if (parent == NULL) {
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_NOT_FOUND,
                        "%s is a differencing image whose parent %s is not registered; "
                        "register the parent first", abs, parent_uuid);
            return NULL;
        }
    }
    m = g_new0(BwMedium, 1);
    m->uuid = g_steal_pointer(&uuid);
    m->location = relative_location(s, abs);
    m->path = g_steal_pointer(&abs);
    m->format = g_strdup(format);
    m->type = device == BW_DEVICE_HARDDISK && parent == NULL ? g_strdup("Normal") : NULL;
    m->device = device;
    m->parent = parent;
    m->children = g_ptr_array_new();
    if (parent != NULL) {
        g_ptr_array_add(parent->children, m);
    }
    g_ptr_array_add(c->media, m);
    return m;
}

char *bw_generate_mac(void)
{
    return g_strdup_printf("080027%02X%02X%02X", g_random_int_range(0, 256),
                           g_random_int_range(0, 256), g_random_int_range(0, 256));
}

char *bw_generate_uuid(void)
{
    g_autofree char *u = g_uuid_string_random();

    return g_strdup_printf("{%s}", u);
}
