/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-storage"
#include "storage-helpers.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"

void storage_setup(StorageFixture *f)
{
    g_autoptr(GError) err = NULL;

    memset(f, 0, sizeof(*f));
    f->m = vmm_machine_new_fake();
    g_assert_true(vmm_guest_mem_alloc_ram(f->m->mem, ST_RAM_SIZE, &err));
    g_assert_no_error(err);
    f->ram = vmm_guest_mem_ram_ptr(f->m->mem, 0, ST_RAM_SIZE);
    g_assert_cmpint(vmm_guest_mem_add_region(f->m->mem, "ram", 0, ST_RAM_SIZE, f->ram, 0), >=, 0);
    f->cfg = vmm_cfg_new();
    g_assert_nonnull(vmm_device_create(f->m, &i440fx_type, "i440fx", NULL, &err));
    g_assert_no_error(err);
    g_assert_nonnull(vmm_device_create(f->m, &piix3_type, "piix3", NULL, &err));
    g_assert_no_error(err);
    f->dir = g_dir_make_tmp("boxwood-storage-XXXXXX", &err);
    g_assert_no_error(err);
}

void storage_teardown(StorageFixture *f)
{
    g_autoptr(GDir) dir = NULL;
    const char *name;

    vmm_machine_free(f->m);
    vmm_cfg_free(f->cfg);
    dir = g_dir_open(f->dir, 0, NULL);
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = g_build_filename(f->dir, name, NULL);
        g_unlink(path);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
}

uint32_t storage_pattern(uint64_t offset, uint32_t seed)
{
    return (uint32_t)(offset * 2654435761u) ^ seed;
}

char *storage_make_image(StorageFixture *f, const char *name, uint64_t size, uint32_t seed)
{
    char *path = g_build_filename(f->dir, name, NULL);
    FILE *fp = fopen(path, "wb");
    uint32_t words[1024];

    g_assert_nonnull(fp);
    for (uint64_t off = 0; off < size; off += sizeof(words)) {
        size_t n = MIN(sizeof(words), size - off);
        for (size_t i = 0; i < n / 4; i++) {
            words[i] = GUINT32_TO_LE(storage_pattern(off + i * 4, seed));
        }
        g_assert_cmpuint(fwrite(words, 1, n, fp), ==, n);
    }
    fclose(fp);
    return path;
}

void storage_read_file(const char *path, uint64_t offset, void *buf, size_t len)
{
    FILE *fp = fopen(path, "rb");

    g_assert_nonnull(fp);
    g_assert_cmpint(fseek(fp, (long)offset, SEEK_SET), ==, 0);
    g_assert_cmpuint(fread(buf, 1, len, fp), ==, len);
    fclose(fp);
}

uint32_t st_cfg_read(StorageFixture *f, uint8_t devfn, unsigned offset, unsigned size)
{
    vmm_bus_write_val(f->m->pio, 0xcf8, 0x80000000u | ((uint32_t)devfn << 8) | (offset & 0xfc), 4);
    return (uint32_t)vmm_bus_read_val(f->m->pio, 0xcfc + (offset & 3), size);
}

void st_cfg_write(StorageFixture *f, uint8_t devfn, unsigned offset, unsigned size, uint32_t v)
{
    vmm_bus_write_val(f->m->pio, 0xcf8, 0x80000000u | ((uint32_t)devfn << 8) | (offset & 0xfc), 4);
    vmm_bus_write_val(f->m->pio, 0xcfc + (offset & 3), v, size);
}

void storage_wait(bool (*cond)(void *opaque), void *opaque)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (!cond(opaque)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(100);
    }
}
