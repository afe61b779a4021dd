/*
 * chaton_dataurl.h: data: URLs of images, each refusal with its reason.
 */

#include "unit.h"
#include "chaton_dataurl.h"


static const chaton_dataurl_type_t  *type;
static chaton_buf_t                  out;


static int
decode(const char *url, size_t max)
{
    type = NULL;
    chaton_buf_init(&out, &unit_alloc, 0);

    return chaton_dataurl_decode(&out, (const unsigned char *) url,
                                 strlen(url), max, &type);
}


#define expect_reason(url, max, reason)                                      \
    do {                                                                      \
        int  rc_ = decode((url), (max));                                      \
        if (rc_ != (reason)) {                                                \
            print_error("%s: %d, expected %s\n", (url), rc_, #reason);        \
            fail();                                                           \
        }                                                                     \
    } while (0)


static void
test_dataurl_types(void **state)
{
    size_t  i;

    static const struct {
        const char           *url;
        const char           *mime;
        const char           *ext;
        const unsigned char  *bytes;
        size_t                len;
    } v[] = {
        { "data:image/png;base64,iVBORw0KGgo=", "image/png", "png",
          (const unsigned char *) "\x89PNG\r\n\x1a\n", 8 },
        { "data:image/jpeg;base64,/9j/4A==", "image/jpeg", "jpg",
          (const unsigned char *) "\xff\xd8\xff\xe0", 4 },
        { "data:image/jpg;base64,/9j/4A==", "image/jpeg", "jpg",
          (const unsigned char *) "\xff\xd8\xff\xe0", 4 },
        { "data:image/gif;base64,R0lGODlh", "image/gif", "gif",
          (const unsigned char *) "GIF89a", 6 },
        { "data:image/webp;base64,UklGRgAAAABXRUJQ", "image/webp", "webp",
          (const unsigned char *) "RIFF\0\0\0\0WEBP", 12 },

        /* case, parameters, unpadded and URL-safe base64 */
        { "DATA:Image/PNG;BASE64,iVBORw0KGgo=", "image/png", "png",
          (const unsigned char *) "\x89PNG\r\n\x1a\n", 8 },
        { "data:image/png;name=a.png;charset=x;base64,iVBORw0KGgo",
          "image/png", "png",
          (const unsigned char *) "\x89PNG\r\n\x1a\n", 8 },
        { "data:image/jpeg;base64,_9j_4A", "image/jpeg", "jpg",
          (const unsigned char *) "\xff\xd8\xff\xe0", 4 },
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (decode(v[i].url, 1 << 20) != CHATON_OK) {
            print_error("%s refused\n", v[i].url);
            fail();
        }

        assert_non_null(type);
        assert_string_equal(type->mime, v[i].mime);
        assert_string_equal(type->ext, v[i].ext);
        assert_int_equal(out.len, v[i].len);
        assert_memory_equal(out.data, v[i].bytes, v[i].len);
    }
}


static void
test_dataurl_not_data(void **state)
{
    expect_reason("", 1024, CHATON_DATAURL_NOT_DATA);
    expect_reason("data", 1024, CHATON_DATAURL_NOT_DATA);
    expect_reason("dat:image/png;base64,AAAA", 1024, CHATON_DATAURL_NOT_DATA);
    expect_reason("https://x.example/a.png", 1024, CHATON_DATAURL_NOT_DATA);
    expect_reason(" data:image/png;base64,AAAA", 1024,
                  CHATON_DATAURL_NOT_DATA);
    expect_reason("blob:https://x/1", 1024, CHATON_DATAURL_NOT_DATA);
}


static void
test_dataurl_bad_type(void **state)
{
    expect_reason("data:image/bmp;base64,Qk0=", 1024,
                  CHATON_DATAURL_BAD_TYPE);
    expect_reason("data:image/svg+xml;base64,PHN2Zy8+", 1024,
                  CHATON_DATAURL_BAD_TYPE);
    expect_reason("data:text/plain;base64,aGk=", 1024,
                  CHATON_DATAURL_BAD_TYPE);
    expect_reason("data:;base64,aGk=", 1024, CHATON_DATAURL_BAD_TYPE);
    expect_reason("data:,hi", 1024, CHATON_DATAURL_BAD_TYPE);
    expect_reason("data:image/pngx;base64,AAAA", 1024,
                  CHATON_DATAURL_BAD_TYPE);
    expect_reason("data:image/pn;base64,AAAA", 1024, CHATON_DATAURL_BAD_TYPE);
    expect_reason("data:image/;base64,AAAA", 1024, CHATON_DATAURL_BAD_TYPE);
    expect_reason("data:image/png ;base64,AAAA", 1024,
                  CHATON_DATAURL_BAD_TYPE);
}


static void
test_dataurl_not_base64(void **state)
{
    /* no ";base64" */
    expect_reason("data:image/png,iVBORw0KGgo=", 1024,
                  CHATON_DATAURL_NOT_BASE64);
    expect_reason("data:image/png;charset=utf-8,abc", 1024,
                  CHATON_DATAURL_NOT_BASE64);

    /* ";base64" not last */
    expect_reason("data:image/png;base64;x=y,iVBORw0KGgo=", 1024,
                  CHATON_DATAURL_NOT_BASE64);

    /* no comma */
    expect_reason("data:image/png;base64", 1024, CHATON_DATAURL_NOT_BASE64);
    expect_reason("data:image/png", 1024, CHATON_DATAURL_NOT_BASE64);

    /* not base64 */
    expect_reason("data:image/png;base64,!!!!", 1024,
                  CHATON_DATAURL_NOT_BASE64);
    expect_reason("data:image/png;base64,iVBOR w0KGgo=", 1024,
                  CHATON_DATAURL_NOT_BASE64);
    expect_reason("data:image/png;base64,iVBORw0KGgo=\n", 1024,
                  CHATON_DATAURL_NOT_BASE64);
    expect_reason("data:image/png;base64,iVBORw0KG", 1024,
                  CHATON_DATAURL_NOT_BASE64);
    expect_reason("data:image/png;base64,iVBORw0KGgo==", 1024,
                  CHATON_DATAURL_NOT_BASE64);
    expect_reason("data:image/png;base64,%2F9j", 1024,
                  CHATON_DATAURL_NOT_BASE64);
}


static void
test_dataurl_empty(void **state)
{
    expect_reason("data:image/png;base64,", 1024, CHATON_DATAURL_EMPTY);
    expect_reason("data:image/webp;base64,", 0, CHATON_DATAURL_EMPTY);
}


static void
test_dataurl_too_big(void **state)
{
    /* 6 bytes decoded */
    static const char  six[] = "data:image/gif;base64,R0lGODlh";

    assert_int_equal(decode(six, 6), CHATON_OK);
    assert_int_equal(out.len, 6);

    expect_reason(six, 5, CHATON_DATAURL_TOO_BIG);
    expect_reason(six, 0, CHATON_DATAURL_TOO_BIG);

    /* by the padding: 5 bytes in 8 characters */
    assert_int_equal(decode("data:image/gif;base64,R0lGODk=", 5), CHATON_OK);
    assert_int_equal(out.len, 5);
    expect_reason("data:image/gif;base64,R0lGODk=", 4,
                  CHATON_DATAURL_TOO_BIG);

    /* far too big is refused before decoding (even if not base64) */
    {
        char  *url = unit_mem(100000 + 32);

        strcpy(url, "data:image/png;base64,");
        memset(url + strlen(url), 'A', 100000);
        url[22 + 100000] = '\0';

        expect_reason(url, 1024, CHATON_DATAURL_TOO_BIG);
        assert_true(out.cap < 4096);

        url[22 + 5000] = '!';
        expect_reason(url, 1024, CHATON_DATAURL_TOO_BIG);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_dataurl_types),
        utest(test_dataurl_not_data),
        utest(test_dataurl_bad_type),
        utest(test_dataurl_not_base64),
        utest(test_dataurl_empty),
        utest(test_dataurl_too_big),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
