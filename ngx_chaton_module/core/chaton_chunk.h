/*
 * ChatOn SSE events -> OpenAI chat.completion.chunk events (stream) or one
 * chat.completion object (aggregate).
 */

#ifndef _CHATON_CHUNK_H_INCLUDED_
#define _CHATON_CHUNK_H_INCLUDED_


#include "chaton.h"
#include "chaton_error.h"
#include "chaton_event.h"
#include "chaton_spc.h"


typedef struct {
    chaton_alloc_t         *alloc;
    chaton_event_shape_t    shape;          /* of the backend's deltas */
    chaton_buf_t            prefix;         /* each chunk's constant head */
    size_t                  choices;        /* its length to "choices":[ */
    chaton_buf_t            tail;           /* a content chunk's last bytes */
    chaton_buf_t           *out;            /* stream: chunks go here */
    chaton_buf_t            content;        /* aggregate: JSON-escaped */
    chaton_buf_t            reasoning;      /* aggregate: JSON-escaped */
    chaton_error_t          error;          /* what went wrong, if it did */
    chaton_buf_t            error_text;

    chaton_spc_t            spc;            /* finds pictures' placeholders */
    chaton_buf_t            image_path;     /* the picture waited for */
    chaton_buf_t            held;           /* content behind it */
    chaton_buf_t            refeed;
    chaton_buf_t            md;
    uint64_t                pictures;

    const unsigned char    *id;
    size_t                  id_len;
    const unsigned char    *model;
    size_t                  model_len;
    uint64_t                created;
    uint64_t                prompt_tokens;
    chaton_usage_t          completion;

    uint64_t                events;         /* backend events seen */
    uint64_t                chunks;         /* client chunks written */
    uint64_t                content_bytes;  /* content + reasoning bytes */

    char                    finish[24];     /* the backend's finish_reason */

    unsigned                stream:1;
    unsigned                include_usage:1;
    unsigned                role_sent:1;
    unsigned                content_seen:1;
    unsigned                done:1;
    unsigned                waiting:1;      /* for image_path's URL */
    unsigned                raw:1;          /* aggregate unescaped text */
} chaton_chat_t;


int chaton_chat_init(chaton_chat_t *t, chaton_alloc_t *a,
    const unsigned char *id, size_t id_len, const unsigned char *model,
    size_t model_len, uint64_t created, size_t max_answer);
int chaton_chat_event(chaton_chat_t *t, const unsigned char *ev, size_t len);
int chaton_chat_framed(chaton_chat_t *t, const unsigned char *in, size_t len,
    size_t *n);
int chaton_chat_content(chaton_chat_t *t, const unsigned char *content,
    size_t content_len, const unsigned char *reasoning,
    size_t reasoning_len);
int chaton_chat_resolved(chaton_chat_t *t, const unsigned char *url,
    size_t len, const char *note);
int chaton_chat_flush(chaton_chat_t *t);
int chaton_chat_finish(chaton_chat_t *t);
int chaton_chat_completion(chaton_chat_t *t, chaton_buf_t *out);

#ifdef CHATON_TESTS
uint64_t chaton_chat_completion_tokens(chaton_chat_t *t);
int chaton_chat_event_cjson(chaton_chat_t *t, const unsigned char *ev,
    size_t len);
#endif


#endif /* _CHATON_CHUNK_H_INCLUDED_ */
