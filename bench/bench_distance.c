/* SPDX-License-Identifier: Apache-2.0 */
/* bench_distance.c - ns per call of each distance kernel table (scalar, AVX2,
 * AVX-512) at several dimensions, hot in cache; batch ns per row and top-10
 * brute force over 100k x 128 (memory-bound). Not a test: prints a table.
 * Usage: bench_distance [rows_for_knn] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "quiver/alloc.h"
#include "quiver/distance.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static float *rnd_vecs(size_t n, size_t d, unsigned seed)
{
    float *v = qv_malloc(n * d * sizeof *v);
    srand(seed);
    for (size_t i = 0; v && i < n * d; i++)
        v[i] = (float)rand() / (float)RAND_MAX;
    return v;
}

/* Cycle over `rows` rows (mask, power of two); best of 5 runs. 4 rows stay
 * in L1 up to d=1536; 64 rows at d >= 768 live in L2. */
static double ns_per_call(float (*fn)(const float *, const float *, size_t), const float *q,
                          const float *x, size_t d, size_t iters, size_t rows)
{
    volatile float sink = 0;
    double best = 1e30;

    for (int run = 0; run < 5; run++) {
        double t0 = now_ns();
        float acc = 0;
        for (size_t i = 0; i < iters; i++)
            acc += fn(q, x + (i & (rows - 1)) * d, d);
        double t = (now_ns() - t0) / (double)iters;
        sink += acc;
        best = t < best ? t : best;
    }
    (void)sink;
    return best;
}

int main(int argc, char **argv)
{
    static const size_t dims[] = {4, 16, 100, 128, 768, 1536};
    size_t nknn = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000, dk = 128;

    printf("active kernels: %s\n", qv_distance_kernels_active()->name);
    printf("ns per call; L1: 4 rows cycled, L2: 64 rows cycled\n");
    printf("%-7s %6s %10s %10s %10s %10s\n", "isa", "d", "l2sq L1", "ip L1", "norm L1", "l2sq L2");
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        size_t d = dims[di], iters = 40000000 / (d + 16);
        float *q = rnd_vecs(1, d, 1), *x = rnd_vecs(64, d, 2);
        for (int i = 0; i < QV_DISTANCE_ISA_COUNT; i++) {
            const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
            if (!k)
                continue;
            double l2 = ns_per_call(k->l2sq, q, x, d, iters, 4);
            double ip = ns_per_call(k->ip, q, x, d, iters, 4);
            double l2big = ns_per_call(k->l2sq, q, x, d, iters, 64);
            double t0 = now_ns();
            volatile float s = 0;
            for (size_t it = 0; it < iters; it++)
                s += k->norm_sq(x + (it & 3) * d, d);
            printf("%-7s %6zu %10.2f %10.2f %10.2f %10.2f\n", k->name, d, l2, ip,
                   (now_ns() - t0) / (double)iters, l2big);
        }
        qv_free(q);
        qv_free(x);
    }

    float *base = rnd_vecs(nknn, dk, 3), *q = rnd_vecs(16, dk, 4), *out = qv_malloc(nknn * 4);
    printf("\n%zu x %zu rows (%.0f MB), streaming:\n", nknn, dk, nknn * dk * 4 / 1e6);
    printf("%-7s %14s %14s\n", "isa", "l2_batch ns/row", "knn k=10 ms/q");
    for (int i = 0; i < QV_DISTANCE_ISA_COUNT; i++) {
        const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
        float dist[10];
        int64_t ids[10];
        double best_b = 1e30, best_k = 1e30;
        if (!k)
            continue;
        for (int run = 0; run < 3; run++) {
            double t0 = now_ns();
            k->l2sq_batch(q, base, nknn, dk, out);
            double tb = (now_ns() - t0) / (double)nknn;
            t0 = now_ns();
            for (int j = 0; j < 16; j++) {
                qv_distance_knn a = {
                    .query = q + j * dk, .base = base, .n = nknn, .d = dk, .k = 10, .kernels = k};
                qv_distance_knn_flat(&a, dist, ids, NULL, NULL);
            }
            double tk = (now_ns() - t0) / 16 / 1e6;
            best_b = tb < best_b ? tb : best_b;
            best_k = tk < best_k ? tk : best_k;
        }
        printf("%-7s %14.2f %14.3f\n", k->name, best_b, best_k);
    }
    qv_free(base);
    qv_free(q);
    qv_free(out);
    return 0;
}
