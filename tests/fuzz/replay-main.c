/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Stand-alone driver for a libFuzzer target when not building with -fsanitize=fuzzer:
 * replays the files named on the command line, or, with none, a fixed set of
 * pseudo-random inputs (same seed every run, so failures reproduce).
 * BOXWOOD_FUZZ_RUNS overrides the number of random inputs.
 */
#define G_LOG_DOMAIN "fuzz-replay"
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEFAULT_RUNS 300
#define MAX_RANDOM_LEN 4096

int main(int argc, char **argv)
{
    const char *runs_env = g_getenv("BOXWOOD_FUZZ_RUNS");
    unsigned runs = runs_env != NULL ? (unsigned)strtoul(runs_env, NULL, 10) : DEFAULT_RUNS;
    g_autoptr(GRand) rand = NULL;
    g_autofree uint8_t *buf = NULL;

    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            g_autoptr(GError) err = NULL;
            g_autofree char *contents = NULL;
            gsize len = 0;

            if (!g_file_get_contents(argv[i], &contents, &len, &err)) {
                g_printerr("%s: %s\n", argv[0], err->message);
                return 1;
            }
            LLVMFuzzerTestOneInput((const uint8_t *)contents, len);
        }
        g_print("replayed %d input(s)\n", argc - 1);
        return 0;
    }

    rand = g_rand_new_with_seed(0x600dcafe);
    buf = g_malloc(MAX_RANDOM_LEN);
    for (unsigned r = 0; r < runs; r++) {
        size_t len = g_rand_int_range(rand, 0, MAX_RANDOM_LEN + 1);

        for (size_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)g_rand_int(rand);
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    g_print("ran %u random input(s)\n", runs);
    return 0;
}
