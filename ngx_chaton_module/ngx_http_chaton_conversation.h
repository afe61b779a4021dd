
/*
 * ngx_chaton: the conversation runner that every API dialect shares.
 *
 * A dialect's route (chat completions, messages) reads the client's body,
 * has its dialect's parser turn it into the neutral conversation, and
 * hands it to the runner, which does the rest the same way for every
 * dialect: the pre-steps (ngx_http_chaton_prepare.c), the signed chat
 * call with credential retry, the pictures the answer carries
 * (ngx_http_chaton_pictures.c), the heartbeat, the end.
 */


#ifndef _NGX_HTTP_CHATON_CONVERSATION_H_INCLUDED_
#define _NGX_HTTP_CHATON_CONVERSATION_H_INCLUDED_


#include "ngx_http_chaton_module.h"

#include "chaton_request.h"
#include "chaton_sse.h"
#include "chaton_chunk.h"
#include "chaton_crawl.h"
#include "chaton_conv.h"


/*
 * Where a conversation is.  It only moves forward, but for a credential
 * retry, which starts CALLING over.
 */

typedef enum {
    NGX_HTTP_CHATON_PREPARING = 0,   /* uploads and crawls under way */
    NGX_HTTP_CHATON_CALLING,         /* the chat call: its answer comes */
    NGX_HTTP_CHATON_ANSWERED,        /* the backend said [DONE]; pictures
                                        may still be being resolved */
    NGX_HTTP_CHATON_FAILED,          /* an error is the answer */
    NGX_HTTP_CHATON_ENDED            /* the request was finalized */
} ngx_http_chaton_step_e;


/* a pre-step: an upload of one inline image, or a crawl of one link */

typedef struct {
    ngx_http_chaton_call_t      *call;
    chaton_image_t              *image;      /* an upload's */
    chaton_url_t                 url;        /* a crawl's */
    chaton_sse_t                 sse;
    chaton_buf_t                 text;
    unsigned                     read_enough:1;  /* a crawl's page: [DONE],
                                                    its limit, or nonsense */
} ngx_http_chaton_prep_t;


/* a stream's heartbeat on its way: made when the first one is sent */

typedef struct {
    ngx_str_t                    text;       /* the dialect's, every time */
    ngx_buf_t                    buf;
    ngx_chain_t                  out;
} ngx_http_chaton_beat_t;


typedef struct ngx_http_chaton_conv_s  ngx_http_chaton_conv_t;


/* what an API dialect's route gives the runner */

typedef struct {
    ngx_str_t                    route;      /* under the API root: for
                                                chaton_passthrough */
    int                        (*parse)(chaton_chat_req_t *req,
                                        chaton_alloc_t *a,
                                        const chaton_chat_conf_t *conf,
                                        const unsigned char *body,
                                        size_t len, chaton_error_t *err);

    /* the dialect's writer for this conversation's answer */
    chaton_writer_t           *(*writer)(ngx_http_chaton_conv_t *ctx);

    /* a stream's heartbeat event; NULL: an SSE comment line */
    int                        (*ping)(chaton_buf_t *b);

    /* what the dialect adds to its parser's configuration; may be NULL */
    ngx_int_t                  (*conf)(ngx_http_chaton_conv_t *ctx,
                                       chaton_chat_conf_t *conf);

    /* the answer is complete and written (a store keeps it); may be NULL */
    ngx_int_t                  (*done)(ngx_http_chaton_conv_t *ctx);
} ngx_http_chaton_dialect_t;


struct ngx_http_chaton_conv_s {
    ngx_http_chaton_req_t        req;        /* first: see the header */
    ngx_http_request_t          *request;
    const ngx_http_chaton_dialect_t  *dialect;
    ngx_http_chaton_step_e       step;

    ngx_http_chaton_call_t      *call;       /* the chat */
    chaton_alloc_t              *setup;      /* its sending's, on a pool of
                                                its own, until its answer
                                                begins */
    ngx_http_chaton_call_t      *picture;    /* a storage look-up */

    chaton_alloc_t               alloc;
    chaton_chat_req_t            chat;       /* the conversation */
    chaton_sse_t                 sse;
    chaton_chat_t                t;          /* its answer */

    ngx_http_chaton_prep_t      *preps;
    ngx_uint_t                   npreps;

    ngx_event_t                  beat;       /* stream wait, heartbeat */
    ngx_http_chaton_beat_t      *beat_sent;  /* or NULL: none sent yet */
    ngx_msec_t                   output_at;  /* the stream's last output,
                                                or 0: none yet */

    chaton_error_t              *error;
    chaton_buf_t                 tail;       /* output after the call */

    unsigned                     stream_started:1;  /* its 200 is out */
};


ngx_int_t ngx_http_chaton_conversation(ngx_http_request_t *r,
    ngx_str_t *body, const ngx_http_chaton_dialect_t *dialect);
void ngx_http_chaton_conversation_conf(ngx_http_request_t *r,
    chaton_chat_conf_t *conf);
void ngx_http_chaton_conversation_model(ngx_http_chaton_conv_t *ctx);
/* an id's room: the longest dialect prefix ("chatcmpl-") and 24 digits */
#define NGX_HTTP_CHATON_ID_ROOM  (sizeof("chatcmpl-") - 1 + 24)

ngx_int_t ngx_http_chaton_conversation_id(ngx_http_chaton_conv_t *ctx,
    const char *prefix, ngx_str_t *id, u_char *room);
ngx_int_t ngx_http_chaton_conversation_call(ngx_http_chaton_conv_t *ctx);
void ngx_http_chaton_conversation_resume(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_conversation_complete(ngx_http_chaton_conv_t *ctx,
    chaton_buf_t *out);
ngx_int_t ngx_http_chaton_conversation_error_event(
    ngx_http_chaton_conv_t *ctx, chaton_buf_t *out);
ngx_int_t ngx_http_chaton_conversation_send(ngx_http_chaton_conv_t *ctx,
    chaton_buf_t *out);

/* ngx_http_chaton_prepare.c */
ngx_int_t ngx_http_chaton_prepare(ngx_http_chaton_conv_t *ctx);
ngx_int_t ngx_http_chaton_prepare_pending(ngx_http_chaton_conv_t *ctx);
ngx_int_t ngx_http_chaton_prepared(ngx_http_chaton_conv_t *ctx);

/* ngx_http_chaton_pictures.c */
ngx_int_t ngx_http_chaton_pictures_look_up(ngx_http_chaton_conv_t *ctx,
    chaton_buf_t *out);
ngx_int_t ngx_http_chaton_pictures_resolve(ngx_http_chaton_conv_t *ctx);


#endif /* _NGX_HTTP_CHATON_CONVERSATION_H_INCLUDED_ */
