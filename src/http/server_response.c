/* SPDX-License-Identifier: Apache-2.0 */
/* server_response.c - responses: error envelopes, CORS, request ids, gzip. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "http/http_int.h"
#include "quiver/alloc.h"

#define CORS_ALLOW_HEADERS                                                                         \
    "Authorization, Content-Type, Content-Encoding, Accept-Encoding, DB-Name, Request-Timeout, "   \
    "Accept-Type-Allow-Int64, X-Request-Id, RequestId"

/* Milvus wraps ParameterInvalid details as "<detail>: invalid parameter". */
static bool wants_invalid_suffix(qv_err rc, const char *msg)
{
    return rc == QV_EINVAL && !strstr(msg, "invalid parameter");
}

void http_render_error(const qv_http_server *s, qv_resp *resp, qv_err rc)
{
    const char *msg = resp->err.msg[0] ? resp->err.msg : qv_err_title(rc);
    int http = qv_err_http_status(rc);
    qv_jw w;

    if (!resp->status) {
        /* Milvus answers business errors with 200; these carry a real status there too */
        bool milvus_uses_status = rc == QV_EAUTH || rc == QV_EDENIED || rc == QV_ENOROUTE ||
                                  rc == QV_EMETHOD || rc == QV_ETIMEDOUT || rc == QV_ETOOBIG;
        resp->status = s->node->cfg->server_strict_http_status || milvus_uses_status ? http : 200;
    }
    resp->content_type = NULL;
    memset(resp->headers, 0, sizeof resp->headers); /* no ETag or caching on an error */
    resp->body.len = 0;
    qv_jw_init(&w, &resp->body);
    qv_jw_obj_begin(&w);
    qv_jw_kint(&w, "code", qv_err_milvus_code(rc));
    qv_jw_key(&w, "message");
    if (wants_invalid_suffix(rc, msg)) {
        char full[sizeof resp->err.msg + 32];
        snprintf(full, sizeof full, "%s: invalid parameter", msg);
        qv_jw_str(&w, full);
    } else {
        qv_jw_str(&w, msg);
    }
    qv_jw_obj_end(&w);
}

/* The Access-Control-Allow-Origin value for this request, or NULL. */
static const char *cors_origin(struct MHD_Connection *c, const char *allowed)
{
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    size_t n;

    if (strcmp(allowed, "*") == 0)
        return "*";
    if (!origin || !*origin)
        return NULL;
    n = strlen(origin);
    for (const char *p = allowed; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        if (len == n && strncmp(p, origin, n) == 0)
            return origin;
        p = comma ? comma + 1 : p + len;
    }
    return NULL;
}

static void add_common_headers(struct MHD_Connection *c, struct MHD_Response *r,
                               const http_conn *hc)
{
    const char *origin = cors_origin(c, hc->srv->node->cfg->server_cors_origins);

    if (origin) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(r, "Access-Control-Expose-Headers", "X-Request-Id");
        if (strcmp(origin, "*") != 0)
            MHD_add_response_header(r, "Vary", "Origin");
    }
    MHD_add_response_header(r, "X-Request-Id", hc->request_id);
}

static bool accepts_gzip(struct MHD_Connection *c)
{
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    return ae && strstr(ae, "gzip");
}

/* Replace body with its gzip encoding; false (body unchanged) on failure. */
static bool gzip_body(qv_buf *body)
{
    z_stream zs;
    qv_buf out;
    int zrc;

    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    qv_buf_init(&out);
    if (!qv_buf_reserve(&out, deflateBound(&zs, (uLong)body->len))) {
        deflateEnd(&zs);
        return false;
    }
    zs.next_in = body->data;
    zs.avail_in = (uInt)body->len;
    zs.next_out = out.data;
    zs.avail_out = (uInt)(out.cap - 1);
    zrc = deflate(&zs, Z_FINISH);
    out.len = zs.total_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        qv_buf_fini(&out);
        return false;
    }
    qv_buf_fini(body);
    *body = out;
    return true;
}

enum MHD_Result http_send(struct MHD_Connection *c, http_conn *hc, qv_resp *resp, bool close)
{
    const qv_config *cfg = hc->srv->node->cfg;
    struct MHD_Response *r;
    bool gzipped = false;
    enum MHD_Result ret;
    size_t len;
    uint8_t *data;

    if (resp->body.failed)
        resp->body.len = 0;
    if (resp->body.len >= cfg->server_gzip_min_bytes && resp->body.len && accepts_gzip(c))
        gzipped = gzip_body(&resp->body);
    data = qv_buf_take(&resp->body, &len);
    r = data ? MHD_create_response_from_buffer_with_free_callback(len, data, qv_free)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        qv_free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type",
                            resp->content_type ? resp->content_type : "application/json");
    if (gzipped)
        MHD_add_response_header(r, "Content-Encoding", "gzip");
    MHD_add_response_header(r, "Vary", "Accept-Encoding");
    if (resp->status == 405)
        MHD_add_response_header(r, "Allow", "GET, POST, OPTIONS");
    if (close)
        MHD_add_response_header(r, "Connection", "close");
    for (size_t i = 0; i < QV_RESP_MAX_HEADERS && resp->headers[i].name; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    add_common_headers(c, r, hc);
    ret = MHD_queue_response(c, (unsigned)(resp->status ? resp->status : 200), r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result http_send_preflight(struct MHD_Connection *c, http_conn *hc)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
    add_common_headers(c, r, hc);
    ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}
