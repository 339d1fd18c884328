/* SPDX-License-Identifier: Apache-2.0 */
/* test_filter.c - the filter language end to end: a table of (expression, matching ids)
 * over hand-written rows covering every construct, type, null and missing-key case;
 * error messages; templates; the PK shortcut; limits (a million parentheses, a 700k-term
 * or chain); and a differential test of the columnar evaluator against a per-row
 * reference evaluator written here from the documented semantics. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/filter.h"
#include "quiver/jsonb.h"
#include "quiver/scalar_index.h"
#include "testutil.h"

/* ---- schemas ------------------------------------------------------------------------- */

typedef struct fdef {
    const char *name;
    qv_type type, etype;
    bool nullable, pk;
} fdef;

static void make_schema(qv_schema *s, const fdef *defs, size_t n, bool dynamic)
{
    memset(s, 0, sizeof *s);
    s->fields = qv_calloc(n, sizeof *s->fields);
    s->field_count = n;
    s->enable_dynamic = dynamic;
    for (size_t i = 0; i < n; i++) {
        qv_field *f = &s->fields[i];
        f->name = qv_strdup(defs[i].name);
        f->id = 100 + (int64_t)i;
        f->type = defs[i].type;
        f->element_type = defs[i].etype;
        f->nullable = defs[i].nullable;
        f->is_primary = defs[i].pk;
        f->dim = qv_type_is_vector(f->type) ? 4 : 0;
        f->max_length = 256;
        f->max_capacity = 16;
    }
}

static const fdef table_fields[] = {
    {"id", QV_TYPE_INT64, 0, false, true},
    {"vec", QV_TYPE_FLOAT_VECTOR, 0, false, false},
    {"b", QV_TYPE_BOOL, 0, true, false},
    {"i8", QV_TYPE_INT8, 0, false, false},
    {"i16", QV_TYPE_INT16, 0, false, false},
    {"i32", QV_TYPE_INT32, 0, true, false},
    {"i64", QV_TYPE_INT64, 0, false, false},
    {"f", QV_TYPE_FLOAT, 0, false, false},
    {"d", QV_TYPE_DOUBLE, 0, true, false},
    {"s", QV_TYPE_VARCHAR, 0, true, false},
    {"j", QV_TYPE_JSON, 0, true, false},
    {"ai", QV_TYPE_ARRAY, QV_TYPE_INT64, true, false},
    {"as", QV_TYPE_ARRAY, QV_TYPE_VARCHAR, false, false},
    {"af", QV_TYPE_ARRAY, QV_TYPE_FLOAT, false, false},
    {"ab", QV_TYPE_ARRAY, QV_TYPE_BOOL, false, false},
};
#define NTABLE_FIELDS (sizeof table_fields / sizeof table_fields[0])

static const char *const table_rows[] = {
    "{\"id\":0,\"b\":true,\"i8\":-5,\"i16\":300,\"i32\":7,\"i64\":10,\"f\":0.1,\"d\":1.5,\"s\":"
    "\"apple\","
    "\"j\":{\"a\":1,\"b\":{\"c\":\"x\"},\"arr\":[1,2,3],\"n\":null},\"ai\":[1,2,3],\"as\":[\"x\","
    "\"y\"],"
    "\"af\":[0.1,0.5],\"ab\":[true],\"uid\":5,\"name\":\"alice\",\"tags\":[\"a\",\"b\"]}",
    "{\"id\":1,\"b\":false,\"i8\":0,\"i16\":-1,\"i32\":null,\"i64\":20,\"f\":2.5,\"d\":null,\"s\":"
    "\"banana\","
    "\"j\":{\"a\":2.5,\"b\":{\"c\":\"y\"},\"arr\":[4]},\"ai\":[],\"as\":[\"z\"],\"af\":[],\"ab\":["
    "false,true],"
    "\"uid\":6,\"name\":\"bob\"}",
    "{\"id\":2,\"b\":null,\"i8\":127,\"i16\":0,\"i32\":-7,\"i64\":-30,\"f\":-1.0,\"d\":-2.25,\"s\":"
    "null,"
    "\"j\":null,\"ai\":null,\"as\":[],\"af\":[1.5],\"ab\":[],\"uid\":\"7\",\"extra\":{\"k\":[1,{"
    "\"z\":true}]}}",
    "{\"id\":3,\"b\":true,\"i8\":-128,\"i16\":32767,\"i32\":100,\"i64\":9223372036854775807,\"f\":"
    "100.0,"
    "\"d\":0.0,\"s\":\"apricot\",\"j\":{\"a\":\"str\",\"arr\":[1,\"1\",true]},\"ai\":[5,5,6],"
    "\"as\":[\"x\"],"
    "\"af\":[0.1],\"ab\":[true,true],\"uid\":5.0,\"name\":\"carol\",\"tags\":[\"b\"]}",
    "{\"id\":4,\"b\":false,\"i8\":1,\"i16\":2,\"i32\":3,\"i64\":-9223372036854775808,\"f\":0.5,"
    "\"d\":3.0,"
    "\"s\":\"\",\"j\":[1,2],\"ai\":[1],\"as\":[\"a%b\",\"a_b\"],\"af\":[2.0],\"ab\":[false],"
    "\"name\":\"Dave\"}",
    "{\"id\":5,\"b\":true,\"i8\":10,\"i16\":10,\"i32\":10,\"i64\":10,\"f\":10.0,\"d\":10.0,\"s\":"
    "\"50% off\","
    "\"j\":{\"a\":1.0,\"flag\":true},\"ai\":[10,20],\"as\":[\"50%\"],\"af\":[10.0],\"ab\":[true],"
    "\"uid\":100,"
    "\"name\":\"eve\",\"flag\":true}",
    "{\"id\":6,\"b\":false,\"i8\":-1,\"i16\":-1,\"i32\":-1,\"i64\":-1,\"f\":-0.5,\"d\":-0.5,"
    "\"s\":\"h\\u00e9llo w\\u00f6rld\",\"j\":{\"b\":{\"c\":\"x\",\"d\":[{\"e\":1}]}},\"ai\":[-1],"
    "\"as\":[\"\\u00e9\"],\"af\":[-0.5],\"ab\":[],\"uid\":-1,\"name\":\"frank\",\"score\":0.75}",
    "{\"id\":7,\"b\":true,\"i8\":2,\"i16\":4,\"i32\":8,\"i64\":16,\"f\":32.0,\"d\":64.0,\"s\":\"a_"
    "c\","
    "\"j\":{\"a\":null},\"ai\":[2,4,8],\"as\":[\"abc\",\"abd\"],\"af\":[0.25],\"ab\":[true,false],"
    "\"uid\":10,"
    "\"name\":\"gina\",\"score\":1.5,\"tags\":[]}",
    "{\"id\":8,\"b\":null,\"i8\":3,\"i16\":9,\"i32\":null,\"i64\":27,\"f\":81.0,\"d\":null,\"s\":"
    "\"abc\","
    "\"j\":{},\"ai\":null,\"as\":[\"q\"],\"af\":[3.0],\"ab\":[false],\"uid\":null,\"name\":"
    "\"hank\"}",
    "{\"id\":9,\"b\":false,\"i8\":4,\"i16\":16,\"i32\":64,\"i64\":256,\"f\":1024.0,\"d\":4096.0,"
    "\"s\":\"x\\\"y'z\",\"j\":{\"a\":[1,2],\"arr\":[[1,2],[3]]},\"ai\":[1,2],\"as\":[\"x\",\"y\","
    "\"z\"],"
    "\"af\":[1.0,2.0],\"ab\":[true],\"uid\":9223372036854775807,\"name\":\"ivy\"}",
};
#define NTABLE_ROWS (sizeof table_rows / sizeof table_rows[0])

/* ---- batches built from JSON rows --------------------------------------------------------- */

typedef struct tbatch {
    size_t rows;
    qv_column *cols;
    size_t ncols;
    qv_column dyn;
    void **bufs;
    size_t nbufs, capbufs;
    uint8_t **row; /* each row as a jsonb object, for reference evaluation */
    size_t *rowlen;
    qv_filter_batch b;
} tbatch;

static void *tb_keep(tbatch *t, void *p)
{
    if (t->nbufs == t->capbufs) {
        t->capbufs = t->capbufs * 2 + 64;
        t->bufs = realloc(t->bufs, t->capbufs * sizeof *t->bufs);
    }
    t->bufs[t->nbufs++] = p;
    return p;
}

static size_t type_width(qv_type ty)
{
    switch (ty) {
    case QV_TYPE_BOOL:
    case QV_TYPE_INT8:
        return 1;
    case QV_TYPE_INT16:
        return 2;
    case QV_TYPE_INT32:
    case QV_TYPE_FLOAT:
        return 4;
    default:
        return 8;
    }
}

static void put_fixed(uint8_t *dst, qv_type ty, qv_jsonb v)
{
    int64_t i = 0;
    double d = 0;
    bool b = false;
    (void)qv_jsonb_get_int(v, &i);
    (void)qv_jsonb_get_double(v, &d);
    (void)qv_jsonb_get_bool(v, &b);
    switch (ty) {
    case QV_TYPE_BOOL:
        dst[0] = b;
        break;
    case QV_TYPE_INT8: {
        int8_t x = (int8_t)i;
        memcpy(dst, &x, 1);
        break;
    }
    case QV_TYPE_INT16: {
        int16_t x = (int16_t)i;
        memcpy(dst, &x, 2);
        break;
    }
    case QV_TYPE_INT32: {
        int32_t x = (int32_t)i;
        memcpy(dst, &x, 4);
        break;
    }
    case QV_TYPE_INT64:
        memcpy(dst, &i, 8);
        break;
    case QV_TYPE_FLOAT: {
        float x = (float)d;
        memcpy(dst, &x, 4);
        break;
    }
    default:
        memcpy(dst, &d, 8);
    }
}

static void tb_build(tbatch *t, const qv_schema *s, const char *const *rows, size_t n)
{
    qv_jsonb_builder jb;
    qv_buf dynbuf;
    uint64_t *dynoff;
    size_t words = qv_filter_words(n);

    memset(t, 0, sizeof *t);
    t->rows = n;
    t->ncols = s->field_count;
    t->cols = tb_keep(t, qv_calloc(s->field_count + 1, sizeof *t->cols));
    t->row = tb_keep(t, qv_calloc(n + 1, sizeof *t->row));
    t->rowlen = tb_keep(t, qv_calloc(n + 1, sizeof *t->rowlen));
    qv_jsonb_builder_init(&jb);
    for (size_t r = 0; r < n; r++) {
        qv_error err;
        qv_jsonb_builder_reset(&jb);
        if (qv_jsonb_parse_json(&jb, rows[r], strlen(rows[r]), &err) != QV_OK)
            ck_abort_msg("row %zu: %s", r, err.msg);
        ck_assert_int_eq(qv_jsonb_take(&jb, &t->row[r], &t->rowlen[r], NULL), QV_OK);
        tb_keep(t, t->row[r]);
    }
    for (size_t fi = 0; fi < s->field_count; fi++) {
        const qv_field *f = &s->fields[fi];
        qv_column *col = &t->cols[fi];
        uint64_t *valid = NULL;
        col->type = f->type;
        if (qv_type_is_vector(f->type))
            continue;
        if (f->nullable)
            valid = tb_keep(t, qv_calloc(words + 1, sizeof *valid));
        if (f->type == QV_TYPE_VARCHAR || f->type == QV_TYPE_JSON || f->type == QV_TYPE_ARRAY) {
            qv_buf data;
            uint64_t *off = tb_keep(t, qv_calloc(n + 1, sizeof *off));
            qv_buf_init(&data);
            for (size_t r = 0; r < n; r++) {
                qv_jsonb v =
                    qv_jsonb_find(qv_jsonb_root(t->row[r], t->rowlen[r]), f->name, strlen(f->name));
                bool isnull = qv_jsonb_typeof(v) == QV_JSONB_NULL || !qv_jsonb_present(v);
                off[r] = data.len;
                if (isnull) {
                    ck_assert_msg(f->nullable, "row %zu: %s is required", r, f->name);
                } else {
                    if (valid)
                        valid[r / 64] |= (uint64_t)1 << (r % 64);
                    if (f->type == QV_TYPE_VARCHAR) {
                        const char *sp;
                        size_t sl;
                        ck_assert(qv_jsonb_get_string(v, &sp, &sl));
                        qv_buf_put(&data, sp, sl);
                    } else if (f->type == QV_TYPE_ARRAY && f->element_type == QV_TYPE_FLOAT) {
                        /* Float elements: the double of the float32 value (the contract) */
                        const uint8_t *p;
                        size_t len;
                        qv_jsonb_iter it;
                        qv_jsonb e;
                        qv_jsonb_builder ab;
                        qv_jsonb_builder_init(&ab);
                        qv_jsonb_begin_array(&ab);
                        qv_jsonb_iter_init(&it, v);
                        while (qv_jsonb_iter_next(&it, NULL, NULL, &e)) {
                            double d;
                            ck_assert(qv_jsonb_get_double(e, &d));
                            qv_jsonb_double(&ab, (double)(float)d);
                        }
                        qv_jsonb_end_array(&ab);
                        ck_assert_int_eq(qv_jsonb_finish(&ab, &p, &len, NULL), QV_OK);
                        qv_buf_put(&data, p, len);
                        qv_jsonb_builder_fini(&ab);
                    } else {
                        qv_buf_put(&data, v.p, v.len);
                    }
                }
            }
            off[n] = data.len;
            col->offsets = off;
            col->data = tb_keep(t, qv_buf_take(&data, NULL));
        } else {
            size_t w = type_width(f->type);
            uint8_t *data = tb_keep(t, qv_calloc(n + 1, w));
            for (size_t r = 0; r < n; r++) {
                qv_jsonb v =
                    qv_jsonb_find(qv_jsonb_root(t->row[r], t->rowlen[r]), f->name, strlen(f->name));
                if (qv_jsonb_typeof(v) == QV_JSONB_NULL || !qv_jsonb_present(v)) {
                    ck_assert_msg(f->nullable, "row %zu: %s is required", r, f->name);
                    continue;
                }
                if (valid)
                    valid[r / 64] |= (uint64_t)1 << (r % 64);
                put_fixed(data + r * w, f->type, v);
            }
            col->data = data;
        }
        col->valid = valid;
    }
    /* $meta: the keys that are not schema fields */
    qv_buf_init(&dynbuf);
    dynoff = tb_keep(t, qv_calloc(n + 1, sizeof *dynoff));
    for (size_t r = 0; r < n; r++) {
        qv_jsonb_iter it;
        const char *k;
        size_t kl;
        qv_jsonb v;
        const uint8_t *p;
        size_t len;
        char name[64];
        qv_jsonb_builder_reset(&jb);
        qv_jsonb_begin_object(&jb);
        qv_jsonb_iter_init(&it, qv_jsonb_root(t->row[r], t->rowlen[r]));
        while (qv_jsonb_iter_next(&it, &k, &kl, &v)) {
            snprintf(name, sizeof name, "%.*s", (int)kl, k);
            if (qv_schema_field(s, name))
                continue;
            qv_jsonb_key(&jb, k, kl);
            qv_jsonb_value(&jb, v);
        }
        qv_jsonb_end_object(&jb);
        ck_assert_int_eq(qv_jsonb_finish(&jb, &p, &len, NULL), QV_OK);
        dynoff[r] = dynbuf.len;
        qv_buf_put(&dynbuf, p, len);
    }
    dynoff[n] = dynbuf.len;
    t->dyn.type = QV_TYPE_JSON;
    t->dyn.offsets = dynoff;
    t->dyn.data = tb_keep(t, qv_buf_take(&dynbuf, NULL));
    qv_jsonb_builder_fini(&jb);
    t->b.rows = n;
    t->b.cols = t->cols;
    t->b.col_count = t->ncols;
    t->b.dynamic = &t->dyn;
}

static void tb_free(tbatch *t)
{
    for (size_t i = 0; i < t->nbufs; i++)
        qv_free(t->bufs[i]);
    free(t->bufs);
    t->bufs = NULL;
    t->nbufs = t->capbufs = 0;
}

/* ---- running expressions ------------------------------------------------------------------ */

static qv_schema tschema;
static tbatch tb;

static void table_setup(void)
{
    make_schema(&tschema, table_fields, NTABLE_FIELDS, true);
    tb_build(&tb, &tschema, table_rows, NTABLE_ROWS);
}

static void table_teardown(void)
{
    tb_free(&tb);
    qv_schema_fini(&tschema);
}

/* Compile + evaluate; "ids" of matching rows as "0 3 5" (row i has id i), or an error. */
static qv_err run(const qv_schema *s, const qv_filter_batch *b, const char *expr,
                  const qv_filter_opts *o, char *got, size_t cap, qv_error *err)
{
    qv_filter *f;
    uint64_t *bits;
    size_t used = 0;
    qv_err rc;

    got[0] = '\0';
    if ((rc = qv_filter_compile(s, expr, strlen(expr), o, &f, err)) != QV_OK)
        return rc;
    bits = qv_calloc(qv_filter_words(b->rows) + 1, sizeof *bits);
    rc = qv_filter_eval(f, b, bits, err);
    for (size_t r = 0; rc == QV_OK && r < b->rows; r++)
        if (bits[r / 64] >> (r % 64) & 1)
            used += (size_t)snprintf(got + used, cap - used, "%s%zu", used ? " " : "", r);
    /* bits past the last row must be clear */
    if (rc == QV_OK && b->rows % 64)
        ck_assert_uint_eq(bits[b->rows / 64] >> (b->rows % 64), 0);
    qv_free(bits);
    qv_filter_free(f);
    return rc;
}

typedef struct tcase_row {
    const char *expr;
    const char *ids; /* "*" = every row */
} tcase_row;

static const tcase_row cases[] = {
    /* integers of every width, both sides, int vs double constants */
    {"i64 > 10", "1 3 7 8 9"},
    {"i64 >= 10", "0 1 3 5 7 8 9"},
    {"i64 == 10", "0 5"},
    {"i64 != 10", "1 2 3 4 6 7 8 9"},
    {"i64 < 0", "2 4 6"},
    {"i64 <= -1", "2 4 6"},
    {"10 < i64", "1 3 7 8 9"},
    {"-1 >= i64", "2 4 6"},
    {"i8 == -128", "3"},
    {"i8 > 100", "2"},
    {"i16 == 32767", "3"},
    {"i16 < 0", "1 6"},
    {"i32 > 0", "0 3 4 5 7 9"},
    {"i64 == 9223372036854775807", "3"},
    {"i64 == -9223372036854775808", "4"},
    {"i64 > 9223372036854775806", "3"},
    {"i64 > 2.5", "0 1 3 5 7 8 9"},
    {"i64 >= 2.5", "0 1 3 5 7 8 9"},
    {"i64 < 2.5", "2 4 6"},
    {"i64 <= -1.5", "2 4"},
    {"i64 == 10.0", "0 5"},
    {"i64 == 10.5", ""},
    {"i64 != 10.5", "*"},
    {"i64 < 1e300", "*"},
    {"i64 > -1e300", "*"},
    {"i64 >= 9.3e18", ""},
    {"i64 <= 9223372036854775807.0", "*"},
    {"i8 < 0.5", "0 1 3 6"},
    /* floats (Float compares in float precision), doubles */
    {"f == 0.1", "0"},
    {"f > 0.1", "1 3 4 5 7 8 9"},
    {"f < 0", "2 6"},
    {"f == 10", "5"},
    {"0.1 == f", "0"},
    {"d > 1", "0 4 5 7 9"},
    {"d == 0", "3"},
    {"d != 0", "0 2 4 5 6 7 9"},
    {"d == -0.0", "3"},
    {"d == 9007199254740993", ""},
    /* Bool */
    {"b", "0 3 5 7"},
    {"b == true", "0 3 5 7"},
    {"b == True", "0 3 5 7"},
    {"b == TRUE", "0 3 5 7"},
    {"b == false", "1 4 6 9"},
    {"b != true", "1 4 6 9"},
    {"not b", "1 4 6 9"},
    {"!b", "1 4 6 9"},
    {"false == b", "1 4 6 9"},
    {"b is null", "2 8"},
    {"b IS NULL", "2 8"},
    {"b is not null", "0 1 3 4 5 6 7 9"},
    {"b Is Not Null", "0 1 3 4 5 6 7 9"},
    /* VarChar */
    {"s == \"apple\"", "0"},
    {"s == 'apple'", "0"},
    {"\"abc\" == s", "8"},
    {"s != \"apple\"", "1 3 4 5 6 7 8 9"},
    {"s > \"b\"", "1 6 9"},
    {"s <= \"abc\"", "4 5 7 8"},
    {"s == \"x\\\"y'z\"", "9"},
    {"s == 'x\"y\\'z'", "9"},
    {"s == \"h\\u00e9llo w\\u00f6rld\"", "6"},
    {"s == \"h\\xc3\\xa9llo w\\303\\266rld\"", "6"},
    {"s == ''", "4"},
    {"s like \"ap%\"", "0 3"},
    {"s LIKE \"ap%\"", "0 3"},
    {"s like \"%e\"", "0"},
    {"s like \"%an%\"", "1"},
    {"s like \"a_c\"", "7 8"},
    {"s like \"a\\_c\"", "7"},
    {"s like r\"a\\_c\"", "7"},
    {"s like \"50\\%%\"", "5"},
    {"s like \"%\"", "0 1 3 4 5 6 7 8 9"},
    {"s like \"%%\"", "0 1 3 4 5 6 7 8 9"},
    {"s like \"\"", "4"},
    {"s like \"h_llo%\"", "6"},
    {"s like \"%\xc3\xb6%\"", "6"},
    {"s like \"a%c%\"", "3 7 8"},
    {"s like \"%p%c%\"", "3"},
    {"s like \"_\"", ""},
    {"s like \"_____\"", "0 9"},
    {"s like \"%_\"", "0 1 3 5 6 7 8 9"},
    {"s in [\"apple\", \"abc\"]", "0 8"},
    {"s not in [\"apple\", \"abc\"]", "1 3 4 5 6 7 9"},
    {"s in ['apple', 'apple']", "0"},
    /* in / not in */
    {"i64 in [10, 20]", "0 1 5"},
    {"i64 IN [10, 20]", "0 1 5"},
    {"i64 in [10.0, 2.5]", "0 5"},
    {"i64 not in [10, 20]", "2 3 4 6 7 8 9"},
    {"i64 NOT IN [10, 20]", "2 3 4 6 7 8 9"},
    {"i64 in [10, 20,]", "0 1 5"},
    {"i8 in [-128, 127]", "2 3"},
    {"f in [0.1, 2.5]", "0 1"},
    {"d in [1.5, 3]", "0 4"},
    {"i32 in [7, -7]", "0 2"},
    {"i32 not in [7, -7]", "3 4 5 6 7 9"},
    {"b in [true]", "0 3 5 7"},
    {"b not in [true]", "1 4 6 9"},
    {"id in []", ""},
    {"id not in []", "*"},
    {"id in [1, 1, 2]", "1 2"},
    {"i64 in [-9223372036854775808, 9223372036854775807]", "3 4"},
    {"i64 in [1 + 9, -(-20)]", "0 1 5"},
    /* arithmetic on either side */
    {"i64 * 2 + 1 > 41", "8 9"},
    {"41 < i64 * 2 + 1", "8 9"},
    {"i64 > i8 * 2", "0 1 3 6 7 8 9"},
    {"i8 + i16 == 295", "0"},
    {"i64 % 3 == 1", "0 3 5 7 9"},
    {"i64 / 3 == 3", "0 5"},
    {"-i64 == 30", "2"},
    {"- i64 == 30", "2"},
    {"i64 - 10 == 0", "0 5"},
    {"1 + 1 == 2", "*"},
    {"1 + 1 == 3", ""},
    {"f * 2 > 1", "1 3 5 7 8 9"},
    {"d / 0.5 > 6", "5 7 9"},
    {"i64 / i8 > 1", "7 8 9"},
    {"not (i64 / i8 > 1)", "0 2 3 4 5 6"},
    {"2 ** 10 == 1024", "*"},
    {"f == 2 ** 5", "7"},
    {"i64 ** 2 > 100", "1 2 3 4 7 8 9"},
    {"-2 ** 2 == -4", "*"},
    {"2 ** 3 ** 2 == 512", "*"},
    {"(i16 + 1) * 2 == 602", "0"},
    {"i16 + 1 * 2 == 302", "0"},
    {"i64 - 3 - 3 == 4", "0 5"},
    {"i64 % -1 == 0", "*"},
    {"i64 / -1 == -10", "0 5"},
    {"i64 + 1 < i64", "3"},
    {"d + i32 > 10", "3 5 7 9"},
    /* field vs field */
    {"i64 > i32", "0 3 7 9"},
    {"i64 == i32", "5 6"},
    {"f < d", "0 4 7 9"},
    {"i64 < f", "2 4 6 7 8 9"},
    {"s > name", "0 6 9"},
    {"i8 == i16", "5 6"},
    /* chained ranges */
    {"1 < i8 < 5", "7 8 9"},
    {"1 <= i8 <= 4", "4 7 8 9"},
    {"5 > i8 > 1", "7 8 9"},
    {"0.0 < f <= 10", "0 1 4 5"},
    {"'a' < s < 'b'", "0 3 7 8"},
    {"1 < uid < 10", "0 1 3"},
    {"10+10 <= i64 < 20+10", "1 8"},
    {"i8 < i16 <= i64", "3 7 8 9"},
    {"-1 < i32 + 1 < 10", "0 4 6 7"},
    /* logic and precedence */
    {"i64 == 10 or i64 == 20 and not b", "0 1 5"},
    {"(i64 == 10 or i64 == 20) and not b", "1"},
    {"not i64 == 10", "1 2 3 4 6 7 8 9"},
    {"not i64 in [10, 20]", "2 3 4 6 7 8 9"},
    {"not s like 'a%'", "1 4 5 6 9"},
    {"i64 > 0 && i64 < 20", "0 5 7"},
    {"i64 < 0 || i64 > 100", "2 3 4 6 9"},
    {"i64 < 0 AND i8 < 0", "6"},
    {"i64 < 0 OR i8 < 0", "0 2 3 4 6"},
    {"i64 > 10 AND b", "3 7"},
    {"i64 > 10 Or b", "0 1 3 5 7 8 9"},
    {"not not b", "0 3 5 7"},
    {"!!b", "0 3 5 7"},
    {"not (not (b))", "0 3 5 7"},
    {"true", "*"},
    {"TRUE", "*"},
    {"false", ""},
    {"not true", ""},
    {"b and true", "0 3 5 7"},
    {"b or false", "0 3 5 7"},
    {"b or true", "*"},
    {"b and false", ""},
    {"((((i64 == 10))))", "0 5"},
    {"i64 > 10\n and\tb", "3 7"},
    {"i64 == 1 or i64 == 10 or i64 == 16 or i64 == 27 or id == 2", "0 2 5 7 8"},
    /* three-valued logic with nulls */
    {"b or not b", "0 1 3 4 5 6 7 9"},
    {"b or i64 > 0", "0 1 3 5 7 8 9"},
    {"not (b or i64 > 0)", "4 6"},
    {"b and i64 > 0", "0 3 5 7"},
    {"not (b and i64 > 100)", "0 1 2 4 5 6 7 8 9"},
    {"not (b and i64 > 0)", "1 2 4 6 9"},
    {"not (i32 > 0)", "2 6"},
    {"i32 > 0 or i32 <= 0", "0 2 3 4 5 6 7 9"},
    {"i32 is null", "1 8"},
    {"i32 is not null", "0 2 3 4 5 6 7 9"},
    {"d is null or d > 5", "1 5 7 8 9"},
    {"s is null", "2"},
    {"i64 is null", ""},
    {"i64 is not null", "*"},
    {"not (d > 1 or s == 'x')", "3 6"},
    /* JSON field paths */
    {"j[\"a\"] == 1", "0 5"},
    {"j['a'] == 1", "0 5"},
    {"j[\"a\"] != 1", "1 3 4 6 7 8 9"},
    {"not (j[\"a\"] == 1)", "1 3 4 6 7 8 9"},
    {"j[\"a\"] > 1", "1"},
    {"j[\"a\"] < \"t\"", "3"},
    {"j[\"b\"][\"c\"] == \"x\"", "0 6"},
    {"j[\"arr\"][0] == 1", "0 3"},
    {"j[\"arr\"][1] == \"1\"", "3"},
    {"j[\"b\"][\"d\"][0][\"e\"] == 1", "6"},
    {"j[\"a\"] is null", "2 4 6 7 8"},
    {"j[\"a\"] is not null", "0 1 3 5 9"},
    {"j is null", "2"},
    {"j is not null", "0 1 3 4 5 6 7 8 9"},
    {"exists j[\"a\"]", "0 1 3 5 7 9"},
    {"EXISTS j[\"n\"]", "0"},
    {"not exists j[\"a\"]", "4 6 8"},
    {"exists j", "0 1 3 4 5 6 7 8 9"},
    {"j[\"a\"] in [1, \"str\"]", "0 3 5"},
    {"j[\"a\"] not in [1, \"str\"]", "1 4 6 7 8 9"},
    {"j[\"a\"] like \"s%\"", "3"},
    {"j[0] == 1", "4"},
    {"j == [1, 2]", "4"},
    {"j[\"a\"] == [1, 2]", "9"},
    {"j[\"a\"] == [1.0, 2]", "9"},
    {"j[\"flag\"]", "5"},
    {"j[\"a\"] + 1 == 2", "0 5"},
    {"j[\"a\"] * 2 > 4", "1"},
    {"j[\"a\"] > i8", "0 1"},
    {"json_contains(j[\"arr\"], 1)", "0 3"},
    {"json_contains(j[\"arr\"], [3])", "9"},
    {"json_contains_all(j[\"arr\"], [1, 2])", "0"},
    {"json_contains_any(j[\"arr\"], [4, \"1\"])", "1 3"},
    {"JSON_CONTAINS(j[\"arr\"], 2)", "0"},
    {"json_contains(j, 1)", "4"},
    {"json_contains_all(j[\"arr\"], [])", "0 1 3 9"},
    {"json_contains_any(j[\"arr\"], [])", ""},
    {"not json_contains(j[\"arr\"], 1)", "1 4 5 6 7 8 9"},
    {"array_length(j[\"arr\"]) == 3", "0 3"},
    /* dynamic fields by bare name and via $meta */
    {"uid == 5", "0 3"},
    {"uid > 5", "1 5 7 9"},
    {"uid != 5", "1 2 4 5 6 7 8 9"},
    {"$meta[\"uid\"] == 5", "0 3"},
    {"$meta['name'] == 'bob'", "1"},
    {"uid in [5, 6]", "0 1 3"},
    {"uid == \"7\"", "2"},
    {"name like \"a%\"", "0"},
    {"name == \"Dave\"", "4"},
    {"tags is null", "1 2 4 5 6 8 9"},
    {"exists tags", "0 3 7"},
    {"array_length(tags) == 0", "7"},
    {"array_length(tags) >= 1", "0 3"},
    {"json_contains(tags, \"b\")", "0 3"},
    {"extra[\"k\"][1][\"z\"] == true", "2"},
    {"extra[\"k\"][1][\"z\"]", "2"},
    {"score > 1", "7"},
    {"score * 2 == 1.5", "6"},
    {"uid is null", "4 8"},
    {"exists uid", "0 1 2 3 5 6 7 8 9"},
    {"flag", "5"},
    {"uid + 1 > 6", "1 5 7"},
    {"uid > 9223372036854775806", "9"},
    {"nosuch == 1", ""},
    {"nosuch != 1", "*"},
    {"nosuch is null", "*"},
    /* Array fields */
    {"array_contains(ai, 2)", "0 7 9"},
    {"array_contains_all(ai, [1, 2])", "0 9"},
    {"array_contains_any(ai, [5, 10])", "3 5"},
    {"ARRAY_CONTAINS(as, \"x\")", "0 3 9"},
    {"array_contains(as, \"a%b\")", "4"},
    {"array_contains(af, 0.1)", "0 3"},
    {"array_contains(af, 2)", "4 9"},
    {"array_contains(ab, false)", "1 4 7 8"},
    {"array_length(ai) == 0", "1"},
    {"array_length(ai) > 1", "0 3 5 7 9"},
    {"ai[0] == 1", "0 4 9"},
    {"ai[1] > 3", "3 5 7"},
    {"as[0] == \"x\"", "0 3 9"},
    {"as[1] like \"a%\"", "4 7"},
    {"af[0] == 0.1", "0 3"},
    {"ai[5] is null", "*"},
    {"ai is null", "2 8"},
    {"ai == [1, 2]", "9"},
    {"ai != [1, 2]", "0 1 3 4 5 6 7"},
    {"not array_contains(ai, 2)", "1 3 4 5 6"},
    {"ab[0]", "0 3 5 7 9"},
    {"ab[1] == true", "1 3"},
    {"ai[0] + ai[1] == 3", "0 9"},
    /* literals */
    {"i64 == 0x10", "7"},
    {"i64 == 0X10", "7"},
    {"i64 == 0b1010", "0 5"},
    {"i64 == 020", "7"},
    {"f == 1e1", "5"},
    {"f == .5", "4"},
    {"f == 5e-1", "4"},
    {"i64 == -0x1E", "2"},
    {"d == 1.5e0", "0"},
    {"d == 15E-1", "0"},
    {"i64 == +10", "0 5"},
    /* primary keys */
    {"id == 3", "3"},
    {"3 == id", "3"},
    {"id in [1, 5, 1]", "1 5"},
};

START_TEST(test_table)
{
    char got[256], all[64];
    size_t failures = 0;
    qv_error err;

    snprintf(all, sizeof all, "0 1 2 3 4 5 6 7 8 9");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *want = strcmp(cases[i].ids, "*") == 0 ? all : cases[i].ids;
        qv_err rc = run(&tschema, &tb.b, cases[i].expr, NULL, got, sizeof got, &err);
        if (rc != QV_OK) {
            fprintf(stderr, "FAIL %s: error %s\n", cases[i].expr, err.msg);
            failures++;
        } else if (strcmp(got, want) != 0) {
            fprintf(stderr, "FAIL %s: got [%s] want [%s]\n", cases[i].expr, got, want);
            failures++;
        }
    }
    printf("test_table: %zu cases, %zu failures\n", sizeof cases / sizeof cases[0], failures);
    ck_assert_uint_eq(failures, 0);
}
END_TEST

typedef struct ecase {
    const char *expr;
    const char *msg; /* expected substring of the error detail */
} ecase;

static const ecase error_cases[] = {
    {"i64 >", "unexpected end of expression"},
    {"i64 > > 1", "syntax error near '>', expected an operand at position 6"},
    {"(i64 > 1", "expected ')'"},
    {"i64 > 1)", "syntax error near ')'"},
    {"i64 = 1", "use '=='"},
    {"vec > 1", "vector field vec"},
    {"s == 1", "comparisons between VarChar and Int64 are not supported"},
    {"i64 == 'x'", "comparisons between Int64 and VarChar are not supported"},
    {"b == 1", "comparisons between Bool and Int64"},
    {"b > true", "can only be compared with == and !="},
    {"i64 like 'a%'", "like is only supported on VarChar and JSON"},
    {"s like 1", "pattern of like must be a string"},
    {"s like s", "pattern of like must be a string"},
    {"i64 in 5", "must be a list"},
    {"i64 in i32", "must be a list"},
    {"i64 in ['a']", "does not match type"},
    {"s in [1]", "does not match type"},
    {"b in [1]", "does not match type"},
    {"i64 & 1 == 1", "bitwise operators are not supported"},
    {"i64 | 1", "bitwise operators are not supported"},
    {"~i64 == 1", "bitwise operators are not supported"},
    {"i64 << 1 == 2", "bitwise operators are not supported"},
    {"i64 + s > 1", "arithmetic operators need numbers"},
    {"b + 1 > 1", "arithmetic operators need numbers"},
    {"i64 / 0 > 1", "division by zero"},
    {"i64 % 0 == 1", "division by zero"},
    {"1 / 0 == 1", "division by zero"},
    {"1 < i64 > 5", "must form a range"},
    {"1 == i64 < 5", "must form a range"},
    {"1 < i64 < 5 < 7", "exactly two comparison operators"},
    {"i64 == 99999999999999999999", "out of int64 range"},
    {"i64 == 9223372036854775808", "out of int64 range"},
    {"i64 == 0x1ffffffffffffffff", "out of int64 range"},
    {"i64 == 09", "invalid digit"},
    {"i64 == 0b102", "invalid digit"},
    {"i64 == 1abc", "invalid numeric literal"},
    {"f == 1e", "invalid floating-point literal"},
    {"s == 'abc", "unterminated string literal"},
    {"s == \"abc\n\"", "unterminated string literal"},
    {"s == \"\\u12\"", "invalid \\u escape"},
    {"s == \"\\ud800\"", "invalid Unicode code point"},
    {"text_match(s, 'x')", "does not enable match"},
    {"text_match(s, 'x', minimum_should_match=0)", "minimum_should_match"},
    {"text_match(s, 'x', foo=1)", "minimum_should_match"},
    {"random_sample(0.5)", "function random_sample is not supported"},
    {"json_contains(i64, 1)", "needs an Array or JSON field"},
    {"json_contains(j)", "takes two arguments"},
    {"array_contains(ai, 'x')", "does not match elements of type Int64"},
    {"array_contains_all(ai, 1)", "must be a list"},
    {"array_contains_any(ai, ['a'])", "does not match type"},
    {"array_contains(ai, i64)", "must be a constant"},
    {"i64", "is not a boolean expression"},
    {"s", "is not a boolean expression"},
    {"i64 > 1 and 5", "is not a boolean expression"},
    {"array_length(ai)", "not a boolean expression"},
    {"(i64 > 1) == true", "comparing boolean expressions is not supported"},
    {"ai > 1", "comparisons between Array and Int64"},
    {"ai < [1]", "can only be compared with == and !="},
    {"i64 is null is null", "syntax error near 'is'"},
    {"i64 is 5", "expected 'null'"},
    {"ai[\"x\"] == 1", "takes exactly one integer index"},
    {"ai[0][1] == 1", "takes exactly one integer index"},
    {"s[0] == 'a'", "cannot be indexed"},
    {"j[-1] == 1", "a string key or an integer index"},
    {"j[i64] == 1", "a string key or an integer index"},
    {"i64 =~ 'x'", "regex match operators are not supported"},
    {"#", "unexpected character '#' at position 0"},
    {"i64 > 1 #", "unexpected character '#' at position 8"},
    {"i64 > 1 \x01", "unexpected byte 0x01"},
    {"null == i64", "null is only valid"},
    {"i64 in [i32]", "list elements must be constants"},
    {"{x} == 1", "template variable name {x} is not found"},
    {"array_length(i64) == 1", "needs an Array or JSON field"},
    {"exists i64", "exists needs a JSON path"},
    {"(i64 + 1) is null", "is null needs a field or JSON path"},
    {"$foo > 1", "unexpected character '$'"},
    {"and", "syntax error near 'and'"},
    {"i64 > 1 and", "unexpected end of expression"},
    {"not", "unexpected end of expression"},
    {"[1, 2]", "is not a boolean expression"},
    {"[1, 2", "expected ',' or ']'"},
    {"f(1", "expected ',' or ')'"},
    {"{1} > 2", "a template variable name"},
    {"{x > 2", "expected '}'"},
    {"1 < s < 'b'", "comparisons between Int64 and VarChar"},
    {"s == \"\\xff\"", "string literal is not valid UTF-8"},
    {"s == \"\xff\"", "string literal is not valid UTF-8"},
    {"json_contains_any(jj[\"arr\"], [4, \"\xaa\"])", "not valid UTF-8"}, /* fuzzer find */
    /* fuzzer find: a named argument outside text_match recursed until the stack ran out */
    {"json_contains_any(jj=jj[\"arr\"], [2, \"1\"])", "only allowed in text_match"},
    {"i64 > 1 and (s=\"a\")", "'=='"},
};

START_TEST(test_errors)
{
    static const char *prefix = "failed to create query plan: cannot parse expression: ";
    char got[256];
    size_t failures = 0;

    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        qv_error err;
        qv_err rc;
        memset(&err, 0, sizeof err);
        rc = run(&tschema, &tb.b, error_cases[i].expr, NULL, got, sizeof got, &err);
        if (rc != QV_EINVAL || strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
            !strstr(err.msg, error_cases[i].msg)) {
            fprintf(stderr, "FAIL %s: rc=%d msg=%s (want %s)\n", error_cases[i].expr, (int)rc,
                    rc == QV_OK ? got : err.msg, error_cases[i].msg);
            failures++;
        }
    }
    printf("test_errors: %zu cases, %zu failures\n", sizeof error_cases / sizeof error_cases[0],
           failures);
    ck_assert_uint_eq(failures, 0);
}
END_TEST

START_TEST(test_error_message_format)
{
    qv_error err;
    char got[64];
    qv_schema plain;
    static const fdef f2[] = {{"id", QV_TYPE_INT64, 0, false, true},
                              {"v", QV_TYPE_FLOAT_VECTOR, 0, false, false}};

    ck_assert_int_eq(run(&tschema, &tb.b, "i64 > > 1", NULL, got, sizeof got, &err), QV_EINVAL);
    ck_assert_str_eq(err.msg, "failed to create query plan: cannot parse expression: i64 > > 1, "
                              "error: syntax error near '>', expected an operand at position 6");
    /* unknown names are $meta keys only with a dynamic schema */
    make_schema(&plain, f2, 2, false);
    ck_assert_int_eq(qv_filter_compile(&plain, "nope > 1", 8, NULL, &(qv_filter *){NULL}, &err),
                     QV_EINVAL);
    ck_assert_str_eq(err.msg, "failed to create query plan: cannot parse expression: nope > 1, "
                              "error: field nope not exist at position 0");
    ck_assert_int_eq(
        qv_filter_compile(&plain, "$meta[\"a\"] > 1", 14, NULL, &(qv_filter *){NULL}, &err),
        QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "no dynamic field"));
    qv_schema_fini(&plain);
    /* a long expression is echoed truncated so the detail still fits */
    {
        char expr[2000];
        size_t n = 0;
        while (n < 1500)
            n += (size_t)snprintf(expr + n, sizeof expr - n, "i64 == %zu or ", n);
        snprintf(expr + n, sizeof expr - n, "bogus(");
        ck_assert_int_eq(run(&tschema, &tb.b, expr, NULL, got, sizeof got, &err), QV_EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "..., error: unexpected end of expression"));
    }
    /* errors without a qv_error still return the right code */
    ck_assert_int_eq(qv_filter_compile(&tschema, "i64 >", 5, NULL, &(qv_filter *){NULL}, NULL),
                     QV_EINVAL);
}
END_TEST

/* ---- templates ------------------------------------------------------------------------------- */

static void run_template(const char *expr, const char *params, const char *want_ids,
                         const char *want_err)
{
    qv_jsonb_builder b;
    const uint8_t *p;
    size_t n;
    qv_filter_opts o;
    char got[256];
    qv_error err;
    qv_err rc;

    qv_jsonb_builder_init(&b);
    ck_assert_int_eq(qv_jsonb_parse_json(&b, params, strlen(params), &err), QV_OK);
    ck_assert_int_eq(qv_jsonb_finish(&b, &p, &n, &err), QV_OK);
    memset(&o, 0, sizeof o);
    o.params = p;
    o.params_len = n;
    rc = run(&tschema, &tb.b, expr, &o, got, sizeof got, &err);
    if (want_err) {
        ck_assert_msg(rc == QV_EINVAL && strstr(err.msg, want_err), "%s: %s", expr,
                      rc ? err.msg : got);
    } else {
        ck_assert_msg(rc == QV_OK, "%s: %s", expr, err.msg);
        ck_assert_msg(strcmp(got, want_ids) == 0, "%s: got [%s] want [%s]", expr, got, want_ids);
    }
    qv_jsonb_builder_fini(&b);
}

START_TEST(test_templates)
{
    run_template("i64 > {min}", "{\"min\":15}", "1 3 7 8 9", NULL);
    run_template("i64 >= {min} and i64 < {max}", "{\"min\":10,\"max\":20}", "0 5 7", NULL);
    run_template("s in {names}", "{\"names\":[\"apple\",\"abc\"]}", "0 8", NULL);
    run_template("i64 in {ids} and b == {flag}", "{\"ids\":[10,20],\"flag\":true}", "0 5", NULL);
    run_template("f > {x}", "{\"x\":0.1}", "1 3 4 5 7 8 9", NULL);
    run_template("s like {p}", "{\"p\":\"ap%\"}", "0 3", NULL);
    run_template("json_contains(tags, {t})", "{\"t\":\"b\"}", "0 3", NULL);
    run_template("array_contains_any(ai, {l})", "{\"l\":[5,10]}", "3 5", NULL);
    run_template("uid == {u}", "{\"u\":5}", "0 3", NULL);
    run_template("i64 == {big}", "{\"big\":9223372036854775807}", "3", NULL);
    run_template("{lo} < i8 < {hi}", "{\"lo\":1,\"hi\":5}", "7 8 9", NULL);
    run_template("j[\"a\"] == {v}", "{\"v\":[1,2]}", "9", NULL);
    run_template("i64 in {mixed}", "{\"mixed\":[10,\"x\",2.5]}", "", "does not match type");
    run_template("i64 > {missing}", "{\"min\":1}", NULL,
                 "template variable name {missing} is not found");
    run_template("i64 in {x}", "{\"x\":5}", NULL, "must be a list");
    run_template("i64 > {x}", "{\"x\":null}", NULL, "template value is null");
    run_template("i64 > {x}", "[1]", NULL, "exprParams must be an object");
}
END_TEST

/* ---- primary keys, plan accessors ---------------------------------------------------------- */

static void expect_pk(const char *expr, const char *want)
{
    qv_filter *f;
    qv_error err;
    const qv_value *v;
    size_t n;
    char got[256];
    size_t used = 0;

    got[0] = '\0';
    ck_assert_msg(qv_filter_compile(&tschema, expr, strlen(expr), NULL, &f, &err) == QV_OK,
                  "%s: %s", expr, err.msg);
    if (!want) {
        ck_assert_msg(!qv_filter_pk_values(f, &v, &n), "%s: unexpected pk list", expr);
    } else {
        ck_assert_msg(qv_filter_pk_values(f, &v, &n), "%s: no pk list", expr);
        for (size_t i = 0; i < n; i++) {
            ck_assert_int_eq(v[i].type, QV_TYPE_INT64);
            used += (size_t)snprintf(got + used, sizeof got - used, "%s%lld", i ? " " : "",
                                     (long long)v[i].u.i);
        }
        ck_assert_msg(strcmp(got, want) == 0, "%s: got [%s] want [%s]", expr, got, want);
    }
    qv_filter_free(f);
}

START_TEST(test_pk_values)
{
    expect_pk("id == 3", "3");
    expect_pk("3 == id", "3");
    expect_pk("id in [5, 1, 5, 3]", "1 3 5");
    expect_pk("(id in [7])", "7");
    expect_pk("id in []", "");
    expect_pk("id == 2.0", "2");
    expect_pk("id > 3", NULL);
    expect_pk("id not in [1]", NULL);
    expect_pk("id == 3 and b", NULL);
    expect_pk("i64 == 3", NULL);
    expect_pk("id == 2.5", NULL);
    {
        static const fdef vf[] = {{"pk", QV_TYPE_VARCHAR, 0, false, true},
                                  {"v", QV_TYPE_FLOAT_VECTOR, 0, false, false}};
        qv_schema vs;
        qv_filter *f;
        const qv_value *v;
        size_t n;
        make_schema(&vs, vf, 2, false);
        ck_assert_int_eq(qv_filter_compile(&vs, "pk in ['b', \"a\", 'b']", 21, NULL, &f, NULL),
                         QV_OK);
        ck_assert(qv_filter_pk_values(f, &v, &n));
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(v[0].type, QV_TYPE_VARCHAR);
        ck_assert(v[0].u.str.len == 1 && v[0].u.str.s[0] == 'a');
        ck_assert(v[1].u.str.len == 1 && v[1].u.str.s[0] == 'b');
        qv_filter_free(f);
        qv_schema_fini(&vs);
    }
}
END_TEST

/* qv_filter_field_values on field `field` of tschema: the values as "a b c" (Int64) or
 * "'x' 'y'" (VarChar) in plan order, or NULL when the filter does not pin the field. */
static void expect_field_vals(size_t field, const char *expr, const char *want)
{
    qv_filter *f;
    qv_error err;
    qv_value *v = NULL;
    size_t n = 0, used = 0;
    char got[256] = "";

    ck_assert_msg(qv_filter_compile(&tschema, expr, strlen(expr), NULL, &f, &err) == QV_OK,
                  "%s: %s", expr, err.msg);
    if (!want) {
        ck_assert_msg(!qv_filter_field_values(f, field, &v, &n), "%s: unexpected values", expr);
    } else {
        ck_assert_msg(qv_filter_field_values(f, field, &v, &n), "%s: no values", expr);
        for (size_t i = 0; i < n; i++)
            used += (size_t)(v[i].type == QV_TYPE_INT64
                                 ? snprintf(got + used, sizeof got - used, "%s%lld",
                                            i ? " " : "", (long long)v[i].u.i)
                                 : snprintf(got + used, sizeof got - used, "%s'%.*s'",
                                            i ? " " : "", (int)v[i].u.str.len, v[i].u.str.s));
        ck_assert_msg(strcmp(got, want) == 0, "%s: got [%s] want [%s]", expr, got, want);
    }
    qv_free(v);
    qv_filter_free(f);
}

START_TEST(test_field_values)
{
    const size_t i64 = 6, s = 9, i32 = 5;
    expect_field_vals(i64, "i64 == 3", "3");
    expect_field_vals(i64, "i64 in [5, 1, 5]", "1 5");
    expect_field_vals(i64, "i64 in []", "");
    expect_field_vals(i64, "i64 == 3 and id > 2", "3");
    expect_field_vals(i64, "id > 2 and (i64 in [4, 9])", "4 9");
    expect_field_vals(i64, "i64 == 3 or i64 in [7, 8]", "3 7 8");
    expect_field_vals(i64, "(i64 == 1 and b) or i64 == 2", "1 2");
    expect_field_vals(i64, "i64 == 3 or id == 4", NULL);
    expect_field_vals(i64, "i64 != 3", NULL);
    expect_field_vals(i64, "i64 not in [3]", NULL);
    expect_field_vals(i64, "not (i64 == 3)", NULL);
    expect_field_vals(i64, "i64 > 3", NULL);
    expect_field_vals(i64, "i64 == 2.5", NULL);
    expect_field_vals(i64, "", NULL);
    expect_field_vals(s, "s == 'x'", "'x'");
    expect_field_vals(s, "s in ['b', 'a'] and i64 > 0", "'a' 'b'");
    expect_field_vals(s, "s like 'x%'", NULL);
    expect_field_vals(i32, "i32 == 3", NULL); /* only Int64 and VarChar fields */
}
END_TEST

START_TEST(test_plan_accessors)
{
    qv_filter *f;
    char got[64];
    qv_error err;

    ck_assert_int_eq(qv_filter_compile(&tschema, "", 0, NULL, &f, NULL), QV_OK);
    ck_assert(qv_filter_matches_all(f));
    qv_filter_free(f);
    ck_assert_int_eq(qv_filter_compile(&tschema, " \t\n ", 4, NULL, &f, NULL), QV_OK);
    ck_assert(qv_filter_matches_all(f));
    qv_filter_free(f);
    ck_assert_int_eq(qv_filter_compile(&tschema, NULL, 0, NULL, &f, NULL), QV_OK);
    ck_assert(qv_filter_matches_all(f));
    qv_filter_free(f);
    ck_assert_int_eq(run(&tschema, &tb.b, " ", NULL, got, sizeof got, &err), QV_OK);
    ck_assert_str_eq(got, "0 1 2 3 4 5 6 7 8 9");
    ck_assert_int_eq(qv_filter_compile(&tschema, "1 < 2 or i64 > 0", 16, NULL, &f, NULL), QV_OK);
    ck_assert(qv_filter_matches_all(f));
    qv_filter_free(f);
    ck_assert_int_eq(
        qv_filter_compile(&tschema, "i64 > 1 and s == 'x' or uid == 1", 32, NULL, &f, NULL), QV_OK);
    ck_assert(!qv_filter_matches_all(f));
    ck_assert_uint_eq(qv_filter_field_mask(f), (1u << 6) | (1u << 9));
    ck_assert(qv_filter_uses_dynamic(f));
    qv_filter_free(f);
    ck_assert_int_eq(qv_filter_compile(&tschema, "j['a'] == 1", 11, NULL, &f, NULL), QV_OK);
    ck_assert_uint_eq(qv_filter_field_mask(f), 1u << 10);
    ck_assert(!qv_filter_uses_dynamic(f));
    qv_filter_free(f);
    qv_filter_free(NULL);
}
END_TEST

/* Batches: missing columns are refused, unused ones may be absent, windows work. */
START_TEST(test_batches)
{
    qv_filter *f;
    qv_error err;
    uint64_t bits[2];
    qv_column cols[NTABLE_FIELDS];
    qv_filter_batch b;

    ck_assert_int_eq(qv_filter_compile(&tschema, "i64 > 0 and s like 'a%'", 23, NULL, &f, NULL),
                     QV_OK);
    /* only the two columns the plan reads */
    memset(cols, 0, sizeof cols);
    cols[6] = tb.cols[6];
    cols[9] = tb.cols[9];
    b = tb.b;
    b.cols = cols;
    b.dynamic = NULL;
    ck_assert_int_eq(qv_filter_eval(f, &b, bits, &err), QV_OK);
    ck_assert_uint_eq(bits[0], (1u << 0) | (1u << 3) | (1u << 7) | (1u << 8));
    /* a wrong type or a missing column is the caller's bug */
    cols[9].type = QV_TYPE_JSON;
    ck_assert_int_eq(qv_filter_eval(f, &b, bits, &err), QV_EINTERNAL);
    cols[9] = tb.cols[9];
    cols[6].data = NULL;
    ck_assert_int_eq(qv_filter_eval(f, &b, bits, &err), QV_EINTERNAL);
    b.col_count = 3;
    ck_assert_int_eq(qv_filter_eval(f, &b, bits, &err), QV_EINTERNAL);
    /* zero rows: nothing to write, nothing read */
    b.rows = 0;
    ck_assert_int_eq(qv_filter_eval(f, &b, bits, &err), QV_OK);
    qv_filter_free(f);

    /* a window of rows 3..9: data pointers and offsets moved, valid bitmaps re-packed */
    {
        uint64_t valid[NTABLE_FIELDS][1];
        qv_column dyn = tb.dyn;
        char got[64];
        memset(cols, 0, sizeof cols);
        for (size_t i = 0; i < NTABLE_FIELDS; i++) {
            const qv_column *c = &tb.cols[i];
            cols[i] = *c;
            if (qv_type_is_vector(c->type))
                continue;
            if (c->offsets)
                cols[i].offsets = c->offsets + 3;
            else
                cols[i].data = (const uint8_t *)c->data + 3 * type_width(c->type);
            if (c->valid) {
                valid[i][0] = c->valid[0] >> 3;
                cols[i].valid = valid[i];
            }
        }
        dyn.offsets = tb.dyn.offsets + 3;
        b = tb.b;
        b.rows = 7;
        b.cols = cols;
        b.dynamic = &dyn;
        ck_assert_int_eq(
            run(&tschema, &b, "i32 > 0 or uid > 5 or s like 'a%'", NULL, got, sizeof got, &err),
            QV_OK);
        /* rows 3,4,5,7,9 -> window positions 0,1,2,4,6; row 8: s like a% (abc) -> 5 */
        ck_assert_str_eq(got, "0 1 2 4 5 6");
    }
}
END_TEST

/* ---- limits ---------------------------------------------------------------------------------- */

static char *repeat(const char *head, size_t n, const char *mid, const char *tail)
{
    size_t hl = strlen(head), ml = strlen(mid), tl = strlen(tail);
    char *p = malloc(hl + n * ml + tl + 1), *q = p;
    memcpy(q, head, hl);
    q += hl;
    for (size_t i = 0; i < n; i++, q += ml)
        memcpy(q, mid, ml);
    memcpy(q, tail, tl + 1);
    return p;
}

static void expect_limit(const char *expr, const qv_filter_opts *o, const char *msg)
{
    qv_filter *f = NULL;
    qv_error err;
    qv_err rc = qv_filter_compile(&tschema, expr, strlen(expr), o, &f, &err);
    ck_assert_msg(rc == QV_EINVAL, "accepted (%zu bytes)", strlen(expr));
    ck_assert_msg(strstr(err.msg, msg) != NULL, "%s (want %s)", err.msg, msg);
    ck_assert_ptr_null(f);
}

START_TEST(test_limit_million_parens)
{
    const size_t n = 1000000;
    char *open = repeat("", n, "(", "");
    char *expr = malloc(2 * n + 16);
    qv_filter_opts big = {.max_expr_bytes = 16u << 20};

    memcpy(expr, open, n);
    memcpy(expr + n, "b", 1);
    memset(expr + n + 1, ')', n);
    expr[2 * n + 1] = '\0';
    expect_limit(expr, &big, "nested more than 100 levels");
    expect_limit(expr, NULL, "more than the limit of 65536");
    free(expr);
    /* unbalanced: a million opens only */
    expect_limit(open, &big, "nested more than 100 levels");
    free(open);
}
END_TEST

START_TEST(test_limit_long_chains)
{
    qv_filter_opts big = {.max_expr_bytes = 64u << 20};
    char *e;

    e = repeat("b", 700000, " or b", "");
    expect_limit(e, &big, "more than 65536 nodes");
    expect_limit(e, NULL, "more than the limit of 65536");
    free(e);
    e = repeat("b", 700000, "||b", "");
    expect_limit(e, &big, "more than 65536 nodes");
    free(e);
    e = repeat("b", 700000, " and b", "");
    expect_limit(e, &big, "more than 65536 nodes");
    free(e);
    e = repeat("", 1000000, "not ", "b");
    expect_limit(e, &big, "nested more than 100 levels");
    free(e);
    e = repeat("", 1000000, "!", "b");
    expect_limit(e, &big, "nested more than 100 levels");
    free(e);
    e = repeat("i64 == ", 1000000, "-", "1");
    expect_limit(e, &big, "nested more than 100 levels");
    free(e);
    e = repeat("i64 in ", 1000000, "[", "");
    expect_limit(e, &big, "nested more than 100 levels");
    free(e);
    e = repeat("i64 == 1", 200, " + 1", "");
    expect_limit(e, &big, "nested more than 100 levels");
    free(e);
    e = repeat("2", 200, " ** 2", " > 1");
    expect_limit(e, &big, "nested more than 100 levels");
    free(e);
    e = repeat("exists ", 1000000, "(", "");
    expect_limit(e, &big, "nested more than 100 levels");
    free(e);
    e = repeat("", 100000, "json_contains(", "");
    expect_limit(e, &big, "nested more than 100 levels");
    free(e);
}
END_TEST

START_TEST(test_limit_lists_and_options)
{
    qv_filter_opts big = {.max_expr_bytes = 1u << 20};
    char got[256];
    qv_error err;
    char *e;
    size_t n = 0;

    /* a long but legal or chain (n-ary, so no depth) evaluates */
    e = malloc(200000);
    n = (size_t)sprintf(e, "id == 0");
    for (int k = 1; k < 5000; k++)
        n += (size_t)sprintf(e + n, " or id == %d", k % 10 == 3 ? 1000 + k : k);
    ck_assert_int_eq(run(&tschema, &tb.b, e, &big, got, sizeof got, &err), QV_OK);
    ck_assert_str_eq(got, "0 1 2 4 5 6 7 8 9");
    /* in lists: 16384 elements pass, 16385 do not */
    n = (size_t)sprintf(e, "id in [");
    for (int k = 0; k < 16384; k++)
        n += (size_t)sprintf(e + n, "%d,", k);
    sprintf(e + n, "]");
    ck_assert_int_eq(run(&tschema, &tb.b, e, &big, got, sizeof got, &err), QV_OK);
    ck_assert_str_eq(got, "0 1 2 3 4 5 6 7 8 9");
    sprintf(e + n, "16384]");
    expect_limit(e, &big, "list has more than 16384 elements");
    free(e);
    {
        qv_filter_opts o = {.max_in_list = 2};
        expect_limit("id in [1,2,3]", &o, "list has more than 2 elements");
        ck_assert_int_eq(run(&tschema, &tb.b, "id in [1,2]", &o, got, sizeof got, &err), QV_OK);
    }
    {
        qv_filter_opts o = {.max_depth = 4};
        expect_limit("(((((b)))))", &o, "nested more than 4 levels");
        ck_assert_int_eq(run(&tschema, &tb.b, "((((b))))", &o, got, sizeof got, &err), QV_OK);
    }
    {
        qv_filter_opts o = {.max_nodes = 5};
        expect_limit("b or b or b or b or b", &o, "more than 5 nodes");
        ck_assert_int_eq(run(&tschema, &tb.b, "b or b or b", &o, got, sizeof got, &err), QV_OK);
    }
    {
        qv_filter_opts o = {.max_expr_bytes = 10};
        expect_limit("i64 > 1000000", &o, "expression is 13 bytes, more than the limit of 10");
    }
}
END_TEST

/* ---- differential: columnar evaluator vs a per-row reference -------------------------------
 *
 * Random rows (JSON text -> the same batch builder) and random well-typed expressions kept
 * as a tree here. The tree is rendered to text for qv_filter_compile and also evaluated
 * row by row by ref_* below, written straight from the semantics in quiver/filter.h:
 * three-valued logic, null vs missing, exact int/double comparison, Float constants
 * rounded to float, wrapping int64 arithmetic, division by zero = null. */

static const fdef diff_fields[] = {
    {"id", QV_TYPE_INT64, 0, false, true},  {"v", QV_TYPE_FLOAT_VECTOR, 0, false, false},
    {"a", QV_TYPE_INT32, 0, true, false},   {"n", QV_TYPE_INT64, 0, false, false},
    {"x", QV_TYPE_DOUBLE, 0, true, false},  {"f", QV_TYPE_FLOAT, 0, false, false},
    {"s", QV_TYPE_VARCHAR, 0, true, false}, {"t", QV_TYPE_BOOL, 0, true, false},
    {"j", QV_TYPE_JSON, 0, true, false},    {"arr", QV_TYPE_ARRAY, QV_TYPE_INT64, true, false},
};
enum { DF_A = 2, DF_N, DF_X, DF_F, DF_S, DF_T, DF_J, DF_ARR };

static const char *const dstrings[] = {"",    "a",   "ab",       "abc", "b",   "ba",
                                       "a%b", "a_b", "\xc3\xa9", "B",   "a\\b"};
static const char *const dpatterns[] = {"a%",  "%b",    "%a%",   "a_",        "_",
                                        "%",   "a\\%b", "a\\_b", "\xc3\xa9%", "%b%a%",
                                        "_b%", "a__",   "",      "ab",        "%\\\\b"};
#define NSTR (sizeof dstrings / sizeof dstrings[0])
#define NPAT (sizeof dpatterns / sizeof dpatterns[0])

static uint64_t drng;
static uint64_t drand(void)
{
    drng ^= drng << 13;
    drng ^= drng >> 7;
    drng ^= drng << 17;
    return drng;
}
static int dr(int n) { return (int)(drand() % (uint64_t)n); }

static size_t put_str(char *o, const char *str)
{
    size_t n = 0;
    o[n++] = '"';
    for (; *str; str++) {
        if (*str == '"' || *str == '\\')
            o[n++] = '\\';
        o[n++] = *str;
    }
    o[n++] = '"';
    return n;
}

static char *gen_row(int id)
{
    char *o = malloc(1024);
    size_t n = 0;

    n += (size_t)sprintf(o + n, "{\"id\":%d", id);
    if (dr(5))
        n += (size_t)sprintf(o + n, ",\"a\":%d", dr(9) - 4);
    n += (size_t)sprintf(o + n, ",\"n\":%lld",
                         dr(20) == 0 ? (long long)(dr(2) ? INT64_MAX : INT64_MIN)
                                     : (long long)(dr(9) - 4));
    if (dr(5))
        n += (size_t)sprintf(o + n, ",\"x\":%.2f", (dr(13) - 6) * 0.5);
    n += (size_t)sprintf(o + n, ",\"f\":%.2f", (dr(17) - 8) * 0.25);
    if (dr(5)) {
        n += (size_t)sprintf(o + n, ",\"s\":");
        n += put_str(o + n, dstrings[dr(NSTR)]);
    }
    if (dr(5))
        n += (size_t)sprintf(o + n, ",\"t\":%s", dr(2) ? "true" : "false");
    if (dr(7)) {
        int c = dr(5);
        n += (size_t)sprintf(o + n, ",\"j\":{\"z\":0");
        if (c == 0)
            n += (size_t)sprintf(o + n, ",\"p\":%d", dr(7) - 3);
        else if (c == 1) {
            n += (size_t)sprintf(o + n, ",\"p\":");
            n += put_str(o + n, dstrings[dr(NSTR)]);
        } else if (c == 2)
            n += (size_t)sprintf(o + n, ",\"p\":null");
        else if (c == 3)
            n += (size_t)sprintf(o + n, ",\"p\":%s", dr(2) ? "true" : "1.5");
        if (dr(3)) {
            int len = dr(4);
            n += (size_t)sprintf(o + n, ",\"q\":[");
            for (int k = 0; k < len; k++)
                n += (size_t)sprintf(o + n, "%s%d", k ? "," : "", dr(5) - 2);
            n += (size_t)sprintf(o + n, "]");
        }
        n += (size_t)sprintf(o + n, "}");
    }
    if (dr(7)) {
        int len = dr(4);
        n += (size_t)sprintf(o + n, ",\"arr\":[");
        for (int k = 0; k < len; k++)
            n += (size_t)sprintf(o + n, "%s%d", k ? "," : "", dr(5) - 2);
        n += (size_t)sprintf(o + n, "]");
    }
    switch (dr(8)) {
    case 0:
    case 1:
        break; /* missing */
    case 2:
        n += (size_t)sprintf(o + n, ",\"k\":null");
        break;
    case 3:
    case 4:
        n += (size_t)sprintf(o + n, ",\"k\":%d", dr(9) - 4);
        break;
    case 5:
        n += (size_t)sprintf(o + n, ",\"k\":%.1f", (dr(9) - 4) * 0.5);
        break;
    case 6:
        n += (size_t)sprintf(o + n, ",\"k\":");
        n += put_str(o + n, dstrings[dr(NSTR)]);
        break;
    default:
        n += (size_t)sprintf(o + n, ",\"k\":[%d,%d]", dr(3), dr(3));
        break;
    }
    if (dr(3)) {
        n += (size_t)sprintf(o + n, ",\"m\":");
        n += put_str(o + n, dstrings[dr(NSTR)]);
    }
    sprintf(o + n, "}");
    return o;
}

/* expression tree */
typedef enum xk {
    X_FIELD,
    X_DYN,
    X_JP,
    X_JQ,
    X_ARRIDX,
    X_ARRLEN,
    X_INT,
    X_DBL,
    X_STR,
    X_BOOL,
    X_ARITH,
    X_NEG,
    P_CMP,
    P_RANGE,
    P_IN,
    P_LIKE,
    P_ISNULL,
    P_EXISTS,
    P_CONTAINS,
    P_TRUTH,
    P_AND,
    P_OR,
    P_NOT,
    P_CONST,
} xk;

typedef struct xn xn;
struct xn {
    xk k;
    int field, op, op2, cm, idx;
    const char *name;
    bool negate, b;
    int64_t i;
    double d;
    const char *s;
    xn *kid[4];
    int nk;
    xn *list[8]; /* in / contains constants */
    int nlist;
};

static xn pool[4096];
static int npool;
static xn *xnew(xk k)
{
    xn *x;
    ck_assert_int_lt(npool, 4096);
    x = &pool[npool++];
    memset(x, 0, sizeof *x);
    x->k = k;
    return x;
}

static bool xconst(const xn *x) /* no field or dynamic value below */
{
    if (x->k == X_INT || x->k == X_DBL || x->k == X_STR || x->k == X_BOOL)
        return true;
    if (x->k == X_ARITH)
        return xconst(x->kid[0]) && xconst(x->kid[1]);
    if (x->k == X_NEG)
        return xconst(x->kid[0]);
    return false;
}

static xn *gen_lit_num(void)
{
    xn *x;
    if (dr(3)) {
        x = xnew(X_INT);
        x->i = dr(11) - 5;
    } else {
        x = xnew(X_DBL);
        x->d = (dr(13) - 6) * 0.25;
    }
    return x;
}

static xn *gen_num(int depth)
{
    xn *x;
    int c = dr(depth > 2 ? 9 : 12);
    switch (c) {
    case 0:
        x = xnew(X_FIELD);
        x->field = DF_A;
        return x;
    case 1:
        x = xnew(X_FIELD);
        x->field = DF_N;
        return x;
    case 2:
        x = xnew(X_FIELD);
        x->field = DF_X;
        return x;
    case 3:
        x = xnew(X_FIELD);
        x->field = DF_F;
        return x;
    case 4:
        x = xnew(X_DYN);
        x->name = "k";
        return x;
    case 5:
        return xnew(X_JP);
    case 6:
        x = xnew(X_ARRIDX);
        x->idx = dr(3);
        return x;
    case 7:
        return xnew(X_ARRLEN);
    case 8:
        return gen_lit_num();
    case 9:
    case 10: {
        static const int ops[] = {'+', '-', '*', '/', '%', 'p'};
        x = xnew(X_ARITH);
        x->op = ops[dr(6)];
        x->kid[0] = gen_num(depth + 1);
        if (x->op == 'p') {
            x->kid[1] = xnew(X_INT);
            x->kid[1]->i = dr(3);
        } else if ((x->op == '/' || x->op == '%') && dr(2)) {
            x->kid[1] = xnew(X_INT);
            x->kid[1]->i = dr(2) ? dr(4) + 1 : -(dr(3) + 1);
        } else {
            x->kid[1] = gen_num(depth + 1);
            if ((x->op == '/' || x->op == '%') && xconst(x->kid[1])) { /* never a constant 0 */
                x->kid[1] = xnew(X_INT);
                x->kid[1]->i = 2;
            }
        }
        x->nk = 2;
        return x;
    }
    default:
        x = xnew(X_NEG);
        x->kid[0] = gen_num(depth + 1);
        x->nk = 1;
        return x;
    }
}

static xn *gen_strval(void)
{
    xn *x;
    switch (dr(5)) {
    case 0:
        x = xnew(X_FIELD);
        x->field = DF_S;
        return x;
    case 1:
        x = xnew(X_DYN);
        x->name = "m";
        return x;
    case 2:
        x = xnew(X_DYN);
        x->name = "k";
        return x;
    case 3:
        return xnew(X_JP);
    default:
        x = xnew(X_STR);
        x->s = dstrings[dr(NSTR)];
        return x;
    }
}

static xn *gen_pred(int depth)
{
    xn *x;
    int c = dr(depth > 3 ? 11 : 15);
    static const int cmpops[] = {'=', '!', '<', 'l', '>', 'g'};

    switch (c) {
    case 0:
    case 1: /* numeric comparison */
        x = xnew(P_CMP);
        x->op = cmpops[dr(6)];
        x->kid[0] = gen_num(depth);
        x->kid[1] = dr(2) ? gen_lit_num() : gen_num(depth);
        if (dr(3) == 0) {
            xn *tmp = x->kid[0];
            x->kid[0] = x->kid[1];
            x->kid[1] = tmp;
        }
        x->nk = 2;
        return x;
    case 2: /* string comparison */
        x = xnew(P_CMP);
        x->op = cmpops[dr(6)];
        x->kid[0] = gen_strval();
        x->kid[1] = gen_strval();
        x->nk = 2;
        return x;
    case 3: /* Bool */
        if (dr(2)) {
            x = xnew(P_TRUTH);
            x->kid[0] = xnew(X_FIELD);
            x->kid[0]->field = DF_T;
            if (dr(3) == 0)
                x->kid[0] = xnew(X_JP);
            x->nk = 1;
            return x;
        }
        x = xnew(P_CMP);
        x->op = dr(2) ? '=' : '!';
        x->kid[0] = xnew(X_FIELD);
        x->kid[0]->field = DF_T;
        x->kid[1] = xnew(X_BOOL);
        x->kid[1]->b = dr(2);
        x->nk = 2;
        return x;
    case 4: { /* in */
        bool strs = dr(3) == 0;
        x = xnew(P_IN);
        x->negate = dr(2);
        x->kid[0] = strs ? gen_strval() : gen_num(depth + 1);
        if (strs && x->kid[0]->k == X_STR)
            x->kid[0]->k = X_STR; /* constant in list: folded by the engine; fine */
        x->nk = 1;
        x->nlist = dr(5);
        for (int k = 0; k < x->nlist; k++) {
            if (strs) {
                x->list[k] = xnew(X_STR);
                x->list[k]->s = dstrings[dr(NSTR)];
            } else {
                x->list[k] = gen_lit_num();
            }
        }
        if (strs && (x->kid[0]->k == X_FIELD || x->kid[0]->k == X_STR) == false)
            break; /* dynamic lhs: mixed lists are allowed too */
        return x;
    }
    case 5: /* like */
        x = xnew(P_LIKE);
        x->kid[0] = gen_strval();
        if (x->kid[0]->k == X_STR)
            x->kid[0]->k = X_STR;
        x->s = dpatterns[dr(NPAT)];
        x->nk = 1;
        return x;
    case 6: { /* is [not] null */
        static const int fields[] = {DF_A, DF_N, DF_X, DF_S, DF_T, DF_J, DF_ARR};
        x = xnew(P_ISNULL);
        x->negate = dr(2);
        switch (dr(4)) {
        case 0:
            x->kid[0] = xnew(X_DYN);
            x->kid[0]->name = dr(2) ? "k" : "m";
            break;
        case 1:
            x->kid[0] = dr(2) ? xnew(X_JP) : xnew(X_JQ);
            break;
        case 2:
            x->kid[0] = xnew(X_ARRIDX);
            x->kid[0]->idx = dr(3);
            break;
        default:
            x->kid[0] = xnew(X_FIELD);
            x->kid[0]->field = fields[dr(7)];
        }
        x->nk = 1;
        return x;
    }
    case 7: /* exists */
        x = xnew(P_EXISTS);
        switch (dr(4)) {
        case 0:
            x->kid[0] = xnew(X_DYN);
            x->kid[0]->name = dr(2) ? "k" : "m";
            break;
        case 1:
            x->kid[0] = xnew(X_JP);
            break;
        case 2:
            x->kid[0] = xnew(X_JQ);
            break;
        default:
            x->kid[0] = xnew(X_FIELD);
            x->kid[0]->field = DF_J;
        }
        x->nk = 1;
        return x;
    case 8: /* contains */
        x = xnew(P_CONTAINS);
        x->cm = dr(3);
        switch (dr(3)) {
        case 0:
            x->kid[0] = xnew(X_FIELD);
            x->kid[0]->field = DF_ARR;
            break;
        case 1:
            x->kid[0] = xnew(X_JQ);
            break;
        default:
            x->kid[0] = xnew(X_DYN);
            x->kid[0]->name = "k";
        }
        x->nk = 1;
        x->nlist = x->cm == 0 ? 1 : dr(4);
        for (int k = 0; k < x->nlist; k++) {
            x->list[k] = xnew(X_INT);
            x->list[k]->i = dr(5) - 2;
        }
        return x;
    case 9: { /* range over a field */
        static const int rf[] = {DF_A, DF_N, DF_X, DF_F};
        bool up = dr(2);
        x = xnew(P_RANGE);
        x->op = up ? (dr(2) ? '<' : 'l') : (dr(2) ? '>' : 'g');
        x->op2 = up ? (dr(2) ? '<' : 'l') : (dr(2) ? '>' : 'g');
        x->kid[0] = gen_lit_num();
        x->kid[1] = xnew(X_FIELD);
        x->kid[1]->field = rf[dr(4)];
        if (dr(4) == 0) {
            x->kid[1] = xnew(X_DYN);
            x->kid[1]->name = "k";
        }
        x->kid[2] = gen_lit_num();
        x->nk = 3;
        return x;
    }
    case 10:
        if (dr(4) == 0) {
            x = xnew(P_CONST);
            x->b = dr(2);
            return x;
        }
        x = xnew(P_CMP);
        x->op = cmpops[dr(6)];
        x->kid[0] = xnew(X_ARRLEN);
        x->kid[1] = gen_lit_num();
        x->nk = 2;
        return x;
    case 11:
    case 12:
        x = xnew(dr(2) ? P_AND : P_OR);
        x->nk = 2 + dr(3);
        for (int k = 0; k < x->nk; k++)
            x->kid[k] = gen_pred(depth + 1);
        return x;
    default:
        x = xnew(P_NOT);
        x->kid[0] = gen_pred(depth + 1);
        x->nk = 1;
        return x;
    }
    /* in with a dynamic string lhs and a mixed list */
    for (int k = 0; k < x->nlist; k++)
        if (dr(2))
            x->list[k] = gen_lit_num();
    return x;
}

/* rendering */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (b->cap - b->n < 256) {
        b->cap = b->cap * 2 + 4096;
        b->p = realloc(b->p, b->cap);
    }
    va_start(ap, fmt);
    k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static void sb_str(sbuf *b, const char *str)
{
    char tmp[64];
    size_t n = put_str(tmp, str);
    tmp[n] = '\0';
    sb_add(b, "%s", tmp);
}

static void sb_dbl(sbuf *b, double d)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.17g", d);
    if (!strpbrk(tmp, ".eEn"))
        strcat(tmp, ".0");
    sb_add(b, "%s", tmp);
}

static const char *opname(int op)
{
    switch (op) {
    case '=':
        return "==";
    case '!':
        return "!=";
    case '<':
        return "<";
    case 'l':
        return "<=";
    case '>':
        return ">";
    case 'g':
        return ">=";
    case 'p':
        return "**";
    case '+':
        return "+";
    case '-':
        return "-";
    case '*':
        return "*";
    case '/':
        return "/";
    default:
        return "%";
    }
}

static void render(sbuf *b, const xn *x)
{
    switch (x->k) {
    case X_FIELD:
        sb_add(b, "%s", diff_fields[x->field].name);
        break;
    case X_DYN:
        sb_add(b, dr(4) ? "%s" : "$meta[\"%s\"]", x->name);
        break;
    case X_JP:
        sb_add(b, dr(2) ? "j[\"p\"]" : "j['p']");
        break;
    case X_JQ:
        sb_add(b, "j[\"q\"]");
        break;
    case X_ARRIDX:
        sb_add(b, "arr[%d]", x->idx);
        break;
    case X_ARRLEN:
        sb_add(b, dr(2) ? "array_length(arr)" : "ARRAY_LENGTH(arr)");
        break;
    case X_INT:
        sb_add(b, x->i < 0 ? "(%lld)" : "%lld", (long long)x->i);
        break;
    case X_DBL:
        if (x->d < 0 || (x->d == 0 && signbit(x->d)))
            sb_add(b, "(");
        sb_dbl(b, x->d);
        if (x->d < 0 || (x->d == 0 && signbit(x->d)))
            sb_add(b, ")");
        break;
    case X_STR:
        sb_str(b, x->s);
        break;
    case X_BOOL:
        sb_add(b, "%s", x->b ? (dr(2) ? "true" : "True") : (dr(2) ? "false" : "FALSE"));
        break;
    case X_ARITH:
        sb_add(b, "(");
        render(b, x->kid[0]);
        sb_add(b, " %s ", opname(x->op));
        render(b, x->kid[1]);
        sb_add(b, ")");
        break;
    case X_NEG: /* parenthesised whole: ** binds tighter than unary minus */
        sb_add(b, "(-(");
        render(b, x->kid[0]);
        sb_add(b, "))");
        break;
    case P_CMP:
        sb_add(b, "(");
        render(b, x->kid[0]);
        sb_add(b, " %s ", opname(x->op));
        render(b, x->kid[1]);
        sb_add(b, ")");
        break;
    case P_RANGE:
        sb_add(b, "(");
        render(b, x->kid[0]);
        sb_add(b, " %s ", opname(x->op));
        render(b, x->kid[1]);
        sb_add(b, " %s ", opname(x->op2));
        render(b, x->kid[2]);
        sb_add(b, ")");
        break;
    case P_IN:
        sb_add(b, "(");
        render(b, x->kid[0]);
        sb_add(b, x->negate ? (dr(2) ? " not in [" : " NOT IN [") : " in [");
        for (int k = 0; k < x->nlist; k++) {
            if (k)
                sb_add(b, ", ");
            render(b, x->list[k]);
        }
        sb_add(b, "])");
        break;
    case P_LIKE:
        sb_add(b, "(");
        render(b, x->kid[0]);
        sb_add(b, dr(2) ? " like " : " LIKE ");
        sb_str(b, x->s);
        sb_add(b, ")");
        break;
    case P_ISNULL:
        sb_add(b, "(");
        render(b, x->kid[0]);
        sb_add(b, x->negate ? (dr(2) ? " is not null" : " IS NOT NULL")
                            : (dr(2) ? " is null" : " IS NULL"));
        sb_add(b, ")");
        break;
    case P_EXISTS:
        sb_add(b, "(exists ");
        render(b, x->kid[0]);
        sb_add(b, ")");
        break;
    case P_CONTAINS: {
        static const char *fn[2][3] = {
            {"array_contains", "array_contains_all", "array_contains_any"},
            {"json_contains", "json_contains_all", "json_contains_any"}};
        sb_add(b, "%s(", fn[dr(2)][x->cm]);
        render(b, x->kid[0]);
        if (x->cm == 0) {
            sb_add(b, ", ");
            render(b, x->list[0]);
        } else {
            sb_add(b, ", [");
            for (int k = 0; k < x->nlist; k++) {
                if (k)
                    sb_add(b, ",");
                render(b, x->list[k]);
            }
            sb_add(b, "]");
        }
        sb_add(b, ")");
        break;
    }
    case P_TRUTH:
        render(b, x->kid[0]);
        break;
    case P_CONST:
        sb_add(b, "%s", x->b ? "true" : "false");
        break;
    case P_NOT:
        sb_add(b, "%s(", dr(3) == 0 ? "!" : dr(2) ? "not " : "NOT ");
        render(b, x->kid[0]);
        sb_add(b, ")");
        break;
    default: { /* and / or */
        static const char *andw[] = {" and ", " && ", " AND "}, *orw[] = {" or ", " || ", " OR "};
        sb_add(b, "(");
        for (int k = 0; k < x->nk; k++) {
            if (k)
                sb_add(b, "%s", x->k == P_AND ? andw[dr(3)] : orw[dr(3)]);
            render(b, x->kid[k]);
        }
        sb_add(b, ")");
    }
    }
}

/* reference evaluation */
typedef enum rvk { RV_NULL, RV_MISSING, RV_JNULL, RV_INT, RV_DBL, RV_STR, RV_BOOL, RV_JSON } rvk;
typedef struct rv {
    rvk k;
    int64_t i;
    double d;
    const char *s;
    size_t n;
    bool b;
    qv_jsonb j;
} rv;
enum { RF = 0, RT = 1, RU = 2 };

static rv rv_of_jsonb(qv_jsonb v)
{
    rv r;
    memset(&r, 0, sizeof r);
    switch (qv_jsonb_typeof(v)) {
    case QV_JSONB_INVALID:
        r.k = RV_MISSING;
        break;
    case QV_JSONB_NULL:
        r.k = RV_JNULL;
        break;
    case QV_JSONB_BOOL:
        r.k = RV_BOOL;
        (void)qv_jsonb_get_bool(v, &r.b);
        break;
    case QV_JSONB_INT:
        r.k = RV_INT;
        (void)qv_jsonb_get_int(v, &r.i);
        break;
    case QV_JSONB_DOUBLE:
        r.k = RV_DBL;
        (void)qv_jsonb_get_double(v, &r.d);
        break;
    case QV_JSONB_STRING:
        r.k = RV_STR;
        (void)qv_jsonb_get_string(v, &r.s, &r.n);
        break;
    default:
        r.k = RV_JSON;
        r.j = v;
    }
    return r;
}

static qv_jsonb row_get(qv_jsonb row, const char *key)
{
    return qv_jsonb_find(row, key, strlen(key));
}

static bool rnum(const rv *v) { return v->k == RV_INT || v->k == RV_DBL; }
static long double rld(const rv *v)
{
    return v->k == RV_INT ? (long double)v->i : (long double)v->d;
}

static rv ref_value(const xn *x, qv_jsonb row)
{
    rv r, a, b;
    memset(&r, 0, sizeof r);
    switch (x->k) {
    case X_FIELD: {
        qv_jsonb v = row_get(row, diff_fields[x->field].name);
        if (!qv_jsonb_present(v) || qv_jsonb_typeof(v) == QV_JSONB_NULL) {
            r.k = RV_NULL;
            return r;
        }
        r = rv_of_jsonb(v);
        if (x->field == DF_F) { /* stored as float32 */
            r.k = RV_DBL;
            (void)qv_jsonb_get_double(v, &r.d);
            r.d = (double)(float)r.d;
        } else if (x->field == DF_X) {
            r.k = RV_DBL;
            (void)qv_jsonb_get_double(v, &r.d);
        }
        return r;
    }
    case X_DYN:
        return rv_of_jsonb(row_get(row, x->name));
    case X_JP:
    case X_JQ: {
        qv_jsonb j = row_get(row, "j");
        if (!qv_jsonb_present(j) || qv_jsonb_typeof(j) == QV_JSONB_NULL) {
            r.k = RV_NULL;
            return r;
        }
        return rv_of_jsonb(qv_jsonb_find(j, x->k == X_JP ? "p" : "q", 1));
    }
    case X_ARRIDX:
    case X_ARRLEN: {
        qv_jsonb arr = row_get(row, "arr");
        if (!qv_jsonb_present(arr) || qv_jsonb_typeof(arr) == QV_JSONB_NULL) {
            r.k = RV_NULL;
            return r;
        }
        if (x->k == X_ARRIDX)
            return rv_of_jsonb(qv_jsonb_index(arr, (size_t)x->idx));
        r.k = RV_INT;
        r.i = (int64_t)qv_jsonb_length(arr);
        return r;
    }
    case X_INT:
        r.k = RV_INT;
        r.i = x->i;
        return r;
    case X_DBL:
        r.k = RV_DBL;
        r.d = x->d;
        return r;
    case X_STR:
        r.k = RV_STR;
        r.s = x->s;
        r.n = strlen(x->s);
        return r;
    case X_BOOL:
        r.k = RV_BOOL;
        r.b = x->b;
        return r;
    case X_NEG:
    case X_ARITH: {
        int op = x->k == X_NEG ? '-' : x->op;
        if (x->k == X_NEG) {
            a.k = RV_INT;
            a.i = 0;
            b = ref_value(x->kid[0], row);
        } else {
            a = ref_value(x->kid[0], row);
            b = ref_value(x->kid[1], row);
        }
        if (a.k == RV_NULL || b.k == RV_NULL) {
            r.k = RV_NULL;
            return r;
        }
        if (!rnum(&a) || !rnum(&b)) {
            r.k = RV_MISSING;
            return r;
        }
        if (a.k == RV_INT && b.k == RV_INT && op != 'p') {
            uint64_t ua = (uint64_t)a.i, ub = (uint64_t)b.i;
            r.k = RV_INT;
            switch (op) {
            case '+':
                r.i = (int64_t)(ua + ub);
                break;
            case '-':
                r.i = (int64_t)(ua - ub);
                break;
            case '*':
                r.i = (int64_t)(ua * ub);
                break;
            case '/':
                if (b.i == 0)
                    r.k = RV_NULL;
                else if (b.i == -1)
                    r.i = (int64_t)(0 - ua);
                else
                    r.i = a.i / b.i;
                break;
            default:
                if (b.i == 0)
                    r.k = RV_NULL;
                else if (b.i == -1)
                    r.i = 0;
                else
                    r.i = a.i % b.i;
            }
            return r;
        }
        {
            double p = a.k == RV_INT ? (double)a.i : a.d, q = b.k == RV_INT ? (double)b.i : b.d;
            r.k = RV_DBL;
            switch (op) {
            case '+':
                r.d = p + q;
                break;
            case '-':
                r.d = p - q;
                break;
            case '*':
                r.d = p * q;
                break;
            case '/':
                if (q == 0)
                    r.k = RV_NULL;
                else
                    r.d = p / q;
                break;
            case '%':
                if (q == 0)
                    r.k = RV_NULL;
                else
                    r.d = fmod(p, q);
                break;
            default:
                r.d = pow(p, q);
            }
            return r;
        }
    }
    default:
        ck_abort_msg("not a value node");
        return r;
    }
}

static bool rord(int c, int op)
{
    switch (op) {
    case '=':
        return c == 0;
    case '!':
        return c != 0;
    case '<':
        return c == -1;
    case 'l':
        return c == -1 || c == 0;
    case '>':
        return c == 1;
    default:
        return c == 1 || c == 0;
    }
}

/* a op b; c = -1/0/1, 2 unordered */
static int ref_cmp(rv a, rv b, int op)
{
    if (a.k == RV_NULL || b.k == RV_NULL)
        return RU;
    if (rnum(&a) && rnum(&b)) {
        long double p = rld(&a), q = rld(&b);
        int c = (isnan(p) || isnan(q)) ? 2 : p < q ? -1 : p > q ? 1 : 0;
        return rord(c, op);
    }
    if (a.k != b.k || a.k == RV_MISSING || a.k == RV_JNULL)
        return op == '!';
    if (a.k == RV_STR) {
        int c = memcmp(a.s, b.s, a.n < b.n ? a.n : b.n);
        c = c ? (c < 0 ? -1 : 1) : (a.n < b.n ? -1 : a.n > b.n);
        return rord(c, op);
    }
    if (a.k == RV_BOOL)
        return (op == '=' || op == '!') ? rord(a.b == b.b ? 0 : 1, op) : RF;
    return (op == '=' || op == '!') ? rord(qv_jsonb_equal(a.j, b.j) ? 0 : 1, op) : RF;
}

/* recursive reference like: % any run, _ one UTF-8 character, \x literal x */
static bool ref_like(const char *p, const char *str, const char *end)
{
    if (*p == '\0')
        return str == end;
    if (*p == '%') {
        for (const char *q = str;; q++) {
            if (ref_like(p + 1, q, end))
                return true;
            if (q == end)
                return false;
        }
    }
    if (str == end)
        return false;
    if (*p == '_') {
        const char *q = str + 1;
        if ((unsigned char)*str >= 0xC0)
            while (q < end && ((unsigned char)*q & 0xC0) == 0x80)
                q++;
        return ref_like(p + 1, q, end);
    }
    if (*p == '\\' && p[1])
        p++;
    return *p == *str && ref_like(p + 1, str + 1, end);
}

static double fcast(const xn *lhs, const xn *c, double v)
{
    return lhs->k == X_FIELD && lhs->field == DF_F && xconst(c) ? (double)(float)v : v;
}

/* the constant side of a comparison with Float field f is rounded to float */
static rv cast_side(const xn *other, const xn *self, rv v)
{
    if (other->k == X_FIELD && other->field == DF_F && xconst(self) && rnum(&v)) {
        v.d = fcast(other, self, (double)rld(&v));
        v.k = RV_DBL;
    }
    return v;
}

static int ref_pred(const xn *x, qv_jsonb row)
{
    switch (x->k) {
    case P_CONST:
        return x->b ? RT : RF;
    case P_CMP: {
        rv a = ref_value(x->kid[0], row), b = ref_value(x->kid[1], row);
        a = cast_side(x->kid[1], x->kid[0], a);
        b = cast_side(x->kid[0], x->kid[1], b);
        return ref_cmp(a, b, x->op);
    }
    case P_RANGE: {
        rv lo = ref_value(x->kid[0], row), mid = ref_value(x->kid[1], row),
           hi = ref_value(x->kid[2], row);
        int r1, r2;
        lo = cast_side(x->kid[1], x->kid[0], lo);
        hi = cast_side(x->kid[1], x->kid[2], hi);
        r1 = ref_cmp(lo, mid, x->op);
        r2 = ref_cmp(mid, hi, x->op2);
        if (r1 == RF || r2 == RF)
            return RF;
        return r1 == RT && r2 == RT ? RT : RU;
    }
    case P_IN: {
        rv a = ref_value(x->kid[0], row);
        bool found = false;
        if (a.k == RV_NULL)
            return RU;
        for (int k = 0; k < x->nlist && !found; k++) {
            rv e = cast_side(x->kid[0], x->list[k], ref_value(x->list[k], row));
            found = ref_cmp(a, e, '=') == RT;
        }
        return found != x->negate ? RT : RF;
    }
    case P_LIKE: {
        rv a = ref_value(x->kid[0], row);
        char buf[64];
        if (a.k == RV_NULL)
            return RU;
        if (a.k != RV_STR)
            return RF;
        ck_assert_uint_lt(a.n, sizeof buf);
        memcpy(buf, a.s, a.n);
        return ref_like(x->s, buf, buf + a.n) ? RT : RF;
    }
    case P_ISNULL: {
        rv a = ref_value(x->kid[0], row);
        bool isnull = a.k == RV_NULL || a.k == RV_MISSING || a.k == RV_JNULL;
        return isnull != x->negate ? RT : RF;
    }
    case P_EXISTS: {
        rv a = ref_value(x->kid[0], row);
        if (a.k == RV_NULL)
            return RU;
        return a.k != RV_MISSING ? RT : RF;
    }
    case P_CONTAINS: {
        rv a = ref_value(x->kid[0], row);
        int hits = 0;
        if (a.k == RV_NULL)
            return RU;
        if (a.k != RV_JSON || qv_jsonb_typeof(a.j) != QV_JSONB_ARRAY)
            return RF;
        for (int k = 0; k < x->nlist; k++) {
            bool in = false;
            for (size_t e = 0; e < qv_jsonb_length(a.j) && !in; e++)
                in = ref_cmp(rv_of_jsonb(qv_jsonb_index(a.j, e)), ref_value(x->list[k], row),
                             '=') == RT;
            hits += in;
        }
        if (x->cm == 2)
            return hits > 0 ? RT : RF;
        return hits == x->nlist ? RT : RF;
    }
    case P_TRUTH: {
        rv a = ref_value(x->kid[0], row);
        if (a.k == RV_NULL)
            return RU;
        return a.k == RV_BOOL && a.b ? RT : RF;
    }
    case P_NOT: {
        int r = ref_pred(x->kid[0], row);
        return r == RU ? RU : r == RT ? RF : RT;
    }
    default: { /* Kleene and / or */
        bool is_and = x->k == P_AND, unknown = false;
        for (int k = 0; k < x->nk; k++) {
            int r = ref_pred(x->kid[k], row);
            if (r == RU)
                unknown = true;
            else if ((r == RT) != is_and)
                return is_and ? RF : RT;
        }
        return unknown ? RU : is_and ? RT : RF;
    }
    }
}

static size_t n_indexed; /* expressions some index answered */

/* ---- scalar indexes over the differential batch ---------------------------------------------
 *
 * Every indexable column gets an index (the JSON path j["p"] with one of the three casts,
 * rotating), and each expression is evaluated again with the indexes' answers, over the
 * whole batch and over a window starting at row 64: the result must not change. */

typedef struct tindexes {
    qv_sindex_spec spec[10];
    qv_sindex *ix[10];
    qv_filter_index fi[10];
    char path[10][32];
    size_t n;
} tindexes;

static void ti_build(tindexes *t, const qv_schema *s, const tbatch *b, int rotation)
{
    static const char *const casts[] = {"DOUBLE", "VARCHAR", "BOOL"};
    static const int fields[] = {DF_A, DF_N, DF_X, DF_F, DF_S, DF_T, DF_ARR, DF_J, DF_J};
    qv_error err;

    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        const qv_field *f = &s->fields[fields[i]];
        const qv_column *c = &b->cols[fields[i]];
        bool json = f->type == QV_TYPE_JSON;
        const char *path = !json ? NULL : i == 7 ? "j[\"p\"]" : "j['q'][0]";
        qv_buf pt;
        ck_assert_int_eq(qv_sindex_spec_parse("INVERTED", f->name, f->type, f->element_type,
                                              false, path, json ? casts[rotation % 3] : NULL,
                                              &t->spec[t->n], &err), QV_OK);
        ck_assert_int_eq(qv_sindex_build(&t->spec[t->n], c->data, c->offsets, c->valid, b->rows,
                                         &t->ix[t->n], &err), QV_OK);
        qv_buf_init(&pt);
        qv_sindex_path_text(t->spec[t->n].steps, t->spec[t->n].nsteps, &pt);
        ck_assert_uint_lt(pt.len, sizeof t->path[0]);
        memcpy(t->path[t->n], pt.data ? (const char *)pt.data : "", pt.len);
        t->fi[t->n] = (qv_filter_index){(size_t)fields[i], t->path[t->n], pt.len, t->ix[t->n]};
        qv_buf_fini(&pt);
        t->n++;
    }
}

static void ti_free(tindexes *t)
{
    for (size_t i = 0; i < t->n; i++) {
        qv_sindex_free(t->ix[i]);
        qv_sindex_spec_fini(&t->spec[i]);
    }
    t->n = 0;
}

/* Rows [off, rows) of b as their own batch (off a multiple of 64). */
static void window_of(const tbatch *b, size_t off, qv_column *cols, qv_column *dyn,
                      qv_filter_batch *out)
{
    *out = b->b;
    for (size_t i = 0; i < b->ncols; i++) {
        cols[i] = b->cols[i];
        if (cols[i].offsets)
            cols[i].offsets += off;
        else if (cols[i].data && !qv_type_is_vector(cols[i].type))
            cols[i].data = (const uint8_t *)cols[i].data + off * type_width(cols[i].type);
        if (cols[i].valid)
            cols[i].valid += off / 64;
    }
    *dyn = b->dyn;
    if (dyn->offsets)
        dyn->offsets += off;
    if (dyn->valid)
        dyn->valid += off / 64;
    out->cols = cols;
    out->dynamic = b->b.dynamic ? dyn : NULL;
    out->rows = b->rows - off;
}

/* f over b with the indexes' answers (whole batch, then from row 64) must equal want. */
static void check_indexed(const qv_filter *f, const tbatch *b, const tindexes *t,
                          const uint64_t *want, const char *expr)
{
    qv_filter_pre *pre = NULL;
    qv_error err;
    qv_filter_batch wb = b->b;
    qv_column cols[16], dyn;
    uint64_t *bits = calloc(qv_filter_words(b->rows) + 1, sizeof *bits);

    ck_assert_int_eq(qv_filter_pre_compute(f, t->fi, t->n, b->rows, &pre, &err), QV_OK);
    if (pre)
        n_indexed++;
    wb.pre = pre;
    ck_assert_int_eq(qv_filter_eval(f, &wb, bits, &err), QV_OK);
    for (size_t r = 0; r < b->rows; r++)
        if ((bits[r / 64] >> (r % 64) & 1) != (want[r / 64] >> (r % 64) & 1))
            ck_abort_msg("%s: row %zu differs with scalar indexes", expr, r);
    if (b->rows > 64) {
        window_of(b, 64, cols, &dyn, &wb);
        wb.pre = pre;
        wb.pre_offset = 64;
        ck_assert_int_eq(qv_filter_eval(f, &wb, bits, &err), QV_OK);
        for (size_t r = 64; r < b->rows; r++)
            if ((bits[(r - 64) / 64] >> ((r - 64) % 64) & 1) != (want[r / 64] >> (r % 64) & 1))
                ck_abort_msg("%s: row %zu differs with scalar indexes (window)", expr, r);
    }
    qv_filter_pre_free(pre);
    free(bits);
}

START_TEST(test_differential)
{
    const char *env = getenv("QV_TEST_SEED");
    const char *iters_env = getenv("QV_DIFF_ITERS");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 20240601;
    int iters = iters_env ? atoi(iters_env) : 20000;
    qv_schema ds;
    tbatch db;
    char **rows = NULL;
    size_t nrows = 0, checked_rows = 0;
    sbuf sb = {0};
    tindexes ti = {0};
    static const size_t sizes[] = {1, 7, 63, 64, 65, 128, 200, 257};

    printf("test_differential seed=%llu iterations=%d (QV_TEST_SEED / QV_DIFF_ITERS to change)\n",
           (unsigned long long)seed, iters);
    drng = seed * 2654435761u + 1;
    make_schema(&ds, diff_fields, sizeof diff_fields / sizeof diff_fields[0], true);
    memset(&db, 0, sizeof db);
    for (int it = 0; it < iters; it++) {
        qv_filter *f;
        qv_error err;
        uint64_t *bits;
        xn *x;
        if (it % 40 == 0) {
            if (rows) {
                tb_free(&db);
                for (size_t r = 0; r < nrows; r++)
                    free(rows[r]);
                free(rows);
            }
            nrows = sizes[dr(sizeof sizes / sizeof sizes[0])];
            rows = calloc(nrows, sizeof *rows);
            for (size_t r = 0; r < nrows; r++)
                rows[r] = gen_row((int)r);
            tb_build(&db, &ds, (const char *const *)rows, nrows);
            ti_free(&ti);
            ti_build(&ti, &ds, &db, it / 40);
        }
        npool = 0;
        sb.n = 0;
        x = gen_pred(0);
        render(&sb, x);
        sb.p[sb.n] = '\0';
        if (qv_filter_compile(&ds, sb.p, sb.n, NULL, &f, &err) != QV_OK)
            ck_abort_msg("seed %llu iter %d: %s does not compile: %s", (unsigned long long)seed, it,
                         sb.p, err.msg);
        bits = calloc(qv_filter_words(nrows) + 1, sizeof *bits);
        ck_assert_int_eq(qv_filter_eval(f, &db.b, bits, &err), QV_OK);
        for (size_t r = 0; r < nrows; r++) {
            bool got = bits[r / 64] >> (r % 64) & 1;
            bool want = ref_pred(x, qv_jsonb_root(db.row[r], db.rowlen[r])) == RT;
            if (got != want)
                ck_abort_msg("seed %llu iter %d: %s\nrow %zu %s: engine %d, reference %d",
                             (unsigned long long)seed, it, sb.p, r, rows[r], got, want);
        }
        check_indexed(f, &db, &ti, bits, sb.p);
        checked_rows += nrows;
        free(bits);
        qv_filter_free(f);
    }
    printf("test_differential: %d expressions, %zu row checks, all equal; %zu used scalar "
           "indexes\n",
           iters, checked_rows, n_indexed);
    ck_assert_uint_gt(n_indexed, (size_t)iters / 10);
    ti_free(&ti);
    tb_free(&db);
    for (size_t r = 0; r < nrows; r++)
        free(rows[r]);
    free(rows);
    free(sb.p);
    qv_schema_fini(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("table");
    tcase_add_checked_fixture(tc, table_setup, table_teardown);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_error_message_format);
    tcase_add_test(tc, test_templates);
    tcase_add_test(tc, test_pk_values);
    tcase_add_test(tc, test_field_values);
    tcase_add_test(tc, test_plan_accessors);
    tcase_add_test(tc, test_batches);
    tcase_add_test(tc, test_limit_million_parens);
    tcase_add_test(tc, test_limit_long_chains);
    tcase_add_test(tc, test_limit_lists_and_options);
    suite_add_tcase(s, tc);
    tc = tcase_create("differential");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_differential);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
