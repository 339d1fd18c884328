/* SPDX-License-Identifier: Apache-2.0 */
/* config_yaml.c - the YAML config file layer (libyaml event parser).
 * Accepted shape: a top-level mapping of sections, each a mapping of keys to
 * scalars; a sequence value is joined with commas (e.g. cluster.peers). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config/config_int.h"
#include "quiver/buf.h"

typedef struct yaml_walk {
    int depth;          /* 1 = top mapping, 2 = section mapping */
    char section[64];
    char key[64];
    bool have_key;      /* inside a section: the next scalar is a value */
    bool in_seq;
    qv_buf seq;         /* joined sequence items */
} yaml_walk;

static qv_err walk_scalar(yaml_walk *w, qv_config *c, const char *text, const char *path,
                          qv_error *err)
{
    if (w->depth == 1) {
        snprintf(w->section, sizeof w->section, "%s", text);
        return QV_OK;
    }
    if (w->depth != 2)
        return qv_error_set(err, QV_EINVAL, "%s: options nest only two levels", path);
    if (w->in_seq) {
        if (w->seq.len)
            qv_buf_puts(&w->seq, ",");
        qv_buf_puts(&w->seq, text);
        return QV_OK;
    }
    if (!w->have_key) {
        snprintf(w->key, sizeof w->key, "%s", text);
        w->have_key = true;
        return QV_OK;
    }
    w->have_key = false;
    return config_set(c, w->section, w->key, text, path, err);
}

static qv_err walk_event(yaml_walk *w, qv_config *c, const yaml_event_t *ev, const char *path,
                         qv_error *err)
{
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT:
        if (++w->depth > 2)
            return qv_error_set(err, QV_EINVAL, "%s: options nest only two levels", path);
        return QV_OK;
    case YAML_MAPPING_END_EVENT:
        w->depth--;
        return QV_OK;
    case YAML_SEQUENCE_START_EVENT:
        if (w->depth != 2 || !w->have_key || w->in_seq)
            return qv_error_set(err, QV_EINVAL, "%s: unexpected list", path);
        w->in_seq = true;
        w->seq.len = 0;
        return QV_OK;
    case YAML_SEQUENCE_END_EVENT: {
        qv_err rc;
        w->in_seq = false;
        w->have_key = false;
        qv_buf_put(&w->seq, "", 0);
        rc = config_set(c, w->section, w->key, w->seq.data ? (char *)w->seq.data : "", path,
                        err);
        return rc;
    }
    case YAML_SCALAR_EVENT:
        return walk_scalar(w, c, (const char *)ev->data.scalar.value, path, err);
    default:
        return QV_OK;
    }
}

qv_err config_apply_yaml(qv_config *c, const char *path, qv_error *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    yaml_walk w = {0};
    qv_err rc = QV_OK;
    FILE *f;
    bool done = false;

    if (!(f = fopen(path, "rb")))
        return qv_error_sys(err, QV_EINVAL, errno, "config file %s", path);
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    qv_buf_init(&w.seq);
    while (!done && rc == QV_OK) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = qv_error_set(err, QV_EINVAL, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                              parser.problem ? parser.problem : "YAML syntax error");
            break;
        }
        rc = walk_event(&w, c, &ev, path, err);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    qv_buf_fini(&w.seq);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
