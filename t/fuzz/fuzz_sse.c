/*
 * chaton_sse: the incremental SSE parser.
 *
 * Input: [flags] [split seed] stream bytes...
 *
 *   flags bits 0-1   the largest event: 8, 40, 300 bytes or 1 MiB
 *         bit 2      the allocator frees (as the module's) or never does
 *         bit 3      the handler stops the feed at an event "STOP"
 *
 * The stream is fed five ways: at once; byte by byte; in pieces of
 * input-derived lengths (with empty feeds in between); cut right after
 * every CR (a CRLF split across reads); and cut right before every line
 * end (each line whole in one read, its end in the next).  Every piece is fed from its own
 * heap copy, scribbled over and freed once the feed returns, so a parser
 * that keeps pointing into the caller's bytes is caught by ASan.  All five
 * must give the same events and the same outcome (differential check).
 *
 * With the 1 MiB limit (never reached: inputs are smaller) the events must
 * also be those of an independent whole-stream parser written from the
 * SSE specification (a model check).
 */

#include "fuzz.h"
#include "chaton_sse.h"


typedef struct {
    unsigned char          *bytes;      /* events, each as len(8) + data */
    size_t                  len;
    size_t                  cap;
    size_t                  n;
    int                     stop;       /* "STOP" ends the feed */
} rec_t;


static const size_t  limits[] = { 8, 40, 300, 1 << 20 };


static void
rec_add(rec_t *r, const unsigned char *ev, size_t len)
{
    uint64_t  l;

    if (r->len + 8 + len > r->cap) {
        r->cap = (r->len + 8 + len) * 2;
        r->bytes = realloc(r->bytes, r->cap);
        FZ_CHECK(r->bytes != NULL, "out of memory");
    }

    l = len;
    memcpy(r->bytes + r->len, &l, 8);
    if (len) {
        memcpy(r->bytes + r->len + 8, ev, len);
    }

    r->len += 8 + len;
    r->n++;
}


static int
rec_handler(void *data, const unsigned char *ev, size_t len)
{
    rec_t  *r = data;

    FZ_CHECK(len == 0 || ev != NULL, "an event of %zu bytes at NULL", len);

    rec_add(r, ev, len);

    if (r->stop && len == 4 && memcmp(ev, "STOP", 4) == 0) {
        return CHATON_BAD;
    }

    return CHATON_OK;
}


/* feeds one piece from its own heap copy, destroyed after the call */

static int
feed_piece(chaton_sse_t *p, const uint8_t *s, size_t len, rec_t *r)
{
    int            rc;
    unsigned char  *copy;

    copy = malloc(len ? len : 1);
    FZ_CHECK(copy != NULL, "out of memory");

    if (len) {
        memcpy(copy, s, len);
    }

    rc = chaton_sse_feed(p, copy, len, rec_handler, r);

    memset(copy, 0xee, len ? len : 1);
    free(copy);

    return rc;
}


#define WAY_WHOLE   0
#define WAY_BYTES   1
#define WAY_RANDOM  2
#define WAY_CR      3
#define WAY_EOL     4
#define NWAYS       5

static const char  *way_names[] = { "whole", "byte by byte", "random pieces",
                                    "cut after CRs", "cut before line ends" };


static int
run(int way, const uint8_t *s, size_t len, size_t max, int with_free,
    uint64_t seed, rec_t *r)
{
    int            rc;
    size_t         pos, n;
    uint64_t       st;
    fz_pool_t      pool;
    chaton_sse_t   p;

    chaton_sse_init(&p, fz_pool_init(&pool, with_free), max);

    rc = CHATON_OK;
    pos = 0;
    st = seed;

    while (pos < len && rc == CHATON_OK) {

        switch (way) {

        case WAY_WHOLE:
            n = len;
            break;

        case WAY_BYTES:
            n = 1;
            break;

        case WAY_RANDOM:
            if (fz_rand(&st) % 8 == 0) {
                rc = feed_piece(&p, s + pos, 0, r);
                if (rc != CHATON_OK) {
                    goto done;
                }
            }

            n = 1 + fz_rand(&st) % ((seed & 0x3f) + 1);
            break;

        case WAY_CR:
            for (n = 1; pos + n < len && s[pos + n - 1] != '\r'; n++) {
                /* void */
            }

            break;

        default: /* WAY_EOL */
            for (n = 1;
                 pos + n < len && s[pos + n] != '\r' && s[pos + n] != '\n';
                 n++)
            {
                /* void */
            }
        }

        if (n > len - pos) {
            n = len - pos;
        }

        rc = feed_piece(&p, s + pos, n, r);
        pos += n;
    }

    if (rc == CHATON_OK) {
        rc = chaton_sse_finish(&p, rec_handler, r);
    }

done:

    fz_pool_release(&pool);

    return rc;
}


/* ---- the model: a whole-stream parser from the specification ----------- */


static int
model_line(const uint8_t *l, size_t len, rec_t *r, unsigned char *data,
    size_t *dlen, int *has)
{
    size_t          i, vlen;
    const uint8_t  *v;

    if (len == 0) {
        if (*has) {
            *has = 0;
            rec_add(r, data, *dlen);

            if (r->stop && *dlen == 4 && memcmp(data, "STOP", 4) == 0) {
                return CHATON_BAD;
            }
        }

        *dlen = 0;
        return CHATON_OK;
    }

    if (l[0] == ':') {
        return CHATON_OK;
    }

    for (i = 0; i < len && l[i] != ':'; i++) { /* void */ }

    if (i != 4 || memcmp(l, "data", 4) != 0) {
        return CHATON_OK;
    }

    v = l + i;
    vlen = len - i;

    if (vlen) {
        v++;
        vlen--;

        if (vlen && v[0] == ' ') {
            v++;
            vlen--;
        }
    }

    if (*has) {
        data[(*dlen)++] = '\n';
    }

    memcpy(data + *dlen, v, vlen);
    *dlen += vlen;
    *has = 1;

    return CHATON_OK;
}


static int
model(const uint8_t *s, size_t len, rec_t *r)
{
    int             rc, has;
    size_t          i, start, dlen;
    unsigned char  *data;

    data = malloc(len + 1);
    FZ_CHECK(data != NULL, "out of memory");

    dlen = 0;
    has = 0;
    rc = CHATON_OK;
    i = 0;

    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        i = 3;
    }

    start = i;

    for ( /* void */ ; i < len; i++) {
        if (s[i] != '\n' && s[i] != '\r') {
            continue;
        }

        rc = model_line(s + start, i - start, r, data, &dlen, &has);
        if (rc != CHATON_OK) {
            goto done;
        }

        if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
            i++;
        }

        start = i + 1;
    }

    /* the end: a last line without its end, then a last blank line */

    if (start < len) {
        rc = model_line(s + start, len - start, r, data, &dlen, &has);
        if (rc != CHATON_OK) {
            goto done;
        }
    }

    rc = model_line(NULL, 0, r, data, &dlen, &has);

done:

    free(data);

    return rc;
}


static void
compare(const char *what, int rc0, const rec_t *r0, int rc1, const rec_t *r1,
    const uint8_t *s, size_t len)
{
    if (rc0 == rc1 && r0->len == r1->len
        && (r0->len == 0 || memcmp(r0->bytes, r1->bytes, r0->len) == 0))
    {
        return;
    }

    fprintf(stderr, "\nsse: %s differ: rc %d vs %d, %zu vs %zu events\n",
            what, rc0, rc1, r0->n, r1->n);
    fz_dump("stream", s, len);

    {
        size_t    i, off;
        uint64_t  l;
        char      name[32];

        for (i = 0, off = 0; off < r0->len; i++) {
            memcpy(&l, r0->bytes + off, 8);
            snprintf(name, sizeof(name), "  first[%zu]", i);
            fz_dump(name, r0->bytes + off + 8, l);
            off += 8 + l;
        }

        for (i = 0, off = 0; off < r1->len; i++) {
            memcpy(&l, r1->bytes + off, 8);
            snprintf(name, sizeof(name), "  second[%zu]", i);
            fz_dump(name, r1->bytes + off + 8, l);
            off += 8 + l;
        }
    }

    abort();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc[NWAYS], mrc, i, with_free;
    char            what[64];
    size_t          max, len;
    rec_t           r[NWAYS], m;
    uint64_t        seed;
    const uint8_t  *s;

    if (size < 2) {
        return 0;
    }

    max = limits[data[0] & 3];
    with_free = (data[0] >> 2) & 1;
    seed = data[1] + 1;
    s = data + 2;
    len = size - 2;

    memset(r, 0, sizeof(r));

    for (i = 0; i < NWAYS; i++) {
        r[i].stop = (data[0] >> 3) & 1;
        rc[i] = run(i, s, len, max, with_free, seed * 0x9e3779b97f4a7c15ull,
                    &r[i]);

        FZ_CHECK(rc[i] == CHATON_OK || rc[i] == CHATON_TOO_BIG
                 || (rc[i] == CHATON_BAD && r[i].stop),
                 "feeding %s returned %d", way_names[i], rc[i]);
    }

    for (i = 1; i < NWAYS; i++) {
        snprintf(what, sizeof(what), "%s and %s", way_names[0],
                 way_names[i]);
        compare(what, rc[0], &r[0], rc[i], &r[i], s, len);
    }

    if (max == (1 << 20)) {
        memset(&m, 0, sizeof(m));
        m.stop = r[0].stop;
        mrc = model(s, len, &m);
        compare("the parser and the model", mrc, &m, rc[0], &r[0], s, len);
        free(m.bytes);
    }

    for (i = 0; i < NWAYS; i++) {
        free(r[i].bytes);
    }

    return 0;
}
