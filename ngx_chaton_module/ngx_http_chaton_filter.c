
/*
 * ngx_chaton: the header and body filters on backend subrequests.
 *
 * The subrequest's own response never reaches the client as such: the
 * header filter records the backend's status and hands it to the route
 * (which may send the client's headers right then, for a stream); the body
 * filter hands each backend buffer to the route, which translates it into
 * the output buffer given to it, and passes that on.  Through the postpone
 * filter, output of the active subrequest goes straight to the client.
 *
 * Input is consumed as it is read, except when the client is slow: then
 * input is held back, which stops the non-buffered upstream from reading
 * (it reuses its buffer only when every buffer it passed is consumed), so
 * memory stays bounded and the backend's sending is paced by the client.
 *
 * A read that filled the upstream's buffer is followed at once by another
 * (the non-buffered upstream reads on while the socket has bytes): when
 * the backend sends faster than one read takes (a burst, a worker that
 * fell behind), the output of such reads is kept and written with the
 * next read's, one write to the client for several reads.  A posted event
 * sends what is kept at the end of the loop's turn at the latest, so no
 * byte waits for the backend's next.
 */


#include "ngx_http_chaton_module.h"


/* a free bit of r->buffered: image_filter's, never on these subrequests */

#define NGX_HTTP_CHATON_BUFFERED  0x08

/* output waiting for the client beyond which input is held back */

#define NGX_HTTP_CHATON_MAX_BUSY  (32 * 1024)


static ngx_int_t ngx_http_chaton_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_chaton_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_chaton_filter_buf(ngx_http_chaton_call_t *call,
    ngx_buf_t *b, ngx_chain_t **ocl, chaton_buf_t *out);
static ngx_chain_t *ngx_http_chaton_filter_out(ngx_http_chaton_call_t *call,
    ngx_chain_t *ocl, chaton_buf_t *wrap);
static ngx_uint_t ngx_http_chaton_filter_waits(ngx_http_request_t *r);
static ngx_uint_t ngx_http_chaton_filter_full(ngx_http_request_t *r);
static ngx_chain_t *ngx_http_chaton_filter_pending(
    ngx_http_chaton_call_t *call, chaton_buf_t *wrap);
static ngx_uint_t ngx_http_chaton_filter_burst(ngx_http_request_t *r,
    ngx_http_chaton_call_t *call, ngx_chain_t *in, chaton_buf_t *wrap);
static ngx_int_t ngx_http_chaton_filter_keep(ngx_http_request_t *r,
    ngx_http_chaton_call_t *call, ngx_chain_t *out);
static void ngx_http_chaton_filter_flush(ngx_event_t *ev);
static void ngx_http_chaton_filter_flush_cleanup(void *data);
static void ngx_http_chaton_filter_release(ngx_http_chaton_call_t *call,
    ngx_chain_t *free);
static off_t ngx_http_chaton_busy(ngx_chain_t *busy);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_chaton_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_chaton_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_chaton_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chaton_header_filter(ngx_http_request_t *r)
{
    ngx_table_elt_t         *h;
    ngx_http_chaton_req_t   *req;
    ngx_http_chaton_call_t  *call;

    if (r == r->main) {
        return ngx_http_next_header_filter(r);
    }

    call = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (call == NULL) {
        return ngx_http_next_header_filter(r);
    }

    call->status = r->headers_out.status;
    call->last_read = ngx_current_msec;

    /* which credential set and which backend served: for the logs */

    req = ngx_http_get_module_ctx(r->main, ngx_http_chaton_module);

    if (req && call->kind == NGX_HTTP_CHATON_CALL_API) {
        req->credential = call->cred->name;

        if (r->upstream && r->upstream->peer.name) {
            req->backend_addr = *r->upstream->peer.name;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "chaton call header: %ui", call->status);

    /*
     * The backend is never asked for compression (the backend location
     * passes no Accept-Encoding); a compressed answer anyway cannot be
     * read: it is no answer, and never passed on as one.
     */

    if (r->upstream && call->kind != NGX_HTTP_CHATON_CALL_PASS) {
        h = ngx_http_chaton_find_header(&r->upstream->headers_in.headers,
                                        "Content-Encoding", 16);

        if (h && !(h->value.len == 8
                   && ngx_strncasecmp(h->value.data, (u_char *) "identity", 8)
                      == 0))
        {
            call->encoded = 1;
            call->unusable = 1;
            call->forward_ok = 0;

            /* nothing of it is read: nginx ends the call right away */

            r->header_only = 1;
        }
    }

    if (call->status == NGX_HTTP_TOO_MANY_REQUESTS && r->upstream) {
        h = ngx_http_chaton_find_header(&r->upstream->headers_in.headers,
                                        "Retry-After", 11);
        if (h) {
            call->retry_after = h->value;
        }
    }

    r->filter_need_in_memory = 1;
    r->header_sent = 1;

    /* an answer to be kept whole gets its room at once */

    if (call->body == NULL && !call->forward_ok && !call->forward_any
        && r->headers_out.content_length_n > 0
        && (size_t) r->headers_out.content_length_n <= call->answer.max
        && chaton_buf_reserve(&call->answer,
                              (size_t) r->headers_out.content_length_n)
           == CHATON_ERROR)
    {
        return NGX_ERROR;
    }

    return call->header ? call->header(call) : NGX_OK;
}


static ngx_int_t
ngx_http_chaton_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t                rc;
    ngx_chain_t             *cl, *ocl, *out;
    chaton_buf_t             wrap;
    ngx_http_chaton_call_t  *call;

    if (r == r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    call = ngx_http_get_module_ctx(r, ngx_http_chaton_module);

    if (call == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    /* a success passed through untouched (audio): postpone sends it on */

    if ((call->forward_ok && call->status == NGX_HTTP_OK) || call->forward_any) {
        for (cl = in; cl; cl = cl->next) {
            if (cl->buf->last_buf || cl->buf->last_in_chain) {
                call->whole = 1;
            }
        }

        return ngx_http_next_body_filter(r, in);
    }

    if (in && ngx_chain_add_copy(r->pool, &call->held, in) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * Translate while the client keeps up; the write in between may drain
     * what was waiting, and then there is room to translate more.
     */

    for ( ;; ) {
        ocl = ngx_http_chaton_filter_pending(call, &wrap);

        while (call->held
               && ngx_http_chaton_busy(call->busy) < NGX_HTTP_CHATON_MAX_BUSY)
        {
            rc = ngx_http_chaton_filter_buf(call, call->held->buf, &ocl,
                                            &wrap);
            if (rc != NGX_OK) {
                return rc;
            }

            cl = call->held;
            call->held = cl->next;
            ngx_free_chain(r->pool, cl);
        }

        out = ngx_http_chaton_filter_out(call, ocl, &wrap);

        if (out && ngx_http_chaton_filter_burst(r, call, in, &wrap)) {
            return ngx_http_chaton_filter_keep(r, call, out);
        }

        if (out) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "chaton output sent: %O bytes",
                           ngx_buf_size(out->buf));
        }

        /* called even without output: it drains what the client has not */

        rc = ngx_http_next_body_filter(r, out);

        ngx_chain_update_chains(r->pool, &call->free, &call->busy, &out,
                                (ngx_buf_tag_t) &ngx_http_chaton_module);

        if (call->busy == NULL && ngx_http_chaton_filter_waits(r)) {
            ngx_http_chaton_filter_release(call, call->free);
        }

        if (rc == NGX_ERROR
            || call->held == NULL
            || ngx_http_chaton_busy(call->busy) >= NGX_HTTP_CHATON_MAX_BUSY)
        {
            break;
        }
    }

    if (in) {
        call->burst = ngx_http_chaton_filter_full(r);
    }

    if (call->held) {
        r->buffered |= NGX_HTTP_CHATON_BUFFERED;

    } else {
        r->buffered &= ~NGX_HTTP_CHATON_BUFFERED;
    }

    return rc;
}


/* the output buffer as a chain link, or back to the free list if empty */

static ngx_chain_t *
ngx_http_chaton_filter_out(ngx_http_chaton_call_t *call, ngx_chain_t *ocl,
    chaton_buf_t *wrap)
{
    ngx_buf_t  *ob;

    if (ocl == NULL) {
        return NULL;
    }

    ob = ocl->buf;

    ob->start = wrap->data;
    ob->end = wrap->data + wrap->cap;
    ob->pos = wrap->data;
    ob->last = wrap->data + wrap->len;

    if (wrap->len == 0) {
        ocl->next = call->free;
        call->free = ocl;
        return NULL;
    }

    ob->memory = 1;
    ocl->next = NULL;

    /*
     * Each output goes to the client at once, but the route's last when
     * the backend's answer is in whole: then the end of the response
     * follows right away, and takes it along in the same write.
     */

    ob->flush = !(call->satisfied && call->sr->upstream
                  && call->sr->upstream->length == 0);

    return ocl;
}


/* the output kept from the last read, to be written to on */

static ngx_chain_t *
ngx_http_chaton_filter_pending(ngx_http_chaton_call_t *call,
    chaton_buf_t *wrap)
{
    ngx_buf_t    *ob;
    ngx_chain_t  *ocl;

    ocl = call->pending;

    if (ocl == NULL) {
        return NULL;
    }

    call->pending = NULL;

    ob = ocl->buf;

    wrap->data = ob->start;
    wrap->len = ob->last - ob->start;
    wrap->cap = ob->end - ob->start;
    wrap->max = 0;
    wrap->alloc = &call->alloc;

    return ocl;
}


/*
 * Whether the output may wait for the next read's: this call brought a
 * read that filled the upstream's buffer (the upstream reads again at
 * once), nothing waits for the client, no input is held back, no flush or
 * end has passed, the route is not done, and there is room for what the
 * next read makes.
 */

static ngx_uint_t
ngx_http_chaton_filter_burst(ngx_http_request_t *r,
    ngx_http_chaton_call_t *call, ngx_chain_t *in, chaton_buf_t *wrap)
{
    size_t                       size;
    ngx_http_upstream_t         *u;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r->main, ngx_http_chaton_module);

    if (lcf->coalesce_size == 0 || in == NULL || call->busy || call->held
        || call->whole || call->ending || call->satisfied
        || !ngx_http_chaton_filter_full(r))
    {
        return 0;
    }

    u = r->upstream;
    size = u->buffer.end - u->buffer.start;

    return wrap->cap - wrap->len >= size + size / 2;
}


/*
 * A stream route's output for a read of len bytes, when the read first
 * writes to it: a stream's chunks come to at most about the events' bytes
 * (the backend's frame is the larger), so room for half as much again;
 * from the second read in a row that filled the upstream's buffer on (a
 * burst), chaton_coalesce_size, room for the next reads' output too.  Not
 * from the first: a short answer that fills one read and ends in the next
 * would take that much for nothing, and many of them at once make the
 * heap grow and shrink.
 */

ngx_int_t
ngx_http_chaton_call_room(ngx_http_chaton_call_t *call, chaton_buf_t *out,
    size_t len)
{
    size_t                       room;
    ngx_http_chaton_loc_conf_t  *lcf;

    if (out->len) {
        return NGX_OK;          /* written to: kept from the last read */
    }

    lcf = ngx_http_get_module_loc_conf(call->request, ngx_http_chaton_module);

    room = ngx_max(4096, len + len / 2);

    if (lcf->coalesce_size && call->burst
        && ngx_http_chaton_filter_full(call->sr))
    {
        room = ngx_max(lcf->coalesce_size, room);
    }

    if (out->cap >= room) {
        return NGX_OK;
    }

    /* the last read's memory, too small now: the route's allocator's */

    if (out->data && out->alloc->free) {
        out->alloc->free(out->alloc->pool, out->data);
        out->data = NULL;
        out->cap = 0;
    }

    return chaton_buf_reserve(out, room) == CHATON_OK ? NGX_OK : NGX_ERROR;
}


/*
 * Keeps the output for the next read's, and posts the event that sends it
 * if no read comes in this turn of the loop: posted events run after
 * every ready connection's handler (and after expired timers).
 */

static ngx_int_t
ngx_http_chaton_filter_keep(ngx_http_request_t *r,
    ngx_http_chaton_call_t *call, ngx_chain_t *out)
{
    ngx_event_t         *ev;
    ngx_pool_cleanup_t  *cln;

    ev = call->flush;

    if (ev == NULL) {

        /* only streams in a burst get one: made in the first */

        ev = ngx_pcalloc(r->main->pool, sizeof(ngx_event_t));
        if (ev == NULL) {
            return NGX_ERROR;
        }

        cln = ngx_pool_cleanup_add(r->main->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        ev->handler = ngx_http_chaton_filter_flush;
        ev->data = call;
        ev->log = r->connection->log;

        cln->handler = ngx_http_chaton_filter_flush_cleanup;
        cln->data = ev;

        call->flush = ev;
    }

    call->pending = out;
    call->burst = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "chaton output kept: %O bytes", ngx_buf_size(out->buf));

    ngx_post_event(ev, &ngx_posted_events);

    r->buffered &= ~NGX_HTTP_CHATON_BUFFERED;

    return NGX_OK;
}


/* the end of the loop's turn: what was kept goes to the client */

static void
ngx_http_chaton_filter_flush(ngx_event_t *ev)
{
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_http_chaton_call_t  *call;

    call = ev->data;
    r = call->sr;
    c = r->connection;

    /* a client gone in the same turn: its request is being torn down */

    if (call->pending == NULL || c->error) {
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0, "chaton output flush");

    if (ngx_http_chaton_body_filter(r, NULL) == NGX_ERROR) {
        ngx_http_finalize_request(r->main, NGX_ERROR);
    }

    ngx_http_run_posted_requests(c);
}


/* the request is freed: its flush must not run after */

static void
ngx_http_chaton_filter_flush_cleanup(void *data)
{
    ngx_event_t  *ev = data;

    if (ev->posted) {
        ngx_delete_posted_event(ev);
    }
}


/*
 * Whether the stream now waits for the backend: its last read did not fill
 * the upstream's buffer (the backend had sent no more).  A stream in a
 * burst reads full buffers and keeps its output memory from one to the
 * next.
 */

static ngx_uint_t
ngx_http_chaton_filter_waits(ngx_http_request_t *r)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    return u == NULL || u->buffer.last != u->buffer.end;
}


/* whether the last read filled the upstream's buffer: more follows at once */

static ngx_uint_t
ngx_http_chaton_filter_full(ngx_http_request_t *r)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    return u && u->buffer.start && u->buffer.last == u->buffer.end;
}


/*
 * Everything the client was sent is out and the backend is silent: the
 * output buffers' memory goes back, when it was an allocation of its own,
 * for the next read to take anew.  A stream spends most of its life
 * waiting for the backend's next event: meanwhile it holds no output
 * memory (a malloc() and a free() per read that emptied the backend's
 * socket, not per event).
 */

static void
ngx_http_chaton_filter_release(ngx_http_chaton_call_t *call,
    ngx_chain_t *free)
{
    ngx_buf_t  *b;

    for ( /* void */ ; free; free = free->next) {
        b = free->buf;

        /* the route wrote it through the call's allocator (its pool's) */

        if (b->start && ngx_pfree(call->alloc.pool, b->start) == NGX_OK) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, call->sr->connection->log, 0,
                           "chaton output released: %uz bytes",
                           (size_t) (b->end - b->start));

            b->start = NULL;
            b->end = NULL;
            b->pos = NULL;
            b->last = NULL;
        }
    }
}


/*
 * One backend buffer: a success's bytes go to the route (translated into
 * the output buffer, taken from the free list when first needed); an
 * error's bytes are kept, capped, for the message the client will get.
 */

static ngx_int_t
ngx_http_chaton_filter_buf(ngx_http_chaton_call_t *call, ngx_buf_t *b,
    ngx_chain_t **ocl, chaton_buf_t *out)
{
    size_t               len;
    ngx_buf_t           *ob;
    ngx_http_request_t  *r;

    r = call->sr;

    if (b->last_buf || b->last_in_chain) {
        call->whole = 1;
    }

    if (!ngx_buf_in_memory(b)) {
        call->ending = 1;       /* nginx's flush or end: nothing waits */
    }

    len = b->last - b->pos;

    if (len == 0 || !ngx_buf_in_memory(b)) {
        b->pos = b->last;
        return NGX_OK;
    }

    call->last_read = ngx_current_msec;

    if (call->status != NGX_HTTP_OK || call->unusable || call->body == NULL) {

        /* an answer kept whole (capped): an error's, or a small one's */

        if (chaton_buf_append(&call->answer, b->pos, len) != CHATON_OK) {
            call->overflow = 1;
        }

        b->pos = b->last;
        return NGX_OK;
    }

    if (*ocl == NULL) {
        *ocl = ngx_chain_get_free_buf(r->pool, &call->free);
        if (*ocl == NULL) {
            return NGX_ERROR;
        }

        ob = (*ocl)->buf;
        ob->tag = (ngx_buf_tag_t) &ngx_http_chaton_module;

        /* memory comes when the route first writes */

        out->data = ob->start;
        out->len = 0;
        out->cap = ob->start ? (size_t) (ob->end - ob->start) : 0;
        out->max = 0;
        out->alloc = &call->alloc;
    }

    if (call->body(call, b->pos, len, out) != NGX_OK) {
        return NGX_ERROR;
    }

    b->pos = b->last;

    return NGX_OK;
}


/*
 * Sends bytes of the route's own (a heartbeat) on the client's way while
 * the call is the active subrequest: through the filters after this one,
 * so that the postpone filter keeps them in order with the stream.
 */

ngx_int_t
ngx_http_chaton_call_output(ngx_http_chaton_call_t *call, ngx_chain_t *out)
{
    /* output kept from the last reads goes first */

    if (call->pending
        && ngx_http_chaton_body_filter(call->sr, NULL) == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_body_filter(call->sr, out);
}


static off_t
ngx_http_chaton_busy(ngx_chain_t *busy)
{
    off_t  size;

    size = 0;

    for ( /* void */ ; busy; busy = busy->next) {
        size += ngx_buf_size(busy->buf);
    }

    return size;
}
