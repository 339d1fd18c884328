/* SPDX-License-Identifier: Apache-2.0 */
/* catalog_db.h - helpers shared by catalog.c and catalog_collection.c. */
#ifndef QUIVER_CATALOG_DB_H
#define QUIVER_CATALOG_DB_H

#include "db/catalog_int.h"
#include "quiver/names.h"

uint64_t catalog_now_ms(void);
cat_state *cat_write_begin(qv_catalog *c);
/* Persist on rc == QV_OK, else (or if persisting fails) restore; unlock; return rc. */
qv_err cat_write_end(qv_catalog *c, qv_err rc, qv_error *err);
const cat_state *cat_read_begin(qv_catalog *c);
qv_err cat_read_end(qv_catalog *c, qv_err rc);

qv_database_info *cat_find_db(const cat_state *s, const char *name);
qv_err cat_require_db(const cat_state *s, const char *db, qv_error *err);
qv_alias_info *cat_find_alias(const cat_state *s, const char *db, const char *alias);
qv_collection_info *cat_find_collection(const cat_state *s, const char *db, const char *name);
/* By name, then by alias. */
qv_collection_info *cat_resolve(const cat_state *s, const char *db, const char *name);
qv_err cat_aliases_of(const cat_state *s, const char *db, const char *coll, qv_names *out);
qv_err cat_alter_props(qv_kvlist *l, const qv_kvlist *set, const qv_names *drop, qv_error *err);

#endif
