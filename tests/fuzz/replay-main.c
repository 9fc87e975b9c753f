/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stand-alone driver for libFuzzer targets when the build does not use
 * -fsanitize=fuzzer: runs every file named on the command line through the target,
 * or, without arguments, a fixed set of pseudo-random inputs (same seed every run, so
 * failures reproduce).
 */
#define G_LOG_DOMAIN "fuzz-replay"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RANDOM_INPUTS 2000
#define RANDOM_MAX_LEN 4096

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            g_autoptr(GError) err = NULL;
            g_autofree char *buf = NULL;
            gsize len = 0;

            if (!g_file_get_contents(argv[i], &buf, &len, &err)) {
                fprintf(stderr, "%s\n", err->message);
                return 1;
            }
            LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        }
        return 0;
    }

    GRand *rand = g_rand_new_with_seed(0x80865a5a);
    uint8_t *buf = g_malloc(RANDOM_MAX_LEN);

    for (unsigned n = 0; n < RANDOM_INPUTS; n++) {
        size_t len = (size_t)g_rand_int_range(rand, 0, RANDOM_MAX_LEN + 1);

        for (size_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)g_rand_int(rand);
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    g_free(buf);
    g_rand_free(rand);
    return 0;
}
