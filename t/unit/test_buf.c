/*
 * chaton.h / chaton_buf.c: buffers, base64, UTF-8, the JSON string escaper,
 * the usage estimate.
 */

#include <openssl/evp.h>

#include "unit.h"


#define LS     "\xe2\x80\xa8"            /* U+2028 LINE SEPARATOR */
#define PS     "\xe2\x80\xa9"            /* U+2029 PARAGRAPH SEPARATOR */
#define FFFD   "\xef\xbf\xbd"            /* U+FFFD as UTF-8 */


/* ---- buffers ----------------------------------------------------------- */


static void
test_buf_append_grows(void **state)
{
    size_t        i;
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);

    assert_int_equal(b.len, 0);
    assert_int_equal(chaton_buf_append(&b, "abc", 3), CHATON_OK);
    assert_int_equal(chaton_buf_append_str(&b, "de"), CHATON_OK);
    assert_int_equal(chaton_buf_literal(&b, "f"), CHATON_OK);
    assert_int_equal(chaton_buf_append(&b, "zzz", 0), CHATON_OK);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abcdef", 6);

    /* many reallocations keep every byte */

    for (i = 0; i < 100000; i++) {
        unsigned char c = (unsigned char) (i * 7 + 3);
        assert_int_equal(chaton_buf_append(&b, &c, 1), CHATON_OK);
    }

    assert_int_equal(b.len, 100006);
    assert_true(b.cap >= b.len);
    assert_memory_equal(b.data, "abcdef", 6);

    for (i = 0; i < 100000; i++) {
        assert_int_equal(b.data[6 + i], (unsigned char) (i * 7 + 3));
    }

    /* old blocks were given back: only the current one is held */
    assert_int_equal(unit_pool.live, 1);
}


static void
test_buf_pool_without_free(void **state)
{
    size_t        i;
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_nofree, 0);

    for (i = 0; i < 5000; i++) {
        assert_int_equal(chaton_buf_append(&b, "0123456789", 10), CHATON_OK);
    }

    assert_int_equal(b.len, 50000);

    for (i = 0; i < 5000; i++) {
        assert_memory_equal(b.data + i * 10, "0123456789", 10);
    }
}


static void
test_buf_max(void **state)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 10);

    assert_int_equal(chaton_buf_append(&b, "123456", 6), CHATON_OK);
    assert_int_equal(chaton_buf_append(&b, "7890", 4), CHATON_OK);
    assert_int_equal(chaton_buf_append(&b, "x", 1), CHATON_TOO_BIG);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "1234567890", 10);
    assert_true(b.cap <= 10);

    /* a cap above the first block size: the block is clamped to it */

    chaton_buf_init(&b, &unit_alloc, 300);

    assert_int_equal(chaton_buf_append(&b, memset(unit_mem(300), 'a', 300),
                                       257), CHATON_OK);
    assert_int_equal(chaton_buf_append(&b, memset(unit_mem(43), 'b', 43),
                                       43), CHATON_OK);
    assert_int_equal(b.len, 300);
    assert_int_equal(chaton_buf_append(&b, "c", 1), CHATON_TOO_BIG);
    assert_int_equal(chaton_buf_reserve(&b, 1), CHATON_TOO_BIG);
    assert_int_equal(b.len, 300);
    assert_int_equal(b.data[299], 'b');

    /* a single append bigger than the cap at once */

    chaton_buf_init(&b, &unit_alloc, 5);
    assert_int_equal(chaton_buf_append(&b, "123456", 6), CHATON_TOO_BIG);
    assert_int_equal(b.len, 0);
}


static void
test_buf_reserve_overflow(void **state)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);

    assert_int_equal(chaton_buf_append(&b, "ab", 2), CHATON_OK);
    assert_int_equal(chaton_buf_reserve(&b, SIZE_MAX), CHATON_TOO_BIG);
    assert_int_equal(chaton_buf_reserve(&b, SIZE_MAX - 1), CHATON_TOO_BIG);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "ab", 2);
}


static void
test_buf_alloc_failure(void **state)
{
    unit_pool_t     p;
    chaton_alloc_t  a;
    chaton_buf_t    b;

    unit_pool_init(&p);
    p.limit = 1;
    a = unit_allocator(&p, 1);

    chaton_buf_init(&b, &a, 0);

    assert_int_equal(chaton_buf_append(&b, "abc", 3), CHATON_OK);

    /* the second block cannot be had: the error is reported, the data kept */

    assert_int_equal(chaton_buf_reserve(&b, 1000), CHATON_ERROR);
    assert_int_equal(chaton_buf_append(&b, memset(unit_mem(1000), 'x', 1000),
                                       1000), CHATON_ERROR);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "abc", 3);
    assert_int_equal(p.failed, 2);

    unit_pool_release(&p);
}


static void
test_buf_append_uint(void **state)
{
    static const struct {
        uint64_t     n;
        const char  *s;
    } v[] = {
        { 0, "0" },
        { 7, "7" },
        { 10, "10" },
        { 1234567890, "1234567890" },
        { 1000000000000ull, "1000000000000" },
        { UINT64_MAX, "18446744073709551615" },
    };

    size_t        i;
    chaton_buf_t  b;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_buf_literal(&b, "n="), CHATON_OK);
        assert_int_equal(chaton_buf_append_uint(&b, v[i].n), CHATON_OK);
        assert_int_equal(b.len, 2 + strlen(v[i].s));
        assert_memory_equal(b.data + 2, v[i].s, strlen(v[i].s));
    }
}


static void
test_strncaseeq(void **state)
{
    assert_true(chaton_strncaseeq((const unsigned char *) "GPT-4o",
                                  "gpt-4o", 6));
    assert_true(chaton_strncaseeq((const unsigned char *) "gpt-4o",
                                  "gpt-4o", 6));
    assert_true(chaton_strncaseeq((const unsigned char *) "HTTPS://x",
                                  "https://", 8));
    assert_false(chaton_strncaseeq((const unsigned char *) "gpt-4p",
                                   "gpt-4o", 6));
    assert_true(chaton_strncaseeq((const unsigned char *) "x", "y", 0));

    /* only A-Z fold: '[' is not '{', '@' is not '`', digits stay */
    assert_false(chaton_strncaseeq((const unsigned char *) "[", "{", 1));
    assert_false(chaton_strncaseeq((const unsigned char *) "@", "`", 1));
    assert_false(chaton_strncaseeq((const unsigned char *) "\xc3", "\xe3",
                                   1));
    assert_false(chaton_strncaseeq((const unsigned char *) "1", "q", 1));
}


/* ---- base64 ------------------------------------------------------------- */


static const struct {
    const char  *plain;
    const char  *b64;
} rfc4648[] = {
    { "", "" },
    { "f", "Zg==" },
    { "fo", "Zm8=" },
    { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" },
    { "foobar", "Zm9vYmFy" },
};


static void
test_base64_vectors(void **state)
{
    size_t        i;
    chaton_buf_t  b;

    for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_base64_encode(&b,
                             (const unsigned char *) rfc4648[i].plain,
                             strlen(rfc4648[i].plain)), CHATON_OK);
        assert_int_equal(b.len, strlen(rfc4648[i].b64));
        assert_memory_equal(b.data, rfc4648[i].b64, b.len);

        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_base64_decode(&b,
                             (const unsigned char *) rfc4648[i].b64,
                             strlen(rfc4648[i].b64)), CHATON_OK);
        assert_int_equal(b.len, strlen(rfc4648[i].plain));
        assert_memory_equal(b.data, rfc4648[i].plain, b.len);
    }
}


/* the encoder against OpenSSL's, the decoder by round trip, all lengths */

static void
test_base64_roundtrip(void **state)
{
    size_t          len, i;
    uint64_t        seed = 0xb64b64b64ull;
    chaton_buf_t    b, d;
    unsigned char   in[700], ref[1000];

    for (len = 0; len < sizeof(in); len++) {
        for (i = 0; i < len; i++) {
            in[i] = (unsigned char) unit_rand(&seed);
        }

        /* every byte value appears somewhere */
        if (len >= 256) {
            for (i = 0; i < 256; i++) {
                in[i] = (unsigned char) i;
            }
        }

        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_base64_encode(&b, in, len), CHATON_OK);

        assert_int_equal(EVP_EncodeBlock(ref, in, (int) len),
                         (int) b.len);
        assert_int_equal(b.len, (len + 2) / 3 * 4);
        if (b.len) {
            assert_memory_equal(b.data, ref, b.len);
        }

        chaton_buf_init(&d, &unit_alloc, 0);
        assert_int_equal(chaton_base64_decode(&d, b.data, b.len), CHATON_OK);
        assert_int_equal(d.len, len);
        if (len) {
            assert_memory_equal(d.data, in, len);
        }

        /* without its padding it decodes the same */

        while (b.len && b.data[b.len - 1] == '=') {
            b.len--;
        }

        chaton_buf_init(&d, &unit_alloc, 0);
        assert_int_equal(chaton_base64_decode(&d, b.data, b.len), CHATON_OK);
        assert_int_equal(d.len, len);
        if (len) {
            assert_memory_equal(d.data, in, len);
        }

        unit_pool_release(&unit_pool);
    }
}


static void
expect_decode(const char *s, int rc, const char *plain, size_t plain_len)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);

    if (chaton_base64_decode(&b, (const unsigned char *) s, strlen(s)) != rc)
    {
        print_error("base64 decode of \"%s\": expected %d\n", s, rc);
        fail();
    }

    if (rc == CHATON_OK) {
        assert_int_equal(b.len, plain_len);
        assert_memory_equal(b.data, plain, plain_len);
    }
}


static void
test_base64_alphabets(void **state)
{
    /* fb ff bf: "+/+/" in the standard alphabet, "-_-_" URL-safe */

    expect_decode("+/+/", CHATON_OK, "\xfb\xff\xbf", 3);
    expect_decode("-_-_", CHATON_OK, "\xfb\xff\xbf", 3);
    expect_decode("+_-/", CHATON_OK, "\xfb\xff\xbf", 3);
    expect_decode("AP8A", CHATON_OK, "\x00\xff\x00", 3);
    expect_decode("AAECAwD/gA==", CHATON_OK, "\x00\x01\x02\x03\x00\xff\x80",
                  7);
    expect_decode("AAECAwD_gA", CHATON_OK, "\x00\x01\x02\x03\x00\xff\x80", 7);
}


static void
test_base64_rejects(void **state)
{
    static const char  *bad[] = {
        "Z",            /* a length that no encoding has */
        "Zm9vY",
        "Zg=",          /* padding that does not complete a quantum */
        "Zm8==",
        "Zg===",
        "Zm9v=",
        "=",
        "==",
        "Z=g=",         /* padding inside */
        "Zm=9v",
        "Zh==",         /* leftover bits not zero */
        "Zm9=",
        "Zm 9v",        /* whitespace is not accepted */
        "Zm9v\n",
        " Zm9v",
        "Zm9v\r\n",
        "Zm9!",         /* junk */
        "Zm9.",
        "Zm9\x80",
        "Zm9\xc3\xa9",
        "Zm\0v",
    };

    size_t        i;
    chaton_buf_t  b;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chaton_buf_init(&b, &unit_alloc, 0);

        if (chaton_base64_decode(&b, (const unsigned char *) bad[i],
                                 i == sizeof(bad) / sizeof(bad[0]) - 1
                                 ? 4 : strlen(bad[i])) != CHATON_BAD)
        {
            print_error("\"%s\" was accepted as base64\n", bad[i]);
            fail();
        }
    }
}


static void
test_base64_appends(void **state)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_buf_literal(&b, "Bearer "), CHATON_OK);
    assert_int_equal(chaton_base64_encode(&b, (const unsigned char *) "fo",
                                          2), CHATON_OK);
    assert_int_equal(chaton_base64_decode(&b, (const unsigned char *) "Zm9v",
                                          4), CHATON_OK);
    assert_int_equal(b.len, 14);
    assert_memory_equal(b.data, "Bearer Zm8=foo", 14);

    /* bounded buffers are honoured */

    chaton_buf_init(&b, &unit_alloc, 4);
    assert_int_equal(chaton_base64_encode(&b, (const unsigned char *) "foob",
                                          4), CHATON_TOO_BIG);
    chaton_buf_init(&b, &unit_alloc, 2);
    assert_int_equal(chaton_base64_decode(&b,
                         (const unsigned char *) "Zm9vYmFy", 8),
                     CHATON_TOO_BIG);
}


/* ---- UTF-8 ------------------------------------------------------------- */


static void
test_utf8_valid_cases(void **state)
{
    static const char  *good[] = {
        "", "plain ascii", "caf\xc3\xa9", "\xe4\xb8\xad\xe6\x96\x87",
        "\xf0\x9f\x98\x80", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
        "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
        "\xf4\x8f\xbf\xbf", LS PS, "\x7f",
    };

    static const char  *bad[] = {
        "\x80", "\xbf", "\xc0\x80", "\xc0\xaf", "\xc1\xbf", "\xc2",
        "\xc3\x28", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xe4\xb8",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf",
        "\xf0\x9f\x98", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80", "\xfe", "\xff", "ok\xffok",
        "caf\xc3\xa9\xc3",
    };

    size_t  i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!chaton_utf8_valid((const unsigned char *) good[i],
                               strlen(good[i])))
        {
            print_error("valid UTF-8 #%zu refused\n", i);
            fail();
        }
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (chaton_utf8_valid((const unsigned char *) bad[i],
                              strlen(bad[i])))
        {
            print_error("invalid UTF-8 #%zu accepted\n", i);
            fail();
        }
    }

    /* the length is honoured: a cut sequence is invalid, NUL is valid */
    assert_false(chaton_utf8_valid((const unsigned char *) "\xe4\xb8\xad",
                                   2));
    assert_true(chaton_utf8_valid((const unsigned char *) "a\0b", 3));
}


/* every sequence of up to three bytes starting with a non-ASCII byte, and
 * four-byte sequences over a grid, against the independent validator */

static void
test_utf8_valid_exhaustive(void **state)
{
    unsigned        a, b, c, d, k;
    unsigned char   s[4];
    static const unsigned char  edge[] = {
        0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff
    };

    for (a = 0x80; a < 0x100; a++) {
        s[0] = (unsigned char) a;

        assert_int_equal(chaton_utf8_valid(s, 1), unit_utf8_valid(s, 1));

        for (b = 0; b < 0x100; b++) {
            s[1] = (unsigned char) b;

            if (chaton_utf8_valid(s, 2) != unit_utf8_valid(s, 2)) {
                print_error("disagree on %02x %02x\n", a, b);
                fail();
            }

            for (c = 0; c < 0x100; c++) {
                s[2] = (unsigned char) c;

                if (chaton_utf8_valid(s, 3) != unit_utf8_valid(s, 3)) {
                    print_error("disagree on %02x %02x %02x\n", a, b, c);
                    fail();
                }
            }
        }
    }

    for (a = 0xf0; a < 0x100; a++) {
        for (b = 0; b < 0x100; b++) {
            for (k = 0; k < sizeof(edge) * sizeof(edge); k++) {
                c = edge[k % sizeof(edge)];
                d = edge[k / sizeof(edge)];

                s[0] = (unsigned char) a;
                s[1] = (unsigned char) b;
                s[2] = (unsigned char) c;
                s[3] = (unsigned char) d;

                if (chaton_utf8_valid(s, 4) != unit_utf8_valid(s, 4)) {
                    print_error("disagree on %02x %02x %02x %02x\n",
                                a, b, c, d);
                    fail();
                }
            }
        }
    }
}


static void
test_utf8_chars(void **state)
{
    const char  *s = "a" "\xc3\xa9" "\xe4\xb8\xad" "\xf0\x9f\x98\x80" "z";

    assert_int_equal(chaton_utf8_chars((const unsigned char *) s, strlen(s)),
                     5);
    assert_int_equal(chaton_utf8_chars((const unsigned char *) "", 0), 0);
    assert_int_equal(chaton_utf8_chars((const unsigned char *) "abc", 3), 3);
}


/* ---- usage estimate ----------------------------------------------------- */


static void
test_usage(void **state)
{
    chaton_usage_t  u;
    const char     *s;

    memset(&u, 0, sizeof(u));
    assert_int_equal(chaton_usage_tokens(&u), 0);

    chaton_usage_add(&u, (const unsigned char *) "a", 1);
    assert_int_equal(u.ascii, 1);
    assert_int_equal(chaton_usage_tokens(&u), 1);

    chaton_usage_add(&u, (const unsigned char *) "bcd", 3);
    assert_int_equal(chaton_usage_tokens(&u), 1);

    chaton_usage_add(&u, (const unsigned char *) "e", 1);
    assert_int_equal(u.ascii, 5);
    assert_int_equal(chaton_usage_tokens(&u), 2);

    /* a non-ASCII character is one token, whatever its byte length */

    s = "\xc3\xa9" "\xe4\xb8\xad\xe6\x96\x87" "\xf0\x9f\x98\x80";
    chaton_usage_add(&u, (const unsigned char *) s, strlen(s));
    assert_int_equal(u.other, 4);
    assert_int_equal(u.ascii, 5);
    assert_int_equal(chaton_usage_tokens(&u), 2 + 4);

    /* NULL with no bytes is fine (reasoning absent) */
    chaton_usage_add(&u, NULL, 0);
    assert_int_equal(chaton_usage_tokens(&u), 6);

    memset(&u, 0, sizeof(u));
    s = "hello, world! \xe4\xb8\xad\xe6\x96\x87 ok";
    chaton_usage_add(&u, (const unsigned char *) s, strlen(s));
    assert_int_equal(chaton_usage_tokens(&u), unit_tokens(s, strlen(s)));
    assert_int_equal(chaton_usage_tokens(&u), (17 + 3) / 4 + 2);
}


/* ---- JSON string escaping ----------------------------------------------- */


static const char *
escaped(const char *s, size_t len)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_json_escape(&b, (const unsigned char *) s, len),
                     CHATON_OK);

    return unit_bufstr(&b);
}


#define expect_escape(in, out)                                               \
    assert_string_equal(escaped(in, sizeof(in) - 1), out)


static void
test_json_escape_exact(void **state)
{
    expect_escape("", "");
    expect_escape("plain text 123", "plain text 123");
    expect_escape("\"", "\\\"");
    expect_escape("\\", "\\\\");
    expect_escape("a\"b\\c", "a\\\"b\\\\c");
    expect_escape("\n\r\t\b\f", "\\n\\r\\t\\b\\f");
    expect_escape("\x01", "\\u0001");
    expect_escape("\x1f", "\\u001f");
    expect_escape("\x0b", "\\u000b");
    expect_escape("\x1b[0m", "\\u001b[0m");
    expect_escape("\0", "\\u0000");
    expect_escape("a\0b", "a\\u0000b");

    /* valid UTF-8 passes through as is */
    expect_escape("caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
                  "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80");
    expect_escape("\xe2\x80\xa7", "\xe2\x80\xa7");
    expect_escape("\xe2\x80\xaa", "\xe2\x80\xaa");

    /* U+2028 and U+2029 are escaped */
    expect_escape(LS, "\\u2028");
    expect_escape(PS, "\\u2029");
    expect_escape("a" LS "b" PS "c", "a\\u2028b\\u2029c");

    /* a lone invalid byte is one U+FFFD */
    expect_escape("a\xff" "z", "a\\ufffdz");
    expect_escape("\x80", "\\ufffd");
    expect_escape("\xc3", "\\ufffd");
    expect_escape("x\xc3", "x\\ufffd");
}


/* invalid sequences decode to U+FFFD only, and what follows is kept */

static void
test_json_escape_invalid(void **state)
{
    static const char  *bad[] = {
        "\xe4\xb8", "\xc0\xaf", "\xed\xa0\x80", "\xf0\x9f\x98",
        "\xf4\x90\x80\x80", "\xfe\xff", "\xe0\x80\xaf", "\xc3\x28",
    };

    size_t        i, j, n;
    const char   *out, *v;
    cJSON        *j_;
    chaton_buf_t  b;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_json_string(&b,
                             (const unsigned char *) bad[i], strlen(bad[i])),
                         CHATON_OK);
        assert_int_equal(chaton_json_string(&b,
                             (const unsigned char *) "ok", 2),
                         CHATON_OK);

        out = unit_bufstr(&b);
        assert_true(unit_utf8_valid((const unsigned char *) out, b.len));

        /* two JSON strings side by side: parse the first */
        n = strlen(out) - 4;
        j_ = unit_json(out, n);
        assert_true(cJSON_IsString(j_));
        v = j_->valuestring;

        assert_true(strlen(v) > 0);

        for (j = 0; v[j]; j += 3) {
            if (memcmp(v + j, FFFD, 3) != 0) {
                /* "\xc3\x28": the '(' after the bad byte is kept */
                assert_string_equal(v + j, "(");
                break;
            }
        }

        assert_string_equal(out + n, "\"ok\"");
    }
}


static void
test_json_string_and_cstring(void **state)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_buf_literal(&b, "{\"k\":"), CHATON_OK);
    assert_int_equal(chaton_json_cstring(&b, "say \"hi\"\n"), CHATON_OK);
    assert_int_equal(chaton_buf_literal(&b, ",\"e\":"), CHATON_OK);
    assert_int_equal(chaton_json_string(&b, NULL, 0), CHATON_OK);
    assert_int_equal(chaton_buf_literal(&b, "}"), CHATON_OK);

    assert_string_equal(unit_bufstr(&b),
                        "{\"k\":\"say \\\"hi\\\"\\n\",\"e\":\"\"}");

    /* the escaper appends: what was there stays */

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_buf_literal(&b, "X"), CHATON_OK);
    assert_int_equal(chaton_json_escape(&b, (const unsigned char *) "a\"", 2),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&b), "Xa\\\"");
}


/* a random code point for round trips: weighted toward what needs escaping */

static size_t
random_utf8(uint64_t *seed, unsigned char *d)
{
    uint32_t  cp;

    switch (unit_rand_below(seed, 12)) {
    case 0:
        cp = 1 + (uint32_t) unit_rand_below(seed, 0x1f);    /* controls */
        break;
    case 1:
        cp = "\"\\/\x7f"[unit_rand_below(seed, 4)];
        break;
    case 2:
        cp = 0x2028 + (uint32_t) unit_rand_below(seed, 2);
        break;
    case 3:
        cp = 0x80 + (uint32_t) unit_rand_below(seed, 0x780);
        break;
    case 4:
        do {
            cp = 0x800 + (uint32_t) unit_rand_below(seed, 0xf800);
        } while (cp >= 0xd800 && cp <= 0xdfff);
        break;
    case 5:
        cp = 0x10000 + (uint32_t) unit_rand_below(seed, 0x100000);
        break;
    case 6:
        cp = 0xfffd + (uint32_t) unit_rand_below(seed, 3);
        break;
    default:
        cp = 0x20 + (uint32_t) unit_rand_below(seed, 0x5f);
    }

    if (cp < 0x80) {
        d[0] = (unsigned char) cp;
        return 1;
    }

    if (cp < 0x800) {
        d[0] = (unsigned char) (0xc0 | (cp >> 6));
        d[1] = (unsigned char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        d[0] = (unsigned char) (0xe0 | (cp >> 12));
        d[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        d[2] = (unsigned char) (0x80 | (cp & 0x3f));
        return 3;
    }

    d[0] = (unsigned char) (0xf0 | (cp >> 18));
    d[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
    d[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
    d[3] = (unsigned char) (0x80 | (cp & 0x3f));
    return 4;
}


static void
check_escaped_output(const unsigned char *s, size_t len)
{
    size_t  i;

    assert_true(unit_utf8_valid(s, len));

    for (i = 0; i < len; i++) {
        assert_true(s[i] >= 0x20);
        if (i + 2 < len) {
            assert_false(s[i] == 0xe2 && s[i + 1] == 0x80
                         && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9));
        }
    }
}


static void
test_json_escape_roundtrip(void **state)
{
    int            iter;
    size_t         len, target;
    uint64_t       seed = 0x15c4f3ull;
    cJSON         *j;
    chaton_buf_t   b;
    unsigned char  in[8192];

    for (iter = 0; iter < 600; iter++) {
        target = unit_rand_below(&seed, iter < 300 ? 64 : 8000);
        len = 0;

        while (len < target) {
            len += random_utf8(&seed, in + len);
        }

        assert_true(unit_utf8_valid(in, len));

        chaton_buf_init(&b, iter % 2 ? &unit_alloc : &unit_nofree, 0);
        assert_int_equal(chaton_json_string(&b, in, len), CHATON_OK);

        check_escaped_output(b.data, b.len);

        j = unit_json(b.data, b.len);
        assert_true(cJSON_IsString(j));
        assert_int_equal(strlen(j->valuestring), len);
        assert_memory_equal(j->valuestring, in, len);

        cJSON_Delete(j);
        unit_njson--;
        unit_pool_release(&unit_pool);
    }
}


/* random bytes: the output is always valid JSON text of valid UTF-8, and
 * the valid parts survive */

static void
test_json_escape_random_bytes(void **state)
{
    int            iter;
    size_t         len, i;
    uint64_t       seed = 0xfeedull;
    cJSON         *j;
    chaton_buf_t   b;
    unsigned char  in[4096];

    for (iter = 0; iter < 2000; iter++) {
        len = unit_rand_below(&seed, iter < 1000 ? 16 : sizeof(in));

        for (i = 0; i < len; i++) {
            in[i] = (unsigned char) unit_rand(&seed);
        }

        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_json_string(&b, in, len), CHATON_OK);

        check_escaped_output(b.data, b.len);

        j = unit_json(b.data, b.len);
        assert_true(cJSON_IsString(j));

        if (unit_utf8_valid(in, len) && memchr(in, 0, len) == NULL) {
            assert_int_equal(strlen(j->valuestring), len);
            assert_memory_equal(j->valuestring, in, len);
        }

        cJSON_Delete(j);
        unit_njson--;
        unit_pool_release(&unit_pool);
    }
}


/*
 * The byte at each place of ASCII strings up to five words long, each of
 * its 256 values, and a two-byte character across each place: the word
 * at a time checks (escaping, UTF-8, the usage count) see it wherever it
 * is, as the byte loops do.
 */

static const char *
escaped_byte(unsigned c, char *buf)
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    }

    if (c < 0x20) {
        sprintf(buf, "\\u%04x", c);

    } else if (c >= 0x80) {
        strcpy(buf, "\\ufffd");       /* a lone byte: invalid UTF-8 */

    } else {
        buf[0] = (char) c;
        buf[1] = '\0';
    }

    return buf;
}


static void
test_words_each_place(void **state)
{
    size_t          len, at;
    unsigned        c;
    chaton_usage_t  u;
    char            in[48], want[128], one[8];

    for (len = 1; len <= 40; len++) {
        for (at = 0; at < len; at++) {
            for (c = 0; c < 256; c++) {
                memset(in, 'a', len);
                in[at] = (char) c;

                snprintf(want, sizeof(want), "%.*s%s%.*s", (int) at, in,
                         escaped_byte(c, one), (int) (len - at - 1),
                         in + at + 1);
                assert_string_equal(escaped(in, len), want);

                assert_int_equal(chaton_utf8_valid((unsigned char *) in, len),
                                 c < 0x80);

                memset(&u, 0, sizeof(u));
                chaton_usage_add(&u, (unsigned char *) in, len);
                assert_int_equal(u.ascii, len - 1 + (c < 0x80));
                assert_int_equal(u.other, c >= 0xc0);

                unit_pool_release(&unit_pool);
            }

            if (at + 1 == len) {
                continue;
            }

            memset(in, 'a', len);
            memcpy(in + at, "\xc3\xa9", 2);

            assert_string_equal(escaped(in, len), unit_strn(in, len));
            assert_true(chaton_utf8_valid((unsigned char *) in, len));

            memset(&u, 0, sizeof(u));
            chaton_usage_add(&u, (unsigned char *) in, len);
            assert_int_equal(u.ascii, len - 2);
            assert_int_equal(u.other, 1);

            unit_pool_release(&unit_pool);
        }
    }
}


/* big strings of nothing but escapes: the buffer is topped up correctly */

static void
test_json_escape_big(void **state)
{
    size_t          i, n, k;
    cJSON          *j;
    chaton_buf_t    b;
    unsigned char  *in;

    static const struct {
        const char  *unit;
        size_t       len;
        const char  *out;
    } kinds[] = {
        { "\"", 1, "\\\"" },
        { "\x01", 1, "\\u0001" },
        { LS, 3, "\\u2028" },
        { "\xff", 1, "\\ufffd" },
        { "a\n", 2, "a\\n" },
    };

    n = 30000;

    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        in = unit_mem(n * kinds[k].len);

        for (i = 0; i < n; i++) {
            memcpy(in + i * kinds[k].len, kinds[k].unit, kinds[k].len);
        }

        chaton_buf_init(&b, &unit_alloc, 0);
        assert_int_equal(chaton_buf_literal(&b, "\""), CHATON_OK);
        assert_int_equal(chaton_json_escape(&b, in, n * kinds[k].len),
                         CHATON_OK);
        assert_int_equal(chaton_buf_literal(&b, "\""), CHATON_OK);

        assert_int_equal(b.len, 2 + n * strlen(kinds[k].out));

        for (i = 0; i < n; i++) {
            assert_memory_equal(b.data + 1 + i * strlen(kinds[k].out),
                                kinds[k].out, strlen(kinds[k].out));
        }

        j = unit_json(b.data, b.len);
        assert_true(cJSON_IsString(j));
    }

    /* a mix: plain runs between escapes, 1 MB */

    n = 1 << 20;
    in = unit_mem(n);

    for (i = 0; i < n; i++) {
        in[i] = (i % 97 == 0) ? '"' : (i % 89 == 0) ? '\n'
                : (unsigned char) ('a' + i % 26);
    }

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_json_string(&b, in, n), CHATON_OK);
    j = unit_json(b.data, b.len);
    assert_int_equal(strlen(j->valuestring), n);
    assert_memory_equal(j->valuestring, in, n);
}


static void
test_json_escape_bounded(void **state)
{
    chaton_buf_t  b;
    char          s[200];

    memset(s, 'x', sizeof(s));

    chaton_buf_init(&b, &unit_alloc, 64);
    assert_int_equal(chaton_json_escape(&b, (const unsigned char *) s,
                                        sizeof(s)), CHATON_TOO_BIG);

    memset(s, '"', sizeof(s));

    chaton_buf_init(&b, &unit_alloc, 300);
    assert_int_equal(chaton_json_escape(&b, (const unsigned char *) s,
                                        sizeof(s)), CHATON_TOO_BIG);
    assert_true(b.len <= 300);

    chaton_buf_init(&b, &unit_alloc, 1000);
    assert_int_equal(chaton_json_escape(&b, (const unsigned char *) s,
                                        sizeof(s)), CHATON_OK);
    assert_int_equal(b.len, 400);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_buf_append_grows),
        utest(test_buf_pool_without_free),
        utest(test_buf_max),
        utest(test_buf_reserve_overflow),
        utest(test_buf_alloc_failure),
        utest(test_buf_append_uint),
        utest(test_strncaseeq),
        utest(test_base64_vectors),
        utest(test_base64_roundtrip),
        utest(test_base64_alphabets),
        utest(test_base64_rejects),
        utest(test_base64_appends),
        utest(test_utf8_valid_cases),
        utest(test_utf8_valid_exhaustive),
        utest(test_utf8_chars),
        utest(test_usage),
        utest(test_json_escape_exact),
        utest(test_words_each_place),
        utest(test_json_escape_invalid),
        utest(test_json_string_and_cstring),
        utest(test_json_escape_roundtrip),
        utest(test_json_escape_random_bytes),
        utest(test_json_escape_big),
        utest(test_json_escape_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
