/*
 * Shared helpers of the libFuzzer targets (t/fuzz/fuzz_*.c).
 *
 *   - fz_pool_t: a chaton_alloc_t on malloc that gives every block its own
 *     exact-size allocation (so ASan's redzones catch a write one byte past
 *     a buffer), tracks them, can refuse the n-th allocation (failure
 *     paths), and frees whatever is left at the end of each input (the core
 *     has pool semantics and need not free), so that LeakSanitizer only
 *     reports what the core itself leaked outside its allocator (cJSON
 *     trees, strings);
 *   - fz_json(): strict JSON parsing of the core's output: the whole text
 *     must be one JSON value, or the target aborts; fz_frame(): the next
 *     "data: ...\n\n" frame of a stream's output;
 *   - independent oracles: a UTF-8 validator and a JSON string decoder
 *     written from the RFCs, not from the core's code;
 *   - a small deterministic PRNG.
 *
 * A failed check prints what went wrong and aborts, which libFuzzer reports
 * as a crash and saves the input.
 */

#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chaton.h"


#define FZ_UNUSED  __attribute__((unused))


#define FZ_CHECK(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "\nfuzz check failed at %s:%d: %s\n  ",           \
                    __FILE__, __LINE__, #cond);                               \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
            abort();                                                          \
        }                                                                     \
    } while (0)


/* ---- the allocator ------------------------------------------------------ */


typedef struct fz_block_s  fz_block_t;

struct fz_block_s {
    fz_block_t             *prev;
    fz_block_t             *next;
    void                   *mem;
    size_t                  size;
};


typedef struct {
    fz_block_t              head;       /* circular list sentinel */
    size_t                  allocs;     /* allocations made */
    size_t                  fail_at;    /* refuse from this one on (0: never) */
    size_t                  refused;
    chaton_alloc_t          a;
} fz_pool_t;


static FZ_UNUSED void *
fz_alloc(void *pool, size_t size)
{
    fz_pool_t   *p = pool;
    fz_block_t  *b;

    if (p->fail_at && p->allocs + 1 >= p->fail_at) {
        p->refused++;
        return NULL;
    }

    p->allocs++;

    b = malloc(sizeof(fz_block_t));
    FZ_CHECK(b != NULL, "out of memory");

    /* the exact size: a write past it lands in ASan's redzone */

    b->mem = malloc(size ? size : 1);
    FZ_CHECK(b->mem != NULL, "out of memory");
    b->size = size;

    /* garbage, as nginx pools give: nothing may rely on zeroed memory */
    memset(b->mem, 0xa5, size);

    b->next = p->head.next;
    b->prev = &p->head;
    p->head.next->prev = b;
    p->head.next = b;

    return b->mem;
}


static FZ_UNUSED void
fz_free(void *pool, void *mem)
{
    fz_pool_t   *p = pool;
    fz_block_t  *b;

    if (mem == NULL) {
        return;
    }

    for (b = p->head.next; b != &p->head; b = b->next) {
        if (b->mem == mem) {
            b->prev->next = b->next;
            b->next->prev = b->prev;
            memset(b->mem, 0x5a, b->size);
            free(b->mem);
            free(b);
            return;
        }
    }

    FZ_CHECK(0, "free of %p: not a live block of this pool (double free?)",
             mem);
}


/* with_free: like the module's allocator (pfree); 0: a pool that never frees */

static FZ_UNUSED chaton_alloc_t *
fz_pool_init(fz_pool_t *p, int with_free)
{
    memset(p, 0, sizeof(fz_pool_t));
    p->head.next = &p->head;
    p->head.prev = &p->head;

    p->a.alloc = fz_alloc;
    p->a.free = with_free ? fz_free : NULL;
    p->a.pool = p;

    return &p->a;
}


static FZ_UNUSED void
fz_pool_release(fz_pool_t *p)
{
    fz_block_t  *b, *next;

    for (b = p->head.next; b != &p->head; b = next) {
        next = b->next;
        free(b->mem);
        free(b);
    }

    p->head.next = &p->head;
    p->head.prev = &p->head;
}


/* bytes the pool holds now */

static FZ_UNUSED size_t
fz_pool_live(fz_pool_t *p)
{
    size_t       n;
    fz_block_t  *b;

    n = 0;

    for (b = p->head.next; b != &p->head; b = b->next) {
        n += b->size;
    }

    return n;
}


/* ---- JSON --------------------------------------------------------------- */


/*
 * The bytes must be exactly one JSON value, white space around it aside.
 * Returns the tree (the caller deletes it); aborts otherwise.
 */

#define fz_json(s, len, what)  fz_json_must((s), (len), (what), __LINE__)

static FZ_UNUSED cJSON *
fz_json_try(const void *s, size_t len)
{
    cJSON       *j;
    const char  *end, *last;

    if (len == 0) {
        return NULL;
    }

    j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (j == NULL) {
        return NULL;
    }

    last = (const char *) s + len;

    while (end < last
           && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
    {
        end++;
    }

    if (end != last) {
        cJSON_Delete(j);
        return NULL;
    }

    return j;
}


static FZ_UNUSED cJSON *
fz_json_must(const void *s, size_t len, const char *what, int line)
{
    cJSON  *j;

    j = fz_json_try(s, len);

    if (j == NULL) {
        fprintf(stderr, "\nfuzz check failed at line %d: %s is not one "
                "valid JSON value (%zu bytes):\n%.*s\n", line, what, len,
                (int) (len > 4000 ? 4000 : len), (const char *) s);
        abort();
    }

    return j;
}


/* a member that must be a string; its value */

static FZ_UNUSED const char *
fz_jstr(const cJSON *o, const char *key)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(o, key);
    FZ_CHECK(cJSON_IsString(v), "\"%s\" is not a string member", key);

    return v->valuestring;
}


/* a member that must be a string or null; its value or NULL */

static FZ_UNUSED const char *
fz_jstr_or_null(const cJSON *o, const char *key)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(o, key);
    FZ_CHECK(cJSON_IsString(v) || cJSON_IsNull(v),
             "\"%s\" is neither a string nor null", key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


/* an OpenAI error object: {"error":{"message","type","param","code"}} */

static FZ_UNUSED void
fz_check_error_json(const unsigned char *s, size_t len)
{
    cJSON       *j, *e;
    const char  *msg;

    j = fz_json(s, len, "an error object");

    FZ_CHECK(cJSON_IsObject(j) && cJSON_GetArraySize(j) == 1,
             "an error is not {\"error\": ...}: %.*s", (int) len, s);

    e = cJSON_GetObjectItemCaseSensitive(j, "error");
    FZ_CHECK(cJSON_IsObject(e) && cJSON_GetArraySize(e) == 4,
             "\"error\" is not an object of 4 members: %.*s", (int) len, s);

    /* not empty (the text itself: cJSON's ends at a \u0000) */

    msg = fz_jstr(e, "message");
    FZ_CHECK(msg[0] != '\0' || memmem(s, len, "\"message\":\"\"", 12) == NULL,
             "an empty error message: %.*s", (int) len, s);
    FZ_CHECK(fz_jstr(e, "type")[0] != '\0', "an empty error type");
    (void) fz_jstr_or_null(e, "param");
    (void) fz_jstr_or_null(e, "code");

    cJSON_Delete(j);
}


/*
 * The next frame of a stream's output at *pp (before end): "data: ", a
 * payload without a line end, a blank line.  Returns the payload (its
 * length in *len) and moves *pp past the frame; aborts if the bytes there
 * are not such a frame.
 */

static FZ_UNUSED const unsigned char *
fz_frame(const unsigned char **pp, const unsigned char *end, size_t *len)
{
    const unsigned char  *p, *e;

    p = *pp;

    FZ_CHECK(end - p >= 8 && memcmp(p, "data: ", 6) == 0,
             "an output event does not start with \"data: \": %.*s",
             (int) (end - p > 200 ? 200 : end - p), p);

    p += 6;

    for (e = p; e + 1 < end && !(e[0] == '\n' && e[1] == '\n'); e++) {
        FZ_CHECK(*e != '\n' && *e != '\r', "a raw line end in an event");
    }

    FZ_CHECK(e + 1 < end, "an output event without its blank line");

    *len = e - p;
    *pp = e + 2;

    return p;
}


/* ---- oracles ------------------------------------------------------------ */


/*
 * The length of the valid UTF-8 character at s (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF), or 0.  Written by code point, not
 * by byte ranges as the core is.
 */

static FZ_UNUSED size_t
fz_utf8_char(const unsigned char *s, size_t len, uint32_t *cpp)
{
    size_t    n, k;
    uint32_t  cp, min;

    if (len == 0) {
        return 0;
    }

    if (s[0] < 0x80) {
        if (cpp) {
            *cpp = s[0];
        }
        return 1;
    }

    if ((s[0] & 0xe0) == 0xc0) {
        n = 2; cp = s[0] & 0x1f; min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3; cp = s[0] & 0x0f; min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4; cp = s[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[k] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    if (cpp) {
        *cpp = cp;
    }

    return n;
}


static FZ_UNUSED int
fz_utf8_valid(const unsigned char *s, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        n = fz_utf8_char(s + i, len - i, NULL);
        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


static FZ_UNUSED size_t
fz_put_utf8(unsigned char *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (unsigned char) cp;
        return 1;
    }

    if (cp < 0x800) {
        d[0] = (unsigned char) (0xc0 | (cp >> 6));
        d[1] = (unsigned char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        d[0] = (unsigned char) (0xe0 | (cp >> 12));
        d[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        d[2] = (unsigned char) (0x80 | (cp & 0x3f));
        return 3;
    }

    d[0] = (unsigned char) (0xf0 | (cp >> 18));
    d[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
    d[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
    d[3] = (unsigned char) (0x80 | (cp & 0x3f));
    return 4;
}


static FZ_UNUSED int
fz_hex4(const unsigned char *s, uint32_t *v)
{
    int       i;
    uint32_t  x;

    x = 0;

    for (i = 0; i < 4; i++) {
        x <<= 4;

        if (s[i] >= '0' && s[i] <= '9') {
            x |= s[i] - '0';
        } else if (s[i] >= 'a' && s[i] <= 'f') {
            x |= s[i] - 'a' + 10;
        } else if (s[i] >= 'A' && s[i] <= 'F') {
            x |= s[i] - 'A' + 10;
        } else {
            return 0;
        }
    }

    *v = x;
    return 1;
}


/*
 * Decodes a JSON string body (what lies between the quotes, RFC 8259) into
 * out (room for len bytes is enough: no escape decodes longer than itself).
 * Returns the decoded length, or (size_t) -1 if the text is not a valid
 * string body: a raw control character, a raw quote, a bad escape, a lone
 * surrogate escape, or invalid UTF-8.
 */

static FZ_UNUSED size_t
fz_json_unescape(const unsigned char *s, size_t len, unsigned char *out)
{
    size_t    i, n, o;
    uint32_t  cp, lo;

    o = 0;
    i = 0;

    while (i < len) {

        if (s[i] == '"' || s[i] < 0x20) {
            return (size_t) -1;
        }

        if (s[i] != '\\') {
            n = fz_utf8_char(s + i, len - i, NULL);
            if (n == 0) {
                return (size_t) -1;
            }
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
            continue;
        }

        if (i + 1 >= len) {
            return (size_t) -1;
        }

        switch (s[i + 1]) {
        case '"':  out[o++] = '"'; i += 2; continue;
        case '\\': out[o++] = '\\'; i += 2; continue;
        case '/':  out[o++] = '/'; i += 2; continue;
        case 'b':  out[o++] = '\b'; i += 2; continue;
        case 'f':  out[o++] = '\f'; i += 2; continue;
        case 'n':  out[o++] = '\n'; i += 2; continue;
        case 'r':  out[o++] = '\r'; i += 2; continue;
        case 't':  out[o++] = '\t'; i += 2; continue;
        case 'u':  break;
        default:   return (size_t) -1;
        }

        if (len - i < 6 || !fz_hex4(s + i + 2, &cp)) {
            return (size_t) -1;
        }

        i += 6;

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return (size_t) -1;
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (len - i < 6 || s[i] != '\\' || s[i + 1] != 'u'
                || !fz_hex4(s + i + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
            {
                return (size_t) -1;
            }

            i += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }

        o += fz_put_utf8(out + o, cp);
    }

    return o;
}


/*
 * What the core's escaper must make of arbitrary bytes once decoded back:
 * the bytes themselves where they are valid UTF-8, U+FFFD for each byte
 * that does not start a valid character.
 */

static FZ_UNUSED size_t
fz_utf8_repair(const unsigned char *s, size_t len, unsigned char *out)
{
    size_t  i, n, o;

    o = 0;

    for (i = 0; i < len; i += n) {
        n = fz_utf8_char(s + i, len - i, NULL);

        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            n = 1;

        } else {
            memcpy(out + o, s + i, n);
            o += n;
        }
    }

    return o;
}


/* ---- misc ----------------------------------------------------------------- */


/* xorshift64*: deterministic, seeded from the input */

static FZ_UNUSED uint64_t
fz_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;

    return *s * 0x2545f4914f6cdd1dull;
}


/* FNV-1a */

static FZ_UNUSED uint64_t
fz_hash(const uint8_t *s, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = 0xcbf29ce484222325ull;

    for (i = 0; i < len; i++) {
        h = (h ^ s[i]) * 0x100000001b3ull;
    }

    return h ? h : 1;
}


static FZ_UNUSED void
fz_dump(const char *what, const unsigned char *s, size_t len)
{
    size_t  i;

    fprintf(stderr, "%s (%zu bytes): \"", what, len);

    for (i = 0; i < len && i < 2000; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
            fputc(s[i], stderr);
        } else {
            fprintf(stderr, "\\x%02x", s[i]);
        }
    }

    fprintf(stderr, "%s\"\n", i < len ? "..." : "");
}


#endif /* FUZZ_H */
