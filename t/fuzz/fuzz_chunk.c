/*
 * chaton_chunk: backend events through chaton_chat_event(), in stream mode
 * (chunks) and in aggregate mode (one chat.completion), as the module runs
 * them.
 *
 * Input: [flags] model 0xff event 0xff event 0xff ...
 *
 *   flags bit 0      stream_options.include_usage
 *         bits 1-2   chaton_max_answer_size: 64, 1024, 1 MiB, none
 *         bit 3      the allocator frees (as the module's) or never does
 *         bit 4      pictures (spc.unk placeholders) are resolved right
 *                    after the event that completed them, or only at the
 *                    end (the text behind them is held meanwhile)
 *         bit 5      a picture resolves to a URL, or to "unavailable"
 *
 * The events are the payloads of SSE events (what the parser hands on);
 * the first segment is the model name the client asked for (any bytes).
 * Pictures are resolved as the module does (chaton_chat_resolved, then
 * chaton_chat_flush before the end), with a made-up URL.
 *
 * Checks:
 *   - stream mode: everything written is a sequence of "data: <JSON>\n\n"
 *     events, each chunk one valid chat.completion.chunk object with the
 *     stream's id, created, model; the role in the first chunk only;
 *     exactly one finish_reason, in the last chunk before the usage chunk
 *     (only with include_usage) and "data: [DONE]"; an error is one valid
 *     OpenAI error event and nothing follows it;
 *   - aggregate mode: the completion is one valid chat.completion object;
 *   - differential: both modes give the same outcome per event, and the
 *     same content, reasoning, finish_reason and token count (unless one
 *     hit its size limit), the text being the backend's, invalid UTF-8
 *     replaced by U+FFFD; the aggregate's raw mode (the images route)
 *     holds the same text unescaped;
 *   - the usage estimate matches an independent count;
 *   - ASan/UBSan/LeakSanitizer on everything (cJSON trees freed).
 */

#include "fuzz.h"
#include "fuzz_chat.h"
#include "dialect_openai_chat.h"


#define ID        "chatcmpl-0123456789abcdef01234567"
#define CREATED   1732487486
#define PROMPT    7

#define SEP       0xff
#define MAXEV     512


static const size_t  limits[] = { 64, 1024, 1 << 20, 0 };


typedef struct {
    /* what the client got */
    unsigned char          *content;
    size_t                  content_len;
    unsigned char          *reasoning;
    size_t                  reasoning_len;
    char                    finish[64];
    double                  completion_tokens;
    int                     has_usage;

    /* per event: what chaton_chat_event returned */
    int                     rc[MAXEV];
    size_t                  nrc;
    int                     end;            /* the last rc */
    int                     errored;        /* an error event was written */
    uint64_t                pictures;
} result_t;


typedef struct {
    const uint8_t          *model;
    size_t                  model_len;
    int                     model_exact;    /* decoded back byte for byte */
    int                     include_usage;
    int                     eager;          /* resolve pictures at once */
    int                     with_url;       /* pictures resolve to a URL */
    size_t                  max_answer;
    int                     with_free;
} setup_t;


#define MODE_STREAM  0
#define MODE_WHOLE   1
#define MODE_RAW     2

static const char  *mode_names[] = { "stream", "aggregate", "raw" };


static void
check_head(const cJSON *j, const setup_t *su, const char *object)
{
    cJSON  *v;

    FZ_CHECK(cJSON_IsObject(j), "a %s is not an object", object);
    FZ_CHECK(strcmp(fz_jstr(j, "id"), ID) == 0, "id differs");
    FZ_CHECK(strcmp(fz_jstr(j, "object"), object) == 0, "object differs");

    v = cJSON_GetObjectItemCaseSensitive(j, "created");
    FZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == CREATED,
             "created differs");

    v = cJSON_GetObjectItemCaseSensitive(j, "model");
    FZ_CHECK(cJSON_IsString(v), "model is not a string");

    if (su->model_exact) {
        FZ_CHECK(strlen(v->valuestring) == su->model_len
                 && memcmp(v->valuestring, su->model, su->model_len) == 0,
                 "model differs");
    }

    FZ_CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
                                                    "system_fingerprint")),
             "system_fingerprint is not null");
}


static void
check_usage(const cJSON *u, result_t *res)
{
    res->completion_tokens = fz_chat_usage(u, PROMPT);
    res->has_usage = 1;
}


/* one chunk of a stream */

static void
check_chunk(const unsigned char *s, size_t len, const setup_t *su,
    fz_stream_t *st, result_t *res)
{
    cJSON       *j, *choices, *c, *delta, *v, *finish, *usage;
    const char  *f;

    j = fz_json(s, len, "a chunk");

    if (cJSON_GetObjectItemCaseSensitive(j, "error")) {
        cJSON_Delete(j);
        fz_check_error_json(s, len);
        st->error_seen = 1;
        return;
    }

    check_head(j, su, "chat.completion.chunk");

    FZ_CHECK(!st->usage_seen, "a chunk after the usage chunk");

    choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    usage = cJSON_GetObjectItemCaseSensitive(j, "usage");

    FZ_CHECK(cJSON_IsArray(choices), "choices is not an array");

    if (cJSON_GetArraySize(choices) == 0) {
        FZ_CHECK(su->include_usage && st->finish_seen,
                 "a chunk without choices that is not the usage chunk");
        check_usage(usage, res);
        st->usage_seen = 1;
        FZ_CHECK(cJSON_GetArraySize(j) == 7, "the usage chunk has %d members",
                 cJSON_GetArraySize(j));
        cJSON_Delete(j);
        st->chunks++;
        return;
    }

    FZ_CHECK(!st->finish_seen, "a chunk after the finish_reason");

    if (su->include_usage) {
        FZ_CHECK(cJSON_IsNull(usage), "usage is not null");
        FZ_CHECK(cJSON_GetArraySize(j) == 7, "a chunk has %d members",
                 cJSON_GetArraySize(j));

    } else {
        FZ_CHECK(usage == NULL, "usage without include_usage");
        FZ_CHECK(cJSON_GetArraySize(j) == 6, "a chunk has %d members",
                 cJSON_GetArraySize(j));
    }

    FZ_CHECK(cJSON_GetArraySize(choices) == 1, "choices has %d items",
             cJSON_GetArraySize(choices));

    c = cJSON_GetArrayItem(choices, 0);
    FZ_CHECK(cJSON_IsObject(c) && cJSON_GetArraySize(c) == 4,
             "a choice is not an object of 4");

    v = cJSON_GetObjectItemCaseSensitive(c, "index");
    FZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == 0, "index is not 0");
    FZ_CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c, "logprobs")),
             "logprobs is not null");

    finish = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
    FZ_CHECK(cJSON_IsNull(finish) || cJSON_IsString(finish),
             "finish_reason is neither null nor a string");

    delta = cJSON_GetObjectItemCaseSensitive(c, "delta");
    FZ_CHECK(cJSON_IsObject(delta), "delta is not an object");

    v = cJSON_GetObjectItemCaseSensitive(delta, "role");

    if (st->chunks == 0) {
        FZ_CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "assistant") == 0,
                 "the first chunk has no role");
        st->role_seen = 1;

    } else {
        FZ_CHECK(v == NULL, "a role after the first chunk");
    }

    v = cJSON_GetObjectItemCaseSensitive(delta, "content");
    FZ_CHECK(cJSON_IsString(v) || cJSON_IsNull(v) || (v == NULL
                                                && cJSON_IsString(finish)),
             "content is neither a string nor null");

    if (cJSON_IsString(v)) {
        fz_append(&res->content, &res->content_len, v->valuestring);
    }

    v = cJSON_GetObjectItemCaseSensitive(delta, "reasoning_content");

    if (v) {
        FZ_CHECK(cJSON_IsString(v) && v->valuestring[0],
                 "reasoning_content is not a non-empty string");
        fz_append(&res->reasoning, &res->reasoning_len, v->valuestring);
    }

    if (cJSON_IsString(finish)) {
        f = finish->valuestring;
        FZ_CHECK(f[0] != '\0', "an empty finish_reason");
        snprintf(res->finish, sizeof(res->finish), "%s", f);
        st->finish_seen = 1;

    } else {
        FZ_CHECK(cJSON_GetArraySize(delta)
                 == 1 + (st->chunks == 0)
                      + (cJSON_GetObjectItemCaseSensitive(delta,
                                              "reasoning_content") != NULL),
                 "a delta has other members");
        FZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(delta,
                                                              "content"))
                 || cJSON_GetObjectItemCaseSensitive(delta,
                                                     "reasoning_content"),
                 "a chunk that carries nothing");
    }

    cJSON_Delete(j);
    st->chunks++;
}


/* what a stream wrote since the last look: "data: ...\n\n" events */

static void
check_stream_out(const chaton_buf_t *out, size_t from, const setup_t *su,
    fz_stream_t *st, result_t *res)
{
    size_t                n;
    const unsigned char  *p, *end, *f;

    if (out->len == from) {
        return;
    }

    p = out->data + from;
    end = out->data + out->len;

    while (p < end) {
        f = fz_chat_frame(&p, end, su->include_usage, st, &n);

        if (f) {
            check_chunk(f, n, su, st, res);
        }
    }
}


static void
check_completion(const chaton_buf_t *b, const setup_t *su, result_t *res)
{
    cJSON       *j, *choices, *c, *m, *v;
    const char  *s;

    j = fz_json(b->data, b->len, "the completion");

    check_head(j, su, "chat.completion");
    FZ_CHECK(cJSON_GetArraySize(j) == 7, "the completion has %d members",
             cJSON_GetArraySize(j));

    choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    FZ_CHECK(cJSON_IsArray(choices) && cJSON_GetArraySize(choices) == 1,
             "choices is not an array of one");

    c = cJSON_GetArrayItem(choices, 0);
    FZ_CHECK(cJSON_IsObject(c) && cJSON_GetArraySize(c) == 4,
             "the choice is not an object of 4");

    s = fz_jstr(c, "finish_reason");
    FZ_CHECK(s[0] != '\0', "an empty finish_reason");
    snprintf(res->finish, sizeof(res->finish), "%s", s);

    m = cJSON_GetObjectItemCaseSensitive(c, "message");
    FZ_CHECK(cJSON_IsObject(m), "message is not an object");
    FZ_CHECK(strcmp(fz_jstr(m, "role"), "assistant") == 0, "role");
    FZ_CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "refusal")),
             "refusal");

    fz_append(&res->content, &res->content_len, fz_jstr(m, "content"));

    v = cJSON_GetObjectItemCaseSensitive(m, "reasoning_content");

    if (v) {
        FZ_CHECK(cJSON_IsString(v) && v->valuestring[0],
                 "reasoning_content is not a non-empty string");
        fz_append(&res->reasoning, &res->reasoning_len, v->valuestring);
    }

    FZ_CHECK(cJSON_GetArraySize(m) == 3 + (v != NULL),
             "message has other members");

    check_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), res);

    cJSON_Delete(j);
}


/* the end of an answer: pictures resolved, held text flushed */

static int
complete(chaton_chat_t *t, const setup_t *su)
{
    int  rc, n;

    for (n = 0; ; n++) {
        FZ_CHECK(n < 100000, "completing does not end");

        rc = fz_chat_resolve(t, su->with_url);
        if (rc != CHATON_OK) {
            return rc;
        }

        rc = chaton_chat_flush(t, t->out);
        if (rc != CHATON_OK) {
            return rc;
        }

        if (!t->waiting) {
            return CHATON_OK;
        }
    }
}


static void
run(int mode, const setup_t *su, const uint8_t *ev, size_t evlen,
    result_t *res)
{
    int              rc, stream;
    size_t           from, n;
    fz_stream_t         st;
    fz_pool_t        pool;
    chaton_buf_t     out, b;
    chaton_chat_t          t;
    chaton_openai_chat_t   oc;
    chaton_collect_t       raw;
    const uint8_t         *p, *end, *sep;

    memset(res, 0, sizeof(result_t));
    memset(&st, 0, sizeof(fz_stream_t));

    stream = (mode == MODE_STREAM);

    fz_pool_init(&pool, su->with_free);

    FZ_CHECK(chaton_openai_chat_init(&oc, &pool.a,
                                     (const unsigned char *) ID,
                                     sizeof(ID) - 1, su->model,
                                     su->model_len, CREATED, su->max_answer,
                                     stream, stream && su->include_usage)
             == CHATON_OK, "openai_chat_init");
    chaton_collect_init(&raw, &pool.a, su->max_answer);

    FZ_CHECK(chaton_chat_init(&t, &pool.a, mode == MODE_RAW ? &raw.w : &oc.w,
                              su->max_answer)
             == CHATON_OK, "chat_init");

    t.prompt_tokens = PROMPT;

    chaton_buf_init(&out, &pool.a, 0);
    t.out = &out;

    rc = CHATON_OK;
    p = ev;
    end = ev + evlen;

    while (p < end || (p == end && evlen && p[-1] == SEP)) {
        sep = memchr(p, SEP, end - p);
        n = (sep ? sep : end) - p;

        from = out.len;
        rc = chaton_chat_event(&t, p, n);

        if (rc == CHATON_OK && su->eager) {
            rc = fz_chat_resolve(&t, su->with_url);
        }

        if (res->nrc < MAXEV) {
            res->rc[res->nrc++] = rc;
        }

        /* too big: the answer (aggregate) or the text held behind a
         * picture (both modes) */

        FZ_CHECK(rc == CHATON_OK || rc == CHATON_DONE || rc == CHATON_BAD
                 || (rc == CHATON_TOO_BIG && (!stream || t.pictures)),
                 "chat_event returned %d in %s mode", rc, mode_names[mode]);

        FZ_CHECK(t.error == NULL || t.error->status == 0
                 || rc == CHATON_BAD,
                 "an error recorded, yet %d", rc);

        if (!stream) {
            FZ_CHECK(out.len == 0, "aggregate mode wrote output");
        }

        if (rc == CHATON_BAD) {
            FZ_CHECK(t.error && t.error->status == 502 && t.error->code
                     && t.error->text_len > 0,
                     "a backend error that is not a 502 with a message");

            /* what the module sends once the stream has begun */
            if (stream) {
                FZ_CHECK(chaton_error_event(&out, t.error) == CHATON_OK,
                         "error_event");
            }

            chaton_buf_init(&b, &pool.a, 0);
            FZ_CHECK(chaton_error_json(&b, t.error) == CHATON_OK,
                     "error_json");
            fz_check_error_json(b.data, b.len);

            res->errored = 1;
        }

        if (stream) {
            check_stream_out(&out, from, su, &st, res);
        }

        if (rc != CHATON_OK || sep == NULL) {
            break;
        }

        p = sep + 1;
    }

    if (rc == CHATON_OK || rc == CHATON_DONE) {

        /* the module finishes on [DONE]; the core must cope either way */

        from = out.len;
        rc = complete(&t, su);

        FZ_CHECK(rc == CHATON_OK || rc == CHATON_TOO_BIG,
                 "completing returned %d", rc);

        if (stream) {
            check_stream_out(&out, from, su, &st, res);
        }
    }

    res->end = rc;
    res->pictures = t.pictures;

    if (rc == CHATON_OK || rc == CHATON_DONE) {

        if (mode == MODE_STREAM) {
            from = out.len;
            FZ_CHECK(chaton_chat_end(&t, &out) == CHATON_OK, "chat_end");
            check_stream_out(&out, from, su, &st, res);
            FZ_CHECK(st.done_seen, "no [DONE] at the end");

        } else if (mode == MODE_WHOLE) {
            chaton_buf_init(&b, &pool.a, 0);
            FZ_CHECK(chaton_chat_end(&t, &b) == CHATON_OK, "chat_end");
            check_completion(&b, su, res);

        } else {
            /* raw: the text as is, for the caller to use */

            res->content = malloc(raw.content.len + 1);
            res->reasoning = malloc(raw.reasoning.len + 1);
            FZ_CHECK(res->content && res->reasoning, "out of memory");

            if (raw.content.len) {
                memcpy(res->content, raw.content.data, raw.content.len);
            }

            if (raw.reasoning.len) {
                memcpy(res->reasoning, raw.reasoning.data, raw.reasoning.len);
            }

            res->content_len = raw.content.len;
            res->reasoning_len = raw.reasoning.len;
        }

        if (mode != MODE_RAW) {
            FZ_CHECK((double) chaton_chat_completion_tokens(&t)
                     == res->completion_tokens || !res->has_usage,
                     "usage differs from completion_tokens()");
        }
    }

    fz_pool_release(&pool);
}


/* the usage estimate, counted independently over the text sent */

static double
tokens(const unsigned char *s, size_t len, const unsigned char *r,
    size_t rlen)
{
    size_t    i, n;
    uint64_t  ascii, other;

    ascii = 0;
    other = 0;

    for (i = 0; i < len; i += n) {
        n = fz_utf8_char(s + i, len - i, NULL);
        n = n ? n : 1;
        if (s[i] < 0x80) { ascii++; } else { other++; }
    }

    for (i = 0; i < rlen; i += n) {
        n = fz_utf8_char(r + i, rlen - i, NULL);
        n = n ? n : 1;
        if (r[i] < 0x80) { ascii++; } else { other++; }
    }

    return (double) ((ascii + 3) / 4 + other);
}


static void
same_text(const char *what, const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
    if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) {
        return;
    }

    fz_dump("first", a, alen);
    fz_dump("second", b, blen);
    FZ_CHECK(0, "%s differs between the modes", what);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             big;
    size_t          i, evlen;
    setup_t         su;
    result_t        rs, ra, rr;
    const uint8_t  *sep, *ev;

    if (size < 1) {
        return 0;
    }

    su.include_usage = data[0] & 1;
    su.max_answer = limits[(data[0] >> 1) & 3];
    su.with_free = (data[0] >> 3) & 1;
    su.eager = (data[0] >> 4) & 1;
    su.with_url = (data[0] >> 5) & 1;

    sep = memchr(data + 1, SEP, size - 1);
    su.model = data + 1;
    su.model_len = (sep ? sep : data + size) - su.model;
    su.model_exact = fz_utf8_valid(su.model, su.model_len)
                     && memchr(su.model, '\0', su.model_len) == NULL;

    ev = sep ? sep + 1 : data + size;
    evlen = data + size - ev;

    run(MODE_STREAM, &su, ev, evlen, &rs);
    run(MODE_WHOLE, &su, ev, evlen, &ra);
    run(MODE_RAW, &su, ev, evlen, &rr);

    /* the same outcome, event by event, until one was too big */

    for (i = 0; i < rs.nrc && i < ra.nrc; i++) {
        if (ra.rc[i] == CHATON_TOO_BIG || rs.rc[i] == CHATON_TOO_BIG) {
            break;
        }

        FZ_CHECK(rs.rc[i] == ra.rc[i], "event %zu: %d streamed, %d whole",
                 i, rs.rc[i], ra.rc[i]);
    }

    big = ra.end == CHATON_TOO_BIG || rs.end == CHATON_TOO_BIG;

    if (!big) {
        FZ_CHECK(rs.nrc == ra.nrc && rs.end == ra.end
                 && rs.pictures == ra.pictures,
                 "the modes ended differently: %d after %zu, %d after %zu",
                 rs.end, rs.nrc, ra.end, ra.nrc);
    }

    if (!rs.errored && !ra.errored && !big) {
        same_text("the content", rs.content, rs.content_len, ra.content,
                  ra.content_len);
        same_text("the reasoning", rs.reasoning, rs.reasoning_len,
                  ra.reasoning, ra.reasoning_len);

        FZ_CHECK(strcmp(rs.finish, ra.finish) == 0,
                 "finish_reason: \"%s\" streamed, \"%s\" whole", rs.finish,
                 ra.finish);

        if (rs.has_usage) {
            FZ_CHECK(rs.completion_tokens == ra.completion_tokens,
                     "completion_tokens differ");
        }

        /*
         * raw mode keeps the same text, unescaped (when it is valid UTF-8:
         * the escaper replaces each piece's invalid bytes, and a character
         * split across two pieces is two invalid pieces)
         */

        if (rr.end != CHATON_TOO_BIG
            && fz_utf8_valid(rr.content, rr.content_len)
            && fz_utf8_valid(rr.reasoning, rr.reasoning_len))
        {
            FZ_CHECK(rr.end == ra.end && !rr.errored,
                     "raw mode ended with %d, aggregate with %d", rr.end,
                     ra.end);
            same_text("the raw content", rr.content, rr.content_len,
                      ra.content, ra.content_len);
            same_text("the raw reasoning", rr.reasoning, rr.reasoning_len,
                      ra.reasoning, ra.reasoning_len);
        }

        /* valid UTF-8 text is passed on as is: the count can be checked */

        if (fz_utf8_valid(ra.content ? ra.content : (unsigned char *) "",
                          ra.content_len)
            && fz_utf8_valid(ra.reasoning ? ra.reasoning
                                          : (unsigned char *) "",
                             ra.reasoning_len)
            && (ra.content_len == 0
                || !memmem(ra.content, ra.content_len, "\xef\xbf\xbd", 3))
            && (ra.reasoning_len == 0
                || !memmem(ra.reasoning, ra.reasoning_len, "\xef\xbf\xbd",
                           3)))
        {
            FZ_CHECK(ra.completion_tokens
                     == tokens(ra.content, ra.content_len, ra.reasoning,
                               ra.reasoning_len),
                     "completion_tokens %g, counted %g",
                     ra.completion_tokens,
                     tokens(ra.content, ra.content_len, ra.reasoning,
                            ra.reasoning_len));
        }
    }

    free(rs.content);
    free(rs.reasoning);
    free(ra.content);
    free(ra.reasoning);
    free(rr.content);
    free(rr.reasoning);

    return 0;
}
