/* SPDX-License-Identifier: Apache-2.0 */
/* listener.c - the listen socket, an acceptor thread, and one libmicrohttpd daemon (with
 * its own epoll thread) per HTTP worker.
 *
 * libmicrohttpd's own thread pool lets every worker poll the listen socket, and the one
 * that wakes first accepts the whole burst of pending connections and keeps them for their
 * lifetime: 4 keep-alive clients often all landed on one worker, leaving the other core
 * idle. Here one thread accepts and hands each connection to the worker with the fewest
 * open connections (MHD_add_connection); a request is still served entirely on the worker
 * that owns its connection. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

#define LISTEN_BACKLOG 1024

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    http_worker *w = cls;

    (void)c;
    (void)ctx;
    atomic_fetch_add(&w->conns, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
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
    if (!(s->workers = qv_calloc(o->workers, sizeof *s->workers))) {
        http_listener_stop(s);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    for (unsigned i = 0; i < o->workers; i++) {
        http_worker *w = &s->workers[i];
        atomic_init(&w->conns, 0);
        w->daemon = MHD_start_daemon(
            o->flags | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                MHD_USE_ITC,
            0, NULL, NULL, o->on_request, s,
            MHD_OPTION_ARRAY, o->tls,
            MHD_OPTION_CONNECTION_LIMIT, per_worker ? per_worker : 1u,
            MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s,
            MHD_OPTION_NOTIFY_COMPLETED, o->on_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
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
    close(s->listen_fd);
    s->listen_fd = -1;
}

void http_listener_stop(qv_http_server *s)
{
    http_listener_quiesce(s);
    for (unsigned i = 0; i < s->nworkers; i++)
        MHD_stop_daemon(s->workers[i].daemon);
    qv_free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
}
