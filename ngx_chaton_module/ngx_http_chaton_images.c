
/*
 * ngx_chaton: POST /v1/images/generations.
 *
 * Each image asked for is a slot that goes through its steps, all slots in
 * parallel (background subrequests):
 *
 *   draw     a /chats/stream call in image mode, the answer aggregated; its
 *            text carries the picture as ![...](https://spc.unk/<path>)
 *   look up  GET /storage/<path>: the picture's download URL
 *   fetch    for b64_json: the picture itself, from that URL (another host:
 *            through the chaton_fetch location, none of our headers)
 *
 * A failed step starts the slot over, within 2n attempts in all; a backend
 * that answers with text only (it refused) is not asked again.  If at least
 * one image came, the client gets those; otherwise the error.
 */


#include "ngx_http_chaton_module.h"

#include "chaton_chunk.h"
#include "chaton_images.h"
#include "chaton_spc.h"
#include "chaton_sse.h"
#include "chaton_storage.h"


#define NGX_HTTP_CHATON_DRAW     0
#define NGX_HTTP_CHATON_LOOK_UP  1
#define NGX_HTTP_CHATON_FETCH    2
#define NGX_HTTP_CHATON_READY    3
#define NGX_HTTP_CHATON_FAILED   4


typedef struct {
    ngx_http_chaton_call_t      *call;
    ngx_uint_t                   step;
    chaton_sse_t                 sse;
    chaton_chat_t                t;          /* the drawing's answer */
    chaton_collect_t             text;       /* its text, as it is */
    ngx_int_t                    result;
    chaton_buf_t                 url;
    ngx_str_t                    b64;
} ngx_http_chaton_slot_t;


typedef struct {
    ngx_http_chaton_req_t        req;        /* first: see the header */
    ngx_http_request_t          *request;
    chaton_alloc_t               alloc;
    chaton_images_req_t          images;
    ngx_str_t                    body;       /* the drawing request */

    ngx_http_chaton_slot_t      *slots;
    ngx_uint_t                   attempts;

    chaton_error_t               error;      /* the last failure */
    unsigned                     refused:1;  /* it was the backend's text */
    unsigned                     ended:1;
} ngx_http_chaton_images_ctx_t;


static ngx_int_t ngx_http_chaton_images_start(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_chaton_images_draw(ngx_http_chaton_images_ctx_t *ctx,
    ngx_http_chaton_slot_t *slot);
static ngx_int_t ngx_http_chaton_images_body(ngx_http_chaton_call_t *call,
    u_char *pos, size_t len, chaton_buf_t *out);
static int ngx_http_chaton_images_event(void *data, const unsigned char *ev,
    size_t len);
static void ngx_http_chaton_images_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_images_step(
    ngx_http_chaton_images_ctx_t *ctx, ngx_http_chaton_slot_t *slot);
static ngx_int_t ngx_http_chaton_images_drawn(
    ngx_http_chaton_images_ctx_t *ctx, ngx_http_chaton_slot_t *slot);
static ngx_int_t ngx_http_chaton_images_located(
    ngx_http_chaton_images_ctx_t *ctx, ngx_http_chaton_slot_t *slot);
static ngx_int_t ngx_http_chaton_images_fetched(
    ngx_http_chaton_images_ctx_t *ctx, ngx_http_chaton_slot_t *slot);
static ngx_int_t ngx_http_chaton_images_again(
    ngx_http_chaton_images_ctx_t *ctx, ngx_http_chaton_slot_t *slot);
static ngx_int_t ngx_http_chaton_images_answer(
    ngx_http_chaton_images_ctx_t *ctx);




ngx_int_t
ngx_http_chaton_images_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r,
                                        sizeof(ngx_http_chaton_images_ctx_t),
                                        NGX_HTTP_CHATON_STATE_OTHER,
                                        ngx_http_chaton_images_start);
}


static ngx_int_t
ngx_http_chaton_images_start(ngx_http_request_t *r, ngx_str_t *body)
{
    int                            rc;
    ngx_uint_t                     i;
    chaton_buf_t                   b;
    chaton_error_t                 err;
    ngx_http_chaton_images_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    ctx->request = r;
    ngx_http_chaton_alloc_init(&ctx->alloc, r->pool);

    rc = chaton_images_parse(&ctx->images, &ctx->alloc, body->data,
                             body->len, &err);

    if (rc == CHATON_ERROR) {
        return NGX_ERROR;
    }

    if (rc != CHATON_OK) {
        return ngx_http_chaton_send_error(r, &err);
    }

    if (ctx->images.model) {
        ctx->req.model.data = ctx->images.model;
        ctx->req.model.len = ctx->images.model_len;
    }

    ngx_str_set(&ctx->req.backend_model, "gpt-4o");

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (chaton_images_body(&b, &ctx->images) != CHATON_OK) {
        return NGX_ERROR;
    }

    ctx->body.data = b.data;
    ctx->body.len = b.len;

    ctx->slots = ngx_pcalloc(r->pool,
                             ctx->images.n * sizeof(ngx_http_chaton_slot_t));
    if (ctx->slots == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->images.n; i++) {
        if (ngx_http_chaton_images_draw(ctx, &ctx->slots[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    r->write_event_handler = ngx_http_chaton_images_resume;

    return NGX_DONE;
}


/* a drawing: the chat in image mode, its answer aggregated as plain text */

static ngx_int_t
ngx_http_chaton_images_draw(ngx_http_chaton_images_ctx_t *ctx,
    ngx_http_chaton_slot_t *slot)
{
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_chaton_module);

    ctx->attempts++;

    slot->step = NGX_HTTP_CHATON_DRAW;
    slot->result = CHATON_OK;

    chaton_sse_init(&slot->sse, &ctx->alloc, lcf->max_event_size);

    chaton_collect_init(&slot->text, &ctx->alloc, 64 * 1024);

    if (chaton_chat_init(&slot->t, &ctx->alloc, &slot->text.w, 64 * 1024)
        != CHATON_OK)
    {
        return NGX_ERROR;
    }

    slot->call = ngx_http_chaton_call_chat(ctx->request, &ctx->body, 1, NULL,
                                           slot);
    if (slot->call == NULL) {
        return NGX_ERROR;
    }

    slot->call->body = ngx_http_chaton_images_body;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_images_body(ngx_http_chaton_call_t *call, u_char *pos,
    size_t len, chaton_buf_t *out)
{
    int                      rc;
    ngx_http_chaton_slot_t  *slot;

    slot = call->data;

    if (slot->result != CHATON_OK) {
        return NGX_OK;
    }

    rc = chaton_sse_feed(&slot->sse, pos, len, ngx_http_chaton_images_event,
                         slot);

    if (rc == CHATON_ERROR) {
        return NGX_ERROR;
    }

    /* the placeholder is all that is wanted: the rest can be ignored */

    if (rc == CHATON_OK && slot->t.waiting) {
        rc = CHATON_DONE;
    }

    slot->result = rc;

    return NGX_OK;
}


static int
ngx_http_chaton_images_event(void *data, const unsigned char *ev, size_t len)
{
    ngx_http_chaton_slot_t  *slot = data;

    return chaton_chat_event(&slot->t, ev, len);
}


/* the parent's handler: a call has ended (or a spurious run) */

static void
ngx_http_chaton_images_resume(ngx_http_request_t *r)
{
    ngx_uint_t                     i, busy;
    ngx_http_chaton_slot_t        *slot;
    ngx_http_chaton_images_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (ctx == NULL || ctx->ended) {
        return;
    }

    busy = 0;

    for (i = 0; i < ctx->images.n; i++) {
        slot = &ctx->slots[i];

        if (slot->step < NGX_HTTP_CHATON_READY && slot->call->ended) {
            if (ngx_http_chaton_images_step(ctx, slot) != NGX_OK) {
                ctx->ended = 1;
                ngx_http_finalize_request(r, NGX_ERROR);
                return;
            }
        }

        busy += (slot->step < NGX_HTTP_CHATON_READY);
    }

    if (busy) {
        return;
    }

    ctx->ended = 1;

    ngx_http_finalize_request(r, ngx_http_chaton_images_answer(ctx));
}


static ngx_int_t
ngx_http_chaton_images_step(ngx_http_chaton_images_ctx_t *ctx,
    ngx_http_chaton_slot_t *slot)
{
    ngx_http_chaton_call_t  *call, *again;

    call = slot->call;

    /* refused for the credential set or the rate: the next set */

    again = ngx_http_chaton_call_again(call);

    if (again) {
        slot->call = again;
        return NGX_OK;
    }

    if (slot->step != NGX_HTTP_CHATON_FETCH) {
        ctx->req.backend_status = call->status;
    }

    if (call->status != NGX_HTTP_OK) {
        if (slot->step == NGX_HTTP_CHATON_FETCH) {
            (void) chaton_error_set(&ctx->error, NGX_HTTP_BAD_GATEWAY, NULL,
                                    "download_failed",
                                    "The image could not be downloaded "
                                    "from the storage host (HTTP %d).",
                                    (int) call->status);
        } else {
            ngx_http_chaton_backend_error(call, &ctx->error);
        }

        ctx->refused = 0;
        return ngx_http_chaton_images_again(ctx, slot);
    }

    switch (slot->step) {

    case NGX_HTTP_CHATON_DRAW:
        return ngx_http_chaton_images_drawn(ctx, slot);

    case NGX_HTTP_CHATON_LOOK_UP:
        return ngx_http_chaton_images_located(ctx, slot);

    default: /* NGX_HTTP_CHATON_FETCH */
        return ngx_http_chaton_images_fetched(ctx, slot);
    }
}


static ngx_int_t
ngx_http_chaton_images_drawn(ngx_http_chaton_images_ctx_t *ctx,
    ngx_http_chaton_slot_t *slot)
{
    chaton_buf_t    *path;
    chaton_error_t  *err;

    ctx->req.events += slot->t.events;

    if (slot->t.waiting
        && !chaton_spc_path_ok(slot->t.pics->image_path.data,
                               slot->t.pics->image_path.len))
    {
        (void) chaton_error_set(&ctx->error, NGX_HTTP_BAD_GATEWAY, NULL,
                                "backend_error",
                                "The backend's picture has no valid "
                                "address.");
        ctx->refused = 0;
        return ngx_http_chaton_images_again(ctx, slot);
    }

    if (slot->t.waiting) {

        /* the picture: where is it? */

        slot->step = NGX_HTTP_CHATON_LOOK_UP;
        path = &slot->t.pics->image_path;
        slot->call = ngx_http_chaton_call_storage(ctx->request, path->data,
                                                  path->len, slot);

        return slot->call ? NGX_OK : NGX_ERROR;
    }

    if (slot->result == CHATON_DONE) {

        /* a whole answer, and no picture in it: the backend refused */

        if (chaton_chat_flush(&slot->t, NULL) != CHATON_OK) {
            return NGX_ERROR;
        }

        ctx->refused = 1;

        chaton_error_text(&ctx->error, NGX_HTTP_BAD_REQUEST,
                          "image_generation_refused",
                          slot->text.content.len ? slot->text.content.data
                              : (u_char *) "The backend made no image.",
                          slot->text.content.len ? slot->text.content.len
                              : sizeof("The backend made no image.") - 1);

        slot->step = NGX_HTTP_CHATON_FAILED;

        ngx_http_chaton_log(NGX_LOG_INFO, ctx->request,
                      "the backend made no image: %*s",
                      ngx_min(ctx->error.text_len, 200), ctx->error.text);

        return NGX_OK;
    }

    if (slot->result == CHATON_BAD) {
        err = chaton_chat_error(&slot->t);
        if (err == NULL) {
            return NGX_ERROR;
        }

        ctx->error = *err;
        ctx->error.param = NULL;

    } else {
        (void) chaton_error_set(&ctx->error, NGX_HTTP_BAD_GATEWAY, NULL,
                                "backend_truncated",
                                "The backend closed the stream before the "
                                "image was made.");
    }

    ctx->refused = 0;

    return ngx_http_chaton_images_again(ctx, slot);
}


static ngx_int_t
ngx_http_chaton_images_located(ngx_http_chaton_images_ctx_t *ctx,
    ngx_http_chaton_slot_t *slot)
{
    ngx_http_chaton_call_t       *call;
    ngx_http_chaton_loc_conf_t   *lcf;
    ngx_http_chaton_call_args_t   args;

    call = slot->call;

    chaton_buf_init(&slot->url, &ctx->alloc, 0);

    if (chaton_get_url(&slot->url, call->answer.data, call->answer.len)
        != CHATON_OK)
    {
        (void) chaton_error_set(&ctx->error, NGX_HTTP_BAD_GATEWAY, NULL,
                                "backend_error",
                                "The backend's storage answered without a "
                                "URL for the image.");
        ctx->refused = 0;
        return ngx_http_chaton_images_again(ctx, slot);
    }

    if (!ctx->images.b64) {
        slot->step = NGX_HTTP_CHATON_READY;
        return NGX_OK;
    }

    /* the picture itself, from the storage host */

    lcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_chaton_module);

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.method = "GET";
    args.path.data = slot->url.data;
    args.path.len = slot->url.len;
    args.capture = lcf->max_image_size;
    args.background = 1;
    args.kind = NGX_HTTP_CHATON_CALL_FETCH;

    slot->step = NGX_HTTP_CHATON_FETCH;
    slot->call = ngx_http_chaton_call(ctx->request, &args, slot);

    return slot->call ? NGX_OK : NGX_ERROR;
}


/*
 * The picture's bytes, base64: the bytes are freed once encoded, so at
 * most the picture and its encoding are held, never more.
 */

static ngx_int_t
ngx_http_chaton_images_fetched(ngx_http_chaton_images_ctx_t *ctx,
    ngx_http_chaton_slot_t *slot)
{
    chaton_buf_t             b64;
    ngx_http_chaton_call_t  *call;

    call = slot->call;

    if (call->overflow || !call->whole || call->answer.len == 0) {
        (void) chaton_error_set(&ctx->error, NGX_HTTP_BAD_GATEWAY, NULL,
                                "download_failed",
                                call->overflow
                                ? "The image is larger than "
                                  "chaton_max_image_size."
                                : "The image could not be downloaded.");
        ctx->refused = 0;
        return ngx_http_chaton_images_again(ctx, slot);
    }

    chaton_buf_init(&b64, &ctx->alloc, 0);

    if (chaton_base64_encode(&b64, call->answer.data, call->answer.len)
        != CHATON_OK)
    {
        return NGX_ERROR;
    }

    (void) ngx_pfree(call->alloc.pool, call->answer.data);
    call->answer.data = NULL;
    call->answer.len = 0;

    slot->b64.data = b64.data;
    slot->b64.len = b64.len;
    slot->step = NGX_HTTP_CHATON_READY;

    return NGX_OK;
}


/* a failed step: the slot starts over, while attempts remain */

static ngx_int_t
ngx_http_chaton_images_again(ngx_http_chaton_images_ctx_t *ctx,
    ngx_http_chaton_slot_t *slot)
{
    ngx_http_chaton_log(NGX_LOG_WARN, ctx->request,
                  "an image attempt failed (%d %s), %ui of %ui "
                  "attempts made", ctx->error.status,
                  ctx->error.code ? ctx->error.code : "error",
                  ctx->attempts, 2 * ctx->images.n);

    if (ctx->attempts >= 2 * ctx->images.n) {
        slot->step = NGX_HTTP_CHATON_FAILED;
        return NGX_OK;
    }

    return ngx_http_chaton_images_draw(ctx, slot);
}


/*
 * {"created": ..., "data": [{"url": ...} | {"b64_json": ...}]}, the images
 * that came, in slot order.  A b64_json image goes out from its own
 * buffer: the answer is a chain, nothing is copied.
 */

static ngx_int_t
ngx_http_chaton_images_answer(ngx_http_chaton_images_ctx_t *ctx)
{
    ngx_uint_t               i, n;
    ngx_chain_t             *out, **ll;
    chaton_buf_t             b;
    ngx_http_request_t      *r;
    ngx_http_chaton_slot_t  *slot;

    r = ctx->request;

    chaton_buf_init(&b, &ctx->alloc, 0);

    out = NULL;
    ll = &out;
    n = 0;

    if (chaton_images_answer_head(&b, (uint64_t) ngx_time()) != CHATON_OK
        || ngx_http_chaton_chain_add(r, &ll, b.data, b.len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->images.n; i++) {
        slot = &ctx->slots[i];

        if (slot->step != NGX_HTTP_CHATON_READY) {
            continue;
        }

        chaton_buf_init(&b, &ctx->alloc, 0);

        if (ctx->images.b64) {
            if (chaton_images_answer_b64_open(&b, n) != CHATON_OK
                || ngx_http_chaton_chain_add(r, &ll, b.data, b.len) != NGX_OK
                || ngx_http_chaton_chain_add(r, &ll, slot->b64.data,
                                             slot->b64.len)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }

            chaton_buf_init(&b, &ctx->alloc, 0);

            if (chaton_images_answer_b64_close(&b) != CHATON_OK
                || ngx_http_chaton_chain_add(r, &ll, b.data, b.len) != NGX_OK)
            {
                return NGX_ERROR;
            }

        } else if (chaton_images_answer_url(&b, n, slot->url.data,
                                            slot->url.len)
                   != CHATON_OK
                   || ngx_http_chaton_chain_add(r, &ll, b.data, b.len)
                      != NGX_OK)
        {
            return NGX_ERROR;
        }

        n++;
    }

    if (n == 0) {
        return ngx_http_chaton_send_error(r, &ctx->error);
    }

    if (n < ctx->images.n) {
        ngx_http_chaton_log(NGX_LOG_WARN, r,
                      "%ui of %ui images made", n, ctx->images.n);
    }

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (chaton_images_answer_end(&b) != CHATON_OK
        || ngx_http_chaton_chain_add(r, &ll, b.data, b.len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_chain(r, NGX_HTTP_OK, out);
}
