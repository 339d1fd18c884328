/* SPDX-License-Identifier: Apache-2.0 */
/* json.c - request documents over jansson with Milvus-worded binding errors. */
#include "quiver/json.h"

#include <jansson.h>
#include <pthread.h>
#include <string.h>

#include "quiver/alloc.h"

struct qv_jdoc {
    json_t *root;
};

#define J(v) ((json_t *)(v))

static pthread_once_t json_alloc_once = PTHREAD_ONCE_INIT;

/* jansson allocates through qv_malloc, so its strings are freed with qv_free. */
static void json_use_our_allocator(void) { json_set_alloc_funcs(qv_malloc, qv_free); }
#define V(j) ((const qv_jval *)(j))

static size_t depth_of(const json_t *j, size_t limit)
{
    size_t deepest = 0, i;
    const char *k;
    json_t *v;

    if (limit == 0)
        return 1;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            size_t d = depth_of(v, limit - 1);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, k, v)
        {
            size_t d = depth_of(v, limit - 1);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

qv_err qv_jdoc_parse(const char *text, size_t len, size_t max_depth, qv_jdoc **out,
                     qv_error *err)
{
    json_error_t jerr;
    json_t *root;
    qv_jdoc *d;

    pthread_once(&json_alloc_once, json_use_our_allocator);
    if (len == 0)
        return qv_error_set(err, QV_EBADJSON,
                            "can only accept json format request, the request body should be "
                            "nil, however {} is valid");
    root = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return qv_error_set(err, QV_EBADJSON,
                            "can only accept json format request, error: %s (line %d, column %d)",
                            jerr.text, jerr.line, jerr.column);
    if (json_is_null(root)) {
        json_decref(root);
        root = json_object();
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return qv_error_set(err, QV_EBADJSON,
                            "can only accept json format request, error: json: cannot unmarshal "
                            "non-object into Go value of type map[string]interface {}");
    }
    if (depth_of(root, max_depth + 1) > max_depth) {
        json_decref(root);
        return qv_error_set(err, QV_EBADJSON,
                            "can only accept json format request, error: nesting deeper than %zu",
                            max_depth);
    }
    if (!(d = qv_malloc(sizeof *d))) {
        json_decref(root);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    d->root = root;
    *out = d;
    return QV_OK;
}

void qv_jdoc_free(qv_jdoc *d)
{
    if (d) {
        json_decref(d->root);
        qv_free(d);
    }
}

const qv_jval *qv_jdoc_root(const qv_jdoc *d) { return V(d->root); }

qv_jtype qv_jval_type(const qv_jval *v)
{
    switch (json_typeof(J(v))) {
    case JSON_OBJECT:
        return QV_J_OBJECT;
    case JSON_ARRAY:
        return QV_J_ARRAY;
    case JSON_STRING:
        return QV_J_STRING;
    case JSON_INTEGER:
        return QV_J_INT;
    case JSON_REAL:
        return QV_J_REAL;
    case JSON_TRUE:
    case JSON_FALSE:
        return QV_J_BOOL;
    default:
        return QV_J_NULL;
    }
}

const char *qv_jtype_name(qv_jtype t)
{
    static const char *const names[] = {"null", "bool", "number", "number", "string", "array",
                                        "object"};
    return names[t];
}

const qv_jval *qv_jobj_get(const qv_jval *obj, const char *key)
{
    return json_is_object(J(obj)) ? V(json_object_get(J(obj), key)) : NULL;
}

size_t qv_jobj_size(const qv_jval *obj) { return json_is_object(J(obj)) ? json_object_size(J(obj)) : 0; }

bool qv_jobj_at(const qv_jval *obj, size_t i, const char **key, const qv_jval **val)
{
    const char *k;
    json_t *v;
    size_t n = 0;

    if (!json_is_object(J(obj)))
        return false;
    json_object_foreach(J(obj), k, v)
    {
        if (n++ == i) {
            *key = k;
            *val = V(v);
            return true;
        }
    }
    return false;
}

size_t qv_jarr_len(const qv_jval *arr) { return json_is_array(J(arr)) ? json_array_size(J(arr)) : 0; }
const qv_jval *qv_jarr_at(const qv_jval *arr, size_t i) { return V(json_array_get(J(arr), i)); }

bool qv_jval_str(const qv_jval *v, const char **s, size_t *len)
{
    if (!json_is_string(J(v)))
        return false;
    *s = json_string_value(J(v));
    if (len)
        *len = json_string_length(J(v));
    return true;
}

bool qv_jval_int(const qv_jval *v, int64_t *out)
{
    if (!json_is_integer(J(v)))
        return false;
    *out = (int64_t)json_integer_value(J(v));
    return true;
}

bool qv_jval_real(const qv_jval *v, double *out)
{
    if (!json_is_number(J(v)))
        return false;
    *out = json_number_value(J(v));
    return true;
}

bool qv_jval_bool(const qv_jval *v, bool *out)
{
    if (!json_is_boolean(J(v)))
        return false;
    *out = json_is_true(J(v));
    return true;
}

char *qv_jval_to_text(const qv_jval *v)
{

    if (json_is_string(J(v)))
        return qv_strdup(json_string_value(J(v)));
    if (json_is_integer(J(v))) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(J(v)));
        return qv_strdup(buf);
    }
    pthread_once(&json_alloc_once, json_use_our_allocator);
    return json_dumps(J(v), JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
}

void qv_jw_jval(qv_jw *w, const qv_jval *v)
{
    char *text;

    pthread_once(&json_alloc_once, json_use_our_allocator);
    text = json_dumps(J(v), JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (!text) {
        w->out->failed = true;
        return;
    }
    qv_jw_raw(w, text, strlen(text));
    qv_free(text);
}

/* ---- binding getters ------------------------------------------------------------------ */

static qv_err missing(const char *key, qv_error *err)
{
    return qv_error_set(err, QV_EMISSING,
                        "missing required parameters, error: Key: '%s' Error:Field validation for "
                        "'%s' failed on the 'required' tag",
                        key, key);
}

static qv_err wrong_type(const char *key, const json_t *v, const char *want, qv_error *err)
{
    return qv_error_set(err, QV_EBADJSON,
                        "can only accept json format request, error: json: cannot unmarshal %s "
                        "into Go struct field .%s of type %s",
                        qv_jtype_name(qv_jval_type(V(v))), key, want);
}

/* A string parameter holding a NUL: C code would see only the part before it (a name
 * "x\u0000y" would become "x"), so it is refused whole. */
static qv_err nul_inside(const char *key, const json_t *v, qv_error *err)
{
    if (strlen(json_string_value(v)) == json_string_length(v))
        return QV_OK;
    return qv_error_set(err, QV_EINVAL, "%s: a NUL character (\\u0000) is not allowed here: "
                        "invalid parameter", key);
}

/* The value of key, or NULL (after checking required). */
static qv_err lookup(const qv_jval *obj, const char *key, bool required, json_t **out,
                     bool *present, qv_error *err)
{
    json_t *v = json_is_object(J(obj)) ? json_object_get(J(obj), key) : NULL;

    if (v && json_is_null(v))
        v = NULL;
    if (present)
        *present = v != NULL;
    *out = v;
    return !v && required ? missing(key, err) : QV_OK;
}

qv_err qv_jget_str(const qv_jval *obj, const char *key, bool required, const char **out,
                   bool *present, qv_error *err)
{
    json_t *v;
    qv_err rc = lookup(obj, key, required, &v, present, err);

    if (rc != QV_OK || !v)
        return rc;
    if (!json_is_string(v))
        return wrong_type(key, v, "string", err);
    if (required && json_string_length(v) == 0)
        return missing(key, err);
    if ((rc = nul_inside(key, v, err)) != QV_OK)
        return rc;
    *out = json_string_value(v);
    return QV_OK;
}

qv_err qv_jget_int(const qv_jval *obj, const char *key, bool required, int64_t *out,
                   bool *present, qv_error *err)
{
    json_t *v;
    qv_err rc = lookup(obj, key, required, &v, present, err);

    if (rc != QV_OK || !v)
        return rc;
    if (!json_is_integer(v))
        return wrong_type(key, v, "int64", err);
    *out = (int64_t)json_integer_value(v);
    return QV_OK;
}

qv_err qv_jget_bool(const qv_jval *obj, const char *key, bool required, bool *out,
                    bool *present, qv_error *err)
{
    json_t *v;
    qv_err rc = lookup(obj, key, required, &v, present, err);

    if (rc != QV_OK || !v)
        return rc;
    if (!json_is_boolean(v))
        return wrong_type(key, v, "bool", err);
    *out = json_is_true(v);
    return QV_OK;
}

qv_err qv_jget_real(const qv_jval *obj, const char *key, bool required, double *out,
                    bool *present, qv_error *err)
{
    json_t *v;
    qv_err rc = lookup(obj, key, required, &v, present, err);

    if (rc != QV_OK || !v)
        return rc;
    if (!json_is_number(v))
        return wrong_type(key, v, "float64", err);
    *out = json_number_value(v);
    return QV_OK;
}

qv_err qv_jget_obj(const qv_jval *obj, const char *key, bool required, const qv_jval **out,
                   qv_error *err)
{
    json_t *v;
    qv_err rc = lookup(obj, key, required, &v, NULL, err);

    *out = NULL;
    if (rc != QV_OK || !v)
        return rc;
    if (!json_is_object(v))
        return wrong_type(key, v, "map[string]interface {}", err);
    *out = V(v);
    return QV_OK;
}

qv_err qv_jget_arr(const qv_jval *obj, const char *key, bool required, const qv_jval **out,
                   qv_error *err)
{
    json_t *v;
    qv_err rc = lookup(obj, key, required, &v, NULL, err);

    *out = NULL;
    if (rc != QV_OK || !v)
        return rc;
    if (!json_is_array(v))
        return wrong_type(key, v, "[]interface {}", err);
    *out = V(v);
    return QV_OK;
}

qv_err qv_jget_str_list(const qv_jval *obj, const char *key, bool required, char ***items,
                        size_t *count, qv_error *err)
{
    const qv_jval *arr;
    qv_err rc = qv_jget_arr(obj, key, required, &arr, err);
    size_t n = arr ? qv_jarr_len(arr) : 0;
    char **list;

    if (rc != QV_OK || n == 0)
        return rc;
    if (!(list = qv_reallocarray(*items, *count + n, sizeof *list)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    *items = list;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(J(arr), i);
        if (!json_is_string(v))
            return wrong_type(key, v, "string", err);
        if ((rc = nul_inside(key, v, err)) != QV_OK)
            return rc;
        if (!(list[*count] = qv_strdup(json_string_value(v))))
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        (*count)++;
    }
    return QV_OK;
}

qv_err qv_jget_kv(const qv_jval *obj, const char *key, qv_kvlist *out, qv_error *err)
{
    const qv_jval *o;
    qv_err rc = qv_jget_obj(obj, key, false, &o, err);
    const char *k;
    json_t *v;

    if (rc != QV_OK || !o)
        return rc;
    json_object_foreach(J(o), k, v)
    {
        char *text = qv_jval_to_text(V(v));
        rc = text ? qv_kvlist_set(out, k, text) : QV_ENOMEM;
        qv_free(text);
        if (rc != QV_OK)
            return qv_error_set(err, rc, "out of memory");
    }
    return QV_OK;
}
