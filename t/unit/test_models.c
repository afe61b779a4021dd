/*
 * chaton_models.h: the alias table, look-ups and the /v1/models list.
 */

#include "unit.h"
#include "chaton_models.h"


/* the backend's model ids, per the protocol notes */

static const char  *backend_ids[] = {
    "gpt-4o", "gpt-4o-mini", "o3-mini", "o4-mini", "claude-3-5-sonnet",
    "claude-3-7-sonnet", "claude", "deepseek-r1", "sonar-reasoning-pro",
};

#define NBACKEND  (sizeof(backend_ids) / sizeof(backend_ids[0]))


static const chaton_model_t *
find(const char *name)
{
    return chaton_model_find(chaton_models_builtin, chaton_models_nbuiltin,
                             (const unsigned char *) name, strlen(name));
}


static void
test_models_find(void **state)
{
    size_t                 i;
    const chaton_model_t  *m;

    static const struct {
        const char  *client;
        const char  *backend;
    } v[] = {
        { "claude-3.5-sonnet", "claude-3-5-sonnet" },
        { "claude-3.7-sonnet", "claude-3-7-sonnet" },
        { "claude-3-haiku", "claude" },
        { "gpt 4o", "gpt-4o" },
        { "GPT-4O", "gpt-4o" },
        { "gPt-4O-mInI", "gpt-4o-mini" },
        { "CLAUDE-3.5-SONNET", "claude-3-5-sonnet" },
        { "DeepSeek-R1", "deepseek-r1" },
        { "Sonar-Reasoning-Pro", "sonar-reasoning-pro" },

        /* OpenAI's dated and -latest names of the same models */
        { "gpt-4o-2024-05-13", "gpt-4o" },
        { "gpt-4o-2024-08-06", "gpt-4o" },
        { "gpt-4o-2024-11-20", "gpt-4o" },
        { "chatgpt-4o-latest", "gpt-4o" },
        { "gpt-4o-mini-2024-07-18", "gpt-4o-mini" },
        { "o3-mini-2025-01-31", "o3-mini" },
        { "o4-mini-2025-04-16", "o4-mini" },
        { "O3-Mini", "o3-mini" },

        /* Anthropic's */
        { "claude-3-5-sonnet-20240620", "claude-3-5-sonnet" },
        { "claude-3-5-sonnet-20241022", "claude-3-5-sonnet" },
        { "claude-3-5-sonnet-latest", "claude-3-5-sonnet" },
        { "claude-3-7-sonnet-20250219", "claude-3-7-sonnet" },
        { "claude-3-7-sonnet-latest", "claude-3-7-sonnet" },
        { "claude-3-haiku-20240307", "claude" },
    };

    /* the backend's own ids mean themselves */

    for (i = 0; i < NBACKEND; i++) {
        m = find(backend_ids[i]);
        assert_non_null(m);
        assert_string_equal(m->backend, backend_ids[i]);
        assert_string_equal(m->id, backend_ids[i]);
    }

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        m = find(v[i].client);

        if (m == NULL) {
            print_error("\"%s\" is not found\n", v[i].client);
            fail();
        }

        assert_string_equal(m->backend, v[i].backend);
        assert_int_equal(m->backend_len, strlen(v[i].backend));
    }
}


static void
test_models_unknown(void **state)
{
    size_t  i;

    static const char  *unknown[] = {
        "", "gpt", "gpt-4", "gpt-4o ", " gpt-4o", "gpt-4o-mini-x", "gpt4o",
        "gpt-4o\n", "claude-3", "claude-3-5", "claude-3.5", "claude 3.5 sonnet",
        "o1", "gpt-5", "dall-e-3", "tts-1", "gpt_4o", "gpt-4\xc3\xb8",
        "o3", "o3-mini-2025", "gpt-4o-2024", "claude-3-5-sonnet-2024",
        "gpt-4-turbo", "gpt-3.5-turbo",
    };

    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (find(unknown[i]) != NULL) {
            print_error("\"%s\" was found\n", unknown[i]);
            fail();
        }
    }

    /* the length is what counts, not a NUL */
    assert_null(chaton_model_find(chaton_models_builtin,
                                  chaton_models_nbuiltin,
                                  (const unsigned char *) "gpt-4o\0x", 8));
    assert_non_null(chaton_model_find(chaton_models_builtin,
                                      chaton_models_nbuiltin,
                                      (const unsigned char *) "gpt-4oXYZ",
                                      6));
    assert_null(chaton_model_find(chaton_models_builtin, 0,
                                  (const unsigned char *) "gpt-4o", 6));
}


/* the table is well formed: lengths right, ids lower case (the look-up
 * folds only the client's name), every backend id one the backend knows */

static void
test_models_table(void **state)
{
    size_t  i, k;
    int     known;

    assert_true(chaton_models_nbuiltin >= NBACKEND);

    for (i = 0; i < chaton_models_nbuiltin; i++) {
        const chaton_model_t  *m = &chaton_models_builtin[i];

        assert_int_equal(m->id_len, strlen(m->id));
        assert_int_equal(m->backend_len, strlen(m->backend));
        assert_true(m->id_len > 0);

        for (k = 0; k < m->id_len; k++) {
            assert_false(m->id[k] >= 'A' && m->id[k] <= 'Z');
        }

        known = 0;
        for (k = 0; k < NBACKEND; k++) {
            known |= strcmp(m->backend, backend_ids[k]) == 0;
        }

        if (!known) {
            print_error("\"%s\" maps to \"%s\", not a backend model\n",
                        m->id, m->backend);
            fail();
        }

        /* each id is found as itself (no earlier entry shadows it) */
        assert_ptr_equal(find(m->id), m);

        /* a release after GPT-4o's announcement year began, a window */
        assert_true(m->created >= 1704067200);      /* 2024-01-01 */
        assert_true(m->created < 1767225600);       /* 2026-01-01 */
        assert_true(m->context >= 100000);

        /* the same window as the backend id's own entry */
        assert_int_equal(m->context, find(m->backend)->context);
    }
}


/* the releases and windows the names carry */

static void
test_models_dates(void **state)
{
    size_t  i;

    static const struct {
        const char  *id;
        uint64_t     created;
        uint64_t     context;
    } v[] = {
        { "gpt-4o", 1715558400, 128000 },                   /* 2024-05-13 */
        { "gpt-4o-2024-08-06", 1722902400, 128000 },
        { "gpt-4o-2024-11-20", 1732060800, 128000 },
        { "gpt-4o-mini", 1721260800, 128000 },              /* 2024-07-18 */
        { "o3-mini", 1738281600, 200000 },                  /* 2025-01-31 */
        { "o4-mini-2025-04-16", 1744761600, 200000 },
        { "claude-3-5-sonnet-20241022", 1729555200, 200000 },
        { "claude-3-7-sonnet", 1739923200, 200000 },        /* 2025-02-19 */
        { "claude", 1709769600, 200000 },                   /* 2024-03-07 */
        { "deepseek-r1", 1737331200, 128000 },              /* 2025-01-20 */
        { "sonar-reasoning-pro", 1741305600, 128000 },      /* 2025-03-07 */
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(find(v[i].id)->created, v[i].created);
        assert_int_equal(find(v[i].id)->context, v[i].context);
    }
}


static cJSON *
list(const chaton_model_t *table, size_t n)
{
    chaton_buf_t  b;
    cJSON        *j;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_models_list(&b, table, n), CHATON_OK);

    j = unit_json(b.data, b.len);
    unit_jkeys_exactly(j, "object", "data", NULL);
    assert_string_equal(unit_jstr(j, "object"), "list");
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "data")));

    return cJSON_GetObjectItemCaseSensitive(j, "data");
}


static int
listed(cJSON *data, const char *id)
{
    int     n;
    cJSON  *m;

    n = 0;

    cJSON_ArrayForEach(m, data) {
        n += strcmp(unit_jstr(m, "id"), id) == 0;
    }

    return n;
}


static void
test_models_list(void **state)
{
    size_t   i, n;
    cJSON   *data, *m;

    data = list(chaton_models_builtin, chaton_models_nbuiltin);

    /* every model is OpenAI's shape */

    cJSON_ArrayForEach(m, data) {
        unit_jkeys_exactly(m, "id", "object", "created", "owned_by", NULL);
        assert_string_equal(unit_jstr(m, "object"), "model");
        assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
                                       m, "created")));
        assert_true(strlen(unit_jstr(m, "owned_by")) > 0);
    }

    /* the backend's models, and the common aliases, listed once each */

    for (i = 0; i < NBACKEND; i++) {
        assert_int_equal(listed(data, backend_ids[i]), 1);
    }

    assert_int_equal(listed(data, "claude-3.5-sonnet"), 1);
    assert_int_equal(listed(data, "claude-3.7-sonnet"), 1);
    assert_int_equal(listed(data, "claude-3-haiku"), 1);

    /* the unlisted ones are not */
    assert_int_equal(listed(data, "gpt 4o"), 0);
    assert_int_equal(listed(data, "chatgpt-4o-latest"), 0);

    /* exactly the listed entries, in table order */

    n = 0;
    for (i = 0; i < chaton_models_nbuiltin; i++) {
        if (chaton_models_builtin[i].listed) {
            m = cJSON_GetArrayItem(data, (int) n++);
            assert_non_null(m);
            assert_string_equal(unit_jstr(m, "id"),
                                chaton_models_builtin[i].id);
        }
    }

    assert_int_equal(cJSON_GetArraySize(data), n);

    /* an empty table */
    data = list(chaton_models_builtin, 0);
    assert_int_equal(cJSON_GetArraySize(data), 0);
}


#define entry(id, backend, listed)                                           \
    { id, sizeof(id) - 1, backend, sizeof(backend) - 1, listed, 0, 0 }


/* operator entries go in front of the built-in ones: the first match wins */

static void
test_models_operator_entries(void **state)
{
    size_t                 n;
    cJSON                 *data;
    chaton_model_t        *t;
    const chaton_model_t  *m;

    static const chaton_model_t  ops[] = {
        entry("gpt-4o", "claude-3-7-sonnet", 1),
        entry("my-model", "deepseek-r1", 1),
        entry("hidden", "gpt-4o-mini", 0),
    };

    n = 3 + chaton_models_nbuiltin;
    t = unit_mem(n * sizeof(chaton_model_t));
    memcpy(t, ops, sizeof(ops));
    memcpy(t + 3, chaton_models_builtin,
           chaton_models_nbuiltin * sizeof(chaton_model_t));

    m = chaton_model_find(t, n, (const unsigned char *) "GPT-4o", 6);
    assert_ptr_equal(m, &t[0]);
    assert_string_equal(m->backend, "claude-3-7-sonnet");

    m = chaton_model_find(t, n, (const unsigned char *) "hidden", 6);
    assert_ptr_equal(m, &t[2]);

    m = chaton_model_find(t, n, (const unsigned char *) "claude-3-haiku", 14);
    assert_non_null(m);
    assert_string_equal(m->backend, "claude");

    data = list(t, n);
    assert_int_equal(listed(data, "gpt-4o"), 1);
    assert_int_equal(listed(data, "my-model"), 1);
    assert_int_equal(listed(data, "hidden"), 0);
    assert_int_equal(listed(data, "gpt-4o-mini"), 1);

    /* the operator's entry comes first */
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(data, 0), "id"),
                        "gpt-4o");
    assert_string_equal(unit_jstr(cJSON_GetArrayItem(data, 1), "id"),
                        "my-model");
}


static void
test_models_object(void **state)
{
    chaton_buf_t  b;
    cJSON        *j;

    static const chaton_model_t  odd = entry("we\"ird\\id", "gpt-4o", 1);

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_model_object(&b, &chaton_models_builtin[0]),
                     CHATON_OK);
    j = unit_json(b.data, b.len);
    unit_jkeys_exactly(j, "id", "object", "created", "owned_by", NULL);
    assert_string_equal(unit_jstr(j, "id"), chaton_models_builtin[0].id);
    assert_string_equal(unit_jstr(j, "object"), "model");
    assert_true(cJSON_GetObjectItemCaseSensitive(j, "created")->valuedouble
                == (double) chaton_models_builtin[0].created);
    assert_true(chaton_models_builtin[0].created > 0);

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_model_object(&b, &odd), CHATON_OK);
    j = unit_json(b.data, b.len);
    assert_string_equal(unit_jstr(j, "id"), "we\"ird\\id");
}


/* an operator's entry takes its backend model's release and window */

static void
test_models_inherit(void **state)
{
    chaton_model_t  m[3] = {
        entry("gpt-3.5-turbo", "gpt-4o-mini", 1),
        entry("mine", "o4-mini", 0),
        entry("new", "a-model-we-do-not-know", 1),
    };

    chaton_models_inherit(m, 3);

    assert_int_equal(m[0].created, find("gpt-4o-mini")->created);
    assert_int_equal(m[0].context, 128000);
    assert_int_equal(m[1].created, find("o4-mini")->created);
    assert_int_equal(m[1].context, 200000);
    assert_int_equal(m[2].created, 0);
    assert_int_equal(m[2].context, 0);
}


/* a window set for a backend model is every name's that means it */

static void
test_models_window(void **state)
{
    size_t           i, n, k;
    chaton_model_t  *t;

    n = 1 + chaton_models_nbuiltin;
    t = unit_mem(n * sizeof(chaton_model_t));
    t[0] = (chaton_model_t) entry("gpt-3.5-turbo", "gpt-4o", 1);
    memcpy(t + 1, chaton_models_builtin,
           chaton_models_nbuiltin * sizeof(chaton_model_t));

    k = chaton_models_window(t, n, (const unsigned char *) "gpt-4o", 6, 1000);

    for (i = 0; i < n; i++) {
        if (strcmp(t[i].backend, "gpt-4o") == 0) {
            assert_int_equal(t[i].context, 1000);
            k--;

        } else {
            assert_int_equal(t[i].context,
                             chaton_models_builtin[i - 1].context);
        }
    }

    assert_int_equal(k, 0);
    assert_int_equal(chaton_model_find(t, n, (const unsigned char *)
                                       "gpt-4o-2024-08-06", 17)->context,
                     1000);

    /* the ChatOn id exactly; none means it: nothing changes */
    assert_int_equal(chaton_models_window(t, n, (const unsigned char *)
                                          "GPT-4o", 6, 5), 0);
    assert_int_equal(chaton_models_window(t, n, (const unsigned char *)
                                          "gpt-4", 5, 5), 0);
    assert_int_equal(t[1].context, 1000);

    /* off */
    assert_true(chaton_models_window(t, n, (const unsigned char *)
                                     "claude", 6, 0) >= 3);
    assert_int_equal(chaton_model_find(t, n, (const unsigned char *)
                                       "claude-3-haiku", 14)->context, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_models_find),
        utest(test_models_unknown),
        utest(test_models_table),
        utest(test_models_dates),
        utest(test_models_inherit),
        utest(test_models_window),
        utest(test_models_list),
        utest(test_models_operator_entries),
        utest(test_models_object),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
