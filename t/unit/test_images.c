/*
 * chaton_images.h: OpenAI /v1/images/generations body -> ChatOn's image
 * flow (a /chats/stream body), and every refusal (status, "param").
 */

#include "unit.h"
#include "chaton_images.h"


#define LS     "\xe2\x80\xa8"
#define EMOJI  "\xf0\x9f\x98\x80"


static chaton_images_req_t  req;
static chaton_error_t       err;


static int
parse_n(const char *body, size_t len)
{
    memset(&err, 0, sizeof(err));

    return chaton_images_parse(&req, &unit_alloc,
                               (const unsigned char *) body, len, &err);
}

#define parse(s)  parse_n((s), strlen(s))


/* the ChatOn body of an accepted request, parsed back */

#define body_ok(s)  body_ok_at((s), strlen(s), __LINE__)

static cJSON *
body_ok_at(const char *s, size_t len, int line)
{
    chaton_buf_t  b;

    if (parse_n(s, len) != CHATON_OK) {
        print_error("line %d: refused (%d %.*s): %.200s\n", line, err.status,
                    (int) err.text_len, err.text, s);
        fail();
    }

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_images_body(&b, &req), CHATON_OK);
    unit_one_line(&b);

    return unit_json(b.data, b.len);
}


/* a refusal: 400, naming param (NULL: none), with a message */

#define refused(s, param)  refused_at((s), strlen(s), (param), __LINE__)

static void
refused_at(const char *s, size_t len, const char *param, int line)
{
    unit_refusal_at(parse_n(s, len), &err, 400, param, s, line);
}


/* {"prompt": "<n copies of unit>"} */

static char *
prompt_of(const char *unit, size_t n)
{
    size_t  i, u;
    char   *s, *p;

    u = strlen(unit);
    s = unit_mem(n * u + 32);

    p = s + sprintf(s, "{\"prompt\":\"");

    for (i = 0; i < n; i++) {
        memcpy(p, unit, u);
        p += u;
    }

    strcpy(p, "\"}");

    return s;
}


static int
jbool(cJSON *o, const char *k)
{
    cJSON  *v = cJSON_GetObjectItemCaseSensitive(o, k);

    assert_true(cJSON_IsBool(v));

    return cJSON_IsTrue(v);
}


/* ---- the ChatOn body ------------------------------------------------------- */


static void
test_images_body(void **state)
{
    cJSON  *b, *msgs, *m;

    b = body_ok("{\"model\":\"dall-e-3\",\"prompt\":\"a red fox in snow\","
                "\"n\":1,\"size\":\"1024x1024\"}");

    unit_jkeys_exactly(b, "model", "messages", "max_tokens", "source",
                       "function_web_search", "function_image_gen",
                       "function_code_interpreter", "web_search_engine",
                       "image_aspect_ratio", NULL);

    assert_string_equal(unit_jstr(b, "model"), "gpt-4o");
    assert_string_equal(unit_jstr(b, "source"), "chat/pro_image");
    assert_true(jbool(b, "function_image_gen"));
    assert_false(jbool(b, "function_web_search"));
    assert_false(jbool(b, "function_code_interpreter"));
    assert_string_equal(unit_jstr(b, "web_search_engine"), "auto");
    assert_true(unit_jnum(b, "max_tokens") == 8000);
    assert_string_equal(unit_jstr(b, "image_aspect_ratio"), "1:1");

    msgs = cJSON_GetObjectItemCaseSensitive(b, "messages");
    assert_true(cJSON_IsArray(msgs));
    assert_int_equal(cJSON_GetArraySize(msgs), 1);

    m = cJSON_GetArrayItem(msgs, 0);
    unit_jkeys_exactly(m, "role", "content", NULL);
    assert_string_equal(unit_jstr(m, "role"), "user");
    assert_string_equal(unit_jstr(m, "content"), "Draw: a red fox in snow");

    /* what the request carried */
    assert_int_equal(req.n, 1);
    assert_false(req.b64);
    assert_null(req.style);
    assert_int_equal(req.model_len, 8);
    assert_memory_equal(req.model, "dall-e-3", 8);
    assert_int_equal(req.prompt_len, 17);
    assert_memory_equal(req.prompt, "a red fox in snow", 17);

    /* the fewest fields: the defaults */

    b = body_ok("{\"prompt\":\"x\"}");
    assert_string_equal(unit_jstr(b, "model"), "gpt-4o");
    assert_string_equal(unit_jstr(b, "image_aspect_ratio"), "1:1");
    assert_null(cJSON_GetObjectItemCaseSensitive(b, "image_style"));
    assert_int_equal(req.n, 1);
    assert_false(req.b64);
    assert_null(req.model);
    assert_null(req.style);

    /* nulls are defaults too */

    b = body_ok("{\"prompt\":\"x\",\"model\":null,\"n\":null,\"size\":null,"
                "\"style\":null,\"response_format\":null,\"user\":\"u-1\","
                "\"quality\":\"hd\"}");
    assert_string_equal(unit_jstr(b, "image_aspect_ratio"), "1:1");
    assert_null(cJSON_GetObjectItemCaseSensitive(b, "image_style"));
    assert_int_equal(req.n, 1);
}


static void
test_images_body_escaping(void **state)
{
    size_t       i;
    cJSON       *b, *m;
    char        *body, *want;

    static const char  *prompt[] = {
        "He said \"draw\"",
        "back\\slash and /slash",
        "line1\nline2\r\ttab",
        LS " and \xe2\x80\xa9",
        "\x01\x1f control",
        "</script><!--",
        "caf\xc3\xa9 \xe4\xb8\xad " EMOJI,
        "{\"json\":[1]}",
    };

    for (i = 0; i < sizeof(prompt) / sizeof(prompt[0]); i++) {

        /* the request encoded by cJSON, independently of the core */
        {
            cJSON  *r = cJSON_CreateObject();
            char   *s;

            cJSON_AddStringToObject(r, "prompt", prompt[i]);
            cJSON_AddStringToObject(r, "style", prompt[i]);
            s = cJSON_PrintUnformatted(r);
            cJSON_Delete(r);
            body = unit_strn(s, strlen(s));
            free(s);
        }

        b = body_ok(body);

        m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b,
                                                                "messages"),
                               0);

        want = unit_mem(strlen(prompt[i]) + 8);
        sprintf(want, "Draw: %s", prompt[i]);
        assert_string_equal(unit_jstr(m, "content"), want);

        assert_string_equal(unit_jstr(b, "image_style"), prompt[i]);
    }

    /* \u escapes in the request come out as the characters */
    b = body_ok("{\"prompt\":\"\\u00e9\\ud83d\\ude00\\u2028\"}");
    m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "messages"),
                           0);
    assert_string_equal(unit_jstr(m, "content"),
                        "Draw: \xc3\xa9" EMOJI LS);
}


static void
test_images_sizes(void **state)
{
    size_t   i;
    char     body[128];
    cJSON   *b;

    /* as the protocol document says */

    static const struct {
        const char  *size;
        const char  *aspect;
    } v[] = {
        { "256x256", "1:1" },
        { "512x512", "1:1" },
        { "1024x1024", "1:1" },
        { "auto", "1:1" },
        { "1792x1024", "16:9" },
        { "1536x1024", "16:9" },
        { "1024x1792", "9:16" },
        { "1024x1536", "9:16" },
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        sprintf(body, "{\"prompt\":\"p\",\"size\":\"%s\"}", v[i].size);
        b = body_ok(body);

        assert_string_equal(unit_jstr(b, "image_aspect_ratio"), v[i].aspect);
        assert_string_equal(req.aspect, v[i].aspect);
    }

    /* no size */
    b = body_ok("{\"prompt\":\"p\"}");
    assert_string_equal(unit_jstr(b, "image_aspect_ratio"), "1:1");

    /* unknown ones */
    refused("{\"prompt\":\"p\",\"size\":\"1024x768\"}", "size");
    refused("{\"prompt\":\"p\",\"size\":\"1024X1024\"}", "size");
    refused("{\"prompt\":\"p\",\"size\":\"1024x1024 \"}", "size");
    refused("{\"prompt\":\"p\",\"size\":\"AUTO\"}", "size");
    refused("{\"prompt\":\"p\",\"size\":\"\"}", "size");
    refused("{\"prompt\":\"p\",\"size\":\"16:9\"}", "size");
    refused("{\"prompt\":\"p\",\"size\":1024}", "size");
    refused("{\"prompt\":\"p\",\"size\":[1024,1024]}", "size");
    refused("{\"prompt\":\"p\",\"size\":true}", "size");

    /* the size named in the message is cut short, and quoted safely */
    refused("{\"prompt\":\"p\",\"size\":\"\\\"<>xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
            "size");
}


static void
test_images_style(void **state)
{
    cJSON  *b;

    b = body_ok("{\"prompt\":\"p\",\"style\":\"vivid\"}");
    assert_string_equal(unit_jstr(b, "image_style"), "vivid");

    b = body_ok("{\"prompt\":\"p\",\"style\":\"natural\",\"size\":"
                "\"1792x1024\"}");
    assert_string_equal(unit_jstr(b, "image_style"), "natural");
    assert_string_equal(unit_jstr(b, "image_aspect_ratio"), "16:9");
    unit_jkeys_exactly(b, "model", "messages", "max_tokens", "source",
                       "function_web_search", "function_image_gen",
                       "function_code_interpreter", "web_search_engine",
                       "image_aspect_ratio", "image_style", NULL);

    b = body_ok("{\"prompt\":\"p\",\"style\":\"anime\"}");
    assert_string_equal(unit_jstr(b, "image_style"), "anime");

    /* not given: not sent */
    b = body_ok("{\"prompt\":\"p\"}");
    assert_false(cJSON_HasObjectItem(b, "image_style"));

    refused("{\"prompt\":\"p\",\"style\":5}", "style");
    refused("{\"prompt\":\"p\",\"style\":true}", "style");
    refused("{\"prompt\":\"p\",\"style\":[\"vivid\"]}", "style");
    refused("{\"prompt\":\"p\",\"style\":{\"a\":1}}", "style");
    refused("{\"prompt\":\"p\",\"style\":\"\"}", "style");

    /* a short string: 64 bytes at most */
    {
        char  body[128];

        sprintf(body, "{\"prompt\":\"p\",\"style\":\"%064d\"}", 0);
        b = body_ok(body);
        assert_int_equal(strlen(unit_jstr(b, "image_style")), 64);

        sprintf(body, "{\"prompt\":\"p\",\"style\":\"%065d\"}", 0);
        refused(body, "style");
    }
}


static void
test_images_n_and_format(void **state)
{
    size_t  i;
    char    body[64];

    for (i = 1; i <= 10; i++) {
        sprintf(body, "{\"prompt\":\"p\",\"n\":%zu}", i);
        (void) body_ok(body);
        assert_int_equal(req.n, i);
    }

    (void) body_ok("{\"prompt\":\"p\",\"n\":2.0}");
    assert_int_equal(req.n, 2);

    (void) body_ok("{\"prompt\":\"p\",\"n\":1e1}");
    assert_int_equal(req.n, 10);

    refused("{\"prompt\":\"p\",\"n\":0}", "n");
    refused("{\"prompt\":\"p\",\"n\":11}", "n");
    refused("{\"prompt\":\"p\",\"n\":-1}", "n");
    refused("{\"prompt\":\"p\",\"n\":1.5}", "n");
    refused("{\"prompt\":\"p\",\"n\":0.999}", "n");
    refused("{\"prompt\":\"p\",\"n\":1e300}", "n");
    refused("{\"prompt\":\"p\",\"n\":\"2\"}", "n");
    refused("{\"prompt\":\"p\",\"n\":true}", "n");
    refused("{\"prompt\":\"p\",\"n\":[2]}", "n");

    (void) body_ok("{\"prompt\":\"p\",\"response_format\":\"url\"}");
    assert_false(req.b64);
    (void) body_ok("{\"prompt\":\"p\",\"response_format\":\"b64_json\"}");
    assert_true(req.b64);

    refused("{\"prompt\":\"p\",\"response_format\":\"png\"}",
            "response_format");
    refused("{\"prompt\":\"p\",\"response_format\":\"URL\"}",
            "response_format");
    refused("{\"prompt\":\"p\",\"response_format\":\"b64\"}",
            "response_format");
    refused("{\"prompt\":\"p\",\"response_format\":\"\"}", "response_format");
    refused("{\"prompt\":\"p\",\"response_format\":1}", "response_format");
    refused("{\"prompt\":\"p\",\"response_format\":true}", "response_format");

    refused("{\"prompt\":\"p\",\"model\":5}", "model");
    refused("{\"prompt\":\"p\",\"model\":[\"dall-e-3\"]}", "model");
}


/* GPT image models answer base64 whatever response_format says */

static void
test_images_gpt_image_b64(void **state)
{
    size_t  i;

    static const char  *b64[] = {
        "{\"prompt\":\"p\",\"model\":\"gpt-image-1\"}",
        "{\"prompt\":\"p\",\"model\":\"gpt-image-1\","
        "\"response_format\":\"url\"}",
        "{\"prompt\":\"p\",\"model\":\"GPT-Image-1\","
        "\"response_format\":null}",
        "{\"prompt\":\"p\",\"model\":\"gpt-image-1-mini\"}",
        "{\"prompt\":\"p\",\"model\":\"chatgpt-image-latest\","
        "\"response_format\":\"url\"}",
        "{\"prompt\":\"p\",\"model\":\"gpt-image-1\","
        "\"response_format\":\"b64_json\"}",
    };

    static const char  *url[] = {
        "{\"prompt\":\"p\",\"model\":\"dall-e-3\"}",
        "{\"prompt\":\"p\",\"model\":\"gpt-4o\"}",
        "{\"prompt\":\"p\",\"model\":\"gpt-image-\"}",
        "{\"prompt\":\"p\",\"model\":\"gpt-image\"}",
        "{\"prompt\":\"p\",\"model\":\"my-gpt-image-1\"}",
        "{\"prompt\":\"p\"}",
    };

    for (i = 0; i < sizeof(b64) / sizeof(b64[0]); i++) {
        (void) body_ok(b64[i]);

        if (!req.b64) {
            print_error("not b64_json: %s\n", b64[i]);
            fail();
        }
    }

    for (i = 0; i < sizeof(url) / sizeof(url[0]); i++) {
        (void) body_ok(url[i]);

        if (req.b64) {
            print_error("not url: %s\n", url[i]);
            fail();
        }
    }

    /* a bad response_format is still refused */
    refused("{\"prompt\":\"p\",\"model\":\"gpt-image-1\","
            "\"response_format\":\"png\"}", "response_format");
}


/* ---- the prompt ------------------------------------------------------------ */


static void
test_images_prompt(void **state)
{
    cJSON           *b, *m;
    chaton_error_t   missing;

    refused("{}", "prompt");
    refused("{\"n\":1}", "prompt");
    refused("{\"prompt\":null}", "prompt");
    refused("{\"prompt\":\"\"}", "prompt");

    /* white space only: the same refusal as a missing prompt */
    refused("{}", "prompt");
    missing = err;
    refused("{\"prompt\":\"   \"}", "prompt");
    assert_int_equal(err.status, missing.status);
    assert_null(err.code);
    assert_null(missing.code);
    refused("{\"prompt\":\" \\t\\r\\n \"}", "prompt");
    (void) body_ok("{\"prompt\":\"  a  \"}");

    refused("{\"prompt\":5}", "prompt");
    refused("{\"prompt\":true}", "prompt");
    refused("{\"prompt\":[\"a\"]}", "prompt");
    refused("{\"prompt\":{\"text\":\"a\"}}", "prompt");
    refused("{\"Prompt\":\"a\"}", "prompt");

    /* 4000 characters; characters, not bytes */

    (void) body_ok(prompt_of("a", CHATON_IMAGES_MAX_PROMPT));
    assert_int_equal(req.prompt_len, CHATON_IMAGES_MAX_PROMPT);
    refused(prompt_of("a", CHATON_IMAGES_MAX_PROMPT + 1), "prompt");
    assert_string_equal(err.code, "string_above_max_length");

    b = body_ok(prompt_of("\xc3\xa9", CHATON_IMAGES_MAX_PROMPT));
    assert_int_equal(req.prompt_len, 2 * CHATON_IMAGES_MAX_PROMPT);
    m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "messages"),
                           0);
    assert_int_equal(strlen(unit_jstr(m, "content")),
                     6 + 2 * CHATON_IMAGES_MAX_PROMPT);

    (void) body_ok(prompt_of("\xe4\xb8\xad", CHATON_IMAGES_MAX_PROMPT));
    (void) body_ok(prompt_of(EMOJI, CHATON_IMAGES_MAX_PROMPT));
    refused(prompt_of("\xc3\xa9", CHATON_IMAGES_MAX_PROMPT + 1), "prompt");
    refused(prompt_of(EMOJI, CHATON_IMAGES_MAX_PROMPT + 1), "prompt");

    /* an escape is one character */
    (void) body_ok(prompt_of("\\u00e9", CHATON_IMAGES_MAX_PROMPT));
    refused(prompt_of("\\n", CHATON_IMAGES_MAX_PROMPT + 1), "prompt");
}


/* ---- bodies that are not a JSON object ------------------------------------- */


static void
test_images_not_json(void **state)
{
    size_t  i;

    static const char  *bad[] = {
        "{", "{\"prompt\":", "{\"prompt\":\"a\"", "not json",
        "{'prompt':'a'}", "{\"prompt\":\"a\",}", "[]",
        "[{\"prompt\":\"a\"}]", "\"prompt\"", "null", "42", "true",
        "prompt=a", "   ",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        refused(bad[i], NULL);
    }

    /* empty, a NUL byte, a \u0000 escape, bad UTF-8 */
    refused_at("", 0, NULL, __LINE__);
    refused_at("{\"prompt\":\"a\0b\"}", 16, NULL, __LINE__);
    refused("{\"prompt\":\"a\\u0000b\"}", NULL);
    refused("{\"prompt\":\"\xc3\"}", NULL);
    refused("{\"prompt\":\"\xed\xa0\x80\"}", NULL);

    /* only len bytes are read */
    (void) body_ok_at("{\"prompt\":\"a\"}garbage", 14, __LINE__);
}


/* more after the object: not JSON either (as /v1/chat/completions says) */

static void
test_images_trailing_data(void **state)
{
    refused("{\"prompt\":\"a\"} x", NULL);
    refused("{\"prompt\":\"a\"}}", NULL);
    refused("{\"prompt\":\"a\"}{\"prompt\":\"b\"}", NULL);
}


/* ---- allocation failures --------------------------------------------------- */


static void
test_images_alloc_failures(void **state)
{
    int                  rc, ok;
    size_t               limit;
    unit_pool_t          p;
    chaton_alloc_t       a;
    chaton_buf_t         b;
    chaton_images_req_t  r;
    chaton_error_t       e;

    static const char    body[] = "{\"prompt\":\"a fox\",\"model\":"
                                  "\"dall-e-3\",\"style\":\"vivid\","
                                  "\"size\":\"auto\"}";

    ok = 0;

    for (limit = 0; limit < 16 && !ok; limit++) {
        unit_pool_init(&p);
        p.limit = limit;
        a = unit_allocator(&p, 1);

        rc = chaton_images_parse(&r, &a, (const unsigned char *) body,
                                 sizeof(body) - 1, &e);

        if (rc == CHATON_OK) {
            chaton_buf_init(&b, &a, 0);
            rc = chaton_images_body(&b, &r);
        }

        if (rc == CHATON_OK) {
            ok = 1;
            unit_json(b.data, b.len);

        } else {
            assert_int_equal(rc, CHATON_ERROR);
            assert_true(p.failed > 0);
        }

        unit_pool_release(&p);
    }

    assert_true(ok);
    assert_true(limit > 1);
}


/* the answer, put together from its pieces as the route does */

static void
test_images_answer(void **state)
{
    cJSON         *j, *d;
    chaton_buf_t   b;

    chaton_buf_init(&b, &unit_alloc, 0);

    assert_int_equal(chaton_images_answer_head(&b, 1700000000), CHATON_OK);
    assert_int_equal(chaton_images_answer_url(&b, 0,
                         (const unsigned char *) "https://x/a\"b.png", 17),
                     CHATON_OK);
    assert_int_equal(chaton_images_answer_url(&b, 1,
                         (const unsigned char *) "https://x/c.png", 15),
                     CHATON_OK);
    assert_int_equal(chaton_images_answer_end(&b), CHATON_OK);

    j = unit_json(b.data, b.len);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "created")
                         ->valuedouble, 1700000000);
    d = cJSON_GetObjectItemCaseSensitive(j, "data");
    assert_int_equal(cJSON_GetArraySize(d), 2);
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(d, 0), "url"),
                        "https://x/a\"b.png");
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(d, 1), "url"),
                        "https://x/c.png");

    b.len = 0;

    assert_int_equal(chaton_images_answer_head(&b, 1), CHATON_OK);
    assert_int_equal(chaton_images_answer_b64_open(&b, 0), CHATON_OK);
    assert_int_equal(chaton_buf_literal(&b, "QUJD"), CHATON_OK);
    assert_int_equal(chaton_images_answer_b64_close(&b), CHATON_OK);
    assert_int_equal(chaton_images_answer_b64_open(&b, 1), CHATON_OK);
    assert_int_equal(chaton_buf_literal(&b, "REVG"), CHATON_OK);
    assert_int_equal(chaton_images_answer_b64_close(&b), CHATON_OK);
    assert_int_equal(chaton_images_answer_end(&b), CHATON_OK);

    j = unit_json(b.data, b.len);
    d = cJSON_GetObjectItemCaseSensitive(j, "data");
    assert_int_equal(cJSON_GetArraySize(d), 2);
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(d, 0), "b64_json"),
                        "QUJD");
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(d, 1), "b64_json"),
                        "REVG");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_images_body),
        utest(test_images_answer),
        utest(test_images_body_escaping),
        utest(test_images_sizes),
        utest(test_images_style),
        utest(test_images_n_and_format),
        utest(test_images_gpt_image_b64),
        utest(test_images_prompt),
        utest(test_images_not_json),
        utest(test_images_trailing_data),
        utest(test_images_alloc_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
