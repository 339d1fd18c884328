/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - option table, value parsing and layering (defaults < file < env < flags). */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quiver/alloc.h"

typedef enum opt_type { OPT_STR, OPT_INT, OPT_BOOL, OPT_SIZE, OPT_DOUBLE } opt_type;

typedef struct opt_desc {
    const char *section;
    const char *key;
    opt_type type;
    const char *def;
    double min, max;
    int flags;
    const char *help;
    size_t offset;
} opt_desc;

static const opt_desc options[] = {
#define X(section, key, type, def, min, max, flags, help)                                          \
    {#section, #key, OPT_##type, def, min, max, flags, help, offsetof(qv_config, section##_##key)},
#include "config/options.def"
#undef X
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

/* Short flags kept stable for tools and tests. */
static const struct {
    const char *flag;
    const char *section, *key;
} flag_aliases[] = {
    {"listen", "server", "listen"},
    {"data-dir", "server", "data_dir"},
    {"node-id", "node", "id"},
    {"log-level", "log", "level"},
    {"log-format", "log", "format"},
};

static const opt_desc *find_option(const char *section, const char *key)
{
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (strcmp(options[i].section, section) == 0 && strcmp(options[i].key, key) == 0)
            return &options[i];
    return NULL;
}

static bool parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"K", 1024},
                 {"KB", 1024},
                 {"KiB", 1024},
                 {"M", 1 << 20},
                 {"MB", 1 << 20},
                 {"MiB", 1 << 20},
                 {"G", 1 << 30},
                 {"GB", 1 << 30},
                 {"GiB", 1 << 30}};
    char *end;
    unsigned long long v;

    errno = 0;
    if (!isdigit((unsigned char)*s))
        return false;
    v = strtoull(s, &end, 10);
    if (errno)
        return false;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            if (v > UINT64_MAX / units[i].mult)
                return false;
            *out = v * units[i].mult;
            return true;
        }
    }
    return false;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0",
                                                                              "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return (*out = true), true;
        if (strcasecmp(s, no[i]) == 0)
            return (*out = false), true;
    }
    return false;
}

static qv_err set_number(const opt_desc *o, void *field, const char *value, qv_error *err)
{
    char *end;
    double d;

    if (o->type == OPT_SIZE) {
        uint64_t v;
        if (!parse_size(value, &v))
            return QV_EINVAL;
        d = (double)v;
        if (d < o->min || d > o->max)
            return QV_EINVAL;
        *(uint64_t *)field = v;
        return QV_OK;
    }
    errno = 0;
    if (o->type == OPT_INT) {
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < o->min || v > o->max)
            return QV_EINVAL;
        *(int64_t *)field = v;
        return QV_OK;
    }
    d = strtod(value, &end);
    if (errno || end == value || *end || d < o->min || d > o->max)
        return QV_EINVAL;
    *(double *)field = d;
    (void)err;
    return QV_OK;
}

/* String options that take one of a few words: NULL when value is fine, else the list. */
static const char *str_choices(const char *section, const char *key, const char *value)
{
    static const struct {
        const char *section, *key, *words[5], *text;
    } choices[] = {
        {"log", "level", {"debug", "info", "warn", "error"}, "debug, info, warn or error"},
        {"log", "format", {"text", "json"}, "text or json"},
        {"storage", "io_backend", {"auto", "uring", "io_uring", "posix"}, "auto, uring or posix"},
    };

    for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++) {
        if (strcmp(choices[i].section, section) != 0 || strcmp(choices[i].key, key) != 0)
            continue;
        for (size_t j = 0; j < 5 && choices[i].words[j]; j++)
            if (strcmp(choices[i].words[j], value) == 0)
                return NULL;
        return choices[i].text;
    }
    return NULL;
}

qv_err config_set(qv_config *c, const char *section, const char *key, const char *value,
                  const char *origin, qv_error *err)
{
    const opt_desc *o = find_option(section, key);
    const char *expected;
    void *field;

    if (!o)
        return qv_error_set(err, QV_EINVAL, "%s: unknown option %s.%s", origin, section, key);
    field = (char *)c + o->offset;
    switch (o->type) {
    case OPT_STR: {
        char *copy;
        if ((expected = str_choices(section, key, value)) != NULL)
            return qv_error_set(err, QV_EINVAL, "%s: invalid value '%s' for %s.%s (expected %s)",
                                origin, value, section, key, expected);
        copy = qv_strdup(value);
        if (!copy)
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        qv_free(*(char **)field);
        *(char **)field = copy;
        return QV_OK;
    }
    case OPT_BOOL:
        if (parse_bool(value, (bool *)field))
            return QV_OK;
        break;
    default:
        if (set_number(o, field, value, err) == QV_OK)
            return QV_OK;
        break;
    }
    return qv_error_set(err, QV_EINVAL, "%s: invalid value '%s' for %s.%s (%s%s)", origin,
                        o->flags & QV_OPT_SECRET ? "<redacted>" : value, section, key,
                        o->type == OPT_BOOL ? "expected true or false" : "expected a number",
                        o->type == OPT_STR || o->type == OPT_BOOL ? "" : " within bounds");
}

static qv_err apply_defaults(qv_config *c, qv_error *err)
{
    qv_err rc;

    for (size_t i = 0; i < OPTION_COUNT; i++)
        if ((rc = config_set(c, options[i].section, options[i].key, options[i].def, "default",
                             err)) != QV_OK)
            return rc;
    return QV_OK;
}

/* QUIVER__SECTION__KEY=value */
static qv_err apply_env(qv_config *c, char *const *envp, qv_error *err)
{
    for (; envp && *envp; envp++) {
        const char *e = *envp, *eq = strchr(e, '=');
        char name[128], section[64], key[64];
        char *sep;
        size_t n;
        qv_err rc;

        if (strncmp(e, "QUIVER__", 8) != 0 || !eq || (n = (size_t)(eq - e - 8)) >= sizeof name)
            continue;
        memcpy(name, e + 8, n);
        name[n] = '\0';
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (!(sep = strstr(name, "__")) || (size_t)(sep - name) >= sizeof section ||
            strlen(sep + 2) >= sizeof key)
            return qv_error_set(err, QV_EINVAL, "environment: malformed variable %.*s",
                                (int)(eq - e), e);
        memcpy(section, name, (size_t)(sep - name));
        section[sep - name] = '\0';
        strcpy(key, sep + 2);
        if ((rc = config_set(c, section, key, eq + 1, "environment", err)) != QV_OK)
            return rc;
    }
    return QV_OK;
}

/* Resolve a flag name (without "--") to section and key. */
static bool flag_target(const char *flag, char *section, char *key, size_t cap)
{
    const char *dot = strchr(flag, '.');

    for (size_t i = 0; i < sizeof flag_aliases / sizeof flag_aliases[0]; i++) {
        if (strcmp(flag, flag_aliases[i].flag) == 0) {
            snprintf(section, cap, "%s", flag_aliases[i].section);
            snprintf(key, cap, "%s", flag_aliases[i].key);
            return true;
        }
    }
    if (!dot || (size_t)(dot - flag) >= cap || strlen(dot + 1) >= cap)
        return false;
    snprintf(section, cap, "%.*s", (int)(dot - flag), flag);
    snprintf(key, cap, "%s", dot + 1);
    for (char *p = key; *p; p++)
        if (*p == '-')
            *p = '_';
    return true;
}

/* Walk argv: "--name value" or "--name=value". Calls fn for each; --config is returned
 * through *config_path when fn is NULL. */
static qv_err walk_flags(const qv_config_src *src, qv_config *c, bool apply, qv_error *err)
{
    for (int i = 0; i < src->argc; i++) {
        const char *arg = src->argv[i], *value, *eq;
        char name[128], section[64], key[64];
        qv_err rc;

        if (strncmp(arg, "--", 2) != 0)
            return qv_error_set(err, QV_EINVAL, "unexpected argument '%s' (see --help)", arg);
        arg += 2;
        if ((eq = strchr(arg, '=')) != NULL) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
            value = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
            if (i + 1 >= src->argc)
                return qv_error_set(err, QV_EINVAL, "flag --%s needs a value", name);
            value = src->argv[++i];
        }
        if (strcmp(name, "config") == 0) {
            if (!apply && !(c->config_file = qv_strdup(value)))
                return qv_error_set(err, QV_ENOMEM, "out of memory");
            continue;
        }
        if (!apply)
            continue;
        if (!flag_target(name, section, key, sizeof section))
            return qv_error_set(err, QV_EINVAL, "unknown flag --%s (see --help)", name);
        if ((rc = config_set(c, section, key, value, "flag", err)) != QV_OK)
            return rc;
    }
    return QV_OK;
}

qv_err qv_config_load(const qv_config_src *src, qv_config *out, qv_error *err)
{
    qv_err rc;

    memset(out, 0, sizeof *out);
    if ((rc = apply_defaults(out, err)) != QV_OK || (rc = walk_flags(src, out, false, err)) != QV_OK)
        goto fail;
    if (out->config_file && (rc = config_apply_yaml(out, out->config_file, err)) != QV_OK)
        goto fail;
    if ((rc = apply_env(out, src->envp, err)) != QV_OK ||
        (rc = walk_flags(src, out, true, err)) != QV_OK)
        goto fail;
    return QV_OK;
fail:
    qv_config_fini(out);
    return rc;
}

void qv_config_fini(qv_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (options[i].type == OPT_STR)
            qv_free(*(char **)((char *)c + options[i].offset));
    qv_free(c->config_file);
    memset(c, 0, sizeof *c);
}

static void format_value(const opt_desc *o, const qv_config *c, char *buf, size_t cap)
{
    const void *field = (const char *)c + o->offset;

    if (o->flags & QV_OPT_SECRET) {
        const char *s = o->type == OPT_STR ? *(char *const *)field : "x";
        snprintf(buf, cap, "%s", s && *s ? "\"<redacted>\"" : "\"\"");
        return;
    }
    switch (o->type) {
    case OPT_STR:
        snprintf(buf, cap, "\"%s\"", *(char *const *)field);
        break;
    case OPT_INT:
        snprintf(buf, cap, "%" PRId64, *(const int64_t *)field);
        break;
    case OPT_BOOL:
        snprintf(buf, cap, "%s", *(const bool *)field ? "true" : "false");
        break;
    case OPT_SIZE:
        snprintf(buf, cap, "%" PRIu64, *(const uint64_t *)field);
        break;
    case OPT_DOUBLE:
        snprintf(buf, cap, "%g", *(const double *)field);
        break;
    }
}

void qv_config_dump(const qv_config *c, qv_buf *out)
{
    const char *section = "";
    char value[1024];

    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (strcmp(section, options[i].section) != 0) {
            section = options[i].section;
            qv_buf_printf(out, "%s:\n", section);
        }
        format_value(&options[i], c, value, sizeof value);
        qv_buf_printf(out, "  %s: %s\n", options[i].key, value);
    }
}

void qv_config_help(qv_buf *out)
{
    qv_buf_puts(out, "Options (flag / environment variable, default):\n");
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        char env[160];
        size_t n = (size_t)snprintf(env, sizeof env, "QUIVER__%s__%s", options[i].section,
                                    options[i].key);
        for (size_t j = 0; j < n && j < sizeof env; j++)
            env[j] = (char)toupper((unsigned char)env[j]);
        qv_buf_printf(out, "  --%s.%s  %s  (default: %s)\n      %s\n", options[i].section,
                      options[i].key, env, options[i].def[0] ? options[i].def : "\"\"",
                      options[i].help);
    }
    qv_buf_puts(out, "Aliases: --listen = --server.listen, --data-dir = --server.data_dir, "
                     "--node-id = --node.id, --config FILE (YAML: section: {key: value}).\n");
}

qv_err qv_config_split_listen(const char *listen, char *host, size_t host_cap, uint16_t *port,
                              qv_error *err)
{
    const char *colon = strrchr(listen, ':'), *h = listen;
    size_t hl;
    char *end;
    long p;

    if (!colon)
        return qv_error_set(err, QV_EINVAL, "listen address '%s' is not HOST:PORT", listen);
    hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (hl == 0 || hl >= host_cap || errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return qv_error_set(err, QV_EINVAL, "listen address '%s' is not HOST:PORT", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return QV_OK;
}
