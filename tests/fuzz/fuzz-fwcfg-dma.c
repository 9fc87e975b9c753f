/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fw_cfg under hostile firmware: the input is a stream of PIO accesses to the fw_cfg
 * ports and DMA descriptors placed in fake guest RAM (contents, placement and the
 * address halves written all come from the input).
 */
#define G_LOG_DOMAIN "fuzz-fwcfg-dma"
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "devices/firmware/fw-cfg.h"
#include "vmm/bus.h"
#include "vmm/guest-mem.h"
#include "vmm/machine.h"

#define RAM_SIZE 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *p;
    size_t left;
} Input;

static uint8_t in_u8(Input *in)
{
    if (in->left == 0) {
        return 0;
    }
    in->left--;
    return *in->p++;
}

static uint32_t in_u32(Input *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)in_u8(in) << (8 * i);
    }
    return v;
}

static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned sizes[] = {1, 2, 4};
    static uint8_t writable[32];
    Input in = {data, size};

    static bool quiet;

    /* Guest errors are expected by the thousand here. */
    if (!quiet) {
        g_log_set_handler("fwcfg", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, drop_log, NULL);
        quiet = true;
    }

    VmmMachine *m = vmm_machine_new_fake();
    if (!vmm_guest_mem_alloc_ram(m->mem, RAM_SIZE, NULL)) {
        vmm_machine_free(m);
        return 0;
    }
    uint8_t *ram = vmm_guest_mem_ram_ptr(m->mem, 0, RAM_SIZE);
    vmm_guest_mem_add_region(m->mem, "ram", 0, RAM_SIZE, ram, 0);
    VmmDevice *dev = vmm_device_create(m, &fwcfg_type, "fwcfg", NULL, NULL);
    FwCfgState *s = fw_cfg_from_device(dev);
    if (s == NULL) {
        vmm_machine_free(m);
        return 0;
    }
    fw_cfg_add_i16(s, FW_CFG_NB_CPUS, 2);
    fw_cfg_add_file(s, "etc/e820", "0123456789abcdefghij", 20);
    fw_cfg_add_file(s, "bootorder", "", 0);
    fw_cfg_add_file_writable(s, "etc/ramfb", writable, sizeof(writable), NULL, NULL);

    while (in.left > 0) {
        switch (in_u8(&in) % 6) {
        case 0:
            vmm_bus_write_val(m->pio, FW_CFG_PORT_SEL, in_u32(&in) & 0xffff, 2);
            break;
        case 1:
            vmm_bus_read_val(m->pio, FW_CFG_PORT_DATA, sizes[in_u8(&in) % 3]);
            break;
        case 2: {
            unsigned off = in_u8(&in) % FW_CFG_PORT_LEN;
            unsigned sz = sizes[in_u8(&in) % 3];
            vmm_bus_write_val(m->pio, FW_CFG_PORT_SEL + off, in_u32(&in), sz);
            break;
        }
        case 3: {
            /* A descriptor somewhere in (or just past) RAM, then the two address halves. */
            uint32_t desc = in_u32(&in) % (RAM_SIZE + 32);
            for (unsigned i = 0; i < 16 && desc + i < RAM_SIZE; i++) {
                ram[desc + i] = in_u8(&in);
            }
            uint8_t how = in_u8(&in);
            if ((how & 4) && desc + 16 <= RAM_SIZE) {
                /* Often aim the transfer into RAM so the success paths run too. */
                uint32_t len = GUINT32_TO_BE(in_u32(&in) % 0x2000);
                uint64_t addr = GUINT64_TO_BE(in_u32(&in) % RAM_SIZE);
                memcpy(ram + desc + 4, &len, 4);
                memcpy(ram + desc + 8, &addr, 8);
            }
            if (how & 1) {
                uint32_t high = (how & 2) ? in_u32(&in) : 0;
                vmm_bus_write_val(m->pio, FW_CFG_PORT_DMA, GUINT32_TO_BE(high), 4);
            }
            vmm_bus_write_val(m->pio, FW_CFG_PORT_DMA + 4, GUINT32_TO_BE(desc), 4);
            break;
        }
        case 4:
            vmm_device_reset(dev);
            break;
        default: {
            unsigned off = in_u8(&in) % FW_CFG_PORT_LEN;
            vmm_bus_read_val(m->pio, FW_CFG_PORT_SEL + off, sizes[in_u8(&in) % 3]);
            break;
        }
        }
    }
    vmm_machine_free(m);
    return 0;
}
