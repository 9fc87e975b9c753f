/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * MC146818 RTC and CMOS NVRAM (ports 0x70/0x71, IRQ 8). KVM has no in-kernel RTC, so this
 * is the guest's wall clock, its periodic/alarm/update interrupts and the 128 bytes of
 * CMOS the board fills for the firmware (memory sizes, CPU count, boot order).
 */
#pragma once

#include <stdint.h>

#include "vmm/device.h"

#define RTC_IOBASE 0x70
#define RTC_IRQ 8
#define RTC_CMOS_SIZE 128
#define RTC_CENTURY_INDEX 0x32 /* also the FADT's "RTC century index" */

/* Timers are never armed closer than this to the current virtual time. */
#define RTC_MIN_TIMER_DELAY_NS 100000

typedef struct RtcState RtcState;

extern const VmmDeviceType rtc_type;

/* The RTC behind a device created from rtc_type, or NULL for any other device. */
RtcState *rtc_from_device(VmmDevice *dev);

/*
 * Board: sets an NVRAM byte (0x0e..0x7f except the century byte 0x32). Clock and status
 * registers are not settable this way. NVRAM survives machine resets.
 */
void rtc_cmos_set(RtcState *rtc, unsigned index, uint8_t value);
/* What the guest would read at @index, without side effects (reg C is not cleared). */
uint8_t rtc_cmos_get(RtcState *rtc, unsigned index);

/* Tests and fuzzing: smallest (expiry - now) any RTC timer was armed with, or INT64_MAX. */
int64_t rtc_min_timer_delay_ns(RtcState *rtc);
