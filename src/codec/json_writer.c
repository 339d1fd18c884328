/* SPDX-License-Identifier: Apache-2.0 */
/* json_writer.c - streaming JSON writer into a qv_buf (no intermediate tree). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/json.h"

void qv_jw_init(qv_jw *w, qv_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

/* Separator before a value: a comma unless first in its container or after a key. */
static void jw_value_prefix(qv_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && w->need_comma[w->depth])
        qv_buf_put(w->out, ",", 1);
    if (w->depth > 0)
        w->need_comma[w->depth] = true;
}

static void jw_open(qv_jw *w, char c)
{
    jw_value_prefix(w);
    qv_buf_put(w->out, &c, 1);
    if (w->depth + 1 < QV_JW_MAX_DEPTH)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void jw_close(qv_jw *w, char c)
{
    qv_buf_put(w->out, &c, 1);
    if (w->depth > 0)
        w->depth--;
}

void qv_jw_obj_begin(qv_jw *w) { jw_open(w, '{'); }
void qv_jw_obj_end(qv_jw *w) { jw_close(w, '}'); }
void qv_jw_arr_begin(qv_jw *w) { jw_open(w, '['); }
void qv_jw_arr_end(qv_jw *w) { jw_close(w, ']'); }

static void jw_escaped(qv_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    qv_buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        qv_buf_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': qv_buf_puts(b, "\\\""); break;
        case '\\': qv_buf_puts(b, "\\\\"); break;
        case '\n': qv_buf_puts(b, "\\n"); break;
        case '\r': qv_buf_puts(b, "\\r"); break;
        case '\t': qv_buf_puts(b, "\\t"); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            qv_buf_put(b, u, 6);
        }
        }
    }
    qv_buf_put(b, s + run, n - run);
    qv_buf_put(b, "\"", 1);
}

void qv_jw_keyn(qv_jw *w, const char *key, size_t n)
{
    jw_value_prefix(w);
    jw_escaped(w->out, key, n);
    qv_buf_put(w->out, ":", 1);
    w->after_key = true;
}

void qv_jw_key(qv_jw *w, const char *key) { qv_jw_keyn(w, key, strlen(key)); }

void qv_jw_strn(qv_jw *w, const char *s, size_t n)
{
    jw_value_prefix(w);
    jw_escaped(w->out, s ? s : "", s ? n : 0);
}

void qv_jw_str(qv_jw *w, const char *s) { qv_jw_strn(w, s, s ? strlen(s) : 0); }

void qv_jw_int(qv_jw *w, int64_t v)
{
    jw_value_prefix(w);
    qv_buf_printf(w->out, "%lld", (long long)v);
}

void qv_jw_uint(qv_jw *w, uint64_t v)
{
    jw_value_prefix(w);
    qv_buf_printf(w->out, "%llu", (unsigned long long)v);
}

void qv_jw_bool(qv_jw *w, bool v)
{
    jw_value_prefix(w);
    qv_buf_puts(w->out, v ? "true" : "false");
}

void qv_jw_null(qv_jw *w)
{
    jw_value_prefix(w);
    qv_buf_puts(w->out, "null");
}

void qv_jw_double(qv_jw *w, double v)
{
    if (!isfinite(v)) {
        qv_jw_null(w);
        return;
    }
    jw_value_prefix(w);
    if (v == floor(v) && fabs(v) < 1e15)
        qv_buf_printf(w->out, "%.1f", v);
    else
        qv_buf_printf(w->out, "%.17g", v);
}

void qv_jw_float(qv_jw *w, float v)
{
    char buf[32];

    if (!isfinite(v)) {
        qv_jw_null(w);
        return;
    }
    jw_value_prefix(w);
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    qv_buf_puts(w->out, buf);
}

void qv_jw_raw(qv_jw *w, const char *json, size_t n)
{
    jw_value_prefix(w);
    qv_buf_put(w->out, json, n);
}

void qv_jw_kstr(qv_jw *w, const char *key, const char *s)
{
    qv_jw_key(w, key);
    qv_jw_str(w, s);
}

void qv_jw_kint(qv_jw *w, const char *key, int64_t v)
{
    qv_jw_key(w, key);
    qv_jw_int(w, v);
}

void qv_jw_kbool(qv_jw *w, const char *key, bool v)
{
    qv_jw_key(w, key);
    qv_jw_bool(w, v);
}
