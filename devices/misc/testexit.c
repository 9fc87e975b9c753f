/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Test-exit port: a 1, 2 or 4 byte write of v to the port asks the runner to stop with exit
 * code v & 0xff. Only for test payloads; the board adds it when the configuration asks.
 */
#define G_LOG_DOMAIN "testexit"
#include <gio/gio.h>

#include "devices/misc/testexit.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/machine.h"

#define TESTEXIT_LEN 4

typedef struct {
    VmmDevice parent;

    /* Properties. */
    uint16_t iobase;
} TestExit;

static void testexit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    TestExit *t = opaque;

    /* The region spans 4 ports so a 4-byte write arrives whole; the code is the value
     * written to the first port. */
    if (offset != 0) {
        vmm_guest_error("test-exit: write to port 0x%x ignored (use 0x%x)",
                        (unsigned)(t->iobase + offset), t->iobase);
        return;
    }
    vmm_machine_request_exit(t->parent.machine, (int)(value & 0xff), "test-exit port");
}

static const VmmIoOps testexit_ops = {
    .write = testexit_write,
    .min_access = 1,
    .max_access = 4,
};

static bool testexit_realize(VmmDevice *dev, GError **error)
{
    TestExit *t = (TestExit *)dev;

    if (vmm_bus_register(dev->machine->pio, dev->id, t->iobase, TESTEXIT_LEN, &testexit_ops, t,
                         &dev->lock) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "%s: I/O ports 0x%x-0x%x are already taken", dev->id, t->iobase,
                    t->iobase + TESTEXIT_LEN - 1);
        return false;
    }
    return true;
}

static const VmmPropDesc testexit_props[] = {
    VMM_PROP_INT(VMM_PROP_U16, "iobase", TestExit, iobase, TESTEXIT_IOBASE, 0,
                 0x10000 - TESTEXIT_LEN, "first I/O port"),
    VMM_PROP_END,
};

const VmmDeviceType testexit_type = {
    .name = "testexit",
    .description = "Test-exit port (payload sets the runner's exit code)",
    .instance_size = sizeof(TestExit),
    .props = testexit_props,
    .realize = testexit_realize,
};
