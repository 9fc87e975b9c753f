/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the direct-boot loader's image parsers (bzImage setup header, ELF
 * program headers and notes, multiboot header): kernel files are untrusted input too. The
 * first byte picks a valid skeleton (bzImage, ELF64 with a PVH note, multiboot a.out) that
 * the rest of the input overwrites, so the fuzzer gets past format detection; every
 * accepted image is then loaded into 32 MiB of guest memory.
 */
#define G_LOG_DOMAIN "fuzz-linux-boot"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/board/linux-boot.h"
#include "vmm/guest-mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM (32u << 20)
#define IMG 0x3000

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void skeleton(uint8_t kind, uint8_t *k)
{
    memset(k, 0, IMG);
    switch (kind % 3) {
    case 0: /* bzImage, protocol 2.15, 64-bit entry */
        k[0x1f1] = 1;
        k[0x1fe] = 0x55;
        k[0x1ff] = 0xaa;
        k[0x201] = 0x66;
        memcpy(k + 0x202, "HdrS", 4);
        k[0x206] = 0x0f;
        k[0x207] = 0x02;
        k[0x236] = 1;
        put32(k + 0x238, 255);
        put32(k + 0x22c, 0x7fffffff);
        break;
    case 1: /* ELF64, one PT_NOTE with the Xen entry at 0x100 */
        memcpy(k, "\x7f" "ELF", 4);
        k[4] = 2;
        k[5] = 1;
        k[32] = 64;
        k[54] = 56;
        k[56] = 2;
        put32(k + 64, 1);
        put32(k + 64 + 8, 0x1000);
        put32(k + 64 + 24, 1u << 20);
        put32(k + 64 + 32, 0x1000);
        put32(k + 64 + 40, 0x2000);
        put32(k + 120, 4);
        put32(k + 120 + 8, 0x100);
        put32(k + 120 + 32, 20);
        put32(k + 0x100, 4);
        put32(k + 0x104, 4);
        put32(k + 0x108, 18);
        memcpy(k + 0x10c, "Xen", 4);
        put32(k + 0x110, 0x100000);
        break;
    default: /* multiboot a.out kludge */
        put32(k, 0x1badb002);
        put32(k + 4, 0x10000);
        put32(k + 8, (uint32_t)(0u - 0x1badb002u - 0x10000u));
        put32(k + 12, 1u << 20);
        put32(k + 16, 1u << 20);
        put32(k + 20, (1u << 20) + 0x2000);
        put32(k + 24, (1u << 20) + 0x4000);
        put32(k + 28, 1u << 20);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static VmmGuestMem *mem;
    static uint8_t k[IMG];
    static const uint8_t initrd[64];

    if (mem == NULL) {
        mem = vmm_guest_mem_new();
        if (!vmm_guest_mem_alloc_ram(mem, RAM, NULL) ||
            vmm_guest_mem_add_region(mem, "ram", 0, RAM, vmm_guest_mem_ram_ptr(mem, 0, RAM), 0) <
                0) {
            g_error("cannot set up guest memory");
        }
    }
    if (size < 1) {
        return 0;
    }
    skeleton(data[0], k);
    /* Pairs of (offset, byte) patches keep the skeleton mostly intact. */
    for (size_t i = 1; i + 2 < size; i += 3) {
        size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % IMG;
        k[off] = data[i + 2];
    }
    size_t len = size > 1 ? IMG - (data[size - 1] % 2) * (IMG / 2) : IMG;
    LinuxBoot *lb = linux_boot_new(k, len, initrd, sizeof(initrd), "console=ttyS0", NULL);
    if (lb != NULL) {
        linux_boot_load(lb, mem, RAM, RAM, NULL, NULL);
        linux_boot_free(lb);
    }
    return 0;
}
