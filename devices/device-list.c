/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "devices"
#include <string.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "devices/chipset/piix4-pm.h"
#include "devices/device-list.h"
#include "devices/firmware/fw-cfg.h"
#include "devices/input/i8042.h"
#include "devices/misc/debugcon.h"
#include "devices/misc/testexit.h"
#include "devices/rtc/mc146818.h"
#include "devices/serial/serial-16550.h"
#include "devices/storage/ahci.h"
#include "devices/storage/ide-piix.h"
#include "devices/virtio/virtio-blk.h"

/* One line per device model, alphabetical. */
static const VmmDeviceType *const all_types[] = {
    &ahci_type,
    &debugcon_type,
    &fwcfg_type,
    &i440fx_type,
    &i8042_type,
    &piix3_type,
    &piix3_ide_type,
    &piix4_pm_type,
    &rtc_type,
    &serial16550_type,
    &testexit_type,
    &virtio_blk_type,
    NULL,
};

const VmmDeviceType *const *devices_all_types(void)
{
    return all_types;
}

const VmmDeviceType *devices_find_type(const char *name)
{
    for (size_t i = 0; all_types[i] != NULL; i++) {
        if (strcmp(all_types[i]->name, name) == 0) {
            return all_types[i];
        }
    }
    return NULL;
}
