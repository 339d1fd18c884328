/* SPDX-License-Identifier: Apache-2.0 */
/* sparse_index.c - the inverted index behind SPARSE_INVERTED_INDEX and SPARSE_WAND.
 *
 * One posting list per dimension (term): ascending document ids with their values, cut
 * into blocks of BLOCK postings, each summarised by its last id, its largest and smallest
 * value and (BM25) its shortest document. A hash table maps a term to its list.
 *
 * SPARSE_INVERTED_INDEX searches term at a time: every posting of every query term adds
 * its share to a per-document accumulator, then the k best touched documents win.
 * SPARSE_WAND searches document at a time with Block-Max WAND (Ding & Suel, "Faster top-k
 * document retrieval using block-max indexes", SIGIR 2011): cursors sorted by current
 * document; the pivot is the first cursor at which the sum of the terms' upper bounds
 * passes the k-th best score so far; a pivot whose blocks' bounds still cannot pass it
 * lets every cursor jump past the nearest block end. Upper bounds are never negative
 * (a term a document lacks contributes nothing), so both are exact: they return the same
 * hits as brute force. A BM25 bound is the saturated frequency of the largest tf with the
 * shortest document length, since tf*(k1+1)/(tf + k1*(1-b+b*dl/avgdl)) grows with tf and
 * shrinks with dl.
 *
 * Serialized form (inside the index file, after qv_index's header):
 *   u8 flags (1: BM25), f32 drop_ratio_build, u64 documents,
 *   BM25 only: documents x f32 length,
 *   u64 lists, per list: u32 term, u64 n, n x u32 document, n x f32 value.
 * Block summaries are rebuilt on load. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index_int.h"
#include "quiver/alloc.h"

#define BLOCK 64
#define END UINT32_MAX

typedef struct plist {
    uint32_t term;
    uint32_t *docs;
    float *vals;
    size_t n, cap;
    float *bmax, *bmin, *bmin_dl; /* per block */
    size_t nblocks, bcap;
} plist;

struct sparse_index {
    bool bm25;
    float drop;
    plist *lists;
    size_t nlists, lcap;
    uint32_t *table; /* open addressing, power-of-two size: list index + 1, 0 = empty */
    size_t tcap;
    float *dl; /* BM25: document lengths */
    size_t ndocs, dcap;
};

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    return x ^ (x >> 16);
}

static plist *find_list(const sparse_index *ix, uint32_t term)
{
    if (!ix->tcap)
        return NULL;
    for (size_t i = mix(term) & (ix->tcap - 1);; i = (i + 1) & (ix->tcap - 1)) {
        uint32_t v = ix->table[i];
        if (!v)
            return NULL;
        if (ix->lists[v - 1].term == term)
            return &ix->lists[v - 1];
    } /* the table is never more than half full: an empty slot ends the probe */
}

static bool rehash(sparse_index *ix, size_t cap)
{
    uint32_t *t = qv_calloc(cap, sizeof *t);

    if (!t)
        return false;
    for (size_t l = 0; l < ix->nlists; l++) {
        size_t i = mix(ix->lists[l].term) & (cap - 1);
        while (t[i])
            i = (i + 1) & (cap - 1);
        t[i] = (uint32_t)l + 1;
    }
    qv_free(ix->table);
    ix->table = t;
    ix->tcap = cap;
    return true;
}

static bool grow(void **p, size_t *cap, size_t want, size_t size)
{
    size_t c = *cap ? *cap : 4;
    void *v;

    if (want <= *cap)
        return true;
    while (c < want)
        c *= 2;
    if (!(v = qv_reallocarray(*p, c, size)))
        return false;
    *p = v;
    *cap = c;
    return true;
}

static plist *list_for(sparse_index *ix, uint32_t term)
{
    plist *l = find_list(ix, term);

    if (l)
        return l;
    if (!grow((void **)&ix->lists, &ix->lcap, ix->nlists + 1, sizeof *ix->lists))
        return NULL;
    if ((ix->nlists + 1) * 2 > ix->tcap && !rehash(ix, ix->tcap ? ix->tcap * 2 : 128))
        return NULL;
    l = &ix->lists[ix->nlists];
    memset(l, 0, sizeof *l);
    l->term = term;
    ix->nlists++;
    {
        size_t i = mix(term) & (ix->tcap - 1);
        while (ix->table[i])
            i = (i + 1) & (ix->tcap - 1);
        ix->table[i] = (uint32_t)ix->nlists;
    }
    return l;
}


/* Grow the parallel arrays a and b (element size sa, sb) sharing capacity *cap. */
static bool grow2(void **a, size_t sa, void **b, size_t sb, size_t *cap, size_t want)
{
    size_t ca = *cap, cb = *cap;

    if (!grow(a, &ca, want, sa) || !grow(b, &cb, want, sb))
        return false;
    *cap = ca;
    return true;
}

static bool list_append(plist *l, uint32_t doc, float v, float dl)
{
    size_t b = l->n / BLOCK;

    if (!grow2((void **)&l->docs, sizeof *l->docs, (void **)&l->vals, sizeof *l->vals, &l->cap,
               l->n + 1))
        return false;
    if (b == l->nblocks) {
        size_t cap = l->bcap;
        if (!grow2((void **)&l->bmax, sizeof *l->bmax, (void **)&l->bmin, sizeof *l->bmin, &cap,
                   b + 1) ||
            !grow((void **)&l->bmin_dl, &l->bcap, b + 1, sizeof *l->bmin_dl))
            return false;
        l->bmax[b] = l->bmin[b] = v;
        l->bmin_dl[b] = dl;
        l->nblocks++;
    }
    l->bmax[b] = fmaxf(l->bmax[b], v);
    l->bmin[b] = fminf(l->bmin[b], v);
    l->bmin_dl[b] = fminf(l->bmin_dl[b], dl);
    l->docs[l->n] = doc;
    l->vals[l->n++] = v;
    return true;
}

qv_err sparse_index_new(bool bm25, float drop_ratio_build, sparse_index **out, qv_error *err)
{
    sparse_index *ix = qv_calloc(1, sizeof *ix);

    if (!ix)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    ix->bm25 = bm25;
    ix->drop = drop_ratio_build;
    *out = ix;
    return QV_OK;
}

void sparse_index_free(sparse_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->nlists; i++) {
        plist *l = &ix->lists[i];
        qv_free(l->docs);
        qv_free(l->vals);
        qv_free(l->bmax);
        qv_free(l->bmin);
        qv_free(l->bmin_dl);
    }
    qv_free(ix->lists);
    qv_free(ix->table);
    qv_free(ix->dl);
    qv_free(ix);
}

size_t sparse_index_rows(const sparse_index *ix) { return ix ? ix->ndocs : 0; }

static qv_err add_one(sparse_index *ix, qv_sparse_vec d, uint32_t *sidx, float *sval,
                      qv_error *err)
{
    float dl = ix->bm25 ? qv_sparse_sum(d) : 0;
    uint32_t id = (uint32_t)ix->ndocs;

    if (ix->ndocs >= END - 1)
        return qv_error_set(err, QV_EINVAL, "sparse index: too many rows");
    if (ix->bm25 && !grow((void **)&ix->dl, &ix->dcap, ix->ndocs + 1, sizeof *ix->dl))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    if (ix->drop > 0) {
        d.nnz = qv_sparse_drop_small(d, ix->drop, sidx, sval);
        d.idx = sidx;
        d.val = sval;
    }
    for (size_t i = 0; i < d.nnz; i++) {
        plist *l = list_for(ix, d.idx[i]);
        if (!l || !list_append(l, id, d.val[i], dl))
            return qv_error_set(err, QV_ENOMEM, "out of memory building a sparse index");
    }
    if (ix->bm25)
        ix->dl[id] = dl;
    ix->ndocs++;
    return QV_OK;
}

qv_err sparse_index_add(sparse_index *ix, const qv_sparse_vec *docs, size_t n, qv_error *err)
{
    size_t most = 1;
    uint32_t *sidx;
    float *sval;
    qv_err rc = QV_OK;

    for (size_t i = 0; i < n; i++)
        most = docs[i].nnz > most ? docs[i].nnz : most;
    sidx = qv_malloc(most * sizeof *sidx);
    sval = qv_malloc(most * sizeof *sval);
    if (!sidx || !sval)
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == QV_OK; i++)
        rc = add_one(ix, docs[i], sidx, sval, err);
    qv_free(sidx);
    qv_free(sval);
    return rc;
}

/* ---- top-k ----------------------------------------------------------------------------- */

typedef struct topk {
    float *score;
    int64_t *id;
    size_t n, k;
} topk;

/* (sa, ia) worse than (sb, ib): lower score, or the same score and a higher id. */
static bool worse(float sa, int64_t ia, float sb, int64_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

static void heap_swap(topk *h, size_t a, size_t b)
{
    float s = h->score[a];
    int64_t i = h->id[a];
    h->score[a] = h->score[b];
    h->id[a] = h->id[b];
    h->score[b] = s;
    h->id[b] = i;
}

static void sift_down(topk *h, size_t i, size_t n)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(h->score[l], h->id[l], h->score[m], h->id[m]))
            m = l;
        if (r < n && worse(h->score[r], h->id[r], h->score[m], h->id[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

/* The root is the worst kept hit. */
static void offer(topk *h, float s, int64_t id)
{
    if (h->n == h->k) {
        if (!worse(h->score[0], h->id[0], s, id))
            return;
        h->score[0] = s;
        h->id[0] = id;
        sift_down(h, 0, h->n);
        return;
    }
    size_t i = h->n++;
    h->score[i] = s;
    h->id[i] = id;
    while (i && worse(h->score[i], h->id[i], h->score[(i - 1) / 2], h->id[(i - 1) / 2])) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void finish(topk *h)
{
    for (size_t n = h->n; n > 1; n--) { /* worst to the back, then the order is best first */
        heap_swap(h, 0, n - 1);
        sift_down(h, 0, n - 1);
    }
    for (size_t i = h->n; i < h->k; i++) {
        h->score[i] = -INFINITY;
        h->id[i] = -1;
    }
}

static bool allowed(const uint64_t *allow, uint32_t d)
{
    return !allow || (allow[d / 64] >> (d % 64) & 1);
}

static float contribution(const sparse_index *ix, const sparse_query *q, float w, float v,
                          uint32_t d)
{
    return ix->bm25 ? w * qv_bm25_tf(q->bm25, v, ix->dl[d]) : w * v;
}

/* ---- term at a time ------------------------------------------------------------------- */

static qv_err search_taat(const sparse_index *ix, const sparse_query *q, topk *h, qv_error *err)
{
    float *acc = qv_calloc(ix->ndocs ? ix->ndocs : 1, sizeof *acc);
    uint64_t *seen = qv_calloc((ix->ndocs + 63) / 64 + 1, sizeof *seen);

    if (!acc || !seen) {
        qv_free(acc);
        qv_free(seen);
        return qv_error_set(err, QV_ENOMEM, "out of memory for a sparse search");
    }
    for (size_t t = 0; t < q->q.nnz; t++) {
        const plist *l = find_list(ix, q->q.idx[t]);
        float w = q->q.val[t];
        for (size_t p = 0; l && p < l->n; p++) {
            uint32_t d = l->docs[p];
            if (!allowed(q->allow, d))
                continue;
            acc[d] += contribution(ix, q, w, l->vals[p], d);
            seen[d / 64] |= 1ull << (d % 64);
        }
    }
    for (size_t wd = 0; wd < (ix->ndocs + 63) / 64; wd++)
        for (uint64_t m = seen[wd]; m; m &= m - 1) {
            uint32_t d = (uint32_t)(wd * 64 + (size_t)__builtin_ctzll(m));
            offer(h, acc[d], d);
        }
    qv_free(acc);
    qv_free(seen);
    return QV_OK;
}

/* ---- block-max WAND ------------------------------------------------------------------- */

typedef struct cursor {
    const plist *l;
    size_t pos, blk;
    float w, ub;
} cursor;

static uint32_t cur_doc(const cursor *c) { return c->pos < c->l->n ? c->l->docs[c->pos] : END; }

static uint32_t block_last(const plist *l, size_t b)
{
    size_t last = (b + 1) * BLOCK - 1;
    return l->docs[last < l->n ? last : l->n - 1];
}

/* An upper bound (never negative) of weight w times any value of block b, or of the
 * whole list when b == SIZE_MAX. */
static float bound(const sparse_index *ix, const sparse_query *q, const plist *l, float w,
                   size_t b)
{
    float mx = -INFINITY, mn = INFINITY, mindl = INFINITY, u;
    size_t from = b == SIZE_MAX ? 0 : b, to = b == SIZE_MAX ? l->nblocks : b + 1;

    for (size_t i = from; i < to; i++) {
        mx = fmaxf(mx, l->bmax[i]);
        mn = fminf(mn, l->bmin[i]);
        mindl = fminf(mindl, l->bmin_dl[i]);
    }
    if (ix->bm25)
        u = w * qv_bm25_tf(q->bm25, mx, mindl);
    else
        u = w >= 0 ? w * mx : w * mn;
    return u > 0 ? u * (1 + 1e-6f) : 0; /* slack for summation order */
}

/* Move c to its first posting with a document >= target. */
static void seek(cursor *c, uint32_t target)
{
    const plist *l = c->l;
    size_t lo, hi;

    if (target == END) {
        c->pos = l->n;
        return;
    }
    while (c->pos / BLOCK < l->nblocks && block_last(l, c->pos / BLOCK) < target)
        c->pos = (c->pos / BLOCK + 1) * BLOCK;
    if (c->pos >= l->n) {
        c->pos = l->n;
        return;
    }
    lo = c->pos;
    hi = (c->pos / BLOCK + 1) * BLOCK < l->n ? (c->pos / BLOCK + 1) * BLOCK : l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->docs[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    c->pos = lo;
}

static void sort_cursors(cursor *c, size_t n)
{
    for (size_t i = 1; i < n; i++) { /* nearly sorted between steps: insertion sort */
        cursor x = c[i];
        size_t j = i;
        while (j && cur_doc(&c[j - 1]) > cur_doc(&x)) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

/* The block bound of the cursors [0, p] at document d, and in *next the first document
 * after d where one of their blocks ends (or cursor p+1 starts). */
static float block_bound(const sparse_index *ix, const sparse_query *q, cursor *c, size_t n,
                         size_t p, uint32_t d, uint32_t *next)
{
    float sum = 0;

    *next = p + 1 < n ? cur_doc(&c[p + 1]) : END;
    for (size_t i = 0; i <= p; i++) {
        const plist *l = c[i].l;
        if (c[i].blk < c[i].pos / BLOCK)
            c[i].blk = c[i].pos / BLOCK;
        while (c[i].blk < l->nblocks && block_last(l, c[i].blk) < d)
            c[i].blk++;
        if (c[i].blk == l->nblocks)
            continue;
        sum += bound(ix, q, l, c[i].w, c[i].blk);
        if (block_last(l, c[i].blk) + 1 < *next)
            *next = block_last(l, c[i].blk) + 1;
    }
    return sum;
}

static void wand_loop(const sparse_index *ix, const sparse_query *q, cursor *c, size_t n,
                      topk *h)
{
    for (;;) {
        float theta = h->n == h->k ? h->score[0] : -INFINITY, acc = 0;
        size_t p = SIZE_MAX;
        uint32_t d, next;

        sort_cursors(c, n);
        for (size_t i = 0; i < n && cur_doc(&c[i]) != END; i++) {
            acc += c[i].ub;
            if (acc > theta) {
                p = i;
                break;
            }
        }
        if (p == SIZE_MAX)
            return;
        d = cur_doc(&c[p]);
        while (p + 1 < n && cur_doc(&c[p + 1]) == d)
            p++;
        if (h->n == h->k && block_bound(ix, q, c, n, p, d, &next) <= theta) {
            for (size_t i = 0; i <= p; i++)
                seek(&c[i], next); /* nothing in [d, next) can make the top k */
            continue;
        }
        if (cur_doc(&c[0]) != d) { /* documents before d cannot make it */
            for (size_t i = 0; i < p && cur_doc(&c[i]) < d; i++)
                seek(&c[i], d);
            continue;
        }
        if (allowed(q->allow, d)) {
            float s = 0;
            for (size_t i = 0; i <= p; i++)
                s += contribution(ix, q, c[i].w, c[i].l->vals[c[i].pos], d);
            offer(h, s, d);
        }
        for (size_t i = 0; i <= p; i++)
            c[i].pos++;
    }
}

static qv_err search_wand(const sparse_index *ix, const sparse_query *q, topk *h, qv_error *err)
{
    cursor *c = qv_calloc(q->q.nnz ? q->q.nnz : 1, sizeof *c);
    size_t n = 0;

    if (!c)
        return qv_error_set(err, QV_ENOMEM, "out of memory for a sparse search");
    for (size_t t = 0; t < q->q.nnz; t++) {
        const plist *l = find_list(ix, q->q.idx[t]);
        if (!l || !l->n)
            continue;
        c[n] = (cursor){.l = l, .w = q->q.val[t]};
        c[n].ub = bound(ix, q, l, c[n].w, SIZE_MAX);
        n++;
    }
    wand_loop(ix, q, c, n, h);
    qv_free(c);
    return QV_OK;
}

qv_err sparse_index_search(const sparse_index *ix, const sparse_query *q, float *dist,
                           int64_t *ids, qv_error *err)
{
    topk h = {.score = dist, .id = ids, .k = q->k};
    qv_err rc;

    if (ix->bm25 && (!q->bm25 || !(q->bm25->avgdl > 0)))
        return qv_error_set(err, QV_EINVAL, "sparse search: BM25 needs the average length");
    rc = q->wand ? search_wand(ix, q, &h, err) : search_taat(ix, q, &h, err);
    if (rc == QV_OK)
        finish(&h);
    return rc;
}

/* ---- serialization ---------------------------------------------------------------------- */

static void put_f32(qv_buf *b, float v)
{
    uint32_t x;
    memcpy(&x, &v, 4);
    qv_buf_put_u32(b, x);
}

static float get_f32(qv_reader *r)
{
    uint32_t x = qv_reader_u32(r);
    float v;
    memcpy(&v, &x, 4);
    return v;
}

qv_err sparse_index_serialize(const sparse_index *ix, qv_buf *out, qv_error *err)
{
    qv_buf_put_u8(out, ix->bm25);
    put_f32(out, ix->drop);
    qv_buf_put_u64(out, ix->ndocs);
    for (size_t i = 0; ix->bm25 && i < ix->ndocs; i++)
        put_f32(out, ix->dl[i]);
    qv_buf_put_u64(out, ix->nlists);
    for (size_t i = 0; i < ix->nlists; i++) {
        const plist *l = &ix->lists[i];
        qv_buf_put_u32(out, l->term);
        qv_buf_put_u64(out, l->n);
        for (size_t p = 0; p < l->n; p++)
            qv_buf_put_u32(out, l->docs[p]);
        for (size_t p = 0; p < l->n; p++)
            put_f32(out, l->vals[p]);
    }
    return qv_buf_status(out, err);
}

static qv_err read_list(qv_reader *r, sparse_index *ix, qv_error *err)
{
    uint32_t term = qv_reader_u32(r), prev = 0;
    uint64_t n = qv_reader_u64(r);
    size_t at = r->pos;
    plist *l;

    if (r->failed || n > (r->len - r->pos) / 8 || find_list(ix, term))
        return qv_error_set(err, QV_ECORRUPT, "sparse index: bad posting list");
    if (!(l = list_for(ix, term)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (uint64_t p = 0; p < n; p++) {
        uint32_t d;
        float v;
        r->pos = at + 4 * p;
        d = qv_reader_u32(r);
        r->pos = at + 4 * n + 4 * p;
        v = get_f32(r);
        if (d >= ix->ndocs || (p && d <= prev))
            return qv_error_set(err, QV_ECORRUPT, "sparse index: bad posting");
        if (!list_append(l, d, v, ix->bm25 ? ix->dl[d] : 0))
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        prev = d;
    }
    r->pos = at + 8 * n;
    return QV_OK;
}

qv_err sparse_index_deserialize(const void *p, size_t len, sparse_index **out, qv_error *err)
{
    qv_reader r;
    sparse_index *ix;
    uint64_t docs, lists;
    bool bm25;
    float drop;
    qv_err rc = QV_OK;

    qv_reader_init(&r, p, len);
    bm25 = qv_reader_u8(&r) & 1;
    drop = get_f32(&r);
    docs = qv_reader_u64(&r);
    if (r.failed || docs >= END || (bm25 && docs > (r.len - r.pos) / 4))
        return qv_error_set(err, QV_ECORRUPT, "sparse index: bad header");
    if ((rc = sparse_index_new(bm25, drop, &ix, err)) != QV_OK)
        return rc;
    ix->ndocs = docs;
    if (bm25 && !grow((void **)&ix->dl, &ix->dcap, docs + 1, sizeof *ix->dl))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (uint64_t i = 0; rc == QV_OK && bm25 && i < docs; i++)
        ix->dl[i] = get_f32(&r);
    lists = qv_reader_u64(&r);
    if (rc == QV_OK && (r.failed || lists > (r.len - r.pos) / 12))
        rc = qv_error_set(err, QV_ECORRUPT, "sparse index: bad list count");
    for (uint64_t i = 0; rc == QV_OK && i < lists; i++)
        rc = read_list(&r, ix, err);
    if (rc == QV_OK && (r.failed || r.pos != r.len))
        rc = qv_error_set(err, QV_ECORRUPT, "sparse index: truncated or trailing bytes");
    if (rc != QV_OK) {
        sparse_index_free(ix);
        return rc;
    }
    *out = ix;
    return QV_OK;
}
