/* SPDX-License-Identifier: Apache-2.0 */
/* peer_auth.c - X-Quiver-Peer: HMAC-SHA256 (RFC 2104) over the request, keyed by the
 * shared cluster secret. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_int.h"
#include "quiver/crypto.h"

#define MAX_SKEW_MS (5 * 60 * 1000)

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* hex MAC of (id, ms, method, path, body) */
static void mac(const qv_cluster *c, const char *id, uint64_t ms, const char *method,
                const char *path, const void *body, size_t len, char out[2 * QV_SHA256_BYTES + 1])
{
    uint8_t digest[QV_SHA256_BYTES], m[QV_SHA256_BYTES];
    char body_hex[2 * QV_SHA256_BYTES + 1], msg[1024];
    int n;

    qv_crypto_sha256(body ? body : "", len, NULL, 0, digest);
    hex(digest, sizeof digest, body_hex);
    n = snprintf(msg, sizeof msg, "%s\n%" PRIu64 "\n%s\n%s\n%s", id, ms, method, path, body_hex);
    qv_crypto_hmac_sha256(c->secret, strlen(c->secret), msg,
                          n < (int)sizeof msg ? (size_t)n : sizeof msg - 1, m);
    hex(m, sizeof m, out);
}

void qv_cluster_sign(const qv_cluster *c, const char *method, const char *path,
                     const void *body, size_t len, char *out)
{
    char m[2 * QV_SHA256_BYTES + 1];
    uint64_t ms = cluster_now_ms();
    const char *id = c->peers[c->self].id;

    mac(c, id, ms, method, path, body, len, m);
    snprintf(out, QV_PEER_AUTH_MAX, "%s %" PRIu64 " %s", id, ms, m);
}

qv_err qv_cluster_verify(const qv_cluster *c, const char *header, const char *method,
                         const char *path, const void *body, size_t len, size_t *peer,
                         qv_error *err)
{
    char id[QV_CLUSTER_MAX_ID + 1], got[2 * QV_SHA256_BYTES + 2], want[2 * QV_SHA256_BYTES + 1];
    unsigned long long ms;
    uint64_t now = cluster_now_ms();

    if (!header)
        return qv_error_set(err, QV_EAUTH, "internal endpoint: missing %s", QV_PEER_HEADER);
    if (sscanf(header, "%48s %llu %65s", id, &ms, got) != 3 || strlen(got) != 64)
        return qv_error_set(err, QV_EAUTH, "internal endpoint: malformed %s", QV_PEER_HEADER);
    *peer = SIZE_MAX;
    for (size_t i = 0; i < c->npeers; i++)
        if (!strcmp(c->peers[i].id, id))
            *peer = i;
    if (*peer == SIZE_MAX)
        return qv_error_set(err, QV_EAUTH, "internal endpoint: unknown peer %s", id);
    if (ms + MAX_SKEW_MS < now || ms > now + MAX_SKEW_MS)
        return qv_error_set(err, QV_EAUTH, "internal endpoint: clock of %s off by more than 5 min",
                            id);
    mac(c, id, ms, method, path, body, len, want);
    if (!qv_crypto_equal(want, got, 64))
        return qv_error_set(err, QV_EAUTH, "internal endpoint: bad signature from %s", id);
    return QV_OK;
}
