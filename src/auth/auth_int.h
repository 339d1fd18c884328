/* SPDX-License-Identifier: Apache-2.0 */
/* auth_int.h - state and helpers shared by the auth module's files. */
#ifndef QUIVER_AUTH_INT_H
#define QUIVER_AUTH_INT_H

#include <pthread.h>

#include "quiver/auth.h"
#include "quiver/buf.h"
#include "quiver/crypto.h"

#define AUTH_SALT_BYTES 16
#define AUTH_HASH_BYTES 32
#define AUTH_PASSWORD_MIN 6
#define AUTH_PASSWORD_MAX 256
#define AUTH_MAX_USERS 1024
#define AUTH_MAX_ROLES 256
#define AUTH_MAX_GRANTS 1024 /* per role */
#define AUTH_MAX_GROUPS 256
#define AUTH_MAX_GROUP_PRIVS 256
#define AUTH_API_KEY_MIN 16

enum {
    AUTH_USER_CONFIG = 1u << 0,  /* password comes from auth.root_password: re-derived on start */
    AUTH_USER_DEFAULT = 1u << 1, /* ... and none was configured (Milvus's default) */
};

typedef struct auth_user {
    char *name;
    uint8_t flags;
    uint32_t iterations;
    uint8_t salt[AUTH_SALT_BYTES];
    uint8_t hash[AUTH_HASH_BYTES]; /* PBKDF2-HMAC-SHA256(password, salt, iterations) */
    qv_names roles;
    bool cached;                   /* not persisted: cache holds SHA-256(salt, password) */
    uint8_t cache[QV_SHA256_BYTES];
} auth_user;

typedef struct auth_role {
    char *name;
    qv_auth_grants grants;
} auth_role;

typedef struct auth_group {
    char *name;
    qv_names privileges;
} auth_group;

typedef struct auth_state {
    auth_user *users;
    size_t nusers;
    auth_role *roles;
    size_t nroles;
    auth_group *groups;
    size_t ngroups;
} auth_state;

typedef struct auth_key {
    char user[QV_AUTH_NAME_MAX + 1];
    uint8_t digest[QV_SHA256_BYTES]; /* SHA-256 of the key */
} auth_key;

struct qv_auth {
    pthread_rwlock_t lock; /* guards st */
    auth_state st;
    auth_key *keys; /* immutable after open */
    size_t nkeys;
    bool enabled;
    uint32_t kdf_iterations;
    qv_io *io;
    char path[4096];
};

/* auth_codec.c: the auth.qva file (format at its top). */
void auth_encode(const auth_state *s, qv_buf *out);
qv_err auth_decode(const uint8_t *p, size_t len, const char *path, auth_state *out,
                   qv_error *err);
void auth_state_fini(auth_state *s);
void auth_grant_fini(qv_auth_grant *g);

/* auth_priv.c: Milvus's privilege names, object types and built-in groups. */
bool auth_priv_known(const char *name);                 /* a single privilege, All included */
const char *auth_priv_object_type(const char *name);    /* "Global", "Collection", "User", NULL */
bool auth_priv_builtin_group(const char *name);
/* Whether a grant of `granted` (privilege, All, built-in or custom group) covers `needed`. */
bool auth_priv_covers(const auth_state *s, const char *granted, const char *needed);
typedef enum auth_level { AUTH_LEVEL_ANY, AUTH_LEVEL_CLUSTER, AUTH_LEVEL_DATABASE,
                          AUTH_LEVEL_COLLECTION } auth_level;
auth_level auth_priv_level(const char *name); /* the v2 grant level of a privilege or group */

/* auth_cred.c: names, passwords, credentials. */
typedef enum auth_name_kind { AUTH_NAME_USER, AUTH_NAME_ROLE, AUTH_NAME_GROUP } auth_name_kind;
qv_err auth_name_check(auth_name_kind kind, const char *name, qv_error *err);
qv_err auth_password_check(const char *password, qv_error *err);
/* A fresh salt and the hash of password into u (iterations as given). */
qv_err auth_password_set(auth_user *u, const char *password, uint32_t iterations,
                         qv_error *err);
/* Whether password matches u's hash (runs the KDF). */
bool auth_password_matches(const auth_user *u, const char *password);
qv_err auth_keys_parse(const char *spec, auth_key **out, size_t *count, qv_error *err);

/* auth.c */
auth_user *auth_find_user(const auth_state *s, const char *name);
auth_role *auth_find_role(const auth_state *s, const char *name);
auth_group *auth_find_group(const auth_state *s, const char *name);
bool auth_names_has(const qv_names *n, const char *s);
void auth_names_remove(qv_names *n, const char *s);
/* Append a zeroed item whose first member, char *name, is a copy of name (users, roles,
 * groups); NULL when out of memory. */
void *auth_append_named(void **items, size_t *count, size_t size, const char *name);
/* Remove item i of an array of count items of size bytes (its contents already freed). */
void auth_remove_at(void *items, size_t *count, size_t size, size_t i);
auth_role *auth_role_add(auth_state *s, const char *name);
/* User (roles false) or role names, in order. */
qv_err auth_list_names(qv_auth *a, bool roles, qv_names *out, qv_error *err);
/* Append a grant (strings copied); QV_ENOMEM, or QV_EINVAL past AUTH_MAX_GRANTS. */
qv_err auth_grant_add(auth_role *r, const char *type, const char *name, const char *db,
                      const char *privilege, const char *grantor);
/* A change: take the write lock and snapshot the state; end persists the state when rc is
 * QV_OK, restores the snapshot otherwise, releases the lock and returns the outcome. */
void auth_change_begin(qv_auth *a, qv_buf *snapshot);
qv_err auth_change_end(qv_auth *a, qv_buf *snapshot, qv_err rc, qv_error *err);

#endif
