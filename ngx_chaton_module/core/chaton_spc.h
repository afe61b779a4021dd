/*
 * The spc.unk scanner: finds ![...](https://spc.unk/<path>) in answer text,
 * the placeholder the backend writes for a picture it drew.
 */

#ifndef _CHATON_SPC_H_INCLUDED_
#define _CHATON_SPC_H_INCLUDED_


#include "chaton.h"


#define CHATON_SPC_ALT_MAX    128
#define CHATON_SPC_PATH_MAX   512

/* the longest placeholder, and so the most text ever held back */
#define CHATON_SPC_MAX                                                        \
    (2 + CHATON_SPC_ALT_MAX + 2 + sizeof("https://spc.unk/") - 1              \
     + CHATON_SPC_PATH_MAX + 1)


/*
 * Called for text that is safe to release (path == 0) or for a complete
 * placeholder (path == 1, s and len are the <path>), in the order of the
 * text.  Bytes are valid only during the call.
 */

typedef int (*chaton_spc_handler_pt)(void *data, int path,
    const unsigned char *s, size_t len);


typedef struct {
    chaton_buf_t            held;
} chaton_spc_t;


void chaton_spc_init(chaton_spc_t *s, chaton_alloc_t *a);
int chaton_spc_feed(chaton_spc_t *s, const unsigned char *text, size_t len,
    chaton_spc_handler_pt handler, void *data);
int chaton_spc_flush(chaton_spc_t *s, chaton_spc_handler_pt handler,
    void *data);
int chaton_spc_path_ok(const unsigned char *path, size_t len);


#endif /* _CHATON_SPC_H_INCLUDED_ */
