/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * AHCI 1.3 SATA controller as the ICH9 presents it (8086:2922, class 01.06.01):
 * ABAR in BAR 5, six ports, one MSI vector or INTA. Each port holds an ATA disk or
 * an ATAPI CD-ROM (ata-core), fed from the guest's command list and command tables.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "vmm/device.h"

extern const VmmDeviceType ahci_type;

#define AHCI_NUM_PORTS 6

/*
 * Inserts (@path) or ejects (@path NULL) the medium of the CD-ROM on @port; the guest
 * then sees UNIT ATTENTION. @format: "auto", "raw", "vdi" or NULL. Main thread,
 * without the device lock.
 */
bool ahci_change_media(VmmDevice *dev, unsigned port, const char *path, const char *format,
                       GError **error);
