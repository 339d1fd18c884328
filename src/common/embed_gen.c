/* SPDX-License-Identifier: Apache-2.0 */
/* embed_gen.c - build-time tool: embed_gen OUT.c SYMBOL FILE writes FILE as
 * `const unsigned char SYMBOL[]` plus `const unsigned long SYMBOL_len`. */
#include <stdio.h>

int main(int argc, char **argv)
{
    FILE *in, *out;
    unsigned long n = 0;
    int c;

    if (argc != 4 || !(in = fopen(argv[3], "rb")) || !(out = fopen(argv[1], "w")))
        return 1;
    fprintf(out, "/* generated from %s */\nconst unsigned char %s[] = {\n", argv[3], argv[2]);
    while ((c = fgetc(in)) != EOF)
        fprintf(out, "%u,%s", (unsigned)c, (++n % 20) ? "" : "\n");
    fprintf(out, "0};\nconst unsigned long %s_len = %luUL;\n", argv[2], n);
    fclose(in);
    return fclose(out) == 0 ? 0 : 1;
}
