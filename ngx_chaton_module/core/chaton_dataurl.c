/*
 * data: URLs.  Only base64 images of the types the backend's upload takes
 * are accepted; everything else gets a reason the caller turns into a 400
 * naming the part.
 */

#include "chaton_dataurl.h"


static const struct {
    const char             *name;
    size_t                  len;
    chaton_dataurl_type_t   type;
} chaton_dataurl_types[] = {
    { "image/png", 9, { "image/png", "png" } },
    { "image/jpeg", 10, { "image/jpeg", "jpg" } },
    { "image/jpg", 9, { "image/jpeg", "jpg" } },
    { "image/gif", 9, { "image/gif", "gif" } },
    { "image/webp", 10, { "image/webp", "webp" } },
};


/*
 * Returns CHATON_OK with the decoded bytes appended to "out", a
 * CHATON_DATAURL_* reason, or CHATON_ERROR when allocation failed.
 */

int
chaton_dataurl_decode(chaton_buf_t *out, const unsigned char *url,
    size_t len, size_t max, const chaton_dataurl_type_t **type)
{
    size_t                 mlen;
    const unsigned char   *p, *comma, *semi;

    if (len < 5 || !chaton_strncaseeq(url, "data:", 5)) {
        return CHATON_DATAURL_NOT_DATA;
    }

    p = url + 5;
    len -= 5;

    comma = memchr(p, ',', len);
    if (comma == NULL) {
        return CHATON_DATAURL_NOT_BASE64;
    }

    /* the media type ends at the first ';' (parameters follow) */

    semi = memchr(p, ';', comma - p);
    mlen = (semi ? semi : comma) - p;

    *type = chaton_dataurl_type(p, mlen);

    if (*type == NULL) {
        return CHATON_DATAURL_BAD_TYPE;
    }

    /* ";base64" must be the last parameter, right before the comma */

    if (comma - p < 7 || !chaton_strncaseeq(comma - 7, ";base64", 7)) {
        return CHATON_DATAURL_NOT_BASE64;
    }

    return chaton_dataurl_base64(out, comma + 1, len - (comma + 1 - p), max);
}


/* an image's media type (image/png, ...), or NULL: not one uploaded */

const chaton_dataurl_type_t *
chaton_dataurl_type(const unsigned char *mime, size_t len)
{
    size_t  i;

    for (i = 0;
         i < sizeof(chaton_dataurl_types) / sizeof(chaton_dataurl_types[0]);
         i++)
    {
        if (chaton_dataurl_types[i].len == len
            && chaton_strncaseeq(mime, chaton_dataurl_types[i].name, len))
        {
            return &chaton_dataurl_types[i].type;
        }
    }

    return NULL;
}


/* an image's base64 (a data: URL's, or Anthropic's base64 source) */

int
chaton_dataurl_base64(chaton_buf_t *out, const unsigned char *s, size_t n,
    size_t max)
{
    int  rc;

    if (n == 0) {
        return CHATON_DATAURL_EMPTY;
    }

    if (n / 4 * 3 > max + 3) {
        return CHATON_DATAURL_TOO_BIG;
    }

    rc = chaton_base64_decode(out, s, n);

    if (rc == CHATON_BAD) {
        return CHATON_DATAURL_NOT_BASE64;
    }

    if (rc != CHATON_OK) {
        return rc == CHATON_TOO_BIG ? CHATON_DATAURL_TOO_BIG : rc;
    }

    if (out->len > max) {
        return CHATON_DATAURL_TOO_BIG;
    }

    return CHATON_OK;
}
