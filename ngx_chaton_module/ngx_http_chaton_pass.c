
/*
 * ngx_chaton: requests for models ChatOn does not serve, passed through
 * unchanged to another OpenAI-compatible server ("chaton_passthrough":
 * an internal location that proxy_passes to it, with the operator's own
 * key there).  Status, type and body come back as that server sent them,
 * streamed through the filter chain untouched.
 */


#include "ngx_http_chaton_module.h"


static ngx_int_t ngx_http_chaton_pass_header(ngx_http_chaton_call_t *call);
static void ngx_http_chaton_pass_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_pass_end(ngx_http_request_t *r,
    ngx_http_chaton_call_t *call);


static ngx_str_t  ngx_http_chaton_pass_type = ngx_string("application/json");


/*
 * Starts the pass: "path" is the route under the API root
 * ("chat/completions", "models/<id>"), "body" the client's, as it came.
 */

ngx_int_t
ngx_http_chaton_pass(ngx_http_request_t *r, const char *method,
    const ngx_str_t *path, ngx_str_t *body)
{
    ngx_http_chaton_req_t        *req;
    ngx_http_chaton_call_t       *call;
    ngx_http_chaton_call_args_t   args;

    req = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.method = method;
    args.path = *path;
    args.kind = NGX_HTTP_CHATON_CALL_PASS;

    if (body) {
        args.body = *body;
        args.content_type = ngx_http_chaton_pass_type;
    }

    call = ngx_http_chaton_call(r, &args, req);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->forward_any = 1;
    call->header = ngx_http_chaton_pass_header;

    req->relay = call;
    req->backend_model = req->model;

    r->write_event_handler = ngx_http_chaton_pass_resume;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_chaton_pass_header(ngx_http_chaton_call_t *call)
{
    ngx_http_request_t  *r, *sr;

    r = call->request;
    sr = call->sr;

    r->headers_out.status = call->status;
    r->headers_out.content_type = sr->headers_out.content_type;
    r->headers_out.content_type_len = sr->headers_out.content_type_len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = sr->headers_out.content_length_n;

    if (ngx_http_chaton_is_event_stream(&sr->headers_out.content_type)) {
        return ngx_http_chaton_send_stream_header(r);
    }

    if (ngx_http_chaton_cors(r) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_send_header(r);
}


static void
ngx_http_chaton_pass_resume(ngx_http_request_t *r)
{
    ngx_http_chaton_req_t  *req;

    req = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (req == NULL || req->relay == NULL || !req->relay->sr->done
        || req->ended)
    {
        return;
    }

    req->ended = 1;

    ngx_http_finalize_request(r, ngx_http_chaton_pass_end(r, req->relay));
}


static ngx_int_t
ngx_http_chaton_pass_end(ngx_http_request_t *r, ngx_http_chaton_call_t *call)
{
    chaton_error_t  err;

    if (call->status == 0) {
        ngx_http_chaton_backend_error(call, &err);
        return ngx_http_chaton_send_error(r, &err);
    }

    if (!call->whole) {
        ngx_http_chaton_log(NGX_LOG_ERR, r,
                      "the passthrough server closed its answer "
                      "before its end");
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_last(r, NULL, 0);
}
