
/*
 * ngx_chaton: the conversation runner, what every API dialect's route
 * shares once its parser has made the neutral conversation:
 *
 *   ..._conversation  starts the pre-steps (ngx_http_chaton_prepare.c)
 *   ..._call          all pre-steps done: the signed chat call
 *   ..._header        backend status known: a stream's 200 goes out now
 *   ..._body          backend bytes -> SSE parser -> the answer, in order
 *   ..._resume        the parent's handler: pre-steps done, a picture
 *                     resolved, or the chat call ended
 *
 * Its step (ngx_http_chaton_step_e) says where it is.  A stream's status
 * line leaves only once the backend's status is known, so a backend error
 * is a proper HTTP error; except that a stream waiting long for the
 * backend (reasoning models think for minutes) is answered 200 after
 * chaton_stream_wait, with heartbeats, and a later error then
 * arrives as an error event of the stream.
 */


#include "ngx_http_chaton_conversation.h"


static ngx_int_t ngx_http_chaton_conversation_header(
    ngx_http_chaton_call_t *call);
static ngx_int_t ngx_http_chaton_conversation_body(
    ngx_http_chaton_call_t *call, u_char *pos, size_t len, chaton_buf_t *out);
static ngx_int_t ngx_http_chaton_conversation_outcome(
    ngx_http_chaton_conv_t *ctx, int rc, chaton_buf_t *out);
static ngx_int_t ngx_http_chaton_conversation_end(ngx_http_request_t *r,
    ngx_http_chaton_conv_t *ctx, ngx_http_chaton_step_e step);
static ngx_int_t ngx_http_chaton_conversation_whole(ngx_http_request_t *r,
    ngx_http_chaton_conv_t *ctx);
static ngx_int_t ngx_http_chaton_conversation_truncated(
    ngx_http_chaton_conv_t *ctx);
static ngx_int_t ngx_http_chaton_conversation_setup(
    ngx_http_chaton_conv_t *ctx);
static void ngx_http_chaton_conversation_setup_free(
    ngx_http_chaton_conv_t *ctx);
static void ngx_http_chaton_conversation_sse(ngx_http_chaton_conv_t *ctx,
    size_t max_event);
static void ngx_http_chaton_conversation_beat(ngx_event_t *ev);
static void ngx_http_chaton_conversation_usage(ngx_http_chaton_conv_t *ctx);
static ngx_int_t ngx_http_chaton_conversation_start(
    ngx_http_chaton_conv_t *ctx);
static ngx_http_chaton_beat_t *ngx_http_chaton_conversation_beat_make(
    ngx_http_chaton_conv_t *ctx);
static void ngx_http_chaton_conversation_sent(ngx_http_chaton_conv_t *ctx,
    ngx_http_chaton_call_t *call);
static void ngx_http_chaton_conversation_cleanup(void *data);


/*
 * A dialect's route has read the client's body: its parser makes the
 * conversation, and the runner takes it from there.  Returns NGX_DONE when
 * calls are under way (the request is finalized when they end), or the rc
 * of an answer already given.  The route's context must have been
 * allocated as an ngx_http_chaton_conv_t.
 */

ngx_int_t
ngx_http_chaton_conversation(ngx_http_request_t *r, ngx_str_t *body,
    const ngx_http_chaton_dialect_t *dialect)
{
    int                          rc;
    chaton_error_t               err;
    chaton_chat_conf_t           conf;
    ngx_pool_cleanup_t          *cln;
    ngx_http_chaton_conv_t      *ctx;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    ngx_http_chaton_pool_debug(r, "client body read");

    ctx->request = r;
    ctx->dialect = dialect;
    ctx->step = NGX_HTTP_CHATON_PREPARING;
    ngx_http_chaton_alloc_init(&ctx->alloc, ctx->req.pool);

    cln = ngx_pool_cleanup_add(ctx->req.pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_chaton_conversation_cleanup;
    cln->data = ctx;

    if (ngx_http_chaton_conversation_setup(ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_chaton_conversation_conf(r, &conf);
    conf.scratch = ctx->setup;

    if (dialect->conf && dialect->conf(ctx, &conf) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = dialect->parse(&ctx->chat, &ctx->alloc, &conf, body->data,
                        body->len, &err);

    if (rc == CHATON_ERROR) {
        return NGX_ERROR;
    }

    ngx_http_chaton_conversation_model(ctx);

    if (rc != CHATON_OK) {
        if (lcf->passthrough.len && err.code
            && ngx_strcmp(err.code, "model_not_found") == 0)
        {
            ngx_http_chaton_conversation_setup_free(ctx);

            return ngx_http_chaton_pass(r, "POST", &dialect->route, body);
        }

        return ngx_http_chaton_send_error(r, &err);
    }

    /* the parsed conversation is all it needs of the body */

    ngx_http_chaton_body_release(r, body);

    ctx->req.backend_model.data = (u_char *) ctx->chat.entry->backend;
    ctx->req.backend_model.len = ctx->chat.entry->backend_len;
    ctx->req.stream = ctx->chat.stream;

    rc = ngx_http_chaton_prepare(ctx);

    if (rc == NGX_OK) {
        return ngx_http_chaton_conversation_call(ctx);
    }

    if (rc == NGX_DONE) {
        r->write_event_handler = ngx_http_chaton_conversation_resume;
    }

    return rc;
}


/*
 * The messages, the pre-steps' state, the ChatOn body and what the call's
 * sending needs are of no use once the answer has begun: a pool of their
 * own, which goes then (ngx_http_chaton_conversation_sent()), so that a
 * stream holds no more than it needs for its life, however long the
 * conversation it was sent.  A retry sends them again.  Its size is a
 * request pool's: most bodies fit, and once freed its memory fits the next
 * block of any request's pool (no hole of another size is left between
 * them when many streams begin at once).  Its allocator is in it.
 */

static ngx_int_t
ngx_http_chaton_conversation_setup(ngx_http_chaton_conv_t *ctx)
{
    ngx_pool_t                *pool;
    ngx_http_request_t        *r;
    ngx_http_core_srv_conf_t  *cscf;

    r = ctx->request;
    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    pool = ngx_create_pool(cscf->request_pool_size, r->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ctx->setup = ngx_palloc(pool, sizeof(chaton_alloc_t));
    if (ctx->setup == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ngx_http_chaton_alloc_init(ctx->setup, pool);

    return NGX_OK;
}


static void
ngx_http_chaton_conversation_setup_free(ngx_http_chaton_conv_t *ctx)
{
    if (ctx->setup) {
        ngx_destroy_pool(ctx->setup->pool);
        ctx->setup = NULL;
    }
}


/* what a dialect's parser is told of the location */

void
ngx_http_chaton_conversation_conf(ngx_http_request_t *r,
    chaton_chat_conf_t *conf)
{
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    /* conf->nonce stays NULL: the parser draws one for the request */

    ngx_memzero(conf, sizeof(chaton_chat_conf_t));

    conf->models = lcf->models;
    conf->nmodels = lcf->nmodels;
    conf->fallback = lcf->fallback;
    conf->max_tokens = lcf->max_tokens;
    conf->max_image = lcf->max_image_size;
    conf->max_images = lcf->max_images;
    conf->web_search = lcf->web_search;
    conf->image_gen = lcf->image_gen;
    conf->code_interpreter = lcf->code_interpreter;
}


/* the model as the client asked, for the log, once a parser read it */

void
ngx_http_chaton_conversation_model(ngx_http_chaton_conv_t *ctx)
{
    if (ctx->chat.model) {
        ctx->req.model.data = ctx->chat.model;
        ctx->req.model.len = ctx->chat.model_len;
    }
}


/*
 * An answer's id: the dialect's prefix, then 24 random hex digits; in the
 * caller's room when given (NGX_HTTP_CHATON_ID_ROOM), else in the state.
 */

ngx_int_t
ngx_http_chaton_conversation_id(ngx_http_chaton_conv_t *ctx,
    const char *prefix, ngx_str_t *id, u_char *room)
{
    size_t              n, i;
    u_char             *p;
    ngx_int_t           k;
    uint32_t            r;
    static const char   hex[] = "0123456789abcdef";

    n = ngx_strlen(prefix);

    id->data = room ? room : ngx_pnalloc(ctx->req.pool, n + 24);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(id->data, prefix, n);

    /* three random words, 8 hex digits each (ngx_sprintf() cost 770) */

    for (i = 0; i < 3; i++) {
        r = (uint32_t) ngx_random();

        for (k = 28; k >= 0; k -= 4) {
            *p++ = hex[(r >> k) & 0xf];
        }
    }

    id->len = p - id->data;

    return NGX_OK;
}


/* all pre-steps done: the chat call */

ngx_int_t
ngx_http_chaton_conversation_call(ngx_http_chaton_conv_t *ctx)
{
    ngx_str_t                    body;
    chaton_buf_t                 b;
    chaton_writer_t             *writer;
    const chaton_bpe_t          *tokenizer;
    ngx_http_request_t          *r;
    ngx_http_chaton_call_t      *call;
    ngx_http_chaton_loc_conf_t  *lcf;

    r = ctx->request;
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    /* the body goes with the messages, in the setup's pool */

    chaton_buf_init(&b, ctx->setup, 0);

    if (chaton_chat_body(&b, &ctx->chat) != CHATON_OK) {
        return NGX_ERROR;
    }

    writer = ctx->dialect->writer(ctx);
    if (writer == NULL) {
        return NGX_ERROR;
    }

    if (chaton_chat_init(&ctx->t, &ctx->alloc, writer, lcf->max_answer_size)
        != CHATON_OK)
    {
        return NGX_ERROR;
    }

    /* counted only where the usage is reported or metrics count it */

    tokenizer = (ctx->chat.unreported && !ngx_http_chaton_metrics_on(r))
                ? NULL : lcf->tokenizer;

    ctx->t.prompt_tokens = chaton_chat_prompt_tokens(&ctx->chat, tokenizer);

    if (tokenizer && chaton_chat_count(&ctx->t, tokenizer) != CHATON_OK) {
        return NGX_ERROR;
    }

    if (ctx->chat.extract
        && chaton_chat_tools(&ctx->t, &ctx->chat.tools, lcf->max_answer_size)
           != CHATON_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_chaton_conversation_sse(ctx, lcf->max_event_size);
    chaton_buf_init(&ctx->tail, &ctx->alloc, 0);

    body.data = b.data;
    body.len = b.len;

    call = ngx_http_chaton_call_chat(r, &body, 0, ctx->setup->pool, ctx);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->header = ngx_http_chaton_conversation_header;
    call->body = ngx_http_chaton_conversation_body;

    ctx->call = call;
    ctx->step = NGX_HTTP_CHATON_CALLING;

    ngx_http_chaton_pool_debug(r, "chat call made");

    r->write_event_handler = ngx_http_chaton_conversation_resume;

    if (ctx->chat.stream && (lcf->stream_wait || lcf->heartbeat)) {
        ctx->beat.handler = ngx_http_chaton_conversation_beat;
        ctx->beat.data = ctx;
        ctx->beat.log = r->connection->log;
        ctx->beat.cancelable = 1;

        ngx_add_timer(&ctx->beat, lcf->stream_wait ? lcf->stream_wait
                                                    : lcf->heartbeat);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_chaton_conversation_header(ngx_http_chaton_call_t *call)
{
    ngx_http_chaton_conv_t  *ctx;

    ctx = call->data;
    ctx->req.backend_status = call->status;

    ngx_http_chaton_pool_debug(ctx->request, "backend header");

    if (call->status == NGX_HTTP_OK) {
        ngx_http_chaton_conversation_sent(ctx, call);
    }

    if (call->status != NGX_HTTP_OK || call->unusable) {
        return NGX_OK;
    }

    if (!ngx_http_chaton_is_event_stream(&call->sr->headers_out.content_type))
    {
        call->unusable = 1;
        return NGX_OK;
    }

    if (!ctx->chat.stream || ctx->stream_started) {
        return NGX_OK;
    }

    ctx->stream_started = 1;

    return ngx_http_chaton_send_stream_header(ctx->request);
}


static ngx_int_t
ngx_http_chaton_conversation_body(ngx_http_chaton_call_t *call, u_char *pos,
    size_t len, chaton_buf_t *out)
{
    int                          rc;
    ngx_http_chaton_conv_t      *ctx;

    ctx = call->data;

    if (ctx->step != NGX_HTTP_CHATON_CALLING) {
        return NGX_OK;      /* the answer is over; the rest is ignored */
    }

    /*
     * A stream's output is sized by the filter when a read first writes
     * to it: an allocation of its own that the filter gives back once the
     * client has it (ngx_http_chaton_filter.c).
     */

    if (ctx->chat.stream
        && ngx_http_chaton_call_room(call, out, len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = chaton_chat_feed(&ctx->t, &ctx->sse, pos, len, out);

    ngx_http_chaton_pool_debug(ctx->request, "backend read");

    if (ngx_http_chaton_conversation_outcome(ctx, rc, out) != NGX_OK) {
        return NGX_ERROR;
    }

    call->satisfied = (ctx->step != NGX_HTTP_CHATON_CALLING
                       && !ctx->t.waiting);

    if (!ctx->req.token_seen && ctx->t.content_bytes) {
        ctx->req.token_seen = 1;
        ctx->req.first_token = ngx_current_msec - ctx->req.started;
    }

    /*
     * Output pushes the next heartbeat back.  The timer is not moved here
     * (a delete and an insert in the worker's timer tree, for every
     * stream): the beat, when it fires, sees the output's time and waits
     * the rest of the silence first.
     */

    if (ctx->stream_started && out->len) {
        ctx->output_at = ngx_current_msec;
    }

    return ngx_http_chaton_pictures_look_up(ctx, out);
}


/*
 * What a feed (or the end of the input) came to.  In a stream, the end and
 * errors are written out at once, after the chunks before them.
 */

static ngx_int_t
ngx_http_chaton_conversation_outcome(ngx_http_chaton_conv_t *ctx, int rc,
    chaton_buf_t *out)
{
    ctx->req.events = ctx->t.events;
    ctx->req.chunks = ctx->t.writer->chunks;
    ctx->req.content_bytes = ctx->t.content_bytes;

    switch (rc) {

    case CHATON_OK:
        return NGX_OK;

    case CHATON_DONE:
        ctx->step = NGX_HTTP_CHATON_ANSWERED;
        return ngx_http_chaton_conversation_complete(ctx, out);

    case CHATON_BAD:
        break;

    default:
        return NGX_ERROR;
    }

    ctx->step = NGX_HTTP_CHATON_FAILED;

    ctx->error = chaton_chat_error(&ctx->t);
    if (ctx->error == NULL) {
        return NGX_ERROR;
    }

    return ctx->stream_started
           ? ngx_http_chaton_conversation_error_event(ctx, out) : NGX_OK;
}


/*
 * The backend has said [DONE]: text held back as a possible placeholder is
 * released, and a stream gets its last chunks, unless a picture is still
 * being resolved (this runs again once it is).
 */

ngx_int_t
ngx_http_chaton_conversation_complete(ngx_http_chaton_conv_t *ctx,
    chaton_buf_t *out)
{
    if (ctx->t.waiting) {
        return NGX_OK;
    }

    if (chaton_chat_flush(&ctx->t, out) != CHATON_OK) {
        return NGX_ERROR;
    }

    if (ctx->t.waiting || !ctx->chat.stream) {
        return NGX_OK;
    }

    if (chaton_chat_end(&ctx->t, out) != CHATON_OK) {
        return NGX_ERROR;
    }

    ngx_http_chaton_conversation_usage(ctx);

    ctx->req.chunks = ctx->t.writer->chunks;

    return ctx->dialect->done ? ctx->dialect->done(ctx) : NGX_OK;
}


/* an error after the 200: logged, and one more event for the client */

ngx_int_t
ngx_http_chaton_conversation_error_event(ngx_http_chaton_conv_t *ctx,
    chaton_buf_t *out)
{
    chaton_error_t  *err;

    err = ctx->error;

    ngx_http_chaton_log(NGX_LOG_ERR, ctx->request,
                  "%d %s in a stream after %uL events: %*s",
                  err->status, err->code ? err->code : "error",
                  ctx->t.events, err->text_len, err->text);

    return chaton_chat_error_event(&ctx->t, out, err) == CHATON_OK
           ? NGX_OK : NGX_ERROR;
}


/*
 * Stream bytes of the module's own while the chat call is the active
 * subrequest: through it, so that the postpone filter keeps them in order
 * with its output.
 */

ngx_int_t
ngx_http_chaton_conversation_send(ngx_http_chaton_conv_t *ctx,
    chaton_buf_t *out)
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

void
ngx_http_chaton_conversation_resume(ngx_http_request_t *r)
{
    int                          rc;
    ngx_int_t                    done;
    ngx_http_chaton_call_t      *again;
    ngx_http_chaton_conv_t      *ctx;
    ngx_http_chaton_step_e       step;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (ctx == NULL || ctx->step == NGX_HTTP_CHATON_ENDED) {
        return;
    }

    if (ctx->step == NGX_HTTP_CHATON_PREPARING) {
        if (ngx_http_chaton_prepare_pending(ctx) == NGX_AGAIN) {
            return;
        }

        done = ngx_http_chaton_prepared(ctx);

        if (done != NGX_DONE) {
            ctx->step = NGX_HTTP_CHATON_ENDED;
            ngx_http_finalize_request(r, done);
        }

        return;
    }

    if (ctx->picture && ctx->picture->ended) {
        again = ngx_http_chaton_call_again(ctx->picture);

        if (again) {
            ctx->picture = again;

        } else if (ngx_http_chaton_pictures_resolve(ctx) != NGX_OK) {
            ctx->step = NGX_HTTP_CHATON_ENDED;
            ngx_http_finalize_request(r, NGX_ERROR);
            return;
        }
    }

    if (!ngx_http_chaton_call_over(ctx->call)) {
        return;
    }

    /* refused for the credential set or the rate: the next set */

    again = ngx_http_chaton_call_again(ctx->call);

    if (again) {
        ctx->call = again;
        ctx->step = NGX_HTTP_CHATON_CALLING;
        ngx_http_chaton_conversation_sse(ctx, ctx->sse.max);
        return;
    }

    /* an event that lacked only its blank line is still one */

    if (ctx->step == NGX_HTTP_CHATON_CALLING && ctx->call->whole
        && ctx->call->status == NGX_HTTP_OK && !ctx->call->unusable)
    {
        rc = chaton_chat_feed_end(&ctx->t, &ctx->sse, &ctx->tail);

        if (ngx_http_chaton_conversation_outcome(ctx, rc, &ctx->tail)
            != NGX_OK
            || ngx_http_chaton_pictures_look_up(ctx, &ctx->tail) != NGX_OK)
        {
            ctx->step = NGX_HTTP_CHATON_ENDED;
            ngx_http_finalize_request(r, NGX_ERROR);
            return;
        }
    }

    /* a finished answer still waiting for a picture waits */

    if (ctx->step == NGX_HTTP_CHATON_ANSWERED && ctx->t.waiting) {
        return;
    }

    step = ctx->step;
    ctx->step = NGX_HTTP_CHATON_ENDED;

    if (ctx->beat.timer_set) {
        ngx_del_timer(&ctx->beat);
    }

    ngx_http_finalize_request(r,
                              ngx_http_chaton_conversation_end(r, ctx, step));
}


/* "step" is what the answer came to before the end */

static ngx_int_t
ngx_http_chaton_conversation_end(ngx_http_request_t *r,
    ngx_http_chaton_conv_t *ctx, ngx_http_chaton_step_e step)
{
    chaton_buf_t             out;
    ngx_http_chaton_call_t  *call;

    call = ctx->call;

    /* what came after the chat call's end: resolved pictures, the end */

    out = ctx->tail;

    if (call->status == NGX_HTTP_OK && !call->unusable) {

        if (step == NGX_HTTP_CHATON_CALLING) {
            if (ngx_http_chaton_conversation_truncated(ctx) != NGX_OK) {
                return NGX_ERROR;
            }

            if (ctx->stream_started
                && ngx_http_chaton_conversation_error_event(ctx, &out)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

    } else {
        ctx->error = chaton_chat_error(&ctx->t);
        if (ctx->error == NULL) {
            return NGX_ERROR;
        }

        if (call->unusable) {
            (void) chaton_error_answer(ctx->error, call->encoded
                                                   ? CHATON_ANSWER_ENCODED
                                                   : CHATON_ANSWER_NOT_SSE);

        } else {
            ngx_http_chaton_backend_error(call, ctx->error);
        }

        if (ctx->stream_started
            && ngx_http_chaton_conversation_error_event(ctx, &out) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ctx->stream_started) {
        return ngx_http_chaton_send_last(r, out.data, out.len);
    }

    if (ctx->error) {
        return ngx_http_chaton_send_error(r, ctx->error);
    }

    return ngx_http_chaton_conversation_whole(r, ctx);
}


static ngx_int_t
ngx_http_chaton_conversation_whole(ngx_http_request_t *r,
    ngx_http_chaton_conv_t *ctx)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (chaton_chat_end(&ctx->t, &b) != CHATON_OK
        || (ctx->dialect->done && ctx->dialect->done(ctx) != NGX_OK))
    {
        return NGX_ERROR;
    }

    ngx_http_chaton_conversation_usage(ctx);

    return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
}


/* the answer's end: what the usage gave, for the metrics */

static void
ngx_http_chaton_conversation_usage(ngx_http_chaton_conv_t *ctx)
{
    ctx->req.prompt_tokens = ctx->t.prompt_tokens;
    ctx->req.completion_tokens = ctx->t.completion_tokens;

    if (ctx->t.extract) {
        ctx->req.tool_calls = ctx->t.extract->ncalls;
        ctx->req.tool_call_failures = ctx->t.extract->failures;
    }
}


/*
 * The backend ended without [DONE]: the connection broke, or it went
 * silent past proxy_read_timeout (nginx reports both to the subrequest
 * alike, so the silence is measured here).  Never passed off as complete.
 */

static ngx_int_t
ngx_http_chaton_conversation_truncated(ngx_http_chaton_conv_t *ctx)
{
    ngx_http_upstream_t     *u;
    ngx_http_chaton_call_t  *call;

    call = ctx->call;
    u = call->sr->upstream;

    ctx->error = chaton_chat_error(&ctx->t);
    if (ctx->error == NULL) {
        return NGX_ERROR;
    }

    /*
     * nginx moves a timer only when it changes by more than
     * NGX_TIMER_LAZY_DELAY, so the upstream's read timeout may fire that
     * much before read_timeout has passed since the last read
     */

    if (u && u->conf
        && ngx_current_msec - call->last_read + NGX_TIMER_LAZY_DELAY
           >= u->conf->read_timeout)
    {
        (void) chaton_error_answer(ctx->error, CHATON_ANSWER_SILENT);

    } else {
        (void) chaton_error_answer(ctx->error, CHATON_ANSWER_CUT);
    }

    return NGX_OK;
}


/*
 * The stream's timer: after chaton_stream_wait without a backend status
 * the client gets its 200 (so that proxies in front do not give up), then
 * the dialect's heartbeat (a comment line, Anthropic's "ping") every
 * chaton_heartbeat of silence.
 */

static void
ngx_http_chaton_conversation_beat(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_msec_t                   silence;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_chaton_beat_t      *b;
    ngx_http_chaton_conv_t      *ctx;
    ngx_http_chaton_loc_conf_t  *lcf;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    /* nothing to keep alive once the answer is all out */

    if (ctx->step == NGX_HTTP_CHATON_ENDED || ctx->call->ended
        || ctx->call->satisfied)
    {
        return;
    }

    /*
     * Output does not move the timer: once the stream has had some, the
     * silence counts from the last, and the beat waits for the rest of it
     * (off: output began the stream, no beat is due).
     */

    if (ctx->output_at) {
        silence = ngx_current_msec - ctx->output_at;

        if (lcf->heartbeat == 0) {
            return;
        }

        if (silence < lcf->heartbeat) {
            ngx_add_timer(&ctx->beat, lcf->heartbeat - silence);
            return;
        }
    }

    if (!ctx->stream_started) {

        /* a known error status is answered as one, once the call ends */

        if (ctx->call->status) {
            return;
        }

        ctx->stream_started = 1;

        rc = ngx_http_chaton_send_stream_header(r);

        if (rc == NGX_ERROR || rc > NGX_OK
            || ngx_http_chaton_conversation_start(ctx) != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_ERROR);
            ngx_http_run_posted_requests(c);
            return;
        }
    }

    /*
     * The previous beat still waiting for the client: no need for more.
     * Most streams never beat (output pushes the beat back): the beat's
     * text and buffer are made when the first is sent.
     */

    b = ctx->beat_sent;

    if (b == NULL) {
        b = ngx_http_chaton_conversation_beat_make(ctx);
        if (b == NULL) {
            ngx_http_finalize_request(r, NGX_ERROR);
            ngx_http_run_posted_requests(c);
            return;
        }

        ctx->beat_sent = b;
    }

    if (b->buf.pos == b->buf.last) {
        b->buf.pos = b->text.data;
        b->buf.last = b->text.data + b->text.len;
        b->buf.memory = 1;
        b->buf.flush = 1;

        b->out.buf = &b->buf;
        b->out.next = NULL;

        if (ngx_http_chaton_call_output(ctx->call, &b->out) == NGX_ERROR) {
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


/*
 * A stream the heartbeat begins: what the writer begins every stream with
 * (Anthropic's message_start) goes first, so that no beat precedes it.
 */

static ngx_int_t
ngx_http_chaton_conversation_start(ngx_http_chaton_conv_t *ctx)
{
    chaton_buf_t      b;
    chaton_writer_t  *w;

    w = ctx->t.writer;

    if (w->ops->start == NULL) {
        return NGX_OK;
    }

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (w->ops->start(w, &b) != CHATON_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_conversation_send(ctx, &b);
}


/* the dialect's heartbeat, written once for all the beats of a stream */

static ngx_http_chaton_beat_t *
ngx_http_chaton_conversation_beat_make(ngx_http_chaton_conv_t *ctx)
{
    chaton_buf_t             text;
    ngx_http_chaton_beat_t  *b;

    b = ngx_pcalloc(ctx->req.pool, sizeof(ngx_http_chaton_beat_t));
    if (b == NULL) {
        return NULL;
    }

    if (ctx->dialect->ping == NULL) {
        ngx_str_set(&b->text, ": keep-alive\n\n");
        return b;
    }

    chaton_buf_init(&text, &ctx->alloc, 0);

    if (ctx->dialect->ping(&text) != CHATON_OK) {
        return NULL;
    }

    b->text.data = text.data;
    b->text.len = text.len;

    return b;
}


/* the answer has begun: the call's sending is over, and so is its pool */

static void
ngx_http_chaton_conversation_sent(ngx_http_chaton_conv_t *ctx,
    ngx_http_chaton_call_t *call)
{
    if (ctx->setup && ngx_http_chaton_call_sent(call)) {
        ngx_http_chaton_conversation_setup_free(ctx);
    }
}


/* the request ends, the answer done or not (a client may leave at once) */

/*
 * The backend's event stream's parser, anew for each call.  Its line and
 * data are on the heap, given back between events (chaton_sse_t's lean):
 * a stream waiting for its next event holds no bytes of the last one,
 * and a line split between reads takes only its size.
 */

static void
ngx_http_chaton_conversation_sse(ngx_http_chaton_conv_t *ctx,
    size_t max_event)
{
    chaton_sse_free(&ctx->sse);
    chaton_chat_sse_init(&ctx->sse, ngx_http_chaton_heap(), max_event);
    ctx->sse.lean = 1;
}


static void
ngx_http_chaton_conversation_cleanup(void *data)
{
    ngx_http_chaton_conv_t  *ctx = data;

    if (ctx->beat.timer_set) {
        ngx_del_timer(&ctx->beat);
    }

    chaton_sse_free(&ctx->sse);

    ngx_http_chaton_conversation_setup_free(ctx);
}
