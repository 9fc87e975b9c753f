/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the i8042 controller with its PS/2 keyboard and mouse: the
 * input is a program of port accesses and host input events.
 */
#define G_LOG_DOMAIN "fuzz-i8042"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/input/i8042.h"
#include "vmm/machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer u)
{
    /* Guest errors are expected here; criticals still abort (always-fatal). */
}

static uint8_t next(const uint8_t *data, size_t size, size_t *pos)
{
    return *pos < size ? data[(*pos)++] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        once = true;
        g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        g_log_set_handler("i8042", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, quiet_log, NULL);
        g_log_set_handler("vmm", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, quiet_log, NULL);
    }

    VmmMachine *m = vmm_machine_new_fake();
    VmmDevice *dev = vmm_device_create(m, &i8042_type, "i8042", NULL, NULL);
    if (dev == NULL) {
        g_error("cannot create i8042");
    }
    I8042State *s = i8042_from_device(dev);

    size_t pos = 0;
    while (pos < size) {
        uint8_t op = next(data, size, &pos);
        uint8_t a = next(data, size, &pos);
        switch (op % 8) {
        case 0:
            vmm_bus_write_val(m->pio, 0x60, a, 1);
            break;
        case 1:
            vmm_bus_write_val(m->pio, 0x64, a, 1);
            break;
        case 2:
            vmm_bus_read_val(m->pio, 0x60, 1);
            break;
        case 3: {
            uint8_t st = (uint8_t)vmm_bus_read_val(m->pio, 0x64, 1);
            /* The input buffer is never seen full; timeout/parity never set. */
            if (st & 0xc2) {
                g_error("impossible status 0x%02x", st);
            }
            break;
        }
        case 4:
            i8042_key_event(s, a | ((op & 0x10) ? 0x100 : 0), (op & 0x20) != 0);
            break;
        case 5: {
            int dx = (int8_t)next(data, size, &pos) * ((op & 0x10) ? 1000 : 1);
            int dy = (int8_t)next(data, size, &pos);
            int dz = (int8_t)next(data, size, &pos);
            i8042_mouse_event(s, dx, dy, dz, a);
            break;
        }
        case 6:
            /* Mouse command via 0xD4 (the common guest path). */
            vmm_bus_write_val(m->pio, 0x64, 0xd4, 1);
            vmm_bus_write_val(m->pio, 0x60, a, 1);
            break;
        case 7:
            if (a == 0) {
                vmm_device_reset(dev);
            } else {
                /* Wide access: the bus splits it into single bytes. */
                vmm_bus_write_val(m->pio, 0x60, (uint32_t)a * 0x01010101u, 4);
            }
            break;
        }
    }

    vmm_machine_free(m);
    return 0;
}
