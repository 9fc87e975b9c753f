/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bochs/QEMU-style debug console port (0x402): firmware log output to a character back end. */
#pragma once

#include "vmm/device.h"

#define DEBUGCON_IOBASE 0x402
#define DEBUGCON_READBACK 0xe9

extern const VmmDeviceType debugcon_type;
