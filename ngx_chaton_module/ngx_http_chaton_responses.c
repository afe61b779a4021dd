
/*
 * ngx_chaton: POST /v1/responses, OpenAI's Responses API.
 *
 * The route is the dialect's entry, as chat's is: its parser (core) makes
 * the neutral conversation out of the body, its writer (core) makes the
 * typed events or the response object, and the conversation runner
 * (ngx_http_chaton_conversation.c) does everything between.  Its errors
 * are OpenAI's, as chat's.
 */


#include "ngx_http_chaton_conversation.h"

#include "dialect_openai_responses.h"


static ngx_int_t ngx_http_chaton_responses_start(ngx_http_request_t *r,
    ngx_str_t *body);
static chaton_writer_t *ngx_http_chaton_responses_writer(
    ngx_http_chaton_conv_t *ctx);


static const ngx_http_chaton_dialect_t  ngx_http_chaton_responses_dialect = {
    ngx_string("responses"),
    chaton_responses_parse,
    ngx_http_chaton_responses_writer,
    NULL
};


ngx_int_t
ngx_http_chaton_responses_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r, sizeof(ngx_http_chaton_conv_t),
                                        ngx_http_chaton_responses_start);
}


static ngx_int_t
ngx_http_chaton_responses_start(ngx_http_request_t *r, ngx_str_t *body)
{
    return ngx_http_chaton_conversation(r, body,
                                        &ngx_http_chaton_responses_dialect);
}


static chaton_writer_t *
ngx_http_chaton_responses_writer(ngx_http_chaton_conv_t *ctx)
{
    ngx_str_t                    id;
    chaton_responses_t          *rs;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_chaton_module);

    rs = ngx_palloc(ctx->request->pool, sizeof(chaton_responses_t));
    if (rs == NULL) {
        return NULL;
    }

    if (ngx_http_chaton_conversation_id(ctx, "resp_", &id) != NGX_OK
        || chaton_responses_init(rs, &ctx->alloc, id.data, id.len,
                                 ctx->chat.model, ctx->chat.model_len,
                                 (uint64_t) ngx_time(),
                                 lcf->max_answer_size, ctx->chat.stream,
                                 &ctx->chat)
           != CHATON_OK)
    {
        return NULL;
    }

    return &rs->w;
}
