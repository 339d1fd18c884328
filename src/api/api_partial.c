/* SPDX-License-Identifier: Apache-2.0 */
/* api_partial.c - entities/upsert with "partialUpdate": true (Milvus 2.6 merge mode).
 *
 * The stored versions of the keys a batch names are fetched with one query (`<pk> in
 * [...]` over every partition, through the cluster layer) and written as JSON row objects
 * (every field and dynamic key); each request row is then merged over its stored row as
 * JSON text (the request's keys win, stored fields and dynamic keys fill in the rest) and
 * the merged array is decoded by the row codec exactly as a whole upsert would be, so
 * every value rule, default and error stays the codec's. Rows whose key is not stored are
 * inserted as given (on an autoID collection with a new key). Exact by construction:
 * Int64 values are written as integers, Float values in shortest round-trip form, Double
 * with 17 digits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/dist.h"
#include "quiver/rowcodec.h"

/* The primary key a request row names, as Int64 (*iv; a decimal string counts, as the row
 * codec reads it) or VarChar (*sv, *sl); false when absent or of another type. */
static bool row_key(const qv_field *pk, const qv_jval *row, int64_t *iv, const char **sv,
                    size_t *sl)
{
    const qv_jval *v = qv_jobj_get(row, pk->name);
    char *end;

    if (!v)
        return false;
    if (pk->type == QV_TYPE_VARCHAR)
        return qv_jval_str(v, sv, sl);
    if (qv_jval_int(v, iv))
        return true;
    if (!qv_jval_str(v, sv, NULL) || !**sv)
        return false;
    errno = 0;
    *iv = strtoll(*sv, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Row of b (ordered by primary key, as qv_coll_query returns it) holding the key, or
 * SIZE_MAX; binary search in qv_colbuf_key_cmp order. */
static size_t stored_row(const qv_rowbatch *b, size_t pk_col, int64_t iv, const char *sv,
                         size_t sl)
{
    const qv_colbuf *c = &b->cols[pk_col];
    size_t lo = 0, hi = b->rows;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, n;
        int cmp;
        if (c->width) {
            int64_t x;
            memcpy(&x, qv_colbuf_fixed(c, mid), sizeof x);
            cmp = (x > iv) - (x < iv);
        } else {
            const uint8_t *p = qv_colbuf_var(c, mid, &n);
            int m = memcmp(p, sv, n < sl ? n : sl);
            cmp = m ? m : (n > sl) - (n < sl);
        }
        if (cmp == 0)
            return mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* The stored versions of the keys the rows of data name: qv_coll_query with the filter
 * `<pk> in [keys]`, rows in key order into found, and the same rows as JSON objects (all
 * fields and dynamic keys) into *doc, under "rows". */
static qv_err fetch_stored(qv_node *node, const qv_collection_info *ci, qv_coll_data *cd,
                           const qv_jval *data, qv_rowbatch *found, qv_jdoc **doc,
                           qv_error *err)
{
    const qv_field *pk = qv_schema_primary(&ci->schema);
    qv_output_fields of = {0};
    qv_jdoc *ids = NULL;
    qv_filter *f = NULL;
    qv_buf text;
    qv_jw w;
    qv_err rc;

    qv_buf_init(&text);
    qv_jw_init(&w, &text);
    qv_jw_obj_begin(&w);
    qv_jw_key(&w, "ids");
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < qv_jarr_len(data); i++) {
        int64_t iv;
        const char *sv;
        size_t sl;
        if (!row_key(pk, qv_jarr_at(data, i), &iv, &sv, &sl))
            continue;
        if (pk->type == QV_TYPE_VARCHAR)
            qv_jw_strn(&w, sv, sl);
        else
            qv_jw_int(&w, iv);
    }
    qv_jw_arr_end(&w);
    qv_jw_obj_end(&w);
    qv_buf_put_u8(&text, 0); /* the filter's source text for peers */
    text.len--;
    if ((rc = qv_buf_status(&text, err)) == QV_OK &&
        (rc = qv_jdoc_parse((const char *)text.data, text.len, 4, &ids, err)) == QV_OK &&
        (rc = api_pk_filter(&ci->schema, qv_jobj_get(qv_jdoc_root(ids), "ids"), &f, err)) ==
            QV_OK) {
        qv_query_opts q = {.filter = f, .limit = UINT64_MAX};
        qv_dist_coll dc = {node, ci, cd};
        qv_dist_filter src = {QV_DIST_PK_FILTER, (const char *)text.data};
        rc = qv_dist_query(&dc, &q, &src, found, NULL, err);
    }
    if (rc == QV_OK)
        rc = qv_codec_output_fields(&ci->schema, NULL, 0, true, &of, err);
    if (rc == QV_OK) {
        text.len = 0;
        qv_jw_init(&w, &text);
        qv_jw_obj_begin(&w);
        qv_jw_key(&w, "rows");
        qv_jw_arr_begin(&w);
        for (size_t i = 0; i < found->rows; i++) {
            qv_jw_obj_begin(&w);
            qv_codec_write_row(&w, &ci->schema, found, i, &of, false);
            qv_jw_obj_end(&w);
        }
        qv_jw_arr_end(&w);
        qv_jw_obj_end(&w);
        qv_codec_output_fields_fini(&of);
        if ((rc = qv_buf_status(&text, err)) == QV_OK)
            rc = qv_jdoc_parse((const char *)text.data, text.len, API_MAX_JSON_DEPTH + 4, doc,
                               err);
    }
    qv_filter_free(f);
    qv_jdoc_free(ids);
    qv_buf_fini(&text);
    return rc;
}

/* Each request row merged over the stored version of its key (the request's keys win;
 * stored fields and dynamic keys fill in the rest), as a JSON array of row objects. Rows
 * whose key is not stored (fresh[i] set), and values that are not objects, are copied as
 * they are. */
static void merge_rows(const qv_schema *s, const qv_jval *data, const qv_rowbatch *found,
                       const qv_jval *stored, bool *fresh, qv_jw *w)
{
    const qv_field *pk = qv_schema_primary(s);
    size_t pk_col = (size_t)(pk - s->fields);

    qv_jw_arr_begin(w);
    for (size_t i = 0; i < qv_jarr_len(data); i++) {
        const qv_jval *row = qv_jarr_at(data, i), *old = NULL, *v;
        const char *key, *sv = NULL;
        size_t sl = 0, at;
        int64_t iv = 0;
        if (qv_jval_type(row) != QV_J_OBJECT) {
            qv_jw_jval(w, row);
            continue;
        }
        if (row_key(pk, row, &iv, &sv, &sl)) {
            if ((at = stored_row(found, pk_col, iv, sv, sl)) != SIZE_MAX)
                old = qv_jarr_at(stored, at);
            fresh[i] = !old;
        }
        qv_jw_obj_begin(w);
        for (size_t k = 0; old && qv_jobj_at(old, k, &key, &v); k++) {
            if (!qv_jobj_get(row, key)) {
                qv_jw_key(w, key);
                qv_jw_jval(w, v);
            }
        }
        for (size_t k = 0; qv_jobj_at(row, k, &key, &v); k++) {
            qv_jw_key(w, key);
            qv_jw_jval(w, v);
        }
        qv_jw_obj_end(w);
    }
    qv_jw_arr_end(w);
}

/* AutoID partial update (Milvus 2.6): a key that is not stored gets a new id, as an insert
 * would; stored keys are kept. */
static qv_err renumber_fresh(qv_req *req, const qv_schema *s, const bool *fresh,
                             qv_rowbatch *out, qv_error *err)
{
    const qv_field *pk = qv_schema_primary(s);
    qv_colbuf *col = &out->cols[pk - s->fields];
    size_t n = 0;
    int64_t id;
    qv_err rc;

    for (size_t i = 0; i < out->rows; i++)
        n += fresh[i];
    if (!pk->auto_id || !n || col->rows != out->rows)
        return QV_OK;
    if ((rc = qv_idalloc_next(req->node->ids, n, &id, err)) != QV_OK)
        return rc;
    for (size_t i = 0; i < out->rows; i++)
        if (fresh[i])
            memcpy((int64_t *)(void *)col->data.data + i, &id, sizeof id), id++;
    return QV_OK;
}

/* Decode the rows of a partial-update upsert into out (initialised here). A `data` that is
 * not an array, or holds too many rows, is left to the row codec, which refuses it as it
 * would for any upsert. */
qv_err api_partial_rows(qv_req *req, const qv_collection_info *ci, qv_coll_data *cd,
                        const qv_rows_opts *o, qv_rowbatch *out, qv_error *err)
{
    qv_text_span span = {req->data_off, req->data_len};
    qv_jdoc *body = NULL, *stored = NULL;
    const qv_jval *data;
    qv_rowbatch found = {0};
    bool *fresh = NULL;
    qv_buf text;
    qv_jw w;
    qv_err rc = qv_jdoc_parse(req->body, req->body_len, API_MAX_JSON_DEPTH, &body, err);

    if (rc != QV_OK)
        return rc;
    data = qv_jobj_get(qv_jdoc_root(body), "data");
    if (qv_jval_type(data) != QV_J_ARRAY || qv_jarr_len(data) == 0 ||
        qv_jarr_len(data) > o->max_rows) {
        qv_jdoc_free(body);
        return qv_codec_decode_rows_text(req->body, span, &ci->schema, o, out, err);
    }
    qv_buf_init(&text);
    if (!(fresh = qv_calloc(qv_jarr_len(data), sizeof *fresh)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    if (rc == QV_OK &&
        (rc = fetch_stored(req->node, ci, cd, data, &found, &stored, err)) == QV_OK) {
        qv_jw_init(&w, &text);
        merge_rows(&ci->schema, data, &found, qv_jobj_get(qv_jdoc_root(stored), "rows"),
                   fresh, &w);
        if ((rc = qv_buf_status(&text, err)) == QV_OK) {
            qv_text_span all = {0, text.len};
            rc = qv_codec_decode_rows_text((const char *)text.data, all, &ci->schema, o, out,
                                           err);
        }
        if (rc == QV_OK)
            rc = renumber_fresh(req, &ci->schema, fresh, out, err);
    }
    qv_free(fresh);
    if (found.cols)
        qv_rowbatch_fini(&found);
    qv_buf_fini(&text);
    qv_jdoc_free(stored);
    qv_jdoc_free(body);
    return rc;
}
