/*
 * Tool calling, the answer side: the streaming extractor.
 *
 * The answer's text streams through at once, but for the bytes that could
 * still begin a call, which are held back (CHATON_TOOLS_HOLD_MAX at most):
 *
 *     call start = blanks (8 at most: the end of the text before the call)
 *                  [ ``` language(12 at most) blanks(2) \n blanks(8) ]
 *                  <tool_call_NONCE>
 *
 * the fence only at the start of a line, outside any other fence.  Once a
 * marker is whole, the call's body is read: one JSON object by brace
 * matching (a fence may open between the marker and the object too).  The
 * object ends the call: the closing tag, a fence's closing line and all
 * text after a call are dropped, since models go on to imagine the tool's
 * result there; later markers make more calls when several are allowed.
 *
 * Whatever does not make a call (bad JSON, an unknown name, an object too
 * big or unfinished) goes out as the text it was, and is counted.
 *
 * Code fences are followed in the text: a marker inside a fence that began
 * with other content is an example shown to the user, not a call.
 */

#include <cjson/cJSON.h>

#include "chaton.h"
#include "chaton_tools.h"


#define CHATON_TX_BLANKS    8       /* before a call, after a fence line */
#define CHATON_TX_LANG      12      /* a fence's language word */
#define CHATON_TX_NAME      64      /* longest name matched loosely */

#define CHATON_TX_AGAIN     1       /* not a call: read the byte as text */

#define CHATON_TX_NO        0
#define CHATON_TX_MAYBE     1
#define CHATON_TX_MARKER    2


enum {
    CHATON_TX_SCAN = 0,             /* text, or between calls */
    CHATON_TX_CALL,                 /* a call's body */
    CHATON_TX_DONE                  /* the one call allowed was made */
};

enum {
    CHATON_TX_FENCE_NONE = 0,
    CHATON_TX_FENCE_CONTENT,        /* a fence of other content: examples */
    CHATON_TX_FENCE_CALLS           /* a fence around calls */
};

enum {
    CHATON_TX_LINE_START = 0,       /* nothing but blanks in the line yet */
    CHATON_TX_LINE_TICK1,
    CHATON_TX_LINE_TICK2,
    CHATON_TX_LINE_REST
};

enum {
    CHATON_TX_BODY_BLANK = 0,       /* after the marker */
    CHATON_TX_BODY_TICKS,           /* a fence after the marker */
    CHATON_TX_BODY_LANG,
    CHATON_TX_BODY_EOL,
    CHATON_TX_BODY_OBJECT
};


/* the members of a call's object, each a value's span in minified JSON */

typedef struct {
    const unsigned char    *name;
    const unsigned char    *name_end;
    const unsigned char    *args;
    const unsigned char    *args_end;
    const unsigned char    *function;
    const unsigned char    *function_end;
} chaton_tx_members_t;


static size_t chaton_tx_plain(chaton_tools_extract_t *x,
    const unsigned char *p, const unsigned char *end);
static int chaton_tx_scan(chaton_tools_extract_t *x, const unsigned char **pp,
    const unsigned char *end);
static int chaton_tx_hold(chaton_tools_extract_t *x, unsigned char c);
static int chaton_tx_viable(chaton_tools_extract_t *x, const unsigned char *h,
    size_t n, unsigned *fenced);
static void chaton_tx_track(chaton_tools_extract_t *x, unsigned char c);
static int chaton_tx_out(chaton_tools_extract_t *x, const unsigned char *p,
    size_t n);
static int chaton_tx_pass(chaton_tools_extract_t *x, const unsigned char *p,
    size_t n);
static int chaton_tx_flush(chaton_tools_extract_t *x);
static int chaton_tx_body(chaton_tools_extract_t *x, unsigned char c);
static int chaton_tx_object(chaton_tools_extract_t *x, unsigned char c);
static int chaton_tx_fail(chaton_tools_extract_t *x);
static int chaton_tx_end_call(chaton_tools_extract_t *x);
static int chaton_tx_args(chaton_tools_extract_t *x,
    const unsigned char *v, const unsigned char *end,
    const unsigned char **args, size_t *args_len);
static void chaton_tx_members(const unsigned char *p, const unsigned char *end,
    chaton_tx_members_t *m);
static const unsigned char *chaton_tx_skip_string(const unsigned char *p);
static const unsigned char *chaton_tx_skip_value(const unsigned char *p,
    const unsigned char *end);
static cJSON *chaton_tx_string(const unsigned char *v,
    const unsigned char *end);
static const chaton_tool_t *chaton_tx_match(const chaton_tools_t *t,
    const unsigned char *name, size_t len);
static unsigned char chaton_tx_fold(unsigned char c);
static size_t chaton_tx_distance(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen);


static int
chaton_tx_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


void
chaton_tools_extract_init(chaton_tools_extract_t *x, chaton_alloc_t *a,
    const chaton_tools_t *tools, size_t max_call, chaton_tools_text_pt text,
    chaton_tools_call_pt call, void *ctx)
{
    memset(x, 0, sizeof(chaton_tools_extract_t));

    x->tools = tools;
    x->max_call = max_call;
    x->text = text;
    x->call = call;
    x->ctx = ctx;

    memcpy(x->marker, "<tool_call_", sizeof("<tool_call_") - 1);
    memcpy(x->marker + sizeof("<tool_call_") - 1, tools->nonce,
           CHATON_TOOLS_NONCE_LEN);
    x->marker[CHATON_TOOLS_MARKER_LEN - 1] = '>';

    x->state = CHATON_TX_SCAN;
    x->fence = CHATON_TX_FENCE_NONE;
    x->line = CHATON_TX_LINE_START;

    chaton_buf_init(&x->out, a, 0);
    chaton_buf_init(&x->call_buf, a, max_call + CHATON_TOOLS_HOLD_MAX);
    chaton_buf_init(&x->args, a, 0);
    chaton_buf_init(&x->scratch, a, 0);
}


/*
 * A piece of the answer.  The text it frees goes out in one callback at
 * its end, calls as they complete (after the text before them).
 */

int
chaton_tools_extract(chaton_tools_extract_t *x, const unsigned char *p,
    size_t len)
{
    int                   rc;
    const unsigned char  *end;

    end = p + len;

    while (p < end) {

        switch (x->state) {

        case CHATON_TX_SCAN:
            chaton_try(chaton_tx_scan(x, &p, end));
            break;

        case CHATON_TX_CALL:
            rc = chaton_tx_body(x, *p);

            if (rc == CHATON_TX_AGAIN) {
                break;              /* the byte is read again as text */
            }

            if (rc != CHATON_OK) {
                return rc;
            }

            p++;
            break;

        default:
            return chaton_tx_flush(x);
        }
    }

    return chaton_tx_flush(x);
}


/*
 * The answer has ended: what was held goes out as text, and so does a call
 * left unfinished.
 */

int
chaton_tools_extract_finish(chaton_tools_extract_t *x)
{
    if (x->state == CHATON_TX_CALL) {
        chaton_try(chaton_tx_fail(x));

    } else if (x->state == CHATON_TX_SCAN) {
        chaton_try(chaton_tx_pass(x, x->hold, x->nhold));
        x->nhold = 0;
    }

    x->state = CHATON_TX_DONE;

    return chaton_tx_flush(x);
}


/* text: runs that cannot start a call pass at once, the rest is held */

static int
chaton_tx_scan(chaton_tools_extract_t *x, const unsigned char **pp,
    const unsigned char *end)
{
    unsigned              fenced;
    const unsigned char  *p, *run;

    run = *pp;

    for (p = *pp; p < end; p++) {

        if (x->nhold == 0) {
            p += chaton_tx_plain(x, p, end);

            if (p == end) {
                break;
            }
        }

        if (x->nhold == 0
            && chaton_tx_viable(x, p, 1, &fenced) == CHATON_TX_NO)
        {
            chaton_tx_track(x, *p);
            continue;
        }

        chaton_try(chaton_tx_out(x, run, p - run));
        run = p + 1;

        chaton_try(chaton_tx_hold(x, *p));

        if (x->state != CHATON_TX_SCAN) {
            p++;
            break;
        }
    }

    *pp = p;

    return chaton_tx_out(x, run, p - run);
}


/*
 * Most of an answer is text that cannot begin a call: a run of it passes
 * at once, rather than byte by byte.  The run stops before any '`' or the
 * marker's first byte, and ends with a byte that is not blank, so that a
 * blank in it is followed by text there (no call can begin with a blank
 * and then that).  Its bytes leave the line's state at REST (the last is
 * neither a blank nor a tick) and the fences' as they were (no tick).
 */

static size_t
chaton_tx_plain(chaton_tools_extract_t *x, const unsigned char *p,
    const unsigned char *end)
{
    const unsigned char  *q, *last;

    last = p;

    for (q = p; q < end; q++) {
        if (*q == '`' || *q == x->marker[0]) {
            break;
        }

        if (!chaton_tx_blank(*q)) {
            last = q + 1;
        }
    }

    if (last != p) {
        x->line = CHATON_TX_LINE_REST;
    }

    return last - p;
}


/*
 * One more byte held: what can no longer begin a call is let go, from the
 * front, until the rest can (or nothing is left); a whole marker begins
 * the call, and the blanks and fence held before it are the call's.
 */

static int
chaton_tx_hold(chaton_tools_extract_t *x, unsigned char c)
{
    int       v;
    size_t    k;
    unsigned  fenced;

    x->hold[x->nhold++] = c;

    v = CHATON_TX_NO;
    fenced = 0;

    for (k = 0; k < x->nhold; k++) {
        v = chaton_tx_viable(x, x->hold + k, x->nhold - k, &fenced);

        if (v != CHATON_TX_NO) {
            break;
        }

        chaton_tx_track(x, x->hold[k]);
    }

    chaton_try(chaton_tx_out(x, x->hold, k));

    x->nhold -= k;
    memmove(x->hold, x->hold + k, x->nhold);

    if (v != CHATON_TX_MARKER) {
        return CHATON_OK;
    }

    x->call_buf.len = 0;
    chaton_try(chaton_buf_append(&x->call_buf, x->hold, x->nhold));

    x->prefix = x->nhold;
    x->nhold = 0;
    x->state = CHATON_TX_CALL;
    x->body = CHATON_TX_BODY_BLANK;
    x->fenced = fenced;
    x->inner = 0;
    x->in_string = 0;
    x->escape = 0;
    x->depth = 0;

    return CHATON_OK;
}


/*
 * Whether the n bytes at h can begin a call (the grammar at the top of
 * this file): CHATON_TX_NO, CHATON_TX_MAYBE, or CHATON_TX_MARKER when they
 * end with the whole marker.  *fenced: a fence opened before the marker.
 */

static int
chaton_tx_viable(chaton_tools_extract_t *x, const unsigned char *h, size_t n,
    unsigned *fenced)
{
    int     ls;
    size_t  i, k;

    if (x->fence == CHATON_TX_FENCE_CONTENT) {
        return CHATON_TX_NO;
    }

    *fenced = 0;
    ls = (x->line == CHATON_TX_LINE_START);
    i = 0;

    for (k = 0; i < n && chaton_tx_blank(h[i]); i++, k++) {
        if (k == CHATON_TX_BLANKS) {
            return CHATON_TX_NO;
        }

        if (h[i] == '\n') {
            ls = 1;
        }
    }

    if (i == n) {
        return CHATON_TX_MAYBE;
    }

    if (h[i] == '`') {

        /* a fence that may wrap calls: ```lang\n, at a line's start */

        if (x->fence != CHATON_TX_FENCE_NONE || !ls) {
            return CHATON_TX_NO;
        }

        for (k = 0; k < 3; k++, i++) {
            if (i == n) {
                return CHATON_TX_MAYBE;
            }

            if (h[i] != '`') {
                return CHATON_TX_NO;
            }
        }

        for (k = 0; i < n && chaton_tools_lang(h[i]); i++, k++) {
            if (k == CHATON_TX_LANG) {
                return CHATON_TX_NO;
            }
        }

        for (k = 0; i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == '\r');
             i++, k++)
        {
            if (k == 2) {
                return CHATON_TX_NO;
            }
        }

        if (i == n) {
            return CHATON_TX_MAYBE;
        }

        if (h[i++] != '\n') {
            return CHATON_TX_NO;
        }

        for (k = 0; i < n && chaton_tx_blank(h[i]); i++, k++) {
            if (k == CHATON_TX_BLANKS) {
                return CHATON_TX_NO;
            }
        }

        if (i == n) {
            return CHATON_TX_MAYBE;
        }

        *fenced = 1;
    }

    for (k = 0; i < n; i++, k++) {
        if (k == CHATON_TOOLS_MARKER_LEN || h[i] != x->marker[k]) {
            return CHATON_TX_NO;
        }
    }

    return (k == CHATON_TOOLS_MARKER_LEN) ? CHATON_TX_MARKER : CHATON_TX_MAYBE;
}


/*
 * Fences in the text that has passed (or been dropped): a line that starts
 * with ``` (blanks before it aside) opens a fence or closes the open one.
 */

static void
chaton_tx_track(chaton_tools_extract_t *x, unsigned char c)
{
    if (c == '\n') {
        x->line = CHATON_TX_LINE_START;
        return;
    }

    switch (x->line) {

    case CHATON_TX_LINE_START:
        if (c == ' ' || c == '\t' || c == '\r') {
            return;
        }

        x->line = (c == '`') ? CHATON_TX_LINE_TICK1 : CHATON_TX_LINE_REST;
        return;

    case CHATON_TX_LINE_TICK1:
        x->line = (c == '`') ? CHATON_TX_LINE_TICK2 : CHATON_TX_LINE_REST;
        return;

    case CHATON_TX_LINE_TICK2:
        if (c == '`') {
            x->fence = (x->fence == CHATON_TX_FENCE_NONE)
                       ? CHATON_TX_FENCE_CONTENT : CHATON_TX_FENCE_NONE;
        }

        x->line = CHATON_TX_LINE_REST;
        return;

    default:
        return;
    }
}


/* text that was followed already: out before any call, dropped after one */

static int
chaton_tx_out(chaton_tools_extract_t *x, const unsigned char *p, size_t n)
{
    if (x->ncalls || n == 0) {
        return CHATON_OK;
    }

    return chaton_buf_append(&x->out, p, n);
}


/* text not followed yet */

static int
chaton_tx_pass(chaton_tools_extract_t *x, const unsigned char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        chaton_tx_track(x, p[i]);
    }

    return chaton_tx_out(x, p, n);
}


static int
chaton_tx_flush(chaton_tools_extract_t *x)
{
    int  rc;

    if (x->out.len == 0) {
        return CHATON_OK;
    }

    rc = x->text(x->ctx, x->out.data, x->out.len);
    x->out.len = 0;

    return rc;
}


/*
 * A byte of a call's body: blanks, maybe a fence line, then the object.
 * CHATON_TX_AGAIN when the byte shows that this is no call: the call's
 * bytes have gone out as text, and the byte is to be read as text.
 */

static int
chaton_tx_body(chaton_tools_extract_t *x, unsigned char c)
{
    int  rc, body;

    body = x->body;

    switch (body) {

    case CHATON_TX_BODY_BLANK:
        if (c == '{') {
            x->obj = x->call_buf.len;
            body = CHATON_TX_BODY_OBJECT;

        } else if (c == '`' && !x->inner) {
            x->ticks = 1;
            body = CHATON_TX_BODY_TICKS;

        } else if (!chaton_tx_blank(c)) {
            goto not_a_call;
        }

        break;

    case CHATON_TX_BODY_TICKS:
        if (c != '`') {
            goto not_a_call;
        }

        if (++x->ticks == 3) {
            x->ticks = 0;
            body = CHATON_TX_BODY_LANG;
        }

        break;

    case CHATON_TX_BODY_LANG:
        if (chaton_tools_lang(c) && x->ticks++ < CHATON_TX_LANG) {
            break;
        }

        /* fall through */

    case CHATON_TX_BODY_EOL:
        if (c == '\n') {
            x->inner = 1;
            body = CHATON_TX_BODY_BLANK;

        } else if (c == ' ' || c == '\t' || c == '\r') {
            body = CHATON_TX_BODY_EOL;

        } else {
            goto not_a_call;
        }

        break;
    }

    /* max_call bytes after the marker: a body that long is no call */

    if (x->call_buf.len - x->prefix >= x->max_call) {
        goto not_a_call;
    }

    rc = chaton_buf_append(&x->call_buf, &c, 1);

    if (rc != CHATON_OK) {
        return rc;
    }

    x->body = body;

    if (body == CHATON_TX_BODY_OBJECT && chaton_tx_object(x, c)) {
        return chaton_tx_end_call(x);
    }

    return CHATON_OK;

not_a_call:

    chaton_try(chaton_tx_fail(x));

    return CHATON_TX_AGAIN;
}


/* brace matching, strings skipped: whether c closed the object */

static int
chaton_tx_object(chaton_tools_extract_t *x, unsigned char c)
{
    if (x->in_string) {
        if (x->escape) {
            x->escape = 0;

        } else if (c == '\\') {
            x->escape = 1;

        } else if (c == '"') {
            x->in_string = 0;
        }

        return 0;
    }

    switch (c) {

    case '"':
        x->in_string = 1;
        return 0;

    case '{':
    case '[':
        x->depth++;
        return 0;

    case '}':
    case ']':
        return --x->depth == 0;

    default:
        return 0;
    }
}


/* no call after all: its bytes are text as they came, and counted */

static int
chaton_tx_fail(chaton_tools_extract_t *x)
{
    int  rc;

    x->failures++;
    x->state = CHATON_TX_SCAN;

    rc = chaton_tx_pass(x, x->call_buf.data, x->call_buf.len);
    x->call_buf.len = 0;

    return rc;
}


/*
 * The object is whole: a call if it is valid JSON (raw control characters
 * in strings forgiven), names an offered tool, and has object arguments.
 * The name may also be in "function", as OpenAI's own tool_calls have it.
 */

static int
chaton_tx_end_call(chaton_tools_extract_t *x)
{
    int                   rc;
    cJSON                *name;
    size_t                args_len;
    const unsigned char  *s, *args;
    const chaton_tool_t  *tool;
    chaton_tx_members_t   m, f;

    x->scratch.len = 0;

    rc = chaton_tools_minify(&x->scratch, x->call_buf.data + x->obj,
                             x->call_buf.len - x->obj);

    if (rc == CHATON_BAD) {
        return chaton_tx_fail(x);
    }

    if (rc != CHATON_OK) {
        return rc;
    }

    s = x->scratch.data;

    chaton_tx_members(s, s + x->scratch.len, &m);

    if (m.name == NULL && m.function != NULL && *m.function == '{') {
        chaton_tx_members(m.function, m.function_end, &f);
        m = f;
    }

    if (m.name == NULL || *m.name != '"') {
        return chaton_tx_fail(x);
    }

    name = chaton_tx_string(m.name, m.name_end);
    if (name == NULL) {
        return chaton_tx_fail(x);
    }

    tool = chaton_tx_match(x->tools, (unsigned char *) name->valuestring,
                           strlen(name->valuestring));

    cJSON_Delete(name);

    if (tool == NULL) {
        return chaton_tx_fail(x);
    }

    rc = chaton_tx_args(x, m.args, m.args_end, &args, &args_len);

    if (rc == CHATON_BAD) {
        return chaton_tx_fail(x);
    }

    if (rc != CHATON_OK) {
        return rc;
    }

    chaton_try(chaton_tx_flush(x));

    if (x->fenced || x->inner) {
        x->fence = CHATON_TX_FENCE_CALLS;
    }

    x->line = CHATON_TX_LINE_REST;
    x->state = x->tools->parallel ? CHATON_TX_SCAN : CHATON_TX_DONE;
    x->call_buf.len = 0;

    return x->call(x->ctx, x->ncalls++, tool->name, tool->name_len, args,
                   args_len);
}


/*
 * The arguments: an object as it is, a string that holds an object, or
 * none (absent or null: {}).  CHATON_BAD for anything else.
 */

static int
chaton_tx_args(chaton_tools_extract_t *x, const unsigned char *v,
    const unsigned char *end, const unsigned char **args, size_t *args_len)
{
    int     rc;
    cJSON  *s;

    if (v == NULL || (end - v == 4 && memcmp(v, "null", 4) == 0)) {
        *args = (const unsigned char *) "{}";
        *args_len = 2;
        return CHATON_OK;
    }

    if (*v == '{') {
        *args = v;
        *args_len = end - v;
        return CHATON_OK;
    }

    if (*v != '"') {
        return CHATON_BAD;
    }

    s = chaton_tx_string(v, end);
    if (s == NULL) {
        return CHATON_BAD;
    }

    x->args.len = 0;

    rc = chaton_tools_minify(&x->args, (unsigned char *) s->valuestring,
                             strlen(s->valuestring));

    cJSON_Delete(s);

    if (rc != CHATON_OK) {
        return rc;
    }

    if (x->args.data[0] != '{') {
        return CHATON_BAD;
    }

    *args = x->args.data;
    *args_len = x->args.len;

    return CHATON_OK;
}


/*
 * The members of an object in minified, valid JSON (p at its '{'): the
 * first "name", the first of "arguments", "parameters" or "input", the
 * first "function".
 */

static void
chaton_tx_members(const unsigned char *p, const unsigned char *end,
    chaton_tx_members_t *m)
{
    size_t                klen;
    const unsigned char  *k, *v;

    memset(m, 0, sizeof(chaton_tx_members_t));

    if (*++p == '}') {
        return;
    }

    for ( ;; ) {
        k = p;
        p = chaton_tx_skip_string(p);
        klen = p - k;

        v = ++p;                            /* past the ':' */
        p = chaton_tx_skip_value(p, end);

#define chaton_tx_key(s)                                                      \
        (klen == sizeof("\"" s "\"") - 1                                      \
         && memcmp(k, "\"" s "\"", klen) == 0)

        if (m->name == NULL && chaton_tx_key("name")) {
            m->name = v;
            m->name_end = p;

        } else if (m->args == NULL
                   && (chaton_tx_key("arguments")
                       || chaton_tx_key("parameters")
                       || chaton_tx_key("input")))
        {
            m->args = v;
            m->args_end = p;

        } else if (m->function == NULL && chaton_tx_key("function")) {
            m->function = v;
            m->function_end = p;
        }

#undef chaton_tx_key

        if (p >= end || *p != ',') {
            return;
        }

        p++;
    }
}


/* p at a valid string's '"': what follows its closing quote */

static const unsigned char *
chaton_tx_skip_string(const unsigned char *p)
{
    for (p++; *p != '"'; p++) {
        if (*p == '\\') {
            p++;
        }
    }

    return p + 1;
}


static const unsigned char *
chaton_tx_skip_value(const unsigned char *p, const unsigned char *end)
{
    size_t  depth;

    if (*p == '"') {
        return chaton_tx_skip_string(p);
    }

    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != '}' && *p != ']') {
            p++;
        }

        return p;
    }

    depth = 0;

    while (p < end) {
        if (*p == '"') {
            p = chaton_tx_skip_string(p);
            continue;
        }

        if (*p == '{' || *p == '[') {
            depth++;

        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }

        p++;
    }

    return end;
}


/*
 * A JSON string's value, unescaped (the caller deletes it); NULL if cJSON
 * will not have it (a lone surrogate escape) or memory ran out.
 */

static cJSON *
chaton_tx_string(const unsigned char *v, const unsigned char *end)
{
    cJSON  *s;

    s = cJSON_ParseWithLength((const char *) v, end - v);

    if (s != NULL && !cJSON_IsString(s)) {
        cJSON_Delete(s);
        return NULL;
    }

    return s;
}


/*
 * The offered tool a name means: the same name; else the one name that is
 * the same but for case and '-', '_', ' ', '.'; else the one within two
 * edits of those (one edit per three characters of the name at most, so
 * that "ls" does not become "cd").  NULL if none or several.
 */

static const chaton_tool_t *
chaton_tx_match(const chaton_tools_t *t, const unsigned char *name,
    size_t len)
{
    size_t                i, j, n, d;
    const chaton_tool_t  *tool, *found;

    for (i = 0; i < t->ntools; i++) {
        tool = &t->tools[i];

        if (tool->name_len == len && memcmp(tool->name, name, len) == 0) {
            return tool;
        }
    }

    found = NULL;
    n = 0;

    for (i = 0; i < t->ntools; i++) {
        tool = &t->tools[i];

        if (tool->name_len != len) {
            continue;
        }

        for (j = 0; j < len; j++) {
            if (chaton_tx_fold(tool->name[j]) != chaton_tx_fold(name[j])) {
                break;
            }
        }

        if (j == len) {
            found = tool;
            n++;
        }
    }

    if (n) {
        return (n == 1) ? found : NULL;
    }

    if (len > CHATON_TX_NAME) {
        return NULL;
    }

    for (i = 0; i < t->ntools; i++) {
        tool = &t->tools[i];

        if (tool->name_len > CHATON_TX_NAME) {
            continue;
        }

        d = chaton_tx_distance(name, len, tool->name, tool->name_len);

        if (d <= 2 && d * 3 <= tool->name_len) {
            found = tool;
            n++;
        }
    }

    return (n == 1) ? found : NULL;
}


static unsigned char
chaton_tx_fold(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c | 0x20;
    }

    if (c == '-' || c == ' ' || c == '.') {
        return '_';
    }

    return c;
}


/* Levenshtein distance of folded names, CHATON_TX_NAME bytes at most */

static size_t
chaton_tx_distance(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
    size_t  i, j, sub, del, ins, cost;
    size_t  row[CHATON_TX_NAME + 1], prev[CHATON_TX_NAME + 1];

    for (j = 0; j <= blen; j++) {
        prev[j] = j;
    }

    for (i = 1; i <= alen; i++) {
        row[0] = i;

        for (j = 1; j <= blen; j++) {
            cost = chaton_tx_fold(a[i - 1]) != chaton_tx_fold(b[j - 1]);

            sub = prev[j - 1] + cost;
            del = prev[j] + 1;
            ins = row[j - 1] + 1;

            row[j] = sub < del ? sub : del;
            row[j] = row[j] < ins ? row[j] : ins;
        }

        memcpy(prev, row, (blen + 1) * sizeof(size_t));
    }

    return prev[blen];
}
