/* SPDX-License-Identifier: Apache-2.0 */
/* config_int.h - shared between config.c and config_yaml.c. */
#ifndef QUIVER_CONFIG_INT_H
#define QUIVER_CONFIG_INT_H

#include "quiver/config.h"

/* Set the option "section.key" from text; origin names the layer for messages. */
qv_err config_set(qv_config *c, const char *section, const char *key, const char *value,
                  const char *origin, qv_error *err);
/* Apply a YAML file: a mapping of sections to mappings of scalars (or sequences,
 * joined with commas). */
qv_err config_apply_yaml(qv_config *c, const char *path, qv_error *err);

#endif
