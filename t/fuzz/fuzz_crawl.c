/*
 * chaton_crawl: links found in messages, the crawler's paths, the page
 * text it streams back, the context written for the model.
 *
 * Input: [flags] text 0xff event 0xff event ...
 *
 *   flags bits 0-1   the page text's limit: 16, 100, 1000 bytes, none
 *
 * Checks:
 *   - chaton_urls_find() gives at most max URLs, in order, each inside the
 *     text, starting with http:// or https:// (any case) at a word start,
 *     more than the bare scheme, made of URL characters only, not ending
 *     in sentence punctuation, and none twice;
 *   - the crawler path of each is "/urls/" and base64 that decodes to it;
 *   - the context names the URL twice and holds the page text as is;
 *   - events: the page text only grows by content_delta text, never past
 *     its limit, and a cut never splits a UTF-8 character when the text
 *     was valid; "[DONE]" ends; what is not JSON is refused.
 */

#include <strings.h>

#include "fuzz.h"
#include "chaton_crawl.h"


#define SEP     0xff
#define MAXURL  8


static const size_t  limits[] = { 16, 100, 1000, 0 };


static int
url_char(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '<'
           && c != '>' && c != '`';
}


static void
check_urls(const uint8_t *text, size_t len, fz_pool_t *pool)
{
    size_t          i, k, n, slen, max;
    chaton_buf_t    b, d;
    chaton_url_t    urls[MAXURL + 1];
    const uint8_t  *u;

    max = 1 + len % MAXURL;
    memset(urls, 0, sizeof(urls));

    n = chaton_urls_find(text, len, urls, max);

    FZ_CHECK(n <= max, "%zu URLs, max %zu", n, max);

    for (i = 0; i < n; i++) {
        u = urls[i].data;

        FZ_CHECK(u >= text && urls[i].len <= (size_t) (text + len - u),
                 "URL %zu is not inside the text", i);
        FZ_CHECK(i == 0 || u > urls[i - 1].data, "URL %zu out of order", i);

        slen = (urls[i].len >= 8 && strncasecmp((char *) u, "https://", 8)
                                    == 0) ? 8
               : (urls[i].len >= 7 && strncasecmp((char *) u, "http://", 7)
                                      == 0) ? 7 : 0;

        FZ_CHECK(slen && urls[i].len > slen, "URL %zu: %.*s", i,
                 (int) urls[i].len, u);

        FZ_CHECK(u == text
                 || !((u[-1] | 0x20) >= 'a' && (u[-1] | 0x20) <= 'z')
                    && !(u[-1] >= '0' && u[-1] <= '9') && u[-1] != '/',
                 "URL %zu does not start a word", i);

        for (k = 0; k < urls[i].len; k++) {
            FZ_CHECK(url_char(u[k]), "URL %zu has byte 0x%02x", i, u[k]);
        }

        FZ_CHECK(strchr(".,;:!?]}", u[urls[i].len - 1]) == NULL,
                 "URL %zu ends in punctuation: %.*s", i, (int) urls[i].len,
                 u);

        for (k = 0; k < i; k++) {
            FZ_CHECK(urls[k].len != urls[i].len
                     || memcmp(urls[k].data, u, urls[i].len) != 0,
                     "URL %zu is URL %zu again", i, k);
        }

        /* the crawler's path */

        chaton_buf_init(&b, &pool->a, 0);
        chaton_buf_init(&d, &pool->a, 0);

        FZ_CHECK(chaton_crawl_path(&b, u, urls[i].len) == CHATON_OK, "path");
        FZ_CHECK(b.len > 6 && memcmp(b.data, "/urls/", 6) == 0,
                 "a path that is not /urls/...");
        FZ_CHECK(chaton_base64_decode(&d, b.data + 6, b.len - 6) == CHATON_OK
                 && d.len == urls[i].len && memcmp(d.data, u, d.len) == 0,
                 "the path does not decode to the URL");

        /* the context */

        b.len = 0;
        FZ_CHECK(chaton_crawl_context(&b, u, urls[i].len, text, len)
                 == CHATON_OK, "context");
        FZ_CHECK(memmem(b.data, b.len, u, urls[i].len) != NULL
                 && (len == 0 || memmem(b.data, b.len, text, len) != NULL),
                 "the context lacks the URL or the text");
    }
}


static void
check_events(const uint8_t *ev, size_t evlen, size_t max, fz_pool_t *pool)
{
    int             rc, valid;
    cJSON          *j, *v;
    size_t          n, before;
    chaton_buf_t    text;
    const uint8_t  *p, *end, *sep;

    chaton_buf_init(&text, &pool->a, max);

    valid = 1;
    p = ev;
    end = ev + evlen;

    while (p < end) {
        sep = memchr(p, SEP, end - p);
        n = (sep ? sep : end) - p;

        before = text.len;
        rc = chaton_crawl_event(&text, p, n);

        FZ_CHECK(text.len >= before && (max == 0 || text.len <= max),
                 "the text went from %zu to %zu bytes (max %zu)", before,
                 text.len, max);

        j = fz_json_try(p, n);

        if (n == 6 && memcmp(p, "[DONE]", 6) == 0) {
            FZ_CHECK(rc == CHATON_DONE, "[DONE]: %d", rc);
            FZ_CHECK(text.len == before, "[DONE] added text");
            cJSON_Delete(j);
            break;
        }

        if (!cJSON_IsObject(j)) {
            FZ_CHECK(rc == CHATON_BAD && text.len == before,
                     "not a JSON object, yet %d", rc);
            cJSON_Delete(j);
            break;
        }

        v = cJSON_GetObjectItemCaseSensitive(j, "data");
        v = cJSON_GetObjectItemCaseSensitive(v, "content_delta");

        if (cJSON_IsString(v)) {
            valid &= fz_utf8_valid((unsigned char *) v->valuestring,
                                   strlen(v->valuestring));

            /* what was added is the delta's start */

            FZ_CHECK(text.len == before
                     || strncmp((char *) text.data + before, v->valuestring,
                                text.len - before) == 0,
                     "what was added is not the delta");

            if (rc == CHATON_OK) {
                FZ_CHECK(text.len - before == strlen(v->valuestring),
                         "a delta not added whole");
            }

        } else {
            FZ_CHECK(text.len == before, "text from no delta");
        }

        cJSON_Delete(j);

        if (valid) {
            FZ_CHECK(fz_utf8_valid(text.data, text.len),
                     "the page text was cut inside a character");
        }

        if (rc != CHATON_OK) {
            FZ_CHECK(rc == CHATON_TOO_BIG && max, "event: %d", rc);
            break;
        }

        if (sep == NULL) {
            break;
        }

        p = sep + 1;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_pool_t       pool;
    const uint8_t  *sep, *text;
    size_t          len;

    if (size < 1) {
        return 0;
    }

    text = data + 1;
    sep = memchr(text, SEP, size - 1);
    len = (sep ? sep : data + size) - text;

    fz_pool_init(&pool, 1);

    check_urls(text, len, &pool);

    if (sep) {
        check_events(sep + 1, data + size - sep - 1, limits[data[0] & 3],
                     &pool);
    }

    fz_pool_release(&pool);

    return 0;
}
