/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: the whole PC board (chipset, PCI config space and BARs, PM block, RTC,
 * UARTs, i8042, fw_cfg with DMA, debug and test ports) on a fake machine, reached the
 * way a guest reaches it: port I/O and MMIO of every size at any address, through the
 * buses' dispatch (splitting, widening, straddling region edges). The input is a
 * sequence of 8-byte operations:
 *
 *   byte 0   bit 0: read/write, bit 1: MMIO/PIO, bits 2-3: size 1, 2, 4, 8,
 *            bits 4-5: address space (0: the low 64 KiB ports or 0xFEE00000+; 1: a "hot"
 *            range of the platform; 2: anywhere in 32 bits; 3: advance the clock)
 *   byte 1-3 address bits (24)
 *   byte 4-7 value
 *
 * Nothing may crash or hang; guest RAM is 16 MiB so DMA descriptors often land in it.
 */
#define G_LOG_DOMAIN "fuzz-board-io"
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/board/pc.h"
#include "vmm/machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OP_SIZE 8
#define MAX_OPS 2048

static const uint16_t hot_ports[] = {0x510, 0x514, 0x518, 0xcf8, 0xcfc, 0x600, 0x608,
                                     0x70,  0x60,  0x64,  0x3f8, 0x2f8, 0x402, 0xafe0};

static void quiet_log(const char *domain, GLogLevelFlags level, const char *msg, void *opaque)
{
    /* Guest errors are expected; criticals still abort through G_DEBUG=fatal-criticals. */
}

static VmmMachine *make_board(void)
{
    g_autoptr(GError) err = NULL;
    VmmMachine *m = vmm_machine_new_fake();
    VmmCfgNode *cfg = vmm_cfg_new();

    vmm_cfg_set_int(cfg, "RamSize", 16u << 20);
    vmm_cfg_set_int(cfg, "NumCPUs", 2);
    m->cfg = cfg;
    vmm_clock_set_manual(m);
    if (!pc_board_build(m, cfg, &err)) {
        g_printerr("fuzz-board-io: cannot build the board: %s\n", err->message);
        abort();
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialized;

    if (!initialized) {
        g_log_set_handler(NULL, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_INFO |
                                    G_LOG_LEVEL_DEBUG,
                          quiet_log, NULL);
        g_log_set_default_handler(quiet_log, NULL);
        initialized = true;
    }
    VmmMachine *m = make_board();
    VmmCfgNode *cfg = m->cfg;
    unsigned n_ops = 0;

    for (size_t off = 0; off + OP_SIZE <= size && n_ops < MAX_OPS; off += OP_SIZE, n_ops++) {
        const uint8_t *op = data + off;
        bool is_read = op[0] & 1;
        bool is_mmio = op[0] & 2;
        unsigned sz = 1u << ((op[0] >> 2) & 3);
        unsigned space = (op[0] >> 4) & 3;
        uint32_t bits = op[1] | (op[2] << 8) | ((uint32_t)op[3] << 16);
        uint64_t value;
        uint64_t addr;

        memcpy(&value, op + 4, 4);
        value |= value << 32;
        switch (space) {
        case 0:
            addr = is_mmio ? 0xfe000000u + bits : (bits & 0xffff);
            break;
        case 1:
            addr = is_mmio ? 0xfebf0000u + (bits & 0xffff)
                           : hot_ports[(bits >> 8) % G_N_ELEMENTS(hot_ports)] + (bits & 7);
            break;
        case 2:
            addr = ((uint64_t)bits << 8) | op[4];
            break;
        default:
            /* Let timers (RTC, PM) run; bounded so the run stays short. */
            vmm_clock_advance(m, (int64_t)(bits & 0xfffff) * 1000);
            continue;
        }
        VmmBus *bus = is_mmio ? m->mmio : m->pio;
        if (is_read) {
            (void)vmm_bus_read_val(bus, addr, sz);
        } else {
            vmm_bus_write_val(bus, addr, value, sz);
        }
    }
    vmm_machine_free(m);
    vmm_cfg_free(cfg);
    return 0;
}
