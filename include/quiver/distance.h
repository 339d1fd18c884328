/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/distance.h - distance kernels (scalar, AVX2+FMA+F16C, AVX-512F) over float32,
 * half-precision (IEEE binary16 "float16" and bfloat16, converted to float32 inside the
 * kernels) and binary vectors (popcount Hamming and Jaccard), and brute-force top-k over
 * a contiguous block of float32 vectors.
 *
 * Each instruction set has its own kernel table, compiled in its own
 * translation unit with its own -m flags. The active table is picked once, on
 * first use: the best one this CPU runs, unless QUIVER_SIMD=scalar|avx2|avx512
 * (or "auto") asks for another; a request the CPU cannot honour logs a
 * warning and falls back to the best supported table.
 *
 * Distances: L2 is the squared Euclidean distance (smaller is closer); IP is
 * the inner product (larger is closer). Cosine similarity is IP over vectors
 * normalized with qv_distance_normalize. Vectors need no particular alignment;
 * d may be any value >= 1. All functions here are thread-safe. */
#ifndef QUIVER_DISTANCE_H
#define QUIVER_DISTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* err.h carries no extern "C" of its own */
#include "quiver/err.h"

typedef enum qv_distance_isa {
    QV_DISTANCE_ISA_SCALAR, /* portable C, baseline ISA */
    QV_DISTANCE_ISA_AVX2,   /* AVX2 + FMA (x86-64) */
    QV_DISTANCE_ISA_AVX512, /* AVX-512F (x86-64) */
    QV_DISTANCE_ISA_COUNT
} qv_distance_isa;

typedef enum qv_distance_metric {
    QV_DISTANCE_L2, /* squared L2, ascending */
    QV_DISTANCE_IP  /* inner product, descending */
} qv_distance_metric;

/* One instruction set's kernels. The batch forms compute one query q against
 * n contiguous rows x[0..n*d) into out[0..n) and give bit-identical results
 * to calling the single form row by row. */
typedef struct qv_distance_kernels {
    qv_distance_isa isa;
    const char *name; /* "scalar", "avx2", "avx512" */
    float (*l2sq)(const float *a, const float *b, size_t d);
    float (*ip)(const float *a, const float *b, size_t d);
    float (*norm_sq)(const float *a, size_t d);
    void (*l2sq_batch)(const float *q, const float *x, size_t n, size_t d, float *out);
    void (*ip_batch)(const float *q, const float *x, size_t n, size_t d, float *out);
    /* Half-precision rows: x holds n rows of d little-endian binary16 (f16) or bfloat16
     * (bf16) values; the query q is float32. Each value is widened to float32 exactly and
     * the sums run in float32, so results equal the float32 kernels over the widened
     * rows up to summation order. */
    void (*l2sq_f16_batch)(const float *q, const uint16_t *x, size_t n, size_t d, float *out);
    void (*ip_f16_batch)(const float *q, const uint16_t *x, size_t n, size_t d, float *out);
    float (*norm_sq_f16)(const uint16_t *x, size_t d);
    void (*l2sq_bf16_batch)(const float *q, const uint16_t *x, size_t n, size_t d, float *out);
    void (*ip_bf16_batch)(const float *q, const uint16_t *x, size_t n, size_t d, float *out);
    float (*norm_sq_bf16)(const uint16_t *x, size_t d);
    void (*f16_to_f32)(const uint16_t *x, size_t n, float *out);  /* widen n values */
    void (*bf16_to_f32)(const uint16_t *x, size_t n, float *out);
    /* Binary rows of `bytes` bytes each (bit i of a vector is bit i%8 of byte i/8):
     * Hamming distance (differing bits) and Jaccard distance 1 - |q&x| / |q|x| (0 when
     * both are all zero), as Milvus defines them. Exact on every table. */
    void (*hamming_batch)(const uint8_t *q, const uint8_t *x, size_t n, size_t bytes,
                          float *out);
    void (*jaccard_batch)(const uint8_t *q, const uint8_t *x, size_t n, size_t bytes,
                          float *out);
} qv_distance_kernels;

/* Kernel table for isa, or NULL when this build or this CPU lacks it. */
const qv_distance_kernels *qv_distance_kernels_for(qv_distance_isa isa);
/* The table chosen at first use (QUIVER_SIMD or the best supported); never NULL. */
const qv_distance_kernels *qv_distance_kernels_active(void);
/* "scalar", "avx2", "avx512"; "?" for an out-of-range value. */
const char *qv_distance_isa_name(qv_distance_isa isa);
/* Parse an isa name as accepted by QUIVER_SIMD; false when unknown. */
bool qv_distance_isa_parse(const char *name, qv_distance_isa *out);

/* Single-pair and batch forms through the active table. */
float qv_distance_l2sq(const float *a, const float *b, size_t d);
float qv_distance_ip(const float *a, const float *b, size_t d);
float qv_distance_norm(const float *a, size_t d); /* Euclidean norm, sqrt(sum a_i^2) */
/* Scale x to unit length in place. Returns false, leaving x unchanged, when
 * its norm is zero or not finite. */
bool qv_distance_normalize(float *x, size_t d);
/* out[i] = |q - x_i|^2 for the n rows of x (row i at x + i*d). */
void qv_distance_l2_batch(const float *q, const float *x, size_t n, size_t d, float *out);
/* out[i] = <q, x_i> for the n rows of x. */
void qv_distance_ip_batch(const float *q, const float *x, size_t n, size_t d, float *out);

/* Scalar conversions: float32 to binary16 / bfloat16 rounds to nearest even (overflow
 * gives infinity; NaN stays NaN); the widening conversions are exact. */
uint16_t qv_f32_to_f16(float f);
float qv_f16_to_f32(uint16_t h);
uint16_t qv_f32_to_bf16(float f);
float qv_bf16_to_f32(uint16_t h);

/* Exact k-nearest search of one query over a contiguous block of rows. */
typedef struct qv_distance_knn {
    const float *query; /* d floats */
    const float *base;  /* n rows of d floats, row r at base + r*d */
    size_t n;           /* rows in base */
    size_t d;           /* dimension, >= 1 */
    size_t k;           /* results wanted, >= 1; the output arrays hold k */
    qv_distance_metric metric;
    const uint64_t *allow;              /* optional: row r is a candidate iff bit r%64 of
                                           allow[r/64] is set; NULL allows every row. The
                                           bitmap covers at least n bits. */
    int64_t id_base;                    /* row r is reported as id id_base + r */
    const qv_distance_kernels *kernels; /* NULL: qv_distance_kernels_active() */
} qv_distance_knn;

/* Fill dist[0..k) and ids[0..k) with the k best rows, best first; ties in
 * distance go to the lower id. Slots past the number of candidates get id -1
 * and distance +INFINITY (L2) or -INFINITY (IP); *found (may be NULL) gets
 * the number of filled slots. Rows whose distance is NaN are skipped.
 * QV_EINVAL on a NULL pointer, d or k of 0, or an unknown metric. */
qv_err qv_distance_knn_flat(const qv_distance_knn *q, float *dist, int64_t *ids, size_t *found,
                            qv_error *err);

#ifdef __cplusplus
}
#endif

#endif
