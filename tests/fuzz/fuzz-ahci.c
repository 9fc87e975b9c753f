/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * AHCI under a hostile driver: command headers, command FISes, ATAPI packets and
 * PRDTs built from the input and placed in fake guest RAM (addresses, lengths and
 * flags included), interleaved with raw ABAR register writes, port stops, resets
 * and media changes.
 */
#define G_LOG_DOMAIN "fuzz-ahci"
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "devices/storage/ahci.h"
#include "vmm/bus.h"
#include "vmm/guest-mem.h"
#include "vmm/machine.h"
#include "fuzz-storage-common.h"
#include "vmm/pci.h"

#define RAM_SIZE 0x100000u
#define ABAR 0xfebf0000u
#define AHCI_DEVFN VMM_PCI_DEVFN(4, 0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *disk_path, *iso_path;

static void once(void)
{
    static const char *const domains[] = {"ahci", "ata", "pci", NULL};

    fuzz_storage_setup(domains, "ahci", &disk_path, &iso_path);
}

static void cfg_write(VmmMachine *m, unsigned offset, unsigned size, uint32_t v)
{
    fuzz_pci_cfg_write(m, AHCI_DEVFN, offset, size, v);
}

static void wr(VmmMachine *m, uint32_t reg, uint32_t v)
{
    vmm_bus_write_val(m->mmio, ABAR + reg, v, 4);
}

static uint32_t rd(VmmMachine *m, uint32_t reg)
{
    return (uint32_t)vmm_bus_read_val(m->mmio, ABAR + reg, 4);
}

/* BAR, bus mastering, interrupts, two started ports. */
static void program(VmmMachine *m)
{
    cfg_write(m, 0x24, 4, ABAR);
    cfg_write(m, 0x04, 2, 0x0006);
    wr(m, 0x04, 0x80000002u);
    for (unsigned p = 0; p < 2; p++) {
        wr(m, 0x100 + p * 0x80 + 0x00, 0x1000 * (p + 1));
        wr(m, 0x100 + p * 0x80 + 0x08, 0x1000 * (p + 1) + 0x400);
        wr(m, 0x100 + p * 0x80 + 0x14, 0xffffffffu);
        wr(m, 0x100 + p * 0x80 + 0x18, 0x11);
    }
}

/* Non-queued error recovery, as SeaBIOS does it. */
static void recover(VmmMachine *m, uint32_t preg)
{
    wr(m, preg + 0x18, rd(m, preg + 0x18) & ~1u);
    wr(m, preg + 0x30, 0xffffffffu);
    wr(m, preg + 0x10, 0xffffffffu);
    wr(m, preg + 0x18, rd(m, preg + 0x18) | 0x11);
}

/* Lets queued block I/O finish so completions (and the next slots) run. */
static void settle(VmmMachine *m, unsigned port)
{
    uint32_t preg = 0x100 + port * 0x80;

    /* Bounded: a stopped or failed port keeps its CI bits for good. */
    for (unsigned i = 0; i < 50; i++) {
        if (rd(m, preg + 0x38) == 0 || !(rd(m, preg + 0x18) & 1) ||
            (rd(m, preg + 0x10) & 0x60000000u)) {
            break;
        }
        g_usleep(20);
    }
}

/* Mostly sensible opcodes so random input reaches the data paths. */
static const uint8_t ata_cmds[] = {0x06, 0xec, 0xa1, 0x25, 0x35, 0xc8, 0xca, 0x20, 0x30,
                                   0x24, 0x34, 0xc4, 0xc5, 0xc6, 0xe7, 0xea, 0xef, 0x40,
                                   0x90, 0xa0, 0x08, 0x91, 0xe5, 0xf8, 0x27, 0x00, 0xff};
static const uint8_t mmc_cmds[] = {0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2b, 0x35, 0x43,
                                   0x46, 0x4a, 0x51, 0x55, 0x5a, 0xa8, 0xbb, 0xbd, 0xbe, 0xff};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = {data, size};
    VmmMachine *m;
    VmmCfgNode *cfg;
    VmmCfgNode *node;
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
    node = vmm_cfg_ensure_child(cfg, "ahci");
    vmm_cfg_set_string(node, "port0_file", disk_path);
    vmm_cfg_set_string(node, "port0_format", "raw");
    vmm_cfg_set_string(node, "port1_file", iso_path);
    vmm_cfg_set_string(node, "port1_media", "cdrom");
    vmm_cfg_set_string(node, "port1_format", "raw");
    dev = vmm_device_create(m, &ahci_type, "ahci", node, NULL);
    if (dev == NULL) {
        abort();
    }
    program(m);

    while (in.left > 0) {
        uint8_t op = fuzz_in_u8(&in);
        unsigned port = op >> 7;
        uint32_t preg = 0x100 + port * 0x80;

        switch (op & 7) {
        case 0: { /* raw bytes into RAM */
            uint32_t at = fuzz_in_u32(&in) % RAM_SIZE;
            unsigned len = fuzz_in_u8(&in);
            for (unsigned i = 0; i < len && at + i < RAM_SIZE; i++) {
                ram[at + i] = fuzz_in_u8(&in);
            }
            break;
        }
        case 1:
        case 2:
        case 3: { /* a command in a slot */
            unsigned slot = fuzz_in_u8(&in) % 32;
            uint8_t flags = fuzz_in_u8(&in);
            uint32_t clb = rd(m, preg + 0x00);
            uint32_t ctba = (flags & 0xc0) == 0xc0 ? fuzz_in_u32(&in) : 0x10000u + slot * 0x800u;
            unsigned nprd = fuzz_in_u8(&in) % 6;
            uint32_t hdr[4];
            uint8_t cfis[20] = {0x27, 0x80};

            if ((flags & 0x60) == 0x60) {
                nprd = fuzz_in_u32(&in) & 0xffff;
            }
            if (rd(m, preg + 0x10) & 0x60000000u) {
                recover(m, preg);
            }
            hdr[0] = GUINT32_TO_LE(5u | ((flags & 0x07) << 5) | (nprd << 16));
            hdr[1] = 0;
            hdr[2] = GUINT32_TO_LE(ctba);
            hdr[3] = (flags & 0xa0) == 0xa0 ? fuzz_in_u32(&in) : 0;
            if ((uint64_t)clb + slot * 32u + sizeof(hdr) <= RAM_SIZE) {
                memcpy(ram + clb + slot * 32, hdr, sizeof(hdr));
            }
            cfis[2] = ata_cmds[fuzz_in_u8(&in) % sizeof(ata_cmds)];
            for (unsigned i = 3; i < 20; i++) {
                cfis[i] = (flags & 0x10) ? fuzz_in_u8(&in) : 0;
            }
            if (!(flags & 0x10)) {
                cfis[3] = fuzz_in_u8(&in) & 1;
                cfis[4] = fuzz_in_u8(&in);
                cfis[7] = 0x40;
                cfis[12] = fuzz_in_u8(&in) % 8;
            }
            if (flags & 0x08) {
                cfis[1] = fuzz_in_u8(&in);
                cfis[15] = fuzz_in_u8(&in);
            }
            if ((uint64_t)ctba + 0x80 <= RAM_SIZE) {
                memcpy(ram + ctba, cfis, sizeof(cfis));
                ram[ctba + 0x40] = mmc_cmds[fuzz_in_u8(&in) % sizeof(mmc_cmds)];
                for (unsigned i = 1; i < 12; i++) {
                    ram[ctba + 0x40 + i] = fuzz_in_u8(&in) % ((i == 8 || i == 4) ? 255 : 4);
                }
                for (unsigned i = 0; i < MIN(nprd, 6u); i++) {
                    uint32_t e[4] = {fuzz_in_u32(&in) % (RAM_SIZE + 0x2000), 0, 0,
                                     fuzz_in_u32(&in) & ((flags & 0x0c) == 0x0c ? 0x3fffff : 0x1fff)};
                    if ((uint64_t)ctba + 0x80 + (i + 1) * 16 <= RAM_SIZE) {
                        memcpy(ram + ctba + 0x80 + i * 16, e, sizeof(e));
                    }
                }
            }
            wr(m, preg + 0x38, 1u << slot);
            settle(m, port);
            break;
        }
        case 4: { /* raw register write */
            uint32_t reg = (fuzz_in_u8(&in) | (fuzz_in_u8(&in) << 8)) % 0x1000 & ~3u;
            wr(m, reg, fuzz_in_u32(&in));
            settle(m, port);
            break;
        }
        case 5:
            recover(m, preg);
            break;
        case 6:
            if (fuzz_in_u8(&in) & 1) {
                ahci_change_media(dev, 1, (fuzz_in_u8(&in) & 1) ? iso_path : NULL, "raw", NULL);
            } else {
                (void)rd(m, (fuzz_in_u8(&in) * 4u) % 0x1000);
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
