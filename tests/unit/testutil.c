/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string.h>

#include "quiver/alloc.h"
#include "quiver/catalog.h"
#include "quiver/io.h"
#include "quiver/rowbatch.h"
#include "quiver/store.h"

#define QV_TEST_MAX_DIM 64

void test_mkdtemp(char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, cap, "%s/qvtest.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

void test_rmtree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

int test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

qv_io *test_open_io(int i)
{
    qv_error e = {0};
    qv_io *io = NULL;

    if (qv_io_open_backend_index(i, &io, &e) != QV_OK) {
        printf("backend %s unavailable here (%s); running with posix\n",
               qv_io_backend_index_name(i), e.msg);
        ck_assert_int_eq(qv_io_open_default("posix", &io, &e), QV_OK);
    }
    return io;
}

void test_vector_collection(qv_collection_info *ci, int shards, uint32_t dim, bool tag)
{
    memset(ci, 0, sizeof *ci);
    ci->id = 42;
    ci->shards_num = shards;
    ci->schema.field_count = tag ? 3 : 2;
    ci->schema.fields = qv_calloc(3, sizeof(qv_field));
    ci->schema.fields[0] = (qv_field){.name = qv_strdup("id"), .type = QV_TYPE_INT64,
                                      .is_primary = true};
    ci->schema.fields[1] = (qv_field){.name = qv_strdup("v"), .type = QV_TYPE_FLOAT_VECTOR,
                                      .dim = dim};
    if (tag)
        ci->schema.fields[2] = (qv_field){.name = qv_strdup("tag"), .type = QV_TYPE_INT32,
                                          .nullable = true};
}

void test_make_rows(const qv_schema *s, qv_rowbatch *b, int64_t first, int n, int32_t tag)
{
    float v[QV_TEST_MAX_DIM] = {0};

    ck_assert_uint_le(s->fields[1].dim, QV_TEST_MAX_DIM);
    ck_assert_int_eq(qv_rowbatch_init(b, s), QV_OK);
    for (int i = 0; i < n; i++) {
        int64_t id = first + i;
        v[0] = (float)id;
        v[1] = (float)tag;
        qv_colbuf_push_fixed(&b->cols[0], &id);
        qv_colbuf_push_fixed(&b->cols[1], v);
        if (s->field_count > 2 && tag < 0)
            qv_colbuf_push_null(&b->cols[2]);
        else if (s->field_count > 2)
            qv_colbuf_push_fixed(&b->cols[2], &tag);
        ck_assert_int_eq(qv_rowbatch_end_row(b, NULL), QV_OK);
    }
}

size_t test_search_hits(qv_coll_data *c, const qv_schema *s, size_t k)
{
    float q[QV_TEST_MAX_DIM] = {0};
    qv_search_opts o = {.field = 1, .metric = QV_METRIC_L2, .queries = q, .nq = 1, .k = k};
    qv_search_result r;
    size_t n;

    ck_assert_int_eq(qv_coll_search(c, s, &o, &r, NULL), QV_OK);
    n = r.first[1];
    qv_search_result_fini(&r);
    return n;
}
