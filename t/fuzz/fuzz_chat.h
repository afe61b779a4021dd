/*
 * Helpers of the targets that run the chat's answer through its pipeline
 * to the OpenAI chat writer (t/fuzz/fuzz_chunk.c, t/fuzz/fuzz_toolcalls.c):
 * the text a client joins, the usage it reads, the pictures the module
 * resolves.
 */

#ifndef FUZZ_CHAT_H
#define FUZZ_CHAT_H

#include "fuzz.h"
#include "chaton_chunk.h"


/* what a stream has shown so far */

typedef struct {
    size_t                  chunks;
    int                     role_seen;
    int                     finish_seen;
    int                     usage_seen;
    int                     done_seen;
    int                     error_seen;
} fz_stream_t;


/*
 * The next frame of a stream at *pp (before end): its chunk's JSON text
 * (*len bytes) for the caller to check, or NULL for a [DONE] in its place
 * (after the finish_reason, and the usage chunk if it was asked for).
 * Nothing may follow [DONE] or an error.
 */

static FZ_UNUSED const unsigned char *
fz_chat_frame(const unsigned char **pp, const unsigned char *end,
    int include_usage, fz_stream_t *st, size_t *len)
{
    const unsigned char  *f;

    FZ_CHECK(!st->done_seen && !st->error_seen,
             "output after [DONE] or an error");

    f = fz_frame(pp, end, len);

    if (*len != 6 || memcmp(f, "[DONE]", 6) != 0) {
        return f;
    }

    FZ_CHECK(st->finish_seen, "[DONE] before the finish_reason");
    FZ_CHECK(!include_usage || st->usage_seen,
             "[DONE] without the usage chunk");
    st->done_seen = 1;

    return NULL;
}


/* a client's joined text: s appended to the malloc'ed *p */

static FZ_UNUSED void
fz_append(unsigned char **p, size_t *len, const char *s)
{
    size_t  n;

    n = strlen(s);

    *p = realloc(*p, *len + n + 1);
    FZ_CHECK(*p != NULL, "out of memory");

    memcpy(*p + *len, s, n);
    *len += n;
}


/* a usage object that adds up, with these prompt tokens: its completion's */

static FZ_UNUSED double
fz_chat_usage(const cJSON *u, double prompt)
{
    cJSON  *p, *c, *t;

    FZ_CHECK(cJSON_IsObject(u) && cJSON_GetArraySize(u) == 3,
             "usage is not an object of 3");

    p = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
    c = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
    t = cJSON_GetObjectItemCaseSensitive(u, "total_tokens");

    FZ_CHECK(cJSON_IsNumber(p) && cJSON_IsNumber(c) && cJSON_IsNumber(t)
             && p->valuedouble == prompt
             && t->valuedouble == p->valuedouble + c->valuedouble,
             "usage numbers do not add up");

    return c->valuedouble;
}


/*
 * Pictures waited for get a made-up URL (with_url) or a note that they
 * are unavailable, as the module resolves them; the first return code
 * that is not CHATON_OK.
 */

static FZ_UNUSED int
fz_chat_resolve(chaton_chat_t *t, int with_url)
{
    int             rc, n;
    unsigned char   url[600];
    size_t          len;

    for (n = 0; t->waiting; n++) {
        FZ_CHECK(n < 100000, "resolving pictures does not end");
        FZ_CHECK(t->pics->image_path.len > 0
                 && t->pics->image_path.len <= CHATON_SPC_PATH_MAX,
                 "a picture path of %zu bytes", t->pics->image_path.len);

        if (with_url) {
            memcpy(url, "https://cdn.example/p/", 22);
            memcpy(url + 22, t->pics->image_path.data,
                   t->pics->image_path.len);
            len = 22 + t->pics->image_path.len;
            rc = chaton_chat_resolved(t, url, len, NULL, t->out);

        } else {
            rc = chaton_chat_resolved(t, NULL, 0,
                                      "the picture could not be retrieved",
                                      t->out);
        }

        if (rc != CHATON_OK) {
            return rc;
        }
    }

    return CHATON_OK;
}


#endif /* FUZZ_CHAT_H */
