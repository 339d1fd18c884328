/* SPDX-License-Identifier: Apache-2.0 */
/* http_int.h - shared between the server's files. */
#ifndef QUIVER_HTTP_INT_H
#define QUIVER_HTTP_INT_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "quiver/api.h"
#include "quiver/http.h"

struct qv_http_server {
    qv_node *node;
    struct MHD_Daemon *daemon;
    uint16_t port;
    atomic_int inflight;          /* every request, for the drain */
    atomic_int admitted;          /* requests counted against server.max_inflight */
    atomic_uint_fast64_t next_request_id;
    char *tls_cert, *tls_key;     /* PEM text handed to MHD (HTTPS), or NULL */
    size_t tls_key_len;
};

/* Per-request state, from the first callback to MHD's completion notice. */
typedef struct http_conn {
    qv_http_server *srv;
    qv_buf body;
    bool too_big;
    bool admitted;       /* holds a server.max_inflight slot */
    bool answered;       /* a response is queued */
    bool authed;         /* user holds the authenticated user */
    qv_err refused;      /* refused at the first callback (admission, 401), or QV_OK */
    qv_error refused_err;
    const qv_route *route; /* found at the first callback, or NULL */
    char user[QV_AUTH_NAME_MAX + 1];
    uint64_t start_ns;
    char request_id[65];
} http_conn;

/* Append an upload chunk unless over the limit (then drop it and mark too_big). */
void http_body_append(http_conn *hc, const char *data, size_t n, uint64_t limit);
/* Decode a Content-Encoding: gzip/deflate body in place (capped at limit). */
qv_err http_body_decode(http_conn *hc, const char *encoding, uint64_t limit, qv_error *err);

/* Build and queue the response for resp (status, body, CORS, request id, gzip). */
enum MHD_Result http_send(struct MHD_Connection *c, http_conn *hc, qv_resp *resp, bool close);
/* Fill resp with the error envelope of rc (resp->err.msg or the title). */
void http_render_error(const qv_http_server *s, qv_resp *resp, qv_err rc);
/* A CORS preflight answer (204). */
enum MHD_Result http_send_preflight(struct MHD_Connection *c, http_conn *hc);

#endif
