/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/log.h - leveled logging to stdout as text or JSON lines.
 * Thread-safe; each line is written with a single write(2). */
#ifndef QUIVER_LOG_H
#define QUIVER_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qv_log_level { QV_LOG_DEBUG, QV_LOG_INFO, QV_LOG_WARN, QV_LOG_ERROR } qv_log_level;

/* Configure once at startup (before threads start). format: "text" or "json";
 * level: "debug", "info", "warn", "error". Unknown values keep the defaults. */
void qv_log_setup(const char *level, const char *format);
/* Request id of the calling thread (copied); NULL clears it. */
void qv_log_set_request_id(const char *id);
const char *qv_log_request_id(void); /* "" when none */

void qv_log_write(qv_log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define qv_log_debug(mod, ...) qv_log_write(QV_LOG_DEBUG, mod, __VA_ARGS__)
#define qv_log_info(mod, ...) qv_log_write(QV_LOG_INFO, mod, __VA_ARGS__)
#define qv_log_warn(mod, ...) qv_log_write(QV_LOG_WARN, mod, __VA_ARGS__)
#define qv_log_error(mod, ...) qv_log_write(QV_LOG_ERROR, mod, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
