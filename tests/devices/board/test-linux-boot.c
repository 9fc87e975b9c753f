/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Direct kernel boot: every guest-visible structure the loader writes (boot_params, e820,
 * hvm_start_info, multiboot_info, GDT, page tables, ACPI placement) checked byte by byte
 * against the protocols, on synthetic kernel images in plain guest memory.
 */
#define G_LOG_DOMAIN "test-linux-boot"
#include <string.h>

#include <glib.h>

#include "devices/acpi/acpi-build.h"
#include "devices/board/linux-boot.h"
#include "vmm/guest-mem.h"

#define MIB (1ull << 20)
#define RAM (64 * MIB)

typedef struct {
    VmmGuestMem *mem;
    uint8_t *ram;
    AcpiBlobs acpi;
} Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    AcpiPcConfig cfg;
    f->mem = vmm_guest_mem_new();
    g_assert_true(vmm_guest_mem_alloc_ram(f->mem, RAM, &err));
    f->ram = vmm_guest_mem_ram_ptr(f->mem, 0, RAM);
    g_assert_nonnull(f->ram);
    g_assert_cmpint(vmm_guest_mem_add_region(f->mem, "ram", 0, RAM, f->ram, 0), >=, 0);
    acpi_pc_config_init(&cfg, 2);
    g_assert_true(acpi_build_pc(&cfg, &f->acpi, &err));
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
    acpi_blobs_clear(&f->acpi);
    vmm_guest_mem_free(f->mem);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++) {
        s = (uint8_t)(s + p[i]);
    }
    return s;
}

/* A bzImage: 4 setup sectors + boot sector, then @pm_len bytes of protected-mode "kernel". */
static uint8_t *make_bzimage(size_t pm_len, uint16_t version, uint16_t xloadflags, size_t *len)
{
    size_t setup = 5 * 512;
    uint8_t *k = g_malloc0(setup + pm_len);
    k[0x1f1] = 4;
    put16(k + 0x1fe, 0xaa55);
    k[0x200] = 0xeb;
    k[0x201] = 0x66; /* header ends at 0x268 */
    memcpy(k + 0x202, "HdrS", 4);
    put16(k + 0x206, version);
    k[0x211] = 0x01;
    put32(k + 0x22c, 0x7fffffff);
    put32(k + 0x230, 2 * MIB);
    k[0x234] = 1;
    put16(k + 0x236, xloadflags);
    put32(k + 0x238, 2047);
    put64(k + 0x258, 16 * MIB);
    put32(k + 0x260, 8 * MIB);
    for (size_t i = 0; i < pm_len; i++) {
        k[setup + i] = (uint8_t)(i * 7 + 3);
    }
    *len = setup + pm_len;
    return k;
}

static void check_rsdp_and_xsdt(Fixture *f, uint64_t rsdp, uint64_t acpi_lo, uint64_t acpi_hi)
{
    const uint8_t *r = f->ram + rsdp;
    g_assert_cmpmem(r, 8, "RSD PTR ", 8);
    g_assert_cmpuint(sum(r, 20), ==, 0);
    g_assert_cmpuint(r[15], ==, 2);
    g_assert_cmpuint(sum(r, get32(r + 20)), ==, 0);
    uint64_t xsdt = get64(r + 24);
    uint32_t rsdt = get32(r + 16);
    g_assert_cmpuint(xsdt, >=, acpi_lo);
    g_assert_cmpuint(xsdt, <, acpi_hi);
    g_assert_cmpuint(rsdt, >=, acpi_lo);
    g_assert_cmpmem(f->ram + xsdt, 4, "XSDT", 4);
    g_assert_cmpuint(sum(f->ram + xsdt, get32(f->ram + xsdt + 4)), ==, 0);
    /* Every XSDT entry is a table inside the ACPI area with a good checksum. */
    uint32_t xlen = get32(f->ram + xsdt + 4);
    g_assert_cmpuint(xlen, >, 36);
    for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
        uint64_t t = get64(f->ram + xsdt + off);
        g_assert_cmpuint(t, >=, acpi_lo);
        g_assert_cmpuint(t, <, acpi_hi);
        g_assert_cmpuint(sum(f->ram + t, get32(f->ram + t + 4)), ==, 0);
    }
}

static void check_e820(const LinuxBoot *lb)
{
    g_assert_cmpuint(lb->n_e820, ==, 5);
    g_assert_cmpuint(lb->e820[0].addr, ==, 0);
    g_assert_cmpuint(lb->e820[0].size, ==, 0x9fc00);
    g_assert_cmpuint(lb->e820[0].type, ==, LINUX_E820_RAM);
    g_assert_cmpuint(lb->e820[2].addr, ==, 0xe0000);
    g_assert_cmpuint(lb->e820[2].type, ==, LINUX_E820_RESERVED);
    g_assert_cmpuint(lb->e820[3].addr, ==, MIB);
    g_assert_cmpuint(lb->e820[3].addr + lb->e820[3].size, ==, RAM - LINUX_BOOT_ACPI_SIZE);
    g_assert_cmpuint(lb->e820[4].addr, ==, RAM - LINUX_BOOT_ACPI_SIZE);
    g_assert_cmpuint(lb->e820[4].type, ==, LINUX_E820_ACPI);
}

static void test_bzimage(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    size_t klen;
    g_autofree uint8_t *k = make_bzimage(8192, 0x20f, 0x1, &klen);
    static const uint8_t initrd[5000] = {[0] = 0x30, [4999] = 0x7a};
    const char *cmdline = "console=ttyS0 root=/dev/ram0";
    g_autoptr(LinuxBoot) lb = linux_boot_new(k, klen, initrd, sizeof(initrd), cmdline, &err);

    g_assert_no_error(err);
    g_assert_cmpint(lb->protocol, ==, LINUX_BOOT_BZIMAGE);
    g_assert_true(linux_boot_load(lb, f->mem, RAM, RAM, &f->acpi, &err));
    g_assert_no_error(err);

    /* Relocatable: loaded at pref_address; entry startup_64 = load + 0x200. */
    g_assert_cmpuint(lb->kernel_addr, ==, 16 * MIB);
    g_assert_cmpmem(f->ram + 16 * MIB, 8192, k + 5 * 512, 8192);
    g_assert_true(lb->cpu.long_mode);
    g_assert_cmpuint(lb->cpu.rip, ==, 16 * MIB + 0x200);
    g_assert_cmpuint(lb->cpu.rsi, ==, LINUX_BOOT_ZERO_PAGE);

    const uint8_t *zp = f->ram + LINUX_BOOT_ZERO_PAGE;
    g_assert_cmpuint(get16(zp + 0x1fe), ==, 0xaa55);
    g_assert_cmpmem(zp + 0x202, 4, "HdrS", 4);
    g_assert_cmpuint(get16(zp + 0x206), ==, 0x20f);
    g_assert_cmpuint(zp[0x1f1], ==, 4);
    g_assert_cmpuint(zp[0x210], ==, 0xff);       /* type_of_loader */
    g_assert_cmpuint(zp[0x211] & 1, ==, 1);      /* LOADED_HIGH */
    g_assert_cmpuint(get32(zp + 0x228), ==, LINUX_BOOT_CMDLINE);
    g_assert_cmpstr((const char *)f->ram + LINUX_BOOT_CMDLINE, ==, cmdline);
    g_assert_cmpuint(get64(zp + 0x250), ==, 0);  /* no setup_data */
    /* Nothing past the setup header was copied: the e820 table area holds our map. */
    g_assert_cmpuint(zp[0x1e8], ==, lb->n_e820);
    check_e820(lb);
    for (unsigned i = 0; i < lb->n_e820; i++) {
        const uint8_t *e = zp + 0x2d0 + 20 * i;
        g_assert_cmpuint(get64(e), ==, lb->e820[i].addr);
        g_assert_cmpuint(get64(e + 8), ==, lb->e820[i].size);
        g_assert_cmpuint(get32(e + 16), ==, lb->e820[i].type);
    }
    /* Initrd: page aligned, above the kernel's init_size, below the ACPI area. */
    uint32_t rd = get32(zp + 0x218);
    g_assert_cmpuint(rd, ==, lb->initrd_addr);
    g_assert_cmpuint(get32(zp + 0x21c), ==, sizeof(initrd));
    g_assert_cmpuint(rd & 0xfff, ==, 0);
    g_assert_cmpuint(rd, >=, 16 * MIB + 8 * MIB);
    g_assert_cmpuint(rd + sizeof(initrd), <=, RAM - LINUX_BOOT_ACPI_SIZE);
    g_assert_cmpmem(f->ram + rd, sizeof(initrd), initrd, sizeof(initrd));
    g_assert_cmpuint(get32(zp + 0xc0), ==, 0);
    /* ACPI: RSDP in the scanned window, also given through acpi_rsdp_addr. */
    g_assert_cmpuint(get64(zp + 0x70), ==, LINUX_BOOT_RSDP);
    check_rsdp_and_xsdt(f, LINUX_BOOT_RSDP, RAM - LINUX_BOOT_ACPI_SIZE, RAM);

    /* GDT: 0x10 64-bit code, 0x18 flat data. */
    g_assert_cmpuint(get64(f->ram + LINUX_BOOT_GDT + 0x10), ==, 0x00af9b000000ffffull);
    g_assert_cmpuint(get64(f->ram + LINUX_BOOT_GDT + 0x18), ==, 0x00cf93000000ffffull);
    /* Page tables: identity map of 0-4 GiB with 2 MiB pages. */
    uint64_t pml4e = get64(f->ram + LINUX_BOOT_PML4);
    g_assert_cmpuint(pml4e & 1, ==, 1);
    uint64_t pdpt = pml4e & ~0xfffull;
    for (unsigned g = 0; g < 4; g++) {
        uint64_t pd = get64(f->ram + pdpt + 8 * g) & ~0xfffull;
        for (unsigned i = 0; i < 512; i += 511) {
            uint64_t pde = get64(f->ram + pd + 8 * i);
            g_assert_cmpuint(pde & 0x81, ==, 0x81);
            g_assert_cmpuint(pde & ~0xfffull, ==, ((uint64_t)g << 30) | ((uint64_t)i << 21));
        }
    }

    struct kvm_regs regs;
    struct kvm_sregs sregs;
    memset(&sregs, 0, sizeof(sregs));
    linux_boot_cpu_to_kvm(&lb->cpu, &regs, &sregs);
    g_assert_cmpuint(regs.rip, ==, 16 * MIB + 0x200);
    g_assert_cmpuint(regs.rsi, ==, LINUX_BOOT_ZERO_PAGE);
    g_assert_cmpuint(regs.rflags, ==, 2); /* interrupts off */
    g_assert_cmpuint(sregs.cs.selector, ==, 0x10);
    g_assert_cmpuint(sregs.cs.l, ==, 1);
    g_assert_cmpuint(sregs.cs.db, ==, 0);
    g_assert_cmpuint(sregs.ds.selector, ==, 0x18);
    g_assert_cmpuint(sregs.ss.selector, ==, 0x18);
    g_assert_cmpuint(sregs.cr0 & 0x80000001u, ==, 0x80000001u);
    g_assert_cmpuint(sregs.cr4 & 0x20, ==, 0x20);
    g_assert_cmpuint(sregs.efer & 0x500, ==, 0x500);
    g_assert_cmpuint(sregs.cr3, ==, LINUX_BOOT_PML4);
    g_assert_cmpuint(sregs.gdt.base, ==, LINUX_BOOT_GDT);
}

static void test_bzimage_not_relocatable(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    size_t klen;
    g_autofree uint8_t *k = make_bzimage(4096, 0x20f, 0x1, &klen);
    k[0x234] = 0;
    g_autoptr(LinuxBoot) lb = linux_boot_new(k, klen, NULL, 0, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(linux_boot_load(lb, f->mem, RAM, RAM, NULL, &err));
    g_assert_cmpuint(lb->kernel_addr, ==, MIB);
    g_assert_cmpuint(lb->cpu.rip, ==, MIB + 0x200);
    g_assert_cmpuint(lb->rsdp_addr, ==, 0);
    g_assert_cmpuint(get64(f->ram + LINUX_BOOT_ZERO_PAGE + 0x70), ==, 0);
    g_assert_cmpuint(get32(f->ram + LINUX_BOOT_ZERO_PAGE + 0x218), ==, 0);
}

static void test_bzimage_rejects(Fixture *f, gconstpointer data)
{
    size_t klen;
    g_autofree uint8_t *old = make_bzimage(4096, 0x20b, 0x1, &klen);
    g_autofree uint8_t *no64 = make_bzimage(4096, 0x20f, 0x0, &klen);
    g_autofree uint8_t *big = make_bzimage(4096, 0x20f, 0x1, &klen);
    GError *err = NULL;

    g_assert_null(linux_boot_new(old, klen, NULL, 0, NULL, &err));
    g_assert_nonnull(strstr(err->message, "2.11"));
    g_clear_error(&err);
    g_assert_null(linux_boot_new(no64, klen, NULL, 0, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    /* Truncated: nothing after the setup sectors. */
    g_assert_null(linux_boot_new(big, 5 * 512, NULL, 0, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_null(linux_boot_new((const uint8_t *)"garbage", 7, NULL, 0, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    /* init_size larger than RAM, and a command line over cmdline_size. */
    put32(big + 0x260, 60 * MIB);
    LinuxBoot *lb = linux_boot_new(big, klen, NULL, 0, NULL, &err);
    g_assert_nonnull(lb);
    g_assert_false(linux_boot_load(lb, f->mem, RAM, RAM, &f->acpi, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    linux_boot_free(lb);
    put32(big + 0x260, 1 * MIB);
    put32(big + 0x238, 8);
    lb = linux_boot_new(big, klen, NULL, 0, "much longer than eight", &err);
    g_assert_nonnull(lb);
    g_assert_false(linux_boot_load(lb, f->mem, RAM, RAM, &f->acpi, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    linux_boot_free(lb);
    /* An initrd that cannot fit below the ACPI area. */
    put32(big + 0x238, 2047);
    g_autofree uint8_t *huge = g_malloc0(48 * MIB);
    lb = linux_boot_new(big, klen, huge, 48 * MIB, NULL, &err);
    g_assert_nonnull(lb);
    g_assert_false(linux_boot_load(lb, f->mem, RAM, RAM, &f->acpi, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    linux_boot_free(lb);
}

/* ELF64 with one PT_LOAD at 2 MiB and a PT_NOTE carrying XEN_ELFNOTE_PHYS32_ENTRY. */
static uint8_t *make_pvh_elf(size_t *len, uint32_t entry, bool with_note)
{
    size_t seg_off = 0x1000, seg_len = 0x3000, note_off = 0x200;
    uint8_t *e = g_malloc0(seg_off + seg_len);
    memcpy(e, "\x7f" "ELF", 4);
    e[4] = 2; /* 64-bit */
    e[5] = 1; /* little endian */
    e[6] = 1;
    put16(e + 16, 2);     /* ET_EXEC */
    put16(e + 18, 62);    /* x86-64 */
    put64(e + 24, 0xffffffff81000000ull);
    put64(e + 32, 64);    /* phoff */
    put16(e + 52, 64);
    put16(e + 54, 56);    /* phentsize */
    put16(e + 56, 2);     /* phnum */
    uint8_t *ph = e + 64;
    put32(ph, 1);         /* PT_LOAD */
    put64(ph + 8, seg_off);
    put64(ph + 16, 0xffffffff81000000ull);
    put64(ph + 24, 2 * MIB);
    put64(ph + 32, seg_len);
    put64(ph + 40, seg_len + 0x2000); /* bss */
    ph += 56;
    put32(ph, 4);         /* PT_NOTE */
    put64(ph + 8, note_off);
    put64(ph + 32, 12 + 4 + 4 + 12 + 4 + 8);
    uint8_t *n = e + note_off;
    /* A foreign note first, then the Xen one. */
    put32(n, 4);
    put32(n + 4, 4);
    put32(n + 8, 1);
    memcpy(n + 12, "GNU", 4);
    n += 20;
    put32(n, 4);
    put32(n + 4, 4);
    put32(n + 8, with_note ? 18 : 17);
    memcpy(n + 12, "Xen", 4);
    put32(n + 16, entry);
    for (size_t i = 0; i < seg_len; i++) {
        e[seg_off + i] = (uint8_t)(i ^ 0x5a);
    }
    *len = seg_off + seg_len;
    return e;
}

static void test_pvh(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    size_t klen;
    g_autofree uint8_t *k = make_pvh_elf(&klen, 0x200123, true);
    static const uint8_t initrd[3000] = {[0] = 1, [2999] = 2};
    g_autoptr(LinuxBoot) lb = linux_boot_new(k, klen, initrd, sizeof(initrd), "quiet", &err);

    g_assert_no_error(err);
    g_assert_cmpint(lb->protocol, ==, LINUX_BOOT_PVH);
    /* Dirty the bss first: the loader must clear it. */
    memset(f->ram + 2 * MIB + 0x3000, 0xee, 0x2000);
    g_assert_true(linux_boot_load(lb, f->mem, RAM, RAM, &f->acpi, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(f->ram + 2 * MIB, 0x3000, k + 0x1000, 0x3000);
    for (unsigned i = 0; i < 0x2000; i++) {
        g_assert_cmpuint(f->ram[2 * MIB + 0x3000 + i], ==, 0);
    }
    g_assert_false(lb->cpu.long_mode);
    g_assert_cmpuint(lb->cpu.rip, ==, 0x200123);
    g_assert_cmpuint(lb->cpu.rbx, ==, LINUX_BOOT_START_INFO);

    const uint8_t *si = f->ram + LINUX_BOOT_START_INFO;
    g_assert_cmpuint(get32(si), ==, PVH_START_MAGIC);
    g_assert_cmpuint(get32(si + 4), ==, 1);
    g_assert_cmpuint(get32(si + 12), ==, 1); /* nr_modules */
    uint64_t modlist = get64(si + 16);
    g_assert_cmpstr((const char *)f->ram + get64(si + 24), ==, "quiet");
    g_assert_cmpuint(get64(si + 32), ==, LINUX_BOOT_RSDP);
    check_rsdp_and_xsdt(f, get64(si + 32), RAM - LINUX_BOOT_ACPI_SIZE, RAM);
    uint64_t mm = get64(si + 40);
    g_assert_cmpuint(get32(si + 48), ==, lb->n_e820);
    check_e820(lb);
    for (unsigned i = 0; i < lb->n_e820; i++) {
        const uint8_t *e = f->ram + mm + 24 * i;
        g_assert_cmpuint(get64(e), ==, lb->e820[i].addr);
        g_assert_cmpuint(get64(e + 8), ==, lb->e820[i].size);
        g_assert_cmpuint(get32(e + 16), ==, lb->e820[i].type);
        g_assert_cmpuint(get32(e + 20), ==, 0);
    }
    const uint8_t *mod = f->ram + modlist;
    uint64_t rd = get64(mod);
    g_assert_cmpuint(get64(mod + 8), ==, sizeof(initrd));
    g_assert_cmpuint(rd, >=, 2 * MIB + 0x5000);
    g_assert_cmpmem(f->ram + rd, sizeof(initrd), initrd, sizeof(initrd));

    struct kvm_regs regs;
    struct kvm_sregs sregs;
    memset(&sregs, 0, sizeof(sregs));
    linux_boot_cpu_to_kvm(&lb->cpu, &regs, &sregs);
    g_assert_cmpuint(regs.rbx, ==, LINUX_BOOT_START_INFO);
    g_assert_cmpuint(regs.rflags & 0x200, ==, 0);
    g_assert_cmpuint(sregs.cr0, ==, 0x11);
    g_assert_cmpuint(sregs.cr4, ==, 0);
    g_assert_cmpuint(sregs.efer, ==, 0);
    g_assert_cmpuint(sregs.cs.db, ==, 1);
    g_assert_cmpuint(sregs.cs.l, ==, 0);
    g_assert_cmpuint(sregs.cs.limit, ==, 0xffffffff);
    g_assert_cmpuint(sregs.tr.limit, ==, 0x67);
    g_assert_cmpuint(sregs.tr.type, ==, 0xb);
    g_assert_cmpuint(get64(f->ram + LINUX_BOOT_GDT + 0x08), ==, 0x00cf9b000000ffffull);
}

static void test_elf_without_note(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    size_t klen;
    g_autofree uint8_t *k = make_pvh_elf(&klen, 0x200000, false);
    g_assert_null(linux_boot_new(k, klen, NULL, 0, NULL, &err));
    g_assert_nonnull(strstr(err->message, "PVH"));
    g_clear_error(&err);
    /* A segment pointing outside RAM is refused, not written. */
    g_autofree uint8_t *k2 = make_pvh_elf(&klen, 0x200000, true);
    put64(k2 + 64 + 24, RAM - 0x1000);
    g_autoptr(LinuxBoot) lb = linux_boot_new(k2, klen, NULL, 0, NULL, &err);
    g_assert_nonnull(lb);
    g_assert_false(linux_boot_load(lb, f->mem, RAM, RAM, &f->acpi, &err));
    g_assert_nonnull(err);
}

/* Multiboot v1 with the a.out kludge: header at 0x40 in a 16 KiB image loaded at 1 MiB. */
static void test_multiboot(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    size_t klen = 0x4000;
    g_autofree uint8_t *k = g_malloc0(klen);
    uint8_t *h = k + 0x40;
    uint32_t flags = 0x10003;
    put32(h, MULTIBOOT_HEADER_MAGIC);
    put32(h + 4, flags);
    put32(h + 8, (uint32_t)(0u - MULTIBOOT_HEADER_MAGIC - flags));
    put32(h + 12, MIB + 0x40);   /* header_addr */
    put32(h + 16, MIB);          /* load_addr */
    put32(h + 20, MIB + 0x3000); /* load_end_addr */
    put32(h + 24, MIB + 0x5000); /* bss_end_addr */
    put32(h + 28, MIB + 0x80);   /* entry */
    for (size_t i = 0x100; i < klen; i++) {
        k[i] = (uint8_t)i;
    }
    static const uint8_t initrd[100] = {9, 8, 7};
    memset(f->ram + MIB + 0x3000, 0xcc, 0x2000);
    g_autoptr(LinuxBoot) lb = linux_boot_new(k, klen, initrd, sizeof(initrd), "mb test", &err);
    g_assert_no_error(err);
    g_assert_cmpint(lb->protocol, ==, LINUX_BOOT_MULTIBOOT);
    g_assert_true(linux_boot_load(lb, f->mem, RAM, RAM, NULL, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(f->ram + MIB, 0x3000, k, 0x3000);
    g_assert_cmpuint(f->ram[MIB + 0x3000], ==, 0); /* bss cleared */
    g_assert_cmpuint(f->ram[MIB + 0x4fff], ==, 0);
    g_assert_cmpuint(lb->cpu.rip, ==, MIB + 0x80);
    g_assert_cmpuint(lb->cpu.rax, ==, MULTIBOOT_BOOT_MAGIC);
    g_assert_cmpuint(lb->cpu.rbx, ==, LINUX_BOOT_START_INFO);
    g_assert_false(lb->cpu.long_mode);

    const uint8_t *mbi = f->ram + LINUX_BOOT_START_INFO;
    uint32_t iflags = get32(mbi);
    g_assert_cmpuint(iflags & 0x4d, ==, 0x4d); /* mem, cmdline, mods, mmap */
    g_assert_cmpuint(get32(mbi + 4), ==, 639);
    g_assert_cmpuint(get32(mbi + 8), ==, (RAM - LINUX_BOOT_ACPI_SIZE - MIB) >> 10);
    g_assert_cmpstr((const char *)f->ram + get32(mbi + 16), ==, "mb test");
    g_assert_cmpuint(get32(mbi + 20), ==, 1);
    const uint8_t *mod = f->ram + get32(mbi + 24);
    uint32_t start = get32(mod), end = get32(mod + 4);
    g_assert_cmpuint(end - start, ==, sizeof(initrd));
    g_assert_cmpuint(start, >=, MIB + 0x5000);
    g_assert_cmpmem(f->ram + start, sizeof(initrd), initrd, sizeof(initrd));
    g_assert_cmpstr((const char *)f->ram + get32(mod + 8), ==, "initrd");
    uint32_t mlen = get32(mbi + 44);
    const uint8_t *mm = f->ram + get32(mbi + 48);
    g_assert_cmpuint(mlen, ==, 24 * lb->n_e820);
    for (unsigned i = 0; i < lb->n_e820; i++) {
        g_assert_cmpuint(get32(mm + 24 * i), ==, 20);
        g_assert_cmpuint(get64(mm + 24 * i + 4), ==, lb->e820[i].addr);
        g_assert_cmpuint(get64(mm + 24 * i + 12), ==, lb->e820[i].size);
        g_assert_cmpuint(get32(mm + 24 * i + 20), ==, lb->e820[i].type);
    }
    /* A bad checksum is not a multiboot header. */
    put32(h + 8, 0);
    g_assert_null(linux_boot_new(k, klen, NULL, 0, NULL, &err));
    g_assert_nonnull(err);
}

static void test_e820_high(void)
{
    LinuxE820Entry e[LINUX_BOOT_MAX_E820];
    unsigned n = linux_boot_build_e820(6ull << 30, 3ull << 30, e, LINUX_BOOT_MAX_E820);
    g_assert_cmpuint(n, ==, 6);
    g_assert_cmpuint(e[4].addr, ==, (3ull << 30) - LINUX_BOOT_ACPI_SIZE);
    g_assert_cmpuint(e[5].addr, ==, 4ull << 30);
    g_assert_cmpuint(e[5].size, ==, 3ull << 30);
    g_assert_cmpuint(e[5].type, ==, LINUX_E820_RAM);
    g_assert_cmpuint(linux_boot_build_e820(6ull << 30, 3ull << 30, e, 2), ==, 2);
}

/* Real-mode bzImage (iPXE-style, protocol 2.07): blobs for the firmware path. */
static void test_realmode_prepare(void)
{
    g_autoptr(GError) err = NULL;
    size_t klen;
    g_autofree uint8_t *k = make_bzimage(4096, 0x207, 0x0, &klen);
    LinuxRealModeBoot b;

    g_assert_true(linux_boot_is_realmode_only(k, klen));
    g_assert_true(linux_boot_realmode_prepare(k, klen, 1000, "script", 512 * MIB, &b, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(b.setup_len, ==, 5 * 512);
    g_assert_true(b.kernel == k + 5 * 512);
    g_assert_cmpuint(b.kernel_len, ==, 4096);
    g_assert_cmpuint(b.setup_addr, ==, 0x10000);
    g_assert_cmpuint(b.kernel_addr, ==, MIB);
    g_assert_cmpuint(b.setup[0x210], ==, 0xff);
    g_assert_cmpuint(b.setup[0x211] & 0x81, ==, 0x81);       /* LOADED_HIGH, CAN_USE_HEAP */
    g_assert_cmpuint(get16(b.setup + 0x224), ==, 0xfe00);    /* heap_end_ptr */
    g_assert_cmpuint(get32(b.setup + 0x228), ==, 0x20000);   /* cmd_line_ptr */
    g_assert_cmpuint(get32(b.setup + 0x218), ==, b.initrd_addr);
    g_assert_cmpuint(get32(b.setup + 0x21c), ==, 1000);
    g_assert_cmpuint(b.initrd_addr & 0xfff, ==, 0);
    g_assert_cmpuint(b.initrd_addr + 1000, <=, 512 * MIB - 16 * MIB);
    /* The caller's image is left alone. */
    g_assert_cmpuint(k[0x210], ==, 0);
    linux_realmode_boot_clear(&b);

    /* A 64-bit-capable bzImage is not for this path; nor is a pre-2.02 zImage. */
    g_autofree uint8_t *k64 = make_bzimage(4096, 0x20f, 0x1, &klen);
    g_assert_false(linux_boot_is_realmode_only(k64, klen));
    g_autofree uint8_t *old = make_bzimage(4096, 0x201, 0x0, &klen);
    g_assert_false(linux_boot_realmode_prepare(old, klen, 0, "", 512 * MIB, &b, &err));
    g_assert_nonnull(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/linux-boot/bzimage", Fixture, NULL, fixture_set_up, test_bzimage,
               fixture_tear_down);
    g_test_add("/linux-boot/bzimage-not-relocatable", Fixture, NULL, fixture_set_up,
               test_bzimage_not_relocatable, fixture_tear_down);
    g_test_add("/linux-boot/bzimage-rejects", Fixture, NULL, fixture_set_up, test_bzimage_rejects,
               fixture_tear_down);
    g_test_add("/linux-boot/pvh", Fixture, NULL, fixture_set_up, test_pvh, fixture_tear_down);
    g_test_add("/linux-boot/elf-without-note", Fixture, NULL, fixture_set_up,
               test_elf_without_note, fixture_tear_down);
    g_test_add("/linux-boot/multiboot", Fixture, NULL, fixture_set_up, test_multiboot,
               fixture_tear_down);
    g_test_add_func("/linux-boot/e820-high", test_e820_high);
    g_test_add_func("/linux-boot/realmode-prepare", test_realmode_prepare);
    return g_test_run();
}
