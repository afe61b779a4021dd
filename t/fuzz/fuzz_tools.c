/*
 * chaton_tools: the streaming tool-call extractor.
 *
 * Input: [flags] answer
 *
 *   flags bit 0      several calls allowed
 *   flags bits 1-2   a call's body limit: 16, 100, 1000, 65536 bytes
 *   flags bits 3-5   the allocation to refuse in a last run (0: none)
 *
 * Checks:
 *   - fed whole, in random pieces and byte by byte, the answer gives the
 *     same text, calls and failure count;
 *   - the text is a prefix of the answer (text only ever goes out in order,
 *     and nothing after the first call), and all of it when no marker of
 *     this request is in the answer;
 *   - without a marker, what is held back after each piece stays under
 *     CHATON_TOOLS_HOLD_MAX;
 *   - calls are numbered 0, 1, ..., one at most unless several are allowed,
 *     name an offered tool (its own spelling), and have arguments that are
 *     one compact JSON object;
 *   - the memory held stays bounded by the call limit, not the answer;
 *   - an allocation refused ends the feeding with CHATON_ERROR, no crash.
 */

#include "fuzz.h"
#include "chaton_tools.h"


#define NONCE     "abcd1234"
#define MARKER    "<tool_call_" NONCE ">"
#define MAXCALLS  64


static const size_t  limits[] = { 16, 100, 1000, 65536 };

static chaton_tool_t  tools[] = {
    { (const unsigned char *) "get_weather", 11, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "get_time", 8, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "read_file", 9, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "ls", 2, NULL, 0, NULL, 0, 0 },
    { (const unsigned char *) "web.search-v2", 13, NULL, 0, NULL, 0, 0 },
};

#define NTOOLS  (sizeof(tools) / sizeof(tools[0]))


typedef struct {
    fz_pool_t      *pool;
    const uint8_t  *answer;
    size_t          len;
    int             parallel;

    unsigned char  *text;           /* malloc'ed: the answer's size */
    size_t          ntext;
    size_t          ncalls;
    uint64_t        calls;          /* a hash of the calls */
    size_t          failures;
} run_t;


static int
on_text(void *ctx, const unsigned char *p, size_t len)
{
    run_t  *r = ctx;

    FZ_CHECK(len > 0, "an empty text callback");
    FZ_CHECK(r->ncalls == 0, "text after a call");
    FZ_CHECK(r->ntext + len <= r->len, "more text than the answer");

    memcpy(r->text + r->ntext, p, len);
    r->ntext += len;

    return CHATON_OK;
}


/* no blank outside strings, no raw control character inside them */

static int
compact(const unsigned char *s, size_t len)
{
    int     in_string;
    size_t  i;

    in_string = 0;

    for (i = 0; i < len; i++) {
        if (in_string) {
            if (s[i] == '\\') {
                i++;

            } else if (s[i] == '"') {
                in_string = 0;

            } else if (s[i] < 0x20) {
                return 0;
            }

        } else if (s[i] == '"') {
            in_string = 1;

        } else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'
                   || s[i] == '\n')
        {
            return 0;
        }
    }

    return 1;
}


static int
on_call(void *ctx, size_t index, const unsigned char *name, size_t name_len,
    const unsigned char *args, size_t args_len)
{
    run_t   *r = ctx;
    size_t   i;
    cJSON   *j;

    FZ_CHECK(index == r->ncalls, "call %zu numbered %zu", r->ncalls, index);
    FZ_CHECK(r->parallel || index == 0, "a second call, one allowed");

    for (i = 0; i < NTOOLS; i++) {
        if (name == tools[i].name && name_len == tools[i].name_len) {
            break;
        }
    }

    FZ_CHECK(i < NTOOLS, "a call of a tool not offered: %.*s",
             (int) name_len, name);

    FZ_CHECK(chaton_json_strict(args, args_len), "arguments not strict JSON");
    j = fz_json(args, args_len, "the arguments");
    FZ_CHECK(cJSON_IsObject(j), "arguments not an object: %.*s",
             (int) args_len, args);
    cJSON_Delete(j);

    FZ_CHECK(compact(args, args_len), "arguments not compact: %.*s",
             (int) args_len, args);

    r->calls = r->calls * 31 + i;
    r->calls = r->calls * 31 + fz_hash(args, args_len);
    r->ncalls++;

    return CHATON_OK;
}


/*
 * One run over the answer, in pieces ending at cuts[] (increasing); 0
 * pieces: whole.  Returns the last return code.
 */

static int
run(run_t *r, const uint8_t *answer, size_t len, int parallel,
    size_t max_call, const size_t *cuts, size_t ncuts, size_t fail_at,
    int has_marker)
{
    int                     rc;
    size_t                  i, from, to, piece;
    fz_pool_t               pool;
    chaton_tools_t          t;
    chaton_tools_extract_t  x;

    memset(r, 0, sizeof(run_t));
    r->answer = answer;
    r->len = len;
    r->parallel = parallel;
    r->text = malloc(len ? len : 1);
    FZ_CHECK(r->text != NULL, "out of memory");

    fz_pool_init(&pool, 1);
    pool.fail_at = fail_at;

    memset(&t, 0, sizeof(t));
    t.tools = tools;
    t.ntools = NTOOLS;
    t.parallel = parallel;
    memcpy(t.nonce, NONCE, CHATON_TOOLS_NONCE_LEN);

    chaton_tools_extract_init(&x, &pool.a, &t, max_call, on_text, on_call, r);

    from = 0;
    rc = CHATON_OK;

    for (i = 0; i <= ncuts && rc == CHATON_OK; i++) {
        to = (i < ncuts) ? cuts[i] : len;
        piece = to - from;

        rc = chaton_tools_extract(&x, answer + from, piece);

        if (rc == CHATON_OK && !has_marker) {
            FZ_CHECK(to - r->ntext < CHATON_TOOLS_HOLD_MAX,
                     "%zu bytes held after %zu", to - r->ntext, to);
        }

        FZ_CHECK(fz_pool_live(&pool)
                 <= 32 * (max_call + CHATON_TOOLS_HOLD_MAX) + 4 * piece + 4096,
                 "%zu bytes live (call limit %zu, piece %zu)",
                 fz_pool_live(&pool), max_call, piece);

        from = to;
    }

    if (rc == CHATON_OK) {
        rc = chaton_tools_extract_finish(&x);
    }

    FZ_CHECK(rc == CHATON_OK || (fail_at && rc == CHATON_ERROR),
             "extract: %d", rc);

    r->failures = x.failures;
    FZ_CHECK(x.ncalls == r->ncalls, "ncalls %zu, calls seen %zu", x.ncalls,
             r->ncalls);

    fz_pool_release(&pool);

    return rc;
}


static void
same(const run_t *a, const run_t *b, const char *how)
{
    if (a->ntext != b->ntext || memcmp(a->text, b->text, a->ntext) != 0) {
        fz_dump("answer", a->answer, a->len);
        fz_dump("text whole", a->text, a->ntext);
        fz_dump(how, b->text, b->ntext);
        FZ_CHECK(0, "the text differs %s", how);
    }

    FZ_CHECK(a->ncalls == b->ncalls && a->calls == b->calls,
             "the calls differ %s: %zu / %zu", how, a->ncalls, b->ncalls);
    FZ_CHECK(a->failures == b->failures, "the failures differ %s: %zu / %zu",
             how, a->failures, b->failures);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             parallel, has_marker;
    run_t           whole, other;
    size_t          i, n, len, max_call, *cuts;
    uint64_t        seed;
    const uint8_t  *answer;

    if (size < 1) {
        return 0;
    }

    parallel = data[0] & 1;
    max_call = limits[(data[0] >> 1) & 3];
    answer = data + 1;
    len = size - 1;

    has_marker = memmem(answer, len, MARKER, sizeof(MARKER) - 1) != NULL;

    cuts = malloc((len + 1) * sizeof(size_t));
    FZ_CHECK(cuts != NULL, "out of memory");

    run(&whole, answer, len, parallel, max_call, NULL, 0, 0, has_marker);

    /* the text is a prefix of the answer; all of it with no marker */

    FZ_CHECK(memcmp(whole.text, answer, whole.ntext) == 0,
             "the text is not the answer's start");

    if (!has_marker) {
        FZ_CHECK(whole.ntext == len && whole.ncalls == 0
                 && whole.failures == 0,
                 "no marker, yet %zu of %zu bytes, %zu calls, %zu failures",
                 whole.ntext, len, whole.ncalls, whole.failures);
    }

    /* random pieces */

    seed = fz_hash(data, size);
    n = 0;

    for (i = 1 + fz_rand(&seed) % 8; i < len; i += 1 + fz_rand(&seed) % 24) {
        cuts[n++] = i;
    }

    run(&other, answer, len, parallel, max_call, cuts, n, 0, has_marker);
    same(&whole, &other, "in pieces");
    free(other.text);

    /* byte by byte */

    if (len <= 4096) {
        for (i = 0; i + 1 < len; i++) {
            cuts[i] = i + 1;
        }

        run(&other, answer, len, parallel, max_call, cuts,
            len ? len - 1 : 0, 0, has_marker);
        same(&whole, &other, "byte by byte");
        free(other.text);
    }

    /* an allocation refused */

    if ((data[0] >> 3) & 7) {
        run(&other, answer, len, parallel, max_call, cuts, n,
            (data[0] >> 3) & 7, has_marker);
        free(other.text);
    }

    free(whole.text);
    free(cuts);

    return 0;
}
