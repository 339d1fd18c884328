/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/auth.h - Milvus authentication and RBAC: users with salted password hashes,
 * roles with grants, privilege groups, API keys, and the privilege check every route
 * goes through. The state is kept in memory and persisted whole, atomically, to
 * <data_dir>/auth.qva (format in src/auth/auth_codec.c and docs/storage-format.md).
 *
 * Semantics follow Milvus: user `root` (password from auth.root_password) and users
 * holding the built-in role `admin` may do everything; every user implicitly holds
 * `public`, which starts with DescribeCollection and ShowCollections (Global) and
 * IndexDetail (Collection) on every database. Everything is thread-safe. */
#ifndef QUIVER_AUTH_H
#define QUIVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/catalog.h"
#include "quiver/err.h"
#include "quiver/io.h"

#define QV_AUTH_ROOT "root"
#define QV_AUTH_ADMIN_ROLE "admin"
#define QV_AUTH_PUBLIC_ROLE "public"
#define QV_AUTH_NAME_MAX 32 /* user, role and privilege group names (bytes) */

typedef struct qv_auth qv_auth;

/* The object a route's privilege applies to (Milvus's ObjectType), or none. */
typedef enum qv_auth_obj {
    QV_AUTH_OBJ_NONE,       /* no privilege: any authenticated user */
    QV_AUTH_OBJ_GLOBAL,     /* the database (or the whole node) */
    QV_AUTH_OBJ_COLLECTION, /* one collection of a database */
    QV_AUTH_OBJ_USER,       /* one user; a user may always act on itself */
} qv_auth_obj;

typedef struct qv_auth_opts {
    const char *data_dir;       /* auth.qva lives here */
    qv_io *io;                  /* borrowed */
    bool enabled;               /* auth.enabled */
    const char *root_password;  /* auth.root_password, may be "" */
    const char *api_keys;       /* auth.api_keys: "user=key,user=key", may be "" */
    uint32_t kdf_iterations;    /* for new password hashes */
} qv_auth_opts;

/* Load or create the store. The first start with auth enabled needs a root password
 * (QV_EINVAL otherwise); while root's password was never changed through the API, a
 * configured root_password replaces it on start. Bad api_keys are QV_EINVAL (the
 * message never shows a key); a damaged file is QV_ECORRUPT naming it. */
qv_err qv_auth_open(const qv_auth_opts *o, qv_auth **out, qv_error *err);
void qv_auth_close(qv_auth *a); /* NULL is a no-op */
bool qv_auth_enabled(const qv_auth *a);

/* The user an Authorization header value names: "Bearer user:password", "Bearer <api
 * key>" (no ':') or "Basic base64(user:password)". Copies the name into user (at least
 * QV_AUTH_NAME_MAX + 1 bytes). QV_EAUTH with Milvus's message on anything else. A
 * verified password is remembered as SHA-256(salt, password) so that later requests
 * skip the KDF (Milvus caches the same way). */
qv_err qv_auth_authenticate(qv_auth *a, const char *authorization, char *user, size_t cap,
                            qv_error *err);

/* What a request needs: privilege (Milvus's name, e.g. "Search") on obj in database db.
 * name is the collection (or alias) for Collection objects and the user for User
 * objects; resolved is the collection an alias points to (may be NULL). self_role, if
 * set, lets members of that role through (a user may read its own roles' grants). */
typedef struct qv_auth_target {
    qv_auth_obj obj;
    const char *privilege;
    const char *db;
    const char *name;
    const char *resolved;
    const char *self_role;
} qv_auth_target;

/* QV_OK or QV_EDENIED with Milvus's message ("PrivilegeSearch: permission deny to bob in
 * the `default` database"). */
qv_err qv_auth_check(qv_auth *a, const char *user, const qv_auth_target *t, qv_error *err);
/* Whether user is root or holds admin. */
bool qv_auth_is_admin(qv_auth *a, const char *user);

/* --- users ------------------------------------------------------------------------------ */
qv_err qv_auth_user_create(qv_auth *a, const char *user, const char *password, qv_error *err);
qv_err qv_auth_user_drop(qv_auth *a, const char *user, qv_error *err);
/* Change user's password; old_password must match unless skip_old_check (admins). */
qv_err qv_auth_user_update_password(qv_auth *a, const char *user, const char *old_password,
                                    const char *new_password, bool skip_old_check,
                                    qv_error *err);
qv_err qv_auth_user_list(qv_auth *a, qv_names *out, qv_error *err);
/* The roles granted to user (public, held implicitly, is not listed). */
qv_err qv_auth_user_roles(qv_auth *a, const char *user, qv_names *out, qv_error *err);
qv_err qv_auth_user_set_role(qv_auth *a, const char *user, const char *role, bool grant,
                             qv_error *err);

/* --- roles and grants ------------------------------------------------------------------- */
typedef struct qv_auth_grant {
    char *object_type; /* Global, Collection or User */
    char *object_name; /* collection, user or "*" */
    char *db;          /* database or "*" */
    char *privilege;   /* privilege or privilege group */
    char *grantor;     /* user who granted it */
} qv_auth_grant;

typedef struct qv_auth_grants {
    qv_auth_grant *items;
    size_t count;
} qv_auth_grants;
void qv_auth_grants_fini(qv_auth_grants *g);

qv_err qv_auth_role_create(qv_auth *a, const char *role, qv_error *err);
/* Refuses built-in roles and roles that still hold grants (revoke them first). */
qv_err qv_auth_role_drop(qv_auth *a, const char *role, qv_error *err);
qv_err qv_auth_role_list(qv_auth *a, qv_names *out, qv_error *err);
/* Grants of role in database db (and those on every database, "*"); db NULL: all. */
qv_err qv_auth_role_grants(qv_auth *a, const char *role, const char *db, qv_auth_grants *out,
                           qv_error *err);
/* Milvus's v1 grant: object_type, object_name, db and privilege as given (the privilege
 * must belong to the object type, or be a privilege group or All). grantor may be "". */
qv_err qv_auth_grant_v1(qv_auth *a, const char *role, const qv_auth_grant *g, bool grant,
                        qv_error *err);
/* Milvus's v2 grant: privilege on collection ("*": all) of db ("*": all databases). */
qv_err qv_auth_grant_v2(qv_auth *a, const char *role, const char *privilege, const char *db,
                        const char *collection, const char *grantor, bool grant, qv_error *err);

/* --- privilege groups ------------------------------------------------------------------- */
typedef struct qv_auth_group_info {
    char *name;
    qv_names privileges;
} qv_auth_group_info;

qv_err qv_auth_group_create(qv_auth *a, const char *group, qv_error *err);
qv_err qv_auth_group_drop(qv_auth *a, const char *group, qv_error *err);
/* Add (or remove) privileges to a custom group; each must be a known privilege. */
qv_err qv_auth_group_edit(qv_auth *a, const char *group, const qv_names *privileges, bool add,
                          qv_error *err);
/* Custom groups, in creation order; free with qv_auth_groups_free. */
qv_err qv_auth_group_list(qv_auth *a, qv_auth_group_info **out, size_t *count, qv_error *err);
void qv_auth_groups_free(qv_auth_group_info *g, size_t count);

#endif
