/* SPDX-License-Identifier: Apache-2.0 */
/* auth.c - the auth store: open (load or create, root's initial password), persistence
 * of every change, the privilege check, and users. Roles, grants and privilege groups
 * are in auth_roles.c, credentials in auth_cred.c.
 *
 * DESIGN: the whole state (a few KiB) lives in memory under one rwlock. A change takes
 * the write lock, snapshots the encoded state, applies itself, writes the new encoding
 * with qv_io_write_file_atomic (temp file, fsync, rename, fsync directory) and, if any
 * step failed, restores the snapshot, so memory never runs ahead of the disk. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

#define AUTH_FILE "auth.qva"
#define AUTH_FILE_MAX (64u << 20)
#define MILVUS_DEFAULT_ROOT_PASSWORD "Milvus"

auth_user *auth_find_user(const auth_state *s, const char *name)
{
    for (size_t i = 0; name && i < s->nusers; i++)
        if (strcmp(s->users[i].name, name) == 0)
            return &s->users[i];
    return NULL;
}

auth_role *auth_find_role(const auth_state *s, const char *name)
{
    for (size_t i = 0; name && i < s->nroles; i++)
        if (strcmp(s->roles[i].name, name) == 0)
            return &s->roles[i];
    return NULL;
}

auth_group *auth_find_group(const auth_state *s, const char *name)
{
    for (size_t i = 0; name && i < s->ngroups; i++)
        if (strcmp(s->groups[i].name, name) == 0)
            return &s->groups[i];
    return NULL;
}

bool auth_names_has(const qv_names *n, const char *s)
{
    for (size_t i = 0; i < n->count; i++)
        if (strcmp(n->items[i], s) == 0)
            return true;
    return false;
}

/* --- persistence -------------------------------------------------------------------------- */

static qv_err persist(qv_auth *a, qv_error *err)
{
    qv_buf b;
    qv_err rc;

    qv_buf_init(&b);
    auth_encode(&a->st, &b);
    rc = b.failed ? qv_error_set(err, QV_ENOMEM, "out of memory encoding %s", a->path)
                  : qv_io_write_file_atomic(a->io, a->path, b.data, b.len, err);
    qv_buf_fini(&b);
    return rc;
}

void auth_change_begin(qv_auth *a, qv_buf *snapshot)
{
    pthread_rwlock_wrlock(&a->lock);
    qv_buf_init(snapshot);
    auth_encode(&a->st, snapshot);
}

qv_err auth_change_end(qv_auth *a, qv_buf *snapshot, qv_err rc, qv_error *err)
{
    auth_state old;

    if (rc == QV_OK && snapshot->failed)
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    if (rc == QV_OK)
        rc = persist(a, err);
    if (rc != QV_OK && !snapshot->failed &&
        auth_decode(snapshot->data, snapshot->len, a->path, &old, NULL) == QV_OK) {
        auth_state_fini(&a->st);
        a->st = old;
    }
    qv_buf_fini(snapshot);
    pthread_rwlock_unlock(&a->lock);
    return rc;
}

/* --- creation of the built-in state ----------------------------------------------------- */

qv_err auth_grant_add(auth_role *r, const char *type, const char *name, const char *db,
                      const char *privilege, const char *grantor)
{
    qv_auth_grant *items, *g;

    if (r->grants.count >= AUTH_MAX_GRANTS)
        return QV_EINVAL;
    if (!(items = qv_reallocarray(r->grants.items, r->grants.count + 1, sizeof *items)))
        return QV_ENOMEM;
    r->grants.items = items;
    g = &items[r->grants.count];
    *g = (qv_auth_grant){qv_strdup(type), qv_strdup(name), qv_strdup(db), qv_strdup(privilege),
                         qv_strdup(grantor ? grantor : "")};
    if (!g->object_type || !g->object_name || !g->db || !g->privilege || !g->grantor) {
        auth_grant_fini(g);
        return QV_ENOMEM;
    }
    r->grants.count++;
    return QV_OK;
}

void *auth_append_named(void **items, size_t *count, size_t size, const char *name)
{
    char *grown = qv_reallocarray(*items, *count + 1, size), *slot;

    if (!grown)
        return NULL;
    *items = grown;
    slot = grown + *count * size;
    memset(slot, 0, size);
    if (!(*(char **)slot = qv_strdup(name))) /* every named item starts with char *name */
        return NULL;
    (*count)++;
    return slot;
}

void auth_remove_at(void *items, size_t *count, size_t size, size_t i)
{
    char *base = items;

    memmove(base + i * size, base + (i + 1) * size, (*count - i - 1) * size);
    (*count)--;
}

auth_role *auth_role_add(auth_state *s, const char *name)
{
    return auth_append_named((void **)&s->roles, &s->nroles, sizeof *s->roles, name);
}

static auth_user *auth_user_add(auth_state *s, const char *name)
{
    return auth_append_named((void **)&s->users, &s->nusers, sizeof *s->users, name);
}

/* admin (no grants needed) and public with Milvus's default public privileges. */
static qv_err ensure_builtin_roles(auth_state *s, bool *changed)
{
    static const char *const public_grants[][2] = {
        {"Global", "DescribeCollection"},
        {"Global", "ShowCollections"},
        {"Collection", "IndexDetail"},
    };
    auth_role *r;
    qv_err rc = QV_OK;

    if (!auth_find_role(s, QV_AUTH_ADMIN_ROLE)) {
        if (!auth_role_add(s, QV_AUTH_ADMIN_ROLE))
            return QV_ENOMEM;
        *changed = true;
    }
    if (!auth_find_role(s, QV_AUTH_PUBLIC_ROLE)) {
        if (!(r = auth_role_add(s, QV_AUTH_PUBLIC_ROLE)))
            return QV_ENOMEM;
        for (size_t i = 0; i < 3 && rc == QV_OK; i++)
            rc = auth_grant_add(r, public_grants[i][0], "*", "*", public_grants[i][1],
                                QV_AUTH_ROOT);
        *changed = true;
    }
    return rc;
}

/* Root's password: auth.root_password (or Milvus's default while auth is off) until it is
 * changed through users/update_password. */
static qv_err setup_root(qv_auth *a, const qv_auth_opts *o, bool *changed, qv_error *err)
{
    auth_user *u = auth_find_user(&a->st, QV_AUTH_ROOT);
    const char *pw = o->root_password ? o->root_password : "";
    qv_err rc;

    if (u && !(u->flags & AUTH_USER_CONFIG))
        return QV_OK;
    if (*pw) {
        if ((rc = auth_password_check(pw, err)) != QV_OK) {
            qv_error_prefix(err, "auth.root_password: ");
            return rc;
        }
        if (u && !(u->flags & AUTH_USER_DEFAULT) && auth_password_matches(u, pw))
            return QV_OK;
    } else if (o->enabled && (!u || (u->flags & AUTH_USER_DEFAULT))) {
        return qv_error_set(err, QV_EINVAL, "auth.enabled needs auth.root_password (the initial "
                            "password of user root, e.g. QUIVER__AUTH__ROOT_PASSWORD)");
    } else if (u) {
        return QV_OK;
    }
    if (!u && !(u = auth_user_add(&a->st, QV_AUTH_ROOT)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    u->flags = AUTH_USER_CONFIG | (*pw ? 0 : AUTH_USER_DEFAULT);
    *changed = true;
    /* Milvus's default password is public: stretching its hash protects nothing and cost
     * every start of a node with auth off (the embedded default) about 0.25 s */
    return auth_password_set(u, *pw ? pw : MILVUS_DEFAULT_ROOT_PASSWORD,
                             *pw ? a->kdf_iterations : 1, err);
}

static qv_err load(qv_auth *a, bool *fresh, qv_error *err)
{
    void *data = NULL;
    size_t len = 0;
    qv_error e = {0};
    qv_err rc = qv_io_read_file(a->io, a->path, AUTH_FILE_MAX, &data, &len, &e);

    *fresh = false;
    if (rc != QV_OK && e.sys_errno == ENOENT) {
        *fresh = true;
        return QV_OK;
    }
    if (rc == QV_OK)
        rc = auth_decode(data, len, a->path, &a->st, &e);
    qv_free(data);
    if (rc != QV_OK && err)
        *err = e;
    return rc;
}

qv_err qv_auth_open(const qv_auth_opts *o, qv_auth **out, qv_error *err)
{
    qv_auth *a = qv_calloc(1, sizeof *a);
    bool fresh = false, changed = false;
    qv_err rc;

    if (!a)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    pthread_rwlock_init(&a->lock, NULL);
    a->io = o->io;
    a->enabled = o->enabled;
    a->kdf_iterations = o->kdf_iterations ? o->kdf_iterations : 600000;
    if (snprintf(a->path, sizeof a->path, "%s/%s", o->data_dir, AUTH_FILE) >= (int)sizeof a->path) {
        rc = qv_error_set(err, QV_EINVAL, "data directory path too long");
        goto fail;
    }
    if ((rc = auth_keys_parse(o->api_keys, &a->keys, &a->nkeys, err)) != QV_OK ||
        (rc = load(a, &fresh, err)) != QV_OK)
        goto fail;
    if ((rc = ensure_builtin_roles(&a->st, &changed)) != QV_OK) {
        qv_error_set(err, rc, "out of memory");
        goto fail;
    }
    if ((rc = setup_root(a, o, &changed, err)) != QV_OK)
        goto fail;
    /* with auth off nothing needs the file until the first change through the API */
    if (changed && (a->enabled || !fresh) && (rc = persist(a, err)) != QV_OK)
        goto fail;
    qv_log_info("auth", "auth %s: %zu users, %zu roles, %zu privilege groups, %zu API keys (%s)",
                a->enabled ? "enabled" : "disabled", a->st.nusers, a->st.nroles, a->st.ngroups,
                a->nkeys, a->path);
    *out = a;
    return QV_OK;
fail:
    qv_auth_close(a);
    return rc;
}

void qv_auth_close(qv_auth *a)
{
    if (!a)
        return;
    auth_state_fini(&a->st);
    qv_crypto_wipe(a->keys, a->nkeys * sizeof *a->keys);
    qv_free(a->keys);
    pthread_rwlock_destroy(&a->lock);
    qv_free(a);
}

bool qv_auth_enabled(const qv_auth *a) { return a && a->enabled; }

/* --- the privilege check ------------------------------------------------------------------ */

static bool is_admin_locked(const auth_state *s, const char *user)
{
    const auth_user *u = auth_find_user(s, user);
    return u && (strcmp(user, QV_AUTH_ROOT) == 0 || auth_names_has(&u->roles, QV_AUTH_ADMIN_ROLE));
}

bool qv_auth_is_admin(qv_auth *a, const char *user)
{
    bool yes;

    pthread_rwlock_rdlock(&a->lock);
    yes = user && is_admin_locked(&a->st, user);
    pthread_rwlock_unlock(&a->lock);
    return yes;
}

static bool name_matches(const char *granted, const qv_auth_target *t)
{
    return strcmp(granted, "*") == 0 || (t->name && strcmp(granted, t->name) == 0) ||
           (t->resolved && strcmp(granted, t->resolved) == 0);
}

static bool role_allows(const auth_state *s, const char *role, const qv_auth_target *t)
{
    const auth_role *r = auth_find_role(s, role);

    for (size_t i = 0; r && i < r->grants.count; i++) {
        const qv_auth_grant *g = &r->grants.items[i];
        if ((strcmp(g->db, "*") == 0 || strcmp(g->db, t->db) == 0) && name_matches(g->object_name, t) &&
            auth_priv_covers(s, g->privilege, t->privilege))
            return true;
    }
    return false;
}

static bool allowed_locked(const auth_state *s, const char *user, const qv_auth_target *t)
{
    const auth_user *u = auth_find_user(s, user);

    if (!u)
        return false;
    if (is_admin_locked(s, user) || !t->privilege || t->obj == QV_AUTH_OBJ_NONE)
        return true;
    if (t->obj == QV_AUTH_OBJ_USER && t->name && strcmp(t->name, user) == 0)
        return true; /* Milvus: a user may always describe itself and change its password */
    if (t->self_role && auth_names_has(&u->roles, t->self_role))
        return true;
    for (size_t i = 0; i < u->roles.count; i++)
        if (role_allows(s, u->roles.items[i], t))
            return true;
    return role_allows(s, QV_AUTH_PUBLIC_ROLE, t);
}

qv_err qv_auth_check(qv_auth *a, const char *user, const qv_auth_target *t, qv_error *err)
{
    bool ok;

    pthread_rwlock_rdlock(&a->lock);
    ok = user && allowed_locked(&a->st, user, t);
    pthread_rwlock_unlock(&a->lock);
    if (ok)
        return QV_OK;
    return qv_error_set(err, QV_EDENIED, "Privilege%s: permission deny to %s in the `%s` "
                        "database: privilege not permitted", t->privilege ? t->privilege : "",
                        user ? user : "", t->db ? t->db : QV_DEFAULT_DB);
}

/* --- users ---------------------------------------------------------------------------------- */

static qv_err no_user(const char *user, qv_error *err)
{
    return qv_error_set(err, QV_EINVAL, "user not found: %s", user);
}

qv_err qv_auth_user_create(qv_auth *a, const char *user, const char *password, qv_error *err)
{
    auth_user *u, fresh = {0};
    qv_buf snap;
    qv_err rc;

    if ((rc = auth_name_check(AUTH_NAME_USER, user, err)) != QV_OK ||
        (rc = auth_password_check(password, err)) != QV_OK ||
        (rc = auth_password_set(&fresh, password, a->kdf_iterations, err)) != QV_OK)
        return rc; /* the KDF runs before the lock is taken */
    auth_change_begin(a, &snap);
    if (auth_find_user(&a->st, user))
        rc = qv_error_set(err, QV_EEXIST, "user already exists: %s", user);
    else if (a->st.nusers >= AUTH_MAX_USERS)
        rc = qv_error_set(err, QV_EINVAL, "the number of users has reached the limit %d",
                          AUTH_MAX_USERS);
    else if (!(u = auth_user_add(&a->st, user)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    else {
        u->iterations = fresh.iterations;
        memcpy(u->salt, fresh.salt, sizeof u->salt);
        memcpy(u->hash, fresh.hash, sizeof u->hash);
    }
    qv_crypto_wipe(&fresh, sizeof fresh);
    return auth_change_end(a, &snap, rc, err);
}

qv_err qv_auth_user_drop(qv_auth *a, const char *user, qv_error *err)
{
    auth_user *u;
    qv_buf snap;
    qv_err rc = QV_OK;

    if (strcmp(user, QV_AUTH_ROOT) == 0)
        return qv_error_set(err, QV_EINVAL, "root user cannot be deleted");
    auth_change_begin(a, &snap);
    if (!(u = auth_find_user(&a->st, user))) {
        rc = no_user(user, err);
    } else {
        qv_free(u->name);
        qv_names_fini(&u->roles);
        auth_remove_at(a->st.users, &a->st.nusers, sizeof *u, (size_t)(u - a->st.users));
    }
    return auth_change_end(a, &snap, rc, err);
}

qv_err qv_auth_user_update_password(qv_auth *a, const char *user, const char *old_password,
                                    const char *new_password, bool skip_old_check,
                                    qv_error *err)
{
    auth_user current = {0}, fresh = {0}, *u;
    bool found;
    qv_buf snap;
    qv_err rc;

    if ((rc = auth_password_check(new_password, err)) != QV_OK)
        return rc;
    pthread_rwlock_rdlock(&a->lock);
    if ((found = (u = auth_find_user(&a->st, user)) != NULL)) {
        memcpy(current.hash, u->hash, sizeof u->hash);
        memcpy(current.salt, u->salt, sizeof u->salt);
        current.iterations = u->iterations;
    }
    pthread_rwlock_unlock(&a->lock);
    if (!found)
        return no_user(user, err);
    if (!skip_old_check && !auth_password_matches(&current, old_password ? old_password : ""))
        return qv_error_set(err, QV_ENOTAUTH, "old password not correct for %s: not authenticated",
                            user);
    if ((rc = auth_password_set(&fresh, new_password, a->kdf_iterations, err)) != QV_OK)
        return rc;
    auth_change_begin(a, &snap);
    if (!(u = auth_find_user(&a->st, user))) {
        rc = no_user(user, err);
    } else {
        u->iterations = fresh.iterations;
        memcpy(u->salt, fresh.salt, sizeof u->salt);
        memcpy(u->hash, fresh.hash, sizeof u->hash);
        u->flags = 0; /* root's password is now the API's, no longer auth.root_password */
        u->cached = false;
    }
    qv_crypto_wipe(&fresh, sizeof fresh);
    return auth_change_end(a, &snap, rc, err);
}

qv_err auth_list_names(qv_auth *a, bool roles, qv_names *out, qv_error *err)
{
    qv_err rc = QV_OK;
    size_t n;

    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&a->lock);
    n = roles ? a->st.nroles : a->st.nusers;
    for (size_t i = 0; i < n && rc == QV_OK; i++)
        rc = qv_names_add(out, roles ? a->st.roles[i].name : a->st.users[i].name);
    pthread_rwlock_unlock(&a->lock);
    if (rc != QV_OK) {
        qv_names_fini(out);
        return qv_error_set(err, rc, "out of memory");
    }
    return QV_OK;
}

qv_err qv_auth_user_list(qv_auth *a, qv_names *out, qv_error *err)
{
    return auth_list_names(a, false, out, err);
}

qv_err qv_auth_user_roles(qv_auth *a, const char *user, qv_names *out, qv_error *err)
{
    const auth_user *u;
    qv_err rc = QV_OK;

    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&a->lock);
    if (!(u = auth_find_user(&a->st, user)))
        rc = no_user(user, err);
    for (size_t i = 0; u && i < u->roles.count && rc == QV_OK; i++)
        if ((rc = qv_names_add(out, u->roles.items[i])) != QV_OK)
            qv_error_set(err, rc, "out of memory");
    pthread_rwlock_unlock(&a->lock);
    if (rc != QV_OK)
        qv_names_fini(out);
    return rc;
}

void auth_names_remove(qv_names *n, const char *s)
{
    for (size_t i = 0; i < n->count; i++) {
        if (strcmp(n->items[i], s) != 0)
            continue;
        qv_free(n->items[i]);
        memmove(&n->items[i], &n->items[i + 1], (n->count - i - 1) * sizeof *n->items);
        n->count--;
        return;
    }
}

qv_err qv_auth_user_set_role(qv_auth *a, const char *user, const char *role, bool grant,
                             qv_error *err)
{
    auth_user *u;
    qv_buf snap;
    qv_err rc = QV_OK;

    auth_change_begin(a, &snap);
    if (!(u = auth_find_user(&a->st, user)))
        rc = no_user(user, err);
    else if (!auth_find_role(&a->st, role))
        rc = qv_error_set(err, QV_EINVAL, "not found the role, maybe the role isn't existed or "
                          "internal system error: %s", role);
    else if (!grant)
        auth_names_remove(&u->roles, role);
    else if (!auth_names_has(&u->roles, role) && qv_names_add(&u->roles, role) != QV_OK)
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    return auth_change_end(a, &snap, rc, err);
}
