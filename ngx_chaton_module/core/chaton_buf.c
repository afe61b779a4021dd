/*
 * Growable byte buffers, base64, UTF-8 checks.
 */

#include "chaton.h"


static void chaton_usage_words(chaton_usage_t *u, const unsigned char *s,
    size_t len);


void
chaton_buf_init(chaton_buf_t *b, chaton_alloc_t *a, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->alloc = a;
}


int
chaton_buf_reserve(chaton_buf_t *b, size_t n)
{
    size_t          need, cap;
    unsigned char  *p;

    if (n > SIZE_MAX - b->len) {
        return CHATON_TOO_BIG;
    }

    need = b->len + n;

    if (need <= b->cap) {
        return CHATON_OK;
    }

    if (b->max && need > b->max) {
        return CHATON_TOO_BIG;
    }

    /*
     * Doubling keeps appends amortised O(1); pools free the old block.  The
     * first block is what is asked for (at least 256 bytes): a buffer
     * sized up front wastes nothing on the way there.
     */

    cap = b->cap ? b->cap : (need > 256 ? need : 256);

    while (cap < need) {
        cap = (cap > SIZE_MAX / 2) ? need : cap * 2;
    }

    if (b->max && cap > b->max) {
        cap = b->max;
    }

    p = b->alloc->alloc(b->alloc->pool, cap);
    if (p == NULL) {
        return CHATON_ERROR;
    }

    if (b->len) {
        memcpy(p, b->data, b->len);
    }

    if (b->data && b->alloc->free) {
        b->alloc->free(b->alloc->pool, b->data);
    }

    b->data = p;
    b->cap = cap;

    return CHATON_OK;
}


/* chaton_buf_append() where the buffer must grow first */

int
chaton_buf_append_grow(chaton_buf_t *b, const void *p, size_t n)
{
    int  rc;

    rc = chaton_buf_reserve(b, n);
    if (rc != CHATON_OK) {
        return rc;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;

    return CHATON_OK;
}


int
chaton_buf_append_str(chaton_buf_t *b, const char *s)
{
    return chaton_buf_append(b, s, strlen(s));
}


int
chaton_buf_append_uint(chaton_buf_t *b, uint64_t n)
{
    char    tmp[24];
    size_t  i;

    i = sizeof(tmp);

    do {
        tmp[--i] = (char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return chaton_buf_append(b, tmp + i, sizeof(tmp) - i);
}


/* compares n bytes of s, ASCII case folded, with lower-case lc */

int
chaton_strncaseeq(const unsigned char *s, const char *lc, size_t n)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < n; i++) {
        c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (unsigned char) lc[i]) {
            return 0;
        }
    }

    return 1;
}


/* whether s is empty or only JSON's white space (space, tab, CR, LF) */

int
chaton_blank(const unsigned char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            return 0;
        }
    }

    return 1;
}


static const char  chaton_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


int
chaton_base64_encode(chaton_buf_t *b, const unsigned char *s, size_t len)
{
    int             rc;
    size_t          i;
    unsigned char  *d;

    if (len == 0) {
        return CHATON_OK;
    }

    rc = chaton_buf_reserve(b, (len + 2) / 3 * 4);
    if (rc != CHATON_OK) {
        return rc;
    }

    d = b->data + b->len;

    for (i = 0; i + 2 < len; i += 3) {
        *d++ = chaton_b64_alphabet[s[i] >> 2];
        *d++ = chaton_b64_alphabet[((s[i] & 0x03) << 4) | (s[i + 1] >> 4)];
        *d++ = chaton_b64_alphabet[((s[i + 1] & 0x0f) << 2) | (s[i + 2] >> 6)];
        *d++ = chaton_b64_alphabet[s[i + 2] & 0x3f];
    }

    if (i < len) {
        *d++ = chaton_b64_alphabet[s[i] >> 2];

        if (i + 1 < len) {
            *d++ = chaton_b64_alphabet[((s[i] & 0x03) << 4) | (s[i + 1] >> 4)];
            *d++ = chaton_b64_alphabet[(s[i + 1] & 0x0f) << 2];

        } else {
            *d++ = chaton_b64_alphabet[(s[i] & 0x03) << 4];
            *d++ = '=';
        }

        *d++ = '=';
    }

    b->len = d - b->data;

    return CHATON_OK;
}


static int
chaton_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+' || c == '-') {
        return 62;
    }

    if (c == '/' || c == '_') {
        return 63;
    }

    return -1;
}


/*
 * Strict decoder: standard or URL-safe alphabet, padding optional but, when
 * present, only at the end.  Whitespace is not accepted: data URLs and keys
 * carry none.
 */

int
chaton_base64_decode(chaton_buf_t *b, const unsigned char *s, size_t len)
{
    int             rc, v;
    size_t          i, pad;
    uint32_t        acc;
    unsigned char  *d;
    unsigned        bits;

    pad = 0;

    while (len && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }

    if (len % 4 == 1 || (pad && (len + pad) % 4 != 0)) {
        return CHATON_BAD;
    }

    rc = chaton_buf_reserve(b, len / 4 * 3 + 2);
    if (rc != CHATON_OK) {
        return rc;
    }

    d = b->data + b->len;
    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        v = chaton_b64_value(s[i]);
        if (v < 0) {
            return CHATON_BAD;
        }

        acc = (acc << 6) | (uint32_t) v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            *d++ = (unsigned char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    /* leftover bits must be zero, as an encoder would have written them */

    if (acc != 0) {
        return CHATON_BAD;
    }

    b->len = d - b->data;

    return CHATON_OK;
}


int
chaton_utf8_valid(const unsigned char *s, size_t len)
{
    size_t  n;

    while (len) {
        if (len >= 8 && (chaton_word(s) & CHATON_HIGHS) == 0) {
            s += 8;
            len -= 8;
            continue;
        }

        if (*s < 0x80) {
            s++;
            len--;
            continue;
        }

        n = chaton_utf8_seq(s, len);
        if (n == 0) {
            return 0;
        }

        s += n;
        len -= n;
    }

    return 1;
}


size_t
chaton_utf8_chars(const unsigned char *s, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


void
chaton_usage_add(chaton_usage_t *u, const unsigned char *s, size_t len)
{
    size_t  i;

    if (len >= 32) {
        chaton_usage_words(u, s, len);
        return;
    }

    /* a stream's deltas: a few bytes each */

    for (i = 0; i < len; i++) {
        if (s[i] < 0x80) {
            u->ascii++;

        } else if ((s[i] & 0xc0) != 0x80) {
            u->other++;
        }
    }
}


/* a long text's count, each byte alone: a word of ASCII is 8 at once */

static void
chaton_usage_words(chaton_usage_t *u, const unsigned char *s, size_t len)
{
    size_t  i;

    for (i = 0; len - i >= 8; i += 8) {
        if ((chaton_word(s + i) & CHATON_HIGHS) == 0) {
            u->ascii += 8;

        } else {
            chaton_usage_add(u, s + i, 8);
        }
    }

    chaton_usage_add(u, s + i, len - i);
}


uint64_t
chaton_usage_tokens(const chaton_usage_t *u)
{
    return (u->ascii + 3) / 4 + u->other;
}


/* a byte a JSON string holds as it is: ASCII but controls, '"' and '\\' */

#define chaton_json_plain(c)                                                  \
    ((c) >= 0x20 && (c) < 0x80 && (c) != '"' && (c) != '\\')


/* how many bytes at s are plain, from the first */

static inline size_t
chaton_json_plain_run(const unsigned char *s, size_t len)
{
    size_t    i;
    uint64_t  x, t;

    i = 0;

    if (len >= 16) {
        for ( /* void */ ; len - i >= 8; i += 8) {
            x = chaton_word(s + i);

            t = chaton_word_below(x, 0x20)
                | chaton_word_zero(x ^ (CHATON_ONES * '"'))
                | chaton_word_zero(x ^ (CHATON_ONES * '\\'))
                | x;                    /* not ASCII: its own high bit */

            if (t & CHATON_HIGHS) {
                break;
            }
        }
    }

    while (i < len && chaton_json_plain(s[i])) {
        i++;
    }

    return i;
}


/*
 * JSON string writer.  Quotes, backslashes and control characters are
 * escaped; U+2028/U+2029 too, because JavaScript clients eval'ing SSE data
 * choke on them; invalid UTF-8 becomes U+FFFD so the output is always valid
 * JSON text whatever the backend sent.
 */

int
chaton_json_escape(chaton_buf_t *b, const unsigned char *s, size_t len)
{
    int                   rc;
    size_t                i, n, run;
    unsigned char        *d;
    static const char     hex[] = "0123456789abcdef";

    /* a piece of text with nothing to escape: the common case by far */

    i = chaton_json_plain_run(s, len);

    if (i == len) {
        return chaton_buf_append(b, s, len);
    }

    /*
     * Room for the text as is plus a little: escapes are rare in chat text,
     * and when they come the space is topped up 16 bytes at a time, so a
     * big string never costs six times its size.
     */

    rc = chaton_buf_reserve(b, len + 8);
    if (rc != CHATON_OK) {
        return rc;
    }

    d = b->data + b->len;

    memcpy(d, s, i);
    d += i;

    while (i < len) {

        /* copy the plain run at once */

        run = (s[i] < 0x80) ? i + chaton_json_plain_run(s + i, len - i) : i;

        if (run == i && s[i] >= 0x80) {
            n = chaton_utf8_seq(s + i, len - i);

            if (n != 0
                && !(n == 3 && s[i] == 0xe2 && s[i + 1] == 0x80
                     && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)))
            {
                run = i + n;
            }
        }

        if ((size_t) (b->data + b->cap - d) < run - i + 8) {
            b->len = d - b->data;

            rc = chaton_buf_reserve(b, (run - i) + (len - run) / 8 + 16);
            if (rc != CHATON_OK) {
                return rc;
            }

            d = b->data + b->len;
        }

        if (run > i) {
            memcpy(d, s + i, run - i);
            d += run - i;
            i = run;
            continue;
        }

        if (s[i] >= 0x80) {

            /* invalid UTF-8, or U+2028/U+2029 */

            n = chaton_utf8_seq(s + i, len - i);

            if (n == 0) {
                memcpy(d, "\\ufffd", 6);
                d += 6;
                i++;

            } else {
                memcpy(d, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                d += 6;
                i += 3;
            }

            continue;
        }

        *d++ = '\\';

        switch (s[i]) {
        case '"':
            *d++ = '"';
            break;
        case '\\':
            *d++ = '\\';
            break;
        case '\n':
            *d++ = 'n';
            break;
        case '\r':
            *d++ = 'r';
            break;
        case '\t':
            *d++ = 't';
            break;
        case '\b':
            *d++ = 'b';
            break;
        case '\f':
            *d++ = 'f';
            break;
        default:
            *d++ = 'u';
            *d++ = '0';
            *d++ = '0';
            *d++ = hex[s[i] >> 4];
            *d++ = hex[s[i] & 0xf];
        }

        i++;
    }

    b->len = d - b->data;

    return CHATON_OK;
}


int
chaton_json_string(chaton_buf_t *b, const unsigned char *s, size_t len)
{
    int  rc;

    rc = chaton_buf_append(b, "\"", 1);
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_json_escape(b, s, len);
    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_buf_append(b, "\"", 1);
}


int
chaton_json_cstring(chaton_buf_t *b, const char *s)
{
    return chaton_json_string(b, (const unsigned char *) s, strlen(s));
}


/* each byte's value as a hex digit, or -1 (chaton_hex4()) */

const signed char  chaton_hex[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
