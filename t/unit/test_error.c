/*
 * chaton_error.h: the one writer of client-visible errors, and the mapping
 * of backend failures to what the client is told.
 */

#include "unit.h"
#include "chaton_error.h"


/* the error as the client sees it: {"error":{message,type,param,code}} */

static cJSON *
render(const chaton_error_t *e)
{
    chaton_buf_t  b;
    cJSON        *j, *o;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_error_json(&b, e), CHATON_OK);
    assert_true(unit_utf8_valid(b.data, b.len));

    j = unit_json(b.data, b.len);
    unit_jkeys_exactly(j, "error", NULL);

    o = cJSON_GetObjectItemCaseSensitive(j, "error");
    unit_jkeys_exactly(o, "message", "type", "param", "code", NULL);
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o,
                                                                "message")));
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "type")));

    return o;
}


static void
test_error_shape(void **state)
{
    cJSON           *o;
    chaton_error_t   e;

    memset(&e, 0, sizeof(e));

    assert_int_equal(chaton_error_set(&e, 400, NULL, NULL, "bad %s #%d",
                                      "thing", 7), CHATON_BAD);
    assert_int_equal(e.status, 400);

    o = render(&e);
    assert_string_equal(unit_jstr(o, "message"), "bad thing #7");
    assert_string_equal(unit_jstr(o, "type"), "invalid_request_error");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "param")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "code")));

    assert_int_equal(chaton_error_set(&e, 404, "model", "model_not_found",
                                      "The model 'x' does not exist"),
                     CHATON_BAD);
    o = render(&e);
    assert_string_equal(unit_jstr(o, "message"),
                        "The model 'x' does not exist");

    /* OpenAI's type for an unknown model (and any 404 of its) */
    assert_string_equal(unit_jstr(o, "type"), "invalid_request_error");
    assert_string_equal(unit_jstr(o, "param"), "model");
    assert_string_equal(unit_jstr(o, "code"), "model_not_found");

    /* an explicit type wins over the one derived from the status */
    e.type = "server_error";
    o = render(&e);
    assert_string_equal(unit_jstr(o, "type"), "server_error");
}


/* a param built on the caller's stack survives the caller */

static UNIT_NOINLINE void
set_with_stack_param(chaton_error_t *e)
{
    char  name[64];

    snprintf(name, sizeof(name), "messages[%d].content[%d]", 12, 3);
    (void) chaton_error_set(e, 400, name, NULL, "bad part");
}


static UNIT_NOINLINE void
clobber_stack(void)
{
    volatile char  junk[4096];

    memset((char *) junk, 'Z', sizeof(junk));
}


static void
test_error_param_copied(void **state)
{
    cJSON           *o;
    chaton_error_t   e;

    memset(&e, 0, sizeof(e));
    set_with_stack_param(&e);
    clobber_stack();

    o = render(&e);
    assert_string_equal(unit_jstr(o, "param"), "messages[12].content[3]");
}


static void
test_error_types(void **state)
{
    size_t           i;
    cJSON           *o;
    chaton_error_t   e;

    static const struct {
        int          status;
        const char  *type;
    } v[] = {
        { 400, "invalid_request_error" },
        { 401, "authentication_error" },
        { 403, "permission_error" },
        { 404, "invalid_request_error" },
        { 413, "invalid_request_error" },
        { 422, "invalid_request_error" },
        { 429, "rate_limit_error" },
        { 500, "server_error" },
        { 502, "upstream_error" },
        { 503, "server_error" },
        { 504, "upstream_error" },
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_string_equal(chaton_error_type(v[i].status), v[i].type);

        memset(&e, 0, sizeof(e));
        chaton_error_set(&e, v[i].status, NULL, NULL, "x");
        o = render(&e);
        assert_string_equal(unit_jstr(o, "type"), v[i].type);
    }
}


static void
test_error_message_escaped(void **state)
{
    cJSON           *o;
    chaton_error_t   e;
    char             big[1000];

    memset(&e, 0, sizeof(e));

    chaton_error_set(&e, 400, "a\"b", "c\\d", "quote \" backslash \\ nl \n "
                     "tab \t ctl \x01 ls \xe2\x80\xa8 end");
    o = render(&e);
    assert_string_equal(unit_jstr(o, "message"), "quote \" backslash \\ nl \n "
                        "tab \t ctl \x01 ls \xe2\x80\xa8 end");
    assert_string_equal(unit_jstr(o, "param"), "a\"b");
    assert_string_equal(unit_jstr(o, "code"), "c\\d");

    /* invalid UTF-8 in a message (a client's model name, say) */
    chaton_error_set(&e, 404, "model", NULL, "The model '%s' is unknown",
                     "gpt\xff\xc3");
    o = render(&e);
    assert_string_equal(unit_jstr(o, "message"),
                        "The model 'gpt\xef\xbf\xbd\xef\xbf\xbd' is unknown");

    /* a message longer than the room for it is cut, still valid */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(chaton_error_set(&e, 400, NULL, NULL, "%s", big),
                     CHATON_BAD);
    assert_int_equal(e.text_len, sizeof(e.buf) - 1);
    o = render(&e);
    assert_int_equal(strlen(unit_jstr(o, "message")), sizeof(e.buf) - 1);
}


static void
test_error_text(void **state)
{
    cJSON           *o;
    chaton_error_t   e;

    memset(&e, 0, sizeof(e));
    chaton_error_set(&e, 400, "x", "y", "old");

    chaton_error_text(&e, 502, "backend_error",
                      (const unsigned char *) "the backend's own words\"xyz",
                      23);
    o = render(&e);
    assert_string_equal(unit_jstr(o, "message"), "the backend's own words");
    assert_string_equal(unit_jstr(o, "type"), "upstream_error");
    assert_string_equal(unit_jstr(o, "code"), "backend_error");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "param")));
    assert_int_equal(e.status, 502);
}


static void
test_error_event(void **state)
{
    chaton_buf_t     b;
    chaton_error_t   e;
    cJSON           *j;

    memset(&e, 0, sizeof(e));
    chaton_error_set(&e, 502, NULL, "backend_error", "line1\nline2");

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_buf_literal(&b, "data: {}\n\n"), CHATON_OK);
    assert_int_equal(chaton_error_event(&b, &e), CHATON_OK);

    /* one SSE event, appended: "data: " JSON "\n\n", no raw newline inside */
    assert_memory_equal(b.data, "data: {}\n\ndata: {\"error\":", 25);
    assert_memory_equal(b.data + b.len - 2, "\n\n", 2);
    assert_null(memchr(b.data + 10, '\n', b.len - 12));

    j = unit_json(b.data + 16, b.len - 18);
    assert_string_equal(unit_jstr(cJSON_GetObjectItemCaseSensitive(j,
                                                                  "error"),
                                  "message"), "line1\nline2");
}


/* ---- backend failures ---------------------------------------------------- */


static cJSON *
backend(int status, int timed_out, const char *body, chaton_error_t *e)
{
    memset(e, 0, sizeof(*e));

    /* left-overs of an earlier error must not survive */
    chaton_error_set(e, 418, "stale", "stale", "stale");

    chaton_error_backend(e, status, timed_out, (const unsigned char *) body,
                         body ? strlen(body) : 0);

    return render(e);
}


static void
test_error_backend_no_answer(void **state)
{
    cJSON           *o;
    chaton_error_t   e;

    o = backend(0, 0, NULL, &e);
    assert_int_equal(e.status, 502);
    assert_true(strlen(unit_jstr(o, "message")) > 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "param")));

    o = backend(0, 1, NULL, &e);
    assert_int_equal(e.status, 504);
    assert_string_equal(unit_jstr(o, "type"), "upstream_error");
    assert_true(strlen(unit_jstr(o, "message")) > 0);
}


static void
test_error_backend_auth(void **state)
{
    int              s;
    char            *text;
    cJSON           *o;
    chaton_error_t   e;

    static const char  body[] =
        "{\"error\":{\"message\":\"invalid signature for key "
        "a2V5LUEgaWQ= (expected Bearer a2V5LUEgaWQ=.sekrit+sig=) "
        "date 2026-11-24T22:31:25Z\"}}";

    for (s = 401; s <= 403; s += 2) {
        o = backend(s, 0, body, &e);

        /* the gateway's problem, not the client's */
        assert_int_equal(e.status, 502);
        assert_string_equal(unit_jstr(o, "type"), "upstream_error");
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o,
                                                                  "param")));

        /* nothing of the backend's answer is echoed */
        text = unit_strn(e.text, e.text_len);
        assert_true(strlen(text) > 0);
        unit_assert_not_contains(text, "signature for");
        unit_assert_not_contains(text, "a2V5");
        unit_assert_not_contains(text, "sekrit");
        unit_assert_not_contains(text, "Bearer");
        unit_assert_not_contains(text, "2026");
    }

    o = backend(401, 0, "Bearer a2V5LUEgaWQ=.sekrit", &e);
    assert_int_equal(e.status, 502);
    unit_assert_not_contains(unit_jstr(o, "message"), "sekrit");
}


static void
test_error_backend_rate_limit(void **state)
{
    cJSON           *o;
    chaton_error_t   e;

    o = backend(429, 0, "{\"error\":\"Too many requests\"}", &e);
    assert_int_equal(e.status, 429);
    assert_string_equal(unit_jstr(o, "type"), "rate_limit_error");
    assert_true(strlen(unit_jstr(o, "message")) > 0);

    o = backend(429, 0, NULL, &e);
    assert_int_equal(e.status, 429);
}


static void
test_error_backend_400(void **state)
{
    size_t           i;
    cJSON           *o;
    chaton_error_t   e;

    static const char  *bodies[] = {
        "{\"error\":{\"message\":\"model is not supported\",\"code\":1}}",
        "{\"error\":\"model is not supported\"}",
        "{\"message\":\"model is not supported\"}",
        "{\"detail\":\"model is not supported\"}",
        "model is not supported",
    };

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        o = backend(400, 0, bodies[i], &e);

        assert_int_equal(e.status, 400);
        assert_string_equal(unit_jstr(o, "type"), "invalid_request_error");
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o,
                                                                  "param")));

        if (strcmp(unit_jstr(o, "message"), "model is not supported") != 0) {
            print_error("from %s: message \"%s\"\n", bodies[i],
                        unit_jstr(o, "message"));
            fail();
        }
    }

    /* other 4xx are the client's too */
    o = backend(422, 0, "{\"detail\":\"unprocessable\"}", &e);
    assert_int_equal(e.status, 400);
    assert_string_equal(unit_jstr(o, "message"), "unprocessable");

    o = backend(404, 0, "{\"error\":{\"message\":\"no such chat\"}}", &e);
    assert_int_equal(e.status, 400);
    assert_string_equal(unit_jstr(o, "message"), "no such chat");
}


static void
test_error_backend_400_without_words(void **state)
{
    size_t           i;
    cJSON           *o;
    chaton_error_t   e;

    static const char  *bodies[] = {
        "", "{}", "{\"error\":{\"code\":1}}", "{\"error\":5}",
        "{\"message\":\"\"}", "[\"x\"]", "\xff\xfe binary",
    };

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        o = backend(400, 0, bodies[i], &e);

        assert_int_equal(e.status, 400);

        /* a message of our own, never empty, never the raw bytes */
        assert_true(strlen(unit_jstr(o, "message")) > 0);
        assert_null(strstr(unit_jstr(o, "message"), "binary"));
        assert_null(strstr(unit_jstr(o, "message"), "stale"));
    }
}


static void
test_error_backend_400_long(void **state)
{
    size_t           i;
    char            *body;
    cJSON           *o;
    chaton_error_t   e;

    /* 3000 bytes of two-byte characters: cut on a character boundary */

    body = unit_mem(3000 + 20);
    strcpy(body, "{\"error\":\"");
    for (i = 0; i < 1500; i++) {
        memcpy(body + 10 + 2 * i, "\xc3\xa9", 2);
    }
    strcpy(body + 3010, "\"}");

    o = backend(400, 0, body, &e);
    assert_int_equal(e.status, 400);
    assert_true(e.text_len < sizeof(e.buf));
    assert_true(e.text_len >= sizeof(e.buf) - 4);
    assert_true(unit_utf8_valid(e.text, e.text_len));
    assert_int_equal(e.text_len % 2, 0);
    assert_int_equal(strlen(unit_jstr(o, "message")), e.text_len);

    /* same, as plain text, with a 3-byte character */
    for (i = 0; i < 1000; i++) {
        memcpy(body + 3 * i, "\xe4\xb8\xad", 3);
    }
    body[3000] = '\0';

    o = backend(400, 0, body, &e);
    assert_true(e.text_len < sizeof(e.buf));
    assert_true(unit_utf8_valid(e.text, e.text_len));
    assert_int_equal(e.text_len % 3, 0);
}


static void
test_error_backend_other(void **state)
{
    size_t           i;
    cJSON           *o;
    chaton_error_t   e;

    static const int  to502[] = { 500, 501, 502, 503, 504, 529, 599, 302,
                                  204 };

    for (i = 0; i < sizeof(to502) / sizeof(to502[0]); i++) {
        o = backend(to502[i], 0, "{\"error\":\"internal details\"}", &e);
        assert_int_equal(e.status, 502);
        assert_string_equal(unit_jstr(o, "type"), "upstream_error");
        assert_null(strstr(unit_jstr(o, "message"), "internal details"));
    }

    o = backend(413, 0, "too big", &e);
    assert_int_equal(e.status, 413);
    assert_true(strlen(unit_jstr(o, "message")) > 0);
}


/* ---- Anthropic's shape ---------------------------------------------------- */


static cJSON *
render_anthropic(const chaton_error_t *e)
{
    chaton_buf_t  b;
    cJSON        *j, *o;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_error_anthropic_json(&b, e), CHATON_OK);
    assert_true(unit_utf8_valid(b.data, b.len));

    j = unit_json(b.data, b.len);
    unit_jkeys_exactly(j, "type", "error", NULL);
    assert_string_equal(unit_jstr(j, "type"), "error");

    o = cJSON_GetObjectItemCaseSensitive(j, "error");
    unit_jkeys_exactly(o, "type", "message", NULL);

    return o;
}


static void
test_error_anthropic_types(void **state)
{
    size_t          i;
    cJSON          *o;
    chaton_error_t  e;

    static const struct {
        int          status;
        int          sent;
        const char  *type;
    } v[] = {
        { 400, 400, "invalid_request_error" },
        { 401, 401, "authentication_error" },
        { 403, 403, "permission_error" },
        { 404, 404, "not_found_error" },
        { 405, 405, "invalid_request_error" },
        { 413, 413, "request_too_large" },
        { 429, 429, "rate_limit_error" },
        { 500, 500, "api_error" },
        { 502, 502, "api_error" },
        { 503, 529, "overloaded_error" },
        { 504, 504, "timeout_error" },
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        chaton_error_set(&e, v[i].status, NULL, "c", "x");
        assert_int_equal(chaton_error_anthropic_status(&e), v[i].sent);
        o = render_anthropic(&e);
        assert_string_equal(unit_jstr(o, "type"), v[i].type);
        assert_string_equal(unit_jstr(o, "message"), "x");
    }

    /* an overloaded backend: 502 for OpenAI's clients, 529 for these */
    chaton_error_backend(&e, 529, 0, NULL, 0);
    assert_int_equal(e.status, 502);
    assert_int_equal(chaton_error_anthropic_status(&e), 529);
    o = render_anthropic(&e);
    assert_string_equal(unit_jstr(o, "type"), "overloaded_error");

    chaton_error_backend(&e, 500, 0, NULL, 0);
    assert_int_equal(chaton_error_anthropic_status(&e), 502);
}


/* no param in Anthropic's shape: the field leads the message */

static void
test_error_anthropic_param(void **state)
{
    cJSON          *o;
    chaton_error_t  e;

    chaton_error_set(&e, 400, "max_tokens", "missing", "Field required");
    o = render_anthropic(&e);
    assert_string_equal(unit_jstr(o, "message"),
                        "max_tokens: Field required");

    /* not twice */
    chaton_error_set(&e, 400, "max_tokens", NULL, "max_tokens: Field "
                     "required");
    o = render_anthropic(&e);
    assert_string_equal(unit_jstr(o, "message"),
                        "max_tokens: Field required");

    /* escaped, both */
    chaton_error_set(&e, 400, "messages[0].\"x", NULL, "a \"b\"\n");
    o = render_anthropic(&e);
    assert_string_equal(unit_jstr(o, "message"),
                        "messages[0].\"x: a \"b\"\n");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_error_shape),
        utest(test_error_param_copied),
        utest(test_error_types),
        utest(test_error_message_escaped),
        utest(test_error_text),
        utest(test_error_event),
        utest(test_error_backend_no_answer),
        utest(test_error_backend_auth),
        utest(test_error_backend_rate_limit),
        utest(test_error_backend_400),
        utest(test_error_backend_400_without_words),
        utest(test_error_backend_400_long),
        utest(test_error_backend_other),
        utest(test_error_anthropic_types),
        utest(test_error_anthropic_param),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
