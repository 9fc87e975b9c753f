/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * 16550A UART on the ISA bus (PC COM ports). Properties: iobase, irq, backend (a
 * character back-end spec, see devices/backend/char.h). The board creates COM1 at
 * 0x3F8/IRQ 4 and COM2 at 0x2F8/IRQ 3.
 */
#pragma once

#include "devices/backend/char.h"
#include "vmm/device.h"

#define SERIAL16550_COM1_IOBASE 0x3f8
#define SERIAL16550_COM1_IRQ 4
#define SERIAL16550_COM2_IOBASE 0x2f8
#define SERIAL16550_COM2_IRQ 3

extern const VmmDeviceType serial16550_type;

/* Borrowed back end of a serial16550 device (NULL for other devices). */
VmmCharBackend *serial16550_get_backend(VmmDevice *dev);
