/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/err.h - the one error language: enum, HTTP status, Milvus code, title. */
#ifndef QUIVER_ERR_H
#define QUIVER_ERR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* name, http status, milvus code, title (Milvus message prefix) */
#define QV_ERR_MAP(X)                                                                              \
    X(QV_OK, 200, 0, "ok")                                                                         \
    X(QV_EBADJSON, 400, 1801, "can only accept json format request")                               \
    X(QV_EMISSING, 400, 1802, "missing required parameters")                                       \
    X(QV_EINVAL, 400, 1100, "invalid parameter")                                                   \
    X(QV_EBADDATA, 400, 1804, "fail to deal the insert data")                                      \
    X(QV_EBADPK, 400, 1806, "invalid primary key")                                                 \
    X(QV_ENOCOLL, 404, 100, "collection not found")                                                \
    X(QV_ENOTLOADED, 400, 101, "collection not loaded")                                            \
    X(QV_ENOPART, 404, 200, "partition not found")                                                 \
    X(QV_ENOINDEX, 404, 700, "index not found")                                                    \
    X(QV_ENODB, 404, 800, "database not found")                                                    \
    X(QV_ENOALIAS, 404, 1600, "alias not found")                                                   \
    X(QV_EALIASCONFLICT, 400, 1601, "alias and collection name conflict")                          \
    X(QV_EALIAS, 400, 1602, "alias already exists")                                                \
    X(QV_EEXIST, 409, 65535, "already exists")                                                     \
    X(QV_EAUTH, 401, 1800, "user hasn't authenticated")                                            \
    X(QV_EDENIED, 403, 1401, "privilege not permitted")                                            \
    X(QV_ENOTAUTH, 400, 1400, "not authenticated")                                                 \
    X(QV_ENOROUTE, 404, 404, "not found")                                                          \
    X(QV_EMETHOD, 405, 405, "method not allowed")                                                  \
    X(QV_ETOOBIG, 413, 1100, "request too large")                                                  \
    X(QV_EBUSY, 429, 1807, "rate limit exceeded")                                                  \
    X(QV_EIMPORT, 400, 2100, "importing data failed")                                              \
    X(QV_EUNEXPECTED, 400, 65535, "unexpected error")                                              \
    X(QV_EINTERNAL, 500, 65535, "internal error")                                                  \
    X(QV_EIO, 500, 65535, "i/o error")                                                             \
    X(QV_ECORRUPT, 500, 65535, "corruption detected")                                              \
    X(QV_ENOMEM, 503, 65535, "out of memory")                                                      \
    X(QV_EUNAVAIL, 503, 65535, "service unavailable")                                              \
    X(QV_ELOCKED, 503, 65535, "data directory locked")                                             \
    X(QV_ETIMEDOUT, 408, 10001, "request timeout")                                                 \
    X(QV_ENOSPC, 507, 65535, "disk full")

typedef enum qv_err {
#define QV_ERR_ENUM(name, http, milvus, title) name,
    QV_ERR_MAP(QV_ERR_ENUM)
#undef QV_ERR_ENUM
        QV_ERR_COUNT
} qv_err;

/* Optional detail; every function taking one accepts NULL. */
typedef struct qv_error {
    qv_err code;
    int sys_errno; /* 0 unless a syscall failed */
    char msg[512]; /* "data[3].vector: expected 768 floats, got 767" */
} qv_error;

const char *qv_err_name(qv_err e);   /* "QV_EINVAL" */
const char *qv_err_title(qv_err e);  /* "invalid parameter" */
int qv_err_http_status(qv_err e);
int qv_err_milvus_code(qv_err e);

/* Fill err (if non-NULL) with code and a formatted message; return code. */
qv_err qv_error_set(qv_error *err, qv_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As qv_error_set, appending ": strerror(errnum)" and recording errnum. */
qv_err qv_error_sys(qv_error *err, qv_err code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefix an existing message ("data[3]: " + msg). No-op when err is NULL. */
void qv_error_prefix(qv_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reset to QV_OK with an empty message. */
void qv_error_clear(qv_error *err);

#ifdef __cplusplus
}
#endif

#endif
