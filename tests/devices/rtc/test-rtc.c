/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MC146818 RTC/CMOS register-level tests on a fake machine with a manual clock. */
#define G_LOG_DOMAIN "test-rtc"
#include <gio/gio.h>

#include "devices/rtc/mc146818.h"
#include "vmm/machine.h"

#define IRQ 8
#define SEC G_GINT64_CONSTANT(1000000000)
#define MS G_GINT64_CONSTANT(1000000)
#define US G_GINT64_CONSTANT(1000)

typedef struct {
    VmmMachine *m;
    VmmDevice *dev;
    RtcState *rtc;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    f->m = vmm_machine_new_fake();
    vmm_clock_set_manual(f->m);
    f->dev = vmm_device_create(f->m, &rtc_type, "rtc", NULL, &err);
    g_assert_no_error(err);
    f->rtc = rtc_from_device(f->dev);
    g_assert_nonnull(f->rtc);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    int64_t min_delay = rtc_min_timer_delay_ns(f->rtc);

    /* Whatever a test programmed, no timer was ever armed closer than 100 us. */
    g_assert_cmpint(min_delay, >=, 100 * US);
    vmm_machine_free(f->m);
}

static uint8_t cmos(Fixture *f, unsigned index)
{
    vmm_bus_write_val(f->m->pio, 0x70, index, 1);
    return (uint8_t)vmm_bus_read_val(f->m->pio, 0x71, 1);
}

static void cmos_wr(Fixture *f, unsigned index, uint8_t v)
{
    vmm_bus_write_val(f->m->pio, 0x70, index, 1);
    vmm_bus_write_val(f->m->pio, 0x71, v, 1);
}

static unsigned bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0x0f);
}

/* Seconds since 1970 from the time registers (24-hour mode). */
static int64_t rtc_seconds(Fixture *f, bool binary)
{
    unsigned (*dec)(uint8_t) = bcd;
    g_autoptr(GDateTime) dt = NULL;
    uint8_t sec, min, hour, mday, mon, year, century;

    /* Read until the seconds did not change underneath, as guests do. */
    do {
        sec = cmos(f, 0x00);
        min = cmos(f, 0x02);
        hour = cmos(f, 0x04);
        mday = cmos(f, 0x07);
        mon = cmos(f, 0x08);
        year = cmos(f, 0x09);
        century = cmos(f, 0x32);
    } while (sec != cmos(f, 0x00));
    if (binary) {
        dt = g_date_time_new_utc(century * 100 + year, mon, mday, hour, min, sec);
    } else {
        dt = g_date_time_new_utc(dec(century) * 100 + dec(year), dec(mon), dec(mday), dec(hour),
                                 dec(min), dec(sec));
    }
    g_assert_nonnull(dt);
    return g_date_time_to_unix(dt);
}

static void set_time_bcd(Fixture *f, uint8_t century, uint8_t year, uint8_t mon, uint8_t mday,
                         uint8_t hour, uint8_t min, uint8_t sec)
{
    uint8_t b = cmos(f, 0x0b);

    cmos_wr(f, 0x0b, b | 0x80);
    cmos_wr(f, 0x00, sec);
    cmos_wr(f, 0x02, min);
    cmos_wr(f, 0x04, hour);
    cmos_wr(f, 0x07, mday);
    cmos_wr(f, 0x08, mon);
    cmos_wr(f, 0x09, year);
    cmos_wr(f, 0x32, century);
    cmos_wr(f, 0x0b, b & ~0x80);
}

static void test_power_on(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(cmos(f, 0x0a) & 0x7f, ==, 0x26);
    g_assert_cmphex(cmos(f, 0x0b), ==, 0x02);
    g_assert_cmphex(cmos(f, 0x0c), ==, 0x00);
    g_assert_cmphex(cmos(f, 0x0d), ==, 0x80);
    /* Bytes the board did not set read 0 (SeaBIOS relies on 0x10 = no floppies). */
    for (unsigned i = 0x0e; i < 0x80; i++) {
        if (i != 0x32) {
            g_assert_cmphex(cmos(f, i), ==, 0);
        }
    }
    g_assert_cmphex(vmm_bus_read_val(f->m->pio, 0x70, 1), ==, 0xff);
    /* Bit 7 of the index is the NMI mask, not part of the index. */
    vmm_bus_write_val(f->m->pio, 0x70, 0x8d, 1);
    g_assert_cmphex(vmm_bus_read_val(f->m->pio, 0x71, 1), ==, 0x80);
    /* D is read-only. */
    cmos_wr(f, 0x0d, 0x00);
    g_assert_cmphex(cmos(f, 0x0d), ==, 0x80);
}

static void test_host_time(Fixture *f, gconstpointer data)
{
    int64_t host = g_get_real_time() / G_USEC_PER_SEC;
    int64_t guest = rtc_seconds(f, false);

    g_assert_cmpint(guest, >=, host - 2);
    g_assert_cmpint(guest, <=, host + 2);
    /* The same time in binary mode. */
    cmos_wr(f, 0x0b, 0x06);
    host = g_get_real_time() / G_USEC_PER_SEC;
    guest = rtc_seconds(f, true);
    g_assert_cmpint(guest, >=, host - 2);
    g_assert_cmpint(guest, <=, host + 2);
    /* The clock follows virtual time, not the host's. */
    vmm_clock_advance(f->m, 3600 * SEC);
    guest = rtc_seconds(f, true);
    g_assert_cmpint(guest, >=, host + 3600 - 2);
    g_assert_cmpint(guest, <=, host + 3600 + 2);
}

static void test_set_bcd_binary_12h(Fixture *f, gconstpointer data)
{
    /* Leap day, two seconds to midnight. */
    set_time_bcd(f, 0x20, 0x24, 0x02, 0x29, 0x23, 0x59, 0x58);
    g_assert_cmphex(cmos(f, 0x00), ==, 0x58);
    g_assert_cmphex(cmos(f, 0x06), ==, 0x05); /* Thursday */
    vmm_clock_advance(f->m, 2 * SEC);
    g_assert_cmphex(cmos(f, 0x00), ==, 0x00);
    g_assert_cmphex(cmos(f, 0x02), ==, 0x00);
    g_assert_cmphex(cmos(f, 0x04), ==, 0x00);
    g_assert_cmphex(cmos(f, 0x06), ==, 0x06); /* Friday */
    g_assert_cmphex(cmos(f, 0x07), ==, 0x01);
    g_assert_cmphex(cmos(f, 0x08), ==, 0x03);
    g_assert_cmphex(cmos(f, 0x09), ==, 0x24);
    g_assert_cmphex(cmos(f, 0x32), ==, 0x20);

    /* Binary mode shows the same instant in binary. */
    cmos_wr(f, 0x0b, 0x06);
    g_assert_cmphex(cmos(f, 0x07), ==, 1);
    g_assert_cmphex(cmos(f, 0x08), ==, 3);
    g_assert_cmphex(cmos(f, 0x09), ==, 24);
    g_assert_cmphex(cmos(f, 0x32), ==, 20);

    /* 12-hour mode: midnight is 12 AM, 13:05 is 1 PM with bit 7. */
    cmos_wr(f, 0x0b, 0x04);
    g_assert_cmphex(cmos(f, 0x04), ==, 12);
    cmos_wr(f, 0x0b, 0x84);
    cmos_wr(f, 0x04, 0x81);
    cmos_wr(f, 0x02, 5);
    cmos_wr(f, 0x0b, 0x04);
    g_assert_cmphex(cmos(f, 0x04), ==, 0x81);
    cmos_wr(f, 0x0b, 0x06);
    g_assert_cmphex(cmos(f, 0x04), ==, 13);
    g_assert_cmphex(cmos(f, 0x02), ==, 5);

    /* SET holds the clock and clears UIE. */
    cmos_wr(f, 0x0b, 0x96);
    g_assert_cmphex(cmos(f, 0x0b), ==, 0x86);
    cmos(f, 0x0c);
    vmm_clock_advance(f->m, 5 * SEC);
    g_assert_cmphex(cmos(f, 0x02), ==, 5);
    g_assert_cmphex(cmos(f, 0x00), ==, 0);
    g_assert_cmphex(cmos(f, 0x0c) & 0x30, ==, 0x00); /* no updates (UF) while SET */
    cmos_wr(f, 0x0b, 0x06);
    vmm_clock_advance(f->m, 1 * SEC);
    g_assert_cmphex(cmos(f, 0x00), ==, 1);

    /* Writing one field of a running clock keeps the others ticking from there. */
    cmos_wr(f, 0x02, 30);
    g_assert_cmphex(cmos(f, 0x02), ==, 30);
    g_assert_cmphex(cmos(f, 0x04), ==, 13);
    vmm_clock_advance(f->m, 60 * SEC);
    g_assert_cmphex(cmos(f, 0x02), ==, 31);
}

static void test_garbage_time(Fixture *f, gconstpointer data)
{
    /* Whatever the guest writes, the clock keeps running and reads stay in range. */
    set_time_bcd(f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    vmm_clock_advance(f->m, 2 * SEC);
    g_assert_cmpuint(bcd(cmos(f, 0x00)), <, 60);
    g_assert_cmpuint(bcd(cmos(f, 0x02)), <, 60);
    g_assert_cmpuint(bcd(cmos(f, 0x04)), <, 24);
    g_assert_cmpuint(bcd(cmos(f, 0x08)), >=, 1);
    g_assert_cmpuint(bcd(cmos(f, 0x08)), <=, 12);
    set_time_bcd(f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    vmm_clock_advance(f->m, 2 * SEC);
    g_assert_cmpuint(bcd(cmos(f, 0x07)), >=, 1);
}

/* Steps through @seconds of virtual time, acknowledging like an interrupt handler. */
static unsigned count_periodic(Fixture *f, int64_t step, int64_t total)
{
    unsigned before = f->m->irq_raise_count[IRQ];

    for (int64_t t = 0; t < total; t += step) {
        vmm_clock_advance(f->m, step);
        cmos(f, 0x0c);
    }
    return f->m->irq_raise_count[IRQ] - before;
}

static void test_periodic(Fixture *f, gconstpointer data)
{
    unsigned n;

    cmos_wr(f, 0x0a, 0x26); /* 1024 Hz */
    cmos_wr(f, 0x0b, 0x42); /* PIE */
    cmos(f, 0x0c);
    n = count_periodic(f, 100 * US, 1 * SEC);
    g_assert_cmpuint(n, >=, 1023);
    g_assert_cmpuint(n, <=, 1025);

    cmos_wr(f, 0x0a, 0x2f); /* 2 Hz */
    n = count_periodic(f, 10 * MS, 4 * SEC);
    g_assert_cmpuint(n, >=, 7);
    g_assert_cmpuint(n, <=, 9);

    /* Rate selects 1 and 2 are the slow 256 Hz and 128 Hz of the 32 kHz table. */
    cmos_wr(f, 0x0a, 0x21);
    n = count_periodic(f, 500 * US, 1 * SEC);
    g_assert_cmpuint(n, >=, 255);
    g_assert_cmpuint(n, <=, 257);
    cmos_wr(f, 0x0a, 0x22);
    n = count_periodic(f, 500 * US, 1 * SEC);
    g_assert_cmpuint(n, >=, 127);
    g_assert_cmpuint(n, <=, 129);

    /* The fastest rate, 8192 Hz. */
    cmos_wr(f, 0x0a, 0x23);
    n = count_periodic(f, 40 * US, 100 * MS);
    g_assert_cmpuint(n, >=, 815);
    g_assert_cmpuint(n, <=, 820);

    /* Without acknowledging, IRQF stays set and no further edges are sent. */
    cmos_wr(f, 0x0a, 0x26);
    cmos(f, 0x0c);
    n = f->m->irq_raise_count[IRQ];
    vmm_clock_advance(f->m, 100 * MS);
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, n + 1);
    /* One read: reading C clears it. The update-ended flag (0x10) may or may not be up. */
    uint8_t c = cmos(f, 0x0c);
    g_assert_cmphex(c & ~0x10, ==, 0xc0);

    /* Rate 0 stops it. */
    cmos_wr(f, 0x0a, 0x20);
    cmos(f, 0x0c);
    n = f->m->irq_raise_count[IRQ];
    vmm_clock_advance(f->m, 100 * MS);
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, n);
    g_assert_cmphex(cmos(f, 0x0c) & 0x40, ==, 0);

    /* PF shows up in C even with PIE off, without an interrupt. */
    cmos_wr(f, 0x0b, 0x02);
    cmos_wr(f, 0x0a, 0x26);
    cmos(f, 0x0c);
    vmm_clock_advance(f->m, 10 * MS);
    g_assert_cmphex(cmos(f, 0x0c) & 0xc0, ==, 0x40);
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, n);
}

static void test_reg_c_cleared_on_read(Fixture *f, gconstpointer data)
{
    unsigned n = f->m->irq_raise_count[IRQ];

    cmos_wr(f, 0x0a, 0x20); /* periodic flag off, so C shows only what is tested */
    cmos_wr(f, 0x0b, 0x12); /* UIE */
    vmm_clock_advance(f->m, 1 * SEC);
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, n + 1);
    g_assert_cmphex(cmos(f, 0x0c), ==, 0x90);
    g_assert_cmphex(cmos(f, 0x0c), ==, 0x00);
    /* UF is set by every update even with UIE off, but IRQF is not. */
    cmos_wr(f, 0x0b, 0x02);
    vmm_clock_advance(f->m, 1 * SEC);
    g_assert_cmphex(cmos(f, 0x0c), ==, 0x10);
    g_assert_cmphex(cmos(f, 0x0c), ==, 0x00);
    /* Enabling UIE while UF is pending raises the interrupt at once. */
    vmm_clock_advance(f->m, 1 * SEC);
    n = f->m->irq_raise_count[IRQ];
    cmos_wr(f, 0x0b, 0x12);
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, n + 1);
    g_assert_cmphex(cmos(f, 0x0c), ==, 0x90);
}

static void test_alarm(Fixture *f, gconstpointer data)
{
    unsigned n;

    cmos_wr(f, 0x0a, 0x20);
    set_time_bcd(f, 0x20, 0x26, 0x01, 0x15, 0x10, 0x00, 0x00);
    cmos_wr(f, 0x01, 0x05);
    cmos_wr(f, 0x03, 0x00);
    cmos_wr(f, 0x05, 0x10);
    cmos_wr(f, 0x0b, 0x22); /* AIE */
    cmos(f, 0x0c);
    n = f->m->irq_raise_count[IRQ];
    vmm_clock_advance(f->m, 4 * SEC);
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, n);
    g_assert_cmphex(cmos(f, 0x0c) & 0xa0, ==, 0x00);
    vmm_clock_advance(f->m, 1 * SEC);
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, n + 1);
    g_assert_cmphex(cmos(f, 0x00), ==, 0x05);
    g_assert_cmphex(cmos(f, 0x0c) & 0xa0, ==, 0xa0);
    vmm_clock_advance(f->m, 1 * SEC);
    g_assert_cmphex(cmos(f, 0x0c) & 0xa0, ==, 0x00);

    /* "Don't care" in all three fields: every second. */
    cmos_wr(f, 0x01, 0xc0);
    cmos_wr(f, 0x03, 0xff);
    cmos_wr(f, 0x05, 0xc3);
    n = f->m->irq_raise_count[IRQ];
    for (unsigned i = 0; i < 5; i++) {
        vmm_clock_advance(f->m, 1 * SEC);
        g_assert_cmphex(cmos(f, 0x0c) & 0xa0, ==, 0xa0);
    }
    g_assert_cmpuint(f->m->irq_raise_count[IRQ], ==, n + 5);
}

static void test_uip(Fixture *f, gconstpointer data)
{
    /* Releasing SET puts the next update exactly one second away. */
    set_time_bcd(f, 0x20, 0x26, 0x06, 0x01, 0x12, 0x00, 0x00);
    vmm_clock_advance(f->m, 1 * SEC - 300 * US);
    g_assert_cmphex(cmos(f, 0x0a) & 0x80, ==, 0x00);
    g_assert_cmphex(cmos(f, 0x00), ==, 0x00);
    vmm_clock_advance(f->m, 100 * US);
    g_assert_cmphex(cmos(f, 0x0a) & 0x80, ==, 0x80);
    vmm_clock_advance(f->m, 250 * US);
    g_assert_cmphex(cmos(f, 0x0a) & 0x80, ==, 0x00);
    g_assert_cmphex(cmos(f, 0x00), ==, 0x01);
    vmm_clock_advance(f->m, 1 * SEC - 100 * US);
    g_assert_cmphex(cmos(f, 0x0a) & 0x80, ==, 0x80);
    g_assert_cmphex(cmos(f, 0x00), ==, 0x01);

    /* No UIP while SET holds the clock or the divider is in reset. */
    cmos_wr(f, 0x0b, 0x82);
    g_assert_cmphex(cmos(f, 0x0a) & 0x80, ==, 0x00);
    cmos_wr(f, 0x0b, 0x02);
    cmos_wr(f, 0x0a, 0x66);
    vmm_clock_advance(f->m, 5 * SEC);
    g_assert_cmphex(cmos(f, 0x0a), ==, 0x66);
    /* Releasing the divider: first update half a second later. */
    g_assert_cmphex(cmos(f, 0x00), ==, 0x01);
    cmos_wr(f, 0x0a, 0x26);
    vmm_clock_advance(f->m, 400 * MS);
    g_assert_cmphex(cmos(f, 0x00), ==, 0x01);
    vmm_clock_advance(f->m, 100 * MS);
    g_assert_cmphex(cmos(f, 0x00), ==, 0x02);
}

static void test_nvram_survives_reset(Fixture *f, gconstpointer data)
{
    int64_t before;

    for (unsigned i = 0x40; i < 0x80; i++) {
        cmos_wr(f, i, i ^ 0x5a);
    }
    rtc_cmos_set(f->rtc, 0x5f, 3);
    rtc_cmos_set(f->rtc, 0x10, 0);
    rtc_cmos_set(f->rtc, 0x3d, 0x32);
    cmos_wr(f, 0x01, 0x33); /* alarm seconds */
    cmos_wr(f, 0x0a, 0x2a);
    cmos_wr(f, 0x0b, 0x7a); /* PIE AIE UIE SQWE + 24h */
    vmm_clock_advance(f->m, 1 * SEC);
    g_assert_cmphex(rtc_cmos_get(f->rtc, 0x0c) & 0x80, ==, 0x80);
    before = rtc_seconds(f, false);

    vmm_device_reset(f->dev);

    for (unsigned i = 0x40; i < 0x80; i++) {
        if (i == 0x5f) {
            g_assert_cmphex(cmos(f, i), ==, 3);
        } else if (i != 0x32) {
            g_assert_cmphex(cmos(f, i), ==, i ^ 0x5a);
        }
    }
    g_assert_cmphex(cmos(f, 0x3d), ==, 0x32);
    g_assert_cmphex(cmos(f, 0x01), ==, 0x33);
    g_assert_cmphex(cmos(f, 0x0a) & 0x7f, ==, 0x2a);
    g_assert_cmphex(cmos(f, 0x0b), ==, 0x02); /* enables cleared */
    g_assert_cmphex(cmos(f, 0x0c), ==, 0x00); /* flags cleared */
    /* The clock kept its time across the reset. */
    g_assert_cmpint(rtc_seconds(f, false), >=, before);
    g_assert_cmpint(rtc_seconds(f, false), <=, before + 1);

    /* rtc_cmos_get has no side effects on C. */
    cmos_wr(f, 0x0a, 0x20);
    cmos(f, 0x0c);
    cmos_wr(f, 0x0b, 0x12);
    vmm_clock_advance(f->m, 1 * SEC);
    g_assert_cmphex(rtc_cmos_get(f->rtc, 0x0c), ==, 0x90);
    g_assert_cmphex(rtc_cmos_get(f->rtc, 0x0c), ==, 0x90);
    g_assert_cmphex(cmos(f, 0x0c), ==, 0x90);
    g_assert_cmphex(rtc_cmos_get(f->rtc, 0x0c), ==, 0x00);
}

static void test_localtime(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GDateTime) local = NULL;
    VmmMachine *m = vmm_machine_new_fake();
    VmmCfgNode *cfg = vmm_cfg_new();
    Fixture fx = {.m = m};
    int64_t expect;
    int64_t guest;

    /* A zone that is never UTC, so the test means something on UTC machines too. */
    g_setenv("TZ", "BWT-5:30", TRUE);
    local = g_date_time_new_now_local();
    g_assert_cmpint(g_date_time_get_utc_offset(local), ==,
                    (gint64)(5 * 3600 + 1800) * G_USEC_PER_SEC);
    vmm_clock_set_manual(m);
    vmm_cfg_set_int(cfg, "localtime", 1);
    fx.dev = vmm_device_create(m, &rtc_type, "rtc", cfg, &err);
    g_assert_no_error(err);
    /* The registers show local wall-clock time: UTC plus the host's offset. */
    expect =
        g_get_real_time() / G_USEC_PER_SEC + g_date_time_get_utc_offset(local) / G_USEC_PER_SEC;
    guest = rtc_seconds(&fx, false);
    g_assert_cmpint(guest, >=, expect - 2);
    g_assert_cmpint(guest, <=, expect + 2);
    vmm_machine_free(m);
    vmm_cfg_free(cfg);
}

#define ADD(name, fn) g_test_add("/rtc/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("power-on", test_power_on);
    ADD("host-time", test_host_time);
    ADD("set-bcd-binary-12h", test_set_bcd_binary_12h);
    ADD("garbage-time", test_garbage_time);
    ADD("periodic", test_periodic);
    ADD("reg-c-cleared-on-read", test_reg_c_cleared_on_read);
    ADD("alarm", test_alarm);
    ADD("uip", test_uip);
    ADD("nvram-survives-reset", test_nvram_survives_reset);
    g_test_add_func("/rtc/localtime", test_localtime);
    return g_test_run();
}
