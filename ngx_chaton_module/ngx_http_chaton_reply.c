
/*
 * ngx_chaton: what the client receives besides translated streams — JSON
 * answers, OpenAI-shaped errors (also for errors nginx itself raises, via
 * error_page and the "chaton_error" handler), CORS.
 */


#include "ngx_http_chaton_module.h"


static ngx_int_t ngx_http_chaton_write_error(ngx_http_request_t *r,
    chaton_error_t *err, ngx_str_t *uri);
static ngx_uint_t ngx_http_chaton_anthropic_errors(ngx_http_request_t *r,
    ngx_str_t *uri);
static ngx_int_t ngx_http_chaton_header_out(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);


ngx_int_t
ngx_http_chaton_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_chain_t  *out, **ll;

    out = NULL;
    ll = &out;

    if (ngx_http_chaton_chain_add(r, &ll, data, len) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_chain(r, status, out);
}


/* a JSON answer in pieces: each one is sent from where it is */

ngx_int_t
ngx_http_chaton_send_chain(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    r->headers_out.status = status;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    if (ngx_http_chaton_cors(r) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = (r == r->main) ? 1 : 0;
    cl->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, out);
}


/* a response's last bytes (maybe none), and its end */

ngx_int_t
ngx_http_chaton_send_last(ngx_http_request_t *r, u_char *data, size_t len)
{
    ngx_chain_t  *out, **ll;

    out = NULL;
    ll = &out;

    if (ngx_http_chaton_chain_add(r, &ll, data, len) != NGX_OK) {
        return NGX_ERROR;
    }

    out->buf->last_buf = 1;
    out->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, out);
}


/* appends a buffer of the bytes at data to a chain being built */

ngx_int_t
ngx_http_chaton_chain_add(ngx_http_request_t *r, ngx_chain_t ***ll,
    u_char *data, size_t len)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = len ? 1 : 0;

    cl->buf = b;
    cl->next = NULL;

    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}


/*
 * The one way an error leaves the module before a stream has begun.  It is
 * logged here, once: client mistakes at "info", the rest at "error".
 */

ngx_int_t
ngx_http_chaton_send_error(ngx_http_request_t *r, chaton_error_t *err)
{
    ngx_uint_t  level;

    level = (err->status < 500) ? NGX_LOG_INFO : NGX_LOG_ERR;

    ngx_http_chaton_log(level, r, "%d %s: %*s",
                  err->status, err->code ? err->code : "error",
                  (size_t) err->text_len, err->text);

    return ngx_http_chaton_write_error(r, err, &r->uri);
}


/* the error in the shape of the API that "uri" (the client's) belongs to */

static ngx_int_t
ngx_http_chaton_write_error(ngx_http_request_t *r, chaton_error_t *err,
    ngx_str_t *uri)
{
    int                     rc;
    ngx_uint_t              status;
    chaton_buf_t            b;
    chaton_alloc_t          a;
    ngx_http_chaton_req_t  *req;

    req = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    ngx_http_chaton_alloc_init(&a, r->pool);
    chaton_buf_init(&b, &a, 0);

    if (ngx_http_chaton_anthropic_errors(r, uri)) {
        status = chaton_error_anthropic_status(err);
        rc = chaton_error_anthropic_json(&b, err);

    } else {
        status = err->status;
        rc = chaton_error_json(&b, err);
    }

    if (rc != CHATON_OK) {
        return NGX_ERROR;
    }

    if (req && req->retry_after.len
        && err->status == NGX_HTTP_TOO_MANY_REQUESTS
        && ngx_http_chaton_header_out(r, "Retry-After", &req->retry_after)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_chaton_send_json(r, status, b.data, b.len);
}


/*
 * Anthropic's shape on its routes; and on the routes both APIs have
 * (models, an unknown URL) when the client speaks Anthropic's API, as it
 * says by "anthropic-version" (its SDKs and Claude Code always send it).
 */

static ngx_uint_t
ngx_http_chaton_anthropic_errors(ngx_http_request_t *r, ngx_str_t *uri)
{
    chaton_route_t  rt;

    ngx_http_chaton_route(r, uri, &rt);

    switch (rt.route) {

    case CHATON_ROUTE_MESSAGES:
    case CHATON_ROUTE_COUNT_TOKENS:
        return 1;

    case CHATON_ROUTE_CHAT:
    case CHATON_ROUTE_RESPONSES:
    case CHATON_ROUTE_RESPONSE:
    case CHATON_ROUTE_RESPONSE_ITEMS:
    case CHATON_ROUTE_IMAGES:
    case CHATON_ROUTE_SPEECH:
        return 0;
    }

    return ngx_http_chaton_find_header(&r->headers_in.headers,
                                       "anthropic-version", 17)
           != NULL;
}


ngx_int_t
ngx_http_chaton_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    chaton_error_t  err;

    chaton_error_text(&err, (int) status, code, (const u_char *) message,
                      ngx_strlen(message));

    return ngx_http_chaton_send_error(r, &err);
}


/*
 * A backend error.  429 keeps the backend's Retry-After (sent with the
 * error), so clients back off for as long as the backend asked.
 */

void
ngx_http_chaton_backend_error(ngx_http_chaton_call_t *call,
    chaton_error_t *err)
{
    ngx_int_t               timed_out;
    ngx_http_chaton_req_t  *req;

    timed_out = (call->rc == NGX_HTTP_GATEWAY_TIME_OUT);

    chaton_error_backend(err, (int) call->status, (int) timed_out,
                         call->answer.data, call->answer.len);

    req = ngx_http_get_module_ctx(call->request, ngx_http_chaton_module);

    if (req && err->status == NGX_HTTP_TOO_MANY_REQUESTS
        && call->retry_after.len)
    {
        req->retry_after = call->retry_after;
    }
}


ngx_int_t
ngx_http_chaton_method_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_int_t       rc;
    ngx_str_t       value;
    chaton_error_t  err;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    value.data = (u_char *) allow;
    value.len = ngx_strlen(allow);

    if (ngx_http_chaton_header_out(r, "Allow", &value) != NGX_OK) {
        return NGX_ERROR;
    }

    (void) chaton_error_set(&err, NGX_HTTP_NOT_ALLOWED, NULL,
                            "method_not_allowed",
                            "Method %.*s is not allowed here; use %s.",
                            (int) ngx_min(r->method_name.len, 16),
                            r->method_name.data, allow);

    return ngx_http_chaton_send_error(r, &err);
}


/* the head of an event stream; its status is final once this is sent */

ngx_int_t
ngx_http_chaton_send_stream_header(ngx_http_request_t *r)
{
    ngx_str_t  value;

    ngx_http_chaton_metrics_stream(r);

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    ngx_str_set(&value, "no-cache");

    if (ngx_http_chaton_header_out(r, "Cache-Control", &value) != NGX_OK) {
        return NGX_ERROR;
    }

    /* for nginx instances in front of this one */

    ngx_str_set(&value, "no");

    if (ngx_http_chaton_header_out(r, "X-Accel-Buffering", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_chaton_cors(r) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_send_header(r);
}


/*
 * CORS, so that browser clients (NextChat, ChatBox web) can call the API:
 * "chaton_cors_origins" lists the origins allowed ("*" by default), or is
 * "off".  A listed origin is echoed, with "Vary: Origin".
 */

ngx_int_t
ngx_http_chaton_cors(ngx_http_request_t *r)
{
    ngx_str_t                   *o, value;
    ngx_uint_t                   i;
    ngx_table_elt_t             *origin;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    if (lcf->cors_origins == NULL) {
        ngx_str_set(&value, "*");
        goto allow;
    }

    o = lcf->cors_origins->elts;

    if (o[0].len == 3 && ngx_strncmp(o[0].data, "off", 3) == 0) {
        return NGX_OK;
    }

    if (o[0].len == 1 && o[0].data[0] == '*') {
        ngx_str_set(&value, "*");
        goto allow;
    }

    ngx_str_set(&value, "Origin");

    if (ngx_http_chaton_header_out(r, "Vary", &value) != NGX_OK) {
        return NGX_ERROR;
    }

    origin = ngx_http_chaton_find_header(&r->headers_in.headers, "Origin",
                                         6);

    if (origin == NULL) {
        return NGX_OK;
    }

    for (i = 0; i < lcf->cors_origins->nelts; i++) {
        if (o[i].len == origin->value.len
            && ngx_strncasecmp(o[i].data, origin->value.data, o[i].len) == 0)
        {
            value = origin->value;
            goto allow;
        }
    }

    return NGX_OK;

allow:

    if (ngx_http_chaton_header_out(r, "Access-Control-Allow-Origin", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "Retry-After, X-Request-Id");

    return ngx_http_chaton_header_out(r, "Access-Control-Expose-Headers",
                                      &value);
}


ngx_int_t
ngx_http_chaton_preflight(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_str_set(&value, "GET, POST, OPTIONS");

    if (ngx_http_chaton_header_out(r, "Access-Control-Allow-Methods", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * SDKs send their own headers (X-Stainless-*, OpenAI-Organization,
     * anthropic-dangerous-direct-browser-access): those asked for are
     * allowed, or else the keys' and Anthropic's
     */

    h = ngx_http_chaton_find_header(&r->headers_in.headers,
                                    "Access-Control-Request-Headers", 30);

    if (h) {
        value = h->value;

    } else {
        ngx_str_set(&value, "Authorization, Content-Type, x-api-key, "
                            "anthropic-version, anthropic-beta, "
                            "anthropic-dangerous-direct-browser-access");
    }

    if (ngx_http_chaton_header_out(r, "Access-Control-Allow-Headers", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "86400");

    if (ngx_http_chaton_header_out(r, "Access-Control-Max-Age", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_chaton_cors(r) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/*
 * The content handler of the location error_page points at
 * ("location @chaton_error { chaton_error; }"): errors nginx raises itself
 * (413 body too large, 414, 400, limit_req's 503/429, 502/504 pages)
 * reach clients as OpenAI JSON, not HTML that clients cannot parse.
 */

ngx_int_t
ngx_http_chaton_error_handler(ngx_http_request_t *r)
{
    u_char                      *p;
    ngx_str_t                    retry, uri;
    ngx_uint_t                   status;
    chaton_error_t               err;
    ngx_http_chaton_loc_conf_t  *lcf;

    status = r->err_status ? r->err_status : r->headers_out.status;

    (void) ngx_http_discard_request_body(r);

    status = chaton_error_status(&err, (int) status);

    /* limit_req and limit_conn say no more than "later": how much later */

    if (status == NGX_HTTP_TOO_MANY_REQUESTS
        || status == NGX_HTTP_SERVICE_UNAVAILABLE)
    {
        lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        retry.data = p;
        retry.len = ngx_sprintf(p, "%T", lcf->retry_after) - p;

        if (ngx_http_chaton_header_out(r, "Retry-After", &retry) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /*
     * nginx has logged its own reason already.  The URI is now error_page's:
     * the route is the client's URI's, as in the request line
     */

    uri = r->unparsed_uri;

    p = ngx_strlchr(uri.data, uri.data + uri.len, '?');
    if (p) {
        uri.len = p - uri.data;
    }

    return ngx_http_chaton_write_error(r, &err, &uri);
}


ngx_table_elt_t *
ngx_http_chaton_find_header(ngx_list_t *headers, const char *name,
    size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &headers->part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


static ngx_int_t
ngx_http_chaton_header_out(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return NGX_OK;
}
