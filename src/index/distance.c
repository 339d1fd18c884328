/* SPDX-License-Identifier: Apache-2.0 */
/* distance.c - picks the kernel table for this CPU and runs brute-force top-k.
 *
 * The choice is made once (pthread_once) and never changes afterwards, so a
 * table pointer fetched by a caller stays valid and consistent for the life
 * of the process. qv_distance_knn_flat keeps the k best candidates in a
 * bounded max-heap built in the caller's output arrays (no allocation), with
 * the worst kept candidate at the root; IP distances are negated on the way
 * in so both metrics share "smaller key is better, then lower id". */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "distance_int.h"
#include "quiver/log.h"

#define KNN_BLOCK_ROWS 256 /* rows per batch-kernel call on the unfiltered path */

static const char *const isa_names[QV_DISTANCE_ISA_COUNT] = {"scalar", "avx2", "avx512"};

static pthread_once_t active_once = PTHREAD_ONCE_INIT;
static const qv_distance_kernels *active_kernels; /* written once under active_once */

const char *qv_distance_isa_name(qv_distance_isa isa)
{
    return (isa >= 0 && isa < QV_DISTANCE_ISA_COUNT) ? isa_names[isa] : "?";
}

bool qv_distance_isa_parse(const char *name, qv_distance_isa *out)
{
    for (int i = 0; name && i < QV_DISTANCE_ISA_COUNT; i++) {
        if (strcmp(name, isa_names[i]) == 0) {
            *out = (qv_distance_isa)i;
            return true;
        }
    }
    return false;
}

#ifdef DISTANCE_HAVE_X86
static bool avx2_ok(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c") && __builtin_cpu_supports("popcnt");
}
#endif

const qv_distance_kernels *qv_distance_kernels_for(qv_distance_isa isa)
{
    switch (isa) {
    case QV_DISTANCE_ISA_SCALAR:
        return &distance_kernels_scalar;
#ifdef DISTANCE_HAVE_X86
    case QV_DISTANCE_ISA_AVX2:
        __builtin_cpu_init();
        return avx2_ok() ? &distance_kernels_avx2 : NULL;
    case QV_DISTANCE_ISA_AVX512:
        /* its half-precision and binary entries are the AVX2 ones */
        return avx2_ok() && __builtin_cpu_supports("avx512f") ? &distance_kernels_avx512 : NULL;
#endif
    default:
        return NULL;
    }
}

static const qv_distance_kernels *best_kernels(void)
{
    for (int i = QV_DISTANCE_ISA_COUNT - 1; i > 0; i--) {
        const qv_distance_kernels *k = qv_distance_kernels_for((qv_distance_isa)i);
        if (k)
            return k;
    }
    return &distance_kernels_scalar;
}

static void choose_active(void)
{
    const char *want = getenv("QUIVER_SIMD");
    const qv_distance_kernels *k = NULL;
    qv_distance_isa isa;

    if (want && *want && strcmp(want, "auto") != 0) {
        if (!qv_distance_isa_parse(want, &isa))
            qv_log_warn("distance", "QUIVER_SIMD=%s: unknown (scalar, avx2, avx512, auto)", want);
        else if ((k = qv_distance_kernels_for(isa)) == NULL)
            qv_log_warn("distance", "QUIVER_SIMD=%s: not supported by this CPU or build", want);
    }
    active_kernels = k ? k : best_kernels();
}

const qv_distance_kernels *qv_distance_kernels_active(void)
{
    pthread_once(&active_once, choose_active);
    return active_kernels;
}

float qv_distance_l2sq(const float *a, const float *b, size_t d)
{
    return qv_distance_kernels_active()->l2sq(a, b, d);
}

float qv_distance_ip(const float *a, const float *b, size_t d)
{
    return qv_distance_kernels_active()->ip(a, b, d);
}

float qv_distance_norm(const float *a, size_t d)
{
    return sqrtf(qv_distance_kernels_active()->norm_sq(a, d));
}

bool qv_distance_normalize(float *x, size_t d)
{
    float norm = qv_distance_norm(x, d), inv;

    if (!(norm > 0.0f) || !isfinite(norm))
        return false;
    inv = 1.0f / norm;
    for (size_t i = 0; i < d; i++)
        x[i] *= inv;
    return true;
}

void qv_distance_l2_batch(const float *q, const float *x, size_t n, size_t d, float *out)
{
    qv_distance_kernels_active()->l2sq_batch(q, x, n, d, out);
}

void qv_distance_ip_batch(const float *q, const float *x, size_t n, size_t d, float *out)
{
    qv_distance_kernels_active()->ip_batch(q, x, n, d, out);
}

/* ---- half precision --------------------------------------------------------------------- */

float qv_f16_to_f32(uint16_t h) { return dist_f16_to_f32(h); }
float qv_bf16_to_f32(uint16_t h) { return dist_bf16_to_f32(h); }

uint16_t qv_f32_to_f16(float f)
{
    uint32_t u = dist_f32_bits(f), sign = (u >> 16) & 0x8000u, abs = u & 0x7fffffffu;

    if (abs >= 0x7f800000u) /* inf or NaN (quiet, top payload bits kept) */
        return (uint16_t)(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u | (abs >> 13 & 0x3ffu) : 0));
    if (abs >= 0x477ff000u) /* rounds past 65504 */
        return (uint16_t)(sign | 0x7c00u);
    if (abs < 0x38800000u) { /* below 2^-14: a binary16 subnormal or zero */
        /* value / 2^-24, rounded to nearest even through float arithmetic (exact here) */
        float v = dist_bits_f32(abs) * 0x1p24f;
        uint32_t m = (uint32_t)v;
        float rem = v - (float)m;
        if (rem > 0.5f || (rem == 0.5f && (m & 1)))
            m++;
        return (uint16_t)(sign | m); /* m == 0x400 turns into the smallest normal */
    }
    /* normal: drop 13 mantissa bits, round to nearest even (a carry bumps the exponent) */
    uint32_t r = abs + 0xfffu + ((abs >> 13) & 1u);
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

uint16_t qv_f32_to_bf16(float f)
{
    uint32_t u = dist_f32_bits(f);

    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a (quiet) NaN */
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* ---- top-k ------------------------------------------------------------------------------ */

typedef struct knn_heap {
    float *key;  /* caller's dist array */
    int64_t *id; /* caller's ids array */
    size_t size; /* entries in use */
    size_t cap;  /* k */
} knn_heap;

/* (ka, ia) ranks after (kb, ib): larger key, or same key and larger id. */
static inline bool knn_worse(float ka, int64_t ia, float kb, int64_t ib)
{
    return ka > kb || (ka == kb && ia > ib);
}

static void knn_sift_down(knn_heap *h, size_t i, size_t size)
{
    float k = h->key[i];
    int64_t id = h->id[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= size)
            break;
        if (c + 1 < size && knn_worse(h->key[c + 1], h->id[c + 1], h->key[c], h->id[c]))
            c++;
        if (!knn_worse(h->key[c], h->id[c], k, id))
            break;
        h->key[i] = h->key[c];
        h->id[i] = h->id[c];
        i = c;
    }
    h->key[i] = k;
    h->id[i] = id;
}

static inline void knn_offer(knn_heap *h, float key, int64_t id)
{
    size_t i;

    if (isnan(key))
        return;
    if (h->size < h->cap) {
        for (i = h->size++; i > 0; i = (i - 1) / 2) { /* sift up */
            size_t p = (i - 1) / 2;
            if (!knn_worse(key, id, h->key[p], h->id[p]))
                break;
            h->key[i] = h->key[p];
            h->id[i] = h->id[p];
        }
        h->key[i] = key;
        h->id[i] = id;
    } else if (knn_worse(h->key[0], h->id[0], key, id)) {
        h->key[0] = key;
        h->id[0] = id;
        knn_sift_down(h, 0, h->size);
    }
}

/* Heap-sort in place: best first. */
static void knn_finish(knn_heap *h)
{
    for (size_t n = h->size; n > 1; n--) {
        float k = h->key[0];
        int64_t id = h->id[0];
        h->key[0] = h->key[n - 1];
        h->id[0] = h->id[n - 1];
        h->key[n - 1] = k;
        h->id[n - 1] = id;
        knn_sift_down(h, 0, n - 1);
    }
}

static void knn_scan_all(const qv_distance_knn *q, const qv_distance_kernels *kr, float sign,
                         knn_heap *h)
{
    float tmp[KNN_BLOCK_ROWS];

    for (size_t r0 = 0; r0 < q->n; r0 += KNN_BLOCK_ROWS) {
        size_t m = q->n - r0 < KNN_BLOCK_ROWS ? q->n - r0 : KNN_BLOCK_ROWS;
        if (q->metric == QV_DISTANCE_L2)
            kr->l2sq_batch(q->query, q->base + r0 * q->d, m, q->d, tmp);
        else
            kr->ip_batch(q->query, q->base + r0 * q->d, m, q->d, tmp);
        for (size_t j = 0; j < m; j++)
            knn_offer(h, sign * tmp[j], q->id_base + (int64_t)(r0 + j));
    }
}

static void knn_scan_bitmap(const qv_distance_knn *q, const qv_distance_kernels *kr, float sign,
                            knn_heap *h)
{
    float (*dist)(const float *, const float *, size_t) =
        q->metric == QV_DISTANCE_L2 ? kr->l2sq : kr->ip;
    size_t words = (q->n + 63) / 64;

    for (size_t w = 0; w < words; w++) {
        uint64_t bits = q->allow[w];
        if (w == words - 1 && q->n % 64)
            bits &= (UINT64_C(1) << (q->n % 64)) - 1;
        while (bits) {
            size_t r = w * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            knn_offer(h, sign * dist(q->query, q->base + r * q->d, q->d), q->id_base + (int64_t)r);
        }
    }
}

qv_err qv_distance_knn_flat(const qv_distance_knn *q, float *dist, int64_t *ids, size_t *found,
                            qv_error *err)
{
    const qv_distance_kernels *kr;
    knn_heap h;
    float sign;

    if (!q || !q->query || (!q->base && q->n) || !dist || !ids)
        return qv_error_set(err, QV_EINVAL, "knn: NULL argument");
    if (q->d == 0 || q->k == 0)
        return qv_error_set(err, QV_EINVAL, "knn: d and k must be >= 1, not %zu and %zu", q->d,
                            q->k);
    if (q->metric != QV_DISTANCE_L2 && q->metric != QV_DISTANCE_IP)
        return qv_error_set(err, QV_EINVAL, "knn: unknown metric %d", (int)q->metric);
    kr = q->kernels ? q->kernels : qv_distance_kernels_active();
    sign = q->metric == QV_DISTANCE_L2 ? 1.0f : -1.0f;
    h = (knn_heap){.key = dist, .id = ids, .size = 0, .cap = q->k};
    if (q->allow)
        knn_scan_bitmap(q, kr, sign, &h);
    else
        knn_scan_all(q, kr, sign, &h);
    knn_finish(&h);
    for (size_t i = 0; i < h.size; i++)
        dist[i] *= sign;
    for (size_t i = h.size; i < q->k; i++) {
        dist[i] = sign * INFINITY;
        ids[i] = -1;
    }
    if (found)
        *found = h.size;
    return QV_OK;
}
