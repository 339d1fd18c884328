/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/crypto.h - the OpenSSL seam (libcrypto, libssl): password hashing, digests,
 * random bytes, constant-time comparison, and a small TLS client for
 * `quiverd healthcheck` against an HTTPS node. No other file includes OpenSSL. */
#ifndef QUIVER_CRYPTO_H
#define QUIVER_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "quiver/err.h"

#define QV_SHA256_BYTES 32

/* PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2) of pw with salt and iterations into out
 * (out_len bytes). QV_EINTERNAL if OpenSSL fails. */
qv_err qv_crypto_pbkdf2_sha256(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
                               uint32_t iterations, uint8_t *out, size_t out_len, qv_error *err);
/* SHA-256 of a || b (b may be NULL with b_len 0). */
void qv_crypto_sha256(const void *a, size_t a_len, const void *b, size_t b_len,
                      uint8_t out[QV_SHA256_BYTES]);
/* HMAC-SHA256 (RFC 2104) of msg under key (any length; S3 SigV4 chains binary keys). */
void qv_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                           uint8_t out[QV_SHA256_BYTES]);
/* n bytes from the OS CSPRNG (RAND_bytes); QV_EINTERNAL when none is available. */
qv_err qv_crypto_random(void *out, size_t n, qv_error *err);
/* Equal without a data-dependent early exit (CRYPTO_memcmp). */
bool qv_crypto_equal(const void *a, const void *b, size_t n);
/* Overwrite n bytes in a way the compiler may not drop (OPENSSL_cleanse). */
void qv_crypto_wipe(void *p, size_t n);

/* --- TLS client over a connected, blocking socket (timeouts via SO_RCVTIMEO) --- */
typedef struct qv_tls_conn qv_tls_conn;
/* Handshake on fd (borrowed; the caller closes it after qv_tls_close). With trust_pem_file
 * the peer's certificate must chain to a certificate of that file, which may be the
 * server's own self-signed one (partial chains are accepted); the host name is not
 * checked (a loopback probe). Without it the peer is not verified. */
qv_err qv_tls_connect(int fd, const char *server_name, const char *trust_pem_file,
                      qv_tls_conn **out, qv_error *err);
/* As write(2)/read(2): bytes moved, 0 at a clean end of stream, -1 on error. */
ssize_t qv_tls_write(qv_tls_conn *c, const void *p, size_t n);
ssize_t qv_tls_read(qv_tls_conn *c, void *p, size_t n);
void qv_tls_close(qv_tls_conn *c); /* sends close_notify; NULL is a no-op */

#endif
