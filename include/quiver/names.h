/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/names.h - Milvus name rules for databases, collections, aliases,
 * partitions, fields and indexes. A valid name is also a safe path component:
 * letters, digits and underscores only (plus '-' in database names), never
 * ".", ".." or a slash. */
#ifndef QUIVER_NAMES_H
#define QUIVER_NAMES_H

#include "quiver/err.h"

typedef enum qv_name_kind {
    QV_NAME_DATABASE,
    QV_NAME_COLLECTION,
    QV_NAME_ALIAS,
    QV_NAME_PARTITION,
    QV_NAME_FIELD,
    QV_NAME_INDEX,
} qv_name_kind;

/* QV_OK or QV_EINVAL with Milvus's message, e.g. "Invalid collection name: 1a. the
 * first character of a collection name must be an underscore or letter.: invalid
 * parameter". */
qv_err qv_name_validate(qv_name_kind kind, const char *name, qv_error *err);

#endif
