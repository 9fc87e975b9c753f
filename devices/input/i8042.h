/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The i8042 keyboard controller with its PS/2 keyboard and mouse: ports 0x60/0x64,
 * IRQ 1 and 12, the 0xFE reset pulse. The host side (display window, SPICE, tests)
 * feeds input through the functions below; they take the device lock.
 */
#pragma once

#include <stdbool.h>

#include "vmm/device.h"

typedef struct I8042State I8042State;

extern const VmmDeviceType i8042_type;

/* Mouse buttons for i8042_mouse_event(). */
#define I8042_BTN_LEFT 0x01u
#define I8042_BTN_RIGHT 0x02u
#define I8042_BTN_MIDDLE 0x04u
#define I8042_BTN_SIDE 0x08u
#define I8042_BTN_EXTRA 0x10u

/* The controller behind a device created from i8042_type, or NULL for another type. */
I8042State *i8042_from_device(VmmDevice *dev);

/* Press or release a key, @linux_keycode from linux/input-event-codes.h (KEY_*). */
void i8042_key_event(I8042State *s, unsigned linux_keycode, bool down);
/*
 * Relative pointer motion and the current button state: @dx right, @dy down,
 * @dz wheel away from the user (Linux REL_X/REL_Y/REL_WHEEL senses).
 */
void i8042_mouse_event(I8042State *s, int dx, int dy, int dz, unsigned buttons);

/* Output port bit 1 as last written by the guest (KVM guests always see A20 on). */
bool i8042_a20_enabled(I8042State *s);
