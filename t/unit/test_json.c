/*
 * chaton_json_strict: RFC 8259 JSON text, stricter than cJSON, for what
 * clients send; chaton_json_get: cJSON's member lookup, faster.
 */

#include "unit.h"
#include "../json_same.h"


static int
strict(const char *s)
{
    return chaton_json_strict((const unsigned char *) s, strlen(s));
}


static void
test_json_strict_accepts(void **state)
{
    static const char  *ok[] = {
        "{}", "[]", " {\"a\":1} \r\n", "0", "-0", "-0.5e+10", "1E5", "1e-7",
        "\"s\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"",
        "true", "false", "null", "[[[]]]", "{\"a\":{}}", "[1,[2,[3]]]",
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}", "\"caf\xc3\xa9\"",
    };

    size_t  i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!strict(ok[i])) {
            print_error("refused: %s\n", ok[i]);
            fail();
        }
    }
}


static void
test_json_strict_refuses(void **state)
{
    static const char  *bad[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "01", "-01", "1.", ".5",
        "1e", "1e+", "-", "+1", "{\"a\" 1}", "{a:1}", "\"\x01\"", "\"\n\"",
        "\"\t\"", "[1 2]", "{} {}", "[] x", "tru", "nul", "\"\\x\"",
        "\"\\u12\"", "\"\\u12g4\"", "{\"a\":}", "[,1]", "\"open", "[1",
        "{\"a\":1", "NaN", "Infinity", "'a'", "{\"a\";1}",
    };

    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (strict(bad[i])) {
            print_error("accepted: %s\n", bad[i]);
            fail();
        }
    }
}


static void
test_json_strict_depth(void **state)
{
    char  deep[2100];

    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    assert_true(chaton_json_strict((unsigned char *) deep, 2000));

    memset(deep, '[', 1001);
    memset(deep + 1001, ']', 1001);
    assert_false(chaton_json_strict((unsigned char *) deep, 2002));
}


/* every strict text is one cJSON takes too, and means the same */

static void
test_json_strict_truncations(void **state)
{
    size_t       i, n;
    const char  *s = "{\"model\":\"gpt-4o\",\"n\":1,\"x\":[true,false,null,"
                     "-1.5e3,\"\\u00e9\"],\"y\":{}}";

    n = strlen(s);

    assert_true(chaton_json_strict((const unsigned char *) s, n));

    for (i = 0; i < n; i++) {
        if (chaton_json_strict((const unsigned char *) s, i)) {
            print_error("accepted a truncation at %zu\n", i);
            fail();
        }
    }
}


/* what a string holds is seen at every place of strings of a few words */

static void
test_json_strict_string_places(void **state)
{
    size_t  len, at;
    char    s[64];

    for (len = 1; len <= 26; len++) {
        for (at = 0; at < len; at++) {
            memset(s, 'a', sizeof(s));
            s[0] = '"';
            s[len + 7] = '"';
            s[len + 8] = '\0';

            memcpy(s + 1 + at, "\\n", 2);
            assert_true(strict(s));

            memcpy(s + 1 + at, "\xc3\xa9", 2);
            assert_true(strict(s));

            memcpy(s + 1 + at, "\\u00e9", 6);
            assert_true(strict(s));
            memset(s + 1 + at, 'a', 6);

            s[1 + at] = '\x1f';
            assert_false(strict(s));

            s[1 + at] = '\\';
            assert_false(strict(s));        /* \a: no escape */

            s[1 + at] = '"';
            assert_false(strict(s));        /* a string, then garbage */
        }
    }
}


/*
 * chaton_json_get() finds what cJSON_GetObjectItemCaseSensitive() finds:
 * the first member of the name, none for a name that only starts alike,
 * is a prefix, or differs in case; nothing in arrays and scalars.
 */

static void
test_json_get(void **state)
{
    size_t        i, j;
    cJSON        *o, *v;
    const char   *s;

    static const char  *objects[] = {
        "{\"stream\":true,\"stream_options\":{},\"s\":1,\"\":2,"
        "\"Stream\":3,\"stream\":false,\"st\":4}",
        "{}",
        "[1,2]",
        "\"stream\"",
        "{\"a\":{\"stream\":1}}",
    };

    static const char  *names[] = {
        "stream", "stream_options", "s", "", "Stream", "st", "str",
        "streams", "a", "model", "stream_option",
    };

    for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
        o = cJSON_Parse(objects[i]);
        assert_non_null(o);

        for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
            assert_ptr_equal(chaton_json_get(o, names[j]),
                             cJSON_GetObjectItemCaseSensitive(o, names[j]));
        }

        assert_null(chaton_json_get(o, NULL));

        cJSON_Delete(o);
    }

    assert_null(chaton_json_get(NULL, "stream"));

    /* the first of two members of one name */

    s = objects[0];
    o = cJSON_Parse(s);
    v = chaton_json_get(o, "stream");
    assert_true(cJSON_IsTrue(v));
    assert_int_equal(chaton_json_get(o, "")->valueint, 2);
    assert_int_equal(chaton_json_get(o, "Stream")->valueint, 3);
    assert_null(chaton_json_get(o, "str"));
    cJSON_Delete(o);
}


/*
 * chaton_json_tree() builds what cJSON builds of the same strict text, in
 * one block; where cJSON refuses a strict text (a lone UTF-16 surrogate),
 * so does it.
 */

static int
tree_of(const char *s, size_t n, chaton_alloc_t *a, cJSON **root)
{
    chaton_json_room_t  room;

    if (!chaton_json_check((const unsigned char *) s, n, &room)) {
        return -100;
    }

    return chaton_json_tree(root, (const unsigned char *) s, n, &room, a);
}


static void
tree_same(const char *s, size_t n)
{
    int           rc;
    cJSON        *ours, *theirs;
    unit_pool_t   pool;
    chaton_alloc_t  a;

    unit_pool_init(&pool);
    a = unit_allocator(&pool, 1);

    rc = tree_of(s, n, &a, &ours);
    theirs = chaton_json_parse((const unsigned char *) s, n);

    if (rc == -100) {
        print_error("not a strict text: %.*s\n", (int) n, s);
        fail();
    }

    if (rc == CHATON_OK) {
        if (theirs == NULL || !chaton_t_same_json(ours, theirs)) {
            print_error("not cJSON's tree: %.*s\n", (int) n, s);
            fail();
        }

        assert_int_equal(pool.live, 1);         /* one block */
        chaton_json_tree_free(ours, &a);

    } else {
        if (rc != CHATON_BAD || theirs != NULL || ours != NULL) {
            print_error("rc %d where cJSON %s: %.*s\n", rc,
                        theirs ? "parses" : "refuses", (int) n, s);
            fail();
        }
    }

    assert_int_equal(pool.live, 0);
    cJSON_Delete(theirs);
    unit_pool_release(&pool);
}


static void
test_json_tree_as_cjson(void **state)
{
    static const char  *texts[] = {
        "{}", "[]", "0", "-0", "\"\"", "true", "false", "null", " [ ] ",
        "{\"a\":1,\"a\":2,\"\":3}", "[[[]],[{}],{\"x\":[1,[2,[3]]]}]",
        "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":"
        "\"user\",\"content\":\"Explain, in a few paragraphs.\"}]}",
        "[1.5,-2.25e-3,1E5,1e400,-1e400,2147483647,2147483648,-2147483648,"
        "-2147483649,4.9e-324,0.1,123456789012345678]",
        "[12345678901234567890123456789012345678901234567890123456789012,"
        "1234567890123456789012345678901234567890123456789012345678901234,"
        "-0.000000000000000000000000000000000000000000000000000000000001e5]",
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u0041\\u00e9\\u20ac\\uffff\"]",
        "[\"\\ud83d\\ude00\",\"x\\uD800\\uDC00y\",\"\\udbff\\udfff\"]",
        "[\"a\\u0000b\",\"\\u0000\"]",
        "{\"caf\\u00e9\":\"\xc3\xa9\xe4\xb8\xad\",\"\\n\":[]}",
        "[\"abcdefghijklmnop\\nqrstuvwxyz0123456789\\\"ABCDEFGH\"]",
        "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
        "[\"\\ud800x\"]", "[\"\\ud800\\n\"]", "[\"\\ud800\\ud800\"]",
        "{\"a\":\"\\udfff\"}", "{\"\\ud800\":1}",
    };

    size_t  i, len, at;
    char    deep[2100], s[80];

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        tree_same(texts[i], strlen(texts[i]));
    }

    /* a number of 77 digits, nesting to cJSON's limit */

    memset(s, '7', 79);
    s[0] = '[';
    s[78] = ']';
    tree_same(s, 79);

    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    tree_same(deep, 2000);

    /* an escape at every place of strings around eight bytes long */

    for (len = 1; len <= 26; len++) {
        for (at = 0; at < len; at++) {
            memset(s, 'a', sizeof(s));
            s[0] = '"';
            s[len + 7] = '"';
            memcpy(s + 1 + at, "\\u00e9", 6);
            tree_same(s, len + 8);
            memcpy(s + 1 + at, "\\\"\\\\x", 5);
            tree_same(s, len + 8);
        }
    }
}


/* no memory: CHATON_ERROR at once, nothing held */

static void
test_json_tree_no_memory(void **state)
{
    int             rc;
    cJSON          *root;
    unit_pool_t     pool;
    chaton_alloc_t  a;

    unit_pool_init(&pool);
    pool.limit = 0;
    a = unit_allocator(&pool, 1);

    rc = tree_of("{\"a\":[1,\"b\"]}", 13, &a, &root);
    assert_int_equal(rc, CHATON_ERROR);
    assert_null(root);
    assert_int_equal(pool.live, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_json_strict_accepts),
        utest(test_json_strict_refuses),
        utest(test_json_strict_depth),
        utest(test_json_strict_truncations),
        utest(test_json_strict_string_places),
        utest(test_json_get),
        utest(test_json_tree_as_cjson),
        utest(test_json_tree_no_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
