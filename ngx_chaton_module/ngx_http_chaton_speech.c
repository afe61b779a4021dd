
/*
 * ngx_chaton: POST /v1/audio/speech.
 *
 * The audio streams through as the backend sends it: the call's output
 * passes the filter chain untouched, nothing is buffered.  With
 * "stream_format": "sse" it goes out instead as OpenAI's speech.audio.delta
 * events, base64, as it arrives, then speech.audio.done.  The status line
 * waits for the backend's status, so an error is an error, never a 200 with
 * an error inside an "mp3".
 */


#include "ngx_http_chaton_module.h"

#include "chaton_speech.h"


typedef struct {
    ngx_http_chaton_req_t        req;        /* first: see the header */
    ngx_http_request_t          *request;
    ngx_http_chaton_call_t      *call;
    chaton_alloc_t               alloc;
    chaton_speech_req_t          speech;
    chaton_speech_sse_t          sse;
    unsigned                     committed:1;
    unsigned                     ended:1;
} ngx_http_chaton_speech_ctx_t;


static ngx_int_t ngx_http_chaton_speech_start(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_chaton_speech_header(ngx_http_chaton_call_t *call);
static ngx_int_t ngx_http_chaton_speech_body(ngx_http_chaton_call_t *call,
    u_char *pos, size_t len, chaton_buf_t *out);
static void ngx_http_chaton_speech_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_speech_end(ngx_http_request_t *r,
    ngx_http_chaton_speech_ctx_t *ctx);


static ngx_str_t  ngx_http_chaton_speech_path = ngx_string("/audio/speech");


ngx_int_t
ngx_http_chaton_speech_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r,
                                        sizeof(ngx_http_chaton_speech_ctx_t),
                                        NGX_HTTP_CHATON_STATE_OTHER,
                                        ngx_http_chaton_speech_start);
}


static ngx_int_t
ngx_http_chaton_speech_start(ngx_http_request_t *r, ngx_str_t *body)
{
    int                            rc;
    chaton_buf_t                   b;
    chaton_error_t                 err;
    ngx_http_chaton_call_args_t    args;
    ngx_http_chaton_speech_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    ctx->request = r;
    ngx_http_chaton_alloc_init(&ctx->alloc, r->pool);

    rc = chaton_speech_parse(&ctx->speech, &ctx->alloc, body->data,
                             body->len, &err);

    if (rc == CHATON_ERROR) {
        return NGX_ERROR;
    }

    if (rc != CHATON_OK) {
        return ngx_http_chaton_send_error(r, &err);
    }

    ctx->req.model.data = (u_char *) ctx->speech.model;
    ctx->req.model.len = ngx_strlen(ctx->speech.model);
    ctx->req.backend_model = ctx->req.model;
    ctx->req.stream = ctx->speech.sse;

    chaton_buf_init(&b, &ctx->alloc, 0);

    if (chaton_speech_body(&b, &ctx->speech) != CHATON_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.method = "POST";
    args.path = ngx_http_chaton_speech_path;
    args.body.data = b.data;
    args.body.len = b.len;
    args.purpose = NGX_HTTP_CHATON_FOR_SPEECH;

    ctx->call = ngx_http_chaton_call(r, &args, ctx);
    if (ctx->call == NULL) {
        return NGX_ERROR;
    }

    ctx->call->header = ngx_http_chaton_speech_header;

    if (ctx->speech.sse) {
        ctx->call->body = ngx_http_chaton_speech_body;

    } else {
        ctx->call->forward_ok = 1;
    }

    r->write_event_handler = ngx_http_chaton_speech_resume;

    return NGX_DONE;
}


/* a 200 with audio: the client's head goes out now, the audio follows */

static ngx_int_t
ngx_http_chaton_speech_header(ngx_http_chaton_call_t *call)
{
    ngx_str_t                     *type;
    ngx_http_request_t            *r;
    ngx_http_chaton_speech_ctx_t  *ctx;

    ctx = call->data;
    r = ctx->request;

    ctx->req.backend_status = call->status;

    if (call->status != NGX_HTTP_OK || call->unusable) {
        return NGX_OK;
    }

    type = &call->sr->headers_out.content_type;

    if (type->len < sizeof("audio/") - 1
        || ngx_strncasecmp(type->data, (u_char *) "audio/",
                           sizeof("audio/") - 1) != 0)
    {
        /* kept as an error's body: the client gets no "mp3" of JSON */

        call->unusable = 1;
        call->forward_ok = 0;
        return NGX_OK;
    }

    ctx->committed = 1;

    if (ctx->speech.sse) {
        return ngx_http_chaton_send_stream_header(r);
    }

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "audio/mpeg");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = call->sr->headers_out.content_length_n;

    if (ngx_http_chaton_cors(r) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_send_header(r);
}


static ngx_int_t
ngx_http_chaton_speech_body(ngx_http_chaton_call_t *call, u_char *pos,
    size_t len, chaton_buf_t *out)
{
    ngx_http_chaton_speech_ctx_t  *ctx;

    ctx = call->data;

    ctx->req.content_bytes += len;

    return chaton_speech_delta(&ctx->sse, out, pos, len) == CHATON_OK
           ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_chaton_speech_resume(ngx_http_request_t *r)
{
    ngx_http_chaton_call_t        *again;
    ngx_http_chaton_speech_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (ctx == NULL || ctx->ended || !ctx->call->sr->done) {
        return;
    }

    /* refused for the credential set or the rate: the next set */

    again = ngx_http_chaton_call_again(ctx->call);

    if (again) {
        ctx->call = again;
        return;
    }

    ctx->ended = 1;

    ngx_http_finalize_request(r, ngx_http_chaton_speech_end(r, ctx));
}


static ngx_int_t
ngx_http_chaton_speech_end(ngx_http_request_t *r,
    ngx_http_chaton_speech_ctx_t *ctx)
{
    ngx_int_t                rc;
    chaton_buf_t             out;
    chaton_error_t           err;
    ngx_http_chaton_call_t  *call;

    call = ctx->call;

    if (!ctx->committed) {
        if (call->unusable) {
            (void) chaton_error_answer(&err, call->encoded
                                             ? CHATON_ANSWER_ENCODED
                                             : CHATON_ANSWER_NOT_AUDIO);

        } else {
            ngx_http_chaton_backend_error(call, &err);
        }

        return ngx_http_chaton_send_error(r, &err);
    }

    chaton_buf_init(&out, &ctx->alloc, 0);

    if (!call->whole) {
        ngx_http_chaton_log(NGX_LOG_ERR, r,
                      "the backend closed the audio before its end");

        if (!ctx->speech.sse) {

            /* audio cannot carry an error: the cut connection tells it */

            return NGX_ERROR;
        }

        (void) chaton_error_answer(&err, CHATON_AUDIO_CUT);

        rc = chaton_error_event(&out, &err);

    } else if (ctx->speech.sse) {
        rc = chaton_speech_done(&ctx->sse, &out,
                           (chaton_utf8_chars(ctx->speech.input,
                                              ctx->speech.input_len) + 3) / 4);
    } else {
        rc = CHATON_OK;
    }

    if (rc != CHATON_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_last(r, out.data, out.len);
}
