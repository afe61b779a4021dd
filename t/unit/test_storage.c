/*
 * chaton_storage.h: the getUrl answers of ChatOn's storage, and the
 * multipart body of an upload (parsed back here as a server would).
 */

#include <strings.h>

#include "unit.h"
#include "chaton_storage.h"


static chaton_buf_t  url;


static int
get_url_n(const char *body, size_t len)
{
    chaton_buf_init(&url, &unit_alloc, 0);

    return chaton_get_url(&url, (const unsigned char *) body, len);
}

#define get_url(s)  get_url_n((s), strlen(s))


/* ---- getUrl ---------------------------------------------------------------- */


static void
test_storage_get_url(void **state)
{
    size_t  i;

    static const struct {
        const char  *body;
        const char  *url;
    } ok[] = {
        { "{\"getUrl\":\"https://cdn.example/a.png\"}",
          "https://cdn.example/a.png" },

        /* presigned: the query string kept byte for byte */
        { "{\"getUrl\":\"https://bucket.s3.amazonaws.com/images/abc.png?"
          "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261124"
          "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0af3+9\"}",
          "https://bucket.s3.amazonaws.com/images/abc.png?"
          "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261124"
          "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0af3+9" },

        /* JSON escapes undone */
        { "{\"getUrl\":\"https:\\/\\/cdn.example\\/a\\u0026b.png\"}",
          "https://cdn.example/a&b.png" },

        /* plain http, other members, white space */
        { " {\"x\":1, \"getUrl\" : \"http://h/p\", \"y\":[null]}\n",
          "http://h/p" },

        /* the scheme in any case */
        { "{\"getUrl\":\"HTTPS://cdn.example/A.png\"}",
          "HTTPS://cdn.example/A.png" },
    };

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (get_url(ok[i].body) != CHATON_OK) {
            print_error("refused: %s\n", ok[i].body);
            fail();
        }

        assert_int_equal(url.len, strlen(ok[i].url));
        assert_memory_equal(url.data, ok[i].url, url.len);
    }

    /* appended to what the buffer has */
    chaton_buf_init(&url, &unit_alloc, 0);
    assert_int_equal(chaton_buf_append_str(&url, "x"), CHATON_OK);
    assert_int_equal(chaton_get_url(&url, (const unsigned char *)
                                    "{\"getUrl\":\"https://a/b\"}", 24),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&url), "xhttps://a/b");

    /* the body need not be NUL-terminated: only len bytes are read */
    assert_int_equal(get_url_n("{\"getUrl\":\"https://a/b\"}XXXX", 24),
                     CHATON_OK);
    assert_string_equal(unit_bufstr(&url), "https://a/b");
}


static void
test_storage_get_url_refused(void **state)
{
    size_t  i;

    static const char  *bad[] = {
        /* not http(s) */
        "{\"getUrl\":\"ftp://cdn.example/a.png\"}",
        "{\"getUrl\":\"javascript:alert(1)\"}",
        "{\"getUrl\":\"data:image/png;base64,iVBORw0KGgo=\"}",
        "{\"getUrl\":\"//cdn.example/a.png\"}",
        "{\"getUrl\":\"/storage/images/a.png\"}",
        "{\"getUrl\":\"httpx://a/b\"}",
        "{\"getUrl\":\"https:/a/b\"}",
        "{\"getUrl\":\" https://a/b\"}",
        "{\"getUrl\":\"https://\"}",
        "{\"getUrl\":\"http://\"}",
        "{\"getUrl\":\"\"}",
        /* spaces, line ends, quotes, angle brackets */
        "{\"getUrl\":\"https://a/b c\"}",
        "{\"getUrl\":\"https://a/b\\tc\"}",
        "{\"getUrl\":\"https://a/b\\r\\nX-Injected: 1\"}",
        "{\"getUrl\":\"https://a/b\\n\"}",
        "{\"getUrl\":\"https://a/b\\\"c\"}",
        "{\"getUrl\":\"https://a/<b>\"}",
        /* missing, another name */
        "{}",
        "{\"url\":\"https://a/b\"}",
        "{\"geturl\":\"https://a/b\"}",
        "{\"GetUrl\":\"https://a/b\"}",
        "{\"data\":{\"getUrl\":\"https://a/b\"}}",
        /* not a string */
        "{\"getUrl\":null}",
        "{\"getUrl\":1}",
        "{\"getUrl\":true}",
        "{\"getUrl\":[\"https://a/b\"]}",
        "{\"getUrl\":{\"url\":\"https://a/b\"}}",
        /* not a JSON object */
        "",
        "{",
        "{\"getUrl\":\"https://a/b\"",
        "{\"getUrl\":\"https://a/b}",
        "{getUrl:\"https://a/b\"}",
        "{'getUrl':'https://a/b'}",
        "https://a/b",
        "\"https://a/b\"",
        "[\"https://a/b\"]",
        "[{\"getUrl\":\"https://a/b\"}]",
        "null",
        "<html>502 Bad Gateway</html>",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (get_url(bad[i]) != CHATON_BAD) {
            print_error("accepted: [%s] -> [%s]\n", bad[i],
                        unit_bufstr(&url));
            fail();
        }

        assert_int_equal(url.len, 0);
    }
}


/*
 * More after the JSON object is not valid JSON either (chaton_chat_event
 * and chaton_chat_parse refuse it); a second object would be dropped
 * silently.
 */

static void
test_storage_get_url_trailing_data(void **state)
{
    size_t  i;

    static const char  *bad[] = {
        "{\"getUrl\":\"https://a/b\"} x",
        "{\"getUrl\":\"https://a/b\"}}",
        "{\"getUrl\":\"https://a/b\"}{\"getUrl\":\"https://c/d\"}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (get_url(bad[i]) != CHATON_BAD) {
            print_error("accepted: [%s] -> [%s]\n", bad[i],
                        unit_bufstr(&url));
            fail();
        }
    }
}


/* ---- the multipart body ---------------------------------------------------- */


typedef struct {
    const unsigned char    *data;
    size_t                  len;
    char                   *disposition;
    char                   *type;
    int                     nheaders;
} part_t;


static const unsigned char *
find(const unsigned char *p, size_t len, const char *needle, size_t n)
{
    size_t  i;

    for (i = 0; i + n <= len; i++) {
        if (memcmp(p + i, needle, n) == 0) {
            return p + i;
        }
    }

    return NULL;
}


/*
 * A strict reader of a multipart/form-data body of one part (RFC 2046,
 * RFC 7578): "--boundary" CRLF, header lines CRLF, CRLF, the bytes, CRLF
 * "--boundary--" CRLF, and nothing else; the boundary line must not occur
 * in the bytes.
 */

static void
multipart_read(const unsigned char *body, size_t len, const char *boundary,
    part_t *part)
{
    size_t                n;
    char                 *delim, *close;
    const unsigned char  *p, *end, *eol, *d;

    memset(part, 0, sizeof(part_t));

    n = strlen(boundary);
    end = body + len;

    delim = unit_mem(n + 5);
    sprintf(delim, "\r\n--%s", boundary);

    close = unit_mem(n + 9);
    sprintf(close, "\r\n--%s--\r\n", boundary);

    /* the first boundary line, right at the start (no preamble) */

    assert_true(len > n + 4);
    assert_memory_equal(body, "--", 2);
    assert_memory_equal(body + 2, boundary, n);
    assert_memory_equal(body + 2 + n, "\r\n", 2);

    /* the header lines, each CRLF-ended, then an empty line */

    p = body + n + 4;

    for ( ;; ) {
        eol = find(p, end - p, "\r\n", 2);
        assert_non_null(eol);

        if (eol == p) {
            p += 2;
            break;
        }

        /* no bare CR or LF inside a header line */
        assert_null(memchr(p, '\n', eol - p));
        assert_null(memchr(p, '\r', eol - p));

        if ((size_t) (eol - p) > 21
            && strncasecmp((const char *) p, "Content-Disposition: ", 21)
               == 0)
        {
            assert_null(part->disposition);
            part->disposition = unit_strn(p + 21, eol - p - 21);

        } else if ((size_t) (eol - p) > 14
                   && strncasecmp((const char *) p, "Content-Type: ", 14)
                      == 0)
        {
            assert_null(part->type);
            part->type = unit_strn(p + 14, eol - p - 14);

        } else {
            print_error("unexpected header line [%.*s]\n", (int) (eol - p),
                        p);
            fail();
        }

        part->nheaders++;
        p = eol + 2;
    }

    /* the bytes end at the first delimiter, which must be the closing one */

    d = find(p, end - p, delim, n + 4);
    assert_non_null(d);

    part->data = p;
    part->len = d - p;

    assert_int_equal((size_t) (end - d), n + 8);
    assert_memory_equal(d, close, n + 8);
}


static void
test_storage_multipart(void **state)
{
    size_t          i, k;
    part_t          part;
    uint64_t        seed;
    chaton_buf_t    b;
    unsigned char   img[600];

    static const struct {
        const char  *boundary;
        const char  *filename;
        const char  *type;
    } v[] = {
        { "chaton1a2b3c4dD5e6f7a8bD9c0d1e2fD", "1732487485123.png",
          "image/png" },
        { "x", "1.jpg", "image/jpeg" },
        { "----WebKitFormBoundary7MA4YWxkTrZu0gW", "1732487485999.webp",
          "image/webp" },
        { "b", "0.gif", "image/gif" },
    };

    seed = 42;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        for (k = 0; k < sizeof(img); k++) {
            img[k] = (unsigned char) unit_rand(&seed);
        }

        /* bytes that look like multipart syntax, but not the boundary */
        memcpy(img, "\x89PNG\r\n\x1a\n\r\n--\r\n\r\n--", 18);
        img[sizeof(img) - 1] = '\r';
        img[sizeof(img) - 2] = '\n';

        /* as the module does: the boundary must not be in the bytes */
        for ( ;; ) {
            unsigned char  *at;

            at = (unsigned char *) find(img, sizeof(img), v[i].boundary,
                                        strlen(v[i].boundary));
            if (at == NULL) {
                break;
            }

            *at ^= 0x80;
        }

        chaton_buf_init(&b, &unit_alloc, 0);

        assert_int_equal(chaton_multipart_head(&b, v[i].boundary,
                                               v[i].filename, v[i].type),
                         CHATON_OK);
        assert_int_equal(chaton_buf_append(&b, img, sizeof(img)), CHATON_OK);
        assert_int_equal(chaton_multipart_tail(&b, v[i].boundary),
                         CHATON_OK);

        assert_true(chaton_multipart_boundary_ok(v[i].boundary, img,
                                                 sizeof(img)));

        multipart_read(b.data, b.len, v[i].boundary, &part);

        assert_int_equal(part.nheaders, 2);
        assert_non_null(part.disposition);
        assert_non_null(part.type);

        /* form-data; name="file"; filename="<name>" */
        {
            char  *want = unit_mem(64 + strlen(v[i].filename));

            sprintf(want, "form-data; name=\"file\"; filename=\"%s\"",
                    v[i].filename);
            assert_string_equal(part.disposition, want);
        }

        assert_string_equal(part.type, v[i].type);

        assert_int_equal(part.len, sizeof(img));
        assert_memory_equal(part.data, img, sizeof(img));
    }

    /* no bytes at all: still one well-formed part */

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_multipart_head(&b, "bnd", "1.png", "image/png"),
                     CHATON_OK);
    assert_int_equal(chaton_multipart_tail(&b, "bnd"), CHATON_OK);
    multipart_read(b.data, b.len, "bnd", &part);
    assert_int_equal(part.len, 0);

    /* exactly, byte for byte */
    assert_string_equal(unit_bufstr(&b),
                        "--bnd\r\n"
                        "Content-Disposition: form-data; name=\"file\"; "
                        "filename=\"1.png\"\r\n"
                        "Content-Type: image/png\r\n"
                        "\r\n"
                        "\r\n--bnd--\r\n");
}


/* ---- the boundary check ---------------------------------------------------- */


static void
test_storage_boundary_ok(void **state)
{
    size_t          i, n, len, pos;
    uint64_t        seed;
    unsigned char  *data;

    static const char  *boundary[] = {
        "chaton1a2b3c4dD5e6f7a8bD9c0d1e2fD", "ab", "a", "aab", "xyzzy",
    };

    seed = 7;

    for (i = 0; i < sizeof(boundary) / sizeof(boundary[0]); i++) {
        n = strlen(boundary[i]);

        for (len = 0; len <= 3 * n + 8; len++) {

            /* bytes that are never in a boundary: no false alarm */

            data = unit_mem(len);
            memset(data, 0xff, len);
            assert_true(chaton_multipart_boundary_ok(boundary[i], data, len));

            /* the boundary but its last byte, everywhere: still fine */

            for (pos = 0; pos + n - 1 <= len && n > 1; pos++) {
                memset(data, 0xff, len);
                memcpy(data + pos, boundary[i], n - 1);
                assert_true(chaton_multipart_boundary_ok(boundary[i], data,
                                                         len));
            }

            /* the boundary at every position, the very end included */

            for (pos = 0; pos + n <= len; pos++) {
                size_t  k;

                for (k = 0; k < len; k++) {
                    /* random bytes around it, boundary-like ones too */
                    data[k] = (unit_rand(&seed) & 1)
                              ? (unsigned char) boundary[i][0]
                              : (unsigned char) (0x80 | unit_rand(&seed));
                }

                memcpy(data + pos, boundary[i], n);

                if (chaton_multipart_boundary_ok(boundary[i], data, len)) {
                    print_error("boundary %s at %zu of %zu not seen\n",
                                boundary[i], pos, len);
                    fail();
                }
            }

            unit_pool_free(&unit_pool, data);
        }
    }

    /* data shorter than the boundary, its prefix at the end */
    assert_true(chaton_multipart_boundary_ok("abcdef",
                                             (const unsigned char *) "abcde",
                                             5));
    assert_true(chaton_multipart_boundary_ok("abcdef",
                                             (const unsigned char *) "xxabcde",
                                             7));
    assert_false(chaton_multipart_boundary_ok("abcdef",
                                              (const unsigned char *) "abcdef",
                                              6));
    assert_false(chaton_multipart_boundary_ok("abcdef",
                                      (const unsigned char *) "aabcabcdef",
                                      10));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_storage_get_url),
        utest(test_storage_get_url_refused),
        utest(test_storage_get_url_trailing_data),
        utest(test_storage_multipart),
        utest(test_storage_boundary_ok),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
