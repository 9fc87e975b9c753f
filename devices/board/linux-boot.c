/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "linux-boot"
#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include "devices/board/linux-boot.h"

#define MIB (1ull << 20)
#define FOUR_GIB (4ull << 30)
#define EBDA_START 0x9fc00ull
#define ROM_AREA 0xe0000ull /* 0xE0000-0xFFFFF: BIOS area; our RSDP lives here */

/* Setup header (Documentation/arch/x86/boot.rst) offsets within the file / zero page. */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_END_MAX 0x290 /* the zero page's e820 table starts at 0x2d0 */
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define XLF_KERNEL_64 0x1
#define LOADED_HIGH 0x1

/* ELF */
#define PT_LOAD 1
#define PT_NOTE 4
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Multiboot v1 header flags. */
#define MB_PAGE_ALIGN 0x1
#define MB_MEMORY_INFO 0x2
#define MB_VIDEO_MODE 0x4
#define MB_AOUT_KLUDGE 0x10000
#define MB_SEARCH 8192
/* multiboot_info flags. */
#define MBI_MEM 0x1
#define MBI_CMDLINE 0x4
#define MBI_MODS 0x8
#define MBI_MMAP 0x40

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

const char *linux_boot_protocol_name(LinuxBootProtocol p)
{
    switch (p) {
    case LINUX_BOOT_BZIMAGE:
        return "Linux 64-bit boot protocol";
    case LINUX_BOOT_PVH:
        return "PVH";
    case LINUX_BOOT_MULTIBOOT:
        return "multiboot";
    }
    return "?";
}

static gboolean boot_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean boot_error(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, msg);
    return FALSE;
}

/* ---- format detection --------------------------------------------------------------------- */

typedef struct {
    bool is64;
    uint64_t phoff;
    unsigned phentsize, phnum;
} ElfInfo;

static bool elf_parse(const uint8_t *d, size_t len, ElfInfo *e)
{
    if (len < 52 || memcmp(d, "\x7f" "ELF", 4) != 0 || d[5] != 1 /* little endian */) {
        return false;
    }
    if (d[4] == 2) {
        if (len < 64) {
            return false;
        }
        e->is64 = true;
        e->phoff = rd64(d + 32);
        e->phentsize = rd16(d + 54);
        e->phnum = rd16(d + 56);
        if (e->phentsize < 56) {
            return false;
        }
    } else if (d[4] == 1) {
        e->is64 = false;
        e->phoff = rd32(d + 28);
        e->phentsize = rd16(d + 42);
        e->phnum = rd16(d + 44);
        if (e->phentsize < 32) {
            return false;
        }
    } else {
        return false;
    }
    return e->phoff <= len && (uint64_t)e->phentsize * e->phnum <= len - e->phoff;
}

typedef struct {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
} ElfPhdr;

static void elf_phdr(const uint8_t *d, const ElfInfo *e, unsigned i, ElfPhdr *ph)
{
    const uint8_t *p = d + e->phoff + (uint64_t)i * e->phentsize;
    ph->type = rd32(p);
    if (e->is64) {
        ph->offset = rd64(p + 8);
        ph->paddr = rd64(p + 24);
        ph->filesz = rd64(p + 32);
        ph->memsz = rd64(p + 40);
    } else {
        ph->offset = rd32(p + 4);
        ph->paddr = rd32(p + 12);
        ph->filesz = rd32(p + 16);
        ph->memsz = rd32(p + 20);
    }
}

/* Looks for the Xen PHYS32_ENTRY note in the PT_NOTE segments. */
static bool elf_find_pvh_entry(const uint8_t *d, size_t len, const ElfInfo *e, uint32_t *entry)
{
    for (unsigned i = 0; i < e->phnum; i++) {
        ElfPhdr ph;
        elf_phdr(d, e, i, &ph);
        if (ph.type != PT_NOTE || ph.offset > len || ph.filesz > len - ph.offset) {
            continue;
        }
        const uint8_t *n = d + ph.offset;
        uint64_t left = ph.filesz;
        while (left >= 12) {
            uint32_t namesz = rd32(n), descsz = rd32(n + 4), type = rd32(n + 8);
            uint64_t name_pad = ((uint64_t)namesz + 3) & ~3ull;
            uint64_t desc_pad = ((uint64_t)descsz + 3) & ~3ull;
            if (12 + name_pad + desc_pad > left) {
                break;
            }
            if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && memcmp(n + 12, "Xen", 4) == 0 &&
                descsz >= 4) {
                *entry = rd32(n + 12 + name_pad);
                return true;
            }
            n += 12 + name_pad + desc_pad;
            left -= 12 + name_pad + desc_pad;
        }
    }
    return false;
}

/* Offset of a valid multiboot v1 header in the first 8 KiB, or -1. */
static long multiboot_find(const uint8_t *d, size_t len)
{
    size_t lim = MIN(len, (size_t)MB_SEARCH);
    for (size_t off = 0; off + 12 <= lim; off += 4) {
        uint32_t magic = rd32(d + off), flags = rd32(d + off + 4), sum = rd32(d + off + 8);
        if (magic == MULTIBOOT_HEADER_MAGIC && (uint32_t)(magic + flags + sum) == 0) {
            return (long)off;
        }
    }
    return -1;
}

static bool detect(LinuxBoot *lb, GError **error)
{
    const uint8_t *d = lb->kernel;
    size_t len = lb->kernel_len;
    ElfInfo e;

    if (len >= 0x264 && rd16(d + HDR_BOOT_FLAG) == 0xaa55 && memcmp(d + HDR_MAGIC, "HdrS", 4) == 0) {
        unsigned sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
        lb->version = rd16(d + HDR_VERSION);
        lb->setup_size = (sects + 1) * 512;
        if (lb->version < 0x20c || !(rd16(d + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
            /* e.g. iPXE's ipxe.lkrn: only real-mode entry, which needs a BIOS. */
            return boot_error(error,
                              "bzImage with boot protocol %u.%02u%s: only kernels with the 64-bit "
                              "entry (protocol 2.12 or later, XLF_KERNEL_64) boot without "
                              "firmware; the others boot through the firmware (SeaBIOS with "
                              "the fwcfg-linuxboot option ROM)",
                              lb->version >> 8, lb->version & 0xff,
                              lb->version >= 0x20c ? " and no 64-bit entry" : "");
        }
        if (lb->setup_size >= len) {
            return boot_error(error, "bzImage is truncated: no protected-mode kernel");
        }
        lb->protocol = LINUX_BOOT_BZIMAGE;
        return true;
    }
    if (elf_parse(d, len, &e) && elf_find_pvh_entry(d, len, &e, &lb->entry32)) {
        lb->protocol = LINUX_BOOT_PVH;
        return true;
    }
    if (multiboot_find(d, len) >= 0) {
        lb->protocol = LINUX_BOOT_MULTIBOOT;
        return true;
    }
    if (elf_parse(d, len, &e)) {
        return boot_error(error, "ELF kernel without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) "
                                 "or multiboot header: build it with CONFIG_PVH=y or boot its "
                                 "bzImage");
    }
    return boot_error(error, "not a bzImage, PVH ELF or multiboot kernel");
}

LinuxBoot *linux_boot_new(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
                          size_t initrd_len, const char *cmdline, GError **error)
{
    g_autoptr(LinuxBoot) lb = g_new0(LinuxBoot, 1);

    lb->kernel = g_memdup2(kernel, kernel_len);
    lb->kernel_len = kernel_len;
    if (initrd != NULL) {
        lb->initrd = g_memdup2(initrd, MAX(initrd_len, 1));
        lb->initrd_len = initrd_len;
    }
    lb->cmdline = g_strdup(cmdline ? cmdline : "");
    if (strlen(lb->cmdline) >= LINUX_BOOT_CMDLINE_MAX) {
        boot_error(error, "kernel command line too long (%zu bytes, at most %u)",
                   strlen(lb->cmdline), LINUX_BOOT_CMDLINE_MAX - 1);
        return NULL;
    }
    if (!detect(lb, error)) {
        return NULL;
    }
    return g_steal_pointer(&lb);
}

LinuxBoot *linux_boot_new_from_files(const char *kernel_path, const char *initrd_path,
                                     const char *cmdline, GError **error)
{
    g_autofree char *k = NULL, *i = NULL;
    gsize klen = 0, ilen = 0;

    if (!g_file_get_contents(kernel_path, &k, &klen, error)) {
        g_prefix_error(error, "cannot read the kernel: ");
        return NULL;
    }
    if (initrd_path != NULL && !g_file_get_contents(initrd_path, &i, &ilen, error)) {
        g_prefix_error(error, "cannot read the initrd: ");
        return NULL;
    }
    LinuxBoot *lb = linux_boot_new((uint8_t *)k, klen, (uint8_t *)i, ilen, cmdline, error);
    if (lb == NULL) {
        g_prefix_error(error, "%s: ", kernel_path);
    }
    return lb;
}

void linux_boot_free(LinuxBoot *lb)
{
    if (lb == NULL) {
        return;
    }
    g_free(lb->kernel);
    g_free(lb->initrd);
    g_free(lb->cmdline);
    g_free(lb);
}

/* ---- memory map and ACPI ------------------------------------------------------------------ */

unsigned linux_boot_build_e820(uint64_t ram_size, uint64_t below_4g, LinuxE820Entry *out,
                               unsigned max)
{
    LinuxE820Entry all[6];
    unsigned n = 0;
    uint64_t acpi = below_4g - LINUX_BOOT_ACPI_SIZE;

    all[n++] = (LinuxE820Entry){0, EBDA_START, LINUX_E820_RAM};
    all[n++] = (LinuxE820Entry){EBDA_START, 0xa0000 - EBDA_START, LINUX_E820_RESERVED};
    all[n++] = (LinuxE820Entry){ROM_AREA, MIB - ROM_AREA, LINUX_E820_RESERVED};
    all[n++] = (LinuxE820Entry){MIB, acpi - MIB, LINUX_E820_RAM};
    all[n++] = (LinuxE820Entry){acpi, LINUX_BOOT_ACPI_SIZE, LINUX_E820_ACPI};
    if (ram_size > below_4g) {
        all[n++] = (LinuxE820Entry){FOUR_GIB, ram_size - below_4g, LINUX_E820_RAM};
    }
    n = MIN(n, max);
    memcpy(out, all, n * sizeof(all[0]));
    return n;
}

typedef struct {
    char name[ACPI_LOADER_FILE_LEN + 1];
    const uint8_t *data;
    size_t len;
    uint64_t addr;
    bool allocated;
} AcpiFile;

static AcpiFile *acpi_file(AcpiFile *files, const uint8_t *name_field)
{
    for (unsigned i = 0; i < 2; i++) {
        if (strncmp(files[i].name, (const char *)name_field, ACPI_LOADER_FILE_LEN) == 0) {
            return &files[i];
        }
    }
    return NULL;
}

bool linux_boot_place_acpi(const AcpiBlobs *acpi, VmmGuestMem *mem, uint64_t high_addr,
                           uint64_t high_size, uint64_t *rsdp, GError **error)
{
    AcpiFile files[2] = {
        {.name = ACPI_FW_CFG_TABLES, .data = acpi->tables, .len = acpi->tables_len},
        {.name = ACPI_FW_CFG_RSDP, .data = acpi->rsdp, .len = acpi->rsdp_len},
    };
    uint64_t high_next = high_addr;

    if (acpi->loader_len % ACPI_LOADER_ENTRY_SIZE != 0) {
        return boot_error(error, "ACPI loader script has a partial entry");
    }
    /* Our own blobs drive this, but a broken builder must fail cleanly, not scribble. */
    for (size_t off = 0; off < acpi->loader_len; off += ACPI_LOADER_ENTRY_SIZE) {
        const uint8_t *e = acpi->loader + off;
        uint32_t cmd = rd32(e);
        AcpiFile *f = acpi_file(files, e + 4);

        if (cmd == 0) {
            continue;
        }
        if (f == NULL) {
            return boot_error(error, "ACPI loader script names an unknown file");
        }
        switch (cmd) {
        case ACPI_LOADER_ALLOCATE: {
            uint32_t align = MAX(rd32(e + 60), 1u);
            if (f->allocated || (align & (align - 1)) != 0) {
                return boot_error(error, "bad ACPI ALLOCATE entry");
            }
            if (e[64] == ACPI_LOADER_ZONE_FSEG) {
                f->addr = LINUX_BOOT_RSDP;
                if (f->len > MIB - ROM_AREA) {
                    return boot_error(error, "ACPI F-segment blob too large");
                }
            } else {
                f->addr = (high_next + align - 1) & ~((uint64_t)align - 1);
                if (f->addr + f->len > high_addr + high_size) {
                    return boot_error(error, "ACPI tables do not fit in %llu bytes",
                                      (unsigned long long)high_size);
                }
                high_next = f->addr + f->len;
            }
            f->allocated = true;
            if (vmm_guest_write(mem, f->addr, f->data, f->len) < 0) {
                return boot_error(error, "cannot write ACPI blob %s at 0x%llx", f->name,
                                  (unsigned long long)f->addr);
            }
            break;
        }
        case ACPI_LOADER_ADD_POINTER: {
            AcpiFile *src = acpi_file(files, e + 60);
            uint32_t at = rd32(e + 116);
            unsigned size = e[120];
            uint8_t buf[8] = {0};
            if (src == NULL || !src->allocated || !f->allocated ||
                (size != 1 && size != 2 && size != 4 && size != 8) || at > f->len ||
                size > f->len - at) {
                return boot_error(error, "bad ACPI ADD_POINTER entry");
            }
            vmm_guest_read(mem, f->addr + at, buf, size);
            uint64_t v = rd64(buf) + src->addr;
            wr64(buf, v);
            vmm_guest_write(mem, f->addr + at, buf, size);
            break;
        }
        case ACPI_LOADER_ADD_CHECKSUM: {
            uint32_t res = rd32(e + 60), start = rd32(e + 64), len = rd32(e + 68);
            if (!f->allocated || res >= f->len || start > f->len || len > f->len - start) {
                return boot_error(error, "bad ACPI ADD_CHECKSUM entry");
            }
            g_autofree uint8_t *tmp = g_malloc(MAX(len, 1u));
            uint8_t sum = 0, cur = 0;
            vmm_guest_read(mem, f->addr + start, tmp, len);
            for (uint32_t i = 0; i < len; i++) {
                sum = (uint8_t)(sum + tmp[i]);
            }
            vmm_guest_read(mem, f->addr + res, &cur, 1);
            cur = (uint8_t)(cur - sum);
            vmm_guest_write(mem, f->addr + res, &cur, 1);
            break;
        }
        default:
            return boot_error(error, "unknown ACPI loader command %u", cmd);
        }
    }
    if (!files[1].allocated) {
        return boot_error(error, "ACPI loader script did not place the RSDP");
    }
    *rsdp = files[1].addr;
    return true;
}

/* ---- common boot structures --------------------------------------------------------------- */

static bool write_gdt_and_page_tables(VmmGuestMem *mem)
{
    static const uint64_t gdt[] = {
        0,
        0x00cf9b000000ffffull, /* 0x08: 32-bit code, flat */
        0x00af9b000000ffffull, /* 0x10: 64-bit code */
        0x00cf93000000ffffull, /* 0x18: data, flat */
        0x00008b0000000067ull, /* 0x20: 32-bit TSS (busy), base 0, limit 0x67 */
    };
    uint8_t buf[sizeof(gdt)];
    for (unsigned i = 0; i < G_N_ELEMENTS(gdt); i++) {
        wr64(buf + 8 * i, gdt[i]);
    }
    if (vmm_guest_write(mem, LINUX_BOOT_GDT, buf, sizeof(buf)) < 0) {
        return false;
    }
    /* PML4[0] -> PDPT, PDPT[0..3] -> 4 page directories of 2 MiB pages: 0-4 GiB identity. */
    uint8_t page[4096];
    memset(page, 0, sizeof(page));
    wr64(page, (LINUX_BOOT_PML4 + 0x1000) | 0x3);
    if (vmm_guest_write(mem, LINUX_BOOT_PML4, page, sizeof(page)) < 0) {
        return false;
    }
    memset(page, 0, sizeof(page));
    for (unsigned i = 0; i < 4; i++) {
        wr64(page + 8 * i, (LINUX_BOOT_PML4 + 0x2000 + 0x1000ull * i) | 0x3);
    }
    if (vmm_guest_write(mem, LINUX_BOOT_PML4 + 0x1000, page, sizeof(page)) < 0) {
        return false;
    }
    for (unsigned pd = 0; pd < 4; pd++) {
        for (unsigned i = 0; i < 512; i++) {
            uint64_t addr = ((uint64_t)pd << 30) | ((uint64_t)i << 21);
            wr64(page + 8 * i, addr | 0x83); /* present, writable, 2 MiB page */
        }
        if (vmm_guest_write(mem, LINUX_BOOT_PML4 + 0x2000 + 0x1000ull * pd, page, sizeof(page)) <
            0) {
            return false;
        }
    }
    return true;
}

/* Highest 4 KiB-aligned address for @len bytes ending at or below @limit, above @floor. */
static bool place_top(uint64_t floor, uint64_t limit, uint64_t len, uint64_t *addr)
{
    if (limit < floor || len > limit - floor) {
        return false;
    }
    *addr = (limit - len) & ~0xfffull;
    return *addr >= floor;
}

static bool write_cmdline(LinuxBoot *lb, VmmGuestMem *mem, GError **error)
{
    if (vmm_guest_write(mem, LINUX_BOOT_CMDLINE, lb->cmdline, strlen(lb->cmdline) + 1) < 0) {
        return boot_error(error, "cannot write the command line");
    }
    return true;
}

/* ---- bzImage ------------------------------------------------------------------------------ */

static bool load_bzimage(LinuxBoot *lb, VmmGuestMem *mem, uint64_t ram_top, GError **error)
{
    const uint8_t *d = lb->kernel;
    uint8_t zp[4096];
    size_t pm_len = lb->kernel_len - lb->setup_size;
    uint32_t init_size = rd32(d + HDR_INIT_SIZE);
    uint32_t align = rd32(d + HDR_KERNEL_ALIGNMENT);
    uint64_t pref = rd64(d + HDR_PREF_ADDRESS);
    uint64_t load = MIB;
    size_t cmdline_max = rd32(d + HDR_CMDLINE_SIZE);
    uint64_t initrd_max = rd32(d + HDR_INITRD_ADDR_MAX);
    size_t hdr_end = MIN((size_t)HDR_JUMP + 2 + d[HDR_JUMP + 1], (size_t)HDR_END_MAX);

    if (d[HDR_RELOCATABLE] && pref >= MIB && (align == 0 || (pref & (align - 1)) == 0)) {
        load = pref;
    }
    /*
     * init_size counts from where the kernel runs: the load address for relocatable kernels,
     * pref_address (LOAD_PHYSICAL_ADDR) for the others, whose decompressor moves them there.
     */
    uint64_t runtime = d[HDR_RELOCATABLE] ? load : MAX(load, pref);
    uint64_t kernel_end = MAX(load + pm_len, runtime + init_size);
    if (kernel_end > ram_top) {
        return boot_error(error, "the kernel needs memory up to %llu MiB; give the VM more",
                          (unsigned long long)(kernel_end >> 20) + 1);
    }
    if (strlen(lb->cmdline) > cmdline_max) {
        return boot_error(error, "the command line is longer than the kernel's limit (%zu)",
                          cmdline_max);
    }
    if (vmm_guest_write(mem, load, d + lb->setup_size, pm_len) < 0) {
        return boot_error(error, "cannot write the kernel at 0x%llx", (unsigned long long)load);
    }
    lb->kernel_addr = load;

    memset(zp, 0, sizeof(zp));
    memcpy(zp + HDR_START, d + HDR_START, hdr_end - HDR_START);
    zp[HDR_TYPE_OF_LOADER] = 0xff;
    zp[HDR_LOADFLAGS] |= LOADED_HIGH;
    wr32(zp + HDR_CMD_LINE_PTR, (uint32_t)LINUX_BOOT_CMDLINE);
    wr64(zp + HDR_SETUP_DATA, 0);
    if (lb->initrd != NULL) {
        uint64_t limit = MIN(lb->acpi_addr ? lb->acpi_addr : ram_top, initrd_max + 1);
        if (!place_top(kernel_end, limit, lb->initrd_len, &lb->initrd_addr)) {
            return boot_error(error, "the initrd (%zu bytes) does not fit below 0x%llx",
                              lb->initrd_len, (unsigned long long)limit);
        }
        if (vmm_guest_write(mem, lb->initrd_addr, lb->initrd, lb->initrd_len) < 0) {
            return boot_error(error, "cannot write the initrd");
        }
        wr32(zp + HDR_RAMDISK_IMAGE, (uint32_t)lb->initrd_addr);
        wr32(zp + HDR_RAMDISK_SIZE, (uint32_t)lb->initrd_len);
        wr32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(lb->initrd_addr >> 32));
        wr32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)lb->initrd_len >> 32));
    }
    if (lb->version >= 0x20e) {
        wr64(zp + BP_ACPI_RSDP_ADDR, lb->rsdp_addr);
    }
    zp[BP_E820_ENTRIES] = (uint8_t)MIN(lb->n_e820, (unsigned)BP_E820_MAX);
    for (unsigned i = 0; i < lb->n_e820 && i < BP_E820_MAX; i++) {
        uint8_t *p = zp + BP_E820_TABLE + 20 * i;
        wr64(p, lb->e820[i].addr);
        wr64(p + 8, lb->e820[i].size);
        wr32(p + 16, lb->e820[i].type);
    }
    if (vmm_guest_write(mem, LINUX_BOOT_ZERO_PAGE, zp, sizeof(zp)) < 0 ||
        !write_cmdline(lb, mem, error)) {
        return boot_error(error, "cannot write boot_params");
    }
    lb->cpu = (LinuxBootCpu){
        .long_mode = true,
        .rip = load + 0x200,
        .rsp = LINUX_BOOT_STACK,
        .rsi = LINUX_BOOT_ZERO_PAGE,
    };
    return true;
}

/* ---- ELF segments (PVH, multiboot ELF) ---------------------------------------------------- */

static bool load_elf_segments(LinuxBoot *lb, VmmGuestMem *mem, uint64_t ram_top, uint64_t *end,
                              GError **error)
{
    ElfInfo e;
    *end = 0;
    if (!elf_parse(lb->kernel, lb->kernel_len, &e)) {
        return boot_error(error, "bad ELF header");
    }
    for (unsigned i = 0; i < e.phnum; i++) {
        ElfPhdr ph;
        elf_phdr(lb->kernel, &e, i, &ph);
        if (ph.type != PT_LOAD || ph.memsz == 0) {
            continue;
        }
        if (ph.filesz > ph.memsz || ph.offset > lb->kernel_len ||
            ph.filesz > lb->kernel_len - ph.offset || ph.paddr < MIB || ph.paddr > ram_top ||
            ph.memsz > ram_top - ph.paddr) {
            return boot_error(error, "ELF segment %u (0x%llx, %llu bytes) does not fit in RAM "
                                     "above 1 MiB",
                              i, (unsigned long long)ph.paddr, (unsigned long long)ph.memsz);
        }
        if (vmm_guest_write(mem, ph.paddr, lb->kernel + ph.offset, ph.filesz) < 0) {
            return boot_error(error, "cannot write ELF segment %u", i);
        }
        uint8_t *zero = vmm_guest_map(mem, ph.paddr + ph.filesz, ph.memsz - ph.filesz, true);
        if (zero != NULL) {
            memset(zero, 0, ph.memsz - ph.filesz);
        } else if (ph.memsz > ph.filesz) {
            return boot_error(error, "cannot clear ELF segment %u", i);
        }
        if (lb->kernel_addr == 0 || ph.paddr < lb->kernel_addr) {
            lb->kernel_addr = ph.paddr;
        }
        *end = MAX(*end, ph.paddr + ph.memsz);
    }
    if (*end == 0) {
        return boot_error(error, "the ELF kernel has no loadable segment");
    }
    return true;
}

static bool place_initrd_high(LinuxBoot *lb, VmmGuestMem *mem, uint64_t floor, uint64_t limit,
                              GError **error)
{
    if (lb->initrd == NULL) {
        return true;
    }
    if (!place_top(floor, limit, lb->initrd_len, &lb->initrd_addr)) {
        return boot_error(error, "the initrd (%zu bytes) does not fit between 0x%llx and 0x%llx",
                          lb->initrd_len, (unsigned long long)floor, (unsigned long long)limit);
    }
    if (vmm_guest_write(mem, lb->initrd_addr, lb->initrd, lb->initrd_len) < 0) {
        return boot_error(error, "cannot write the initrd");
    }
    return true;
}

/* ---- PVH ---------------------------------------------------------------------------------- */

static bool load_pvh(LinuxBoot *lb, VmmGuestMem *mem, uint64_t ram_top, GError **error)
{
    uint64_t end;
    uint8_t si[56], mm[24 * LINUX_BOOT_MAX_E820], mod[32];

    if (!load_elf_segments(lb, mem, ram_top, &end, error) ||
        !place_initrd_high(lb, mem, end, lb->acpi_addr ? lb->acpi_addr : ram_top, error) ||
        !write_cmdline(lb, mem, error)) {
        return false;
    }
    memset(si, 0, sizeof(si));
    wr32(si + 0, PVH_START_MAGIC);
    wr32(si + 4, 1); /* version 1: has the memory map */
    wr64(si + 16, LINUX_BOOT_MODLIST);
    wr64(si + 24, LINUX_BOOT_CMDLINE);
    wr64(si + 32, lb->rsdp_addr);
    wr64(si + 40, LINUX_BOOT_MEMMAP);
    wr32(si + 48, lb->n_e820);
    memset(mm, 0, sizeof(mm));
    for (unsigned i = 0; i < lb->n_e820; i++) {
        wr64(mm + 24 * i, lb->e820[i].addr);
        wr64(mm + 24 * i + 8, lb->e820[i].size);
        wr32(mm + 24 * i + 16, lb->e820[i].type);
    }
    memset(mod, 0, sizeof(mod));
    if (lb->initrd != NULL) {
        wr32(si + 12, 1);
        wr64(mod, lb->initrd_addr);
        wr64(mod + 8, lb->initrd_len);
    }
    if (vmm_guest_write(mem, LINUX_BOOT_START_INFO, si, sizeof(si)) < 0 ||
        vmm_guest_write(mem, LINUX_BOOT_MEMMAP, mm, 24 * lb->n_e820) < 0 ||
        vmm_guest_write(mem, LINUX_BOOT_MODLIST, mod, sizeof(mod)) < 0) {
        return boot_error(error, "cannot write hvm_start_info");
    }
    lb->cpu = (LinuxBootCpu){
        .long_mode = false,
        .rip = lb->entry32,
        .rsp = LINUX_BOOT_STACK,
        .rbx = LINUX_BOOT_START_INFO,
    };
    return true;
}

/* ---- multiboot v1 ------------------------------------------------------------------------- */

static bool load_multiboot(LinuxBoot *lb, VmmGuestMem *mem, uint64_t ram_top, GError **error)
{
    long hoff = multiboot_find(lb->kernel, lb->kernel_len);
    const uint8_t *h = lb->kernel + hoff;
    uint32_t flags = rd32(h + 4);
    uint64_t end;
    uint8_t info[88], mmap[24 * LINUX_BOOT_MAX_E820], mod[16];
    static const char mod_name[] = "initrd";

    if (hoff < 0) {
        return boot_error(error, "no multiboot header");
    }
    if (flags & MB_AOUT_KLUDGE) {
        if ((size_t)hoff + 32 > lb->kernel_len) {
            return boot_error(error, "truncated multiboot header");
        }
        uint32_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
        uint32_t load_end = rd32(h + 20), bss_end = rd32(h + 24);
        uint32_t entry = rd32(h + 28);
        if (load_addr > header_addr || header_addr - load_addr > (uint32_t)hoff) {
            return boot_error(error, "multiboot header_addr/load_addr are inconsistent");
        }
        uint64_t file_off = (uint64_t)hoff - (header_addr - load_addr);
        uint64_t len = load_end ? (uint64_t)load_end - load_addr : lb->kernel_len - file_off;
        if (load_end && load_end < load_addr) {
            return boot_error(error, "multiboot load_end_addr below load_addr");
        }
        len = MIN(len, lb->kernel_len - file_off);
        end = MAX((uint64_t)load_addr + len, (uint64_t)bss_end);
        if (load_addr < MIB || end > ram_top) {
            return boot_error(error, "multiboot image at 0x%x does not fit in RAM above 1 MiB",
                              load_addr);
        }
        if (vmm_guest_write(mem, load_addr, lb->kernel + file_off, len) < 0) {
            return boot_error(error, "cannot write the multiboot image");
        }
        if (bss_end > load_addr + len) {
            uint8_t *z = vmm_guest_map(mem, load_addr + len, bss_end - (load_addr + len), true);
            if (z != NULL) {
                memset(z, 0, bss_end - (load_addr + len));
            }
        }
        lb->kernel_addr = load_addr;
        lb->entry32 = entry;
    } else {
        ElfInfo e;
        if (!elf_parse(lb->kernel, lb->kernel_len, &e) || e.is64) {
            return boot_error(error, "multiboot kernel is neither a.out-kludge nor ELF32");
        }
        if (!load_elf_segments(lb, mem, ram_top, &end, error)) {
            return false;
        }
        lb->entry32 = rd32(lb->kernel + 24);
    }
    if (!place_initrd_high(lb, mem, (end + 0xfff) & ~0xfffull, ram_top, error) ||
        !write_cmdline(lb, mem, error)) {
        return false;
    }
    memset(info, 0, sizeof(info));
    uint32_t iflags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_MODS;
    wr32(info + 0, iflags);
    wr32(info + 4, (uint32_t)(EBDA_START >> 10));                          /* mem_lower, KiB */
    wr32(info + 8, (uint32_t)MIN((ram_top - MIB) >> 10, (uint64_t)UINT32_MAX)); /* mem_upper */
    wr32(info + 16, (uint32_t)LINUX_BOOT_CMDLINE);
    wr32(info + 20, lb->initrd ? 1 : 0);
    wr32(info + 24, (uint32_t)LINUX_BOOT_MODLIST);
    wr32(info + 44, 24 * lb->n_e820);
    wr32(info + 48, (uint32_t)LINUX_BOOT_MEMMAP);
    for (unsigned i = 0; i < lb->n_e820; i++) {
        uint8_t *p = mmap + 24 * i;
        wr32(p, 20); /* size of the entry after this field */
        wr64(p + 4, lb->e820[i].addr);
        wr64(p + 12, lb->e820[i].size);
        wr32(p + 20, lb->e820[i].type);
    }
    memset(mod, 0, sizeof(mod));
    wr32(mod, (uint32_t)lb->initrd_addr);
    wr32(mod + 4, (uint32_t)(lb->initrd_addr + lb->initrd_len));
    wr32(mod + 8, (uint32_t)(LINUX_BOOT_MODLIST + sizeof(mod)));
    if (vmm_guest_write(mem, LINUX_BOOT_START_INFO, info, sizeof(info)) < 0 ||
        vmm_guest_write(mem, LINUX_BOOT_MEMMAP, mmap, 24 * lb->n_e820) < 0 ||
        vmm_guest_write(mem, LINUX_BOOT_MODLIST, mod, sizeof(mod)) < 0 ||
        vmm_guest_write(mem, LINUX_BOOT_MODLIST + sizeof(mod), mod_name, sizeof(mod_name)) < 0) {
        return boot_error(error, "cannot write multiboot_info");
    }
    lb->cpu = (LinuxBootCpu){
        .long_mode = false,
        .rip = lb->entry32,
        .rsp = LINUX_BOOT_STACK,
        .rax = MULTIBOOT_BOOT_MAGIC,
        .rbx = LINUX_BOOT_START_INFO,
    };
    return true;
}

/* ---- entry points ------------------------------------------------------------------------- */

bool linux_boot_load(LinuxBoot *lb, VmmGuestMem *mem, uint64_t ram_size, uint64_t below_4g,
                     const AcpiBlobs *acpi, GError **error)
{
    if (below_4g < 16 * MIB || below_4g > ram_size) {
        return boot_error(error, "direct boot needs at least 16 MiB of RAM below 4 GiB");
    }
    lb->n_e820 = linux_boot_build_e820(ram_size, below_4g, lb->e820, LINUX_BOOT_MAX_E820);
    lb->acpi_addr = 0;
    lb->rsdp_addr = 0;
    lb->initrd_addr = 0;
    lb->kernel_addr = 0;
    if (!write_gdt_and_page_tables(mem)) {
        return boot_error(error, "cannot write the GDT and page tables");
    }
    if (acpi != NULL) {
        lb->acpi_addr = below_4g - LINUX_BOOT_ACPI_SIZE;
        if (!linux_boot_place_acpi(acpi, mem, lb->acpi_addr, LINUX_BOOT_ACPI_SIZE, &lb->rsdp_addr,
                                   error)) {
            return false;
        }
    }
    /* Kernel and initrd stay below the ACPI area, which the e820 map reserves anyway. */
    uint64_t ram_top = below_4g - LINUX_BOOT_ACPI_SIZE;
    switch (lb->protocol) {
    case LINUX_BOOT_BZIMAGE:
        return load_bzimage(lb, mem, ram_top, error);
    case LINUX_BOOT_PVH:
        return load_pvh(lb, mem, ram_top, error);
    case LINUX_BOOT_MULTIBOOT:
        return load_multiboot(lb, mem, ram_top, error);
    }
    return boot_error(error, "unknown boot protocol");
}

/* ---- real-mode boot through firmware ------------------------------------------------------ */

#define HDR_HEAP_END_PTR 0x224
#define CAN_USE_HEAP 0x80

bool linux_boot_is_realmode_only(const uint8_t *d, size_t len)
{
    return len >= 0x264 && rd16(d + HDR_BOOT_FLAG) == 0xaa55 &&
           memcmp(d + HDR_MAGIC, "HdrS", 4) == 0 &&
           (rd16(d + HDR_VERSION) < 0x20c || !(rd16(d + HDR_XLOADFLAGS) & XLF_KERNEL_64));
}

bool linux_boot_realmode_prepare(const uint8_t *d, size_t len, size_t initrd_len,
                                 const char *cmdline, uint64_t below_4g, LinuxRealModeBoot *out,
                                 GError **error)
{
    memset(out, 0, sizeof(*out));
    if (!linux_boot_is_realmode_only(d, len)) {
        return boot_error(error, "not a real-mode bzImage");
    }
    uint16_t version = rd16(d + HDR_VERSION);
    unsigned sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
    size_t setup_len = (sects + 1) * 512;
    if (version < 0x202 || !(d[HDR_LOADFLAGS] & LOADED_HIGH)) {
        return boot_error(error, "only bzImages (boot protocol 2.02 or later, loaded high) can "
                                 "be booted through the firmware");
    }
    /* The setup code, its heap and stack share the 64 KiB segment below the command line. */
    if (setup_len >= len || setup_len > LINUX_REALMODE_CMDLINE - LINUX_REALMODE_SETUP - 0x1000) {
        return boot_error(error, "bzImage setup part is truncated or too large");
    }
    size_t cmdline_max = version >= 0x206 ? rd32(d + HDR_CMDLINE_SIZE) : 255;
    if (strlen(cmdline) > cmdline_max || strlen(cmdline) >= LINUX_BOOT_CMDLINE_MAX) {
        return boot_error(error, "the command line is longer than the kernel's limit (%zu)",
                          cmdline_max);
    }
    out->setup = g_memdup2(d, setup_len);
    out->setup_len = setup_len;
    out->kernel = d + setup_len;
    out->kernel_len = len - setup_len;
    out->setup_addr = LINUX_REALMODE_SETUP;
    out->kernel_addr = (uint32_t)MIB;
    out->cmdline_addr = LINUX_REALMODE_CMDLINE;
    uint8_t *h = out->setup;
    h[HDR_TYPE_OF_LOADER] = 0xff;
    h[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    wr16(h + HDR_HEAP_END_PTR, (uint16_t)(LINUX_REALMODE_CMDLINE - LINUX_REALMODE_SETUP - 0x200));
    wr32(h + HDR_CMD_LINE_PTR, LINUX_REALMODE_CMDLINE);
    if (initrd_len > 0) {
        /* Stay clear of the firmware's tables at the top of RAM. */
        uint64_t max = version >= 0x203 ? rd32(d + HDR_INITRD_ADDR_MAX) : 0x37ffffff;
        uint64_t limit = MIN(max + 1, below_4g > 32 * MIB ? below_4g - 16 * MIB : 0);
        uint64_t addr;
        if (!place_top(MIB + out->kernel_len + 16 * MIB, limit, initrd_len, &addr)) {
            linux_realmode_boot_clear(out);
            return boot_error(error, "the initrd (%zu bytes) does not fit below 0x%llx",
                              initrd_len, (unsigned long long)limit);
        }
        out->initrd_addr = (uint32_t)addr;
        wr32(h + HDR_RAMDISK_IMAGE, out->initrd_addr);
        wr32(h + HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
    }
    return true;
}

void linux_realmode_boot_clear(LinuxRealModeBoot *b)
{
    g_free(b->setup);
    memset(b, 0, sizeof(*b));
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
    *s = (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = sel,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = code64 ? 0 : 1,
        .s = 1,
        .l = code64 ? 1 : 0,
        .g = 1,
    };
}

void linux_boot_cpu_to_kvm(const LinuxBootCpu *cpu, struct kvm_regs *regs,
                           struct kvm_sregs *sregs)
{
    memset(regs, 0, sizeof(*regs));
    regs->rip = cpu->rip;
    regs->rsp = cpu->rsp;
    regs->rbp = 0;
    regs->rsi = cpu->rsi;
    regs->rbx = cpu->rbx;
    regs->rax = cpu->rax;
    regs->rflags = 0x2;

    flat_segment(&sregs->cs, cpu->long_mode ? LINUX_BOOT_SEL_CODE64 : LINUX_BOOT_SEL_CODE32, 0xb,
                 cpu->long_mode);
    flat_segment(&sregs->ds, LINUX_BOOT_SEL_DATA, 0x3, false);
    sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
    sregs->tr = (struct kvm_segment){
        .base = 0,
        .limit = 0x67,
        .selector = LINUX_BOOT_SEL_TSS,
        .type = 0xb, /* busy TSS (32-bit; the same type value means 64-bit in long mode) */
        .present = 1,
    };
    sregs->ldt = (struct kvm_segment){.type = 0x2, .present = 1, .limit = 0xffff};
    sregs->gdt.base = LINUX_BOOT_GDT;
    sregs->gdt.limit = 5 * 8 - 1;
    sregs->idt.base = 0;
    sregs->idt.limit = 0;
    if (cpu->long_mode) {
        sregs->cr0 = 0x80050033; /* PG WP NE ET MP PE */
        sregs->cr3 = LINUX_BOOT_PML4;
        sregs->cr4 = 0x20;       /* PAE */
        sregs->efer = 0x500;     /* LME LMA */
    } else {
        sregs->cr0 = 0x11;       /* ET PE: the PVH and multiboot contracts */
        sregs->cr3 = 0;
        sregs->cr4 = 0;
        sregs->efer = 0;
    }
}
