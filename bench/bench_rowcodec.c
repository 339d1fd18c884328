/* SPDX-License-Identifier: Apache-2.0 */
/* bench_rowcodec.c - insert body decoding throughput, single thread: the text front end
 * (qv_codec_decode_insert_body) vs jansson (qv_jdoc_parse + qv_codec_decode_rows), on a
 * body of 1000 rows {"id": int, "vector": [128 floats]} with the floats written as
 * clients write them: shortest float text (JS, Go), 17-digit doubles of float32 values
 * (Python json.dumps of numpy.tolist()), and 6 decimals.
 *   usage: bench_rowcodec [iterations=20] [rows=1000] [dim=128] [jansson=1] */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quiver/alloc.h"
#include "quiver/json.h"
#include "quiver/rowcodec.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float rnd_float(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}

static void put_float(qv_buf *b, float x, int style)
{
    char t[40];

    if (style == 0) { /* shortest round trip */
        for (int p = 1; p <= 9; p++) {
            snprintf(t, sizeof t, "%.*g", p, (double)x);
            if (strtof(t, NULL) == x)
                break;
        }
        qv_buf_puts(b, t);
    } else if (style == 1) {
        qv_buf_printf(b, "%.17g", (double)x);
    } else {
        qv_buf_printf(b, "%.6f", (double)x);
    }
}

static char *make_body(size_t rows, uint32_t dim, int style, size_t *len)
{
    qv_buf b;

    qv_buf_init(&b);
    qv_buf_puts(&b, "{\"collectionName\":\"bench\",\"data\":[");
    for (size_t r = 0; r < rows; r++) {
        qv_buf_printf(&b, "%s{\"id\":%zu,\"vector\":[", r ? "," : "", r);
        for (uint32_t i = 0; i < dim; i++) {
            if (i)
                qv_buf_puts(&b, ", ");
            put_float(&b, rnd_float(), style);
        }
        qv_buf_puts(&b, "]}");
    }
    qv_buf_puts(&b, "]}");
    return (char *)qv_buf_take(&b, len);
}

static void schema_init(qv_schema *s, uint32_t dim)
{
    memset(s, 0, sizeof *s);
    s->fields = qv_calloc(2, sizeof *s->fields);
    s->field_count = 2;
    s->fields[0] = (qv_field){.name = qv_strdup("id"), .type = QV_TYPE_INT64, .is_primary = true};
    s->fields[1] = (qv_field){.name = qv_strdup("vector"), .type = QV_TYPE_FLOAT_VECTOR,
                              .dim = dim};
}

static void die(const char *what, const qv_error *e)
{
    fprintf(stderr, "%s: %s\n", what, e->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 20;
    size_t rows = argc > 2 ? (size_t)atol(argv[2]) : 1000;
    uint32_t dim = argc > 3 ? (uint32_t)atoi(argv[3]) : 128;
    bool with_jansson = argc > 4 ? atoi(argv[4]) != 0 : true;
    static const char *const styles[] = {"shortest", "17 digits", "%.6f"};
    qv_schema s;

    schema_init(&s, dim);
    printf("%zu rows x %u dims, %d iterations, single thread\n", rows, dim, iters);
    for (int style = 0; style < 3; style++) {
        size_t len;
        char *body = make_body(rows, dim, style, &len);
        double t0, fast, split, jan;
        qv_error e;

        t0 = now_s();
        for (int i = 0; i < iters; i++) {
            qv_rowbatch b;
            qv_jdoc *rest;
            if (qv_codec_decode_insert_body(body, len, &s, NULL, &b, &rest, &e) != QV_OK)
                die("fast path", &e);
            qv_jdoc_free(rest);
            qv_rowbatch_fini(&b);
        }
        fast = (now_s() - t0) / iters;
        t0 = now_s();
        for (int i = 0; i < iters; i++) {
            qv_jdoc *rest;
            qv_text_span span;
            if (qv_codec_split_body(body, len, "data", 0, &rest, &span, &e) != QV_OK)
                die("split", &e);
            qv_jdoc_free(rest);
        }
        split = (now_s() - t0) / iters;
        t0 = now_s();
        for (int i = 0; with_jansson && i < iters; i++) {
            qv_rowbatch b;
            qv_jdoc *doc;
            if (qv_jdoc_parse(body, len, 64, &doc, &e) != QV_OK ||
                qv_codec_decode_rows(qv_jobj_get(qv_jdoc_root(doc), "data"), &s, NULL, &b,
                                     &e) != QV_OK)
                die("jansson path", &e);
            qv_jdoc_free(doc);
            qv_rowbatch_fini(&b);
        }
        jan = (now_s() - t0) / iters;
        printf("%-10s body %5.2f MB  text path %8.0f vectors/s (%5.0f MB/s, split alone "
               "%4.1f%%)",
               styles[style], (double)len / 1e6, (double)rows / fast, (double)len / fast / 1e6,
               100 * split / fast);
        if (with_jansson)
            printf("  jansson path %7.0f vectors/s  speedup %.1fx", (double)rows / jan,
                   jan / fast);
        printf("\n");
        qv_free(body);
    }
    qv_schema_fini(&s);
    return 0;
}
