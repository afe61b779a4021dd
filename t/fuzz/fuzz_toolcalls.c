/*
 * Tool calls through the answer's pipeline (issue 11): backend deltas
 * through chaton_chat_event() with tools offered, the tool-call extractor
 * between the decoder and the OpenAI chat writer, in stream mode and in
 * whole mode, as the module runs them.
 *
 * Input: [flags] text 0xff text 0xff ...
 *
 *   flags bit 0      '<' and '>' travel as \u003c and \u003e (as some
 *                    backends escape them), or as they are
 *         bit 1      parallel_tool_calls: several calls, or one
 *         bit 2      a call's body limit: 64 bytes, or 64 KiB
 *         bit 3      every other ASCII byte of the text as a \u escape
 *         bit 4      stream_options.include_usage
 *         bit 5      the allocator frees (as the module's) or never does
 *         bit 6      a picture (spc.unk placeholder) resolves to a URL, or
 *                    to a note that it is unavailable
 *         bit 7      a first delta with the role and no content
 *
 * Each text is the content of one backend delta, JSON-escaped into
 * {"choices":[{"index":0,"delta":{"content":"..."},...}]}; then [DONE],
 * chaton_chat_flush(), chaton_chat_end().  The tools offered are
 * get_weather and get_time, the request's nonce abcd1234.
 *
 * Checks:
 *   - no crash, no undefined behaviour, no leak (ASan, UBSan, LSan);
 *   - memory bounded: what the extractor holds back stays within
 *     CHATON_TOOLS_HOLD_MAX after every event, a call's body within its
 *     limit, and nothing is held once the answer is flushed; a stream's
 *     memory depends on its largest event and the call limit, not on its
 *     length;
 *   - stream mode: the output is "data: <JSON>\n\n" frames, each a
 *     chat.completion.chunk with one choice (the usage chunk aside), the
 *     role in the first only, ending with "data: [DONE]\n\n"; exactly one
 *     finish_reason, "tool_calls" if and only if a call was written, else
 *     "stop"; no text after a call; every tool_calls entry alone in its
 *     chunk, with index 0, 1, ..., id "call_abcd1234_<index>", type
 *     "function", an offered name and arguments that are a JSON object's
 *     text; one call at most without parallel calls;
 *   - whole mode: one chat.completion object with the same calls (names,
 *     arguments, order), the same finish_reason, and as content the
 *     stream's text joined, or null when there are calls and that text is
 *     blank;
 *   - against the answer itself (its texts valid UTF-8, no NUL, no
 *     picture): without a call the content is the answer, byte for byte
 *     (what looked like a call but was not one is text); with calls it is
 *     the answer up to the first call, and what the answer has next is
 *     blanks, maybe a code fence's opening line, and the marker
 *     <tool_call_abcd1234>.
 */

#include "fuzz.h"
#include "fuzz_chat.h"
#include "dialect_openai_chat.h"


#define ID        "chatcmpl-0123456789abcdef01234567"
#define MODEL     "gpt-4o"
#define CREATED   1732487486
#define PROMPT    7

#define NONCE     "abcd1234"
#define MARKER    "<tool_call_" NONCE ">"

#define SEP       0xff


static const chaton_tool_t  tools[] = {
    { (const unsigned char *) "get_weather", 11, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "get_time", 8, NULL, 0, NULL, 0, 0 },
};

#define NTOOLS  (sizeof(tools) / sizeof(tools[0]))


#define EV_HEAD   "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
#define EV_TAIL   "\"},\"finish_reason\":null}]}"
#define EV_ROLE   "{\"choices\":[{\"index\":0,\"delta\":{\"role\":" \
                  "\"assistant\"},\"finish_reason\":null}]}"


typedef struct {
    int                     lt_escaped;
    int                     parallel;
    size_t                  max_call;
    int                     u_escaped;
    int                     include_usage;
    int                     with_free;
    int                     with_url;
    int                     role_first;
} setup_t;


/* what the client got, in either mode */

typedef struct {
    unsigned char          *content;        /* joined; malloc'ed */
    size_t                  content_len;
    int                     content_null;   /* whole: "content":null */
    char                  **names;
    char                  **args;
    size_t                  ncalls;
    char                    finish[32];
    uint64_t                pictures;
} result_t;


static char *
dup(const char *s)
{
    char  *d;

    d = strdup(s);
    FZ_CHECK(d != NULL, "out of memory");

    return d;
}


static void
result_free(result_t *r)
{
    size_t  i;

    for (i = 0; i < r->ncalls; i++) {
        free(r->names[i]);
        free(r->args[i]);
    }

    free(r->names);
    free(r->args);
    free(r->content);
}


/* ---- the backend's events ----------------------------------------------- */


/* a text as a delta event's content, JSON-escaped as the setup says */

static size_t
delta_event(unsigned char *ev, const setup_t *su, const uint8_t *s,
    size_t len)
{
    size_t              i, n;
    unsigned char       c;
    const char         *digits;

    n = sizeof(EV_HEAD) - 1;
    memcpy(ev, EV_HEAD, n);

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c == '"' || c == '\\') {
            ev[n++] = '\\';
            ev[n++] = c;

        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b'
                   || c == '\f')
        {
            ev[n++] = '\\';
            ev[n++] = (c == '\n') ? 'n' : (c == '\r') ? 'r'
                      : (c == '\t') ? 't' : (c == '\b') ? 'b' : 'f';

        } else if (c < 0x20
                   || (su->lt_escaped && (c == '<' || c == '>'))
                   || (su->u_escaped && c < 0x80 && (i & 1)))
        {
            /* both cases of hex digits, as backends write either */

            digits = (i & 2) ? "0123456789ABCDEF" : "0123456789abcdef";

            memcpy(ev + n, "\\u00", 4);
            n += 4;
            ev[n++] = digits[c >> 4];
            ev[n++] = digits[c & 0xf];

        } else {
            ev[n++] = c;
        }
    }

    memcpy(ev + n, EV_TAIL, sizeof(EV_TAIL) - 1);

    return n + sizeof(EV_TAIL) - 1;
}


/* ---- the client's output ------------------------------------------------ */


/* a tool_calls entry: delta (stream) entries carry their index */

static void
check_call(const cJSON *tc, size_t index, int delta, result_t *res)
{
    char         id[64];
    cJSON       *v, *f, *a;
    size_t       i;
    const char  *name, *args;

    FZ_CHECK(cJSON_IsObject(tc), "a tool call is not an object");
    FZ_CHECK(cJSON_GetArraySize(tc) == 3 + delta,
             "a tool call has %d members", cJSON_GetArraySize(tc));

    if (delta) {
        v = cJSON_GetObjectItemCaseSensitive(tc, "index");
        FZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == (double) index,
                 "call %zu: a wrong index", index);
    }

    snprintf(id, sizeof(id), "call_" NONCE "_%zu", index);
    FZ_CHECK(strcmp(fz_jstr(tc, "id"), id) == 0, "call %zu: id \"%s\"",
             index, fz_jstr(tc, "id"));
    FZ_CHECK(strcmp(fz_jstr(tc, "type"), "function") == 0,
             "call %zu: type is not function", index);

    f = cJSON_GetObjectItemCaseSensitive(tc, "function");
    FZ_CHECK(cJSON_IsObject(f) && cJSON_GetArraySize(f) == 2,
             "call %zu: function is not {name, arguments}", index);

    name = fz_jstr(f, "name");

    for (i = 0; i < NTOOLS; i++) {
        if (strlen(name) == tools[i].name_len
            && memcmp(name, tools[i].name, tools[i].name_len) == 0)
        {
            break;
        }
    }

    FZ_CHECK(i < NTOOLS, "call %zu: a tool not offered: \"%s\"", index,
             name);

    args = fz_jstr(f, "arguments");
    a = fz_json_try(args, strlen(args));
    FZ_CHECK(cJSON_IsObject(a), "call %zu: arguments not a JSON object: %s",
             index, args);
    cJSON_Delete(a);

    res->names = realloc(res->names, (index + 1) * sizeof(char *));
    res->args = realloc(res->args, (index + 1) * sizeof(char *));
    FZ_CHECK(res->names && res->args, "out of memory");

    res->names[index] = dup(name);
    res->args[index] = dup(args);
    res->ncalls = index + 1;
}


static void
check_head(const cJSON *j, const char *object)
{
    cJSON  *v;

    FZ_CHECK(cJSON_IsObject(j), "a %s is not an object", object);
    FZ_CHECK(strcmp(fz_jstr(j, "id"), ID) == 0, "id differs");
    FZ_CHECK(strcmp(fz_jstr(j, "object"), object) == 0, "object differs");
    FZ_CHECK(strcmp(fz_jstr(j, "model"), MODEL) == 0, "model differs");

    v = cJSON_GetObjectItemCaseSensitive(j, "created");
    FZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == CREATED,
             "created differs");
}


/* one chunk of a stream */

static void
check_chunk(const unsigned char *s, size_t len, const setup_t *su,
    fz_stream_t *st, result_t *res)
{
    cJSON  *j, *choices, *c, *delta, *v, *finish, *calls;

    j = fz_json(s, len, "a chunk");

    check_head(j, "chat.completion.chunk");
    FZ_CHECK(cJSON_GetObjectItemCaseSensitive(j, "error") == NULL,
             "an error chunk");
    FZ_CHECK(!st->usage_seen, "a chunk after the usage chunk");

    choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    FZ_CHECK(cJSON_IsArray(choices), "choices is not an array");

    if (cJSON_GetArraySize(choices) == 0) {
        FZ_CHECK(su->include_usage && st->finish_seen,
                 "a chunk without choices that is not the usage chunk");
        (void) fz_chat_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"),
                             PROMPT);
        st->usage_seen = 1;
        goto done;
    }

    FZ_CHECK(cJSON_GetArraySize(choices) == 1, "choices has %d items",
             cJSON_GetArraySize(choices));
    FZ_CHECK(!st->finish_seen, "a chunk after the finish_reason");

    c = cJSON_GetArrayItem(choices, 0);
    FZ_CHECK(cJSON_IsObject(c), "a choice is not an object");

    v = cJSON_GetObjectItemCaseSensitive(c, "index");
    FZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == 0, "index is not 0");

    delta = cJSON_GetObjectItemCaseSensitive(c, "delta");
    FZ_CHECK(cJSON_IsObject(delta), "delta is not an object");

    v = cJSON_GetObjectItemCaseSensitive(delta, "role");
    FZ_CHECK(st->chunks == 0
             ? cJSON_IsString(v) && strcmp(v->valuestring, "assistant") == 0
             : v == NULL,
             "the role is not in the first chunk only");

    finish = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
    FZ_CHECK(cJSON_IsNull(finish) || cJSON_IsString(finish),
             "finish_reason is neither null nor a string");

    if (cJSON_IsString(finish)) {
        snprintf(res->finish, sizeof(res->finish), "%s",
                 finish->valuestring);
        st->finish_seen = 1;
    }

    v = cJSON_GetObjectItemCaseSensitive(delta, "content");
    calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");

    if (calls) {
        FZ_CHECK(cJSON_IsNull(v), "content is not null beside tool_calls");
        FZ_CHECK(cJSON_IsArray(calls) && cJSON_GetArraySize(calls) == 1,
                 "tool_calls is not an array of one");
        FZ_CHECK(cJSON_IsNull(finish), "a finish_reason beside tool_calls");
        FZ_CHECK(su->parallel || res->ncalls == 0,
                 "a second call, parallel calls off");

        check_call(cJSON_GetArrayItem(calls, 0), res->ncalls, 1, res);

    } else if (cJSON_IsString(v)) {
        FZ_CHECK(v->valuestring[0] == '\0' || res->ncalls == 0,
                 "text after a call: \"%s\"", v->valuestring);
        fz_append(&res->content, &res->content_len, v->valuestring);

    } else {
        FZ_CHECK(cJSON_IsString(finish) && (v == NULL || cJSON_IsNull(v)),
                 "a chunk that carries nothing");
    }

done:

    cJSON_Delete(j);
    st->chunks++;
}


/* what a stream wrote since the last look: "data: ...\n\n" frames */

static void
check_stream_out(const chaton_buf_t *out, const setup_t *su, fz_stream_t *st,
    result_t *res)
{
    size_t                n;
    const unsigned char  *p, *end, *f;

    if (out->len == 0) {
        return;
    }

    p = out->data;
    end = out->data + out->len;

    while (p < end) {
        f = fz_chat_frame(&p, end, su->include_usage, st, &n);

        if (f) {
            check_chunk(f, n, su, st, res);
        }
    }
}


static void
check_completion(const chaton_buf_t *b, result_t *res)
{
    int          i, n;
    cJSON       *j, *choices, *c, *m, *v, *calls;

    j = fz_json(b->data, b->len, "the completion");

    check_head(j, "chat.completion");
    (void) fz_chat_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), PROMPT);

    choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    FZ_CHECK(cJSON_IsArray(choices) && cJSON_GetArraySize(choices) == 1,
             "choices is not an array of one");

    c = cJSON_GetArrayItem(choices, 0);
    FZ_CHECK(cJSON_IsObject(c), "the choice is not an object");
    snprintf(res->finish, sizeof(res->finish), "%s",
             fz_jstr(c, "finish_reason"));

    m = cJSON_GetObjectItemCaseSensitive(c, "message");
    FZ_CHECK(cJSON_IsObject(m), "message is not an object");
    FZ_CHECK(strcmp(fz_jstr(m, "role"), "assistant") == 0, "role");

    v = cJSON_GetObjectItemCaseSensitive(m, "content");
    FZ_CHECK(cJSON_IsString(v) || cJSON_IsNull(v),
             "content is neither a string nor null");

    if (cJSON_IsString(v)) {
        fz_append(&res->content, &res->content_len, v->valuestring);

    } else {
        res->content_null = 1;
    }

    calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");

    if (calls) {
        n = cJSON_GetArraySize(calls);
        FZ_CHECK(cJSON_IsArray(calls) && n > 0,
                 "tool_calls is not a non-empty array");

        for (i = 0; i < n; i++) {
            check_call(cJSON_GetArrayItem(calls, i), (size_t) i, 0, res);
        }
    }

    cJSON_Delete(j);
}


/* ---- the pipeline ------------------------------------------------------- */


static void
check_bounded(const chaton_chat_t *t, const setup_t *su)
{
    FZ_CHECK(t->extract->nhold <= CHATON_TOOLS_HOLD_MAX,
             "the extractor holds %zu bytes", t->extract->nhold);
    FZ_CHECK(t->extract->call_buf.len
             <= su->max_call + CHATON_TOOLS_HOLD_MAX,
             "a call's body of %zu bytes, limit %zu",
             t->extract->call_buf.len, su->max_call);
}


/* what a stage wrote: checked (stream), then sent (the buffer reused) */

static void
written(chaton_buf_t *out, int stream, const setup_t *su, fz_stream_t *st,
    result_t *res)
{
    if (stream) {
        check_stream_out(out, su, st, res);

    } else {
        FZ_CHECK(out->len == 0, "whole mode wrote output before the end");
    }

    out->len = 0;
}


static void
run(int stream, const setup_t *su, const uint8_t *in, size_t len,
    size_t max_text, result_t *res)
{
    int                    n;
    size_t                 evlen, peak;
    fz_stream_t               st;
    fz_pool_t              pool;
    chaton_buf_t           out, whole;
    unsigned char         *ev;
    chaton_chat_t          t;
    chaton_tools_t         tt;
    chaton_openai_chat_t   oc;
    const uint8_t         *p, *end, *sep;

    memset(res, 0, sizeof(result_t));
    memset(&st, 0, sizeof(fz_stream_t));

    res->content = malloc(1);
    FZ_CHECK(res->content != NULL, "out of memory");

    ev = malloc(sizeof(EV_HEAD) + sizeof(EV_TAIL) + 6 * max_text);
    FZ_CHECK(ev != NULL, "out of memory");

    memset(&tt, 0, sizeof(chaton_tools_t));
    tt.tools = tools;
    tt.ntools = NTOOLS;
    tt.choice = CHATON_TOOL_CHOICE_AUTO;
    tt.parallel = su->parallel;
    memcpy(tt.nonce, NONCE, CHATON_TOOLS_NONCE_LEN);

    fz_pool_init(&pool, su->with_free);

    FZ_CHECK(chaton_openai_chat_init(&oc, &pool.a,
                                     (const unsigned char *) ID,
                                     sizeof(ID) - 1,
                                     (const unsigned char *) MODEL,
                                     sizeof(MODEL) - 1, CREATED, 0, stream,
                                     stream && su->include_usage)
             == CHATON_OK, "openai_chat_init");
    FZ_CHECK(chaton_chat_init(&t, &pool.a, &oc.w, 0) == CHATON_OK,
             "chat_init");
    FZ_CHECK(chaton_chat_tools(&t, &tt, su->max_call) == CHATON_OK,
             "chat_tools");

    t.prompt_tokens = PROMPT;

    chaton_buf_init(&out, &pool.a, 0);
    t.out = &out;

    if (su->role_first) {
        FZ_CHECK(chaton_chat_event(&t, (const unsigned char *) EV_ROLE,
                                   sizeof(EV_ROLE) - 1) == CHATON_OK,
                 "the role's event");
        written(&out, stream, su, &st, res);
    }

    peak = 0;
    p = in;
    end = in + len;

    for ( ;; ) {
        sep = memchr(p, SEP, end - p);
        evlen = delta_event(ev, su, p, (sep ? sep : end) - p);

        FZ_CHECK(chaton_chat_event(&t, ev, evlen) == CHATON_OK,
                 "a delta event refused: %.*s", (int) evlen, ev);
        FZ_CHECK(fz_chat_resolve(&t, su->with_url) == CHATON_OK,
                 "resolving a picture");
        check_bounded(&t, su);
        written(&out, stream, su, &st, res);

        /*
         * a stream's memory: the call limit and the largest event, not
         * the answer's length (the pool keeps what a growing buffer left)
         */

        peak = evlen > peak ? evlen : peak;

        if (stream) {
            FZ_CHECK(fz_pool_live(&pool)
                     <= 32 * (su->max_call + CHATON_TOOLS_HOLD_MAX
                              + CHATON_SPC_MAX + peak) + 16384,
                     "%zu bytes live (call limit %zu, largest event %zu)",
                     fz_pool_live(&pool), su->max_call, peak);
        }

        if (sep == NULL) {
            break;
        }

        p = sep + 1;
    }

    FZ_CHECK(chaton_chat_event(&t, (const unsigned char *) "[DONE]", 6)
             == CHATON_DONE, "[DONE]");

    /* the end: pictures resolved, held text flushed */

    for (n = 0; ; n++) {
        FZ_CHECK(n < 100000, "completing does not end");
        FZ_CHECK(fz_chat_resolve(&t, su->with_url) == CHATON_OK,
                 "resolving a picture");
        FZ_CHECK(chaton_chat_flush(&t, &out) == CHATON_OK, "chat_flush");

        if (!t.waiting) {
            break;
        }
    }

    FZ_CHECK(t.extract->nhold == 0 && t.text_done,
             "%zu bytes still held after the flush", t.extract->nhold);
    written(&out, stream, su, &st, res);

    res->pictures = t.pictures;

    if (stream) {
        FZ_CHECK(chaton_chat_end(&t, &out) == CHATON_OK, "chat_end");
        check_stream_out(&out, su, &st, res);
        FZ_CHECK(st.done_seen, "no [DONE] at the end");
        FZ_CHECK(out.len >= 14
                 && memcmp(out.data + out.len - 14, "data: [DONE]\n\n", 14)
                    == 0, "the stream does not end with [DONE]");

    } else {
        chaton_buf_init(&whole, &pool.a, 0);
        FZ_CHECK(chaton_chat_end(&t, &whole) == CHATON_OK, "chat_end");
        check_completion(&whole, res);
    }

    FZ_CHECK(res->ncalls == t.extract->ncalls,
             "%zu calls written, %zu made", res->ncalls, t.extract->ncalls);

    fz_pool_release(&pool);
    free(ev);
}


/* ---- against the answer ------------------------------------------------- */


static int
blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/*
 * What begins a call in the answer at s: blanks, maybe a fence's opening
 * line (```, a language word, blanks, a line end), blanks, the marker.
 */

static int
call_starts(const unsigned char *s, size_t len)
{
    size_t  i;

    i = 0;

    while (i < len && blank(s[i])) {
        i++;
    }

    if (len - i >= 3 && memcmp(s + i, "```", 3) == 0) {
        for (i += 3; i < len && chaton_tools_lang(s[i]); i++) { /* void */ }
        while (i < len && blank(s[i])) {
            i++;
        }
    }

    return len - i >= sizeof(MARKER) - 1
           && memcmp(s + i, MARKER, sizeof(MARKER) - 1) == 0;
}


static void
check_answer(const uint8_t *in, size_t len, const result_t *r)
{
    size_t          i, n;
    unsigned char  *answer;

    answer = malloc(len + 1);
    FZ_CHECK(answer != NULL, "out of memory");

    /* the answer is the texts joined; each one's UTF-8 whole */

    n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] != SEP) {
            answer[n++] = in[i];
        }
    }

    if (r->ncalls == 0) {
        if (r->content_len != n || memcmp(r->content, answer, n) != 0) {
            fz_dump("answer", answer, n);
            fz_dump("content", r->content, r->content_len);
            FZ_CHECK(0, "no call, and the content is not the answer");
        }

    } else {
        if (r->content_len > n || memcmp(r->content, answer, r->content_len)
                                  != 0
            || !call_starts(answer + r->content_len, n - r->content_len))
        {
            fz_dump("answer", answer, n);
            fz_dump("content", r->content, r->content_len);
            FZ_CHECK(0, "the content is not the answer up to its first "
                     "call");
        }
    }

    free(answer);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             nul, utf8, blank_text;
    size_t          i, from, max_text;
    setup_t         su;
    result_t        rs, rw;
    const uint8_t  *in;

    if (size < 1) {
        return 0;
    }

    su.lt_escaped = data[0] & 1;
    su.parallel = (data[0] >> 1) & 1;
    su.max_call = ((data[0] >> 2) & 1) ? 65536 : 64;
    su.u_escaped = (data[0] >> 3) & 1;
    su.include_usage = (data[0] >> 4) & 1;
    su.with_free = (data[0] >> 5) & 1;
    su.with_url = (data[0] >> 6) & 1;
    su.role_first = (data[0] >> 7) & 1;

    in = data + 1;
    size--;

    /*
     * The longest text; whether the texts can be compared (no NUL: cJSON's
     * strings end there), and to the answer byte for byte (each text valid
     * UTF-8 by itself: the writer replaces what is not, piece by piece)
     */

    max_text = 0;
    nul = memchr(in, '\0', size) != NULL;
    utf8 = 1;

    for (from = 0, i = 0; i <= size; i++) {
        if (i == size || in[i] == SEP) {
            max_text = (i - from > max_text) ? i - from : max_text;
            utf8 = utf8 && fz_utf8_valid(in + from, i - from);
            from = i + 1;
        }
    }

    run(1, &su, in, size, max_text, &rs);
    run(0, &su, in, size, max_text, &rw);

    /* the same answer either way */

    FZ_CHECK(strcmp(rs.finish, rw.finish) == 0,
             "finish_reason: \"%s\" streamed, \"%s\" whole", rs.finish,
             rw.finish);
    FZ_CHECK(strcmp(rs.finish, rs.ncalls ? "tool_calls" : "stop") == 0,
             "finish_reason \"%s\" after %zu calls", rs.finish, rs.ncalls);
    FZ_CHECK(su.parallel || rs.ncalls <= 1, "%zu calls, parallel calls off",
             rs.ncalls);
    FZ_CHECK(rs.ncalls == rw.ncalls, "%zu calls streamed, %zu whole",
             rs.ncalls, rw.ncalls);
    FZ_CHECK(rs.pictures == rw.pictures, "pictures differ");

    for (i = 0; i < rs.ncalls; i++) {
        FZ_CHECK(strcmp(rs.names[i], rw.names[i]) == 0
                 && strcmp(rs.args[i], rw.args[i]) == 0,
                 "call %zu differs: %s %s streamed, %s %s whole", i,
                 rs.names[i], rs.args[i], rw.names[i], rw.args[i]);
    }

    blank_text = 1;

    for (i = 0; i < rs.content_len; i++) {
        blank_text = blank_text && blank(rs.content[i]);
    }

    if (!nul) {
        FZ_CHECK(rw.content_null == (rs.ncalls && blank_text),
                 "content %s, %zu calls, the text %s",
                 rw.content_null ? "null" : "a string", rs.ncalls,
                 blank_text ? "blank" : "not blank");

        if (!rw.content_null
            && (rw.content_len != rs.content_len
                || memcmp(rw.content, rs.content, rs.content_len) != 0))
        {
            fz_dump("streamed", rs.content, rs.content_len);
            fz_dump("whole", rw.content, rw.content_len);
            FZ_CHECK(0, "the content differs between the modes");
        }

        if (utf8 && rs.pictures == 0) {
            check_answer(in, size, &rs);
        }
    }

    result_free(&rs);
    result_free(&rw);

    return 0;
}
