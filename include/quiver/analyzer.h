/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/analyzer.h - Milvus text analyzers: the tokens of a VarChar value, as BM25
 * functions (term frequencies on insert, the query's terms on search) and text_match
 * filters see them.
 *
 * Accepted analyzer_params (JSON text; NULL or "" is the standard analyzer):
 *   {"type": "standard", "stop_words": [...]}      standard tokenizer + lowercase (+ stop)
 *   {"tokenizer": "standard" | "whitespace",
 *    "filter": ["lowercase", {"type": "stop", "stop_words": [...]}, ...]}
 * A stop-word list may hold "_english_" (Lucene's 33 English stop words). Anything else
 * (another analyzer type, tokenizer or filter; a wrong JSON type) is QV_EINVAL naming it.
 *
 * The standard tokenizer splits text into maximal runs of Unicode letters and digits
 * (iswalnum in the C.UTF-8 locale, so "Grüße" and "東京" are words and punctuation,
 * symbols and spaces separate them); the whitespace tokenizer splits on Unicode spaces
 * only. lowercase maps each code point with towlower (C.UTF-8). Invalid UTF-8 bytes
 * separate tokens. Tokens longer than QV_ANALYZER_MAX_TOKEN bytes are dropped.
 *
 * A term id is FNV-1a-32 of the token's UTF-8 bytes: the dimension of the token in the
 * SparseFloatVector a BM25 function writes (on disk; changing it needs a format bump).
 * An analyzer is immutable once built: any number of threads may run it. */
#ifndef QUIVER_ANALYZER_H
#define QUIVER_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QV_ANALYZER_MAX_TOKEN 255

typedef struct qv_analyzer qv_analyzer;

/* Build an analyzer from analyzer_params JSON text (see above). */
qv_err qv_analyzer_new(const char *params, qv_analyzer **out, qv_error *err);
void qv_analyzer_free(qv_analyzer *a); /* NULL is a no-op */

/* Call fn for each token of text[0, len) in order; fn returns false to stop early.
 * tok is only valid during the call. QV_ENOMEM only. */
typedef bool (*qv_token_fn)(void *ctx, const char *tok, size_t len);
qv_err qv_analyzer_run(const qv_analyzer *a, const char *text, size_t len, qv_token_fn fn,
                       void *ctx);

uint32_t qv_analyzer_term_id(const char *tok, size_t len);

/* Term frequencies of a text: n distinct term ids, ascending, each with its count. */
typedef struct qv_term_freqs {
    uint32_t *ids;
    float *counts;
    size_t n;
    uint64_t tokens; /* sum of counts: the document length BM25 uses */
} qv_term_freqs;

/* Analyze text into out (initialised here; release with qv_term_freqs_fini). */
qv_err qv_analyzer_term_freqs(const qv_analyzer *a, const char *text, size_t len,
                              qv_term_freqs *out);
void qv_term_freqs_fini(qv_term_freqs *t);

#ifdef __cplusplus
}
#endif

#endif
