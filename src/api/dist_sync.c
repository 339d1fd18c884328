/* SPDX-License-Identifier: Apache-2.0 */
/* dist_sync.c - bringing a shard copy up to date from the shard's primary.
 *
 * A node that (re)joins is not ready: it serves neither reads nor primary writes of its
 * shards until each shard it owns matches the primary. For each, it sends the primary its
 * copy's row count and digest (POST /internal/v1/sync "QVY1" str db str coll u32 shard u64
 * count u64 digest str requester). The primary takes the shard's write stripe (its writes
 * wait), compares with its own copy, and when they differ sends the requester every live
 * row in chunks (POST /internal/v1/install "QVI1" str db str coll u32 shard u8 first,
 * batch, rows x i64 partition): the first chunk replaces the requester's copy. Writes made
 * before the stripe was taken are in the copy, later ones reach the requester as usual
 * replicas. It answers "QVA1" u64 rows copied. A primary that is itself still starting
 * with an empty copy (a new owner after the peer list changed) copies nothing to a
 * requester that has rows: that copy is the better one, and the new owner syncs from it. */
#include <string.h>

#include "api/api_int.h"
#include "api/dist_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

#define CHUNK_BYTES ((size_t)16 << 20)

/* ---- the requester ------------------------------------------------------------------- */

bool dist_sync_shard(qv_node *n, const qv_collection_info *ci, qv_coll_data *data,
                     uint32_t shard, size_t source)
{
    qv_cluster *c = n->cluster;
    uint64_t count, digest;
    qv_buf body;
    qv_peer_call call;
    bool ok;

    qv_coll_shard_digest(data, shard, &count, &digest);
    qv_buf_init(&body);
    qv_buf_put(&body, "QVY1", 4);
    dist_put_str(&body, ci->db);
    dist_put_str(&body, ci->name);
    qv_buf_put_u32(&body, shard);
    qv_buf_put_u64(&body, count);
    qv_buf_put_u64(&body, digest);
    dist_put_str(&body, n->node_id);
    call = (qv_peer_call){.peer = source, .method = "POST", .path = "/internal/v1/sync",
                          .body = body.data, .len = body.len};
    /* copying a whole shard takes longer than a request */
    qv_cluster_call(c, &call, 1, qv_cluster_timeout_ms(c) * 30);
    ok = call.ok && call.status == 200;
    if (!ok)
        qv_log_warn("cluster", "syncing %s shard %u from %s failed (%s, HTTP %ld)", ci->name,
                    shard, qv_cluster_peer_id(c, source), call.error, call.status);
    qv_peer_calls_fini(&call, 1);
    qv_buf_fini(&body);
    return ok;
}

/* Replace (first chunk) or extend this node's copy of a shard with rows from the primary. */
qv_err api_internal_install(qv_req *req, qv_resp *resp)
{
    dist_target t;
    qv_reader r;
    char *db = NULL, *coll = NULL;
    qv_collection_info ci = {0};
    qv_dist_coll dc = {req->node, &ci, NULL};
    qv_rowbatch rows = {0}, old = {0};
    int64_t *parts = NULL;
    uint32_t shard;
    bool first;
    qv_err rc = dist_decode_target(req->body, req->body_len, "QVI1", &t, &r, &db, &coll,
                                   &resp->err);

    if (rc == QV_OK &&
        (rc = qv_catalog_get_collection(req->node->catalog, db, coll, &ci, &resp->err)) == QV_OK)
        rc = qv_store_get(req->node->store, &ci, &dc.data, &resp->err);
    shard = qv_reader_u32(&r);
    first = qv_reader_u8(&r);
    if (rc == QV_OK && (r.failed || shard >= (uint32_t)ci.shards_num))
        rc = qv_error_set(&resp->err, QV_EINVAL, "peer message: bad install header");
    if (rc == QV_OK)
        rc = dist_decode_batch(&r, &ci.schema, &rows, &resp->err);
    if (rc == QV_OK && rows.rows > (r.len - r.pos) / 8)
        rc = qv_error_set(&resp->err, QV_EINVAL, "peer message: short partitions");
    if (rc == QV_OK && first && (rc = qv_coll_shard_rows(dc.data, shard, &old, &parts,
                                                         &resp->err)) == QV_OK) {
        uint64_t n;
        rc = qv_coll_delete_keys(dc.data, &old, &n, &resp->err); /* the stale copy */
    }
    for (size_t i = 0; rc == QV_OK && i < rows.rows;) { /* runs of one partition */
        int64_t part = (int64_t)qv_load_le64(r.p + r.pos + 8 * i);
        size_t j = i;
        uint32_t *idx = qv_malloc((rows.rows + 1) * sizeof *idx);
        qv_rowbatch run;
        while (idx && j < rows.rows && (int64_t)qv_load_le64(r.p + r.pos + 8 * j) == part) {
            idx[j - i] = (uint32_t)j;
            j++;
        }
        if (!idx || qv_rowbatch_init(&run, &ci.schema) != QV_OK) {
            qv_free(idx);
            rc = qv_error_set(&resp->err, QV_ENOMEM, "out of memory");
            break;
        }
        if ((rc = qv_rowbatch_append_rows(&run, &rows, idx, j - i, &resp->err)) == QV_OK)
            rc = qv_coll_insert(dc.data, part, &run, &resp->err);
        qv_rowbatch_fini(&run);
        qv_free(idx);
        i = j;
    }
    if (old.cols)
        qv_rowbatch_fini(&old);
    qv_free(parts);
    if (rows.cols)
        qv_rowbatch_fini(&rows);
    qv_coll_data_unref(dc.data);
    qv_collection_info_fini(&ci);
    qv_free(db);
    qv_free(coll);
    return rc == QV_OK ? api_ok_empty(resp) : rc;
}

/* ---- the primary --------------------------------------------------------------------- */

/* Send rows [from, to) of the copy to the requester. */
static bool send_chunk(qv_node *n, size_t peer, const qv_collection_info *ci, uint32_t shard,
                       const qv_rowbatch *all, const int64_t *parts, size_t from, size_t to)
{
    qv_rowbatch chunk;
    uint32_t *idx = qv_malloc((to - from + 1) * sizeof *idx);
    qv_buf body;
    qv_peer_call call;
    bool ok = false;

    if (!idx || qv_rowbatch_init(&chunk, &ci->schema) != QV_OK) {
        qv_free(idx);
        return false;
    }
    for (size_t i = from; i < to; i++)
        idx[i - from] = (uint32_t)i;
    qv_buf_init(&body);
    if (qv_rowbatch_append_rows(&chunk, all, idx, to - from, NULL) == QV_OK) {
        qv_buf_put(&body, "QVI1", 4);
        dist_put_str(&body, ci->db);
        dist_put_str(&body, ci->name);
        qv_buf_put_u32(&body, shard);
        qv_buf_put_u8(&body, from == 0);
        dist_put_batch(&body, &chunk);
        for (size_t i = from; i < to; i++)
            qv_buf_put_u64(&body, (uint64_t)parts[i]);
        call = (qv_peer_call){.peer = peer, .method = "POST", .path = "/internal/v1/install",
                              .body = body.data, .len = body.len};
        if (!body.failed) {
            qv_cluster_call(n->cluster, &call, 1, qv_cluster_timeout_ms(n->cluster) * 10);
            ok = call.ok && call.status == 200;
            if (!ok)
                qv_log_warn("cluster", "rows to %s: %s (HTTP %ld) %.*s",
                            qv_cluster_peer_id(n->cluster, peer), call.error, call.status,
                            (int)(call.resp.len < 200 ? call.resp.len : 200),
                            (const char *)call.resp.data);
            qv_peer_calls_fini(&call, 1);
        }
    }
    qv_buf_fini(&body);
    qv_rowbatch_fini(&chunk);
    qv_free(idx);
    return ok;
}

/* Every live row of the shard to the requester, in chunks of about CHUNK_BYTES. */
static qv_err copy_shard(qv_node *n, size_t peer, const qv_collection_info *ci,
                         qv_coll_data *data, uint32_t shard, uint64_t *copied, qv_error *err)
{
    qv_rowbatch all;
    int64_t *parts = NULL;
    qv_buf probe;
    size_t per_chunk, at = 0;
    qv_err rc = qv_coll_shard_rows(data, shard, &all, &parts, err);

    qv_buf_init(&probe);
    if (rc == QV_OK)
        qv_rowbatch_encode(&all, &probe);
    per_chunk = all.rows && probe.len ? CHUNK_BYTES / (probe.len / all.rows + 1) + 1 : 1;
    qv_buf_fini(&probe);
    do { /* at least one chunk: an empty copy still replaces the requester's */
        size_t to = all.rows - at < per_chunk ? all.rows : at + per_chunk;
        if (rc == QV_OK && !send_chunk(n, peer, ci, shard, &all, parts, at, to))
            rc = qv_error_set(err, QV_EUNAVAIL, "sending rows to %s failed",
                              qv_cluster_peer_id(n->cluster, peer));
        at = to;
    } while (rc == QV_OK && at < all.rows);
    *copied = rc == QV_OK ? all.rows : 0;
    qv_rowbatch_fini(&all);
    qv_free(parts);
    return rc;
}

qv_err api_internal_sync(qv_req *req, qv_resp *resp)
{
    dist_target t;
    qv_reader r;
    char *db = NULL, *coll = NULL, *requester = NULL;
    qv_collection_info ci = {0};
    qv_coll_data *data = NULL;
    uint64_t count, digest, mine_count, mine_digest, copied = 0;
    size_t peer = SIZE_MAX;
    uint32_t shard;
    qv_err rc = dist_decode_target(req->body, req->body_len, "QVY1", &t, &r, &db, &coll,
                                   &resp->err);

    shard = qv_reader_u32(&r);
    count = qv_reader_u64(&r);
    digest = qv_reader_u64(&r);
    requester = dist_get_str(&r);
    for (size_t i = 0; requester && i < qv_cluster_size(req->node->cluster); i++)
        if (!strcmp(qv_cluster_peer_id(req->node->cluster, i), requester))
            peer = i;
    if (rc == QV_OK && (r.failed || peer == SIZE_MAX))
        rc = qv_error_set(&resp->err, QV_EINVAL, "peer message: bad sync request");
    if (rc == QV_OK &&
        (rc = qv_catalog_get_collection(req->node->catalog, db, coll, &ci, &resp->err)) == QV_OK &&
        (rc = qv_store_get(req->node->store, &ci, &data, &resp->err)) == QV_OK &&
        shard >= (uint32_t)ci.shards_num)
        rc = qv_error_set(&resp->err, QV_EINVAL, "peer message: shard %u out of range", shard);
    if (rc == QV_OK) {
        qv_peer_state self;
        qv_cluster_peer_state(req->node->cluster, qv_cluster_self(req->node->cluster), &self);
        dist_stripe(ci.id, shard, true); /* the shard's writes wait: the copy is exact */
        qv_coll_shard_digest(data, shard, &mine_count, &mine_digest);
        /* still starting with nothing (a new owner after the peer list changed): the
         * requester's copy is the better one; it keeps it and we take it from it */
        if (!self.ready && mine_count == 0 && count > 0)
            qv_log_info("cluster", "%s shard %u: %s keeps its copy (ours is empty)", ci.name,
                        shard, requester);
        else if (mine_count != count || mine_digest != digest)
            rc = copy_shard(req->node, peer, &ci, data, shard, &copied, &resp->err);
        dist_stripe(ci.id, shard, false);
        if (copied || rc != QV_OK)
            qv_log_info("cluster", "%s shard %u: copied %llu rows to %s%s", ci.name, shard,
                        (unsigned long long)copied, requester, rc == QV_OK ? "" : " (failed)");
    }
    qv_coll_data_unref(data);
    qv_collection_info_fini(&ci);
    qv_free(db);
    qv_free(coll);
    qv_free(requester);
    if (rc != QV_OK)
        return rc;
    resp->content_type = "application/octet-stream";
    dist_encode_count_answer(&resp->body, copied, NULL);
    return qv_buf_status(&resp->body, &resp->err);
}
