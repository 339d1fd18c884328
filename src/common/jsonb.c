/* SPDX-License-Identifier: Apache-2.0 */
/* jsonb.c - compact binary JSON: builder, bounds-checked reader, validator, text I/O.
 * The format is documented in include/quiver/jsonb.h. Every reader computes child spans
 * from the enclosing container's size, so a damaged blob can only yield "absent" values,
 * never an out-of-bounds read; recursive walks stop at QV_JSONB_MAX_DEPTH. */
#include "quiver/jsonb.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonb_int.h"

/* ---- shared decoding helpers -------------------------------------------------------- */

/* Size of the value at p given avail readable bytes; 0 if malformed or truncated. */
size_t jsonb_value_size(const uint8_t *p, size_t avail)
{
    uint32_t n;

    if (avail == 0)
        return 0;
    switch (p[0]) {
    case QV_JSONB_TAG_NULL:
    case QV_JSONB_TAG_FALSE:
    case QV_JSONB_TAG_TRUE:
        return 1;
    case QV_JSONB_TAG_INT8:
        return avail >= 2 ? 2 : 0;
    case QV_JSONB_TAG_INT16:
        return avail >= 3 ? 3 : 0;
    case QV_JSONB_TAG_INT32:
        return avail >= 5 ? 5 : 0;
    case QV_JSONB_TAG_INT64:
    case QV_JSONB_TAG_DOUBLE:
        return avail >= 9 ? 9 : 0;
    case QV_JSONB_TAG_STRING:
        if (avail < 5)
            return 0;
        n = qv_load_le32(p + 1);
        return n <= avail - 5 ? 5 + (size_t)n : 0;
    case QV_JSONB_TAG_ARRAY:
    case QV_JSONB_TAG_OBJECT:
        if (avail < HDR)
            return 0;
        n = qv_load_le32(p + 5);
        if (n < HDR || n > avail || qv_load_le32(p + 1) > (n - HDR) / 4)
            return 0;
        return n;
    default:
        return 0;
    }
}

/* Container geometry: count and the offset where the table starts. */
static bool container(qv_jsonb v, uint8_t tag, uint32_t *count, size_t *tab)
{
    size_t size;

    if (!v.p || v.len < HDR || v.p[0] != tag || (size = jsonb_value_size(v.p, v.len)) == 0)
        return false;
    *count = qv_load_le32(v.p + 1);
    *tab = size - 4 * (size_t)*count;
    return true;
}

/* Decode the pair at off (within [HDR, tab)); false if malformed. */
static bool pair_at(const uint8_t *p, size_t off, size_t tab, const char **key, size_t *klen,
                    qv_jsonb *val)
{
    uint32_t kl;
    size_t vs;

    if (off < HDR || off > tab || tab - off < 4)
        return false;
    kl = qv_load_le32(p + off);
    if (kl > tab - off - 4)
        return false;
    off += 4;
    *key = (const char *)p + off;
    *klen = kl;
    off += kl;
    if ((vs = jsonb_value_size(p + off, tab - off)) == 0)
        return false;
    val->p = p + off;
    val->len = vs;
    return true;
}

int jsonb_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* ---- reader ------------------------------------------------------------------------- */

qv_jsonb_type qv_jsonb_typeof(qv_jsonb v)
{
    if (!v.p || jsonb_value_size(v.p, v.len) == 0)
        return QV_JSONB_INVALID;
    switch (v.p[0]) {
    case QV_JSONB_TAG_NULL:
        return QV_JSONB_NULL;
    case QV_JSONB_TAG_FALSE:
    case QV_JSONB_TAG_TRUE:
        return QV_JSONB_BOOL;
    case QV_JSONB_TAG_INT8:
    case QV_JSONB_TAG_INT16:
    case QV_JSONB_TAG_INT32:
    case QV_JSONB_TAG_INT64:
        return QV_JSONB_INT;
    case QV_JSONB_TAG_DOUBLE:
        return QV_JSONB_DOUBLE;
    case QV_JSONB_TAG_STRING:
        return QV_JSONB_STRING;
    case QV_JSONB_TAG_ARRAY:
        return QV_JSONB_ARRAY;
    default:
        return QV_JSONB_OBJECT;
    }
}

bool qv_jsonb_get_bool(qv_jsonb v, bool *out)
{
    if (!v.p || v.len < 1 || (v.p[0] != QV_JSONB_TAG_TRUE && v.p[0] != QV_JSONB_TAG_FALSE))
        return false;
    *out = v.p[0] == QV_JSONB_TAG_TRUE;
    return true;
}

bool qv_jsonb_get_int(qv_jsonb v, int64_t *out)
{
    if (!v.p || jsonb_value_size(v.p, v.len) == 0)
        return false;
    switch (v.p[0]) {
    case QV_JSONB_TAG_INT8:
        *out = (int8_t)v.p[1];
        return true;
    case QV_JSONB_TAG_INT16:
        *out = (int16_t)(uint16_t)(v.p[1] | v.p[2] << 8);
        return true;
    case QV_JSONB_TAG_INT32:
        *out = (int32_t)qv_load_le32(v.p + 1);
        return true;
    case QV_JSONB_TAG_INT64:
        *out = (int64_t)qv_load_le64(v.p + 1);
        return true;
    default:
        return false;
    }
}

bool qv_jsonb_get_double(qv_jsonb v, double *out)
{
    int64_t i;
    uint64_t bits;

    if (qv_jsonb_get_int(v, &i)) {
        *out = (double)i;
        return true;
    }
    if (!v.p || v.len < 9 || v.p[0] != QV_JSONB_TAG_DOUBLE)
        return false;
    bits = qv_load_le64(v.p + 1);
    memcpy(out, &bits, sizeof *out);
    return true;
}

bool qv_jsonb_get_string(qv_jsonb v, const char **s, size_t *len)
{
    if (!v.p || v.p[0] != QV_JSONB_TAG_STRING || jsonb_value_size(v.p, v.len) == 0)
        return false;
    *s = (const char *)v.p + 5;
    *len = qv_load_le32(v.p + 1);
    return true;
}

size_t qv_jsonb_length(qv_jsonb v)
{
    uint32_t n;
    size_t tab;

    if (container(v, QV_JSONB_TAG_ARRAY, &n, &tab) || container(v, QV_JSONB_TAG_OBJECT, &n, &tab))
        return n;
    return 0;
}

qv_jsonb qv_jsonb_index(qv_jsonb v, size_t i)
{
    qv_jsonb r = {NULL, 0};
    uint32_t n, off;
    size_t tab, vs;

    if (!container(v, QV_JSONB_TAG_ARRAY, &n, &tab) || i >= n)
        return r;
    off = qv_load_le32(v.p + tab + 4 * i);
    if (off < HDR || off >= tab || (vs = jsonb_value_size(v.p + off, tab - off)) == 0)
        return r;
    r.p = v.p + off;
    r.len = vs;
    return r;
}

qv_jsonb qv_jsonb_find(qv_jsonb v, const char *key, size_t klen)
{
    qv_jsonb r = {NULL, 0}, val;
    uint32_t n;
    size_t tab, lo = 0, hi;

    if (!container(v, QV_JSONB_TAG_OBJECT, &n, &tab))
        return r;
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, kl;
        const char *k;
        int c;
        if (!pair_at(v.p, qv_load_le32(v.p + tab + 4 * mid), tab, &k, &kl, &val))
            return r;
        c = jsonb_key_cmp(key, klen, k, kl);
        if (c == 0)
            return val;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return r;
}

void qv_jsonb_iter_init(qv_jsonb_iter *it, qv_jsonb v)
{
    uint32_t n = 0;
    size_t tab = 0;

    memset(it, 0, sizeof *it);
    if (container(v, QV_JSONB_TAG_ARRAY, &n, &tab) ||
        (it->object = container(v, QV_JSONB_TAG_OBJECT, &n, &tab))) {
        it->c = v;
        it->n = n;
        it->pos = HDR;
        it->end = tab;
    }
}

bool qv_jsonb_iter_next(qv_jsonb_iter *it, const char **key, size_t *klen, qv_jsonb *val)
{
    const char *k = NULL;
    size_t kl = 0, vs;
    qv_jsonb v;

    if (it->i >= it->n)
        return false;
    if (it->object) {
        if (!pair_at(it->c.p, it->pos, it->end, &k, &kl, &v))
            goto stop;
    } else {
        if (it->pos >= it->end ||
            (vs = jsonb_value_size(it->c.p + it->pos, it->end - it->pos)) == 0)
            goto stop;
        v.p = it->c.p + it->pos;
        v.len = vs;
    }
    it->pos = (size_t)(v.p + v.len - it->c.p);
    it->i++;
    if (key)
        *key = k;
    if (klen)
        *klen = kl;
    *val = v;
    return true;
stop:
    it->i = it->n;
    return false;
}

int qv_jsonb_cmp_int_double(int64_t i, double d)
{
    double t;
    int64_t ti;

    if (isnan(d))
        return 2;
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    t = trunc(d);
    ti = (int64_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    return d > t ? -1 : d < t ? 1 : 0;
}

static bool equal_at(qv_jsonb a, qv_jsonb b, int depth)
{
    qv_jsonb_type ta = qv_jsonb_typeof(a), tb = qv_jsonb_typeof(b);
    int64_t ia, ib;
    double da, db;

    if (ta == QV_JSONB_INVALID || tb == QV_JSONB_INVALID || depth > QV_JSONB_MAX_DEPTH)
        return false;
    if ((ta == QV_JSONB_INT || ta == QV_JSONB_DOUBLE) &&
        (tb == QV_JSONB_INT || tb == QV_JSONB_DOUBLE)) {
        if (ta == QV_JSONB_INT && tb == QV_JSONB_INT)
            return qv_jsonb_get_int(a, &ia) && qv_jsonb_get_int(b, &ib) && ia == ib;
        if (ta == QV_JSONB_INT)
            return qv_jsonb_get_int(a, &ia) && qv_jsonb_get_double(b, &db) &&
                   qv_jsonb_cmp_int_double(ia, db) == 0;
        if (tb == QV_JSONB_INT)
            return qv_jsonb_get_int(b, &ib) && qv_jsonb_get_double(a, &da) &&
                   qv_jsonb_cmp_int_double(ib, da) == 0;
        return qv_jsonb_get_double(a, &da) && qv_jsonb_get_double(b, &db) && da == db;
    }
    if (ta != tb)
        return false;
    switch (ta) {
    case QV_JSONB_NULL:
        return true;
    case QV_JSONB_BOOL:
        return a.p[0] == b.p[0];
    case QV_JSONB_STRING: {
        const char *sa, *sb;
        size_t la, lb;
        return qv_jsonb_get_string(a, &sa, &la) && qv_jsonb_get_string(b, &sb, &lb) && la == lb &&
               memcmp(sa, sb, la) == 0;
    }
    case QV_JSONB_ARRAY: {
        size_t n = qv_jsonb_length(a);
        if (n != qv_jsonb_length(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!equal_at(qv_jsonb_index(a, i), qv_jsonb_index(b, i), depth + 1))
                return false;
        return true;
    }
    default: {
        qv_jsonb_iter it;
        const char *k;
        size_t kl, seen = 0;
        qv_jsonb va;
        if (qv_jsonb_length(a) != qv_jsonb_length(b))
            return false;
        qv_jsonb_iter_init(&it, a);
        while (qv_jsonb_iter_next(&it, &k, &kl, &va)) {
            if (!equal_at(va, qv_jsonb_find(b, k, kl), depth + 1))
                return false;
            seen++;
        }
        return seen == qv_jsonb_length(a);
    }
    }
}

bool qv_jsonb_equal(qv_jsonb a, qv_jsonb b) { return equal_at(a, b, 0); }

bool qv_jsonb_array_contains(qv_jsonb v, qv_jsonb x)
{
    qv_jsonb_iter it;
    qv_jsonb e;

    if (qv_jsonb_typeof(v) != QV_JSONB_ARRAY)
        return false;
    qv_jsonb_iter_init(&it, v);
    while (qv_jsonb_iter_next(&it, NULL, NULL, &e))
        if (equal_at(e, x, 1))
            return true;
    return false;
}

/* ---- validation --------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 (RFC 3629: no overlongs,
 * surrogates or code points past U+10FFFF). */
size_t jsonb_utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if ((k = jsonb_utf8_seq(s + i, n - i)) == 0)
            return false;
    return true;
}

bool qv_jsonb_utf8_valid(const char *s, size_t n) { return utf8_valid((const uint8_t *)s, n); }

typedef struct vctx {
    const uint8_t *base;
    qv_error *err;
} vctx;

static qv_err vfail(vctx *c, const uint8_t *at, const char *what)
{
    return qv_error_set(c->err, QV_ECORRUPT, "jsonb: %s at offset %zu", what,
                        (size_t)(at - c->base));
}

static qv_err validate_value(vctx *c, const uint8_t *p, size_t avail, int depth, size_t *size);

static qv_err validate_container(vctx *c, const uint8_t *p, size_t size, int depth)
{
    uint32_t n = qv_load_le32(p + 1);
    size_t tab = size - 4 * (size_t)n, pos = HDR, sub;
    bool object = p[0] == QV_JSONB_TAG_OBJECT;
    qv_err rc;

    if (depth >= QV_JSONB_MAX_DEPTH)
        return vfail(c, p, "nesting too deep");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *kp = NULL;
        uint32_t kl = 0;
        if (pos >= tab)
            return vfail(c, p + pos, "container children overrun the table");
        if (object) {
            if (tab - pos < 4 || (kl = qv_load_le32(p + pos)) > tab - pos - 4)
                return vfail(c, p + pos, "truncated key");
            kp = p + pos + 4;
            if (!utf8_valid(kp, kl))
                return vfail(c, kp, "key is not UTF-8");
        } else if (qv_load_le32(p + tab + 4 * (size_t)i) != pos) {
            return vfail(c, p + tab + 4 * (size_t)i, "array offset table mismatch");
        }
        if (object) {
            /* the pair must be listed in the (sorted) table exactly where its key sorts */
            size_t lo = 0, hi = n, vo = pos + 4 + kl;
            bool found = false;
            while (lo < hi && !found) {
                size_t mid = lo + (hi - lo) / 2, klen2;
                const char *k2;
                qv_jsonb dummy;
                uint32_t off = qv_load_le32(p + tab + 4 * mid);
                int cmp;
                if (!pair_at(p, off, tab, &k2, &klen2, &dummy))
                    return vfail(c, p + tab + 4 * mid, "bad object table entry");
                cmp = jsonb_key_cmp((const char *)kp, kl, k2, klen2);
                if (cmp == 0) {
                    if (off != pos)
                        return vfail(c, p + pos, "duplicate or misplaced key");
                    found = true;
                } else if (cmp < 0) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            if (!found)
                return vfail(c, p + pos, "key missing from object table");
            if ((rc = validate_value(c, p + vo, tab - vo, depth + 1, &sub)) != QV_OK)
                return rc;
            pos = vo + sub;
        } else {
            if ((rc = validate_value(c, p + pos, tab - pos, depth + 1, &sub)) != QV_OK)
                return rc;
            pos += sub;
        }
    }
    if (pos != tab)
        return vfail(c, p + pos, "container has trailing bytes");
    if (object) {
        /* sorted and unique: with the per-pair check above this makes the table a
         * permutation of the pairs */
        for (uint32_t i = 1; i < n; i++) {
            const char *k1, *k2;
            size_t l1, l2;
            qv_jsonb v1, v2;
            if (!pair_at(p, qv_load_le32(p + tab + 4 * (size_t)(i - 1)), tab, &k1, &l1, &v1) ||
                !pair_at(p, qv_load_le32(p + tab + 4 * (size_t)i), tab, &k2, &l2, &v2) ||
                jsonb_key_cmp(k1, l1, k2, l2) >= 0)
                return vfail(c, p + tab + 4 * (size_t)i, "object table not sorted");
        }
    }
    return QV_OK;
}

static qv_err validate_value(vctx *c, const uint8_t *p, size_t avail, int depth, size_t *size)
{
    size_t n = jsonb_value_size(p, avail);

    if (n == 0)
        return vfail(c, p, avail ? "bad tag or truncated value" : "truncated value");
    *size = n;
    switch (p[0]) {
    case QV_JSONB_TAG_STRING:
        return utf8_valid(p + 5, n - 5) ? QV_OK : vfail(c, p, "string is not UTF-8");
    case QV_JSONB_TAG_ARRAY:
    case QV_JSONB_TAG_OBJECT:
        return validate_container(c, p, n, depth);
    default:
        return QV_OK;
    }
}

bool jsonb_valid_at(const uint8_t *p, size_t avail, int depth, size_t *size)
{
    vctx c = {p, NULL};
    return validate_value(&c, p, avail, depth, size) == QV_OK;
}

qv_err qv_jsonb_validate(const void *blob, size_t len, qv_error *err)
{
    vctx c = {blob, err};
    size_t size;
    qv_err rc;

    if (!blob || len == 0)
        return qv_error_set(err, QV_ECORRUPT, "jsonb: empty blob");
    if ((rc = validate_value(&c, blob, len, 0, &size)) != QV_OK)
        return rc;
    if (size != len)
        return vfail(&c, (const uint8_t *)blob + size, "trailing bytes after the value");
    return QV_OK;
}
