/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Intel PIIX4 power management function (00:01.3): ACPI PM1 event/control
 * registers, the PM timer, GPE0 and the SCI on GSI 9.
 */
#pragma once

#include "vmm/device.h"

typedef struct Piix4PmState Piix4PmState;

extern const VmmDeviceType piix4_pm_type;

/* The SCI is wired to this GSI, like QEMU's "pc" machine (MADT: level, active high). */
#define PIIX4_PM_SCI_GSI 9
/* Fixed GPE0 block (STS then EN, 2 bytes each), as in QEMU's PIIX4 FADT. */
#define PIIX4_PM_GPE0_BASE 0xafe0
#define PIIX4_PM_GPE0_LEN 4

/* Power button pressed: sets PWRBTN_STS and raises the SCI when enabled. Any thread. */
void piix4_pm_power_button(Piix4PmState *s);
/* Sets GPE0 status bit @bit (< 16), e.g. for hotplug. Any thread. */
void piix4_pm_set_gpe(Piix4PmState *s, unsigned bit);
