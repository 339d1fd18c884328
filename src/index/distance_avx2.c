/* SPDX-License-Identifier: Apache-2.0 */
/* distance_avx2.c - AVX2 + FMA kernels; this file alone is built with
 * -mavx2 -mfma and is only reached after the CPU check in distance.c.
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

const qv_distance_kernels distance_kernels_avx2 = {
    .isa = QV_DISTANCE_ISA_AVX2,
    .name = "avx2",
    .l2sq = k_l2sq,
    .ip = k_ip,
    .norm_sq = k_norm_sq,
    .l2sq_batch = k_l2sq_batch,
    .ip_batch = k_ip_batch,
};
