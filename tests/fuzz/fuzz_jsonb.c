/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_jsonb.c - libFuzzer target for binary JSON. The input is used twice:
 *  1. as a jsonb blob: every reader must be memory-safe on any bytes; when
 *     qv_jsonb_validate accepts it, its JSON text must parse back;
 *  2. as JSON text: when qv_jsonb_parse_json accepts it, the blob must validate and
 *     text -> blob -> text must be idempotent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/jsonb.h"

static size_t walk(qv_jsonb v, int depth)
{
    qv_jsonb_iter it;
    qv_jsonb e;
    const char *k, *s;
    size_t kl, n, count = 1;
    int64_t i;
    double d;
    bool b;

    if (depth > QV_JSONB_MAX_DEPTH + 2)
        return count;
    (void)qv_jsonb_typeof(v);
    (void)qv_jsonb_get_int(v, &i);
    (void)qv_jsonb_get_double(v, &d);
    (void)qv_jsonb_get_bool(v, &b);
    (void)qv_jsonb_get_string(v, &s, &n);
    (void)qv_jsonb_find(v, "a", 1);
    (void)qv_jsonb_find(v, "", 0);
    (void)qv_jsonb_index(v, 0);
    (void)qv_jsonb_index(v, SIZE_MAX);
    for (size_t j = 0; j < qv_jsonb_length(v) && j < 8; j++)
        (void)qv_jsonb_index(v, j);
    qv_jsonb_iter_init(&it, v);
    while (qv_jsonb_iter_next(&it, &k, &kl, &e)) {
        (void)qv_jsonb_find(v, k, kl);
        count += walk(e, depth + 1);
    }
    (void)qv_jsonb_equal(v, v);
    (void)qv_jsonb_array_contains(v, v);
    return count;
}

static char *to_text(qv_jsonb v, size_t *len)
{
    qv_buf out;
    qv_buf_init(&out);
    qv_jsonb_write_json(&out, v);
    return (char *)qv_buf_take(&out, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qv_jsonb_builder b;
    const uint8_t *p;
    size_t n, tl, tl2;
    char *t, *t2;

    /* 1. bytes as a blob */
    (void)walk(qv_jsonb_root(data, size), 0);
    t = to_text(qv_jsonb_root(data, size), &tl);
    qv_jsonb_builder_init(&b);
    if (qv_jsonb_validate(data, size, NULL) == QV_OK) {
        if (qv_jsonb_parse_json(&b, t, tl, NULL) != QV_OK)
            abort(); /* the writer must emit JSON our reader accepts */
    }
    qv_free(t);

    /* 2. bytes as JSON text */
    qv_jsonb_builder_reset(&b);
    if (qv_jsonb_parse_json(&b, (const char *)data, size, NULL) == QV_OK) {
        if (qv_jsonb_finish(&b, &p, &n, NULL) != QV_OK || qv_jsonb_validate(p, n, NULL) != QV_OK)
            abort();
        (void)walk(qv_jsonb_root(p, n), 0);
        t = to_text(qv_jsonb_root(p, n), &tl);
        qv_jsonb_builder_reset(&b);
        if (qv_jsonb_parse_json(&b, t, tl, NULL) != QV_OK ||
            qv_jsonb_finish(&b, &p, &n, NULL) != QV_OK)
            abort();
        t2 = to_text(qv_jsonb_root(p, n), &tl2);
        if (tl != tl2 || memcmp(t, t2, tl) != 0)
            abort(); /* text -> blob -> text is idempotent */
        qv_free(t);
        qv_free(t2);
    }
    qv_jsonb_builder_fini(&b);
    return 0;
}
