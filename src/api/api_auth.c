/* SPDX-License-Identifier: Apache-2.0 */
/* api_auth.c - /v2/vectordb/users/..., /roles/... and /privilege_groups/... (Milvus's
 * RBAC endpoints, request and response shapes of its handler_v2.go), and the privilege
 * check every route goes through before its handler. */
#include <string.h>

#include "api/api_int.h"

/* --- the check ---------------------------------------------------------------------------- */

/* A string field of the body, or NULL when absent or not a string (the handler reports
 * type errors; authorization only needs the name). */
static const char *body_str(const qv_req *req, const char *key)
{
    const qv_jval *v = req->root ? qv_jobj_get(req->root, key) : NULL;
    const char *s = NULL;

    return v && qv_jval_str(v, &s, NULL) && *s ? s : NULL;
}

qv_err api_authorize(const qv_route *r, qv_req *req, qv_resp *resp)
{
    qv_node *n = req->node;
    qv_auth_target t = {.obj = r->obj, .privilege = r->privilege, .db = api_db(req)};
    qv_alias_info alias = {0};
    const char *reason = "denied";
    qv_err rc;

    if (!r->privilege || !qv_api_route_needs_auth(r, n))
        return QV_OK;
    if (r->obj == QV_AUTH_OBJ_USER) {
        t.name = body_str(req, "userName");
    } else {
        t.name = body_str(req, "collectionName");
        if (t.name && qv_catalog_get_alias(n->catalog, t.db, t.name, &alias, NULL) == QV_OK)
            t.resolved = alias.collection;
    }
    if (r->fn == api_role_describe)
        t.self_role = body_str(req, "roleName"); /* Milvus: a user may read its roles' grants */
    rc = qv_auth_check(n->auth, req->user, &t, &resp->err);
    qv_alias_info_fini(&alias);
    if (rc != QV_OK)
        qv_series_add(qv_metric_series(n->m.auth_failures, &reason), 1);
    return rc;
}

/* --- users -------------------------------------------------------------------------------- */

/* Two handlers that differ only in a grant/revoke (add/remove) flag. */
#define API_FLAG_PAIR(on, off, fn)                                                                 \
    qv_err api_##on(qv_req *req, qv_resp *resp) { return fn(req, resp, true); }                    \
    qv_err api_##off(qv_req *req, qv_resp *resp) { return fn(req, resp, false); }

static qv_err one_name(qv_req *req, qv_resp *resp, const char *key,
                       qv_err (*op)(qv_auth *, const char *, qv_error *))
{
    const char *a;
    qv_err rc;

    if ((rc = api_req_str(req, key, &a, &resp->err)) != QV_OK ||
        (rc = op(req->node->auth, a, &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

/* A handler running op on one required name of the body. */
#define API_ONE_NAME(handler, key, op)                                                             \
    qv_err api_##handler(qv_req *req, qv_resp *resp) { return one_name(req, resp, key, op); }

/* A qv_names result as {"code":0,"data":[...]}. */
static qv_err names_reply(qv_resp *resp, qv_names *names, qv_err rc)
{
    if (rc == QV_OK)
        api_ok_names(resp, names);
    qv_names_fini(names);
    return rc;
}

qv_err api_user_create(qv_req *req, qv_resp *resp)
{
    const char *user, *password;
    qv_err rc;

    if ((rc = api_req_str(req, "userName", &user, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "password", &password, &resp->err)) != QV_OK ||
        (rc = qv_auth_user_create(req->node->auth, user, password, &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

qv_err api_user_list(qv_req *req, qv_resp *resp)
{
    qv_names names;
    return names_reply(resp, &names, qv_auth_user_list(req->node->auth, &names, &resp->err));
}

qv_err api_user_describe(qv_req *req, qv_resp *resp)
{
    qv_names names = {0};
    const char *user;
    qv_err rc;

    if ((rc = api_req_str(req, "userName", &user, &resp->err)) != QV_OK)
        return rc;
    return names_reply(resp, &names, qv_auth_user_roles(req->node->auth, user, &names, &resp->err));
}

API_ONE_NAME(user_drop, "userName", qv_auth_user_drop)

qv_err api_user_update_password(qv_req *req, qv_resp *resp)
{
    const char *user, *old_pw, *new_pw;
    bool admin;
    qv_err rc;

    if ((rc = api_req_str(req, "userName", &user, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "password", &old_pw, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "newPassword", &new_pw, &resp->err)) != QV_OK)
        return rc;
    /* an administrator may reset another user's password without knowing it */
    admin = req->user && strcmp(req->user, user) != 0 && qv_auth_is_admin(req->node->auth, req->user);
    if ((rc = qv_auth_user_update_password(req->node->auth, user, old_pw, new_pw, admin,
                                           &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

/* users/grant_role and revoke_role: userName, roleName. */
static qv_err operate_role(qv_req *req, qv_resp *resp, bool grant)
{
    const char *user, *role;
    qv_err rc;

    if ((rc = api_req_str(req, "userName", &user, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "roleName", &role, &resp->err)) != QV_OK ||
        (rc = qv_auth_user_set_role(req->node->auth, user, role, grant, &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

API_FLAG_PAIR(user_grant_role, user_revoke_role, operate_role)

/* --- roles -------------------------------------------------------------------------------- */

API_ONE_NAME(role_create, "roleName", qv_auth_role_create)

API_ONE_NAME(role_drop, "roleName", qv_auth_role_drop)

qv_err api_role_list(qv_req *req, qv_resp *resp)
{
    qv_names names;
    return names_reply(resp, &names, qv_auth_role_list(req->node->auth, &names, &resp->err));
}

qv_err api_role_describe(qv_req *req, qv_resp *resp)
{
    qv_auth_grants g;
    const char *role;
    qv_err rc;
    qv_jw w;

    if ((rc = api_req_str(req, "roleName", &role, &resp->err)) != QV_OK ||
        (rc = qv_auth_role_grants(req->node->auth, role, api_db(req), &g, &resp->err)) != QV_OK)
        return rc;
    api_ok_begin(resp, &w);
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < g.count; i++) {
        qv_jw_obj_begin(&w);
        qv_jw_kstr(&w, "objectType", g.items[i].object_type);
        qv_jw_kstr(&w, "objectName", g.items[i].object_name);
        qv_jw_kstr(&w, "privilege", g.items[i].privilege);
        qv_jw_kstr(&w, "dbName", g.items[i].db);
        qv_jw_kstr(&w, "grantor", g.items[i].grantor);
        qv_jw_obj_end(&w);
    }
    qv_jw_arr_end(&w);
    api_ok_end(&w);
    qv_auth_grants_fini(&g);
    return QV_OK;
}

/* A new grant's database must exist unless it is "*" (all), as in Milvus (800 otherwise);
 * revoking works on a dropped database too. */
static qv_err grant_db_exists(qv_req *req, const char *db, qv_resp *resp)
{
    qv_database_info info;
    qv_err rc;

    if (!db || !*db || strcmp(db, "*") == 0)
        return QV_OK;
    if ((rc = qv_catalog_get_database(req->node->catalog, db, &info, &resp->err)) == QV_OK)
        qv_database_info_fini(&info);
    return rc;
}

/* roles/grant_privilege and revoke_privilege: roleName, objectType, objectName, privilege,
 * dbName (optional: default). */
static qv_err operate_privilege(qv_req *req, qv_resp *resp, bool grant)
{
    qv_auth_grant g = {0};
    const char *role, *type, *name, *priv, *db = NULL;
    qv_err rc;

    if ((rc = api_req_str(req, "roleName", &role, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "objectType", &type, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "objectName", &name, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "privilege", &priv, &resp->err)) != QV_OK ||
        (rc = qv_jget_str(req->root, "dbName", false, &db, NULL, &resp->err)) != QV_OK ||
        (grant && (rc = grant_db_exists(req, db, resp)) != QV_OK))
        return rc;
    g = (qv_auth_grant){.object_type = (char *)type, .object_name = (char *)name,
                        .db = (char *)(db ? db : ""), .privilege = (char *)priv,
                        .grantor = (char *)(req->user ? req->user : "")};
    if ((rc = qv_auth_grant_v1(req->node->auth, role, &g, grant, &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

API_FLAG_PAIR(role_grant_privilege, role_revoke_privilege, operate_privilege)

/* roles/grant_privilege_v2 and revoke_privilege_v2: roleName, privilege, dbName,
 * collectionName ("*" for all). */
static qv_err operate_privilege_v2(qv_req *req, qv_resp *resp, bool grant)
{
    const char *role, *priv, *db = NULL, *coll = NULL;
    qv_err rc;

    if ((rc = api_req_str(req, "roleName", &role, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "privilege", &priv, &resp->err)) != QV_OK ||
        (rc = qv_jget_str(req->root, "dbName", false, &db, NULL, &resp->err)) != QV_OK ||
        (rc = qv_jget_str(req->root, "collectionName", false, &coll, NULL, &resp->err)) != QV_OK ||
        (grant && (rc = grant_db_exists(req, db, resp)) != QV_OK))
        return rc;
    if ((rc = qv_auth_grant_v2(req->node->auth, role, priv, db, coll, req->user, grant,
                               &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

API_FLAG_PAIR(role_grant_privilege_v2, role_revoke_privilege_v2, operate_privilege_v2)

/* --- privilege groups ----------------------------------------------------------------------- */

API_ONE_NAME(group_create, "privilegeGroupName", qv_auth_group_create)

API_ONE_NAME(group_drop, "privilegeGroupName", qv_auth_group_drop)

static qv_err edit_group(qv_req *req, qv_resp *resp, bool add)
{
    qv_names privs = {0};
    const char *group;
    qv_err rc;

    if ((rc = api_req_str(req, "privilegeGroupName", &group, &resp->err)) == QV_OK &&
        (rc = api_str_list(req, "privileges", false, &privs, &resp->err)) == QV_OK) {
        if (privs.count == 0)
            rc = qv_error_set(&resp->err, QV_EINVAL, "privileges should not be empty");
        else if ((rc = qv_auth_group_edit(req->node->auth, group, &privs, add, &resp->err)) == QV_OK)
            api_ok_empty(resp);
    }
    qv_names_fini(&privs);
    return rc;
}

API_FLAG_PAIR(group_add, group_remove, edit_group)

qv_err api_group_list(qv_req *req, qv_resp *resp)
{
    qv_auth_group_info *g;
    size_t n;
    qv_jw w;
    qv_err rc = qv_auth_group_list(req->node->auth, &g, &n, &resp->err);

    if (rc != QV_OK)
        return rc;
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_key(&w, "privilegeGroups");
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        qv_buf joined;
        qv_buf_init(&joined);
        for (size_t j = 0; j < g[i].privileges.count; j++) {
            if (j)
                qv_buf_put(&joined, ",", 1);
            qv_buf_puts(&joined, g[i].privileges.items[j]);
        }
        qv_jw_obj_begin(&w);
        qv_jw_kstr(&w, "privilegeGroupName", g[i].name);
        qv_jw_key(&w, "privileges");
        qv_jw_strn(&w, joined.data ? (const char *)joined.data : "", joined.len);
        qv_jw_obj_end(&w);
        qv_buf_fini(&joined);
    }
    qv_jw_arr_end(&w);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    qv_auth_groups_free(g, n);
    return QV_OK;
}
