/* SPDX-License-Identifier: Apache-2.0 */
/* server.c - the HTTP server (workers and acceptor in listener.c) and the request
 * life cycle: first callback (limits, request id, preflight), upload chunks
 * (streamed into the body buffer or discarded past the limit), final callback
 * (decode, route, handler, envelope, metrics, access log). */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_int.h"
#include "quiver/alloc.h"
#include "quiver/crypto.h"
#include "quiver/log.h"

#define TLS_FILE_MAX (1u << 20)

/* X-Request-Id from the client when sane (printable, ≤64), else generated. */
static void pick_request_id(struct MHD_Connection *c, http_conn *hc)
{
    const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    size_t n = given ? strlen(given) : 0;
    bool ok = n > 0 && n < sizeof hc->request_id;

    for (size_t i = 0; ok && i < n; i++)
        ok = given[i] > 0x20 && given[i] < 0x7f && given[i] != '"' && given[i] != '\\';
    if (ok) {
        memcpy(hc->request_id, given, n + 1);
        return;
    }
    snprintf(hc->request_id, sizeof hc->request_id, "%.40s-%llx", hc->srv->node->node_id,
             (unsigned long long)atomic_fetch_add(&hc->srv->next_request_id, 1));
}

static const char *header_lookup(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

/* Request-Timeout: seconds (decimals allowed), else the configured default. */
static uint64_t request_deadline(struct MHD_Connection *c, const http_conn *hc)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Request-Timeout");
    double seconds = (double)hc->srv->node->cfg->server_request_timeout_ms / 1000.0;
    char *end;

    if (v && *v) {
        double s = strtod(v, &end);
        if (end != v && *end == '\0' && s > 0 && s < 86400)
            seconds = s;
    }
    return hc->start_ns + (uint64_t)(seconds * 1e9);
}

static void record(http_conn *hc, const char *route, int status)
{
    qv_node *n = hc->srv->node;
    char code[8];
    const char *labels[2] = {route, code};
    double secs = (double)(qv_now_ns() - hc->start_ns) / 1e9;

    snprintf(code, sizeof code, "%d", status);
    qv_series_add(qv_metric_series(n->m.http_requests, labels), 1);
    qv_series_observe(qv_metric_series(n->m.http_duration, &route), secs);
}

static qv_err run_route(struct MHD_Connection *c, http_conn *hc, const char *method,
                        const char *url, qv_resp *resp, const char **route_label)
{
    qv_node *n = hc->srv->node;
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    qv_req req = {.node = n, .method = method, .path = url, .header = header_lookup,
                  .header_ctx = c, .request_id = hc->request_id, .start_ns = hc->start_ns,
                  .user = hc->authed ? hc->user : NULL};
    bool path_known;
    const qv_route *r = qv_api_route_find(method, url, &path_known);
    qv_err rc;

    if (!r) {
        if (path_known)
            return qv_error_set(&resp->err, QV_EMETHOD, "method %s not allowed on %s", method, url);
        return qv_error_set(&resp->err, QV_ENOROUTE, "path %s not found", url);
    }
    *route_label = r->path;
    if ((rc = http_body_decode(hc, enc, n->cfg->server_body_limit_bytes, &resp->err)) != QV_OK)
        return rc;
    qv_buf_put(&hc->body, "", 0); /* NUL-terminate */
    req.body = hc->body.data ? (const char *)hc->body.data : "";
    req.body_len = hc->body.len;
    req.deadline_ns = request_deadline(c, hc);
    rc = qv_api_dispatch(r, &req, resp);
    qv_jdoc_free(req.doc);
    if (rc == QV_OK && qv_req_expired(&req))
        rc = qv_error_set(&resp->err, QV_ETIMEDOUT, "request timeout");
    return rc;
}

/* Whether body bytes may follow the headers (then a refusal closes the connection). */
static bool body_pending(struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    return (cl && strtoull(cl, NULL, 10) > 0) ||
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
}

static enum MHD_Result finish(struct MHD_Connection *c, http_conn *hc, const char *method,
                              const char *url)
{
    const char *route = "unmatched";
    qv_resp resp = {0};
    qv_err rc;
    enum MHD_Result ret;
    bool close = hc->too_big;

    qv_log_set_request_id(hc->request_id);
    if (hc->refused != QV_OK) {
        rc = hc->refused;
        resp.err = hc->refused_err;
        route = hc->route ? hc->route->path : route;
        close = body_pending(c);
    } else if (hc->too_big) {
        qv_series_add(qv_metric_default(hc->srv->node->m.http_body_rejected), 1);
        rc = qv_error_set(&resp.err, QV_ETOOBIG,
                          "request body exceeds the limit of %llu bytes (server.body_limit_bytes)",
                          (unsigned long long)hc->srv->node->cfg->server_body_limit_bytes);
    } else {
        rc = run_route(c, hc, method, url, &resp, &route);
        close = hc->too_big;
    }
    if (rc != QV_OK)
        http_render_error(hc->srv, &resp, rc);
    if (!resp.status)
        resp.status = 200;
    record(hc, route, resp.status);
    qv_log_write(rc == QV_OK || rc == QV_ENOROUTE ? QV_LOG_DEBUG : QV_LOG_INFO, "http",
                 "%s %s %d %s %.3fms", method, url, resp.status,
                 rc == QV_OK ? "ok" : qv_err_name(rc), (double)(qv_now_ns() - hc->start_ns) / 1e6);
    ret = http_send(c, hc, &resp, close);
    hc->answered = true;
    qv_buf_fini(&resp.body);
    qv_log_set_request_id(NULL);
    return ret;
}

static http_conn *begin(qv_http_server *s, struct MHD_Connection *c)
{
    http_conn *hc = qv_calloc(1, sizeof *hc);

    if (!hc)
        return NULL;
    hc->srv = s;
    hc->start_ns = qv_now_ns();
    qv_buf_init(&hc->body);
    pick_request_id(c, hc);
    atomic_fetch_add(&s->inflight, 1);
    qv_series_add(qv_metric_default(s->node->m.http_inflight), 1);
    return hc;
}

/* Admission: at most server.max_inflight requests at once, each holding its slot from
 * its headers to its completion (upload, handler, response), so queued work and body
 * memory stay bounded. Beyond it Milvus's rate-limit answer comes at once (1807; HTTP
 * 200, or 429 with strict statuses). Probes, the spec, the console and /metrics are
 * exempt so that an overloaded node still reports on itself. */
static qv_err admit(qv_http_server *s, http_conn *hc)
{
    qv_node *n = s->node;
    int64_t max = n->cfg->server_max_inflight;

    if (hc->route && (hc->route->flags & (QV_ROUTE_PUBLIC | QV_ROUTE_METRICS | QV_ROUTE_INTERNAL)))
        return QV_OK;
    if (atomic_fetch_add(&s->admitted, 1) >= max) {
        atomic_fetch_sub(&s->admitted, 1);
        qv_series_add(qv_metric_default(n->m.http_admission_rejected), 1);
        return qv_error_set(&hc->refused_err, QV_EBUSY,
                            "request is rejected by limiter, error: rate limit exceeded: %lld "
                            "requests in flight (server.max_inflight)", (long long)max);
    }
    hc->admitted = true;
    return QV_OK;
}

/* Credentials, from the headers alone, before any body byte is read. Unknown paths stay
 * 404 without credentials, as in Milvus's router; the privilege check (403) runs once the
 * body names its object (api_authorize). */
static qv_err authenticate(struct MHD_Connection *c, http_conn *hc)
{
    qv_node *n = hc->srv->node;
    const char *reason = "unauthenticated";
    qv_err rc;

    if (!hc->route || !qv_api_route_needs_auth(hc->route, n))
        return QV_OK;
    rc = qv_auth_authenticate(n->auth,
                              MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
                              hc->user, sizeof hc->user, &hc->refused_err);
    if (rc != QV_OK) {
        qv_series_add(qv_metric_series(n->m.auth_failures, &reason), 1);
        return rc;
    }
    hc->authed = true;
    return QV_OK;
}

/* A declared Content-Length past the limit is refused before any byte is read. */
static bool declared_too_big(struct MHD_Connection *c, uint64_t limit)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    return cl && strtoull(cl, NULL, 10) > limit;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    qv_http_server *s = cls;
    http_conn *hc = *con_cls;
    uint64_t limit = s->node->cfg->server_body_limit_bytes;

    (void)version;
    if (!hc) {
        http_sock_mark(c, true); /* headers complete: not a slow sender */
        if (!(hc = *con_cls = begin(s, c)))
            return MHD_NO;
        if (strcmp(method, "OPTIONS") == 0)
            return http_send_preflight(c, hc);
        hc->route = qv_api_route_find(method, url, &(bool){false});
        if ((hc->refused = admit(s, hc)) != QV_OK)
            return finish(c, hc, method, url);
        if (declared_too_big(c, limit)) {
            hc->too_big = true;
            return finish(c, hc, method, url);
        }
        if ((hc->refused = authenticate(c, hc)) != QV_OK)
            return finish(c, hc, method, url);
        return MHD_YES;
    }
    if (hc->answered) { /* refused at the first callback: discard what still arrives */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        http_body_append(hc, upload_data, *upload_data_size, limit);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return finish(c, hc, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    qv_http_server *s = cls;
    http_conn *hc = *con_cls;

    (void)toe;
    http_sock_mark(c, false);
    if (!hc)
        return;
    if (hc->admitted)
        atomic_fetch_sub(&s->admitted, 1);
    qv_buf_fini(&hc->body);
    qv_free(hc);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
    qv_series_add(qv_metric_default(s->node->m.http_inflight), -1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    qv_log_debug("mhd", "%s", msg);
}

static qv_err resolve_listen(const char *listen, struct sockaddr_storage *ss, bool *ipv6,
                             qv_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res = NULL;
    char host[256], port_text[8];
    uint16_t port;
    qv_err rc;
    int grc;

    if ((rc = qv_config_split_listen(listen, host, sizeof host, &port, err)) != QV_OK)
        return rc;
    snprintf(port_text, sizeof port_text, "%u", port);
    if ((grc = getaddrinfo(host, port_text, &hints, &res)) != 0)
        return qv_error_set(err, QV_EINVAL, "cannot resolve listen address %s: %s", listen,
                            gai_strerror(grc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return QV_OK;
}

/* HTTPS when server.tls_cert_file and server.tls_key_file are set: their PEM text is
 * read through qv_io and handed to libmicrohttpd (GnuTLS), TLS 1.2 and 1.3 only. */
static qv_err load_tls(qv_http_server *s, const qv_config *cfg, qv_error *err)
{
    bool cert = cfg->server_tls_cert_file[0], key = cfg->server_tls_key_file[0];
    void *data = NULL;
    size_t len = 0;
    qv_err rc;

    if (!cert && !key)
        return QV_OK;
    if (!cert || !key)
        return qv_error_set(err, QV_EINVAL, "server.tls_cert_file and server.tls_key_file go "
                            "together (HTTPS needs both)");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return qv_error_set(err, QV_EUNAVAIL, "this libmicrohttpd was built without TLS");
    if ((rc = qv_io_read_file(s->node->io, cfg->server_tls_cert_file, TLS_FILE_MAX, &data, &len,
                              err)) != QV_OK)
        return rc;
    s->tls_cert = data;
    if ((rc = qv_io_read_file(s->node->io, cfg->server_tls_key_file, TLS_FILE_MAX, &data, &len,
                              err)) != QV_OK)
        return rc;
    s->tls_key = data;
    s->tls_key_len = len;
    return QV_OK;
}

static void free_server(qv_http_server *s)
{
    if (s->tls_key)
        qv_crypto_wipe(s->tls_key, s->tls_key_len);
    qv_free(s->tls_key);
    qv_free(s->tls_cert);
    pthread_cond_destroy(&s->reaper_cv);
    pthread_mutex_destroy(&s->socks_mu);
    qv_free(s);
}

qv_err qv_http_start(qv_node *node, qv_http_server **out, qv_error *err)
{
    const qv_config *cfg = node->cfg;
    struct sockaddr_storage ss;
    qv_http_server *s;
    bool ipv6 = false;
    /* a cluster node's handlers wait on peers: more workers than cores keep one free */
    unsigned threads = cfg->server_threads > 0 ? (unsigned)cfg->server_threads
                                               : (unsigned)sysconf(_SC_NPROCESSORS_ONLN) *
                                                     (node->cluster ? 4 : 1);
    qv_err rc;

    if ((rc = resolve_listen(cfg->server_listen, &ss, &ipv6, err)) != QV_OK)
        return rc;
    if (!(s = qv_calloc(1, sizeof *s)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    s->node = node;
    s->listen_fd = -1;
    atomic_init(&s->inflight, 0);
    atomic_init(&s->admitted, 0);
    atomic_init(&s->next_request_id, 1);
    pthread_mutex_init(&s->socks_mu, NULL);
    pthread_cond_init(&s->reaper_cv, NULL);
    if ((rc = load_tls(s, cfg, err)) != QV_OK) {
        free_server(s);
        return rc;
    }
    struct MHD_OptionItem tls[] = {
        {s->tls_key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->tls_key},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
        {MHD_OPTION_END, 0, NULL},
    };
    http_listen_opts lo = {
        .addr = &ss, .ipv6 = ipv6, .listen_text = cfg->server_listen,
        .workers = threads ? threads : 1u, .max_connections = (unsigned)cfg->server_max_connections,
        .idle_timeout_s = (unsigned)cfg->server_idle_timeout_s,
        .flags = MHD_USE_ERROR_LOG | MHD_USE_TURBO | (ipv6 ? MHD_USE_IPv6 : 0) |
                 (s->tls_key ? MHD_USE_TLS : 0),
        .tls = tls, .on_request = on_request, .on_completed = on_completed, .on_log = on_mhd_log};
    if ((rc = http_listener_start(s, &lo, err)) != QV_OK) {
        free_server(s);
        return rc;
    }
    qv_log_info("http", "listening on %s (%s, port %u, %u threads, body limit %llu bytes, at most "
                "%lld requests in flight)", cfg->server_listen, s->tls_key ? "https" : "http",
                s->port, threads, (unsigned long long)cfg->server_body_limit_bytes,
                (long long)cfg->server_max_inflight);
    *out = s;
    return QV_OK;
}

uint16_t qv_http_port(const qv_http_server *s) { return s->port; }

int qv_http_drain(qv_http_server *s, int timeout_ms)
{
    int waited = 0, left;

    http_listener_quiesce(s);
    while ((left = atomic_load(&s->inflight)) > 0 && waited < timeout_ms) {
        usleep(10000);
        waited += 10;
    }
    return left;
}

void qv_http_stop(qv_http_server *s)
{
    if (!s)
        return;
    http_listener_stop(s);
    free_server(s);
}
