
/*
 * ngx_chaton: directives, configuration, the router.
 */


#include "ngx_http_chaton_module.h"

#if (NGX_LINUX) && defined(__GLIBC__)
#include <malloc.h>
#define NGX_HTTP_CHATON_MALLOPT  1
#endif


static ngx_int_t ngx_http_chaton_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_not_found(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_unauthorized(ngx_http_request_t *r);
static void ngx_http_chaton_body_read(ngx_http_request_t *r);
static void ngx_http_chaton_state_free(void *data);
#if (NGX_DEBUG)
static void ngx_http_chaton_pool_count(ngx_pool_t *pool, size_t *used,
    ngx_uint_t *blocks, ngx_uint_t *large);
#endif
static ngx_int_t ngx_http_chaton_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static void *ngx_http_chaton_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_chaton_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_chaton_set_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_chaton_backend(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_chaton_time_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_chaton_cors_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_chaton_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_chaton_init_module(ngx_cycle_t *cycle);
static char *ngx_http_chaton_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_chaton_malloc_trim(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_chaton_init_process(ngx_cycle_t *cycle);
static char *ngx_http_chaton_tokenizer(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_chaton_read_file(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *text);
static void *ngx_http_chaton_palloc(void *pool, size_t size);
static void *ngx_http_chaton_heap_alloc(void *pool, size_t size);
static void ngx_http_chaton_heap_free(void *pool, void *p);
static void ngx_http_chaton_pfree(void *pool, void *p);


static ngx_int_t  ngx_http_chaton_request_id_index;

static chaton_alloc_t  ngx_http_chaton_heap_alloc_t = {
    ngx_http_chaton_heap_alloc,
    ngx_http_chaton_heap_free,
    NULL
};


static ngx_command_t  ngx_http_chaton_commands[] = {

    { ngx_string("chaton"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_chaton_set_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) ngx_http_chaton_handler },

    { ngx_string("chaton_error"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_chaton_set_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) ngx_http_chaton_error_handler },

    { ngx_string("chaton_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_chaton_credentials,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_client_keys"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_chaton_client_keys,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_passthrough"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_chaton_backend,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, passthrough),
      NULL },

    { ngx_string("chaton_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, retry_after),
      NULL },

    { ngx_string("chaton_time_zone"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_chaton_time_zone,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, time_zone),
      NULL },

    { ngx_string("chaton_backend"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_chaton_backend,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, backend),
      NULL },

    { ngx_string("chaton_fetch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, fetch),
      NULL },

    { ngx_string("chaton_crawl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, crawl),
      NULL },

    { ngx_string("chaton_crawl_max_urls"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, crawl_max_urls),
      NULL },

    { ngx_string("chaton_crawl_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, crawl_max_size),
      NULL },

    { ngx_string("chaton_model"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
                        |NGX_CONF_TAKE23,
      ngx_http_chaton_model,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_context_window"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_chaton_context_window,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_default_model"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, default_model),
      NULL },

    { ngx_string("chaton_function_web_search"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, web_search),
      NULL },

    { ngx_string("chaton_function_image_gen"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, image_gen),
      NULL },

    { ngx_string("chaton_function_code_interpreter"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, code_interpreter),
      NULL },

    { ngx_string("chaton_tokenizer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_chaton_tokenizer,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_max_tokens"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, max_tokens),
      NULL },

    { ngx_string("chaton_max_event_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, max_event_size),
      NULL },

    { ngx_string("chaton_coalesce_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, coalesce_size),
      NULL },

    { ngx_string("chaton_max_answer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, max_answer_size),
      NULL },

    { ngx_string("chaton_max_image_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, max_image_size),
      NULL },

    { ngx_string("chaton_max_images"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, max_images),
      NULL },

    { ngx_string("chaton_heartbeat"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, heartbeat),
      NULL },

    { ngx_string("chaton_stream_wait"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chaton_loc_conf_t, stream_wait),
      NULL },

    { ngx_string("chaton_cors_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
                        |NGX_CONF_1MORE,
      ngx_http_chaton_cors_origins,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_responses_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_chaton_store_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_malloc_trim_threshold"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_chaton_malloc_trim,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_chaton_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chaton_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_chaton_metrics_location,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_chaton_module_ctx = {
    ngx_http_chaton_add_variables,         /* preconfiguration */
    ngx_http_chaton_init,                  /* postconfiguration */

    ngx_http_chaton_metrics_create_conf,   /* create main configuration */
    ngx_http_chaton_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_chaton_create_loc_conf,       /* create location configuration */
    ngx_http_chaton_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_chaton_module = {
    NGX_MODULE_V1,
    &ngx_http_chaton_module_ctx,           /* module context */
    ngx_http_chaton_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_chaton_init_module,           /* init module */
    ngx_http_chaton_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The router: the route is read by the core's one parser, after "/v1/" or
 * the location's prefix (a regex, exact or named location has none).
 */

static ngx_int_t
ngx_http_chaton_handler(ngx_http_request_t *r)
{
    chaton_route_t               rt;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    ngx_http_chaton_route(r, &r->uri, &rt);

    /* browsers send preflights without the key */

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_http_chaton_preflight(r);
    }

    if (lcf->clients && ngx_http_chaton_client(r) == NULL) {
        return ngx_http_chaton_unauthorized(r);
    }

    switch (rt.route) {

    case CHATON_ROUTE_CHAT:
        return ngx_http_chaton_chat_handler(r);

    case CHATON_ROUTE_MESSAGES:
        return ngx_http_chaton_messages_handler(r);

    case CHATON_ROUTE_COUNT_TOKENS:
        return ngx_http_chaton_count_tokens_handler(r);

    case CHATON_ROUTE_RESPONSES:
        return ngx_http_chaton_responses_handler(r);

    case CHATON_ROUTE_RESPONSE:
    case CHATON_ROUTE_RESPONSE_ITEMS:
        return ngx_http_chaton_response_handler(r, &rt);

    case CHATON_ROUTE_IMAGES:
        return ngx_http_chaton_images_handler(r);

    case CHATON_ROUTE_SPEECH:
        return ngx_http_chaton_speech_handler(r);

    case CHATON_ROUTE_MODELS:
    case CHATON_ROUTE_MODEL:
        return ngx_http_chaton_models_handler(r, &rt);
    }

    return ngx_http_chaton_not_found(r);
}


/* whether the request's location answers with the module's router */

ngx_uint_t
ngx_http_chaton_served(ngx_http_request_t *r)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    return clcf->handler == ngx_http_chaton_handler;
}


/*
 * The route of a URI (the request's, or the one an error_page came from)
 * as the router reads it in the current location.
 */

void
ngx_http_chaton_route(ngx_http_request_t *r, ngx_str_t *uri,
    chaton_route_t *rt)
{
    ngx_str_t                  prefix;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    prefix = clcf->name;

    if (clcf->exact_match || clcf->named
#if (NGX_PCRE)
        || clcf->regex
#endif
       )
    {
        ngx_str_null(&prefix);
    }

    chaton_route_parse(rt, uri->data, uri->len, prefix.data, prefix.len);
}


static ngx_int_t
ngx_http_chaton_unauthorized(ngx_http_request_t *r)
{
    ngx_int_t    rc;
    const char  *msg;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    /* never a word of the key that was sent */

    if (r->headers_in.authorization
        || ngx_http_chaton_find_header(&r->headers_in.headers, "x-api-key", 9))
    {
        msg = "Incorrect API key provided.";

    } else {
        msg = "You didn't provide an API key: send it as \"Authorization: "
              "Bearer <key>\" or \"x-api-key: <key>\".";
    }

    return ngx_http_chaton_fail(r, NGX_HTTP_UNAUTHORIZED, "invalid_api_key",
                                msg);
}


static ngx_int_t
ngx_http_chaton_not_found(ngx_http_request_t *r)
{
    ngx_int_t       rc;
    chaton_error_t  err;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    (void) chaton_error_set(&err, NGX_HTTP_NOT_FOUND, NULL, "unknown_url",
                            "Unknown request URL: %.*s %.*s. Please check "
                            "the URL for typos.",
                            (int) ngx_min(r->method_name.len, 16),
                            r->method_name.data,
                            (int) ngx_min(r->uri.len, 128), r->uri.data);

    return ngx_http_chaton_send_error(r, &err);
}


/*
 * The start of every POST route: the method, a context of the route's
 * size (it begins with ngx_http_chaton_req_t) in a state pool of its own
 * (blocks of the route's state size), the body read without blocking,
 * then the route's start with the body.
 */

ngx_int_t
ngx_http_chaton_read_request(ngx_http_request_t *r, size_t size,
    size_t state, ngx_http_chaton_start_pt start)
{
    ngx_int_t               rc;
    ngx_pool_t             *pool;
    ngx_pool_cleanup_t     *cln;
    ngx_http_chaton_req_t  *req;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_chaton_method_not_allowed(r, "POST");
    }

    /*
     * Registered before any cleanup of the module's: the request pool runs
     * its cleanups last in, first out, so those that read the state run
     * while it is still there.
     */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pool = ngx_create_pool(state, r->connection->log);
    if (pool == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_chaton_state_free;
    cln->data = pool;

    req = ngx_pcalloc(pool, size);
    if (req == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req->start = start;
    req->pool = pool;
    req->started = ngx_current_msec;

    ngx_http_set_ctx(r, req, ngx_http_chaton_module);

    rc = ngx_http_read_client_request_body(r, ngx_http_chaton_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * A request's state (the route's context, its calls, the answer's writer
 * and state) lives in a pool of its own, the size of a stream's, rather
 * than in the request's.  A stream's request pool is then nginx's alone:
 * the request, the subrequest and the upstream take about three of its
 * 4 KiB blocks, and the state in there would add a fourth to every open
 * stream (docs/profile.md, "Memory per open stream").  The GET routes,
 * with no state to speak of, keep the request's pool.
 */

ngx_pool_t *
ngx_http_chaton_state_pool(ngx_http_request_t *r)
{
    ngx_http_chaton_req_t  *req;

    req = ngx_http_get_module_ctx(r->main, ngx_http_chaton_module);

    return (req && req->pool) ? req->pool : r->main->pool;
}


static void
ngx_http_chaton_state_free(void *data)
{
    ngx_pool_t  *pool = data;

    ngx_destroy_pool(pool);
}


static void
ngx_http_chaton_body_read(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_str_t               body;
    ngx_http_chaton_req_t  *req;

    req = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    rc = ngx_http_chaton_read_body(r, &body);

    if (rc == NGX_OK) {
        rc = req->start(r, &body);
    }

    /* NGX_DONE: the route's calls are under way and will finish it */

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * Once a route has what it needs of the client's body (a conversation's
 * parser copies the messages to the setup pool, the rest to the state),
 * the body's memory goes back: a stream would otherwise hold the client's
 * whole conversation, as nginx read it and as it was joined, for its
 * life.  Only the request pool's large allocations can go (ngx_pfree()):
 * a body read with the request's header is in the connection's buffer,
 * one spooled to a file stays there until the request ends.  Not for a
 * body passed on as it is (chaton_passthrough): the route says when.
 */

void
ngx_http_chaton_body_release(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_chain_t              *cl;
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    if (rb == NULL) {
        return;
    }

    /* the joined copy, if any (ngx_http_chaton_read_body()) */

    if (body->data) {
        (void) ngx_pfree(r->pool, body->data);
        ngx_str_null(body);
    }

    for (cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->start) {
            (void) ngx_pfree(r->pool, cl->buf->start);
        }
    }

    if (rb->buf && rb->buf->start) {
        (void) ngx_pfree(r->pool, rb->buf->start);
    }

    rb->bufs = NULL;
    rb->buf = NULL;
}


/*
 * The client body as one piece of memory.  A body in one memory buffer is
 * used in place; otherwise the parts are joined, reading those nginx has
 * spooled to a temp file.  That read is a pread() of a file nginx has just
 * written, served from the page cache; client_body_buffer_size as large as
 * client_max_body_size avoids it altogether (README says so).
 */

static ngx_int_t
ngx_http_chaton_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    off_t         len;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            if (b->last != b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }

            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n != b->file_last - b->file_pos) {
            ngx_http_chaton_log(NGX_LOG_ERR, r,
                          "read only %z of %O bytes of the "
                          "request body from \"%V\"",
                          n, b->file_last - b->file_pos, &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}


#if (NGX_DEBUG)

/*
 * What the request's pool and the state's hold, in the debug log: their
 * blocks (the bytes used in them, their headers included) and their large
 * allocations.  A stream's memory is mostly these pools, so their steps
 * show where it goes (scripts/pool-steps, docs/profile.md).  Called
 * through ngx_http_chaton_pool_debug(), only where the log takes
 * debug_http lines.
 */

void
ngx_http_chaton_pool_log(ngx_http_request_t *r, const char *step)
{
    size_t       used[2];
    ngx_uint_t   blocks[2], large[2];
    ngx_pool_t  *state;

    ngx_http_chaton_pool_count(r->pool, &used[0], &blocks[0], &large[0]);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "chaton pool: %s: %uz bytes in %ui blocks, %ui large",
                   step, used[0], blocks[0], large[0]);

    state = ngx_http_chaton_state_pool(r);

    if (state != r->main->pool) {
        ngx_http_chaton_pool_count(state, &used[1], &blocks[1], &large[1]);

        ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "chaton state: %s: %uz bytes in %ui blocks, %ui large",
                       step, used[1], blocks[1], large[1]);
    }
}


static void
ngx_http_chaton_pool_count(ngx_pool_t *pool, size_t *used,
    ngx_uint_t *blocks, ngx_uint_t *large)
{
    ngx_pool_t        *p;
    ngx_pool_large_t  *l;

    *used = 0;
    *blocks = 0;
    *large = 0;

    for (p = pool; p; p = p->d.next) {
        *used += p->d.last - (u_char *) p;
        (*blocks)++;
    }

    for (l = pool->large; l; l = l->next) {
        if (l->alloc) {
            (*large)++;
        }
    }
}

#endif


/* the core's allocator, backed by a pool: pfree only frees large blocks */

void
ngx_http_chaton_alloc_init(chaton_alloc_t *a, ngx_pool_t *pool)
{
    a->alloc = ngx_http_chaton_palloc;
    a->free = ngx_http_chaton_pfree;
    a->pool = pool;
}


static void *
ngx_http_chaton_palloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


static void
ngx_http_chaton_pfree(void *pool, void *p)
{
    (void) ngx_pfree(pool, p);
}


/*
 * The core's allocator on the heap, for memory that comes and goes within
 * a request (a stream's SSE line): given back for real, where a pool keeps
 * its small blocks to the end.  Whoever takes from it gives back what it
 * holds by the request's end.
 */

chaton_alloc_t *
ngx_http_chaton_heap(void)
{
    return &ngx_http_chaton_heap_alloc_t;
}


static void *
ngx_http_chaton_heap_alloc(void *pool, size_t size)
{
    return ngx_alloc(size, ngx_cycle->log);
}


static void
ngx_http_chaton_heap_free(void *pool, void *p)
{
    ngx_free(p);
}


static void *
ngx_http_chaton_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_chaton_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_chaton_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->time_zone = { 0, NULL };
     *     conf->backend = { 0, NULL };
     *     conf->default_model = { 0, NULL };
     *     conf->models = NULL;
     *     conf->nmodels = 0;
     *     conf->fallback = NULL;
     */

    conf->creds = NGX_CONF_UNSET_PTR;
    conf->clients = NGX_CONF_UNSET_PTR;
    conf->retry_after = NGX_CONF_UNSET;
    conf->aliases = NGX_CONF_UNSET_PTR;
    conf->max_tokens = NGX_CONF_UNSET_UINT;
    conf->max_event_size = NGX_CONF_UNSET_SIZE;
    conf->coalesce_size = NGX_CONF_UNSET_SIZE;
    conf->max_answer_size = NGX_CONF_UNSET_SIZE;
    conf->max_image_size = NGX_CONF_UNSET_SIZE;
    conf->max_images = NGX_CONF_UNSET_UINT;
    conf->heartbeat = NGX_CONF_UNSET_MSEC;
    conf->stream_wait = NGX_CONF_UNSET_MSEC;
    conf->cors_origins = NGX_CONF_UNSET_PTR;
    conf->store_zone = NGX_CONF_UNSET_PTR;
    conf->store_ttl = NGX_CONF_UNSET;
    conf->crawl = NGX_CONF_UNSET;
    conf->crawl_max_urls = NGX_CONF_UNSET_UINT;
    conf->crawl_max_size = NGX_CONF_UNSET_SIZE;
    conf->windows = NGX_CONF_UNSET_PTR;
    conf->web_search = NGX_CONF_UNSET;
    conf->image_gen = NGX_CONF_UNSET;
    conf->code_interpreter = NGX_CONF_UNSET;
    conf->tokenizer = NGX_CONF_UNSET_PTR;

    return conf;
}


/* a configuration's first chat location without chaton_tokenizer */

static ngx_cycle_t  *ngx_http_chaton_untokenized;
static ngx_str_t     ngx_http_chaton_untokenized_name;


static char *
ngx_http_chaton_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_chaton_loc_conf_t *prev = parent;
    ngx_http_chaton_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_ptr_value(conf->creds, prev->creds, NULL);
    ngx_conf_merge_ptr_value(conf->clients, prev->clients, NULL);
    ngx_conf_merge_str_value(conf->passthrough, prev->passthrough, "");
    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 1);

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_chaton_handler && conf->creds == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chaton\" in location \"%V\" needs "
                           "\"chaton_credentials\"", &clcf->name);
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_str_value(conf->time_zone, prev->time_zone, "+00:00");
    ngx_conf_merge_str_value(conf->backend, prev->backend,
                             "/chaton-backend/");
    ngx_conf_merge_uint_value(conf->max_tokens, prev->max_tokens, 8000);
    ngx_conf_merge_size_value(conf->max_event_size, prev->max_event_size,
                              1024 * 1024);
    ngx_conf_merge_size_value(conf->coalesce_size, prev->coalesce_size,
                              32 * 1024);
    ngx_conf_merge_size_value(conf->max_answer_size, prev->max_answer_size,
                              8 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->max_image_size, prev->max_image_size,
                              20 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->max_images, prev->max_images, 16);
    ngx_conf_merge_msec_value(conf->heartbeat, prev->heartbeat, 10000);
    ngx_conf_merge_msec_value(conf->stream_wait, prev->stream_wait, 5000);
    ngx_conf_merge_ptr_value(conf->cors_origins, prev->cors_origins, NULL);
    ngx_conf_merge_ptr_value(conf->store_zone, prev->store_zone, NULL);
    ngx_conf_merge_sec_value(conf->store_ttl, prev->store_ttl, 3600);
    ngx_conf_merge_str_value(conf->fetch, prev->fetch, "/chaton-fetch");
    ngx_conf_merge_value(conf->crawl, prev->crawl, 1);
    ngx_conf_merge_uint_value(conf->crawl_max_urls, prev->crawl_max_urls, 3);
    ngx_conf_merge_size_value(conf->crawl_max_size, prev->crawl_max_size,
                              64 * 1024);

    ngx_conf_merge_value(conf->web_search, prev->web_search, 0);
    ngx_conf_merge_value(conf->image_gen, prev->image_gen, 0);
    ngx_conf_merge_value(conf->code_interpreter, prev->code_interpreter, 0);
    ngx_conf_merge_ptr_value(conf->tokenizer, prev->tokenizer, NULL);

    /* the first chat location without it, said once the log is open */

    if (clcf->handler == ngx_http_chaton_handler && conf->tokenizer == NULL
        && ngx_http_chaton_untokenized != cf->cycle)
    {
        ngx_http_chaton_untokenized = cf->cycle;
        ngx_http_chaton_untokenized_name = clcf->name;
    }

    return ngx_http_chaton_models_merge(cf, prev, conf,
                                   clcf->handler == ngx_http_chaton_handler);
}


/* the configuration is in force, its error log open: what it lacks */

static ngx_int_t
ngx_http_chaton_init_module(ngx_cycle_t *cycle)
{
    if (ngx_http_chaton_untokenized == cycle) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "no \"chaton_tokenizer\" in location \"%V\": "
                      "token usage is estimated, not counted",
                      &ngx_http_chaton_untokenized_name);
    }

    return NGX_OK;
}


static char *
ngx_http_chaton_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_chaton_main_conf_t *mcf = conf;

    ngx_conf_init_size_value(mcf->malloc_trim,
                             NGX_HTTP_CHATON_MALLOC_TRIM_DEFAULT);

    return NGX_CONF_OK;
}


/* chaton_malloc_trim_threshold <size> | off */

static char *
ngx_http_chaton_malloc_trim(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chaton_main_conf_t *mcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (mcf->malloc_trim != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        mcf->malloc_trim = 0;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    /* mallopt() takes an int */

    if (size == NGX_ERROR || size < 128 * 1024 || size > 1024 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be \"off\" or a size from 128k to "
                           "1g", &value[1]);
        return NGX_CONF_ERROR;
    }

    mcf->malloc_trim = size;

    return NGX_CONF_OK;
}


/*
 * A worker's heap, when it runs streams.  Besides nginx's own blocks, a
 * stream holds a few of odd sizes for a while (its state pool, the
 * conversation's setup pool, the output buffer), so that as streams begin
 * and end the free memory at the heap's top keeps crossing glibc's trim
 * threshold (128 KiB): free() gives the top back with brk(), the next
 * streams take it again, and each page taken again is a page fault.  With
 * 32 streams at once that was a fault every five to fifteen requests, and
 * a fault costs about 12 us in the virtual machines the benchmark ran on
 * (docs/profile.md, "A worker's heap").  Plain proxying's blocks fit the
 * holes they leave: it does not fault.  A higher threshold keeps that much
 * in the worker instead.
 *
 * Setting the threshold turns off glibc's own tuning of both thresholds
 * (it raises the mmap threshold to each large block freed, and keeps the
 * trim threshold at twice that), so the mmap threshold is set here too,
 * by the same rule: a request body of up to half the size is taken from
 * the heap, not mapped and faulted in page by page each time.
 */

static ngx_int_t
ngx_http_chaton_init_process(ngx_cycle_t *cycle)
{
#if (NGX_HTTP_CHATON_MALLOPT)
    size_t                        mmap;
    ngx_http_chaton_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_chaton_module);

    if (mcf == NULL || mcf->malloc_trim == 0) {
        return NGX_OK;
    }

    /* glibc's largest mmap threshold: half of HEAP_MAX_SIZE */

    mmap = ngx_min(mcf->malloc_trim / 2, 32 * 1024 * 1024);

    if (mallopt(M_TRIM_THRESHOLD, (int) mcf->malloc_trim) != 1
        || mallopt(M_MMAP_THRESHOLD, (int) mmap) != 1)
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "chaton_malloc_trim_threshold: mallopt() failed");
        return NGX_OK;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "chaton malloc trim threshold: %uz, mmap threshold: %uz",
                   mcf->malloc_trim, mmap);
#endif

    return NGX_OK;
}


/*
 * chaton_tokenizer <o200k_base.tiktoken> [<UnicodeData.txt>]: the
 * vocabulary is read here, in the master, once; the workers share it.
 */

static char *
ngx_http_chaton_tokenizer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chaton_loc_conf_t *lcf = conf;

    ngx_str_t       *value, ucd, ranks, ucd_text;
    const char      *why;
    chaton_bpe_t    *bpe;
    chaton_alloc_t   a;

    if (lcf->tokenizer != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 3) {
        ucd = value[2];

    } else {
        ngx_str_set(&ucd, "/usr/share/unicode/UnicodeData.txt");
    }

    if (ngx_http_chaton_read_file(cf, &value[1], &ranks) != NGX_OK
        || ngx_http_chaton_read_file(cf, &ucd, &ucd_text) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_http_chaton_alloc_init(&a, cf->pool);
    why = "";

    switch (chaton_bpe_load(&bpe, &a, ranks.data, ranks.len, ucd_text.data,
                            ucd_text.len, &why))
    {
    case CHATON_OK:
        lcf->tokenizer = bpe;
        return NGX_CONF_OK;

    case CHATON_BAD:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "chaton_tokenizer \"%V\" \"%V\": %s",
                           &value[1], &ucd, why);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_ERROR;
}


/* a file's whole text, in the configuration's temporary pool */

static ngx_int_t
ngx_http_chaton_read_file(ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *text)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_str_t        path;
    ngx_file_info_t  fi;

    path = *name;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_ERROR;
    }

    n = -1;

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR) {
        text->len = ngx_file_size(&fi);
        text->data = ngx_pnalloc(cf->temp_pool, text->len + 1);

        if (text->data != NULL) {
            n = ngx_read_fd(fd, text->data, text->len);
        }
    }

    if (n != (ssize_t) text->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "reading \"%V\" failed", &path);
    }

    ngx_close_file(fd);

    return (n == (ssize_t) text->len) ? NGX_OK : NGX_ERROR;
}


/* "chaton" and "chaton_error": the location's content handler, in post */

static char *
ngx_http_chaton_set_handler(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate or the location has another handler";
    }

    clcf->handler = (ngx_http_handler_pt) cmd->post;

    return NGX_CONF_OK;
}


static char *
ngx_http_chaton_backend(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *value;
    char       *rv;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    value = cf->args->elts;

    if (value[1].len < 2
        || value[1].data[0] != '/'
        || value[1].data[value[1].len - 1] != '/')
    {
        return "must be a location prefix that starts and ends with \"/\"";
    }

    return NGX_CONF_OK;
}


/* chaton_time_zone -04:00; as the app sends it */

static char *
ngx_http_chaton_time_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char     *p;
    ngx_str_t  *value;
    char       *rv;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    value = cf->args->elts;
    p = value[1].data;

    if (value[1].len != 6
        || (p[0] != '+' && p[0] != '-')
        || !isdigit(p[1]) || !isdigit(p[2]) || p[3] != ':'
        || !isdigit(p[4]) || !isdigit(p[5]))
    {
        return "must be an offset like \"-04:00\"";
    }

    return NGX_CONF_OK;
}


/* chaton_cors_origins * | off | origin ...; */

static char *
ngx_http_chaton_cors_origins(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chaton_loc_conf_t *clcf = conf;

    ngx_str_t   *value, *o;
    ngx_uint_t   i;

    if (clcf->cors_origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    clcf->cors_origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                          sizeof(ngx_str_t));
    if (clcf->cors_origins == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (cf->args->nelts > 2
            && (ngx_strcmp(value[i].data, "*") == 0
                || ngx_strcmp(value[i].data, "off") == 0))
        {
            return "takes \"*\" or \"off\" alone";
        }

        o = ngx_array_push(clcf->cors_origins);
        if (o == NULL) {
            return NGX_CONF_ERROR;
        }

        *o = value[i];
    }

    return NGX_CONF_OK;
}


/* $request_id of the main request, for the log lines */

ngx_str_t *
ngx_http_chaton_request_id(ngx_http_request_t *r)
{
    ngx_str_t                  *id;
    ngx_http_variable_value_t  *v;
    static ngx_str_t            none = ngx_string("-");

    v = ngx_http_get_indexed_variable(r->main,
                                      ngx_http_chaton_request_id_index);

    id = (v && !v->not_found) ? ngx_palloc(r->pool, sizeof(ngx_str_t))
                              : NULL;

    if (id == NULL) {
        return &none;
    }

    id->data = v->data;
    id->len = v->len;

    return id;
}


static ngx_int_t
ngx_http_chaton_init(ngx_conf_t *cf)
{
    ngx_str_t  name = ngx_string("request_id");

    ngx_http_chaton_request_id_index = ngx_http_get_variable_index(cf, &name);

    if (ngx_http_chaton_request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ngx_http_chaton_backend_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_chaton_metrics_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_filter_init(cf);
}
