/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/rowbatch.h - a columnar batch of rows of one collection schema: what an insert
 * decodes into, what a WAL record carries, what a growing segment appends to and what a
 * segment file holds. Column layouts are exactly those of quiver/filter.h, so a batch is
 * evaluated by a filter without copying (qv_rowbatch_view).
 *
 *   fixed width   Bool u8, Int8..Int64, Float, Double: `width` bytes per row in data
 *   FloatVector   dim float32 per row in data (width = 4*dim)
 *   Float16Vector, BFloat16Vector   dim little-endian binary16 / bfloat16 (width = 2*dim)
 *   BinaryVector  dim/8 bytes per row, bit i of the vector = bit i%8 of byte i/8
 *   variable      VarChar UTF-8, JSON jsonb, Array jsonb array, SparseFloatVector (per row
 *                 nnz u32 indices, strictly ascending, then nnz float32 values, all
 *                 little-endian: 8*nnz bytes, see quiver/sparse.h): bytes in data,
 *                 offsets[rows+1] (offsets[0] == 0)
 *   valid         null bitmap (bit set = not null), NULL while no row is null
 * The dynamic column ($meta) holds one jsonb object per row (0 bytes = no keys). */
#ifndef QUIVER_ROWBATCH_H
#define QUIVER_ROWBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/filter.h"
#include "quiver/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qv_colbuf {
    qv_type type;
    uint32_t width;   /* bytes per row of a fixed-width or vector column; 0 = variable */
    qv_buf data;
    uint64_t *offsets; /* variable-width: rows+1 entries */
    size_t offsets_cap;
    uint64_t *valid; /* null bitmap words; NULL while no row is null */
    size_t valid_cap;
    size_t rows;
} qv_colbuf;

typedef struct qv_rowbatch {
    size_t rows;
    size_t ncols;    /* the schema's field_count */
    qv_colbuf *cols; /* indexed like schema->fields */
    qv_colbuf dynamic;
} qv_rowbatch;

/* Empty batch shaped for schema s (copied: types and widths only). */
qv_err qv_rowbatch_init(qv_rowbatch *b, const qv_schema *s);
void qv_rowbatch_fini(qv_rowbatch *b);
void qv_rowbatch_clear(qv_rowbatch *b); /* keep memory, zero rows */

/* Append one value to column c (the caller appends exactly one value per column per
 * row, then calls qv_rowbatch_end_row). Sticky allocation failures surface in
 * qv_rowbatch_end_row. */
void qv_colbuf_push_fixed(qv_colbuf *c, const void *value); /* width bytes */
void qv_colbuf_push_var(qv_colbuf *c, const void *p, size_t n);
void qv_colbuf_push_null(qv_colbuf *c); /* zeros / empty value, marked null */
qv_err qv_rowbatch_end_row(qv_rowbatch *b, qv_error *err);

bool qv_colbuf_is_null(const qv_colbuf *c, size_t row);
const void *qv_colbuf_fixed(const qv_colbuf *c, size_t row);
const uint8_t *qv_colbuf_var(const qv_colbuf *c, size_t row, size_t *len);

/* Order of two primary-key values: Int64 columns numerically, VarChar bytewise (shorter
 * first on a common prefix). Returns <0, 0, >0. */
int qv_colbuf_key_cmp(const qv_colbuf *a, size_t arow, const qv_colbuf *b, size_t brow);

/* Copy rows idx[0..n) of src (same schema) to the end of dst. idx NULL: all rows. */
qv_err qv_rowbatch_append_rows(qv_rowbatch *dst, const qv_rowbatch *src, const uint32_t *idx,
                               size_t n, qv_error *err);

/* Filter view of rows [first, first+count): cols has b->ncols entries. */
void qv_rowbatch_view(const qv_rowbatch *b, size_t first, size_t count, qv_column *cols,
                      qv_column *dynamic, qv_filter_batch *out);

/* Binary encoding (WAL records, segment blocks): u32 rows, u32 ncols, then per column
 * (ncols, then dynamic): u16 type, u32 width, u8 has_valid, [valid words], u64 nbytes,
 * bytes, [offsets for variable types: rows+1 u64]. Little-endian. Decoding checks
 * every length against the schema and the input; damage is QV_ECORRUPT. */
void qv_rowbatch_encode(const qv_rowbatch *b, qv_buf *out);
qv_err qv_rowbatch_decode(const qv_schema *s, const void *p, size_t len, qv_rowbatch *out,
                          qv_error *err);

#ifdef __cplusplus
}
#endif

#endif
