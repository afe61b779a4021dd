/*
 * Shared helpers for the core unit tests (cmocka).
 *
 *   - a malloc-backed chaton_alloc_t that tracks every block it hands out,
 *     fills new blocks with garbage (nginx pools do not zero memory either)
 *     and frees whatever is left at teardown, so tests never leak even when
 *     the core (pool semantics) does not free;
 *   - the same allocator without a free function (what an nginx pool is);
 *   - an allocator that fails from the n-th allocation on;
 *   - strict JSON parsing of the core's output (the whole text must be one
 *     JSON value), with the trees deleted at teardown;
 *   - an independent UTF-8 validator and a small seeded PRNG.
 */

#ifndef UNIT_H
#define UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "chaton.h"
#include "chaton_error.h"
#include "chaton_chunk.h"
#include "dialect_openai_chat.h"


#define UNIT_UNUSED  __attribute__((unused))
#define UNIT_NOINLINE  __attribute__((noinline))

#define UNIT_NJSON  8192


typedef union unit_hdr_u {
    struct {
        union unit_hdr_u   *prev;
        union unit_hdr_u   *next;
        size_t              size;
        uint32_t            magic;
    } h;
    max_align_t             align;
} unit_hdr_t;


typedef struct {
    unit_hdr_t              head;       /* sentinel of a circular list */
    size_t                  live;       /* blocks held now */
    size_t                  allocs;     /* allocations made */
    size_t                  limit;      /* allocations allowed (SIZE_MAX) */
    size_t                  failed;     /* allocations refused */
} unit_pool_t;


static unit_pool_t     unit_pool;
static chaton_alloc_t  unit_alloc;      /* malloc + free */
static chaton_alloc_t  unit_nofree;     /* like an nginx pool: no free */
static cJSON          *unit_json_kept[UNIT_NJSON];
static size_t          unit_njson;


#define UNIT_MAGIC  0x756e6974u


static UNIT_UNUSED void *
unit_pool_alloc(void *pool, size_t size)
{
    unit_pool_t  *p = pool;
    unit_hdr_t   *h;

    if (p->allocs >= p->limit) {
        p->failed++;
        return NULL;
    }

    p->allocs++;

    h = malloc(sizeof(unit_hdr_t) + (size ? size : 1));
    if (h == NULL) {
        return NULL;
    }

    h->h.size = size;
    h->h.magic = UNIT_MAGIC;
    h->h.next = p->head.h.next;
    h->h.prev = &p->head;
    p->head.h.next->h.prev = h;
    p->head.h.next = h;
    p->live++;

    /* garbage, so that nothing relies on zeroed memory */
    memset(h + 1, 0xa5, size);

    return h + 1;
}


static UNIT_UNUSED void
unit_pool_free(void *pool, void *ptr)
{
    unit_pool_t  *p = pool;
    unit_hdr_t   *h;

    if (ptr == NULL) {
        return;
    }

    h = (unit_hdr_t *) ptr - 1;

    /* a block this pool did not hand out, or one freed twice */
    assert_int_equal(h->h.magic, UNIT_MAGIC);

    h->h.magic = 0;
    h->h.prev->h.next = h->h.next;
    h->h.next->h.prev = h->h.prev;
    p->live--;

    memset(ptr, 0x5a, h->h.size);
    free(h);
}


static UNIT_UNUSED void
unit_pool_init(unit_pool_t *p)
{
    memset(p, 0, sizeof(unit_pool_t));
    p->head.h.next = &p->head;
    p->head.h.prev = &p->head;
    p->limit = SIZE_MAX;
}


static UNIT_UNUSED void
unit_pool_release(unit_pool_t *p)
{
    unit_hdr_t  *h, *next;

    for (h = p->head.h.next; h != &p->head; h = next) {
        next = h->h.next;
        h->h.magic = 0;
        free(h);
    }

    p->head.h.next = &p->head;
    p->head.h.prev = &p->head;
    p->live = 0;
}


/* whether ptr lies in a block p holds */

static UNIT_UNUSED int
unit_pool_owns(unit_pool_t *p, const void *ptr)
{
    unit_hdr_t           *h;
    const unsigned char  *b, *c = ptr;

    for (h = p->head.h.next; h != &p->head; h = h->h.next) {
        b = (const unsigned char *) (h + 1);

        if (c >= b && c < b + (h->h.size ? h->h.size : 1)) {
            return 1;
        }
    }

    return 0;
}


/* every block p holds scribbled over, then freed: what kept one shows */

static UNIT_UNUSED void
unit_pool_scribble(unit_pool_t *p)
{
    unit_hdr_t  *h;

    for (h = p->head.h.next; h != &p->head; h = h->h.next) {
        memset(h + 1, 0x5a, h->h.size);
    }

    unit_pool_release(p);
}


static UNIT_UNUSED chaton_alloc_t
unit_allocator(unit_pool_t *p, int with_free)
{
    chaton_alloc_t  a;

    a.alloc = unit_pool_alloc;
    a.free = with_free ? unit_pool_free : NULL;
    a.pool = p;

    return a;
}


/* cmocka fixtures: a fresh pool per test, everything released after it */

static UNIT_UNUSED int
unit_setup(void **state)
{
    unit_pool_init(&unit_pool);
    unit_alloc = unit_allocator(&unit_pool, 1);
    unit_nofree = unit_allocator(&unit_pool, 0);
    unit_njson = 0;

    return 0;
}


static UNIT_UNUSED int
unit_teardown(void **state)
{
    size_t  i;

    for (i = 0; i < unit_njson; i++) {
        cJSON_Delete(unit_json_kept[i]);
    }

    unit_njson = 0;
    unit_pool_release(&unit_pool);

    return 0;
}


#define utest(f)  cmocka_unit_test_setup_teardown(f, unit_setup,              \
                                                      unit_teardown)


/* a block from the test pool (freed at teardown) */

static UNIT_UNUSED void *
unit_mem(size_t n)
{
    void  *p;

    p = unit_pool_alloc(&unit_pool, n);
    assert_non_null(p);

    return p;
}


/* a NUL-terminated copy of bytes, freed at teardown */

static UNIT_UNUSED char *
unit_strn(const void *s, size_t n)
{
    char  *p;

    p = unit_mem(n + 1);
    if (n) {
        memcpy(p, s, n);
    }
    p[n] = '\0';

    return p;
}


static UNIT_UNUSED cJSON *
unit_json_keep(cJSON *j)
{
    assert_true(unit_njson < UNIT_NJSON);
    unit_json_kept[unit_njson++] = j;

    return j;
}


/*
 * Parses bytes that must be exactly one JSON value (surrounding whitespace
 * aside); returns NULL if they are not.  The tree is deleted at teardown.
 */

static UNIT_UNUSED cJSON *
unit_json_try(const void *s, size_t len)
{
    cJSON        *j;
    const char   *end, *last;

    if (len == 0) {
        return NULL;
    }

    j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (j == NULL) {
        return NULL;
    }

    last = (const char *) s + len;

    while (end < last && (*end == ' ' || *end == '\n' || *end == '\r'
                          || *end == '\t'))
    {
        end++;
    }

    if (end != last) {
        cJSON_Delete(j);
        return NULL;
    }

    return unit_json_keep(j);
}


#define unit_json(s, len)  unit_json_must((s), (len), __FILE__, __LINE__)

static UNIT_UNUSED cJSON *
unit_json_must(const void *s, size_t len, const char *file, int line)
{
    cJSON  *j;

    j = unit_json_try(s, len);

    if (j == NULL) {
        print_error("%s:%d: not one valid JSON value: %.*s\n", file, line,
                    (int) (len > 2000 ? 2000 : len), (const char *) s);
        fail();
    }

    return j;
}


/* a member that must exist and be a string; its value */

#define unit_jstr(o, k)  unit_jstr_must((o), (k), __FILE__, __LINE__)

static UNIT_UNUSED const char *
unit_jstr_must(const cJSON *o, const char *key, const char *file, int line)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsString(v)) {
        print_error("%s:%d: \"%s\" is not a string member\n", file, line,
                    key);
        fail();
    }

    return v->valuestring;
}


#define unit_jnum(o, k)  unit_jnum_must((o), (k), __FILE__, __LINE__)

static UNIT_UNUSED double
unit_jnum_must(const cJSON *o, const char *key, const char *file, int line)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsNumber(v)) {
        print_error("%s:%d: \"%s\" is not a number member\n", file, line,
                    key);
        fail();
    }

    return v->valuedouble;
}


static UNIT_UNUSED int
unit_jkeys(const cJSON *o)
{
    return cJSON_GetArraySize(o);
}


/* a JSON object that has exactly the given keys (NULL-terminated list) */

static UNIT_UNUSED void
unit_jkeys_exactly(const cJSON *o, ...)
{
    int          n;
    va_list      args;
    const char  *k;

    assert_true(cJSON_IsObject(o));

    n = 0;
    va_start(args, o);

    while ((k = va_arg(args, const char *)) != NULL) {
        if (!cJSON_HasObjectItem(o, k)) {
            print_error("missing key \"%s\"\n", k);
            va_end(args);
            fail();
        }
        n++;
    }

    va_end(args);

    assert_int_equal(unit_jkeys(o), n);
}


/*
 * An independent UTF-8 validator (RFC 3629), written by code point rather
 * than by byte ranges, so that it can serve as the core's oracle.
 */

static UNIT_UNUSED int
unit_utf8_valid(const unsigned char *s, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp, min;

    i = 0;

    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }

        if ((s[i] & 0xe0) == 0xc0) {
            n = 2; cp = s[i] & 0x1f; min = 0x80;
        } else if ((s[i] & 0xf0) == 0xe0) {
            n = 3; cp = s[i] & 0x0f; min = 0x800;
        } else if ((s[i] & 0xf8) == 0xf0) {
            n = 4; cp = s[i] & 0x07; min = 0x10000;
        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }

        i += n;
    }

    return 1;
}


/* the usage estimate, computed independently: 1 token / 4 ASCII bytes
 * (rounded up) plus one per non-ASCII character */

static UNIT_UNUSED uint64_t
unit_tokens(const char *s, size_t len)
{
    size_t    i;
    uint64_t  ascii, other;

    ascii = 0;
    other = 0;

    for (i = 0; i < len; ) {
        unsigned char c = (unsigned char) s[i];

        if (c < 0x80) {
            ascii++;
            i++;
        } else {
            other++;
            i += c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        }
    }

    return (ascii + 3) / 4 + other;
}


/* xorshift64*: deterministic across platforms */

static UNIT_UNUSED uint64_t
unit_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;

    return *s * 0x2545f4914f6cdd1dull;
}


static UNIT_UNUSED size_t
unit_rand_below(uint64_t *s, size_t n)
{
    return n ? (size_t) (unit_rand(s) % n) : 0;
}


/* whether a NUL-terminated string contains a substring (bytes) */

static UNIT_UNUSED int
unit_contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}


#define unit_assert_contains(hay, needle)                                     \
    do {                                                                      \
        if (!unit_contains((hay), (needle))) {                                \
            print_error("%s:%d: \"%s\" does not contain \"%s\"\n",            \
                        __FILE__, __LINE__, (hay), (needle));                 \
            fail();                                                           \
        }                                                                     \
    } while (0)


#define unit_assert_not_contains(hay, needle)                                 \
    do {                                                                      \
        if (unit_contains((hay), (needle))) {                                 \
            print_error("%s:%d: \"%s\" contains \"%s\"\n",                    \
                        __FILE__, __LINE__, (hay), (needle));                 \
            fail();                                                           \
        }                                                                     \
    } while (0)


/* bytes of a buffer as a NUL-terminated string (freed at teardown) */

static UNIT_UNUSED char *
unit_bufstr(const chaton_buf_t *b)
{
    return unit_strn(b->data, b->len);
}



/* a body for the backend: one line of valid UTF-8, U+2028 escaped */

static UNIT_UNUSED void
unit_one_line(const chaton_buf_t *b)
{
    assert_true(unit_utf8_valid(b->data, b->len));
    assert_null(memchr(b->data, '\n', b->len));
    assert_null(strstr(unit_bufstr(b), "\xe2\x80\xa8"));
}


/*
 * A parser's refusal of input: rc is CHATON_BAD, err has this status, names
 * param (NULL: none) and says something, and the client's error JSON says
 * the same.
 */

static UNIT_UNUSED void
unit_refusal_at(int rc, const chaton_error_t *err, int status,
    const char *param, const char *input, int line)
{
    chaton_buf_t  b;
    cJSON        *j, *e, *p;

    if (rc != CHATON_BAD) {
        print_error("line %d: accepted: %.200s\n", line, input);
        fail();
    }

    if (err->status != status) {
        print_error("line %d: status %d for %.200s\n", line, err->status,
                    input);
        fail();
    }

    if ((param == NULL) != (err->param == NULL)
        || (param && strcmp(param, err->param) != 0))
    {
        print_error("line %d: param %s, expected %s, for %.200s\n", line,
                    err->param ? err->param : "null",
                    param ? param : "null", input);
        fail();
    }

    assert_true(err->text_len > 0);

    /* what the client gets */
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_error_json(&b, err), CHATON_OK);
    j = unit_json(b.data, b.len);
    e = cJSON_GetObjectItemCaseSensitive(j, "error");
    assert_true(cJSON_IsObject(e));
    assert_true(strlen(unit_jstr(e, "message")) > 0);
    p = cJSON_GetObjectItemCaseSensitive(e, "param");

    if (param) {
        assert_string_equal(unit_jstr(e, "param"), param);
    } else {
        assert_true(cJSON_IsNull(p));
    }
}


/*
 * A chat's answer written by the module's OpenAI chat writer, as the chat
 * route makes them; out, if given, is where stream chunks go.
 */

static UNIT_UNUSED void
unit_chat_new(chaton_chat_t *t, chaton_buf_t *out, const char *id,
    const char *model, uint64_t created, int stream, int include_usage,
    size_t max_answer, uint64_t prompt_tokens)
{
    chaton_openai_chat_t  *oc;

    oc = unit_alloc.alloc(unit_alloc.pool, sizeof(chaton_openai_chat_t));
    assert_non_null(oc);

    assert_int_equal(chaton_openai_chat_init(oc, &unit_alloc,
                                             (const unsigned char *) id,
                                             strlen(id),
                                             (const unsigned char *) model,
                                             strlen(model), created,
                                             max_answer, stream,
                                             include_usage), CHATON_OK);

    assert_int_equal(chaton_chat_init(t, &unit_alloc, &oc->w, max_answer),
                     CHATON_OK);

    t->prompt_tokens = prompt_tokens;

    if (out) {
        chaton_buf_init(out, &unit_alloc, 0);
        t->out = out;
    }
}


#endif /* UNIT_H */
