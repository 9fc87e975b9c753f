/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PIIX3 IDE (see ide-piix.h). Each channel has a shared task file written to both
 * drives, the selected drive answers reads; an empty channel floats (0xFF). The
 * bus master walks the guest's PRD table as the drive produces or consumes data:
 * each entry is read from guest memory when needed, the walk is bounded by the
 * 64 KiB table size and stops at the EOT bit.
 */
#define G_LOG_DOMAIN "piix3-ide"
#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#include "devices/storage/ata-core.h"
#include "devices/storage/ide-piix.h"
#include "vmm/guest-mem.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/pci.h"

#define PIIX3_IDE_VENDOR 0x8086
#define PIIX3_IDE_DEVICE 0x7010
#define PIIX3_IDE_CLASS 0x010180 /* IDE, bus master capable, legacy mode */

#define IDETIM_PRI 0x40
#define IDETIM_SEC 0x42
#define SIDETIM 0x44
#define IDETIM_IDE 0x8000 /* IDE decode enable */

/* Task file offsets from the command block base. */
#define REG_DATA 0
#define REG_ERROR 1
#define REG_NSECTOR 2
#define REG_LBAL 3
#define REG_LBAM 4
#define REG_LBAH 5
#define REG_SELECT 6
#define REG_STATUS 7

#define DEVCTL_NIEN 0x02
#define DEVCTL_SRST 0x04
#define DEVCTL_HOB 0x80

/* Bus master registers (per channel, 8 bytes apart). */
#define BM_CMD 0
#define BM_STATUS 2
#define BM_PRD 4
#define BM_CMD_START 0x01
#define BM_CMD_READ 0x08 /* the bus master writes memory */
#define BM_STATUS_ACTIVE 0x01
#define BM_STATUS_ERROR 0x02
#define BM_STATUS_IRQ 0x04
#define BM_STATUS_DMA_CAP 0x60
#define BM_BAR_SIZE 16

/* A PRD table lives in one 64 KiB region: at most 8192 entries per command. */
#define PRD_MAX_ENTRIES 8192u

typedef struct PiixIdeState PiixIdeState;

typedef struct {
    PiixIdeState *s; /* Borrowed: owner */
    unsigned index;  /* 0 primary, 1 secondary */
    AtaDrive drives[2];
    unsigned unit; /* selected drive */
    bool intrq[2]; /* per drive: INTRQ asserted */
    bool line;     /* what we drive on the GSI */
    uint8_t devctl;
    int cmd_handle, ctl_handle;
    /* Bus master. */
    uint8_t bm_cmd, bm_status;
    uint32_t bm_prd;
    uint64_t prd_next;  /* guest address of the next PRD entry */
    uint64_t prd_addr;  /* current entry: next byte */
    uint32_t prd_left;  /* current entry: bytes left */
    bool prd_eot;       /* current entry is the last */
    unsigned prd_count; /* entries read this command */
} IdeChannel;

typedef struct {
    char *file;
    char *media;
    char *format;
    bool readonly;
} IdeUnitProps;

struct PiixIdeState {
    VmmPciDevice pci;
    uint8_t addr;
    IdeUnitProps units[4];
    IdeChannel ch[2];
};

static const uint16_t cmd_bases[2] = {0x1f0, 0x170};
static const uint16_t ctl_bases[2] = {0x3f6, 0x376};
static const unsigned gsis[2] = {IDE_PRIMARY_GSI, IDE_SECONDARY_GSI};

static bool channel_empty(IdeChannel *c)
{
    return !c->drives[0].present && !c->drives[1].present;
}

static AtaDrive *cur_drive(IdeChannel *c)
{
    return &c->drives[c->unit];
}

static void update_irq(IdeChannel *c)
{
    bool level = c->intrq[c->unit] && !(c->devctl & DEVCTL_NIEN);

    if (level != c->line) {
        c->line = level;
        vmm_irq_set_level(c->s->pci.parent.machine, gsis[c->index], level);
    }
}

/* ---- drive callbacks ---------------------------------------------------------------------- */

static void ide_drive_irq(void *opaque, AtaDrive *d)
{
    IdeChannel *c = opaque;

    c->intrq[d == &c->drives[1]] = true;
    c->bm_status |= BM_STATUS_IRQ;
    update_irq(c);
}

static int ide_dma_rw(void *opaque, AtaDrive *d, uint8_t *buf, uint32_t len, bool to_guest)
{
    IdeChannel *c = opaque;
    VmmGuestMem *mem = c->s->pci.parent.machine->mem;
    uint32_t done = 0;

    if (!(c->bm_cmd & BM_CMD_START) ||
        !(vmm_pci_get_word(&c->s->pci, VMM_PCI_COMMAND) & VMM_PCI_COMMAND_MASTER)) {
        return -EAGAIN;
    }
    if (!!(c->bm_cmd & BM_CMD_READ) != to_guest) {
        vmm_guest_error("piix3-ide: bus master direction does not match the command");
    }
    while (done < len) {
        uint32_t n;

        if (c->prd_left == 0) {
            uint32_t entry[2];

            if (c->prd_eot) {
                break;
            }
            if (c->prd_count >= PRD_MAX_ENTRIES) {
                vmm_guest_error("piix3-ide: PRD table longer than %u entries", PRD_MAX_ENTRIES);
                c->bm_status |= BM_STATUS_ERROR;
                return -E2BIG;
            }
            if (vmm_guest_read(mem, c->prd_next, entry, sizeof(entry)) < 0) {
                vmm_guest_error("piix3-ide: PRD at 0x%" G_GINT64_MODIFIER "x outside RAM",
                                c->prd_next);
                c->bm_status |= BM_STATUS_ERROR;
                return -EFAULT;
            }
            c->prd_next += 8;
            c->prd_count++;
            entry[0] = GUINT32_FROM_LE(entry[0]);
            entry[1] = GUINT32_FROM_LE(entry[1]);
            c->prd_addr = entry[0] & ~1u;
            c->prd_left = (entry[1] & 0xfffe) ? (entry[1] & 0xfffe) : 0x10000;
            c->prd_eot = (entry[1] & 0x80000000u) != 0;
        }
        n = MIN(len - done, c->prd_left);
        if ((to_guest ? vmm_guest_write(mem, c->prd_addr, buf + done, n)
                      : vmm_guest_read(mem, c->prd_addr, buf + done, n)) < 0) {
            vmm_guest_error("piix3-ide: DMA buffer 0x%" G_GINT64_MODIFIER "x+%u outside RAM",
                            c->prd_addr, n);
            c->bm_status |= BM_STATUS_ERROR;
            return -EFAULT;
        }
        c->prd_addr += n;
        c->prd_left -= n;
        done += n;
    }
    return (int)done;
}

static void ide_drive_done(void *opaque, AtaDrive *d)
{
    IdeChannel *c = opaque;

    /* Active stays set when the PRDs describe more memory than the drive moved. */
    if (d->last_dma && (c->bm_status & BM_STATUS_ACTIVE)) {
        if ((d->status & ATA_STAT_ERR) || (c->prd_eot && c->prd_left == 0)) {
            c->bm_status &= (uint8_t)~BM_STATUS_ACTIVE;
        }
    }
}

static const AtaOps ide_ata_ops = {
    .irq = ide_drive_irq,
    .dma_rw = ide_dma_rw,
    .done = ide_drive_done,
};

/* ---- task file ports ---------------------------------------------------------------------- */

static uint8_t reg_read(IdeChannel *c, unsigned reg)
{
    AtaDrive *d = cur_drive(c);
    bool hob = (c->devctl & DEVCTL_HOB) != 0;

    if (channel_empty(c)) {
        return 0xff;
    }
    switch (reg) {
    case REG_ERROR:
        return d->present ? d->error : 0;
    case REG_NSECTOR:
        return hob ? d->hob_nsector : d->nsector;
    case REG_LBAL:
        return hob ? d->hob_lbal : d->lbal;
    case REG_LBAM:
        return hob ? d->hob_lbam : d->lbam;
    case REG_LBAH:
        return hob ? d->hob_lbah : d->lbah;
    case REG_SELECT:
        return d->select;
    case REG_STATUS:
        if (!d->present) {
            return 0;
        }
        c->intrq[c->unit] = false;
        update_irq(c);
        return d->status;
    default:
        return 0xff;
    }
}

static void reg_write(IdeChannel *c, unsigned reg, uint8_t v)
{
    if (reg >= REG_ERROR && reg <= REG_SELECT) {
        c->devctl &= (uint8_t)~DEVCTL_HOB;
    }
    for (unsigned i = 0; i < 2; i++) {
        AtaDrive *d = &c->drives[i];

        switch (reg) {
        case REG_ERROR:
            d->hob_feature = d->feature;
            d->feature = v;
            break;
        case REG_NSECTOR:
            d->hob_nsector = d->nsector;
            d->nsector = v;
            break;
        case REG_LBAL:
            d->hob_lbal = d->lbal;
            d->lbal = v;
            break;
        case REG_LBAM:
            d->hob_lbam = d->lbam;
            d->lbam = v;
            break;
        case REG_LBAH:
            d->hob_lbah = d->lbah;
            d->lbah = v;
            break;
        case REG_SELECT:
            d->select = v | 0xa0;
            break;
        default:
            break;
        }
    }
    if (reg == REG_SELECT) {
        c->unit = (v >> 4) & 1;
        update_irq(c);
    } else if (reg == REG_STATUS) {
        AtaDrive *d = cur_drive(c);

        if (!d->present) {
            return;
        }
        /* Only DEVICE RESET may interrupt a busy ATAPI drive. */
        if ((d->status & ATA_STAT_BSY) && !(v == 0x08 && d->kind == ATA_MEDIA_CDROM)) {
            vmm_guest_error("piix3-ide: command 0x%02x while busy; ignored", v);
            return;
        }
        c->intrq[c->unit] = false;
        update_irq(c);
        if (v == 0x90) {
            /* EXECUTE DEVICE DIAGNOSTIC runs on both devices. */
            for (unsigned i = 0; i < 2; i++) {
                if (c->drives[i].present && i != c->unit) {
                    ata_exec_command(&c->drives[i], v);
                    c->intrq[i] = false;
                }
            }
        }
        ata_exec_command(d, v);
    }
}

static uint64_t cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    IdeChannel *c = opaque;
    uint64_t v = 0;

    if (offset == REG_DATA && size >= 2) {
        if (channel_empty(c) || !cur_drive(c)->present) {
            return size == 4 ? 0xffffffffu : 0xffff;
        }
        return ata_data_read(cur_drive(c), size);
    }
    for (unsigned i = 0; i < size && offset + i < 8; i++) {
        v |= (uint64_t)reg_read(c, (unsigned)(offset + i)) << (8 * i);
    }
    return v;
}

static void cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    IdeChannel *c = opaque;

    if (offset == REG_DATA && size >= 2) {
        if (cur_drive(c)->present) {
            ata_data_write(cur_drive(c), (uint32_t)value, size);
        }
        return;
    }
    for (unsigned i = 0; i < size && offset + i < 8; i++) {
        reg_write(c, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
    }
}

static const VmmIoOps cmd_ops = {
    .read = cmd_read,
    .write = cmd_write,
    .min_access = 1,
    .max_access = 4,
};

static uint64_t ctl_read(void *opaque, uint64_t offset, unsigned size)
{
    IdeChannel *c = opaque;
    AtaDrive *d = cur_drive(c);

    if (channel_empty(c)) {
        return 0xff;
    }
    return d->present ? d->status : 0;
}

static void ctl_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    IdeChannel *c = opaque;
    uint8_t v = (uint8_t)value;

    if ((v & DEVCTL_SRST) && !(c->devctl & DEVCTL_SRST)) {
        for (unsigned i = 0; i < 2; i++) {
            if (c->drives[i].present) {
                ata_drive_soft_reset(&c->drives[i]);
                c->drives[i].status = ATA_STAT_BSY;
            }
            c->intrq[i] = false;
        }
        c->unit = 0;
    } else if (!(v & DEVCTL_SRST) && (c->devctl & DEVCTL_SRST)) {
        for (unsigned i = 0; i < 2; i++) {
            AtaDrive *d = &c->drives[i];

            if (d->present) {
                d->status = d->kind == ATA_MEDIA_CDROM ? 0 : ATA_STAT_DRDY | ATA_STAT_DSC;
            }
        }
    }
    c->devctl = v;
    update_irq(c);
}

static const VmmIoOps ctl_ops = {
    .read = ctl_read,
    .write = ctl_write,
    .min_access = 1,
    .max_access = 1,
};

/* ---- bus master --------------------------------------------------------------------------- */

static uint8_t bm_reg_read(IdeChannel *c, unsigned reg)
{
    switch (reg) {
    case BM_CMD:
        return c->bm_cmd;
    case BM_STATUS:
        return c->bm_status;
    case BM_PRD:
    case BM_PRD + 1:
    case BM_PRD + 2:
    case BM_PRD + 3:
        return (uint8_t)(c->bm_prd >> (8 * (reg - BM_PRD)));
    default:
        return 0;
    }
}

static void bm_reg_write(IdeChannel *c, unsigned reg, uint8_t v)
{
    switch (reg) {
    case BM_CMD: {
        bool was = (c->bm_cmd & BM_CMD_START) != 0;

        c->bm_cmd = v & (BM_CMD_START | BM_CMD_READ);
        if (!was && (v & BM_CMD_START)) {
            c->prd_next = c->bm_prd;
            c->prd_left = 0;
            c->prd_eot = false;
            c->prd_count = 0;
            c->bm_status |= BM_STATUS_ACTIVE;
            for (unsigned i = 0; i < 2; i++) {
                ata_dma_restart(&c->drives[i]);
            }
        } else if (was && !(v & BM_CMD_START)) {
            c->bm_status &= (uint8_t)~BM_STATUS_ACTIVE;
        }
        break;
    }
    case BM_STATUS:
        c->bm_status = (uint8_t)((c->bm_status & ~(v & (BM_STATUS_ERROR | BM_STATUS_IRQ)) &
                                  ~BM_STATUS_DMA_CAP) |
                                 (v & BM_STATUS_DMA_CAP));
        break;
    case BM_PRD:
    case BM_PRD + 1:
    case BM_PRD + 2:
    case BM_PRD + 3: {
        unsigned shift = 8 * (reg - BM_PRD);

        c->bm_prd = (c->bm_prd & ~(0xffu << shift)) | ((uint32_t)v << shift);
        c->bm_prd &= ~3u;
        break;
    }
    default:
        break;
    }
}

static uint64_t bm_read(void *opaque, uint64_t offset, unsigned size)
{
    PiixIdeState *s = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size && offset + i < BM_BAR_SIZE; i++) {
        unsigned o = (unsigned)(offset + i);

        v |= (uint64_t)bm_reg_read(&s->ch[o / 8], o % 8) << (8 * i);
    }
    return v;
}

static void bm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PiixIdeState *s = opaque;

    /* Address bytes first so a dword write of the table address is whole before use. */
    for (unsigned i = 0; i < size && offset + i < BM_BAR_SIZE; i++) {
        unsigned o = (unsigned)(offset + i);

        bm_reg_write(&s->ch[o / 8], o % 8, (uint8_t)(value >> (8 * i)));
    }
}

static const VmmIoOps bm_ops = {
    .read = bm_read,
    .write = bm_write,
    .min_access = 1,
    .max_access = 4,
};

/* ---- legacy decode ------------------------------------------------------------------------ */

static void channel_map(PiixIdeState *s, unsigned i)
{
    IdeChannel *c = &s->ch[i];
    VmmMachine *m = s->pci.parent.machine;
    bool enable = (vmm_pci_get_word(&s->pci, i ? IDETIM_SEC : IDETIM_PRI) & IDETIM_IDE) != 0;
    int r;

    if (enable == (c->cmd_handle > 0)) {
        return;
    }
    if (!enable) {
        vmm_bus_unregister(m->pio, c->cmd_handle);
        vmm_bus_unregister(m->pio, c->ctl_handle);
        c->cmd_handle = c->ctl_handle = 0;
        return;
    }
    r = vmm_bus_register(m->pio, i ? "ide-secondary" : "ide-primary", cmd_bases[i], 8, &cmd_ops, c,
                         &s->pci.parent.lock);
    if (r < 0) {
        vmm_guest_error("piix3-ide: ports 0x%x are taken; channel %u left off", cmd_bases[i], i);
        return;
    }
    c->cmd_handle = r;
    r = vmm_bus_register(m->pio, i ? "ide-secondary-ctl" : "ide-primary-ctl", ctl_bases[i], 1,
                         &ctl_ops, c, &s->pci.parent.lock);
    if (r < 0) {
        vmm_bus_unregister(m->pio, c->cmd_handle);
        c->cmd_handle = 0;
        vmm_guest_error("piix3-ide: port 0x%x is taken; channel %u left off", ctl_bases[i], i);
        return;
    }
    c->ctl_handle = r;
}

static void piix_ide_config_write(VmmPciDevice *d, unsigned offset, uint32_t value, unsigned size)
{
    PiixIdeState *s = (PiixIdeState *)d;

    vmm_pci_default_config_write(d, offset, value, size);
    if (offset < IDETIM_SEC + 2 && offset + size > IDETIM_PRI) {
        channel_map(s, 0);
        channel_map(s, 1);
    }
}

static const VmmPciDeviceOps piix_ide_pci_ops = {
    .config_write = piix_ide_config_write,
};

/* ---- device ------------------------------------------------------------------------------- */

static void channel_reset(IdeChannel *c)
{
    for (unsigned i = 0; i < 2; i++) {
        ata_drive_reset(&c->drives[i]);
        c->intrq[i] = false;
    }
    c->unit = 0;
    c->devctl = 0;
    c->bm_cmd = 0;
    c->bm_status = 0;
    c->bm_prd = 0;
    c->prd_left = 0;
    c->prd_eot = false;
    c->prd_count = 0;
    update_irq(c);
}

static void piix_ide_reset(VmmDevice *dev)
{
    PiixIdeState *s = (PiixIdeState *)dev;

    vmm_pci_device_reset(&s->pci);
    vmm_pci_set_word(&s->pci, IDETIM_PRI, 0);
    vmm_pci_set_word(&s->pci, IDETIM_SEC, 0);
    vmm_pci_set_byte(&s->pci, SIDETIM, 0);
    for (unsigned i = 0; i < 2; i++) {
        channel_map(s, i);
        channel_reset(&s->ch[i]);
    }
}

static const char *const unit_names[4] = {"pm", "ps", "sm", "ss"};

static void drives_cleanup(PiixIdeState *s)
{
    for (unsigned i = 0; i < 4; i++) {
        ata_drive_cleanup(&s->ch[i / 2].drives[i % 2]);
    }
}

static bool piix_ide_realize(VmmDevice *dev, GError **error)
{
    PiixIdeState *s = (PiixIdeState *)dev;
    VmmMachine *m = dev->machine;

    for (unsigned u = 0; u < 4; u++) {
        IdeUnitProps *p = &s->units[u];
        IdeChannel *c = &s->ch[u / 2];
        AtaMediaKind kind;
        BlockFormat format;
        bool present;
        g_autofree char *serial = g_strdup_printf("BWIDE%08X%u", g_str_hash(dev->id), u);

        c->s = s;
        c->index = u / 2;
        if (!ata_parse_media(p->media, &kind, error) ||
            !ata_parse_format(p->format, &format, error)) {
            g_prefix_error(error, "%s: unit %s: ", dev->id, unit_names[u]);
            drives_cleanup(s);
            return false;
        }
        present = (p->file != NULL && *p->file != '\0') || kind == ATA_MEDIA_CDROM;
        if (!ata_drive_init(&c->drives[u % 2], present, kind, p->file, format, p->readonly, serial,
                            &dev->lock, m->io, &ide_ata_ops, c, error)) {
            g_prefix_error(error, "%s: unit %s: ", dev->id, unit_names[u]);
            drives_cleanup(s);
            return false;
        }
    }
    if (!vmm_pci_device_realize(&s->pci, s->addr, &piix_ide_pci_ops, error)) {
        drives_cleanup(s);
        return false;
    }
    vmm_pci_set_ids(&s->pci, PIIX3_IDE_VENDOR, PIIX3_IDE_DEVICE, PIIX3_IDE_CLASS, 0);
    vmm_pci_set_wmask(&s->pci, IDETIM_PRI, 4, 0xffffffff);
    vmm_pci_set_wmask(&s->pci, SIDETIM, 1, 0xff);
    if (vmm_pci_register_bar(&s->pci, 4, VMM_PCI_BAR_IO, false, BM_BAR_SIZE, "piix3-ide-bm",
                             &bm_ops, s) < 0) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: cannot register the bus master BAR", dev->id);
        vmm_pci_device_unrealize(&s->pci);
        drives_cleanup(s);
        return false;
    }
    for (unsigned i = 0; i < 2; i++) {
        channel_reset(&s->ch[i]);
    }
    return true;
}

static void piix_ide_unrealize(VmmDevice *dev)
{
    PiixIdeState *s = (PiixIdeState *)dev;

    /* Drives first: closing waits for completions that still use the channel. */
    drives_cleanup(s);
    vmm_pci_device_unrealize(&s->pci);
}

bool ide_change_media(VmmDevice *dev, unsigned unit, const char *path, const char *format,
                      GError **error)
{
    PiixIdeState *s = (PiixIdeState *)dev;
    BlockFormat fmt;

    if (dev->type != &piix3_ide_type || unit >= 4) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no IDE unit %u", unit);
        return false;
    }
    if (!ata_parse_format(format, &fmt, error)) {
        return false;
    }
    return ata_change_media(&s->ch[unit / 2].drives[unit % 2], path, fmt, error);
}

#define UNIT_PROPS(pfx, n)                                                                         \
    VMM_PROP_STR(pfx "_file", PiixIdeState, units[n].file, NULL, "image file of unit " pfx),       \
        VMM_PROP_STR(pfx "_media", PiixIdeState, units[n].media, "disk",                           \
                     "\"disk\" or \"cdrom\" (unit " pfx ")"),                                      \
        VMM_PROP_STR(pfx "_format", PiixIdeState, units[n].format, "auto",                         \
                     "image format: auto, raw, vdi (unit " pfx ")"),                               \
        VMM_PROP_INT(VMM_PROP_BOOL, pfx "_readonly", PiixIdeState, units[n].readonly, 0, 0, 1,     \
                     "read-only disk (unit " pfx ")")

static const VmmPropDesc piix_ide_props[] = {
    VMM_PROP_INT(VMM_PROP_U8, "addr", PiixIdeState, addr, VMM_PCI_DEVFN(1, 1), 0, 0xff,
                 "PCI device/function (devfn)"),
    UNIT_PROPS("pm", 0),
    UNIT_PROPS("ps", 1),
    UNIT_PROPS("sm", 2),
    UNIT_PROPS("ss", 3),
    VMM_PROP_END,
};

const VmmDeviceType piix3_ide_type = {
    .name = "piix3-ide",
    .description = "Intel PIIX3 IDE controller (two legacy channels, bus-master DMA, ATAPI)",
    .instance_size = sizeof(PiixIdeState),
    .props = piix_ide_props,
    .realize = piix_ide_realize,
    .reset = piix_ide_reset,
    .unrealize = piix_ide_unrealize,
};
