/* SPDX-License-Identifier: Apache-2.0 */
/* probe.c - a minimal HTTP/1.0 GET for `quiverd healthcheck` (no libcurl needed), over
 * TLS when the node serves HTTPS (common/tls_client.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "quiver/config.h"
#include "quiver/crypto.h"
#include "quiver/http.h"

static qv_err connect_to(const char *host, uint16_t port, int timeout_ms, int *fd_out,
                         qv_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port_text[8];
    int fd, grc;
    struct pollfd pfd;

    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !*host)
        host = strchr(host, ':') ? "::1" : "127.0.0.1";
    snprintf(port_text, sizeof port_text, "%u", port);
    if ((grc = getaddrinfo(host, port_text, &hints, &res)) != 0)
        return qv_error_set(err, QV_EUNAVAIL, "resolve %s: %s", host, gai_strerror(grc));
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS)) {
        freeaddrinfo(res);
        if (fd >= 0)
            close(fd);
        return qv_error_sys(err, QV_EUNAVAIL, errno, "connect %s:%u", host, port);
    }
    freeaddrinfo(res);
    pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
    if (poll(&pfd, 1, timeout_ms) != 1 || (pfd.revents & (POLLERR | POLLHUP))) {
        close(fd);
        return qv_error_set(err, QV_EUNAVAIL, "connect %s:%u: refused or timed out", host, port);
    }
    *fd_out = fd;
    return QV_OK;
}

/* Blocking I/O bounded by timeout_ms per call, as the TLS client needs. */
static void make_blocking(int fd, int timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Send req and read up to cap-1 bytes of the answer into resp; returns the count. */
static size_t exchange(int fd, qv_tls_conn *tls, const char *req, size_t n, char *resp,
                       size_t cap)
{
    size_t got = 0;

    if ((tls ? qv_tls_write(tls, req, n) : write(fd, req, n)) != (ssize_t)n)
        return 0;
    while (got < cap - 1) {
        ssize_t r = tls ? qv_tls_read(tls, resp + got, cap - 1 - got)
                        : read(fd, resp + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    resp[got] = '\0';
    return got;
}

qv_err qv_http_probe(const char *listen, const char *path, int timeout_ms,
                     const char *tls_trust_file, qv_error *err)
{
    char host[256], req[512], resp[64] = {0};
    uint16_t port;
    size_t got;
    int fd = -1, n;
    qv_tls_conn *tls = NULL;
    qv_err rc;

    if ((rc = qv_config_split_listen(listen, host, sizeof host, &port, err)) != QV_OK ||
        (rc = connect_to(host, port, timeout_ms, &fd, err)) != QV_OK)
        return rc;
    make_blocking(fd, timeout_ms);
    if (tls_trust_file && (rc = qv_tls_connect(fd, NULL, tls_trust_file, &tls, err)) != QV_OK) {
        close(fd);
        qv_error_prefix(err, "%s: ", listen);
        return rc;
    }
    n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
    got = exchange(fd, tls, req, (size_t)n, resp, sizeof resp);
    qv_tls_close(tls);
    close(fd);
    if (strncmp(resp, "HTTP/1.", 7) != 0 || strncmp(resp + 8, " 200", 4) != 0)
        return qv_error_set(err, QV_EUNAVAIL, "%s%s answered: %.12s", listen, path,
                            got ? resp : "nothing");
    return QV_OK;
}
