/* SPDX-License-Identifier: Apache-2.0 */
/* buf.c - growable buffer and bounds-checked reader. */
#include "quiver/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "quiver/alloc.h"

void qv_buf_init(qv_buf *b) { memset(b, 0, sizeof *b); }

void qv_buf_fini(qv_buf *b)
{
    qv_free(b->data);
    memset(b, 0, sizeof *b);
}

bool qv_buf_reserve(qv_buf *b, size_t extra)
{
    size_t need, cap;
    uint8_t *p;

    if (b->failed)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = true;
        return false;
    }
    need = b->len + extra + 1; /* room for a NUL terminator */
    if (need <= b->cap)
        return true;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if ((p = qv_realloc(b->data, cap)) == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void qv_buf_put(qv_buf *b, const void *p, size_t n)
{
    if (!qv_buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void qv_buf_puts(qv_buf *b, const char *s) { qv_buf_put(b, s, strlen(s)); }

void qv_buf_printf(qv_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    int n;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && qv_buf_reserve(b, (size_t)n)) {
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void qv_buf_put_u8(qv_buf *b, uint8_t v) { qv_buf_put(b, &v, 1); }

void qv_buf_put_u16(qv_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    qv_buf_put(b, p, 2);
}

void qv_buf_put_u32(qv_buf *b, uint32_t v)
{
    uint8_t p[4];
    qv_store_le32(p, v);
    qv_buf_put(b, p, 4);
}

void qv_buf_put_u64(qv_buf *b, uint64_t v)
{
    uint8_t p[8];
    qv_store_le64(p, v);
    qv_buf_put(b, p, 8);
}

void qv_buf_put_utf8(qv_buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xF0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    qv_buf_put(b, u, n);
}

void qv_buf_put_bytes(qv_buf *b, const void *p, uint32_t n)
{
    qv_buf_put_u32(b, n);
    qv_buf_put(b, p, n);
}

void qv_buf_put_str(qv_buf *b, const char *s)
{
    qv_buf_put_bytes(b, s ? s : "", s ? (uint32_t)strlen(s) : 0);
}

uint8_t *qv_buf_take(qv_buf *b, size_t *len_out)
{
    uint8_t *p;

    if (!b->data && !qv_buf_reserve(b, 0))
        return NULL;
    p = b->data;
    if (len_out)
        *len_out = b->len;
    memset(b, 0, sizeof *b);
    return p;
}

qv_err qv_buf_status(const qv_buf *b, qv_error *err)
{
    return b->failed ? qv_error_set(err, QV_ENOMEM, "out of memory building a buffer") : QV_OK;
}

void qv_reader_init(qv_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->failed = false;
}

const void *qv_reader_bytes(qv_reader *r, size_t n)
{
    const void *p;

    if (r->failed || n > r->len - r->pos) {
        r->failed = true;
        return NULL;
    }
    p = r->p + r->pos;
    r->pos += n;
    return p;
}

uint8_t qv_reader_u8(qv_reader *r)
{
    const uint8_t *p = qv_reader_bytes(r, 1);
    return p ? p[0] : 0;
}

uint16_t qv_reader_u16(qv_reader *r)
{
    const uint8_t *p = qv_reader_bytes(r, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t qv_reader_u32(qv_reader *r)
{
    const uint8_t *p = qv_reader_bytes(r, 4);
    return p ? qv_load_le32(p) : 0;
}

uint64_t qv_reader_u64(qv_reader *r)
{
    const uint8_t *p = qv_reader_bytes(r, 8);
    return p ? qv_load_le64(p) : 0;
}

char *qv_reader_strdup(qv_reader *r)
{
    uint32_t n = qv_reader_u32(r);
    const char *s = qv_reader_bytes(r, n);
    return s ? qv_strndup(s, n) : NULL;
}
