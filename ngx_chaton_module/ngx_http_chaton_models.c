
/*
 * ngx_chaton: the model table of a location (the operator's entries, the
 * context windows, the default model), GET /v1/models and
 * GET /v1/models/{id} from it, in Anthropic's shape for a request with
 * "anthropic-version"; with "chaton_passthrough", the other server's
 * models are listed too (to OpenAI's clients), and a model of its is
 * answered by it.
 */


#include "ngx_http_chaton_module.h"


typedef struct {
    ngx_str_t                    model;          /* as ChatOn is sent it */
    uint64_t                     context;        /* 0: off */
} ngx_http_chaton_window_t;


static ngx_int_t ngx_http_chaton_models_table(ngx_conf_t *cf,
    ngx_http_chaton_loc_conf_t *conf);
static char *ngx_http_chaton_models_fallback(ngx_conf_t *cf,
    ngx_http_chaton_loc_conf_t *conf, ngx_uint_t served);
static void ngx_http_chaton_models_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_models_anthropic(ngx_http_request_t *r,
    chaton_route_t *rt, chaton_buf_t *b);
static ngx_int_t ngx_http_chaton_model_not_found(ngx_http_request_t *r,
    chaton_route_t *rt);


static ngx_str_t  ngx_http_chaton_models_route = ngx_string("models");


ngx_int_t
ngx_http_chaton_models_handler(ngx_http_request_t *r, chaton_route_t *rt)
{
    ngx_int_t                     rc;
    ngx_str_t                     route;
    chaton_buf_t                  b;
    chaton_alloc_t                a;
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

    req = ngx_pcalloc(r->pool, sizeof(ngx_http_chaton_req_t));
    if (req == NULL) {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(r, req, ngx_http_chaton_module);

    /* Anthropic's clients say so: its shape, and the table's models only */

    if (ngx_http_chaton_find_header(&r->headers_in.headers,
                                    "anthropic-version", 17))
    {
        return ngx_http_chaton_models_anthropic(r, rt, &b);
    }

    if (rt->route == CHATON_ROUTE_MODELS) {
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

    m = chaton_model_find(lcf->models, lcf->nmodels, rt->id, rt->id_len);

    if (m) {
        if (chaton_model_object(&b, m) != CHATON_OK) {
            return NGX_ERROR;
        }

        return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
    }

    /* the route, "models/<id>", as the other server is asked it */

    if (lcf->passthrough.len) {
        route.data = (u_char *) rt->path;
        route.len = rt->path_len;

        rc = ngx_http_chaton_pass(r, "GET", &route, NULL);

        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;
    }

    return ngx_http_chaton_model_not_found(r, rt);
}


static ngx_int_t
ngx_http_chaton_models_anthropic(ngx_http_request_t *r, chaton_route_t *rt,
    chaton_buf_t *b)
{
    int                          rc;
    const chaton_model_t        *m;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    if (rt->route == CHATON_ROUTE_MODELS) {
        rc = chaton_models_list_anthropic(b, lcf->models, lcf->nmodels);

    } else {
        m = chaton_model_find(lcf->models, lcf->nmodels, rt->id, rt->id_len);

        if (m == NULL) {
            return ngx_http_chaton_model_not_found(r, rt);
        }

        rc = chaton_model_object_anthropic(b, m);
    }

    if (rc != CHATON_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b->data, b->len);
}


/* a look-up, not a request to serve: the default model answers none */

static ngx_int_t
ngx_http_chaton_model_not_found(ngx_http_request_t *r, chaton_route_t *rt)
{
    chaton_error_t  err;

    (void) chaton_error_set(&err, NGX_HTTP_NOT_FOUND, "model",
                            "model_not_found",
                            "The model '%.*s' does not exist.",
                            (int) ngx_min(rt->id_len, 100), rt->id);

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


/* chaton_model <id> <chaton model> [hidden]; */

char *
ngx_http_chaton_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chaton_loc_conf_t *clcf = conf;

    ngx_str_t       *value;
    chaton_model_t  *m;

    value = cf->args->elts;

    if (clcf->aliases == NGX_CONF_UNSET_PTR) {
        clcf->aliases = ngx_array_create(cf->pool, 4, sizeof(chaton_model_t));
        if (clcf->aliases == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (cf->args->nelts == 4
        && ngx_strcmp(value[3].data, "hidden") != 0)
    {
        return "has an invalid third parameter: only \"hidden\" is allowed";
    }

    m = ngx_array_push(clcf->aliases);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    /* lookups fold ASCII case, so ids are kept in lower case */

    ngx_strlow(value[1].data, value[1].data, value[1].len);

    m->id = (const char *) value[1].data;
    m->id_len = value[1].len;
    m->backend = (const char *) value[2].data;
    m->backend_len = value[2].len;
    m->listed = (cf->args->nelts == 3);

    /* the release and the window of the model it means */

    chaton_models_inherit(m, 1);

    if (ngx_http_chaton_metrics_model(cf, value[2].data, value[2].len)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* chaton_context_window <chaton model> <tokens> | off; */

char *
ngx_http_chaton_context_window(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_chaton_loc_conf_t *clcf = conf;

    ngx_int_t                  n;
    ngx_str_t                 *value;
    ngx_http_chaton_window_t  *w;

    value = cf->args->elts;

    if (ngx_strcmp(value[2].data, "off") == 0) {
        n = 0;

    } else {
        n = ngx_atoi(value[2].data, value[2].len);

        if (n == NGX_ERROR || n == 0) {
            return "takes a number of tokens or \"off\"";
        }
    }

    if (clcf->windows == NGX_CONF_UNSET_PTR) {
        clcf->windows = ngx_array_create(cf->pool, 4,
                                         sizeof(ngx_http_chaton_window_t));
        if (clcf->windows == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    w = ngx_array_push(clcf->windows);
    if (w == NULL) {
        return NGX_CONF_ERROR;
    }

    w->model = value[1];
    w->context = (uint64_t) n;

    return NGX_CONF_OK;
}


/*
 * The location's model table: the operator's entries, the built-ins, the
 * windows set; then the default model, looked up in it.  A location that
 * changes neither entries nor windows shares its parent's table.
 */

char *
ngx_http_chaton_models_merge(ngx_conf_t *cf, ngx_http_chaton_loc_conf_t *prev,
    ngx_http_chaton_loc_conf_t *conf, ngx_uint_t served)
{
    ngx_conf_merge_ptr_value(conf->aliases, prev->aliases, NULL);
    ngx_conf_merge_ptr_value(conf->windows, prev->windows, NULL);
    ngx_conf_merge_str_value(conf->default_model, prev->default_model, "");

    if (conf->aliases == prev->aliases && conf->windows == prev->windows
        && prev->models)
    {
        conf->models = prev->models;
        conf->nmodels = prev->nmodels;

    } else if (ngx_http_chaton_models_table(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_chaton_models_fallback(cf, conf, served);
}


static ngx_int_t
ngx_http_chaton_models_table(ngx_conf_t *cf, ngx_http_chaton_loc_conf_t *conf)
{
    ngx_uint_t                 i, n;
    chaton_model_t            *m;
    ngx_http_chaton_window_t  *w;

    n = conf->aliases ? conf->aliases->nelts : 0;

    m = ngx_palloc(cf->pool, (n + chaton_models_nbuiltin)
                             * sizeof(chaton_model_t));
    if (m == NULL) {
        return NGX_ERROR;
    }

    if (n) {
        ngx_memcpy(m, conf->aliases->elts, n * sizeof(chaton_model_t));
    }

    ngx_memcpy(m + n, chaton_models_builtin,
               chaton_models_nbuiltin * sizeof(chaton_model_t));

    conf->models = m;
    conf->nmodels = n + chaton_models_nbuiltin;

    if (conf->windows == NULL) {
        return NGX_OK;
    }

    w = conf->windows->elts;

    for (i = 0; i < conf->windows->nelts; i++) {
        if (chaton_models_window(m, conf->nmodels, w[i].model.data,
                                 w[i].model.len, w[i].context)
            == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"chaton_context_window\": no model id "
                               "means the ChatOn model \"%V\"",
                               &w[i].model);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The model unknown models are served with.  Where "chaton_passthrough"
 * is set, unknown models go to the other server instead: it wins.
 */

static char *
ngx_http_chaton_models_fallback(ngx_conf_t *cf,
    ngx_http_chaton_loc_conf_t *conf, ngx_uint_t served)
{
    const chaton_model_t  *m;

    conf->fallback = NULL;

    if (conf->default_model.len == 0) {
        return NGX_CONF_OK;
    }

    m = chaton_model_find(conf->models, conf->nmodels,
                          conf->default_model.data, conf->default_model.len);

    if (m == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chaton_default_model\": \"%V\" is not a "
                           "model id here", &conf->default_model);
        return NGX_CONF_ERROR;
    }

    if (conf->passthrough.len) {
        if (served) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"chaton_default_model\" is not used where "
                               "\"chaton_passthrough\" is set: unknown "
                               "models go to \"%V\"", &conf->passthrough);
        }

        return NGX_CONF_OK;
    }

    conf->fallback = m;

    return NGX_CONF_OK;
}
