/* SPDX-License-Identifier: Apache-2.0 */
/* base64.c - RFC 4648 base64 (quiver/base64.h). */
#include "quiver/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

bool qv_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    uint32_t acc = 0;
    size_t bits = 0, len = 0, i = 0, chars;

    for (; i < n && in[i] != '='; i++) {
        int v = value_of((unsigned char)in[i]);
        if (v < 0)
            return false;
        acc = acc << 6 | (uint32_t)v;
        if ((bits += 6) >= 8) {
            bits -= 8;
            if (len == cap)
                return false;
            out[len++] = (uint8_t)(acc >> bits & 0xff);
        }
    }
    chars = i;
    if (chars % 4 == 1)
        return false; /* six bits cannot end a byte */
    for (; i < n; i++)
        if (in[i] != '=')
            return false;
    if (n > chars && (n % 4 != 0 || n - chars > 2))
        return false; /* padding only to complete the last quantum */
    *outlen = len;
    return true;
}

void qv_base64_encode(const void *p, size_t n, char *out)
{
    const uint8_t *b = p;
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
}
