
/*
 * ngx_chaton: POST /v1/messages and /v1/messages/count_tokens, Anthropic's
 * Messages API.
 *
 * The route is the dialect's entry, as chat's is: its parser (core) makes
 * the neutral conversation, its writer (core) makes the named events or
 * the message object, its ping is the heartbeat, and the conversation
 * runner (ngx_http_chaton_conversation.c) does everything between.  Its
 * errors are in Anthropic's shape (ngx_http_chaton_reply.c knows them by
 * the route).  count_tokens asks nothing of the backend: the estimate is
 * the one the gateway's usage gives.
 */


#include "ngx_http_chaton_conversation.h"

#include "dialect_anthropic.h"


static ngx_int_t ngx_http_chaton_messages_start(ngx_http_request_t *r,
    ngx_str_t *body);
static chaton_writer_t *ngx_http_chaton_messages_writer(
    ngx_http_chaton_conv_t *ctx);
static ngx_int_t ngx_http_chaton_count_tokens_start(ngx_http_request_t *r,
    ngx_str_t *body);


static const ngx_http_chaton_dialect_t  ngx_http_chaton_messages_dialect = {
    ngx_string("messages"),
    chaton_anthropic_parse,
    ngx_http_chaton_messages_writer,
    chaton_anthropic_ping,
    NULL,
    NULL
};


ngx_int_t
ngx_http_chaton_messages_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r, sizeof(ngx_http_chaton_conv_t),
                                        NGX_HTTP_CHATON_STATE_MESSAGES,
                                        ngx_http_chaton_messages_start);
}


static ngx_int_t
ngx_http_chaton_messages_start(ngx_http_request_t *r, ngx_str_t *body)
{
    return ngx_http_chaton_conversation(r, body,
                                        &ngx_http_chaton_messages_dialect);
}


static chaton_writer_t *
ngx_http_chaton_messages_writer(ngx_http_chaton_conv_t *ctx)
{
    ngx_str_t                    id;
    chaton_anthropic_t          *an;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_chaton_module);

    an = ngx_palloc(ctx->req.pool, sizeof(chaton_anthropic_t));
    if (an == NULL) {
        return NULL;
    }

    if (ngx_http_chaton_conversation_id(ctx, "msg_", &id, NULL) != NGX_OK
        || chaton_anthropic_init(an, &ctx->alloc, id.data, id.len,
                                 ctx->chat.model, ctx->chat.model_len,
                                 lcf->max_answer_size, ctx->chat.stream,
                                 &ctx->chat)
           != CHATON_OK)
    {
        return NULL;
    }

    return &an->w;
}


ngx_int_t
ngx_http_chaton_count_tokens_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r, sizeof(ngx_http_chaton_conv_t),
                                        NGX_HTTP_CHATON_STATE_OTHER,
                                        ngx_http_chaton_count_tokens_start);
}


/* the conversation as /v1/messages would make it, counted, not sent */

static ngx_int_t
ngx_http_chaton_count_tokens_start(ngx_http_request_t *r, ngx_str_t *body)
{
    int                      rc;
    chaton_buf_t             b;
    chaton_error_t           err;
    chaton_chat_conf_t       conf;
    ngx_http_chaton_conv_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    ngx_http_chaton_alloc_init(&ctx->alloc, r->pool);
    ngx_http_chaton_conversation_conf(r, &conf);

    rc = chaton_anthropic_parse_count(&ctx->chat, &ctx->alloc, &conf,
                                      body->data, body->len, &err);

    if (rc == CHATON_ERROR) {
        return NGX_ERROR;
    }

    ngx_http_chaton_conversation_model(ctx);

    if (rc != CHATON_OK) {
        return ngx_http_chaton_send_error(r, &err);
    }

    ctx->req.backend_model.data = (u_char *) ctx->chat.entry->backend;
    ctx->req.backend_model.len = ctx->chat.entry->backend_len;

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (chaton_anthropic_count_tokens(&b, &ctx->chat) != CHATON_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
}
