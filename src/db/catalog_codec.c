/* SPDX-License-Identifier: Apache-2.0 */
/* catalog_codec.c - the catalog file format.
 *
 *   offset  size  field
 *   0       8     magic "QVCATLG\0"
 *   8       4     format version (2; version 1 files still load), little-endian
 *   12      4     CRC32C of the payload
 *   16      8     payload length
 *   24      n     payload
 *
 * payload := u64 catalog_version, u64 next_id,
 *            u32 ndb,    ndb    x database,
 *            u32 ncoll,  ncoll  x collection,
 *            u32 nalias, nalias x (str db, str alias, str collection)
 * str := u32 length + bytes; kv := u32 count + count x (str key, str value)
 * database := u64 id, str name, kv properties, u64 created_ms
 * collection := u64 id, str db, str name, schema, kv properties, u32 shards_num,
 *               str consistency, u8 load_state, u64 created_ms,
 *               u32 npart x (u64 id, str name, u8 loaded),
 *               u32 nindex x (u64 id, str name, str field, str type, str metric, kv params,
 *                             kv properties)
 * schema := u8 auto_id, u8 enable_dynamic, str description, u32 nfields x field,
 *           u32 nfunctions x function                       (version 2; none in version 1)
 * function := str name, u64 id, u16 type (Milvus FunctionType: 1 BM25), str description,
 *             u32 n x str input field, u32 n x str output field, kv params
 * field := str name, u64 id, u16 type, u16 element_type, u32 dim, u32 max_length,
 *          u32 max_capacity, u8 flags (primary 1, auto_id 2, partition_key 4,
 *          clustering_key 8, nullable 16, has_default 32), value default,
 *          str description, kv type_params
 * value := u16 type, then u8 (Bool) | u64 (integers; doubles as IEEE bits) | str (VarChar)
 * All integers little-endian. Decoding is bounds-checked; any overrun is QV_ECORRUPT. */
#include <string.h>

#include "db/catalog_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"

#define CATALOG_MAGIC "QVCATLG"
#define CATALOG_FORMAT 2
#define CATALOG_HEADER 24
#define MAX_ITEMS 1000000

static void put_kv(qv_buf *b, const qv_kvlist *l)
{
    qv_buf_put_u32(b, (uint32_t)l->count);
    for (size_t i = 0; i < l->count; i++) {
        qv_buf_put_str(b, l->items[i].key);
        qv_buf_put_str(b, l->items[i].value);
    }
}

static void put_value(qv_buf *b, const qv_value *v)
{
    uint64_t bits;

    qv_buf_put_u16(b, (uint16_t)v->type);
    if (v->type == QV_TYPE_BOOL) {
        qv_buf_put_u8(b, v->u.b);
    } else if (v->type == QV_TYPE_FLOAT || v->type == QV_TYPE_DOUBLE) {
        memcpy(&bits, &v->u.d, sizeof bits);
        qv_buf_put_u64(b, bits);
    } else if (qv_type_is_integer(v->type)) {
        qv_buf_put_u64(b, (uint64_t)v->u.i);
    } else if (v->type == QV_TYPE_VARCHAR) {
        qv_buf_put_bytes(b, v->u.str.s, (uint32_t)v->u.str.len);
    }
}

static void put_field(qv_buf *b, const qv_field *f, bool with_id)
{
    qv_buf_put_str(b, f->name);
    qv_buf_put_u64(b, with_id ? (uint64_t)f->id : 0);
    qv_buf_put_u16(b, (uint16_t)f->type);
    qv_buf_put_u16(b, (uint16_t)f->element_type);
    qv_buf_put_u32(b, f->dim);
    qv_buf_put_u32(b, f->max_length);
    qv_buf_put_u32(b, f->max_capacity);
    qv_buf_put_u8(b, (uint8_t)(f->is_primary | f->auto_id << 1 | f->is_partition_key << 2 |
                               f->is_clustering_key << 3 | f->nullable << 4 |
                               f->has_default << 5));
    put_value(b, &f->default_value);
    qv_buf_put_str(b, f->description);
    put_kv(b, &f->type_params);
}

static void put_names(qv_buf *b, char *const *v, size_t n)
{
    qv_buf_put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        qv_buf_put_str(b, v[i]);
}

void catalog_encode_schema(qv_buf *b, const qv_schema *s, bool with_ids)
{
    qv_buf_put_u8(b, s->auto_id);
    qv_buf_put_u8(b, s->enable_dynamic);
    qv_buf_put_str(b, s->description);
    qv_buf_put_u32(b, (uint32_t)s->field_count);
    for (size_t i = 0; i < s->field_count; i++)
        put_field(b, &s->fields[i], with_ids);
    qv_buf_put_u32(b, (uint32_t)s->function_count);
    for (size_t i = 0; i < s->function_count; i++) {
        const qv_function *fn = &s->functions[i];
        qv_buf_put_str(b, fn->name);
        qv_buf_put_u64(b, with_ids ? (uint64_t)fn->id : 0);
        qv_buf_put_u16(b, (uint16_t)fn->type);
        qv_buf_put_str(b, fn->description);
        put_names(b, fn->inputs, fn->ninputs);
        put_names(b, fn->outputs, fn->noutputs);
        put_kv(b, &fn->params);
    }
}

static void put_collection(qv_buf *b, const qv_collection_info *c)
{
    qv_buf_put_u64(b, (uint64_t)c->id);
    qv_buf_put_str(b, c->db);
    qv_buf_put_str(b, c->name);
    catalog_encode_schema(b, &c->schema, true);
    put_kv(b, &c->properties);
    qv_buf_put_u32(b, (uint32_t)c->shards_num);
    qv_buf_put_str(b, c->consistency_level);
    qv_buf_put_u8(b, (uint8_t)c->load_state);
    qv_buf_put_u64(b, c->created_ms);
    qv_buf_put_u32(b, (uint32_t)c->partition_count);
    for (size_t i = 0; i < c->partition_count; i++) {
        qv_buf_put_u64(b, (uint64_t)c->partitions[i].id);
        qv_buf_put_str(b, c->partitions[i].name);
        qv_buf_put_u8(b, c->partitions[i].loaded);
    }
    qv_buf_put_u32(b, (uint32_t)c->index_count);
    for (size_t i = 0; i < c->index_count; i++) {
        const qv_index_def *d = &c->indexes[i];
        qv_buf_put_u64(b, (uint64_t)d->id);
        qv_buf_put_str(b, d->name);
        qv_buf_put_str(b, d->field);
        qv_buf_put_str(b, d->index_type);
        qv_buf_put_str(b, d->metric_type);
        put_kv(b, &d->params);
        put_kv(b, &d->properties);
    }
}

static void encode_payload(const cat_state *s, qv_buf *b)
{
    qv_buf_put_u64(b, s->version);
    qv_buf_put_u64(b, (uint64_t)s->next_id);
    qv_buf_put_u32(b, (uint32_t)s->db_count);
    for (size_t i = 0; i < s->db_count; i++) {
        qv_buf_put_u64(b, (uint64_t)s->dbs[i].id);
        qv_buf_put_str(b, s->dbs[i].name);
        put_kv(b, &s->dbs[i].properties);
        qv_buf_put_u64(b, s->dbs[i].created_ms);
    }
    qv_buf_put_u32(b, (uint32_t)s->coll_count);
    for (size_t i = 0; i < s->coll_count; i++)
        put_collection(b, &s->colls[i]);
    qv_buf_put_u32(b, (uint32_t)s->alias_count);
    for (size_t i = 0; i < s->alias_count; i++) {
        qv_buf_put_str(b, s->aliases[i].db);
        qv_buf_put_str(b, s->aliases[i].alias);
        qv_buf_put_str(b, s->aliases[i].collection);
    }
}

void catalog_encode(const cat_state *s, qv_buf *out)
{
    size_t start = out->len;
    uint8_t header[CATALOG_HEADER] = CATALOG_MAGIC;

    qv_buf_put(out, header, sizeof header);
    encode_payload(s, out);
    if (out->failed)
        return;
    qv_store_le32(out->data + start + 8, CATALOG_FORMAT);
    qv_store_le32(out->data + start + 12,
                  qv_crc32c(0, out->data + start + CATALOG_HEADER,
                            out->len - start - CATALOG_HEADER));
    qv_store_le64(out->data + start + 16, out->len - start - CATALOG_HEADER);
}

/* ---- decoding ------------------------------------------------------------------------- */

static uint32_t get_count(qv_reader *r)
{
    uint32_t n = qv_reader_u32(r);
    if (n > MAX_ITEMS || n > r->len - r->pos)
        r->failed = true;
    return r->failed ? 0 : n;
}

static void get_kv(qv_reader *r, qv_kvlist *l)
{
    uint32_t n = get_count(r);

    for (uint32_t i = 0; i < n && !r->failed; i++) {
        char *k = qv_reader_strdup(r), *v = qv_reader_strdup(r);
        if (!k || !v || qv_kvlist_set(l, k, v) != QV_OK)
            r->failed = true;
        qv_free(k);
        qv_free(v);
    }
}

static void get_value(qv_reader *r, qv_value *v)
{
    uint64_t bits;

    v->type = (qv_type)qv_reader_u16(r);
    if (v->type == QV_TYPE_BOOL) {
        v->u.b = qv_reader_u8(r) != 0;
    } else if (v->type == QV_TYPE_FLOAT || v->type == QV_TYPE_DOUBLE) {
        bits = qv_reader_u64(r);
        memcpy(&v->u.d, &bits, sizeof bits);
    } else if (qv_type_is_integer(v->type)) {
        v->u.i = (int64_t)qv_reader_u64(r);
    } else if (v->type == QV_TYPE_VARCHAR) {
        uint32_t n = qv_reader_u32(r);
        const char *s = qv_reader_bytes(r, n);
        if (!s || !(v->u.str.s = qv_strndup(s, n))) {
            v->type = QV_TYPE_NONE;
            r->failed = true;
            return;
        }
        v->u.str.len = n;
    } else if (v->type != QV_TYPE_NONE) {
        r->failed = true;
    }
}

static void get_field(qv_reader *r, qv_field *f)
{
    uint8_t flags;

    f->name = qv_reader_strdup(r);
    f->id = (int64_t)qv_reader_u64(r);
    f->type = (qv_type)qv_reader_u16(r);
    f->element_type = (qv_type)qv_reader_u16(r);
    f->dim = qv_reader_u32(r);
    f->max_length = qv_reader_u32(r);
    f->max_capacity = qv_reader_u32(r);
    flags = qv_reader_u8(r);
    f->is_primary = flags & 1;
    f->auto_id = flags & 2;
    f->is_partition_key = flags & 4;
    f->is_clustering_key = flags & 8;
    f->nullable = flags & 16;
    f->has_default = flags & 32;
    get_value(r, &f->default_value);
    f->description = qv_reader_strdup(r);
    get_kv(r, &f->type_params);
    if (!f->name || !f->description)
        r->failed = true;
}

static char **get_names(qv_reader *r, size_t *count)
{
    uint32_t n = get_count(r);
    char **v = r->failed ? NULL : qv_calloc(n ? n : 1, sizeof *v);

    *count = 0;
    if (!v) {
        r->failed = true;
        return NULL;
    }
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        if (!(v[i] = qv_reader_strdup(r)))
            r->failed = true;
        else
            *count = i + 1;
    }
    return v;
}

static void get_function(qv_reader *r, qv_function *fn)
{
    fn->name = qv_reader_strdup(r);
    fn->id = (int64_t)qv_reader_u64(r);
    fn->type = (qv_function_type)qv_reader_u16(r);
    fn->description = qv_reader_strdup(r);
    fn->inputs = get_names(r, &fn->ninputs);
    fn->outputs = get_names(r, &fn->noutputs);
    get_kv(r, &fn->params);
    if (!fn->name || !fn->description)
        r->failed = true;
}

static void get_schema(qv_reader *r, qv_schema *s, uint32_t version)
{
    uint32_t n;

    s->auto_id = qv_reader_u8(r);
    s->enable_dynamic = qv_reader_u8(r);
    s->description = qv_reader_strdup(r);
    n = get_count(r);
    if (r->failed || !(s->fields = qv_calloc(n ? n : 1, sizeof *s->fields))) {
        r->failed = true;
        return;
    }
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        get_field(r, &s->fields[i]);
        s->field_count = i + 1;
    }
    if (version < 2 || r->failed)
        return;
    n = get_count(r);
    if (n && !r->failed && !(s->functions = qv_calloc(n, sizeof *s->functions)))
        r->failed = true;
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        get_function(r, &s->functions[i]);
        s->function_count = i + 1;
    }
}

static void get_index(qv_reader *r, qv_index_def *d)
{
    d->id = (int64_t)qv_reader_u64(r);
    d->name = qv_reader_strdup(r);
    d->field = qv_reader_strdup(r);
    d->index_type = qv_reader_strdup(r);
    d->metric_type = qv_reader_strdup(r);
    get_kv(r, &d->params);
    get_kv(r, &d->properties);
    if (!d->name || !d->field || !d->index_type || !d->metric_type)
        r->failed = true;
}

static void get_collection(qv_reader *r, qv_collection_info *c, uint32_t version)
{
    uint32_t n;

    c->id = (int64_t)qv_reader_u64(r);
    c->db = qv_reader_strdup(r);
    c->name = qv_reader_strdup(r);
    get_schema(r, &c->schema, version);
    get_kv(r, &c->properties);
    c->shards_num = (int32_t)qv_reader_u32(r);
    c->consistency_level = qv_reader_strdup(r);
    c->load_state = (qv_load_state)qv_reader_u8(r);
    c->created_ms = qv_reader_u64(r);
    n = get_count(r);
    if (!r->failed && !(c->partitions = qv_calloc(n ? n : 1, sizeof *c->partitions)))
        r->failed = true;
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        c->partitions[i].id = (int64_t)qv_reader_u64(r);
        c->partitions[i].name = qv_reader_strdup(r);
        c->partitions[i].loaded = qv_reader_u8(r) != 0;
        c->partition_count = i + 1;
    }
    n = get_count(r);
    if (!r->failed && !(c->indexes = qv_calloc(n ? n : 1, sizeof *c->indexes)))
        r->failed = true;
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        get_index(r, &c->indexes[i]);
        c->index_count = i + 1;
    }
    if (!c->db || !c->name || !c->consistency_level)
        r->failed = true;
}

static void *alloc_items(qv_reader *r, uint32_t n, size_t size)
{
    void *p = r->failed ? NULL : qv_calloc(n ? n : 1, size);
    if (!p)
        r->failed = true;
    return p;
}

static void decode_payload(qv_reader *r, cat_state *s, uint32_t version)
{
    uint32_t n;

    s->version = qv_reader_u64(r);
    s->next_id = (int64_t)qv_reader_u64(r);
    n = get_count(r);
    s->dbs = alloc_items(r, n, sizeof *s->dbs);
    for (uint32_t i = 0; i < n && !r->failed; i++, s->db_count++) {
        s->dbs[i].id = (int64_t)qv_reader_u64(r);
        s->dbs[i].name = qv_reader_strdup(r);
        get_kv(r, &s->dbs[i].properties);
        s->dbs[i].created_ms = qv_reader_u64(r);
        r->failed |= !s->dbs[i].name;
    }
    n = get_count(r);
    s->colls = alloc_items(r, n, sizeof *s->colls);
    for (uint32_t i = 0; i < n && !r->failed; i++, s->coll_count++)
        get_collection(r, &s->colls[i], version);
    n = get_count(r);
    s->aliases = alloc_items(r, n, sizeof *s->aliases);
    for (uint32_t i = 0; i < n && !r->failed; i++, s->alias_count++) {
        s->aliases[i].db = qv_reader_strdup(r);
        s->aliases[i].alias = qv_reader_strdup(r);
        s->aliases[i].collection = qv_reader_strdup(r);
        r->failed |= !s->aliases[i].db || !s->aliases[i].alias || !s->aliases[i].collection;
    }
}

qv_err catalog_decode(const uint8_t *p, size_t len, cat_state *out, qv_error *err)
{
    qv_reader r;
    uint64_t plen;

    memset(out, 0, sizeof *out);
    if (len < CATALOG_HEADER || memcmp(p, CATALOG_MAGIC, 8) != 0)
        return qv_error_set(err, QV_ECORRUPT, "catalog: bad magic");
    if (qv_load_le32(p + 8) < 1 || qv_load_le32(p + 8) > CATALOG_FORMAT)
        return qv_error_set(err, QV_ECORRUPT, "catalog: unsupported format version %u",
                            qv_load_le32(p + 8));
    plen = qv_load_le64(p + 16);
    if (plen != len - CATALOG_HEADER)
        return qv_error_set(err, QV_ECORRUPT, "catalog: length %llu but file holds %zu bytes",
                            (unsigned long long)plen, len - CATALOG_HEADER);
    if (qv_crc32c(0, p + CATALOG_HEADER, plen) != qv_load_le32(p + 12))
        return qv_error_set(err, QV_ECORRUPT, "catalog: checksum mismatch");
    qv_reader_init(&r, p + CATALOG_HEADER, plen);
    decode_payload(&r, out, qv_load_le32(p + 8));
    if (r.failed || r.pos != r.len) {
        catalog_state_fini(out);
        return qv_error_set(err, QV_ECORRUPT, "catalog: malformed payload at byte %zu", r.pos);
    }
    return QV_OK;
}

qv_err catalog_collection_copy(qv_collection_info *dst, const qv_collection_info *src)
{
    qv_buf b;
    qv_reader r;

    memset(dst, 0, sizeof *dst);
    qv_buf_init(&b);
    put_collection(&b, src);
    bool failed = b.failed;

    qv_reader_init(&r, b.data, b.len);
    if (!failed)
        get_collection(&r, dst, CATALOG_FORMAT);
    qv_buf_fini(&b);
    if (failed || r.failed) {
        qv_collection_info_fini(dst);
        return QV_ENOMEM;
    }
    return QV_OK;
}
