/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-acpi-build"
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "devices/acpi/acpi-build.h"
#include "devices/firmware/fw-cfg.h"
#include "vmm/machine.h"

/* Fake guest memory for running the loader script: F-segment and 1 MiB of "high" RAM. */
#define MEM_SIZE 0x200000u
#define FSEG_BASE 0xe0000u
#define FSEG_END 0x100000u
#define HIGH_BASE 0x100000u

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return GUINT64_FROM_LE(v);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++) {
        s = (uint8_t)(s + p[i]);
    }
    return s;
}

static AcpiBlobs build(unsigned n_cpus)
{
    AcpiPcConfig cfg;
    AcpiBlobs b;
    g_autoptr(GError) err = NULL;

    acpi_pc_config_init(&cfg, n_cpus);
    g_assert_true(acpi_build_pc(&cfg, &b, &err));
    g_assert_no_error(err);
    return b;
}

/* Checks a table at @off of the unpatched blob and returns its length. */
static uint32_t check_table(const AcpiBlobs *b, uint64_t off, const char *sig)
{
    g_assert_cmpuint(off + 36, <=, b->tables_len);
    const uint8_t *t = b->tables + off;
    uint32_t len = rd32(t + 4);
    g_assert_cmpmem(t, 4, sig, 4);
    g_assert_cmpuint(len, >=, 36);
    g_assert_cmpuint(off + len, <=, b->tables_len);
    g_assert_cmpuint(sum8(t, len), ==, 0);
    return len;
}

static void test_tables_checksums(void)
{
    static const unsigned counts[] = {1, 2, 4, 64};

    for (unsigned c = 0; c < G_N_ELEMENTS(counts); c++) {
        AcpiBlobs b = build(counts[c]);
        const uint8_t *r = b.rsdp;

        g_assert_cmpuint(b.rsdp_len, ==, 36);
        g_assert_cmpmem(r, 8, "RSD PTR ", 8);
        g_assert_cmpuint(r[15], ==, 2);
        g_assert_cmpuint(rd32(r + 20), ==, 36);
        g_assert_cmpuint(sum8(r, 20), ==, 0);
        g_assert_cmpuint(sum8(r, 36), ==, 0);

        uint32_t rsdt = rd32(r + 16);
        uint64_t xsdt = rd64(r + 24);
        uint32_t rsdt_len = check_table(&b, rsdt, "RSDT");
        uint32_t xsdt_len = check_table(&b, xsdt, "XSDT");
        g_assert_cmpuint((rsdt_len - 36) / 4, ==, 3);
        g_assert_cmpuint((xsdt_len - 36) / 8, ==, 3);

        static const char *const sigs[] = {"FACP", "SSDT", "APIC"};
        for (unsigned i = 0; i < 3; i++) {
            uint32_t e32 = rd32(b.tables + rsdt + 36 + 4 * i);
            uint64_t e64 = rd64(b.tables + xsdt + 36 + 8 * i);
            g_assert_cmpuint(e32, ==, e64);
            uint32_t len = check_table(&b, e64, sigs[i]);
            if (i == 0) {
                const uint8_t *f = b.tables + e64;
                g_assert_cmpuint(len, ==, 244);
                g_assert_cmpuint(f[8], >=, 3);
                uint32_t facs = rd32(f + 36);
                g_assert_cmpuint(facs % 64, ==, 0);
                g_assert_cmpmem(b.tables + facs, 4, "FACS", 4);
                g_assert_cmpuint(rd32(b.tables + facs + 4), ==, 64);
                g_assert_cmpuint(rd32(f + 40), ==, rd64(f + 140));
                check_table(&b, rd32(f + 40), "DSDT");
                /* SCI 9, PM1a at 0x600, PM timer at 0x608, GPE0 at 0xafe0, reset 0xcf9/6. */
                g_assert_cmpuint(f[46] | f[47] << 8, ==, 9);
                g_assert_cmpuint(rd32(f + 48), ==, 0);
                g_assert_cmpuint(rd32(f + 56), ==, 0x600);
                g_assert_cmpuint(rd32(f + 64), ==, 0x604);
                g_assert_cmpuint(rd32(f + 76), ==, 0x608);
                g_assert_cmpuint(f[91], ==, 4);
                g_assert_cmpuint(rd32(f + 80), ==, 0xafe0);
                g_assert_cmpuint(f[108], ==, 0x32);
                g_assert_cmpuint(rd32(f + 112) & (1u << 10), !=, 0);
                g_assert_cmpuint(rd32(f + 112) & (1u << 8), ==, 0);
                g_assert_cmpuint(f[116], ==, 1);
                g_assert_cmpuint(rd64(f + 120), ==, 0xcf9);
                g_assert_cmpuint(f[128], ==, 0x06);
                g_assert_cmpuint(rd64(f + 208 + 4), ==, 0x608);
            }
            if (i == 2) {
                /* Count MADT entries by type. */
                const uint8_t *m = b.tables + e64;
                unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
                bool iso0 = false;
                for (uint32_t p = 44; p < len;) {
                    g_assert_cmpuint(m[p + 1], >=, 2);
                    g_assert_cmpuint(p + m[p + 1], <=, len);
                    switch (m[p]) {
                    case 0:
                        g_assert_cmpuint(m[p + 3], ==, lapics);
                        lapics++;
                        break;
                    case 1:
                        g_assert_cmpuint(m[p + 2], ==, counts[c]);
                        g_assert_cmpuint(rd32(m + p + 4), ==, 0xfec00000u);
                        ioapics++;
                        break;
                    case 2:
                        if (m[p + 3] == 0) {
                            iso0 = rd32(m + p + 4) == 2;
                        } else {
                            g_assert_cmpuint(rd32(m + p + 4), ==, m[p + 3]);
                            g_assert_cmpuint(m[p + 8], ==, 0x0d);
                        }
                        isos++;
                        break;
                    case 4:
                        nmis++;
                        break;
                    default:
                        g_assert_not_reached();
                    }
                    p += m[p + 1];
                }
                g_assert_cmpuint(lapics, ==, counts[c]);
                g_assert_cmpuint(ioapics, ==, 1);
                g_assert_cmpuint(isos, ==, 5);
                g_assert_true(iso0);
                g_assert_cmpuint(nmis, ==, 1);
            }
        }
        acpi_blobs_clear(&b);
        g_assert_null(b.tables);
        acpi_blobs_clear(&b);
    }
}

static void test_bad_config(void)
{
    AcpiPcConfig cfg;
    AcpiBlobs b;
    g_autoptr(GError) err = NULL;

    acpi_pc_config_init(&cfg, 0);
    g_assert_false(acpi_build_pc(&cfg, &b, &err));
    g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_null(b.tables);
    g_clear_error(&err);

    acpi_pc_config_init(&cfg, 2);
    cfg.ioapic_id = 1;
    g_assert_false(acpi_build_pc(&cfg, &b, &err));
    g_clear_error(&err);

    acpi_pc_config_init(&cfg, 2);
    cfg.pci_mmio32_base = cfg.pci_mmio32_end;
    g_assert_false(acpi_build_pc(&cfg, &b, &err));
}

static void test_fw_cfg_install(void)
{
    VmmMachine *m = vmm_machine_new_fake();
    g_autoptr(GError) err = NULL;
    AcpiPcConfig cfg;
    AcpiBlobs b = build(2);
    const char *names[] = {ACPI_FW_CFG_TABLES, ACPI_FW_CFG_RSDP, ACPI_FW_CFG_LOADER};
    const uint8_t *want[] = {b.tables, b.rsdp, b.loader};
    size_t want_len[] = {b.tables_len, b.rsdp_len, b.loader_len};

    VmmDevice *dev = vmm_device_create(m, &fwcfg_type, "fwcfg", NULL, &err);
    g_assert_no_error(err);
    FwCfgState *fw = fw_cfg_from_device(dev);
    acpi_pc_config_init(&cfg, 2);
    g_assert_true(acpi_build_pc_fw_cfg(&cfg, fw, &err));
    g_assert_no_error(err);
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        const uint8_t *data;
        size_t len;
        g_assert_true(fw_cfg_find_file(fw, names[i], NULL, &data, &len));
        g_assert_cmpmem(data, len, want[i], want_len[i]);
    }
    cfg.n_cpus = 0;
    g_assert_false(acpi_build_pc_fw_cfg(&cfg, fw, &err));
    g_assert_nonnull(err);
    acpi_blobs_clear(&b);
    vmm_machine_free(m);
}

/* ---- the loader script, run as firmware would ---- */

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t len;
    bool allocated;
    uint64_t addr;
} LoaderFile;

static LoaderFile *loader_find(LoaderFile *files, const uint8_t *field)
{
    /* Every name must be NUL terminated inside its 56 bytes. */
    g_assert_nonnull(memchr(field, 0, ACPI_LOADER_FILE_LEN));
    for (unsigned i = 0; i < 2; i++) {
        if (strcmp((const char *)field, files[i].name) == 0) {
            return &files[i];
        }
    }
    g_assert_not_reached();
}

/* Applies the script to @mem; returns the RSDP's address. Asserts every range is valid. */
static uint64_t loader_apply(const AcpiBlobs *b, uint8_t *mem)
{
    LoaderFile files[2] = {
        {ACPI_FW_CFG_TABLES, b->tables, b->tables_len, false, 0},
        {ACPI_FW_CFG_RSDP, b->rsdp, b->rsdp_len, false, 0},
    };
    uint64_t fseg_next = FSEG_BASE, high_top = MEM_SIZE;
    unsigned allocs = 0, pointers = 0, checksums = 0;
    uint64_t targets[64];

    g_assert_cmpuint(b->loader_len % ACPI_LOADER_ENTRY_SIZE, ==, 0);
    for (size_t off = 0; off < b->loader_len; off += ACPI_LOADER_ENTRY_SIZE) {
        const uint8_t *e = b->loader + off;
        switch (rd32(e)) {
        case ACPI_LOADER_ALLOCATE: {
            LoaderFile *f = loader_find(files, e + 4);
            uint32_t align = rd32(e + 60);
            g_assert_false(f->allocated);
            g_assert_cmpuint(align, >, 0);
            g_assert_cmpuint(align & (align - 1), ==, 0);
            if (e[64] == ACPI_LOADER_ZONE_FSEG) {
                f->addr = (fseg_next + align - 1) & ~(uint64_t)(align - 1);
                fseg_next = f->addr + f->len;
                g_assert_cmpuint(fseg_next, <=, FSEG_END);
            } else {
                g_assert_cmpuint(e[64], ==, ACPI_LOADER_ZONE_HIGH);
                f->addr = (high_top - f->len) & ~(uint64_t)(align - 1);
                high_top = f->addr;
                g_assert_cmpuint(f->addr, >=, HIGH_BASE);
            }
            memcpy(mem + f->addr, f->data, f->len);
            f->allocated = true;
            allocs++;
            break;
        }
        case ACPI_LOADER_ADD_POINTER: {
            LoaderFile *dst = loader_find(files, e + 4);
            LoaderFile *src = loader_find(files, e + 60);
            uint32_t poff = rd32(e + 116);
            uint8_t size = e[120];
            g_assert_true(dst->allocated && src->allocated);
            g_assert_true(size == 1 || size == 2 || size == 4 || size == 8);
            g_assert_cmpuint((uint64_t)poff + size, <=, dst->len);
            uint64_t v = 0;
            memcpy(&v, mem + dst->addr + poff, size);
            v = GUINT64_FROM_LE(v);
            /* OVMF insists the pointer lands inside the source blob. */
            g_assert_cmpuint(v, <, src->len);
            g_assert_cmpuint(pointers, <, G_N_ELEMENTS(targets));
            targets[pointers] = v + src->addr;
            v = GUINT64_TO_LE(v + src->addr);
            memcpy(mem + dst->addr + poff, &v, size);
            pointers++;
            break;
        }
        case ACPI_LOADER_ADD_CHECKSUM: {
            LoaderFile *f = loader_find(files, e + 4);
            uint32_t result = rd32(e + 60), start = rd32(e + 64), len = rd32(e + 68);
            g_assert_true(f->allocated);
            g_assert_cmpuint(result, <, f->len);
            g_assert_cmpuint((uint64_t)start + len, <=, f->len);
            g_assert_cmpuint(result, >=, start);
            g_assert_cmpuint(result, <, (uint64_t)start + len);
            uint8_t *p = mem + f->addr;
            p[result] = 0;
            p[result] = (uint8_t)-sum8(p + start, len);
            checksums++;
            break;
        }
        default:
            g_assert_not_reached();
        }
    }
    g_assert_cmpuint(allocs, ==, 2);
    g_assert_cmpuint(pointers, >, 0);
    g_assert_cmpuint(checksums, >, 0);

    /*
     * OVMF installs whatever an ADD_POINTER points at, once the script has run, if it is
     * a FACS or a table whose checksum is valid; RSDT and XSDT it rebuilds itself. So every
     * pointer target must be such a table, and every table must be some pointer's target.
     */
    unsigned seen_tables = 0;
    for (uint64_t off = 0; off + 8 <= b->tables_len;) {
        const uint8_t *t = mem + files[0].addr + off;
        if (t[0] == 0) {
            off = (off + 8) & ~(uint64_t)7; /* padding up to the next 8-byte aligned table */
            continue;
        }
        uint32_t len = rd32(t + 4);
        g_assert_cmpuint(len, >=, 36);
        bool found = false;
        for (unsigned i = 0; i < pointers; i++) {
            found = found || targets[i] == files[0].addr + off;
        }
        g_assert_true(found);
        seen_tables++;
        off += len;
    }
    g_assert_cmpuint(seen_tables, ==, 7); /* FACS DSDT SSDT FACP APIC RSDT XSDT */
    for (unsigned i = 0; i < pointers; i++) {
        const uint8_t *t = mem + targets[i];
        g_assert_cmpuint(targets[i] + 8, <=, MEM_SIZE);
        if (memcmp(t, "FACS", 4) != 0) {
            g_assert_cmpuint(targets[i] + rd32(t + 4), <=, MEM_SIZE);
            g_assert_cmpuint(sum8(t, rd32(t + 4)), ==, 0);
        }
    }
    return files[1].addr;
}

static uint32_t check_mem_table(const uint8_t *mem, uint64_t addr, const char *sig)
{
    g_assert_cmpuint(addr + 36, <=, MEM_SIZE);
    uint32_t len = rd32(mem + addr + 4);
    g_assert_cmpmem(mem + addr, 4, sig, 4);
    g_assert_cmpuint(addr + len, <=, MEM_SIZE);
    g_assert_cmpuint(sum8(mem + addr, len), ==, 0);
    return len;
}

static void test_loader_apply(void)
{
    for (unsigned n = 1; n <= 4; n *= 2) {
        AcpiBlobs b = build(n);
        g_autofree uint8_t *mem = g_malloc0(MEM_SIZE);
        loader_apply(&b, mem);

        /* Find the RSDP the way an OS does: scan the F-segment on 16-byte boundaries. */
        uint64_t rsdp = 0;
        for (uint64_t a = FSEG_BASE; a < FSEG_END; a += 16) {
            if (memcmp(mem + a, "RSD PTR ", 8) == 0) {
                rsdp = a;
                break;
            }
        }
        g_assert_cmpuint(rsdp, !=, 0);
        g_assert_cmpuint(sum8(mem + rsdp, 20), ==, 0);
        g_assert_cmpuint(sum8(mem + rsdp, 36), ==, 0);

        uint64_t xsdt = rd64(mem + rsdp + 24);
        uint32_t rsdt = rd32(mem + rsdp + 16);
        uint32_t xlen = check_mem_table(mem, xsdt, "XSDT");
        check_mem_table(mem, rsdt, "RSDT");
        bool seen_fadt = false, seen_madt = false, seen_ssdt = false;
        for (uint32_t i = 0; i < (xlen - 36) / 8; i++) {
            uint64_t t = rd64(mem + xsdt + 36 + 8 * i);
            g_assert_cmpuint(t, ==, rd32(mem + rsdt + 36 + 4 * i));
            g_assert_cmpuint(t, >=, HIGH_BASE);
            if (memcmp(mem + t, "FACP", 4) == 0) {
                check_mem_table(mem, t, "FACP");
                uint64_t dsdt = rd64(mem + t + 140);
                g_assert_cmpuint(dsdt, ==, rd32(mem + t + 40));
                check_mem_table(mem, dsdt, "DSDT");
                uint32_t facs = rd32(mem + t + 36);
                g_assert_cmpuint(facs % 64, ==, 0);
                g_assert_cmpmem(mem + facs, 4, "FACS", 4);
                seen_fadt = true;
            } else if (memcmp(mem + t, "APIC", 4) == 0) {
                check_mem_table(mem, t, "APIC");
                seen_madt = true;
            } else {
                check_mem_table(mem, t, "SSDT");
                seen_ssdt = true;
            }
        }
        g_assert_true(seen_fadt && seen_madt && seen_ssdt);
        acpi_blobs_clear(&b);
    }
}

/* ---- iasl -d over every table ---- */

static unsigned count_occurrences(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static char *disassemble(const char *iasl, const char *dir, const char *name, const uint8_t *t)
{
    g_autofree char *dat = g_build_filename(dir, name, NULL);
    g_autofree char *base = g_strndup(dat, strlen(dat) - 4);
    g_autofree char *dsl = g_strconcat(base, ".dsl", NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    char *contents = NULL;
    int status = 0;

    g_assert_true(g_file_set_contents(dat, (const char *)t, rd32(t + 4), &err));
    g_assert_no_error(err);
    const char *argv[] = {iasl, "-d", dat, NULL};
    g_assert_true(g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errout,
                               &status, &err));
    g_assert_no_error(err);
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_test_message("iasl -d %s failed:\n%s\n%s", name, out, errout);
        g_assert_not_reached();
    }
    g_assert_true(g_file_get_contents(dsl, &contents, NULL, &err));
    g_assert_no_error(err);
    g_unlink(dat);
    g_unlink(dsl);
    return contents;
}

static void test_iasl_disassembly(void)
{
    /* iasl is a build dependency, so its absence is a failure, not a skip. */
    g_autofree char *iasl = g_find_program_in_path("iasl");
    g_assert_nonnull(iasl);
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("boxwood-acpi-XXXXXX", &err);
    g_assert_no_error(err);

    static const unsigned counts[] = {1, 2, 4};
    for (unsigned c = 0; c < G_N_ELEMENTS(counts); c++) {
        unsigned n = counts[c];
        AcpiBlobs b = build(n);
        g_autofree uint8_t *mem = g_malloc0(MEM_SIZE);
        uint64_t rsdp = loader_apply(&b, mem);
        uint64_t xsdt = rd64(mem + rsdp + 24);
        uint32_t xlen = rd32(mem + xsdt + 4);

        g_autofree char *xdsl = disassemble(iasl, dir, "xsdt.dat", mem + xsdt);
        g_assert_nonnull(strstr(xdsl, "\"XSDT\""));
        for (uint32_t i = 0; i < (xlen - 36) / 8; i++) {
            const uint8_t *t = mem + rd64(mem + xsdt + 36 + 8 * i);
            if (memcmp(t, "FACP", 4) == 0) {
                g_autofree char *fdsl = disassemble(iasl, dir, "facp.dat", t);
                g_assert_nonnull(strstr(fdsl, "PM Timer Block Address : 00000608"));
                g_assert_nonnull(strstr(fdsl, "Value to cause reset : 06"));
                g_assert_nonnull(strstr(fdsl, "RTC Century Index : 32"));
                const uint8_t *dsdt = mem + rd64(t + 140);
                g_autofree char *ddsl = disassemble(iasl, dir, "dsdt.dat", dsdt);
                static const char *const want[] = {
                    "_S5_", "PNP0A03", "PNP0303", "PNP0F13", "PNP0B00",    "PNP0501",  "LNKA",
                    "LNKD", "LNKS",    "_PRT",    "_PIC",    "PCI_Config", "QEMU0002",
                };
                for (unsigned k = 0; k < G_N_ELEMENTS(want); k++) {
                    if (strstr(ddsl, want[k]) == NULL) {
                        g_test_message("DSDT lacks %s", want[k]);
                        g_assert_not_reached();
                    }
                }
                g_autofree char *sdsl = disassemble(iasl, dir, "facs.dat", mem + rd32(t + 36));
                g_assert_nonnull(strstr(sdsl, "\"FACS\""));
            } else if (memcmp(t, "APIC", 4) == 0) {
                g_autofree char *mdsl = disassemble(iasl, dir, "apic.dat", t);
                g_assert_cmpuint(count_occurrences(mdsl, "[Processor Local APIC]"), ==, n);
                g_assert_cmpuint(count_occurrences(mdsl, "[I/O APIC]"), ==, 1);
                g_assert_cmpuint(count_occurrences(mdsl, "[Interrupt Source Override]"), ==, 5);
                g_assert_cmpuint(count_occurrences(mdsl, "[Local APIC NMI]"), ==, 1);
            } else {
                g_autofree char *sdsl = disassemble(iasl, dir, "ssdt.dat", t);
                g_assert_cmpuint(count_occurrences(sdsl, "Processor (C"), ==, n);
                g_assert_nonnull(strstr(sdsl, "W32B"));
            }
        }
        acpi_blobs_clear(&b);
    }
    g_rmdir(dir);
}

/* ---- running the AML with acpiexec (same acpica-tools package as iasl) ---- */

/* Probes compiled next to the tables: each returns something acpiexec prints plainly. */
static const char probe_asl[] =
    "DefinitionBlock (\"\", \"SSDT\", 2, \"BXTEST\", \"PROBE   \", 1)\n"
    "{\n"
    "    External (\\_SB.PCI0._PRT, MethodObj)\n"
    "    External (\\_SB.LNKB, DeviceObj)\n"
    "    External (\\_SB.LNKB._SRS, MethodObj)\n"
    "    External (\\_SB.LNKB._CRS, MethodObj)\n"
    "    External (\\_SB.LNKB._DIS, MethodObj)\n"
    "    External (\\_SB.LNKB._STA, MethodObj)\n"
    "    Method (TPRT, 1) { Local0 = \\_SB.PCI0._PRT () Return (DerefOf (Local0 [Arg0])) }\n"
    "    Method (TSRS, 0)\n"
    "    {\n"
    "        \\_SB.LNKB._SRS (ResourceTemplate () {\n"
    "            Interrupt (ResourceConsumer, Level, ActiveHigh, Shared,,,) { 11 } })\n"
    "        Local0 = \\_SB.LNKB._CRS ()\n"
    "        Return ((0x1000 | DerefOf (Local0 [5])))\n"
    "    }\n"
    "    Method (TDIS, 0) { \\_SB.LNKB._DIS () Return ((0x2000 | \\_SB.LNKB._STA ())) }\n"
    "}\n";

static char *run_tool(const char *dir, const char *const *argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *errout = NULL;
    char *out = NULL;
    int status = 0;

    g_assert_true(g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errout,
                               &status, &err));
    g_assert_no_error(err);
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_test_message("%s failed:\n%s\n%s", argv[0], out, errout);
        g_assert_not_reached();
    }
    return out;
}

static void write_table(const char *dir, const char *name, const uint8_t *t)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) err = NULL;
    g_assert_true(g_file_set_contents(path, (const char *)t, rd32(t + 4), &err));
    g_assert_no_error(err);
}

static void test_aml_evaluate(void)
{
    g_autofree char *iasl = g_find_program_in_path("iasl");
    g_autofree char *acpiexec = g_find_program_in_path("acpiexec");
    g_assert_nonnull(iasl);
    g_assert_nonnull(acpiexec);
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("boxwood-aml-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *probe = g_build_filename(dir, "probe.asl", NULL);
    g_assert_true(g_file_set_contents(probe, probe_asl, -1, &err));
    const char *iasl_argv[] = {iasl, "probe.asl", NULL};
    g_free(run_tool(dir, iasl_argv));

    for (int with64 = 0; with64 < 2; with64++) {
        AcpiPcConfig cfg;
        AcpiBlobs b;
        acpi_pc_config_init(&cfg, 2);
        if (with64) {
            cfg.pci_mmio64_base = UINT64_C(0x800000000);
            cfg.pci_mmio64_end = UINT64_C(0xfffffffff);
        }
        g_assert_true(acpi_build_pc(&cfg, &b, &err));
        g_autofree uint8_t *mem = g_malloc0(MEM_SIZE);
        uint64_t rsdp = loader_apply(&b, mem);
        uint64_t xsdt = rd64(mem + rsdp + 24);
        const uint8_t *fadt = mem + rd64(mem + xsdt + 36);
        const uint8_t *ssdt = mem + rd64(mem + xsdt + 44);
        g_assert_cmpmem(ssdt, 4, "SSDT", 4);
        write_table(dir, "dsdt.dat", mem + rd64(fadt + 140));
        write_table(dir, "ssdt.dat", ssdt);

        const char *cmds = "evaluate \\_SB.PCI0._CRS; evaluate \\TPRT 0; evaluate \\TPRT 4; "
                           "evaluate \\TPRT 5; evaluate \\TPRT 8; evaluate \\TPRT 11; "
                           "evaluate \\TPRT 127; evaluate \\TSRS; evaluate \\TDIS";
        const char *exec_argv[] = {acpiexec, "-b", cmds, "dsdt.dat", "ssdt.dat", "probe.aml", NULL};
        g_autofree char *out = run_tool(dir, exec_argv);
        g_auto(GStrv) parts = g_strsplit(out, "Evaluating ", -1);
        /* parts[0] is the banner, then one part per command in order. */
        g_assert_cmpuint(g_strv_length(parts), ==, 10);
        for (unsigned i = 1; i < 10; i++) {
            if (strstr(parts[i], "returned object") == NULL) {
                g_test_message("evaluation failed: %s", parts[i]);
                g_assert_not_reached();
            }
        }
        /* 32-bit window only: 110 bytes; plus a QWordMemory descriptor (46) with 64-bit. */
        g_assert_nonnull(strstr(parts[1], with64 ? "Length 9C" : "Length 6E"));
        /* (slot + pin - 1) mod 4 picks LNKA..D; 00:01 INTA is the SCI's LNKS. */
        g_assert_nonnull(strstr(parts[2], "Name LNKD"));
        g_assert_nonnull(strstr(parts[3], "Name LNKS"));
        g_assert_nonnull(strstr(parts[4], "Name LNKB"));
        g_assert_nonnull(strstr(parts[5], "Name LNKB"));
        g_assert_nonnull(strstr(parts[6], "Name LNKA"));
        g_assert_nonnull(strstr(parts[7], "Name LNKB"));
        /* _SRS writes the PIRQ register that _CRS reads back; _DIS disables the link. */
        g_assert_nonnull(strstr(parts[8], "[Integer] = 000000000000100B"));
        g_assert_nonnull(strstr(parts[9], "[Integer] = 0000000000002009"));
        acpi_blobs_clear(&b);
    }
    static const char *const junk[] = {"probe.asl", "probe.aml", "dsdt.dat", "ssdt.dat"};
    for (unsigned i = 0; i < G_N_ELEMENTS(junk); i++) {
        g_autofree char *path = g_build_filename(dir, junk[i], NULL);
        g_unlink(path);
    }
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi/tables/checksums", test_tables_checksums);
    g_test_add_func("/acpi/tables/bad-config", test_bad_config);
    g_test_add_func("/acpi/loader/apply", test_loader_apply);
    g_test_add_func("/acpi/fw-cfg/install", test_fw_cfg_install);
    g_test_add_func("/acpi/iasl/disassemble", test_iasl_disassembly);
    g_test_add_func("/acpi/aml/evaluate", test_aml_evaluate);
    return g_test_run();
}
