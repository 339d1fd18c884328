/* SPDX-License-Identifier: Apache-2.0 */
/* store_int.h - shared by store.c (lifecycle, WAL, replay), store_write.c and store_read.c. */
#ifndef QUIVER_STORE_INT_H
#define QUIVER_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "db/pkmap.h"
#include "quiver/index.h"
#include "quiver/scalar_index.h"
#include "quiver/store.h"
#include "quiver/wal.h"

/* WAL records (one WAL per collection on this node, so a batch that spans shards is one
 * record: all of it or none of it survives a crash):
 *   INSERT, UPSERT (types 4, 5): u64 write time (unix ms; the rows' timestamp, so replay
 *                   gives them the same one), i64 partition id (-1: per row), u32 nparts,
 *                   nparts x (u32 shard, u64 n, n bytes of qv_rowbatch encoding, then only
 *                   with partition id -1: rows x i64 partition id of each row)
 *   DELETE (3):     u32 nparts, nparts x (u32 shard, u64 n, n bytes of a qv_rowbatch whose
 *                   primary-key column holds the keys)
 *   INSERT_V1, UPSERT_V1 (1, 2): as INSERT/UPSERT without the time and with one partition
 *                   id; written before row timestamps existed and still replayed (their rows
 *                   get time 0: never expired by a TTL). */
enum { REC_INSERT_V1 = 1, REC_UPSERT_V1 = 2, REC_DELETE = 3, REC_INSERT = 4, REC_UPSERT = 5 };
#define REC_PART_PER_ROW (-1)

/* A segment: rows [first, first + rows) of its shard. The last segment of a shard is the
 * growing one (appended to; durable in the WAL); the others are sealed: immutable, stored
 * in seg-<id>.qvs and listed in the manifest (store_segment.c). Indexes number a segment's
 * rows from 0, so they stay valid when compaction moves the segment within its shard, and
 * a growing segment keeps its id (and index) when it is sealed. */
typedef struct segment {
    uint64_t id;     /* unique in the collection; never reused */
    size_t first, rows;
    bool sealed;     /* cut from the growing tail: its rows never change */
    bool stored;     /* its file is written (file_crc is set) */
    uint32_t file_crc;
    qv_index *idx[QV_MAX_VECTOR_FIELDS]; /* per index slot: covers local rows [0, n) */
    size_t tried[QV_MAX_VECTOR_FIELDS];  /* rows of the last build that yielded no index
                                            (too few to train: searched exactly) */
    qv_sindex *sidx[QV_MAX_SCALAR_INDEXES]; /* per scalar slot; sealed segments only */
    bool sfailed[QV_MAX_SCALAR_INDEXES];    /* its build failed: not retried */
} segment;

typedef struct shard {
    pthread_rwlock_t lock; /* guards everything below */
    qv_rowbatch rows;
    int64_t *part_ids;
    uint64_t *row_lsn;
    uint64_t *row_ts; /* unix ms of the write (0: unknown, never expires) */
    uint64_t *dead; /* bit set = row replaced or deleted */
    size_t meta_cap;
    pkmap pk;
    uint64_t live;
    segment *segs; /* contiguous over [0, rows.rows); segs[nsegs - 1] is growing */
    size_t nsegs, segs_cap;
    uint64_t last_write_ns; /* for the builder's quiet-period rule */
    struct store_bm25 *bm25; /* BM25 statistics of the live rows (store_bm25.c); NULL: none */
} shard;

/* A scalar index definition (store_sindex.c), mirrored from the catalog. */
typedef struct sindex_slot {
    bool used;
    int64_t def_id;
    size_t field;
    qv_sindex_spec spec;
    char path[256]; /* qv_sindex_path_text of spec's JSON path */
    size_t path_len;
} sindex_slot;

/* An index definition on a vector field, mirrored from the catalog. */
typedef struct index_slot {
    bool used;
    int64_t def_id; /* catalog index id: its files are named after it */
    size_t field;
    qv_index_spec spec;
} index_slot;

struct qv_coll_data {
    atomic_int refs;
    int64_t id;
    qv_schema schema;
    size_t pk_col;
    size_t nshards;
    shard *shards;
    index_slot slots[QV_MAX_VECTOR_FIELDS]; /* guarded by every shard's lock (write: all) */
    sindex_slot sslots[QV_MAX_SCALAR_INDEXES]; /* likewise */
    qv_wal *wal;
    /* apply order = WAL order: each writer takes a ticket when it appends and applies
     * when apply_ticket reaches it (after its fsync) */
    pthread_mutex_t seq_lock; /* guards next_ticket, apply_ticket, the WAL append */
    pthread_cond_t seq_cond;
    uint64_t next_ticket, apply_ticket;
    uint64_t applied_lsn;     /* guarded by seq_lock: every record up to it is applied */
    atomic_bool wal_full;     /* a commit failed with QV_ENOSPC: the next one resumes the WAL */
    /* maintenance (sealing, compaction, manifest writes) runs one at a time */
    pthread_mutex_t maint_lock;
    uint64_t next_seg_id;     /* guarded by maint_lock and seq_lock (both held to change) */
    uint64_t manifest_lsn;    /* the manifest's sealed segments hold every row up to it */
    uint64_t manifest_wal_bytes; /* WAL append bytes (since open) at the last seal */
    _Atomic uint64_t growing_bytes; /* encoded bytes applied to growing segments */
    _Atomic uint64_t ttl_ms;        /* collection.ttl.seconds (0: rows never expire) */
    char *dir;
    qv_store *store;
    struct qv_coll_data *next; /* in the store's list, guarded by the store lock */
};

struct qv_store {
    pthread_mutex_t lock; /* guards the collection list, stopping */
    char *dir;
    qv_io *io;
    qv_store_opts opts;
    qv_coll_data *head;
    pthread_t builder;    /* builds indexes in the background (store_index.c) */
    pthread_t maint;      /* seals and compacts in the background (store_maint.c) */
    bool builder_running, maint_running;
    bool stopping;
    pthread_cond_t wake;       /* wakes the builder */
    pthread_cond_t maint_wake; /* wakes the maintenance thread */
    pthread_cond_t room;       /* growing data fell under the budget */
    _Atomic uint64_t growing_bytes; /* sum over collections */
    qv_store_index_stats istats;
    qv_store_seg_stats sstats;
    struct store_s3 *s3;       /* S3 offload (store_s3.c); NULL when off */
};

/* The open collections, each referenced: release with store_release_collections. */
size_t store_open_collections(qv_store *s, qv_coll_data ***out);
void store_release_collections(qv_coll_data **v, size_t n);

/* Sleep on cond (with s->lock held) for at most ms milliseconds. */
void store_timed_wait(pthread_cond_t *cond, pthread_mutex_t *lock, int ms);

/* store_index.c: mirror the catalog's index definitions (dropping stale indexes), start
 * and stop the builder, load a segment's saved indexes. */
void store_sync_indexes(qv_coll_data *c, const qv_collection_info *ci);
qv_err store_builder_start(qv_store *s, qv_error *err);
/* Stop the builder, waiting at most timeout_ms; false if it is still busy (a build). */
bool store_builder_stop(qv_store *s, int timeout_ms);
void store_free_segment_indexes(segment *g);
/* Index files (index-<def>-<segment>.qvi): begin a buffer with the envelope header,
 * append the payload, write it atomically; read one back (false: absent or damaged,
 * logged; *data to qv_free when true). */
void store_index_file_begin(qv_buf *b, uint64_t seg_id);
qv_err store_index_file_write(qv_coll_data *c, int64_t def_id, uint64_t seg_id, qv_buf *b,
                              qv_error *err);
bool store_index_file_read(qv_coll_data *c, int64_t def_id, const segment *g, void **data,
                           const uint8_t **payload, size_t *plen, char *path, size_t cap);

/* store_sindex.c: scalar index slots (under every shard's write lock: resync), their
 * builds on sealed segments, progress, liveness of definitions, and the filter answers
 * of a window. */
bool store_sindex_current(const qv_coll_data *c, const qv_collection_info *ci, size_t *used);
void store_sindex_resync(qv_coll_data *c, const qv_collection_info *ci);
void store_sindex_free_segment(segment *g);
void store_sindex_build_pass(qv_coll_data *c);
/* Progress of the scalar index on field; false when the field has none. */
bool store_sindex_progress(qv_coll_data *c, size_t field, uint64_t shard_mask,
                           uint64_t *indexed, uint64_t *total);
/* Definition ids of every index slot, vector and scalar (read lock of shard 0 held). */
size_t store_index_defs(const qv_coll_data *c, int64_t *out, size_t cap);

/* The scalar-index answers for filter windows of one shard, computed once per segment. */
typedef struct store_pre {
    const qv_filter *filter;
    uint64_t seg_id;
    bool have;
    qv_filter_pre *pre;
} store_pre;
/* Rows of the filter window at first (a multiple of 64): at most max, ending at the
 * 64-row word of a segment boundary so that windows lie within one segment. */
size_t store_window_rows(const shard *sh, size_t first, size_t max);
/* Point fb at the answers for rows [first, first + fb->rows) of sh when they lie in one
 * segment with scalar indexes (shard read lock held). */
qv_err store_pre_window(const qv_coll_data *c, const shard *sh, store_pre *sp, size_t first,
                        qv_filter_batch *fb, qv_error *err);
void store_pre_fini(store_pre *sp);

/* Rows of segment g searched through slot k without a brute-force tail. */
size_t store_covered_rows(const qv_coll_data *c, const segment *g, size_t k);

uint64_t store_now_ns(void); /* CLOCK_MONOTONIC */

/* store_segment.c: segment files and the manifest.
 * store_persist writes the files of sealed segments not yet stored, then the manifest at
 * c->manifest_lsn, truncates the WAL behind it and removes files no longer listed
 * (caller holds maint_lock). store_load_manifest rebuilds the shards' sealed segments at
 * open and sets *lsn (0 without a manifest); every shard then has its growing segment. */
qv_err store_persist(qv_coll_data *c, qv_error *err);
/* The rows of a segment with their partitions, LSNs and times, as a segment file holds
 * them; store_encode_segment writes the file's bytes for segment id of shard shard_ix. */
typedef struct seg_copy {
    qv_rowbatch rows;
    int64_t *parts;
    uint64_t *lsns, *times;
} seg_copy;
qv_err store_encode_segment(const qv_coll_data *c, uint32_t shard_ix, uint64_t id,
                            const seg_copy *s, qv_buf *b, qv_error *err);
void store_seg_copy_fini(seg_copy *s); /* a zeroed one too */

/* store_segfile.c: the segment file's constants and the parser of its bytes, free of any
 * store state (tests/fuzz/fuzz_segment.c runs it alone). store_decode_segment checks the
 * header (id and rows must be the manifest's), every block's checksum and size, and fills
 * out (zeroed on error; store_seg_copy_fini frees it either way). QV_ECORRUPT says what is
 * wrong; a version 1 file's rows get time 0. */
#define SEG_MAGIC "QVSEGMT1"
#define SEG_VERSION 2
#define SEG_BLOCKS 5
#define SEG_HEADER 40
enum { BLOCK_ROWS = 1, BLOCK_PARTITIONS = 2, BLOCK_LSNS = 3, BLOCK_KEYS = 4, BLOCK_TIMES = 5 };
qv_err store_decode_segment(const qv_schema *s, uint64_t id, uint64_t rows, const uint8_t *p,
                            size_t len, seg_copy *out, qv_error *err);
void store_segment_path(const qv_coll_data *c, uint64_t id, char *buf, size_t cap);
qv_err store_load_manifest(qv_coll_data *c, uint64_t *lsn, qv_error *err);
/* Append an empty segment with the given id after sh's last one (write lock held). */
qv_err store_append_segment(shard *sh, uint64_t id, qv_error *err);
/* The segment of sh with this id, or NULL. */
segment *store_find_segment(shard *sh, uint64_t id);

/* store_s3.c: with S3 offload on, bring a missing sealed segment file (segment: its
 * CRC32C from the manifest must match) or index file back from S3. QV_OK when the file is
 * there afterwards, when offload is off, or (index files) when S3 has no copy known.
 * store_s3_stop stops the offloader (first thing qv_store_close does). */
qv_err store_s3_fetch(qv_store *s, const char *path, bool is_seg, uint32_t crc, qv_error *err);
void store_s3_stop(qv_store *s);

/* store_maint.c: seal every shard's growing rows at the applied LSN and persist; purge
 * dead rows and merge small sealed segments, then persist (*purged counts rows removed).
 * Both take maint_lock. The maintenance thread does both by itself (thresholds in
 * qv_store_opts); writers wait in store_admit while growing data is over the budget. */
qv_err store_seal(qv_coll_data *c, qv_error *err);
/* The seal's first step with seq_lock held (and maint_lock): cut every non-empty growing
 * segment at the applied LSN, which becomes the manifest LSN; then, after seq_lock is
 * released, store_release_growing returns the growing bytes to the budget. */
qv_err store_cut_locked(qv_coll_data *c, qv_error *err);
void store_release_growing(qv_coll_data *c);
qv_err store_compact(qv_coll_data *c, bool manual, uint64_t *purged, qv_error *err);
qv_err store_maint_start(qv_store *s, qv_error *err);
void store_maint_stop(qv_store *s);
qv_err store_admit(qv_coll_data *c, qv_error *err);

/* TTL: a row is expired when its time is set and at or before the cutoff; the cutoff is
 * taken once per read (0: nothing expires). Expired rows are invisible at once and dead for
 * compaction (store_maint.c); they stay in the key map until then, so a new write of their
 * key replaces them as usual. */
void store_sync_ttl(qv_coll_data *c, const qv_collection_info *ci);
uint64_t store_ttl_cutoff(const qv_coll_data *c);
uint64_t store_now_ms(void); /* CLOCK_REALTIME */
static inline bool store_row_expired(const shard *sh, size_t row, uint64_t cutoff)
{
    return cutoff && sh->row_ts[row] && sh->row_ts[row] <= cutoff;
}

/* store_bm25.c: BM25 statistics per shard and BM25 output field, kept for the live rows
 * (a row counts from when it is applied until it dies; compaction rebuilds them with the
 * key map; TTL-expired rows count until compaction purges them). */
void store_bm25_row(const qv_coll_data *c, shard *sh, size_t row, int sign);
void store_bm25_reset(shard *sh);
void store_bm25_free(shard *sh);
/* Add sh's statistics of field to st (df aligned with the terms of the nq queries; read
 * lock held). */
void store_bm25_add_stats(const shard *sh, size_t field, const qv_sparse_vec *queries, size_t nq,
                          qv_bm25_stats *st);

/* Delete a live row of sh (its key leaves the key map; write lock held). */
void store_kill_row(qv_coll_data *c, shard *sh, uint64_t row);
/* Rebuild a shard's key map and live count from its rows and dead bitmap. */
qv_err store_reindex_keys(qv_coll_data *c, shard *sh, qv_error *err);
/* Grow a shard's per-row arrays (part ids, LSNs, times, dead bitmap) to hold rows. */
bool store_shard_reserve(shard *sh, size_t rows);

/* The shard of row `row` of batch b (by its primary key's hash). */
size_t store_shard_of(const qv_coll_data *c, const qv_rowbatch *b, size_t row);
/* Hash of row's primary key in batch b (pk column pk_col). */
uint64_t store_row_hash(const qv_rowbatch *b, size_t pk_col, size_t row);
bool store_row_pk_equal(const qv_rowbatch *a, size_t arow, const qv_rowbatch *b, size_t brow,
                        size_t pk_col);
/* Where applied rows come from: their record's LSN and time, and their partition: one
 * for all, or row i's from `parts` (rows little-endian i64, as a WAL record holds them)
 * or from `row_parts` (native), whichever is non-NULL. */
typedef struct apply_src {
    uint64_t lsn, ts;
    int64_t part;
    const uint8_t *parts;
    const int64_t *row_parts;
} apply_src;
/* Rows b become the live version of their keys in sh's growing segment; earlier versions
 * die (write lock held). */
qv_err store_apply_rows(qv_coll_data *c, shard *sh, const apply_src *src, const qv_rowbatch *b,
                        qv_error *err);
/* Split b by shard into parts[nshards] (initialised here); with row_parts (b's rows'
 * partition ids), the ids of each shard's rows go, in order, to ids (b->rows entries). */
qv_err store_split_by_shard(qv_coll_data *c, const qv_rowbatch *b, const int64_t *row_parts,
                            qv_rowbatch *parts, int64_t *ids, qv_error *err);
/* Apply a record to the collection's shards (taking each shard's write lock). */
qv_err store_apply(qv_coll_data *c, uint8_t type, const void *rec, size_t len, uint64_t lsn,
                   uint64_t *affected, qv_error *err);
/* Append rec to the collection's WAL, fsync, apply in order; durable and visible on
 * return. */
qv_err store_commit(qv_coll_data *c, uint8_t type, const qv_buf *rec, uint64_t *affected,
                    qv_error *err);

#endif
