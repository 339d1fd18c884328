/* SPDX-License-Identifier: Apache-2.0 */
/* auth_cred.c - credentials: name and password rules (Milvus's ValidateUsername,
 * ValidatePassword), salted password hashes (PBKDF2-HMAC-SHA256, RFC 8018), API keys,
 * and the Authorization header (Bearer user:password, Bearer <API key>, Basic). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_int.h"
#include "quiver/alloc.h"
#include "quiver/base64.h"

#define AUTH_HEADER_MAX 1024

static const char *const kind_word[] = {"username", "role name", "privilege group name"};

qv_err auth_name_check(auth_name_kind kind, const char *name, qv_error *err)
{
    const char *what = kind_word[kind];
    size_t n = name ? strlen(name) : 0;

    if (n == 0)
        return qv_error_set(err, QV_EINVAL, "the %s should not be empty", what);
    if (n > QV_AUTH_NAME_MAX)
        return qv_error_set(err, QV_EINVAL, "invalid %s %s: the length of a %s must be at most %d "
                            "characters", what, name, what, QV_AUTH_NAME_MAX);
    if (!isalpha((unsigned char)name[0]) && !(kind != AUTH_NAME_USER && name[0] == '_'))
        return qv_error_set(err, QV_EINVAL, "invalid %s %s: the first character of a %s must be a "
                            "letter%s", what, name, what, kind == AUTH_NAME_USER ? "" : " or an underscore");
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = isalnum(c) || c == '_' || (kind == AUTH_NAME_USER && (c == '.' || c == '-'));
        if (!ok)
            return qv_error_set(err, QV_EINVAL, "invalid %s %s: a %s can only contain numbers, "
                                "letters%s", what, name, what,
                                kind == AUTH_NAME_USER ? ", underscores, dots and hyphens" : " and underscores");
    }
    return QV_OK;
}

qv_err auth_password_check(const char *password, qv_error *err)
{
    size_t n = password ? strlen(password) : 0;

    if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
        return qv_error_set(err, QV_EINVAL, "the length of password must be between %d and %d "
                            "characters", AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
    return QV_OK;
}

qv_err auth_password_set(auth_user *u, const char *password, uint32_t iterations, qv_error *err)
{
    uint8_t salt[AUTH_SALT_BYTES], hash[AUTH_HASH_BYTES];
    qv_err rc;

    if ((rc = qv_crypto_random(salt, sizeof salt, err)) != QV_OK ||
        (rc = qv_crypto_pbkdf2_sha256(password, strlen(password), salt, sizeof salt, iterations,
                                      hash, sizeof hash, err)) != QV_OK)
        return rc;
    memcpy(u->salt, salt, sizeof salt);
    memcpy(u->hash, hash, sizeof hash);
    u->iterations = iterations;
    u->cached = false;
    qv_crypto_wipe(u->cache, sizeof u->cache);
    return QV_OK;
}

bool auth_password_matches(const auth_user *u, const char *password)
{
    uint8_t hash[AUTH_HASH_BYTES];
    bool ok = qv_crypto_pbkdf2_sha256(password, strlen(password), u->salt, sizeof u->salt,
                                      u->iterations, hash, sizeof hash, NULL) == QV_OK &&
              qv_crypto_equal(hash, u->hash, sizeof hash);

    qv_crypto_wipe(hash, sizeof hash);
    return ok;
}

/* --- API keys: "user=key, user=key" ----------------------------------------------------- */

static bool key_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != ':' && c != ',' && c != '=';
}

static qv_err parse_key(const char *p, size_t n, auth_key *k, size_t index, qv_error *err)
{
    const char *eq = memchr(p, '=', n);
    size_t ulen = eq ? (size_t)(eq - p) : 0, klen = eq ? n - ulen - 1 : 0;
    char user[QV_AUTH_NAME_MAX + 1];

    if (!eq || ulen == 0 || ulen > QV_AUTH_NAME_MAX)
        return qv_error_set(err, QV_EINVAL, "auth.api_keys: entry %zu is not user=key", index + 1);
    memcpy(user, p, ulen);
    user[ulen] = '\0';
    if (auth_name_check(AUTH_NAME_USER, user, err) != QV_OK) {
        qv_error_prefix(err, "auth.api_keys: entry %zu: ", index + 1);
        return QV_EINVAL;
    }
    if (klen < AUTH_API_KEY_MIN)
        return qv_error_set(err, QV_EINVAL, "auth.api_keys: the key of entry %zu (user %s) is "
                            "shorter than %d characters", index + 1, user, AUTH_API_KEY_MIN);
    for (size_t i = 0; i < klen; i++)
        if (!key_char_ok((unsigned char)eq[1 + i]))
            return qv_error_set(err, QV_EINVAL, "auth.api_keys: the key of entry %zu (user %s) "
                                "may only hold printable ASCII without spaces, ':', ',' or '='",
                                index + 1, user);
    memcpy(k->user, user, ulen + 1);
    qv_crypto_sha256(eq + 1, klen, NULL, 0, k->digest);
    return QV_OK;
}

qv_err auth_keys_parse(const char *spec, auth_key **out, size_t *count, qv_error *err)
{
    auth_key *keys = NULL;
    size_t n = 0;
    qv_err rc = QV_OK;

    *out = NULL;
    *count = 0;
    for (const char *p = spec ? spec : ""; *p && rc == QV_OK;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && isspace((unsigned char)*p))
            p++, len--;
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (len) {
            auth_key *grown = qv_reallocarray(keys, n + 1, sizeof *keys);
            if (!grown)
                rc = qv_error_set(err, QV_ENOMEM, "out of memory");
            else if ((rc = parse_key(p, len, &(keys = grown)[n], n, err)) == QV_OK)
                n++;
        }
        p = comma ? comma + 1 : p + len;
        if (!comma)
            break;
    }
    if (rc != QV_OK) {
        qv_free(keys);
        return rc;
    }
    *out = keys;
    *count = n;
    return QV_OK;
}

/* --- the Authorization header ----------------------------------------------------------- */

/* RFC 4648 base64 with optional padding into out (NUL-terminated); false if malformed. */
static bool b64_decode(const char *in, char *out, size_t cap)
{
    size_t n;

    if (!cap || !qv_base64_decode(in, strlen(in), (uint8_t *)out, cap - 1, &n))
        return false;
    out[n] = '\0';
    return memchr(out, '\0', n) == NULL;
}

static qv_err unauthenticated(qv_error *err)
{
    return qv_error_set(err, QV_EAUTH, "user hasn't authenticated");
}

static qv_err verify_password(qv_auth *a, const char *name, const char *password, qv_error *err)
{
    auth_user copy, *u;
    uint8_t digest[QV_SHA256_BYTES];
    bool ok;

    pthread_rwlock_rdlock(&a->lock);
    if ((u = auth_find_user(&a->st, name)))
        copy = *u;
    pthread_rwlock_unlock(&a->lock);
    if (!u)
        return unauthenticated(err);
    qv_crypto_sha256(copy.salt, sizeof copy.salt, password, strlen(password), digest);
    if (copy.cached && qv_crypto_equal(digest, copy.cache, sizeof digest))
        return QV_OK;
    if (!(ok = auth_password_matches(&copy, password)))
        return unauthenticated(err);
    pthread_rwlock_wrlock(&a->lock);
    if ((u = auth_find_user(&a->st, name)) && qv_crypto_equal(u->hash, copy.hash, sizeof u->hash)) {
        memcpy(u->cache, digest, sizeof digest);
        u->cached = true;
    }
    pthread_rwlock_unlock(&a->lock);
    return QV_OK;
}

static qv_err verify_key(qv_auth *a, const char *key, char *user, size_t cap, qv_error *err)
{
    uint8_t digest[QV_SHA256_BYTES];
    const auth_key *found = NULL;
    bool exists;

    qv_crypto_sha256(key, strlen(key), NULL, 0, digest);
    for (size_t i = 0; i < a->nkeys; i++) /* no early exit: every key is compared */
        if (qv_crypto_equal(digest, a->keys[i].digest, sizeof digest) && !found)
            found = &a->keys[i];
    if (!found || strlen(found->user) >= cap)
        return unauthenticated(err);
    pthread_rwlock_rdlock(&a->lock);
    exists = auth_find_user(&a->st, found->user) != NULL;
    pthread_rwlock_unlock(&a->lock);
    if (!exists)
        return unauthenticated(err);
    memcpy(user, found->user, strlen(found->user) + 1);
    return QV_OK;
}

qv_err qv_auth_authenticate(qv_auth *a, const char *authorization, char *user, size_t cap,
                            qv_error *err)
{
    char buf[AUTH_HEADER_MAX], *colon;
    const char *token;
    size_t n;
    qv_err rc;

    if (!authorization || (n = strlen(authorization)) >= sizeof buf)
        return unauthenticated(err);
    if (strncasecmp(authorization, "Bearer ", 7) == 0) {
        for (token = authorization + 7; *token == ' '; token++)
            ;
        memcpy(buf, token, strlen(token) + 1);
    } else if (strncasecmp(authorization, "Basic ", 6) == 0) {
        for (token = authorization + 6; *token == ' '; token++)
            ;
        if (!b64_decode(token, buf, sizeof buf))
            return unauthenticated(err);
    } else {
        return unauthenticated(err);
    }
    n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    if (!(colon = strchr(buf, ':'))) {
        rc = verify_key(a, buf, user, cap, err);
    } else {
        *colon = '\0';
        rc = (size_t)(colon - buf) < cap && colon > buf
                 ? verify_password(a, buf, colon + 1, err)
                 : unauthenticated(err);
        if (rc == QV_OK)
            memcpy(user, buf, (size_t)(colon - buf) + 1);
    }
    qv_crypto_wipe(buf, sizeof buf);
    return rc;
}
