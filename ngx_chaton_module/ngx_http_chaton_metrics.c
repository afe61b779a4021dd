
/*
 * ngx_chaton: Prometheus metrics from a shared-memory zone.
 *
 * chaton_metrics_zone names the zone; it holds one array of counters whose
 * shape is fixed at configuration time: route x backend model x status
 * class, and per backend model the tokens and two histograms.  A label's
 * values come from configuration only (the routes, the backend models of
 * the built-in table and of chaton_model), never from client input: any
 * other model is "other".  Workers add with ngx_atomic_fetch_add, once per
 * request in the log phase; no lock is taken.  chaton_metrics writes the
 * text exposition format.
 */


#include "ngx_http_chaton_module.h"


#define NGX_HTTP_CHATON_NROUTES    7
#define NGX_HTTP_CHATON_NCLASSES   4     /* 2xx (and below), 3xx, 4xx, 5xx */
#define NGX_HTTP_CHATON_NBUCKETS   14    /* 13 bounds and +Inf */


typedef struct {
    ngx_atomic_t                 bucket[NGX_HTTP_CHATON_NBUCKETS];
    ngx_atomic_t                 count;
    ngx_atomic_t                 sum;            /* milliseconds */
} ngx_http_chaton_histogram_t;


typedef struct {
    ngx_atomic_t                 prompt_tokens;
    ngx_atomic_t                 completion_tokens;
    ngx_http_chaton_histogram_t  ttft;
    ngx_http_chaton_histogram_t  duration;
    ngx_atomic_t                 requests[NGX_HTTP_CHATON_NROUTES]
                                         [NGX_HTTP_CHATON_NCLASSES];
} ngx_http_chaton_model_counters_t;


struct ngx_http_chaton_metrics_s {
    size_t                       size;           /* of this allocation */
    uint32_t                     layout;         /* crc32 of the models */
    ngx_atomic_t                 streams_open;
    ngx_atomic_t                 tool_calls;
    ngx_atomic_t                 tool_call_failures;
    ngx_http_chaton_model_counters_t  model[1];  /* nmodels + "other" */
};


static ngx_int_t ngx_http_chaton_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_chaton_metrics_add(
    ngx_http_chaton_main_conf_t *mcf, u_char *name, size_t len);
static size_t ngx_http_chaton_metrics_size(ngx_uint_t nmodels);
static ngx_int_t ngx_http_chaton_metrics_log(ngx_http_request_t *r);
static ngx_uint_t ngx_http_chaton_metrics_route(ngx_http_request_t *r);
static ngx_uint_t ngx_http_chaton_metrics_model_index(
    ngx_http_chaton_main_conf_t *mcf, ngx_str_t *name);
static void ngx_http_chaton_metrics_observe(ngx_http_chaton_histogram_t *h,
    ngx_msec_int_t ms);
static ngx_int_t ngx_http_chaton_metrics_handler(ngx_http_request_t *r);
static u_char *ngx_http_chaton_metrics_tokens(u_char *p, const char *name,
    const char *help, ngx_http_chaton_main_conf_t *mcf, size_t offset);
static u_char *ngx_http_chaton_metrics_histograms(u_char *p,
    const char *name, const char *help, ngx_http_chaton_main_conf_t *mcf,
    size_t offset);
static u_char *ngx_http_chaton_metrics_histogram(u_char *p,
    const char *name, ngx_str_t *model, ngx_http_chaton_histogram_t *h);


static ngx_str_t  ngx_http_chaton_metrics_routes[] = {
    ngx_string("chat"),
    ngx_string("messages"),
    ngx_string("images"),
    ngx_string("speech"),
    ngx_string("models"),
    ngx_string("responses"),
    ngx_string("other")
};

static const char  *ngx_http_chaton_metrics_classes[] = {
    "2xx", "3xx", "4xx", "5xx"
};

/* for chat: tens of milliseconds to minutes */

static ngx_msec_t  ngx_http_chaton_metrics_bounds[] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000,
    300000, 600000
};

static ngx_str_t  ngx_http_chaton_metrics_other = ngx_string("other");



void *
ngx_http_chaton_metrics_create_conf(ngx_conf_t *cf)
{
    ngx_uint_t                    i;
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_chaton_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->models, cf->pool, 16, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    /* the built-in backend models have labels of their own */

    for (i = 0; i < chaton_models_nbuiltin; i++) {
        if (ngx_http_chaton_metrics_add(mcf,
                (u_char *) chaton_models_builtin[i].backend,
                chaton_models_builtin[i].backend_len)
            != NGX_OK)
        {
            return NULL;
        }
    }

    return mcf;
}


/* a backend model from configuration (chaton_model): a label value */

ngx_int_t
ngx_http_chaton_metrics_model(ngx_conf_t *cf, u_char *name, size_t len)
{
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_chaton_module);

    return ngx_http_chaton_metrics_add(mcf, name, len);
}


static ngx_int_t
ngx_http_chaton_metrics_add(ngx_http_chaton_main_conf_t *mcf, u_char *name,
    size_t len)
{
    ngx_str_t   *m;
    ngx_uint_t   i;

    m = mcf->models.elts;

    for (i = 0; i < mcf->models.nelts; i++) {
        if (m[i].len == len && ngx_strncmp(m[i].data, name, len) == 0) {
            return NGX_OK;
        }
    }

    m = ngx_array_push(&mcf->models);
    if (m == NULL) {
        return NGX_ERROR;
    }

    m->data = name;
    m->len = len;

    return NGX_OK;
}


/*
 * chaton_metrics_zone <name> <size>;
 */

char *
ngx_http_chaton_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chaton_main_conf_t *mcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    value = cf->args->elts;

    if (mcf->metrics_zone) {
        return "is duplicate";
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    mcf->metrics_zone = ngx_shared_memory_add(cf, &value[1], size,
                                              &ngx_http_chaton_module);
    if (mcf->metrics_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mcf->metrics_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &value[1]);
        return NGX_CONF_ERROR;
    }

    mcf->metrics_zone->init = ngx_http_chaton_metrics_init_zone;
    mcf->metrics_zone->data = mcf;

    return NGX_CONF_OK;
}


/* chaton_metrics; */

char *
ngx_http_chaton_metrics_location(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_chaton_metrics_handler;

    return NGX_CONF_OK;
}


static size_t
ngx_http_chaton_metrics_size(ngx_uint_t nmodels)
{
    return offsetof(ngx_http_chaton_metrics_t, model)
           + (nmodels + 1) * sizeof(ngx_http_chaton_model_counters_t);
}


/*
 * The counters survive a reload while the models are the same (the
 * layout's crc32); other models start them over.
 */

static ngx_int_t
ngx_http_chaton_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_chaton_main_conf_t  *omcf = data;

    size_t                        size;
    ngx_str_t                    *m;
    ngx_uint_t                    i;
    ngx_slab_pool_t              *shpool;
    ngx_http_chaton_metrics_t    *sh;
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    ngx_crc32_init(mcf->layout);
    m = mcf->models.elts;

    for (i = 0; i < mcf->models.nelts; i++) {
        ngx_crc32_update(&mcf->layout, m[i].data, m[i].len);
        ngx_crc32_update(&mcf->layout, (u_char *) "\n", 1);
    }

    ngx_crc32_final(mcf->layout);

    size = ngx_http_chaton_metrics_size(mcf->models.nelts);

    sh = omcf ? omcf->metrics : shpool->data;

    if (sh && sh->layout == mcf->layout && sh->size == size) {
        mcf->metrics = sh;
        return NGX_OK;
    }

    if (sh) {
        ngx_slab_free(shpool, sh);
    }

    sh = ngx_slab_calloc(shpool, size);
    if (sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "chaton_metrics_zone \"%V\" is too small: %uz bytes "
                      "of counters do not fit", &shm_zone->shm.name, size);
        return NGX_ERROR;
    }

    sh->size = size;
    sh->layout = mcf->layout;

    shpool->data = sh;
    mcf->metrics = sh;

    return NGX_OK;
}


ngx_int_t
ngx_http_chaton_metrics_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_chaton_module);

    if (mcf->metrics_zone == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_chaton_metrics_log;

    return NGX_OK;
}


/* whether requests are counted: tokens are then counted for them too */

ngx_uint_t
ngx_http_chaton_metrics_on(ngx_http_request_t *r)
{
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chaton_module);

    return mcf->metrics != NULL;
}


/* a stream's 200 is out: it is open until the request's end */

void
ngx_http_chaton_metrics_stream(ngx_http_request_t *r)
{
    ngx_http_chaton_req_t        *req;
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chaton_module);
    req = ngx_http_get_module_ctx(r->main, ngx_http_chaton_module);

    if (mcf->metrics == NULL || req == NULL || req->stream_open) {
        return;
    }

    req->stream_open = 1;
    (void) ngx_atomic_fetch_add(&mcf->metrics->streams_open, 1);
}


/* the log phase: a request the module served is counted, once */

static ngx_int_t
ngx_http_chaton_metrics_log(ngx_http_request_t *r)
{
    ngx_uint_t                         route, class, status;
    ngx_msec_int_t                     ms;
    ngx_time_t                        *tp;
    ngx_http_chaton_req_t             *req;
    ngx_http_chaton_metrics_t         *sh;
    ngx_http_chaton_main_conf_t       *mcf;
    ngx_http_chaton_model_counters_t  *mc;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chaton_module);
    sh = mcf->metrics;

    if (sh == NULL || r != r->main || !ngx_http_chaton_served(r)) {
        return NGX_OK;
    }

    req = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (req && req->stream_open) {
        req->stream_open = 0;
        (void) ngx_atomic_fetch_add(&sh->streams_open, (ngx_atomic_int_t) -1);
    }

    mc = &sh->model[ngx_http_chaton_metrics_model_index(mcf,
                        req ? &req->backend_model : NULL)];

    status = r->err_status ? r->err_status : r->headers_out.status;

    /* no status: the client closed first, nginx's 499 */

    if (status == 0) {
        status = 499;
    }

    class = status < 300 ? 0 : status < 400 ? 1 : status < 500 ? 2 : 3;
    route = ngx_http_chaton_metrics_route(r);

    (void) ngx_atomic_fetch_add(&mc->requests[route][class], 1);

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));

    ngx_http_chaton_metrics_observe(&mc->duration, ngx_max(ms, 0));

    if (req == NULL) {
        return NGX_OK;
    }

    if (req->token_seen) {
        ngx_http_chaton_metrics_observe(&mc->ttft, req->first_token);
    }

    (void) ngx_atomic_fetch_add(&mc->prompt_tokens, req->prompt_tokens);
    (void) ngx_atomic_fetch_add(&mc->completion_tokens,
                                req->completion_tokens);
    (void) ngx_atomic_fetch_add(&sh->tool_calls, req->tool_calls);
    (void) ngx_atomic_fetch_add(&sh->tool_call_failures,
                                req->tool_call_failures);

    return NGX_OK;
}


static ngx_uint_t
ngx_http_chaton_metrics_route(ngx_http_request_t *r)
{
    chaton_route_t  rt;

    ngx_http_chaton_route(r, &r->uri, &rt);

    switch (rt.route) {

    case CHATON_ROUTE_CHAT:
        return 0;

    case CHATON_ROUTE_MESSAGES:
    case CHATON_ROUTE_COUNT_TOKENS:
        return 1;

    case CHATON_ROUTE_IMAGES:
        return 2;

    case CHATON_ROUTE_SPEECH:
        return 3;

    case CHATON_ROUTE_MODELS:
    case CHATON_ROUTE_MODEL:
        return 4;

    case CHATON_ROUTE_RESPONSES:
    case CHATON_ROUTE_RESPONSE:
    case CHATON_ROUTE_RESPONSE_ITEMS:
        return 5;
    }

    return 6;
}


/* the label's index: a configured backend model, or "other" (the last) */

static ngx_uint_t
ngx_http_chaton_metrics_model_index(ngx_http_chaton_main_conf_t *mcf,
    ngx_str_t *name)
{
    ngx_str_t   *m;
    ngx_uint_t   i;

    m = mcf->models.elts;

    for (i = 0; name && i < mcf->models.nelts; i++) {
        if (m[i].len == name->len
            && ngx_strncmp(m[i].data, name->data, name->len) == 0)
        {
            return i;
        }
    }

    return mcf->models.nelts;
}


static void
ngx_http_chaton_metrics_observe(ngx_http_chaton_histogram_t *h,
    ngx_msec_int_t ms)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_CHATON_NBUCKETS - 1; i++) {
        if ((ngx_msec_t) ms <= ngx_http_chaton_metrics_bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&h->bucket[i], 1);
    (void) ngx_atomic_fetch_add(&h->count, 1);
    (void) ngx_atomic_fetch_add(&h->sum, (ngx_atomic_int_t) ms);
}


/* the exposition: lines of at most this many bytes */

#define NGX_HTTP_CHATON_METRICS_LINE  256


static ngx_int_t
ngx_http_chaton_metrics_handler(ngx_http_request_t *r)
{
    size_t                             size;
    u_char                            *p;
    ngx_int_t                          rc;
    ngx_str_t                         *m, *name;
    ngx_buf_t                         *b;
    ngx_uint_t                         i, route, class, n;
    ngx_chain_t                        out;
    ngx_atomic_uint_t                  v;
    ngx_http_chaton_metrics_t         *sh;
    ngx_http_chaton_main_conf_t       *mcf;
    ngx_http_chaton_model_counters_t  *mc;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chaton_module);
    sh = mcf->metrics;

    if (sh == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chaton_metrics without chaton_metrics_zone");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = mcf->models.nelts + 1;
    m = mcf->models.elts;

    size = (20 + n * (NGX_HTTP_CHATON_NROUTES * NGX_HTTP_CHATON_NCLASSES
                      + 2 + 2 * (NGX_HTTP_CHATON_NBUCKETS + 2)))
           * NGX_HTTP_CHATON_METRICS_LINE;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    p = ngx_cpymem(p, "# HELP chaton_requests_total Requests answered, by "
                      "route, backend model and status class.\n"
                      "# TYPE chaton_requests_total counter\n",
                   sizeof("# HELP chaton_requests_total Requests answered, "
                          "by route, backend model and status class.\n"
                          "# TYPE chaton_requests_total counter\n") - 1);

    for (i = 0; i < n; i++) {
        mc = &sh->model[i];
        name = i < n - 1 ? &m[i] : &ngx_http_chaton_metrics_other;

        for (route = 0; route < NGX_HTTP_CHATON_NROUTES; route++) {
            for (class = 0; class < NGX_HTTP_CHATON_NCLASSES; class++) {
                v = mc->requests[route][class];

                if (v == 0) {
                    continue;
                }

                p = ngx_sprintf(p, "chaton_requests_total{route=\"%V\","
                                   "model=\"%V\",status=\"%s\"} %uA\n",
                                &ngx_http_chaton_metrics_routes[route], name,
                                ngx_http_chaton_metrics_classes[class], v);
            }
        }
    }

    p = ngx_http_chaton_metrics_tokens(p, "chaton_prompt_tokens_total",
            "Prompt tokens", mcf,
            offsetof(ngx_http_chaton_model_counters_t, prompt_tokens));

    p = ngx_http_chaton_metrics_tokens(p, "chaton_completion_tokens_total",
            "Completion tokens", mcf,
            offsetof(ngx_http_chaton_model_counters_t, completion_tokens));

    p = ngx_http_chaton_metrics_histograms(p,
            "chaton_time_to_first_token_seconds",
            "Time from the request to the answer's first token", mcf,
            offsetof(ngx_http_chaton_model_counters_t, ttft));

    p = ngx_http_chaton_metrics_histograms(p,
            "chaton_request_duration_seconds",
            "Time from the request to its end", mcf,
            offsetof(ngx_http_chaton_model_counters_t, duration));

    p = ngx_sprintf(p, "# HELP chaton_streams_open Streams being answered "
                       "now.\n"
                       "# TYPE chaton_streams_open gauge\n"
                       "chaton_streams_open %uA\n"
                       "# HELP chaton_tool_calls_total Tool calls found in "
                       "answers.\n"
                       "# TYPE chaton_tool_calls_total counter\n"
                       "chaton_tool_calls_total %uA\n"
                       "# HELP chaton_tool_call_parse_failures_total Tool "
                       "call markers that made no call.\n"
                       "# TYPE chaton_tool_call_parse_failures_total "
                       "counter\n"
                       "chaton_tool_call_parse_failures_total %uA\n",
                    sh->streams_open, sh->tool_calls,
                    sh->tool_call_failures);

    b->last = p;
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* a counter by backend model: the models it counted for */

static u_char *
ngx_http_chaton_metrics_tokens(u_char *p, const char *name, const char *help,
    ngx_http_chaton_main_conf_t *mcf, size_t offset)
{
    ngx_str_t          *m;
    ngx_uint_t          i, n;
    ngx_atomic_uint_t   v;

    m = mcf->models.elts;
    n = mcf->models.nelts + 1;

    p = ngx_sprintf(p, "# HELP %s %s, by backend model.\n"
                       "# TYPE %s counter\n", name, help, name);

    for (i = 0; i < n; i++) {
        v = *(ngx_atomic_t *) ((u_char *) &mcf->metrics->model[i] + offset);

        if (v) {
            p = ngx_sprintf(p, "%s{model=\"%V\"} %uA\n", name,
                            i < n - 1 ? &m[i] : &ngx_http_chaton_metrics_other,
                            v);
        }
    }

    return p;
}


/* a histogram by backend model */

static u_char *
ngx_http_chaton_metrics_histograms(u_char *p, const char *name,
    const char *help, ngx_http_chaton_main_conf_t *mcf, size_t offset)
{
    ngx_str_t   *m;
    ngx_uint_t   i, n;

    m = mcf->models.elts;
    n = mcf->models.nelts + 1;

    p = ngx_sprintf(p, "# HELP %s %s, by backend model.\n"
                       "# TYPE %s histogram\n", name, help, name);

    for (i = 0; i < n; i++) {
        p = ngx_http_chaton_metrics_histogram(p, name,
                i < n - 1 ? &m[i] : &ngx_http_chaton_metrics_other,
                (ngx_http_chaton_histogram_t *)
                    ((u_char *) &mcf->metrics->model[i] + offset));
    }

    return p;
}


/* one model's histogram, cumulative as Prometheus reads it; none if empty */

static u_char *
ngx_http_chaton_metrics_histogram(u_char *p, const char *name,
    ngx_str_t *model, ngx_http_chaton_histogram_t *h)
{
    ngx_uint_t         i;
    ngx_msec_t         le;
    ngx_atomic_uint_t  sum, count;

    count = h->count;

    if (count == 0) {
        return p;
    }

    sum = 0;

    for (i = 0; i < NGX_HTTP_CHATON_NBUCKETS - 1; i++) {
        sum += h->bucket[i];
        le = ngx_http_chaton_metrics_bounds[i];

        p = ngx_sprintf(p, "%s_bucket{model=\"%V\",le=\"%M.%03M\"} %uA\n",
                        name, model, le / 1000, le % 1000, sum);
    }

    sum += h->bucket[i];

    p = ngx_sprintf(p, "%s_bucket{model=\"%V\",le=\"+Inf\"} %uA\n"
                       "%s_sum{model=\"%V\"} %uA.%03uA\n"
                       "%s_count{model=\"%V\"} %uA\n",
                    name, model, sum,
                    name, model, h->sum / 1000, h->sum % 1000,
                    name, model, sum);

    return p;
}
