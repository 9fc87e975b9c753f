/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * AHCI tests: a test-side driver builds command lists, command tables and PRDTs in
 * fake guest RAM like SeaBIOS and Linux do, then checks data, received FISes,
 * interrupts (MSI and INTx) and how hostile structures are refused.
 */
#define G_LOG_DOMAIN "test-ahci"
#include <glib.h>
#include <string.h>

#include "devices/storage/ahci.h"
#include "storage-helpers.h"

#define AHCI_DEVFN VMM_PCI_DEVFN(4, 0)
#define ABAR 0xfebf0000u
#define DISK_SECTORS 4096u
#define CD_BLOCKS 100u

#define PX(p, r) (0x100u + (p)*0x80u + (r))
#define PX_CLB 0x00
#define PX_FB 0x08
#define PX_IS 0x10
#define PX_IE 0x14
#define PX_CMD 0x18
#define PX_TFD 0x20
#define PX_SIG 0x24
#define PX_SSTS 0x28
#define PX_SERR 0x30
#define PX_CI 0x38

#define IS_DHRS 0x01u
#define IS_PSS 0x02u
#define IS_HBFS (1u << 29)
#define IS_TFES (1u << 30)

typedef struct {
    StorageFixture f;
    VmmDevice *dev;
    char *disk;
    char *iso;
} AhciFixture;

typedef struct {
    uint64_t addr;
    uint32_t len;
} Prd;

static uint32_t rd(AhciFixture *x, uint32_t reg)
{
    return (uint32_t)vmm_bus_read_val(x->f.m->mmio, ABAR + reg, 4);
}

static void wr(AhciFixture *x, uint32_t reg, uint32_t v)
{
    vmm_bus_write_val(x->f.m->mmio, ABAR + reg, v, 4);
}

static uint32_t clb_of(unsigned port)
{
    return 0x100000u + port * 0x1000u;
}

static uint32_t fb_of(unsigned port)
{
    return clb_of(port) + 0x400u;
}

static uint32_t ctba_of(unsigned port)
{
    return 0x200000u + port * 0x10000u;
}

static void port_start(AhciFixture *x, unsigned p)
{
    wr(x, PX(p, PX_CMD), 0);
    wr(x, PX(p, PX_CLB), clb_of(p));
    wr(x, PX(p, PX_FB), fb_of(p));
    wr(x, PX(p, PX_SERR), 0xffffffffu);
    wr(x, PX(p, PX_IS), 0xffffffffu);
    wr(x, PX(p, PX_CMD), 0x10);
    wr(x, PX(p, PX_CMD), 0x11);
    g_assert_cmphex(rd(x, PX(p, PX_CMD)) & 0xc011, ==, 0xc011);
}

static void ahci_setup(AhciFixture *x, bool cd_medium)
{
    g_autoptr(GError) err = NULL;
    VmmCfgNode *node;

    storage_setup(&x->f);
    x->disk = storage_make_image(&x->f, "disk.img", DISK_SECTORS * 512ull, 0x5a7a);
    x->iso = storage_make_image(&x->f, "cd.iso", CD_BLOCKS * 2048ull, 0xc0de);
    node = vmm_cfg_ensure_child(x->f.cfg, "ahci");
    vmm_cfg_set_string(node, "port0_file", x->disk);
    vmm_cfg_set_string(node, "port1_media", "cdrom");
    if (cd_medium) {
        vmm_cfg_set_string(node, "port1_file", x->iso);
    }
    x->dev = vmm_device_create(x->f.m, &ahci_type, "ahci", node, &err);
    g_assert_no_error(err);
    st_cfg_write(&x->f, AHCI_DEVFN, 0x24, 4, ABAR);
    st_cfg_write(&x->f, AHCI_DEVFN, 0x04, 2, 0x0006);
    wr(x, 0x04, 0x80000000u);
    port_start(x, 0);
    port_start(x, 1);
}

static void ahci_teardown(AhciFixture *x)
{
    storage_teardown(&x->f);
    g_free(x->disk);
    g_free(x->iso);
}

typedef struct {
    AhciFixture *x;
    unsigned port;
    uint32_t bit;
} CiWait;

static bool ci_clear(void *opaque)
{
    CiWait *w = opaque;

    return !(rd(w->x, PX(w->port, PX_CI)) & w->bit) ||
           (rd(w->x, PX(w->port, PX_IS)) & (IS_TFES | IS_HBFS));
}

/* Builds slot @slot and issues it; returns PxIS after completion (and clears it). */
static uint32_t issue(AhciFixture *x, unsigned p, unsigned slot, const uint8_t cfis[20],
                      const uint8_t *acmd, const Prd *prds, unsigned nprd, bool write)
{
    uint8_t *ram = x->f.ram;
    uint32_t ctba = ctba_of(p) + slot * 0x1000u;
    uint32_t hdr[8] = {0};
    uint32_t is;
    CiWait w = {x, p, 1u << slot};

    hdr[0] =
        GUINT32_TO_LE(5u | (acmd ? 1u << 5 : 0) | (write ? 1u << 6 : 0) | ((uint32_t)nprd << 16));
    hdr[1] = 0xdeadbeef; /* PRDBC: the HBA overwrites it */
    hdr[2] = GUINT32_TO_LE(ctba);
    memcpy(ram + clb_of(p) + slot * 32, hdr, sizeof(hdr));
    memset(ram + ctba, 0, 0x80);
    memcpy(ram + ctba, cfis, 20);
    if (acmd != NULL) {
        memcpy(ram + ctba + 0x40, acmd, 12);
    }
    for (unsigned i = 0; i < nprd; i++) {
        uint32_t e[4] = {GUINT32_TO_LE((uint32_t)prds[i].addr),
                         GUINT32_TO_LE((uint32_t)(prds[i].addr >> 32)), 0,
                         GUINT32_TO_LE(prds[i].len - 1)};
        memcpy(ram + ctba + 0x80 + i * 16, e, sizeof(e));
    }
    wr(x, PX(p, PX_CI), 1u << slot);
    storage_wait(ci_clear, &w);
    is = rd(x, PX(p, PX_IS));
    wr(x, PX(p, PX_IS), is);
    wr(x, 0x08, 0xffffffffu);
    return is;
}

static uint32_t prdbc(AhciFixture *x, unsigned p, unsigned slot)
{
    uint32_t v;

    memcpy(&v, x->f.ram + clb_of(p) + slot * 32 + 4, 4);
    return GUINT32_FROM_LE(v);
}

static void fis_rw(uint8_t *cfis, uint8_t cmd, uint64_t lba, unsigned count)
{
    memset(cfis, 0, 20);
    cfis[0] = 0x27;
    cfis[1] = 0x80;
    cfis[2] = cmd;
    cfis[4] = (uint8_t)lba;
    cfis[5] = (uint8_t)(lba >> 8);
    cfis[6] = (uint8_t)(lba >> 16);
    cfis[7] = 0x40;
    cfis[8] = (uint8_t)(lba >> 24);
    cfis[9] = (uint8_t)(lba >> 32);
    cfis[10] = (uint8_t)(lba >> 40);
    cfis[12] = (uint8_t)count;
    cfis[13] = (uint8_t)(count >> 8);
}

/* Non-queued error recovery as SeaBIOS does it. */
static void recover(AhciFixture *x, unsigned p)
{
    wr(x, PX(p, PX_CMD), rd(x, PX(p, PX_CMD)) & ~1u);
    g_assert_cmphex(rd(x, PX(p, PX_CMD)) & 0x8000, ==, 0);
    wr(x, PX(p, PX_SERR), rd(x, PX(p, PX_SERR)));
    wr(x, PX(p, PX_IS), rd(x, PX(p, PX_IS)));
    wr(x, PX(p, PX_CMD), rd(x, PX(p, PX_CMD)) | 1u);
}

static void check_sector(const uint8_t *buf, uint64_t lba, uint32_t seed, unsigned ssize)
{
    for (unsigned i = 0; i < ssize; i += 4) {
        uint32_t v;

        memcpy(&v, buf + i, 4);
        g_assert_cmphex(GUINT32_FROM_LE(v), ==, storage_pattern(lba * ssize + i, seed));
    }
}

static void test_registers(void)
{
    AhciFixture x;
    uint32_t cap;

    ahci_setup(&x, true);
    g_assert_cmphex(st_cfg_read(&x.f, AHCI_DEVFN, 0, 4), ==, 0x29228086u);
    g_assert_cmphex(st_cfg_read(&x.f, AHCI_DEVFN, 0x08, 4) >> 8, ==, 0x010601u);
    cap = rd(&x, 0x00);
    g_assert_cmpuint(cap & 0x1f, ==, AHCI_NUM_PORTS - 1);
    g_assert_true(cap & (1u << 31));
    g_assert_cmphex(rd(&x, 0x04) & 0x80000000u, ==, 0x80000000u);
    g_assert_cmphex(rd(&x, 0x0c), ==, 0x3f);
    g_assert_cmphex(rd(&x, 0x10), ==, 0x00010300u);
    g_assert_cmphex(rd(&x, PX(0, PX_SSTS)) & 0xf, ==, 3);
    g_assert_cmphex(rd(&x, PX(0, PX_SIG)), ==, 0x00000101u);
    g_assert_cmphex(rd(&x, PX(1, PX_SIG)), ==, 0xeb140101u);
    g_assert_cmphex(rd(&x, PX(2, PX_SSTS)), ==, 0);
    g_assert_cmphex(rd(&x, PX(2, PX_SIG)), ==, 0xffffffffu);
    g_assert_cmphex(rd(&x, PX(0, PX_TFD)) & 0x88, ==, 0);
    /* HBA reset returns every port to its idle state. */
    wr(&x, 0x04, 1);
    g_assert_cmphex(rd(&x, PX(0, PX_CMD)) & 0xc011, ==, 0);
    g_assert_cmphex(rd(&x, 0x04) & 1, ==, 0);
    ahci_teardown(&x);
}

static void test_identify_rw(void)
{
    AhciFixture x;
    uint8_t cfis[20];
    Prd prds[3];
    uint8_t buf[4096];
    uint32_t is;
    unsigned msi_cap, msis;

    ahci_setup(&x, true);
    /* IDENTIFY DEVICE: PIO data-in, so a PIO Setup FIS comes with the D2H FIS. */
    memset(cfis, 0, 20);
    cfis[0] = 0x27;
    cfis[1] = 0x80;
    cfis[2] = 0xec;
    prds[0] = (Prd){0x300000, 512};
    is = issue(&x, 0, 0, cfis, NULL, prds, 1, false);
    g_assert_cmphex(is & (IS_DHRS | IS_PSS | IS_TFES), ==, IS_DHRS | IS_PSS);
    g_assert_cmphex(x.f.ram[fb_of(0) + 0x20], ==, 0x5f);
    g_assert_cmphex(x.f.ram[fb_of(0) + 0x22] & 0xc9, ==, 0x40);
    g_assert_cmphex(x.f.ram[fb_of(0) + 0x40], ==, 0x34);
    g_assert_cmpuint(prdbc(&x, 0, 0), ==, 512);
    g_assert_cmpuint(x.f.ram[0x300000 + 27 * 2 + 1], ==, 'B');
    g_assert_cmpuint(x.f.ram[0x300000 + 27 * 2], ==, 'O');
    g_assert_cmpuint(x.f.ram[0x300000 + 200] | (x.f.ram[0x300000 + 201] << 8), ==, DISK_SECTORS);
    /* IDENTIFY PACKET DEVICE on a disk fails (SeaBIOS's probe). */
    cfis[2] = 0xa1;
    is = issue(&x, 0, 0, cfis, NULL, prds, 1, false);
    g_assert_cmphex(is & IS_TFES, ==, IS_TFES);
    g_assert_cmphex(rd(&x, PX(0, PX_TFD)) & 0x01, ==, 0x01);
    recover(&x, 0);

    /* Enable MSI and port interrupts. */
    msi_cap = st_cfg_read(&x.f, AHCI_DEVFN, 0x34, 1);
    while (msi_cap != 0 && st_cfg_read(&x.f, AHCI_DEVFN, msi_cap, 1) != 0x05) {
        msi_cap = st_cfg_read(&x.f, AHCI_DEVFN, msi_cap + 1, 1);
    }
    g_assert_cmpuint(msi_cap, !=, 0);
    st_cfg_write(&x.f, AHCI_DEVFN, msi_cap + 4, 4, 0xfee00000u);
    st_cfg_write(&x.f, AHCI_DEVFN, msi_cap + 12, 2, 0x0041);
    st_cfg_write(&x.f, AHCI_DEVFN, msi_cap + 2, 2, 0x0001);
    wr(&x, PX(0, PX_IE), 0xffffffffu & ~(1u << 26));
    wr(&x, 0x04, 0x80000002u);
    msis = x.f.m->msi_count;

    /* READ DMA EXT across three PRDs (a 16 KiB range not a multiple of the entries). */
    prds[0] = (Prd){0x400000, 1024};
    prds[1] = (Prd){0x500000, 4096};
    prds[2] = (Prd){0x600000, 8192};
    fis_rw(cfis, 0x25, 3000, 26);
    is = issue(&x, 0, 3, cfis, NULL, prds, 3, false);
    g_assert_cmphex(is & (IS_DHRS | IS_TFES), ==, IS_DHRS);
    g_assert_cmpuint(prdbc(&x, 0, 3), ==, 26 * 512);
    for (unsigned i = 0; i < 2; i++) {
        check_sector(x.f.ram + 0x400000 + i * 512, 3000 + i, 0x5a7a, 512);
    }
    for (unsigned i = 0; i < 8; i++) {
        check_sector(x.f.ram + 0x500000 + i * 512, 3002 + i, 0x5a7a, 512);
    }
    for (unsigned i = 0; i < 16; i++) {
        check_sector(x.f.ram + 0x600000 + i * 512, 3010 + i, 0x5a7a, 512);
    }
    g_assert_cmpuint(x.f.m->msi_count, >, msis);
    g_assert_cmphex(x.f.m->last_msi_data, ==, 0x41);

    /* WRITE DMA (28-bit) and read the file back. */
    for (unsigned i = 0; i < sizeof(buf); i++) {
        x.f.ram[0x700000 + i] = (uint8_t)(i * 13 + 1);
    }
    prds[0] = (Prd){0x700000, sizeof(buf)};
    fis_rw(cfis, 0xca, 77, 8);
    cfis[8] = cfis[9] = cfis[10] = 0;
    is = issue(&x, 0, 31, cfis, NULL, prds, 1, true);
    g_assert_cmphex(is & (IS_DHRS | IS_TFES), ==, IS_DHRS);
    storage_read_file(x.disk, 77 * 512ull, buf, sizeof(buf));
    for (unsigned i = 0; i < sizeof(buf); i++) {
        g_assert_cmpuint(buf[i], ==, (uint8_t)(i * 13 + 1));
    }
    /* FLUSH CACHE EXT, PIO READ SECTORS through the PRDT too. */
    fis_rw(cfis, 0xea, 0, 0);
    g_assert_cmphex(issue(&x, 0, 1, cfis, NULL, NULL, 0, false) & IS_TFES, ==, 0);
    prds[0] = (Prd){0x300000, 1024};
    fis_rw(cfis, 0x20, 9, 2);
    g_assert_cmphex(issue(&x, 0, 2, cfis, NULL, prds, 1, false) & (IS_PSS | IS_TFES), ==, IS_PSS);
    check_sector(x.f.ram + 0x300000, 9, 0x5a7a, 512);
    check_sector(x.f.ram + 0x300200, 10, 0x5a7a, 512);

    /* INTx when MSI is off: slot 4 INTA is PIRQD on the PIIX3, routed to IRQ 11. */
    st_cfg_write(&x.f, AHCI_DEVFN, msi_cap + 2, 2, 0);
    st_cfg_write(&x.f, VMM_PCI_DEVFN(1, 0), 0x63, 1, 11);
    wr(&x, PX(0, PX_IS), 0xffffffffu);
    wr(&x, 0x08, 0xffffffffu);
    g_assert_false(x.f.m->irq_level[11]);
    fis_rw(cfis, 0xe7, 0, 0);
    memcpy(x.f.ram + ctba_of(0), cfis, 20);
    {
        uint32_t hdr[4] = {GUINT32_TO_LE(5u), 0, GUINT32_TO_LE(ctba_of(0)), 0};
        CiWait w = {&x, 0, 1};

        memcpy(x.f.ram + clb_of(0), hdr, sizeof(hdr));
        wr(&x, PX(0, PX_CI), 1);
        storage_wait(ci_clear, &w);
    }
    g_assert_true(x.f.m->irq_level[11]);
    wr(&x, PX(0, PX_IS), 0xffffffffu);
    wr(&x, 0x08, 0xffffffffu);
    g_assert_false(x.f.m->irq_level[11]);
    ahci_teardown(&x);
}

static uint32_t atapi(AhciFixture *x, const uint8_t cdb[12], uint32_t buf, uint32_t len)
{
    uint8_t cfis[20] = {0x27, 0x80, 0xa0, 0x01};
    Prd prd = {buf, len};

    cfis[5] = 0x00;
    cfis[6] = 0x08;
    return issue(x, 1, 0, cfis, cdb, &prd, len ? 1 : 0, false);
}

static uint8_t sense_key(AhciFixture *x, uint8_t *asc)
{
    const uint8_t rs[12] = {0x03, 0, 0, 0, 18};

    g_assert_cmphex(atapi(x, rs, 0x800000, 18) & IS_TFES, ==, 0);
    *asc = x->f.ram[0x800000 + 12];
    return x->f.ram[0x800000 + 2] & 0x0f;
}

static void test_atapi(void)
{
    AhciFixture x;
    g_autoptr(GError) err = NULL;
    const uint8_t cap[12] = {0x25};
    const uint8_t rd10[12] = {0x28, 0, 0, 0, 0, 5, 0, 0, 3};
    const uint8_t toc[12] = {0x43, 0, 0, 0, 0, 0, 0, 0, 0xff};
    const uint8_t tur[12] = {0};
    const uint8_t past[12] = {0x28, 0, 0, 0, 0, CD_BLOCKS, 0, 0, 1};
    uint8_t cfis[20] = {0x27, 0x80, 0xa1};
    Prd prd = {0x300000, 512};
    uint8_t asc;
    uint32_t is;

    ahci_setup(&x, true);
    g_assert_cmphex(issue(&x, 1, 0, cfis, NULL, &prd, 1, false) & (IS_PSS | IS_TFES), ==, IS_PSS);
    g_assert_cmphex(x.f.ram[0x300001], ==, 0x85);

    g_assert_cmphex(atapi(&x, cap, 0x800000, 8) & IS_TFES, ==, 0);
    g_assert_cmphex(x.f.ram[0x800003], ==, CD_BLOCKS - 1);
    g_assert_cmphex(x.f.ram[0x800006], ==, 0x08);

    memset(x.f.ram + 0x900000, 0, 3 * 2048);
    is = atapi(&x, rd10, 0x900000, 3 * 2048);
    g_assert_cmphex(is & (IS_DHRS | IS_TFES), ==, IS_DHRS);
    g_assert_cmpuint(prdbc(&x, 1, 0), ==, 3 * 2048);
    for (unsigned i = 0; i < 3; i++) {
        check_sector(x.f.ram + 0x900000 + i * 2048, 5 + i, 0xc0de, 2048);
    }
    /* D2H FIS for ATAPI: interrupt reason I/O + C/D. */
    g_assert_cmphex(x.f.ram[fb_of(1) + 0x40 + 12] & 3, ==, 3);

    g_assert_cmphex(atapi(&x, toc, 0x800000, 20) & IS_TFES, ==, 0);
    g_assert_cmpuint(x.f.ram[0x800000 + 1], ==, 18);

    /* Past the end: CHECK CONDITION, sense ILLEGAL REQUEST / LBA out of range. */
    is = atapi(&x, past, 0x900000, 2048);
    g_assert_cmphex(is & IS_TFES, ==, IS_TFES);
    g_assert_cmphex(rd(&x, PX(1, PX_TFD)) >> 12, ==, 0x05);
    recover(&x, 1);
    g_assert_cmphex(sense_key(&x, &asc), ==, 0x05);
    g_assert_cmphex(asc, ==, 0x21);

    /* Media change: UNIT ATTENTION, then ready; eject: NOT READY. */
    g_assert_true(ahci_change_media(x.dev, 1, x.iso, "raw", &err));
    g_assert_no_error(err);
    g_assert_cmphex(atapi(&x, tur, 0, 0) & IS_TFES, ==, IS_TFES);
    recover(&x, 1);
    g_assert_cmphex(sense_key(&x, &asc), ==, 0x06);
    g_assert_cmphex(asc, ==, 0x28);
    g_assert_cmphex(atapi(&x, tur, 0, 0) & IS_TFES, ==, 0);
    g_assert_true(ahci_change_media(x.dev, 1, NULL, NULL, &err));
    g_assert_cmphex(atapi(&x, cap, 0x800000, 8) & IS_TFES, ==, IS_TFES);
    recover(&x, 1);
    g_assert_cmphex(sense_key(&x, &asc), ==, 0x02);
    g_assert_cmphex(asc, ==, 0x3a);
    ahci_teardown(&x);
}

static void test_hostile(void)
{
    AhciFixture x;
    uint8_t cfis[20];
    Prd prds[2];
    uint32_t is;

    ahci_setup(&x, true);
    /* LBA past the end. */
    prds[0] = (Prd){0x300000, 512};
    fis_rw(cfis, 0x25, DISK_SECTORS, 1);
    g_assert_cmphex(issue(&x, 0, 0, cfis, NULL, prds, 1, false) & IS_TFES, ==, IS_TFES);
    recover(&x, 0);
    /* PRDs shorter than the transfer. */
    fis_rw(cfis, 0x25, 0, 4);
    g_assert_cmphex(issue(&x, 0, 0, cfis, NULL, prds, 1, false) & IS_TFES, ==, IS_TFES);
    recover(&x, 0);
    /* Oversized PRD byte count (4 MiB) reaching past RAM for a small transfer: only what
     * the transfer needs is touched. */
    prds[0] = (Prd){ST_RAM_SIZE - 4096, 4u << 20};
    fis_rw(cfis, 0x25, 0, 8);
    g_assert_cmphex(issue(&x, 0, 0, cfis, NULL, prds, 1, false) & IS_TFES, ==, 0);
    /* Data buffer outside RAM. */
    prds[0] = (Prd){0xfff00000u, 4096};
    is = issue(&x, 0, 0, cfis, NULL, prds, 1, false);
    g_assert_cmphex(is & (IS_TFES | IS_HBFS), !=, 0);
    recover(&x, 0);
    /* PRDT running off the end of RAM (PRDTL 65535). */
    {
        uint32_t ctba = ST_RAM_SIZE - 0x100;
        uint32_t hdr[4] = {GUINT32_TO_LE(5u | (65535u << 16)), 0, GUINT32_TO_LE(ctba), 0};
        CiWait w = {&x, 0, 1};

        fis_rw(cfis, 0x25, 0, 0); /* 65536 sectors */
        memcpy(x.f.ram + ctba, cfis, 20);
        memset(x.f.ram + ctba + 0x80, 0, 0x80);
        memcpy(x.f.ram + clb_of(0), hdr, sizeof(hdr));
        wr(&x, PX(0, PX_CI), 1);
        storage_wait(ci_clear, &w);
        g_assert_cmphex(rd(&x, PX(0, PX_IS)) & (IS_TFES | IS_HBFS), !=, 0);
        recover(&x, 0);
    }
    /* Command list outside RAM. */
    wr(&x, PX(0, PX_CMD), 0x10);
    wr(&x, PX(0, PX_CLB), 0xf0000000u);
    wr(&x, PX(0, PX_CMD), 0x11);
    wr(&x, PX(0, PX_CI), 1);
    g_assert_cmphex(rd(&x, PX(0, PX_IS)) & IS_HBFS, ==, IS_HBFS);
    g_assert_cmphex(rd(&x, PX(0, PX_CI)), ==, 0);
    wr(&x, PX(0, PX_CMD), 0x10);
    wr(&x, PX(0, PX_CLB), clb_of(0));
    recover(&x, 0);
    /* Command table outside RAM, not a H2D FIS, a FIS of zero length. */
    {
        uint32_t hdr[4] = {GUINT32_TO_LE(5u), 0, GUINT32_TO_LE(0xf8000000u), 0};
        CiWait w = {&x, 0, 1};

        memcpy(x.f.ram + clb_of(0), hdr, sizeof(hdr));
        wr(&x, PX(0, PX_CI), 1);
        storage_wait(ci_clear, &w);
        g_assert_cmphex(rd(&x, PX(0, PX_IS)) & IS_HBFS, ==, IS_HBFS);
        recover(&x, 0);
    }
    memset(cfis, 0, sizeof(cfis));
    cfis[0] = 0x34;
    g_assert_cmphex(issue(&x, 0, 0, cfis, NULL, NULL, 0, false) & IS_TFES, ==, IS_TFES);
    recover(&x, 0);
    /* A ragged register access pattern does nothing harmful. */
    for (uint32_t off = 0; off < 0x1000; off += 4) {
        (void)rd(&x, off);
    }
    /* Still working afterwards. */
    prds[0] = (Prd){0x300000, 1024};
    fis_rw(cfis, 0x25, 17, 2);
    g_assert_cmphex(issue(&x, 0, 5, cfis, NULL, prds, 1, false) & IS_TFES, ==, 0);
    check_sector(x.f.ram + 0x300000, 17, 0x5a7a, 512);
    ahci_teardown(&x);
}

/* Linux's resets: COMRESET through PxSCTL.DET, then a soft reset by two control FISes. */
static void test_resets(void)
{
    AhciFixture x;
    uint8_t cfis[20] = {0x27, 0x00};
    Prd prd = {0x300000, 512};

    ahci_setup(&x, true);
    wr(&x, PX(1, 0x2c), 0x301);
    g_assert_cmphex(rd(&x, PX(1, PX_SSTS)) & 0xf, ==, 0);
    wr(&x, PX(1, 0x2c), 0x300);
    g_assert_cmphex(rd(&x, PX(1, PX_SSTS)) & 0xf, ==, 3);
    g_assert_cmphex(rd(&x, PX(1, PX_SIG)), ==, 0xeb140101u);
    g_assert_cmphex(rd(&x, PX(1, PX_TFD)) & 0x88, ==, 0);
    g_assert_cmphex(rd(&x, PX(1, PX_SERR)) & (1u << 26), ==, 1u << 26);
    /* The signature FIS landed in the receive area. */
    g_assert_cmphex(x.f.ram[fb_of(1) + 0x40], ==, 0x34);
    g_assert_cmphex(x.f.ram[fb_of(1) + 0x40 + 5], ==, 0x14);
    g_assert_cmphex(x.f.ram[fb_of(1) + 0x40 + 6], ==, 0xeb);

    /* Soft reset: SRST set, then cleared; no interrupt, slot done, signature posted. */
    memset(x.f.ram + fb_of(0) + 0x40, 0, 20);
    cfis[15] = 0x04;
    g_assert_cmphex(issue(&x, 0, 0, cfis, NULL, NULL, 0, false) & (IS_TFES | IS_HBFS), ==, 0);
    cfis[15] = 0x00;
    g_assert_cmphex(issue(&x, 0, 0, cfis, NULL, NULL, 0, false) & (IS_TFES | IS_HBFS), ==, 0);
    g_assert_cmphex(x.f.ram[fb_of(0) + 0x40], ==, 0x34);
    g_assert_cmphex(x.f.ram[fb_of(0) + 0x40 + 12], ==, 1);
    g_assert_cmphex(rd(&x, PX(0, PX_SIG)), ==, 0x101);
    g_assert_cmphex(rd(&x, PX(0, PX_TFD)) & 0xff, ==, 0x50);
    /* The port still works. */
    fis_rw(cfis, 0x25, 5, 1);
    g_assert_cmphex(issue(&x, 0, 7, cfis, NULL, &prd, 1, false) & IS_TFES, ==, 0);
    check_sector(x.f.ram + 0x300000, 5, 0x5a7a, 512);
    ahci_teardown(&x);
}

static void put_range(uint8_t *p, uint64_t lba, uint16_t count)
{
    uint64_t v = GUINT64_TO_LE(lba | ((uint64_t)count << 48));

    memcpy(p, &v, 8);
}

/* DATA SET MANAGEMENT (TRIM): advertised, ranges taken by DMA, ranges checked. */
static void test_trim(void)
{
    AhciFixture x;
    uint8_t cfis[20];
    uint8_t id[512];
    Prd prd = {0x300000, 512};

    ahci_setup(&x, true);
    memset(cfis, 0, sizeof(cfis));
    cfis[0] = 0x27;
    cfis[1] = 0x80;
    cfis[2] = 0xec;
    g_assert_cmphex(issue(&x, 0, 0, cfis, NULL, &prd, 1, false) & IS_TFES, ==, 0);
    memcpy(id, x.f.ram + 0x300000, sizeof(id));
    g_assert_cmphex(id[169 * 2] & 1, ==, 1);
    g_assert_cmpuint(id[105 * 2], >=, 1);

    memset(x.f.ram + 0x310000, 0, 512);
    put_range(x.f.ram + 0x310000, 8, 16);
    put_range(x.f.ram + 0x310008, 100, 0); /* empty entry: skipped */
    put_range(x.f.ram + 0x310010, 200, 8);
    prd = (Prd){0x310000, 512};
    fis_rw(cfis, 0x06, 0, 1);
    cfis[3] = 0x01;
    g_assert_cmphex(issue(&x, 0, 1, cfis, NULL, &prd, 1, true) & (IS_DHRS | IS_TFES), ==, IS_DHRS);
    g_assert_cmpuint(prdbc(&x, 0, 1), ==, 512);

    /* A range past the end fails the command; TRIM bit clear is refused. */
    put_range(x.f.ram + 0x310018, DISK_SECTORS - 4, 8);
    g_assert_cmphex(issue(&x, 0, 1, cfis, NULL, &prd, 1, true) & IS_TFES, ==, IS_TFES);
    recover(&x, 0);
    memset(x.f.ram + 0x310018, 0, 8);
    cfis[3] = 0x00;
    g_assert_cmphex(issue(&x, 0, 1, cfis, NULL, &prd, 1, true) & IS_TFES, ==, IS_TFES);
    recover(&x, 0);
    /* Data outside the trimmed ranges is intact. */
    prd = (Prd){0x320000, 512};
    fis_rw(cfis, 0x25, 30, 1);
    g_assert_cmphex(issue(&x, 0, 2, cfis, NULL, &prd, 1, false) & IS_TFES, ==, 0);
    check_sector(x.f.ram + 0x320000, 30, 0x5a7a, 512);
    ahci_teardown(&x);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ahci/registers", test_registers);
    g_test_add_func("/ahci/identify-rw", test_identify_rw);
    g_test_add_func("/ahci/atapi", test_atapi);
    g_test_add_func("/ahci/hostile", test_hostile);
    g_test_add_func("/ahci/resets", test_resets);
    g_test_add_func("/ahci/trim", test_trim);
    return g_test_run();
}
