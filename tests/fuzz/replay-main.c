/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Runs a libFuzzer target without libFuzzer: each file named on the command line is
 * one input; without arguments, a fixed series of pseudo-random inputs (same every
 * run) exercises the target as a plain test.
 */
#define G_LOG_DOMAIN "fuzz-replay"
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_RANDOM_INPUTS 2000
#define REPLAY_MAX_LEN 4096

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

    g_autoptr(GRand) rand = g_rand_new_with_seed(0x626f7877);
    g_autofree uint8_t *buf = g_malloc(REPLAY_MAX_LEN);
    for (int i = 0; i < REPLAY_RANDOM_INPUTS; i++) {
        size_t len = (size_t)g_rand_int_range(rand, 0, REPLAY_MAX_LEN + 1);
        for (size_t j = 0; j < len; j++) {
            buf[j] = (uint8_t)g_rand_int(rand);
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("ran %d pseudo-random inputs\n", REPLAY_RANDOM_INPUTS);
    return 0;
}
