/*
 * JSON in: one strict parse for every JSON text the gateway reads.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chaton.h"


/*
 * Parses len bytes that must be exactly one JSON value, white space around
 * it allowed: cJSON alone stops after the first value and would take
 * "{...} garbage" or two objects in one event as one.  Returns the tree
 * (the caller deletes it) or NULL.
 */

cJSON *
chaton_json_parse(const unsigned char *s, size_t len)
{
    cJSON       *root;
    const char  *end, *last;

    root = cJSON_ParseWithLengthOpts((const char *) s, len, &end, 0);

    if (root == NULL) {
        return NULL;
    }

    last = (const char *) s + len;

    while (end < last
           && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
    {
        end++;
    }

    if (end != last) {
        cJSON_Delete(root);
        return NULL;
    }

    return root;
}


/*
 * An object's member by name, as cJSON_GetObjectItemCaseSensitive() finds
 * it (the first of that name), or NULL.  A request's parse looks up a
 * score of names, most of them absent, in objects of a few members: a
 * strcmp() call per member and name cost more than the parse.  The first
 * bytes are compared here first; names that start alike go to strcmp().
 */

cJSON *
chaton_json_get(const cJSON *object, const char *name)
{
    cJSON  *m;

    if (object == NULL || name == NULL) {
        return NULL;
    }

    for (m = object->child; m != NULL; m = m->next) {

        if (m->string == NULL) {
            return NULL;        /* as cJSON: no name, the search ends */
        }

        if (m->string[0] == name[0] && strcmp(m->string, name) == 0) {
            return m;
        }
    }

    return NULL;
}


#define CHATON_JSON_DEPTH  1000     /* as cJSON's nesting limit */

/* a number this long or longer is copied into the tree's room to be read */
#define CHATON_JSON_NUMBER  64


static const unsigned char *
chaton_json_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }

    return p;
}


static int
chaton_json_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}


/* a string at p (on its '"'): its end, or NULL */

static const unsigned char *
chaton_json_scan_string(const unsigned char *p, const unsigned char *end)
{
    int       i;
    uint64_t  x;

    for (p++; /* void */; p++) {

        /* eight bytes without '"', '\\' or a control byte at once */

        while (end - p >= 8) {
            x = chaton_word(p);

            if ((chaton_word_below(x, 0x20)
                 | chaton_word_zero(x ^ (CHATON_ONES * '"'))
                 | chaton_word_zero(x ^ (CHATON_ONES * '\\')))
                & CHATON_HIGHS)
            {
                break;
            }

            p += 8;
        }

        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\') {
            p++;
        }

        if (p == end) {
            return NULL;
        }

        if (*p == '"') {
            return p + 1;
        }

        if (*p < 0x20) {
            return NULL;            /* control characters must be escaped */
        }

        /* an escape */

        if (++p == end) {
            return NULL;
        }

        switch (*p) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            break;

        case 'u':
            for (i = 1; i <= 4; i++) {
                if (p + i >= end || !chaton_json_hex(p[i])) {
                    return NULL;
                }
            }

            p += 4;
            break;

        default:
            return NULL;
        }
    }
}


/* a number at p: its end, or NULL (no leading zeros, digits around '.') */

static const unsigned char *
chaton_json_scan_number(const unsigned char *p, const unsigned char *end)
{
    const unsigned char  *d;

    if (p < end && *p == '-') {
        p++;
    }

    if (p < end && *p == '0') {
        p++;

    } else {
        for (d = p; p < end && *p >= '0' && *p <= '9'; p++) { /* void */ }

        if (p == d) {
            return NULL;
        }
    }

    if (p < end && *p == '.') {
        for (d = ++p; p < end && *p >= '0' && *p <= '9'; p++) { /* void */ }

        if (p == d) {
            return NULL;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        for (d = p; p < end && *p >= '0' && *p <= '9'; p++) { /* void */ }

        if (p == d) {
            return NULL;
        }
    }

    return p;
}


static const unsigned char *
chaton_json_scan_literal(const unsigned char *p, const unsigned char *end,
    const char *lit, size_t n)
{
    return ((size_t) (end - p) >= n && memcmp(p, lit, n) == 0) ? p + n : NULL;
}


/*
 * Whether s is exactly one JSON text as RFC 8259 has it.  cJSON is more
 * lenient (leading zeros, "1.", raw control characters in strings): what
 * clients send is checked here first, so that every malformed body gets
 * its 400 rather than a guess.  One pass, no allocation.
 */

int
chaton_json_strict(const unsigned char *s, size_t len)
{
    chaton_json_room_t  room;

    return chaton_json_check(s, len, &room);
}


/*
 * The same, and the room the text's tree takes (chaton_json_tree()): its
 * values, and the bytes of its strings, names and long numbers.
 */

int
chaton_json_check(const unsigned char *s, size_t len, chaton_json_room_t *room)
{
    size_t                depth;
    const unsigned char  *p, *q, *end;
    unsigned char         stack[CHATON_JSON_DEPTH];

    p = s;
    end = s + len;
    depth = 0;

    room->values = 0;
    room->text = 0;

    for ( ;; ) {

        /* a value */

        p = chaton_json_ws(p, end);

        if (p == end) {
            return 0;
        }

        room->values++;
        q = p;

        switch (*p) {

        case '{':
        case '[':
            if (depth == CHATON_JSON_DEPTH) {
                return 0;
            }

            stack[depth++] = *p++;
            p = chaton_json_ws(p, end);

            if (p < end && *p == (stack[depth - 1] == '{' ? '}' : ']')) {
                depth--;
                p++;
                break;
            }

            if (stack[depth - 1] == '[') {
                continue;           /* the first element */
            }

            goto key;

        case '"':
            p = chaton_json_scan_string(p, end);
            room->text += p ? (size_t) (p - q) - 1 : 0;
            break;

        case 't':
            p = chaton_json_scan_literal(p, end, "true", 4);
            break;

        case 'f':
            p = chaton_json_scan_literal(p, end, "false", 5);
            break;

        case 'n':
            p = chaton_json_scan_literal(p, end, "null", 4);
            break;

        default:
            p = chaton_json_scan_number(p, end);

            if (p && p - q >= CHATON_JSON_NUMBER) {
                room->text += (size_t) (p - q) + 1;
            }
        }

        /* after a value: the container goes on, ends, or the text does */

        for ( ;; ) {
            if (p == NULL) {
                return 0;
            }

            p = chaton_json_ws(p, end);

            if (depth == 0) {
                return p == end;
            }

            if (p == end) {
                return 0;
            }

            if (*p == (stack[depth - 1] == '{' ? '}' : ']')) {
                depth--;
                p++;
                continue;
            }

            if (*p != ',') {
                return 0;
            }

            p++;
            break;
        }

        if (stack[depth - 1] == '[') {
            continue;
        }

    key:

        /* an object's member: "key" : value */

        p = chaton_json_ws(p, end);

        if (p == end || *p != '"') {
            return 0;
        }

        q = p;

        p = chaton_json_scan_string(p, end);
        if (p == NULL) {
            return 0;
        }

        room->text += (size_t) (p - q) - 1;

        p = chaton_json_ws(p, end);

        if (p == end || *p != ':') {
            return 0;
        }

        p++;
    }
}


/*
 * The tree of a text chaton_json_check() took, as cJSON_Parse() would give
 * it, in one block of the caller's allocator: the values first (the root
 * at the block's start), then the strings.  A request's body was parsed
 * by cJSON, an allocation per value and per string, and each freed after:
 * a score of malloc() and free() calls a request for a few hundred bytes.
 * The text is known to be strict JSON here, so only what cJSON refuses in
 * such a text is checked (a lone UTF-16 surrogate in a \u escape): that is
 * CHATON_BAD; no memory is CHATON_ERROR.  The tree is read as cJSON's is,
 * and must not be given to cJSON_Delete() or changed by cJSON (which would
 * free its values): chaton_json_tree_free() gives the block back.
 */

typedef struct {
    cJSON                *value;        /* the next value's room */
    unsigned char        *text;         /* the next string's */
    const unsigned char  *end;
} chaton_json_build_t;


static const unsigned char *chaton_json_build_string(chaton_json_build_t *b,
    const unsigned char *p, char **out);
static const unsigned char *chaton_json_build_number(chaton_json_build_t *b,
    const unsigned char *p, cJSON *v);
static unsigned char *chaton_json_build_unicode(const unsigned char **pp,
    unsigned char *d);


int
chaton_json_tree(cJSON **root, const unsigned char *s, size_t len,
    const chaton_json_room_t *room, chaton_alloc_t *a)
{
    size_t                depth;
    cJSON                *v, *parent, *stack[CHATON_JSON_DEPTH];
    const unsigned char  *p;
    chaton_json_build_t   b;

    *root = NULL;

    if (room->values == 0) {
        return CHATON_BAD;
    }

    b.value = a->alloc(a->pool, room->values * sizeof(cJSON) + room->text);
    if (b.value == NULL) {
        return CHATON_ERROR;
    }

    memset(b.value, 0, room->values * sizeof(cJSON));

    *root = b.value;
    b.text = (unsigned char *) (b.value + room->values);
    b.end = s + len;

    p = s;
    depth = 0;
    parent = NULL;

    for ( ;; ) {

        /* a value, at p (white space before it) */

        p = chaton_json_ws(p, b.end);

        v = b.value++;

        if (parent) {

            /* cJSON's lists: the first's prev is the last */

            if (parent->child == NULL) {
                parent->child = v;

            } else {
                parent->child->prev->next = v;
                v->prev = parent->child->prev;
            }

            parent->child->prev = v;
        }

        switch (*p) {

        case '{':
        case '[':
            v->type = (*p == '{') ? cJSON_Object : cJSON_Array;
            p = chaton_json_ws(p + 1, b.end);

            if (*p == '}' || *p == ']') {
                p++;
                break;              /* empty */
            }

            stack[depth++] = parent;
            parent = v;

            if (v->type == cJSON_Array) {
                continue;           /* the first element */
            }

            goto name;

        case '"':
            v->type = cJSON_String;
            p = chaton_json_build_string(&b, p, &v->valuestring);
            if (p == NULL) {
                goto bad;
            }

            break;

        case 't':
            v->type = cJSON_True;
            v->valueint = 1;
            p += 4;
            break;

        case 'f':
            v->type = cJSON_False;
            p += 5;
            break;

        case 'n':
            v->type = cJSON_NULL;
            p += 4;
            break;

        default:
            p = chaton_json_build_number(&b, p, v);
        }

        /* after a value: its container goes on, or ends, or the text does */

        for ( ;; ) {
            p = chaton_json_ws(p, b.end);

            if (parent == NULL) {
                return CHATON_OK;
            }

            if (*p != '}' && *p != ']') {
                break;              /* ',' */
            }

            p++;
            parent = stack[--depth];
        }

        p++;

        if (parent->type == cJSON_Array) {
            continue;
        }

    name:

        /* an object's member: its name, then its value after the ':' */

        p = chaton_json_ws(p, b.end);
        p = chaton_json_build_string(&b, p, &b.value->string);
        if (p == NULL) {
            goto bad;
        }

        p = chaton_json_ws(p, b.end) + 1;
    }

bad:

    chaton_json_tree_free(*root, a);
    *root = NULL;

    return CHATON_BAD;
}


void
chaton_json_tree_free(cJSON *root, chaton_alloc_t *a)
{
    if (root && a->free) {
        a->free(a->pool, root);
    }
}


/*
 * A string at p (its opening quote), unescaped into the text's room as
 * cJSON's parse_string() does; the end past its closing quote, or NULL
 * where cJSON fails (a \u escape of a lone UTF-16 surrogate).
 */

static const unsigned char *
chaton_json_build_string(chaton_json_build_t *b, const unsigned char *p,
    char **out)
{
    uint64_t        x;
    unsigned char  *d;

    d = b->text;
    *out = (char *) d;

    for (p++; /* void */; p++) {

        /* eight bytes without '"' or '\\' at once (no control bytes here) */

        while (b->end - p >= 8) {
            x = chaton_word(p);

            if ((chaton_word_zero(x ^ (CHATON_ONES * '"'))
                 | chaton_word_zero(x ^ (CHATON_ONES * '\\')))
                & CHATON_HIGHS)
            {
                break;
            }

            memcpy(d, p, 8);
            d += 8;
            p += 8;
        }

        while (*p != '"' && *p != '\\') {
            *d++ = *p++;
        }

        if (*p == '"') {
            break;
        }

        /* an escape: the text is strict, so one of these */

        switch (*++p) {
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;

        case 'u':
            d = chaton_json_build_unicode(&p, d);
            if (d == NULL) {
                return NULL;
            }

            break;

        default:                /* '"', '\\', '/' */
            *d++ = *p;
        }
    }

    *d++ = '\0';
    b->text = d;

    return p + 1;
}


/*
 * A \u escape, *pp on its 'u', as UTF-8 at d, as cJSON's
 * utf16_literal_to_utf8() has it: a high surrogate must be followed by a
 * \u escape of a low one, a low one alone fails.  *pp is left on the
 * escape's last byte.
 */

static unsigned char *
chaton_json_build_unicode(const unsigned char **pp, unsigned char *d)
{
    unsigned              cp, low;
    const unsigned char  *p;

    p = *pp;
    cp = chaton_hex4(p + 1);            /* strict: 4 hex digits */
    p += 4;

    if (cp >= 0xdc00 && cp <= 0xdfff) {
        return NULL;
    }

    if (cp >= 0xd800 && cp <= 0xdbff) {

        /* in a strict text a backslash is never a string's last byte */

        if (p[1] != '\\' || p[2] != 'u') {
            return NULL;
        }

        low = chaton_hex4(p + 3);

        if (low < 0xdc00 || low > 0xdfff) {
            return NULL;
        }

        cp = 0x10000 + (((cp & 0x3ff) << 10) | (low & 0x3ff));
        p += 6;
    }

    *pp = p;

    return chaton_utf8_put(d, cp);
}


/*
 * A number at p, read as cJSON's parse_number() does: strtod() of its
 * bytes, valueint saturated to int.  The bytes are copied to end them
 * with a NUL: on the stack, or for a long one into the text's room.
 */

static const unsigned char *
chaton_json_build_number(chaton_json_build_t *b, const unsigned char *p,
    cJSON *v)
{
    char                 *c, copy[CHATON_JSON_NUMBER];
    size_t                n;
    double                d;
    const unsigned char  *q;

    for (q = p; q < b->end && ((*q >= '0' && *q <= '9') || *q == '-'
                               || *q == '+' || *q == '.' || *q == 'e'
                               || *q == 'E'); q++)
    {
        /* void */
    }

    n = q - p;

    if (n < CHATON_JSON_NUMBER) {
        c = copy;

    } else {
        c = (char *) b->text;
        b->text += n + 1;
    }

    memcpy(c, p, n);
    c[n] = '\0';

    d = strtod(c, NULL);

    v->type = cJSON_Number;
    v->valuedouble = d;

    if (d >= INT_MAX) {
        v->valueint = INT_MAX;

    } else if (d <= (double) INT_MIN) {
        v->valueint = INT_MIN;

    } else {
        v->valueint = (int) d;
    }

    return q;
}
