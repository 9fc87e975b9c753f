/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * virtio-blk on the modern virtio-pci transport, driven end to end by a small
 * test-side driver on a fake machine: PCI identity and capabilities, feature
 * negotiation, queue set-up, requests against a memory-backed fake block layer,
 * indirect descriptors, event-index and flag suppression, MSI-X and INTx/ISR
 * interrupts, device reset and hostile rings.
 */
#define G_LOG_DOMAIN "test-virtio-blk"
#include <glib.h>
#include <string.h>

#include "../chipset/chipset-helpers.h"
#include "devices/virtio/virtio-blk.h"
#include "devices/virtio/virtio-pci.h"
#include "fake-block.h"
#include "vmm/machine.h"

#define RAM_SIZE (16u * 1024 * 1024)
#define DEVFN 0x18
#define BAR4_ADDR 0xe0000000ull
#define BAR1_ADDR 0xe0100000ull
#define DISK_SIZE (1024u * 1024)
#define QSIZE 16

#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define HDR 0x100000
#define DATA 0x101000
#define STATUS 0x120000
#define INDIRECT 0x130000

#define F_RO (1ull << 5)
#define F_BLK_SIZE (1ull << 6)
#define F_FLUSH (1ull << 9)
#define F_DISCARD (1ull << 13)
#define F_SEG_MAX (1ull << 2)
#define F_INDIRECT (1ull << VIRTIO_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ull << VIRTIO_F_EVENT_IDX)
#define F_VERSION_1 (1ull << VIRTIO_F_VERSION_1)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11

typedef struct {
    ChipsetFixture f;
    VmmDevice *dev;
    uint8_t *ram;
    uint16_t avail_idx;
    uint64_t features;
} T;

typedef struct {
    uint64_t gpa;
    uint32_t len;
    bool write;
} Seg;

static uint64_t rd(T *t, unsigned off, unsigned size)
{
    return vmm_bus_read_val(t->f.m->mmio, BAR4_ADDR + off, size);
}

static void wr(T *t, unsigned off, uint64_t v, unsigned size)
{
    vmm_bus_write_val(t->f.m->mmio, BAR4_ADDR + off, v, size);
}

static void put16(T *t, uint64_t gpa, uint16_t v)
{
    g_assert_cmpint(vmm_guest_write_u16(t->f.m->mem, gpa, v), ==, 0);
}

static uint16_t get16(T *t, uint64_t gpa)
{
    uint16_t v = 0;
    g_assert_cmpint(vmm_guest_read_u16(t->f.m->mem, gpa, &v), ==, 0);
    return v;
}

static uint32_t get32(T *t, uint64_t gpa)
{
    uint32_t v = 0;
    g_assert_cmpint(vmm_guest_read_u32(t->f.m->mem, gpa, &v), ==, 0);
    return v;
}

static void put_desc(T *t, uint64_t gpa, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    g_assert_cmpint(vmm_guest_write_u64(t->f.m->mem, gpa, addr), ==, 0);
    g_assert_cmpint(vmm_guest_write_u32(t->f.m->mem, gpa + 8, len), ==, 0);
    put16(t, gpa + 12, flags);
    put16(t, gpa + 14, next);
}

static void setup_full2(T *t, bool readonly, uint16_t num_queues, bool split_ram);

static void setup_full(T *t, bool readonly, uint16_t num_queues)
{
    setup_full2(t, readonly, num_queues, false);
}

/* @split_ram: RAM as two adjacent regions meeting at DATA. */
static void setup_full2(T *t, bool readonly, uint16_t num_queues, bool split_ram)
{
    g_autoptr(GError) err = NULL;

    memset(t, 0, sizeof(*t));
    fake_block_init(DISK_SIZE);
    chipset_setup(&t->f, 0);
    g_assert_true(vmm_guest_mem_alloc_ram(t->f.m->mem, RAM_SIZE, &err));
    t->ram = vmm_guest_mem_ram_ptr(t->f.m->mem, 0, RAM_SIZE);
    if (split_ram) {
        uint64_t cut = DATA; /* page aligned */
        g_assert_cmpint(vmm_guest_mem_add_region(t->f.m->mem, "ram-lo", 0, cut, t->ram, 0), >=, 0);
        g_assert_cmpint(
            vmm_guest_mem_add_region(t->f.m->mem, "ram-hi", cut, RAM_SIZE - cut, t->ram + cut, 0),
            >=, 0);
    } else {
        g_assert_cmpint(vmm_guest_mem_add_region(t->f.m->mem, "ram", 0, RAM_SIZE, t->ram, 0), >=,
                        0);
    }

    VmmCfgNode *node = chipset_addr_cfg(&t->f, "vblk", DEVFN);
    vmm_cfg_set_string(node, "file", "fake.img");
    vmm_cfg_set_string(node, "serial", "BOXWOOD-SERIAL-1");
    vmm_cfg_set_int(node, "readonly", readonly);
    vmm_cfg_set_int(node, "num_queues", num_queues);
    t->dev = vmm_device_create(t->f.m, &virtio_blk_type, "vblk", node, &err);
    g_assert_no_error(err);
    g_assert_nonnull(t->dev);

    /* Firmware's job: place the BARs and enable decoding + bus mastering. */
    cfg_write(&t->f, DEVFN, 0x20, 4, (uint32_t)BAR4_ADDR);
    cfg_write(&t->f, DEVFN, 0x24, 4, (uint32_t)(BAR4_ADDR >> 32));
    cfg_write(&t->f, DEVFN, 0x14, 4, (uint32_t)BAR1_ADDR);
    cfg_write(&t->f, DEVFN, 0x04, 2, VMM_PCI_COMMAND_MEMORY | VMM_PCI_COMMAND_MASTER);
}

static void setup(T *t)
{
    setup_full(t, false, 1);
}

static void teardown(T *t)
{
    g_assert_cmpuint(fake_block_pending(), ==, 0);
    chipset_teardown(&t->f);
    fake_block_cleanup();
}

static uint64_t host_features(T *t)
{
    wr(t, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    uint64_t lo = rd(t, VIRTIO_PCI_COMMON_DF, 4);
    wr(t, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
    uint64_t hi = rd(t, VIRTIO_PCI_COMMON_DF, 4);
    return lo | (hi << 32);
}

/* Driver initialisation (§3.1.1) with @want & host features, queue 0 of QSIZE entries. */
static void driver_init(T *t, uint64_t want)
{
    wr(t, VIRTIO_PCI_COMMON_STATUS, 0, 1);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_STATUS, 1), ==, 0);
    wr(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
    wr(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
    t->features = host_features(t) & want;
    wr(t, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    wr(t, VIRTIO_PCI_COMMON_GF, (uint32_t)t->features, 4);
    wr(t, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    wr(t, VIRTIO_PCI_COMMON_GF, (uint32_t)(t->features >> 32), 4);
    uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    wr(t, VIRTIO_PCI_COMMON_STATUS, st, 1);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_STATUS, 1), ==, st);

    memset(t->ram + DESC, 0, 0x3000);
    t->avail_idx = 0;
    wr(t, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_Q_SIZE, 2), ==, 256);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 0);
    wr(t, VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
    wr(t, VIRTIO_PCI_COMMON_Q_DESCLO, DESC, 4);
    wr(t, VIRTIO_PCI_COMMON_Q_DESCHI, 0, 4);
    wr(t, VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL, 4);
    wr(t, VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
    wr(t, VIRTIO_PCI_COMMON_Q_USEDLO, USED, 4);
    wr(t, VIRTIO_PCI_COMMON_Q_USEDHI, 0, 4);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_Q_NOFF, 2), ==, 0);
    wr(t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 1);
    wr(t, VIRTIO_PCI_COMMON_STATUS, st | VIRTIO_STATUS_DRIVER_OK, 1);
}

static uint64_t default_features(void)
{
    return F_VERSION_1 | F_FLUSH | F_BLK_SIZE | F_SEG_MAX | F_DISCARD | F_RO | F_INDIRECT;
}

/* Makes a chain from @segs at descriptor @base (or one indirect descriptor) and kicks. */
static void submit_at(T *t, uint16_t base, const Seg *segs, unsigned n, bool indirect)
{
    uint64_t table = indirect ? INDIRECT : DESC + 16ull * base;
    uint16_t first = indirect ? 0 : base;

    for (unsigned i = 0; i < n; i++) {
        uint16_t flags =
            (segs[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
        put_desc(t, table + 16ull * i, segs[i].gpa, segs[i].len, flags, first + i + 1);
    }
    if (indirect) {
        put_desc(t, DESC + 16ull * base, INDIRECT, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
    }
    put16(t, AVAIL + 4 + 2 * (t->avail_idx % QSIZE), base);
    t->avail_idx++;
    put16(t, AVAIL + 2, t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void put_hdr(T *t, uint64_t gpa, uint32_t type, uint64_t sector)
{
    g_assert_cmpint(vmm_guest_write_u32(t->f.m->mem, gpa, type), ==, 0);
    g_assert_cmpint(vmm_guest_write_u32(t->f.m->mem, gpa + 4, 0), ==, 0);
    g_assert_cmpint(vmm_guest_write_u64(t->f.m->mem, gpa + 8, sector), ==, 0);
}

/* One request: header, data (@len bytes at DATA, device-writable when @in), status. */
static uint8_t do_request(T *t, uint32_t type, uint64_t sector, uint32_t len, bool in,
                          uint32_t *used_len)
{
    uint16_t used_before = get16(t, USED + 2);
    Seg segs[3] = {{HDR, 16, false}, {DATA, len, in}, {STATUS, 1, true}};
    Seg no_data[2] = {{HDR, 16, false}, {STATUS, 1, true}};

    put_hdr(t, HDR, type, sector);
    t->ram[STATUS] = 0xee;
    if (len) {
        submit_at(t, 0, segs, 3, false);
    } else {
        submit_at(t, 0, no_data, 2, false);
    }
    fake_block_run();
    g_assert_cmpuint(get16(t, USED + 2), ==, (uint16_t)(used_before + 1));
    unsigned slot = used_before % QSIZE;
    g_assert_cmpuint(get32(t, USED + 4 + 8 * slot), ==, 0);
    if (used_len) {
        *used_len = get32(t, USED + 8 + 8 * slot);
    }
    return t->ram[STATUS];
}

static unsigned find_cap(T *t, uint8_t id, uint8_t vtype)
{
    unsigned off = cfg_read(&t->f, DEVFN, VMM_PCI_CAPABILITY_LIST, 1);

    for (unsigned guard = 0; off != 0 && guard < 48; guard++) {
        if (cfg_read(&t->f, DEVFN, off, 1) == id &&
            (id != VMM_PCI_CAP_ID_VNDR || cfg_read(&t->f, DEVFN, off + 3, 1) == vtype)) {
            return off;
        }
        off = cfg_read(&t->f, DEVFN, off + 1, 1);
    }
    return 0;
}

static void test_identity(void)
{
    T t;

    setup(&t);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, VMM_PCI_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, VMM_PCI_DEVICE_ID, 2), ==, 0x1042);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, VMM_PCI_REVISION_ID, 1), ==, 1);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, VMM_PCI_SUBSYSTEM_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, VMM_PCI_CLASS_DEVICE, 2), ==, 0x0100);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, VMM_PCI_INTERRUPT_PIN, 1), ==, 1);
    /* BAR 4: 64-bit prefetchable memory, 16 KiB (size probe). */
    g_assert_cmphex(cfg_read(&t.f, DEVFN, 0x20, 4) & 0xf, ==, 0xc);
    cfg_write(&t.f, DEVFN, 0x20, 4, 0xffffffff);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, 0x20, 4) & ~0xfu, ==, ~(VIRTIO_PCI_BAR_SIZE - 1));
    cfg_write(&t.f, DEVFN, 0x20, 4, (uint32_t)BAR4_ADDR);

    static const struct {
        uint8_t type;
        uint32_t offset;
    } caps[] = {
        {VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF},
        {VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF},
        {VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF},
        {VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(caps); i++) {
        unsigned c = find_cap(&t, VMM_PCI_CAP_ID_VNDR, caps[i].type);
        g_assert_cmpuint(c, !=, 0);
        g_assert_cmpuint(cfg_read(&t.f, DEVFN, c + 4, 1), ==, 4);
        g_assert_cmphex(cfg_read(&t.f, DEVFN, c + 8, 4), ==, caps[i].offset);
        g_assert_cmpuint(cfg_read(&t.f, DEVFN, c + 12, 4), >, 0);
    }
    unsigned notify = find_cap(&t, VMM_PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_NOTIFY_CFG);
    g_assert_cmpuint(cfg_read(&t.f, DEVFN, notify + 2, 1), ==, 20);
    g_assert_cmpuint(cfg_read(&t.f, DEVFN, notify + 16, 4), ==, 4);
    g_assert_cmpuint(find_cap(&t, VMM_PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_PCI_CFG), !=, 0);
    unsigned msix = find_cap(&t, VMM_PCI_CAP_ID_MSIX, 0);
    g_assert_cmpuint(msix, !=, 0);
    g_assert_cmpuint((cfg_read(&t.f, DEVFN, msix + 2, 2) & 0x7ff) + 1, ==, 2);
    g_assert_cmpuint(cfg_read(&t.f, DEVFN, msix + 4, 4) & 7, ==, 1); /* table in BAR 1 */
    teardown(&t);
}

static void test_features(void)
{
    T t;

    setup(&t);
    uint64_t f = host_features(&t);
    g_assert_true(f & F_VERSION_1);
    g_assert_true(f & F_FLUSH);
    g_assert_true(f & F_BLK_SIZE);
    g_assert_true(f & F_SEG_MAX);
    g_assert_true(f & F_DISCARD);
    g_assert_true(f & F_INDIRECT);
    g_assert_true(f & F_EVENT_IDX);
    g_assert_false(f & F_RO);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_NUMQ, 2), ==, 1);

    /* A legacy-only driver (no VERSION_1) does not get FEATURES_OK. */
    wr(&t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
    wr(&t, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    wr(&t, VIRTIO_PCI_COMMON_GF, (uint32_t)F_FLUSH, 4);
    wr(&t, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK, ==, 0);
    /* Nor does one asking for a feature that was not offered. */
    wr(&t, VIRTIO_PCI_COMMON_STATUS, 0, 1);
    wr(&t, VIRTIO_PCI_COMMON_STATUS, 3, 1);
    wr(&t, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    wr(&t, VIRTIO_PCI_COMMON_GF, 0x80000001u, 4);
    wr(&t, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK, ==, 0);

    /* Device config: capacity in sectors, block size, seg_max. */
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_DEVICE_OFF, 4), ==, DISK_SIZE / 512);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_DEVICE_OFF + 4, 4), ==, 0);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_DEVICE_OFF + 12, 4), ==, 254);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_DEVICE_OFF + 20, 4), ==, 512);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_DEVICE_OFF + 34, 2), ==, 1);
    teardown(&t);
}

static void test_requests(void)
{
    T t;
    uint32_t used_len;

    setup(&t);
    driver_init(&t, default_features());

    /* IN: two sectors from sector 3, straight into guest memory. */
    memset(t.ram + DATA, 0, 1024);
    g_assert_cmpuint(do_request(&t, T_IN, 3, 1024, true, &used_len), ==, 0);
    g_assert_cmpuint(used_len, ==, 1025);
    g_assert_cmpmem(t.ram + DATA, 1024, fake_block.data + 3 * 512, 1024);

    /* OUT: one sector to sector 5. */
    for (unsigned i = 0; i < 512; i++) {
        t.ram[DATA + i] = (uint8_t)(0xa5 ^ i);
    }
    g_assert_cmpuint(do_request(&t, T_OUT, 5, 512, false, NULL), ==, 0);
    g_assert_cmpmem(fake_block.data + 5 * 512, 512, t.ram + DATA, 512);
    g_assert_cmpuint(fake_block.writes, ==, 1);

    /* FLUSH. */
    g_assert_cmpuint(do_request(&t, T_FLUSH, 0, 0, false, NULL), ==, 0);
    g_assert_cmpuint(fake_block.flushes, ==, 1);

    /* GET_ID: the serial, NUL-padded to 20 bytes. */
    memset(t.ram + DATA, 0xff, 20);
    g_assert_cmpuint(do_request(&t, T_GET_ID, 0, 20, true, &used_len), ==, 0);
    g_assert_cmpuint(used_len, ==, 21);
    g_assert_cmpstr((const char *)t.ram + DATA, ==, "BOXWOOD-SERIAL-1");

    /* DISCARD: one segment (sector 8, 4 sectors). */
    g_assert_cmpint(vmm_guest_write_u64(t.f.m->mem, DATA, 8), ==, 0);
    g_assert_cmpint(vmm_guest_write_u32(t.f.m->mem, DATA + 8, 4), ==, 0);
    g_assert_cmpint(vmm_guest_write_u32(t.f.m->mem, DATA + 12, 0), ==, 0);
    g_assert_cmpuint(do_request(&t, T_DISCARD, 0, 16, false, NULL), ==, 0);
    g_assert_cmpuint(fake_block.discards, ==, 1);
    g_assert_cmpuint(fake_block.last_discard_offset, ==, 8 * 512);
    g_assert_cmpuint(fake_block.last_discard_len, ==, 4 * 512);

    /* Out of range, straddling the end, unaligned length, unknown type. */
    unsigned reads = fake_block.reads;
    g_assert_cmpuint(do_request(&t, T_IN, DISK_SIZE / 512, 512, true, NULL), ==, 1);
    g_assert_cmpuint(do_request(&t, T_IN, DISK_SIZE / 512 - 1, 1024, true, NULL), ==, 1);
    g_assert_cmpuint(do_request(&t, T_IN, UINT64_MAX, 512, true, NULL), ==, 1);
    g_assert_cmpuint(do_request(&t, T_OUT, 0, 100, false, NULL), ==, 1);
    g_assert_cmpuint(do_request(&t, 77, 0, 0, false, NULL), ==, 2);
    g_assert_cmpuint(fake_block.reads, ==, reads);

    /* A back-end error reaches the guest as IOERR. */
    fake_block.fail_next = -5;
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 1);

    /* Still healthy. */
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    teardown(&t);
}

static void test_indirect_and_batch(void)
{
    T t;

    setup(&t);
    driver_init(&t, default_features());

    /* Header and data split over several indirect entries: 3 sectors from sector 10. */
    put_hdr(&t, HDR, T_IN, 10);
    memset(t.ram + DATA, 0, 0x2000);
    t.ram[STATUS] = 0xee;
    Seg segs[5] = {
        {HDR, 8, false},   {HDR + 8, 8, false}, {DATA, 700, true}, {DATA + 0x1000, 836, true},
        {STATUS, 1, true},
    };
    submit_at(&t, 0, segs, 5, true);
    g_assert_cmpuint(fake_block_run(), ==, 1);
    g_assert_cmpuint(t.ram[STATUS], ==, 0);
    g_assert_cmpuint(get16(&t, USED + 2), ==, 1);
    g_assert_cmpuint(get32(&t, USED + 8), ==, 1537);
    g_assert_cmpmem(t.ram + DATA, 700, fake_block.data + 10 * 512, 700);
    g_assert_cmpmem(t.ram + DATA + 0x1000, 836, fake_block.data + 10 * 512 + 700, 836);

    /* Two requests in flight at once (heads 2 and 6), completed together. */
    put_hdr(&t, HDR, T_IN, 1);
    put_hdr(&t, HDR + 0x100, T_IN, 2);
    Seg a[3] = {{HDR, 16, false}, {DATA, 512, true}, {STATUS, 1, true}};
    Seg b[3] = {{HDR + 0x100, 16, false}, {DATA + 0x800, 512, true}, {STATUS + 1, 1, true}};
    submit_at(&t, 2, a, 3, false);
    submit_at(&t, 6, b, 3, false);
    g_assert_cmpuint(fake_block_pending(), ==, 2);
    g_assert_cmpuint(get16(&t, USED + 2), ==, 1);
    g_assert_cmpuint(fake_block_run(), ==, 2);
    g_assert_cmpuint(get16(&t, USED + 2), ==, 3);
    g_assert_cmpuint(get32(&t, USED + 4 + 8), ==, 2);
    g_assert_cmpuint(get32(&t, USED + 4 + 16), ==, 6);
    g_assert_cmpmem(t.ram + DATA, 512, fake_block.data + 512, 512);
    g_assert_cmpmem(t.ram + DATA + 0x800, 512, fake_block.data + 1024, 512);
    teardown(&t);
}

static void enable_msix(T *t)
{
    unsigned msix = find_cap(t, VMM_PCI_CAP_ID_MSIX, 0);

    for (unsigned v = 0; v < 2; v++) {
        uint64_t e = BAR1_ADDR + 16 * v;
        vmm_bus_write_val(t->f.m->mmio, e, 0xfee00000u, 4);
        vmm_bus_write_val(t->f.m->mmio, e + 4, 0, 4);
        vmm_bus_write_val(t->f.m->mmio, e + 8, 0x40 + v, 4);
        vmm_bus_write_val(t->f.m->mmio, e + 12, 0, 4);
    }
    cfg_write(&t->f, DEVFN, msix + 2, 2, 0x8000);
    wr(t, VIRTIO_PCI_COMMON_MSIX, 0, 2);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_MSIX, 2), ==, 0);
    wr(t, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    wr(t, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
    g_assert_cmpuint(rd(t, VIRTIO_PCI_COMMON_Q_MSIX, 2), ==, 1);
    /* A vector the function does not have is refused. */
    wr(t, VIRTIO_PCI_COMMON_MSIX, 7, 2);
    g_assert_cmphex(rd(t, VIRTIO_PCI_COMMON_MSIX, 2), ==, VIRTIO_MSI_NO_VECTOR);
    wr(t, VIRTIO_PCI_COMMON_MSIX, 0, 2);
}

static void test_msix(void)
{
    T t;

    setup(&t);
    driver_init(&t, default_features());
    enable_msix(&t);

    unsigned before = t.f.m->msi_count;
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, before + 1);
    g_assert_cmphex(t.f.m->last_msi_addr, ==, 0xfee00000u);
    g_assert_cmphex(t.f.m->last_msi_data, ==, 0x41);
    /* MSI-X on: INTx stays quiet and the ISR is not used for queue interrupts. */
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_ISR_OFF, 1), ==, 0);

    /* Without EVENT_IDX the driver's NO_INTERRUPT flag suppresses the interrupt. */
    put16(&t, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, before + 1);
    put16(&t, AVAIL, 0);
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, before + 2);

    /* Masked vector: pending bit instead of a message, sent on unmask. */
    vmm_bus_write_val(t.f.m->mmio, BAR1_ADDR + 16 + 12, 1, 4);
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, before + 2);
    vmm_bus_write_val(t.f.m->mmio, BAR1_ADDR + 16 + 12, 0, 4);
    g_assert_cmpuint(t.f.m->msi_count, ==, before + 3);
    teardown(&t);
}

static void test_event_idx(void)
{
    T t;

    setup(&t);
    driver_init(&t, default_features() | F_EVENT_IDX);
    g_assert_true(t.features & F_EVENT_IDX);
    enable_msix(&t);

    unsigned before = t.f.m->msi_count;
    /* used_event = 1: interrupt only once the used index moves past 1. */
    put16(&t, AVAIL + 4 + 2 * QSIZE, 1);
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, before);
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, before + 1);
    /* used_event already behind: no more interrupts until the driver moves it. */
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, before + 1);
    put16(&t, AVAIL + 4 + 2 * QSIZE, 3);
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, before + 2);
    /* The device published avail_event = the next entry it will consume. */
    g_assert_cmpuint(get16(&t, USED + 4 + 8 * QSIZE), ==, 4);
    /* The used ring's flags are not used for suppression with EVENT_IDX. */
    g_assert_cmpuint(get16(&t, USED), ==, 0);
    teardown(&t);
}

static void test_intx_isr(void)
{
    T t;

    setup(&t);
    /* Route every PIRQ link to IRQ 11 (the PIIX3 function at 00:01.0). */
    cfg_write(&t.f, 0x08, 0x60, 4, 0x0b0b0b0b);
    driver_init(&t, default_features());

    g_assert_false(t.f.m->irq_level[11]);
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    g_assert_true(t.f.m->irq_level[11]);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, VMM_PCI_STATUS, 2) & VMM_PCI_STATUS_INTERRUPT, !=, 0);
    /* Reading the ISR acknowledges and lowers the line. */
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_ISR_OFF, 1), ==, 1);
    g_assert_false(t.f.m->irq_level[11]);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_ISR_OFF, 1), ==, 0);
    teardown(&t);
}

static void test_reset(void)
{
    T t;

    setup(&t);
    driver_init(&t, default_features());
    enable_msix(&t);

    /* A request in flight across a device reset is not returned afterwards. */
    put_hdr(&t, HDR, T_IN, 0);
    Seg segs[3] = {{HDR, 16, false}, {DATA, 512, true}, {STATUS, 1, true}};
    submit_at(&t, 0, segs, 3, false);
    g_assert_cmpuint(fake_block_pending(), ==, 1);
    wr(&t, VIRTIO_PCI_COMMON_STATUS, 0, 1);
    /* Reset completes (status reads 0) only once the in-flight request is done. */
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1), !=, 0);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 0);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_SIZE, 2), ==, 256);
    g_assert_cmphex(rd(&t, VIRTIO_PCI_COMMON_Q_MSIX, 2), ==, VIRTIO_MSI_NO_VECTOR);
    g_assert_cmphex(rd(&t, VIRTIO_PCI_COMMON_MSIX, 2), ==, VIRTIO_MSI_NO_VECTOR);
    wr(&t, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_GF, 4), ==, 0);
    unsigned msis = t.f.m->msi_count;
    fake_block_run();
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1), ==, 0);
    g_assert_cmpuint(get16(&t, USED + 2), ==, 0);
    g_assert_cmpuint(t.f.m->msi_count, ==, msis);

    /* Re-initialised, the device works again. */
    driver_init(&t, default_features());
    g_assert_cmpuint(do_request(&t, T_IN, 1, 512, true, NULL), ==, 0);
    g_assert_cmpmem(t.ram + DATA, 512, fake_block.data + 512, 512);

    /* Machine reset: back to power-on, BARs unmapped. */
    vmm_device_reset(t.dev);
    g_assert_cmphex(cfg_read(&t.f, DEVFN, VMM_PCI_COMMAND, 2), ==, 0);
    g_assert_cmphex(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1), ==, 0xff); /* unmapped */
    cfg_write(&t.f, DEVFN, 0x20, 4, (uint32_t)BAR4_ADDR);
    cfg_write(&t.f, DEVFN, 0x24, 4, (uint32_t)(BAR4_ADDR >> 32));
    cfg_write(&t.f, DEVFN, 0x04, 2, VMM_PCI_COMMAND_MEMORY | VMM_PCI_COMMAND_MASTER);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1), ==, 0);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 0);
    teardown(&t);
}

/* A buffer straddling two adjacent memory regions is split, not refused. */
static void test_split_regions(void)
{
    T t;

    setup_full2(&t, false, 1, true);
    driver_init(&t, default_features());
    put_hdr(&t, HDR, T_IN, 4);
    memset(t.ram + DATA - 0x200, 0, 1024);
    t.ram[STATUS] = 0xee;
    Seg segs[3] = {{HDR, 16, false}, {DATA - 0x200, 1024, true}, {STATUS, 1, true}};
    submit_at(&t, 0, segs, 3, false);
    g_assert_cmpuint(fake_block_run(), ==, 1);
    g_assert_cmpuint(t.ram[STATUS], ==, 0);
    g_assert_cmpmem(t.ram + DATA - 0x200, 1024, fake_block.data + 4 * 512, 1024);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    teardown(&t);
}

/* 16-bit ring indices wrap: interrupts keep following used_event across the wrap. */
static void test_index_wrap(void)
{
    T t;

    setup(&t);
    driver_init(&t, default_features() | F_EVENT_IDX);
    enable_msix(&t);
    unsigned before = t.f.m->msi_count;
    unsigned n = 65536 + 40;
    for (unsigned i = 0; i < n; i++) {
        /* Every other request asks for an interrupt at the next used index. */
        put16(&t, AVAIL + 4 + 2 * QSIZE, (i % 2) ? (uint16_t)i : (uint16_t)(i + 7));
        g_assert_cmpuint(do_request(&t, T_FLUSH, 0, 0, false, NULL), ==, 0);
    }
    g_assert_cmpuint(t.f.m->msi_count - before, ==, n / 2);
    g_assert_cmpuint(get16(&t, USED + 2), ==, (uint16_t)n);
    g_assert_cmpuint(fake_block.flushes, ==, n);
    teardown(&t);
}

/* A driver re-queuing chains that are still in flight cannot pile up unbounded work. */
static void test_inflight_cap(void)
{
    T t;

    setup(&t);
    driver_init(&t, default_features());
    put_hdr(&t, HDR, T_IN, 0);
    Seg segs[3] = {{HDR, 16, false}, {DATA, 512, true}, {STATUS, 1, true}};
    for (unsigned i = 0; i < 2 * QSIZE; i++) {
        submit_at(&t, 0, segs, 3, false);
    }
    g_assert_cmpuint(fake_block_pending(), ==, QSIZE);
    g_assert_cmpuint(fake_block_run(), ==, 2 * QSIZE);
    g_assert_cmpuint(get16(&t, USED + 2), ==, 2 * QSIZE);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    teardown(&t);
}

static void test_readonly(void)
{
    T t;

    setup_full(&t, true, 1);
    g_assert_true(host_features(&t) & F_RO);
    g_assert_false(host_features(&t) & F_DISCARD);
    driver_init(&t, default_features());
    g_assert_cmpuint(do_request(&t, T_OUT, 0, 512, false, NULL), ==, 1);
    g_assert_cmpuint(fake_block.writes, ==, 0);
    g_assert_cmpuint(do_request(&t, T_IN, 0, 512, true, NULL), ==, 0);
    teardown(&t);
}

static void test_multiqueue(void)
{
    T t;

    setup_full(&t, false, 2);
    g_assert_true(host_features(&t) & (1ull << 12));
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_NUMQ, 2), ==, 2);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_DEVICE_OFF + 34, 2), ==, 2);
    wr(&t, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_NOFF, 2), ==, 1);
    wr(&t, VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_SIZE, 2), ==, 0);

    /* Queue 0 as usual, plus queue 1 with its own rings and MSI-X vector 2. */
    driver_init(&t, default_features() | (1ull << 12));
    const uint64_t desc1 = 0x20000, avail1 = 0x21000, used1 = 0x22000;
    memset(t.ram + desc1, 0, 0x3000);
    wr(&t, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
    wr(&t, VIRTIO_PCI_COMMON_Q_SIZE, 4, 2);
    wr(&t, VIRTIO_PCI_COMMON_Q_DESCLO, desc1, 4);
    wr(&t, VIRTIO_PCI_COMMON_Q_AVAILLO, avail1, 4);
    wr(&t, VIRTIO_PCI_COMMON_Q_USEDLO, used1, 4);
    wr(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 1);
    unsigned msix = find_cap(&t, VMM_PCI_CAP_ID_MSIX, 0);
    g_assert_cmpuint((cfg_read(&t.f, DEVFN, msix + 2, 2) & 0x7ff) + 1, ==, 3);
    vmm_bus_write_val(t.f.m->mmio, BAR1_ADDR + 32, 0xfee00000u, 4);
    vmm_bus_write_val(t.f.m->mmio, BAR1_ADDR + 40, 0x52, 4);
    vmm_bus_write_val(t.f.m->mmio, BAR1_ADDR + 44, 0, 4);
    cfg_write(&t.f, DEVFN, msix + 2, 2, 0x8000);
    wr(&t, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);

    put_hdr(&t, HDR, T_IN, 9);
    memset(t.ram + DATA, 0, 512);
    put_desc(&t, desc1, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(&t, desc1 + 16, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    put_desc(&t, desc1 + 32, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    put16(&t, avail1 + 4, 0);
    put16(&t, avail1 + 2, 1);
    unsigned msis = t.f.m->msi_count;
    wr(&t, VIRTIO_PCI_NOTIFY_OFF + 4, 1, 2);
    g_assert_cmpuint(fake_block_run(), ==, 1);
    g_assert_cmpuint(get16(&t, used1 + 2), ==, 1);
    g_assert_cmpuint(get16(&t, USED + 2), ==, 0);
    g_assert_cmpmem(t.ram + DATA, 512, fake_block.data + 9 * 512, 512);
    g_assert_cmpuint(t.f.m->msi_count, ==, msis + 1);
    g_assert_cmphex(t.f.m->last_msi_data, ==, 0x52);
    teardown(&t);
}

/* The VIRTIO_PCI_CAP_PCI_CFG window reaches BAR 4 through configuration space. */
static void test_pci_cfg_window(void)
{
    T t;

    setup(&t);
    unsigned c = find_cap(&t, VMM_PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_PCI_CFG);
    g_assert_cmpuint(c, !=, 0);
    cfg_write(&t.f, DEVFN, c + 4, 1, 4);
    cfg_write(&t.f, DEVFN, c + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
    cfg_write(&t.f, DEVFN, c + 12, 4, 2);
    g_assert_cmpuint(cfg_read(&t.f, DEVFN, c + 16, 2), ==, 1);
    /* Write status through the window, read it back directly. */
    cfg_write(&t.f, DEVFN, c + 8, 4, VIRTIO_PCI_COMMON_STATUS);
    cfg_write(&t.f, DEVFN, c + 12, 4, 1);
    cfg_write(&t.f, DEVFN, c + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1), ==, VIRTIO_STATUS_ACKNOWLEDGE);
    /* Capacity through the device config. */
    cfg_write(&t.f, DEVFN, c + 8, 4, VIRTIO_PCI_DEVICE_OFF);
    cfg_write(&t.f, DEVFN, c + 12, 4, 4);
    g_assert_cmpuint(cfg_read(&t.f, DEVFN, c + 16, 4), ==, DISK_SIZE / 512);
    /* Bad windows read as zero and do nothing. */
    cfg_write(&t.f, DEVFN, c + 8, 4, 0x12345);
    g_assert_cmpuint(cfg_read(&t.f, DEVFN, c + 16, 4), ==, 0);
    cfg_write(&t.f, DEVFN, c + 4, 1, 2);
    cfg_write(&t.f, DEVFN, c + 8, 4, 0);
    g_assert_cmpuint(cfg_read(&t.f, DEVFN, c + 16, 4), ==, 0);
    teardown(&t);
}

/* ---- hostile rings ---- */

typedef void (*HostileFunc)(T *t);

static void hostile_outside_ram(T *t)
{
    put_hdr(t, HDR, T_IN, 0);
    Seg segs[3] = {{HDR, 16, false}, {RAM_SIZE - 256, 512, true}, {STATUS, 1, true}};
    submit_at(t, 0, segs, 3, false);
}

static void hostile_loop(T *t)
{
    put_hdr(t, HDR, T_IN, 0);
    put_desc(t, DESC, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(t, DESC + 16, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
    put16(t, AVAIL + 4, 0);
    put16(t, AVAIL + 2, ++t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void hostile_indirect_loop(T *t)
{
    put_hdr(t, HDR, T_IN, 0);
    put_desc(t, INDIRECT, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(t, INDIRECT + 16, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
    put_desc(t, DESC, INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
    put16(t, AVAIL + 4, 0);
    put16(t, AVAIL + 2, ++t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void hostile_nested_indirect(T *t)
{
    put_desc(t, INDIRECT, INDIRECT + 0x100, 32, VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(t, DESC, INDIRECT, 16, VIRTQ_DESC_F_INDIRECT, 0);
    put16(t, AVAIL + 4, 0);
    put16(t, AVAIL + 2, ++t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void hostile_indirect_outside(T *t)
{
    put_desc(t, DESC, RAM_SIZE - 16, 64, VIRTQ_DESC_F_INDIRECT, 0);
    put16(t, AVAIL + 4, 0);
    put16(t, AVAIL + 2, ++t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void hostile_write_only_header(T *t)
{
    Seg segs[2] = {{HDR, 16, true}, {STATUS, 1, true}};
    submit_at(t, 0, segs, 2, false);
}

static void hostile_read_after_write(T *t)
{
    put_hdr(t, HDR, T_OUT, 0);
    Seg segs[3] = {{HDR, 16, false}, {STATUS, 1, true}, {DATA, 512, false}};
    submit_at(t, 0, segs, 3, false);
}

static void hostile_head_out_of_range(T *t)
{
    put16(t, AVAIL + 4, QSIZE + 3);
    put16(t, AVAIL + 2, ++t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void hostile_avail_jump(T *t)
{
    t->avail_idx += QSIZE + 1;
    put16(t, AVAIL + 2, t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void hostile_next_out_of_range(T *t)
{
    put_desc(t, DESC, HDR, 16, VIRTQ_DESC_F_NEXT, 999);
    put16(t, AVAIL + 4, 0);
    put16(t, AVAIL + 2, ++t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void hostile_huge(T *t)
{
    /* 16 descriptors of 32 MiB... would exceed the total cap, but RAM is smaller anyway. */
    put_desc(t, DESC, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(t, DESC + 16, 0, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0);
    put16(t, AVAIL + 4, 0);
    put16(t, AVAIL + 2, ++t->avail_idx);
    wr(t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
}

static void run_hostile(gconstpointer data)
{
    HostileFunc fn = (HostileFunc)data;
    T t;

    setup(&t);
    driver_init(&t, default_features());
    enable_msix(&t);
    unsigned msis = t.f.m->msi_count;

    fn(&t);
    fake_block_run();
    g_assert_cmphex(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, ==,
                    VIRTIO_STATUS_NEEDS_RESET);
    /* The config-change interrupt (vector 0) told the driver. */
    g_assert_cmpuint(t.f.m->msi_count, ==, msis + 1);
    g_assert_cmphex(t.f.m->last_msi_data, ==, 0x40);
    g_assert_cmpuint(get16(&t, USED + 2), ==, 0);
    g_assert_cmpuint(fake_block.reads + fake_block.writes, ==, 0);

    /* Further kicks do nothing; a reset recovers. */
    wr(&t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
    g_assert_cmpuint(fake_block_pending(), ==, 0);
    driver_init(&t, default_features());
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    g_assert_cmpuint(do_request(&t, T_IN, 2, 512, true, NULL), ==, 0);
    g_assert_cmpmem(t.ram + DATA, 512, fake_block.data + 1024, 512);
    teardown(&t);
}

static void test_hostile_registers(void)
{
    T t;

    setup(&t);
    /* Queue layout outside RAM or misaligned: enable refused. */
    wr(&t, VIRTIO_PCI_COMMON_STATUS, 3, 1);
    wr(&t, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    wr(&t, VIRTIO_PCI_COMMON_GF, 1, 4);
    wr(&t, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    wr(&t, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    wr(&t, VIRTIO_PCI_COMMON_Q_DESCLO, RAM_SIZE - 64, 4);
    wr(&t, VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL, 4);
    wr(&t, VIRTIO_PCI_COMMON_Q_USEDLO, USED, 4);
    wr(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 0);
    wr(&t, VIRTIO_PCI_COMMON_Q_DESCLO, DESC + 8, 4);
    wr(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 0);
    wr(&t, VIRTIO_PCI_COMMON_Q_DESCLO, DESC, 4);
    wr(&t, VIRTIO_PCI_COMMON_Q_SIZE, 100, 2);
    wr(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 0);
    wr(&t, VIRTIO_PCI_COMMON_Q_SIZE, 4096, 2);
    wr(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    g_assert_cmpuint(rd(&t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==, 0);
    /* Notifying queues that do not exist or are not enabled is harmless. */
    wr(&t, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
    wr(&t, VIRTIO_PCI_NOTIFY_OFF + 4 * 100, 0, 2);
    wr(&t, 0x3ffc, 0xffffffff, 4);
    /* Odd accesses everywhere in the BAR. */
    for (unsigned off = 0; off < VIRTIO_PCI_BAR_SIZE; off += 0x7f) {
        rd(&t, off, 1);
        wr(&t, off & ~0x3000u, 0, 1);
    }
    g_assert_cmpuint(fake_block_pending(), ==, 0);
    teardown(&t);
}

static void add_hostile(const char *name, HostileFunc fn)
{
    g_autofree char *path = g_strdup_printf("/virtio-blk/hostile/%s", name);
    g_test_add_data_func(path, (gconstpointer)fn, run_hostile);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-blk/identity", test_identity);
    g_test_add_func("/virtio-blk/features", test_features);
    g_test_add_func("/virtio-blk/requests", test_requests);
    g_test_add_func("/virtio-blk/indirect-and-batch", test_indirect_and_batch);
    g_test_add_func("/virtio-blk/msix", test_msix);
    g_test_add_func("/virtio-blk/event-idx", test_event_idx);
    g_test_add_func("/virtio-blk/intx-isr", test_intx_isr);
    g_test_add_func("/virtio-blk/reset", test_reset);
    g_test_add_func("/virtio-blk/inflight-cap", test_inflight_cap);
    g_test_add_func("/virtio-blk/index-wrap", test_index_wrap);
    g_test_add_func("/virtio-blk/split-regions", test_split_regions);
    g_test_add_func("/virtio-blk/readonly", test_readonly);
    g_test_add_func("/virtio-blk/multiqueue", test_multiqueue);
    g_test_add_func("/virtio-blk/pci-cfg-window", test_pci_cfg_window);
    g_test_add_func("/virtio-blk/hostile/registers", test_hostile_registers);
    add_hostile("outside-ram", hostile_outside_ram);
    add_hostile("loop", hostile_loop);
    add_hostile("indirect-loop", hostile_indirect_loop);
    add_hostile("nested-indirect", hostile_nested_indirect);
    add_hostile("indirect-outside-ram", hostile_indirect_outside);
    add_hostile("write-only-header", hostile_write_only_header);
    add_hostile("read-after-write", hostile_read_after_write);
    add_hostile("head-out-of-range", hostile_head_out_of_range);
    add_hostile("avail-jump", hostile_avail_jump);
    add_hostile("next-out-of-range", hostile_next_out_of_range);
    add_hostile("huge", hostile_huge);
    return g_test_run();
}
