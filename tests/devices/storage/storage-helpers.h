/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared set-up for the storage controller tests: fake machine, RAM, chipset, images. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "vmm/machine.h"
#include "vmm/pci.h"

#define ST_RAM_SIZE (16u * 1024u * 1024u)

typedef struct {
    VmmMachine *m;
    uint8_t *ram;
    VmmCfgNode *cfg; /* Owned: device config nodes */
    char *dir;       /* Owned: temporary directory for images */
} StorageFixture;

void storage_setup(StorageFixture *f);
void storage_teardown(StorageFixture *f);

/* Creates an image of @size bytes whose every 32-bit word at byte offset o holds o ^ @seed. */
char *storage_make_image(StorageFixture *f, const char *name, uint64_t size, uint32_t seed);
uint32_t storage_pattern(uint64_t offset, uint32_t seed);
/* Reads @len bytes of an image file at @offset. */
void storage_read_file(const char *path, uint64_t offset, void *buf, size_t len);

uint32_t st_cfg_read(StorageFixture *f, uint8_t devfn, unsigned offset, unsigned size);
void st_cfg_write(StorageFixture *f, uint8_t devfn, unsigned offset, unsigned size, uint32_t v);

/* Polls @cond(@opaque) until true (completions run on block-layer threads); fails after 10 s. */
void storage_wait(bool (*cond)(void *opaque), void *opaque);
