/*
 * The backend event scanner.
 *
 * A stream is mostly text deltas, each a few bytes of text in a couple of
 * hundred bytes of JSON.  Building a cJSON tree for each (an allocation per
 * value, strtod() for every number, a free per value after) cost about six
 * times what the translator itself does with the event.  This scanner goes
 * over the payload once, validates all of it, builds nothing, and takes out
 * the three strings a delta's translation needs; whatever else the backend
 * sends (web sources, errors, shapes never seen) it hands back for the
 * cJSON code in chaton_chunk.c, so that code keeps the final word on them.
 *
 * It must take and refuse exactly what chaton_json_parse() does, so it
 * follows cJSON 1.7 (as Debian patches it) where cJSON is laxer than
 * RFC 8259, and it was written against cJSON's source, not from the RFC:
 *
 *   - white space between tokens is any byte up to 0x20; after the object
 *     only SP, HT, CR and LF (chaton_json_parse); a UTF-8 BOM is skipped
 *     at the start of an event of 5 bytes or more;
 *   - strings may hold raw control bytes and invalid UTF-8; a value ends,
 *     as a C string, at its first NUL (raw or \u0000), and so do keys when
 *     cJSON_GetObjectItemCaseSensitive() compares them;
 *   - "\u" with 4 bytes that are not all hex digits is U+0000, not an error
 *     (cJSON's parse_hex4() gives 0): the string goes on from 6 bytes past
 *     the backslash, which may then stand in the middle of another escape;
 *   - a \uD800-\uDBFF not followed by \uDC00-\uDFFF, or a lone
 *     \uDC00-\uDFFF, is an error;
 *   - a number is what strtod() takes in the run of [0-9+-.eE] bytes where
 *     it starts (with "-" or a digit), and must take all of the run: so
 *     "01", "1.", "-.5" and "1.e5" are numbers, "1e", "1.5.3", "+1" not;
 *   - at most 1000 arrays and objects open at once (CJSON_NESTING_LIMIT);
 *   - the first member of a name is the one that counts.
 *
 * The deltas of a stream differ in their text only: the id, the model,
 * the numbers around it are the same bytes event after event.  So once a
 * delta has been scanned, its bytes around its one string are its shape,
 * and an event with the same bytes around a valid string is read by that
 * string alone (chaton_event_read): two comparisons of bytes instead of
 * a scan of two hundred.
 *
 * t/unit/test_event.c and t/fuzz/fuzz_event.c hold it to cJSON, and the
 * shapes to whole scans.
 */

#include "chaton_event.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


#define CHATON_EV_DEPTH      1000   /* CJSON_NESTING_LIMIT */

/*
 * The scratch buffer's first room: a ChatOn delta (about 260 bytes) with
 * escapes fits, and so do the slightly longer ones after it.  Sized at
 * the first such event only, it would grow at the next longer one, some
 * time into the stream, leaving its first block behind in a pool.
 */

#define CHATON_EV_SCRATCH_ROOM  512


/*
 * Escapes are the rare case: kept out of line, the plain string scan that
 * every string takes stays small enough for the compiler to inline.
 */

#if defined(__GNUC__) || defined(__clang__)
#define CHATON_EV_COLD  __attribute__((noinline, cold))
#else
#define CHATON_EV_COLD
#endif


/* what a string is scanned for: skipped, a member's name, a value wanted */

#define CHATON_EV_SKIP       0
#define CHATON_EV_NAME       1
#define CHATON_EV_VALUE      2


/* the member names looked for */

#define CHATON_EV_OTHER      0
#define CHATON_EV_CHOICES    0x001
#define CHATON_EV_DATA       0x002
#define CHATON_EV_ERROR      0x004
#define CHATON_EV_PING       0x008
#define CHATON_EV_DELTA      0x010
#define CHATON_EV_FINISH     0x020
#define CHATON_EV_CONTENT    0x040
#define CHATON_EV_REASONING  0x080
#define CHATON_EV_WEB        0x100
#define CHATON_EV_ANALYTICS  0x200
#define CHATON_EV_OPERATION  0x400


typedef struct {
    const unsigned char    *data;
    size_t                  len;
} chaton_ev_str_t;


typedef struct {
    const unsigned char    *start;
    const unsigned char    *end;
    chaton_buf_t           *scratch;

    /* a name with escapes, unescaped: longer ones match no name we want */
    unsigned char           name[32];

    unsigned                reserved:1;     /* scratch has room for all */
    unsigned                nomem:1;
} chaton_ev_t;


static int chaton_event_alike(chaton_event_shape_t *sh, chaton_event_t *e,
    const unsigned char *ev, size_t len, chaton_buf_t *scratch);
static void chaton_event_learn(chaton_event_shape_t *sh,
    const chaton_event_t *e, const unsigned char *ev, size_t len, int kind);
static const unsigned char *chaton_ev_object(chaton_ev_t *sc,
    const unsigned char *p, chaton_event_t *e, int *kind);
static const unsigned char *chaton_ev_choices(chaton_ev_t *sc,
    const unsigned char *p, chaton_event_t *e, int *delta);
static const unsigned char *chaton_ev_choice(chaton_ev_t *sc,
    const unsigned char *p, chaton_event_t *e);
static const unsigned char *chaton_ev_delta(chaton_ev_t *sc,
    const unsigned char *p, chaton_event_t *e);
static const unsigned char *chaton_ev_data(chaton_ev_t *sc,
    const unsigned char *p, int *notice);
static inline const unsigned char *chaton_ev_member(chaton_ev_t *sc,
    const unsigned char *p, int first, chaton_ev_str_t *name);
static inline const unsigned char *chaton_ev_named(chaton_ev_t *sc,
    const unsigned char *p, int mode, chaton_ev_str_t *name);
static int chaton_ev_name(const chaton_ev_str_t *name);
static inline int chaton_ev_is(const unsigned char *p, const char *name,
    size_t n);
static inline const unsigned char *chaton_ev_value(chaton_ev_t *sc,
    const unsigned char *p, unsigned depth);
static const unsigned char *chaton_ev_skip(chaton_ev_t *sc,
    const unsigned char *p, unsigned depth);
static const unsigned char *chaton_ev_number(const unsigned char *p,
    const unsigned char *end);
static inline const unsigned char *chaton_ev_string(chaton_ev_t *sc,
    const unsigned char *p, int mode, chaton_ev_str_t *s);
static const unsigned char *chaton_ev_escaped(chaton_ev_t *sc,
    const unsigned char *from, const unsigned char *q, int mode,
    chaton_ev_str_t *s) CHATON_EV_COLD;
static const unsigned char *chaton_ev_misaligned(const unsigned char *q,
    const unsigned char *end);


/* bytes that end a run of plain string bytes: NUL, '"', '\\' */

static const unsigned char  chaton_ev_plain[256] = {
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x20 " */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,     /* 0x50 \ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x80 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};


/* cJSON's white space: every byte up to the space */

#define chaton_ev_ws(p, end)                                                  \
    while (p < end && *p <= 0x20) {                                           \
        p++;                                                                  \
    }

#define chaton_ev_digit(c)  ((unsigned) ((c) - '0') < 10)


/* the high bit of each byte of a 64-bit word that is 0 */

#define CHATON_EV_ONES   0x0101010101010101ull
#define CHATON_EV_HIGHS  0x8080808080808080ull

#define chaton_ev_zero(w)                                                     \
    (((w) - CHATON_EV_ONES) & ~(w) & CHATON_EV_HIGHS)


/*
 * The first byte so marked in m, the word loaded from q.  Only that lowest
 * mark is sure: a zero byte's borrow may mark those above it.
 */

#if (defined(__GNUC__) || defined(__clang__))                                 \
    && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__

#define chaton_ev_first(m, q)  ((size_t) __builtin_ctzll(m) / 8)

#else

#define chaton_ev_first(m, q)  chaton_ev_first_byte(q)

static size_t
chaton_ev_first_byte(const unsigned char *q)
{
    size_t  n;

    for (n = 0; chaton_ev_plain[q[n]]; n++) { /* void */ }

    return n;
}

#endif


static inline void
chaton_ev_init(chaton_ev_t *sc, const unsigned char *ev, size_t len,
    chaton_buf_t *scratch)
{
    sc->start = ev;
    sc->end = ev + len;
    sc->scratch = scratch;
    sc->reserved = 0;
    sc->nomem = 0;

    scratch->len = 0;
}


int
chaton_event_scan(chaton_event_t *e, const unsigned char *ev, size_t len,
    chaton_buf_t *scratch)
{
    int                   kind;
    chaton_ev_t           sc;
    const unsigned char  *p, *end;

    memset(e, 0, sizeof(chaton_event_t));

    if (len == 0) {
        return CHATON_EVENT_BAD;
    }

    chaton_ev_init(&sc, ev, len, scratch);

    p = ev;
    end = ev + len;

    /* cJSON looks for a BOM only where it could see 5 bytes */

    if (len >= 5 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        p += 3;
    }

    chaton_ev_ws(p, end);

    if (p == end || *p != '{') {
        return CHATON_EVENT_BAD;
    }

    p = chaton_ev_object(&sc, p + 1, e, &kind);

    if (p == NULL) {
        return sc.nomem ? CHATON_EVENT_OTHER : CHATON_EVENT_BAD;
    }

    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }

    return (p == end) ? kind : CHATON_EVENT_BAD;
}


void
chaton_event_shape_init(chaton_event_shape_t *sh, chaton_alloc_t *a)
{
    chaton_buf_init(&sh->bytes, a, CHATON_EVENT_SHAPE_MAX);
    sh->head = 0;
    sh->reasoning = 0;
    sh->one_line = 0;
}


int
chaton_event_read(chaton_event_shape_t *sh, chaton_event_t *e,
    const unsigned char *ev, size_t len, chaton_buf_t *scratch)
{
    int  kind;

    if (sh->bytes.len && chaton_event_alike(sh, e, ev, len, scratch)) {
        return CHATON_EVENT_DELTA;
    }

    kind = chaton_event_scan(e, ev, len, scratch);

    chaton_event_learn(sh, e, ev, len, kind);

    return kind;
}


/*
 * Whether the event is the shape's delta with another string: the same
 * bytes before the string's opening quote and from its closing quote on,
 * and a valid string between them that ends just there.  The bytes around
 * it then read exactly as they did when the shape was scanned whole, and
 * gave a delta whose only string was this one.
 */

static int
chaton_event_alike(chaton_event_shape_t *sh, chaton_event_t *e,
    const unsigned char *ev, size_t len, chaton_buf_t *scratch)
{
    size_t                head, tail;
    chaton_ev_t           sc;
    chaton_ev_str_t       s;
    const unsigned char  *p, *close;

    head = sh->head;
    tail = sh->bytes.len - head;

    if (len < sh->bytes.len
        || memcmp(ev, sh->bytes.data, head) != 0
        || memcmp(ev + len - tail, sh->bytes.data + head, tail) != 0)
    {
        return 0;
    }

    close = ev + len - tail;

    chaton_ev_init(&sc, ev, len, scratch);

    p = chaton_ev_string(&sc, ev + head - 1, CHATON_EV_VALUE, &s);

    if (p != close + 1) {
        return 0;
    }

    memset(e, 0, sizeof(chaton_event_t));

    if (sh->reasoning) {
        e->reasoning = s.data;
        e->reasoning_len = s.len;
        e->reasoning_raw = ev + head - 1;
        e->reasoning_raw_end = p;

    } else {
        e->content = s.data;
        e->content_len = s.len;
        e->content_raw = ev + head - 1;
        e->content_raw_end = p;
    }

    return 1;
}


/*
 * A delta with one string, and no finish_reason, is the shape now; other
 * events (pings between deltas, the last delta) leave the shape as it is.
 */

static void
chaton_event_learn(chaton_event_shape_t *sh, const chaton_event_t *e,
    const unsigned char *ev, size_t len, int kind)
{
    const unsigned char  *raw, *raw_end;

    if (kind != CHATON_EVENT_DELTA || e->finish != NULL) {
        return;
    }

    if (e->content_raw && e->reasoning_raw == NULL) {
        raw = e->content_raw;
        raw_end = e->content_raw_end;
        sh->reasoning = 0;

    } else if (e->reasoning_raw && e->content_raw == NULL) {
        raw = e->reasoning_raw;
        raw_end = e->reasoning_raw_end;
        sh->reasoning = 1;

    } else {
        return;
    }

    /* too big a shape, or no memory for it: every event is scanned whole */

    sh->bytes.len = 0;
    raw_end--;      /* the closing quote starts the tail */

    /* sized at once: the stream keeps it, no smaller block left behind */

    if (chaton_buf_reserve(&sh->bytes, (raw + 1 - ev) + (ev + len - raw_end))
           != CHATON_OK
        || chaton_buf_append(&sh->bytes, ev, raw + 1 - ev) != CHATON_OK
        || chaton_buf_append(&sh->bytes, raw_end, ev + len - raw_end)
           != CHATON_OK)
    {
        sh->bytes.len = 0;
        return;
    }

    sh->head = raw + 1 - ev;

    /* a shape that an SSE line can hold whole (chaton_chat_framed) */

    sh->one_line = memchr(sh->bytes.data, '\n', sh->bytes.len) == NULL
                   && memchr(sh->bytes.data, '\r', sh->bytes.len) == NULL;
}


/*
 * The event's object, p past its "{".  What chaton_chunk.c would do with
 * the tree decides the kind: "choices" first, then "data", then "error".
 * Only the shapes the protocol describes are dropped here; a "data" that
 * is not an object, or holds "web" or "error", is left to cJSON.
 */

static const unsigned char *
chaton_ev_object(chaton_ev_t *sc, const unsigned char *p, chaton_event_t *e,
    int *kind)
{
    int              first, delta, notice, name;
    unsigned         seen;
    chaton_ev_str_t  s;

    seen = 0;
    delta = 0;
    notice = 0;

    for (first = 1; ; first = 0) {
        p = chaton_ev_member(sc, p, first, &s);

        if (p == NULL) {
            return NULL;
        }

        if (s.data == NULL) {
            break;
        }

        name = chaton_ev_name(&s);

        if (name == CHATON_EV_CHOICES && !(seen & CHATON_EV_CHOICES)) {
            seen |= CHATON_EV_CHOICES;
            p = chaton_ev_choices(sc, p, e, &delta);

        } else if (name == CHATON_EV_DATA && !(seen & CHATON_EV_DATA)) {
            seen |= CHATON_EV_DATA;
            p = chaton_ev_data(sc, p, &notice);

        } else {
            seen |= name & (CHATON_EV_ERROR | CHATON_EV_PING);
            p = chaton_ev_value(sc, p, 1);
        }

        if (p == NULL) {
            return NULL;
        }
    }

    if (seen & CHATON_EV_CHOICES) {
        *kind = delta ? CHATON_EVENT_DELTA : CHATON_EVENT_OTHER;

    } else if (seen & CHATON_EV_DATA) {
        *kind = notice ? CHATON_EVENT_DROP : CHATON_EVENT_OTHER;

    } else if (seen == CHATON_EV_PING) {
        *kind = CHATON_EVENT_DROP;

    } else {
        *kind = CHATON_EVENT_OTHER;
    }

    return p;
}


/*
 * "choices": a delta when it is an array whose first element is an object
 * (as the backend sends it); other shapes are cJSON's to judge.
 */

static const unsigned char *
chaton_ev_choices(chaton_ev_t *sc, const unsigned char *p,
    chaton_event_t *e, int *delta)
{
    const unsigned char  *end;

    end = sc->end;

    if (*p != '[') {
        return chaton_ev_value(sc, p, 1);
    }

    p++;
    chaton_ev_ws(p, end);

    if (p == end) {
        return NULL;
    }

    if (*p == ']') {
        return p + 1;
    }

    if (*p == '{') {
        *delta = 1;
        p = chaton_ev_choice(sc, p + 1, e);

    } else {
        p = chaton_ev_value(sc, p, 2);
    }

    for ( ;; ) {
        if (p == NULL) {
            return NULL;
        }

        chaton_ev_ws(p, end);

        if (p == end) {
            return NULL;
        }

        if (*p == ']') {
            return p + 1;
        }

        if (*p != ',') {
            return NULL;
        }

        p++;
        chaton_ev_ws(p, end);

        p = chaton_ev_value(sc, p, 2);
    }
}


/* choices[0]: its first "delta" and first "finish_reason" */

static const unsigned char *
chaton_ev_choice(chaton_ev_t *sc, const unsigned char *p, chaton_event_t *e)
{
    int              first, name;
    unsigned         seen;
    chaton_ev_str_t  s;

    seen = 0;

    for (first = 1; ; first = 0) {
        p = chaton_ev_member(sc, p, first, &s);

        if (p == NULL || s.data == NULL) {
            return p;
        }

        name = chaton_ev_name(&s) & (CHATON_EV_DELTA | CHATON_EV_FINISH);

        if (name & seen) {
            name = CHATON_EV_OTHER;
        }

        seen |= name;

        if (name == CHATON_EV_DELTA && *p == '{') {
            p = chaton_ev_delta(sc, p + 1, e);

        } else if (name == CHATON_EV_FINISH && *p == '"') {
            p = chaton_ev_string(sc, p, CHATON_EV_VALUE, &s);
            e->finish = s.data;
            e->finish_len = s.len;

        } else {
            p = chaton_ev_value(sc, p, 3);
        }

        if (p == NULL) {
            return NULL;
        }
    }
}


/* the delta: its first "content" and first "reasoning_content" */

static const unsigned char *
chaton_ev_delta(chaton_ev_t *sc, const unsigned char *p, chaton_event_t *e)
{
    int                   first, name;
    unsigned              seen;
    chaton_ev_str_t       s;
    const unsigned char  *raw;

    seen = 0;

    for (first = 1; ; first = 0) {
        p = chaton_ev_member(sc, p, first, &s);

        if (p == NULL || s.data == NULL) {
            return p;
        }

        name = chaton_ev_name(&s) & (CHATON_EV_CONTENT | CHATON_EV_REASONING);

        if (name & seen) {
            name = CHATON_EV_OTHER;
        }

        seen |= name;

        if (name != CHATON_EV_OTHER && *p == '"') {
            raw = p;
            p = chaton_ev_string(sc, p, CHATON_EV_VALUE, &s);

            if (name == CHATON_EV_CONTENT) {
                e->content = s.data;
                e->content_len = s.len;
                e->content_raw = raw;
                e->content_raw_end = p;

            } else {
                e->reasoning = s.data;
                e->reasoning_len = s.len;
                e->reasoning_raw = raw;
                e->reasoning_raw_end = p;
            }

        } else {
            p = chaton_ev_value(sc, p, 4);
        }

        if (p == NULL) {
            return NULL;
        }
    }
}


/* "data": a notice if an object with "analytics" or "operation", and
 * neither "web" nor "error" (which cJSON's code acts on) */

static const unsigned char *
chaton_ev_data(chaton_ev_t *sc, const unsigned char *p, int *notice)
{
    int              first;
    unsigned         seen;
    chaton_ev_str_t  s;

    if (*p != '{') {
        return chaton_ev_value(sc, p, 1);
    }

    p++;
    seen = 0;

    for (first = 1; ; first = 0) {
        p = chaton_ev_member(sc, p, first, &s);

        if (p == NULL) {
            return NULL;
        }

        if (s.data == NULL) {
            break;
        }

        seen |= chaton_ev_name(&s);

        p = chaton_ev_value(sc, p, 2);

        if (p == NULL) {
            return NULL;
        }
    }

    *notice = (seen & (CHATON_EV_WEB | CHATON_EV_ERROR)) == 0
              && (seen & (CHATON_EV_ANALYTICS | CHATON_EV_OPERATION));

    return p;
}


/*
 * The next member of an object: p is past its "{" (first) or past the
 * value of a member.  Returns where the member's value starts, with its
 * name in *name; or, at the "}" that closes the object, what follows it,
 * with name->data NULL; or NULL if the object is not valid there.
 */

static inline const unsigned char *
chaton_ev_member(chaton_ev_t *sc, const unsigned char *p, int first,
    chaton_ev_str_t *name)
{
    const unsigned char  *end;

    end = sc->end;

    chaton_ev_ws(p, end);

    if (p == end) {
        return NULL;
    }

    if (*p == '}') {
        name->data = NULL;
        return p + 1;
    }

    if (!first) {
        if (*p != ',') {
            return NULL;
        }

        p++;
        chaton_ev_ws(p, end);
    }

    p = chaton_ev_named(sc, p, CHATON_EV_NAME, name);

    return (p == end) ? NULL : p;
}


/*
 * A member's name at p (read as mode says), its colon and the white space
 * after: returns what follows, or NULL if they are not valid there.
 */

static inline const unsigned char *
chaton_ev_named(chaton_ev_t *sc, const unsigned char *p, int mode,
    chaton_ev_str_t *name)
{
    const unsigned char  *end;

    end = sc->end;

    if (p == end || *p != '"') {
        return NULL;
    }

    p = chaton_ev_string(sc, p, mode, name);

    if (p == NULL) {
        return NULL;
    }

    chaton_ev_ws(p, end);

    if (p == end || *p != ':') {
        return NULL;
    }

    p++;
    chaton_ev_ws(p, end);

    return p;
}


static int
chaton_ev_name(const chaton_ev_str_t *s)
{
    const unsigned char  *p;

    p = s->data;

    switch (s->len) {

    case 3:
        return chaton_ev_is(p, "web", 3) ? CHATON_EV_WEB : CHATON_EV_OTHER;

    case 4:
        if (chaton_ev_is(p, "data", 4)) {
            return CHATON_EV_DATA;
        }

        return chaton_ev_is(p, "ping", 4) ? CHATON_EV_PING : CHATON_EV_OTHER;

    case 5:
        if (chaton_ev_is(p, "delta", 5)) {
            return CHATON_EV_DELTA;
        }

        return chaton_ev_is(p, "error", 5) ? CHATON_EV_ERROR
                                           : CHATON_EV_OTHER;

    case 7:
        if (chaton_ev_is(p, "content", 7)) {
            return CHATON_EV_CONTENT;
        }

        return chaton_ev_is(p, "choices", 7) ? CHATON_EV_CHOICES
                                             : CHATON_EV_OTHER;

    case 9:
        if (chaton_ev_is(p, "analytics", 9)) {
            return CHATON_EV_ANALYTICS;
        }

        return chaton_ev_is(p, "operation", 9) ? CHATON_EV_OPERATION
                                               : CHATON_EV_OTHER;

    case 13:
        return chaton_ev_is(p, "finish_reason", 13) ? CHATON_EV_FINISH
                                                    : CHATON_EV_OTHER;

    case 17:
        return chaton_ev_is(p, "reasoning_content", 17) ? CHATON_EV_REASONING
                                                        : CHATON_EV_OTHER;

    default:
        return CHATON_EV_OTHER;
    }
}


/*
 * Whether n bytes (3 to 24) at p are name's: two or three loads that may
 * overlap rather than a memcmp() call, which compilers do not always
 * inline; a name's bytes lie all in the event or in sc->name.
 */

static inline int
chaton_ev_is(const unsigned char *p, const char *name, size_t n)
{
    uint64_t  a, b, c, d;

    if (n < 4) {
        return p[0] == (unsigned char) name[0]
               && p[1] == (unsigned char) name[1]
               && p[n - 1] == (unsigned char) name[n - 1];
    }

    if (n < 8) {
        a = 0;
        b = 0;
        c = 0;
        d = 0;
        memcpy(&a, p, 4);
        memcpy(&b, name, 4);
        memcpy(&c, p + n - 4, 4);
        memcpy(&d, name + n - 4, 4);

        return a == b && c == d;
    }

    memcpy(&a, p, 8);
    memcpy(&b, name, 8);
    memcpy(&c, p + n - 8, 8);
    memcpy(&d, name + n - 8, 8);

    if (a != b || c != d) {
        return 0;
    }

    if (n <= 16) {
        return 1;
    }

    memcpy(&a, p + 8, 8);
    memcpy(&b, name + 8, 8);

    return a == b;
}


/*
 * Skips the value at p, the common scalars at once, in line; others by
 * chaton_ev_skip().
 */

static inline const unsigned char *
chaton_ev_value(chaton_ev_t *sc, const unsigned char *p, unsigned depth)
{
    if (p == sc->end) {
        return NULL;
    }

    if (*p == '"') {
        return chaton_ev_string(sc, p, CHATON_EV_SKIP, NULL);
    }

    if (*p == '-' || chaton_ev_digit(*p)) {
        return chaton_ev_number(p, sc->end);
    }

    return chaton_ev_skip(sc, p, depth);
}


/*
 * Skips the value at p, depth being the arrays and objects open around it.
 * Nested values are walked with a stack of one bit per level (array or
 * object) rather than by recursion: the event decides how deep it goes.
 * Returns what follows the value, or NULL if it is not valid.
 */

static const unsigned char *
chaton_ev_skip(chaton_ev_t *sc, const unsigned char *p, unsigned depth)
{
    int                   array;
    unsigned              base, level;
    uint64_t              arrays[(CHATON_EV_DEPTH + 63) / 64];
    const unsigned char  *end;

    end = sc->end;
    base = depth;
    array = 0;

    for ( ;; ) {

        /* a value */

        if (p == end) {
            return NULL;
        }

        switch (*p) {

        case '"':
            p = chaton_ev_string(sc, p, CHATON_EV_SKIP, NULL);
            break;

        case '{':
        case '[':
            if (depth >= CHATON_EV_DEPTH) {
                return NULL;
            }

            array = (*p == '[');
            level = depth - base;

            if (array) {
                arrays[level / 64] |= (uint64_t) 1 << (level % 64);

            } else {
                arrays[level / 64] &= ~((uint64_t) 1 << (level % 64));
            }

            depth++;
            p++;
            chaton_ev_ws(p, end);

            if (p == end) {
                return NULL;
            }

            if (*p == (array ? ']' : '}')) {
                p++;
                depth--;
                break;
            }

            if (array) {
                continue;
            }

            goto name;

        case 't':
            p = (end - p >= 4 && memcmp(p, "true", 4) == 0) ? p + 4 : NULL;
            break;

        case 'f':
            p = (end - p >= 5 && memcmp(p, "false", 5) == 0) ? p + 5 : NULL;
            break;

        case 'n':
            p = (end - p >= 4 && memcmp(p, "null", 4) == 0) ? p + 4 : NULL;
            break;

        default:
            if (*p != '-' && !chaton_ev_digit(*p)) {
                return NULL;
            }

            p = chaton_ev_number(p, end);
        }

        if (p == NULL) {
            return NULL;
        }

        /* after a value: the next one, or the end of containers */

        for ( ;; ) {
            if (depth == base) {
                return p;
            }

            chaton_ev_ws(p, end);

            if (p == end) {
                return NULL;
            }

            level = depth - base - 1;
            array = (arrays[level / 64] >> (level % 64)) & 1;

            if (*p == ',') {
                p++;
                chaton_ev_ws(p, end);
                break;
            }

            if (*p != (array ? ']' : '}')) {
                return NULL;
            }

            p++;
            depth--;
        }

        if (array) {
            continue;
        }

    name:

        /* an object's member: its name, skipped, and the colon */

        p = chaton_ev_named(sc, p, CHATON_EV_SKIP, NULL);

        if (p == NULL) {
            return NULL;
        }
    }
}


/* a number, p at its "-" or first digit: what strtod() takes of it */

static const unsigned char *
chaton_ev_number(const unsigned char *p, const unsigned char *end)
{
    size_t                digits;
    const unsigned char  *d;

    if (*p == '-') {
        p++;
    }

    d = p;

    while (p < end && chaton_ev_digit(*p)) {
        p++;
    }

    digits = p - d;

    if (p < end && *p == '.') {
        d = ++p;

        while (p < end && chaton_ev_digit(*p)) {
            p++;
        }

        digits += p - d;
    }

    if (digits == 0) {
        return NULL;
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        d = p;

        while (p < end && chaton_ev_digit(*p)) {
            p++;
        }

        if (p == d) {
            return NULL;
        }
    }

    /*
     * Where strtod() stops short of the run (1.5.3, 1e5e5, 1-2), what it
     * leaves is no delimiter: the caller refuses it as cJSON's does.
     */

    return p;
}


/*
 * A string, p at its opening quote.  Returns what follows the closing
 * quote, or NULL.  For a name or a value, *s is the string up to its first
 * NUL: in the event itself when it has neither escape nor NUL (nearly
 * always), unescaped otherwise.
 */

static inline const unsigned char *
chaton_ev_string(chaton_ev_t *sc, const unsigned char *p, int mode,
    chaton_ev_str_t *s)
{
    uint64_t              w, m;
    const unsigned char  *q, *end;

    end = sc->end;
    q = p + 1;

#if defined(__SSE2__)
    {
        int      bits;
        __m128i  v;

        while (end - q >= 16) {
            v = _mm_loadu_si128((const __m128i *) q);

            bits = _mm_movemask_epi8(
                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

            if (mode != CHATON_EV_SKIP) {
                bits |= _mm_movemask_epi8(_mm_cmpeq_epi8(v,
                                                         _mm_setzero_si128()));
            }

            if (bits) {
                q += __builtin_ctz(bits);
                goto special;
            }

            q += 16;
        }
    }
#endif

    /*
     * 8 bytes at a time: a byte of w is '"', '\\' or (unless skipping:
     * only names and values end at a NUL) 0 where the same byte of
     * w ^ that byte is 0, which chaton_ev_zero() tells for all 8 at once.
     */

    while (end - q >= 8) {
        memcpy(&w, q, 8);

        m = chaton_ev_zero(w ^ (CHATON_EV_ONES * '"'))
            | chaton_ev_zero(w ^ (CHATON_EV_ONES * '\\'));

        if (mode != CHATON_EV_SKIP) {
            m |= chaton_ev_zero(w);
        }

        if (m) {
            q += chaton_ev_first(m, q);
            goto special;
        }

        q += 8;
    }

    while (q < end && chaton_ev_plain[*q]) {
        q++;
    }

    if (q == end) {
        return NULL;
    }

special:

    if (*q != '"') {
        return chaton_ev_escaped(sc, p + 1, q, mode, s);
    }

    if (s) {
        s->data = p + 1;
        s->len = q - (p + 1);
    }

    return q + 1;
}


/*
 * The rest of a string from its first escape or NUL, q; it started at
 * from.  Names are unescaped into sc->name (as far as it goes), values
 * into the scratch buffer, which gets room for the whole event once: no
 * escape is shorter unescaped, so no string of this event moves it again.
 */

static const unsigned char *
chaton_ev_escaped(chaton_ev_t *sc, const unsigned char *from,
    const unsigned char *q, int mode, chaton_ev_str_t *s)
{
    int                   cp, lo;
    size_t                room, n;
    unsigned char        *d, *start, c;
    const unsigned char  *r, *end;

    end = sc->end;

    switch (mode) {

    case CHATON_EV_NAME:
        start = sc->name;
        room = sizeof(sc->name);
        break;

    case CHATON_EV_VALUE:
        if (!sc->reserved) {
            n = sc->end - sc->start;

            /* its first room at least a delta's: grown by longer ones only */

            if (sc->scratch->cap == 0 && n < CHATON_EV_SCRATCH_ROOM
                && (sc->scratch->max == 0
                    || sc->scratch->max >= CHATON_EV_SCRATCH_ROOM))
            {
                n = CHATON_EV_SCRATCH_ROOM;
            }

            if (chaton_buf_reserve(sc->scratch, n) != CHATON_OK) {
                sc->nomem = 1;
                return NULL;
            }

            sc->reserved = 1;
        }

        start = sc->scratch->data + sc->scratch->len;
        room = sc->scratch->cap - sc->scratch->len;
        break;

    default:
        start = NULL;
        room = 0;
    }

    d = start;
    r = from;

    for ( ;; ) {

        /* the plain bytes from r to q, as far as there is room */

        n = q - r;

        if (n > room) {
            n = room;
        }

        if (n) {
            memcpy(d, r, n);
            d += n;
            room -= n;
        }

        if (q == end) {
            return NULL;
        }

        if (*q == '"') {
            break;
        }

        if (*q == '\0') {

            /* a C string ends here: what follows is only checked */

            room = 0;
            q++;
            goto plain;
        }

        if (end - q < 2) {
            return NULL;
        }

        switch (q[1]) {

        case '"':
        case '\\':
        case '/':
            c = q[1];
            break;

        case 'b':
            c = '\b';
            break;

        case 'f':
            c = '\f';
            break;

        case 'n':
            c = '\n';
            break;

        case 'r':
            c = '\r';
            break;

        case 't':
            c = '\t';
            break;

        case 'u':
            if (end - q < 6) {
                return NULL;
            }

            cp = chaton_hex4(q + 2);

            if (cp < 0) {

                /* U+0000 to cJSON, and the end of the C string */

                q = chaton_ev_misaligned(q, end);

                if (q == NULL) {
                    return NULL;
                }

                goto done;
            }

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return NULL;
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - q < 12 || q[6] != '\\' || q[7] != 'u') {
                    return NULL;
                }

                lo = chaton_hex4(q + 8);

                if (lo < 0xdc00 || lo > 0xdfff) {
                    return NULL;
                }

                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                q += 12;

            } else {
                q += 6;
            }

            n = (cp < 0x80) ? 1 : (cp < 0x800) ? 2 : (cp < 0x10000) ? 3 : 4;

            if (cp == 0 || room < n) {
                room = 0;
                goto plain;
            }

            d = chaton_utf8_put(d, (unsigned) cp);

            room -= n;
            goto plain;

        default:
            return NULL;
        }

        q += 2;

        if (room) {
            *d++ = c;
            room--;
        }

    plain:

        r = q;

        while (q < end && chaton_ev_plain[*q]) {
            q++;
        }
    }

done:

    if (s) {
        s->data = start;
        s->len = d - start;
    }

    if (mode == CHATON_EV_VALUE) {
        sc->scratch->len += d - start;
    }

    return q + 1;
}


/*
 * A "\u" at q whose 4 bytes are not all hex digits: cJSON takes it for
 * U+0000 and goes on 6 bytes past q, which need not be where an escape
 * ends, for its end of the string was found by a first pass that stepped
 * over every backslash and the byte after it.  Both passes are done here as
 * cJSON does them, from q (where they still agree).  Returns the closing
 * quote, or NULL.
 */

static const unsigned char *
chaton_ev_misaligned(const unsigned char *q, const unsigned char *end)
{
    int                   hi, lo;
    const unsigned char  *x, *last;

    for (last = q; last < end && *last != '"'; last++) {
        if (*last == '\\') {
            if (end - last < 2) {
                return NULL;
            }

            last++;
        }
    }

    if (last == end) {
        return NULL;
    }

    x = q;

    while (x < last) {
        if (*x != '\\') {
            x++;
            continue;
        }

        /* x[1] may be the closing quote: an escaped quote to cJSON */

        switch (x[1]) {

        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            x += 2;
            break;

        case 'u':
            if (last - x < 6) {
                return NULL;
            }

            hi = chaton_hex4(x + 2);

            if (hi >= 0xdc00 && hi <= 0xdfff) {
                return NULL;
            }

            if (hi >= 0xd800 && hi <= 0xdbff) {
                if (last - x < 12 || x[6] != '\\' || x[7] != 'u') {
                    return NULL;
                }

                lo = chaton_hex4(x + 8);

                if (lo < 0xdc00 || lo > 0xdfff) {
                    return NULL;
                }

                x += 12;

            } else {
                x += 6;
            }

            break;

        default:
            return NULL;
        }
    }

    return last;
}
