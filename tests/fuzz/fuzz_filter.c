/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_filter.c - libFuzzer target for the filter language: parse, type-check and
 * compile the input against a fixed schema with dynamic fields, then evaluate it over a
 * small fixed batch. Input: the expression, optionally followed by a NUL byte and
 * exprParams as JSON text. Checks: no crash/UB/leak, errors carry Milvus's prefix,
 * bits past the last row stay clear. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/filter.h"
#include "quiver/jsonb.h"

#define ROWS 5

static qv_schema schema;
static qv_column cols[16];
static qv_column dyn;
static qv_filter_batch batch;

static const struct {
    const char *name;
    qv_type type, etype;
    bool nullable, pk;
} defs[] = {
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
};
#define NFIELDS (sizeof defs / sizeof defs[0])

static const uint8_t b_data[ROWS] = {1, 0, 0, 1, 0};
static const uint64_t b_valid[1] = {0x1B}; /* row 2 null */
static const int8_t i8_data[ROWS] = {-5, 0, 127, -128, 1};
static const int16_t i16_data[ROWS] = {300, -1, 0, 32767, 2};
static const int32_t i32_data[ROWS] = {7, 0, -7, 100, 3};
static const uint64_t i32_valid[1] = {0x1D}; /* row 1 null */
static const int64_t i64_data[ROWS] = {10, 20, -30, INT64_MAX, INT64_MIN};
static const int64_t id_data[ROWS] = {0, 1, 2, 3, 4};
static const float f_data[ROWS] = {0.1f, 2.5f, -1.0f, 100.0f, 0.5f};
static const double d_data[ROWS] = {1.5, 0, -2.25, 0.0, 3.0};
static const uint64_t d_valid[1] = {0x1D};
static const char s_bytes[] = "applebananaapricot50% off";
static const uint64_t s_off[ROWS + 1] = {0, 5, 11, 11, 18, 25};
static const uint64_t s_valid[1] = {0x1B};

static const char *j_text[ROWS] = {"{\"a\":1,\"b\":{\"c\":\"x\"},\"arr\":[1,2,3]}",
                                   "{\"a\":2.5,\"arr\":[4]}", "null",
                                   "{\"a\":\"str\",\"arr\":[1,\"1\",true]}", "[1,2]"};
static const char *ai_text[ROWS] = {"[1,2,3]", "[]", "null", "[5,5,6]", "[1]"};
static const char *as_text[ROWS] = {"[\"x\",\"y\"]", "[\"z\"]", "[]", "[\"x\"]", "[\"a%b\"]"};
static const char *af_text[ROWS] = {"[0.5]", "[]", "[1.5]", "[0.25]", "[2.0]"};
static const char *dyn_text[ROWS] = {"{\"uid\":5,\"name\":\"alice\",\"tags\":[\"a\",\"b\"]}",
                                     "{\"uid\":6,\"name\":\"bob\"}", "{\"uid\":\"7\"}",
                                     "{\"uid\":5.0,\"flag\":true}", "{}"};

/* One jsonb column from per-row JSON text ("null" = a null row). */
static void jsonb_column(qv_column *col, qv_type type, const char *const *text, uint64_t *valid)
{
    qv_jsonb_builder b;
    qv_buf data;
    uint64_t *off = calloc(ROWS + 1, sizeof *off);

    qv_buf_init(&data);
    qv_jsonb_builder_init(&b);
    for (size_t r = 0; r < ROWS; r++) {
        const uint8_t *p;
        size_t n;
        off[r] = data.len;
        if (strcmp(text[r], "null") == 0)
            continue;
        if (valid)
            valid[0] |= (uint64_t)1 << r;
        qv_jsonb_builder_reset(&b);
        if (qv_jsonb_parse_json(&b, text[r], strlen(text[r]), NULL) != QV_OK ||
            qv_jsonb_finish(&b, &p, &n, NULL) != QV_OK)
            abort();
        qv_buf_put(&data, p, n);
    }
    off[ROWS] = data.len;
    qv_jsonb_builder_fini(&b);
    col->type = type;
    col->offsets = off;
    col->data = qv_buf_take(&data, NULL);
    col->valid = valid;
}

static void setup(void)
{
    static uint64_t j_valid[1], ai_valid[1];

    schema.fields = calloc(NFIELDS, sizeof *schema.fields);
    schema.field_count = NFIELDS;
    schema.enable_dynamic = true;
    for (size_t i = 0; i < NFIELDS; i++) {
        qv_field *f = &schema.fields[i];
        f->name = (char *)defs[i].name;
        f->type = defs[i].type;
        f->element_type = defs[i].etype;
        f->nullable = defs[i].nullable;
        f->is_primary = defs[i].pk;
        cols[i].type = defs[i].type;
    }
    cols[0].data = id_data;
    cols[2].data = b_data;
    cols[2].valid = b_valid;
    cols[3].data = i8_data;
    cols[4].data = i16_data;
    cols[5].data = i32_data;
    cols[5].valid = i32_valid;
    cols[6].data = i64_data;
    cols[7].data = f_data;
    cols[8].data = d_data;
    cols[8].valid = d_valid;
    cols[9].data = s_bytes;
    cols[9].offsets = s_off;
    cols[9].valid = s_valid;
    jsonb_column(&cols[10], QV_TYPE_JSON, j_text, j_valid);
    jsonb_column(&cols[11], QV_TYPE_ARRAY, ai_text, ai_valid);
    jsonb_column(&cols[12], QV_TYPE_ARRAY, as_text, NULL);
    jsonb_column(&cols[13], QV_TYPE_ARRAY, af_text, NULL);
    jsonb_column(&dyn, QV_TYPE_JSON, dyn_text, NULL);
    batch.rows = ROWS;
    batch.cols = cols;
    batch.col_count = NFIELDS;
    batch.dynamic = &dyn;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char prefix[] = "failed to create query plan: cannot parse expression: ";
    static bool ready;
    const char *expr = (const char *)data;
    const uint8_t *nul = memchr(data, 0, size);
    size_t elen = nul ? (size_t)(nul - data) : size;
    qv_jsonb_builder pb;
    qv_filter_opts o;
    qv_filter *f = NULL;
    qv_error err;
    uint64_t bits[1];
    const qv_value *pk;
    size_t npk;

    if (!ready) {
        setup();
        ready = true;
    }
    memset(&o, 0, sizeof o);
    qv_jsonb_builder_init(&pb);
    if (nul) { /* exprParams after the NUL, as JSON text */
        const uint8_t *p;
        size_t n;
        if (qv_jsonb_parse_json(&pb, (const char *)nul + 1, size - elen - 1, NULL) == QV_OK &&
            qv_jsonb_finish(&pb, &p, &n, NULL) == QV_OK) {
            o.params = p;
            o.params_len = n;
        }
    }
    if (qv_filter_compile(&schema, expr, elen, &o, &f, &err) == QV_OK) {
        bits[0] = 0;
        if (qv_filter_eval(f, &batch, bits, &err) != QV_OK)
            abort(); /* the batch always has every column */
        if (bits[0] >> ROWS)
            abort(); /* bits past the last row must be clear */
        (void)qv_filter_pk_values(f, &pk, &npk);
        (void)qv_filter_field_mask(f);
        qv_filter_free(f);
    } else if (err.code == QV_EINVAL && strncmp(err.msg, prefix, sizeof prefix - 1) != 0) {
        abort(); /* every user error speaks Milvus's wording */
    }
    qv_jsonb_builder_fini(&pb);
    return 0;
}
