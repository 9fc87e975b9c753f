/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PIIX3 IDE function (00:01.1, 8086:7010): two legacy channels (0x1F0/0x3F6 on
 * IRQ 14, 0x170/0x376 on IRQ 15) decoded while IDETIM enables them, and the
 * SFF-8038i bus master in BAR 4. Units: 0 primary master, 1 primary slave,
 * 2 secondary master, 3 secondary slave.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "vmm/device.h"

extern const VmmDeviceType piix3_ide_type;

#define IDE_PRIMARY_GSI 14
#define IDE_SECONDARY_GSI 15

/*
 * Inserts (@path) or ejects (@path NULL) the medium of CD-ROM @unit (0..3); the
 * guest then sees UNIT ATTENTION. @format: "auto", "raw", "vdi" or NULL. Call
 * from the main thread without the device lock.
 */
bool ide_change_media(VmmDevice *dev, unsigned unit, const char *path, const char *format,
                      GError **error);
