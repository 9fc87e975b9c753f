/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pieces shared by the storage controller fuzz targets (AHCI, IDE/ATAPI). */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/machine.h"

/* The fuzz input consumed byte by byte; reads past the end give zeros. */
typedef struct {
    const uint8_t *p;
    size_t left;
} FuzzInput;

uint8_t fuzz_in_u8(FuzzInput *in);
uint32_t fuzz_in_u32(FuzzInput *in);

/*
 * Silences guest-error logging (expected here) for the default domain and @domains
 * (NULL-terminated), and creates a disk image and a CD image with patterned data in
 * temporary files removed at exit. Runs once per process.
 */
void fuzz_storage_setup(const char *const *domains, const char *name, const char **disk_path,
                        const char **iso_path);

/* PCI configuration write through mechanism #1. */
void fuzz_pci_cfg_write(VmmMachine *m, unsigned devfn, unsigned offset, unsigned size,
                        uint32_t v);
