/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * MC146818 real-time clock with CMOS NVRAM.
 *
 * The clock is kept as "guest time base_sec was exact at virtual time base_ns" and the
 * time registers are computed from the virtual clock when read, so a paused VM's clock
 * stands still and nothing has to tick to keep the registers current. A 1 Hz update timer
 * still runs while the clock runs because the update-ended and alarm flags must appear in
 * register C whether or not their interrupts are enabled. The periodic flag is accounted
 * lazily and its timer only runs while the interrupt is enabled and not yet acknowledged.
 *
 * IRQ 8 is pulsed when IRQF rises (a rising edge on the real chip's IRQ pin, which stays
 * asserted until register C is read): with the ISA line edge-triggered in the in-kernel
 * PIC/IOAPIC that is what a held level would deliver, and there is nothing to lower.
 */
#define G_LOG_DOMAIN "rtc"
#include <string.h>
#include <gio/gio.h>

#include "devices/rtc/mc146818.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/timer.h"

#define REG_SECONDS 0x00
#define REG_SECONDS_ALARM 0x01
#define REG_MINUTES 0x02
#define REG_MINUTES_ALARM 0x03
#define REG_HOURS 0x04
#define REG_HOURS_ALARM 0x05
#define REG_DAY_OF_WEEK 0x06
#define REG_DAY_OF_MONTH 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define REG_A_UIP 0x80
#define REG_A_DV 0x70
#define REG_A_RS 0x0f
#define REG_A_DV_NORMAL 0x20 /* 32.768 kHz time base, divider running */

#define REG_B_SET 0x80
#define REG_B_PIE 0x40
#define REG_B_AIE 0x20
#define REG_B_UIE 0x10
#define REG_B_SQWE 0x08
#define REG_B_BINARY 0x04
#define REG_B_24H 0x02

#define REG_C_IRQF 0x80
#define REG_C_PF 0x40
#define REG_C_AF 0x20
#define REG_C_UF 0x10

#define REG_D_VRT 0x80

#define ALARM_DONT_CARE 0xc0
#define HOUR_PM 0x80

#define NS_PER_SEC G_GINT64_CONSTANT(1000000000)
#define RTC_BASE_HZ 32768
/* UIP rises this long before each update (data sheet: 244 us at 32.768 kHz). */
#define RTC_UIP_NS 244000

struct RtcState {
    VmmDevice parent;

    /* Properties. */
    uint16_t iobase;
    uint8_t irq;
    bool localtime;

    VmmTimer *update_timer;   /* Owned: once per second while the clock runs */
    VmmTimer *periodic_timer; /* Owned: next periodic interrupt while PIE is on */

    /* Everything below is guarded by parent.lock. */
    uint8_t cmos[RTC_CMOS_SIZE];
    uint8_t index;
    bool nmi_masked;   /* bit 7 of the index port; stored, the NMI is not modelled */
    int64_t base_sec;  /* guest time (seconds since 1970, in the RTC's time zone) ... */
    int64_t base_ns;   /* ... that was exact at this virtual time */
    int64_t pf_ref_ns; /* periodic boundaries up to here are already in PF */
    int64_t min_timer_delay_ns;
};

typedef struct {
    int64_t year;
    int month; /* 1..12 */
    int mday;  /* 1..31 */
    int wday;  /* 0 = Sunday */
    int hour, min, sec;
} RtcTime;

/* Days since 1970-01-01 of a proleptic Gregorian date, for any year (400-year cycles). */
static int64_t days_from_date(int64_t year, int month, int mday)
{
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t cycle = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_cycle = y - cycle * 400;
    /* Counting from March puts the leap day at the end of the counted year. */
    int shifted_month = month > 2 ? month - 3 : month + 9;
    int64_t day_of_year = (153 * shifted_month + 2) / 5 + mday - 1;
    int64_t day_of_cycle =
        year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;

    return cycle * 146097 + day_of_cycle - 719468; /* 719468: 0000-03-01 to 1970-01-01 */
}

static void date_from_days(int64_t days, RtcTime *t)
{
    int64_t z = days + 719468;
    int64_t cycle = (z >= 0 ? z : z - 146096) / 146097;
    int64_t day_of_cycle = z - cycle * 146097;
    int64_t year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524 - day_of_cycle / 146096) / 365;
    int64_t day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    int shifted_month = (int)((5 * day_of_year + 2) / 153);

    t->mday = (int)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    t->month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
    t->year = year_of_cycle + cycle * 400 + (t->month <= 2 ? 1 : 0);
    t->wday = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void time_from_seconds(int64_t secs, RtcTime *t)
{
    int64_t days = floor_div(secs, 86400);
    int64_t rem = secs - days * 86400;

    date_from_days(days, t);
    t->hour = (int)(rem / 3600);
    t->min = (int)(rem / 60 % 60);
    t->sec = (int)(rem % 60);
}

static bool binary_mode(RtcState *s)
{
    return (s->cmos[REG_B] & REG_B_BINARY) != 0;
}

static uint8_t to_reg(RtcState *s, int64_t v)
{
    if (binary_mode(s)) {
        return (uint8_t)v;
    }
    v %= 100;
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Guest-written registers may hold anything; bad BCD digits just give big numbers. */
static int from_reg(RtcState *s, uint8_t r)
{
    if (binary_mode(s)) {
        return r;
    }
    return ((r >> 4) & 0x0f) * 10 + (r & 0x0f);
}

static uint8_t hour_to_reg(RtcState *s, int hour)
{
    if (s->cmos[REG_B] & REG_B_24H) {
        return to_reg(s, hour);
    }
    return to_reg(s, hour % 12 == 0 ? 12 : hour % 12) | (hour >= 12 ? HOUR_PM : 0);
}

static int hour_from_reg(RtcState *s, uint8_t r)
{
    if (s->cmos[REG_B] & REG_B_24H) {
        return from_reg(s, r);
    }
    return from_reg(s, r & ~HOUR_PM) % 12 + ((r & HOUR_PM) ? 12 : 0);
}

/* The divider held in reset or SET: the time registers hold still and take writes. */
static bool clock_halted(RtcState *s)
{
    return (s->cmos[REG_B] & REG_B_SET) || (s->cmos[REG_A] & REG_A_DV) >= 0x60;
}

static int64_t now_ns(RtcState *s)
{
    return vmm_clock_ns(s->parent.machine);
}

static int64_t current_seconds(RtcState *s, int64_t now)
{
    return s->base_sec + floor_div(now - s->base_ns, NS_PER_SEC);
}

/* Nanoseconds into the current second. */
static int64_t current_phase(RtcState *s, int64_t now)
{
    return now - s->base_ns - floor_div(now - s->base_ns, NS_PER_SEC) * NS_PER_SEC;
}

/* Refreshes the time registers from the running clock. */
static void refresh_time_regs(RtcState *s, int64_t now)
{
    RtcTime t;

    if (clock_halted(s)) {
        return;
    }
    time_from_seconds(current_seconds(s, now), &t);
    s->cmos[REG_SECONDS] = to_reg(s, t.sec);
    s->cmos[REG_MINUTES] = to_reg(s, t.min);
    s->cmos[REG_HOURS] = hour_to_reg(s, t.hour);
    s->cmos[REG_DAY_OF_WEEK] = to_reg(s, t.wday + 1);
    s->cmos[REG_DAY_OF_MONTH] = to_reg(s, t.mday);
    s->cmos[REG_MONTH] = to_reg(s, t.month);
    s->cmos[REG_YEAR] = to_reg(s, t.year % 100);
    s->cmos[RTC_CENTURY_INDEX] = to_reg(s, t.year / 100);
}

/* Seconds since 1970 from whatever the guest put in the time registers (bounded values). */
static int64_t seconds_from_regs(RtcState *s)
{
    int64_t year =
        (int64_t)from_reg(s, s->cmos[RTC_CENTURY_INDEX]) * 100 + from_reg(s, s->cmos[REG_YEAR]);
    int month = from_reg(s, s->cmos[REG_MONTH]);
    int64_t days;

    if (month < 1 || month > 12) {
        month = 1;
    }
    /* Out-of-range days, hours and minutes simply carry into the next unit. */
    days = days_from_date(year, month, 1) + from_reg(s, s->cmos[REG_DAY_OF_MONTH]) - 1;
    return days * 86400 + (int64_t)hour_from_reg(s, s->cmos[REG_HOURS]) * 3600 +
           (int64_t)from_reg(s, s->cmos[REG_MINUTES]) * 60 + from_reg(s, s->cmos[REG_SECONDS]);
}

static void arm_timer(RtcState *s, VmmTimer *t, int64_t expire, int64_t now)
{
    /* However the guest programs the chip, a timer never fires sooner than this. */
    if (expire < now + RTC_MIN_TIMER_DELAY_NS) {
        expire = now + RTC_MIN_TIMER_DELAY_NS;
    }
    if (expire - now < s->min_timer_delay_ns) {
        s->min_timer_delay_ns = expire - now;
    }
    vmm_timer_mod(t, expire);
}

/* Periodic rate as a count of 32.768 kHz ticks, 0 when off. Rates 1 and 2 are the slow
 * 256 Hz and 128 Hz of the data sheet's 32 kHz table, so nothing beats 8192 Hz. */
static int64_t periodic_ticks(RtcState *s)
{
    unsigned rs = s->cmos[REG_A] & REG_A_RS;

    if (rs == 0) {
        return 0;
    }
    if (rs <= 2) {
        return 64 << rs;
    }
    return 1 << (rs - 1);
}

static int64_t ns_to_ticks(int64_t ns)
{
    return (int64_t)((__int128)ns * RTC_BASE_HZ / NS_PER_SEC);
}

/* First nanosecond at which ns_to_ticks() reaches @ticks. */
static int64_t ticks_to_ns(int64_t ticks)
{
    return (int64_t)(((__int128)ticks * NS_PER_SEC + RTC_BASE_HZ - 1) / RTC_BASE_HZ);
}

/* Sets PF when a periodic boundary passed since the last accounting. */
static void account_periodic(RtcState *s, int64_t now)
{
    int64_t ticks = periodic_ticks(s);

    if (ticks != 0 && now > s->pf_ref_ns &&
        ns_to_ticks(now) / ticks > ns_to_ticks(s->pf_ref_ns) / ticks) {
        s->cmos[REG_C] |= REG_C_PF;
    }
    s->pf_ref_ns = now;
}

static void update_irq(RtcState *s)
{
    uint8_t b = s->cmos[REG_B];
    uint8_t c = s->cmos[REG_C];
    bool irqf = ((c & REG_C_PF) && (b & REG_B_PIE)) || ((c & REG_C_AF) && (b & REG_B_AIE)) ||
                ((c & REG_C_UF) && (b & REG_B_UIE));

    if (irqf && !(c & REG_C_IRQF)) {
        s->cmos[REG_C] |= REG_C_IRQF;
        vmm_irq_pulse(s->parent.machine, s->irq);
    } else if (!irqf) {
        s->cmos[REG_C] &= ~REG_C_IRQF;
    }
}

/* The periodic timer runs only while its interrupt could be delivered. */
static void rearm_periodic(RtcState *s, int64_t now)
{
    int64_t ticks = periodic_ticks(s);

    if (ticks != 0 && (s->cmos[REG_B] & REG_B_PIE) && !(s->cmos[REG_C] & REG_C_PF)) {
        int64_t next = (ns_to_ticks(now) / ticks + 1) * ticks;

        arm_timer(s, s->periodic_timer, ticks_to_ns(next), now);
    } else {
        vmm_timer_del(s->periodic_timer);
    }
}

static void rearm_update(RtcState *s, int64_t now)
{
    if (clock_halted(s)) {
        vmm_timer_del(s->update_timer);
        return;
    }
    arm_timer(s, s->update_timer, now - current_phase(s, now) + NS_PER_SEC, now);
}

static void periodic_cb(void *opaque)
{
    RtcState *s = opaque;
    int64_t now = now_ns(s);

    account_periodic(s, now);
    update_irq(s);
    rearm_periodic(s, now);
}

static bool alarm_matches(RtcState *s)
{
    static const uint8_t pairs[3][2] = {
        {REG_SECONDS_ALARM, REG_SECONDS},
        {REG_MINUTES_ALARM, REG_MINUTES},
        {REG_HOURS_ALARM, REG_HOURS},
    };

    for (unsigned i = 0; i < 3; i++) {
        uint8_t alarm = s->cmos[pairs[i][0]];

        if ((alarm & ALARM_DONT_CARE) != ALARM_DONT_CARE && alarm != s->cmos[pairs[i][1]]) {
            return false;
        }
    }
    return true;
}

static void update_cb(void *opaque)
{
    RtcState *s = opaque;
    int64_t now = now_ns(s);

    if (clock_halted(s)) {
        return;
    }
    refresh_time_regs(s, now);
    s->cmos[REG_C] |= REG_C_UF;
    if (alarm_matches(s)) {
        s->cmos[REG_C] |= REG_C_AF;
    }
    update_irq(s);
    rearm_update(s, now);
}

/* The clock starts again from the time registers; the next update is @first_update_ns away. */
static void restart_clock(RtcState *s, int64_t now, int64_t first_update_ns)
{
    s->base_sec = seconds_from_regs(s);
    s->base_ns = now - (NS_PER_SEC - first_update_ns);
}

static void write_reg_a(RtcState *s, uint8_t v, int64_t now)
{
    bool was_halted = clock_halted(s);

    refresh_time_regs(s, now);
    account_periodic(s, now); /* at the old rate */
    s->cmos[REG_A] = v & ~REG_A_UIP;
    if (was_halted && !clock_halted(s)) {
        /* Releasing the divider chain: the first update comes half a second later. */
        restart_clock(s, now, NS_PER_SEC / 2);
    }
    rearm_update(s, now);
    rearm_periodic(s, now);
}

static void write_reg_b(RtcState *s, uint8_t v, int64_t now)
{
    bool was_halted = clock_halted(s);

    refresh_time_regs(s, now);
    if (v & REG_B_SET) {
        v &= ~REG_B_UIE; /* SET clears UIE (data sheet) */
    }
    s->cmos[REG_B] = v;
    if (was_halted && !clock_halted(s)) {
        restart_clock(s, now, NS_PER_SEC);
    }
    update_irq(s);
    rearm_update(s, now);
    rearm_periodic(s, now);
}

static bool is_time_reg(unsigned index)
{
    switch (index) {
    case REG_SECONDS:
    case REG_MINUTES:
    case REG_HOURS:
    case REG_DAY_OF_WEEK:
    case REG_DAY_OF_MONTH:
    case REG_MONTH:
    case REG_YEAR:
    case RTC_CENTURY_INDEX:
        return true;
    default:
        return false;
    }
}

static uint8_t read_reg_a(RtcState *s, int64_t now)
{
    uint8_t v = s->cmos[REG_A];

    if (!clock_halted(s) && current_phase(s, now) >= NS_PER_SEC - RTC_UIP_NS) {
        v |= REG_A_UIP;
    }
    return v;
}

static uint8_t cmos_read(RtcState *s, unsigned index, bool side_effects)
{
    int64_t now = now_ns(s);
    uint8_t v;

    if (is_time_reg(index)) {
        refresh_time_regs(s, now);
        return s->cmos[index];
    }
    switch (index) {
    case REG_A:
        return read_reg_a(s, now);
    case REG_C:
        account_periodic(s, now);
        update_irq(s);
        v = s->cmos[REG_C];
        if (side_effects) {
            /* Reading C acknowledges every flag and the interrupt. */
            s->cmos[REG_C] = 0;
            rearm_periodic(s, now);
        }
        return v;
    case REG_D:
        return REG_D_VRT; /* the battery is always good */
    default:
        return s->cmos[index];
    }
}

static void cmos_write(RtcState *s, unsigned index, uint8_t v)
{
    int64_t now = now_ns(s);

    if (is_time_reg(index)) {
        if (clock_halted(s)) {
            s->cmos[index] = v;
            return;
        }
        /* Setting one field of a running clock: keep the phase within the second. */
        refresh_time_regs(s, now);
        s->cmos[index] = v;
        s->base_sec = seconds_from_regs(s);
        s->base_ns = now - current_phase(s, now);
        return;
    }
    switch (index) {
    case REG_A:
        write_reg_a(s, v, now);
        break;
    case REG_B:
        write_reg_b(s, v, now);
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    default:
        s->cmos[index] = v; /* alarms and NVRAM */
        break;
    }
}

static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
    RtcState *s = opaque;

    if (offset == 0) {
        return 0xff; /* the index register is write-only */
    }
    return cmos_read(s, s->index, true);
}

static void rtc_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    RtcState *s = opaque;

    if (offset == 0) {
        s->index = value & 0x7f;
        s->nmi_masked = (value & 0x80) != 0;
        return;
    }
    cmos_write(s, s->index, value & 0xff);
}

static const VmmIoOps rtc_io_ops = {
    .read = rtc_io_read,
    .write = rtc_io_write,
    .min_access = 1,
    .max_access = 1,
};

static void rtc_reset(VmmDevice *dev)
{
    RtcState *s = (RtcState *)dev;
    int64_t now = now_ns(s);

    /* The RESET pin clears the interrupt enables and flags; time and NVRAM are battery
     * backed and stay. */
    refresh_time_regs(s, now);
    s->cmos[REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    s->cmos[REG_C] = 0;
    s->pf_ref_ns = now;
    s->index = 0;
    s->nmi_masked = false;
    rearm_update(s, now);
    rearm_periodic(s, now);
}

static void rtc_unrealize(VmmDevice *dev)
{
    RtcState *s = (RtcState *)dev;

    g_clear_pointer(&s->update_timer, vmm_timer_free);
    g_clear_pointer(&s->periodic_timer, vmm_timer_free);
}

static bool rtc_realize(VmmDevice *dev, GError **error)
{
    RtcState *s = (RtcState *)dev;
    VmmMachine *m = dev->machine;
    int64_t real_us = g_get_real_time();
    int64_t now;

    if (s->localtime) {
        g_autoptr(GDateTime) local = g_date_time_new_now_local();

        real_us += g_date_time_get_utc_offset(local);
    }
    s->update_timer = vmm_timer_new(m, update_cb, s, &dev->lock);
    s->periodic_timer = vmm_timer_new(m, periodic_cb, s, &dev->lock);
    if (vmm_bus_register(m->pio, dev->id, s->iobase, 2, &rtc_io_ops, s, &dev->lock) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "%s: I/O ports 0x%x-0x%x are already taken", dev->id, s->iobase, s->iobase + 1);
        rtc_unrealize(dev);
        return false;
    }

    g_mutex_lock(&dev->lock);
    now = now_ns(s);
    s->min_timer_delay_ns = INT64_MAX;
    memset(s->cmos, 0, sizeof(s->cmos));
    s->cmos[REG_A] = REG_A_DV_NORMAL | 0x06; /* 1024 Hz, as PC BIOSes program it */
    s->cmos[REG_B] = REG_B_24H;
    s->cmos[REG_D] = REG_D_VRT;
    /* Power-on: the host's wall clock now, to the microsecond. */
    s->base_sec = floor_div(real_us, G_USEC_PER_SEC);
    s->base_ns = now - (real_us - s->base_sec * G_USEC_PER_SEC) * 1000;
    s->pf_ref_ns = now;
    refresh_time_regs(s, now);
    rearm_update(s, now);
    g_mutex_unlock(&dev->lock);
    return true;
}

RtcState *rtc_from_device(VmmDevice *dev)
{
    if (dev == NULL || dev->type != &rtc_type) {
        return NULL;
    }
    return (RtcState *)dev;
}

void rtc_cmos_set(RtcState *rtc, unsigned index, uint8_t value)
{
    if (index >= RTC_CMOS_SIZE || index <= REG_D || index == RTC_CENTURY_INDEX) {
        g_warning("rtc_cmos_set: 0x%x is not an NVRAM byte", index);
        return;
    }
    g_mutex_lock(&rtc->parent.lock);
    rtc->cmos[index] = value;
    g_mutex_unlock(&rtc->parent.lock);
}

uint8_t rtc_cmos_get(RtcState *rtc, unsigned index)
{
    uint8_t v;

    if (index >= RTC_CMOS_SIZE) {
        return 0;
    }
    g_mutex_lock(&rtc->parent.lock);
    v = cmos_read(rtc, index, false);
    g_mutex_unlock(&rtc->parent.lock);
    return v;
}

int64_t rtc_min_timer_delay_ns(RtcState *rtc)
{
    int64_t v;

    g_mutex_lock(&rtc->parent.lock);
    v = rtc->min_timer_delay_ns;
    g_mutex_unlock(&rtc->parent.lock);
    return v;
}

static const VmmPropDesc rtc_props[] = {
    VMM_PROP_INT(VMM_PROP_U16, "iobase", RtcState, iobase, RTC_IOBASE, 0, 0xfffe,
                 "index port (data port follows)"),
    VMM_PROP_INT(VMM_PROP_U8, "irq", RtcState, irq, RTC_IRQ, 0, 15, "ISA interrupt line"),
    VMM_PROP_INT(VMM_PROP_BOOL, "localtime", RtcState, localtime, 0, 0, 1,
                 "keep local time instead of UTC (what Windows expects)"),
    VMM_PROP_END,
};

const VmmDeviceType rtc_type = {
    .name = "rtc",
    .description = "MC146818 RTC and CMOS NVRAM",
    .instance_size = sizeof(RtcState),
    .props = rtc_props,
    .realize = rtc_realize,
    .reset = rtc_reset,
    .unrealize = rtc_unrealize,
};
