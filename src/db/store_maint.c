/* SPDX-License-Identifier: Apache-2.0 */
/* store_maint.c - sealing and compaction, and the thread that does both by itself.
 *
 * Sealing cuts every shard's growing segment at the applied LSN (under seq_lock, so no
 * record is half applied): the cut segment becomes sealed and keeps its id (and any index
 * built over it), a new empty growing segment follows. store_persist then writes the new
 * segment files and the manifest, and truncates the WAL behind the cut.
 *
 * Compaction works on sealed segments only, shard by shard under the shard's write lock:
 * a segment holding dead rows (manual compaction: any; automatic: at least
 * AUTO_MIN_DEAD rows making up a fifth of it) is rewritten without them, and runs of
 * neighbouring small segments (under half the seal size) are merged into one, up to the
 * seal size. Other segments keep their ids, files and indexes; rows are renumbered, which
 * indexes do not see (they number rows within their segment). Automatic merging starts
 * once a shard has AUTO_MERGE_SEGMENTS small sealed segments. */
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

#define MAINT_TICK_MS 100
#define AUTO_MIN_DEAD 4096
#define AUTO_MERGE_SEGMENTS 8
#define KEEP (-1)

static bool row_dead(const shard *sh, size_t r) { return sh->dead[r / 64] >> (r % 64) & 1; }

/* Rows of g that are dead or, with a TTL cutoff, expired (dead for compaction). */
static size_t segment_dead(const shard *sh, const segment *g, uint64_t cutoff)
{
    size_t n = 0;
    for (size_t r = g->first; r < g->first + g->rows; r++)
        n += row_dead(sh, r) || store_row_expired(sh, r, cutoff);
    return n;
}

/* Delete the expired rows of sh's sealed segments (write lock held), so the rewrite
 * purges them; from here on they are dead like deleted rows. */
static void expire_sealed(qv_coll_data *c, shard *sh, uint64_t cutoff)
{
    size_t end = sh->segs[sh->nsegs - 1].first;

    for (size_t r = 0; cutoff && r < end; r++)
        if (store_row_expired(sh, r, cutoff))
            store_kill_row(c, sh, r);
}

/* ---- sealing ------------------------------------------------------------------------- */

void store_release_growing(qv_coll_data *c)
{
    qv_store *s = c->store;
    uint64_t bytes = atomic_exchange(&c->growing_bytes, 0);

    atomic_fetch_sub(&s->growing_bytes, bytes);
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->room);
    pthread_mutex_unlock(&s->lock);
}

qv_err store_cut_locked(qv_coll_data *c, qv_error *err)
{
    qv_wal_counters wc;
    qv_err rc = QV_OK;

    for (size_t si = 0; si < c->nshards && rc == QV_OK; si++) {
        shard *sh = &c->shards[si];
        pthread_rwlock_wrlock(&sh->lock);
        if (sh->segs[sh->nsegs - 1].rows &&
            (rc = store_append_segment(sh, c->next_seg_id, err)) == QV_OK) {
            sh->segs[sh->nsegs - 2].sealed = true;
            c->next_seg_id++;
        }
        pthread_rwlock_unlock(&sh->lock);
    }
    if (rc == QV_OK) {
        c->manifest_lsn = c->applied_lsn;
        qv_wal_stats(c->wal, &wc);
        c->manifest_wal_bytes = wc.append_bytes;
    }
    return rc;
}

/* Seal every non-empty growing segment at the applied LSN (maint_lock held). */
static qv_err cut(qv_coll_data *c, qv_error *err)
{
    qv_err rc;

    pthread_mutex_lock(&c->seq_lock); /* records are applied under it: none is half done */
    rc = store_cut_locked(c, err);
    pthread_mutex_unlock(&c->seq_lock);
    if (rc == QV_OK)
        store_release_growing(c);
    return rc;
}

qv_err store_seal(qv_coll_data *c, qv_error *err)
{
    qv_err rc;

    pthread_mutex_lock(&c->maint_lock);
    if ((rc = cut(c, err)) == QV_OK)
        rc = store_persist(c, err);
    pthread_mutex_unlock(&c->maint_lock);
    if (rc == QV_OK)
        atomic_fetch_add(&c->store->sstats.seals, 1);
    return rc;
}

/* ---- compaction ---------------------------------------------------------------------- */

/* Group of each sealed segment of sh: KEEP, or the run it is rewritten with. Returns the
 * number of runs to rewrite (read lock held); rows expired at cutoff count as dead. */
static size_t plan(const qv_coll_data *c, const shard *sh, bool manual, uint64_t cutoff,
                   int *group)
{
    uint64_t max_rows = c->store->opts.segment_max_rows;
    size_t nsealed = sh->nsegs - 1, small = 0, runs = 0;
    bool merge = manual;

    for (size_t i = 0; i < nsealed; i++)
        small += sh->segs[i].rows < max_rows / 2;
    merge |= small >= AUTO_MERGE_SEGMENTS;
    for (size_t i = 0; i < nsealed;) {
        size_t j = i, live = 0;
        bool dirty = false;
        /* the longest run from i of small or dirty segments fitting the seal size */
        while (j < nsealed) {
            const segment *g = &sh->segs[j];
            size_t dead = segment_dead(sh, g, cutoff);
            bool d = dead && (manual || (dead >= AUTO_MIN_DEAD && dead * 5 >= g->rows));
            bool s = g->rows < max_rows / 2;
            if ((!d && !s) || (j > i && live + g->rows - dead > max_rows))
                break;
            dirty |= d;
            live += g->rows - dead;
            j++;
        }
        if (j == i)
            j = i + 1; /* a big clean segment stays */
        bool rewrite = dirty || (merge && j - i >= 2);
        for (size_t k = i; k < j; k++)
            group[k] = rewrite ? (int)runs : KEEP;
        runs += rewrite;
        i = j;
    }
    return runs;
}

/* The shard's new arrays: the kept rows of every segment in order. */
typedef struct rebuilt {
    qv_rowbatch rows;
    int64_t *parts;
    uint64_t *lsns, *times, *dead;
    segment *segs;
    size_t nsegs, cap;
} rebuilt;

static qv_err copy_rows(const qv_coll_data *c, shard *sh, const int *group, rebuilt *nb,
                        uint32_t *keep, size_t *nkeep, qv_error *err)
{
    size_t n = 0;

    for (size_t i = 0; i < sh->nsegs; i++) {
        const segment *g = &sh->segs[i];
        bool rewrite = i < sh->nsegs - 1 && group[i] != KEEP;
        for (size_t r = g->first; r < g->first + g->rows; r++)
            if (!rewrite || !row_dead(sh, r))
                keep[n++] = (uint32_t)r;
    }
    *nkeep = n;
    if (qv_rowbatch_init(&nb->rows, &c->schema) != QV_OK ||
        !(nb->parts = qv_malloc((n + 1) * sizeof *nb->parts)) ||
        !(nb->lsns = qv_malloc((n + 1) * sizeof *nb->lsns)) ||
        !(nb->times = qv_malloc((n + 1) * sizeof *nb->times)) ||
        !(nb->dead = qv_calloc(qv_filter_words(n + 1), sizeof *nb->dead)) ||
        !(nb->segs = qv_calloc(sh->nsegs, sizeof *nb->segs)))
        return qv_error_set(err, QV_ENOMEM, "out of memory compacting");
    for (size_t i = 0; i < n; i++) {
        nb->parts[i] = sh->part_ids[keep[i]];
        nb->lsns[i] = sh->row_lsn[keep[i]];
        nb->times[i] = sh->row_ts[keep[i]];
        if (row_dead(sh, keep[i]))
            nb->dead[i / 64] |= 1ull << (i % 64);
    }
    return qv_rowbatch_append_rows(&nb->rows, &sh->rows, keep, n, err);
}

/* New segment list: kept segments as they were (moved), each rewritten run as one new
 * sealed segment. */
static void relist(qv_coll_data *c, shard *sh, const int *group, rebuilt *nb)
{
    size_t at = 0;
    int last = KEEP;

    for (size_t i = 0; i < sh->nsegs; i++) {
        segment *g = &sh->segs[i];
        bool rewrite = i < sh->nsegs - 1 && group[i] != KEEP;
        size_t live = rewrite ? g->rows - segment_dead(sh, g, 0) : g->rows;
        if (rewrite) {
            if (group[i] != last) {
                nb->segs[nb->nsegs++] = (segment){.id = c->next_seg_id++, .first = at,
                                                  .sealed = true};
                last = group[i];
            }
            nb->segs[nb->nsegs - 1].rows += live;
            store_free_segment_indexes(g);
        } else {
            nb->segs[nb->nsegs] = *g;
            nb->segs[nb->nsegs++].first = at;
            last = KEEP;
        }
        at += live;
    }
}

static void rebuilt_fini(rebuilt *nb)
{
    qv_rowbatch_fini(&nb->rows);
    qv_free(nb->parts);
    qv_free(nb->lsns);
    qv_free(nb->times);
    qv_free(nb->dead);
    qv_free(nb->segs);
}

/* Rewrite shard sh by its plan (write lock and maint_lock held). */
static qv_err compact_shard(qv_coll_data *c, shard *sh, const int *group, uint64_t *purged,
                            qv_error *err)
{
    size_t rows = sh->rows.rows, nkeep = 0, old_segs = sh->nsegs;
    uint32_t *keep = qv_malloc((rows + 1) * sizeof *keep);
    rebuilt nb = {0};
    qv_err rc = keep ? copy_rows(c, sh, group, &nb, keep, &nkeep, err)
                     : qv_error_set(err, QV_ENOMEM, "out of memory compacting");

    qv_free(keep);
    if (rc != QV_OK) {
        rebuilt_fini(&nb);
        return rc; /* nothing changed */
    }
    relist(c, sh, group, &nb);
    qv_rowbatch_fini(&sh->rows);
    qv_free(sh->part_ids);
    qv_free(sh->row_lsn);
    qv_free(sh->row_ts);
    qv_free(sh->dead);
    qv_free(sh->segs);
    sh->rows = nb.rows;
    sh->part_ids = nb.parts;
    sh->row_lsn = nb.lsns;
    sh->row_ts = nb.times;
    sh->dead = nb.dead;
    sh->meta_cap = nkeep + 1;
    sh->segs = nb.segs;
    sh->nsegs = nb.nsegs;
    sh->segs_cap = old_segs; /* nb.segs has room for as many as before */
    *purged += rows - nkeep;
    pkmap_fini(&sh->pk);
    pkmap_init(&sh->pk);
    return store_reindex_keys(c, sh, err);
}

/* Plan and rewrite every shard; *changed when some shard was rewritten. */
static qv_err compact_shards(qv_coll_data *c, bool manual, uint64_t *purged, bool *changed,
                             qv_error *err)
{
    uint64_t cutoff = store_ttl_cutoff(c);
    qv_err rc = QV_OK;

    for (size_t si = 0; si < c->nshards && rc == QV_OK; si++) {
        shard *sh = &c->shards[si];
        int *group;
        pthread_rwlock_wrlock(&sh->lock);
        if (!(group = qv_malloc(sh->nsegs * sizeof *group)))
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        else if (plan(c, sh, manual, cutoff, group)) {
            expire_sealed(c, sh, cutoff);
            rc = compact_shard(c, sh, group, purged, err);
            *changed = true;
        }
        pthread_rwlock_unlock(&sh->lock);
        qv_free(group);
    }
    return rc;
}

qv_err store_compact(qv_coll_data *c, bool manual, uint64_t *purged, qv_error *err)
{
    bool changed = false;
    qv_err rc;

    *purged = 0;
    pthread_mutex_lock(&c->maint_lock);
    rc = compact_shards(c, manual, purged, &changed, err);
    if (changed) /* even after a failure: a rewritten shard must reach the manifest */
        rc = rc == QV_OK ? store_persist(c, err) : rc;
    pthread_mutex_unlock(&c->maint_lock);
    if (changed) {
        atomic_fetch_add(&c->store->sstats.compactions, 1);
        atomic_fetch_add(&c->store->sstats.rows_purged, *purged);
        qv_log_info("store", "collection %lld: compaction purged %llu rows", (long long)c->id,
                    (unsigned long long)*purged);
    }
    return rc;
}

/* ---- the maintenance thread ---------------------------------------------------------- */

static bool wants_compaction(qv_coll_data *c)
{
    bool want = false;

    for (size_t si = 0; si < c->nshards && !want; si++) {
        shard *sh = &c->shards[si];
        int *group;
        pthread_rwlock_rdlock(&sh->lock);
        if ((group = qv_malloc(sh->nsegs * sizeof *group)))
            want = plan(c, sh, false, store_ttl_cutoff(c), group) > 0;
        pthread_rwlock_unlock(&sh->lock);
        qv_free(group);
    }
    return want;
}

static bool wants_seal(qv_coll_data *c, bool over_budget)
{
    const qv_store_opts *o = &c->store->opts;
    uint64_t bytes = atomic_load(&c->growing_bytes);
    qv_wal_counters wc;
    bool want = bytes >= o->segment_max_bytes || (over_budget && bytes > 0);

    qv_wal_stats(c->wal, &wc);
    want |= wc.append_bytes - c->manifest_wal_bytes >= o->segment_max_bytes;
    for (size_t si = 0; si < c->nshards && !want; si++) {
        shard *sh = &c->shards[si];
        pthread_rwlock_rdlock(&sh->lock);
        want = sh->segs[sh->nsegs - 1].rows >= o->segment_max_rows;
        pthread_rwlock_unlock(&sh->lock);
    }
    return want;
}

static void maintain(qv_coll_data *c, bool over_budget)
{
    qv_error err = {0};
    uint64_t purged;

    if (wants_seal(c, over_budget) && store_seal(c, &err) != QV_OK)
        qv_log_warn("store", "collection %lld: sealing failed: %s", (long long)c->id, err.msg);
    if (wants_compaction(c) && store_compact(c, false, &purged, &err) != QV_OK)
        qv_log_warn("store", "collection %lld: compaction failed: %s", (long long)c->id,
                    err.msg);
}

static void maint_pass(qv_store *s)
{
    bool over = atomic_load(&s->growing_bytes) > s->opts.growing_budget_bytes;
    qv_coll_data **colls;
    size_t n = store_open_collections(s, &colls);

    for (size_t i = 0; i < n; i++)
        maintain(colls[i], over);
    store_release_collections(colls, n);
}

static void *maint_main(void *arg)
{
    qv_store *s = arg;

    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        maint_pass(s);
        pthread_mutex_lock(&s->lock);
        if (!s->stopping)
            store_timed_wait(&s->maint_wake, &s->lock, MAINT_TICK_MS);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

qv_err store_maint_start(qv_store *s, qv_error *err)
{
    if (pthread_create(&s->maint, NULL, maint_main, s) != 0)
        return qv_error_set(err, QV_EINTERNAL, "cannot start the maintenance thread");
    s->maint_running = true;
    return QV_OK;
}

void store_maint_stop(qv_store *s)
{
    if (!s->maint_running)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->maint_wake);
    pthread_cond_broadcast(&s->room);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->maint, NULL); /* a seal or compaction in progress finishes first */
    s->maint_running = false;
}

qv_err store_admit(qv_coll_data *c, qv_error *err)
{
    qv_store *s = c->store;
    uint64_t waited = 0, limit = (uint64_t)s->opts.admit_timeout_ms;
    bool over;

    if (atomic_load(&s->growing_bytes) <= s->opts.growing_budget_bytes)
        return QV_OK;
    atomic_fetch_add(&s->sstats.admit_waits, 1);
    pthread_mutex_lock(&s->lock);
    while ((over = atomic_load(&s->growing_bytes) > s->opts.growing_budget_bytes) &&
           !s->stopping && waited < limit) {
        pthread_cond_signal(&s->maint_wake);
        store_timed_wait(&s->room, &s->lock, MAINT_TICK_MS);
        waited += MAINT_TICK_MS;
    }
    pthread_mutex_unlock(&s->lock);
    if (!over)
        return QV_OK;
    atomic_fetch_add(&s->sstats.admit_timeouts, 1);
    return qv_error_set(err, QV_EBUSY,
                        "growing data is over its memory budget (storage.growing_budget_bytes) "
                        "and sealing has not caught up; retry later");
}
