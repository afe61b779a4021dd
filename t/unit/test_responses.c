/*
 * dialect_openai_responses.h: Responses requests -> the neutral
 * conversation (and refusals, each naming its field), and the writer:
 * backend events through a chaton_chat_t -> typed SSE events with
 * sequence_number or one response object, every event parsed back and
 * checked in order.
 */

#include "unit.h"
#include "chaton_request.h"
#include "chaton_sse.h"
#include "dialect_openai_responses.h"
#include "chaton_rstore.h"
#include "stream.h"


#define NONCE    "abcd1234"
#define RESP_ID  "resp_gw0001"
#define MODEL    "gpt-4o"

/* a PNG's first bytes as a data URL */
#define PNG_URL  "data:image/png;base64,iVBORw0KGgo="


#define UNIT_PARSE  chaton_responses_parse
#include "parse.h"

#define rtest(f)  ptest(f)


#define HEAD  "{\"model\":\"" MODEL "\","


/* ---- the parser ---------------------------------------------------------- */


static void
test_parse_string_input(void **state)
{
    parse_ok(HEAD "\"input\":\"Hello\",\"instructions\":\"Be brief.\","
             "\"max_output_tokens\":50,\"stream\":true,\"store\":false,"
             "\"temperature\":0.5,\"top_p\":1,\"truncation\":\"auto\","
             "\"user\":\"u\",\"metadata\":{\"a\":\"b\"},"
             "\"reasoning\":{\"effort\":\"low\"},"
             "\"include\":[\"reasoning.encrypted_content\"]}");

    assert_int_equal(req.nmessages, 2);
    assert_string_equal(req.messages[0].role, "system");
    assert_string_equal(content(0), "Be brief.");
    assert_string_equal(req.messages[1].role, "user");
    assert_string_equal(content(1), "Hello");
    assert_true(req.max_tokens == 50);
    assert_true(req.stream);
    assert_false(req.store);
    assert_null(req.items);
    assert_string_equal(unit_strn(req.model, req.model_len), MODEL);
    assert_non_null(req.entry);
    assert_false(req.extract);
}


static void
test_parse_items(void **state)
{
    parse_ok(HEAD "\"input\":["
             "{\"role\":\"developer\",\"content\":\"Dev.\"},"
             "{\"type\":\"message\",\"role\":\"user\",\"content\":["
             "{\"type\":\"input_text\",\"text\":\"Look\"},"
             "{\"type\":\"input_image\",\"image_url\":\"" PNG_URL "\"},"
             "{\"type\":\"input_image\",\"image_url\":"
             "\"https://example.com/a.png\"}]},"
             "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},"
             "{\"role\":\"assistant\",\"content\":[{\"type\":"
             "\"output_text\",\"text\":\"A cat.\"}]},"
             "{\"role\":\"user\",\"content\":\"Thanks\"}]}");

    assert_int_equal(req.nmessages, 4);
    assert_string_equal(req.messages[0].role, "system");
    assert_string_equal(content(0), "Dev.");
    assert_string_equal(req.messages[1].role, "user");
    assert_string_equal(content(1), "Look");
    assert_int_equal(req.messages[1].nimages, 2);
    assert_int_equal(req.nimages, 2);
    assert_string_equal(req.images[0].mime, "image/png");
    assert_memory_equal(req.images[0].data, "\x89PNG\r\n\x1a\n", 8);
    assert_string_equal(unit_strn(req.images[1].url, req.images[1].url_len),
                        "https://example.com/a.png");
    assert_string_equal(req.messages[2].role, "assistant");
    assert_string_equal(content(2), "A cat.");
    assert_string_equal(content(3), "Thanks");
}


static void
test_parse_tools(void **state)
{
    parse_ok(HEAD "\"input\":\"Weather?\",\"tools\":["
             "{\"type\":\"function\",\"name\":\"get_weather\","
             "\"description\":\"Weather\",\"parameters\":{\"type\":"
             "\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}},"
             "{\"type\":\"web_search_preview\"}],"
             "\"tool_choice\":{\"type\":\"function\",\"name\":"
             "\"get_weather\"},\"parallel_tool_calls\":false,"
             "\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"w\","
             "\"schema\":{\"type\":\"object\"}}}}");

    assert_int_equal(req.tools.ntools, 1);
    assert_string_equal(unit_strn(req.tools.tools[0].name,
                                  req.tools.tools[0].name_len),
                        "get_weather");
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_FUNCTION);
    assert_false(req.tools.parallel);
    assert_true(req.web_search);
    assert_true(req.extract);
    assert_int_equal(req.format, CHATON_FORMAT_JSON_SCHEMA);
    assert_string_equal(unit_strn(req.schema, req.schema_len),
                        "{\"type\":\"object\"}");

    /* the tools' instructions are the first system message */
    assert_string_equal(req.messages[0].role, "system");
    assert_non_null(strstr(content(0), "get_weather"));

    parse_ok(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"function\","
             "\"name\":\"f\",\"parameters\":{}}],\"tool_choice\":"
             "\"required\",\"text\":{\"format\":{\"type\":"
             "\"json_object\"}}}");
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_REQUIRED);
    assert_int_equal(req.format, CHATON_FORMAT_JSON_OBJECT);

    parse_ok(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"function\","
             "\"name\":\"f\",\"parameters\":{}}],\"tool_choice\":\"none\"}");
    assert_false(req.extract);
}


/*
 * web_search: ChatOn's web search; external_web_access false (cached
 * results only, at OpenAI) is none; a live one wins; none: the location's
 */

static void
test_parse_web_search(void **state)
{
    parse_ok(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"web_search\","
             "\"external_web_access\":true}]}");
    assert_true(req.web_search);

    parse_ok(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"web_search\","
             "\"external_web_access\":false}]}");
    assert_false(req.web_search);
    assert_int_equal(req.tools.ntools, 0);

    conf.web_search = 1;
    parse_ok(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"web_search\","
             "\"external_web_access\":false}]}");
    assert_false(req.web_search);

    parse_ok(HEAD "\"input\":\"x\"}");
    assert_true(req.web_search);

    conf.web_search = 0;
    parse_ok(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"web_search\","
             "\"external_web_access\":false},{\"type\":"
             "\"web_search_preview\"}]}");
    assert_true(req.web_search);

    parse_ok(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"web_search\","
             "\"external_web_access\":null}]}");
    assert_true(req.web_search);

    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"function\","
            "\"name\":\"f\"},{\"type\":\"web_search\","
            "\"external_web_access\":\"no\"}]}",
            "tools[1].external_web_access");
}


/*
 * A namespace (Codex's multi_agent_v1): its tools offered as
 * "<namespace>.<name>" with its description first, beside a top-level
 * tool of the same name; a call of one in the history, with its
 * namespace, is that tool's; tool_choice names one with "namespace"
 */

#define NS_TOOLS                                                              \
    "\"tools\":[{\"type\":\"function\",\"name\":\"spawn\","                \
    "\"description\":\"Top.\"},"                                            \
    "{\"type\":\"namespace\",\"name\":\"agents\",\"description\":"        \
    "\"Sub-agents.\",\"tools\":[{\"type\":\"function\",\"name\":"         \
    "\"spawn\",\"description\":\"Start one.\",\"parameters\":{\"type\":"  \
    "\"object\"},\"strict\":false},{\"type\":\"function\",\"name\":"      \
    "\"wait\"},{\"type\":\"custom\",\"name\":\"note\"}]},"                \
    "{\"type\":\"web_search\",\"external_web_access\":false}]"

static void
test_parse_namespace(void **state)
{
    const chaton_tool_t  *t;

    parse_ok(HEAD "\"input\":["
             "{\"role\":\"user\",\"content\":\"go\"},"
             "{\"type\":\"function_call\",\"call_id\":\"call_1\","
             "\"namespace\":\"agents\",\"name\":\"spawn\","
             "\"arguments\":\"{}\"},"
             "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
             "\"output\":\"started\"}]," NS_TOOLS "}");

    assert_int_equal(req.tools.ntools, 4);
    t = req.tools.tools;
    assert_string_equal(unit_strn(t[0].name, t[0].name_len), "spawn");
    assert_string_equal(unit_strn(t[1].name, t[1].name_len),
                        "agents.spawn");
    assert_string_equal(unit_strn(t[1].description, t[1].description_len),
                        "Sub-agents.\n\nStart one.");
    assert_string_equal(unit_strn(t[1].parameters, t[1].parameters_len),
                        "{\"type\":\"object\"}");
    assert_string_equal(unit_strn(t[2].name, t[2].name_len), "agents.wait");
    assert_string_equal(unit_strn(t[2].description, t[2].description_len),
                        "Sub-agents.");
    assert_string_equal(unit_strn(t[3].name, t[3].name_len), "agents.note");
    assert_true(t[3].custom);
    assert_false(req.web_search);
    assert_non_null(strstr(content(0), "agents.spawn"));

    /* the call in the history is the namespace's tool's; its output too */
    assert_int_equal(req.messages[2].ncalls, 1);
    assert_string_equal(unit_strn(req.messages[2].calls[0].name,
                                  req.messages[2].calls[0].name_len),
                        "agents.spawn");
    assert_non_null(strstr(content(2), "\"agents.spawn\""));
    assert_non_null(strstr(content(3), "name=\"agents.spawn\""));

    parse_ok(HEAD "\"input\":\"x\"," NS_TOOLS ",\"tool_choice\":{"
             "\"type\":\"function\",\"name\":\"wait\",\"namespace\":"
             "\"agents\"}}");
    assert_int_equal(req.tools.choice, CHATON_TOOL_CHOICE_FUNCTION);
    assert_string_equal(unit_strn(req.tools.choice_name,
                                  req.tools.choice_name_len), "agents.wait");

    parse_ok(HEAD "\"input\":\"x\"," NS_TOOLS ",\"tool_choice\":{"
             "\"type\":\"function\",\"name\":\"spawn\"}}");
    assert_string_equal(unit_strn(req.tools.choice_name,
                                  req.tools.choice_name_len), "spawn");

    refused(HEAD "\"input\":\"x\"," NS_TOOLS ",\"tool_choice\":{"
            "\"type\":\"function\",\"name\":\"wait\"}}",
            "tool_choice.name");
    refused(HEAD "\"input\":\"x\"," NS_TOOLS ",\"tool_choice\":{"
            "\"type\":\"function\",\"name\":\"wait\",\"namespace\":1}}",
            "tool_choice.namespace");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"namespace\","
            "\"description\":\"d\",\"tools\":[]}]}", "tools[0].name");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"namespace\","
            "\"name\":\"a.b\",\"tools\":[]}]}", "tools[0].name");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"namespace\","
            "\"name\":\"n\",\"tools\":[]}]}", "tools[0].tools");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"namespace\","
            "\"name\":\"n\",\"description\":5,\"tools\":[]}]}",
            "tools[0].description");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"web_search\"},"
            "{\"type\":\"namespace\",\"name\":\"n\",\"tools\":["
            "{\"type\":\"function\",\"name\":\"f\"},"
            "{\"type\":\"web_search\"}]}]}", "tools[1].tools[1].type");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"namespace\","
            "\"name\":\"n\",\"tools\":[{\"type\":\"function\","
            "\"name\":\"bad name\"}]}]}", "tools[0].tools[0].name");
    refused(HEAD "\"input\":[{\"type\":\"function_call\",\"call_id\":"
            "\"c\",\"name\":\"f\",\"namespace\":5,\"arguments\":"
            "\"{}\"}]}", "input[0].namespace");
}


/* the tool loop: a call, its output answering it by call_id */

static void
test_parse_tool_loop(void **state)
{
    parse_ok(HEAD "\"input\":["
             "{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
             "{\"type\":\"function_call\",\"call_id\":\"call_1\","
             "\"name\":\"get_weather\",\"arguments\":"
             "\"{\\\"city\\\": \\\"Paris\\\"}\"},"
             "{\"type\":\"function_call\",\"call_id\":\"call_2\","
             "\"name\":\"get_time\",\"arguments\":\"{}\"},"
             "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
             "\"output\":\"18C\"},"
             "{\"type\":\"function_call_output\",\"call_id\":\"call_2\","
             "\"output\":\"noon\"}],"
             "\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\","
             "\"parameters\":{}},{\"type\":\"function\",\"name\":"
             "\"get_time\",\"parameters\":{}}]}");

    /* system (tools), user, one assistant with both calls, two results */
    assert_int_equal(req.nmessages, 5);
    assert_string_equal(req.messages[2].role, "assistant");
    assert_int_equal(req.messages[2].ncalls, 2);
    assert_string_equal(unit_strn(req.messages[2].calls[0].arguments,
                                  req.messages[2].calls[0].arguments_len),
                        "{\"city\":\"Paris\"}");
    assert_non_null(strstr(content(2), "get_time"));
    assert_string_equal(req.messages[3].role, "user");
    assert_non_null(strstr(content(3), "18C"));
    assert_non_null(strstr(content(3), "call_1"));
    assert_non_null(strstr(content(4), "noon"));
}


/* the response object repeats the request's fields, or the defaults */

static void
test_parse_echo(void **state)
{
    cJSON       *o, *v;
    chaton_buf_t  b;

    parse_ok(HEAD "\"input\":\"x\",\"instructions\":\"Be brief.\","
             "\"max_output_tokens\":64,\"temperature\":0.5,"
             "\"tools\":[{\"type\":\"function\",\"name\":\"f\"}],"
             "\"tool_choice\":\"required\",\"parallel_tool_calls\":false,"
             "\"text\":{\"verbosity\":\"low\"},\"metadata\":{\"k\":\"v\"},"
             "\"reasoning\":null,\"prompt_cache_key\":\"pk\"}");

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_buf_literal(&b, "{"), CHATON_OK);
    assert_true(req.echo_len > 1 && req.echo[0] == ',');
    assert_int_equal(chaton_buf_append(&b, req.echo + 1, req.echo_len - 1),
                     CHATON_OK);
    assert_int_equal(chaton_buf_literal(&b, "}"), CHATON_OK);
    o = unit_json(b.data, b.len);

    assert_string_equal(unit_jstr(o, "instructions"), "Be brief.");
    assert_true(unit_jnum(o, "max_output_tokens") == 64);
    assert_true(unit_jnum(o, "temperature") == 0.5);
    assert_true(unit_jnum(o, "top_p") == 1);
    assert_string_equal(unit_jstr(o, "tool_choice"), "required");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "parallel_tool_calls")));
    v = cJSON_GetObjectItem(o, "tools");
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(v, 0), "name"), "f");
    v = cJSON_GetObjectItem(o, "text");
    assert_string_equal(unit_jstr(v, "verbosity"), "low");
    assert_string_equal(unit_jstr(cJSON_GetObjectItem(v, "format"), "type"),
                        "text");
    assert_string_equal(unit_jstr(cJSON_GetObjectItem(o, "metadata"), "k"),
                        "v");
    v = cJSON_GetObjectItem(o, "reasoning");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "effort")));
    assert_string_equal(unit_jstr(o, "prompt_cache_key"), "pk");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "user")));
    assert_string_equal(unit_jstr(o, "truncation"), "disabled");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "background")));
    assert_null(cJSON_GetObjectItem(o, "store"));
    assert_true(req.store);
}


/* a custom tool: a function of one string; its calls in the history */

static void
test_parse_custom(void **state)
{
    parse_ok(HEAD "\"input\":["
             "{\"role\":\"user\",\"content\":\"patch it\"},"
             "{\"type\":\"custom_tool_call\",\"call_id\":\"call_p\","
             "\"name\":\"apply_patch\",\"input\":\"*** Begin Patch\\nX\"},"
             "{\"type\":\"custom_tool_call_output\",\"call_id\":\"call_p\","
             "\"output\":\"Done!\"}],"
             "\"tools\":[{\"type\":\"custom\",\"name\":\"apply_patch\","
             "\"description\":\"Patch files.\",\"format\":{\"type\":"
             "\"grammar\",\"syntax\":\"lark\",\"definition\":"
             "\"start: begin\"}},{\"type\":\"custom\",\"name\":\"free\"}]}");

    assert_int_equal(req.tools.ntools, 2);
    assert_true(req.tools.tools[0].custom);
    assert_true(req.tools.tools[1].custom);
    assert_non_null(strstr(unit_strn(req.tools.tools[0].parameters,
                                     req.tools.tools[0].parameters_len),
                           "\"input\""));
    assert_non_null(strstr(unit_strn(req.tools.tools[0].description,
                                     req.tools.tools[0].description_len),
                           "Patch files.\n\nThe input is free text"));
    assert_non_null(strstr(unit_strn(req.tools.tools[0].description,
                                     req.tools.tools[0].description_len),
                           "start: begin"));
    assert_null(req.tools.tools[1].description);

    /* system (tools), user, the assistant's call, its result */
    assert_int_equal(req.nmessages, 4);
    assert_int_equal(req.messages[2].ncalls, 1);
    assert_string_equal(unit_strn(req.messages[2].calls[0].arguments,
                                  req.messages[2].calls[0].arguments_len),
                        "{\"input\":\"*** Begin Patch\\nX\"}");
    assert_non_null(strstr(content(3), "Done!"));
}


/* the store's side: what previous_response_id names, from conf */

static const char  *stored_items;
static int          stored_asked;

static int
stored(void *data, const unsigned char *id, size_t len,
    const unsigned char **items, size_t *items_len, chaton_error_t *e)
{
    stored_asked++;

    if (stored_items == NULL || len != 6 || memcmp(id, "resp_1", 6) != 0) {
        return chaton_rstore_not_found(e, id, len, 1);
    }

    *items = (const unsigned char *) stored_items;
    *items_len = strlen(stored_items);

    return CHATON_OK;
}


/* a store holding "resp_1" with items; this answer is "resp_abc" */

static void
store_on(const char *items)
{
    conf.previous = stored;
    conf.response_id = (const unsigned char *) "resp_abc";
    conf.response_id_len = 8;

    stored_items = items;
    stored_asked = 0;
}


static void
test_parse_previous(void **state)
{
    cJSON  *items, *it;

    store_on("[{\"id\":\"msg_1_i0\",\"type\":\"message\",\"role\":"
             "\"user\",\"content\":[{\"type\":\"input_text\","
             "\"text\":\"Weather?\"}]},"
             "{\"id\":\"fc_1_0\",\"type\":\"function_call\","
             "\"status\":\"completed\",\"call_id\":\"call_w\","
             "\"name\":\"get_weather\",\"arguments\":\"{}\"}]");

    /* the stored items first; an output answers the stored call */

    parse_ok(HEAD "\"previous_response_id\":\"resp_1\","
             "\"instructions\":\"New rules.\","
             "\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\"}],"
             "\"input\":[{\"type\":\"function_call_output\",\"call_id\":"
             "\"call_w\",\"output\":\"sunny\"},"
             "{\"type\":\"item_reference\",\"id\":\"msg_1_i0\"}]}");

    /* system (instructions, tools), user, assistant call, result, user */
    assert_int_equal(req.nmessages, 5);
    assert_non_null(strstr(content(0), "New rules."));
    assert_string_equal(content(1), "Weather?");
    assert_int_equal(req.messages[2].ncalls, 1);
    assert_non_null(strstr(content(3), "sunny"));
    assert_string_equal(content(4), "Weather?");

    /* kept: the stored items, then the request's, with ids */
    items = unit_json(req.items, req.items_len);
    assert_int_equal(cJSON_GetArraySize(items), 4);
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(items, 1), "id"),
                        "fc_1_0");
    it = cJSON_GetArrayItem(items, 2);
    assert_string_equal(unit_jstr(it, "id"), "fco_abc_i0");
    assert_string_equal(unit_jstr(it, "type"), "function_call_output");
    it = cJSON_GetArrayItem(items, 3);
    assert_string_equal(unit_jstr(it, "id"), "msg_1_i0");
    assert_string_equal(unit_jstr(it, "type"), "message");

    /* a string input is kept as a typed message with a part */
    parse_ok(HEAD "\"previous_response_id\":\"resp_1\",\"input\":\"more\"}");
    items = unit_json(req.items, req.items_len);
    assert_int_equal(cJSON_GetArraySize(items), 3);
    it = cJSON_GetArrayItem(items, 2);
    assert_string_equal(unit_jstr(it, "id"), "msg_abc_i0");
    assert_string_equal(unit_jstr(it, "role"), "user");
    it = cJSON_GetArrayItem(cJSON_GetObjectItem(it, "content"), 0);
    assert_string_equal(unit_jstr(it, "type"), "input_text");
    assert_string_equal(unit_jstr(it, "text"), "more");

    /* an assistant's string content is output_text */
    parse_ok(HEAD "\"input\":[{\"role\":\"assistant\",\"content\":\"a\"},"
             "{\"role\":\"user\",\"content\":\"b\"}]}");
    items = unit_json(req.items, req.items_len);
    it = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0),
                                                "content"), 0);
    assert_string_equal(unit_jstr(it, "type"), "output_text");

    /* store false: nothing kept */
    parse_ok(HEAD "\"store\":false,\"input\":\"x\"}");
    assert_null(req.items);

    /* unknown: OpenAI's 400 */
    refused(HEAD "\"previous_response_id\":\"resp_2\",\"input\":\"x\"}",
            "previous_response_id");
    assert_string_equal(err.code, "previous_response_not_found");

    /* a reference to an item not there */
    refused(HEAD "\"previous_response_id\":\"resp_1\",\"input\":["
            "{\"type\":\"item_reference\",\"id\":\"msg_zz\"}]}",
            "input[0].id");

    /* a damaged entry is not found */
    stored_items = "[{";
    refused(HEAD "\"previous_response_id\":\"resp_1\",\"input\":\"x\"}",
            "previous_response_id");
}


/*
 * A bare item_reference (the AI SDK's, to an earlier answer): the
 * response its id names, from the store; one look-up for its items
 */

static void
test_parse_reference(void **state)
{
    cJSON  *items;

    store_on("[{\"id\":\"msg_1_i0\",\"type\":\"message\",\"role\":"
             "\"user\",\"content\":[{\"type\":\"input_text\","
             "\"text\":\"first\"}]},"
             "{\"id\":\"rs_1_0\",\"type\":\"reasoning\","
             "\"summary\":[]},"
             "{\"id\":\"msg_1_1\",\"type\":\"message\",\"status\":"
             "\"completed\",\"role\":\"assistant\",\"content\":[{"
             "\"type\":\"output_text\",\"annotations\":[],"
             "\"text\":\"the answer\"}]}]");

    parse_ok(HEAD "\"input\":["
             "{\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
             "\"text\":\"first\"}]},"
             "{\"type\":\"item_reference\",\"id\":\"rs_1_0\"},"
             "{\"type\":\"item_reference\",\"id\":\"msg_1_1\"},"
             "{\"role\":\"user\",\"content\":\"second\"}]}");

    assert_int_equal(req.nmessages, 3);
    assert_string_equal(content(0), "first");
    assert_string_equal(req.messages[1].role, "assistant");
    assert_string_equal(content(1), "the answer");
    assert_string_equal(content(2), "second");
    assert_int_equal(stored_asked, 1);

    /* kept as the items they name, ids and all */
    items = unit_json(req.items, req.items_len);
    assert_int_equal(cJSON_GetArraySize(items), 4);
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(items, 2), "id"),
                        "msg_1_1");

    /* an input item as stored, by the id the gateway gave it */
    parse_ok(HEAD "\"input\":[{\"type\":\"item_reference\",\"id\":"
             "\"msg_1_i0\"}]}");
    assert_int_equal(req.nmessages, 1);
    assert_string_equal(content(0), "first");

    /* no such item, no such response, no id of the gateway's, no store */
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":\"x\"},"
            "{\"type\":\"item_reference\",\"id\":\"msg_1_7\"}]}",
            "input[1].id");
    assert_string_equal(unit_strn(err.text, err.text_len),
                        "Item with id 'msg_1_7' not found.");
    refused(HEAD "\"input\":[{\"type\":\"item_reference\",\"id\":"
            "\"msg_2_0\"}]}", "input[0].id");
    assert_string_equal(err.code, "invalid_value");
    stored_asked = 0;
    refused(HEAD "\"input\":[{\"type\":\"item_reference\",\"id\":"
            "\"msg_1_x\"}]}", "input[0].id");
    refused(HEAD "\"input\":[{\"type\":\"item_reference\",\"id\":"
            "\"msg_1\"}]}", "input[0].id");
    refused(HEAD "\"input\":[{\"type\":\"item_reference\",\"id\":"
            "\"msg__0\"}]}", "input[0].id");
    assert_int_equal(stored_asked, 0);

    conf.previous = NULL;
    refused(HEAD "\"input\":[{\"type\":\"item_reference\",\"id\":"
            "\"msg_1_1\"}]}", "input[0].id");
}


static void
test_parse_refusals(void **state)
{
    refused("{\"input\":\"x\"}", "model");
    refused(HEAD "\"stream\":true}", "input");
    refused(HEAD "\"input\":5}", "input");
    refused(HEAD "\"input\":[]}", "input");
    refused(HEAD "\"input\":[1]}", "input[0]");
    refused(HEAD "\"input\":[{\"type\":\"item_reference\",\"id\":\"x\"}]}",
            "input[0].id");
    refused(HEAD "\"input\":[{\"type\":\"item_reference\"}]}",
            "input[0].id");
    refused(HEAD "\"input\":\"x\",\"previous_response_id\":\"resp_1\"}",
            "previous_response_id");
    refused(HEAD "\"input\":\"x\",\"background\":true}", "background");
    refused(HEAD "\"input\":\"x\",\"conversation\":\"c\"}",
            "conversation");
    refused(HEAD "\"input\":\"x\",\"prompt\":{}}", "prompt");
    refused(HEAD "\"input\":\"x\",\"max_output_tokens\":1.5}",
            "max_output_tokens");
    refused(HEAD "\"input\":\"x\",\"service_tier\":\"auto|flex\"}",
            "service_tier");
    refused(HEAD "\"input\":\"x\",\"text\":{\"verbosity\":\"x\"}}",
            "text.verbosity");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"local_shell\"}]}",
            "tools[0].type");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"custom\","
            "\"name\":\"p\",\"format\":{\"type\":\"grammar\"}}]}",
            "tools[0].format");
    refused(HEAD "\"input\":[{\"type\":\"custom_tool_call\",\"call_id\":"
            "\"c\",\"name\":\"p\",\"input\":1}]}", "input[0].input");
    refused(HEAD "\"input\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
            "input[0].role");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":\"x\"},"
            "{\"type\":\"computer_call\"}]}", "input[1].type");
    refused(HEAD "\"input\":[\"x\",{\"role\":\"user\"}]}", "input[0]");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":\"x\"},"
            "{\"role\":\"user\"}]}", "input[1].content");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":5}]}",
            "input[0].content");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
            "\"input_file\",\"file_id\":\"f\"}]}]}",
            "input[0].content[0].type");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
            "\"input_text\",\"text\":1}]}]}", "input[0].content[0].text");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
            "\"input_image\",\"file_id\":\"f\"}]}]}",
            "input[0].content[0].image_url");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
            "\"input_image\",\"image_url\":\"ftp://x\"}]}]}",
            "input[0].content[0].image_url");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":\"x\"},"
            "{\"type\":\"function_call_output\",\"call_id\":\"call_9\","
            "\"output\":\"y\"}]}", "input[1].call_id");
    refused(HEAD "\"input\":[{\"type\":\"function_call\",\"call_id\":"
            "\"c\",\"name\":\"f\",\"arguments\":\"[1]\"}]}",
            "input[0].arguments");
    refused(HEAD "\"input\":[{\"type\":\"function_call\",\"name\":\"f\","
            "\"arguments\":\"{}\"}]}", "input[0].call_id");
    refused(HEAD "\"input\":[{\"role\":\"user\",\"content\":\"x\"},"
            "{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\","
            "\"arguments\":\"{}\"},{\"type\":\"function_call_output\","
            "\"call_id\":\"c\",\"output\":5}]}", "input[2].output");
    refused(HEAD "\"input\":\"x\",\"instructions\":1}", "instructions");
    refused(HEAD "\"input\":\"x\",\"max_output_tokens\":0}",
            "max_output_tokens");
    refused(HEAD "\"input\":\"x\",\"stream\":\"yes\"}", "stream");
    refused(HEAD "\"input\":\"x\",\"parallel_tool_calls\":1}",
            "parallel_tool_calls");
    refused(HEAD "\"input\":\"x\",\"store\":\"no\"}", "store");
    refused(HEAD "\"input\":\"x\",\"temperature\":3}", "temperature");
    refused(HEAD "\"input\":\"x\",\"top_p\":\"1\"}", "top_p");
    refused(HEAD "\"input\":\"x\",\"truncation\":\"x\"}", "truncation");
    refused(HEAD "\"input\":\"x\",\"user\":1}", "user");
    refused(HEAD "\"input\":\"x\",\"metadata\":[]}", "metadata");
    refused(HEAD "\"input\":\"x\",\"reasoning\":\"high\"}", "reasoning");
    refused(HEAD "\"input\":\"x\",\"previous_response_id\":1}",
            "previous_response_id");
    refused(HEAD "\"input\":\"x\",\"include\":\"x\"}", "include");
    refused(HEAD "\"input\":\"x\",\"include\":[\"file_search_call.results\","
            "\"bogus\"]}", "include[1]");
    refused(HEAD "\"input\":\"x\",\"text\":1}", "text");
    refused(HEAD "\"input\":\"x\",\"text\":{\"format\":{\"type\":\"x\"}}}",
            "text.format.type");
    refused(HEAD "\"input\":\"x\",\"text\":{\"format\":{\"type\":"
            "\"json_schema\",\"schema\":{}}}}", "text.format.name");
    refused(HEAD "\"input\":\"x\",\"text\":{\"format\":{\"type\":"
            "\"json_schema\",\"name\":\"n\",\"schema\":1}}}",
            "text.format.schema");
    refused(HEAD "\"input\":\"x\",\"text\":{\"format\":1}}",
            "text.format");
    refused(HEAD "\"input\":\"x\",\"tools\":{}}", "tools");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"file_search\"}]}",
            "tools[0].type");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"function\","
            "\"parameters\":{}},{\"type\":\"computer_use_preview\"}]}",
            "tools[0].name");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"web_search\"},"
            "{\"type\":\"mcp\"}]}", "tools[1].type");
    refused(HEAD "\"input\":\"x\",\"tool_choice\":\"required\"}",
            "tool_choice");
    refused(HEAD "\"input\":\"x\",\"tool_choice\":\"sometimes\"}",
            "tool_choice");
    refused(HEAD "\"input\":\"x\",\"tool_choice\":{\"type\":\"file_search\"}}",
            "tool_choice.type");
    refused(HEAD "\"input\":\"x\",\"tools\":[{\"type\":\"function\","
            "\"name\":\"f\",\"parameters\":{}}],\"tool_choice\":{\"type\":"
            "\"function\",\"name\":\"g\"}}", "tool_choice.name");
}


/* ---- the writer: events parsed back -------------------------------------- */


#define MAX_EV     256
#define MAX_ITEMS  16


typedef struct {
    size_t         n;
    const char    *type[MAX_ITEMS];
    const char    *text[MAX_ITEMS];     /* text, summary, arguments */
    const char    *name[MAX_ITEMS];
    const char    *call_id[MAX_ITEMS];
    const char    *ns[MAX_ITEMS];       /* a call's namespace, or NULL */
    const char    *status;
    const char    *incomplete;          /* incomplete_details.reason */
    double         input_tokens;
    double         output_tokens;
    double         reasoning_tokens;
} answer_t;


/* one output item of a response object into a */

static void
item_read(cJSON *it, answer_t *a)
{
    size_t   k;
    cJSON   *parts, *p;

    assert_true(a->n < MAX_ITEMS);
    k = a->n++;

    a->type[k] = unit_jstr(it, "type");
    (void) unit_jstr(it, "id");

    if (strcmp(a->type[k], "message") == 0) {
        unit_jkeys_exactly(it, "id", "type", "status", "role", "content",
                           NULL);
        assert_string_equal(unit_jstr(it, "role"), "assistant");
        assert_string_equal(unit_jstr(it, "status"), "completed");
        parts = cJSON_GetObjectItemCaseSensitive(it, "content");
        assert_int_equal(cJSON_GetArraySize(parts), 1);
        p = cJSON_GetArrayItem(parts, 0);
        unit_jkeys_exactly(p, "type", "annotations", "logprobs", "text",
                           NULL);
        assert_string_equal(unit_jstr(p, "type"), "output_text");
        a->text[k] = unit_jstr(p, "text");
        return;
    }

    if (strcmp(a->type[k], "reasoning") == 0) {
        unit_jkeys_exactly(it, "id", "type", "summary", NULL);
        parts = cJSON_GetObjectItemCaseSensitive(it, "summary");
        assert_int_equal(cJSON_GetArraySize(parts), 1);
        p = cJSON_GetArrayItem(parts, 0);
        unit_jkeys_exactly(p, "type", "text", NULL);
        assert_string_equal(unit_jstr(p, "type"), "summary_text");
        a->text[k] = unit_jstr(p, "text");
        return;
    }

    assert_string_equal(a->type[k], "function_call");

    if (cJSON_HasObjectItem(it, "namespace")) {
        unit_jkeys_exactly(it, "id", "type", "status", "call_id",
                           "namespace", "name", "arguments", NULL);
        a->ns[k] = unit_jstr(it, "namespace");

    } else {
        unit_jkeys_exactly(it, "id", "type", "status", "call_id", "name",
                           "arguments", NULL);
    }

    assert_string_equal(unit_jstr(it, "status"), "completed");
    a->text[k] = unit_jstr(it, "arguments");
    a->name[k] = unit_jstr(it, "name");
    a->call_id[k] = unit_jstr(it, "call_id");
}


/* a response object, checked, into a (its output only when final) */

static void
response_read(cJSON *r, answer_t *a, int final)
{
    cJSON  *v, *it, *u;

    unit_jkeys_exactly(r, "id", "object", "created_at", "status", "error",
                       "incomplete_details", "model", "output", "usage",
                       "background", "instructions", "max_output_tokens",
                       "metadata", "parallel_tool_calls",
                       "previous_response_id", "prompt_cache_key",
                       "reasoning", "safety_identifier", "service_tier",
                       "temperature", "text", "tool_choice", "tools",
                       "top_logprobs", "top_p", "truncation", "user",
                       "store", NULL);
    assert_string_equal(unit_jstr(r, "id"), RESP_ID);
    assert_string_equal(unit_jstr(r, "object"), "response");
    assert_true(unit_jnum(r, "created_at") == 1700000000);
    assert_string_equal(unit_jstr(r, "model"), MODEL);

    v = cJSON_GetObjectItemCaseSensitive(r, "output");
    assert_true(cJSON_IsArray(v));

    if (!final) {
        assert_string_equal(unit_jstr(r, "status"), "in_progress");
        assert_int_equal(cJSON_GetArraySize(v), 0);
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r,
                                                              "usage")));
        return;
    }

    memset(a, 0, sizeof(answer_t));
    a->status = unit_jstr(r, "status");

    cJSON_ArrayForEach(it, v) {
        item_read(it, a);
    }

    v = cJSON_GetObjectItemCaseSensitive(r, "incomplete_details");
    a->incomplete = cJSON_IsNull(v) ? NULL : unit_jstr(v, "reason");

    u = cJSON_GetObjectItemCaseSensitive(r, "usage");
    unit_jkeys_exactly(u, "input_tokens", "input_tokens_details",
                       "output_tokens", "output_tokens_details",
                       "total_tokens", NULL);
    a->input_tokens = unit_jnum(u, "input_tokens");
    a->output_tokens = unit_jnum(u, "output_tokens");
    assert_true(unit_jnum(u, "total_tokens")
                == a->input_tokens + a->output_tokens);
    v = cJSON_GetObjectItemCaseSensitive(u, "input_tokens_details");
    assert_true(unit_jnum(v, "cached_tokens") == 0);
    v = cJSON_GetObjectItemCaseSensitive(u, "output_tokens_details");
    a->reasoning_tokens = unit_jnum(v, "reasoning_tokens");
}


/* "event: TYPE\ndata: JSON\n\n" each, the type the name, in sequence */

static size_t
events_parse(const chaton_buf_t *out, const char **name, cJSON **data)
{
    size_t       n;
    const char  *p, *end, *nl, *stop;

    n = 0;
    p = (const char *) out->data;
    end = p + out->len;

    while (p < end) {
        assert_true(end - p > 7 && memcmp(p, "event: ", 7) == 0);
        p += 7;
        nl = memchr(p, '\n', end - p);
        assert_non_null(nl);
        assert_true(n < MAX_EV);
        name[n] = unit_strn(p, nl - p);

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
        assert_null(memchr(p, '\n', stop - p));

        data[n] = unit_json(p, stop - p);
        assert_string_equal(unit_jstr(data[n], "type"), name[n]);
        assert_true(unit_jnum(data[n], "sequence_number") == (double) n);

        n++;
        p = stop + 2;
    }

    return n;
}


/* the events of one item, from its output_item.added at *i, checked */

static void
stream_item(const char **name, cJSON **data, size_t n, size_t *i,
    size_t index, answer_t *s)
{
    size_t         k, j;
    cJSON         *e, *it;
    const char    *type, *id, *delta_ev, *done_ev, *part_add, *part_done,
                  *idx;
    chaton_buf_t   acc;

    j = *i;
    e = data[j];
    assert_string_equal(name[j], "response.output_item.added");
    unit_jkeys_exactly(e, "type", "sequence_number", "output_index", "item",
                       NULL);
    assert_true(unit_jnum(e, "output_index") == (double) index);
    it = cJSON_GetObjectItemCaseSensitive(e, "item");
    type = unit_jstr(it, "type");
    id = unit_jstr(it, "id");

    assert_true(s->n < MAX_ITEMS);
    k = s->n++;
    s->type[k] = type;
    chaton_buf_init(&acc, &unit_alloc, 0);

    if (strcmp(type, "function_call") == 0) {
        assert_string_equal(unit_jstr(it, "status"), "in_progress");
        assert_string_equal(unit_jstr(it, "arguments"), "");
        s->name[k] = unit_jstr(it, "name");
        s->call_id[k] = unit_jstr(it, "call_id");
        s->ns[k] = cJSON_HasObjectItem(it, "namespace")
                   ? unit_jstr(it, "namespace") : NULL;
        delta_ev = "response.function_call_arguments.delta";
        done_ev = "response.function_call_arguments.done";
        part_add = NULL;
        part_done = NULL;
        idx = NULL;

    } else if (strcmp(type, "message") == 0) {
        delta_ev = "response.output_text.delta";
        done_ev = "response.output_text.done";
        part_add = "response.content_part.added";
        part_done = "response.content_part.done";
        idx = "content_index";

    } else {
        assert_string_equal(type, "reasoning");
        delta_ev = "response.reasoning_summary_text.delta";
        done_ev = "response.reasoning_summary_text.done";
        part_add = "response.reasoning_summary_part.added";
        part_done = "response.reasoning_summary_part.done";
        idx = "summary_index";
    }

    j++;

    if (part_add) {
        assert_true(j < n);
        assert_string_equal(name[j], part_add);
        unit_jkeys_exactly(data[j], "type", "sequence_number", "item_id",
                           "output_index", idx, "part", NULL);
        assert_string_equal(unit_jstr(data[j], "item_id"), id);
        assert_true(unit_jnum(data[j], idx) == 0);
        assert_string_equal(unit_jstr(cJSON_GetObjectItemCaseSensitive(
                                          data[j], "part"), "text"), "");
        j++;
    }

    for ( ;; j++) {
        assert_true(j < n);

        if (strcmp(name[j], delta_ev) != 0) {
            break;
        }

        if (idx == NULL) {
            unit_jkeys_exactly(data[j], "type", "sequence_number", "item_id",
                               "output_index", "delta", NULL);

        } else if (part_add[9] == 'c') {
            unit_jkeys_exactly(data[j], "type", "sequence_number", "item_id",
                               "output_index", "content_index", "delta",
                               "logprobs", NULL);
        } else {
            unit_jkeys_exactly(data[j], "type", "sequence_number", "item_id",
                               "output_index", "summary_index", "delta",
                               NULL);
        }

        assert_string_equal(unit_jstr(data[j], "item_id"), id);
        assert_true(unit_jnum(data[j], "output_index") == (double) index);
        assert_true(unit_jstr(data[j], "delta")[0] != '\0');
        assert_int_equal(chaton_buf_append_str(&acc,
                                               unit_jstr(data[j], "delta")),
                         CHATON_OK);
    }

    s->text[k] = unit_bufstr(&acc);

    assert_string_equal(name[j], done_ev);

    if (idx == NULL) {
        unit_jkeys_exactly(data[j], "type", "sequence_number", "item_id",
                           "output_index", "name", "arguments", NULL);
        assert_string_equal(unit_jstr(data[j], "name"), s->name[k]);

    } else if (part_add[9] == 'c') {
        unit_jkeys_exactly(data[j], "type", "sequence_number", "item_id",
                           "output_index", "content_index", "text",
                           "logprobs", NULL);
    } else {
        unit_jkeys_exactly(data[j], "type", "sequence_number", "item_id",
                           "output_index", "summary_index", "text", NULL);
    }

    assert_string_equal(unit_jstr(data[j], "item_id"), id);
    assert_string_equal(unit_jstr(data[j], idx ? "text" : "arguments"),
                        s->text[k]);
    j++;

    if (part_done) {
        assert_true(j < n);
        assert_string_equal(name[j], part_done);
        unit_jkeys_exactly(data[j], "type", "sequence_number", "item_id",
                           "output_index", idx, "part", NULL);
        assert_string_equal(unit_jstr(cJSON_GetObjectItemCaseSensitive(
                                          data[j], "part"), "text"),
                            s->text[k]);
        j++;
    }

    assert_true(j < n);
    assert_string_equal(name[j], "response.output_item.done");
    unit_jkeys_exactly(data[j], "type", "sequence_number", "output_index",
                       "item", NULL);
    assert_true(unit_jnum(data[j], "output_index") == (double) index);
    assert_string_equal(unit_jstr(cJSON_GetObjectItemCaseSensitive(data[j],
                                                                 "item"),
                                  "id"), id);

    /* the item done is the item the final response has */
    {
        answer_t  one;

        memset(&one, 0, sizeof(answer_t));
        item_read(cJSON_GetObjectItemCaseSensitive(data[j], "item"), &one);
        assert_string_equal(one.type[0], type);
        assert_string_equal(one.text[0], s->text[k]);
    }

    *i = j + 1;
}


/* a stream, every event checked; *a its final response, s its events' */

static void
stream_check(const chaton_buf_t *out, answer_t *a, answer_t *s)
{
    size_t        n, i;
    const char  **name;
    cJSON       **data;

    name = unit_mem(MAX_EV * sizeof(char *));
    data = unit_mem(MAX_EV * sizeof(cJSON *));

    n = events_parse(out, name, data);
    assert_true(n >= 3);

    assert_string_equal(name[0], "response.created");
    response_read(cJSON_GetObjectItemCaseSensitive(data[0], "response"), a,
                  0);
    assert_string_equal(name[1], "response.in_progress");
    response_read(cJSON_GetObjectItemCaseSensitive(data[1], "response"), a,
                  0);

    memset(s, 0, sizeof(answer_t));

    for (i = 2; i < n - 1; ) {
        stream_item(name, data, n, &i, s->n, s);
    }

    assert_true(strcmp(name[n - 1], "response.completed") == 0
                || strcmp(name[n - 1], "response.incomplete") == 0);
    unit_jkeys_exactly(data[n - 1], "type", "sequence_number", "response",
                       NULL);
    response_read(cJSON_GetObjectItemCaseSensitive(data[n - 1], "response"),
                  a, 1);
    assert_string_equal(name[n - 1] + 9, a->status);

    /* the events' items are the final response's */
    assert_int_equal(s->n, a->n);

    for (i = 0; i < a->n; i++) {
        assert_string_equal(s->type[i], a->type[i]);
        assert_string_equal(s->text[i], a->text[i]);
        assert_true((s->ns[i] == NULL) == (a->ns[i] == NULL));
    }
}


static chaton_responses_t *
rs_new(chaton_chat_t *t, chaton_buf_t *out, int stream)
{
    chaton_responses_t  *rs;

    rs = unit_mem(sizeof(chaton_responses_t));

    assert_int_equal(chaton_responses_init(rs, &unit_alloc,
                                           (const unsigned char *) RESP_ID,
                                           strlen(RESP_ID),
                                           (const unsigned char *) MODEL,
                                           strlen(MODEL), 1700000000, 0,
                                           stream, NULL),
                     CHATON_OK);
    assert_int_equal(chaton_chat_init(t, &unit_alloc, &rs->w, 0), CHATON_OK);

    chaton_buf_init(out, &unit_alloc, 0);
    t->out = out;

    return rs;
}


static int
ev(chaton_chat_t *t, const char *s)
{
    return chaton_chat_event(t, (const unsigned char *) s, strlen(s));
}


static void
finish(chaton_chat_t *t, chaton_buf_t *out, int stream, answer_t *a)
{
    answer_t  s;

    assert_int_equal(ev(t, "[DONE]"), CHATON_DONE);
    assert_int_equal(chaton_chat_flush(t, out), CHATON_OK);

    if (stream) {
        assert_int_equal(chaton_chat_end(t, out), CHATON_OK);
        stream_check(out, a, &s);
        return;
    }

    assert_int_equal(out->len, 0);
    assert_int_equal(chaton_chat_end(t, out), CHATON_OK);
    response_read(unit_json(out->data, out->len), a, 1);
}


static void
test_write_text_reasoning(void **state)
{
    int            stream;
    answer_t       a;
    chaton_buf_t   out;
    chaton_chat_t  t;

    for (stream = 0; stream <= 1; stream++) {
        (void) rs_new(&t, &out, stream);

        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{"
                                "\"reasoning_content\":\"Hmm \\\"x\\\"\"}}]}"),
                         CHATON_OK);
        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{"
                                "\"reasoning_content\":\" ok.\"}}]}"),
                         CHATON_OK);
        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                                "\"Hello \\\"you\\\"\\n\"}}]}"), CHATON_OK);
        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                                "\"caf\\u00e9 " EMOJI "\"}}]}"), CHATON_OK);

        finish(&t, &out, stream, &a);

        assert_string_equal(a.status, "completed");
        assert_null(a.incomplete);
        assert_int_equal(a.n, 2);
        assert_string_equal(a.type[0], "reasoning");
        assert_string_equal(a.text[0], "Hmm \"x\" ok.");
        assert_string_equal(a.type[1], "message");
        assert_string_equal(a.text[1], "Hello \"you\"\ncaf" E_ACUTE " "
                            EMOJI);
        assert_true(a.output_tokens == chaton_chat_completion_tokens(&t));
    }
}


/*
 * calls: function_call items; a namespace's tool's ("agents.read" to the
 * model) with "namespace" and its own name, in the item added and done
 * and the whole answer, and its arguments' done event with the name only
 * (the SDK's type); the top-level "read" with none
 */

static const chaton_tool_t  tools_f[] = {
    { (const unsigned char *) "get_weather", 11, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "read", 4, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "agents.read", 11, NULL, 0, NULL, 0, 0 },
};


static void
test_write_tool_calls(void **state)
{
    int             stream;
    char            e[1024];
    answer_t        a;
    chaton_buf_t    out;
    chaton_chat_t   t;
    chaton_tools_t  tools;

    memset(&tools, 0, sizeof(chaton_tools_t));
    tools.tools = tools_f;
    tools.ntools = 3;
    tools.parallel = 1;
    memcpy(tools.nonce, NONCE, CHATON_TOOLS_NONCE_LEN);

    (void) snprintf(e, sizeof(e),
                    "{\"choices\":[{\"delta\":{\"content\":\"Sure.\\n"
                    "\\u003ctool_call_" NONCE "\\u003e{\\\"name\\\": "
                    "\\\"get_weather\\\", \\\"arguments\\\": {\\\"city\\\": "
                    "\\\"Paris\\\"}}\\u003c/tool_call_" NONCE "\\u003e\\n"
                    "\\u003ctool_call_" NONCE "\\u003e{\\\"name\\\": "
                    "\\\"read\\\", \\\"arguments\\\": {}}"
                    "\\u003c/tool_call_" NONCE "\\u003e\\n"
                    "\\u003ctool_call_" NONCE "\\u003e{\\\"name\\\": "
                    "\\\"agents.read\\\", \\\"arguments\\\": {\\\"n\\\": 1}}"
                    "\\u003c/tool_call_" NONCE "\\u003e\"}}]}");

    for (stream = 0; stream <= 1; stream++) {
        (void) rs_new(&t, &out, stream);
        assert_int_equal(chaton_chat_tools(&t, &tools, 4096), CHATON_OK);

        assert_int_equal(ev(&t, e), CHATON_OK);
        finish(&t, &out, stream, &a);

        assert_string_equal(a.status, "completed");
        assert_int_equal(a.n, 4);
        assert_string_equal(a.type[0], "message");
        assert_string_equal(a.text[0], "Sure.");
        assert_string_equal(a.type[1], "function_call");
        assert_string_equal(a.call_id[1], "call_" NONCE "_0");
        assert_string_equal(a.name[1], "get_weather");
        assert_string_equal(a.text[1], "{\"city\":\"Paris\"}");
        assert_string_equal(a.type[2], "function_call");
        assert_string_equal(a.call_id[2], "call_" NONCE "_1");
        assert_string_equal(a.name[2], "read");
        assert_string_equal(a.text[2], "{}");
        assert_null(a.ns[2]);
        assert_string_equal(a.ns[3], "agents");
        assert_string_equal(a.name[3], "read");
        assert_string_equal(a.text[3], "{\"n\":1}");
        assert_null(strstr(unit_bufstr(&out), "tool_call_"));
        assert_null(strstr(unit_bufstr(&out), "agents."));

        if (stream) {
            assert_non_null(strstr(unit_bufstr(&out),
                                   "\"item\":{\"id\":\"fc_gw0001_3\","
                                   "\"type\":\"function_call\",\"status\":"
                                   "\"in_progress\",\"call_id\":\"call_"
                                   NONCE "_2\",\"namespace\":\"agents\","
                                   "\"name\":\"read\",\"arguments\":\"\"}"));
        }
    }
}


/* a custom tool's call: a custom_tool_call item with its input */

static const chaton_tool_t  tools_c[] = {
    { (const unsigned char *) "apply_patch", 11, NULL, 0, NULL, 0, 1 },
};


static void
test_write_custom(void **state)
{
    int                  stream;
    char                 e[1024];
    cJSON               *r, *it;
    chaton_buf_t         out, kept;
    chaton_chat_t        t;
    chaton_tools_t       tools;
    chaton_chat_req_t    rq;
    chaton_responses_t  *rs;

    memset(&tools, 0, sizeof(chaton_tools_t));
    tools.tools = tools_c;
    tools.ntools = 1;
    memcpy(tools.nonce, NONCE, CHATON_TOOLS_NONCE_LEN);

    memset(&rq, 0, sizeof(rq));
    rq.tools = tools;

    (void) snprintf(e, sizeof(e),
                    "{\"choices\":[{\"delta\":{\"content\":\""
                    "\\u003ctool_call_" NONCE "\\u003e{\\\"name\\\": "
                    "\\\"apply_patch\\\", \\\"arguments\\\": {\\\"input\\\": "
                    "\\\"*** Begin\\\\nX\\\"}}\\u003c/tool_call_" NONCE
                    "\\u003e\"}}]}");

    for (stream = 0; stream <= 1; stream++) {
        rs = unit_mem(sizeof(chaton_responses_t));
        assert_int_equal(chaton_responses_init(rs, &unit_alloc,
                                           (const unsigned char *) RESP_ID,
                                           strlen(RESP_ID),
                                           (const unsigned char *) MODEL,
                                           strlen(MODEL), 1700000000, 0,
                                           stream, &rq),
                         CHATON_OK);

        /* kept for a store: the final object, "store" true */
        chaton_buf_init(&kept, &unit_alloc, 0);
        rs->kept = &kept;
        rs->store = 1;

        assert_int_equal(chaton_chat_init(&t, &unit_alloc, &rs->w, 0),
                         CHATON_OK);
        chaton_buf_init(&out, &unit_alloc, 0);
        t.out = &out;
        assert_int_equal(chaton_chat_tools(&t, &tools, 4096), CHATON_OK);

        assert_int_equal(ev(&t, e), CHATON_OK);
        assert_int_equal(ev(&t, "[DONE]"), CHATON_DONE);
        assert_int_equal(chaton_chat_flush(&t, &out), CHATON_OK);
        assert_int_equal(chaton_chat_end(&t, &out), CHATON_OK);

        r = unit_json(kept.data, kept.len);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "store")));
        assert_string_equal(unit_jstr(r, "status"), "completed");
        it = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "output"), 0);
        unit_jkeys_exactly(it, "id", "type", "status", "call_id", "name",
                           "input", NULL);
        assert_string_equal(unit_jstr(it, "type"), "custom_tool_call");
        assert_string_equal(unit_jstr(it, "id"), "ctc_gw0001_0");
        assert_string_equal(unit_jstr(it, "name"), "apply_patch");
        assert_string_equal(unit_jstr(it, "input"), "*** Begin\nX");
        assert_string_equal(unit_jstr(it, "call_id"), "call_" NONCE "_0");

        if (!stream) {
            /* the whole answer is the object kept */
            assert_int_equal(out.len, kept.len);
            assert_memory_equal(out.data, kept.data, kept.len);
            continue;
        }

        assert_non_null(strstr(unit_bufstr(&out),
                               "event: response.custom_tool_call_input.delta"
                               "\ndata: {\"type\":\"response.custom_tool_call"
                               "_input.delta\",\"sequence_number\":3,"
                               "\"item_id\":\"ctc_gw0001_0\","
                               "\"output_index\":0,"
                               "\"delta\":\"*** Begin\\nX\"}\n\n"));
        assert_non_null(strstr(unit_bufstr(&out),
                               "\"type\":\"response.custom_tool_call_input"
                               ".done\",\"sequence_number\":4,"
                               "\"item_id\":\"ctc_gw0001_0\","
                               "\"output_index\":0,"
                               "\"input\":\"*** Begin\\nX\"}\n\n"));
        assert_null(strstr(unit_bufstr(&out), "function_call"));
    }
}


/* the backend's "length": status incomplete, max_output_tokens */

static void
test_write_length(void **state)
{
    int            stream;
    answer_t       a;
    chaton_buf_t   out;
    chaton_chat_t  t;

    for (stream = 0; stream <= 1; stream++) {
        (void) rs_new(&t, &out, stream);

        assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                                "\"Once upon\"},"
                                "\"finish_reason\":\"length\"}]}"),
                         CHATON_OK);
        finish(&t, &out, stream, &a);

        assert_string_equal(a.status, "incomplete");
        assert_string_equal(a.incomplete, "max_output_tokens");
        assert_int_equal(a.n, 1);
        assert_string_equal(a.text[0], "Once upon");
    }
}


/* an error mid-stream: response.failed with the error, the last event */

static void
test_write_failed(void **state)
{
    size_t          n;
    cJSON          *r, *x;
    chaton_buf_t    out;
    chaton_chat_t   t;
    chaton_error_t  e;

    (void) rs_new(&t, &out, 1);
    assert_int_equal(ev(&t, "{\"choices\":[{\"delta\":{\"content\":"
                            "\"Hi\"}}]}"), CHATON_OK);

    memset(&e, 0, sizeof(e));
    (void) chaton_error_set(&e, 502, NULL, NULL, "went \"wrong\"");

    chaton_buf_init(&out, &unit_alloc, 0);
    assert_int_equal(chaton_chat_error_event(&t, &out, &e), CHATON_OK);

    /* one event; its sequence_number goes on from the stream's (created,
     * in_progress, the item and its part added, the delta: 0 to 4) */
    assert_true(out.len > 31
                && memcmp(out.data, "event: response.failed\ndata: ", 29)
                   == 0
                && memcmp(out.data + out.len - 2, "\n\n", 2) == 0);
    r = unit_json(out.data + 29, out.len - 31);
    assert_string_equal(unit_jstr(r, "type"), "response.failed");
    n = (size_t) unit_jnum(r, "sequence_number");
    assert_int_equal(n, 5);
    x = cJSON_GetObjectItemCaseSensitive(r, "response");
    assert_string_equal(unit_jstr(x, "status"), "failed");
    x = cJSON_GetObjectItemCaseSensitive(x, "error");
    assert_string_equal(unit_jstr(x, "code"), "server_error");
    assert_string_equal(unit_jstr(x, "message"), "went \"wrong\"");
}


/*
 * The messages go to the scratch allocator; what the response object and
 * the store need (the echo, the kept items, the tools) stays.
 */

static void
test_parse_scratch(void **state)
{
    cJSON  *items;

    store_on("[]");

    parse_scratch(HEAD "\"instructions\":\"Be brief.\","
                  "\"tools\":[{\"type\":\"function\",\"name\":\"f\"}],"
                  "\"input\":[{\"type\":\"message\",\"role\":\"user\","
                  "\"content\":\"Weather?\"},{\"type\":\"function_call\","
                  "\"call_id\":\"call_w\",\"name\":\"f\","
                  "\"arguments\":\"{}\"},"
                  "{\"type\":\"function_call_output\",\"call_id\":\"call_w\","
                  "\"output\":\"sunny\"}]}");

    assert_string_equal(unit_strn(req.model, req.model_len), MODEL);
    assert_true(req.echo_len > 1 && req.echo[0] == ',');
    assert_non_null(strstr(unit_strn(req.echo, req.echo_len),
                           "\"instructions\":\"Be brief.\""));
    assert_string_equal(unit_strn(req.tools.tools[0].name,
                                  req.tools.tools[0].name_len), "f");

    items = unit_json(req.items, req.items_len);
    assert_int_equal(cJSON_GetArraySize(items), 3);
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(items, 2), "output"),
                        "sunny");
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        rtest(test_parse_string_input),
        rtest(test_parse_items),
        rtest(test_parse_tools),
        rtest(test_parse_web_search),
        rtest(test_parse_namespace),
        rtest(test_parse_tool_loop),
        rtest(test_parse_echo),
        rtest(test_parse_custom),
        rtest(test_parse_previous),
        rtest(test_parse_reference),
        rtest(test_parse_refusals),
        rtest(test_write_text_reasoning),
        rtest(test_write_tool_calls),
        rtest(test_write_custom),
        rtest(test_write_length),
        rtest(test_write_failed),
        rtest(test_parse_scratch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
