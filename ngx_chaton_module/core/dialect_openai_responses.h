/*
 * OpenAI's Responses API (/v1/responses): the dialect's parser, from a
 * request body to the neutral conversation (chaton_request.h), and its
 * writer, from the neutral output events (chaton_conv.h) to the typed SSE
 * events with sequence_number (stream) or one response object.
 *
 * The API, for the glue:
 *
 *   chaton_responses_parse()   POST /v1/responses: the body; refusals in
 *                              err (400, param naming the field)
 *   chaton_responses_init()    the writer: its w is the runner's
 *                              chaton_writer_t; "store" and "kept" are
 *                              the glue's to set (a store keeps the
 *                              final object)
 *
 * The store is the glue's: previous_response_id is resolved through
 * conf->previous (its items come first), and so is an item_reference to
 * an item of a stored response (its id names the response); with
 * conf->response_id the input items are kept in req->items, each with an
 * id.
 *
 * Choices the API leaves open: output items' ids are the response's id
 * with "msg_", "rs_", "fc_" or "ctc_" for its "resp_" and "_<output
 * index>", input items' with "_i<n>"; the reasoning text is the reasoning
 * item's one summary part; a call's call_id is the call's own id
 * ("call_..."); a custom tool is offered as a function of one string,
 * "input"; a namespace's tool is offered as "<namespace>.<name>" (no
 * top-level name has a dot), and its calls have "namespace" and "name";
 * a web_search tool with "external_web_access": false is no web search.
 */

#ifndef _DIALECT_OPENAI_RESPONSES_H_INCLUDED_
#define _DIALECT_OPENAI_RESPONSES_H_INCLUDED_


#include "chaton.h"
#include "chaton_conv.h"
#include "chaton_request.h"


typedef struct {
    chaton_writer_t         w;              /* first: the events' target */
    chaton_alloc_t         *alloc;

    const unsigned char    *id;             /* resp_... */
    size_t                  id_len;
    const unsigned char    *model;          /* as the client asked */
    size_t                  model_len;
    uint64_t                created_at;     /* unix seconds */
    const unsigned char    *echo;           /* the request's fields */
    size_t                  echo_len;
    const chaton_tools_t   *tools;          /* to know custom tools */

    chaton_buf_t            items;          /* the output items done, JSON */
    chaton_buf_t            cur;            /* the open item's text,
                                               JSON-escaped */
    chaton_buf_t            input;          /* a custom call's input */
    chaton_buf_t            where;          /* the open item's deltas'
                                               ,"item_id"...: see
                                               chaton_rs_delta_where() */
    uint64_t                where_index;    /* its item's index + 1 */
    chaton_buf_t           *kept;           /* the final response object
                                               is copied here, if set */
    uint64_t                seq;            /* stream: sequence_number */
    uint64_t                index;          /* the open or next item's */
    int                     item;           /* the open item's kind */
    unsigned                started:1;      /* response.created written */
    unsigned                store:1;        /* "store": it is kept */
    unsigned                custom_call:1;  /* the call written is a
                                               custom tool's */
} chaton_responses_t;


int chaton_responses_parse(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err);

/* req may be NULL: no max_output_tokens to report */

int chaton_responses_init(chaton_responses_t *rs, chaton_alloc_t *a,
    const unsigned char *id, size_t id_len, const unsigned char *model,
    size_t model_len, uint64_t created_at, size_t max_answer, int stream,
    const chaton_chat_req_t *req);


#endif /* _DIALECT_OPENAI_RESPONSES_H_INCLUDED_ */
