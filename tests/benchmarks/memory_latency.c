/* How long one random read from main memory takes on this machine, for bench_policies.py.

       cc -O2 -o memory_latency memory_latency.c && ./memory_latency BYTES...

   For each size: a buffer of BYTES, allocated as the decision index allocates its tables (2 MiB
   aligned, transparent huge pages asked for), one 8-byte word per 64-byte cache line linked into
   one random cycle (Sattolo's shuffle); then a chain of dependent reads follows the cycle, so
   that each read waits for the one before, as a decision waits for its slot. Prints one line per
   size: BYTES and the mean nanoseconds per read. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t state = 0x9E3779B97F4A7C15u;

static uint64_t next_random(void) { /* xorshift64 */
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int measure(size_t bytes, double *ns) {
    size_t lines = bytes / 64, i, at = 0;
    const size_t align = (size_t)2 << 20, size = (lines * 64 + align - 1) & ~(align - 1);
    uint64_t *words, *order;
    long steps = 2000000, k;
    double start;
    if (lines < 2) return -1;
    if (posix_memalign((void **)&words, align, size) != 0) return -1;
#ifdef MADV_HUGEPAGE
    madvise(words, size, MADV_HUGEPAGE);
#endif
    order = malloc(lines * sizeof(uint64_t));
    if (order == NULL) {
        free(words);
        return -1;
    }
    for (i = 0; i < lines; i++) order[i] = i;
    for (i = lines - 1; i > 0; i--) { /* Sattolo: one cycle through every line */
        size_t j = next_random() % i, t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (i = 0; i < lines; i++) words[order[i] * 8] = order[(i + 1) % lines] * 8;
    free(order);
    for (k = 0; k < steps / 4; k++) at = words[at]; /* warm up the page tables */
    start = seconds();
    for (k = 0; k < steps; k++) at = words[at];
    *ns = (seconds() - start) * 1e9 / (double)steps;
    free(words);
    return at == (size_t)-1; /* keeps the chain from being optimised away */
}

int main(int argc, char **argv) {
    int i;
    for (i = 1; i < argc; i++) {
        double ns;
        size_t bytes = strtoull(argv[i], NULL, 10);
        if (measure(bytes, &ns) != 0) {
            fprintf(stderr, "cannot measure %s bytes\n", argv[i]);
            return 1;
        }
        printf("%zu %.1f\n", bytes, ns);
    }
    return 0;
}
