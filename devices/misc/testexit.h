/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test-exit port (0x501): a test payload writes a byte to end the run with that exit code. */
#pragma once

#include "vmm/device.h"

#define TESTEXIT_IOBASE 0x501

extern const VmmDeviceType testexit_type;
