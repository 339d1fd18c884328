/* SPDX-License-Identifier: Apache-2.0 */
/* distance_avx512.c - AVX-512F kernels; this file alone is built with
 * -mavx512f and is only reached after the CPU check in distance.c.
 *
 * Four 16-lane accumulators cover 64 floats per iteration, then 16 at a time,
 * then one zero-masked load for the last d % 16 (masked-out lanes are never
 * read, so nothing past the vector is touched). */
#include <immintrin.h>

#include "distance_int.h"

static inline __mmask16 avx512_mask(size_t r) { return (__mmask16)((1u << r) - 1u); }

static inline float avx512_l2sq(const float *a, const float *b, size_t d)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;

    for (; i + 64 <= d; i += 64) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        __m512 t2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        __m512 t3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
        s1 = _mm512_fmadd_ps(t1, t1, s1);
        s2 = _mm512_fmadd_ps(t2, t2, s2);
        s3 = _mm512_fmadd_ps(t3, t3, s3);
    }
    for (; i + 16 <= d; i += 16) {
        __m512 t = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(t, t, s0);
    }
    if (i < d) {
        __mmask16 m = avx512_mask(d - i);
        __m512 t = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s1 = _mm512_fmadd_ps(t, t, s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static inline float avx512_ip(const float *a, const float *b, size_t d)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;

    for (; i + 64 <= d; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= d; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < d) {
        __mmask16 m = avx512_mask(d - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float k_l2sq(const float *a, const float *b, size_t d) { return avx512_l2sq(a, b, d); }
static float k_ip(const float *a, const float *b, size_t d) { return avx512_ip(a, b, d); }
static float k_norm_sq(const float *a, size_t d) { return avx512_ip(a, a, d); }

static void k_l2sq_batch(const float *q, const float *x, size_t n, size_t d, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = avx512_l2sq(q, x + i * d, d);
}

static void k_ip_batch(const float *q, const float *x, size_t n, size_t d, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = avx512_ip(q, x + i * d, d);
}

const qv_distance_kernels distance_kernels_avx512 = {
    .isa = QV_DISTANCE_ISA_AVX512,
    .name = "avx512",
    .l2sq = k_l2sq,
    .ip = k_ip,
    .norm_sq = k_norm_sq,
    .l2sq_batch = k_l2sq_batch,
    .ip_batch = k_ip_batch,
    /* half precision and binary: the AVX2 kernels (memory-bound at these widths) */
    DISTANCE_AVX2_EXTRA_ENTRIES,
};
