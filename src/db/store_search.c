/* SPDX-License-Identifier: Apache-2.0 */
/* store_search.c - k-NN over live rows: per shard, a filter bitmap (pre-filter),
 * visibility and partitions form the candidate set; segments with an index are searched
 * through it, the other candidates exactly, window by window (store_vecs.c has the
 * per-type distances: SIMD kernels for dense and binary vectors, merges for sparse ones);
 * a bounded heap per query keeps the best k (ties by primary key). Scores are kept as
 * "smaller is better" keys: L2, Hamming and Jaccard as is, IP, cosine and BM25 negated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db/store_vecs.h"
#include "quiver/alloc.h"

#define WINDOW_ROWS 4096
/* A window with fewer candidates than rows / SPARSE_WINDOW_DIV scores them one by one
 * rather than the whole window at once. */
#define SPARSE_WINDOW_DIV 4

typedef struct cand {
    float key; /* smaller is better */
    uint32_t shard_ix;
    uint64_t row;
} cand;

typedef struct heap {
    cand *items; /* max-heap on (key, pk): the root is the worst kept hit */
    size_t n, k;
} heap;

static _Thread_local const qv_coll_data *tl_coll;

static int pk_cmp(const cand *a, const cand *b)
{
    return qv_colbuf_key_cmp(&tl_coll->shards[a->shard_ix].rows.cols[tl_coll->pk_col], a->row,
                             &tl_coll->shards[b->shard_ix].rows.cols[tl_coll->pk_col], b->row);
}

/* a worse than b? */
static bool worse(const cand *a, const cand *b)
{
    if (a->key != b->key)
        return a->key > b->key;
    return pk_cmp(a, b) > 0;
}

static void sift_down(heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && worse(&h->items[l], &h->items[m]))
            m = l;
        if (r < h->n && worse(&h->items[r], &h->items[m]))
            m = r;
        if (m == i)
            return;
        cand t = h->items[i];
        h->items[i] = h->items[m];
        h->items[m] = t;
        i = m;
    }
}

static void heap_push(heap *h, cand c)
{
    size_t i;

    if (h->n == h->k) {
        if (!worse(&h->items[0], &c))
            return;
        h->items[0] = c;
        sift_down(h, 0);
        return;
    }
    i = h->n++;
    h->items[i] = c;
    while (i && worse(&h->items[i], &h->items[(i - 1) / 2])) {
        cand t = h->items[i];
        h->items[i] = h->items[(i - 1) / 2];
        h->items[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static bool in_partitions(const qv_search_opts *o, int64_t part)
{
    if (!o->partitions)
        return true;
    for (size_t i = 0; i < o->npartitions; i++)
        if (o->partitions[i] == part)
            return true;
    return false;
}

/* Milvus range search: L2 (and Hamming, Jaccard) keep radius > d >= range_filter;
 * IP/COSINE/BM25 keep radius < d <= range_filter. */
static bool in_range(const qv_search_opts *o, float d)
{
    if (qv_metric_ascending(o->metric))
        return (!o->has_radius || d < o->radius) && (!o->has_range_filter || d >= o->range_filter);
    return (!o->has_radius || d > o->radius) && (!o->has_range_filter || d <= o->range_filter);
}

/* Candidate bitmap of one window: filter, not dead, not expired (written at or before
 * cutoff), in the partitions. */
static qv_err window_allow(const qv_coll_data *c, const shard *sh, size_t first, size_t n,
                           const qv_search_opts *o, uint64_t cutoff, uint64_t *bits,
                           qv_column *cols, store_pre *sp, qv_error *err)
{
    qv_column dyn;
    qv_filter_batch fb;
    qv_err rc;

    if (o->filter && !qv_filter_matches_all(o->filter)) {
        qv_rowbatch_view(&sh->rows, first, n, cols, &dyn, &fb);
        if ((rc = store_pre_window(c, sh, sp, first, &fb, err)) != QV_OK ||
            (rc = qv_filter_eval(o->filter, &fb, bits, err)) != QV_OK)
            return rc;
    } else {
        memset(bits, 0xff, qv_filter_words(n) * sizeof *bits);
        if (n % 64)
            bits[n / 64] = (1ull << (n % 64)) - 1;
    }
    for (size_t w = 0; w < qv_filter_words(n); w++) {
        bits[w] &= ~sh->dead[first / 64 + w];
        for (uint64_t m = bits[w]; (o->partitions || cutoff) && m; m &= m - 1) {
            size_t r = first + w * 64 + (size_t)__builtin_ctzll(m);
            if (!in_partitions(o, sh->part_ids[r]) || store_row_expired(sh, r, cutoff))
                bits[w] &= ~(1ull << (r % 64));
        }
    }
    return QV_OK;
}

static float key_of(const qv_search_opts *o, float d)
{
    return qv_metric_ascending(o->metric) ? d : -d;
}

static void score_window(const shard *sh, uint32_t si, size_t first, size_t n,
                         const store_query *sq, const uint64_t *bits, float *dist, heap *heaps)
{
    const qv_search_opts *o = sq->o;

    const qv_colbuf *col = &sh->rows.cols[o->field];
    size_t set = 0;

    for (size_t w = 0; w < qv_filter_words(n); w++)
        set += (size_t)__builtin_popcountll(bits[w]);
    for (size_t q = 0; q < o->nq; q++) {
        if (set * SPARSE_WINDOW_DIV < n) { /* few candidates: score only them */
            for (size_t w = 0; w < qv_filter_words(n); w++)
                for (uint64_t m = bits[w]; m; m &= m - 1) {
                    size_t i = w * 64 + (size_t)__builtin_ctzll(m);
                    store_score_rows(sq, col, first + i, 1, q, dist + i);
                }
        } else {
            store_score_rows(sq, col, first, n, q, dist);
        }
        for (size_t w = 0; w < qv_filter_words(n); w++) {
            for (uint64_t m = bits[w]; m; m &= m - 1) {
                size_t i = w * 64 + (size_t)__builtin_ctzll(m);
                float d = dist[i], key = key_of(o, d);
                if (isnan(d)) /* a sparse row sharing no term with the query */
                    continue;
                if (heaps[q].n == heaps[q].k && key > heaps[q].items[0].key)
                    continue; /* worse than the worst hit kept: most rows end here */
                if (!in_range(o, d))
                    continue;
                heap_push(&heaps[q], (cand){key, si, first + i});
            }
        }
    }
}

static const qv_index *field_index(const qv_coll_data *c, const segment *g, size_t field)
{
    for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++)
        if (c->slots[k].used && c->slots[k].field == field)
            return g->idx[k];
    return NULL;
}

/* Candidates of the whole shard into bits (qv_filter_words(rows) words). */
static qv_err shard_allow(const qv_coll_data *c, const shard *sh, const qv_search_opts *o,
                          uint64_t cutoff, uint64_t *bits, qv_column *cols, qv_error *err)
{
    size_t n = sh->rows.rows;
    store_pre sp = {.filter = o->filter};
    qv_err rc = QV_OK;

    for (size_t first = 0, m; first < n && rc == QV_OK; first += m) {
        m = store_window_rows(sh, first, WINDOW_ROWS);
        rc = window_allow(c, sh, first, m, o, cutoff, bits + first / 64, cols, &sp, err);
    }
    store_pre_fini(&sp);
    return rc;
}

/* Bits [off, off + n) of src into dst (qv_filter_words(n) words); src has a spare word. */
static size_t bits_extract(const uint64_t *src, size_t off, size_t n, uint64_t *dst)
{
    const uint64_t *s = src + off / 64;
    unsigned shift = off % 64;
    size_t count = 0;

    for (size_t w = 0; w < qv_filter_words(n); w++) {
        uint64_t v = shift ? s[w] >> shift | s[w + 1] << (64 - shift) : s[w];
        if (w == n / 64)
            v &= (1ull << (n % 64)) - 1;
        dst[w] = v;
        count += (size_t)__builtin_popcountll(v);
    }
    return count;
}

static void bits_clear(uint64_t *bits, size_t from, size_t to)
{
    for (size_t r = from; r < to;) {
        if (r % 64 == 0 && r + 64 <= to) {
            bits[r / 64] = 0;
            r += 64;
        } else {
            bits[r / 64] &= ~(1ull << (r % 64));
            r++;
        }
    }
}

/* Search segment g through its index ix; allow holds the shard's candidates. *exact set
 * when the index found fewer than min(k, matching rows) for some query, so the caller
 * scans the segment exactly. */
/* Graph and list searches slow down as a filter leaves fewer rows, while an exact scan of
 * the candidates (score_window scores only them) speeds up: below about 7 % of a segment
 * (knowhere's threshold for HNSW) or min(20 %, 20,000) rows the scan wins. Measured with
 * bench/filtered.sh, 100k x 128, HNSW ef=64: at 10 % the scan ran 3x faster than the
 * index; at 1 % 15x. */
static bool exact_is_faster(size_t allowed, size_t rows)
{
    size_t small = rows / 5 < 20000 ? rows / 5 : 20000;
    return allowed * 100 < rows * 7 || allowed < small;
}

static qv_err search_index(const segment *g, uint32_t si, const qv_index *ix,
                           const store_query *sq, const uint64_t *allow, heap *heaps,
                           bool *exact, qv_error *err)
{
    const qv_search_opts *o = sq->o;
    size_t n = qv_index_rows(ix), allowed, want;
    uint64_t *bits = qv_calloc(qv_filter_words(n) + 1, sizeof *bits);
    float *dist = NULL;
    int64_t *ids = NULL;
    qv_err rc = QV_OK;

    *exact = false;
    if (!bits)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    allowed = bits_extract(allow, g->first, n, bits);
    if (exact_is_faster(allowed, n)) {
        *exact = true;
        qv_free(bits);
        return QV_OK;
    }
    want = o->k < allowed ? o->k : allowed;
    if (want) {
        qv_index_query q;
        store_query_index(sq, want, bits, &q);
        if (!(dist = qv_malloc(o->nq * want * sizeof *dist)) ||
            !(ids = qv_malloc(o->nq * want * sizeof *ids)))
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        else
            rc = qv_index_search(ix, &q, dist, ids, err);
    }
    /* results are packed, -1 fills the end; a sparse index only returns rows sharing a
     * term with the query, as the exact scan does, so fewer than want is its answer */
    for (size_t q = 0; rc == QV_OK && want && q < o->nq && !*exact && !o->squeries; q++)
        *exact = ids[q * want + want - 1] < 0;
    for (size_t q = 0; rc == QV_OK && want && q < o->nq && !*exact; q++) {
        for (size_t i = 0; i < want && ids[q * want + i] >= 0; i++) {
            float d = dist[q * want + i];
            if (in_range(o, d))
                heap_push(&heaps[q], (cand){key_of(o, d), si,
                                            g->first + (uint64_t)ids[q * want + i]});
        }
    }
    qv_free(ids);
    qv_free(dist);
    qv_free(bits);
    return rc;
}

/* Search shard si: each segment through its index where it has one (its rows then leave
 * the candidate set), then every remaining candidate exactly. */
static qv_err search_shard(const qv_coll_data *c, uint32_t si, const store_query *sq,
                           uint64_t cutoff, qv_column *cols, float *dist, heap *heaps,
                           qv_error *err)
{
    const qv_search_opts *o = sq->o;
    const shard *sh = &c->shards[si];
    size_t rows = sh->rows.rows;
    uint64_t *allow = qv_calloc(qv_filter_words(rows) + 2, sizeof *allow);
    qv_err rc = allow ? shard_allow(c, sh, o, cutoff, allow, cols, err)
                      : qv_error_set(err, QV_ENOMEM, "out of memory");

    for (size_t i = 0; i < sh->nsegs && rc == QV_OK; i++) {
        const segment *g = &sh->segs[i];
        const qv_index *ix = field_index(c, g, o->field);
        bool exact = true;
        if (ix && (rc = search_index(g, si, ix, sq, allow, heaps, &exact, err)) == QV_OK && !exact)
            bits_clear(allow, g->first, g->first + qv_index_rows(ix));
    }
    for (size_t first = 0; first < rows && rc == QV_OK; first += WINDOW_ROWS) {
        size_t n = rows - first < WINDOW_ROWS ? rows - first : WINDOW_ROWS;
        bool any = false;
        for (size_t w = 0; w < qv_filter_words(n) && !any; w++)
            any = allow[first / 64 + w] != 0;
        if (any)
            score_window(sh, si, first, n, sq, allow + first / 64, dist, heaps);
    }
    qv_free(allow);
    return rc;
}

static int cand_order(const void *a, const void *b)
{
    return worse(a, b) ? 1 : worse(b, a) ? -1 : 0;
}

static qv_err collect(qv_coll_data *c, const qv_search_opts *o, heap *heaps,
                      qv_search_result *out, qv_error *err)
{
    size_t total = 0;
    qv_err rc = QV_OK;

    for (size_t q = 0; q < o->nq; q++)
        total += heaps[q].n;
    if (!(out->first = qv_calloc(o->nq + 1, sizeof *out->first)) ||
        !(out->distance = qv_calloc(total ? total : 1, sizeof *out->distance)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t q = 0, at = 0; q < o->nq && rc == QV_OK; q++) {
        qsort(heaps[q].items, heaps[q].n, sizeof(cand), cand_order);
        out->first[q] = at;
        for (size_t i = 0; i < heaps[q].n && rc == QV_OK; i++, at++) {
            uint32_t row = (uint32_t)heaps[q].items[i].row;
            float key = heaps[q].items[i].key;
            out->distance[at] = key_of(o, key);
            rc = qv_rowbatch_append_rows(&out->rows, &c->shards[heaps[q].items[i].shard_ix].rows,
                                         &row, 1, err);
        }
    }
    out->first[o->nq] = total;
    return rc;
}

qv_err qv_coll_search(qv_coll_data *c, const qv_schema *s, const qv_search_opts *o,
                      qv_search_result *out, qv_error *err)
{
    float *dist = qv_malloc(WINDOW_ROWS * sizeof *dist);
    qv_column *cols = qv_calloc(c->schema.field_count, sizeof *cols);
    heap *heaps = qv_calloc(o->nq, sizeof *heaps);
    uint64_t cutoff = store_ttl_cutoff(c);
    size_t locked = 0;
    store_query sq = {0};
    qv_err rc = QV_OK;

    memset(out, 0, sizeof *out);
    if (!dist || !cols || !heaps || qv_rowbatch_init(&out->rows, s) != QV_OK)
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t q = 0; rc == QV_OK && q < o->nq; q++)
        if (!(heaps[q].items = qv_malloc(o->k * sizeof(cand))))
            rc = qv_error_set(err, QV_ENOMEM, "out of memory for %zu hits", o->k);
        else
            heaps[q].k = o->k;
    tl_coll = c;
    /* every shard stays read-locked until the hits are copied: one consistent segment set */
    for (; locked < c->nshards && rc == QV_OK; locked++)
        pthread_rwlock_rdlock(&c->shards[locked].lock);
    if (rc == QV_OK)
        rc = store_query_prepare(c, o, &sq, err);
    for (size_t si = 0; si < c->nshards && rc == QV_OK; si++)
        if (!o->shard_mask || (o->shard_mask >> si & 1))
            rc = search_shard(c, (uint32_t)si, &sq, cutoff, cols, dist, heaps, err);
    if (rc == QV_OK)
        rc = collect(c, o, heaps, out, err);
    while (locked)
        pthread_rwlock_unlock(&c->shards[--locked].lock);
    store_query_fini(&sq);
    for (size_t q = 0; heaps && q < o->nq; q++)
        qv_free(heaps[q].items);
    qv_free(heaps);
    qv_free(cols);
    qv_free(dist);
    if (rc != QV_OK)
        qv_search_result_fini(out);
    return rc;
}

void qv_search_result_fini(qv_search_result *r)
{
    if (!r)
        return;
    qv_free(r->first);
    qv_free(r->distance);
    qv_rowbatch_fini(&r->rows);
    memset(r, 0, sizeof *r);
}
