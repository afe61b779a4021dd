/*
 * The backend decoder and the answer's stages: ChatOn SSE events -> the
 * neutral output events of chaton_conv.h, for a dialect's writer.
 */

#ifndef _CHATON_CHUNK_H_INCLUDED_
#define _CHATON_CHUNK_H_INCLUDED_


#include "chaton.h"
#include "chaton_bpe.h"
#include "chaton_error.h"
#include "chaton_event.h"
#include "chaton_spc.h"
#include "chaton_sse.h"
#include "chaton_conv.h"
#include "chaton_tools.h"


/* what an answer's pictures need: made when its first one is found */

typedef struct {
    chaton_buf_t            image_path;     /* the picture waited for */
    chaton_buf_t            held;           /* content behind it */
    chaton_buf_t            refeed;
} chaton_chat_pictures_t;


/*
 * The ChatOn chat's answer: the backend's events, decoded once, go through
 * the answer's stages (pictures' placeholders; tool calls, when tools were
 * offered) to the writer of the dialect the client speaks.
 */

typedef struct {
    chaton_alloc_t         *alloc;
    chaton_writer_t        *writer;         /* the client's dialect */
    chaton_buf_t           *out;            /* where the writer writes now */
    chaton_event_shape_t    shape;          /* of the backend's deltas */
    chaton_error_t         *error;          /* what went wrong, if it did:
                                               chaton_chat_error() */

    chaton_spc_t            spc;            /* finds pictures' placeholders */
    chaton_chat_pictures_t *pics;           /* or NULL: none found yet */
    chaton_buf_t            md;
    uint64_t                pictures;
    size_t                  max_answer;

    chaton_tools_extract_t *extract;        /* tools offered: the text's
                                               calls are found; or NULL */

    uint64_t                prompt_tokens;
    uint64_t                completion_tokens;  /* as the end gave them */
    chaton_usage_t          completion;     /* estimated, or ... */
    chaton_bpe_stream_t    *counted;        /* counted: content, reasoning
                                               (chaton_chat_count) */

    uint64_t                events;         /* backend events seen */
    uint64_t                content_bytes;  /* content + reasoning bytes */

    char                    finish[24];     /* the backend's finish_reason */

    unsigned                content_seen:1;
    unsigned                backend_done:1; /* the backend said [DONE] */
    unsigned                text_done:1;    /* the extractor has had all */
    unsigned                waiting:1;      /* for image_path's URL */
} chaton_chat_t;


/* a writer that keeps the answer's text as it is (images' drawings) */

typedef struct {
    chaton_writer_t         w;
    chaton_buf_t            content;
    chaton_buf_t            reasoning;
} chaton_collect_t;


void chaton_collect_init(chaton_collect_t *c, chaton_alloc_t *a,
    size_t max_answer);

chaton_error_t *chaton_chat_error(chaton_chat_t *t);
int chaton_chat_init(chaton_chat_t *t, chaton_alloc_t *a,
    chaton_writer_t *writer, size_t max_answer);
int chaton_chat_tools(chaton_chat_t *t, const chaton_tools_t *tools,
    size_t max_call);
int chaton_chat_count(chaton_chat_t *t, const chaton_bpe_t *bpe);
int chaton_chat_feed(chaton_chat_t *t, chaton_sse_t *sse,
    const unsigned char *in, size_t len, chaton_buf_t *out);
int chaton_chat_feed_end(chaton_chat_t *t, chaton_sse_t *sse,
    chaton_buf_t *out);
void chaton_chat_sse_init(chaton_sse_t *sse, chaton_alloc_t *a,
    size_t max_event);
int chaton_chat_event(chaton_chat_t *t, const unsigned char *ev, size_t len);
int chaton_chat_shaped(chaton_chat_t *t, const unsigned char *ev,
    size_t len);
int chaton_chat_framed(chaton_chat_t *t, const unsigned char *in, size_t len,
    size_t room, size_t *n);
int chaton_chat_content(chaton_chat_t *t, const unsigned char *content,
    size_t content_len, const unsigned char *reasoning,
    size_t reasoning_len);
int chaton_chat_resolved(chaton_chat_t *t, const unsigned char *url,
    size_t len, const char *note, chaton_buf_t *out);
int chaton_chat_flush(chaton_chat_t *t, chaton_buf_t *out);
int chaton_chat_end(chaton_chat_t *t, chaton_buf_t *out);
int chaton_chat_error_event(chaton_chat_t *t, chaton_buf_t *out,
    const chaton_error_t *e);

#ifdef CHATON_TESTS
uint64_t chaton_chat_completion_tokens(chaton_chat_t *t);
const chaton_buf_t *chaton_chat_held(chaton_chat_t *t);
const chaton_buf_t *chaton_chat_image_path(chaton_chat_t *t);
int chaton_chat_event_cjson(chaton_chat_t *t, const unsigned char *ev,
    size_t len);
#endif


#endif /* _CHATON_CHUNK_H_INCLUDED_ */
