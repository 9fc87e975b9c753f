/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PIIX3 IDE under a hostile driver: task file and control register writes, ATA
 * commands, ATAPI packets (12 bytes from the input) with their data phases drained,
 * bus-master starts over PRD tables built in fake RAM, soft resets and media changes.
 */
#define G_LOG_DOMAIN "fuzz-ide-atapi"
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "devices/storage/ide-piix.h"
#include "vmm/bus.h"
#include "vmm/guest-mem.h"
#include "vmm/machine.h"
#include "fuzz-storage-common.h"
#include "vmm/pci.h"

#define RAM_SIZE 0x100000u
#define IDE_DEVFN VMM_PCI_DEVFN(1, 1)
#define BM 0xc000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *disk_path, *iso_path;

static void once(void)
{
    static const char *const domains[] = {"piix3-ide", "ata", "pci", NULL};

    fuzz_storage_setup(domains, "ide", &disk_path, &iso_path);
}

static void cfg_write(VmmMachine *m, unsigned offset, unsigned size, uint32_t v)
{
    fuzz_pci_cfg_write(m, IDE_DEVFN, offset, size, v);
}

static void program(VmmMachine *m)
{
    cfg_write(m, 0x40, 2, 0x8000);
    cfg_write(m, 0x42, 2, 0x8000);
    cfg_write(m, 0x20, 4, BM);
    cfg_write(m, 0x04, 2, 0x0005);
}

/* Waits (bounded) for the channel to leave BSY: block I/O completes on another thread. */
static uint8_t settle(VmmMachine *m, uint16_t ctl)
{
    uint8_t st = 0xff;

    /* Bounded: a DMA command waiting for a bus master start stays BSY. */
    for (unsigned i = 0; i < 25; i++) {
        st = (uint8_t)vmm_bus_read_val(m->pio, ctl, 1);
        if (!(st & 0x80)) {
            break;
        }
        g_usleep(20);
    }
    return st;
}

static const uint8_t ata_cmds[] = {0x06, 0xec, 0xa1, 0xa0, 0x20, 0x24, 0x30, 0x34, 0xc4,
                                   0xc5, 0xc6, 0xc8, 0xca, 0x25, 0x35, 0xe7, 0xef, 0x40,
                                   0x90, 0x91, 0x08, 0xe5, 0xf8, 0x27, 0x00, 0xff};
static const uint8_t mmc_cmds[] = {0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2b, 0x35, 0x43,
                                   0x46, 0x4a, 0x51, 0x55, 0x5a, 0xa8, 0xbb, 0xbd, 0xbe, 0xff};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = {data, size};
    VmmMachine *m;
    VmmCfgNode *cfg, *node;
    VmmDevice *dev;
    uint8_t *ram;

    once();
    m = vmm_machine_new_fake();
    cfg = vmm_cfg_new();
    if (!vmm_guest_mem_alloc_ram(m->mem, RAM_SIZE, NULL)) {
        abort();
    }
    ram = vmm_guest_mem_ram_ptr(m->mem, 0, RAM_SIZE);
    vmm_guest_mem_add_region(m->mem, "ram", 0, RAM_SIZE, ram, 0);
    vmm_device_create(m, &i440fx_type, "i440fx", NULL, NULL);
    vmm_device_create(m, &piix3_type, "piix3", NULL, NULL);
    node = vmm_cfg_ensure_child(cfg, "ide");
    vmm_cfg_set_string(node, "pm_file", disk_path);
    vmm_cfg_set_string(node, "pm_format", "raw");
    vmm_cfg_set_string(node, "sm_file", iso_path);
    vmm_cfg_set_string(node, "sm_media", "cdrom");
    vmm_cfg_set_string(node, "ss_media", "cdrom");
    dev = vmm_device_create(m, &piix3_ide_type, "ide", node, NULL);
    if (dev == NULL) {
        abort();
    }
    program(m);

    while (in.left > 0) {
        uint8_t op = fuzz_in_u8(&in);
        bool sec = (op & 0x80) != 0;
        uint16_t base = sec ? 0x170 : 0x1f0;
        uint16_t ctl = sec ? 0x376 : 0x3f6;

        switch (op & 7) {
        case 0: /* task file register */
            vmm_bus_write_val(m->pio, base + 1 + fuzz_in_u8(&in) % 6, fuzz_in_u8(&in), 1);
            break;
        case 1: /* ATA command, then drain a bounded amount of PIO data */
            vmm_bus_write_val(m->pio, base + 7, ata_cmds[fuzz_in_u8(&in) % sizeof(ata_cmds)], 1);
            for (unsigned i = 0; i < 4096; i++) {
                uint8_t st = settle(m, ctl);
                if (!(st & 0x08) || (st & 0x80)) {
                    break;
                }
                if (op & 0x40) {
                    vmm_bus_write_val(m->pio, base, fuzz_in_u8(&in) | (fuzz_in_u8(&in) << 8), 2);
                } else {
                    vmm_bus_read_val(m->pio, base, (op & 0x20) ? 4 : 2);
                }
            }
            break;
        case 2: { /* ATAPI packet */
            uint8_t cdb[12];

            vmm_bus_write_val(m->pio, base + 6, (fuzz_in_u8(&in) & 0x10) | 0xa0, 1);
            vmm_bus_write_val(m->pio, base + 1, fuzz_in_u8(&in) & 1, 1);
            vmm_bus_write_val(m->pio, base + 4, fuzz_in_u8(&in), 1);
            vmm_bus_write_val(m->pio, base + 5, fuzz_in_u8(&in) & 0x0f, 1);
            vmm_bus_write_val(m->pio, base + 7, 0xa0, 1);
            cdb[0] = mmc_cmds[fuzz_in_u8(&in) % sizeof(mmc_cmds)];
            for (unsigned i = 1; i < 12; i++) {
                cdb[i] = fuzz_in_u8(&in) % ((i == 8 || i == 4) ? 255 : 4);
            }
            for (unsigned i = 0; i < 6; i++) {
                vmm_bus_write_val(m->pio, base, cdb[2 * i] | (cdb[2 * i + 1] << 8), 2);
            }
            for (unsigned i = 0; i < 8192; i++) {
                uint8_t st = settle(m, ctl);
                if (!(st & 0x08) || (st & 0x80)) {
                    break;
                }
                vmm_bus_read_val(m->pio, base, 2);
            }
            break;
        }
        case 3: { /* PRD entry in RAM */
            uint32_t at = fuzz_in_u32(&in) % (RAM_SIZE - 8);
            uint32_t e[2] = {fuzz_in_u32(&in) % (RAM_SIZE + 0x10000), fuzz_in_u32(&in)};
            memcpy(ram + at, e, sizeof(e));
            break;
        }
        case 4: { /* bus master register */
            unsigned reg = fuzz_in_u8(&in) % 16;
            vmm_bus_write_val(m->pio, BM + reg, fuzz_in_u32(&in), (reg & 3) == 0 ? 4 : 1);
            settle(m, ctl);
            break;
        }
        case 5: /* device control: SRST, nIEN, HOB */
            vmm_bus_write_val(m->pio, ctl, fuzz_in_u8(&in), 1);
            break;
        case 6:
            if (fuzz_in_u8(&in) & 1) {
                ide_change_media(dev, 2 + (fuzz_in_u8(&in) & 1), (fuzz_in_u8(&in) & 1) ? iso_path : NULL,
                                 "raw", NULL);
            } else {
                vmm_bus_read_val(m->pio, base + fuzz_in_u8(&in) % 8, 1);
            }
            break;
        default:
            vmm_device_reset(dev);
            program(m);
            break;
        }
    }
    vmm_machine_free(m);
    vmm_cfg_free(cfg);
    return 0;
}
