/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/http.h - the HTTP/1.1 server (libmicrohttpd, epoll, thread pool):
 * body limits, gzip, CORS, request ids, timeouts, error envelopes, metrics.
 * Each request is served on the worker thread that received it. */
#ifndef QUIVER_HTTP_H
#define QUIVER_HTTP_H

#include <stdint.h>

#include "quiver/err.h"
#include "quiver/node.h"

typedef struct qv_http_server qv_http_server;

/* Listen on node->cfg->server_listen and serve; port 0 picks a free port. */
qv_err qv_http_start(qv_node *node, qv_http_server **out, qv_error *err);
uint16_t qv_http_port(const qv_http_server *s);
/* Stop accepting connections and wait up to timeout_ms for in-flight requests;
 * returns how many were still running. */
int qv_http_drain(qv_http_server *s, int timeout_ms);
void qv_http_stop(qv_http_server *s); /* NULL is a no-op */

/* GET path from listen ("HOST:PORT"; a wildcard host probes loopback) with a
 * timeout; QV_OK when it answers 200. For `quiverd healthcheck`. With tls_trust_file the
 * probe speaks HTTPS and trusts the certificate(s) of that PEM file (the node's own
 * server.tls_cert_file); NULL: plain HTTP. */
qv_err qv_http_probe(const char *listen, const char *path, int timeout_ms,
                     const char *tls_trust_file, qv_error *err);

#endif
