/*
 * chaton_dataurl: the data: URL decoder.
 *
 * Input: [max hi] [max lo] [flags] URL bytes...
 *
 *   max      the largest decoded image accepted (0..65535 bytes)
 *   flags    bit 0: the allocator frees; bit 1: the output buffer already
 *            holds some bytes (the decoder appends)
 *
 * Checks: the outcome is one of the documented codes; an accepted URL has
 * one of the five image types, decodes to at most max bytes, and encoding
 * those bytes again gives back the URL's base64 (padding and the URL-safe
 * alphabet aside): the decoder is exact and canonical.  A refusal is
 * checked against the URL's shape (no "data:", no comma, ...).
 */

#include <strings.h>

#include "fuzz.h"
#include "chaton_dataurl.h"


static const char  *mimes[] = {
    "image/png", "image/jpeg", "image/gif", "image/webp",
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                            rc, found;
    size_t                         i, max, len, pre, n, elen;
    fz_pool_t                      pool;
    chaton_buf_t                   out, enc;
    const uint8_t                 *url, *comma, *b64;
    unsigned char                 *norm;
    const chaton_dataurl_type_t   *type;

    if (size < 3) {
        return 0;
    }

    max = ((size_t) data[0] << 8) | data[1];
    url = data + 3;
    len = size - 3;

    fz_pool_init(&pool, data[2] & 1);
    chaton_buf_init(&out, &pool.a, 0);

    pre = (data[2] & 2) ? 5 : 0;
    if (pre) {
        FZ_CHECK(chaton_buf_append(&out, "head:", 5) == CHATON_OK, "append");
    }

    type = NULL;

    rc = chaton_dataurl_decode(&out, url, len, max, &type);

    FZ_CHECK(rc == CHATON_OK || rc == CHATON_DATAURL_NOT_DATA
             || rc == CHATON_DATAURL_BAD_TYPE
             || rc == CHATON_DATAURL_NOT_BASE64
             || rc == CHATON_DATAURL_TOO_BIG || rc == CHATON_DATAURL_EMPTY,
             "decode returned %d", rc);

    FZ_CHECK(out.len >= pre && (pre == 0 || memcmp(out.data, "head:", 5) == 0),
             "the bytes before the decoded ones were changed");

    if (len < 5 || strncasecmp((const char *) url, "data:", 5) != 0) {
        FZ_CHECK(rc == CHATON_DATAURL_NOT_DATA, "not a data: URL, yet %d",
                 rc);
        goto done;
    }

    FZ_CHECK(rc != CHATON_DATAURL_NOT_DATA, "a data: URL refused as not one");

    comma = memchr(url, ',', len);

    if (comma == NULL) {
        FZ_CHECK(rc == CHATON_DATAURL_NOT_BASE64, "no comma, yet %d", rc);
        goto done;
    }

    if (rc != CHATON_OK) {
        goto done;
    }

    /* accepted */

    FZ_CHECK(type != NULL && type->mime && type->ext, "no type");

    found = 0;
    for (i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++) {
        found |= strcmp(type->mime, mimes[i]) == 0;
    }
    FZ_CHECK(found, "type %s", type->mime);

    FZ_CHECK(strncasecmp((const char *) url + 5, type->mime,
                         strlen(type->mime)) == 0
             || (strcmp(type->mime, "image/jpeg") == 0
                 && strncasecmp((const char *) url + 5, "image/jpg", 9) == 0),
             "the URL does not name %s", type->mime);

    FZ_CHECK(comma - url >= 12
             && strncasecmp((const char *) comma - 7, ";base64", 7) == 0,
             "accepted without \";base64,\"");

    n = out.len - pre;
    FZ_CHECK(n > 0 && n <= max, "%zu bytes decoded, max %zu", n, max);

    /* encode again: the same base64, padding and alphabet aside */

    b64 = comma + 1;
    elen = url + len - b64;

    norm = malloc(elen + 1);
    FZ_CHECK(norm != NULL, "out of memory");

    for (i = 0; i < elen && b64[i] != '='; i++) {
        norm[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
    }

    elen = i;

    for ( /* void */ ; i < (size_t) (url + len - b64); i++) {
        FZ_CHECK(b64[i] == '=', "a '=' inside the base64");
    }

    chaton_buf_init(&enc, &pool.a, 0);
    FZ_CHECK(chaton_base64_encode(&enc, out.data + pre, n) == CHATON_OK,
             "encode");

    while (enc.len && enc.data[enc.len - 1] == '=') {
        enc.len--;
    }

    if (enc.len != elen || (elen && memcmp(enc.data, norm, elen) != 0)) {
        fz_dump("base64 given", norm, elen);
        fz_dump("base64 again", enc.data, enc.len);
        FZ_CHECK(0, "decoding is not exact");
    }

    free(norm);

done:

    fz_pool_release(&pool);

    return 0;
}
