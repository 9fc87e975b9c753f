/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * QEMU-compatible firmware configuration device (fw_cfg), the channel through which
 * SeaBIOS and OVMF learn about the machine: CPU count, memory map, boot order, ACPI
 * tables, option ROMs.
 *
 * Guest view (x86 I/O ports):
 *   0x510  16-bit  write  selector (bit 14, the historical write flag, is ignored)
 *   0x511   8-bit  read   data: next byte of the selected item, 0 past its end
 *   0x514  32-bit  write  DMA address, high half, big-endian
 *   0x518  32-bit  write  DMA address, low half, big-endian; writing it runs the transfer
 * Reading 0x514..0x51b returns the bytes "QEMU CFG" (DMA present).
 *
 * Items: numeric keys (FW_CFG_*) and named files listed in FILE_DIR (key 0x19),
 * sorted by name with keys 0x20 + index. The board fills them before the machine
 * starts; the add functions copy their data.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/device.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514
#define FW_CFG_PORT_LEN 12

/* Numeric keys (QEMU's numbering, which both firmwares hard-code). */
enum {
    FW_CFG_SIGNATURE = 0x00,
    FW_CFG_ID = 0x01,
    FW_CFG_UUID = 0x02,
    FW_CFG_RAM_SIZE = 0x03,
    FW_CFG_NOGRAPHIC = 0x04,
    FW_CFG_NB_CPUS = 0x05,
    FW_CFG_KERNEL_ADDR = 0x07,
    FW_CFG_KERNEL_SIZE = 0x08,
    FW_CFG_INITRD_ADDR = 0x0a,
    FW_CFG_INITRD_SIZE = 0x0b,
    FW_CFG_BOOT_DEVICE = 0x0c,
    FW_CFG_NUMA = 0x0d,
    FW_CFG_BOOT_MENU = 0x0e,
    FW_CFG_MAX_CPUS = 0x0f,
    FW_CFG_KERNEL_ENTRY = 0x10,
    FW_CFG_KERNEL_DATA = 0x11,
    FW_CFG_INITRD_DATA = 0x12,
    FW_CFG_CMDLINE_ADDR = 0x13,
    FW_CFG_CMDLINE_SIZE = 0x14,
    FW_CFG_CMDLINE_DATA = 0x15,
    FW_CFG_SETUP_ADDR = 0x16,
    FW_CFG_SETUP_SIZE = 0x17,
    FW_CFG_SETUP_DATA = 0x18,
    FW_CFG_FILE_DIR = 0x19,
    FW_CFG_FILE_FIRST = 0x20,
    /* x86-specific keys (bit 15 set). */
    FW_CFG_ACPI_TABLES = 0x8000,
    FW_CFG_SMBIOS_ENTRIES = 0x8001,
    FW_CFG_IRQ0_OVERRIDE = 0x8002,
    FW_CFG_E820_TABLE = 0x8003,
    FW_CFG_HPET = 0x8004,
};

/* DMA control bits (FWCfgDmaAccess.control). */
enum {
    FW_CFG_DMA_ERROR = 1u << 0,
    FW_CFG_DMA_READ = 1u << 1,
    FW_CFG_DMA_SKIP = 1u << 2,
    FW_CFG_DMA_SELECT = 1u << 3,
    FW_CFG_DMA_WRITE = 1u << 4,
};

/* FW_CFG_ID: bit 0 traditional interface, bit 1 DMA. */
#define FW_CFG_VERSION 3u
/* Longest file name including its NUL. */
#define FW_CFG_MAX_NAME 56
/* Most files the directory holds. */
#define FW_CFG_MAX_FILES 1024

typedef struct FwCfgState FwCfgState;

/*
 * Called after a guest DMA write stored @len bytes at @offset of a writable file
 * (whose current contents are @data, @size bytes). Runs with the fw_cfg lock held
 * on the vCPU thread: do not call back into fw_cfg.
 */
typedef void (*FwCfgWriteCb)(void *opaque, const uint8_t *data, size_t size, uint64_t offset,
                             size_t len);

/* Registry key "fwcfg". No properties. */
extern const VmmDeviceType fwcfg_type;

/* The fw_cfg state of a device created from fwcfg_type, or NULL for another type. */
FwCfgState *fw_cfg_from_device(VmmDevice *dev);

/*
 * Adds or replaces a numeric item (copied). Keys 0x00, 0x01 and 0x19 are built in and
 * file keys (0x20..0x7fff) belong to the directory: those fail with -EINVAL.
 * Returns 0 or -errno (-E2BIG over 4 GiB).
 */
int fw_cfg_add_bytes(FwCfgState *s, uint16_t key, const void *data, size_t len);
/* Little-endian integer items. */
int fw_cfg_add_i16(FwCfgState *s, uint16_t key, uint16_t v);
int fw_cfg_add_i32(FwCfgState *s, uint16_t key, uint32_t v);
int fw_cfg_add_i64(FwCfgState *s, uint16_t key, uint64_t v);

/*
 * Adds a read-only file (copied), replacing an existing file of that name. The
 * directory is rebuilt, so file keys shift when a name sorts before existing ones:
 * add every file before the guest starts. Returns 0 or -errno (-EINVAL for an empty
 * or too long name, -ENOSPC when the directory is full, -E2BIG over 4 GiB).
 */
int fw_cfg_add_file(FwCfgState *s, const char *name, const void *data, size_t len);
/* Same, but the guest may overwrite the contents through DMA WRITE; @cb is optional. */
int fw_cfg_add_file_writable(FwCfgState *s, const char *name, const void *data, size_t len,
                             FwCfgWriteCb cb, void *opaque);

/*
 * Looks up a file: returns true and its key, and (optionally) a borrowed pointer to
 * its contents and its size. For tests and the board.
 */
bool fw_cfg_find_file(FwCfgState *s, const char *name, uint16_t *key, const uint8_t **data,
                      size_t *len);
