/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/dist.h - a collection's rows across the cluster: the API layer calls these
 * instead of the store, and on a single node they are the store calls.
 *
 * Writes: the batch is split by shard; each part goes to its shard's primary (the first
 * live, ready owner), which commits it and replicates it to the other live owners in its
 * commit order (one part of a shard at a time), and answers once every live owner made it
 * durable; the write fails unless at least cluster.write_quorum owners did.
 * Reads: every shard is read from one live owner (this node when it owns the shard, else
 * the first live, ready owner, failing over to the next on error); the entry node merges:
 * search hits by (distance, primary key) with duplicate keys dropped, query rows in key
 * order, counts summed. A shard without a live owner fails the read unless
 * cluster.allow_partial is set (then *missing names the shards left out). */
#ifndef QUIVER_DIST_H
#define QUIVER_DIST_H

#include "quiver/catalog.h"
#include "quiver/node.h"
#include "quiver/store.h"

/* Shards the reads of this thread left out since the last call (cluster.allow_partial),
 * as a bit mask; clears it. */
uint64_t qv_dist_take_missing(void);

/* Where a compiled filter came from, so a peer can compile the same one: a filter
 * expression with its exprParams, or (expr QV_DIST_PK_FILTER) the primary-key filter of
 * a list of keys, params {"ids": [...]} (api_pk_filter). */
typedef struct qv_dist_filter {
    const char *expr;   /* "" or NULL: none */
    const char *params; /* exprParams as JSON text, or NULL */
} qv_dist_filter;
#define QV_DIST_PK_FILTER "\x01pk"

/* The collection an operation works on. */
typedef struct qv_dist_coll {
    qv_node *node;
    const qv_collection_info *ci;
    qv_coll_data *data; /* this node's rows of it */
} qv_dist_coll;

/* Insert or upsert rows, each into partition_id or, with row_parts (a partition-key
 * collection's routing), into its own partition; one atomic write per shard. */
qv_err qv_dist_write(const qv_dist_coll *dc, bool upsert, int64_t partition_id,
                     const int64_t *row_parts, const qv_rowbatch *rows, qv_error *err);
/* f compiled from src; deletes the matching live rows in the partitions (NULL: all). */
qv_err qv_dist_delete(const qv_dist_coll *dc, const qv_filter *f, const qv_dist_filter *src,
                      const int64_t *partitions, size_t npartitions, uint64_t *deleted,
                      qv_error *err);
qv_err qv_dist_query(const qv_dist_coll *dc, const qv_query_opts *o, const qv_dist_filter *src,
                     qv_rowbatch *out, uint64_t *count, qv_error *err);
qv_err qv_dist_search(const qv_dist_coll *dc, const qv_search_opts *o,
                      const qv_dist_filter *src, qv_search_result *out, qv_error *err);
/* Index build progress of a vector field over every shard (one owner each). */
qv_err qv_dist_index_progress(const qv_dist_coll *dc, size_t field, uint64_t *indexed,
                              uint64_t *total, qv_error *err);
/* Live rows of a partition (< 0: all). */
qv_err qv_dist_count(const qv_dist_coll *dc, int64_t partition_id, uint64_t *out, qv_error *err);

#endif
