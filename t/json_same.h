
/*
 * Shared by the unit tests and the fuzz targets (t/unit, t/fuzz), which
 * hold the core's JSON tree (chaton_json_tree()) to cJSON's parse of the
 * same text: whether two trees are the same, value by value, as a reader
 * of cJSON's trees sees them (types, names, strings as C strings, numbers,
 * the order of members and elements, the first one's prev as the last).
 */

#ifndef CHATON_T_JSON_SAME_H
#define CHATON_T_JSON_SAME_H


#include <string.h>

#include <cjson/cJSON.h>


static inline int
chaton_t_same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL)
           || (a != NULL && b != NULL && strcmp(a, b) == 0);
}


static inline int
chaton_t_same_json(const cJSON *a, const cJSON *b)
{
    const cJSON  *x, *y;

    if ((a == NULL) != (b == NULL)) {
        return 0;
    }

    if (a == NULL) {
        return 1;
    }

    if (a->type != b->type
        || !chaton_t_same_str(a->string, b->string)
        || !chaton_t_same_str(a->valuestring, b->valuestring)
        || a->valueint != b->valueint
        || memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0
        || (a->child == NULL) != (b->child == NULL))
    {
        return 0;
    }

    for (x = a->child, y = b->child; x && y; x = x->next, y = y->next) {
        if (!chaton_t_same_json(x, y)) {
            return 0;
        }

        /* the list's links, as cJSON's readers and writers use them */

        if ((x->next == NULL) != (y->next == NULL)
            || (x == a->child && x->prev->next != NULL)
            || (x != a->child && x->prev->next != x))
        {
            return 0;
        }
    }

    return x == NULL && y == NULL;
}


#endif /* CHATON_T_JSON_SAME_H */
