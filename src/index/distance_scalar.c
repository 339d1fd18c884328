/* SPDX-License-Identifier: Apache-2.0 */
/* distance_scalar.c - portable kernels, the reference the SIMD tables are
 * tested against. Four partial sums break the add dependency chain (and let
 * the compiler use baseline SSE); the order of additions is fixed, so results
 * are reproducible on any CPU. */
#include "distance_int.h"

static inline float scalar_l2sq(const float *a, const float *b, size_t d)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;

    for (; i + 4 <= d; i += 4) {
        float t0 = a[i] - b[i], t1 = a[i + 1] - b[i + 1];
        float t2 = a[i + 2] - b[i + 2], t3 = a[i + 3] - b[i + 3];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    for (; i < d; i++) {
        float t = a[i] - b[i];
        s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
}

static inline float scalar_ip(const float *a, const float *b, size_t d)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;

    for (; i + 4 <= d; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < d; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float k_l2sq(const float *a, const float *b, size_t d) { return scalar_l2sq(a, b, d); }
static float k_ip(const float *a, const float *b, size_t d) { return scalar_ip(a, b, d); }
static float k_norm_sq(const float *a, size_t d) { return scalar_ip(a, a, d); }

static void k_l2sq_batch(const float *q, const float *x, size_t n, size_t d, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = scalar_l2sq(q, x + i * d, d);
}

static void k_ip_batch(const float *q, const float *x, size_t n, size_t d, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = scalar_ip(q, x + i * d, d);
}

/* ---- half precision: widen each value, then the float32 arithmetic above ---------------- */

#define HALF_KERNELS(kind, widen)                                                             \
    static float kind##_l2sq_row(const float *q, const uint16_t *x, size_t d)                 \
    {                                                                                         \
        float s0 = 0, s1 = 0;                                                                 \
        size_t i = 0;                                                                         \
        for (; i + 2 <= d; i += 2) {                                                          \
            float t0 = q[i] - widen(dist_load_u16(x + i));                                    \
            float t1 = q[i + 1] - widen(dist_load_u16(x + i + 1));                            \
            s0 += t0 * t0;                                                                    \
            s1 += t1 * t1;                                                                    \
        }                                                                                     \
        for (; i < d; i++) {                                                                  \
            float t = q[i] - widen(dist_load_u16(x + i));                                     \
            s0 += t * t;                                                                      \
        }                                                                                     \
        return s0 + s1;                                                                       \
    }                                                                                         \
    static float kind##_ip_row(const float *q, const uint16_t *x, size_t d)                   \
    {                                                                                         \
        float s0 = 0, s1 = 0;                                                                 \
        size_t i = 0;                                                                         \
        for (; i + 2 <= d; i += 2) {                                                          \
            s0 += q[i] * widen(dist_load_u16(x + i));                                         \
            s1 += q[i + 1] * widen(dist_load_u16(x + i + 1));                                 \
        }                                                                                     \
        for (; i < d; i++)                                                                    \
            s0 += q[i] * widen(dist_load_u16(x + i));                                         \
        return s0 + s1;                                                                       \
    }                                                                                         \
    static void k_l2sq_##kind##_batch(const float *q, const uint16_t *x, size_t n, size_t d,  \
                                      float *out)                                             \
    {                                                                                         \
        for (size_t r = 0; r < n; r++)                                                        \
            out[r] = kind##_l2sq_row(q, x + r * d, d);                                        \
    }                                                                                         \
    static void k_ip_##kind##_batch(const float *q, const uint16_t *x, size_t n, size_t d,    \
                                    float *out)                                               \
    {                                                                                         \
        for (size_t r = 0; r < n; r++)                                                        \
            out[r] = kind##_ip_row(q, x + r * d, d);                                          \
    }                                                                                         \
    static float k_norm_sq_##kind(const uint16_t *x, size_t d)                                \
    {                                                                                         \
        float s = 0;                                                                          \
        for (size_t i = 0; i < d; i++) {                                                      \
            float v = widen(dist_load_u16(x + i));                                            \
            s += v * v;                                                                       \
        }                                                                                     \
        return s;                                                                             \
    }                                                                                         \
    static void k_##kind##_to_f32(const uint16_t *x, size_t n, float *out)                    \
    {                                                                                         \
        for (size_t i = 0; i < n; i++)                                                        \
            out[i] = widen(dist_load_u16(x + i));                                             \
    }

HALF_KERNELS(f16, dist_f16_to_f32)
HALF_KERNELS(bf16, dist_bf16_to_f32)

DIST_BINARY_KERNELS(k)

const qv_distance_kernels distance_kernels_scalar = {
    .isa = QV_DISTANCE_ISA_SCALAR,
    .name = "scalar",
    .l2sq = k_l2sq,
    .ip = k_ip,
    .norm_sq = k_norm_sq,
    .l2sq_batch = k_l2sq_batch,
    .ip_batch = k_ip_batch,
    .l2sq_f16_batch = k_l2sq_f16_batch,
    .ip_f16_batch = k_ip_f16_batch,
    .norm_sq_f16 = k_norm_sq_f16,
    .l2sq_bf16_batch = k_l2sq_bf16_batch,
    .ip_bf16_batch = k_ip_bf16_batch,
    .norm_sq_bf16 = k_norm_sq_bf16,
    .f16_to_f32 = k_f16_to_f32,
    .bf16_to_f32 = k_bf16_to_f32,
    .hamming_batch = k_hamming_batch,
    .jaccard_batch = k_jaccard_batch,
};
