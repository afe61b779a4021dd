/*
 * chaton_spc: the spc.unk placeholder scanner.
 *
 * Input: [flags] [split seed] answer text...
 *
 *   flags bit 0      the allocator frees (as the module's) or never does
 *
 * The text is fed whole, byte by byte, and in pieces of input-derived
 * lengths (each piece from its own heap copy, freed after the call), then
 * flushed.  What is released (text, and the paths of whole placeholders)
 * must be the same every way, text runs compared coalesced (differential),
 * and the same as an independent whole-text matcher written from the
 * placeholder's grammar (model):
 *
 *   "![" alt "](https://spc.unk/" path ")"
 *   alt:  0..128 bytes, none of "]", "[", LF
 *   path: 1..512 bytes, none of ")", "(", nor any byte <= 0x20
 *
 * So nothing is lost or doubled.  What is held between feeds stays under
 * CHATON_SPC_MAX.
 */

#include "fuzz.h"
#include "chaton_spc.h"


#define URL       "https://spc.unk/"
#define URL_LEN   (sizeof(URL) - 1)


typedef struct {
    unsigned char          *bytes;      /* 'T' len(8) text | 'P' len(8) path */
    size_t                  len;
    size_t                  cap;
    int                     last;       /* the kind of the last record */
    size_t                  last_off;   /* where its length is */
    size_t                  released;   /* bytes of input accounted for */
} rec_t;


static void
rec_add(rec_t *r, int kind, const unsigned char *s, size_t len)
{
    uint64_t  l;

    if (r->len + 9 + len > r->cap) {
        r->cap = (r->len + 9 + len) * 2;
        r->bytes = realloc(r->bytes, r->cap);
        FZ_CHECK(r->bytes != NULL, "out of memory");
    }

    if (kind == 'T' && r->last == 'T') {

        /* text runs are compared coalesced */

        memcpy(&l, r->bytes + r->last_off, 8);
        l += len;
        memcpy(r->bytes + r->last_off, &l, 8);

    } else {
        r->bytes[r->len++] = (unsigned char) kind;
        r->last_off = r->len;
        l = len;
        memcpy(r->bytes + r->len, &l, 8);
        r->len += 8;
    }

    if (len) {
        memcpy(r->bytes + r->len, s, len);
        r->len += len;
    }

    r->last = kind;
}


static int
handler(void *data, int path, const unsigned char *s, size_t len)
{
    rec_t  *r = data;

    FZ_CHECK(path == 0 || path == 1, "path is %d", path);
    FZ_CHECK(len > 0 && s != NULL, "an empty release (%d)", path);

    if (path) {
        FZ_CHECK(len <= CHATON_SPC_PATH_MAX, "a path of %zu bytes", len);
        rec_add(r, 'P', s, len);

    } else {
        rec_add(r, 'T', s, len);
        r->released += len;
    }

    return CHATON_OK;
}


#define WAY_WHOLE   0
#define WAY_BYTES   1
#define WAY_RANDOM  2
#define NWAYS       3

static const char  *way_names[] = { "whole", "byte by byte",
                                    "random pieces" };


static void
run(int way, const uint8_t *s, size_t len, int with_free, uint64_t seed,
    rec_t *r)
{
    int             rc;
    size_t          pos, n;
    uint64_t        st;
    fz_pool_t       pool;
    chaton_spc_t    spc;
    unsigned char  *copy;

    chaton_spc_init(&spc, fz_pool_init(&pool, with_free));

    pos = 0;
    st = seed;

    while (pos < len) {
        n = way == WAY_WHOLE ? len
            : way == WAY_BYTES ? 1
            : 1 + fz_rand(&st) % ((seed & 0xff) + 1);

        if (n > len - pos) {
            n = len - pos;
        }

        copy = malloc(n);
        FZ_CHECK(copy != NULL, "out of memory");
        memcpy(copy, s + pos, n);

        rc = chaton_spc_feed(&spc, copy, n, handler, r);

        memset(copy, 0xee, n);
        free(copy);

        FZ_CHECK(rc == CHATON_OK, "feed returned %d", rc);
        FZ_CHECK(spc.held.len < CHATON_SPC_MAX, "%zu bytes held",
                 spc.held.len);

        pos += n;
    }

    rc = chaton_spc_flush(&spc, handler, r);
    FZ_CHECK(rc == CHATON_OK, "flush returned %d", rc);

    fz_pool_release(&pool);
}


/* the model: the placeholder at p, its length and path, or 0 */

static size_t
model_match(const uint8_t *p, size_t len, size_t *path, size_t *plen)
{
    size_t  i, k;

    if (len < 2 || p[0] != '!' || p[1] != '[') {
        return 0;
    }

    for (i = 2; i < len && p[i] != ']'; i++) {
        if (p[i] == '[' || p[i] == '\n' || i - 2 >= 128) {
            return 0;
        }
    }

    if (len - i < 2 + URL_LEN || p[i + 1] != '('
        || memcmp(p + i + 2, URL, URL_LEN) != 0)
    {
        return 0;
    }

    k = i + 2 + URL_LEN;

    for (i = k; i < len && p[i] != ')'; i++) {
        if (p[i] <= ' ' || p[i] == '(' || i - k >= 512) {
            return 0;
        }
    }

    if (i >= len || i == k) {
        return 0;
    }

    *path = k;
    *plen = i - k;

    return i + 1;
}


static void
model(const uint8_t *s, size_t len, rec_t *r)
{
    size_t  i, start, n, path, plen;

    start = 0;

    for (i = 0; i < len; /* void */) {
        n = model_match(s + i, len - i, &path, &plen);

        if (n == 0) {
            i++;
            continue;
        }

        if (i > start) {
            rec_add(r, 'T', s + start, i - start);
            r->released += i - start;
        }

        rec_add(r, 'P', s + i + path, plen);
        i += n;
        start = i;
    }

    if (len > start) {
        rec_add(r, 'T', s + start, len - start);
        r->released += len - start;
    }
}


static void
compare(const char *what, const rec_t *a, const rec_t *b, const uint8_t *s,
    size_t len)
{
    if (a->len == b->len
        && (a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0))
    {
        return;
    }

    fz_dump("text", s, len);
    fz_dump("first", a->bytes, a->len);
    fz_dump("second", b->bytes, b->len);
    FZ_CHECK(0, "%s differ", what);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             i;
    char            what[64];
    size_t          len;
    rec_t           r[NWAYS], m;
    uint64_t        seed;
    const uint8_t  *s;

    if (size < 2) {
        return 0;
    }

    seed = (data[1] + 1) * 0x9e3779b97f4a7c15ull;
    s = data + 2;
    len = size - 2;

    memset(r, 0, sizeof(r));
    memset(&m, 0, sizeof(m));

    for (i = 0; i < NWAYS; i++) {
        run(i, s, len, data[0] & 1, seed, &r[i]);
    }

    model(s, len, &m);

    for (i = 1; i < NWAYS; i++) {
        snprintf(what, sizeof(what), "%s and %s", way_names[0],
                 way_names[i]);
        compare(what, &r[0], &r[i], s, len);
    }

    compare("the scanner and the model", &m, &r[0], s, len);

    FZ_CHECK(r[0].released <= len, "more text released than given");

    for (i = 0; i < NWAYS; i++) {
        free(r[i].bytes);
    }

    free(m.bytes);

    return 0;
}
