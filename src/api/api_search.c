/* SPDX-License-Identifier: Apache-2.0 */
/* api_search.c - /v2/vectordb/entities/search (exact search with SIMD kernels over live
 * rows; FAISS indexes take over as segments are sealed). */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/distance.h"
#include "quiver/jsonb.h"
#include "quiver/rowcodec.h"

#define MAX_TOPK 16384
#define MAX_NQ 16384

typedef struct search_req {
    qv_collection_info ci;
    qv_coll_data *data;
    qv_search_opts o;
    float *queries;
    qv_filter *filter;
    int64_t *partitions;
    int64_t limit, offset;
    qv_output_fields of;
    bool of_ready;
} search_req;

static void search_req_fini(search_req *s)
{
    qv_free(s->queries);
    qv_free(s->partitions);
    qv_filter_free(s->filter);
    if (s->of_ready)
        qv_codec_output_fields_fini(&s->of);
    qv_coll_data_unref(s->data);
    qv_collection_info_fini(&s->ci);
}

/* The vector field searched: annsField, or the only vector field. */
static qv_err pick_field(qv_req *req, search_req *s, qv_error *err)
{
    const char *ann = NULL;
    size_t nvec = 0, found = SIZE_MAX;
    qv_err rc = qv_jget_str(req->root, "annsField", false, &ann, NULL, err);

    if (rc != QV_OK)
        return rc;
    for (size_t i = 0; i < s->ci.schema.field_count; i++) {
        const qv_field *f = &s->ci.schema.fields[i];
        if (!qv_type_is_vector(f->type))
            continue;
        nvec++;
        if (!ann || !*ann ? found == SIZE_MAX : strcmp(f->name, ann) == 0)
            found = i;
    }
    if (ann && *ann && found == SIZE_MAX)
        return qv_error_set(err, QV_EINVAL, "annsField %s is not a vector field of collection %s",
                            ann, s->ci.name);
    if ((!ann || !*ann) && nvec > 1)
        return qv_error_set(err, QV_EINVAL,
                            "search without annsField, but already found multiple vector fields");
    s->o.field = found;
    return QV_OK;
}

static qv_err metric_of(const char *name, qv_metric_kind *out)
{
    if (!strcasecmp(name, "L2"))
        *out = QV_METRIC_L2;
    else if (!strcasecmp(name, "IP"))
        *out = QV_METRIC_IP;
    else if (!strcasecmp(name, "COSINE"))
        *out = QV_METRIC_COSINE;
    else
        return QV_EINVAL;
    return QV_OK;
}

/* The index on the field gives the metric; searchParams.metricType must agree. */
static qv_err pick_metric(search_req *s, const char *asked, qv_error *err)
{
    const char *field = s->ci.schema.fields[s->o.field].name;
    const qv_index_def *idx = NULL;

    for (size_t i = 0; i < s->ci.index_count && !idx; i++)
        if (strcmp(s->ci.indexes[i].field, field) == 0)
            idx = &s->ci.indexes[i];
    if (!idx)
        return qv_error_set(err, QV_ENOINDEX, "there is no vector index on field: [%s]", field);
    if (asked && strcasecmp(asked, idx->metric_type) != 0)
        return qv_error_set(err, QV_EINVAL,
                            "metric type not match: invalid parameter[expected=%s][actual=%s]",
                            idx->metric_type, asked);
    metric_of(idx->metric_type, &s->o.metric);
    return QV_OK;
}

/* searchParams: keys flat or under params; radius/range_filter and metricType read here,
 * ef/nprobe accepted (exact search needs neither). */
static qv_err search_params(qv_req *req, search_req *s, qv_error *err)
{
    const qv_jval *sp, *nested, *v;
    const char *metric = NULL;
    double d;
    qv_err rc = qv_jget_obj(req->root, "searchParams", false, &sp, err);

    if (rc != QV_OK)
        return rc;
    nested = sp ? qv_jobj_get(sp, "params") : NULL;
    for (int pass = 0; pass < 2; pass++) {
        const qv_jval *o = pass ? nested : sp;
        if (!o)
            continue;
        if ((v = qv_jobj_get(o, "metricType")) && !qv_jval_str(v, &metric, NULL))
            return qv_error_set(err, QV_EINVAL, "searchParams.metricType must be a string");
        if ((v = qv_jobj_get(o, "radius")) && qv_jval_real(v, &d))
            s->o.has_radius = true, s->o.radius = (float)d;
        if ((v = qv_jobj_get(o, "range_filter")) && qv_jval_real(v, &d))
            s->o.has_range_filter = true, s->o.range_filter = (float)d;
        if ((v = qv_jobj_get(o, "ef"))) {
            if (!qv_jval_real(v, &d) || d < 1 || d > 32768 || d != (int)d)
                return qv_error_set(err, QV_EINVAL, "ef should be an integer in [1, 32768]");
            s->o.ef = (int)d;
        }
        if ((v = qv_jobj_get(o, "nprobe"))) {
            if (!qv_jval_real(v, &d) || d < 1 || d > 65536 || d != (int)d)
                return qv_error_set(err, QV_EINVAL, "nprobe should be an integer in [1, 65536]");
            s->o.nprobe = (size_t)d;
        }
    }
    return pick_metric(s, metric, err);
}

static qv_err parse_queries(qv_req *req, search_req *s, qv_error *err)
{
    const qv_field *f = &s->ci.schema.fields[s->o.field];
    const qv_jval *data;
    size_t nq;
    qv_err rc = qv_jget_arr(req->root, "data", true, &data, err);

    if (rc != QV_OK)
        return rc;
    if ((nq = qv_jarr_len(data)) == 0 || nq > MAX_NQ)
        return qv_error_set(err, QV_EINVAL, "nq (number of search vectors) should be in range [1, "
                                            "%d], but got %zu", MAX_NQ, nq);
    if (!(s->queries = qv_malloc(nq * f->dim * sizeof(float))))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t q = 0; q < nq; q++) {
        const qv_jval *vec = qv_jarr_at(data, q);
        size_t n = qv_jarr_len(vec);
        if (qv_jval_type(vec) != QV_J_ARRAY || n != f->dim)
            return qv_error_set(err, QV_EBADJSON,
                                "data[%zu]: dimension: %u, but length of []float: %zu", q, f->dim,
                                n);
        for (size_t i = 0; i < n; i++) {
            double d;
            if (!qv_jval_real(qv_jarr_at(vec, i), &d) || !isfinite((float)d))
                return qv_error_set(err, QV_EBADJSON, "data[%zu][%zu] is not a float32 number",
                                    q, i);
            s->queries[q * f->dim + i] = (float)d;
        }
        if (s->o.metric == QV_METRIC_COSINE)
            qv_distance_normalize(s->queries + q * f->dim, f->dim);
    }
    s->o.queries = s->queries;
    s->o.nq = nq;
    return QV_OK;
}

static qv_err limits(qv_req *req, search_req *s, qv_error *err)
{
    qv_err rc;

    s->limit = 100;
    s->offset = 0;
    if ((rc = qv_jget_int(req->root, "limit", false, &s->limit, NULL, err)) != QV_OK ||
        (rc = qv_jget_int(req->root, "offset", false, &s->offset, NULL, err)) != QV_OK)
        return rc;
    if (s->limit < 1 || s->limit > MAX_TOPK)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "topk [%lld] is invalid, should be in range [1, %d]",
                            (long long)s->limit, MAX_TOPK);
    if (s->offset < 0 || s->limit + s->offset > MAX_TOPK)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "top k + offset [%lld] is invalid, should be in range [1, %d]",
                            (long long)(s->limit + s->offset), MAX_TOPK);
    s->o.k = (size_t)(s->limit + s->offset);
    return QV_OK;
}

static qv_err filter_and_partitions(qv_req *req, search_req *s, qv_error *err)
{
    const char *expr = "", *group = NULL;
    const qv_jval *params;
    qv_names parts;
    qv_err rc;

    if ((rc = qv_jget_str(req->root, "groupingField", false, &group, NULL, err)) != QV_OK)
        return rc;
    if (group && *group)
        return qv_error_set(err, QV_EINVAL, "groupingField is not supported by Quiver yet");
    if ((rc = qv_jget_str(req->root, "filter", false, &expr, NULL, err)) != QV_OK ||
        (rc = qv_jget_obj(req->root, "exprParams", false, &params, err)) != QV_OK)
        return rc;
    if ((rc = api_compile_filter(&s->ci.schema, expr, params, &s->filter, err)) != QV_OK)
        return rc;
    s->o.filter = s->filter;
    if ((rc = api_str_list(req, "partitionNames", false, &parts, err)) == QV_OK && parts.count) {
        if (!(s->partitions = qv_calloc(parts.count, sizeof *s->partitions)))
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        for (size_t i = 0; rc == QV_OK && i < parts.count; i++)
            rc = api_partition_id(&s->ci, parts.items[i], &s->partitions[i], err);
        s->o.partitions = s->partitions;
        s->o.npartitions = parts.count;
    }
    qv_names_fini(&parts);
    return rc;
}

static qv_err parse_search(qv_req *req, search_req *s, qv_error *err)
{
    const char *name;
    qv_names out;
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &name, err)) != QV_OK ||
        (rc = qv_catalog_get_collection(req->node->catalog, api_db(req), name, &s->ci, err)))
        return rc;
    if (s->ci.load_state == QV_LOAD_NOT_LOAD)
        return qv_error_set(err, QV_ENOTLOADED, "collection not loaded[collection=%s]", s->ci.name);
    if ((rc = pick_field(req, s, err)) != QV_OK || (rc = search_params(req, s, err)) != QV_OK ||
        (rc = limits(req, s, err)) != QV_OK || (rc = parse_queries(req, s, err)) != QV_OK ||
        (rc = filter_and_partitions(req, s, err)) != QV_OK ||
        (rc = api_str_list(req, "outputFields", false, &out, err)) != QV_OK)
        return rc;
    rc = qv_codec_output_fields(&s->ci.schema, (const char *const *)out.items, out.count, false,
                                &s->of, err);
    s->of_ready = rc == QV_OK;
    qv_names_fini(&out);
    if (rc == QV_OK)
        rc = qv_store_get(req->node->store, &s->ci, &s->data, err);
    return rc;
}

static void write_results(qv_req *req, qv_resp *resp, search_req *s, const qv_search_result *r)
{
    const char *h = req->header(req->header_ctx, "Accept-Type-Allow-Int64");
    bool int64_as_string = h && strcmp(h, "false") == 0;
    qv_jw w;

    api_ok_begin(resp, &w);
    qv_jw_arr_begin(&w);
    for (size_t q = 0; q < s->o.nq; q++) {
        for (size_t i = r->first[q] + (size_t)s->offset; i < r->first[q + 1]; i++) {
            qv_jw_obj_begin(&w);
            qv_codec_write_row(&w, &s->ci.schema, &r->rows, i, &s->of, int64_as_string);
            qv_jw_key(&w, "distance");
            qv_jw_float(&w, r->distance[i]);
            qv_jw_obj_end(&w);
        }
    }
    qv_jw_arr_end(&w);
    qv_jw_key(&w, "topks");
    qv_jw_arr_begin(&w);
    for (size_t q = 0; q < s->o.nq; q++) {
        size_t n = r->first[q + 1] - r->first[q];
        qv_jw_int(&w, n > (size_t)s->offset ? (int64_t)(n - (size_t)s->offset) : 0);
    }
    qv_jw_arr_end(&w);
    qv_jw_kint(&w, "cost", 0);
    api_ok_end(&w);
}

qv_err api_entity_search(qv_req *req, qv_resp *resp)
{
    search_req s;
    qv_search_result r;
    qv_err rc;

    memset(&s, 0, sizeof s);
    if ((rc = parse_search(req, &s, &resp->err)) == QV_OK &&
        (rc = qv_coll_search(s.data, &s.ci.schema, &s.o, &r, &resp->err)) == QV_OK) {
        write_results(req, resp, &s, &r);
        qv_search_result_fini(&r);
        rc = qv_buf_status(&resp->body, &resp->err);
    }
    search_req_fini(&s);
    return rc;
}
