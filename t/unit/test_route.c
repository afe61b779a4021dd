/*
 * chaton_route.h: the one route parser, on the URIs and locations README
 * promises: routes after "/v1/", or after the location's prefix, and the
 * id of "models/<id>"; and each route's label in the metrics.
 */

#include "unit.h"
#include "chaton_route.h"


typedef struct {
    const char             *uri;
    const char             *prefix;    /* the location's, "" for none */
    int                     route;
    const char             *id;        /* models/<id> */
} route_case_t;


static void
check(const route_case_t *c)
{
    chaton_route_t  rt;

    chaton_route_parse(&rt, (const unsigned char *) c->uri, strlen(c->uri),
                       (const unsigned char *) c->prefix, strlen(c->prefix));

    if (rt.route != c->route) {
        print_error("%s (location %s): route %d, expected %d\n", c->uri,
                    c->prefix, rt.route, c->route);
        fail();
    }

    if (c->route == CHATON_ROUTE_RESPONSE
        || c->route == CHATON_ROUTE_RESPONSE_ITEMS)
    {
        assert_int_equal(rt.id_len, strlen(c->id));
        assert_memory_equal(rt.id, c->id, rt.id_len);
        return;
    }

    if (c->route != CHATON_ROUTE_MODEL) {
        assert_null(rt.id);
        assert_int_equal(rt.id_len, 0);
        return;
    }

    if (rt.id_len != strlen(c->id)
        || memcmp(rt.id, c->id, rt.id_len) != 0)
    {
        print_error("%s (location %s): id \"%.*s\", expected \"%s\"\n",
                    c->uri, c->prefix, (int) rt.id_len, rt.id, c->id);
        fail();
    }

    /* the path handed to another server is "models/<id>" */
    assert_int_equal(rt.path_len, 7 + rt.id_len);
    assert_memory_equal(rt.path, "models/", 7);
    assert_ptr_equal(rt.path + 7, rt.id);
}


static void
check_all(const route_case_t *v, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        check(&v[i]);
    }
}


static void
test_route_after_v1(void **state)
{
    static const route_case_t  v[] = {
        { "/v1/chat/completions", "/v1/", CHATON_ROUTE_CHAT, NULL },
        { "/v1/images/generations", "/v1/", CHATON_ROUTE_IMAGES, NULL },
        { "/v1/audio/speech", "/v1/", CHATON_ROUTE_SPEECH, NULL },
        { "/v1/models", "/v1/", CHATON_ROUTE_MODELS, NULL },
        { "/v1/models/", "/v1/", CHATON_ROUTE_MODELS, NULL },
        { "/v1/models/gpt-4o", "/v1/", CHATON_ROUTE_MODEL, "gpt-4o" },
        { "/v1/models/gpt-4o/", "/v1/", CHATON_ROUTE_MODEL, "gpt-4o" },
        { "/v1/models/meta-llama/llama-3", "/v1/", CHATON_ROUTE_MODEL,
          "meta-llama/llama-3" },
        { "/V1/models", "/", CHATON_ROUTE_MODELS, NULL },
        { "/v1/chat/completions/", "/v1/", CHATON_ROUTE_CHAT, NULL },
        { "/v1/messages", "/v1/", CHATON_ROUTE_MESSAGES, NULL },
        { "/v1/messages/", "/v1/", CHATON_ROUTE_MESSAGES, NULL },
        { "/v1/messages/count_tokens", "/v1/", CHATON_ROUTE_COUNT_TOKENS,
          NULL },
        { "/anthropic/v1/messages", "/anthropic/", CHATON_ROUTE_MESSAGES,
          NULL },
        { "/v1/responses", "/v1/", CHATON_ROUTE_RESPONSES, NULL },
        { "/v1/responses/", "/v1/", CHATON_ROUTE_RESPONSES, NULL },
        { "/v1/responses/resp_1", "/v1/", CHATON_ROUTE_RESPONSE, "resp_1" },
        { "/v1/responses/resp_1/input_items", "/v1/",
          CHATON_ROUTE_RESPONSE_ITEMS, "resp_1" },
        { "/v1/responses/resp_1/input_items/", "/v1/",
          CHATON_ROUTE_RESPONSE_ITEMS, "resp_1" },
        { "/v1/responses/resp_1/other", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/responses//input_items", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/responsesx", "/v1/", CHATON_ROUTE_NONE, NULL },

        /* another location's prefix before "/v1/" */
        { "/openai/v1/chat/completions", "/openai/v1/", CHATON_ROUTE_CHAT,
          NULL },
        { "/openai/v1/models", "/openai/", CHATON_ROUTE_MODELS, NULL },
        { "/api/openai/v1/models/claude", "/api/", CHATON_ROUTE_MODEL,
          "claude" },

        /* "/v1/" first: the location /models/ does not make an id of it */
        { "/models/v1/models", "/models/", CHATON_ROUTE_MODELS, NULL },
        { "/models/v1/models/gpt-4o", "/models/", CHATON_ROUTE_MODEL,
          "gpt-4o" },

        /* the first "/v1/" counts */
        { "/v1/models/v1/x", "/v1/", CHATON_ROUTE_MODEL, "v1/x" },

        /* not routes */
        { "/v1/", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1", "/", CHATON_ROUTE_NONE, NULL },
        { "/v1/chat", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/chat/completions/x", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/chat/completionsx", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/Chat/Completions", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/modelsx", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/models//", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/v1/models", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/embeddings", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/messages/batches", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/messages/count_tokensx", "/v1/", CHATON_ROUTE_NONE, NULL },
        { "/v1/Messages", "/v1/", CHATON_ROUTE_NONE, NULL },
    };

    check_all(v, sizeof(v) / sizeof(v[0]));
}


static void
test_route_after_prefix(void **state)
{
    static const route_case_t  v[] = {
        { "/openai/models", "/openai/", CHATON_ROUTE_MODELS, NULL },
        { "/openai/models/gpt-4o", "/openai/", CHATON_ROUTE_MODEL,
          "gpt-4o" },
        { "/openai/chat/completions", "/openai/", CHATON_ROUTE_CHAT, NULL },
        { "/openai/audio/speech", "/openai/", CHATON_ROUTE_SPEECH, NULL },
        { "/claude/messages", "/claude/", CHATON_ROUTE_MESSAGES, NULL },
        { "/claude/messages/count_tokens", "/claude/",
          CHATON_ROUTE_COUNT_TOKENS, NULL },
        { "/api/ai/images/generations", "/api/ai/", CHATON_ROUTE_IMAGES,
          NULL },

        /* a prefix without its slash, at a segment's boundary only */
        { "/openai/models", "/openai", CHATON_ROUTE_MODELS, NULL },
        { "/openaimodels", "/openai", CHATON_ROUTE_NONE, NULL },

        /* location /models/: the route is after it, an id is after that */
        { "/models/models", "/models/", CHATON_ROUTE_MODELS, NULL },
        { "/models/models/x", "/models/", CHATON_ROUTE_MODEL, "x" },
        { "/models/", "/models/", CHATON_ROUTE_NONE, NULL },

        /* location /: the URI after its slash */
        { "/models", "/", CHATON_ROUTE_MODELS, NULL },
        { "/chat/completions", "/", CHATON_ROUTE_CHAT, NULL },

        /* no prefix (a regex or exact location), or one that is not the
         * URI's: the URI after its first slash */
        { "/models", "", CHATON_ROUTE_MODELS, NULL },
        { "/chat/completions", "", CHATON_ROUTE_CHAT, NULL },
        { "/openai/models", "", CHATON_ROUTE_NONE, NULL },
        { "/models/gpt-4o", "/other/", CHATON_ROUTE_MODEL, "gpt-4o" },

        /* odd URIs */
        { "", "", CHATON_ROUTE_NONE, NULL },
        { "/", "/", CHATON_ROUTE_NONE, NULL },
        { "models", "", CHATON_ROUTE_MODELS, NULL },
    };

    check_all(v, sizeof(v) / sizeof(v[0]));
}


/* the path is the URI under the root, byte for byte, in place */

static void
test_route_path(void **state)
{
    chaton_route_t  rt;

    static const char  uri[] = "/openai/v1/chat/completions/";

    chaton_route_parse(&rt, (const unsigned char *) uri, sizeof(uri) - 1,
                       (const unsigned char *) "/openai/", 8);

    assert_int_equal(rt.route, CHATON_ROUTE_CHAT);
    assert_ptr_equal(rt.path, (const unsigned char *) uri + 11);
    assert_int_equal(rt.path_len, sizeof("chat/completions") - 1);

    /* a URI is not read past its length (no NUL needed) */
    chaton_route_parse(&rt, (const unsigned char *) "/v1/modelsXYZ", 10,
                       NULL, 0);
    assert_int_equal(rt.route, CHATON_ROUTE_MODELS);
}


/*
 * The metrics' route label: chat's is "chat", routes may share one
 * (count_tokens with messages, a model with the models), no route has
 * none; the table's labels, in order, end with NULL.
 */

static void
test_route_label(void **state)
{
    size_t          i, len;
    const char     *label;
    chaton_route_t  rt;

    static const struct {
        const char  *uri;
        const char  *label;
    } v[] = {
        { "/v1/chat/completions", "chat" },
        { "/v1/messages", "messages" },
        { "/v1/messages/count_tokens", "messages" },
        { "/v1/models", "models" },
        { "/v1/models/gpt-4o", "models" },
        { "/v1/images/generations", "images" },
        { "/v1/audio/speech", "speech" },
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        chaton_route_parse(&rt, (const unsigned char *) v[i].uri,
                           strlen(v[i].uri), NULL, 0);

        if (rt.label == NULL || rt.label_len != strlen(v[i].label)
            || memcmp(rt.label, v[i].label, rt.label_len) != 0)
        {
            print_error("%s: label \"%.*s\", expected \"%s\"\n", v[i].uri,
                        (int) rt.label_len, rt.label ? rt.label : "",
                        v[i].label);
            fail();
        }
    }

    chaton_route_parse(&rt, (const unsigned char *) "/v1/files", 9, NULL, 0);
    assert_null(rt.label);
    assert_int_equal(rt.label_len, 0);

    for (i = 0; (label = chaton_route_label(i, &len)) != NULL; i++) {
        assert_int_equal(len, strlen(label));
        assert_true(len > 0);
    }

    assert_true(i >= 6);
    assert_int_equal(len, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_route_after_v1),
        utest(test_route_after_prefix),
        utest(test_route_path),
        utest(test_route_label),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
