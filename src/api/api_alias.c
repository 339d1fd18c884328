/* SPDX-License-Identifier: Apache-2.0 */
/* api_alias.c - /v2/vectordb/aliases/... */
#include "api/api_int.h"

static qv_err alias_and_coll(qv_req *req, qv_resp *resp, const char **alias, const char **coll)
{
    qv_err rc = api_req_str(req, "aliasName", alias, &resp->err);
    return rc != QV_OK ? rc : api_req_str(req, "collectionName", coll, &resp->err);
}

qv_err api_alias_create(qv_req *req, qv_resp *resp)
{
    const char *alias, *coll;
    qv_err rc;

    if ((rc = alias_and_coll(req, resp, &alias, &coll)) != QV_OK ||
        (rc = qv_catalog_create_alias(req->node->catalog, api_db(req), alias, coll,
                                      &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

qv_err api_alias_alter(qv_req *req, qv_resp *resp)
{
    const char *alias, *coll;
    qv_err rc;

    if ((rc = alias_and_coll(req, resp, &alias, &coll)) != QV_OK ||
        (rc = qv_catalog_alter_alias(req->node->catalog, api_db(req), alias, coll,
                                     &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

qv_err api_alias_drop(qv_req *req, qv_resp *resp)
{
    const char *alias;
    qv_err rc;

    if ((rc = api_req_str(req, "aliasName", &alias, &resp->err)) != QV_OK ||
        (rc = qv_catalog_drop_alias(req->node->catalog, api_db(req), alias, &resp->err)))
        return rc;
    return api_ok_empty(resp);
}

qv_err api_alias_list(qv_req *req, qv_resp *resp)
{
    const char *coll = NULL;
    qv_names names;
    qv_err rc;

    if ((rc = qv_jget_str(req->root, "collectionName", false, &coll, NULL, &resp->err)) ||
        (rc = qv_catalog_list_aliases(req->node->catalog, api_db(req), coll, &names,
                                      &resp->err)) != QV_OK)
        return rc;
    api_ok_names(resp, &names);
    qv_names_fini(&names);
    return QV_OK;
}

qv_err api_alias_describe(qv_req *req, qv_resp *resp)
{
    qv_alias_info a;
    const char *alias;
    qv_err rc;
    qv_jw w;

    if ((rc = api_req_str(req, "aliasName", &alias, &resp->err)) != QV_OK ||
        (rc = qv_catalog_get_alias(req->node->catalog, api_db(req), alias, &a, &resp->err)))
        return rc;
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kstr(&w, "dbName", a.db);
    qv_jw_kstr(&w, "collectionName", a.collection);
    qv_jw_kstr(&w, "aliasName", a.alias);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    qv_alias_info_fini(&a);
    return QV_OK;
}
