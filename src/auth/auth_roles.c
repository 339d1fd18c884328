/* SPDX-License-Identifier: Apache-2.0 */
/* auth_roles.c - roles, their grants (Milvus's v1 OperatePrivilege and v2
 * OperatePrivilegeV2), and custom privilege groups. Every change goes through
 * auth_change_begin/auth_change_end (persisted or rolled back). */
#include <string.h>

#include "auth/auth_int.h"
#include "quiver/alloc.h"

static bool builtin_role(const char *role)
{
    return strcmp(role, QV_AUTH_ADMIN_ROLE) == 0 || strcmp(role, QV_AUTH_PUBLIC_ROLE) == 0;
}

static qv_err no_role(const char *role, qv_error *err)
{
    return qv_error_set(err, QV_EINVAL, "not found the role, maybe the role isn't existed or "
                        "internal system error: %s", role);
}

static qv_err no_group(const char *group, qv_error *err)
{
    return qv_error_set(err, QV_EINVAL, "privilege group not found: %s", group);
}

qv_err qv_auth_role_create(qv_auth *a, const char *role, qv_error *err)
{
    qv_buf snap;
    qv_err rc;

    if ((rc = auth_name_check(AUTH_NAME_ROLE, role, err)) != QV_OK)
        return rc;
    auth_change_begin(a, &snap);
    if (auth_find_role(&a->st, role))
        rc = qv_error_set(err, QV_EEXIST, "role [%s] already exists", role);
    else if (a->st.nroles >= AUTH_MAX_ROLES)
        rc = qv_error_set(err, QV_EINVAL, "the number of roles has reached the limit %d",
                          AUTH_MAX_ROLES);
    else if (!auth_role_add(&a->st, role))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    return auth_change_end(a, &snap, rc, err);
}

qv_err qv_auth_role_drop(qv_auth *a, const char *role, qv_error *err)
{
    auth_role *r;
    qv_buf snap;
    qv_err rc = QV_OK;

    if (builtin_role(role))
        return qv_error_set(err, QV_EINVAL, "the role[%s] is a default role, which can't be "
                            "dropped", role);
    auth_change_begin(a, &snap);
    if (!(r = auth_find_role(&a->st, role))) {
        rc = no_role(role, err);
    } else if (r->grants.count) {
        rc = qv_error_set(err, QV_EINVAL, "fail to drop the role that it has privileges. Use "
                          "REVOKE API to revoke privileges: %s", role);
    } else {
        for (size_t u = 0; u < a->st.nusers; u++)
            auth_names_remove(&a->st.users[u].roles, role);
        qv_free(r->name);
        qv_auth_grants_fini(&r->grants);
        auth_remove_at(a->st.roles, &a->st.nroles, sizeof *r, (size_t)(r - a->st.roles));
    }
    return auth_change_end(a, &snap, rc, err);
}

qv_err qv_auth_role_list(qv_auth *a, qv_names *out, qv_error *err)
{
    return auth_list_names(a, true, out, err);
}

qv_err qv_auth_role_grants(qv_auth *a, const char *role, const char *db, qv_auth_grants *out,
                           qv_error *err)
{
    const auth_role *r;
    qv_err rc = QV_OK;

    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&a->lock);
    if (!(r = auth_find_role(&a->st, role)))
        rc = no_role(role, err);
    for (size_t i = 0; r && i < r->grants.count && rc == QV_OK; i++) {
        const qv_auth_grant *g = &r->grants.items[i];
        auth_role acc = {.grants = *out};
        if (db && strcmp(g->db, "*") != 0 && strcmp(g->db, db) != 0)
            continue;
        if ((rc = auth_grant_add(&acc, g->object_type, g->object_name, g->db, g->privilege,
                                 g->grantor)) != QV_OK)
            qv_error_set(err, QV_ENOMEM, "out of memory");
        *out = acc.grants;
    }
    pthread_rwlock_unlock(&a->lock);
    if (rc != QV_OK)
        qv_auth_grants_fini(out);
    return rc;
}

static int find_grant(const auth_role *r, const qv_auth_grant *g)
{
    for (size_t i = 0; i < r->grants.count; i++) {
        const qv_auth_grant *x = &r->grants.items[i];
        if (!strcmp(x->object_type, g->object_type) && !strcmp(x->object_name, g->object_name) &&
            !strcmp(x->db, g->db) && !strcmp(x->privilege, g->privilege))
            return (int)i;
    }
    return -1;
}

/* Add or remove one grant of role; both are idempotent, as in Milvus. */
static qv_err apply_grant(qv_auth *a, const char *role, const qv_auth_grant *g, bool grant,
                          qv_error *err)
{
    auth_role *r;
    qv_buf snap;
    qv_err rc = QV_OK;
    int i = -1;

    auth_change_begin(a, &snap);
    if (!(r = auth_find_role(&a->st, role))) {
        rc = no_role(role, err);
    } else if (!auth_priv_known(g->privilege) && !auth_priv_builtin_group(g->privilege) &&
               !auth_find_group(&a->st, g->privilege)) {
        rc = qv_error_set(err, QV_EINVAL, "not found the privilege name[%s]", g->privilege);
    } else if ((i = find_grant(r, g)) >= 0 && !grant) {
        auth_grant_fini(&r->grants.items[i]);
        auth_remove_at(r->grants.items, &r->grants.count, sizeof *r->grants.items, (size_t)i);
    } else if (i < 0 && grant) {
        rc = auth_grant_add(r, g->object_type, g->object_name, g->db, g->privilege, g->grantor);
        if (rc != QV_OK)
            qv_error_set(err, rc, rc == QV_ENOMEM ? "out of memory"
                                                  : "the role %s holds too many grants", role);
    }
    return auth_change_end(a, &snap, rc, err);
}

qv_err qv_auth_grant_v1(qv_auth *a, const char *role, const qv_auth_grant *g, bool grant,
                        qv_error *err)
{
    const char *type = g->object_type, *priv_type = auth_priv_object_type(g->privilege);
    qv_auth_grant fixed = *g;

    if (strcmp(type, "Global") && strcmp(type, "Collection") && strcmp(type, "User"))
        return qv_error_set(err, QV_EINVAL, "invalid object type %s: expected Global, "
                            "Collection or User", type);
    if (priv_type && strcmp(priv_type, type) != 0 && strcmp(g->privilege, "All") != 0)
        return qv_error_set(err, QV_EINVAL, "%s is not a privilege of the %s object type (it "
                            "belongs to %s)", g->privilege, type, priv_type);
    if (!*g->object_name)
        return qv_error_set(err, QV_EINVAL, "objectName should not be empty");
    if (!g->db || !*g->db)
        fixed.db = (char *)QV_DEFAULT_DB;
    if (!g->grantor)
        fixed.grantor = (char *)"";
    return apply_grant(a, role, &fixed, grant, err);
}

qv_err qv_auth_grant_v2(qv_auth *a, const char *role, const char *privilege, const char *db,
                        const char *collection, const char *grantor, bool grant, qv_error *err)
{
    auth_level level = auth_priv_level(privilege);
    const char *type = auth_priv_object_type(privilege);
    qv_auth_grant g;

    if (!db || !*db)
        db = level == AUTH_LEVEL_CLUSTER ? "*" : QV_DEFAULT_DB;
    if (!collection || !*collection)
        collection = "*";
    if (level == AUTH_LEVEL_CLUSTER && (strcmp(db, "*") || strcmp(collection, "*")))
        return qv_error_set(err, QV_EINVAL, "dbName and collectionName must be * for the "
                            "cluster level privilege: %s", privilege);
    if (level == AUTH_LEVEL_DATABASE && strcmp(collection, "*"))
        return qv_error_set(err, QV_EINVAL, "collectionName must be * for the database level "
                            "privilege: %s", privilege);
    g = (qv_auth_grant){.object_type = (char *)(type ? type : "Global"),
                        .object_name = (char *)collection, .db = (char *)db,
                        .privilege = (char *)privilege, .grantor = (char *)(grantor ? grantor : "")};
    return apply_grant(a, role, &g, grant, err);
}

/* --- privilege groups ----------------------------------------------------------------------- */

qv_err qv_auth_group_create(qv_auth *a, const char *group, qv_error *err)
{
    qv_buf snap;
    qv_err rc;

    if ((rc = auth_name_check(AUTH_NAME_GROUP, group, err)) != QV_OK)
        return rc;
    if (auth_priv_known(group) || auth_priv_builtin_group(group))
        return qv_error_set(err, QV_EINVAL, "privilege group name [%s] is defined by built in "
                            "privileges or privilege groups in system", group);
    auth_change_begin(a, &snap);
    if (auth_find_group(&a->st, group)) {
        rc = qv_error_set(err, QV_EEXIST, "privilege group [%s] already exists", group);
    } else if (a->st.ngroups >= AUTH_MAX_GROUPS) {
        rc = qv_error_set(err, QV_EINVAL, "the number of privilege groups has reached the limit %d",
                          AUTH_MAX_GROUPS);
    } else if (!auth_append_named((void **)&a->st.groups, &a->st.ngroups, sizeof *a->st.groups,
                                  group)) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    return auth_change_end(a, &snap, rc, err);
}

/* The first role holding a grant of group, or NULL. */
static const char *group_user(const auth_state *s, const char *group)
{
    for (size_t i = 0; i < s->nroles; i++)
        for (size_t j = 0; j < s->roles[i].grants.count; j++)
            if (strcmp(s->roles[i].grants.items[j].privilege, group) == 0)
                return s->roles[i].name;
    return NULL;
}

qv_err qv_auth_group_drop(qv_auth *a, const char *group, qv_error *err)
{
    auth_group *g;
    const char *role;
    qv_buf snap;
    qv_err rc = QV_OK;

    auth_change_begin(a, &snap);
    if (!(g = auth_find_group(&a->st, group))) {
        rc = no_group(group, err);
    } else if ((role = group_user(&a->st, group))) {
        rc = qv_error_set(err, QV_EINVAL, "privilege group [%s] is used by role [%s], use revoke "
                          "API to revoke it first", group, role);
    } else {
        qv_free(g->name);
        qv_names_fini(&g->privileges);
        auth_remove_at(a->st.groups, &a->st.ngroups, sizeof *g, (size_t)(g - a->st.groups));
    }
    return auth_change_end(a, &snap, rc, err);
}

qv_err qv_auth_group_edit(qv_auth *a, const char *group, const qv_names *privileges, bool add,
                          qv_error *err)
{
    auth_group *g;
    qv_buf snap;
    qv_err rc = QV_OK;

    for (size_t i = 0; i < privileges->count; i++)
        if (!auth_priv_known(privileges->items[i]))
            return qv_error_set(err, QV_EINVAL, "not found the privilege name[%s]",
                                privileges->items[i]);
    auth_change_begin(a, &snap);
    if (!(g = auth_find_group(&a->st, group)))
        rc = auth_priv_builtin_group(group)
                 ? qv_error_set(err, QV_EINVAL, "the built-in privilege group %s can't be changed",
                                group)
                 : no_group(group, err);
    for (size_t i = 0; g && i < privileges->count && rc == QV_OK; i++) {
        const char *p = privileges->items[i];
        if (!add)
            auth_names_remove(&g->privileges, p);
        else if (auth_names_has(&g->privileges, p))
            continue;
        else if (g->privileges.count >= AUTH_MAX_GROUP_PRIVS)
            rc = qv_error_set(err, QV_EINVAL, "privilege group %s holds too many privileges", group);
        else if (qv_names_add(&g->privileges, p) != QV_OK)
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    return auth_change_end(a, &snap, rc, err);
}

void qv_auth_groups_free(qv_auth_group_info *g, size_t count)
{
    for (size_t i = 0; g && i < count; i++) {
        qv_free(g[i].name);
        qv_names_fini(&g[i].privileges);
    }
    qv_free(g);
}

qv_err qv_auth_group_list(qv_auth *a, qv_auth_group_info **out, size_t *count, qv_error *err)
{
    qv_auth_group_info *g;
    size_t n;
    qv_err rc = QV_OK;

    pthread_rwlock_rdlock(&a->lock);
    n = a->st.ngroups;
    g = qv_calloc(n ? n : 1, sizeof *g);
    for (size_t i = 0; g && i < n && rc == QV_OK; i++) {
        const auth_group *src = &a->st.groups[i];
        if (!(g[i].name = qv_strdup(src->name)))
            rc = QV_ENOMEM;
        for (size_t j = 0; j < src->privileges.count && rc == QV_OK; j++)
            rc = qv_names_add(&g[i].privileges, src->privileges.items[j]);
    }
    pthread_rwlock_unlock(&a->lock);
    if (!g || rc != QV_OK) {
        qv_auth_groups_free(g, n);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    *out = g;
    *count = n;
    return QV_OK;
}
