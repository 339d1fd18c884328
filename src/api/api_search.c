/* SPDX-License-Identifier: Apache-2.0 */
/* api_search.c - /v2/vectordb/entities/search and entities/hybrid_search (alias
 * advanced_search): parse one or several ANN sub-searches, run them through the store
 * (indexes where built, exact SIMD search elsewhere), fuse hybrid results with RRF or
 * weighted scores (reference §6.5), write the flat result list with topks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_search_int.h"
#include "quiver/alloc.h"

static void search_req_fini(search_req *s)
{
    for (size_t i = 0; i < s->nsubs; i++)
        search_sub_fini(&s->subs[i]);
    qv_free(s->partitions);
    if (s->of_ready)
        qv_codec_output_fields_fini(&s->of);
    qv_coll_data_unref(s->data);
    qv_collection_info_fini(&s->ci);
}

static qv_err limits(const qv_jval *obj, int64_t *limit, int64_t *offset, qv_error *err)
{
    qv_err rc;

    *limit = 100;
    *offset = 0;
    if ((rc = qv_jget_int(obj, "limit", false, limit, NULL, err)) != QV_OK ||
        (rc = qv_jget_int(obj, "offset", false, offset, NULL, err)) != QV_OK)
        return rc;
    if (*limit < 1 || *limit > MAX_TOPK)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "topk [%lld] is invalid, should be in range [1, %d]",
                            (long long)*limit, MAX_TOPK);
    if (*offset < 0 || *limit + *offset > MAX_TOPK)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "top k + offset [%lld] is invalid, should be in range [1, %d]",
                            (long long)(*limit + *offset), MAX_TOPK);
    return QV_OK;
}

static qv_err parse_sub(const search_req *s, const qv_jval *obj, const char *params_key,
                        bool check_metric, sub_search *sub, qv_error *err)
{
    const char *expr = "";
    const qv_jval *params;
    qv_err rc;

    if ((rc = search_pick_field(s, obj, sub, err)) != QV_OK ||
        (rc = search_params(s, obj, params_key, check_metric, sub, err)) != QV_OK ||
        (rc = limits(obj, &sub->limit, &sub->offset, err)) != QV_OK ||
        (rc = search_parse_queries(s, obj, sub, err)) != QV_OK ||
        (rc = qv_jget_str(obj, "filter", false, &expr, NULL, err)) != QV_OK ||
        (rc = qv_jget_obj(obj, "exprParams", false, &params, err)) != QV_OK ||
        (rc = api_compile_filter(s->req, &s->ci.schema, expr, params, &sub->filter, err)))
        return rc;
    sub->src.expr = expr;
    sub->src.params = sub->src_params =
        params && qv_jval_type(params) == QV_J_OBJECT ? qv_jval_to_text(params) : NULL;
    sub->o.k = (size_t)(sub->limit + sub->offset);
    sub->o.filter = sub->filter;
    sub->o.partitions = s->partitions;
    sub->o.npartitions = s->npartitions;
    if ((rc = api_prune_partitions(&s->ci, sub->filter, &sub->pruned, &sub->o.npartitions,
                                   err)) == QV_OK &&
        sub->pruned)
        sub->o.partitions = sub->pruned;
    else
        sub->o.npartitions = s->npartitions;
    return rc;
}

/* groupingField (a scalar field that is not JSON, Array or Float/Double) and groupSize. */
static qv_err parse_grouping(qv_req *req, search_req *s, qv_error *err)
{
    const char *group = NULL;
    const qv_field *f;
    qv_err rc;

    s->group_field = SIZE_MAX;
    s->group_size = 1;
    if ((rc = qv_jget_str(req->root, "groupingField", false, &group, NULL, err)) != QV_OK ||
        (rc = qv_jget_int(req->root, "groupSize", false, &s->group_size, NULL, err)) != QV_OK ||
        !group || !*group)
        return rc;
    if (!(f = qv_schema_field(&s->ci.schema, group)))
        return qv_error_set(err, QV_EINVAL, "groupBy field(%s) not found in schema", group);
    if (qv_type_is_vector(f->type) || f->type == QV_TYPE_JSON || f->type == QV_TYPE_ARRAY ||
        f->type == QV_TYPE_FLOAT || f->type == QV_TYPE_DOUBLE)
        return qv_error_set(err, QV_EINVAL,
                            "groupBy field(%s) has unsupported type %s: only Bool, Int8-Int64 "
                            "and VarChar fields can group",
                            group, qv_type_name(f->type));
    if (s->group_size < 1 || s->group_size > 1024)
        return qv_error_set(err, QV_EINVAL, "groupSize should be in range [1, 1024]");
    s->group_field = (size_t)(f - s->ci.schema.fields);
    return QV_OK;
}

/* Collection, partitions, output fields: shared by search and hybrid_search. */
static qv_err parse_common(qv_req *req, search_req *s, qv_error *err)
{
    const char *name;
    qv_names parts = {0}, out = {0};
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &name, err)) != QV_OK ||
        (rc = qv_catalog_get_collection(req->node->catalog, api_db(req), name, &s->ci, err)))
        return rc;
    if (s->ci.load_state == QV_LOAD_NOT_LOAD)
        return qv_error_set(err, QV_ENOTLOADED, "collection not loaded[collection=%s]", s->ci.name);
    if ((rc = api_str_list(req, "partitionNames", false, &parts, err)) == QV_OK)
        rc = api_check_partition_names(&s->ci, parts.count, false, err);
    if (rc == QV_OK && parts.count &&
        !(s->partitions = qv_calloc(parts.count, sizeof *s->partitions)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; rc == QV_OK && i < parts.count; i++)
        rc = api_partition_id(&s->ci, parts.items[i], &s->partitions[i], err);
    s->npartitions = parts.count;
    if (rc == QV_OK && (rc = api_str_list(req, "outputFields", false, &out, err)) == QV_OK) {
        rc = qv_codec_output_fields(&s->ci.schema, (const char *const *)out.items, out.count,
                                    false, &s->of, err);
        s->of_ready = rc == QV_OK;
    }
    qv_names_fini(&parts);
    qv_names_fini(&out);
    if (rc == QV_OK)
        rc = qv_store_get(req->node->store, &s->ci, &s->data, err);
    s->dc = (qv_dist_coll){req->node, &s->ci, s->data};
    return rc;
}

static bool int64_as_string(const qv_req *req)
{
    const char *h = req->header(req->header_ctx, "Accept-Type-Allow-Int64");
    return h && strcmp(h, "false") == 0;
}

/* One result row: the row's output fields and its distance or fused score. */
static void write_hit(qv_jw *w, const search_req *s, const qv_rowbatch *rows, size_t row,
                      float score, bool as_string)
{
    qv_jw_obj_begin(w);
    qv_codec_write_row(w, &s->ci.schema, rows, row, &s->of, as_string);
    qv_jw_key(w, "distance");
    qv_jw_float(w, score);
    qv_jw_obj_end(w);
}

static void write_topks(qv_jw *w, const size_t *counts, size_t nq)
{
    qv_jw_key(w, "topks");
    qv_jw_arr_begin(w);
    for (size_t q = 0; q < nq; q++)
        qv_jw_int(w, (int64_t)counts[q]);
    qv_jw_arr_end(w);
    qv_jw_kint(w, "cost", 0);
}

/* ---- grouping search ---------------------------------------------------------------- */

/* Do row a of column ca and row b of column cb (same field) hold the same group value? */
static bool same_value(const qv_colbuf *ca, size_t a, const qv_colbuf *cb, size_t b)
{
    bool na = qv_colbuf_is_null(ca, a), nb = qv_colbuf_is_null(cb, b);
    size_t la, lb;
    const uint8_t *pa, *pb;

    if (na || nb)
        return na && nb;
    if (ca->width)
        return memcmp(qv_colbuf_fixed(ca, a), qv_colbuf_fixed(cb, b), ca->width) == 0;
    pa = qv_colbuf_var(ca, a, &la);
    pb = qv_colbuf_var(cb, b, &lb);
    return la == lb && memcmp(pa, pb, la) == 0;
}

static bool same_group(const qv_colbuf *c, size_t a, size_t b) { return same_value(c, a, c, b); }

/* Query q's hits grouped: groups in order of their best hit, each with at most group_size
 * hits in rank order; at most limit groups after skipping offset groups. Writes the hit
 * indexes (into r) to out and returns how many; *complete tells whether every emitted
 * group is full or the hits were exhausted (so a larger k cannot change the answer). */
static size_t group_hits(const search_req *s, const sub_search *sub, size_t q, size_t *out,
                         bool *complete)
{
    const qv_search_result *r = &sub->r;
    const qv_colbuf *col = &r->rows.cols[s->group_field];
    size_t first = r->first[q], last = r->first[q + 1], n = 0, groups = 0;
    size_t want = (size_t)(sub->limit + sub->offset);
    size_t *heads = qv_calloc(want + 1, sizeof *heads), *sizes = qv_calloc(want + 1, sizeof *sizes);

    *complete = last - first < sub->o.k; /* fewer hits than asked: all rows were seen */
    if (!heads || !sizes) {
        qv_free(heads);
        qv_free(sizes);
        return 0;
    }
    for (size_t i = first; i < last; i++) { /* assign hits to groups, first come first */
        size_t g = 0;
        while (g < groups && !same_group(col, heads[g], i))
            g++;
        if (g == groups) {
            if (groups == want)
                continue;
            heads[groups++] = i;
        }
        sizes[g]++;
    }
    if (groups == want) {
        bool full = true;
        for (size_t g = 0; g < groups; g++)
            full &= sizes[g] >= (size_t)s->group_size;
        *complete |= full;
    }
    for (size_t g = (size_t)sub->offset; g < groups; g++) { /* emit, group by group */
        size_t taken = 0;
        for (size_t i = heads[g]; i < last && taken < (size_t)s->group_size; i++)
            if (same_group(col, heads[g], i))
                out[n++] = i, taken++;
    }
    qv_free(heads);
    qv_free(sizes);
    return n;
}

/* Search with k growing until every query's groups are settled. */
static qv_err grouped_search(search_req *s, sub_search *sub, qv_error *err)
{
    size_t want = (size_t)((sub->limit + sub->offset) * s->group_size);
    size_t cap = ((size_t)1 << 24) / sub->o.nq; /* bounds the per-request hit buffers */
    qv_err rc;

    if (want > MAX_TOPK)
        return qv_error_set(err, QV_EINVAL,
                            "(limit + offset) * groupSize = %zu exceeds %d", want, MAX_TOPK);
    sub->o.k = want * 4 < cap ? want * 4 : cap;
    for (;;) {
        bool settled = true;
        size_t *tmp;
        if ((rc = qv_dist_search(&s->dc, &sub->o, &sub->src, &sub->r, err)) != QV_OK)
            return rc;
        sub->has_result = true;
        tmp = qv_malloc(sub->o.k * sizeof *tmp + 1);
        for (size_t q = 0; tmp && q < sub->o.nq && settled; q++) {
            bool complete;
            group_hits(s, sub, q, tmp, &complete);
            settled = complete;
        }
        qv_free(tmp);
        if (settled || sub->o.k >= cap)
            return QV_OK;
        qv_search_result_fini(&sub->r);
        sub->has_result = false;
        sub->o.k *= 4;
    }
}

qv_err api_entity_search(qv_req *req, qv_resp *resp)
{
    search_req s;
    sub_search *sub = &s.subs[0];
    size_t *counts = NULL;
    qv_err rc;
    qv_jw w;

    size_t *picked = NULL;

    memset(&s, 0, sizeof s);
    s.req = req;
    s.nsubs = 1;
    if ((rc = parse_common(req, &s, &resp->err)) == QV_OK &&
        (rc = parse_grouping(req, &s, &resp->err)) == QV_OK &&
        (rc = parse_sub(&s, req->root, "searchParams", true, sub, &resp->err)) == QV_OK) {
        if (s.group_field != SIZE_MAX)
            rc = grouped_search(&s, sub, &resp->err);
        else if ((rc = qv_dist_search(&s.dc, &sub->o, &sub->src, &sub->r, &resp->err)) ==
                 QV_OK)
            sub->has_result = true;
    }
    if (rc == QV_OK && (!(counts = qv_calloc(sub->o.nq, sizeof *counts)) ||
                        !(picked = qv_malloc((sub->o.k + 1) * sizeof *picked))))
        rc = qv_error_set(&resp->err, QV_ENOMEM, "out of memory");
    if (rc == QV_OK) {
        bool as_string = int64_as_string(req);
        api_ok_begin(resp, &w);
        qv_jw_arr_begin(&w);
        for (size_t q = 0; q < sub->o.nq; q++) {
            size_t n = 0;
            bool complete;
            if (s.group_field != SIZE_MAX)
                n = group_hits(&s, sub, q, picked, &complete);
            else
                for (size_t i = sub->r.first[q] + (size_t)sub->offset; i < sub->r.first[q + 1]; i++)
                    picked[n++] = i;
            for (size_t j = 0; j < n; j++)
                write_hit(&w, &s, &sub->r.rows, picked[j], sub->r.distance[picked[j]], as_string);
            counts[q] = n;
        }
        qv_jw_arr_end(&w);
        write_topks(&w, counts, sub->o.nq);
        api_ok_end(&w);
        rc = qv_buf_status(&resp->body, &resp->err);
    }
    qv_free(picked);
    qv_free(counts);
    search_req_fini(&s);
    return rc;
}

/* ---- hybrid search ------------------------------------------------------------------ */

typedef struct fuse_in {
    const qv_rowbatch *rows; /* where the hit's row lives */
    size_t row;
    size_t sub;
    float score; /* this sub-search's contribution */
} fuse_in;

typedef struct rerank {
    bool rrf;
    double k;                       /* RRF */
    double weights[MAX_SUBSEARCHES]; /* weighted */
    bool norm;
    bool mixed_l2; /* weighted, raw: distances (L2, Hamming, Jaccard) mapped when mixed */
} rerank;

static qv_err parse_rerank(const qv_jval *root, size_t nsubs, const sub_search *subs,
                           rerank *rr, qv_error *err)
{
    const qv_jval *obj, *params, *weights;
    const char *strategy = "rrf";
    qv_err rc = qv_jget_obj(root, "rerank", false, &obj, err);
    bool any_l2 = false, all_l2 = true;

    memset(rr, 0, sizeof *rr);
    rr->k = 60;
    if (rc == QV_OK && obj)
        rc = qv_jget_str(obj, "strategy", false, &strategy, NULL, err);
    if (rc == QV_OK && obj)
        rc = qv_jget_obj(obj, "params", false, &params, err);
    else
        params = NULL;
    if (rc != QV_OK)
        return rc;
    rr->rrf = !strcasecmp(strategy, "rrf");
    if (rr->rrf) {
        if ((rc = qv_jget_real(params, "k", false, &rr->k, NULL, err)) != QV_OK)
            return rc;
        if (!(rr->k > 0 && rr->k < 16384))
            return qv_error_set(err, QV_EINVAL, "The rank params k should be in range (0, 16384)");
        return QV_OK;
    }
    if (strcasecmp(strategy, "weighted") != 0)
        return qv_error_set(err, QV_EINVAL, "unsupported rerank strategy: %s (rrf, weighted)",
                            strategy);
    if ((rc = qv_jget_arr(params, "weights", true, &weights, err)) != QV_OK ||
        (rc = qv_jget_bool(params, "norm_score", false, &rr->norm, NULL, err)) != QV_OK)
        return rc;
    if (qv_jarr_len(weights) != nsubs)
        return qv_error_set(err, QV_EINVAL,
                            "the length of weights param mismatch with ann search requests: "
                            "invalid parameter[expected=%zu][actual=%zu]",
                            nsubs, qv_jarr_len(weights));
    for (size_t i = 0; i < nsubs; i++) {
        if (!qv_jval_real(qv_jarr_at(weights, i), &rr->weights[i]) || rr->weights[i] < 0 ||
            rr->weights[i] > 1)
            return qv_error_set(err, QV_EINVAL, "rank param weight should be in range [0, 1]");
        any_l2 |= qv_metric_ascending(subs[i].o.metric);
        all_l2 &= qv_metric_ascending(subs[i].o.metric);
    }
    rr->mixed_l2 = any_l2 && !all_l2;
    return QV_OK;
}

/* Milvus's normalisation of one sub-search score (reference §6.5): the distances
 * (L2, Hamming, Jaccard) map to 1 - 2·atan(d)/π, BM25 to 2·atan(d)/π. */
static double normalise(qv_metric_kind m, double d)
{
    if (m == QV_METRIC_COSINE)
        return (1 + d) / 2;
    if (m == QV_METRIC_IP)
        return 0.5 + atan(d) / M_PI;
    if (m == QV_METRIC_BM25)
        return 2 * atan(d) / M_PI;
    return 1 - 2 * atan(d) / M_PI;
}

/* Sub-search i's share of a hit's fused score: RRF 1/(k + rank), rank 1-based; weighted
 * w_i * norm(d), where norm is the identity for raw scores except for distances among
 * mixed metrics (which then rank larger-is-better like the others). */
static double contribution(const rerank *rr, const sub_search *sub, size_t i, size_t rank,
                           float d)
{
    if (rr->rrf)
        return 1.0 / (rr->k + (double)rank);
    if (rr->norm || (rr->mixed_l2 && qv_metric_ascending(sub->o.metric)))
        return rr->weights[i] * normalise(sub->o.metric, d);
    return rr->weights[i] * d;
}

static _Thread_local const qv_schema *fuse_schema;

/* Order by primary key, so equal keys from several sub-searches sit together. */
static int fuse_pk_cmp(const void *pa, const void *pb)
{
    const fuse_in *a = pa, *b = pb;
    const qv_field *pk = qv_schema_primary(fuse_schema);
    size_t col = (size_t)(pk - fuse_schema->fields);

    return qv_colbuf_key_cmp(&a->rows->cols[col], a->row, &b->rows->cols[col], b->row);
}

static _Thread_local bool fuse_ascending; /* all-L2 raw weighted scores: smaller is better */

static int fuse_score_cmp(const void *pa, const void *pb)
{
    const fuse_in *a = pa, *b = pb;
    if (a->score != b->score)
        return (a->score < b->score) == fuse_ascending ? -1 : 1;
    return fuse_pk_cmp(pa, pb); /* ties by primary key */
}

/* Sub-search sub's hits of query q that take part in the fusion, best first, as indexes
 * into its result: its groups when grouping, else its hits after its offset. */
static size_t sub_hits(const search_req *s, const sub_search *sub, size_t q, size_t *out)
{
    size_t n = 0;
    bool complete;

    if (s->group_field != SIZE_MAX)
        return group_hits(s, sub, q, out, &complete);
    for (size_t j = sub->r.first[q] + (size_t)sub->offset; j < sub->r.first[q + 1]; j++)
        out[n++] = j;
    return n;
}

/* Fuse query q's hits of every sub-search into out (sorted best first); *n set. */
static qv_err fuse_query(const search_req *s, const rerank *rr, size_t q, fuse_in **out,
                         size_t *n, qv_error *err)
{
    size_t total = 0, m = 0, cap = 0;
    size_t *hits;
    fuse_in *in;

    for (size_t i = 0; i < s->nsubs; i++) {
        size_t k = s->subs[i].r.first[q + 1] - s->subs[i].r.first[q];
        total += k;
        cap = k > cap ? k : cap;
    }
    in = qv_calloc(total ? total : 1, sizeof *in);
    hits = qv_malloc((cap + 1) * sizeof *hits);
    if (!in || !hits) {
        qv_free(in);
        qv_free(hits);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < s->nsubs; i++) {
        const sub_search *sub = &s->subs[i];
        size_t k = sub_hits(s, sub, q, hits);
        for (size_t j = 0; j < k; j++)
            in[m++] = (fuse_in){&sub->r.rows, hits[j], i,
                                (float)contribution(rr, sub, i, j + 1, sub->r.distance[hits[j]])};
    }
    qv_free(hits);
    fuse_schema = &s->ci.schema;
    qsort(in, m, sizeof *in, fuse_pk_cmp);
    total = 0;
    for (size_t j = 0; j < m; j++) { /* sum each key's contributions into its first entry */
        if (total && fuse_pk_cmp(&in[total - 1], &in[j]) == 0)
            in[total - 1].score += in[j].score;
        else
            in[total++] = in[j];
    }
    fuse_ascending = !rr->rrf && !rr->norm && !rr->mixed_l2 &&
                     qv_metric_ascending(s->subs[0].o.metric);
    qsort(in, total, sizeof *in, fuse_score_cmp);
    *out = in;
    *n = total;
    return QV_OK;
}

/* Fused hits to answer, as indexes into fused: ranks [offset, offset + limit), or when
 * grouping (as a grouping search answers) groups [offset, offset + limit) in order of
 * their best hit, group by group, at most groupSize hits each in rank order. */
static size_t pick_fused(const search_req *s, const fuse_in *fused, size_t n, int64_t limit,
                         int64_t offset, size_t *out)
{
    size_t picked = 0, groups = 0, want = (size_t)(offset + limit), gf = s->group_field;
    size_t *group_of, *heads;

    if (gf == SIZE_MAX) {
        for (size_t j = (size_t)offset; j < n && j < want; j++)
            out[picked++] = j;
        return picked;
    }
    group_of = qv_malloc((n + 1) * sizeof *group_of);
    heads = qv_calloc(want + 1, sizeof *heads);
    for (size_t j = 0; group_of && heads && j < n; j++) {
        size_t g = 0;
        while (g < groups && !same_value(&fused[heads[g]].rows->cols[gf], fused[heads[g]].row,
                                         &fused[j].rows->cols[gf], fused[j].row))
            g++;
        if (g == groups && groups < want)
            heads[groups++] = j;
        group_of[j] = g; /* == groups: a group past the limit */
    }
    for (size_t g = (size_t)offset; group_of && heads && g < groups; g++) {
        size_t taken = 0;
        for (size_t j = heads[g]; j < n && taken < (size_t)s->group_size; j++)
            if (group_of[j] == g)
                out[picked++] = j, taken++;
    }
    qv_free(group_of);
    qv_free(heads);
    return picked;
}

qv_err api_entity_hybrid_search(qv_req *req, qv_resp *resp)
{
    search_req s;
    const qv_jval *arr;
    rerank rr;
    int64_t limit, offset;
    size_t nq = 0, *counts = NULL;
    qv_err rc;
    qv_jw w;

    memset(&s, 0, sizeof s);
    s.req = req;
    if ((rc = parse_common(req, &s, &resp->err)) != QV_OK ||
        (rc = parse_grouping(req, &s, &resp->err)) != QV_OK ||
        (rc = qv_jget_arr(req->root, "search", true, &arr, &resp->err)) != QV_OK ||
        (rc = limits(req->root, &limit, &offset, &resp->err)) != QV_OK)
        goto done;
    if (qv_jarr_len(arr) == 0 || qv_jarr_len(arr) > MAX_SUBSEARCHES) {
        rc = qv_error_set(&resp->err, QV_EINVAL, "hybrid search takes 1 to %d sub-searches",
                          MAX_SUBSEARCHES);
        goto done;
    }
    for (size_t i = 0; i < qv_jarr_len(arr) && rc == QV_OK; i++) {
        s.nsubs = i + 1;
        if ((rc = parse_sub(&s, qv_jarr_at(arr, i), "params", false, &s.subs[i], &resp->err)))
            qv_error_prefix(&resp->err, "search[%zu]: ", i);
        else if (i && s.subs[i].o.nq != s.subs[0].o.nq)
            rc = qv_error_set(&resp->err, QV_EINVAL,
                              "search[%zu] has %zu query vectors, search[0] has %zu", i,
                              s.subs[i].o.nq, s.subs[0].o.nq);
    }
    if (rc != QV_OK || (rc = parse_rerank(req->root, s.nsubs, s.subs, &rr, &resp->err)) != QV_OK)
        goto done;
    for (size_t i = 0; i < s.nsubs && rc == QV_OK; i++) {
        if (s.group_field != SIZE_MAX) {
            rc = grouped_search(&s, &s.subs[i], &resp->err);
            continue;
        }
        rc = qv_dist_search(&s.dc, &s.subs[i].o, &s.subs[i].src, &s.subs[i].r, &resp->err);
        s.subs[i].has_result = rc == QV_OK;
    }
    nq = s.subs[0].o.nq;
    if (rc == QV_OK && !(counts = qv_calloc(nq, sizeof *counts)))
        rc = qv_error_set(&resp->err, QV_ENOMEM, "out of memory");
    if (rc != QV_OK)
        goto done;
    api_ok_begin(resp, &w);
    qv_jw_arr_begin(&w);
    for (size_t q = 0; q < nq && rc == QV_OK; q++) {
        fuse_in *fused = NULL;
        size_t n = 0, *picked;
        if ((rc = fuse_query(&s, &rr, q, &fused, &n, &resp->err)) != QV_OK)
            break;
        if (!(picked = qv_malloc((n + 1) * sizeof *picked)))
            rc = qv_error_set(&resp->err, QV_ENOMEM, "out of memory");
        counts[q] = picked ? pick_fused(&s, fused, n, limit, offset, picked) : 0;
        for (size_t j = 0; j < counts[q]; j++)
            write_hit(&w, &s, fused[picked[j]].rows, fused[picked[j]].row, fused[picked[j]].score,
                      int64_as_string(req));
        qv_free(picked);
        qv_free(fused);
    }
    qv_jw_arr_end(&w);
    write_topks(&w, counts, nq);
    api_ok_end(&w);
    if (rc == QV_OK)
        rc = qv_buf_status(&resp->body, &resp->err);
done:
    qv_free(counts);
    search_req_fini(&s);
    return rc;
}
