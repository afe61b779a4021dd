
/*
 * ngx_chaton: POST /v1/chat/completions, OpenAI's Chat Completions API.
 *
 * The route is the dialect's entry: its parser (core) makes the neutral
 * conversation out of the client's body, its writer (core) makes the
 * answer's chunks or object, and the conversation runner
 * (ngx_http_chaton_conversation.c) does everything between.
 */


#include "ngx_http_chaton_conversation.h"

#include "dialect_openai_chat.h"


static ngx_int_t ngx_http_chaton_chat_start(ngx_http_request_t *r,
    ngx_str_t *body);
static chaton_writer_t *ngx_http_chaton_chat_writer(
    ngx_http_chaton_conv_t *ctx);


static const ngx_http_chaton_dialect_t  ngx_http_chaton_chat_dialect = {
    ngx_string("chat/completions"),
    chaton_chat_parse,
    ngx_http_chaton_chat_writer,
    NULL,
    NULL,
    NULL
};


ngx_int_t
ngx_http_chaton_chat_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r, sizeof(ngx_http_chaton_conv_t),
                                        NGX_HTTP_CHATON_STATE_CHAT,
                                        ngx_http_chaton_chat_start);
}


static ngx_int_t
ngx_http_chaton_chat_start(ngx_http_request_t *r, ngx_str_t *body)
{
    return ngx_http_chaton_conversation(r, body,
                                        &ngx_http_chaton_chat_dialect);
}


static chaton_writer_t *
ngx_http_chaton_chat_writer(ngx_http_chaton_conv_t *ctx)
{
    u_char                       room[NGX_HTTP_CHATON_ID_ROOM];
    ngx_str_t                    id;
    chaton_openai_chat_t        *oc;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_chaton_module);

    oc = ngx_palloc(ctx->req.pool, sizeof(chaton_openai_chat_t));
    if (oc == NULL) {
        return NULL;
    }

    /*
     * One id for the whole answer, as OpenAI gives; a stream's writer
     * copies it into its chunks' prefix, a whole answer's keeps it.
     */

    if (ngx_http_chaton_conversation_id(ctx, "chatcmpl-", &id,
                                        ctx->chat.stream ? room : NULL)
        != NGX_OK
        || chaton_openai_chat_init(oc, &ctx->alloc, id.data, id.len,
                                   ctx->chat.model, ctx->chat.model_len,
                                   (uint64_t) ngx_time(),
                                   lcf->max_answer_size, ctx->chat.stream,
                                   ctx->chat.include_usage)
           != CHATON_OK)
    {
        return NULL;
    }

    oc->unfence = (ctx->chat.format != CHATON_FORMAT_TEXT);

    return &oc->w;
}
