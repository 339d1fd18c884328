/* SPDX-License-Identifier: Apache-2.0 */
/* dist_int.h - shared by dist.c (planning, reads), dist_ops.c (search, query, count,
 * writes) and api_internal.c (the peer side). */
#ifndef QUIVER_API_DIST_INT_H
#define QUIVER_API_DIST_INT_H

#include "api/dist_msg.h"
#include "quiver/cluster.h"
#include "quiver/dist.h"

/* One distributed read: encode the request for a peer reading `mask`, run the local part
 * for `mask`, collect a peer's answer. */
typedef struct dist_read_ops {
    const char *path; /* /internal/v1/... */
    void (*encode)(void *ctx, uint64_t mask, qv_buf *out);
    qv_err (*local)(void *ctx, uint64_t mask, qv_error *err);
    qv_err (*collect)(void *ctx, const void *answer, size_t len, qv_error *err);
} dist_read_ops;

qv_err dist_read(const qv_dist_coll *dc, const dist_read_ops *ops, void *ctx, qv_error *err);
/* The shard's primary: first live and ready owner (else first live), skipping peers in
 * skip (bit per peer). SIZE_MAX: none. */
size_t dist_primary(qv_cluster *c, int64_t coll, uint32_t shard, uint64_t skip);
/* err from a failed or refused peer call. */
void dist_call_error(const qv_dist_coll *dc, const qv_peer_call *call, qv_error *err);
/* Where written rows go: one partition for all, or (rows != NULL) one per row, as a
 * partition-key collection routes them; either way one atomic write per shard. */
typedef struct dist_dest {
    int64_t partition;
    const int64_t *rows;
} dist_dest;

/* On the primary of `shard`: commit op (insert, upsert, delete keys) locally, then on every
 * other live owner, in one order per shard. */
qv_err dist_primary_write(const qv_dist_coll *dc, uint8_t op, const dist_dest *to,
                          uint32_t shard, const qv_rowbatch *rows, uint64_t *affected,
                          qv_error *err);
/* Commit op locally (a replica's part, or a single node). */
qv_err dist_local_write(const qv_dist_coll *dc, uint8_t op, const dist_dest *to,
                        const qv_rowbatch *rows, uint64_t *affected, qv_error *err);

/* On the primary of `shard`: delete the live rows of the shard matching f. */
qv_err dist_delete_shard(const qv_dist_coll *dc, const qv_filter *f, const int64_t *partitions,
                         size_t npartitions, uint32_t shard, uint64_t *deleted, qv_error *err);

/* The write stripe of a shard (held by its primary while it commits and replicates). */
void dist_stripe(int64_t coll, uint32_t shard, bool lock);
/* Bring this node's copy of a shard up to date from `source` (dist_sync.c). */
bool dist_sync_shard(qv_node *n, const qv_collection_info *ci, qv_coll_data *data,
                     uint32_t shard, size_t source);

/* Index progress request: "QVP1" str db str coll u64 shard mask u32 field; answer "QVA1"
 * u64 indexed u64 total. */
void dist_encode_progress(qv_buf *b, const dist_target *t, uint64_t mask, size_t field);

#endif
