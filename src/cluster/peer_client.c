/* SPDX-License-Identifier: Apache-2.0 */
/* peer_client.c - parallel requests to peers over libcurl multi, one multi handle per
 * thread.
 *
 * Every call opens a fresh connection. libmicrohttpd's thread pool pins a keep-alive
 * connection to the worker thread that accepted it, so a reused connection waits for that
 * thread: while it serves a long request, and forever when that request waits on us (node
 * A's handler calls B over a connection pinned to B's thread T, which is itself waiting on
 * A). A new connection is accepted by whichever worker is free. Loopback connects cost
 * tens of microseconds. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "cluster/cluster_int.h"
#include "quiver/alloc.h"
#include "quiver/metrics.h"

#define MAX_RESPONSE_BYTES ((size_t)1 << 30)

static _Thread_local CURLM *tl_multi;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    qv_peer_call *call = ctx;
    size_t len = size * n;

    if (call->resp.len + len > MAX_RESPONSE_BYTES)
        return 0; /* fails the transfer */
    qv_buf_put(&call->resp, p, len);
    return call->resp.failed ? 0 : len;
}

typedef struct prepared {
    CURL *easy;
    struct curl_slist *headers;
} prepared;

static bool prepare(qv_cluster *c, CURLM *m, qv_peer_call *call, int timeout_ms, prepared *out)
{
    char url[512], auth[QV_PEER_AUTH_MAX + 32], type[128];
    bool post = strcmp(call->method, "POST") == 0;

    memset(out, 0, sizeof *out);
    if (!(out->easy = curl_easy_init()))
        return false;
    snprintf(url, sizeof url, "%s%s", c->peers[call->peer].url, call->path);
    strcpy(auth, QV_PEER_HEADER ": ");
    qv_cluster_sign(c, call->method, call->path, call->body, call->len, auth + strlen(auth));
    snprintf(type, sizeof type, "Content-Type: %s",
             call->content_type ? call->content_type : "application/octet-stream");
    out->headers = curl_slist_append(out->headers, auth);
    out->headers = curl_slist_append(out->headers, type);
    out->headers = curl_slist_append(out->headers, "Expect:");
    if (call->header)
        out->headers = curl_slist_append(out->headers, call->header);
    curl_easy_setopt(out->easy, CURLOPT_URL, url);
    curl_easy_setopt(out->easy, CURLOPT_HTTPHEADER, out->headers);
    curl_easy_setopt(out->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(out->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(out->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(out->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(out->easy, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(out->easy, CURLOPT_PRIVATE, call);
    curl_easy_setopt(out->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(out->easy, CURLOPT_FRESH_CONNECT, 1L);
    if (!strncmp(url, "https://", 8) && c->ca_file[0])
        curl_easy_setopt(out->easy, CURLOPT_CAINFO, c->ca_file); /* host names checked too */
    curl_easy_setopt(out->easy, CURLOPT_FORBID_REUSE, 1L);
    if (post) {
        curl_easy_setopt(out->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(out->easy, CURLOPT_POSTFIELDS, call->body ? call->body : "");
        curl_easy_setopt(out->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->len);
    }
    return curl_multi_add_handle(m, out->easy) == CURLM_OK;
}

static void collect(CURLM *m)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(m, &left))) {
        qv_peer_call *call = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &call->status);
        call->ok = msg->data.result == CURLE_OK;
        snprintf(call->error, sizeof call->error, "%s",
                 call->ok ? "" : curl_easy_strerror(msg->data.result));
    }
}

struct qv_peer_batch {
    qv_cluster *c;
    qv_peer_call *calls;
    size_t n;
    uint64_t start_ns;
    prepared p[];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* quiver_peer_requests_total{peer,code} and the latency histogram of a finished call. */
static void count_call(qv_cluster *c, const qv_peer_call *call, double seconds)
{
    char code[16];
    const char *labels[2] = {c->peers[call->peer].id, code};

    if (!c->m_requests)
        return;
    if (call->ok)
        snprintf(code, sizeof code, "%ld", call->status);
    else
        snprintf(code, sizeof code, "error");
    qv_series_add(qv_metric_series(c->m_requests, labels), 1);
    qv_series_observe(qv_metric_series(c->m_duration, labels), seconds);
}

qv_peer_batch *qv_cluster_call_begin(qv_cluster *c, qv_peer_call *calls, size_t n,
                                     int timeout_ms)
{
    qv_peer_batch *b = qv_calloc(1, sizeof *b + (n + 1) * sizeof(prepared));
    int running;

    pthread_once(&curl_once, curl_init_once);
    if (!tl_multi)
        tl_multi = curl_multi_init();
    for (size_t i = 0; i < n; i++) {
        qv_buf_init(&calls[i].resp);
        calls[i].ok = false;
        calls[i].status = 0;
        snprintf(calls[i].error, sizeof calls[i].error, "not sent");
        if (!b || !tl_multi || !prepare(c, tl_multi, &calls[i], timeout_ms, &b->p[i]))
            snprintf(calls[i].error, sizeof calls[i].error, "cannot start the request");
    }
    if (b) {
        b->c = c;
        b->calls = calls;
        b->n = n;
        b->start_ns = now_ns();
    }
    if (tl_multi)
        curl_multi_perform(tl_multi, &running); /* connect and send what fits */
    return b;
}

void qv_cluster_call_end(qv_peer_batch *b)
{
    int running = 1;

    if (!b)
        return;
    while (tl_multi && running) {
        if (curl_multi_perform(tl_multi, &running) != CURLM_OK)
            break;
        collect(tl_multi);
        if (running)
            curl_multi_poll(tl_multi, NULL, 0, 100, NULL);
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->p[i].easy) {
            curl_multi_remove_handle(tl_multi, b->p[i].easy);
            curl_easy_cleanup(b->p[i].easy);
        }
        curl_slist_free_all(b->p[i].headers);
        count_call(b->c, &b->calls[i], (double)(now_ns() - b->start_ns) / 1e9);
        /* 401: something answers there, but it does not take us for a peer */
        qv_cluster_mark(b->c, b->calls[i].peer, b->calls[i].ok && b->calls[i].status != 401);
    }
    qv_free(b);
}

void qv_cluster_call(qv_cluster *c, qv_peer_call *calls, size_t n, int timeout_ms)
{
    qv_cluster_call_end(qv_cluster_call_begin(c, calls, n, timeout_ms));
}

void qv_peer_calls_fini(qv_peer_call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qv_buf_fini(&calls[i].resp);
}
