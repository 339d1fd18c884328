/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "quiver/io.h"

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
