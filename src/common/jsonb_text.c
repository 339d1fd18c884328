/* SPDX-License-Identifier: Apache-2.0 */
/* jsonb_text.c - jsonb <-> JSON text without jansson: a compact writer (exact integers,
 * shortest round-trip doubles) and a strict RFC 8259 reader for tests, tools and fuzzing. */
#include "quiver/jsonb.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonb_int.h"
#include "quiver/alloc.h"

/* ---- JSON text output --------------------------------------------------------------- */

static void write_string(qv_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    qv_buf_put_u8(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        qv_buf_put(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            qv_buf_put(out, u, 6);
        }
        if (esc)
            qv_buf_puts(out, esc);
    }
    qv_buf_put(out, s + run, n - run);
    qv_buf_put_u8(out, '"');
}

static void write_double(qv_buf *out, double d)
{
    char tmp[40];

    if (!isfinite(d)) {
        qv_buf_puts(out, "null");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    qv_buf_puts(out, tmp);
    if (!strpbrk(tmp, ".eE"))
        qv_buf_puts(out, ".0");
}

static void write_at(qv_buf *out, qv_jsonb v, int depth)
{
    qv_jsonb_iter it;
    const char *s;
    size_t n;
    int64_t i;
    double d;
    bool b = false, first = true;
    qv_jsonb e;

    switch (depth > QV_JSONB_MAX_DEPTH ? QV_JSONB_INVALID : qv_jsonb_typeof(v)) {
    case QV_JSONB_BOOL:
        (void)qv_jsonb_get_bool(v, &b);
        qv_buf_puts(out, b ? "true" : "false");
        break;
    case QV_JSONB_INT:
        (void)qv_jsonb_get_int(v, &i);
        qv_buf_printf(out, "%" PRId64, i);
        break;
    case QV_JSONB_DOUBLE:
        (void)qv_jsonb_get_double(v, &d);
        write_double(out, d);
        break;
    case QV_JSONB_STRING:
        (void)qv_jsonb_get_string(v, &s, &n);
        write_string(out, s, n);
        break;
    case QV_JSONB_ARRAY:
    case QV_JSONB_OBJECT:
        qv_buf_put_u8(out, v.p[0] == QV_JSONB_TAG_OBJECT ? '{' : '[');
        qv_jsonb_iter_init(&it, v);
        while (qv_jsonb_iter_next(&it, &s, &n, &e)) {
            if (!first)
                qv_buf_put_u8(out, ',');
            first = false;
            if (it.object) {
                write_string(out, s, n);
                qv_buf_put_u8(out, ':');
            }
            write_at(out, e, depth + 1);
        }
        qv_buf_put_u8(out, v.p[0] == QV_JSONB_TAG_OBJECT ? '}' : ']');
        break;
    default:
        qv_buf_puts(out, "null");
    }
}

void qv_jsonb_write_json(qv_buf *out, qv_jsonb v) { write_at(out, v, 0); }

/* ---- JSON text input ---------------------------------------------------------------- */

typedef struct jparse {
    const char *s;
    size_t n, pos;
    qv_jsonb_builder *b;
    qv_buf str; /* decoded string scratch */
    qv_error *err;
} jparse;

static qv_err jfail(jparse *p, const char *what)
{
    return qv_error_set(p->err, QV_EINVAL, "invalid JSON: %s at offset %zu", what, p->pos);
}

static void jws(jparse *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                             p->s[p->pos] == '\r'))
        p->pos++;
}

static bool jlit(jparse *p, const char *lit)
{
    size_t l = strlen(lit);
    if (p->n - p->pos < l || memcmp(p->s + p->pos, lit, l) != 0)
        return false;
    p->pos += l;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool jhex4(jparse *p, uint32_t *out)
{
    uint32_t v = 0;
    if (p->n - p->pos < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[p->pos + (size_t)i]);
        if (h < 0)
            return false;
        v = v << 4 | (uint32_t)h;
    }
    p->pos += 4;
    *out = v;
    return true;
}

/* Decode the string at p->pos (opening quote) into p->str. */
static qv_err jstring(jparse *p)
{
    p->str.len = 0;
    p->pos++;
    while (p->pos < p->n) {
        unsigned char c = (unsigned char)p->s[p->pos];
        size_t k;
        if (c == '"') {
            p->pos++;
            return p->str.failed ? qv_error_set(p->err, QV_ENOMEM, "out of memory") : QV_OK;
        }
        if (c < 0x20)
            return jfail(p, "control character in string");
        if (c != '\\') {
            if ((k = jsonb_utf8_seq((const uint8_t *)p->s + p->pos, p->n - p->pos)) == 0)
                return jfail(p, "invalid UTF-8");
            qv_buf_put(&p->str, p->s + p->pos, k);
            p->pos += k;
            continue;
        }
        if (++p->pos >= p->n)
            break;
        c = (unsigned char)p->s[p->pos++];
        switch (c) {
        case '"':
        case '\\':
        case '/':
            qv_buf_put_u8(&p->str, c);
            break;
        case 'b':
            qv_buf_put_u8(&p->str, '\b');
            break;
        case 'f':
            qv_buf_put_u8(&p->str, '\f');
            break;
        case 'n':
            qv_buf_put_u8(&p->str, '\n');
            break;
        case 'r':
            qv_buf_put_u8(&p->str, '\r');
            break;
        case 't':
            qv_buf_put_u8(&p->str, '\t');
            break;
        case 'u': {
            uint32_t cp, lo;
            if (!jhex4(p, &cp))
                return jfail(p, "bad \\u escape");
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return jfail(p, "lone low surrogate");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (!jlit(p, "\\u") || !jhex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return jfail(p, "lone high surrogate");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            qv_buf_put_utf8(&p->str, cp);
            break;
        }
        default:
            return jfail(p, "bad escape");
        }
    }
    return jfail(p, "unterminated string");
}

static qv_err jnumber(jparse *p)
{
    size_t start = p->pos;
    bool frac = false, neg = false;
    uint64_t acc = 0;
    bool overflow = false;
    char small[64], *tmp = small;
    double d;

    if (p->s[p->pos] == '-') {
        neg = true;
        p->pos++;
    }
    if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return jfail(p, "bad number");
    if (p->s[p->pos] == '0') {
        p->pos++;
    } else {
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            unsigned dig = (unsigned)(p->s[p->pos++] - '0');
            if (acc > (UINT64_MAX - dig) / 10)
                overflow = true;
            else
                acc = acc * 10 + dig;
        }
    }
    if (p->pos < p->n && p->s[p->pos] == '.') {
        frac = true;
        p->pos++;
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return jfail(p, "bad fraction");
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            p->pos++;
    }
    if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        frac = true;
        p->pos++;
        if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return jfail(p, "bad exponent");
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            p->pos++;
    }
    if (!frac && !overflow && (neg ? acc <= (uint64_t)INT64_MAX + 1 : acc <= INT64_MAX)) {
        qv_jsonb_int(p->b, neg ? (int64_t)(0 - acc) : (int64_t)acc);
        return QV_OK;
    }
    if (p->pos - start >= sizeof small && !(tmp = qv_malloc(p->pos - start + 1)))
        return qv_error_set(p->err, QV_ENOMEM, "out of memory");
    memcpy(tmp, p->s + start, p->pos - start);
    tmp[p->pos - start] = '\0';
    d = strtod(tmp, NULL);
    if (tmp != small)
        qv_free(tmp);
    qv_jsonb_double(p->b, d);
    return QV_OK;
}

static qv_err jvalue(jparse *p, int depth)
{
    qv_err rc;
    char c;

    jws(p);
    if (p->pos >= p->n)
        return jfail(p, "unexpected end");
    c = p->s[p->pos];
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        if (depth >= QV_JSONB_MAX_DEPTH) /* counts containers, as the builder does */
            return jfail(p, "nesting too deep");
        p->pos++;
        obj ? qv_jsonb_begin_object(p->b) : qv_jsonb_begin_array(p->b);
        jws(p);
        if (p->pos < p->n && p->s[p->pos] == (obj ? '}' : ']')) {
            p->pos++;
        } else {
            for (;;) {
                if (obj) {
                    jws(p);
                    if (p->pos >= p->n || p->s[p->pos] != '"')
                        return jfail(p, "expected a key");
                    if ((rc = jstring(p)) != QV_OK)
                        return rc;
                    qv_jsonb_key(p->b, (const char *)p->str.data, p->str.len);
                    jws(p);
                    if (p->pos >= p->n || p->s[p->pos] != ':')
                        return jfail(p, "expected ':'");
                    p->pos++;
                }
                if ((rc = jvalue(p, depth + 1)) != QV_OK)
                    return rc;
                jws(p);
                if (p->pos < p->n && p->s[p->pos] == ',') {
                    p->pos++;
                    continue;
                }
                if (p->pos < p->n && p->s[p->pos] == (obj ? '}' : ']')) {
                    p->pos++;
                    break;
                }
                return jfail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            }
        }
        obj ? qv_jsonb_end_object(p->b) : qv_jsonb_end_array(p->b);
        return QV_OK;
    }
    if (c == '"') {
        if ((rc = jstring(p)) != QV_OK)
            return rc;
        qv_jsonb_string(p->b, (const char *)p->str.data, p->str.len);
        return QV_OK;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return jnumber(p);
    if (jlit(p, "true"))
        qv_jsonb_bool(p->b, true);
    else if (jlit(p, "false"))
        qv_jsonb_bool(p->b, false);
    else if (jlit(p, "null"))
        qv_jsonb_null(p->b);
    else
        return jfail(p, "unexpected character");
    return QV_OK;
}

qv_err qv_jsonb_parse_json(qv_jsonb_builder *b, const char *text, size_t len, qv_error *err)
{
    jparse p = {text, len, 0, b, {0}, err};
    const uint8_t *out;
    size_t n;
    qv_err rc;

    qv_buf_init(&p.str);
    if ((rc = jvalue(&p, 0)) == QV_OK) {
        jws(&p);
        if (p.pos != p.n)
            rc = jfail(&p, "trailing characters");
    }
    qv_buf_fini(&p.str);
    if (rc == QV_OK)
        rc = qv_jsonb_finish(b, &out, &n, err);
    return rc;
}
