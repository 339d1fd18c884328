/* SPDX-License-Identifier: Apache-2.0 */
/* test_distance.c - every SIMD kernel table against the scalar one and a
 * double-precision reference; batch vs single; tails that end on a page
 * boundary; top-k with and without an allow bitmap, ties and padding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "quiver/distance.h"
#include "testutil.h"

static const size_t dims[] = {1,  2,  3,  4,  7,  8,   15,  16,  17,  31,
                              32, 33, 63, 64, 65, 100, 128, 768, 1000};
#define NDIMS (sizeof dims / sizeof dims[0])

/* xorshift64*: reproducible across runs; the seed is printed on failure paths. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)((rng_state * 2685821657736338717ull) >> 40) / (float)(1u << 24) * 2.0f - 1.0f;
}

static float *rnd_vecs(size_t n, size_t d)
{
    float *v = qv_malloc(n * d * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n * d; i++)
        v[i] = rnd();
    return v;
}

/* |got - want| within 1e-5 of the magnitude the sum is built from. */
static void assert_close(double got, double want, double scale, const char *what, const char *isa,
                         size_t d)
{
    double tol = 1e-5 * (scale > 1e-30 ? scale : 1e-30);
    ck_assert_msg(fabs(got - want) <= tol, "%s %s d=%zu: got %.9g want %.9g (tol %.3g)", isa, what,
                  d, got, want, tol);
}

START_TEST(test_isa_table)
{
    qv_distance_isa isa;
    const qv_distance_kernels *act = qv_distance_kernels_active();

    ck_assert_ptr_nonnull(qv_distance_kernels_for(QV_DISTANCE_ISA_SCALAR));
    ck_assert_ptr_nonnull(act);
    ck_assert_ptr_eq(qv_distance_kernels_for(act->isa), act);
    for (int i = 0; i < QV_DISTANCE_ISA_COUNT; i++) {
        const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
        ck_assert(qv_distance_isa_parse(qv_distance_isa_name((qv_distance_isa)i), &isa));
        ck_assert_int_eq(isa, i);
        if (k) {
            ck_assert_int_eq(k->isa, i);
            ck_assert_str_eq(k->name, qv_distance_isa_name((qv_distance_isa)i));
        }
        printf("distance: %-6s %s%s\n", qv_distance_isa_name((qv_distance_isa)i),
               k ? "supported" : "unsupported", k == act ? " (active)" : "");
    }
    ck_assert(!qv_distance_isa_parse("sse9", &isa));
    ck_assert(!qv_distance_isa_parse(NULL, &isa));
    ck_assert_str_eq(qv_distance_isa_name(QV_DISTANCE_ISA_COUNT), "?");
}
END_TEST

START_TEST(test_kernels_match_reference)
{
    for (size_t di = 0; di < NDIMS; di++) {
        size_t d = dims[di];
        for (int rep = 0; rep < 20; rep++) {
            float *a = rnd_vecs(1, d), *b = rnd_vecs(1, d);
            double l2 = 0, ip = 0, nn = 0, ipscale = 0;
            for (size_t i = 0; i < d; i++) {
                double t = (double)a[i] - b[i];
                l2 += t * t;
                ip += (double)a[i] * b[i];
                ipscale += fabs((double)a[i] * b[i]);
                nn += (double)a[i] * a[i];
            }
            const qv_distance_kernels *s = qv_distance_kernels_for(QV_DISTANCE_ISA_SCALAR);
            for (int i = 0; i < QV_DISTANCE_ISA_COUNT; i++) {
                const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
                if (!k)
                    continue;
                /* against the exact value, then against the scalar table */
                assert_close(k->l2sq(a, b, d), l2, l2, "l2sq", k->name, d);
                assert_close(k->ip(a, b, d), ip, ipscale, "ip", k->name, d);
                assert_close(k->norm_sq(a, d), nn, nn, "norm_sq", k->name, d);
                assert_close(k->l2sq(a, b, d), s->l2sq(a, b, d), l2, "l2sq/scalar", k->name, d);
                assert_close(k->ip(a, b, d), s->ip(a, b, d), ipscale, "ip/scalar", k->name, d);
            }
            qv_free(a);
            qv_free(b);
        }
    }
}
END_TEST

START_TEST(test_batch_equals_single)
{
    const size_t n = 37;

    for (size_t di = 0; di < NDIMS; di++) {
        size_t d = dims[di];
        float *q = rnd_vecs(1, d), *x = rnd_vecs(n, d), out[37];
        for (int i = 0; i < QV_DISTANCE_ISA_COUNT; i++) {
            const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
            if (!k)
                continue;
            k->l2sq_batch(q, x, n, d, out);
            for (size_t r = 0; r < n; r++)
                ck_assert_msg(out[r] == k->l2sq(q, x + r * d, d), "%s l2 batch row %zu", k->name,
                              r);
            k->ip_batch(q, x, n, d, out);
            for (size_t r = 0; r < n; r++)
                ck_assert_msg(out[r] == k->ip(q, x + r * d, d), "%s ip batch row %zu", k->name, r);
        }
        /* the public wrappers go through the active table */
        qv_distance_l2_batch(q, x, n, d, out);
        ck_assert(out[3] == qv_distance_l2sq(q, x + 3 * d, d));
        qv_distance_ip_batch(q, x, n, d, out);
        ck_assert(out[5] == qv_distance_ip(q, x + 5 * d, d));
        qv_free(q);
        qv_free(x);
    }
}
END_TEST

/* ---- half precision and binary --------------------------------------------------------- */

/* Conversions: exact widening of every binary16 value; RNE narrowing at the edges. */
START_TEST(test_half_conversions)
{
    for (uint32_t h = 0; h < 0x10000; h++) { /* every binary16 value survives a round trip */
        float f = qv_f16_to_f32((uint16_t)h);
        if (isnan(f))
            ck_assert(isnan(qv_f16_to_f32(qv_f32_to_f16(f))));
        else
            ck_assert_uint_eq(qv_f32_to_f16(f), h);
        if (isnan(qv_bf16_to_f32((uint16_t)h))) /* NaNs stay NaN (quietened) */
            ck_assert(isnan(qv_bf16_to_f32(qv_f32_to_bf16(qv_bf16_to_f32((uint16_t)h)))));
        else
            ck_assert_uint_eq(qv_f32_to_bf16(qv_bf16_to_f32((uint16_t)h)), h);
    }
    ck_assert_uint_eq(qv_f32_to_f16(1.0f), 0x3c00);
    ck_assert_uint_eq(qv_f32_to_f16(65504.0f), 0x7bff);
    ck_assert_uint_eq(qv_f32_to_f16(65519.0f), 0x7bff); /* below the halfway point */
    ck_assert_uint_eq(qv_f32_to_f16(65520.0f), 0x7c00); /* ties to even: infinity */
    ck_assert_uint_eq(qv_f32_to_f16(0x1p-25f), 0x0000); /* half the smallest subnormal: even */
    ck_assert_uint_eq(qv_f32_to_f16(0x1.8p-25f), 0x0001);
    ck_assert_uint_eq(qv_f32_to_f16(1.0f + 0x1p-11f), 0x3c00); /* tie: to even */
    ck_assert_uint_eq(qv_f32_to_f16(1.0f + 0x1.8p-11f), 0x3c01);
    ck_assert_uint_eq(qv_f32_to_f16(-2.0f), 0xc000);
    ck_assert_uint_eq(qv_f32_to_bf16(1.0f), 0x3f80);
    ck_assert_uint_eq(qv_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80); /* tie: to even */
    ck_assert_uint_eq(qv_f32_to_bf16(1.0f + 0x1.8p-8f), 0x3f81);
    ck_assert(isnan(qv_bf16_to_f32(qv_f32_to_bf16(NAN))));
}
END_TEST

/* Half-precision kernels of every table against double sums over the widened values. */
START_TEST(test_half_kernels_match_reference)
{
    const size_t n = 9;

    for (size_t di = 0; di < NDIMS; di++) {
        size_t d = dims[di];
        float *q = rnd_vecs(1, d), *w = rnd_vecs(n, d), out[9], wide[1000];
        uint16_t *h = qv_malloc(n * d * sizeof *h);
        ck_assert_ptr_nonnull(h);
        for (int kind = 0; kind < 2; kind++) {
            for (size_t i = 0; i < n * d; i++)
                h[i] = kind ? qv_f32_to_bf16(w[i]) : qv_f32_to_f16(w[i]);
            for (int isa = 0; isa < QV_DISTANCE_ISA_COUNT; isa++) {
                const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)isa);
                if (!k)
                    continue;
                (kind ? k->bf16_to_f32 : k->f16_to_f32)(h, d, wide);
                for (size_t i = 0; i < d; i++)
                    ck_assert(wide[i] == (kind ? qv_bf16_to_f32(h[i]) : qv_f16_to_f32(h[i])));
                for (int m = 0; m < 3; m++) {
                    if (m == 0)
                        (kind ? k->l2sq_bf16_batch : k->l2sq_f16_batch)(q, h, n, d, out);
                    else if (m == 1)
                        (kind ? k->ip_bf16_batch : k->ip_f16_batch)(q, h, n, d, out);
                    for (size_t r = 0; r < n; r++) {
                        double want = 0, scale = 0;
                        for (size_t i = 0; i < d; i++) {
                            double x = kind ? qv_bf16_to_f32(h[r * d + i])
                                            : qv_f16_to_f32(h[r * d + i]);
                            double t = m == 0 ? (q[i] - x) * (q[i] - x) : m == 1 ? q[i] * x : x * x;
                            want += t;
                            scale += fabs(t);
                        }
                        double got = m < 2 ? out[r]
                                           : (kind ? k->norm_sq_bf16 : k->norm_sq_f16)(h + r * d, d);
                        assert_close(got, want, scale, m == 0 ? "l2 half" : m == 1 ? "ip half" : "norm half",
                                     k->name, d);
                    }
                }
            }
        }
        qv_free(h);
        qv_free(q);
        qv_free(w);
    }
}
END_TEST

/* Hamming and Jaccard of every table equal bit-by-bit counts, for any byte length. */
START_TEST(test_binary_kernels)
{
    static const size_t lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 64, 100};
    uint8_t q[100], x[4 * 100];
    float out[4];

    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t b = lens[li];
        for (size_t i = 0; i < b; i++)
            q[i] = (uint8_t)(rnd() * 1000);
        for (size_t i = 0; i < 4 * b; i++)
            x[i] = (uint8_t)(rnd() * 1000);
        memset(x + 3 * b, 0, b); /* an all-zero row */
        for (int isa = 0; isa < QV_DISTANCE_ISA_COUNT; isa++) {
            const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)isa);
            if (!k)
                continue;
            for (int jac = 0; jac < 2; jac++) {
                (jac ? k->jaccard_batch : k->hamming_batch)(q, x, 4, b, out);
                for (size_t r = 0; r < 4; r++) {
                    unsigned diff = 0, both = 0, any = 0;
                    for (size_t i = 0; i < 8 * b; i++) {
                        int a = q[i / 8] >> (i % 8) & 1, c = x[r * b + i / 8] >> (i % 8) & 1;
                        diff += a != c;
                        both += a && c;
                        any += a || c;
                    }
                    float want = jac ? (any ? 1.0f - (float)((double)both / any) : 0.0f)
                                     : (float)diff;
                    ck_assert_msg(out[r] == want, "%s %s bytes=%zu row=%zu: %g != %g", k->name,
                                  jac ? "jaccard" : "hamming", b, r, out[r], want);
                }
            }
        }
    }
    memset(x, 0, 2);
    memset(q, 0, 2);
    qv_distance_kernels_active()->jaccard_batch(q, x, 1, 2, out);
    ck_assert(out[0] == 0.0f); /* both empty: distance 0 */
}
END_TEST

/* Vectors that end exactly at a PROT_NONE page: a tail that reads one float
 * too many faults. Also exercises unaligned starts (every offset mod 16). */
START_TEST(test_tail_never_overreads)
{
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *map =
        mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
    float *end = (float *)(map + page);

    for (size_t d = 1; d <= 70; d++) {
        float *a = end - d, *b = end - d - 80; /* both end at or before the guard */
        for (size_t i = 0; i < d; i++) {
            a[i] = rnd();
            b[i] = rnd();
        }
        for (int i = 0; i < QV_DISTANCE_ISA_COUNT; i++) {
            const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
            const qv_distance_kernels *s = qv_distance_kernels_for(QV_DISTANCE_ISA_SCALAR);
            float out;
            if (!k)
                continue;
            assert_close(k->l2sq(b, a, d), s->l2sq(b, a, d), s->l2sq(b, a, d), "l2 tail", k->name,
                         d);
            assert_close(k->norm_sq(a, d), s->norm_sq(a, d), s->norm_sq(a, d), "norm tail", k->name,
                         d);
            k->ip_batch(b, a, 1, d, &out);
        }
    }
    munmap(map, (size_t)page * 2);
}
END_TEST

START_TEST(test_normalize)
{
    float v[17], z[5] = {0};

    for (int i = 0; i < 17; i++)
        v[i] = rnd() * 10.0f;
    ck_assert(qv_distance_normalize(v, 17));
    ck_assert_float_eq_tol(qv_distance_norm(v, 17), 1.0f, 1e-6f);
    ck_assert(!qv_distance_normalize(z, 5));
    for (int i = 0; i < 5; i++)
        ck_assert(z[i] == 0.0f);
    v[3] = INFINITY;
    ck_assert(!qv_distance_normalize(v, 17));
}
END_TEST

typedef struct ref_hit {
    double dist;
    int64_t id;
} ref_hit;

static int metric_sign;
static int ref_cmp(const void *pa, const void *pb)
{
    const ref_hit *a = pa, *b = pb;
    double da = metric_sign * a->dist, db = metric_sign * b->dist;
    if (da != db)
        return da < db ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Exact (double) top-k of the allowed rows; returns the number of hits. */
static size_t ref_knn(const float *q, const float *x, size_t n, size_t d, qv_distance_metric m,
                      const uint64_t *allow, size_t k, ref_hit *out)
{
    ref_hit *all = qv_malloc(n * sizeof *all);
    size_t c = 0;

    ck_assert_ptr_nonnull(all);
    for (size_t r = 0; r < n; r++) {
        double s = 0;
        if (allow && !((allow[r / 64] >> (r % 64)) & 1))
            continue;
        for (size_t i = 0; i < d; i++) {
            double t = m == QV_DISTANCE_L2 ? (double)q[i] - x[r * d + i] : 0;
            s += m == QV_DISTANCE_L2 ? t * t : (double)q[i] * x[r * d + i];
        }
        all[c++] = (ref_hit){s, (int64_t)r};
    }
    metric_sign = m == QV_DISTANCE_L2 ? 1 : -1;
    qsort(all, c, sizeof *all, ref_cmp);
    c = c < k ? c : k;
    memcpy(out, all, c * sizeof *out);
    qv_free(all);
    return c;
}

/* ids must match the reference except where two neighbours are within a
 * float rounding of each other (then the distances must agree instead). */
static void check_knn(const qv_distance_knn *q, const char *isa)
{
    float dist[64];
    int64_t ids[64];
    ref_hit ref[64];
    size_t found = 99, nref;

    ck_assert_int_eq(qv_distance_knn_flat(q, dist, ids, &found, NULL), QV_OK);
    nref = ref_knn(q->query, q->base, q->n, q->d, q->metric, q->allow, q->k, ref);
    ck_assert_uint_eq(found, nref);
    for (size_t i = 0; i < nref; i++) {
        double scale = fabs(ref[i].dist) + 0.25 * (double)q->d; /* ~ sum of |terms| */
        ck_assert_msg(fabs(dist[i] - ref[i].dist) <= 1e-5 * scale,
                      "%s d=%zu rank %zu dist %g vs %g", isa, q->d, i, dist[i], ref[i].dist);
        if (ids[i] != ref[i].id) {
            /* a near-tie: the id we returned must be one the reference ranks equal */
            int ok = 0;
            for (size_t j = 0; j < nref; j++)
                ok |= ref[j].id == ids[i] && fabs(ref[j].dist - ref[i].dist) <= 1e-5 * scale;
            ck_assert_msg(ok, "%s d=%zu rank %zu: id %lld vs %lld", isa, q->d, i, (long long)ids[i],
                          (long long)ref[i].id);
        }
        if (q->allow)
            ck_assert(q->allow[ids[i] / 64] >> (ids[i] % 64) & 1);
    }
    for (size_t i = nref; i < q->k; i++) {
        ck_assert_int_eq(ids[i], -1);
        ck_assert(isinf(dist[i]) && (q->metric == QV_DISTANCE_L2 ? dist[i] > 0 : dist[i] < 0));
    }
}

START_TEST(test_knn_matches_reference)
{
    static const size_t kdims[] = {2, 3, 17, 128, 768};
    const size_t n = 1500;

    for (size_t di = 0; di < sizeof kdims / sizeof kdims[0]; di++) {
        size_t d = kdims[di];
        float *x = rnd_vecs(n, d), *qv = rnd_vecs(1, d);
        uint64_t allow[(1500 + 63) / 64];
        for (size_t w = 0; w < sizeof allow / sizeof allow[0]; w++)
            allow[w] = 0x9249249249249249ull ^ (w * 0x1111ull); /* roughly every third row */
        for (int i = 0; i < QV_DISTANCE_ISA_COUNT; i++) {
            const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
            if (!k)
                continue;
            for (int m = 0; m < 2; m++) {
                qv_distance_knn q = {.query = qv,
                                     .base = x,
                                     .n = n,
                                     .d = d,
                                     .k = 10,
                                     .metric = m ? QV_DISTANCE_IP : QV_DISTANCE_L2,
                                     .kernels = k};
                check_knn(&q, k->name);
                q.allow = allow;
                check_knn(&q, k->name);
                q.k = 64;
                check_knn(&q, k->name);
            }
        }
        qv_free(x);
        qv_free(qv);
    }
}
END_TEST

START_TEST(test_knn_sparse_bitmap_pads)
{
    const size_t n = 200, d = 8;
    float *x = rnd_vecs(n, d), *q = rnd_vecs(1, d), dist[10];
    int64_t ids[10];
    uint64_t allow[4] = {0};
    size_t found;

    allow[0] = 1ull << 5;
    allow[3] = 1ull << (199 - 192) | 1ull << 63; /* bit 255 lies past n: ignored */
    qv_distance_knn a = {
        .query = q, .base = x, .n = n, .d = d, .k = 10, .allow = allow, .id_base = 1000};
    ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, &found, NULL), QV_OK);
    ck_assert_uint_eq(found, 2);
    ck_assert(ids[0] == 1005 || ids[0] == 1199);
    ck_assert(ids[1] == 1005 || ids[1] == 1199);
    ck_assert(dist[0] <= dist[1]);
    for (int i = 2; i < 10; i++)
        ck_assert(ids[i] == -1 && dist[i] == INFINITY);
    memset(allow, 0, sizeof allow);
    ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, &found, NULL), QV_OK);
    ck_assert_uint_eq(found, 0);
    a.n = 0;
    a.allow = NULL;
    ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, NULL, NULL), QV_OK);
    ck_assert_int_eq(ids[0], -1);
    qv_free(x);
    qv_free(q);
}
END_TEST

/* Equal distances: the lower id wins, under both metrics and every table. */
START_TEST(test_knn_ties_lower_id)
{
    const size_t n = 300, d = 5;
    float x[300 * 5], q[5] = {1, 1, 1, 1, 1}, dist[7];
    int64_t ids[7];

    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < d; i++)
            x[r * d + i] = (r % 50 == 7) ? 1.0f : 2.0f; /* rows 7, 57, 107, ... are nearest */
    for (int i = 0; i < QV_DISTANCE_ISA_COUNT; i++) {
        const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
        if (!k)
            continue;
        qv_distance_knn a = {.query = q, .base = x, .n = n, .d = d, .k = 7, .kernels = k};
        ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, NULL, NULL), QV_OK);
        for (int j = 0; j < 6; j++)
            ck_assert_int_eq(ids[j], 7 + 50 * j);
        ck_assert_int_eq(ids[6], 0); /* then the lowest id of the next distance */
        a.metric = QV_DISTANCE_IP;   /* 2.0 rows have the larger product */
        ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, NULL, NULL), QV_OK);
        for (int j = 0; j < 7; j++)
            ck_assert_int_eq(ids[j], j);
        ck_assert(dist[0] == 10.0f && dist[6] == 10.0f);
    }
}
END_TEST

START_TEST(test_knn_rejects_bad_args)
{
    float v[4] = {0}, dist[1];
    int64_t ids[1];
    qv_error e;
    qv_distance_knn a = {.query = v, .base = v, .n = 1, .d = 4, .k = 1};

    a.k = 0;
    ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, NULL, &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "k must be"));
    a.k = 1;
    a.d = 0;
    ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, NULL, NULL), QV_EINVAL);
    a.d = 4;
    a.metric = (qv_distance_metric)7;
    ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, NULL, NULL), QV_EINVAL);
    a.metric = QV_DISTANCE_L2;
    ck_assert_int_eq(qv_distance_knn_flat(&a, NULL, ids, NULL, NULL), QV_EINVAL);
    ck_assert_int_eq(qv_distance_knn_flat(NULL, dist, ids, NULL, NULL), QV_EINVAL);
}
END_TEST

/* QUIVER_SIMD picks the table at first use; each test runs in a fresh fork. */
START_TEST(test_env_override)
{
    const char *fork = getenv("CK_FORK");
    if (fork && strcmp(fork, "no") == 0)
        return; /* the choice is per process; only meaningful under CK_FORK */
    setenv("QUIVER_SIMD", "scalar", 1);
    ck_assert_int_eq(qv_distance_kernels_active()->isa, QV_DISTANCE_ISA_SCALAR);
}
END_TEST

START_TEST(test_env_unsupported_falls_back)
{
    const char *fork = getenv("CK_FORK");
    if (fork && strcmp(fork, "no") == 0)
        return;
    setenv("QUIVER_SIMD", "bogus", 1);
    ck_assert_ptr_nonnull(qv_distance_kernels_active());
}
END_TEST

int main(void)
{
    Suite *s = suite_create("distance");
    TCase *tc = tcase_create("kernels");
    TCase *tk = tcase_create("knn");
    TCase *te = tcase_create("env");

    tcase_add_test(tc, test_isa_table);
    tcase_add_test(tc, test_kernels_match_reference);
    tcase_add_test(tc, test_batch_equals_single);
    tcase_add_test(tc, test_tail_never_overreads);
    tcase_add_test(tc, test_normalize);
    tcase_add_test(tc, test_half_conversions);
    tcase_add_test(tc, test_half_kernels_match_reference);
    tcase_add_test(tc, test_binary_kernels);
    tcase_add_test(tk, test_knn_matches_reference);
    tcase_add_test(tk, test_knn_sparse_bitmap_pads);
    tcase_add_test(tk, test_knn_ties_lower_id);
    tcase_add_test(tk, test_knn_rejects_bad_args);
    tcase_add_test(te, test_env_override);
    tcase_add_test(te, test_env_unsupported_falls_back);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tk);
    suite_add_tcase(s, te);
    return test_run_suite(s);
}
