/* SPDX-License-Identifier: Apache-2.0 */
/* api_cluster.c - the catalog across peers: DDL run by the leader (the live, ready peer
 * with the smallest id) and replicated to every live peer before it is acknowledged;
 * catch-up of a peer that missed changes (the heartbeat tick fetches the newest catalog
 * a live peer has); broadcast routes; GET /cluster. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "api/dist_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

static pthread_mutex_t ddl_lock = PTHREAD_MUTEX_INITIALIZER; /* one DDL at a time */

qv_err api_install_catalog(qv_node *n, const void *p, size_t len, qv_error *err)
{
    int64_t *dropped = NULL;
    size_t ndropped = 0;
    bool installed = false;
    qv_err rc = qv_catalog_install(n->catalog, p, len, &installed, &dropped, &ndropped, err);

    for (size_t i = 0; rc == QV_OK && i < ndropped; i++)
        rc = qv_store_drop(n->store, dropped[i], err);
    if (installed)
        qv_log_info("cluster", "catalog version %llu installed",
                    (unsigned long long)qv_catalog_version(n->catalog));
    qv_free(dropped);
    return rc;
}

/* Push this node's catalog to every other live peer. */
static void replicate_catalog(qv_node *n)
{
    qv_cluster *c = n->cluster;
    qv_peer_call calls[QV_CLUSTER_MAX_PEERS];
    size_t k = 0;
    qv_buf snap;
    qv_error err;

    qv_buf_init(&snap);
    if (qv_catalog_snapshot(n->catalog, &snap, &err) != QV_OK) {
        qv_log_error("cluster", "catalog snapshot: %s", err.msg);
        qv_buf_fini(&snap);
        return;
    }
    for (size_t i = 0; i < qv_cluster_size(c); i++) {
        qv_peer_state st;
        qv_cluster_peer_state(c, i, &st);
        if (i != qv_cluster_self(c) && st.live)
            calls[k++] = (qv_peer_call){.peer = i, .method = "POST",
                                        .path = "/internal/v1/catalog", .body = snap.data,
                                        .len = snap.len};
    }
    qv_cluster_call(c, calls, k, qv_cluster_timeout_ms(c));
    for (size_t i = 0; i < k; i++)
        if (!calls[i].ok || calls[i].status != 200)
            qv_log_warn("cluster", "catalog to %s failed (%s, HTTP %ld): it catches up later",
                        qv_cluster_peer_id(c, calls[i].peer), calls[i].error, calls[i].status);
    qv_peer_calls_fini(calls, k);
    qv_buf_fini(&snap);
}

static qv_err run_as_leader(const qv_route *r, qv_req *req, qv_resp *resp)
{
    qv_node *n = req->node;
    uint64_t before;
    qv_err rc;

    pthread_mutex_lock(&ddl_lock);
    before = qv_catalog_version(n->catalog);
    rc = r->fn(req, resp);
    if (qv_catalog_version(n->catalog) != before)
        replicate_catalog(n);
    pthread_mutex_unlock(&ddl_lock);
    return rc;
}

/* Run r on peer `peer` through /internal/v1/run; its answer becomes ours. */
static bool run_on_peer(qv_node *n, size_t peer, const qv_route *r, qv_req *req, qv_resp *resp)
{
    char header[300];
    qv_peer_call call = {.peer = peer, .method = "POST", .path = "/internal/v1/run",
                         .body = req->body, .len = req->body_len,
                         .content_type = "application/json", .header = header};

    snprintf(header, sizeof header, "X-Quiver-Path: %s", r->path);
    qv_cluster_call(n->cluster, &call, 1, qv_cluster_timeout_ms(n->cluster));
    if (call.ok) {
        qv_buf_fini(&resp->body);
        resp->body = call.resp; /* moved */
        qv_buf_init(&call.resp);
        resp->status = (int)call.status;
    }
    qv_peer_calls_fini(&call, 1);
    return call.ok;
}

/* Run r on the leader: here (DDL under the DDL lock, replicating the catalog) or there. */
static qv_err forward_to_leader(const qv_route *r, qv_req *req, qv_resp *resp)
{
    qv_cluster *c = req->node->cluster;

    for (size_t tries = 0; tries < qv_cluster_size(c); tries++) {
        size_t leader = qv_cluster_leader(c);
        if (leader == qv_cluster_self(c))
            return r->flags & QV_ROUTE_DDL ? run_as_leader(r, req, resp) : r->fn(req, resp);
        if (run_on_peer(req->node, leader, r, req, resp))
            return QV_OK; /* the leader's answer, success or error, as it gave it */
    }
    return qv_error_set(&resp->err, QV_EUNAVAIL, "no cluster leader answered");
}

/* Run r here, then on every other live peer (their answers are only logged). */
static qv_err broadcast(const qv_route *r, qv_req *req, qv_resp *resp)
{
    qv_cluster *c = req->node->cluster;
    qv_err rc = r->fn(req, resp);
    qv_peer_call calls[QV_CLUSTER_MAX_PEERS];
    char header[300];
    size_t k = 0;

    if (rc != QV_OK)
        return rc;
    snprintf(header, sizeof header, "X-Quiver-Path: %s", r->path);
    for (size_t i = 0; i < qv_cluster_size(c); i++) {
        qv_peer_state st;
        qv_cluster_peer_state(c, i, &st);
        if (i != qv_cluster_self(c) && st.live)
            calls[k++] = (qv_peer_call){.peer = i, .method = "POST", .path = "/internal/v1/run",
                                        .body = req->body, .len = req->body_len,
                                        .content_type = "application/json", .header = header};
    }
    qv_cluster_call(c, calls, k, qv_cluster_timeout_ms(c));
    for (size_t i = 0; i < k; i++)
        if (!calls[i].ok || calls[i].status != 200)
            qv_log_warn("cluster", "%s on %s failed (%s, HTTP %ld)", r->path,
                        qv_cluster_peer_id(c, calls[i].peer), calls[i].error, calls[i].status);
    qv_peer_calls_fini(calls, k);
    return rc;
}

qv_err api_cluster_run(const qv_route *r, qv_req *req, qv_resp *resp, bool from_peer)
{
    if (r->flags & QV_ROUTE_DDL)
        return from_peer ? run_as_leader(r, req, resp) : forward_to_leader(r, req, resp);
    if (r->flags & QV_ROUTE_LEADER)
        return from_peer ? r->fn(req, resp) : forward_to_leader(r, req, resp);
    return from_peer ? r->fn(req, resp) : broadcast(r, req, resp);
}

/* ---- catch-up ------------------------------------------------------------------------ */

/* Fetch the newest catalog a live peer has, when it is newer than ours. */
static void catch_up_catalog(qv_node *n)
{
    qv_cluster *c = n->cluster;
    uint64_t mine = qv_catalog_version(n->catalog), best_v = mine;
    size_t best = SIZE_MAX;
    qv_error err;

    for (size_t i = 0; i < qv_cluster_size(c); i++) {
        qv_peer_state st;
        qv_cluster_peer_state(c, i, &st);
        if (i != qv_cluster_self(c) && st.live && st.catalog_version > best_v) {
            best = i;
            best_v = st.catalog_version;
        }
    }
    if (best == SIZE_MAX)
        return;
    qv_peer_call call = {.peer = best, .method = "GET", .path = "/internal/v1/catalog"};
    qv_cluster_call(c, &call, 1, qv_cluster_timeout_ms(c));
    if (call.ok && call.status == 200 &&
        api_install_catalog(n, call.resp.data, call.resp.len, &err) != QV_OK)
        qv_log_warn("cluster", "catalog from %s: %s", qv_cluster_peer_id(c, best), err.msg);
    qv_peer_calls_fini(&call, 1);
}

#define GC_EVERY_TICKS 10

/* What this node knows of a shard's owners. */
typedef struct owner_view {
    bool mine;       /* this node is one */
    bool all_ready;  /* every owner is live and ready */
    bool other_live; /* another owner is live */
} owner_view;

static owner_view view_owners(qv_cluster *c, int64_t coll, uint32_t shard)
{
    size_t owners[QV_CLUSTER_MAX_REPLICAS], n = qv_cluster_owners(c, coll, shard, owners);
    owner_view v = {.all_ready = true};

    for (size_t i = 0; i < n; i++) {
        qv_peer_state st;
        bool self = owners[i] == qv_cluster_self(c);
        qv_cluster_peer_state(c, owners[i], &st);
        v.mine |= self;
        v.all_ready &= st.live && st.ready;
        v.other_live |= !self && st.live;
    }
    return v;
}

/* A shard this node owns: sync it from the shard's primary (the first live, ready owner,
 * or with none ready the first live one, which is then the authority and may be us).
 * A shard it no longer owns (the peer list changed): drop its rows once every owner is
 * live and ready. False when a sync failed. */
static bool tend_shard(qv_node *n, const qv_collection_info *ci, qv_coll_data *data,
                       uint32_t s, bool syncing)
{
    qv_cluster *c = n->cluster;
    owner_view v = view_owners(c, ci->id, s);
    uint64_t count, digest;

    if (v.mine) {
        size_t src = dist_primary(c, ci->id, s, 0);
        if (!syncing)
            return true;
        if (src != SIZE_MAX && src != qv_cluster_self(c))
            return dist_sync_shard(n, ci, data, s, src);
        /* no other owner is ready: we are the authority, unless we have nothing while
         * another owner lives (we are new to this shard: wait for it to be ready) */
        qv_coll_shard_digest(data, s, &count, &digest);
        return count > 0 || !v.other_live;
    }
    if (syncing || !v.all_ready)
        return true;
    qv_coll_shard_digest(data, s, &count, &digest);
    if (count) {
        qv_rowbatch old;
        int64_t *parts = NULL;
        uint64_t deleted = 0;
        qv_error err;
        if (qv_coll_shard_rows(data, s, &old, &parts, &err) == QV_OK &&
            qv_coll_delete_keys(data, &old, &deleted, &err) == QV_OK)
            qv_log_info("cluster", "%s shard %u moved to its new owners: dropped %llu rows here",
                        ci->name, s, (unsigned long long)deleted);
        qv_rowbatch_fini(&old);
        qv_free(parts);
    }
    return true;
}

/* Tend every shard of every collection; true when every sync succeeded. */
static bool tend_shards(qv_node *n, bool syncing)
{
    qv_names dbs = {0};
    bool ok = true;

    qv_catalog_list_databases(n->catalog, &dbs, NULL);
    for (size_t d = 0; d < dbs.count; d++) {
        qv_names colls = {0};
        qv_catalog_list_collections(n->catalog, dbs.items[d], &colls, NULL);
        for (size_t k = 0; k < colls.count; k++) {
            qv_collection_info ci;
            qv_coll_data *data = NULL;
            if (qv_catalog_get_collection(n->catalog, dbs.items[d], colls.items[k], &ci, NULL) !=
                QV_OK)
                continue;
            if (qv_store_get(n->store, &ci, &data, NULL) == QV_OK)
                for (uint32_t s = 0; s < (uint32_t)ci.shards_num; s++)
                    ok &= tend_shard(n, &ci, data, s, syncing);
            qv_coll_data_unref(data);
            qv_collection_info_fini(&ci);
        }
        qv_names_fini(&colls);
    }
    qv_names_fini(&dbs);
    return ok;
}

/* Every peer answered a ping since we started, or the grace period (5 peer timeouts) is
 * over: only then do we know whose copies are current. */
static bool heard_from_all(qv_node *n)
{
    qv_cluster *c = n->cluster;
    uint64_t grace = 5 * (uint64_t)qv_cluster_timeout_ms(c);
    bool all = true;

    for (size_t i = 0; i < qv_cluster_size(c); i++) {
        qv_peer_state st;
        qv_cluster_peer_state(c, i, &st);
        all &= st.last_ok_ms > 0;
    }
    return all || n->start_ms + grace < (uint64_t)time(NULL) * 1000;
}

void api_cluster_tick(void *node)
{
    static _Thread_local unsigned ticks; /* the heartbeat thread's own */
    qv_node *n = node;
    qv_peer_state self;
    uint64_t resyncs;

    catch_up_catalog(n);
    resyncs = qv_cluster_resyncs(n->cluster);
    qv_cluster_peer_state(n->cluster, qv_cluster_self(n->cluster), &self);
    if (!self.ready) {
        /* ready only if no peer asked for a catch-up while this one ran */
        if (heard_from_all(n) && tend_shards(n, true) &&
            resyncs == qv_cluster_resyncs(n->cluster))
            qv_cluster_set_ready(n->cluster, true);
    } else if (++ticks % GC_EVERY_TICKS == 0) {
        tend_shards(n, false);
    }
}

/* ---- GET /cluster -------------------------------------------------------------------- */

static void write_members(qv_jw *w, qv_cluster *c)
{
    qv_jw_key(w, "members");
    qv_jw_arr_begin(w);
    for (size_t i = 0; i < qv_cluster_size(c); i++) {
        qv_peer_state st;
        qv_cluster_peer_state(c, i, &st);
        qv_jw_obj_begin(w);
        qv_jw_kstr(w, "id", qv_cluster_peer_id(c, i));
        qv_jw_kstr(w, "url", qv_cluster_peer_url(c, i));
        qv_jw_kbool(w, "self", i == qv_cluster_self(c));
        qv_jw_kbool(w, "live", st.live);
        qv_jw_kbool(w, "ready", st.ready);
        qv_jw_kint(w, "catalogVersion", (int64_t)st.catalog_version);
        qv_jw_kint(w, "lastSeenMs", (int64_t)st.last_ok_ms);
        qv_jw_obj_end(w);
    }
    qv_jw_arr_end(w);
}

static void write_shards(qv_jw *w, qv_cluster *c, const qv_collection_info *ci)
{
    qv_jw_obj_begin(w);
    qv_jw_kstr(w, "dbName", ci->db);
    qv_jw_kstr(w, "collectionName", ci->name);
    qv_jw_kint(w, "collectionID", ci->id);
    qv_jw_key(w, "shards");
    qv_jw_arr_begin(w);
    for (uint32_t s = 0; s < (uint32_t)ci->shards_num; s++) {
        size_t owners[QV_CLUSTER_MAX_REPLICAS], n = qv_cluster_owners(c, ci->id, s, owners);
        size_t p = dist_primary(c, ci->id, s, 0);
        qv_jw_obj_begin(w);
        qv_jw_kint(w, "shard", s);
        qv_jw_key(w, "owners");
        qv_jw_arr_begin(w);
        for (size_t i = 0; i < n; i++)
            qv_jw_str(w, qv_cluster_peer_id(c, owners[i]));
        qv_jw_arr_end(w);
        if (p != SIZE_MAX)
            qv_jw_kstr(w, "primary", qv_cluster_peer_id(c, p));
        qv_jw_obj_end(w);
    }
    qv_jw_arr_end(w);
    qv_jw_obj_end(w);
}

static void write_shard_map(qv_jw *w, qv_node *n)
{
    qv_names dbs = {0};

    qv_jw_key(w, "collections");
    qv_jw_arr_begin(w);
    qv_catalog_list_databases(n->catalog, &dbs, NULL);
    for (size_t d = 0; d < dbs.count; d++) {
        qv_names colls = {0};
        qv_catalog_list_collections(n->catalog, dbs.items[d], &colls, NULL);
        for (size_t k = 0; k < colls.count; k++) {
            qv_collection_info ci;
            if (qv_catalog_get_collection(n->catalog, dbs.items[d], colls.items[k], &ci, NULL) !=
                QV_OK)
                continue;
            write_shards(w, n->cluster, &ci);
            qv_collection_info_fini(&ci);
        }
        qv_names_fini(&colls);
    }
    qv_names_fini(&dbs);
    qv_jw_arr_end(w);
}

qv_err api_cluster_status(qv_req *req, qv_resp *resp)
{
    qv_node *n = req->node;
    qv_cluster *c = n->cluster;
    qv_jw w;

    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kstr(&w, "node", n->node_id);
    qv_jw_kbool(&w, "clustered", c != NULL);
    if (c) {
        qv_jw_kstr(&w, "leader", qv_cluster_peer_id(c, qv_cluster_leader(c)));
        qv_jw_kint(&w, "replicationFactor", (int64_t)qv_cluster_replication(c));
        qv_jw_kint(&w, "writeQuorum", (int64_t)qv_cluster_write_quorum(c));
        write_members(&w, c);
        write_shard_map(&w, n);
    }
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return qv_buf_status(&resp->body, &resp->err);
}
