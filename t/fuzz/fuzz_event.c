/*
 * chaton_event: the single-pass event scanner against cJSON, and the
 * translator's path through it (chaton_chat_event) against its cJSON-only
 * path (chaton_chat_event_cjson), as t/unit/test_event.c does with events
 * it makes up.
 *
 * Input: [flags] event 0xff event 0xff ...
 *
 *   flags bit 0      stream_options.include_usage
 *         bits 1-2   chaton_max_answer_size: none, 64, 1024, 1 MiB
 *         bit 3      the allocator frees (as the module's) or never does
 *         bit 4      shaped: when the first event is a delta with one
 *                    string, each later one is that delta with its bytes
 *                    between the string's quotes (the string's body) in
 *                    place of the string's: what chaton_event_read() reads
 *                    by that string alone
 *         bit 5      the events also framed as SSE ("data: ", a blank
 *                    line; bits 6-7: cut in 1, 2, 7 or 64-byte pieces)
 *
 * Each event is copied to a block of its own size, so that ASan sees any
 * read past it.
 *
 * Checks:
 *   - chaton_event_scan() says CHATON_EVENT_BAD exactly where
 *     chaton_json_parse() gives no object; for a delta, content,
 *     reasoning_content and finish_reason are cJSON's valuestrings (up to
 *     their NUL); a dropped event is one chaton_chunk.c's cJSON code drops;
 *     when the scratch buffer cannot grow, the event is CHATON_EVENT_OTHER
 *     or as without that;
 *   - event after event, chaton_event_read() (through the last delta's
 *     shape) gives what chaton_event_scan() gives;
 *   - framed and fed in pieces to two SSE parsers, one that lets the
 *     translator take whole events from the input (chaton_chat_framed)
 *     and the events the parser hands out the same short way
 *     (chaton_chat_shaped), one that does neither: the same codes and
 *     state after every piece;
 *   - in stream, aggregate and raw mode, the two paths return the same
 *     code for every event and leave the same output, aggregate, held
 *     text, finish_reason, error and counters after every step, pictures
 *     resolved; the finishing chunks or the completion are byte-identical.
 */

#include "fuzz.h"
#include "chaton_chunk.h"
#include "dialect_openai_chat.h"
#include "chaton_event.h"
#include "chaton_sse.h"
#include "../chat_held.h"


/* chaton_chunk.c: chaton_chat_event() without the scanner (the reference) */

int chaton_chat_event_cjson(chaton_chat_t *t, const unsigned char *ev,
    size_t len);


#define SEP          0xff
#define MAXEV        256
#define ID           "chatcmpl-fz"
#define MODEL        "fz-model"
#define CREATED      1732487485

#define MODE_STREAM  0
#define MODE_WHOLE   1
#define MODE_RAW     2


static const size_t  limits[] = { 0, 64, 1024, 1024 * 1024 };


typedef struct {
    int                     include_usage;
    size_t                  max_answer;
    int                     with_free;
} setup_t;


typedef struct {
    chaton_chat_t           t;
    chaton_openai_chat_t    oc;         /* stream and aggregate modes */
    chaton_collect_t        raw;        /* raw mode (images' drawings) */
    chaton_buf_t            out;
} side_t;


/*
 * What the answer's writer keeps of a whole answer, in the side's mode; a
 * stream's keeps nothing (it has no whole-mode buffers)
 */

static chaton_buf_t  side_none;


static chaton_buf_t *
side_content(side_t *s)
{
    if (s->t.writer == &s->raw.w) {
        return &s->raw.content;
    }

    return s->oc.w.stream ? &side_none : &s->oc.whole->content;
}


static chaton_buf_t *
side_reasoning(side_t *s)
{
    if (s->t.writer == &s->raw.w) {
        return &s->raw.reasoning;
    }

    return s->oc.w.stream ? &side_none : &s->oc.whole->reasoning;
}


static void
same_string(const char *what, const unsigned char *ev, size_t len,
    const unsigned char *s, size_t slen, const cJSON *v)
{
    if (v == NULL && s == NULL) {
        return;
    }

    if (v && s && strlen(v->valuestring) == slen
        && memcmp(v->valuestring, s, slen) == 0)
    {
        return;
    }

    fz_dump("event", ev, len);
    fz_dump("scanner", s ? s : (const unsigned char *) "", slen);

    FZ_CHECK(0, "%s: cJSON has %s%s%s", what, v ? "\"" : "",
             v ? v->valuestring : "none", v ? "\"" : "");
}


/* the scanner on one event (an exact copy), against cJSON's tree */

static void
check_scan(const unsigned char *ev, size_t len, int with_free)
{
    int             kind, starved;
    cJSON          *root, *v, *choice, *delta, *c, *r, *f;
    fz_pool_t       pool;
    chaton_buf_t    scratch;
    chaton_event_t  e, e2;

    fz_pool_init(&pool, with_free);
    chaton_buf_init(&scratch, &pool.a, 0);

    kind = chaton_event_scan(&e, ev, len, &scratch);

    FZ_CHECK(kind >= CHATON_EVENT_BAD && kind <= CHATON_EVENT_OTHER,
             "kind %d", kind);
    FZ_CHECK(scratch.len <= len, "%zu bytes unescaped from %zu",
             scratch.len, len);

    root = chaton_json_parse(ev, len);

    if ((kind != CHATON_EVENT_BAD) != cJSON_IsObject(root)) {
        fz_dump("event", ev, len);
        FZ_CHECK(0, "the scanner says %d, cJSON %s", kind,
                 root ? "an object" : "not valid");
    }

    if (kind == CHATON_EVENT_DELTA) {
        v = cJSON_GetObjectItemCaseSensitive(root, "choices");
        choice = cJSON_GetArrayItem(v, 0);

        FZ_CHECK(cJSON_IsArray(v) && cJSON_IsObject(choice),
                 "a delta without choices[0]");

        delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
        f = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
        c = NULL;
        r = NULL;

        if (cJSON_IsObject(delta)) {
            c = cJSON_GetObjectItemCaseSensitive(delta, "content");
            r = cJSON_GetObjectItemCaseSensitive(delta, "reasoning_content");
        }

        same_string("content", ev, len, e.content, e.content_len,
                    cJSON_IsString(c) ? c : NULL);
        same_string("reasoning_content", ev, len, e.reasoning,
                    e.reasoning_len, cJSON_IsString(r) ? r : NULL);
        same_string("finish_reason", ev, len, e.finish, e.finish_len,
                    cJSON_IsString(f) ? f : NULL);
    }

    if (kind == CHATON_EVENT_DROP) {
        FZ_CHECK(cJSON_GetObjectItemCaseSensitive(root, "choices") == NULL,
                 "dropped with choices");

        v = cJSON_GetObjectItemCaseSensitive(root, "data");

        if (v) {
            FZ_CHECK(cJSON_IsObject(v)
                     && !cJSON_GetObjectItemCaseSensitive(v, "web")
                     && !cJSON_GetObjectItemCaseSensitive(v, "error")
                     && (cJSON_HasObjectItem(v, "analytics")
                         || cJSON_HasObjectItem(v, "operation")),
                     "dropped data that is no notice");

        } else {
            FZ_CHECK(!cJSON_GetObjectItemCaseSensitive(root, "error")
                     && cJSON_GetObjectItemCaseSensitive(root, "ping"),
                     "dropped, yet no ping");
        }
    }

    cJSON_Delete(root);

    /* a scratch buffer that cannot grow: cJSON's turn */

    pool.fail_at = pool.allocs + 1;
    chaton_buf_init(&scratch, &pool.a, 0);

    starved = chaton_event_scan(&e2, ev, len, &scratch);

    FZ_CHECK(starved == kind || starved == CHATON_EVENT_OTHER,
             "%d without memory, %d with", starved, kind);

    fz_pool_release(&pool);
}


static int
same_bytes(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen);


static int
same_str(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
    return (a == NULL) == (b == NULL) && same_bytes(a, alen, b, blen);
}


/* the events, in order, read through shapes as they are scanned whole */

static void
check_read(unsigned char **ev, const size_t *len, size_t n, int with_free)
{
    int                   ka, kb;
    size_t                i;
    fz_pool_t             pool;
    chaton_buf_t          sa, sb;
    chaton_event_t        ea, eb;
    chaton_event_shape_t  sh;

    fz_pool_init(&pool, with_free);
    chaton_buf_init(&sa, &pool.a, 0);
    chaton_buf_init(&sb, &pool.a, 0);
    chaton_event_shape_init(&sh, &pool.a);

    for (i = 0; i < n; i++) {
        ka = chaton_event_read(&sh, &ea, ev[i], len[i], &sa);
        kb = chaton_event_scan(&eb, ev[i], len[i], &sb);

        if (ka == kb
            && (ka != CHATON_EVENT_DELTA
                || (same_str(ea.content, ea.content_len, eb.content,
                             eb.content_len)
                    && same_str(ea.reasoning, ea.reasoning_len,
                                eb.reasoning, eb.reasoning_len)
                    && same_str(ea.finish, ea.finish_len, eb.finish,
                                eb.finish_len))))
        {
            continue;
        }

        fz_dump("event", ev[i], len[i]);
        FZ_CHECK(0, "event %zu: %d read through the shape, %d scanned whole",
                 i, ka, kb);
    }

    fz_pool_release(&pool);
}


/*
 * Shaped input (flags bit 4): each event after the first becomes the
 * first one with its bytes in place of the first's one string's body.
 */

static void
shape_events(unsigned char **ev, size_t *len, size_t n)
{
    size_t                i, head, tail;
    fz_pool_t             pool;
    chaton_buf_t          scratch;
    unsigned char        *p;
    chaton_event_t        e;
    const unsigned char  *raw, *end;

    fz_pool_init(&pool, 1);
    chaton_buf_init(&scratch, &pool.a, 0);

    if (n < 2
        || chaton_event_scan(&e, ev[0], len[0], &scratch)
           != CHATON_EVENT_DELTA
        || e.finish != NULL
        || (e.content_raw == NULL) == (e.reasoning_raw == NULL))
    {
        fz_pool_release(&pool);
        return;
    }

    raw = e.content_raw ? e.content_raw : e.reasoning_raw;
    end = e.content_raw ? e.content_raw_end : e.reasoning_raw_end;

    head = raw + 1 - ev[0];
    tail = ev[0] + len[0] - (end - 1);

    for (i = 1; i < n; i++) {
        p = malloc(head + len[i] + tail);
        FZ_CHECK(p != NULL, "out of memory");

        memcpy(p, ev[0], head);

        if (len[i]) {
            memcpy(p + head, ev[i], len[i]);
        }

        memcpy(p + head + len[i], end - 1, tail);

        free(ev[i]);
        ev[i] = p;
        len[i] += head + tail;
    }

    fz_pool_release(&pool);
}


static void
side_init(side_t *s, chaton_alloc_t *a, int mode, const setup_t *su)
{
    FZ_CHECK(chaton_openai_chat_init(&s->oc, a, (const unsigned char *) ID,
                                     sizeof(ID) - 1,
                                     (const unsigned char *) MODEL,
                                     sizeof(MODEL) - 1, CREATED,
                                     su->max_answer, mode == MODE_STREAM,
                                     mode == MODE_STREAM
                                     && su->include_usage)
             == CHATON_OK, "openai_chat_init");
    chaton_collect_init(&s->raw, a, su->max_answer);

    FZ_CHECK(chaton_chat_init(&s->t, a, mode == MODE_RAW ? &s->raw.w
                                                         : &s->oc.w,
                              su->max_answer)
             == CHATON_OK, "chat_init");

    s->t.prompt_tokens = 17;

    chaton_buf_init(&s->out, a, 0);
    s->t.out = &s->out;
}


static int
same_bytes(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}


static void
same_state(side_t *a, side_t *b, const char *when, size_t i)
{
    const char  *what;

    what = NULL;

    if (!same_bytes(a->out.data, a->out.len, b->out.data, b->out.len)) {
        what = "output";

    } else if (!same_bytes(side_content(a)->data, side_content(a)->len,
                           side_content(b)->data, side_content(b)->len)
               || !same_bytes(side_reasoning(a)->data,
                              side_reasoning(a)->len,
                              side_reasoning(b)->data,
                              side_reasoning(b)->len))
    {
        what = "aggregate";

    } else if (!chaton_t_same_held(&a->t, &b->t)) {
        what = "held text";

    } else if (strcmp(a->t.finish, b->t.finish) != 0) {
        what = "finish_reason";

    } else if (!chaton_error_same(a->t.error, b->t.error)) {
        what = "error";

    } else if (a->t.events != b->t.events || a->t.writer->chunks != b->t.writer->chunks
               || a->t.content_bytes != b->t.content_bytes
               || a->t.pictures != b->t.pictures
               || a->oc.role_sent != b->oc.role_sent
               || a->t.content_seen != b->t.content_seen
               || a->t.backend_done != b->t.backend_done || a->t.waiting != b->t.waiting
               || chaton_chat_completion_tokens(&a->t)
                  != chaton_chat_completion_tokens(&b->t))
    {
        what = "counters";
    }

    if (what) {
        fz_dump("the scanner's output", a->out.data, a->out.len);
        fz_dump("cJSON's output", b->out.data, b->out.len);
        FZ_CHECK(0, "%s %zu: the %s differs", when, i, what);
    }
}


static int
resolve(side_t *s)
{
    int                  n;
    size_t               len;
    unsigned char        url[600];
    const chaton_buf_t  *path;

    for (n = 0; s->t.waiting; n++) {
        FZ_CHECK(n < 100000, "resolving pictures does not end");

        memcpy(url, "https://cdn.example/", 20);
        path = chaton_chat_image_path(&s->t);
        len = path->len < 500 ? path->len : 500;
        memcpy(url + 20, path->data, len);

        chaton_try(chaton_chat_resolved(&s->t, url, 20 + len, NULL,
                                        &s->out));
    }

    return CHATON_OK;
}


/* after a step of both sides: the same state, and again once pictures
 * waited for are resolved on both */

static int
same_then_resolved(side_t *a, side_t *b, int rc, const char *when, size_t i)
{
    same_state(a, b, when, i);

    if (rc == CHATON_OK) {
        rc = resolve(a);
        FZ_CHECK(resolve(b) == rc, "resolving differs");
        same_state(a, b, "resolved", i);
    }

    return rc;
}


static void
run(int mode, const setup_t *su, unsigned char **ev, const size_t *len,
    size_t n)
{
    int            ra, rb;
    size_t         i;
    side_t         a, b;
    fz_pool_t      pool;
    chaton_buf_t   ca, cb;

    fz_pool_init(&pool, su->with_free);

    side_init(&a, &pool.a, mode, su);
    side_init(&b, &pool.a, mode, su);

    ra = CHATON_OK;

    for (i = 0; i < n; i++) {
        ra = chaton_chat_event(&a.t, ev[i], len[i]);
        rb = chaton_chat_event_cjson(&b.t, ev[i], len[i]);

        if (ra != rb) {
            fz_dump("event", ev[i], len[i]);
            FZ_CHECK(0, "event %zu, mode %d: %d by the scanner, %d by cJSON",
                     i, mode, ra, rb);
        }

        FZ_CHECK(a.t.md.len == 0, "the scratch buffer left full");

        ra = same_then_resolved(&a, &b, ra, "event", i);

        if (ra != CHATON_OK) {
            break;
        }
    }

    if (ra == CHATON_OK || ra == CHATON_DONE) {
        do {
            ra = resolve(&a);
            FZ_CHECK(resolve(&b) == ra, "resolving differs");

            if (ra == CHATON_OK) {
                ra = chaton_chat_flush(&a.t, &a.out);
                FZ_CHECK(chaton_chat_flush(&b.t, &b.out) == ra,
                         "flush differs");
            }
        } while (ra == CHATON_OK && a.t.waiting);

        same_state(&a, &b, "flush", n);
    }

    if (ra == CHATON_OK && mode == MODE_STREAM) {
        FZ_CHECK(chaton_chat_end(&a.t, &a.out) == CHATON_OK
                 && chaton_chat_end(&b.t, &b.out) == CHATON_OK, "finish");
        same_state(&a, &b, "finish", n);

    } else if (ra == CHATON_OK) {
        chaton_buf_init(&ca, &pool.a, 0);
        chaton_buf_init(&cb, &pool.a, 0);

        FZ_CHECK(chaton_chat_end(&a.t, &ca) == CHATON_OK
                 && chaton_chat_end(&b.t, &cb) == CHATON_OK,
                 "completion");

        if (!same_bytes(ca.data, ca.len, cb.data, cb.len)) {
            fz_dump("the scanner's completion", ca.data, ca.len);
            fz_dump("cJSON's completion", cb.data, cb.len);
            FZ_CHECK(0, "the completions differ");
        }
    }

    fz_pool_release(&pool);
}


static int
framed_event(void *data, const unsigned char *ev, size_t len)
{
    side_t  *s = data;

    return chaton_chat_event(&s->t, ev, len);
}


/* the side with the short ways: the parser's events as the module's are */

static int
framed_shaped_event(void *data, const unsigned char *ev, size_t len)
{
    int      rc;
    side_t  *s = data;

    rc = chaton_chat_shaped(&s->t, ev, len);

    return (rc == CHATON_DECLINED) ? chaton_chat_event(&s->t, ev, len) : rc;
}


static int
framed_whole(void *data, const unsigned char *in, size_t len, size_t room,
    size_t *n)
{
    side_t  *s = data;

    return chaton_chat_framed(&s->t, in, len, room, n);
}


/* the events as the backend frames them, through SSE parsers with and
 * without whole events taken from the input */

static void
run_framed(const setup_t *su, unsigned char **ev, const size_t *len,
    size_t n, size_t piece)
{
    int            ra, rb;
    size_t         i, at, wlen, k;
    side_t         a, b;
    fz_pool_t      pool;
    chaton_sse_t   pa, pb;
    unsigned char *wire, *copy;

    wlen = 0;

    for (i = 0; i < n; i++) {
        wlen += 6 + len[i] + 2;
    }

    wire = malloc(wlen ? wlen : 1);
    FZ_CHECK(wire != NULL, "out of memory");

    for (i = 0, at = 0; i < n; i++) {
        memcpy(wire + at, "data: ", 6);

        if (len[i]) {
            memcpy(wire + at + 6, ev[i], len[i]);
        }

        memcpy(wire + at + 6 + len[i], "\n\n", 2);
        at += 6 + len[i] + 2;
    }

    fz_pool_init(&pool, su->with_free);

    side_init(&a, &pool.a, MODE_STREAM, su);
    side_init(&b, &pool.a, MODE_STREAM, su);

    chaton_sse_init(&pa, &pool.a, 1024 * 1024);
    chaton_sse_init(&pb, &pool.a, 1024 * 1024);
    pa.whole = framed_whole;

    ra = CHATON_OK;

    for (at = 0, k = 0; at < wlen; at += piece, k++) {
        if (piece > wlen - at) {
            piece = wlen - at;
        }

        /* each piece in a block of its own: ASan sees a read past it */

        copy = malloc(piece);
        FZ_CHECK(copy != NULL, "out of memory");
        memcpy(copy, wire + at, piece);

        ra = chaton_sse_feed(&pa, copy, piece, framed_shaped_event, &a);
        rb = chaton_sse_feed(&pb, copy, piece, framed_event, &b);

        free(copy);

        FZ_CHECK(ra == rb, "piece %zu: %d with whole events taken, %d "
                 "without", k, ra, rb);

        ra = same_then_resolved(&a, &b, ra, "framed piece", k);

        if (ra != CHATON_OK) {
            break;
        }
    }

    fz_pool_release(&pool);
    free(wire);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          i, n, len[MAXEV];
    setup_t         su;
    unsigned char  *ev[MAXEV];
    const uint8_t  *p, *end, *sep;

    if (size < 1) {
        return 0;
    }

    su.include_usage = data[0] & 1;
    su.max_answer = limits[(data[0] >> 1) & 3];
    su.with_free = (data[0] >> 3) & 1;

    /* the events, each in a block of its own size */

    n = 0;
    p = data + 1;
    end = data + size;

    while (n < MAXEV) {
        sep = memchr(p, SEP, end - p);
        len[n] = (sep ? sep : end) - p;

        ev[n] = malloc(len[n] ? len[n] : 1);
        FZ_CHECK(ev[n] != NULL, "out of memory");

        if (len[n]) {
            memcpy(ev[n], p, len[n]);
        }

        n++;

        if (sep == NULL) {
            break;
        }

        p = sep + 1;
    }

    if (data[0] & 0x10) {
        shape_events(ev, len, n);
    }

    for (i = 0; i < n; i++) {
        check_scan(ev[i], len[i], su.with_free);
    }

    check_read(ev, len, n, su.with_free);

    run(MODE_STREAM, &su, ev, len, n);
    run(MODE_WHOLE, &su, ev, len, n);
    run(MODE_RAW, &su, ev, len, n);

    if (data[0] & 0x20) {
        run_framed(&su, ev, len, n,
                   (const size_t[]) { 1, 2, 7, 64 }[(data[0] >> 6) & 3]);
    }

    for (i = 0; i < n; i++) {
        free(ev[i]);
    }

    return 0;
}
