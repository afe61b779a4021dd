/*
 * dialect_anthropic.h: Anthropic Messages requests -> the neutral
 * conversation (and every refusal, naming its field), and the writer:
 * backend events through a chaton_chat_t -> named SSE events or one
 * message object, every event parsed back and checked field by field and
 * in order; the Anthropic models list.
 */

#include "unit.h"
#include "chaton_request.h"
#include "chaton_sse.h"
#include "dialect_anthropic.h"
#include "stream.h"


#define NONCE   "abcd1234"
#define MSG_ID  "msg_gw0001"
#define MODEL   "claude-3-5-sonnet-latest"

/* a 1x1 PNG's first bytes, base64 */
#define PNG_B64  "iVBORw0KGgo="
#define PNG      "\x89PNG\r\n\x1a\n"


#define UNIT_PARSE  chaton_anthropic_parse
#include "parse.h"

#define atest(f)  ptest(f)


#define HEAD  "{\"model\":\"" MODEL "\",\"max_tokens\":100,"


/* ---- the parser ----------------------------------------------------------- */


static void
test_parse_minimal(void **state)
{
    chaton_buf_t  b;
    cJSON        *j;

    parse_ok(HEAD "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");

    assert_string_equal(unit_strn(req.model, req.model_len), MODEL);
    assert_string_equal(req.entry->backend, "claude-3-5-sonnet");
    assert_int_equal(req.max_tokens, 100);
    assert_int_equal(req.nmessages, 1);
    assert_string_equal(req.messages[0].role, "user");
    assert_string_equal(content(0), "Hi");
    assert_false(req.stream);
    assert_false(req.extract);
    assert_int_equal(req.nstop, 0);

    /* usage as the OpenAI parser counts it: the text and 12 per message */
    assert_int_equal(req.prompt.ascii, 2 + 12);

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_chat_body(&b, &req), CHATON_OK);
    j = unit_json(b.data, b.len);
    assert_string_equal(unit_jstr(j, "model"), "claude-3-5-sonnet");
    assert_true(unit_jnum(j, "max_tokens") == 100);
}


static void
test_parse_system_and_blocks(void **state)
{
    parse_ok(HEAD "\"stream\":true,\"temperature\":0.5,\"top_p\":1,"
             "\"top_k\":5,\"metadata\":{\"user_id\":\"u1\"},"
             "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048},"
             "\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\","
             "\"cache_control\":{\"type\":\"ephemeral\"}},"
             "{\"type\":\"text\",\"text\":\"Be kind.\"}],"
             "\"messages\":["
             "{\"role\":\"user\",\"content\":[{\"type\":\"text\","
             "\"text\":\"One\"},{\"type\":\"text\",\"text\":\"\"},"
             "{\"type\":\"text\",\"text\":\"Two\"}]},"
             "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
             "\"thinking\":\"hmm\",\"signature\":\"x\"},"
             "{\"type\":\"redacted_thinking\",\"data\":\"y\"},"
             "{\"type\":\"text\",\"text\":\"Three\"}]},"
             "{\"role\":\"user\",\"content\":\"Four\"},"
             "{\"role\":\"assistant\",\"content\":\"Prefill\"}]}");

    assert_true(req.stream);
    assert_int_equal(req.nmessages, 5);
    assert_string_equal(req.messages[0].role, "system");
    assert_string_equal(content(0), "Be brief.\n\nBe kind.");
    assert_string_equal(content(1), "One\n\nTwo");
    assert_string_equal(req.messages[2].role, "assistant");
    /* the thinking is not sent back */
    assert_string_equal(content(2), "Three");
    assert_string_equal(content(3), "Four");
    /* a prefill, last, as it is */
    assert_string_equal(req.messages[4].role, "assistant");
    assert_string_equal(content(4), "Prefill");
}


static void
test_parse_count(void **state)
{
    chaton_buf_t  b;
    cJSON        *j;
    const char   *body;

    body = "{\"model\":\"" MODEL "\",\"system\":\"You are terse.\","
           "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}";

    /* /v1/messages needs max_tokens, count_tokens does not */
    assert_int_equal(parse(body), CHATON_BAD);
    assert_string_equal(err.param, "max_tokens");

    assert_int_equal(chaton_anthropic_parse_count(&req, &unit_alloc, &conf,
                                                  (const unsigned char *)
                                                  body, strlen(body), &err),
                     CHATON_OK);
    assert_int_equal(req.max_tokens, conf.max_tokens);

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_anthropic_count_tokens(&b, &req), CHATON_OK);
    j = unit_json(b.data, b.len);
    unit_jkeys_exactly(j, "input_tokens", NULL);
    /* (14 + 12 + 11 + 12) ASCII bytes */
    assert_true(unit_jnum(j, "input_tokens") == (14 + 12 + 11 + 12 + 3) / 4);
    assert_true(unit_jnum(j, "input_tokens")
                == chaton_usage_tokens(&req.prompt));
}


static void
test_parse_stops(void **state)
{
    parse_ok(HEAD "\"stop_sequences\":[\"\\n\\nHuman:\",\"END\"],"
             "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");

    assert_int_equal(req.nstop, 2);
    assert_int_equal(req.stop[0].len, 8);
    assert_memory_equal(req.stop[0].data, "\n\nHuman:", 8);
    assert_int_equal(req.stop[1].len, 3);
    assert_memory_equal(req.stop[1].data, "END", 3);
}


static void
test_parse_images(void **state)
{
    chaton_image_t  *img;

    parse_ok(HEAD "\"messages\":[{\"role\":\"user\",\"content\":["
             "{\"type\":\"image\",\"source\":{\"type\":\"base64\","
             "\"media_type\":\"image/png\",\"data\":\"" PNG_B64 "\"}},"
             "{\"type\":\"image\",\"source\":{\"type\":\"url\","
             "\"url\":\"https://example.com/a.jpg\"}},"
             "{\"type\":\"text\",\"text\":\"What are these?\"}]}]}");

    assert_int_equal(req.nimages, 2);
    assert_int_equal(req.messages[0].image, 0);
    assert_int_equal(req.messages[0].nimages, 2);
    assert_string_equal(content(0), "What are these?");

    img = &req.images[0];
    assert_string_equal(img->mime, "image/png");
    assert_string_equal(img->ext, "png");
    assert_int_equal(img->data_len, 8);
    assert_memory_equal(img->data, PNG, 8);
    assert_null(img->url);
    assert_string_equal(img->param, "messages[0].content[0]");

    img = &req.images[1];
    assert_null(img->data);
    assert_string_equal(unit_strn(img->url, img->url_len),
                        "https://example.com/a.jpg");
}


/* the tools' format, as chaton_tools.c writes it */

static const char *
call_text(const char *name, const char *args)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_tools_history_call(&b,
                         (const unsigned char *) NONCE,
                         (const unsigned char *) name, strlen(name),
                         (const unsigned char *) args, strlen(args)),
                     CHATON_OK);

    return unit_bufstr(&b);
}


static const char *
result_text(const char *id, const char *name, const char *text)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_tools_history_result(&b,
                         (const unsigned char *) NONCE,
                         (const unsigned char *) id, strlen(id),
                         (const unsigned char *) name, strlen(name),
                         (const unsigned char *) text, strlen(text)),
                     CHATON_OK);

    return unit_bufstr(&b);
}


#define TOOLS                                                                 \
    "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather.\","      \
    "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":"         \
    "{\"type\":\"string\"}}}},{\"type\":\"custom\",\"name\":\"read\","        \
    "\"input_schema\":{\"type\":\"object\"}}],"

static void
test_parse_tool_loop(void **state)
{
    char   expect[1024];

    parse_ok(HEAD TOOLS
             "\"messages\":["
             "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
             "{\"role\":\"assistant\",\"content\":["
             "{\"type\":\"text\",\"text\":\"Let me look.\"},"
             "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":"
             "\"get_weather\",\"input\":{\"city\": \"Paris\"}},"
             "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":"
             "\"get_weather\",\"input\":{\"city\":\"Rome\"}}]},"
             "{\"role\":\"user\",\"content\":["
             "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
             "\"content\":\"Sunny\"},"
             "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\","
             "\"is_error\":true,\"content\":[{\"type\":\"text\","
             "\"text\":\"timeout\"}]},"
             "{\"type\":\"text\",\"text\":\"Thanks\"}]}]}");

    assert_true(req.extract);
    assert_int_equal(req.tools.ntools, 2);
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_AUTO);
    assert_true(req.tools.parallel);
    assert_memory_equal(req.tools.nonce, NONCE, 8);
    assert_string_equal(unit_strn(req.tools.tools[0].parameters,
                                  req.tools.tools[0].parameters_len),
                        "{\"type\":\"object\",\"properties\":{\"city\":"
                        "{\"type\":\"string\"}}}");
    assert_string_equal(unit_strn(req.tools.tools[1].name,
                                  req.tools.tools[1].name_len), "read");

    /* the instructions first, as a system message */
    assert_int_equal(req.nmessages, 4);
    assert_string_equal(req.messages[0].role, "system");
    unit_assert_contains(content(0), "<tool_call_" NONCE ">");
    unit_assert_contains(content(0), "## get_weather");

    /* the assistant's calls in its text, in the tools' format */
    (void) snprintf(expect, sizeof(expect), "Let me look.\n\n%s\n%s",
                    call_text("get_weather", "{\"city\":\"Paris\"}"),
                    call_text("get_weather", "{\"city\":\"Rome\"}"));
    assert_string_equal(content(2), expect);
    assert_int_equal(req.messages[2].ncalls, 2);

    /* the results, an error said to be one, then the user's text */
    (void) snprintf(expect, sizeof(expect), "%s\n\n%s\n\nThanks",
                    result_text("toolu_1", "get_weather", "Sunny"),
                    result_text("toolu_2", "get_weather", "Error: timeout"));
    assert_string_equal(req.messages[3].role, "user");
    assert_string_equal(content(3), expect);
}


static void
test_parse_tool_choice(void **state)
{
    parse_ok(HEAD TOOLS "\"tool_choice\":{\"type\":\"any\","
             "\"disable_parallel_tool_use\":true},"
             "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_REQUIRED);
    assert_false(req.tools.parallel);
    assert_true(req.extract);

    parse_ok(HEAD TOOLS "\"tool_choice\":{\"type\":\"tool\","
             "\"name\":\"read\"},"
             "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_FUNCTION);
    assert_string_equal(unit_strn(req.tools.choice_name,
                                  req.tools.choice_name_len), "read");
    assert_true(req.tools.parallel);

    parse_ok(HEAD TOOLS "\"tool_choice\":{\"type\":\"none\"},"
             "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_NONE);
    assert_false(req.extract);

    parse_ok(HEAD TOOLS "\"tool_choice\":{\"type\":\"auto\"},"
             "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_AUTO);
}


static void
test_parse_web_search(void **state)
{
    parse_ok(HEAD "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_false(req.web_search);

    /* the server tool is ChatOn's web search, not a tool to call */
    parse_ok(HEAD "\"tools\":[{\"type\":\"web_search_20250305\","
             "\"name\":\"web_search\",\"max_uses\":5}],"
             "\"messages\":[{\"role\":\"user\",\"content\":\"news\"}]}");
    assert_true(req.web_search);
    assert_int_equal(req.tools.ntools, 0);
    assert_false(req.extract);
    assert_int_equal(req.nmessages, 1);
}


static void
test_parse_unknown_model(void **state)
{
    assert_int_equal(parse("{\"model\":\"claude-nope\",\"max_tokens\":1,"
                           "\"messages\":[{\"role\":\"user\","
                           "\"content\":\"x\"}]}"), CHATON_BAD);
    assert_int_equal(err.status, 404);
    assert_string_equal(err.param, "model");
    assert_string_equal(err.code, "model_not_found");

    /* a location's default model serves it */
    conf.fallback = &chaton_models_builtin[0];
    parse_ok("{\"model\":\"claude-nope\",\"max_tokens\":1,"
             "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_ptr_equal(req.entry, &chaton_models_builtin[0]);
}


static void
test_parse_refusals(void **state)
{
    size_t  i;

    static const struct {
        const char  *body;
        const char  *param;
    } cases[] = {
#define MSGS "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"
#define U(c) HEAD "\"messages\":[{\"role\":\"user\",\"content\":" c "}]}"
#define A(c) HEAD "\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"     \
             "{\"role\":\"assistant\",\"content\":" c "}]}"
#define IMG(s) U("[{\"type\":\"image\",\"source\":" s "}]")
        { "{\"max_tokens\":1," MSGS "}", "model" },
        { "{\"model\":5,\"max_tokens\":1," MSGS "}", "model" },
        { "{\"model\":\"\",\"max_tokens\":1," MSGS "}", "model" },
        { "{\"model\":\"" MODEL "\"," MSGS "}", "max_tokens" },
        { "{\"model\":\"" MODEL "\",\"max_tokens\":0," MSGS "}",
          "max_tokens" },
        { "{\"model\":\"" MODEL "\",\"max_tokens\":1.5," MSGS "}",
          "max_tokens" },
        { "{\"model\":\"" MODEL "\",\"max_tokens\":\"5\"," MSGS "}",
          "max_tokens" },
        { HEAD "\"stream\":\"yes\"," MSGS "}", "stream" },
        { HEAD "\"temperature\":1.5," MSGS "}", "temperature" },
        { HEAD "\"temperature\":\"hot\"," MSGS "}", "temperature" },
        { HEAD "\"top_p\":-0.1," MSGS "}", "top_p" },
        { HEAD "\"top_k\":2.5," MSGS "}", "top_k" },
        { HEAD "\"top_k\":-1," MSGS "}", "top_k" },
        { HEAD "\"metadata\":[]," MSGS "}", "metadata" },
        { HEAD "\"metadata\":{\"user_id\":1}," MSGS "}",
          "metadata.user_id" },
        { HEAD "\"thinking\":true," MSGS "}", "thinking" },
        { HEAD "\"thinking\":{\"type\":\"on\"}," MSGS "}", "thinking.type" },
        { HEAD "\"thinking\":{\"type\":\"enabled\"}," MSGS "}",
          "thinking.budget_tokens" },
        { HEAD "\"stop_sequences\":\"END\"," MSGS "}", "stop_sequences" },
        { HEAD "\"stop_sequences\":[\"a\",\"\"]," MSGS "}",
          "stop_sequences[1]" },
        { HEAD "\"stop_sequences\":[\"a\",3]," MSGS "}",
          "stop_sequences[1]" },
        { HEAD "\"stop_sequences\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
          "\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\","
          "\"16\",\"17\"]," MSGS "}", "stop_sequences" },
        { HEAD "\"tools\":{}," MSGS "}", "tools" },
        { HEAD "\"tools\":[5]," MSGS "}", "tools[0]" },
        { HEAD "\"tools\":[{\"type\":\"bash_20250124\",\"name\":\"bash\"}],"
          MSGS "}", "tools[0].type" },
        { HEAD "\"tools\":[{\"type\":\"code_execution_20250522\","
          "\"name\":\"c\"}]," MSGS "}", "tools[0].type" },
        { HEAD "\"tools\":[{\"name\":\"a\"}]," MSGS "}",
          "tools[0].input_schema" },
        { HEAD "\"tools\":[{\"name\":\"a b\",\"input_schema\":{}}]," MSGS "}",
          "tools[0].name" },
        { HEAD "\"tools\":[{\"name\":\"a\",\"description\":1,"
          "\"input_schema\":{}}]," MSGS "}", "tools[0].description" },
        { HEAD "\"tool_choice\":\"auto\"," MSGS "}", "tool_choice" },
        { HEAD "\"tool_choice\":{}," MSGS "}", "tool_choice.type" },
        { HEAD "\"tool_choice\":{\"type\":\"required\"}," MSGS "}",
          "tool_choice.type" },
        { HEAD "\"tool_choice\":{\"type\":\"any\"}," MSGS "}",
          "tool_choice.type" },
        { HEAD TOOLS "\"tool_choice\":{\"type\":\"tool\",\"name\":\"x\"},"
          MSGS "}", "tool_choice.name" },
        { HEAD TOOLS "\"tool_choice\":{\"type\":\"auto\","
          "\"disable_parallel_tool_use\":1}," MSGS "}",
          "tool_choice.disable_parallel_tool_use" },
        { HEAD "\"system\":5," MSGS "}", "system" },
        { HEAD "\"system\":[{\"type\":\"image\"}]," MSGS "}", "system[0]" },
        { HEAD "\"system\":[{\"type\":\"text\",\"text\":\"a\"},"
          "{\"type\":\"text\"}]," MSGS "}", "system[1]" },
        { HEAD "\"x\":1}", "messages" },
        { HEAD "\"messages\":{}}", "messages" },
        { HEAD "\"messages\":[]}", "messages" },
        { HEAD "\"messages\":[5]}", "messages[0]" },
        { HEAD "\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
          "messages[0].role" },
        { HEAD "\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
          "messages[0].role" },
        { HEAD "\"messages\":[{\"content\":\"x\"}]}", "messages[0].role" },
        { HEAD "\"messages\":[{\"role\":\"user\"}]}", "messages[0].content" },
        { U("5"), "messages[0].content" },
        { U("[\"x\"]"), "messages[0].content[0]" },
        { U("[{\"text\":\"x\"}]"), "messages[0].content[0]" },
        { U("[{\"type\":\"text\",\"text\":5}]"),
          "messages[0].content[0].text" },
        { U("[{\"type\":\"document\",\"source\":{}}]"),
          "messages[0].content[0].type" },
        { U("[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\","
            "\"input\":{}}]"), "messages[0].content[0].type" },
        { A("[{\"type\":\"image\",\"source\":{\"type\":\"url\","
            "\"url\":\"https://x/y.png\"}}]"),
          "messages[1].content[0].type" },
        { A("[{\"type\":\"tool_result\",\"tool_use_id\":\"t\"}]"),
          "messages[1].content[0].type" },
        { A("[{\"type\":\"tool_use\",\"name\":\"n\",\"input\":{}}]"),
          "messages[1].content[0].id" },
        { A("[{\"type\":\"tool_use\",\"id\":\"t\",\"input\":{}}]"),
          "messages[1].content[0].name" },
        { A("[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\"}]"),
          "messages[1].content[0].input" },
        { A("[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\","
            "\"input\":\"{}\"}]"), "messages[1].content[0].input" },
        { U("[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_x\","
            "\"content\":\"orphan\"}]"),
          "messages[0].content[0].tool_use_id" },
        { U("[{\"type\":\"tool_result\",\"content\":\"x\"}]"),
          "messages[0].content[0].tool_use_id" },
        { HEAD "\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
          "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
          "\"id\":\"t1\",\"name\":\"n\",\"input\":{}}]},"
          "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
          "{\"type\":\"tool_result\",\"tool_use_id\":\"t2\"}]}]}",
          "messages[2].content[1].tool_use_id" },
        { HEAD "\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
          "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
          "\"id\":\"t1\",\"name\":\"n\",\"input\":{}}]},"
          "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
          "\"tool_use_id\":\"t1\",\"is_error\":\"yes\"}]}]}",
          "messages[2].content[0].is_error" },
        { HEAD "\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
          "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
          "\"id\":\"t1\",\"name\":\"n\",\"input\":{}}]},"
          "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
          "\"tool_use_id\":\"t1\",\"content\":5}]}]}",
          "messages[2].content[0].content" },
        { HEAD "\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
          "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
          "\"id\":\"t1\",\"name\":\"n\",\"input\":{}}]},"
          "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
          "\"tool_use_id\":\"t1\",\"content\":[{\"type\":\"document\"}]}]}]}",
          "messages[2].content[0].content[0]" },
        { IMG("5"), "messages[0].content[0].source" },
        { IMG("{\"type\":\"file\",\"file_id\":\"f\"}"),
          "messages[0].content[0].source.type" },
        { IMG("{\"type\":\"base64\",\"media_type\":\"image/bmp\","
              "\"data\":\"" PNG_B64 "\"}"),
          "messages[0].content[0].source.media_type" },
        { IMG("{\"type\":\"base64\",\"data\":\"" PNG_B64 "\"}"),
          "messages[0].content[0].source.media_type" },
        { IMG("{\"type\":\"base64\",\"media_type\":\"image/png\"}"),
          "messages[0].content[0].source.data" },
        { IMG("{\"type\":\"base64\",\"media_type\":\"image/png\","
              "\"data\":\"\"}"), "messages[0].content[0].source.data" },
        { IMG("{\"type\":\"base64\",\"media_type\":\"image/png\","
              "\"data\":\"!!!!\"}"), "messages[0].content[0].source.data" },
        { IMG("{\"type\":\"url\",\"url\":\"ftp://x/y.png\"}"),
          "messages[0].content[0].source.url" },
        { IMG("{\"type\":\"url\"}"), "messages[0].content[0].source.url" },
        { HEAD "\"messages\":[{\"role\":\"user\",\"content\":\" \"}]}",
          "messages" },
        { "[]", NULL },
        { "{\"model\":", NULL },
#undef MSGS
#undef U
#undef A
#undef IMG
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        unit_refusal_at(parse(cases[i].body), &err, 400, cases[i].param,
                        cases[i].body, (int) i);

        /* Anthropic's errors have no param: the message names it too */
        if (cases[i].param) {
            unit_assert_contains(unit_strn(err.text, err.text_len),
                                 cases[i].param);
        }
    }
}


static void
test_parse_image_limits(void **state)
{
    char    body[4096];
    size_t  n;

    conf.max_images = 1;

    (void) snprintf(body, sizeof(body), "%s",
                    HEAD "\"messages\":[{\"role\":\"user\",\"content\":["
                    "{\"type\":\"image\",\"source\":{\"type\":\"url\","
                    "\"url\":\"https://x/1.png\"}},"
                    "{\"type\":\"image\",\"source\":{\"type\":\"url\","
                    "\"url\":\"https://x/2.png\"}}]}]}");

    assert_int_equal(parse(body), CHATON_BAD);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.param, "messages[0].content[1]");

    /* larger than the location's max_image, decoded */
    conf.max_images = 4;
    conf.max_image = 16;

    n = (size_t) snprintf(body, sizeof(body),
                          HEAD "\"messages\":[{\"role\":\"user\","
                          "\"content\":[{\"type\":\"image\",\"source\":"
                          "{\"type\":\"base64\",\"media_type\":"
                          "\"image/gif\",\"data\":\"");
    memset(body + n, 'A', 64);
    (void) snprintf(body + n + 64, sizeof(body) - n - 64, "\"}}]}]}");

    assert_int_equal(parse(body), CHATON_BAD);
    assert_string_equal(err.param, "messages[0].content[0].source.data");
    assert_string_equal(err.code, "image_too_large");
}


/* ---- the writer: events parsed back -------------------------------------- */


#define MAX_EV  256


typedef struct {
    size_t       n;
    const char  *name[MAX_EV];
    cJSON       *data[MAX_EV];
} events_t;


/* "event: NAME\ndata: JSON\n\n", strictly, the type the name */

static void
events_parse(const chaton_buf_t *out, events_t *ev)
{
    const char  *p, *end, *nl, *stop;

    ev->n = 0;
    p = (const char *) out->data;
    end = p + out->len;

    while (p < end) {
        assert_true(end - p > 7 && memcmp(p, "event: ", 7) == 0);
        p += 7;

        nl = memchr(p, '\n', end - p);
        assert_non_null(nl);

        assert_true(ev->n < MAX_EV);
        ev->name[ev->n] = unit_strn(p, nl - p);

        p = nl + 1;
        assert_true(end - p > 6 && memcmp(p, "data: ", 6) == 0);
        p += 6;

        stop = NULL;
        for (nl = p; nl + 1 < end; nl++) {
            if (nl[0] == '\n' && nl[1] == '\n') {
                stop = nl;
                break;
            }
        }

        assert_non_null(stop);
        assert_null(memchr(p, '\r', stop - p));
        assert_null(memchr(p, '\n', stop - p));

        ev->data[ev->n] = unit_json(p, stop - p);
        assert_string_equal(unit_jstr(ev->data[ev->n], "type"),
                            ev->name[ev->n]);

        ev->n++;
        p = stop + 2;
    }
}


/* a message as the SDK's accumulation makes it, every event checked */

#define MAX_BLOCKS  16

typedef struct {
    size_t         nblocks;
    const char    *type[MAX_BLOCKS];
    chaton_buf_t   text[MAX_BLOCKS];    /* text, thinking, partial_json */
    const char    *id[MAX_BLOCKS];
    const char    *name[MAX_BLOCKS];
    int            signed_[MAX_BLOCKS];
    const char    *stop_reason;
    const char    *stop_sequence;       /* NULL: null */
    double         input_tokens;
    double         output_tokens;
} message_t;


static void
usage_check(cJSON *u, double input, double output)
{
    unit_jkeys_exactly(u, "input_tokens", "cache_creation_input_tokens",
                       "cache_read_input_tokens", "output_tokens", NULL);
    assert_true(unit_jnum(u, "input_tokens") == input);
    assert_true(unit_jnum(u, "cache_creation_input_tokens") == 0);
    assert_true(unit_jnum(u, "cache_read_input_tokens") == 0);
    assert_true(unit_jnum(u, "output_tokens") == output);
}


static void
stream_check(const chaton_buf_t *out, uint64_t input, message_t *m)
{
    size_t      i, k;
    int         open;
    cJSON      *e, *msg, *b, *d, *v;
    events_t    ev;
    const char *t;

    memset(m, 0, sizeof(message_t));
    events_parse(out, &ev);

    assert_true(ev.n >= 5);

    /* message_start */
    e = ev.data[0];
    assert_string_equal(ev.name[0], "message_start");
    unit_jkeys_exactly(e, "type", "message", NULL);
    msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    unit_jkeys_exactly(msg, "id", "type", "role", "model", "content",
                       "stop_reason", "stop_sequence", "usage", NULL);
    assert_string_equal(unit_jstr(msg, "id"), MSG_ID);
    assert_string_equal(unit_jstr(msg, "type"), "message");
    assert_string_equal(unit_jstr(msg, "role"), "assistant");
    assert_string_equal(unit_jstr(msg, "model"), MODEL);
    v = cJSON_GetObjectItemCaseSensitive(msg, "content");
    assert_true(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(msg,
                                                        "stop_reason")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(msg,
                                                        "stop_sequence")));
    usage_check(cJSON_GetObjectItemCaseSensitive(msg, "usage"),
                (double) input, 0);

    open = -1;

    for (i = 1; i < ev.n - 2; i++) {
        e = ev.data[i];
        t = ev.name[i];

        if (strcmp(t, "content_block_start") == 0) {
            assert_int_equal(open, -1);
            unit_jkeys_exactly(e, "type", "index", "content_block", NULL);
            assert_true(unit_jnum(e, "index") == m->nblocks);
            assert_true(m->nblocks < MAX_BLOCKS);

            k = m->nblocks++;
            open = (int) k;
            b = cJSON_GetObjectItemCaseSensitive(e, "content_block");
            m->type[k] = unit_jstr(b, "type");
            chaton_buf_init(&m->text[k], &unit_alloc, 0);

            if (strcmp(m->type[k], "text") == 0) {
                unit_jkeys_exactly(b, "type", "text", NULL);
                assert_string_equal(unit_jstr(b, "text"), "");

            } else if (strcmp(m->type[k], "thinking") == 0) {
                unit_jkeys_exactly(b, "type", "thinking", "signature", NULL);
                assert_string_equal(unit_jstr(b, "thinking"), "");
                assert_string_equal(unit_jstr(b, "signature"), "");

            } else {
                assert_string_equal(m->type[k], "tool_use");
                unit_jkeys_exactly(b, "type", "id", "name", "input", NULL);
                m->id[k] = unit_jstr(b, "id");
                m->name[k] = unit_jstr(b, "name");
                v = cJSON_GetObjectItemCaseSensitive(b, "input");
                assert_true(cJSON_IsObject(v) && unit_jkeys(v) == 0);
            }

            continue;
        }

        if (strcmp(t, "content_block_delta") == 0) {
            assert_true(open >= 0);
            unit_jkeys_exactly(e, "type", "index", "delta", NULL);
            assert_true(unit_jnum(e, "index") == open);
            d = cJSON_GetObjectItemCaseSensitive(e, "delta");
            t = unit_jstr(d, "type");
            k = (size_t) open;

            /* nothing after a thinking block's signature */
            assert_false(m->signed_[k]);

            if (strcmp(t, "text_delta") == 0) {
                assert_string_equal(m->type[k], "text");
                unit_jkeys_exactly(d, "type", "text", NULL);
                v = cJSON_GetObjectItemCaseSensitive(d, "text");

            } else if (strcmp(t, "thinking_delta") == 0) {
                assert_string_equal(m->type[k], "thinking");
                unit_jkeys_exactly(d, "type", "thinking", NULL);
                v = cJSON_GetObjectItemCaseSensitive(d, "thinking");

            } else if (strcmp(t, "signature_delta") == 0) {
                assert_string_equal(m->type[k], "thinking");
                unit_jkeys_exactly(d, "type", "signature", NULL);
                assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
                                               d, "signature")));
                m->signed_[k] = 1;
                continue;

            } else {
                assert_string_equal(t, "input_json_delta");
                assert_string_equal(m->type[k], "tool_use");
                unit_jkeys_exactly(d, "type", "partial_json", NULL);
                v = cJSON_GetObjectItemCaseSensitive(d, "partial_json");
            }

            assert_true(cJSON_IsString(v));
            /* no empty deltas */
            assert_true(v->valuestring[0] != '\0');
            assert_int_equal(chaton_buf_append_str(&m->text[k],
                                                   v->valuestring),
                             CHATON_OK);
            continue;
        }

        assert_string_equal(t, "content_block_stop");
        unit_jkeys_exactly(e, "type", "index", NULL);
        assert_true(unit_jnum(e, "index") == open);

        /* a thinking block ends with its signature */
        if (strcmp(m->type[open], "thinking") == 0) {
            assert_true(m->signed_[open]);
        }

        open = -1;
    }

    assert_int_equal(open, -1);
    assert_true(m->nblocks >= 1);

    /* message_delta, message_stop */
    e = ev.data[ev.n - 2];
    assert_string_equal(ev.name[ev.n - 2], "message_delta");
    unit_jkeys_exactly(e, "type", "delta", "usage", NULL);
    d = cJSON_GetObjectItemCaseSensitive(e, "delta");
    unit_jkeys_exactly(d, "stop_reason", "stop_sequence", NULL);
    m->stop_reason = unit_jstr(d, "stop_reason");
    v = cJSON_GetObjectItemCaseSensitive(d, "stop_sequence");
    m->stop_sequence = cJSON_IsNull(v) ? NULL : unit_jstr(d, "stop_sequence");
    v = cJSON_GetObjectItemCaseSensitive(e, "usage");
    unit_jkeys_exactly(v, "input_tokens", "output_tokens", NULL);
    m->input_tokens = unit_jnum(v, "input_tokens");
    m->output_tokens = unit_jnum(v, "output_tokens");

    assert_string_equal(ev.name[ev.n - 1], "message_stop");
    unit_jkeys_exactly(ev.data[ev.n - 1], "type", NULL);
}


/* the whole message object, checked, as the same message_t */

static void
whole_check(const chaton_buf_t *out, message_t *m)
{
    size_t   k;
    cJSON   *j, *c, *b, *v;
    char    *s;

    memset(m, 0, sizeof(message_t));

    j = unit_json(out->data, out->len);
    unit_jkeys_exactly(j, "id", "type", "role", "model", "content",
                       "stop_reason", "stop_sequence", "usage", NULL);
    assert_string_equal(unit_jstr(j, "id"), MSG_ID);
    assert_string_equal(unit_jstr(j, "type"), "message");
    assert_string_equal(unit_jstr(j, "role"), "assistant");
    assert_string_equal(unit_jstr(j, "model"), MODEL);
    m->stop_reason = unit_jstr(j, "stop_reason");
    v = cJSON_GetObjectItemCaseSensitive(j, "stop_sequence");
    m->stop_sequence = cJSON_IsNull(v) ? NULL : unit_jstr(j, "stop_sequence");

    v = cJSON_GetObjectItemCaseSensitive(j, "usage");
    m->input_tokens = unit_jnum(v, "input_tokens");
    m->output_tokens = unit_jnum(v, "output_tokens");
    usage_check(v, m->input_tokens, m->output_tokens);

    c = cJSON_GetObjectItemCaseSensitive(j, "content");
    assert_true(cJSON_IsArray(c));
    assert_true(cJSON_GetArraySize(c) >= 1);

    cJSON_ArrayForEach(b, c) {
        k = m->nblocks++;
        m->type[k] = unit_jstr(b, "type");
        chaton_buf_init(&m->text[k], &unit_alloc, 0);

        if (strcmp(m->type[k], "text") == 0) {
            unit_jkeys_exactly(b, "type", "text", NULL);
            s = (char *) unit_jstr(b, "text");

        } else if (strcmp(m->type[k], "thinking") == 0) {
            unit_jkeys_exactly(b, "type", "thinking", "signature", NULL);
            s = (char *) unit_jstr(b, "thinking");
            (void) unit_jstr(b, "signature");
            m->signed_[k] = 1;

        } else {
            assert_string_equal(m->type[k], "tool_use");
            unit_jkeys_exactly(b, "type", "id", "name", "input", NULL);
            m->id[k] = unit_jstr(b, "id");
            m->name[k] = unit_jstr(b, "name");
            v = cJSON_GetObjectItemCaseSensitive(b, "input");
            assert_true(cJSON_IsObject(v));
            s = cJSON_PrintUnformatted(v);
            assert_non_null(s);
            assert_int_equal(chaton_buf_append_str(&m->text[k], s),
                             CHATON_OK);
            cJSON_free(s);
            continue;
        }

        assert_int_equal(chaton_buf_append_str(&m->text[k], s), CHATON_OK);
    }
}


static chaton_anthropic_t *
an_new(chaton_chat_t *t, chaton_buf_t *out, int stream,
    const chaton_chat_req_t *r)
{
    chaton_anthropic_t  *an;

    an = unit_mem(sizeof(chaton_anthropic_t));

    assert_int_equal(chaton_anthropic_init(an, &unit_alloc,
                                           (const unsigned char *) MSG_ID,
                                           strlen(MSG_ID),
                                           (const unsigned char *) MODEL,
                                           strlen(MODEL), 0, stream, r),
                     CHATON_OK);
    assert_int_equal(chaton_chat_init(t, &unit_alloc, &an->w, 0), CHATON_OK);

    t->prompt_tokens = r ? chaton_usage_tokens(&r->prompt) : 0;

    chaton_buf_init(out, &unit_alloc, 0);
    t->out = out;

    return an;
}


static int
ev(chaton_chat_t *t, const char *s)
{
    return chaton_chat_event(t, (const unsigned char *) s, strlen(s));
}


/* the answer: its events, then the end into out (stream) or whole */

static void
finish(chaton_chat_t *t, chaton_buf_t *out, int stream, message_t *m,
    uint64_t input)
{
    assert_int_equal(ev(t, "[DONE]"), CHATON_DONE);
    assert_int_equal(chaton_chat_flush(t, out), CHATON_OK);

    if (stream) {
        assert_int_equal(chaton_chat_end(t, out), CHATON_OK);
        stream_check(out, input, m);
        return;
    }

    assert_int_equal(out->len, 0);
    assert_int_equal(chaton_chat_end(t, out), CHATON_OK);
    whole_check(out, m);
}


#define block_text(m, k)  unit_bufstr(&(m)->text[k])


static void
test_write_text(void **state)
{
    int            stream;
    message_t      m;
    chaton_buf_t   out;
    chaton_chat_t  t;

    parse_ok(HEAD "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");

    for (stream = 0; stream <= 1; stream++) {
        (void) an_new(&t, &out, stream, &req);

        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                                "\"Hello \\\"you\\\"\\n\"}}]}"), CHATON_OK);
        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                                "\"caf\\u00e9 " EMOJI "\"}}]}"), CHATON_OK);

        finish(&t, &out, stream, &m, 4);

        assert_int_equal(m.nblocks, 1);
        assert_string_equal(m.type[0], "text");
        assert_string_equal(block_text(&m, 0),
                            "Hello \"you\"\ncaf" E_ACUTE " " EMOJI);
        assert_string_equal(m.stop_reason, "end_turn");
        assert_null(m.stop_sequence);
        assert_true(m.input_tokens == 4);
        assert_true(m.output_tokens == chaton_chat_completion_tokens(&t));
    }
}


/* the realistic stream at every split: the same bytes, and its text */

static int
to_chat(void *data, const unsigned char *e, size_t len)
{
    return chaton_chat_event(data, e, len);
}


static void
run_split(chaton_chat_t *t, chaton_buf_t *out, size_t cut)
{
    chaton_sse_t  p;

    chaton_sse_init(&p, &unit_alloc, 65536);

    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *) stream,
                                     cut, to_chat, t),
                     cut == STREAM_LEN ? CHATON_DONE : CHATON_OK);

    if (cut < STREAM_LEN) {
        assert_int_equal(chaton_sse_feed(&p, (const unsigned char *) stream
                                         + cut, STREAM_LEN - cut, to_chat,
                                         t), CHATON_DONE);
    }

    assert_int_equal(chaton_chat_end(t, out), CHATON_OK);
}


static void
test_write_realistic_split(void **state)
{
    int            mode;
    size_t         cut;
    message_t      m;
    chaton_buf_t   whole, out;
    chaton_chat_t  t;

    for (mode = 0; mode <= 1; mode++) {
        (void) an_new(&t, &whole, mode, NULL);
        run_split(&t, &whole, STREAM_LEN);

        if (mode) {
            stream_check(&whole, 0, &m);

            /* the sources' text, the thinking, the text; a signature
             * closes the thinking */
            assert_int_equal(m.nblocks, 3);
            assert_string_equal(m.type[0], "text");
            unit_assert_contains(block_text(&m, 0), "Sources:");
            assert_string_equal(m.type[1], "thinking");
            assert_true(m.signed_[1]);
            assert_string_equal(block_text(&m, 1),
                                "Let me think\xe2\x80\xa6");
            assert_string_equal(m.type[2], "text");
            unit_assert_contains(block_text(&m, 2),
                                 "Caf" E_ACUTE " " ZHONGWEN);

        } else {
            /* one thinking block first, the text joined */
            whole_check(&whole, &m);
            assert_int_equal(m.nblocks, 2);
            assert_string_equal(m.type[0], "thinking");
            assert_string_equal(block_text(&m, 0),
                                "Let me think\xe2\x80\xa6");
            assert_string_equal(m.type[1], "text");
            unit_assert_contains(block_text(&m, 1), "Sources:");
            unit_assert_contains(block_text(&m, 1),
                                 "Caf" E_ACUTE " " ZHONGWEN);
        }

        assert_string_equal(m.stop_reason, "end_turn");
        assert_null(strstr(unit_bufstr(&whole), LS));

        for (cut = 0; cut <= STREAM_LEN; cut++) {
            (void) an_new(&t, &out, mode, NULL);
            run_split(&t, &out, cut);

            if (out.len != whole.len
                || memcmp(out.data, whole.data, out.len) != 0)
            {
                print_error("split at %zu changes the output\n", cut);
                fail();
            }
        }
    }
}


/* deepseek-r1: reasoning, then the answer; then reasoning again */

static void
test_write_reasoning(void **state)
{
    message_t      m;
    chaton_buf_t   out;
    chaton_chat_t  t;

    (void) an_new(&t, &out, 1, NULL);

    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":null,"
                            "\"reasoning_content\":\"Hmm \\\"x\\\"\"}}]}"),
                     CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":null,"
                            "\"reasoning_content\":\" ok.\"}}]}"), CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                            "\"Answer\"}}]}"), CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":null,"
                            "\"reasoning_content\":\"more\"}}]}"), CHATON_OK);

    finish(&t, &out, 1, &m, 0);

    assert_int_equal(m.nblocks, 3);
    assert_string_equal(m.type[0], "thinking");
    assert_string_equal(block_text(&m, 0), "Hmm \"x\" ok.");
    assert_true(m.signed_[0]);
    assert_string_equal(m.type[1], "text");
    assert_string_equal(block_text(&m, 1), "Answer");
    assert_string_equal(m.type[2], "thinking");
    assert_string_equal(block_text(&m, 2), "more");

    /* whole: one thinking block first */
    (void) an_new(&t, &out, 0, NULL);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":null,"
                            "\"reasoning_content\":\"Hmm\"}}]}"), CHATON_OK);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                            "\"Answer\"}}]}"), CHATON_OK);
    finish(&t, &out, 0, &m, 0);

    assert_int_equal(m.nblocks, 2);
    assert_string_equal(m.type[0], "thinking");
    assert_string_equal(block_text(&m, 0), "Hmm");
    assert_string_equal(block_text(&m, 1), "Answer");
}


/*
 * A text block's deltas after its first are written by the translator
 * from the writer's head and tail: a later text block (after a thinking
 * one) must get its own index in them, not the first block's.
 */

static void
test_write_text_blocks_head(void **state)
{
    size_t         i;
    message_t      m;
    chaton_buf_t   out;
    chaton_chat_t  t;

    static const char  *evs[] = {
        "{\"choices\":[{\"delta\":{\"content\":\"A\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"B\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"C\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":null,"
            "\"reasoning_content\":\"r\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"D\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"E\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"F\"}}]}",
    };

    (void) an_new(&t, &out, 1, NULL);

    for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        assert_int_equal(ev(&t, evs[i]), CHATON_OK);

        if (i == 1) {
            /* the first delta made the head: the common chunk is known */
            assert_non_null(t.writer->head);
        }
    }

    finish(&t, &out, 1, &m, 0);

    assert_int_equal(m.nblocks, 3);
    assert_string_equal(m.type[0], "text");
    assert_string_equal(block_text(&m, 0), "ABC");
    assert_string_equal(m.type[1], "thinking");
    assert_string_equal(m.type[2], "text");
    assert_string_equal(block_text(&m, 2), "DEF");
}


static const chaton_tool_t  tools_f[] = {
    { (const unsigned char *) "get_weather", 11, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "read", 4, NULL, 0, NULL, 0, 0 },
};


static void
test_write_tool_calls(void **state)
{
    int             stream;
    char            e[1024];
    message_t       m;
    chaton_buf_t    out;
    chaton_chat_t   t;
    chaton_tools_t  tools;

    memset(&tools, 0, sizeof(chaton_tools_t));
    tools.tools = tools_f;
    tools.ntools = 2;
    tools.parallel = 1;
    memcpy(tools.nonce, NONCE, CHATON_TOOLS_NONCE_LEN);

    (void) snprintf(e, sizeof(e),
                    "{\"choices\":[{\"delta\":{\"content\":\"Sure.\\n"
                    "\\u003ctool_call_" NONCE "\\u003e{\\\"name\\\": "
                    "\\\"get_weather\\\", \\\"arguments\\\": {\\\"city\\\": "
                    "\\\"Paris\\\"}}\\u003c/tool_call_" NONCE "\\u003e\\n"
                    "\\u003ctool_call_" NONCE "\\u003e{\\\"name\\\": "
                    "\\\"read\\\", \\\"arguments\\\": {}}"
                    "\\u003c/tool_call_" NONCE "\\u003e\"}}]}");

    for (stream = 0; stream <= 1; stream++) {
        (void) an_new(&t, &out, stream, NULL);
        assert_int_equal(chaton_chat_tools(&t, &tools, 4096), CHATON_OK);

        assert_int_equal(ev(&t, e), CHATON_OK);
        finish(&t, &out, stream, &m, 0);

        assert_int_equal(m.nblocks, 3);
        assert_string_equal(m.type[0], "text");
        assert_string_equal(block_text(&m, 0), "Sure.");
        assert_string_equal(m.type[1], "tool_use");
        assert_string_equal(m.id[1], "toolu_" NONCE "_0");
        assert_string_equal(m.name[1], "get_weather");
        assert_string_equal(block_text(&m, 1), "{\"city\":\"Paris\"}");
        assert_string_equal(m.type[2], "tool_use");
        assert_string_equal(m.id[2], "toolu_" NONCE "_1");
        assert_string_equal(m.name[2], "read");
        assert_string_equal(block_text(&m, 2), "{}");
        assert_string_equal(m.stop_reason, "tool_use");
        assert_null(m.stop_sequence);
        assert_null(strstr(unit_bufstr(&out), "tool_call_"));
    }
}


/* the backend's "length": max_tokens; nothing at all: one empty block */

static void
test_write_length_and_empty(void **state)
{
    int            stream;
    message_t      m;
    chaton_buf_t   out;
    chaton_chat_t  t;

    for (stream = 0; stream <= 1; stream++) {
        (void) an_new(&t, &out, stream, NULL);
        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                                "\"Cut\"},\"finish_reason\":null}]}"),
                         CHATON_OK);
        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{},"
                                "\"finish_reason\":\"length\"}]}"),
                         CHATON_OK);
        finish(&t, &out, stream, &m, 0);

        assert_string_equal(m.stop_reason, "max_tokens");
        assert_string_equal(block_text(&m, 0), "Cut");

        (void) an_new(&t, &out, stream, NULL);
        finish(&t, &out, stream, &m, 0);

        assert_int_equal(m.nblocks, 1);
        assert_string_equal(m.type[0], "text");
        assert_string_equal(block_text(&m, 0), "");
        assert_string_equal(m.stop_reason, "end_turn");
        assert_true(m.output_tokens == 0);
    }
}


/* a delta event whose content is len bytes of s, JSON-escaped */

static const char *
delta(const char *s, size_t len)
{
    cJSON  *j;
    char   *p, *r;

    j = cJSON_CreateObject();
    assert_non_null(cJSON_AddStringToObject(j, "content",
                                            unit_strn(s, len)));
    p = cJSON_PrintUnformatted(j);
    assert_non_null(p);
    cJSON_Delete(j);

    r = unit_mem(strlen(p) + 64);
    (void) sprintf(r, "{\"choices\":[{\"delta\":%s}]}", p);
    cJSON_free(p);

    return r;
}


/* stop sequences, the answer split in two events at every byte */

static void
stops_run(const char *answer, const char *expect, const char *met)
{
    int            stream;
    size_t         cut, len;
    message_t      m;
    chaton_buf_t   out;
    chaton_chat_t  t;

    len = strlen(answer);

    for (stream = 0; stream <= 1; stream++) {
        for (cut = 0; cut <= len; cut++) {

            /* the backend's strings are whole characters */
            if ((answer[cut] & 0xc0) == 0x80) {
                continue;
            }

            (void) an_new(&t, &out, stream, &req);

            /* text read for stops never takes the fast path */
            assert_false(t.writer->ready);

            if (cut) {
                assert_int_equal(ev(&t, delta(answer, cut)), CHATON_OK);
            }
            if (cut < len) {
                assert_int_equal(ev(&t, delta(answer + cut, len - cut)),
                                 CHATON_OK);
            }

            assert_false(t.writer->ready);

            finish(&t, &out, stream, &m, chaton_usage_tokens(&req.prompt));

            if (strcmp(block_text(&m, 0), expect) != 0) {
                print_error("cut %zu, %s: \"%s\", expected \"%s\"\n", cut,
                            stream ? "stream" : "whole", block_text(&m, 0),
                            expect);
                fail();
            }

            assert_int_equal(m.nblocks, 1);

            if (met) {
                assert_string_equal(m.stop_reason, "stop_sequence");
                assert_non_null(m.stop_sequence);
                assert_string_equal(m.stop_sequence, met);

            } else {
                assert_string_equal(m.stop_reason, "end_turn");
                assert_null(m.stop_sequence);
            }
        }
    }
}


static void
test_write_stop_sequences(void **state)
{
    parse_ok(HEAD "\"stop_sequences\":[\"\\n\\nHuman:\",\"END\",\"NDX\","
             "\"" EMOJI "!\"],"
             "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");

    stops_run("Hello there\n\nHuman: more text END", "Hello there", "\n\nHuman:");
    stops_run("Hello END world", "Hello ", "END");
    /* ends first: END (at 2..5) before NDX (at 3..6) */
    stops_run("abENDX", "ab", "END");
    /* a prefix that never completes is text after all */
    stops_run("Almost\n\nHum", "Almost\n\nHum", NULL);
    stops_run("EN EN ND", "EN EN ND", NULL);
    /* multi-byte: the text before it stays whole UTF-8 */
    stops_run("caf" E_ACUTE " " EMOJI "! rest", "caf" E_ACUTE " ", EMOJI "!");
    /* at the very start: an empty answer that stopped */
    stops_run("END", "", "END");
}


/* no stop sequences: the stream takes text in JSON's form as it is */

static void
test_write_escaped_lane(void **state)
{
    message_t      m;
    chaton_buf_t   out;
    chaton_chat_t  t;
    size_t         n;

    (void) an_new(&t, &out, 1, NULL);
    assert_false(t.writer->ready);

    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                            "\"One\"}}]}"), CHATON_OK);
    /* the text block is open: ready */
    assert_true(t.writer->ready);

    n = t.writer->chunks;
    assert_int_equal(t.writer->ops->escaped(t.writer, &out,
                                            (const unsigned char *)
                                            " \\\"two\\\"", 10), CHATON_OK);
    assert_int_equal(t.writer->chunks, n + 1);

    finish(&t, &out, 1, &m, 0);
    assert_string_equal(block_text(&m, 0), "One \"two\"");

    /* whole: ready from the start, the text kept as it is */
    (void) an_new(&t, &out, 0, NULL);
    assert_true(t.writer->ready);
    assert_int_equal(t.writer->ops->escaped(t.writer, &out,
                                            (const unsigned char *)
                                            "a\\nb", 4), CHATON_OK);
    finish(&t, &out, 0, &m, 0);
    assert_string_equal(block_text(&m, 0), "a\nb");
}


static void
test_write_error_event(void **state)
{
    size_t          i;
    events_t        evs;
    chaton_buf_t    out;
    chaton_chat_t   t;
    chaton_error_t  e;
    cJSON          *x;

    static const struct {
        int          status;
        const char  *type;
    } map[] = {
        { 400, "invalid_request_error" },
        { 404, "not_found_error" },
        { 401, "authentication_error" },
        { 403, "permission_error" },
        { 413, "request_too_large" },
        { 429, "rate_limit_error" },
        { 529, "overloaded_error" },
        { 500, "api_error" },
        { 502, "api_error" },
        { 504, "timeout_error" },
        { 422, "invalid_request_error" },
    };

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        assert_string_equal(chaton_anthropic_error_type(map[i].status),
                            map[i].type);

        (void) an_new(&t, &out, 1, NULL);
        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                                "\"Hi\"}}]}"), CHATON_OK);
        out.len = 0;

        memset(&e, 0, sizeof(e));
        (void) chaton_error_set(&e, map[i].status, NULL, NULL,
                                "went \"wrong\" %d", map[i].status);
        assert_int_equal(chaton_chat_error_event(&t, &out, &e), CHATON_OK);

        events_parse(&out, &evs);
        assert_int_equal(evs.n, 1);
        assert_string_equal(evs.name[0], "error");
        unit_jkeys_exactly(evs.data[0], "type", "error", NULL);
        x = cJSON_GetObjectItemCaseSensitive(evs.data[0], "error");
        unit_jkeys_exactly(x, "type", "message", NULL);
        assert_string_equal(unit_jstr(x, "type"), map[i].type);
        assert_string_equal(unit_jstr(x, "message"),
                            unit_strn(e.text, e.text_len));
    }
}


static void
test_ping(void **state)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_anthropic_ping(&b), CHATON_OK);
    assert_string_equal(unit_bufstr(&b),
                        "event: ping\ndata: {\"type\": \"ping\"}\n\n");
}


/* ---- the models list ------------------------------------------------------ */


static void
test_models_anthropic(void **state)
{
    int            n;
    chaton_buf_t   b;
    cJSON         *j, *data, *m, *first, *last;

    static const chaton_model_t  table[] = {
        { "claude-3-5-sonnet", 17, "claude-3-5-sonnet", 17, 1, 1729555200,
          0 },
        { "hidden", 6, "claude", 6, 0, 0, 0 },
        { "claude-3-5-sonnet", 17, "claude", 6, 1, 0, 0 },   /* shadowed */
        { "deepseek-r1", 11, "deepseek-r1", 11, 1, 1737331200, 0 },
    };

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_models_list_anthropic(&b, table, 4), CHATON_OK);

    j = unit_json(b.data, b.len);
    unit_jkeys_exactly(j, "data", "has_more", "first_id", "last_id", NULL);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j,
                                                               "has_more")));
    assert_string_equal(unit_jstr(j, "first_id"), "claude-3-5-sonnet");
    assert_string_equal(unit_jstr(j, "last_id"), "deepseek-r1");

    data = cJSON_GetObjectItemCaseSensitive(j, "data");
    assert_int_equal(cJSON_GetArraySize(data), 2);

    first = cJSON_GetArrayItem(data, 0);
    last = cJSON_GetArrayItem(data, 1);

    n = 0;
    cJSON_ArrayForEach(m, data) {
        unit_jkeys_exactly(m, "type", "id", "display_name", "created_at",
                           NULL);
        assert_string_equal(unit_jstr(m, "type"), "model");
        n++;
    }
    assert_int_equal(n, 2);

    assert_string_equal(unit_jstr(first, "id"), "claude-3-5-sonnet");
    assert_string_equal(unit_jstr(first, "display_name"),
                        "claude-3-5-sonnet");
    assert_string_equal(unit_jstr(first, "created_at"),
                        "2024-10-22T00:00:00Z");
    assert_string_equal(unit_jstr(last, "created_at"),
                        "2025-01-20T00:00:00Z");

    /* nothing listed: null ids */
    b.len = 0;
    assert_int_equal(chaton_models_list_anthropic(&b, table + 1, 1),
                     CHATON_OK);
    j = unit_json(b.data, b.len);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                                            j, "data")), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
                                                              "first_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
                                                              "last_id")));
}


/* the messages go to the scratch allocator; stops and tools stay */

static void
test_parse_scratch(void **state)
{
    parse_scratch(HEAD "\"system\":\"Be brief.\","
                  "\"stop_sequences\":[\"END\"],"
                  "\"tools\":[{\"name\":\"read\",\"input_schema\":"
                  "{\"type\":\"object\"}}],"
                  "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
                  "{\"role\":\"assistant\",\"content\":[{\"type\":"
                  "\"tool_use\",\"id\":\"tu_1\",\"name\":\"read\","
                  "\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":"
                  "\"tool_result\",\"tool_use_id\":\"tu_1\",\"content\":"
                  "\"ok\"}]}]}");

    assert_string_equal(unit_strn(req.model, req.model_len), MODEL);
    assert_int_equal(req.nstop, 1);
    assert_string_equal(unit_strn(req.stop[0].data, req.stop[0].len), "END");
    assert_int_equal(req.tools.ntools, 1);
    assert_string_equal(unit_strn(req.tools.tools[0].name,
                                  req.tools.tools[0].name_len), "read");
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        atest(test_parse_minimal),
        atest(test_parse_system_and_blocks),
        atest(test_parse_count),
        atest(test_parse_stops),
        atest(test_parse_images),
        atest(test_parse_tool_loop),
        atest(test_parse_tool_choice),
        atest(test_parse_web_search),
        atest(test_parse_unknown_model),
        atest(test_parse_refusals),
        atest(test_parse_image_limits),
        atest(test_write_text),
        atest(test_write_realistic_split),
        atest(test_write_reasoning),
        atest(test_write_text_blocks_head),
        atest(test_write_tool_calls),
        atest(test_write_length_and_empty),
        atest(test_write_stop_sequences),
        atest(test_write_escaped_lane),
        atest(test_write_error_event),
        atest(test_ping),
        atest(test_models_anthropic),
        atest(test_parse_scratch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
