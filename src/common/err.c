/* SPDX-License-Identifier: Apache-2.0 */
/* err.c - error table lookups and qv_error formatting. */
#include "quiver/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int http;
    int milvus;
    const char *title;
} err_table[] = {
#define QV_ERR_ROW(name, http, milvus, title) {#name, http, milvus, title},
    QV_ERR_MAP(QV_ERR_ROW)
#undef QV_ERR_ROW
};

static int err_index(qv_err e)
{
    return (e >= 0 && e < QV_ERR_COUNT) ? (int)e : (int)QV_EINTERNAL;
}

const char *qv_err_name(qv_err e) { return err_table[err_index(e)].name; }
const char *qv_err_title(qv_err e) { return err_table[err_index(e)].title; }
int qv_err_http_status(qv_err e) { return err_table[err_index(e)].http; }
int qv_err_milvus_code(qv_err e) { return err_table[err_index(e)].milvus; }

qv_err qv_error_set(qv_error *err, qv_err code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
        err->sys_errno = 0;
    }
    return code;
}

qv_err qv_error_sys(qv_error *err, qv_err code, int errnum, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof err->msg)
            snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
        err->code = code;
        err->sys_errno = errnum;
    }
    return code;
}

void qv_error_prefix(qv_error *err, const char *fmt, ...)
{
    char head[256];
    size_t hl, ml;
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    hl = strlen(head);
    ml = strlen(err->msg);
    if (hl + ml >= sizeof err->msg)
        ml = sizeof err->msg - 1 - hl;
    memmove(err->msg + hl, err->msg, ml);
    memcpy(err->msg, head, hl);
    err->msg[hl + ml] = '\0';
}

void qv_error_clear(qv_error *err)
{
    if (err) {
        err->code = QV_OK;
        err->sys_errno = 0;
        err->msg[0] = '\0';
    }
}
