/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/base64.h - RFC 4648 base64, standard alphabet: how Milvus's REST API carries
 * BinaryVector and Float16/BFloat16Vector values (Go's base64.StdEncoding). */
#ifndef QUIVER_BASE64_H
#define QUIVER_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes the text of n characters decodes to at most. */
static inline size_t qv_base64_decoded_max(size_t n) { return n / 4 * 3 + 3; }
/* Characters of the padded encoding of n bytes (without a terminating NUL). */
static inline size_t qv_base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

/* Decode in[0, n) (padding optional; no whitespace) into out, at most cap bytes; false
 * when malformed (a character outside the alphabet, padding before the end, a lone
 * trailing character) or longer than cap. */
bool qv_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);
/* Encode n bytes into out (qv_base64_encoded_len(n) characters, padded, no NUL). */
void qv_base64_encode(const void *p, size_t n, char *out);

#ifdef __cplusplus
}
#endif

#endif
