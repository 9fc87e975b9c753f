/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared set-up for the chipset tests: a fake machine with the i440FX/PIIX platform. */
#pragma once

#include <stdint.h>

#include "vmm/machine.h"
#include "vmm/pci.h"

typedef struct {
    VmmMachine *m;
    VmmDevice *i440fx;
    VmmDevice *piix3;
    VmmDevice *piix4_pm;
    VmmCfgNode *cfg; /* Owned: instance config nodes for devices created by the test */
} ChipsetFixture;

/* Fake machine with @ram_size bytes of RAM (0 for none) and the three chipset functions. */
void chipset_setup(ChipsetFixture *f, uint64_t ram_size);
void chipset_teardown(ChipsetFixture *f);
/* Resets every device of the machine, in creation order. */
void chipset_reset_devices(ChipsetFixture *f);
/* Config node with addr = @devfn for creating a PCI device (owned by the fixture). */
VmmCfgNode *chipset_addr_cfg(ChipsetFixture *f, const char *name, uint8_t devfn);

/* Configuration mechanism #1 through the I/O ports. */
uint32_t cfg_read(ChipsetFixture *f, uint8_t devfn, unsigned offset, unsigned size);
void cfg_write(ChipsetFixture *f, uint8_t devfn, unsigned offset, unsigned size, uint32_t v);
/* Forgets a recorded machine request. */
void chipset_clear_request(ChipsetFixture *f);
