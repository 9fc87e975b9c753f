/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: the ISA devices a guest reaches through port I/O (two 16550A UARTs, the
 * RTC/CMOS, the debug console, the test-exit port) on a fake machine with a manual clock.
 * The input is a sequence of 4-byte operations:
 *
 *   byte 0  bits 0-1: 0 = write, 1 = read, 2 = advance the clock, 3 = serial input
 *           bits 2-3: access size 1, 2, 4 (3 = 1); for the clock, bit 2 = seconds scale
 *   byte 1  bits 0-2: port offset, bits 3-5: device (COM1, COM2, RTC, debugcon, test-exit)
 *   byte 2-3 value (little endian)
 *
 * Nothing may crash, and the RTC must never arm a timer closer than 100 us nor raise its
 * interrupt more often than that allows.
 */
#define G_LOG_DOMAIN "fuzz-isa-ports"
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>

#include "devices/backend/char.h"
#include "devices/misc/debugcon.h"
#include "devices/misc/testexit.h"
#include "devices/rtc/mc146818.h"
#include "devices/serial/serial-16550.h"
#include "vmm/machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OP_SIZE 4
#define MAX_OPS 4096
#define RTC_IRQ_LINE 8

static const uint16_t port_bases[8] = {0x3f8, 0x2f8, 0x70, 0x402, 0x501, 0x3f8, 0x70, 0x2f8};

static void quiet_log(const char *domain, GLogLevelFlags level, const char *msg, void *opaque)
{
    /* Guest errors are expected here; criticals and errors still abort as usual. */
}

static VmmDevice *create(VmmMachine *m, const VmmDeviceType *type, const char *id, VmmCfgNode *cfg)
{
    g_autoptr(GError) err = NULL;
    VmmDevice *dev = vmm_device_create(m, type, id, cfg, &err);

    if (dev == NULL) {
        g_printerr("fuzz-isa-ports: cannot create %s: %s\n", id, err->message);
        abort();
    }
    return dev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialized;
    VmmMachine *m;
    VmmCfgNode *cfg_com2;
    VmmDevice *com1;
    RtcState *rtc;
    int64_t elapsed = 0;
    unsigned n_ops = 0;
    unsigned irq_base;

    if (!initialized) {
        g_log_set_default_handler(quiet_log, NULL);
        initialized = true;
    }

    m = vmm_machine_new_fake();
    vmm_clock_set_manual(m);
    cfg_com2 = vmm_cfg_new();
    vmm_cfg_set_int(cfg_com2, "iobase", 0x2f8);
    vmm_cfg_set_int(cfg_com2, "irq", 3);
    com1 = create(m, &serial16550_type, "com1", NULL);
    create(m, &serial16550_type, "com2", cfg_com2);
    rtc = rtc_from_device(create(m, &rtc_type, "rtc", NULL));
    create(m, &debugcon_type, "debugcon", NULL);
    create(m, &testexit_type, "testexit", NULL);
    irq_base = m->irq_raise_count[RTC_IRQ_LINE];

    for (size_t off = 0; off + OP_SIZE <= size && n_ops < MAX_OPS; off += OP_SIZE, n_ops++) {
        const uint8_t *op = data + off;
        unsigned kind = op[0] & 3;
        unsigned size_sel = (op[0] >> 2) & 3;
        unsigned access = size_sel == 3 ? 1 : 1u << size_sel;
        uint16_t port = port_bases[(op[1] >> 3) & 7] + (op[1] & 7);
        uint32_t value = op[2] | (uint32_t)op[3] << 8;

        value |= value << 16;
        switch (kind) {
        case 0:
            vmm_bus_write_val(m->pio, port, value, access);
            break;
        case 1:
            (void)vmm_bus_read_val(m->pio, port, access);
            break;
        case 2: {
            /* Microseconds, or milliseconds with the scale bit: up to about 65 s per step. */
            int64_t ns = (int64_t)(value & 0xffff) * ((op[0] & 4) ? 1000000 : 1000);

            vmm_clock_advance(m, ns);
            elapsed += ns;
            break;
        }
        case 3: {
            uint8_t bytes[32];
            unsigned len = op[2] & 31;

            for (unsigned i = 0; i < len; i++) {
                bytes[i] = op[3] + i;
            }
            vmm_char_inject(serial16550_get_backend(com1), bytes, len);
            break;
        }
        }
    }

    if (rtc_min_timer_delay_ns(rtc) < RTC_MIN_TIMER_DELAY_NS) {
        g_printerr("fuzz-isa-ports: RTC timer armed %" G_GINT64_FORMAT " ns ahead\n",
                   rtc_min_timer_delay_ns(rtc));
        abort();
    }
    /* Each operation can raise IRQ 8 at most once, timers at most once per 100 us. */
    if (m->irq_raise_count[RTC_IRQ_LINE] - irq_base >
        2 * n_ops + elapsed / RTC_MIN_TIMER_DELAY_NS + 2) {
        g_printerr("fuzz-isa-ports: %u RTC interrupts in %" G_GINT64_FORMAT " ns\n",
                   m->irq_raise_count[RTC_IRQ_LINE] - irq_base, elapsed);
        abort();
    }

    vmm_machine_free(m);
    vmm_cfg_free(cfg_com2);
    return 0;
}
