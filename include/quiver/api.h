/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/api.h - REST handlers and the route table. One handler shape:
 * qv_err handler(qv_req *, qv_resp *). A handler writes its success body
 * (the {"code":0,"data":...} envelope via api helpers) or returns an error
 * with detail in resp->err; http/ renders error envelopes. Handlers run on the
 * HTTP worker thread that received the request and never touch sockets, so
 * tests can call them directly. */
#ifndef QUIVER_API_H
#define QUIVER_API_H

#include <stdbool.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/json.h"
#include "quiver/node.h"

typedef const char *(*qv_header_fn)(void *ctx, const char *name);

typedef struct qv_req {
    qv_node *node;
    const char *method;
    const char *path;
    const char *body; /* decoded (gunzipped) body, NUL-terminated */
    size_t body_len;
    qv_header_fn header; /* case-insensitive header lookup */
    void *header_ctx;
    const char *request_id;
    const char *user;     /* the authenticated user; NULL when auth is off or not needed */
    uint64_t start_ns;    /* CLOCK_MONOTONIC */
    uint64_t deadline_ns; /* 0: none */
    qv_jdoc *doc;         /* POST /v2 bodies, parsed before the handler runs */
    const qv_jval *root;
    size_t data_off;      /* QV_ROUTE_ROWS: the unparsed "data" array of the body */
    size_t data_len;      /* 0 when absent */
} qv_req;

#define QV_RESP_MAX_HEADERS 6

/* An extra response header; name and value must live until the response is sent
 * (string literals or embedded assets). */
typedef struct qv_resp_header {
    const char *name, *value;
} qv_resp_header;

typedef struct qv_resp {
    int status;               /* 0: 200 */
    const char *content_type; /* NULL: application/json */
    qv_buf body;
    qv_error err;
    qv_resp_header headers[QV_RESP_MAX_HEADERS]; /* extra headers; unused slots: name NULL */
} qv_resp;

typedef qv_err (*qv_handler)(qv_req *req, qv_resp *resp);

enum {
    QV_ROUTE_JSON = 1u << 0, /* POST body parsed as a JSON object into req->doc */
    QV_ROUTE_ROWS = 1u << 1, /* as JSON, except the top-level "data" array, left as text
                                (data_off/data_len) for the row codec's fast scanner */
    QV_ROUTE_PUBLIC = 1u << 2,  /* no credentials, not counted by admission (probes, spec, UI) */
    QV_ROUTE_METRICS = 1u << 3, /* credentials only with auth.protect_metrics; no admission */
    QV_ROUTE_INTERNAL = 1u << 4, /* /internal/v1/: peers only (X-Quiver-Peer), raw body, no
                                    client credentials, no admission */
    QV_ROUTE_DDL = 1u << 5,      /* changes the catalog: run by the cluster's leader, which
                                    replicates the catalog to every live peer */
    QV_ROUTE_BROADCAST = 1u << 6, /* run on every live peer (flush, compact) */
    QV_ROUTE_LEADER = 1u << 7,    /* run by the cluster's leader, state kept there (import jobs) */
};

typedef struct qv_route {
    const char *method;
    const char *path; /* exact path; also the metrics label */
    qv_handler fn;
    unsigned flags;
    qv_auth_obj obj;       /* what privilege applies to (Milvus's object type) */
    const char *privilege; /* Milvus's privilege name; NULL: any authenticated user */
} qv_route;

/* The route for method+path, or NULL; *path_known tells whether the path exists
 * with another method (405 rather than 404). */
const qv_route *qv_api_route_find(const char *method, const char *path, bool *path_known);
/* Every route, NULL-terminated by a zero entry (for docs and tests). */
const qv_route *qv_api_routes(void);

/* Whether a request to r must carry credentials (auth enabled, route not public). */
bool qv_api_route_needs_auth(const qv_route *r, const qv_node *node);
/* Run a route's handler: parse the JSON body when the route wants one, check the
 * privilege the route needs (QV_EDENIED), call it. */
qv_err qv_api_dispatch(const qv_route *r, qv_req *req, qv_resp *resp);
/* Whether the request's deadline has passed. */
bool qv_req_expired(const qv_req *req);
uint64_t qv_now_ns(void);

#endif
