/* SPDX-License-Identifier: Apache-2.0 */
/* test_scalar_index.c - quiver/scalar_index.h: which index types fit which fields, keys
 * and postings of each column kind, lookups, and the serialized form (round trip;
 * truncation and damage refused, never read out of bounds). Filter answers over these
 * indexes are checked against the column evaluator by test_filter's differential test. */
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/scalar_index.h"
#include "testutil.h"

static qv_sindex *build_ints(const int64_t *v, size_t n)
{
    qv_sindex_spec spec;
    qv_sindex *ix;
    qv_error err;

    ck_assert_int_eq(qv_sindex_spec_parse("STL_SORT", "n", QV_TYPE_INT64, QV_TYPE_NONE, false,
                                          NULL, NULL, &spec, &err), QV_OK);
    ck_assert_int_eq(qv_sindex_build(&spec, v, NULL, NULL, n, &ix, &err), QV_OK);
    qv_sindex_spec_fini(&spec);
    return ix;
}

START_TEST(test_spec_rules)
{
    qv_error err;
    qv_sindex_spec s;

    ck_assert_ptr_nonnull(qv_sindex_type_name("inverted"));
    ck_assert_str_eq(qv_sindex_type_name("trie"), "Trie");
    ck_assert_ptr_null(qv_sindex_type_name("HNSW"));
#define BAD(t, ty, et, pk, path, cast, needle)                                                     \
    do {                                                                                           \
        ck_assert_int_eq(qv_sindex_spec_parse(t, "f", ty, et, pk, path, cast, NULL, &err),         \
                         QV_EINVAL);                                                               \
        ck_assert_ptr_nonnull(strstr(err.msg, needle));                                            \
    } while (0)
    BAD("Trie", QV_TYPE_INT64, 0, false, NULL, NULL, "TRIE");
    BAD("STL_SORT", QV_TYPE_BOOL, 0, false, NULL, NULL, "STL_SORT");
    BAD("BITMAP", QV_TYPE_DOUBLE, 0, false, NULL, NULL, "bitmap");
    BAD("BITMAP", QV_TYPE_ARRAY, QV_TYPE_FLOAT, false, NULL, NULL, "bitmap");
    BAD("BITMAP", QV_TYPE_INT64, 0, true, NULL, NULL, "bitmap");
    BAD("INVERTED", QV_TYPE_FLOAT_VECTOR, 0, false, NULL, NULL, "invalid index type");
    BAD("INVERTED", QV_TYPE_JSON, 0, false, NULL, NULL, "cast type");
    BAD("INVERTED", QV_TYPE_JSON, 0, false, "g['a']", "double", "json_path");
    BAD("INVERTED", QV_TYPE_JSON, 0, false, "f['a'", "double", "json_path");
    BAD("INVERTED", QV_TYPE_JSON, 0, false, "f[-1]", "double", "json_path");
    BAD("INVERTED", QV_TYPE_JSON, 0, false, "f['a']", "array_double", "not supported");
    BAD("INVERTED", QV_TYPE_INT64, 0, false, NULL, "double", "JSON fields only");
    ck_assert_int_eq(qv_sindex_spec_parse("AUTOINDEX", "f", QV_TYPE_JSON, 0, false,
                                          "f[\"a\"]['b\\'c'][2]", "VarChar", &s, &err),
                     QV_OK);
    ck_assert_uint_eq(s.nsteps, 3);
    ck_assert_int_eq(s.kind, QV_SKEY_STR);
    ck_assert_str_eq(s.steps[1].key, "b'c");
    ck_assert(s.steps[2].is_index && s.steps[2].index == 2);
    {
        qv_buf b;
        qv_buf_init(&b);
        qv_sindex_path_text(s.steps, s.nsteps, &b);
        ck_assert_uint_eq(b.len, strlen("[\"a\"][\"b'c\"][2]"));
        ck_assert(memcmp(b.data, "[\"a\"][\"b'c\"][2]", b.len) == 0);
        qv_buf_fini(&b);
    }
    qv_sindex_spec_fini(&s);
}
END_TEST

START_TEST(test_lookups)
{
    static const int64_t v[] = {5, 3, 5, 9, -1, 3, 5};
    qv_sindex *ix = build_ints(v, 7);
    qv_skey k = {.i = 5};
    uint64_t bm = 0;
    size_t n;
    const uint32_t *p;

    ck_assert_uint_eq(qv_sindex_rows(ix), 7);
    ck_assert_uint_eq(qv_sindex_keys(ix), 4); /* -1 3 5 9 */
    ck_assert(qv_sindex_exact(ix));
    p = qv_sindex_postings(ix, qv_sindex_lower(ix, &k), &n);
    ck_assert_uint_eq(n, 3);
    ck_assert(p[0] == 0 && p[1] == 2 && p[2] == 6);
    qv_sindex_mark(ix, 0, qv_sindex_lower(ix, &k), &bm); /* < 5 */
    ck_assert_uint_eq(bm, (1u << 1) | (1u << 4) | (1u << 5));
    k.i = 4;
    ck_assert_uint_eq(qv_sindex_lower(ix, &k), qv_sindex_upper(ix, &k)); /* absent */
    qv_sindex_free(ix);
}
END_TEST

START_TEST(test_strings_arrays_json)
{
    static const char bytes[] = "alphaalpinebetaal";
    static const uint64_t off[] = {0, 5, 11, 15, 17, 17};
    uint64_t valid = 0x1f & ~(1u << 2); /* row 2 null */
    qv_sindex_spec spec;
    qv_sindex *ix;
    qv_error err;
    size_t to, from;

    ck_assert_int_eq(qv_sindex_spec_parse("Trie", "s", QV_TYPE_VARCHAR, 0, false, NULL, NULL,
                                          &spec, &err), QV_OK);
    ck_assert_int_eq(qv_sindex_build(&spec, bytes, off, &valid, 5, &ix, &err), QV_OK);
    ck_assert_uint_eq(qv_sindex_keys(ix), 4); /* "" al alpha alpine */
    from = qv_sindex_prefix(ix, "alp", 3, &to);
    ck_assert_uint_eq(to - from, 2);
    from = qv_sindex_prefix(ix, "", 0, &to);
    ck_assert_uint_eq(to - from, 4);
    qv_sindex_free(ix);

    /* JSON: a double cast keys ints and doubles alike; other types have no key; an int
     * beyond 2^53 makes the index inexact */
    {
        qv_jsonb_builder b;
        qv_buf col;
        uint64_t offs[5] = {0};
        const char *docs[] = {"{\"k\":1}", "{\"k\":1.0}", "{\"k\":\"1\"}",
                              "{\"k\":9007199254740993}"};
        qv_buf_init(&col);
        qv_jsonb_builder_init(&b);
        for (size_t i = 0; i < 4; i++) {
            const uint8_t *o;
            size_t len;
            qv_jsonb_builder_reset(&b);
            ck_assert_int_eq(qv_jsonb_parse_json(&b, docs[i], strlen(docs[i]), &err), QV_OK);
            ck_assert_int_eq(qv_jsonb_finish(&b, &o, &len, &err), QV_OK);
            qv_buf_put(&col, o, len);
            offs[i + 1] = col.len;
        }
        ck_assert_int_eq(qv_sindex_spec_parse("INVERTED", "j", QV_TYPE_JSON, 0, false,
                                              "j['k']", "double", &spec, &err), QV_OK);
        ck_assert_int_eq(qv_sindex_build(&spec, col.data, offs, NULL, 3, &ix, &err), QV_OK);
        ck_assert_uint_eq(qv_sindex_keys(ix), 1);
        ck_assert(qv_sindex_exact(ix));
        qv_sindex_free(ix);
        ck_assert_int_eq(qv_sindex_build(&spec, col.data, offs, NULL, 4, &ix, &err), QV_OK);
        ck_assert(!qv_sindex_exact(ix));
        qv_sindex_free(ix);
        qv_sindex_spec_fini(&spec);
        qv_jsonb_builder_fini(&b);
        qv_buf_fini(&col);
    }
}
END_TEST

START_TEST(test_serialized_form)
{
    int64_t v[300];
    qv_sindex *ix, *back;
    qv_buf a, b;
    qv_error err;

    srand(7);
    for (size_t i = 0; i < 300; i++)
        v[i] = rand() % 40 - 20;
    ix = build_ints(v, 300);
    qv_buf_init(&a);
    qv_buf_init(&b);
    ck_assert_int_eq(qv_sindex_serialize(ix, &a, &err), QV_OK);
    ck_assert_int_eq(qv_sindex_deserialize(a.data, a.len, &back, &err), QV_OK);
    ck_assert_int_eq(qv_sindex_serialize(back, &b, &err), QV_OK);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert(memcmp(a.data, b.data, a.len) == 0);
    qv_sindex_free(back);
    /* every truncation is refused; damage is refused or yields a well-formed index */
    for (size_t cut = 0; cut < a.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, a.data, cut);
        ck_assert_int_eq(qv_sindex_deserialize(copy, cut, &back, &err), QV_ECORRUPT);
        free(copy);
    }
    for (size_t i = 0; i < 2000; i++) {
        uint8_t *copy = malloc(a.len);
        memcpy(copy, a.data, a.len);
        copy[(size_t)rand() % a.len] ^= (uint8_t)(1u << (rand() % 8));
        if (qv_sindex_deserialize(copy, a.len, &back, &err) == QV_OK) {
            uint64_t bm[5] = {0};
            qv_sindex_mark(back, 0, qv_sindex_keys(back), bm);
            qv_sindex_free(back);
        }
        free(copy);
    }
    qv_buf_fini(&a);
    qv_buf_fini(&b);
    qv_sindex_free(ix);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scalar_index");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_spec_rules);
    tcase_add_test(tc, test_lookups);
    tcase_add_test(tc, test_strings_arrays_json);
    tcase_add_test(tc, test_serialized_form);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
