
/*
 * ngx_chaton: signed calls to the ChatOn API host.
 *
 * A call is a subrequest to the internal location named by
 * "chaton_backend" (by default "/chaton-backend/"), which proxy_passes to
 * the API host with a URI part of "/": a call to "/chats/stream" becomes
 * the subrequest "/chaton-backend/chats/stream", and proxy sends
 * "/chats/stream".  The signature covers that path as proxy escapes it, the
 * date and the exact body bytes; the headers reach the backend through the
 * variables below, used by proxy_set_header in that location (see
 * conf.d/chaton-backend.conf).  All of TLS, keepalive, timeouts, retries and
 * balancing stay stock proxy configuration.
 */


#include "ngx_http_chaton_module.h"


static ngx_int_t ngx_http_chaton_call_sign(ngx_http_request_t *r,
    ngx_http_chaton_call_t *call, const char *method, ngx_str_t *uri,
    ngx_str_t *args, ngx_str_t *body);
static ngx_http_chaton_call_t *ngx_http_chaton_call_start(
    ngx_http_request_t *r, ngx_http_chaton_call_args_t *args, void *data,
    ngx_uint_t cred, ngx_uint_t tries);
static ngx_int_t ngx_http_chaton_call_uri(ngx_http_request_t *r,
    ngx_http_chaton_call_t *call, ngx_http_chaton_call_args_t *args,
    ngx_str_t *uri, ngx_str_t *query);
static ngx_chain_t *ngx_http_chaton_call_body(ngx_pool_t *pool,
    ngx_str_t *body);
static ngx_int_t ngx_http_chaton_call_finished(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_chaton_call_content(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_call_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_chaton_backend_vars[] = {

    { ngx_string("chaton_date"), NULL, ngx_http_chaton_call_variable,
      offsetof(ngx_http_chaton_sending_t, date),
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("chaton_authorization"), NULL,
      ngx_http_chaton_call_variable,
      offsetof(ngx_http_chaton_sending_t, authorization),
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("chaton_content_type"), NULL, ngx_http_chaton_call_variable,
      offsetof(ngx_http_chaton_sending_t, content_type),
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("chaton_time_zone"), NULL, ngx_http_chaton_call_variable,
      offsetof(ngx_http_chaton_sending_t, time_zone),
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("chaton_user_agent"), NULL, ngx_http_chaton_call_variable,
      offsetof(ngx_http_chaton_sending_t, user_agent),
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("chaton_fetch_url"), NULL, ngx_http_chaton_call_variable,
      offsetof(ngx_http_chaton_sending_t, url),
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_chaton_json_type =
    ngx_string("application/json; charset=UTF-8");


/* the credential set a request starts with: turn by turn, per worker */

static ngx_uint_t  ngx_http_chaton_cred_next;


/* ChatOn's routes and its event stream's type, named once */

static ngx_str_t  ngx_http_chaton_chat_path = ngx_string("/chats/stream");
static ngx_str_t  ngx_http_chaton_upload_path = ngx_string("/storage/upload");
static ngx_str_t  ngx_http_chaton_storage_path = ngx_string("/storage/");
static ngx_str_t  ngx_http_chaton_sse_type = ngx_string("text/event-stream");


/*
 * Starts a call: a subrequest, to the API host through the "chaton_backend"
 * location (signed with a credential set), to any URL through
 * "chaton_fetch" (nothing of ours is sent there), or to the location of
 * "chaton_passthrough" (the client's request, unchanged).  Returns the
 * call, or NULL on failure.
 */

ngx_http_chaton_call_t *
ngx_http_chaton_call(ngx_http_request_t *r, ngx_http_chaton_call_args_t *args,
    void *data)
{
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    return ngx_http_chaton_call_start(r, args, data,
                                      ngx_http_chaton_cred_next++
                                      % lcf->creds->nelts, 0);
}


/*
 * POST /chats/stream with a ChatOn chat body: the conversation's call is
 * in the client's way (its output is the client's), an image's drawing in
 * the background.  A pool given holds the body and what the sending needs
 * (see ngx_http_chaton_call_sent()).
 */

ngx_http_chaton_call_t *
ngx_http_chaton_call_chat(ngx_http_request_t *r, ngx_str_t *body,
    ngx_uint_t background, ngx_pool_t *pool, void *data)
{
    ngx_http_chaton_call_args_t  args;

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.method = "POST";
    args.path = ngx_http_chaton_chat_path;
    args.body = *body;
    args.purpose = NGX_HTTP_CHATON_FOR_CHAT;
    args.pool = pool;
    args.background = background;

    return ngx_http_chaton_call(r, &args, data);
}


/*
 * POST /storage/upload: a multipart body, signed as an empty one; what
 * only its sending needs goes in pool (NULL: the request's state)
 */

ngx_http_chaton_call_t *
ngx_http_chaton_call_upload(ngx_http_request_t *r, ngx_chain_t *bufs,
    ngx_str_t *content_type, ngx_pool_t *pool, void *data)
{
    ngx_http_chaton_call_args_t  args;

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.method = "POST";
    args.path = ngx_http_chaton_upload_path;
    args.bufs = bufs;
    args.content_type = *content_type;
    args.capture = 64 * 1024;
    args.purpose = NGX_HTTP_CHATON_FOR_UPLOAD;
    args.pool = pool;
    args.background = 1;

    return ngx_http_chaton_call(r, &args, data);
}


/* GET /storage/<path>: where a stored picture can be downloaded */

ngx_http_chaton_call_t *
ngx_http_chaton_call_storage(ngx_http_request_t *r, u_char *path,
    size_t len, void *data)
{
    ngx_http_chaton_call_args_t  args;

    ngx_memzero(&args, sizeof(ngx_http_chaton_call_args_t));

    args.path.len = ngx_http_chaton_storage_path.len + len;
    args.path.data = ngx_pnalloc(r->pool, args.path.len);
    if (args.path.data == NULL) {
        return NULL;
    }

    ngx_memcpy(ngx_cpymem(args.path.data, ngx_http_chaton_storage_path.data,
                          ngx_http_chaton_storage_path.len),
               path, len);

    args.method = "GET";
    args.capture = 64 * 1024;
    args.purpose = NGX_HTTP_CHATON_FOR_STORAGE;
    args.background = 1;

    return ngx_http_chaton_call(r, &args, data);
}


/* whether a Content-Type is that of an event stream */

ngx_int_t
ngx_http_chaton_is_event_stream(ngx_str_t *type)
{
    return type->len >= ngx_http_chaton_sse_type.len
           && ngx_strncasecmp(type->data, ngx_http_chaton_sse_type.data,
                              ngx_http_chaton_sse_type.len)
              == 0;
}


/*
 * A call the backend refused for the credential set (401, 403) or for its
 * rate (429): the same call with the next set, if one is left.  Returns
 * the new call, or NULL (and then the refusal stands).
 */

ngx_http_chaton_call_t *
ngx_http_chaton_call_again(ngx_http_chaton_call_t *call)
{
    ngx_http_chaton_call_t      *again;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(call->request, ngx_http_chaton_module);

    if (call->kind != NGX_HTTP_CHATON_CALL_API || call->sending == NULL
        || (call->status != NGX_HTTP_UNAUTHORIZED
            && call->status != NGX_HTTP_FORBIDDEN
            && call->status != NGX_HTTP_TOO_MANY_REQUESTS)
        || call->tries + 1 >= lcf->creds->nelts)
    {
        return NULL;
    }

    ngx_http_chaton_log(NGX_LOG_WARN, call->request,
                  "the backend answered %ui to credential set "
                  "\"%V\", trying the next", call->status, &call->cred->name);

    ngx_http_chaton_metrics_retry(call);

    again = ngx_http_chaton_call_start(call->request, &call->sending->args,
                                       call->data,
                                       (call->cred_index + 1)
                                       % lcf->creds->nelts,
                                       call->tries + 1);
    if (again == NULL) {
        return NULL;
    }

    again->header = call->header;
    again->body = call->body;
    again->forward_ok = call->forward_ok;

    return again;
}


static ngx_http_chaton_call_t *
ngx_http_chaton_call_start(ngx_http_request_t *r,
    ngx_http_chaton_call_args_t *args, void *data, ngx_uint_t cred,
    ngx_uint_t tries)
{
    off_t                        len;
    ngx_str_t                    uri, query;
    ngx_chain_t                 *cl;
    ngx_http_request_t          *sr;
    ngx_pool_t                  *pool;
    ngx_http_chaton_call_t      *call;
    ngx_http_request_body_t     *rb;
    ngx_http_post_subrequest_t  *ps;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    /* the call lives as long as its request's state */

    pool = ngx_http_chaton_state_pool(r);

    call = ngx_pcalloc(pool, sizeof(ngx_http_chaton_call_t));
    if (call == NULL) {
        return NULL;
    }

    call->sending = ngx_pcalloc(args->pool ? args->pool : pool,
                                sizeof(ngx_http_chaton_sending_t));
    if (call->sending == NULL) {
        return NULL;
    }

    call->sending->args = *args;
    call->request = r;
    call->data = data;
    call->kind = args->kind;
    call->purpose = args->purpose;
    call->background = args->background;
    call->cred_index = cred;
    call->tries = tries;
    call->cred = ((ngx_http_chaton_cred_t **) lcf->creds->elts)[cred];
    call->sending->content_type = args->content_type;

    /* ChatOn's bodies are JSON, but for the multipart upload */

    if (args->kind == NGX_HTTP_CHATON_CALL_API && args->body.len
        && call->sending->content_type.len == 0)
    {
        call->sending->content_type = ngx_http_chaton_json_type;
    }

    ngx_http_chaton_alloc_init(&call->alloc, pool);
    chaton_buf_init(&call->answer, &call->alloc,
                    args->capture ? args->capture : 8192);

    ngx_str_null(&query);

    switch (args->kind) {

    case NGX_HTTP_CHATON_CALL_FETCH:
        call->sending->url = args->path;
        uri = lcf->fetch;
        break;

    case NGX_HTTP_CHATON_CALL_PASS:

        /* "<passthrough>chat/completions": the route, the prefix once */

        uri.len = lcf->passthrough.len + args->path.len;
        uri.data = ngx_pnalloc(pool, uri.len);
        if (uri.data == NULL) {
            return NULL;
        }

        ngx_memcpy(ngx_cpymem(uri.data, lcf->passthrough.data,
                              lcf->passthrough.len),
                   args->path.data, args->path.len);
        break;

    default: /* NGX_HTTP_CHATON_CALL_API */
        call->sending->user_agent = call->cred->user_agent;
        call->sending->time_zone = lcf->time_zone;

        if (ngx_http_chaton_call_uri(r, call, args, &uri, &query) != NGX_OK) {
            return NULL;
        }
    }

    ps = ngx_palloc(pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NULL;
    }

    ps->handler = ngx_http_chaton_call_finished;
    ps->data = call;

    if (ngx_http_subrequest(r, &uri, query.len ? &query : NULL, &sr, ps,
                            args->background ? NGX_HTTP_SUBREQUEST_BACKGROUND
                                             : 0)
        != NGX_OK)
    {
        return NULL;
    }

    /* a body of our own, never the client's; GET has an empty one */

    rb = ngx_pcalloc(pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NULL;
    }

    len = -1;

    if (args->bufs) {
        rb->bufs = args->bufs;

    } else if (args->body.len) {
        rb->bufs = ngx_http_chaton_call_body(args->pool ? args->pool : pool,
                                             &args->body);
        if (rb->bufs == NULL) {
            return NULL;
        }
    }

    if (rb->bufs) {
        len = 0;

        for (cl = rb->bufs; cl; cl = cl->next) {
            len += ngx_buf_size(cl->buf);
        }
    }

    sr->request_body = rb;
    sr->headers_in.content_length_n = len;
    sr->headers_in.chunked = 0;

    if (ngx_strcmp(args->method, "POST") == 0) {
        sr->method = NGX_HTTP_POST;
        ngx_str_set(&sr->method_name, "POST");
    }

    ngx_http_set_ctx(sr, call, ngx_http_chaton_module);

    call->sr = sr;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "chaton call: %s \"%V\" body:%O bg:%ui", args->method,
                   args->kind == NGX_HTTP_CHATON_CALL_API
                   ? &call->sending->path : &uri,
                   len, (ngx_uint_t) args->background);

    return call;
}


/* "/chats/stream?a=b" -> uri "<backend>chats/stream", query "a=b"; signed */

static ngx_int_t
ngx_http_chaton_call_uri(ngx_http_request_t *r, ngx_http_chaton_call_t *call,
    ngx_http_chaton_call_args_t *args, ngx_str_t *uri, ngx_str_t *query)
{
    u_char                      *p, *q;
    ngx_str_t                   *path;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    path = &args->path;

    q = ngx_strlchr(path->data, path->data + path->len, '?');

    query->len = q ? (size_t) (path->data + path->len - (q + 1)) : 0;
    query->data = q ? q + 1 : NULL;

    uri->len = lcf->backend.len + (q ? (size_t) (q - path->data) : path->len)
               - 1;
    uri->data = ngx_pnalloc(call->alloc.pool, uri->len);
    if (uri->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri->data, lcf->backend.data, lcf->backend.len);
    ngx_memcpy(p, path->data + 1, uri->len - lcf->backend.len);

    return ngx_http_chaton_call_sign(r, call, args->method, uri, query,
                                     &args->body);
}


static ngx_chain_t *
ngx_http_chaton_call_body(ngx_pool_t *pool, ngx_str_t *body)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(pool);
    if (b == NULL) {
        return NULL;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->start = b->pos;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;

    cl = ngx_alloc_chain_link(pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    return cl;
}


/*
 * The signature's date, formatted once a second (strftime() costs as much
 * as a tenth of the signature): the worker's clock is ngx_time().
 */

static size_t
ngx_http_chaton_call_date(u_char *buf)
{
    time_t         now;

    static size_t  len;
    static time_t  formatted = -1;
    static u_char  date[CHATON_DATE_LEN + 1];

    now = ngx_time();

    if (now != formatted) {
        len = chaton_sign_date((char *) date, now);
        formatted = now;
    }

    ngx_memcpy(buf, date, len + 1);

    return len;
}


/*
 * Sets the sending's path to what proxy will put on the wire (the escaping
 * below is what proxy applies to a subrequest's URI), and signs it with the
 * date and body.  Only the Authorization value is kept; key B never leaves
 * the signer.
 */

static ngx_int_t
ngx_http_chaton_call_sign(ngx_http_request_t *r, ngx_http_chaton_call_t *call,
    const char *method, ngx_str_t *uri, ngx_str_t *args, ngx_str_t *body)
{
    size_t                       len, escape;
    u_char                      *p, *rest;
    ngx_pool_t                  *pool;
    ngx_http_chaton_sending_t   *sending;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    /* proxy copies them into its request: only the sending needs them */

    sending = call->sending;
    pool = sending->args.pool ? sending->args.pool : call->alloc.pool;

    rest = uri->data + lcf->backend.len;
    len = uri->len - lcf->backend.len;

    escape = 2 * ngx_escape_uri(NULL, rest, len, NGX_ESCAPE_URI);

    sending->path.len = 1 + len + escape + (args->len ? 1 + args->len : 0);
    sending->path.data = ngx_pnalloc(pool, sending->path.len);
    if (sending->path.data == NULL) {
        return NGX_ERROR;
    }

    p = sending->path.data;
    *p++ = '/';

    if (escape) {
        p = (u_char *) ngx_escape_uri(p, rest, len, NGX_ESCAPE_URI);

    } else {
        p = ngx_cpymem(p, rest, len);
    }

    if (args->len) {
        *p++ = '?';
        ngx_memcpy(p, args->data, args->len);
    }

    sending->date.data = ngx_pnalloc(pool, CHATON_DATE_LEN + 1);
    if (sending->date.data == NULL) {
        return NGX_ERROR;
    }

    sending->date.len = ngx_http_chaton_call_date(sending->date.data);

    sending->authorization.len = chaton_sign_len(call->cred->signer);
    sending->authorization.data = ngx_pnalloc(pool,
                                              sending->authorization.len);
    if (sending->authorization.data == NULL) {
        return NGX_ERROR;
    }

    if (chaton_sign(call->cred->signer, sending->authorization.data, method,
                    sending->path.data, sending->path.len,
                    (const char *) sending->date.data, body->data, body->len)
        != CHATON_OK)
    {
        ngx_http_chaton_log(NGX_LOG_ERR, r,
                      "signing failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Whether what only the sending of a call needed (its body, its sending's
 * arguments and strings, in args.pool) may go: called once the backend's
 * answer has begun, with a status that no other try follows (only a
 * refusal is tried again, ngx_http_chaton_call_again()).  It may not while
 * nginx has not sent all of the body (a backend may answer early); if it
 * may, the call forgets it, and so does the subrequest.
 */

ngx_int_t
ngx_http_chaton_call_sent(ngx_http_chaton_call_t *call)
{
    ngx_http_request_t  *sr;

    sr = call->sr;

    if (call->sending == NULL) {
        return 1;
    }

    if (sr->upstream && !sr->upstream->request_body_sent) {
        return 0;
    }

    if (sr->request_body && call->sending->args.bufs == NULL) {
        sr->request_body->bufs = NULL;
    }

    call->sending = NULL;

    return 1;
}


/*
 * post_subrequest.  nginx may run it more than once for a subrequest (again
 * when a buffered subrequest is finalized later), so only the first run
 * records the outcome.  A status >= 300 returned here would make nginx send
 * its HTML error page as the subrequest's body: the outcome is recorded and
 * NGX_OK returned; the route answers the client.  Client aborts and errors
 * pass through so that nginx tears the request down.
 */

static ngx_int_t
ngx_http_chaton_call_finished(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_chaton_call_t  *call = data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "chaton call done: rc:%i status:%ui last:%d",
                   rc, call->status, call->whole);

    if (!call->ended) {
        call->ended = 1;
        call->rc = rc;

        ngx_http_chaton_metrics_call(call);

        /* nginx posts the parent of a subrequest that was in its way only */

        if (sr->background
            && ngx_http_post_request(call->request, NULL) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (rc == NGX_ERROR
        || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || rc == NGX_HTTP_REQUEST_TIME_OUT
        || rc == NGX_HTTP_CLOSE)
    {
        return rc;
    }

    return (rc >= NGX_HTTP_SPECIAL_RESPONSE) ? NGX_OK : rc;
}


/*
 * The backend location's content handler (proxy), run for a call with the
 * connection's debug logging off: proxy logs the request it builds, and
 * nginx's script engine the variables it evaluates, at debug level, and
 * those hold the signed Authorization.  Nothing else is silenced: the
 * request is built right here, and connecting and reading log as usual.
 * It mirrors what the content phase does with a location's handler.
 */

ngx_int_t
ngx_http_chaton_backend_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_chaton_call_content;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_call_content(ngx_http_request_t *r)
{
    ngx_int_t   rc;
    ngx_log_t  *log;
    ngx_uint_t  level;

    if (r == r->main
        || r->content_handler == NULL
        || ngx_http_get_module_ctx(r, ngx_http_chaton_module) == NULL)
    {
        return NGX_DECLINED;
    }

    log = r->connection->log;
    level = log->log_level;

    if (level > NGX_LOG_INFO) {
        log->log_level = NGX_LOG_INFO;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    rc = r->content_handler(r);

    log->log_level = level;

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_int_t
ngx_http_chaton_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_chaton_backend_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return ngx_http_chaton_add_log_variables(cf);
}


/*
 * The variables are evaluated by proxy in the subrequest: its module
 * context is the call.  They are not cacheable: all subrequests of a
 * request share one variable cache.
 */

static ngx_int_t
ngx_http_chaton_call_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t               *s;
    ngx_http_chaton_call_t  *call;

    call = (r != r->main) ? ngx_http_get_module_ctx(r, ngx_http_chaton_module)
                          : NULL;

    if (call == NULL || call->sending == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) call->sending + data);

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}

