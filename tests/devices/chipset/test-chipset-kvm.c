/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The chipset on real KVM: a real-mode guest reads the host bridge's ID through
 * 0xCF8/0xCFC, flips PAM0 between "PCI" (BIOS alias), read-write and read-only while
 * writing and reading 0xF0010 (so the memslots change from inside a vCPU exit), then
 * maps the PIIX4 PM block and powers off through ACPI S5. Skips without /dev/kvm.
 *
 * Guest code (nasm, org 0xF000 in the top page below 4 GiB, entered from the reset
 * vector with a near jump):
 *   bits 16
 *   org 0xf000
 *   start:
 *       mov dx, 0xcf8
 *       mov eax, 0x80000000
 *       out dx, eax
 *       mov dx, 0xcfc
 *       in eax, dx
 *       mov dx, 0x500
 *       out dx, eax             ; 1: host bridge id
 *       mov ax, 0xf000
 *       mov ds, ax
 *       mov byte [0x10], 0x5a   ; PAM0 = 0: BIOS alias, read-only
 *       movzx eax, byte [0x10]
 *       mov dx, 0x500
 *       out dx, eax             ; 2: alias byte
 *       mov dx, 0xcf8
 *       mov eax, 0x80000058
 *       out dx, eax
 *       mov dx, 0xcfd
 *       mov al, 0x30
 *       out dx, al              ; PAM0 = 0x30: RAM read-write
 *       mov byte [0x10], 0x5a
 *       movzx eax, byte [0x10]
 *       mov dx, 0x500
 *       out dx, eax             ; 3: 0x5a
 *       mov dx, 0xcfd
 *       mov al, 0x10
 *       out dx, al              ; PAM0 = 0x10: RAM read-only
 *       mov byte [0x10], 0xa5
 *       movzx eax, byte [0x10]
 *       mov dx, 0x500
 *       out dx, eax             ; 4: still 0x5a
 *       mov dx, 0xcfd
 *       mov al, 0x00
 *       out dx, al              ; PAM0 = 0: alias again
 *       movzx eax, byte [0x10]
 *       mov dx, 0x500
 *       out dx, eax             ; 5: alias byte
 *       mov dx, 0xcf8
 *       mov eax, 0x80000b40     ; 00:01.3 PMBA
 *       out dx, eax
 *       mov dx, 0xcfc
 *       mov eax, 0x601
 *       out dx, eax
 *       mov dx, 0xcf8
 *       mov eax, 0x80000b80     ; PMREGMISC
 *       out dx, eax
 *       mov dx, 0xcfc
 *       mov al, 1
 *       out dx, al
 *       mov dx, 0x604
 *       in ax, dx
 *       movzx eax, ax
 *       mov dx, 0x500
 *       out dx, eax             ; 6: PM1_CNT = 1 (SCI_EN)
 *       mov dx, 0x604
 *       mov ax, 0x2000
 *       out dx, ax              ; S5
 *   halt:
 *       hlt
 *       jmp halt
 */
#define G_LOG_DOMAIN "test-chipset-kvm"
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "devices/chipset/i440fx.h"
#include "devices/chipset/piix3.h"
#include "devices/chipset/piix4-pm.h"
#include "vmm/machine.h"

#define ISA_BIOS_SIZE 0x20000
#define PAGE 4096

static const uint8_t guest_code[] = {
    0xba, 0xf8, 0x0c, 0x66, 0xb8, 0x00, 0x00, 0x00, 0x80, 0x66, 0xef, 0xba, 0xfc, 0x0c, 0x66, 0xed,
    0xba, 0x00, 0x05, 0x66, 0xef, 0xb8, 0x00, 0xf0, 0x8e, 0xd8, 0xc6, 0x06, 0x10, 0x00, 0x5a, 0x66,
    0x0f, 0xb6, 0x06, 0x10, 0x00, 0xba, 0x00, 0x05, 0x66, 0xef, 0xba, 0xf8, 0x0c, 0x66, 0xb8, 0x58,
    0x00, 0x00, 0x80, 0x66, 0xef, 0xba, 0xfd, 0x0c, 0xb0, 0x30, 0xee, 0xc6, 0x06, 0x10, 0x00, 0x5a,
    0x66, 0x0f, 0xb6, 0x06, 0x10, 0x00, 0xba, 0x00, 0x05, 0x66, 0xef, 0xba, 0xfd, 0x0c, 0xb0, 0x10,
    0xee, 0xc6, 0x06, 0x10, 0x00, 0xa5, 0x66, 0x0f, 0xb6, 0x06, 0x10, 0x00, 0xba, 0x00, 0x05, 0x66,
    0xef, 0xba, 0xfd, 0x0c, 0xb0, 0x00, 0xee, 0x66, 0x0f, 0xb6, 0x06, 0x10, 0x00, 0xba, 0x00, 0x05,
    0x66, 0xef, 0xba, 0xf8, 0x0c, 0x66, 0xb8, 0x40, 0x0b, 0x00, 0x80, 0x66, 0xef, 0xba, 0xfc, 0x0c,
    0x66, 0xb8, 0x01, 0x06, 0x00, 0x00, 0x66, 0xef, 0xba, 0xf8, 0x0c, 0x66, 0xb8, 0x80, 0x0b, 0x00,
    0x80, 0x66, 0xef, 0xba, 0xfc, 0x0c, 0xb0, 0x01, 0xee, 0xba, 0x04, 0x06, 0xed, 0x66, 0x0f, 0xb7,
    0xc0, 0xba, 0x00, 0x05, 0x66, 0xef, 0xba, 0x04, 0x06, 0xb8, 0x00, 0x20, 0xef, 0xf4, 0xeb, 0xfd,
};

/* A port the guest reports results to. */
typedef struct {
    GMutex lock;
    GArray *values; /* uint32_t */
} Report;

static void report_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Report *r = opaque;
    uint32_t v = (uint32_t)value;

    g_array_append_val(r->values, v);
}

static const VmmIoOps report_ops = {
    .write = report_write,
    .min_access = 1,
    .max_access = 4,
};

static bool kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static gboolean timeout_cb(gpointer data)
{
    vmm_machine_request(data, VMM_REQ_ERROR, "test timeout");
    return G_SOURCE_REMOVE;
}

static void test_pam_and_s5(void)
{
    g_autoptr(GError) err = NULL;
    VmmMachine *m;
    uint8_t *ram, *rom, *bios;
    VmmDevice *devs[3];
    Report rep;
    GSource *timeout;
    VmmRequest why;
    uint32_t expect[6];

    if (!kvm_usable()) {
        g_test_skip("/dev/kvm is missing or not accessible: cannot run guest code here");
        return;
    }
    m = vmm_machine_new(NULL, &err);
    g_assert_no_error(err);
    g_assert_true(vmm_guest_mem_alloc_ram(m->mem, 2 << 20, &err));
    ram = vmm_guest_mem_ram_ptr(m->mem, 0, 2 << 20);
    g_assert_nonnull(ram);
    g_assert_cmpint(vmm_guest_mem_add_region(m->mem, "ram-low", 0, 0xa0000, ram, 0), >=, 0);

    /* Top page of the "flash" with the guest code and the reset vector jump (jmp 0xF000). */
    rom = g_aligned_alloc(1, PAGE, PAGE);
    memset(rom, 0xf4, PAGE);
    memcpy(rom, guest_code, sizeof(guest_code));
    rom[0xff0] = 0xe9;
    rom[0xff1] = 0x0d;
    rom[0xff2] = 0xf0;
    g_assert_cmpint(
        vmm_guest_mem_add_region(m->mem, "rom", 0xfffff000u, PAGE, rom, VMM_MEM_READONLY), >=, 0);

    bios = g_aligned_alloc(1, ISA_BIOS_SIZE, PAGE);
    for (unsigned i = 0; i < ISA_BIOS_SIZE; i++) {
        bios[i] = (uint8_t)(i ^ (i >> 8) ^ 0x3c);
    }

    devs[0] = vmm_device_create(m, &i440fx_type, "i440fx", NULL, &err);
    g_assert_no_error(err);
    devs[1] = vmm_device_create(m, &piix3_type, "piix3", NULL, &err);
    g_assert_no_error(err);
    devs[2] = vmm_device_create(m, &piix4_pm_type, "piix4-pm", NULL, &err);
    g_assert_no_error(err);
    i440fx_set_isa_bios((I440fxState *)devs[0], bios, ISA_BIOS_SIZE);
    for (unsigned i = 0; i < G_N_ELEMENTS(devs); i++) {
        vmm_device_reset(devs[i]);
    }

    g_mutex_init(&rep.lock);
    rep.values = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    g_assert_cmpint(vmm_bus_register(m->pio, "report", 0x500, 4, &report_ops, &rep, &rep.lock), >,
                    0);

    g_assert_true(vmm_machine_create_vcpus(m, 1, &err));
    g_assert_no_error(err);
    g_assert_true(vmm_machine_start(m, &err));
    g_assert_no_error(err);
    timeout = g_timeout_source_new_seconds(60);
    g_source_set_callback(timeout, timeout_cb, m, NULL);
    g_source_attach(timeout, m->ctx);
    why = vmm_machine_run(m);
    g_source_destroy(timeout);
    g_source_unref(timeout);

    g_test_message("stop: %s (%s), %u reports", vmm_request_name(why), m->stop_detail,
                   rep.values->len);
    g_assert_cmpint(why, ==, VMM_REQ_POWEROFF);
    g_assert_cmpstr(m->stop_detail, ==, "ACPI S5");
    expect[0] = 0x12378086u;
    expect[1] = bios[0x10010];
    expect[2] = 0x5a;
    expect[3] = 0x5a;
    expect[4] = bios[0x10010];
    expect[5] = 0x0001;
    g_assert_cmpuint(rep.values->len, ==, G_N_ELEMENTS(expect));
    for (unsigned i = 0; i < G_N_ELEMENTS(expect); i++) {
        g_assert_cmphex(g_array_index(rep.values, uint32_t, i), ==, expect[i]);
    }
    /* The RAM under the shadow area kept the value written while it was read-write. */
    g_assert_cmphex(ram[0xf0010], ==, 0x5a);

    vmm_machine_free(m);
    g_array_unref(rep.values);
    g_mutex_clear(&rep.lock);
    g_aligned_free(rom);
    g_aligned_free(bios);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/chipset/kvm/pam-and-s5", test_pam_and_s5);
    return g_test_run();
}
