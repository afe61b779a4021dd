/*
 * ngx_chaton core: the nginx-free layer.
 *
 * Plain C11 on libc, cJSON and OpenSSL.  Every function here takes bytes and
 * gives bytes; memory comes from a caller-supplied allocator so that nginx
 * pools can back it in the module and malloc() backs it in unit tests.
 */

#ifndef _CHATON_H_INCLUDED_
#define _CHATON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>


#define CHATON_OK          0
#define CHATON_ERROR      -1     /* allocation failed */
#define CHATON_TOO_BIG    -2     /* a configured size limit was hit */
#define CHATON_BAD        -3     /* malformed input */
#define CHATON_DONE       -4     /* end of stream seen */
#define CHATON_DECLINED   -5     /* not this way's to take: another's */


typedef struct {
    void     *(*alloc)(void *pool, size_t size);
    void      (*free)(void *pool, void *p);           /* may be NULL */
    void       *pool;
} chaton_alloc_t;


/*
 * A growable byte buffer.  "max" caps its length (0: no cap); growing past it
 * fails with CHATON_TOO_BIG, so every buffer fed by a peer is bounded.
 */

typedef struct {
    unsigned char     *data;
    size_t             len;
    size_t             cap;
    size_t             max;
    chaton_alloc_t    *alloc;
} chaton_buf_t;


void chaton_buf_init(chaton_buf_t *b, chaton_alloc_t *a, size_t max);
int chaton_buf_reserve(chaton_buf_t *b, size_t n);
int chaton_buf_append_grow(chaton_buf_t *b, const void *p, size_t n);
int chaton_buf_append_str(chaton_buf_t *b, const char *s);
int chaton_buf_append_uint(chaton_buf_t *b, uint64_t n);


/*
 * Every writer appends, a few bytes at a time: the common case, room
 * enough, is in line, where a literal's copy compiles to a few moves.
 */

static inline int
chaton_buf_append(chaton_buf_t *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        return chaton_buf_append_grow(b, p, n);
    }

    if (n) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }

    return CHATON_OK;
}


/* a function of the per-event path that must be in line wherever called */

#if defined(__GNUC__)
#define chaton_hot  inline __attribute__((always_inline))
#else
#define chaton_hot  inline
#endif


/* s must be a string literal: "" s refuses anything else at compile time */

#define chaton_buf_literal(b, s)  chaton_buf_append(b, "" s, sizeof(s) - 1)


/* for writers: returns the code of a call unless it is CHATON_OK */

#define chaton_try(call)                                                      \
    do {                                                                      \
        int  rc_ = (call);                                                    \
        if (rc_ != CHATON_OK) {                                               \
            return rc_;                                                       \
        }                                                                     \
    } while (0)


/*
 * Text scanned eight bytes at a time (JSON strings escaped and checked,
 * UTF-8, the usage count): text is mostly ASCII with nothing to escape,
 * and a byte loop with four comparisons per byte cost more than the
 * copying.  The tests below say only whether some byte of the word is of
 * the kind (borrows carry from such a byte only), never which one: the
 * byte loop then finds it.
 */

#define CHATON_ONES   0x0101010101010101ULL
#define CHATON_HIGHS  0x8080808080808080ULL


static inline uint64_t
chaton_word(const unsigned char *s)
{
    uint64_t  x;

    memcpy(&x, s, sizeof(x));

    return x;
}


/* some byte of x is zero: its high bit in the result */

#define chaton_word_zero(x)  (((x) - CHATON_ONES) & ~(x))


/* some byte of x is below n (n <= 0x80): its high bit in the result */

#define chaton_word_below(x, n)  (((x) - CHATON_ONES * (n)) & ~(x))


extern const signed char  chaton_hex[256];


/* 4 hex digits (a \u escape's), or -1; in line: a text's every \u */

static inline int
chaton_hex4(const unsigned char *p)
{
    int  a, b, c, d;

    a = chaton_hex[p[0]];
    b = chaton_hex[p[1]];
    c = chaton_hex[p[2]];
    d = chaton_hex[p[3]];

    if ((a | b | c | d) < 0) {
        return -1;
    }

    return (a << 12) | (b << 8) | (c << 4) | d;
}


/* a code point (up to U+10FFFF) written as UTF-8 at d: where it ends */

static inline unsigned char *
chaton_utf8_put(unsigned char *d, unsigned cp)
{
    if (cp < 0x80) {
        *d++ = (unsigned char) cp;

    } else if (cp < 0x800) {
        *d++ = (unsigned char) (0xc0 | (cp >> 6));
        *d++ = (unsigned char) (0x80 | (cp & 0x3f));

    } else if (cp < 0x10000) {
        *d++ = (unsigned char) (0xe0 | (cp >> 12));
        *d++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        *d++ = (unsigned char) (0x80 | (cp & 0x3f));

    } else {
        *d++ = (unsigned char) (0xf0 | (cp >> 18));
        *d++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
        *d++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        *d++ = (unsigned char) (0x80 | (cp & 0x3f));
    }

    return d;
}


/* JSON writing: one escaper for every string the gateway emits */

struct cJSON *chaton_json_parse(const unsigned char *s, size_t len);
struct cJSON *chaton_json_get(const struct cJSON *object, const char *name);
int chaton_json_strict(const unsigned char *s, size_t len);

typedef struct {
    size_t             values;      /* members' and elements' included */
    size_t             text;        /* strings' and names' bytes, a NUL
                                       each, and long numbers' */
} chaton_json_room_t;

int chaton_json_check(const unsigned char *s, size_t len,
    chaton_json_room_t *room);
int chaton_json_tree(struct cJSON **root, const unsigned char *s, size_t len,
    const chaton_json_room_t *room, chaton_alloc_t *a);
void chaton_json_tree_free(struct cJSON *root, chaton_alloc_t *a);
int chaton_json_escape(chaton_buf_t *b, const unsigned char *s, size_t len);
int chaton_json_string(chaton_buf_t *b, const unsigned char *s, size_t len);
int chaton_json_cstring(chaton_buf_t *b, const char *s);
int chaton_utf8_valid(const unsigned char *s, size_t len);
size_t chaton_utf8_chars(const unsigned char *s, size_t len);


/*
 * Returns the length of the valid UTF-8 sequence at s (1..4), or 0 if the
 * bytes there are not one: overlongs, surrogates and values past U+10FFFF
 * are rejected as RFC 3629 says.  In line: the text scans call it for
 * every character beyond ASCII.
 */

static inline size_t
chaton_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char  c;

    c = s[0];

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        return (len >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
    }

    if (c >= 0xe0 && c <= 0xef) {
        if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) {
            return 0;
        }

        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f)) {
            return 0;
        }

        return 3;
    }

    if (c >= 0xf0 && c <= 0xf4) {
        if (len < 4
            || (s[1] & 0xc0) != 0x80
            || (s[2] & 0xc0) != 0x80
            || (s[3] & 0xc0) != 0x80)
        {
            return 0;
        }

        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f)) {
            return 0;
        }

        return 4;
    }

    return 0;
}


/*
 * ChatOn reports no token counts, so usage is estimated: a token per four
 * ASCII bytes (English prose averages about that) plus one per non-ASCII
 * character (CJK and the like take about one token each).
 */

typedef struct {
    uint64_t           ascii;
    uint64_t           other;
} chaton_usage_t;

void chaton_usage_add(chaton_usage_t *u, const unsigned char *s, size_t len);
uint64_t chaton_usage_tokens(const chaton_usage_t *u);

int chaton_strncaseeq(const unsigned char *s, const char *lc, size_t n);
int chaton_blank(const unsigned char *s, size_t len);

int chaton_base64_encode(chaton_buf_t *b, const unsigned char *s, size_t len);
int chaton_base64_decode(chaton_buf_t *b, const unsigned char *s, size_t len);


#endif /* _CHATON_H_INCLUDED_ */
