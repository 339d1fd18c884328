/* SPDX-License-Identifier: Apache-2.0 */
/* filter_lex.c - the plan arena, Milvus-worded errors and the expression lexer.
 * The lexer follows Plan.g4's tokens (C-style numbers and string escapes, $meta,
 * r"raw" strings) and produces one token at a time on demand, so the parser's memory for
 * tokens is constant however long the (length-limited) expression is. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter_int.h"
#include "quiver/alloc.h"

/* ---- arena ---------------------------------------------------------------------------- */

struct arena_chunk {
    arena_chunk *next;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

void *farena_alloc(farena *a, size_t n)
{
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (!a->head || a->cap - a->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        arena_chunk *c = qv_malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->cap = cap;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    p = a->head->data + a->used;
    a->used += n;
    memset(p, 0, n);
    return p;
}

char *farena_strndup(farena *a, const char *s, size_t n)
{
    char *d = farena_alloc(a, n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void farena_fini(farena *a)
{
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        qv_free(c);
        c = next;
    }
    memset(a, 0, sizeof *a);
}

/* ---- errors --------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 0))) static qv_err vfail(fctx *c, bool with_pos, uint32_t pos,
                                                          const char *fmt, va_list ap)
{
    char detail[320];
    int shown;

    if (c->failed) /* keep the first (most precise) error */
        return c->code;
    c->failed = true;
    c->code = QV_EINVAL;
    if (!c->err)
        return QV_EINVAL;
    vsnprintf(detail, sizeof detail, fmt, ap);
    /* echo at most 120 bytes of the expression so the detail always fits */
    shown = c->len > 120 ? 120 : (int)c->len;
    if (with_pos)
        return qv_error_set(c->err, QV_EINVAL,
                            "failed to create query plan: cannot parse expression: %.*s%s, "
                            "error: %s at position %u",
                            shown, c->expr, c->len > 120 ? "..." : "", detail, pos);
    return qv_error_set(c->err, QV_EINVAL,
                        "failed to create query plan: cannot parse expression: %.*s%s, error: %s",
                        shown, c->expr, c->len > 120 ? "..." : "", detail);
}

qv_err filter_fail(fctx *c, uint32_t pos, const char *fmt, ...)
{
    va_list ap;
    qv_err rc;

    va_start(ap, fmt);
    rc = vfail(c, true, pos, fmt, ap);
    va_end(ap);
    return rc;
}

qv_err filter_fail_nopos(fctx *c, const char *fmt, ...)
{
    va_list ap;
    qv_err rc;

    va_start(ap, fmt);
    rc = vfail(c, false, 0, fmt, ap);
    va_end(ap);
    return rc;
}

qv_err filter_nomem(fctx *c)
{
    if (c->failed)
        return c->code;
    c->failed = true;
    c->code = QV_ENOMEM;
    return qv_error_set(c->err, QV_ENOMEM, "out of memory compiling a filter");
}

static qv_err oom(fctx *c) { return filter_nomem(c); }

/* ---- lexer ---------------------------------------------------------------------------- */

static bool is_ident_start(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_ident_char(char ch) { return is_ident_start(ch) || is_digit(ch); }

static int hexdig(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One escape sequence after the backslash at s[*i - 1]; appends to out[*o]. */
static qv_err lex_escape(fctx *c, size_t *i, char *out, size_t *o)
{
    const char *s = c->expr;
    char ch = s[*i];
    uint32_t cp = 0;
    int ndig = 0;

    switch (ch) {
    case 'n':
        out[(*o)++] = '\n';
        break;
    case 't':
        out[(*o)++] = '\t';
        break;
    case 'r':
        out[(*o)++] = '\r';
        break;
    case 'a':
        out[(*o)++] = '\a';
        break;
    case 'b':
        out[(*o)++] = '\b';
        break;
    case 'f':
        out[(*o)++] = '\f';
        break;
    case 'v':
        out[(*o)++] = '\v';
        break;
    case '\\':
    case '\'':
    case '"':
    case '?':
        out[(*o)++] = ch;
        break;
    case 'x':
        while (ndig < 2 && *i + 1 < c->len && hexdig(s[*i + 1]) >= 0) {
            cp = cp << 4 | (uint32_t)hexdig(s[++*i]);
            ndig++;
        }
        if (ndig == 0)
            return filter_fail(c, (uint32_t)*i, "invalid \\x escape");
        out[(*o)++] = (char)cp;
        break;
    case 'u':
    case 'U': {
        int need = ch == 'u' ? 4 : 8;
        for (int k = 0; k < need; k++) {
            if (*i + 1 >= c->len || hexdig(s[*i + 1]) < 0)
                return filter_fail(c, (uint32_t)*i, "invalid \\%c escape", ch);
            cp = cp << 4 | (uint32_t)hexdig(s[++*i]);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return filter_fail(c, (uint32_t)*i, "invalid Unicode code point in escape");
        *o += utf8_put(out + *o, cp);
        break;
    }
    default:
        if (ch >= '0' && ch <= '7') {
            cp = (uint32_t)(ch - '0');
            while (++ndig < 3 && *i + 1 < c->len && s[*i + 1] >= '0' && s[*i + 1] <= '7')
                cp = cp << 3 | (uint32_t)(s[++*i] - '0');
            if (cp > 0xFF)
                return filter_fail(c, (uint32_t)*i, "octal escape out of range");
            out[(*o)++] = (char)cp;
            break;
        }
        /* unknown escape: keep it verbatim (like patterns use \% and \_) */
        out[(*o)++] = '\\';
        out[(*o)++] = ch;
    }
    (*i)++;
    return QV_OK;
}

static qv_err lex_string(fctx *c, size_t *pi, bool raw, ftok *t)
{
    const char *s = c->expr;
    char q = s[*pi];
    size_t i = *pi + 1, o = 0;
    char *out;
    qv_err rc;

    /* escapes never expand: \U0010FFFF (10 bytes) is 4 UTF-8 bytes */
    if ((out = farena_alloc(c->arena, c->len - *pi + 1)) == NULL)
        return oom(c);
    for (;;) {
        if (i >= c->len || s[i] == '\n' || s[i] == '\r')
            return filter_fail(c, t->pos, "unterminated string literal");
        if (s[i] == q) {
            i++;
            break;
        }
        if (s[i] == '\\') {
            if (i + 1 >= c->len)
                return filter_fail(c, t->pos, "unterminated string literal");
            if (raw) { /* kept verbatim; only stops the delimiter from ending the string */
                out[o++] = s[i++];
                out[o++] = s[i++];
                continue;
            }
            i++;
            if ((rc = lex_escape(c, &i, out, &o)) != QV_OK)
                return rc;
            continue;
        }
        out[o++] = s[i++];
    }
    out[o] = '\0';
    if (!qv_jsonb_utf8_valid(out, o)) /* rows are UTF-8, and constants become jsonb */
        return filter_fail(c, t->pos, "string literal is not valid UTF-8");
    t->kind = T_STRING;
    t->str = out;
    t->slen = o;
    *pi = i;
    return QV_OK;
}

static qv_err lex_number(fctx *c, size_t *pi, ftok *t)
{
    const char *s = c->expr;
    size_t i = *pi, start = i;
    uint64_t v = 0;
    int base = 10;
    bool isfloat = false, overflow = false;

    if (s[i] == '0' && i + 1 < c->len && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    } else if (s[i] == '0' && i + 1 < c->len && (s[i + 1] == 'b' || s[i + 1] == 'B')) {
        base = 2;
        i += 2;
    } else {
        size_t j = i;
        while (j < c->len && is_digit(s[j]))
            j++;
        if (j < c->len && (s[j] == '.' || s[j] == 'e' || s[j] == 'E'))
            isfloat = true;
        else if (s[i] == '0')
            base = 8;
    }
    if (isfloat) {
        char buf[400], *end;
        size_t j = i;
        while (j < c->len && is_digit(s[j]))
            j++;
        if (j < c->len && s[j] == '.')
            for (j++; j < c->len && is_digit(s[j]); j++)
                ;
        if (j < c->len && (s[j] == 'e' || s[j] == 'E')) {
            size_t k = j + 1;
            if (k < c->len && (s[k] == '+' || s[k] == '-'))
                k++;
            if (k >= c->len || !is_digit(s[k]))
                return filter_fail(c, t->pos, "invalid floating-point literal");
            for (j = k; j < c->len && is_digit(s[j]); j++)
                ;
        }
        if (j - start >= sizeof buf)
            return filter_fail(c, t->pos, "floating-point literal too long");
        memcpy(buf, s + start, j - start);
        buf[j - start] = '\0';
        t->kind = T_FLOAT;
        t->fval = strtod(buf, &end);
        i = j;
    } else {
        size_t digits = 0;
        for (; i < c->len; i++, digits++) {
            int d = hexdig(s[i]);
            if (d < 0 || d >= base || (base != 16 && !is_digit(s[i]))) {
                if (is_digit(s[i]))
                    return filter_fail(c, t->pos, "invalid digit in base-%d literal", base);
                break;
            }
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                overflow = true;
            else
                v = v * (uint64_t)base + (uint64_t)d;
        }
        if (base != 10 && base != 8 && digits == 0)
            return filter_fail(c, t->pos, "invalid integer literal");
        if (overflow || v > (uint64_t)INT64_MAX + 1)
            return filter_fail(c, t->pos, "integer literal out of int64 range");
        t->kind = T_INT;
        t->big = v == (uint64_t)INT64_MAX + 1;
        t->ival = t->big ? INT64_MIN : (int64_t)v;
    }
    if (i < c->len && (is_ident_char(s[i]) || s[i] == '.'))
        return filter_fail(c, t->pos, "invalid numeric literal");
    *pi = i;
    return QV_OK;
}

static tok_kind two_char(const char *s, size_t left, size_t *len)
{
    static const struct {
        char a, b;
        tok_kind k;
    } two[] = {{'<', '=', T_LE},   {'>', '=', T_GE},    {'=', '=', T_EQ},
               {'!', '=', T_NE},   {'*', '*', T_POW},   {'&', '&', T_ANDAND},
               {'|', '|', T_OROR}, {'<', '<', T_BITOP}, {'>', '>', T_BITOP}};
    static const struct {
        char a;
        tok_kind k;
    } one[] = {{'(', T_LPAREN}, {')', T_RPAREN}, {'[', T_LBRACK}, {']', T_RBRACK},  {'{', T_LBRACE},
               {'}', T_RBRACE}, {',', T_COMMA},  {'<', T_LT},     {'>', T_GT},      {'+', T_PLUS},
               {'-', T_MINUS},  {'*', T_STAR},   {'/', T_SLASH},  {'%', T_PERCENT}, {'!', T_BANG},
               {'&', T_BITOP},  {'|', T_BITOP},  {'^', T_BITOP},  {'~', T_BITOP}};

    for (size_t k = 0; left >= 2 && k < sizeof two / sizeof two[0]; k++)
        if (s[0] == two[k].a && s[1] == two[k].b) {
            *len = 2;
            return two[k].k;
        }
    for (size_t k = 0; k < sizeof one / sizeof one[0]; k++)
        if (s[0] == one[k].a) {
            *len = 1;
            return one[k].k;
        }
    *len = 0;
    return T_EOF;
}

qv_err filter_lex_next(fctx *c, ftok *t)
{
    const char *s = c->expr;
    size_t i = c->lexpos;
    qv_err rc;

    memset(t, 0, sizeof *t);
    while (i < c->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    t->pos = (uint32_t)i;
    if (i >= c->len) {
        t->kind = T_EOF;
        c->lexpos = i;
        return QV_OK;
    }
    if ((s[i] == 'r' || s[i] == 'R') && i + 1 < c->len && (s[i + 1] == '"' || s[i + 1] == '\'')) {
        i++;
        if ((rc = lex_string(c, &i, true, t)) != QV_OK)
            return rc;
    } else if (is_ident_start(s[i])) {
        size_t j = i;
        while (j < c->len && is_ident_char(s[j]))
            j++;
        t->kind = T_IDENT;
        t->str = s + i;
        t->slen = j - i;
        i = j;
    } else if (s[i] == '$') {
        if (c->len - i < 5 || memcmp(s + i, "$meta", 5) != 0 ||
            (i + 5 < c->len && is_ident_char(s[i + 5])))
            return filter_fail(c, t->pos, "unexpected character '$'");
        t->kind = T_META;
        t->str = s + i;
        t->slen = 5;
        i += 5;
    } else if (is_digit(s[i]) || (s[i] == '.' && i + 1 < c->len && is_digit(s[i + 1]))) {
        if ((rc = lex_number(c, &i, t)) != QV_OK)
            return rc;
    } else if (s[i] == '"' || s[i] == '\'') {
        if ((rc = lex_string(c, &i, false, t)) != QV_OK)
            return rc;
    } else {
        size_t n;
        if ((s[i] == '=' || s[i] == '!') && i + 1 < c->len && s[i + 1] == '~')
            return filter_fail(c, t->pos, "regex match operators are not supported");
        t->kind = two_char(s + i, c->len - i, &n);
        if (n == 0) {
            unsigned char ch = (unsigned char)s[i];
            if (ch != '=' && ch >= 0x20 && ch < 0x7F)
                return filter_fail(c, t->pos, "unexpected character '%c'", ch);
            if (ch != '=')
                return filter_fail(c, t->pos, "unexpected byte 0x%02x", ch);
            t->kind = T_ASSIGN; /* the parser refuses it outside named arguments */
            n = 1;
        }
        i += n;
    }
    t->len = (uint32_t)(i - t->pos);
    c->lexpos = i;
    return QV_OK;
}
