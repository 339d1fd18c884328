/* SPDX-License-Identifier: Apache-2.0 */
/* catalog.c - catalog lifecycle, locking and persistence; databases and aliases.
 * Collection, partition and index changes are in catalog_collection.c.
 *
 * Every change runs between cat_write_begin() and cat_write_end(): the state is
 * changed in place, then encoded and written atomically; if the change or the
 * write fails, the state is restored from the last persisted encoding. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/catalog_db.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

#define CATALOG_FILE "catalog.qvc"
#define CATALOG_MAX_BYTES (256u << 20)

uint64_t catalog_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void qv_names_fini(qv_names *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->count; i++)
        qv_free(n->items[i]);
    qv_free(n->items);
    memset(n, 0, sizeof *n);
}

qv_err qv_names_add(qv_names *n, const char *s)
{
    char **items = qv_reallocarray(n->items, n->count + 1, sizeof *items);

    if (!items)
        return QV_ENOMEM;
    n->items = items;
    if (!(items[n->count] = qv_strdup(s)))
        return QV_ENOMEM;
    n->count++;
    return QV_OK;
}

void qv_database_info_fini(qv_database_info *d)
{
    if (!d)
        return;
    qv_free(d->name);
    qv_kvlist_fini(&d->properties);
    memset(d, 0, sizeof *d);
}

void qv_alias_info_fini(qv_alias_info *a)
{
    if (!a)
        return;
    qv_free(a->db);
    qv_free(a->alias);
    qv_free(a->collection);
    memset(a, 0, sizeof *a);
}

void catalog_state_fini(cat_state *s)
{
    for (size_t i = 0; i < s->db_count; i++)
        qv_database_info_fini(&s->dbs[i]);
    for (size_t i = 0; i < s->coll_count; i++)
        qv_collection_info_fini(&s->colls[i]);
    for (size_t i = 0; i < s->alias_count; i++)
        qv_alias_info_fini(&s->aliases[i]);
    qv_free(s->dbs);
    qv_free(s->colls);
    qv_free(s->aliases);
    memset(s, 0, sizeof *s);
}

/* ---- persistence ---------------------------------------------------------------------- */

static qv_err catalog_persist(qv_catalog *c, qv_buf *encoded, qv_error *err)
{
    qv_err rc;

    catalog_encode(&c->state, encoded);
    if ((rc = qv_buf_status(encoded, err)) != QV_OK)
        return rc;
    return qv_io_write_file_atomic(c->io, c->path, encoded->data, encoded->len, err);
}

cat_state *cat_write_begin(qv_catalog *c)
{
    pthread_rwlock_wrlock(&c->lock);
    return &c->state;
}

qv_err cat_write_end(qv_catalog *c, qv_err rc, qv_error *err)
{
    qv_buf encoded;

    qv_buf_init(&encoded);
    if (rc == QV_OK) {
        c->state.version++;
        if ((rc = catalog_persist(c, &encoded, err)) != QV_OK)
            qv_log_error("catalog", "persisting the catalog failed: %s",
                         err ? err->msg : qv_err_title(rc));
    }
    if (rc == QV_OK) {
        qv_buf_fini(&c->persisted);
        c->persisted = encoded;
    } else {
        /* restore the last persisted state; it decoded before, so it decodes again */
        cat_state old;
        qv_buf_fini(&encoded);
        if (catalog_decode(c->persisted.data, c->persisted.len, &old, NULL) == QV_OK) {
            catalog_state_fini(&c->state);
            c->state = old;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

const cat_state *cat_read_begin(qv_catalog *c)
{
    pthread_rwlock_rdlock(&c->lock);
    return &c->state;
}

qv_err cat_read_end(qv_catalog *c, qv_err rc)
{
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static qv_err catalog_init_state(cat_state *s, qv_error *err)
{
    memset(s, 0, sizeof *s);
    s->next_id = (int64_t)(catalog_now_ms() << 18);
    if (!(s->dbs = qv_calloc(1, sizeof *s->dbs)) || !(s->dbs[0].name = qv_strdup(QV_DEFAULT_DB)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    s->dbs[0].id = 1;
    s->dbs[0].created_ms = catalog_now_ms();
    s->db_count = 1;
    return QV_OK;
}

static qv_err catalog_load(qv_catalog *c, qv_error *err)
{
    void *data = NULL;
    size_t len = 0;
    qv_err rc;

    rc = qv_io_read_file(c->io, c->path, CATALOG_MAX_BYTES, &data, &len, err);
    if (rc == QV_OK) {
        if ((rc = catalog_decode(data, len, &c->state, err)) != QV_OK)
            qv_error_prefix(err, "%s: ", c->path);
        else
            qv_buf_put(&c->persisted, data, len);
        qv_free(data);
        return rc == QV_OK ? qv_buf_status(&c->persisted, err) : rc;
    }
    if (err && err->sys_errno != ENOENT)
        return rc;
    /* a new data directory */
    qv_error_clear(err);
    if ((rc = catalog_init_state(&c->state, err)) != QV_OK)
        return rc;
    return catalog_persist(c, &c->persisted, err);
}

qv_err qv_catalog_open(const char *dir, qv_io *io, qv_catalog **out, qv_error *err)
{
    qv_catalog *c = qv_calloc(1, sizeof *c);
    size_t n = strlen(dir) + sizeof CATALOG_FILE + 2;
    qv_err rc;

    if (!c || !(c->path = qv_malloc(n))) {
        qv_free(c);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    snprintf(c->path, n, "%s/%s", dir, CATALOG_FILE);
    c->io = io;
    pthread_rwlock_init(&c->lock, NULL);
    qv_buf_init(&c->persisted);
    if ((rc = catalog_load(c, err)) != QV_OK) {
        qv_catalog_close(c);
        return rc;
    }
    *out = c;
    return QV_OK;
}

void qv_catalog_close(qv_catalog *c)
{
    if (!c)
        return;
    catalog_state_fini(&c->state);
    qv_buf_fini(&c->persisted);
    pthread_rwlock_destroy(&c->lock);
    qv_free(c->path);
    qv_free(c);
}

uint64_t qv_catalog_version(qv_catalog *c)
{
    uint64_t v;

    cat_read_begin(c);
    v = c->state.version;
    cat_read_end(c, QV_OK);
    return v;
}

qv_err qv_catalog_snapshot(qv_catalog *c, qv_buf *out, qv_error *err)
{
    cat_read_begin(c);
    qv_buf_put(out, c->persisted.data, c->persisted.len);
    cat_read_end(c, QV_OK);
    return qv_buf_status(out, err);
}

/* Ids of collections in old that new lacks, into *out (caller frees). */
static qv_err dropped_ids(const cat_state *old, const cat_state *new, int64_t **out, size_t *n)
{
    *n = 0;
    if (!(*out = qv_calloc(old->coll_count + 1, sizeof **out)))
        return QV_ENOMEM;
    for (size_t i = 0; i < old->coll_count; i++) {
        bool kept = false;
        for (size_t j = 0; j < new->coll_count && !kept; j++)
            kept = new->colls[j].id == old->colls[i].id;
        if (!kept)
            (*out)[(*n)++] = old->colls[i].id;
    }
    return QV_OK;
}

qv_err qv_catalog_install(qv_catalog *c, const void *p, size_t len, bool *installed,
                          int64_t **dropped, size_t *ndropped, qv_error *err)
{
    cat_state fresh;
    qv_buf copy;
    qv_err rc = catalog_decode(p, len, &fresh, err);

    *installed = false;
    *dropped = NULL;
    *ndropped = 0;
    if (rc != QV_OK)
        return rc;
    qv_buf_init(&copy);
    qv_buf_put(&copy, p, len);
    pthread_rwlock_wrlock(&c->lock);
    if (fresh.version > c->state.version &&
        (rc = qv_buf_status(&copy, err)) == QV_OK &&
        (rc = qv_io_write_file_atomic(c->io, c->path, p, len, err)) == QV_OK &&
        (rc = dropped_ids(&c->state, &fresh, dropped, ndropped)) == QV_OK) {
        catalog_state_fini(&c->state);
        c->state = fresh;
        qv_buf_fini(&c->persisted);
        c->persisted = copy;
        *installed = true;
    }
    pthread_rwlock_unlock(&c->lock);
    if (!*installed) {
        catalog_state_fini(&fresh);
        qv_buf_fini(&copy);
    }
    return rc == QV_ENOMEM ? qv_error_set(err, rc, "out of memory") : rc;
}

/* ---- lookups shared with catalog_collection.c ----------------------------------------- */

qv_database_info *cat_find_db(const cat_state *s, const char *name)
{
    for (size_t i = 0; i < s->db_count; i++)
        if (strcmp(s->dbs[i].name, name) == 0)
            return &s->dbs[i];
    return NULL;
}

qv_err cat_require_db(const cat_state *s, const char *db, qv_error *err)
{
    return cat_find_db(s, db) ? QV_OK
                              : qv_error_set(err, QV_ENODB, "database not found[database=%s]", db);
}

qv_alias_info *cat_find_alias(const cat_state *s, const char *db, const char *alias)
{
    for (size_t i = 0; i < s->alias_count; i++)
        if (strcmp(s->aliases[i].db, db) == 0 && strcmp(s->aliases[i].alias, alias) == 0)
            return &s->aliases[i];
    return NULL;
}

/* ---- databases ------------------------------------------------------------------------ */

static qv_err db_create(cat_state *s, const char *name, const qv_kvlist *props, qv_error *err)
{
    qv_database_info *dbs, *d;

    if (cat_find_db(s, name))
        return qv_error_set(err, QV_EUNEXPECTED, "database already exist: %s", name);
    if (s->db_count >= QV_MAX_DATABASES)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "database number (%d) exceeds max configuration (%d)",
                            (int)s->db_count, QV_MAX_DATABASES);
    if (!(dbs = qv_reallocarray(s->dbs, s->db_count + 1, sizeof *dbs)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    s->dbs = dbs;
    d = &dbs[s->db_count];
    memset(d, 0, sizeof *d);
    if (!(d->name = qv_strdup(name)) ||
        (props && qv_kvlist_copy(&d->properties, props) != QV_OK)) {
        qv_database_info_fini(d);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    d->id = s->next_id++;
    d->created_ms = catalog_now_ms();
    s->db_count++;
    return QV_OK;
}

qv_err qv_catalog_create_database(qv_catalog *c, const char *name, const qv_kvlist *props,
                                  qv_error *err)
{
    qv_err rc = qv_name_validate(QV_NAME_DATABASE, name, err);

    if (rc != QV_OK)
        return rc;
    return cat_write_end(c, db_create(cat_write_begin(c), name, props, err), err);
}

static qv_err db_drop(cat_state *s, const char *name, qv_error *err)
{
    qv_database_info *d = cat_find_db(s, name);

    if (strcmp(name, QV_DEFAULT_DB) == 0)
        return qv_error_set(err, QV_EUNEXPECTED, "can not drop default database");
    if (!d)
        return QV_OK; /* Milvus: dropping a missing database succeeds */
    for (size_t i = 0; i < s->coll_count; i++)
        if (strcmp(s->colls[i].db, name) == 0)
            return qv_error_set(err, QV_EUNEXPECTED,
                                "database:%s not empty, must drop all collections before drop "
                                "database",
                                name);
    qv_database_info_fini(d);
    memmove(d, d + 1, (size_t)(&s->dbs[s->db_count] - (d + 1)) * sizeof *d);
    s->db_count--;
    return QV_OK;
}

qv_err qv_catalog_drop_database(qv_catalog *c, const char *name, qv_error *err)
{
    return cat_write_end(c, db_drop(cat_write_begin(c), name, err), err);
}

qv_err qv_catalog_list_databases(qv_catalog *c, qv_names *out, qv_error *err)
{
    const cat_state *s = cat_read_begin(c);
    qv_err rc = QV_OK;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->db_count && rc == QV_OK; i++)
        rc = qv_names_add(out, s->dbs[i].name);
    if (rc != QV_OK) {
        qv_names_fini(out);
        qv_error_set(err, rc, "out of memory");
    }
    return cat_read_end(c, rc);
}

qv_err qv_catalog_get_database(qv_catalog *c, const char *name, qv_database_info *out,
                               qv_error *err)
{
    const cat_state *s = cat_read_begin(c);
    const qv_database_info *d = cat_find_db(s, name);
    qv_err rc = QV_OK;

    memset(out, 0, sizeof *out);
    if (!d)
        return cat_read_end(c, qv_error_set(err, QV_ENODB, "database not found[database=%s]",
                                            name));
    out->id = d->id;
    out->created_ms = d->created_ms;
    if (!(out->name = qv_strdup(d->name)) ||
        qv_kvlist_copy(&out->properties, &d->properties) != QV_OK) {
        qv_database_info_fini(out);
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    return cat_read_end(c, rc);
}

/* Apply set and drop to a property list. */
qv_err cat_alter_props(qv_kvlist *l, const qv_kvlist *set, const qv_names *drop, qv_error *err)
{
    for (size_t i = 0; set && i < set->count; i++)
        if (qv_kvlist_set(l, set->items[i].key, set->items[i].value) != QV_OK)
            return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; drop && i < drop->count; i++)
        qv_kvlist_remove(l, drop->items[i]);
    return QV_OK;
}

static qv_err db_alter(cat_state *s, const char *name, const qv_kvlist *props,
                       const qv_names *drop, qv_error *err)
{
    qv_database_info *d = cat_find_db(s, name);

    if (!d)
        return qv_error_set(err, QV_ENODB, "database not found[database=%s]", name);
    return cat_alter_props(&d->properties, props, drop, err);
}

qv_err qv_catalog_alter_database(qv_catalog *c, const char *name, const qv_kvlist *props,
                                 const qv_names *drop_keys, qv_error *err)
{
    return cat_write_end(c, db_alter(cat_write_begin(c), name, props, drop_keys, err), err);
}

/* ---- aliases -------------------------------------------------------------------------- */

static qv_err alias_check_target(const cat_state *s, const char *db, const char *alias,
                                 const char *coll, qv_error *err)
{
    qv_err rc;

    if ((rc = cat_require_db(s, db, err)) != QV_OK)
        return rc;
    if (cat_find_collection(s, db, alias))
        return qv_error_set(err, QV_EALIASCONFLICT,
                            "alias and collection name conflict[database=%s][alias=%s]", db,
                            alias);
    if (!cat_find_collection(s, db, coll))
        return qv_error_set(err, QV_ENOCOLL, "can't find collection[database=%s][collection=%s]",
                            db, coll);
    return QV_OK;
}

static qv_err alias_create(cat_state *s, const char *db, const char *alias, const char *coll,
                           qv_error *err)
{
    qv_alias_info *a, *items;
    qv_err rc;

    if ((rc = alias_check_target(s, db, alias, coll, err)) != QV_OK)
        return rc;
    if ((a = cat_find_alias(s, db, alias))) {
        if (strcmp(a->collection, coll) == 0)
            return QV_OK;
        return qv_error_set(err, QV_EALIAS,
                            "alias exists and already aliased to another collection, alias: %s, "
                            "collection: %s, other collection: %s",
                            alias, coll, a->collection);
    }
    if (!(items = qv_reallocarray(s->aliases, s->alias_count + 1, sizeof *items)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    s->aliases = items;
    a = &items[s->alias_count];
    a->db = qv_strdup(db);
    a->alias = qv_strdup(alias);
    a->collection = qv_strdup(coll);
    s->alias_count++;
    if (!a->db || !a->alias || !a->collection)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    return QV_OK;
}

qv_err qv_catalog_create_alias(qv_catalog *c, const char *db, const char *alias,
                               const char *coll, qv_error *err)
{
    qv_err rc = qv_name_validate(QV_NAME_ALIAS, alias, err);

    if (rc != QV_OK)
        return rc;
    return cat_write_end(c, alias_create(cat_write_begin(c), db, alias, coll, err), err);
}

static qv_err alias_alter(cat_state *s, const char *db, const char *alias, const char *coll,
                          qv_error *err)
{
    qv_alias_info *a;
    char *name;
    qv_err rc;

    if ((rc = alias_check_target(s, db, alias, coll, err)) != QV_OK)
        return rc;
    if (!(a = cat_find_alias(s, db, alias)))
        return qv_error_set(err, QV_ENOALIAS, "alias not found[database=%s][alias=%s]", db,
                            alias);
    if (!(name = qv_strdup(coll)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    qv_free(a->collection);
    a->collection = name;
    return QV_OK;
}

qv_err qv_catalog_alter_alias(qv_catalog *c, const char *db, const char *alias,
                              const char *coll, qv_error *err)
{
    return cat_write_end(c, alias_alter(cat_write_begin(c), db, alias, coll, err), err);
}

static qv_err alias_drop(cat_state *s, const char *db, const char *alias, qv_error *err)
{
    qv_alias_info *a;
    qv_err rc;

    if ((rc = cat_require_db(s, db, err)) != QV_OK)
        return rc;
    if (!(a = cat_find_alias(s, db, alias)))
        return QV_OK; /* Milvus: dropping a missing alias succeeds */
    qv_alias_info_fini(a);
    memmove(a, a + 1, (size_t)(&s->aliases[s->alias_count] - (a + 1)) * sizeof *a);
    s->alias_count--;
    return QV_OK;
}

qv_err qv_catalog_drop_alias(qv_catalog *c, const char *db, const char *alias, qv_error *err)
{
    return cat_write_end(c, alias_drop(cat_write_begin(c), db, alias, err), err);
}

qv_err cat_aliases_of(const cat_state *s, const char *db, const char *coll, qv_names *out)
{
    for (size_t i = 0; i < s->alias_count; i++)
        if (strcmp(s->aliases[i].db, db) == 0 &&
            (!coll || strcmp(s->aliases[i].collection, coll) == 0))
            if (qv_names_add(out, s->aliases[i].alias) != QV_OK)
                return QV_ENOMEM;
    return QV_OK;
}

qv_err qv_catalog_list_aliases(qv_catalog *c, const char *db, const char *coll, qv_names *out,
                               qv_error *err)
{
    const cat_state *s = cat_read_begin(c);
    const qv_collection_info *ci;
    qv_err rc;

    memset(out, 0, sizeof *out);
    if ((rc = cat_require_db(s, db, err)) != QV_OK)
        return cat_read_end(c, rc);
    if (coll && *coll) {
        if (!(ci = cat_resolve(s, db, coll)))
            return cat_read_end(c, qv_error_set(err, QV_ENOCOLL,
                                                "can't find collection[database=%s][collection=%s]",
                                                db, coll));
        coll = ci->name;
    } else {
        coll = NULL;
    }
    if (cat_aliases_of(s, db, coll, out) != QV_OK) {
        qv_names_fini(out);
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    return cat_read_end(c, rc);
}

qv_err qv_catalog_get_alias(qv_catalog *c, const char *db, const char *alias,
                            qv_alias_info *out, qv_error *err)
{
    const cat_state *s = cat_read_begin(c);
    const qv_alias_info *a;
    qv_err rc;

    memset(out, 0, sizeof *out);
    if ((rc = cat_require_db(s, db, err)) != QV_OK)
        return cat_read_end(c, rc);
    if (!(a = cat_find_alias(s, db, alias)))
        return cat_read_end(c, qv_error_set(err, QV_ENOALIAS,
                                            "alias not found[database=%s][alias=%s]", db, alias));
    out->db = qv_strdup(a->db);
    out->alias = qv_strdup(a->alias);
    out->collection = qv_strdup(a->collection);
    if (!out->db || !out->alias || !out->collection) {
        qv_alias_info_fini(out);
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    return cat_read_end(c, rc);
}
