/* SPDX-License-Identifier: Apache-2.0 */
/* s3_client.c - S3 operations on top of s3_perform: PUT (from memory or a file; multipart
 * past part_bytes: CreateMultipartUpload, UploadPart x n, CompleteMultipartUpload, and
 * AbortMultipartUpload when anything fails), GET with checksum verification, HEAD,
 * DELETE and ListObjectsV2, with the little XML reading they need.
 *
 * Every object gets x-amz-meta-crc32c, the CRC32C of its whole content in 8 hex digits,
 * known before the upload starts (a file is read once to compute it, then again part by
 * part to send it; a file whose CRC changed in between is not completed). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "storage/s3/s3_int.h"

#define SMALL_ANSWER_BYTES ((size_t)1 << 20)
#define LIST_ANSWER_BYTES ((size_t)64 << 20)
#define MAX_PARTS 10000

/* ---- XML ------------------------------------------------------------------------------ */

const char *s3_xml_find(const char *xml, size_t xml_len, size_t *from, const char *tag,
                        size_t *len)
{
    char open[80], close[80];
    const char *a, *b, *end = xml + xml_len;
    int no = snprintf(open, sizeof open, "<%s>", tag), nc = snprintf(close, sizeof close,
                                                                    "</%s>", tag);

    if (*from >= xml_len || !(a = memmem(xml + *from, (size_t)(end - xml - *from), open,
                                         (size_t)no)))
        return NULL;
    a += no;
    if (!(b = memmem(a, (size_t)(end - a), close, (size_t)nc)))
        return NULL;
    *len = (size_t)(b - a);
    *from = (size_t)(b - xml) + (size_t)nc;
    return a;
}

void s3_xml_text(const char *p, size_t n, char *out, size_t cap)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t o = 0;

    for (size_t i = 0; i < n && o + 1 < cap;) {
        size_t k = 0;
        while (k < sizeof ents / sizeof ents[0] &&
               (n - i < strlen(ents[k].ent) || memcmp(p + i, ents[k].ent, strlen(ents[k].ent))))
            k++;
        if (k < sizeof ents / sizeof ents[0]) {
            out[o++] = ents[k].c;
            i += strlen(ents[k].ent);
        } else {
            out[o++] = p[i++];
        }
    }
    if (cap)
        out[o] = 0;
}

/* ---- single requests ------------------------------------------------------------------ */

static qv_err put_data(qv_s3 *s, const char *key, const void *data, size_t len, uint32_t crc,
                       qv_error *err)
{
    char hex[9];
    qv_s3_pair h[1] = {{"x-amz-meta-crc32c", hex}};
    s3_req r = {.method = "PUT", .key = key, .body = data, .len = len, .headers = h,
                .nheaders = 1, .op = QV_S3_OP_PUT, .max_resp = SMALL_ANSWER_BYTES};
    qv_err rc;

    snprintf(hex, sizeof hex, "%08" PRIx32, crc);
    rc = s3_perform(s, &r, false, err);
    s3_req_fini(&r);
    return rc;
}

qv_err qv_s3_put(qv_s3 *s, const char *key, const void *data, size_t len, qv_error *err)
{
    return put_data(s, key, data, len, qv_crc32c(0, data, len), err);
}

static void object_info(const s3_req *r, qv_s3_object *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof *info);
    info->found = r->status != 404;
    info->size = r->has_length ? r->content_length : r->resp.len;
    info->has_crc = r->has_crc;
    info->crc = r->crc;
}

qv_err qv_s3_head(qv_s3 *s, const char *key, qv_s3_object *info, qv_error *err)
{
    s3_req r = {.method = "HEAD", .key = key, .op = QV_S3_OP_HEAD,
                .max_resp = SMALL_ANSWER_BYTES};
    qv_err rc = s3_perform(s, &r, true, err);

    if (rc == QV_OK)
        object_info(&r, info);
    s3_req_fini(&r);
    return rc;
}

qv_err qv_s3_get(qv_s3 *s, const char *key, size_t max_bytes, qv_buf *out, qv_s3_object *info,
                 qv_error *err)
{
    s3_req r = {.method = "GET", .key = key, .op = QV_S3_OP_GET, .max_resp = max_bytes};
    qv_s3_object got;
    qv_err rc = s3_perform(s, &r, true, err);

    if (rc == QV_OK) {
        object_info(&r, &got);
        got.size = r.resp.len;
        if (got.found && got.has_crc && qv_crc32c(0, r.resp.data, r.resp.len) != got.crc)
            rc = qv_error_set(err, QV_ECORRUPT, "S3 GET %s: content fails its crc32c %08" PRIx32,
                              key, got.crc);
        else if (got.found)
            qv_buf_put(out, r.resp.data, r.resp.len);
        if (rc == QV_OK && (rc = qv_buf_status(out, err)) == QV_OK && info)
            *info = got;
    }
    s3_req_fini(&r);
    return rc;
}

qv_err qv_s3_delete(qv_s3 *s, const char *key, qv_error *err)
{
    s3_req r = {.method = "DELETE", .key = key, .op = QV_S3_OP_DELETE,
                .max_resp = SMALL_ANSWER_BYTES};
    qv_err rc = s3_perform(s, &r, true, err);

    s3_req_fini(&r);
    return rc;
}

/* ---- listing -------------------------------------------------------------------------- */

/* Report every <Contents> of one page; *token gets NextContinuationToken or "". */
static qv_err list_page(const s3_req *r, qv_s3_list_fn fn, void *ctx, char *token, size_t cap,
                        qv_error *err)
{
    const char *xml = (const char *)r->resp.data, *c, *v;
    size_t from = 0, n, vn, in;
    char key[QV_S3_MAX_KEY + 1], num[32];
    qv_err rc = QV_OK;

    token[0] = 0;
    while (rc == QV_OK && (c = s3_xml_find(xml, r->resp.len, &from, "Contents", &n))) {
        in = 0;
        if (!(v = s3_xml_find(c, n, &in, "Key", &vn)))
            return qv_error_set(err, QV_EIO, "S3 list: an entry without a Key");
        s3_xml_text(v, vn, key, sizeof key);
        in = 0;
        v = s3_xml_find(c, n, &in, "Size", &vn);
        s3_xml_text(v ? v : "0", v ? vn : 1, num, sizeof num);
        rc = fn(ctx, key, strtoull(num, NULL, 10));
    }
    from = 0;
    if (rc == QV_OK && (v = s3_xml_find(xml, r->resp.len, &from, "IsTruncated", &vn)) &&
        vn == 4 && !memcmp(v, "true", 4)) {
        from = 0;
        if (!(v = s3_xml_find(xml, r->resp.len, &from, "NextContinuationToken", &vn)))
            return qv_error_set(err, QV_EIO, "S3 list: truncated without a continuation token");
        s3_xml_text(v, vn, token, cap);
    }
    return rc;
}

qv_err qv_s3_list(qv_s3 *s, const char *prefix, qv_s3_list_fn fn, void *ctx, qv_error *err)
{
    char token[2048] = "";
    qv_err rc;

    do {
        qv_s3_pair q[3] = {{"list-type", "2"}, {"prefix", prefix}, {"continuation-token", token}};
        s3_req r = {.method = "GET", .query = q, .nquery = token[0] ? 3 : 2,
                    .op = QV_S3_OP_LIST, .max_resp = LIST_ANSWER_BYTES};
        rc = s3_perform(s, &r, false, err);
        if (rc == QV_OK)
            rc = r.resp.data ? list_page(&r, fn, ctx, token, sizeof token, err)
                             : qv_error_set(err, QV_EIO, "S3 list: empty answer");
        s3_req_fini(&r);
    } while (rc == QV_OK && token[0]);
    return rc;
}

/* ---- files ---------------------------------------------------------------------------- */

/* CRC32C of the file's bytes [0, size), read into buf (cap bytes) piece by piece. */
static qv_err file_crc(qv_file *f, uint64_t size, uint8_t *buf, size_t cap, uint32_t *crc,
                       qv_error *err)
{
    uint32_t c = 0;

    for (uint64_t off = 0; off < size;) {
        size_t want = size - off < cap ? (size_t)(size - off) : cap, got = 0;
        qv_err rc = qv_io_pread(f, buf, want, off, &got, err);
        if (rc != QV_OK)
            return rc;
        if (got != want)
            return qv_error_set(err, QV_EIO, "%s: shrank while being read",
                                qv_io_file_path(f));
        c = qv_crc32c(c, buf, got);
        off += got;
    }
    *crc = c;
    return QV_OK;
}

typedef struct multipart {
    qv_s3 *s;
    const char *key;
    char upload_id[512];
    qv_buf complete; /* CompleteMultipartUpload body */
} multipart;

static qv_err mp_initiate(multipart *m, uint32_t crc, qv_error *err)
{
    char hex[9];
    qv_s3_pair h[1] = {{"x-amz-meta-crc32c", hex}}, q[1] = {{"uploads", ""}};
    s3_req r = {.method = "POST", .key = m->key, .query = q, .nquery = 1, .headers = h,
                .nheaders = 1, .op = QV_S3_OP_MULTIPART, .max_resp = SMALL_ANSWER_BYTES};
    size_t from = 0, n = 0;
    const char *id;
    qv_err rc;

    snprintf(hex, sizeof hex, "%08" PRIx32, crc);
    if ((rc = s3_perform(m->s, &r, false, err)) == QV_OK) {
        id = r.resp.data ? s3_xml_find((const char *)r.resp.data, r.resp.len, &from, "UploadId",
                                       &n)
                         : NULL;
        if (id && n < sizeof m->upload_id)
            s3_xml_text(id, n, m->upload_id, sizeof m->upload_id);
        else
            rc = qv_error_set(err, QV_EIO, "S3 multipart %s: no UploadId in the answer", m->key);
    }
    s3_req_fini(&r);
    return rc;
}

static qv_err mp_part(multipart *m, unsigned part, const void *data, size_t len, qv_error *err)
{
    char num[16];
    qv_s3_pair q[2] = {{"partNumber", num}, {"uploadId", m->upload_id}};
    s3_req r = {.method = "PUT", .key = m->key, .query = q, .nquery = 2, .body = data,
                .len = len, .op = QV_S3_OP_MULTIPART, .max_resp = SMALL_ANSWER_BYTES};
    qv_err rc;

    snprintf(num, sizeof num, "%u", part);
    if ((rc = s3_perform(m->s, &r, false, err)) == QV_OK && !r.etag[0])
        rc = qv_error_set(err, QV_EIO, "S3 multipart %s: part %u without an ETag", m->key, part);
    if (rc == QV_OK)
        qv_buf_printf(&m->complete, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>",
                      part, r.etag);
    s3_req_fini(&r);
    return rc;
}

static qv_err mp_finish(multipart *m, bool complete, qv_error *err)
{
    qv_s3_pair q[1] = {{"uploadId", m->upload_id}}, h[1] = {{"content-type", "application/xml"}};
    s3_req r = {.method = complete ? "POST" : "DELETE", .key = m->key, .query = q, .nquery = 1,
                .op = QV_S3_OP_MULTIPART, .max_resp = SMALL_ANSWER_BYTES};
    qv_err rc;

    if (complete) {
        qv_buf_puts(&m->complete, "</CompleteMultipartUpload>");
        if ((rc = qv_buf_status(&m->complete, err)) != QV_OK)
            return rc;
        r.body = m->complete.data;
        r.len = m->complete.len;
        r.headers = h;
        r.nheaders = 1;
    }
    rc = s3_perform(m->s, &r, !complete, err);
    /* CompleteMultipartUpload may answer 200 with an <Error> body */
    if (rc == QV_OK && complete && r.resp.data &&
        memmem(r.resp.data, r.resp.len, "<Error>", 7))
        rc = qv_error_set(err, QV_EUNAVAIL, "S3 multipart %s: completion failed", m->key);
    s3_req_fini(&r);
    return rc;
}

static qv_err put_multipart(qv_s3 *s, const char *key, qv_file *f, uint64_t size, uint32_t crc,
                            uint8_t *buf, qv_error *err)
{
    multipart m = {.s = s, .key = key};
    uint32_t again = 0;
    unsigned part = 1;
    qv_err rc;

    if ((size + s->part_bytes - 1) / s->part_bytes > MAX_PARTS)
        return qv_error_set(err, QV_ETOOBIG, "%s: over %d parts of s3.part_bytes",
                            qv_io_file_path(f), MAX_PARTS);
    qv_buf_init(&m.complete);
    qv_buf_puts(&m.complete, "<CompleteMultipartUpload>");
    if ((rc = mp_initiate(&m, crc, err)) != QV_OK)
        goto done;
    for (uint64_t off = 0; rc == QV_OK && off < size; off += s->part_bytes, part++) {
        size_t want = size - off < s->part_bytes ? (size_t)(size - off) : (size_t)s->part_bytes;
        size_t got = 0;
        if ((rc = qv_io_pread(f, buf, want, off, &got, err)) == QV_OK && got != want)
            rc = qv_error_set(err, QV_EIO, "%s: shrank while being uploaded", qv_io_file_path(f));
        if (rc == QV_OK) {
            again = qv_crc32c(again, buf, got);
            rc = mp_part(&m, part, buf, got, err);
        }
    }
    if (rc == QV_OK && again != crc)
        rc = qv_error_set(err, QV_EIO, "%s: changed while being uploaded", qv_io_file_path(f));
    if (rc == QV_OK)
        rc = mp_finish(&m, true, err);
    else
        mp_finish(&m, false, NULL); /* best effort: drop the parts */
done:
    qv_buf_fini(&m.complete);
    return rc;
}

qv_err s3_put_file_ex(qv_s3 *s, const char *key, const char *path, const s3_put_check *chk,
                      uint32_t *crc_out, uint64_t *bytes_out, bool *skipped, qv_error *err)
{
    qv_file *f = NULL;
    uint64_t size = 0;
    uint8_t *buf = NULL;
    uint32_t crc = 0;
    size_t cap;
    qv_err rc;

    *skipped = false;
    if ((rc = qv_io_open(s->io, path, QV_IO_READ, &f, err)) != QV_OK ||
        (rc = qv_io_file_size(f, &size, err)) != QV_OK)
        goto done;
    cap = size < s->part_bytes ? (size_t)size : (size_t)s->part_bytes;
    if (!(buf = qv_malloc(cap + 1))) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory uploading %s", path);
        goto done;
    }
    if ((rc = file_crc(f, size, buf, cap, &crc, err)) != QV_OK)
        goto done;
    if (chk && chk->check_crc && crc != chk->expect_crc) {
        rc = qv_error_set(err, QV_ECORRUPT, "%s: CRC32C %08" PRIx32 " differs from %08" PRIx32,
                          path, crc, chk->expect_crc);
        goto done;
    }
    if (chk && chk->remote && chk->remote->found && chk->remote->has_crc &&
        chk->remote->crc == crc && chk->remote->size == size)
        *skipped = true;
    else if (size <= s->part_bytes) /* buf holds the whole file since the CRC pass */
        rc = put_data(s, key, buf, (size_t)size, crc, err);
    else
        rc = put_multipart(s, key, f, size, crc, buf, err);
    if (rc == QV_OK) {
        if (crc_out)
            *crc_out = crc;
        if (bytes_out)
            *bytes_out = size;
    }
done:
    qv_free(buf);
    qv_io_close(f);
    return rc;
}

qv_err qv_s3_put_file(qv_s3 *s, const char *key, const char *path, bool check_crc,
                      uint32_t expect_crc, uint32_t *crc_out, uint64_t *bytes_out,
                      qv_error *err)
{
    s3_put_check chk = {.check_crc = check_crc, .expect_crc = expect_crc};
    bool skipped;

    return s3_put_file_ex(s, key, path, &chk, crc_out, bytes_out, &skipped, err);
}

qv_err s3_put_data_ex(qv_s3 *s, const char *key, const void *data, size_t len,
                      const qv_s3_object *remote, uint32_t *crc_out, bool *skipped,
                      qv_error *err)
{
    uint32_t crc = qv_crc32c(0, data, len);

    *crc_out = crc;
    *skipped = remote && remote->found && remote->has_crc && remote->crc == crc &&
               remote->size == len;
    return *skipped ? QV_OK : put_data(s, key, data, len, crc, err);
}
