/* SPDX-License-Identifier: Apache-2.0 */
/* store_read.c - queries over live rows: filter bitmaps per window, visibility,
 * partitions, primary-key order, offset/limit, counts. */
#include <stdlib.h>
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"

#define WINDOW_ROWS 4096 /* a multiple of 64: windows start on bitmap word boundaries */

typedef struct hit {
    uint32_t shard_ix;
    uint64_t row;
} hit;

typedef struct hits {
    hit *items;
    size_t count, cap;
} hits;

static bool hits_push(hits *h, uint32_t shard_ix, uint64_t row)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        hit *items = qv_reallocarray(h->items, cap, sizeof *items);
        if (!items)
            return false;
        h->items = items;
        h->cap = cap;
    }
    h->items[h->count++] = (hit){shard_ix, row};
    return true;
}

static bool in_partitions(const qv_query_opts *o, int64_t part)
{
    if (!o->partitions)
        return true;
    for (size_t i = 0; i < o->npartitions; i++)
        if (o->partitions[i] == part)
            return true;
    return false;
}

/* Collect the live matching rows of one shard (read lock held); rows written at or
 * before cutoff have expired (store_row_expired). */
static qv_err scan_shard(const qv_coll_data *c, uint32_t si, const qv_query_opts *o,
                         uint64_t cutoff, hits *out, uint64_t *count, uint64_t *bits,
                         qv_column *cols, store_pre *sp, qv_error *err)
{
    const shard *sh = &c->shards[si];
    qv_column dyn;
    qv_filter_batch fb;
    qv_err rc;

    for (size_t first = 0, n; first < sh->rows.rows; first += n) {
        n = store_window_rows(sh, first, WINDOW_ROWS);
        if (o->filter && !qv_filter_matches_all(o->filter)) {
            qv_rowbatch_view(&sh->rows, first, n, cols, &dyn, &fb);
            if ((rc = store_pre_window(c, sh, sp, first, &fb, err)) != QV_OK ||
                (rc = qv_filter_eval(o->filter, &fb, bits, err)) != QV_OK)
                return rc;
        } else {
            memset(bits, 0xff, qv_filter_words(n) * sizeof *bits);
        }
        for (size_t w = 0; w < qv_filter_words(n); w++) {
            uint64_t m = bits[w] & ~sh->dead[(first / 64) + w];
            if ((w + 1) * 64 > n)
                m &= (n % 64) ? (1ull << (n % 64)) - 1 : ~0ull;
            while (m) {
                uint64_t row = first + w * 64 + (uint64_t)__builtin_ctzll(m);
                m &= m - 1;
                if (!in_partitions(o, sh->part_ids[row]) || store_row_expired(sh, row, cutoff))
                    continue;
                if (count)
                    (*count)++;
                else if (!hits_push(out, si, row))
                    return qv_error_set(err, QV_ENOMEM, "out of memory collecting results");
            }
        }
    }
    return QV_OK;
}


static _Thread_local const qv_coll_data *sort_coll;

static int cmp_hits(const void *pa, const void *pb)
{
    const hit *a = pa, *b = pb;
    return qv_colbuf_key_cmp(&sort_coll->shards[a->shard_ix].rows.cols[sort_coll->pk_col], a->row,
                             &sort_coll->shards[b->shard_ix].rows.cols[sort_coll->pk_col], b->row);
}

static void lock_all(qv_coll_data *c, bool lock)
{
    for (size_t i = 0; i < c->nshards; i++) {
        if (lock)
            pthread_rwlock_rdlock(&c->shards[i].lock);
        else
            pthread_rwlock_unlock(&c->shards[i].lock);
    }
}

/* Copy hits [offset, offset+limit) into out, shard by shard in pk order. */
static qv_err copy_hits(qv_coll_data *c, const hits *h, const qv_query_opts *o,
                        qv_rowbatch *out, qv_error *err)
{
    size_t from = o->offset < h->count ? (size_t)o->offset : h->count;
    size_t to = o->limit < h->count - from ? from + (size_t)o->limit : h->count;
    qv_err rc = QV_OK;

    for (size_t i = from; i < to && rc == QV_OK; i++) {
        uint32_t row = (uint32_t)h->items[i].row;
        rc = qv_rowbatch_append_rows(out, &c->shards[h->items[i].shard_ix].rows, &row, 1, err);
    }
    return rc;
}

qv_err qv_coll_query(qv_coll_data *c, const qv_schema *s, const qv_query_opts *o,
                     qv_rowbatch *out, uint64_t *count, qv_error *err)
{
    uint64_t *bits = qv_malloc(qv_filter_words(WINDOW_ROWS) * sizeof *bits);
    qv_column *cols = qv_calloc(c->schema.field_count ? c->schema.field_count : 1, sizeof *cols);
    uint64_t cutoff = store_ttl_cutoff(c);
    store_pre sp = {.filter = o->filter};
    hits h = {0};
    qv_err rc = QV_OK;

    if (out)
        memset(out, 0, sizeof *out);
    if (count)
        *count = 0;
    if (!bits || !cols || (out && qv_rowbatch_init(out, s) != QV_OK)) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        goto done;
    }
    lock_all(c, true);
    for (size_t i = 0; i < c->nshards && rc == QV_OK; i++)
        if (!o->shard_mask || (o->shard_mask >> i & 1))
            rc = scan_shard(c, (uint32_t)i, o, cutoff, &h, o->count_only ? count : NULL, bits,
                            cols, &sp, err);
    if (rc == QV_OK && !o->count_only) {
        sort_coll = c;
        if (h.count) /* h.items is NULL without hits */
            qsort(h.items, h.count, sizeof *h.items, cmp_hits);
        rc = copy_hits(c, &h, o, out, err);
    }
    lock_all(c, false);
done:
    store_pre_fini(&sp);
    qv_free(h.items);
    qv_free(bits);
    qv_free(cols);
    return rc;
}

uint64_t qv_coll_count(qv_coll_data *c, int64_t partition_id)
{
    uint64_t n = 0, cutoff = store_ttl_cutoff(c);

    for (size_t i = 0; i < c->nshards; i++) {
        shard *sh = &c->shards[i];
        pthread_rwlock_rdlock(&sh->lock);
        if (partition_id < 0 && !cutoff) {
            n += sh->live;
        } else {
            for (size_t r = 0; r < sh->rows.rows; r++)
                n += !(sh->dead[r / 64] >> (r % 64) & 1) && !store_row_expired(sh, r, cutoff) &&
                     (partition_id < 0 || sh->part_ids[r] == partition_id);
        }
        pthread_rwlock_unlock(&sh->lock);
    }
    return n;
}
