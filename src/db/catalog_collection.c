/* SPDX-License-Identifier: Apache-2.0 */
/* catalog_collection.c - collections, partitions, load state and index definitions. */
#include <string.h>

#include "db/catalog_db.h"
#include "quiver/alloc.h"
#include "quiver/scalar_index.h"

#define NOCOLL_FMT "can't find collection[database=%s][collection=%s]"

void qv_index_def_fini(qv_index_def *d)
{
    if (!d)
        return;
    qv_free(d->name);
    qv_free(d->field);
    qv_free(d->index_type);
    qv_free(d->metric_type);
    qv_kvlist_fini(&d->params);
    qv_kvlist_fini(&d->properties);
    memset(d, 0, sizeof *d);
}

void qv_collection_info_fini(qv_collection_info *c)
{
    if (!c)
        return;
    qv_free(c->db);
    qv_free(c->name);
    qv_schema_fini(&c->schema);
    qv_kvlist_fini(&c->properties);
    qv_free(c->consistency_level);
    for (size_t i = 0; i < c->partition_count; i++)
        qv_free(c->partitions[i].name);
    qv_free(c->partitions);
    for (size_t i = 0; i < c->index_count; i++)
        qv_index_def_fini(&c->indexes[i]);
    qv_free(c->indexes);
    qv_names_fini(&c->aliases);
    memset(c, 0, sizeof *c);
}

qv_collection_info *cat_find_collection(const cat_state *s, const char *db, const char *name)
{
    for (size_t i = 0; i < s->coll_count; i++)
        if (strcmp(s->colls[i].db, db) == 0 && strcmp(s->colls[i].name, name) == 0)
            return &s->colls[i];
    return NULL;
}

qv_collection_info *cat_resolve(const cat_state *s, const char *db, const char *name)
{
    qv_collection_info *ci = cat_find_collection(s, db, name);
    const qv_alias_info *a;

    if (!ci && (a = cat_find_alias(s, db, name)))
        ci = cat_find_collection(s, db, a->collection);
    return ci;
}

/* Resolve db + name or alias for a change; QV_ENODB / QV_ENOCOLL. */
static qv_err coll_lookup(const cat_state *s, const char *db, const char *name,
                          qv_collection_info **out, qv_error *err)
{
    qv_err rc = cat_require_db(s, db, err);

    if (rc != QV_OK)
        return rc;
    if (!(*out = cat_resolve(s, db, name)))
        return qv_error_set(err, QV_ENOCOLL, NOCOLL_FMT, db, name);
    return QV_OK;
}

static bool schemas_equal(const qv_schema *a, const qv_schema *b)
{
    qv_buf ea, eb;
    bool same;

    qv_buf_init(&ea);
    qv_buf_init(&eb);
    catalog_encode_schema(&ea, a, false);
    catalog_encode_schema(&eb, b, false);
    same = !ea.failed && !eb.failed && ea.len == eb.len && memcmp(ea.data, eb.data, ea.len) == 0;
    qv_buf_fini(&ea);
    qv_buf_fini(&eb);
    return same;
}

static qv_err coll_add_partition(qv_collection_info *ci, int64_t id, const char *name,
                                 bool loaded)
{
    qv_partition_info *p = qv_reallocarray(ci->partitions, ci->partition_count + 1, sizeof *p);

    if (!p)
        return QV_ENOMEM;
    ci->partitions = p;
    p = &p[ci->partition_count];
    if (!(p->name = qv_strdup(name)))
        return QV_ENOMEM;
    p->id = id;
    p->loaded = loaded;
    ci->partition_count++;
    return QV_OK;
}

static qv_err coll_create(cat_state *s, const qv_collection_info *spec, qv_error *err)
{
    qv_collection_info *existing, *colls, *ci;
    qv_err rc;

    if ((rc = cat_require_db(s, spec->db, err)) != QV_OK)
        return rc;
    if ((existing = cat_find_collection(s, spec->db, spec->name))) {
        if (schemas_equal(&existing->schema, &spec->schema))
            return QV_OK;
        return qv_error_set(err, QV_EUNEXPECTED,
                            "create duplicate collection with different parameters, "
                            "collection: %s",
                            spec->name);
    }
    if (cat_find_alias(s, spec->db, spec->name))
        return qv_error_set(err, QV_EINVAL,
                            "collection name [%s] conflicts with an existing alias, please choose "
                            "a unique name: invalid parameter",
                            spec->name);
    if (s->coll_count >= QV_MAX_COLLECTIONS)
        return qv_error_set(err, QV_EUNEXPECTED, "exceeded the limit number of collections");
    if (!(colls = qv_reallocarray(s->colls, s->coll_count + 1, sizeof *colls)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    s->colls = colls;
    ci = &colls[s->coll_count];
    if (catalog_collection_copy(ci, spec) != QV_OK)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    s->coll_count++;
    qv_names_fini(&ci->aliases);
    ci->id = s->next_id++;
    ci->created_ms = catalog_now_ms();
    for (size_t i = 0; i < ci->schema.field_count; i++)
        ci->schema.fields[i].id = 100 + (int64_t)i; /* Milvus numbers user fields from 100 */
    for (size_t i = 0; i < ci->index_count; i++)
        ci->indexes[i].id = s->next_id++;
    for (size_t i = 0; i < ci->partition_count; i++) { /* a partition key's hidden ones */
        ci->partitions[i].id = s->next_id++;
        ci->partitions[i].loaded = ci->load_state == QV_LOAD_LOADED;
    }
    if (ci->partition_count == 0 &&
        coll_add_partition(ci, s->next_id++, QV_DEFAULT_PARTITION,
                           ci->load_state == QV_LOAD_LOADED) != QV_OK)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    return QV_OK;
}

qv_err qv_catalog_create_collection(qv_catalog *c, const qv_collection_info *spec,
                                    qv_error *err)
{
    qv_err rc = qv_name_validate(QV_NAME_COLLECTION, spec->name, err);

    if (rc == QV_OK)
        rc = qv_schema_validate(&spec->schema, err);
    if (rc != QV_OK)
        return rc;
    return cat_write_end(c, coll_create(cat_write_begin(c), spec, err), err);
}

static qv_err coll_drop(cat_state *s, const char *db, const char *name, qv_error *err)
{
    qv_collection_info *ci;
    qv_names aliases = {0};
    qv_err rc;

    if ((rc = cat_require_db(s, db, err)) != QV_OK)
        return rc;
    if (cat_find_alias(s, db, name)) /* Milvus refuses rather than dropping nothing */
        return qv_error_set(err, QV_EUNEXPECTED, "cannot drop the collection via alias = %s",
                            name);
    if (!(ci = cat_find_collection(s, db, name)))
        return QV_OK;
    if (cat_aliases_of(s, db, name, &aliases) != QV_OK)
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    else if (aliases.count)
        rc = qv_error_set(err, QV_EUNEXPECTED,
                          "unable to drop the collection [%s] because it has associated aliases "
                          "[%s%s], please remove all aliases before dropping the collection",
                          name, aliases.items[0], aliases.count > 1 ? " ..." : "");
    qv_names_fini(&aliases);
    if (rc != QV_OK)
        return rc;
    qv_collection_info_fini(ci);
    memmove(ci, ci + 1, (size_t)(&s->colls[s->coll_count] - (ci + 1)) * sizeof *ci);
    s->coll_count--;
    return QV_OK;
}

qv_err qv_catalog_drop_collection(qv_catalog *c, const char *db, const char *name,
                                  qv_error *err)
{
    return cat_write_end(c, coll_drop(cat_write_begin(c), db, name, err), err);
}

qv_err qv_catalog_has_collection(qv_catalog *c, const char *db, const char *name, bool *out,
                                 qv_error *err)
{
    const cat_state *s = cat_read_begin(c);
    qv_err rc = cat_require_db(s, db, err);

    *out = rc == QV_OK && cat_resolve(s, db, name) != NULL; /* Milvus resolves aliases */
    return cat_read_end(c, rc);
}

qv_err qv_catalog_list_collections(qv_catalog *c, const char *db, qv_names *out, qv_error *err)
{
    const cat_state *s = cat_read_begin(c);
    qv_err rc = cat_require_db(s, db, err);

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->coll_count && rc == QV_OK; i++)
        if (strcmp(s->colls[i].db, db) == 0 && qv_names_add(out, s->colls[i].name) != QV_OK)
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    if (rc != QV_OK)
        qv_names_fini(out);
    return cat_read_end(c, rc);
}

qv_err qv_catalog_get_collection(qv_catalog *c, const char *db, const char *name_or_alias,
                                 qv_collection_info *out, qv_error *err)
{
    const cat_state *s = cat_read_begin(c);
    qv_collection_info *ci;
    qv_err rc;

    memset(out, 0, sizeof *out);
    if ((rc = coll_lookup(s, db, name_or_alias, &ci, err)) != QV_OK)
        return cat_read_end(c, rc);
    if (catalog_collection_copy(out, ci) != QV_OK ||
        cat_aliases_of(s, db, ci->name, &out->aliases) != QV_OK) {
        qv_collection_info_fini(out);
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    return cat_read_end(c, rc);
}

static qv_err coll_rename(cat_state *s, const char *db, const char *name, const char *new_db,
                          const char *new_name, qv_error *err)
{
    qv_collection_info *ci;
    char *d, *n;
    qv_err rc;

    if ((rc = cat_require_db(s, db, err)) != QV_OK || (rc = cat_require_db(s, new_db, err)))
        return rc;
    if (!(ci = cat_find_collection(s, db, name)))
        return qv_error_set(err, QV_ENOCOLL, NOCOLL_FMT, db, name);
    if (cat_find_collection(s, new_db, new_name) || cat_find_alias(s, new_db, new_name))
        return qv_error_set(err, QV_EUNEXPECTED,
                            "duplicated new collection name %s:%s with other collection name or "
                            "alias",
                            new_db, new_name);
    if (strcmp(db, new_db) != 0) {
        qv_names aliases = {0};
        rc = cat_aliases_of(s, db, name, &aliases) != QV_OK ? QV_ENOMEM : QV_OK;
        if (rc == QV_OK && aliases.count)
            rc = qv_error_set(err, QV_EUNEXPECTED,
                              "fail to rename collection to different database, must drop all "
                              "aliases of collection %s before rename",
                              name);
        qv_names_fini(&aliases);
        if (rc != QV_OK)
            return rc == QV_ENOMEM ? qv_error_set(err, rc, "out of memory") : rc;
    }
    if (!(d = qv_strdup(new_db)) || !(n = qv_strdup(new_name))) {
        qv_free(d);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < s->alias_count; i++) {
        if (strcmp(s->aliases[i].db, db) == 0 && strcmp(s->aliases[i].collection, name) == 0) {
            char *target = qv_strdup(new_name);
            if (!target) {
                qv_free(d);
                qv_free(n);
                return qv_error_set(err, QV_ENOMEM, "out of memory");
            }
            qv_free(s->aliases[i].collection);
            s->aliases[i].collection = target;
        }
    }
    qv_free(ci->db);
    qv_free(ci->name);
    ci->db = d;
    ci->name = n;
    return QV_OK;
}

qv_err qv_catalog_rename_collection(qv_catalog *c, const char *db, const char *name,
                                    const char *new_db, const char *new_name, qv_error *err)
{
    qv_err rc = qv_name_validate(QV_NAME_COLLECTION, new_name, err);

    if (rc != QV_OK)
        return rc;
    return cat_write_end(c, coll_rename(cat_write_begin(c), db, name, new_db, new_name, err),
                         err);
}

static qv_err coll_alter(cat_state *s, const char *db, const char *name, const qv_kvlist *props,
                         const qv_names *drop, qv_error *err)
{
    qv_collection_info *ci;
    qv_err rc = coll_lookup(s, db, name, &ci, err);

    return rc != QV_OK ? rc : cat_alter_props(&ci->properties, props, drop, err);
}

qv_err qv_catalog_alter_collection(qv_catalog *c, const char *db, const char *name,
                                   const qv_kvlist *props, const qv_names *drop_keys,
                                   qv_error *err)
{
    return cat_write_end(c, coll_alter(cat_write_begin(c), db, name, props, drop_keys, err), err);
}

/* Milvus refuses to load a collection whose vector fields lack an index. */
static qv_err require_vector_indexes(const qv_collection_info *ci, qv_error *err)
{
    for (size_t i = 0; i < ci->schema.field_count; i++) {
        const qv_field *f = &ci->schema.fields[i];
        bool indexed = false;
        if (!qv_type_is_vector(f->type))
            continue;
        for (size_t j = 0; j < ci->index_count && !indexed; j++)
            indexed = strcmp(ci->indexes[j].field, f->name) == 0;
        if (!indexed)
            return qv_error_set(err, QV_ENOINDEX,
                                "there is no vector index on field: [%s], please create index "
                                "firstly: collection=%s: index not found",
                                f->name, ci->name);
    }
    return QV_OK;
}

static qv_partition_info *find_partition(const qv_collection_info *ci, const char *name)
{
    for (size_t i = 0; i < ci->partition_count; i++)
        if (strcmp(ci->partitions[i].name, name) == 0)
            return &ci->partitions[i];
    return NULL;
}

static void refresh_load_state(qv_collection_info *ci)
{
    size_t loaded = 0;

    for (size_t i = 0; i < ci->partition_count; i++)
        loaded += ci->partitions[i].loaded;
    ci->load_state = loaded ? QV_LOAD_LOADED : QV_LOAD_NOT_LOAD;
}

static qv_err coll_set_loaded(cat_state *s, const char *db, const char *name,
                              const qv_names *parts, bool loaded, qv_error *err)
{
    qv_collection_info *ci;
    qv_err rc = coll_lookup(s, db, name, &ci, err);

    if (rc != QV_OK || (loaded && (rc = require_vector_indexes(ci, err)) != QV_OK))
        return rc;
    if (parts && qv_schema_partition_key(&ci->schema))
        return qv_error_set(err, QV_EUNEXPECTED,
                            "disable %s partitions if partition key mode is used",
                            loaded ? "load" : "release");
    for (size_t i = 0; parts && i < parts->count; i++)
        if (!find_partition(ci, parts->items[i]))
            return qv_error_set(err, QV_ENOPART, "partition not found[partition=%s]",
                                parts->items[i]);
    for (size_t i = 0; i < ci->partition_count; i++)
        if (!parts)
            ci->partitions[i].loaded = loaded;
    for (size_t i = 0; parts && i < parts->count; i++)
        find_partition(ci, parts->items[i])->loaded = loaded;
    refresh_load_state(ci);
    return QV_OK;
}

qv_err qv_catalog_set_loaded(qv_catalog *c, const char *db, const char *name,
                             const qv_names *partitions, bool loaded, qv_error *err)
{
    return cat_write_end(c, coll_set_loaded(cat_write_begin(c), db, name, partitions, loaded, err),
                         err);
}

static qv_err part_create(cat_state *s, const char *db, const char *coll, const char *name,
                          qv_error *err)
{
    qv_collection_info *ci;
    qv_err rc = coll_lookup(s, db, coll, &ci, err);

    if (rc == QV_OK && qv_schema_partition_key(&ci->schema))
        return qv_error_set(err, QV_EUNEXPECTED,
                            "disable create partition if partition key mode is used");
    if (rc != QV_OK || find_partition(ci, name))
        return rc; /* Milvus: creating an existing partition succeeds */
    if (ci->partition_count >= QV_MAX_PARTITIONS)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "partition number (%zu) exceeds max configuration (%d), collection: %s",
                            ci->partition_count, QV_MAX_PARTITIONS, ci->name);
    if (coll_add_partition(ci, s->next_id++, name, false) != QV_OK)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    return QV_OK;
}

qv_err qv_catalog_create_partition(qv_catalog *c, const char *db, const char *coll,
                                   const char *name, qv_error *err)
{
    qv_err rc = qv_name_validate(QV_NAME_PARTITION, name, err);

    if (rc != QV_OK)
        return rc;
    return cat_write_end(c, part_create(cat_write_begin(c), db, coll, name, err), err);
}

static qv_err part_drop(cat_state *s, const char *db, const char *coll, const char *name,
                        qv_error *err)
{
    qv_collection_info *ci;
    qv_partition_info *p;
    qv_err rc = coll_lookup(s, db, coll, &ci, err);

    if (rc != QV_OK)
        return rc;
    if (qv_schema_partition_key(&ci->schema))
        return qv_error_set(err, QV_EUNEXPECTED,
                            "disable drop partition if partition key mode is used");
    if (strcmp(name, QV_DEFAULT_PARTITION) == 0)
        return qv_error_set(err, QV_EUNEXPECTED, "default partition cannot be deleted");
    if (!(p = find_partition(ci, name)))
        return QV_OK; /* Milvus: dropping a missing partition succeeds */
    if (p->loaded)
        return qv_error_set(err, QV_EINVAL,
                            "partition cannot be dropped, partition is loaded, please release it "
                            "first");
    qv_free(p->name);
    memmove(p, p + 1, (size_t)(&ci->partitions[ci->partition_count] - (p + 1)) * sizeof *p);
    ci->partition_count--;
    return QV_OK;
}

qv_err qv_catalog_drop_partition(qv_catalog *c, const char *db, const char *coll,
                                 const char *name, qv_error *err)
{
    return cat_write_end(c, part_drop(cat_write_begin(c), db, coll, name, err), err);
}

static qv_index_def *find_index(const qv_collection_info *ci, const char *name)
{
    for (size_t i = 0; i < ci->index_count; i++)
        if (strcmp(ci->indexes[i].name, name) == 0)
            return &ci->indexes[i];
    return NULL;
}

static bool index_same(const qv_index_def *a, const qv_index_def *b)
{
    if (strcmp(a->field, b->field) || strcmp(a->index_type, b->index_type) ||
        strcmp(a->metric_type, b->metric_type) || a->params.count != b->params.count)
        return false;
    for (size_t i = 0; i < a->params.count; i++) {
        const char *v = qv_kvlist_get(&b->params, a->params.items[i].key);
        if (!v || strcmp(v, a->params.items[i].value) != 0)
            return false;
    }
    return true;
}

static bool json_paths_differ(const qv_index_def *a, const qv_index_def *b)
{
    const char *pa = qv_kvlist_get(&a->params, "json_path");
    const char *pb = qv_kvlist_get(&b->params, "json_path");
    return pa && pb && strcmp(pa, pb) != 0;
}

static qv_err index_add(cat_state *s, const char *db, const char *coll, const qv_index_def *def,
                        qv_error *err)
{
    qv_collection_info *ci;
    qv_index_def *items, *d;
    qv_err rc = coll_lookup(s, db, coll, &ci, err);

    if (rc != QV_OK)
        return rc;
    size_t scalar = 0;

    for (size_t i = 0; i < ci->index_count; i++) {
        const qv_index_def *x = &ci->indexes[i];
        scalar += !*x->metric_type;
        if (strcmp(x->field, def->field) != 0 && strcmp(x->name, def->name) != 0)
            continue;
        if (strcmp(x->name, def->name) != 0 && json_paths_differ(x, def))
            continue; /* a JSON field may have one index per path */
        if (strcmp(x->name, def->name) == 0 && index_same(x, def))
            return QV_OK; /* Milvus: the same index again succeeds */
        return qv_error_set(err, QV_EUNEXPECTED,
                            "CreateIndex failed: at most one distinct index is allowed per field");
    }
    if (!*def->metric_type && scalar >= QV_MAX_SCALAR_INDEXES)
        return qv_error_set(err, QV_EINVAL,
                            "a collection has at most %d scalar indexes: invalid parameter",
                            QV_MAX_SCALAR_INDEXES);
    if (!(items = qv_reallocarray(ci->indexes, ci->index_count + 1, sizeof *items)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    ci->indexes = items;
    d = &items[ci->index_count];
    memset(d, 0, sizeof *d);
    ci->index_count++;
    d->id = s->next_id++;
    if (!(d->name = qv_strdup(def->name)) || !(d->field = qv_strdup(def->field)) ||
        !(d->index_type = qv_strdup(def->index_type)) ||
        !(d->metric_type = qv_strdup(def->metric_type)) ||
        qv_kvlist_copy(&d->params, &def->params) != QV_OK ||
        qv_kvlist_copy(&d->properties, &def->properties) != QV_OK)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    return QV_OK;
}

qv_err qv_catalog_add_index(qv_catalog *c, const char *db, const char *coll,
                            const qv_index_def *def, qv_error *err)
{
    return cat_write_end(c, index_add(cat_write_begin(c), db, coll, def, err), err);
}

static qv_err index_drop(cat_state *s, const char *db, const char *coll, const char *name,
                         qv_error *err)
{
    qv_collection_info *ci;
    qv_index_def *d;
    qv_err rc = coll_lookup(s, db, coll, &ci, err);

    if (rc != QV_OK)
        return rc;
    if (!(d = find_index(ci, name)))
        return QV_OK; /* Milvus: dropping a missing index succeeds */
    /* unlike Milvus, a loaded collection may drop an index: its field is then searched
     * exactly (brute force) */
    qv_index_def_fini(d);
    memmove(d, d + 1, (size_t)(&ci->indexes[ci->index_count] - (d + 1)) * sizeof *d);
    ci->index_count--;
    return QV_OK;
}

qv_err qv_catalog_drop_index(qv_catalog *c, const char *db, const char *coll,
                             const char *index_name, qv_error *err)
{
    return cat_write_end(c, index_drop(cat_write_begin(c), db, coll, index_name, err), err);
}

static qv_err index_alter(cat_state *s, const char *db, const char *coll, const char *name,
                          const qv_kvlist *props, const qv_names *drop, qv_error *err)
{
    qv_collection_info *ci;
    qv_index_def *d;
    qv_err rc = coll_lookup(s, db, coll, &ci, err);

    if (rc != QV_OK)
        return rc;
    if (!(d = find_index(ci, name)))
        return qv_error_set(err, QV_ENOINDEX, "index not found[indexName=%s]", name);
    return cat_alter_props(&d->properties, props, drop, err);
}

qv_err qv_catalog_alter_index(qv_catalog *c, const char *db, const char *coll,
                              const char *index_name, const qv_kvlist *props,
                              const qv_names *drop_keys, qv_error *err)
{
    return cat_write_end(
        c, index_alter(cat_write_begin(c), db, coll, index_name, props, drop_keys, err), err);
}
