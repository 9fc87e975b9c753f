/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "devices"
#include <string.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "devices/chipset/piix4-pm.h"
#include "devices/device-list.h"

/* One line per device model, alphabetical. */
static const VmmDeviceType *const all_types[] = {
    &i440fx_type,
    &piix3_type,
    &piix4_pm_type,
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
