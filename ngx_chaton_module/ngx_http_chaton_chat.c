
/*
 * ngx_chaton: POST /v1/chat/completions.
 *
 *   handler           reads the client body (never blocking)
 *   ..._start         parses and translates it (core), starts the call
 *   ..._header        backend status known: a stream's 200 goes out now
 *   ..._body          backend bytes -> SSE parser -> chunks, in order
 *   ..._resume        the call has ended: finish the stream, or answer
 *                     the whole completion, or the error
 *
 * A stream's status line leaves only once the backend's status is known,
 * so a backend error is a proper HTTP error; except that a stream waiting
 * long for the backend (reasoning models think for minutes) is answered
 * 200 after chaton_stream_wait, with heartbeat comments, and a later error
 * then arrives as an SSE error event.
 */


#include "ngx_http_chaton_module.h"

#include "chaton_request.h"
#include "chaton_sse.h"
#include "chaton_chunk.h"


typedef struct {
    ngx_http_chaton_req_t        req;        /* first: log variables */
    ngx_http_request_t          *request;
    ngx_http_chaton_call_t      *call;

    chaton_alloc_t               alloc;
    chaton_chat_req_t            chat;
    chaton_sse_t                 sse;
    chaton_chat_t                t;

    ngx_event_t                  beat;       /* stream wait, heartbeat */
    ngx_buf_t                    beat_buf;
    ngx_chain_t                  beat_out;

    ngx_int_t                    result;     /* CHATON_OK while running */
    chaton_error_t              *error;

    u_char                       id[40];

    unsigned                     committed:1;
    unsigned                     ended:1;
} ngx_http_chaton_chat_ctx_t;


static void ngx_http_chaton_chat_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_chat_start(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_chat_call(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx);
static ngx_int_t ngx_http_chaton_chat_header(ngx_http_chaton_call_t *call);
static ngx_int_t ngx_http_chaton_chat_body(ngx_http_chaton_call_t *call,
    u_char *pos, size_t len, chaton_buf_t *out);
static int ngx_http_chaton_chat_event(void *data, const unsigned char *ev,
    size_t len);
static ngx_int_t ngx_http_chaton_chat_outcome(ngx_http_chaton_chat_ctx_t *ctx,
    int rc, chaton_buf_t *out);
static void ngx_http_chaton_chat_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_chat_end(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx);
static ngx_int_t ngx_http_chaton_chat_stream_end(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx, chaton_buf_t *out);
static ngx_int_t ngx_http_chaton_chat_whole(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx);
static void ngx_http_chaton_chat_truncated(ngx_http_chaton_chat_ctx_t *ctx);
static ngx_int_t ngx_http_chaton_chat_error_event(
    ngx_http_chaton_chat_ctx_t *ctx, chaton_buf_t *out);
static void ngx_http_chaton_chat_beat(ngx_event_t *ev);
static void ngx_http_chaton_chat_cleanup(void *data);


static ngx_str_t  ngx_http_chaton_chat_path = ngx_string("/chats/stream");
static ngx_str_t  ngx_http_chaton_json_type =
    ngx_string("application/json; charset=UTF-8");
static u_char     ngx_http_chaton_beat_text[] = ": keep-alive\n\n";


ngx_int_t
ngx_http_chaton_chat_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_chaton_method_not_allowed(r, "POST");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_chaton_chat_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_chaton_chat_body_read(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_chaton_chat_start(r);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * Returns NGX_DONE when the call is under way (the request is finalized
 * when it ends), or the rc of an answer already given.
 */

static ngx_int_t
ngx_http_chaton_chat_start(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    body;
    chaton_error_t               err;
    chaton_chat_conf_t           conf;
    ngx_pool_cleanup_t          *cln;
    ngx_http_chaton_chat_ctx_t  *ctx;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    if (ngx_http_chaton_read_body(r, &body) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_chaton_chat_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->request = r;
    ctx->req.start = ngx_current_msec;
    ngx_http_chaton_alloc_init(&ctx->alloc, r->pool);

    ngx_http_set_ctx(r, ctx, ngx_http_chaton_module);

    conf.models = lcf->models;
    conf.nmodels = lcf->nmodels;
    conf.max_tokens = lcf->max_tokens;
    conf.max_image = lcf->max_image_size;
    conf.max_images = lcf->max_images;

    rc = chaton_chat_parse(&ctx->chat, &ctx->alloc, &conf, body.data,
                           body.len, &err);

    if (rc == CHATON_ERROR) {
        return NGX_ERROR;
    }

    if (ctx->chat.model) {
        ctx->req.model.data = ctx->chat.model;
        ctx->req.model.len = ctx->chat.model_len;
    }

    if (rc != CHATON_OK) {
        return ngx_http_chaton_send_error(r, &err);
    }

    ctx->req.backend_model.data = (u_char *) ctx->chat.entry->backend;
    ctx->req.backend_model.len = ctx->chat.entry->backend_len;
    ctx->req.stream = ctx->chat.stream;

    /* images given inline must be uploaded first: not yet supported */

    if (ctx->chat.nimages && ctx->chat.images[0].data) {
        for (rc = 0; rc < (ngx_int_t) ctx->chat.nimages; rc++) {
            if (ctx->chat.images[rc].data) {
                return ngx_http_chaton_fail(r, NGX_HTTP_BAD_REQUEST,
                                            "unsupported_value",
                                            "data: image URLs are not "
                                            "supported yet; use http(s) "
                                            "image URLs.");
            }
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_chaton_chat_cleanup;
    cln->data = ctx;

    return ngx_http_chaton_chat_call(r, ctx);
}


static ngx_int_t
ngx_http_chaton_chat_call(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx)
{
    u_char                      *p;
    ngx_str_t                    body;
    chaton_buf_t                 b;
    ngx_http_chaton_call_t      *call;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (chaton_chat_body(&b, &ctx->chat) != CHATON_OK) {
        return NGX_ERROR;
    }

    body.data = b.data;
    body.len = b.len;

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

    call = ngx_http_chaton_call(r, "POST", &ngx_http_chaton_chat_path, &body,
                                &ngx_http_chaton_json_type, ctx);
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

    if (call->status != NGX_HTTP_OK) {
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

    ctx->t.out = out;

    rc = chaton_sse_feed(&ctx->sse, pos, len, ngx_http_chaton_chat_event,
                         ctx);

    if (ngx_http_chaton_chat_outcome(ctx, rc, out) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!ctx->req.token_seen && ctx->t.content_bytes) {
        ctx->req.token_seen = 1;
        ctx->req.first_token = ngx_current_msec - ctx->req.start;
    }

    /* output pushes the next heartbeat back */

    if (ctx->committed && out->len && ctx->beat.timer_set) {
        lcf = ngx_http_get_module_loc_conf(ctx->request,
                                           ngx_http_chaton_module);
        if (lcf->heartbeat) {
            ngx_add_timer(&ctx->beat, lcf->heartbeat);
        }
    }

    return NGX_OK;
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

        if (ctx->chat.stream) {
            ctx->t.out = out;
            return chaton_chat_finish(&ctx->t) == CHATON_OK ? NGX_OK
                                                              : NGX_ERROR;
        }

        return NGX_OK;

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


/* an error after the 200: logged, and one more event for the client */

static ngx_int_t
ngx_http_chaton_chat_error_event(ngx_http_chaton_chat_ctx_t *ctx,
    chaton_buf_t *out)
{
    chaton_error_t  *err;

    err = ctx->error;

    ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                  "chaton: %d %s in a stream after %uL events: %*s",
                  err->status, err->code ? err->code : "error",
                  ctx->t.events, err->text_len, err->text);

    return chaton_error_event(out, err) == CHATON_OK ? NGX_OK : NGX_ERROR;
}


/* the parent's write handler: runs when the call has ended (or spuriously) */

static void
ngx_http_chaton_chat_resume(ngx_http_request_t *r)
{
    ngx_http_chaton_chat_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (ctx == NULL || ctx->ended || !ctx->call->sr->done) {
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
    int                      rc;
    chaton_buf_t             out;
    ngx_http_chaton_call_t  *call;

    call = ctx->call;

    chaton_buf_init(&out, &ctx->alloc, 0);

    if (call->status == NGX_HTTP_OK && !call->not_sse) {

        /* an event that lacked only its blank line is still one */

        if (ctx->result == CHATON_OK && call->seen_last) {
            ctx->t.out = &out;
            rc = chaton_sse_finish(&ctx->sse, ngx_http_chaton_chat_event,
                                   ctx);

            if (ngx_http_chaton_chat_outcome(ctx, rc, &out) != NGX_OK) {
                return NGX_ERROR;
            }
        }

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
                                    "The backend answered with something "
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
        return ngx_http_chaton_chat_stream_end(r, ctx, &out);
    }

    if (ctx->error) {
        return ngx_http_chaton_send_error(r, ctx->error);
    }

    return ngx_http_chaton_chat_whole(r, ctx);
}


/* a stream whose head has gone: its last bytes, and the end */

static ngx_int_t
ngx_http_chaton_chat_stream_end(ngx_http_request_t *r,
    ngx_http_chaton_chat_ctx_t *ctx, chaton_buf_t *out)
{
    ngx_buf_t    *b;
    ngx_chain_t   cl;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = out->data;
    b->last = out->data + out->len;
    b->memory = out->len ? 1 : 0;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl.buf = b;
    cl.next = NULL;

    return ngx_http_output_filter(r, &cl);
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

    if (ctx->ended || ctx->call->finished) {
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
