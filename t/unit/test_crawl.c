/*
 * chaton_crawl.h: links in a user's message, the crawler's /urls/ path, the
 * page text it streams back (content_delta events) and the context block
 * that gives it to the model.
 */

#include <openssl/evp.h>

#include "unit.h"
#include "chaton_crawl.h"


#define MAXU  16


static chaton_url_t  urls[MAXU + 1];


/* the URLs found in text (up to max), as NUL-terminated copies */

static size_t
found(const char *text, size_t max, char **out)
{
    size_t                i, n;
    const unsigned char  *t;

    t = (const unsigned char *) text;

    /* a sentinel: nothing past max is written */
    for (i = 0; i <= MAXU; i++) {
        urls[i].data = (const unsigned char *) "sentinel";
        urls[i].len = 8;
    }

    n = chaton_urls_find(t, strlen(text), urls, max);

    assert_true(n <= max);

    for (i = n; i <= MAXU; i++) {
        assert_int_equal(urls[i].len, 8);
        assert_memory_equal(urls[i].data, "sentinel", 8);
    }

    for (i = 0; i < n; i++) {

        /* pointers into the text, not copies */
        assert_true(urls[i].data >= t);
        assert_true(urls[i].data + urls[i].len <= t + strlen(text));

        out[i] = unit_strn(urls[i].data, urls[i].len);
    }

    return n;
}


/* the URLs text must give, a NULL-terminated list */

static void
expect_urls(const char *text, ...)
{
    size_t       i, n;
    char        *got[MAXU];
    va_list      args;
    const char  *u;

    n = found(text, MAXU, got);

    va_start(args, text);

    for (i = 0; (u = va_arg(args, const char *)) != NULL; i++) {
        if (i >= n || strcmp(got[i], u) != 0) {
            print_error("[%s]: URL %zu is [%s], expected [%s]\n", text, i,
                        i < n ? got[i] : "(none)", u);
            va_end(args);
            fail();
        }
    }

    va_end(args);

    if (n != i) {
        print_error("[%s]: %zu URLs, expected %zu; extra [%s]\n", text, n, i,
                    got[i]);
        fail();
    }
}


/* ---- finding links --------------------------------------------------------- */


static void
test_crawl_urls_prose(void **state)
{
    expect_urls("Summarize https://example.com/article please",
                "https://example.com/article", NULL);
    expect_urls("https://a.example/x", "https://a.example/x", NULL);
    expect_urls("see http://a.example", "http://a.example", NULL);
    expect_urls("http://a", "http://a", NULL);
    expect_urls("compare https://a.example/1 and\nhttp://b.example/2\tnow",
                "https://a.example/1", "http://b.example/2", NULL);

    /* the query string and fragment are kept */
    expect_urls("read https://example.com/p?q=1&r=a%20b#sec-2 now",
                "https://example.com/p?q=1&r=a%20b#sec-2", NULL);

    /* nothing */
    expect_urls("", NULL);
    expect_urls("no links here", NULL);
    expect_urls("http", NULL);
    expect_urls("https:/", NULL);
    expect_urls("https:// and http://", NULL);
    expect_urls("https://. http://...", NULL);
    expect_urls("ftp://example.com mailto:a@b.c", NULL);
    expect_urls("example.com www.example.com", NULL);

    /* the scan begins at the first "://": what comes before it is seen */
    expect_urls("note: http and https: see http://a.example",
                "http://a.example", NULL);
    expect_urls("x://y then https://b.example", "https://b.example", NULL);
    expect_urls("ahttps://c.example https://d.example",
                "https://d.example", NULL);
    expect_urls("time 10:30:00, ratio 1:2 and no link", NULL);
}


static void
test_crawl_urls_punctuation(void **state)
{
    /* what ends a sentence is not part of the link */

    expect_urls("Go to https://example.com.", "https://example.com", NULL);
    expect_urls("https://example.com/a, https://example.com/b; "
                "https://example.com/c: https://example.com/d! "
                "https://example.com/e? https://example.com/f...",
                "https://example.com/a", "https://example.com/b",
                "https://example.com/c", "https://example.com/d",
                "https://example.com/e", "https://example.com/f", NULL);
    expect_urls("Really https://example.com/x?!", "https://example.com/x",
                NULL);
    expect_urls("(https://example.com/x).", "https://example.com/x", NULL);
    expect_urls("[https://example.com/x]", "https://example.com/x", NULL);
    expect_urls("see https://example.com/x}", "https://example.com/x", NULL);

    /* but inside it, it is */
    expect_urls("https://example.com/a.b,c;d:e!f?g=h.html end",
                "https://example.com/a.b,c;d:e!f?g=h.html", NULL);

    /* quotes, angle brackets and back-quotes end a link */
    expect_urls("\"https://example.com/q\" 'https://example.com/s' "
                "<https://example.com/a> `https://example.com/b`",
                "https://example.com/q", "https://example.com/s",
                "https://example.com/a", "https://example.com/b", NULL);

    /* white space of any kind */
    expect_urls("https://a.example/x\r\nhttps://b.example/y\x0b",
                "https://a.example/x", "https://b.example/y", NULL);
}


static void
test_crawl_urls_parentheses(void **state)
{
    /* balanced parentheses belong to the link */
    expect_urls("https://en.wikipedia.org/wiki/Foo_(bar)",
                "https://en.wikipedia.org/wiki/Foo_(bar)", NULL);
    expect_urls("see https://en.wikipedia.org/wiki/Foo_(bar).",
                "https://en.wikipedia.org/wiki/Foo_(bar)", NULL);

    /* one the link did not open does not */
    expect_urls("(see https://example.com/x)", "https://example.com/x",
                NULL);
    expect_urls("(see https://en.wikipedia.org/wiki/Foo_(bar)).",
                "https://en.wikipedia.org/wiki/Foo_(bar)", NULL);
    expect_urls("(https://en.wikipedia.org/wiki/Foo_(bar))",
                "https://en.wikipedia.org/wiki/Foo_(bar)", NULL);
    expect_urls("((https://example.com/a_(b)_(c)))",
                "https://example.com/a_(b)_(c)", NULL);

    /* markdown links */
    expect_urls("[the page](https://example.com/page)",
                "https://example.com/page", NULL);
}


static void
test_crawl_urls_word_start(void **state)
{
    /* the scheme must start a word */
    expect_urls("xhttp://example.com", NULL);
    expect_urls("xhttps://example.com", NULL);
    expect_urls("a/https://example.com", NULL);
    expect_urls("xhttp://a.example http://b.example",
                "http://b.example", NULL);
    expect_urls("xhttps://a.example/https://b.example", NULL);

    /* after a non-ASCII letter (no spaces in CJK prose) it does */
    expect_urls("\xe7\x9c\x8b\xe8\xbf\x99https://example.com/cn",
                "https://example.com/cn", NULL);
}


static void
test_crawl_urls_duplicates_max(void **state)
{
    size_t  n;
    char   *got[MAXU];

    /* each once, in the order of first appearance */
    expect_urls("https://a.example https://b.example https://a.example "
                "https://a.example. (https://b.example) https://c.example",
                "https://a.example", "https://b.example",
                "https://c.example", NULL);

    /* not the same URL: another scheme or path */
    expect_urls("http://a.example https://a.example https://a.example/",
                "http://a.example", "https://a.example",
                "https://a.example/", NULL);

    /* max honoured; repeats do not count towards it */

    n = found("https://1.example https://1.example https://2.example "
              "https://3.example https://4.example", 3, got);
    assert_int_equal(n, 3);
    assert_string_equal(got[0], "https://1.example");
    assert_string_equal(got[1], "https://2.example");
    assert_string_equal(got[2], "https://3.example");

    n = found("https://1.example https://2.example", 1, got);
    assert_int_equal(n, 1);
    assert_string_equal(got[0], "https://1.example");

    n = found("https://1.example https://2.example", 0, got);
    assert_int_equal(n, 0);

    n = found("https://1.example https://2.example", 2, got);
    assert_int_equal(n, 2);
}


/* the scheme in any case: "HTTPS://", "Http://" are links too */

static void
test_crawl_urls_scheme_case(void **state)
{
    expect_urls("hTTPS://example.com/a", "hTTPS://example.com/a", NULL);
    expect_urls("See HTTPS://EXAMPLE.COM/A.", "HTTPS://EXAMPLE.COM/A", NULL);
    expect_urls("Http://example.com/b and hTtP://example.com/c",
                "Http://example.com/b", "hTtP://example.com/c", NULL);
}


/* ---- the crawler's path ---------------------------------------------------- */


static char *
ossl_base64(const char *s)
{
    int     n;
    char   *out;
    size_t  len;

    len = strlen(s);
    out = unit_mem(4 * ((len + 2) / 3) + 1);

    n = EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) s,
                        (int) len);
    assert_int_equal((size_t) n, 4 * ((len + 2) / 3));
    out[n] = '\0';

    return out;
}


static void
test_crawl_path(void **state)
{
    size_t        i;
    int           plus, slash;
    char         *want;
    chaton_buf_t  b;

    static const char  *u[] = {
        "https://example.com",
        "https://example.com/",
        "https://example.com/a",
        "http://x",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://example.com/search?q=~~~&r=???&s=>>>",
        "https://example.com/caf\xc3\xa9?x=\xe4\xb8\xad",
        "https://example.com/p?a=1&b=2#frag",
    };

    /* the protocol document's own example */

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_crawl_path(&b,
                         (const unsigned char *) "https://example.com", 19),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&b), "/urls/aHR0cHM6Ly9leGFtcGxlLmNvbQ==");

    /* OpenSSL's standard base64, every padding, "+" and "/" as they are */

    plus = 0;
    slash = 0;

    for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
        want = ossl_base64(u[i]);

        plus += strchr(want, '+') != NULL;
        slash += strchr(want, '/') != NULL;

        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_crawl_path(&b, (const unsigned char *) u[i],
                                           strlen(u[i])), CHATON_OK);

        assert_memory_equal(b.data, "/urls/", 6);
        assert_int_equal(b.len - 6, strlen(want));
        assert_memory_equal(b.data + 6, want, strlen(want));

        /* not percent-encoded, not URL-safe */
        assert_null(memchr(b.data, '%', b.len));
        assert_null(memchr(b.data, '-', b.len));
        assert_null(memchr(b.data, '_', b.len));
    }

    /* the vectors did exercise both */
    assert_true(plus > 0);
    assert_true(slash > 0);
}


/* ---- the crawler's events -------------------------------------------------- */


static int
cev(chaton_buf_t *text, const char *ev)
{
    return chaton_crawl_event(text, (const unsigned char *) ev, strlen(ev));
}


static void
test_crawl_events(void **state)
{
    size_t        i;
    chaton_buf_t  text;

    static const char  *ignored[] = {
        "{\"ping\":{}}",
        "{\"data\":{}}",
        "{\"data\":{\"operation\":\"crawl\"}}",
        "{\"data\":{\"content_delta\":null}}",
        "{\"data\":{\"content_delta\":5}}",
        "{\"data\":{\"content_delta\":[\"x\"]}}",
        "{\"data\":\"content_delta\"}",
        "{\"content_delta\":\"top level\"}",
        "{}",
    };

    chaton_buf_init(&text, &unit_alloc, 0);

    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"Title\\n\"}}"),
                     CHATON_OK);
    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":"
                                "\"Caf\\u00e9 \\\"x\\\" \\ud83d\\ude00 \"}}"),
                     CHATON_OK);

    for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        if (cev(&text, ignored[i]) != CHATON_OK) {
            print_error("%s not ignored\n", ignored[i]);
            fail();
        }
    }

    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"\"}}"),
                     CHATON_OK);
    assert_int_equal(cev(&text, " {\"data\": {\"content_delta\": "
                                "\"end.\"}}\r\n"), CHATON_OK);

    assert_int_equal(cev(&text, "[DONE]"), CHATON_DONE);

    assert_string_equal(unit_bufstr(&text),
                        "Title\nCaf\xc3\xa9 \"x\" \xf0\x9f\x98\x80 end.");
}


static void
test_crawl_events_invalid(void **state)
{
    size_t        i;
    chaton_buf_t  text;

    static const char  *bad[] = {
        "", "{", "not json", "{\"data\":", "[1,2]", "\"text\"", "42", "null",
        "true", "[DONE", "DONE", "[DONE] ", "{'data':1}", "{\"a\":1,}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chaton_buf_init(&text, &unit_alloc, 0);

        if (cev(&text, bad[i]) != CHATON_BAD) {
            print_error("[%s] was not refused\n", bad[i]);
            fail();
        }

        assert_int_equal(text.len, 0);
    }
}


/* more after the JSON object: not valid JSON, and a second delta lost */

static void
test_crawl_events_trailing_data(void **state)
{
    size_t        i;
    chaton_buf_t  text;

    static const char  *bad[] = {
        "{\"data\":{\"content_delta\":\"a\"}}{\"data\":{\"content_delta\":"
        "\"b\"}}",
        "{\"data\":{\"content_delta\":\"a\"}} x",
        "{\"data\":{\"content_delta\":\"a\"}}}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chaton_buf_init(&text, &unit_alloc, 0);

        if (cev(&text, bad[i]) != CHATON_BAD) {
            print_error("[%s] was not refused (text [%s])\n", bad[i],
                        unit_bufstr(&text));
            fail();
        }
    }
}


/* the largest prefix of s, at most max bytes, ending on a character */

static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
    size_t  n;

    if (len <= max) {
        return len;
    }

    for (n = max; n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80; n--) {
        /* void */
    }

    return n;
}


static void
test_crawl_events_max(void **state)
{
    int            rc;
    char          *ev;
    size_t         i, k, max, len, fed, at;
    uint64_t       seed;
    chaton_buf_t   text, all;

    static const char  *chars[] = {
        "a", " ", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\\n",
    };

    static const char  *raw[] = {
        "a", " ", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\n",
    };

    /* the documented cases first: the cut falls before a character */

    chaton_buf_init(&text, &unit_alloc, 10);
    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"12345678\"}}"),
                     CHATON_OK);
    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"\\u00e9"
                                "\\u4e2d\"}}"), CHATON_TOO_BIG);
    assert_string_equal(unit_bufstr(&text), "12345678\xc3\xa9");

    chaton_buf_init(&text, &unit_alloc, 9);
    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"12345678\"}}"),
                     CHATON_OK);
    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"\\u00e9\"}}"),
                     CHATON_TOO_BIG);
    assert_string_equal(unit_bufstr(&text), "12345678");

    /* exactly full is fine; anything more is too big, and not added */

    chaton_buf_init(&text, &unit_alloc, 8);
    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"12345678\"}}"),
                     CHATON_OK);
    assert_int_equal(text.len, 8);
    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"9\"}}"),
                     CHATON_TOO_BIG);
    assert_int_equal(text.len, 8);
    assert_int_equal(cev(&text, "{\"data\":{\"content_delta\":\"\"}}"),
                     CHATON_OK);
    assert_int_equal(cev(&text, "[DONE]"), CHATON_DONE);

    /* at random: every limit, deltas of random multi-byte characters */

    seed = 99;

    for (k = 0; k < 300; k++) {
        max = 1 + unit_rand_below(&seed, 80);

        chaton_buf_init(&text, &unit_alloc, max);
        chaton_buf_init(&all, &unit_alloc, 0);

        rc = CHATON_OK;
        fed = 0;

        while (rc == CHATON_OK) {
            chaton_buf_t  e;

            chaton_buf_init(&e, &unit_alloc, 0);
            assert_int_equal(chaton_buf_append_str(&e,
                                 "{\"data\":{\"content_delta\":\""),
                             CHATON_OK);

            len = 1 + unit_rand_below(&seed, 6);

            for (i = 0; i < len; i++) {
                at = unit_rand_below(&seed, 6);
                assert_int_equal(chaton_buf_append_str(&e, chars[at]),
                                 CHATON_OK);
                assert_int_equal(chaton_buf_append_str(&all, raw[at]),
                                 CHATON_OK);
            }

            assert_int_equal(chaton_buf_append_str(&e, "\"}}"), CHATON_OK);

            ev = unit_bufstr(&e);
            rc = cev(&text, ev);
            fed++;

            assert_true(rc == CHATON_OK || rc == CHATON_TOO_BIG);
            assert_true(text.len <= max);
        }

        /* the text: the longest whole-character prefix that fits */

        assert_int_equal(text.len, utf8_cut((const char *) all.data, all.len,
                                            max));
        assert_memory_equal(text.data, all.data, text.len);
        assert_true(unit_utf8_valid(text.data, text.len));
        assert_true(all.len > max);
        assert_true(fed >= 1);
    }
}


/* ---- the context block ----------------------------------------------------- */


static void
test_crawl_context(void **state)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);

    assert_int_equal(chaton_crawl_context(&b,
                         (const unsigned char *) "https://example.com/a", 21,
                         (const unsigned char *) "Page text.\nLine 2.", 18),
                     CHATON_OK);

    assert_string_equal(unit_bufstr(&b),
                        "[Content of https://example.com/a, fetched for this "
                        "message]\n"
                        "Page text.\nLine 2.\n"
                        "[End of https://example.com/a]\n\n");

    /* a second page follows the first; an empty page is still marked */

    assert_int_equal(chaton_crawl_context(&b,
                         (const unsigned char *) "http://b.example", 16,
                         (const unsigned char *) "", 0), CHATON_OK);

    assert_string_equal(unit_bufstr(&b),
                        "[Content of https://example.com/a, fetched for this "
                        "message]\n"
                        "Page text.\nLine 2.\n"
                        "[End of https://example.com/a]\n\n"
                        "[Content of http://b.example, fetched for this "
                        "message]\n"
                        "\n"
                        "[End of http://b.example]\n\n");

    /* bounded like any buffer */
    chaton_buf_init(&b, &unit_alloc, 40);
    assert_int_equal(chaton_crawl_context(&b,
                         (const unsigned char *) "https://example.com/a", 21,
                         (const unsigned char *) "x", 1), CHATON_TOO_BIG);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_crawl_urls_prose),
        utest(test_crawl_urls_punctuation),
        utest(test_crawl_urls_parentheses),
        utest(test_crawl_urls_word_start),
        utest(test_crawl_urls_duplicates_max),
        utest(test_crawl_urls_scheme_case),
        utest(test_crawl_path),
        utest(test_crawl_events),
        utest(test_crawl_events_invalid),
        utest(test_crawl_events_trailing_data),
        utest(test_crawl_events_max),
        utest(test_crawl_context),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
