/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Intel 440FX host bridge (PCI 00:00.0): owns the root PCI bus and the
 * configuration ports 0xCF8/0xCFC, and maps the 0xC0000-0xFFFFF shadow area as the
 * PAM registers say.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vmm/device.h"

typedef struct I440fxState I440fxState;

extern const VmmDeviceType i440fx_type;

/*
 * The board hands over the last 128 KiB of the BIOS image (Borrowed, page aligned; must
 * outlive the machine) before reset: it appears read-only at 0xE0000-0xFFFFF while PAM says "PCI".
 */
void i440fx_set_isa_bios(I440fxState *s, uint8_t *host, size_t size);

/*
 * Port 0xCF9 shares the dword at 0xCF8 with the config address register, so the host
 * bridge decodes it and forwards byte accesses to the ISA bridge's reset control
 * register. Called by the ISA bridge at realize; @lock (optional) is taken around the
 * callbacks and must rank below the host bridge's port lock.
 */
typedef struct {
    uint8_t (*read)(void *opaque);            /* Required */
    void (*write)(void *opaque, uint8_t val); /* Required */
} I440fxRcrOps;

void i440fx_set_rcr_handler(I440fxState *s, const I440fxRcrOps *ops, void *opaque, GMutex *lock);
