/*
 * Incremental Server-Sent Events parser.
 *
 * Backend reads split lines, JSON and UTF-8 characters anywhere, so only
 * complete lines are looked at; the unfinished tail of a read is kept until
 * the next one.  An event whose data line lies wholly inside one read is
 * handed out in place, without a copy; only data that must outlive the read
 * is copied, so memory is bounded by the largest single event.
 *
 * Lines end with LF, CRLF or a lone CR (as the SSE specification says);
 * a blank line ends an event; several "data:" lines are joined with "\n";
 * comments, "event:", "id:", "retry:" and unknown fields are ignored.
 */

#include "chaton_sse.h"


#define chaton_min(a, b)  ((a) < (b) ? (a) : (b))
#define chaton_max(a, b)  ((a) > (b) ? (a) : (b))

/*
 * The line's first room: a line of ChatOn's common event (a delta, about
 * 260 bytes with its "data: ") fits at once.  A buffer that grows leaves
 * its first block behind in a pool, and the line grows only once a line
 * longer than those held before is split by the network: a stream would
 * hold more the longer it runs.
 */

#define CHATON_SSE_LINE_ROOM  512


static int chaton_sse_line(chaton_sse_t *p, const unsigned char *l,
    size_t len, int in_place, chaton_sse_handler_pt handler, void *data);
static int chaton_sse_keep(chaton_sse_t *p);
static int chaton_sse_hold(chaton_sse_t *p, const unsigned char *pos,
    size_t len);
static int chaton_sse_room(chaton_sse_t *p, size_t len);
static void chaton_sse_release(chaton_buf_t *b);


void
chaton_sse_init(chaton_sse_t *p, chaton_alloc_t *a, size_t max_event)
{
    /* a line is "data: " plus at most the whole event */

    chaton_buf_init(&p->line, a, max_event + 16);
    chaton_buf_init(&p->data, a, max_event);

    p->ref = NULL;
    p->ref_len = 0;
    p->max = max_event;
    p->whole = NULL;
    p->has_data = 0;
    p->cr = 0;
    p->skip = 0;
    p->started = 0;
    p->lean = 0;
}


/* the memory of a lean parser (nothing else holds any) */

void
chaton_sse_free(chaton_sse_t *p)
{
    chaton_sse_release(&p->line);
    chaton_sse_release(&p->data);
}


static void
chaton_sse_release(chaton_buf_t *b)
{
    if (b->data && b->alloc->free) {
        b->alloc->free(b->alloc->pool, b->data);
    }

    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}


int
chaton_sse_feed(chaton_sse_t *p, const unsigned char *in, size_t len,
    chaton_sse_handler_pt handler, void *data)
{
    int                   rc, searched;
    size_t                n, room;
    const unsigned char  *pos, *end, *eol, *cr, *held_cr, *next;

    pos = in;
    end = in + len;

    /*
     * Lines end at LF nearly always: the next CR is looked for once, to
     * the end of the input, and again only once a line ended at it.
     */

    cr = NULL;
    searched = 0;

    /* room for the largest event, "data: " and the blank line after it */

    room = (p->max < SIZE_MAX - 8) ? p->max + 8 : SIZE_MAX;

    if (p->cr && pos < end) {
        if (*pos == '\n') {
            pos++;
        }

        p->cr = 0;
    }

    while (pos < end) {

        if (p->whole && p->started && !p->has_data && !p->skip
            && p->line.len == 0)
        {
            rc = p->whole(data, pos, end - pos, room, &n);
            if (rc != CHATON_OK) {
                return rc;
            }

            if (n) {
                pos += n;
                continue;
            }
        }

        /*
         * The blank line that ends each event needs no search.  The end
         * of a line held from the last input (an event the network split)
         * is looked for in that line only: most inputs of a stream begin
         * with one, and the events after it are taken whole.
         */

        if (*pos == '\n') {
            eol = pos;

        } else if (p->line.len) {
            eol = memchr(pos, '\n', end - pos);
            held_cr = memchr(pos, '\r', (eol ? eol : end) - pos);

            if (held_cr) {
                eol = held_cr;
            }

        } else {
            eol = memchr(pos, '\n', end - pos);

            if (!searched || (cr && cr < pos)) {
                cr = memchr(pos, '\r', end - pos);
                searched = 1;
            }

            if (cr && (eol == NULL || cr < eol)) {
                eol = cr;
            }
        }

        if (eol == NULL) {
            rc = chaton_sse_hold(p, pos, end - pos);
            if (rc != CHATON_OK) {
                return rc;
            }

            break;
        }

        next = eol + 1;

        /*
         * The common event: a "data: " line whole in this input, and the
         * blank line right after it: handed out at once, in place.
         */

        if (*eol == '\n' && end - next >= 1 && *next == '\n'
            && eol - pos >= 6 && memcmp(pos, "data: ", 6) == 0
            && p->started && !p->has_data && !p->skip && p->line.len == 0)
        {
            if ((size_t) (eol - pos - 6) > p->max) {
                return CHATON_TOO_BIG;
            }

            rc = handler(data, pos + 6, eol - pos - 6);
            if (rc != CHATON_OK) {
                return rc;
            }

            pos = next + 1;
            continue;
        }

        if (*eol == '\r') {
            if (next < end) {
                if (*next == '\n') {
                    next++;
                }

            } else {
                p->cr = 1;
            }
        }

        if (p->skip) {
            p->skip = 0;
            rc = CHATON_OK;

        } else if (p->line.len) {
            rc = chaton_sse_hold(p, pos, eol - pos);
            if (rc != CHATON_OK) {
                return rc;
            }

            n = p->line.len;
            p->line.len = 0;

            /* in place: the line is kept as it is until the next one */

            rc = p->skip ? CHATON_OK
                         : chaton_sse_line(p, p->line.data, n, 1, handler,
                                           data);
            p->skip = 0;

        } else {
            rc = chaton_sse_line(p, pos, eol - pos, 1, handler, data);
        }

        if (rc != CHATON_OK) {
            return rc;
        }

        pos = next;
    }

    /* the input goes away after this call: keep what still points into it */

    rc = chaton_sse_keep(p);

    if (p->lean) {
        if (p->line.len == 0) {
            chaton_sse_release(&p->line);
        }

        if (p->data.len == 0) {
            chaton_sse_release(&p->data);
        }
    }

    return rc;
}


/*
 * The end of the stream: a last event that lacked its blank line is still
 * delivered (its lines were complete); a last line without its end of line
 * is treated as complete.
 */

int
chaton_sse_finish(chaton_sse_t *p, chaton_sse_handler_pt handler, void *data)
{
    int     rc;
    size_t  n;

    if (p->line.len && !p->skip) {
        n = p->line.len;
        p->line.len = 0;

        rc = chaton_sse_line(p, p->line.data, n, 0, handler, data);
        if (rc != CHATON_OK) {
            return rc;
        }
    }

    p->skip = 0;

    return chaton_sse_line(p, NULL, 0, 0, handler, data);
}


/*
 * Keeps part of an unfinished line.  Only "data:" lines need their bytes;
 * any other line (a long comment, say) is skipped instead of kept, so that
 * whether a stream fails never depends on where the network split it.
 */

static int
chaton_sse_hold(chaton_sse_t *p, const unsigned char *pos, size_t len)
{
    int                   rc;
    size_t                n;
    unsigned char         head[8];
    const unsigned char  *l;

    if (p->skip) {
        return CHATON_OK;
    }

    /* an event's data may be the line held before (in place) */

    rc = chaton_sse_keep(p);
    if (rc != CHATON_OK) {
        return rc;
    }

    if (p->lean) {
        rc = chaton_sse_room(p, len);
        if (rc != CHATON_OK && rc != CHATON_TOO_BIG) {
            return rc;
        }

    } else if (p->line.cap == 0) {
        n = (p->line.max && p->line.max < CHATON_SSE_LINE_ROOM)
            ? p->line.max : CHATON_SSE_LINE_ROOM;

        rc = chaton_buf_reserve(&p->line, chaton_max(n, len));
        if (rc != CHATON_OK && rc != CHATON_TOO_BIG) {
            return rc;
        }
    }

    rc = chaton_buf_append(&p->line, pos, len);

    if (rc != CHATON_TOO_BIG) {
        return rc;
    }

    /*
     * The same test as chaton_sse_line()'s, a "data:" field, on the line's
     * first bytes: those held before, then those that did not fit.
     */

    n = chaton_min(p->line.len, sizeof(head));
    memcpy(head, p->line.data ? p->line.data : head, n);
    memcpy(head + n, pos, chaton_min(len, sizeof(head) - n));
    n += chaton_min(len, sizeof(head) - n);

    l = head;

    if (!p->started && n >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
        l += 3;
        n -= 3;
    }

    if (n >= 5 && memcmp(l, "data:", 5) == 0) {
        return rc;
    }

    p->skip = 1;
    p->started = 1;
    p->line.len = 0;

    return CHATON_OK;
}


/*
 * A lean parser's line grows to what it holds, in steps of 64 bytes: it
 * is held only while a line is split between reads, its growth is bounded
 * by one line, and the old block is given back.  The steps make the
 * blocks of a worker's streams a few sizes, which the heap reuses as they
 * come and go (exact sizes left it growing slowly with many streams).
 * Past the line's cap, chaton_buf_append() says CHATON_TOO_BIG.
 */

#define CHATON_SSE_LEAN_STEP  64

static int
chaton_sse_room(chaton_sse_t *p, size_t len)
{
    size_t          need;
    unsigned char  *d;

    if (len <= p->line.cap - p->line.len) {
        return CHATON_OK;
    }

    if (p->line.max && len > p->line.max - p->line.len) {
        return CHATON_TOO_BIG;
    }

    if (len > SIZE_MAX - p->line.len) {
        return CHATON_TOO_BIG;
    }

    need = p->line.len + len;

    if (need <= SIZE_MAX - CHATON_SSE_LEAN_STEP) {
        need = (need + CHATON_SSE_LEAN_STEP - 1)
               & ~((size_t) CHATON_SSE_LEAN_STEP - 1);
    }

    if (p->line.max && need > p->line.max) {
        need = p->line.max;
    }

    d = p->line.alloc->alloc(p->line.alloc->pool, need);
    if (d == NULL) {
        return CHATON_ERROR;
    }

    if (p->line.len) {
        memcpy(d, p->line.data, p->line.len);
    }

    if (p->line.data && p->line.alloc->free) {
        p->line.alloc->free(p->line.alloc->pool, p->line.data);
    }

    p->line.data = d;
    p->line.cap = need;

    return CHATON_OK;
}


#ifdef CHATON_TESTS

/* whether bytes of an unfinished event are held */

int
chaton_sse_pending(chaton_sse_t *p)
{
    return p->line.len != 0 || p->skip || p->has_data;
}

#endif


static int
chaton_sse_line(chaton_sse_t *p, const unsigned char *l, size_t len,
    int in_place, chaton_sse_handler_pt handler, void *data)
{
    int                   rc;
    size_t                n;
    const unsigned char  *v, *ev;

    /* a byte order mark may start the stream (the SSE spec drops it) */

    if (!p->started && l) {
        p->started = 1;

        if (len >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
            l += 3;
            len -= 3;
        }
    }

    if (len == 0) {

        /* a blank line dispatches the event, if it had data */

        if (!p->has_data) {
            return CHATON_OK;
        }

        if (p->ref) {
            ev = p->ref;
            n = p->ref_len;

        } else {

            /* an event of no bytes may have no buffer: never a NULL one */

            ev = p->data.data ? p->data.data : (const unsigned char *) "";
            n = p->data.len;
        }

        p->has_data = 0;
        p->ref = NULL;
        p->data.len = 0;

        return handler(data, ev, n);
    }

    if (len < 5 || memcmp(l, "data", 4) != 0 || (l[4] != ':')) {

        /* "data" without a colon carries an empty value; rare, but legal */

        if (len == 4 && memcmp(l, "data", 4) == 0) {
            v = l + 4;
            n = 0;
            goto data_line;
        }

        return CHATON_OK;
    }

    v = l + 5;
    n = len - 5;

    if (n && *v == ' ') {
        v++;
        n--;
    }

data_line:

    if (!p->has_data) {
        p->has_data = 1;

        if (n > p->max) {
            return CHATON_TOO_BIG;
        }

        if (in_place) {
            p->ref = v;
            p->ref_len = n;
            return CHATON_OK;
        }

        return chaton_buf_append(&p->data, v, n);
    }

    rc = chaton_sse_keep(p);
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_buf_append(&p->data, "\n", 1);
    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_buf_append(&p->data, v, n);
}


static int
chaton_sse_keep(chaton_sse_t *p)
{
    int  rc;

    if (p->ref == NULL) {
        return CHATON_OK;
    }

    rc = chaton_buf_append(&p->data, p->ref, p->ref_len);

    p->ref = NULL;

    return rc;
}
