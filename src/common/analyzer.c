/* SPDX-License-Identifier: Apache-2.0 */
/* analyzer.c - Milvus's standard and whitespace tokenizers with the lowercase and stop
 * filters (quiver/analyzer.h). Parameters are read from JSON text through jsonb (common/
 * has no jansson). Unicode classes and case mapping come from glibc's C.UTF-8 locale,
 * opened once per process as a locale_t (never installed as the global locale, so it is
 * thread-safe); without it, ASCII rules apply and other code points count as letters. */
#include "quiver/analyzer.h"

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "quiver/alloc.h"
#include "quiver/jsonb.h"

typedef enum tokenizer { TOK_STANDARD, TOK_WHITESPACE } tokenizer;

struct qv_analyzer {
    tokenizer tok;
    bool lowercase;
    char **stop; /* sorted, for bsearch */
    size_t nstop;
};

static const char *const english_stop[] = {
    "a",    "an",    "and",   "are",  "as",    "at",   "be",   "but",  "by",
    "for",  "if",    "in",    "into", "is",    "it",   "no",   "not",  "of",
    "on",   "or",    "such",  "that", "the",   "their", "then", "there", "these",
    "they", "this",  "to",    "was",  "will",  "with"};

static pthread_once_t locale_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale; /* (locale_t)0 when C.UTF-8 is unavailable */

static void open_locale(void) { utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

/* ---- parameters ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static qv_err add_stop(qv_analyzer *a, const char *w, size_t n, qv_error *err)
{
    char **v = qv_reallocarray(a->stop, a->nstop + 1, sizeof *v);

    if (!v)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    a->stop = v;
    if (!(v[a->nstop] = qv_strndup(w, n)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    a->nstop++;
    return QV_OK;
}

static qv_err parse_stop_words(qv_analyzer *a, qv_jsonb list, qv_error *err)
{
    qv_jsonb_iter it;
    qv_jsonb w;
    const char *s;
    size_t n;
    qv_err rc = QV_OK;

    if (qv_jsonb_typeof(list) != QV_JSONB_ARRAY)
        return qv_error_set(err, QV_EINVAL, "analyzer params: stop_words must be a list of "
                                            "strings");
    qv_jsonb_iter_init(&it, list);
    while (rc == QV_OK && qv_jsonb_iter_next(&it, NULL, NULL, &w)) {
        if (!qv_jsonb_get_string(w, &s, &n))
            return qv_error_set(err, QV_EINVAL, "analyzer params: stop_words must be a list "
                                                "of strings");
        if (n == 9 && memcmp(s, "_english_", 9) == 0) {
            for (size_t i = 0; rc == QV_OK && i < sizeof english_stop / sizeof *english_stop;
                 i++)
                rc = add_stop(a, english_stop[i], strlen(english_stop[i]), err);
        } else {
            rc = add_stop(a, s, n, err);
        }
    }
    return rc;
}

static bool str_is(qv_jsonb v, const char *want)
{
    const char *s;
    size_t n;
    return qv_jsonb_get_string(v, &s, &n) && n == strlen(want) && memcmp(s, want, n) == 0;
}

static qv_err parse_filter(qv_analyzer *a, qv_jsonb f, qv_error *err)
{
    const char *s;
    size_t n;

    if (str_is(f, "lowercase")) {
        a->lowercase = true;
        return QV_OK;
    }
    if (qv_jsonb_typeof(f) == QV_JSONB_OBJECT && str_is(qv_jsonb_find(f, "type", 4), "stop"))
        return parse_stop_words(a, qv_jsonb_find(f, "stop_words", 10), err);
    if (qv_jsonb_get_string(f, &s, &n) ||
        qv_jsonb_get_string(qv_jsonb_find(f, "type", 4), &s, &n))
        return qv_error_set(err, QV_EINVAL,
                            "analyzer params: unsupported filter \"%.*s\" (lowercase, stop)",
                            (int)(n > 64 ? 64 : n), s);
    return qv_error_set(err, QV_EINVAL, "analyzer params: a filter is a name or an object "
                                        "with a type");
}

static qv_err parse_params(qv_analyzer *a, qv_jsonb root, qv_error *err)
{
    qv_jsonb type = qv_jsonb_find(root, "type", 4), tok = qv_jsonb_find(root, "tokenizer", 9);
    qv_jsonb filters = qv_jsonb_find(root, "filter", 6), v;
    qv_jsonb_iter it;
    const char *s = "";
    size_t n = 0;
    qv_err rc = QV_OK;

    if (qv_jsonb_typeof(root) != QV_JSONB_OBJECT)
        return qv_error_set(err, QV_EINVAL, "analyzer params must be a JSON object");
    if (qv_jsonb_present(type)) {
        if (!str_is(type, "standard")) {
            qv_jsonb_get_string(type, &s, &n);
            return qv_error_set(err, QV_EINVAL,
                                "unknown analyzer type \"%.*s\" (Quiver has: standard)",
                                (int)(n > 64 ? 64 : n), s);
        }
        if (qv_jsonb_present(tok) || qv_jsonb_present(filters))
            return qv_error_set(err, QV_EINVAL, "analyzer params: type excludes tokenizer and "
                                                "filter");
        a->lowercase = true;
        v = qv_jsonb_find(root, "stop_words", 10);
        return qv_jsonb_present(v) ? parse_stop_words(a, v, err) : QV_OK;
    }
    if (!qv_jsonb_present(tok))
        return qv_error_set(err, QV_EINVAL, "analyzer params need a type or a tokenizer");
    if (str_is(tok, "whitespace")) {
        a->tok = TOK_WHITESPACE;
    } else if (!str_is(tok, "standard")) {
        qv_jsonb_get_string(tok, &s, &n);
        return qv_error_set(err, QV_EINVAL,
                            "unknown tokenizer \"%.*s\" (Quiver has: standard, whitespace)",
                            (int)(n > 64 ? 64 : n), s);
    }
    if (qv_jsonb_present(filters) && qv_jsonb_typeof(filters) != QV_JSONB_ARRAY)
        return qv_error_set(err, QV_EINVAL, "analyzer params: filter must be a list");
    qv_jsonb_iter_init(&it, filters);
    while (rc == QV_OK && qv_jsonb_iter_next(&it, NULL, NULL, &v))
        rc = parse_filter(a, v, err);
    return rc;
}

qv_err qv_analyzer_new(const char *params, qv_analyzer **out, qv_error *err)
{
    qv_analyzer *a = qv_calloc(1, sizeof *a);
    qv_jsonb_builder b;
    const uint8_t *blob;
    size_t len;
    qv_error e;
    qv_err rc = QV_OK;

    *out = NULL;
    pthread_once(&locale_once, open_locale);
    if (!a)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    a->tok = TOK_STANDARD;
    a->lowercase = true;
    if (params && *params) {
        a->lowercase = false;
        qv_jsonb_builder_init(&b);
        if (qv_jsonb_parse_json(&b, params, strlen(params), &e) != QV_OK ||
            qv_jsonb_finish(&b, &blob, &len, &e) != QV_OK)
            rc = qv_error_set(err, QV_EINVAL, "analyzer params are not valid JSON: %s", e.msg);
        else
            rc = parse_params(a, qv_jsonb_root(blob, len), err);
        qv_jsonb_builder_fini(&b);
    }
    if (rc != QV_OK) {
        qv_analyzer_free(a);
        return rc;
    }
    if (a->nstop)
        qsort(a->stop, a->nstop, sizeof *a->stop, cmp_str);
    *out = a;
    return QV_OK;
}

void qv_analyzer_free(qv_analyzer *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nstop; i++)
        qv_free(a->stop[i]);
    qv_free(a->stop);
    qv_free(a);
}

/* ---- tokenizing ---------------------------------------------------------------------- */

/* Decode one UTF-8 code point at s[*i]; -1 (advancing one byte) on an invalid sequence. */
static long next_cp(const unsigned char *s, size_t n, size_t *i)
{
    unsigned c = s[*i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    long cp;

    if (len == 0 || *i + len > n || !qv_jsonb_utf8_valid((const char *)s + *i, len)) {
        (*i)++;
        return -1;
    }
    cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; k < len; k++)
        cp = cp << 6 | (s[*i + k] & 0x3f);
    *i += len;
    return cp;
}

static bool is_word(const qv_analyzer *a, long cp)
{
    if (cp < 0)
        return false;
    if (a->tok == TOK_WHITESPACE)
        return utf8_locale ? !iswspace_l((wint_t)cp, utf8_locale)
                           : !(cp == ' ' || (cp >= '\t' && cp <= '\r'));
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
    if (!utf8_locale)
        return true;
    return iswalnum_l((wint_t)cp, utf8_locale) != 0;
}

static void put_cp(char *out, size_t *n, long cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static long lower(const qv_analyzer *a, long cp)
{
    if (!a->lowercase)
        return cp;
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    if (!utf8_locale)
        return cp;
    wint_t l = towlower_l((wint_t)cp, utf8_locale);
    return l <= 0x10ffff ? (long)l : cp;
}

static bool is_stop(const qv_analyzer *a, const char *tok, size_t n)
{
    char key[QV_ANALYZER_MAX_TOKEN + 1];
    const char *k = key;

    if (!a->nstop)
        return false;
    memcpy(key, tok, n);
    key[n] = 0;
    return bsearch(&k, a->stop, a->nstop, sizeof *a->stop, cmp_str) != NULL;
}

qv_err qv_analyzer_run(const qv_analyzer *a, const char *text, size_t len, qv_token_fn fn,
                       void *ctx)
{
    const unsigned char *s = (const unsigned char *)text;
    char tok[QV_ANALYZER_MAX_TOKEN + 4]; /* a code point may end past the limit */
    size_t i = 0, n = 0;
    bool too_long = false;

    for (;;) {
        bool end = i >= len;
        long cp = end ? -1 : next_cp(s, len, &i);
        if (!end && is_word(a, cp)) {
            if (!too_long) {
                put_cp(tok, &n, lower(a, cp));
                too_long = n > QV_ANALYZER_MAX_TOKEN;
            }
            continue;
        }
        if (n && !too_long && !is_stop(a, tok, n) && !fn(ctx, tok, n))
            return QV_OK;
        n = 0;
        too_long = false;
        if (end)
            return QV_OK;
    }
}

uint32_t qv_analyzer_term_id(const char *tok, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)tok[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- term frequencies ---------------------------------------------------------------- */

typedef struct id_list {
    uint32_t *ids;
    size_t n, cap;
    bool failed;
} id_list;

static bool collect(void *ctx, const char *tok, size_t len)
{
    id_list *l = ctx;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint32_t *v = qv_reallocarray(l->ids, cap, sizeof *v);
        if (!v) {
            l->failed = true;
            return false;
        }
        l->ids = v;
        l->cap = cap;
    }
    l->ids[l->n++] = qv_analyzer_term_id(tok, len);
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

qv_err qv_analyzer_term_freqs(const qv_analyzer *a, const char *text, size_t len,
                              qv_term_freqs *out)
{
    id_list l = {0};
    size_t m = 0;

    memset(out, 0, sizeof *out);
    qv_analyzer_run(a, text, len, collect, &l);
    if (l.failed || !(out->counts = qv_malloc((l.n ? l.n : 1) * sizeof *out->counts))) {
        qv_free(l.ids);
        return QV_ENOMEM;
    }
    if (l.n)
        qsort(l.ids, l.n, sizeof *l.ids, cmp_u32);
    for (size_t i = 0; i < l.n; i++) {
        if (m && l.ids[m - 1] == l.ids[i]) {
            out->counts[m - 1] += 1;
        } else {
            l.ids[m] = l.ids[i];
            out->counts[m++] = 1;
        }
    }
    out->ids = l.ids;
    out->n = m;
    out->tokens = l.n;
    return QV_OK;
}

void qv_term_freqs_fini(qv_term_freqs *t)
{
    if (!t)
        return;
    qv_free(t->ids);
    qv_free(t->counts);
    memset(t, 0, sizeof *t);
}
