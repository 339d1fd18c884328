/* SPDX-License-Identifier: Apache-2.0 */
/* listener.c - the listen socket, an acceptor thread, and one libmicrohttpd daemon (with
 * its own epoll thread) per HTTP worker.
 *
 * libmicrohttpd's own thread pool lets every worker poll the listen socket, and the one
 * that wakes first accepts the whole burst of pending connections and keeps them for their
 * lifetime: 4 keep-alive clients often all landed on one worker, leaving the other core
 * idle. Here one thread accepts and hands each connection to the worker with the fewest
 * open connections (MHD_add_connection); a request is still served entirely on the worker
 * that owns its connection.
 *
 * SLOW CLIENTS. libmicrohttpd's timeout is an idle timeout: a client sending one header
 * byte a second keeps a connection forever, and enough of them use up
 * server.max_connections (slow-loris). The reaper thread closes (shutdown(2); the worker
 * then drops it) every connection without a request in progress that has been so for
 * longer than server.idle_timeout_s, or for longer than REAP_SHORT_MS once three quarters
 * of the connections are taken. Sockets are shut down with socks_mu held, and a closing
 * connection leaves the list under it before libmicrohttpd closes its descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

#define LISTEN_BACKLOG 1024
#define REAP_TICK_MS 250
#define REAP_SHORT_MS 1000

typedef struct http_sock {
    int fd;
    atomic_bool busy;           /* a request's headers arrived and it is not answered yet */
    _Atomic uint64_t since_ms;  /* when it became idle (accepted, or last answer) */
    struct http_sock *prev, *next;
} http_sock;

typedef struct sock_ctx {
    http_worker *w;
    qv_http_server *s;
} sock_ctx;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    sock_ctx *sc = cls;
    qv_http_server *s = sc->s;
    http_sock *k = *ctx;

    atomic_fetch_add(&sc->w->conns, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
    pthread_mutex_lock(&s->socks_mu);
    if (code == MHD_CONNECTION_NOTIFY_STARTED && (k = qv_calloc(1, sizeof *k)) != NULL) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k->fd = ci ? ci->connect_fd : -1;
        atomic_init(&k->since_ms, mono_ms());
        if ((k->next = s->socks) != NULL)
            k->next->prev = k;
        s->socks = k;
        atomic_fetch_add(&s->nsocks, 1);
        *ctx = k;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && k) {
        if (k->prev)
            k->prev->next = k->next;
        else
            s->socks = k->next;
        if (k->next)
            k->next->prev = k->prev;
        atomic_fetch_sub(&s->nsocks, 1);
        qv_free(k);
        *ctx = NULL;
    }
    pthread_mutex_unlock(&s->socks_mu);
}

void http_sock_mark(struct MHD_Connection *c, bool busy)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    http_sock *k = ci ? ci->socket_context : NULL;

    if (!k)
        return;
    atomic_store(&k->since_ms, mono_ms());
    atomic_store(&k->busy, busy);
}

static void *reaper_main(void *arg)
{
    qv_http_server *s = arg;
    uint64_t reaped = 0;

    pthread_mutex_lock(&s->socks_mu);
    while (!atomic_load(&s->accept_stop)) {
        struct timespec until;
        bool short_ = (unsigned)atomic_load(&s->nsocks) * 4 >= s->max_connections * 3;
        uint64_t now = mono_ms(), limit = short_ ? REAP_SHORT_MS : s->idle_timeout_s * 1000ull;
        for (http_sock *k = s->socks; k; k = k->next) {
            if (k->fd < 0 || atomic_load(&k->busy) || now - atomic_load(&k->since_ms) <= limit)
                continue;
            shutdown(k->fd, SHUT_RDWR); /* the worker sees the end and drops it */
            k->fd = -1;
            reaped++;
        }
        if (reaped && reaped % 100 == 1 && short_)
            qv_log_warn("http", "connections ran short: closed %llu without a request in "
                        "progress so far", (unsigned long long)reaped);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += REAP_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->reaper_cv, &s->socks_mu, &until);
    }
    pthread_mutex_unlock(&s->socks_mu);
    return NULL;
}

static http_worker *least_loaded(qv_http_server *s)
{
    http_worker *best = NULL;
    unsigned start = atomic_fetch_add(&s->next_worker, 1);

    for (unsigned i = 0; i < s->nworkers; i++) { /* from a rotating start: ties alternate */
        http_worker *w = &s->workers[(start + i) % s->nworkers];
        if (!best || atomic_load(&w->conns) < atomic_load(&best->conns))
            best = w;
    }
    return best;
}

static void *acceptor_main(void *arg)
{
    qv_http_server *s = arg;

    while (!atomic_load(&s->accept_stop)) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (atomic_load(&s->accept_stop))
                break;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                usleep(10000); /* out of descriptors: let connections close first */
            else if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
                qv_log_warn("http", "accept: %s", strerror(errno));
            continue;
        }
        /* on failure libmicrohttpd closes the socket itself */
        MHD_add_connection(least_loaded(s)->daemon, fd, (struct sockaddr *)&addr, len);
    }
    return NULL;
}

static qv_err open_socket(qv_http_server *s, const struct sockaddr_storage *ss, bool ipv6,
                          const char *listen_text, qv_error *err)
{
    int one = 1, fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    struct sockaddr_storage bound;

    if (fd < 0)
        return qv_error_sys(err, QV_EUNAVAIL, errno, "socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* not SO_REUSEPORT */
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(fd);
        return qv_error_sys(err, QV_EUNAVAIL, e, "cannot listen on %s", listen_text);
    }
    len = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &len) == 0)
        s->port = ntohs(ipv6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                             : ((struct sockaddr_in *)&bound)->sin_port);
    s->listen_fd = fd;
    return QV_OK;
}

qv_err http_listener_start(qv_http_server *s, const http_listen_opts *o, qv_error *err)
{
    unsigned per_worker = (o->max_connections + o->workers - 1) / o->workers;
    qv_err rc = open_socket(s, o->addr, o->ipv6, o->listen_text, err);

    if (rc != QV_OK)
        return rc;
    s->max_connections = o->max_connections;
    s->idle_timeout_s = o->idle_timeout_s;
    if (!(s->workers = qv_calloc(o->workers, sizeof *s->workers)) ||
        !(s->sock_ctxs = qv_calloc(o->workers, sizeof(sock_ctx)))) {
        http_listener_stop(s);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    for (unsigned i = 0; i < o->workers; i++) {
        http_worker *w = &s->workers[i];
        sock_ctx *sc = &((sock_ctx *)s->sock_ctxs)[i];
        atomic_init(&w->conns, 0);
        *sc = (sock_ctx){.w = w, .s = s};
        w->daemon = MHD_start_daemon(
            o->flags | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                MHD_USE_ITC,
            0, NULL, NULL, o->on_request, s,
            MHD_OPTION_ARRAY, o->tls,
            MHD_OPTION_CONNECTION_LIMIT, per_worker ? per_worker : 1u,
            MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s,
            MHD_OPTION_NOTIFY_COMPLETED, o->on_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, sc,
            MHD_OPTION_EXTERNAL_LOGGER, o->on_log, NULL,
            MHD_OPTION_END);
        if (!w->daemon) {
            http_listener_stop(s);
            return qv_error_set(err, QV_EUNAVAIL,
                                "cannot start HTTP worker %u%s", i,
                                (o->flags & MHD_USE_TLS)
                                    ? " (is server.tls_cert_file/tls_key_file a usable PEM "
                                      "certificate and key pair?)"
                                    : "");
        }
        s->nworkers = i + 1;
    }
    if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0) {
        http_listener_stop(s);
        return qv_error_set(err, QV_EINTERNAL, "cannot start the HTTP acceptor thread");
    }
    s->acceptor_running = true;
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
        http_listener_stop(s);
        return qv_error_set(err, QV_EINTERNAL, "cannot start the HTTP reaper thread");
    }
    s->reaper_running = true;
    return QV_OK;
}

void http_listener_quiesce(qv_http_server *s)
{
    if (s->listen_fd < 0)
        return;
    atomic_store(&s->accept_stop, true);
    shutdown(s->listen_fd, SHUT_RDWR); /* wakes accept4 */
    if (s->acceptor_running)
        pthread_join(s->acceptor, NULL);
    s->acceptor_running = false;
    if (s->reaper_running) {
        pthread_mutex_lock(&s->socks_mu);
        pthread_cond_signal(&s->reaper_cv);
        pthread_mutex_unlock(&s->socks_mu);
        pthread_join(s->reaper, NULL);
    }
    s->reaper_running = false;
    close(s->listen_fd);
    s->listen_fd = -1;
}

void http_listener_stop(qv_http_server *s)
{
    http_listener_quiesce(s);
    for (unsigned i = 0; i < s->nworkers; i++)
        MHD_stop_daemon(s->workers[i].daemon);
    qv_free(s->workers);
    qv_free(s->sock_ctxs);
    s->workers = NULL;
    s->sock_ctxs = NULL;
    s->nworkers = 0;
}
