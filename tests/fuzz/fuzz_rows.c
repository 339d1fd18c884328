/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_rows.c - libFuzzer target for the insert body decoders (quiver/rowcodec.h): the
 * input is a request body, decoded for a fixed schema (every scalar kind, a FloatVector,
 * nullable and default fields, dynamic fields) by both front ends:
 *   qv_codec_decode_insert_body  the streaming text scanner of the ingest path, and
 *   qv_jdoc_parse + qv_codec_decode_rows  the jansson path.
 * Checks: no crash/UB/leak on any bytes; when both accept the body, their batches encode to
 * the same bytes (the header promises identical batches); a decoded batch survives the row
 * batch encoding round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/buf.h"
#include "quiver/json.h"
#include "quiver/rowbatch.h"
#include "quiver/rowcodec.h"
#include "fuzz_schema.h"

static qv_schema schema;

static void setup(void)
{
    static const fuzz_field defs[] = {
        {"id", QV_TYPE_INT64, 0, 0, false, true},
        {"vec", QV_TYPE_FLOAT_VECTOR, 0, 4, false, false},
        {"b", QV_TYPE_BOOL, 0, 0, true, false},
        {"i8", QV_TYPE_INT8, 0, 0, false, false},
        {"i32", QV_TYPE_INT32, 0, 0, true, false},
        {"f", QV_TYPE_FLOAT, 0, 0, false, false},
        {"d", QV_TYPE_DOUBLE, 0, 0, true, false},
        {"s", QV_TYPE_VARCHAR, 0, 0, true, false},
        {"j", QV_TYPE_JSON, 0, 0, true, false},
        {"ai", QV_TYPE_ARRAY, QV_TYPE_INT64, 0, true, false},
        {"as", QV_TYPE_ARRAY, QV_TYPE_VARCHAR, 0, false, false},
    };
    fuzz_schema_init(&schema, defs, sizeof defs / sizeof defs[0], 16);
}

static void encode(const qv_rowbatch *b, qv_buf *out)
{
    qv_buf_init(out);
    qv_rowbatch_encode(b, out);
    if (out->failed)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    const char *body = (const char *)data;
    qv_rows_opts o = {.max_rows = 64};
    qv_rowbatch a, b, c;
    qv_jdoc *doc = NULL;
    const qv_jval *arr;
    qv_error err;
    qv_err ra, rb;

    if (!ready) {
        setup();
        ready = true;
    }
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ra = qv_codec_decode_insert_body(body, size, &schema, &o, &a, NULL, &err);
    rb = qv_jdoc_parse(body, size, QV_CODEC_DEFAULT_MAX_DEPTH, &doc, &err);
    if (rb == QV_OK) {
        arr = qv_jobj_get(qv_jdoc_root(doc), "data");
        rb = arr ? qv_codec_decode_rows(arr, &schema, &o, &b, &err) : QV_EMISSING;
    }
    if (ra == QV_OK) {
        qv_buf ea, eb;
        encode(&a, &ea);
        if (qv_rowbatch_decode(&schema, ea.data, ea.len, &c, &err) != QV_OK)
            abort(); /* what we encode must decode */
        qv_rowbatch_fini(&c);
        if (rb == QV_OK) {
            encode(&b, &eb);
            if (ea.len != eb.len || memcmp(ea.data, eb.data, ea.len) != 0)
                abort(); /* the two front ends disagree on an accepted body */
            qv_buf_fini(&eb);
        }
        qv_buf_fini(&ea);
    }
    qv_rowbatch_fini(&a);
    qv_rowbatch_fini(&b);
    qv_jdoc_free(doc);
    return 0;
}
