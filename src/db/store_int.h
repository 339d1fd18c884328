/* SPDX-License-Identifier: Apache-2.0 */
/* store_int.h - shared by store.c (lifecycle, WAL, replay), store_write.c and store_read.c. */
#ifndef QUIVER_STORE_INT_H
#define QUIVER_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "db/pkmap.h"
#include "quiver/index.h"
#include "quiver/store.h"
#include "quiver/wal.h"

/* WAL records (one WAL per collection on this node, so a batch that spans shards is one
 * record: all of it or none of it survives a crash):
 *   INSERT, UPSERT: u64 partition id, u32 nparts, nparts x (u32 shard, u64 n, n bytes of
 *                   qv_rowbatch encoding)
 *   DELETE:         u32 nparts, nparts x (u32 shard, u64 n, n bytes of a qv_rowbatch whose
 *                   primary-key column holds the keys) */
enum { REC_INSERT = 1, REC_UPSERT = 2, REC_DELETE = 3 };

typedef struct shard {
    pthread_rwlock_t lock; /* guards rows, part_ids, row_lsn, dead, pk, live */
    qv_rowbatch rows;
    int64_t *part_ids;
    uint64_t *row_lsn;
    uint64_t *dead; /* bit set = row replaced or deleted */
    size_t meta_cap;
    pkmap pk;
    uint64_t live;
    qv_index *idx[QV_MAX_VECTOR_FIELDS]; /* per index slot: covers rows [0, rows) */
    size_t tried[QV_MAX_VECTOR_FIELDS];  /* rows of the last build that yielded no index
                                            (too few to train: searched exactly) */
    uint64_t last_write_ns;              /* for the builder's quiet-period rule */
    uint64_t epoch; /* row numbering generation: bumped when compaction renumbers rows;
                       index files carry it and are ignored when it differs */
} shard;

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
    qv_wal *wal;
    /* apply order = WAL order: each writer takes a ticket when it appends and applies
     * when apply_ticket reaches it (after its fsync) */
    pthread_mutex_t seq_lock; /* guards next_ticket, apply_ticket, the WAL append */
    pthread_cond_t seq_cond;
    uint64_t next_ticket, apply_ticket;
    uint64_t applied_lsn;     /* guarded by seq_lock: every record up to it is applied */
    uint64_t ckpt_lsn;        /* the newest checkpoint covers records up to here */
    uint64_t ckpt_wal_bytes;  /* WAL append bytes (since open) at that checkpoint */
    char *dir;
    qv_store *store;
    struct qv_coll_data *next; /* in the store's list, guarded by the store lock */
};

struct qv_store {
    pthread_mutex_t lock; /* guards the collection list, stopping */
    char *dir;
    qv_io *io;
    qv_coll_data *head;
    pthread_t builder;    /* builds indexes in the background (store_index.c) */
    bool builder_running;
    bool stopping;
    pthread_cond_t wake;
    qv_store_index_stats istats;
};

/* store_index.c: mirror the catalog's index definitions (dropping stale indexes), start
 * and stop the builder, search a shard's indexed prefix. */
void store_sync_indexes(qv_coll_data *c, const qv_collection_info *ci);
qv_err store_builder_start(qv_store *s, qv_error *err);
/* Stop the builder, waiting at most timeout_ms; false if it is still busy (a build). */
bool store_builder_stop(qv_store *s, int timeout_ms);
void store_free_indexes(qv_coll_data *c);

uint64_t store_now_ns(void); /* CLOCK_MONOTONIC */

/* store_checkpoint.c: write a checkpoint of every shard at the last applied LSN, truncate
 * the WAL behind it and delete older checkpoints; at open, load the newest one (*lsn 0
 * when there is none). */
qv_err store_checkpoint(qv_coll_data *c, qv_error *err);
/* Purge dead rows of every shard (renumbering rows, dropping their indexes for a rebuild),
 * then checkpoint. *purged counts the rows removed. */
qv_err store_compact(qv_coll_data *c, uint64_t *purged, qv_error *err);
qv_err store_load_checkpoint(qv_coll_data *c, uint64_t *lsn, qv_error *err);
/* Rebuild a shard's key map and live count from its rows and dead bitmap. */
qv_err store_reindex_keys(qv_coll_data *c, shard *sh, qv_error *err);

/* Hash of row's primary key in batch b (pk column pk_col). */
uint64_t store_row_hash(const qv_rowbatch *b, size_t pk_col, size_t row);
bool store_row_pk_equal(const qv_rowbatch *a, size_t arow, const qv_rowbatch *b, size_t brow,
                        size_t pk_col);
/* Apply a record to the collection's shards (taking each shard's write lock). */
qv_err store_apply(qv_coll_data *c, uint8_t type, const void *rec, size_t len, uint64_t lsn,
                   uint64_t *affected, qv_error *err);
/* Append rec to the collection's WAL, fsync, apply in order; durable and visible on
 * return. */
qv_err store_commit(qv_coll_data *c, uint8_t type, const qv_buf *rec, uint64_t *affected,
                    qv_error *err);

#endif
