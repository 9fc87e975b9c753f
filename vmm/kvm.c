/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-kvm"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "kvm.h"

#define KVM_ERROR (vmm_kvm_error_quark())

G_DEFINE_QUARK(vmm-kvm-error-quark, vmm_kvm_error)

#define MAX_CPUID_ENTRIES 256

struct VmmKvm {
    int sys_fd;
    int vm_fd;
    int mmap_size;
    unsigned max_vcpus;
    unsigned nr_vcpus;
    bool pvm;
    struct kvm_cpuid2 *cpuid; /* Owned */

    /* Power-on state of the in-kernel devices, restored on reset. */
    bool saved;
    struct kvm_irqchip pic_master, pic_slave, ioapic;
    struct kvm_pit_state2 pit;
};

static const char *kvm_device_path(void)
{
    const char *p = g_getenv("BOXWOOD_KVM_DEVICE");
    return (p != NULL && *p != '\0') ? p : "/dev/kvm";
}

/* Builds the "what to do" part of an open() failure on the KVM device. */
static void set_open_error(GError **error, const char *path, int err)
{
    struct stat st;

    if (err == ENOENT || err == ENODEV || err == ENXIO) {
        g_set_error(error, KVM_ERROR, 1,
                    "%s does not exist: hardware virtualization is not available. Enable "
                    "VT-x/AMD-V (SVM) in the computer's firmware settings and load the KVM "
                    "module (sudo modprobe kvm_intel, or kvm_amd)",
                    path);
        return;
    }
    if ((err == EACCES || err == EPERM) && stat(path, &st) == 0) {
        struct group *gr = getgrgid(st.st_gid);
        const char *group = gr ? gr->gr_name : NULL;
        if (group != NULL && strcmp(group, "root") != 0) {
            g_set_error(error, KVM_ERROR, 2,
                        "permission denied opening %s (mode %03o, group \"%s\"): add your user "
                        "to the \"%s\" group (sudo usermod -aG %s $USER), then log out and back "
                        "in",
                        path, st.st_mode & 0777, group, group, group);
        } else {
            g_set_error(error, KVM_ERROR, 2,
                        "permission denied opening %s (mode %03o, owned by root): ask your "
                        "administrator to give your user read/write access, e.g. through the "
                        "\"kvm\" group and a udev rule",
                        path, st.st_mode & 0777);
        }
        return;
    }
    g_set_error(error, KVM_ERROR, 3, "cannot open %s: %s", path, g_strerror(err));
}

static int check_ext(int fd, long cap)
{
    int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

VmmKvm *vmm_kvm_open(GError **error)
{
    static const struct {
        long cap;
        const char *name;
    } required[] = {
        {KVM_CAP_IRQCHIP, "IRQCHIP"},
        {KVM_CAP_PIT2, "PIT2"},
        {KVM_CAP_USER_MEMORY, "USER_MEMORY"},
        {KVM_CAP_READONLY_MEM, "READONLY_MEM"},
        {KVM_CAP_IRQFD, "IRQFD"},
        {KVM_CAP_IOEVENTFD, "IOEVENTFD"},
        {KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING"},
        {KVM_CAP_SIGNAL_MSI, "SIGNAL_MSI"},
        {KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT"},
        {KVM_CAP_SET_IDENTITY_MAP_ADDR, "SET_IDENTITY_MAP_ADDR"},
        {KVM_CAP_EXT_CPUID, "EXT_CPUID"},
    };
    const char *path = kvm_device_path();
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        set_open_error(error, path, errno);
        return NULL;
    }
    int api = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        g_set_error(error, KVM_ERROR, 4, "%s speaks KVM API %d, Boxwood needs %d", path, api,
                    KVM_API_VERSION);
        close(fd);
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(required); i++) {
        if (check_ext(fd, required[i].cap) <= 0) {
            g_set_error(error, KVM_ERROR, 5,
                        "the host's KVM lacks capability KVM_CAP_%s, which Boxwood needs; a newer "
                        "kernel may help",
                        required[i].name);
            close(fd);
            return NULL;
        }
    }

    VmmKvm *kvm = g_new0(VmmKvm, 1);
    kvm->sys_fd = fd;
    kvm->vm_fd = -1;
    kvm->mmap_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    kvm->nr_vcpus = check_ext(fd, KVM_CAP_NR_VCPUS);
    kvm->max_vcpus = check_ext(fd, KVM_CAP_MAX_VCPUS);
    if (kvm->nr_vcpus == 0) {
        kvm->nr_vcpus = 4;
    }
    if (kvm->max_vcpus == 0) {
        kvm->max_vcpus = kvm->nr_vcpus;
    }
    kvm->pvm = g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_IS_DIR);

    kvm->cpuid = g_malloc0(sizeof(struct kvm_cpuid2) +
                           MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2));
    kvm->cpuid->nent = MAX_CPUID_ENTRIES;
    if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, kvm->cpuid) < 0) {
        g_set_error(error, KVM_ERROR, 6, "KVM_GET_SUPPORTED_CPUID: %s", g_strerror(errno));
        vmm_kvm_free(kvm);
        return NULL;
    }

    do {
        kvm->vm_fd = ioctl(fd, KVM_CREATE_VM, 0);
    } while (kvm->vm_fd < 0 && errno == EINTR);
    if (kvm->vm_fd < 0) {
        g_set_error(error, KVM_ERROR, 7, "cannot create a virtual machine: KVM_CREATE_VM: %s",
                    g_strerror(errno));
        vmm_kvm_free(kvm);
        return NULL;
    }
    if (kvm->pvm) {
        g_info("host KVM is kvm_pvm (software nested virtualization): kernel-mode guest code "
               "runs emulated and slowly, see PLATFORM.md §0");
    }
    return kvm;
}

void vmm_kvm_free(VmmKvm *kvm)
{
    if (kvm == NULL) {
        return;
    }
    if (kvm->vm_fd >= 0) {
        close(kvm->vm_fd);
    }
    if (kvm->sys_fd >= 0) {
        close(kvm->sys_fd);
    }
    g_free(kvm->cpuid);
    g_free(kvm);
}

int vmm_kvm_vm_fd(VmmKvm *kvm)
{
    return kvm->vm_fd;
}

int vmm_kvm_sys_fd(VmmKvm *kvm)
{
    return kvm->sys_fd;
}

unsigned vmm_kvm_max_vcpus(VmmKvm *kvm)
{
    return kvm->max_vcpus;
}

unsigned vmm_kvm_recommended_vcpus(VmmKvm *kvm)
{
    return kvm->nr_vcpus;
}

bool vmm_kvm_is_pvm(VmmKvm *kvm)
{
    return kvm->pvm;
}

int vmm_kvm_vcpu_mmap_size(VmmKvm *kvm)
{
    return kvm->mmap_size;
}

const struct kvm_cpuid2 *vmm_kvm_supported_cpuid(VmmKvm *kvm)
{
    return kvm->cpuid;
}

/*
 * GSI routing like the PC's wiring that SeaBIOS and our MADT describe: ISA IRQ 0
 * (the PIT) reaches IOAPIC pin 2, IRQ 2 is the PIC cascade, ISA IRQs 1 and 3..15
 * go to both PIC and IOAPIC, GSIs 16..23 to the IOAPIC only.
 */
static bool setup_gsi_routing(VmmKvm *kvm, GError **error)
{
    g_autofree struct kvm_irq_routing *r =
        g_malloc0(sizeof(*r) + 64 * sizeof(struct kvm_irq_routing_entry));
    unsigned n = 0;

    for (unsigned gsi = 0; gsi < 24; gsi++) {
        if (gsi < 16 && gsi != 2) {
            r->entries[n++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                              .pin = gsi % 8},
            };
        }
        if (gsi != 2) {
            r->entries[n++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi == 0 ? 2 : gsi},
            };
        }
    }
    r->nr = n;
    if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0) {
        g_set_error(error, KVM_ERROR, 8, "KVM_SET_GSI_ROUTING: %s", g_strerror(errno));
        return false;
    }
    return true;
}

bool vmm_kvm_setup_platform(VmmKvm *kvm, GError **error)
{
    uint64_t ident = VMM_KVM_IDENTITY_MAP_ADDR;

    if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0) {
        g_set_error(error, KVM_ERROR, 9, "KVM_SET_IDENTITY_MAP_ADDR: %s", g_strerror(errno));
        return false;
    }
    if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VMM_KVM_TSS_ADDR) < 0) {
        g_set_error(error, KVM_ERROR, 9, "KVM_SET_TSS_ADDR: %s", g_strerror(errno));
        return false;
    }
    if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        g_set_error(error, KVM_ERROR, 10, "KVM_CREATE_IRQCHIP: %s", g_strerror(errno));
        return false;
    }
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        g_set_error(error, KVM_ERROR, 11, "KVM_CREATE_PIT2: %s", g_strerror(errno));
        return false;
    }
    return setup_gsi_routing(kvm, error);
}

void vmm_kvm_save_platform_state(VmmKvm *kvm)
{
    kvm->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    kvm->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    kvm->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    kvm->saved = ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &kvm->pic_master) == 0 &&
                 ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &kvm->pic_slave) == 0 &&
                 ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &kvm->ioapic) == 0 &&
                 ioctl(kvm->vm_fd, KVM_GET_PIT2, &kvm->pit) == 0;
    if (!kvm->saved) {
        g_warning("cannot save the in-kernel irqchip state: %s; resets will keep it",
                  g_strerror(errno));
    }
}

void vmm_kvm_restore_platform_state(VmmKvm *kvm)
{
    if (!kvm->saved) {
        return;
    }
    if (ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &kvm->pic_master) < 0 ||
        ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &kvm->pic_slave) < 0 ||
        ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &kvm->ioapic) < 0 ||
        ioctl(kvm->vm_fd, KVM_SET_PIT2, &kvm->pit) < 0) {
        g_warning("cannot reset the in-kernel irqchip: %s", g_strerror(errno));
    }
}

static int kvm_region_add(void *opaque, const VmmMemRegion *r)
{
    VmmKvm *kvm = opaque;
    struct kvm_userspace_memory_region slot = {
        .slot = (uint32_t)r->id,
        .flags = (r->flags & VMM_MEM_READONLY) ? KVM_MEM_READONLY : 0,
        .guest_phys_addr = r->gpa,
        .memory_size = r->size,
        .userspace_addr = (uintptr_t)r->host,
    };
    if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
        int e = errno;
        g_warning("memslot %d (%s at 0x%" G_GINT64_MODIFIER "x, %" G_GUINT64_FORMAT
                  " KiB): %s",
                  r->id, r->name, r->gpa, r->size >> 10, g_strerror(e));
        return -e;
    }
    return 0;
}

static void kvm_region_del(void *opaque, const VmmMemRegion *r)
{
    VmmKvm *kvm = opaque;
    struct kvm_userspace_memory_region slot = {
        .slot = (uint32_t)r->id,
        .guest_phys_addr = r->gpa,
        .memory_size = 0,
    };
    if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
        g_warning("cannot remove memslot %d (%s): %s", r->id, r->name, g_strerror(errno));
    }
}

const VmmMemListener vmm_kvm_mem_listener = {
    .region_add = kvm_region_add,
    .region_del = kvm_region_del,
};

int vmm_kvm_irq_line(VmmKvm *kvm, unsigned gsi, bool level)
{
    struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};
    return ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

int vmm_kvm_signal_msi(VmmKvm *kvm, uint64_t addr, uint32_t data)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr,
        .address_hi = (uint32_t)(addr >> 32),
        .data = data,
    };
    return ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

int vmm_kvm_irqfd(VmmKvm *kvm, int fd, unsigned gsi, int resample_fd, bool assign)
{
    struct kvm_irqfd req = {
        .fd = (uint32_t)fd,
        .gsi = gsi,
        .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
    };
    if (assign && resample_fd >= 0) {
        req.flags |= KVM_IRQFD_FLAG_RESAMPLE;
        req.resamplefd = (uint32_t)resample_fd;
    }
    return ioctl(kvm->vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

int vmm_kvm_ioeventfd(VmmKvm *kvm, int fd, uint64_t addr, unsigned len, bool pio,
                      bool datamatch, uint64_t data, bool assign)
{
    struct kvm_ioeventfd req = {
        .datamatch = data,
        .addr = addr,
        .len = len,
        .fd = fd,
    };
    if (pio) {
        req.flags |= KVM_IOEVENTFD_FLAG_PIO;
    }
    if (datamatch) {
        req.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    }
    if (!assign) {
        req.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    }
    return ioctl(kvm->vm_fd, KVM_IOEVENTFD, &req) < 0 ? -errno : 0;
}
