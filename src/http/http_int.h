/* SPDX-License-Identifier: Apache-2.0 */
/* http_int.h - shared between the server's files. */
#ifndef QUIVER_HTTP_INT_H
#define QUIVER_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "quiver/api.h"
#include "quiver/http.h"

/* One HTTP worker: a libmicrohttpd daemon with its own epoll thread. */
typedef struct http_worker {
    struct MHD_Daemon *daemon;
    atomic_int conns; /* open connections */
} http_worker;

struct qv_http_server {
    qv_node *node;
    http_worker *workers; /* listener.c */
    unsigned nworkers;
    atomic_uint next_worker;
    int listen_fd;
    pthread_t acceptor;
    bool acceptor_running;
    atomic_bool accept_stop;
    uint16_t port;
    atomic_int inflight;          /* every request, for the drain */
    atomic_int admitted;          /* requests counted against server.max_inflight */
    atomic_uint_fast64_t next_request_id;
    char *tls_cert, *tls_key;     /* PEM text handed to MHD (HTTPS), or NULL */
    size_t tls_key_len;
    /* listener.c: every open connection, for the reaper of slow header senders */
    pthread_mutex_t socks_mu;     /* guards socks; held while a socket is shut down */
    struct http_sock *socks;
    atomic_int nsocks;
    unsigned max_connections, idle_timeout_s;
    pthread_t reaper;
    bool reaper_running;
    pthread_cond_t reaper_cv;     /* with socks_mu: wakes the reaper to stop */
    void *sock_ctxs;              /* per worker: its connection notices' context */
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

/* listener.c: the listen socket, an acceptor thread handing each connection to the
 * worker with the fewest, and the workers. */
typedef struct http_listen_opts {
    const struct sockaddr_storage *addr;
    bool ipv6;
    const char *listen_text;  /* for messages */
    unsigned workers, max_connections, idle_timeout_s;
    unsigned flags;           /* extra MHD flags (TLS, turbo, error log) */
    struct MHD_OptionItem *tls;
    MHD_AccessHandlerCallback on_request;
    MHD_RequestCompletedCallback on_completed;
    MHD_LogCallback on_log;
} http_listen_opts;

qv_err http_listener_start(qv_http_server *s, const http_listen_opts *o, qv_error *err);
/* A request of connection c has its headers (busy) or was answered (idle from now on):
 * connections idle past server.idle_timeout_s, or past a second while connections run
 * short, are closed by the reaper (slow-loris senders never finish their headers). */
void http_sock_mark(struct MHD_Connection *c, bool busy);
void http_listener_quiesce(qv_http_server *s); /* stop accepting; open connections go on */
void http_listener_stop(qv_http_server *s);

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
