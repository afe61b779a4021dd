/*
 * JSON in: one strict parse for every JSON text the gateway reads.
 */

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
