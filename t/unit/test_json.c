/*
 * chaton_json_strict: RFC 8259 JSON text, stricter than cJSON, for what
 * clients send.
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


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_json_strict_accepts),
        utest(test_json_strict_refuses),
        utest(test_json_strict_depth),
        utest(test_json_strict_truncations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
