/* SPDX-License-Identifier: Apache-2.0 */
/* test_err.c - the error table and qv_error formatting. */
#include <errno.h>
#include <string.h>

#include "quiver/err.h"
#include "testutil.h"

START_TEST(test_table_maps_milvus_codes)
{
    ck_assert_int_eq(qv_err_milvus_code(QV_OK), 0);
    ck_assert_int_eq(qv_err_milvus_code(QV_EBADJSON), 1801);
    ck_assert_int_eq(qv_err_milvus_code(QV_EMISSING), 1802);
    ck_assert_int_eq(qv_err_milvus_code(QV_EINVAL), 1100);
    ck_assert_int_eq(qv_err_milvus_code(QV_ENOCOLL), 100);
    ck_assert_int_eq(qv_err_milvus_code(QV_ENODB), 800);
    ck_assert_int_eq(qv_err_http_status(QV_ETIMEDOUT), 408);
    ck_assert_int_eq(qv_err_milvus_code(QV_ETIMEDOUT), 10001);
    ck_assert_str_eq(qv_err_name(QV_EINVAL), "QV_EINVAL");
    ck_assert_str_eq(qv_err_title(QV_EAUTH), "user hasn't authenticated");
    /* out-of-range codes map to internal error rather than reading past the table */
    ck_assert_int_eq(qv_err_http_status((qv_err)9999), 500);
}
END_TEST

START_TEST(test_error_set_and_prefix)
{
    qv_error e;
    ck_assert_int_eq(qv_error_set(&e, QV_EINVAL, "dim %d", 7), QV_EINVAL);
    ck_assert_int_eq(e.code, QV_EINVAL);
    ck_assert_str_eq(e.msg, "dim 7");
    qv_error_prefix(&e, "fields[%d]: ", 2);
    ck_assert_str_eq(e.msg, "fields[2]: dim 7");
    ck_assert_int_eq(qv_error_sys(&e, QV_EIO, ENOENT, "open %s", "x"), QV_EIO);
    ck_assert_int_eq(e.sys_errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "open x: "));
    ck_assert_int_eq(qv_error_set(NULL, QV_ENOMEM, "ignored"), QV_ENOMEM);
    qv_error_clear(&e);
    ck_assert_int_eq(e.code, QV_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_table_maps_milvus_codes);
    tcase_add_test(tc, test_error_set_and_prefix);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
