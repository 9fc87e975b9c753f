/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for virtio-blk on the virtio-pci transport: a fake machine with the
 * i440FX/PIIX3 chipset, 1 MiB of RAM and a virtio-blk function backed by a small raw
 * image. The input is a sequence of operations: accesses anywhere in BAR 4 (common and
 * device configuration, ISR, notifications), configuration-space accesses (the PCI_CFG
 * window, MSI-X control, BARs, COMMAND), MSI-X table writes and guest RAM writes (rings,
 * descriptors, request headers). A prologue brings the device to DRIVER_OK with one
 * queue so requests are reachable. Nothing may crash, hang, leak or trip a sanitizer.
 */
#define G_LOG_DOMAIN "fuzz-virtio-blk"
#include <glib.h>
#include <glib/gstdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "devices/virtio/virtio-blk.h"
#include "devices/virtio/virtio-pci.h"
#include "vmm/machine.h"
#include "vmm/pci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE 0x100000u
#define DEVFN 0x18
#define BAR4 0xe0000000ull
#define BAR1 0xe0100000ull
#define DISK_SIZE (64u * 1024)

static char *image_path;

static void remove_image(void)
{
    g_unlink(image_path);
    g_free(image_path);
}

static void make_image(void)
{
    if (image_path) {
        return;
    }
    g_autofree uint8_t *content = g_malloc0(DISK_SIZE);
    image_path =
        g_strdup_printf("%s/boxwood-fuzz-virtio-blk-%d.img", g_get_tmp_dir(), (int)getpid());
    if (!g_file_set_contents(image_path, (const char *)content, DISK_SIZE, NULL)) {
        g_error("cannot create %s", image_path);
    }
    atexit(remove_image);
}

static void cfg_write(VmmMachine *m, unsigned off, unsigned size, uint32_t v)
{
    vmm_bus_write_val(m->pio, 0xcf8, 0x80000000u | (DEVFN << 8) | (off & 0xfc), 4);
    vmm_bus_write_val(m->pio, 0xcfc + (off & 3), v, size);
}

static uint32_t cfg_read(VmmMachine *m, unsigned off, unsigned size)
{
    vmm_bus_write_val(m->pio, 0xcf8, 0x80000000u | (DEVFN << 8) | (off & 0xfc), 4);
    return (uint32_t)vmm_bus_read_val(m->pio, 0xcfc + (off & 3), size);
}

static void prologue(VmmMachine *m)
{
    cfg_write(m, 0x20, 4, (uint32_t)BAR4);
    cfg_write(m, 0x24, 4, 0);
    cfg_write(m, 0x14, 4, (uint32_t)BAR1);
    cfg_write(m, 0x04, 2, VMM_PCI_COMMAND_MEMORY | VMM_PCI_COMMAND_MASTER);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_STATUS, 3, 1);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_GF, 0x30000244u, 4);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_GF, 1, 4);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_Q_DESCLO, 0x1000, 4);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_Q_AVAILLO, 0x2000, 4);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_Q_USEDLO, 0x3000, 4);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) err = NULL;

    make_image();
    VmmMachine *m = vmm_machine_new_fake();
    VmmCfgNode *cfg = vmm_cfg_new();
    if (!vmm_guest_mem_alloc_ram(m->mem, RAM_SIZE, &err)) {
        g_error("%s", err->message);
    }
    uint8_t *ram = vmm_guest_mem_ram_ptr(m->mem, 0, RAM_SIZE);
    vmm_guest_mem_add_region(m->mem, "ram", 0, RAM_SIZE, ram, 0);
    if (!vmm_device_create(m, &i440fx_type, "i440fx", NULL, &err) ||
        !vmm_device_create(m, &piix3_type, "piix3", NULL, &err)) {
        g_error("%s", err->message);
    }
    VmmCfgNode *node = vmm_cfg_ensure_child(cfg, "vblk");
    vmm_cfg_set_int(node, "addr", DEVFN);
    vmm_cfg_set_string(node, "file", image_path);
    vmm_cfg_set_string(node, "format", "raw");
    vmm_cfg_set_string(node, "serial", "FUZZ");
    if (!vmm_device_create(m, &virtio_blk_type, "vblk", node, &err)) {
        g_error("%s", err->message);
    }
    prologue(m);

    /* Operations: 8 bytes each: kind, 3 bytes offset, 4 bytes value. */
    for (size_t i = 0; i + 8 <= size; i += 8) {
        const uint8_t *op = data + i;
        uint32_t off = op[1] | (op[2] << 8) | ((uint32_t)op[3] << 16);
        uint32_t v = op[4] | (op[5] << 8) | ((uint32_t)op[6] << 16) | ((uint32_t)op[7] << 24);
        unsigned sz = 1u << ((op[0] >> 4) & 3);

        switch (op[0] % 8) {
        case 0:
            vmm_bus_write_val(m->mmio, BAR4 + (off % VIRTIO_PCI_BAR_SIZE), v, sz);
            break;
        case 1:
            vmm_bus_read_val(m->mmio, BAR4 + (off % VIRTIO_PCI_BAR_SIZE), sz);
            break;
        case 2:
            /* Kick queue 0 (the most useful notification). */
            vmm_bus_write_val(m->mmio, BAR4 + VIRTIO_PCI_NOTIFY_OFF, 0, 2);
            break;
        case 3:
            cfg_write(m, off % 256, sz > 4 ? 4 : sz, v);
            break;
        case 4:
            cfg_read(m, off % 256, sz > 4 ? 4 : sz);
            break;
        case 5:
            vmm_bus_write_val(m->mmio, BAR1 + (off % 0x1000), v, 4);
            break;
        case 6:
            /* Guest RAM near the rings and buffers. */
            memcpy(ram + (off % (0x8000 - 4)), &v, 4);
            break;
        case 7:
            /* Let completions from the block layer's workers land. */
            g_usleep(op[1] % 4 == 0 ? 100 : 0);
            break;
        }
    }
    vmm_machine_free(m); /* closes the image after in-flight requests finish */
    vmm_cfg_free(cfg);
    return 0;
}
