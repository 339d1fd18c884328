/* SPDX-License-Identifier: Apache-2.0 */
/* api_internal.c - the peer side of the cluster protocol, /internal/v1/... (dist_msg.h).
 * qv_api_dispatch has checked the caller's X-Quiver-Peer before any of these runs. */
#include <string.h>

#include "api/api_int.h"
#include "api/dist_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

qv_err api_internal_ping(qv_req *req, qv_resp *resp)
{
    qv_node *n = req->node;
    const char *resync = req->header(req->header_ctx, "X-Quiver-Resync");
    qv_peer_state st;
    qv_jw w;

    if (resync && *resync == '1')
        qv_cluster_resync(n->cluster, "a peer wrote without us");
    qv_cluster_peer_state(n->cluster, qv_cluster_self(n->cluster), &st);
    qv_jw_init(&w, &resp->body);
    qv_jw_obj_begin(&w);
    qv_jw_kstr(&w, "node", n->node_id);
    qv_jw_kint(&w, "catalogVersion", (int64_t)qv_catalog_version(n->catalog));
    qv_jw_kbool(&w, "ready", st.ready);
    qv_jw_obj_end(&w);
    return qv_buf_status(&resp->body, &resp->err);
}

qv_err api_internal_catalog_get(qv_req *req, qv_resp *resp)
{
    resp->content_type = "application/octet-stream";
    return qv_catalog_snapshot(req->node->catalog, &resp->body, &resp->err);
}

qv_err api_internal_catalog_put(qv_req *req, qv_resp *resp)
{
    qv_err rc = api_install_catalog(req->node, req->body, req->body_len, &resp->err);
    return rc == QV_OK ? api_ok_empty(resp) : rc;
}

/* The collection a message targets, with this node's rows of it. */
typedef struct target_ctx {
    qv_collection_info ci;
    qv_dist_coll dc;
    char *db, *coll;
    qv_reader r;
} target_ctx;

static qv_err open_target(qv_req *req, const char magic[4], target_ctx *t, qv_error *err)
{
    dist_target tg;
    qv_err rc;

    memset(t, 0, sizeof *t);
    if ((rc = dist_decode_target(req->body, req->body_len, magic, &tg, &t->r, &t->db, &t->coll,
                                 err)) != QV_OK ||
        (rc = qv_catalog_get_collection(req->node->catalog, t->db, t->coll, &t->ci, err)) != QV_OK)
        return rc;
    t->dc = (qv_dist_coll){req->node, &t->ci, NULL};
    return qv_store_get(req->node->store, &t->ci, &t->dc.data, err);
}

static void close_target(target_ctx *t)
{
    qv_coll_data_unref(t->dc.data);
    qv_collection_info_fini(&t->ci);
    qv_free(t->db);
    qv_free(t->coll);
}

static qv_err answer_count(qv_resp *resp, uint64_t n, const qv_rowbatch *rows)
{
    resp->content_type = "application/octet-stream";
    dist_encode_count_answer(&resp->body, n, rows);
    return qv_buf_status(&resp->body, &resp->err);
}

/* write: this node is the shard's primary; replicate: a copy from the primary. */
static qv_err write_part(qv_req *req, qv_resp *resp, bool primary)
{
    target_ctx t;
    dist_write_msg m = {0};
    uint64_t affected = 0;
    qv_err rc = open_target(req, "QVW1", &t, &resp->err);

    if (rc == QV_OK && (rc = dist_decode_write(&t.r, &t.ci.schema, &m, &resp->err)) == QV_OK) {
        dist_dest to = {m.partition, m.row_parts};
        rc = primary ? dist_primary_write(&t.dc, m.op, &to, m.shard, &m.rows, &affected,
                                          &resp->err)
                     : dist_local_write(&t.dc, m.op, &to, &m.rows, &affected, &resp->err);
    }
    qv_free(m.row_parts);
    qv_rowbatch_fini(&m.rows);
    close_target(&t);
    return rc == QV_OK ? answer_count(resp, affected, NULL) : rc;
}

qv_err api_internal_write(qv_req *req, qv_resp *resp) { return write_part(req, resp, true); }
qv_err api_internal_replicate(qv_req *req, qv_resp *resp) { return write_part(req, resp, false); }

/* The message's filter, compiled against the collection. */
static qv_err compile_filter(qv_req *req, const target_ctx *t, const dist_read_msg *m,
                             qv_filter **f, qv_error *err)
{
    qv_jdoc *params = NULL;
    qv_err rc = QV_OK;

    *f = NULL;
    if (!m->expr[0])
        return QV_OK;
    if (m->params && (rc = qv_jdoc_parse(m->params, strlen(m->params), API_MAX_JSON_DEPTH,
                                         &params, err)) != QV_OK)
        return rc;
    if (!strcmp(m->expr, QV_DIST_PK_FILTER))
        rc = params && qv_jobj_get(qv_jdoc_root(params), "ids")
                 ? api_pk_filter(&t->ci.schema, qv_jobj_get(qv_jdoc_root(params), "ids"), f, err)
                 : qv_error_set(err, QV_EINVAL, "peer message: key filter without ids");
    else
        rc = api_compile_filter(req, &t->ci.schema, m->expr,
                                params ? qv_jdoc_root(params) : NULL, f, err);
    qv_jdoc_free(params);
    return rc;
}

/* Decode a read message of kind magic and compile its filter. */
static qv_err open_read(qv_req *req, const char magic[4], target_ctx *t, dist_read_msg *m,
                        qv_filter **f, qv_error *err)
{
    qv_err rc = open_target(req, magic, t, err);

    memset(m, 0, sizeof *m);
    if (rc == QV_OK && (rc = dist_decode_read(&t->r, magic, &t->ci.schema, m, err)) == QV_OK)
        rc = compile_filter(req, t, m, f, err);
    return rc;
}

static void close_read(target_ctx *t, dist_read_msg *m, qv_filter *f)
{
    qv_filter_free(f);
    dist_read_msg_fini(m);
    close_target(t);
}

qv_err api_internal_delete(qv_req *req, qv_resp *resp)
{
    target_ctx t;
    dist_read_msg m;
    qv_filter *f = NULL;
    uint64_t deleted = 0;
    qv_err rc = open_read(req, "QVD1", &t, &m, &f, &resp->err);

    if (rc == QV_OK && m.shard >= (uint32_t)t.ci.shards_num)
        rc = qv_error_set(&resp->err, QV_EINVAL, "peer message: shard %u out of range", m.shard);
    if (rc == QV_OK)
        rc = dist_delete_shard(&t.dc, f, m.npartitions ? m.partitions : NULL, m.npartitions,
                               m.shard, &deleted, &resp->err);
    close_read(&t, &m, f);
    return rc == QV_OK ? answer_count(resp, deleted, NULL) : rc;
}

qv_err api_internal_query(qv_req *req, qv_resp *resp)
{
    target_ctx t;
    dist_read_msg m;
    qv_filter *f = NULL;
    qv_rowbatch rows = {0};
    uint64_t count = 0;
    qv_err rc = open_read(req, "QVQ1", &t, &m, &f, &resp->err);

    if (rc == QV_OK) {
        qv_query_opts o = {.filter = f, .partitions = m.npartitions ? m.partitions : NULL,
                           .npartitions = m.npartitions, .limit = m.limit,
                           .count_only = m.count_only, .shard_mask = m.shard_mask};
        rc = qv_coll_query(t.dc.data, &t.ci.schema, &o, m.count_only ? NULL : &rows,
                           m.count_only ? &count : NULL, &resp->err);
    }
    if (rc == QV_OK)
        rc = answer_count(resp, m.count_only ? count : rows.rows, m.count_only ? NULL : &rows);
    if (rows.cols)
        qv_rowbatch_fini(&rows);
    close_read(&t, &m, f);
    return rc;
}

qv_err api_internal_search(qv_req *req, qv_resp *resp)
{
    target_ctx t;
    dist_read_msg m;
    qv_filter *f = NULL;
    qv_search_result r = {0};
    qv_err rc = open_read(req, "QVS2", &t, &m, &f, &resp->err);

    if (rc == QV_OK) {
        m.so.filter = f;
        if (!m.npartitions)
            m.so.partitions = NULL;
        rc = qv_coll_search(t.dc.data, &t.ci.schema, &m.so, &r, &resp->err);
    }
    if (rc == QV_OK) {
        resp->content_type = "application/octet-stream";
        dist_encode_search_answer(&resp->body, &r, m.so.nq);
        rc = qv_buf_status(&resp->body, &resp->err);
        qv_search_result_fini(&r);
    }
    close_read(&t, &m, f);
    return rc;
}

qv_err api_internal_bm25_stats(qv_req *req, qv_resp *resp)
{
    target_ctx t;
    dist_read_msg m = {0};
    qv_bm25_stats st = {0};
    qv_err rc = open_target(req, "QVB1", &t, &resp->err);

    if (rc == QV_OK) /* no filter: statistics count every live row */
        rc = dist_decode_read(&t.r, "QVB1", &t.ci.schema, &m, &resp->err);
    if (rc == QV_OK)
        rc = qv_coll_bm25_stats(t.dc.data, m.so.field, m.shard_mask, m.squeries, m.so.nq, &st,
                                &resp->err);
    if (rc == QV_OK) {
        resp->content_type = "application/octet-stream";
        dist_encode_bm25_answer(&resp->body, &st);
        rc = qv_buf_status(&resp->body, &resp->err);
    }
    qv_bm25_stats_fini(&st);
    dist_read_msg_fini(&m);
    close_target(&t);
    return rc;
}

qv_err api_internal_progress(qv_req *req, qv_resp *resp)
{
    target_ctx t;
    uint64_t mask, indexed = 0, total = 0;
    uint32_t field;
    qv_err rc = open_target(req, "QVP1", &t, &resp->err);

    mask = qv_reader_u64(&t.r);
    field = qv_reader_u32(&t.r);
    if (rc == QV_OK && (t.r.failed || field >= t.ci.schema.field_count))
        rc = qv_error_set(&resp->err, QV_EINVAL, "peer message: bad progress request");
    if (rc == QV_OK) {
        qv_coll_index_progress(t.dc.data, field, mask, &indexed, &total);
        resp->content_type = "application/octet-stream";
        qv_buf_put(&resp->body, "QVA1", 4);
        qv_buf_put_u64(&resp->body, indexed);
        qv_buf_put_u64(&resp->body, total);
        rc = qv_buf_status(&resp->body, &resp->err);
    }
    close_target(&t);
    return rc;
}

/* A public route run on this node alone: DDL forwarded to the leader, and the local part
 * of a broadcast (flush, compact). X-Quiver-Path names the route. */
qv_err api_internal_run(qv_req *req, qv_resp *resp)
{
    const char *path = req->header(req->header_ctx, "X-Quiver-Path");
    bool known;
    const qv_route *r = path ? qv_api_route_find("POST", path, &known) : NULL;

    if (!r || (r->flags & QV_ROUTE_INTERNAL))
        return qv_error_set(&resp->err, QV_ENOROUTE, "no public route %s", path ? path : "");
    req->path = r->path;
    return api_run_public(r, req, resp, true);
}
