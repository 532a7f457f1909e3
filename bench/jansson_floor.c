/*
 * jansson_floor.c: the floor bench-reconcile compares against: read a JSON
 * Lines file line by line and parse each line with jansson, then discard it.
 * Nothing else; whatever `suf import events` + `suf reconcile` spend beyond
 * this is suf's own work.
 *
 * usage: jansson_floor FILE   (prints the number of lines parsed)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long n = 0, bad = 0;

    if (!f) {
        fprintf(stderr, "usage: jansson_floor FILE\n");
        return 2;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)len, 0, &err);

        if (j)
            n++;
        else
            bad++;
        json_decref(j);
    }
    free(line);
    fclose(f);
    printf("%ld %ld\n", n, bad);
    return 0;
}
