
/*
 * ngx_chaton: pictures the model draws in a conversation.  They arrive as
 * spc.unk placeholders; the core holds the text behind one back while a
 * storage look-up resolves it (one at a time, in order), in streams and
 * whole answers alike.
 */


#include "ngx_http_chaton_conversation.h"

#include "chaton_storage.h"
#include "chaton_spc.h"


/*
 * A picture waited for and not yet looked up: GET /storage/<path>.  A path
 * that is no plain object name is not looked up: its note goes to out.
 */

ngx_int_t
ngx_http_chaton_pictures_look_up(ngx_http_chaton_conv_t *ctx,
    chaton_buf_t *out)
{
    chaton_buf_t        *path;
    ngx_http_request_t  *r;

    r = ctx->request;

    while (ctx->t.waiting && ctx->picture == NULL) {

        path = &ctx->t.pics->image_path;

        if (!chaton_spc_path_ok(path->data, path->len)) {
            ngx_http_chaton_log(NGX_LOG_WARN, r,
                          "a picture's path is not an object name");

            if (chaton_chat_resolved(&ctx->t, NULL, 0,
                                     "the picture's address is not valid",
                                     out)
                != CHATON_OK)
            {
                return NGX_ERROR;
            }

            if (ctx->step == NGX_HTTP_CHATON_ANSWERED
                && ngx_http_chaton_conversation_complete(ctx, out) != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        ctx->picture = ngx_http_chaton_call_storage(r, path->data, path->len,
                                                    ctx);
        if (ctx->picture == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the look-up has ended: the picture, or a note, goes into the answer */

ngx_int_t
ngx_http_chaton_pictures_resolve(ngx_http_chaton_conv_t *ctx)
{
    int                      rc;
    chaton_buf_t             url, out;
    ngx_http_chaton_call_t  *call;

    call = ctx->picture;
    ctx->picture = NULL;

    chaton_buf_init(&url, &ctx->alloc, 0);
    chaton_buf_init(&out, &ctx->alloc, 0);

    if (call->status == NGX_HTTP_OK
        && chaton_get_url(&url, call->answer.data, call->answer.len)
           == CHATON_OK)
    {
        rc = chaton_chat_resolved(&ctx->t, url.data, url.len, NULL, &out);

    } else {
        ngx_http_chaton_log(NGX_LOG_WARN, ctx->request,
                      "resolving a picture failed (backend status "
                      "%ui)", call->status);

        rc = chaton_chat_resolved(&ctx->t, NULL, 0,
                                  "the picture could not be retrieved",
                                  &out);
    }

    if (rc == CHATON_TOO_BIG) {
        ctx->step = NGX_HTTP_CHATON_FAILED;

        ctx->error = chaton_chat_error(&ctx->t);
        if (ctx->error == NULL) {
            return NGX_ERROR;
        }

        (void) chaton_error_answer(ctx->error, CHATON_ANSWER_TOO_LARGE);

        if (ctx->stream_started
            && ngx_http_chaton_conversation_error_event(ctx, &out)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (rc != CHATON_OK) {
        return NGX_ERROR;

    } else if (ctx->step == NGX_HTTP_CHATON_ANSWERED
               && ngx_http_chaton_conversation_complete(ctx, &out)
                  != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_chaton_pictures_look_up(ctx, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_chaton_call_over(ctx->call)) {

        /* the end sends it */

        return chaton_buf_append(&ctx->tail, out.data, out.len) == CHATON_OK
               ? NGX_OK : NGX_ERROR;
    }

    return ngx_http_chaton_conversation_send(ctx, &out);
}
