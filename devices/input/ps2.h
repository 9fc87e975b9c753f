/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PS/2 keyboard and mouse as seen from the i8042 controller's side of the wire.
 * They are not devices of their own: the controller owns one of each and calls
 * them with its device lock held, so they need no locking of their own.
 *
 * Each side has a small byte queue (the device's transmit buffer). The controller
 * pulls bytes from it when its output buffer is free.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS2_QUEUE_SIZE 16

/* Replies shared by keyboard and mouse. */
#define PS2_ACK 0xfa
#define PS2_RESEND 0xfe
#define PS2_ERROR 0xfc
#define PS2_BAT_OK 0xaa

typedef struct {
    uint8_t data[PS2_QUEUE_SIZE];
    unsigned head;  /* index of the oldest byte */
    unsigned count; /* bytes queued */
} Ps2Queue;

static inline void ps2_queue_clear(Ps2Queue *q)
{
    q->head = 0;
    q->count = 0;
}

static inline unsigned ps2_queue_space(const Ps2Queue *q)
{
    return PS2_QUEUE_SIZE - q->count;
}

/* Returns false (and drops the byte) when the queue is full. */
static inline bool ps2_queue_push(Ps2Queue *q, uint8_t b)
{
    if (q->count >= PS2_QUEUE_SIZE) {
        return false;
    }
    q->data[(q->head + q->count) % PS2_QUEUE_SIZE] = b;
    q->count++;
    return true;
}

/* Returns the oldest byte, or -1 when empty. */
static inline int ps2_queue_pop(Ps2Queue *q)
{
    if (q->count == 0) {
        return -1;
    }
    uint8_t b = q->data[q->head];
    q->head = (q->head + 1) % PS2_QUEUE_SIZE;
    q->count--;
    return b;
}

/* ---- keyboard (ps2-kbd.c) ---- */

typedef struct {
    Ps2Queue queue;
    uint8_t scancode_set; /* 1, 2 or 3; make/break codes are sent in this set */
    bool scanning;        /* key events are queued only while scanning is enabled */
    uint8_t leds;         /* bit 0 scroll, 1 num, 2 caps lock */
    uint8_t typematic;    /* last 0xF3 parameter; repeat is done by the host */
    uint8_t pending_cmd;  /* command waiting for its parameter byte, or 0 */
    uint8_t last_sent;    /* for the resend command 0xFE */
    bool overrun;         /* queue overflowed; cleared once it drains */
} Ps2Kbd;

/* Power-on state (self test passed, nothing queued). */
void ps2_kbd_init(Ps2Kbd *k);
/* A byte the controller sends to the keyboard (command or parameter). */
void ps2_kbd_write(Ps2Kbd *k, uint8_t byte);
/* Host key press/release (Linux KEY_* code); unknown codes are ignored. */
void ps2_kbd_key_event(Ps2Kbd *k, unsigned keycode, bool down);

/*
 * The bytes a key sends in scancode set @set (1 or 2; 3 falls back to 2) into @out.
 * Returns the length (0 for keys without a code, or releases that send nothing).
 */
size_t ps2_kbd_scancodes(unsigned keycode, bool down, unsigned set, uint8_t out[8]);

/* The 8042's set 2 → set 1 translation of one byte (0xF0 is handled by the caller). */
uint8_t ps2_kbd_translate(uint8_t set2_byte);

/* ---- mouse (ps2-mouse.c) ---- */

typedef enum {
    PS2_MOUSE_STREAM,
    PS2_MOUSE_REMOTE,
    PS2_MOUSE_WRAP,
} Ps2MouseMode;

typedef struct {
    Ps2Queue queue;
    Ps2MouseMode mode;
    Ps2MouseMode mode_before_wrap;
    bool reporting;       /* data reporting enabled (0xF4) */
    bool scale21;         /* 2:1 scaling (reported in the status only) */
    uint8_t rate;         /* samples per second */
    uint8_t resolution;   /* 0..3: 1, 2, 4, 8 counts/mm */
    uint8_t id;           /* 0 plain PS/2, 3 IntelliMouse, 4 IntelliMouse Explorer */
    uint8_t pending_cmd;  /* command waiting for its parameter byte, or 0 */
    uint8_t rate_hist[3]; /* last three sample rates, newest last: the id knock sequence */
    /* Movement not yet reported, in PS/2 directions (y up, z down). */
    int dx, dy, dz;
    unsigned buttons;          /* current host buttons (PS2_MOUSE_BTN_*) */
    unsigned buttons_reported; /* buttons in the last packet */
} Ps2Mouse;

#define PS2_MOUSE_BTN_LEFT 0x01u
#define PS2_MOUSE_BTN_RIGHT 0x02u
#define PS2_MOUSE_BTN_MIDDLE 0x04u
#define PS2_MOUSE_BTN_SIDE 0x08u
#define PS2_MOUSE_BTN_EXTRA 0x10u

void ps2_mouse_init(Ps2Mouse *ms);
void ps2_mouse_write(Ps2Mouse *ms, uint8_t byte);
/* Host movement: @dx right, @dy down, @dz wheel away from the user (Linux REL_* senses). */
void ps2_mouse_event(Ps2Mouse *ms, int dx, int dy, int dz, unsigned buttons);
/* Queues packets for pending movement while there is room (stream mode, reporting on). */
void ps2_mouse_flush(Ps2Mouse *ms);
