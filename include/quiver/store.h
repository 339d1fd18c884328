/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/store.h - the rows of every collection on this node: per shard a WAL (the
 * durable truth) and an in-memory columnar copy rebuilt from it on start.
 *
 * Durability: a write is acknowledged only after the WAL fsync that covers it (group
 * commit across concurrent writers); it becomes visible to readers after
 * that fsync, applied in LSN order. A row's shard is qv_store_shard_of(pk) %
 * shards_num. Deletes and upserts are keyed by primary key: a shard keeps, per key,
 * the row of its latest version, so reads never see two versions of one key.
 *
 * One WAL per collection (a batch spanning shards is one record: a crash keeps all of it
 * or none). Layout: <data_dir>/collections/<collection id>/wal/ (names never appear in
 * paths, so no name can escape the data directory). */
#ifndef QUIVER_STORE_H
#define QUIVER_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "quiver/catalog.h"
#include "quiver/err.h"
#include "quiver/filter.h"
#include "quiver/io.h"
#include "quiver/rowbatch.h"
#include "quiver/sparse.h"
#include "quiver/s3.h"

typedef struct qv_store qv_store;
typedef struct qv_coll_data qv_coll_data;

#define QV_STORE_MAX_BATCH_ROWS 100000

/* FNV-1a 64 of the key: Int64 as its 8 little-endian bytes, VarChar as its UTF-8 bytes.
 * Part of the on-disk and wire contract (shard placement). */
uint64_t qv_store_hash_int64(int64_t pk);
uint64_t qv_store_hash_bytes(const void *p, size_t n);

/* Sealing and memory limits. A shard's growing segment is sealed (written as an immutable
 * segment file) once it holds segment_max_rows rows or segment_max_bytes bytes; writers
 * wait while the growing data of all collections is over growing_budget_bytes, and fail
 * with QV_EBUSY if sealing does not bring it under within admit_timeout_ms. */
typedef struct qv_store_opts {
    uint64_t segment_max_rows;
    uint64_t segment_max_bytes;
    uint64_t growing_budget_bytes;
    int admit_timeout_ms;
} qv_store_opts;
#define QV_STORE_OPTS_DEFAULT {1000000, (uint64_t)512 << 20, (uint64_t)2 << 30, 30000}

/* opts NULL: QV_STORE_OPTS_DEFAULT. */
qv_err qv_store_open(const char *data_dir, qv_io *io, const qv_store_opts *opts,
                     qv_store **out, qv_error *err);
/* Close; false when a background index build was still running after a short wait: the
 * store (and the qv_io it uses) must then be left to the exiting process. NULL: true. */
bool qv_store_close(qv_store *s);

/* The data of collection ci (opened, and its WAL replayed, on first use). The handle is
 * ref-counted; release it with qv_coll_data_unref. */
qv_err qv_store_get(qv_store *s, const qv_collection_info *ci, qv_coll_data **out,
                    qv_error *err);
void qv_coll_data_unref(qv_coll_data *c); /* NULL is a no-op */
/* Forget a dropped collection and remove its files. */
qv_err qv_store_drop(qv_store *s, int64_t collection_id, qv_error *err);

/* Insert rows (primary keys filled) into a partition; durable on return. */
qv_err qv_coll_insert(qv_coll_data *c, int64_t partition_id, const qv_rowbatch *rows,
                      qv_error *err);
/* Upsert: every key in rows replaces its previous version atomically. */
qv_err qv_coll_upsert(qv_coll_data *c, int64_t partition_id, const qv_rowbatch *rows,
                      qv_error *err);
/* Delete the live rows whose primary keys are in keys (a batch of this schema whose
 * primary-key column holds them); *deleted counts the rows that were live. */
qv_err qv_coll_delete_keys(qv_coll_data *c, const qv_rowbatch *keys, uint64_t *deleted,
                           qv_error *err);
/* Insert (or upsert) where row i goes to partition partitions[i] (partition-key routing);
 * partitions has rows->rows entries. One WAL record, as above. */
qv_err qv_coll_write_routed(qv_coll_data *c, bool upsert, const int64_t *partitions,
                            const qv_rowbatch *rows, qv_error *err);
/* Bulk load (import jobs): rows (keys filled) become new sealed segments at once, written
 * as segment files and listed by a new manifest, without a WAL record (all or nothing
 * across a crash); row i goes to partitions[i], or to partition_id when partitions is
 * NULL. Keys already stored are replaced, as by an upsert. Durable on return. */
qv_err qv_coll_import(qv_coll_data *c, int64_t partition_id, const int64_t *partitions,
                      const qv_rowbatch *rows, qv_error *err);
/* Delete the live rows matching f in the given partitions (NULL: all); *deleted counts them. */
qv_err qv_coll_delete(qv_coll_data *c, const qv_filter *f, const int64_t *partitions,
                      size_t npartitions, uint64_t *deleted, qv_error *err);
/* Seal the growing rows, then compact sealed segments: rewrite those holding deleted or replaced rows without them, and
 * merge runs of small neighbours (up to the seal size); their indexes are rebuilt in the
 * background. *purged counts the rows removed. The node also compacts by itself once a
 * segment is a fifth dead or a shard has many small segments. */
qv_err qv_coll_compact(qv_coll_data *c, uint64_t *purged, qv_error *err);

/* Seal every shard's growing rows into segment files and write the manifest, so the WAL
 * behind them is truncated (acknowledged writes were already durable). */
qv_err qv_coll_flush(qv_coll_data *c, qv_error *err);

typedef struct qv_query_opts {
    const qv_filter *filter;    /* NULL: all rows */
    const int64_t *partitions;  /* NULL: all */
    size_t npartitions;
    uint64_t offset;
    uint64_t limit;             /* rows after offset; 0 with count_only */
    bool count_only;
    uint64_t shard_mask;        /* bit i: shard i is read; 0: every shard */
} qv_query_opts;

/* Live rows matching the query, ordered by primary key, copied into *out (initialised
 * here for schema s; caller finis it); or their number in *count when count_only. */
qv_err qv_coll_query(qv_coll_data *c, const qv_schema *s, const qv_query_opts *o,
                     qv_rowbatch *out, uint64_t *count, qv_error *err);
/* Metrics (the wire numbers of the peer protocol). L2, HAMMING and JACCARD rank smaller
 * first; IP, COSINE and BM25 larger first. */
typedef enum qv_metric_kind {
    QV_METRIC_L2,
    QV_METRIC_IP,
    QV_METRIC_COSINE,
    QV_METRIC_HAMMING,
    QV_METRIC_JACCARD,
    QV_METRIC_BM25,
} qv_metric_kind;

static inline bool qv_metric_ascending(qv_metric_kind m)
{
    return m == QV_METRIC_L2 || m == QV_METRIC_HAMMING || m == QV_METRIC_JACCARD;
}

/* BM25 statistics of a set of shards (quiver/sparse.h has the formula): live documents,
 * their total length, and the document frequency of each query term. */
typedef struct qv_bm25_stats {
    uint64_t docs, tokens;
    uint64_t *df; /* one per term of the queries, queries in order (owned) */
    size_t nterms;
} qv_bm25_stats;

/* The statistics of BM25 output field `field` over the live rows of the shards in
 * shard_mask (0: all) for the terms of nq queries; out is initialised here. */
qv_err qv_coll_bm25_stats(qv_coll_data *c, size_t field, uint64_t shard_mask,
                          const qv_sparse_vec *queries, size_t nq, qv_bm25_stats *out,
                          qv_error *err);
void qv_bm25_stats_fini(qv_bm25_stats *s);

typedef struct qv_search_opts {
    size_t field;            /* schema index of the vector field */
    qv_metric_kind metric;
    const float *queries;    /* Float, Float16 and BFloat16 vectors: nq x dim float32 */
    const uint8_t *bqueries; /* BinaryVector: nq x dim/8 bytes */
    /* SparseFloatVector: nq vectors; BM25: term ids (qv_analyzer_term_id) with their
     * counts in the query text */
    const qv_sparse_vec *squeries;
    float drop_ratio;          /* sparse: drop_ratio_search, in [0, 1) */
    const qv_bm25_stats *bm25; /* BM25: the statistics to score with (a cluster's, summed
                                  by the caller); NULL: those of the shards searched here */
    size_t nq;
    size_t k;                /* hits per query (limit + offset) */
    const qv_filter *filter; /* pre-filter; NULL: all rows */
    const int64_t *partitions;
    size_t npartitions;
    bool has_radius, has_range_filter; /* range search bounds (Milvus semantics) */
    float radius, range_filter;
    int ef;        /* HNSW efSearch; 0: max(64, k) */
    size_t nprobe; /* IVF; 0: 16 */
    uint64_t shard_mask; /* bit i: shard i is searched; 0: every shard */
} qv_search_opts;

/* Hits of one search: per query q, hits [first[q], first[q+1]) best first, ties broken
 * by primary key; distance as Milvus reports it (L2 squared, IP, cosine similarity,
 * Hamming, Jaccard distance, BM25 score; sparse searches only return rows sharing a
 * dimension with the query);
 * row i of `rows` is hit i's row, copied. */
typedef struct qv_search_result {
    size_t *first; /* nq + 1 */
    float *distance;
    qv_rowbatch rows;
} qv_search_result;

/* Search over live rows: through the field's index where one covers a shard's rows (a
 * filtered search that finds fewer than k of the matching rows there falls back to exact
 * search), and exactly, with SIMD kernels, over the rows no index covers yet. */
qv_err qv_coll_search(qv_coll_data *c, const qv_schema *s, const qv_search_opts *o,
                      qv_search_result *out, qv_error *err);
void qv_search_result_fini(qv_search_result *r);

/* Index build progress of a vector field: rows covered by a built index (or too few to
 * need one) and rows in total, over all shards. */
void qv_coll_index_progress(qv_coll_data *c, size_t field, uint64_t shard_mask,
                            uint64_t *indexed, uint64_t *total); /* shard_mask 0: all */

typedef struct qv_store_index_stats {
    _Atomic uint64_t builds, loads, build_ns, failures;
} qv_store_index_stats;
const qv_store_index_stats *qv_store_index_counters(const qv_store *s);

/* Peer sync: an order-independent digest of shard si's live rows (contents and
 * partitions) and their count; and a copy of them with their partition ids (*parts, the
 * caller frees; out initialised here). */
void qv_coll_shard_digest(qv_coll_data *c, uint32_t si, uint64_t *count, uint64_t *digest);
qv_err qv_coll_shard_rows(qv_coll_data *c, uint32_t si, qv_rowbatch *out, int64_t **parts,
                          qv_error *err);

/* Segment counters of this node (for /metrics). */
typedef struct qv_store_seg_stats {
    _Atomic uint64_t seals, compactions, segments_written, bytes_written, rows_purged,
        admit_waits, admit_timeouts;
} qv_store_seg_stats;
const qv_store_seg_stats *qv_store_seg_counters(const qv_store *s);

/* Segments and their rows over the collections open on this node, by state. */
typedef struct qv_store_seg_totals {
    uint64_t sealed, growing, sealed_rows, growing_rows, growing_bytes;
} qv_store_seg_totals;
void qv_store_seg_totals_get(qv_store *s, qv_store_seg_totals *out);

/* WAL counters summed over the collections open on this node (for /metrics). */
typedef struct qv_store_wal_totals {
    uint64_t appends, append_bytes, write_bytes, fsyncs, fsync_ns, torn_tails, files;
} qv_store_wal_totals;
void qv_store_wal_totals_get(qv_store *s, qv_store_wal_totals *out);

/* Live rows in total or of one partition (partition_id < 0: all). */
uint64_t qv_coll_count(qv_coll_data *c, int64_t partition_id);

/* ---- S3 offload (store_s3.c, store_s3_cache.c; docs/storage-format.md "S3 layout") ----
 * A background thread uploads the node's catalog files, every sealed segment file and its
 * index files, then the manifest listing them, and deletes the objects of compacted-away
 * segments once a manifest without them is in S3. Missing sealed files are fetched back
 * when a collection opens; local copies in S3 may be evicted under cache_bytes. */
typedef struct qv_store_s3_opts {
    const char *data_dir;
    const char *root;     /* key prefix of this node's objects, "<s3.prefix><node id>/" */
    uint64_t cache_bytes; /* local budget for sealed segment and index files; 0: no limit */
    int interval_ms;      /* how often new and changed files are looked for */
} qv_store_s3_opts;
/* On a data directory without catalog.qvc, download the node's catalog.qvc, IDALLOC,
 * auth.qva and every collection's manifest.qvm (the catalog last); *restored tells
 * whether S3 held a catalog. QV_EUNAVAIL when S3 cannot be listed. */
qv_err qv_store_s3_restore(qv_s3 *s3, qv_io *io, const qv_store_s3_opts *o, bool *restored,
                           qv_error *err);
/* Start offloading before collections are opened (their missing files are then fetched).
 * s3 (borrowed) must outlive the store; qv_store_close stops the thread first. */
qv_err qv_store_s3_start(qv_store *s, qv_s3 *s3, const qv_store_s3_opts *o, qv_error *err);
typedef struct qv_store_s3_stats {
    uint64_t backlog_files, backlog_bytes; /* to upload as of the last pass */
    uint64_t uploads, upload_bytes, deletes, fetches, fetch_bytes, evictions, evict_bytes;
    uint64_t cache_bytes;   /* local sealed segment and index files of open collections */
    uint64_t objects;       /* this node's objects in S3 */
    uint64_t synced_ms;     /* unix ms of the last pass that left nothing behind (0: none) */
} qv_store_s3_stats;
/* false (and *out zeroed) when offload is off. */
bool qv_store_s3_stats_get(qv_store *s, qv_store_s3_stats *out);

#endif
