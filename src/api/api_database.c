/* SPDX-License-Identifier: Apache-2.0 */
/* api_database.c - /v2/vectordb/databases/... */
#include "api/api_int.h"

qv_err api_db_create(qv_req *req, qv_resp *resp)
{
    const char *name;
    qv_kvlist props;
    qv_err rc;

    if ((rc = api_req_str(req, "dbName", &name, &resp->err)) != QV_OK)
        return rc;
    if ((rc = api_props(req, "properties", &props, &resp->err)) == QV_OK &&
        (rc = qv_catalog_create_database(req->node->catalog, name, &props, &resp->err)) == QV_OK)
        api_ok_empty(resp);
    qv_kvlist_fini(&props);
    return rc;
}

qv_err api_db_list(qv_req *req, qv_resp *resp)
{
    qv_names names;
    qv_err rc = qv_catalog_list_databases(req->node->catalog, &names, &resp->err);

    if (rc == QV_OK)
        api_ok_names(resp, &names);
    qv_names_fini(&names);
    return rc;
}

qv_err api_db_describe(qv_req *req, qv_resp *resp)
{
    qv_database_info info;
    const char *name;
    qv_err rc;
    qv_jw w;

    if ((rc = api_req_str(req, "dbName", &name, &resp->err)) != QV_OK ||
        (rc = qv_catalog_get_database(req->node->catalog, name, &info, &resp->err)) != QV_OK)
        return rc;
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kstr(&w, "dbName", info.name);
    qv_jw_kint(&w, "dbID", info.id);
    qv_jw_key(&w, "properties");
    api_write_kv_pairs(&w, &info.properties);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    qv_database_info_fini(&info);
    return QV_OK;
}

qv_err api_db_drop(qv_req *req, qv_resp *resp)
{
    const char *name;
    qv_err rc;

    if ((rc = api_req_str(req, "dbName", &name, &resp->err)) != QV_OK ||
        (rc = qv_catalog_drop_database(req->node->catalog, name, &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

qv_err api_db_alter(qv_req *req, qv_resp *resp)
{
    const char *name;
    qv_kvlist props;
    qv_err rc;

    if ((rc = api_req_str(req, "dbName", &name, &resp->err)) != QV_OK)
        return rc;
    if ((rc = api_props(req, "properties", &props, &resp->err)) == QV_OK &&
        (rc = qv_catalog_alter_database(req->node->catalog, name, &props, NULL, &resp->err)) ==
            QV_OK)
        api_ok_empty(resp);
    qv_kvlist_fini(&props);
    return rc;
}

qv_err api_db_drop_properties(qv_req *req, qv_resp *resp)
{
    const char *name;
    qv_names keys;
    qv_err rc;

    if ((rc = api_req_str(req, "dbName", &name, &resp->err)) != QV_OK)
        return rc;
    if ((rc = api_str_list(req, "propertyKeys", true, &keys, &resp->err)) == QV_OK &&
        (rc = qv_catalog_alter_database(req->node->catalog, name, NULL, &keys, &resp->err)) ==
            QV_OK)
        api_ok_empty(resp);
    qv_names_fini(&keys);
    return rc;
}
