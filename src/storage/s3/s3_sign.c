/* SPDX-License-Identifier: Apache-2.0 */
/* s3_sign.c - AWS Signature Version 4 ("Authenticating Requests: Using the Authorization
 * Header", S3 API reference), over SHA-256 and HMAC-SHA256 of quiver/crypto.h:
 *
 *   CanonicalRequest = method \n uri \n query \n (name:value \n)* \n signed-headers \n
 *                      hex(SHA-256(payload))
 *   StringToSign     = "AWS4-HMAC-SHA256" \n amz-date \n date/region/service/aws4_request \n
 *                      hex(SHA-256(CanonicalRequest))
 *   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 *                      "aws4_request")
 *   Authorization    = AWS4-HMAC-SHA256 Credential=key/scope,SignedHeaders=...,
 *                      Signature=hex(HMAC(SigningKey, StringToSign))
 *
 * Header names are lowercased and sorted, values trimmed with inner runs of spaces
 * folded; query parameters are URI-encoded and sorted by name. tests/unit/test_s3.c checks
 * this against the worked examples AWS publishes for S3. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/crypto.h"
#include "quiver/s3.h"

#define MAX_SIGNED_HEADERS 32

static void hex_lower(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

void qv_s3_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t d[QV_SHA256_BYTES];

    qv_crypto_sha256(len ? data : "", len, NULL, 0, d);
    hex_lower(d, sizeof d, out);
}

void qv_s3_uri_encode(const char *s, bool keep_slash, qv_buf *out)
{
    static const char digits[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            qv_buf_put_u8(out, *p);
        } else {
            char esc[3] = {'%', digits[*p >> 4], digits[*p & 15]};
            qv_buf_put(out, esc, 3);
        }
    }
}

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const qv_s3_pair *)a)->name, ((const qv_s3_pair *)b)->name);
}

void qv_s3_canonical_query(const qv_s3_pair *q, size_t n, qv_buf *out)
{
    qv_s3_pair *sorted = qv_malloc((n + 1) * sizeof *sorted);

    if (!sorted) {
        out->failed = true;
        return;
    }
    if (n) {
        memcpy(sorted, q, n * sizeof *q);
        qsort(sorted, n, sizeof *sorted, pair_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            qv_buf_put_u8(out, '&');
        qv_s3_uri_encode(sorted[i].name, false, out);
        qv_buf_put_u8(out, '=');
        qv_s3_uri_encode(sorted[i].value, false, out);
    }
    qv_free(sorted);
}

/* A header as signed: lowercase name, trimmed value. */
typedef struct canon_header {
    char name[64];
    const char *value;
    size_t value_len;
} canon_header;

static int canon_cmp(const void *a, const void *b)
{
    return strcmp(((const canon_header *)a)->name, ((const canon_header *)b)->name);
}

static void put_value(qv_buf *b, const char *v, size_t n)
{
    bool space = false;

    for (size_t i = 0; i < n; i++) {
        if (v[i] == ' ') {
            space = true;
            continue;
        }
        if (space)
            qv_buf_put_u8(b, ' ');
        space = false;
        qv_buf_put_u8(b, (uint8_t)v[i]);
    }
}

static qv_err canonical_headers(const qv_s3_sign_req *r, canon_header *h, qv_error *err)
{
    if (r->nheaders > MAX_SIGNED_HEADERS)
        return qv_error_set(err, QV_EINVAL, "SigV4: more than %d headers", MAX_SIGNED_HEADERS);
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *v = r->headers[i].value;
        size_t nl = strlen(r->headers[i].name), vl;
        if (nl >= sizeof h[i].name)
            return qv_error_set(err, QV_EINVAL, "SigV4: header name too long");
        for (size_t j = 0; j <= nl; j++)
            h[i].name[j] = (char)tolower((unsigned char)r->headers[i].name[j]);
        while (*v == ' ' || *v == '\t')
            v++;
        vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        h[i].value = v;
        h[i].value_len = vl;
    }
    qsort(h, r->nheaders, sizeof *h, canon_cmp);
    return QV_OK;
}

/* The canonical request into b; the signed-header list into signed_hdrs. */
static qv_err canonical_request(const qv_s3_sign_req *r, qv_buf *b, qv_buf *signed_hdrs,
                                qv_error *err)
{
    canon_header h[MAX_SIGNED_HEADERS];
    qv_err rc = canonical_headers(r, h, err);

    if (rc != QV_OK)
        return rc;
    qv_buf_printf(b, "%s\n%s\n", r->method, r->uri);
    qv_s3_canonical_query(r->query, r->nquery, b);
    qv_buf_put_u8(b, '\n');
    for (size_t i = 0; i < r->nheaders; i++) {
        qv_buf_printf(b, "%s:", h[i].name);
        put_value(b, h[i].value, h[i].value_len);
        qv_buf_put_u8(b, '\n');
        qv_buf_printf(signed_hdrs, "%s%s", i ? ";" : "", h[i].name);
    }
    qv_buf_put_u8(signed_hdrs, 0);
    qv_buf_printf(b, "\n%s\n%s", signed_hdrs->failed ? "" : (const char *)signed_hdrs->data,
                  r->payload_sha256);
    return qv_buf_status(b, err) == QV_OK ? qv_buf_status(signed_hdrs, err) : QV_ENOMEM;
}

static void signing_key(const qv_s3_sign_req *r, uint8_t key[QV_SHA256_BYTES])
{
    size_t slen = strlen(r->secret_key);
    char *k = qv_malloc(slen + 5);
    uint8_t a[QV_SHA256_BYTES], b[QV_SHA256_BYTES];

    if (!k) {
        memset(key, 0, QV_SHA256_BYTES);
        return;
    }
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, r->secret_key, slen + 1);
    qv_crypto_hmac_sha256(k, slen + 4, r->amz_date, 8, a); /* the date part: YYYYMMDD */
    qv_crypto_hmac_sha256(a, sizeof a, r->region, strlen(r->region), b);
    qv_crypto_hmac_sha256(b, sizeof b, r->service, strlen(r->service), a);
    qv_crypto_hmac_sha256(a, sizeof a, "aws4_request", 12, key);
    qv_crypto_wipe(k, slen + 4);
    qv_crypto_wipe(a, sizeof a);
    qv_crypto_wipe(b, sizeof b);
    qv_free(k);
}

qv_err qv_s3_sign(const qv_s3_sign_req *r, qv_buf *canonical, qv_buf *string_to_sign,
                  char *auth, size_t cap, qv_error *err)
{
    char creq_hex[65], scope[128], sig_hex[65];
    uint8_t key[QV_SHA256_BYTES], sig[QV_SHA256_BYTES];
    qv_buf creq, sts, hdrs;
    qv_err rc;
    int n;

    if (strlen(r->amz_date) != 16)
        return qv_error_set(err, QV_EINVAL, "SigV4: bad x-amz-date '%s'", r->amz_date);
    qv_buf_init(&creq);
    qv_buf_init(&sts);
    qv_buf_init(&hdrs);
    if ((rc = canonical_request(r, &creq, &hdrs, err)) != QV_OK)
        goto done;
    qv_s3_sha256_hex(creq.data, creq.len, creq_hex);
    snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", r->amz_date, r->region, r->service);
    qv_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope, creq_hex);
    if ((rc = qv_buf_status(&sts, err)) != QV_OK)
        goto done;
    signing_key(r, key);
    qv_crypto_hmac_sha256(key, sizeof key, sts.data, sts.len, sig);
    qv_crypto_wipe(key, sizeof key);
    hex_lower(sig, sizeof sig, sig_hex);
    n = snprintf(auth, cap, "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s",
                 r->access_key, scope, (const char *)hdrs.data, sig_hex);
    if (n < 0 || (size_t)n >= cap)
        rc = qv_error_set(err, QV_EINVAL, "SigV4: Authorization header too long");
    if (canonical)
        qv_buf_put(canonical, creq.data, creq.len);
    if (string_to_sign)
        qv_buf_put(string_to_sign, sts.data, sts.len);
done:
    qv_buf_fini(&creq);
    qv_buf_fini(&sts);
    qv_buf_fini(&hdrs);
    return rc;
}
