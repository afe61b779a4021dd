
/*
 * ngx_chaton: Prometheus metrics from a shared-memory zone.
 *
 * chaton_metrics_zone names the zone; it holds counters whose shape is
 * fixed at configuration time by the label sets: the routes (the route
 * table's labels), the backend models (the built-in table's and
 * chaton_model's), the credential sets' names and the client keys'
 * names.  A label's values come from configuration only, never from
 * client input: any other model or route is "other".  Workers add with
 * ngx_atomic_fetch_add: a request once, in the log phase; a backend call
 * where it ends; a credential retry where it starts.  No lock is taken.
 * chaton_metrics writes the text exposition format.
 */


#include "ngx_http_chaton_module.h"


#define NGX_HTTP_CHATON_NCLASSES   4     /* 2xx (and below), 3xx, 4xx, 5xx */
#define NGX_HTTP_CHATON_NBUCKETS   14    /* 13 bounds and +Inf */
#define NGX_HTTP_CHATON_NKINDS     8     /* the call kinds below */
#define NGX_HTTP_CHATON_NCALLED    5     /* the classes and "error" */
#define NGX_HTTP_CHATON_NREFUSED   3     /* 401, 403, 429 */

#define NGX_HTTP_CHATON_KIND_FETCH  6
#define NGX_HTTP_CHATON_KIND_PASS   7


typedef struct {
    ngx_atomic_t                 bucket[NGX_HTTP_CHATON_NBUCKETS];
    ngx_atomic_t                 count;
    ngx_atomic_t                 sum;            /* milliseconds */
} ngx_http_chaton_histogram_t;


struct ngx_http_chaton_model_counters_s {
    ngx_atomic_t                 prompt_tokens;
    ngx_atomic_t                 completion_tokens;
    ngx_http_chaton_histogram_t  ttft;
    ngx_http_chaton_histogram_t  duration;
};


struct ngx_http_chaton_client_counters_s {
    ngx_atomic_t                 requests[NGX_HTTP_CHATON_NCLASSES];
    ngx_atomic_t                 prompt_tokens;
    ngx_atomic_t                 completion_tokens;
};


/*
 * The zone: this header, then the counters the label sets size: by model
 * (nmodels + "other"), requests [route + "other"][model + "other"][class],
 * credential retries [set][refusal], by client.
 */

struct ngx_http_chaton_metrics_s {
    size_t                       size;           /* of this allocation */
    uint32_t                     layout;         /* crc32 of the labels */
    ngx_atomic_t                 streams_open;
    ngx_atomic_t                 tool_calls;
    ngx_atomic_t                 tool_call_failures;
    ngx_atomic_t                 calls[NGX_HTTP_CHATON_NKINDS]
                                      [NGX_HTTP_CHATON_NCALLED];
    ngx_atomic_t                 failovers[NGX_HTTP_CHATON_NKINDS];
    ngx_atomic_t                 counters[1];
};


static ngx_int_t ngx_http_chaton_metrics_add(ngx_conf_t *cf,
    ngx_http_chaton_main_conf_t *mcf, ngx_array_t *labels, u_char *name,
    size_t len);
static ngx_int_t ngx_http_chaton_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_chaton_metrics_layout(ngx_http_chaton_main_conf_t *mcf);
static size_t ngx_http_chaton_metrics_place(ngx_http_chaton_main_conf_t *mcf,
    ngx_http_chaton_metrics_t *sh);
static ngx_int_t ngx_http_chaton_metrics_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_metrics_counted(ngx_http_request_t *r,
    chaton_route_t *rt);
static ngx_uint_t ngx_http_chaton_metrics_index(ngx_array_t *labels,
    const u_char *name, size_t len);
static ngx_uint_t ngx_http_chaton_metrics_class(ngx_uint_t status);
static void ngx_http_chaton_metrics_client_log(ngx_http_request_t *r,
    ngx_http_chaton_main_conf_t *mcf, ngx_uint_t class,
    ngx_http_chaton_req_t *req);
static void ngx_http_chaton_metrics_observe(ngx_http_chaton_histogram_t *h,
    ngx_msec_int_t ms);
static ngx_int_t ngx_http_chaton_metrics_handler(ngx_http_request_t *r);
static size_t ngx_http_chaton_metrics_lines(ngx_http_chaton_main_conf_t *mcf);
static u_char *ngx_http_chaton_metrics_requests(u_char *p,
    ngx_http_chaton_main_conf_t *mcf);
static u_char *ngx_http_chaton_metrics_by(u_char *p, const char *name,
    const char *help, const char *label, ngx_array_t *labels, ngx_uint_t n,
    u_char *first, size_t stride);
static u_char *ngx_http_chaton_metrics_histograms(u_char *p,
    const char *name, const char *help, ngx_http_chaton_main_conf_t *mcf,
    size_t offset);
static u_char *ngx_http_chaton_metrics_histogram(u_char *p,
    const char *name, ngx_str_t *model, ngx_http_chaton_histogram_t *h);
static u_char *ngx_http_chaton_metrics_calls(u_char *p,
    ngx_http_chaton_metrics_t *sh);
static u_char *ngx_http_chaton_metrics_retries(u_char *p,
    ngx_http_chaton_main_conf_t *mcf);
static u_char *ngx_http_chaton_metrics_clients(u_char *p,
    ngx_http_chaton_main_conf_t *mcf);
static u_char *ngx_http_chaton_metrics_by_status(u_char *p,
    const char *name, const char *help, const char *label,
    ngx_array_t *labels, u_char *first, size_t stride,
    const char **statuses, ngx_uint_t nstatus);
static ngx_str_t *ngx_http_chaton_metrics_value(ngx_array_t *labels,
    ngx_uint_t i);


static const char  *ngx_http_chaton_metrics_classes[] = {
    "2xx", "3xx", "4xx", "5xx", "error"
};

/* by NGX_HTTP_CHATON_FOR_*, then the calls that are not the API's */

static const char  *ngx_http_chaton_metrics_kinds[] = {
    "other", "chat", "upload", "storage", "crawl", "speech", "fetch",
    "passthrough"
};

/* the refusals a credential set is retried on */

static const char  *ngx_http_chaton_metrics_refusals[] = {
    "401", "403", "429"
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
    size_t                        len;
    ngx_uint_t                    i;
    const char                   *route;
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_chaton_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->malloc_trim = NGX_CONF_UNSET_SIZE;

    if (ngx_array_init(&mcf->models, cf->pool, 16,
                       sizeof(ngx_http_chaton_label_t))
        != NGX_OK
        || ngx_array_init(&mcf->routes, cf->pool, 8,
                          sizeof(ngx_http_chaton_label_t))
           != NGX_OK
        || ngx_array_init(&mcf->credentials, cf->pool, 4,
                          sizeof(ngx_http_chaton_label_t))
           != NGX_OK
        || ngx_array_init(&mcf->clients, cf->pool, 8,
                          sizeof(ngx_http_chaton_label_t))
           != NGX_OK)
    {
        return NULL;
    }

    /* the built-in backend models have labels of their own */

    for (i = 0; i < chaton_models_nbuiltin; i++) {
        if (ngx_http_chaton_metrics_add(cf, mcf, &mcf->models,
                (u_char *) chaton_models_builtin[i].backend,
                chaton_models_builtin[i].backend_len)
            == NGX_ERROR)
        {
            return NULL;
        }
    }

    /* and so do the routes: a new route is counted apart as it is */

    for (i = 0; (route = chaton_route_label(i, &len)) != NULL; i++) {
        if (ngx_http_chaton_metrics_add(cf, mcf, &mcf->routes,
                                        (u_char *) route, len)
            == NGX_ERROR)
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

    if (len == ngx_http_chaton_metrics_other.len
        && ngx_strncmp(name, "other", len) == 0)
    {
        return NGX_OK;      /* it is counted as the others, under "other" */
    }

    return ngx_http_chaton_metrics_add(cf, mcf, &mcf->models, name, len)
           == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/* a credential set's name: returns its label's index */

ngx_int_t
ngx_http_chaton_metrics_credential(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_chaton_module);

    return ngx_http_chaton_metrics_add(cf, mcf, &mcf->credentials,
                                       name->data, name->len);
}


/* a client key's name (keys may share one): returns its label's index */

ngx_int_t
ngx_http_chaton_metrics_client(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_chaton_module);

    return ngx_http_chaton_metrics_add(cf, mcf, &mcf->clients, name->data,
                                       name->len);
}


/*
 * A label value, once: its index.  The value exposed is escaped as the
 * exposition format wants (backslash, double quote, line feed).
 */

static ngx_int_t
ngx_http_chaton_metrics_add(ngx_conf_t *cf, ngx_http_chaton_main_conf_t *mcf,
    ngx_array_t *labels, u_char *name, size_t len)
{
    u_char                   *p;
    size_t                    i, n;
    ngx_http_chaton_label_t  *l;

    i = ngx_http_chaton_metrics_index(labels, name, len);

    if (i < labels->nelts) {
        return (ngx_int_t) i;
    }

    n = len;

    for (i = 0; i < len; i++) {
        if (name[i] == '\\' || name[i] == '"' || name[i] == '\n') {
            n++;
        }
    }

    l = ngx_array_push(labels);
    if (l == NULL) {
        return NGX_ERROR;
    }

    l->name.data = name;
    l->name.len = len;

    l->value.data = ngx_pnalloc(cf->pool, n);
    if (l->value.data == NULL) {
        return NGX_ERROR;
    }

    l->value.len = n;

    for (p = l->value.data, i = 0; i < len; i++) {
        if (name[i] == '\\' || name[i] == '"' || name[i] == '\n') {
            *p++ = '\\';
            *p++ = (name[i] == '\n') ? 'n' : name[i];

        } else {
            *p++ = name[i];
        }
    }

    if (n > mcf->label_max) {
        mcf->label_max = n;
    }

    return (ngx_int_t) labels->nelts - 1;
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


/*
 * The counters survive a reload while the labels are the same (the
 * layout's crc32); other labels start them over.
 */

static ngx_int_t
ngx_http_chaton_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_chaton_main_conf_t  *omcf = data;

    size_t                        size;
    ngx_slab_pool_t              *shpool;
    ngx_http_chaton_metrics_t    *sh;
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    ngx_http_chaton_metrics_layout(mcf);

    size = ngx_http_chaton_metrics_place(mcf, NULL);

    sh = omcf ? omcf->metrics : shpool->data;

    if (sh && sh->layout == mcf->layout && sh->size == size) {
        mcf->metrics = sh;
        (void) ngx_http_chaton_metrics_place(mcf, sh);
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
    (void) ngx_http_chaton_metrics_place(mcf, sh);

    return NGX_OK;
}


/* the crc32 of every label set, in order: the shape of the counters */

static void
ngx_http_chaton_metrics_layout(ngx_http_chaton_main_conf_t *mcf)
{
    ngx_uint_t                i, k;
    ngx_array_t              *sets[4];
    ngx_http_chaton_label_t  *l;

    sets[0] = &mcf->models;
    sets[1] = &mcf->routes;
    sets[2] = &mcf->credentials;
    sets[3] = &mcf->clients;

    ngx_crc32_init(mcf->layout);

    for (k = 0; k < 4; k++) {
        l = sets[k]->elts;

        for (i = 0; i < sets[k]->nelts; i++) {
            ngx_crc32_update(&mcf->layout, l[i].name.data, l[i].name.len);
            ngx_crc32_update(&mcf->layout, (u_char *) "\n", 1);
        }

        ngx_crc32_update(&mcf->layout, (u_char *) "\n", 1);
    }

    ngx_crc32_final(mcf->layout);
}


/*
 * Where the counters the label sets size are, after the header: sets
 * mcf's pointers when sh is given.  Returns the zone's size in all.
 */

static size_t
ngx_http_chaton_metrics_place(ngx_http_chaton_main_conf_t *mcf,
    ngx_http_chaton_metrics_t *sh)
{
    u_char      *p, *start;
    ngx_uint_t   models;

    models = mcf->models.nelts + 1;

    start = (u_char *) sh;
    p = start + offsetof(ngx_http_chaton_metrics_t, counters);

    if (sh) {
        mcf->model = (ngx_http_chaton_model_counters_t *) p;
    }

    p += models * sizeof(ngx_http_chaton_model_counters_t);

    if (sh) {
        mcf->requests = (ngx_atomic_t *) p;
    }

    p += (mcf->routes.nelts + 1) * models * NGX_HTTP_CHATON_NCLASSES
         * sizeof(ngx_atomic_t);

    if (sh) {
        mcf->retries = (ngx_atomic_t *) p;
    }

    p += mcf->credentials.nelts * NGX_HTTP_CHATON_NREFUSED
         * sizeof(ngx_atomic_t);

    if (sh) {
        mcf->client = (ngx_http_chaton_client_counters_t *) p;
    }

    p += mcf->clients.nelts * sizeof(ngx_http_chaton_client_counters_t);

    return p - start;
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


/*
 * A backend call has ended (its post_subrequest's first run): by what it
 * was for and its status, and the upstream attempts proxy made beyond
 * the first (proxy_next_upstream), as $upstream_addr lists them.
 */

void
ngx_http_chaton_metrics_call(ngx_http_chaton_call_t *call)
{
    ngx_uint_t                    kind, class;
    ngx_http_request_t           *sr;
    ngx_http_chaton_metrics_t    *sh;
    ngx_http_chaton_main_conf_t  *mcf;

    sr = call->sr;
    mcf = ngx_http_get_module_main_conf(sr, ngx_http_chaton_module);
    sh = mcf->metrics;

    if (sh == NULL) {
        return;
    }

    switch (call->kind) {

    case NGX_HTTP_CHATON_CALL_FETCH:
        kind = NGX_HTTP_CHATON_KIND_FETCH;
        break;

    case NGX_HTTP_CHATON_CALL_PASS:
        kind = NGX_HTTP_CHATON_KIND_PASS;
        break;

    default: /* NGX_HTTP_CHATON_CALL_API */
        kind = call->purpose;
    }

    /* no status: no answer (refused, timed out, no live upstreams) */

    class = call->status ? ngx_http_chaton_metrics_class(call->status)
                         : NGX_HTTP_CHATON_NCALLED - 1;

    (void) ngx_atomic_fetch_add(&sh->calls[kind][class], 1);

    if (sr->upstream_states && sr->upstream_states->nelts > 1) {
        (void) ngx_atomic_fetch_add(&sh->failovers[kind],
                                    sr->upstream_states->nelts - 1);
    }
}


/* a call refused for its credential set is made again with the next */

void
ngx_http_chaton_metrics_retry(ngx_http_chaton_call_t *call)
{
    ngx_uint_t                    refusal;
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(call->request, ngx_http_chaton_module);

    if (mcf->metrics == NULL) {
        return;
    }

    switch (call->status) {

    case NGX_HTTP_UNAUTHORIZED:
        refusal = 0;
        break;

    case NGX_HTTP_FORBIDDEN:
        refusal = 1;
        break;

    default: /* NGX_HTTP_TOO_MANY_REQUESTS */
        refusal = 2;
    }

    (void) ngx_atomic_fetch_add(&mcf->retries[call->cred->label
                                              * NGX_HTTP_CHATON_NREFUSED
                                              + refusal],
                                1);
}


/* the log phase: a request the module answered is counted, once */

static ngx_int_t
ngx_http_chaton_metrics_log(ngx_http_request_t *r)
{
    ngx_uint_t                         route, model, class, status;
    ngx_msec_int_t                     ms;
    ngx_time_t                        *tp;
    chaton_route_t                     rt;
    ngx_http_chaton_req_t             *req;
    ngx_http_chaton_metrics_t         *sh;
    ngx_http_chaton_main_conf_t       *mcf;
    ngx_http_chaton_model_counters_t  *mc;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chaton_module);
    sh = mcf->metrics;

    if (sh == NULL || r != r->main
        || ngx_http_chaton_metrics_counted(r, &rt) != NGX_OK)
    {
        return NGX_OK;
    }

    req = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (req && req->stream_open) {
        req->stream_open = 0;
        (void) ngx_atomic_fetch_add(&sh->streams_open, (ngx_atomic_int_t) -1);
    }

    model = mcf->models.nelts;

    if (req) {
        model = ngx_http_chaton_metrics_index(&mcf->models,
                                              req->backend_model.data,
                                              req->backend_model.len);
    }

    mc = &mcf->model[model];

    status = r->err_status ? r->err_status : r->headers_out.status;

    /* no status: the client closed first, nginx's 499 */

    if (status == 0) {
        status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    class = ngx_http_chaton_metrics_class(status);

    route = rt.label ? ngx_http_chaton_metrics_index(&mcf->routes,
                                                     (u_char *) rt.label,
                                                     rt.label_len)
                     : mcf->routes.nelts;

    (void) ngx_atomic_fetch_add(&mcf->requests[(route * (mcf->models.nelts
                                                         + 1)
                                                + model)
                                               * NGX_HTTP_CHATON_NCLASSES
                                               + class],
                                1);

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));

    ngx_http_chaton_metrics_observe(&mc->duration, ngx_max(ms, 0));

    ngx_http_chaton_metrics_client_log(r, mcf, class, req);

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


/*
 * Whether the request is counted, and its route: one the router answered
 * (any URI: an unknown one is "other"), or an error nginx raised for a
 * route's URI that chaton_error answered (limit_req's 429, a body too
 * large); error pages of other URIs are not the API's.
 */

static ngx_int_t
ngx_http_chaton_metrics_counted(ngx_http_request_t *r, chaton_route_t *rt)
{
    u_char                    *q;
    ngx_str_t                  uri;
    ngx_http_core_loc_conf_t  *clcf;

    if (ngx_http_chaton_served(r)) {
        ngx_http_chaton_route(r, &r->uri, rt);
        return NGX_OK;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->handler != ngx_http_chaton_error_handler) {
        return NGX_DECLINED;
    }

    /* the client's URI, as the request line has it */

    uri = r->unparsed_uri;

    q = ngx_strlchr(uri.data, uri.data + uri.len, '?');
    if (q) {
        uri.len = q - uri.data;
    }

    ngx_http_chaton_route(r, &uri, rt);

    return rt->label ? NGX_OK : NGX_DECLINED;
}


/* a client key's requests and tokens, by its name */

static void
ngx_http_chaton_metrics_client_log(ngx_http_request_t *r,
    ngx_http_chaton_main_conf_t *mcf, ngx_uint_t class,
    ngx_http_chaton_req_t *req)
{
    ngx_int_t                           i;
    ngx_uint_t                         *labels;
    ngx_http_chaton_loc_conf_t         *lcf;
    ngx_http_chaton_client_counters_t  *cc;

    i = ngx_http_chaton_client_index(r);

    if (i == NGX_DECLINED) {
        return;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);
    labels = lcf->clients->labels.elts;

    cc = &mcf->client[labels[i]];

    (void) ngx_atomic_fetch_add(&cc->requests[class], 1);

    if (req) {
        (void) ngx_atomic_fetch_add(&cc->prompt_tokens, req->prompt_tokens);
        (void) ngx_atomic_fetch_add(&cc->completion_tokens,
                                    req->completion_tokens);
    }
}


/* a label value's index, or the number of values ("other") */

static ngx_uint_t
ngx_http_chaton_metrics_index(ngx_array_t *labels, const u_char *name,
    size_t len)
{
    ngx_uint_t                i;
    ngx_http_chaton_label_t  *l;

    l = labels->elts;

    for (i = 0; i < labels->nelts; i++) {
        if (l[i].name.len == len
            && ngx_strncmp(l[i].name.data, name, len) == 0)
        {
            return i;
        }
    }

    return labels->nelts;
}


static ngx_uint_t
ngx_http_chaton_metrics_class(ngx_uint_t status)
{
    return status < 300 ? 0 : status < 400 ? 1 : status < 500 ? 2 : 3;
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


/* the exposition: lines of at most this many bytes, and their labels */

#define NGX_HTTP_CHATON_METRICS_LINE  256


static ngx_int_t
ngx_http_chaton_metrics_handler(ngx_http_request_t *r)
{
    size_t                        size;
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_chain_t                   out;
    ngx_http_chaton_metrics_t    *sh;
    ngx_http_chaton_main_conf_t  *mcf;

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

    /* a line has two labels of configuration's at most */

    size = ngx_http_chaton_metrics_lines(mcf)
           * (NGX_HTTP_CHATON_METRICS_LINE + 2 * mcf->label_max);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_http_chaton_metrics_requests(b->last, mcf);

    p = ngx_http_chaton_metrics_by(p, "chaton_prompt_tokens_total",
            "Prompt tokens, by backend model", "model", &mcf->models,
            mcf->models.nelts + 1, (u_char *) &mcf->model->prompt_tokens,
            sizeof(ngx_http_chaton_model_counters_t));

    p = ngx_http_chaton_metrics_by(p, "chaton_completion_tokens_total",
            "Completion tokens, by backend model", "model", &mcf->models,
            mcf->models.nelts + 1,
            (u_char *) &mcf->model->completion_tokens,
            sizeof(ngx_http_chaton_model_counters_t));

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

    p = ngx_http_chaton_metrics_calls(p, sh);
    p = ngx_http_chaton_metrics_retries(p, mcf);
    p = ngx_http_chaton_metrics_clients(p, mcf);

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


/* how many lines the exposition has at most */

static size_t
ngx_http_chaton_metrics_lines(ngx_http_chaton_main_conf_t *mcf)
{
    size_t  models;

    models = mcf->models.nelts + 1;

    return 40
           + (mcf->routes.nelts + 1) * models * NGX_HTTP_CHATON_NCLASSES
           + models * (2 + 2 * (NGX_HTTP_CHATON_NBUCKETS + 2))
           + NGX_HTTP_CHATON_NKINDS * (NGX_HTTP_CHATON_NCALLED + 1)
           + mcf->credentials.nelts * NGX_HTTP_CHATON_NREFUSED
           + mcf->clients.nelts * (NGX_HTTP_CHATON_NCLASSES + 2);
}


/* requests by route, backend model and status class */

static u_char *
ngx_http_chaton_metrics_requests(u_char *p, ngx_http_chaton_main_conf_t *mcf)
{
    ngx_uint_t          route, model, class, models;
    ngx_atomic_uint_t   v;

    models = mcf->models.nelts + 1;

    p = ngx_cpymem(p, "# HELP chaton_requests_total Requests answered, by "
                      "route, backend model and status class.\n"
                      "# TYPE chaton_requests_total counter\n",
                   sizeof("# HELP chaton_requests_total Requests answered, "
                          "by route, backend model and status class.\n"
                          "# TYPE chaton_requests_total counter\n") - 1);

    for (model = 0; model < models; model++) {
        for (route = 0; route < mcf->routes.nelts + 1; route++) {
            for (class = 0; class < NGX_HTTP_CHATON_NCLASSES; class++) {
                v = mcf->requests[(route * models + model)
                                  * NGX_HTTP_CHATON_NCLASSES + class];

                if (v == 0) {
                    continue;
                }

                p = ngx_sprintf(p, "chaton_requests_total{route=\"%V\","
                                   "model=\"%V\",status=\"%s\"} %uA\n",
                                ngx_http_chaton_metrics_value(&mcf->routes,
                                                              route),
                                ngx_http_chaton_metrics_value(&mcf->models,
                                                              model),
                                ngx_http_chaton_metrics_classes[class], v);
            }
        }
    }

    return p;
}


/*
 * A counter by one label: n counters, stride bytes apart from the first,
 * the values it counted for.
 */

static u_char *
ngx_http_chaton_metrics_by(u_char *p, const char *name, const char *help,
    const char *label, ngx_array_t *labels, ngx_uint_t n, u_char *first,
    size_t stride)
{
    ngx_uint_t          i;
    ngx_atomic_uint_t   v;

    p = ngx_sprintf(p, "# HELP %s %s.\n"
                       "# TYPE %s counter\n", name, help, name);

    for (i = 0; i < n; i++) {
        v = *(ngx_atomic_t *) (first + i * stride);

        if (v) {
            p = ngx_sprintf(p, "%s{%s=\"%V\"} %uA\n", name, label,
                            ngx_http_chaton_metrics_value(labels, i), v);
        }
    }

    return p;
}


/* a histogram by backend model */

static u_char *
ngx_http_chaton_metrics_histograms(u_char *p, const char *name,
    const char *help, ngx_http_chaton_main_conf_t *mcf, size_t offset)
{
    ngx_uint_t  i;

    p = ngx_sprintf(p, "# HELP %s %s, by backend model.\n"
                       "# TYPE %s histogram\n", name, help, name);

    for (i = 0; i < mcf->models.nelts + 1; i++) {
        p = ngx_http_chaton_metrics_histogram(p, name,
                ngx_http_chaton_metrics_value(&mcf->models, i),
                (ngx_http_chaton_histogram_t *)
                    ((u_char *) &mcf->model[i] + offset));
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


/* backend calls by kind and status class, and proxy's failovers */

static u_char *
ngx_http_chaton_metrics_calls(u_char *p, ngx_http_chaton_metrics_t *sh)
{
    ngx_uint_t         kind, class;
    ngx_atomic_uint_t  v;

    p = ngx_sprintf(p, "# HELP chaton_backend_calls_total Backend calls "
                       "ended, by kind and status class (error: no "
                       "answer).\n"
                       "# TYPE chaton_backend_calls_total counter\n");

    for (kind = 0; kind < NGX_HTTP_CHATON_NKINDS; kind++) {
        for (class = 0; class < NGX_HTTP_CHATON_NCALLED; class++) {
            v = sh->calls[kind][class];

            if (v) {
                p = ngx_sprintf(p, "chaton_backend_calls_total{kind=\"%s\","
                                   "status=\"%s\"} %uA\n",
                                ngx_http_chaton_metrics_kinds[kind],
                                ngx_http_chaton_metrics_classes[class], v);
            }
        }
    }

    p = ngx_sprintf(p, "# HELP chaton_backend_failovers_total Upstream "
                       "attempts of backend calls beyond their first "
                       "(proxy_next_upstream), by kind.\n"
                       "# TYPE chaton_backend_failovers_total counter\n");

    for (kind = 0; kind < NGX_HTTP_CHATON_NKINDS; kind++) {
        v = sh->failovers[kind];

        if (v) {
            p = ngx_sprintf(p, "chaton_backend_failovers_total{kind=\"%s\"} "
                               "%uA\n",
                            ngx_http_chaton_metrics_kinds[kind], v);
        }
    }

    return p;
}


/* calls made again with the next credential set, by the refused set */

static u_char *
ngx_http_chaton_metrics_retries(u_char *p, ngx_http_chaton_main_conf_t *mcf)
{
    return ngx_http_chaton_metrics_by_status(p,
               "chaton_credential_retries_total",
               "Backend calls made again with the next credential set, by "
               "the set refused and the refusal", "credential",
               &mcf->credentials, (u_char *) mcf->retries,
               NGX_HTTP_CHATON_NREFUSED * sizeof(ngx_atomic_t),
               ngx_http_chaton_metrics_refusals, NGX_HTTP_CHATON_NREFUSED);
}


/* by client key's name: requests by status class, tokens */

static u_char *
ngx_http_chaton_metrics_clients(u_char *p, ngx_http_chaton_main_conf_t *mcf)
{
    p = ngx_http_chaton_metrics_by_status(p, "chaton_client_requests_total",
            "Requests answered, by client key's name and status class",
            "client", &mcf->clients, (u_char *) mcf->client->requests,
            sizeof(ngx_http_chaton_client_counters_t),
            ngx_http_chaton_metrics_classes, NGX_HTTP_CHATON_NCLASSES);

    p = ngx_http_chaton_metrics_by(p, "chaton_client_prompt_tokens_total",
            "Prompt tokens, by client key's name", "client", &mcf->clients,
            mcf->clients.nelts, (u_char *) &mcf->client->prompt_tokens,
            sizeof(ngx_http_chaton_client_counters_t));

    return ngx_http_chaton_metrics_by(p,
               "chaton_client_completion_tokens_total",
               "Completion tokens, by client key's name", "client",
               &mcf->clients, mcf->clients.nelts,
               (u_char *) &mcf->client->completion_tokens,
               sizeof(ngx_http_chaton_client_counters_t));
}


/*
 * A counter by a configured label and a status: for each of the label's
 * values, nstatus counters, the first of the next value's stride bytes
 * further.
 */

static u_char *
ngx_http_chaton_metrics_by_status(u_char *p, const char *name,
    const char *help, const char *label, ngx_array_t *labels, u_char *first,
    size_t stride, const char **statuses, ngx_uint_t nstatus)
{
    ngx_uint_t         i, k;
    ngx_atomic_uint_t  v;

    p = ngx_sprintf(p, "# HELP %s %s.\n"
                       "# TYPE %s counter\n", name, help, name);

    for (i = 0; i < labels->nelts; i++) {
        for (k = 0; k < nstatus; k++) {
            v = ((ngx_atomic_t *) (first + i * stride))[k];

            if (v) {
                p = ngx_sprintf(p, "%s{%s=\"%V\",status=\"%s\"} %uA\n",
                                name, label,
                                ngx_http_chaton_metrics_value(labels, i),
                                statuses[k], v);
            }
        }
    }

    return p;
}


/* a label's value as exposed: past the configured ones, "other" */

static ngx_str_t *
ngx_http_chaton_metrics_value(ngx_array_t *labels, ngx_uint_t i)
{
    ngx_http_chaton_label_t  *l;

    if (i >= labels->nelts) {
        return &ngx_http_chaton_metrics_other;
    }

    l = labels->elts;

    return &l[i].value;
}
