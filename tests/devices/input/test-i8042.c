/* SPDX-License-Identifier: GPL-3.0-or-later */
/* i8042 controller, PS/2 keyboard and mouse, driven through ports 0x60/0x64 on a fake machine. */
#define G_LOG_DOMAIN "test-i8042"
#include <glib.h>
#include <linux/input-event-codes.h>
#include <string.h>

#include "devices/input/i8042.h"
#include "devices/input/ps2.h"
#include "vmm/machine.h"

#define DATA 0x60
#define CMD 0x64
#define ST_OBF 0x01
#define ST_IBF 0x02
#define ST_SYS 0x04
#define ST_A2 0x08
#define ST_AUX 0x20

typedef struct {
    VmmMachine *m;
    VmmDevice *dev;
    I8042State *s;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    f->m = vmm_machine_new_fake();
    g_assert_nonnull(f->m);
    VmmDevice *dev = vmm_device_create(f->m, &i8042_type, "i8042", NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(dev);
    f->dev = dev;
    f->s = i8042_from_device(dev);
    g_assert_nonnull(f->s);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    vmm_machine_free(f->m);
}

static void outb(Fixture *f, uint16_t port, uint8_t v)
{
    vmm_bus_write_val(f->m->pio, port, v, 1);
}

static uint8_t inb(Fixture *f, uint16_t port)
{
    return (uint8_t)vmm_bus_read_val(f->m->pio, port, 1);
}

static uint8_t status(Fixture *f)
{
    return inb(f, CMD);
}

/* Reads one byte that must be there, from the keyboard side (aux = false) or the aux side. */
static uint8_t read_byte(Fixture *f, bool aux)
{
    uint8_t st = status(f);
    g_assert_true(st & ST_OBF);
    g_assert_cmpint(!!(st & ST_AUX), ==, aux);
    return inb(f, DATA);
}

/* Reads @n bytes; with @last, nothing may follow them. */
static void expect_bytes(Fixture *f, bool aux, const uint8_t *want, size_t n, bool last)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t got = read_byte(f, aux);
        if (got != want[i]) {
            g_error("byte %zu: got 0x%02x, want 0x%02x", i, got, want[i]);
        }
    }
    if (last) {
        g_assert_false(status(f) & ST_OBF);
    }
}

#define EXPECT_(f, aux, last, ...)                                                                 \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        expect_bytes((f), (aux), want_, sizeof(want_), (last));                                    \
    } while (0)
#define EXPECT(f, aux, ...) EXPECT_(f, aux, true, __VA_ARGS__)
#define EXPECT_MORE(f, aux, ...) EXPECT_(f, aux, false, __VA_ARGS__)

static void drain(Fixture *f)
{
    for (int i = 0; i < 64 && (status(f) & ST_OBF); i++) {
        inb(f, DATA);
    }
    g_assert_false(status(f) & ST_OBF);
}

static void write_cb(Fixture *f, uint8_t cb)
{
    outb(f, CMD, 0x60);
    outb(f, DATA, cb);
}

static uint8_t read_cb(Fixture *f)
{
    outb(f, CMD, 0x20);
    return read_byte(f, false);
}

static void aux_write(Fixture *f, uint8_t b)
{
    outb(f, CMD, 0xd4);
    outb(f, DATA, b);
}

static void test_selftest(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(status(f) & (ST_OBF | ST_IBF | ST_SYS), ==, 0);
    outb(f, CMD, 0xaa);
    g_assert_true(status(f) & ST_A2);
    EXPECT(f, false, 0x55);
    g_assert_true(status(f) & ST_SYS);
    outb(f, CMD, 0xab);
    EXPECT(f, false, 0x00);
    outb(f, CMD, 0xa9);
    EXPECT(f, false, 0x00);
    outb(f, CMD, 0xa4);
    EXPECT(f, false, 0xf1);
    /* A data-port write clears A2. */
    outb(f, DATA, 0xee);
    g_assert_false(status(f) & ST_A2);
    EXPECT(f, false, 0xee);
}

static void test_command_byte(Fixture *f, gconstpointer data)
{
    write_cb(f, 0x47);
    g_assert_cmphex(read_cb(f), ==, 0x47);
    g_assert_true(status(f) & ST_SYS);
    write_cb(f, 0x00);
    g_assert_cmphex(read_cb(f), ==, 0x00);
    g_assert_false(status(f) & ST_SYS);

    outb(f, CMD, 0xa7);
    g_assert_cmphex(read_cb(f), ==, 0x20);
    outb(f, CMD, 0xad);
    g_assert_cmphex(read_cb(f), ==, 0x30);
    outb(f, CMD, 0xa8);
    g_assert_cmphex(read_cb(f), ==, 0x10);
    outb(f, CMD, 0xae);
    g_assert_cmphex(read_cb(f), ==, 0x00);

    /* Other controller RAM bytes round-trip too. */
    outb(f, CMD, 0x65);
    outb(f, DATA, 0x9c);
    outb(f, CMD, 0x25);
    EXPECT(f, false, 0x9c);
}

static void test_kbd_reset(Fixture *f, gconstpointer data)
{
    outb(f, DATA, 0xff);
    EXPECT(f, false, 0xfa, 0xaa);
    /* Identify: translated by default (0x83 → 0x41), raw without translation. */
    outb(f, DATA, 0xf2);
    EXPECT(f, false, 0xfa, 0xab, 0x41);
    write_cb(f, 0x01);
    outb(f, DATA, 0xf2);
    EXPECT(f, false, 0xfa, 0xab, 0x83);
    outb(f, DATA, 0xee);
    EXPECT(f, false, 0xee);
    outb(f, DATA, 0xed);
    outb(f, DATA, 0x07);
    EXPECT(f, false, 0xfa, 0xfa);
    outb(f, DATA, 0xf3);
    outb(f, DATA, 0x20);
    EXPECT(f, false, 0xfa, 0xfa);
    outb(f, DATA, 0xf0);
    outb(f, DATA, 0x00);
    EXPECT(f, false, 0xfa, 0xfa, 0x02);
    outb(f, DATA, 0xf0);
    outb(f, DATA, 0x07);
    EXPECT(f, false, 0xfa, 0xfe);
    /* Resend repeats the last byte; an unknown command asks for a resend. */
    outb(f, DATA, 0xfe);
    EXPECT(f, false, 0xfe);
    outb(f, DATA, 0xd0);
    EXPECT(f, false, 0xfe);
    outb(f, DATA, 0xf6);
    EXPECT(f, false, 0xfa);
}

static void test_keys_translated(Fixture *f, gconstpointer data)
{
    /* Power-on: translation on, keyboard in set 2, so the guest sees set 1. */
    i8042_key_event(f->s, KEY_A, true);
    EXPECT(f, false, 0x1e);
    i8042_key_event(f->s, KEY_A, false);
    EXPECT(f, false, 0x9e);
    i8042_key_event(f->s, KEY_ENTER, true);
    i8042_key_event(f->s, KEY_ENTER, false);
    EXPECT(f, false, 0x1c, 0x9c);
    i8042_key_event(f->s, KEY_RIGHTCTRL, true);
    i8042_key_event(f->s, KEY_RIGHTCTRL, false);
    EXPECT(f, false, 0xe0, 0x1d, 0xe0, 0x9d);
    i8042_key_event(f->s, KEY_F7, true);
    EXPECT(f, false, 0x41);
    i8042_key_event(f->s, KEY_PAUSE, true);
    i8042_key_event(f->s, KEY_PAUSE, false);
    EXPECT(f, false, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
    i8042_key_event(f->s, KEY_SYSRQ, true);
    i8042_key_event(f->s, KEY_SYSRQ, false);
    EXPECT_MORE(f, false, 0xe0, 0x2a, 0xe0, 0x37);
    EXPECT(f, false, 0xe0, 0xb7, 0xe0, 0xaa);
    /* Unknown key codes send nothing. */
    i8042_key_event(f->s, 0x2ff, true);
    g_assert_false(status(f) & ST_OBF);
}

/* Every mapped key: translated set 2 equals the set 1 table, make and break. */
static void test_keys_all_translate(Fixture *f, gconstpointer data)
{
    unsigned mapped = 0;

    for (unsigned key = 0; key < 256; key++) {
        for (int down = 1; down >= 0; down--) {
            uint8_t want[8];
            size_t n = ps2_kbd_scancodes(key, down, 1, want);
            i8042_key_event(f->s, key, down);
            for (size_t i = 0; i < n; i++) {
                uint8_t got = read_byte(f, false);
                if (got != want[i]) {
                    g_error("key %u %s byte %zu: got 0x%02x want 0x%02x", key,
                            down ? "make" : "break", i, got, want[i]);
                }
            }
            g_assert_false(status(f) & ST_OBF);
            mapped += n > 0 && down;
        }
    }
    /* 104/105 keys at least. */
    g_assert_cmpuint(mapped, >=, 105);
}

static void test_keys_set2_raw(Fixture *f, gconstpointer data)
{
    write_cb(f, 0x01); /* no translation */
    i8042_key_event(f->s, KEY_A, true);
    i8042_key_event(f->s, KEY_A, false);
    EXPECT(f, false, 0x1c, 0xf0, 0x1c);
    i8042_key_event(f->s, KEY_ENTER, true);
    i8042_key_event(f->s, KEY_ENTER, false);
    EXPECT(f, false, 0x5a, 0xf0, 0x5a);
    i8042_key_event(f->s, KEY_RIGHTCTRL, true);
    i8042_key_event(f->s, KEY_RIGHTCTRL, false);
    EXPECT(f, false, 0xe0, 0x14, 0xe0, 0xf0, 0x14);
    i8042_key_event(f->s, KEY_PAUSE, true);
    EXPECT(f, false, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);

    /* Native set 1 from the keyboard. */
    outb(f, DATA, 0xf0);
    outb(f, DATA, 0x01);
    EXPECT(f, false, 0xfa, 0xfa);
    i8042_key_event(f->s, KEY_A, true);
    i8042_key_event(f->s, KEY_A, false);
    EXPECT(f, false, 0x1e, 0x9e);
    outb(f, DATA, 0xf0);
    outb(f, DATA, 0x00);
    EXPECT(f, false, 0xfa, 0xfa, 0x01);
}

static void test_kbd_scanning(Fixture *f, gconstpointer data)
{
    outb(f, DATA, 0xf5);
    EXPECT(f, false, 0xfa);
    i8042_key_event(f->s, KEY_B, true);
    g_assert_false(status(f) & ST_OBF);
    outb(f, DATA, 0xf4);
    EXPECT(f, false, 0xfa);
    i8042_key_event(f->s, KEY_B, true);
    EXPECT(f, false, 0x30);

    /* Keyboard interface disabled: the byte waits in the keyboard. */
    outb(f, CMD, 0xad);
    i8042_key_event(f->s, KEY_B, false);
    g_assert_false(status(f) & ST_OBF);
    outb(f, CMD, 0xae);
    EXPECT(f, false, 0xb0);

    /* A full queue ends in an overrun marker and drops later keys until it drains. */
    for (int i = 0; i < 40; i++) {
        i8042_key_event(f->s, KEY_C, true);
    }
    unsigned n = 0;
    uint8_t last = 0;
    while (status(f) & ST_OBF) {
        last = inb(f, DATA);
        n++;
        g_assert_cmpuint(n, <=, PS2_QUEUE_SIZE + 1);
    }
    /* Translation maps the set 2 overrun 0x00 to itself... and the marker is last. */
    g_assert_cmphex(last, ==, 0x00);
    i8042_key_event(f->s, KEY_C, true);
    EXPECT(f, false, 0x2e);
}

static void test_irq(Fixture *f, gconstpointer data)
{
    VmmMachine *m = f->m;

    write_cb(f, 0x00); /* no interrupts */
    i8042_key_event(f->s, KEY_A, true);
    g_assert_true(status(f) & ST_OBF);
    g_assert_false(m->irq_level[1]);
    g_assert_false(m->irq_level[12]);
    /* Enabling the interrupt with a byte waiting raises the line at once. */
    unsigned before = m->irq_raise_count[1];
    outb(f, CMD, 0x60);
    outb(f, DATA, 0x01);
    g_assert_true(m->irq_level[1]);
    g_assert_cmpuint(m->irq_raise_count[1], ==, before + 1);
    inb(f, DATA);
    g_assert_false(m->irq_level[1]);

    /* Each byte of a multi-byte sequence gets its own edge. */
    before = m->irq_raise_count[1];
    i8042_key_event(f->s, KEY_A, false); /* F0 1C untranslated: two bytes */
    g_assert_true(m->irq_level[1]);
    inb(f, DATA);
    g_assert_true(m->irq_level[1]);
    inb(f, DATA);
    g_assert_false(m->irq_level[1]);
    g_assert_cmpuint(m->irq_raise_count[1], ==, before + 2);

    /* Aux data raises IRQ 12 (only with its enable bit), never IRQ 1. */
    write_cb(f, 0x01);
    aux_write(f, 0xf2);
    g_assert_true(status(f) & ST_AUX);
    g_assert_false(m->irq_level[12]);
    g_assert_false(m->irq_level[1]);
    drain(f);
    write_cb(f, 0x03);
    before = m->irq_raise_count[12];
    aux_write(f, 0xf2);
    g_assert_true(m->irq_level[12]);
    g_assert_false(m->irq_level[1]);
    EXPECT(f, true, 0xfa, 0x00);
    g_assert_false(m->irq_level[12]);
    g_assert_cmpuint(m->irq_raise_count[12], ==, before + 2);
}

static void test_aux_ports(Fixture *f, gconstpointer data)
{
    aux_write(f, 0xff);
    EXPECT(f, true, 0xfa, 0xaa, 0x00);
    aux_write(f, 0xf2);
    EXPECT(f, true, 0xfa, 0x00);
    /* 0xD3 loops a byte back as aux data, 0xD2 as keyboard data (not translated). */
    outb(f, CMD, 0xd3);
    outb(f, DATA, 0x5a);
    EXPECT(f, true, 0x5a);
    outb(f, CMD, 0xd2);
    outb(f, DATA, 0x1c);
    EXPECT(f, false, 0x1c);
    /* Status request: stream mode, reporting off, resolution 2, 100 samples/s. */
    aux_write(f, 0xe9);
    EXPECT(f, true, 0xfa, 0x00, 0x02, 0x64);
    aux_write(f, 0xe8);
    aux_write(f, 0x03);
    aux_write(f, 0xf3);
    aux_write(f, 40);
    aux_write(f, 0xe7);
    aux_write(f, 0xf0);
    aux_write(f, 0xe9);
    EXPECT(f, true, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x50, 0x03, 40);
    /* Wrap mode echoes until 0xEC. */
    aux_write(f, 0xee);
    aux_write(f, 0x12);
    aux_write(f, 0xf2);
    aux_write(f, 0xec);
    aux_write(f, 0xf2);
    EXPECT(f, true, 0xfa, 0x12, 0xf2, 0xfa, 0xfa, 0x00);
    /* Aux interface disabled: the reply waits. */
    outb(f, CMD, 0xa7);
    aux_write(f, 0xf2);
    g_assert_false(status(f) & ST_OBF);
    outb(f, CMD, 0xa8);
    EXPECT(f, true, 0xfa, 0x00);
}

static void test_priority(Fixture *f, gconstpointer data)
{
    write_cb(f, 0x00);
    aux_write(f, 0xf2);                 /* aux: FA 00, first one already in the buffer */
    i8042_key_event(f->s, KEY_A, true); /* keyboard: 1C */
    outb(f, CMD, 0x20);                 /* controller: 00 */
    EXPECT_MORE(f, true, 0xfa);
    /* Controller replies before the keyboard, the keyboard before the aux port. */
    EXPECT_MORE(f, false, 0x00, 0x1c);
    EXPECT(f, true, 0x00);
}

static void test_mouse_packets(Fixture *f, gconstpointer data)
{
    write_cb(f, 0x03);
    /* Not reporting yet: nothing is sent. */
    i8042_mouse_event(f->s, 5, 5, 0, 0);
    g_assert_false(status(f) & ST_OBF);
    aux_write(f, 0xf4);
    EXPECT(f, true, 0xfa);

    i8042_mouse_event(f->s, 10, -5, 0, I8042_BTN_LEFT);
    EXPECT(f, true, 0x09, 0x0a, 0x05);
    i8042_mouse_event(f->s, -3, 4, 0, I8042_BTN_LEFT | I8042_BTN_RIGHT);
    EXPECT(f, true, 0x08 | 0x10 | 0x20 | 0x03, 0xfd, 0xfc);
    /* A button change alone is a packet; a wheel without the wheel id is not. */
    i8042_mouse_event(f->s, 0, 0, 0, I8042_BTN_MIDDLE);
    EXPECT(f, true, 0x0c, 0x00, 0x00);
    i8042_mouse_event(f->s, 0, 0, 3, I8042_BTN_MIDDLE);
    g_assert_false(status(f) & ST_OBF);
    /* A large movement is split over packets in stream mode, without overflow. */
    i8042_mouse_event(f->s, 300, 0, 0, 0);
    EXPECT(f, true, 0x08, 0xff, 0x00, 0x08, 0x2d, 0x00);
    i8042_mouse_event(f->s, -300, 0, 0, 0);
    EXPECT(f, true, 0x18, 0x00, 0x00, 0x18, 0xd4, 0x00);

    /* Remote mode: one packet per poll, overflow bits when the counters overflowed. */
    aux_write(f, 0xf0);
    EXPECT(f, true, 0xfa);
    i8042_mouse_event(f->s, 1000, 1000, 0, 0);
    g_assert_false(status(f) & ST_OBF);
    aux_write(f, 0xeb);
    EXPECT(f, true, 0xfa, 0x08 | 0x20 | 0x40 | 0x80, 0xff, 0x00);
    aux_write(f, 0xeb);
    EXPECT(f, true, 0xfa, 0x08, 0x00, 0x00);

    /* Disable stops packets and drops queued ones. */
    aux_write(f, 0xea);
    aux_write(f, 0xf4);
    EXPECT(f, true, 0xfa, 0xfa);
    i8042_mouse_event(f->s, 1, 1, 0, 0);
    aux_write(f, 0xf5);
    /* The packet's first byte was already in the controller; the rest is dropped. */
    EXPECT_MORE(f, true, 0x08 | 0x20);
    EXPECT(f, true, 0xfa);
    i8042_mouse_event(f->s, 1, 1, 0, 0);
    g_assert_false(status(f) & ST_OBF);
}

static void knock(Fixture *f, uint8_t a, uint8_t b, uint8_t c)
{
    const uint8_t rates[3] = {a, b, c};

    for (int i = 0; i < 3; i++) {
        aux_write(f, 0xf3);
        aux_write(f, rates[i]);
        EXPECT(f, true, 0xfa, 0xfa);
    }
}

static void test_intellimouse(Fixture *f, gconstpointer data)
{
    knock(f, 200, 200, 80); /* the explorer knock does nothing on a plain mouse */
    aux_write(f, 0xf2);
    EXPECT(f, true, 0xfa, 0x00);
    knock(f, 200, 100, 80);
    aux_write(f, 0xf2);
    EXPECT(f, true, 0xfa, 0x03);

    aux_write(f, 0xf4);
    EXPECT(f, true, 0xfa);
    /* Wheel away from the user is negative on the wire. */
    i8042_mouse_event(f->s, 1, 0, 1, 0);
    EXPECT(f, true, 0x08, 0x01, 0x00, 0xff);
    i8042_mouse_event(f->s, 0, 0, -2, 0);
    EXPECT(f, true, 0x08, 0x00, 0x00, 0x02);

    aux_write(f, 0xf5);
    EXPECT(f, true, 0xfa);
    knock(f, 200, 200, 80);
    aux_write(f, 0xf2);
    EXPECT(f, true, 0xfa, 0x04);
    aux_write(f, 0xf4);
    EXPECT(f, true, 0xfa);
    i8042_mouse_event(f->s, 0, 0, 1, I8042_BTN_SIDE);
    EXPECT(f, true, 0x08, 0x00, 0x00, 0x1f);

    /* Reset goes back to a plain mouse. */
    aux_write(f, 0xff);
    EXPECT(f, true, 0xfa, 0xaa, 0x00);
    aux_write(f, 0xf2);
    EXPECT(f, true, 0xfa, 0x00);
}

static void test_reset_pulse(Fixture *f, gconstpointer data)
{
    outb(f, CMD, 0xff); /* pulses nothing */
    g_assert_cmpint(f->m->pending, ==, VMM_REQ_NONE);
    outb(f, CMD, 0xfe);
    g_assert_cmpint(f->m->pending, ==, VMM_REQ_RESET);
    g_assert_cmpstr(f->m->pending_detail, ==, "i8042 0xFE");
}

static void test_output_port(Fixture *f, gconstpointer data)
{
    g_assert_true(i8042_a20_enabled(f->s));
    outb(f, CMD, 0xd1);
    outb(f, DATA, 0xdd);
    g_assert_false(i8042_a20_enabled(f->s));
    g_assert_cmpint(f->m->pending, ==, VMM_REQ_NONE);
    outb(f, CMD, 0xd0);
    g_assert_cmphex(read_byte(f, false) & 0x03, ==, 0x01);
    outb(f, CMD, 0xdf);
    g_assert_true(i8042_a20_enabled(f->s));
    /* Output port bit 0 low holds the CPU in reset. */
    outb(f, CMD, 0xd1);
    outb(f, DATA, 0xde);
    g_assert_cmpint(f->m->pending, ==, VMM_REQ_RESET);
}

static void test_device_reset(Fixture *f, gconstpointer data)
{
    write_cb(f, 0x01);
    aux_write(f, 0xf4);
    drain(f);
    i8042_key_event(f->s, KEY_A, true);
    g_assert_true(f->m->irq_level[1]);
    vmm_device_reset(f->dev);
    g_assert_false(f->m->irq_level[1]);
    g_assert_false(status(f) & ST_OBF);
    g_assert_cmphex(read_cb(f), ==, 0x43);
    /* The mouse is back to not reporting. */
    i8042_mouse_event(f->s, 1, 1, 0, 0);
    g_assert_false(status(f) & ST_OBF);
}

/*
 * Reads what an interrupt handler would see: the byte must come with its own IRQ line
 * (1 for keyboard data, 12 for aux data) raised and the other one low.
 */
static uint8_t irq_read(Fixture *f, bool aux)
{
    unsigned line = aux ? 12 : 1;
    unsigned other = aux ? 1 : 12;

    g_assert_true(f->m->irq_level[line]);
    g_assert_false(f->m->irq_level[other]);
    return read_byte(f, aux);
}

static void irq_expect(Fixture *f, bool aux, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t got = irq_read(f, aux);
        if (got != want[i]) {
            g_error("irq byte %zu: got 0x%02x, want 0x%02x", i, got, want[i]);
        }
    }
    g_assert_false(status(f) & ST_OBF);
    g_assert_false(f->m->irq_level[1]);
    g_assert_false(f->m->irq_level[12]);
}

#define IRQ_EXPECT(f, aux, ...)                                                                    \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        irq_expect((f), (aux), want_, sizeof(want_));                                              \
    } while (0)

/* The order of operations of Linux's i8042, atkbd and psmouse drivers at boot. */
static void test_linux_probe(Fixture *f, gconstpointer data)
{
    /* i8042: flush, self test, read the command byte, keyboard interface test. */
    drain(f);
    outb(f, CMD, 0xaa);
    EXPECT(f, false, 0x55);
    uint8_t ctr = read_cb(f);
    g_assert_cmphex(ctr, !=, 0xff);
    outb(f, CMD, 0xab);
    EXPECT(f, false, 0x00);

    /* Aux port: loopback, disable/enable visible in the command byte. */
    outb(f, CMD, 0xd3);
    outb(f, DATA, 0x5a);
    EXPECT(f, true, 0x5a);
    outb(f, CMD, 0xa7);
    g_assert_true(read_cb(f) & 0x20);
    outb(f, CMD, 0xa8);
    g_assert_false(read_cb(f) & 0x20);

    /* Aux IRQ test: loopback with the aux interrupt on, read by the IRQ 12 handler. */
    write_cb(f, (ctr & ~0x30) | 0x02);
    outb(f, CMD, 0xd3);
    outb(f, DATA, 0xa5);
    IRQ_EXPECT(f, true, 0xa5);

    /* Active multiplexing probe: a plain controller echoes all three bytes. */
    const uint8_t mux[] = {0xf0, 0x56, 0xa4};
    for (size_t i = 0; i < sizeof(mux); i++) {
        outb(f, CMD, 0xd3);
        outb(f, DATA, mux[i]);
        irq_expect(f, true, &mux[i], 1);
    }

    /* Keyboard port on, translated, both interrupts on. */
    write_cb(f, 0x47);

    /* atkbd: identify, LEDs, typematic rate, enable. */
    outb(f, DATA, 0xf2);
    IRQ_EXPECT(f, false, 0xfa, 0xab, 0x41);
    outb(f, DATA, 0xed);
    IRQ_EXPECT(f, false, 0xfa);
    outb(f, DATA, 0x00);
    IRQ_EXPECT(f, false, 0xfa);
    outb(f, DATA, 0xf3);
    IRQ_EXPECT(f, false, 0xfa);
    outb(f, DATA, 0x00);
    IRQ_EXPECT(f, false, 0xfa);
    outb(f, DATA, 0xf4);
    IRQ_EXPECT(f, false, 0xfa);

    /* psmouse: reset, id, IntelliMouse and Explorer knocks, settings, enable. */
    aux_write(f, 0xff);
    IRQ_EXPECT(f, true, 0xfa, 0xaa, 0x00);
    aux_write(f, 0xf2);
    IRQ_EXPECT(f, true, 0xfa, 0x00);
    const uint8_t knocks[] = {200, 100, 80, 200, 200, 80};
    for (size_t i = 0; i < sizeof(knocks); i++) {
        aux_write(f, 0xf3);
        IRQ_EXPECT(f, true, 0xfa);
        aux_write(f, knocks[i]);
        IRQ_EXPECT(f, true, 0xfa);
        if (i == 2 || i == 5) {
            const uint8_t id[] = {0xfa, i == 2 ? 0x03 : 0x04};
            aux_write(f, 0xf2);
            irq_expect(f, true, id, sizeof(id));
        }
    }
    aux_write(f, 0xe8);
    aux_write(f, 0x03);
    aux_write(f, 0xe6);
    aux_write(f, 0xf4);
    IRQ_EXPECT(f, true, 0xfa, 0xfa, 0xfa, 0xfa);

    /* Running: keys on IRQ 1 in set 1, motion on IRQ 12 in 4-byte packets. */
    i8042_key_event(f->s, KEY_LEFTMETA, true);
    IRQ_EXPECT(f, false, 0xe0, 0x5b);
    i8042_mouse_event(f->s, 2, 0, 0, I8042_BTN_RIGHT);
    IRQ_EXPECT(f, true, 0x0a, 0x02, 0x00, 0x00);
    /* Both at once: the keyboard goes first, each byte with its own line. */
    i8042_mouse_event(f->s, 0, 0, 0, 0);
    i8042_key_event(f->s, KEY_LEFTMETA, false);
    EXPECT_MORE(f, true, 0x08);
    g_assert_cmphex(irq_read(f, false), ==, 0xe0);
    g_assert_cmphex(irq_read(f, false), ==, 0xdb);
    IRQ_EXPECT(f, true, 0x00, 0x00, 0x00);
}

/* SeaBIOS's ps2port.c: keyboard set-up with both ports parked, then the IRQ 1 handler. */
static void test_seabios_setup(Fixture *f, gconstpointer data)
{
    drain(f);
    outb(f, CMD, 0xaa);
    EXPECT(f, false, 0x55);
    outb(f, CMD, 0xab);
    EXPECT(f, false, 0x00);

    /* Each command: both interfaces disabled and interrupts off, then its own enabled. */
    write_cb(f, 0x30);
    write_cb(f, 0x20);
    outb(f, DATA, 0xff);
    EXPECT(f, false, 0xfa, 0xaa);
    outb(f, DATA, 0xf5);
    EXPECT(f, false, 0xfa);
    outb(f, DATA, 0xf0);
    EXPECT(f, false, 0xfa);
    outb(f, DATA, 0x02);
    EXPECT(f, false, 0xfa);
    outb(f, DATA, 0xf4);
    EXPECT(f, false, 0xfa);

    /* Runtime: translation, keyboard interrupt, aux parked. */
    write_cb(f, 0x65);
    g_assert_false(f->m->irq_level[1]);
    i8042_key_event(f->s, KEY_ENTER, true);
    i8042_key_event(f->s, KEY_ENTER, false);
    IRQ_EXPECT(f, false, 0x1c, 0x9c);
}

/* Hostile sequences: random port traffic and host events must never break invariants. */
static void test_garbage(Fixture *f, gconstpointer data)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(0x8042);

    for (int i = 0; i < 200000; i++) {
        unsigned op = g_rand_int_range(rand, 0, 10);
        uint8_t v = (uint8_t)g_rand_int(rand);
        switch (op) {
        case 0:
        case 1:
            outb(f, DATA, v);
            break;
        case 2:
            outb(f, CMD, v == 0xfe || v == 0xd1 ? 0x20 : v);
            break;
        case 3:
            aux_write(f, v);
            break;
        case 4:
        case 5:
            inb(f, DATA);
            break;
        case 6:
            g_assert_false(status(f) & ST_IBF);
            break;
        case 7:
            i8042_key_event(f->s, v, g_rand_boolean(rand));
            break;
        case 8:
            i8042_mouse_event(f->s, g_rand_int(rand), g_rand_int(rand), g_rand_int(rand), v);
            break;
        case 9:
            if (v == 0) {
                vmm_device_reset(f->dev);
            }
            break;
        }
    }
    /* Still a working controller afterwards. */
    drain(f);
    outb(f, CMD, 0xaa);
    EXPECT(f, false, 0x55);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* Guest errors are warnings by design (hostile-guest tests provoke them). */
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/i8042/selftest", test_selftest);
    ADD("/i8042/command-byte", test_command_byte);
    ADD("/i8042/kbd-reset", test_kbd_reset);
    ADD("/i8042/keys-translated", test_keys_translated);
    ADD("/i8042/keys-all-translate", test_keys_all_translate);
    ADD("/i8042/keys-set2-raw", test_keys_set2_raw);
    ADD("/i8042/kbd-scanning", test_kbd_scanning);
    ADD("/i8042/irq", test_irq);
    ADD("/i8042/aux-ports", test_aux_ports);
    ADD("/i8042/priority", test_priority);
    ADD("/i8042/mouse-packets", test_mouse_packets);
    ADD("/i8042/intellimouse", test_intellimouse);
    ADD("/i8042/reset-pulse", test_reset_pulse);
    ADD("/i8042/output-port", test_output_port);
    ADD("/i8042/device-reset", test_device_reset);
    ADD("/i8042/linux-probe", test_linux_probe);
    ADD("/i8042/seabios-setup", test_seabios_setup);
    ADD("/i8042/garbage", test_garbage);
#undef ADD
    return g_test_run();
}
