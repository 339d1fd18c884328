/* SPDX-License-Identifier: Apache-2.0 */
/* store_sindex.c - scalar indexes of a collection's sealed segments (INVERTED, STL_SORT,
 * BITMAP, Trie, AUTOINDEX on scalar fields; quiver/scalar_index.h).
 *
 * Each scalar index definition gets a slot; each sealed segment gets, per slot, an index
 * over its rows, built once by the builder thread (a sealed segment never changes) and
 * saved in the same index file envelope as vector indexes (index-<def>-<segment>.qvi), so
 * restarts load it and S3 offload, eviction and cleanup treat both alike. The growing
 * segment has none: filters read its columns. The build copies the segment's column under
 * the shard's read lock, builds without a lock and swaps in under the write lock.
 *
 * Filters use them through store_pre_window: for the windows of a segment with indexes,
 * qv_filter_pre_compute answers the indexable predicates once per segment and query. */
#include <stdio.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/log.h"

#include "db/store_int.h"

/* ---- slots ------------------------------------------------------------------------------ */

static bool is_scalar_def(const qv_coll_data *c, const qv_index_def *d, const qv_field **f)
{
    *f = qv_schema_field(&c->schema, d->field);
    return *f && !qv_type_is_vector((*f)->type);
}

static bool slot_current(const qv_coll_data *c, const qv_collection_info *ci, size_t k)
{
    for (size_t i = 0; i < ci->index_count; i++)
        if (ci->indexes[i].id == c->sslots[k].def_id)
            return true;
    return false;
}

bool store_sindex_current(const qv_coll_data *c, const qv_collection_info *ci, size_t *used)
{
    bool same = true;

    for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES; k++)
        if (c->sslots[k].used) {
            ++*used;
            same &= slot_current(c, ci, k);
        }
    return same;
}

static void drop_slot(qv_coll_data *c, size_t k)
{
    for (size_t si = 0; si < c->nshards; si++)
        for (size_t i = 0; i < c->shards[si].nsegs; i++) {
            segment *g = &c->shards[si].segs[i];
            qv_sindex_free(g->sidx[k]);
            g->sidx[k] = NULL;
            g->sfailed[k] = false;
        }
    qv_sindex_spec_fini(&c->sslots[k].spec);
    memset(&c->sslots[k], 0, sizeof c->sslots[k]);
}

/* The saved index of (slot, segment) if it exists, checks out and fits the segment. */
static qv_sindex *load_sindex(qv_coll_data *c, const sindex_slot *sl, const segment *g)
{
    char path[4096];
    void *data;
    const uint8_t *p;
    size_t len;
    qv_sindex *ix = NULL;
    qv_error err = {0};

    if (!g->sealed || !store_index_file_read(c, sl->def_id, g, &data, &p, &len, path, sizeof path))
        return NULL;
    if (qv_sindex_deserialize(p, len, &ix, &err) != QV_OK) {
        qv_log_warn("index", "%s: %s, rebuilding", path, err.msg);
    } else if (qv_sindex_rows(ix) != g->rows) {
        qv_log_warn("index", "%s covers %zu rows but the segment has %zu, rebuilding", path,
                    qv_sindex_rows(ix), g->rows);
        qv_sindex_free(ix);
        ix = NULL;
    }
    qv_free(data);
    return ix;
}

static void add_slot(qv_coll_data *c, const qv_index_def *d, const qv_field *f)
{
    sindex_slot *sl = NULL;
    qv_error err;
    qv_buf path;

    for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES && !sl; k++)
        if (!c->sslots[k].used)
            sl = &c->sslots[k];
    if (!sl)
        return; /* the API refuses more definitions than slots */
    if (qv_sindex_spec_parse(d->index_type, f->name, f->type, f->element_type, f->is_primary,
                             qv_kvlist_get(&d->params, "json_path"),
                             qv_kvlist_get(&d->params, "json_cast_type"), &sl->spec, &err)) {
        qv_log_warn("index", "index %s: %s", d->name, err.msg);
        return;
    }
    qv_buf_init(&path);
    qv_sindex_path_text(sl->spec.steps, sl->spec.nsteps, &path);
    if (path.len >= sizeof sl->path || qv_buf_status(&path, &err) != QV_OK) {
        qv_log_warn("index", "index %s: json_path too long", d->name);
        qv_buf_fini(&path);
        qv_sindex_spec_fini(&sl->spec);
        return;
    }
    memcpy(sl->path, path.data ? (const char *)path.data : "", path.len);
    sl->path_len = path.len;
    qv_buf_fini(&path);
    sl->used = true;
    sl->def_id = d->id;
    sl->field = (size_t)(f - c->schema.fields);
    for (size_t si = 0; si < c->nshards; si++)
        for (size_t i = 0; i < c->shards[si].nsegs; i++) {
            segment *g = &c->shards[si].segs[i];
            if ((g->sidx[sl - c->sslots] = load_sindex(c, sl, g)))
                atomic_fetch_add(&c->store->istats.loads, 1);
        }
}

void store_sindex_resync(qv_coll_data *c, const qv_collection_info *ci)
{
    for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES; k++)
        if (c->sslots[k].used && !slot_current(c, ci, k))
            drop_slot(c, k);
    for (size_t i = 0; i < ci->index_count; i++) {
        const qv_field *f;
        bool have = false;
        for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES; k++)
            have |= c->sslots[k].used && c->sslots[k].def_id == ci->indexes[i].id;
        if (!have && is_scalar_def(c, &ci->indexes[i], &f))
            add_slot(c, &ci->indexes[i], f);
    }
}

void store_sindex_free_segment(segment *g)
{
    for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES; k++) {
        qv_sindex_free(g->sidx[k]);
        g->sidx[k] = NULL;
        g->sfailed[k] = false;
    }
}

size_t store_index_defs(const qv_coll_data *c, int64_t *out, size_t cap)
{
    size_t n = 0;

    for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++)
        if (c->slots[k].used && n < cap)
            out[n++] = c->slots[k].def_id;
    for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES; k++)
        if (c->sslots[k].used && n < cap)
            out[n++] = c->sslots[k].def_id;
    return n;
}

/* ---- building ------------------------------------------------------------------------------ */

/* A sealed segment's column, copied so the build needs no lock: offsets rebased to 0,
 * the null bitmap re-packed to start at bit 0. */
typedef struct col_copy {
    void *data;
    uint64_t *offsets, *valid;
    size_t rows;
} col_copy;

static void col_copy_fini(col_copy *cc)
{
    qv_free(cc->data);
    qv_free(cc->offsets);
    qv_free(cc->valid);
    memset(cc, 0, sizeof *cc);
}

static bool copy_column(const qv_colbuf *cb, size_t first, size_t rows, col_copy *cc)
{
    size_t words = qv_filter_words(rows);
    size_t from = cb->width ? first * cb->width : (size_t)cb->offsets[first];
    size_t bytes = cb->width ? rows * cb->width : (size_t)(cb->offsets[first + rows] - from);

    memset(cc, 0, sizeof *cc);
    cc->rows = rows;
    if (!(cc->data = qv_malloc(bytes ? bytes : 1)))
        return false;
    memcpy(cc->data, cb->data.data + from, bytes);
    if (!cb->width) {
        if (!(cc->offsets = qv_malloc((rows + 1) * sizeof *cc->offsets)))
            return false;
        for (size_t r = 0; r <= rows; r++)
            cc->offsets[r] = cb->offsets[first + r] - from;
    }
    if (cb->valid) {
        if (!(cc->valid = qv_calloc(words ? words : 1, sizeof *cc->valid)))
            return false;
        for (size_t r = 0; r < rows; r++)
            if (cb->valid[(first + r) >> 6] >> ((first + r) & 63) & 1)
                cc->valid[r >> 6] |= (uint64_t)1 << (r & 63);
    }
    return true;
}

/* The first sealed segment of sh without an index for slot k; its column copied. */
static uint64_t take_input(qv_coll_data *c, shard *sh, size_t k, sindex_slot *sl, col_copy *cc,
                           bool *oom)
{
    uint64_t id = 0;

    pthread_rwlock_rdlock(&sh->lock);
    *sl = c->sslots[k];
    for (size_t i = 0; sl->used && i < sh->nsegs && !id; i++) {
        const segment *g = &sh->segs[i];
        if (!g->sealed || g->sidx[k] || g->sfailed[k])
            continue;
        id = g->id;
        if (!copy_column(&sh->rows.cols[sl->field], g->first, g->rows, cc)) {
            col_copy_fini(cc);
            *oom = true;
        }
    }
    pthread_rwlock_unlock(&sh->lock);
    return id;
}

static void swap_in(qv_coll_data *c, shard *sh, size_t k, int64_t def_id, uint64_t seg_id,
                    qv_sindex *fresh)
{
    segment *g;

    pthread_rwlock_wrlock(&sh->lock);
    g = store_find_segment(sh, seg_id);
    if (g && c->sslots[k].used && c->sslots[k].def_id == def_id && !g->sidx[k]) {
        if (fresh)
            g->sidx[k] = fresh;
        else
            g->sfailed[k] = true;
        fresh = NULL;
    }
    pthread_rwlock_unlock(&sh->lock);
    qv_sindex_free(fresh); /* the definition or the segment is gone */
}

static void build_one(qv_coll_data *c, size_t si, size_t k)
{
    shard *sh = &c->shards[si];
    sindex_slot sl;
    col_copy cc = {0};
    qv_sindex *fresh = NULL;
    qv_error err = {0};
    bool oom = false;
    uint64_t t0 = store_now_ns(), id = take_input(c, sh, k, &sl, &cc, &oom);
    qv_buf b;

    if (!id)
        return;
    if (oom || qv_sindex_build(&sl.spec, cc.data, cc.offsets, cc.valid, cc.rows, &fresh,
                               &err) != QV_OK) {
        atomic_fetch_add(&c->store->istats.failures, 1);
        qv_log_warn("index", "collection %lld segment %llu: scalar index build failed: %s",
                    (long long)c->id, (unsigned long long)id, oom ? "out of memory" : err.msg);
    } else {
        store_index_file_begin(&b, id);
        if (qv_sindex_serialize(fresh, &b, &err) != QV_OK ||
            store_index_file_write(c, sl.def_id, id, &b, &err) != QV_OK)
            qv_log_warn("index", "collection %lld segment %llu: saving the index failed: %s",
                        (long long)c->id, (unsigned long long)id, err.msg);
        qv_buf_fini(&b);
        atomic_fetch_add(&c->store->istats.builds, 1);
        atomic_fetch_add(&c->store->istats.build_ns, store_now_ns() - t0);
    }
    col_copy_fini(&cc);
    swap_in(c, sh, k, sl.def_id, id, fresh);
}

void store_sindex_build_pass(qv_coll_data *c)
{
    for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES; k++)
        for (size_t si = 0; c->sslots[k].used && si < c->nshards; si++)
            build_one(c, si, k);
}

bool store_sindex_progress(qv_coll_data *c, size_t field, uint64_t shard_mask,
                           uint64_t *indexed, uint64_t *total)
{
    bool found = false;

    for (size_t si = 0; si < c->nshards; si++) {
        shard *sh = &c->shards[si];
        if (shard_mask && !(shard_mask >> si & 1))
            continue;
        pthread_rwlock_rdlock(&sh->lock);
        for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES; k++) {
            if (!c->sslots[k].used || c->sslots[k].field != field)
                continue;
            found = true;
            /* like Milvus: the rows of sealed segments; the growing one is read directly */
            for (size_t i = 0; i < sh->nsegs; i++) {
                const segment *g = &sh->segs[i];
                *total += g->sealed ? g->rows : 0;
                *indexed += g->sealed && (g->sidx[k] || g->sfailed[k]) ? g->rows : 0;
            }
            break;
        }
        pthread_rwlock_unlock(&sh->lock);
    }
    return found;
}

/* ---- filters ----------------------------------------------------------------------------------- */

static const segment *segment_at(const shard *sh, size_t row)
{
    size_t lo = 0, hi = sh->nsegs;

    while (lo < hi) { /* the last segment whose first row is <= row */
        size_t mid = lo + (hi - lo) / 2;
        if (sh->segs[mid].first <= row)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &sh->segs[lo - 1] : NULL;
}

size_t store_window_rows(const shard *sh, size_t first, size_t max)
{
    const segment *g = segment_at(sh, first);
    size_t n = sh->rows.rows - first < max ? sh->rows.rows - first : max;
    size_t end = g ? g->first + g->rows : 0;

    if (!g || end <= first || end >= first + n)
        return n;
    if (end / 64 * 64 > first) /* stop at the boundary's word */
        return end / 64 * 64 - first;
    n = (end + 63) / 64 * 64 - first; /* the word holding the boundary, on its own */
    return n < sh->rows.rows - first ? n : sh->rows.rows - first;
}

static qv_err compute(const qv_coll_data *c, const segment *g, store_pre *sp, qv_error *err)
{
    qv_filter_index fi[QV_MAX_SCALAR_INDEXES];
    size_t n = 0;

    qv_filter_pre_free(sp->pre);
    sp->pre = NULL;
    sp->seg_id = g->id;
    sp->have = true;
    for (size_t k = 0; k < QV_MAX_SCALAR_INDEXES; k++)
        if (c->sslots[k].used && g->sidx[k])
            fi[n++] = (qv_filter_index){c->sslots[k].field, c->sslots[k].path,
                                        c->sslots[k].path_len, g->sidx[k]};
    return n ? qv_filter_pre_compute(sp->filter, fi, n, g->rows, &sp->pre, err) : QV_OK;
}

qv_err store_pre_window(const qv_coll_data *c, const shard *sh, store_pre *sp, size_t first,
                        qv_filter_batch *fb, qv_error *err)
{
    const segment *g;
    qv_err rc;

    fb->pre = NULL;
    if (!qv_filter_indexable(sp->filter) || !(g = segment_at(sh, first)) || !g->sealed ||
        first + fb->rows > g->first + g->rows)
        return QV_OK;
    if ((!sp->have || sp->seg_id != g->id) && (rc = compute(c, g, sp, err)) != QV_OK)
        return rc;
    fb->pre = sp->pre;
    fb->pre_offset = first - g->first;
    return QV_OK;
}

void store_pre_fini(store_pre *sp)
{
    qv_filter_pre_free(sp->pre);
    sp->pre = NULL;
    sp->have = false;
}
