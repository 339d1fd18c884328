/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/config.h - the effective configuration: defaults < YAML file (--config)
 * < environment QUIVER__SECTION__KEY < command-line flags. One option table
 * (src/config/options.def) yields the struct, the layering, --help and the dump. */
#ifndef QUIVER_CONFIG_H
#define QUIVER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"

#define QV_OPT_SECRET 1

#define QV_CFG_TYPE_STR char *
#define QV_CFG_TYPE_INT int64_t
#define QV_CFG_TYPE_BOOL bool
#define QV_CFG_TYPE_SIZE uint64_t
#define QV_CFG_TYPE_DOUBLE double

typedef struct qv_config {
#define X(section, key, type, def, min, max, flags, help) QV_CFG_TYPE_##type section##_##key;
#include "config/options.def"
#undef X
    char *config_file; /* --config path, or NULL */
} qv_config;

typedef struct qv_config_src {
    int argc;           /* flags only (the subcommand already removed) */
    char **argv;
    char *const *envp;  /* NULL-terminated environment */
} qv_config_src;

/* Build the effective config from src. QV_EINVAL names the bad option and value;
 * the caller owns *out (qv_config_fini). */
qv_err qv_config_load(const qv_config_src *src, qv_config *out, qv_error *err);
void qv_config_fini(qv_config *c);
/* The effective config as YAML, secrets shown as "<redacted>". */
void qv_config_dump(const qv_config *c, qv_buf *out);
/* Usage text for every option: flag, env var, default, help. */
void qv_config_help(qv_buf *out);
/* Split "host:port" (IPv4, name, or [IPv6]); QV_EINVAL on a bad value. */
qv_err qv_config_split_listen(const char *listen, char *host, size_t host_cap, uint16_t *port,
                              qv_error *err);

#endif
