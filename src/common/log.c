/* SPDX-License-Identifier: Apache-2.0 */
/* log.c - text or JSON-lines logs on stdout with a per-thread request id. */
#include "quiver/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static qv_log_level log_min_level = QV_LOG_INFO;
static bool log_json;
static _Thread_local char log_request_id[64];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void qv_log_setup(const char *level, const char *format)
{
    for (int i = 0; level && i < 4; i++)
        if (strcmp(level, level_names[i]) == 0)
            log_min_level = (qv_log_level)i;
    if (format)
        log_json = strcmp(format, "json") == 0;
}

void qv_log_set_request_id(const char *id)
{
    snprintf(log_request_id, sizeof log_request_id, "%s", id ? id : "");
}

const char *qv_log_request_id(void) { return log_request_id; }

/* Append s to out as a JSON string body (without quotes). */
static size_t json_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;

    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

static void format_time(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void qv_log_write(qv_log_level lvl, const char *mod, const char *fmt, ...)
{
    char msg[2048], esc[4200], line[4608], ts[40];
    va_list ap;
    int n;

    if (lvl < log_min_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    format_time(ts, sizeof ts);
    if (log_json) {
        json_escape(esc, sizeof esc, msg);
        n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"mod\":\"%s\",\"msg\":\"%s\"%s%s%s}\n", ts,
                     level_names[lvl], mod, esc, log_request_id[0] ? ",\"request_id\":\"" : "",
                     log_request_id, log_request_id[0] ? "\"" : "");
    } else {
        n = snprintf(line, sizeof line, "%s %-5s %-8s %s%s%s%s\n", ts, level_names[lvl], mod,
                     log_request_id[0] ? "[" : "", log_request_id,
                     log_request_id[0] ? "] " : "", msg);
    }
    if (n > (int)sizeof line - 1) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    if (write(STDOUT_FILENO, line, (size_t)n) < 0) {
        /* nowhere left to report a failed log write */
    }
}
