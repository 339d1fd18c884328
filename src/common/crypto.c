/* SPDX-License-Identifier: Apache-2.0 */
/* crypto.c - password hashing, digests and randomness over libcrypto (OpenSSL 3).
 * See quiver/crypto.h; the TLS client is in tls_client.c. */
#include "quiver/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static qv_err openssl_error(qv_error *err, const char *what)
{
    char detail[160];

    ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
    ERR_clear_error();
    return qv_error_set(err, QV_EINTERNAL, "%s failed: %s", what, detail);
}

qv_err qv_crypto_pbkdf2_sha256(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
                               uint32_t iterations, uint8_t *out, size_t out_len, qv_error *err)
{
    if (pw_len > INT32_MAX || salt_len > INT32_MAX || out_len > INT32_MAX || iterations == 0 ||
        iterations > INT32_MAX)
        return qv_error_set(err, QV_EINTERNAL, "PBKDF2 arguments out of range");
    if (PKCS5_PBKDF2_HMAC(pw_len ? pw : "", (int)pw_len, salt, (int)salt_len, (int)iterations,
                          EVP_sha256(), (int)out_len, out) != 1)
        return openssl_error(err, "PBKDF2-HMAC-SHA256");
    return QV_OK;
}

void qv_crypto_sha256(const void *a, size_t a_len, const void *b, size_t b_len,
                      uint8_t out[QV_SHA256_BYTES])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;

    /* Only allocation can fail here; a zero digest then matches nothing we stored. */
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, a, a_len) != 1 || (b_len && EVP_DigestUpdate(ctx, b, b_len) != 1) ||
        EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != QV_SHA256_BYTES) {
        OPENSSL_cleanse(out, QV_SHA256_BYTES);
        ERR_clear_error();
    }
    EVP_MD_CTX_free(ctx);
}

void qv_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                           uint8_t out[QV_SHA256_BYTES])
{
    unsigned int n = 0;

    /* as for qv_crypto_sha256: only allocation fails, and a zero MAC matches nothing */
    if (key_len > INT32_MAX ||
        !HMAC(EVP_sha256(), key_len ? key : "", (int)key_len, msg_len ? msg : (const void *)"",
              msg_len, out, &n) ||
        n != QV_SHA256_BYTES) {
        OPENSSL_cleanse(out, QV_SHA256_BYTES);
        ERR_clear_error();
    }
}

qv_err qv_crypto_random(void *out, size_t n, qv_error *err)
{
    if (n > INT32_MAX || RAND_bytes(out, (int)n) != 1)
        return openssl_error(err, "RAND_bytes");
    return QV_OK;
}

bool qv_crypto_equal(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

void qv_crypto_wipe(void *p, size_t n) { OPENSSL_cleanse(p, n); }
