
/*
 * ngx_chaton: GET /v1/models and GET /v1/models/{id}, from the alias table;
 * with "chaton_passthrough", the other server's models are listed too, and
 * a model of its is answered by it.
 */


#include "ngx_http_chaton_module.h"


static void ngx_http_chaton_models_resume(ngx_http_request_t *r);


static ngx_str_t  ngx_http_chaton_models_route = ngx_string("models");


ngx_int_t
ngx_http_chaton_models_handler(ngx_http_request_t *r)
{
    u_char                       *id;
    size_t                        len;
    ngx_int_t                     rc;
    ngx_str_t                     route;
    chaton_buf_t                  b;
    chaton_alloc_t                a;
    chaton_error_t                err;
    ngx_http_chaton_req_t        *req;
    const chaton_model_t         *m;
    ngx_http_chaton_loc_conf_t   *lcf;
    ngx_http_chaton_call_args_t   args;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_chaton_method_not_allowed(r, "GET");
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    ngx_http_chaton_alloc_init(&a, r->pool);
    chaton_buf_init(&b, &a, 0);

    /* the router matched ".../models" or ".../models/<id>" */

    id = ngx_strlcasestrn(r->uri.data, r->uri.data + r->uri.len,
                          (u_char *) "models/", 7 - 1);

    len = id ? (size_t) (r->uri.data + r->uri.len - (id + 7)) : 0;

    if (len && id[7 + len - 1] == '/') {
        len--;
    }

    req = ngx_pcalloc(r->pool, sizeof(ngx_http_chaton_req_t));
    if (req == NULL) {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(r, req, ngx_http_chaton_module);

    if (len == 0) {
        if (lcf->passthrough.len == 0) {
            if (chaton_models_list(&b, lcf->models, lcf->nmodels)
                != CHATON_OK)
            {
                return NGX_ERROR;
            }

            return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
        }

        /* ours and the other server's: its list first */

        ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

        args.method = "GET";
        args.path = ngx_http_chaton_models_route;
        args.kind = NGX_HTTP_CHATON_CALL_PASS;
        args.capture = 1024 * 1024;

        req->relay = ngx_http_chaton_call(r, &args, req);
        if (req->relay == NULL) {
            return NGX_ERROR;
        }

        r->main->count++;
        r->write_event_handler = ngx_http_chaton_models_resume;

        return NGX_DONE;
    }

    id += 7;

    m = chaton_model_find(lcf->models, lcf->nmodels, id, len);

    if (m) {
        if (chaton_model_object(&b, m) != CHATON_OK) {
            return NGX_ERROR;
        }

        return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
    }

    if (lcf->passthrough.len) {
        route.data = id - 7;
        route.len = 7 + len;

        rc = ngx_http_chaton_pass(r, "GET", &route, NULL);

        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;
    }

    (void) chaton_error_set(&err, NGX_HTTP_NOT_FOUND, "model",
                            "model_not_found",
                            "The model '%.*s' does not exist.",
                            (int) ngx_min(len, 100), id);

    return ngx_http_chaton_send_error(r, &err);
}


static void
ngx_http_chaton_models_resume(ngx_http_request_t *r)
{
    chaton_buf_t                 b;
    chaton_alloc_t               a;
    ngx_http_chaton_req_t       *req;
    ngx_http_chaton_call_t      *call;
    ngx_http_chaton_loc_conf_t  *lcf;

    req = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (req == NULL || req->ended || !req->relay->sr->done) {
        return;
    }

    req->ended = 1;
    call = req->relay;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    ngx_http_chaton_alloc_init(&a, r->pool);
    chaton_buf_init(&b, &a, 0);

    /* the other server down: still ours */

    if (call->status != NGX_HTTP_OK || call->overflow) {
        ngx_http_chaton_log(NGX_LOG_WARN, r,
                      "the passthrough server's model list failed "
                      "(status %ui)", call->status);
        call->answer.len = 0;
    }

    if (chaton_models_union(&b, lcf->models, lcf->nmodels, call->answer.data,
                            call->answer.len)
        != CHATON_OK)
    {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_chaton_send_json(r, NGX_HTTP_OK,
                                                           b.data, b.len));
}
