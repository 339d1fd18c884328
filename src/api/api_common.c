/* SPDX-License-Identifier: Apache-2.0 */
/* api_common.c - envelope helpers, dbName resolution, dispatch. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/dist.h"
#include "quiver/rowcodec.h"

uint64_t qv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool qv_req_expired(const qv_req *req)
{
    return req->deadline_ns && qv_now_ns() > req->deadline_ns;
}

void api_ok_begin(qv_resp *resp, qv_jw *w)
{
    qv_jw_init(w, &resp->body);
    qv_jw_obj_begin(w);
    qv_jw_kint(w, "code", 0);
    qv_jw_key(w, "data");
}

void api_ok_end(qv_jw *w) { qv_jw_obj_end(w); }

qv_err api_ok_empty(qv_resp *resp)
{
    qv_jw w;

    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return QV_OK;
}

qv_err api_ok_names(qv_resp *resp, const qv_names *names)
{
    qv_jw w;

    api_ok_begin(resp, &w);
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < names->count; i++)
        qv_jw_str(&w, names->items[i]);
    qv_jw_arr_end(&w);
    api_ok_end(&w);
    return QV_OK;
}

const char *api_db(const qv_req *req)
{
    const char *db = NULL, *hdr;
    const qv_jval *v = req->root ? qv_jobj_get(req->root, "dbName") : NULL;

    if (v && qv_jval_str(v, &db, NULL) && *db)
        return db;
    if ((hdr = req->header(req->header_ctx, "DB-Name")) && *hdr)
        return hdr;
    return QV_DEFAULT_DB;
}

qv_err api_req_str(const qv_req *req, const char *key, const char **out, qv_error *err)
{
    return qv_jget_str(req->root, key, true, out, NULL, err);
}

qv_err api_str_list(const qv_req *req, const char *key, bool required, qv_names *out,
                    qv_error *err)
{
    memset(out, 0, sizeof *out);
    return qv_jget_str_list(req->root, key, required, &out->items, &out->count, err);
}

qv_err api_props(const qv_req *req, const char *key, qv_kvlist *out, qv_error *err)
{
    memset(out, 0, sizeof *out);
    return qv_jget_kv(req->root, key, out, err);
}

/* An internal route: only a peer of this cluster may call it. */
static qv_err check_peer(qv_req *req, qv_resp *resp)
{
    qv_cluster *c = req->node->cluster;
    size_t peer;

    if (!c)
        return qv_error_set(&resp->err, QV_ENOROUTE, "not a cluster node");
    if (qv_cluster_verify(c, req->header(req->header_ctx, QV_PEER_HEADER), req->method, req->path,
                          req->body, req->body_len, &peer, &resp->err) != QV_OK) {
        resp->status = 401;
        return resp->err.code;
    }
    return QV_OK;
}

/* A read that left shards out (cluster.allow_partial) says which, in X-Quiver-Missing-Shards
 * (MHD copies header values while this thread still runs). */
static void note_missing_shards(qv_resp *resp)
{
    static _Thread_local char list[64 * 3 + 1];
    uint64_t m = qv_dist_take_missing();
    size_t at = 0, k = 0;

    if (!m)
        return;
    for (unsigned s = 0; s < 64; s++)
        if (m >> s & 1)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%u", at ? "," : "", s);
    while (k < QV_RESP_MAX_HEADERS - 1 && resp->headers[k].name)
        k++;
    resp->headers[k] = (qv_resp_header){"X-Quiver-Missing-Shards", list};
}

qv_err api_run_public(const qv_route *r, qv_req *req, qv_resp *resp, bool from_peer)
{
    qv_text_span span = {0};
    qv_err rc = QV_OK;

    if (r->flags & QV_ROUTE_ROWS)
        rc = qv_codec_split_body(req->body, req->body_len, "data", API_MAX_JSON_DEPTH, &req->doc,
                                 &span, &resp->err);
    else if (r->flags & QV_ROUTE_JSON)
        rc = qv_jdoc_parse(req->body, req->body_len, API_MAX_JSON_DEPTH, &req->doc, &resp->err);
    if (rc != QV_OK)
        return rc;
    req->data_off = span.off;
    req->data_len = span.len;
    if (req->doc)
        req->root = qv_jdoc_root(req->doc);
    /* dbName is a string in every request struct: another JSON type is 1801 */
    if (req->root && (rc = qv_jget_str(req->root, "dbName", false, &(const char *){NULL}, NULL,
                                       &resp->err)) != QV_OK)
        return rc;
    if (!from_peer && (rc = api_authorize(r, req, resp)) != QV_OK)
        return rc;
    if (req->node->cluster && (r->flags & (QV_ROUTE_DDL | QV_ROUTE_BROADCAST | QV_ROUTE_LEADER)))
        return api_cluster_run(r, req, resp, from_peer);
    qv_dist_take_missing();
    rc = r->fn(req, resp);
    note_missing_shards(resp);
    return rc;
}

qv_err qv_api_dispatch(const qv_route *r, qv_req *req, qv_resp *resp)
{
    qv_err rc;

    if (r->flags & QV_ROUTE_INTERNAL) {
        if ((rc = check_peer(req, resp)) == QV_OK)
            rc = r->fn(req, resp);
        /* peers read real statuses; /run relays a public answer as it is */
        if (rc != QV_OK && !resp->status && r->fn != api_internal_run)
            resp->status = qv_err_http_status(rc);
        return rc;
    }
    return api_run_public(r, req, resp, false);
}

void api_write_kv_pairs(qv_jw *w, const qv_kvlist *kv)
{
    qv_jw_arr_begin(w);
    for (size_t i = 0; i < kv->count; i++) {
        qv_jw_obj_begin(w);
        qv_jw_kstr(w, "key", kv->items[i].key);
        qv_jw_kstr(w, "value", kv->items[i].value);
        qv_jw_obj_end(w);
    }
    qv_jw_arr_end(w);
}

qv_err api_get_collection(qv_req *req, qv_resp *resp, qv_collection_info *ci)
{
    const char *name;
    qv_err rc = api_req_str(req, "collectionName", &name, &resp->err);

    memset(ci, 0, sizeof *ci);
    return rc != QV_OK ? rc
                       : qv_catalog_get_collection(req->node->catalog, api_db(req), name, ci,
                                                   &resp->err);
}
