/* SPDX-License-Identifier: Apache-2.0 */
#ifndef QUIVER_METRICS_INT_H
#define QUIVER_METRICS_INT_H

#include "quiver/metrics.h"

/* Append the standard process_* families (CPU, RSS, fds, start time). */
void metrics_render_process(qv_buf *out);

#endif
