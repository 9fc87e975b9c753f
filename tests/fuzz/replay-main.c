/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stand-in for libFuzzer's main() when the targets are built without -fsanitize=fuzzer:
 * feeds each file named on the command line to the target once, or with no arguments
 * a fixed set of pseudo-random inputs (same seed every run, so failures reproduce).
 */
#define G_LOG_DOMAIN "fuzz-replay"
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RANDOM_INPUTS 2000
#define RANDOM_MAX_SIZE 4096

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
        printf("replayed %d input(s)\n", argc - 1);
        return 0;
    }

    const char *seed_env = g_getenv("BOXWOOD_FUZZ_SEED");
    guint32 seed = seed_env ? (guint32)strtoul(seed_env, NULL, 0) : 0x626f78u;
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
    g_autofree uint8_t *buf = g_malloc(RANDOM_MAX_SIZE);
    for (int i = 0; i < RANDOM_INPUTS; i++) {
        size_t len = (size_t)g_rand_int_range(rand, 0, RANDOM_MAX_SIZE + 1);
        for (size_t j = 0; j < len; j++) {
            buf[j] = (uint8_t)g_rand_int(rand);
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("ran %d pseudo-random inputs (seed 0x%x)\n", RANDOM_INPUTS, seed);
    return 0;
}
