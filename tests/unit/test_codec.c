/* SPDX-License-Identifier: Apache-2.0 */
/* test_codec.c - request documents (Milvus binding errors, exact int64) and the writer. */
#include <stdint.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/json.h"
#include "testutil.h"

static qv_jdoc *parse(const char *s, qv_err want, qv_error *e)
{
    qv_jdoc *d = NULL;
    ck_assert_int_eq(qv_jdoc_parse(s, strlen(s), 8, &d, e), want);
    return d;
}

START_TEST(test_parse_errors)
{
    qv_error e;
    qv_jdoc *d;

    parse("", QV_EBADJSON, &e);
    ck_assert_ptr_nonnull(strstr(e.msg, "request body should be nil"));
    parse("{\"a\":", QV_EBADJSON, &e);
    parse("[1]", QV_EBADJSON, &e);
    parse("[[[[[[[[[[1]]]]]]]]]]", QV_EBADJSON, &e);
    parse("{\"a\":[[[[[[[[[[1]]]]]]]]]]}", QV_EBADJSON, &e);
    ck_assert_ptr_nonnull(strstr(e.msg, "nesting"));
    d = parse("null", QV_OK, &e); /* null reads as {} */
    ck_assert_uint_eq(qv_jobj_size(qv_jdoc_root(d)), 0);
    qv_jdoc_free(d);
}
END_TEST

START_TEST(test_binding_errors)
{
    qv_error e;
    qv_jdoc *d = parse("{\"name\":1,\"big\":9223372036854775807,\"s\":\"x\",\"n\":null}", QV_OK, &e);
    const qv_jval *r = qv_jdoc_root(d);
    const char *s;
    int64_t i;
    bool present;

    ck_assert_int_eq(qv_jget_str(r, "name", true, &s, NULL, &e), QV_EBADJSON);
    ck_assert_ptr_nonnull(strstr(e.msg, "cannot unmarshal number into Go struct field .name of "
                                        "type string"));
    ck_assert_int_eq(qv_jget_str(r, "missing", true, &s, NULL, &e), QV_EMISSING);
    ck_assert_ptr_nonnull(strstr(e.msg, "'missing' failed on the 'required' tag"));
    ck_assert_int_eq(qv_jget_str(r, "n", false, &s, &present, &e), QV_OK);
    ck_assert(!present);
    ck_assert_int_eq(qv_jget_int(r, "big", true, &i, NULL, &e), QV_OK);
    ck_assert(i == INT64_MAX); /* exact, never through a double */
    qv_jdoc_free(d);
}
END_TEST

START_TEST(test_writer)
{
    qv_buf b;
    qv_jw w;

    qv_buf_init(&b);
    qv_jw_init(&w, &b);
    qv_jw_obj_begin(&w);
    qv_jw_kint(&w, "i", INT64_MIN);
    qv_jw_key(&w, "f");
    qv_jw_float(&w, 0.1f);
    qv_jw_key(&w, "d");
    qv_jw_double(&w, 0.1);
    qv_jw_key(&w, "a");
    qv_jw_arr_begin(&w);
    qv_jw_str(&w, "q\"\n\x01");
    qv_jw_bool(&w, true);
    qv_jw_null(&w);
    qv_jw_arr_end(&w);
    qv_jw_obj_end(&w);
    ck_assert_str_eq((char *)b.data, "{\"i\":-9223372036854775808,\"f\":0.1,\"d\":0.10000000000000001,"
                                     "\"a\":[\"q\\\"\\n\\u0001\",true,null]}");
    qv_buf_fini(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_binding_errors);
    tcase_add_test(tc, test_writer);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
