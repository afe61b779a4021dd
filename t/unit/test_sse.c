/*
 * chaton_sse.h: the incremental SSE parser.
 *
 * A recorded-style ChatOn stream is fed whole, split at every byte offset,
 * byte by byte and at random (seeded) places; the events must be the same
 * every time.  Every piece is fed from its own heap copy that is scribbled
 * over and freed as soon as the feed returns, so a parser that kept a
 * pointer into the caller's bytes is caught (by the comparison, and by ASan
 * or valgrind when run under them).
 */

#include "unit.h"
#include "chaton_sse.h"
#include "stream.h"


/* ---- the recorder ------------------------------------------------------- */


#define REC_MAX  64

typedef struct {
    chaton_buf_t   bytes;
    size_t         off[REC_MAX];
    size_t         len[REC_MAX];
    size_t         n;
    size_t         stop_at;     /* 1-based event to return stop_rc on */
    int            stop_rc;
    int            calls;
} rec_t;


static void
rec_init(rec_t *r)
{
    memset(r, 0, sizeof(rec_t));
    chaton_buf_init(&r->bytes, &unit_alloc, 0);
}


static void
rec_reset(rec_t *r)
{
    r->bytes.len = 0;
    r->n = 0;
    r->calls = 0;
}


static int
rec_handler(void *data, const unsigned char *ev, size_t len)
{
    rec_t  *r = data;

    r->calls++;
    assert_true(r->n < REC_MAX);

    r->off[r->n] = r->bytes.len;
    r->len[r->n] = len;
    r->n++;

    assert_int_equal(chaton_buf_append(&r->bytes, ev, len), CHATON_OK);

    if (r->stop_at && r->n == r->stop_at) {
        return r->stop_rc;
    }

    return CHATON_OK;
}


static void
rec_expect(rec_t *r, const char **ev, size_t n, const char *what)
{
    size_t  i;

    if (r->n != n) {
        print_error("%s: %zu events, expected %zu\n", what, r->n, n);
        fail();
    }

    for (i = 0; i < n; i++) {
        if (r->len[i] != strlen(ev[i])
            || (r->len[i]
                && memcmp(r->bytes.data + r->off[i], ev[i], r->len[i]) != 0))
        {
            print_error("%s: event %zu is\n  [%.*s]\nexpected\n  [%s]\n",
                        what, i, (int) r->len[i],
                        r->bytes.data + r->off[i], ev[i]);
            fail();
        }
    }
}


/* frees what the parser holds (the core leaves that to the pool) */

static void
sse_release(chaton_sse_t *p)
{
    unit_pool_free(&unit_pool, p->line.data);
    unit_pool_free(&unit_pool, p->data.data);
    p->line.data = NULL;
    p->data.data = NULL;
}


/*
 * Feeds s cut at the given offsets (ascending), each piece from its own
 * heap copy that is scribbled over and freed right after the feed, then
 * calls finish.  Returns the first code that was not CHATON_OK.
 */

static int
feed_cuts(chaton_sse_t *p, const char *s, size_t len, const size_t *cuts,
    size_t ncuts, rec_t *r)
{
    int             rc;
    size_t          i, from, to;
    unsigned char  *piece;

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = i < ncuts ? cuts[i] : len;

        piece = malloc(to - from + 1);
        assert_non_null(piece);
        memcpy(piece, s + from, to - from);

        rc = chaton_sse_feed(p, piece, to - from, rec_handler, r);

        memset(piece, '#', to - from + 1);
        free(piece);

        if (rc != CHATON_OK) {
            return rc;
        }

        from = to;
    }

    return chaton_sse_finish(p, rec_handler, r);
}


static int
feed_whole(const char *s, size_t len, size_t max, rec_t *r)
{
    int           rc;
    chaton_sse_t  p;

    chaton_sse_init(&p, &unit_alloc, max);
    rc = feed_cuts(&p, s, len, NULL, 0, r);
    sse_release(&p);

    return rc;
}


/* ---- the realistic stream ------------------------------------------------ */


static void
test_sse_single_feed(void **state)
{
    rec_t  r;

    rec_init(&r);

    assert_int_equal(feed_whole(stream, STREAM_LEN, 65536, &r), CHATON_OK);
    rec_expect(&r, expected, NEXPECTED, "one feed");

    /* a handler that returns CHATON_DONE on [DONE] stops right there */
    rec_reset(&r);
    r.stop_at = NEXPECTED;
    r.stop_rc = CHATON_DONE;
    assert_int_equal(feed_whole(stream, STREAM_LEN, 65536, &r), CHATON_DONE);
    rec_expect(&r, expected, NEXPECTED, "one feed, stopped at [DONE]");
}


static void
test_sse_every_two_way_split(void **state)
{
    int           rc;
    size_t        cut;
    rec_t         r;
    chaton_sse_t  p;

    rec_init(&r);

    for (cut = 0; cut <= STREAM_LEN; cut++) {
        rec_reset(&r);

        chaton_sse_init(&p, &unit_alloc, 65536);
        rc = feed_cuts(&p, stream, STREAM_LEN, &cut, 1, &r);
        assert_false(chaton_sse_pending(&p));
        sse_release(&p);

        if (rc != CHATON_OK) {
            print_error("split at %zu: rc %d\n", cut, rc);
            fail();
        }

        rec_expect(&r, expected, NEXPECTED, "two feeds");
    }
}


static void
test_sse_byte_by_byte(void **state)
{
    size_t        i, cuts[STREAM_LEN];
    rec_t         r;
    chaton_sse_t  p;

    for (i = 0; i < STREAM_LEN; i++) {
        cuts[i] = i + 1;
    }

    rec_init(&r);

    /* with an allocator that frees, and with one that cannot (a pool) */

    chaton_sse_init(&p, &unit_alloc, 65536);
    assert_int_equal(feed_cuts(&p, stream, STREAM_LEN, cuts, STREAM_LEN - 1,
                               &r), CHATON_OK);
    rec_expect(&r, expected, NEXPECTED, "byte by byte");
    sse_release(&p);

    rec_reset(&r);
    chaton_sse_init(&p, &unit_nofree, 65536);
    assert_int_equal(feed_cuts(&p, stream, STREAM_LEN, cuts, STREAM_LEN - 1,
                               &r), CHATON_OK);
    rec_expect(&r, expected, NEXPECTED, "byte by byte, pool");
}


static int
cmp_size(const void *a, const void *b)
{
    size_t  x = *(const size_t *) a, y = *(const size_t *) b;

    return x < y ? -1 : x > y;
}


static void
test_sse_random_splits(void **state)
{
    int           iter;
    size_t        i, n, cuts[64];
    uint64_t      seed = 0x55e5eedull;
    rec_t         r;
    chaton_sse_t  p;

    rec_init(&r);

    for (iter = 0; iter < 3000; iter++) {
        n = 1 + unit_rand_below(&seed, iter < 1500 ? 6 : 64);

        for (i = 0; i < n; i++) {
            cuts[i] = unit_rand_below(&seed, STREAM_LEN + 1);
        }

        qsort(cuts, n, sizeof(size_t), cmp_size);

        rec_reset(&r);
        chaton_sse_init(&p, &unit_alloc, 65536);

        if (feed_cuts(&p, stream, STREAM_LEN, cuts, n, &r) != CHATON_OK) {
            print_error("random split #%d failed\n", iter);
            fail();
        }

        sse_release(&p);
        rec_expect(&r, expected, NEXPECTED, "random splits");
    }
}


/* empty feeds anywhere change nothing */

static void
test_sse_empty_feeds(void **state)
{
    size_t        i;
    rec_t         r;
    chaton_sse_t  p;

    rec_init(&r);
    chaton_sse_init(&p, &unit_alloc, 65536);

    for (i = 0; i < STREAM_LEN; i++) {
        assert_int_equal(chaton_sse_feed(&p, (const unsigned char *) "", 0,
                                         rec_handler, &r), CHATON_OK);
        assert_int_equal(chaton_sse_feed(&p,
                             (const unsigned char *) stream + i, 1,
                             rec_handler, &r), CHATON_OK);
    }

    assert_int_equal(chaton_sse_finish(&p, rec_handler, &r), CHATON_OK);
    rec_expect(&r, expected, NEXPECTED, "with empty feeds");
}


/* ---- limits --------------------------------------------------------------- */


/* every split of s gives rc and the events before it */

static void
expect_all_splits(const char *s, size_t max, int rc, const char **ev,
    size_t nev)
{
    int           got;
    size_t        cut;
    rec_t         r;
    chaton_sse_t  p;

    rec_init(&r);

    for (cut = 0; cut <= strlen(s); cut++) {
        rec_reset(&r);
        chaton_sse_init(&p, &unit_alloc, max);
        got = feed_cuts(&p, s, strlen(s), &cut, 1, &r);
        sse_release(&p);

        if (got != rc) {
            print_error("split at %zu of [%s]: rc %d, expected %d\n", cut, s,
                        got, rc);
            fail();
        }

        rec_expect(&r, ev, nev, "limits");
    }
}


static void
test_sse_max_event(void **state)
{
    /* 32 bytes of data is the most accepted */

    static const char  *ok[] = { "12345678901234567890123456789012" };
    static const char  *first[] = { "first" };
    static const char  *multi[] = { "123456789012345\n1234567890123456" };
    static const char  *three[] = { "1234567890\n1234567890\n1234567890" };

    expect_all_splits("data: 12345678901234567890123456789012\n\n", 32,
                      CHATON_OK, ok, 1);

    expect_all_splits("data: first\n\n"
                      "data: 123456789012345678901234567890123\n\n", 32,
                      CHATON_TOO_BIG, first, 1);

    /* without the space after the colon the value is one byte longer */
    expect_all_splits("data:123456789012345678901234567890123\n\n", 32,
                      CHATON_TOO_BIG, NULL, 0);

    /* several data lines count together, with their joining newlines */

    expect_all_splits("data: 123456789012345\ndata: 1234567890123456\n\n", 32,
                      CHATON_OK, multi, 1);
    expect_all_splits("data: 1234567890123456\ndata: 1234567890123456\n\n",
                      32, CHATON_TOO_BIG, NULL, 0);
    expect_all_splits("data: 1234567890\ndata: 1234567890\ndata: 1234567890"
                      "\n\n", 32, CHATON_OK, three, 1);
    expect_all_splits("data: 1234567890\ndata: 1234567890\ndata: 12345678901"
                      "\n\n", 32, CHATON_TOO_BIG, NULL, 0);
}


/* a line that never ends does not grow memory without bound */

static void
test_sse_unterminated_line_bounded(void **state)
{
    int           rc;
    size_t        i;
    rec_t         r;
    chaton_sse_t  p;
    char          chunk[100];

    memset(chunk, 'a', sizeof(chunk));

    rec_init(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);

    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *) "data: ", 6,
                                     rec_handler, &r), CHATON_OK);
    rc = CHATON_OK;

    for (i = 0; i < 1000 && rc == CHATON_OK; i++) {
        rc = chaton_sse_feed(&p, (const unsigned char *) chunk,
                             sizeof(chunk), rec_handler, &r);
    }

    assert_int_equal(rc, CHATON_TOO_BIG);
    assert_true(i * sizeof(chunk) <= 1024 + 16 + sizeof(chunk));
    assert_true(p.line.cap <= 1024 + 16);
    assert_int_equal(r.calls, 0);
}


/*
 * A comment (or "event:"/"id:") line longer than the event limit: whether
 * the stream fails must not depend on where the network split it.
 */

static void
test_sse_long_comment_split_independent(void **state)
{
    int           whole, rc;
    size_t        cut, len;
    rec_t         r;
    chaton_sse_t  p;
    char          s[512];

    len = (size_t) snprintf(s, sizeof(s), ": %0200d\ndata: after\n\n", 7);

    rec_init(&r);
    whole = feed_whole(s, len, 64, &r);

    for (cut = 0; cut <= len; cut++) {
        rec_reset(&r);
        chaton_sse_init(&p, &unit_alloc, 64);
        rc = feed_cuts(&p, s, len, &cut, 1, &r);
        sse_release(&p);

        if (rc != whole) {
            print_error("a 202-byte comment line with a 64-byte event limit: "
                        "one feed gives %d, split at %zu gives %d\n",
                        whole, cut, rc);
            fail();
        }
    }
}


/* ---- finish ----------------------------------------------------------- */


static void
test_sse_finish(void **state)
{
    rec_t         r;
    chaton_sse_t  p;

    static const char  *one[] = { "{\"a\":1}" };
    static const char  *done[] = { "[DONE]" };
    static const char  *two[] = { "x", "y\nz" };

    rec_init(&r);

    /* the last event lacks its blank line */
    chaton_sse_init(&p, &unit_alloc, 1024);
    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *)
                                     "data: {\"a\":1}\n", 14, rec_handler,
                                     &r), CHATON_OK);
    assert_int_equal(r.n, 0);
    assert_true(chaton_sse_pending(&p));
    assert_int_equal(chaton_sse_finish(&p, rec_handler, &r), CHATON_OK);
    rec_expect(&r, one, 1, "finish");
    assert_false(chaton_sse_pending(&p));

    /* ...and even its end of line */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *)
                                     "data: [DONE]", 12, rec_handler, &r),
                     CHATON_OK);
    assert_true(chaton_sse_pending(&p));
    assert_int_equal(chaton_sse_finish(&p, rec_handler, &r), CHATON_OK);
    rec_expect(&r, done, 1, "finish without EOL");

    /* a multi-line last event, fed in pieces */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *)
                                     "data: x\n\ndata: y\r", 17,
                                     rec_handler, &r), CHATON_OK);
    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *)
                                     "\ndata: z", 8, rec_handler, &r),
                     CHATON_OK);
    assert_int_equal(chaton_sse_finish(&p, rec_handler, &r), CHATON_OK);
    rec_expect(&r, two, 2, "finish multi-line");

    /* nothing pending: finish delivers nothing */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    assert_false(chaton_sse_pending(&p));
    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *)
                                     "data: x\n\n: bye\n", 15, rec_handler,
                                     &r), CHATON_OK);
    assert_int_equal(r.n, 1);
    assert_false(chaton_sse_pending(&p));
    assert_int_equal(chaton_sse_finish(&p, rec_handler, &r), CHATON_OK);
    assert_int_equal(r.n, 1);

    /* a comment or event line left unfinished is no event */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *)
                                     "event: x", 8, rec_handler, &r),
                     CHATON_OK);
    assert_int_equal(chaton_sse_finish(&p, rec_handler, &r), CHATON_OK);
    assert_int_equal(r.n, 0);

    /* finish hands back the handler's code */
    rec_reset(&r);
    r.stop_at = 1;
    r.stop_rc = CHATON_DONE;
    chaton_sse_init(&p, &unit_alloc, 1024);
    assert_int_equal(chaton_sse_feed(&p, (const unsigned char *)
                                     "data: [DONE]", 12, rec_handler, &r),
                     CHATON_OK);
    assert_int_equal(chaton_sse_finish(&p, rec_handler, &r), CHATON_DONE);
    assert_int_equal(r.n, 1);
}


/* ---- the handler's code stops the feed ------------------------------------ */


static void
test_sse_handler_stops(void **state)
{
    int           rc;
    size_t        cut, stop;
    rec_t         r;
    chaton_sse_t  p;

    static const int  codes[] = { CHATON_DONE, CHATON_BAD, CHATON_ERROR,
                                  CHATON_TOO_BIG, 42 };

    rec_init(&r);

    for (stop = 1; stop <= NEXPECTED; stop++) {

        /* in one feed, and with the stream split anywhere */

        for (cut = 0; cut <= STREAM_LEN; cut += 7) {
            rec_reset(&r);
            r.stop_at = stop;
            r.stop_rc = codes[stop % 5];

            chaton_sse_init(&p, &unit_alloc, 65536);
            rc = feed_cuts(&p, stream, STREAM_LEN, &cut, 1, &r);
            sse_release(&p);

            assert_int_equal(rc, codes[stop % 5]);

            /* no event after the one that stopped it */
            assert_int_equal(r.calls, stop);
            rec_expect(&r, expected, stop, "stopped");
        }
    }
}


/* ---- nothing points into the caller's buffer after a feed --------------- */


static void
test_sse_in_place_then_overwritten(void **state)
{
    rec_t         r;
    chaton_sse_t  p;
    char          buf[64];

    static const char  *hello[] = { "hello" };
    static const char  *two[] = { "first\nsecond" };
    static const char  *both[] = { "in place", "next" };

    rec_init(&r);

    /* a whole data line in one feed, its blank line in the next */
    chaton_sse_init(&p, &unit_alloc, 1024);
    strcpy(buf, "data: hello\n");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, strlen(buf),
                                     rec_handler, &r), CHATON_OK);
    memset(buf, 'X', sizeof(buf));
    strcpy(buf, "\n");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, 1,
                                     rec_handler, &r), CHATON_OK);
    rec_expect(&r, hello, 1, "in place, then overwritten");
    sse_release(&p);

    /* the same buffer reused for the rest of the event */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    strcpy(buf, "data: first\n");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, strlen(buf),
                                     rec_handler, &r), CHATON_OK);
    strcpy(buf, "data: second\n\n");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, strlen(buf),
                                     rec_handler, &r), CHATON_OK);
    rec_expect(&r, two, 1, "two lines, one buffer");
    sse_release(&p);

    /* half an event: a partial line kept, the buffer scribbled */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    strcpy(buf, "data: hel");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, strlen(buf),
                                     rec_handler, &r), CHATON_OK);
    memset(buf, 0, sizeof(buf));
    strcpy(buf, "lo\n\n");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, strlen(buf),
                                     rec_handler, &r), CHATON_OK);
    rec_expect(&r, hello, 1, "half a line");
    sse_release(&p);

    /* an event wholly in place, then a line ended by a CR at the end */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    strcpy(buf, "data: in place\n\ndata: next\r");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, strlen(buf),
                                     rec_handler, &r), CHATON_OK);
    assert_int_equal(r.n, 1);
    memset(buf, 'Z', sizeof(buf));
    strcpy(buf, "\n\r\n");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, strlen(buf),
                                     rec_handler, &r), CHATON_OK);
    rec_expect(&r, both, 2, "in place, then CR");
    sse_release(&p);
}


/* feeds s from buf, where it is copied first (and may be scribbled on) */

static void
feed_copy(chaton_sse_t *p, char *buf, const char *s, rec_t *r)
{
    strcpy(buf, s);
    assert_int_equal(chaton_sse_feed(p, (unsigned char *) buf, strlen(buf),
                                     rec_handler, r), CHATON_OK);
}


/*
 * A line the network split is read in place, in the line buffer that held
 * it: the event's data is copied only when it must outlive that buffer
 * (another line held before the event's end).  The line's first room
 * holds a common ChatOn delta, so that it does not grow later.
 */

static void
test_sse_held_line_in_place(void **state)
{
    rec_t         r;
    size_t        cap;
    chaton_sse_t  p;
    char          buf[512];

    static const char  *one[] = { "abcd" };
    static const char  *joined[] = { "abcd\nefgh" };

    rec_init(&r);

    /* the held line completed, its blank line in the same feed */
    chaton_sse_init(&p, &unit_alloc, 1024);
    feed_copy(&p, buf, "data: ab", &r);
    feed_copy(&p, buf, "cd\n\n", &r);
    rec_expect(&r, one, 1, "held line, in place");
    assert_int_equal(p.data.cap, 0);
    sse_release(&p);

    /* the held line completed, its blank line in the next feed */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    feed_copy(&p, buf, "data: ab", &r);
    feed_copy(&p, buf, "cd\n", &r);
    feed_copy(&p, buf, "\n", &r);
    rec_expect(&r, one, 1, "held line, blank line later");
    sse_release(&p);

    /* the held line's data, then another line held: the data is kept */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    feed_copy(&p, buf, "data: ab", &r);
    feed_copy(&p, buf, "cd\ndata: ef", &r);
    memset(buf, 'X', sizeof(buf));
    feed_copy(&p, buf, "gh\n\n", &r);
    rec_expect(&r, joined, 1, "held line, then another held");
    sse_release(&p);

    /* a delta's line (about 260 bytes) split: held without growing */
    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 4096);
    feed_copy(&p, buf, "data: aaaa", &r);
    cap = p.line.cap;
    assert_true(cap >= 300);
    memset(buf, 'a', 280);
    strcpy(buf + 280, "\n\n");
    assert_int_equal(chaton_sse_feed(&p, (unsigned char *) buf, 282,
                                     rec_handler, &r), CHATON_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.len[0], 284);
    assert_int_equal(p.line.cap, cap);
    sse_release(&p);
}

/* ---- line ends and fields -------------------------------------------------- */


static void
expect_events(const char *s, const char **ev, size_t n)
{
    size_t        i, cuts[512];
    rec_t         r;
    chaton_sse_t  p;

    rec_init(&r);
    assert_int_equal(feed_whole(s, strlen(s), 1024, &r), CHATON_OK);
    rec_expect(&r, ev, n, s);

    expect_all_splits(s, 1024, CHATON_OK, ev, n);

    assert_true(strlen(s) < 512);

    for (i = 0; i + 1 < strlen(s); i++) {
        cuts[i] = i + 1;
    }

    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 1024);
    assert_int_equal(feed_cuts(&p, s, strlen(s), cuts,
                               strlen(s) ? strlen(s) - 1 : 0, &r), CHATON_OK);
    sse_release(&p);
    rec_expect(&r, ev, n, s);
}


static void
test_sse_line_ends(void **state)
{
    static const char  *ab[] = { "a", "b" };
    static const char  *a_nl_b[] = { "a\nb" };
    static const char  *a[] = { "a" };

    /* each kind of end of line, and mixed */
    expect_events("data: a\n\ndata: b\n\n", ab, 2);
    expect_events("data: a\r\n\r\ndata: b\r\n\r\n", ab, 2);
    expect_events("data: a\r\rdata: b\r\r", ab, 2);
    expect_events("data: a\r\n\ndata: b\n\r\n", ab, 2);
    expect_events("data: a\r\r\ndata: b\n\r", ab, 2);

    /* CRLF is one line end, not two: no event in between */
    expect_events("data: a\r\ndata: b\r\n\r\n", a_nl_b, 1);
    expect_events("data: a\rdata: b\r\r", a_nl_b, 1);

    /* blank lines without data dispatch nothing */
    expect_events("\n\r\n\r\n\ndata: a\n\n\n\n\r\r", a, 1);
}


static void
test_sse_fields(void **state)
{
    static const char  *x[] = { "x" };
    static const char  *sp_x[] = { " x" };
    static const char  *empty[] = { "" };
    static const char  *empty2[] = { "\n" };
    static const char  *a_b[] = { "a\nb" };
    static const char  *colon[] = { "a: b: c" };
    static const char  *utf8[] = { E_ACUTE ZHONGWEN EMOJI LS };

    expect_events("data:x\n\n", x, 1);
    expect_events("data: x\n\n", x, 1);
    expect_events("data:  x\n\n", sp_x, 1);           /* one space is eaten */
    expect_events("data: a: b: c\n\n", colon, 1);

    /* an empty value is still data */
    expect_events("data:\n\n", empty, 1);
    expect_events("data\n\n", empty, 1);
    expect_events("data\ndata\n\n", empty2, 1);

    /* other fields and comments are ignored, also between data lines */
    expect_events("event: x\nid: 1\nretry: 10\n: c\nfoo: bar\n\n", NULL, 0);
    expect_events("data: a\n: comment\nevent: e\ndata: b\n\n", a_b, 1);

    /* field names are exact */
    expect_events("Data: no\n\ndata : no\n\ndatax: no\n\ndata: x\n\n", x, 1);
    expect_events(" data: no\n\ndata: x\n\n", x, 1);

    /* bytes pass through untouched */
    expect_events("data: " E_ACUTE ZHONGWEN EMOJI LS "\n\n", utf8, 1);
}


/* ---- lean: a parser on an allocator that frees (a stream's) ------------ */


/* the parser's blocks: those live but the recorder's */

static size_t
held_blocks(size_t live, rec_t *r)
{
    return unit_pool.live - live - (r->bytes.data != NULL);
}


/* the recorded stream cut every way, lean: the same events, nothing kept */

static void
test_sse_lean_splits(void **state)
{
    int           iter;
    size_t        i, n, cut, live, cuts[STREAM_LEN];
    uint64_t      seed = 0x1ea4ull;
    rec_t         r;
    chaton_sse_t  p;

    rec_init(&r);
    live = unit_pool.live;

    for (cut = 0; cut <= STREAM_LEN; cut++) {
        rec_reset(&r);
        chaton_sse_init(&p, &unit_alloc, 65536);
        p.lean = 1;

        assert_int_equal(feed_cuts(&p, stream, STREAM_LEN, &cut, 1, &r),
                         CHATON_OK);
        rec_expect(&r, expected, NEXPECTED, "lean, two feeds");

        /* the stream ended: the parser holds no memory at all */
        assert_null(p.line.data);
        assert_null(p.data.data);
        assert_int_equal(held_blocks(live, &r), 0);
    }

    for (i = 0; i < STREAM_LEN; i++) {
        cuts[i] = i + 1;
    }

    rec_reset(&r);
    chaton_sse_init(&p, &unit_alloc, 65536);
    p.lean = 1;
    assert_int_equal(feed_cuts(&p, stream, STREAM_LEN, cuts, STREAM_LEN - 1,
                               &r), CHATON_OK);
    rec_expect(&r, expected, NEXPECTED, "lean, byte by byte");
    assert_int_equal(held_blocks(live, &r), 0);

    for (iter = 0; iter < 1000; iter++) {
        n = 1 + unit_rand_below(&seed, 32);

        for (i = 0; i < n; i++) {
            cuts[i] = unit_rand_below(&seed, STREAM_LEN + 1);
        }

        qsort(cuts, n, sizeof(size_t), cmp_size);

        rec_reset(&r);
        chaton_sse_init(&p, &unit_alloc, 65536);
        p.lean = 1;
        assert_int_equal(feed_cuts(&p, stream, STREAM_LEN, cuts, n, &r),
                         CHATON_OK);
        rec_expect(&r, expected, NEXPECTED, "lean, random splits");
        assert_int_equal(held_blocks(live, &r), 0);
    }
}


static void
feed_str(chaton_sse_t *p, const char *s, rec_t *r)
{
    assert_int_equal(chaton_sse_feed(p, (const unsigned char *) s,
                                     strlen(s), rec_handler, r), CHATON_OK);
}


/*
 * Between events a lean parser holds nothing; a line split between reads
 * takes its own size (in steps of 64 bytes), and an event's data kept for
 * its blank line is given back once the event is out.
 */

static void
test_sse_lean_holds_only_what_is_split(void **state)
{
    size_t              live;
    rec_t               r;
    chaton_sse_t        p;
    static const char  *ab[] = { "{\"a\":1}", "{\"b\":2}", "{\"c\":3}" };

    rec_init(&r);
    live = unit_pool.live;

    chaton_sse_init(&p, &unit_alloc, 1024);
    p.lean = 1;

    feed_str(&p, "data: {\"a\":1}\n\n", &r);
    assert_null(p.line.data);
    assert_null(p.data.data);
    assert_int_equal(held_blocks(live, &r), 0);

    /* a line split: its piece, at its size in steps of 64 bytes */
    feed_str(&p, "data: {\"b\"", &r);
    assert_int_equal(p.line.len, 10);
    assert_int_equal(p.line.cap, 64);
    assert_int_equal(held_blocks(live, &r), 1);

    /* the line ends, its blank line does not: the data alone is kept */
    feed_str(&p, ":2}\n", &r);
    assert_null(p.line.data);
    assert_int_equal(p.data.len, 7);
    assert_int_equal(held_blocks(live, &r), 1);

    /* the event is out: nothing is held again */
    feed_str(&p, "\ndata: {\"c\":3}\n\n", &r);
    assert_null(p.line.data);
    assert_null(p.data.data);
    assert_int_equal(held_blocks(live, &r), 0);

    rec_expect(&r, ab, 3, "lean");

    /* what a stream cut short held is given back by chaton_sse_free() */
    feed_str(&p, "data: {\"d\":", &r);
    assert_int_equal(held_blocks(live, &r), 1);
    chaton_sse_free(&p);
    assert_null(p.line.data);
    assert_int_equal(held_blocks(live, &r), 0);
}


/* a lean line is bounded like any: one that never ends is refused */

static void
test_sse_lean_line_bounded(void **state)
{
    int           rc;
    size_t        i, live;
    rec_t         r;
    chaton_sse_t  p;

    rec_init(&r);
    live = unit_pool.live;

    chaton_sse_init(&p, &unit_alloc, 64);
    p.lean = 1;

    feed_str(&p, "data: ", &r);

    for (i = 0, rc = CHATON_OK; i < 100 && rc == CHATON_OK; i++) {
        rc = chaton_sse_feed(&p, (const unsigned char *) "xxxxxxxx", 8,
                             rec_handler, &r);
        assert_true(p.line.cap <= p.line.max);
    }

    assert_int_equal(rc, CHATON_TOO_BIG);
    assert_int_equal(r.n, 0);

    chaton_sse_free(&p);
    assert_int_equal(held_blocks(live, &r), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_sse_single_feed),
        utest(test_sse_every_two_way_split),
        utest(test_sse_byte_by_byte),
        utest(test_sse_random_splits),
        utest(test_sse_empty_feeds),
        utest(test_sse_max_event),
        utest(test_sse_unterminated_line_bounded),
        utest(test_sse_long_comment_split_independent),
        utest(test_sse_finish),
        utest(test_sse_handler_stops),
        utest(test_sse_in_place_then_overwritten),
        utest(test_sse_line_ends),
        utest(test_sse_fields),
        utest(test_sse_held_line_in_place),
        utest(test_sse_lean_splits),
        utest(test_sse_lean_holds_only_what_is_split),
        utest(test_sse_lean_line_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
