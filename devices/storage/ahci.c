/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * AHCI HBA (see ahci.h). Commands are taken one at a time per port, lowest issued
 * slot first (no NCQ: CAP.SNCQ is clear). The command header and the command FIS
 * are copied out of guest memory before use; PRDT entries are read one at a time
 * as data moves, bounded by the header's PRDTL (at most 65535) and each entry's
 * 4 MiB byte count. Anything malformed ends the command with a task file error
 * (PxIS.TFES) or, for unreadable structures, a host bus fatal error (PxIS.HBFS).
 */
#define G_LOG_DOMAIN "ahci"
#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#include "devices/storage/ahci.h"
#include "devices/storage/ata-core.h"
#include "vmm/guest-mem.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/pci.h"

#define AHCI_VENDOR 0x8086
#define AHCI_DEVICE 0x2922
#define AHCI_CLASS 0x010601
#define AHCI_REVISION 0x02
#define ABAR_BAR 5
#define ABAR_SIZE 0x1000

/* Generic host control. */
#define HOST_CAP 0x00
#define HOST_GHC 0x04
#define HOST_IS 0x08
#define HOST_PI 0x0c
#define HOST_VS 0x10
#define HOST_CAP2 0x24
#define PORT_BASE 0x100
#define PORT_SIZE 0x80

#define CAP_S64A (1u << 31)
#define CAP_SAM (1u << 18)
#define CAP_ISS_GEN1 (1u << 20)
#define CAP_NCS_SHIFT 8
#define GHC_HR (1u << 0)
#define GHC_IE (1u << 1)
#define GHC_AE (1u << 31)
#define AHCI_VERSION 0x00010300

/* Port registers. */
#define PX_CLB 0x00
#define PX_CLBU 0x04
#define PX_FB 0x08
#define PX_FBU 0x0c
#define PX_IS 0x10
#define PX_IE 0x14
#define PX_CMD 0x18
#define PX_TFD 0x20
#define PX_SIG 0x24
#define PX_SSTS 0x28
#define PX_SCTL 0x2c
#define PX_SERR 0x30
#define PX_SACT 0x34
#define PX_CI 0x38
#define PX_SNTF 0x3c

#define IS_DHRS (1u << 0)
#define IS_PSS (1u << 1)
#define IS_SDBS (1u << 3)
#define IS_HBFS (1u << 29)
#define IS_TFES (1u << 30)
#define IS_MASK 0xfdc000ffu

#define CMD_ST (1u << 0)
#define CMD_SUD (1u << 1)
#define CMD_POD (1u << 2)
#define CMD_CLO (1u << 3)
#define CMD_FRE (1u << 4)
#define CMD_CCS_SHIFT 8
#define CMD_FR (1u << 14)
#define CMD_CR (1u << 15)
#define CMD_ATAPI (1u << 24)
#define CMD_RW_MASK (CMD_ST | CMD_FRE | CMD_ATAPI | (1u << 25) | (1u << 26) | (1u << 27))

#define SSTS_PRESENT 0x113 /* IPM active, Gen1, device present with phy */
#define SERR_DIAG_X (1u << 26)
#define SIG_ATA 0x00000101u
#define SIG_ATAPI 0xeb140101u

/* Command header DW0. */
#define HDR_CFL_MASK 0x1f
#define HDR_ATAPI (1u << 5)
#define HDR_WRITE (1u << 6)

/* Command table. */
#define CT_CFIS 0x00
#define CT_ACMD 0x40
#define CT_PRDT 0x80
#define PRD_DBC_MASK 0x3fffff

/* Received FIS area. */
#define RFIS_PSFIS 0x20
#define RFIS_RFIS 0x40
#define FIS_H2D 0x27
#define FIS_D2H 0x34
#define FIS_PIO_SETUP 0x5f

#define ATA_CMD_PACKET 0xa0

typedef struct AhciState AhciState;

typedef struct {
    AhciState *s; /* Borrowed: owner */
    unsigned index;
    AtaDrive drive;
    uint32_t clb, clbu, fb, fbu;
    uint32_t is, ie, cmd, tfd, sig, ssts, sctl, serr, sact, ci;
    /* The command in progress. */
    bool busy;
    bool error_stop; /* a failed command: stop until software clears ST */
    bool in_process; /* port_process() is on the stack */
    bool srst;       /* a control FIS set SRST */
    unsigned slot;
    uint64_t ctba;
    uint32_t prdtl;
    uint32_t prd_idx;
    uint32_t prd_off;
    bool pio_in; /* PIO data-in protocol: a PIO Setup FIS goes first */
    bool fatal;  /* a structure could not be read */
} AhciPort;

typedef struct {
    char *file;
    char *media;
    char *format;
    bool readonly;
} AhciPortProps;

struct AhciState {
    VmmPciDevice pci;
    uint8_t addr;
    AhciPortProps props[AHCI_NUM_PORTS];
    uint32_t ghc;
    uint32_t hba_is;
    bool irq_level;
    AhciPort ports[AHCI_NUM_PORTS];
};

static void port_process(AhciPort *p);

/* ---- interrupts --------------------------------------------------------------------------- */

static void ahci_update_irq(AhciState *s, bool resend)
{
    bool level;

    for (unsigned i = 0; i < AHCI_NUM_PORTS; i++) {
        if (s->ports[i].is & s->ports[i].ie) {
            s->hba_is |= 1u << i;
        }
    }
    level = (s->ghc & GHC_IE) && s->hba_is != 0;
    if (vmm_pci_msi_enabled(&s->pci)) {
        /* MSI is an edge: send one for a new pending state, or when a clear left some. */
        if (level && (!s->irq_level || resend)) {
            vmm_pci_msi_notify(&s->pci, 0);
        }
        vmm_pci_set_irq(&s->pci, false);
    } else {
        vmm_pci_set_irq(&s->pci, level);
    }
    s->irq_level = level;
}

/* ---- FIS receive -------------------------------------------------------------------------- */

static uint64_t port_fb(AhciPort *p)
{
    return ((uint64_t)p->fbu << 32) | p->fb;
}

static uint64_t port_clb(AhciPort *p)
{
    return ((uint64_t)p->clbu << 32) | p->clb;
}

static void fis_fill_regs(AtaDrive *d, uint8_t *f)
{
    f[2] = d->status;
    f[3] = d->error;
    f[4] = d->lbal;
    f[5] = d->lbam;
    f[6] = d->lbah;
    f[7] = d->select;
    f[8] = d->hob_lbal;
    f[9] = d->hob_lbam;
    f[10] = d->hob_lbah;
    f[12] = d->nsector;
    f[13] = d->hob_nsector;
}

/* Posts a D2H register FIS (when FIS receive is on) and updates PxTFD. */
static void post_d2h(AhciPort *p, bool irq)
{
    AtaDrive *d = &p->drive;
    uint8_t f[20] = {0};

    p->tfd = ((uint32_t)d->error << 8) | d->status;
    if (!(p->cmd & CMD_FRE)) {
        return;
    }
    f[0] = FIS_D2H;
    f[1] = irq ? 0x40 : 0;
    fis_fill_regs(d, f);
    if (vmm_guest_write(p->s->pci.parent.machine->mem, port_fb(p) + RFIS_RFIS, f, sizeof(f)) < 0) {
        vmm_guest_error("ahci: port %u FIS area outside RAM", p->index);
        p->is |= IS_HBFS;
        return;
    }
    if (irq) {
        p->is |= IS_DHRS;
    }
}

static void post_pio_setup(AhciPort *p, uint32_t count)
{
    AtaDrive *d = &p->drive;
    uint8_t f[20] = {0};

    if (!(p->cmd & CMD_FRE)) {
        return;
    }
    f[0] = FIS_PIO_SETUP;
    f[1] = 0x20 | 0x40; /* device to host, interrupt */
    fis_fill_regs(d, f);
    f[15] = d->status; /* E_Status */
    f[16] = (uint8_t)count;
    f[17] = (uint8_t)(count >> 8);
    if (vmm_guest_write(p->s->pci.parent.machine->mem, port_fb(p) + RFIS_PSFIS, f, sizeof(f)) < 0) {
        p->is |= IS_HBFS;
        return;
    }
    p->is |= IS_PSS;
}

/* ---- command execution -------------------------------------------------------------------- */

static bool cmd_is_pio_in(uint8_t cmd, const uint8_t *cfis)
{
    switch (cmd) {
    case 0xec: /* IDENTIFY DEVICE */
    case 0xa1: /* IDENTIFY PACKET DEVICE */
    case 0x20:
    case 0x21:
    case 0x24:
    case 0x29:
    case 0xc4:
        return true;
    case ATA_CMD_PACKET:
        return !(cfis[3] & 0x01);
    default:
        return false;
    }
}

/* The slot's command is over: report it and move on. */
static void slot_done(AhciPort *p, bool error)
{
    uint32_t bit = 1u << p->slot;

    p->ci &= ~bit;
    p->sact &= ~bit;
    p->busy = false;
    if (error) {
        p->is |= IS_TFES;
        p->error_stop = true;
    }
}

static void ahci_drive_done(void *opaque, AtaDrive *d)
{
    AhciPort *p = opaque;
    VmmGuestMem *mem = p->s->pci.parent.machine->mem;
    bool error = (d->status & ATA_STAT_ERR) != 0;
    uint32_t prdbc = GUINT32_TO_LE(d->dma_bytes);

    if (!p->busy) {
        return;
    }
    if (!(p->cmd & CMD_ST)) {
        /* Software stopped the port meanwhile: the result goes nowhere. */
        p->busy = false;
        return;
    }
    if (vmm_guest_write(mem, port_clb(p) + p->slot * 32u + 4, &prdbc, sizeof(prdbc)) < 0) {
        vmm_guest_error("ahci: port %u command list outside RAM", p->index);
    }
    if (p->fatal) {
        p->is |= IS_HBFS;
    }
    if (p->pio_in && !error) {
        post_pio_setup(p, d->dma_bytes);
    }
    post_d2h(p, true);
    slot_done(p, error);
    ahci_update_irq(p->s, false);
    if (!p->in_process) {
        port_process(p);
    }
}

static void ahci_drive_irq(void *opaque, AtaDrive *d)
{
    /* Completion is reported through the FIS in ahci_drive_done(). */
}

static int ahci_dma_rw(void *opaque, AtaDrive *d, uint8_t *buf, uint32_t len, bool to_guest)
{
    AhciPort *p = opaque;
    VmmGuestMem *mem = p->s->pci.parent.machine->mem;
    uint32_t done = 0;

    while (done < len && p->prd_idx < p->prdtl) {
        uint32_t e[4];
        uint64_t dba;
        uint32_t dbc, n;

        if (vmm_guest_read(mem, p->ctba + CT_PRDT + (uint64_t)p->prd_idx * 16, e, sizeof(e)) < 0) {
            vmm_guest_error("ahci: port %u PRDT entry %u outside RAM", p->index, p->prd_idx);
            p->fatal = true;
            return -EFAULT;
        }
        dba = ((uint64_t)GUINT32_FROM_LE(e[1]) << 32) | (GUINT32_FROM_LE(e[0]) & ~1u);
        dbc = (GUINT32_FROM_LE(e[3]) & PRD_DBC_MASK) + 1;
        if (p->prd_off >= dbc) {
            p->prd_idx++;
            p->prd_off = 0;
            continue;
        }
        n = MIN(len - done, dbc - p->prd_off);
        if ((to_guest ? vmm_guest_write(mem, dba + p->prd_off, buf + done, n)
                      : vmm_guest_read(mem, dba + p->prd_off, buf + done, n)) < 0) {
            vmm_guest_error("ahci: port %u data buffer 0x%" G_GINT64_MODIFIER "x+%u outside RAM",
                            p->index, dba + p->prd_off, n);
            p->fatal = true;
            return -EFAULT;
        }
        done += n;
        p->prd_off += n;
        if (p->prd_off >= dbc) {
            p->prd_idx++;
            p->prd_off = 0;
        }
    }
    return (int)done;
}

static const AtaOps ahci_ata_ops = {
    .irq = ahci_drive_irq,
    .dma_rw = ahci_dma_rw,
    .done = ahci_drive_done,
};

/* A structure of the command could not be read: host bus fatal error, the port stops. */
static void slot_fatal(AhciPort *p)
{
    p->is |= IS_HBFS;
    p->busy = false;
    p->error_stop = true;
    p->ci &= ~(1u << p->slot);
}

/* Control FIS (C bit clear): soft reset through SRST. */
static void control_fis(AhciPort *p, const uint8_t *cfis)
{
    AtaDrive *d = &p->drive;

    if (cfis[15] & 0x04) {
        ata_drive_soft_reset(d);
        p->srst = true;
    } else if (p->srst) {
        p->srst = false;
        ata_set_signature(d);
        p->sig = d->kind == ATA_MEDIA_CDROM ? SIG_ATAPI : SIG_ATA;
        post_d2h(p, false);
    }
    p->ci &= ~(1u << p->slot);
    p->busy = false;
}

/* Starts the command in @slot. */
static void start_slot(AhciPort *p, unsigned slot)
{
    VmmGuestMem *mem = p->s->pci.parent.machine->mem;
    AtaDrive *d = &p->drive;
    uint32_t hdr[4];
    uint8_t cfis[64];
    uint32_t dw0;

    p->slot = slot;
    p->busy = true;
    p->fatal = false;
    p->cmd = (p->cmd & ~(0x1fu << CMD_CCS_SHIFT)) | (slot << CMD_CCS_SHIFT);
    if (vmm_guest_read(mem, port_clb(p) + slot * 32u, hdr, sizeof(hdr)) < 0) {
        vmm_guest_error("ahci: port %u command slot %u outside RAM", p->index, slot);
        slot_fatal(p);
        return;
    }
    dw0 = GUINT32_FROM_LE(hdr[0]);
    p->ctba = ((uint64_t)GUINT32_FROM_LE(hdr[3]) << 32) | (GUINT32_FROM_LE(hdr[2]) & ~0x7fu);
    p->prdtl = dw0 >> 16;
    p->prd_idx = 0;
    p->prd_off = 0;
    if (vmm_guest_read(mem, p->ctba + CT_CFIS, cfis, sizeof(cfis)) < 0) {
        vmm_guest_error("ahci: port %u command table outside RAM", p->index);
        slot_fatal(p);
        return;
    }
    if (cfis[0] != FIS_H2D || (dw0 & HDR_CFL_MASK) < 5) {
        vmm_guest_error("ahci: port %u: bad command FIS (type 0x%02x, %u dwords)", p->index,
                        cfis[0], dw0 & HDR_CFL_MASK);
        d->status = ATA_STAT_DRDY | ATA_STAT_ERR;
        d->error = ATA_ERR_ABRT;
        post_d2h(p, true);
        slot_done(p, true);
        return;
    }
    if (!(cfis[1] & 0x80)) {
        control_fis(p, cfis);
        return;
    }
    /* Load the task file: the extended bytes are the HOB values. */
    d->feature = cfis[3];
    d->lbal = cfis[4];
    d->lbam = cfis[5];
    d->lbah = cfis[6];
    d->select = cfis[7];
    d->hob_lbal = cfis[8];
    d->hob_lbam = cfis[9];
    d->hob_lbah = cfis[10];
    d->hob_feature = cfis[11];
    d->nsector = cfis[12];
    d->hob_nsector = cfis[13];
    d->dma_bytes = 0;
    p->pio_in = cmd_is_pio_in(cfis[2], cfis);
    if (cfis[2] == ATA_CMD_PACKET) {
        uint8_t acmd[16];

        if (vmm_guest_read(mem, p->ctba + CT_ACMD, acmd, sizeof(acmd)) < 0) {
            slot_fatal(p);
            return;
        }
        ata_set_packet(d, acmd);
    }
    p->tfd = (p->tfd & ~0xffu) | ATA_STAT_BSY;
    ata_exec_command(d, cfis[2]);
    if (p->busy && p->fatal) {
        /* The drive gave up on an unreadable PRDT: report a fatal error, not its abort. */
        slot_fatal(p);
    }
}

/* Runs issued commands until one waits for I/O. */
static void port_process(AhciPort *p)
{
    if (p->in_process) {
        return;
    }
    p->in_process = true;
    while ((p->cmd & CMD_ST) && !p->busy && !p->error_stop && p->ci != 0 && p->drive.present) {
        start_slot(p, (unsigned)__builtin_ctz(p->ci));
        if (p->fatal || (p->is & IS_HBFS)) {
            p->error_stop = true;
        }
    }
    p->in_process = false;
    ahci_update_irq(p->s, false);
}

/* ---- port registers ----------------------------------------------------------------------- */

static void port_reset_regs(AhciPort *p)
{
    AtaDrive *d = &p->drive;

    p->clb = p->clbu = p->fb = p->fbu = 0;
    p->is = p->ie = 0;
    p->cmd = CMD_SUD | CMD_POD | (d->kind == ATA_MEDIA_CDROM && d->present ? CMD_ATAPI : 0);
    p->sctl = 0;
    p->serr = 0;
    p->sact = 0;
    p->ci = 0;
    p->busy = false;
    p->error_stop = false;
    p->srst = false;
    if (d->present) {
        ata_drive_reset(d);
        p->ssts = SSTS_PRESENT;
        p->sig = d->kind == ATA_MEDIA_CDROM ? SIG_ATAPI : SIG_ATA;
        p->tfd = ((uint32_t)d->error << 8) | d->status;
    } else {
        p->ssts = 0;
        p->sig = 0xffffffffu;
        p->tfd = 0x7f;
    }
}

static void port_comreset(AhciPort *p)
{
    AtaDrive *d = &p->drive;

    if (!d->present) {
        return;
    }
    ata_drive_soft_reset(d);
    p->busy = false;
    p->ssts = SSTS_PRESENT;
    p->sig = d->kind == ATA_MEDIA_CDROM ? SIG_ATAPI : SIG_ATA;
    p->serr |= SERR_DIAG_X;
    post_d2h(p, false);
}

static uint32_t port_read(AhciPort *p, unsigned reg)
{
    switch (reg) {
    case PX_CLB:
        return p->clb;
    case PX_CLBU:
        return p->clbu;
    case PX_FB:
        return p->fb;
    case PX_FBU:
        return p->fbu;
    case PX_IS:
        return p->is;
    case PX_IE:
        return p->ie;
    case PX_CMD:
        return p->cmd;
    case PX_TFD:
        return p->tfd;
    case PX_SIG:
        return p->sig;
    case PX_SSTS:
        return p->ssts;
    case PX_SCTL:
        return p->sctl;
    case PX_SERR:
        return p->serr;
    case PX_SACT:
        return p->sact;
    case PX_CI:
        return p->ci;
    default:
        return 0;
    }
}

static void port_write_cmd(AhciPort *p, uint32_t v)
{
    uint32_t old = p->cmd;

    p->cmd = (p->cmd & ~CMD_RW_MASK) | (v & CMD_RW_MASK);
    if (v & CMD_FRE) {
        p->cmd |= CMD_FR;
    } else {
        p->cmd &= ~CMD_FR;
    }
    if (v & CMD_CLO) {
        p->tfd &= ~(uint32_t)(ATA_STAT_BSY | ATA_STAT_DRQ);
    }
    if (v & CMD_ST) {
        p->cmd |= CMD_CR;
        if (!(old & CMD_ST)) {
            p->error_stop = false;
        }
    } else {
        /* Stopping clears the issued commands (AHCI 1.3 section 3.3.14). */
        if (p->busy) {
            /* The running command is abandoned: its completion must not land in a new one. */
            ata_drive_soft_reset(&p->drive);
            p->busy = false;
        }
        p->cmd &= ~(CMD_CR | (0x1fu << CMD_CCS_SHIFT));
        p->ci = 0;
        p->sact = 0;
        p->error_stop = false;
    }
    port_process(p);
}

static void port_write(AhciPort *p, unsigned reg, uint32_t v)
{
    switch (reg) {
    case PX_CLB:
        p->clb = v & ~0x3ffu;
        break;
    case PX_CLBU:
        p->clbu = v;
        break;
    case PX_FB:
        p->fb = v & ~0xffu;
        break;
    case PX_FBU:
        p->fbu = v;
        break;
    case PX_IS:
        p->is &= ~v;
        ahci_update_irq(p->s, true);
        break;
    case PX_IE:
        p->ie = v & IS_MASK;
        ahci_update_irq(p->s, false);
        break;
    case PX_CMD:
        port_write_cmd(p, v);
        break;
    case PX_SCTL: {
        uint32_t old = p->sctl;

        p->sctl = v;
        if ((v & 0xf) == 1) {
            /* COMRESET asserted: the link is down until it is released. */
            p->ssts = 0;
            p->ci = 0;
            p->sact = 0;
        } else if ((old & 0xf) == 1 && (v & 0xf) == 0) {
            port_comreset(p);
        }
        break;
    }
    case PX_SERR:
        p->serr &= ~v;
        break;
    case PX_SACT:
        if (p->cmd & CMD_ST) {
            p->sact |= v;
        }
        break;
    case PX_CI:
        if (p->cmd & CMD_ST) {
            p->ci |= v;
            port_process(p);
        }
        break;
    default:
        break;
    }
}

/* ---- ABAR --------------------------------------------------------------------------------- */

static void hba_reset(AhciState *s)
{
    s->ghc = GHC_AE;
    s->hba_is = 0;
    for (unsigned i = 0; i < AHCI_NUM_PORTS; i++) {
        port_reset_regs(&s->ports[i]);
    }
    ahci_update_irq(s, false);
}

static uint64_t abar_read(void *opaque, uint64_t offset, unsigned size)
{
    AhciState *s = opaque;

    if (offset >= PORT_BASE) {
        uint64_t po = offset - PORT_BASE;
        unsigned idx = (unsigned)(po / PORT_SIZE);

        if (idx >= AHCI_NUM_PORTS) {
            return 0;
        }
        return port_read(&s->ports[idx], (unsigned)(po % PORT_SIZE));
    }
    switch (offset) {
    case HOST_CAP:
        return CAP_S64A | CAP_SAM | CAP_ISS_GEN1 | (31u << CAP_NCS_SHIFT) | (AHCI_NUM_PORTS - 1);
    case HOST_GHC:
        return s->ghc;
    case HOST_IS:
        return s->hba_is;
    case HOST_PI:
        return (1u << AHCI_NUM_PORTS) - 1;
    case HOST_VS:
        return AHCI_VERSION;
    default:
        return 0;
    }
}

static void abar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    AhciState *s = opaque;
    uint32_t v = (uint32_t)value;

    if (offset >= PORT_BASE) {
        uint64_t po = offset - PORT_BASE;
        unsigned idx = (unsigned)(po / PORT_SIZE);

        if (idx < AHCI_NUM_PORTS) {
            port_write(&s->ports[idx], (unsigned)(po % PORT_SIZE), v);
        }
        return;
    }
    switch (offset) {
    case HOST_GHC:
        if (v & GHC_HR) {
            hba_reset(s);
            return;
        }
        /* AHCI-only HBA (CAP.SAM): AE stays set. */
        s->ghc = GHC_AE | (v & GHC_IE);
        ahci_update_irq(s, false);
        break;
    case HOST_IS:
        s->hba_is &= ~v;
        ahci_update_irq(s, true);
        break;
    default:
        break;
    }
}

static const VmmIoOps abar_ops = {
    .read = abar_read,
    .write = abar_write,
    .min_access = 4,
    .max_access = 4,
};

/* ---- device ------------------------------------------------------------------------------- */

static void ahci_reset(VmmDevice *dev)
{
    AhciState *s = (AhciState *)dev;

    vmm_pci_device_reset(&s->pci);
    hba_reset(s);
    s->irq_level = false;
}

static void ports_cleanup(AhciState *s)
{
    for (unsigned i = 0; i < AHCI_NUM_PORTS; i++) {
        ata_drive_cleanup(&s->ports[i].drive);
    }
}

static bool ahci_realize(VmmDevice *dev, GError **error)
{
    AhciState *s = (AhciState *)dev;
    VmmMachine *m = dev->machine;

    for (unsigned i = 0; i < AHCI_NUM_PORTS; i++) {
        AhciPortProps *pp = &s->props[i];
        AhciPort *p = &s->ports[i];
        AtaMediaKind kind;
        BlockFormat format;
        bool present;
        g_autofree char *serial = g_strdup_printf("BWSATA%08X%u", g_str_hash(dev->id), i);

        p->s = s;
        p->index = i;
        if (!ata_parse_media(pp->media, &kind, error) ||
            !ata_parse_format(pp->format, &format, error)) {
            g_prefix_error(error, "%s: port %u: ", dev->id, i);
            ports_cleanup(s);
            return false;
        }
        present = (pp->file != NULL && *pp->file != '\0') || kind == ATA_MEDIA_CDROM;
        if (!ata_drive_init(&p->drive, present, kind, pp->file, format, pp->readonly, serial,
                            &dev->lock, m->io, &ahci_ata_ops, p, error)) {
            g_prefix_error(error, "%s: port %u: ", dev->id, i);
            ports_cleanup(s);
            return false;
        }
        p->drive.dma_only = true;
    }
    if (!vmm_pci_device_realize(&s->pci, s->addr, NULL, error)) {
        ports_cleanup(s);
        return false;
    }
    vmm_pci_set_ids(&s->pci, AHCI_VENDOR, AHCI_DEVICE, AHCI_CLASS, AHCI_REVISION);
    vmm_pci_set_interrupt_pin(&s->pci, 1);
    if (vmm_pci_register_bar(&s->pci, ABAR_BAR, VMM_PCI_BAR_MEM32, false, ABAR_SIZE, "ahci-abar",
                             &abar_ops, s) < 0 ||
        vmm_pci_msi_init(&s->pci, 1, true) < 0) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: cannot set up the ABAR or MSI", dev->id);
        vmm_pci_device_unrealize(&s->pci);
        ports_cleanup(s);
        return false;
    }
    hba_reset(s);
    return true;
}

static void ahci_unrealize(VmmDevice *dev)
{
    AhciState *s = (AhciState *)dev;

    ports_cleanup(s);
    vmm_pci_device_unrealize(&s->pci);
}

bool ahci_change_media(VmmDevice *dev, unsigned port, const char *path, const char *format,
                       GError **error)
{
    AhciState *s = (AhciState *)dev;
    BlockFormat fmt;

    if (dev->type != &ahci_type || port >= AHCI_NUM_PORTS) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no AHCI port %u", port);
        return false;
    }
    if (!ata_parse_format(format, &fmt, error)) {
        return false;
    }
    return ata_change_media(&s->ports[port].drive, path, fmt, error);
}

#define PORT_PROPS(n)                                                                              \
    VMM_PROP_STR("port" #n "_file", AhciState, props[n].file, NULL, "image file on port " #n),     \
        VMM_PROP_STR("port" #n "_media", AhciState, props[n].media, "disk",                        \
                     "\"disk\" or \"cdrom\" (port " #n ")"),                                       \
        VMM_PROP_STR("port" #n "_format", AhciState, props[n].format, "auto",                      \
                     "image format: auto, raw, vdi (port " #n ")"),                                \
        VMM_PROP_INT(VMM_PROP_BOOL, "port" #n "_readonly", AhciState, props[n].readonly, 0, 0, 1,  \
                     "read-only disk (port " #n ")")

static const VmmPropDesc ahci_props[] = {
    VMM_PROP_INT(VMM_PROP_U8, "addr", AhciState, addr, VMM_PCI_DEVFN(4, 0), 0, 0xff,
                 "PCI device/function (devfn)"),
    PORT_PROPS(0),
    PORT_PROPS(1),
    PORT_PROPS(2),
    PORT_PROPS(3),
    PORT_PROPS(4),
    PORT_PROPS(5),
    VMM_PROP_END,
};

const VmmDeviceType ahci_type = {
    .name = "ahci",
    .description = "ICH9 AHCI SATA controller (6 ports, disks and ATAPI CD-ROMs, MSI)",
    .instance_size = sizeof(AhciState),
    .props = ahci_props,
    .realize = ahci_realize,
    .reset = ahci_reset,
    .unrealize = ahci_unrealize,
};
