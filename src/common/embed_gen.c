/* SPDX-License-Identifier: Apache-2.0 */
/* embed_gen.c - build-time tool: embed_gen OUT.c SYMBOL FILE [SYMBOL FILE ...] writes
 * each FILE as `const unsigned char SYMBOL[]` (NUL-terminated, the NUL not counted),
 * `const unsigned long SYMBOL_len` and `const char SYMBOL_etag[]`, a quoted HTTP entity
 * tag made of the content's FNV-1a 64 hash, so a server can answer 304 Not Modified. */
#include <stdio.h>

static int embed(FILE *out, const char *symbol, const char *path)
{
    unsigned long long hash = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
    unsigned long n = 0;
    FILE *in = fopen(path, "rb");
    int c;

    if (!in)
        return 1;
    fprintf(out, "/* generated from %s */\nconst unsigned char %s[] = {\n", path, symbol);
    while ((c = fgetc(in)) != EOF) {
        hash = (hash ^ (unsigned)c) * 0x100000001b3ULL;
        fprintf(out, "%u,%s", (unsigned)c, (++n % 20) ? "" : "\n");
    }
    fprintf(out, "0};\nconst unsigned long %s_len = %luUL;\n", symbol, n);
    fprintf(out, "const char %s_etag[] = \"\\\"%016llx\\\"\";\n", symbol, hash);
    return fclose(in) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    FILE *out;
    int rc = 0;

    if (argc < 4 || argc % 2 != 0 || !(out = fopen(argv[1], "w")))
        return 1;
    for (int i = 2; i + 1 < argc && rc == 0; i += 2)
        rc = embed(out, argv[i], argv[i + 1]);
    return fclose(out) == 0 ? rc : 1;
}
