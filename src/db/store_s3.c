/* SPDX-License-Identifier: Apache-2.0 */
/* store_s3.c - the offloader: a thread that brings S3 up to date with this node's sealed
 * data, every s3.interval_ms, without ever making a writer wait.
 *
 * Keys mirror the data directory under the node's root "<s3.prefix><node id>/" (layout in
 * docs/storage-format.md, "S3 layout"). A pass:
 *   1. the node files catalog.qvc, IDALLOC and auth.qva, when changed (read before any
 *      manifest, so the catalog in S3 names every collection, and IDALLOC covers every
 *      autoID, that a manifest in S3 holds);
 *   2. per open collection, from the bytes of its current manifest.qvm: the sealed segment
 *      files it lists that S3 lacks (a segment file never changes: once its object is
 *      known to carry the CRC32C the manifest holds, it is not looked at again; an object
 *      listed but not yet verified is checked with a HEAD) and their index files when
 *      changed;
 *      then, once every listed segment is in S3, those very manifest bytes; then, once that
 *      manifest is in S3, the objects of segments it no longer lists (compacted away) and
 *      of dropped index definitions are deleted;
 *   3. objects of collections that are neither open nor on disk (dropped) are deleted,
 *      their manifest first, once the catalog without them is in S3;
 *   4. local sealed files over s3.cache_bytes are evicted (store_s3_cache.c).
 * Uploads run in batches of at most MAX_BATCH on the client's worker threads
 * (s3.concurrency); a failed pass is logged once, counted, and retried at the next one:
 * local state is the truth and every step is idempotent, so nothing is lost while S3 is
 * down, and S3 never holds a manifest naming a segment it lacks. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/store_s3_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/log.h"

#define MAX_BATCH 64
#define MANIFEST_MAGIC "QVMANIF1"
#define MAX_MANIFEST_BYTES ((size_t)1 << 30)

static const char *const node_files[] = {"catalog.qvc", "IDALLOC", "auth.qva"};

typedef struct upload_meta {
    char key[QV_S3_MAX_KEY + 1];
    char path[4096];
    const char *rel; /* in key, past the root */
    file_sig sig;
    bool has_sig;
    bool counted; /* in the pass's backlog, with sig.size bytes */
} upload_meta;

/* One pass's state: what it found and the batch being filled. */
typedef struct s3_pass_state {
    store_s3 *o;
    size_t n;               /* jobs in the batch */
    uint64_t backlog_files, backlog_bytes;
    bool failed;            /* something failed (err holds the first failure) */
    bool down;              /* S3 is unreachable: the rest of the pass only counts */
    bool node_ok;           /* the node files are in S3: manifests and deletes may follow */
    qv_error err;
    cache_file *cache;      /* kept across passes (allocation only) */
    size_t ncache, cache_cap;
    qv_s3_job jobs[MAX_BATCH];
    upload_meta meta[MAX_BATCH];
} pass;

static bool sig_eq(const file_sig *a, const file_sig *b)
{
    return a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

static void fail(pass *p, const qv_error *e)
{
    if (!p->failed)
        p->err = *e;
    p->failed = true;
}

/* ---- batches -------------------------------------------------------------------------- */

static void uncount(pass *p, const upload_meta *m)
{
    if (!m->counted)
        return;
    p->backlog_files--;
    p->backlog_bytes -= m->sig.size;
}

/* Record what a finished batch did in the table. */
static void record(pass *p)
{
    store_s3 *o = p->o;
    uint64_t now = s3_now_ms();

    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < p->n; i++) {
        qv_s3_job *j = &p->jobs[i];
        upload_meta *m = &p->meta[i];
        s3_entry *e;
        if (j->op == QV_S3_JOB_PUT_FILE && j->rc == QV_EIO && j->err.sys_errno == ENOENT) {
            uncount(p, m); /* compacted away or dropped meanwhile: the next pass sees that */
            continue;
        }
        if (j->rc != QV_OK || !(e = s3_entry_get(o, m->rel))) {
            qv_error oom = {.code = QV_ENOMEM, .msg = "out of memory"};
            fail(p, j->rc != QV_OK ? &j->err : &oom);
            p->down |= j->rc == QV_EUNAVAIL;
            continue;
        }
        if (j->op == QV_S3_JOB_DELETE) {
            if (!s3_file_sig(m->path, &m->sig)) /* nothing local: forget it */
                s3_entry_remove(o, e);
            else
                e->in_s3 = e->verified = e->crc_known = false;
            o->st.deletes++;
            continue;
        }
        e->in_s3 = e->crc_known = true;
        e->s3_crc = j->crc;
        e->s3_size = j->bytes;
        e->verified = m->has_sig;
        e->sig = m->sig;
        if (!e->last_use_ms)
            e->last_use_ms = now;
        uncount(p, m);
        if (!j->skipped) {
            o->st.uploads++;
            o->st.upload_bytes += j->bytes;
        }
    }
    pthread_mutex_unlock(&o->lock);
    p->n = 0;
}

static void run_batch(pass *p)
{
    if (!p->n)
        return;
    qv_s3_run_jobs(p->o->client, p->jobs, p->n);
    record(p);
}

/* A job for rel (path may be NULL: <data_dir>/<rel>); runs the batch first when full. */
static upload_meta *add_job(pass *p, qv_s3_job_op op, const char *rel, const char *path)
{
    upload_meta *m;

    if (p->n == MAX_BATCH)
        run_batch(p);
    m = &p->meta[p->n];
    memset(m, 0, sizeof *m);
    if (!s3_key_of(p->o, rel, m->key, sizeof m->key)) {
        qv_error e;
        qv_error_set(&e, QV_EINTERNAL, "S3 key too long for %s", rel);
        fail(p, &e);
        return NULL;
    }
    m->rel = m->key + strlen(p->o->root);
    snprintf(m->path, sizeof m->path, "%s/%s", p->o->data_dir, rel);
    if (path)
        snprintf(m->path, sizeof m->path, "%s", path);
    p->jobs[p->n] = (qv_s3_job){.op = op, .key = m->key, .path = m->path};
    p->n++;
    return m;
}

/* Queue the upload of local file rel unless S3 is known to hold it: a segment when its
 * object's CRC32C is the manifest's (a segment file never changes), anything else when
 * verified equal with the same signature. An object S3 lists but this process has not
 * verified is checked with a HEAD first (skip_same) and only uploaded when it differs. */
static void want_file(pass *p, const char *rel, const char *path, bool is_seg, uint32_t crc)
{
    store_s3 *o = p->o;
    file_sig sig;
    bool want, known;
    upload_meta *m;

    if (!s3_file_sig(path, &sig))
        return;
    pthread_mutex_lock(&o->lock);
    s3_entry *e = s3_entry_find(o, rel);
    known = e && e->in_s3;
    want = !(known && (is_seg ? e->crc_known && e->s3_crc == crc
                              : e->verified && sig_eq(&e->sig, &sig)));
    pthread_mutex_unlock(&o->lock);
    if (!want)
        return;
    p->backlog_files++;
    p->backlog_bytes += sig.size;
    if (p->down || !(m = add_job(p, QV_S3_JOB_PUT_FILE, rel, path)))
        return;
    m->sig = sig;
    m->has_sig = m->counted = true;
    p->jobs[p->n - 1].check_crc = is_seg;
    p->jobs[p->n - 1].expect_crc = crc;
    p->jobs[p->n - 1].skip_same = known;
}

/* ---- manifests ------------------------------------------------------------------------ */

typedef struct seg_ref {
    uint64_t id;
    uint32_t crc;
} seg_ref;

/* The sealed segments a manifest lists (format in store_segment.c). */
static qv_err manifest_segments(const uint8_t *p, size_t len, seg_ref **out, size_t *n,
                                qv_error *err)
{
    qv_reader r;
    uint32_t shards;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if (len < 20 || memcmp(p, MANIFEST_MAGIC, 8) || qv_load_le64(p + 12) != len - 20 ||
        qv_crc32c(0, p + 20, len - 20) != qv_load_le32(p + 8))
        return qv_error_set(err, QV_ECORRUPT, "manifest fails its checksum");
    qv_reader_init(&r, p + 20, len - 20);
    qv_reader_u64(&r); /* LSN, next segment id */
    qv_reader_u64(&r);
    shards = qv_reader_u32(&r);
    for (uint32_t s = 0; s < shards && !r.failed; s++) {
        uint32_t nsegs;
        qv_reader_u64(&r); /* growing segment id */
        nsegs = qv_reader_u32(&r);
        if (r.failed || nsegs > (r.len - r.pos) / 20)
            break;
        if (*n + nsegs > cap) {
            seg_ref *g = qv_reallocarray(*out, cap = *n + nsegs + 16, sizeof *g);
            if (!g)
                return qv_error_set(err, QV_ENOMEM, "out of memory");
            *out = g;
        }
        for (uint32_t i = 0; i < nsegs; i++) {
            (*out)[*n].id = qv_reader_u64(&r);
            qv_reader_u64(&r); /* rows */
            (*out)[(*n)++].crc = qv_reader_u32(&r);
        }
        uint64_t words = qv_reader_u64(&r);
        if (words > (r.len - r.pos) / 8)
            r.failed = true;
        else
            qv_reader_bytes(&r, (size_t)words * 8);
    }
    if (r.failed || r.pos != r.len) {
        qv_free(*out);
        *out = NULL;
        return qv_error_set(err, QV_ECORRUPT, "manifest is malformed");
    }
    return QV_OK;
}

static bool listed(const seg_ref *segs, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (segs[i].id == id)
            return true;
    return false;
}

/* A collection's manifest, its segments and the live index definitions of the pass. */
typedef struct coll_view {
    qv_coll_data *c;
    char dir_rel[64]; /* "collections/<id>" */
    uint8_t *manifest;
    size_t manifest_len;
    file_sig manifest_sig;
    seg_ref *segs;
    size_t nsegs;
    int64_t defs[QV_MAX_VECTOR_FIELDS + QV_MAX_SCALAR_INDEXES];
    size_t ndefs;
} coll_view;

static bool def_live(const coll_view *v, long long def)
{
    for (size_t i = 0; i < v->ndefs; i++)
        if (v->defs[i] == def)
            return true;
    return false;
}

/* What a file name in a collection directory is: 's' segment, 'i' index, 0 neither. */
static char file_kind(const char *name, unsigned long long *seg, long long *def)
{
    char tail[8];

    if (sscanf(name, "seg-%20llu.%4s", seg, tail) == 2 && !strcmp(tail, "qvs"))
        return 's';
    if (sscanf(name, "index-%lld-%20llu.%4s", def, seg, tail) == 3 && !strcmp(tail, "qvi"))
        return 'i';
    return 0;
}

static qv_err view_open(store_s3 *o, qv_coll_data *c, coll_view *v, qv_error *err)
{
    char path[4096];
    void *data = NULL;
    qv_err rc;

    memset(v, 0, sizeof *v);
    v->c = c;
    snprintf(v->dir_rel, sizeof v->dir_rel, "collections/%lld", (long long)c->id);
    snprintf(path, sizeof path, "%s/manifest.qvm", c->dir);
    if (!s3_file_sig(path, &v->manifest_sig)) /* never sealed: nothing to offload yet */
        return QV_OK;
    if ((rc = qv_io_read_file(o->io, path, MAX_MANIFEST_BYTES, &data, &v->manifest_len, err)) !=
        QV_OK)
        return rc;
    v->manifest = data;
    if ((rc = manifest_segments(v->manifest, v->manifest_len, &v->segs, &v->nsegs, err)) !=
        QV_OK)
        qv_error_prefix(err, "%s: ", path);
    pthread_rwlock_rdlock(&c->shards[0].lock); /* slots change under every shard's lock */
    v->ndefs = store_index_defs(c, v->defs, sizeof v->defs / sizeof *v->defs);
    pthread_rwlock_unlock(&c->shards[0].lock);
    return rc;
}

static void view_close(coll_view *v)
{
    qv_free(v->manifest);
    qv_free(v->segs);
}

/* ---- one collection ------------------------------------------------------------------- */

/* Every listed segment is in S3. */
static bool segments_in_s3(pass *p, const coll_view *v)
{
    char rel[160];
    bool all = true;

    pthread_mutex_lock(&p->o->lock);
    for (size_t i = 0; i < v->nsegs && all; i++) {
        snprintf(rel, sizeof rel, "%s/seg-%020llu.qvs", v->dir_rel,
                 (unsigned long long)v->segs[i].id);
        s3_entry *e = s3_entry_find(p->o, rel);
        all = e && e->in_s3;
    }
    pthread_mutex_unlock(&p->o->lock);
    return all;
}

/* Upload the manifest bytes unless S3 holds them; true when S3 holds them afterwards. */
static bool put_manifest(pass *p, coll_view *v)
{
    char rel[96];
    uint32_t crc = qv_crc32c(0, v->manifest, v->manifest_len);
    bool same, known;
    upload_meta *m;

    snprintf(rel, sizeof rel, "%s/manifest.qvm", v->dir_rel);
    pthread_mutex_lock(&p->o->lock);
    s3_entry *e = s3_entry_find(p->o, rel);
    known = e && e->in_s3;
    same = known && e->crc_known && e->s3_crc == crc && e->s3_size == v->manifest_len;
    pthread_mutex_unlock(&p->o->lock);
    if (same)
        return true;
    run_batch(p); /* the manifest goes alone, after the files it lists */
    if (p->failed || !(m = add_job(p, QV_S3_JOB_PUT, rel, NULL)))
        return false;
    m->sig = v->manifest_sig;
    m->has_sig = m->counted = true;
    p->backlog_files++;
    p->backlog_bytes += m->sig.size;
    p->jobs[0].data = v->manifest;
    p->jobs[0].len = v->manifest_len;
    p->jobs[0].skip_same = known;
    run_batch(p);
    return !p->failed;
}


/* Queue deletes of the objects under prefix ("collections/<id>/") that drop() selects by
 * their name in that directory; only_manifest narrows it to the manifest. */
typedef bool (*select_fn)(const coll_view *v, const char *name);

static void delete_selected(pass *p, const char *prefix, select_fn drop, const coll_view *v)
{
    size_t pl = strlen(prefix), n = 0, cap = 0;
    char **rels = NULL;

    pthread_mutex_lock(&p->o->lock);
    for (size_t i = 0; i < p->o->n; i++) {
        const s3_entry *e = &p->o->entries[i];
        if (strncmp(e->rel, prefix, pl) != 0 || !e->in_s3 || !drop(v, e->rel + pl))
            continue;
        if (n == cap) {
            char **grown = qv_reallocarray(rels, cap = cap * 2 + 16, sizeof *grown);
            if (!grown)
                break;
            rels = grown;
        }
        if (!(rels[n] = qv_strdup(e->rel)))
            break;
        n++;
    }
    pthread_mutex_unlock(&p->o->lock);
    for (size_t i = 0; i < n; i++) { /* add_job may run a full batch, which edits the table */
        add_job(p, QV_S3_JOB_DELETE, rels[i], NULL);
        qv_free(rels[i]);
    }
    qv_free(rels);
    run_batch(p);
}

/* Segments the manifest no longer lists, and index files of dropped definitions. */
static bool unlisted(const coll_view *v, const char *name)
{
    unsigned long long seg = 0;
    long long def = 0;
    char kind = file_kind(name, &seg, &def);

    return kind && (!listed(v->segs, v->nsegs, seg) || (kind == 'i' && !def_live(v, def)));
}

static bool is_manifest(const coll_view *v, const char *name)
{
    (void)v;
    return !strcmp(name, "manifest.qvm");
}

static bool anything(const coll_view *v, const char *name)
{
    (void)v, (void)name;
    return true;
}

static void add_cache_file(pass *p, const char *rel, const char *path, bool is_seg)
{
    store_s3 *o = p->o;
    file_sig sig;
    cache_file *f;

    if (!s3_file_sig(path, &sig))
        return;
    if (p->ncache == p->cache_cap) {
        size_t cap = p->cache_cap ? p->cache_cap * 2 : 64;
        cache_file *g = qv_reallocarray(p->cache, cap, sizeof *g);
        if (!g)
            return;
        p->cache = g;
        p->cache_cap = cap;
    }
    f = &p->cache[p->ncache++];
    if (strlen(rel) >= sizeof f->rel)
        return;
    memcpy(f->rel, rel, strlen(rel) + 1);
    f->bytes = sig.size;
    f->last_use_ms = (uint64_t)(sig.mtime_ns / 1000000);
    pthread_mutex_lock(&o->lock);
    s3_entry *e = s3_entry_find(o, rel);
    f->evictable = e && e->in_s3 && (is_seg ? e->crc_known : e->verified && sig_eq(&e->sig, &sig));
    if (e && !e->last_use_ms)
        e->last_use_ms = f->last_use_ms;
    if (e)
        f->last_use_ms = e->last_use_ms;
    pthread_mutex_unlock(&o->lock);
}

/* Local files of listed segments (and of live index definitions): queue the uploads S3
 * needs, or, with collect, list them for the cache budget. */
static void walk_files(pass *p, const coll_view *v, bool collect)
{
    char **names = NULL, rel[160], path[4096];
    size_t count = 0;
    qv_error err = {0};

    if (qv_io_list_dir(p->o->io, v->c->dir, &names, &count, &err) != QV_OK) {
        if (!collect)
            fail(p, &err);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned long long seg = 0;
        long long def = 0;
        char kind = file_kind(names[i], &seg, &def);
        const seg_ref *ref = NULL;
        for (size_t k = 0; kind && k < v->nsegs && !ref; k++)
            ref = v->segs[k].id == seg ? &v->segs[k] : NULL;
        if (!ref || (kind == 'i' && !def_live(v, def)))
            continue;
        snprintf(rel, sizeof rel, "%s/%s", v->dir_rel, names[i]);
        snprintf(path, sizeof path, "%s/%s", v->c->dir, names[i]);
        if (collect)
            add_cache_file(p, rel, path, kind == 's');
        else
            want_file(p, rel, path, kind == 's', ref->crc);
    }
    qv_io_free_names(names, count);
}

static void sync_collection(pass *p, qv_coll_data *c)
{
    char prefix[80];
    coll_view v;
    qv_error err = {0};

    if (view_open(p->o, c, &v, &err) != QV_OK) {
        fail(p, &err);
    } else if (v.manifest) {
        walk_files(p, &v, false);
        run_batch(p);
        if (p->node_ok && !p->failed && segments_in_s3(p, &v) && put_manifest(p, &v)) {
            snprintf(prefix, sizeof prefix, "%s/", v.dir_rel);
            delete_selected(p, prefix, unlisted, &v);
        }
        walk_files(p, &v, true);
    }
    view_close(&v);
}

/* ---- a pass --------------------------------------------------------------------------- */

static bool id_open(const int64_t *ids, size_t n, long long id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* Objects of collections neither open nor on disk: dropped ones. */
static void delete_dropped(pass *p, const int64_t *open, size_t nopen)
{
    long long gone[16];
    size_t ngone = 0;
    char prefix[80], dir[4096];

    pthread_mutex_lock(&p->o->lock);
    for (size_t i = 0; i < p->o->n && ngone < 16; i++) {
        long long cid;
        bool exists = false;
        if (sscanf(p->o->entries[i].rel, "collections/%lld/", &cid) != 1 ||
            id_open(open, nopen, cid) || (ngone && gone[ngone - 1] == cid))
            continue;
        snprintf(dir, sizeof dir, "%s/collections/%lld", p->o->data_dir, cid);
        if (qv_io_exists(p->o->io, dir, &exists, NULL) == QV_OK && !exists)
            gone[ngone++] = cid;
    }
    pthread_mutex_unlock(&p->o->lock);
    for (size_t i = 0; i < ngone && !p->failed; i++) {
        snprintf(prefix, sizeof prefix, "collections/%lld/", gone[i]);
        delete_selected(p, prefix, is_manifest, NULL); /* a restore never sees half of it */
        delete_selected(p, prefix, anything, NULL);
        qv_log_info("s3", "deleted the objects of dropped collection %lld", gone[i]);
    }
}

static void finish_pass(store_s3 *o, pass *p)
{
    uint64_t objects = 0;

    s3_evict(o, p->cache, p->ncache);
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < o->n; i++)
        objects += o->entries[i].in_s3;
    o->st.objects = objects;
    o->st.backlog_files = p->backlog_files;
    o->st.backlog_bytes = p->backlog_bytes;
    if (!p->failed && !p->backlog_files)
        o->st.synced_ms = s3_now_ms();
    pthread_mutex_unlock(&o->lock);
    if (p->failed && !o->failing)
        qv_log_warn("s3", "offload to S3 failing (writes continue locally, retried every %d "
                    "ms): %s", o->interval_ms, p->err.msg);
    else if (!p->failed && o->failing)
        qv_log_info("s3", "offload to S3 working again; %llu files still to upload",
                    (unsigned long long)p->backlog_files);
    o->failing = p->failed;
}

static bool stopping(store_s3 *o)
{
    bool stop;

    pthread_mutex_lock(&o->lock);
    stop = o->stopping;
    pthread_mutex_unlock(&o->lock);
    return stop;
}

static void s3_pass(store_s3 *o)
{
    pass *p = o->pass;
    qv_coll_data **colls = NULL;
    int64_t *ids;
    size_t n = 0;
    char path[4096];
    bool listed;

    memset(p, 0, offsetof(pass, cache));
    p->o = o;
    p->ncache = 0;
    pthread_mutex_lock(&o->lock);
    listed = o->listed;
    pthread_mutex_unlock(&o->lock);
    if (!listed && s3_list_objects(o, &p->err) != QV_OK) {
        p->failed = p->down = true;
    } else {
        for (size_t i = 0; i < sizeof node_files / sizeof node_files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", o->data_dir, node_files[i]);
            want_file(p, node_files[i], path, false, 0);
        }
        run_batch(p);
        p->node_ok = !p->failed;
    }
    n = store_open_collections(o->store, &colls);
    ids = qv_calloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        if (ids)
            ids[i] = colls[i]->id;
        if (!stopping(o))
            sync_collection(p, colls[i]);
    }
    if (ids && p->node_ok && !p->failed)
        delete_dropped(p, ids, n);
    for (size_t i = 0; i < n; i++)
        qv_coll_data_unref(colls[i]);
    qv_free(colls);
    qv_free(ids);
    finish_pass(o, p);
}

/* ---- the thread ----------------------------------------------------------------------- */

static void *s3_main(void *arg)
{
    store_s3 *o = arg;

    pthread_mutex_lock(&o->lock);
    while (!o->stopping) {
        pthread_mutex_unlock(&o->lock);
        s3_pass(o);
        pthread_mutex_lock(&o->lock);
        if (!o->stopping)
            store_timed_wait(&o->wake, &o->lock, o->interval_ms);
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

static void s3_free(store_s3 *o)
{
    for (size_t i = 0; i < o->n; i++)
        qv_free(o->entries[i].rel);
    qv_free(o->entries);
    if (o->pass)
        qv_free(o->pass->cache);
    qv_free(o->pass);
    qv_free(o->data_dir);
    qv_free(o->root);
    pthread_cond_destroy(&o->wake);
    pthread_mutex_destroy(&o->lock);
    qv_free(o);
}

qv_err qv_store_s3_start(qv_store *s, qv_s3 *s3, const qv_store_s3_opts *opts, qv_error *err)
{
    store_s3 *o = qv_calloc(1, sizeof *o);

    if (!o)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->wake, NULL);
    o->store = s;
    o->client = s3;
    o->io = s->io;
    o->cache_bytes = opts->cache_bytes;
    o->interval_ms = opts->interval_ms > 0 ? opts->interval_ms : 1000;
    if (!(o->data_dir = qv_strdup(opts->data_dir)) || !(o->root = qv_strdup(opts->root)) ||
        !(o->pass = qv_calloc(1, sizeof *o->pass))) {
        s3_free(o);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    s->s3 = o; /* what S3 holds is listed by the first pass, or by the first fetch */
    if (pthread_create(&o->thread, NULL, s3_main, o) != 0) {
        s->s3 = NULL;
        s3_free(o);
        return qv_error_set(err, QV_EINTERNAL, "cannot start the S3 offload thread");
    }
    o->running = true;
    qv_log_info("s3", "offloading sealed data to S3 under %s (cache budget %llu bytes)", o->root,
                (unsigned long long)o->cache_bytes);
    return QV_OK;
}

void store_s3_stop(qv_store *s)
{
    store_s3 *o = s->s3;

    if (!o)
        return;
    pthread_mutex_lock(&o->lock);
    o->stopping = true;
    pthread_cond_broadcast(&o->wake);
    pthread_mutex_unlock(&o->lock);
    qv_s3_cancel(o->client); /* a pass in flight ends at once; the next start resumes */
    if (o->running)
        pthread_join(o->thread, NULL);
    s->s3 = NULL;
    s3_free(o);
}

bool qv_store_s3_stats_get(qv_store *s, qv_store_s3_stats *out)
{
    store_s3 *o = s->s3;

    memset(out, 0, sizeof *out);
    if (!o)
        return false;
    pthread_mutex_lock(&o->lock);
    *out = o->st;
    pthread_mutex_unlock(&o->lock);
    return true;
}
