
/*
 * ngx_chaton: /v1/responses, OpenAI's Responses API.
 *
 *   POST /v1/responses                     a conversation, streamed or whole
 *   GET /v1/responses/{id}                 a stored response
 *   GET /v1/responses/{id}/input_items     its input items, in pages
 *   DELETE /v1/responses/{id}              forgotten
 *
 * POST is the dialect's entry, as chat's is: its parser (core) makes the
 * neutral conversation out of the body, its writer (core) makes the typed
 * events or the response object, and the conversation runner
 * (ngx_http_chaton_conversation.c) does everything between.  Where the
 * location has a store (chaton_responses_store, ngx_http_chaton_store.c),
 * the parser is given the stored items previous_response_id (or an
 * item_reference's id) names, and a complete answer is kept: its response
 * object, its input items and its output items, as the core serialises
 * them (chaton_rstore.h).  Errors are OpenAI's, as chat's.
 */


#include "ngx_http_chaton_conversation.h"

#include "dialect_openai_responses.h"
#include "chaton_rstore.h"


typedef struct {
    ngx_http_chaton_conv_t       conv;       /* first: the runner's */
    ngx_str_t                    id;         /* resp_... */
    chaton_responses_t          *rs;
    chaton_buf_t                 kept;       /* the final object, to store */
} ngx_http_chaton_responses_ctx_t;


static ngx_int_t ngx_http_chaton_responses_start(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_chaton_responses_conf(ngx_http_chaton_conv_t *ctx,
    chaton_chat_conf_t *conf);
static int ngx_http_chaton_responses_previous(void *data,
    const unsigned char *id, size_t len, const unsigned char **items,
    size_t *items_len, chaton_error_t *err);
static chaton_writer_t *ngx_http_chaton_responses_writer(
    ngx_http_chaton_conv_t *ctx);
static ngx_int_t ngx_http_chaton_responses_done(ngx_http_chaton_conv_t *ctx);
static ngx_int_t ngx_http_chaton_response_stored(ngx_http_request_t *r,
    chaton_route_t *rt, chaton_rstore_entry_t *e);


static const ngx_http_chaton_dialect_t  ngx_http_chaton_responses_dialect = {
    ngx_string("responses"),
    chaton_responses_parse,
    ngx_http_chaton_responses_writer,
    NULL,
    ngx_http_chaton_responses_conf,
    ngx_http_chaton_responses_done
};


ngx_int_t
ngx_http_chaton_responses_handler(ngx_http_request_t *r)
{
    return ngx_http_chaton_read_request(r,
                                        sizeof(ngx_http_chaton_responses_ctx_t),
                                        NGX_HTTP_CHATON_STATE_RESPONSES,
                                        ngx_http_chaton_responses_start);
}


static ngx_int_t
ngx_http_chaton_responses_start(ngx_http_request_t *r, ngx_str_t *body)
{
    return ngx_http_chaton_conversation(r, body,
                                        &ngx_http_chaton_responses_dialect);
}


/*
 * The response's id, drawn now: the input items kept get ids of it.  With
 * a store, the parser continues what previous_response_id names.
 */

static ngx_int_t
ngx_http_chaton_responses_conf(ngx_http_chaton_conv_t *ctx,
    chaton_chat_conf_t *conf)
{
    ngx_http_chaton_responses_ctx_t  *rc;

    rc = (ngx_http_chaton_responses_ctx_t *) ctx;

    if (ngx_http_chaton_conversation_id(ctx, "resp_", &rc->id, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ngx_http_chaton_store_on(ctx->request)) {
        return NGX_OK;
    }

    conf->previous = ngx_http_chaton_responses_previous;
    conf->previous_data = ctx;
    conf->response_id = rc->id.data;
    conf->response_id_len = rc->id.len;

    return NGX_OK;
}


/*
 * the parser's question: the items a stored response continues with
 * (previous_response_id), or holds (an item_reference)
 */

static int
ngx_http_chaton_responses_previous(void *data, const unsigned char *id,
    size_t len, const unsigned char **items, size_t *items_len,
    chaton_error_t *err)
{
    ngx_http_chaton_conv_t *ctx = data;

    ngx_int_t              rc;
    ngx_str_t              key, entry;
    chaton_buf_t           b;
    chaton_rstore_entry_t  e;

    key.data = (u_char *) id;
    key.len = len;

    rc = ngx_http_chaton_store_get(ctx->request, &key, &entry);

    if (rc == NGX_ERROR) {
        return CHATON_ERROR;
    }

    if (rc == NGX_DECLINED
        || chaton_rstore_read(&e, entry.data, entry.len) != CHATON_OK)
    {
        return chaton_rstore_not_found(err, id, len, 1);
    }

    chaton_buf_init(&b, &ctx->alloc, 0);

    chaton_try(chaton_rstore_items(&b, &e));

    *items = b.data;
    *items_len = b.len;

    return CHATON_OK;
}


static chaton_writer_t *
ngx_http_chaton_responses_writer(ngx_http_chaton_conv_t *ctx)
{
    chaton_responses_t               *rs;
    ngx_http_chaton_loc_conf_t       *lcf;
    ngx_http_chaton_responses_ctx_t  *rc;

    rc = (ngx_http_chaton_responses_ctx_t *) ctx;
    lcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_chaton_module);

    rs = ngx_palloc(ctx->req.pool, sizeof(chaton_responses_t));
    if (rs == NULL) {
        return NULL;
    }

    if (chaton_responses_init(rs, &ctx->alloc, rc->id.data, rc->id.len,
                              ctx->chat.model, ctx->chat.model_len,
                              (uint64_t) ngx_time(), lcf->max_answer_size,
                              ctx->chat.stream, &ctx->chat)
        != CHATON_OK)
    {
        return NULL;
    }

    /* "store" says what is true: kept only where there is a store */

    if (ctx->chat.items) {
        rs->store = 1;
        chaton_buf_init(&rc->kept, &ctx->alloc, 0);
        rs->kept = &rc->kept;
    }

    rc->rs = rs;

    return &rs->w;
}


/* a complete answer: kept, if it is to be */

static ngx_int_t
ngx_http_chaton_responses_done(ngx_http_chaton_conv_t *ctx)
{
    u_char                           *p;
    ngx_str_t                         entry;
    chaton_buf_t                      out;
    chaton_rstore_entry_t             e;
    ngx_http_chaton_responses_ctx_t  *rc;

    rc = (ngx_http_chaton_responses_ctx_t *) ctx;

    if (ctx->chat.items == NULL || rc->kept.len == 0) {
        return NGX_OK;
    }

    chaton_buf_init(&out, &ctx->alloc, 0);

    if (chaton_buf_literal(&out, "[") != CHATON_OK
        || chaton_buf_append(&out, rc->rs->items.data, rc->rs->items.len)
           != CHATON_OK
        || chaton_buf_literal(&out, "]") != CHATON_OK)
    {
        return NGX_ERROR;
    }

    e.response = rc->kept.data;
    e.response_len = rc->kept.len;
    e.input = ctx->chat.items;
    e.input_len = ctx->chat.items_len;
    e.output = out.data;
    e.output_len = out.len;

    entry.len = chaton_rstore_size(&e);

    p = ngx_pnalloc(ctx->request->pool, entry.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    chaton_rstore_write(p, &e);
    entry.data = p;

    if (ngx_http_chaton_store_put(ctx->request, &rc->id, &entry)
        == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items:
 * what is not in the store (or not the client's) is OpenAI's 404
 */

ngx_int_t
ngx_http_chaton_response_handler(ngx_http_request_t *r, chaton_route_t *rt)
{
    ngx_int_t               rc;
    ngx_str_t               id, entry;
    chaton_buf_t            b;
    chaton_alloc_t          a;
    chaton_error_t          err;
    chaton_rstore_entry_t   e;
    ngx_http_chaton_req_t  *req;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        && !(r->method == NGX_HTTP_DELETE
             && rt->route == CHATON_ROUTE_RESPONSE))
    {
        return ngx_http_chaton_method_not_allowed(r,
                                     rt->route == CHATON_ROUTE_RESPONSE
                                     ? "GET, DELETE" : "GET");
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    req = ngx_pcalloc(r->pool, sizeof(ngx_http_chaton_req_t));
    if (req == NULL) {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(r, req, ngx_http_chaton_module);

    ngx_http_chaton_alloc_init(&a, r->pool);
    chaton_buf_init(&b, &a, 0);

    id.data = (u_char *) rt->id;
    id.len = rt->id_len;

    if (r->method == NGX_HTTP_DELETE) {
        rc = ngx_http_chaton_store_delete(r, &id);

        if (rc == NGX_OK) {
            if (chaton_rstore_deleted(&b, id.data, id.len) != CHATON_OK) {
                return NGX_ERROR;
            }

            return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
        }

    } else {
        rc = ngx_http_chaton_store_get(r, &id, &entry);

        if (rc == NGX_OK
            && chaton_rstore_read(&e, entry.data, entry.len) == CHATON_OK)
        {
            return ngx_http_chaton_response_stored(r, rt, &e);
        }
    }

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    (void) chaton_rstore_not_found(&err, id.data, id.len, 0);

    return ngx_http_chaton_send_error(r, &err);
}


/* a stored response: the object as it was answered, or a page of items */

static ngx_int_t
ngx_http_chaton_response_stored(ngx_http_request_t *r, chaton_route_t *rt,
    chaton_rstore_entry_t *e)
{
    int                    rc;
    chaton_buf_t           b;
    chaton_alloc_t         a;
    chaton_error_t         err;
    chaton_rstore_page_t   page;

    if (rt->route == CHATON_ROUTE_RESPONSE) {
        return ngx_http_chaton_send_json(r, NGX_HTTP_OK,
                                         (u_char *) e->response,
                                         e->response_len);
    }

    ngx_http_chaton_alloc_init(&a, r->pool);
    chaton_buf_init(&b, &a, 0);

    rc = chaton_rstore_page(&page, r->args.data, r->args.len, &err);

    if (rc == CHATON_OK) {
        rc = chaton_rstore_list(&b, e, &page, &err);
    }

    if (rc == CHATON_ERROR) {
        return NGX_ERROR;
    }

    if (rc != CHATON_OK) {
        return ngx_http_chaton_send_error(r, &err);
    }

    return ngx_http_chaton_send_json(r, NGX_HTTP_OK, b.data, b.len);
}
