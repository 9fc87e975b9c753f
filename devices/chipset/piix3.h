/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Intel PIIX3 PCI-ISA bridge (00:01.0): PIRQ router, reset control 0xCF9, port 0x92. */
#pragma once

#include "vmm/device.h"

typedef struct Piix3State Piix3State;

extern const VmmDeviceType piix3_type;
