/*
 * chaton_spc.h: the spc.unk placeholder scanner.
 *
 * The scanner's output is compared, feed by feed, with an independent
 * oracle written as a character state machine: after every feed exactly the
 * text that cannot begin a placeholder any more has been released, the
 * placeholders found are the oracle's, and only a possible start is held.
 */

#include "unit.h"
#include "chaton_spc.h"


#define PH   "![Image](https://spc.unk/images/abc.png)"
#define MAX_EV  256


/* ---- a recorder of the callbacks, adjacent text pieces joined ------------- */


typedef struct {
    size_t         n;
    int            path[MAX_EV];
    chaton_buf_t   s[MAX_EV];
    size_t         calls;
    size_t         fail_at;         /* the call that fails (0: none) */
} rec_t;


static void
rec_init(rec_t *r)
{
    memset(r, 0, sizeof(rec_t));
}


static void
rec_free(rec_t *r)
{
    size_t  i;

    for (i = 0; i < r->n; i++) {
        unit_pool_free(&unit_pool, r->s[i].data);
    }

    r->n = 0;
}


static void
rec_add(rec_t *r, int path, const unsigned char *s, size_t len)
{
    if (!path && len == 0) {
        return;
    }

    if (!path && r->n && !r->path[r->n - 1]) {
        assert_int_equal(chaton_buf_append(&r->s[r->n - 1], s, len),
                         CHATON_OK);
        return;
    }

    assert_true(r->n < MAX_EV);
    r->path[r->n] = path;
    chaton_buf_init(&r->s[r->n], &unit_alloc, 0);
    assert_int_equal(chaton_buf_append(&r->s[r->n], s, len), CHATON_OK);
    r->n++;
}


static int
record(void *data, int path, const unsigned char *s, size_t len)
{
    rec_t  *r = data;

    r->calls++;

    /* never an empty piece, never a NULL pointer */
    assert_non_null(s);
    assert_true(len > 0);
    assert_true(path == 0 || path == 1);

    if (r->fail_at && r->calls == r->fail_at) {
        return CHATON_ERROR;
    }

    rec_add(r, path, s, len);

    return CHATON_OK;
}


/* a readable rendering: T"text" P"path" */

static char *
rec_str(const rec_t *r)
{
    size_t        i;
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);

    for (i = 0; i < r->n; i++) {
        assert_int_equal(chaton_buf_append_str(&b, r->path[i] ? " P\""
                                                              : " T\""),
                         CHATON_OK);
        assert_int_equal(chaton_buf_append(&b, r->s[i].data, r->s[i].len),
                         CHATON_OK);
        assert_int_equal(chaton_buf_append_str(&b, "\""), CHATON_OK);
    }

    return unit_strn(b.data, b.len);
}


static int
rec_equal(const rec_t *a, const rec_t *b)
{
    size_t  i;

    if (a->n != b->n) {
        return 0;
    }

    for (i = 0; i < a->n; i++) {
        if (a->path[i] != b->path[i] || a->s[i].len != b->s[i].len
            || memcmp(a->s[i].data, b->s[i].data, a->s[i].len) != 0)
        {
            return 0;
        }
    }

    return 1;
}


/* the expected events, given as (path, NUL-terminated string) pairs */

static void
rec_expect(const rec_t *r, size_t n, ...)
{
    size_t       i;
    rec_t        e;
    va_list      args;
    int          path;
    const char  *s;

    rec_init(&e);
    va_start(args, n);

    for (i = 0; i < n; i++) {
        path = va_arg(args, int);
        s = va_arg(args, const char *);
        rec_add(&e, path, (const unsigned char *) s, strlen(s));
    }

    va_end(args);

    if (!rec_equal(r, &e)) {
        print_error("released:%s\nexpected:%s\n", rec_str(r), rec_str(&e));
        fail();
    }

    rec_free(&e);
}

#define T(s)  0, (s)
#define P(s)  1, (s)


/* ---- the oracle ----------------------------------------------------------- */


#define O_NO     0
#define O_MORE   1
#define O_WHOLE  2


/*
 * ![alt](https://spc.unk/path): alt at most CHATON_SPC_ALT_MAX bytes without
 * "]", "[" or a line end; path 1 to CHATON_SPC_PATH_MAX bytes, no white
 * space or control character, no "(", ended by ")".
 */

static int
oracle_match(const unsigned char *s, size_t n, size_t *len, size_t *poff,
    size_t *plen)
{
    size_t         i, alt, k, path;
    unsigned char  c;

    static const char  url[] = "https://spc.unk/";

    enum { BANG, OPEN, ALT, PAREN, URL, PATH }  st;

    st = BANG;
    alt = 0;
    k = 0;
    path = 0;

    for (i = 0; i < n; i++) {
        c = s[i];

        switch (st) {

        case BANG:
            if (c != '!') {
                return O_NO;
            }
            st = OPEN;
            break;

        case OPEN:
            if (c != '[') {
                return O_NO;
            }
            st = ALT;
            break;

        case ALT:
            if (c == ']') {
                st = PAREN;
                break;
            }
            if (c == '\n' || c == '[' || ++alt > CHATON_SPC_ALT_MAX) {
                return O_NO;
            }
            break;

        case PAREN:
            if (c != '(') {
                return O_NO;
            }
            st = URL;
            break;

        case URL:
            if (c != (unsigned char) url[k]) {
                return O_NO;
            }
            if (++k == sizeof(url) - 1) {
                st = PATH;
                *poff = i + 1;
            }
            break;

        case PATH:
            if (c == ')') {
                if (path == 0) {
                    return O_NO;
                }
                *plen = path;
                *len = i + 1;
                return O_WHOLE;
            }
            if (c <= ' ' || c == '(' || ++path > CHATON_SPC_PATH_MAX) {
                return O_NO;
            }
            break;
        }
    }

    return O_MORE;
}


/*
 * What must have been released after the first n bytes were fed (last: and
 * flushed), and how many bytes must be held.
 */

static size_t
oracle(rec_t *r, const unsigned char *s, size_t n, int last)
{
    int     m;
    size_t  i, start, len, poff, plen, held;

    rec_init(r);

    i = 0;
    start = 0;
    held = 0;

    while (i < n) {
        if (s[i] != '!') {
            i++;
            continue;
        }

        m = oracle_match(s + i, n - i, &len, &poff, &plen);

        if (m == O_WHOLE) {
            rec_add(r, 0, s + start, i - start);
            rec_add(r, 1, s + i + poff, plen);
            i += len;
            start = i;
            continue;
        }

        if (m == O_MORE && !last) {
            held = n - i;
            n = i;
            break;
        }

        i++;
    }

    rec_add(r, 0, s + start, n - start);

    return held;
}


/* ---- the driver: feeds pieces, checks after every one ---------------------- */


static size_t  max_held;


/*
 * Feeds text cut at cuts[0] < cuts[1] < ... (each a copy of exactly its
 * bytes, freed right after the feed: the scanner keeps no pointer to it),
 * then flushes.  After each feed the released events and the held length
 * must be the oracle's; r gets the final events.
 */

static void
run(rec_t *r, const unsigned char *text, size_t len, const size_t *cuts,
    size_t ncuts)
{
    size_t          i, from, to, held;
    rec_t           o;
    chaton_spc_t    s;
    unsigned char  *piece;

    rec_init(r);
    chaton_spc_init(&s, &unit_alloc);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;
        assert_true(to >= from && to <= len);

        piece = unit_mem(to - from);
        memcpy(piece, text + from, to - from);

        assert_int_equal(chaton_spc_feed(&s, piece, to - from, record, r),
                         CHATON_OK);

        unit_pool_free(&unit_pool, piece);

        held = oracle(&o, text, to, 0);

        if (!rec_equal(r, &o) || s.held.len != held) {
            print_error("after %zu of %zu bytes of [%.*s]:\n"
                        "released:%s (held %zu)\n"
                        "expected:%s (held %zu)\n",
                        to, len, (int) len, text, rec_str(r), s.held.len,
                        rec_str(&o), held);
            fail();
        }

        rec_free(&o);

        assert_true(s.held.len <= CHATON_SPC_MAX);

        if (s.held.len > max_held) {
            max_held = s.held.len;
        }

        from = to;
    }

    assert_int_equal(chaton_spc_flush(&s, record, r), CHATON_OK);
    assert_int_equal(s.held.len, 0);

    (void) oracle(&o, text, len, 1);

    if (!rec_equal(r, &o)) {
        print_error("flushed [%.*s]:\nreleased:%s\nexpected:%s\n",
                    (int) len, text, rec_str(r), rec_str(&o));
        fail();
    }

    rec_free(&o);

    /* a flush after the flush releases nothing more */
    i = r->calls;
    assert_int_equal(chaton_spc_flush(&s, record, r), CHATON_OK);
    assert_int_equal(r->calls, i);

    unit_pool_free(&unit_pool, s.held.data);
}


/*
 * The same text whole, cut at every offset (two feeds) and byte by byte:
 * the same events each time, and the expected ones if given.
 */

static void
every_split(const char *text, const rec_t *expect)
{
    size_t                i, len, *cuts;
    rec_t                 whole, r;
    const unsigned char  *t;

    t = (const unsigned char *) text;
    len = strlen(text);

    run(&whole, t, len, NULL, 0);

    if (expect && !rec_equal(&whole, expect)) {
        print_error("[%s]:\nreleased:%s\nexpected:%s\n", text,
                    rec_str(&whole), rec_str(expect));
        fail();
    }

    for (i = 0; i <= len; i++) {
        run(&r, t, len, &i, 1);

        if (!rec_equal(&r, &whole)) {
            print_error("[%s] cut at %zu:\nreleased:%s\nwhole:%s\n", text, i,
                        rec_str(&r), rec_str(&whole));
            fail();
        }

        rec_free(&r);
    }

    cuts = unit_mem((len + 1) * sizeof(size_t));

    for (i = 0; i < len; i++) {
        cuts[i] = i + 1;
    }

    run(&r, t, len, cuts, len ? len - 1 : 0);

    if (!rec_equal(&r, &whole)) {
        print_error("[%s] byte by byte:\nreleased:%s\nwhole:%s\n", text,
                    rec_str(&r), rec_str(&whole));
        fail();
    }

    rec_free(&r);
    rec_free(&whole);
    unit_pool_free(&unit_pool, cuts);
}


/* ---- the placeholder, in text, however it is cut --------------------------- */


static void
test_spc_placeholder_every_split(void **state)
{
    rec_t  e;

    rec_init(&e);
    rec_add(&e, 0, (const unsigned char *) "Hello ", 6);
    rec_add(&e, 1, (const unsigned char *) "images/abc.png", 14);
    rec_add(&e, 0, (const unsigned char *) " world", 6);

    every_split("Hello " PH " world", &e);
    rec_free(&e);

    /* alone, at the start, at the end */

    rec_init(&e);
    rec_add(&e, 1, (const unsigned char *) "images/abc.png", 14);
    every_split(PH, &e);
    rec_free(&e);

    rec_init(&e);
    rec_add(&e, 1, (const unsigned char *) "images/abc.png", 14);
    rec_add(&e, 0, (const unsigned char *) "!", 1);
    every_split(PH "!", &e);
    rec_free(&e);

    rec_init(&e);
    rec_add(&e, 0, (const unsigned char *) "Wow! ", 5);
    rec_add(&e, 1, (const unsigned char *) "images/abc.png", 14);
    every_split("Wow! " PH, &e);
    rec_free(&e);
}


/* the awkward cuts of a stream, fed one by one */

static void
test_spc_stream_pieces(void **state)
{
    rec_t         r;
    chaton_spc_t  s;

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);

    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "Here ", 5,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Here "));

    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "![Ima", 5,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Here "));
    assert_int_equal(s.held.len, 5);

    assert_int_equal(chaton_spc_feed(&s,
                         (const unsigned char *) "ge](https://spc.", 16,
                         record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Here "));

    assert_int_equal(chaton_spc_feed(&s,
                                     (const unsigned char *) "unk/images/ab",
                                     13, record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Here "));

    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "c.png)", 6,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 2, T("Here "), P("images/abc.png"));
    assert_int_equal(s.held.len, 0);

    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) " more", 5,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 3, T("Here "), P("images/abc.png"), T(" more"));

    assert_int_equal(chaton_spc_flush(&s, record, &r), CHATON_OK);
    rec_expect(&r, 3, T("Here "), P("images/abc.png"), T(" more"));

    rec_free(&r);
}


/* ---- released as early as possible ----------------------------------------- */


static void
test_spc_release_early(void **state)
{
    rec_t         r;
    chaton_spc_t  s;

    /* only a possible start is held; another link is text at once */

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);

    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "Hello ![Ima",
                                     11, record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Hello "));
    assert_int_equal(s.held.len, 5);

    assert_int_equal(chaton_spc_feed(&s,
                                     (const unsigned char *) "ge](http://x)",
                                     13, record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Hello ![Image](http://x)"));
    assert_int_equal(s.held.len, 0);
    rec_free(&r);

    /* "!" and not "[": released at once */

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "Wow! Such",
                                     9, record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Wow! Such"));
    assert_int_equal(s.held.len, 0);

    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "!x!!y", 5,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Wow! Such!x!!y"));
    assert_int_equal(s.held.len, 0);
    rec_free(&r);

    /* a lone "!" at the end waits for the next feed */

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "Hi!", 3,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Hi"));
    assert_int_equal(s.held.len, 1);

    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "!", 1,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Hi!"));
    assert_int_equal(s.held.len, 1);

    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) " ok", 3,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("Hi!! ok"));
    assert_int_equal(s.held.len, 0);
    rec_free(&r);

    /* ... or for the flush */

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "end!", 4,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("end"));
    assert_int_equal(chaton_spc_flush(&s, record, &r), CHATON_OK);
    rec_expect(&r, 1, T("end!"));
    assert_int_equal(s.held.len, 0);
    rec_free(&r);

    /* "![" and the alt text are held; a "]" not followed by "(" frees it */

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "a ![b]", 6,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("a "));
    assert_int_equal(s.held.len, 4);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) " c", 2,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("a ![b] c"));
    assert_int_equal(s.held.len, 0);
    rec_free(&r);

    /* held while the URL still matches, released when it stops matching */

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s,
                         (const unsigned char *) "![x](https://spc.un", 19,
                         record, &r), CHATON_OK);
    assert_int_equal(r.n, 0);
    assert_int_equal(s.held.len, 19);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "known/",
                                     6, record, &r), CHATON_OK);
    rec_expect(&r, 1, T("![x](https://spc.unknown/"));
    assert_int_equal(s.held.len, 0);
    rec_free(&r);

    /* a later possible start inside held text is found */

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "![a !", 5,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 0);
    assert_int_equal(s.held.len, 5);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "[b", 2,
                                     record, &r), CHATON_OK);
    rec_expect(&r, 1, T("![a "));
    assert_int_equal(s.held.len, 3);
    assert_int_equal(chaton_spc_feed(&s,
                         (const unsigned char *) "](https://spc.unk/p) c", 22,
                         record, &r), CHATON_OK);
    rec_expect(&r, 3, T("![a "), P("p"), T(" c"));
    assert_int_equal(s.held.len, 0);
    rec_free(&r);
}


/* text without "!" is handed on as it is: the caller's bytes, uncopied */

static const unsigned char  *seen_ptr;
static size_t                seen_len;

static int
same(void *data, int path, const unsigned char *s, size_t len)
{
    assert_int_equal(path, 0);
    seen_ptr = s;
    seen_len = len;

    return CHATON_OK;
}


static void
test_spc_no_bang_uncopied(void **state)
{
    unit_pool_t           p;
    chaton_alloc_t        a;
    chaton_spc_t          s;
    const unsigned char  *text;

    unit_pool_init(&p);
    p.limit = 0;
    a = unit_allocator(&p, 1);

    chaton_spc_init(&s, &a);

    text = (const unsigned char *) "no picture [here](https://spc.unk/x)";

    seen_ptr = NULL;
    assert_int_equal(chaton_spc_feed(&s, text, strlen((char *) text), same,
                                     NULL), CHATON_OK);
    assert_ptr_equal(seen_ptr, text);
    assert_int_equal(seen_len, strlen((char *) text));
    assert_int_equal(p.allocs, 0);
    assert_int_equal(s.held.len, 0);

    /* nothing at all: no call */
    seen_ptr = NULL;
    assert_int_equal(chaton_spc_feed(&s, text, 0, same, NULL), CHATON_OK);
    assert_null(seen_ptr);
    assert_int_equal(chaton_spc_flush(&s, same, NULL), CHATON_OK);
    assert_null(seen_ptr);

    /* a possible start needs memory: its failure is reported */
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "a ![", 4,
                                     same, NULL), CHATON_ERROR);
    assert_true(p.failed > 0);

    unit_pool_release(&p);
}


/* ---- what is not a placeholder --------------------------------------------- */


static char *
repeat(char c, size_t n)
{
    char  *s;

    s = unit_mem(n + 1);
    memset(s, c, n);
    s[n] = '\0';

    return s;
}


static char *
cat3(const char *a, const char *b, const char *c)
{
    char    *s;
    size_t   la, lb, lc;

    la = strlen(a);
    lb = strlen(b);
    lc = strlen(c);

    s = unit_mem(la + lb + lc + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);

    return s;
}


/* the whole text comes out as text, however it is cut */

static void
not_placeholder(const char *text)
{
    rec_t  e;

    rec_init(&e);
    rec_add(&e, 0, (const unsigned char *) text, strlen(text));
    every_split(text, &e);
    rec_free(&e);
}


static void
test_spc_limits(void **state)
{
    char        *alt, *path, *s;
    rec_t        e;

    /* alt text: CHATON_SPC_ALT_MAX bytes are fine, one more is not */

    alt = repeat('a', CHATON_SPC_ALT_MAX);
    s = cat3("x ![", alt, "](https://spc.unk/p.png) y");

    rec_init(&e);
    rec_add(&e, 0, (const unsigned char *) "x ", 2);
    rec_add(&e, 1, (const unsigned char *) "p.png", 5);
    rec_add(&e, 0, (const unsigned char *) " y", 2);
    every_split(s, &e);
    rec_free(&e);

    alt = repeat('a', CHATON_SPC_ALT_MAX + 1);
    not_placeholder(cat3("x ![", alt, "](https://spc.unk/p.png) y"));

    /* the path: CHATON_SPC_PATH_MAX bytes are fine, one more is not */

    path = repeat('p', CHATON_SPC_PATH_MAX);
    s = cat3("![Image](https://spc.unk/", path, ")");

    rec_init(&e);
    rec_add(&e, 1, (const unsigned char *) path, CHATON_SPC_PATH_MAX);
    every_split(s, &e);
    rec_free(&e);

    path = repeat('p', CHATON_SPC_PATH_MAX + 1);
    not_placeholder(cat3("![Image](https://spc.unk/", path, ")"));

    /* the longest placeholder is CHATON_SPC_MAX bytes */

    alt = repeat('a', CHATON_SPC_ALT_MAX);
    path = repeat('p', CHATON_SPC_PATH_MAX);
    s = cat3(cat3("![", alt, "](https://spc.unk/"), path, ")");
    assert_int_equal(strlen(s), CHATON_SPC_MAX);

    rec_init(&e);
    rec_add(&e, 1, (const unsigned char *) path, CHATON_SPC_PATH_MAX);
    every_split(s, &e);
    rec_free(&e);
}


static void
test_spc_not_placeholders(void **state)
{
    size_t  i;

    static const char  *text[] = {
        /* white space, control characters or "(" in the path */
        "![Image](https://spc.unk/images/a b.png)",
        "![Image](https://spc.unk/images/a\tb.png)",
        "![Image](https://spc.unk/images/a\nb.png)",
        "![Image](https://spc.unk/images/a\rb.png)",
        "![Image](https://spc.unk/images/a\x01" "b.png)",
        "![Image](https://spc.unk/images/a(b).png)",
        "![Image](https://spc.unk/ images/abc.png)",
        "![Image](https://spc.unk/images/abc.png )",
        /* an empty path */
        "![Image](https://spc.unk/)",
        /* other hosts and schemes */
        "![Image](http://spc.unk/images/abc.png)",
        "![Image](https://spc.unknown/images/abc.png)",
        "![Image](https://spc.unk.example/a.png)",
        "![Image](https://SPC.UNK/images/abc.png)",
        "![Image](https://example.com/images/abc.png)",
        "![Image]( https://spc.unk/images/abc.png)",
        "![Image](//spc.unk/images/abc.png)",
        /* the markdown broken */
        "!Image](https://spc.unk/images/abc.png)",
        "! [Image](https://spc.unk/images/abc.png)",
        "[Image](https://spc.unk/images/abc.png)",
        "![Image] (https://spc.unk/images/abc.png)",
        "![Image](https://spc.unk/images/abc.png",
        "![Ima\nge](https://spc.unk/images/abc.png)",
        "![Ima[ge](https://spc.unk/images/abc.png)",
        "![Image]](https://spc.unk/images/abc.png)",
        "![Image)(https://spc.unk/images/abc.png)",
        "!", "!!", "![", "![]", "![](", "a!b!c", "!!![[[]]]((()))",
    };

    for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
        not_placeholder(text[i]);
    }
}


static void
test_spc_several(void **state)
{
    rec_t  e;

    rec_init(&e);
    rec_add(&e, 0, (const unsigned char *) "A ", 2);
    rec_add(&e, 1, (const unsigned char *) "a.png", 5);
    rec_add(&e, 0, (const unsigned char *) " B ", 3);
    rec_add(&e, 1, (const unsigned char *) "b/c.jpg", 7);
    rec_add(&e, 1, (const unsigned char *) "d?x=1&y=%20", 11);
    rec_add(&e, 0, (const unsigned char *) "!", 1);
    rec_add(&e, 1, (const unsigned char *) "e", 1);
    rec_add(&e, 0, (const unsigned char *) ".", 1);

    every_split("A ![Image](https://spc.unk/a.png) B "
                "![x](https://spc.unk/b/c.jpg)"
                "![y z](https://spc.unk/d?x=1&y=%20)"
                "!![](https://spc.unk/e).", &e);
    rec_free(&e);

    /* a broken one, then a good one inside what it held */

    rec_init(&e);
    rec_add(&e, 0, (const unsigned char *) "![a](https://spc.unk/x ", 23);
    rec_add(&e, 1, (const unsigned char *) "y", 1);
    rec_add(&e, 0, (const unsigned char *) " z", 2);
    every_split("![a](https://spc.unk/x ![b](https://spc.unk/y) z", &e);
    rec_free(&e);

    /* a placeholder's path may hold a "!" and "[" (not white space) */

    rec_init(&e);
    rec_add(&e, 1, (const unsigned char *) "a![b]", 5);
    every_split("![a](https://spc.unk/a![b])", &e);
    rec_free(&e);

    /* multi-byte text around and inside */

    rec_init(&e);
    rec_add(&e, 0, (const unsigned char *) "\xe4\xb8\xad ", 4);
    rec_add(&e, 1, (const unsigned char *) "\xc3\xa9.png", 6);
    rec_add(&e, 0, (const unsigned char *) " \xf0\x9f\x98\x80", 5);
    every_split("\xe4\xb8\xad ![\xc3\xa9t\xc3\xa9](https://spc.unk/"
                "\xc3\xa9.png) \xf0\x9f\x98\x80", &e);
    rec_free(&e);
}


/* flushing: what is held is text after all */

static void
test_spc_flush(void **state)
{
    size_t              i;
    rec_t               r;
    chaton_spc_t        s;
    static const char  *held[] = {
        "!", "![", "![Image", "![Image]", "![Image](", "![Image](https://",
        "![Image](https://spc.unk/", "![Image](https://spc.unk/images/ab",
    };

    for (i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
        rec_init(&r);
        chaton_spc_init(&s, &unit_alloc);

        assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "text ",
                                         5, record, &r), CHATON_OK);
        assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) held[i],
                                         strlen(held[i]), record, &r),
                         CHATON_OK);
        rec_expect(&r, 1, T("text "));
        assert_int_equal(s.held.len, strlen(held[i]));

        assert_int_equal(chaton_spc_flush(&s, record, &r), CHATON_OK);
        rec_expect(&r, 1, T(cat3("text ", held[i], "")));
        assert_int_equal(s.held.len, 0);

        /* the scanner is usable again */
        assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) PH, 40,
                                         record, &r), CHATON_OK);
        rec_expect(&r, 2, T(cat3("text ", held[i], "")),
                   P("images/abc.png"));

        rec_free(&r);
    }
}


/* ---- memory: never more than CHATON_SPC_MAX held --------------------------- */


static void
test_spc_memory_bounded(void **state)
{
    size_t          i, k, len;
    rec_t           r;
    uint64_t        seed;
    chaton_spc_t    s;
    unsigned char   c;
    char           *alt, *path, *unit;

    /*
     * Byte by byte, a long run of the longest possible starts that never
     * complete (a space ends each one just before its ")"), then plain text.
     */

    alt = repeat('a', CHATON_SPC_ALT_MAX);
    path = repeat('p', CHATON_SPC_PATH_MAX);
    unit = cat3(cat3("![", alt, "](https://spc.unk/"), path, " ");
    len = strlen(unit);
    assert_int_equal(len, CHATON_SPC_MAX);

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);
    max_held = 0;

    for (k = 0; k < 50; k++) {
        for (i = 0; i < len; i++) {
            c = (unsigned char) unit[i];
            assert_int_equal(chaton_spc_feed(&s, &c, 1, record, &r),
                             CHATON_OK);
            assert_true(s.held.len <= CHATON_SPC_MAX);

            if (s.held.len > max_held) {
                max_held = s.held.len;
            }
        }

        /* what was released is all of it */
        assert_int_equal(s.held.len, 0);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.s[0].len, (k + 1) * len);
    }

    /* the most ever held: the longest start short of its ")" */
    assert_int_equal(max_held, CHATON_SPC_MAX - 1);

    /* the blocks in use do not grow with the text */
    assert_true(s.held.cap <= 2 * CHATON_SPC_MAX);

    rec_free(&r);
    unit_pool_free(&unit_pool, s.held.data);

    /* random "!"-heavy text in random pieces */

    seed = 0x5eed5eedull;
    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);

    for (k = 0; k < 20000; k++) {
        unsigned char  piece[8];
        size_t         n = 1 + unit_rand_below(&seed, sizeof(piece));

        for (i = 0; i < n; i++) {
            static const char  pick[] = "!![a](https://spc.unk/x";
            piece[i] = (unsigned char) pick[unit_rand_below(&seed,
                                                         sizeof(pick) - 1)];
        }

        assert_int_equal(chaton_spc_feed(&s, piece, n, record, &r),
                         CHATON_OK);
        assert_true(s.held.len <= CHATON_SPC_MAX);

        if (r.n > MAX_EV - 8) {
            rec_free(&r);
        }
    }

    assert_true(unit_pool.live < 16 + MAX_EV);

    rec_free(&r);
}


/* ---- against the oracle, at random ----------------------------------------- */


static void
test_spc_random(void **state)
{
    size_t          i, k, n, len, ncuts, cuts[8];
    rec_t           r, whole;
    uint64_t        seed;
    unsigned char   text[512];

    static const char  *frag[] = {
        "!", "[", "]", "(", ")", "![", "](", "https://spc.unk/",
        "https://spc.unk", "spc.unk/", "http://x", "a", "b/c.png", " ",
        "\n", "Image", "\xc3\xa9", PH, "![Image](https://spc.unk/",
        "images/abc.png)",
    };

    seed = 0x12345678abcdull;

    for (k = 0; k < 3000; k++) {
        len = 0;
        n = 1 + unit_rand_below(&seed, 24);

        for (i = 0; i < n; i++) {
            const char  *f = frag[unit_rand_below(&seed,
                                              sizeof(frag) / sizeof(frag[0]))];
            size_t       fl = strlen(f);

            if (len + fl > sizeof(text)) {
                break;
            }

            memcpy(text + len, f, fl);
            len += fl;
        }

        run(&whole, text, len, NULL, 0);

        ncuts = unit_rand_below(&seed, 8);

        for (i = 0; i < ncuts; i++) {
            cuts[i] = unit_rand_below(&seed, len + 1);
        }

        /* sorted; repeats make empty feeds */
        for (i = 1; i < ncuts; i++) {
            size_t  j, v = cuts[i];
            for (j = i; j > 0 && cuts[j - 1] > v; j--) {
                cuts[j] = cuts[j - 1];
            }
            cuts[j] = v;
        }

        run(&r, text, len, cuts, ncuts);

        if (!rec_equal(&r, &whole)) {
            print_error("[%.*s]: cut output differs\n", (int) len, text);
            fail();
        }

        rec_free(&r);
        rec_free(&whole);
    }
}


/* ---- the handler's errors stop the scan ------------------------------------ */


static void
test_spc_handler_error(void **state)
{
    rec_t         r;
    chaton_spc_t  s;

    rec_init(&r);
    r.fail_at = 1;
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "text", 4,
                                     record, &r), CHATON_ERROR);

    rec_init(&r);
    r.fail_at = 2;
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "a " PH " b",
                                     44, record, &r), CHATON_ERROR);
    assert_int_equal(r.calls, 2);
    rec_expect(&r, 1, T("a "));

    rec_init(&r);
    chaton_spc_init(&s, &unit_alloc);
    assert_int_equal(chaton_spc_feed(&s, (const unsigned char *) "a ![", 4,
                                     record, &r), CHATON_OK);
    r.fail_at = r.calls + 1;
    assert_int_equal(chaton_spc_flush(&s, record, &r), CHATON_ERROR);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_spc_placeholder_every_split),
        utest(test_spc_stream_pieces),
        utest(test_spc_release_early),
        utest(test_spc_no_bang_uncopied),
        utest(test_spc_limits),
        utest(test_spc_not_placeholders),
        utest(test_spc_several),
        utest(test_spc_flush),
        utest(test_spc_memory_bounded),
        utest(test_spc_random),
        utest(test_spc_handler_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
