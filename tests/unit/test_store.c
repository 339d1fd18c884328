/* SPDX-License-Identifier: Apache-2.0 */
/* test_store.c - the row store: insert, upsert, delete, query, counts; everything
 * acknowledged survives reopen (WAL replay); concurrent writers; both I/O backends. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "quiver/store.h"
#include "quiver/wal.h"
#include "testutil.h"

static char dir[256];

/* id Int64 pk, v FloatVector(2), tag Int32 (nullable), shards as given. */
static void make_info(qv_collection_info *ci, int shards)
{
    test_vector_collection(ci, shards, 2, true);
}

static void make_rows(const qv_schema *s, qv_rowbatch *b, int64_t first, int n, int32_t tag)
{
    test_make_rows(s, b, first, n, tag);
}

static qv_filter *compile(const qv_schema *s, const char *expr)
{
    qv_filter *f = NULL;
    qv_error e;
    ck_assert_msg(qv_filter_compile(s, expr, strlen(expr), NULL, &f, &e) == QV_OK, "%s", e.msg);
    return f;
}

static uint64_t count_where(qv_coll_data *c, const qv_schema *s, const char *expr)
{
    qv_filter *f = compile(s, expr);
    qv_query_opts q = {.filter = f, .count_only = true};
    uint64_t n = 0;
    ck_assert_int_eq(qv_coll_query(c, s, &q, NULL, &n, NULL), QV_OK);
    qv_filter_free(f);
    return n;
}

START_TEST(test_write_read_reopen)
{
    qv_io *io = test_open_io(_i);
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_rowbatch rows, out;
    qv_filter *f;
    qv_query_opts q;
    uint64_t deleted;
    int64_t id;

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 2);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    make_rows(&ci.schema, &rows, 0, 100, 1);
    ck_assert_int_eq(qv_coll_insert(c, 7, &rows, NULL), QV_OK);
    qv_rowbatch_fini(&rows);
    make_rows(&ci.schema, &rows, 90, 20, 2); /* 90..109: 10 replace, 10 new */
    ck_assert_int_eq(qv_coll_upsert(c, 7, &rows, NULL), QV_OK);
    qv_rowbatch_fini(&rows);
    ck_assert_uint_eq(qv_coll_count(c, -1), 110);
    ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 2"), 20);
    f = compile(&ci.schema, "id < 10 or id >= 105");
    ck_assert_int_eq(qv_coll_delete(c, f, NULL, 0, &deleted, NULL), QV_OK);
    ck_assert_uint_eq(deleted, 15);
    qv_filter_free(f);
    qv_coll_data_unref(c);
    qv_store_close(st);

    /* reopen: the WAL replays to the same state */
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 95);
    ck_assert_uint_eq(qv_coll_count(c, 7), 95);
    ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 2"), 15);
    ck_assert_uint_eq(count_where(c, &ci.schema, "id < 10"), 0);
    q = (qv_query_opts){.offset = 5, .limit = 3};
    ck_assert_int_eq(qv_coll_query(c, &ci.schema, &q, &out, NULL, NULL), QV_OK);
    ck_assert_uint_eq(out.rows, 3); /* primary-key order across both shards */
    memcpy(&id, qv_colbuf_fixed(&out.cols[0], 0), sizeof id);
    ck_assert_int_eq(id, 15);
    qv_rowbatch_fini(&out);
    qv_coll_data_unref(c);
    ck_assert_int_eq(qv_store_drop(st, 42, NULL), QV_OK);
    qv_store_close(st);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

typedef struct writer_arg {
    qv_coll_data *c;
    const qv_schema *s;
    int64_t base;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < 50; i++) {
        qv_rowbatch rows;
        make_rows(a->s, &rows, a->base + i * 10, 10, i % 3 ? -1 : 5);
        ck_assert_int_eq(qv_coll_insert(a->c, 1, &rows, NULL), QV_OK);
        qv_rowbatch_fini(&rows);
    }
    return NULL;
}

START_TEST(test_concurrent_writers_survive_reopen)
{
    qv_io *io = test_open_io(_i);
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    pthread_t t[6];
    writer_arg args[6];

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 1);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    for (int i = 0; i < 6; i++) {
        args[i] = (writer_arg){c, &ci.schema, (int64_t)i * 100000};
        pthread_create(&t[i], NULL, writer, &args[i]);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(qv_coll_count(c, -1), 3000);
    qv_coll_data_unref(c);
    qv_store_close(st);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 3000);
    ck_assert_uint_eq(count_where(c, &ci.schema, "tag is null"), 1980); /* 33 of 50 batches per writer */
    qv_coll_data_unref(c);
    qv_store_close(st);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

START_TEST(test_fsync_failure_is_not_acknowledged)
{
    qv_io *inner = test_open_io(0), *io;
    qv_io_fault fault = {.op = QV_IO_FAULT_FSYNC, .nth = 1, .errnum = 28 /* ENOSPC */};
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_rowbatch rows;
    qv_error e;

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 1);
    ck_assert_int_eq(qv_io_faulty_new(inner, NULL, &io, NULL), QV_OK);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    make_rows(&ci.schema, &rows, 0, 10, 1);
    ck_assert_int_eq(qv_coll_insert(c, 1, &rows, NULL), QV_OK);
    qv_io_faulty_arm(io, &fault);
    ck_assert_int_ne(qv_coll_insert(c, 1, &rows, &e), QV_OK); /* never acked */
    ck_assert_uint_eq(qv_coll_count(c, -1), 10);                /* nor visible; reads go on */
    qv_coll_data_unref(c);
    qv_store_close(st);
    qv_io_free(io);
    ck_assert_int_eq(qv_store_open(dir, inner, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 10);
    qv_coll_data_unref(c);
    qv_store_close(st);
    qv_rowbatch_fini(&rows);
    qv_collection_info_fini(&ci);
    qv_io_free(inner);
    test_rmtree(dir);
}
END_TEST

/* Exact search equals a naive scan: same distances in the same order, for each metric. */
START_TEST(test_search_matches_naive)
{
    qv_io *io = test_open_io(0);
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_rowbatch rows;
    float q[2] = {3.5f, 1.0f};
    qv_search_result r;
    qv_error e;

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 3);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    make_rows(&ci.schema, &rows, 0, 50, 1); /* v = (id, 1) */
    ck_assert_int_eq(qv_coll_insert(c, 1, &rows, NULL), QV_OK);
    qv_rowbatch_fini(&rows);
    for (int metric = QV_METRIC_L2; metric <= QV_METRIC_COSINE; metric++) {
        qv_search_opts o = {.field = 1, .metric = (qv_metric_kind)metric, .queries = q, .nq = 1,
                            .k = 4};
        ck_assert_msg(qv_coll_search(c, &ci.schema, &o, &r, &e) == QV_OK, "%s", e.msg);
        ck_assert_uint_eq(r.first[1], 4);
        for (size_t i = 0; i < 4; i++) {
            int64_t id;
            memcpy(&id, qv_colbuf_fixed(&r.rows.cols[0], i), 8);
            if (metric == QV_METRIC_L2) { /* nearest ids to 3.5: 3 and 4 tie, pk breaks it */
                const int64_t want[] = {3, 4, 2, 5};
                ck_assert_int_eq(id, want[i]);
                ck_assert_float_eq_tol(r.distance[i], (float)((id - 3.5) * (id - 3.5)), 1e-5);
            } else if (metric == QV_METRIC_IP) { /* largest ids first */
                ck_assert_int_eq(id, 49 - (int64_t)i);
            }
        }
        qv_search_result_fini(&r);
    }
    {
        qv_filter *f = compile(&ci.schema, "id % 2 == 1");
        qv_search_opts o = {.field = 1, .metric = QV_METRIC_L2, .queries = q, .nq = 1, .k = 5,
                            .filter = f, .has_radius = true, .radius = 7.0f};
        ck_assert_int_eq(qv_coll_search(c, &ci.schema, &o, &r, NULL), QV_OK);
        /* odd ids with (id-3.5)^2 < 7: 1, 3, 5 */
        ck_assert_uint_eq(r.first[1], 3);
        qv_search_result_fini(&r);
        qv_filter_free(f);
    }
    qv_coll_data_unref(c);
    qv_store_close(st);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

static void set_ttl(qv_collection_info *ci, const char *secs)
{
    if (secs)
        ck_assert_int_eq(qv_kvlist_set(&ci->properties, "collection.ttl.seconds", secs), QV_OK);
    else
        qv_kvlist_remove(&ci->properties, "collection.ttl.seconds");
}

/* Open the store in dir (o NULL: defaults) and collection ci in it; close both. */
static void open_coll(qv_io *io, const qv_store_opts *o, const qv_collection_info *ci,
                      qv_store **st, qv_coll_data **c)
{
    ck_assert_int_eq(qv_store_open(dir, io, o, st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(*st, ci, c, NULL), QV_OK);
}

static void close_coll(qv_store *st, qv_coll_data *c)
{
    qv_coll_data_unref(c);
    qv_store_close(st);
}

/* Insert ids [first, first + n) with tag into partition part (import: qv_coll_import). */
static void put_rows(qv_coll_data *c, const qv_schema *s, bool import, int64_t part,
                     const int64_t *parts, int64_t first, int n, int32_t tag)
{
    qv_rowbatch rows;
    qv_error e;

    make_rows(s, &rows, first, n, tag);
    if (import)
        ck_assert_msg(qv_coll_import(c, part, parts, &rows, &e) == QV_OK, "%s", e.msg);
    else if (parts)
        ck_assert_msg(qv_coll_write_routed(c, tag == 2, parts, &rows, &e) == QV_OK, "%s", e.msg);
    else
        ck_assert_msg(qv_coll_insert(c, part, &rows, &e) == QV_OK, "%s", e.msg);
    qv_rowbatch_fini(&rows);
}

/* Hits of an L2 search for (0, 0) with k = 1000. */
static size_t search_hits(qv_coll_data *c, const qv_schema *s)
{
    return test_search_hits(c, s, 1000);
}

/* collection.ttl.seconds: rows older than the TTL (by their write's time, kept in the WAL
 * and in segment files) vanish from every read at once, stay expired across reopen, and
 * compaction purges them. */
START_TEST(test_ttl_expiry_and_purge)
{
    qv_io *io = test_open_io(_i);
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    uint64_t purged = 0;

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 2);
    open_coll(io, NULL, &ci, &st, &c);
    put_rows(c, &ci.schema, false, 1, NULL, 0, 100, 1); /* old rows: sealed ... */
    ck_assert_int_eq(qv_coll_flush(c, NULL), QV_OK);
    put_rows(c, &ci.schema, false, 1, NULL, 100, 50, 1); /* ... and growing */
    usleep(2200 * 1000);
    put_rows(c, &ci.schema, false, 1, NULL, 150, 50, 2); /* new rows */
    qv_coll_data_unref(c);

    set_ttl(&ci, "2"); /* the old rows vanish at once */
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 50);
    ck_assert_uint_eq(qv_coll_count(c, 1), 50);
    ck_assert_uint_eq(count_where(c, &ci.schema, "id < 150"), 0);
    ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 2"), 50);
    ck_assert_uint_eq(search_hits(c, &ci.schema), 50);
    close_coll(st, c);

    /* reopen: the times come back from the segment file and the WAL */
    open_coll(io, NULL, &ci, &st, &c);
    ck_assert_uint_eq(qv_coll_count(c, -1), 50);
    ck_assert_int_eq(qv_coll_compact(c, &purged, NULL), QV_OK);
    ck_assert_uint_eq(purged, 150);
    ck_assert_uint_eq(qv_coll_count(c, -1), 50);
    close_coll(st, c);

    /* purged for good: without the TTL they do not come back */
    set_ttl(&ci, NULL);
    open_coll(io, NULL, &ci, &st, &c);
    ck_assert_uint_eq(qv_coll_count(c, -1), 50);
    ck_assert_uint_eq(search_hits(c, &ci.schema), 50);
    close_coll(st, c);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

/* qv_coll_write_routed: each row lands in its own partition, across shards and reopen. */
START_TEST(test_routed_write)
{
    qv_io *io = test_open_io(_i);
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    int64_t parts[40];

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 3);
    open_coll(io, NULL, &ci, &st, &c);
    for (int i = 0; i < 40; i++)
        parts[i] = 100 + i % 4;
    put_rows(c, &ci.schema, false, 0, parts, 0, 40, 1);
    for (int i = 0; i < 4; i++)
        parts[i] = 100;
    put_rows(c, &ci.schema, false, 0, parts, 0, 4, 2); /* upsert keys 0..3 into 100 */
    for (int reopen = 0; reopen < 2; reopen++) {
        if (reopen) {
            close_coll(st, c);
            open_coll(io, NULL, &ci, &st, &c);
        }
        ck_assert_uint_eq(qv_coll_count(c, -1), 40);
        ck_assert_uint_eq(qv_coll_count(c, 100), 13);
        ck_assert_uint_eq(qv_coll_count(c, 101), 9);
        ck_assert_uint_eq(qv_coll_count(c, 103), 9);
        ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 2"), 4);
    }
    close_coll(st, c);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

/* qv_coll_import: rows become sealed segments (at most segment_max_rows each) without a
 * WAL record, replace stored keys, and survive reopen through the manifest alone. */
START_TEST(test_import_sealed_segments)
{
    qv_io *io = test_open_io(_i);
    qv_store_opts opts = QV_STORE_OPTS_DEFAULT;
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_store_seg_totals t;
    int64_t parts[20];

    opts.segment_max_rows = 30;
    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 2);
    open_coll(io, &opts, &ci, &st, &c);
    put_rows(c, &ci.schema, false, 1, NULL, 0, 25, 1); /* growing; 40..49 replaced below */
    put_rows(c, &ci.schema, false, 1, NULL, 25, 25, 1);
    put_rows(c, &ci.schema, true, 9, NULL, 40, 100, 3);
    for (int i = 0; i < 20; i++)
        parts[i] = 20 + i % 2;
    put_rows(c, &ci.schema, true, 0, parts, 300, 20, 4); /* per-row partitions */
    put_rows(c, &ci.schema, false, 1, NULL, 200, 10, 2); /* writes go on after it */
    qv_store_seg_totals_get(st, &t);
    ck_assert_uint_eq(t.sealed_rows, 170); /* 50 sealed by the import, 100 + 20 imported */
    ck_assert_uint_eq(t.growing_rows, 10);
    ck_assert_uint_ge(t.sealed, 6);        /* 100 rows over 2 shards in <= 30-row segments */
    for (int reopen = 0; reopen < 2; reopen++) {
        if (reopen) {
            close_coll(st, c);
            open_coll(io, &opts, &ci, &st, &c);
        }
        ck_assert_uint_eq(qv_coll_count(c, -1), 170);
        ck_assert_uint_eq(qv_coll_count(c, 9), 100);
        ck_assert_uint_eq(qv_coll_count(c, 1), 50);
        ck_assert_uint_eq(qv_coll_count(c, 21), 10);
        ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 1"), 40);
        ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 3 and id < 50"), 10);
        ck_assert_uint_eq(search_hits(c, &ci.schema), 170);
    }
    close_coll(st, c);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

/* A WAL written before row times existed (record types 1 and 2: partition id, parts)
 * still replays; its rows have no time and never expire. */
START_TEST(test_v1_records_replay)
{
    qv_io *io = test_open_io(0);
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_rowbatch rows;
    qv_wal *w;
    qv_buf rec;
    char wal_dir[512];
    qv_wal_opts o = {.dir = wal_dir, .io = io};

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 1);
    snprintf(wal_dir, sizeof wal_dir, "%s/collections", dir);
    ck_assert_int_eq(qv_io_mkdir(io, wal_dir, NULL), QV_OK);
    strcat(wal_dir, "/42");
    ck_assert_int_eq(qv_io_mkdir(io, wal_dir, NULL), QV_OK);
    strcat(wal_dir, "/wal");
    ck_assert_int_eq(qv_wal_open(&o, NULL, NULL, &w, NULL), QV_OK);
    for (int type = 1; type <= 2; type++) { /* INSERT_V1 ids 0..9, UPSERT_V1 ids 5..14 */
        size_t len_at;
        make_rows(&ci.schema, &rows, type == 1 ? 0 : 5, 10, type);
        qv_buf_init(&rec);
        qv_buf_put_u64(&rec, 7);
        qv_buf_put_u32(&rec, 1);
        qv_buf_put_u32(&rec, 0);
        len_at = rec.len;
        qv_buf_put_u64(&rec, 0);
        qv_rowbatch_encode(&rows, &rec);
        qv_store_le64(rec.data + len_at, rec.len - len_at - 8);
        ck_assert_int_eq(qv_wal_append(w, (uint8_t)type, rec.data, rec.len, NULL, NULL), QV_OK);
        qv_buf_fini(&rec);
        qv_rowbatch_fini(&rows);
    }
    ck_assert_int_eq(qv_wal_sync(w, UINT64_MAX, NULL), QV_OK);
    qv_wal_close(w);
    set_ttl(&ci, "1");
    open_coll(io, NULL, &ci, &st, &c);
    ck_assert_uint_eq(qv_coll_count(c, 7), 15);
    ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 2"), 10);
    put_rows(c, &ci.schema, false, 7, NULL, 100, 5, 3); /* new records: type 4 */
    ck_assert_int_eq(qv_coll_flush(c, NULL), QV_OK);
    close_coll(st, c);
    usleep(1100 * 1000);
    open_coll(io, NULL, &ci, &st, &c);
    ck_assert_uint_eq(qv_coll_count(c, -1), 15); /* the new rows expired, the old ones not */
    close_coll(st, c);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

/* Flip one byte of the first file in the collection directory whose name starts with
 * prefix. */
static void damage_file(qv_io *io, const char *prefix, long offset)
{
    char **names = NULL, path[512] = "";
    size_t n = 0;
    FILE *fp;

    snprintf(path, sizeof path, "%s/collections/42", dir);
    ck_assert_int_eq(qv_io_list_dir(io, path, &names, &n, NULL), QV_OK);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(names[i], prefix, strlen(prefix)))
            snprintf(path, sizeof path, "%s/collections/42/%s", dir, names[i]);
    qv_io_free_names(names, n);
    fp = fopen(path, "r+b");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, offset, SEEK_SET);
    int ch = fgetc(fp);
    fseek(fp, offset, SEEK_SET);
    fputc(ch ^ 0x5a, fp);
    fclose(fp);
}

/* A seal (flush) plus the WAL tail after it restore the same state; a damaged segment
 * file or manifest refuses to open, naming the file. */
START_TEST(test_seal_and_tail)
{
    qv_io *io = test_open_io(_i);
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_rowbatch rows;
    qv_filter *f;
    uint64_t deleted;
    qv_error e;

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 2);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    make_rows(&ci.schema, &rows, 0, 100, 1);
    ck_assert_int_eq(qv_coll_insert(c, 1, &rows, NULL), QV_OK);
    qv_rowbatch_fini(&rows);
    f = compile(&ci.schema, "id < 5");
    ck_assert_int_eq(qv_coll_delete(c, f, NULL, 0, &deleted, NULL), QV_OK);
    qv_filter_free(f);
    ck_assert_int_eq(qv_coll_flush(c, NULL), QV_OK); /* seal */
    make_rows(&ci.schema, &rows, 95, 10, 2);          /* tail: 5 replace, 5 new */
    ck_assert_int_eq(qv_coll_upsert(c, 1, &rows, NULL), QV_OK);
    qv_rowbatch_fini(&rows);
    qv_coll_data_unref(c);
    qv_store_close(st);

    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 100);
    ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 2"), 10);
    ck_assert_uint_eq(count_where(c, &ci.schema, "id < 5"), 0);
    qv_coll_data_unref(c);
    qv_store_close(st);

    /* damage a segment file, then the manifest: the collection refuses to open, naming
     * the file */
    damage_file(io, "seg-", 60);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, &e), QV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, "seg-"));
    qv_store_close(st);
    damage_file(io, "seg-", 60); /* repaired */
    damage_file(io, "manifest", 30);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, &e), QV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, "manifest.qvm"));
    qv_store_close(st);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

static size_t count_files(const char *prefix)
{
    char **names = NULL, path[512];
    size_t n = 0, hits = 0;
    qv_io *io = test_open_io(0);

    snprintf(path, sizeof path, "%s/collections/42", dir);
    ck_assert_int_eq(qv_io_list_dir(io, path, &names, &n, NULL), QV_OK);
    for (size_t i = 0; i < n; i++)
        hits += !strncmp(names[i], prefix, strlen(prefix));
    qv_io_free_names(names, n);
    qv_io_free(io);
    return hits;
}

static void insert_range(qv_coll_data *c, const qv_schema *s, int64_t first, int n, int32_t tag)
{
    qv_rowbatch rows;
    make_rows(s, &rows, first, n, tag);
    ck_assert_int_eq(qv_coll_insert(c, 1, &rows, NULL), QV_OK);
    qv_rowbatch_fini(&rows);
}

static void delete_where(qv_coll_data *c, const qv_schema *s, const char *expr, uint64_t want)
{
    qv_filter *f = compile(s, expr);
    uint64_t deleted;
    ck_assert_int_eq(qv_coll_delete(c, f, NULL, 0, &deleted, NULL), QV_OK);
    ck_assert_uint_eq(deleted, want);
    qv_filter_free(f);
}

/* Deletes and upserts of sealed rows hold across reopen (WAL replay and manifest), across
 * compaction (which merges the small segments and purges the dead rows) and after it. */
START_TEST(test_tombstones_across_seal_and_compaction)
{
    qv_io *io = test_open_io(_i);
    qv_store_opts o = QV_STORE_OPTS_DEFAULT;
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_store_seg_totals t;
    uint64_t purged;

    o.segment_max_rows = 1000;
    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 1);
    ck_assert_int_eq(qv_store_open(dir, io, &o, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    for (int i = 0; i < 4; i++) { /* four small sealed segments of 50 rows */
        insert_range(c, &ci.schema, i * 50, 50, 1);
        ck_assert_int_eq(qv_coll_flush(c, NULL), QV_OK);
    }
    ck_assert_uint_eq(count_files("seg-"), 4);
    delete_where(c, &ci.schema, "id < 20", 20);    /* sealed rows, WAL only */
    insert_range(c, &ci.schema, 60, 10, 2);        /* replaces sealed rows 60..69 */
    qv_coll_data_unref(c);
    qv_store_close(st);

    ck_assert_int_eq(qv_store_open(dir, io, &o, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 180);
    ck_assert_uint_eq(count_where(c, &ci.schema, "id < 20"), 0);
    ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 2"), 10);
    ck_assert_int_eq(qv_coll_flush(c, NULL), QV_OK); /* deletes reach the manifest */
    ck_assert_int_eq(qv_coll_compact(c, &purged, NULL), QV_OK);
    ck_assert_uint_eq(purged, 30); /* 20 deleted + 10 replaced */
    qv_store_seg_totals_get(st, &t);
    ck_assert_uint_eq(t.sealed, 1); /* the five small ones merged into one */
    ck_assert_uint_eq(t.sealed_rows, 180);
    ck_assert_uint_eq(count_files("seg-"), 1);
    delete_where(c, &ci.schema, "id >= 190", 10); /* after compaction, before reopen */
    qv_coll_data_unref(c);
    qv_store_close(st);

    ck_assert_int_eq(qv_store_open(dir, io, &o, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 170);
    ck_assert_uint_eq(count_where(c, &ci.schema, "id < 20 or id >= 190"), 0);
    ck_assert_uint_eq(count_where(c, &ci.schema, "tag == 2"), 10);
    qv_coll_data_unref(c);
    qv_store_close(st);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

/* With a growing budget far below the data, writes wait for sealing instead of failing
 * or growing without bound; every row is there after reopen. */
START_TEST(test_growing_budget_seals)
{
    qv_io *io = test_open_io(0);
    qv_store_opts o = QV_STORE_OPTS_DEFAULT;
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_store_seg_totals t;

    o.segment_max_bytes = 4096;
    o.growing_budget_bytes = 8192;
    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 2);
    ck_assert_int_eq(qv_store_open(dir, io, &o, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    for (int i = 0; i < 40; i++)
        insert_range(c, &ci.schema, i * 100, 100, 1); /* ~3 KiB per batch */
    qv_store_seg_totals_get(st, &t);
    ck_assert_uint_ge(t.sealed, 4);
    ck_assert_uint_le(t.growing_bytes, 8192 + 4096);
    ck_assert_uint_ge(atomic_load(&qv_store_seg_counters(st)->admit_waits), 1);
    qv_coll_data_unref(c);
    qv_store_close(st);
    ck_assert_int_eq(qv_store_open(dir, io, &o, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 4000);
    qv_coll_data_unref(c);
    qv_store_close(st);
    qv_collection_info_fini(&ci);
    qv_io_free(io);
    test_rmtree(dir);
}
END_TEST

/* A seal that fails (disk full, I/O error on a write, fsync or directory fsync) reports the
 * error, loses nothing and leaves reads working; the next seal succeeds and a reopen finds
 * every acknowledged row. */
START_TEST(test_seal_failure_loses_nothing)
{
    static const qv_io_fault faults[] = {
        {.op = QV_IO_FAULT_WRITE, .nth = 1, .errnum = 28 /* ENOSPC */},
        {.op = QV_IO_FAULT_WRITE, .nth = 1, .errnum = 5 /* EIO */, .torn = true},
        {.op = QV_IO_FAULT_FSYNC, .nth = 1, .errnum = 5},
        {.op = QV_IO_FAULT_DIRSYNC, .nth = 1, .errnum = 5},
    };
    qv_io *inner = test_open_io(0), *io;
    qv_store *st;
    qv_collection_info ci;
    qv_coll_data *c;
    qv_error e;

    test_mkdtemp(dir, sizeof dir);
    make_info(&ci, 2);
    ck_assert_int_eq(qv_io_faulty_new(inner, NULL, &io, NULL), QV_OK);
    ck_assert_int_eq(qv_store_open(dir, io, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    insert_range(c, &ci.schema, 0, 100, 1);
    ck_assert_int_eq(qv_coll_flush(c, NULL), QV_OK);
    insert_range(c, &ci.schema, 100, 100, 1);
    delete_where(c, &ci.schema, "id < 10", 10);
    qv_io_faulty_arm(io, &faults[_i]);
    ck_assert_int_ne(qv_coll_flush(c, &e), QV_OK);
    ck_assert_msg(e.msg[0] != 0, "the failure names its cause");
    qv_io_faulty_arm(io, NULL);
    ck_assert_uint_eq(qv_coll_count(c, -1), 190); /* reads go on */
    ck_assert_int_eq(qv_coll_flush(c, NULL), QV_OK);
    qv_coll_data_unref(c);
    qv_store_close(st);
    qv_io_free(io);
    ck_assert_int_eq(qv_store_open(dir, inner, NULL, &st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(st, &ci, &c, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(c, -1), 190);
    ck_assert_uint_eq(count_where(c, &ci.schema, "id < 10"), 0);
    qv_coll_data_unref(c);
    qv_store_close(st);
    qv_collection_info_fini(&ci);
    qv_io_free(inner);
    test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_write_read_reopen, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_concurrent_writers_survive_reopen, 0, QV_IO_BACKEND_COUNT);
    tcase_add_test(tc, test_fsync_failure_is_not_acknowledged);
    tcase_add_test(tc, test_search_matches_naive);
    tcase_add_loop_test(tc, test_seal_and_tail, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_tombstones_across_seal_and_compaction, 0, QV_IO_BACKEND_COUNT);
    tcase_add_test(tc, test_growing_budget_seals);
    tcase_add_loop_test(tc, test_seal_failure_loses_nothing, 0, 4);
    tcase_add_loop_test(tc, test_ttl_expiry_and_purge, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_routed_write, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_import_sealed_segments, 0, QV_IO_BACKEND_COUNT);
    tcase_add_test(tc, test_v1_records_replay);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
