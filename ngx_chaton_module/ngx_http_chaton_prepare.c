
/*
 * ngx_chaton: a conversation's pre-steps, all at once, before the chat
 * call: uploads of the inline images to ChatOn's storage (their URLs go
 * into the messages) and crawls of the links of the last user message
 * (their pages' text goes in front of it).
 */


#include "ngx_http_chaton_conversation.h"

#include "chaton_storage.h"


static ngx_int_t ngx_http_chaton_prepare_upload(ngx_http_request_t *r,
    ngx_http_chaton_conv_t *ctx, chaton_image_t *img);
static ngx_int_t ngx_http_chaton_prepare_crawl(ngx_http_request_t *r,
    ngx_http_chaton_conv_t *ctx, chaton_url_t *url);
static ngx_int_t ngx_http_chaton_prepare_crawl_body(
    ngx_http_chaton_call_t *call, u_char *pos, size_t len, chaton_buf_t *out);
static int ngx_http_chaton_prepare_crawl_event(void *data,
    const unsigned char *ev, size_t len);
static ngx_int_t ngx_http_chaton_prepare_context(ngx_http_chaton_conv_t *ctx);


/*
 * Starts the pre-steps the conversation needs: returns NGX_OK when there
 * are none, NGX_DONE when they are under way (the runner resumes when
 * each ends), NGX_ERROR.
 */

ngx_int_t
ngx_http_chaton_prepare(ngx_http_chaton_conv_t *ctx)
{
    int                          rc;
    size_t                       i, n, last;
    chaton_url_t                 urls[16];
    chaton_message_t            *m;
    ngx_http_request_t          *r;
    ngx_http_chaton_loc_conf_t  *lcf;

    r = ctx->request;
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    n = 0;

    if (lcf->crawl) {
        rc = chaton_chat_last_user(&ctx->chat);

        if (rc >= 0) {
            m = &ctx->chat.messages[rc];
            n = chaton_urls_find(m->content, m->content_len, urls,
                                 ngx_min(lcf->crawl_max_urls, 16));
        }
    }

    last = ctx->chat.nimages + n;

    /* the pre-steps are over before the call: their state is the setup's */

    ctx->preps = ngx_pcalloc(ctx->setup->pool,
                             last * sizeof(ngx_http_chaton_prep_t) + 1);
    if (ctx->preps == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->chat.nimages; i++) {
        if (ctx->chat.images[i].data
            && ngx_http_chaton_prepare_upload(r, ctx, &ctx->chat.images[i])
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_chaton_prepare_crawl(r, ctx, &urls[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ctx->npreps ? NGX_DONE : NGX_OK;
}


/*
 * Whether a pre-step is still under way: NGX_AGAIN, or NGX_OK when all
 * have ended.  One refused for its credential set or rate is started
 * over with the next set.
 */

ngx_int_t
ngx_http_chaton_prepare_pending(ngx_http_chaton_conv_t *ctx)
{
    ngx_uint_t               i;
    ngx_http_chaton_call_t  *call, *again;

    for (i = 0; i < ctx->npreps; i++) {
        call = ctx->preps[i].call;

        if (!call->ended) {
            return NGX_AGAIN;
        }

        again = ngx_http_chaton_call_again(call);

        if (again) {
            ctx->preps[i].call = again;
            return NGX_AGAIN;
        }
    }

    return NGX_OK;
}


/*
 * An inline image to ChatOn's storage: one multipart part, sent as three
 * buffers (head, the decoded bytes, tail) so the image is not copied; the
 * upload is signed over an empty body, as the protocol wants.
 */

static ngx_int_t
ngx_http_chaton_prepare_upload(ngx_http_request_t *r,
    ngx_http_chaton_conv_t *ctx, chaton_image_t *img)
{
    u_char                       *p;
    ngx_buf_t                    *b;
    ngx_uint_t                    i, k;
    ngx_time_t                   *tp;
    ngx_chain_t                  *cl, **ll;
    chaton_buf_t                  head, tail;
    ngx_str_t                     content_type;
    ngx_http_chaton_prep_t       *prep;
    u_char                        boundary[40], filename[48];
    ngx_str_t                     part[3];
    ngx_chain_t                  *bufs;

    /* a random boundary, never one the image's bytes contain */

    for (k = 0; k < 8; k++) {
        p = ngx_sprintf(boundary, "chaton%08xD%08xD%08xD",
                        (uint32_t) ngx_random(), (uint32_t) ngx_random(),
                        (uint32_t) ngx_random());
        *p = '\0';

        if (chaton_multipart_boundary_ok((char *) boundary, img->data,
                                         img->data_len))
        {
            break;
        }
    }

    tp = ngx_timeofday();

    p = ngx_sprintf(filename, "%M.%s",
                    (ngx_msec_t) tp->sec * 1000 + tp->msec, img->ext);
    *p = '\0';

    chaton_buf_init(&head, ctx->setup, 0);
    chaton_buf_init(&tail, ctx->setup, 0);

    if (chaton_multipart_head(&head, (char *) boundary, (char *) filename,
                              img->mime) != CHATON_OK
        || chaton_multipart_tail(&tail, (char *) boundary) != CHATON_OK)
    {
        return NGX_ERROR;
    }

    part[0].data = head.data;
    part[0].len = head.len;
    part[1].data = img->data;
    part[1].len = img->data_len;
    part[2].data = tail.data;
    part[2].len = tail.len;

    ll = &bufs;

    for (i = 0; i < 3; i++) {
        b = ngx_calloc_buf(ctx->setup->pool);
        cl = ngx_alloc_chain_link(ctx->setup->pool);
        if (b == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        b->pos = part[i].data;
        b->last = part[i].data + part[i].len;
        b->memory = 1;
        b->last_buf = (i == 2);

        cl->buf = b;
        *ll = cl;
        ll = &cl->next;
    }

    *ll = NULL;

    content_type.len = sizeof("multipart/form-data; boundary=") - 1
                       + ngx_strlen(boundary);
    content_type.data = ngx_pnalloc(ctx->setup->pool, content_type.len);
    if (content_type.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(content_type.data, "multipart/form-data; boundary=%s",
                boundary);

    prep = &ctx->preps[ctx->npreps];
    prep->image = img;

    prep->call = ngx_http_chaton_call_upload(r, bufs, &content_type,
                                             ctx->setup->pool, prep);
    if (prep->call == NULL) {
        return NGX_ERROR;
    }

    ctx->npreps++;
    ctx->req.uploads++;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_prepare_crawl(ngx_http_request_t *r,
    ngx_http_chaton_conv_t *ctx, chaton_url_t *url)
{
    chaton_buf_t                  path;
    ngx_http_chaton_prep_t       *prep;
    ngx_http_chaton_loc_conf_t   *lcf;
    ngx_http_chaton_call_args_t   args;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    chaton_buf_init(&path, ctx->setup, 0);

    if (chaton_crawl_path(&path, url->data, url->len) != CHATON_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.method = "GET";
    args.path.data = path.data;
    args.path.len = path.len;
    args.purpose = NGX_HTTP_CHATON_FOR_CRAWL;
    args.pool = ctx->setup->pool;
    args.background = 1;

    prep = &ctx->preps[ctx->npreps];
    prep->url = *url;

    chaton_sse_init(&prep->sse, ctx->setup, lcf->max_event_size);
    chaton_buf_init(&prep->text, ctx->setup, lcf->crawl_max_size);

    prep->call = ngx_http_chaton_call(r, &args, prep);
    if (prep->call == NULL) {
        return NGX_ERROR;
    }

    prep->call->body = ngx_http_chaton_prepare_crawl_body;

    ctx->npreps++;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_prepare_crawl_body(ngx_http_chaton_call_t *call, u_char *pos,
    size_t len, chaton_buf_t *out)
{
    int                      rc;
    ngx_http_chaton_prep_t  *prep;

    prep = call->data;

    if (prep->read_enough) {
        return NGX_OK;
    }

    rc = chaton_sse_feed(&prep->sse, pos, len, ngx_http_chaton_prepare_crawl_event,
                         prep);

    /* the page's end, its text's limit, or nonsense: enough is known */

    if (rc != CHATON_OK) {
        prep->read_enough = 1;
    }

    return rc == CHATON_ERROR ? NGX_ERROR : NGX_OK;
}


static int
ngx_http_chaton_prepare_crawl_event(void *data, const unsigned char *ev, size_t len)
{
    ngx_http_chaton_prep_t  *prep = data;

    return chaton_crawl_event(&prep->text, ev, len);
}


/*
 * Every pre-step has ended.  A refused upload fails the request, naming
 * the image (an answer about no picture would be wrong); a failed crawl
 * only leaves the link as the user wrote it.
 */

ngx_int_t
ngx_http_chaton_prepared(ngx_http_chaton_conv_t *ctx)
{
    size_t                   n;
    u_char                   reason[128];
    chaton_buf_t             url;
    chaton_error_t           err;
    ngx_http_chaton_call_t  *call;
    ngx_http_chaton_prep_t  *prep, *end;

    end = ctx->preps + ctx->npreps;

    /* the pre-steps are over: their sending goes with the setup's pool */

    for (prep = ctx->preps; prep < end; prep++) {
        (void) ngx_http_chaton_call_sent(prep->call);
    }

    for (prep = ctx->preps; prep < end && prep->image; prep++) {
        call = prep->call;

        chaton_buf_init(&url, ctx->setup, 0);

        if (call->status == NGX_HTTP_OK
            && chaton_get_url(&url, call->answer.data, call->answer.len)
               == CHATON_OK)
        {
            prep->image->url = url.data;
            prep->image->url_len = url.len;
            continue;
        }

        n = 0;

        if (call->status != NGX_HTTP_OK) {

            /* the backend's reason, copied: the message is rewritten */

            ngx_http_chaton_backend_error(call, &err);

            n = ngx_min(err.text_len, sizeof(reason));
            ngx_memcpy(reason, err.text, n);
        }

        chaton_error_upload(&err, call->status == NGX_HTTP_OK
                                  ? NGX_HTTP_OK : err.status,
                            prep->image->param, reason, n);

        return ngx_http_chaton_send_error(ctx->request, &err);
    }

    if (ngx_http_chaton_prepare_context(ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_conversation_call(ctx);
}


/* the crawled pages' text, in front of the last user message */

static ngx_int_t
ngx_http_chaton_prepare_context(ngx_http_chaton_conv_t *ctx)
{
    chaton_buf_t             b;
    ngx_http_chaton_prep_t  *prep, *end;

    chaton_buf_init(&b, ctx->setup, 0);

    end = ctx->preps + ctx->npreps;

    for (prep = ctx->preps; prep < end; prep++) {
        if (prep->image) {
            continue;
        }

        if (prep->call->status != NGX_HTTP_OK || prep->text.len == 0) {
            ngx_http_chaton_log(NGX_LOG_INFO, ctx->request,
                          "crawling \"%*s\" failed (backend status "
                          "%ui), the link is sent as it is",
                          prep->url.len, prep->url.data,
                          prep->call->status);
            continue;
        }

        if (chaton_crawl_context(&b, prep->url.data, prep->url.len,
                                 prep->text.data, prep->text.len)
            != CHATON_OK)
        {
            return NGX_ERROR;
        }
    }

    ctx->chat.context = b.data;
    ctx->chat.context_len = b.len;

    return NGX_OK;
}
