/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * boxwood-img: create, convert, describe and check disk images (raw, VDI).
 * Exit codes: 0 success, 1 the operation failed (I/O, bad image), 2 usage error.
 */
#define G_LOG_DOMAIN "boxwood-img"
#include <errno.h>
#include <stdarg.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/block.h"

#define EXIT_USAGE 2

static const char *const usage_main =
    "Usage: boxwood-img COMMAND [OPTIONS] ...\n"
    "Commands:\n"
    "  create -f raw|vdi [--variant fixed|standard] FILE SIZE[K|M|G]\n"
    "  convert [-f FMT] -O raw|vdi IN OUT\n"
    "  info FILE\n"
    "  check FILE\n"
    "Run 'boxwood-img COMMAND --help' for details.\n";
static const char *const usage_create =
    "Usage: boxwood-img create -f raw|vdi [--variant fixed|standard] FILE SIZE[K|M|G]\n"
    "Creates an empty image. SIZE is in bytes (multiple of 512) or with a K/M/G suffix.\n"
    "VDI variants: standard (dynamic, default) or fixed.\n";
static const char *const usage_convert =
    "Usage: boxwood-img convert [-f raw|vdi] -O raw|vdi IN OUT\n"
    "Copies the disk content of IN into a new image OUT (VDI output is dynamic; blocks\n"
    "that read as zeros are not allocated).\n";
static const char *const usage_info = "Usage: boxwood-img info FILE\nDescribes an image.\n";
static const char *const usage_check =
    "Usage: boxwood-img check FILE\n"
    "Opens the image read-only and validates its header and block map.\n";

static int usage_error(const char *usage, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_printerr("boxwood-img: %s\n%s", msg, usage);
    return EXIT_USAGE;
}

static bool want_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

static bool parse_format(const char *s, BlockFormat *out)
{
    if (strcmp(s, "raw") == 0) {
        *out = BLOCK_FORMAT_RAW;
    } else if (strcmp(s, "vdi") == 0) {
        *out = BLOCK_FORMAT_VDI;
    } else if (strcmp(s, "auto") == 0) {
        *out = BLOCK_FORMAT_AUTO;
    } else {
        return false;
    }
    return true;
}

static bool parse_size(const char *s, uint64_t *out)
{
    char *end = NULL;
    guint64 v;

    errno = 0;
    v = g_ascii_strtoull(s, &end, 10);
    if (errno != 0 || end == s) {
        return false;
    }
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') {
        shift = 10;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        shift = 20;
        end++;
    } else if (*end == 'G' || *end == 'g') {
        shift = 30;
        end++;
    } else if (*end == 'T' || *end == 't') {
        shift = 40;
        end++;
    }
    if (*end != '\0' || v > (G_MAXUINT64 >> shift)) {
        return false;
    }
    *out = v << shift;
    return true;
}

/* Finds a differencing image's parent among the VDI files next to it. */
static char *lookup_in_dir(void *opaque, const char *uuid)
{
    const char *dir = opaque;
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(name, ".vdi")) {
            continue;
        }
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *u = block_vdi_read_uuid(path);
        if (u != NULL && g_ascii_strcasecmp(u, uuid) == 0) {
            return g_steal_pointer(&path);
        }
    }
    return NULL;
}

static BlockDev *open_image(const char *path, BlockFormat fmt, char **dir_out, GError **error)
{
    *dir_out = g_path_get_dirname(path);
    BlockOpenOptions o = { .format = fmt, .read_only = true, .parent_lookup = lookup_in_dir,
                           .parent_lookup_opaque = *dir_out };
    return block_open(path, &o, error);
}

static int cmd_create(int argc, char **argv)
{
    const char *fmt = NULL;
    const char *variant = "standard";
    const char *pos[2];
    int npos = 0;

    if (want_help(argc, argv)) {
        g_print("%s", usage_create);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            fmt = argv[++i];
        } else if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc) {
            variant = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error(usage_create, "unknown or incomplete option '%s'", argv[i]);
        } else if (npos < 2) {
            pos[npos++] = argv[i];
        } else {
            return usage_error(usage_create, "unexpected argument '%s'", argv[i]);
        }
    }
    if (fmt == NULL || npos != 2) {
        return usage_error(usage_create, "%s", "create needs -f FORMAT, FILE and SIZE");
    }
    uint64_t size;
    if (!parse_size(pos[1], &size)) {
        return usage_error(usage_create, "invalid size '%s'", pos[1]);
    }
    g_autoptr(GError) err = NULL;
    bool ok;
    if (strcmp(fmt, "raw") == 0) {
        ok = block_create_raw(pos[0], size, &err);
    } else if (strcmp(fmt, "vdi") == 0) {
        BlockVdiVariant v;
        if (strcmp(variant, "fixed") == 0) {
            v = BLOCK_VDI_FIXED;
        } else if (strcmp(variant, "standard") == 0 || strcmp(variant, "dynamic") == 0) {
            v = BLOCK_VDI_DYNAMIC;
        } else {
            return usage_error(usage_create, "unknown variant '%s'", variant);
        }
        ok = block_create_vdi(pos[0], size, v, NULL, &err);
    } else {
        return usage_error(usage_create, "unknown format '%s'", fmt);
    }
    if (!ok) {
        g_printerr("boxwood-img: %s\n", err->message);
        return 1;
    }
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

static int cmd_convert(int argc, char **argv)
{
    BlockFormat in_fmt = BLOCK_FORMAT_AUTO;
    BlockFormat out_fmt = BLOCK_FORMAT_AUTO;
    const char *pos[2];
    int npos = 0;

    if (want_help(argc, argv)) {
        g_print("%s", usage_convert);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            if (!parse_format(argv[++i], &in_fmt)) {
                return usage_error(usage_convert, "unknown format '%s'", argv[i]);
            }
        } else if (strcmp(argv[i], "-O") == 0 && i + 1 < argc) {
            if (!parse_format(argv[++i], &out_fmt) || out_fmt == BLOCK_FORMAT_AUTO) {
                return usage_error(usage_convert, "unknown output format '%s'", argv[i]);
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error(usage_convert, "unknown or incomplete option '%s'", argv[i]);
        } else if (npos < 2) {
            pos[npos++] = argv[i];
        } else {
            return usage_error(usage_convert, "unexpected argument '%s'", argv[i]);
        }
    }
    if (out_fmt == BLOCK_FORMAT_AUTO || npos != 2) {
        return usage_error(usage_convert, "%s", "convert needs -O FORMAT, IN and OUT");
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = NULL;
    BlockDev *in = open_image(pos[0], in_fmt, &dir, &err);
    if (in == NULL) {
        g_printerr("boxwood-img: %s\n", err->message);
        return 1;
    }
    uint64_t size = block_size(in);
    bool ok = out_fmt == BLOCK_FORMAT_RAW ? block_create_raw(pos[1], size, &err)
                                          : block_create_vdi(pos[1], size, BLOCK_VDI_DYNAMIC,
                                                             NULL, &err);
    if (!ok) {
        g_printerr("boxwood-img: %s\n", err->message);
        block_close(in);
        return 1;
    }
    BlockOpenOptions oo = { .format = out_fmt };
    BlockDev *out = block_open(pos[1], &oo, &err);
    if (out == NULL) {
        g_printerr("boxwood-img: %s\n", err->message);
        block_close(in);
        return 1;
    }
    const size_t chunk = 1u << 20;
    g_autofree uint8_t *buf = g_malloc(chunk);
    bool tty = isatty(STDOUT_FILENO);
    int rc = 0;
    unsigned last_pct = 101;
    for (uint64_t off = 0; off < size; off += chunk) {
        size_t n = (size_t)MIN((uint64_t)chunk, size - off);
        int r = block_pread(in, off, buf, n);
        if (r < 0) {
            g_printerr("\nboxwood-img: %s: read at %" G_GUINT64_FORMAT ": %s\n", pos[0], off,
                       g_strerror(-r));
            rc = 1;
            break;
        }
        /* Zeros are what a fresh image reads: leave them sparse/unallocated. */
        if (!all_zero(buf, n)) {
            r = block_pwrite(out, off, buf, n);
            if (r < 0) {
                g_printerr("\nboxwood-img: %s: write at %" G_GUINT64_FORMAT ": %s\n", pos[1],
                           off, g_strerror(-r));
                rc = 1;
                break;
            }
        }
        unsigned pct = (unsigned)((off + n) * 100 / size);
        if (tty && pct != last_pct) {
            g_print("\r    (%3u.00/100%%)", pct);
            fflush(stdout);
            last_pct = pct;
        }
    }
    if (tty) {
        g_print("\n");
    }
    if (rc == 0) {
        int r = block_flush(out);
        if (r < 0) {
            g_printerr("boxwood-img: %s: flush: %s\n", pos[1], g_strerror(-r));
            rc = 1;
        }
    }
    block_close(out);
    block_close(in);
    return rc;
}

static int cmd_info_check(int argc, char **argv, bool check)
{
    const char *usage = check ? usage_check : usage_info;

    if (want_help(argc, argv)) {
        g_print("%s", usage);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        return usage_error(usage, "%s", "expected exactly one FILE");
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = NULL;
    BlockDev *bd = open_image(argv[1], BLOCK_FORMAT_AUTO, &dir, &err);
    if (bd == NULL) {
        g_printerr("boxwood-img: %s\n", err->message);
        return 1;
    }
    if (check) {
        g_print("No errors were found on the image.\n");
    } else {
        g_autofree char *info = block_dup_info(bd);
        g_print("%s", info);
    }
    block_close(bd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        g_printerr("%s", usage_main);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        g_print("%s", usage_main);
        return 0;
    }
    if (strcmp(cmd, "create") == 0) {
        return cmd_create(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "convert") == 0) {
        return cmd_convert(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "info") == 0) {
        return cmd_info_check(argc - 1, argv + 1, false);
    }
    if (strcmp(cmd, "check") == 0) {
        return cmd_info_check(argc - 1, argv + 1, true);
    }
    g_printerr("boxwood-img: unknown command '%s'\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
