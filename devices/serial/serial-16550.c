/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * 16550A UART. Transmission is instantaneous: a byte written to THR goes straight to the
 * back end (or, in loopback mode, into the receive FIFO), so THR and the shift register
 * are always empty by the time the guest looks again. What guests do observe is modelled
 * after the PC16550D data sheet: the IIR priority scheme, the THRE interrupt that is
 * re-armed whenever ETBEI is switched on with THR empty (Linux's 8250 driver probes for
 * exactly that), FIFO trigger levels with the character time-out, and OUT2 gating the
 * interrupt line the way PC serial cards wire it. Host input is queued in front of the
 * receive FIFO and fed in as the guest drains it (see UART_INPUT_QUEUE_SIZE).
 */
#define G_LOG_DOMAIN "serial"
#include <string.h>
#include <gio/gio.h>

#include "devices/serial/serial-16550.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/timer.h"

#define UART_FIFO_SIZE 16
/*
 * Host input waits here until the guest has room in its FIFO, as if the sender were using
 * flow control: a paste or a scripted command line must not be cut at 16 bytes just
 * because the I/O thread hands it over in one piece. Only when this overflows too is input
 * lost (with OE, like an overrun).
 */
#define UART_INPUT_QUEUE_SIZE 4096
#define UART_CLOCK_HZ 1843200 /* the PC's 1.8432 MHz crystal: divisor 1 = 115200 baud */

enum {
    REG_DATA = 0, /* RBR (read) / THR (write); DLL with DLAB */
    REG_IER = 1,  /* DLM with DLAB */
    REG_IIR = 2,  /* IIR (read) / FCR (write) */
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_MSR 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_DMA 0x08
#define FCR_TRIGGER 0xc0

#define LCR_WLEN 0x03
#define LCR_STOP 0x04
#define LCR_PARITY 0x08
#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_FIFO_ERR 0x80
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

/* With no modem behind the back end, report a cable with the other side ready. */
#define MSR_LINES_IDLE (MSR_CTS | MSR_DSR | MSR_DCD)

typedef struct {
    VmmDevice parent;

    /* Properties. */
    uint16_t iobase;
    uint8_t irq;
    char *backend_spec; /* Owned */

    VmmCharBackend *backend; /* Owned */
    VmmTimer *timeout_timer; /* Owned: receive FIFO character time-out */

    /* Everything below is guarded by parent.lock. */
    uint8_t rx_fifo[UART_FIFO_SIZE];
    unsigned rx_head;
    unsigned rx_count;
    uint8_t ier;
    uint8_t fcr; /* FCR_ENABLE and FCR_TRIGGER as last programmed */
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr;
    uint8_t msr;
    uint8_t scr;
    uint16_t divisor;
    bool thr_ipending;     /* THRE interrupt armed; cleared by THR write or IIR read */
    bool timeout_ipending; /* character time-out expired with data in the FIFO */
    bool irq_level;        /* what we last drove on the line */
    uint64_t rx_overruns;
    uint8_t input_queue[UART_INPUT_QUEUE_SIZE];
    unsigned input_head;
    unsigned input_count;
} Serial16550;

static bool fifo_enabled(Serial16550 *s)
{
    return (s->fcr & FCR_ENABLE) != 0;
}

static unsigned rx_trigger_level(Serial16550 *s)
{
    static const unsigned levels[4] = {1, 4, 8, 14};

    return fifo_enabled(s) ? levels[(s->fcr & FCR_TRIGGER) >> 6] : 1;
}

static uint8_t compute_iir(Serial16550 *s)
{
    if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERRORS)) {
        return IIR_RLS;
    }
    if ((s->ier & IER_ERBFI) && s->rx_count > 0 && s->rx_count >= rx_trigger_level(s)) {
        return IIR_RDA;
    }
    if ((s->ier & IER_ERBFI) && s->timeout_ipending) {
        return IIR_TIMEOUT;
    }
    if ((s->ier & IER_ETBEI) && s->thr_ipending) {
        return IIR_THRE;
    }
    if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS)) {
        return IIR_MSR;
    }
    return IIR_NO_INT;
}

static void update_irq(Serial16550 *s)
{
    bool pending = compute_iir(s) != IIR_NO_INT;
    /* PC cards drive the ISA line through a buffer enabled by OUT2; in loopback mode the
     * chip forces its modem-control pins inactive, which disconnects the line too. */
    bool level = pending && (s->mcr & MCR_OUT2) && !(s->mcr & MCR_LOOP);

    if (level != s->irq_level) {
        s->irq_level = level;
        vmm_irq_set_level(s->parent.machine, s->irq, level);
    }
}

/* Time for four characters at the programmed line settings, for the FIFO time-out. */
static int64_t rx_timeout_ns(Serial16550 *s)
{
    unsigned wlen = 5 + (s->lcr & LCR_WLEN);
    unsigned half_bits = 2 * (1 + wlen + ((s->lcr & LCR_PARITY) ? 1 : 0));
    uint64_t divisor = s->divisor != 0 ? s->divisor : 0x10000;

    if (s->lcr & LCR_STOP) {
        half_bits += wlen == 5 ? 3 : 4;
    } else {
        half_bits += 2;
    }
    /* Each bit lasts 16 * divisor clock periods. Bounded: 24 * 65536 * 16 * 1e9 < 2^63. */
    return 4 * (int64_t)(half_bits * divisor * 16 * G_GUINT64_CONSTANT(1000000000) /
                         (2 * UART_CLOCK_HZ));
}

static void rx_timeout_restart(Serial16550 *s)
{
    s->timeout_ipending = false;
    if (fifo_enabled(s) && s->rx_count > 0) {
        vmm_timer_mod(s->timeout_timer, vmm_clock_ns(s->parent.machine) + rx_timeout_ns(s));
    } else {
        vmm_timer_del(s->timeout_timer);
    }
}

static void rx_timeout_cb(void *opaque)
{
    Serial16550 *s = opaque;

    if (fifo_enabled(s) && s->rx_count > 0) {
        s->timeout_ipending = true;
        update_irq(s);
    }
}

static void rx_clear(Serial16550 *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
    s->lsr &= ~(LSR_DR | LSR_FIFO_ERR);
    s->timeout_ipending = false;
    vmm_timer_del(s->timeout_timer);
}

static void rx_push(Serial16550 *s, uint8_t byte)
{
    if (!fifo_enabled(s)) {
        /* 16450 mode: a character arriving before RBR was read replaces it. */
        if (s->rx_count > 0) {
            s->lsr |= LSR_OE;
            s->rx_overruns++;
        }
        s->rx_fifo[0] = byte;
        s->rx_head = 0;
        s->rx_count = 1;
    } else if (s->rx_count == UART_FIFO_SIZE) {
        /* FIFO full: the new character is lost, the FIFO keeps its contents. */
        s->lsr |= LSR_OE;
        s->rx_overruns++;
    } else {
        s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = byte;
        s->rx_count++;
    }
    s->lsr |= LSR_DR;
}

static uint8_t rx_pop(Serial16550 *s)
{
    uint8_t byte;

    if (s->rx_count == 0) {
        return 0;
    }
    byte = s->rx_fifo[s->rx_head];
    s->rx_head = (s->rx_head + 1) % UART_FIFO_SIZE;
    s->rx_count--;
    if (s->rx_count == 0) {
        s->lsr &= ~LSR_DR;
    }
    return byte;
}

static unsigned rx_capacity(Serial16550 *s)
{
    return fifo_enabled(s) ? UART_FIFO_SIZE : 1;
}

/* Moves queued host input into the FIFO while it has room. */
static void rx_refill(Serial16550 *s)
{
    bool moved = false;

    if (s->mcr & MCR_LOOP) {
        return; /* the receiver input is disconnected; host input waits */
    }
    while (s->input_count > 0 && s->rx_count < rx_capacity(s)) {
        rx_push(s, s->input_queue[s->input_head]);
        s->input_head = (s->input_head + 1) % UART_INPUT_QUEUE_SIZE;
        s->input_count--;
        moved = true;
    }
    if (moved) {
        rx_timeout_restart(s);
    }
}

static void input_clear(Serial16550 *s)
{
    s->input_head = 0;
    s->input_count = 0;
}

static uint8_t modem_lines(Serial16550 *s)
{
    uint8_t lines = 0;

    if (!(s->mcr & MCR_LOOP)) {
        return MSR_LINES_IDLE;
    }
    /* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD inside the chip. */
    if (s->mcr & MCR_DTR) {
        lines |= MSR_DSR;
    }
    if (s->mcr & MCR_RTS) {
        lines |= MSR_CTS;
    }
    if (s->mcr & MCR_OUT1) {
        lines |= MSR_RI;
    }
    if (s->mcr & MCR_OUT2) {
        lines |= MSR_DCD;
    }
    return lines;
}

static void update_msr(Serial16550 *s)
{
    uint8_t old = s->msr & ~MSR_DELTAS;
    uint8_t now = modem_lines(s);
    uint8_t changed = old ^ now;

    if (changed & MSR_CTS) {
        s->msr |= MSR_DCTS;
    }
    if (changed & MSR_DSR) {
        s->msr |= MSR_DDSR;
    }
    if ((old & MSR_RI) && !(now & MSR_RI)) {
        s->msr |= MSR_TERI; /* trailing edge of ring only */
    }
    if (changed & MSR_DCD) {
        s->msr |= MSR_DDCD;
    }
    s->msr = (s->msr & MSR_DELTAS) | now;
}

static void transmit(Serial16550 *s, uint8_t byte)
{
    if (s->mcr & MCR_LOOP) {
        rx_push(s, byte);
        rx_timeout_restart(s);
    } else {
        vmm_char_write(s->backend, &byte, 1);
    }
    /* The byte left THR and the shift register at once: THRE interrupt again. */
    s->lsr |= LSR_THRE | LSR_TEMT;
    s->thr_ipending = true;
}

static void write_fcr(Serial16550 *s, uint8_t v)
{
    if ((v & FCR_ENABLE) != (s->fcr & FCR_ENABLE)) {
        /* Switching FIFO mode on or off empties both FIFOs. */
        rx_clear(s);
    }
    if (!(v & FCR_ENABLE)) {
        /* The other FCR bits are only programmed together with the enable bit. */
        s->fcr &= ~FCR_ENABLE;
        return;
    }
    if (v & FCR_CLEAR_RX) {
        rx_clear(s);
    }
    /* FCR_CLEAR_TX: the transmit FIFO is always empty. FCR_DMA: no DMA on this board. */
    s->fcr = v & (FCR_ENABLE | FCR_TRIGGER);
}

static uint64_t serial_read(void *opaque, uint64_t offset, unsigned size)
{
    Serial16550 *s = opaque;
    uint8_t v = 0xff;

    switch (offset) {
    case REG_DATA:
        if (s->lcr & LCR_DLAB) {
            v = s->divisor & 0xff;
        } else {
            v = rx_pop(s);
            rx_timeout_restart(s);
            rx_refill(s);
        }
        break;
    case REG_IER:
        v = (s->lcr & LCR_DLAB) ? s->divisor >> 8 : s->ier;
        break;
    case REG_IIR:
        v = compute_iir(s);
        if (v == IIR_THRE) {
            /* Reading IIR while THRE is the reported source acknowledges it. */
            s->thr_ipending = false;
        }
        if (fifo_enabled(s)) {
            v |= IIR_FIFO_ON;
        }
        break;
    case REG_LCR:
        v = s->lcr;
        break;
    case REG_MCR:
        v = s->mcr;
        break;
    case REG_LSR:
        v = s->lsr;
        s->lsr &= ~(LSR_ERRORS | LSR_FIFO_ERR);
        break;
    case REG_MSR:
        v = s->msr;
        s->msr &= ~MSR_DELTAS;
        break;
    case REG_SCR:
        v = s->scr;
        break;
    }
    update_irq(s);
    return v;
}

static void serial_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Serial16550 *s = opaque;
    uint8_t v = value & 0xff;

    switch (offset) {
    case REG_DATA:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0xff00) | v;
        } else {
            s->thr_ipending = false;
            transmit(s, v);
        }
        break;
    case REG_IER:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0x00ff) | (uint16_t)(v << 8);
        } else {
            uint8_t old = s->ier;

            s->ier = v & IER_MASK;
            if ((s->ier & IER_ETBEI) && !(old & IER_ETBEI) && (s->lsr & LSR_THRE)) {
                /* Enabling the THRE interrupt with THR empty raises it right away. */
                s->thr_ipending = true;
            } else if (!(s->ier & IER_ETBEI)) {
                s->thr_ipending = false;
            }
        }
        break;
    case REG_IIR:
        write_fcr(s, v);
        rx_refill(s);
        break;
    case REG_LCR:
        s->lcr = v;
        break;
    case REG_MCR:
        s->mcr = v & MCR_MASK;
        update_msr(s);
        rx_refill(s);
        break;
    case REG_LSR:
    case REG_MSR:
        /* Read-only status (writable only in the chip's factory test mode). */
        break;
    case REG_SCR:
        s->scr = v;
        break;
    }
    update_irq(s);
}

static const VmmIoOps serial_ops = {
    .read = serial_read,
    .write = serial_write,
    .min_access = 1,
    .max_access = 1,
};

/* Input from the host (I/O thread). */
static void serial_receive_cb(void *opaque, const uint8_t *data, size_t len)
{
    Serial16550 *s = opaque;

    g_mutex_lock(&s->parent.lock);
    /* In loopback mode the receiver input pin is disconnected. */
    if (!(s->mcr & MCR_LOOP)) {
        for (size_t i = 0; i < len; i++) {
            if (s->input_count == 0 && s->rx_count < rx_capacity(s)) {
                rx_push(s, data[i]);
            } else if (s->input_count < UART_INPUT_QUEUE_SIZE) {
                s->input_queue[(s->input_head + s->input_count) % UART_INPUT_QUEUE_SIZE] = data[i];
                s->input_count++;
            } else {
                s->lsr |= LSR_OE;
                s->rx_overruns++;
            }
        }
        rx_timeout_restart(s);
        update_irq(s);
    }
    g_mutex_unlock(&s->parent.lock);
}

static void serial_reset_locked(Serial16550 *s)
{
    rx_clear(s);
    input_clear(s);
    s->ier = 0;
    s->fcr = 0;
    s->lcr = 0;
    s->mcr = 0;
    s->lsr = LSR_THRE | LSR_TEMT;
    s->msr = MSR_LINES_IDLE;
    s->scr = 0;
    s->divisor = 12; /* 9600 baud, what most BIOSes leave behind */
    s->thr_ipending = false;
    update_irq(s);
}

static void serial_reset(VmmDevice *dev)
{
    serial_reset_locked((Serial16550 *)dev);
}

static void serial_unrealize(VmmDevice *dev)
{
    Serial16550 *s = (Serial16550 *)dev;

    /* Closing waits for a running receive callback, which takes the device lock. */
    vmm_char_close(s->backend);
    s->backend = NULL;
    if (s->timeout_timer != NULL) {
        vmm_timer_free(s->timeout_timer);
        s->timeout_timer = NULL;
    }
}

static bool serial_realize(VmmDevice *dev, GError **error)
{
    Serial16550 *s = (Serial16550 *)dev;
    VmmMachine *m = dev->machine;
    int ret;

    s->timeout_timer = vmm_timer_new(m, rx_timeout_cb, s, &dev->lock);
    s->backend = vmm_char_open(m, s->backend_spec, error);
    if (s->backend == NULL) {
        g_prefix_error(error, "%s: ", dev->id);
        serial_unrealize(dev);
        return false;
    }
    ret = vmm_bus_register(m->pio, dev->id, s->iobase, 8, &serial_ops, s, &dev->lock);
    if (ret < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "%s: I/O ports 0x%x-0x%x are already taken", dev->id, s->iobase, s->iobase + 7);
        serial_unrealize(dev);
        return false;
    }
    g_mutex_lock(&dev->lock);
    serial_reset_locked(s);
    g_mutex_unlock(&dev->lock);
    vmm_char_set_receiver(s->backend, serial_receive_cb, s);
    return true;
}

VmmCharBackend *serial16550_get_backend(VmmDevice *dev)
{
    if (dev == NULL || dev->type != &serial16550_type) {
        return NULL;
    }
    return ((Serial16550 *)dev)->backend;
}

static const VmmPropDesc serial_props[] = {
    VMM_PROP_INT(VMM_PROP_U16, "iobase", Serial16550, iobase, SERIAL16550_COM1_IOBASE, 0, 0xfff8,
                 "first of the 8 I/O ports"),
    VMM_PROP_INT(VMM_PROP_U8, "irq", Serial16550, irq, SERIAL16550_COM1_IRQ, 0, 15,
                 "ISA interrupt line"),
    VMM_PROP_STR("backend", Serial16550, backend_spec, "null",
                 "null, stdio, file:PATH or unix:PATH"),
    VMM_PROP_END,
};

const VmmDeviceType serial16550_type = {
    .name = "serial16550",
    .description = "16550A UART (PC COM port)",
    .instance_size = sizeof(Serial16550),
    .props = serial_props,
    .realize = serial_realize,
    .reset = serial_reset,
    .unrealize = serial_unrealize,
};
