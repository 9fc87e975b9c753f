/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "board"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <gio/gio.h>

#include "devices/acpi/acpi-build.h"
#include "devices/board/linux-boot.h"
#include "devices/board/pc.h"
#include "devices/chipset/i440fx.h"
#include "devices/device-list.h"
#include "devices/firmware/fw-cfg.h"
#include "devices/rtc/mc146818.h"
#include "vmm/kvm.h"
#include "vmm/pci.h"
#include "vmm/vcpu.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define FOUR_GIB (4ull << 30)
#define ISA_BIOS_SIZE 0x20000 /* the last 128 KiB of the image appear at 0xE0000 */

enum { E820_RAM = 1, E820_RESERVED = 2 };

typedef struct {
    uint8_t *image;   /* Owned: mmap'd copy of the firmware file */
    size_t size;
    /* Direct kernel boot (Kernel set in the config); NULL otherwise. */
    LinuxBoot *linux_boot; /* Owned */
    AcpiBlobs acpi;        /* Owned: the tables direct boot places itself */
    VmmMachine *m;         /* Borrowed */
    uint64_t ram_size;
} PcFirmware;

/*
 * Kernel arguments that hide from a Linux guest the CPU features kvm_pvm cannot execute in
 * guest kernel mode. The VMM's CPUID table cannot do it there: leaves 1, 7 and 0xd are
 * forced to host values for CPL0 (docs/kvm-pvm.md, research/pvm-guests.md "Blockers").
 */
static const char pvm_linux_args[] =
    "clearcpuid=xsave,pclmulqdq,ssse3,cx16,sse4_1,sse4_2,popcnt,aes,bmi1,bmi2,adx,clwb,sha_ni,"
    "gfni,smap,erms,fsrm nofsgsbase";

uint64_t pc_ram_below_4g(uint64_t ram_size)
{
    /* Like QEMU's pc machine: keep the PCI hole at 3.5 GiB, or at 3 GiB for big guests. */
    uint64_t lowmem = ram_size >= 0xe0000000ull ? 0xc0000000ull : 0xe0000000ull;
    return MIN(ram_size, lowmem);
}

static void e820_put(uint8_t *p, uint64_t addr, uint64_t len, uint32_t type)
{
    uint64_t a = GUINT64_TO_LE(addr), l = GUINT64_TO_LE(len);
    uint32_t t = GUINT32_TO_LE(type);
    memcpy(p, &a, 8);
    memcpy(p + 8, &l, 8);
    memcpy(p + 16, &t, 4);
}

unsigned pc_build_e820(uint64_t ram_size, uint8_t *out, unsigned max_entries)
{
    uint64_t below = pc_ram_below_4g(ram_size);
    unsigned n = 0;

    /* SeaBIOS carves the 640 KiB hole and its own areas out of the first entry itself. */
    if (n < max_entries) {
        e820_put(out + 20 * n++, 0, below, E820_RAM);
    }
    if (n < max_entries) {
        e820_put(out + 20 * n++, VMM_KVM_IDENTITY_MAP_ADDR, VMM_KVM_RESERVED_SIZE, E820_RESERVED);
    }
    if (ram_size > below && n < max_entries) {
        e820_put(out + 20 * n++, FOUR_GIB, ram_size - below, E820_RAM);
    }
    return n;
}

static void pc_firmware_free(gpointer p)
{
    PcFirmware *fw = p;
    linux_boot_free(fw->linux_boot);
    acpi_blobs_clear(&fw->acpi);
    if (fw->image != NULL) {
        munmap(fw->image, fw->size);
    }
    g_free(fw);
}

static bool map_ram(VmmMachine *m, uint64_t ram_size, GError **error)
{
    uint64_t below = pc_ram_below_4g(ram_size);
    uint8_t *ram;
    int ret;

    if (!vmm_guest_mem_alloc_ram(m->mem, ram_size, error)) {
        return false;
    }
    ram = vmm_guest_mem_ram_ptr(m->mem, 0, ram_size);
    /* 0xA0000-0xBFFFF is the VGA window, 0xC0000-0xFFFFF belongs to the PAM (i440fx). */
    ret = vmm_guest_mem_add_region(m->mem, "ram-conventional", 0, 0xa0000, ram, 0);
    if (ret >= 0 && below > MIB) {
        ret = vmm_guest_mem_add_region(m->mem, "ram-low", MIB, below - MIB, ram + MIB, 0);
    }
    if (ret >= 0 && ram_size > below) {
        ret = vmm_guest_mem_add_region(m->mem, "ram-high", FOUR_GIB, ram_size - below,
                                       ram + below, 0);
    }
    if (ret < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-ret),
                    "cannot map guest RAM into the VM: %s", g_strerror(-ret));
        return false;
    }
    return true;
}

static bool load_firmware(VmmMachine *m, const char *path, PcFirmware *fw, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, error)) {
        g_prefix_error(error, "cannot read the firmware image: ");
        return false;
    }
    if (len < ISA_BIOS_SIZE || len > PC_MAX_FIRMWARE || (len & 0xffff) != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "%s is not a BIOS image: its size (%zu bytes) must be a multiple of 64 KiB "
                    "between 128 KiB and 16 MiB",
                    path, (size_t)len);
        return false;
    }
    /* Own page-aligned copy: it backs a read-only memslot for the whole VM's life. */
    fw->image = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fw->image == MAP_FAILED) {
        fw->image = NULL;
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "cannot allocate firmware memory");
        return false;
    }
    memcpy(fw->image, data, len);
    fw->size = len;
    int ret = vmm_guest_mem_add_region(m->mem, "bios", FOUR_GIB - len, len, fw->image,
                                       VMM_MEM_READONLY);
    if (ret < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-ret),
                    "cannot map the firmware below 4 GiB: %s", g_strerror(-ret));
        return false;
    }
    return true;
}

/* Creates device @id of @type_name with properties from Devices/<id> plus board defaults. */
static VmmDevice *board_device(VmmMachine *m, VmmCfgNode *cfg, const char *type_name,
                               const char *id, GError **error)
{
    const VmmDeviceType *type = devices_find_type(type_name);
    if (type == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no device model named %s",
                    type_name);
        return NULL;
    }
    g_autofree char *path = g_strdup_printf("Devices/%s", id);
    VmmCfgNode *node = vmm_cfg_ensure_child(cfg, path);
    VmmDevice *dev = vmm_device_create(m, type, id, node, error);
    if (dev == NULL) {
        g_prefix_error(error, "cannot create %s: ", id);
    }
    return dev;
}

static void set_default_int(VmmCfgNode *cfg, const char *path, const char *key, uint64_t v)
{
    VmmCfgNode *n = vmm_cfg_ensure_child(cfg, path);
    if (!vmm_cfg_has(n, key)) {
        vmm_cfg_set_int(n, key, v);
    }
}

/* CMOS bytes SeaBIOS reads (platform-spec.md §2.7). */
static void fill_cmos(RtcState *rtc, uint64_t ram_size, unsigned n_cpus)
{
    uint64_t below = pc_ram_below_4g(ram_size);
    uint64_t ext_kib = below > MIB ? (below - MIB) >> 10 : 0;
    uint64_t above16m = below > 16 * MIB ? (below - 16 * MIB) >> 16 : 0;
    uint64_t high = ram_size > below ? (ram_size - below) >> 16 : 0;

    rtc_cmos_set(rtc, 0x15, 640 & 0xff); /* base memory in KiB */
    rtc_cmos_set(rtc, 0x16, 640 >> 8);
    ext_kib = MIN(ext_kib, 0xffffu);
    rtc_cmos_set(rtc, 0x17, ext_kib & 0xff);
    rtc_cmos_set(rtc, 0x18, ext_kib >> 8);
    rtc_cmos_set(rtc, 0x30, ext_kib & 0xff);
    rtc_cmos_set(rtc, 0x31, ext_kib >> 8);
    above16m = MIN(above16m, 0xffffu);
    rtc_cmos_set(rtc, 0x34, above16m & 0xff);
    rtc_cmos_set(rtc, 0x35, above16m >> 8);
    rtc_cmos_set(rtc, 0x5b, high & 0xff);
    rtc_cmos_set(rtc, 0x5c, (high >> 8) & 0xff);
    rtc_cmos_set(rtc, 0x5d, (high >> 16) & 0xff);
    rtc_cmos_set(rtc, 0x5f, (uint8_t)(n_cpus - 1));
    rtc_cmos_set(rtc, 0x14, 0x06);        /* equipment: FPU, PS/2 mouse */
    rtc_cmos_set(rtc, 0x38, 0x01);        /* no floppy boot-signature check */
    rtc_cmos_set(rtc, 0x3d, 0x32);        /* boot order: CD-ROM, then hard disk */
}

static bool add_option_roms(FwCfgState *fw, VmmCfgNode *cfg, GError **error)
{
    VmmCfgNode *roms = vmm_cfg_get_child(cfg, "OptionRoms");
    for (VmmCfgNode *r = roms ? vmm_cfg_first_child(roms) : NULL; r != NULL;
         r = vmm_cfg_next_sibling(r)) {
        const char *path = vmm_cfg_string_or(r, "Path", NULL);
        g_autofree char *data = NULL;
        gsize len = 0;
        if (path == NULL) {
            continue;
        }
        if (!g_file_get_contents(path, &data, &len, error)) {
            g_prefix_error(error, "cannot read option ROM: ");
            return false;
        }
        if (len < 512 || len > 0x40000 || (uint8_t)data[0] != 0x55 || (uint8_t)data[1] != 0xaa) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "%s is not an option ROM (it must start with 55 AA and be 512 bytes "
                        "to 256 KiB long)",
                        path);
            return false;
        }
        g_autofree char *base = g_path_get_basename(path);
        g_autofree char *name = g_strdup_printf("genroms/%s", base);
        if (fw_cfg_add_file(fw, name, data, len) < 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot add %s to fw_cfg", name);
            return false;
        }
    }
    return true;
}

/*
 * Devices beyond the fixed platform (storage controllers, NICs ...) come from
 * Attach/<id>/Type and Attach/<id>/Config, created in order after the platform.
 */
static bool attach_extra_devices(VmmMachine *m, VmmCfgNode *cfg, GError **error)
{
    VmmCfgNode *attach = vmm_cfg_get_child(cfg, "Attach");
    for (VmmCfgNode *n = attach ? vmm_cfg_first_child(attach) : NULL; n != NULL;
         n = vmm_cfg_next_sibling(n)) {
        const char *id = vmm_cfg_node_name(n);
        const char *type_name = vmm_cfg_string_or(n, "Type", NULL);
        const VmmDeviceType *type = type_name ? devices_find_type(type_name) : NULL;
        if (type == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        "device %s: unknown device type \"%s\"", id,
                        type_name ? type_name : "(none)");
            return false;
        }
        if (vmm_device_create(m, type, id, vmm_cfg_ensure_child(n, "Config"), error) == NULL) {
            g_prefix_error(error, "cannot create %s: ", id);
            return false;
        }
    }
    return true;
}

/*
 * What firmware would have done before starting the kernel: PM I/O block at 0x600 and
 * enabled (PIIX4 PMBA/PMREGMISC), 0xE0000-0xFFFFF as read/write RAM (i440FX PAM5/6 and
 * the high nibble of PAM0) so the RSDP can live there; then kernel, initrd and tables.
 */
static bool direct_boot_load(PcFirmware *fw, GError **error)
{
    VmmMachine *m = fw->m;
    const uint16_t host_bridge = 0x00, pm = (1 << 3) | 3;

    if (m->pci_bus != NULL) {
        vmm_pci_bus_config_write(m->pci_bus, pm, 0x40, 4, 0x600 | 1);
        vmm_pci_bus_config_write(m->pci_bus, pm, 0x80, 1, 0x01);
        vmm_pci_bus_config_write(m->pci_bus, host_bridge, 0x59, 1, 0x30);
        vmm_pci_bus_config_write(m->pci_bus, host_bridge, 0x5e, 1, 0x33);
        vmm_pci_bus_config_write(m->pci_bus, host_bridge, 0x5f, 1, 0x33);
    }
    return linux_boot_load(fw->linux_boot, m->mem, fw->ram_size, pc_ram_below_4g(fw->ram_size),
                           &fw->acpi, error);
}

static void direct_boot_reset(void *opaque)
{
    g_autoptr(GError) error = NULL;
    PcFirmware *fw = opaque;
    if (!direct_boot_load(fw, &error)) {
        /* It loaded at start-up; only a guest-made memory map change could break it. */
        g_warning("direct kernel boot after reset: %s", error->message);
    }
}

/*
 * Kernels that need BIOS services (real-mode-only bzImages such as iPXE's ipxe.lkrn) go to
 * the firmware through the fw_cfg kernel keys; an option ROM loads and starts them.
 */
static bool firmware_kernel_setup(FwCfgState *fwc, const char *kernel, const char *initrd,
                                  const char *append, uint64_t ram_size, GError **error)
{
    g_autofree char *k = NULL, *i = NULL;
    gsize klen = 0, ilen = 0;
    LinuxRealModeBoot b;

    if (!g_file_get_contents(kernel, &k, &klen, error) ||
        (initrd != NULL && !g_file_get_contents(initrd, &i, &ilen, error))) {
        return false;
    }
    if (!linux_boot_realmode_prepare((uint8_t *)k, klen, ilen, append, pc_ram_below_4g(ram_size),
                                     &b, error)) {
        g_prefix_error(error, "%s: ", kernel);
        return false;
    }
    fw_cfg_add_i32(fwc, FW_CFG_SETUP_ADDR, b.setup_addr);
    fw_cfg_add_i32(fwc, FW_CFG_SETUP_SIZE, (uint32_t)b.setup_len);
    fw_cfg_add_bytes(fwc, FW_CFG_SETUP_DATA, b.setup, b.setup_len);
    fw_cfg_add_i32(fwc, FW_CFG_KERNEL_ADDR, b.kernel_addr);
    fw_cfg_add_i32(fwc, FW_CFG_KERNEL_SIZE, (uint32_t)b.kernel_len);
    fw_cfg_add_bytes(fwc, FW_CFG_KERNEL_DATA, b.kernel, b.kernel_len);
    fw_cfg_add_i32(fwc, FW_CFG_INITRD_ADDR, b.initrd_addr);
    fw_cfg_add_i32(fwc, FW_CFG_INITRD_SIZE, (uint32_t)ilen);
    if (ilen > 0) {
        fw_cfg_add_bytes(fwc, FW_CFG_INITRD_DATA, i, ilen);
    }
    fw_cfg_add_i32(fwc, FW_CFG_CMDLINE_ADDR, b.cmdline_addr);
    fw_cfg_add_i32(fwc, FW_CFG_CMDLINE_SIZE, (uint32_t)strlen(append) + 1);
    fw_cfg_add_bytes(fwc, FW_CFG_CMDLINE_DATA, append, strlen(append) + 1);
    g_info("kernel %s handed to the firmware through fw_cfg (real-mode entry only)", kernel);
    linux_realmode_boot_clear(&b);
    return true;
}

static bool direct_boot_setup(VmmMachine *m, VmmCfgNode *cfg, PcFirmware *fw,
                              const AcpiPcConfig *acpi, GError **error)
{
    const char *kernel = vmm_cfg_string_or(cfg, "Kernel", NULL);
    const char *initrd = vmm_cfg_string_or(cfg, "Initrd", NULL);
    const char *append = vmm_cfg_string_or(cfg, "Append", "");
    g_autofree char *cmdline = NULL;

    fw->linux_boot = linux_boot_new_from_files(kernel, initrd, NULL, error);
    if (fw->linux_boot == NULL) {
        return false;
    }
    if (fw->linux_boot->protocol != LINUX_BOOT_MULTIBOOT && m->kvm != NULL &&
        vmm_kvm_is_pvm(m->kvm) && vmm_cfg_int_or(cfg, "PvmQuirks", 1) != 0) {
        cmdline = g_strdup_printf("%s%s%s", append, append[0] ? " " : "", pvm_linux_args);
        g_info("kvm_pvm: kernel arguments added: %s", pvm_linux_args);
    } else {
        cmdline = g_strdup(append);
    }
    g_free(fw->linux_boot->cmdline);
    fw->linux_boot->cmdline = g_steal_pointer(&cmdline);
    if (!acpi_build_pc(acpi, &fw->acpi, error)) {
        return false;
    }
    fw->m = m;
    if (!direct_boot_load(fw, error)) {
        g_prefix_error(error, "%s: ", kernel);
        return false;
    }
    g_info("direct boot (%s): kernel at 0x%" G_GINT64_MODIFIER "x, initrd at 0x%" G_GINT64_MODIFIER
           "x, RSDP at 0x%" G_GINT64_MODIFIER "x, entry 0x%" G_GINT64_MODIFIER "x",
           linux_boot_protocol_name(fw->linux_boot->protocol), fw->linux_boot->kernel_addr,
           fw->linux_boot->initrd_addr, fw->linux_boot->rsdp_addr, fw->linux_boot->cpu.rip);
    vmm_machine_add_reset_hook(m, direct_boot_reset, fw);
    return true;
}

bool pc_board_setup_vcpus(VmmMachine *m, GError **error)
{
    PcFirmware *fw = m->board;
    if (fw == NULL || fw->linux_boot == NULL || m->n_vcpus == 0) {
        return true;
    }
    /* vCPU 0 starts at the kernel on every reset; the others wait for INIT/SIPI. */
    VmmVcpu *bsp = m->vcpus[0];
    linux_boot_cpu_to_kvm(&fw->linux_boot->cpu, &bsp->reset_regs, &bsp->reset_sregs);
    return true;
}

bool pc_board_build(VmmMachine *m, VmmCfgNode *cfg, GError **error)
{
    uint64_t ram_size = vmm_cfg_int_or(cfg, "RamSize", 512 * MIB);
    unsigned n_cpus = (unsigned)vmm_cfg_int_or(cfg, "NumCPUs", 1);
    const char *fw_path = vmm_cfg_string_or(cfg, "Firmware", PC_DEFAULT_FIRMWARE);
    bool nographic = vmm_cfg_int_or(cfg, "NoGraphic", 1) != 0;
    PcFirmware *fw = g_new0(PcFirmware, 1);
    VmmDevice *dev;

    if (ram_size < PC_MIN_RAM || ram_size > PC_MAX_RAM || (ram_size & (MIB - 1)) != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "guest RAM must be a whole number of MiB between %llu MiB and %llu GiB",
                    PC_MIN_RAM / MIB, PC_MAX_RAM / GIB);
        g_free(fw);
        return false;
    }
    if (n_cpus == 0 || n_cpus > ACPI_PC_MAX_CPUS) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "the number of vCPUs must be between 1 and %u", ACPI_PC_MAX_CPUS);
        g_free(fw);
        return false;
    }
    m->board = fw;
    m->board_free = pc_firmware_free;

    if (!map_ram(m, ram_size, error) || !load_firmware(m, fw_path, fw, error)) {
        return false;
    }

    /* Chipset first: the host bridge creates the PCI bus the others plug into. */
    dev = board_device(m, cfg, "i440fx", "i440fx", error);
    if (dev == NULL) {
        return false;
    }
    i440fx_set_isa_bios((I440fxState *)dev, fw->image + fw->size - ISA_BIOS_SIZE,
                        ISA_BIOS_SIZE);
    if (board_device(m, cfg, "piix3", "piix3", error) == NULL ||
        board_device(m, cfg, "piix4-pm", "piix4-pm", error) == NULL) {
        return false;
    }

    RtcState *rtc = rtc_from_device(board_device(m, cfg, "rtc", "rtc", error));
    if (rtc == NULL) {
        return false;
    }
    fill_cmos(rtc, ram_size, n_cpus);

    set_default_int(cfg, "Devices/serial0", "iobase", 0x3f8);
    set_default_int(cfg, "Devices/serial0", "irq", 4);
    set_default_int(cfg, "Devices/serial1", "iobase", 0x2f8);
    set_default_int(cfg, "Devices/serial1", "irq", 3);
    if (board_device(m, cfg, "serial16550", "serial0", error) == NULL ||
        board_device(m, cfg, "serial16550", "serial1", error) == NULL ||
        board_device(m, cfg, "debugcon", "debugcon", error) == NULL ||
        board_device(m, cfg, "testexit", "testexit", error) == NULL ||
        board_device(m, cfg, "i8042", "i8042", error) == NULL) {
        return false;
    }

    FwCfgState *fwc = fw_cfg_from_device(board_device(m, cfg, "fwcfg", "fwcfg", error));
    if (fwc == NULL) {
        return false;
    }
    uint8_t e820[20 * 4];
    unsigned n_e820 = pc_build_e820(ram_size, e820, 4);
    fw_cfg_add_i64(fwc, FW_CFG_RAM_SIZE, ram_size);
    fw_cfg_add_i16(fwc, FW_CFG_NOGRAPHIC, nographic ? 1 : 0);
    fw_cfg_add_i16(fwc, FW_CFG_NB_CPUS, (uint16_t)n_cpus);
    fw_cfg_add_i16(fwc, FW_CFG_MAX_CPUS, (uint16_t)n_cpus);
    fw_cfg_add_i16(fwc, FW_CFG_BOOT_MENU, vmm_cfg_int_or(cfg, "BootMenu", 0) ? 1 : 0);
    fw_cfg_add_i32(fwc, FW_CFG_IRQ0_OVERRIDE, 1);
    fw_cfg_add_file(fwc, "etc/e820", e820, 20 * n_e820);
    /*
     * SeaBIOS reads "bootorder" as OpenFirmware device paths, one a line; the paths
     * listed go first, in order, then the firmware's own order. The file is NUL-terminated
     * like QEMU's, and empty (no preference) when BootOrder is unset.
     */
    const char *boot_order = vmm_cfg_string_or(cfg, "BootOrder", "");
    if (boot_order[0] != '\0') {
        fw_cfg_add_file(fwc, "bootorder", boot_order, strlen(boot_order) + 1);
    } else {
        fw_cfg_add_file(fwc, "bootorder", "", 0);
    }
    if (nographic) {
        uint16_t port = GUINT16_TO_LE(0x3f8);
        fw_cfg_add_file(fwc, "etc/sercon-port", &port, sizeof(port));
    }
    if (!add_option_roms(fwc, cfg, error)) {
        return false;
    }

    if (!attach_extra_devices(m, cfg, error)) {
        return false;
    }

    AcpiPcConfig acpi;
    acpi_pc_config_init(&acpi, n_cpus);
    uint64_t below = pc_ram_below_4g(ram_size);
    /* SeaBIOS puts 32-bit BARs at 2/3/3.5 GiB depending on low RAM; the window covers it. */
    acpi.pci_mmio32_base = (uint32_t)(below <= 0x80000000ull   ? 0x80000000ull
                                      : below <= 0xc0000000ull ? 0xc0000000ull
                                                               : 0xe0000000ull);
    acpi.pci_mmio32_end = 0xfebfffff;
    if (!acpi_build_pc_fw_cfg(&acpi, fwc, error)) {
        return false;
    }
    fw->ram_size = ram_size;
    const char *kernel = vmm_cfg_string_or(cfg, "Kernel", NULL);
    if (kernel != NULL) {
        g_autofree char *head = NULL;
        gsize head_len = 0;
        if (!g_file_get_contents(kernel, &head, &head_len, error)) {
            g_prefix_error(error, "cannot read the kernel: ");
            return false;
        }
        if (linux_boot_is_realmode_only((uint8_t *)head, head_len)) {
            return firmware_kernel_setup(fwc, kernel, vmm_cfg_string_or(cfg, "Initrd", NULL),
                                         vmm_cfg_string_or(cfg, "Append", ""), ram_size, error);
        }
        if (!direct_boot_setup(m, cfg, fw, &acpi, error)) {
            return false;
        }
    }
    return true;
}
