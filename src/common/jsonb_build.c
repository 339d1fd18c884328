/* SPDX-License-Identifier: Apache-2.0 */
/* jsonb_build.c - the one-pass jsonb builder: children are appended as they come and each
 * container's offset table is written at its end (see quiver/jsonb.h for the format);
 * object keys are sorted (stable merge sort) and de-duplicated when the object closes. */
#include "quiver/jsonb.h"

#include <stdio.h>
#include <string.h>

#include "common/jsonb_int.h"
#include "quiver/alloc.h"

struct qv_jsonb_frame {
    size_t start;     /* offset of the container's tag in out */
    size_t kids_base; /* index in kids[] of its first child */
    bool object;
    bool have_key;
};

/* ---- builder ------------------------------------------------------------------------ */

void qv_jsonb_builder_init(qv_jsonb_builder *b)
{
    memset(b, 0, sizeof *b);
    qv_buf_init(&b->out);
}

void qv_jsonb_builder_fini(qv_jsonb_builder *b)
{
    qv_buf_fini(&b->out);
    qv_free(b->frames);
    qv_free(b->kids);
    memset(b, 0, sizeof *b);
}

void qv_jsonb_builder_reset(qv_jsonb_builder *b)
{
    b->out.len = 0;
    b->out.failed = false;
    b->depth = 0;
    b->nkids = 0;
    b->status = QV_OK;
    b->why[0] = '\0';
    b->have_root = false;
}

static void bfail(qv_jsonb_builder *b, qv_err code, const char *why)
{
    if (b->status == QV_OK) {
        b->status = code;
        snprintf(b->why, sizeof b->why, "%s", why);
    }
}

static bool push_kid(qv_jsonb_builder *b, const struct qv_jsonb_frame *f)
{
    if (b->nkids == b->kids_cap) {
        size_t cap = b->kids_cap ? b->kids_cap * 2 : 64;
        uint32_t *k = qv_reallocarray(b->kids, cap, sizeof *k);
        if (!k) {
            bfail(b, QV_ENOMEM, "out of memory");
            return false;
        }
        b->kids = k;
        b->kids_cap = cap;
    }
    if (b->out.len - f->start > UINT32_MAX) {
        bfail(b, QV_EINVAL, "container larger than 4 GiB");
        return false;
    }
    b->kids[b->nkids++] = (uint32_t)(b->out.len - f->start);
    return true;
}

/* Bookkeeping before a value starts: a root, an array element or an object member. */
static bool begin_value(qv_jsonb_builder *b)
{
    struct qv_jsonb_frame *f;

    if (b->status != QV_OK)
        return false;
    if (b->depth == 0) {
        if (b->have_root) {
            bfail(b, QV_EINVAL, "more than one root value");
            return false;
        }
        b->have_root = true;
        return true;
    }
    f = &b->frames[b->depth - 1];
    if (f->object) {
        if (!f->have_key) {
            bfail(b, QV_EINVAL, "object member without a key");
            return false;
        }
        f->have_key = false; /* qv_jsonb_key recorded the pair */
        return true;
    }
    return push_kid(b, f);
}

static void put_tagged(qv_jsonb_builder *b, uint8_t tag, const void *p, size_t n)
{
    if (!begin_value(b))
        return;
    qv_buf_put_u8(&b->out, tag);
    qv_buf_put(&b->out, p, n);
    if (b->out.failed)
        bfail(b, QV_ENOMEM, "out of memory");
}

void qv_jsonb_null(qv_jsonb_builder *b) { put_tagged(b, QV_JSONB_TAG_NULL, NULL, 0); }

void qv_jsonb_bool(qv_jsonb_builder *b, bool v)
{
    put_tagged(b, v ? QV_JSONB_TAG_TRUE : QV_JSONB_TAG_FALSE, NULL, 0);
}

void qv_jsonb_int(qv_jsonb_builder *b, int64_t v)
{
    uint8_t p[8];

    qv_store_le64(p, (uint64_t)v);
    if (v >= INT8_MIN && v <= INT8_MAX)
        put_tagged(b, QV_JSONB_TAG_INT8, p, 1);
    else if (v >= INT16_MIN && v <= INT16_MAX)
        put_tagged(b, QV_JSONB_TAG_INT16, p, 2);
    else if (v >= INT32_MIN && v <= INT32_MAX)
        put_tagged(b, QV_JSONB_TAG_INT32, p, 4);
    else
        put_tagged(b, QV_JSONB_TAG_INT64, p, 8);
}

void qv_jsonb_double(qv_jsonb_builder *b, double v)
{
    uint8_t p[8];
    uint64_t bits;

    memcpy(&bits, &v, sizeof bits);
    qv_store_le64(p, bits);
    put_tagged(b, QV_JSONB_TAG_DOUBLE, p, 8);
}

void qv_jsonb_string(qv_jsonb_builder *b, const char *s, size_t len)
{
    uint8_t hdr[4];

    if (len > UINT32_MAX) {
        bfail(b, QV_EINVAL, "string longer than 4 GiB");
        return;
    }
    if (!qv_jsonb_utf8_valid(s, len)) {
        bfail(b, QV_EINVAL, "string is not valid UTF-8");
        return;
    }
    qv_store_le32(hdr, (uint32_t)len);
    put_tagged(b, QV_JSONB_TAG_STRING, hdr, 4);
    if (b->status == QV_OK && len)
        qv_buf_put(&b->out, s, len);
    if (b->out.failed)
        bfail(b, QV_ENOMEM, "out of memory");
}

void qv_jsonb_value(qv_jsonb_builder *b, qv_jsonb v)
{
    size_t size;

    if (b->status != QV_OK)
        return;
    if (!v.p || !jsonb_valid_at(v.p, v.len, (int)b->depth, &size) || size != v.len) {
        bfail(b, QV_EINVAL, "appended value is not valid jsonb");
        return;
    }
    if (!begin_value(b))
        return;
    qv_buf_put(&b->out, v.p, v.len);
    if (b->out.failed)
        bfail(b, QV_ENOMEM, "out of memory");
}

static void begin_container(qv_jsonb_builder *b, bool object)
{
    struct qv_jsonb_frame *f;

    if (!begin_value(b))
        return;
    if (b->depth >= QV_JSONB_MAX_DEPTH) {
        bfail(b, QV_EINVAL, "nesting deeper than QV_JSONB_MAX_DEPTH");
        return;
    }
    if (b->depth == b->frames_cap) {
        size_t cap = b->frames_cap ? b->frames_cap * 2 : 8;
        struct qv_jsonb_frame *fr = qv_reallocarray(b->frames, cap, sizeof *fr);
        if (!fr) {
            bfail(b, QV_ENOMEM, "out of memory");
            return;
        }
        b->frames = fr;
        b->frames_cap = cap;
    }
    f = &b->frames[b->depth++];
    f->start = b->out.len;
    f->kids_base = b->nkids;
    f->object = object;
    f->have_key = false;
    qv_buf_put_u8(&b->out, object ? QV_JSONB_TAG_OBJECT : QV_JSONB_TAG_ARRAY);
    qv_buf_put_u32(&b->out, 0);
    qv_buf_put_u32(&b->out, 0);
    if (b->out.failed)
        bfail(b, QV_ENOMEM, "out of memory");
}

void qv_jsonb_begin_object(qv_jsonb_builder *b) { begin_container(b, true); }
void qv_jsonb_begin_array(qv_jsonb_builder *b) { begin_container(b, false); }

void qv_jsonb_key(qv_jsonb_builder *b, const char *key, size_t len)
{
    struct qv_jsonb_frame *f;

    if (b->status != QV_OK)
        return;
    if (b->depth == 0 || !b->frames[b->depth - 1].object || b->frames[b->depth - 1].have_key) {
        bfail(b, QV_EINVAL, "key outside an object or twice in a row");
        return;
    }
    if (len > UINT32_MAX) {
        bfail(b, QV_EINVAL, "key longer than 4 GiB");
        return;
    }
    if (!qv_jsonb_utf8_valid(key, len)) {
        bfail(b, QV_EINVAL, "key is not valid UTF-8");
        return;
    }
    f = &b->frames[b->depth - 1];
    if (!push_kid(b, f))
        return;
    f->have_key = true;
    qv_buf_put_bytes(&b->out, key, (uint32_t)len);
    if (b->out.failed)
        bfail(b, QV_ENOMEM, "out of memory");
}

/* Key of the pair at container offset off (the builder wrote it, so it is in bounds). */
static const char *pair_key(const uint8_t *c, uint32_t off, size_t *klen)
{
    *klen = qv_load_le32(c + off);
    return (const char *)c + off + 4;
}

static int kid_cmp(const uint8_t *c, const uint32_t *offs, uint32_t x, uint32_t y)
{
    size_t lx, ly;
    const char *kx = pair_key(c, offs[x], &lx), *ky = pair_key(c, offs[y], &ly);
    return jsonb_key_cmp(kx, lx, ky, ly);
}

/* Stable bottom-up merge sort of pair indices idx[0..n) by key. */
static void sort_pairs(const uint8_t *c, const uint32_t *offs, uint32_t *idx, uint32_t *tmp,
                       size_t n)
{
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = kid_cmp(c, offs, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

/* Duplicated keys: keep each key at its first position with its last value. Rewrites the
 * pairs of the container starting at start; offs[] (document order) and *n shrink. */
static bool dedupe_pairs(qv_jsonb_builder *b, size_t start, uint32_t *offs, size_t *n,
                         const uint32_t *idx)
{
    size_t cnt = *n, m = 0, end = b->out.len - start;
    uint32_t *src = qv_malloc(cnt * sizeof *src);
    bool *drop = qv_calloc(cnt, sizeof *drop);
    qv_buf tmp;

    qv_buf_init(&tmp);
    if (!src || !drop)
        goto fail;
    for (size_t i = 0; i < cnt; i++)
        src[i] = (uint32_t)i;
    for (size_t g = 0; g < cnt;) {
        const uint8_t *c = b->out.data + start;
        size_t h = g + 1;
        while (h < cnt && kid_cmp(c, offs, idx[g], idx[h]) == 0)
            drop[idx[h++]] = true;
        src[idx[g]] = idx[h - 1];
        g = h;
    }
    for (size_t i = 0; i < cnt; i++) {
        const uint8_t *c = b->out.data + start;
        size_t kl, vl, s = src[i], vbeg, vend;
        if (drop[i])
            continue;
        (void)pair_key(c, offs[i], &kl);
        qv_buf_put(&tmp, c + offs[i], 4 + kl);
        (void)pair_key(c, offs[s], &vl);
        vbeg = offs[s] + 4 + vl;
        vend = s + 1 < cnt ? offs[s + 1] : end;
        qv_buf_put(&tmp, c + vbeg, vend - vbeg);
        src[m++] = (uint32_t)i; /* reuse src as the survivor list */
    }
    if (tmp.failed)
        goto fail;
    memcpy(b->out.data + start + HDR, tmp.data, tmp.len);
    b->out.len = start + HDR + tmp.len;
    /* recompute document-order offsets of the survivors */
    for (size_t i = 0, pos = HDR; i < m; i++) {
        size_t kl, vs;
        (void)pair_key(b->out.data + start, (uint32_t)pos, &kl);
        vs =
            jsonb_value_size(b->out.data + start + pos + 4 + kl, b->out.len - start - pos - 4 - kl);
        offs[i] = (uint32_t)pos;
        pos += 4 + kl + vs;
    }
    *n = m;
    qv_buf_fini(&tmp);
    qv_free(src);
    qv_free(drop);
    return true;
fail:
    qv_buf_fini(&tmp);
    qv_free(src);
    qv_free(drop);
    bfail(b, QV_ENOMEM, "out of memory");
    return false;
}

static void end_container(qv_jsonb_builder *b, bool object)
{
    struct qv_jsonb_frame *f;
    uint32_t *offs, *idx = NULL, *tmp = NULL;
    size_t n, size;

    if (b->status != QV_OK)
        return;
    if (b->depth == 0 || b->frames[b->depth - 1].object != object ||
        b->frames[b->depth - 1].have_key) {
        bfail(b, QV_EINVAL, "unbalanced end of container");
        return;
    }
    f = &b->frames[b->depth - 1];
    n = b->nkids - f->kids_base;
    offs = n ? b->kids + f->kids_base : NULL; /* kids is still NULL before any child */
    if (object && n > 1) {
        bool dup = false;
        if (!(idx = qv_malloc(n * sizeof *idx)) || !(tmp = qv_malloc(n * sizeof *tmp))) {
            bfail(b, QV_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            idx[i] = (uint32_t)i;
        sort_pairs(b->out.data + f->start, offs, idx, tmp, n);
        for (size_t i = 1; i < n && !dup; i++)
            dup = kid_cmp(b->out.data + f->start, offs, idx[i - 1], idx[i]) == 0;
        if (dup) {
            if (!dedupe_pairs(b, f->start, offs, &n, idx))
                goto done;
            for (size_t i = 0; i < n; i++)
                idx[i] = (uint32_t)i;
            sort_pairs(b->out.data + f->start, offs, idx, tmp, n);
        }
        for (size_t i = 0; i < n; i++)
            qv_buf_put_u32(&b->out, offs[idx[i]]);
    } else {
        for (size_t i = 0; i < n; i++)
            qv_buf_put_u32(&b->out, offs[i]);
    }
    if (b->out.failed) {
        bfail(b, QV_ENOMEM, "out of memory");
        goto done;
    }
    if ((size = b->out.len - f->start) > UINT32_MAX) {
        bfail(b, QV_EINVAL, "container larger than 4 GiB");
        goto done;
    }
    qv_store_le32(b->out.data + f->start + 1, (uint32_t)n);
    qv_store_le32(b->out.data + f->start + 5, (uint32_t)size);
    b->nkids = f->kids_base;
    b->depth--;
done:
    qv_free(idx);
    qv_free(tmp);
}

void qv_jsonb_end_object(qv_jsonb_builder *b) { end_container(b, true); }
void qv_jsonb_end_array(qv_jsonb_builder *b) { end_container(b, false); }

qv_err qv_jsonb_finish(qv_jsonb_builder *b, const uint8_t **out, size_t *len, qv_error *err)
{
    if (b->status == QV_OK && b->out.failed)
        bfail(b, QV_ENOMEM, "out of memory");
    if (b->status != QV_OK)
        return qv_error_set(err, b->status, "jsonb builder: %s", b->why);
    if (b->depth != 0 || !b->have_root) /* not sticky: the value may still be completed */
        return qv_error_set(err, QV_EINVAL, "jsonb builder: %s",
                            b->depth ? "unclosed container" : "no value");
    *out = b->out.data;
    *len = b->out.len;
    return QV_OK;
}

qv_err qv_jsonb_take(qv_jsonb_builder *b, uint8_t **out, size_t *len, qv_error *err)
{
    const uint8_t *p;
    size_t n;
    qv_err rc;

    if ((rc = qv_jsonb_finish(b, &p, &n, err)) != QV_OK)
        return rc;
    *out = qv_buf_take(&b->out, len);
    qv_jsonb_builder_reset(b);
    return QV_OK;
}
