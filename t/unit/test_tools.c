/*
 * chaton_tools.h: tool calling, emulated.
 *
 *   - the instructions: the tools (names, descriptions, compact schemas),
 *     the request's tags, the rules of each tool choice and of parallel
 *     calls; their own example is a call the extractor takes;
 *   - the history writers: an earlier call reads back as that call, a
 *     result names its call, escapes its attributes;
 *   - response_format instructions, the unfencing of a whole answer, the
 *     minifier;
 *   - the extractor, every answer fed whole, split at every byte offset,
 *     byte by byte and in random pieces, giving the same text and calls:
 *     plain text, prose then a call, several calls, fences around calls and
 *     fences of examples, the closing tag missing, white space, misspelled
 *     and unknown names, arguments as a string, bad JSON, another request's
 *     nonce, text after a call, one call only, a call too big or
 *     unfinished; what it holds back stays under CHATON_TOOLS_HOLD_MAX;
 *     markers spelled with \u escapes in backend events, unescaped by the
 *     core's event scanner, make the same calls.
 */

#include "unit.h"
#include "chaton_event.h"
#include "chaton_tools.h"


#define NONCE     "abcd1234"
#define OPEN      "<tool_call_" NONCE ">"
#define CLOSE     "</tool_call_" NONCE ">"
#define MAXCALLS  8


#define WEATHER_SCHEMA                                                        \
    "{\n  \"type\": \"object\",\n  \"properties\": {\n"                       \
    "    \"city\": {\"type\": \"string\"},\n"                                 \
    "    \"unit\": {\"type\": \"string\", \"enum\": [\"C\", \"F\"]}\n"         \
    "  },\n  \"required\": [\"city\"]\n}"


static chaton_tool_t  tools[] = {
    { (const unsigned char *) "get_weather", 11,
      (const unsigned char *) "The weather in a city, now.", 27,
      (const unsigned char *) WEATHER_SCHEMA, sizeof(WEATHER_SCHEMA) - 1, 0 },
    { (const unsigned char *) "get_time", 8,
      (const unsigned char *) "The time in a time zone.", 24,
      (const unsigned char *) "{\"type\":\"object\",\"properties\":"
                              "{\"tz\":{\"type\":\"string\"}}}", 55, 0 },
    { (const unsigned char *) "read_file", 9, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "ls", 2, NULL, 0, NULL, 0, 0 },
};

#define NTOOLS  (sizeof(tools) / sizeof(tools[0]))


static chaton_tools_t
offer(int choice, int parallel)
{
    chaton_tools_t  t;

    memset(&t, 0, sizeof(t));
    t.tools = tools;
    t.ntools = NTOOLS;
    t.choice = choice;
    t.parallel = parallel;
    memcpy(t.nonce, NONCE, CHATON_TOOLS_NONCE_LEN);

    return t;
}


/* ---- what the extractor gave -------------------------------------------- */


typedef struct {
    chaton_buf_t    text;
    size_t          ncalls;
    size_t          index[MAXCALLS];
    char           *name[MAXCALLS];
    char           *args[MAXCALLS];
    size_t          texts_after_call;
} got_t;


static int
got_text(void *ctx, const unsigned char *p, size_t len)
{
    got_t  *g = ctx;

    assert_true(len > 0);

    if (g->ncalls) {
        g->texts_after_call++;
    }

    return chaton_buf_append(&g->text, p, len);
}


static int
got_call(void *ctx, size_t index, const unsigned char *name, size_t name_len,
    const unsigned char *args, size_t args_len)
{
    got_t  *g = ctx;
    cJSON  *j;

    assert_true(g->ncalls < MAXCALLS);

    /* arguments: one compact JSON object */

    j = unit_json(args, args_len);
    assert_true(cJSON_IsObject(j));
    assert_null(memchr(args, '\n', args_len));

    g->index[g->ncalls] = index;
    g->name[g->ncalls] = unit_strn(name, name_len);
    g->args[g->ncalls] = unit_strn(args, args_len);
    g->ncalls++;

    return CHATON_OK;
}


/*
 * Feeds s in the pieces that cuts[] (increasing offsets) make; max_call
 * bytes a call.  Returns the failures counted.  With held != NULL, checks
 * after each piece that the text held back is under the bound.
 */

static size_t
feed(const chaton_tools_t *t, const char *s, size_t len, const size_t *cuts,
    size_t ncuts, size_t max_call, got_t *g, size_t *held)
{
    size_t                  i, from, to;
    chaton_tools_extract_t  x;

    memset(g, 0, sizeof(got_t));
    chaton_buf_init(&g->text, &unit_alloc, 0);

    chaton_tools_extract_init(&x, &unit_alloc, t, max_call, got_text,
                              got_call, g);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;

        assert_int_equal(chaton_tools_extract(&x,
                                              (const unsigned char *) s + from,
                                              to - from),
                         CHATON_OK);

        if (held) {
            assert_true(to - g->text.len < CHATON_TOOLS_HOLD_MAX);
            if (to - g->text.len > *held) {
                *held = to - g->text.len;
            }
        }

        from = to;
    }

    assert_int_equal(chaton_tools_extract_finish(&x), CHATON_OK);

    /* nothing after the end */
    assert_int_equal(chaton_tools_extract_finish(&x), CHATON_OK);

    assert_int_equal(x.ncalls, g->ncalls);

    return x.failures;
}


static void
same(const got_t *a, const got_t *b, const char *how, size_t at)
{
    size_t  i;

    if (a->text.len != b->text.len
        || memcmp(a->text.data, b->text.data, a->text.len) != 0
        || a->ncalls != b->ncalls)
    {
        print_error("%s %zu: text [%s] / [%s], calls %zu / %zu\n", how, at,
                    unit_bufstr(&a->text), unit_bufstr(&b->text), a->ncalls,
                    b->ncalls);
        fail();
    }

    for (i = 0; i < a->ncalls; i++) {
        assert_int_equal(a->index[i], b->index[i]);
        assert_string_equal(a->name[i], b->name[i]);
        assert_string_equal(a->args[i], b->args[i]);
    }
}


/*
 * The answer, fed whole, then at every split in two, byte by byte, and in
 * random pieces, must give the text, the failure count and the calls
 * (name, args pairs, NULL-terminated) expected.
 */

static void
expect_max(const chaton_tools_t *t, size_t max_call, const char *answer,
    const char *text, size_t failures, ...)
{
    size_t       i, k, len, n, cuts[64];
    got_t        whole, g;
    va_list      args;
    uint64_t     seed;
    const char  *name;

    len = strlen(answer);

    assert_int_equal(feed(t, answer, len, NULL, 0, max_call, &whole, NULL),
                     failures);

    if (strcmp(unit_bufstr(&whole.text), text) != 0) {
        print_error("answer [%s]\n  text [%s]\n  want [%s]\n", answer,
                    unit_bufstr(&whole.text), text);
        fail();
    }

    va_start(args, failures);

    for (i = 0; (name = va_arg(args, const char *)) != NULL; i++) {
        if (i >= whole.ncalls) {
            print_error("answer [%s]: call %zu missing\n", answer, i);
            va_end(args);
            fail();
        }

        assert_int_equal(whole.index[i], i);
        assert_string_equal(whole.name[i], name);
        assert_string_equal(whole.args[i], va_arg(args, const char *));
    }

    va_end(args);

    assert_int_equal(whole.ncalls, i);

    /* no text comes after a call */
    assert_int_equal(whole.texts_after_call, 0);

    for (k = 1; k < len; k++) {
        cuts[0] = k;
        assert_int_equal(feed(t, answer, len, cuts, 1, max_call, &g, NULL),
                         failures);
        same(&whole, &g, "split at", k);
        assert_int_equal(g.texts_after_call, 0);
    }

    for (k = 0; k + 1 < len && k < 63; k++) {
        cuts[k] = k + 1;
    }

    if (len <= 64) {
        assert_int_equal(feed(t, answer, len, cuts, len ? len - 1 : 0,
                              max_call, &g, NULL),
                         failures);
        same(&whole, &g, "byte by byte", 0);

    } else {
        char  *p = unit_strn(answer, len);

        /* byte by byte past 64 pieces: one feed per byte */

        chaton_tools_extract_t  x;

        memset(&g, 0, sizeof(got_t));
        chaton_buf_init(&g.text, &unit_alloc, 0);
        chaton_tools_extract_init(&x, &unit_alloc, t, max_call, got_text,
                                  got_call, &g);

        for (k = 0; k < len; k++) {
            assert_int_equal(chaton_tools_extract(&x, (unsigned char *) p + k,
                                                  1),
                             CHATON_OK);
        }

        assert_int_equal(chaton_tools_extract_finish(&x), CHATON_OK);
        assert_int_equal(x.failures, failures);
        same(&whole, &g, "byte by byte", 0);
    }

    seed = len * 7919 + 1;

    for (i = 0; i < 50; i++) {
        n = 0;

        for (k = 1 + unit_rand_below(&seed, 6); k < len && n < 64;
             k += 1 + unit_rand_below(&seed, 9))
        {
            cuts[n++] = k;
        }

        assert_int_equal(feed(t, answer, len, cuts, n, max_call, &g, NULL),
                         failures);
        same(&whole, &g, "random pieces", i);
    }
}


#define expect(t, answer, text, failures, ...)                                \
    expect_max(t, 65536, answer, text, failures, __VA_ARGS__)


/* ---- the extractor ------------------------------------------------------ */


static void
test_tools_plain_text(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, "", "", 0, NULL);
    expect(&t, "Hello, world.", "Hello, world.", 0, NULL);
    expect(&t, "a < b and <b>bold</b>, <tool_call> or <tool_call_abcd123> "
               "or <tool_call_abcd1234 >; `x` and ```\n",
           "a < b and <b>bold</b>, <tool_call> or <tool_call_abcd123> "
           "or <tool_call_abcd1234 >; `x` and ```\n", 0, NULL);
    expect(&t, "  leading and trailing blanks \n\n\t \r\n        \n",
           "  leading and trailing blanks \n\n\t \r\n        \n", 0, NULL);
    expect(&t, "```python\nprint(1)\n```\nDone.",
           "```python\nprint(1)\n```\nDone.", 0, NULL);
    expect(&t, "Caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 "
               "</tool_call_" NONCE ">",
           "Caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 "
           "</tool_call_" NONCE ">", 0, NULL);
}


static void
test_tools_prose_then_call(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, "Let me check the weather.\n\n"
               OPEN "{\"name\": \"get_weather\", \"arguments\": "
               "{\"city\": \"Paris\"}}" CLOSE,
           "Let me check the weather.", 0,
           "get_weather", "{\"city\":\"Paris\"}", NULL);

    /* no blank before the marker, nothing after it */

    expect(&t, "Checking:" OPEN "{\"name\":\"get_time\",\"arguments\":{}}"
               CLOSE "\n",
           "Checking:", 0, "get_time", "{}", NULL);

    /* a call alone */

    expect(&t, OPEN "{\"name\": \"get_time\", \"arguments\": "
               "{\"tz\": \"Europe/Paris\"}}" CLOSE,
           "", 0, "get_time", "{\"tz\":\"Europe/Paris\"}", NULL);
}


static void
test_tools_two_calls(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, "Both:\n"
               OPEN "{\"name\": \"get_weather\", \"arguments\": "
               "{\"city\": \"Paris\"}}" CLOSE "\n"
               OPEN "{\"name\": \"get_weather\", \"arguments\": "
               "{\"city\": \"Tokyo\", \"unit\": \"C\"}}" CLOSE "\n"
               OPEN "{\"name\": \"get_time\", \"arguments\": {}}" CLOSE,
           "Both:", 0,
           "get_weather", "{\"city\":\"Paris\"}",
           "get_weather", "{\"city\":\"Tokyo\",\"unit\":\"C\"}",
           "get_time", "{}", NULL);

    /* back to back, the closing tags missing */

    expect(&t, OPEN "{\"name\":\"get_time\"}" OPEN "{\"name\":\"ls\"}",
           "", 0, "get_time", "{}", "ls", "{}", NULL);
}


static void
test_tools_fenced_call(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, "I'll look it up.\n```json\n"
               OPEN "{\"name\": \"get_weather\", \"arguments\": "
               "{\"city\": \"Paris\"}}" CLOSE "\n```\n",
           "I'll look it up.", 0,
           "get_weather", "{\"city\":\"Paris\"}", NULL);

    /* ```xml, CRLF, two calls in one fence, then a second fenced call */

    expect(&t, "```xml\r\n  " OPEN "{\"name\":\"ls\"}" CLOSE "\r\n"
               OPEN "{\"name\":\"get_time\"}" CLOSE "\r\n```\r\n\r\n"
               "```\n" OPEN "{\"name\":\"read_file\",\"arguments\":"
               "{\"path\":\"a\"}}\n```",
           "", 0, "ls", "{}", "get_time", "{}",
           "read_file", "{\"path\":\"a\"}", NULL);

    /* the fence between the marker and the object */

    expect(&t, OPEN "\n```json\n{\"name\": \"get_time\"}\n```\n" CLOSE,
           "", 0, "get_time", "{}", NULL);

    /* a fence not at a line's start is text; the marker still calls */

    expect(&t, "see ```json\n" OPEN "{\"name\":\"ls\"}",
           "see ```json", 0, "ls", "{}", NULL);
}


static void
test_tools_closing_tag_missing(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, OPEN "{\"name\": \"get_weather\", \"arguments\": "
               "{\"city\": \"Paris\"}}",
           "", 0, "get_weather", "{\"city\":\"Paris\"}", NULL);

    /* a wrong closing tag is dropped with what follows */

    expect(&t, OPEN "{\"name\": \"ls\"}</tool_call>",
           "", 0, "ls", "{}", NULL);
}


static void
test_tools_whitespace(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, "Sure.\r\n\r\n   " OPEN "\n\n  {\n    \"name\" : \"get_weather\""
               " ,\n\t\"arguments\" : {\n      \"city\" : \"New York\"\n    }"
               "\n  }\n  " CLOSE "\n\n",
           "Sure.", 0, "get_weather", "{\"city\":\"New York\"}", NULL);

    /* blanks inside strings are kept; raw newlines in them escaped */

    expect(&t, OPEN "{\"name\":\"read_file\",\"arguments\":{\"text\":"
               "\"a  b\nc\td\"}}",
           "", 0, "read_file", "{\"text\":\"a  b\\nc\\td\"}", NULL);

    /* many blanks before the marker: the first ones go out as text */

    expect(&t, "x" "\n\n\n\n\n\n\n\n\n\n\n\n" OPEN "{\"name\":\"ls\"}",
           "x\n\n\n\n", 0, "ls", "{}", NULL);
}


static void
test_tools_example_in_fence(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    /* a fence that began with other content shows an example: text */

    expect(&t, "To call a tool, write:\n```\nsay(\"hi\")\n"
               OPEN "{\"name\":\"ls\"}" CLOSE "\n```\nThat is all.",
           "To call a tool, write:\n```\nsay(\"hi\")\n"
           OPEN "{\"name\":\"ls\"}" CLOSE "\n```\nThat is all.", 0, NULL);

    /* after that fence closes, a marker calls again */

    expect(&t, "```text\nexample " OPEN "{\"name\":\"ls\"}\n```\n"
               OPEN "{\"name\":\"get_time\"}",
           "```text\nexample " OPEN "{\"name\":\"ls\"}\n```", 0,
           "get_time", "{}", NULL);

    /* an indented fence line counts as well */

    expect(&t, "  ```\n  code\n  " OPEN "{\"name\":\"ls\"}\n  ```",
           "  ```\n  code\n  " OPEN "{\"name\":\"ls\"}\n  ```", 0, NULL);
}


static void
test_tools_names(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    /* misspelled: case, separators, up to two edits */

    expect(&t, OPEN "{\"name\":\"Get-Weather\",\"arguments\":{\"city\":\"X\"}}",
           "", 0, "get_weather", "{\"city\":\"X\"}", NULL);
    expect(&t, OPEN "{\"name\":\"get weather\"}", "", 0,
           "get_weather", "{}", NULL);
    expect(&t, OPEN "{\"name\":\"get_wether\"}", "", 0,
           "get_weather", "{}", NULL);
    expect(&t, OPEN "{\"name\":\"getweathr\"}", "", 0,
           "get_weather", "{}", NULL);
    expect(&t, OPEN "{\"name\":\"readfile\"}", "", 0,
           "read_file", "{}", NULL);
    expect(&t, OPEN "{\"name\":\"get_\\u0074ime\"}", "", 0,
           "get_time", "{}", NULL);

    /* unknown: text, counted */

    expect(&t, "Launching. " OPEN "{\"name\":\"launch_rocket\"}" CLOSE,
           "Launching. " OPEN "{\"name\":\"launch_rocket\"}" CLOSE, 1, NULL);

    /* too short to guess: "cd" is not "ls" */

    expect(&t, OPEN "{\"name\":\"cd\"}", OPEN "{\"name\":\"cd\"}", 1, NULL);

    /* three edits away */

    expect(&t, OPEN "{\"name\":\"gt_wthr\"}", OPEN "{\"name\":\"gt_wthr\"}",
           1, NULL);

    /* no name, a name that is no string */

    expect(&t, OPEN "{\"arguments\":{}}", OPEN "{\"arguments\":{}}", 1, NULL);
    expect(&t, OPEN "{\"name\":7}", OPEN "{\"name\":7}", 1, NULL);
}


static void
test_tools_ambiguous_name(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);
    chaton_tool_t   two[] = {
        { (const unsigned char *) "get_weather", 11, NULL, 0, NULL, 0, 0 },
        { (const unsigned char *) "set_weather", 11, NULL, 0, NULL, 0, 0 },
        { (const unsigned char *) "fetch-page", 10, NULL, 0, NULL, 0, 0 },
        { (const unsigned char *) "fetch_page", 10, NULL, 0, NULL, 0, 0 },
    };

    t.tools = two;
    t.ntools = 4;

    /* within two edits of both */

    expect(&t, OPEN "{\"name\":\"et_weather\"}",
           OPEN "{\"name\":\"et_weather\"}", 1, NULL);

    /* the same but for separators as both: neither; exact: that one */

    expect(&t, OPEN "{\"name\":\"Fetch_Page\"}",
           OPEN "{\"name\":\"Fetch_Page\"}", 1, NULL);
    expect(&t, OPEN "{\"name\":\"fetch-page\"}", "", 0,
           "fetch-page", "{}", NULL);
}


static void
test_tools_arguments(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    /* a string that holds an object */

    expect(&t, OPEN "{\"name\": \"get_weather\", \"arguments\": "
               "\"{\\\"city\\\": \\\"Paris\\\"}\"}" CLOSE,
           "", 0, "get_weather", "{\"city\":\"Paris\"}", NULL);

    /* "parameters", "input", null, absent */

    expect(&t, OPEN "{\"name\":\"get_time\",\"parameters\":{\"tz\":\"UTC\"}}",
           "", 0, "get_time", "{\"tz\":\"UTC\"}", NULL);
    expect(&t, OPEN "{\"name\":\"get_time\",\"input\":{\"tz\":\"UTC\"}}",
           "", 0, "get_time", "{\"tz\":\"UTC\"}", NULL);
    expect(&t, OPEN "{\"name\":\"get_time\",\"arguments\":null}",
           "", 0, "get_time", "{}", NULL);

    /* OpenAI's own shape */

    expect(&t, OPEN "{\"type\":\"function\",\"function\":{\"name\":"
               "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}",
           "", 0, "get_weather", "{\"city\":\"Oslo\"}", NULL);

    /* numbers and nesting kept as written */

    expect(&t, OPEN "{\"name\":\"read_file\",\"arguments\":{\"id\":"
               "12345678901234567890123,\"x\":[1.5e3,{\"y\":null}],"
               "\"s\":\"}{\\\"\"}}",
           "", 0, "read_file",
           "{\"id\":12345678901234567890123,\"x\":[1.5e3,{\"y\":null}],"
           "\"s\":\"}{\\\"\"}", NULL);

    /* not objects: text */

    expect(&t, OPEN "{\"name\":\"get_time\",\"arguments\":[1]}",
           OPEN "{\"name\":\"get_time\",\"arguments\":[1]}", 1, NULL);
    expect(&t, OPEN "{\"name\":\"get_time\",\"arguments\":\"tz=UTC\"}",
           OPEN "{\"name\":\"get_time\",\"arguments\":\"tz=UTC\"}", 1, NULL);
    expect(&t, OPEN "{\"name\":\"get_time\",\"arguments\":\"[]\"}",
           OPEN "{\"name\":\"get_time\",\"arguments\":\"[]\"}", 1, NULL);
}


static void
test_tools_bad_json(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, "Here: " OPEN "{\"name\": \"get_weather\", \"arguments\": "
               "{city: Paris}}" CLOSE " ok",
           "Here: " OPEN "{\"name\": \"get_weather\", \"arguments\": "
           "{city: Paris}}" CLOSE " ok", 1, NULL);

    expect(&t, OPEN "{\"name\": \"ls\",}", OPEN "{\"name\": \"ls\",}", 1,
           NULL);
    expect(&t, OPEN "{'name': 'ls'}", OPEN "{'name': 'ls'}", 1, NULL);
    expect(&t, OPEN "{\"name\":\"ls\"]", OPEN "{\"name\":\"ls\"]", 1, NULL);

    /* no object after the marker */

    expect(&t, OPEN "get_weather(city=\"Paris\")" CLOSE,
           OPEN "get_weather(city=\"Paris\")" CLOSE, 1, NULL);

    /* unfinished at the end of the answer */

    expect(&t, "Wait. " OPEN "{\"name\": \"get_weather\", \"argu",
           "Wait. " OPEN "{\"name\": \"get_weather\", \"argu", 1, NULL);
    expect(&t, OPEN, OPEN, 1, NULL);
    expect(&t, OPEN "\n```js", OPEN "\n```js", 1, NULL);

    /* a fence around a call that is none: all of it text */

    expect(&t, "```json\n" OPEN "{nope}" CLOSE "\n```\n",
           "```json\n" OPEN "{nope}" CLOSE "\n```\n", 1, NULL);

    /* a failed marker, then a good one */

    expect(&t, OPEN " " OPEN "{\"name\":\"ls\"}",
           OPEN " ", 1, "ls", "{}", NULL);
}


static void
test_tools_other_nonce(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, "<tool_call_zzzz9999>{\"name\":\"ls\"}</tool_call_zzzz9999>",
           "<tool_call_zzzz9999>{\"name\":\"ls\"}</tool_call_zzzz9999>", 0,
           NULL);
    expect(&t, "<tool_call_ABCD1234>{\"name\":\"ls\"}",
           "<tool_call_ABCD1234>{\"name\":\"ls\"}", 0, NULL);
    expect(&t, "<tool_call_abcd12345>{\"name\":\"ls\"}",
           "<tool_call_abcd12345>{\"name\":\"ls\"}", 0, NULL);
    expect(&t, "<tool_call>{\"name\":\"ls\"}</tool_call>",
           "<tool_call>{\"name\":\"ls\"}</tool_call>", 0, NULL);
}


static void
test_tools_text_after_call(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    expect(&t, OPEN "{\"name\": \"get_weather\", \"arguments\": "
               "{\"city\": \"Paris\"}}" CLOSE "\n"
               "<tool_result_" NONCE ">\nSunny, 24C\n</tool_result_" NONCE
               ">\nThe weather in Paris is sunny.",
           "", 0, "get_weather", "{\"city\":\"Paris\"}", NULL);

    /* prose between calls is dropped, the calls kept */

    expect(&t, OPEN "{\"name\":\"ls\"}" CLOSE "\nNow the time:\n"
               OPEN "{\"name\":\"get_time\"}" CLOSE "\nDone!",
           "", 0, "ls", "{}", "get_time", "{}", NULL);

    /* after a call, a fence of other content holds no call */

    expect(&t, OPEN "{\"name\":\"ls\"}\n```\nx\n" OPEN "{\"name\":\"get_time\"}"
               "\n```\n",
           "", 0, "ls", "{}", NULL);

    /* after a call, a failed one is dropped too, but counted */

    expect(&t, OPEN "{\"name\":\"ls\"}" OPEN "{\"name\":\"nope\"}",
           "", 1, "ls", "{}", NULL);
}


static void
test_tools_one_call_only(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 0);

    expect(&t, "Two:\n" OPEN "{\"name\":\"ls\"}" CLOSE "\n"
               OPEN "{\"name\":\"get_time\"}" CLOSE,
           "Two:", 0, "ls", "{}", NULL);
}


static void
test_tools_too_big(void **state)
{
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    /* a body of 40 bytes at most: this one, 41 from the marker, is text */

    expect_max(&t, 40,
               "a" OPEN "{\"name\":\"read_file\",\"arguments\":{\"p\":\"x\"}}",
               "a" OPEN "{\"name\":\"read_file\",\"arguments\":{\"p\":\"x\"}}",
               1, NULL);

    /* the bytes after the cut are text too, and may call */

    expect_max(&t, 40,
               OPEN "{\"name\":\"read_file\",\"arguments\":{\"p\":\"xxxxxxxx"
               OPEN "{\"name\":\"ls\"}",
               OPEN "{\"name\":\"read_file\",\"arguments\":{\"p\":\"xxxxxxxx",
               1, "ls", "{}", NULL);

    expect_max(&t, 40, OPEN "{\"name\":\"read_file\"}", "", 0,
               "read_file", "{}", NULL);
}


/*
 * Long text full of near misses ('<', "<tool_call_", backticks, blanks, fence
 * lines): all of it comes out, and never more than CHATON_TOOLS_HOLD_MAX
 * bytes are held, piece after piece.
 */

static void
test_tools_held_bounded(void **state)
{
    size_t          i, k, len, held, cuts[1];
    got_t           g;
    uint64_t        seed;
    chaton_buf_t    b;
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);
    static const char  *bits[] = {
        "<", "<<", "<tool_call_", "<tool_call_abcd", "<tool_call_abcd123",
        "`", "``", "```", "\n```", "\n```json\n",
        "\n```json\n        ", "\n```json\n        <tool_call_abcd123",
        "        ", "\n\n\n\n\n\n\n\n", "\r\n", "word", " ", "\t",
        "\n    ```veryverylonglanguage\n", "</tool_call_" NONCE ">",
    };

    chaton_buf_init(&b, &unit_alloc, 0);

    seed = 42;

    for (i = 0; i < 4000; i++) {
        k = unit_rand_below(&seed, sizeof(bits) / sizeof(bits[0]));

        assert_int_equal(chaton_buf_append_str(&b, bits[k]), CHATON_OK);
    }

    len = b.len;
    held = 0;

    /* byte by byte: after each byte, under the bound */

    {
        size_t  *all = unit_mem(len * sizeof(size_t));

        for (k = 0; k + 1 < len; k++) {
            all[k] = k + 1;
        }

        assert_int_equal(feed(&t, (char *) b.data, len, all, len - 1, 65536,
                              &g, &held),
                         0);
    }

    assert_int_equal(g.ncalls, 0);
    assert_int_equal(g.text.len, len);
    assert_memory_equal(g.text.data, b.data, len);
    assert_true(held < CHATON_TOOLS_HOLD_MAX);
    assert_true(held >= 40);        /* the long near misses were held */

    /* in two pieces anywhere: the same */

    for (k = 1; k < len; k += 97) {
        cuts[0] = k;
        assert_int_equal(feed(&t, (char *) b.data, len, cuts, 1, 65536, &g,
                              NULL),
                         0);
        assert_int_equal(g.text.len, len);
        assert_memory_equal(g.text.data, b.data, len);
    }
}


/* the text of each piece comes out with that piece: one callback a piece */

static void
test_tools_text_at_once(void **state)
{
    got_t                   g;
    chaton_tools_t          t = offer(CHATON_TOOL_CHOICE_AUTO, 1);
    chaton_tools_extract_t  x;

    memset(&g, 0, sizeof(got_t));
    chaton_buf_init(&g.text, &unit_alloc, 0);
    chaton_tools_extract_init(&x, &unit_alloc, &t, 65536, got_text, got_call,
                              &g);

    assert_int_equal(chaton_tools_extract(&x, (unsigned char *) "Hello", 5),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&g.text), "Hello");

    /* " <tool" could begin a call: held */

    assert_int_equal(chaton_tools_extract(&x, (unsigned char *) ", you <tool",
                                          11),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&g.text), "Hello, you");

    assert_int_equal(chaton_tools_extract(&x, (unsigned char *) "s>", 2),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&g.text), "Hello, you <tools>");

    assert_int_equal(chaton_tools_extract_finish(&x), CHATON_OK);
    assert_string_equal(unit_bufstr(&g.text), "Hello, you <tools>");
}


/* a callback's error stops the feeding with it */

static int
refuse(void *ctx, const unsigned char *p, size_t len)
{
    return CHATON_ERROR;
}


static int
refuse_call(void *ctx, size_t index, const unsigned char *name,
    size_t name_len, const unsigned char *args, size_t args_len)
{
    return CHATON_ERROR;
}


static void
test_tools_callback_error(void **state)
{
    chaton_tools_t          t = offer(CHATON_TOOL_CHOICE_AUTO, 1);
    chaton_tools_extract_t  x;

    chaton_tools_extract_init(&x, &unit_alloc, &t, 65536, refuse, refuse_call,
                              NULL);
    assert_int_equal(chaton_tools_extract(&x, (unsigned char *) "hi", 2),
                     CHATON_ERROR);

    chaton_tools_extract_init(&x, &unit_alloc, &t, 65536, refuse, refuse_call,
                              NULL);
    assert_int_equal(chaton_tools_extract(&x, (unsigned char *) OPEN
                                          "{\"name\":\"ls\"}",
                                          sizeof(OPEN) - 1 + 13),
                     CHATON_ERROR);
}


/*
 * The backend's deltas are JSON: "\u003c" may spell '<'.  The core's event
 * scanner unescapes them; fed its content, the extractor sees the markers.
 */

static void
test_tools_escaped_markers(void **state)
{
    size_t                  i;
    got_t                   g;
    chaton_buf_t            scratch;
    chaton_event_t          e;
    chaton_tools_t          t = offer(CHATON_TOOL_CHOICE_AUTO, 1);
    chaton_tools_extract_t  x;
    static const char      *events[] = {
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me see.\\n"
        "\\u003ctool_\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"call_abcd"
        "\\u0031234\\u003E{\\\"name\\\": \\\"get_weather\\\", \"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\\"arguments\\\""
        ": {\\\"city\\\": \\\"S\\u00e3o Paulo \\ud83d\\ude00\\\"}}\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\u003c/tool_"
        "call_abcd1234\\u003e\"}}]}",
    };

    memset(&g, 0, sizeof(got_t));
    chaton_buf_init(&g.text, &unit_alloc, 0);
    chaton_buf_init(&scratch, &unit_alloc, 0);
    chaton_tools_extract_init(&x, &unit_alloc, &t, 65536, got_text, got_call,
                              &g);

    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        assert_int_equal(chaton_event_scan(&e, (unsigned char *) events[i],
                                           strlen(events[i]), &scratch),
                         CHATON_EVENT_DELTA);
        assert_non_null(e.content);
        assert_int_equal(chaton_tools_extract(&x, e.content, e.content_len),
                         CHATON_OK);
    }

    assert_int_equal(chaton_tools_extract_finish(&x), CHATON_OK);

    assert_string_equal(unit_bufstr(&g.text), "Let me see.");
    assert_int_equal(g.ncalls, 1);
    assert_string_equal(g.name[0], "get_weather");
    assert_string_equal(g.args[0],
                        "{\"city\":\"S\xc3\xa3o Paulo \xf0\x9f\x98\x80\"}");
}


/* ---- the request side --------------------------------------------------- */


static char *
instructions(const chaton_tools_t *t)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_tools_instructions(&b, t), CHATON_OK);
    assert_true(unit_utf8_valid(b.data, b.len));

    return unit_bufstr(&b);
}


/* the line of the text that starts with the marker */

static char *
example_line(const char *s)
{
    const char  *p, *e;

    p = strstr(s, "\n" OPEN);
    assert_non_null(p);
    p++;
    e = strchr(p, '\n');
    assert_non_null(e);

    return unit_strn(p, e - p);
}


static void
test_tools_instructions(void **state)
{
    got_t           g;
    char           *s, *ex;
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    s = instructions(&t);

    /* the tools: names, descriptions, schemas made compact */

    unit_assert_contains(s, "## get_weather\nThe weather in a city, now.\n"
                            "Parameters (JSON Schema): {\"type\":\"object\","
                            "\"properties\":{\"city\":{\"type\":\"string\"},"
                            "\"unit\":{\"type\":\"string\",\"enum\":[\"C\","
                            "\"F\"]}},\"required\":[\"city\"]}\n");
    unit_assert_contains(s, "## get_time\nThe time in a time zone.\n");
    unit_assert_contains(s, "## read_file\nNo parameters.\n");
    unit_assert_contains(s, "## ls\n");

    /* the tags of this request, the result's form */

    unit_assert_contains(s, "Copy the tags " OPEN " and " CLOSE);
    unit_assert_contains(s, "<tool_result_" NONCE " call_id=\"call_...\" "
                            "name=\"the tool's name\">\n...\n</tool_result_"
                            NONCE ">");

    /* the rules models break most */

    unit_assert_contains(s, "Write nothing after the last call");
    unit_assert_contains(s, "never guess what a tool would return");
    unit_assert_contains(s, "Do not put calls in a code block");
    unit_assert_contains(s, "bare JSON");
    unit_assert_contains(s, "\"arguments\" is a JSON object (not a string)");

    /* several calls allowed; no choice rule */

    unit_assert_contains(s, "To call several tools at once");
    unit_assert_not_contains(s, "at most one tool");
    unit_assert_not_contains(s, "you must call");

    /* the example: the first tool, its required argument first */

    ex = example_line(s);
    assert_string_equal(ex, OPEN "{\"name\": \"get_weather\", \"arguments\": "
                            "{\"city\": \"...\", \"unit\": \"C\"}}" CLOSE);

    /* and the extractor takes it */

    assert_int_equal(feed(&t, ex, strlen(ex), NULL, 0, 65536, &g, NULL), 0);
    assert_int_equal(g.ncalls, 1);
    assert_string_equal(g.name[0], "get_weather");
    assert_string_equal(g.args[0], "{\"city\":\"...\",\"unit\":\"C\"}");

    /* the whole instructions, fed as an answer: the text up to the
     * example, the example's call, nothing after it (the tags that the
     * rules name make no call) */

    (void) feed(&t, s, strlen(s), NULL, 0, 65536, &g, NULL);
    assert_int_equal(g.ncalls, 1);
    assert_int_equal(g.text.len, strstr(s, "\n\n" OPEN) - s);
    assert_memory_equal(g.text.data, s, g.text.len);
}


static void
test_tools_instructions_choices(void **state)
{
    char           *s;
    chaton_tools_t  t;

    t = offer(CHATON_TOOL_CHOICE_AUTO, 0);
    s = instructions(&t);
    unit_assert_contains(s, "Call at most one tool per answer");
    unit_assert_not_contains(s, "To call several tools at once");

    t = offer(CHATON_TOOL_CHOICE_REQUIRED, 1);
    s = instructions(&t);
    unit_assert_contains(s, "In this answer you must call at least one tool");

    t = offer(CHATON_TOOL_CHOICE_FUNCTION, 1);
    t.choice_name = (const unsigned char *) "get_time";
    t.choice_name_len = 8;
    s = instructions(&t);
    unit_assert_contains(s, "In this answer you must call the tool "
                            "\"get_time\".\n");
    assert_string_equal(example_line(s),
                        OPEN "{\"name\": \"get_time\", \"arguments\": "
                        "{\"tz\": \"...\"}}" CLOSE);

    /* the choice's rule comes last */

    assert_string_equal(s + strlen(s) - 12, "\"get_time\".\n");

    /* none: no tool offered, only how history is written */

    t = offer(CHATON_TOOL_CHOICE_NONE, 1);
    s = instructions(&t);
    unit_assert_not_contains(s, "get_weather");
    unit_assert_not_contains(s, "## ");
    unit_assert_contains(s, OPEN "{\"name\": \"...\", \"arguments\": {...}}"
                            CLOSE "\n");
    unit_assert_contains(s, "<tool_result_" NONCE " call_id=\"call_...\" "
                            "name=\"...\">\n...\n</tool_result_" NONCE ">\n");
    unit_assert_contains(s, "No tool can be called now");
}


static void
test_tools_instructions_odd_schemas(void **state)
{
    char           *s;
    chaton_tools_t  t;
    chaton_tool_t   odd[] = {
        /* not JSON: written as it came */
        { (const unsigned char *) "a", 1, NULL, 0,
          (const unsigned char *) "{not json", 9, 0 },
        /* no properties */
        { (const unsigned char *) "b", 1, NULL, 0,
          (const unsigned char *) "{\"type\":\"object\"}", 17, 0 },
        /* every type */
        { (const unsigned char *) "c", 1, NULL, 0,
          (const unsigned char *) "{\"properties\":{\"n\":{\"type\":"
          "\"integer\"},\"b\":{\"type\":\"boolean\"}}}", 62, 0 },
    };

    t = offer(CHATON_TOOL_CHOICE_AUTO, 1);
    t.tools = odd;
    t.ntools = 3;

    s = instructions(&t);
    unit_assert_contains(s, "Parameters (JSON Schema): {not json\n");
    assert_string_equal(example_line(s),
                        OPEN "{\"name\": \"a\", \"arguments\": {}}" CLOSE);

    t.choice = CHATON_TOOL_CHOICE_FUNCTION;
    t.choice_name = (const unsigned char *) "c";
    t.choice_name_len = 1;
    s = instructions(&t);
    assert_string_equal(example_line(s),
                        OPEN "{\"name\": \"c\", \"arguments\": "
                        "{\"n\": 1, \"b\": true}}" CLOSE);

    /* no tool at all: still an example */

    t.ntools = 0;
    t.choice = CHATON_TOOL_CHOICE_REQUIRED;
    s = instructions(&t);
    assert_string_equal(example_line(s),
                        OPEN "{\"name\": \"...\", \"arguments\": {}}" CLOSE);
}


/*
 * The instructions of t/fixtures/tools/: the mock's self-test (t/00-mock.t)
 * sends them to the mock as the gateway would, so they must be what the
 * core writes.  UNIT_UPDATE_FIXTURES=1 rewrites them.
 */

static void
fixture(const char *name, const chaton_tools_t *t)
{
    char   path[256], *s, *want;
    long   n;
    FILE  *f;

    s = instructions(t);
    snprintf(path, sizeof(path), "t/fixtures/tools/%s.txt", name);

    if (getenv("UNIT_UPDATE_FIXTURES")) {
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
        assert_int_equal(fclose(f), 0);
    }

    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);

    want = unit_mem(n + 1);
    assert_int_equal(fread(want, 1, n, f), (size_t) n);
    want[n] = '\0';
    fclose(f);

    if (strcmp(s, want) != 0) {
        print_error("%s differs from what the core writes now; if that is "
                    "meant, rerun with UNIT_UPDATE_FIXTURES=1\n", path);
        fail();
    }
}


static void
test_tools_fixtures(void **state)
{
    chaton_tools_t  t;

    /* two tools: get_weather, get_time */

    t = offer(CHATON_TOOL_CHOICE_AUTO, 1);
    t.ntools = 2;

    fixture("auto", &t);

    t.parallel = 0;
    fixture("one", &t);

    t = offer(CHATON_TOOL_CHOICE_REQUIRED, 1);
    t.ntools = 2;
    fixture("required", &t);

    t = offer(CHATON_TOOL_CHOICE_FUNCTION, 1);
    t.ntools = 2;
    t.choice_name = (const unsigned char *) "get_time";
    t.choice_name_len = 8;
    fixture("function", &t);

    t = offer(CHATON_TOOL_CHOICE_NONE, 1);
    fixture("none", &t);
}


static void
expect_history_call(const char *name, const char *args, const char *want)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);

    assert_int_equal(chaton_tools_history_call(&b,
                         (const unsigned char *) NONCE,
                         (const unsigned char *) name, strlen(name),
                         (const unsigned char *) args,
                         args ? strlen(args) : 0),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&b), want);
}


static void
test_tools_history(void **state)
{
    got_t           g;
    chaton_buf_t    b;
    chaton_tools_t  t = offer(CHATON_TOOL_CHOICE_AUTO, 1);

    chaton_buf_init(&b, &unit_alloc, 0);

    /* an earlier call: the format, compact arguments */

    assert_int_equal(chaton_tools_history_call(&b, t.nonce,
                         (unsigned char *) "get_weather", 11,
                         (unsigned char *) "{ \"city\" : \"Paris\" }", 20),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&b),
                        OPEN "{\"name\": \"get_weather\", \"arguments\": "
                        "{\"city\":\"Paris\"}}" CLOSE);

    /* it reads back as that call */

    assert_int_equal(feed(&t, (char *) b.data, b.len, NULL, 0, 65536, &g,
                          NULL),
                     0);
    assert_int_equal(g.ncalls, 1);
    assert_string_equal(g.name[0], "get_weather");
    assert_string_equal(g.args[0], "{\"city\":\"Paris\"}");

    /* no arguments; arguments that are not JSON, as they came */

    expect_history_call("ls", NULL,
                        OPEN "{\"name\": \"ls\", \"arguments\": {}}" CLOSE);
    expect_history_call("a\"b", "{x",
                        OPEN "{\"name\": \"a\\\"b\", \"arguments\": {x}"
                        CLOSE);

    /* a result */

    b.len = 0;
    assert_int_equal(chaton_tools_history_result(&b, t.nonce,
                         (unsigned char *) "call_abc", 8,
                         (unsigned char *) "get_weather", 11,
                         (unsigned char *) "Sunny, 24\xc2\xb0" "C", 12),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&b),
                        "<tool_result_" NONCE " call_id=\"call_abc\" "
                        "name=\"get_weather\">\nSunny, 24\xc2\xb0" "C\n"
                        "</tool_result_" NONCE ">");

    /* attributes cannot be broken out of; a name may be missing */

    b.len = 0;
    assert_int_equal(chaton_tools_history_result(&b, t.nonce,
                         (unsigned char *) "x\" evil=\"1\n", 11, NULL, 0,
                         (unsigned char *) "", 0),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&b),
                        "<tool_result_" NONCE " call_id=\"x\\\" evil=\\\"1\\n\">"
                        "\n\n</tool_result_" NONCE ">");

    /* call ids */

    b.len = 0;
    assert_int_equal(chaton_tools_call_id(&b, t.nonce, 0), CHATON_OK);
    assert_int_equal(chaton_tools_call_id(&b, t.nonce, 12), CHATON_OK);
    assert_string_equal(unit_bufstr(&b), "call_" NONCE "_0call_" NONCE "_12");
}


static void
test_tools_nonce(void **state)
{
    size_t         i, k;
    unsigned char  n[CHATON_TOOLS_NONCE_LEN], m[CHATON_TOOLS_NONCE_LEN];
    int            seen[36];

    memset(seen, 0, sizeof(seen));

    for (k = 0; k < 200; k++) {
        assert_int_equal(chaton_tools_nonce(n), CHATON_OK);

        for (i = 0; i < CHATON_TOOLS_NONCE_LEN; i++) {
            assert_true((n[i] >= 'a' && n[i] <= 'z')
                        || (n[i] >= '0' && n[i] <= '9'));
            seen[n[i] >= 'a' ? n[i] - 'a' : 26 + n[i] - '0'] = 1;
        }
    }

    /* every character turns up in 1600 draws; two nonces differ */

    for (i = 0; i < 36; i++) {
        assert_true(seen[i]);
    }

    assert_int_equal(chaton_tools_nonce(m), CHATON_OK);
    assert_memory_not_equal(n, m, CHATON_TOOLS_NONCE_LEN);
}


static void
test_tools_response_format(void **state)
{
    char         *s;
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);

    assert_int_equal(chaton_tools_json_object(&b), CHATON_OK);
    s = unit_bufstr(&b);
    unit_assert_contains(s, "Answer with one JSON object and nothing else");
    unit_assert_contains(s, "no code block");
    unit_assert_not_contains(s, "Schema");

    b.len = 0;
    assert_int_equal(chaton_tools_json_schema(&b, (unsigned char *) "person",
                         6, (unsigned char *) "{ \"type\" : \"object\" }", 21),
                     CHATON_OK);
    s = unit_bufstr(&b);
    unit_assert_contains(s, "Answer with one JSON object and nothing else");
    unit_assert_contains(s, "match this JSON Schema (named \"person\"): "
                            "{\"type\":\"object\"}\n");

    b.len = 0;
    assert_int_equal(chaton_tools_json_schema(&b, NULL, 0,
                         (unsigned char *) "{\"type\":\"object\"}", 17),
                     CHATON_OK);
    unit_assert_contains(unit_bufstr(&b), "match this JSON Schema: {");

    /* json_schema without its schema: an object, nothing more to match */

    b.len = 0;
    assert_int_equal(chaton_tools_json_schema(&b, (unsigned char *) "p", 1,
                                              NULL, 0),
                     CHATON_OK);
    s = unit_bufstr(&b);
    unit_assert_contains(s, "Answer with one JSON object and nothing else");
    unit_assert_not_contains(s, "Schema");
}


static void
expect_unfence(const char *answer, const char *inside)
{
    size_t                len;
    const unsigned char  *in;

    in = NULL;
    len = 0;

    if (inside == NULL) {
        assert_int_equal(chaton_tools_unfence((unsigned char *) answer,
                                              strlen(answer), &in, &len), 0);
        return;
    }

    assert_int_equal(chaton_tools_unfence((unsigned char *) answer,
                                          strlen(answer), &in, &len), 1);

    if (len != strlen(inside) || memcmp(in, inside, len) != 0) {
        print_error("[%s]: inside [%s], want [%s]\n", answer,
                    unit_strn(in, len), inside);
        fail();
    }
}


static void
test_tools_unfence(void **state)
{
    expect_unfence("```json\n{\"a\": 1}\n```", "{\"a\": 1}");
    expect_unfence("\n  ```\n{\"a\": 1}\n```\n\n", "{\"a\": 1}");
    expect_unfence("```JSON \r\n{\n  \"a\": [1]\n}\r\n```", "{\n  \"a\": [1]\n}");
    expect_unfence("```json\n\n```", "");
    expect_unfence("```json\nx ``` y\n```", "x ``` y");

    /* not one whole block */

    expect_unfence("{\"a\": 1}", NULL);
    expect_unfence("Here:\n```json\n{}\n```", NULL);
    expect_unfence("```json\n{}\n```\nThat's it.", NULL);
    expect_unfence("```json\n{}\n```\n```json\n{}\n```", NULL);
    expect_unfence("```json\n{}", NULL);
    expect_unfence("```json {}```", NULL);
    expect_unfence("```json\n{}```", NULL);
    expect_unfence("```a b\n{}\n```", NULL);
    expect_unfence("``````", NULL);
    expect_unfence("", NULL);
}


static void
expect_minify(const char *in, const char *out)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_buf_append_str(&b, "kept"), CHATON_OK);

    if (out == NULL) {
        assert_int_equal(chaton_tools_minify(&b, (unsigned char *) in,
                                             strlen(in)),
                         CHATON_BAD);
        assert_string_equal(unit_bufstr(&b), "kept");
        return;
    }

    assert_int_equal(chaton_tools_minify(&b, (unsigned char *) in,
                                         strlen(in)),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&b) + 4, out);
}


static void
test_tools_minify(void **state)
{
    expect_minify(" { \"a\" : [ 1 , 2 ] ,\n\t\"b\" : \"x y\" } ",
                  "{\"a\":[1,2],\"b\":\"x y\"}");
    expect_minify("{\"s\":\"line\nnext\ttab\r\x01\"}",
                  "{\"s\":\"line\\nnext\\ttab\\r\\u0001\"}");
    expect_minify("{\"q\":\"\\\" \\\\ \"}", "{\"q\":\"\\\" \\\\ \"}");
    expect_minify("\"just a string\"", "\"just a string\"");
    expect_minify("{}", "{}");

    expect_minify("{\"a\":}", NULL);
    expect_minify("{\"a\":1} {}", NULL);
    expect_minify("{\"a\":01}", NULL);
    expect_minify("{\"a\":\"x\\\nb\"}", NULL);
    expect_minify("", NULL);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_tools_plain_text),
        utest(test_tools_prose_then_call),
        utest(test_tools_two_calls),
        utest(test_tools_fenced_call),
        utest(test_tools_closing_tag_missing),
        utest(test_tools_whitespace),
        utest(test_tools_example_in_fence),
        utest(test_tools_names),
        utest(test_tools_ambiguous_name),
        utest(test_tools_arguments),
        utest(test_tools_bad_json),
        utest(test_tools_other_nonce),
        utest(test_tools_text_after_call),
        utest(test_tools_one_call_only),
        utest(test_tools_too_big),
        utest(test_tools_held_bounded),
        utest(test_tools_text_at_once),
        utest(test_tools_callback_error),
        utest(test_tools_escaped_markers),
        utest(test_tools_instructions),
        utest(test_tools_instructions_choices),
        utest(test_tools_instructions_odd_schemas),
        utest(test_tools_fixtures),
        utest(test_tools_history),
        utest(test_tools_nonce),
        utest(test_tools_response_format),
        utest(test_tools_unfence),
        utest(test_tools_minify),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
