/*
 * chaton_event.h: the single-pass scanner of backend events, held to cJSON.
 *
 *   - the scanner takes exactly the events chaton_json_parse() takes as an
 *     object, and a delta's strings come out as cJSON's valuestrings do;
 *   - differential: the translator (chaton_chat_event) gives the same
 *     chunks, aggregate, errors and state, byte for byte, as the cJSON-only
 *     path (chaton_chat_event_cjson) over hand-written events, over tens of
 *     thousands of generated ones (every escape, surrogates good and bad,
 *     numbers of every form, white space, nesting, duplicate names, junk
 *     after the object) and over every prefix of many of them;
 *   - no allocation per event once the scratch buffer has grown, and the
 *     cJSON path when it cannot grow.
 */

#include "unit.h"
#include "chaton_chunk.h"
#include "dialect_openai_chat.h"
#include "chaton_event.h"
#include "chaton_sse.h"
#include "stream.h"
#include "../chat_held.h"


/* chaton_chunk.c: chaton_chat_event() without the scanner (the reference) */

int chaton_chat_event_cjson(chaton_chat_t *t, const unsigned char *ev,
    size_t len);


#define ID        "chatcmpl-gw-0001"
#define MODEL     "my-gpt-4o"
#define CREATED   1732487485

#define MODE_STREAM  0
#define MODE_WHOLE   1
#define MODE_RAW     2


/* ---- the oracle: what cJSON makes of an event --------------------------- */


static void
dump(const char *what, const unsigned char *s, size_t len)
{
    size_t  i;
    char    line[4096];
    size_t  n;

    n = 0;

    for (i = 0; i < len && n < sizeof(line) - 8; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
            line[n++] = (char) s[i];

        } else {
            n += snprintf(line + n, sizeof(line) - n, "\\x%02x", s[i]);
        }
    }

    line[n] = '\0';

    print_error("%s (%zu bytes): %s%s\n", what, len, line,
                i < len ? "..." : "");
}


/*
 * A copy of exactly len bytes in a block of its own, so that a sanitizer
 * (EXTRA_CFLAGS=-fsanitize=address) sees any read past the event.
 */

static unsigned char *
exact(const unsigned char *s, size_t len)
{
    unsigned char  *p;

    p = malloc(len ? len : 1);
    assert_non_null(p);

    if (len) {
        memcpy(p, s, len);
    }

    return p;
}


/*
 * Scans an event and checks the result against cJSON's tree: the same
 * validity; for a delta, the strings chaton_chunk.c's cJSON code would
 * take; for a dropped event, a shape that code drops.  Returns the kind.
 */

static int
check_scan(const unsigned char *ev, size_t len, chaton_buf_t *scratch)
{
    int             kind;
    cJSON          *root, *v, *choice, *delta, *c, *r, *f;
    unsigned char  *s;
    chaton_event_t  e;

    s = exact(ev, len);

    kind = chaton_event_scan(&e, s, len, scratch);

    root = chaton_json_parse(s, len);

    if ((kind != CHATON_EVENT_BAD) != cJSON_IsObject(root)) {
        dump("event", s, len);
        print_error("scanner: %d, cJSON: %s\n", kind,
                    root ? "an object" : "invalid");
        cJSON_Delete(root);
        fail();
    }

    if (kind == CHATON_EVENT_DELTA) {
        v = cJSON_GetObjectItemCaseSensitive(root, "choices");
        assert_true(cJSON_IsArray(v));

        choice = cJSON_GetArrayItem(v, 0);
        assert_true(cJSON_IsObject(choice));

        delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
        f = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
        c = NULL;
        r = NULL;

        if (cJSON_IsObject(delta)) {
            c = cJSON_GetObjectItemCaseSensitive(delta, "content");
            r = cJSON_GetObjectItemCaseSensitive(delta, "reasoning_content");
        }

        c = cJSON_IsString(c) ? c : NULL;
        r = cJSON_IsString(r) ? r : NULL;
        f = cJSON_IsString(f) ? f : NULL;

        if ((c == NULL) != (e.content == NULL)
            || (r == NULL) != (e.reasoning == NULL)
            || (f == NULL) != (e.finish == NULL)
            || (c && (strlen(c->valuestring) != e.content_len
                      || memcmp(c->valuestring, e.content, e.content_len)))
            || (r && (strlen(r->valuestring) != e.reasoning_len
                      || memcmp(r->valuestring, e.reasoning,
                                e.reasoning_len)))
            || (f && (strlen(f->valuestring) != e.finish_len
                      || memcmp(f->valuestring, e.finish, e.finish_len))))
        {
            dump("event", s, len);
            dump("content", e.content ? e.content : (unsigned char *) "",
                 e.content_len);
            dump("reasoning",
                 e.reasoning ? e.reasoning : (unsigned char *) "",
                 e.reasoning_len);
            dump("finish", e.finish ? e.finish : (unsigned char *) "",
                 e.finish_len);
            print_error("cJSON: content %s, reasoning %s, finish %s\n",
                        c ? c->valuestring : "(none)",
                        r ? r->valuestring : "(none)",
                        f ? f->valuestring : "(none)");
            cJSON_Delete(root);
            fail();
        }
    }

    if (kind == CHATON_EVENT_DROP) {

        /* what chaton_chat_json() drops, and only ping or notices */

        assert_null(cJSON_GetObjectItemCaseSensitive(root, "choices"));
        v = cJSON_GetObjectItemCaseSensitive(root, "data");

        if (v) {
            assert_true(cJSON_IsObject(v));
            assert_null(cJSON_GetObjectItemCaseSensitive(v, "web"));
            assert_null(cJSON_GetObjectItemCaseSensitive(v, "error"));
            assert_true(cJSON_HasObjectItem(v, "analytics")
                        || cJSON_HasObjectItem(v, "operation"));

        } else {
            assert_null(cJSON_GetObjectItemCaseSensitive(root, "error"));
            assert_non_null(cJSON_GetObjectItemCaseSensitive(root, "ping"));
        }
    }

    cJSON_Delete(root);
    free(s);

    return kind;
}


/* ---- the differential: the translator, fast path against cJSON path ----- */


typedef struct {
    chaton_chat_t          t;
    chaton_openai_chat_t   oc;          /* stream and aggregate modes */
    chaton_collect_t       raw;         /* raw mode (images' drawings) */
    int                    include_usage;
    chaton_buf_t           out;
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
side_init(side_t *s, chaton_alloc_t *a, int mode, int include_usage,
    size_t max_answer)
{
    assert_int_equal(chaton_openai_chat_init(&s->oc, a,
                                             (const unsigned char *) ID,
                                             sizeof(ID) - 1,
                                             (const unsigned char *) MODEL,
                                             sizeof(MODEL) - 1, CREATED,
                                             max_answer,
                                             mode == MODE_STREAM,
                                             include_usage), CHATON_OK);
    chaton_collect_init(&s->raw, a, max_answer);

    assert_int_equal(chaton_chat_init(&s->t, a, mode == MODE_RAW
                                                ? &s->raw.w : &s->oc.w,
                                      max_answer), CHATON_OK);

    s->include_usage = include_usage;
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


/* every observable of the two translators, after each step */

static void
same_state(side_t *a, side_t *b, const char *when)
{
    const char  *what;

    what = NULL;

    if (!same_bytes(a->out.data, a->out.len, b->out.data, b->out.len)) {
        what = "output";

    } else if (!same_bytes(side_content(a)->data, side_content(a)->len,
                           side_content(b)->data, side_content(b)->len))
    {
        what = "aggregate content";

    } else if (!same_bytes(side_reasoning(a)->data, side_reasoning(a)->len,
                           side_reasoning(b)->data, side_reasoning(b)->len))
    {
        what = "aggregate reasoning";

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
        print_error("%s: the %s differs between the scanner and cJSON\n",
                    when, what);
        dump("scanner's output", a->out.data, a->out.len);
        dump("cJSON's output", b->out.data, b->out.len);
        fail();
    }
}


/* pictures waited for get their URL, on both sides alike */

static int
resolve(side_t *s)
{
    int                  n;
    size_t               len;
    unsigned char        url[600];
    const chaton_buf_t  *path;

    for (n = 0; s->t.waiting; n++) {
        assert_true(n < 100000);

        memcpy(url, "https://cdn.example/", 20);
        path = chaton_chat_image_path(&s->t);
        len = path->len < 500 ? path->len : 500;
        memcpy(url + 20, path->data, len);

        chaton_try(chaton_chat_resolved(&s->t, url, 20 + len, NULL,
                                        &s->out));
    }

    return CHATON_OK;
}


/* after a step of both translators: the same state, and again once the
 * pictures waited for are resolved on both sides */

static int
same_then_resolved(side_t *a, side_t *b, int rc, const char *when)
{
    same_state(a, b, when);

    if (rc == CHATON_OK) {
        rc = resolve(a);
        assert_int_equal(resolve(b), rc);
        same_state(a, b, when);
    }

    return rc;
}


/*
 * Runs events through both translators, as the module does (stopping at
 * the first event that is not CHATON_OK), then ends the answer; compares
 * after every step.
 */

static void
differ(const unsigned char **ev, const size_t *len, size_t n, int mode,
    int include_usage, size_t max_answer)
{
    int             ra, rb;
    size_t          i;
    side_t          a, b;
    unit_pool_t     pool;
    chaton_buf_t    ca, cb;
    unsigned char  *copy;
    chaton_alloc_t  alloc;
    char            when[64];

    /* a pool of its own: runs are many, and the core need not free */

    unit_pool_init(&pool);
    alloc = unit_allocator(&pool, 1);

    side_init(&a, &alloc, mode, include_usage, max_answer);
    side_init(&b, &alloc, mode, include_usage, max_answer);

    ra = CHATON_OK;

    for (i = 0; i < n; i++) {
        copy = exact(ev[i], len[i]);
        ra = chaton_chat_event(&a.t, copy, len[i]);
        free(copy);

        rb = chaton_chat_event_cjson(&b.t, ev[i], len[i]);

        snprintf(when, sizeof(when), "event %zu, mode %d", i, mode);

        if (ra != rb) {
            dump("event", ev[i], len[i]);
            print_error("%s: %d from the scanner's path, %d from cJSON's\n",
                        when, ra, rb);
            fail();
        }

        /* chaton_chat_resolved() expects the scratch buffer empty */
        assert_int_equal(a.t.md.len, 0);

        ra = same_then_resolved(&a, &b, ra, when);

        if (ra != CHATON_OK) {
            break;
        }
    }

    if (ra != CHATON_OK && ra != CHATON_DONE) {
        unit_pool_release(&pool);
        return;
    }

    /* the end of the answer */

    do {
        ra = resolve(&a);
        assert_int_equal(resolve(&b), ra);

        if (ra == CHATON_OK) {
            ra = chaton_chat_flush(&a.t, &a.out);
            assert_int_equal(chaton_chat_flush(&b.t, &b.out), ra);
        }
    } while (ra == CHATON_OK && a.t.waiting);

    same_state(&a, &b, "flush");

    if (ra != CHATON_OK) {
        unit_pool_release(&pool);
        return;
    }

    if (mode == MODE_STREAM) {
        assert_int_equal(chaton_chat_end(&a.t, &a.out), CHATON_OK);
        assert_int_equal(chaton_chat_end(&b.t, &b.out), CHATON_OK);
        same_state(&a, &b, "finish");
        unit_pool_release(&pool);
        return;
    }

    chaton_buf_init(&ca, &alloc, 0);
    chaton_buf_init(&cb, &alloc, 0);
    assert_int_equal(chaton_chat_end(&a.t, &ca), CHATON_OK);
    assert_int_equal(chaton_chat_end(&b.t, &cb), CHATON_OK);

    if (!same_bytes(ca.data, ca.len, cb.data, cb.len)) {
        dump("scanner's completion", ca.data, ca.len);
        dump("cJSON's completion", cb.data, cb.len);
        fail();
    }

    unit_pool_release(&pool);
}


static void
differ_all_modes(const unsigned char **ev, const size_t *len, size_t n)
{
    differ(ev, len, n, MODE_STREAM, 0, 0);
    differ(ev, len, n, MODE_STREAM, 1, 0);
    differ(ev, len, n, MODE_WHOLE, 0, 0);
    differ(ev, len, n, MODE_WHOLE, 0, 64);
    differ(ev, len, n, MODE_RAW, 0, 0);
}


/* one event, checked by the scanner and through both translators */

static int
check_one(const void *s, size_t len)
{
    int                   kind;
    chaton_buf_t          scratch;
    const unsigned char  *ev;

    ev = s;

    chaton_buf_init(&scratch, &unit_alloc, 0);
    kind = check_scan(ev, len, &scratch);
    differ_all_modes(&ev, &len, 1);

    return kind;
}


#define check_str(s)  check_one((s), sizeof(s) - 1)


/* the content a delta gives, as a NUL-terminated copy */

static char *
content_of(const char *s, size_t len)
{
    chaton_buf_t    scratch;
    chaton_event_t  e;

    chaton_buf_init(&scratch, &unit_alloc, 0);

    assert_int_equal(chaton_event_scan(&e, (const unsigned char *) s, len,
                                       &scratch), CHATON_EVENT_DELTA);
    assert_non_null(e.content);

    return unit_strn(e.content, e.content_len);
}


#define CONTENT_OF(s)  content_of((s), sizeof(s) - 1)


#define DELTA_OF(text)                                                        \
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text "\"}}]}"


/* ---- hand-written events ------------------------------------------------ */


static void
test_event_kinds(void **state)
{
    size_t  i;

    static const struct {
        const char  *ev;
        int          kind;
    } cases[] = {
        { P_PING, CHATON_EVENT_DROP },
        { P_ANALYTICS, CHATON_EVENT_DROP },
        { P_OPERATION, CHATON_EVENT_DROP },
        { P_SOURCES, CHATON_EVENT_OTHER },
        { P_REASONING, CHATON_EVENT_DELTA },
        { P_CONTENT1, CHATON_EVENT_DELTA },
        { P_CONTENT2, CHATON_EVENT_DELTA },
        { P_FINISH, CHATON_EVENT_DELTA },
        { "{\"error\":\"overloaded\"}", CHATON_EVENT_OTHER },
        { "{\"error\":{\"message\":\"no\"}}", CHATON_EVENT_OTHER },
        { "{\"data\":{\"error\":\"no\"}}", CHATON_EVENT_OTHER },
        { "{\"data\":{\"operation\":\"x\",\"error\":\"no\"}}",
          CHATON_EVENT_OTHER },
        { "{\"data\":{\"analytics\":{},\"web\":{\"sources\":[]}}}",
          CHATON_EVENT_OTHER },
        { "{\"data\":{\"content_delta\":\"page\"}}", CHATON_EVENT_OTHER },
        { "{\"data\":null}", CHATON_EVENT_OTHER },
        { "{\"data\":{\"analytics\":1},\"error\":\"ignored\"}",
          CHATON_EVENT_DROP },
        { "{\"ping\":1,\"error\":\"x\"}", CHATON_EVENT_OTHER },
        { "{\"ping\":1,\"other\":2}", CHATON_EVENT_DROP },
        { "{}", CHATON_EVENT_OTHER },
        { "{\"something\":\"new\"}", CHATON_EVENT_OTHER },
        { "{\"choices\":[]}", CHATON_EVENT_OTHER },
        { "{\"choices\":null}", CHATON_EVENT_OTHER },
        { "{\"choices\":{\"x\":{\"delta\":{\"content\":\"obj\"}}}}",
          CHATON_EVENT_OTHER },
        { "{\"choices\":[1,{\"delta\":{\"content\":\"2nd\"}}]}",
          CHATON_EVENT_OTHER },
        { "{\"choices\":[{\"index\":0}]}", CHATON_EVENT_DELTA },
        { "{\"choices\":[{\"delta\":null}]}", CHATON_EVENT_DELTA },
        { "{\"choices\":[{\"delta\":{\"content\":5}}]}", CHATON_EVENT_DELTA },
        { "{\"data\":{\"analytics\":1},\"choices\":[{}]}",
          CHATON_EVENT_DELTA },
        { "[DONE]", CHATON_EVENT_BAD },
        { "", CHATON_EVENT_BAD },
        { "[]", CHATON_EVENT_BAD },
        { "\"s\"", CHATON_EVENT_BAD },
        { "1", CHATON_EVENT_BAD },
        { "null", CHATON_EVENT_BAD },
        { "{\"a\":1}x", CHATON_EVENT_BAD },
        { "{}{}", CHATON_EVENT_BAD },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (check_one(cases[i].ev, strlen(cases[i].ev)) != cases[i].kind) {
            print_error("%s: not of kind %d\n", cases[i].ev, cases[i].kind);
            fail();
        }
    }

    /* the delta's fields */

    assert_string_equal(content_of(P_CONTENT1, strlen(P_CONTENT1)),
                        "Caf" E_ACUTE " " ZHONGWEN " " EMOJI);
    assert_string_equal(content_of(P_CONTENT2, strlen(P_CONTENT2)),
                        " " EMOJI " " LS " \"quoted\" back\\slash\nnew line");
}


static void
test_event_escapes(void **state)
{
    size_t  i;

    static const struct {
        const char  *ev;
        const char  *content;
    } cases[] = {
        { DELTA_OF("a\\nb"), "a\nb" },
        { DELTA_OF("\\t\\r\\n\\b\\f"), "\t\r\n\b\f" },
        { DELTA_OF("\\\"\\\\\\/"), "\"\\/" },
        { DELTA_OF("/"), "/" },
        { DELTA_OF("\\u0041\\u00e9\\u4e2D\\u2028"),
          "A" E_ACUTE "\xe4\xb8\xad" LS },
        { DELTA_OF("\\u007f\\u0080\\u07ff\\u0800\\uffff"),
          "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf" },
        { DELTA_OF("\\ud83d\\ude00"), EMOJI },
        { DELTA_OF("\\uD83D\\uDE00!"), EMOJI "!" },
        { DELTA_OF("\\ud800\\udc00\\udbff\\udfff"),
          "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf" },
        { DELTA_OF("\\u001f\x01\x1f\x7f"), "\x1f\x01\x1f\x7f" },
        { DELTA_OF("raw \xff\xc3 bytes"), "raw \xff\xc3 bytes" },

        /* where cJSON's C string ends */
        { DELTA_OF("ab\\u0000cd"), "ab" },
        { DELTA_OF("\\u0000"), "" },
        { DELTA_OF("x\\u12G4yz"), "x" },
        { DELTA_OF("x\\uZZZZ\\n"), "x" },
        { DELTA_OF("x\\u1\\\"ab"), "x" },
        { DELTA_OF("x\\uabc\\\\"), "x" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(check_one(cases[i].ev, strlen(cases[i].ev)),
                         CHATON_EVENT_DELTA);
        assert_string_equal(content_of(cases[i].ev, strlen(cases[i].ev)),
                            cases[i].content);
    }

    /* a raw NUL ends the C string too */

    assert_int_equal(check_str("{\"choices\":[{\"delta\":{\"content\":\"ab\0cd"
                               "\"}}]}"), CHATON_EVENT_DELTA);
    assert_string_equal(CONTENT_OF("{\"choices\":[{\"delta\":{\"content\":"
                                   "\"ab\0c\\nd\"}}]}"), "ab");
}


static void
test_event_bad_escapes(void **state)
{
    size_t  i;

    static const char  *bad[] = {
        DELTA_OF("\\ud83d"),                /* lone high surrogate */
        DELTA_OF("\\ud83dx"),
        DELTA_OF("\\ud83d\\n"),
        DELTA_OF("\\ud83d\\u0041"),         /* high, then not a low one */
        DELTA_OF("\\ud83d\\ud83d"),
        DELTA_OF("\\ud83d\\uZZZZ"),
        DELTA_OF("\\ude00"),                /* lone low surrogate */
        DELTA_OF("\\ude00\\ud83d"),
        DELTA_OF("\\udfff"),
        DELTA_OF("\\x41"),
        DELTA_OF("\\a"),
        DELTA_OF("\\0"),
        DELTA_OF("\\U0041"),
        DELTA_OF("\\u12"),
        DELTA_OF("\\u"),
        DELTA_OF("\\u1\""),                 /* cJSON's string ends early */
        DELTA_OF("x\\uab\\\"\\q"),          /* misaligned into \q */
        DELTA_OF("x\\u1234\\uabc\\\\ude00"),
        "{\"choices\":[{\"delta\":{\"content\":\"abc\\",
        "{\"choices\":[{\"delta\":{\"content\":\"abc",
        "{\"choices\":[{\"delta\":{\"content\":\"abc\\\"}}]}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (check_one(bad[i], strlen(bad[i])) != CHATON_EVENT_BAD) {
            print_error("%s: accepted\n", bad[i]);
            fail();
        }
    }

    /* in a string skipped, and in a name, the same */

    assert_int_equal(check_str("{\"id\":\"\\ud83d\",\"choices\":[{}]}"),
                     CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"\\ude00\":1,\"choices\":[{}]}"),
                     CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"x\":[\"\\uab\\\"\\q\"]}"),
                     CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"x\":[\"\\uab\\\"\"]}"), CHATON_EVENT_OTHER);
}


/* names as cJSON_GetObjectItemCaseSensitive() compares them */

static void
test_event_names(void **state)
{
    assert_string_equal(CONTENT_OF("{\"choices\":[{\"delta\":{\"\\u0063ont"
                                   "ent\":\"esc\"}}]}"), "esc");
    assert_string_equal(CONTENT_OF("{\"choices\":[{\"delta\":{\"content\\u00"
                                   "00junk\":\"nul\"}}]}"), "nul");
    assert_string_equal(CONTENT_OF("{\"choices\":[{\"delta\":{\"content\0x\""
                                   ":\"raw nul\"}}]}"), "raw nul");

    assert_int_equal(check_str("{\"ch\\u006fices\":[{\"delta\":{\"content\":"
                               "\"a\"}}]}"), CHATON_EVENT_DELTA);
    assert_int_equal(check_str("{\"Choices\":[{\"delta\":{\"content\":\"a\"}}"
                               "]}"), CHATON_EVENT_OTHER);
    assert_int_equal(check_str("{\"choices \":[{}]}"), CHATON_EVENT_OTHER);
    assert_int_equal(check_str("{\"pin\\u0067\":1}"), CHATON_EVENT_DROP);
    assert_int_equal(check_str("{\"data\":{\"analytics\\u0000\":1}}"),
                     CHATON_EVENT_DROP);
    assert_int_equal(check_str("{\"choices\":[{\"delta\":{\"reasoning_conten"
                               "\\u0074\":\"r\",\"content\":null}}]}"),
                     CHATON_EVENT_DELTA);

    /* a long name with escapes matches nothing, whatever it starts with */

    assert_int_equal(check_str("{\"choices\":[{\"delta\":{\"content\\u0020"
                               "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
                               "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
                               "\":\"no\"}}]}"), CHATON_EVENT_DELTA);
}


/* names one byte off those looked for, wherever they are looked for */

static void
test_event_near_names(void **state)
{
    int     n;
    char    name[32], ev[256];
    size_t  i, j, k, sh, len;

    static const char  *names[] = {
        "web", "data", "ping", "delta", "error", "content", "choices",
        "analytics", "operation", "finish_reason", "reasoning_content",
    };
    static const char  *shapes[] = {
        "{\"%s\":[{\"delta\":{\"content\":\"a\"}}]}",
        "{\"%s\":{\"analytics\":1}}",
        "{\"%s\":1}",
        "{\"data\":{\"%s\":1}}",
        "{\"choices\":[{\"%s\":{\"content\":\"a\"}}]}",
        "{\"choices\":[{\"%s\":\"stop\"}]}",
        "{\"choices\":[{\"delta\":{\"%s\":\"x\"}}]}",
    };
    static const char  other[] = { 'X', '\x01', '\xff', 'a', '_' };

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        len = strlen(names[i]);

        for (j = 0; j <= len; j++) {
            for (k = 0; k < sizeof(other); k++) {
                memcpy(name, names[i], len + 1);

                if (j == len) {

                    /* one byte longer */
                    name[len] = other[k];
                    name[len + 1] = '\0';

                } else if (name[j] == other[k]) {
                    continue;

                } else {
                    name[j] = other[k];
                }

                for (sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++) {
                    n = snprintf(ev, sizeof(ev), shapes[sh], name);
                    (void) check_one(ev, n);
                }
            }
        }
    }
}


/* the first of several members of a name counts, as in cJSON */

static void
test_event_duplicates(void **state)
{
    assert_string_equal(CONTENT_OF("{\"choices\":[{\"delta\":{\"content\":"
                                   "\"first\",\"content\":\"second\"}}]}"),
                        "first");
    assert_string_equal(CONTENT_OF("{\"choices\":[{\"delta\":{\"content\":"
                                   "\"a\"},\"delta\":{\"content\":\"b\"}}],"
                                   "\"choices\":[{\"delta\":{\"content\":"
                                   "\"c\"}}]}"), "a");

    assert_int_equal(check_str("{\"choices\":[{\"delta\":{\"content\":null,"
                               "\"content\":\"second\"}}]}"),
                     CHATON_EVENT_DELTA);
    assert_int_equal(check_str("{\"choices\":[{\"delta\":5,\"delta\":{"
                               "\"content\":\"second\"}}]}"),
                     CHATON_EVENT_DELTA);
    assert_int_equal(check_str("{\"choices\":[{\"finish_reason\":null,"
                               "\"finish_reason\":\"length\"}]}"),
                     CHATON_EVENT_DELTA);
    assert_int_equal(check_str("{\"choices\":[{\"finish_reason\":\"stop\","
                               "\"finish_reason\":\"length\"}]}"),
                     CHATON_EVENT_DELTA);
    assert_int_equal(check_str("{\"choices\":5,\"choices\":[{\"delta\":{"
                               "\"content\":\"x\"}}]}"), CHATON_EVENT_OTHER);
    assert_int_equal(check_str("{\"data\":5,\"data\":{\"analytics\":1}}"),
                     CHATON_EVENT_OTHER);
    assert_int_equal(check_str("{\"data\":{\"analytics\":1},\"data\":{"
                               "\"error\":\"x\"}}"), CHATON_EVENT_DROP);
    assert_int_equal(check_str("{\"data\":{\"web\":1,\"web\":{}}}"),
                     CHATON_EVENT_OTHER);

    /* finish_reason: 23 bytes are kept, 24 are not */

    assert_int_equal(check_str("{\"choices\":[{\"finish_reason\":"
                               "\"abcdefghijklmnopqrstuvw\"}]}"),
                     CHATON_EVENT_DELTA);
    assert_int_equal(check_str("{\"choices\":[{\"finish_reason\":"
                               "\"abcdefghijklmnopqrstuvwx\"}]}"),
                     CHATON_EVENT_DELTA);
    assert_int_equal(check_str("{\"choices\":[{\"finish_reason\":"
                               "\"st\\u006fp\"}]}"), CHATON_EVENT_DELTA);
    assert_int_equal(check_str("{\"choices\":[{\"finish_reason\":"
                               "\"\\u0000stop\"}]}"), CHATON_EVENT_DELTA);
}


static void
test_event_numbers(void **state)
{
    size_t  i;
    char    ev[512];
    int     n;

    static const char  *numbers[] = {
        "0", "-0", "1", "-1", "123", "1732487486", "01", "-01", "00", "1.",
        "-1.", "1.5", ".5", "-.5", "-.", ".", "-", "+1", "--1", "1e5",
        "1E5", "1e+5", "1e-5", "1E+05", "1.e5", "-.5e-3", "1e", "1e+",
        "1e-", "1E", "1.5.3", "1..5", "1e5e5", "1e5.5", "1-2", "1+2",
        "0x1F", "0X1f", "Infinity", "-Infinity", "NaN", "nan", "inf",
        "1e999", "-1e-999", "2.2250738585072014e-308", "1_000", "1,5",
        "9007199254740993", "-", "-e5", "e5", "E5", "1ee5", "1e++5",
        ("12345678901234567890123456789012345678901234567890123456789012345"
         "67890"),
        ("0.0000000000000000000000000000000000000000000000000000000000001e"
         "-100"),
    };

    for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {

        /* skipped, in an array, next to the delta */

        n = snprintf(ev, sizeof(ev), "{\"created\":%s,\"choices\":[{\"index"
                     "\":[%s,%s],\"delta\":{\"content\":\"n\"}}]}",
                     numbers[i], numbers[i], numbers[i]);
        (void) check_one(ev, n);

        n = snprintf(ev, sizeof(ev), "{\"ping\":%s}", numbers[i]);
        (void) check_one(ev, n);

        n = snprintf(ev, sizeof(ev), "{\"ping\":[%s]}", numbers[i]);
        (void) check_one(ev, n);

        n = snprintf(ev, sizeof(ev), "{\"ping\":%s }", numbers[i]);
        (void) check_one(ev, n);
    }
}


static void
test_event_white_space(void **state)
{
    /* between tokens: any byte up to 0x20, NUL included */

    assert_int_equal(check_str(" \t\r\n{ \"choices\" : [ { \"delta\" : { "
                               "\"content\" : \"ws\" } } ] }"),
                     CHATON_EVENT_DELTA);
    assert_int_equal(check_str("\x01{\x1f\"choices\"\x0b:\x00[\x0c{\"delta"
                               "\":{\"content\":\"ctl\"}\x02}\x10]\x20}"),
                     CHATON_EVENT_DELTA);
    assert_int_equal(check_str("\0{\"ping\":1}"), CHATON_EVENT_DROP);

    /* after the object: SP, HT, CR, LF only */

    assert_int_equal(check_str("{\"ping\":1} \t\r\n"), CHATON_EVENT_DROP);
    assert_int_equal(check_str("{\"ping\":1}\x0b"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"ping\":1}\0"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"ping\":1}\x01"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"ping\":1} ,"), CHATON_EVENT_BAD);

    /* a BOM at the start, when cJSON looks for it (5 bytes or more) */

    assert_int_equal(check_str("\xef\xbb\xbf{\"ping\":1}"), CHATON_EVENT_DROP);
    assert_int_equal(check_str("\xef\xbb\xbf{}"), CHATON_EVENT_OTHER);
    assert_int_equal(check_str("\xef\xbb\xbf{} "), CHATON_EVENT_OTHER);
    assert_int_equal(check_str("\xef\xbb\xbf {}"), CHATON_EVENT_OTHER);
    assert_int_equal(check_str("\xef\xbb\xbf\xef\xbb\xbf{}"),
                     CHATON_EVENT_BAD);
    assert_int_equal(check_str(" \xef\xbb\xbf{}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("\xef\xbb{}"), CHATON_EVENT_BAD);

    /* literals */

    assert_int_equal(check_str("{\"ping\":[true,false,null]}"),
                     CHATON_EVENT_DROP);
    assert_int_equal(check_str("{\"ping\":tru}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"ping\":nul}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"ping\":nulll}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"ping\":True}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"ping\":fals}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"ping\":null"), CHATON_EVENT_BAD);

    /* structure */

    assert_int_equal(check_str("{\"a\":1,}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{,\"a\":1}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"a\"1}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"a\":}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"a\":[1,]}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"a\":[,1]}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"a\":[1 2]}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"a\":{1:2}}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"a\":[}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"a\":{]}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{'a':1}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"choices\":[{\"delta\":{\"content\":\"a\"}"
                               ",]}]}"), CHATON_EVENT_BAD);
    assert_int_equal(check_str("{\"choices\":[{\"delta\":{\"content\":\"a\"}"
                               "}]"), CHATON_EVENT_BAD);
}


/* at most 1000 arrays and objects open at once, as CJSON_NESTING_LIMIT */

static void
test_event_nesting(void **state)
{
    size_t  n, k, i, j, d;
    char   *ev;

    static const char  *heads[] = {
        "{\"x\":", "{\"choices\":[{\"delta\":{\"x\":",
        "{\"choices\":[{\"x\":", "{\"choices\":[1,", "{\"data\":{\"x\":",
    };
    static const size_t  open[] = { 1, 4, 3, 2, 2 };
    static const char  *tails[] = { "}", "}}]}", "}]}", "]}", "}}" };

    ev = unit_mem(8192);

    for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        for (n = 995; n <= 1002; n++) {
            for (j = 0; j < 2; j++) {
                k = strlen(heads[i]);
                memcpy(ev, heads[i], k);

                /* the containers open around the innermost value */

                for (d = open[i]; d < n; d++) {
                    if (j == 0 || d % 2) {
                        ev[k++] = '[';

                    } else {
                        memcpy(ev + k, "{\"k\":", 5);
                        k += 5;
                    }
                }

                ev[k++] = '1';

                for (d = n; d > open[i]; d--) {
                    ev[k++] = (j == 0 || (d - 1) % 2) ? ']' : '}';
                }

                memcpy(ev + k, tails[i], strlen(tails[i]));
                k += strlen(tails[i]);

                if ((check_one(ev, k) != CHATON_EVENT_BAD) != (n <= 1000)) {
                    print_error("%zu containers in case %zu/%zu\n", n, i, j);
                    fail();
                }
            }
        }
    }
}


/* ---- generated events --------------------------------------------------- */


typedef struct {
    unsigned char  *p;
    size_t          len;
    size_t          cap;
    uint64_t        rng;
    int             mess;       /* 0: only what cJSON takes, mostly */
} gen_t;


static size_t
rnd(gen_t *g, size_t n)
{
    return unit_rand_below(&g->rng, n);
}


static void
put(gen_t *g, const void *s, size_t n)
{
    if (g->len + n > g->cap) {
        n = g->cap - g->len;
    }

    memcpy(g->p + g->len, s, n);
    g->len += n;
}


static void
puts_(gen_t *g, const char *s)
{
    put(g, s, strlen(s));
}


#define pick(g, a)  ((a)[rnd(g, sizeof(a) / sizeof((a)[0]))])


static void
gen_ws(gen_t *g)
{
    static const char  *ws[] = {
        " ", "\n", "\t", "\r\n ", "  ", "\x01", "\x1f", "\x0b", "\x0c",
    };

    if (rnd(g, 8) == 0) {
        if (rnd(g, 20) == 0) {
            put(g, "", 1);

        } else {
            puts_(g, pick(g, ws));
        }
    }
}


static void
gen_string_body(gen_t *g)
{
    size_t  i, n, k;
    char    esc[16];

    static const char  *plain[] = {
        "Hello", " world", "a", "caf", "x y", "[1]", "{", "}", ":", ",",
        "'", "![Image](https://spc.unk/a/b.png)", "![Image](https://spc.u",
        "nk/x.png) after", "content", "choices", "\\n", "\\\\",
        E_ACUTE, ZHONGWEN, EMOJI, LS,
    };
    static const char  *escapes[] = {
        "\\n", "\\t", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r",
        "\\u00e9", "\\u00E9", "\\u4e2d", "\\u2028", "\\u2029", "\\u0041",
        "\\u007f", "\\u0080", "\\u07ff", "\\u0800", "\\uffff", "\\uFFFD",
        "\\u001f", "\\u0001", "\\u0000", "\\ud83d\\ude00", "\\uD83D\\uDE00",
        "\\ud800\\udc00", "\\udbff\\udfff", "\\uDBFF\\uDFFF",
    };
    static const char  *odd[] = {
        "\x01", "\x1f", "\x7f", "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90",
        "\\u12G4", "\\uZZZZ", "\\u00\\\\", "\\uab\\\"x", "\\u1\\\"ab",
        "\\uabc\\\\", "\\u\\\\\\\\\\\\", "\\u \\u0", "\\u00e\\u0041",
    };
    static const char  *bad[] = {
        "\\ud83d", "\\ude00", "\\ud83dx", "\\ud83d\\u0041", "\\ud83d\\ud83d",
        "\\ud83d\\uZZZZ", "\\udfff\\ud800", "\\x41", "\\a", "\\0", "\\U0041",
        "\\u12", "\\u", "\\", "\\ud83d\\", "\\ud83d\\u", "\\ud83d\\ude",
        "\"", "\\uab\\\"\\q",
    };

    n = rnd(g, 7);

    for (i = 0; i < n; i++) {
        switch (rnd(g, 10)) {

        case 0:
        case 1:
        case 2:
        case 3:
            puts_(g, pick(g, plain));
            break;

        case 4:
        case 5:
        case 6:
            puts_(g, pick(g, escapes));
            break;

        case 7:

            /* a random \u escape, any case, surrogates too */

            k = snprintf(esc, sizeof(esc), rnd(g, 2) ? "\\u%04x" : "\\u%04X",
                         (unsigned) rnd(g, 0x10000));
            put(g, esc, k);
            break;

        case 8:
            if (rnd(g, 30) == 0) {
                put(g, "", 1);

            } else {
                puts_(g, pick(g, odd));
            }

            break;

        default:
            if (g->mess && rnd(g, 4) == 0) {
                puts_(g, pick(g, bad));

            } else if (rnd(g, 3)) {
                puts_(g, pick(g, plain));

            } else {

                /* "\u" and 4 bytes that may not be hex, nor stay inside */

                static const char  set[] = "0aF9Gu\\\"/ n";

                puts_(g, "\\u");

                for (k = 0; k < 4; k++) {
                    put(g, &set[rnd(g, sizeof(set) - 1)], 1);
                }
            }
        }
    }
}


static void
gen_string(gen_t *g)
{
    puts_(g, "\"");
    gen_string_body(g);
    puts_(g, "\"");
}


/* a name, sometimes written otherwise than plainly */

static void
gen_name(gen_t *g, const char *name)
{
    size_t  n;
    char    esc[8];

    puts_(g, "\"");

    switch (rnd(g, 16)) {

    case 0:
        n = rnd(g, strlen(name));
        put(g, name, n);
        snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char) name[n]);
        puts_(g, esc);
        puts_(g, name + n + 1);
        break;

    case 1:
        puts_(g, name);
        puts_(g, rnd(g, 2) ? "\\u0000junk" : "\\u12G4junk");
        break;

    case 2:
        puts_(g, name);
        put(g, "\0x", 2);
        break;

    case 3:
        puts_(g, name);
        puts_(g, pick(g, ((const char *[]) { "s", " ", "\\n", "\\u00e9" })));
        break;

    case 4:
        esc[0] = (char) (name[0] & ~0x20);
        put(g, esc, 1);
        puts_(g, name + 1);
        break;

    default:
        puts_(g, name);
    }

    puts_(g, "\"");
}


static void
gen_number(gen_t *g)
{
    size_t  i, n;

    static const char  *good[] = {
        "0", "-0", "1", "-1", "123", "1732487486", "01", "-01", "1.", "-1.",
        "1.5", "-.5", "1e5", "1E+5", "1e-5", "1.e5", "1e999", "-1e-999",
        "2.2250738585072014e-308", "9007199254740993",
    };
    static const char  *bad[] = {
        ".5", "-", "+1", "--1", "1e", "1e+", "1.5.3", "1e5e5", "1-2",
        "0x1F", "Infinity", "NaN", "1_000", "-e5", "1ee5", "-.",
    };

    if (g->mess && rnd(g, 4) == 0) {
        puts_(g, pick(g, bad));
        return;
    }

    if (rnd(g, 3)) {
        puts_(g, pick(g, good));
        return;
    }

    /* a run of the bytes cJSON hands to strtod() */

    put(g, rnd(g, 2) ? "-" : "7", 1);
    n = rnd(g, 6);

    for (i = 0; i < n; i++) {
        put(g, &"0123456789+-.eE"[rnd(g, rnd(g, 3) ? 10 : 15)], 1);
    }
}


static void gen_value(gen_t *g, int depth);


static void
gen_member(gen_t *g, const char *name, int depth)
{
    gen_name(g, name);
    gen_ws(g);
    puts_(g, ":");
    gen_ws(g);
    gen_value(g, depth);
}


static const char  *names[] = {
    "id", "object", "created", "model", "choices", "index", "delta",
    "content", "reasoning_content", "finish_reason", "role", "logprobs",
    "data", "ping", "error", "message", "analytics", "operation", "web",
    "sources", "title", "url", "content_delta", "x",
};


static void
gen_value(gen_t *g, int depth)
{
    size_t  i, n;

    static const char  *literals[] = { "null", "true", "false" };
    static const char  *bad[] = { "nul", "tru", "nulll", "True", "fals", "" };

    switch (rnd(g, depth > 3 ? 6 : 10)) {

    case 0:
    case 1:
        gen_string(g);
        break;

    case 2:
    case 3:
        gen_number(g);
        break;

    case 4:
    case 5:
        puts_(g, (g->mess && rnd(g, 8) == 0) ? pick(g, bad)
                                              : pick(g, literals));
        break;

    case 6:
    case 7:
        puts_(g, "[");
        gen_ws(g);
        n = rnd(g, 4);

        for (i = 0; i < n; i++) {
            if (i) {
                gen_ws(g);
                puts_(g, ",");
                gen_ws(g);
            }

            gen_value(g, depth + 1);
        }

        gen_ws(g);
        puts_(g, "]");
        break;

    default:
        puts_(g, "{");
        gen_ws(g);
        n = rnd(g, 4);

        for (i = 0; i < n; i++) {
            if (i) {
                gen_ws(g);
                puts_(g, ",");
                gen_ws(g);
            }

            gen_member(g, pick(g, names), depth + 1);
        }

        gen_ws(g);
        puts_(g, "}");
    }
}


static void
gen_sep(gen_t *g, size_t i)
{
    if (i) {
        gen_ws(g);
        puts_(g, ",");
    }

    gen_ws(g);
}


/* the delta object, and the choice around it */

static void
gen_delta(gen_t *g)
{
    size_t  i, n;

    puts_(g, "{");
    n = rnd(g, 4);

    for (i = 0; i < n; i++) {
        gen_sep(g, i);

        switch (rnd(g, 6)) {

        case 0:
        case 1:
        case 2:
            gen_name(g, "content");
            puts_(g, ":");

            if (rnd(g, 8) == 0) {
                gen_value(g, 4);

            } else {
                gen_string(g);
            }

            break;

        case 3:
            gen_name(g, "reasoning_content");
            puts_(g, ":");

            if (rnd(g, 3) == 0) {
                puts_(g, "null");

            } else {
                gen_string(g);
            }

            break;

        case 4:
            gen_member(g, "role", 4);
            break;

        default:
            gen_member(g, pick(g, names), 4);
        }
    }

    gen_ws(g);
    puts_(g, "}");
}


static void
gen_choice(gen_t *g)
{
    size_t  i, n;

    puts_(g, "{");
    n = 1 + rnd(g, 4);

    for (i = 0; i < n; i++) {
        gen_sep(g, i);

        switch (rnd(g, 6)) {

        case 0:
        case 1:
        case 2:
            gen_name(g, "delta");
            gen_ws(g);
            puts_(g, ":");
            gen_ws(g);

            if (rnd(g, 10) == 0) {
                gen_value(g, 3);

            } else {
                gen_delta(g);
            }

            break;

        case 3:
            gen_name(g, "finish_reason");
            puts_(g, ":");

            if (rnd(g, 2)) {
                puts_(g, "null");

            } else if (rnd(g, 2)) {
                puts_(g, pick(g, ((const char *[]) {
                                     "\"stop\"", "\"length\"", "\"\"",
                                     "\"content_filter\"",
                                     "\"abcdefghijklmnopqrstuvw\"",
                                     "\"abcdefghijklmnopqrstuvwx\"" })));

            } else {
                gen_value(g, 3);
            }

            break;

        case 4:
            gen_member(g, "index", 3);
            break;

        default:
            gen_member(g, pick(g, names), 3);
        }
    }

    gen_ws(g);
    puts_(g, "}");
}


static void
gen_choices(gen_t *g)
{
    size_t  i, n;

    switch (rnd(g, 12)) {

    case 0:
        gen_value(g, 1);
        return;

    case 1:
        puts_(g, "[]");
        return;

    default:
        break;
    }

    puts_(g, "[");
    n = 1 + (rnd(g, 4) == 0 ? rnd(g, 3) : 0);

    for (i = 0; i < n; i++) {
        gen_sep(g, i);

        if (i == 0 && rnd(g, 12)) {
            gen_choice(g);

        } else {
            gen_value(g, 2);
        }
    }

    gen_ws(g);
    puts_(g, "]");
}


static void
gen_data(gen_t *g)
{
    size_t  i, n;

    static const char  *members[] = {
        "analytics", "operation", "message", "web", "error",
        "content_delta", "x",
    };

    if (rnd(g, 10) == 0) {
        gen_value(g, 1);
        return;
    }

    puts_(g, "{");
    n = rnd(g, 4);

    for (i = 0; i < n; i++) {
        gen_sep(g, i);
        gen_member(g, pick(g, members), 2);
    }

    gen_ws(g);
    puts_(g, "}");
}


/* a deep nest of arrays and objects, around the limit */

static void
gen_deep(gen_t *g)
{
    size_t  i, n;

    n = 990 + rnd(g, 20);

    for (i = 0; i < n; i++) {
        puts_(g, (i % 3) ? "[" : "{\"a\":");
    }

    puts_(g, "1");

    while (n--) {
        puts_(g, (n % 3) ? "]" : "}");
    }
}


static void
gen_event(gen_t *g)
{
    size_t  i, n, k;

    static const char  *junk[] = {
        " x", "}", ",", "\x0b", " \t\r\n", "{}", "\n\n", "\0",
    };
    static const char  *bytes = "{}[]\",:\\ \x01u0e.-+n";

    g->len = 0;

    if (rnd(g, 40) == 0) {
        puts_(g, rnd(g, 2) ? "\xef\xbb\xbf" : " ");
    }

    gen_ws(g);

    if (rnd(g, 40) == 0) {
        gen_value(g, 0);
        goto mess;
    }

    puts_(g, "{");
    n = rnd(g, 8);
    k = rnd(g, 10);

    for (i = 0; i < n || (i == n && k < 8); i++) {
        gen_sep(g, i);

        if (i == n) {

            /* the member that makes the kind */

            switch (k) {
            case 0: case 1: case 2: case 3:
                gen_name(g, "choices");
                puts_(g, ":");
                gen_choices(g);
                break;
            case 4:
                gen_name(g, "ping");
                puts_(g, ":");
                gen_value(g, 1);
                break;
            case 5: case 6:
                gen_name(g, "data");
                puts_(g, ":");
                gen_data(g);
                break;
            default:
                gen_member(g, "error", 1);
            }

            continue;
        }

        switch (rnd(g, 40)) {
        case 0:
            gen_name(g, "choices");
            puts_(g, ":");
            gen_choices(g);
            break;
        case 1:
            gen_name(g, "data");
            puts_(g, ":");
            gen_data(g);
            break;
        case 2:
            if (rnd(g, 50) == 0) {
                gen_name(g, "x");
                puts_(g, ":");
                gen_deep(g);
                break;
            }
            /* fall through */
        default:
            gen_member(g, pick(g, names), 1);
        }
    }

    gen_ws(g);
    puts_(g, "}");

    if (rnd(g, 6) == 0) {
        puts_(g, pick(g, ((const char *[]) { " ", "\r\n", "\t \n" })));
    }

mess:

    if (!g->mess || rnd(g, 3) != 0 || g->len == 0) {
        return;
    }

    switch (rnd(g, 6)) {

    case 0:
        g->len = rnd(g, g->len);
        break;

    case 1:
        k = rnd(g, g->len);
        memmove(g->p + k, g->p + k + 1, g->len - k - 1);
        g->len--;
        break;

    case 2:
        k = rnd(g, g->len);

        if (g->len < g->cap) {
            memmove(g->p + k + 1, g->p + k, g->len - k);
            g->p[k] = bytes[rnd(g, strlen(bytes) + 1)];
            g->len++;
        }

        break;

    case 3:
        g->p[rnd(g, g->len)] = bytes[rnd(g, strlen(bytes) + 1)];
        break;

    case 4:
        g->p[rnd(g, g->len)] = (unsigned char) rnd(g, 256);
        break;

    default:
        k = rnd(g, sizeof(junk) / sizeof(junk[0]));
        put(g, junk[k], k == 7 ? 1 : strlen(junk[k]));
    }
}


#define GEN_CAP  16384

static void
gen_init(gen_t *g, uint64_t seed, int mess)
{
    g->p = unit_mem(GEN_CAP);
    g->cap = GEN_CAP;
    g->len = 0;
    g->rng = seed;
    g->mess = mess;
}


/* the scanner against cJSON over generated events, one by one */

static void
test_event_generated(void **state)
{
    size_t        i, kinds[4];
    gen_t         g;
    chaton_buf_t  scratch;

    memset(kinds, 0, sizeof(kinds));
    chaton_buf_init(&scratch, &unit_alloc, 0);

    gen_init(&g, 0x9e3779b97f4a7c15ull, 0);

    for (i = 0; i < 100000; i++) {
        g.mess = (i % 2);
        gen_event(&g);
        kinds[check_scan(g.p, g.len, &scratch)]++;
    }

    print_message("generated: %zu bad, %zu deltas, %zu dropped, %zu other\n",
                  kinds[CHATON_EVENT_BAD], kinds[CHATON_EVENT_DELTA],
                  kinds[CHATON_EVENT_DROP], kinds[CHATON_EVENT_OTHER]);

    /* each kind well represented, or the generator has drifted */

    for (i = 0; i < 4; i++) {
        assert_true(kinds[i] > 3000);
    }
}


/* the translators, on runs of generated events (pictures, errors, [DONE]) */

static void
test_event_generated_streams(void **state)
{
    size_t                i, j, n, len[8];
    gen_t                 g;
    unsigned char        *copy[8];
    const unsigned char  *ev[8];

    gen_init(&g, 0x2545f4914f6cdd1dull, 0);

    for (i = 0; i < 3000; i++) {
        n = 1 + rnd(&g, 8);

        for (j = 0; j < n; j++) {
            g.mess = (rnd(&g, 8) == 0);

            if (j == n - 1 && rnd(&g, 4) == 0) {
                memcpy(g.p, "[DONE]", 6);
                g.len = 6;

            } else {
                gen_event(&g);
            }

            copy[j] = unit_mem(g.len + 1);
            memcpy(copy[j], g.p, g.len);
            ev[j] = copy[j];
            len[j] = g.len;
        }

        differ_all_modes(ev, len, n);
    }
}


/* ---- shapes: deltas read by their one string (chaton_event_read) ------- */


static int
same_string(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
    return (a == NULL) == (b == NULL) && same_bytes(a, alen, b, blen);
}


/* the same result as a whole scan: kind, and a delta's three strings */

static void
same_event(const chaton_event_t *a, int ka, const chaton_event_t *b, int kb,
    const unsigned char *ev, size_t len)
{
    if (ka == kb
        && (ka != CHATON_EVENT_DELTA
            || (same_string(a->content, a->content_len, b->content,
                            b->content_len)
                && same_string(a->reasoning, a->reasoning_len, b->reasoning,
                               b->reasoning_len)
                && same_string(a->finish, a->finish_len, b->finish,
                               b->finish_len))))
    {
        return;
    }

    dump("event", ev, len);
    print_error("read through the shape: %d, scanned whole: %d\n", ka, kb);
    fail();
}


/*
 * A delta's shape, as chaton_event_read() learns it: the bytes before its
 * one string's opening quote (with it) and from its closing quote on.
 * Returns 0 if the event gives no shape.
 */

static int
shape_of(const unsigned char *ev, size_t len, size_t *head, size_t *tail,
    chaton_buf_t *scratch)
{
    chaton_event_t        e;
    const unsigned char  *raw, *end;

    if (chaton_event_scan(&e, ev, len, scratch) != CHATON_EVENT_DELTA
        || e.finish != NULL
        || (e.content_raw == NULL) == (e.reasoning_raw == NULL))
    {
        return 0;
    }

    raw = e.content_raw ? e.content_raw : e.reasoning_raw;
    end = e.content_raw ? e.content_raw_end : e.reasoning_raw_end;

    *head = raw + 1 - ev;
    *tail = ev + len - (end - 1);

    return *head + *tail <= CHATON_EVENT_SHAPE_MAX;
}


/*
 * A run of events in one delta's shape around every kind of string the
 * generator makes (escapes, surrogates, NULs, quotes and backslashes that
 * end the string early or run it on, invalid bytes, U+2028, placeholders),
 * some with a byte of the head or the tail changed, a few other events
 * between.  The events are exact copies, to be freed.
 */

#define SHAPED_MAX  10

static size_t
gen_shaped(gen_t *g, gen_t *sg, unsigned char **ev, size_t *len,
    chaton_buf_t *scratch)
{
    size_t          j, n, head, tail, tries;
    unsigned char  *tpl;

    /* a delta that gives a shape, generated or realistic */

    for (tries = 0; ; tries++) {
        assert_true(tries < 100000);

        if (rnd(g, 4) == 0) {
            g->len = 0;
            puts_(g, pick(g, ((const char *[]) {
                              P_CONTENT1, P_CONTENT2, P_REASONING })));

        } else {
            gen_event(g);
        }

        if (shape_of(g->p, g->len, &head, &tail, scratch)) {
            break;
        }
    }

    tpl = unit_mem(g->len);
    memcpy(tpl, g->p, g->len);
    tail = g->len - tail;           /* where the tail starts */

    n = 2 + rnd(g, SHAPED_MAX - 1);

    for (j = 0; j < n; j++) {
        sg->len = 0;

        if (j == 0) {
            put(sg, tpl, g->len);

        } else if (rnd(g, 12) == 0) {
            sg->mess = 0;
            gen_event(sg);

        } else {
            put(sg, tpl, head);
            sg->mess = (rnd(g, 6) == 0);

            if (rnd(g, 2)) {
                gen_string_body(sg);

            } else {

                /* text as most of a stream is: plain, some not ASCII */

                puts_(sg, pick(g, ((const char *[]) {
                                   "Hello", " world", "x", "caf" E_ACUTE,
                                   ZHONGWEN " " EMOJI, "a, b: {c} [d]?",
                                   "#$%&'()*+-./09:;<=>?@AZ[]^_`az{|}~",
                                   " ", "\x7f" })));
            }

            put(sg, tpl + tail, g->len - tail);

            if (rnd(g, 10) == 0) {
                sg->p[rnd(g, sg->len)] ^= (unsigned char) (1 + rnd(g, 255));
            }
        }

        ev[j] = exact(sg->p, sg->len);
        len[j] = sg->len;
    }

    return n;
}


/* through the shape, event after event, as against a whole scan */

static void
test_event_shapes(void **state)
{
    int                   ka, kb;
    size_t                i, j, n, len[SHAPED_MAX], alike;
    gen_t                 g, sg;
    chaton_buf_t          sa, sb, scratch;
    chaton_event_t        ea, eb;
    unsigned char        *ev[SHAPED_MAX];
    chaton_event_shape_t  sh;

    chaton_buf_init(&sa, &unit_alloc, 0);
    chaton_buf_init(&sb, &unit_alloc, 0);
    chaton_buf_init(&scratch, &unit_alloc, 0);

    gen_init(&g, 0x6a09e667f3bcc909ull, 0);
    gen_init(&sg, 0xbb67ae8584caa73bull, 0);

    alike = 0;

    for (i = 0; i < 4000; i++) {
        n = gen_shaped(&g, &sg, ev, len, &scratch);

        chaton_event_shape_init(&sh, &unit_alloc);

        for (j = 0; j < n; j++) {
            if (sh.bytes.len && len[j] >= sh.bytes.len
                && memcmp(ev[j], sh.bytes.data, sh.head) == 0
                && memcmp(ev[j] + len[j] - (sh.bytes.len - sh.head),
                          sh.bytes.data + sh.head, sh.bytes.len - sh.head)
                   == 0)
            {
                alike++;
            }

            ka = chaton_event_read(&sh, &ea, ev[j], len[j], &sa);
            kb = chaton_event_scan(&eb, ev[j], len[j], &sb);

            same_event(&ea, ka, &eb, kb, ev[j], len[j]);
        }

        differ_all_modes((const unsigned char **) ev, len, n);

        for (j = 0; j < n; j++) {
            free(ev[j]);
        }
    }

    print_message("shapes: %zu events of a known shape's bytes\n", alike);

    /* most events went the short way, or the test tests nothing */

    assert_true(alike > 4000 * 2);
}


/*
 * The same runs framed as the backend frames them ("data: ", a blank line;
 * LF or CRLF, an "id:" line or a comment at times) and fed in random
 * pieces to two SSE parsers: one that lets the translator take whole
 * events from the input (chaton_chat_framed), one that does not.  The two
 * translators must say, write and count the same after every piece.
 */

static int
framed_event(void *data, const unsigned char *ev, size_t len)
{
    side_t  *s = data;

    return chaton_chat_event(&s->t, ev, len);
}


static size_t  framed_taken;     /* events taken whole */
static size_t  framed_runs;      /* calls that took more than one */
static size_t  framed_shaped;    /* events the parser handed out, taken
                                    the short way (chaton_chat_shaped) */


/* the side with the short ways: the parser's events as the module's are */

static int
framed_shaped_event(void *data, const unsigned char *ev, size_t len)
{
    int      rc;
    side_t  *s = data;

    rc = chaton_chat_shaped(&s->t, ev, len);

    if (rc == CHATON_DECLINED) {
        return chaton_chat_event(&s->t, ev, len);
    }

    framed_shaped++;

    return rc;
}


static int
framed_whole(void *data, const unsigned char *in, size_t len, size_t room,
    size_t *n)
{
    int       rc;
    side_t   *s = data;
    uint64_t  before;

    before = s->t.events;

    rc = chaton_chat_framed(&s->t, in, len, room, n);

    framed_taken += s->t.events - before;
    framed_runs += (s->t.events - before > 1);

    return rc;
}


/* the two sides of the framed tests: with the short ways, and without */

typedef struct {
    side_t                  a;
    side_t                  b;
    chaton_sse_t            pa;
    chaton_sse_t            pb;
    unit_pool_t             pool;
    chaton_alloc_t          alloc;      /* the sides keep its address */
} framed_t;


static void
framed_begin(framed_t *f, size_t max, int include_usage)
{
    unit_pool_init(&f->pool);
    f->alloc = unit_allocator(&f->pool, 1);

    side_init(&f->a, &f->alloc, MODE_STREAM, include_usage, 0);
    side_init(&f->b, &f->alloc, MODE_STREAM, include_usage, 0);

    chaton_sse_init(&f->pa, &f->alloc, max);
    chaton_sse_init(&f->pb, &f->alloc, max);
    f->pa.whole = framed_whole;
}


/* a piece of the stream (wire) to both sides: the same codes and state */

static int
framed_piece(framed_t *f, const unsigned char *in, size_t len,
    const unsigned char *wire, size_t wire_len, const char *when)
{
    int  ra, rb;

    ra = chaton_sse_feed(&f->pa, in, len, framed_shaped_event, &f->a);
    rb = chaton_sse_feed(&f->pb, in, len, framed_event, &f->b);

    if (ra != rb) {
        dump("input", wire, wire_len);
        print_error("%s: %d with whole events taken, %d without\n",
                    when, ra, rb);
        fail();
    }

    return same_then_resolved(&f->a, &f->b, ra, when);
}


static void
framed_end(framed_t *f, int rc)
{
    if (rc == CHATON_OK) {
        rc = chaton_sse_finish(&f->pa, framed_shaped_event, &f->a);
        assert_int_equal(chaton_sse_finish(&f->pb, framed_event, &f->b),
                         rc);
        same_state(&f->a, &f->b, "finish");
    }

    unit_pool_release(&f->pool);
}


static void
test_event_framed(void **state)
{
    int              rc, usage;
    size_t           i, j, n, k, len[SHAPED_MAX], at, piece, max;
    gen_t            g, sg, wire;
    framed_t         f;
    chaton_buf_t     scratch;
    unsigned char   *ev[SHAPED_MAX];
    char             when[64];

    chaton_buf_init(&scratch, &unit_alloc, 0);

    gen_init(&g, 0x3c6ef372fe94f82bull, 0);
    gen_init(&sg, 0xa54ff53a5f1d36f1ull, 0);
    gen_init(&wire, 0, 0);

    framed_taken = 0;
    framed_runs = 0;
    framed_shaped = 0;

    for (i = 0; i < 3000; i++) {
        n = gen_shaped(&g, &sg, ev, len, &scratch);

        wire.len = 0;

        for (j = 0; j < n; j++) {
            if (rnd(&g, 20) == 0) {
                puts_(&wire, rnd(&g, 2) ? "id: 7\n" : ": note\n");
            }

            puts_(&wire, rnd(&g, 20) ? "data: " : "data:");

            /* mostly an LF in the text as SSE carries it: a line more */

            for (k = 0; k < len[j]; k++) {
                if (ev[j][k] == '\n' && rnd(&g, 4)) {
                    puts_(&wire, "\ndata: ");

                } else {
                    put(&wire, &ev[j][k], 1);
                }
            }

            /* at times an event of two data lines: one joined text */

            if (rnd(&g, 15) == 0) {
                puts_(&wire, "\ndata: ");
                put(&wire, ev[j], len[j]);
            }

            puts_(&wire, rnd(&g, 10) ? "\n\n" : "\r\n\r\n");
        }

        usage = rnd(&g, 2);
        max = rnd(&g, 8) ? 1024 * 1024 : 64 + rnd(&g, 256);

        framed_begin(&f, max, usage);

        rc = CHATON_OK;

        for (at = 0, k = 0; at < wire.len; at += piece, k++) {
            piece = rnd(&g, 3) ? wire.len - at : 1 + rnd(&g, wire.len - at);

            snprintf(when, sizeof(when), "run %zu, piece %zu", i, k);

            rc = framed_piece(&f, wire.p + at, piece, wire.p, wire.len,
                              when);
            if (rc != CHATON_OK) {
                break;
            }
        }

        framed_end(&f, rc);

        for (j = 0; j < n; j++) {
            free(ev[j]);
        }
    }

    print_message("framed: %zu events taken whole from the input, %zu runs"
                  " of several in one call, %zu handed out by the parser"
                  " and taken the short way\n", framed_taken, framed_runs,
                  framed_shaped);

    /* many were, and in runs, or the test tests nothing */

    assert_true(framed_taken > 1500);
    assert_true(framed_runs > 100);
    assert_true(framed_shaped > 400);
}


/*
 * The short ways at the edges of their 16-byte steps: a delta's text of
 * 0 to 34, 47 to 49 or 63 bytes (one to four steps), plain but for one
 * thing (an escape, a \u escape or a pair, a letter beyond ASCII, U+2028
 * as it is, a '!', a control byte, a quote or a backslash that ends or
 * runs on the string) at every place in it, the last too, then plain; in
 * shapes whose tail (from the closing quote, with the blank line) is 7 to
 * 25, 29, 31 to 34, 41 or 49 bytes long; the stream fed whole (the input
 * ends right after the last event's blank line) and in pieces of 1, 7, 16
 * and 61 bytes, each piece in a block of its own size, so that a sanitizer
 * sees a read past it.  Both translators must say and write the same.
 */

static void
framed_feed(const unsigned char *wire, size_t len, size_t first,
    size_t step, const char *what)
{
    int             rc;
    size_t          at, piece;
    framed_t        f;
    unsigned char  *copy;
    char            when[96];

    framed_begin(&f, 1024 * 1024, 0);

    rc = CHATON_OK;

    for (at = 0; at < len && rc == CHATON_OK; at += piece) {
        piece = (at == 0) ? first : step;
        piece = (piece == 0 || piece > len - at) ? len - at : piece;

        copy = exact(wire + at, piece);

        snprintf(when, sizeof(when), "%s, pieces of %zu after %zu, at %zu",
                 what, step, first, at);

        rc = framed_piece(&f, copy, piece, wire, len, when);

        free(copy);
    }

    framed_end(&f, rc);
}


static void
test_event_framed_edges(void **state)
{
    size_t          pad, n, k, i, j, s, at, p;
    gen_t           wire;
    char            what[64];
    static const size_t  steps[] = { 0, 1, 7, 16, 61 };

    /* the tail is 7 bytes without a pad, 13 + pad with one: 7 to 25, 29,
     * 31 to 34 (either side of 32 bytes after a text), 41, 49 */

    static const size_t  pads[] = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 18, 19, 20, 21, 28, 36
    };
    static const char   *odd[] = {
        "\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude00", "\\u2028",
        "\\u005C", "\\u0021", "\\u0001", "\\ud83d", E_ACUTE,
        "\xe2\x80\xa8", "!", "\x01", "\"", "\\", "\\x", "\xc3"
    };

    wire.cap = 64 * 1024;
    wire.p = unit_mem(wire.cap);

    framed_taken = 0;
    framed_shaped = 0;

    for (p = 0; p < sizeof(pads) / sizeof(pads[0]); p++) {
        pad = pads[p];

        for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
            for (n = 0; n <= 65; n += (n < 34 || (n >= 47 && n < 49)) ? 1
                                      : (n < 47) ? 13 : 14)
            {

                /* a stream: the shape learnt, then the odd one at every
                 * place of n bytes of text (before the first, ..., after
                 * the last), then n plain bytes */

                wire.len = 0;

                for (i = 0; i <= n + 2; i++) {
                    puts_(&wire, "data: {\"choices\":[{\"delta\":"
                                 "{\"content\":\"");

                    if (i == 0) {
                        puts_(&wire, "Hi");

                    } else {
                        for (j = 0; j <= n; j++) {
                            if (j == i - 1) {
                                puts_(&wire, odd[k]);
                            }

                            if (j < n) {
                                puts_(&wire, "a");
                            }
                        }
                    }

                    puts_(&wire, "\"}");

                    for (j = 0; j < pad; j++) {
                        puts_(&wire, j == 0 ? ",\"x\":\"" : "y");
                    }

                    puts_(&wire, pad ? "\"}]}\n\n" : "}]}\n\n");
                }

                assert_true(wire.len < wire.cap);

                for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
                    snprintf(what, sizeof(what), "odd %zu, text %zu, pad %zu",
                             k, n, pad);
                    framed_feed(wire.p, wire.len, steps[s], steps[s],
                                what);
                }
            }
        }
    }

    /*
     * A run's texts held to the bytes between two of them found right
     * before (the tail, the blank line, "data: ", the head): a run of
     * events, the fourth with one of those bytes changed, at every place;
     * and the stream unchanged, cut in two at every byte, so that a piece
     * ends anywhere in an event after whole ones.
     */

    for (pad = 0; pad <= 9; pad += 3) {
        for (n = 0; n <= 17; n += (n < 14) ? 7 : 1) {
            for (k = 0; /* void */ ; k++) {
                wire.len = 0;

                for (i = 0; i < 6; i++) {
                    at = wire.len;

                    puts_(&wire, "data: {\"choices\":[{\"delta\":"
                                 "{\"content\":\"");

                    for (j = 0; j < n; j++) {
                        puts_(&wire, (j % 5 == 4) ? "\\n" : "a");
                    }

                    puts_(&wire, "\"}");

                    for (j = 0; j < pad; j++) {
                        puts_(&wire, j == 0 ? ",\"x\":\"" : "y");
                    }

                    puts_(&wire, pad ? "\"}]}\n\n" : "}]}\n\n");

                    if (i == 3) {
                        s = wire.len - at;      /* the event's length */
                    }
                }

                /* k / 2: the byte changed (but the text's), k = 0: none */

                if (k) {
                    j = (k - 1) / 2;
                    j = (j < 39) ? j : j + n + n / 5;   /* the text's */

                    if (j >= s) {
                        break;
                    }

                    wire.p[3 * s + j] ^= (k % 2) ? 0x01 : 0x20;
                }

                snprintf(what, sizeof(what), "text %zu, pad %zu, change %zu",
                         n, pad, k);
                framed_feed(wire.p, wire.len, 0, 0, what);

                if (k == 0) {
                    for (j = 1; j < wire.len; j++) {
                        framed_feed(wire.p, wire.len, j, 0, what);
                    }
                }
            }
        }
    }

    print_message("framed edges: %zu events taken whole, %zu handed out by"
                  " the parser and taken the short way\n", framed_taken,
                  framed_shaped);

    assert_true(framed_taken > 10000);
    assert_true(framed_shaped > 10000);
}


/* \u escapes' digits (chaton_hex4(), a table in line): every value
 * in either case, every byte that is no digit at every place */

static void
test_event_hex4(void **state)
{
    int            c, v;
    size_t         i;
    unsigned char  b[5];

    for (v = 0; v < 0x10000; v++) {
        snprintf((char *) b, sizeof(b), "%04x", v);
        assert_int_equal(chaton_hex4(b), v);

        snprintf((char *) b, sizeof(b), "%04X", v);
        assert_int_equal(chaton_hex4(b), v);
    }

    for (c = 0; c < 256; c++) {
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
            || (c >= 'A' && c <= 'F'))
        {
            continue;
        }

        for (i = 0; i < 4; i++) {
            memcpy(b, "aF09", 4);
            b[i] = (unsigned char) c;
            assert_int_equal(chaton_hex4(b), -1);
        }
    }
}


/* a shape larger than CHATON_EVENT_SHAPE_MAX is not kept: all scanned */

static void
test_event_shape_max(void **state)
{
    size_t                i, n;
    chaton_buf_t          scratch, big;
    chaton_event_t        e;
    chaton_event_shape_t  sh;

    chaton_buf_init(&scratch, &unit_alloc, 0);
    chaton_buf_init(&big, &unit_alloc, 0);
    chaton_event_shape_init(&sh, &unit_alloc);

    for (n = CHATON_EVENT_SHAPE_MAX - 64; n < CHATON_EVENT_SHAPE_MAX + 64;
         n++)
    {
        big.len = 0;
        assert_int_equal(chaton_buf_literal(&big, "{\"id\":\""), CHATON_OK);

        for (i = 0; i < n - 60; i++) {
            assert_int_equal(chaton_buf_literal(&big, "x"), CHATON_OK);
        }

        assert_int_equal(chaton_buf_literal(&big,
                             "\",\"choices\":[{\"delta\":{\"content\":"
                             "\"hi\"}}]}"), CHATON_OK);

        assert_int_equal(chaton_event_read(&sh, &e, big.data, big.len,
                                           &scratch), CHATON_EVENT_DELTA);
        assert_true(same_string(e.content, e.content_len,
                                (const unsigned char *) "hi", 2));

        /* the shape is the event but its two bytes of text */

        if (big.len - 2 <= CHATON_EVENT_SHAPE_MAX) {
            assert_int_equal(sh.bytes.len, big.len - 2);

        } else {
            assert_int_equal(sh.bytes.len, 0);
        }
    }
}


/* every prefix of an event: truncated JSON at every byte */

static void
check_prefixes(const unsigned char *s, size_t len)
{
    size_t                n;
    chaton_buf_t          scratch;
    const unsigned char  *ev;

    chaton_buf_init(&scratch, &unit_alloc, 0);

    for (n = 0; n <= len; n++) {
        (void) check_scan(s, n, &scratch);

        ev = s;
        differ(&ev, &n, 1, MODE_STREAM, 0, 0);
        differ(&ev, &n, 1, MODE_WHOLE, 0, 0);
    }
}


static void
test_event_truncated(void **state)
{
    size_t  i;
    gen_t   g;

    static const char  *events[] = {
        P_PING, P_ANALYTICS, P_OPERATION, P_SOURCES, P_REASONING,
        P_CONTENT1, P_CONTENT2, P_FINISH,
        DELTA_OF("\\ud83d\\ude00 \\u00e9\\n\\\"x\\u12G4y"),
        DELTA_OF("x\\uab\\\"\\u0041\\\\"),
        "{\"x\":\"\\uZZZZ\\ud83d\\u\"}",
        "{\"x\":\"\\ud83d\\u\"}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},"
        "\"finish_reason\":\"stop\"},{\"index\":1}],\"created\":-1.5e+3}",
    };

    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        check_prefixes((const unsigned char *) events[i], strlen(events[i]));
    }

    gen_init(&g, 0xd1b54a32d192ed03ull, 0);

    for (i = 0; i < 300; i++) {
        g.mess = (i % 4 == 0);
        gen_event(&g);

        if (g.len < 2000) {
            check_prefixes(g.p, g.len);
        }
    }
}


/* ---- memory ------------------------------------------------------------- */


/* once the scratch buffer has grown, events allocate nothing */

static void
test_event_no_alloc_per_event(void **state)
{
    size_t          i, allocs;
    side_t          s;

    static const char  *events[] = {
        DELTA_OF("line\\none \\u00e9 \\\"q\\\""),
        "{\"choices\":[{\"delta\":{\"content\":null,\"reasoning_content\":"
        "\"think\\u2026\\n\"},\"finish_reason\":\"st\\u006fp\"}]}",
        P_CONTENT1, P_CONTENT2, P_PING, P_ANALYTICS, P_OPERATION,
    };

    side_init(&s, &unit_alloc, MODE_STREAM, 0, 0);

    allocs = 0;

    for (i = 0; i < 2000; i++) {
        assert_int_equal(chaton_chat_event(&s.t,
                             (const unsigned char *) events[i % 7],
                             strlen(events[i % 7])), CHATON_OK);
        s.out.len = 0;

        if (i == 13) {
            allocs = unit_pool.allocs;
        }
    }

    assert_int_equal(unit_pool.allocs, allocs);
    assert_true(s.t.md.cap > 0);
}


/*
 * When the scratch buffer cannot grow, the event goes the cJSON way, and
 * comes out the same.
 */

static void
test_event_scratch_fails(void **state)
{
    int                   ra, rb;
    size_t                i;
    unit_pool_t           pa, pb;
    chaton_alloc_t        aa, ab;
    side_t                a, b;
    chaton_buf_t          scratch;
    chaton_event_t        e;
    const unsigned char  *ev;

    static const char  *events[] = {
        DELTA_OF("esc\\naped"),
        P_CONTENT2,
        "{\"choices\":[{\"delta\":{\"content\":\"x\\u12G4\"}}],\"bad\":tru}",
    };

    unit_pool_init(&pa);
    unit_pool_init(&pb);
    aa = unit_allocator(&pa, 1);
    ab = unit_allocator(&pb, 1);

    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        ev = (const unsigned char *) events[i];

        chaton_buf_init(&scratch, &aa, 0);
        pa.limit = pa.allocs;
        assert_int_equal(chaton_event_scan(&e, ev, strlen(events[i]),
                                           &scratch), CHATON_EVENT_OTHER);
        pa.limit = SIZE_MAX;

        side_init(&a, &aa, MODE_STREAM, 0, 0);
        side_init(&b, &ab, MODE_STREAM, 0, 0);
        assert_int_equal(chaton_buf_reserve(&a.out, 4096), CHATON_OK);
        assert_int_equal(chaton_buf_reserve(&b.out, 4096), CHATON_OK);

        pa.limit = pa.allocs;
        pb.limit = pb.allocs;

        ra = chaton_chat_event(&a.t, ev, strlen(events[i]));
        rb = chaton_chat_event_cjson(&b.t, ev, strlen(events[i]));

        assert_int_equal(ra, rb);
        assert_true(pa.failed > 0);
        same_state(&a, &b, "no memory");

        pa.limit = SIZE_MAX;
        pb.limit = SIZE_MAX;
    }

    unit_pool_release(&pa);
    unit_pool_release(&pb);
}


/* the realistic stream, event by event, in every mode */

static void
test_event_realistic(void **state)
{
    static const char  *events[] = {
        P_PING, P_ANALYTICS, P_OPERATION, P_SOURCES, P_REASONING,
        P_CONTENT1, P_CONTENT2, P_MULTI_A "\n" P_MULTI_B, P_FINISH, "[DONE]",
    };

    size_t                i, len[10];
    const unsigned char  *ev[10];

    for (i = 0; i < 10; i++) {
        ev[i] = (const unsigned char *) events[i];
        len[i] = strlen(events[i]);
    }

    differ_all_modes(ev, len, 10);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_event_kinds),
        utest(test_event_escapes),
        utest(test_event_bad_escapes),
        utest(test_event_names),
        utest(test_event_near_names),
        utest(test_event_duplicates),
        utest(test_event_numbers),
        utest(test_event_white_space),
        utest(test_event_nesting),
        utest(test_event_realistic),
        utest(test_event_generated),
        utest(test_event_generated_streams),
        utest(test_event_truncated),
        utest(test_event_shapes),
        utest(test_event_framed),
        utest(test_event_framed_edges),
        utest(test_event_hex4),
        utest(test_event_shape_max),
        utest(test_event_no_alloc_per_event),
        utest(test_event_scratch_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
