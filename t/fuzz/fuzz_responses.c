/*
 * chaton_responses: arbitrary bodies through chaton_responses_parse() and
 * chaton_chat_body(), as POST /v1/responses runs them; then the writer.
 *
 * Checks:
 *   - a refused object gives a 400 naming its field (or a 404 for an
 *     unknown model) with a message, whose error JSON is valid;
 *   - an accepted body means the table's entry (or the default one),
 *     within the limits, and gives a ChatOn body that is one valid JSON
 *     object;
 *   - the body itself, fed in input-derived pieces (at character
 *     boundaries) as reasoning or text, by another bit of the hash, to the
 *     stream writer, then a call: every event is "event: T\ndata: {...}"
 *     with "type" T and sequence_number 0, 1, 2, ...; the deltas of each
 *     kind given join into exactly the bytes given; the whole writer gives one
 *     valid response object;
 *   - the same parse with the allocator failing at an input-derived
 *     allocation returns CHATON_ERROR and leaks nothing;
 *   - ASan/UBSan/LeakSanitizer on everything.
 */

#include "fuzz.h"
#include "fuzz_parse.h"
#include "dialect_openai_responses.h"
#include "chaton_rstore.h"


/* a store that holds "resp_1": a message, a call and a custom call */

static int
stored(void *data, const unsigned char *id, size_t len,
    const unsigned char **items, size_t *items_len, chaton_error_t *err)
{
    static const char  s[] =
        "[{\"id\":\"msg_1_i0\",\"type\":\"message\",\"role\":\"user\","
        "\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]},"
        "{\"id\":\"fc_1_0\",\"type\":\"function_call\",\"call_id\":"
        "\"call_1\",\"name\":\"f\",\"arguments\":\"{}\"},"
        "{\"id\":\"ctc_1_1\",\"type\":\"custom_tool_call\",\"call_id\":"
        "\"call_2\",\"name\":\"p\",\"input\":\"x\"}]";

    if (len != 6 || memcmp(id, "resp_1", 6) != 0) {
        return chaton_rstore_not_found(err, id, len, 1);
    }

    *items = (const unsigned char *) s;
    *items_len = sizeof(s) - 1;

    return CHATON_OK;
}


static void
conf_init(chaton_chat_conf_t *conf, uint64_t h)
{
    fz_parse_conf(conf, h);

    /* a store, half the time: continued, and the input items kept */

    if ((h >> 26) & 1) {
        conf->previous = stored;
        conf->response_id = (const unsigned char *) "resp_abc";
        conf->response_id_len = 8;
    }
}


static void
check_refusal(int rc, chaton_error_t *err, fz_pool_t *pool,
    const uint8_t *data, size_t size)
{
    int             object;
    cJSON          *j;
    chaton_error_t  body;

    fz_parse_refused(rc, err, pool);

    /*
     * a body the shared reading refuses (no JSON object, bad UTF-8, ...)
     * has no field to name; any other 400 names one
     */

    memset(&body, 0, sizeof(chaton_error_t));
    j = chaton_json_body(data, size, &body);
    object = (j != NULL);
    cJSON_Delete(j);

    FZ_CHECK(err->status != 400 || !object || (err->param && err->param[0]),
             "a 400 naming no field");
}


/* the writer fed s as text or reasoning, then a call, ended */

static void
write_answer(chaton_responses_t *rs, chaton_buf_t *out, const uint8_t *s,
    size_t len, uint64_t h)
{
    size_t              i, n;
    chaton_outcome_t    o;
    chaton_tool_call_t  call;

    for (i = 0; i < len; i += n) {
        n = 1 + (size_t) ((h >> (i % 40)) % 7);

        if (n > len - i) {
            n = len - i;
        }

        while (i + n < len && (s[i + n] & 0xc0) == 0x80) {
            n++;
        }

        if ((h >> 7) & 1) {
            FZ_CHECK(rs->w.ops->reasoning(&rs->w, out, s + i, n)
                     == CHATON_OK, "reasoning failed");
        } else {
            FZ_CHECK(rs->w.ops->text(&rs->w, out, s + i, n) == CHATON_OK,
                     "text failed");
        }
    }

    memset(&call, 0, sizeof(chaton_tool_call_t));
    call.id = (const unsigned char *) "call_x_0";
    call.id_len = 8;
    call.name = (const unsigned char *) "f";
    call.name_len = 1;
    call.arguments = (const unsigned char *) "{\"a\":1}";
    call.arguments_len = 7;

    FZ_CHECK(rs->w.ops->tool_call(&rs->w, out, &call) == CHATON_OK,
             "tool_call failed");

    o.finish = ((h >> 8) & 1) ? "length" : "tool_calls";
    o.prompt_tokens = 1;
    o.completion_tokens = 2;
    o.reasoning_tokens = 0;

    FZ_CHECK(rs->w.ops->end(&rs->w, out, &o) == CHATON_OK, "end failed");
}


static void
check_writer(const chaton_chat_req_t *req, const uint8_t *s, size_t len,
    uint64_t h, fz_pool_t *pool)
{
    size_t                joined, n;
    double                seq;
    cJSON                *j, *v;
    const char           *type, *want;
    chaton_buf_t          out;
    chaton_responses_t    rs;
    const unsigned char  *p, *end, *stop, *nl;

    want = ((h >> 7) & 1) ? "response.reasoning_summary_text.delta"
                          : "response.output_text.delta";

    FZ_CHECK(chaton_responses_init(&rs, &pool->a,
                                   (const unsigned char *) "resp_1", 6,
                                   req->model, req->model_len, 1, 0, 1, req)
             == CHATON_OK, "init failed");

    chaton_buf_init(&out, &pool->a, 0);
    write_answer(&rs, &out, s, len, h);

    joined = 0;
    seq = 0;
    p = out.data;
    end = out.data + out.len;

    while (p < end) {
        FZ_CHECK(end - p > 7 && memcmp(p, "event: ", 7) == 0,
                 "not an event");
        p += 7;

        nl = memchr(p, '\n', end - p);
        FZ_CHECK(nl && end - nl > 7 && memcmp(nl, "\ndata: ", 7) == 0,
                 "an event without data");

        for (stop = nl + 7; stop + 1 < end && !(stop[0] == '\n'
                                               && stop[1] == '\n'); stop++)
        { /* void */ }

        FZ_CHECK(stop + 1 < end, "an unfinished event");

        j = fz_json(nl + 7, stop - nl - 7, "an event");
        type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j,
                                                                 "type"));
        FZ_CHECK(type && strlen(type) == (size_t) (nl - p)
                 && memcmp(type, p, nl - p) == 0,
                 "an event's type is not its name");
        FZ_CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j,
                     "sequence_number")) == seq,
                 "sequence_number is not %g", seq);
        seq++;

        v = cJSON_GetObjectItemCaseSensitive(j, "delta");

        if (strcmp(type, want) == 0 && cJSON_IsString(v)) {
            n = strlen(v->valuestring);

            FZ_CHECK(joined + n <= len
                     && memcmp(s + joined, v->valuestring, n) == 0,
                     "the text differs at %zu", joined);
            joined += n;
        }

        cJSON_Delete(j);
        p = stop + 2;
    }

    FZ_CHECK(joined == len, "%zu bytes of text, %zu expected", joined, len);

    /* the whole answer: one response object */

    FZ_CHECK(chaton_responses_init(&rs, &pool->a,
                                   (const unsigned char *) "resp_1", 6,
                                   req->model, req->model_len, 1, 0, 0, req)
             == CHATON_OK, "init failed");

    chaton_buf_init(&out, &pool->a, 0);
    write_answer(&rs, &out, s, len, h);

    j = fz_json(out.data, out.len, "the response");
    FZ_CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "output")),
             "a response without output");
    cJSON_Delete(j);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc;
    size_t               allocs;
    uint64_t             h;
    cJSON               *j, *it;
    fz_pool_t            pool;
    chaton_error_t       err;
    chaton_chat_req_t    req;
    chaton_chat_conf_t   conf;

    h = fz_hash(data, size);

    conf_init(&conf, h);

    fz_pool_init(&pool, 1);
    memset(&err, 0, sizeof(err));

    rc = chaton_responses_parse(&req, &pool.a, &conf, data, size, &err);
    allocs = pool.allocs;

    if (rc != CHATON_OK) {
        check_refusal(rc, &err, &pool, data, size);

        FZ_CHECK(conf.fallback == NULL || err.status != 404,
                 "a 404 with a default model");
        goto failing;
    }

    FZ_CHECK(req.entry != NULL && req.model && req.nmessages > 0
             && req.nmessages <= 10003 && req.nimages <= conf.max_images
             && req.max_tokens > 0,
             "an accepted request that makes no sense");

    fz_parse_accepted(&req, &conf, &pool);

    /* a store keeps the input items as an array of objects with ids */

    if (conf.response_id && req.store) {
        j = fz_json(req.items, req.items_len, "the input items kept");
        FZ_CHECK(cJSON_IsArray(j), "the input items kept: not an array");
        cJSON_ArrayForEach(it, j) {
            FZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it,
                                                                     "id")),
                     "an input item kept without an id");
        }
        cJSON_Delete(j);

    } else {
        FZ_CHECK(req.items == NULL, "input items kept without a store");
    }

    check_writer(&req, data, size, h, &pool);

failing:

    fz_parse_failing(chaton_responses_parse, &conf, data, size, h, allocs,
                     rc);

    fz_pool_release(&pool);

    return 0;
}
