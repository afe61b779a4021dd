/*
 * chaton_storage: the multipart writer of uploads and the getUrl reader.
 *
 * Input: [what] ...
 *
 *   what bit 0 = 0   getUrl answer: the rest is the backend's body
 *   what bit 0 = 1   multipart: [boundary length] boundary bytes, then the
 *                    file's bytes; bits 1-2 pick the image type
 *
 * getUrl: an accepted answer is a JSON object whose "getUrl" is an
 * http(s) URL without white space, quotes or angle brackets, copied byte
 * for byte; anything else is refused; no cJSON tree is leaked.
 *
 * Multipart: chaton_multipart_boundary_ok() agrees with a plain search;
 * with a boundary it accepts, head + bytes + tail parsed by an independent
 * RFC 2046 reader is one part named "file", with the filename and type
 * given, whose content is exactly the bytes (the first delimiter after the
 * part's head is the closing one).
 */

#include <strings.h>

#include "fuzz.h"
#include "chaton_storage.h"


static const char  *types[] = {
    "image/png", "image/jpeg", "image/gif", "image/webp",
};


static void
check_get_url(const uint8_t *s, size_t len)
{
    int            rc;
    cJSON         *j, *v;
    fz_pool_t      pool;
    chaton_buf_t   url;

    fz_pool_init(&pool, 1);
    chaton_buf_init(&url, &pool.a, 0);

    rc = chaton_get_url(&url, s, len);

    FZ_CHECK(rc == CHATON_OK || rc == CHATON_BAD, "get_url returned %d", rc);

    if (rc == CHATON_OK) {
        FZ_CHECK((url.len > 7
                  && strncasecmp((char *) url.data, "http://", 7) == 0)
                 || (url.len > 8
                     && strncasecmp((char *) url.data, "https://", 8) == 0),
                 "not an http(s) URL: %.*s", (int) url.len, url.data);

        FZ_CHECK(memchr(url.data, ' ', url.len) == NULL
                 && memchr(url.data, '\t', url.len) == NULL
                 && memchr(url.data, '\r', url.len) == NULL
                 && memchr(url.data, '\n', url.len) == NULL
                 && memchr(url.data, '"', url.len) == NULL
                 && memchr(url.data, '<', url.len) == NULL
                 && memchr(url.data, '>', url.len) == NULL
                 && memchr(url.data, '\0', url.len) == NULL,
                 "a URL with a byte it may not have");

        /* the same as cJSON reads it */

        j = cJSON_ParseWithLength((const char *) s, len);
        v = cJSON_GetObjectItemCaseSensitive(j, "getUrl");
        FZ_CHECK(cJSON_IsObject(j) && cJSON_IsString(v)
                 && strlen(v->valuestring) == url.len
                 && memcmp(v->valuestring, url.data, url.len) == 0,
                 "the URL is not the answer's getUrl");
        cJSON_Delete(j);
    }

    fz_pool_release(&pool);
}


static void
check_multipart(const uint8_t *s, size_t len, const char *type)
{
    int             ok;
    char            boundary[80], delim[90];
    size_t          blen, i, dlen, n;
    fz_pool_t       pool;
    chaton_buf_t    head, tail;
    char            h[256];
    unsigned char  *body, *p, *end, *hend, *found;

    static const char  bchars[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?";

    if (len < 1) {
        return;
    }

    /* a boundary of 1..70 characters from RFC 2046's set (no space) */

    blen = 1 + s[0] % 70;

    if (len - 1 < blen) {
        return;
    }

    for (i = 0; i < blen; i++) {
        boundary[i] = bchars[s[1 + i] % (sizeof(bchars) - 1)];
    }

    boundary[blen] = '\0';

    s += 1 + blen;
    len -= 1 + blen;

    ok = chaton_multipart_boundary_ok(boundary, s, len);

    FZ_CHECK(ok == (len == 0 || memmem(s, len, boundary, blen) == NULL),
             "boundary_ok says %d for \"%s\"", ok, boundary);

    if (!ok) {
        return;
    }

    fz_pool_init(&pool, 0);
    chaton_buf_init(&head, &pool.a, 0);
    chaton_buf_init(&tail, &pool.a, 0);

    FZ_CHECK(chaton_multipart_head(&head, boundary, "1732487486123.png", type)
             == CHATON_OK, "head");
    FZ_CHECK(chaton_multipart_tail(&tail, boundary) == CHATON_OK, "tail");

    n = head.len + len + tail.len;
    body = malloc(n);
    FZ_CHECK(body != NULL, "out of memory");

    memcpy(body, head.data, head.len);
    if (len) {
        memcpy(body + head.len, s, len);
    }
    memcpy(body + head.len + len, tail.data, tail.len);

    /* an independent reader: "--b" CRLF, headers, CRLF CRLF, content, then
     * the first CRLF "--b" is the end: CRLF "--b--" CRLF and nothing more */

    p = body;
    end = body + n;

    dlen = snprintf(delim, sizeof(delim), "--%s\r\n", boundary);
    FZ_CHECK((size_t) (end - p) >= dlen && memcmp(p, delim, dlen) == 0,
             "the body does not start with the delimiter");
    p += dlen;

    hend = memmem(p, end - p, "\r\n\r\n", 4);
    FZ_CHECK(hend != NULL, "no end of the part's headers");

    n = snprintf(h, sizeof(h),
                 "Content-Disposition: form-data; name=\"file\"; "
                 "filename=\"1732487486123.png\"\r\n"
                 "Content-Type: %s", type);
    FZ_CHECK((size_t) (hend - p) == n && memcmp(p, h, n) == 0,
             "the part's headers are not as expected: %.*s",
             (int) (hend - p), p);

    p = hend + 4;

    dlen = snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    found = memmem(p, end - p, delim, dlen);
    FZ_CHECK(found != NULL, "no closing delimiter");

    FZ_CHECK((size_t) (found - p) == len
             && (len == 0 || memcmp(p, s, len) == 0),
             "the part's content is not the file (%zu bytes, not %zu)",
             (size_t) (found - p), len);

    p = found + dlen;
    FZ_CHECK(end - p == 4 && memcmp(p, "--\r\n", 4) == 0,
             "the body does not end with the close delimiter");

    free(body);
    fz_pool_release(&pool);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }

    if (data[0] & 1) {
        check_multipart(data + 1, size - 1, types[(data[0] >> 1) & 3]);

    } else {
        check_get_url(data + 1, size - 1);
    }

    return 0;
}
