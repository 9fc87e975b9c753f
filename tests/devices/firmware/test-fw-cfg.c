/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-fw-cfg"
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "devices/firmware/fw-cfg.h"
#include "vmm/bus.h"
#include "vmm/guest-mem.h"
#include "vmm/machine.h"

#define RAM_SIZE 0x100000u
#define DESC_GPA 0x1000u
#define BUF_GPA 0x2000u

/* Guest errors the device logged (see log_handler). */
static unsigned guest_errors;

typedef struct {
    VmmMachine *m;
    VmmDevice *dev;
    FwCfgState *s;
    uint8_t *ram; /* Borrowed: host view of guest RAM at GPA 0 */
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    f->m = vmm_machine_new_fake();
    g_assert_true(vmm_guest_mem_alloc_ram(f->m->mem, RAM_SIZE, &err));
    g_assert_no_error(err);
    f->ram = vmm_guest_mem_ram_ptr(f->m->mem, 0, RAM_SIZE);
    g_assert_nonnull(f->ram);
    g_assert_cmpint(vmm_guest_mem_add_region(f->m->mem, "ram", 0, RAM_SIZE, f->ram, 0), >=, 0);
    f->dev = vmm_device_create(f->m, &fwcfg_type, "fwcfg", NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(f->dev);
    f->s = fw_cfg_from_device(f->dev);
    g_assert_nonnull(f->s);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    vmm_machine_free(f->m);
}

static void sel(Fixture *f, uint16_t key)
{
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_SEL, key, 2);
}

static uint8_t rd8(Fixture *f)
{
    return (uint8_t)vmm_bus_read_val(f->m->pio, FW_CFG_PORT_DATA, 1);
}

static void read_bytes(Fixture *f, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = rd8(f);
    }
}

static uint32_t be32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static uint16_t be16_at(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return GUINT16_FROM_BE(v);
}

/* Places a descriptor at @desc, triggers it the way OVMF does (high, then low) and
 * returns the control word the device wrote back. */
static uint32_t dma_at(Fixture *f, uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
    uint32_t c = GUINT32_TO_BE(control), l = GUINT32_TO_BE(len);
    uint64_t a = GUINT64_TO_BE(addr);

    g_assert_cmpuint(desc + 16, <=, RAM_SIZE);
    memcpy(f->ram + desc, &c, 4);
    memcpy(f->ram + desc + 4, &l, 4);
    memcpy(f->ram + desc + 8, &a, 8);
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA, GUINT32_TO_BE((uint32_t)(desc >> 32)), 4);
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA + 4, GUINT32_TO_BE((uint32_t)desc), 4);
    return be32_at(f->ram + desc);
}

static uint32_t dma(Fixture *f, uint32_t control, uint32_t len, uint64_t addr)
{
    return dma_at(f, DESC_GPA, control, len, addr);
}

static uint32_t sel_ctl(uint16_t key, uint32_t op)
{
    return ((uint32_t)key << 16) | FW_CFG_DMA_SELECT | op;
}

/* ---- PIO ---- */

static void test_signature_and_id(Fixture *f, gconstpointer data)
{
    uint8_t buf[6];

    sel(f, FW_CFG_SIGNATURE);
    read_bytes(f, buf, 6);
    g_assert_cmpmem(buf, 4, "QEMU", 4);
    g_assert_cmpuint(buf[4], ==, 0);
    g_assert_cmpuint(buf[5], ==, 0);

    sel(f, FW_CFG_ID);
    read_bytes(f, buf, 4);
    g_assert_cmpuint(buf[0], ==, 3);
    g_assert_cmpuint(buf[1] | buf[2] | buf[3], ==, 0);

    /* A wide read of the data port returns consecutive bytes. */
    sel(f, FW_CFG_SIGNATURE);
    g_assert_cmphex(vmm_bus_read_val(f->m->pio, FW_CFG_PORT_DATA, 4), ==, 0x554d4551);

    /* The historical write flag (bit 14) is ignored. */
    sel(f, 0x4000 | FW_CFG_SIGNATURE);
    g_assert_cmpuint(rd8(f), ==, 'Q');

    /* The DMA register reads "QEMU CFG". */
    g_assert_cmphex(vmm_bus_read_val(f->m->pio, FW_CFG_PORT_DMA, 4), ==, 0x554d4551);
    g_assert_cmphex(vmm_bus_read_val(f->m->pio, FW_CFG_PORT_DMA + 4, 4), ==, 0x47464320);

    /* Keys nobody added read as zeros. */
    sel(f, FW_CFG_NUMA);
    g_assert_cmpuint(rd8(f), ==, 0);
    sel(f, 0x7fff);
    g_assert_cmpuint(rd8(f), ==, 0);
}

static void test_numeric_keys(Fixture *f, gconstpointer data)
{
    uint8_t buf[8];

    g_assert_cmpint(fw_cfg_add_i16(f->s, FW_CFG_NB_CPUS, 0x0102), ==, 0);
    g_assert_cmpint(fw_cfg_add_i32(f->s, FW_CFG_IRQ0_OVERRIDE, 1), ==, 0);
    g_assert_cmpint(fw_cfg_add_i64(f->s, FW_CFG_RAM_SIZE, 0x1122334455667788ull), ==, 0);
    g_assert_cmpint(fw_cfg_add_i16(f->s, FW_CFG_FILE_DIR, 1), ==, -EINVAL);
    g_assert_cmpint(fw_cfg_add_i16(f->s, FW_CFG_SIGNATURE, 1), ==, -EINVAL);
    g_assert_cmpint(fw_cfg_add_i16(f->s, FW_CFG_FILE_FIRST, 1), ==, -EINVAL);

    sel(f, FW_CFG_NB_CPUS);
    read_bytes(f, buf, 3);
    g_assert_cmpuint(buf[0], ==, 0x02);
    g_assert_cmpuint(buf[1], ==, 0x01);
    g_assert_cmpuint(buf[2], ==, 0);

    sel(f, FW_CFG_IRQ0_OVERRIDE);
    g_assert_cmpuint(rd8(f), ==, 1);

    sel(f, FW_CFG_RAM_SIZE);
    read_bytes(f, buf, 8);
    g_assert_cmpuint(buf[0], ==, 0x88);
    g_assert_cmpuint(buf[7], ==, 0x11);

    /* Replacing an item takes effect. */
    g_assert_cmpint(fw_cfg_add_i16(f->s, FW_CFG_NB_CPUS, 4), ==, 0);
    sel(f, FW_CFG_NB_CPUS);
    g_assert_cmpuint(rd8(f), ==, 4);
}

static void test_file_dir(Fixture *f, gconstpointer data)
{
    static const char *const names[] = {"zeta", "alpha", "etc/e820", "bootorder"};
    static const char *const sorted[] = {"alpha", "bootorder", "etc/e820", "zeta"};
    uint8_t buf[4 + 4 * 64];
    uint16_t key;
    const uint8_t *content;
    size_t len;

    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        g_assert_cmpint(fw_cfg_add_file(f->s, names[i], names[i], strlen(names[i])), ==, 0);
    }
    /* Replacing keeps one entry with the new contents. */
    g_assert_cmpint(fw_cfg_add_file(f->s, "alpha", "ALPHA!!", 7), ==, 0);
    g_assert_cmpint(fw_cfg_add_file(f->s, "", "x", 1), ==, -EINVAL);
    char longname[FW_CFG_MAX_NAME + 1];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[FW_CFG_MAX_NAME] = 0;
    g_assert_cmpint(fw_cfg_add_file(f->s, longname, "x", 1), ==, -EINVAL);
    longname[FW_CFG_MAX_NAME - 1] = 0; /* 55 characters fit */
    g_assert_cmpint(fw_cfg_add_file(f->s, longname, "x", 1), ==, 0);

    sel(f, FW_CFG_FILE_DIR);
    read_bytes(f, buf, 4);
    g_assert_cmpuint(be32_at(buf), ==, 5);
    /* "aaa..." sorts first; then the four names. */
    read_bytes(f, buf + 4, 64);
    g_assert_cmpstr((const char *)buf + 12, ==, longname);
    g_assert_cmpuint(be16_at(buf + 8), ==, 0x20);
    for (unsigned i = 0; i < 4; i++) {
        read_bytes(f, buf + 4 + 64 * i, 64);
        const uint8_t *e = buf + 4 + 64 * i;
        size_t want = strcmp(sorted[i], "alpha") == 0 ? 7 : strlen(sorted[i]);
        g_assert_cmpstr((const char *)e + 8, ==, sorted[i]);
        g_assert_cmpuint(be32_at(e), ==, want);
        g_assert_cmpuint(be16_at(e + 4), ==, 0x21 + i);
        g_assert_true(fw_cfg_find_file(f->s, sorted[i], &key, &content, &len));
        g_assert_cmpuint(key, ==, 0x21 + i);
        g_assert_cmpuint(len, ==, want);
    }
    g_assert_false(fw_cfg_find_file(f->s, "missing", &key, NULL, NULL));

    /* Read a file byte by byte through its key, then past its end. */
    g_assert_true(fw_cfg_find_file(f->s, "etc/e820", &key, NULL, NULL));
    sel(f, key);
    for (size_t i = 0; i < strlen("etc/e820"); i++) {
        g_assert_cmpuint(rd8(f), ==, (uint8_t) "etc/e820"[i]);
    }
    for (int i = 0; i < 16; i++) {
        g_assert_cmpuint(rd8(f), ==, 0);
    }
    g_assert_true(fw_cfg_find_file(f->s, "alpha", &key, NULL, NULL));
    sel(f, key);
    read_bytes(f, buf, 7);
    g_assert_cmpmem(buf, 7, "ALPHA!!", 7);
}

static void test_reset(Fixture *f, gconstpointer data)
{
    sel(f, FW_CFG_ID);
    g_assert_cmpuint(rd8(f), ==, 3);
    /* A half-written DMA address must not survive the reset. */
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA, GUINT32_TO_BE(1), 4);
    vmm_device_reset(f->dev);
    g_assert_cmpuint(rd8(f), ==, 'Q');
    memset(f->ram + BUF_GPA, 0xaa, 4);
    /* SeaBIOS writes only the low half. */
    uint32_t c = GUINT32_TO_BE(sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_READ));
    uint32_t l = GUINT32_TO_BE(4);
    uint64_t a = GUINT64_TO_BE(BUF_GPA);
    memcpy(f->ram + DESC_GPA, &c, 4);
    memcpy(f->ram + DESC_GPA + 4, &l, 4);
    memcpy(f->ram + DESC_GPA + 8, &a, 8);
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA + 4, GUINT32_TO_BE(DESC_GPA), 4);
    g_assert_cmpuint(be32_at(f->ram + DESC_GPA), ==, 0);
    g_assert_cmpmem(f->ram + BUF_GPA, 4, "QEMU", 4);
}

/* ---- DMA ---- */

static void test_dma_read(Fixture *f, gconstpointer data)
{
    uint8_t *buf = f->ram + BUF_GPA;
    uint16_t key;

    memset(buf, 0xaa, 64);
    g_assert_cmphex(dma(f, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_READ), 4, BUF_GPA), ==, 0);
    g_assert_cmpmem(buf, 4, "QEMU", 4);
    g_assert_cmpuint(buf[4], ==, 0xaa);

    /* SeaBIOS reads the directory as SELECT+READ of the count, then plain READs. */
    g_assert_cmpint(fw_cfg_add_file(f->s, "etc/one", "1111", 4), ==, 0);
    g_assert_cmpint(fw_cfg_add_file(f->s, "etc/two", "22", 2), ==, 0);
    g_assert_cmphex(dma(f, sel_ctl(FW_CFG_FILE_DIR, FW_CFG_DMA_READ), 4, BUF_GPA), ==, 0);
    g_assert_cmpuint(be32_at(buf), ==, 2);
    g_assert_cmphex(dma(f, FW_CFG_DMA_READ, 64, BUF_GPA), ==, 0);
    g_assert_cmpstr((const char *)buf + 8, ==, "etc/one");
    g_assert_cmphex(dma(f, FW_CFG_DMA_READ, 64, BUF_GPA), ==, 0);
    g_assert_cmpstr((const char *)buf + 8, ==, "etc/two");
    g_assert_cmpuint(be16_at(buf + 4), ==, 0x21);

    /* Skip, then read; reading past the end fills zeros and succeeds. */
    g_assert_true(fw_cfg_find_file(f->s, "etc/one", &key, NULL, NULL));
    g_assert_cmpint(fw_cfg_add_file(f->s, "etc/one", "abcde", 5), ==, 0);
    memset(buf, 0xaa, 16);
    g_assert_cmphex(dma(f, sel_ctl(key, FW_CFG_DMA_SKIP), 3, 0), ==, 0);
    g_assert_cmphex(dma(f, FW_CFG_DMA_READ, 6, BUF_GPA), ==, 0);
    g_assert_cmpmem(buf, 6, "de\0\0\0\0", 6);
    g_assert_cmpuint(buf[6], ==, 0xaa);
    /* PIO continues from the same offset (past the end now). */
    g_assert_cmpuint(rd8(f), ==, 0);

    /* A zero-length read completes without touching memory. */
    g_assert_cmphex(dma(f, sel_ctl(key, FW_CFG_DMA_READ), 0, BUF_GPA), ==, 0);
    g_assert_cmpuint(buf[0], ==, 'd');

    /* Descriptors with no operation just select. */
    g_assert_cmphex(dma(f, sel_ctl(FW_CFG_ID, 0), 16, BUF_GPA), ==, 0);
    g_assert_cmpuint(rd8(f), ==, 3);
}

static void test_dma_errors(Fixture *f, gconstpointer data)
{
    uint8_t *buf = f->ram + BUF_GPA;

    unsigned errors_before = guest_errors;

    /* Destination outside guest RAM, or straddling its end: ERROR, nothing partial. */
    g_assert_cmphex(dma(f, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_READ), 4, 0x40000000), ==,
                    FW_CFG_DMA_ERROR);
    g_assert_cmpuint(guest_errors, >, errors_before);
    memset(f->ram + RAM_SIZE - 2, 0x55, 2);
    g_assert_cmphex(dma(f, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_READ), 4, RAM_SIZE - 2), ==,
                    FW_CFG_DMA_ERROR);
    g_assert_cmpuint(f->ram[RAM_SIZE - 2], ==, 0x55);
    /* Address + length wraps around. */
    g_assert_cmphex(dma(f, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_READ), 0x100, UINT64_MAX - 0x10),
                    ==, FW_CFG_DMA_ERROR);
    /* A huge read of a missing key is refused rather than zero-filling gigabytes. */
    g_assert_cmphex(dma(f, sel_ctl(0x7000, FW_CFG_DMA_READ), 0xffffffffu, BUF_GPA), ==,
                    FW_CFG_DMA_ERROR);

    /* Writes to read-only items (numeric or file) fail and change nothing. */
    g_assert_cmpint(fw_cfg_add_file(f->s, "etc/ro", "read-only", 9), ==, 0);
    uint16_t key;
    const uint8_t *content;
    size_t len;
    g_assert_true(fw_cfg_find_file(f->s, "etc/ro", &key, NULL, NULL));
    memcpy(buf, "XXXX", 4);
    g_assert_cmphex(dma(f, sel_ctl(key, FW_CFG_DMA_WRITE), 4, BUF_GPA), ==, FW_CFG_DMA_ERROR);
    g_assert_true(fw_cfg_find_file(f->s, "etc/ro", NULL, &content, &len));
    g_assert_cmpmem(content, len, "read-only", 9);
    g_assert_cmphex(dma(f, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_WRITE), 4, BUF_GPA), ==,
                    FW_CFG_DMA_ERROR);
    g_assert_cmphex(dma(f, sel_ctl(0x7001, FW_CFG_DMA_WRITE), 4, BUF_GPA), ==, FW_CFG_DMA_ERROR);

    /* A descriptor outside guest memory is dropped; the device keeps working. */
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA, GUINT32_TO_BE(0x10), 4);
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA + 4, 0, 4);
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA + 4, GUINT32_TO_BE(RAM_SIZE - 8), 4);
    g_assert_cmphex(dma(f, sel_ctl(FW_CFG_SIGNATURE, FW_CFG_DMA_READ), 4, BUF_GPA), ==, 0);
    g_assert_cmpmem(buf, 4, "QEMU", 4);

    /* Odd-sized writes to the DMA registers are ignored. */
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA + 4, 0x12, 1);
    vmm_bus_write_val(f->m->pio, FW_CFG_PORT_DMA + 6, 0x1234, 2);
}

typedef struct {
    unsigned calls;
    uint64_t offset;
    size_t len;
    size_t size;
} WriteLog;

static void write_cb(void *opaque, const uint8_t *data, size_t size, uint64_t offset, size_t len)
{
    WriteLog *log = opaque;
    log->calls++;
    log->offset = offset;
    log->len = len;
    log->size = size;
}

static void test_dma_write(Fixture *f, gconstpointer data)
{
    uint8_t *buf = f->ram + BUF_GPA;
    WriteLog log = {0};
    uint16_t key;
    const uint8_t *content;
    size_t len;

    g_assert_cmpint(
        fw_cfg_add_file_writable(f->s, "etc/ramfb", "\0\0\0\0\0\0\0\0", 8, write_cb, &log), ==, 0);
    g_assert_true(fw_cfg_find_file(f->s, "etc/ramfb", &key, NULL, NULL));

    memcpy(buf, "wxyz", 4);
    g_assert_cmphex(dma(f, sel_ctl(key, FW_CFG_DMA_SKIP), 2, 0), ==, 0);
    g_assert_cmphex(dma(f, FW_CFG_DMA_WRITE, 4, BUF_GPA), ==, 0);
    g_assert_true(fw_cfg_find_file(f->s, "etc/ramfb", NULL, &content, &len));
    g_assert_cmpuint(len, ==, 8);
    g_assert_cmpmem(content, 8, "\0\0wxyz\0\0", 8);
    g_assert_cmpuint(log.calls, ==, 1);
    g_assert_cmpuint(log.offset, ==, 2);
    g_assert_cmpuint(log.len, ==, 4);
    g_assert_cmpuint(log.size, ==, 8);

    /* A write that would run past the end is refused whole. */
    g_assert_cmphex(dma(f, FW_CFG_DMA_WRITE, 4, BUF_GPA), ==, FW_CFG_DMA_ERROR);
    g_assert_cmpmem(content, 8, "\0\0wxyz\0\0", 8);
    g_assert_cmpuint(log.calls, ==, 1);
    /* So is one whose source lies outside guest memory. */
    g_assert_cmphex(dma(f, sel_ctl(key, FW_CFG_DMA_WRITE), 4, 0x40000000), ==, FW_CFG_DMA_ERROR);
    g_assert_cmpuint(log.calls, ==, 1);

    /* Read back what was written. */
    g_assert_cmphex(dma(f, sel_ctl(key, FW_CFG_DMA_READ), 8, BUF_GPA + 16), ==, 0);
    g_assert_cmpmem(buf + 16, 8, "\0\0wxyz\0\0", 8);
}

/*
 * The error paths log rate-limited guest errors on purpose. They are counted here
 * instead of aborting the test; any other warning from the device still fails it.
 */
static void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message,
                        gpointer data)
{
    if (g_str_has_prefix(message, "guest error:")) {
        guest_errors++;
        return;
    }
    g_test_message("unexpected log: %s: %s", domain, message);
    g_test_fail();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
    g_log_set_handler("fwcfg", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, log_handler, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/fw-cfg/pio/signature-id", test_signature_and_id);
    ADD("/fw-cfg/pio/numeric-keys", test_numeric_keys);
    ADD("/fw-cfg/pio/file-dir", test_file_dir);
    ADD("/fw-cfg/reset", test_reset);
    ADD("/fw-cfg/dma/read", test_dma_read);
    ADD("/fw-cfg/dma/errors", test_dma_errors);
    ADD("/fw-cfg/dma/write", test_dma_write);
#undef ADD
    return g_test_run();
}
