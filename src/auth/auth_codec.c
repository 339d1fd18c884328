/* SPDX-License-Identifier: Apache-2.0 */
/* auth_codec.c - the auth.qva file: users, roles with their grants, privilege groups.
 *
 *   offset  size  field
 *   0       8     magic "QVAUTH\0\0"
 *   8       4     format version (1), little-endian
 *   12      4     CRC32C of the payload
 *   16      8     payload length
 *   24      n     payload
 *
 * payload := u32 nusers  x user, u32 nroles x role, u32 ngroups x group
 * user    := str name, u8 flags (1: password from auth.root_password, 2: Milvus's default),
 *            u32 iterations, 16 bytes salt, 32 bytes PBKDF2-HMAC-SHA256(password, salt,
 *            iterations), u32 n x str role
 * role    := str name, u32 n x (str object_type, str object_name, str db, str privilege,
 *            str grantor)
 * group   := str name, u32 n x str privilege
 * str     := u32 length + bytes (no NUL)
 * Passwords are never stored, only their salted hashes. Any checksum, length or bound
 * violation is QV_ECORRUPT naming the file. */
#include <string.h>

#include "auth/auth_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"

#define AUTH_MAGIC "QVAUTH\0"
#define AUTH_FORMAT 1
#define AUTH_HEADER 24

static void put_names(qv_buf *b, const qv_names *n)
{
    qv_buf_put_u32(b, (uint32_t)n->count);
    for (size_t i = 0; i < n->count; i++)
        qv_buf_put_str(b, n->items[i]);
}

void auth_encode(const auth_state *s, qv_buf *out)
{
    uint8_t header[AUTH_HEADER] = AUTH_MAGIC;
    size_t start = out->len;

    qv_buf_put(out, header, sizeof header);
    qv_buf_put_u32(out, (uint32_t)s->nusers);
    for (size_t i = 0; i < s->nusers; i++) {
        const auth_user *u = &s->users[i];
        qv_buf_put_str(out, u->name);
        qv_buf_put_u8(out, u->flags);
        qv_buf_put_u32(out, u->iterations);
        qv_buf_put(out, u->salt, sizeof u->salt);
        qv_buf_put(out, u->hash, sizeof u->hash);
        put_names(out, &u->roles);
    }
    qv_buf_put_u32(out, (uint32_t)s->nroles);
    for (size_t i = 0; i < s->nroles; i++) {
        const auth_role *r = &s->roles[i];
        qv_buf_put_str(out, r->name);
        qv_buf_put_u32(out, (uint32_t)r->grants.count);
        for (size_t j = 0; j < r->grants.count; j++) {
            const qv_auth_grant *g = &r->grants.items[j];
            qv_buf_put_str(out, g->object_type);
            qv_buf_put_str(out, g->object_name);
            qv_buf_put_str(out, g->db);
            qv_buf_put_str(out, g->privilege);
            qv_buf_put_str(out, g->grantor);
        }
    }
    qv_buf_put_u32(out, (uint32_t)s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        qv_buf_put_str(out, s->groups[i].name);
        put_names(out, &s->groups[i].privileges);
    }
    if (out->failed)
        return;
    qv_store_le32(out->data + start + 8, AUTH_FORMAT);
    qv_store_le32(out->data + start + 12, qv_crc32c(0, out->data + start + AUTH_HEADER,
                                                    out->len - start - AUTH_HEADER));
    qv_store_le64(out->data + start + 16, out->len - start - AUTH_HEADER);
}

/* A count read from the file, capped before anything is allocated for it. */
static size_t get_count(qv_reader *r, size_t max)
{
    uint32_t n = qv_reader_u32(r);

    if (n > max)
        r->failed = true;
    return r->failed ? 0 : n;
}

static void get_names(qv_reader *r, qv_names *out, size_t max)
{
    size_t n = get_count(r, max);

    for (size_t i = 0; i < n && !r->failed; i++) {
        char *s = qv_reader_strdup(r);
        if (!s || qv_names_add(out, s) != QV_OK)
            r->failed = true;
        qv_free(s);
    }
}

static void get_user(qv_reader *r, auth_user *u)
{
    const void *p;

    u->name = qv_reader_strdup(r);
    u->flags = qv_reader_u8(r);
    u->iterations = qv_reader_u32(r);
    if ((p = qv_reader_bytes(r, sizeof u->salt)))
        memcpy(u->salt, p, sizeof u->salt);
    if ((p = qv_reader_bytes(r, sizeof u->hash)))
        memcpy(u->hash, p, sizeof u->hash);
    get_names(r, &u->roles, AUTH_MAX_ROLES);
    if (!u->name || u->iterations == 0)
        r->failed = true;
}

static void get_role(qv_reader *r, auth_role *role)
{
    size_t n;

    role->name = qv_reader_strdup(r);
    n = get_count(r, AUTH_MAX_GRANTS);
    if (!role->name || r->failed)
        goto bad;
    if (n && !(role->grants.items = qv_calloc(n, sizeof *role->grants.items)))
        goto bad;
    for (size_t i = 0; i < n && !r->failed; i++) {
        qv_auth_grant *g = &role->grants.items[i];
        role->grants.count++;
        g->object_type = qv_reader_strdup(r);
        g->object_name = qv_reader_strdup(r);
        g->db = qv_reader_strdup(r);
        g->privilege = qv_reader_strdup(r);
        g->grantor = qv_reader_strdup(r);
        if (!g->object_type || !g->object_name || !g->db || !g->privilege || !g->grantor)
            r->failed = true;
    }
    return;
bad:
    r->failed = true;
}

/* Allocate n zeroed elements for a section; a failure marks the reader failed. */
static void *get_array(qv_reader *r, size_t max, size_t size, size_t *count)
{
    size_t n = get_count(r, max);
    void *p = n ? qv_calloc(n, size) : NULL;

    if (n && !p)
        r->failed = true;
    *count = p ? n : 0;
    return p;
}

qv_err auth_decode(const uint8_t *p, size_t len, const char *path, auth_state *out,
                   qv_error *err)
{
    auth_state s = {0};
    qv_reader r;
    uint64_t plen;

    memset(out, 0, sizeof *out);
    if (len < AUTH_HEADER || memcmp(p, AUTH_MAGIC, 8) != 0)
        return qv_error_set(err, QV_ECORRUPT, "%s: not an auth file (bad magic)", path);
    if (qv_load_le32(p + 8) != AUTH_FORMAT)
        return qv_error_set(err, QV_ECORRUPT, "%s: unsupported format version %u", path,
                            qv_load_le32(p + 8));
    plen = qv_load_le64(p + 16);
    if (plen != len - AUTH_HEADER)
        return qv_error_set(err, QV_ECORRUPT, "%s: payload length %llu, file holds %zu", path,
                            (unsigned long long)plen, len - AUTH_HEADER);
    if (qv_crc32c(0, p + AUTH_HEADER, plen) != qv_load_le32(p + 12))
        return qv_error_set(err, QV_ECORRUPT, "%s: checksum mismatch", path);
    qv_reader_init(&r, p + AUTH_HEADER, plen);
    s.users = get_array(&r, AUTH_MAX_USERS, sizeof *s.users, &s.nusers);
    for (size_t i = 0; i < s.nusers && !r.failed; i++)
        get_user(&r, &s.users[i]);
    s.roles = get_array(&r, AUTH_MAX_ROLES, sizeof *s.roles, &s.nroles);
    for (size_t i = 0; i < s.nroles && !r.failed; i++)
        get_role(&r, &s.roles[i]);
    s.groups = get_array(&r, AUTH_MAX_GROUPS, sizeof *s.groups, &s.ngroups);
    for (size_t i = 0; i < s.ngroups && !r.failed; i++) {
        s.groups[i].name = qv_reader_strdup(&r);
        get_names(&r, &s.groups[i].privileges, AUTH_MAX_GROUP_PRIVS);
        if (!s.groups[i].name)
            r.failed = true;
    }
    if (r.failed || r.pos != r.len) {
        auth_state_fini(&s);
        return qv_error_set(err, QV_ECORRUPT, "%s: malformed payload near byte %zu", path,
                            AUTH_HEADER + r.pos);
    }
    *out = s;
    return QV_OK;
}

void auth_grant_fini(qv_auth_grant *g)
{
    qv_free(g->object_type);
    qv_free(g->object_name);
    qv_free(g->db);
    qv_free(g->privilege);
    qv_free(g->grantor);
    memset(g, 0, sizeof *g);
}

void qv_auth_grants_fini(qv_auth_grants *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->count; i++)
        auth_grant_fini(&g->items[i]);
    qv_free(g->items);
    memset(g, 0, sizeof *g);
}

void auth_state_fini(auth_state *s)
{
    for (size_t i = 0; i < s->nusers; i++) {
        qv_free(s->users[i].name);
        qv_names_fini(&s->users[i].roles);
        qv_crypto_wipe(&s->users[i], sizeof s->users[i]);
    }
    for (size_t i = 0; i < s->nroles; i++) {
        qv_free(s->roles[i].name);
        qv_auth_grants_fini(&s->roles[i].grants);
    }
    for (size_t i = 0; i < s->ngroups; i++) {
        qv_free(s->groups[i].name);
        qv_names_fini(&s->groups[i].privileges);
    }
    qv_free(s->users);
    qv_free(s->roles);
    qv_free(s->groups);
    memset(s, 0, sizeof *s);
}
