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
