/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fuzz-storage"
#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz-storage-common.h"

uint8_t fuzz_in_u8(FuzzInput *in)
{
    if (in->left == 0) {
        return 0;
    }
    in->left--;
    return *in->p++;
}

uint32_t fuzz_in_u32(FuzzInput *in)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)fuzz_in_u8(in) << (8 * i);
    }
    return v;
}

static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
}

static char *images[2];

static void remove_images(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(images); i++) {
        g_unlink(images[i]);
    }
}

static char *make_image(const char *name, const char *kind, size_t size)
{
    g_autofree uint8_t *buf = g_malloc(size);
    g_autofree char *tmpl = g_strdup_printf("fuzz-%s-%s-XXXXXX", name, kind);
    char *path = NULL;
    int fd = g_file_open_tmp(tmpl, &path, NULL);

    for (size_t i = 0; i < size; i++) {
        buf[i] = (uint8_t)(i * 31);
    }
    if (fd < 0 || write(fd, buf, size) != (ssize_t)size) {
        abort();
    }
    close(fd);
    return path;
}

void fuzz_storage_setup(const char *const *domains, const char *name, const char **disk_path,
                        const char **iso_path)
{
    if (images[0] == NULL) {
        g_log_set_handler(NULL, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, drop_log, NULL);
        for (const char *const *d = domains; *d != NULL; d++) {
            g_log_set_handler(*d, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, drop_log, NULL);
        }
        images[0] = make_image(name, "disk", 256 * 1024);
        images[1] = make_image(name, "cd", 64 * 2048);
        atexit(remove_images);
    }
    *disk_path = images[0];
    *iso_path = images[1];
}

void fuzz_pci_cfg_write(VmmMachine *m, unsigned devfn, unsigned offset, unsigned size,
                        uint32_t v)
{
    vmm_bus_write_val(m->pio, 0xcf8, 0x80000000u | (devfn << 8) | (offset & 0xfc), 4);
    vmm_bus_write_val(m->pio, 0xcfc + (offset & 3), v, size);
}
