/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The i440FX PC board: lays out guest RAM, maps the firmware, creates the chipset
 * and ISA devices from the registry and fills what SeaBIOS reads (CMOS, fw_cfg,
 * ACPI). Everything comes from the machine's config tree:
 *
 *   RamSize (bytes), NumCPUs, Firmware (path), NoGraphic (0/1), BootMenu (0/1)
 *   OptionRoms/<n>/Path        each one becomes fw_cfg "genroms/<basename>"
 *   Devices/<id>/...           properties of device <id> (serial0, serial1, debugcon, ...)
 *   Attach/<id>/Type           extra devices (storage, network ...) created after the
 *   Attach/<id>/Config/...     platform, in order, with these properties
 *   BootOrder                  fw_cfg "bootorder": OpenFirmware device paths separated by
 *                              newlines, first to boot first (unset: the firmware's order).
 *                              The paths QEMU gives the same devices, which SeaBIOS matches:
 *                                /pci@i0cf8/ide@1,1/drive@C/disk@U   PIIX3 IDE channel C unit U
 *                                /pci@i0cf8/pci8086,2922@S/drive@P/disk@0   AHCI in slot S, port P
 *                                /pci@i0cf8/scsi@S/disk@0,0          virtio-blk in slot S
 *                              (a function other than 0 is written "@S,F"); the runner's --boot
 *                              builds them.
 *   Kernel, Initrd, Append     direct kernel boot (devices/board/linux-boot.h): no firmware
 *                              runs; the board places kernel, ACPI tables and boot data.
 *                              Real-mode-only bzImages (iPXE's ipxe.lkrn) go to the firmware
 *                              through the fw_cfg kernel keys instead (needs an option ROM
 *                              that loads them, tests/guests/payloads/fwcfg-linuxboot.asm)
 *   PvmQuirks (0/1, default 1) on kvm_pvm, add the kernel arguments that hide what the
 *                              host cannot execute (docs/kvm-pvm.md)
 */
#pragma once

#include <glib.h>

#include "vmm/machine.h"

#define PC_DEFAULT_FIRMWARE "/usr/share/seabios/bios.bin"
#define PC_MAX_RAM (64ull << 30)
#define PC_MIN_RAM (16ull << 20)
#define PC_MAX_FIRMWARE (16u << 20)

/* Builds the board on a machine made with vmm_machine_new() (before vCPUs exist). */
bool pc_board_build(VmmMachine *m, VmmCfgNode *cfg, GError **error);

/*
 * After vmm_machine_create_vcpus(): for direct kernel boot, makes vCPU 0's power-on state
 * the kernel entry state. Does nothing when the firmware boots.
 */
bool pc_board_setup_vcpus(VmmMachine *m, GError **error);

/* Top of RAM below 4 GiB for @ram_size bytes (QEMU's pc split: ≤ 3.5 GiB low). */
uint64_t pc_ram_below_4g(uint64_t ram_size);

/* Fills @out (array of 20-byte entries) with the e820 map for fw_cfg; returns entry count. */
unsigned pc_build_e820(uint64_t ram_size, uint8_t *out, unsigned max_entries);
