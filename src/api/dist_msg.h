/* SPDX-License-Identifier: Apache-2.0 */
/* dist_msg.h - the binary bodies of the peer protocol (little-endian; str = u32 length +
 * bytes; batch = u64 length + row batch encoding, rowbatch.c):
 *
 *   write, replicate   "QVW1" u8 op (1 insert, 2 upsert, 3 delete keys) str db str coll
 *                      i64 partition u32 shard batch; partition -1: then rows x i64, each
 *                      row's partition (a partition-key collection's routed rows)
 *   delete             "QVD1" str db str coll u32 shard u32 n + n x i64 partitions
 *                      str expr str params
 *   query              "QVQ1" str db str coll u64 shard mask u64 limit u8 count_only
 *                      u32 n + n x i64 partitions str expr str params
 *   search             "QVS2" str db str coll u64 shard mask u32 field u8 metric (0 L2,
 *                      1 IP, 2 COSINE, 3 HAMMING, 4 JACCARD, 5 BM25) u32 nq u32 k i32 ef
 *                      u32 nprobe u8 has_radius f32 radius u8 has_range f32 range_filter
 *                      f32 drop_ratio u32 n + n x i64 partitions str expr str params
 *                      queries, by the field's type:
 *                        Float/Float16/BFloat16Vector  nq x dim f32 (float32 queries)
 *                        BinaryVector                  nq x dim/8 bytes
 *                        SparseFloatVector             nq x (u32 nnz, nnz x u32 index,
 *                                                      nnz x f32 value); BM25: term ids
 *                                                      with their counts in the query
 *                      u8 has_bm25 [u64 docs u64 tokens u32 nterms nterms x u64 df]: the
 *                      cluster-wide BM25 statistics the coordinator gathered
 *   BM25 statistics    "QVB1" str db str coll u64 shard mask u32 field u32 nq
 *                      nq x (u32 nnz, nnz x u32 term)
 *                      answer "QVT1" u64 docs u64 tokens u32 nterms nterms x u64 df
 *   answers            "QVA1" u64 count [batch]                       (query, write, delete)
 *                      "QVR1" u32 nq (nq+1) x u64 first, total x f32 distance, batch (search)
 * Errors come back as the usual {"code","message"} envelope with a non-200 status. */
#ifndef QUIVER_API_DIST_MSG_H
#define QUIVER_API_DIST_MSG_H

#include "quiver/buf.h"
#include "quiver/dist.h"

enum { DIST_INSERT = 1, DIST_UPSERT = 2, DIST_DELETE = 3 };

typedef struct dist_target {
    const char *db, *coll; /* borrowed from the message or the caller */
} dist_target;

typedef struct dist_write_msg {
    dist_target t;
    uint8_t op;
    int64_t partition;
    int64_t *row_parts; /* partition -1: rows x partition id (owned), else NULL */
    uint32_t shard;
    qv_rowbatch rows; /* decoded: owned */
} dist_write_msg;

typedef struct dist_read_msg {
    dist_target t;
    uint64_t shard_mask;
    int64_t *partitions; /* owned */
    size_t npartitions;
    char *expr, *params; /* owned, NUL-terminated; params may be NULL */
    /* query */
    uint64_t limit;
    bool count_only;
    /* search (queries owned), BM25 statistics (stats_q, nq) */
    qv_search_opts so;
    float *queries;
    uint8_t *bqueries;
    qv_sparse_vec *squeries;
    uint32_t *sidx;
    float *sval;
    qv_bm25_stats bm25;
    /* delete */
    uint32_t shard;
} dist_read_msg;

void dist_put_str(qv_buf *b, const char *s);
void dist_put_batch(qv_buf *b, const qv_rowbatch *rows);
char *dist_get_str(qv_reader *r); /* NULL (r->failed) on a bad string; caller frees */
qv_err dist_decode_batch(qv_reader *r, const qv_schema *s, qv_rowbatch *out, qv_error *err);
void dist_encode_write(qv_buf *b, const dist_target *t, uint8_t op, int64_t partition,
                       const int64_t *row_parts, uint32_t shard, const qv_rowbatch *rows);
void dist_encode_delete(qv_buf *b, const dist_target *t, uint32_t shard, const int64_t *parts,
                        size_t nparts, const qv_dist_filter *f);
void dist_encode_query(qv_buf *b, const dist_target *t, const qv_query_opts *o,
                       const qv_dist_filter *f);
void dist_encode_search(qv_buf *b, const dist_target *t, const qv_search_opts *o,
                        const qv_field *f, const qv_dist_filter *flt);
void dist_encode_bm25_stats(qv_buf *b, const dist_target *t, uint64_t shard_mask, size_t field,
                            const qv_sparse_vec *queries, size_t nq);
void dist_encode_bm25_answer(qv_buf *b, const qv_bm25_stats *st);
qv_err dist_decode_bm25_answer(const void *p, size_t len, qv_bm25_stats *st, qv_error *err);
void dist_encode_count_answer(qv_buf *b, uint64_t count, const qv_rowbatch *rows);
void dist_encode_search_answer(qv_buf *b, const qv_search_result *r, size_t nq);

/* Decoders take the schema from the catalog after reading the target: they are split
 * in a header part (target) and a body part. */
qv_err dist_decode_target(const void *p, size_t len, const char magic[4], dist_target *t,
                          qv_reader *r, char **db, char **coll, qv_error *err);
qv_err dist_decode_write(qv_reader *r, const qv_schema *s, dist_write_msg *m, qv_error *err);
qv_err dist_decode_read(qv_reader *r, const char magic[4], const qv_schema *s,
                        dist_read_msg *m, qv_error *err);
void dist_read_msg_fini(dist_read_msg *m);
qv_err dist_decode_count_answer(const void *p, size_t len, const qv_schema *s, uint64_t *count,
                                qv_rowbatch *rows, qv_error *err);
qv_err dist_decode_search_answer(const void *p, size_t len, const qv_schema *s, size_t nq,
                                 qv_search_result *r, qv_error *err);

#endif
