/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ACPI tables for the i440FX PC, handed to firmware through fw_cfg the way QEMU does
 * it, so SeaBIOS and OVMF install them unchanged:
 *
 *   "etc/acpi/tables"  (ACPI_FW_CFG_TABLES)  FACS, DSDT, SSDT, FACP, APIC, RSDT, XSDT
 *   "etc/acpi/rsdp"    (ACPI_FW_CFG_RSDP)    RSDP, revision 2 (RSDT and XSDT)
 *   "etc/table-loader" (ACPI_FW_CFG_LOADER)  linker/loader script: allocate both blobs
 *                                            (tables in high memory, RSDP in the F-segment),
 *                                            patch pointers, fix checksums
 *
 * Pointers inside the blobs hold offsets into the target blob; the loader adds the
 * target's load address. The DSDT is compiled from dsdt.asl by iasl at build time;
 * the SSDT (CPU objects, PCI windows) is generated here.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_FW_CFG_TABLES "etc/acpi/tables"
#define ACPI_FW_CFG_RSDP "etc/acpi/rsdp"
#define ACPI_FW_CFG_LOADER "etc/table-loader"

/* APIC ids 0..n_cpus-1 plus the IOAPIC must fit in 8 bits below the broadcast id. */
#define ACPI_PC_MAX_CPUS 254

typedef struct {
    unsigned n_cpus;          /* 1..ACPI_PC_MAX_CPUS; vCPU i has APIC id and ACPI UID i */
    uint16_t pm_base;         /* PM1a_EVT at +0 (4), PM1a_CNT at +4 (2), PM_TMR at +8 (4) */
    uint16_t gpe0_base;       /* GPE0 block, 4 bytes (PIIX4: 0xafe0) */
    uint8_t sci_irq;          /* ISA IRQ of the SCI: must be 9, LNKS in the DSDT says so */
    bool irq0_override;       /* PIT on IOAPIC pin 2: MADT ISO IRQ0 -> GSI 2 */
    uint8_t ioapic_id;        /* must differ from every APIC id (default n_cpus) */
    uint32_t pci_mmio32_base; /* 32-bit PCI MMIO window, inclusive end */
    uint32_t pci_mmio32_end;
    uint64_t pci_mmio64_base; /* 64-bit window; none when end <= base */
    uint64_t pci_mmio64_end;
} AcpiPcConfig;

/*
 * Defaults for an i440FX PC with @n_cpus vCPUs: PM at 0x600, GPE0 at 0xafe0, SCI 9,
 * IRQ0 override, IOAPIC id n_cpus, 32-bit window 0xe0000000-0xfebfffff, no 64-bit window.
 * The board then sets the window from its memory map.
 */
void acpi_pc_config_init(AcpiPcConfig *cfg, unsigned n_cpus);

typedef struct {
    uint8_t *tables; /* Owned: contents of ACPI_FW_CFG_TABLES */
    size_t tables_len;
    uint8_t *rsdp; /* Owned: contents of ACPI_FW_CFG_RSDP */
    size_t rsdp_len;
    uint8_t *loader; /* Owned: contents of ACPI_FW_CFG_LOADER */
    size_t loader_len;
} AcpiBlobs;

/* Builds the three blobs. Fails (G_IO_ERROR_INVALID_ARGUMENT) on an invalid config. */
bool acpi_build_pc(const AcpiPcConfig *cfg, AcpiBlobs *out, GError **error);
/* Frees the blobs and zeroes @blobs; safe on a zeroed or already cleared struct. */
void acpi_blobs_clear(AcpiBlobs *blobs);

typedef struct FwCfgState FwCfgState;
/*
 * Convenience for the board: builds the blobs and adds them to fw_cfg under the three
 * names above (replacing earlier versions). Call again after a configuration change.
 */
bool acpi_build_pc_fw_cfg(const AcpiPcConfig *cfg, FwCfgState *fw_cfg, GError **error);

/* Linker/loader script format (SeaBIOS romfile_loader, OVMF QemuLoader): 128-byte entries. */
#define ACPI_LOADER_ENTRY_SIZE 128
#define ACPI_LOADER_FILE_LEN 56
enum {
    ACPI_LOADER_ALLOCATE = 1,     /* @4 file, @60 u32 align, @64 u8 zone */
    ACPI_LOADER_ADD_POINTER = 2,  /* @4 dest file, @60 src file, @116 u32 offset, @120 u8 size */
    ACPI_LOADER_ADD_CHECKSUM = 3, /* @4 file, @60 u32 result offset, @64 u32 start, @68 u32 len */
};
enum {
    ACPI_LOADER_ZONE_HIGH = 1,
    ACPI_LOADER_ZONE_FSEG = 2,
};

/* The compiled DSDT (from dsdt.asl, a complete table with header and checksum). */
const uint8_t *acpi_dsdt_aml(size_t *len);
