/*
 * The spc.unk scanner.
 *
 * In a stream the placeholder arrives in pieces ("![Ima", "ge](https://spc.",
 * "unk/images/ab", "c.png)"), so text is released as soon as it cannot be
 * the start of one, and only a possible start is held back: from a "!" that
 * the text so far still matches, at most CHATON_SPC_MAX bytes.  Text without
 * a "!" passes straight through, uncopied.
 */

#include "chaton_spc.h"


#define CHATON_SPC_NO     0       /* not a placeholder */
#define CHATON_SPC_YES    1       /* a whole one */
#define CHATON_SPC_MORE   2       /* the start of one, so far */


static const char  chaton_spc_url[] = "https://spc.unk/";


static int chaton_spc_scan(chaton_spc_t *s, const unsigned char *p,
    size_t len, int last, chaton_spc_handler_pt handler, void *data);


void
chaton_spc_init(chaton_spc_t *s, chaton_alloc_t *a)
{
    chaton_buf_init(&s->held, a, 0);
}


/*
 * Matches a placeholder at p (p[0] == '!').  On CHATON_SPC_YES *n is its
 * length and *path, *plen its path.
 */

static int
chaton_spc_match(const unsigned char *p, size_t len, size_t *n,
    const unsigned char **path, size_t *plen)
{
    size_t  i, k, alt, u;

    /* "![" */

    if (len < 2) {
        return CHATON_SPC_MORE;
    }

    if (p[1] != '[') {
        return CHATON_SPC_NO;
    }

    /* the alt text: no "]", no line end, bounded */

    for (i = 2, alt = 0; i < len && p[i] != ']'; i++, alt++) {
        if (p[i] == '\n' || p[i] == '[' || alt >= CHATON_SPC_ALT_MAX) {
            return CHATON_SPC_NO;
        }
    }

    if (i + 1 >= len) {
        return CHATON_SPC_MORE;
    }

    if (p[i + 1] != '(') {
        return CHATON_SPC_NO;
    }

    i += 2;

    /* "https://spc.unk/" */

    u = sizeof(chaton_spc_url) - 1;

    for (k = 0; k < u; k++) {
        if (i + k >= len) {
            return CHATON_SPC_MORE;
        }

        if (p[i + k] != (unsigned char) chaton_spc_url[k]) {
            return CHATON_SPC_NO;
        }
    }

    i += u;
    k = i;

    /* the path, up to ")" */

    for ( /* void */ ; i < len && p[i] != ')'; i++) {
        if (p[i] <= ' ' || p[i] == '(' || i - k >= CHATON_SPC_PATH_MAX) {
            return CHATON_SPC_NO;
        }
    }

    if (i >= len) {
        return CHATON_SPC_MORE;
    }

    if (i == k) {
        return CHATON_SPC_NO;
    }

    *path = p + k;
    *plen = i - k;
    *n = i + 1;

    return CHATON_SPC_YES;
}


int
chaton_spc_feed(chaton_spc_t *s, const unsigned char *text, size_t len,
    chaton_spc_handler_pt handler, void *data)
{
    int  rc;

    if (s->held.len == 0) {

        /* no "!", no placeholder: the text goes on as it is */

        if (len && memchr(text, '!', len) == NULL) {
            return handler(data, 0, text, len);
        }

        return chaton_spc_scan(s, text, len, 0, handler, data);
    }

    /* a possible start was held: the new text continues it */

    rc = chaton_buf_append(&s->held, text, len);
    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_spc_scan(s, NULL, 0, 0, handler, data);
}


/* the end of the text: what is held is only text after all */

int
chaton_spc_flush(chaton_spc_t *s, chaton_spc_handler_pt handler, void *data)
{
    return chaton_spc_scan(s, NULL, 0, 1, handler, data);
}


/*
 * Scans p (or, when p is NULL, the held bytes), releasing text and
 * placeholders; a possible start at the end is kept (unless "last").
 */

static int
chaton_spc_scan(chaton_spc_t *s, const unsigned char *p, size_t len,
    int last, chaton_spc_handler_pt handler, void *data)
{
    int                   rc, m, held;
    size_t                n, plen, keep;
    const unsigned char  *bang, *path, *start, *end;

    held = (p == NULL);

    if (held) {
        p = s->held.data;
        len = s->held.len;
    }

    /* nothing to scan (and maybe no buffer yet: no pointer arithmetic) */

    if (len == 0) {
        if (held) {
            s->held.len = 0;
        }

        return CHATON_OK;
    }

    start = p;
    end = p + len;
    keep = 0;

    while (p < end) {
        bang = memchr(p, '!', end - p);

        if (bang == NULL) {
            break;
        }

        m = chaton_spc_match(bang, end - bang, &n, &path, &plen);

        if (m == CHATON_SPC_NO || (m == CHATON_SPC_MORE && last)) {
            p = bang + 1;
            continue;
        }

        if (bang > start) {
            rc = handler(data, 0, start, bang - start);
            if (rc != CHATON_OK) {
                return rc;
            }
        }

        if (m == CHATON_SPC_MORE) {
            start = bang;
            keep = end - bang;
            break;
        }

        rc = handler(data, 1, path, plen);
        if (rc != CHATON_OK) {
            return rc;
        }

        start = bang + n;
        p = start;
    }

    if (keep == 0 && end > start) {
        rc = handler(data, 0, start, end - start);
        if (rc != CHATON_OK) {
            return rc;
        }
    }

    /* keep the possible start; it may already be in the held buffer */

    if (keep == 0) {
        s->held.len = 0;
        return CHATON_OK;
    }

    if (held) {
        memmove(s->held.data, start, keep);
        s->held.len = keep;
        return CHATON_OK;
    }

    s->held.len = 0;

    return chaton_buf_append(&s->held, start, keep);
}


/*
 * Whether a placeholder's path may be looked up: the backend writes plain
 * object names; anything that could point elsewhere on the API host with a
 * signed request ("..", escapes, a query) is refused.
 */

int
chaton_spc_path_ok(const unsigned char *path, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || path[0] == '/') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = path[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '-' || c == '_' || c == '.' || c == '~' || c == '/'))
        {
            return 0;
        }

        if (c == '.' && i + 1 < len && path[i + 1] == '.') {
            return 0;
        }
    }

    return 1;
}
