/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "acpi"
#include <gio/gio.h>
#include <string.h>

#include "devices/acpi/acpi-build.h"
#include "devices/firmware/fw-cfg.h"

#define ACPI_OEM_ID "BOXWD "
#define ACPI_OEM_TABLE_ID "BXWDPC  "
#define ACPI_CREATOR_ID "BXWD"
#define ACPI_HEADER_SIZE 36

#define FADT_REVISION 3
#define FADT_SIZE 244
#define FACS_SIZE 64

/* FADT field offsets (ACPI 2.0 layout). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_X_DSDT 140

/* FADT flags. */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_RTC_S4 (1u << 7)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_USE_PLATFORM_CLOCK (1u << 15)
/* IA-PC boot architecture flags: ISA devices, 8042. */
#define FADT_BOOT_LEGACY_DEVICES (1u << 0)
#define FADT_BOOT_8042 (1u << 1)

#define GAS_SYSTEM_IO 1
#define PIIX_RESET_PORT 0xcf9
/* Reset control register: bit 2 starts the reset, bit 1 makes it a hard one. */
#define PIIX_RESET_VALUE 0x06
#define RTC_CENTURY_INDEX 0x32

#define LAPIC_BASE 0xfee00000u
#define IOAPIC_BASE 0xfec00000u
#define MADT_PCAT_COMPAT 1u
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_TYPE_ISO 2
#define MADT_TYPE_LAPIC_NMI 4
/* MPS INTI flags: active high (01), level triggered (11 << 2). */
#define MPS_INTI_LEVEL_HIGH 0x000d

/* AML opcodes used by the SSDT generator. */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_EXT 0x5b
#define AML_PROCESSOR 0x83
#define AML_ROOT '\\'

/* ---- byte helpers ---- */

static void put_bytes(GByteArray *b, const void *p, size_t n)
{
    g_byte_array_append(b, p, (guint)n);
}

static void put_u8(GByteArray *b, uint8_t v)
{
    put_bytes(b, &v, 1);
}

static void put_u16(GByteArray *b, uint16_t v)
{
    uint16_t le = GUINT16_TO_LE(v);
    put_bytes(b, &le, 2);
}

static void put_u32(GByteArray *b, uint32_t v)
{
    uint32_t le = GUINT32_TO_LE(v);
    put_bytes(b, &le, 4);
}

static void put_u64(GByteArray *b, uint64_t v)
{
    uint64_t le = GUINT64_TO_LE(v);
    put_bytes(b, &le, 8);
}

static void put_zeros(GByteArray *b, size_t n)
{
    static const uint8_t zeros[64];
    while (n > 0) {
        size_t k = MIN(n, sizeof(zeros));
        put_bytes(b, zeros, k);
        n -= k;
    }
}

static void align_to(GByteArray *b, size_t align)
{
    put_zeros(b, (align - b->len % align) % align);
}

static void set_u32(GByteArray *b, size_t off, uint32_t v)
{
    uint32_t le = GUINT32_TO_LE(v);
    memcpy(b->data + off, &le, 4);
}

static uint8_t checksum8(const uint8_t *p, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum = (uint8_t)(sum + p[i]);
    }
    return (uint8_t)-sum;
}

/* Generic address structure (12 bytes), access width "legacy" like real chipsets. */
static void put_gas_io(GByteArray *b, uint8_t bit_width, uint64_t addr)
{
    put_u8(b, addr ? GAS_SYSTEM_IO : 0);
    put_u8(b, addr ? bit_width : 0);
    put_u8(b, 0);
    put_u8(b, 0);
    put_u64(b, addr);
}

/* ---- tables ---- */

/* Starts a table at an aligned offset with a header whose length/checksum come later. */
static size_t table_begin(GByteArray *b, const char sig[4], uint8_t rev, size_t align)
{
    align_to(b, align);
    size_t off = b->len;
    put_bytes(b, sig, 4);
    put_u32(b, 0); /* length */
    put_u8(b, rev);
    put_u8(b, 0); /* checksum */
    put_bytes(b, ACPI_OEM_ID, 6);
    put_bytes(b, ACPI_OEM_TABLE_ID, 8);
    put_u32(b, 1); /* OEM revision */
    put_bytes(b, ACPI_CREATOR_ID, 4);
    put_u32(b, 1); /* creator revision */
    return off;
}

static void table_end(GByteArray *b, size_t off)
{
    set_u32(b, off + 4, (uint32_t)(b->len - off));
    b->data[off + 9] = 0;
    b->data[off + 9] = checksum8(b->data + off, b->len - off);
}

typedef struct {
    GByteArray *tables; /* Owned */
    GByteArray *rsdp;   /* Owned */
    GByteArray *loader; /* Owned */
} Builder;

/* ---- loader script ---- */

static void loader_file(GByteArray *e, size_t off, const char *name)
{
    size_t n = strlen(name);
    g_assert(n < ACPI_LOADER_FILE_LEN);
    memcpy(e->data + off, name, n);
}

static GByteArray *loader_entry(uint32_t command)
{
    GByteArray *e = g_byte_array_sized_new(ACPI_LOADER_ENTRY_SIZE);
    put_u32(e, command);
    put_zeros(e, ACPI_LOADER_ENTRY_SIZE - 4);
    return e;
}

static void loader_commit(Builder *bld, GByteArray *e)
{
    put_bytes(bld->loader, e->data, e->len);
    g_byte_array_unref(e);
}

static void loader_allocate(Builder *bld, const char *file, uint32_t align, uint8_t zone)
{
    GByteArray *e = loader_entry(ACPI_LOADER_ALLOCATE);
    loader_file(e, 4, file);
    set_u32(e, 60, align);
    e->data[64] = zone;
    loader_commit(bld, e);
}

/* The @size-byte field at @dest + @offset holds an offset into @src; add @src's address. */
static void loader_add_pointer(Builder *bld, const char *dest, const char *src, uint32_t offset,
                               uint8_t size)
{
    GByteArray *e = loader_entry(ACPI_LOADER_ADD_POINTER);
    loader_file(e, 4, dest);
    loader_file(e, 60, src);
    set_u32(e, 116, offset);
    e->data[120] = size;
    loader_commit(bld, e);
}

static void loader_add_checksum(Builder *bld, const char *file, uint32_t result, uint32_t start,
                                uint32_t len)
{
    GByteArray *e = loader_entry(ACPI_LOADER_ADD_CHECKSUM);
    loader_file(e, 4, file);
    set_u32(e, 60, result);
    set_u32(e, 64, start);
    set_u32(e, 68, len);
    loader_commit(bld, e);
}

/* Recompute a table's checksum once the loader has patched its pointers. */
static void loader_table_checksum(Builder *bld, size_t off)
{
    uint32_t len;
    memcpy(&len, bld->tables->data + off + 4, 4);
    loader_add_checksum(bld, ACPI_FW_CFG_TABLES, (uint32_t)off + 9, (uint32_t)off,
                        GUINT32_FROM_LE(len));
}

/* ---- AML for the SSDT ---- */

/* Emits @op, the package length of @body, then @body. */
static void aml_package(GByteArray *out, const uint8_t *op, size_t op_len, GByteArray *body)
{
    size_t len = body->len;
    uint8_t enc[4];
    size_t n;

    /* PkgLength counts its own bytes: 1 byte up to 63, then 4 bits + 8 per extra byte. */
    if (len + 1 < 0x40) {
        n = 1;
        enc[0] = (uint8_t)(len + 1);
    } else {
        size_t total;
        n = (len + 2 < (1u << 12)) ? 2 : (len + 3 < (1u << 20)) ? 3 : 4;
        total = len + n;
        g_assert(total < (1u << 28));
        enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
        for (size_t i = 1; i < n; i++) {
            enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
        }
    }
    put_bytes(out, op, op_len);
    put_bytes(out, enc, n);
    put_bytes(out, body->data, body->len);
}

static void aml_integer(GByteArray *b, uint64_t v)
{
    if (v == 0) {
        put_u8(b, AML_ZERO);
    } else if (v == 1) {
        put_u8(b, AML_ONE);
    } else if (v <= UINT8_MAX) {
        put_u8(b, AML_BYTE);
        put_u8(b, (uint8_t)v);
    } else if (v <= UINT16_MAX) {
        put_u8(b, AML_WORD);
        put_u16(b, (uint16_t)v);
    } else if (v <= UINT32_MAX) {
        put_u8(b, AML_DWORD);
        put_u32(b, (uint32_t)v);
    } else {
        put_u8(b, AML_QWORD);
        put_u64(b, v);
    }
}

/* Name (NAME, Integer) */
static void aml_name_int(GByteArray *b, const char seg[4], uint64_t v)
{
    put_u8(b, AML_NAME);
    put_bytes(b, seg, 4);
    aml_integer(b, v);
}

/* Processor (Cxxx, id, 0, 0) {}: the object form every OS since Windows XP understands. */
static void aml_processor(GByteArray *b, unsigned id)
{
    static const uint8_t op[2] = {AML_EXT, AML_PROCESSOR};
    g_autoptr(GByteArray) body = g_byte_array_new();
    char seg[5];

    g_snprintf(seg, sizeof(seg), "C%03X", id);
    put_bytes(body, seg, 4);
    put_u8(body, (uint8_t)id); /* ProcID: the MADT's ACPI processor UID */
    put_u32(body, 0);          /* no P_BLK: no processor control registers */
    put_u8(body, 0);
    aml_package(b, op, sizeof(op), body);
}

static size_t build_ssdt(GByteArray *t, const AcpiPcConfig *cfg)
{
    static const uint8_t scope_op = AML_SCOPE;
    static const uint8_t sb_path[5] = {AML_ROOT, '_', 'S', 'B', '_'};
    g_autoptr(GByteArray) body = g_byte_array_new();
    bool have64 = cfg->pci_mmio64_end > cfg->pci_mmio64_base;
    size_t off = table_begin(t, "SSDT", 2, 8);

    put_bytes(body, sb_path, sizeof(sb_path));
    /* The PCI MMIO windows that \_SB.PCI0._CRS reports (see dsdt.asl). */
    aml_name_int(body, "W32B", cfg->pci_mmio32_base);
    aml_name_int(body, "W32E", cfg->pci_mmio32_end);
    aml_name_int(body, "W64B", have64 ? cfg->pci_mmio64_base : 0);
    aml_name_int(body, "W64E", have64 ? cfg->pci_mmio64_end : 0);
    for (unsigned i = 0; i < cfg->n_cpus; i++) {
        aml_processor(body, i);
    }
    aml_package(t, &scope_op, 1, body);
    table_end(t, off);
    return off;
}

static size_t build_facs(GByteArray *t)
{
    align_to(t, 64);
    size_t off = t->len;
    put_bytes(t, "FACS", 4);
    put_u32(t, FACS_SIZE);
    /* hardware signature, waking vector, global lock, flags, 64-bit waking vector */
    put_zeros(t, 24);
    put_u8(t, 1); /* version: ACPI 2.0 layout */
    put_zeros(t, FACS_SIZE - 33);
    g_assert(t->len - off == FACS_SIZE);
    return off;
}

static size_t build_fadt(GByteArray *t, const AcpiPcConfig *cfg, size_t facs, size_t dsdt)
{
    size_t off = table_begin(t, "FACP", FADT_REVISION, 8);

    put_u32(t, (uint32_t)facs); /* FIRMWARE_CTRL, patched by the loader */
    put_u32(t, (uint32_t)dsdt); /* DSDT, patched by the loader */
    put_u8(t, 0);               /* reserved */
    put_u8(t, 0);               /* preferred PM profile: unspecified */
    put_u16(t, cfg->sci_irq);
    put_u32(t, 0);                 /* SMI_CMD 0: ACPI is always enabled, SCI_EN reads 1 */
    put_u8(t, 0);                  /* ACPI_ENABLE */
    put_u8(t, 0);                  /* ACPI_DISABLE */
    put_u8(t, 0);                  /* S4BIOS_REQ */
    put_u8(t, 0);                  /* PSTATE_CNT */
    put_u32(t, cfg->pm_base);      /* PM1a_EVT_BLK */
    put_u32(t, 0);                 /* PM1b_EVT_BLK */
    put_u32(t, cfg->pm_base + 4u); /* PM1a_CNT_BLK */
    put_u32(t, 0);                 /* PM1b_CNT_BLK */
    put_u32(t, 0);                 /* PM2_CNT_BLK */
    put_u32(t, cfg->pm_base + 8u); /* PM_TMR_BLK */
    put_u32(t, cfg->gpe0_base);    /* GPE0_BLK */
    put_u32(t, 0);                 /* GPE1_BLK */
    put_u8(t, 4);                  /* PM1_EVT_LEN */
    put_u8(t, 2);                  /* PM1_CNT_LEN */
    put_u8(t, 0);                  /* PM2_CNT_LEN */
    put_u8(t, 4);                  /* PM_TMR_LEN */
    put_u8(t, 4);                  /* GPE0_BLK_LEN */
    put_u8(t, 0);                  /* GPE1_BLK_LEN */
    put_u8(t, 0);                  /* GPE1_BASE */
    put_u8(t, 0);                  /* CST_CNT */
    put_u16(t, 0x0fff);            /* P_LVL2_LAT > 100: no C2 */
    put_u16(t, 0x0fff);            /* P_LVL3_LAT > 1000: no C3 */
    put_u16(t, 0);                 /* FLUSH_SIZE */
    put_u16(t, 0);                 /* FLUSH_STRIDE */
    put_u8(t, 0);                  /* DUTY_OFFSET */
    put_u8(t, 0);                  /* DUTY_WIDTH */
    put_u8(t, 0);                  /* DAY_ALRM */
    put_u8(t, 0);                  /* MON_ALRM */
    put_u8(t, RTC_CENTURY_INDEX);
    put_u16(t, FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042);
    put_u8(t, 0); /* reserved */
    /* TMR_VAL_EXT stays clear: the PM timer is 24 bits. */
    put_u32(t, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RTC_S4 |
                   FADT_F_RESET_REG_SUP | FADT_F_USE_PLATFORM_CLOCK);
    put_gas_io(t, 8, PIIX_RESET_PORT);
    put_u8(t, PIIX_RESET_VALUE);
    put_zeros(t, 3);
    put_u64(t, 0);                        /* X_FIRMWARE_CTRL: the 32-bit FIRMWARE_CTRL is used */
    put_u64(t, dsdt);                     /* X_DSDT, patched by the loader */
    put_gas_io(t, 32, cfg->pm_base);      /* X_PM1a_EVT_BLK */
    put_gas_io(t, 0, 0);                  /* X_PM1b_EVT_BLK */
    put_gas_io(t, 16, cfg->pm_base + 4u); /* X_PM1a_CNT_BLK */
    put_gas_io(t, 0, 0);                  /* X_PM1b_CNT_BLK */
    put_gas_io(t, 0, 0);                  /* X_PM2_CNT_BLK */
    put_gas_io(t, 32, cfg->pm_base + 8u); /* X_PM_TMR_BLK */
    put_gas_io(t, 32, cfg->gpe0_base);    /* X_GPE0_BLK */
    put_gas_io(t, 0, 0);                  /* X_GPE1_BLK */
    g_assert(t->len - off == FADT_SIZE);
    table_end(t, off);
    return off;
}

static void put_iso(GByteArray *t, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    put_u8(t, MADT_TYPE_ISO);
    put_u8(t, 10);
    put_u8(t, 0); /* bus: ISA */
    put_u8(t, irq);
    put_u32(t, gsi);
    put_u16(t, flags);
}

static size_t build_madt(GByteArray *t, const AcpiPcConfig *cfg)
{
    /* PCI link IRQs (and the SCI) are level triggered, active high, as QEMU declares them. */
    uint8_t level_irqs[] = {5, 9, 10, 11, cfg->sci_irq};
    size_t off = table_begin(t, "APIC", 1, 8);

    put_u32(t, LAPIC_BASE);
    put_u32(t, MADT_PCAT_COMPAT);
    for (unsigned i = 0; i < cfg->n_cpus; i++) {
        put_u8(t, MADT_TYPE_LAPIC);
        put_u8(t, 8);
        put_u8(t, (uint8_t)i); /* ACPI processor UID (the SSDT's ProcID) */
        put_u8(t, (uint8_t)i); /* APIC id */
        put_u32(t, 1);         /* enabled */
    }
    put_u8(t, MADT_TYPE_IOAPIC);
    put_u8(t, 12);
    put_u8(t, cfg->ioapic_id);
    put_u8(t, 0);
    put_u32(t, IOAPIC_BASE);
    put_u32(t, 0); /* GSI base */
    if (cfg->irq0_override) {
        /* The PIT is wired to IOAPIC pin 2; bus defaults (edge, active high). */
        put_iso(t, 0, 2, 0);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(level_irqs); i++) {
        bool dup = false;
        for (unsigned j = 0; j < i; j++) {
            dup = dup || level_irqs[j] == level_irqs[i];
        }
        if (!dup) {
            put_iso(t, level_irqs[i], level_irqs[i], MPS_INTI_LEVEL_HIGH);
        }
    }
    /* LINT1 of every processor is the NMI input. */
    put_u8(t, MADT_TYPE_LAPIC_NMI);
    put_u8(t, 6);
    put_u8(t, 0xff);
    put_u16(t, 0);
    put_u8(t, 1);
    table_end(t, off);
    return off;
}

static bool config_valid(const AcpiPcConfig *cfg, GError **error)
{
    const char *why = NULL;

    if (cfg->n_cpus < 1 || cfg->n_cpus > ACPI_PC_MAX_CPUS) {
        why = "CPU count out of range";
    } else if (cfg->ioapic_id < cfg->n_cpus || cfg->ioapic_id == 0xff) {
        why = "IOAPIC id collides with an APIC id";
    } else if (cfg->pm_base == 0 || cfg->pm_base > 0xffff - 0x40 || (cfg->pm_base & 0x3f) != 0) {
        why = "PM base must be a 64-byte aligned I/O port";
    } else if (cfg->gpe0_base == 0 || cfg->gpe0_base > 0xffff - 4) {
        why = "GPE0 base out of range";
    } else if (cfg->sci_irq != 9) {
        why = "the SCI must be IRQ 9 (the DSDT's LNKS)";
    } else if (cfg->pci_mmio32_base >= cfg->pci_mmio32_end) {
        why = "empty 32-bit PCI window";
    } else if (cfg->pci_mmio64_end > cfg->pci_mmio64_base &&
               cfg->pci_mmio64_base < (UINT64_C(1) << 32)) {
        why = "64-bit PCI window below 4 GiB";
    }
    if (why != NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "ACPI tables: %s", why);
        return false;
    }
    return true;
}

void acpi_pc_config_init(AcpiPcConfig *cfg, unsigned n_cpus)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->n_cpus = n_cpus;
    cfg->pm_base = 0x600;
    cfg->gpe0_base = 0xafe0;
    cfg->sci_irq = 9;
    cfg->irq0_override = true;
    cfg->ioapic_id = (uint8_t)MIN(n_cpus, 0xfeu);
    cfg->pci_mmio32_base = 0xe0000000u;
    cfg->pci_mmio32_end = 0xfebfffffu;
}

bool acpi_build_pc(const AcpiPcConfig *cfg, AcpiBlobs *out, GError **error)
{
    Builder bld;
    size_t dsdt_len;
    const uint8_t *dsdt_aml = acpi_dsdt_aml(&dsdt_len);

    memset(out, 0, sizeof(*out));
    if (!config_valid(cfg, error)) {
        return false;
    }
    bld.tables = g_byte_array_new();
    bld.rsdp = g_byte_array_new();
    bld.loader = g_byte_array_new();
    GByteArray *t = bld.tables;

    /* FACS first: it needs 64-byte alignment and the blob is allocated 64-aligned. */
    size_t facs = build_facs(t);
    align_to(t, 8);
    size_t dsdt = t->len;
    put_bytes(t, dsdt_aml, dsdt_len);
    size_t ssdt = build_ssdt(t, cfg);
    size_t fadt = build_fadt(t, cfg, facs, dsdt);
    size_t madt = build_madt(t, cfg);
    const size_t entries[] = {fadt, ssdt, madt};

    size_t rsdt = table_begin(t, "RSDT", 1, 8);
    for (unsigned i = 0; i < G_N_ELEMENTS(entries); i++) {
        put_u32(t, (uint32_t)entries[i]);
    }
    table_end(t, rsdt);
    size_t xsdt = table_begin(t, "XSDT", 1, 8);
    for (unsigned i = 0; i < G_N_ELEMENTS(entries); i++) {
        put_u64(t, entries[i]);
    }
    table_end(t, xsdt);

    /* RSDP, revision 2: 20-byte ACPI 1.0 part plus length, XSDT and extended checksum. */
    GByteArray *r = bld.rsdp;
    put_bytes(r, "RSD PTR ", 8);
    put_u8(r, 0);
    put_bytes(r, ACPI_OEM_ID, 6);
    put_u8(r, 2);
    put_u32(r, (uint32_t)rsdt);
    put_u32(r, 36);
    put_u64(r, xsdt);
    put_u8(r, 0);
    put_zeros(r, 3);
    r->data[8] = checksum8(r->data, 20);
    r->data[32] = checksum8(r->data, 36);

    /* The script: allocate, then patch pointers, then checksums over what was patched. */
    loader_allocate(&bld, ACPI_FW_CFG_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
    loader_allocate(&bld, ACPI_FW_CFG_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
    loader_add_pointer(&bld, ACPI_FW_CFG_TABLES, ACPI_FW_CFG_TABLES,
                       (uint32_t)(fadt + FADT_FIRMWARE_CTRL), 4);
    loader_add_pointer(&bld, ACPI_FW_CFG_TABLES, ACPI_FW_CFG_TABLES, (uint32_t)(fadt + FADT_DSDT),
                       4);
    loader_add_pointer(&bld, ACPI_FW_CFG_TABLES, ACPI_FW_CFG_TABLES, (uint32_t)(fadt + FADT_X_DSDT),
                       8);
    loader_table_checksum(&bld, dsdt);
    loader_table_checksum(&bld, ssdt);
    loader_table_checksum(&bld, fadt);
    loader_table_checksum(&bld, madt);
    for (unsigned i = 0; i < G_N_ELEMENTS(entries); i++) {
        loader_add_pointer(&bld, ACPI_FW_CFG_TABLES, ACPI_FW_CFG_TABLES,
                           (uint32_t)(rsdt + ACPI_HEADER_SIZE + 4 * i), 4);
        loader_add_pointer(&bld, ACPI_FW_CFG_TABLES, ACPI_FW_CFG_TABLES,
                           (uint32_t)(xsdt + ACPI_HEADER_SIZE + 8 * i), 8);
    }
    loader_table_checksum(&bld, rsdt);
    loader_table_checksum(&bld, xsdt);
    loader_add_pointer(&bld, ACPI_FW_CFG_RSDP, ACPI_FW_CFG_TABLES, 16, 4);
    loader_add_pointer(&bld, ACPI_FW_CFG_RSDP, ACPI_FW_CFG_TABLES, 24, 8);
    loader_add_checksum(&bld, ACPI_FW_CFG_RSDP, 8, 0, 20);
    loader_add_checksum(&bld, ACPI_FW_CFG_RSDP, 32, 0, 36);

    out->tables_len = bld.tables->len;
    out->tables = g_byte_array_free(bld.tables, FALSE);
    out->rsdp_len = bld.rsdp->len;
    out->rsdp = g_byte_array_free(bld.rsdp, FALSE);
    out->loader_len = bld.loader->len;
    out->loader = g_byte_array_free(bld.loader, FALSE);
    return true;
}

void acpi_blobs_clear(AcpiBlobs *blobs)
{
    g_free(blobs->tables);
    g_free(blobs->rsdp);
    g_free(blobs->loader);
    memset(blobs, 0, sizeof(*blobs));
}

bool acpi_build_pc_fw_cfg(const AcpiPcConfig *cfg, FwCfgState *fw_cfg, GError **error)
{
    AcpiBlobs b;
    int ret = 0;

    if (!acpi_build_pc(cfg, &b, error)) {
        return false;
    }
    /* Tables and RSDP first: the loader script names them, so they must exist when it runs. */
    ret = fw_cfg_add_file(fw_cfg, ACPI_FW_CFG_TABLES, b.tables, b.tables_len);
    if (ret == 0) {
        ret = fw_cfg_add_file(fw_cfg, ACPI_FW_CFG_RSDP, b.rsdp, b.rsdp_len);
    }
    if (ret == 0) {
        ret = fw_cfg_add_file(fw_cfg, ACPI_FW_CFG_LOADER, b.loader, b.loader_len);
    }
    acpi_blobs_clear(&b);
    if (ret < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-ret),
                    "ACPI tables: cannot add them to fw_cfg: %s", g_strerror(-ret));
        return false;
    }
    return true;
}
