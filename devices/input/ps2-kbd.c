/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PS/2 keyboard: the command set a BIOS and Linux's atkbd use, scancode sets 1 and 2,
 * and the mapping from host (Linux input) key codes to scancodes.
 *
 * Set 3 can be selected and is reported back, but keys are then sent as set 2 codes:
 * no guest we target uses set 3, and a wrong-but-harmless code beats a silent key.
 */
#define G_LOG_DOMAIN "i8042"
#include <glib.h>
#include <linux/input-event-codes.h>
#include <string.h>

#include "devices/input/ps2.h"
#include "vmm/log.h"

#define KBD_CMD_SET_LEDS 0xed
#define KBD_CMD_ECHO 0xee
#define KBD_CMD_SCANCODE_SET 0xf0
#define KBD_CMD_IDENTIFY 0xf2
#define KBD_CMD_TYPEMATIC 0xf3
#define KBD_CMD_ENABLE 0xf4
#define KBD_CMD_DISABLE 0xf5
#define KBD_CMD_DEFAULTS 0xf6
#define KBD_CMD_RESEND 0xfe
#define KBD_CMD_RESET 0xff

#define KBD_REPLY_ECHO 0xee
#define KBD_ID_1 0xab
#define KBD_ID_2 0x83

/* Queue overrun markers the keyboard sends instead of the lost bytes. */
#define KBD_OVERRUN_SET1 0xff
#define KBD_OVERRUN_SET2 0x00

#define KM_E0 0x01 /* code is prefixed with 0xE0 in both sets */

typedef struct {
    uint8_t set1;
    uint8_t set2;
    uint8_t flags;
} KeyCodes;

/*
 * The standard 104/105-key layout plus the common Japanese/Brazilian and ACPI keys.
 * Pause and PrintScreen send multi-code sequences and are handled in code.
 */
static const KeyCodes keymap[KEY_WAKEUP + 1] = {
    [KEY_ESC] = {0x01, 0x76, 0},
    [KEY_1] = {0x02, 0x16, 0},
    [KEY_2] = {0x03, 0x1e, 0},
    [KEY_3] = {0x04, 0x26, 0},
    [KEY_4] = {0x05, 0x25, 0},
    [KEY_5] = {0x06, 0x2e, 0},
    [KEY_6] = {0x07, 0x36, 0},
    [KEY_7] = {0x08, 0x3d, 0},
    [KEY_8] = {0x09, 0x3e, 0},
    [KEY_9] = {0x0a, 0x46, 0},
    [KEY_0] = {0x0b, 0x45, 0},
    [KEY_MINUS] = {0x0c, 0x4e, 0},
    [KEY_EQUAL] = {0x0d, 0x55, 0},
    [KEY_BACKSPACE] = {0x0e, 0x66, 0},
    [KEY_TAB] = {0x0f, 0x0d, 0},
    [KEY_Q] = {0x10, 0x15, 0},
    [KEY_W] = {0x11, 0x1d, 0},
    [KEY_E] = {0x12, 0x24, 0},
    [KEY_R] = {0x13, 0x2d, 0},
    [KEY_T] = {0x14, 0x2c, 0},
    [KEY_Y] = {0x15, 0x35, 0},
    [KEY_U] = {0x16, 0x3c, 0},
    [KEY_I] = {0x17, 0x43, 0},
    [KEY_O] = {0x18, 0x44, 0},
    [KEY_P] = {0x19, 0x4d, 0},
    [KEY_LEFTBRACE] = {0x1a, 0x54, 0},
    [KEY_RIGHTBRACE] = {0x1b, 0x5b, 0},
    [KEY_ENTER] = {0x1c, 0x5a, 0},
    [KEY_LEFTCTRL] = {0x1d, 0x14, 0},
    [KEY_A] = {0x1e, 0x1c, 0},
    [KEY_S] = {0x1f, 0x1b, 0},
    [KEY_D] = {0x20, 0x23, 0},
    [KEY_F] = {0x21, 0x2b, 0},
    [KEY_G] = {0x22, 0x34, 0},
    [KEY_H] = {0x23, 0x33, 0},
    [KEY_J] = {0x24, 0x3b, 0},
    [KEY_K] = {0x25, 0x42, 0},
    [KEY_L] = {0x26, 0x4b, 0},
    [KEY_SEMICOLON] = {0x27, 0x4c, 0},
    [KEY_APOSTROPHE] = {0x28, 0x52, 0},
    [KEY_GRAVE] = {0x29, 0x0e, 0},
    [KEY_LEFTSHIFT] = {0x2a, 0x12, 0},
    [KEY_BACKSLASH] = {0x2b, 0x5d, 0},
    [KEY_Z] = {0x2c, 0x1a, 0},
    [KEY_X] = {0x2d, 0x22, 0},
    [KEY_C] = {0x2e, 0x21, 0},
    [KEY_V] = {0x2f, 0x2a, 0},
    [KEY_B] = {0x30, 0x32, 0},
    [KEY_N] = {0x31, 0x31, 0},
    [KEY_M] = {0x32, 0x3a, 0},
    [KEY_COMMA] = {0x33, 0x41, 0},
    [KEY_DOT] = {0x34, 0x49, 0},
    [KEY_SLASH] = {0x35, 0x4a, 0},
    [KEY_RIGHTSHIFT] = {0x36, 0x59, 0},
    [KEY_KPASTERISK] = {0x37, 0x7c, 0},
    [KEY_LEFTALT] = {0x38, 0x11, 0},
    [KEY_SPACE] = {0x39, 0x29, 0},
    [KEY_CAPSLOCK] = {0x3a, 0x58, 0},
    [KEY_F1] = {0x3b, 0x05, 0},
    [KEY_F2] = {0x3c, 0x06, 0},
    [KEY_F3] = {0x3d, 0x04, 0},
    [KEY_F4] = {0x3e, 0x0c, 0},
    [KEY_F5] = {0x3f, 0x03, 0},
    [KEY_F6] = {0x40, 0x0b, 0},
    [KEY_F7] = {0x41, 0x83, 0},
    [KEY_F8] = {0x42, 0x0a, 0},
    [KEY_F9] = {0x43, 0x01, 0},
    [KEY_F10] = {0x44, 0x09, 0},
    [KEY_NUMLOCK] = {0x45, 0x77, 0},
    [KEY_SCROLLLOCK] = {0x46, 0x7e, 0},
    [KEY_KP7] = {0x47, 0x6c, 0},
    [KEY_KP8] = {0x48, 0x75, 0},
    [KEY_KP9] = {0x49, 0x7d, 0},
    [KEY_KPMINUS] = {0x4a, 0x7b, 0},
    [KEY_KP4] = {0x4b, 0x6b, 0},
    [KEY_KP5] = {0x4c, 0x73, 0},
    [KEY_KP6] = {0x4d, 0x74, 0},
    [KEY_KPPLUS] = {0x4e, 0x79, 0},
    [KEY_KP1] = {0x4f, 0x69, 0},
    [KEY_KP2] = {0x50, 0x72, 0},
    [KEY_KP3] = {0x51, 0x7a, 0},
    [KEY_KP0] = {0x52, 0x70, 0},
    [KEY_KPDOT] = {0x53, 0x71, 0},
    [KEY_102ND] = {0x56, 0x61, 0},
    [KEY_F11] = {0x57, 0x78, 0},
    [KEY_F12] = {0x58, 0x07, 0},
    [KEY_RO] = {0x73, 0x51, 0},
    [KEY_HENKAN] = {0x79, 0x64, 0},
    [KEY_KATAKANAHIRAGANA] = {0x70, 0x13, 0},
    [KEY_MUHENKAN] = {0x7b, 0x67, 0},
    [KEY_KPENTER] = {0x1c, 0x5a, KM_E0},
    [KEY_RIGHTCTRL] = {0x1d, 0x14, KM_E0},
    [KEY_KPSLASH] = {0x35, 0x4a, KM_E0},
    [KEY_RIGHTALT] = {0x38, 0x11, KM_E0},
    [KEY_HOME] = {0x47, 0x6c, KM_E0},
    [KEY_UP] = {0x48, 0x75, KM_E0},
    [KEY_PAGEUP] = {0x49, 0x7d, KM_E0},
    [KEY_LEFT] = {0x4b, 0x6b, KM_E0},
    [KEY_RIGHT] = {0x4d, 0x74, KM_E0},
    [KEY_END] = {0x4f, 0x69, KM_E0},
    [KEY_DOWN] = {0x50, 0x72, KM_E0},
    [KEY_PAGEDOWN] = {0x51, 0x7a, KM_E0},
    [KEY_INSERT] = {0x52, 0x70, KM_E0},
    [KEY_DELETE] = {0x53, 0x71, KM_E0},
    [KEY_MUTE] = {0x20, 0x23, KM_E0},
    [KEY_VOLUMEDOWN] = {0x2e, 0x21, KM_E0},
    [KEY_VOLUMEUP] = {0x30, 0x32, KM_E0},
    [KEY_POWER] = {0x5e, 0x37, KM_E0},
    [KEY_KPEQUAL] = {0x59, 0x0f, 0},
    [KEY_KPCOMMA] = {0x7e, 0x6d, 0},
    [KEY_YEN] = {0x7d, 0x6a, 0},
    [KEY_LEFTMETA] = {0x5b, 0x1f, KM_E0},
    [KEY_RIGHTMETA] = {0x5c, 0x27, KM_E0},
    [KEY_COMPOSE] = {0x5d, 0x2f, KM_E0},
    [KEY_SLEEP] = {0x5f, 0x3f, KM_E0},
    [KEY_WAKEUP] = {0x63, 0x5e, KM_E0},
};

/* Pause has no break code; PrintScreen is a fake-shift sequence. */
static const uint8_t pause_set1[] = {0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5};
static const uint8_t pause_set2[] = {0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77};
static const uint8_t prtsc_set1_make[] = {0xe0, 0x2a, 0xe0, 0x37};
static const uint8_t prtsc_set1_break[] = {0xe0, 0xb7, 0xe0, 0xaa};
static const uint8_t prtsc_set2_make[] = {0xe0, 0x12, 0xe0, 0x7c};
static const uint8_t prtsc_set2_break[] = {0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12};

static size_t copy_seq(uint8_t out[8], const uint8_t *seq, size_t len)
{
    memcpy(out, seq, len);
    return len;
}

size_t ps2_kbd_scancodes(unsigned keycode, bool down, unsigned set, uint8_t out[8])
{
    bool set1 = set == 1;

    if (keycode == KEY_PAUSE) {
        if (!down) {
            return 0;
        }
        return set1 ? copy_seq(out, pause_set1, sizeof(pause_set1))
                    : copy_seq(out, pause_set2, sizeof(pause_set2));
    }
    if (keycode == KEY_SYSRQ) {
        if (set1) {
            return down ? copy_seq(out, prtsc_set1_make, sizeof(prtsc_set1_make))
                        : copy_seq(out, prtsc_set1_break, sizeof(prtsc_set1_break));
        }
        return down ? copy_seq(out, prtsc_set2_make, sizeof(prtsc_set2_make))
                    : copy_seq(out, prtsc_set2_break, sizeof(prtsc_set2_break));
    }
    if (keycode >= G_N_ELEMENTS(keymap) || keymap[keycode].set1 == 0) {
        return 0;
    }

    const KeyCodes *kc = &keymap[keycode];
    size_t n = 0;
    if (kc->flags & KM_E0) {
        out[n++] = 0xe0;
    }
    if (set1) {
        out[n++] = down ? kc->set1 : (kc->set1 | 0x80);
    } else {
        if (!down) {
            out[n++] = 0xf0;
        }
        out[n++] = kc->set2;
    }
    return n;
}

/*
 * The controller's translation table, derived from the key map so that translated
 * set 2 is exactly our set 1. Bytes without a key (and replies such as 0xFA, 0xAA,
 * 0xEE, 0xE0, 0xE1) pass through unchanged, except set 2's F7 (0x83) which the real
 * table folds to 0x41 like every other key. That also turns the identify reply
 * 0xAB 0x83 into 0xAB 0x41, which Linux recognises as "translated".
 */
static uint8_t xlat_table[256];

static void build_xlat_table(void)
{
    for (unsigned i = 0; i < 256; i++) {
        xlat_table[i] = (uint8_t)i;
    }
    for (unsigned k = 0; k < G_N_ELEMENTS(keymap); k++) {
        if (keymap[k].set1 != 0) {
            xlat_table[keymap[k].set2] = keymap[k].set1;
        }
    }
    /* No key sends 0x02, but the "get scancode set" reply does. */
    xlat_table[0x02] = 0x41;
}

uint8_t ps2_kbd_translate(uint8_t set2_byte)
{
    static gsize built;

    if (g_once_init_enter(&built)) {
        build_xlat_table();
        g_once_init_leave(&built, 1);
    }
    return xlat_table[set2_byte];
}

static void kbd_send(Ps2Kbd *k, uint8_t b)
{
    if (!ps2_queue_push(&k->queue, b)) {
        return;
    }
    k->last_sent = b;
}

/* Command replies must not be lost behind stale key codes: the guest waits for them. */
static void kbd_reply(Ps2Kbd *k, uint8_t b)
{
    if (ps2_queue_space(&k->queue) == 0) {
        ps2_queue_clear(&k->queue);
    }
    kbd_send(k, b);
}

static void kbd_set_defaults(Ps2Kbd *k)
{
    k->scancode_set = 2;
    k->typematic = 0x2b; /* 10.9 cps, 500 ms */
    k->leds = 0;
    k->pending_cmd = 0;
    k->overrun = false;
}

void ps2_kbd_init(Ps2Kbd *k)
{
    memset(k, 0, sizeof(*k));
    kbd_set_defaults(k);
    k->scanning = true;
}

static void kbd_param(Ps2Kbd *k, uint8_t cmd, uint8_t val)
{
    switch (cmd) {
    case KBD_CMD_SET_LEDS:
        k->leds = val & 0x07;
        kbd_reply(k, PS2_ACK);
        break;
    case KBD_CMD_TYPEMATIC:
        k->typematic = val & 0x7f;
        kbd_reply(k, PS2_ACK);
        break;
    case KBD_CMD_SCANCODE_SET:
        if (val == 0) {
            /* Raw set number; a translating controller turns it into 0x43/0x41/0x3F. */
            kbd_reply(k, PS2_ACK);
            kbd_reply(k, k->scancode_set);
        } else if (val <= 3) {
            k->scancode_set = val;
            kbd_reply(k, PS2_ACK);
        } else {
            vmm_guest_error("ps2-kbd: invalid scancode set %u", val);
            kbd_reply(k, PS2_RESEND);
        }
        break;
    default:
        break;
    }
}

void ps2_kbd_write(Ps2Kbd *k, uint8_t byte)
{
    /*
     * A parameter byte has bit 7 clear; a byte with bit 7 set while a parameter is
     * expected is a new command, as on real keyboards.
     */
    if (k->pending_cmd != 0) {
        uint8_t cmd = k->pending_cmd;
        k->pending_cmd = 0;
        if (!(byte & 0x80)) {
            kbd_param(k, cmd, byte);
            return;
        }
    }

    switch (byte) {
    case KBD_CMD_SET_LEDS:
    case KBD_CMD_TYPEMATIC:
    case KBD_CMD_SCANCODE_SET:
        k->pending_cmd = byte;
        kbd_reply(k, PS2_ACK);
        break;
    case KBD_CMD_ECHO:
        kbd_reply(k, KBD_REPLY_ECHO);
        break;
    case KBD_CMD_IDENTIFY:
        kbd_reply(k, PS2_ACK);
        kbd_reply(k, KBD_ID_1);
        kbd_reply(k, KBD_ID_2);
        break;
    case KBD_CMD_ENABLE:
        ps2_queue_clear(&k->queue);
        k->overrun = false;
        k->scanning = true;
        kbd_reply(k, PS2_ACK);
        break;
    case KBD_CMD_DISABLE:
        ps2_queue_clear(&k->queue);
        kbd_set_defaults(k);
        k->scanning = false;
        kbd_reply(k, PS2_ACK);
        break;
    case KBD_CMD_DEFAULTS:
        ps2_queue_clear(&k->queue);
        kbd_set_defaults(k);
        k->scanning = true;
        kbd_reply(k, PS2_ACK);
        break;
    case KBD_CMD_RESEND:
        kbd_reply(k, k->last_sent);
        break;
    case KBD_CMD_RESET:
        ps2_queue_clear(&k->queue);
        kbd_set_defaults(k);
        k->scanning = true;
        kbd_reply(k, PS2_ACK);
        kbd_reply(k, PS2_BAT_OK);
        break;
    case 0xf7 ... 0xfd:
        /* Set 3 per-key type commands: accepted and ignored. */
        kbd_reply(k, PS2_ACK);
        break;
    default:
        vmm_guest_error("ps2-kbd: unknown command 0x%02x", byte);
        kbd_reply(k, PS2_RESEND);
        break;
    }
}

void ps2_kbd_key_event(Ps2Kbd *k, unsigned keycode, bool down)
{
    uint8_t seq[8];
    size_t n;

    if (!k->scanning) {
        return;
    }
    n = ps2_kbd_scancodes(keycode, down, k->scancode_set, seq);
    if (n == 0) {
        return;
    }
    if (k->overrun) {
        if (k->queue.count > 0) {
            return;
        }
        k->overrun = false;
    }
    /* A sequence goes in whole or not at all; the last slot is kept for the marker. */
    if (ps2_queue_space(&k->queue) < n + 1) {
        kbd_send(k, k->scancode_set == 1 ? KBD_OVERRUN_SET1 : KBD_OVERRUN_SET2);
        k->overrun = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        kbd_send(k, seq[i]);
    }
}
