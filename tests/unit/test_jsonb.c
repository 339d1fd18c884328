/* SPDX-License-Identifier: Apache-2.0 */
/* test_jsonb.c - binary JSON: builder/reader round trips, lookups, equality, text I/O,
 * and validation against every truncation and single-bit flip of sample blobs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/jsonb.h"
#include "testutil.h"

/* Parse text into a fresh heap blob (caller frees). */
static uint8_t *blob_of(const char *text, size_t *len)
{
    qv_jsonb_builder b;
    qv_error err;
    uint8_t *out = NULL;

    qv_jsonb_builder_init(&b);
    if (qv_jsonb_parse_json(&b, text, strlen(text), &err) != QV_OK)
        ck_abort_msg("parse %s: %s", text, err.msg);
    ck_assert_int_eq(qv_jsonb_take(&b, &out, len, &err), QV_OK);
    qv_jsonb_builder_fini(&b);
    ck_assert_int_eq(qv_jsonb_validate(out, *len, &err), QV_OK);
    return out;
}

/* JSON text of a value (static buffer per call site is enough for tests). */
static char *text_of(qv_jsonb v)
{
    qv_buf out;
    qv_buf_init(&out);
    qv_jsonb_write_json(&out, v);
    qv_buf_put_u8(&out, 0);
    return (char *)qv_buf_take(&out, NULL);
}

static void check_round_trip(const char *in, const char *want)
{
    size_t n;
    uint8_t *b = blob_of(in, &n);
    char *t = text_of(qv_jsonb_root(b, n));
    ck_assert_msg(strcmp(t, want) == 0, "%s -> %s, want %s", in, t, want);
    qv_free(t);
    qv_free(b);
}

START_TEST(test_builder_reader_round_trip)
{
    qv_jsonb_builder b;
    const uint8_t *p;
    size_t n, kl;
    qv_jsonb root, a, v;
    int64_t i;
    double d;
    const char *s, *k;
    bool bv;

    qv_jsonb_builder_init(&b);
    qv_jsonb_begin_object(&b);
    qv_jsonb_key(&b, "b", 1);
    qv_jsonb_int(&b, 1);
    qv_jsonb_key(&b, "a", 1);
    qv_jsonb_begin_array(&b);
    qv_jsonb_int(&b, 1);
    qv_jsonb_double(&b, 2.5);
    qv_jsonb_string(&b, "x\0y", 3);
    qv_jsonb_bool(&b, true);
    qv_jsonb_null(&b);
    qv_jsonb_begin_object(&b);
    qv_jsonb_key(&b, "z", 1);
    qv_jsonb_begin_object(&b);
    qv_jsonb_end_object(&b);
    qv_jsonb_end_object(&b);
    qv_jsonb_end_array(&b);
    qv_jsonb_key(&b, "c", 1);
    qv_jsonb_int(&b, INT64_MIN);
    qv_jsonb_key(&b, "big", 3);
    qv_jsonb_int(&b, INT64_MAX);
    qv_jsonb_key(&b, "i32", 3);
    qv_jsonb_int(&b, -70000);
    qv_jsonb_end_object(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, NULL), QV_OK);
    ck_assert_int_eq(qv_jsonb_validate(p, n, NULL), QV_OK);
    root = qv_jsonb_root(p, n);
    ck_assert_int_eq(qv_jsonb_typeof(root), QV_JSONB_OBJECT);
    ck_assert_uint_eq(qv_jsonb_length(root), 5);
    {
        char *t = text_of(root);
        ck_assert_str_eq(t,
                         "{\"b\":1,\"a\":[1,2.5,\"x\\u0000y\",true,null,{\"z\":{}}],"
                         "\"c\":-9223372036854775808,\"big\":9223372036854775807,\"i32\":-70000}");
        qv_free(t);
    }
    ck_assert(qv_jsonb_get_int(qv_jsonb_find(root, "c", 1), &i) && i == INT64_MIN);
    ck_assert(qv_jsonb_get_int(qv_jsonb_find(root, "big", 3), &i) && i == INT64_MAX);
    ck_assert(qv_jsonb_get_int(qv_jsonb_find(root, "i32", 3), &i) && i == -70000);
    ck_assert(!qv_jsonb_present(qv_jsonb_find(root, "d", 1)));
    ck_assert(!qv_jsonb_present(qv_jsonb_find(root, "", 0)));
    a = qv_jsonb_find(root, "a", 1);
    ck_assert_int_eq(qv_jsonb_typeof(a), QV_JSONB_ARRAY);
    ck_assert_uint_eq(qv_jsonb_length(a), 6);
    ck_assert(qv_jsonb_get_double(qv_jsonb_index(a, 0), &d) && d == 1.0);
    ck_assert(!qv_jsonb_get_int(qv_jsonb_index(a, 1), &i));
    ck_assert(qv_jsonb_get_double(qv_jsonb_index(a, 1), &d) && d == 2.5);
    ck_assert(qv_jsonb_get_string(qv_jsonb_index(a, 2), &s, &n) && n == 3 &&
              memcmp(s, "x\0y", 3) == 0);
    ck_assert(qv_jsonb_get_bool(qv_jsonb_index(a, 3), &bv) && bv);
    ck_assert_int_eq(qv_jsonb_typeof(qv_jsonb_index(a, 4)), QV_JSONB_NULL);
    ck_assert_int_eq(qv_jsonb_typeof(qv_jsonb_index(a, 6)), QV_JSONB_INVALID);
    v = qv_jsonb_find(qv_jsonb_index(a, 5), "z", 1);
    ck_assert_int_eq(qv_jsonb_typeof(v), QV_JSONB_OBJECT);
    ck_assert_uint_eq(qv_jsonb_length(v), 0);
    /* iteration keeps document order */
    {
        qv_jsonb_iter it;
        const char *order[] = {"b", "a", "c", "big", "i32"};
        size_t j = 0;
        qv_jsonb_iter_init(&it, root);
        while (qv_jsonb_iter_next(&it, &k, &kl, &v)) {
            ck_assert(kl == strlen(order[j]) && memcmp(k, order[j], kl) == 0);
            j++;
        }
        ck_assert_uint_eq(j, 5);
    }
    /* smallest integer widths */
    qv_jsonb_builder_reset(&b);
    qv_jsonb_int(&b, 5);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, NULL), QV_OK);
    ck_assert_uint_eq(n, 2);
    qv_jsonb_builder_fini(&b);
}
END_TEST

START_TEST(test_text_round_trips)
{
    check_round_trip("  {\"a\" : [1, -2, 3.25e2, \"\\u00e9\\ud83d\\ude00\", false] } ",
                     "{\"a\":[1,-2,325.0,\"\xc3\xa9\xf0\x9f\x98\x80\",false]}");
    check_round_trip("[]", "[]");
    check_round_trip("{}", "{}");
    check_round_trip("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\b\\f\\n\\r\\t\"");
    check_round_trip("9223372036854775807", "9223372036854775807");
    check_round_trip("-9223372036854775808", "-9223372036854775808");
    check_round_trip("9223372036854775808", "9.223372036854776e+18");
    check_round_trip("0.1", "0.1");
    check_round_trip("1e300", "1e+300");
    check_round_trip("-0.0", "-0.0");
    check_round_trip("[[[[]]]]", "[[[[]]]]");
    check_round_trip("{\"b\":1,\"a\":2,\"a\":3,\"c\":{\"x\":1,\"x\":[2]}}",
                     "{\"b\":1,\"a\":3,\"c\":{\"x\":[2]}}");
    check_round_trip("null", "null");
}
END_TEST

START_TEST(test_parse_rejects)
{
    static const char *bad[] = {
        "",    "{",         "[1,]",        "{\"a\"}",     "{\"a\":}",     "01",    "1.",
        "-",   ".5",        "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"",     "[1] x", "nan",
        "tru", "\"\\x41\"", "{\"a\":1,}",  "\"\xff\"",    "\"\xc0\x80\"", "1e",    "[1 2]"};
    qv_jsonb_builder b;
    qv_error err;
    char *deep;

    qv_jsonb_builder_init(&b);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qv_jsonb_builder_reset(&b);
        ck_assert_msg(qv_jsonb_parse_json(&b, bad[i], strlen(bad[i]), &err) == QV_EINVAL,
                      "accepted %s", bad[i]);
    }
    /* nesting past the limit is an error, not a stack overflow */
    deep = malloc(200001);
    memset(deep, '[', 200000);
    deep[200000] = '\0';
    qv_jsonb_builder_reset(&b);
    ck_assert_int_eq(qv_jsonb_parse_json(&b, deep, 200000, &err), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "too deep"));
    free(deep);
    qv_jsonb_builder_fini(&b);
}
END_TEST

START_TEST(test_builder_misuse)
{
    qv_jsonb_builder b;
    const uint8_t *p;
    size_t n;
    qv_error err;

    qv_jsonb_builder_init(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL); /* nothing */
    qv_jsonb_begin_object(&b);
    qv_jsonb_int(&b, 1); /* no key */
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "without a key"));
    qv_jsonb_builder_reset(&b);
    qv_jsonb_begin_array(&b);
    qv_jsonb_end_object(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL);
    qv_jsonb_builder_reset(&b);
    qv_jsonb_int(&b, 1);
    qv_jsonb_int(&b, 2);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL);
    qv_jsonb_builder_reset(&b);
    qv_jsonb_begin_array(&b);
    qv_jsonb_key(&b, "k", 1);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL);
    qv_jsonb_builder_reset(&b);
    qv_jsonb_begin_array(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL); /* unclosed */
    qv_jsonb_builder_reset(&b);
    for (int i = 0; i < QV_JSONB_MAX_DEPTH + 5; i++)
        qv_jsonb_begin_array(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL);
    qv_jsonb_builder_reset(&b); /* still usable after errors */
    qv_jsonb_begin_array(&b);
    qv_jsonb_value(&b, qv_jsonb_root("\x07", 1)); /* truncated double: refused */
    qv_jsonb_end_array(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL);
    qv_jsonb_builder_reset(&b);
    qv_jsonb_string(&b, "\xff", 1); /* strings and keys must be UTF-8 */
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL);
    qv_jsonb_builder_reset(&b);
    qv_jsonb_begin_object(&b);
    qv_jsonb_key(&b, "\xc3", 1);
    qv_jsonb_null(&b);
    qv_jsonb_end_object(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_EINVAL);
    qv_jsonb_builder_reset(&b); /* fuzzer find: an empty container before any child */
    qv_jsonb_begin_array(&b);
    qv_jsonb_end_array(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_OK);
    ck_assert_uint_eq(n, 9);
    qv_jsonb_builder_reset(&b);
    qv_jsonb_string(&b, "ok", 2);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_OK);
    qv_jsonb_builder_fini(&b);
}
END_TEST

START_TEST(test_equality_and_numbers)
{
    static const struct {
        const char *a, *b;
        bool eq;
    } cases[] = {
        {"1", "1.0", true},
        {"[1,2,{\"a\":[true,null]}]", "[1.0,2,{\"a\":[true,null]}]", true},
        {"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", true},
        {"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1,\"c\":3}", false},
        {"[1,2]", "[2,1]", false},
        {"\"1\"", "1", false},
        {"9007199254740993", "9007199254740992.0", false},
        {"9007199254740992", "9007199254740992.0", true},
        {"null", "null", true},
        {"true", "1", false},
        {"[]", "{}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t na, nb;
        uint8_t *a = blob_of(cases[i].a, &na), *b = blob_of(cases[i].b, &nb);
        ck_assert_msg(qv_jsonb_equal(qv_jsonb_root(a, na), qv_jsonb_root(b, nb)) == cases[i].eq,
                      "%s vs %s", cases[i].a, cases[i].b);
        ck_assert(qv_jsonb_equal(qv_jsonb_root(b, nb), qv_jsonb_root(a, na)) == cases[i].eq);
        qv_free(a);
        qv_free(b);
    }
    {
        size_t na, nx;
        uint8_t *a = blob_of("[1,\"x\",[2,3],{\"k\":1}]", &na), *x;
        x = blob_of("1.0", &nx);
        ck_assert(qv_jsonb_array_contains(qv_jsonb_root(a, na), qv_jsonb_root(x, nx)));
        qv_free(x);
        x = blob_of("[2,3.0]", &nx);
        ck_assert(qv_jsonb_array_contains(qv_jsonb_root(a, na), qv_jsonb_root(x, nx)));
        qv_free(x);
        x = blob_of("3", &nx);
        ck_assert(!qv_jsonb_array_contains(qv_jsonb_root(a, na), qv_jsonb_root(x, nx)));
        qv_free(x);
        qv_free(a);
    }
    ck_assert_int_eq(qv_jsonb_cmp_int_double(9007199254740993, 9007199254740992.0), 1);
    ck_assert_int_eq(qv_jsonb_cmp_int_double(INT64_MAX, 9223372036854775807.0), -1);
    ck_assert_int_eq(qv_jsonb_cmp_int_double(INT64_MIN, -9223372036854775808.0), 0);
    ck_assert_int_eq(qv_jsonb_cmp_int_double(-1, -0.5), -1);
    ck_assert_int_eq(qv_jsonb_cmp_int_double(0, -0.5), 1);
    ck_assert_int_eq(qv_jsonb_cmp_int_double(2, 2.0), 0);
    ck_assert_int_eq(qv_jsonb_cmp_int_double(2, NAN), 2);
    ck_assert_int_eq(qv_jsonb_cmp_int_double(2, INFINITY), -1);
    ck_assert_int_eq(qv_jsonb_cmp_int_double(2, -INFINITY), 1);
}
END_TEST

START_TEST(test_many_keys_lookup)
{
    qv_jsonb_builder b;
    const uint8_t *p;
    size_t n;
    char key[32];
    qv_jsonb root;

    qv_jsonb_builder_init(&b);
    qv_jsonb_begin_object(&b);
    for (int i = 0; i < 2000; i++) {
        int k = (i * 7919) % 2000; /* a permutation, so keys arrive unsorted */
        snprintf(key, sizeof key, "key%d", k);
        qv_jsonb_key(&b, key, strlen(key));
        qv_jsonb_int(&b, k);
    }
    qv_jsonb_end_object(&b);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, NULL), QV_OK);
    ck_assert_int_eq(qv_jsonb_validate(p, n, NULL), QV_OK);
    root = qv_jsonb_root(p, n);
    for (int k = 0; k < 2000; k++) {
        int64_t v;
        snprintf(key, sizeof key, "key%d", k);
        ck_assert(qv_jsonb_get_int(qv_jsonb_find(root, key, strlen(key)), &v) && v == k);
    }
    ck_assert(!qv_jsonb_present(qv_jsonb_find(root, "key2000", 7)));
    qv_jsonb_builder_fini(&b);
}
END_TEST

/* Walk everything reachable; must not crash on any input. */
static size_t walk(qv_jsonb v, int depth)
{
    qv_jsonb_iter it;
    qv_jsonb e;
    const char *k;
    size_t kl, count = 1;
    double d;
    int64_t i;
    const char *s;
    size_t n;
    bool b;

    if (depth > 600)
        return count;
    (void)qv_jsonb_get_double(v, &d);
    (void)qv_jsonb_get_int(v, &i);
    (void)qv_jsonb_get_bool(v, &b);
    (void)qv_jsonb_get_string(v, &s, &n);
    for (size_t j = 0; j < qv_jsonb_length(v) && j < 64; j++)
        count += walk(qv_jsonb_index(v, j), depth + 1);
    (void)qv_jsonb_find(v, "a", 1);
    qv_jsonb_iter_init(&it, v);
    while (qv_jsonb_iter_next(&it, &k, &kl, &e))
        count += walk(e, depth + 1);
    (void)qv_jsonb_equal(v, v);
    return count;
}

START_TEST(test_validate_truncations_and_bit_flips)
{
    static const char *samples[] = {
        "{\"a\":[1,2,{\"b\":\"xyz\"}],\"c\":-70000,\"d\":1.5,\"e\":null,\"f\":true,\"g\":{}}",
        "[\"\xc3\xa9\",[],[[1]],{\"k\":[false]},123456789012]",
        "\"plain string\"",
        "{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4}",
    };
    size_t rejected = 0, flips = 0;

    for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
        size_t n;
        uint8_t *b = blob_of(samples[s], &n), *copy = malloc(n);
        for (size_t cut = 0; cut < n; cut++) {
            memcpy(copy, b, cut);
            ck_assert_msg(qv_jsonb_validate(copy, cut, NULL) == QV_ECORRUPT,
                          "sample %zu truncated to %zu accepted", s, cut);
            (void)walk(qv_jsonb_root(copy, cut), 0);
        }
        for (size_t bit = 0; bit < n * 8; bit++) {
            qv_err rc;
            memcpy(copy, b, n);
            copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            rc = qv_jsonb_validate(copy, n, NULL);
            flips++;
            if (rc != QV_OK) {
                ck_assert_int_eq(rc, QV_ECORRUPT);
                rejected++;
            } else { /* a flip inside a value can leave a valid blob: it must stay usable */
                char *t = text_of(qv_jsonb_root(copy, n));
                qv_free(t);
            }
            (void)walk(qv_jsonb_root(copy, n), 0);
        }
        free(copy);
        qv_free(b);
    }
    /* every flip of a tag, length, count, size or offset is caught; only payload bits
     * (numbers, string bytes that stay UTF-8, key bytes that keep the order) survive */
    ck_assert_uint_gt(rejected, flips / 2);
    ck_assert_int_eq(qv_jsonb_validate(NULL, 0, NULL), QV_ECORRUPT);
    ck_assert_int_eq(qv_jsonb_validate("\x0b", 1, NULL), QV_ECORRUPT);
    ck_assert_int_eq(qv_jsonb_validate("\x00\x00", 2, NULL), QV_ECORRUPT);
}
END_TEST

/* ---- random documents ------------------------------------------------------------------ */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void random_value(qv_jsonb_builder *b, int depth)
{
    int kind = (int)(rnd() % (depth > 4 ? 6 : 8));
    char s[16];
    switch (kind) {
    case 0:
        qv_jsonb_null(b);
        break;
    case 1:
        qv_jsonb_bool(b, rnd() & 1);
        break;
    case 2:
        qv_jsonb_int(b, (int64_t)rnd() >> (rnd() % 64));
        break;
    case 3:
        qv_jsonb_double(b, (double)(int64_t)(rnd() % 100000) / 8.0);
        break;
    case 4:
    case 5: {
        size_t n = rnd() % 8;
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('a' + rnd() % 26);
        qv_jsonb_string(b, s, n);
        break;
    }
    case 6: {
        size_t n = rnd() % 6;
        qv_jsonb_begin_array(b);
        for (size_t i = 0; i < n; i++)
            random_value(b, depth + 1);
        qv_jsonb_end_array(b);
        break;
    }
    default: {
        size_t n = rnd() % 6;
        qv_jsonb_begin_object(b);
        for (size_t i = 0; i < n; i++) {
            s[0] = (char)('a' + rnd() % 6);
            s[1] = (char)('a' + rnd() % 3);
            qv_jsonb_key(b, s, 1 + rnd() % 2);
            random_value(b, depth + 1);
        }
        qv_jsonb_end_object(b);
    }
    }
}

START_TEST(test_random_documents)
{
    const char *env = getenv("QV_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 0x5eed1234ULL;
    qv_jsonb_builder b, b2;

    printf("test_random_documents seed=%llu (set QV_TEST_SEED to reproduce)\n",
           (unsigned long long)seed);
    rng_state = seed | 1;
    qv_jsonb_builder_init(&b);
    qv_jsonb_builder_init(&b2);
    for (int iter = 0; iter < 3000; iter++) {
        const uint8_t *p, *p2;
        size_t n, n2;
        char *t, *t2;
        qv_error err;
        qv_jsonb_builder_reset(&b);
        qv_jsonb_builder_reset(&b2);
        random_value(&b, 0);
        ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_OK);
        ck_assert_msg(qv_jsonb_validate(p, n, &err) == QV_OK, "iter %d: %s", iter, err.msg);
        t = text_of(qv_jsonb_root(p, n));
        ck_assert_int_eq(qv_jsonb_parse_json(&b2, t, strlen(t), &err), QV_OK);
        ck_assert_int_eq(qv_jsonb_finish(&b2, &p2, &n2, &err), QV_OK);
        ck_assert(n == n2 && memcmp(p, p2, n) == 0); /* canonical: same bytes */
        ck_assert(qv_jsonb_equal(qv_jsonb_root(p, n), qv_jsonb_root(p2, n2)));
        t2 = text_of(qv_jsonb_root(p2, n2));
        ck_assert_str_eq(t, t2);
        qv_free(t);
        qv_free(t2);
    }
    qv_jsonb_builder_fini(&b);
    qv_jsonb_builder_fini(&b2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonb");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_builder_reader_round_trip);
    tcase_add_test(tc, test_text_round_trips);
    tcase_add_test(tc, test_parse_rejects);
    tcase_add_test(tc, test_builder_misuse);
    tcase_add_test(tc, test_equality_and_numbers);
    tcase_add_test(tc, test_many_keys_lookup);
    tcase_add_test(tc, test_validate_truncations_and_bit_flips);
    tcase_add_test(tc, test_random_documents);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
