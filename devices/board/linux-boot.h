/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Direct kernel boot without firmware (platform-spec.md §5): the VMM puts the kernel,
 * its initrd, command line, memory map and ACPI tables into guest RAM and starts vCPU 0
 * at the kernel's entry point in the mode that entry expects.
 *
 *   bzImage  (setup header "HdrS", protocol >= 2.12 with XLF_KERNEL_64): the protected-mode
 *            part at pref_address (relocatable kernels) or 1 MiB, a boot_params "zero page"
 *            with e820, cmd_line_ptr, ramdisk_*, acpi_rsdp_addr; 64-bit long mode with the
 *            first 4 GiB identity mapped, CS 0x10 / DS 0x18, RSI = boot_params,
 *            RIP = load address + 0x200 (startup_64).
 *   PVH      (ELF64 or ELF32 with a XEN_ELFNOTE_PHYS32_ENTRY note, e.g. an uncompressed
 *            vmlinux): PT_LOAD segments at their physical addresses, hvm_start_info v1
 *            (memory map, command line, initrd as module 0, RSDP), 32-bit protected mode
 *            with paging off, EBX = hvm_start_info.
 *   Multiboot v1 (a 0x1BADB002 header in the first 8 KiB; ELF or the a.out-kludge address
 *            fields): multiboot_info with mem_lower/upper, cmdline, modules (the initrd)
 *            and an mmap; EAX = 0x2BADB002, EBX = info, 32-bit protected mode.
 *
 * Fixed low-memory layout (all below the 640 KiB hole):
 *   0x0500 GDT (null, 0x08 code32, 0x10 code64, 0x18 data, 0x20 TSS)
 *   0x6000 hvm_start_info / multiboot_info, 0x6400 their memory map, 0x6c00 module list
 *   0x7000 boot_params, 0x8ff0 initial stack, 0x9000 PML4, 0xa000 PDPT, 0xb000 4 PDs
 *   0x20000 command line (up to 64 KiB)
 * ACPI tables go at the top of RAM below 4 GiB (e820 type 3), the RSDP at 0xE0000 (the
 * window Linux scans; the board maps it as RAM), the initrd right below the tables.
 */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/acpi/acpi-build.h"
#include "vmm/guest-mem.h"

typedef enum {
    LINUX_BOOT_BZIMAGE,
    LINUX_BOOT_PVH,
    LINUX_BOOT_MULTIBOOT,
} LinuxBootProtocol;

#define LINUX_BOOT_GDT 0x500ull
#define LINUX_BOOT_START_INFO 0x6000ull
#define LINUX_BOOT_MEMMAP 0x6400ull
#define LINUX_BOOT_MODLIST 0x6c00ull
#define LINUX_BOOT_ZERO_PAGE 0x7000ull
#define LINUX_BOOT_STACK 0x8ff0ull
#define LINUX_BOOT_PML4 0x9000ull
#define LINUX_BOOT_CMDLINE 0x20000ull
#define LINUX_BOOT_CMDLINE_MAX 0x10000u
#define LINUX_BOOT_RSDP 0xe0000ull
#define LINUX_BOOT_ACPI_SIZE 0x20000ull /* reserved for the tables at the top of low RAM */

#define LINUX_BOOT_SEL_CODE32 0x08
#define LINUX_BOOT_SEL_CODE64 0x10
#define LINUX_BOOT_SEL_DATA 0x18
#define LINUX_BOOT_SEL_TSS 0x20

#define PVH_START_MAGIC 0x336ec578u
#define MULTIBOOT_HEADER_MAGIC 0x1badb002u
#define MULTIBOOT_BOOT_MAGIC 0x2badb002u

enum {
    LINUX_E820_RAM = 1,
    LINUX_E820_RESERVED = 2,
    LINUX_E820_ACPI = 3,
};

typedef struct {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} LinuxE820Entry;

#define LINUX_BOOT_MAX_E820 16

/* The vCPU state the kernel entry wants. */
typedef struct {
    bool long_mode; /* else 32-bit protected mode with paging off */
    uint64_t rip, rsp, rsi, rbx, rax;
} LinuxBootCpu;

typedef struct {
    LinuxBootProtocol protocol;
    uint8_t *kernel; /* Owned */
    size_t kernel_len;
    uint8_t *initrd; /* Owned; NULL without one */
    size_t initrd_len;
    char *cmdline;   /* Owned, never NULL */

    /* bzImage facts from the setup header. */
    uint16_t version;
    unsigned setup_size; /* bytes of real-mode setup in the file, incl. the boot sector */
    /* PVH/multiboot: the 32-bit entry point. */
    uint32_t entry32;

    /* Filled by linux_boot_load(). */
    LinuxBootCpu cpu;
    uint64_t kernel_addr;
    uint64_t initrd_addr;
    uint64_t acpi_addr;
    uint64_t rsdp_addr; /* 0 without ACPI */
    LinuxE820Entry e820[LINUX_BOOT_MAX_E820];
    unsigned n_e820;
} LinuxBoot;

/* Recognizes the image format and keeps copies. @cmdline may be NULL (empty). */
LinuxBoot *linux_boot_new(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
                          size_t initrd_len, const char *cmdline, GError **error);
LinuxBoot *linux_boot_new_from_files(const char *kernel_path, const char *initrd_path,
                                     const char *cmdline, GError **error);
void linux_boot_free(LinuxBoot *lb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LinuxBoot, linux_boot_free)

const char *linux_boot_protocol_name(LinuxBootProtocol p);

/*
 * The memory map for @ram_size bytes with @below_4g of them below 4 GiB: RAM up to the
 * EBDA (0x9fc00), the ROM area reserved, RAM from 1 MiB to the ACPI tables (type 3 at
 * [below_4g - LINUX_BOOT_ACPI_SIZE, below_4g)), KVM's TSS/identity pages reserved, RAM
 * above 4 GiB. Returns the entry count.
 */
unsigned linux_boot_build_e820(uint64_t ram_size, uint64_t below_4g, LinuxE820Entry *out,
                               unsigned max);

/*
 * Runs the ACPI linker/loader script of @acpi against guest memory: the "high" zone file
 * at @high_addr (at most @high_size bytes), the F-segment file at LINUX_BOOT_RSDP; patches
 * pointers and checksums. Returns the RSDP's address in *rsdp.
 */
bool linux_boot_place_acpi(const AcpiBlobs *acpi, VmmGuestMem *mem, uint64_t high_addr,
                           uint64_t high_size, uint64_t *rsdp, GError **error);

/*
 * Writes kernel, initrd, command line, boot structures, GDT, page tables and (when @acpi is
 * not NULL) the ACPI tables into guest memory, and fills lb->cpu and the addresses.
 * Called again on every reset: the guest may have overwritten all of it.
 */
bool linux_boot_load(LinuxBoot *lb, VmmGuestMem *mem, uint64_t ram_size, uint64_t below_4g,
                     const AcpiBlobs *acpi, GError **error);

/*
 * Boot through firmware instead (the QEMU-compatible fw_cfg kernel keys; SeaBIOS needs an
 * option ROM that copies the blobs and enters the real-mode setup code, see
 * tests/guests/payloads/fwcfg-linuxboot.asm). For bzImages without the 64-bit entry, such
 * as iPXE's ipxe.lkrn, which rely on BIOS services.
 */
typedef struct {
    uint8_t *setup;       /* Owned: real-mode setup sectors with the header filled in */
    size_t setup_len;
    const uint8_t *kernel; /* Borrowed from the image: the protected-mode part */
    size_t kernel_len;
    uint32_t setup_addr;  /* 0x10000 */
    uint32_t kernel_addr; /* 0x100000 */
    uint32_t cmdline_addr;
    uint32_t initrd_addr; /* 0 without an initrd */
} LinuxRealModeBoot;

#define LINUX_REALMODE_SETUP 0x10000u
#define LINUX_REALMODE_CMDLINE 0x20000u

/* True for a bzImage that only has the real-mode (BIOS) entry. */
bool linux_boot_is_realmode_only(const uint8_t *kernel, size_t len);
/*
 * Prepares the blobs for @kernel (borrowed; must outlive @out) with an initrd of
 * @initrd_len bytes (0: none) placed below min(initrd_addr_max, @below_4g - 16 MiB).
 */
bool linux_boot_realmode_prepare(const uint8_t *kernel, size_t len, size_t initrd_len,
                                 const char *cmdline, uint64_t below_4g, LinuxRealModeBoot *out,
                                 GError **error);
void linux_realmode_boot_clear(LinuxRealModeBoot *b);

/* The KVM register state for @cpu on top of a vCPU's power-on state in @regs/@sregs. */
void linux_boot_cpu_to_kvm(const LinuxBootCpu *cpu, struct kvm_regs *regs,
                           struct kvm_sregs *sregs);
