/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Intel PIIX4 power management function (00:01.3, 8086:7113) as QEMU's "pc" machine
 * presents it. Firmware programs the PM I/O base (PMBA, config 0x40) and enables it
 * (PMREGMISC, config 0x80); the 64-byte block then holds:
 *
 *   +0 PM1_STS (W1C)  +2 PM1_EN  +4 PM1_CNT  +8 PM_TMR (24 bits, 3.579545 MHz)
 *
 * The platform is ACPI-only (FADT SMI_CMD = 0), so SCI_EN always reads 1. The SCI is
 * GSI 9, level triggered. GPE0 is a fixed 4-byte block at 0xAFE0. The PM timer is
 * derived from the machine clock, so it stops while the VM is paused; its overflow
 * status (bit 23 toggling) is computed when read, plus a timer only while TMR_EN asks
 * for an interrupt.
 */
#define G_LOG_DOMAIN "piix4-pm"
#include <errno.h>
#include <stdbool.h>

#include "devices/chipset/piix4-pm.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/pci.h"
#include "vmm/timer.h"

#define PIIX4_PM_VENDOR 0x8086
#define PIIX4_PM_DEVICE 0x7113
#define PIIX4_PM_REVISION 0x03
#define PIIX4_PM_CLASS 0x068000 /* bridge, other */

/* Config space. */
#define PMBA 0x40
#define PMBA_IO 0x0001   /* reads 1: I/O space indicator */
#define PMBA_MASK 0xffc0 /* 64-byte aligned base */
#define DEVACTB 0x58
#define DEVACTB_APMC_EN_BYTE 0x5b
#define DEVACTB_APMC_EN_BIT 0x02
#define PMREGMISC 0x80
#define PMREGMISC_PMIOSE 0x01
#define SMBBA 0x90
#define SMBHSTCFG 0xd2

#define PM_BLOCK_LEN 64

/* PM I/O block. */
#define PM1_STS 0x00
#define PM1_EN 0x02
#define PM1_CNT 0x04
#define PM_TMR 0x08

#define PM1_TMR 0x0001
#define PM1_BM 0x0010
#define PM1_GBL 0x0020
#define PM1_PWRBTN 0x0100
#define PM1_RTC 0x0400
#define PM1_WAK 0x8000
#define PM1_STS_MASK (PM1_TMR | PM1_BM | PM1_GBL | PM1_PWRBTN | PM1_RTC | PM1_WAK)
#define PM1_EN_MASK (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)

#define CNT_SCI_EN 0x0001
#define CNT_BM_RLD 0x0002
#define CNT_GBL_RLS 0x0004
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP_MASK (7u << CNT_SLP_TYP_SHIFT)
#define CNT_SLP_EN 0x2000
#define CNT_STORE_MASK (CNT_SCI_EN | CNT_BM_RLD | CNT_SLP_TYP_MASK)

#define PM_TIMER_HZ 3579545ull
#define PM_TIMER_MASK 0xffffffu
#define PM_TIMER_OVERFLOW_SHIFT 23 /* TMR_STS is set whenever bit 23 toggles */
#define NS_PER_SEC 1000000000ull

struct Piix4PmState {
    VmmPciDevice pci;
    uint8_t addr; /* property: devfn */

    /* Everything below is guarded by the device lock. */
    int pm_handle; /* PM block region while mapped, else 0 */
    uint16_t pm_base;
    int gpe_handle;

    uint16_t pm1_sts;
    uint16_t pm1_en;
    uint16_t pm1_cnt;
    uint16_t gpe_sts;
    uint16_t gpe_en;

    uint64_t tmr_toggles; /* (ticks >> 23) when TMR_STS was last brought up to date */
    VmmTimer *tmr_timer;  /* Owned: fires at the next toggle while TMR_EN is set */
    bool sci_level;
};

/* ---- PM timer ----------------------------------------------------------------------------- */

static uint64_t pm_ticks(Piix4PmState *s)
{
    int64_t now = vmm_clock_ns(s->pci.parent.machine);
    uint64_t ns = now > 0 ? (uint64_t)now : 0;

    /* Split to avoid overflowing 64 bits; exact because whole seconds are whole ticks. */
    return (ns / NS_PER_SEC) * PM_TIMER_HZ + (ns % NS_PER_SEC) * PM_TIMER_HZ / NS_PER_SEC;
}

/* First virtual-clock time at which the tick counter reaches @ticks. */
static int64_t pm_ticks_to_ns(uint64_t ticks)
{
    uint64_t sec = ticks / PM_TIMER_HZ;
    uint64_t rem = ticks % PM_TIMER_HZ;

    return (int64_t)(sec * NS_PER_SEC + (rem * NS_PER_SEC + PM_TIMER_HZ - 1) / PM_TIMER_HZ);
}

static void pm_tmr_sync(Piix4PmState *s)
{
    uint64_t toggles = pm_ticks(s) >> PM_TIMER_OVERFLOW_SHIFT;

    if (toggles != s->tmr_toggles) {
        s->tmr_toggles = toggles;
        s->pm1_sts |= PM1_TMR;
    }
}

static void pm_update_sci(Piix4PmState *s)
{
    bool level;

    pm_tmr_sync(s);
    level = (s->pm1_sts & s->pm1_en) != 0 || (s->gpe_sts & s->gpe_en) != 0;
    if (level != s->sci_level) {
        s->sci_level = level;
        vmm_irq_set_level(s->pci.parent.machine, PIIX4_PM_SCI_GSI, level);
    }
}

static void pm_tmr_rearm(Piix4PmState *s)
{
    if (s->pm1_en & PM1_TMR) {
        uint64_t next = (s->tmr_toggles + 1) << PM_TIMER_OVERFLOW_SHIFT;

        vmm_timer_mod(s->tmr_timer, pm_ticks_to_ns(next));
    } else {
        vmm_timer_del(s->tmr_timer);
    }
}

/* Timer callback: runs with the device lock held. */
static void pm_tmr_cb(void *opaque)
{
    Piix4PmState *s = opaque;

    pm_update_sci(s);
    pm_tmr_rearm(s);
}

/* ---- PM I/O block ------------------------------------------------------------------------- */

static void pm_sleep(Piix4PmState *s, unsigned type)
{
    static VmmRateLimit rl;

    if (type == 0) {
        /* SLP_TYP 0 is S5 in QEMU-style DSDTs (_S5 = Package {0, 0, 0, 0}). */
        vmm_machine_request(s->pci.parent.machine, VMM_REQ_POWEROFF, "ACPI S5");
        return;
    }
    if (vmm_rate_limit_allow(&rl)) {
        g_message("guest asked for sleep type %u; not supported, ignored", type);
    }
}

static uint64_t pm_read(void *opaque, uint64_t offset, unsigned size)
{
    Piix4PmState *s = opaque;
    uint8_t regs[12] = {0};
    uint32_t tmr;
    uint16_t cnt;
    uint64_t v = 0;

    if (offset >= PM_BLOCK_LEN || size > PM_BLOCK_LEN - offset) {
        return 0;
    }
    pm_tmr_sync(s);
    tmr = (uint32_t)(pm_ticks(s) & PM_TIMER_MASK);
    cnt = (uint16_t)((s->pm1_cnt | CNT_SCI_EN) & ~CNT_SLP_EN);
    regs[PM1_STS] = s->pm1_sts & 0xff;
    regs[PM1_STS + 1] = s->pm1_sts >> 8;
    regs[PM1_EN] = s->pm1_en & 0xff;
    regs[PM1_EN + 1] = s->pm1_en >> 8;
    regs[PM1_CNT] = cnt & 0xff;
    regs[PM1_CNT + 1] = cnt >> 8;
    for (unsigned i = 0; i < 4; i++) {
        regs[PM_TMR + i] = (tmr >> (8 * i)) & 0xff;
    }
    /* Registers past PM_TMR (PIIX4 GP/device control) read as 0. */
    for (unsigned i = 0; i < size; i++) {
        if (offset + i < sizeof(regs)) {
            v |= (uint64_t)regs[offset + i] << (8 * i);
        }
    }
    return v;
}

/*
 * Extracts the part of an access (@offset, @size, @value) that falls into the 16-bit
 * register at @reg: returns the bits written and sets *mask to which bits were covered.
 */
static uint16_t reg16_part(uint64_t offset, unsigned size, uint64_t value, unsigned reg,
                           uint16_t *mask)
{
    uint16_t v = 0;

    *mask = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = offset + i;

        if (o >= reg && o < reg + 2u) {
            unsigned byte = (unsigned)(o - reg);

            v |= (uint16_t)(((value >> (8 * i)) & 0xff) << (8 * byte));
            *mask |= (uint16_t)(0xffu << (8 * byte));
        }
    }
    return v;
}

static void pm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Piix4PmState *s = opaque;
    uint16_t v, mask;

    if (offset >= PM_BLOCK_LEN || size > PM_BLOCK_LEN - offset) {
        return;
    }

    v = reg16_part(offset, size, value, PM1_STS, &mask);
    if (mask != 0) {
        /* Bring TMR_STS up to date first so an elapsed overflow is the one cleared. */
        pm_tmr_sync(s);
        s->pm1_sts &= (uint16_t) ~(v & mask);
    }

    v = reg16_part(offset, size, value, PM1_EN, &mask);
    if (mask != 0) {
        s->pm1_en = (uint16_t)(((s->pm1_en & ~mask) | (v & mask)) & PM1_EN_MASK);
        pm_tmr_rearm(s);
    }

    v = reg16_part(offset, size, value, PM1_CNT, &mask);
    if (mask != 0) {
        uint16_t cnt = (uint16_t)((s->pm1_cnt & ~mask) | (v & mask));

        s->pm1_cnt = (uint16_t)((cnt & CNT_STORE_MASK) | CNT_SCI_EN);
        if (cnt & CNT_SLP_EN) {
            pm_sleep(s, (cnt & CNT_SLP_TYP_MASK) >> CNT_SLP_TYP_SHIFT);
        }
    }
    pm_update_sci(s);
}

static const VmmIoOps pm_ops = {
    .read = pm_read,
    .write = pm_write,
    .min_access = 1,
    .max_access = 4,
};

static uint64_t gpe_read(void *opaque, uint64_t offset, unsigned size)
{
    Piix4PmState *s = opaque;
    uint32_t regs = (uint32_t)s->gpe_sts | ((uint32_t)s->gpe_en << 16);

    if (offset >= PIIX4_PM_GPE0_LEN || size > PIIX4_PM_GPE0_LEN - offset) {
        return 0;
    }
    return (regs >> (8 * offset)) & (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static void gpe_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Piix4PmState *s = opaque;
    uint16_t v, mask;

    if (offset >= PIIX4_PM_GPE0_LEN || size > PIIX4_PM_GPE0_LEN - offset) {
        return;
    }
    v = reg16_part(offset, size, value, 0, &mask);
    s->gpe_sts &= (uint16_t) ~(v & mask);
    v = reg16_part(offset, size, value, 2, &mask);
    s->gpe_en = (uint16_t)((s->gpe_en & ~mask) | (v & mask));
    pm_update_sci(s);
}

static const VmmIoOps gpe_ops = {
    .read = gpe_read,
    .write = gpe_write,
    .min_access = 1,
    .max_access = 4,
};

void piix4_pm_power_button(Piix4PmState *s)
{
    g_mutex_lock(&s->pci.parent.lock);
    s->pm1_sts |= PM1_PWRBTN;
    pm_update_sci(s);
    g_mutex_unlock(&s->pci.parent.lock);
}

void piix4_pm_set_gpe(Piix4PmState *s, unsigned bit)
{
    if (bit >= 16) {
        return;
    }
    g_mutex_lock(&s->pci.parent.lock);
    s->gpe_sts |= (uint16_t)(1u << bit);
    pm_update_sci(s);
    g_mutex_unlock(&s->pci.parent.lock);
}

/* ---- config space ------------------------------------------------------------------------- */

/* Maps the PM block where PMBA points while PMREGMISC enables it. Device lock held. */
static void pm_remap(Piix4PmState *s)
{
    VmmMachine *m = s->pci.parent.machine;
    uint16_t base = vmm_pci_get_long(&s->pci, PMBA) & PMBA_MASK;
    bool enable = (vmm_pci_get_byte(&s->pci, PMREGMISC) & PMREGMISC_PMIOSE) && base != 0;
    int r;

    if (s->pm_handle > 0 && enable && s->pm_base == base) {
        return;
    }
    if (s->pm_handle > 0) {
        vmm_bus_unregister(m->pio, s->pm_handle);
        s->pm_handle = 0;
        s->pm_base = 0;
    }
    if (!enable) {
        return;
    }
    r = vmm_bus_register(m->pio, "piix4-pm", base, PM_BLOCK_LEN, &pm_ops, s, &s->pci.parent.lock);
    if (r < 0) {
        vmm_guest_error("piix4-pm: PM block at 0x%x overlaps another region; left unmapped", base);
        return;
    }
    s->pm_handle = r;
    s->pm_base = base;
}

static void piix4_pm_config_write(VmmPciDevice *d, unsigned offset, uint32_t value, unsigned size)
{
    Piix4PmState *s = (Piix4PmState *)d;

    vmm_pci_default_config_write(d, offset, value, size);
    if ((offset < PMBA + 4 && offset + size > PMBA) ||
        (offset <= PMREGMISC && offset + size > PMREGMISC)) {
        pm_remap(s);
    }
}

static const VmmPciDeviceOps piix4_pm_pci_ops = {
    .config_write = piix4_pm_config_write,
};

/* ---- device ------------------------------------------------------------------------------- */

static void piix4_pm_reset(VmmDevice *dev)
{
    Piix4PmState *s = (Piix4PmState *)dev;

    vmm_pci_device_reset(&s->pci);
    vmm_pci_set_long(&s->pci, PMBA, PMBA_IO);
    vmm_pci_set_long(&s->pci, DEVACTB, 0);
    /*
     * No SMM: report APMC_EN already set so SeaBIOS builds with SMM support skip their
     * SMI handshake instead of waiting for an SMI that never comes (as QEMU does).
     */
    vmm_pci_set_byte(&s->pci, DEVACTB_APMC_EN_BYTE, DEVACTB_APMC_EN_BIT);
    vmm_pci_set_byte(&s->pci, PMREGMISC, 0);
    vmm_pci_set_long(&s->pci, SMBBA, PMBA_IO);
    vmm_pci_set_byte(&s->pci, SMBHSTCFG, 0);
    pm_remap(s);

    s->pm1_sts = 0;
    s->pm1_en = 0;
    s->pm1_cnt = CNT_SCI_EN;
    s->gpe_sts = 0;
    s->gpe_en = 0;
    s->tmr_toggles = pm_ticks(s) >> PM_TIMER_OVERFLOW_SHIFT;
    vmm_timer_del(s->tmr_timer);
    s->sci_level = false;
    vmm_irq_set_level(dev->machine, PIIX4_PM_SCI_GSI, false);
}

static bool piix4_pm_realize(VmmDevice *dev, GError **error)
{
    Piix4PmState *s = (Piix4PmState *)dev;
    VmmMachine *m = dev->machine;
    int r;

    if (!vmm_pci_device_realize(&s->pci, s->addr, &piix4_pm_pci_ops, error)) {
        return false;
    }
    vmm_pci_set_ids(&s->pci, PIIX4_PM_VENDOR, PIIX4_PM_DEVICE, PIIX4_PM_CLASS, PIIX4_PM_REVISION);
    /* Pin A for the record; the SCI itself is wired to GSI 9, not routed through a PIRQ. */
    vmm_pci_set_interrupt_pin(&s->pci, 1);
    vmm_pci_set_wmask(&s->pci, PMBA, 4, PMBA_MASK);
    vmm_pci_set_wmask(&s->pci, DEVACTB, 4, 0xffffffff);
    vmm_pci_set_wmask(&s->pci, PMREGMISC, 1, PMREGMISC_PMIOSE);
    vmm_pci_set_wmask(&s->pci, SMBBA, 4, 0xfff0);
    vmm_pci_set_wmask(&s->pci, SMBHSTCFG, 1, 0x0f);
    vmm_pci_set_long(&s->pci, PMBA, PMBA_IO);
    vmm_pci_set_byte(&s->pci, DEVACTB_APMC_EN_BYTE, DEVACTB_APMC_EN_BIT);
    vmm_pci_set_long(&s->pci, SMBBA, PMBA_IO);
    s->pm1_cnt = CNT_SCI_EN;

    r = vmm_bus_register(m->pio, "piix4-gpe0", PIIX4_PM_GPE0_BASE, PIIX4_PM_GPE0_LEN, &gpe_ops, s,
                         &dev->lock);
    if (r < 0) {
        g_set_error(error, VMM_PCI_ERROR, 0, "%s: GPE0 ports 0x%x: %s", dev->id, PIIX4_PM_GPE0_BASE,
                    g_strerror(-r));
        vmm_pci_device_unrealize(&s->pci);
        return false;
    }
    s->gpe_handle = r;
    s->tmr_timer = vmm_timer_new(m, pm_tmr_cb, s, &dev->lock);
    s->tmr_toggles = pm_ticks(s) >> PM_TIMER_OVERFLOW_SHIFT;
    return true;
}

static void piix4_pm_unrealize(VmmDevice *dev)
{
    Piix4PmState *s = (Piix4PmState *)dev;

    g_clear_pointer(&s->tmr_timer, vmm_timer_free);
    vmm_pci_device_unrealize(&s->pci);
}

static const VmmPropDesc piix4_pm_props[] = {
    VMM_PROP_INT(VMM_PROP_U8, "addr", Piix4PmState, addr, VMM_PCI_DEVFN(1, 3), 0, 0xff,
                 "PCI device/function (devfn) of the PM function"),
    VMM_PROP_END,
};

const VmmDeviceType piix4_pm_type = {
    .name = "piix4-pm",
    .description = "Intel PIIX4 ACPI power management (PM1, PM timer, GPE0, SCI on GSI 9)",
    .instance_size = sizeof(Piix4PmState),
    .props = piix4_pm_props,
    .realize = piix4_pm_realize,
    .reset = piix4_pm_reset,
    .unrealize = piix4_pm_unrealize,
};
