
/*
 * ngx_chaton: variables for log_format and limits, about the main request.
 *
 *   $chaton_model           the model the client asked for
 *   $chaton_backend_model   the model ChatOn was sent
 *   $chaton_stream          "1" for a streamed answer, else "0"
 *   $chaton_backend_status  the backend's HTTP status ("-" if none)
 *   $chaton_ttft            ms from the request to the first token
 *   $chaton_events          backend events seen
 *   $chaton_chunks          chunks written to the client
 *   $chaton_content_bytes   bytes of content and reasoning
 *   $chaton_uploads         images uploaded for the request
 *   $chaton_credential      the credential set that served
 *   $chaton_backend_addr    the backend address that served
 *   $chaton_client          the client whose API key the request carries
 */


#include "ngx_http_chaton_module.h"


typedef enum {
    ngx_http_chaton_var_str = 0,
    ngx_http_chaton_var_status,
    ngx_http_chaton_var_uint,
    ngx_http_chaton_var_uint64,
    ngx_http_chaton_var_msec,
    ngx_http_chaton_var_stream
} ngx_http_chaton_var_kind_e;


static ngx_int_t ngx_http_chaton_log_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_chaton_client_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


#define ngx_http_chaton_var(name, field, kind)                                \
    { ngx_string(name), NULL, ngx_http_chaton_log_variable,                  \
      offsetof(ngx_http_chaton_req_t, field) << 4 | kind,                     \
      NGX_HTTP_VAR_NOCACHEABLE, 0 }


static ngx_http_variable_t  ngx_http_chaton_log_vars[] = {
    ngx_http_chaton_var("chaton_model", model, ngx_http_chaton_var_str),
    ngx_http_chaton_var("chaton_backend_model", backend_model,
                        ngx_http_chaton_var_str),
    ngx_http_chaton_var("chaton_stream", started,
                        ngx_http_chaton_var_stream),
    ngx_http_chaton_var("chaton_backend_status", backend_status,
                        ngx_http_chaton_var_status),
    ngx_http_chaton_var("chaton_ttft", first_token, ngx_http_chaton_var_msec),
    ngx_http_chaton_var("chaton_events", events, ngx_http_chaton_var_uint64),
    ngx_http_chaton_var("chaton_chunks", chunks, ngx_http_chaton_var_uint64),
    ngx_http_chaton_var("chaton_content_bytes", content_bytes,
                        ngx_http_chaton_var_uint64),
    ngx_http_chaton_var("chaton_uploads", uploads, ngx_http_chaton_var_uint),
    ngx_http_chaton_var("chaton_credential", credential,
                        ngx_http_chaton_var_str),
    ngx_http_chaton_var("chaton_backend_addr", backend_addr,
                        ngx_http_chaton_var_str),

    /* read before the content phase too: by limit_req, limit_conn */

    { ngx_string("chaton_client"), NULL, ngx_http_chaton_client_variable, 0,
      0, 0 },

    ngx_http_null_variable
};


ngx_int_t
ngx_http_chaton_add_log_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_chaton_log_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_log_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                 *p, *field;
    ngx_http_chaton_req_t  *req;

    req = ngx_http_get_module_ctx(r->main, ngx_http_chaton_module);

    if (req == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    field = (u_char *) req + (data >> 4);

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    if ((data & 0xf) == ngx_http_chaton_var_str) {
        v->data = ((ngx_str_t *) field)->data;
        v->len = ((ngx_str_t *) field)->len;

        if (v->len == 0) {
            v->not_found = 1;
        }

        return NGX_OK;
    }

    if ((data & 0xf) == ngx_http_chaton_var_stream) {
        v->data = (u_char *) (req->stream ? "1" : "0");
        v->len = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    switch (data & 0xf) {

    case ngx_http_chaton_var_status:

        /* no status: the backend never answered */

        if (*(ngx_uint_t *) field == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        p = ngx_sprintf(p, "%ui", *(ngx_uint_t *) field);
        break;

    case ngx_http_chaton_var_uint:
        p = ngx_sprintf(p, "%ui", *(ngx_uint_t *) field);
        break;

    case ngx_http_chaton_var_msec:
        if (!req->token_seen) {
            v->not_found = 1;
            return NGX_OK;
        }

        p = ngx_sprintf(p, "%M", *(ngx_msec_t *) field);
        break;

    default: /* ngx_http_chaton_var_uint64 */
        p = ngx_sprintf(p, "%uL", *(uint64_t *) field);
    }

    v->len = p - v->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_client_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  *name;

    name = ngx_http_chaton_client(r->main);

    if (name == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = name->data;
    v->len = name->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
