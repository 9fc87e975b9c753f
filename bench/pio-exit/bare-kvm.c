/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The floor for a port-I/O exit: a minimal KVM_RUN loop with one real-mode vCPU running
 *
 *     mov ecx, N / mov dx, 0x80 / 1: out dx, al / dec ecx / jnz 1b / hlt
 *
 * (the loop of pio-loop.asm) and nothing else in user space. Prints ns and TSC cycles
 * per exit. `bare-kvm --tsc-mhz` prints the TSC rate so guest-side rdtsc counts can be
 * turned into time.
 */
#define G_LOG_DOMAIN "bare-kvm"
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define DEFAULT_EXITS 200000u
#define GUEST_MEM_SIZE 0x10000
#define CODE_ADDR 0x1000
#define BENCH_PORT 0x80
#define BENCH_DONE_PORT 0x81

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double tsc_mhz(void)
{
    int64_t t0 = now_ns();
    uint64_t c0 = __rdtsc();
    struct timespec d = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};

    nanosleep(&d, NULL);
    uint64_t c1 = __rdtsc();
    int64_t t1 = now_ns();
    return (double)(c1 - c0) * 1000.0 / (double)(t1 - t0);
}

static void die(const char *what)
{
    fprintf(stderr, "bare-kvm: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    unsigned n = DEFAULT_EXITS;
    bool no_irqchip = false;

    if (argc > 1 && strcmp(argv[1], "--no-irqchip") == 0) {
        no_irqchip = true;
        argc--;
        argv++;
    }
    if (argc > 1 && strcmp(argv[1], "--tsc-mhz") == 0) {
        printf("%.1f\n", tsc_mhz());
        return 0;
    }
    if (argc > 1) {
        n = (unsigned)strtoul(argv[1], NULL, 0);
        if (n == 0) {
            fprintf(stderr, "usage: bare-kvm [--no-irqchip] [EXITS] | --tsc-mhz\n");
            return 2;
        }
    }

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        die("/dev/kvm");
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        die("KVM_CREATE_VM");
    }
    /* Needed for real mode on VMX without unrestricted guest; same address as the VMM. */
    if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfeffd000ul) < 0) {
        die("KVM_SET_TSS_ADDR");
    }
    /*
     * The same in-kernel platform a PC VMM has (PIC/IOAPIC/LAPIC, PIT): it changes what
     * every guest entry costs, so the floor includes it. --no-irqchip measures without.
     */
    if (!no_irqchip) {
        struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
        if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
            die("KVM_CREATE_IRQCHIP");
        }
        if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0) {
            die("KVM_CREATE_PIT2");
        }
    }

    uint8_t *mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        die("mmap");
    }
    const uint8_t code[] = {
        0x66, 0xb9,       (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24),
        0xba, BENCH_PORT, 0x00, /* mov dx, 0x80 */
        0xee,                   /* 1: out dx, al */
        0x66, 0x49,             /* dec ecx */
        0x75, 0xfb,             /* jnz 1b */
        0xe6, BENCH_DONE_PORT,  /* out 0x81, al: done (hlt never exits with an irqchip) */
        0xf4,                   /* hlt */
    };
    memcpy(mem + CODE_ADDR, code, sizeof(code));

    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = GUEST_MEM_SIZE,
        .userspace_addr = (uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        die("KVM_SET_USER_MEMORY_REGION");
    }

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) {
        die("KVM_CREATE_VCPU");
    }
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < 0) {
        die("KVM_GET_VCPU_MMAP_SIZE");
    }
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) {
        die("mmap kvm_run");
    }

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
        die("KVM_GET_SREGS");
    }
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
        die("KVM_SET_SREGS");
    }
    struct kvm_regs regs = {.rip = CODE_ADDR, .rflags = 0x2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
        die("KVM_SET_REGS");
    }

    unsigned exits = 0;
    int64_t t0 = now_ns();
    uint64_t c0 = __rdtsc();
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("KVM_RUN");
        }
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == BENCH_PORT) {
            exits++;
            continue;
        }
        if (run->exit_reason == KVM_EXIT_HLT ||
            (run->exit_reason == KVM_EXIT_IO && run->io.port == BENCH_DONE_PORT)) {
            break;
        }
        fprintf(stderr, "bare-kvm: unexpected exit %u after %u port exits\n", run->exit_reason,
                exits);
        return 1;
    }
    uint64_t c1 = __rdtsc();
    int64_t t1 = now_ns();

    if (exits != n) {
        fprintf(stderr, "bare-kvm: %u port exits, expected %u\n", exits, n);
        return 1;
    }
    printf("bare-kvm: %u exits, %.0f ns/exit, %.0f cycles/exit\n", exits, (double)(t1 - t0) / exits,
           (double)(c1 - c0) / exits);
    return 0;
}
