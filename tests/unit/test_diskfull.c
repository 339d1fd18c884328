/* SPDX-License-Identifier: Apache-2.0 */
/* test_diskfull.c - the store when the disk fills up or fails, through the faulty I/O
 * backend (the same scenario runs against a real quiverd on a small tmpfs in
 * tests/integration/test_diskfull.py when mounting one is allowed):
 *   - writes fail with a clear error (QV_ENOSPC naming the file), reads go on, seals and
 *     compactions fail cleanly and are retried later;
 *   - once space is back, writes resume without a restart (the WAL drops the records
 *     nobody was told succeeded and continues after the durable ones);
 *   - an I/O error on fsync is different: the WAL stays stopped (fail-stop) until a
 *     restart, which recovers every acknowledged row;
 *   - with several writers racing the fault, exactly the acknowledged rows survive. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "quiver/store.h"
#include "testutil.h"

#define WRITERS 4
#define PER_WRITER 1000

static char dir[256];
static atomic_int finished; /* writers done */

/* A store on the faulty backend over posix in a fresh directory, collection 42 open. */
typedef struct env {
    qv_io *posix, *io;
    qv_collection_info ci;
    qv_store *st;
    qv_coll_data *c;
} env;

static void env_open(env *v)
{
    v->posix = test_open_io(0);
    test_mkdtemp(dir, sizeof dir);
    test_vector_collection(&v->ci, 2, 2, false);
    ck_assert_int_eq(qv_io_faulty_new(v->posix, NULL, &v->io, NULL), QV_OK);
    ck_assert_int_eq(qv_store_open(dir, v->io, NULL, &v->st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(v->st, &v->ci, &v->c, NULL), QV_OK);
}

/* Close, drop the faulty layer and reopen on plain posix (a restart). */
static void env_restart(env *v)
{
    qv_coll_data_unref(v->c);
    qv_store_close(v->st);
    qv_io_free(v->io);
    v->io = NULL;
    ck_assert_int_eq(qv_store_open(dir, v->posix, NULL, &v->st, NULL), QV_OK);
    ck_assert_int_eq(qv_store_get(v->st, &v->ci, &v->c, NULL), QV_OK);
}

static void env_close(env *v)
{
    qv_coll_data_unref(v->c);
    qv_store_close(v->st);
    qv_io_free(v->io);
    qv_collection_info_fini(&v->ci);
    qv_io_free(v->posix);
    test_rmtree(dir);
}

static qv_err put(qv_coll_data *c, const qv_schema *s, int64_t first, int n, qv_error *e)
{
    qv_rowbatch b;
    qv_err rc;

    test_make_rows(s, &b, first, n, 1);
    rc = qv_coll_insert(c, 1, &b, e);
    qv_rowbatch_fini(&b);
    return rc;
}

/* Faults: 0 ENOSPC on writes, 1 ENOSPC on writes landing half their bytes first, 2 ENOSPC
 * on fsync (delayed allocation: the space runs out at writeback). */
START_TEST(test_disk_full_then_space_freed)
{
    static const qv_io_fault faults[] = {
        {.op = QV_IO_FAULT_WRITE, .nth = 1, .errnum = ENOSPC, .sticky = true},
        {.op = QV_IO_FAULT_WRITE, .nth = 1, .errnum = ENOSPC, .sticky = true, .torn = true},
        {.op = QV_IO_FAULT_FSYNC, .nth = 1, .errnum = ENOSPC, .sticky = true},
    };
    env v;
    qv_error e;
    uint64_t purged;

    env_open(&v);
    ck_assert_int_eq(put(v.c, &v.ci.schema, 0, 100, NULL), QV_OK);
    ck_assert_int_eq(qv_coll_flush(v.c, NULL), QV_OK);
    ck_assert_int_eq(put(v.c, &v.ci.schema, 100, 50, NULL), QV_OK);

    qv_io_faulty_arm(v.io, &faults[_i]); /* the disk is full */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(put(v.c, &v.ci.schema, 1000 + i * 10, 10, &e), QV_ENOSPC);
        ck_assert_msg(strstr(e.msg, "No space left on device") && strstr(e.msg, "/wal"),
                      "%s", e.msg);
    }
    ck_assert_uint_eq(qv_coll_count(v.c, -1), 150); /* reads go on */
    ck_assert_uint_eq(test_search_hits(v.c, &v.ci.schema, 5), 5);
    ck_assert_int_eq(qv_coll_flush(v.c, &e), QV_ENOSPC); /* a seal fails cleanly */
    ck_assert_int_ne(qv_coll_compact(v.c, &purged, &e), QV_OK);
    ck_assert_uint_eq(qv_coll_count(v.c, -1), 150);

    qv_io_faulty_arm(v.io, NULL); /* space freed: no restart needed */
    ck_assert_msg(put(v.c, &v.ci.schema, 200, 20, &e) == QV_OK, "%s", e.msg);
    ck_assert_int_eq(qv_coll_flush(v.c, NULL), QV_OK);
    ck_assert_int_eq(put(v.c, &v.ci.schema, 300, 5, NULL), QV_OK);
    ck_assert_uint_eq(qv_coll_count(v.c, -1), 175);
    env_restart(&v); /* nothing corrupt, and the refused rows never appear */
    ck_assert_uint_eq(qv_coll_count(v.c, -1), 175);
    env_close(&v);
}
END_TEST

/* EIO on fsync: fail-stop until the restart, which keeps every acknowledged row. */
START_TEST(test_fsync_error_is_fail_stop_until_restart)
{
    qv_io_fault f = {.op = QV_IO_FAULT_FSYNC, .nth = 1, .errnum = EIO};
    env v;
    qv_error e;

    env_open(&v);
    ck_assert_int_eq(put(v.c, &v.ci.schema, 0, 30, NULL), QV_OK);
    qv_io_faulty_arm(v.io, &f);
    ck_assert_int_eq(put(v.c, &v.ci.schema, 100, 10, &e), QV_EIO);
    qv_io_faulty_arm(v.io, NULL);
    ck_assert_int_eq(put(v.c, &v.ci.schema, 200, 10, &e), QV_EIO); /* still stopped */
    ck_assert_msg(strstr(e.msg, "stopped after an earlier failure"), "%s", e.msg);
    ck_assert_uint_eq(qv_coll_count(v.c, -1), 30);
    env_restart(&v);
    ck_assert_uint_eq(qv_coll_count(v.c, -1), 30);
    ck_assert_int_eq(put(v.c, &v.ci.schema, 200, 10, NULL), QV_OK);
    env_close(&v);
}
END_TEST

typedef struct writer {
    qv_coll_data *c;
    const qv_schema *s;
    int64_t base;
    bool acked[PER_WRITER / 10];
    int failures;
} writer;

static void *write_loop(void *p)
{
    writer *w = p;
    qv_error e;

    for (int b = 0; b < PER_WRITER / 10; b++) {
        qv_err rc = put(w->c, w->s, w->base + b * 10, 10, &e);
        ck_assert_msg(rc == QV_OK || rc == QV_ENOSPC, "%s", e.msg);
        w->acked[b] = rc == QV_OK;
        w->failures += rc != QV_OK;
    }
    atomic_fetch_add(&finished, 1);
    return NULL;
}

/* Writers racing a disk that fills and empties: exactly the acknowledged batches stay. */
/* Rows of batch b of writer w: there exactly when acknowledged. */
static uint64_t batch_rows(qv_coll_data *c, const qv_schema *sc, const writer *w, int b)
{
    qv_query_opts q = {.count_only = true};
    qv_filter *f = NULL;
    uint64_t n = 0;
    char expr[64];

    snprintf(expr, sizeof expr, "id >= %lld and id < %lld", (long long)(w->base + b * 10),
             (long long)(w->base + b * 10 + 10));
    ck_assert_int_eq(qv_filter_compile(sc, expr, strlen(expr), NULL, &f, NULL), QV_OK);
    q.filter = f;
    ck_assert_int_eq(qv_coll_query(c, sc, &q, NULL, &n, NULL), QV_OK);
    qv_filter_free(f);
    return n;
}

START_TEST(test_concurrent_writers_through_disk_full)
{
    pthread_t t[WRITERS];
    writer w[WRITERS];
    uint64_t acked = 0, failed = 0;
    env v;

    env_open(&v);
    atomic_store(&finished, 0);
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){.c = v.c, .s = &v.ci.schema, .base = (int64_t)i * 100000};
        pthread_create(&t[i], NULL, write_loop, &w[i]);
    }
    for (int round = 0; atomic_load(&finished) < WRITERS; round++) { /* full, then room */
        qv_io_fault f = {.op = round % 2 ? QV_IO_FAULT_FSYNC : QV_IO_FAULT_WRITE,
                         .nth = 1 + (uint64_t)round % 3, .errnum = ENOSPC, .sticky = true,
                         .torn = true};
        usleep(2000);
        qv_io_faulty_arm(v.io, &f);
        usleep(300);
        qv_io_faulty_arm(v.io, NULL);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        for (int b = 0; b < PER_WRITER / 10; b++)
            acked += w[i].acked[b];
        failed += (uint64_t)w[i].failures;
    }
    ck_assert_uint_eq(qv_coll_count(v.c, -1), acked * 10);
    ck_assert_int_eq(put(v.c, &v.ci.schema, 9000000, 10, NULL), QV_OK); /* writable again */
    env_restart(&v);
    ck_assert_uint_eq(qv_coll_count(v.c, -1), acked * 10 + 10);
    for (int i = 0; i < WRITERS; i++) /* and exactly those rows */
        for (int b = 0; b < PER_WRITER / 10; b++)
            ck_assert_uint_eq(batch_rows(v.c, &v.ci.schema, &w[i], b), w[i].acked[b] ? 10 : 0);
    printf("disk full under %d writers: %llu batches acknowledged, %llu refused\n", WRITERS,
           (unsigned long long)acked, (unsigned long long)failed);
    env_close(&v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("diskfull");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_disk_full_then_space_freed, 0, 3);
    tcase_add_test(tc, test_fsync_error_is_fail_stop_until_restart);
    tcase_add_loop_test(tc, test_concurrent_writers_through_disk_full, 0, 2);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
