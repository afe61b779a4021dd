/*
 * ChatOn's file storage.
 *
 * POST /storage/upload takes one multipart part named "file"; it and
 * GET /storage/<path> answer {"getUrl": "https://..."}, a download URL on
 * another host, often presigned: it is kept byte for byte.
 */

#include <cjson/cJSON.h>

#include "chaton_storage.h"


int
chaton_get_url(chaton_buf_t *url, const unsigned char *body, size_t len)
{
    int          rc;
    size_t       n;
    cJSON       *root, *v;
    const char  *s;

    root = chaton_json_parse(body, len);

    v = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "getUrl")
                             : NULL;

    if (!cJSON_IsString(v)) {
        cJSON_Delete(root);
        return CHATON_BAD;
    }

    s = v->valuestring;
    n = strlen(s);

    /* only a URL a client can fetch; nothing with spaces or line ends */

    if (!((n > 7 && chaton_strncaseeq((const unsigned char *) s, "http://", 7))
          || (n > 8
              && chaton_strncaseeq((const unsigned char *) s, "https://", 8)))
        || strpbrk(s, " \t\r\n\"<>") != NULL)
    {
        cJSON_Delete(root);
        return CHATON_BAD;
    }

    rc = chaton_buf_append(url, s, n);

    cJSON_Delete(root);

    return rc;
}


/*
 * The part's head: everything before the file's bytes.  The bytes follow
 * as they are; chaton_multipart_tail() ends the body.
 */

int
chaton_multipart_head(chaton_buf_t *out, const char *boundary,
    const char *filename, const char *type)
{
    chaton_try(chaton_buf_literal(out, "--"));
    chaton_try(chaton_buf_append_str(out, boundary));
    chaton_try(chaton_buf_literal(out, "\r\nContent-Disposition: form-data; "
                                       "name=\"file\"; filename=\""));
    chaton_try(chaton_buf_append_str(out, filename));
    chaton_try(chaton_buf_literal(out, "\"\r\nContent-Type: "));
    chaton_try(chaton_buf_append_str(out, type));

    return chaton_buf_literal(out, "\r\n\r\n");
}


int
chaton_multipart_tail(chaton_buf_t *out, const char *boundary)
{
    chaton_try(chaton_buf_literal(out, "\r\n--"));
    chaton_try(chaton_buf_append_str(out, boundary));

    return chaton_buf_literal(out, "--\r\n");
}


/* a boundary must not occur in the bytes it delimits */

int
chaton_multipart_boundary_ok(const char *boundary, const unsigned char *data,
    size_t len)
{
    size_t                n;
    const unsigned char  *p, *end;

    n = strlen(boundary);
    end = data + len;

    if (n == 0) {
        return 0;
    }

    for (p = data; (size_t) (end - p) >= n; p++) {
        p = memchr(p, boundary[0], end - p - n + 1);

        if (p == NULL) {
            return 1;
        }

        if (memcmp(p, boundary, n) == 0) {
            return 0;
        }
    }

    return 1;
}
