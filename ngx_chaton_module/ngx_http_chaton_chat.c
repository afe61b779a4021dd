
/*
 * ngx_chaton: POST /v1/chat/completions, OpenAI's Chat Completions API.
 *
 * The route is the dialect's entry: its parser (core) makes the neutral
 * conversation out of the client's body, and the conversation runner
 * (ngx_http_chaton_conversation.c) does everything else.
 */


#include "ngx_http_chaton_conversation.h"


static ngx_int_t ngx_http_chaton_chat_start(ngx_http_request_t *r,
    ngx_str_t *body);


static const ngx_http_chaton_dialect_t  ngx_http_chaton_chat_dialect = {
    ngx_string("chat/completions"),
    chaton_chat_parse
};


ngx_int_t
ngx_http_chaton_chat_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r, sizeof(ngx_http_chaton_conv_t),
                                        ngx_http_chaton_chat_start);
}


static ngx_int_t
ngx_http_chaton_chat_start(ngx_http_request_t *r, ngx_str_t *body)
{
    return ngx_http_chaton_conversation(r, body,
                                        &ngx_http_chaton_chat_dialect);
}
