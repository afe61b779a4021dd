/*
 * chaton_chunk.h: ChatOn events -> OpenAI chat.completion.chunk events
 * (stream) or one chat.completion object (aggregate).
 *
 * Every chunk written is parsed back with cJSON and checked field by field.
 */

#include "unit.h"
#include "chaton_sse.h"
#include "chaton_chunk.h"
#include "dialect_openai_chat.h"
#include "stream.h"


#define ID        "chatcmpl-gw-0001"
#define MODEL     "my-gpt-4o"               /* what the client asked for */
#define CREATED   1732487485
#define ELLIPSIS  "\xe2\x80\xa6"            /* U+2026 */
#define PSEP      "\xe2\x80\xa9"            /* U+2029 */


/* what the realistic stream (stream.h) must come out as */

#define SOURCES_MD                                                           \
    "Sources:\n"                                                             \
    "1. [Caf" E_ACUTE " \\[guide\\]](https://example.com/caf" E_ACUTE        \
    "?a=1&b=(2%29)\n"                                                        \
    "2. [https://example.org/x y](https://example.org/x%20y)\n"              \
    "\n"

#define CONTENT1   "Caf" E_ACUTE " " ZHONGWEN " " EMOJI
#define CONTENT2   " " EMOJI " " LS " \"quoted\" back\\slash\nnew line"
#define CONTENT3   " multi-line " LS " raw"
#define REASONING  "Let me think" ELLIPSIS


static void
chat_new(chaton_chat_t *t, chaton_buf_t *out, int stream_mode,
    int include_usage, size_t max_answer)
{
    unit_chat_new(t, out, ID, MODEL, CREATED, stream_mode, include_usage, max_answer, 17);
}


static int
ev(chaton_chat_t *t, const char *s)
{
    return chaton_chat_event(t, (const unsigned char *) s, strlen(s));
}


/*
 * The stream output as "data: <payload>\n\n" frames, strictly: returns the
 * payloads (NUL-terminated copies) and their number.
 */

#define MAX_CHUNKS  64

static size_t
frames(const chaton_buf_t *out, char **payload)
{
    size_t       n;
    const char  *p, *end, *next;

    n = 0;
    p = (const char *) out->data;
    end = p + out->len;

    while (p < end) {
        if (end - p < 8 || memcmp(p, "data: ", 6) != 0) {
            print_error("not a data frame at offset %zu: %.*s\n",
                        (size_t) (p - (const char *) out->data),
                        (int) (end - p), p);
            fail();
        }

        p += 6;

        next = NULL;
        for (const char *q = p; q + 1 < end; q++) {
            if (q[0] == '\n' && q[1] == '\n') {
                next = q;
                break;
            }
        }

        assert_non_null(next);

        /* a payload is one line: no raw line ends inside */
        assert_null(memchr(p, '\n', next - p));
        assert_null(memchr(p, '\r', next - p));

        assert_true(n < MAX_CHUNKS);
        payload[n++] = unit_strn(p, next - p);

        p = next + 2;
    }

    return n;
}


typedef struct {
    size_t         n;            /* chunks before [DONE] */
    cJSON         *chunk[MAX_CHUNKS];
    chaton_buf_t   content;      /* delta.content joined */
    chaton_buf_t   reasoning;    /* delta.reasoning_content joined */
    int            roles;        /* chunks with a role */
    int            finishes;     /* chunks with a finish_reason */
    const char    *finish;
    cJSON         *usage;        /* the usage chunk's usage, if any */
} parsed_t;


/*
 * Parses a whole stream output: every chunk valid JSON with OpenAI's shape,
 * one id, our model, the created time; [DONE] last.
 */

static void
parse_stream(const chaton_buf_t *out, int include_usage, parsed_t *ps)
{
    size_t       i, n;
    char        *payload[MAX_CHUNKS];
    cJSON       *c, *choices, *choice, *delta, *v;

    memset(ps, 0, sizeof(parsed_t));
    chaton_buf_init(&ps->content, &unit_alloc, 0);
    chaton_buf_init(&ps->reasoning, &unit_alloc, 0);

    n = frames(out, payload);

    assert_true(n >= 2);
    assert_string_equal(payload[n - 1], "[DONE]");

    for (i = 0; i < n - 1; i++) {
        c = unit_json(payload[i], strlen(payload[i]));
        ps->chunk[ps->n++] = c;

        assert_true(cJSON_IsObject(c));
        assert_string_equal(unit_jstr(c, "id"), ID);
        assert_string_equal(unit_jstr(c, "object"), "chat.completion.chunk");
        assert_string_equal(unit_jstr(c, "model"), MODEL);
        assert_true(unit_jnum(c, "created") == CREATED);

        choices = cJSON_GetObjectItemCaseSensitive(c, "choices");
        assert_true(cJSON_IsArray(choices));

        v = cJSON_GetObjectItemCaseSensitive(c, "usage");

        if (!include_usage) {
            assert_null(v);
        }

        if (cJSON_GetArraySize(choices) == 0) {

            /* the usage chunk: only with include_usage, last before DONE */
            assert_true(include_usage);
            assert_int_equal(i, n - 2);
            assert_true(cJSON_IsObject(v));
            ps->usage = v;
            continue;
        }

        if (include_usage) {
            assert_true(cJSON_IsNull(v));
        }

        assert_int_equal(cJSON_GetArraySize(choices), 1);
        choice = cJSON_GetArrayItem(choices, 0);
        assert_true(unit_jnum(choice, "index") == 0);

        delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
        assert_true(cJSON_IsObject(delta));

        v = cJSON_GetObjectItemCaseSensitive(delta, "role");
        if (v) {
            assert_string_equal(v->valuestring, "assistant");
            /* the role comes in the first chunk */
            assert_int_equal(i, 0);
            ps->roles++;
        }

        v = cJSON_GetObjectItemCaseSensitive(delta, "content");
        if (cJSON_IsString(v)) {
            assert_int_equal(chaton_buf_append_str(&ps->content,
                                                   v->valuestring),
                             CHATON_OK);
        } else {
            assert_true(v == NULL || cJSON_IsNull(v));
        }

        v = cJSON_GetObjectItemCaseSensitive(delta, "reasoning_content");
        if (v) {
            assert_true(cJSON_IsString(v));
            assert_int_equal(chaton_buf_append_str(&ps->reasoning,
                                                   v->valuestring),
                             CHATON_OK);
        }

        v = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
        assert_non_null(v);

        if (!cJSON_IsNull(v)) {
            assert_true(cJSON_IsString(v));
            ps->finishes++;
            ps->finish = v->valuestring;

            /* the finish_reason is the last choice chunk */
            assert_true(i == n - 2 || (include_usage && i == n - 3));
        }
    }

    assert_int_equal(ps->roles, 1);
    assert_int_equal(ps->finishes, 1);

    if (include_usage) {
        assert_non_null(ps->usage);
    }
}


/* ---- stream mode: the realistic stream through the SSE parser -------------- */


static int
to_chat(void *data, const unsigned char *ev, size_t len)
{
    return chaton_chat_event(data, ev, len);
}


/* feeds the stream cut at "cut" (or whole), then finishes the chat */

static void
run_stream(chaton_chat_t *t, size_t cut)
{
    int             rc;
    chaton_sse_t    p;
    unsigned char  *a, *b;

    if (cut > STREAM_LEN) {
        cut = STREAM_LEN;
    }

    chaton_sse_init(&p, &unit_alloc, 65536);

    a = (unsigned char *) unit_strn(stream, cut);
    b = (unsigned char *) unit_strn(stream + cut, STREAM_LEN - cut);

    rc = chaton_sse_feed(&p, a, cut, to_chat, t);

    if (rc == CHATON_OK) {
        rc = chaton_sse_feed(&p, b, STREAM_LEN - cut, to_chat, t);
    }

    /* [DONE] ends it: the handler's CHATON_DONE comes back from the feed */
    assert_int_equal(rc, CHATON_DONE);
    assert_true(t->backend_done);

    /* an answer that did not fail gave its error no room */
    assert_null(t->error);

    if (t->writer->stream) {
        assert_int_equal(chaton_chat_end(t, t->out), CHATON_OK);
    }
}


static void
test_chunk_stream_realistic(void **state)
{
    parsed_t       ps;
    chaton_buf_t   out;
    chaton_chat_t  t;
    cJSON         *delta;

    chat_new(&t, &out, 1, 0, 0);
    run_stream(&t, SIZE_MAX);

    parse_stream(&out, 0, &ps);

    /* sources, reasoning, three contents, the finish */
    assert_int_equal(ps.n, 6);

    assert_int_equal(ps.content.len, strlen(SOURCES_MD CONTENT1 CONTENT2
                                            CONTENT3));
    assert_memory_equal(ps.content.data, SOURCES_MD CONTENT1 CONTENT2 CONTENT3,
                        ps.content.len);
    assert_int_equal(ps.reasoning.len, strlen(REASONING));
    assert_memory_equal(ps.reasoning.data, REASONING, ps.reasoning.len);

    /* the reasoning chunk: content null, reasoning_content set */
    delta = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                                       ps.chunk[1], "choices"), 0), "delta");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(delta,
                                                              "content")));
    assert_string_equal(unit_jstr(delta, "reasoning_content"), REASONING);

    /* the backend's finish_reason, once, at the end */
    assert_string_equal(ps.finish, "stop");

    /* no backend id or versioned model leaks through */
    assert_null(strstr(unit_bufstr(&out), "chatcmpl-AbC"));
    assert_null(strstr(unit_bufstr(&out), "2024-08-06"));

    /* U+2028 goes out escaped */
    assert_null(strstr(unit_bufstr(&out), LS));
    assert_true(unit_utf8_valid(out.data, out.len));

    assert_int_equal(t.writer->chunks, 6);
    assert_int_equal(chaton_chat_completion_tokens(&t),
                     unit_tokens(SOURCES_MD CONTENT1 CONTENT2 CONTENT3
                                 REASONING,
                                 strlen(SOURCES_MD CONTENT1 CONTENT2 CONTENT3
                                        REASONING)));
}


static void
test_chunk_stream_include_usage(void **state)
{
    uint64_t       completion;
    parsed_t       ps;
    chaton_buf_t   out;
    chaton_chat_t  t;
    const char    *all;

    chat_new(&t, &out, 1, 1, 0);
    run_stream(&t, SIZE_MAX);

    parse_stream(&out, 1, &ps);

    /* the usage chunk follows the finish chunk, before [DONE] */
    assert_int_equal(ps.n, 7);
    assert_int_equal(cJSON_GetArraySize(
        cJSON_GetObjectItemCaseSensitive(ps.chunk[6], "choices")), 0);

    all = SOURCES_MD CONTENT1 CONTENT2 CONTENT3 REASONING;
    completion = unit_tokens(all, strlen(all));

    unit_jkeys_exactly(ps.usage, "prompt_tokens", "completion_tokens",
                       "total_tokens", NULL);
    assert_true(unit_jnum(ps.usage, "prompt_tokens") == 17);
    assert_true(unit_jnum(ps.usage, "completion_tokens") == completion);
    assert_true(unit_jnum(ps.usage, "total_tokens") == 17 + completion);

    /* the stream ends exactly so */
    assert_true(out.len > 20);
    assert_memory_equal(out.data + out.len - 17, "}\n\ndata: [DONE]\n\n", 17);
}


/* where the network splits the backend's stream changes no output byte */

static void
test_chunk_stream_split_invariant(void **state)
{
    size_t         cut;
    chaton_buf_t   whole, out;
    chaton_chat_t  t;

    chat_new(&t, &whole, 1, 1, 0);
    run_stream(&t, SIZE_MAX);

    for (cut = 0; cut <= STREAM_LEN; cut++) {
        chat_new(&t, &out, 1, 1, 0);
        run_stream(&t, cut);

        if (out.len != whole.len
            || memcmp(out.data, whole.data, out.len) != 0)
        {
            print_error("split at %zu changes the output\n", cut);
            fail();
        }

        unit_pool_free(&unit_pool, out.data);
    }
}


/* ---- stream mode: event by event ------------------------------------------ */


static void
test_chunk_notices_dropped(void **state)
{
    size_t         i;
    chaton_buf_t   out;
    chaton_chat_t  t;

    static const char  *dropped[] = {
        "{\"ping\":{}}",
        "{\"ping\":1732487485}",
        "{\"data\":{\"analytics\":{\"event\":\"x\",\"n\":[1,2]}}}",
        ("{\"data\":{\"operation\":\"web_search\",\"message\":\"Searching the "
         "web...\"}}"),
        "{\"data\":{\"operation\":\"done\"}}",
        "{\"data\":{\"web\":{\"sources\":[]}}}",
        "{\"data\":{\"web\":{\"sources\":[{\"title\":\"no url\"}]}}}",
        "{\"data\":{\"content_delta\":\"crawler text\"}}",
        "{\"data\":null}",
        "{\"something\":\"new\"}",
        "{}",
        "{\"choices\":[]}",
        "{\"choices\":null}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":null}}]}",
        "{\"choices\":[{\"index\":0}]}",
    };

    chat_new(&t, &out, 1, 1, 0);

    for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
        if (ev(&t, dropped[i]) != CHATON_OK) {
            print_error("event %s not accepted\n", dropped[i]);
            fail();
        }

        if (out.len != 0) {
            print_error("event %s produced output: %s\n", dropped[i],
                        unit_bufstr(&out));
            fail();
        }
    }

    assert_int_equal(t.writer->chunks, 0);
    assert_int_equal(t.events, sizeof(dropped) / sizeof(dropped[0]));
}


/*
 * A stream's writer keeps the chunks' common prefix at its size, and the
 * id only in it: the caller's id may go right after the writer's init.  A
 * model's name too long for the prefix's first room still makes it (the
 * prefix then grew, as any buffer does).
 */

static void
test_chunk_stream_prefix_own(void **state)
{
    size_t                 i, n, len[2];
    char                   model[400], *id, *payload[MAX_CHUNKS];
    chaton_buf_t           out;
    chaton_openai_chat_t   oc;
    cJSON                 *root;

    len[0] = sizeof(MODEL) - 1;
    len[1] = sizeof(model);

    for (i = 0; i < 2; i++) {
        if (i == 0) {
            memcpy(model, MODEL, len[0]);

        } else {
            memset(model, 'm', sizeof(model));
            model[7] = '"';
        }

        id = strdup(ID);
        assert_non_null(id);

        assert_int_equal(chaton_openai_chat_init(&oc, &unit_alloc,
                                                 (unsigned char *) id,
                                                 strlen(id),
                                                 (unsigned char *) model,
                                                 len[i], CREATED, 0, 1, 0),
                         CHATON_OK);

        memset(id, '#', strlen(id));
        free(id);

        /* a common model's prefix is kept at its size */
        if (i == 0) {
            assert_int_equal(oc.prefix.cap, oc.prefix.len);
        }

        chaton_buf_init(&out, &unit_alloc, 0);
        assert_int_equal(oc.w.ops->text(&oc.w, &out,
                                        (const unsigned char *) "hi", 2),
                         CHATON_OK);

        n = frames(&out, payload);
        assert_int_equal(n, 1);

        root = cJSON_Parse(payload[0]);
        assert_non_null(root);
        assert_string_equal(unit_jstr(root, "id"), ID);
        assert_int_equal(strlen(unit_jstr(root, "model")), len[i]);
        assert_memory_equal(unit_jstr(root, "model"), model, len[i]);
        cJSON_Delete(root);
    }
}


static void
test_chunk_role_once_model_ours(void **state)
{
    parsed_t       ps;
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 0, 0);

    assert_int_equal(ev(&t, "{\"id\":\"b-1\",\"model\":\"gpt-4o-2024-08-06\","
                            "\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                            "\"assistant\",\"content\":\"Hel\"}}]}"),
                     CHATON_OK);
    assert_int_equal(ev(&t, "{\"id\":\"b-2\",\"model\":\"other\",\"choices\":"
                            "[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                            "\"content\":\"lo\"}}]}"), CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":\".\"}}]}"),
                     CHATON_OK);
    assert_int_equal(t.writer->chunks, 3);

    /* nothing is written twice: three chunks so far */
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);

    parse_stream(&out, 0, &ps);
    assert_int_equal(ps.n, 4);
    assert_int_equal(ps.content.len, 6);
    assert_memory_equal(ps.content.data, "Hello.", 6);
    assert_int_equal(ps.reasoning.len, 0);
    assert_string_equal(ps.finish, "stop");

    /* the finish chunk's delta is empty */
    assert_int_equal(unit_jkeys(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ps.chunk[3],
                                                            "choices"), 0),
        "delta")), 0);
}


static void
test_chunk_reasoning_then_content(void **state)
{
    parsed_t       ps;
    chaton_buf_t   out;
    chaton_chat_t  t;
    cJSON         *d;

    chat_new(&t, &out, 1, 0, 0);

    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":null,"
                            "\"reasoning_content\":\"Hmm \\\"x\\\"\\n\"}}]}"),
                     CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":null,"
                            "\"reasoning_content\":\"ok.\"}}]}"), CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                            "\"Answer\"}}]}"), CHATON_OK);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);

    parse_stream(&out, 0, &ps);
    assert_int_equal(ps.n, 4);

    /* the first chunk carries the role even though it is reasoning */
    d = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(ps.chunk[0], "choices"), 0),
            "delta");
    assert_string_equal(unit_jstr(d, "role"), "assistant");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "content")));
    assert_string_equal(unit_jstr(d, "reasoning_content"), "Hmm \"x\"\n");

    /* a content chunk has no reasoning_content */
    d = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(ps.chunk[2], "choices"), 0),
            "delta");
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "reasoning_content"));
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "role"));
    assert_string_equal(unit_jstr(d, "content"), "Answer");

    assert_memory_equal(ps.reasoning.data, "Hmm \"x\"\nok.", 11);
    assert_int_equal(ps.reasoning.len, 11);
}


static void
test_chunk_sources(void **state)
{
    parsed_t       ps;
    chaton_buf_t   out;
    chaton_chat_t  t;
    const char    *md;

    /* after some content, the list is set apart by a blank line */

    chat_new(&t, &out, 1, 0, 0);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                            "\"Text.\"}}]}"), CHATON_OK);
    assert_int_equal(ev(&t, "{\"data\":{\"web\":{\"sources\":["
                            "{\"title\":\"A [b] c\\nd\",\"url\":"
                            "\"https://a.example/p(1) q\"},"
                            "{\"url\":\"https://b.example/\"},"
                            "{\"title\":\"no url\"},"
                            "{\"title\":\"empty url\",\"url\":\"\"},"
                            "{\"title\":5,\"url\":\"https://c.example/\"}"
                            "]}}}"), CHATON_OK);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);

    parse_stream(&out, 0, &ps);
    assert_int_equal(ps.n, 3);

    md = unit_bufstr(&ps.content);
    assert_string_equal(md,
        "Text."
        "\n\nSources:\n"
        "1. [A \\[b\\] c d](https://a.example/p(1%29%20q)\n"
        "2. [https://b.example/](https://b.example/)\n"
        "3. [https://c.example/](https://c.example/)\n"
        "\n");

    /* the realistic one, before any content */

    chat_new(&t, &out, 1, 0, 0);
    assert_int_equal(chaton_chat_event(&t, (const unsigned char *) P_SOURCES,
                                       strlen(P_SOURCES)), CHATON_OK);
    assert_int_equal(t.writer->chunks, 1);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);

    parse_stream(&out, 0, &ps);
    assert_string_equal(unit_bufstr(&ps.content), SOURCES_MD);
}


static void
test_chunk_finish_reason(void **state)
{
    parsed_t       ps;
    chaton_buf_t   out;
    chaton_chat_t  t;
    cJSON         *d;

    /* the backend's own finish_reason wins over "stop" */

    chat_new(&t, &out, 1, 0, 0);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":\"a\"},"
                            "\"finish_reason\":null}]}"), CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{},"
                            "\"finish_reason\":\"length\"}]}"), CHATON_OK);
    assert_int_equal(ev(&t, "[DONE]"), CHATON_DONE);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);

    parse_stream(&out, 0, &ps);
    assert_string_equal(ps.finish, "length");

    /* a finish_reason that came with the last content */

    chat_new(&t, &out, 1, 0, 0);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":\"a\"},"
                            "\"finish_reason\":\"content_filter\"}]}"),
                     CHATON_OK);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);
    parse_stream(&out, 0, &ps);
    assert_int_equal(ps.n, 2);
    assert_string_equal(ps.finish, "content_filter");

    /* an empty answer still has the role, empty content, and "stop" */

    chat_new(&t, &out, 1, 0, 0);
    assert_int_equal(ev(&t, "{\"ping\":{}}"), CHATON_OK);
    assert_int_equal(ev(&t, "[DONE]"), CHATON_DONE);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);

    parse_stream(&out, 0, &ps);
    assert_int_equal(ps.n, 1);
    assert_string_equal(ps.finish, "stop");
    d = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(ps.chunk[0], "choices"), 0),
            "delta");
    assert_string_equal(unit_jstr(d, "role"), "assistant");
    assert_string_equal(unit_jstr(d, "content"), "");

    /* the same, with usage */

    chat_new(&t, &out, 1, 1, 0);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);
    parse_stream(&out, 1, &ps);
    assert_int_equal(ps.n, 2);
    assert_true(unit_jnum(ps.usage, "completion_tokens") == 0);
    assert_true(unit_jnum(ps.usage, "total_tokens") == 17);
}


/* text that is not a backend delta (resolved images, for instance) */

static void
test_chunk_content_direct(void **state)
{
    parsed_t       ps;
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 0, 0);

    assert_int_equal(chaton_chat_content(&t, NULL, 0, NULL, 0), CHATON_OK);
    assert_int_equal(out.len, 0);

    assert_int_equal(chaton_chat_content(&t,
                         (const unsigned char *) "![Image](https://x/y.png)",
                         25, NULL, 0), CHATON_OK);
    assert_int_equal(chaton_chat_content(&t, (const unsigned char *) "c", 1,
                                         (const unsigned char *) "r", 1),
                     CHATON_OK);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);

    /* the reasoning and the content of one delta: a chunk each */

    parse_stream(&out, 0, &ps);
    assert_int_equal(ps.n, 4);
    assert_string_equal(unit_bufstr(&ps.content),
                        "![Image](https://x/y.png)c");
    assert_string_equal(unit_bufstr(&ps.reasoning), "r");
}


/* ---- aggregate mode -------------------------------------------------------- */


/* a backend delta event, JSON-encoded by cJSON (independently of the core) */

static char *
delta_event(const char *content, const char *reasoning)
{
    char   *s, *r;
    cJSON  *root, *choices, *choice, *delta;

    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", "chatcmpl-backend");
    cJSON_AddStringToObject(root, "model", "gpt-4o-2024-08-06");
    choices = cJSON_AddArrayToObject(root, "choices");
    choice = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    delta = cJSON_AddObjectToObject(choice, "delta");

    if (content) {
        cJSON_AddStringToObject(delta, "content", content);
    } else {
        cJSON_AddNullToObject(delta, "content");
    }

    if (reasoning) {
        cJSON_AddStringToObject(delta, "reasoning_content", reasoning);
    }

    cJSON_AddNullToObject(choice, "finish_reason");

    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    assert_non_null(s);

    r = unit_strn(s, strlen(s));
    free(s);

    return r;
}


static const char  *tricky[] = {
    "He said \"hi\"",
    " back\\slash \\n (not a newline) ",
    "line1\nline2\r\nline3\ttab",
    LS " and " PSEP,
    "\x01\x02\x1f control",
    "</script><!-- ",
    E_ACUTE ZHONGWEN EMOJI,
    "{\"json\":[1,2]}",
    "\\u2028 as text",
    "/",
};


static cJSON *
completion(chaton_chat_t *t)
{
    chaton_buf_t  out;

    chaton_buf_init(&out, &unit_alloc, 0);
    assert_int_equal(chaton_chat_end(t, &out), CHATON_OK);

    /* U+2028/2029 go out escaped, and the whole is valid UTF-8 */
    assert_null(strstr(unit_bufstr(&out), LS));
    assert_null(strstr(unit_bufstr(&out), PSEP));
    assert_true(unit_utf8_valid(out.data, out.len));

    return unit_json(out.data, out.len);
}


static void
check_completion(cJSON *c, const char *content, const char *reasoning,
    const char *finish)
{
    uint64_t     tokens;
    char        *both;
    cJSON       *choices, *choice, *msg, *usage, *v;
    size_t       clen, rlen;

    assert_string_equal(unit_jstr(c, "id"), ID);
    assert_string_equal(unit_jstr(c, "object"), "chat.completion");
    assert_string_equal(unit_jstr(c, "model"), MODEL);
    assert_true(unit_jnum(c, "created") == CREATED);

    choices = cJSON_GetObjectItemCaseSensitive(c, "choices");
    assert_true(cJSON_IsArray(choices));
    assert_int_equal(cJSON_GetArraySize(choices), 1);

    choice = cJSON_GetArrayItem(choices, 0);
    assert_true(unit_jnum(choice, "index") == 0);
    assert_string_equal(unit_jstr(choice, "finish_reason"), finish);

    msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    assert_true(cJSON_IsObject(msg));
    assert_string_equal(unit_jstr(msg, "role"), "assistant");

    v = cJSON_GetObjectItemCaseSensitive(msg, "content");
    assert_true(cJSON_IsString(v));
    clen = strlen(content);
    assert_int_equal(strlen(v->valuestring), clen);
    assert_memory_equal(v->valuestring, content, clen);

    v = cJSON_GetObjectItemCaseSensitive(msg, "reasoning_content");

    if (reasoning == NULL) {
        assert_null(v);
        rlen = 0;

    } else {
        assert_true(cJSON_IsString(v));
        rlen = strlen(reasoning);
        assert_int_equal(strlen(v->valuestring), rlen);
        assert_memory_equal(v->valuestring, reasoning, rlen);
    }

    /* the estimate runs over content and reasoning together */

    both = unit_mem(clen + rlen + 1);
    memcpy(both, content, clen);
    if (rlen) {
        memcpy(both + clen, reasoning, rlen);
    }
    tokens = unit_tokens(both, clen + rlen);

    usage = cJSON_GetObjectItemCaseSensitive(c, "usage");
    unit_jkeys_exactly(usage, "prompt_tokens", "completion_tokens",
                       "total_tokens", NULL);
    assert_true(unit_jnum(usage, "prompt_tokens") == 17);
    assert_true(unit_jnum(usage, "completion_tokens") == tokens);
    assert_true(unit_jnum(usage, "total_tokens") == 17 + tokens);
}


static void
test_chunk_aggregate_exact_content(void **state)
{
    size_t         i;
    chaton_chat_t  t;
    chaton_buf_t   expect;

    chat_new(&t, NULL, 0, 0, 0);
    chaton_buf_init(&expect, &unit_alloc, 0);

    for (i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
        assert_int_equal(ev(&t, delta_event(tricky[i], NULL)), CHATON_OK);
        assert_int_equal(chaton_buf_append_str(&expect, tricky[i]),
                         CHATON_OK);
    }

    /* a surrogate pair and an escaped U+2028 from the backend */
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                            "\"\\ud83d\\ude00\\u2028\\u00e9\"}}]}"),
                     CHATON_OK);
    assert_int_equal(chaton_buf_append_str(&expect, EMOJI LS E_ACUTE),
                     CHATON_OK);

    /* notices change nothing */
    assert_int_equal(ev(&t, "{\"ping\":{}}"), CHATON_OK);
    assert_int_equal(ev(&t, "{\"data\":{\"analytics\":{}}}"), CHATON_OK);
    assert_int_equal(ev(&t, "[DONE]"), CHATON_DONE);

    check_completion(completion(&t), unit_bufstr(&expect), NULL, "stop");
}


static void
test_chunk_aggregate_realistic(void **state)
{
    chaton_chat_t  t;

    chat_new(&t, NULL, 0, 0, 0);
    run_stream(&t, SIZE_MAX);

    check_completion(completion(&t), SOURCES_MD CONTENT1 CONTENT2 CONTENT3,
                     REASONING, "stop");
}


static void
test_chunk_aggregate_reasoning(void **state)
{
    chaton_chat_t  t;

    chat_new(&t, NULL, 0, 0, 0);

    assert_int_equal(ev(&t, delta_event(NULL, "step \"1\"\n")), CHATON_OK);
    assert_int_equal(ev(&t, delta_event(NULL, LS "step 2")), CHATON_OK);
    assert_int_equal(ev(&t, delta_event("The answer", NULL)), CHATON_OK);
    assert_int_equal(ev(&t, delta_event(" is 42.", NULL)), CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{},\"finish_reason\":"
                            "\"length\"}]}"), CHATON_OK);

    check_completion(completion(&t), "The answer is 42.",
                     "step \"1\"\n" LS "step 2", "length");

    /* nothing at all: empty content, no reasoning_content, "stop" */

    chat_new(&t, NULL, 0, 0, 0);
    assert_int_equal(ev(&t, "[DONE]"), CHATON_DONE);
    check_completion(completion(&t), "", NULL, "stop");
}


static void
test_chunk_max_answer(void **state)
{
    int            rc;
    size_t         i;
    chaton_chat_t  t;

    chat_new(&t, NULL, 0, 0, 256);

    rc = CHATON_OK;

    for (i = 0; i < 100 && rc == CHATON_OK; i++) {
        rc = ev(&t, delta_event("0123456789", NULL));
    }

    assert_int_equal(rc, CHATON_TOO_BIG);

    /* it stopped near the limit, not long after */
    assert_true(i * 10 <= 256 + 10);
    assert_true(i * 10 >= 256 - 32);

    /* reasoning is bounded too */
    chat_new(&t, NULL, 0, 0, 256);
    rc = CHATON_OK;

    for (i = 0; i < 100 && rc == CHATON_OK; i++) {
        rc = ev(&t, delta_event(NULL, "0123456789"));
    }

    assert_int_equal(rc, CHATON_TOO_BIG);
}


/* ---- errors --------------------------------------------------------------- */


static void
expect_backend_error(const char *event, const char *message)
{
    chaton_buf_t   out, b;
    chaton_chat_t  t;
    cJSON         *j, *e;

    chat_new(&t, &out, 1, 0, 0);

    if (ev(&t, event) != CHATON_BAD) {
        print_error("%s was not an error\n", event);
        fail();
    }

    assert_int_equal(out.len, 0);
    assert_non_null(t.error);
    assert_int_equal(t.error->status, 502);
    assert_true(t.error->text_len > 0);

    if (message) {
        assert_int_equal(t.error->text_len, strlen(message));
        assert_memory_equal(t.error->text, message, strlen(message));
    }

    /* what the client gets, mid-stream */
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_error_event(&b, t.error), CHATON_OK);
    assert_memory_equal(b.data, "data: ", 6);
    assert_memory_equal(b.data + b.len - 2, "\n\n", 2);

    j = unit_json(b.data + 6, b.len - 8);
    e = cJSON_GetObjectItemCaseSensitive(j, "error");
    assert_true(cJSON_IsObject(e));

    if (message) {
        assert_string_equal(unit_jstr(e, "message"), message);
    }
}


static void
test_chunk_backend_errors(void **state)
{
    expect_backend_error("{\"error\":\"x\"}", "x");
    expect_backend_error("{\"error\":{\"message\":\"x\"}}", "x");
    expect_backend_error("{\"error\":{\"message\":\"Rate limit \\\"hit\\\"\","
                         "\"code\":429}}", "Rate limit \"hit\"");
    expect_backend_error("{\"data\":{\"error\":\"y\"}}", "y");
    expect_backend_error("{\"error\":{\"code\":500}}", NULL);
    expect_backend_error("{\"error\":\"\"}", NULL);
    expect_backend_error("{\"error\":null}", NULL);
    expect_backend_error("{\"error\":true}", NULL);
}


/* the backend's message is kept within bounds */

static void
test_chunk_backend_error_long(void **state)
{
    char           *e;
    chaton_buf_t    out;
    chaton_chat_t   t;

    e = unit_mem(5000 + 20);
    strcpy(e, "{\"error\":\"");
    memset(e + 10, 'm', 5000);
    strcpy(e + 5010, "\"}");

    chat_new(&t, &out, 1, 0, 0);
    assert_int_equal(ev(&t, e), CHATON_BAD);
    assert_non_null(t.error);
    assert_true(t.error->text_len > 0);
    assert_true(t.error->text_len <= 4096);
}


static void
test_chunk_invalid_events(void **state)
{
    size_t         i;
    chaton_buf_t   out, b;
    chaton_chat_t  t;

    static const char  *bad[] = {
        "", "{", "{\"choices\":", "not json", "[1,2]", "\"text\"", "42",
        "null", "true", "[DONE", "DONE", "{'a':1}", "{\"a\":1,}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chat_new(&t, &out, 1, 0, 0);

        if (ev(&t, bad[i]) != CHATON_BAD) {
            print_error("event [%s] was accepted\n", bad[i]);
            fail();
        }

        assert_int_equal(out.len, 0);
        assert_non_null(t.error);
        assert_int_equal(t.error->status, 502);
        assert_true(t.error->text_len > 0);
        assert_false(t.backend_done);

        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_error_json(&b, t.error), CHATON_OK);
        unit_json(b.data, b.len);
    }
}


/*
 * An event with more after its JSON value ("{...}{...}", "{...} x") is not
 * valid JSON either; accepting it would silently drop what follows.
 */

static void
test_chunk_trailing_garbage_event(void **state)
{
    size_t         i;
    chaton_buf_t   out;
    chaton_chat_t  t;

    static const char  *bad[] = {
        ("{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}"
         "{\"choices\":[{\"delta\":{\"content\":\"b\"}}]}"),
        "{\"ping\":{}} garbage",
        "{}}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chat_new(&t, &out, 1, 0, 0);

        if (ev(&t, bad[i]) != CHATON_BAD) {
            print_error("event [%s] with trailing data was accepted\n",
                        bad[i]);
            fail();
        }
    }
}


static void
test_chunk_done(void **state)
{
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 0, 0);
    assert_false(t.backend_done);
    assert_int_equal(ev(&t, "[DONE]"), CHATON_DONE);
    assert_true(t.backend_done);
    assert_int_equal(out.len, 0);

    /* only exactly [DONE] */
    chat_new(&t, &out, 1, 0, 0);
    assert_int_equal(ev(&t, "[DONE] "), CHATON_BAD);
    assert_false(t.backend_done);
}


/* allocation failures anywhere: CHATON_ERROR, never a crash */

static void
test_chunk_alloc_failures(void **state)
{
    int             rc, ok;
    size_t          limit;
    unit_pool_t     p;
    chaton_alloc_t         a;
    chaton_buf_t           out;
    chaton_chat_t          t;
    chaton_openai_chat_t   oc;

    ok = 0;

    for (limit = 0; limit < 64 && !ok; limit++) {
        unit_pool_init(&p);
        p.limit = limit;
        a = unit_allocator(&p, 1);

        rc = chaton_openai_chat_init(&oc, &a, (const unsigned char *) ID,
                                     sizeof(ID) - 1,
                                     (const unsigned char *) MODEL,
                                     sizeof(MODEL) - 1, CREATED, 0, 1, 1);

        if (rc == CHATON_OK) {
            rc = chaton_chat_init(&t, &a, &oc.w, 0);
        }

        if (rc == CHATON_OK) {
            chaton_buf_init(&out, &a, 0);
            t.out = &out;

            rc = chaton_chat_event(&t, (const unsigned char *) P_SOURCES,
                                   strlen(P_SOURCES));
            if (rc == CHATON_OK) {
                rc = chaton_chat_event(&t, (const unsigned char *) P_CONTENT1,
                                       strlen(P_CONTENT1));
            }
            if (rc == CHATON_OK) {
                rc = chaton_chat_end(&t, t.out);
            }
        }

        if (rc == CHATON_OK) {
            ok = 1;
            unit_json(out.data + 6, (unsigned char *) memchr(out.data, '\n',
                                                             out.len)
                                    - out.data - 6);
        } else {
            assert_int_equal(rc, CHATON_ERROR);
            assert_true(p.failed > 0);
        }

        unit_pool_release(&p);
    }

    assert_true(ok);
}


/* ---- tools offered: the extractor between the decoder and the writer ---- */


#define TNONCE  "abcd1234"

static const chaton_tool_t  tools_f[] = {
    { (const unsigned char *) "get_weather", 11, NULL, 0, NULL, 0, 0 }
};


/* a delta whose content is s, JSON-escaped with '<' and '>' as \u escapes */

static void
delta_escaped(char *ev, size_t size, const char *s, size_t len)
{
    size_t  i, n;

    n = (size_t) snprintf(ev, size, "{\"choices\":[{\"index\":0,\"delta\":"
                                    "{\"content\":\"");

    for (i = 0; i < len; i++) {
        if (s[i] == '<' || s[i] == '>') {
            n += (size_t) snprintf(ev + n, size - n, "\\u%04x", s[i]);

        } else if (s[i] == '"' || s[i] == '\\') {
            n += (size_t) snprintf(ev + n, size - n, "\\%c", s[i]);

        } else if (s[i] == '\n') {
            n += (size_t) snprintf(ev + n, size - n, "\\n");

        } else {
            ev[n++] = s[i];
        }
    }

    (void) snprintf(ev + n, size - n, "\"},\"finish_reason\":null}]}");
}


static void
test_chunk_tool_calls_split(void **state)
{
    int             stream;
    size_t          cut, len, i;
    char            e[512];
    cJSON          *j, *tc, *calls, *msg;
    parsed_t        ps;
    chaton_buf_t    out, whole;
    chaton_chat_t   t;
    chaton_tools_t  tools;
    const char     *answer;

    answer = "Sure.\n<tool_call_" TNONCE ">{\"name\": \"get_weather\", "
             "\"arguments\": {\"city\": \"Paris\"}}</tool_call_" TNONCE ">";
    len = strlen(answer);

    memset(&tools, 0, sizeof(chaton_tools_t));
    tools.tools = tools_f;
    tools.ntools = 1;
    tools.parallel = 1;
    memcpy(tools.nonce, TNONCE, CHATON_TOOLS_NONCE_LEN);

    /* the answer in two backend events, cut at every byte */

    for (stream = 0; stream <= 1; stream++) {
        for (cut = 1; cut < len; cut++) {
            chat_new(&t, &out, stream, 0, 0);
            assert_int_equal(chaton_chat_tools(&t, &tools, 4096), CHATON_OK);

            delta_escaped(e, sizeof(e), answer, cut);
            assert_int_equal(ev(&t, e), CHATON_OK);
            delta_escaped(e, sizeof(e), answer + cut, len - cut);
            assert_int_equal(ev(&t, e), CHATON_OK);
            assert_int_equal(ev(&t, "[DONE]"), CHATON_DONE);

            assert_int_equal(chaton_chat_flush(&t, &out), CHATON_OK);

            if (!stream) {
                chaton_buf_init(&whole, &unit_alloc, 0);
                assert_int_equal(chaton_chat_end(&t, &whole), CHATON_OK);

                j = unit_json(whole.data, whole.len);
                msg = cJSON_GetObjectItemCaseSensitive(
                          cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                                                 j, "choices"), 0),
                          "message");
                assert_string_equal(unit_jstr(msg, "content"), "Sure.");
                calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
                assert_int_equal(cJSON_GetArraySize(calls), 1);
                tc = cJSON_GetArrayItem(calls, 0);
                assert_string_equal(unit_jstr(tc, "id"),
                                    "call_" TNONCE "_0");
                assert_string_equal(unit_jstr(tc, "type"), "function");
                tc = cJSON_GetObjectItemCaseSensitive(tc, "function");
                assert_string_equal(unit_jstr(tc, "name"), "get_weather");
                assert_string_equal(unit_jstr(tc, "arguments"),
                                    "{\"city\":\"Paris\"}");
                assert_string_equal(unit_jstr(cJSON_GetArrayItem(
                    cJSON_GetObjectItemCaseSensitive(j, "choices"), 0),
                    "finish_reason"), "tool_calls");
                continue;
            }

            assert_int_equal(chaton_chat_end(&t, &out), CHATON_OK);
            parse_stream(&out, 0, &ps);

            assert_string_equal(unit_bufstr(&ps.content), "Sure.");
            assert_string_equal(ps.finish, "tool_calls");
            assert_null(strstr(unit_bufstr(&out), "tool_call_" TNONCE));

            /* the call: one chunk with its index, id, name and arguments */

            for (i = 0, calls = NULL; i < ps.n && calls == NULL; i++) {
                calls = cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetArrayItem(
                                    cJSON_GetObjectItemCaseSensitive(
                                        ps.chunk[i], "choices"), 0),
                                "delta"),
                            "tool_calls");
            }

            assert_non_null(calls);
            tc = cJSON_GetArrayItem(calls, 0);
            assert_true(unit_jnum(tc, "index") == 0);
            assert_string_equal(unit_jstr(tc, "id"), "call_" TNONCE "_0");
            tc = cJSON_GetObjectItemCaseSensitive(tc, "function");
            assert_string_equal(unit_jstr(tc, "name"), "get_weather");
            assert_string_equal(unit_jstr(tc, "arguments"),
                                "{\"city\":\"Paris\"}");
        }
    }
}


/* without tools offered the same answer is text, every byte of it */

static void
test_chunk_no_tools_no_extractor(void **state)
{
    char           e[512];
    parsed_t       ps;
    chaton_buf_t   out;
    chaton_chat_t  t;
    const char    *answer;

    answer = "<tool_call_" TNONCE ">{\"name\": \"get_weather\"}"
             "</tool_call_" TNONCE ">";

    chat_new(&t, &out, 1, 0, 0);
    assert_null(t.extract);

    delta_escaped(e, sizeof(e), answer, strlen(answer));
    assert_int_equal(ev(&t, e), CHATON_OK);
    assert_int_equal(ev(&t, "[DONE]"), CHATON_DONE);
    assert_int_equal(chaton_chat_flush(&t, &out), CHATON_OK);
    assert_int_equal(chaton_chat_end(&t, &out), CHATON_OK);

    parse_stream(&out, 0, &ps);
    assert_string_equal(unit_bufstr(&ps.content), answer);
    assert_string_equal(ps.finish, "stop");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_chunk_stream_realistic),
        utest(test_chunk_tool_calls_split),
        utest(test_chunk_no_tools_no_extractor),
        utest(test_chunk_stream_include_usage),
        utest(test_chunk_stream_split_invariant),
        utest(test_chunk_stream_prefix_own),
        utest(test_chunk_notices_dropped),
        utest(test_chunk_role_once_model_ours),
        utest(test_chunk_reasoning_then_content),
        utest(test_chunk_sources),
        utest(test_chunk_finish_reason),
        utest(test_chunk_content_direct),
        utest(test_chunk_aggregate_exact_content),
        utest(test_chunk_aggregate_realistic),
        utest(test_chunk_aggregate_reasoning),
        utest(test_chunk_max_answer),
        utest(test_chunk_backend_errors),
        utest(test_chunk_backend_error_long),
        utest(test_chunk_invalid_events),
        utest(test_chunk_trailing_garbage_event),
        utest(test_chunk_done),
        utest(test_chunk_alloc_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
