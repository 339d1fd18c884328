/* SPDX-License-Identifier: Apache-2.0 */
/* store_s3_cache.c - what S3 holds of this node (a sorted table of its objects), the local
 * disk cache of sealed files, fetching them back, and restoring an empty data directory.
 *
 * Cache: the local sealed segment files and their index files count against
 * s3.cache_bytes. Once a file's object is in S3 (for an index file: verified equal to the
 * local copy) it may be deleted, least recently used first (the clock is the time the
 * file was written, fetched, or first seen by this process). Rows live in memory, loaded
 * when a collection opens, so a file is needed again only when a collection opens (a
 * restart, a restore): store_s3_fetch then downloads it, checks it (a segment against the
 * CRC32C its manifest holds, any object against its x-amz-meta-crc32c), and writes it
 * atomically before the loader reads it. Segments are not evicted from memory.
 *
 * Restore: a data directory without catalog.qvc whose node has a catalog in S3 gets the
 * node's catalog.qvc, IDALLOC, auth.qva and each collection's manifest.qvm; opening the
 * collections then fetches the segment and index files those manifests list. The catalog
 * is written last, so an interrupted restore is simply done again at the next start. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/store_s3_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/log.h"

#define MAX_FETCH_BYTES ((size_t)1 << 40)
#define MAX_SMALL_BYTES ((size_t)256 << 20) /* catalog, IDALLOC, auth, manifests */

uint64_t s3_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool s3_file_sig(const char *path, file_sig *out)
{
    struct stat st;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    out->ino = (uint64_t)st.st_ino;
    out->size = (uint64_t)st.st_size;
    out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return true;
}

bool s3_key_of(const store_s3 *o, const char *rel, char *key, size_t cap)
{
    int n = snprintf(key, cap, "%s%s", o->root, rel);
    return n > 0 && (size_t)n < cap;
}

/* ---- the table of objects ------------------------------------------------------------- */

static size_t lower_bound(const store_s3 *o, const char *rel)
{
    size_t lo = 0, hi = o->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(o->entries[mid].rel, rel) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

s3_entry *s3_entry_find(store_s3 *o, const char *rel)
{
    size_t i = lower_bound(o, rel);
    return i < o->n && !strcmp(o->entries[i].rel, rel) ? &o->entries[i] : NULL;
}

/* Room for one more entry in *v (n used of *cap). */
static bool entries_room(s3_entry **v, size_t n, size_t *cap)
{
    s3_entry *e;

    if (n < *cap)
        return true;
    if (!(e = qv_reallocarray(*v, *cap ? *cap * 2 : 64, sizeof *e)))
        return false;
    *v = e;
    *cap = *cap ? *cap * 2 : 64;
    return true;
}

s3_entry *s3_entry_get(store_s3 *o, const char *rel)
{
    size_t i = lower_bound(o, rel);
    char *copy;

    if (i < o->n && !strcmp(o->entries[i].rel, rel))
        return &o->entries[i];
    if (!entries_room(&o->entries, o->n, &o->cap) || !(copy = qv_strdup(rel)))
        return NULL;
    memmove(&o->entries[i + 1], &o->entries[i], (o->n - i) * sizeof *o->entries);
    o->entries[i] = (s3_entry){.rel = copy};
    o->n++;
    return &o->entries[i];
}

void s3_entry_remove(store_s3 *o, s3_entry *e)
{
    size_t i = (size_t)(e - o->entries);

    qv_free(e->rel);
    memmove(&o->entries[i], &o->entries[i + 1], (o->n - i - 1) * sizeof *o->entries);
    o->n--;
}

typedef struct listing {
    store_s3 *o;
    s3_entry *got; /* sorted, as S3 lists keys */
    size_t n, cap;
} listing;

static qv_err on_listed(void *ctx, const char *key, uint64_t size)
{
    listing *l = ctx;
    size_t rl = strlen(l->o->root);

    if (strncmp(key, l->o->root, rl) != 0 || !key[rl])
        return QV_OK;
    if (!entries_room(&l->got, l->n, &l->cap))
        return QV_ENOMEM;
    l->got[l->n] = (s3_entry){.rel = qv_strdup(key + rl), .in_s3 = true, .s3_size = size};
    return l->got[l->n++].rel ? QV_OK : QV_ENOMEM;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const s3_entry *)a)->rel, ((const s3_entry *)b)->rel);
}

static void entries_free(s3_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qv_free(e[i].rel);
    qv_free(e);
}

qv_err s3_list_objects(store_s3 *o, qv_error *err)
{
    listing l = {.o = o};
    qv_err rc = qv_s3_list(o->client, o->root, on_listed, &l, err);

    if (rc != QV_OK) {
        entries_free(l.got, l.n);
        return rc == QV_ENOMEM ? qv_error_set(err, rc, "out of memory listing S3") : rc;
    }
    if (l.n)
        qsort(l.got, l.n, sizeof *l.got, entry_cmp); /* S3 sorts by bytes too; be sure */
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < l.n; i++) { /* what this process learned about an object stays */
        s3_entry *old = s3_entry_find(o, l.got[i].rel);
        if (old && old->crc_known && old->s3_size == l.got[i].s3_size) {
            l.got[i].crc_known = true;
            l.got[i].s3_crc = old->s3_crc;
            l.got[i].verified = old->verified;
            l.got[i].sig = old->sig;
        }
        if (old)
            l.got[i].last_use_ms = old->last_use_ms;
    }
    entries_free(o->entries, o->n);
    o->entries = l.got;
    o->n = l.n;
    o->cap = l.cap;
    o->listed = true;
    pthread_mutex_unlock(&o->lock);
    return QV_OK;
}

/* ---- eviction ------------------------------------------------------------------------- */

static int by_last_use(const void *a, const void *b)
{
    const cache_file *x = a, *y = b;
    return x->last_use_ms < y->last_use_ms ? -1 : x->last_use_ms > y->last_use_ms;
}

void s3_evict(store_s3 *o, cache_file *files, size_t n)
{
    uint64_t total = 0, freed = 0, count = 0;
    char path[4096];

    for (size_t i = 0; i < n; i++)
        total += files[i].bytes;
    if (o->cache_bytes && total > o->cache_bytes) {
        qsort(files, n, sizeof *files, by_last_use);
        for (size_t i = 0; i < n && total - freed > o->cache_bytes; i++) {
            qv_error err = {0};
            if (!files[i].evictable)
                continue;
            snprintf(path, sizeof path, "%s/%s", o->data_dir, files[i].rel);
            if (qv_io_unlink(o->io, path, &err) != QV_OK) {
                if (err.sys_errno != ENOENT) /* else compaction removed it meanwhile */
                    qv_log_warn("s3", "evicting %s: %s", path, err.msg);
                continue;
            }
            pthread_mutex_lock(&o->lock);
            s3_entry *e = s3_entry_find(o, files[i].rel);
            if (e)
                e->verified = false; /* no local copy left */
            pthread_mutex_unlock(&o->lock);
            freed += files[i].bytes;
            count++;
        }
    }
    pthread_mutex_lock(&o->lock);
    o->st.cache_bytes = total - freed;
    o->st.evictions += count;
    o->st.evict_bytes += freed;
    pthread_mutex_unlock(&o->lock);
    if (count)
        qv_log_info("s3", "evicted %llu local files (%llu bytes) kept in S3; %llu bytes cached",
                    (unsigned long long)count, (unsigned long long)freed,
                    (unsigned long long)(total - freed));
}

/* ---- fetching ------------------------------------------------------------------------- */

/* Download key to path, atomically. With check, the content's CRC32C must be crc; *crc_out
 * gets it (may be NULL). */
static qv_err download(qv_s3 *c, qv_io *io, const char *key, const char *path, size_t max,
                       bool check, uint32_t crc, bool *found, uint64_t *bytes, uint32_t *crc_out,
                       qv_error *err)
{
    qv_s3_object info = {0};
    qv_buf b;
    qv_err rc;

    qv_buf_init(&b);
    if ((rc = qv_s3_get(c, key, max, &b, &info, err)) == QV_OK && info.found) {
        uint32_t got = qv_crc32c(0, b.data, b.len);
        if (crc_out)
            *crc_out = got;
        if (check && got != crc)
            rc = qv_error_set(err, QV_ECORRUPT, "S3 object %s fails the CRC32C %08" PRIx32
                              " its manifest holds", key, crc);
        else
            rc = qv_io_write_file_atomic(io, path, b.data ? (void *)b.data : (void *)"", b.len,
                                         err);
    }
    *found = info.found;
    *bytes = b.len;
    qv_buf_fini(&b);
    return rc;
}

qv_err store_s3_fetch(qv_store *s, const char *path, bool is_seg, uint32_t crc, qv_error *err)
{
    store_s3 *o = s->s3;
    size_t dl = o ? strlen(o->data_dir) : 0;
    char key[QV_S3_MAX_KEY + 1];
    const char *rel = path + dl + 1;
    bool exists = false, known, found = false, listed;
    uint64_t bytes = 0, t0 = s3_now_ms();
    uint32_t got_crc = 0;
    file_sig sig = {0};
    qv_err rc;

    if (!o || strncmp(path, o->data_dir, dl) != 0 || path[dl] != '/')
        return QV_OK;
    if ((rc = qv_io_exists(o->io, path, &exists, err)) != QV_OK || exists)
        return rc;
    /* a missing segment needs S3 anyway: learn what it holds (its index files, loaded
     * next, are fetched only when listed, so a node whose files are all local opens
     * without S3, and a new index never waits for it) */
    pthread_mutex_lock(&o->lock);
    listed = o->listed;
    pthread_mutex_unlock(&o->lock);
    if (is_seg && !listed && s3_list_objects(o, err) != QV_OK)
        qv_log_warn("s3", "%s", err ? err->msg : "listing S3 failed");
    pthread_mutex_lock(&o->lock);
    s3_entry *e = s3_entry_find(o, rel);
    known = e && e->in_s3;
    pthread_mutex_unlock(&o->lock);
    if (!is_seg && !known) /* never uploaded (or S3 not listed yet): rebuilt instead */
        return QV_OK;
    if (!s3_key_of(o, rel, key, sizeof key))
        return qv_error_set(err, QV_EINTERNAL, "S3 key too long for %s", path);
    rc = download(o->client, o->io, key, path, MAX_FETCH_BYTES, is_seg, crc, &found, &bytes,
                  &got_crc, err);
    if (rc == QV_OK && !found && is_seg)
        rc = qv_error_set(err, QV_ECORRUPT, "%s: missing locally and in S3 (%s)", path, key);
    if (rc != QV_OK) {
        qv_error_prefix(err, "fetching from S3: ");
        return rc;
    }
    if (!found)
        return QV_OK;
    pthread_mutex_lock(&o->lock);
    if ((e = s3_entry_get(o, rel))) { /* the local copy is the object: evictable again */
        e->in_s3 = e->crc_known = true;
        e->s3_size = bytes;
        e->s3_crc = got_crc;
        e->verified = s3_file_sig(path, &sig);
        e->sig = sig;
        e->last_use_ms = s3_now_ms();
    }
    o->st.fetches++;
    o->st.fetch_bytes += bytes;
    pthread_mutex_unlock(&o->lock);
    qv_log_info("s3", "fetched %s (%llu bytes) in %llu ms", key, (unsigned long long)bytes,
                (unsigned long long)(s3_now_ms() - t0));
    return QV_OK;
}

/* ---- restore -------------------------------------------------------------------------- */

/* Objects a restore downloads: node files and manifests. */
static bool restored_name(const char *rel)
{
    unsigned long long cid;
    int end = 0;

    if (!strcmp(rel, "catalog.qvc") || !strcmp(rel, "IDALLOC") || !strcmp(rel, "auth.qva"))
        return true;
    return sscanf(rel, "collections/%20llu/manifest.qvm%n", &cid, &end) == 1 &&
           (size_t)end == strlen(rel);
}

static qv_err restore_one(store_s3 *o, const char *rel, qv_error *err)
{
    char key[QV_S3_MAX_KEY + 1], path[4096], dir[4096];
    unsigned long long cid;
    bool found = false;
    uint64_t bytes = 0;
    qv_err rc = QV_OK;

    snprintf(path, sizeof path, "%s/%s", o->data_dir, rel);
    if (sscanf(rel, "collections/%20llu/", &cid) == 1) {
        snprintf(dir, sizeof dir, "%s/collections", o->data_dir);
        if ((rc = qv_io_mkdir(o->io, dir, err)) != QV_OK)
            return rc;
        snprintf(dir, sizeof dir, "%s/collections/%llu", o->data_dir, cid);
        if ((rc = qv_io_mkdir(o->io, dir, err)) != QV_OK)
            return rc;
    }
    if (!s3_key_of(o, rel, key, sizeof key))
        return qv_error_set(err, QV_EINTERNAL, "S3 key too long for %s", rel);
    if ((rc = download(o->client, o->io, key, path, MAX_SMALL_BYTES, false, 0, &found, &bytes,
                       NULL, err)) == QV_OK && !found)
        rc = qv_error_set(err, QV_EUNAVAIL, "S3 object %s vanished during the restore", key);
    return rc;
}

qv_err qv_store_s3_restore(qv_s3 *s3, qv_io *io, const qv_store_s3_opts *opts, bool *restored,
                           qv_error *err)
{
    store_s3 o = {.client = s3, .io = io, .data_dir = (char *)opts->data_dir,
                  .root = (char *)opts->root};
    char path[4096];
    bool exists = false, catalog;
    size_t files = 0;
    qv_err rc;

    *restored = false;
    snprintf(path, sizeof path, "%s/catalog.qvc", opts->data_dir);
    if ((rc = qv_io_exists(io, path, &exists, err)) != QV_OK || exists)
        return rc;
    pthread_mutex_init(&o.lock, NULL);
    if ((rc = s3_list_objects(&o, err)) != QV_OK) {
        qv_error_prefix(err, "restoring the empty data directory %s from S3: ", opts->data_dir);
        goto done;
    }
    catalog = s3_entry_find(&o, "catalog.qvc") != NULL;
    for (size_t i = 0; catalog && rc == QV_OK && i < o.n; i++) { /* the catalog last */
        if (restored_name(o.entries[i].rel) && strcmp(o.entries[i].rel, "catalog.qvc") != 0) {
            rc = restore_one(&o, o.entries[i].rel, err);
            files++;
        }
    }
    if (catalog && rc == QV_OK && (rc = restore_one(&o, "catalog.qvc", err)) == QV_OK) {
        *restored = true;
        qv_log_info("s3", "restored the catalog and %zu more files under %s from S3; sealed "
                    "segments follow as collections open", files, opts->root);
    }
done:
    entries_free(o.entries, o.n);
    pthread_mutex_destroy(&o.lock);
    return rc;
}
