/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The instruction-emulation fallback under real KVM: small payloads (assembled with nasm
 * at test time) run in real, protected and long mode, store their results in guest memory
 * and signal the end on a port; the test compares with the same operations done on the
 * host CPU. On kvm_pvm the instructions exit to the emulator; on hardware KVM they run
 * natively and the results must be the same. Skips without /dev/kvm or nasm.
 */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/kvm.h"
#include "vmm/machine.h"
#include "vmm/vcpu.h"
#include "vmm/x86/emulate.h"

#define RAM_SIZE (4u << 20)
#define CODE_ADDR 0x10000u
#define DATA_ADDR 0x20000u /* results: the payloads write here */
#define DONE_PORT 0x501

typedef enum { MODE_REAL, MODE_PROT32, MODE_PROT32_PAGING, MODE_LONG } Mode;

typedef struct {
    VmmDevice parent;
    VmmMachine *m;
} DonePort;

static uint64_t done_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void done_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    DonePort *p = opaque;
    vmm_machine_request_exit(p->m, (int)(val & 0xff), "payload done");
}

static const VmmIoOps done_ops = {
    .read = done_read, .write = done_write, .min_access = 1, .max_access = 4};

static bool kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static bool kvm_is_pvm(void)
{
    g_autoptr(GError) err = NULL;
    VmmKvm *kvm = vmm_kvm_open(&err);
    bool pvm = kvm != NULL && vmm_kvm_is_pvm(kvm);
    vmm_kvm_free(kvm);
    return pvm;
}

/* Assembles @src with nasm (flat binary). NULL if nasm is unavailable. */
static GBytes *assemble(const char *src)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("x86emul-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *in = g_build_filename(dir, "p.asm", NULL);
    g_autofree char *out = g_build_filename(dir, "p.bin", NULL);
    g_assert_true(g_file_set_contents(in, src, -1, &err));
    const char *argv[] = {"nasm", "-f", "bin", "-o", out, in, NULL};
    int status = 0;
    g_autofree char *serr = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &serr, &status, &err)) {
        g_remove(in);
        g_rmdir(dir);
        return NULL;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_error("nasm failed: %s", serr);
    }
    gchar *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(out, &data, &len, &err));
    g_remove(in);
    g_remove(out);
    g_rmdir(dir);
    return g_bytes_new_take(data, len);
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->type = type;
    s->present = 1;
    s->s = 1;
    s->g = 1;
    s->db = code64 ? 0 : 1;
    s->l = code64 ? 1 : 0;
}

/* Flat GDT at 0x1000: 0x08 code32, 0x10 data, 0x18 code64, 0x20 code32 ring 3 (unused). */
static void write_gdt(uint8_t *ram)
{
    static const uint64_t gdt[] = {
        0,
        0x00cf9b000000ffffull, /* 0x08: code32, accessed */
        0x00cf93000000ffffull, /* 0x10: data, accessed */
        0x00af9b000000ffffull, /* 0x18: code64 */
    };
    memcpy(ram + 0x1000, gdt, sizeof(gdt));
}

/* Sets the vCPU up in @mode with the payload at CODE_ADDR. */
static void setup_vcpu(VmmMachine *m, uint8_t *ram, Mode mode)
{
    int fd = m->vcpus[0]->fd;
    struct kvm_sregs sregs;
    struct kvm_regs regs = {0};
    g_assert_cmpint(ioctl(fd, KVM_GET_SREGS, &sregs), ==, 0);
    regs.rflags = 2;

    if (mode == MODE_REAL) {
        struct kvm_segment *segs[] = {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss};
        sregs.cs.selector = CODE_ADDR >> 4;
        sregs.cs.base = CODE_ADDR;
        for (unsigned i = 0; i < G_N_ELEMENTS(segs); i++) {
            segs[i]->selector = 0;
            segs[i]->base = 0;
        }
        regs.rip = 0;
        regs.rsp = 0x8000;
    } else {
        write_gdt(ram);
        sregs.gdt.base = 0x1000;
        sregs.gdt.limit = 4 * 8 - 1;
        sregs.idt.base = 0x2000;
        sregs.idt.limit = mode == MODE_LONG ? 256 * 16 - 1 : 256 * 8 - 1;
        seg_flat(&sregs.cs, mode == MODE_LONG ? 0x18 : 0x08, 0xb, mode == MODE_LONG);
        seg_flat(&sregs.ds, 0x10, 3, false);
        sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
        sregs.cr0 = 0x11 | (1u << 5); /* PE, ET, NE */
        sregs.cr4 = 1u << 9;          /* OSFXSR */
        regs.rip = CODE_ADDR;
        regs.rsp = 0x8000;
        if (mode == MODE_PROT32_PAGING) {
            /*
             * PAE paging with 4 KiB pages (kvm_pvm does not run 32-bit non-PAE paging guests;
             * that walker is covered by the unit tests): PDPT at 0x5000, PD at 0x3000, page
             * tables at 0x4000 (0-2 MiB) and 0x6000 (2-4 MiB).
             */
            uint64_t *pdpt = (uint64_t *)(ram + 0x5000);
            uint64_t *pd = (uint64_t *)(ram + 0x3000);
            uint64_t *pt = (uint64_t *)(ram + 0x4000);
            uint64_t *pt2 = (uint64_t *)(ram + 0x6000);
            memset(pdpt, 0, 4096);
            memset(pd, 0, 4096);
            pdpt[0] = 0x3000 | 1;
            pd[0] = 0x4000 | 0x3;
            pd[1] = 0x6000 | 0x3;
            for (uint64_t i = 0; i < 512; i++) {
                pt[i] = (i << 12) | 0x3;
                pt2[i] = ((512 + i) << 12) | 0x3;
            }
            /* DATA_ADDR + 0x1000 is read-only: the payload's #PF handler makes it writable. */
            pt[(DATA_ADDR + 0x1000) >> 12] &= ~2ull;
            /* The payload turns paging on itself (KVM_SET_SREGS with CR0.PG in 32-bit PAE
             * mode makes kvm_pvm shut the guest down). */
        }
        if (mode == MODE_LONG) {
            uint64_t *pml4 = (uint64_t *)(ram + 0x3000);
            uint64_t *pdpt = (uint64_t *)(ram + 0x4000);
            uint64_t *pd = (uint64_t *)(ram + 0x5000);
            memset(pml4, 0, 3 * 4096);
            pml4[0] = 0x4000 | 3;
            pdpt[0] = 0x5000 | 3;
            pd[0] = 0x83;      /* 0-2 MiB */
            pd[1] = 0x200083;  /* 2-4 MiB */
            sregs.cr3 = 0x3000;
            sregs.cr4 |= 1u << 5; /* PAE */
            sregs.cr0 |= 0x80000000u;
            sregs.efer = (1u << 8) | (1u << 10); /* LME, LMA */
        }
    }
    g_assert_cmpint(ioctl(fd, KVM_SET_SREGS, &sregs), ==, 0);
    g_assert_cmpint(ioctl(fd, KVM_SET_REGS, &regs), ==, 0);
}

static gboolean timeout_cb(gpointer data)
{
    vmm_machine_request(data, VMM_REQ_ERROR, "test timeout");
    return G_SOURCE_REMOVE;
}

/*
 * Runs @src in @mode; returns a copy of the 8 KiB result area at DATA_ADDR (caller frees),
 * or NULL when the test was skipped.
 */
static uint8_t *run_payload(const char *src, Mode mode, uint64_t tsc_aux)
{
    if (!kvm_usable()) {
        g_test_skip("/dev/kvm is missing or not accessible: cannot run guest code here");
        return NULL;
    }
    g_autoptr(GBytes) bin = assemble(src);
    if (bin == NULL) {
        g_test_skip("nasm is not installed: cannot build the payloads");
        return NULL;
    }
    g_autoptr(GError) err = NULL;
    VmmMachine *m = vmm_machine_new(NULL, &err);
    g_assert_no_error(err);
    g_assert_true(vmm_guest_mem_alloc_ram(m->mem, RAM_SIZE, &err));
    uint8_t *ram = vmm_guest_mem_ram_ptr(m->mem, 0, RAM_SIZE);
    g_assert_cmpint(vmm_guest_mem_add_region(m->mem, "ram", 0, RAM_SIZE, ram, 0), >=, 0);
    gsize len;
    const uint8_t *code = g_bytes_get_data(bin, &len);
    /* Code at CODE_ADDR, the payload's own data (inputs) from DATA_ADDR on. */
    g_assert_cmpuint(len, <, DATA_ADDR - CODE_ADDR + 4096);
    memcpy(ram + CODE_ADDR, code, len);

    DonePort *p = g_new0(DonePort, 1);
    p->m = m;
    g_mutex_init(&p->parent.lock);
    g_assert_cmpint(vmm_bus_register(m->pio, "done", DONE_PORT, 1, &done_ops, p, &p->parent.lock),
                    >, 0);
    g_assert_true(vmm_machine_create_vcpus(m, 1, &err));
    setup_vcpu(m, ram, mode);
    g_autofree struct kvm_msrs *msrs =
        g_malloc0(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry));
    msrs->nmsrs = 1;
    msrs->entries[0].index = 0xc0000103; /* TSC_AUX */
    msrs->entries[0].data = tsc_aux;
    g_assert_cmpint(ioctl(m->vcpus[0]->fd, KVM_SET_MSRS, msrs), ==, 1);

    g_assert_true(vmm_machine_start(m, &err));
    GSource *t = g_timeout_source_new_seconds(30);
    g_source_set_callback(t, timeout_cb, m, NULL);
    g_source_attach(t, m->ctx);
    VmmRequest why = vmm_machine_run(m);
    g_source_destroy(t);
    g_source_unref(t);
    if (why != VMM_REQ_TEST_EXIT) {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        g_autofree char *st = vmm_x86_emul_stats_format();
        ioctl(m->vcpus[0]->fd, KVM_GET_REGS, &regs);
        ioctl(m->vcpus[0]->fd, KVM_GET_SREGS, &sregs);
        g_test_message("stuck at %04x:%llx rsp %llx rflags %llx; emulated: %s", sregs.cs.selector,
                       (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
                       (unsigned long long)regs.rflags, st);
        g_error("payload did not finish: %s (%s)", vmm_request_name(why),
                m->stop_detail ? m->stop_detail : "");
    }
    g_assert_cmpint(m->exit_code, ==, 0x42);
    uint8_t *res = g_memdup2(ram + DATA_ADDR, 8192);
    vmm_machine_free(m);
    g_mutex_clear(&p->parent.lock);
    g_free(p);
    return res;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* The x87 sequence every mode runs, as nasm source with the data at DATA (0x20000 linear). */
/*
 * kvm_pvm runs a few x87 instructions itself (fninit, fnstcw, fnstsw m16) and the emulator
 * the rest, so the sequence also checks that both see the same FPU state.
 */
#define X87_BODY                                                                              \
    "  fninit\n"                                                                              \
    "  fnstcw [DATA+0]\n"                                                                     \
    "  fld1\n"                                                                                \
    "  fldpi\n"                                                                               \
    "  faddp st1, st0\n"                                                                      \
    "  fst qword [DATA+8]\n"                                                                  \
    "  fsqrt\n"                                                                               \
    "  fstp tword [DATA+16]\n"                                                                \
    "  fild dword [DATA+0x100]\n"                                                             \
    "  fidiv word [DATA+0x104]\n"                                                             \
    "  fistp dword [DATA+32]\n"                                                               \
    "  fld dword [DATA+0x108]\n"                                                              \
    "  fmul qword [DATA+0x110]\n"                                                             \
    "  fld st0\n"                                                                             \
    "  fcomp qword [DATA+0x110]\n"                                                            \
    "  fnstsw ax\n"                                                                           \
    "  mov [DATA+36], ax\n"                                                                    \
    "  fchs\n"                                                                                \
    "  fxam\n"                                                                                \
    "  fnstsw ax\n"                                                                           \
    "  mov [DATA+38], ax\n"                                                                   \
    "  fstp dword [DATA+40]\n"                                                                \
    "  fldz\n"                                                                                \
    "  fld1\n"                                                                                \
    "  fdivrp st1, st0\n"                                                                     \
    "  fnstsw ax\n"                                                                           \
    "  mov [DATA+44], ax\n"                                                                   \
    "  fnstsw [DATA+100]\n"                                                                    \
    "  fnclex\n"                                                                              \
    "  fnstsw ax\n"                                                                           \
    "  mov [DATA+46], ax\n"                                                                    \
    "  fistp qword [DATA+48]\n"                                                               \
    "  mov word [DATA+56], 0x0c7f\n"                                                          \
    "  fldcw [DATA+56]\n"                                                                     \
    "  fld qword [DATA+0x110]\n"                                                              \
    "  fistp dword [DATA+60]\n"                                                               \
    "  fwait\n"                                                                               \
    "  fnstenv [DATA+64]\n"                                                                   \
    "  fldenv [DATA+64]\n"                                                                    \
    "  fnstcw [DATA+96]\n"                                                                     \
    "  fld1\n"                                                                                \
    "  fldz\n"                                                                                \
    "  fcomi st0, st1\n"                                                                      \
    "  setc [DATA+104]\n"                                                                     \
    "  fcmovb st0, st1\n"                                                                     \
    "  fstp dword [DATA+108]\n"                                                               \
    "  fstp st0\n"

static const char x87_data[] = "  times (0x100 - ($ - data)) db 0\n"
                               "  dd 1000003\n"   /* 0x100 */
                               "  dw 7\n"         /* 0x104 */
                               "  dw 0\n"
                               "  dd 1.5\n"       /* 0x108 */
                               "  dd 0\n"
                               "  dq 2.75\n";     /* 0x110 */

typedef struct {
    uint16_t cw0;
    double sum;
    long double root;
    int32_t quot;
    uint16_t sw_cmp;
    uint16_t sw_xam;
    float neg;
    uint16_t sw_div0, sw_clex;
    int64_t inf_int;
    int32_t trunc;
} X87Expect;

/* The same operations on the host's FPU. */
static X87Expect x87_on_host(void)
{
    X87Expect x;
    long double sum;
    __asm__ volatile("fninit; fnstcw %0" : "=m"(x.cw0));
    __asm__ volatile("fld1; fldpi; faddp; fstl %0; fsqrt; fstpt %1" : "=m"(x.sum), "=m"(x.root));
    sum = 1000003.0L / 7;
    x.quot = (int32_t)(sum + 0.5L); /* round to nearest (no tie here) */
    double m = 1.5 * 2.75;
    /* Compare 4.125 with 2.75: greater: C3=C2=C0=0. */
    __asm__ volatile("fninit; fldl %2; fldl %3; fcompl %2; fnstsw %0; fchs; fxam; fnstsw %1;"
                     "fstp %%st(0)"
                     : "=m"(x.sw_cmp), "=m"(x.sw_xam)
                     : "m"((double){2.75}), "m"(m));
    x.neg = (float)-m;
    __asm__ volatile("fninit; fldz; fld1; .byte 0xde, 0xf1; fnstsw %0; fnclex; fnstsw %1; fistpll %2"
                     : "=m"(x.sw_div0), "=m"(x.sw_clex), "=m"(x.inf_int));
    x.trunc = 2;
    __asm__ volatile("fninit");
    return x;
}

static void check_x87(const uint8_t *r)
{
    X87Expect x = x87_on_host();
    g_assert_cmphex(rd16(r + 0), ==, x.cw0);
    g_assert_cmphex(rd64(r + 8), ==, *(uint64_t *)&x.sum);
    g_assert_cmpmem(r + 16, 10, &x.root, 10);
    g_assert_cmpint((int32_t)rd32(r + 32), ==, x.quot);
    /* Status words: the TOP field differs (the sequences push differently); compare flags. */
    g_assert_cmphex(rd16(r + 36) & 0x4700, ==, x.sw_cmp & 0x4700);
    g_assert_cmphex(rd16(r + 38) & 0x4700, ==, x.sw_xam & 0x4700);
    float f;
    memcpy(&f, r + 40, 4);
    g_assert_cmpfloat(f, ==, x.neg);
    g_assert_cmphex(rd16(r + 44) & 0x0004, ==, x.sw_div0 & 0x0004);
    g_assert_cmphex(x.sw_div0 & 0x0004, ==, 0x0004);
    g_assert_cmphex(rd16(r + 100), ==, rd16(r + 44));
    g_assert_cmphex(rd16(r + 46) & 0x00ff, ==, x.sw_clex & 0x00ff);
    g_assert_cmphex(x.sw_clex & 0xff, ==, 0);
    g_assert_cmphex(rd64(r + 48), ==, (uint64_t)x.inf_int);
    g_assert_cmpint((int32_t)rd32(r + 60), ==, x.trunc);
    /* fnstenv stored the control word we loaded; fldenv restored it, fnstenv masked it. */
    g_assert_cmphex(rd16(r + 64), ==, 0x0c7f);
    g_assert_cmphex(rd16(r + 96), ==, 0x0c7f);
    /* fcomi set CF (0 < 1) and fcmovb moved 1.0 to st0. */
    g_assert_cmpuint(r[104], ==, 1);
    float fone;
    memcpy(&fone, r + 108, 4);
    g_assert_cmpfloat(fone, ==, 1.0f);
}

static void test_real_mode(void)
{
    /* Real mode at 1000:0000; data at 2000:0000 reached through DS = 0x2000. */
    g_autofree char *src = g_strdup_printf(
        "bits 16\n"
        "org 0\n"
        "%%define DATA 0\n"
        "start:\n"
        "  mov ax, 0x2000\n"
        "  mov ds, ax\n"
        /* IVT: int 0x21 -> handler, #UD (6) -> ud_handler, #BP (3) -> bp_handler */
        "  xor ax, ax\n"
        "  mov es, ax\n"
        "  mov word [es:0x21*4], int21\n"
        "  mov word [es:0x21*4+2], 0x1000\n"
        "  mov word [es:6*4], ud_handler\n"
        "  mov word [es:6*4+2], 0x1000\n"
        "  mov word [es:3*4], bp_handler\n"
        "  mov word [es:3*4+2], 0x1000\n"
        X87_BODY
        "  mov ax, 0x1234\n"
        "  int 0x21\n"
        "  mov [DATA+200], ax\n"
        "  int3\n"
        "  mov [DATA+204], bx\n"
        "  pxor xmm0, xmm0\n" /* SSE arithmetic is not emulated: #UD, skipped by the handler */
        "  mov [DATA+208], cx\n"
        "  mov al, 0x42\n"
        "  mov dx, 0x%x\n"
        "  out dx, al\n"
        "  hlt\n"
        "int21:\n"
        "  add ax, 1\n"
        "  pushf\n"
        "  pop word [DATA+202]\n"
        "  iret\n"
        "bp_handler:\n"
        "  mov bx, 0xb0b0\n"
        "  iret\n"
        "ud_handler:\n"
        "  mov cx, 0x0d0d\n"
        "  push bp\n"
        "  mov bp, sp\n"
        "  add word [ss:bp+2], 4\n" /* skip the 4-byte pxor */
        "  pop bp\n"
        "  iret\n"
        "times 0x10000 - ($ - $$) db 0\n"
        "data:\n"
        "%s",
        DONE_PORT, x87_data);
    /* The payload is 64 KiB + data: the data section lands at 0x20000. */
    g_autofree uint8_t *r = run_payload(src, MODE_REAL, 0);
    if (r == NULL) {
        return;
    }
    check_x87(r);
    g_assert_cmphex(rd16(r + 200), ==, 0x1235);
    /* Inside the handler IF/TF are clear. */
    g_assert_cmphex(rd16(r + 202) & 0x300, ==, 0);
    g_assert_cmphex(rd16(r + 204), ==, 0xb0b0);
    g_assert_cmphex(rd16(r + 208), ==, 0x0d0d);
}


/* Integer part shared by the protected- and long-mode payloads. */
#define INT_DATA                                                                              \
    "  times (0x120 - ($ - data)) db 0\n"                                                     \
    "  dq 0x2222222211111111\n" /* 0x120: cmpxchg8b target */                                 \
    "  dq 0\n"                                                                                \
    "  dq 0x1111111111111111, 0x2222222222222222\n" /* 0x130: cmpxchg16b target */            \
    "  dd 0x7f80\n" /* 0x140: MXCSR to load: RC = truncate, all masked */                 \
    "  times (0x150 - ($ - data)) db 0\n"                                                     \
    "  dd 1, 2, 3, 4\n"         /* 0x150 */                                                   \
    "  dd 100, 200, 300, 400\n" /* 0x160 */

static void test_protected_mode(gconstpointer data)
{
    bool paging = GPOINTER_TO_INT(data);
    g_autofree char *src = g_strdup_printf(
        "bits 32\n"
        "org 0x10000\n"
        "%%define DATA 0x20000\n"
        "%%macro GATE 2\n"
        "  mov eax, %%2\n"
        "  mov word [0x2000 + %%1*8], ax\n"
        "  mov word [0x2000 + %%1*8 + 2], 0x08\n"
        "  mov word [0x2000 + %%1*8 + 4], 0x8e00\n"
        "  shr eax, 16\n"
        "  mov word [0x2000 + %%1*8 + 6], ax\n"
        "%%endmacro\n"
        "start:\n"
        "%%if %d\n"
        "  mov eax, 0x5000\n"
        "  mov cr3, eax\n"
        "  mov eax, cr4\n"
        "  or eax, 0x20\n"
        "  mov cr4, eax\n"
        "  mov eax, cr0\n"
        "  or eax, 0x80010000\n"
        "  mov cr0, eax\n"
        "%%endif\n"
        "  GATE 0x30, int30\n"
        "  GATE 3, bp_handler\n"
        "  GATE 14, pf_handler\n"
        X87_BODY
        "  mov eax, 0x1234\n"
        "  int 0x30\n"
        "  mov [DATA+200], eax\n"
        "  int3\n"
        "  mov [DATA+204], ebx\n"
        "  rdtscp\n"
        "  mov [DATA+208], eax\n"
        "  mov [DATA+212], edx\n"
        "  mov [DATA+216], ecx\n"
        "  mov eax, 0x11111111\n"
        "  mov edx, 0x22222222\n"
        "  mov ebx, 0x33333333\n"
        "  mov ecx, 0x44444444\n"
        "  lock cmpxchg8b [DATA+0x120]\n"
        "  setz [DATA+220]\n"
        "  xor eax, eax\n"
        "  xor edx, edx\n"
        "  lock cmpxchg8b [DATA+0x120]\n"
        "  setz [DATA+221]\n"
        "  mov [DATA+224], eax\n"
        "  mov [DATA+228], edx\n"
        "  mov eax, 0xf0f0f0f1\n"
        "  popcnt ebx, eax\n"
        "  mov [DATA+232], ebx\n"
        "  pushfd\n"
        "  push dword 0x08\n"
        "  push dword after_iret\n"
        "  iretd\n"
        "after_iret:\n"
        "  mov dword [DATA+236], 0x600d\n"
        /* With paging the page at DATA+0x1000 is read-only: the store faults once. */
        "  fld1\n"
        "  fstp qword [DATA+0x1000]\n"
        "  mov al, 0x42\n"
        "  mov dx, 0x%x\n"
        "  out dx, al\n"
        "  hlt\n"
        "int30:\n"
        "  add eax, 1\n"
        "  iretd\n"
        "bp_handler:\n"
        "  mov ebx, 0xb0b0\n"
        "  iretd\n"
        "pf_handler:\n"
        "  pop dword [DATA+240]\n"
        "  push eax\n"
        "  mov eax, cr2\n"
        "  mov [DATA+244], eax\n"
        "  or dword [0x4000 + 0x21*8], 2\n"
        "  invlpg [DATA+0x1000]\n"
        "  pop eax\n"
        "  iretd\n"
        "times 0x10000 - ($ - $$) db 0\n"
        "data:\n"
        "%s" INT_DATA,
        paging, DONE_PORT, x87_data);
    g_autofree uint8_t *r = NULL;
    if (paging && kvm_is_pvm()) {
        /*
         * On kvm_pvm a 32-bit guest that turns on paging (PAE or not, by MOV CR0 or through
         * KVM_SET_SREGS) is shut down at once (triple fault; seen here, not investigated
         * further). The PAE and 32-bit walkers are covered by test-x86-mmu; long mode's
         * 4-level walk by /vmm/x86-emul-kvm/long-mode.
         */
        g_test_skip("kvm_pvm does not run 32-bit guests with paging");
        return;
    }
    if (paging) {
        /* setup_vcpu maps 0-4 MiB; make the page at 0x21000 read-only before starting. */
        r = run_payload(src, MODE_PROT32_PAGING, 0x1234);
    } else {
        r = run_payload(src, MODE_PROT32, 0x1234);
    }
    if (r == NULL) {
        return;
    }
    check_x87(r);
    g_assert_cmphex(rd32(r + 200), ==, 0x1235);
    g_assert_cmphex(rd32(r + 204), ==, 0xb0b0);
    g_assert_cmphex(rd32(r + 216), ==, 0x1234);
    g_assert_cmpuint(rd32(r + 208) | (uint64_t)rd32(r + 212) << 32, !=, 0);
    g_assert_cmpuint(r[220], ==, 1);
    g_assert_cmpuint(r[221], ==, 0);
    g_assert_cmphex(rd32(r + 224), ==, 0x33333333);
    g_assert_cmphex(rd32(r + 228), ==, 0x44444444);
    g_assert_cmphex(rd64(r + 0x120), ==, 0x4444444433333333ull);
    g_assert_cmpuint(rd32(r + 232), ==, (uint32_t)__builtin_popcount(0xf0f0f0f1u));
    g_assert_cmphex(rd32(r + 236), ==, 0x600d);
    double one = 1.0;
    g_assert_cmpmem(r + 0x1000, 8, &one, 8);
    if (paging) {
        /* Present + write, supervisor; CR2 = the faulting address. */
        g_assert_cmphex(rd32(r + 240), ==, 0x3);
        g_assert_cmphex(rd32(r + 244), ==, DATA_ADDR + 0x1000);
    } else {
        g_assert_cmphex(rd32(r + 240), ==, 0); /* no fault */
    }
}

static void test_long_mode(void)
{
    g_autofree char *src = g_strdup_printf(
        "bits 64\n"
        "org 0x10000\n"
        "%%define DATA 0x20000\n"
        "%%macro GATE 2\n"
        "  mov rax, %%2\n"
        "  mov word [0x2000 + %%1*16], ax\n"
        "  mov word [0x2000 + %%1*16 + 2], 0x18\n"
        "  mov word [0x2000 + %%1*16 + 4], 0x8e00\n"
        "  shr rax, 16\n"
        "  mov word [0x2000 + %%1*16 + 6], ax\n"
        "  shr rax, 16\n"
        "  mov dword [0x2000 + %%1*16 + 8], eax\n"
        "  mov dword [0x2000 + %%1*16 + 12], 0\n"
        "%%endmacro\n"
        "start:\n"
        "  GATE 0x30, int30\n"
        "  GATE 3, bp_handler\n"
        "  GATE 13, gp_handler\n"
        X87_BODY
        "  mov eax, 0x1234\n"
        "  int 0x30\n"
        "  mov [DATA+200], eax\n"
        "  int3\n"
        "  mov [DATA+204], ebx\n"
        "  rdtscp\n"
        "  mov [DATA+208], eax\n"
        "  mov [DATA+212], edx\n"
        "  mov [DATA+216], ecx\n"
        "  mov rax, 0x1111111111111111\n"
        "  mov rdx, 0x2222222222222222\n"
        "  mov rbx, 0x3333333333333333\n"
        "  mov rcx, 0x4444444444444444\n"
        "  lock cmpxchg16b [DATA+0x130]\n"
        "  setz [DATA+220]\n"
        "  xor eax, eax\n"
        "  xor edx, edx\n"
        "  lock cmpxchg16b [DATA+0x130]\n"
        "  setz [DATA+221]\n"
        "  mov [DATA+224], rax\n"
        "  mov [DATA+232], rdx\n"
        "  lock cmpxchg16b [DATA+0x138]\n" /* misaligned: #GP(0) */
        "after_gp:\n"
        "  mov rax, 0xf0f0f0f0f0f0f0f1\n"
        "  popcnt rbx, rax\n"
        "  mov [DATA+240], rbx\n"
        "  stmxcsr [DATA+248]\n"
        "  ldmxcsr [DATA+0x140]\n"
        "  stmxcsr [DATA+252]\n"
        "  ldmxcsr [DATA+248]\n"
        "  movdqu xmm1, [DATA+0x150]\n"
        "  paddd xmm1, [DATA+0x160]\n"
        "  pshufd xmm9, xmm1, 0x1b\n"
        "  pcmpeqb xmm2, xmm2\n"
        "  pxor xmm2, xmm2\n"
        "  movdqu [DATA+272], xmm9\n"
        "  movdqu [DATA+288], xmm2\n"
        "  mov al, 0x42\n"
        "  mov dx, 0x%x\n"
        "  out dx, al\n"
        "  hlt\n"
        "int30:\n"
        "  add eax, 1\n"
        "  iretq\n"
        "bp_handler:\n"
        "  mov ebx, 0xb0b0\n"
        "  iretq\n"
        "gp_handler:\n"
        "  pop qword [DATA+256]\n"
        "  mov qword [DATA+264], 1\n"
        "  mov rax, after_gp\n"
        "  mov [rsp], rax\n"
        "  iretq\n"
        "times 0x10000 - ($ - $$) db 0\n"
        "data:\n"
        "%s" INT_DATA,
        DONE_PORT, x87_data);
    g_autofree uint8_t *r = run_payload(src, MODE_LONG, 0xabcd);
    if (r == NULL) {
        return;
    }
    check_x87(r);
    g_assert_cmphex(rd32(r + 200), ==, 0x1235);
    g_assert_cmphex(rd32(r + 204), ==, 0xb0b0);
    g_assert_cmphex(rd32(r + 216), ==, 0xabcd);
    g_assert_cmpuint(r[220], ==, 1);
    g_assert_cmpuint(r[221], ==, 0);
    g_assert_cmphex(rd64(r + 224), ==, 0x3333333333333333ull);
    g_assert_cmphex(rd64(r + 232), ==, 0x4444444444444444ull);
    g_assert_cmphex(rd64(r + 0x130), ==, 0x3333333333333333ull);
    g_assert_cmphex(rd64(r + 0x138), ==, 0x4444444444444444ull);
    g_assert_cmphex(rd64(r + 256), ==, 0);
    g_assert_cmphex(rd64(r + 264), ==, 1);
    g_assert_cmpuint(rd64(r + 240), ==, (uint64_t)__builtin_popcountll(0xf0f0f0f0f0f0f0f1ull));
    g_assert_cmphex(rd32(r + 248), ==, 0x1f80);
    g_assert_cmphex(rd32(r + 252), ==, 0x7f80);
    static const uint32_t shuffled[4] = {404, 303, 202, 101};
    g_assert_cmpmem(r + 272, 16, shuffled, 16);
    static const uint8_t zero[16] = {0};
    g_assert_cmpmem(r + 288, 16, zero, 16);
}

/* Reports (does not assert) what one emulated instruction costs: 20000 x fwait in long mode. */
static void test_cost(void)
{
    g_autofree char *src = g_strdup_printf("bits 64\n"
                                           "org 0x10000\n"
                                           "  mov ecx, 20000\n"
                                           "again:\n"
                                           "  fwait\n"
                                           "  dec ecx\n"
                                           "  jnz again\n"
                                           "  mov al, 0x42\n"
                                           "  mov dx, 0x%x\n"
                                           "  out dx, al\n"
                                           "  hlt\n",
                                           DONE_PORT);
    uint64_t before = vmm_x86_emul_total();
    gint64 t0 = g_get_monotonic_time();
    g_autofree uint8_t *r = run_payload(src, MODE_LONG, 0);
    if (r == NULL) {
        return;
    }
    gint64 us = g_get_monotonic_time() - t0;
    uint64_t n = vmm_x86_emul_total() - before;
    g_test_message("20000 fwait: %" G_GINT64_FORMAT " us, %" G_GUINT64_FORMAT
                   " emulated (%.1f us each incl. the loop)",
                   us, n, n ? (double)us / (double)n : 0.0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmm/x86-emul-kvm/real-mode", test_real_mode);
    g_test_add_data_func("/vmm/x86-emul-kvm/protected-mode", GINT_TO_POINTER(0),
                         test_protected_mode);
    g_test_add_data_func("/vmm/x86-emul-kvm/protected-mode-paging", GINT_TO_POINTER(1),
                         test_protected_mode);
    g_test_add_func("/vmm/x86-emul-kvm/long-mode", test_long_mode);
    g_test_add_func("/vmm/x86-emul-kvm/cost", test_cost);
    return g_test_run();
}
