/*
 * chaton_anthropic: arbitrary bodies through chaton_anthropic_parse() (or
 * chaton_anthropic_parse_count(), by a bit of the input's hash) and
 * chaton_chat_body(), as the /v1/messages routes run them; then the
 * writer's stop sequences, differentially.
 *
 * Checks:
 *   - a refused body gives a 400 or 404 with a message, whose error JSON
 *     is valid; no 404 where a default model serves unknown names;
 *   - an accepted body means the table's entry (or the default one),
 *     within the limits (messages, images, stop sequences), and gives a
 *     ChatOn body that is one valid JSON object, and a count_tokens
 *     answer {"input_tokens": N} with the prompt's estimate;
 *   - the body itself, fed as the answer's text in input-derived pieces
 *     (at character boundaries) to the stream writer with the request's
 *     stop sequences: every event is valid JSON, and the text_deltas
 *     join into exactly the text before the first stop sequence met, as
 *     a plain byte-by-byte search finds it;
 *   - the same parse with the allocator failing at an input-derived
 *     allocation returns CHATON_ERROR and leaks nothing;
 *   - ASan/UBSan/LeakSanitizer on everything.
 */

#include "fuzz.h"
#include "fuzz_parse.h"
#include "dialect_anthropic.h"


static void
check_refusal(int rc, chaton_error_t *err, fz_pool_t *pool)
{
    fz_parse_refused(rc, err, pool);

    FZ_CHECK(chaton_anthropic_error_type(err->status) != NULL,
             "no error type");
}


/* where the text stops: the stop sequence that ends first, the longest */

static size_t
stop_at(const chaton_chat_req_t *req, const uint8_t *s, size_t len,
    int *met)
{
    size_t  e, k, n, best;

    *met = 0;

    for (e = 1; e <= len; e++) {
        best = SIZE_MAX;

        for (k = 0; k < req->nstop; k++) {
            n = req->stop[k].len;

            if (n <= e && memcmp(s + e - n, req->stop[k].data, n) == 0
                && e - n < best)
            {
                best = e - n;
            }
        }

        if (best != SIZE_MAX) {
            *met = 1;
            return best;
        }
    }

    return len;
}


static void
check_stops(const chaton_chat_req_t *req, const uint8_t *s, size_t len,
    uint64_t h, fz_pool_t *pool)
{
    int                  met;
    char                *text;
    size_t               at, i, n, joined;
    cJSON               *j, *d, *v;
    chaton_buf_t         out;
    chaton_outcome_t     o;
    chaton_anthropic_t   an;
    const unsigned char *p, *end, *stop;

    FZ_CHECK(chaton_anthropic_init(&an, &pool->a,
                                   (const unsigned char *) "msg_1", 5,
                                   req->model, req->model_len, 0, 1, req)
             == CHATON_OK, "init failed");

    chaton_buf_init(&out, &pool->a, 0);

    for (i = 0; i < len; i += n) {
        n = 1 + (size_t) ((h >> (i % 40)) % 7);

        if (n > len - i) {
            n = len - i;
        }

        while (i + n < len && (s[i + n] & 0xc0) == 0x80) {
            n++;
        }

        FZ_CHECK(an.w.ops->text(&an.w, &out, s + i, n) == CHATON_OK,
                 "text failed");
    }

    o.finish = "stop";
    o.prompt_tokens = 1;
    o.completion_tokens = 2;
    o.reasoning_tokens = 0;

    FZ_CHECK(an.w.ops->end(&an.w, &out, &o) == CHATON_OK, "end failed");

    /* the events, each valid; the text_deltas joined */

    at = stop_at(req, s, len, &met);
    joined = 0;

    p = out.data;
    end = out.data + out.len;

    while (p < end) {
        FZ_CHECK(end - p > 7 && memcmp(p, "event: ", 7) == 0,
                 "not an event");

        p = memchr(p, '\n', end - p);
        FZ_CHECK(p && end - p > 7 && memcmp(p, "\ndata: ", 7) == 0,
                 "an event without data");
        p += 7;

        for (stop = p; stop + 1 < end && !(stop[0] == '\n'
                                          && stop[1] == '\n'); stop++)
        { /* void */ }

        FZ_CHECK(stop + 1 < end, "an unfinished event");

        j = fz_json(p, stop - p, "an event");
        d = cJSON_GetObjectItemCaseSensitive(j, "delta");
        v = cJSON_GetObjectItemCaseSensitive(d, "text");

        if (cJSON_IsString(v)) {
            text = v->valuestring;
            n = strlen(text);

            FZ_CHECK(joined + n <= at
                     && memcmp(s + joined, text, n) == 0,
                     "the text differs at %zu", joined);
            joined += n;
        }

        v = cJSON_GetObjectItemCaseSensitive(d, "stop_reason");

        if (cJSON_IsString(v)) {
            FZ_CHECK(strcmp(v->valuestring,
                            met ? "stop_sequence" : "end_turn") == 0,
                     "stop_reason %s", v->valuestring);
        }

        cJSON_Delete(j);
        p = stop + 2;
    }

    FZ_CHECK(joined == at, "%zu bytes of text, %zu expected", joined, at);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc, count;
    size_t               allocs, k;
    uint64_t             h;
    cJSON               *j;
    fz_pool_t            pool;
    fz_parse_pt          parse;
    chaton_buf_t         b;
    chaton_error_t       err;
    chaton_chat_req_t    req;
    chaton_chat_conf_t   conf;

    h = fz_hash(data, size);
    count = (h >> 5) & 1;
    parse = count ? chaton_anthropic_parse_count : chaton_anthropic_parse;

    fz_parse_conf(&conf, h);

    fz_pool_init(&pool, 1);
    memset(&err, 0, sizeof(err));

    rc = parse(&req, &pool.a, &conf, data, size, &err);
    allocs = pool.allocs;

    if (rc != CHATON_OK) {
        check_refusal(rc, &err, &pool);

        FZ_CHECK(conf.fallback == NULL || err.status != 404,
                 "a 404 with a default model");
        goto failing;
    }

    FZ_CHECK(req.entry != NULL && req.model && req.nmessages > 0
             && req.nmessages <= 10002 && req.nimages <= conf.max_images
             && req.nstop <= CHATON_ANTHROPIC_MAX_STOPS
             && req.max_tokens > 0,
             "an accepted request that makes no sense");

    for (k = 0; k < req.nstop; k++) {
        FZ_CHECK(req.stop[k].len > 0
                 && req.stop[k].len <= CHATON_ANTHROPIC_MAX_STOP_LEN,
                 "stop_sequences[%zu] of %zu bytes", k, req.stop[k].len);
    }

    fz_parse_accepted(&req, &conf, &pool);

    chaton_buf_init(&b, &pool.a, 0);
    FZ_CHECK(chaton_anthropic_count_tokens(&b, &req) == CHATON_OK,
             "count_tokens failed");
    j = fz_json(b.data, b.len, "count_tokens");
    FZ_CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j,
                 "input_tokens")) == (double) chaton_usage_tokens(&req.prompt),
             "input_tokens is not the estimate");
    cJSON_Delete(j);

    check_stops(&req, data, size, h, &pool);

failing:

    fz_parse_failing(parse, &conf, data, size, h, allocs, rc);

    fz_pool_release(&pool);

    return 0;
}
