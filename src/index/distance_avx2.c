/* SPDX-License-Identifier: Apache-2.0 */
/* distance_avx2.c - AVX2 + FMA (+ F16C, POPCNT) kernels; this file alone is built with
 * -mavx2 -mfma -mf16c -mpopcnt and is only reached after the CPU check in distance.c.
 * Half-precision rows are widened 8 values at a time (vcvtph2ps for binary16, a 16-bit
 * shift for bfloat16) straight into the FMA loop; the tail is widened in scalar code.
 *
 * Four 8-lane accumulators cover 32 floats per iteration (FMA latency 4,
 * two ports), then 8 at a time, then one masked load for the last d % 8
 * (vmaskmov never touches masked-out lanes, so no read past the vector). */
#include <immintrin.h>

#include "distance_int.h"

/* Eight -1 then eight 0: loading at tail_mask + 8 - r enables the first r lanes. */
static const int32_t tail_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline __m256i avx2_mask(size_t r)
{
    return _mm256_loadu_si256((const __m256i *)(tail_mask + 8 - r));
}

static inline float avx2_hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float avx2_l2sq(const float *a, const float *b, size_t d)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;

    for (; i + 32 <= d; i += 32) {
        __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 t2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 t3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        s0 = _mm256_fmadd_ps(t0, t0, s0);
        s1 = _mm256_fmadd_ps(t1, t1, s1);
        s2 = _mm256_fmadd_ps(t2, t2, s2);
        s3 = _mm256_fmadd_ps(t3, t3, s3);
    }
    for (; i + 8 <= d; i += 8) {
        __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(t, t, s0);
    }
    if (i < d) {
        __m256i m = avx2_mask(d - i);
        __m256 t = _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
        s1 = _mm256_fmadd_ps(t, t, s1);
    }
    return avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static inline float avx2_ip(const float *a, const float *b, size_t d)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;

    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= d; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    if (i < d) {
        __m256i m = avx2_mask(d - i);
        s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
    }
    return avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static float k_l2sq(const float *a, const float *b, size_t d) { return avx2_l2sq(a, b, d); }
static float k_ip(const float *a, const float *b, size_t d) { return avx2_ip(a, b, d); }
static float k_norm_sq(const float *a, size_t d) { return avx2_ip(a, a, d); }

static void k_l2sq_batch(const float *q, const float *x, size_t n, size_t d, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = avx2_l2sq(q, x + i * d, d);
}

static void k_ip_batch(const float *q, const float *x, size_t n, size_t d, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = avx2_ip(q, x + i * d, d);
}

/* ---- half precision ------------------------------------------------------------------- */

static inline __m256 load8_f16(const uint16_t *x)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x));
}

static inline __m256 load8_bf16(const uint16_t *x)
{
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)x));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

#define AVX2_HALF(kind, load8, widen)                                                          \
    static inline float kind##_l2sq_row(const float *q, const uint16_t *x, size_t d)          \
    {                                                                                         \
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();                            \
        size_t i = 0;                                                                         \
        float tail = 0;                                                                       \
        for (; i + 16 <= d; i += 16) {                                                        \
            __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), load8(x + i));                  \
            __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), load8(x + i + 8));          \
            s0 = _mm256_fmadd_ps(t0, t0, s0);                                                 \
            s1 = _mm256_fmadd_ps(t1, t1, s1);                                                 \
        }                                                                                     \
        for (; i + 8 <= d; i += 8) {                                                          \
            __m256 t = _mm256_sub_ps(_mm256_loadu_ps(q + i), load8(x + i));                   \
            s0 = _mm256_fmadd_ps(t, t, s0);                                                   \
        }                                                                                     \
        for (; i < d; i++) {                                                                  \
            float t = q[i] - widen(dist_load_u16(x + i));                                     \
            tail += t * t;                                                                    \
        }                                                                                     \
        return avx2_hsum(_mm256_add_ps(s0, s1)) + tail;                                       \
    }                                                                                         \
    static inline float kind##_ip_row(const float *q, const uint16_t *x, size_t d)            \
    {                                                                                         \
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();                            \
        size_t i = 0;                                                                         \
        float tail = 0;                                                                       \
        for (; i + 16 <= d; i += 16) {                                                        \
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(x + i), s0);                   \
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load8(x + i + 8), s1);           \
        }                                                                                     \
        for (; i + 8 <= d; i += 8)                                                            \
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(x + i), s0);                   \
        for (; i < d; i++)                                                                    \
            tail += q[i] * widen(dist_load_u16(x + i));                                       \
        return avx2_hsum(_mm256_add_ps(s0, s1)) + tail;                                       \
    }                                                                                         \
    void distance_avx2_l2sq_##kind##_batch(const float *q, const uint16_t *x, size_t n,       \
                                           size_t d, float *out)                              \
    {                                                                                         \
        for (size_t r = 0; r < n; r++)                                                        \
            out[r] = kind##_l2sq_row(q, x + r * d, d);                                        \
    }                                                                                         \
    void distance_avx2_ip_##kind##_batch(const float *q, const uint16_t *x, size_t n,         \
                                         size_t d, float *out)                                \
    {                                                                                         \
        for (size_t r = 0; r < n; r++)                                                        \
            out[r] = kind##_ip_row(q, x + r * d, d);                                          \
    }                                                                                         \
    float distance_avx2_norm_sq_##kind(const uint16_t *x, size_t d)                           \
    {                                                                                         \
        __m256 s = _mm256_setzero_ps();                                                       \
        size_t i = 0;                                                                         \
        float tail = 0;                                                                       \
        for (; i + 8 <= d; i += 8) {                                                          \
            __m256 v = load8(x + i);                                                          \
            s = _mm256_fmadd_ps(v, v, s);                                                     \
        }                                                                                     \
        for (; i < d; i++) {                                                                  \
            float v = widen(dist_load_u16(x + i));                                            \
            tail += v * v;                                                                    \
        }                                                                                     \
        return avx2_hsum(s) + tail;                                                           \
    }                                                                                         \
    void distance_avx2_##kind##_to_f32(const uint16_t *x, size_t n, float *out)               \
    {                                                                                         \
        size_t i = 0;                                                                         \
        for (; i + 8 <= n; i += 8)                                                            \
            _mm256_storeu_ps(out + i, load8(x + i));                                          \
        for (; i < n; i++)                                                                    \
            out[i] = widen(dist_load_u16(x + i));                                             \
    }

AVX2_HALF(f16, load8_f16, dist_f16_to_f32)
AVX2_HALF(bf16, load8_bf16, dist_bf16_to_f32)

/* ---- binary: the shared loops, built here with hardware popcnt ----------------------- */

DIST_BINARY_KERNELS(bin)

void distance_avx2_hamming_batch(const uint8_t *q, const uint8_t *x, size_t n, size_t bytes,
                                 float *out)
{
    bin_hamming_batch(q, x, n, bytes, out);
}

void distance_avx2_jaccard_batch(const uint8_t *q, const uint8_t *x, size_t n, size_t bytes,
                                 float *out)
{
    bin_jaccard_batch(q, x, n, bytes, out);
}

const qv_distance_kernels distance_kernels_avx2 = {
    .isa = QV_DISTANCE_ISA_AVX2,
    .name = "avx2",
    .l2sq = k_l2sq,
    .ip = k_ip,
    .norm_sq = k_norm_sq,
    .l2sq_batch = k_l2sq_batch,
    .ip_batch = k_ip_batch,
    DISTANCE_AVX2_EXTRA_ENTRIES,
};
