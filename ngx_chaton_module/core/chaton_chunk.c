/*
 * The backend decoder and the answer's stages: one ChatOn event in, at
 * most one neutral output event out, to the client's dialect's writer
 * (chaton_conv.h).
 *
 * Each event is parsed once and classified.  The events of every stream,
 * text deltas and notices, go through the scanner of chaton_event.c, which
 * builds nothing; the rest (sources, errors, unknown shapes) through cJSON:
 *
 *   {"ping": ...}                              dropped
 *   {"data": {"analytics" | "operation"}}      dropped
 *   {"data": {"web": {"sources": [...]}}}      a markdown list, as text
 *   {"choices": [{"delta": {...}}]}            text / reasoning
 *   {"error": ...}                             the answer fails with it
 *   [DONE]                                     the end
 *
 * Anything else that is valid JSON is dropped, so that new kinds of notices
 * from the backend do not break streams.  The backend's own ids, model names
 * and role deltas are not passed on.
 *
 * Text goes through the pictures' stage: after an spc.unk placeholder,
 * text is held back, in order, until the caller has resolved the picture.
 * A stream is mostly deltas of one shape around a few bytes of plain text:
 * those are read by their string alone (chaton_event_read) and, when no
 * stage holds anything back, handed to the writer as they are, already in
 * JSON's form (chaton_chat_text).
 */

#include <cjson/cJSON.h>

#include "chaton_chunk.h"
#include "chaton_event.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


/* a run of framed events' chunks (chaton_chat_framed) */

typedef struct {
    chaton_buf_t           *out;
    unsigned char          *o;          /* out's, kept here during a run */
    size_t                  len;
    size_t                  cap;
    const unsigned char    *head;       /* the writer's chunk */
    size_t                  head_len;
    const unsigned char    *tail;
    size_t                  tail_len;
    uint64_t                chunks;     /* written, one per event */
    uint64_t                bytes;      /* their text's, unescaped */
    chaton_usage_t          usage;
    int                     direct;     /* written here, not by calls */
    int                     copy16;     /* 16 bytes of input after a text
                                           up to 16 bytes long */
} chaton_chat_chunks_t;


/* a run of plain text found (chaton_chat_run()): where, what it counts */

typedef struct {
    const unsigned char    *end;
    chaton_usage_t          usage;
    size_t                  escapes;
} chaton_chat_found_t;


/* text being decoded into the output (chaton_chat_decoded) */

typedef struct {
    chaton_buf_t           *out;
    size_t                  bytes;      /* decoded */
    chaton_usage_t          usage;
} chaton_chat_decode_t;


static int chaton_chat_delta(chaton_chat_t *t, chaton_event_t *e);
static int chaton_chat_json(chaton_chat_t *t, const unsigned char *ev,
    size_t len);
static int chaton_chat_bad(chaton_chat_t *t);
static int chaton_chat_choice(chaton_chat_t *t, cJSON *choices);
static int chaton_chat_data(chaton_chat_t *t, cJSON *data);
static int chaton_chat_sources(chaton_chat_t *t, cJSON *sources);
static int chaton_chat_markdown(chaton_chat_t *t, chaton_buf_t *md,
    cJSON *sources);
static int chaton_chat_failed(chaton_chat_t *t, cJSON *error);
static int chaton_chat_fault(chaton_chat_t *t, chaton_answer_fault_e fault);
static int chaton_chat_feed_event(void *data, const unsigned char *ev,
    size_t len);
static int chaton_chat_feed_framed(void *data, const unsigned char *in,
    size_t len, size_t room, size_t *n);
static int chaton_chat_extracted_text(void *data, const unsigned char *s,
    size_t len);
static int chaton_chat_extracted_call(void *data, size_t index,
    const unsigned char *name, size_t name_len, const unsigned char *args,
    size_t args_len);
static int chaton_collect_text(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_collect_reasoning(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_collect_end(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_outcome_t *o);
static int chaton_collect_error(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_error_t *e);
static inline int chaton_chat_plain(chaton_chat_t *t, const unsigned char *s,
    size_t len, chaton_usage_t *u);
static inline int chaton_chat_lane(chaton_chat_t *t);
static chaton_hot const unsigned char *chaton_chat_run(const unsigned char *s,
    const unsigned char *end, const unsigned char *lim, int json,
    chaton_usage_t *u, size_t *escapes);
#if defined(__SSE2__)
static chaton_hot int chaton_chat_stops(__m128i v);
#endif
static chaton_hot const unsigned char *chaton_chat_quick(
    const unsigned char *s, const unsigned char *stop);
static chaton_hot const unsigned char *chaton_chat_ascii_run(
    const unsigned char *s, const unsigned char *end,
    const unsigned char *lim);
static chaton_hot int chaton_chat_text(chaton_chat_t *t,
    const unsigned char *s, size_t len, size_t bytes, const chaton_usage_t *u);
static chaton_hot int chaton_chat_escaped(const unsigned char *q,
    const unsigned char *lim);
static chaton_hot int chaton_chat_headed(const unsigned char *p,
    const unsigned char *end, size_t frame, const unsigned char *shape,
    size_t head);
static chaton_hot void chaton_chat_chunks_start(chaton_chat_t *t,
    chaton_chat_chunks_t *c, size_t after);
static chaton_hot void chaton_chat_chunks_end(chaton_chat_t *t,
    chaton_chat_chunks_t *c);
static chaton_hot int chaton_chat_chunk(chaton_chat_chunks_t *c,
    const unsigned char *s, size_t len, const chaton_usage_t *u);
static const unsigned char *chaton_chat_decoded(chaton_chat_t *t,
    const unsigned char *s, const chaton_chat_found_t *found,
    const unsigned char *end, const unsigned char *lim,
    const unsigned char *tail, size_t tail_len);
static chaton_hot int chaton_chat_append(chaton_buf_t *out,
    const unsigned char *p, size_t n, const unsigned char *lim);
static chaton_hot const unsigned char *chaton_chat_unicode(
    chaton_chat_decode_t *d,
    const unsigned char *p, const unsigned char *end);
static chaton_hot int chaton_chat_char(chaton_chat_decode_t *d, int cp);
static int chaton_chat_released(void *data, int path, const unsigned char *s,
    size_t len);
static int chaton_chat_write(chaton_chat_t *t, const unsigned char *content,
    size_t content_len, const unsigned char *reasoning,
    size_t reasoning_len);


/* the ASCII of plain text (chaton_chat_run): printable but '"', '\\', '!' */

static const unsigned char  chaton_chat_ascii[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x20 ! " */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,     /* 0x50 \ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};


/* what follows '\\' in the escapes chaton_json_escape() writes short */

static const unsigned char  chaton_chat_escape[256] = {
    ['"'] = 1, ['\\'] = 1, ['n'] = 1, ['r'] = 1, ['t'] = 1, ['b'] = 1,
    ['f'] = 1
};


/*
 * The answer's error, given its room at the first failure: most answers
 * never fail, and a stream keeps its state for its life.  NULL: no memory.
 */

chaton_error_t *
chaton_chat_error(chaton_chat_t *t)
{
    if (t->error == NULL) {
        t->error = t->alloc->alloc(t->alloc->pool, sizeof(chaton_error_t));

        if (t->error) {
            memset(t->error, 0, sizeof(chaton_error_t));
        }
    }

    return t->error;
}


/* the answer fails for what chaton_error_answer() says */

static int
chaton_chat_fault(chaton_chat_t *t, chaton_answer_fault_e fault)
{
    chaton_error_t  *e;

    e = chaton_chat_error(t);

    return e ? chaton_error_answer(e, fault) : CHATON_ERROR;
}


int
chaton_chat_init(chaton_chat_t *t, chaton_alloc_t *a, chaton_writer_t *writer,
    size_t max_answer)
{
    memset(t, 0, sizeof(chaton_chat_t));

    t->alloc = a;
    t->writer = writer;

    t->max_answer = max_answer;

    chaton_event_shape_init(&t->shape, a);
    chaton_buf_init(&t->md, a, 0);
    chaton_spc_init(&t->spc, a);

    return CHATON_OK;
}


/*
 * Tools were offered: the text goes through the tool-call extractor
 * before the writer, and calls become the writer's tool calls.  A stage
 * that a request does not need costs nothing: without tools, none of it.
 */

int
chaton_chat_tools(chaton_chat_t *t, const chaton_tools_t *tools,
    size_t max_call)
{
    t->extract = t->alloc->alloc(t->alloc->pool,
                                 sizeof(chaton_tools_extract_t));
    if (t->extract == NULL) {
        return CHATON_ERROR;
    }

    chaton_tools_extract_init(t->extract, t->alloc, tools, max_call,
                              chaton_chat_extracted_text,
                              chaton_chat_extracted_call, t);

    return CHATON_OK;
}


/* the backend's event stream's parser, with the translator's short way */

void
chaton_chat_sse_init(chaton_sse_t *sse, chaton_alloc_t *a, size_t max_event)
{
    chaton_sse_init(sse, a, max_event);
    sse->whole = chaton_chat_feed_framed;
}


/*
 * The backend's bytes as they come; the client's output goes to out.
 * Returns CHATON_OK, CHATON_DONE at [DONE], CHATON_BAD when the answer
 * failed (t->error says why), CHATON_ERROR.
 */

int
chaton_chat_feed(chaton_chat_t *t, chaton_sse_t *sse, const unsigned char *in,
    size_t len, chaton_buf_t *out)
{
    int  rc;

    t->out = out;

    rc = chaton_sse_feed(sse, in, len, chaton_chat_feed_event, t);

    if (rc == CHATON_TOO_BIG) {
        return chaton_chat_fault(t, CHATON_EVENT_TOO_LARGE);
    }

    return rc;
}


/* the backend's answer ended: an event that lacked only its blank line */

int
chaton_chat_feed_end(chaton_chat_t *t, chaton_sse_t *sse, chaton_buf_t *out)
{
    int  rc;

    t->out = out;

    rc = chaton_sse_finish(sse, chaton_chat_feed_event, t);

    if (rc == CHATON_TOO_BIG) {
        return chaton_chat_fault(t, CHATON_EVENT_TOO_LARGE);
    }

    return rc;
}


static int
chaton_chat_feed_event(void *data, const unsigned char *ev, size_t len)
{
    int             rc;
    chaton_chat_t  *t = data;

    /*
     * The short way only where it may be: not for an answer kept whole
     * (its writer never takes text in JSON's form), nor where tools were
     * offered, nor for events shorter than the shape.
     */

    rc = (t->shape.bytes.len && len > t->shape.bytes.len
          && chaton_chat_lane(t))
         ? chaton_chat_shaped(t, ev, len) : CHATON_DECLINED;

    if (rc == CHATON_DECLINED) {
        rc = chaton_chat_event(t, ev, len);
    }

    if (rc == CHATON_TOO_BIG) {
        return chaton_chat_fault(t, CHATON_ANSWER_TOO_LARGE);
    }

    return rc;
}


static int
chaton_chat_feed_framed(void *data, const unsigned char *in, size_t len,
    size_t room, size_t *n)
{
    return chaton_chat_framed(data, in, len, room, n);
}


int
chaton_chat_event(chaton_chat_t *t, const unsigned char *ev, size_t len)
{
    int             kind;
    chaton_event_t  e;

    t->events++;

    if (len == 6 && memcmp(ev, "[DONE]", 6) == 0) {
        t->backend_done = 1;
        return CHATON_DONE;
    }

    /*
     * t->md is the chat's scratch buffer: chaton_chat_resolved() uses it
     * too, between events, and expects it empty.
     */

    kind = chaton_event_read(&t->shape, &e, ev, len, &t->md);

    if (kind == CHATON_EVENT_DELTA) {
        return chaton_chat_delta(t, &e);
    }

    t->md.len = 0;

    switch (kind) {

    case CHATON_EVENT_DROP:
        return CHATON_OK;

    case CHATON_EVENT_OTHER:
        return chaton_chat_json(t, ev, len);

    default:
        return chaton_chat_bad(t);
    }
}


#ifdef CHATON_TESTS

/*
 * chaton_chat_event() as it was before the scanner, every event through
 * cJSON: the reference the differential tests (t/unit/test_event.c,
 * t/fuzz/fuzz_event.c) hold the scanner's path to.  Built for the tests
 * only: the module has no use for it.
 */

int
chaton_chat_event_cjson(chaton_chat_t *t, const unsigned char *ev,
    size_t len)
{
    t->events++;

    if (len == 6 && memcmp(ev, "[DONE]", 6) == 0) {
        t->backend_done = 1;
        return CHATON_DONE;
    }

    return chaton_chat_json(t, ev, len);
}

#endif


/* what chaton_chat_choice() does with the same delta's tree */

static int
chaton_chat_delta(chaton_chat_t *t, chaton_event_t *e)
{
    int             rc;
    chaton_usage_t  u;

    if (e->finish_len && e->finish_len < sizeof(t->finish)) {
        memcpy(t->finish, e->finish, e->finish_len);
        t->finish[e->finish_len] = '\0';
    }

    if (e->reasoning_len == 0
        && chaton_chat_plain(t, e->content, e->content_len, &u))
    {
        rc = chaton_chat_text(t, e->content, e->content_len,
                              e->content_len, &u);

    } else {
        rc = chaton_chat_content(t, e->content, e->content_len, e->reasoning,
                                 e->reasoning_len);
    }

    t->md.len = 0;

    return rc;
}


/*
 * Whether a piece of content is the common one in a stream, once the
 * writer is ready for text in JSON's form: printable ASCII but '"', '\\'
 * and '!', and other valid UTF-8 but U+2028 and U+2029, with nothing held
 * back.  It then needs no escape (chaton_json_escape() would copy it as it
 * is), cannot start a picture's placeholder (chaton_spc.c would pass it on
 * as it is), and is counted as it is scanned.
 */

static inline int
chaton_chat_plain(chaton_chat_t *t, const unsigned char *s, size_t len,
    chaton_usage_t *u)
{
    size_t  escapes;

    return len && chaton_chat_lane(t)
           && chaton_chat_run(s, s + len, s + len, 0, u, &escapes)
              == s + len;
}


/* a writer that takes text in JSON's form now, no stage holding any */

static inline int
chaton_chat_lane(chaton_chat_t *t)
{
    return t->writer->ready && !t->waiting && t->spc.held.len == 0
           && t->extract == NULL;
}


/*
 * Where the plain text (chaton_chat_plain) from s on ends, end at most;
 * its characters are counted into u.  In JSON's form (json), the text may
 * also hold the escapes chaton_json_escape() writes as they are: \" \\
 * \n \r \t \b \f (counted in *escapes), so that its bytes are the
 * escaped text already.  The bytes up to lim (end or beyond) may be read.
 */

static chaton_hot const unsigned char *
chaton_chat_run(const unsigned char *s, const unsigned char *end,
    const unsigned char *lim, int json, chaton_usage_t *u, size_t *escapes)
{
    size_t                n;
    const unsigned char  *p;

    u->ascii = 0;
    u->other = 0;
    *escapes = 0;

    while (s < end) {

        /* a run of plain ASCII, counted at once */

        p = s;
        s = chaton_chat_ascii_run(s, end, lim);

        u->ascii += s - p;

        if (s == end) {
            break;
        }

        if (*s < 0x80) {
            if (!json || *s != '\\' || end - s < 2
                || !chaton_chat_escape[s[1]])
            {
                break;
            }

            u->ascii++;
            (*escapes)++;
            s += 2;
            continue;
        }

        n = chaton_utf8_seq(s, end - s);

        if (n == 0 || (n == 3 && s[0] == 0xe2 && s[1] == 0x80
                       && (s[2] == 0xa8 || s[2] == 0xa9)))
        {
            break;
        }

        u->other++;
        s += n;
    }

    return s;
}


#if defined(__SSE2__)

/*
 * The bytes of v that end plain ASCII (chaton_chat_ascii), one bit each:
 * below 0x20 or above 0x7f, '!', '"' (below 0x23 as signed bytes, but the
 * space), '\\'.  Five operations, not seven: this look is made for every
 * delta.
 */

static chaton_hot int
chaton_chat_stops(__m128i v)
{
    return _mm_movemask_epi8(
               _mm_or_si128(
                   _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                                    _mm_cmplt_epi8(v, _mm_set1_epi8(0x23))),
                   _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
}

#endif


/*
 * The common text, from s: plain ASCII (chaton_chat_ascii), nothing
 * escaped, its closing quote among the 16 bytes from s, at stop at most;
 * where that quote is, or NULL for chaton_chat_run() to say.  16 bytes
 * from s may be read.
 */

static chaton_hot const unsigned char *
chaton_chat_quick(const unsigned char *s, const unsigned char *stop)
{
#if defined(__SSE2__)
    int                   bits;
    __m128i               v;
    const unsigned char  *q;

    v = _mm_loadu_si128((const __m128i *) s);

    bits = chaton_chat_stops(v);

    if (bits == 0) {
        return NULL;
    }

    q = s + __builtin_ctz(bits);

    return (*q == '"' && q <= stop) ? q : NULL;
#else
    return NULL;
#endif
}


/*
 * Where the run of plain ASCII (chaton_chat_ascii) from s ends, end at
 * most: 16 bytes at a time while 16 may be read (to lim), then byte by
 * byte.
 */

static chaton_hot const unsigned char *
chaton_chat_ascii_run(const unsigned char *s, const unsigned char *end,
    const unsigned char *lim)
{
#if defined(__SSE2__)
    int      bits;
    __m128i  v;

    while (s < end && lim - s >= 16) {
        v = _mm_loadu_si128((const __m128i *) s);

        bits = chaton_chat_stops(v);

        if (bits) {
            s += __builtin_ctz(bits);
            return (s < end) ? s : end;
        }

        s += 16;
    }

    if (s >= end) {
        return end;
    }
#endif

    while (s < end && chaton_chat_ascii[*s]) {
        s++;
    }

    return s;
}


/*
 * Events straight from the backend's bytes, framing and all: "data: ",
 * the last delta's shape around plain text in JSON's form, a blank line.
 * Nothing in one ends a line early, the text ends at the shape's quote and
 * is escaped as the writer wants it: it is the event the SSE parser would
 * hand out, read as chaton_event_read() would read it, and it goes to the
 * writer at once, from the event's bytes.  As many such events as follow
 * one another are taken in one call (*n bytes; each at most room bytes);
 * anything else is left to the parser.
 */

int
chaton_chat_framed(chaton_chat_t *t, const unsigned char *in, size_t len,
    size_t room, size_t *n)
{
    int                    rc;
    int                    next;
    size_t                 head, tail, frame, gap, escapes;
    chaton_usage_t         u;
    chaton_chat_found_t    found;
    chaton_chat_chunks_t   c;
    const unsigned char   *p, *end, *stop, *s, *q, *shape, *ref;
    chaton_event_shape_t  *sh;

    *n = 0;
    sh = &t->shape;

    if (!sh->one_line || sh->reasoning || sh->bytes.len == 0
        || !chaton_chat_lane(t))
    {
        return CHATON_OK;
    }

    shape = sh->bytes.data;
    head = sh->head;
    tail = sh->bytes.len - head;
    frame = 6 + sh->bytes.len + 2;

    p = in;
    end = in + len;
    rc = CHATON_OK;

    if (len < frame) {
        return CHATON_OK;
    }

    /*
     * The text is looked at up to where the shortest frame would put its
     * tail; an event longer than room is the parser's (it refuses it).
     */

    stop = end - tail - 2;

    chaton_chat_chunks_start(t, &c, tail + 2);

    /*
     * Nothing an event does changes the lane or the shape: checked once.
     * Between two texts of a run lie the tail, the blank line, "data: "
     * and the head (gap bytes): once such bytes were found right, with
     * the shape's, the next ones are held to them, in one comparison.
     */

    gap = tail + 8 + head;
    ref = NULL;

    if (!chaton_chat_headed(p, end, frame, shape, head)) {
        goto done;
    }

    for ( ;; ) {
        s = p + 6 + head;
        q = c.copy16 ? chaton_chat_quick(s, stop) : NULL;

        if (q) {
            u.ascii = q - s;
            u.other = 0;
            escapes = 0;

        } else {
            q = chaton_chat_run(s, stop, end, 1, &u, &escapes);
        }

        /*
         * text with \u escapes or U+2028, U+2029: written decoded, as the
         * parser's way would (where tokens are counted, that way counts
         * them)
         */

        if (chaton_chat_escaped(q, end) && c.direct) {
            chaton_chat_chunks_end(t, &c);

            found.end = q;
            found.usage = u;
            found.escapes = escapes;

            q = chaton_chat_decoded(t, s, &found,
                                    ((size_t) (end - p) > room)
                                    ? p + room - tail - 2 : stop,
                                    end, shape + head, tail);

            chaton_chat_chunks_start(t, &c, tail + 2);

            if (q == NULL) {
                break;
            }

            t->events++;
            p = q + tail + 2;

            if (!chaton_chat_headed(p, end, frame, shape, head)) {
                break;
            }

            ref = q;
            continue;
        }

        if (q == s || (size_t) (q + tail + 2 - p) > room) {
            break;
        }

        /* the tail and the blank line; with them, the next head at once */

        next = (ref != NULL && (size_t) (end - q) >= gap + tail + 2
                && memcmp(q, ref, gap) == 0);

        if (!next
            && (memcmp(q, shape + head, tail) != 0
                || q[tail] != '\n' || q[tail + 1] != '\n'))
        {
            break;
        }

        if (c.direct) {
            rc = chaton_chat_chunk(&c, s, q - s, &u);
            if (rc != CHATON_OK) {
                t->events++;        /* as the parser's way counts it */
                break;
            }

            c.bytes += q - s - escapes;

        } else {
            t->events++;

            rc = chaton_chat_text(t, s, q - s, q - s - escapes, &u);
            if (rc != CHATON_OK) {
                return rc;
            }
        }

        p = q + tail + 2;

        if (!next) {
            if (!chaton_chat_headed(p, end, frame, shape, head)) {
                break;
            }

            ref = q;
        }
    }

done:

    chaton_chat_chunks_end(t, &c);

    *n = p - in;

    return rc;
}


/*
 * The chunks of a run of framed events, when the writer has said what its
 * chunk is (w->head, w->tail) and tokens are not counted (c->direct): the
 * output's end and the counts are kept here, out of the answer's state,
 * and given back at the run's end (chaton_chat_chunks_end).  Each text is
 * followed by after bytes of the input at least.
 */

static chaton_hot void
chaton_chat_chunks_start(chaton_chat_t *t, chaton_chat_chunks_t *c,
    size_t after)
{
    chaton_writer_t  *w;

    w = t->writer;

    c->direct = (w->head != NULL && t->counted == NULL);

    c->out = t->out;
    c->o = c->out->data;
    c->len = c->out->len;
    c->cap = c->out->cap;
    c->head = c->direct ? w->head->data : NULL;
    c->head_len = c->direct ? w->head->len : 0;
    c->tail = c->direct ? w->tail->data : NULL;
    c->tail_len = c->direct ? w->tail->len : 0;
    c->copy16 = (after >= 16);
    c->chunks = 0;
    c->bytes = 0;
    c->usage.ascii = 0;
    c->usage.other = 0;
}


static chaton_hot void
chaton_chat_chunks_end(chaton_chat_t *t, chaton_chat_chunks_t *c)
{
    if (c->chunks == 0) {
        return;
    }

    c->out->len = c->len;

    t->events += c->chunks;
    t->writer->chunks += c->chunks;
    t->completion.ascii += c->usage.ascii;
    t->completion.other += c->usage.other;
    t->content_bytes += c->bytes;
    t->content_seen = 1;

    c->chunks = 0;
}


/*
 * A chunk of the run: the writer's head, the text (s, its len bytes in
 * JSON's form), its tail.  A text of up to 16 bytes, nearly every delta's,
 * is copied 16 bytes at once where the input has them after it
 * (c->copy16) and the output has room: the tail then writes over what was
 * copied past the text.
 */

static chaton_hot int
chaton_chat_chunk(chaton_chat_chunks_t *c, const unsigned char *s,
    size_t len, const chaton_usage_t *u)
{
    int             rc;
    size_t          need;
    unsigned char  *o;

    need = c->head_len + len + c->tail_len;

#if defined(__SSE2__)
    if (len <= 16 && c->copy16 && c->cap - c->len >= need + 16) {
        o = c->o + c->len;

        memcpy(o, c->head, c->head_len);
        o += c->head_len;

        _mm_storeu_si128((__m128i *) o,
                         _mm_loadu_si128((const __m128i *) s));

        memcpy(o + len, c->tail, c->tail_len);

        goto done;
    }
#endif

    if (c->cap - c->len < need) {
        c->out->len = c->len;

        rc = chaton_buf_reserve(c->out, need);
        if (rc != CHATON_OK) {
            return rc;
        }

        c->o = c->out->data;
        c->cap = c->out->cap;
    }

    o = c->o + c->len;

    memcpy(o, c->head, c->head_len);
    memcpy(o + c->head_len, s, len);
    memcpy(o + c->head_len + len, c->tail, c->tail_len);

#if defined(__SSE2__)
done:
#endif

    c->len += need;
    c->chunks++;
    c->usage.ascii += u->ascii;
    c->usage.other += u->other;

    return CHATON_OK;
}


/*
 * Whether plain text stopped at a \u escape or at U+2028, U+2029 (which
 * JSON writes escaped): chaton_chat_decoded()'s (bytes to lim may be read)
 */

static chaton_hot int
chaton_chat_escaped(const unsigned char *q, const unsigned char *lim)
{
    return lim - q >= 3
           && ((q[0] == '\\' && q[1] == 'u')
               || (q[0] == 0xe2 && q[1] == 0x80
                   && (q[2] == 0xa8 || q[2] == 0xa9)));
}


/*
 * An event's framing and head from p on, with room for its tail after.
 * "data: " is compared as two words: GCC does not always inline the
 * memcmp() of 6 bytes where this function is inlined.
 */

static chaton_hot int
chaton_chat_headed(const unsigned char *p, const unsigned char *end,
    size_t frame, const unsigned char *shape, size_t head)
{
    uint16_t  a2, d2;
    uint32_t  a4, d4;

    if ((size_t) (end - p) < frame) {
        return 0;
    }

    memcpy(&a4, p, 4);
    memcpy(&d4, "data", 4);
    memcpy(&a2, p + 4, 2);
    memcpy(&d2, ": ", 2);

    return a4 == d4 && a2 == d2 && memcmp(p + 6, shape, head) == 0;
}


/*
 * An event the SSE parser hands out (mostly one the network split between
 * two reads, which chaton_chat_framed() could not take whole): taken as
 * that takes the events it finds whole, when it is the shape's delta
 * around such text.  CHATON_DECLINED: it is not, chaton_chat_event() is
 * the way for it.
 */

int
chaton_chat_shaped(chaton_chat_t *t, const unsigned char *ev, size_t len)
{
    size_t                 head, tail, escapes;
    chaton_usage_t         u;
    chaton_chat_found_t    found;
    const unsigned char   *s, *end, *q, *shape;
    chaton_event_shape_t  *sh;

    sh = &t->shape;

    if (sh->reasoning || sh->bytes.len == 0 || len <= sh->bytes.len
        || !chaton_chat_lane(t))
    {
        return CHATON_DECLINED;
    }

    shape = sh->bytes.data;
    head = sh->head;
    tail = sh->bytes.len - head;

    s = ev + head;
    end = ev + len - tail;

    if (memcmp(ev, shape, head) != 0 || memcmp(end, shape + head, tail) != 0)
    {
        return CHATON_DECLINED;
    }

    q = chaton_chat_run(s, end, ev + len, 1, &u, &escapes);

    if (q == end) {
        t->events++;
        return chaton_chat_text(t, s, end - s, (end - s) - escapes, &u);
    }

    found.end = q;
    found.usage = u;
    found.escapes = escapes;

    if (chaton_chat_escaped(q, ev + len) && t->writer->head
        && t->counted == NULL
        && chaton_chat_decoded(t, s, &found, end, ev + len, NULL, 0) != NULL)
    {
        t->events++;
        return CHATON_OK;
    }

    return CHATON_DECLINED;
}


/*
 * An event whose text, from s, has \u escapes (or U+2028, U+2029 as they
 * are).  The parser's way would decode the whole text and write it in
 * JSON's form again (chaton_json_escape()): the escapes that it writes as
 * they are stay, the others are written as it writes what they stand for.
 * So here, unless the text holds what that way treats otherwise (a '!'
 * that may start a picture's placeholder, U+0000, a lone surrogate,
 * invalid UTF-8).  Not where tokens are counted (t->counted).  The text,
 * at most to end (bytes to lim may be read), must be followed by the
 * shape's tail and the blank line (end leaves room for them), or, without
 * a tail to look for (NULL), end exactly at end: the chunk is written,
 * counted, and where the text ended is returned; NULL, and nothing
 * written, if the event is not such a one (or on an error: the parser's
 * way meets it again).
 */

static const unsigned char *
chaton_chat_decoded(chaton_chat_t *t, const unsigned char *s,
    const chaton_chat_found_t *found, const unsigned char *end,
    const unsigned char *lim, const unsigned char *tail, size_t tail_len)
{
    size_t                 at, escapes;
    chaton_buf_t          *out;
    chaton_usage_t         u;
    chaton_writer_t       *w;
    const unsigned char   *p, *q;
    chaton_chat_decode_t   d;

    w = t->writer;
    out = t->out;
    at = out->len;

    d.out = out;
    d.bytes = 0;
    d.usage.ascii = 0;
    d.usage.other = 0;

    if (chaton_buf_append(out, w->head->data, w->head->len) != CHATON_OK) {
        goto failed;
    }

    for (p = s; /* void */ ; p = q) {

        /* the first run is the one the caller found, unless past end */

        if (p == s && found->end <= end) {
            q = found->end;
            u = found->usage;
            escapes = found->escapes;

        } else {
            q = chaton_chat_run(p, end, lim, 1, &u, &escapes);
        }

        if (chaton_chat_append(out, p, q - p, lim) != CHATON_OK) {
            goto failed;
        }

        d.bytes += (q - p) - escapes;
        d.usage.ascii += u.ascii;
        d.usage.other += u.other;

        if (q == end) {
            break;
        }

        if (q[0] == '\\' && end - q >= 2 && q[1] == 'u') {
            q = chaton_chat_unicode(&d, q, end);

        } else if (end - q >= 3 && q[0] == 0xe2 && q[1] == 0x80
                   && (q[2] == 0xa8 || q[2] == 0xa9))
        {
            q = chaton_chat_char(&d, 0x2028 + (q[2] - 0xa8)) ? q + 3 : NULL;

        } else {
            break;
        }

        if (q == NULL) {
            goto failed;
        }
    }

    if (tail == NULL) {
        if (q != end) {
            goto failed;
        }

    } else if (memcmp(q, tail, tail_len) != 0
               || q[tail_len] != '\n' || q[tail_len + 1] != '\n')
    {
        goto failed;
    }

    if (chaton_buf_append(out, w->tail->data, w->tail->len) != CHATON_OK) {
        goto failed;
    }

    w->chunks++;

    t->completion.ascii += d.usage.ascii;
    t->completion.other += d.usage.other;

    t->content_bytes += d.bytes;
    t->content_seen = 1;

    return q;

failed:

    out->len = at;

    return NULL;
}


/*
 * chaton_buf_append() of a run of text (p, n bytes) where 16 bytes from p
 * may be read (to lim): most runs between escapes are a few bytes, copied
 * by one 16-byte load and store where the output has the room.
 */

static chaton_hot int
chaton_chat_append(chaton_buf_t *out, const unsigned char *p, size_t n,
    const unsigned char *lim)
{
#if defined(__SSE2__)
    if (n <= 16 && lim - p >= 16 && out->cap - out->len >= 16) {
        _mm_storeu_si128((__m128i *) (out->data + out->len),
                         _mm_loadu_si128((const __m128i *) p));
        out->len += n;

        return CHATON_OK;
    }
#endif

    return chaton_buf_append(out, p, n);
}


/* a \u escape at p (a pair for a character beyond U+FFFF): past it */

static chaton_hot const unsigned char *
chaton_chat_unicode(chaton_chat_decode_t *d, const unsigned char *p,
    const unsigned char *end)
{
    int  cp, lo;

    if (end - p < 6 || (cp = chaton_hex4(p + 2)) <= 0) {
        return NULL;
    }

    p += 6;

    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
            || (lo = chaton_hex4(p + 2)) < 0xdc00 || lo > 0xdfff)
        {
            return NULL;
        }

        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        p += 6;

    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return NULL;
    }

    return chaton_chat_char(d, cp) ? p : NULL;
}


/*
 * A character (not U+0000, no surrogate) as chaton_json_escape() writes
 * it, counted as chaton_usage_add() counts it; 0 for '!' (the pictures'
 * stage is not here) or no memory.  Most are letters beyond ASCII, written
 * as they are: 4 bytes stored at once, the length counted.
 */

static chaton_hot int
chaton_chat_char(chaton_chat_decode_t *d, int cp)
{
    size_t          n;
    chaton_buf_t   *out;
    unsigned char   b[4];

    if (cp == '!') {
        return 0;
    }

    if (cp < 0x80) {
        d->usage.ascii++;
        d->bytes++;

        b[0] = (unsigned char) cp;

        /* as it is when plain text holds it so (chaton_chat_run()) */

        if (chaton_chat_ascii[cp]) {
            return chaton_buf_append(d->out, b, 1) == CHATON_OK;
        }

        if (cp == '"' || cp == '\\') {
            b[1] = b[0];
            b[0] = '\\';
            return chaton_buf_append(d->out, b, 2) == CHATON_OK;
        }

        return chaton_json_escape(d->out, b, 1) == CHATON_OK;
    }

    if (cp < 0x800) {
        b[0] = (unsigned char) (0xc0 | (cp >> 6));
        b[1] = (unsigned char) (0x80 | (cp & 0x3f));
        b[2] = 0;
        b[3] = 0;
        n = 2;

    } else if (cp < 0x10000) {
        b[0] = (unsigned char) (0xe0 | (cp >> 12));
        b[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char) (0x80 | (cp & 0x3f));
        b[3] = 0;
        n = 3;

    } else {
        b[0] = (unsigned char) (0xf0 | (cp >> 18));
        b[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char) (0x80 | (cp & 0x3f));
        n = 4;
    }

    d->usage.other++;
    d->bytes += n;

    if (cp == 0x2028) {
        return chaton_buf_literal(d->out, "\\u2028") == CHATON_OK;
    }

    if (cp == 0x2029) {
        return chaton_buf_literal(d->out, "\\u2029") == CHATON_OK;
    }

    out = d->out;

    if (out->cap - out->len < sizeof(b)) {
        return chaton_buf_append(out, b, n) == CHATON_OK;
    }

    memcpy(out->data + out->len, b, sizeof(b));
    out->len += n;

    return 1;
}


/*
 * What chaton_chat_write() does for plain content (chaton_chat_plain): s is
 * the text as JSON writes it, bytes its length unescaped, u its count.  A
 * writer that has said what its chunk of such text is (w->head, w->tail)
 * gets it written here, without a call.
 */

static chaton_hot int
chaton_chat_text(chaton_chat_t *t, const unsigned char *s, size_t len,
    size_t bytes, const chaton_usage_t *u)
{
    size_t            need;
    chaton_buf_t     *out;
    chaton_writer_t  *w;

    if (t->counted) {
        chaton_bpe_feed(&t->counted[0], s, len, 1);

    } else {
        t->completion.ascii += u->ascii;
        t->completion.other += u->other;
    }

    t->content_bytes += bytes;
    t->content_seen = 1;

    w = t->writer;

    if (w->head == NULL) {
        return w->ops->escaped(w, t->out, s, len);
    }

    out = t->out;
    need = w->head->len + len + w->tail->len;

    if (out->cap - out->len < need) {
        chaton_try(chaton_buf_reserve(out, need));
    }

    memcpy(out->data + out->len, w->head->data, w->head->len);
    memcpy(out->data + out->len + w->head->len, s, len);
    memcpy(out->data + out->len + w->head->len + len, w->tail->data,
           w->tail->len);

    out->len += need;
    w->chunks++;

    return CHATON_OK;
}


static int
chaton_chat_json(chaton_chat_t *t, const unsigned char *ev, size_t len)
{
    int     rc;
    cJSON  *root, *v;

    root = chaton_json_parse(ev, len);

    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return chaton_chat_bad(t);
    }

    rc = CHATON_OK;

    if ((v = cJSON_GetObjectItemCaseSensitive(root, "choices")) != NULL) {
        rc = chaton_chat_choice(t, v);

    } else if ((v = cJSON_GetObjectItemCaseSensitive(root, "data")) != NULL) {
        rc = chaton_chat_data(t, v);

    } else if ((v = cJSON_GetObjectItemCaseSensitive(root, "error")) != NULL) {
        rc = chaton_chat_failed(t, v);
    }

    cJSON_Delete(root);

    return rc;
}


static int
chaton_chat_bad(chaton_chat_t *t)
{
    chaton_error_t  *e;

    e = chaton_chat_error(t);
    if (e == NULL) {
        return CHATON_ERROR;
    }

    return chaton_error_set(e, 502, NULL, "bad_backend_event",
                            "The backend sent an event that is not "
                            "valid JSON.");
}


static int
chaton_chat_choice(chaton_chat_t *t, cJSON *choices)
{
    size_t   n;
    cJSON   *choice, *delta, *content, *reasoning, *finish;

    choice = cJSON_GetArrayItem(choices, 0);

    if (!cJSON_IsObject(choice)) {
        return CHATON_OK;
    }

    finish = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");

    if (cJSON_IsString(finish) && finish->valuestring[0]) {
        n = strlen(finish->valuestring);

        if (n < sizeof(t->finish)) {
            memcpy(t->finish, finish->valuestring, n + 1);
        }
    }

    delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");

    if (!cJSON_IsObject(delta)) {
        return CHATON_OK;
    }

    content = cJSON_GetObjectItemCaseSensitive(delta, "content");
    reasoning = cJSON_GetObjectItemCaseSensitive(delta, "reasoning_content");

    if (!cJSON_IsString(content)) {
        content = NULL;
    }

    if (!cJSON_IsString(reasoning)) {
        reasoning = NULL;
    }

    return chaton_chat_content(t,
             (const unsigned char *) (content ? content->valuestring : NULL),
             content ? strlen(content->valuestring) : 0,
             (const unsigned char *) (reasoning ? reasoning->valuestring
                                                : NULL),
             reasoning ? strlen(reasoning->valuestring) : 0);
}


static int
chaton_chat_data(chaton_chat_t *t, cJSON *data)
{
    cJSON  *v;

    if (!cJSON_IsObject(data)) {
        return CHATON_OK;
    }

    v = cJSON_GetObjectItemCaseSensitive(data, "web");

    if (cJSON_IsObject(v)) {
        v = cJSON_GetObjectItemCaseSensitive(v, "sources");

        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
            return chaton_chat_sources(t, v);
        }

        return CHATON_OK;
    }

    v = cJSON_GetObjectItemCaseSensitive(data, "error");

    if (v) {
        return chaton_chat_failed(t, v);
    }

    /* analytics, operation notices ("searching the web..."), unknowns */

    return CHATON_OK;
}


/* web-search citations become readable content: a numbered markdown list */

static int
chaton_chat_sources(chaton_chat_t *t, cJSON *sources)
{
    int            rc;
    chaton_buf_t   md;

    chaton_buf_init(&md, t->alloc, 0);

    rc = chaton_chat_markdown(t, &md, sources);

    if (rc == CHATON_OK && md.len) {
        rc = chaton_chat_content(t, md.data, md.len, NULL, 0);
    }

    if (md.data && t->alloc->free) {
        t->alloc->free(t->alloc->pool, md.data);
    }

    return rc;
}


static int
chaton_chat_markdown(chaton_chat_t *t, chaton_buf_t *md, cJSON *sources)
{
    uint64_t     n;
    cJSON       *s, *title, *url;
    const char  *p;

    n = 0;

    cJSON_ArrayForEach(s, sources) {
        title = cJSON_GetObjectItemCaseSensitive(s, "title");
        url = cJSON_GetObjectItemCaseSensitive(s, "url");

        if (!cJSON_IsString(url) || url->valuestring[0] == '\0') {
            continue;
        }

        if (!cJSON_IsString(title) || title->valuestring[0] == '\0') {
            title = url;
        }

        if (n == 0) {
            chaton_try(chaton_buf_append_str(md, t->content_seen
                                                 ? "\n\nSources:\n"
                                                 : "Sources:\n"));
        }

        chaton_try(chaton_buf_append_uint(md, ++n));
        chaton_try(chaton_buf_literal(md, ". ["));

        /* brackets and line ends would break the link text */

        for (p = title->valuestring; *p; p++) {
            if (*p == '[' || *p == ']') {
                chaton_try(chaton_buf_literal(md, "\\"));
            }

            chaton_try(chaton_buf_append(md, (*p == '\n' || *p == '\r')
                                             ? " " : p, 1));
        }

        chaton_try(chaton_buf_literal(md, "]("));

        for (p = url->valuestring; *p; p++) {
            if (*p == ' ') {
                chaton_try(chaton_buf_literal(md, "%20"));

            } else if (*p == ')') {
                chaton_try(chaton_buf_literal(md, "%29"));

            } else {
                chaton_try(chaton_buf_append(md, p, 1));
            }
        }

        chaton_try(chaton_buf_literal(md, ")\n"));
    }

    if (n) {
        chaton_try(chaton_buf_literal(md, "\n"));
    }

    return CHATON_OK;
}


/* {"error": "text"} or {"error": {"message": "text", ...}} */

static int
chaton_chat_failed(chaton_chat_t *t, cJSON *error)
{
    size_t           n;
    cJSON           *v;
    unsigned char   *text;
    chaton_error_t  *e;

    e = chaton_chat_error(t);
    if (e == NULL) {
        return CHATON_ERROR;
    }

    v = error;

    if (cJSON_IsObject(error)) {
        v = cJSON_GetObjectItemCaseSensitive(error, "message");
    }

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return chaton_error_set(e, 502, NULL, "backend_error",
                                "The backend reported an error.");
    }

    /* the error ends the answer: its text is kept, as long as the error */

    n = strlen(v->valuestring);
    n = n < 1024 ? n : 1024;

    text = t->alloc->alloc(t->alloc->pool, n);
    if (text == NULL) {
        return CHATON_ERROR;
    }

    memcpy(text, v->valuestring, n);

    chaton_error_text(e, 502, "backend_error", text, n);

    return CHATON_BAD;
}


/*
 * One piece of answer, content and/or reasoning, from a backend delta or
 * not (sources).  Content goes through the spc.unk scanner: after a
 * picture's placeholder, content is held back, in order, until the caller
 * has resolved the picture (chaton_chat_resolved).
 */

int
chaton_chat_content(chaton_chat_t *t, const unsigned char *content,
    size_t content_len, const unsigned char *reasoning, size_t reasoning_len)
{
    if (reasoning_len) {
        chaton_try(chaton_chat_write(t, NULL, 0, reasoning, reasoning_len));
    }

    if (content_len == 0) {
        return CHATON_OK;
    }

    if (t->waiting) {
        return chaton_buf_append(&t->pics->held, content, content_len);
    }

    chaton_try(chaton_spc_feed(&t->spc, content, content_len,
                               chaton_chat_released, t));

    /*
     * A picture found in this piece: what the scanner kept back (a possible
     * start) comes after everything held behind the picture.
     */

    if (t->waiting && t->spc.held.len) {
        chaton_try(chaton_buf_append(&t->pics->held, t->spc.held.data,
                                     t->spc.held.len));
        t->spc.held.len = 0;
    }

    return CHATON_OK;
}


static int
chaton_chat_released(void *data, int path, const unsigned char *s,
    size_t len)
{
    chaton_chat_t  *t = data;

    if (!path) {
        return t->waiting ? chaton_buf_append(&t->pics->held, s, len)
                          : chaton_chat_write(t, s, len, NULL, 0);
    }

    if (t->waiting) {

        /* another picture behind the one waited for: kept for later */

        chaton_try(chaton_buf_literal(&t->pics->held,
                                      "![Image](https://spc.unk/"));
        chaton_try(chaton_buf_append(&t->pics->held, s, len));
        return chaton_buf_literal(&t->pics->held, ")");
    }

    if (t->pics == NULL) {
        t->pics = t->alloc->alloc(t->alloc->pool,
                                  sizeof(chaton_chat_pictures_t));
        if (t->pics == NULL) {
            return CHATON_ERROR;
        }

        chaton_buf_init(&t->pics->image_path, t->alloc, 0);
        chaton_buf_init(&t->pics->held, t->alloc, t->max_answer);
        chaton_buf_init(&t->pics->refeed, t->alloc, t->max_answer);
    }

    t->waiting = 1;
    t->pictures++;
    t->pics->image_path.len = 0;

    return chaton_buf_append(&t->pics->image_path, s, len);
}


/*
 * The picture waited for: its URL, or (url == NULL) a note that it could
 * not be had.  Then what was held behind it goes on, up to the next one.
 */

int
chaton_chat_resolved(chaton_chat_t *t, const unsigned char *url, size_t len,
    const char *note, chaton_buf_t *out)
{
    chaton_buf_t  swap;

    t->out = out;
    t->waiting = 0;

    if (url) {
        chaton_try(chaton_buf_literal(&t->md, "![Image]("));
        chaton_try(chaton_buf_append(&t->md, url, len));
        chaton_try(chaton_buf_literal(&t->md, ")"));

    } else {
        chaton_try(chaton_buf_literal(&t->md, "[image unavailable: "));
        chaton_try(chaton_buf_append_str(&t->md, note ? note : "unknown"));
        chaton_try(chaton_buf_literal(&t->md, "]"));
    }

    chaton_try(chaton_chat_write(t, t->md.data, t->md.len, NULL, 0));
    t->md.len = 0;

    if (t->pics == NULL || t->pics->held.len == 0) {
        return CHATON_OK;
    }

    /* feeding may hold again: the held text is fed from the other buffer */

    swap = t->pics->held;
    t->pics->held = t->pics->refeed;
    t->pics->refeed = swap;
    t->pics->held.len = 0;

    return chaton_chat_content(t, t->pics->refeed.data, t->pics->refeed.len,
                               NULL, 0);
}


/*
 * The end of the answer: text held as a possible placeholder start is text
 * after all.  If t->waiting, a picture must be resolved first (and this
 * called again).
 */

int
chaton_chat_flush(chaton_chat_t *t, chaton_buf_t *out)
{
    t->out = out;

    if (t->waiting) {
        return CHATON_OK;
    }

    chaton_try(chaton_spc_flush(&t->spc, chaton_chat_released, t));

    /* all the text is known (unless a picture was found just now) */

    if (t->extract == NULL || t->waiting || t->text_done) {
        return CHATON_OK;
    }

    t->text_done = 1;

    return chaton_tools_extract_finish(t->extract);
}


static int
chaton_chat_write(chaton_chat_t *t, const unsigned char *content,
    size_t content_len, const unsigned char *reasoning, size_t reasoning_len)
{
    chaton_writer_t  *w;

    w = t->writer;

    if (t->counted) {
        chaton_bpe_feed(&t->counted[0], content, content_len, 0);
        chaton_bpe_feed(&t->counted[1], reasoning, reasoning_len, 0);

    } else {
        chaton_usage_add(&t->completion, content, content_len);
        chaton_usage_add(&t->completion, reasoning, reasoning_len);
    }

    t->content_bytes += content_len + reasoning_len;

    if (reasoning_len) {
        chaton_try(w->ops->reasoning(w, t->out, reasoning, reasoning_len));
    }

    if (content_len) {
        t->content_seen = 1;

        if (t->extract) {
            return chaton_tools_extract(t->extract, content, content_len);
        }

        chaton_try(w->ops->text(w, t->out, content, content_len));
    }

    return CHATON_OK;
}


/* the extractor's text: what cannot be the start of a call any more */

static int
chaton_chat_extracted_text(void *data, const unsigned char *s, size_t len)
{
    chaton_chat_t  *t = data;

    return t->writer->ops->text(t->writer, t->out, s, len);
}


/* an allocator that has none: a buffer's room is all it gets */

static void *
chaton_chat_no_alloc(void *pool, size_t size)
{
    return NULL;
}

static int
chaton_chat_extracted_call(void *data, size_t index,
    const unsigned char *name, size_t name_len, const unsigned char *args,
    size_t args_len)
{
    unsigned char        room[64];
    chaton_buf_t         id;
    chaton_alloc_t       none;
    chaton_tool_call_t   call;
    chaton_chat_t       *t = data;

    /* the id, written out by the writer at once: room for any on the stack */

    none.alloc = chaton_chat_no_alloc;
    none.free = NULL;
    none.pool = NULL;

    id.data = room;
    id.len = 0;
    id.cap = sizeof(room);
    id.max = sizeof(room);
    id.alloc = &none;

    chaton_try(chaton_tools_call_id(&id, t->extract->tools->nonce, index));

    call.index = index;
    call.id = id.data;
    call.id_len = id.len;
    call.name = name;
    call.name_len = name_len;
    call.arguments = args;
    call.arguments_len = args_len;

    return t->writer->ops->tool_call(t->writer, t->out, &call);
}


/*
 * The answer's tokens are counted by the tokenizer, not estimated: its
 * content and its reasoning, each a stream that holds back at most one
 * piece.  Only when the usage is reported: it costs the answer's every
 * delta a scan.
 */

int
chaton_chat_count(chaton_chat_t *t, const chaton_bpe_t *bpe)
{
    t->counted = t->alloc->alloc(t->alloc->pool,
                                 2 * sizeof(chaton_bpe_stream_t));
    if (t->counted == NULL) {
        return CHATON_ERROR;
    }

    chaton_bpe_stream_init(&t->counted[0], bpe);
    chaton_bpe_stream_init(&t->counted[1], bpe);

    return CHATON_OK;
}


#ifdef CHATON_TESTS

/* for the tests: the answer's tokens as the usage reports them */

uint64_t
chaton_chat_completion_tokens(chaton_chat_t *t)
{
    return chaton_usage_tokens(&t->completion);
}


/* for the tests: what a picture holds back, and its path (or nothing) */

static const chaton_buf_t  chaton_chat_none;


const chaton_buf_t *
chaton_chat_held(chaton_chat_t *t)
{
    return t->pics ? &t->pics->held : &chaton_chat_none;
}


const chaton_buf_t *
chaton_chat_image_path(chaton_chat_t *t)
{
    return t->pics ? &t->pics->image_path : &chaton_chat_none;
}

#endif


/*
 * The end of the answer, [DONE] seen and nothing held back: a stream's
 * last events, or the whole answer's object.
 */

int
chaton_chat_end(chaton_chat_t *t, chaton_buf_t *out)
{
    chaton_outcome_t  o;

    if (t->extract && t->extract->ncalls) {
        o.finish = "tool_calls";

    } else {
        o.finish = t->finish[0] ? t->finish : "stop";
    }

    o.prompt_tokens = t->prompt_tokens;

    if (t->counted) {
        o.reasoning_tokens = chaton_bpe_stream_end(&t->counted[1]);
        o.completion_tokens = chaton_bpe_stream_end(&t->counted[0])
                              + o.reasoning_tokens;

    } else {
        o.completion_tokens = chaton_usage_tokens(&t->completion);
        o.reasoning_tokens = 0;
    }

    t->completion_tokens = o.completion_tokens;

    return t->writer->ops->end(t->writer, out, &o);
}


/* an error after the stream began: the writer's error event */

int
chaton_chat_error_event(chaton_chat_t *t, chaton_buf_t *out,
    const chaton_error_t *e)
{
    return t->writer->ops->error(t->writer, out, e);
}


static const chaton_writer_ops_t  chaton_collect_ops = {
    chaton_collect_text,
    NULL,                       /* never ready: no text in JSON's form */
    chaton_collect_reasoning,
    NULL,                       /* no tools are offered to drawings */
    chaton_collect_end,
    chaton_collect_error,
    NULL
};


void
chaton_collect_init(chaton_collect_t *c, chaton_alloc_t *a,
    size_t max_answer)
{
    memset(c, 0, sizeof(chaton_collect_t));

    c->w.ops = &chaton_collect_ops;

    chaton_buf_init(&c->content, a, max_answer);
    chaton_buf_init(&c->reasoning, a, max_answer);
}


static int
chaton_collect_text(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    return chaton_buf_append(&((chaton_collect_t *) w)->content, s, len);
}


static int
chaton_collect_reasoning(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    return chaton_buf_append(&((chaton_collect_t *) w)->reasoning, s, len);
}


/* the text is the caller's to read: nothing more to write */

static int
chaton_collect_end(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_outcome_t *o)
{
    return CHATON_OK;
}


static int
chaton_collect_error(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_error_t *e)
{
    return CHATON_OK;
}
