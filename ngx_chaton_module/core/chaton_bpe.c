/*
 * The o200k_base tokenizer.  Text is cut into pieces by o200k_base's
 * pre-tokenization pattern, matched here by hand (tiktoken runs it with a
 * backtracking regex engine, leftmost alternative first):
 *
 *   1  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*
 *          [\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *   2  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+
 *          [\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *   3  \p{N}{1,3}
 *   4   ?[^\s\p{L}\p{N}]+[\r\n/]*
 *   5  \s*[\r\n]+
 *   6  \s+(?!\S)
 *   7  \s+
 *
 * then each piece is a token if the vocabulary has it, else its bytes are
 * merged pair by pair, the pair of the lowest rank first, and the parts
 * left are its tokens.
 *
 * Every look at a character goes through chaton_bpe_char(), which notes
 * when a match looked at the end of the text: a stream's match that did
 * may change with more text, so it is held back until more comes.
 */

#include "chaton_bpe.h"


/* a code point's classes, as the pattern uses them */

#define CHATON_BPE_U   0x01     /* \p{Lu} \p{Lt} \p{Lm} \p{Lo} \p{M} */
#define CHATON_BPE_W   0x02     /* \p{Ll} \p{Lm} \p{Lo} \p{M} */
#define CHATON_BPE_L   0x04     /* \p{L} */
#define CHATON_BPE_N   0x08     /* \p{N} */
#define CHATON_BPE_S   0x10     /* \s: White_Space */

#define CHATON_BPE_CODES   0x110000
#define CHATON_BPE_NONE    0xffffffff      /* no rank; not a code point */


typedef struct {
    uint32_t                off;            /* in bpe->bytes */
    uint32_t                len;
    uint32_t                rank;
} chaton_bpe_token_t;


struct chaton_bpe_s {
    unsigned char          *classes;        /* CHATON_BPE_CODES of them */
    unsigned char          *bytes;          /* the tokens' bytes */
    chaton_bpe_token_t     *tokens;
    uint32_t               *slots;          /* token index + 1, or 0 */
    uint32_t                mask;           /* slots - 1 */
};


/* one match's scan of the text */

typedef struct {
    const chaton_bpe_t     *bpe;
    const unsigned char    *end;
    unsigned                last:1;         /* no more text comes */
    unsigned                hit:1;          /* the match looked at end */
} chaton_bpe_scan_t;


static int chaton_bpe_load_ranks(chaton_bpe_t *b, chaton_alloc_t *a,
    const unsigned char *s, size_t len, const char **why);
static int chaton_bpe_load_classes(chaton_bpe_t *b, chaton_alloc_t *a,
    const unsigned char *s, size_t len, const char **why);
static unsigned char chaton_bpe_category(const unsigned char *cat,
    uint32_t code);
static uint32_t chaton_bpe_rank(const chaton_bpe_t *b, const unsigned char *s,
    size_t len);
static const unsigned char *chaton_bpe_match(chaton_bpe_scan_t *sc,
    const unsigned char *p);
static uint64_t chaton_bpe_pieces(const chaton_bpe_t *b,
    const unsigned char *s, size_t len);
static uint64_t chaton_bpe_merge(const chaton_bpe_t *b,
    const unsigned char *s, size_t len);


static uint32_t
chaton_bpe_hash(const unsigned char *s, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ s[i]) * 16777619u;
    }

    return h;
}


int
chaton_bpe_load(chaton_bpe_t **bpe, chaton_alloc_t *a,
    const unsigned char *ranks, size_t ranks_len,
    const unsigned char *ucd, size_t ucd_len, const char **why)
{
    int            rc;
    chaton_bpe_t  *b;

    b = a->alloc(a->pool, sizeof(chaton_bpe_t));
    if (b == NULL) {
        return CHATON_ERROR;
    }

    memset(b, 0, sizeof(chaton_bpe_t));

    rc = chaton_bpe_load_ranks(b, a, ranks, ranks_len, why);
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_bpe_load_classes(b, a, ucd, ucd_len, why);
    if (rc != CHATON_OK) {
        return rc;
    }

    *bpe = b;

    return CHATON_OK;
}


/* "<base64 token> <rank>\n" a line: the tokens' bytes and a hash table */

static int
chaton_bpe_load_ranks(chaton_bpe_t *b, chaton_alloc_t *a,
    const unsigned char *s, size_t len, const char **why)
{
    size_t                n, nslots, i;
    uint32_t              h, rank;
    chaton_buf_t          bytes;
    unsigned char         c;
    const unsigned char  *p, *end, *sp, *nl;
    chaton_bpe_token_t   *t;

    n = 0;

    for (p = s; p < s + len; p++) {
        n += (*p == '\n');
    }

    if (n == 0 || n > 0x1000000) {
        *why = "the vocabulary holds no ranks";
        return CHATON_BAD;
    }

    for (nslots = 1; nslots < n * 2; nslots <<= 1) { /* void */ }

    b->tokens = a->alloc(a->pool, n * sizeof(chaton_bpe_token_t));
    b->slots = a->alloc(a->pool, nslots * sizeof(uint32_t));

    if (b->tokens == NULL || b->slots == NULL) {
        return CHATON_ERROR;
    }

    memset(b->slots, 0, nslots * sizeof(uint32_t));
    b->mask = nslots - 1;

    chaton_buf_init(&bytes, a, 0);

    end = s + len;
    n = 0;

    for (p = s; p < end; p = nl + 1) {
        nl = memchr(p, '\n', end - p);
        if (nl == NULL) {
            nl = end;
        }

        sp = memchr(p, ' ', nl - p);

        if (nl == p && nl == end) {
            break;
        }

        if (sp == NULL || sp == p || sp + 1 == nl) {
            *why = "the vocabulary has a line that is not "
                   "\"<base64 token> <rank>\"";
            return CHATON_BAD;
        }

        rank = 0;

        for (i = 1; sp + i < nl; i++) {
            if (sp[i] < '0' || sp[i] > '9' || rank > 0x0fffffff) {
                *why = "the vocabulary has a rank that is not a number";
                return CHATON_BAD;
            }

            rank = rank * 10 + (sp[i] - '0');
        }

        t = &b->tokens[n];
        t->off = bytes.len;
        t->rank = rank;

        if (chaton_base64_decode(&bytes, p, sp - p) != CHATON_OK
            || bytes.len == t->off || bytes.len > 0xffffffff)
        {
            *why = "the vocabulary has a token that is not base64";
            return CHATON_BAD;
        }

        t->len = bytes.len - t->off;

        if (chaton_bpe_rank(b, bytes.data + t->off, t->len)
            != CHATON_BPE_NONE)
        {
            *why = "the vocabulary has a token twice";
            return CHATON_BAD;
        }

        b->bytes = bytes.data;
        n++;

        for (h = chaton_bpe_hash(bytes.data + t->off, t->len) & b->mask;
             b->slots[h];
             h = (h + 1) & b->mask)
        {
            /* void */
        }

        b->slots[h] = n;
    }

    /* every single byte is a token: any text can be merged from them */

    for (i = 0; i < 256; i++) {
        c = (unsigned char) i;

        if (chaton_bpe_rank(b, &c, 1) == CHATON_BPE_NONE) {
            *why = "the vocabulary lacks a token of one byte";
            return CHATON_BAD;
        }
    }

    return CHATON_OK;
}


static uint32_t
chaton_bpe_rank(const chaton_bpe_t *b, const unsigned char *s, size_t len)
{
    uint32_t                  h, i;
    const chaton_bpe_token_t *t;

    for (h = chaton_bpe_hash(s, len) & b->mask;
         (i = b->slots[h]) != 0;
         h = (h + 1) & b->mask)
    {
        t = &b->tokens[i - 1];

        if (t->len == len && memcmp(b->bytes + t->off, s, len) == 0) {
            return t->rank;
        }
    }

    return CHATON_BPE_NONE;
}


/*
 * UnicodeData.txt: "<code>;<name>;<general category>;..." a line; a range
 * is two lines, its name ending in ", First>" and ", Last>".  Code points
 * it does not list are unassigned: no class.
 */

static int
chaton_bpe_load_classes(chaton_bpe_t *b, chaton_alloc_t *a,
    const unsigned char *s, size_t len, const char **why)
{
    size_t                n;
    uint32_t              code, first, c;
    unsigned char         cl;
    const unsigned char  *p, *end, *nl, *f[3];

    b->classes = a->alloc(a->pool, CHATON_BPE_CODES);
    if (b->classes == NULL) {
        return CHATON_ERROR;
    }

    memset(b->classes, 0, CHATON_BPE_CODES);

    end = s + len;
    first = CHATON_BPE_NONE;
    n = 0;

    for (p = s; p < end; p = nl + 1) {
        nl = memchr(p, '\n', end - p);
        if (nl == NULL) {
            nl = end;
        }

        /* the first three fields */

        f[0] = p;
        f[1] = memchr(p, ';', nl - p);
        f[2] = f[1] ? memchr(f[1] + 1, ';', nl - f[1] - 1) : NULL;

        if (f[2] == NULL || nl - f[2] < 3) {
            if (nl == p) {
                continue;
            }

            *why = "the Unicode data is not UnicodeData.txt";
            return CHATON_BAD;
        }

        code = 0;

        for (p = f[0]; p < f[1]; p++) {
            c = (*p >= 'A') ? (uint32_t) (*p - 'A' + 10)
                            : (uint32_t) (*p - '0');

            if (c > 15 || code >= CHATON_BPE_CODES / 16) {
                *why = "the Unicode data is not UnicodeData.txt";
                return CHATON_BAD;
            }

            code = code * 16 + c;
        }

        cl = chaton_bpe_category(f[2] + 1, code);

        if (f[2] - f[1] > 8 && memcmp(f[2] - 6, "First>", 6) == 0) {
            first = code;
            continue;
        }

        if (first != CHATON_BPE_NONE) {
            while (first < code) {
                b->classes[first++] = cl;
            }

            first = CHATON_BPE_NONE;
        }

        b->classes[code] = cl;
        n++;
    }

    if (n < 0x8000 || b->classes['A'] != (CHATON_BPE_U | CHATON_BPE_L)) {
        *why = "the Unicode data is not UnicodeData.txt";
        return CHATON_BAD;
    }

    return CHATON_OK;
}


/*
 * A general category's classes.  White_Space (\s) is not a category: it is
 * Zs, Zl, Zp and the controls TAB, LF, VT, FF, CR and NEL (PropList.txt).
 */

static unsigned char
chaton_bpe_category(const unsigned char *cat, uint32_t code)
{
    switch (cat[0]) {

    case 'L':
        switch (cat[1]) {
        case 'u':
        case 't':
            return CHATON_BPE_L | CHATON_BPE_U;
        case 'l':
            return CHATON_BPE_L | CHATON_BPE_W;
        case 'm':
        case 'o':
            return CHATON_BPE_L | CHATON_BPE_U | CHATON_BPE_W;
        }
        return 0;

    case 'M':
        return CHATON_BPE_U | CHATON_BPE_W;

    case 'N':
        return CHATON_BPE_N;

    case 'Z':
        return CHATON_BPE_S;

    case 'C':
        if ((code >= 0x09 && code <= 0x0d) || code == 0x85) {
            return CHATON_BPE_S;
        }
        return 0;
    }

    return 0;
}


/*
 * The character at p: its code point (CHATON_BPE_NONE for a byte that
 * starts no valid UTF-8) and length; 0 at the end of the text, which the
 * scan notes.
 */

static inline size_t
chaton_bpe_char(chaton_bpe_scan_t *sc, const unsigned char *p, uint32_t *code)
{
    size_t  n;

    if (p >= sc->end) {
        sc->hit = 1;
        return 0;
    }

    if (*p < 0x80) {
        *code = *p;
        return 1;
    }

    n = chaton_utf8_seq(p, sc->end - p);

    switch (n) {
    case 2:
        *code = ((p[0] & 0x1f) << 6) | (p[1] & 0x3f);
        return 2;
    case 3:
        *code = ((p[0] & 0x0f) << 12) | ((p[1] & 0x3f) << 6) | (p[2] & 0x3f);
        return 3;
    case 4:
        *code = ((uint32_t) (p[0] & 0x07) << 18) | ((p[1] & 0x3f) << 12)
                | ((p[2] & 0x3f) << 6) | (p[3] & 0x3f);
        return 4;
    }

    *code = CHATON_BPE_NONE;
    return 1;
}


/* the classes of the character at p (0 at the end: none), its length */

static inline unsigned
chaton_bpe_class(chaton_bpe_scan_t *sc, const unsigned char *p, size_t *n)
{
    uint32_t  code;

    *n = chaton_bpe_char(sc, p, &code);

    if (*n == 0 || code >= CHATON_BPE_CODES) {
        return 0;
    }

    return sc->bpe->classes[code];
}


/* whether the character at p is c (ASCII) */

static inline int
chaton_bpe_is(chaton_bpe_scan_t *sc, const unsigned char *p, char c)
{
    if (p >= sc->end) {
        sc->hit = 1;
        return 0;
    }

    return *p == (unsigned char) c;
}


/* [^\r\n\p{L}\p{N}]: the optional first character of words */

static inline size_t
chaton_bpe_prefix(chaton_bpe_scan_t *sc, const unsigned char *p)
{
    size_t    n;
    unsigned  cl;

    cl = chaton_bpe_class(sc, p, &n);

    if (n == 0 || *p == '\r' || *p == '\n'
        || (cl & (CHATON_BPE_L | CHATON_BPE_N)))
    {
        return 0;
    }

    return n;
}


/* (?i:'s|'t|'re|'ve|'m|'ll|'d)?: where it ends, p if it is not there */

static const unsigned char *
chaton_bpe_contraction(chaton_bpe_scan_t *sc, const unsigned char *p)
{
    unsigned char  c, d;

    if (!chaton_bpe_is(sc, p, '\'')) {
        return p;
    }

    if (p + 1 >= sc->end) {
        sc->hit = 1;
        return p;
    }

    c = p[1] | 0x20;

    if (c == 's' || c == 't' || c == 'm' || c == 'd') {
        return p + 2;
    }

    /* U+017F, the long s, folds to 's' too */

    if (p[1] == 0xc5) {
        if (p + 2 >= sc->end) {
            sc->hit = 1;
            return p;
        }

        return (p[2] == 0xbf) ? p + 3 : p;
    }

    if (c != 'r' && c != 'v' && c != 'l') {
        return p;
    }

    if (p + 2 >= sc->end) {
        sc->hit = 1;
        return p;
    }

    d = p[2] | 0x20;

    if ((c == 'l' && d == 'l') || (c != 'l' && d == 'e')) {
        return p + 3;
    }

    return p;
}


/* 1 from s on, after its optional first character: U* W+ contraction? */

static const unsigned char *
chaton_bpe_word_lower(chaton_bpe_scan_t *sc, const unsigned char *s)
{
    size_t                n;
    unsigned              cl;
    const unsigned char  *p, *w;

    /*
     * U* takes all it can, then gives back until W+ can start: W+ starts
     * at the first character after U*'s run if that is in W, else at the
     * last of the run that is in W (U and W share Lm, Lo and M).
     */

    w = NULL;

    for (p = s; ; p += n) {
        cl = chaton_bpe_class(sc, p, &n);

        if (!(cl & CHATON_BPE_U)) {
            break;
        }

        if (cl & CHATON_BPE_W) {
            w = p;
        }
    }

    if (cl & CHATON_BPE_W) {
        w = p;
    }

    if (w == NULL) {
        return NULL;
    }

    for (p = w; chaton_bpe_class(sc, p, &n) & CHATON_BPE_W; p += n) {
        /* void */
    }

    return chaton_bpe_contraction(sc, p);
}


/* 2 from s on, after its optional first character: U+ W* contraction? */

static const unsigned char *
chaton_bpe_word_upper(chaton_bpe_scan_t *sc, const unsigned char *s)
{
    size_t                n;
    const unsigned char  *p;

    for (p = s; chaton_bpe_class(sc, p, &n) & CHATON_BPE_U; p += n) {
        /* void */
    }

    if (p == s) {
        return NULL;
    }

    while (chaton_bpe_class(sc, p, &n) & CHATON_BPE_W) {
        p += n;
    }

    return chaton_bpe_contraction(sc, p);
}


/* 1 then 2, each with its first character, then without */

static const unsigned char *
chaton_bpe_words(chaton_bpe_scan_t *sc, const unsigned char *p)
{
    size_t                n;
    const unsigned char  *e;

    n = chaton_bpe_prefix(sc, p);

    if (n && (e = chaton_bpe_word_lower(sc, p + n)) != NULL) {
        return e;
    }

    if ((e = chaton_bpe_word_lower(sc, p)) != NULL) {
        return e;
    }

    if (n && (e = chaton_bpe_word_upper(sc, p + n)) != NULL) {
        return e;
    }

    return chaton_bpe_word_upper(sc, p);
}


/* 3: \p{N}{1,3} */

static const unsigned char *
chaton_bpe_number(chaton_bpe_scan_t *sc, const unsigned char *p)
{
    int       i;
    size_t    n;

    for (i = 0; i < 3; i++) {
        if (!(chaton_bpe_class(sc, p, &n) & CHATON_BPE_N)) {
            break;
        }

        p += n;
    }

    return i ? p : NULL;
}


/* 4: " ?[^\s\p{L}\p{N}]+[\r\n/]*" */

static inline int
chaton_bpe_other(chaton_bpe_scan_t *sc, const unsigned char *p, size_t *n)
{
    unsigned  cl;

    cl = chaton_bpe_class(sc, p, n);

    return *n && !(cl & (CHATON_BPE_S | CHATON_BPE_L | CHATON_BPE_N));
}


static const unsigned char *
chaton_bpe_symbols(chaton_bpe_scan_t *sc, const unsigned char *p)
{
    size_t  n;

    if (chaton_bpe_is(sc, p, ' ')) {
        p++;
    }

    /* without the space, the space would have to be a symbol: it is not */

    if (!chaton_bpe_other(sc, p, &n)) {
        return NULL;
    }

    while (chaton_bpe_other(sc, p, &n)) {
        p += n;
    }

    while (chaton_bpe_is(sc, p, '\r') || chaton_bpe_is(sc, p, '\n')
           || chaton_bpe_is(sc, p, '/'))
    {
        p++;
    }

    return p;
}


/*
 * 5, 6, 7 over one run of white space: up to its last line break if it
 * has one (\s*[\r\n]+ gives back to the last); else all of it at the end
 * of the text, or all but its last character (\s+(?!\S)), or the one.
 */

static const unsigned char *
chaton_bpe_space(chaton_bpe_scan_t *sc, const unsigned char *p)
{
    size_t                n;
    const unsigned char  *s, *nl, *lastc;

    s = p;
    nl = NULL;
    lastc = NULL;

    while (chaton_bpe_class(sc, p, &n) & CHATON_BPE_S) {
        if (*p == '\r' || *p == '\n') {
            nl = p + 1;
        }

        lastc = p;
        p += n;
    }

    if (p == s) {
        return NULL;
    }

    if (nl) {
        return nl;
    }

    if (p >= sc->end || lastc == s) {
        return p;
    }

    return lastc;
}


/* the piece at p (which is before the end) */

static const unsigned char *
chaton_bpe_match(chaton_bpe_scan_t *sc, const unsigned char *p)
{
    const unsigned char  *e;

    if ((e = chaton_bpe_words(sc, p)) != NULL
        || (e = chaton_bpe_number(sc, p)) != NULL
        || (e = chaton_bpe_symbols(sc, p)) != NULL
        || (e = chaton_bpe_space(sc, p)) != NULL)
    {
        return e;
    }

    /* not reached: every character starts one of them */

    return p + 1;
}


uint64_t
chaton_bpe_count(const chaton_bpe_t *bpe, const unsigned char *s, size_t len)
{
    chaton_bpe_scan_t     sc;
    const unsigned char  *p, *e;
    uint64_t              tokens;

    sc.bpe = bpe;
    sc.end = s + len;
    sc.last = 1;
    tokens = 0;

    for (p = s; p < sc.end; p = e) {
        e = chaton_bpe_match(&sc, p);
        tokens += chaton_bpe_pieces(bpe, p, e - p);
    }

    return tokens;
}


/* a piece's tokens: merged whole, or in parts when it is too long */

static uint64_t
chaton_bpe_pieces(const chaton_bpe_t *b, const unsigned char *s, size_t len)
{
    size_t    n;
    uint64_t  tokens;

    tokens = 0;

    while (len) {
        n = len < CHATON_BPE_PIECE ? len : CHATON_BPE_PIECE;
        tokens += chaton_bpe_merge(b, s, n);
        s += n;
        len -= n;
    }

    return tokens;
}


/*
 * Byte pair merge, as tiktoken's: the parts start as the piece's bytes;
 * the adjacent pair whose bytes together are the token of the lowest rank
 * becomes one part (the first such pair on a tie), until no pair is a
 * token.  pos[] are where the parts start, rank[i] the rank of parts i
 * and i + 1 together.
 */

static uint64_t
chaton_bpe_merge(const chaton_bpe_t *b, const unsigned char *s, size_t len)
{
    size_t    m, i, min;
    uint32_t  pos[CHATON_BPE_PIECE + 1], rank[CHATON_BPE_PIECE];

    if (len <= 1 || chaton_bpe_rank(b, s, len) != CHATON_BPE_NONE) {
        return len ? 1 : 0;
    }

    m = len;

    for (i = 0; i <= len; i++) {
        pos[i] = i;
    }

    for (i = 0; i + 1 < m; i++) {
        rank[i] = chaton_bpe_rank(b, s + i, 2);
    }

    while (m > 1) {
        min = 0;

        for (i = 1; i + 1 < m; i++) {
            if (rank[i] < rank[min]) {
                min = i;
            }
        }

        if (rank[min] == CHATON_BPE_NONE) {
            break;
        }

        /* parts min and min + 1 become one */

        memmove(&pos[min + 1], &pos[min + 2], (m - min - 1) * sizeof(uint32_t));
        memmove(&rank[min], &rank[min + 1], (m - min - 2) * sizeof(uint32_t));
        m--;

        if (min + 1 < m) {
            rank[min] = chaton_bpe_rank(b, s + pos[min],
                                        pos[min + 2] - pos[min]);
        }

        if (min > 0) {
            rank[min - 1] = chaton_bpe_rank(b, s + pos[min - 1],
                                            pos[min + 1] - pos[min - 1]);
        }
    }

    return m;
}


void
chaton_bpe_stream_init(chaton_bpe_stream_t *st, const chaton_bpe_t *bpe)
{
    st->bpe = bpe;
    st->tokens = 0;
    st->len = 0;
}


/*
 * Counts the held text's pieces that more text cannot change (all of them
 * when "last"); the rest stays held.
 */

static void
chaton_bpe_stream_count(chaton_bpe_stream_t *st, int last)
{
    chaton_bpe_scan_t     sc;
    const unsigned char  *p, *e;

    sc.bpe = st->bpe;
    sc.end = st->tail + st->len;
    sc.last = last ? 1 : 0;

    for (p = st->tail; p < sc.end; p = e) {
        sc.hit = 0;
        e = chaton_bpe_match(&sc, p);

        if (sc.hit && !last) {
            break;
        }

        st->tokens += chaton_bpe_pieces(st->bpe, p, e - p);
    }

    st->len = sc.end - p;
    memmove(st->tail, p, st->len);
}


/*
 * More text; in JSON's form ("json"), with the escapes \" \\ \n \r \t \b
 * \f that chaton_json_escape() writes as they are.  A piece longer than
 * the hold (a run beyond any word) is counted in parts.
 */

void
chaton_bpe_feed(chaton_bpe_stream_t *st, const unsigned char *s, size_t len,
    int json)
{
    unsigned char        c;
    const unsigned char *end;

    end = s + len;

    while (s < end) {

        if (st->len == CHATON_BPE_PIECE) {
            chaton_bpe_stream_count(st, 0);

            if (st->len == CHATON_BPE_PIECE) {
                chaton_bpe_stream_count(st, 1);
            }
        }

        c = *s++;

        if (json && c == '\\' && s < end) {
            c = *s++;

            switch (c) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            }
        }

        st->tail[st->len++] = c;
    }

    chaton_bpe_stream_count(st, 0);
}


uint64_t
chaton_bpe_stream_end(chaton_bpe_stream_t *st)
{
    chaton_bpe_stream_count(st, 1);

    return st->tokens;
}
