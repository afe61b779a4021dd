/*
 * chaton_chunk.h with the spc.unk scanner: pictures the backend drew arrive
 * as ![Image](https://spc.unk/<path>) in content deltas; the answer waits
 * at the picture (t->waiting, t->image_path), holds what follows back
 * (t->held) and goes on once the caller has resolved it
 * (chaton_chat_resolved): the picture's URL, or a note, then the held text
 * in order.  Stream and aggregate modes must give the same content.
 */

#include "unit.h"
#include "chaton_chunk.h"
#include "dialect_openai_chat.h"


#define ID       "chatcmpl-gw-spc"
#define MODEL    "my-gpt-4o"
#define CREATED  1732487485

#define URL1     "https://cdn.example/one.png?X-Sig=a%2Fb&e=1"
#define URL2     "https://cdn.example/two.png?X-Sig=c"
#define URL3     "https://cdn.example/three.png"
#define NOTE     "the picture could not be retrieved"


static void
chat_new(chaton_chat_t *t, chaton_buf_t *out, int stream_mode,
    size_t max_answer)
{
    unit_chat_new(t, out, ID, MODEL, CREATED, stream_mode, 0, max_answer, 5);
}


/* a backend delta event with this content, JSON-encoded by cJSON */

static char *
delta_event(const char *content, size_t len)
{
    char   *s, *r, *c;
    cJSON  *root, *choices, *choice, *delta;

    c = unit_strn(content, len);

    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", "chatcmpl-backend");
    choices = cJSON_AddArrayToObject(root, "choices");
    choice = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    delta = cJSON_AddObjectToObject(choice, "delta");
    cJSON_AddStringToObject(delta, "content", c);
    cJSON_AddNullToObject(choice, "finish_reason");

    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    assert_non_null(s);

    r = unit_strn(s, strlen(s));
    free(s);

    return r;
}


static void
feed_n(chaton_chat_t *t, const char *content, size_t len)
{
    char  *e;

    e = delta_event(content, len);

    if (chaton_chat_event(t, (const unsigned char *) e, strlen(e))
        != CHATON_OK)
    {
        print_error("event [%.*s] not accepted\n", (int) len, content);
        fail();
    }
}

#define feed(t, s)  feed_n((t), (s), strlen(s))


/*
 * The content of the chunks in out from offset "from" on: every frame a
 * valid chat.completion.chunk ("[DONE]" skipped); returns the content
 * joined, and the number of chunks.
 */

static char *
stream_content(const chaton_buf_t *out, size_t from, size_t *nchunks)
{
    size_t        n;
    cJSON        *c, *choice, *delta, *v;
    chaton_buf_t  content;
    const char   *p, *end, *next;

    chaton_buf_init(&content, &unit_alloc, 0);

    n = 0;
    p = (const char *) out->data + from;
    end = (const char *) out->data + out->len;

    while (p < end) {
        assert_true(end - p > 8);
        assert_memory_equal(p, "data: ", 6);
        p += 6;

        for (next = p; next + 1 < end; next++) {
            if (next[0] == '\n' && next[1] == '\n') {
                break;
            }
        }

        assert_true(next + 1 < end);
        assert_null(memchr(p, '\n', next - p));

        if (next - p == 6 && memcmp(p, "[DONE]", 6) == 0) {
            p = next + 2;
            continue;
        }

        c = unit_json(p, next - p);
        assert_string_equal(unit_jstr(c, "object"), "chat.completion.chunk");
        assert_string_equal(unit_jstr(c, "id"), ID);
        assert_string_equal(unit_jstr(c, "model"), MODEL);

        choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c,
                                                                "choices"), 0);
        if (choice) {
            delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
            assert_true(cJSON_IsObject(delta));
            v = cJSON_GetObjectItemCaseSensitive(delta, "content");

            if (cJSON_IsString(v)) {
                assert_int_equal(chaton_buf_append_str(&content,
                                                       v->valuestring),
                                 CHATON_OK);
            }
        }

        n++;
        p = next + 2;
    }

    if (nchunks) {
        *nchunks = n;
    }

    return unit_strn(content.data, content.len);
}


/* the content written since *mark; *mark moves on */

static char *
written(const chaton_buf_t *out, size_t *mark)
{
    char  *s;

    s = stream_content(out, *mark, NULL);
    *mark = out->len;

    return s;
}


static char *
aggregate_content(chaton_chat_t *t)
{
    cJSON         *c, *msg;
    chaton_buf_t   b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_chat_end(t, &b), CHATON_OK);

    c = unit_json(b.data, b.len);
    msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
              cJSON_GetObjectItemCaseSensitive(c, "choices"), 0), "message");

    return (char *) unit_jstr(msg, "content");
}


static void
assert_buf(const chaton_buf_t *b, const char *s)
{
    if (b->len != strlen(s) || memcmp(b->data, s, b->len) != 0) {
        print_error("[%.*s] != [%s]\n", (int) b->len, b->data, s);
        fail();
    }
}


static int
resolve(chaton_chat_t *t, const char *url)
{
    return chaton_chat_resolved(t, (const unsigned char *) url, strlen(url),
                                NULL, t->out);
}


/* ---- stream mode: the placeholder cut at awkward places -------------------- */


static void
test_chunk_spc_stream_awkward(void **state)
{
    size_t         mark, n;
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 0);
    mark = 0;

    feed(&t, "Here you go: ");
    assert_string_equal(written(&out, &mark), "Here you go: ");
    assert_int_equal(t.writer->chunks, 1);

    feed(&t, "![Ima");
    assert_int_equal(out.len, mark);
    assert_false(t.waiting);

    feed(&t, "ge](https://spc.");
    assert_int_equal(out.len, mark);
    assert_false(t.waiting);

    feed(&t, "unk/images/ab");
    assert_int_equal(out.len, mark);
    assert_false(t.waiting);

    feed(&t, "c.png)");
    assert_int_equal(out.len, mark);
    assert_true(t.waiting);
    assert_non_null(t.pics);
    assert_buf(chaton_chat_image_path(&t), "images/abc.png");
    assert_int_equal(chaton_chat_held(&t)->len, 0);
    assert_int_equal(t.pictures, 1);

    /* behind the picture: held, in order, nothing written */

    feed(&t, " Enjoy");
    feed(&t, " it!");
    feed(&t, " ![Image](https://spc.unk/images/def.png) Bye.");
    assert_int_equal(out.len, mark);
    assert_int_equal(t.writer->chunks, 1);
    assert_buf(chaton_chat_held(&t),
               " Enjoy it! ![Image](https://spc.unk/images/def.png) Bye.");

    /* the end of the answer waits for the picture */
    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_int_equal(out.len, mark);

    /* resolved: the picture, then the held text up to the next picture */

    assert_int_equal(resolve(&t, URL1), CHATON_OK);
    assert_string_equal(written(&out, &mark),
                        "![Image](" URL1 ") Enjoy it! ");
    assert_true(t.waiting);
    assert_buf(chaton_chat_image_path(&t), "images/def.png");
    assert_buf(chaton_chat_held(&t), " Bye.");
    assert_int_equal(t.pictures, 2);

    assert_int_equal(resolve(&t, URL2), CHATON_OK);
    assert_string_equal(written(&out, &mark), "![Image](" URL2 ") Bye.");
    assert_false(t.waiting);
    assert_int_equal(chaton_chat_held(&t)->len, 0);

    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);

    assert_string_equal(stream_content(&out, 0, &n),
                        "Here you go: ![Image](" URL1 ") Enjoy it! "
                        "![Image](" URL2 ") Bye.");
    assert_int_equal(n, t.writer->chunks);
    assert_null(strstr(unit_bufstr(&out), "spc.unk"));
    assert_true(unit_utf8_valid(out.data, out.len));
}


/* the picture's URL is kept byte for byte (JSON-escaped in the chunk) */

static void
test_chunk_spc_url_kept(void **state)
{
    size_t         mark;
    chaton_buf_t   out;
    chaton_chat_t  t;

#define SIGNED  "https://bucket.s3.amazonaws.com/a/b.png?X-Amz-Signature="  \
                "ab%2Fcd&X-Amz-Expires=3600&x=\"q\"\\"

    chat_new(&t, &out, 1, 0);
    mark = 0;

    feed(&t, "![Image](https://spc.unk/a/b%20c.png?v=1)");
    assert_true(t.waiting);

    /* the path as the placeholder had it: escapes are the caller's */
    assert_buf(chaton_chat_image_path(&t), "a/b%20c.png?v=1");
    assert_int_equal(out.len, 0);

    assert_int_equal(resolve(&t, SIGNED), CHATON_OK);
    assert_string_equal(written(&out, &mark), "![Image](" SIGNED ")");
    assert_false(t.waiting);
    assert_int_equal(t.writer->chunks, 1);
}


/* a picture that could not be had: a readable note, no spc.unk link */

static void
test_chunk_spc_failed(void **state)
{
    size_t         mark;
    char          *s;
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 0);
    mark = 0;

    feed(&t, "Look: ![Image](https://spc.unk/images/x.png) after");
    assert_string_equal(written(&out, &mark), "Look: ");
    assert_true(t.waiting);
    assert_buf(chaton_chat_held(&t), " after");

    assert_int_equal(chaton_chat_resolved(&t, NULL, 0, NOTE, t.out), CHATON_OK);
    assert_false(t.waiting);

    s = written(&out, &mark);
    unit_assert_contains(s, NOTE);
    unit_assert_not_contains(s, "spc.unk");
    unit_assert_not_contains(s, "](");
    unit_assert_not_contains(s, "images/x.png");

    /* the note first, then the held text */
    assert_true(strlen(s) > strlen(" after"));
    assert_string_equal(s + strlen(s) - strlen(" after"), " after");
    assert_true(strstr(s, NOTE) < s + strlen(s) - strlen(" after"));

    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);
    unit_assert_not_contains(unit_bufstr(&out), "spc.unk");

    /* the first fails, the second comes: aggregate mode */

    chat_new(&t, NULL, 0, 0);
    feed(&t, "A ![Image](https://spc.unk/1.png) B "
             "![Image](https://spc.unk/2.png) C");
    assert_true(t.waiting);
    assert_buf(chaton_chat_image_path(&t), "1.png");
    assert_int_equal(chaton_chat_resolved(&t, NULL, 0, NOTE, t.out), CHATON_OK);
    assert_true(t.waiting);
    assert_buf(chaton_chat_image_path(&t), "2.png");
    assert_int_equal(resolve(&t, URL2), CHATON_OK);
    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);

    s = aggregate_content(&t);
    unit_assert_contains(s, NOTE);
    unit_assert_not_contains(s, "spc.unk");
    assert_memory_equal(s, "A ", 2);
    unit_assert_contains(s, " B ![Image](" URL2 ") C");
    assert_string_equal(s + strlen(s) - strlen(" B ![Image](" URL2 ") C"),
                        " B ![Image](" URL2 ") C");
}


/* two placeholders in a row: resolved one after the other */

static void
test_chunk_spc_two_in_a_row(void **state)
{
    size_t         mark;
    chaton_buf_t   out;
    chaton_chat_t  t;

    /* in one event */

    chat_new(&t, &out, 1, 0);
    mark = 0;

    feed(&t, "X ![Image](https://spc.unk/one.png)"
             "![Image](https://spc.unk/two.png) Y");
    assert_string_equal(written(&out, &mark), "X ");
    assert_true(t.waiting);
    assert_buf(chaton_chat_image_path(&t), "one.png");
    assert_buf(chaton_chat_held(&t), "![Image](https://spc.unk/two.png) Y");

    assert_int_equal(resolve(&t, URL1), CHATON_OK);
    assert_string_equal(written(&out, &mark), "![Image](" URL1 ")");
    assert_true(t.waiting);
    assert_buf(chaton_chat_image_path(&t), "two.png");
    assert_buf(chaton_chat_held(&t), " Y");

    assert_int_equal(resolve(&t, URL2), CHATON_OK);
    assert_string_equal(written(&out, &mark), "![Image](" URL2 ") Y");
    assert_false(t.waiting);
    assert_int_equal(t.pictures, 2);

    /* in separate events, the second arriving while the first is waited */

    chat_new(&t, &out, 1, 0);
    mark = 0;

    feed(&t, "![Image](https://spc.unk/one.png)");
    feed(&t, "![Ima");
    feed(&t, "ge](https://spc.unk/two.png)");
    feed(&t, "![Image](https://spc.unk/three.png) end");
    assert_int_equal(out.len, 0);
    assert_buf(chaton_chat_image_path(&t), "one.png");

    assert_int_equal(resolve(&t, URL1), CHATON_OK);
    assert_string_equal(written(&out, &mark), "![Image](" URL1 ")");
    assert_buf(chaton_chat_image_path(&t), "two.png");

    assert_int_equal(resolve(&t, URL2), CHATON_OK);
    assert_string_equal(written(&out, &mark), "![Image](" URL2 ")");
    assert_buf(chaton_chat_image_path(&t), "three.png");

    assert_int_equal(resolve(&t, URL3), CHATON_OK);
    assert_string_equal(written(&out, &mark), "![Image](" URL3 ") end");
    assert_false(t.waiting);
    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_int_equal(out.len, mark);
    assert_int_equal(t.pictures, 3);
}


/* the end of the answer while a picture is waited for */

static void
test_chunk_spc_flush_waits(void **state)
{
    size_t         mark;
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 0);
    mark = 0;

    feed(&t, "![Image](https://spc.unk/a.png)");
    feed(&t, " tail!");
    assert_true(t.waiting);

    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_int_equal(out.len, 0);
    assert_true(t.waiting);
    assert_buf(chaton_chat_held(&t), " tail!");

    assert_int_equal(resolve(&t, URL1), CHATON_OK);
    assert_string_equal(written(&out, &mark), "![Image](" URL1 ") tail");

    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_string_equal(written(&out, &mark), "!");

    /* a plain "!" at the end, no picture */

    chat_new(&t, &out, 1, 0);
    mark = 0;
    feed(&t, "Look!");
    assert_string_equal(written(&out, &mark), "Look");
    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_string_equal(written(&out, &mark), "!");
    assert_false(t.waiting);
}


/* links elsewhere are content as they are */

static void
test_chunk_spc_other_links(void **state)
{
    size_t         mark;
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 0);
    mark = 0;

    feed(&t, "![Image](https://example.com/a.png)");
    assert_string_equal(written(&out, &mark),
                        "![Image](https://example.com/a.png)");

    /* no picture: no pictures' state (made when the first is found) */
    assert_null(t.pics);

    feed(&t, "![Image](https://spc.unk/a b.png)");
    assert_string_equal(written(&out, &mark),
                        "![Image](https://spc.unk/a b.png)");
    feed(&t, "![Ima");
    assert_int_equal(out.len, mark);
    feed(&t, "ge](http://x)");
    assert_string_equal(written(&out, &mark), "![Image](http://x)");

    assert_false(t.waiting);
    assert_int_equal(t.pictures, 0);
}


/* what is held behind a picture is bounded by max_answer */

static void
test_chunk_spc_held_bounded(void **state)
{
    int            rc;
    size_t         i;
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 64);

    feed(&t, "![Image](https://spc.unk/a.png)");
    assert_true(t.waiting);

    rc = CHATON_OK;

    for (i = 0; i < 20 && rc == CHATON_OK; i++) {
        rc = chaton_chat_content(&t, (const unsigned char *) "0123456789",
                                 10, NULL, 0);
    }

    assert_int_equal(rc, CHATON_TOO_BIG);
    assert_true(chaton_chat_held(&t)->len <= 64);
    assert_true(i >= 6 && i <= 7);
    assert_int_equal(out.len, 0);
}


/* ---- stream and aggregate, cut anywhere, resolved early or late ------------ */


static const char  *urls[] = { URL1, URL2, URL3 };


/*
 * Resolves the pictures waited for, in turn, with URL1, URL2...; counts
 * them, and those waited for under another path than expected.
 */

static void
resolve_waiting(chaton_chat_t *t, size_t *k, size_t *wrong,
    const char *const *paths, size_t npaths)
{
    const chaton_buf_t  *path;

    while (t->waiting) {
        path = chaton_chat_image_path(t);

        if (*k >= npaths || path->len != strlen(paths[*k])
            || memcmp(path->data, paths[*k], path->len) != 0)
        {
            (*wrong)++;
        }

        assert_int_equal(resolve(t, urls[*k < 2 ? *k : 2]), CHATON_OK);
        (*k)++;
    }
}


/*
 * The answer text as events cut at cuts[], pictures resolved as soon as
 * they are waited for (early) or only after the last event; the content
 * the client gets (with a note appended if the pictures waited for were not
 * the ones expected, so that the comparison fails).
 */

static char *
scenario(const char *text, const size_t *cuts, size_t ncuts, int stream,
    int early, const char *const *paths, size_t npaths)
{
    char           *c, *r;
    size_t          i, k, wrong, from, to, len;
    chaton_buf_t    out;
    chaton_chat_t   t;

    chat_new(&t, stream ? &out : NULL, stream, 0);

    len = strlen(text);
    from = 0;
    k = 0;
    wrong = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;

        if (to > from) {
            feed_n(&t, text + from, to - from);
        }

        if (early) {
            resolve_waiting(&t, &k, &wrong, paths, npaths);
        }

        from = to;
    }

    resolve_waiting(&t, &k, &wrong, paths, npaths);

    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_false(t.waiting);
    assert_int_equal(t.pictures, k);

    if (stream) {
        assert_int_equal(chaton_chat_end(&t, t.out), CHATON_OK);
        c = stream_content(&out, 0, NULL);

    } else {
        c = aggregate_content(&t);
    }

    if (k == npaths && wrong == 0) {
        return c;
    }

    r = unit_mem(strlen(c) + 64);
    sprintf(r, "%s  <%zu pictures, %zu not as expected>", c, k, wrong);

    return r;
}


/* every cut (one, two events) and byte by byte, in the four ways */

static void
every_way(const char *text, const char *expect, const char *const *paths,
    size_t npaths)
{
    int      stream, early;
    char    *got;
    size_t   i, len, bad, *cuts;

    len = strlen(text);
    bad = 0;

    cuts = unit_mem((len + 1) * sizeof(size_t));

    for (i = 0; i < len; i++) {
        cuts[i] = i + 1;
    }

    for (stream = 0; stream < 2; stream++) {
        for (early = 0; early < 2; early++) {

            got = scenario(text, cuts, len ? len - 1 : 0, stream, early,
                           paths, npaths);

            if (strcmp(got, expect) != 0) {
                print_error("byte by byte (%s, resolved %s):\n got [%s]\n"
                            "want [%s]\n", stream ? "stream" : "aggregate",
                            early ? "early" : "late", got, expect);
                bad++;
            }

            for (i = 0; i <= len; i++) {
                got = scenario(text, &i, 1, stream, early, paths, npaths);

                if (strcmp(got, expect) != 0) {
                    if (bad < 4) {
                        print_error("cut after [%.*s] (%s, resolved %s):\n"
                                    " got [%s]\nwant [%s]\n", (int) i, text,
                                    stream ? "stream" : "aggregate",
                                    early ? "early" : "late", got, expect);
                    }
                    bad++;
                }
            }
        }
    }

    if (bad) {
        print_error("%zu of %zu ways gave other content\n", bad,
                    4 * (len + 2));
        fail();
    }
}


static void
test_chunk_spc_one_picture_every_cut(void **state)
{
    static const char  *paths[] = { "images/abc.png" };

    /* nothing after the placeholder that could start another one */

    every_way("Here: ![Image](https://spc.unk/images/abc.png) Enjoy it.",
              "Here: ![Image](" URL1 ") Enjoy it.", paths, 1);
}


/*
 * With more text behind the picture, some cuts leave a possible start in
 * the scanner when the picture is found: see the smallest cases below.
 */

static void
test_chunk_spc_two_pictures_every_cut(void **state)
{
    static const char  *paths[] = { "one.png", "two.png" };

    every_way("A ![Image](https://spc.unk/one.png) B "
              "![Image](https://spc.unk/two.png) C",
              "A ![Image](" URL1 ") B ![Image](" URL2 ") C", paths, 2);
}


static void
test_chunk_spc_bang_behind_picture_every_cut(void **state)
{
    static const char  *paths[] = { "a.png" };

    every_way("![Image](https://spc.unk/a.png) wow! Nice",
              "![Image](" URL1 ") wow! Nice", paths, 1);
}


/*
 * The smallest cases of the above: a possible start of a placeholder at the
 * end of the text scanned when a picture's placeholder completed (an event,
 * or the held text fed again on resolution).  The scanner keeps it
 * (t->spc.held) while what follows goes to t->held; on resolution t->held
 * is fed behind the scanner's bytes, so the order is lost.
 *
 * The events are fed in order; NULL among them resolves the picture waited
 * for (if any) there; the rest are resolved at the end.
 */

static void
events_give(const char *const *ev, size_t nev, const char *expect)
{
    size_t         i, k, mark;
    char          *s;
    chaton_buf_t   out;
    chaton_chat_t  t;

    chat_new(&t, &out, 1, 0);
    mark = 0;

    k = 0;

    for (i = 0; i < nev; i++) {
        if (ev[i] != NULL) {
            feed(&t, ev[i]);

        } else if (t.waiting) {
            assert_true(k < 3);
            assert_int_equal(resolve(&t, urls[k++]), CHATON_OK);
        }
    }

    for ( /* void */ ; t.waiting && k < 3; k++) {
        assert_int_equal(resolve(&t, urls[k]), CHATON_OK);
    }

    assert_int_equal(chaton_chat_flush(&t, t.out), CHATON_OK);
    assert_false(t.waiting);

    s = written(&out, &mark);

    if (strcmp(s, expect) != 0) {
        print_error("got  [%s]\nwant [%s]\n", s, expect);
        fail();
    }
}


static void
test_chunk_spc_bang_behind_picture(void **state)
{
    static const char  *ev[] = {
        "![Image](https://spc.unk/a.png) wow!", " Nice",
    };

    static const char  *ev_resolved[] = {
        "![Image](https://spc.unk/a.png) wow!", NULL, " Nice",
    };

    /* got "![Image](URL1)! wow Nice" */
    events_give(ev, 2, "![Image](" URL1 ") wow! Nice");
    events_give(ev_resolved, 3, "![Image](" URL1 ") wow! Nice");
}


static void
test_chunk_spc_start_behind_picture(void **state)
{
    static const char  *ev[] = {
        "A ![Image](https://spc.unk/one.png) B ![Ima",
        "ge](https://spc.unk/two.png) C",
    };

    /* got "A ![Image](URL1)![Image](URL2) C": " B " went into an alt text */
    events_give(ev, 2, "A ![Image](" URL1 ") B ![Image](" URL2 ") C");
}


static void
test_chunk_spc_cut_placeholder_behind_picture(void **state)
{
    static const char  *ev[] = {
        "A ![Image](https://spc.unk/one.png) B ![Image](https://spc.unk/tw",
        "o.png) C",
    };

    /* got "A ![Image](URL1)![Image](https://spc.unk/tw B o.png) C" */
    events_give(ev, 2, "A ![Image](" URL1 ") B ![Image](" URL2 ") C");
}


static void
test_chunk_spc_bang_behind_refed_picture(void **state)
{
    static const char  *ev[] = {
        "![Image](https://spc.unk/one.png)",
        "![Image](https://spc.unk/two.png) x!",
        NULL,
        " y",
    };

    /*
     * The second picture arrived while the first was waited for; the
     * first's resolution feeds it, its " x" goes to t->held and the "!" is
     * kept by the scanner.  Got "![Image](URL1)![Image](URL2)! x y".
     */
    events_give(ev, 4, "![Image](" URL1 ")![Image](" URL2 ") x! y");
}


/* stream and aggregate: the same content for the same events */

static void
test_chunk_spc_aggregate_same(void **state)
{
    size_t         i, mark;
    char          *streamed;
    chaton_buf_t   out;
    chaton_chat_t  ts, ta;

    static const char  *ev[] = {
        "Here \"you\" go:\n", "![Ima", "ge](https://spc.", "unk/images/ab",
        "c.png)", " \xc3\xa9t\xc3\xa9 ", "\\ ![Image](https://spc.unk/",
        "x.png)", ".",
    };

    chat_new(&ts, &out, 1, 0);
    chat_new(&ta, NULL, 0, 0);
    mark = 0;

    for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
        feed(&ts, ev[i]);
        feed(&ta, ev[i]);

        /* the aggregate holds back exactly as the stream does */
        assert_int_equal(ta.waiting, ts.waiting);
        assert_int_equal(chaton_chat_held(&ta)->len,
                         chaton_chat_held(&ts)->len);
    }

    assert_true(ta.waiting);
    assert_buf(chaton_chat_image_path(&ta), "images/abc.png");
    assert_string_equal(written(&out, &mark), "Here \"you\" go:\n");

    /* nothing written behind the picture, in either mode */
    assert_buf(&((chaton_openai_chat_t *) ta.writer)->whole->content, "Here \\\"you\\\" go:\\n");

    assert_int_equal(resolve(&ts, URL1), CHATON_OK);
    assert_int_equal(resolve(&ta, URL1), CHATON_OK);
    assert_true(ta.waiting && ts.waiting);
    assert_buf(chaton_chat_image_path(&ta), "x.png");

    assert_int_equal(chaton_chat_resolved(&ts, NULL, 0, NOTE, ts.out), CHATON_OK);
    assert_int_equal(chaton_chat_resolved(&ta, NULL, 0, NOTE, ta.out), CHATON_OK);

    assert_int_equal(chaton_chat_flush(&ts, ts.out), CHATON_OK);
    assert_int_equal(chaton_chat_flush(&ta, ta.out), CHATON_OK);
    assert_int_equal(chaton_chat_end(&ts, ts.out), CHATON_OK);

    streamed = stream_content(&out, 0, NULL);
    assert_string_equal(aggregate_content(&ta), streamed);

#define HEAD  "Here \"you\" go:\n![Image](" URL1 ") \xc3\xa9t\xc3\xa9 \\ "

    assert_memory_equal(streamed, HEAD, strlen(HEAD));
    unit_assert_contains(streamed, NOTE);
    assert_string_equal(streamed + strlen(streamed) - 1, ".");
    unit_assert_not_contains(streamed, "spc.unk");

    /* the usage counts what the client got */
    assert_int_equal(chaton_chat_completion_tokens(&ta),
                     unit_tokens(streamed, strlen(streamed)));
    assert_int_equal(chaton_chat_completion_tokens(&ts),
                     unit_tokens(streamed, strlen(streamed)));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_chunk_spc_stream_awkward),
        utest(test_chunk_spc_url_kept),
        utest(test_chunk_spc_failed),
        utest(test_chunk_spc_two_in_a_row),
        utest(test_chunk_spc_flush_waits),
        utest(test_chunk_spc_other_links),
        utest(test_chunk_spc_held_bounded),
        utest(test_chunk_spc_one_picture_every_cut),
        utest(test_chunk_spc_two_pictures_every_cut),
        utest(test_chunk_spc_bang_behind_picture_every_cut),
        utest(test_chunk_spc_bang_behind_picture),
        utest(test_chunk_spc_start_behind_picture),
        utest(test_chunk_spc_cut_placeholder_behind_picture),
        utest(test_chunk_spc_bang_behind_refed_picture),
        utest(test_chunk_spc_aggregate_same),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
