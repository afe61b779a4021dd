/*
 * chaton_request.h: OpenAI /v1/chat/completions body -> ChatOn
 * /chats/stream body, and every refusal on the way (status, the field
 * named in "param", a message).
 */

#include "unit.h"
#include "chaton_request.h"


#define LS  "\xe2\x80\xa8"


#define UNIT_PARSE       chaton_chat_parse
#define UNIT_MAX_IMAGES  8
#include "parse.h"

#define rtest(f)  ptest(f)


/* parses a body that must be accepted; the ChatOn body, parsed */

#define body_ok(s)  body_ok_at((s), __LINE__)

static cJSON *
body_ok_at(const char *s, int line)
{
    chaton_buf_t  b;

    if (parse(s) != CHATON_OK) {
        print_error("line %d: refused (%d %.*s): %s\n", line, err.status,
                    (int) err.text_len, err.text, s);
        fail();
    }

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_chat_body(&b, &req), CHATON_OK);
    unit_one_line(&b);

    return unit_json(b.data, b.len);
}


static cJSON *
body_json(void)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_chat_body(&b, &req), CHATON_OK);

    return unit_json(b.data, b.len);
}


static cJSON *
msgs(cJSON *body)
{
    cJSON  *m;

    m = cJSON_GetObjectItemCaseSensitive(body, "messages");
    assert_true(cJSON_IsArray(m));

    return m;
}


static cJSON *
msg(cJSON *body, int i)
{
    cJSON  *m;

    m = cJSON_GetArrayItem(msgs(body), i);
    assert_true(cJSON_IsObject(m));

    return m;
}


static int
jtrue(cJSON *o, const char *k)
{
    cJSON  *v = cJSON_GetObjectItemCaseSensitive(o, k);

    assert_true(cJSON_IsBool(v));

    return cJSON_IsTrue(v);
}


/* ---- the seed example and the happy paths ---------------------------------- */


static void
test_request_seed(void **state)
{
    cJSON  *b, *m;

    b = body_ok("{\"stream\":false,\"messages\":[{\"role\":\"user\","
                "\"content\":\"hello\"}],\"model\":\"gpt-4o\"}");

    unit_jkeys_exactly(b, "model", "messages", "max_tokens", "source",
                       "function_web_search", "function_image_gen",
                       "function_code_interpreter", "web_search_engine",
                       NULL);

    assert_string_equal(unit_jstr(b, "model"), "gpt-4o");

    assert_int_equal(cJSON_GetArraySize(msgs(b)), 1);
    m = msg(b, 0);
    unit_jkeys_exactly(m, "role", "content", NULL);
    assert_string_equal(unit_jstr(m, "role"), "user");
    assert_string_equal(unit_jstr(m, "content"), "hello");

    assert_true(unit_jnum(b, "max_tokens") == 8000);
    assert_string_equal(unit_jstr(b, "source"), "chat/free");
    assert_false(jtrue(b, "function_web_search"));
    assert_false(jtrue(b, "function_image_gen"));
    assert_false(jtrue(b, "function_code_interpreter"));
    assert_string_equal(unit_jstr(b, "web_search_engine"), "auto");

    /* what the module reads from the request */
    assert_false(req.stream);
    assert_false(req.include_usage);
    assert_int_equal(req.model_len, 6);
    assert_memory_equal(req.model, "gpt-4o", 6);
    assert_string_equal(req.entry->backend, "gpt-4o");
    assert_int_equal(req.nmessages, 1);
    assert_int_equal(req.nimages, 0);
}


static void
test_request_content_parts_flattened(void **state)
{
    cJSON  *b, *m;

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                "\"content\":[{\"type\":\"text\",\"text\":\"Describe\"},"
                "{\"type\":\"text\",\"text\":\"this  \"},"
                "{\"type\":\"input_text\",\"text\":\"please\\n\"}]}]}");

    m = msg(b, 0);
    unit_jkeys_exactly(m, "role", "content", NULL);
    assert_string_equal(unit_jstr(m, "content"), "Describe this   please\n");
    assert_string_equal(unit_jstr(b, "source"), "chat/free");
}


static void
test_request_image_urls(void **state)
{
    cJSON  *b, *m, *imgs, *img;

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":["
                "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                "{\"role\":\"user\",\"content\":["
                "{\"type\":\"text\",\"text\":\"What is this?\"},"
                "{\"type\":\"image_url\",\"image_url\":{\"url\":"
                "\"https://img.example/a%20b/c.png?X-Amz-Signature=ab%2B/c=&"
                "d=1\",\"detail\":\"high\"}}]}]}");

    assert_string_equal(unit_jstr(b, "source"), "chat/image_upload");

    /* the system message has no images key */
    unit_jkeys_exactly(msg(b, 0), "role", "content", NULL);

    m = msg(b, 1);
    unit_jkeys_exactly(m, "role", "content", "images", NULL);
    assert_string_equal(unit_jstr(m, "content"), "What is this?");

    imgs = cJSON_GetObjectItemCaseSensitive(m, "images");
    assert_int_equal(cJSON_GetArraySize(imgs), 1);
    img = cJSON_GetArrayItem(imgs, 0);
    unit_jkeys_exactly(img, "data", NULL);
    assert_string_equal(unit_jstr(img, "data"),
                        "https://img.example/a%20b/c.png?X-Amz-Signature="
                        "ab%2B/c=&d=1");

    assert_int_equal(req.nimages, 1);
    assert_null(req.images[0].data);

    /* the lax form (a bare string) and an upper-case scheme; an image-only
       message has empty content and is kept */

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                "\"content\":[{\"type\":\"image_url\",\"image_url\":"
                "\"HTTP://x.example/1.jpg\"}]}]}");

    m = msg(b, 0);
    assert_string_equal(unit_jstr(m, "content"), "");
    img = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "images"),
                             0);
    assert_string_equal(unit_jstr(img, "data"), "HTTP://x.example/1.jpg");
    assert_string_equal(unit_jstr(b, "source"), "chat/image_upload");
}


/* images of several messages land in the right messages, in order */

static void
test_request_images_many(void **state)
{
    int          i, k;
    cJSON       *b, *imgs;
    char         url[64];

    static const int  per[] = { 2, 0, 3, 1 };

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":["
        "{\"role\":\"user\",\"content\":["
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/0\"}},"
          "{\"type\":\"text\",\"text\":\"m0\"},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/1\"}}]},"
        "{\"role\":\"assistant\",\"content\":\"m1\"},"
        "{\"role\":\"user\",\"content\":["
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/2\"}},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/3\"}},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/4\"}},"
          "{\"type\":\"text\",\"text\":\"m2\"}]},"
        "{\"role\":\"user\",\"content\":["
          "{\"type\":\"text\",\"text\":\"  \"},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/5\"}}]}"
        "]}");

    assert_int_equal(req.nimages, 6);
    assert_int_equal(cJSON_GetArraySize(msgs(b)), 4);

    k = 0;

    for (i = 0; i < 4; i++) {
        imgs = cJSON_GetObjectItemCaseSensitive(msg(b, i), "images");

        if (per[i] == 0) {
            assert_null(imgs);
            continue;
        }

        assert_int_equal(cJSON_GetArraySize(imgs), per[i]);

        for (int j = 0; j < per[i]; j++, k++) {
            snprintf(url, sizeof(url), "https://i/%d", k);
            assert_string_equal(unit_jstr(cJSON_GetArrayItem(imgs, j),
                                          "data"), url);
        }
    }

    assert_string_equal(unit_jstr(msg(b, 0), "content"), "m0");
    assert_string_equal(unit_jstr(msg(b, 2), "content"), "m2");
    assert_string_equal(unit_jstr(msg(b, 3), "content"), "  ");
}


static void
test_request_data_urls(void **state)
{
    cJSON  *b, *imgs;

    static const unsigned char  png[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
        0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52
    };

    assert_int_equal(parse(
        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"look\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/jpg;base64,/9j/4AAQSkZJRg==\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"https://x.example/y.webp\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"DATA:IMAGE/GIF;BASE64,R0lGODlhAQA=\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/webp;base64,UklGRgAAAABXRUJQ\"}}"
        "]}]}"), CHATON_OK);

    assert_int_equal(req.nimages, 5);

    assert_string_equal(req.images[0].mime, "image/png");
    assert_string_equal(req.images[0].ext, "png");
    assert_int_equal(req.images[0].data_len, sizeof(png));
    assert_memory_equal(req.images[0].data, png, sizeof(png));
    assert_null(req.images[0].url);

    assert_string_equal(req.images[1].mime, "image/jpeg");
    assert_string_equal(req.images[1].ext, "jpg");
    assert_int_equal(req.images[1].data_len, 10);
    assert_memory_equal(req.images[1].data,
                        "\xff\xd8\xff\xe0\x00\x10JFIF", 10);

    assert_null(req.images[2].data);
    assert_int_equal(req.images[2].url_len, strlen("https://x.example/y.webp"));
    assert_memory_equal(req.images[2].url, "https://x.example/y.webp",
                        req.images[2].url_len);

    assert_string_equal(req.images[3].mime, "image/gif");
    assert_string_equal(req.images[3].ext, "gif");
    assert_int_equal(req.images[3].data_len, 8);
    assert_memory_equal(req.images[3].data, "GIF89a\x01\x00", 8);

    assert_string_equal(req.images[4].mime, "image/webp");
    assert_string_equal(req.images[4].ext, "webp");
    assert_int_equal(req.images[4].data_len, 12);
    assert_memory_equal(req.images[4].data, "RIFF\0\0\0\0WEBP", 12);

    /* the uploads fill in the URLs; then the body is written */

    req.images[0].url = (const unsigned char *) "https://s.example/0.png";
    req.images[0].url_len = strlen("https://s.example/0.png");
    req.images[1].url = (const unsigned char *) "https://s.example/1.jpg";
    req.images[1].url_len = strlen("https://s.example/1.jpg");
    req.images[3].url = (const unsigned char *) "https://s.example/3.gif";
    req.images[3].url_len = strlen("https://s.example/3.gif");
    req.images[4].url = (const unsigned char *) "https://s.example/4.webp";
    req.images[4].url_len = strlen("https://s.example/4.webp");

    b = body_json();
    assert_string_equal(unit_jstr(b, "source"), "chat/image_upload");
    imgs = cJSON_GetObjectItemCaseSensitive(msg(b, 0), "images");
    assert_int_equal(cJSON_GetArraySize(imgs), 5);
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(imgs, 0), "data"),
                        "https://s.example/0.png");
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(imgs, 1), "data"),
                        "https://s.example/1.jpg");
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(imgs, 2), "data"),
                        "https://x.example/y.webp");
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(imgs, 4), "data"),
                        "https://s.example/4.webp");
    assert_string_equal(unit_jstr(msg(b, 0), "content"), "look");
}


static void
test_request_blank_messages_dropped(void **state)
{
    cJSON  *b;

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":["
                "{\"role\":\"system\",\"content\":\"\"},"
                "{\"role\":\"user\",\"content\":\" \\n\\t\\r \"},"
                "{\"role\":\"assistant\",\"content\":\"  hi  \"},"
                "{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                "\"text\":\" \"},{\"type\":\"text\",\"text\":\"\"}]},"
                "{\"role\":\"assistant\",\"content\":null},"
                "{\"role\":\"user\",\"content\":\"\\n x\\n\"}]}");

    /* kept: exactly as sent, not trimmed */
    assert_int_equal(cJSON_GetArraySize(msgs(b)), 2);
    assert_string_equal(unit_jstr(msg(b, 0), "role"), "assistant");
    assert_string_equal(unit_jstr(msg(b, 0), "content"), "  hi  ");
    assert_string_equal(unit_jstr(msg(b, 1), "role"), "user");
    assert_string_equal(unit_jstr(msg(b, 1), "content"), "\n x\n");
    assert_int_equal(req.nmessages, 2);
}


/*
 * Content is sent as the client gave it, not trimmed (README says why): a
 * pasted block keeps the indentation of its first line, a prompt its
 * trailing newline.
 */

static void
test_request_content_untrimmed(void **state)
{
    cJSON  *b;

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":["
                "{\"role\":\"system\",\"content\":\"\\n  be brief \"},"
                "{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                "\"text\":\"    def f():\\n        pass\\n\"}]},"
                "{\"role\":\"assistant\",\"content\":\"\\tok\\t\"},"
                "{\"role\":\"user\",\"content\":\"Answer:\\n\\n\"}]}");

    assert_string_equal(unit_jstr(msg(b, 0), "content"), "\n  be brief ");
    assert_string_equal(unit_jstr(msg(b, 1), "content"),
                        "    def f():\n        pass\n");
    assert_string_equal(unit_jstr(msg(b, 2), "content"), "\tok\t");
    assert_string_equal(unit_jstr(msg(b, 3), "content"), "Answer:\n\n");
}


static void
test_request_roles(void **state)
{
    int     found;
    char   *text;
    cJSON  *b;

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":["
                "{\"role\":\"developer\",\"content\":\"dev\"},"
                "{\"role\":\"system\",\"content\":\"sys\"},"
                "{\"role\":\"user\",\"content\":\"u\",\"name\":\"bob\"},"
                "{\"role\":\"assistant\",\"content\":\"a\","
                "\"reasoning_content\":\"thought\",\"name\":\"bot\","
                "\"refusal\":null,\"tool_calls\":[],\"audio\":null,"
                "\"images\":[{\"data\":\"https://evil/\"}]},"
                "{\"role\":\"user\",\"content\":\"u2\"}]}");

    assert_int_equal(cJSON_GetArraySize(msgs(b)), 5);

    assert_string_equal(unit_jstr(msg(b, 0), "role"), "system");
    assert_string_equal(unit_jstr(msg(b, 0), "content"), "dev");
    assert_string_equal(unit_jstr(msg(b, 1), "role"), "system");
    assert_string_equal(unit_jstr(msg(b, 2), "role"), "user");

    /* only role and content are sent, whatever else the client had */
    unit_jkeys_exactly(msg(b, 2), "role", "content", NULL);
    unit_jkeys_exactly(msg(b, 3), "role", "content", NULL);
    assert_string_equal(unit_jstr(msg(b, 3), "role"), "assistant");
    assert_string_equal(unit_jstr(msg(b, 3), "content"), "a");

    text = cJSON_PrintUnformatted(b);
    assert_non_null(text);
    found = strstr(text, "thought") || strstr(text, "bob")
            || strstr(text, "evil") || strstr(text, "refusal");
    free(text);
    assert_false(found);

    assert_string_equal(unit_jstr(b, "source"), "chat/free");
}


static void
test_request_aliases(void **state)
{
    size_t  i;
    cJSON  *b;
    char    body[256];

    static const struct {
        const char  *client;
        const char  *backend;
    } v[] = {
        { "gpt-4o", "gpt-4o" },
        { "gpt-4o-mini", "gpt-4o-mini" },
        { "claude-3-5-sonnet", "claude-3-5-sonnet" },
        { "claude-3-7-sonnet", "claude-3-7-sonnet" },
        { "claude", "claude" },
        { "deepseek-r1", "deepseek-r1" },
        { "sonar-reasoning-pro", "sonar-reasoning-pro" },
        { "claude-3.5-sonnet", "claude-3-5-sonnet" },
        { "claude-3.7-sonnet", "claude-3-7-sonnet" },
        { "claude-3-haiku", "claude" },
        { "gpt 4o", "gpt-4o" },
        { "GPT-4O", "gpt-4o" },
        { "Gpt-4o-Mini", "gpt-4o-mini" },
        { "Claude-3.5-Sonnet", "claude-3-5-sonnet" },
        { "CLAUDE-3-HAIKU", "claude" },
        { "GPT 4O", "gpt-4o" },
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        snprintf(body, sizeof(body), "{\"model\":\"%s\",\"messages\":[{"
                 "\"role\":\"user\",\"content\":\"hi\"}]}", v[i].client);

        b = body_ok(body);
        assert_string_equal(unit_jstr(b, "model"), v[i].backend);

        /* the client's own name is kept, for the answer */
        assert_int_equal(req.model_len, strlen(v[i].client));
        assert_memory_equal(req.model, v[i].client, req.model_len);
    }
}


static void
test_request_max_tokens(void **state)
{
    cJSON  *b;

    b = body_ok("{\"model\":\"gpt-4o\",\"max_tokens\":100,\"messages\":[{"
                "\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(unit_jnum(b, "max_tokens") == 100);

    b = body_ok("{\"model\":\"gpt-4o\",\"max_completion_tokens\":300,"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(unit_jnum(b, "max_tokens") == 300);

    /* both: the newer name wins, in either order */

    b = body_ok("{\"model\":\"gpt-4o\",\"max_tokens\":100,"
                "\"max_completion_tokens\":200,\"messages\":[{"
                "\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(unit_jnum(b, "max_tokens") == 200);

    b = body_ok("{\"model\":\"gpt-4o\",\"max_completion_tokens\":200,"
                "\"max_tokens\":100,\"messages\":[{"
                "\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(unit_jnum(b, "max_tokens") == 200);

    b = body_ok("{\"model\":\"gpt-4o\",\"max_tokens\":null,"
                "\"max_completion_tokens\":null,\"messages\":[{"
                "\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(unit_jnum(b, "max_tokens") == 8000);

    b = body_ok("{\"model\":\"gpt-4o\",\"max_tokens\":1000000000,"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(unit_jnum(b, "max_tokens") == 1000000000);

    /* the configured default */
    conf.max_tokens = 1234;
    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":[{"
                "\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(unit_jnum(b, "max_tokens") == 1234);
}


static void
test_request_functions_and_search(void **state)
{
    cJSON  *b;

    b = body_ok("{\"model\":\"gpt-4o\",\"function_web_search\":true,"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(jtrue(b, "function_web_search"));
    assert_false(jtrue(b, "function_image_gen"));
    assert_false(jtrue(b, "function_code_interpreter"));

    b = body_ok("{\"model\":\"gpt-4o\",\"function_image_gen\":true,"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_false(jtrue(b, "function_web_search"));
    assert_true(jtrue(b, "function_image_gen"));
    assert_false(jtrue(b, "function_code_interpreter"));

    b = body_ok("{\"model\":\"gpt-4o\",\"function_code_interpreter\":true,"
                "\"function_web_search\":false,\"function_image_gen\":null,"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_false(jtrue(b, "function_web_search"));
    assert_false(jtrue(b, "function_image_gen"));
    assert_true(jtrue(b, "function_code_interpreter"));

    /* OpenAI's web_search_options asks for a searched answer */

    b = body_ok("{\"model\":\"gpt-4o\",\"web_search_options\":{},"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(jtrue(b, "function_web_search"));

    b = body_ok("{\"model\":\"gpt-4o\",\"web_search_options\":{"
                "\"search_context_size\":\"low\"},"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(jtrue(b, "function_web_search"));

    b = body_ok("{\"model\":\"gpt-4o\",\"web_search_options\":null,"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_false(jtrue(b, "function_web_search"));

    b = body_ok("{\"model\":\"gpt-4o\",\"web_search_engine\":\"google\","
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_string_equal(unit_jstr(b, "web_search_engine"), "google");
}


static void
test_request_stream_flags(void **state)
{
    assert_int_equal(parse("{\"model\":\"gpt-4o\",\"stream\":true,"
                           "\"stream_options\":{\"include_usage\":true},"
                           "\"messages\":[{\"role\":\"user\","
                           "\"content\":\"hi\"}]}"), CHATON_OK);
    assert_true(req.stream);
    assert_true(req.include_usage);

    assert_int_equal(parse("{\"model\":\"gpt-4o\",\"stream\":true,"
                           "\"stream_options\":{\"include_usage\":false},"
                           "\"messages\":[{\"role\":\"user\","
                           "\"content\":\"hi\"}]}"), CHATON_OK);
    assert_true(req.stream);
    assert_false(req.include_usage);

    assert_int_equal(parse("{\"model\":\"gpt-4o\",\"stream\":null,"
                           "\"stream_options\":null,"
                           "\"messages\":[{\"role\":\"user\","
                           "\"content\":\"hi\"}]}"), CHATON_OK);
    assert_false(req.stream);
    assert_false(req.include_usage);
}


/* what OpenAI accepts is accepted, even if not used */

static void
test_request_accepted_extras(void **state)
{
    static const char  *ok[] = {
        "\"temperature\":0", "\"temperature\":2", "\"temperature\":0.7",
        "\"temperature\":null", "\"top_p\":1", "\"top_p\":0",
        "\"presence_penalty\":-2", "\"frequency_penalty\":2",
        "\"n\":1", "\"n\":null", "\"tools\":[]", "\"tools\":null",
        "\"functions\":[]", "\"tool_choice\":\"none\"",
        "\"stop\":\"x\"", "\"stop\":[\"a\",\"b\"]", "\"stop\":null",
        "\"user\":\"u-1\"", "\"response_format\":{\"type\":\"text\"}",
        "\"seed\":42", "\"logit_bias\":{}", "\"metadata\":{\"a\":\"b\"}",
        "\"store\":false", "\"parallel_tool_calls\":true",
        "\"unknown_future_field\":[1,{\"x\":null}]",
        "\"web_search_engine\":null",
        "\"stream\":true,\"stream_options\":{}",
    };

    size_t  i;
    char    body[512];

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(body, sizeof(body), "{\"model\":\"gpt-4o\",%s,\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"hi\"}]}", ok[i]);

        if (parse(body) != CHATON_OK) {
            print_error("refused: %s (%.*s)\n", ok[i], (int) err.text_len,
                        err.text);
            fail();
        }
    }

    /* surrounding whitespace is fine */
    assert_int_equal(parse(" \r\n\t{\"model\":\"gpt-4o\",\"messages\":[{"
                           "\"role\":\"user\",\"content\":\"hi\"}]} \n"),
                     CHATON_OK);

    /* an escaped backslash before "u0000" is text, not a NUL */
    assert_int_equal(parse("{\"model\":\"gpt-4o\",\"messages\":[{"
                           "\"role\":\"user\",\"content\":\"a\\\\u0000\"}]}"),
                     CHATON_OK);
    assert_int_equal(req.messages[0].content_len, 7);
    assert_memory_equal(req.messages[0].content, "a\\u0000", 7);
}


static void
test_request_context(void **state)
{
    cJSON  *b;

    assert_int_equal(parse("{\"model\":\"gpt-4o\",\"web_search_options\":{},"
                           "\"messages\":["
                           "{\"role\":\"user\",\"content\":\"first\"},"
                           "{\"role\":\"assistant\",\"content\":\"ok\"},"
                           "{\"role\":\"user\",\"content\":\"  \"},"
                           "{\"role\":\"user\",\"content\":\"summarize "
                           "https://example.com\"},"
                           "{\"role\":\"assistant\",\"content\":\"...\"}]}"),
                     CHATON_OK);

    /* without context, web search as asked */
    b = body_json();
    assert_true(jtrue(b, "function_web_search"));

    /* the blank message was dropped: the last user message is #2 */
    assert_int_equal(chaton_chat_last_user(&req), 2);

    req.context = (const unsigned char *) "Page \"text\"\n" LS "end.\n\n";
    req.context_len = strlen((const char *) req.context);

    b = body_json();

    assert_int_equal(cJSON_GetArraySize(msgs(b)), 4);
    assert_string_equal(unit_jstr(msg(b, 0), "content"), "first");
    assert_string_equal(unit_jstr(msg(b, 1), "content"), "ok");
    assert_string_equal(unit_jstr(msg(b, 2), "content"),
                        "Page \"text\"\n" LS "end.\n\n"
                        "summarize https://example.com");
    assert_string_equal(unit_jstr(msg(b, 3), "content"), "...");

    /* the page is the context: no web search for this turn */
    assert_false(jtrue(b, "function_web_search"));
}


static void
test_request_prompt_usage(void **state)
{
    assert_int_equal(parse("{\"model\":\"gpt-4o\",\"messages\":["
                           "{\"role\":\"system\",\"content\":\"abcd\"},"
                           "{\"role\":\"user\",\"content\":\"\"},"
                           "{\"role\":\"user\",\"content\":\"h\xc3\xa9llo "
                           "\xe4\xb8\xad\xe6\x96\x87\"}]}"), CHATON_OK);

    /* content of the messages sent, plus a little for each one's framing */
    assert_int_equal(req.prompt.ascii, 4 + 5 + 2 * 12);
    assert_int_equal(req.prompt.other, 3);
    assert_int_equal(chaton_usage_tokens(&req.prompt),
                     (4 + 5 + 24 + 3) / 4 + 3);
}


static void
test_request_body_escaping(void **state)
{
    cJSON  *b;

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                "\"content\":\"q\\\"b\\\\s\\u2028\\u2029\\u0001\\t"
                "\\ud83d\\ude00</x>\"}]}");

    assert_string_equal(unit_jstr(msg(b, 0), "content"),
                        "q\"b\\s" LS "\xe2\x80\xa9\x01\t\xf0\x9f\x98\x80"
                        "</x>");
}


/* ---- refusals ------------------------------------------------------------- */


typedef struct {
    int            rc;
    int            status;
    int            has_param;
    char           param[80];
    const char    *code;
    char           message[300];
    size_t         message_len;
} refusal_t;


/*
 * err.param is copied byte by byte right after the parser returns, before
 * any other call could reuse the stack: it may point into the parser's
 * frame (see test_request_error_param_outlives_parse).
 */

static UNIT_NOINLINE void
refuse(const char *body, size_t len, refusal_t *r)
{
    size_t             i;
    chaton_error_t     e;
    chaton_chat_req_t  q;

    memset(&e, 0, sizeof(e));

    r->rc = chaton_chat_parse(&q, &unit_alloc, &conf,
                              (const unsigned char *) body, len, &e);

    r->has_param = e.param != NULL;
    r->param[0] = '\0';

    if (e.param) {
        for (i = 0; i < sizeof(r->param) - 1 && e.param[i] != '\0'; i++) {
            r->param[i] = e.param[i];
        }
        r->param[i] = '\0';
    }

    r->status = e.status;
    r->code = e.code;
    r->message_len = e.text_len < sizeof(r->message) ? e.text_len : 0;

    if (r->message_len) {
        memcpy(r->message, e.text, r->message_len);
    }
}


#define ANY_CODE  ((const char *) 1)

#define expect_refusal(body, status, param, code)                            \
    expect_refusal_n((body), strlen(body), (status), (param), (code),        \
                     __LINE__)

static void
expect_refusal_n(const char *body, size_t len, int status, const char *param,
    const char *code, int line)
{
    refusal_t       r;
    chaton_buf_t    b;
    chaton_error_t  e;
    cJSON          *j, *o, *v;

    refuse(body, len, &r);

    if (r.rc != CHATON_BAD || r.status != status) {
        print_error("line %d: rc %d status %d (expected %d) for: %.300s\n",
                    line, r.rc, r.status, status, body);
        fail();
    }

    if (param == NULL ? r.has_param
                      : (!r.has_param || strcmp(r.param, param) != 0))
    {
        print_error("line %d: param \"%s\", expected \"%s\" for: %.300s\n",
                    line, r.has_param ? r.param : "(null)",
                    param ? param : "(null)", body);
        fail();
    }

    if (code != ANY_CODE
        && (code == NULL ? r.code != NULL
                         : (r.code == NULL || strcmp(r.code, code) != 0)))
    {
        print_error("line %d: code \"%s\", expected \"%s\"\n", line,
                    r.code ? r.code : "(null)", code ? code : "(null)");
        fail();
    }

    if (r.message_len == 0) {
        print_error("line %d: empty message for: %.300s\n", line, body);
        fail();
    }

    /* the client-visible error, written with the copied param */

    memset(&e, 0, sizeof(e));
    chaton_error_text(&e, r.status, r.code, (unsigned char *) r.message,
                      r.message_len);
    e.param = r.has_param ? r.param : NULL;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_error_json(&b, &e), CHATON_OK);

    j = unit_json(b.data, b.len);
    o = cJSON_GetObjectItemCaseSensitive(j, "error");
    assert_true(strlen(unit_jstr(o, "message")) > 0);
    assert_string_equal(unit_jstr(o, "type"), "invalid_request_error");
    v = cJSON_GetObjectItemCaseSensitive(o, "param");

    if (param) {
        assert_string_equal(unit_jstr(o, "param"), param);
    } else {
        assert_true(cJSON_IsNull(v));
    }
}


#define M  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define G  "{\"model\":\"gpt-4o\","


static void
test_request_refuse_body(void **state)
{
    char    *deep, *p;
    size_t   i, n;

    expect_refusal("{\"model\":", 400, NULL, ANY_CODE);
    expect_refusal("{\"model\":\"gpt-4o\" " M "}", 400, NULL, ANY_CODE);
    expect_refusal(G M, 400, NULL, ANY_CODE);
    expect_refusal(G M ",}", 400, NULL, ANY_CODE);
    expect_refusal(G "'x':1," M "}", 400, NULL, ANY_CODE);

    /* trailing garbage */
    expect_refusal(G M "} x", 400, NULL, ANY_CODE);
    expect_refusal(G M "}{}", 400, NULL, ANY_CODE);
    expect_refusal(G M "}}", 400, NULL, ANY_CODE);

    /* not an object */
    expect_refusal("[]", 400, NULL, ANY_CODE);
    expect_refusal("[" G M "}]", 400, NULL, ANY_CODE);
    expect_refusal("\"gpt-4o\"", 400, NULL, ANY_CODE);
    expect_refusal("42", 400, NULL, ANY_CODE);
    expect_refusal("null", 400, NULL, ANY_CODE);
    expect_refusal("true", 400, NULL, ANY_CODE);

    /* empty */
    expect_refusal_n("", 0, 400, NULL, ANY_CODE, __LINE__);
    expect_refusal("   ", 400, NULL, ANY_CODE);

    /* a NUL byte, inside a string and after the object */
    expect_refusal_n(G "\"messages\":[{\"role\":\"user\",\"content\":\"a\0b\"}]}",
                     sizeof(G "\"messages\":[{\"role\":\"user\",\"content\":"
                            "\"a\0b\"}]}") - 1, 400, NULL, ANY_CODE,
                     __LINE__);
    expect_refusal_n(G M "}\0", sizeof(G M "}\0") - 1, 400, NULL, ANY_CODE,
                     __LINE__);

    /* invalid UTF-8 */
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":"
                   "\"caf\xe9\"}]}", 400, NULL, ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":"
                   "\"\xc0\xaf\"}]}", 400, NULL, ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":"
                   "\"\xed\xa0\x80\"}]}", 400, NULL, ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":"
                   "\"\xf0\x9f\x98\"}]}", 400, NULL, ANY_CODE);

    /* a \u0000 escape, also after an escaped backslash */
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":"
                   "\"a\\u0000b\"}]}", 400, NULL, ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":"
                   "\"a\\\\\\u0000\"}]}", 400, NULL, ANY_CODE);
    expect_refusal(G "\"x\\u0000\":1," M "}", 400, NULL, ANY_CODE);

    /* 10,000-deep nesting, of arrays and of objects */

    n = 10000;
    deep = unit_mem(n * 6 + 200);

    p = deep + sprintf(deep, G M ",\"x\":");
    memset(p, '[', n);
    memset(p + n, ']', n);
    strcpy(p + 2 * n, "}");
    expect_refusal(deep, 400, NULL, ANY_CODE);

    p = deep + sprintf(deep, G M ",\"x\":");
    for (i = 0; i < n; i++) {
        memcpy(p, "{\"a\":", 5);
        p += 5;
    }
    *p++ = '1';
    memset(p, '}', n + 1);
    p[n + 1] = '\0';
    expect_refusal(deep, 400, NULL, ANY_CODE);

    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    expect_refusal(deep, 400, NULL, ANY_CODE);
}


static void
test_request_refuse_model(void **state)
{
    expect_refusal("{" M "}", 400, "model", ANY_CODE);
    expect_refusal("{\"model\":null," M "}", 400, "model", ANY_CODE);
    expect_refusal("{\"model\":5," M "}", 400, "model", ANY_CODE);
    expect_refusal("{\"model\":true," M "}", 400, "model", ANY_CODE);
    expect_refusal("{\"model\":[\"gpt-4o\"]," M "}", 400, "model", ANY_CODE);
    expect_refusal("{\"model\":{}," M "}", 400, "model", ANY_CODE);
    expect_refusal("{\"model\":\"\"," M "}", 400, "model", ANY_CODE);

    /* unknown models: 404, as OpenAI answers */
    expect_refusal("{\"model\":\"gpt-5\"," M "}", 404, "model",
                   "model_not_found");
    expect_refusal("{\"model\":\"gpt-4\"," M "}", 404, "model",
                   "model_not_found");
    expect_refusal("{\"model\":\"gpt-4o \"," M "}", 404, "model",
                   "model_not_found");
    expect_refusal("{\"model\":\"gpt-4o-\"," M "}", 404, "model",
                   "model_not_found");
    expect_refusal("{\"model\":\"claude-3-5\"," M "}", 404, "model",
                   "model_not_found");
}


/* the location's defaults of the switches; the client's value wins */

static void
switches_are(cJSON *b, int web_search, int image_gen, int code_interpreter)
{
    assert_int_equal(jtrue(b, "function_web_search"), web_search);
    assert_int_equal(jtrue(b, "function_image_gen"), image_gen);
    assert_int_equal(jtrue(b, "function_code_interpreter"),
                     code_interpreter);
}


static void
test_request_switch_defaults(void **state)
{
    cJSON  *b;

    conf.web_search = 1;
    conf.image_gen = 1;
    conf.code_interpreter = 1;

    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                "\"content\":\"hi\"}]}");
    switches_are(b, 1, 1, 1);

    b = body_ok("{\"model\":\"gpt-4o\",\"function_web_search\":false,"
                "\"function_image_gen\":null,"
                "\"function_code_interpreter\":false,"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    switches_are(b, 0, 1, 0);

    conf.web_search = 0;
    conf.image_gen = 0;
    conf.code_interpreter = 1;

    b = body_ok("{\"model\":\"gpt-4o\",\"function_image_gen\":true,"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    switches_are(b, 0, 1, 1);

    /* a page crawled for the turn still turns the search off */

    conf.web_search = 1;
    b = body_ok("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                "\"content\":\"hi\"}]}");
    assert_true(jtrue(b, "function_web_search"));
    req.context = (const unsigned char *) "page";
    req.context_len = 4;
    assert_false(jtrue(body_json(), "function_web_search"));
}


/* an unknown model is served by the default model, if one is set */

static void
test_request_default_model(void **state)
{
    cJSON                 *b;
    const chaton_model_t  *mini;

    mini = chaton_model_find(conf.models, conf.nmodels,
                             (const unsigned char *) "gpt-4o-mini", 11);
    assert_non_null(mini);

    conf.fallback = mini;

    b = body_ok("{\"model\":\"gpt-4-turbo\",\"messages\":[{\"role\":"
                "\"user\",\"content\":\"hi\"}]}");
    assert_string_equal(unit_jstr(b, "model"), "gpt-4o-mini");
    assert_ptr_equal(req.entry, mini);

    /* the client's name is kept for the answer */
    assert_int_equal(req.model_len, 11);
    assert_memory_equal(req.model, "gpt-4-turbo", 11);

    /* known models are still themselves */
    b = body_ok("{\"model\":\"claude-3-5-sonnet-20241022\",\"messages\":[{"
                "\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_string_equal(unit_jstr(b, "model"), "claude-3-5-sonnet");

    /* a missing or ill-typed model is still the client's mistake */
    expect_refusal("{\"model\":\"\"," M "}", 400, "model", ANY_CODE);
    expect_refusal("{\"model\":42," M "}", 400, "model", ANY_CODE);
    expect_refusal("{" M "}", 400, "model", ANY_CODE);

    /* without one, the honest 404 */
    conf.fallback = NULL;
    expect_refusal("{\"model\":\"gpt-4-turbo\"," M "}", 404, "model",
                   "model_not_found");
}


/* a one-message body: n copies of the UTF-8 character c for the model */

static char *
long_body(const char *model, const char *c, size_t n)
{
    size_t   i, k, clen;
    char    *body;

    clen = strlen(c);
    body = unit_mem(strlen(model) + n * clen + 64);

    i = (size_t) sprintf(body, "{\"model\":\"%s\",\"messages\":[{"
                         "\"role\":\"user\",\"content\":\"", model);

    for (k = 0; k < n; k++) {
        memcpy(body + i, c, clen);
        i += clen;
    }

    strcpy(body + i, "\"}]}");

    return body;
}


/*
 * Messages far over the model's context window are refused; the estimate
 * is allowed twice the window before it is believed.
 */

static void
test_request_context_window(void **state)
{
    chaton_model_t  table[2];

    static const chaton_model_t  tiny =
        { "tiny", 4, "gpt-4o", 6, 1, 0, 100 };
    static const chaton_model_t  open =
        { "open", 4, "gpt-4o", 6, 1, 0, 0 };

    table[0] = tiny;
    table[1] = open;
    conf.models = table;
    conf.nmodels = 2;

    /*
     * one message: (content + 12 bytes of framing) / 4 tokens, so 788
     * bytes of content are 200 tokens, twice the window: accepted
     */

    assert_int_equal(parse(long_body("tiny", "a", 788)), CHATON_OK);
    assert_int_equal(chaton_usage_tokens(&req.prompt), 200);

    expect_refusal(long_body("tiny", "a", 789), 400, "messages",
                   "context_length_exceeded");
    assert_int_equal(parse(long_body("tiny", "a", 789)), CHATON_BAD);
    assert_non_null(strstr(err.buf, "maximum context length is 100 "));
    assert_non_null(strstr(err.buf, "about 201 tokens"));

    /* no window known: nothing refused */
    assert_int_equal(parse(long_body("open", "a", 100000)), CHATON_OK);

    /* non-ASCII text counts a token a character: 97 + 3 of framing fit */
    table[0].context = 50;
    assert_int_equal(parse(long_body("tiny", "\xe4\xb8\xad", 97)),
                     CHATON_OK);
    expect_refusal(long_body("tiny", "\xe4\xb8\xad", 98), 400, "messages",
                   "context_length_exceeded");

    /* the built-in windows: an 8 MiB message is no gpt-4o message */
    conf.models = chaton_models_builtin;
    conf.nmodels = chaton_models_nbuiltin;
    expect_refusal(long_body("gpt-4o-2024-08-06", "x", 8 << 20), 400,
                   "messages", "context_length_exceeded");

    /* a long conversation that fits goes through: 400 KiB, ~100k tokens */
    assert_int_equal(parse(long_body("gpt-4o", "x", 400 << 10)), CHATON_OK);
}


static void
test_request_refuse_messages(void **state)
{
    expect_refusal(G "\"stream\":false}", 400, "messages", ANY_CODE);
    expect_refusal(G "\"messages\":null}", 400, "messages", ANY_CODE);
    expect_refusal(G "\"messages\":[]}", 400, "messages", ANY_CODE);
    expect_refusal(G "\"messages\":{}}", 400, "messages", ANY_CODE);
    expect_refusal(G "\"messages\":\"hi\"}", 400, "messages", ANY_CODE);
    expect_refusal(G "\"messages\":5}", 400, "messages", ANY_CODE);

    /* all of them empty: nothing to answer */
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"\"},"
                   "{\"role\":\"system\",\"content\":\" \\n\"}]}", 400,
                   "messages", ANY_CODE);

    expect_refusal(G "\"messages\":[5]}", 400, "messages[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[\"hi\"]}", 400, "messages[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[null]}", 400, "messages[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[[]]}", 400, "messages[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
                   "\"b\"]}", 400, "messages[1]", ANY_CODE);
}


static void
test_request_refuse_roles(void **state)
{
    expect_refusal(G "\"messages\":[{\"content\":\"hi\"}]}", 400,
                   "messages[0].role", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":5,\"content\":\"hi\"}]}", 400,
                   "messages[0].role", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":null,\"content\":\"hi\"}]}",
                   400, "messages[0].role", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"wizard\",\"content\":"
                   "\"hi\"}]}", 400, "messages[0].role", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"\",\"content\":\"hi\"}]}",
                   400, "messages[0].role", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"User\",\"content\":"
                   "\"hi\"}]}", 400, "messages[0].role", ANY_CODE);

    /* a tool's result must answer a call made earlier */
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":"
                   "\"42\"}]}", 400, "messages[1].tool_call_id",
                   "invalid_value");
    expect_refusal(G "\"messages\":[{\"role\":\"function\",\"name\":\"f\","
                   "\"content\":\"42\"}]}", 400, "messages[0].name",
                   "invalid_value");
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                   "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{"
                   "\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                   "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":"
                   "\"42\"}]}", 400, "messages[2].tool_call_id",
                   "invalid_value");
    expect_refusal(G "\"messages\":[{\"role\":\"tool\",\"content\":\"42\"}]}",
                   400, "messages[0].tool_call_id", NULL);

    /* an earlier call's arguments must be a JSON object's text */
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                   "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{"
                   "\"name\":\"f\",\"arguments\":\"{nope\"}}]}]}", 400,
                   "messages[1].tool_calls[0].function.arguments",
                   "invalid_value");
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                   "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{"
                   "\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}", 400,
                   "messages[1].tool_calls[0].function.arguments",
                   "invalid_value");
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                   "[{\"type\":\"function\",\"function\":{"
                   "\"name\":\"f\",\"arguments\":\"{}\"}}]}]}", 400,
                   "messages[1].tool_calls[0].id", NULL);
}


static void
test_request_refuse_content(void **state)
{
    expect_refusal(G "\"messages\":[{\"role\":\"user\"}]}", 400,
                   "messages[0].content", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"system\",\"content\":"
                   "null}]}", 400, "messages[0].content", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":5}]}",
                   400, "messages[0].content", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":true}]}",
                   400, "messages[0].content", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":{"
                   "\"text\":\"hi\"}}]}", 400, "messages[0].content",
                   ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[]}]}",
                   400, "messages[0].content", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
                   "{\"role\":\"user\",\"content\":[]}]}",
                   400, "messages[1].content", ANY_CODE);

    /* content parts */
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[5]}]}",
                   400, "messages[0].content[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":"
                   "[\"hi\"]}]}", 400, "messages[0].content[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[{"
                   "\"text\":\"hi\"}]}]}", 400, "messages[0].content[0]",
                   ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[{"
                   "\"type\":5,\"text\":\"hi\"}]}]}", 400,
                   "messages[0].content[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[{"
                   "\"type\":\"text\"}]}]}", 400, "messages[0].content[0]",
                   ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[{"
                   "\"type\":\"text\",\"text\":5}]}]}", 400,
                   "messages[0].content[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[{"
                   "\"type\":\"text\",\"text\":\"a\"},{\"type\":"
                   "\"input_audio\",\"input_audio\":{}}]}]}", 400,
                   "messages[0].content[1]", "unsupported_value");
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                   "{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                   "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"},"
                   "{\"type\":\"file\",\"file\":{}}]}]}", 400,
                   "messages[1].content[2]", "unsupported_value");
}


#define IMG(url)                                                             \
    G "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","   \
    "\"text\":\"see\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"     \
    "\"" url "\"}}]}]}"


static void
test_request_refuse_images(void **state)
{
    char    *body, *p;
    size_t   i;

    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[{"
                   "\"type\":\"image_url\"}]}]}", 400,
                   "messages[0].content[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[{"
                   "\"type\":\"image_url\",\"image_url\":{}}]}]}", 400,
                   "messages[0].content[0]", ANY_CODE);
    expect_refusal(G "\"messages\":[{\"role\":\"user\",\"content\":[{"
                   "\"type\":\"image_url\",\"image_url\":{\"url\":5}}]}]}",
                   400, "messages[0].content[0]", ANY_CODE);
    expect_refusal(IMG(""), 400, "messages[0].content[1]", ANY_CODE);

    /* not a URL we take */
    expect_refusal(IMG("ftp://x.example/a.png"), 400,
                   "messages[0].content[1]", "invalid_image_url");
    expect_refusal(IMG("http://"), 400, "messages[0].content[1]",
                   "invalid_image_url");
    expect_refusal(IMG("/local/file.png"), 400, "messages[0].content[1]",
                   "invalid_image_url");

    /* bad data URLs, each reason */
    expect_refusal(IMG("data:image/png;base64,!!!!"), 400,
                   "messages[0].content[1]", "invalid_image_url");
    expect_refusal(IMG("data:image/png;base64,iVBOR w0KGgo="), 400,
                   "messages[0].content[1]", "invalid_image_url");
    expect_refusal(IMG("data:image/png;base64,iVBORw0KGgo=="), 400,
                   "messages[0].content[1]", "invalid_image_url");
    expect_refusal(IMG("data:image/png,iVBORw0KGgo="), 400,
                   "messages[0].content[1]", "invalid_image_url");
    expect_refusal(IMG("data:image/png;base64"), 400,
                   "messages[0].content[1]", "invalid_image_url");
    expect_refusal(IMG("data:image/bmp;base64,Qk0="), 400,
                   "messages[0].content[1]", "invalid_image_format");
    expect_refusal(IMG("data:text/plain;base64,aGk="), 400,
                   "messages[0].content[1]", "invalid_image_format");
    expect_refusal(IMG("data:image/svg+xml;base64,PHN2Zy8+"), 400,
                   "messages[0].content[1]", "invalid_image_format");
    expect_refusal(IMG("data:image/png;base64,"), 400,
                   "messages[0].content[1]", "invalid_image_url");

    /* too big: conf.max_image is 1024 bytes decoded */

    body = unit_mem(4096);
    p = body + sprintf(body, G "\"messages\":[{\"role\":\"user\",\"content\":"
                       "[{\"type\":\"image_url\",\"image_url\":{\"url\":"
                       "\"data:image/png;base64,");
    for (i = 0; i < 343; i++) {
        p += sprintf(p, "AAAA");      /* 3 bytes each: 1029 bytes */
    }
    strcpy(p, "\"}}]}]}");
    assert_true(strlen(body) < 4096);
    expect_refusal(body, 400, "messages[0].content[0]", "image_too_large");

    /* 1025 bytes: one over, by the padding */
    p = body + sprintf(body, G "\"messages\":[{\"role\":\"user\",\"content\":"
                       "[{\"type\":\"image_url\",\"image_url\":{\"url\":"
                       "\"data:image/png;base64,");
    for (i = 0; i < 341; i++) {
        p += sprintf(p, "AAAA");      /* 1023 bytes */
    }
    strcpy(p, "AAA=\"}}]}]}");        /* + 2 */
    expect_refusal(body, 400, "messages[0].content[0]", "image_too_large");

    /* 1024 bytes exactly is fine */
    p = body + sprintf(body, G "\"messages\":[{\"role\":\"user\",\"content\":"
                       "[{\"type\":\"image_url\",\"image_url\":{\"url\":"
                       "\"data:image/png;base64,");
    for (i = 0; i < 341; i++) {
        p += sprintf(p, "AAAA");      /* 1023 bytes */
    }
    strcpy(p, "AA==\"}}]}]}");        /* + 1 */
    assert_int_equal(parse(body), CHATON_OK);
    assert_int_equal(req.images[0].data_len, 1024);

    /* too many: conf.max_images is 8 */

    p = body + sprintf(body, G "\"messages\":[{\"role\":\"user\",\"content\":"
                       "[");
    for (i = 0; i < 9; i++) {
        p += sprintf(p, "%s{\"type\":\"image_url\",\"image_url\":{\"url\":"
                     "\"https://i/%zu\"}}", i ? "," : "", i);
    }
    strcpy(p, "]}]}");
    expect_refusal(body, 400, "messages[0].content[8]", ANY_CODE);

    /* 8 is fine */
    p = strstr(body, ",{\"type\":\"image_url\",\"image_url\":{\"url\":"
                     "\"https://i/8\"}}");
    assert_non_null(p);
    strcpy(p, "]}]}");
    assert_int_equal(parse(body), CHATON_OK);
    assert_int_equal(req.nimages, 8);
}


static void
test_request_refuse_fields(void **state)
{
    /* tools and functions */
    expect_refusal(G M ",\"tools\":{}}", 400, "tools", ANY_CODE);
    expect_refusal(G M ",\"tools\":\"x\"}", 400, "tools", ANY_CODE);
    expect_refusal(G M ",\"tools\":[1]}", 400, "tools[0]", ANY_CODE);
    expect_refusal(G M ",\"tools\":[{\"type\":\"retrieval\"}]}", 400,
                   "tools[0].type", ANY_CODE);
    expect_refusal(G M ",\"tools\":[{\"type\":\"function\"}]}", 400,
                   "tools[0].function", ANY_CODE);
    expect_refusal(G M ",\"tools\":[{\"type\":\"function\",\"function\":{"
                   "\"name\":\"a b\"}}]}", 400, "tools[0].function.name",
                   ANY_CODE);
    expect_refusal(G M ",\"tools\":[{\"type\":\"function\",\"function\":{"
                   "\"name\":\"f\",\"parameters\":[]}}]}", 400,
                   "tools[0].function.parameters", ANY_CODE);
    expect_refusal(G M ",\"functions\":[{\"description\":\"f\"}]}", 400,
                   "functions[0].name", ANY_CODE);
    expect_refusal(G M ",\"tools\":[{\"type\":\"function\",\"function\":{"
                   "\"name\":\"f\"}}],\"tool_choice\":\"any\"}", 400,
                   "tool_choice", ANY_CODE);
    expect_refusal(G M ",\"tools\":[{\"type\":\"function\",\"function\":{"
                   "\"name\":\"f\"}}],\"tool_choice\":{\"type\":\"function\","
                   "\"function\":{\"name\":\"g\"}}}", 400, "tool_choice",
                   ANY_CODE);
    expect_refusal(G M ",\"tool_choice\":\"required\"}", 400, "tool_choice",
                   ANY_CODE);
    expect_refusal(G M ",\"tools\":[{\"type\":\"function\",\"function\":{"
                   "\"name\":\"f\"}}],\"parallel_tool_calls\":1}", 400,
                   "parallel_tool_calls", ANY_CODE);

    /* response_format */
    expect_refusal(G M ",\"response_format\":{\"type\":\"yaml\"}}", 400,
                   "response_format.type", ANY_CODE);
    expect_refusal(G M ",\"response_format\":{\"type\":\"json_schema\"}}",
                   400, "response_format.json_schema", ANY_CODE);
    expect_refusal(G M ",\"response_format\":{\"type\":\"json_schema\","
                   "\"json_schema\":{\"schema\":{}}}}", 400,
                   "response_format.json_schema.name", ANY_CODE);

    /* n */
    expect_refusal(G M ",\"n\":2}", 400, "n", ANY_CODE);
    expect_refusal(G M ",\"n\":0}", 400, "n", ANY_CODE);
    expect_refusal(G M ",\"n\":-1}", 400, "n", ANY_CODE);
    expect_refusal(G M ",\"n\":1.5}", 400, "n", ANY_CODE);
    expect_refusal(G M ",\"n\":\"1\"}", 400, "n", ANY_CODE);
    expect_refusal(G M ",\"n\":true}", 400, "n", ANY_CODE);

    /* stream and stream_options */
    expect_refusal(G M ",\"stream\":\"true\"}", 400, "stream", ANY_CODE);
    expect_refusal(G M ",\"stream\":1}", 400, "stream", ANY_CODE);
    expect_refusal(G M ",\"stream\":{}}", 400, "stream", ANY_CODE);
    expect_refusal(G M ",\"stream_options\":\"x\"}", 400, "stream_options",
                   ANY_CODE);
    expect_refusal(G M ",\"stream_options\":[]}", 400, "stream_options",
                   ANY_CODE);
    expect_refusal(G M ",\"stream_options\":true}", 400, "stream_options",
                   ANY_CODE);
    expect_refusal(G M ",\"stream_options\":{\"include_usage\":true}}", 400,
                   "stream_options", ANY_CODE);
    expect_refusal(G M ",\"stream\":false,\"stream_options\":{}}", 400,
                   "stream_options", ANY_CODE);
    expect_refusal(G M ",\"stream\":true,\"stream_options\":{"
                   "\"include_usage\":\"yes\"}}", 400,
                   "stream_options.include_usage", ANY_CODE);
    expect_refusal(G M ",\"stream\":true,\"stream_options\":{"
                   "\"include_usage\":1}}", 400,
                   "stream_options.include_usage", ANY_CODE);

    /* sampling parameters */
    expect_refusal(G M ",\"temperature\":2.5}", 400, "temperature", ANY_CODE);
    expect_refusal(G M ",\"temperature\":-0.1}", 400, "temperature",
                   ANY_CODE);
    expect_refusal(G M ",\"temperature\":\"1\"}", 400, "temperature",
                   ANY_CODE);
    expect_refusal(G M ",\"temperature\":true}", 400, "temperature",
                   ANY_CODE);
    expect_refusal(G M ",\"top_p\":1.01}", 400, "top_p", ANY_CODE);
    expect_refusal(G M ",\"presence_penalty\":3}", 400, "presence_penalty",
                   ANY_CODE);
    expect_refusal(G M ",\"frequency_penalty\":-2.5}", 400,
                   "frequency_penalty", ANY_CODE);

    /* token limits */
    expect_refusal(G M ",\"max_tokens\":0}", 400, "max_tokens", ANY_CODE);
    expect_refusal(G M ",\"max_tokens\":-1}", 400, "max_tokens", ANY_CODE);
    expect_refusal(G M ",\"max_tokens\":1.5}", 400, "max_tokens", ANY_CODE);
    expect_refusal(G M ",\"max_tokens\":\"100\"}", 400, "max_tokens",
                   ANY_CODE);
    expect_refusal(G M ",\"max_tokens\":1e10}", 400, "max_tokens", ANY_CODE);
    expect_refusal(G M ",\"max_tokens\":true}", 400, "max_tokens", ANY_CODE);
    expect_refusal(G M ",\"max_completion_tokens\":0}", 400,
                   "max_completion_tokens", ANY_CODE);

    /* other OpenAI fields, ill-typed */
    expect_refusal(G M ",\"stop\":5}", 400, "stop", ANY_CODE);
    expect_refusal(G M ",\"user\":5}", 400, "user", ANY_CODE);
    expect_refusal(G M ",\"response_format\":\"json\"}", 400,
                   "response_format", ANY_CODE);

    /* ChatOn's switches */
    expect_refusal(G M ",\"function_web_search\":\"yes\"}", 400,
                   "function_web_search", ANY_CODE);
    expect_refusal(G M ",\"function_image_gen\":1}", 400,
                   "function_image_gen", ANY_CODE);
    expect_refusal(G M ",\"function_code_interpreter\":\"true\"}", 400,
                   "function_code_interpreter", ANY_CODE);
    expect_refusal(G M ",\"web_search_options\":\"x\"}", 400,
                   "web_search_options", ANY_CODE);
    expect_refusal(G M ",\"web_search_options\":true}", 400,
                   "web_search_options", ANY_CODE);
    expect_refusal(G M ",\"web_search_options\":[]}", 400,
                   "web_search_options", ANY_CODE);
    expect_refusal(G M ",\"web_search_engine\":5}", 400,
                   "web_search_engine", ANY_CODE);
    expect_refusal(G M ",\"web_search_engine\":\"\"}", 400,
                   "web_search_engine", ANY_CODE);
}


static void
test_request_refuse_too_many_messages(void **state)
{
    char    *body, *p, *last;
    size_t   i;

    body = unit_mem(10001 * 40 + 100);
    p = body + sprintf(body, G "\"messages\":[");
    last = NULL;

    for (i = 0; i < 10001; i++) {
        last = p;
        p += sprintf(p, "%s{\"role\":\"user\",\"content\":\"m\"}",
                     i ? "," : "");
    }

    strcpy(p, "]}");
    expect_refusal(body, 400, "messages", ANY_CODE);

    /* 10,000 are fine */
    strcpy(last, "]}");
    assert_int_equal(parse(body), CHATON_OK);
    assert_int_equal(req.nmessages, 10000);
}


/*
 * The module writes the error after chaton_chat_parse() has returned
 * (ngx_http_chaton_chat.c: parse, then ngx_http_chaton_send_error(r, &err)):
 * err.param must still name the field then.
 */

static UNIT_NOINLINE void
clobber_stack(void)
{
    volatile char  junk[16384];

    memset((char *) junk, 'Z', sizeof(junk));
}


static void
test_request_error_param_outlives_parse(void **state)
{
    chaton_buf_t  b;
    cJSON        *j, *param;

    assert_int_equal(parse(G "\"messages\":[{\"role\":\"user\",\"content\":"
                           "\"hi\"},{\"role\":\"wizard\",\"content\":\"x\"}]}"),
                     CHATON_BAD);
    assert_int_equal(err.status, 400);
    assert_non_null(err.param);

    /* whatever the caller does next on its stack */
    clobber_stack();

    if (strncmp(err.param, "messages[1].role", sizeof("messages[1].role"))
        != 0)
    {
        print_error("err.param no longer names the field once "
                    "chaton_chat_parse() has returned: \"%.20s\"\n",
                    err.param);
        fail();
    }

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_error_json(&b, &err), CHATON_OK);
    j = unit_json(b.data, b.len);
    param = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(j, "error"), "param");
    assert_true(cJSON_IsString(param));
    assert_string_equal(param->valuestring, "messages[1].role");
}


/* allocation failures anywhere: CHATON_ERROR, never a crash */

static void
test_request_alloc_failures(void **state)
{
    int             rc, ok;
    size_t          limit;
    unit_pool_t     p;
    chaton_alloc_t  a;
    chaton_buf_t    b;

    static const char  body[] =
        G "\"web_search_engine\":\"auto\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"sys\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
        "{\"type\":\"text\",\"text\":\"b\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/0\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/2\"}}]},"
        "{\"role\":\"user\",\"content\":\"last\"}]}";

    ok = 0;

    for (limit = 0; limit < 100 && !ok; limit++) {
        unit_pool_init(&p);
        p.limit = limit;
        a = unit_allocator(&p, 0);

        rc = chaton_chat_parse(&req, &a, &conf, (const unsigned char *) body,
                               sizeof(body) - 1, &err);

        if (rc == CHATON_OK) {
            req.images[1].url = (const unsigned char *) "https://u/1";
            req.images[1].url_len = 11;

            chaton_buf_init(&b, &a, 0);
            rc = chaton_chat_body(&b, &req);
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
}


/* ---- tools: instructions, history in the tools' format --------------------- */


#define NONCE  "n0nce123"

#define TOOL_F                                                               \
    "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","         \
    "\"description\":\"Weather of a city\",\"parameters\":{\"type\":"        \
    "\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}"


static void
test_request_tools(void **state)
{
    cJSON       *b, *m;
    const char  *text;

    conf.nonce = (const unsigned char *) NONCE;

    /* offered: the instructions are a system message of their own, first */

    b = body_ok("{\"model\":\"gpt-4o\",\"tools\":[" TOOL_F "],"
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_true(req.extract);
    assert_int_equal(req.tools.ntools, 1);
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_AUTO);
    assert_true(req.tools.parallel);
    assert_int_equal(cJSON_GetArraySize(msgs(b)), 2);
    m = msg(b, 0);
    assert_string_equal(unit_jstr(m, "role"), "system");
    text = unit_jstr(m, "content");
    assert_non_null(strstr(text, "<tool_call_" NONCE ">"));
    assert_non_null(strstr(text, "get_weather"));
    assert_non_null(strstr(text, "Weather of a city"));
    assert_non_null(strstr(text, "\"city\""));
    assert_string_equal(unit_jstr(msg(b, 1), "content"), "hi");

    /* a system message first: the instructions join it, after its text */

    b = body_ok("{\"model\":\"gpt-4o\",\"tools\":[" TOOL_F "],"
                "\"parallel_tool_calls\":false,\"tool_choice\":\"required\","
                "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                "{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_false(req.tools.parallel);
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_REQUIRED);
    assert_int_equal(cJSON_GetArraySize(msgs(b)), 2);
    text = unit_jstr(msg(b, 0), "content");
    assert_memory_equal(text, "Be brief.\n\n", 11);
    assert_non_null(strstr(text, "<tool_call_" NONCE ">"));

    /* a tool loop: the call and its result in the format, roles it knows */

    b = body_ok("{\"model\":\"gpt-4o\",\"tools\":[" TOOL_F "],"
                "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
                "\"get_weather\"}},\"messages\":["
                "{\"role\":\"user\",\"content\":\"weather in Paris?\"},"
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
                "\"id\":\"call_1\",\"type\":\"function\",\"function\":{"
                "\"name\":\"get_weather\",\"arguments\":"
                "\"{ \\\"city\\\" : \\\"Paris\\\" }\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
                "\"content\":\"18C, sunny\"}]}");
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_FUNCTION);
    assert_memory_equal(req.tools.choice_name, "get_weather", 11);
    assert_int_equal(cJSON_GetArraySize(msgs(b)), 4);
    assert_string_equal(unit_jstr(msg(b, 2), "role"), "assistant");
    assert_string_equal(unit_jstr(msg(b, 2), "content"),
                        "<tool_call_" NONCE ">{\"name\": \"get_weather\", "
                        "\"arguments\": {\"city\":\"Paris\"}}</tool_call_"
                        NONCE ">");
    assert_string_equal(unit_jstr(msg(b, 3), "role"), "user");
    assert_string_equal(unit_jstr(msg(b, 3), "content"),
                        "<tool_result_" NONCE " call_id=\"call_1\" "
                        "name=\"get_weather\">\n18C, sunny\n</tool_result_"
                        NONCE ">");

    /* tool_choice none: nothing to call, but the history is explained */

    b = body_ok("{\"model\":\"gpt-4o\",\"tools\":[" TOOL_F "],"
                "\"tool_choice\":\"none\",\"messages\":["
                "{\"role\":\"user\",\"content\":\"weather in Paris?\"},"
                "{\"role\":\"assistant\",\"content\":\"Let me look.\","
                "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                "\"function\":{\"name\":\"get_weather\",\"arguments\":"
                "\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
                "\"content\":\"18C\"}]}");
    assert_false(req.extract);
    text = unit_jstr(msg(b, 0), "content");
    assert_string_equal(unit_jstr(msg(b, 0), "role"), "system");
    assert_non_null(strstr(text, "<tool_call_" NONCE ">"));
    assert_null(strstr(text, "get_weather"));
    assert_string_equal(unit_jstr(msg(b, 2), "content"),
                        "Let me look.\n\n<tool_call_" NONCE ">{\"name\": "
                        "\"get_weather\", \"arguments\": {}}</tool_call_"
                        NONCE ">");

    /* the older functions and function_call */

    b = body_ok("{\"model\":\"gpt-4o\",\"functions\":[{\"name\":\"f\"}],"
                "\"function_call\":{\"name\":\"f\"},\"messages\":["
                "{\"role\":\"user\",\"content\":\"go\"},"
                "{\"role\":\"assistant\",\"content\":null,\"function_call\":"
                "{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}},"
                "{\"role\":\"function\",\"name\":\"f\",\"content\":\"ok\"}]}");
    assert_true(req.extract);
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_FUNCTION);
    assert_string_equal(unit_jstr(msg(b, 3), "content"),
                        "<tool_result_" NONCE " call_id=\"f\" name=\"f\">\n"
                        "ok\n</tool_result_" NONCE ">");

    /* no tools, no history: nothing added, nothing read back */

    b = body_ok("{\"model\":\"gpt-4o\",\"tools\":[],\"messages\":["
                "{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_false(req.extract);
    assert_int_equal(cJSON_GetArraySize(msgs(b)), 1);

    conf.nonce = NULL;
}


static void
test_request_response_format(void **state)
{
    cJSON       *b;
    const char  *text;

    b = body_ok("{\"model\":\"gpt-4o\",\"response_format\":{\"type\":"
                "\"json_object\"},\"messages\":[{\"role\":\"user\","
                "\"content\":\"hi\"}]}");
    assert_int_equal(req.format, CHATON_FORMAT_JSON_OBJECT);
    assert_false(req.extract);
    assert_string_equal(unit_jstr(msg(b, 0), "role"), "system");
    assert_non_null(strstr(unit_jstr(msg(b, 0), "content"), "JSON object"));

    b = body_ok("{\"model\":\"gpt-4o\",\"response_format\":{\"type\":"
                "\"json_schema\",\"json_schema\":{\"name\":\"person\","
                "\"schema\":{\"type\":\"object\",\"properties\":{\"age\":"
                "{\"type\":\"integer\"}}}}},\"messages\":[{\"role\":\"user\","
                "\"content\":\"hi\"}]}");
    assert_int_equal(req.format, CHATON_FORMAT_JSON_SCHEMA);
    text = unit_jstr(msg(b, 0), "content");
    assert_non_null(strstr(text, "person"));
    assert_non_null(strstr(text, "\"age\""));

    b = body_ok("{\"model\":\"gpt-4o\",\"response_format\":{\"type\":"
                "\"text\"},\"messages\":[{\"role\":\"user\","
                "\"content\":\"hi\"}]}");
    assert_int_equal(req.format, CHATON_FORMAT_TEXT);
    assert_int_equal(cJSON_GetArraySize(msgs(b)), 1);
}


/*
 * The messages (texts, images, the history's calls and results) go to the
 * scratch allocator the module frees once the answer begins; what the
 * answer needs (model, tools, the format's schema) stays.
 */

static void
test_parse_scratch(void **state)
{
    parse_scratch("{\"model\":\"gpt-4o\",\"messages\":["
                  "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                  "{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                  "\"text\":\"What is this?\"},{\"type\":\"image_url\","
                  "\"image_url\":{\"url\":\"data:image/png;base64,"
                  "iVBORw0KGgo=\"}}]},"
                  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                  "[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                  "{\"name\":\"get_weather\",\"arguments\":"
                  "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                  "{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
                  "\"content\":\"sunny\"}],"
                  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
                  "\"get_weather\",\"parameters\":{\"type\":\"object\"}}}],"
                  "\"response_format\":{\"type\":\"json_schema\","
                  "\"json_schema\":{\"name\":\"answer\",\"schema\":"
                  "{\"type\":\"object\"}}}}");

    assert_string_equal(unit_strn(req.model, req.model_len), "gpt-4o");
    assert_int_equal(req.tools.ntools, 1);
    assert_string_equal(unit_strn(req.tools.tools[0].name,
                                  req.tools.tools[0].name_len),
                        "get_weather");
    assert_string_equal(unit_strn(req.tools.tools[0].parameters,
                                  req.tools.tools[0].parameters_len),
                        "{\"type\":\"object\"}");
    assert_string_equal(unit_strn(req.schema_name, req.schema_name_len),
                        "answer");
    assert_string_equal(unit_strn(req.schema, req.schema_len),
                        "{\"type\":\"object\"}");
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        rtest(test_request_seed),
        rtest(test_request_content_parts_flattened),
        rtest(test_request_image_urls),
        rtest(test_request_images_many),
        rtest(test_request_data_urls),
        rtest(test_request_blank_messages_dropped),
        rtest(test_request_roles),
        rtest(test_request_aliases),
        rtest(test_request_max_tokens),
        rtest(test_request_functions_and_search),
        rtest(test_request_switch_defaults),
        rtest(test_request_default_model),
        rtest(test_request_context_window),
        rtest(test_request_content_untrimmed),
        rtest(test_request_stream_flags),
        rtest(test_request_accepted_extras),
        rtest(test_request_context),
        rtest(test_request_prompt_usage),
        rtest(test_request_body_escaping),
        rtest(test_request_tools),
        rtest(test_request_response_format),
        rtest(test_request_refuse_body),
        rtest(test_request_refuse_model),
        rtest(test_request_refuse_messages),
        rtest(test_request_refuse_roles),
        rtest(test_request_refuse_content),
        rtest(test_request_refuse_images),
        rtest(test_request_refuse_fields),
        rtest(test_request_refuse_too_many_messages),
        rtest(test_request_error_param_outlives_parse),
        rtest(test_request_alloc_failures),
        rtest(test_parse_scratch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
