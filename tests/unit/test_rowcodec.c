/* SPDX-License-Identifier: Apache-2.0 */
/* test_rowcodec.c - the row codec: decode (jansson and text front ends, which must build
 * identical batches), validation errors, defaults, dynamic fields, autoID keys, output
 * fields and row encoding, the fast float parser, malformed bodies. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/analyzer.h"
#include "quiver/json.h"
#include "quiver/rowcodec.h"
#include "testutil.h"

/* ---- schemas ------------------------------------------------------------------------ */

static qv_field *addf(qv_schema *s, const char *name, qv_type t)
{
    qv_field *f;

    s->fields = qv_reallocarray(s->fields, s->field_count + 1, sizeof *s->fields);
    ck_assert_ptr_nonnull(s->fields);
    f = &s->fields[s->field_count++];
    memset(f, 0, sizeof *f);
    f->name = qv_strdup(name);
    f->type = t;
    f->id = 100 + (int64_t)s->field_count;
    return f;
}

static qv_field *add_array(qv_schema *s, const char *name, qv_type et, uint32_t cap)
{
    qv_field *f = addf(s, name, QV_TYPE_ARRAY);
    f->element_type = et;
    f->max_capacity = cap;
    f->max_length = et == QV_TYPE_VARCHAR ? 8 : 0;
    return f;
}

/* Every type, dynamic fields on. */
static void full_schema(qv_schema *s, bool dynamic)
{
    qv_field *f;

    memset(s, 0, sizeof *s);
    s->enable_dynamic = dynamic;
    addf(s, "id", QV_TYPE_INT64)->is_primary = true;
    addf(s, "b", QV_TYPE_BOOL);
    addf(s, "i8", QV_TYPE_INT8);
    addf(s, "i16", QV_TYPE_INT16);
    addf(s, "i32", QV_TYPE_INT32);
    addf(s, "i64", QV_TYPE_INT64);
    addf(s, "f", QV_TYPE_FLOAT);
    addf(s, "d", QV_TYPE_DOUBLE);
    addf(s, "s", QV_TYPE_VARCHAR)->max_length = 16;
    addf(s, "j", QV_TYPE_JSON)->nullable = true;
    add_array(s, "ai", QV_TYPE_INT32, 4);
    add_array(s, "al", QV_TYPE_INT64, 4);
    add_array(s, "af", QV_TYPE_FLOAT, 4);
    add_array(s, "ad", QV_TYPE_DOUBLE, 4);
    add_array(s, "ab", QV_TYPE_BOOL, 4);
    add_array(s, "as", QV_TYPE_VARCHAR, 3);
    addf(s, "vec", QV_TYPE_FLOAT_VECTOR)->dim = 4;
    addf(s, "n", QV_TYPE_INT32)->nullable = true;
    f = addf(s, "dflt", QV_TYPE_VARCHAR);
    f->max_length = 16;
    f->has_default = true;
    f->default_value.type = QV_TYPE_VARCHAR;
    f->default_value.u.str.s = qv_strdup("xyz");
    f->default_value.u.str.len = 3;
    f = addf(s, "di", QV_TYPE_INT16);
    f->has_default = true;
    f->default_value.type = QV_TYPE_INT16;
    f->default_value.u.i = 7;
    ck_assert_int_eq(qv_schema_validate(s, NULL), QV_OK);
}

/* id (Int64, autoID) + vec dim 2. */
static void small_schema(qv_schema *s, bool auto_id)
{
    memset(s, 0, sizeof *s);
    qv_field *f = addf(s, "id", QV_TYPE_INT64);
    f->is_primary = true;
    f->auto_id = auto_id;
    s->auto_id = auto_id;
    addf(s, "vec", QV_TYPE_FLOAT_VECTOR)->dim = 2;
}

/* ---- decoding both ways -------------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *out;

    va_start(ap, f);
    ck_assert_int_ge(vasprintf(&out, f, ap), 0);
    va_end(ap);
    return out;
}

static qv_err dec_jansson(const qv_schema *s, const char *data, const qv_rows_opts *o,
                          qv_rowbatch *b, qv_error *e)
{
    char *body = fmt("{\"data\":%s}", data);
    qv_jdoc *d = NULL;
    qv_err rc = qv_jdoc_parse(body, strlen(body), 64, &d, e);

    if (rc == QV_OK)
        rc = qv_codec_decode_rows(qv_jobj_get(qv_jdoc_root(d), "data"), s, o, b, e);
    else
        memset(b, 0, sizeof *b);
    qv_jdoc_free(d);
    free(body);
    return rc;
}

static qv_err dec_text(const qv_schema *s, const char *data, const qv_rows_opts *o,
                       qv_rowbatch *b, qv_error *e)
{
    char *body = fmt("{\"collectionName\" : \"c\\u0031\", \"data\":%s ,\"partitionName\":\"p\"}",
                     data);
    qv_jdoc *rest = NULL;
    qv_err rc = qv_codec_decode_insert_body(body, strlen(body), s, o, b, &rest, e);
    const char *name;

    if (rc == QV_OK) {
        ck_assert_ptr_nonnull(rest);
        ck_assert_int_eq(qv_jget_str(qv_jdoc_root(rest), "collectionName", true, &name, NULL,
                                     NULL),
                         QV_OK);
        ck_assert_str_eq(name, "c1");
        ck_assert_ptr_null(qv_jobj_get(qv_jdoc_root(rest), "data"));
        ck_assert_uint_eq(qv_jobj_size(qv_jdoc_root(rest)), 2);
    } else {
        ck_assert_ptr_null(rest);
        ck_assert_uint_eq(b->rows, 0); /* nothing partial */
        ck_assert_ptr_null(b->cols);
    }
    qv_jdoc_free(rest);
    free(body);
    return rc;
}

static bool same_batch(const qv_rowbatch *a, const qv_rowbatch *b)
{
    qv_buf x, y;
    bool same;

    qv_buf_init(&x);
    qv_buf_init(&y);
    qv_rowbatch_encode(a, &x);
    qv_rowbatch_encode(b, &y);
    same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    qv_buf_fini(&x);
    qv_buf_fini(&y);
    return same;
}

/* Decode `data` with both front ends: same code, same data error message (float range
 * messages quote the value differently; syntax messages are jansson's or ours), same
 * batch. The text batch is kept in *keep if given. */
static qv_err dec_both(const qv_schema *s, const char *data, const qv_rows_opts *o,
                       qv_rowbatch *keep, qv_error *e)
{
    qv_rowbatch bj, bt;
    qv_error ej = {0}, et = {0};
    qv_err rj = dec_jansson(s, data, o, &bj, &ej), rt = dec_text(s, data, o, &bt, &et);

    if (rj != rt || (rj != QV_OK && rj != QV_EBADJSON && !strstr(ej.msg, "float32") &&
                     strcmp(ej.msg, et.msg)))
        ck_abort_msg("front ends disagree on %s:\n jansson %d %s\n text    %d %s", data, rj,
                     ej.msg, rt, et.msg);
    if (rj == QV_OK && !same_batch(&bj, &bt))
        ck_abort_msg("front ends build different batches for %s", data);
    if (e)
        *e = et;
    qv_rowbatch_fini(&bj);
    if (keep)
        *keep = bt;
    else
        qv_rowbatch_fini(&bt);
    return rt;
}

/* Decode (both ways) and encode every row with outputFields `*`. */
static char *roundtrip(const qv_schema *s, const char *data, bool int64_as_string)
{
    qv_rowbatch b;
    qv_output_fields of;
    qv_buf out;
    qv_jw w;
    qv_error e;
    size_t n;

    if (dec_both(s, data, NULL, &b, &e) != QV_OK)
        ck_abort_msg("decode failed: %s", e.msg);
    ck_assert_int_eq(qv_codec_output_fields(s, NULL, 0, true, &of, NULL), QV_OK);
    qv_buf_init(&out);
    qv_jw_init(&w, &out);
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < b.rows; i++) {
        qv_jw_obj_begin(&w);
        qv_codec_write_row(&w, s, &b, i, &of, int64_as_string);
        qv_jw_obj_end(&w);
    }
    qv_jw_arr_end(&w);
    qv_codec_output_fields_fini(&of);
    qv_rowbatch_fini(&b);
    return (char *)qv_buf_take(&out, &n);
}

static void expect_error(const qv_schema *s, const char *data, const qv_rows_opts *o,
                         qv_err code, const char *needle)
{
    qv_error e;
    qv_err rc = dec_both(s, data, o, NULL, &e);

    if (rc != code || !strstr(e.msg, needle))
        ck_abort_msg("%s: expected %d \"%s\", got %d \"%s\"", data, code, needle, rc, e.msg);
}

#define ROW_OK "{\"id\":1,\"b\":true,\"i8\":1,\"i16\":1,\"i32\":1,\"i64\":1,\"f\":1,\"d\":1," \
               "\"s\":\"x\",\"ai\":[],\"al\":[],\"af\":[],\"ad\":[],\"ab\":[],\"as\":[],"   \
               "\"vec\":[1,2,3,4]"

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(test_roundtrip_every_type)
{
    qv_schema s;
    char *out;

    full_schema(&s, true);
    out = roundtrip(&s,
                    "[{\"id\":1,\"b\":true,\"i8\":-128,\"i16\":32767,\"i32\":-5,"
                    "\"i64\":9007199254740993,\"f\":0.1,\"d\":0.1,\"s\":\"h\\u00e9llo\\n\","
                    "\"j\":{\"a\":[1,2.5,\"x\",null,true],\"b\":{}},\"ai\":[1,2,3],"
                    "\"al\":[9223372036854775807],\"af\":[0.1,1],\"ad\":[0.1],"
                    "\"ab\":[true,false],\"as\":[\"a\",\"bc\"],\"vec\":[0.1,-2,3e-3,1e10],"
                    "\"n\":null,\"extra\":{\"k\":1},\"x2\":\"s\"}]",
                    false);
    ck_assert_str_eq(out, "[{\"id\":1,\"b\":true,\"i8\":-128,\"i16\":32767,\"i32\":-5,"
                          "\"i64\":9007199254740993,\"f\":0.1,\"d\":0.10000000000000001,"
                          "\"s\":\"h\xc3\xa9llo\\n\",\"j\":{\"a\":[1,2.5,\"x\",null,true],"
                          "\"b\":{}},\"ai\":[1,2,3],\"al\":[9223372036854775807],"
                          "\"af\":[0.1,1],\"ad\":[0.10000000000000001],\"ab\":[true,false],"
                          "\"as\":[\"a\",\"bc\"],\"vec\":[0.1,-2,0.003,1e+10],\"n\":null,"
                          "\"dflt\":\"xyz\",\"di\":7,\"extra\":{\"k\":1},\"x2\":\"s\"}]");
    qv_free(out);
    /* casts: numeric strings for ints, ParseBool strings, numbers into VarChar; a JSON
     * string holding JSON text stays a string */
    out = roundtrip(&s,
                    "[{\"id\":\"-9223372036854775808\",\"b\":\"False\",\"i8\":\"+12\","
                    "\"i16\":\"-7\",\"i32\":\"2147483647\",\"i64\":-9223372036854775808,"
                    "\"f\":\"2.5e1\",\"d\":\"-0.0\",\"s\":1.50,\"j\":\"{\\\"a\\\":1}\",\"ai\":[],"
                    "\"al\":[],\"af\":[],\"ad\":[],\"ab\":[],\"as\":[],\"vec\":[0,0,0,0],"
                    "\"dflt\":null,\"di\":null}]",
                    true);
    ck_assert_str_eq(out, "[{\"id\":\"-9223372036854775808\",\"b\":false,\"i8\":12,\"i16\":-7,"
                          "\"i32\":2147483647,\"i64\":\"-9223372036854775808\",\"f\":25,"
                          "\"d\":-0.0,\"s\":\"1.5\",\"j\":\"{\\\"a\\\":1}\",\"ai\":[],"
                          "\"al\":[],\"af\":[],\"ad\":[],\"ab\":[],\"as\":[],"
                          "\"vec\":[0,0,0,0],\"n\":null,\"dflt\":\"xyz\",\"di\":7}]");
    qv_free(out);
    /* Bool from 0/1 (Milvus runs ParseBool on the number's text); a repeated key keeps the
     * last value */
    out = roundtrip(&s, "[" ROW_OK ",\"b\":0}]", false);
    ck_assert_ptr_nonnull(strstr(out, "\"b\":false,"));
    qv_free(out);
    qv_schema_fini(&s);
}
END_TEST

/* Float16/BFloat16/Binary/Sparse values and a BM25 function's output: both front ends
 * build the same batch; output is base64 (halves, bits) and {"<index>": value}. */
START_TEST(test_other_vector_types)
{
    qv_schema s;
    qv_function *fn;
    qv_field *t;
    char *out;

    memset(&s, 0, sizeof s);
    addf(&s, "id", QV_TYPE_INT64)->is_primary = true;
    addf(&s, "h", QV_TYPE_FLOAT16_VECTOR)->dim = 2;
    addf(&s, "bh", QV_TYPE_BFLOAT16_VECTOR)->dim = 2;
    addf(&s, "bin", QV_TYPE_BINARY_VECTOR)->dim = 16;
    addf(&s, "sp", QV_TYPE_SPARSE_FLOAT_VECTOR);
    t = addf(&s, "text", QV_TYPE_VARCHAR);
    t->max_length = 64;
    t->nullable = true;
    ck_assert_int_eq(qv_kvlist_set(&t->type_params, "enable_analyzer", "true"), QV_OK);
    addf(&s, "tf", QV_TYPE_SPARSE_FLOAT_VECTOR);
    s.functions = fn = qv_calloc(1, sizeof *fn);
    s.function_count = 1;
    fn->name = qv_strdup("f");
    fn->type = QV_FUNCTION_BM25;
    fn->inputs = qv_calloc(1, sizeof(char *));
    fn->inputs[0] = qv_strdup("text");
    fn->ninputs = 1;
    fn->outputs = qv_calloc(1, sizeof(char *));
    fn->outputs[0] = qv_strdup("tf");
    fn->noutputs = 1;
    /* five vector fields: one more than a valid schema holds; the codec does not mind */
    /* 1.0 = 0x3c00 and -2.0 = 0xc000 in binary16; 1.0 = 0x3f80, -2.0 = 0xc000 in bfloat16 */
    out = roundtrip(&s,
                    "[{\"id\":1,\"h\":[1,-2],\"bh\":[1.0,-2.0],\"bin\":\"AQI=\","
                    "\"sp\":{\"7\":0.5,\"2\":1},\"text\":\"b a B\"},"
                    "{\"id\":2,\"h\":\"ADwAwA==\",\"bh\":\"gD8AwA==\",\"bin\":[1,2],"
                    "\"sp\":{\"indices\":[9,1],\"values\":[2,3]},\"text\":null}]",
                    false);
    ck_assert_str_eq(out, "[{\"id\":1,\"h\":\"ADwAwA==\",\"bh\":\"gD8AwA==\",\"bin\":\"AQI=\","
                          "\"sp\":{\"2\":1,\"7\":0.5},\"text\":\"b a B\"},"
                          "{\"id\":2,\"h\":\"ADwAwA==\",\"bh\":\"gD8AwA==\",\"bin\":\"AQI=\","
                          "\"sp\":{\"1\":3,\"9\":2},\"text\":null}]");
    qv_free(out);
    /* the BM25 output, named: term counts of the analyzed text (b twice, a once) */
    {
        qv_rowbatch b;
        qv_output_fields of;
        const char *name = "tf";
        qv_buf o;
        qv_jw w;
        char want[96];
        uint32_t ta = qv_analyzer_term_id("a", 1), tb = qv_analyzer_term_id("b", 1);
        ck_assert_int_eq(dec_both(&s, "[{\"id\":1,\"h\":[0,0],\"bh\":[0,0],\"bin\":\"AAA=\","
                                      "\"sp\":{},\"text\":\"b a B\"}]",
                                  NULL, &b, NULL),
                         QV_OK);
        ck_assert_int_eq(qv_codec_output_fields(&s, &name, 1, false, &of, NULL), QV_OK);
        qv_buf_init(&o);
        qv_jw_init(&w, &o);
        qv_jw_obj_begin(&w);
        qv_codec_write_row(&w, &s, &b, 0, &of, false);
        qv_jw_obj_end(&w);
        snprintf(want, sizeof want, "{\"id\":1,\"tf\":{\"%u\":%d,\"%u\":%d}}", ta < tb ? ta : tb,
                 ta < tb ? 1 : 2, ta < tb ? tb : ta, ta < tb ? 2 : 1);
        ck_assert_str_eq((const char *)o.data, want);
        qv_buf_fini(&o);
        qv_codec_output_fields_fini(&of);
        qv_rowbatch_fini(&b);
    }
#define OTHER "{\"id\":1,\"h\":[0,0],\"bh\":[0,0],\"bin\":\"AAA=\",\"sp\":{}"
    expect_error(&s, "[" OTHER ",\"tf\":{\"1\":1}}]", NULL, QV_EBADDATA, "output of function f");
    expect_error(&s, "[{\"id\":1,\"h\":[0],\"bh\":[0,0],\"bin\":\"AAA=\",\"sp\":{}}]", NULL,
                 QV_EBADDATA, "dimension mismatch");
    expect_error(&s, "[{\"id\":1,\"h\":[1e9,0],\"bh\":[0,0],\"bin\":\"AAA=\",\"sp\":{}}]",
                 NULL, QV_EBADDATA, "float16 range");
    expect_error(&s, "[{\"id\":1,\"h\":\"A=A\",\"bh\":[0,0],\"bin\":\"AAA=\",\"sp\":{}}]",
                 NULL, QV_EBADDATA, "base64");
    expect_error(&s, "[{\"id\":1,\"h\":[0,0],\"bh\":[0,0],\"bin\":\"AAAA\",\"sp\":{}}]",
                 NULL, QV_EBADDATA, "expected 2 bytes");
    expect_error(&s, "[{\"id\":1,\"h\":[0,0],\"bh\":[0,0],\"bin\":[1,256],\"sp\":{}}]",
                 NULL, QV_EBADDATA, "[0, 255]");
    expect_error(&s, "[{\"id\":1,\"h\":[0,0],\"bh\":[0,0],\"bin\":\"AAA=\","
                     "\"sp\":{\"-1\":1}}]",
                 NULL, QV_EBADDATA, "sparse index");
    expect_error(&s, "[{\"id\":1,\"h\":[0,0],\"bh\":[0,0],\"bin\":\"AAA=\","
                     "\"sp\":{\"indices\":[3,3],\"values\":[1,2]}}]",
                 NULL, QV_EBADDATA, "duplicate sparse index 3");
#undef OTHER
    qv_schema_fini(&s);
}
END_TEST

START_TEST(test_int64_exact)
{
    qv_schema s;
    char *out;

    full_schema(&s, false);
    out = roundtrip(&s,
                    "[" ROW_OK ",\"i64\":9223372036854775807,\"al\":[-9223372036854775808,"
                    "9007199254740993]},"
                    ROW_OK ",\"id\":2,\"i64\":\"9007199254740993\"}]",
                    true);
    ck_assert_ptr_nonnull(strstr(out, "\"i64\":\"9223372036854775807\""));
    ck_assert_ptr_nonnull(strstr(out, "\"al\":[\"-9223372036854775808\",\"9007199254740993\"]"));
    ck_assert_ptr_nonnull(strstr(out, "\"i64\":\"9007199254740993\""));
    ck_assert_ptr_nonnull(strstr(out, "\"id\":\"2\""));
    qv_free(out);
    out = roundtrip(&s, "[" ROW_OK ",\"i64\":9223372036854775807}]", false);
    ck_assert_ptr_nonnull(strstr(out, "\"i64\":9223372036854775807,"));
    qv_free(out);
    expect_error(&s, "[" ROW_OK ",\"i64\":1.5}]", NULL, QV_EBADDATA,
                 "data[0].i64: expected Int64, got a number with a fraction or exponent");
    expect_error(&s, "[" ROW_OK ",\"i64\":1e3}]", NULL, QV_EBADDATA, "data[0].i64: expected");
    expect_error(&s, "[" ROW_OK ",\"i64\":\"9223372036854775808\"}]", NULL, QV_EBADDATA,
                 "out of range for Int64");
    expect_error(&s, "[" ROW_OK ",\"i64\":\"12a\"}]", NULL, QV_EBADDATA,
                 "\"12a\" is not a valid Int64");
    qv_schema_fini(&s);
}
END_TEST

START_TEST(test_validation_errors)
{
    static const struct {
        const char *extra, *needle;
    } cases[] = {
        {",\"vec\":[1,2,3]", "data[1].vec: dimension mismatch, expected 4 floats, got 3"},
        {",\"vec\":[1,2,3,4,5]", "data[1].vec: dimension mismatch, expected 4 floats, got 5"},
        {",\"vec\":[1,\"2\",3,4]", "data[1].vec[1]: expected a number, got string"},
        {",\"vec\":\"abc\"",
         "data[1].vec: expected FloatVector (an array of 4 numbers), got string"},
        {",\"vec\":[1,2,3,1e39]", "data[1].vec[3]: value"},
        {",\"vec\":null", "data[1].vec: missing value"},
        {",\"b\":2", "data[1].b: expected Bool, got number"},
        {",\"b\":\"yes\"", "data[1].b: value \"yes\" is not a valid Bool"},
        {",\"i8\":128", "data[1].i8: value 128 out of range for Int8 [-128, 127]"},
        {",\"i8\":\"-129\"", "data[1].i8: value -129 out of range for Int8"},
        {",\"i16\":40000", "data[1].i16: value 40000 out of range for Int16"},
        {",\"i32\":2147483648", "data[1].i32: value 2147483648 out of range for Int32"},
        {",\"i32\":[1]", "data[1].i32: expected Int32, got array"},
        {",\"i32\":{}", "data[1].i32: expected Int32, got object"},
        {",\"f\":\"1x\"", "data[1].f: expected Float, got string"},
        {",\"d\":\" 1\"", "data[1].d: expected Double, got string"},
        {",\"f\":\"1e39\"", "data[1].f: value 1e39 out of float32 range"},
        {",\"f\":1e39", "data[1].f: value"},
        {",\"d\":true", "data[1].d: expected Double, got bool"},
        {",\"s\":\"0123456789abcdefg\"", "data[1].s: length 17 exceeds max_length 16"},
        {",\"s\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"",
         "data[1].s: length 18 exceeds max_length 16"},
        {",\"s\":false", "data[1].s: expected VarChar, got bool"},
        {",\"ai\":[1,2,3,4,5]", "data[1].ai: array length 5 exceeds max_capacity 4"},
        {",\"ai\":[1,\"2\"]", "data[1].ai[1]: expected Int32, got string"},
        {",\"ai\":[1,2147483648]", "data[1].ai[1]: value 2147483648 out of range for Int32"},
        {",\"ai\":[1.5]", "data[1].ai[0]: expected Int32, got a number"},
        {",\"ai\":[null]", "data[1].ai[0]: expected Int32, got null"},
        {",\"ai\":{}", "data[1].ai: expected Array, got object"},
        {",\"ab\":[1]", "data[1].ab[0]: expected Bool, got number"},
        {",\"as\":[\"123456789\"]", "data[1].as[0]: length 9 exceeds max_length 8"},
        {",\"as\":[\"a\",\"b\",\"c\",\"d\"]", "data[1].as: array length 4 exceeds max_capacity 3"},
        {",\"as\":[[\"a\"]]", "data[1].as[0]: expected VarChar, got array"},
        {",\"af\":[1e39]", "data[1].af[0]: value"},
        {",\"ad\":[\"x\"]", "data[1].ad[0]: expected Double, got string"},
        {",\"extra\":1", "data[1]: has pass more field without dynamic schema, please check it: "
                         "extra"},
        {",\"$meta\":{}", "data[1]: has pass more field without dynamic schema, please check it: "
                           "$meta"},
    };
    qv_schema s;

    full_schema(&s, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *data = fmt("[" ROW_OK "}," ROW_OK "%s}]", cases[i].extra);
        expect_error(&s, data, NULL, QV_EBADDATA, cases[i].needle);
        expect_error(&s, data, NULL, QV_EBADDATA, "fail to deal the insert data, error: ");
        free(data);
    }
    /* missing required fields, rows that are not objects */
    expect_error(&s, "[" ROW_OK "},{\"id\":2}]", NULL, QV_EBADDATA,
                 "data[1].b: missing value: the field is not nullable and has no default value");
    expect_error(&s, "[" ROW_OK ",\"b\":null}]", NULL, QV_EBADDATA, "data[0].b: missing value");
    expect_error(&s, "[" ROW_OK "},1]", NULL, QV_EBADDATA,
                 "data[1]: expected a row object, got number");
    expect_error(&s, "[[]]", NULL, QV_EBADDATA, "data[0]: expected a row object, got array");
    expect_error(&s, "{}", NULL, QV_EBADJSON, "cannot unmarshal object into Go struct field "
                                              ".data of type []interface {}");
    qv_schema_fini(&s);
}
END_TEST

START_TEST(test_defaults_and_nullables)
{
    qv_schema s;
    char *out;

    full_schema(&s, false);
    /* j and n nullable (absent/null -> null); dflt and di take their defaults */
    out = roundtrip(&s, "[" ROW_OK ",\"j\":null}," ROW_OK ",\"n\":5,\"dflt\":\"given\",\"di\":-1,"
                        "\"j\":[1]}]",
                    false);
    ck_assert_ptr_nonnull(strstr(out, "\"j\":null,"));
    ck_assert_ptr_nonnull(strstr(out, "\"n\":null,\"dflt\":\"xyz\",\"di\":7}"));
    ck_assert_ptr_nonnull(strstr(out, "\"j\":[1],"));
    ck_assert_ptr_nonnull(strstr(out, "\"n\":5,\"dflt\":\"given\",\"di\":-1}"));
    qv_free(out);
    qv_schema_fini(&s);
}
END_TEST

START_TEST(test_dynamic_fields)
{
    qv_schema s;
    qv_rowbatch b;
    qv_output_fields of;
    const char *names[] = {"k2", "nope", "id"};
    qv_buf out;
    qv_jw w;
    char *txt;

    full_schema(&s, true);
    txt = roundtrip(&s, "[" ROW_OK ",\"k1\":[1,{\"x\":null}],\"k2\":\"v\",\"k1\":2.5}]", false);
    /* a repeated key keeps its last value at its first position */
    ck_assert_ptr_nonnull(strstr(txt, "\"di\":7,\"k1\":2.5,\"k2\":\"v\"}]"));
    qv_free(txt);
    expect_error(&s, "[" ROW_OK ",\"$meta\":{\"a\":1}}]", NULL, QV_EBADDATA,
                 "data[0]: use the invalid field name($meta) when enable dynamicField");
    /* rows without extra keys have an empty dynamic value */
    ck_assert_int_eq(dec_both(&s, "[" ROW_OK "}," ROW_OK ",\"z\":1}]", NULL, &b, NULL), QV_OK);
    ck_assert_uint_eq(b.dynamic.rows, 2);
    ck_assert_uint_eq(b.dynamic.offsets[1], 0);
    ck_assert_uint_gt(b.dynamic.offsets[2], 0);
    /* only some dynamic keys */
    ck_assert_int_eq(qv_codec_output_fields(&s, names, 3, true, &of, NULL), QV_OK);
    ck_assert_uint_eq(of.fields, 1); /* id */
    ck_assert(!of.all_dynamic);
    ck_assert_uint_eq(of.dynamic_count, 2);
    qv_buf_init(&out);
    qv_jw_init(&w, &out);
    qv_jw_obj_begin(&w);
    qv_codec_write_row(&w, &s, &b, 1, &of, false);
    qv_jw_kint(&w, "distance", 0);
    qv_jw_obj_end(&w);
    qv_buf_put_u8(&out, 0);
    ck_assert_str_eq((char *)out.data, "{\"id\":1,\"distance\":0}");
    qv_buf_fini(&out);
    qv_codec_output_fields_fini(&of);
    qv_rowbatch_fini(&b);
    qv_schema_fini(&s);
}
END_TEST

START_TEST(test_output_fields)
{
    qv_schema s;
    qv_output_fields of;
    qv_error e;
    const char *a[] = {"s", "vec"}, *b[] = {"*"}, *c[] = {"count(*)"}, *d[] = {"zz"},
               *m[] = {"$meta", "s"};

    full_schema(&s, false);
    ck_assert_int_eq(qv_codec_output_fields(&s, a, 2, true, &of, NULL), QV_OK);
    ck_assert_uint_eq(of.fields, 1u | 1u << 8 | 1u << 16); /* id always */
    qv_codec_output_fields_fini(&of);
    ck_assert_int_eq(qv_codec_output_fields(&s, b, 1, false, &of, NULL), QV_OK);
    ck_assert_uint_eq(of.fields, (1u << s.field_count) - 1);
    ck_assert(!of.all_dynamic);
    qv_codec_output_fields_fini(&of);
    ck_assert_int_eq(qv_codec_output_fields(&s, NULL, 0, false, &of, NULL), QV_OK);
    ck_assert_uint_eq(of.fields, 1);
    qv_codec_output_fields_fini(&of);
    ck_assert_int_eq(qv_codec_output_fields(&s, c, 1, true, &of, NULL), QV_OK);
    ck_assert(of.count_star);
    qv_codec_output_fields_fini(&of);
    ck_assert_int_eq(qv_codec_output_fields(&s, d, 1, true, &of, &e), QV_EINVAL);
    ck_assert_str_eq(e.msg, "field zz not exist");
    ck_assert_int_eq(qv_err_milvus_code(e.code), 1100);
    s.enable_dynamic = true;
    ck_assert_int_eq(qv_codec_output_fields(&s, d, 1, true, &of, NULL), QV_OK);
    ck_assert_uint_eq(of.dynamic_count, 1);
    ck_assert_str_eq(of.dynamic_keys[0], "zz");
    qv_codec_output_fields_fini(&of);
    ck_assert_int_eq(qv_codec_output_fields(&s, m, 2, true, &of, NULL), QV_OK);
    ck_assert(of.all_dynamic);
    qv_codec_output_fields_fini(&of);
    ck_assert_int_eq(qv_codec_output_fields(&s, b, 1, true, &of, NULL), QV_OK);
    ck_assert(of.all_dynamic);
    qv_codec_output_fields_fini(&of);
    qv_schema_fini(&s);
}
END_TEST

START_TEST(test_autoid_pk)
{
    qv_schema s;
    qv_rowbatch b;
    qv_rows_opts ins = {.pk_auto = true}, ups = {.pk_optional = true}, lim = {.max_rows = 2};

    small_schema(&s, true);
    expect_error(&s, "[{\"vec\":[1,2]},{\"id\":5,\"vec\":[1,2]}]", &ins, QV_EBADDATA,
                 "fail to deal the insert data, error: data[1]: no need to pass pk field(id) "
                 "when autoid==true in insert");
    expect_error(&s, "[{\"id\":null,\"vec\":[1,2]}]", &ins, QV_EBADDATA, "no need to pass pk");
    /* insert: the pk column is left empty for the caller's generated ids */
    ck_assert_int_eq(dec_both(&s, "[{\"vec\":[1,2]},{\"vec\":[3,4]}]", &ins, &b, NULL), QV_OK);
    ck_assert_uint_eq(b.rows, 2);
    ck_assert_uint_eq(b.cols[0].rows, 0);
    ck_assert_uint_eq(b.cols[1].rows, 2);
    for (int64_t id = 100; id < 102; id++)
        qv_colbuf_push_fixed(&b.cols[0], &id);
    ck_assert_uint_eq(b.cols[0].rows, 2);
    qv_rowbatch_fini(&b);
    /* upsert: all rows or none carry the key */
    ck_assert_int_eq(dec_both(&s, "[{\"id\":7,\"vec\":[1,2]},{\"id\":8,\"vec\":[3,4]}]", &ups, &b,
                              NULL),
                     QV_OK);
    ck_assert_uint_eq(b.cols[0].rows, 2);
    ck_assert_int_eq(*(const int64_t *)qv_colbuf_fixed(&b.cols[0], 1), 8);
    qv_rowbatch_fini(&b);
    ck_assert_int_eq(dec_both(&s, "[{\"vec\":[1,2]},{\"id\":null,\"vec\":[3,4]}]", &ups, &b,
                              NULL),
                     QV_OK);
    ck_assert_uint_eq(b.cols[0].rows, 0);
    qv_rowbatch_fini(&b);
    expect_error(&s, "[{\"id\":7,\"vec\":[1,2]},{\"vec\":[3,4]}]", &ups, QV_EBADDATA,
                 "data[1].id: the primary key of an autoID collection must be passed in every "
                 "row or in none");
    /* without autoID the key is required */
    expect_error(&s, "[{\"vec\":[1,2]}]", NULL, QV_EBADDATA, "data[0].id: missing value");
    /* max_rows */
    expect_error(&s, "[{\"id\":1,\"vec\":[1,2]},{\"id\":2,\"vec\":[1,2]},{\"id\":3,\"vec\":[1,2]}]",
                 &lim, QV_ETOOBIG, "too many rows, the limit is 2 rows per request");
    ck_assert_int_eq(dec_both(&s, "[{\"id\":1,\"vec\":[1,2]},{\"id\":2,\"vec\":[1,2]}]", &lim,
                              NULL, NULL),
                     QV_OK);
    ck_assert_int_eq(dec_both(&s, "[]", NULL, &b, NULL), QV_OK);
    ck_assert_uint_eq(b.rows, 0);
    qv_rowbatch_fini(&b);
    qv_schema_fini(&s);
}
END_TEST

/* ---- the text front end: bodies, malformed input ------------------------------------ */

static qv_err text_only(const qv_schema *s, const char *body, qv_error *e)
{
    qv_rowbatch b;
    qv_jdoc *rest = NULL;
    qv_err rc = qv_codec_decode_insert_body(body, strlen(body), s, NULL, &b, &rest, e);

    qv_jdoc_free(rest);
    qv_rowbatch_fini(&b);
    return rc;
}

START_TEST(test_body_split)
{
    qv_schema s;
    qv_jdoc *rest;
    qv_text_span span;
    qv_error e;
    const char *body = " {\"a\":[1,{\"b\":\"]\"}],\"da\\u0074a\":[{\"id\":1,\"vec\":[1,2]}] ,"
                       "\"c\":null}\n";

    small_schema(&s, false);
    ck_assert_int_eq(qv_codec_split_body(body, strlen(body), "data", 0, &rest, &span, &e), QV_OK);
    ck_assert_uint_eq(span.len, strlen("[{\"id\":1,\"vec\":[1,2]}]"));
    ck_assert_int_eq(memcmp(body + span.off, "[{", 2), 0);
    ck_assert_uint_eq(qv_jobj_size(qv_jdoc_root(rest)), 2);
    qv_jdoc_free(rest);
    /* missing, null, repeated (the last counts) */
    ck_assert_int_eq(text_only(&s, "{\"x\":1}", &e), QV_EMISSING);
    ck_assert_ptr_nonnull(strstr(e.msg, "'data' failed on the 'required' tag"));
    ck_assert_int_eq(text_only(&s, "{\"data\":null}", &e), QV_EMISSING);
    ck_assert_int_eq(text_only(&s, "null", &e), QV_EMISSING);
    ck_assert_int_eq(text_only(&s, "{\"data\":5,\"data\":[]}", &e), QV_OK);
    ck_assert_int_eq(text_only(&s, "{\"data\":[{,}],\"data\":[]}", &e), QV_EBADJSON);
    ck_assert_int_eq(text_only(&s, "", &e), QV_EBADJSON);
    ck_assert_ptr_nonnull(strstr(e.msg, "request body should be nil"));
    ck_assert_int_eq(text_only(&s, "[1]", &e), QV_EBADJSON);
    ck_assert_int_eq(text_only(&s, "{\"data\":\"x\"}", &e), QV_EBADJSON);
    ck_assert_ptr_nonnull(strstr(e.msg, "cannot unmarshal string into Go struct field .data"));
    ck_assert_int_eq(text_only(&s, "{\"data\":[],\"x\":tru}", &e), QV_EBADJSON);
    ck_assert_int_eq(text_only(&s, "{\"data\":[]} x", &e), QV_EBADJSON);
    /* a data error before a syntax error later in the body: the syntax error wins */
    ck_assert_int_eq(text_only(&s, "{\"data\":[{\"vec\":[1]},{\"id\":1,\"vec\":[1,2]]}", &e),
                     QV_EBADJSON);
    ck_assert_int_eq(text_only(&s, "{\"data\":[{\"id\":1,\"vec\":[1]},{\"id\":1,\"vec\":[1,2]}]}",
                               &e),
                     QV_EBADDATA);
    ck_assert_int_eq(text_only(&s, "{\"data\":[{\"id\":1,\"id\":[1,,2],\"vec\":[1,2]}]}", &e),
                     QV_EBADJSON); /* a replaced value is still checked */
    ck_assert_int_eq(text_only(&s, "{\"data\":[{\"id\":1,\"vec\":[1,2],\"x\":[1}]}", &e),
                     QV_EBADJSON);
    ck_assert_int_eq(text_only(&s, "{\"data\":[{\"id\":1,\"vec\":[1,2],\"x\":\"\xff\"}]}", &e),
                     QV_EBADJSON);
    ck_assert_int_eq(text_only(&s, "{\"data\":[{\"id\":1,\"vec\":[1,2,]}]}", &e), QV_EBADJSON);
    ck_assert_int_eq(text_only(&s, "{\"data\":[{\"id\":01,\"vec\":[1,2]}]}", &e), QV_EBADJSON);
    ck_assert_int_eq(text_only(&s, "{\"data\":[{\"id\":1,\"vec\":[1,2.]}]}", &e), QV_EBADJSON);
    ck_assert_ptr_nonnull(strstr(e.msg, "can only accept json format request, error: "));
    ck_assert_ptr_nonnull(strstr(e.msg, "at offset"));
    /* nesting limit, counted as the jansson parse would: the body, data and row make 3 */
    s.enable_dynamic = true;
    for (int depth = 60; depth <= 62; depth++) {
        char deep[256] = "{\"data\":[{\"id\":1,\"vec\":[1,2],\"x\":";
        size_t n = strlen(deep);
        memset(deep + n, '[', (size_t)depth);
        memset(deep + n + depth, ']', (size_t)depth);
        strcpy(deep + n + 2 * depth, "}]}");
        ck_assert_int_eq(text_only(&s, deep, &e), depth + 3 > 64 ? QV_EBADJSON : QV_OK);
        deep[strlen(deep) - 1] = '\0'; /* the data array alone */
        ck_assert_int_eq(dec_both(&s, strchr(deep + 1, '['), NULL, NULL, NULL),
                         depth + 3 > 64 ? QV_EBADJSON : QV_OK);
    }
    ck_assert_ptr_nonnull(strstr(e.msg, "nesting deeper than 64"));
    qv_schema_fini(&s);
}
END_TEST

START_TEST(test_truncated_bodies)
{
    qv_schema s;
    qv_error e;
    const char *body =
        "{\"collectionName\":\"c\",\"data\":[{\"id\":1,\"b\":true,\"i8\":-1,\"i16\":2,\"i32\":3,"
        "\"i64\":\"4\",\"f\":0.5,\"d\":-1e-3,\"s\":\"\\u00e9\\n\",\"j\":{\"k\":[null,1.5]},"
        "\"ai\":[1],\"al\":[2],\"af\":[0.25],\"ad\":[1e2],\"ab\":[false],\"as\":[\"q\"],"
        "\"vec\":[0.1,0.2,0.3,0.4],\"dyn\":\"x\"}],\"partitionName\":\"p\"}";
    size_t n = strlen(body);
    char *copy = malloc(n + 1);

    full_schema(&s, true);
    ck_assert_int_eq(text_only(&s, body, &e), QV_OK);
    for (size_t cut = 0; cut < n; cut++) {
        qv_rowbatch b;
        qv_jdoc *rest = NULL;
        char *exact = malloc(cut ? cut : 1); /* exactly cut bytes: overreads are caught */
        qv_err rc;
        memcpy(exact, body, cut);
        rc = qv_codec_decode_insert_body(exact, cut, &s, NULL, &b, &rest, &e);
        if (rc == QV_OK)
            ck_abort_msg("truncated at %zu accepted", cut);
        ck_assert_ptr_null(rest);
        qv_rowbatch_fini(&b);
        free(exact);
    }
    /* every byte replaced by a few troublesome ones: never a crash, never a partial batch */
    for (size_t i = 0; i < n; i++) {
        static const char subs[] = "\"[]{},:\\0 -e.\x80";
        for (size_t k = 0; k < sizeof subs - 1; k++) {
            qv_rowbatch b;
            qv_jdoc *rest = NULL;
            memcpy(copy, body, n + 1);
            copy[i] = subs[k];
            if (qv_codec_decode_insert_body(copy, n, &s, NULL, &b, &rest, &e) != QV_OK)
                ck_assert_ptr_null(b.cols);
            qv_jdoc_free(rest);
            qv_rowbatch_fini(&b);
        }
    }
    free(copy);
    qv_schema_fini(&s);
}
END_TEST

/* ---- differential: random rows of every type ------------------------------------------ */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int rndn(int n) { return (int)(rnd() % (uint64_t)n); }

static void ws(qv_buf *b)
{
    static const char *const sp[] = {"", "", "", " ", "\n  ", "\t", "\r\n"};
    qv_buf_puts(b, sp[rndn(7)]);
}

static void rnd_string(qv_buf *b, int max_bytes)
{
    static const char *const parts[] = {"a", "Z", "0", " ", "\\n", "\\\"", "\\\\", "\\/",
                                        "\\u00e9", "\xc3\xa9", "\\ud83d\\ude00", "\xe6\x97\xa5",
                                        "\\t", "\\u0000", "x"};
    static const int bytes[] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 4, 3, 1, 1, 1};
    int used = 0, n = rndn(6);

    qv_buf_put_u8(b, '"');
    for (int i = 0; i < n; i++) {
        int k = rndn(15);
        if (used + bytes[k] > max_bytes)
            break;
        used += bytes[k];
        qv_buf_puts(b, parts[k]);
    }
    qv_buf_put_u8(b, '"');
}

static void rnd_number(qv_buf *b, bool ints_only)
{
    switch (ints_only ? rndn(2) : rndn(6)) {
    case 0: qv_buf_printf(b, "%d", rndn(2000) - 1000); break;
    case 1: qv_buf_printf(b, "%lld", (long long)(rnd() >> rndn(64))); break;
    case 2: qv_buf_printf(b, "%.9g", (double)((float)rnd() / (float)UINT64_MAX - 0.5f)); break;
    case 3: qv_buf_printf(b, "%.17g", ((double)rnd() / (double)UINT64_MAX - 0.5) * 1e3); break;
    case 4: qv_buf_printf(b, "%de%d", rndn(100), rndn(20) - 10); break;
    default: qv_buf_printf(b, "-0.%04d", rndn(10000)); break;
    }
}

static void rnd_json(qv_buf *b, int depth)
{
    int n;

    switch (depth > 2 ? rndn(5) : rndn(7)) {
    case 0: qv_buf_puts(b, "null"); break;
    case 1: qv_buf_puts(b, rndn(2) ? "true" : "false"); break;
    case 2: rnd_number(b, false); break;
    case 3:
    case 4: rnd_string(b, 12); break;
    case 5:
        qv_buf_put_u8(b, '[');
        n = rndn(4);
        for (int i = 0; i < n; i++) {
            if (i)
                qv_buf_put_u8(b, ',');
            ws(b);
            rnd_json(b, depth + 1);
        }
        qv_buf_put_u8(b, ']');
        break;
    default:
        qv_buf_put_u8(b, '{');
        n = rndn(4);
        for (int i = 0; i < n; i++) {
            if (i)
                qv_buf_put_u8(b, ',');
            qv_buf_printf(b, "\"k%d\"", rndn(3)); /* sometimes repeated */
            ws(b);
            qv_buf_put_u8(b, ':');
            rnd_json(b, depth + 1);
        }
        qv_buf_put_u8(b, '}');
    }
}

/* A value for field f: mostly valid, sometimes null or wrong. */
static void rnd_value(qv_buf *b, const qv_field *f)
{
    int n;

    if (rndn(40) == 0) {
        qv_buf_puts(b, "null");
        return;
    }
    if (rndn(60) == 0) { /* anything at all */
        rnd_json(b, 1);
        return;
    }
    switch (f->type) {
    case QV_TYPE_BOOL:
        qv_buf_puts(b, rndn(5) ? (rndn(2) ? "true" : "false") : rndn(2) ? "\"True\"" : "1");
        break;
    case QV_TYPE_INT8:
    case QV_TYPE_INT16:
    case QV_TYPE_INT32:
        qv_buf_printf(b, rndn(5) ? "%d" : "\"%d\"", rndn(200) - 100);
        break;
    case QV_TYPE_INT64:
        qv_buf_printf(b, rndn(5) ? "%lld" : "\"%lld\"", (long long)rnd());
        break;
    case QV_TYPE_FLOAT:
    case QV_TYPE_DOUBLE:
        if (rndn(6) == 0) { /* a numeric string */
            qv_buf_put_u8(b, '"');
            rnd_number(b, false);
            qv_buf_put_u8(b, '"');
        } else {
            rnd_number(b, false);
        }
        break;
    case QV_TYPE_VARCHAR:
        if (rndn(6))
            rnd_string(b, (int)f->max_length);
        else
            rnd_number(b, false);
        break;
    case QV_TYPE_JSON:
        rnd_json(b, 0);
        break;
    case QV_TYPE_FLOAT_VECTOR:
        qv_buf_put_u8(b, '[');
        for (uint32_t i = 0; i < f->dim; i++) {
            if (i)
                qv_buf_put_u8(b, ',');
            ws(b);
            rnd_number(b, false);
        }
        qv_buf_put_u8(b, ']');
        break;
    case QV_TYPE_ARRAY:
        qv_buf_put_u8(b, '[');
        n = rndn((int)f->max_capacity + 1);
        for (int i = 0; i < n; i++) {
            if (i)
                qv_buf_put_u8(b, ',');
            if (f->element_type == QV_TYPE_BOOL)
                qv_buf_puts(b, rndn(2) ? "true" : "false");
            else if (f->element_type == QV_TYPE_VARCHAR)
                rnd_string(b, 8);
            else if (qv_type_is_integer(f->element_type))
                qv_buf_printf(b, "%d", rndn(200) - 100);
            else
                rnd_number(b, false);
        }
        qv_buf_put_u8(b, ']');
        break;
    default:
        qv_buf_puts(b, "null");
    }
}

START_TEST(test_differential)
{
    qv_schema s;
    int ok = 0, bad = 0;

    rng_state = 0x9E3779B97F4A7C15ull;
    full_schema(&s, true);
    s.fields[9].nullable = true;
    for (int iter = 0; iter < 400; iter++) {
        qv_buf b;
        int rows = 1 + rndn(5);
        qv_buf_init(&b);
        qv_buf_put_u8(&b, '[');
        for (int r = 0; r < rows; r++) {
            bool first = true;
            if (r)
                qv_buf_put_u8(&b, ',');
            ws(&b);
            qv_buf_put_u8(&b, '{');
            for (size_t i = 0; i < s.field_count; i++) {
                size_t k = (i * 7 + (size_t)iter) % s.field_count; /* varied key order */
                const qv_field *f = &s.fields[k];
                int reps = rndn(30) == 0 ? 2 : 1; /* sometimes a repeated key */
                if ((f->nullable || f->has_default) && rndn(3) == 0)
                    continue;
                for (int rep = 0; rep < reps; rep++) {
                    if (!first)
                        qv_buf_put_u8(&b, ',');
                    first = false;
                    ws(&b);
                    qv_buf_printf(&b, "\"%s\"", f->name);
                    ws(&b);
                    qv_buf_put_u8(&b, ':');
                    ws(&b);
                    rnd_value(&b, f);
                }
            }
            for (int x = rndn(3); x > 0; x--) { /* dynamic keys */
                qv_buf_printf(&b, ",\"dyn%d\":", rndn(3));
                rnd_json(&b, 0);
            }
            qv_buf_put_u8(&b, '}');
        }
        qv_buf_put_u8(&b, ']');
        qv_buf_put_u8(&b, 0);
        if (dec_both(&s, (const char *)b.data, NULL, NULL, NULL) == QV_OK)
            ok++;
        else
            bad++;
        qv_buf_fini(&b);
    }
    ck_assert_int_gt(ok, 50); /* both outcomes exercised */
    ck_assert_int_gt(bad, 50);
    qv_schema_fini(&s);
}
END_TEST

/* ---- the float parser --------------------------------------------------------------- */

static void check_float(const char *text)
{
    float got = 0, want;
    size_t used = 0;
    uint32_t a, b;

    ck_assert_int_eq(qv_codec_parse_float(text, strlen(text), &got, &used), QV_OK);
    ck_assert_uint_eq(used, strlen(text));
    want = strtof(text, NULL);
    memcpy(&a, &got, 4);
    memcpy(&b, &want, 4);
    if (a != b)
        ck_abort_msg("%s: got %a (%08x), strtof %a (%08x)", text, (double)got, a, (double)want, b);
}

START_TEST(test_parse_float_edges)
{
    static const char *const ok[] = {
        "0", "-0", "0.0", "-0.0", "0e999999999", "1", "-1", "0.1", "3.4028235e38",
        "3.4028236e38", "3.40282356779733661637539395458142568448e38", "1e39", "-1e39",
        "1.17549435e-38", "1.1754942e-38", "1e-45", "1.4e-45", "7e-46", "7.1e-46", "1e-46",
        "1e-400", "16777217", "16777216.5", "16777217.000000000000001", "0.000000000000000000001",
        "123456789012345678901234567890", "1.00000005960464477539062500",
        "1.000000059604644775390625000000000000000000001", "9007199254740993",
        "18446744073709551615", "18446744073709551616", "0.30000001192092896",
        "33554431", "33554433", "1e22", "1e23", "1e-22", "4.7019774e-38", "2.5e-45"};
    float f;
    size_t used;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        check_float(ok[i]);
    /* not JSON numbers */
    ck_assert_int_eq(qv_codec_parse_float("-", 1, &f, &used), QV_EBADJSON);
    ck_assert_int_eq(qv_codec_parse_float("1.", 2, &f, &used), QV_EBADJSON);
    ck_assert_int_eq(qv_codec_parse_float("1e", 2, &f, &used), QV_EBADJSON);
    ck_assert_int_eq(qv_codec_parse_float("1e+", 3, &f, &used), QV_EBADJSON);
    ck_assert_int_eq(qv_codec_parse_float(".5", 2, &f, &used), QV_EBADJSON);
    ck_assert_int_eq(qv_codec_parse_float("+1", 2, &f, &used), QV_EBADJSON);
    ck_assert_int_eq(qv_codec_parse_float("inf", 3, &f, &used), QV_EBADJSON);
    ck_assert_int_eq(qv_codec_parse_float("", 0, &f, &used), QV_EBADJSON);
    /* a number stops where JSON says */
    ck_assert_int_eq(qv_codec_parse_float("01", 2, &f, &used), QV_OK);
    ck_assert_uint_eq(used, 1);
    ck_assert_int_eq(qv_codec_parse_float("2.5e3,", 6, &f, &used), QV_OK);
    ck_assert_uint_eq(used, 5);
    ck_assert(f == 2500.0f);
    ck_assert_int_eq(qv_codec_parse_float("1e39", 4, &f, &used), QV_OK);
    ck_assert(isinf(f));
    ck_assert_int_eq(qv_codec_parse_float("-0", 2, &f, &used), QV_OK);
    ck_assert(f == 0 && signbit(f));
}
END_TEST

START_TEST(test_parse_float_random)
{
    char buf[96];

    rng_state = 0xD1B54A32D192ED03ull + (uint64_t)_i;
    for (int i = 0; i < 750000; i++) {
        uint32_t bits = (uint32_t)rnd();
        float x;
        double d;
        int n, len, point, e;
        switch (i % 6) {
        case 0: /* shortest and 9-digit forms of random floats */
            memcpy(&x, &bits, 4);
            if (!isfinite(x))
                continue;
            snprintf(buf, sizeof buf, "%.*g", 1 + rndn(9), (double)x);
            break;
        case 1: /* doubles printed with 17 digits, as Python's json does */
            memcpy(&x, &bits, 4);
            if (!isfinite(x))
                continue;
            snprintf(buf, sizeof buf, "%.17g", (double)x * (1 + (double)rndn(3) * 1e-9));
            break;
        case 2: /* exact float midpoints, and just off them */
            bits &= 0x7effffff;
            memcpy(&x, &bits, 4);
            d = ((double)x + (double)nextafterf(x, INFINITY)) / 2;
            snprintf(buf, sizeof buf, "%.*g", 17 + rndn(20), d);
            break;
        case 3: /* random digit strings with a point and an exponent */
            len = 1 + rndn(24);
            point = rndn(len + 1);
            n = 0;
            if (rndn(2))
                buf[n++] = '-';
            for (int k = 0; k < len; k++) {
                if (k == point && k)
                    buf[n++] = '.';
                buf[n++] = (char)((k == 0 ? '1' : '0') + rndn(k == 0 ? 9 : 10));
            }
            e = rndn(100) - 60;
            snprintf(buf + n, sizeof buf - (size_t)n, "e%d", e);
            break;
        case 4: /* subnormals and the edges of the range */
            bits = (bits & 0x807fffff) | (rndn(2) ? 0 : 0x7f000000);
            memcpy(&x, &bits, 4);
            snprintf(buf, sizeof buf, "%.*g", 1 + rndn(12), (double)x);
            break;
        default: /* typical embedding values */
            snprintf(buf, sizeof buf, "%.*f", 1 + rndn(9),
                     ((double)rnd() / (double)UINT64_MAX - 0.5) * 2);
            break;
        }
        check_float(buf);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rowcodec");
    TCase *tc = tcase_create("decode");
    TCase *tf = tcase_create("float");

    tcase_add_test(tc, test_roundtrip_every_type);
    tcase_add_test(tc, test_int64_exact);
    tcase_add_test(tc, test_other_vector_types);
    tcase_add_test(tc, test_validation_errors);
    tcase_add_test(tc, test_defaults_and_nullables);
    tcase_add_test(tc, test_dynamic_fields);
    tcase_add_test(tc, test_output_fields);
    tcase_add_test(tc, test_autoid_pk);
    tcase_add_test(tc, test_body_split);
    tcase_add_test(tc, test_truncated_bodies);
    tcase_add_test(tc, test_differential);
    tcase_add_loop_test(tf, test_parse_float_edges, 0, 1);
    tcase_add_loop_test(tf, test_parse_float_random, 0, 4); /* 3 million strings */
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tf);
    return test_run_suite(s);
}
