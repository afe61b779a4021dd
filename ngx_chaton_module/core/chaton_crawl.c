/*
 * The page crawler.  GET /urls/<base64(url)> streams the page's text as
 * {"data": {"content_delta": "..."}} events; the text of each page is put
 * in front of the user's message, between markers that name the page.
 */

#include <cjson/cJSON.h>

#include "chaton_crawl.h"


static int
chaton_url_char(unsigned char c)
{
    /* what ends a URL in prose: white space, quotes, angle brackets */

    return c > ' ' && c != '"' && c != '\'' && c != '<' && c != '>'
           && c != '`' && c < 0x7f;
}


/*
 * Finds up to max http(s) URLs in text, in order, without repeats.
 * Punctuation that ends a sentence is not part of the URL, nor is a
 * closing parenthesis the URL did not open.
 */

size_t
chaton_urls_find(const unsigned char *text, size_t len, chaton_url_t *urls,
    size_t max)
{
    size_t                n, i, open, close;
    const unsigned char  *p, *end, *u, *e;

    n = 0;
    end = text + len;

    /*
     * every link has "://", 4 or 5 bytes after its start: the first one
     * (memchr() is fast, prose has few ':') tells where to begin, and
     * text without one has none
     */

    for (p = text; (p = memchr(p, ':', end - p)) != NULL; p++) {
        if (end - p >= 3 && p[1] == '/' && p[2] == '/') {
            break;
        }
    }

    if (p == NULL) {
        return 0;
    }

    p = (p - text >= 5) ? p - 5 : text;

    while (n < max && p + 8 <= end) {
        for (u = p; u < end && (*u | 0x20) != 'h'; u++) { /* void */ }

        if (end - u < 8) {
            break;
        }

        if (chaton_strncaseeq(u, "https://", 8)) {
            e = u + 8;

        } else if (chaton_strncaseeq(u, "http://", 7)) {
            e = u + 7;

        } else {
            p = u + 1;
            continue;
        }

        /*
         * the scheme must start a word ("xhttp://" is no link, nor is a URL
         * inside a path); "Link:https://..." or "**https://...**" are
         */

        if (u > text
            && (((u[-1] | 0x20) >= 'a' && (u[-1] | 0x20) <= 'z')
                || (u[-1] >= '0' && u[-1] <= '9') || u[-1] == '/'))
        {
            p = e;
            continue;
        }

        while (e < end && chaton_url_char(*e)) {
            e++;
        }

        for ( ;; ) {
            if (e[-1] == '.' || e[-1] == ',' || e[-1] == ';'
                || e[-1] == ':' || e[-1] == '!' || e[-1] == '?'
                || e[-1] == ']' || e[-1] == '}')
            {
                e--;
                continue;
            }

            if (e[-1] == ')') {
                open = close = 0;

                for (i = 0; u + i < e; i++) {
                    open += (u[i] == '(');
                    close += (u[i] == ')');
                }

                if (close > open) {
                    e--;
                    continue;
                }
            }

            break;
        }

        p = e;

        /* a bare scheme is no link */

        if (e[-1] == '/' && (e - u == 7 || e - u == 8)) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (urls[i].len == (size_t) (e - u)
                && memcmp(urls[i].data, u, e - u) == 0)
            {
                break;
            }
        }

        if (i == n) {
            urls[n].data = u;
            urls[n].len = e - u;
            n++;
        }
    }

    return n;
}


/* "/urls/" and the standard base64 of the URL, sent as is */

int
chaton_crawl_path(chaton_buf_t *out, const unsigned char *url, size_t len)
{
    chaton_try(chaton_buf_literal(out, "/urls/"));

    return chaton_base64_encode(out, url, len);
}


/*
 * One crawler event: its content_delta is added to the page text, until the
 * text's buffer is full (then CHATON_TOO_BIG: the page is cut there).
 */

int
chaton_crawl_event(chaton_buf_t *text, const unsigned char *ev, size_t len)
{
    int     rc;
    size_t  n;
    cJSON  *root, *v;

    if (len == 6 && memcmp(ev, "[DONE]", 6) == 0) {
        return CHATON_DONE;
    }

    root = chaton_json_parse(ev, len);

    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return CHATON_BAD;
    }

    v = cJSON_GetObjectItemCaseSensitive(root, "data");
    v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "content_delta")
                          : NULL;

    rc = CHATON_OK;

    if (cJSON_IsString(v)) {
        n = strlen(v->valuestring);

        if (text->max && text->len + n > text->max) {

            /* cut at the limit, not inside a UTF-8 character */

            n = text->max - text->len;

            while (n && ((unsigned char) v->valuestring[n] & 0xc0) == 0x80) {
                n--;
            }

            rc = CHATON_TOO_BIG;
        }

        if (chaton_buf_append(text, v->valuestring, n) == CHATON_ERROR) {
            rc = CHATON_ERROR;
        }
    }

    cJSON_Delete(root);

    return rc;
}


int
chaton_crawl_context(chaton_buf_t *out, const unsigned char *url,
    size_t url_len, const unsigned char *text, size_t text_len)
{
    chaton_try(chaton_buf_literal(out, "[Content of "));
    chaton_try(chaton_buf_append(out, url, url_len));
    chaton_try(chaton_buf_literal(out, ", fetched for this message]\n"));
    chaton_try(chaton_buf_append(out, text, text_len));
    chaton_try(chaton_buf_literal(out, "\n[End of "));
    chaton_try(chaton_buf_append(out, url, url_len));

    return chaton_buf_literal(out, "]\n\n");
}
