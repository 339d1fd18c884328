/* SPDX-License-Identifier: Apache-2.0 */
/* api_search_query.c - what one ANN request searches: the vector field (annsField), its
 * metric (the index's; a request's metricType must agree), the search params, and the
 * query vectors in the field's form (reference §6.1):
 *   FloatVector                  arrays of dim numbers
 *   Float16Vector, BFloat16Vector  arrays of dim numbers (used as float32, unrounded) or
 *                                base64 strings of dim x 2 little-endian bytes (widened)
 *   BinaryVector                 base64 strings of dim / 8 bytes
 *   SparseFloatVector            {"<index>": value} or {"indices", "values"} objects;
 *                                on a BM25 function's output field: raw text, analyzed
 *                                with the input field's analyzer into term counts
 * or `ids`, the stored vectors of those primary keys (Milvus 2.6). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_search_int.h"
#include "quiver/alloc.h"
#include "quiver/analyzer.h"
#include "quiver/distance.h"

void search_sub_fini(sub_search *sub)
{
    qv_free(sub->queries);
    qv_free(sub->bqueries);
    qv_free(sub->squeries);
    qv_buf_fini(&sub->sparse_data);
    qv_free(sub->src_params);
    qv_free(sub->pruned);
    qv_filter_free(sub->filter);
    if (sub->has_result)
        qv_search_result_fini(&sub->r);
}

qv_err search_pick_field(const search_req *s, const qv_jval *obj, sub_search *sub,
                         qv_error *err)
{
    const char *ann = NULL;
    size_t nvec = 0, found = SIZE_MAX;
    qv_err rc = qv_jget_str(obj, "annsField", false, &ann, NULL, err);

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
    sub->o.field = found;
    return QV_OK;
}

static const struct {
    const char *name;
    qv_metric_kind kind;
} metrics[] = {{"L2", QV_METRIC_L2},           {"IP", QV_METRIC_IP},
               {"COSINE", QV_METRIC_COSINE},   {"HAMMING", QV_METRIC_HAMMING},
               {"JACCARD", QV_METRIC_JACCARD}, {"BM25", QV_METRIC_BM25}};

/* Whether metric m can rank vectors of type t (a BM25 field: BM25 only). */
static bool metric_fits(qv_metric_kind m, const qv_schema *s, const qv_field *f)
{
    if (f->type == QV_TYPE_BINARY_VECTOR)
        return m == QV_METRIC_HAMMING || m == QV_METRIC_JACCARD;
    if (f->type == QV_TYPE_SPARSE_FLOAT_VECTOR)
        return qv_schema_output_function(s, f) ? m == QV_METRIC_BM25 : m == QV_METRIC_IP;
    return m == QV_METRIC_L2 || m == QV_METRIC_IP || m == QV_METRIC_COSINE;
}

/* The index on the field gives the metric; a metricType in the request must agree. A
 * field whose index was dropped is searched exactly with the metricType the request names. */
static qv_err pick_metric(const search_req *s, sub_search *sub, const char *asked, qv_error *err)
{
    const qv_field *f = &s->ci.schema.fields[sub->o.field];
    const char *metric;
    const qv_index_def *idx = NULL;
    size_t i;

    for (i = 0; i < s->ci.index_count && !idx; i++)
        if (strcmp(s->ci.indexes[i].field, f->name) == 0)
            idx = &s->ci.indexes[i];
    if (!idx && !asked)
        return qv_error_set(err, QV_EINVAL,
                            "there is no vector index on field: [%s]; give metricType to search "
                            "it exactly",
                            f->name);
    if (idx && asked && strcasecmp(asked, idx->metric_type) != 0)
        return qv_error_set(err, QV_EINVAL,
                            "metric type not match: invalid parameter[expected=%s][actual=%s]",
                            idx->metric_type, asked);
    metric = idx ? idx->metric_type : asked;
    for (i = 0; i < sizeof metrics / sizeof *metrics && strcasecmp(metric, metrics[i].name); i++) {
    }
    if (i == sizeof metrics / sizeof *metrics || !metric_fits(metrics[i].kind, &s->ci.schema, f))
        return qv_error_set(err, QV_EINVAL, "metricType %s cannot search %s field %s", metric,
                            qv_type_name(f->type), f->name);
    sub->o.metric = metrics[i].kind;
    return QV_OK;
}

static qv_err int_param(const qv_jval *v, const char *name, int lo, int hi, int *out,
                        qv_error *err)
{
    double d;

    if (!qv_jval_real(v, &d) || d < lo || d > hi || d != (int)d)
        return qv_error_set(err, QV_EINVAL, "%s should be an integer in [%d, %d]", name, lo, hi);
    *out = (int)d;
    return QV_OK;
}

/* A number given as a JSON number or a numeric string (Milvus forwards params as text). */
static bool real_param(const qv_jval *v, double *out)
{
    const char *s;
    char *end;

    if (qv_jval_real(v, out))
        return true;
    if (!qv_jval_str(v, &s, NULL))
        return false;
    *out = strtod(s, &end);
    return end != s && !*end;
}

qv_err search_params(const search_req *s, const qv_jval *obj, const char *key,
                     bool check_metric, sub_search *sub, qv_error *err)
{
    const qv_jval *sp, *v;
    const char *metric = NULL;
    qv_err rc = qv_jget_obj(obj, key, false, &sp, err);
    double d;
    int x;

    for (int pass = 0; rc == QV_OK && pass < 2; pass++) {
        const qv_jval *o = pass ? (sp ? qv_jobj_get(sp, "params") : NULL) : sp;
        if (!o || qv_jval_type(o) != QV_J_OBJECT)
            continue;
        if ((v = qv_jobj_get(o, "metricType")) && !qv_jval_str(v, &metric, NULL))
            return qv_error_set(err, QV_EINVAL, "metricType must be a string");
        if ((v = qv_jobj_get(o, "radius")) && qv_jval_real(v, &d))
            sub->o.has_radius = true, sub->o.radius = (float)d;
        if ((v = qv_jobj_get(o, "range_filter")) && qv_jval_real(v, &d))
            sub->o.has_range_filter = true, sub->o.range_filter = (float)d;
        if ((v = qv_jobj_get(o, "ef")) && (rc = int_param(v, "ef", 1, 32768, &sub->o.ef, err)))
            return rc;
        if ((v = qv_jobj_get(o, "nprobe")) &&
            (rc = int_param(v, "nprobe", 1, 65536, &x, err)) == QV_OK)
            sub->o.nprobe = (size_t)x;
        if ((v = qv_jobj_get(o, "drop_ratio_search"))) {
            if (!real_param(v, &d) || !(d >= 0 && d < 1))
                return qv_error_set(err, QV_EINVAL, "drop_ratio_search should be in [0, 1)");
            sub->o.drop_ratio = (float)d;
        }
    }
    return rc == QV_OK ? pick_metric(s, sub, check_metric ? metric : NULL, err) : rc;
}

/* ---- queries given as vectors or text ---------------------------------------------------- */

/* A float array of exactly dim numbers into dst. */
static qv_err float_query(const qv_field *f, const qv_jval *vec, size_t q, float *dst,
                          qv_error *err)
{
    size_t n = qv_jarr_len(vec);

    if (qv_jval_type(vec) != QV_J_ARRAY || n != f->dim)
        return qv_error_set(err, QV_EBADJSON,
                            "data[%zu]: dimension: %u, but length of []float: %zu", q, f->dim, n);
    for (size_t i = 0; i < n; i++) {
        double d;
        if (!qv_jval_real(qv_jarr_at(vec, i), &d) || !isfinite((float)d))
            return qv_error_set(err, QV_EBADJSON, "data[%zu][%zu] is not a float32 number", q, i);
        dst[i] = (float)d;
    }
    return QV_OK;
}

/* Raw text for a BM25 output field: the term counts of the analyzed text. */
static qv_err text_query(const qv_jval *v, size_t q, const qv_analyzer *a, qv_buf *out,
                         qv_error *err)
{
    const char *text;
    size_t n;
    qv_term_freqs tf;

    if (!qv_jval_str(v, &text, &n))
        return qv_error_set(err, QV_EBADJSON,
                            "data[%zu]: a BM25 search takes the query text as a string", q);
    if (qv_analyzer_term_freqs(a, text, n, &tf) != QV_OK)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < tf.n; i++)
        qv_buf_put_u32(out, tf.ids[i]);
    qv_buf_put(out, tf.counts, tf.n * sizeof *tf.counts);
    qv_term_freqs_fini(&tf);
    return qv_buf_status(out, err);
}

/* Per-query lengths of sub->sparse_data into views (after every query is appended). */
static qv_err sparse_views(sub_search *sub, const size_t *ends, size_t nq, qv_error *err)
{
    if (!(sub->squeries = qv_calloc(nq + 1, sizeof *sub->squeries)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t q = 0, at = 0; q < nq; q++) {
        sub->squeries[q] = qv_sparse_view(sub->sparse_data.data + at, ends[q] - at);
        at = ends[q];
    }
    sub->o.squeries = sub->squeries;
    return QV_OK;
}

/* The analyzer of a BM25 output field's input (NULL for other fields). */
static qv_err bm25_analyzer(const qv_schema *s, const qv_field *f, qv_analyzer **out,
                            qv_error *err)
{
    const qv_function *fn = qv_schema_output_function(s, f);
    const qv_field *in = fn ? qv_schema_field(s, fn->inputs[0]) : NULL;

    *out = NULL;
    return in ? qv_analyzer_new(qv_field_analyzer_params(in), out, err) : QV_OK;
}

/* Query q given as data[q] (v) for field f into sub's buffers. */
static qv_err one_query(const search_req *s, const qv_field *f, const qv_jval *v, size_t q,
                        const qv_analyzer *a, sub_search *sub, qv_error *err)
{
    const qv_distance_kernels *k = qv_distance_kernels_active();
    size_t width = qv_vector_row_bytes(f->type, f->dim);
    qv_buf tmp;
    qv_err rc;

    if (f->type == QV_TYPE_SPARSE_FLOAT_VECTOR)
        return a && qv_jval_type(v) == QV_J_STRING
                   ? text_query(v, q, a, &sub->sparse_data, err)
                   : qv_codec_decode_query_vector(&s->ci.schema, f, v, q, &sub->sparse_data, err);
    if (f->type == QV_TYPE_BINARY_VECTOR) {
        qv_buf_init(&tmp);
        if ((rc = qv_codec_decode_query_vector(&s->ci.schema, f, v, q, &tmp, err)) == QV_OK)
            memcpy(sub->bqueries + q * width, tmp.data, width);
        qv_buf_fini(&tmp);
        return rc;
    }
    if (f->type == QV_TYPE_FLOAT_VECTOR || qv_jval_type(v) == QV_J_ARRAY)
        rc = float_query(f, v, q, sub->queries + q * f->dim, err);
    else { /* base64 halves, widened */
        qv_buf_init(&tmp);
        if ((rc = qv_codec_decode_query_vector(&s->ci.schema, f, v, q, &tmp, err)) == QV_OK)
            (f->type == QV_TYPE_FLOAT16_VECTOR ? k->f16_to_f32 : k->bf16_to_f32)(
                (const uint16_t *)tmp.data, f->dim, sub->queries + q * f->dim);
        qv_buf_fini(&tmp);
    }
    if (rc == QV_OK && sub->o.metric == QV_METRIC_COSINE)
        qv_distance_normalize(sub->queries + q * f->dim, f->dim);
    return rc;
}

/* Room for nq queries of field f. */
static qv_err alloc_queries(const qv_field *f, size_t nq, sub_search *sub, qv_error *err)
{
    if (f->type == QV_TYPE_BINARY_VECTOR)
        sub->o.bqueries = sub->bqueries = qv_malloc(nq * (f->dim / 8) + 1);
    else if (f->type != QV_TYPE_SPARSE_FLOAT_VECTOR)
        sub->o.queries = sub->queries = qv_malloc(nq * f->dim * sizeof(float) + 1);
    if ((f->type == QV_TYPE_BINARY_VECTOR && !sub->bqueries) ||
        (qv_type_is_float_vector(f->type) && !sub->queries))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    return QV_OK;
}

static qv_err data_queries(const search_req *s, const qv_jval *data, sub_search *sub,
                           qv_error *err)
{
    const qv_field *f = &s->ci.schema.fields[sub->o.field];
    size_t nq = qv_jarr_len(data), *ends = NULL;
    qv_analyzer *a = NULL;
    qv_err rc;

    if (nq == 0 || nq > MAX_NQ)
        return qv_error_set(err, QV_EINVAL,
                            "nq (number of search vectors) should be in range [1, %d], but got "
                            "%zu",
                            MAX_NQ, nq);
    if ((rc = alloc_queries(f, nq, sub, err)) != QV_OK ||
        (rc = bm25_analyzer(&s->ci.schema, f, &a, err)) != QV_OK)
        return rc;
    if (f->type == QV_TYPE_SPARSE_FLOAT_VECTOR && !(ends = qv_malloc(nq * sizeof *ends)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t q = 0; q < nq && rc == QV_OK; q++) {
        rc = one_query(s, f, qv_jarr_at(data, q), q, a, sub, err);
        if (ends)
            ends[q] = sub->sparse_data.len;
    }
    if (rc == QV_OK && ends)
        rc = sparse_views(sub, ends, nq, err);
    qv_free(ends);
    qv_analyzer_free(a);
    sub->o.nq = rc == QV_OK ? nq : 0;
    return rc;
}

/* ---- queries given as primary keys ------------------------------------------------------- */

/* Row of `rows` whose primary key is the JSON key v, or SIZE_MAX. */
static size_t find_key(const qv_rowbatch *rows, size_t pk_col, const qv_jval *v)
{
    const qv_colbuf *c = &rows->cols[pk_col];
    int64_t iv = 0;
    const char *sv = NULL;
    size_t sl = 0;
    bool is_int = c->width != 0;

    if (is_int ? !qv_jval_int(v, &iv) : !qv_jval_str(v, &sv, &sl))
        return SIZE_MAX;
    for (size_t r = 0; r < rows->rows; r++) {
        if (is_int) {
            int64_t x;
            memcpy(&x, qv_colbuf_fixed(c, r), sizeof x);
            if (x == iv)
                return r;
        } else {
            size_t n;
            const uint8_t *p = qv_colbuf_var(c, r, &n);
            if (n == sl && memcmp(p, sv, n) == 0)
                return r;
        }
    }
    return SIZE_MAX;
}

/* Query q from the stored value of row r of col (field f). */
static void stored_query(const qv_field *f, const qv_colbuf *col, size_t r, size_t q,
                         sub_search *sub, size_t *ends)
{
    const qv_distance_kernels *k = qv_distance_kernels_active();
    size_t n;

    switch (f->type) {
    case QV_TYPE_SPARSE_FLOAT_VECTOR: {
        const uint8_t *p = qv_colbuf_var(col, r, &n);
        qv_buf_put(&sub->sparse_data, p, n);
        ends[q] = sub->sparse_data.len;
        break;
    }
    case QV_TYPE_BINARY_VECTOR:
        memcpy(sub->bqueries + q * col->width, qv_colbuf_fixed(col, r), col->width);
        break;
    case QV_TYPE_FLOAT16_VECTOR:
    case QV_TYPE_BFLOAT16_VECTOR:
        (f->type == QV_TYPE_FLOAT16_VECTOR ? k->f16_to_f32 : k->bf16_to_f32)(
            qv_colbuf_fixed(col, r), f->dim, sub->queries + q * f->dim);
        break;
    default:
        memcpy(sub->queries + q * f->dim, qv_colbuf_fixed(col, r), f->dim * sizeof(float));
    }
    if (qv_type_is_float_vector(f->type) && sub->o.metric == QV_METRIC_COSINE)
        qv_distance_normalize(sub->queries + q * f->dim, f->dim);
}

/* Milvus 2.6 search by primary key: the stored vectors of `ids`, in their order, are the
 * queries. Every key must exist. */
static qv_err queries_from_ids(const search_req *s, const qv_jval *ids, sub_search *sub,
                               qv_error *err)
{
    const qv_field *f = &s->ci.schema.fields[sub->o.field];
    size_t pk_col = (size_t)(qv_schema_primary(&s->ci.schema) - s->ci.schema.fields);
    size_t nq = qv_jval_type(ids) == QV_J_ARRAY ? qv_jarr_len(ids) : 1, *ends = NULL;
    qv_filter *flt = NULL;
    qv_rowbatch rows = {0};
    qv_query_opts q = {.limit = UINT64_MAX};
    qv_dist_filter src;
    char *src_params;
    qv_err rc;

    if (nq == 0 || nq > MAX_NQ)
        return qv_error_set(err, QV_EINVAL, "ids should hold 1 to %d primary keys, got %zu",
                            MAX_NQ, nq);
    if (sub->o.metric == QV_METRIC_BM25)
        return qv_error_set(err, QV_EINVAL, "search by ids is not supported on field %s, the "
                                            "output of a BM25 function",
                            f->name);
    if ((rc = api_pk_filter(&s->ci.schema, ids, &flt, err)) != QV_OK)
        return rc;
    q.filter = flt;
    q.partitions = s->partitions;
    q.npartitions = s->npartitions;
    src_params = api_pk_filter_source(ids, &src);
    rc = qv_dist_query(&s->dc, &q, &src, &rows, NULL, err);
    qv_free(src_params);
    if (rc == QV_OK)
        rc = alloc_queries(f, nq, sub, err);
    if (rc == QV_OK && f->type == QV_TYPE_SPARSE_FLOAT_VECTOR &&
        !(ends = qv_malloc(nq * sizeof *ends)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; rc == QV_OK && i < nq; i++) {
        const qv_jval *one = qv_jval_type(ids) == QV_J_ARRAY ? qv_jarr_at(ids, i) : ids;
        size_t r = find_key(&rows, pk_col, one);
        if (r == SIZE_MAX)
            rc = qv_error_set(err, QV_EINVAL, "ids[%zu]: no entity with this primary key", i);
        else
            stored_query(f, &rows.cols[sub->o.field], r, i, sub, ends);
    }
    if (rc == QV_OK && ends)
        rc = sparse_views(sub, ends, nq, err);
    qv_free(ends);
    qv_filter_free(flt);
    if (rows.cols)
        qv_rowbatch_fini(&rows);
    sub->o.nq = rc == QV_OK ? nq : 0;
    return rc;
}

qv_err search_parse_queries(const search_req *s, const qv_jval *obj, sub_search *sub,
                            qv_error *err)
{
    const qv_jval *data, *ids = qv_jobj_get(obj, "ids");
    qv_err rc;

    qv_buf_init(&sub->sparse_data);
    if (ids && qv_jobj_get(obj, "data"))
        return qv_error_set(err, QV_EINVAL, "data and ids are mutually exclusive");
    if (ids)
        return queries_from_ids(s, ids, sub, err);
    if ((rc = qv_jget_arr(obj, "data", true, &data, err)) != QV_OK)
        return rc;
    return data_queries(s, data, sub, err);
}
