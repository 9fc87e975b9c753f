/* SPDX-License-Identifier: GPL-3.0-or-later */
/* 16550A UART register-level tests on a fake machine. */
#define G_LOG_DOMAIN "test-serial"
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/serial/serial-16550.h"
#include "vmm/iothread.h"
#include "vmm/machine.h"

#define BASE 0x3f8
#define IRQ 4

#define RBR 0
#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

typedef struct {
    VmmMachine *m;
    VmmCfgNode *cfg;
    VmmDevice *dev;
    char *tmpdir;
} Fixture;

static void fixture_setup_spec(Fixture *f, const char *spec)
{
    g_autoptr(GError) err = NULL;

    f->m = vmm_machine_new_fake();
    vmm_clock_set_manual(f->m);
    f->cfg = vmm_cfg_new();
    vmm_cfg_set_int(f->cfg, "iobase", BASE);
    vmm_cfg_set_int(f->cfg, "irq", IRQ);
    if (spec != NULL) {
        vmm_cfg_set_string(f->cfg, "backend", spec);
    }
    f->dev = vmm_device_create(f->m, &serial16550_type, "com1", f->cfg, &err);
    g_assert_no_error(err);
    g_assert_nonnull(f->dev);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    fixture_setup_spec(f, NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    vmm_machine_free(f->m);
    vmm_cfg_free(f->cfg);
    if (f->tmpdir != NULL) {
        g_autoptr(GDir) dir = g_dir_open(f->tmpdir, 0, NULL);
        const char *name;

        while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *p = g_build_filename(f->tmpdir, name, NULL);

            g_unlink(p);
        }
        g_rmdir(f->tmpdir);
        g_free(f->tmpdir);
    }
}

static uint8_t rd(Fixture *f, unsigned reg)
{
    return (uint8_t)vmm_bus_read_val(f->m->pio, BASE + reg, 1);
}

static void wr(Fixture *f, unsigned reg, uint8_t v)
{
    vmm_bus_write_val(f->m->pio, BASE + reg, v, 1);
}

static void test_power_on(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(rd(f, LSR), ==, 0x60); /* THRE | TEMT */
    g_assert_cmphex(rd(f, IIR), ==, 0x01); /* no interrupt, FIFOs off */
    g_assert_cmphex(rd(f, IER), ==, 0x00);
    g_assert_cmphex(rd(f, LCR), ==, 0x00);
    g_assert_cmphex(rd(f, MCR), ==, 0x00);
    g_assert_cmphex(rd(f, MSR), ==, 0xb0); /* DCD | DSR | CTS */
    g_assert_false(f->m->irq_level[IRQ]);

    wr(f, SCR, 0x5a);
    g_assert_cmphex(rd(f, SCR), ==, 0x5a);
    wr(f, IER, 0xff);
    g_assert_cmphex(rd(f, IER), ==, 0x0f); /* only four enable bits exist */
    wr(f, MCR, 0xff);
    g_assert_cmphex(rd(f, MCR), ==, 0x1f);

    vmm_device_reset(f->dev);
    g_assert_cmphex(rd(f, IER), ==, 0x00);
    g_assert_cmphex(rd(f, MCR), ==, 0x00);
    g_assert_cmphex(rd(f, LSR), ==, 0x60);
}

static void test_divisor_latch(Fixture *f, gconstpointer data)
{
    wr(f, IER, 0x05);
    wr(f, LCR, 0x83); /* DLAB + 8N1 */
    wr(f, 0, 0x34);
    wr(f, 1, 0x12);
    g_assert_cmphex(rd(f, 0), ==, 0x34);
    g_assert_cmphex(rd(f, 1), ==, 0x12);
    wr(f, LCR, 0x03);
    /* With DLAB clear the same offsets are RBR and IER again. */
    g_assert_cmphex(rd(f, IER), ==, 0x05);
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);
    wr(f, LCR, 0x80);
    g_assert_cmphex(rd(f, 0), ==, 0x34);
    g_assert_cmphex(rd(f, 1), ==, 0x12);
    g_assert_cmphex(rd(f, LCR), ==, 0x80);
}

static void test_loopback(Fixture *f, gconstpointer data)
{
    /* Linux's 8250 probe: loopback with RTS and OUT2 must show CTS and DCD. */
    wr(f, MCR, 0x1a);
    g_assert_cmphex(rd(f, MSR) & 0xf0, ==, 0x90);

    wr(f, MCR, 0x1f);
    g_assert_cmphex(rd(f, MSR) & 0xf0, ==, 0xf0);
    rd(f, MSR); /* clear deltas */
    g_assert_cmphex(rd(f, MSR), ==, 0xf0);
    wr(f, MCR, 0x10);
    /* Every line dropped: CTS, DSR, DCD changed; RI's trailing edge sets TERI. */
    g_assert_cmphex(rd(f, MSR), ==, 0x0f);
    g_assert_cmphex(rd(f, MSR), ==, 0x00);
    wr(f, MCR, 0x14); /* RI rising edge: no TERI */
    g_assert_cmphex(rd(f, MSR), ==, 0x40);

    wr(f, THR, 'A');
    g_assert_cmphex(rd(f, LSR), ==, 0x61);
    g_assert_cmphex(rd(f, RBR), ==, 'A');
    g_assert_cmphex(rd(f, LSR), ==, 0x60);

    /* 16450 mode: a second byte before RBR is read overruns and replaces the first. */
    wr(f, THR, 'B');
    wr(f, THR, 'C');
    g_assert_cmphex(rd(f, LSR), ==, 0x63);
    g_assert_cmphex(rd(f, LSR), ==, 0x61); /* OE is cleared by reading LSR */
    g_assert_cmphex(rd(f, RBR), ==, 'C');

    /* Leaving loopback restores the idle lines. */
    wr(f, MCR, 0x00);
    g_assert_cmphex(rd(f, MSR) & 0xf0, ==, 0xb0);
}

static void test_fifo(Fixture *f, gconstpointer data)
{
    wr(f, MCR, 0x10);
    wr(f, FCR, 0x07);
    g_assert_cmphex(rd(f, IIR), ==, 0xc1);

    for (unsigned i = 0; i < 16; i++) {
        wr(f, THR, 'a' + i);
    }
    g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x01);
    wr(f, THR, 'X'); /* 17th byte: lost, overrun */
    g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x03);
    g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x01);
    for (unsigned i = 0; i < 16; i++) {
        g_assert_cmphex(rd(f, RBR), ==, 'a' + i);
    }
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);

    /* FCR clear-RX empties the FIFO. */
    wr(f, THR, 'q');
    wr(f, FCR, 0x03);
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);

    /* Disabling FIFOs clears them and the IIR FIFO bits. */
    wr(f, THR, 'r');
    wr(f, FCR, 0x00);
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);
    g_assert_cmphex(rd(f, IIR), ==, 0x01);
}

static void test_fifo_trigger_and_timeout(Fixture *f, gconstpointer data)
{
    wr(f, MCR, 0x10);
    wr(f, LCR, 0x80);
    wr(f, 0, 0x01); /* 115200 baud */
    wr(f, 1, 0x00);
    wr(f, LCR, 0x03);
    wr(f, FCR, 0xc7); /* trigger at 14 */
    wr(f, IER, 0x01);

    for (unsigned i = 0; i < 13; i++) {
        wr(f, THR, i);
    }
    g_assert_cmphex(rd(f, IIR), ==, 0xc1);
    wr(f, THR, 13);
    g_assert_cmphex(rd(f, IIR), ==, 0xc4);
    rd(f, RBR);
    g_assert_cmphex(rd(f, IIR), ==, 0xc1); /* back below the trigger level */

    /* Four character times (about 350 us at 115200 8N1) without a read: time-out. */
    vmm_clock_advance(f->m, 200 * 1000);
    g_assert_cmphex(rd(f, IIR), ==, 0xc1);
    vmm_clock_advance(f->m, 200 * 1000);
    g_assert_cmphex(rd(f, IIR), ==, 0xcc);
    /* Reading a byte acknowledges the time-out and restarts the timer. */
    rd(f, RBR);
    g_assert_cmphex(rd(f, IIR), ==, 0xc1);
    vmm_clock_advance(f->m, 1000 * 1000);
    g_assert_cmphex(rd(f, IIR), ==, 0xcc);
    while (rd(f, LSR) & 0x01) {
        rd(f, RBR);
    }
    vmm_clock_advance(f->m, 1000 * 1000);
    g_assert_cmphex(rd(f, IIR), ==, 0xc1);

    /* Trigger level 4. */
    wr(f, FCR, 0x41);
    for (unsigned i = 0; i < 3; i++) {
        wr(f, THR, i);
    }
    g_assert_cmphex(rd(f, IIR), ==, 0xc1);
    wr(f, THR, 3);
    g_assert_cmphex(rd(f, IIR), ==, 0xc4);
}

static void test_iir_priorities(Fixture *f, gconstpointer data)
{
    wr(f, MCR, 0x10);
    rd(f, MSR); /* entering loopback changed the lines: drop those deltas */
    wr(f, THR, 'x');
    wr(f, THR, 'y');  /* overrun: line status */
    wr(f, MCR, 0x11); /* DTR -> DSR: modem status delta */
    wr(f, IER, 0x0f); /* all four sources; THRE armed by enabling it */
    g_assert_cmphex(rd(f, IIR), ==, 0x06);
    rd(f, LSR);
    g_assert_cmphex(rd(f, IIR), ==, 0x04);
    g_assert_cmphex(rd(f, RBR), ==, 'y');
    g_assert_cmphex(rd(f, IIR), ==, 0x02);
    /* Reading IIR with THRE reported acknowledged it. */
    g_assert_cmphex(rd(f, IIR), ==, 0x00);
    g_assert_cmphex(rd(f, MSR) & 0x0f, ==, 0x02);
    g_assert_cmphex(rd(f, IIR), ==, 0x01);

    /* A THR write clears THRE, the instant transmission re-arms it. */
    wr(f, THR, 'z');
    g_assert_cmphex(rd(f, IIR), ==, 0x04);
    rd(f, RBR);
    g_assert_cmphex(rd(f, IIR), ==, 0x02);
    g_assert_cmphex(rd(f, IIR), ==, 0x01);
}

static void test_irq_line_out2(Fixture *f, gconstpointer data)
{
    VmmCharBackend *be = serial16550_get_backend(f->dev);
    unsigned raises;

    g_assert_nonnull(be);
    /* THRE on IER write, as Linux's 8250 driver probes it (twice in a row). */
    wr(f, IER, 0x02);
    g_assert_cmphex(rd(f, IIR), ==, 0x02);
    g_assert_false(f->m->irq_level[IRQ]); /* OUT2 still low: line gated */
    g_assert_cmphex(rd(f, IIR), ==, 0x01);
    wr(f, IER, 0x00);
    wr(f, IER, 0x02);
    g_assert_cmphex(rd(f, IIR), ==, 0x02);
    wr(f, IER, 0x00);

    wr(f, MCR, 0x0b); /* DTR | RTS | OUT2, what Linux programs */
    raises = f->m->irq_raise_count[IRQ];
    wr(f, IER, 0x02);
    g_assert_true(f->m->irq_level[IRQ]);
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, raises + 1);
    rd(f, IIR);
    g_assert_false(f->m->irq_level[IRQ]);
    wr(f, IER, 0x01);

    vmm_char_inject(be, (const uint8_t *)"k", 1);
    g_assert_true(f->m->irq_level[IRQ]);
    g_assert_cmphex(rd(f, IIR), ==, 0x04);
    /* Dropping OUT2 disconnects the line while the interrupt stays pending. */
    wr(f, MCR, 0x03);
    g_assert_false(f->m->irq_level[IRQ]);
    g_assert_cmphex(rd(f, IIR), ==, 0x04);
    wr(f, MCR, 0x0b);
    g_assert_true(f->m->irq_level[IRQ]);
    /* Loopback forces OUT2 inactive at the pin: no interrupt reaches the PIC. */
    wr(f, MCR, 0x1b);
    g_assert_false(f->m->irq_level[IRQ]);
    wr(f, MCR, 0x0b);
    g_assert_true(f->m->irq_level[IRQ]);
    g_assert_cmphex(rd(f, RBR), ==, 'k');
    g_assert_false(f->m->irq_level[IRQ]);

    /* Reset lowers the line. */
    vmm_char_inject(be, (const uint8_t *)"j", 1);
    g_assert_true(f->m->irq_level[IRQ]);
    vmm_device_reset(f->dev);
    g_assert_false(f->m->irq_level[IRQ]);
    g_assert_cmphex(rd(f, LSR), ==, 0x60);
}

static void test_receive(Fixture *f, gconstpointer data)
{
    VmmCharBackend *be = serial16550_get_backend(f->dev);
    g_autofree uint8_t *big = NULL;
    uint8_t many[40];

    wr(f, FCR, 0x01);
    vmm_char_inject(be, (const uint8_t *)"hi", 2);
    g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x01);
    g_assert_cmphex(rd(f, RBR), ==, 'h');
    g_assert_cmphex(rd(f, RBR), ==, 'i');
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);

    /* More than the FIFO holds: the rest waits in front of it and follows as the guest
     * drains the FIFO, without an overrun. */
    for (unsigned i = 0; i < sizeof(many); i++) {
        many[i] = i;
    }
    vmm_char_inject(be, many, sizeof(many));
    g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x01);
    for (unsigned i = 0; i < sizeof(many); i++) {
        g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x01);
        g_assert_cmphex(rd(f, RBR), ==, i);
    }
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);

    /* Beyond the FIFO and the 4 KiB queue, input is lost with an overrun. */
    big = g_malloc(16 + 4096 + 5);
    for (unsigned i = 0; i < 16 + 4096 + 5; i++) {
        big[i] = i & 0xff;
    }
    vmm_char_inject(be, big, 16 + 4096 + 5);
    g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x03);
    for (unsigned i = 0; i < 16 + 4096; i++) {
        g_assert_cmphex(rd(f, RBR), ==, i & 0xff);
    }
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);

    /* 16450 mode: one byte at a time. */
    wr(f, FCR, 0x00);
    vmm_char_inject(be, (const uint8_t *)"ab", 2);
    g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x01);
    g_assert_cmphex(rd(f, RBR), ==, 'a');
    g_assert_cmphex(rd(f, LSR) & 0x03, ==, 0x01);
    g_assert_cmphex(rd(f, RBR), ==, 'b');
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);

    /* Queued input waits while the UART is in loopback mode. */
    vmm_char_inject(be, (const uint8_t *)"cd", 2);
    wr(f, MCR, 0x10);
    g_assert_cmphex(rd(f, RBR), ==, 'c');
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);
    wr(f, MCR, 0x00);
    g_assert_cmphex(rd(f, RBR), ==, 'd');

    /* In loopback mode the receiver input is disconnected. */
    wr(f, MCR, 0x10);
    vmm_char_inject(be, (const uint8_t *)"z", 1);
    g_assert_cmphex(rd(f, LSR) & 0x01, ==, 0);
}

static char *read_file(const char *path)
{
    g_autoptr(GError) err = NULL;
    char *contents = NULL;

    g_file_get_contents(path, &contents, NULL, &err);
    g_assert_no_error(err);
    return contents;
}

static void test_file_backend(void)
{
    Fixture fx = {0};
    Fixture *f = &fx;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;
    g_autofree char *spec = NULL;
    g_autofree char *contents = NULL;

    f->tmpdir = g_dir_make_tmp("bw-serial-XXXXXX", &err);
    g_assert_no_error(err);
    path = g_build_filename(f->tmpdir, "com1.log", NULL);
    g_file_set_contents(path, "old contents", -1, &err);
    g_assert_no_error(err);
    spec = g_strdup_printf("file:%s", path);
    fixture_setup_spec(f, spec);

    g_assert_cmpstr(vmm_char_kind(serial16550_get_backend(f->dev)), ==, "file");
    for (const char *p = "Hello, COM1\r\n"; *p != '\0'; p++) {
        while (!(rd(f, LSR) & 0x20)) {
        }
        wr(f, THR, *p);
    }
    /* Loopback output stays inside the chip. */
    wr(f, MCR, 0x10);
    wr(f, THR, '!');
    contents = read_file(path);
    g_assert_cmpstr(contents, ==, "Hello, COM1\r\n");
    fixture_teardown(f, NULL);
}

static void test_unix_backend(void)
{
    Fixture fx = {0};
    Fixture *f = &fx;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;
    g_autofree char *spec = NULL;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    VmmCharBackend *be;
    char buf[16] = {0};
    char got[8] = {0};
    unsigned n = 0;
    ssize_t r;
    int fd;

    f->tmpdir = g_dir_make_tmp("bw-serial-XXXXXX", &err);
    g_assert_no_error(err);
    path = g_build_filename(f->tmpdir, "com1.sock", NULL);
    spec = g_strdup_printf("unix:%s", path);
    fixture_setup_spec(f, spec);
    be = serial16550_get_backend(f->dev);
    g_assert_cmpstr(vmm_char_kind(be), ==, "unix");

    /* Output with nobody connected is dropped, not queued. */
    wr(f, THR, '#');
    g_assert_cmpuint(vmm_char_dropped(be), ==, 1);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(fd, >=, 0);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    /* Let the back end accept the connection (what the I/O thread would do). */
    g_assert_true(vmm_char_poll(be, 5000));

    /* Client -> guest, into the FIFO. */
    wr(f, FCR, 0x01);
    g_assert_cmpint(send(fd, "ping", 4, 0), ==, 4);
    for (int i = 0; i < 50 && n < 4; i++) {
        vmm_char_poll(be, 100);
        while ((rd(f, LSR) & 0x01) && n < 4) {
            got[n++] = rd(f, RBR);
        }
    }
    g_assert_cmpstr(got, ==, "ping");

    /* Guest -> client. */
    for (const char *p = "pong"; *p != '\0'; p++) {
        wr(f, THR, *p);
    }
    n = 0;
    while (n < 4) {
        r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
        g_assert_cmpint(r, >, 0);
        n += r;
    }
    g_assert_cmpstr(buf, ==, "pong");

    /* The client goes away; a new one can connect and gets the output. */
    close(fd);
    vmm_char_poll(be, 1000);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_true(vmm_char_poll(be, 5000));
    wr(f, THR, '@');
    r = recv(fd, buf, 1, 0);
    g_assert_cmpint(r, ==, 1);
    g_assert_cmpint(buf[0], ==, '@');
    close(fd);

    fixture_teardown(f, NULL);
    /* Closing the back end removed the socket file. */
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/*
 * The real arrangement: the machine's I/O thread accepts and reads, the guest drains the
 * FIFO, and vmm_machine_free() stops the I/O thread before the device closes its back end.
 */
static void test_unix_backend_iothread(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("bw-serial-XXXXXX", &err);
    g_autofree char *path = NULL;
    g_autofree char *spec = NULL;
    VmmMachine *m = vmm_machine_new_fake();
    VmmCfgNode *cfg = vmm_cfg_new();
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char got[8] = {0};
    unsigned n = 0;
    char c;
    int fd;

    g_assert_no_error(err);
    path = g_build_filename(dir, "com1.sock", NULL);
    m->io = vmm_iothread_new(&err);
    g_assert_no_error(err);
    spec = g_strdup_printf("unix:%s", path);
    vmm_cfg_set_string(cfg, "backend", spec);
    g_assert_nonnull(vmm_device_create(m, &serial16550_type, "com1", cfg, &err));
    g_assert_no_error(err);
    vmm_bus_write_val(m->pio, BASE + FCR, 0x01, 1);
    vmm_bus_write_val(m->pio, BASE + MCR, 0x0b, 1);
    vmm_bus_write_val(m->pio, BASE + IER, 0x01, 1);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(send(fd, "boot", 4, 0), ==, 4);
    /* Bounded wait for the I/O thread; the guest side polls LSR like a driver would. */
    for (int i = 0; i < 10000 && n < 4; i++) {
        if (vmm_bus_read_val(m->pio, BASE + LSR, 1) & 0x01) {
            got[n++] = (char)vmm_bus_read_val(m->pio, BASE + RBR, 1);
        } else {
            g_usleep(1000);
        }
    }
    g_assert_cmpstr(got, ==, "boot");
    g_assert_cmpuint(m->irq_raise_count[IRQ], >=, 1);

    vmm_bus_write_val(m->pio, BASE + THR, '>', 1);
    g_assert_cmpint(recv(fd, &c, 1, 0), ==, 1);
    g_assert_cmpint(c, ==, '>');

    vmm_machine_free(m);
    vmm_cfg_free(cfg);
    /* The machine is gone: the client sees the end of the stream. */
    g_assert_cmpint(recv(fd, &c, 1, 0), ==, 0);
    close(fd);
    g_rmdir(dir);
}

static void test_bad_backend(void)
{
    g_autoptr(GError) err = NULL;
    VmmMachine *m = vmm_machine_new_fake();
    VmmCfgNode *cfg = vmm_cfg_new();

    vmm_cfg_set_string(cfg, "backend", "tcp:1234");
    g_assert_null(vmm_device_create(m, &serial16550_type, "com1", cfg, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    /* Two UARTs on the same ports are refused. */
    vmm_cfg_set_string(cfg, "backend", "null");
    g_assert_nonnull(vmm_device_create(m, &serial16550_type, "com1", cfg, &err));
    g_assert_no_error(err);
    g_assert_null(vmm_device_create(m, &serial16550_type, "com1b", cfg, &err));
    g_assert_nonnull(err);
    vmm_machine_free(m);
    vmm_cfg_free(cfg);
}

#define ADD(name, fn)                                                                              \
    g_test_add("/serial16550/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("power-on", test_power_on);
    ADD("divisor-latch", test_divisor_latch);
    ADD("loopback", test_loopback);
    ADD("fifo", test_fifo);
    ADD("fifo-trigger-timeout", test_fifo_trigger_and_timeout);
    ADD("iir-priorities", test_iir_priorities);
    ADD("irq-line-out2", test_irq_line_out2);
    ADD("receive", test_receive);
    g_test_add_func("/serial16550/file-backend", test_file_backend);
    g_test_add_func("/serial16550/unix-backend", test_unix_backend);
    g_test_add_func("/serial16550/unix-backend-iothread", test_unix_backend_iothread);
    g_test_add_func("/serial16550/bad-backend", test_bad_backend);
    return g_test_run();
}
