/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Character back ends: spec parsing, file output, UNIX socket clients, input delivery. */
#define G_LOG_DOMAIN "test-char"
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/backend/char.h"
#include "vmm/iothread.h"
#include "vmm/machine.h"

typedef struct {
    GMutex lock;
    GCond cond;
    GByteArray *bytes;
} Sink;

static void sink_init(Sink *s)
{
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    s->bytes = g_byte_array_new();
}

static void sink_clear(Sink *s)
{
    g_byte_array_unref(s->bytes);
    g_cond_clear(&s->cond);
    g_mutex_clear(&s->lock);
}

static void sink_receive(void *opaque, const uint8_t *data, size_t len)
{
    Sink *s = opaque;

    g_mutex_lock(&s->lock);
    g_byte_array_append(s->bytes, data, len);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

/* Waits (bounded) until @n bytes arrived from the I/O thread. */
static bool sink_wait(Sink *s, unsigned n)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    bool ok = true;

    g_mutex_lock(&s->lock);
    while (s->bytes->len < n && ok) {
        ok = g_cond_wait_until(&s->cond, &s->lock, deadline);
    }
    ok = s->bytes->len >= n;
    g_mutex_unlock(&s->lock);
    return ok;
}

static char *make_tmpdir(void)
{
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp("bw-char-XXXXXX", &err);

    g_assert_no_error(err);
    return dir;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(addr.sun_path));
    memcpy(addr.sun_path, path, strlen(path) + 1);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    return fd;
}

static void recv_exact(int fd, char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);

        g_assert_cmpint(r, >, 0);
        got += r;
    }
    buf[n] = '\0';
}

static void test_bad_specs(void)
{
    static const char *const bad[] = {"tcp:localhost:4444", "file:", "unix:", "stdio:x", "pty"};
    g_autofree char *longpath = g_strnfill(200, 'a');
    g_autofree char *longspec = g_strdup_printf("unix:/tmp/%s", longpath);
    VmmMachine *m = vmm_machine_new_fake();

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_null(vmm_char_open(m, bad[i], &err));
        g_assert_nonnull(err);
    }
    {
        g_autoptr(GError) err = NULL;

        g_assert_null(vmm_char_open(m, longspec, &err));
        g_assert_nonnull(err);
    }
    {
        g_autoptr(GError) err = NULL;

        g_assert_null(vmm_char_open(m, "file:/nonexistent-dir-bw/x", &err));
        g_assert_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    }
    vmm_machine_free(m);
}

static void test_null(void)
{
    g_autoptr(GError) err = NULL;
    VmmCharBackend *be = vmm_char_open(NULL, "null", &err);
    Sink sink;

    g_assert_no_error(err);
    g_assert_cmpstr(vmm_char_kind(be), ==, "null");
    g_assert_cmpuint(vmm_char_write(be, (const uint8_t *)"abc", 3), ==, 3);
    g_assert_cmpuint(vmm_char_dropped(be), ==, 0);
    /* No receiver: injected input goes nowhere. */
    vmm_char_inject(be, (const uint8_t *)"x", 1);
    sink_init(&sink);
    vmm_char_set_receiver(be, sink_receive, &sink);
    vmm_char_inject(be, (const uint8_t *)"xyz", 3);
    g_assert_cmpuint(sink.bytes->len, ==, 3);
    g_assert_cmpmem(sink.bytes->data, 3, "xyz", 3);
    vmm_char_set_receiver(be, NULL, NULL);
    vmm_char_inject(be, (const uint8_t *)"q", 1);
    g_assert_cmpuint(sink.bytes->len, ==, 3);
    vmm_char_close(be);
    sink_clear(&sink);
}

static void test_file(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "out.log", NULL);
    g_autofree char *spec = g_strdup_printf("file:%s", path);
    g_autofree char *contents = NULL;
    VmmCharBackend *be;

    g_file_set_contents(path, "stale text that must go", -1, &err);
    g_assert_no_error(err);
    be = vmm_char_open(NULL, spec, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(vmm_char_kind(be), ==, "file");
    g_assert_cmpuint(vmm_char_write(be, (const uint8_t *)"one ", 4), ==, 4);
    g_assert_cmpuint(vmm_char_write(be, (const uint8_t *)"two", 3), ==, 3);
    g_file_get_contents(path, &contents, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(contents, ==, "one two");
    vmm_char_close(be);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_unix_clients(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s", path);
    VmmMachine *m = vmm_machine_new_fake();
    VmmCharBackend *be;
    Sink sink;
    char buf[16];
    int a, b;

    sink_init(&sink);
    be = vmm_char_open(m, spec, &err);
    g_assert_no_error(err);
    vmm_char_set_receiver(be, sink_receive, &sink);

    g_assert_cmpuint(vmm_char_write(be, (const uint8_t *)"lost", 4), ==, 0);
    g_assert_cmpuint(vmm_char_dropped(be), ==, 4);

    a = connect_unix(path);
    g_assert_true(vmm_char_poll(be, 5000));
    /* A second client is accepted and closed at once: it reads end-of-file. */
    b = connect_unix(path);
    g_assert_true(vmm_char_poll(be, 5000));
    g_assert_cmpint(recv(b, buf, sizeof(buf), 0), ==, 0);
    close(b);

    g_assert_cmpint(send(a, "abc", 3, 0), ==, 3);
    for (int i = 0; i < 50 && sink.bytes->len < 3; i++) {
        vmm_char_poll(be, 100);
    }
    g_assert_cmpuint(sink.bytes->len, ==, 3);
    g_assert_cmpmem(sink.bytes->data, 3, "abc", 3);

    g_assert_cmpuint(vmm_char_write(be, (const uint8_t *)"hey", 3), ==, 3);
    recv_exact(a, buf, 3);
    g_assert_cmpstr(buf, ==, "hey");
    vmm_char_close(be);
    /* The back end closed the connection and removed its socket. */
    g_assert_cmpint(recv(a, buf, sizeof(buf), 0), ==, 0);
    close(a);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));

    /* A stale socket file from an earlier run is replaced... */
    {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un addr = {.sun_family = AF_UNIX};

        memcpy(addr.sun_path, path, strlen(path) + 1);
        g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
        close(fd);
    }
    be = vmm_char_open(m, spec, &err);
    g_assert_no_error(err);
    vmm_char_close(be);
    /* ...but a regular file is not. */
    g_file_set_contents(path, "precious", -1, &err);
    g_assert_no_error(err);
    g_assert_null(vmm_char_open(m, spec, &err));
    g_assert_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_unlink(path);
    g_rmdir(dir);
    vmm_machine_free(m);
    sink_clear(&sink);
}

/* The same round trip with a real I/O thread doing the accepting and reading. */
static void test_unix_iothread(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "io.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s", path);
    VmmMachine *m = vmm_machine_new_fake();
    VmmIoThread *io = vmm_iothread_new(&err);
    VmmCharBackend *be;
    Sink sink;
    char buf[16];
    int fd;

    g_assert_no_error(err);
    g_assert_null(m->io);
    m->io = io;
    sink_init(&sink);
    be = vmm_char_open(m, spec, &err);
    g_assert_no_error(err);
    vmm_char_set_receiver(be, sink_receive, &sink);

    fd = connect_unix(path);
    g_assert_cmpint(send(fd, "hello", 5, 0), ==, 5);
    g_assert_true(sink_wait(&sink, 5));
    g_assert_cmpmem(sink.bytes->data, 5, "hello", 5);
    g_assert_cmpuint(vmm_char_write(be, (const uint8_t *)"world", 5), ==, 5);
    recv_exact(fd, buf, 5);
    g_assert_cmpstr(buf, ==, "world");

    /* Disconnect and reconnect: the I/O thread drops the old client, takes the new one. */
    close(fd);
    fd = connect_unix(path);
    g_assert_cmpint(send(fd, "again", 5, 0), ==, 5);
    g_assert_true(sink_wait(&sink, 10));
    g_assert_cmpmem(sink.bytes->data + 5, 5, "again", 5);
    close(fd);

    vmm_char_close(be);
    m->io = NULL;
    vmm_iothread_free(io);
    vmm_machine_free(m);
    sink_clear(&sink);
    g_rmdir(dir);
}

static void test_stdio_exclusive(void)
{
    g_autoptr(GError) err = NULL;
    VmmCharBackend *a = vmm_char_open(NULL, "stdio", &err);
    VmmCharBackend *b;

    g_assert_no_error(err);
    g_assert_cmpstr(vmm_char_kind(a), ==, "stdio");
    b = vmm_char_open(NULL, "stdio", &err);
    g_assert_null(b);
    g_assert_error(err, G_IO_ERROR, G_IO_ERROR_BUSY);
    g_clear_error(&err);
    vmm_char_close(a);
    a = vmm_char_open(NULL, "stdio", &err);
    g_assert_no_error(err);
    vmm_char_close(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/char/bad-specs", test_bad_specs);
    g_test_add_func("/char/null", test_null);
    g_test_add_func("/char/file", test_file);
    g_test_add_func("/char/unix-clients", test_unix_clients);
    g_test_add_func("/char/unix-iothread", test_unix_iothread);
    g_test_add_func("/char/stdio-exclusive", test_stdio_exclusive);
    return g_test_run();
}
