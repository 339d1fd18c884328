/* SPDX-License-Identifier: Apache-2.0 */
/* distance_int.h - kernel tables shared between the dispatcher (distance.c) and
 * the per-ISA translation units, each compiled with its own -m flags. Nothing
 * here may be called before the CPU has been checked for the ISA. */
#ifndef QUIVER_INDEX_DISTANCE_INT_H
#define QUIVER_INDEX_DISTANCE_INT_H

#include <string.h>

#include "quiver/distance.h"

/* ---- half precision, scalar (exact widening; RNE narrowing) ------------------------------ */

static inline float dist_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t dist_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float dist_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;

    if (exp == 0x1f) /* inf, NaN (payload kept) */
        return dist_bits_f32(sign | 0x7f800000u | man << 13);
    if (exp == 0) {
        if (man == 0)
            return dist_bits_f32(sign);
        /* subnormal: man * 2^-24, exact in float32 */
        float f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    return dist_bits_f32(sign | (exp + 112) << 23 | man << 13);
}

static inline float dist_bf16_to_f32(uint16_t h) { return dist_bits_f32((uint32_t)h << 16); }

/* Rows of half-precision values are read as little-endian u16 without alignment needs. */
static inline uint16_t dist_load_u16(const uint16_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* ---- binary ---------------------------------------------------------------------------- */

static inline uint64_t dist_load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Popcounts of q^x, q&x and q|x over `bytes` bytes (any length). */
static inline void dist_popcounts(const uint8_t *q, const uint8_t *x, size_t bytes,
                                  uint64_t *xor_bits, uint64_t *and_bits, uint64_t *or_bits)
{
    uint64_t cx = 0, ca = 0, co = 0;
    size_t i = 0;

    for (; i + 8 <= bytes; i += 8) {
        uint64_t a = dist_load_u64(q + i), b = dist_load_u64(x + i);
        cx += (uint64_t)__builtin_popcountll(a ^ b);
        ca += (uint64_t)__builtin_popcountll(a & b);
        co += (uint64_t)__builtin_popcountll(a | b);
    }
    for (; i < bytes; i++) {
        unsigned a = q[i], b = x[i];
        cx += (uint64_t)__builtin_popcount(a ^ b);
        ca += (uint64_t)__builtin_popcount(a & b);
        co += (uint64_t)__builtin_popcount(a | b);
    }
    *xor_bits = cx;
    *and_bits = ca;
    *or_bits = co;
}

static inline float dist_jaccard(uint64_t and_bits, uint64_t or_bits)
{
    return or_bits ? 1.0f - (float)((double)and_bits / (double)or_bits) : 0.0f;
}

/* Binary kernels shared by every table: the ISA only changes how popcount compiles
 * (distance_avx2.c builds them with -mpopcnt). */
#define DIST_BINARY_KERNELS(prefix)                                                           \
    static void prefix##_hamming_batch(const uint8_t *q, const uint8_t *x, size_t n,         \
                                       size_t bytes, float *out)                             \
    {                                                                                        \
        for (size_t r = 0; r < n; r++) {                                                     \
            const uint8_t *row = x + r * bytes;                                              \
            uint64_t c = 0;                                                                  \
            size_t i = 0;                                                                    \
            for (; i + 8 <= bytes; i += 8)                                                   \
                c += (uint64_t)__builtin_popcountll(dist_load_u64(q + i) ^                   \
                                                    dist_load_u64(row + i));                 \
            for (; i < bytes; i++)                                                           \
                c += (uint64_t)__builtin_popcount((unsigned)(q[i] ^ row[i]));                \
            out[r] = (float)c;                                                               \
        }                                                                                    \
    }                                                                                        \
    static void prefix##_jaccard_batch(const uint8_t *q, const uint8_t *x, size_t n,         \
                                       size_t bytes, float *out)                             \
    {                                                                                        \
        for (size_t r = 0; r < n; r++) {                                                     \
            uint64_t cx, ca, co;                                                             \
            dist_popcounts(q, x + r * bytes, bytes, &cx, &ca, &co);                          \
            out[r] = dist_jaccard(ca, co);                                                   \
        }                                                                                    \
    }

extern const qv_distance_kernels distance_kernels_scalar;
#if defined(__x86_64__)
#define DISTANCE_HAVE_X86 1
extern const qv_distance_kernels distance_kernels_avx2;   /* distance_avx2.c */
extern const qv_distance_kernels distance_kernels_avx512; /* distance_avx512.c */
/* AVX2+F16C half-precision kernels, also used by the AVX-512 table (every AVX-512F CPU
 * has AVX2, FMA and F16C; distance.c checks all four before choosing that table). */
void distance_avx2_l2sq_f16_batch(const float *q, const uint16_t *x, size_t n, size_t d,
                                  float *out);
void distance_avx2_ip_f16_batch(const float *q, const uint16_t *x, size_t n, size_t d,
                                float *out);
float distance_avx2_norm_sq_f16(const uint16_t *x, size_t d);
void distance_avx2_l2sq_bf16_batch(const float *q, const uint16_t *x, size_t n, size_t d,
                                   float *out);
void distance_avx2_ip_bf16_batch(const float *q, const uint16_t *x, size_t n, size_t d,
                                 float *out);
float distance_avx2_norm_sq_bf16(const uint16_t *x, size_t d);
void distance_avx2_f16_to_f32(const uint16_t *x, size_t n, float *out);
void distance_avx2_bf16_to_f32(const uint16_t *x, size_t n, float *out);
void distance_avx2_hamming_batch(const uint8_t *q, const uint8_t *x, size_t n, size_t bytes,
                                 float *out);
void distance_avx2_jaccard_batch(const uint8_t *q, const uint8_t *x, size_t n, size_t bytes,
                                 float *out);
/* The half-precision and binary entries of the AVX2 and AVX-512 tables. */
#define DISTANCE_AVX2_EXTRA_ENTRIES                                                           \
    .l2sq_f16_batch = distance_avx2_l2sq_f16_batch, .ip_f16_batch = distance_avx2_ip_f16_batch, \
    .norm_sq_f16 = distance_avx2_norm_sq_f16,                                                 \
    .l2sq_bf16_batch = distance_avx2_l2sq_bf16_batch,                                         \
    .ip_bf16_batch = distance_avx2_ip_bf16_batch, .norm_sq_bf16 = distance_avx2_norm_sq_bf16, \
    .f16_to_f32 = distance_avx2_f16_to_f32, .bf16_to_f32 = distance_avx2_bf16_to_f32,         \
    .hamming_batch = distance_avx2_hamming_batch, .jaccard_batch = distance_avx2_jaccard_batch
#endif

#endif
