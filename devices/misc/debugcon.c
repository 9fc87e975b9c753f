/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Debug console: every byte written to the port goes to the back end. Reads return 0xE9,
 * the value SeaBIOS checks for before it starts logging here.
 */
#define G_LOG_DOMAIN "debugcon"
#include <gio/gio.h>

#include "devices/backend/char.h"
#include "devices/misc/debugcon.h"
#include "vmm/bus.h"
#include "vmm/machine.h"

typedef struct {
    VmmDevice parent;

    /* Properties. */
    uint16_t iobase;
    char *backend_spec; /* Owned */

    VmmCharBackend *backend; /* Owned */
} DebugCon;

static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
    return DEBUGCON_READBACK;
}

static void debugcon_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    DebugCon *d = opaque;
    uint8_t byte = value & 0xff;

    vmm_char_write(d->backend, &byte, 1);
}

static const VmmIoOps debugcon_ops = {
    .read = debugcon_read,
    .write = debugcon_write,
    .min_access = 1,
    .max_access = 1,
};

static void debugcon_unrealize(VmmDevice *dev)
{
    DebugCon *d = (DebugCon *)dev;

    vmm_char_close(d->backend);
    d->backend = NULL;
}

static bool debugcon_realize(VmmDevice *dev, GError **error)
{
    DebugCon *d = (DebugCon *)dev;
    VmmMachine *m = dev->machine;

    d->backend = vmm_char_open(m, d->backend_spec, error);
    if (d->backend == NULL) {
        g_prefix_error(error, "%s: ", dev->id);
        return false;
    }
    if (vmm_bus_register(m->pio, dev->id, d->iobase, 1, &debugcon_ops, d, &dev->lock) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s: I/O port 0x%x is already taken",
                    dev->id, d->iobase);
        debugcon_unrealize(dev);
        return false;
    }
    return true;
}

static const VmmPropDesc debugcon_props[] = {
    VMM_PROP_INT(VMM_PROP_U16, "iobase", DebugCon, iobase, DEBUGCON_IOBASE, 0, 0xffff, "I/O port"),
    VMM_PROP_STR("backend", DebugCon, backend_spec, "null", "null, stdio, file:PATH or unix:PATH"),
    VMM_PROP_END,
};

const VmmDeviceType debugcon_type = {
    .name = "debugcon",
    .description = "Debug console port (firmware log, reads back 0xE9)",
    .instance_size = sizeof(DebugCon),
    .props = debugcon_props,
    .realize = debugcon_realize,
    .unrealize = debugcon_unrealize,
};
