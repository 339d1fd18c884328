/* SPDX-License-Identifier: Apache-2.0 */
/* rows_scan.c - the lexical layer of the text front end: strings, numbers, literals, a
 * bracket-matching skipper and a strict validator, over a window of the request body.
 * Acceptance follows jansson (as qv_jdoc_parse configures it: \u0000 allowed, UTF-8
 * checked, lone surrogates refused); integers past int64 are RV_BIGINT here where
 * jansson refuses the whole body. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "codec/rows_int.h"

qv_err scan_syntax(scan *x, size_t pos, const char *what)
{
    return qv_error_set(x->err, QV_EBADJSON,
                        "can only accept json format request, error: %s at offset %zu", what,
                        pos);
}

size_t scan_ws(const scan *x, size_t p)
{
    while (p < x->end) {
        char c = x->t[p];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        p++;
    }
    return p;
}

/* Length (1..4) of the valid UTF-8 sequence at s, or 0 (overlongs, surrogates and code
 * points past U+10FFFF are invalid). */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];

    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool hex4(const scan *x, size_t p, uint32_t *out)
{
    uint32_t v = 0;

    if (x->end - p < 4)
        return false;
    for (size_t i = 0; i < 4; i++) {
        int h = hexval((unsigned char)x->t[p + i]);
        if (h < 0)
            return false;
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return true;
}

/* One escape after the backslash at p (p points at the escape letter); decoded into b. */
static qv_err string_escape(scan *x, size_t *pos, qv_buf *b)
{
    size_t p = *pos;
    uint32_t cp, lo;
    int c = scan_peek(x, p);
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = c > 0 ? strchr(from, c) : NULL;

    if (hit) {
        qv_buf_put_u8(b, (uint8_t)to[hit - from]);
        *pos = p + 1;
        return QV_OK;
    }
    if (c != 'u')
        return scan_syntax(x, p, "invalid escape in string");
    if (!hex4(x, p + 1, &cp))
        return scan_syntax(x, p, "invalid \\u escape");
    p += 5;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return scan_syntax(x, p, "invalid Unicode (lone low surrogate)");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (scan_peek(x, p) != '\\' || scan_peek(x, p + 1) != 'u' || !hex4(x, p + 2, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
            return scan_syntax(x, p, "invalid Unicode (lone high surrogate)");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
    }
    qv_buf_put_utf8(b, cp);
    *pos = p;
    return QV_OK;
}

qv_err scan_string(scan *x, size_t *pos, qv_buf *buf, size_t *off, size_t *len, bool *in_buf)
{
    const uint8_t *t = (const uint8_t *)x->t;
    size_t p = *pos + 1, start = p, run = p, boff = 0;
    bool esc = false;
    qv_err rc;

    for (;;) {
        while (p < x->end && t[p] >= 0x20 && t[p] < 0x80 && t[p] != '"' && t[p] != '\\')
            p++;
        if (p >= x->end)
            return scan_syntax(x, *pos, "unterminated string");
        if (t[p] == '"')
            break;
        if (t[p] >= 0x80) {
            size_t k = utf8_seq(t + p, x->end - p);
            if (!k)
                return scan_syntax(x, p, "invalid UTF-8 in string");
            p += k;
            continue;
        }
        if (t[p] < 0x20)
            return scan_syntax(x, p, "control character in string");
        if (!esc) { /* first escape: switch to copying */
            esc = true;
            boff = buf->len;
        }
        qv_buf_put(buf, t + run, p - run);
        p++;
        if ((rc = string_escape(x, &p, buf)) != QV_OK)
            return rc;
        run = p;
    }
    if (esc) {
        qv_buf_put(buf, t + run, p - run);
        if (buf->failed)
            return qv_error_set(x->err, QV_ENOMEM, "out of memory");
        *off = boff;
        *len = buf->len - boff;
    } else {
        *off = start;
        *len = p - start;
    }
    *in_buf = esc;
    *pos = p + 1;
    return QV_OK;
}

/* Length of the JSON number at p, 0 if there is none. *real: fraction or exponent. */
static size_t number_len(const scan *x, size_t p, bool *real)
{
    size_t s = p;

    *real = false;
    if (scan_peek(x, p) == '-')
        p++;
    if (scan_peek(x, p) == '0') {
        p++;
    } else if (scan_peek(x, p) >= '1' && scan_peek(x, p) <= '9') {
        while (scan_peek(x, p) >= '0' && scan_peek(x, p) <= '9')
            p++;
    } else {
        return 0;
    }
    if (scan_peek(x, p) == '.') {
        *real = true;
        if (!(scan_peek(x, ++p) >= '0' && scan_peek(x, p) <= '9'))
            return 0;
        while (scan_peek(x, p) >= '0' && scan_peek(x, p) <= '9')
            p++;
    }
    if (scan_peek(x, p) == 'e' || scan_peek(x, p) == 'E') {
        *real = true;
        p++;
        if (scan_peek(x, p) == '+' || scan_peek(x, p) == '-')
            p++;
        if (!(scan_peek(x, p) >= '0' && scan_peek(x, p) <= '9'))
            return 0;
        while (scan_peek(x, p) >= '0' && scan_peek(x, p) <= '9')
            p++;
    }
    return p - s;
}

static qv_err scan_number(scan *x, size_t *pos, rv *v)
{
    size_t p = *pos, n;
    bool real, neg;
    uint64_t acc = 0, lim;

    n = number_len(x, p, &real);
    if (!n)
        return scan_syntax(x, p, "invalid number");
    memset(v, 0, sizeof *v);
    v->s = x->t + p;
    v->len = n;
    *pos = p + n;
    if (real) {
        v->kind = RV_REAL;
        return QV_OK;
    }
    neg = x->t[p] == '-';
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    v->kind = RV_INT;
    for (size_t i = neg; i < n; i++) {
        unsigned d = (unsigned)(x->t[p + i] - '0');
        if (acc > (lim - d) / 10) {
            v->kind = RV_BIGINT;
            return QV_OK;
        }
        acc = acc * 10 + d;
    }
    v->i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return QV_OK;
}

bool scan_numeric_string(const char *s, size_t n, rv *v)
{
    scan x = {.t = s, .end = n};
    size_t p = 0;

    return n && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && scan_number(&x, &p, v) == QV_OK &&
           p == n;
}

static bool literal(const scan *x, size_t p, const char *lit, size_t n)
{
    return x->end - p >= n && memcmp(x->t + p, lit, n) == 0;
}

qv_err scan_scalar(scan *x, size_t *pos, rv *v)
{
    size_t p = *pos, off, len;
    int c = scan_peek(x, p);
    bool in_buf;
    qv_err rc;

    memset(v, 0, sizeof *v);
    switch (c) {
    case '"':
        x->str.len = 0;
        if ((rc = scan_string(x, pos, &x->str, &off, &len, &in_buf)) != QV_OK)
            return rc;
        v->kind = RV_STRING;
        v->s = in_buf ? (const char *)x->str.data + off : x->t + off;
        v->len = len;
        return QV_OK;
    case '[':
        v->kind = RV_ARRAY;
        return QV_OK;
    case '{':
        v->kind = RV_OBJECT;
        return QV_OK;
    case 't':
    case 'f':
    case 'n':
        if (literal(x, p, "true", 4) || literal(x, p, "null", 4)) {
            v->kind = c == 'n' ? RV_NULL : RV_BOOL;
            v->b = c == 't';
            *pos = p + 4;
            return QV_OK;
        }
        if (literal(x, p, "false", 5)) {
            v->kind = RV_BOOL;
            *pos = p + 5;
            return QV_OK;
        }
        return scan_syntax(x, p, "invalid literal");
    case -1:
        return scan_syntax(x, p, "unexpected end of input");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return scan_number(x, pos, v);
        return scan_syntax(x, p, "unexpected character");
    }
}

/* Characters that end a scalar token for the skipper. */
static bool token_end(int c)
{
    return c < 0 || c == ',' || c == ']' || c == '}' || c == ' ' || c == '\n' || c == '\r' ||
           c == '\t' || c == ':' || c == '[' || c == '{' || c == '"';
}

/* The first '"', '[', ']', '{' or '}' in t[p, end), or end. Bulk values are digits, so
 * this runs over 16 bytes at a time where SSE2 exists ('[' | 0x20 == '{', ']' | 0x20 ==
 * '}', so two compares find all four brackets). */
static size_t next_structural(const char *t, size_t p, size_t end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), open = _mm_set1_epi8('{'),
                  close = _mm_set1_epi8('}'), fold = _mm_set1_epi8(0x20);
    for (; p + 16 <= end; p += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + p));
        __m128i f = _mm_or_si128(v, fold);
        int mask = _mm_movemask_epi8(_mm_or_si128(
            _mm_cmpeq_epi8(v, quote),
            _mm_or_si128(_mm_cmpeq_epi8(f, open), _mm_cmpeq_epi8(f, close))));
        if (mask)
            return p + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    for (; p < end; p++) {
        char c = (char)(t[p] | 0x20);
        if (t[p] == '"' || c == '{' || c == '}')
            return p;
    }
    return end;
}

/* The closing quote of the string whose body starts at p, or end. */
static size_t string_end(const char *t, size_t p, size_t end)
{
    for (;;) {
        const char *q = memchr(t + p, '"', end - p);
        size_t k;
        if (!q)
            return end;
        p = (size_t)(q - t);
        for (k = p; k > 0 && t[k - 1] == '\\'; k--) /* an odd run of backslashes escapes it */
            ;
        if ((p - k) % 2 == 0)
            return p;
        p++;
    }
}

qv_err scan_skip(scan *x, size_t pos, size_t *end, size_t *depth)
{
    const char *t = x->t;
    size_t p = pos, d = 0, maxd = 0;
    int c = scan_peek(x, p);

    if (c == '"') {
        if ((p = string_end(t, p + 1, x->end)) >= x->end)
            return scan_syntax(x, pos, "unterminated string");
        *end = p + 1;
        *depth = 0;
        return QV_OK;
    }
    if (c != '[' && c != '{') {
        while (!token_end(scan_peek(x, p)))
            p++;
        if (p == pos)
            return scan_syntax(x, pos, c < 0 ? "unexpected end of input" : "expected a value");
        *end = p;
        *depth = 0;
        return QV_OK;
    }
    for (; (p = next_structural(t, p, x->end)) < x->end; p++) {
        switch (t[p]) {
        case '"':
            if ((p = string_end(t, p + 1, x->end)) >= x->end)
                return scan_syntax(x, pos, "unterminated string");
            break;
        case '[':
        case '{':
            if (++d > maxd)
                maxd = d;
            break;
        default: /* ']' or '}' */
            if (--d == 0) {
                *end = p + 1;
                *depth = maxd;
                return QV_OK;
            }
            break;
        }
    }
    return scan_syntax(x, pos, "unterminated array or object");
}

qv_err scan_check(scan *x, size_t *pos, size_t level)
{
    size_t p = scan_ws(x, *pos), off, len;
    int c = scan_peek(x, p), close;
    bool in_buf;
    rv v;
    qv_err rc;

    if (c != '[' && c != '{') {
        x->str.len = 0;
        if ((rc = scan_scalar(x, &p, &v)) == QV_OK)
            *pos = p;
        return rc;
    }
    if (level + 1 > x->max_depth)
        return qv_error_set(x->err, QV_EBADJSON,
                            "can only accept json format request, error: nesting deeper than "
                            "%zu at offset %zu",
                            x->max_depth, p);
    close = c == '[' ? ']' : '}';
    p = scan_ws(x, p + 1);
    if (scan_peek(x, p) == close) {
        *pos = p + 1;
        return QV_OK;
    }
    for (;;) {
        if (close == '}') {
            if (scan_peek(x, p) != '"')
                return scan_syntax(x, p, "expected a string key");
            x->str.len = 0;
            if ((rc = scan_string(x, &p, &x->str, &off, &len, &in_buf)) != QV_OK)
                return rc;
            p = scan_ws(x, p);
            if (scan_peek(x, p) != ':')
                return scan_syntax(x, p, "expected ':'");
            p++;
        }
        if ((rc = scan_check(x, &p, level + 1)) != QV_OK)
            return rc;
        p = scan_ws(x, p);
        if (scan_peek(x, p) == ',') {
            p = scan_ws(x, p + 1);
            continue;
        }
        if (scan_peek(x, p) == close) {
            *pos = p + 1;
            return QV_OK;
        }
        return scan_syntax(x, p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}
