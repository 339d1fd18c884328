/* SPDX-License-Identifier: Apache-2.0 */
/* names.c - Milvus's name validation (proxy/util.go validateCollectionNameOrAlias,
 * validatePartitionTag, ValidateDatabaseName, validateFieldName), same wording. */
#include "quiver/names.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "quiver/schema.h"

static const char *const kind_words[] = {"database name", "collection name", "collection alias",
                                         "partition name", "field name", "index name"};

static bool name_char_ok(qv_name_kind kind, char c)
{
    return c == '_' || isalnum((unsigned char)c) || (kind == QV_NAME_DATABASE && c == '-');
}

qv_err qv_name_validate(qv_name_kind kind, const char *name, qv_error *err)
{
    const char *what = kind_words[kind];
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || (kind == QV_NAME_PARTITION && strspn(name, " ") == n))
        return qv_error_set(err, QV_EINVAL, "%s should not be empty: invalid parameter", what);
    if (n > QV_MAX_NAME_LEN)
        return qv_error_set(err, QV_EINVAL,
                            "Invalid %s: %.64s.... the length of a %s must be less than %d "
                            "characters: invalid parameter",
                            what, name, what, QV_MAX_NAME_LEN);
    if (name[0] != '_' && !isalpha((unsigned char)name[0]))
        return qv_error_set(err, QV_EINVAL,
                            "Invalid %s: %s. the first character of a %s must be an underscore "
                            "or letter.: invalid parameter",
                            what, name, what);
    for (size_t i = 1; i < n; i++)
        if (!name_char_ok(kind, name[i]))
            return qv_error_set(err, QV_EINVAL,
                                "Invalid %s: %s. %s can only contain numbers, letters%s and "
                                "underscores.: invalid parameter",
                                what, name, what, kind == QV_NAME_DATABASE ? ", dashes" : "");
    return QV_OK;
}
