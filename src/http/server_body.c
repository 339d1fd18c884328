/* SPDX-License-Identifier: Apache-2.0 */
/* server_body.c - request bodies: size limit while streaming, gzip decoding
 * with the same limit on the decoded size (no gzip bombs). */
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "http/http_int.h"
#include "quiver/alloc.h"

void http_body_append(http_conn *hc, const char *data, size_t n, uint64_t limit)
{
    if (hc->too_big)
        return;
    if (hc->body.len + n > limit) {
        hc->too_big = true;
        qv_buf_fini(&hc->body); /* the rest is discarded, never buffered */
        return;
    }
    qv_buf_put(&hc->body, data, n);
}

qv_err http_body_decode(http_conn *hc, const char *encoding, uint64_t limit, qv_error *err)
{
    z_stream zs;
    qv_buf out;
    int zrc = Z_OK;
    uint8_t chunk[65536];

    if (!encoding || !*encoding || !strcasecmp(encoding, "identity"))
        return QV_OK;
    if (strcasecmp(encoding, "gzip") != 0 && strcasecmp(encoding, "deflate") != 0)
        return qv_error_set(err, QV_EINVAL, "unsupported Content-Encoding: %s", encoding);
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* +32: zlib or gzip header, detected */
        return qv_error_set(err, QV_ENOMEM, "out of memory (zlib)");
    qv_buf_init(&out);
    zs.next_in = hc->body.data;
    zs.avail_in = (uInt)hc->body.len;
    while (zrc == Z_OK) {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        zrc = inflate(&zs, Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END)
            break;
        if (out.len + (sizeof chunk - zs.avail_out) > limit) {
            inflateEnd(&zs);
            qv_buf_fini(&out);
            hc->too_big = true;
            return qv_error_set(err, QV_ETOOBIG,
                                "request body exceeds the limit of %llu bytes after decoding",
                                (unsigned long long)limit);
        }
        qv_buf_put(&out, chunk, sizeof chunk - zs.avail_out);
        if (zrc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)
            zrc = Z_DATA_ERROR; /* truncated stream */
    }
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        qv_buf_fini(&out);
        return qv_error_set(err, QV_EBADJSON,
                            "can only accept json format request, error: invalid %s body",
                            encoding);
    }
    qv_buf_fini(&hc->body);
    hc->body = out;
    return qv_buf_status(&hc->body, err);
}
