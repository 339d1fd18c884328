/* SPDX-License-Identifier: Apache-2.0 */
/* dist_ops.c - search, query, count and writes over the cluster (quiver/dist.h), and the
 * same calls on a single node. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/dist_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

#define MAX_PARTS (QV_CLUSTER_MAX_PEERS + 1)
#define STRIPES 64

static dist_target target_of(const qv_dist_coll *dc)
{
    return (dist_target){dc->ci->db, dc->ci->name};
}

static size_t pk_col_of(const qv_schema *s) { return (size_t)(qv_schema_primary(s) - s->fields); }

/* ---- search -------------------------------------------------------------------------- */

typedef struct search_ctx {
    const qv_dist_coll *dc;
    const qv_search_opts *o;
    const qv_dist_filter *src;
    qv_search_result parts[MAX_PARTS];
    size_t nparts;
} search_ctx;

static void search_encode(void *ctx, uint64_t mask, qv_buf *out)
{
    search_ctx *x = ctx;
    qv_search_opts o = *x->o;
    dist_target t = target_of(x->dc);

    o.shard_mask = mask;
    dist_encode_search(out, &t, &o, &x->dc->ci->schema.fields[o.field], x->src);
}

static qv_err search_local(void *ctx, uint64_t mask, qv_error *err)
{
    search_ctx *x = ctx;
    qv_search_opts o = *x->o;
    qv_err rc;

    o.shard_mask = mask;
    rc = qv_coll_search(x->dc->data, &x->dc->ci->schema, &o, &x->parts[x->nparts], err);
    x->nparts += rc == QV_OK;
    return rc;
}

static qv_err search_collect(void *ctx, const void *p, size_t len, qv_error *err)
{
    search_ctx *x = ctx;
    qv_search_result *r = &x->parts[x->nparts];
    qv_err rc = dist_decode_search_answer(p, len, &x->dc->ci->schema, x->o->nq, r, err);

    if (rc == QV_OK && r->rows.rows != r->first[x->o->nq])
        rc = qv_error_set(err, QV_ECORRUPT, "peer answer: row count mismatch");
    if (rc != QV_OK) {
        qv_search_result_fini(r);
        return rc;
    }
    x->nparts++;
    return QV_OK;
}

typedef struct mhit {
    float key; /* smaller is better */
    uint32_t part, idx;
} mhit;

static _Thread_local const search_ctx *tl_merge;

static int mhit_pk(const mhit *a, const mhit *b)
{
    size_t col = pk_col_of(&tl_merge->dc->ci->schema);
    return qv_colbuf_key_cmp(&tl_merge->parts[a->part].rows.cols[col], a->idx,
                             &tl_merge->parts[b->part].rows.cols[col], b->idx);
}

static int by_pk_then_key(const void *pa, const void *pb)
{
    const mhit *a = pa, *b = pb;
    int c = mhit_pk(a, b);
    return c ? c : (a->key < b->key ? -1 : a->key > b->key);
}

static int by_key_then_pk(const void *pa, const void *pb)
{
    const mhit *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return mhit_pk(a, b);
}

/* Query q's best k hits over every part, each key once, into out. */
static qv_err merge_query(search_ctx *x, size_t q, mhit *buf, qv_search_result *out,
                          size_t *at, qv_error *err)
{
    bool l2 = qv_metric_ascending(x->o->metric); /* smaller is better */
    size_t n = 0, kept = 0;
    qv_err rc = QV_OK;

    for (size_t p = 0; p < x->nparts; p++)
        for (size_t i = x->parts[p].first[q]; i < x->parts[p].first[q + 1]; i++) {
            float d = x->parts[p].distance[i];
            buf[n++] = (mhit){l2 ? d : -d, (uint32_t)p, (uint32_t)i};
        }
    tl_merge = x;
    qsort(buf, n, sizeof *buf, by_pk_then_key);
    for (size_t i = 0; i < n; i++) /* the best hit of each key */
        if (!kept || mhit_pk(&buf[kept - 1], &buf[i]) != 0)
            buf[kept++] = buf[i];
    qsort(buf, kept, sizeof *buf, by_key_then_pk);
    out->first[q] = *at;
    for (size_t i = 0; i < kept && i < x->o->k && rc == QV_OK; i++, (*at)++) {
        uint32_t row = buf[i].idx;
        out->distance[*at] = l2 ? buf[i].key : -buf[i].key;
        rc = qv_rowbatch_append_rows(&out->rows, &x->parts[buf[i].part].rows, &row, 1, err);
    }
    return rc;
}

static qv_err merge_search(search_ctx *x, qv_search_result *out, qv_error *err)
{
    size_t total = 0, at = 0;
    mhit *buf;
    qv_err rc = QV_OK;

    memset(out, 0, sizeof *out);
    for (size_t p = 0; p < x->nparts; p++)
        total += x->parts[p].first[x->o->nq];
    buf = qv_malloc((total + 1) * sizeof *buf);
    if (!buf || !(out->first = qv_calloc(x->o->nq + 1, sizeof *out->first)) ||
        !(out->distance = qv_calloc(total + 1, sizeof *out->distance)) ||
        qv_rowbatch_init(&out->rows, &x->dc->ci->schema) != QV_OK)
        rc = qv_error_set(err, QV_ENOMEM, "out of memory merging hits");
    for (size_t q = 0; q < x->o->nq && rc == QV_OK; q++)
        rc = merge_query(x, q, buf, out, &at, err);
    if (out->first)
        out->first[x->o->nq] = at;
    qv_free(buf);
    if (rc != QV_OK)
        qv_search_result_fini(out);
    return rc;
}

/* ---- BM25 statistics: every shard counted once, on the owner that reads it ----------- */

typedef struct stats_ctx {
    const qv_dist_coll *dc;
    const qv_search_opts *o;
    qv_bm25_stats sum;
} stats_ctx;

static void stats_encode(void *ctx, uint64_t mask, qv_buf *out)
{
    stats_ctx *x = ctx;
    dist_target t = target_of(x->dc);

    dist_encode_bm25_stats(out, &t, mask, x->o->field, x->o->squeries, x->o->nq);
}

static void stats_add(stats_ctx *x, const qv_bm25_stats *st)
{
    x->sum.docs += st->docs;
    x->sum.tokens += st->tokens;
    for (size_t i = 0; i < st->nterms && i < x->sum.nterms; i++)
        x->sum.df[i] += st->df[i];
}

static qv_err stats_local(void *ctx, uint64_t mask, qv_error *err)
{
    stats_ctx *x = ctx;
    qv_bm25_stats st;
    qv_err rc = qv_coll_bm25_stats(x->dc->data, x->o->field, mask, x->o->squeries, x->o->nq,
                                   &st, err);

    if (rc == QV_OK)
        stats_add(x, &st);
    qv_bm25_stats_fini(&st);
    return rc;
}

static qv_err stats_collect(void *ctx, const void *p, size_t len, qv_error *err)
{
    stats_ctx *x = ctx;
    qv_bm25_stats st;
    qv_err rc = dist_decode_bm25_answer(p, len, &st, err);

    if (rc == QV_OK && st.nterms != x->sum.nterms)
        rc = qv_error_set(err, QV_ECORRUPT, "peer answer: %zu term counts, expected %zu",
                          st.nterms, x->sum.nterms);
    if (rc == QV_OK)
        stats_add(x, &st);
    qv_bm25_stats_fini(&st);
    return rc;
}

/* The cluster's BM25 statistics for o's queries, so every shard set scores alike (and as
 * a single node would). */
static qv_err gather_bm25(const qv_dist_coll *dc, const qv_search_opts *o, qv_bm25_stats *out,
                          qv_error *err)
{
    static const dist_read_ops ops = {"/internal/v1/bm25_stats", stats_encode, stats_local,
                                      stats_collect};
    stats_ctx x = {.dc = dc, .o = o};
    qv_err rc;

    for (size_t q = 0; q < o->nq; q++)
        x.sum.nterms += o->squeries[q].nnz;
    if (!(x.sum.df = qv_calloc(x.sum.nterms + 1, sizeof *x.sum.df)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    if ((rc = dist_read(dc, &ops, &x, err)) != QV_OK) {
        qv_bm25_stats_fini(&x.sum);
        return rc;
    }
    *out = x.sum;
    return QV_OK;
}

qv_err qv_dist_search(const qv_dist_coll *dc, const qv_search_opts *o,
                      const qv_dist_filter *src, qv_search_result *out, qv_error *err)
{
    static const dist_read_ops ops = {"/internal/v1/search", search_encode, search_local,
                                      search_collect};
    search_ctx *x;
    qv_bm25_stats stats = {0};
    qv_search_opts with_stats;
    qv_err rc;

    if (!dc->node->cluster)
        return qv_coll_search(dc->data, &dc->ci->schema, o, out, err);
    if (o->metric == QV_METRIC_BM25 && !o->bm25) {
        if ((rc = gather_bm25(dc, o, &stats, err)) != QV_OK)
            return rc;
        with_stats = *o;
        with_stats.bm25 = &stats;
        o = &with_stats;
    }
    if (!(x = qv_calloc(1, sizeof *x))) {
        qv_bm25_stats_fini(&stats);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    *x = (search_ctx){.dc = dc, .o = o, .src = src};
    if ((rc = dist_read(dc, &ops, x, err)) == QV_OK)
        rc = merge_search(x, out, err);
    qv_bm25_stats_fini(&stats);
    for (size_t p = 0; p < x->nparts; p++)
        qv_search_result_fini(&x->parts[p]);
    qv_free(x);
    return rc;
}

/* ---- query and count ----------------------------------------------------------------- */

typedef struct query_ctx {
    const qv_dist_coll *dc;
    const qv_query_opts *o;
    const qv_dist_filter *src;
    qv_rowbatch parts[MAX_PARTS];
    size_t nparts;
    uint64_t count;
} query_ctx;

static void query_encode(void *ctx, uint64_t mask, qv_buf *out)
{
    query_ctx *x = ctx;
    qv_query_opts o = *x->o;
    dist_target t = target_of(x->dc);

    o.shard_mask = mask;
    dist_encode_query(out, &t, &o, x->src);
}

/* A shard set's part: every row up to offset + limit (the offset applies after the merge). */
static qv_err query_local(void *ctx, uint64_t mask, qv_error *err)
{
    query_ctx *x = ctx;
    qv_query_opts o = *x->o;
    uint64_t n = 0;
    qv_err rc;

    o.shard_mask = mask;
    o.limit = o.offset + o.limit < o.limit ? UINT64_MAX : o.offset + o.limit;
    o.offset = 0;
    rc = qv_coll_query(x->dc->data, &x->dc->ci->schema, &o, o.count_only ? NULL : &x->parts[x->nparts],
                       o.count_only ? &n : NULL, err);
    x->count += n;
    x->nparts += rc == QV_OK && !o.count_only;
    return rc;
}

static qv_err query_collect(void *ctx, const void *p, size_t len, qv_error *err)
{
    query_ctx *x = ctx;
    uint64_t n = 0;
    qv_err rc = dist_decode_count_answer(p, len, &x->dc->ci->schema, &n,
                                         x->o->count_only ? NULL : &x->parts[x->nparts], err);

    if (rc != QV_OK)
        return rc;
    x->count += n;
    x->nparts += !x->o->count_only;
    return QV_OK;
}

typedef struct qrow {
    uint32_t part;
    uint32_t row;
} qrow;

static _Thread_local const query_ctx *tl_query;

static int qrow_pk(const void *pa, const void *pb)
{
    const qrow *a = pa, *b = pb;
    size_t col = pk_col_of(&tl_query->dc->ci->schema);
    return qv_colbuf_key_cmp(&tl_query->parts[a->part].cols[col], a->row,
                             &tl_query->parts[b->part].cols[col], b->row);
}

/* Every part's rows in key order, then [offset, offset + limit). */
static qv_err merge_query_rows(query_ctx *x, qv_rowbatch *out, qv_error *err)
{
    size_t total = 0, n = 0;
    qrow *rows;
    qv_err rc = qv_rowbatch_init(out, &x->dc->ci->schema) == QV_OK
                    ? QV_OK
                    : qv_error_set(err, QV_ENOMEM, "out of memory");

    for (size_t p = 0; p < x->nparts; p++)
        total += x->parts[p].rows;
    if (rc != QV_OK || !(rows = qv_malloc((total + 1) * sizeof *rows)))
        return rc != QV_OK ? rc : qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t p = 0; p < x->nparts; p++)
        for (size_t r = 0; r < x->parts[p].rows; r++)
            rows[n++] = (qrow){(uint32_t)p, (uint32_t)r};
    tl_query = x;
    qsort(rows, n, sizeof *rows, qrow_pk);
    for (uint64_t i = x->o->offset; i < n && i - x->o->offset < x->o->limit && rc == QV_OK; i++)
        rc = qv_rowbatch_append_rows(out, &x->parts[rows[i].part], &rows[i].row, 1, err);
    qv_free(rows);
    return rc;
}

qv_err qv_dist_query(const qv_dist_coll *dc, const qv_query_opts *o, const qv_dist_filter *src,
                     qv_rowbatch *out, uint64_t *count, qv_error *err)
{
    static const dist_read_ops ops = {"/internal/v1/query", query_encode, query_local,
                                      query_collect};
    query_ctx *x;
    qv_err rc;

    if (!dc->node->cluster)
        return qv_coll_query(dc->data, &dc->ci->schema, o, out, count, err);
    if (out)
        memset(out, 0, sizeof *out);
    if (!(x = qv_calloc(1, sizeof *x)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    *x = (query_ctx){.dc = dc, .o = o, .src = src};
    rc = dist_read(dc, &ops, x, err);
    if (rc == QV_OK && o->count_only)
        *count = x->count;
    else if (rc == QV_OK)
        rc = merge_query_rows(x, out, err);
    for (size_t p = 0; p < x->nparts; p++)
        qv_rowbatch_fini(&x->parts[p]);
    qv_free(x);
    return rc;
}

qv_err qv_dist_count(const qv_dist_coll *dc, int64_t partition_id, uint64_t *out, qv_error *err)
{
    qv_query_opts o = {.count_only = true, .partitions = partition_id >= 0 ? &partition_id : NULL,
                       .npartitions = partition_id >= 0};

    if (!dc->node->cluster) {
        *out = qv_coll_count(dc->data, partition_id);
        return QV_OK;
    }
    return qv_dist_query(dc, &o, NULL, NULL, out, err);
}

/* ---- writes -------------------------------------------------------------------------- */

qv_err dist_local_write(const qv_dist_coll *dc, uint8_t op, const dist_dest *to,
                        const qv_rowbatch *rows, uint64_t *affected, qv_error *err)
{
    uint64_t n = rows->rows;
    qv_err rc = op == DIST_DELETE ? qv_coll_delete_keys(dc->data, rows, &n, err)
                : to->rows ? qv_coll_write_routed(dc->data, op == DIST_UPSERT, to->rows, rows, err)
                : op == DIST_INSERT ? qv_coll_insert(dc->data, to->partition, rows, err)
                                    : qv_coll_upsert(dc->data, to->partition, rows, err);
    if (affected && rc == QV_OK)
        *affected += n;
    return rc;
}

static pthread_mutex_t stripes[STRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void stripes_init(void)
{
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
}

/* Send a committed part to the shard's other live owners; returns how many made it durable. */
static size_t replicate(const qv_dist_coll *dc, uint8_t op, const dist_dest *to,
                        uint32_t shard, const qv_rowbatch *rows)
{
    qv_cluster *c = dc->node->cluster;
    size_t owners[QV_CLUSTER_MAX_REPLICAS], n = qv_cluster_owners(c, dc->ci->id, shard, owners);
    qv_peer_call calls[QV_CLUSTER_MAX_REPLICAS];
    dist_target t = target_of(dc);
    size_t ncalls = 0, durable = 0;
    struct timespec t0, t1;
    bool paused;
    qv_buf body;

    qv_buf_init(&body);
    dist_encode_write(&body, &t, op, to->partition, to->rows, shard, rows);
    for (size_t i = 0; i < n; i++) {
        qv_peer_state st;
        if (owners[i] == qv_cluster_self(c))
            continue;
        qv_cluster_peer_state(c, owners[i], &st);
        if (st.live)
            calls[ncalls++] = (qv_peer_call){.peer = owners[i], .method = "POST",
                                             .path = "/internal/v1/replicate",
                                             .body = body.data, .len = body.len};
        else
            qv_cluster_note_missed(c, owners[i]); /* it catches up before serving again */
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    qv_cluster_call(c, calls, ncalls, qv_cluster_timeout_ms(c));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* calls that outlived their deadline by far: this process was paused, not the peer */
    paused = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >
             qv_cluster_timeout_ms(c) + 1000;
    for (size_t i = 0; i < ncalls; i++) {
        if (calls[i].ok && calls[i].status == 200) {
            durable++;
        } else {
            qv_log_warn("cluster", "replicating to %s failed (%s, HTTP %ld): it will resync",
                        qv_cluster_peer_id(c, calls[i].peer), calls[i].error, calls[i].status);
            if (!paused)
                qv_cluster_note_missed(c, calls[i].peer);
        }
    }
    if (paused)
        qv_cluster_resync(c, "a replication outlived its deadline (was this process stopped?)");
    qv_peer_calls_fini(calls, ncalls);
    qv_buf_fini(&body);
    return durable;
}

void dist_stripe(int64_t coll, uint32_t shard, bool lock)
{
    pthread_mutex_t *m = &stripes[((uint64_t)coll * 31 + shard) % STRIPES];

    pthread_once(&stripes_once, stripes_init);
    if (lock)
        pthread_mutex_lock(m);
    else
        pthread_mutex_unlock(m);
}

qv_err dist_primary_write(const qv_dist_coll *dc, uint8_t op, const dist_dest *to,
                          uint32_t shard, const qv_rowbatch *rows, uint64_t *affected,
                          qv_error *err)
{
    qv_cluster *c = dc->node->cluster;
    size_t durable;
    qv_err rc;

    dist_stripe(dc->ci->id, shard, true); /* one order of the shard's writes on every owner */
    rc = dist_local_write(dc, op, to, rows, affected, err);
    durable = rc == QV_OK ? 1 + replicate(dc, op, to, shard, rows) : 0;
    dist_stripe(dc->ci->id, shard, false);
    if (rc == QV_OK && durable < qv_cluster_write_quorum(c))
        rc = qv_error_set(err, QV_EUNAVAIL,
                          "shard %u: durable on %zu owners, cluster.write_quorum is %zu", shard,
                          durable, qv_cluster_write_quorum(c));
    return rc;
}

static uint32_t shard_of(const qv_collection_info *ci, const qv_rowbatch *b, size_t row)
{
    const qv_colbuf *col = &b->cols[pk_col_of(&ci->schema)];
    uint64_t h;
    size_t n;

    if (ci->shards_num == 1)
        return 0;
    if (col->width) {
        int64_t v;
        memcpy(&v, qv_colbuf_fixed(col, row), sizeof v);
        h = qv_store_hash_int64(v);
    } else {
        const uint8_t *p = qv_colbuf_var(col, row, &n);
        h = qv_store_hash_bytes(p, n);
    }
    return (uint32_t)(h % (uint64_t)ci->shards_num);
}

/* Rows of b in shard s, into part (initialised here), and with row_parts their
 * partitions into *part_parts (owned). */
static qv_err shard_part(const qv_collection_info *ci, const qv_rowbatch *b,
                         const int64_t *row_parts, uint32_t s, qv_rowbatch *part,
                         int64_t **part_parts, qv_error *err)
{
    uint32_t *idx = qv_malloc((b->rows + 1) * sizeof *idx);
    size_t n = 0;
    qv_err rc;

    if (!idx || qv_rowbatch_init(part, &ci->schema) != QV_OK) {
        qv_free(idx);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < b->rows; i++)
        if (shard_of(ci, b, i) == s)
            idx[n++] = (uint32_t)i;
    rc = n ? qv_rowbatch_append_rows(part, b, idx, n, err) : QV_OK;
    if (rc == QV_OK && row_parts && n) {
        if (!(*part_parts = qv_malloc(n * sizeof **part_parts)))
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        for (size_t j = 0; rc == QV_OK && j < n; j++)
            (*part_parts)[j] = row_parts[idx[j]];
    }
    qv_free(idx);
    return rc;
}

/* Send each shard's part to its primary (this node's parts committed here meanwhile). */
static qv_err route_parts(const qv_dist_coll *dc, uint8_t op, int64_t partition,
                          qv_rowbatch *parts, int64_t *const *part_parts, qv_error *err)
{
    qv_cluster *c = dc->node->cluster;
    qv_peer_call calls[64];
    qv_buf bodies[64];
    uint32_t shard_of_call[64];
    dist_target t = target_of(dc);
    size_t n = 0;
    qv_peer_batch *batch;
    qv_err rc = QV_OK;

    for (uint32_t s = 0; s < (uint32_t)dc->ci->shards_num && rc == QV_OK; s++) {
        size_t p;
        if (!parts[s].rows || (p = dist_primary(c, dc->ci->id, s, 0)) == qv_cluster_self(c))
            continue;
        if (p == SIZE_MAX) {
            rc = qv_error_set(err, QV_EUNAVAIL, "shard %u has no live owner", s);
            break;
        }
        qv_buf_init(&bodies[n]);
        dist_encode_write(&bodies[n], &t, op, partition, part_parts[s], s, &parts[s]);
        shard_of_call[n] = s;
        calls[n] = (qv_peer_call){.peer = p, .method = "POST", .path = "/internal/v1/write",
                                  .body = bodies[n].data, .len = bodies[n].len};
        n++;
    }
    batch = qv_cluster_call_begin(c, calls, n, qv_cluster_timeout_ms(c));
    for (uint32_t s = 0; s < (uint32_t)dc->ci->shards_num && rc == QV_OK; s++) {
        dist_dest to = {partition, part_parts[s]};
        if (parts[s].rows && dist_primary(c, dc->ci->id, s, 0) == qv_cluster_self(c) &&
            (rc = dist_primary_write(dc, op, &to, s, &parts[s], NULL, err)) == QV_OK)
            qv_rowbatch_clear(&parts[s]);
    }
    qv_cluster_call_end(batch);
    for (size_t i = 0; i < n; i++) {
        if (calls[i].ok && calls[i].status == 200)
            qv_rowbatch_clear(&parts[shard_of_call[i]]); /* done */
        else if (rc == QV_OK && calls[i].ok)
            dist_call_error(dc, &calls[i], err), rc = err ? err->code : QV_EUNEXPECTED;
        qv_buf_fini(&bodies[i]);
    }
    qv_peer_calls_fini(calls, n);
    return rc;
}

qv_err qv_dist_write(const qv_dist_coll *dc, bool upsert, int64_t partition_id,
                     const int64_t *row_parts, const qv_rowbatch *rows, qv_error *err)
{
    uint8_t op = upsert ? DIST_UPSERT : DIST_INSERT;
    dist_dest to = {partition_id, row_parts};
    qv_rowbatch parts[64];
    int64_t *part_parts[64] = {0};
    size_t nshards = (size_t)dc->ci->shards_num;
    qv_err rc = QV_OK;

    if (!dc->node->cluster)
        return dist_local_write(dc, op, &to, rows, NULL, err);
    memset(parts, 0, sizeof parts);
    for (uint32_t s = 0; s < nshards && rc == QV_OK; s++)
        rc = shard_part(dc->ci, rows, row_parts, s, &parts[s], &part_parts[s], err);
    /* a part whose primary did not answer goes to the next owner (at most R tries) */
    for (size_t attempt = 0; rc == QV_OK && attempt < qv_cluster_replication(dc->node->cluster);
         attempt++) {
        bool left = false;
        if ((rc = route_parts(dc, op, partition_id, parts, part_parts, err)) != QV_OK)
            break;
        for (size_t s = 0; s < nshards; s++)
            left |= parts[s].rows > 0;
        if (!left)
            break;
        if (attempt + 1 == qv_cluster_replication(dc->node->cluster))
            rc = qv_error_set(err, QV_EUNAVAIL, "no owner of some shards answered");
    }
    for (size_t s = 0; s < nshards; s++) {
        qv_rowbatch_fini(&parts[s]);
        qv_free(part_parts[s]);
    }
    return rc;
}

/* ---- deletes ------------------------------------------------------------------------- */

qv_err dist_delete_shard(const qv_dist_coll *dc, const qv_filter *f, const int64_t *partitions,
                         size_t npartitions, uint32_t shard, uint64_t *deleted, qv_error *err)
{
    qv_query_opts q = {.filter = f, .partitions = partitions, .npartitions = npartitions,
                       .limit = UINT64_MAX, .shard_mask = 1ull << shard};
    qv_rowbatch keys;
    qv_err rc = qv_coll_query(dc->data, &dc->ci->schema, &q, &keys, NULL, err);

    if (rc == QV_OK && keys.rows)
        rc = dist_primary_write(dc, DIST_DELETE, &(dist_dest){0, NULL}, shard, &keys, deleted,
                                err);
    qv_rowbatch_fini(&keys);
    return rc;
}

qv_err qv_dist_delete(const qv_dist_coll *dc, const qv_filter *f, const qv_dist_filter *src,
                      const int64_t *partitions, size_t npartitions, uint64_t *deleted,
                      qv_error *err)
{
    qv_cluster *c = dc->node->cluster;
    qv_peer_call calls[64];
    qv_buf bodies[64];
    dist_target t = target_of(dc);
    size_t n = 0;
    qv_peer_batch *batch;
    qv_err rc = QV_OK;

    *deleted = 0;
    if (!c)
        return qv_coll_delete(dc->data, f, partitions, npartitions, deleted, err);
    for (uint32_t s = 0; s < (uint32_t)dc->ci->shards_num && rc == QV_OK; s++) {
        size_t p = dist_primary(c, dc->ci->id, s, 0);
        if (p == SIZE_MAX)
            rc = qv_error_set(err, QV_EUNAVAIL, "shard %u has no live owner", s);
        if (rc != QV_OK || p == qv_cluster_self(c))
            continue;
        qv_buf_init(&bodies[n]);
        dist_encode_delete(&bodies[n], &t, s, partitions, partitions ? npartitions : 0, src);
        calls[n] = (qv_peer_call){.peer = p, .method = "POST", .path = "/internal/v1/delete",
                                  .body = bodies[n].data, .len = bodies[n].len};
        n++;
    }
    if (rc != QV_OK) {
        for (size_t i = 0; i < n; i++)
            qv_buf_fini(&bodies[i]);
        return rc;
    }
    batch = qv_cluster_call_begin(c, calls, n, qv_cluster_timeout_ms(c));
    for (uint32_t s = 0; s < (uint32_t)dc->ci->shards_num && rc == QV_OK; s++)
        if (dist_primary(c, dc->ci->id, s, 0) == qv_cluster_self(c))
            rc = dist_delete_shard(dc, f, partitions, npartitions, s, deleted, err);
    qv_cluster_call_end(batch);
    for (size_t i = 0; i < n; i++) {
        uint64_t count = 0;
        if (rc == QV_OK && (!calls[i].ok || calls[i].status != 200)) {
            dist_call_error(dc, &calls[i], err);
            rc = err ? err->code : QV_EUNAVAIL;
        } else if (rc == QV_OK && (rc = dist_decode_count_answer(calls[i].resp.data,
                                                                 calls[i].resp.len, NULL, &count,
                                                                 NULL, err)) == QV_OK) {
            *deleted += count;
        }
        qv_buf_fini(&bodies[i]);
    }
    qv_peer_calls_fini(calls, n);
    return rc;
}

/* ---- index progress ------------------------------------------------------------------ */

typedef struct progress_ctx {
    const qv_dist_coll *dc;
    size_t field;
    uint64_t indexed, total;
} progress_ctx;

void dist_encode_progress(qv_buf *b, const dist_target *t, uint64_t mask, size_t field)
{
    qv_buf_put(b, "QVP1", 4);
    dist_put_str(b, t->db);
    dist_put_str(b, t->coll);
    qv_buf_put_u64(b, mask);
    qv_buf_put_u32(b, (uint32_t)field);
}

static void progress_encode(void *ctx, uint64_t mask, qv_buf *out)
{
    progress_ctx *x = ctx;
    dist_target t = target_of(x->dc);
    dist_encode_progress(out, &t, mask, x->field);
}

static qv_err progress_local(void *ctx, uint64_t mask, qv_error *err)
{
    progress_ctx *x = ctx;
    uint64_t indexed = 0, total = 0;

    (void)err;
    qv_coll_index_progress(x->dc->data, x->field, mask, &indexed, &total);
    x->indexed += indexed;
    x->total += total;
    return QV_OK;
}

static qv_err progress_collect(void *ctx, const void *p, size_t len, qv_error *err)
{
    progress_ctx *x = ctx;
    qv_reader r;

    qv_reader_init(&r, p, len);
    if (len != 20 || memcmp(qv_reader_bytes(&r, 4), "QVA1", 4) != 0)
        return qv_error_set(err, QV_ECORRUPT, "peer answer: bad progress");
    x->indexed += qv_reader_u64(&r);
    x->total += qv_reader_u64(&r);
    return QV_OK;
}

qv_err qv_dist_index_progress(const qv_dist_coll *dc, size_t field, uint64_t *indexed,
                              uint64_t *total, qv_error *err)
{
    static const dist_read_ops ops = {"/internal/v1/progress", progress_encode, progress_local,
                                      progress_collect};
    progress_ctx x = {.dc = dc, .field = field};
    qv_err rc;

    if (!dc->node->cluster) {
        qv_coll_index_progress(dc->data, field, 0, indexed, total);
        return QV_OK;
    }
    rc = dist_read(dc, &ops, &x, err);
    *indexed = x.indexed;
    *total = x.total;
    return rc;
}
