/* SPDX-License-Identifier: Apache-2.0 */
/* dist.c - collection operations across the cluster (quiver/dist.h): read planning with
 * failover, merging of partial results, routing of writes to shard primaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dist_int.h"
#include "quiver/alloc.h"
#include "quiver/json.h"
#include "quiver/log.h"

#define SHARD_MASK(n) ((n) >= 64 ? ~0ull : (1ull << (n)) - 1)

static qv_cluster *cluster_of(const qv_dist_coll *dc) { return dc->node->cluster; }

size_t dist_primary(qv_cluster *c, int64_t coll, uint32_t shard, uint64_t skip)
{
    size_t owners[QV_CLUSTER_MAX_REPLICAS], n = qv_cluster_owners(c, coll, shard, owners);
    size_t live = SIZE_MAX;

    for (size_t i = 0; i < n; i++) {
        qv_peer_state st;
        if (skip >> owners[i] & 1)
            continue;
        qv_cluster_peer_state(c, owners[i], &st);
        if (st.live && st.ready)
            return owners[i];
        if (st.live && live == SIZE_MAX)
            live = owners[i];
    }
    return live;
}

/* The owner a shard is read from: this node when it owns the shard and is ready, else
 * the primary; owners in `tried` are skipped. SIZE_MAX: none. */
static size_t read_owner(qv_cluster *c, int64_t coll, uint32_t shard, uint64_t tried)
{
    size_t owners[QV_CLUSTER_MAX_REPLICAS], n = qv_cluster_owners(c, coll, shard, owners);
    size_t self = qv_cluster_self(c);
    qv_peer_state st;

    qv_cluster_peer_state(c, self, &st);
    for (size_t i = 0; i < n; i++)
        if (owners[i] == self && st.ready && !(tried >> self & 1))
            return self;
    return dist_primary(c, coll, shard, tried);
}

/* ---- reads --------------------------------------------------------------------------- */

/* One round of reads: which peer reads which shards. */
typedef struct read_round {
    size_t n;
    size_t peer[QV_CLUSTER_MAX_PEERS];
    uint64_t mask[QV_CLUSTER_MAX_PEERS];
} read_round;

static void plan_round(const qv_dist_coll *dc, uint64_t todo, const uint64_t *tried,
                       read_round *rr, uint64_t *missing)
{
    qv_cluster *c = cluster_of(dc);

    rr->n = 0;
    *missing = 0;
    for (uint32_t s = 0; s < (uint32_t)dc->ci->shards_num; s++) {
        size_t p, k;
        if (!(todo >> s & 1))
            continue;
        if ((p = read_owner(c, dc->ci->id, s, tried[s])) == SIZE_MAX) {
            *missing |= 1ull << s;
            continue;
        }
        for (k = 0; k < rr->n && rr->peer[k] != p; k++) {
        }
        if (k == rr->n) {
            rr->peer[rr->n] = p;
            rr->mask[rr->n++] = 0;
        }
        rr->mask[k] |= 1ull << s;
    }
}

static _Thread_local uint64_t tl_missing; /* shards left out by partial reads */

uint64_t qv_dist_take_missing(void)
{
    uint64_t m = tl_missing;
    tl_missing = 0;
    return m;
}

static qv_err missing_error(uint64_t missing, qv_error *err)
{
    return qv_error_set(err, QV_EUNAVAIL,
                        "shard %d has no live owner (set cluster.allow_partial to answer from "
                        "the others)",
                        __builtin_ctzll(missing));
}

/* Error of a failed peer call, for the caller's message. */
void dist_call_error(const qv_dist_coll *dc, const qv_peer_call *call, qv_error *err)
{
    const char *peer = qv_cluster_peer_id(cluster_of(dc), call->peer);
    qv_jdoc *doc = NULL;
    const char *msg = NULL;
    int64_t code = 0;

    if (!call->ok) {
        qv_error_set(err, QV_EUNAVAIL, "peer %s: %s", peer, call->error);
        return;
    }
    if (qv_jdoc_parse((const char *)call->resp.data, call->resp.len, 8, &doc, NULL) == QV_OK) {
        qv_jget_str(qv_jdoc_root(doc), "message", false, &msg, NULL, NULL);
        qv_jget_int(qv_jdoc_root(doc), "code", false, &code, NULL, NULL);
    }
    qv_err e = QV_EUNEXPECTED;
    for (int i = 1; i < QV_ERR_COUNT; i++)
        if (code && qv_err_milvus_code((qv_err)i) == code) {
            e = (qv_err)i;
            break;
        }
    qv_error_set(err, e, "peer %s: %s", peer, msg ? msg : "HTTP error");
    qv_jdoc_free(doc);
}

/* Run a read over every shard: locally for this node's part, on peers for theirs, retrying
 * shards of a failed peer on their next owner. ops encodes, runs and collects. */
qv_err dist_read(const qv_dist_coll *dc, const dist_read_ops *ops, void *ctx, qv_error *err)
{
    qv_cluster *c = cluster_of(dc);
    uint64_t todo = SHARD_MASK((size_t)dc->ci->shards_num), tried[64] = {0}, missing;
    qv_err rc = QV_OK;

    while (todo && rc == QV_OK) {
        qv_peer_call calls[QV_CLUSTER_MAX_PEERS];
        qv_buf bodies[QV_CLUSTER_MAX_PEERS];
        uint64_t masks[QV_CLUSTER_MAX_PEERS], local = 0;
        size_t n = 0;
        read_round rr;
        qv_peer_batch *batch;

        plan_round(dc, todo, tried, &rr, &missing);
        if (missing && !qv_cluster_allow_partial(c))
            return missing_error(missing, err);
        tl_missing |= missing;
        todo &= ~missing;
        for (size_t i = 0; i < rr.n; i++) {
            if (rr.peer[i] == qv_cluster_self(c)) {
                local = rr.mask[i];
                continue;
            }
            qv_buf_init(&bodies[n]);
            ops->encode(ctx, rr.mask[i], &bodies[n]);
            masks[n] = rr.mask[i];
            calls[n] = (qv_peer_call){.peer = rr.peer[i], .method = "POST", .path = ops->path,
                                      .body = bodies[n].data, .len = bodies[n].len};
            n++;
        }
        batch = qv_cluster_call_begin(c, calls, n, qv_cluster_timeout_ms(c));
        if (local && (rc = ops->local(ctx, local, err)) == QV_OK)
            todo &= ~local;
        qv_cluster_call_end(batch);
        for (size_t i = 0; i < n; i++) {
            if (rc == QV_OK && calls[i].ok && calls[i].status == 200 &&
                ops->collect(ctx, calls[i].resp.data, calls[i].resp.len, err) == QV_OK) {
                todo &= ~masks[i];
                continue;
            }
            if (rc == QV_OK && calls[i].ok && calls[i].status != 200) {
                dist_call_error(dc, &calls[i], err); /* the peer answered: no failover */
                rc = err ? err->code : QV_EUNEXPECTED;
            }
            for (uint32_t s = 0; s < 64; s++) /* transport failure: try the next owner */
                if (masks[i] >> s & 1)
                    tried[s] |= 1ull << calls[i].peer;
        }
        for (size_t i = 0; i < n; i++)
            qv_buf_fini(&bodies[i]);
        qv_peer_calls_fini(calls, n);
    }
    return rc;
}
