/*
 * JSON in: one strict parse for every JSON text the gateway reads.
 */

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
    size_t                depth;
    const unsigned char  *p, *end;
    unsigned char         stack[CHATON_JSON_DEPTH];

    p = s;
    end = s + len;
    depth = 0;

    for ( ;; ) {

        /* a value */

        p = chaton_json_ws(p, end);

        if (p == end) {
            return 0;
        }

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

        p = chaton_json_scan_string(p, end);
        if (p == NULL) {
            return 0;
        }

        p = chaton_json_ws(p, end);

        if (p == end || *p != ':') {
            return 0;
        }

        p++;
    }
}
