/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A memory-backed stand-in for devices/block/block.h, linked into test executables
 * only. Asynchronous requests are queued and complete when the test calls
 * fake_block_run(), so tests decide exactly when completions happen.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/block/block.h"

typedef struct {
    uint8_t *data; /* Owned: the disk contents */
    uint64_t size;
    bool read_only; /* image opened read-only */
    unsigned opens;
    unsigned reads, writes, flushes, discards;
    uint64_t last_discard_offset, last_discard_len;
    int fail_next; /* when != 0, the next request completes with this error */
} FakeBlock;

extern FakeBlock fake_block;

/* Fresh disk of @size bytes filled with a known pattern (byte i = i * 7 + 3). */
void fake_block_init(uint64_t size);
void fake_block_cleanup(void);
/* Completes every queued request (callbacks run on the caller's thread). Returns how many. */
unsigned fake_block_run(void);
unsigned fake_block_pending(void);
