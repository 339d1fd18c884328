/* SPDX-License-Identifier: Apache-2.0 */
/* tls_client.c - a minimal TLS client (libssl) for `quiverd healthcheck` against a node
 * serving HTTPS. One connection, blocking I/O; the caller bounds it with socket
 * timeouts. Peers talking HTTPS to each other will use libcurl (httpc/) instead. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "quiver/alloc.h"
#include "quiver/crypto.h"

struct qv_tls_conn {
    SSL_CTX *ctx;
    SSL *ssl;
};

static qv_err tls_error(qv_error *err, const char *what)
{
    char detail[200];

    ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
    ERR_clear_error();
    return qv_error_set(err, QV_EUNAVAIL, "TLS %s: %s", what, detail);
}

static qv_err setup_ctx(SSL_CTX *ctx, const char *trust_pem_file, qv_error *err)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        return tls_error(err, "minimum version");
    if (!trust_pem_file || !*trust_pem_file) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return QV_OK;
    }
    if (SSL_CTX_load_verify_locations(ctx, trust_pem_file, NULL) != 1)
        return tls_error(err, "load trust file");
    /* the configured certificate itself may be the anchor (self-signed or a leaf) */
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return QV_OK;
}

qv_err qv_tls_connect(int fd, const char *server_name, const char *trust_pem_file,
                      qv_tls_conn **out, qv_error *err)
{
    qv_tls_conn *c = qv_calloc(1, sizeof *c);
    qv_err rc = QV_OK;

    if (!c)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    if (!(c->ctx = SSL_CTX_new(TLS_client_method()))) {
        rc = tls_error(err, "context");
        goto fail;
    }
    if ((rc = setup_ctx(c->ctx, trust_pem_file, err)) != QV_OK)
        goto fail;
    if (!(c->ssl = SSL_new(c->ctx)) || SSL_set_fd(c->ssl, fd) != 1) {
        rc = tls_error(err, "session");
        goto fail;
    }
    if (server_name && *server_name)
        SSL_set_tlsext_host_name(c->ssl, server_name);
    if (SSL_connect(c->ssl) != 1) {
        long v = SSL_get_verify_result(c->ssl);
        if (v != X509_V_OK) {
            ERR_clear_error();
            rc = qv_error_set(err, QV_EUNAVAIL, "TLS handshake: certificate not trusted (%s)",
                              X509_verify_cert_error_string(v));
        } else {
            rc = tls_error(err, "handshake");
        }
        goto fail;
    }
    *out = c;
    return QV_OK;
fail:
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    qv_free(c);
    return rc;
}

ssize_t qv_tls_write(qv_tls_conn *c, const void *p, size_t n)
{
    size_t done = 0;

    if (n > INT32_MAX)
        return -1;
    if (SSL_write_ex(c->ssl, p, n, &done) != 1) {
        ERR_clear_error();
        return -1;
    }
    return (ssize_t)done;
}

ssize_t qv_tls_read(qv_tls_conn *c, void *p, size_t n)
{
    size_t got = 0;

    if (SSL_read_ex(c->ssl, p, n, &got) == 1)
        return (ssize_t)got;
    int e = SSL_get_error(c->ssl, 0);
    ERR_clear_error();
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

void qv_tls_close(qv_tls_conn *c)
{
    if (!c)
        return;
    if (c->ssl)
        SSL_shutdown(c->ssl);
    ERR_clear_error();
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    qv_free(c);
}
