/*
 * The C tokenizer's side of t/16-tokenizer.t: counts the tokens of texts,
 * one JSON string a line on stdin, one count a line on stdout.
 *
 *   bpe-count RANKS UNICODEDATA [PART [json]]
 *
 * With PART, each text is fed as a stream (chaton_bpe_feed) in parts of
 * PART bytes or a little more (to the end of a character, as a stream's
 * deltas are whole characters); with "json", each part in JSON's form, as
 * the stream's plain text comes.
 */

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "chaton_bpe.h"


static void *
bpe_alloc(void *pool, size_t size)
{
    return malloc(size);
}


static void
bpe_free(void *pool, void *p)
{
    free(p);
}


static unsigned char *
bpe_read(const char *path, size_t *len)
{
    FILE           *f;
    long            n;
    unsigned char  *s;

    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        perror(path);
        exit(2);
    }

    rewind(f);
    s = malloc(n + 1);

    if (s == NULL || fread(s, 1, n, f) != (size_t) n) {
        perror(path);
        exit(2);
    }

    fclose(f);
    *len = n;

    return s;
}


/* the part of a stream: the escapes chaton_bpe_feed() reads in json */

static void
bpe_feed(chaton_bpe_stream_t *st, const unsigned char *s, size_t len,
    int json)
{
    size_t          i, n;
    unsigned char  *e;

    if (!json) {
        chaton_bpe_feed(st, s, len, 0);
        return;
    }

    e = malloc(len * 2 + 1);
    n = 0;

    for (i = 0; i < len; i++) {
        switch (s[i]) {
        case '"':  e[n++] = '\\'; e[n++] = '"'; break;
        case '\\': e[n++] = '\\'; e[n++] = '\\'; break;
        case '\n': e[n++] = '\\'; e[n++] = 'n'; break;
        case '\r': e[n++] = '\\'; e[n++] = 'r'; break;
        case '\t': e[n++] = '\\'; e[n++] = 't'; break;
        default:   e[n++] = s[i];
        }
    }

    chaton_bpe_feed(st, e, n, 1);
    free(e);
}


int
main(int argc, char **argv)
{
    int                   json;
    char                 *line;
    size_t                ranks_len, ucd_len, cap, part, len, i, n;
    ssize_t               got;
    cJSON                *v;
    uint64_t              tokens;
    const char           *why;
    chaton_bpe_t         *bpe;
    unsigned char        *ranks, *ucd;
    chaton_alloc_t        a = { bpe_alloc, bpe_free, NULL };
    chaton_bpe_stream_t   st;
    const unsigned char  *s;

    if (argc < 3) {
        fprintf(stderr, "usage: bpe-count RANKS UNICODEDATA [PART [json]]\n");
        return 2;
    }

    part = argc > 3 ? (size_t) atoi(argv[3]) : 0;
    json = argc > 4;

    ranks = bpe_read(argv[1], &ranks_len);
    ucd = bpe_read(argv[2], &ucd_len);

    why = "";
    if (chaton_bpe_load(&bpe, &a, ranks, ranks_len, ucd, ucd_len, &why)
        != CHATON_OK)
    {
        fprintf(stderr, "bpe-count: cannot load: %s\n", why);
        return 1;
    }

    line = NULL;
    cap = 0;

    while ((got = getline(&line, &cap, stdin)) > 0) {
        v = cJSON_ParseWithLength(line, got);

        if (!cJSON_IsString(v)) {
            fprintf(stderr, "bpe-count: not a JSON string: %s", line);
            return 1;
        }

        s = (const unsigned char *) v->valuestring;
        len = strlen(v->valuestring);

        if (part == 0) {
            tokens = chaton_bpe_count(bpe, s, len);

        } else {
            chaton_bpe_stream_init(&st, bpe);

            for (i = 0; i < len; i += n) {
                n = len - i < part ? len - i : part;

                while (i + n < len && (s[i + n] & 0xc0) == 0x80) {
                    n++;
                }

                bpe_feed(&st, s + i, n, json);
            }

            tokens = chaton_bpe_stream_end(&st);
        }

        printf("%llu\n", (unsigned long long) tokens);
        cJSON_Delete(v);
    }

    free(line);

    return 0;
}
