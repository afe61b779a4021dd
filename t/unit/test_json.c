/*
 * chaton_json_strict: RFC 8259 JSON text, stricter than cJSON, for what
 * clients send; chaton_json_get: cJSON's member lookup, faster.
 */

#include "unit.h"


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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
