
/*
 * ngx_chaton: GET /v1/models and GET /v1/models/{id}, from the alias table.
 */


#include "ngx_http_chaton_module.h"


ngx_int_t
ngx_http_chaton_models_handler(ngx_http_request_t *r)
{
    u_char                      *id;
    size_t                       len;
    ngx_int_t                    rc;
    chaton_buf_t                 b;
    chaton_alloc_t               a;
    chaton_error_t               err;
    const chaton_model_t        *m;
    ngx_http_chaton_loc_conf_t  *lcf;

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

    if (len == 0) {
        if (chaton_models_list(&b, lcf->models, lcf->nmodels) != CHATON_OK) {
            return NGX_ERROR;
        }

        return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
    }

    id += 7;

    m = chaton_model_find(lcf->models, lcf->nmodels, id, len);

    if (m == NULL) {
        (void) chaton_error_set(&err, NGX_HTTP_NOT_FOUND, "model",
                                "model_not_found",
                                "The model '%.*s' does not exist.",
                                (int) ngx_min(len, 100), id);

        return ngx_http_chaton_send_error(r, &err);
    }

    if (chaton_model_object(&b, m) != CHATON_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
}
