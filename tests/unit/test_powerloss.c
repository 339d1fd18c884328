/* SPDX-License-Identifier: Apache-2.0 */
/* test_powerloss.c - power-loss simulation of the store's write path (SQLite's crash
 * tests): a workload of inserts, upserts, deletes (by key and by filter), flushes (seals),
 * compactions and imports runs in a forked child on the crashsim I/O backend, which
 * crashes at a random sync point, dropping, keeping or tearing (per 512-byte sector,
 * sometimes with garbage) what was not synced yet, including directory entries. The
 * parent reopens a copy of what survived with the POSIX backend and checks:
 *   - the store opens (a torn WAL tail is repaired and counted), every index file that
 *     survived passes its checksum;
 *   - its rows equal the model after exactly the acknowledged operations, or after those
 *     plus the one in flight (a batch is there whole or not at all): nothing acknowledged
 *     lost, nothing half-written visible, no deleted row back, no stale upsert.
 * Each trial runs GENERATIONS crashes in a row on the same directory: the next child
 * recovers from the raw crash state itself, so crashes during recovery (torn-tail repair,
 * removal of unlisted files) are covered too.
 *
 * Duration: QV_POWERLOSS_SECONDS (default 20) or argv[1]; QV_POWERLOSS_SEED fixes the
 * base seed (printed at the start; each failure prints its trial seed);
 * QV_POWERLOSS_VERBOSE=1 keeps the store's logs. The summary line reads
 * "crash points tried: N, acknowledged writes lost: 0". */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/log.h"
#include "quiver/store.h"
#include "testutil.h"

#define KEYS 256
#define DIM 4
#define MAX_BATCH 40
#define OPS_PER_GEN 32
#define GENERATIONS 3
#define SEG_ROWS 48

enum { OP_INSERT, OP_UPSERT, OP_DELETE, OP_DELETE_FILTER, OP_FLUSH, OP_COMPACT, OP_IMPORT,
       OP_PAUSE };
static const char *const op_names[] = {"insert", "upsert", "delete", "delete-filter",
                                       "flush", "compact", "import", "pause"};

typedef struct op {
    int kind;
    int n;                 /* keys */
    int64_t keys[MAX_BATCH];
    int mod, rem;          /* delete-filter: tag % mod == rem */
} op;

typedef struct model {
    bool live[KEYS];
    int32_t tag[KEYS]; /* index of the operation that wrote the row */
} model;

/* Shared with the child (MAP_SHARED): how far it got. */
typedef struct shared {
    _Atomic uint64_t done;  /* operations of the history completed (acknowledged) */
    _Atomic uint64_t syncs; /* sync points seen when it crashed */
    _Atomic int recovered;  /* the collection opened (recovery done) */
    _Atomic int ended;      /* the crash came after the last operation */
    char msg[1024];         /* why the child failed (exit status 3) */
} shared;

typedef struct figures {
    uint64_t crash_points, lost, phantom, torn_repaired, inflight_kept, inflight_lost;
    uint64_t during_recovery, index_files, segment_files, tmp_left, modes[3];
} figures;

static shared *sh;
static char dir[256];

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Operation i of the trial seeded `seed`: a pure function, so child and parent agree. */
static void op_gen(uint64_t seed, uint64_t i, op *o)
{
    uint64_t r = mix(seed ^ mix(i + 1)), pick = r % 100;

    memset(o, 0, sizeof *o);
    o->kind = pick < 38 ? OP_INSERT : pick < 58 ? OP_UPSERT : pick < 72 ? OP_DELETE
              : pick < 77 ? OP_DELETE_FILTER : pick < 87 ? OP_FLUSH : pick < 93 ? OP_COMPACT
              : pick < 98 || seed % 16 ? OP_IMPORT : OP_PAUSE; /* pauses: 1 trial in 16 */
    o->n = 1 + (int)(mix(r) % MAX_BATCH);
    for (int k = 0; k < o->n; k++) { /* distinct keys */
        int64_t key;
        bool dup;
        uint64_t x = r;
        do {
            x = mix(x);
            key = (int64_t)(x % KEYS);
            dup = false;
            for (int j = 0; j < k; j++)
                dup |= o->keys[j] == key;
        } while (dup);
        o->keys[k] = key;
        r = x;
    }
    o->mod = 2 + (int)(mix(r ^ 7) % 6);
    o->rem = (int)(mix(r ^ 9) % (uint64_t)o->mod);
}

static void model_apply(model *m, const op *o, uint64_t i)
{
    switch (o->kind) {
    case OP_INSERT:
    case OP_UPSERT:
    case OP_IMPORT:
        for (int k = 0; k < o->n; k++) {
            m->live[o->keys[k]] = true;
            m->tag[o->keys[k]] = (int32_t)i;
        }
        break;
    case OP_DELETE:
        for (int k = 0; k < o->n; k++)
            m->live[o->keys[k]] = false;
        break;
    case OP_DELETE_FILTER:
        for (int k = 0; k < KEYS; k++)
            if (m->live[k] && m->tag[k] % o->mod == o->rem)
                m->live[k] = false;
        break;
    default:
        break;
    }
}

static void model_at(model *m, uint64_t seed, uint64_t n)
{
    op o;

    memset(m, 0, sizeof *m);
    for (uint64_t i = 0; i < n; i++) {
        op_gen(seed, i, &o);
        model_apply(m, &o, i);
    }
}

/* Same live keys, each with the same version. */
static bool model_equal(const model *a, const model *b)
{
    for (int k = 0; k < KEYS; k++)
        if (a->live[k] != b->live[k] || (a->live[k] && a->tag[k] != b->tag[k]))
            return false;
    return true;
}

static void vec_of(int64_t key, int32_t tag, float v[DIM])
{
    v[0] = (float)key;
    v[1] = (float)tag;
    v[2] = (float)key * 0.5f;
    v[3] = -(float)tag;
}

/* id Int64 pk, v FloatVector(4) with an HNSW index, tag Int32; 2 shards. */
static void make_info(qv_collection_info *ci)
{
    test_vector_collection(ci, 2, DIM, true);
    ci->indexes = qv_calloc(1, sizeof *ci->indexes);
    ci->index_count = 1;
    ci->indexes[0] = (qv_index_def){.id = 7, .name = qv_strdup("v"), .field = qv_strdup("v"),
                                    .index_type = qv_strdup("HNSW"),
                                    .metric_type = qv_strdup("L2")};
}

static qv_err rows_of(const qv_schema *s, const op *o, int32_t tag, qv_rowbatch *b,
                      qv_error *err)
{
    qv_err rc = qv_rowbatch_init(b, s);

    for (int k = 0; rc == QV_OK && k < o->n; k++) {
        float v[DIM];
        vec_of(o->keys[k], tag, v);
        qv_colbuf_push_fixed(&b->cols[0], &o->keys[k]);
        qv_colbuf_push_fixed(&b->cols[1], v);
        qv_colbuf_push_fixed(&b->cols[2], &tag);
        rc = qv_rowbatch_end_row(b, err);
    }
    return rc;
}

/* ---- the child ------------------------------------------------------------------------ */

static void child_crashed(void *ctx, uint64_t syncs)
{
    (void)ctx;
    atomic_store(&sh->syncs, syncs);
    _exit(0);
}

static void child_fail(const char *what, const qv_error *e)
{
    snprintf(sh->msg, sizeof sh->msg, "%.200s: %s", what, e ? e->msg : "");
    _exit(3);
}

static qv_err run_op(qv_coll_data *c, const qv_schema *s, const op *o, uint64_t i, qv_error *e)
{
    qv_rowbatch b;
    qv_filter *f = NULL;
    char expr[64];
    uint64_t n;
    qv_err rc = QV_OK;

    switch (o->kind) {
    case OP_INSERT:
    case OP_UPSERT:
    case OP_IMPORT:
    case OP_DELETE:
        if ((rc = rows_of(s, o, (int32_t)i, &b, e)) == QV_OK)
            rc = o->kind == OP_INSERT   ? qv_coll_insert(c, 1, &b, e)
                 : o->kind == OP_UPSERT ? qv_coll_upsert(c, 1, &b, e)
                 : o->kind == OP_IMPORT ? qv_coll_import(c, 1, NULL, &b, e)
                                        : qv_coll_delete_keys(c, &b, &n, e);
        qv_rowbatch_fini(&b);
        break;
    case OP_DELETE_FILTER:
        snprintf(expr, sizeof expr, "tag %% %d == %d", o->mod, o->rem);
        if ((rc = qv_filter_compile(s, expr, strlen(expr), NULL, &f, e)) == QV_OK)
            rc = qv_coll_delete(c, f, NULL, 0, &n, e);
        qv_filter_free(f);
        break;
    case OP_FLUSH:
        rc = qv_coll_flush(c, e);
        break;
    case OP_COMPACT:
        rc = qv_coll_compact(c, &n, e);
        break;
    case OP_PAUSE: /* let the maintenance thread and the index builder run */
        usleep(150 * 1000);
        break;
    }
    return rc;
}

typedef struct trial {
    uint64_t seed;       /* the operations */
    uint64_t crash_seed; /* the crash point and the tear */
    uint64_t start, ops; /* history length before this generation; operations to run */
    uint64_t crash_at;   /* sync point */
    qv_io_crash_mode mode;
    bool garbage;
} trial;

static void child_run(const trial *t)
{
    qv_store_opts so = QV_STORE_OPTS_DEFAULT;
    qv_io_crash_opts co = {.root = dir, .mode = t->mode, .crash_at_sync = t->crash_at,
                           .seed = t->crash_seed, .garbage = t->garbage,
                           .skip_inner_sync = true, .on_crash = child_crashed};
    qv_collection_info ci;
    qv_io *posix, *io;
    qv_store *st;
    qv_coll_data *c;
    qv_error e = {0};
    op o;

    so.segment_max_rows = SEG_ROWS;
    make_info(&ci);
    if (qv_io_open_default("posix", &posix, &e) != QV_OK)
        child_fail("posix backend", &e);
    if (qv_io_crashsim_new(posix, &co, &io, &e) != QV_OK)
        child_fail("crashsim", &e);
    if (qv_store_open(dir, io, &so, &st, &e) != QV_OK)
        child_fail("store open", &e);
    if (qv_store_get(st, &ci, &c, &e) != QV_OK)
        child_fail("collection open (recovery)", &e);
    atomic_store(&sh->recovered, 1);
    for (uint64_t i = t->start; i < t->start + t->ops; i++) {
        op_gen(t->seed, i, &o);
        if (run_op(c, &ci.schema, &o, i, &e) != QV_OK) {
            char what[64];
            snprintf(what, sizeof what, "operation %" PRIu64 " (%s)", i, op_names[o.kind]);
            child_fail(what, &e);
        }
        atomic_store(&sh->done, i + 1);
    }
    atomic_store(&sh->ended, 1);
    qv_io_crashsim_crash(io); /* does not return */
    child_fail("crash did not exit", NULL);
}

/* ---- the parent ----------------------------------------------------------------------- */

static int copy_tree(const char *from, const char *to)
{
    char a[512], b[512], buf[65536];
    struct dirent *de;
    DIR *d;
    int rc = mkdir(to, 0755) == 0 || errno == EEXIST ? 0 : -1;

    if (rc || (d = opendir(from)) == NULL)
        return -1;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(a, sizeof a, "%s/%s", from, de->d_name);
        snprintf(b, sizeof b, "%s/%s", to, de->d_name);
        if (lstat(a, &st) != 0) {
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = copy_tree(a, b);
        } else {
            int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ssize_t n;
            while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
                if (write(out, buf, (size_t)n) != n)
                    rc = -1;
            rc |= (in < 0 || out < 0) ? -1 : 0;
            if (in >= 0)
                close(in);
            if (out >= 0)
                close(out);
        }
    }
    closedir(d);
    return rc;
}

/* Every index file left must pass its checksum ("QVIF" | crc | len | segment | payload),
 * and no temp file may be left behind by recovery. */
static void check_index_files(const char *root, figures *fg, char *why, size_t cap)
{
    char cdir[512], path[1024];
    char **names = NULL;
    size_t n = 0;
    qv_io *io;

    snprintf(cdir, sizeof cdir, "%s/collections/42", root);
    ck_assert_int_eq(qv_io_open_default("posix", &io, NULL), QV_OK);
    if (qv_io_list_dir(io, cdir, &names, &n, NULL) != QV_OK)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        void *data = NULL;
        size_t got = 0;
        if (len > 4 && !strcmp(names[i] + len - 4, ".qvs"))
            fg->segment_files++;
        if (len > 4 && !strcmp(names[i] + len - 4, ".tmp")) {
            fg->tmp_left++;
            snprintf(why, cap, "%s left after reopen", names[i]);
        }
        if (len < 4 || strncmp(names[i], "index-", 6) || strcmp(names[i] + len - 4, ".qvi"))
            continue;
        snprintf(path, sizeof path, "%s/%s", cdir, names[i]);
        ck_assert_int_eq(qv_io_read_file(io, path, (size_t)1 << 30, &data, &got, NULL), QV_OK);
        const uint8_t *p = data;
        if (got < 24 || memcmp(p, "QVIF", 4) || qv_load_le64(p + 8) != got - 24 ||
            qv_crc32c(0, p + 24, got - 24) != qv_load_le32(p + 4))
            snprintf(why, cap, "index file %s fails its checksum", names[i]);
        fg->index_files++;
        qv_free(data);
    }
    qv_io_free_names(names, n);
    qv_io_free(io);
}

/* Open a copy of the crash state; *matched = the history length its rows equal (done or
 * done + 1), or a message in why. */
static void verify(const trial *t, uint64_t done, uint64_t *matched, figures *fg, char *why,
                   size_t cap)
{
    char vdir[300];
    qv_collection_info ci;
    qv_io *io;
    qv_store *st = NULL;
    qv_coll_data *c = NULL;
    qv_query_opts q = {.limit = KEYS * 4};
    qv_rowbatch out;
    qv_store_wal_totals wt;
    qv_error e = {0};
    model got, want;
    size_t nrows;

    why[0] = '\0';
    snprintf(vdir, sizeof vdir, "%s.verify", dir);
    test_rmtree(vdir);
    ck_assert_int_eq(copy_tree(dir, vdir), 0);
    make_info(&ci);
    ck_assert_int_eq(qv_io_open_default("posix", &io, NULL), QV_OK);
    if (qv_store_open(vdir, io, NULL, &st, &e) != QV_OK ||
        qv_store_get(st, &ci, &c, &e) != QV_OK) {
        snprintf(why, cap, "reopen failed: %s", e.msg);
        goto done;
    }
    qv_store_wal_totals_get(st, &wt);
    fg->torn_repaired += wt.torn_tails;
    if (qv_coll_query(c, &ci.schema, &q, &out, NULL, &e) != QV_OK) {
        snprintf(why, cap, "query failed: %s", e.msg);
        goto done;
    }
    memset(&got, 0, sizeof got);
    for (size_t r = 0; r < out.rows && !why[0]; r++) {
        int64_t key;
        int32_t tag;
        float v[DIM], w[DIM];
        memcpy(&key, qv_colbuf_fixed(&out.cols[0], r), sizeof key);
        memcpy(v, qv_colbuf_fixed(&out.cols[1], r), sizeof v);
        memcpy(&tag, qv_colbuf_fixed(&out.cols[2], r), sizeof tag);
        vec_of(key, tag, w);
        if (key < 0 || key >= KEYS || got.live[key] || memcmp(v, w, sizeof v))
            snprintf(why, cap, "row %lld is malformed or duplicated", (long long)key);
        else
            got.live[key] = true, got.tag[key] = tag;
    }
    nrows = out.rows;
    qv_rowbatch_fini(&out);
    if (!why[0] && qv_coll_count(c, -1) != nrows)
        snprintf(why, cap, "count %" PRIu64 " differs from the %zu rows queried",
                 qv_coll_count(c, -1), nrows);
    *matched = UINT64_MAX;
    for (uint64_t h = done; !why[0] && h <= done + 1 && *matched == UINT64_MAX; h++) {
        model_at(&want, t->seed, h);
        if (model_equal(&want, &got))
            *matched = h;
    }
    if (!why[0] && *matched == UINT64_MAX) {
        model_at(&want, t->seed, done);
        int lost = 0, extra = 0, stale = 0;
        for (int k = 0; k < KEYS; k++) {
            lost += want.live[k] && !got.live[k];
            extra += !want.live[k] && got.live[k];
            stale += want.live[k] && got.live[k] && want.tag[k] != got.tag[k];
        }
        int at = snprintf(why, cap,
                          "rows match neither %" PRIu64 " nor %" PRIu64 " operations: vs the "
                          "first, %d missing, %d extra, %d with another version (key:version "
                          "found/expected:",
                          done, done + 1, lost, extra, stale);
        for (int k = 0, shown = 0; k < KEYS && shown < 6 && at > 0 && (size_t)at < cap; k++) {
            if (want.live[k] == got.live[k] && (!want.live[k] || want.tag[k] == got.tag[k]))
                continue;
            at += snprintf(why + at, cap - (size_t)at, " %d:%d/%d", k,
                           got.live[k] ? got.tag[k] : -1, want.live[k] ? want.tag[k] : -1);
            shown++;
        }
        if (at > 0 && (size_t)at < cap)
            snprintf(why + at, cap - (size_t)at, ")");
    }
done:
    if (c)
        qv_coll_data_unref(c);
    if (st)
        qv_store_close(st);
    qv_io_free(io);
    qv_collection_info_fini(&ci);
    if (!why[0])
        check_index_files(vdir, fg, why, cap);
    test_rmtree(vdir);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double budget_s = 20;
static uint64_t base_seed;
static bool trace; /* QV_POWERLOSS_TRIAL: one trial, traced */

/* One trial: GENERATIONS crashes in a row on a fresh directory. */
static void run_trial(uint64_t seed, uint64_t *est_syncs, figures *fg)
{
    uint64_t history = 0, est0 = *est_syncs;
    char why[1024];

    test_mkdtemp(dir, sizeof dir);
    for (int g = 0; g < GENERATIONS; g++) {
        uint64_t r = mix(seed ^ (uint64_t)(g + 100)), matched = 0;
        trial t = {.seed = seed, .crash_seed = r, .start = history, .ops = OPS_PER_GEN};
        int status;
        pid_t pid;

        t.mode = (qv_io_crash_mode)(r % 4 == 3 ? QV_IO_CRASH_TEAR : r % 4);
        t.garbage = t.mode == QV_IO_CRASH_TEAR && (r >> 8) % 2;
        t.crash_at = 1 + mix(r) % (*est_syncs + *est_syncs / 8 + 1);
        atomic_store(&sh->done, history);
        atomic_store(&sh->ended, 0);
        atomic_store(&sh->recovered, 0);
        atomic_store(&sh->syncs, 0);
        sh->msg[0] = '\0';
        fflush(stdout);
        if ((pid = fork()) == 0)
            child_run(&t);
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "trial seed %" PRIu64 " generation %d (crash at sync %" PRIu64
                      ", mode %d): child %s %d: %s",
                      seed, g, t.crash_at, (int)t.mode,
                      WIFEXITED(status) ? "exited" : "died of signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), sh->msg);
        fg->crash_points++;
        fg->modes[t.mode]++;
        if (atomic_load(&sh->ended) && atomic_load(&sh->syncs) > *est_syncs)
            *est_syncs = atomic_load(&sh->syncs);
        fg->during_recovery += !atomic_load(&sh->recovered);
        verify(&t, atomic_load(&sh->done), &matched, fg, why, sizeof why);
        if (why[0]) {
            fg->lost++;
            ck_abort_msg("trial seed %" PRIu64 " generation %d, crash at sync %" PRIu64
                         " of ~%" PRIu64 ", mode %s%s, %" PRIu64 " operations acknowledged: "
                         "%s (the crash state is kept in %s; replay: QV_POWERLOSS_TRIAL=%" PRIu64
                         " QV_POWERLOSS_EST=%" PRIu64 ")",
                         seed, g, t.crash_at, *est_syncs,
                         t.mode == QV_IO_CRASH_DROP   ? "drop"
                         : t.mode == QV_IO_CRASH_KEEP ? "keep"
                                                      : "tear",
                         t.garbage ? "+garbage" : "", atomic_load(&sh->done), why, dir, seed,
                         est0);
        }
        if (trace)
            printf("  generation %d: mode %d%s, crash at sync %" PRIu64 " (%s), %" PRIu64
                   " operations acknowledged, state after %" PRIu64 "\n",
                   g, (int)t.mode, t.garbage ? "+garbage" : "", t.crash_at,
                   atomic_load(&sh->ended) ? "after the last operation" : "mid-way",
                   atomic_load(&sh->done), matched);
        if (matched > atomic_load(&sh->done))
            fg->inflight_kept++;
        else if (!atomic_load(&sh->ended))
            fg->inflight_lost++;
        history = matched;
    }
    test_rmtree(dir);
}

/* ---- the backend itself ----------------------------------------------------------------- */

static size_t file_len(const char *root, const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof path, "%s/%s", root, name);
    if ((fp = fopen(path, "rb")) == NULL)
        return SIZE_MAX;
    n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

/* What each mode leaves: synced bytes always; unsynced bytes, creates and renames only
 * when kept; a torn file is sector-wise one version or the other. */
START_TEST(test_crashsim_model)
{
    static const qv_io_crash_mode modes[] = {QV_IO_CRASH_DROP, QV_IO_CRASH_KEEP,
                                             QV_IO_CRASH_TEAR};
    qv_io_crash_mode mode = modes[_i];
    uint8_t a[2048], b[2048], got[4096];
    char root[256], path[512];
    qv_io *posix, *io;
    qv_file *f;
    qv_error e;
    size_t n;

    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    test_mkdtemp(root, sizeof root);
    snprintf(path, sizeof path, "%s/old", root);
    ck_assert_int_eq(qv_io_open_default("posix", &posix, NULL), QV_OK);
    ck_assert_int_eq(qv_io_write_file_atomic(posix, path, a, 1024, NULL), QV_OK); /* durable */
    qv_io_crash_opts o = {.root = root, .mode = mode, .seed = 3, .skip_inner_sync = true};
    ck_assert_int_eq(qv_io_crashsim_new(posix, &o, &io, &e), QV_OK);
    ck_assert_int_eq(qv_io_open(io, path, QV_IO_WRITE, &f, NULL), QV_OK);
    ck_assert_int_eq(qv_io_pwrite(f, b, 2048, 512, NULL), QV_OK); /* unsynced overwrite */
    qv_io_close(f);
    snprintf(path, sizeof path, "%s/sub", root);
    ck_assert_int_eq(qv_io_mkdir_durable(io, path, NULL), QV_OK); /* a durable entry */
    snprintf(path, sizeof path, "%s/sub/new", root);
    ck_assert_int_eq(qv_io_open(io, path, QV_IO_WRITE | QV_IO_CREATE, &f, NULL), QV_OK);
    ck_assert_int_eq(qv_io_write_sync(f, a, 100, 0, NULL), QV_OK); /* data synced, entry not */
    qv_io_close(f);
    ck_assert_uint_eq(qv_io_crashsim_syncs(io), 2);
    qv_io_crashsim_crash(io);
    ck_assert_int_ne(qv_io_unlink(io, path, NULL), QV_OK); /* dead after the crash */
    qv_io_free(io);

    n = file_len(root, "old", got, sizeof got);
    if (mode == QV_IO_CRASH_DROP) {
        ck_assert_uint_eq(n, 1024);
        ck_assert(!memcmp(got, a, 1024));
        ck_assert_uint_eq(file_len(root, "sub/new", got, sizeof got), SIZE_MAX);
    } else if (mode == QV_IO_CRASH_KEEP) {
        ck_assert_uint_eq(n, 2560);
        ck_assert(!memcmp(got, a, 512) && !memcmp(got + 512, b, 2048));
        ck_assert_uint_eq(file_len(root, "sub/new", got, sizeof got), 100);
    } else {
        ck_assert(n == 1024 || n == 2560);
        ck_assert(!memcmp(got, a, 512)); /* sector 0 never changed */
        for (size_t at = 512; at < n; at += 512) { /* each sector whole, old, new or zero */
            uint8_t c = got[at];
            ck_assert(c == 'a' || c == 'b' || c == 0);
            for (size_t i = at; i < n && i < at + 512; i++)
                ck_assert_int_eq(got[i], c);
        }
    }
    ck_assert_uint_ne(file_len(root, "sub", got, 0), SIZE_MAX); /* the synced mkdir stays */
    qv_io_free(posix);
    test_rmtree(root);
}
END_TEST

START_TEST(test_power_loss_keeps_a_prefix_of_acknowledged_writes)
{
    uint64_t est = 64, trials = 0;
    double start = now_s();
    figures fg = {0};

    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(sh, MAP_FAILED);
    if (!getenv("QV_POWERLOSS_VERBOSE"))
        qv_log_setup("error", NULL);
    if (getenv("QV_POWERLOSS_TRIAL")) { /* replay one trial (background timing varies) */
        uint64_t seed = strtoull(getenv("QV_POWERLOSS_TRIAL"), NULL, 0);
        op o;
        trace = true;
        if (getenv("QV_POWERLOSS_EST"))
            est = strtoull(getenv("QV_POWERLOSS_EST"), NULL, 0);
        for (uint64_t i = 0; i < OPS_PER_GEN * GENERATIONS; i++) {
            op_gen(seed, i, &o);
            printf("  op %" PRIu64 ": %s n=%d first key %lld\n", i, op_names[o.kind], o.n,
                   (long long)o.keys[0]);
        }
        run_trial(seed, &est, &fg);
        return;
    }
    printf("power loss: base seed %" PRIu64 ", %.0f s\n", base_seed, budget_s);
    do {
        run_trial(mix(base_seed + trials), &est, &fg);
        trials++;
    } while (now_s() - start < budget_s);
    printf("power loss: %" PRIu64 " trials in %.1f s; crash modes drop/keep/tear %" PRIu64
           "/%" PRIu64 "/%" PRIu64 "; crashes during recovery %" PRIu64
           "; in-flight operation kept %" PRIu64 ", not kept %" PRIu64
           "; torn WAL tails repaired %" PRIu64 "; index files checked %" PRIu64
           ", segment files seen %" PRIu64 ", temp files left after reopen %" PRIu64
           "; ~%" PRIu64 " sync points per generation\n",
           trials, now_s() - start, fg.modes[0], fg.modes[1], fg.modes[2], fg.during_recovery,
           fg.inflight_kept, fg.inflight_lost, fg.torn_repaired, fg.index_files,
           fg.segment_files, fg.tmp_left, est);
    printf("crash points tried: %" PRIu64 ", acknowledged writes lost: %" PRIu64 "\n",
           fg.crash_points, fg.lost);
    munmap(sh, sizeof *sh);
}
END_TEST

int main(int argc, char **argv)
{
    const char *secs = argc > 1 ? argv[1] : getenv("QV_POWERLOSS_SECONDS");
    const char *seed = getenv("QV_POWERLOSS_SEED");
    Suite *s = suite_create("powerloss");
    TCase *tc = tcase_create("core");

    if (secs && atof(secs) > 0)
        budget_s = atof(secs);
    base_seed = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);
    if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1); /* tmpfs: the model decides durability anyway */
    tcase_set_timeout(tc, budget_s * 2 + 120);
    tcase_add_loop_test(tc, test_crashsim_model, 0, 3);
    tcase_add_test(tc, test_power_loss_keeps_a_prefix_of_acknowledged_writes);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
