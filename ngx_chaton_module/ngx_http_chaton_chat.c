
/*
 * ngx_chaton: POST /v1/chat/completions.
 *
 *   ..._start       parses and translates the body (core); starts the
 *                   pre-steps: uploads of inline images, crawls of links
 *   ..._prepared    all pre-steps done: starts the chat call
 *   ..._header      backend status known: a stream's 200 goes out now
 *   ..._body        backend bytes -> SSE parser -> chunks, in order
 *   ..._resume      the parent's handler: pre-steps done, a picture
 *                   resolved, or the chat call ended
 *
 * A stream's status line leaves only once the backend's status is known,
 * so a backend error is a proper HTTP error; except that a stream waiting
 * long for the backend (reasoning models think for minutes) is answered
 * 200 after chaton_stream_wait, with heartbeat comments, and a later error
 * then arrives as an SSE error event.
 *
 * Pictures the model draws arrive as spc.unk placeholders: the text behind
 * one is held back while a storage look-up resolves it (one at a time, in
 * order), in streams and whole answers alike.
 */


#include "ngx_http_chaton_module.h"

#include "chaton_request.h"
#include "chaton_sse.h"
#include "chaton_chunk.h"
#include "chaton_storage.h"
#include "chaton_crawl.h"
#include "chaton_spc.h"


/* a pre-step: an upload of one inline image, or a crawl of one link */

typedef struct {
    ngx_http_chaton_call_t      *call;
    chaton_image_t              *image;     /* an upload's */
    chaton_url_t                 url;       /* a crawl's */
    chaton_sse_t                 sse;
    chaton_buf_t                 text;
    unsigned                     done:1;    /* the crawler said [DONE] */
} ngx_http_chaton_prep_t;


typedef struct {
    ngx_http_chaton_req_t        req;        /* first: see the header */
    ngx_http_request_t          *request;
    ngx_http_chaton_call_t      *call;       /* the chat */
    ngx_http_chaton_call_t      *picture;    /* a storage look-up */

    chaton_alloc_t               alloc;
    chaton_chat_req_t            chat;
    chaton_sse_t                 sse;
    chaton_chat_t                t;

    ngx_http_chaton_prep_t      *preps;
    ngx_uint_t                   npreps;

    ngx_event_t                  beat;       /* stream wait, heartbeat */
    ngx_buf_t                    beat_buf;
    ngx_chain_t                  beat_out;

    ngx_int_t                    result;     /* CHATON_OK while running */
    chaton_error_t              *error;
    chaton_buf_t                 tail;       /* output after the call */

    u_char                       id[40];

    unsigned                     committed:1;
    unsigned                     ended:1;
} ngx_http_chaton_chat_ctx_t;


static ngx_int_t ngx_http_chaton_chat_start(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_chaton_chat_upload(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx, chaton_image_t *img);
static ngx_int_t ngx_http_chaton_chat_crawl(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx, chaton_url_t *url);
static ngx_int_t ngx_http_chaton_crawl_body(ngx_http_chaton_call_t *call,
    u_char *pos, size_t len, chaton_buf_t *out);
static int ngx_http_chaton_crawl_event(void *data, const unsigned char *ev,
    size_t len);
static ngx_int_t ngx_http_chaton_chat_prepared(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx);
static ngx_int_t ngx_http_chaton_chat_context(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx);
static ngx_int_t ngx_http_chaton_chat_call(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx);
static ngx_int_t ngx_http_chaton_chat_header(ngx_http_chaton_call_t *call);
static ngx_int_t ngx_http_chaton_chat_body(ngx_http_chaton_call_t *call,
    u_char *pos, size_t len, chaton_buf_t *out);
static int ngx_http_chaton_chat_framed(void *data, const unsigned char *in,
    size_t len, size_t *n);
static int ngx_http_chaton_chat_event(void *data, const unsigned char *ev,
    size_t len);
static ngx_int_t ngx_http_chaton_chat_outcome(ngx_http_chaton_chat_ctx_t *ctx,
    int rc, chaton_buf_t *out);
static ngx_int_t ngx_http_chaton_chat_complete(
    ngx_http_chaton_chat_ctx_t *ctx, chaton_buf_t *out);
static ngx_int_t ngx_http_chaton_chat_look_up(ngx_http_chaton_chat_ctx_t *ctx,
    chaton_buf_t *out);
static ngx_int_t ngx_http_chaton_chat_resolve(ngx_http_chaton_chat_ctx_t *ctx);
static ngx_int_t ngx_http_chaton_chat_error_event(
    ngx_http_chaton_chat_ctx_t *ctx, chaton_buf_t *out);
static ngx_int_t ngx_http_chaton_chat_send(ngx_http_chaton_chat_ctx_t *ctx,
    chaton_buf_t *out);
static void ngx_http_chaton_chat_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_chat_end(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx);
static ngx_int_t ngx_http_chaton_chat_whole(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx);
static void ngx_http_chaton_chat_truncated(ngx_http_chaton_chat_ctx_t *ctx);
static void ngx_http_chaton_chat_beat(ngx_event_t *ev);
static void ngx_http_chaton_chat_cleanup(void *data);


static ngx_str_t  ngx_http_chaton_chat_path = ngx_string("/chats/stream");
static ngx_str_t  ngx_http_chaton_chat_route = ngx_string("chat/completions");
static u_char     ngx_http_chaton_beat_text[] = ": keep-alive\n\n";


ngx_int_t
ngx_http_chaton_chat_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r, sizeof(ngx_http_chaton_chat_ctx_t),
                                        ngx_http_chaton_chat_start);
}


/*
 * Returns NGX_DONE when calls are under way (the request is finalized when
 * they end), or the rc of an answer already given.
 */

static ngx_int_t
ngx_http_chaton_chat_start(ngx_http_request_t *r, ngx_str_t *body)
{
    int                          rc;
    size_t                       i, n, last;
    chaton_url_t                 urls[16];
    chaton_error_t               err;
    chaton_chat_conf_t           conf;
    ngx_pool_cleanup_t          *cln;
    chaton_message_t            *m;
    ngx_http_chaton_chat_ctx_t  *ctx;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    ctx->request = r;
    ngx_http_chaton_alloc_init(&ctx->alloc, r->pool);

    conf.models = lcf->models;
    conf.nmodels = lcf->nmodels;
    conf.fallback = lcf->fallback;
    conf.max_tokens = lcf->max_tokens;
    conf.max_image = lcf->max_image_size;
    conf.max_images = lcf->max_images;
    conf.web_search = lcf->web_search;
    conf.image_gen = lcf->image_gen;
    conf.code_interpreter = lcf->code_interpreter;

    rc = chaton_chat_parse(&ctx->chat, &ctx->alloc, &conf, body->data,
                           body->len, &err);

    if (rc == CHATON_ERROR) {
        return NGX_ERROR;
    }

    if (ctx->chat.model) {
        ctx->req.model.data = ctx->chat.model;
        ctx->req.model.len = ctx->chat.model_len;
    }

    if (rc != CHATON_OK) {
        if (lcf->passthrough.len && err.code
            && ngx_strcmp(err.code, "model_not_found") == 0)
        {
            return ngx_http_chaton_pass(r, "POST", &ngx_http_chaton_chat_route,
                                        body);
        }

        return ngx_http_chaton_send_error(r, &err);
    }

    ctx->req.backend_model.data = (u_char *) ctx->chat.entry->backend;
    ctx->req.backend_model.len = ctx->chat.entry->backend_len;
    ctx->req.stream = ctx->chat.stream;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_chaton_chat_cleanup;
    cln->data = ctx;

    /* the pre-steps, all at once: uploads, then crawls of the links */

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

    ctx->preps = ngx_pcalloc(r->pool, last * sizeof(ngx_http_chaton_prep_t)
                                      + 1);
    if (ctx->preps == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->chat.nimages; i++) {
        if (ctx->chat.images[i].data
            && ngx_http_chaton_chat_upload(r, ctx, &ctx->chat.images[i])
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_chaton_chat_crawl(r, ctx, &urls[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->npreps == 0) {
        return ngx_http_chaton_chat_call(r, ctx);
    }

    r->write_event_handler = ngx_http_chaton_chat_resume;

    return NGX_DONE;
}


/*
 * An inline image to ChatOn's storage: one multipart part, sent as three
 * buffers (head, the decoded bytes, tail) so the image is not copied; the
 * upload is signed over an empty body, as the protocol wants.
 */

static ngx_int_t
ngx_http_chaton_chat_upload(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx, chaton_image_t *img)
{
    u_char                       *p;
    ngx_buf_t                    *b;
    ngx_uint_t                    i, k;
    ngx_time_t                   *tp;
    ngx_chain_t                  *cl, **ll;
    chaton_buf_t                  head, tail;
    ngx_http_chaton_prep_t       *prep;
    ngx_http_chaton_call_args_t   args;
    u_char                        boundary[40], filename[48];
    ngx_str_t                     part[3];

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

    chaton_buf_init(&head, &ctx->alloc, 0);
    chaton_buf_init(&tail, &ctx->alloc, 0);

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

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));
    ll = &args.bufs;

    for (i = 0; i < 3; i++) {
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);
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

    args.method = "POST";
    ngx_str_set(&args.path, "/storage/upload");
    args.content_type.len = sizeof("multipart/form-data; boundary=") - 1
                            + ngx_strlen(boundary);
    args.content_type.data = ngx_pnalloc(r->pool, args.content_type.len);
    if (args.content_type.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(args.content_type.data, "multipart/form-data; boundary=%s",
                boundary);

    args.capture = 64 * 1024;
    args.background = 1;

    prep = &ctx->preps[ctx->npreps];
    prep->image = img;

    prep->call = ngx_http_chaton_call(r, &args, prep);
    if (prep->call == NULL) {
        return NGX_ERROR;
    }

    ctx->npreps++;
    ctx->req.uploads++;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_chat_crawl(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx, chaton_url_t *url)
{
    chaton_buf_t                  path;
    ngx_http_chaton_prep_t       *prep;
    ngx_http_chaton_loc_conf_t   *lcf;
    ngx_http_chaton_call_args_t   args;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    chaton_buf_init(&path, &ctx->alloc, 0);

    if (chaton_crawl_path(&path, url->data, url->len) != CHATON_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.method = "GET";
    args.path.data = path.data;
    args.path.len = path.len;
    args.background = 1;

    prep = &ctx->preps[ctx->npreps];
    prep->url = *url;

    chaton_sse_init(&prep->sse, &ctx->alloc, lcf->max_event_size);
    chaton_buf_init(&prep->text, &ctx->alloc, lcf->crawl_max_size);

    prep->call = ngx_http_chaton_call(r, &args, prep);
    if (prep->call == NULL) {
        return NGX_ERROR;
    }

    prep->call->body = ngx_http_chaton_crawl_body;

    ctx->npreps++;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_crawl_body(ngx_http_chaton_call_t *call, u_char *pos,
    size_t len, chaton_buf_t *out)
{
    int                      rc;
    ngx_http_chaton_prep_t  *prep;

    prep = call->data;

    if (prep->done) {
        return NGX_OK;
    }

    rc = chaton_sse_feed(&prep->sse, pos, len, ngx_http_chaton_crawl_event,
                         prep);

    /* the page's end, its text's limit, or nonsense: enough is known */

    if (rc != CHATON_OK) {
        prep->done = 1;
    }

    return rc == CHATON_ERROR ? NGX_ERROR : NGX_OK;
}


static int
ngx_http_chaton_crawl_event(void *data, const unsigned char *ev, size_t len)
{
    ngx_http_chaton_prep_t  *prep = data;

    return chaton_crawl_event(&prep->text, ev, len);
}


/*
 * Every pre-step has ended.  A refused upload fails the request, naming
 * the image (an answer about no picture would be wrong); a failed crawl
 * only leaves the link as the user wrote it.
 */

static ngx_int_t
ngx_http_chaton_chat_prepared(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx)
{
    size_t                   n;
    u_char                   reason[128];
    chaton_buf_t             url;
    chaton_error_t           err;
    ngx_http_chaton_call_t  *call;
    ngx_http_chaton_prep_t  *prep, *end;

    end = ctx->preps + ctx->npreps;

    for (prep = ctx->preps; prep < end && prep->image; prep++) {
        call = prep->call;

        chaton_buf_init(&url, &ctx->alloc, 0);

        if (call->status == NGX_HTTP_OK
            && chaton_get_url(&url, call->answer.data, call->answer.len)
               == CHATON_OK)
        {
            prep->image->url = url.data;
            prep->image->url_len = url.len;
            continue;
        }

        if (call->status == NGX_HTTP_OK) {
            (void) chaton_error_set(&err, NGX_HTTP_BAD_GATEWAY,
                                    prep->image->param, "upload_failed",
                                    "The backend's answer to the upload of "
                                    "the image in %s had no URL.",
                                    prep->image->param);

        } else {

            /* the backend's reason, copied: the message is rewritten */

            ngx_http_chaton_backend_error(call, &err);

            n = ngx_min(err.text_len, sizeof(reason) - 1);
            ngx_memcpy(reason, err.text, n);
            reason[n] = '\0';

            (void) chaton_error_set(&err,
                                    err.status == NGX_HTTP_TOO_MANY_REQUESTS
                                    ? NGX_HTTP_TOO_MANY_REQUESTS
                                    : NGX_HTTP_BAD_GATEWAY,
                                    prep->image->param, "upload_failed",
                                    "The backend refused the upload of the "
                                    "image in %s: %s", prep->image->param,
                                    reason);
        }

        return ngx_http_chaton_send_error(r, &err);
    }

    if (ngx_http_chaton_chat_context(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_chat_call(r, ctx);
}


/* the crawled pages' text, in front of the last user message */

static ngx_int_t
ngx_http_chaton_chat_context(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx)
{
    chaton_buf_t             b;
    ngx_http_chaton_prep_t  *prep, *end;

    chaton_buf_init(&b, &ctx->alloc, 0);

    end = ctx->preps + ctx->npreps;

    for (prep = ctx->preps; prep < end; prep++) {
        if (prep->image) {
            continue;
        }

        if (prep->call->status != NGX_HTTP_OK || prep->text.len == 0) {
            ngx_http_chaton_log(NGX_LOG_INFO, r,
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


static ngx_int_t
ngx_http_chaton_chat_call(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx)
{
    u_char                       *p;
    chaton_buf_t                  b;
    ngx_http_chaton_call_t       *call;
    ngx_http_chaton_loc_conf_t   *lcf;
    ngx_http_chaton_call_args_t   args;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (chaton_chat_body(&b, &ctx->chat) != CHATON_OK) {
        return NGX_ERROR;
    }

    /* one id for the whole answer, as OpenAI gives */

    p = ngx_sprintf(ctx->id, "chatcmpl-%08xD%08xD%08xD",
                    (uint32_t) ngx_random(), (uint32_t) ngx_random(),
                    (uint32_t) ngx_random());

    if (chaton_chat_init(&ctx->t, &ctx->alloc, ctx->id, p - ctx->id,
                         ctx->chat.model, ctx->chat.model_len,
                         (uint64_t) ngx_time(), lcf->max_answer_size)
        != CHATON_OK)
    {
        return NGX_ERROR;
    }

    ctx->t.stream = ctx->chat.stream;
    ctx->t.include_usage = ctx->chat.include_usage;
    ctx->t.prompt_tokens = chaton_usage_tokens(&ctx->chat.prompt);

    chaton_sse_init(&ctx->sse, &ctx->alloc, lcf->max_event_size);
    ctx->sse.whole = ngx_http_chaton_chat_framed;
    chaton_buf_init(&ctx->tail, &ctx->alloc, 0);

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.method = "POST";
    args.path = ngx_http_chaton_chat_path;
    args.body.data = b.data;
    args.body.len = b.len;

    call = ngx_http_chaton_call(r, &args, ctx);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->header = ngx_http_chaton_chat_header;
    call->body = ngx_http_chaton_chat_body;

    ctx->call = call;

    r->write_event_handler = ngx_http_chaton_chat_resume;

    if (ctx->chat.stream && (lcf->commit_after || lcf->heartbeat)) {
        ctx->beat.handler = ngx_http_chaton_chat_beat;
        ctx->beat.data = ctx;
        ctx->beat.log = r->connection->log;
        ctx->beat.cancelable = 1;

        ngx_add_timer(&ctx->beat, lcf->commit_after ? lcf->commit_after
                                                    : lcf->heartbeat);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_chaton_chat_header(ngx_http_chaton_call_t *call)
{
    ngx_str_t                   *type;
    ngx_http_chaton_chat_ctx_t  *ctx;

    ctx = call->data;
    ctx->req.backend_status = call->status;

    if (call->status != NGX_HTTP_OK || call->not_sse) {
        return NGX_OK;
    }

    type = &call->sr->headers_out.content_type;

    if (type->len < sizeof("text/event-stream") - 1
        || ngx_strncasecmp(type->data, (u_char *) "text/event-stream",
                           sizeof("text/event-stream") - 1) != 0)
    {
        call->not_sse = 1;
        return NGX_OK;
    }

    if (!ctx->chat.stream || ctx->committed) {
        return NGX_OK;
    }

    ctx->committed = 1;

    return ngx_http_chaton_send_stream_header(ctx->request);
}


static ngx_int_t
ngx_http_chaton_chat_body(ngx_http_chaton_call_t *call, u_char *pos,
    size_t len, chaton_buf_t *out)
{
    int                          rc;
    ngx_http_chaton_chat_ctx_t  *ctx;
    ngx_http_chaton_loc_conf_t  *lcf;

    ctx = call->data;

    if (ctx->result != CHATON_OK) {
        return NGX_OK;      /* the answer is over; the rest is ignored */
    }

    /* chunks come to about one and a half times the events' bytes */

    if (ctx->chat.stream && out->cap == 0
        && chaton_buf_reserve(out, ngx_max(4096, len * 2)) != CHATON_OK)
    {
        return NGX_ERROR;
    }

    ctx->t.out = out;

    rc = chaton_sse_feed(&ctx->sse, pos, len, ngx_http_chaton_chat_event,
                         ctx);

    if (ngx_http_chaton_chat_outcome(ctx, rc, out) != NGX_OK) {
        return NGX_ERROR;
    }

    call->answered = (ctx->result != CHATON_OK && !ctx->t.waiting);

    if (!ctx->req.token_seen && ctx->t.content_bytes) {
        ctx->req.token_seen = 1;
        ctx->req.first_token = ngx_current_msec - ctx->req.started;
    }

    /* output pushes the next heartbeat back */

    if (ctx->committed && out->len && ctx->beat.timer_set) {
        lcf = ngx_http_get_module_loc_conf(ctx->request,
                                           ngx_http_chaton_module);
        if (lcf->heartbeat) {
            ngx_add_timer(&ctx->beat, lcf->heartbeat);
        }
    }

    return ngx_http_chaton_chat_look_up(ctx, out);
}


/* the common event, translated straight from the input: chaton_chunk.c */

static int
ngx_http_chaton_chat_framed(void *data, const unsigned char *in, size_t len,
    size_t *n)
{
    ngx_http_chaton_chat_ctx_t  *ctx = data;

    return chaton_chat_framed(&ctx->t, in, len, n);
}


static int
ngx_http_chaton_chat_event(void *data, const unsigned char *ev, size_t len)
{
    int                          rc;
    ngx_http_chaton_chat_ctx_t  *ctx = data;

    rc = chaton_chat_event(&ctx->t, ev, len);

    if (rc == CHATON_TOO_BIG) {
        return chaton_error_set(&ctx->t.error, NGX_HTTP_BAD_GATEWAY, NULL,
                                "answer_too_large",
                                "The answer is larger than "
                                "chaton_max_answer_size.");
    }

    return rc;
}


/*
 * What a feed (or the end of the input) came to.  In a stream, the end and
 * errors are written out at once, after the chunks before them.
 */

static ngx_int_t
ngx_http_chaton_chat_outcome(ngx_http_chaton_chat_ctx_t *ctx, int rc,
    chaton_buf_t *out)
{
    ctx->req.events = ctx->t.events;
    ctx->req.chunks = ctx->t.chunks;
    ctx->req.content_bytes = ctx->t.content_bytes;

    switch (rc) {

    case CHATON_OK:
        return NGX_OK;

    case CHATON_DONE:
        ctx->result = CHATON_DONE;
        return ngx_http_chaton_chat_complete(ctx, out);

    case CHATON_TOO_BIG:
        (void) chaton_error_set(&ctx->t.error, NGX_HTTP_BAD_GATEWAY, NULL,
                                "event_too_large",
                                "The backend sent an event larger than "
                                "chaton_max_event_size.");
        break;

    case CHATON_BAD:
        break;

    default:
        return NGX_ERROR;
    }

    ctx->result = CHATON_BAD;
    ctx->error = &ctx->t.error;

    return ctx->committed ? ngx_http_chaton_chat_error_event(ctx, out)
                          : NGX_OK;
}


/*
 * The backend has said [DONE]: text held back as a possible placeholder is
 * released, and a stream gets its last chunks, unless a picture is still
 * being resolved (this runs again once it is).
 */

static ngx_int_t
ngx_http_chaton_chat_complete(ngx_http_chaton_chat_ctx_t *ctx,
    chaton_buf_t *out)
{
    ctx->t.out = out;

    if (ctx->t.waiting) {
        return NGX_OK;
    }

    if (chaton_chat_flush(&ctx->t) != CHATON_OK) {
        return NGX_ERROR;
    }

    if (ctx->t.waiting || !ctx->chat.stream) {
        return NGX_OK;
    }

    if (chaton_chat_finish(&ctx->t) != CHATON_OK) {
        return NGX_ERROR;
    }

    ctx->req.chunks = ctx->t.chunks;

    return NGX_OK;
}


/*
 * A picture waited for and not yet looked up: GET /storage/<path>.  A path
 * that is no plain object name is not looked up: its note goes to out.
 */

static ngx_int_t
ngx_http_chaton_chat_look_up(ngx_http_chaton_chat_ctx_t *ctx,
    chaton_buf_t *out)
{
    ngx_http_request_t           *r;
    ngx_http_chaton_call_args_t   args;

    r = ctx->request;

    while (ctx->t.waiting && ctx->picture == NULL) {

        if (!chaton_spc_path_ok(ctx->t.image_path.data,
                                ctx->t.image_path.len))
        {
            ngx_http_chaton_log(NGX_LOG_WARN, r,
                          "a picture's path is not an object name");

            ctx->t.out = out;

            if (chaton_chat_resolved(&ctx->t, NULL, 0,
                                     "the picture's address is not valid")
                != CHATON_OK)
            {
                return NGX_ERROR;
            }

            if (ctx->result == CHATON_DONE
                && ngx_http_chaton_chat_complete(ctx, out) != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

        args.path.len = sizeof("/storage/") - 1 + ctx->t.image_path.len;
        args.path.data = ngx_pnalloc(r->pool, args.path.len);
        if (args.path.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(ngx_cpymem(args.path.data, "/storage/",
                              sizeof("/storage/") - 1),
                   ctx->t.image_path.data, ctx->t.image_path.len);

        args.method = "GET";
        args.capture = 64 * 1024;
        args.background = 1;

        ctx->picture = ngx_http_chaton_call(r, &args, ctx);
        if (ctx->picture == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the look-up has ended: the picture, or a note, goes into the answer */

static ngx_int_t
ngx_http_chaton_chat_resolve(ngx_http_chaton_chat_ctx_t *ctx)
{
    int                      rc;
    chaton_buf_t             url, out;
    ngx_http_chaton_call_t  *call;

    call = ctx->picture;
    ctx->picture = NULL;

    chaton_buf_init(&url, &ctx->alloc, 0);
    chaton_buf_init(&out, &ctx->alloc, 0);

    ctx->t.out = &out;

    if (call->status == NGX_HTTP_OK
        && chaton_get_url(&url, call->answer.data, call->answer.len)
           == CHATON_OK)
    {
        rc = chaton_chat_resolved(&ctx->t, url.data, url.len, NULL);

    } else {
        ngx_http_chaton_log(NGX_LOG_WARN, ctx->request,
                      "resolving a picture failed (backend status "
                      "%ui)", call->status);

        rc = chaton_chat_resolved(&ctx->t, NULL, 0,
                                  "the picture could not be retrieved");
    }

    if (rc == CHATON_TOO_BIG) {
        ctx->result = CHATON_BAD;
        ctx->error = &ctx->t.error;
        (void) chaton_error_set(ctx->error, NGX_HTTP_BAD_GATEWAY, NULL,
                                "answer_too_large",
                                "The answer is larger than "
                                "chaton_max_answer_size.");

        if (ctx->committed
            && ngx_http_chaton_chat_error_event(ctx, &out) != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (rc != CHATON_OK) {
        return NGX_ERROR;

    } else if (ctx->result == CHATON_DONE
               && ngx_http_chaton_chat_complete(ctx, &out) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_chaton_chat_look_up(ctx, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->call->sr->done) {

        /* the end sends it */

        return chaton_buf_append(&ctx->tail, out.data, out.len) == CHATON_OK
               ? NGX_OK : NGX_ERROR;
    }

    return ngx_http_chaton_chat_send(ctx, &out);
}


/* an error after the 200: logged, and one more event for the client */

static ngx_int_t
ngx_http_chaton_chat_error_event(ngx_http_chaton_chat_ctx_t *ctx,
    chaton_buf_t *out)
{
    chaton_error_t  *err;

    err = ctx->error;

    ngx_http_chaton_log(NGX_LOG_ERR, ctx->request,
                  "%d %s in a stream after %uL events: %*s",
                  err->status, err->code ? err->code : "error",
                  ctx->t.events, err->text_len, err->text);

    return chaton_error_event(out, err) == CHATON_OK ? NGX_OK : NGX_ERROR;
}


/*
 * Stream bytes of the module's own while the chat call is the active
 * subrequest: through it, so that the postpone filter keeps them in order
 * with its output.
 */

static ngx_int_t
ngx_http_chaton_chat_send(ngx_http_chaton_chat_ctx_t *ctx, chaton_buf_t *out)
{
    ngx_chain_t         *cl, **ll;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (out->len == 0) {
        return NGX_OK;
    }

    cl = NULL;
    ll = &cl;

    if (ngx_http_chaton_chain_add(r, &ll, out->data, out->len) != NGX_OK) {
        return NGX_ERROR;
    }

    cl->buf->flush = 1;

    return ngx_http_chaton_call_output(ctx->call, cl);
}


/*
 * The parent's write handler: runs when a background call (a pre-step, a
 * look-up) or the chat call has ended, and spuriously.
 */

static void
ngx_http_chaton_chat_resume(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_http_chaton_call_t      *call, *again;
    ngx_http_chaton_chat_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (ctx == NULL || ctx->ended) {
        return;
    }

    if (ctx->call == NULL) {
        for (i = 0; i < ctx->npreps; i++) {
            call = ctx->preps[i].call;

            if (!call->finished) {
                return;
            }

            again = ngx_http_chaton_call_again(call);

            if (again) {
                ctx->preps[i].call = again;
                return;
            }
        }

        rc = ngx_http_chaton_chat_prepared(r, ctx);

        if (rc != NGX_DONE) {
            ctx->ended = 1;
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    if (ctx->picture && ctx->picture->finished) {
        again = ngx_http_chaton_call_again(ctx->picture);

        if (again) {
            ctx->picture = again;

        } else if (ngx_http_chaton_chat_resolve(ctx) != NGX_OK) {
            ctx->ended = 1;
            ngx_http_finalize_request(r, NGX_ERROR);
            return;
        }
    }

    if (!ctx->call->sr->done) {
        return;
    }

    /* refused for the credential set or the rate: the next set */

    again = ngx_http_chaton_call_again(ctx->call);

    if (again) {
        ctx->call = again;
        ctx->result = CHATON_OK;
        chaton_sse_init(&ctx->sse, &ctx->alloc, ctx->sse.max);
        ctx->sse.whole = ngx_http_chaton_chat_framed;
        return;
    }

    /* an event that lacked only its blank line is still one */

    if (ctx->result == CHATON_OK && ctx->call->seen_last
        && ctx->call->status == NGX_HTTP_OK && !ctx->call->not_sse)
    {
        ctx->t.out = &ctx->tail;

        rc = chaton_sse_finish(&ctx->sse, ngx_http_chaton_chat_event, ctx);

        if (ngx_http_chaton_chat_outcome(ctx, rc, &ctx->tail) != NGX_OK
            || ngx_http_chaton_chat_look_up(ctx, &ctx->tail) != NGX_OK)
        {
            ctx->ended = 1;
            ngx_http_finalize_request(r, NGX_ERROR);
            return;
        }
    }

    /* a finished answer still waiting for a picture waits */

    if (ctx->result == CHATON_DONE && ctx->t.waiting) {
        return;
    }

    ctx->ended = 1;

    if (ctx->beat.timer_set) {
        ngx_del_timer(&ctx->beat);
    }

    ngx_http_finalize_request(r, ngx_http_chaton_chat_end(r, ctx));
}


static ngx_int_t
ngx_http_chaton_chat_end(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx)
{
    chaton_buf_t             out;
    ngx_http_chaton_call_t  *call;

    call = ctx->call;

    /* what came after the chat call's end: resolved pictures, the end */

    out = ctx->tail;

    if (call->status == NGX_HTTP_OK && !call->not_sse) {

        if (ctx->result == CHATON_OK) {
            ngx_http_chaton_chat_truncated(ctx);

            if (ctx->committed
                && ngx_http_chaton_chat_error_event(ctx, &out) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

    } else {
        ctx->error = &ctx->t.error;

        if (call->not_sse) {
            (void) chaton_error_set(ctx->error, NGX_HTTP_BAD_GATEWAY, NULL,
                                    "bad_backend_answer",
                                    call->encoded
                                    ? "The backend answered compressed, "
                                      "though compression was not asked for."
                                    : "The backend answered with something "
                                      "other than an event stream.");

        } else {
            ngx_http_chaton_backend_error(call, ctx->error);
        }

        if (ctx->committed
            && ngx_http_chaton_chat_error_event(ctx, &out) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ctx->committed) {
        return ngx_http_chaton_send_last(r, out.data, out.len);
    }

    if (ctx->error) {
        return ngx_http_chaton_send_error(r, ctx->error);
    }

    return ngx_http_chaton_chat_whole(r, ctx);
}


static ngx_int_t
ngx_http_chaton_chat_whole(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (chaton_chat_completion(&ctx->t, &b) != CHATON_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
}


/*
 * The backend ended without [DONE]: the connection broke, or it went
 * silent past proxy_read_timeout (nginx reports both to the subrequest
 * alike, so the silence is measured here).  Never passed off as complete.
 */

static void
ngx_http_chaton_chat_truncated(ngx_http_chaton_chat_ctx_t *ctx)
{
    ngx_http_upstream_t     *u;
    ngx_http_chaton_call_t  *call;

    call = ctx->call;
    u = call->sr->upstream;

    ctx->result = CHATON_BAD;
    ctx->error = &ctx->t.error;

    /*
     * nginx moves a timer only when it changes by more than
     * NGX_TIMER_LAZY_DELAY, so the upstream's read timeout may fire that
     * much before read_timeout has passed since the last read
     */

    if (u && u->conf
        && ngx_current_msec - call->last_read + NGX_TIMER_LAZY_DELAY
           >= u->conf->read_timeout)
    {
        (void) chaton_error_set(ctx->error, NGX_HTTP_GATEWAY_TIME_OUT, NULL,
                                "backend_timeout",
                                "The backend stopped sending before the "
                                "answer was complete.");
    } else {
        (void) chaton_error_set(ctx->error, NGX_HTTP_BAD_GATEWAY, NULL,
                                "backend_truncated",
                                "The backend closed the stream before the "
                                "answer was complete.");
    }
}


/*
 * The stream's timer: after chaton_stream_wait without a backend status
 * the client gets its 200 (so that proxies in front do not give up), then
 * a comment line every chaton_heartbeat of silence.
 */

static void
ngx_http_chaton_chat_beat(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_chaton_chat_ctx_t  *ctx;
    ngx_http_chaton_loc_conf_t  *lcf;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    /* nothing to keep alive once the answer is all out */

    if (ctx->ended || ctx->call->finished || ctx->call->answered) {
        return;
    }

    if (!ctx->committed) {

        /* a known error status is answered as one, once the call ends */

        if (ctx->call->status) {
            return;
        }

        ctx->committed = 1;

        rc = ngx_http_chaton_send_stream_header(r);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            ngx_http_finalize_request(r, NGX_ERROR);
            ngx_http_run_posted_requests(c);
            return;
        }
    }

    /* the previous beat still waiting for the client: no need for more */

    if (ctx->beat_buf.pos == ctx->beat_buf.last) {
        ctx->beat_buf.pos = ngx_http_chaton_beat_text;
        ctx->beat_buf.last = ngx_http_chaton_beat_text
                             + sizeof(ngx_http_chaton_beat_text) - 1;
        ctx->beat_buf.memory = 1;
        ctx->beat_buf.flush = 1;

        ctx->beat_out.buf = &ctx->beat_buf;
        ctx->beat_out.next = NULL;

        if (ngx_http_chaton_call_output(ctx->call, &ctx->beat_out)
            == NGX_ERROR)
        {
            ngx_http_finalize_request(r, NGX_ERROR);
            ngx_http_run_posted_requests(c);
            return;
        }
    }

    if (lcf->heartbeat) {
        ngx_add_timer(&ctx->beat, lcf->heartbeat);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_chaton_chat_cleanup(void *data)
{
    ngx_http_chaton_chat_ctx_t  *ctx = data;

    if (ctx->beat.timer_set) {
        ngx_del_timer(&ctx->beat);
    }
}
