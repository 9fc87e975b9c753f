/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * boxwood-vm: runs one virtual machine. For now the machine comes from command-line
 * options; starting from a machine's settings comes with the settings work.
 *
 * Exit status: 0 when the guest powered off, the written value for the test-exit
 * port, 1 when the VMM had to stop the VM (or could not start it), 2 on usage errors.
 */
#define G_LOG_DOMAIN "runner"
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "devices/board/pc.h"
#include "vmm/machine.h"

typedef struct {
    char *bios;
    int memory_mib;
    int cpus;
    char *serial;
    char *serial2;
    char *debugcon;
    char **option_roms;
    char **devices;
    char **drives;
    char *boot;
    gboolean nographic;
    gboolean graphics;
    gboolean headless;
    gboolean boot_menu;
    gboolean no_reboot;
    gboolean verbose;
    char *log_path;
    char *kernel;
    char *initrd;
    char *append;
    VmmMachine *m;
    FILE *log;
} Runner;

static Runner runner = {
    .memory_mib = 512,
    .cpus = 1,
};

static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
                                   gpointer user_data)
{
    Runner *r = user_data;
    const char *domain = NULL, *message = NULL;

    if (!r->verbose && (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))) {
        /* Info lines still go to a log file, where they are useful afterwards. */
        if (r->log == NULL || (level & G_LOG_LEVEL_DEBUG)) {
            return G_LOG_WRITER_HANDLED;
        }
    }
    for (gsize i = 0; i < n; i++) {
        if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0) {
            domain = fields[i].value;
        } else if (strcmp(fields[i].key, "MESSAGE") == 0) {
            message = fields[i].value;
        }
    }
    const char *lvl = (level & G_LOG_LEVEL_ERROR)      ? "error"
                      : (level & G_LOG_LEVEL_CRITICAL) ? "critical"
                      : (level & G_LOG_LEVEL_WARNING)  ? "warning"
                      : (level & G_LOG_LEVEL_MESSAGE)  ? "message"
                      : (level & G_LOG_LEVEL_INFO)     ? "info"
                                                       : "debug";
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *ts = g_date_time_format(now, "%H:%M:%S.%f");
    FILE *out = r->log ? r->log : stderr;
    fprintf(out, "%.12s %s %s: %s\n", ts, domain ? domain : "boxwood", lvl,
            message ? message : "");
    fflush(out);
    return G_LOG_WRITER_HANDLED;
}

static void on_reset(void *opaque, const char *why)
{
    fprintf(stderr, "boxwood-vm: guest reset: %s\n", why);
    g_message("guest reset: %s", why);
}

static void on_stopped(void *opaque, VmmRequest why, const char *detail)
{
    switch (why) {
    case VMM_REQ_POWEROFF:
        fprintf(stderr, "boxwood-vm: guest powered off (%s)\n", detail);
        break;
    case VMM_REQ_TEST_EXIT:
        fprintf(stderr, "boxwood-vm: guest asked to exit with status %d (%s)\n",
                runner.m->exit_code, detail);
        break;
    default:
        fprintf(stderr, "boxwood-vm: VM stopped: %s: %s\n", vmm_request_name(why), detail);
        break;
    }
    g_message("VM stopped: %s (%s)", vmm_request_name(why), detail);
}

static const VmmMachineEvents runner_events = {
    .reset = on_reset,
    .stopped = on_stopped,
};

static gboolean on_signal(gpointer data)
{
    VmmMachine *m = data;
    vmm_machine_request(m, VMM_REQ_POWEROFF, "stopped by a signal to boxwood-vm");
    return G_SOURCE_CONTINUE;
}

static const GOptionEntry entries[] = {
    {"bios", 0, 0, G_OPTION_ARG_FILENAME, &runner.bios,
     "Firmware image (default " PC_DEFAULT_FIRMWARE ")", "PATH"},
    {"memory", 'm', 0, G_OPTION_ARG_INT, &runner.memory_mib, "Guest RAM in MiB (default 512)",
     "MIB"},
    {"cpus", 'c', 0, G_OPTION_ARG_INT, &runner.cpus, "Number of vCPUs (default 1)", "N"},
    {"serial", 0, 0, G_OPTION_ARG_STRING, &runner.serial,
     "COM1 back end: stdio, file:PATH, unix:PATH (listening socket) or null (default stdio)",
     "SPEC"},
    {"serial2", 0, 0, G_OPTION_ARG_STRING, &runner.serial2, "COM2 back end (default null)",
     "SPEC"},
    {"debugcon", 0, 0, G_OPTION_ARG_STRING, &runner.debugcon,
     "Back end of the firmware debug port 0x402 (default null)", "SPEC"},
    {"option-rom", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &runner.option_roms,
     "Add an option ROM for the firmware (fw_cfg genroms/NAME); repeatable", "PATH"},
    {"device", 0, 0, G_OPTION_ARG_STRING_ARRAY, &runner.devices,
     "Add a device: TYPE[,id=ID][,PROP=VALUE...] (numbers may be decimal or 0x hex); repeatable",
     "SPEC"},
    {"drive", 0, 0, G_OPTION_ARG_STRING_ARRAY, &runner.drives,
     "Add a drive: file=PATH[,if=virtio|ide|ahci][,media=disk|cdrom][,format=auto|raw|vdi]"
     "[,readonly=on]; repeatable (see below)",
     "SPEC"},
    {"boot", 0, 0, G_OPTION_ARG_STRING, &runner.boot,
     "Boot order for the firmware: comma-separated cdrom, disk (every drive of that media, in "
     "--drive order) or drive numbers (0 = first --drive), e.g. cdrom,disk",
     "ORDER"},
    {"nographic", 0, 0, G_OPTION_ARG_NONE, &runner.nographic,
     "Firmware console on COM1 (the default: there is no display device yet)", NULL},
    {"graphics", 0, 0, G_OPTION_ARG_NONE, &runner.graphics,
     "Tell the firmware a display is present", NULL},
    {"headless", 0, 0, G_OPTION_ARG_NONE, &runner.headless,
     "Run without a window (the only mode so far)", NULL},
    {"boot-menu", 0, 0, G_OPTION_ARG_NONE, &runner.boot_menu, "Let the firmware show its boot menu",
     NULL},
    {"no-reboot", 0, 0, G_OPTION_ARG_NONE, &runner.no_reboot,
     "Stop instead of resetting when the guest reboots", NULL},
    {"kernel", 0, 0, G_OPTION_ARG_FILENAME, &runner.kernel,
     "Boot this kernel directly, without firmware: a bzImage (64-bit entry), an ELF with a PVH "
     "note (vmlinux) or a multiboot image",
     "PATH"},
    {"initrd", 0, 0, G_OPTION_ARG_FILENAME, &runner.initrd, "Initial ramdisk for --kernel",
     "PATH"},
    {"append", 0, 0, G_OPTION_ARG_STRING, &runner.append, "Kernel command line for --kernel",
     "CMDLINE"},
    {"log", 0, 0, G_OPTION_ARG_FILENAME, &runner.log_path, "Write the VM log to PATH", "PATH"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &runner.verbose, "Log informational messages too",
     NULL},
    {NULL},
};

static void on_reset_no_reboot(void *opaque, const char *why)
{
    on_reset(opaque, why);
    vmm_machine_request(runner.m, VMM_REQ_POWEROFF, "reset with --no-reboot");
}

static const VmmMachineEvents runner_events_no_reboot = {
    .reset = on_reset_no_reboot,
    .stopped = on_stopped,
};

/* Parses one --device SPEC into Attach/<id>. */
static bool add_device_option(VmmCfgNode *cfg, const char *spec, unsigned index, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
    g_autofree char *id = NULL;

    if (parts[0] == NULL || parts[0][0] == '\0') {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--device needs a device type first, e.g. --device serial16550,iobase=0x3e8");
        return false;
    }
    for (unsigned i = 1; parts[i] != NULL; i++) {
        if (g_str_has_prefix(parts[i], "id=")) {
            id = g_strdup(parts[i] + 3);
        }
    }
    if (id == NULL) {
        id = g_strdup_printf("%s%u", parts[0], index);
    }
    if (id[0] == '\0' || strchr(id, '/') != NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "bad device id \"%s\"", id);
        return false;
    }
    g_autofree char *path = g_strdup_printf("Attach/%s", id);
    if (vmm_cfg_get_child(cfg, path) != NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "two devices named %s", id);
        return false;
    }
    VmmCfgNode *node = vmm_cfg_ensure_child(cfg, path);
    vmm_cfg_set_string(node, "Type", parts[0]);
    VmmCfgNode *props = vmm_cfg_ensure_child(node, "Config");
    for (unsigned i = 1; parts[i] != NULL; i++) {
        char *eq = strchr(parts[i], '=');
        if (eq == NULL || eq == parts[i]) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--device %s: \"%s\" is not PROP=VALUE", parts[0], parts[i]);
            return false;
        }
        *eq = '\0';
        if (strcmp(parts[i], "id") == 0) {
            continue;
        }
        guint64 num;
        if (g_ascii_string_to_unsigned(eq + 1, 10, 0, G_MAXUINT64, &num, NULL) ||
            ((g_str_has_prefix(eq + 1, "0x") || g_str_has_prefix(eq + 1, "0X")) &&
             g_ascii_string_to_unsigned(eq + 3, 16, 0, G_MAXUINT64, &num, NULL))) {
            vmm_cfg_set_int(props, parts[i], num);
        } else {
            vmm_cfg_set_string(props, parts[i], eq + 1);
        }
    }
    return true;
}

/*
 * --drive: one image on a storage controller. Drives on IDE share one piix3-ide at 00:01.1
 * (units in the order primary master, primary slave, secondary master, secondary slave);
 * drives on AHCI share one ahci at 00:04.0 (ports 0..5 in order); every virtio drive is
 * its own virtio-blk in slots 3, 5, 6, ... (slot 4 stays free for the AHCI controller so
 * that adding one never moves a virtio disk).
 */
typedef enum {
    DRIVE_IF_VIRTIO,
    DRIVE_IF_IDE,
    DRIVE_IF_AHCI,
} DriveIf;

#define IDE_DEVFN 0x09
#define AHCI_SLOT 4u
#define VIRTIO_FIRST_SLOT 3u
#define IDE_MAX_UNITS 4u
#define AHCI_MAX_PORTS 6u

typedef struct {
    char *file;
    char *format;
    DriveIf iface;
    bool cdrom;
    bool readonly;
    unsigned unit; /* IDE unit 0..3, AHCI port or PCI slot of the virtio-blk */
    char *of_path; /* OpenFirmware path for fw_cfg bootorder */
} Drive;

static void drive_free(Drive *d)
{
    g_free(d->file);
    g_free(d->format);
    g_free(d->of_path);
    g_free(d);
}

static bool parse_bool_value(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};

    for (unsigned i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (g_ascii_strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static Drive *parse_drive(const char *spec, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
    g_autofree char *iface = NULL, *media = NULL;
    Drive *d = g_new0(Drive, 1);

    for (unsigned i = 0; parts[i] != NULL; i++) {
        char *eq = strchr(parts[i], '=');
        if (eq == NULL) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--drive %s: \"%s\" is not KEY=VALUE", spec, parts[i]);
            goto fail;
        }
        *eq = '\0';
        const char *k = parts[i], *v = eq + 1;
        char **slot = strcmp(k, "file") == 0     ? &d->file
                      : strcmp(k, "if") == 0     ? &iface
                      : strcmp(k, "media") == 0  ? &media
                      : strcmp(k, "format") == 0 ? &d->format
                                                 : NULL;
        if (slot != NULL) {
            g_free(*slot);
            *slot = g_strdup(v);
        } else if (strcmp(k, "readonly") == 0) {
            if (!parse_bool_value(v, &d->readonly)) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--drive %s: readonly must be on or off, not \"%s\"", spec, v);
                goto fail;
            }
        } else {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--drive %s: unknown key \"%s\" (file, if, media, format, readonly)", spec,
                        k);
            goto fail;
        }
    }
    if (d->file == NULL || d->file[0] == '\0') {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--drive %s: file=PATH is missing", spec);
        goto fail;
    }
    if (media == NULL || strcmp(media, "disk") == 0) {
        d->cdrom = false;
    } else if (strcmp(media, "cdrom") == 0) {
        d->cdrom = true;
    } else {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--drive %s: media must be disk or cdrom, not \"%s\"", spec, media);
        goto fail;
    }
    if (iface == NULL) {
        d->iface = d->cdrom ? DRIVE_IF_IDE : DRIVE_IF_VIRTIO;
    } else if (strcmp(iface, "virtio") == 0) {
        d->iface = DRIVE_IF_VIRTIO;
    } else if (strcmp(iface, "ide") == 0) {
        d->iface = DRIVE_IF_IDE;
    } else if (strcmp(iface, "ahci") == 0 || strcmp(iface, "sata") == 0) {
        d->iface = DRIVE_IF_AHCI;
    } else {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--drive %s: if must be virtio, ide or ahci, not \"%s\"", spec, iface);
        goto fail;
    }
    if (d->cdrom && d->iface == DRIVE_IF_VIRTIO) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--drive %s: virtio-blk has no CD-ROM media; use if=ide or if=ahci", spec);
        goto fail;
    }
    if (d->format != NULL && strcmp(d->format, "auto") != 0 && strcmp(d->format, "raw") != 0 &&
        strcmp(d->format, "vdi") != 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--drive %s: format must be auto, raw or vdi, not \"%s\"", spec, d->format);
        goto fail;
    }
    /* Say which file is missing here rather than leave it to a device's realize. */
    if (access(d->file, d->cdrom || d->readonly ? R_OK : R_OK | W_OK) != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "--drive: cannot use %s%s: %s", d->file,
                    d->cdrom || d->readonly ? "" : " for reading and writing", g_strerror(errno));
        goto fail;
    }
    return d;

fail:
    drive_free(d);
    return NULL;
}

/* Puts every drive on its controller, fills Attach/ and the drives' boot paths. */
static bool add_drives(VmmCfgNode *cfg, GPtrArray *drives, GError **error)
{
    static const char *const ide_units[IDE_MAX_UNITS] = {"pm", "ps", "sm", "ss"};
    unsigned n_ide = 0, n_ahci = 0, next_slot = VIRTIO_FIRST_SLOT;
    VmmCfgNode *ide = NULL, *ahci = NULL;

    for (unsigned i = 0; i < drives->len; i++) {
        Drive *d = g_ptr_array_index(drives, i);
        VmmCfgNode *props;
        g_autofree char *prefix = NULL;

        switch (d->iface) {
        case DRIVE_IF_IDE:
            if (n_ide == IDE_MAX_UNITS) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--drive %s: the IDE controller has only %u units", d->file,
                            IDE_MAX_UNITS);
                return false;
            }
            if (ide == NULL) {
                if (vmm_cfg_get_child(cfg, "Attach/drive-ide") != NULL) {
                    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                "device id drive-ide is taken");
                    return false;
                }
                VmmCfgNode *node = vmm_cfg_ensure_child(cfg, "Attach/drive-ide");
                vmm_cfg_set_string(node, "Type", "piix3-ide");
                ide = vmm_cfg_ensure_child(node, "Config");
                vmm_cfg_set_int(ide, "addr", IDE_DEVFN);
            }
            d->unit = n_ide++;
            props = ide;
            prefix = g_strdup_printf("%s_", ide_units[d->unit]);
            d->of_path = g_strdup_printf("/pci@i0cf8/ide@%x,%x/drive@%u/disk@%u", IDE_DEVFN >> 3,
                                         IDE_DEVFN & 7, d->unit / 2, d->unit % 2);
            break;
        case DRIVE_IF_AHCI:
            if (n_ahci == AHCI_MAX_PORTS) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--drive %s: the AHCI controller has only %u ports", d->file,
                            AHCI_MAX_PORTS);
                return false;
            }
            if (ahci == NULL) {
                if (vmm_cfg_get_child(cfg, "Attach/drive-ahci") != NULL) {
                    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                "device id drive-ahci is taken");
                    return false;
                }
                VmmCfgNode *node = vmm_cfg_ensure_child(cfg, "Attach/drive-ahci");
                vmm_cfg_set_string(node, "Type", "ahci");
                ahci = vmm_cfg_ensure_child(node, "Config");
                vmm_cfg_set_int(ahci, "addr", AHCI_SLOT << 3);
            }
            d->unit = n_ahci++;
            props = ahci;
            prefix = g_strdup_printf("port%u_", d->unit);
            d->of_path =
                g_strdup_printf("/pci@i0cf8/pci8086,2922@%x/drive@%u/disk@0", AHCI_SLOT, d->unit);
            break;
        case DRIVE_IF_VIRTIO:
        default: {
            if (next_slot == AHCI_SLOT) {
                next_slot++;
            }
            if (next_slot > 31) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--drive %s: no free PCI slot left for virtio-blk", d->file);
                return false;
            }
            d->unit = next_slot++;
            g_autofree char *path = g_strdup_printf("Attach/drive-virtio%u", d->unit);
            if (vmm_cfg_get_child(cfg, path) != NULL) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "device id %s is taken", path + strlen("Attach/"));
                return false;
            }
            VmmCfgNode *node = vmm_cfg_ensure_child(cfg, path);
            vmm_cfg_set_string(node, "Type", "virtio-blk");
            props = vmm_cfg_ensure_child(node, "Config");
            vmm_cfg_set_int(props, "addr", d->unit << 3);
            prefix = g_strdup("");
            d->of_path = g_strdup_printf("/pci@i0cf8/scsi@%x/disk@0,0", d->unit);
            break;
        }
        }

        g_autofree char *k_file = g_strconcat(prefix, "file", NULL);
        g_autofree char *k_media = g_strconcat(prefix, "media", NULL);
        g_autofree char *k_format = g_strconcat(prefix, "format", NULL);
        g_autofree char *k_ro = g_strconcat(prefix, "readonly", NULL);
        vmm_cfg_set_string(props, k_file, d->file);
        if (d->iface != DRIVE_IF_VIRTIO) {
            vmm_cfg_set_string(props, k_media, d->cdrom ? "cdrom" : "disk");
        }
        if (d->format != NULL) {
            vmm_cfg_set_string(props, k_format, d->format);
        }
        if (d->readonly) {
            vmm_cfg_set_int(props, k_ro, 1);
        }
    }
    return true;
}

/* --boot ORDER: fw_cfg bootorder lines for the drives named, first to boot first. */
static bool add_boot_order(VmmCfgNode *cfg, const char *order, GPtrArray *drives, GError **error)
{
    g_auto(GStrv) items = g_strsplit(order, ",", -1);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree bool *listed = g_new0(bool, drives->len + 1);

    for (unsigned i = 0; items[i] != NULL; i++) {
        const char *item = g_strstrip(items[i]);
        guint64 index;
        bool any = false;

        for (unsigned j = 0; j < drives->len; j++) {
            Drive *d = g_ptr_array_index(drives, j);
            bool match;
            if (strcmp(item, "cdrom") == 0) {
                match = d->cdrom;
            } else if (strcmp(item, "disk") == 0) {
                match = !d->cdrom;
            } else if (g_ascii_string_to_unsigned(item, 10, 0, G_MAXUINT, &index, NULL)) {
                match = index == j;
            } else {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--boot: \"%s\" is not cdrom, disk or a drive number", item);
                return false;
            }
            if (match) {
                any = true;
                if (!listed[j]) {
                    listed[j] = true;
                    g_string_append_printf(out, "%s%s", out->len ? "\n" : "", d->of_path);
                }
            }
        }
        if (!any) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--boot: no --drive matches \"%s\" (%u drive(s) given)", item,
                        drives->len);
            return false;
        }
    }
    vmm_cfg_set_string(cfg, "BootOrder", out->str);
    return true;
}

static VmmCfgNode *build_config(GError **error)
{
    VmmCfgNode *cfg = vmm_cfg_new();
    vmm_cfg_set_int(cfg, "RamSize", (uint64_t)runner.memory_mib << 20);
    vmm_cfg_set_int(cfg, "NumCPUs", (uint64_t)runner.cpus);
    vmm_cfg_set_string(cfg, "Firmware", runner.bios ? runner.bios : PC_DEFAULT_FIRMWARE);
    vmm_cfg_set_int(cfg, "NoGraphic", runner.graphics ? 0 : 1);
    vmm_cfg_set_int(cfg, "BootMenu", runner.boot_menu ? 1 : 0);
    if (runner.kernel != NULL) {
        vmm_cfg_set_string(cfg, "Kernel", runner.kernel);
        if (runner.initrd != NULL) {
            vmm_cfg_set_string(cfg, "Initrd", runner.initrd);
        }
        vmm_cfg_set_string(cfg, "Append", runner.append ? runner.append : "");
    }
    vmm_cfg_set_string(vmm_cfg_ensure_child(cfg, "Devices/serial0"), "backend",
                       runner.serial ? runner.serial : "stdio");
    vmm_cfg_set_string(vmm_cfg_ensure_child(cfg, "Devices/serial1"), "backend",
                       runner.serial2 ? runner.serial2 : "null");
    vmm_cfg_set_string(vmm_cfg_ensure_child(cfg, "Devices/debugcon"), "backend",
                       runner.debugcon ? runner.debugcon : "null");
    for (unsigned i = 0; runner.option_roms && runner.option_roms[i]; i++) {
        g_autofree char *path = g_strdup_printf("OptionRoms/%u", i);
        vmm_cfg_set_string(vmm_cfg_ensure_child(cfg, path), "Path", runner.option_roms[i]);
    }
    for (unsigned i = 0; runner.devices && runner.devices[i]; i++) {
        if (!add_device_option(cfg, runner.devices[i], i, error)) {
            vmm_cfg_free(cfg);
            return NULL;
        }
    }
    g_autoptr(GPtrArray) drives = g_ptr_array_new_with_free_func((GDestroyNotify)drive_free);
    for (unsigned i = 0; runner.drives && runner.drives[i]; i++) {
        Drive *d = parse_drive(runner.drives[i], error);
        if (d == NULL) {
            vmm_cfg_free(cfg);
            return NULL;
        }
        g_ptr_array_add(drives, d);
    }
    if (!add_drives(cfg, drives, error) ||
        (runner.boot != NULL && !add_boot_order(cfg, runner.boot, drives, error))) {
        vmm_cfg_free(cfg);
        return NULL;
    }
    return cfg;
}

/* Builds and runs the machine; returns the exit status. */
static int run_machine(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmmCfgNode) cfg = build_config(&error);
    g_autoptr(GString) dump = g_string_new(NULL);
    VmmMachine *m;
    int status = 1;

    if (cfg == NULL) {
        fprintf(stderr, "boxwood-vm: %s\n", error->message);
        return 2;
    }
    m = vmm_machine_new(cfg, &error);
    if (m == NULL) {
        fprintf(stderr, "boxwood-vm: %s\n", error->message);
        return 1;
    }
    runner.m = m;
    vmm_machine_set_events(m, runner.no_reboot ? &runner_events_no_reboot : &runner_events,
                           NULL);
    if (!pc_board_build(m, cfg, &error) || !vmm_machine_create_vcpus(m, runner.cpus, &error) ||
        !pc_board_setup_vcpus(m, &error)) {
        fprintf(stderr, "boxwood-vm: %s\n", error->message);
        vmm_machine_free(m);
        return 1;
    }
    vmm_cfg_dump(cfg, dump);
    g_info("configuration:\n%s", dump->str);

    /* Put every device in its power-on state, then go. */
    vmm_machine_reset(m);
    GSource *sigs[3] = {g_unix_signal_source_new(SIGINT), g_unix_signal_source_new(SIGTERM),
                        g_unix_signal_source_new(SIGHUP)};
    for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++) {
        g_source_set_callback(sigs[i], on_signal, m, NULL);
        g_source_attach(sigs[i], m->ctx);
    }
    if (!vmm_machine_start(m, &error)) {
        fprintf(stderr, "boxwood-vm: %s\n", error->message);
    } else {
        VmmRequest why = vmm_machine_run(m);
        status = why == VMM_REQ_POWEROFF ? 0 : why == VMM_REQ_TEST_EXIT ? m->exit_code : 1;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++) {
        g_source_destroy(sigs[i]);
        g_source_unref(sigs[i]);
    }
    vmm_machine_free(m);
    runner.m = NULL;
    return status;
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GError) error = NULL;
    int status = 1;

    setlocale(LC_ALL, "");
    /* A console peer that went away must not kill the VM: writes then fail with EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    ctx = g_option_context_new("- run one Boxwood virtual machine");
    g_option_context_set_summary(ctx,
                                 "Starts an i440FX PC with the given firmware (SeaBIOS by "
                                 "default) under KVM.\nExit status: 0 when the guest powers "
                                 "off, 1 when the VM had to be stopped, 2 on usage errors.");
    g_option_context_set_description(
        ctx, "Drives (--drive): media=disk is the default and goes on virtio-blk, media=cdrom on "
             "IDE.\nIDE drives share one PIIX3 IDE controller at 00:01.1 (primary master, "
             "primary slave,\nsecondary master, secondary slave, in --drive order); AHCI drives "
             "share one AHCI\ncontroller at 00:04.0 (ports 0-5 in order); each virtio drive is "
             "a virtio-blk device\nin PCI slot 3, 5, 6 ... A CD-ROM is always read-only.\n\n"
             "Boot order (--boot): the drives named boot first, in that order, then the "
             "firmware's\nown order; e.g. --boot cdrom,disk or --boot 1,0.\n\n"
             "Example: boxwood-vm --drive file=disk.vdi --drive file=install.iso,media=cdrom "
             "--boot cdrom,disk\n");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "boxwood-vm: %s\nTry boxwood-vm --help.\n", error->message);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "boxwood-vm: unexpected argument %s\nTry boxwood-vm --help.\n", argv[1]);
        return 2;
    }
    if ((runner.initrd != NULL || runner.append != NULL) && runner.kernel == NULL) {
        fprintf(stderr, "boxwood-vm: --initrd and --append need --kernel\n");
        return 2;
    }
    if (runner.memory_mib <= 0 || runner.cpus <= 0) {
        fprintf(stderr, "boxwood-vm: --memory and --cpus must be positive\n");
        return 2;
    }
    if (runner.log_path != NULL) {
        runner.log = fopen(runner.log_path, "a");
        if (runner.log == NULL) {
            fprintf(stderr, "boxwood-vm: cannot open log file %s: %s\n", runner.log_path,
                    g_strerror(errno));
            return 2;
        }
    }
    g_log_set_writer_func(log_writer, &runner, NULL);

    status = run_machine();
    if (runner.log != NULL) {
        fclose(runner.log);
    }
    return status;
}
