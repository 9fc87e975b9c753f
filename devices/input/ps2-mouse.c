/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PS/2 mouse: stream, remote and wrap modes, the command set Linux's psmouse and
 * SeaBIOS use, and the IntelliMouse extensions selected by the sample-rate knock
 * sequences (200, 100, 80 → wheel, id 3; then 200, 200, 80 → five buttons, id 4).
 */
#define G_LOG_DOMAIN "i8042"
#include <glib.h>
#include <limits.h>
#include <string.h>

#include "devices/input/ps2.h"
#include "vmm/log.h"

#define MOUSE_CMD_SCALING_1_1 0xe6
#define MOUSE_CMD_SCALING_2_1 0xe7
#define MOUSE_CMD_SET_RESOLUTION 0xe8
#define MOUSE_CMD_STATUS 0xe9
#define MOUSE_CMD_STREAM_MODE 0xea
#define MOUSE_CMD_READ_DATA 0xeb
#define MOUSE_CMD_RESET_WRAP 0xec
#define MOUSE_CMD_WRAP_MODE 0xee
#define MOUSE_CMD_REMOTE_MODE 0xf0
#define MOUSE_CMD_GET_ID 0xf2
#define MOUSE_CMD_SET_RATE 0xf3
#define MOUSE_CMD_ENABLE 0xf4
#define MOUSE_CMD_DISABLE 0xf5
#define MOUSE_CMD_DEFAULTS 0xf6
#define MOUSE_CMD_RESEND 0xfe
#define MOUSE_CMD_RESET 0xff

/* Packet byte 0. */
#define PKT_ALWAYS_ONE 0x08
#define PKT_X_SIGN 0x10
#define PKT_Y_SIGN 0x20
#define PKT_X_OVERFLOW 0x40
#define PKT_Y_OVERFLOW 0x80

/* Host movement is accumulated up to this bound so a stuck consumer cannot overflow it. */
#define MOUSE_ACCUM_MAX 4096

static void mouse_reply(Ps2Mouse *ms, uint8_t b)
{
    /* Replies must reach the guest: drop stale movement rather than the reply. */
    if (ps2_queue_space(&ms->queue) == 0) {
        ps2_queue_clear(&ms->queue);
    }
    ps2_queue_push(&ms->queue, b);
}

static void mouse_set_defaults(Ps2Mouse *ms)
{
    ms->rate = 100;
    ms->resolution = 2;
    ms->scale21 = false;
    ms->reporting = false;
    ms->pending_cmd = 0;
}

static void mouse_clear_motion(Ps2Mouse *ms)
{
    ms->dx = 0;
    ms->dy = 0;
    ms->dz = 0;
    ms->buttons_reported = ms->buttons;
}

void ps2_mouse_init(Ps2Mouse *ms)
{
    memset(ms, 0, sizeof(*ms));
    mouse_set_defaults(ms);
    ms->mode = PS2_MOUSE_STREAM;
    ms->mode_before_wrap = PS2_MOUSE_STREAM;
    ms->id = 0;
}

static unsigned packet_size(const Ps2Mouse *ms)
{
    return ms->id == 0 ? 3 : 4;
}

/* Takes up to one packet's worth of @*acc; returns the part sent and whether it overflowed. */
static int take(int *acc, int lo, int hi, bool clamp_only, bool *overflow)
{
    int v = *acc;

    *overflow = false;
    if (v < lo) {
        *overflow = clamp_only;
        v = lo;
    } else if (v > hi) {
        *overflow = clamp_only;
        v = hi;
    }
    *acc = clamp_only ? 0 : *acc - v;
    return v;
}

/*
 * Builds one packet from the pending movement. In stream mode a large movement is
 * split over several packets; in remote mode (one packet per poll, like a real
 * mouse's counters) what does not fit is lost and the overflow bit says so.
 */
static void mouse_send_packet(Ps2Mouse *ms, bool remote_poll)
{
    bool ox, oy, oz;
    int x = take(&ms->dx, -256, 255, remote_poll, &ox);
    int y = take(&ms->dy, -256, 255, remote_poll, &oy);
    int z;
    uint8_t b0 = PKT_ALWAYS_ONE | (ms->buttons & 0x07);

    if (ms->id == 4) {
        z = take(&ms->dz, -8, 7, remote_poll, &oz);
    } else if (ms->id == 3) {
        z = take(&ms->dz, -128, 127, remote_poll, &oz);
    } else {
        z = 0;
        ms->dz = 0;
    }
    if (x < 0) {
        b0 |= PKT_X_SIGN;
    }
    if (y < 0) {
        b0 |= PKT_Y_SIGN;
    }
    if (ox) {
        b0 |= PKT_X_OVERFLOW;
    }
    if (oy) {
        b0 |= PKT_Y_OVERFLOW;
    }
    ps2_queue_push(&ms->queue, b0);
    ps2_queue_push(&ms->queue, (uint8_t)(x & 0xff));
    ps2_queue_push(&ms->queue, (uint8_t)(y & 0xff));
    if (ms->id == 4) {
        uint8_t b3 = (uint8_t)(z & 0x0f);
        if (ms->buttons & PS2_MOUSE_BTN_SIDE) {
            b3 |= 0x10;
        }
        if (ms->buttons & PS2_MOUSE_BTN_EXTRA) {
            b3 |= 0x20;
        }
        ps2_queue_push(&ms->queue, b3);
    } else if (ms->id == 3) {
        ps2_queue_push(&ms->queue, (uint8_t)(z & 0xff));
    }
    ms->buttons_reported = ms->buttons;
}

void ps2_mouse_flush(Ps2Mouse *ms)
{
    if (ms->mode != PS2_MOUSE_STREAM || !ms->reporting) {
        return;
    }
    /* Bounded: each packet takes at least one step of every accumulator towards 0. */
    for (unsigned i = 0; i < PS2_QUEUE_SIZE; i++) {
        bool moved = ms->dx != 0 || ms->dy != 0 || (ms->id != 0 && ms->dz != 0);
        if (!moved && ms->buttons == ms->buttons_reported) {
            break;
        }
        if (ps2_queue_space(&ms->queue) < packet_size(ms)) {
            break;
        }
        mouse_send_packet(ms, false);
    }
}

static int accumulate(int acc, int delta)
{
    int64_t v = (int64_t)acc + delta;

    return (int)CLAMP(v, -MOUSE_ACCUM_MAX, MOUSE_ACCUM_MAX);
}

void ps2_mouse_event(Ps2Mouse *ms, int dx, int dy, int dz, unsigned buttons)
{
    /* PS/2 counts y upwards and the wheel towards the user. */
    ms->dx = accumulate(ms->dx, dx);
    ms->dy = accumulate(ms->dy, dy == INT_MIN ? INT_MAX : -dy);
    ms->dz = accumulate(ms->dz, dz == INT_MIN ? INT_MAX : -dz);
    ms->buttons = buttons & 0x1f;
    ps2_mouse_flush(ms);
}

static void mouse_note_rate(Ps2Mouse *ms, uint8_t rate)
{
    ms->rate_hist[0] = ms->rate_hist[1];
    ms->rate_hist[1] = ms->rate_hist[2];
    ms->rate_hist[2] = rate;
    if (ms->rate_hist[0] == 200 && ms->rate_hist[2] == 80) {
        if (ms->rate_hist[1] == 100 && ms->id == 0) {
            ms->id = 3;
        } else if (ms->rate_hist[1] == 200 && ms->id == 3) {
            ms->id = 4;
        }
    }
}

static void mouse_param(Ps2Mouse *ms, uint8_t cmd, uint8_t val)
{
    switch (cmd) {
    case MOUSE_CMD_SET_RATE:
        /*
         * Any rate is accepted (and only reported back): touchpad drivers probe with
         * non-standard values and a plain mouse must simply not be what they look for.
         */
        ms->rate = val;
        mouse_note_rate(ms, val);
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_SET_RESOLUTION:
        if (val <= 3) {
            ms->resolution = val;
            mouse_reply(ms, PS2_ACK);
        } else {
            vmm_guest_error("ps2-mouse: invalid resolution %u", val);
            mouse_reply(ms, PS2_RESEND);
        }
        break;
    default:
        break;
    }
}

static void mouse_status(Ps2Mouse *ms)
{
    uint8_t st = 0;

    if (ms->mode == PS2_MOUSE_REMOTE) {
        st |= 0x40;
    }
    if (ms->reporting) {
        st |= 0x20;
    }
    if (ms->scale21) {
        st |= 0x10;
    }
    if (ms->buttons & PS2_MOUSE_BTN_LEFT) {
        st |= 0x04;
    }
    if (ms->buttons & PS2_MOUSE_BTN_MIDDLE) {
        st |= 0x02;
    }
    if (ms->buttons & PS2_MOUSE_BTN_RIGHT) {
        st |= 0x01;
    }
    mouse_reply(ms, PS2_ACK);
    mouse_reply(ms, st);
    mouse_reply(ms, ms->resolution);
    mouse_reply(ms, ms->rate);
}

void ps2_mouse_write(Ps2Mouse *ms, uint8_t byte)
{
    if (ms->pending_cmd != 0) {
        uint8_t cmd = ms->pending_cmd;
        ms->pending_cmd = 0;
        mouse_param(ms, cmd, byte);
        return;
    }

    if (ms->mode == PS2_MOUSE_WRAP && byte != MOUSE_CMD_RESET_WRAP && byte != MOUSE_CMD_RESET) {
        mouse_reply(ms, byte);
        return;
    }

    switch (byte) {
    case MOUSE_CMD_SCALING_1_1:
        ms->scale21 = false;
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_SCALING_2_1:
        ms->scale21 = true;
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_SET_RESOLUTION:
    case MOUSE_CMD_SET_RATE:
        ms->pending_cmd = byte;
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_STATUS:
        mouse_status(ms);
        break;
    case MOUSE_CMD_STREAM_MODE:
        ms->mode = PS2_MOUSE_STREAM;
        mouse_clear_motion(ms);
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_READ_DATA:
        mouse_reply(ms, PS2_ACK);
        if (ps2_queue_space(&ms->queue) < packet_size(ms)) {
            ps2_queue_clear(&ms->queue);
            ps2_queue_push(&ms->queue, PS2_ACK);
        }
        mouse_send_packet(ms, true);
        break;
    case MOUSE_CMD_RESET_WRAP:
        if (ms->mode == PS2_MOUSE_WRAP) {
            ms->mode = ms->mode_before_wrap;
        }
        mouse_clear_motion(ms);
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_WRAP_MODE:
        ms->mode_before_wrap = ms->mode;
        ms->mode = PS2_MOUSE_WRAP;
        mouse_clear_motion(ms);
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_REMOTE_MODE:
        ms->mode = PS2_MOUSE_REMOTE;
        mouse_clear_motion(ms);
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_GET_ID:
        mouse_reply(ms, PS2_ACK);
        mouse_reply(ms, ms->id);
        break;
    case MOUSE_CMD_ENABLE:
        ms->reporting = true;
        mouse_clear_motion(ms);
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_DISABLE:
        /* Stale packets would land where psmouse waits for the ACK. */
        ps2_queue_clear(&ms->queue);
        ms->reporting = false;
        mouse_clear_motion(ms);
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_DEFAULTS:
        ps2_queue_clear(&ms->queue);
        mouse_set_defaults(ms);
        mouse_clear_motion(ms);
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_RESEND:
        /* Nothing is ever garbled on this wire; resend the ACK. */
        mouse_reply(ms, PS2_ACK);
        break;
    case MOUSE_CMD_RESET:
        ps2_queue_clear(&ms->queue);
        mouse_set_defaults(ms);
        mouse_clear_motion(ms);
        ms->mode = PS2_MOUSE_STREAM;
        ms->id = 0;
        memset(ms->rate_hist, 0, sizeof(ms->rate_hist));
        mouse_reply(ms, PS2_ACK);
        mouse_reply(ms, PS2_BAT_OK);
        mouse_reply(ms, 0x00);
        break;
    default:
        vmm_guest_error("ps2-mouse: unknown command 0x%02x", byte);
        mouse_reply(ms, PS2_RESEND);
        break;
    }
}
