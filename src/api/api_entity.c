/* SPDX-License-Identifier: Apache-2.0 */
/* api_entity.c - /v2/vectordb/entities/{insert,upsert,delete,get,query}. */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "quiver/dist.h"
#include "quiver/alloc.h"
#include "quiver/jsonb.h"
#include "quiver/rowcodec.h"

#define MAX_QUERY_WINDOW 16384

/* The collection of the request (by name or alias) and its data. */
typedef struct entity_ctx {
    qv_collection_info ci;
    qv_coll_data *data;
} entity_ctx;

static void ctx_fini(entity_ctx *x)
{
    qv_coll_data_unref(x->data);
    qv_collection_info_fini(&x->ci);
}

static qv_err ctx_open(qv_req *req, qv_resp *resp, bool need_loaded, entity_ctx *x)
{
    const char *name;
    qv_err rc;

    memset(x, 0, sizeof *x);
    if ((rc = api_req_str(req, "collectionName", &name, &resp->err)) != QV_OK ||
        (rc = qv_catalog_get_collection(req->node->catalog, api_db(req), name, &x->ci,
                                        &resp->err)) != QV_OK)
        return rc;
    if (need_loaded && x->ci.load_state == QV_LOAD_NOT_LOAD)
        return qv_error_set(&resp->err, QV_ENOTLOADED, "collection not loaded[collection=%s]",
                            x->ci.name);
    return qv_store_get(req->node->store, &x->ci, &x->data, &resp->err);
}

static bool allow_int64(const qv_req *req)
{
    const char *h = req->header(req->header_ctx, "Accept-Type-Allow-Int64");
    return !(h && strcmp(h, "false") == 0);
}

qv_err api_partition_id(const qv_collection_info *ci, const char *name, int64_t *out,
                        qv_error *err)
{
    for (size_t i = 0; i < ci->partition_count; i++) {
        if (strcmp(ci->partitions[i].name, name) == 0) {
            *out = ci->partitions[i].id;
            return QV_OK;
        }
    }
    return qv_error_set(err, QV_ENOPART, "partition not found[partition=%s]", name);
}

static qv_err partition_id(const entity_ctx *x, const char *name, int64_t *out, qv_error *err)
{
    return api_partition_id(&x->ci, name, out, err);
}

/* partitionNames -> ids; *ids NULL when none were named (all partitions). */
static qv_err partition_ids(qv_req *req, const entity_ctx *x, int64_t **ids, size_t *n,
                            qv_error *err)
{
    qv_names names;
    qv_err rc = api_str_list(req, "partitionNames", false, &names, err);

    *ids = NULL;
    *n = 0;
    if (rc == QV_OK)
        rc = api_check_partition_names(&x->ci, names.count, false, err);
    if (rc == QV_OK && names.count && !(*ids = qv_calloc(names.count, sizeof **ids)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; rc == QV_OK && i < names.count; i++)
        rc = partition_id(x, names.items[i], &(*ids)[i], err);
    *n = names.count;
    qv_names_fini(&names);
    return rc;
}

static void write_pk(qv_jw *w, const qv_rowbatch *b, size_t pk_col, size_t row, bool int64)
{
    const qv_colbuf *c = &b->cols[pk_col];

    if (c->width) {
        int64_t v;
        char text[24];
        memcpy(&v, qv_colbuf_fixed(c, row), sizeof v);
        if (int64) {
            qv_jw_int(w, v);
        } else {
            snprintf(text, sizeof text, "%lld", (long long)v);
            qv_jw_str(w, text);
        }
    } else {
        size_t n;
        const uint8_t *p = qv_colbuf_var(c, row, &n);
        qv_jw_strn(w, (const char *)p, n);
    }
}

/* ---- insert / upsert ------------------------------------------------------------------ */

/* Fill the primary key column of an autoID batch with new ids. */
static qv_err assign_ids(qv_node *node, qv_rowbatch *b, size_t pk_col, qv_error *err)
{
    int64_t first;
    qv_err rc = qv_idalloc_next(node->ids, b->rows, &first, err);

    for (size_t i = 0; rc == QV_OK && i < b->rows; i++) {
        int64_t id = first + (int64_t)i;
        if (node->cluster) /* bits 57-62: the node, so that peers never hand out one id twice */
            id = (int64_t)(((uint64_t)id & ((1ull << 57) - 1)) |
                           (uint64_t)qv_cluster_self(node->cluster) << 57);
        qv_colbuf_push_fixed(&b->cols[pk_col], &id);
    }
    if (rc == QV_OK && b->cols[pk_col].data.failed)
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    return rc;
}

/* A missing, null or empty `data`, worded as Milvus's binding check. */
static qv_err missing_data(qv_error *err)
{
    return qv_error_set(err, QV_EMISSING,
                        "missing required parameters, error: Key: 'data' Error:Field validation "
                        "for 'data' failed on the 'required' tag");
}

static qv_err write_entities(qv_req *req, qv_resp *resp, bool upsert)
{
    entity_ctx x;
    const char *part_name = NULL;
    qv_rowbatch rows = {0};
    int64_t part = 0;
    size_t pk_col;
    const qv_field *pk;
    bool partial = false, routed;
    qv_err rc = ctx_open(req, resp, false, &x);
    qv_jw w;

    if (rc != QV_OK)
        goto done;
    pk = qv_schema_primary(&x.ci.schema);
    pk_col = (size_t)(pk - x.ci.schema.fields);
    if ((rc = qv_jget_str(req->root, "partitionName", false, &part_name, NULL, &resp->err)))
        goto done;
    routed = qv_schema_partition_key(&x.ci.schema) != NULL;
    if ((rc = api_check_partition_names(&x.ci, part_name && *part_name, true, &resp->err)) ||
        (!routed && (rc = partition_id(&x, part_name && *part_name ? part_name
                                                                   : QV_DEFAULT_PARTITION,
                                       &part, &resp->err)) != QV_OK))
        goto done;
    if (!req->data_len) {
        rc = missing_data(&resp->err);
        goto done;
    }
    if (upsert && (rc = qv_jget_bool(req->root, "partialUpdate", false, &partial, NULL,
                                     &resp->err)) != QV_OK)
        goto done;
    {
        qv_rows_opts o = {.pk_auto = pk->auto_id && !upsert, .pk_optional = pk->auto_id && upsert,
                          .max_rows = QV_STORE_MAX_BATCH_ROWS};
        qv_text_span span = {req->data_off, req->data_len};
        rc = partial ? api_partial_rows(req, &x.ci, x.data, &o, &rows, &resp->err)
                     : qv_codec_decode_rows_text(req->body, span, &x.ci.schema, &o, &rows,
                                                 &resp->err);
        if (rc == QV_OK && rows.rows == 0) /* an empty array, as Milvus's binding sees it */
            rc = missing_data(&resp->err);
        if (rc != QV_OK)
            goto done;
    }
    if (pk->auto_id && rows.cols[pk_col].rows < rows.rows &&
        (rc = assign_ids(req->node, &rows, pk_col, &resp->err)) != QV_OK)
        goto done;
    {
        qv_dist_coll dc = {req->node, &x.ci, x.data};
        rc = routed ? api_write_routed(&dc, upsert, &rows, &resp->err)
                    : qv_dist_write(&dc, upsert, part, NULL, &rows, &resp->err);
    }
    if (rc != QV_OK)
        goto done;
    qv_series_add(qv_metric_default(req->node->m.rows_inserted), (double)rows.rows);
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kint(&w, upsert ? "upsertCount" : "insertCount", (int64_t)rows.rows);
    qv_jw_key(&w, upsert ? "upsertIds" : "insertIds");
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < rows.rows; i++)
        write_pk(&w, &rows, pk_col, i, allow_int64(req));
    qv_jw_arr_end(&w);
    qv_jw_obj_end(&w);
    qv_jw_kint(&w, "cost", 0);
    api_ok_end(&w);
done:
    qv_rowbatch_fini(&rows);
    ctx_fini(&x);
    return rc;
}

qv_err api_entity_insert(qv_req *req, qv_resp *resp) { return write_entities(req, resp, false); }
qv_err api_entity_upsert(qv_req *req, qv_resp *resp) { return write_entities(req, resp, true); }

/* ---- filters ------------------------------------------------------------------------- */

qv_err api_compile_filter(const qv_req *req, const qv_schema *s, const char *expr,
                          const qv_jval *params_obj, qv_filter **out, qv_error *err)
{
    const qv_config *cfg = req->node->cfg;
    qv_filter_opts o = {.max_expr_bytes = (size_t)cfg->filter_max_expr_bytes,
                        .max_depth = (uint32_t)cfg->filter_max_depth,
                        .max_in_list = (uint32_t)cfg->filter_max_in_list};
    qv_jsonb_builder b;
    char *text = NULL;
    const uint8_t *blob = NULL;
    size_t len = 0;
    qv_err rc = QV_OK;

    qv_jsonb_builder_init(&b);
    if (params_obj) {
        if (!(text = qv_jval_to_text(params_obj)))
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        else if ((rc = qv_jsonb_parse_json(&b, text, strlen(text), err)) == QV_OK)
            rc = qv_jsonb_finish(&b, &blob, &len, err);
        o.params = blob;
        o.params_len = len;
    }
    if (rc == QV_OK)
        rc = qv_filter_compile(s, expr, strlen(expr), &o, out, err);
    qv_free(text);
    qv_jsonb_builder_fini(&b);
    return rc;
}

/* The request's filter and exprParams as text for peers; returns the params text the
 * caller frees (NULL when there are none). */
static char *filter_source(const qv_req *req, qv_dist_filter *src)
{
    const qv_jval *p = qv_jobj_get(req->root, "exprParams");

    src->expr = "";
    qv_jget_str(req->root, "filter", false, &src->expr, NULL, NULL);
    src->params = p && qv_jval_type(p) == QV_J_OBJECT ? qv_jval_to_text(p) : NULL;
    return (char *)src->params;
}

/* The key filter of ids as text for peers; returns the params text the caller frees. */
char *api_pk_filter_source(const qv_jval *ids, qv_dist_filter *src)
{
    char *list = qv_jval_to_text(ids), *params = NULL;
    size_t n = list ? strlen(list) + 16 : 0;

    if (list && (params = qv_malloc(n)))
        snprintf(params, n, "{\"ids\":%s}", list);
    qv_free(list);
    src->expr = QV_DIST_PK_FILTER;
    src->params = params;
    return params;
}

static qv_err request_filter(qv_req *req, const qv_schema *s, bool required, qv_filter **out,
                             qv_error *err)
{
    const char *expr = "";
    const qv_jval *params;
    qv_err rc;

    if ((rc = qv_jget_str(req->root, "filter", required, &expr, NULL, err)) != QV_OK ||
        (rc = qv_jget_obj(req->root, "exprParams", false, &params, err)) != QV_OK)
        return rc;
    return api_compile_filter(req, s, expr, params, out, err);
}

qv_err api_entity_delete(qv_req *req, qv_resp *resp)
{
    entity_ctx x;
    qv_filter *f = NULL;
    const char *part_name = NULL;
    int64_t part, *pruned = NULL;
    size_t npruned = 0;
    uint64_t deleted = 0;
    qv_err rc = ctx_open(req, resp, false, &x);
    qv_jw w;

    if (rc == QV_OK)
        rc = request_filter(req, &x.ci.schema, true, &f, &resp->err);
    if (rc == QV_OK)
        rc = qv_jget_str(req->root, "partitionName", false, &part_name, NULL, &resp->err);
    if (rc == QV_OK)
        rc = api_check_partition_names(&x.ci, part_name && *part_name, true, &resp->err);
    if (rc == QV_OK && part_name && *part_name)
        rc = partition_id(&x, part_name, &part, &resp->err);
    if (rc == QV_OK && !(part_name && *part_name))
        rc = api_prune_partitions(&x.ci, f, &pruned, &npruned, &resp->err);
    if (rc == QV_OK) {
        qv_dist_coll dc = {req->node, &x.ci, x.data};
        qv_dist_filter src;
        char *params = filter_source(req, &src);
        rc = qv_dist_delete(&dc, f, &src, part_name && *part_name ? &part : pruned,
                            part_name && *part_name ? 1 : npruned, &deleted, &resp->err);
        qv_free(params);
    }
    if (rc == QV_OK) {
        qv_series_add(qv_metric_default(req->node->m.rows_deleted), (double)deleted);
        api_ok_begin(resp, &w);
        qv_jw_obj_begin(&w);
        qv_jw_kint(&w, "deleteCount", (int64_t)deleted);
        qv_jw_obj_end(&w);
        qv_jw_kint(&w, "cost", 0);
        api_ok_end(&w);
    }
    qv_free(pruned);
    qv_filter_free(f);
    ctx_fini(&x);
    return rc;
}

/* ---- get / query ---------------------------------------------------------------------- */

static qv_err write_rows(qv_req *req, qv_resp *resp, const qv_schema *s, const qv_rowbatch *b,
                         const qv_output_fields *of)
{
    qv_jw w;

    api_ok_begin(resp, &w);
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < b->rows; i++) {
        qv_jw_obj_begin(&w);
        qv_codec_write_row(&w, s, b, i, of, !allow_int64(req));
        qv_jw_obj_end(&w);
    }
    qv_jw_arr_end(&w);
    qv_jw_kint(&w, "cost", 0);
    api_ok_end(&w);
    return qv_buf_status(&resp->body, &resp->err);
}

static qv_err write_count(qv_resp *resp, uint64_t n)
{
    qv_jw w;

    api_ok_begin(resp, &w);
    qv_jw_arr_begin(&w);
    qv_jw_obj_begin(&w);
    qv_jw_kint(&w, "count(*)", (int64_t)n);
    qv_jw_obj_end(&w);
    qv_jw_arr_end(&w);
    qv_jw_kint(&w, "cost", 0);
    api_ok_end(&w);
    return QV_OK;
}

static qv_err output_fields(qv_req *req, const qv_schema *s, qv_output_fields *of,
                            qv_error *err)
{
    qv_names names;
    qv_err rc = api_str_list(req, "outputFields", false, &names, err);

    if (rc == QV_OK)
        rc = qv_codec_output_fields(s, (const char *const *)names.items, names.count, true, of,
                                    err);
    qv_names_fini(&names);
    return rc;
}

static qv_err run_query(qv_req *req, qv_resp *resp, entity_ctx *x, qv_query_opts *q,
                        const qv_dist_filter *src)
{
    qv_dist_coll dc = {req->node, &x->ci, x->data};
    qv_output_fields of;
    qv_rowbatch hits;
    uint64_t count = 0;
    qv_err rc = output_fields(req, &x->ci.schema, &of, &resp->err);

    if (rc != QV_OK)
        return rc;
    if ((rc = partition_ids(req, x, (int64_t **)&q->partitions, &q->npartitions, &resp->err)) ==
            QV_OK &&
        (rc = api_prune_partitions(&x->ci, q->filter, (int64_t **)&q->partitions,
                                   &q->npartitions, &resp->err)) == QV_OK) {
        q->count_only = of.count_star;
        rc = qv_dist_query(&dc, q, src, q->count_only ? NULL : &hits, &count, &resp->err);
        if (rc == QV_OK)
            rc = q->count_only ? write_count(resp, count)
                               : write_rows(req, resp, &x->ci.schema, &hits, &of);
        if (!q->count_only)
            qv_rowbatch_fini(&hits);
    }
    qv_free((void *)q->partitions);
    qv_codec_output_fields_fini(&of);
    return rc;
}

qv_err api_entity_query(qv_req *req, qv_resp *resp)
{
    entity_ctx x;
    qv_filter *f = NULL;
    int64_t limit = 100, offset = 0;
    bool has_limit = false;
    qv_query_opts q = {0};
    qv_err rc = ctx_open(req, resp, true, &x);

    if (rc == QV_OK && ((rc = qv_jget_int(req->root, "limit", false, &limit, &has_limit,
                                          &resp->err)) != QV_OK ||
                        (rc = qv_jget_int(req->root, "offset", false, &offset, NULL,
                                          &resp->err)) != QV_OK))
        goto done;
    if (rc == QV_OK && (limit <= 0 || offset < 0 || limit + offset > MAX_QUERY_WINDOW))
        rc = qv_error_set(&resp->err, QV_EUNEXPECTED,
                          "invalid max query result window, (offset+limit) should be in range "
                          "[1, %d], but got %lld",
                          MAX_QUERY_WINDOW, (long long)(limit + offset));
    if (rc == QV_OK)
        rc = request_filter(req, &x.ci.schema, false, &f, &resp->err);
    if (rc == QV_OK) {
        qv_dist_filter src;
        char *params = filter_source(req, &src);
        q = (qv_query_opts){.filter = f, .offset = (uint64_t)offset, .limit = (uint64_t)limit};
        rc = run_query(req, resp, &x, &q, &src);
        qv_free(params);
    }
done:
    qv_filter_free(f);
    ctx_fini(&x);
    return rc;
}

qv_err api_pk_filter(const qv_schema *s, const qv_jval *ids, qv_filter **out, qv_error *err)
{
    const qv_field *pk = qv_schema_primary(s);
    qv_jsonb_builder b;
    const uint8_t *blob;
    size_t len, n;
    qv_filter_opts o = {0};
    char expr[QV_MAX_NAME_LEN + 32];
    qv_err rc = QV_OK;
    bool list;

    list = qv_jval_type(ids) == QV_J_ARRAY;
    n = list ? qv_jarr_len(ids) : 1;
    qv_jsonb_builder_init(&b);
    qv_jsonb_begin_object(&b);
    qv_jsonb_key(&b, "ids", 3);
    qv_jsonb_begin_array(&b);
    for (size_t i = 0; i < n && rc == QV_OK; i++) {
        const qv_jval *v = list ? qv_jarr_at(ids, i) : ids;
        int64_t iv;
        const char *sv;
        size_t sl;
        if (pk->type == QV_TYPE_INT64 && qv_jval_int(v, &iv))
            qv_jsonb_int(&b, iv);
        else if (pk->type == QV_TYPE_VARCHAR && qv_jval_str(v, &sv, &sl))
            qv_jsonb_string(&b, sv, sl);
        else
            rc = qv_error_set(err, QV_EBADPK, "invalid primary key id[%zu]: expected %s", i,
                              qv_type_name(pk->type));
    }
    qv_jsonb_end_array(&b);
    qv_jsonb_end_object(&b);
    if (rc == QV_OK && (rc = qv_jsonb_finish(&b, &blob, &len, err)) == QV_OK) {
        o.params = blob;
        o.params_len = len;
        o.max_in_list = n > QV_FILTER_DEFAULT_MAX_IN_LIST ? (uint32_t)n : 0; /* bounded by caller */
        snprintf(expr, sizeof expr, "%s in {ids}", pk->name);
        rc = qv_filter_compile(s, expr, strlen(expr), &o, out, err);
    }
    qv_jsonb_builder_fini(&b);
    return rc;
}

/* `id` (one key or a list) -> the filter `<pk> in {ids}`. */
static qv_err id_filter(qv_req *req, const qv_schema *s, qv_filter **out, qv_error *err)
{
    const qv_jval *ids = qv_jobj_get(req->root, "id");

    if (!ids || qv_jval_type(ids) == QV_J_NULL)
        return qv_error_set(err, QV_EMISSING,
                            "missing required parameters, error: Key: 'id' Error:Field "
                            "validation for 'id' failed on the 'required' tag");
    return api_pk_filter(s, ids, out, err);
}

qv_err api_entity_get(qv_req *req, qv_resp *resp)
{
    entity_ctx x;
    qv_filter *f = NULL;
    qv_query_opts q = {0};
    qv_err rc = ctx_open(req, resp, true, &x);

    if (rc == QV_OK)
        rc = id_filter(req, &x.ci.schema, &f, &resp->err);
    if (rc == QV_OK) {
        qv_dist_filter src;
        char *params = api_pk_filter_source(qv_jobj_get(req->root, "id"), &src);
        q = (qv_query_opts){.filter = f, .limit = UINT64_MAX};
        rc = run_query(req, resp, &x, &q, &src);
        qv_free(params);
    }
    qv_filter_free(f);
    ctx_fini(&x);
    return rc;
}
