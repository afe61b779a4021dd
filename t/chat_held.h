
/*
 * Shared by the unit tests and the fuzz targets (t/unit, t/fuzz), which
 * hold the translator's short ways to its general way: whether two
 * translators hold back the same text (the start of a picture's
 * placeholder, its path), read through the core's accessors.
 */

#ifndef CHATON_T_CHAT_HELD_H
#define CHATON_T_CHAT_HELD_H


#include <string.h>

#include "chaton_chunk.h"


static inline int
chaton_t_same_buf(const chaton_buf_t *a, const chaton_buf_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


static inline int
chaton_t_same_held(chaton_chat_t *a, chaton_chat_t *b)
{
    return chaton_t_same_buf(chaton_chat_held(a), chaton_chat_held(b))
           && chaton_t_same_buf(chaton_chat_image_path(a),
                                chaton_chat_image_path(b));
}


#endif /* CHATON_T_CHAT_HELD_H */
