/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "devices"
#include <string.h>

#include "devices/device-list.h"
#include "devices/input/i8042.h"

/* One line per device model, alphabetical. */
static const VmmDeviceType *const all_types[] = {
    &i8042_type,
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
