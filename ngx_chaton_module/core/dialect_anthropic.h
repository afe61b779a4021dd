/*
 * Anthropic's Messages API (/v1/messages, /v1/messages/count_tokens): the
 * dialect's parser, from a request body to the neutral conversation
 * (chaton_request.h), and its writer, from the neutral output events
 * (chaton_conv.h) to named SSE events (stream) or one message object.
 *
 * The API, for the glue:
 *
 *   chaton_anthropic_parse()        POST /v1/messages: the body; refusals
 *                                   in err (status, param naming the field:
 *                                   Anthropic's errors have no param, so
 *                                   the message says it too)
 *   chaton_anthropic_parse_count()  POST /v1/messages/count_tokens: the
 *                                   same, max_tokens not required
 *   chaton_anthropic_count_tokens() its answer: {"input_tokens":N}
 *   chaton_anthropic_init()         the writer: its w is the runner's
 *                                   chaton_writer_t
 *   chaton_anthropic_ping()         the heartbeat event
 *   chaton_anthropic_error_type()   an HTTP status's Anthropic error type
 *
 * Choices the API leaves open: a tool call's id is the call's own id with
 * "toolu_" for its "call_" (toolu_<nonce>_<index>); a thinking block's
 * signature is "" (there is none to give); an answer with no content at
 * all has one empty text block, as clients read content[0].
 */

#ifndef _DIALECT_ANTHROPIC_H_INCLUDED_
#define _DIALECT_ANTHROPIC_H_INCLUDED_


#include "chaton.h"
#include "chaton_conv.h"
#include "chaton_request.h"


#define CHATON_ANTHROPIC_MAX_STOPS     16
#define CHATON_ANTHROPIC_MAX_STOP_LEN  256


typedef struct {
    chaton_writer_t         w;              /* first: the events' target */
    chaton_alloc_t         *alloc;

    const unsigned char    *id;             /* msg_... */
    size_t                  id_len;
    const unsigned char    *model;          /* as the client asked */
    size_t                  model_len;
    uint64_t                input_tokens;   /* the request's estimate */

    const chaton_stop_t    *stop;           /* the request's sequences */
    size_t                  nstop;
    const chaton_stop_t    *met;            /* the one the text met */
    chaton_buf_t            hold;           /* text that may begin one */
    chaton_buf_t            scan;           /* held text and the new */

    chaton_buf_t            text;           /* whole: JSON-escaped */
    chaton_buf_t            thinking;       /* whole: JSON-escaped */
    chaton_buf_t            calls;          /* whole: tool_use blocks */
    chaton_buf_t            head;           /* stream: the open text
                                               block's text_delta up to
                                               its text (w.head) */
    chaton_buf_t            tail;           /* and after it (w.tail) */

    uint64_t                index;          /* stream: the next block's */
    int                     block;          /* stream: the open block */
    unsigned                started:1;      /* message_start written */
    unsigned                blocks:1;       /* a block was written */
} chaton_anthropic_t;


int chaton_anthropic_parse(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err);
int chaton_anthropic_parse_count(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err);
int chaton_anthropic_count_tokens(chaton_buf_t *b,
    const chaton_chat_req_t *req);

/* req may be NULL: no stop sequences, no input tokens */

int chaton_anthropic_init(chaton_anthropic_t *an, chaton_alloc_t *a,
    const unsigned char *id, size_t id_len, const unsigned char *model,
    size_t model_len, size_t max_answer, int stream,
    const chaton_chat_req_t *req);
int chaton_anthropic_ping(chaton_buf_t *b);
const char *chaton_anthropic_error_type(int status);


#endif /* _DIALECT_ANTHROPIC_H_INCLUDED_ */
