/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PIIX3 IDE tests: a small driver in the test talks to the legacy ports and the bus
 * master like SeaBIOS and Linux do: IDENTIFY, PIO and DMA reads and writes with the
 * data checked against the image, ATAPI packets, media change, hostile requests.
 */
#define G_LOG_DOMAIN "test-ide"
#include <glib.h>
#include <string.h>

#include "devices/storage/ide-piix.h"
#include "storage-helpers.h"

#define IDE_DEVFN VMM_PCI_DEVFN(1, 1)
#define PRI 0x1f0
#define PRI_CTL 0x3f6
#define SEC 0x170
#define SEC_CTL 0x376
#define BM 0xc000

#define DISK_SECTORS 2048u
#define CD_BLOCKS 64u

#define ST_BSY 0x80
#define ST_DRDY 0x40
#define ST_DRQ 0x08
#define ST_ERR 0x01

typedef struct {
    StorageFixture f;
    VmmDevice *dev;
    char *disk;
    char *iso;
} IdeFixture;

typedef struct {
    IdeFixture *x;
    uint16_t ctl;
} WaitCtx;

static uint8_t inb(IdeFixture *x, uint16_t port)
{
    return (uint8_t)vmm_bus_read_val(x->f.m->pio, port, 1);
}

static void outb(IdeFixture *x, uint16_t port, uint8_t v)
{
    vmm_bus_write_val(x->f.m->pio, port, v, 1);
}

static uint16_t inw(IdeFixture *x, uint16_t port)
{
    return (uint16_t)vmm_bus_read_val(x->f.m->pio, port, 2);
}

static void outw(IdeFixture *x, uint16_t port, uint16_t v)
{
    vmm_bus_write_val(x->f.m->pio, port, v, 2);
}

static bool not_busy(void *opaque)
{
    WaitCtx *w = opaque;

    return !(inb(w->x, w->ctl) & ST_BSY);
}

static uint8_t wait_ready(IdeFixture *x, uint16_t base)
{
    WaitCtx w = {x, base == PRI ? PRI_CTL : SEC_CTL};

    storage_wait(not_busy, &w);
    /* Alternate status: leaves a pending interrupt alone. */
    return inb(x, w.ctl);
}

static void ide_setup(IdeFixture *x, bool with_cd_medium)
{
    g_autoptr(GError) err = NULL;
    VmmCfgNode *node;

    storage_setup(&x->f);
    x->disk = storage_make_image(&x->f, "disk.img", DISK_SECTORS * 512ull, 0x1234);
    x->iso = storage_make_image(&x->f, "cd.iso", CD_BLOCKS * 2048ull, 0xc0de);
    node = vmm_cfg_ensure_child(x->f.cfg, "ide");
    vmm_cfg_set_string(node, "pm_file", x->disk);
    vmm_cfg_set_string(node, "sm_media", "cdrom");
    if (with_cd_medium) {
        vmm_cfg_set_string(node, "sm_file", x->iso);
    }
    x->dev = vmm_device_create(x->f.m, &piix3_ide_type, "ide", node, &err);
    g_assert_no_error(err);
    g_assert_nonnull(x->dev);
    /* What SeaBIOS does: decode both channels, BAR 4, I/O and bus master on. */
    st_cfg_write(&x->f, IDE_DEVFN, 0x40, 2, 0x8000);
    st_cfg_write(&x->f, IDE_DEVFN, 0x42, 2, 0x8000);
    st_cfg_write(&x->f, IDE_DEVFN, 0x20, 4, BM);
    st_cfg_write(&x->f, IDE_DEVFN, 0x04, 2, 0x0005);
}

static void ide_teardown(IdeFixture *x)
{
    storage_teardown(&x->f);
    g_free(x->disk);
    g_free(x->iso);
}

static void set_lba(IdeFixture *x, uint16_t base, uint64_t lba, unsigned count, bool lba48)
{
    if (lba48) {
        outb(x, base + 2, (uint8_t)(count >> 8));
        outb(x, base + 3, (uint8_t)(lba >> 24));
        outb(x, base + 4, (uint8_t)(lba >> 32));
        outb(x, base + 5, (uint8_t)(lba >> 40));
    }
    outb(x, base + 2, (uint8_t)count);
    outb(x, base + 3, (uint8_t)lba);
    outb(x, base + 4, (uint8_t)(lba >> 8));
    outb(x, base + 5, (uint8_t)(lba >> 16));
    outb(x, base + 6, (uint8_t)(0xe0 | (lba48 ? 0 : ((lba >> 24) & 0x0f))));
}

static void check_sector(const uint8_t *buf, uint64_t lba, uint32_t seed, unsigned ssize)
{
    for (unsigned i = 0; i < ssize; i += 4) {
        uint32_t v;

        memcpy(&v, buf + i, 4);
        g_assert_cmphex(GUINT32_FROM_LE(v), ==, storage_pattern(lba * ssize + i, seed));
    }
}

/* ---- ATA ---------------------------------------------------------------------------------- */

static void test_identify(void)
{
    IdeFixture x;
    uint16_t w[256];
    char model[41];
    uint8_t sum = 0;

    ide_setup(&x, true);
    g_assert_cmphex(st_cfg_read(&x.f, IDE_DEVFN, 0, 4), ==, 0x70108086u);
    g_assert_cmphex(st_cfg_read(&x.f, IDE_DEVFN, 0x08, 4) >> 8, ==, 0x010180u);
    outb(&x, PRI + 6, 0xa0);
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    outb(&x, PRI + 7, 0xec);
    g_assert_cmphex(wait_ready(&x, PRI) & (ST_DRQ | ST_ERR), ==, ST_DRQ);
    for (unsigned i = 0; i < 256; i++) {
        w[i] = inw(&x, PRI);
    }
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    for (unsigned i = 0; i < 20; i++) {
        model[2 * i] = (char)(w[27 + i] >> 8);
        model[2 * i + 1] = (char)w[27 + i];
    }
    model[40] = 0;
    g_assert_true(g_str_has_prefix(model, "BOXWOOD HARDDISK "));
    g_assert_cmphex(w[0], ==, 0x0040);
    g_assert_true(w[83] & (1u << 10));
    g_assert_cmpuint(w[60] | ((uint32_t)w[61] << 16), ==, DISK_SECTORS);
    g_assert_cmpuint(w[100] | ((uint32_t)w[101] << 16), ==, DISK_SECTORS);
    g_assert_true(w[49] & 0x0300);
    for (unsigned i = 0; i < 256; i++) {
        sum = (uint8_t)(sum + (w[i] & 0xff) + (w[i] >> 8));
    }
    g_assert_cmphex(w[255] & 0xff, ==, 0xa5);
    g_assert_cmpuint(sum, ==, 0);

    /* Absent slave: registers echo, status 0 (SeaBIOS's probe). */
    outb(&x, PRI + 6, 0xb0);
    outb(&x, PRI + 2, 0x55);
    outb(&x, PRI + 3, 0xaa);
    g_assert_cmphex(inb(&x, PRI + 2), ==, 0x55);
    g_assert_cmphex(inb(&x, PRI + 3), ==, 0xaa);
    g_assert_cmphex(inb(&x, PRI + 6), ==, 0xb0);
    g_assert_cmphex(inb(&x, PRI + 7), ==, 0x00);
    /* Secondary slave absent too; an empty channel would float. */
    outb(&x, SEC + 6, 0xb0);
    g_assert_cmphex(inb(&x, SEC + 7), ==, 0x00);
    ide_teardown(&x);
}

static void pio_read(IdeFixture *x, uint8_t cmd, uint64_t lba, unsigned count, bool lba48,
                     unsigned per_drq)
{
    uint8_t buf[512 * 16];

    set_lba(x, PRI, lba, count, lba48);
    outb(x, PRI + 7, cmd);
    for (unsigned s = 0; s < count; s += per_drq) {
        unsigned n = MIN(per_drq, count - s);
        uint8_t st = wait_ready(x, PRI);

        g_assert_cmphex(st & (ST_DRQ | ST_ERR), ==, ST_DRQ);
        for (unsigned i = 0; i < n * 512; i += 4) {
            uint32_t v = (uint32_t)vmm_bus_read_val(x->f.m->pio, PRI, 4);
            memcpy(buf + i, &v, 4);
        }
        for (unsigned i = 0; i < n; i++) {
            check_sector(buf + i * 512, lba + s + i, 0x1234, 512);
        }
    }
    g_assert_cmphex(wait_ready(x, PRI), ==, 0x50);
}

static void test_pio_read(void)
{
    IdeFixture x;

    ide_setup(&x, true);
    outb(&x, PRI_CTL, 0x00); /* interrupts on */
    set_lba(&x, PRI, 7, 1, false);
    outb(&x, PRI + 7, 0x20);
    wait_ready(&x, PRI);
    g_assert_true(x.f.m->irq_level[IDE_PRIMARY_GSI]);
    /* Reading the status register acknowledges the interrupt. */
    inb(&x, PRI + 7);
    g_assert_false(x.f.m->irq_level[IDE_PRIMARY_GSI]);
    for (unsigned i = 0; i < 256; i++) {
        inw(&x, PRI);
    }
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);

    pio_read(&x, 0x20, 5, 3, false, 1);
    pio_read(&x, 0x24, 1000, 300, true, 1); /* crosses the 128 KiB buffer */
    /* READ MULTIPLE after SET MULTIPLE 8. */
    outb(&x, PRI + 2, 8);
    outb(&x, PRI + 7, 0xc6);
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    pio_read(&x, 0xc4, 100, 20, false, 8);
    ide_teardown(&x);
}

static void test_pio_write(void)
{
    IdeFixture x;
    uint8_t buf[512];

    ide_setup(&x, true);
    set_lba(&x, PRI, 9, 2, false);
    outb(&x, PRI + 7, 0x30);
    for (unsigned s = 0; s < 2; s++) {
        g_assert_cmphex(wait_ready(&x, PRI) & (ST_DRQ | ST_ERR), ==, ST_DRQ);
        for (unsigned i = 0; i < 256; i++) {
            outw(&x, PRI, (uint16_t)(0xa000 + s * 256 + i));
        }
    }
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    outb(&x, PRI + 7, 0xe7); /* FLUSH CACHE */
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    for (unsigned s = 0; s < 2; s++) {
        storage_read_file(x.disk, (9 + s) * 512ull, buf, sizeof(buf));
        for (unsigned i = 0; i < 256; i++) {
            g_assert_cmphex(buf[2 * i] | (buf[2 * i + 1] << 8), ==, 0xa000 + s * 256 + i);
        }
    }
    /* Neighbours untouched. */
    storage_read_file(x.disk, 11 * 512ull, buf, sizeof(buf));
    check_sector(buf, 11, 0x1234, 512);
    ide_teardown(&x);
}

/* CHS addressing after INITIALIZE DEVICE PARAMETERS, EXECUTE DEVICE DIAGNOSTIC, features. */
static void test_chs_diag_features(void)
{
    IdeFixture x;
    uint8_t buf[512];

    ide_setup(&x, true);
    /* 4 heads, 32 sectors per track: C/H/S 2/3/5 is LBA (2 * 4 + 3) * 32 + 4 = 356. */
    outb(&x, PRI + 2, 32);
    outb(&x, PRI + 6, 0xa0 | 3);
    outb(&x, PRI + 7, 0x91);
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    outb(&x, PRI + 2, 1);
    outb(&x, PRI + 3, 5);
    outb(&x, PRI + 4, 2);
    outb(&x, PRI + 5, 0);
    outb(&x, PRI + 6, 0xa0 | 3);
    outb(&x, PRI + 7, 0x20);
    g_assert_cmphex(wait_ready(&x, PRI) & (ST_DRQ | ST_ERR), ==, ST_DRQ);
    for (unsigned i = 0; i < 256; i++) {
        uint16_t v = inw(&x, PRI);
        buf[2 * i] = (uint8_t)v;
        buf[2 * i + 1] = (uint8_t)(v >> 8);
    }
    check_sector(buf, 356, 0x1234, 512);
    /* Sector 0 does not exist in CHS. */
    outb(&x, PRI + 3, 0);
    outb(&x, PRI + 7, 0x20);
    g_assert_cmphex(wait_ready(&x, PRI) & ST_ERR, ==, ST_ERR);

    /* Diagnostics: signature and "passed" in the error register. */
    outb(&x, PRI + 6, 0xa0);
    outb(&x, PRI + 7, 0x90);
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    g_assert_cmphex(inb(&x, PRI + 1), ==, 0x01);
    g_assert_cmphex(inb(&x, PRI + 2), ==, 0x01);
    g_assert_cmphex(inb(&x, PRI + 4), ==, 0x00);

    /* SET FEATURES: UDMA 5 accepted and shown in IDENTIFY word 88, UDMA 7 refused. */
    outb(&x, PRI + 1, 0x03);
    outb(&x, PRI + 2, 0x45);
    outb(&x, PRI + 7, 0xef);
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    outb(&x, PRI + 2, 0x47);
    outb(&x, PRI + 7, 0xef);
    g_assert_cmphex(wait_ready(&x, PRI) & ST_ERR, ==, ST_ERR);
    outb(&x, PRI + 7, 0xec);
    g_assert_cmphex(wait_ready(&x, PRI) & ST_DRQ, ==, ST_DRQ);
    for (unsigned i = 0; i < 256; i++) {
        uint16_t v = inw(&x, PRI);
        if (i == 88) {
            g_assert_cmphex(v, ==, 0x203f);
        }
    }
    /* CHECK POWER MODE: active. */
    outb(&x, PRI + 7, 0xe5);
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    g_assert_cmphex(inb(&x, PRI + 2), ==, 0xff);
    ide_teardown(&x);
}

static bool bm_irq(void *opaque)
{
    IdeFixture *x = opaque;

    return (vmm_bus_read_val(x->f.m->pio, BM + 2, 1) & 0x04) != 0;
}

static void put_prd(IdeFixture *x, uint32_t at, uint32_t addr, uint32_t len, bool eot)
{
    uint32_t e[2] = {GUINT32_TO_LE(addr), GUINT32_TO_LE((len & 0xffff) | (eot ? 0x80000000u : 0))};

    memcpy(x->f.ram + at, e, sizeof(e));
}

/* Bus master status seen right after the interrupt of the last dma_cmd(). */
static uint8_t last_bm_status;

/* Runs a DMA command on the primary master; returns the ATA status. */
static uint8_t dma_cmd(IdeFixture *x, uint8_t cmd, uint64_t lba, unsigned count, bool lba48,
                       uint32_t prd, bool to_memory)
{
    vmm_bus_write_val(x->f.m->pio, BM + 2, 0x06, 1); /* clear IRQ and error */
    vmm_bus_write_val(x->f.m->pio, BM + 4, prd, 4);
    vmm_bus_write_val(x->f.m->pio, BM, to_memory ? 0x08 : 0x00, 1);
    set_lba(x, PRI, lba, count, lba48);
    outb(x, PRI + 7, cmd);
    vmm_bus_write_val(x->f.m->pio, BM, to_memory ? 0x09 : 0x01, 1);
    storage_wait(bm_irq, x);
    last_bm_status = (uint8_t)vmm_bus_read_val(x->f.m->pio, BM + 2, 1);
    vmm_bus_write_val(x->f.m->pio, BM, to_memory ? 0x08 : 0x00, 1);
    return wait_ready(x, PRI);
}

static void test_dma(void)
{
    IdeFixture x;
    uint8_t buf[1536];

    ide_setup(&x, true);
    put_prd(&x, 0x10000, 0x20000, 1024, false);
    put_prd(&x, 0x10008, 0x30000, 512, true);
    g_assert_cmphex(dma_cmd(&x, 0xc8, 40, 3, false, 0x10000, true), ==, 0x50);
    check_sector(x.f.ram + 0x20000, 40, 0x1234, 512);
    check_sector(x.f.ram + 0x20200, 41, 0x1234, 512);
    check_sector(x.f.ram + 0x30000, 42, 0x1234, 512);
    /* PRDs used up exactly: Active clear (before the driver stops the engine), no error. */
    g_assert_cmphex(last_bm_status & 0x07, ==, 0x04);
    /* PRDs larger than the transfer: Active stays set with the interrupt. */
    put_prd(&x, 0x10000, 0x20000, 4096, true);
    g_assert_cmphex(dma_cmd(&x, 0xc8, 40, 1, false, 0x10000, true), ==, 0x50);
    g_assert_cmphex(last_bm_status & 0x07, ==, 0x05);

    /* READ DMA EXT, 64 KiB entry encoded as 0. */
    put_prd(&x, 0x10000, 0x40000, 0, true);
    g_assert_cmphex(dma_cmd(&x, 0x25, 1500, 128, true, 0x10000, true), ==, 0x50);
    for (unsigned i = 0; i < 128; i++) {
        check_sector(x.f.ram + 0x40000 + i * 512, 1500 + i, 0x1234, 512);
    }

    /* WRITE DMA from memory. */
    for (unsigned i = 0; i < sizeof(buf); i++) {
        x.f.ram[0x50000 + i] = (uint8_t)(i * 7);
    }
    put_prd(&x, 0x10000, 0x50000, sizeof(buf), true);
    g_assert_cmphex(dma_cmd(&x, 0xca, 60, 3, false, 0x10000, false), ==, 0x50);
    storage_read_file(x.disk, 60 * 512ull, buf, sizeof(buf));
    for (unsigned i = 0; i < sizeof(buf); i++) {
        g_assert_cmpuint(buf[i], ==, (uint8_t)(i * 7));
    }
    ide_teardown(&x);
}

static void test_hostile(void)
{
    IdeFixture x;
    uint8_t st;

    ide_setup(&x, true);
    /* LBA past the end. */
    set_lba(&x, PRI, DISK_SECTORS, 1, false);
    outb(&x, PRI + 7, 0x20);
    st = wait_ready(&x, PRI);
    g_assert_cmphex(st & (ST_ERR | ST_DRQ), ==, ST_ERR);
    g_assert_cmphex(inb(&x, PRI + 1) & 0x10, ==, 0x10);
    /* A count running past the end. */
    set_lba(&x, PRI, DISK_SECTORS - 2, 0x300, true);
    outb(&x, PRI + 7, 0x34);
    g_assert_cmphex(wait_ready(&x, PRI) & ST_ERR, ==, ST_ERR);
    /* LBA48 beyond 2^32. */
    set_lba(&x, PRI, 0xffffffffffffull, 1, true);
    outb(&x, PRI + 7, 0x25);
    g_assert_cmphex(wait_ready(&x, PRI) & ST_ERR, ==, ST_ERR);

    /* PRD table outside RAM. */
    st = dma_cmd(&x, 0xc8, 0, 1, false, 0xf0000000u, true);
    g_assert_cmphex(st & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(vmm_bus_read_val(x.f.m->pio, BM + 2, 1) & 0x02, ==, 0x02);
    /* Buffer outside RAM. */
    put_prd(&x, 0x10000, 0xfff00000u, 512, true);
    g_assert_cmphex(dma_cmd(&x, 0xc8, 0, 1, false, 0x10000, true) & ST_ERR, ==, ST_ERR);
    /* Endless PRD list: tiny entries, no EOT, more than a table can hold. */
    for (uint32_t i = 0; i < 9000; i++) {
        put_prd(&x, 0x100000 + i * 8, 0x20000, 2, false);
    }
    g_assert_cmphex(dma_cmd(&x, 0x25, 0, 128, true, 0x100000, true) & ST_ERR, ==, ST_ERR);
    /* PRDs smaller than the transfer. */
    put_prd(&x, 0x10000, 0x20000, 512, true);
    g_assert_cmphex(dma_cmd(&x, 0xc8, 0, 2, false, 0x10000, true) & ST_ERR, ==, ST_ERR);

    /* Unknown command, data port abuse: aborted / ignored, still alive. */
    outb(&x, PRI + 7, 0xfe);
    g_assert_cmphex(wait_ready(&x, PRI) & ST_ERR, ==, ST_ERR);
    for (unsigned i = 0; i < 1000; i++) {
        inw(&x, PRI);
        outw(&x, PRI, 0);
    }
    pio_read(&x, 0x20, 3, 1, false, 1);
    /* Soft reset mid-transfer. */
    set_lba(&x, PRI, 0, 8, false);
    outb(&x, PRI + 7, 0x20);
    outb(&x, PRI_CTL, 0x04);
    outb(&x, PRI_CTL, 0x00);
    g_assert_cmphex(wait_ready(&x, PRI), ==, 0x50);
    g_assert_cmphex(inb(&x, PRI + 2), ==, 1);
    pio_read(&x, 0x20, 3, 1, false, 1);
    ide_teardown(&x);
}

/* ---- ATAPI -------------------------------------------------------------------------------- */

/* Sends @cdb by PIO on the secondary master and reads the reply; returns the status. */
static uint8_t atapi_cmd(IdeFixture *x, const uint8_t cdb[12], uint16_t limit, uint8_t *out,
                         size_t out_size, size_t *got)
{
    uint8_t st;
    size_t n = 0;

    outb(x, SEC + 6, 0xa0);
    outb(x, SEC + 1, 0);
    outb(x, SEC + 4, (uint8_t)limit);
    outb(x, SEC + 5, (uint8_t)(limit >> 8));
    outb(x, SEC + 7, 0xa0);
    st = wait_ready(x, SEC);
    g_assert_cmphex(st & ST_DRQ, ==, ST_DRQ);
    g_assert_cmphex(inb(x, SEC + 2) & 3, ==, 1); /* CoD: waiting for the packet */
    for (unsigned i = 0; i < 6; i++) {
        outw(x, SEC, (uint16_t)(cdb[2 * i] | (cdb[2 * i + 1] << 8)));
    }
    for (;;) {
        unsigned len;

        st = wait_ready(x, SEC);
        if (!(st & ST_DRQ)) {
            break;
        }
        g_assert_cmphex(inb(x, SEC + 2) & 3, ==, 2); /* IO: data to host */
        len = inb(x, SEC + 4) | (inb(x, SEC + 5) << 8);
        g_assert_cmpuint(len, <=, limit);
        g_assert_cmpuint(len, >, 0);
        for (unsigned i = 0; i < len; i += 2) {
            uint16_t v = inw(x, SEC);

            g_assert_cmpuint(n + 2, <=, out_size);
            out[n++] = (uint8_t)v;
            out[n++] = (uint8_t)(v >> 8);
        }
    }
    g_assert_cmphex(inb(x, SEC + 2) & 3, ==, 3);
    if (got != NULL) {
        *got = n;
    }
    return st;
}

static void request_sense(IdeFixture *x, uint8_t *key, uint8_t *asc)
{
    const uint8_t cdb[12] = {0x03, 0, 0, 0, 18};
    uint8_t sense[18];
    size_t n;

    g_assert_cmphex(atapi_cmd(x, cdb, 18, sense, sizeof(sense), &n) & ST_ERR, ==, 0);
    g_assert_cmpuint(n, ==, 18);
    g_assert_cmphex(sense[0], ==, 0x70);
    *key = sense[2] & 0x0f;
    *asc = sense[12];
}

static void test_atapi_basic(void)
{
    IdeFixture x;
    uint8_t buf[8192];
    uint16_t w[256];
    size_t n;

    ide_setup(&x, true);
    outb(&x, SEC + 6, 0xa0);
    g_assert_cmphex(inb(&x, SEC + 4), ==, 0x14);
    g_assert_cmphex(inb(&x, SEC + 5), ==, 0xeb);
    /* IDENTIFY DEVICE is refused with the signature in place. */
    outb(&x, SEC + 7, 0xec);
    g_assert_cmphex(wait_ready(&x, SEC) & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(inb(&x, SEC + 4), ==, 0x14);
    g_assert_cmphex(inb(&x, SEC + 5), ==, 0xeb);
    outb(&x, SEC + 7, 0xa1);
    g_assert_cmphex(wait_ready(&x, SEC) & ST_DRQ, ==, ST_DRQ);
    for (unsigned i = 0; i < 256; i++) {
        w[i] = inw(&x, SEC);
    }
    g_assert_cmphex(w[0], ==, 0x85c0);
    g_assert_cmphex(w[27], ==, ('B' << 8) | 'O');

    /* INQUIRY. */
    {
        const uint8_t cdb[12] = {0x12, 0, 0, 0, 36};
        g_assert_cmphex(atapi_cmd(&x, cdb, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 36);
        g_assert_cmphex(buf[0], ==, 0x05);
        g_assert_cmphex(buf[1], ==, 0x80);
        g_assert_true(memcmp(buf + 8, "BOXWOOD ", 8) == 0);
    }
    /* READ CAPACITY. */
    {
        const uint8_t cdb[12] = {0x25};
        g_assert_cmphex(atapi_cmd(&x, cdb, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 8);
        g_assert_cmpuint((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3], ==,
                         CD_BLOCKS - 1);
        g_assert_cmpuint((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7], ==, 2048);
    }
    /* READ(10) of three blocks, one DRQ block each (limit 2048, as SeaBIOS asks). */
    {
        const uint8_t cdb[12] = {0x28, 0, 0, 0, 0, 2, 0, 0, 3};
        g_assert_cmphex(atapi_cmd(&x, cdb, 2048, buf, sizeof(buf), &n), ==, 0x50);
        g_assert_cmpuint(n, ==, 3 * 2048);
        for (unsigned i = 0; i < 3; i++) {
            check_sector(buf + i * 2048, 2 + i, 0xc0de, 2048);
        }
    }
    /* READ(12) with a byte count limit that splits blocks. */
    {
        const uint8_t cdb[12] = {0xa8, 0, 0, 0, 0, 10, 0, 0, 0, 2};
        g_assert_cmphex(atapi_cmd(&x, cdb, 1000, buf, sizeof(buf), &n), ==, 0x50);
        g_assert_cmpuint(n, ==, 2 * 2048);
        check_sector(buf, 10, 0xc0de, 2048);
        check_sector(buf + 2048, 11, 0xc0de, 2048);
    }
    /* READ TOC formats 0, 1, 2. */
    {
        const uint8_t toc0[12] = {0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24};
        const uint8_t toc1[12] = {0x43, 0x02, 0x01, 0, 0, 0, 0, 0x03, 0x24};
        const uint8_t toc2[12] = {0x43, 0x02, 0x02, 0, 0, 0, 1, 0x03, 0x24};

        g_assert_cmphex(atapi_cmd(&x, toc0, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 20);
        g_assert_cmpuint((buf[0] << 8) | buf[1], ==, 18);
        g_assert_cmpuint(buf[2], ==, 1);
        g_assert_cmpuint(buf[3], ==, 1);
        g_assert_cmphex(buf[4 + 2], ==, 1);
        g_assert_cmphex(buf[12 + 2], ==, 0xaa);
        g_assert_cmpuint(buf[12 + 7], ==, CD_BLOCKS);
        g_assert_cmphex(atapi_cmd(&x, toc1, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 12);
        g_assert_cmphex(atapi_cmd(&x, toc2, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 4 + 4 * 11);
        g_assert_cmphex(buf[4 + 3], ==, 0xa0);
        /* A2 (lead-out) at 64 + 150 frames = 00:02:64. */
        g_assert_cmphex(buf[4 + 22 + 3], ==, 0xa2);
        g_assert_cmpuint(buf[4 + 22 + 8], ==, 0);
        g_assert_cmpuint(buf[4 + 22 + 9], ==, 2);
        g_assert_cmpuint(buf[4 + 22 + 10], ==, 64);
    }
    /* MODE SENSE(10) page 2A, GET CONFIGURATION, GET EVENT STATUS, DISC INFO, MECHANISM. */
    {
        const uint8_t ms[12] = {0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 0xff};
        const uint8_t gc[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 0xff};
        const uint8_t ge[12] = {0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8};
        const uint8_t di[12] = {0x51, 0, 0, 0, 0, 0, 0, 0, 34};
        const uint8_t mech[12] = {0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8};
        const uint8_t speed[12] = {0xbb, 0, 0xff, 0xff};

        g_assert_cmphex(atapi_cmd(&x, ms, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 28);
        g_assert_cmphex(buf[8], ==, 0x2a);
        g_assert_cmphex(atapi_cmd(&x, gc, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmphex((buf[6] << 8) | buf[7], ==, 0x0008);
        g_assert_cmpuint(n, ==, 28); /* header, profile list, core */
        g_assert_cmphex((buf[8 + 8] << 8) | buf[8 + 9], ==, 0x0001);
        g_assert_cmphex(atapi_cmd(&x, ge, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 8);
        g_assert_cmphex(buf[5] & 0x02, ==, 0x02);
        g_assert_cmphex(atapi_cmd(&x, di, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 34);
        g_assert_cmphex(atapi_cmd(&x, mech, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 8);
        g_assert_cmphex(atapi_cmd(&x, speed, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
        g_assert_cmpuint(n, ==, 0);
    }
    ide_teardown(&x);
}

static bool bm2_irq(void *opaque)
{
    IdeFixture *x = opaque;

    return (vmm_bus_read_val(x->f.m->pio, BM + 8 + 2, 1) & 0x04) != 0;
}

/* ATAPI READ(10) by bus-master DMA on the secondary channel (features bit 0). */
static void test_atapi_dma(void)
{
    IdeFixture x;
    const uint8_t cdb[12] = {0x28, 0, 0, 0, 0, 7, 0, 0, 2};

    ide_setup(&x, true);
    outb(&x, SEC_CTL, 0x00);
    put_prd(&x, 0x10000, 0x60000, 2048, false);
    put_prd(&x, 0x10008, 0x70000, 2048, true);
    vmm_bus_write_val(x.f.m->pio, BM + 8 + 4, 0x10000, 4);
    vmm_bus_write_val(x.f.m->pio, BM + 8, 0x08, 1);
    outb(&x, SEC + 6, 0xa0);
    outb(&x, SEC + 1, 0x01);
    outb(&x, SEC + 7, 0xa0);
    g_assert_cmphex(wait_ready(&x, SEC) & ST_DRQ, ==, ST_DRQ);
    for (unsigned i = 0; i < 6; i++) {
        outw(&x, SEC, (uint16_t)(cdb[2 * i] | (cdb[2 * i + 1] << 8)));
    }
    vmm_bus_write_val(x.f.m->pio, BM + 8, 0x09, 1);
    storage_wait(bm2_irq, &x);
    g_assert_cmphex(vmm_bus_read_val(x.f.m->pio, BM + 8 + 2, 1) & 0x07, ==, 0x04);
    vmm_bus_write_val(x.f.m->pio, BM + 8, 0x08, 1);
    g_assert_cmphex(wait_ready(&x, SEC), ==, 0x50);
    g_assert_cmphex(inb(&x, SEC + 2) & 3, ==, 3);
    g_assert_true(x.f.m->irq_level[IDE_SECONDARY_GSI]);
    check_sector(x.f.ram + 0x60000, 7, 0xc0de, 2048);
    check_sector(x.f.ram + 0x70000, 8, 0xc0de, 2048);
    ide_teardown(&x);
}

static void test_atapi_errors_and_media(void)
{
    IdeFixture x;
    g_autoptr(GError) err = NULL;
    uint8_t buf[4096], key, asc;
    const uint8_t tur[12] = {0x00};
    const uint8_t past[12] = {0x28, 0, 0, 0, 0, CD_BLOCKS - 1, 0, 0, 2};
    const uint8_t bogus[12] = {0xee};
    const uint8_t lock[12] = {0x1e, 0, 0, 0, 1};
    const uint8_t unlock[12] = {0x1e, 0, 0, 0, 0};
    const uint8_t eject[12] = {0x1b, 0, 0, 0, 0x02};
    size_t n;
    uint8_t st;

    ide_setup(&x, false);
    outb(&x, SEC_CTL, 0x00);
    /* No medium. */
    st = atapi_cmd(&x, tur, 2048, buf, sizeof(buf), &n);
    g_assert_cmphex(st & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(inb(&x, SEC + 1) >> 4, ==, 0x02);
    g_assert_true(x.f.m->irq_level[IDE_SECONDARY_GSI]);
    request_sense(&x, &key, &asc);
    g_assert_cmphex(key, ==, 0x02);
    g_assert_cmphex(asc, ==, 0x3a);

    /* Insert: UNIT ATTENTION once, then ready. */
    g_assert_true(ide_change_media(x.dev, 2, x.iso, "raw", &err));
    g_assert_no_error(err);
    st = atapi_cmd(&x, tur, 2048, buf, sizeof(buf), &n);
    g_assert_cmphex(st & ST_ERR, ==, ST_ERR);
    request_sense(&x, &key, &asc);
    g_assert_cmphex(key, ==, 0x06);
    g_assert_cmphex(asc, ==, 0x28);
    g_assert_cmphex(atapi_cmd(&x, tur, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);

    /* Past the end, unknown opcode. */
    g_assert_cmphex(atapi_cmd(&x, past, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, ST_ERR);
    g_assert_cmpuint(n, ==, 0);
    request_sense(&x, &key, &asc);
    g_assert_cmphex(key, ==, 0x05);
    g_assert_cmphex(asc, ==, 0x21);
    g_assert_cmphex(atapi_cmd(&x, bogus, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, ST_ERR);
    request_sense(&x, &key, &asc);
    g_assert_cmphex(asc, ==, 0x20);

    /* Locked tray refuses the eject; unlocked ejects. */
    g_assert_cmphex(atapi_cmd(&x, lock, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
    g_assert_cmphex(atapi_cmd(&x, eject, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, ST_ERR);
    request_sense(&x, &key, &asc);
    g_assert_cmphex(asc, ==, 0x53);
    g_assert_cmphex(atapi_cmd(&x, unlock, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
    g_assert_cmphex(atapi_cmd(&x, eject, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, 0);
    g_assert_cmphex(atapi_cmd(&x, tur, 2048, buf, sizeof(buf), &n) & ST_ERR, ==, ST_ERR);
    request_sense(&x, &key, &asc);
    g_assert_cmphex(asc, ==, 0x3a);

    /* Host-side eject and a disk refusing media change. */
    g_assert_true(ide_change_media(x.dev, 2, x.iso, NULL, &err));
    g_assert_true(ide_change_media(x.dev, 2, NULL, NULL, &err));
    g_assert_false(ide_change_media(x.dev, 0, x.iso, NULL, &err));
    g_assert_nonnull(err);
    ide_teardown(&x);
}

/* Configuration errors are reported, not fatal; an empty controller floats. */
static void test_config(void)
{
    StorageFixture f;
    VmmCfgNode *node;
    GError *err = NULL;
    g_autofree char *path = NULL;

    storage_setup(&f);
    node = vmm_cfg_ensure_child(f.cfg, "bad1");
    vmm_cfg_set_string(node, "pm_file", "/nonexistent/disk.img");
    g_assert_null(vmm_device_create(f.m, &piix3_ide_type, "bad1", node, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "/nonexistent/disk.img"));
    g_clear_error(&err);
    node = vmm_cfg_ensure_child(f.cfg, "bad2");
    vmm_cfg_set_string(node, "ps_media", "tape");
    g_assert_null(vmm_device_create(f.m, &piix3_ide_type, "bad2", node, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_nonnull(vmm_device_create(f.m, &piix3_ide_type, "ide", NULL, &err));
    g_assert_no_error(err);
    st_cfg_write(&f, IDE_DEVFN, 0x40, 2, 0x8000);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, PRI + 7, 1), ==, 0xff);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, PRI_CTL, 1), ==, 0xff);
    storage_teardown(&f);

    /* With a disk: the legacy ports decode only while IDETIM bit 15 is set. */
    storage_setup(&f);
    path = storage_make_image(&f, "d.img", 64 * 512, 1);
    node = vmm_cfg_ensure_child(f.cfg, "ide");
    vmm_cfg_set_string(node, "pm_file", path);
    g_assert_nonnull(vmm_device_create(f.m, &piix3_ide_type, "ide", node, &err));
    g_assert_no_error(err);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, PRI + 7, 1), ==, 0xff);
    st_cfg_write(&f, IDE_DEVFN, 0x40, 2, 0x8000);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, PRI + 7, 1), ==, 0x50);
    st_cfg_write(&f, IDE_DEVFN, 0x40, 2, 0x0000);
    g_assert_cmphex(vmm_bus_read_val(f.m->pio, PRI + 7, 1), ==, 0xff);
    storage_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ide/config", test_config);
    g_test_add_func("/ide/identify", test_identify);
    g_test_add_func("/ide/pio-read", test_pio_read);
    g_test_add_func("/ide/pio-write", test_pio_write);
    g_test_add_func("/ide/chs-diag-features", test_chs_diag_features);
    g_test_add_func("/ide/dma", test_dma);
    g_test_add_func("/ide/hostile", test_hostile);
    g_test_add_func("/ide/atapi", test_atapi_basic);
    g_test_add_func("/ide/atapi-dma", test_atapi_dma);
    g_test_add_func("/ide/atapi-errors-media", test_atapi_errors_and_media);
    return g_test_run();
}
