/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one registry of device models: the board creates devices by name from here. */
#pragma once

#include "vmm/device.h"

/* NULL when no type has that name. */
const VmmDeviceType *devices_find_type(const char *name);
/* NULL-terminated list of every type. */
const VmmDeviceType *const *devices_all_types(void);
