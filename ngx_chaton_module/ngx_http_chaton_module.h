
/*
 * ngx_chaton: the OpenAI API, answered through ChatOn's backend.
 *
 * The nginx glue.  Routes (chat, models, ...) each have a file with their
 * handler; backend calls are subrequests made by ngx_http_chaton_backend.c
 * and watched by the filters in ngx_http_chaton_filter.c; everything a
 * client receives that is not a translated stream is written by
 * ngx_http_chaton_reply.c.  The translating itself is done by the
 * nginx-free core in core/.
 */


#ifndef _NGX_HTTP_CHATON_MODULE_H_INCLUDED_
#define _NGX_HTTP_CHATON_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "chaton.h"
#include "chaton_bpe.h"
#include "chaton_error.h"
#include "chaton_models.h"
#include "chaton_route.h"
#include "chaton_sign.h"


typedef struct {
    ngx_str_t                    name;
    chaton_signer_t             *signer;
    ngx_str_t                    user_agent;
    ngx_uint_t                   label;          /* in the metrics */
} ngx_http_chaton_cred_t;


typedef struct {
    ngx_array_t                  names;          /* ngx_str_t */
    ngx_array_t                  digests;        /* SHA-256 of each key */
    ngx_array_t                  labels;         /* ngx_uint_t: each name's
                                                    in the metrics */
} ngx_http_chaton_clients_t;


typedef struct {
    ngx_array_t                 *creds;          /* ngx_http_chaton_cred_t * */
    ngx_http_chaton_clients_t   *clients;
    ngx_str_t                    passthrough;    /* other models' location */
    time_t                       retry_after;
    ngx_str_t                    time_zone;
    ngx_str_t                    backend;        /* internal location */
    ngx_str_t                    fetch;          /* and for other hosts */

    ngx_array_t                 *aliases;        /* chaton_model_t */
    ngx_array_t                 *windows;        /* ..._window_t */
    chaton_model_t              *models;         /* aliases + built-ins */
    ngx_uint_t                   nmodels;
    ngx_str_t                    default_model;
    const chaton_model_t        *fallback;       /* it, where it serves */

    ngx_uint_t                   max_tokens;
    size_t                       max_event_size;
    size_t                       coalesce_size;
    size_t                       max_answer_size;
    size_t                       max_image_size;
    ngx_uint_t                   max_images;

    ngx_msec_t                   heartbeat;
    ngx_msec_t                   stream_wait;

    ngx_array_t                 *cors_origins;   /* ngx_str_t */

    ngx_shm_zone_t              *store_zone;     /* Responses' store, or
                                                    NULL: off */
    time_t                       store_ttl;

    ngx_flag_t                   crawl;
    ngx_uint_t                   crawl_max_urls;
    size_t                       crawl_max_size;

    const chaton_bpe_t          *tokenizer;      /* or NULL: usage estimated */

    ngx_flag_t                   web_search;     /* the switches' defaults */
    ngx_flag_t                   image_gen;
    ngx_flag_t                   code_interpreter;
} ngx_http_chaton_loc_conf_t;


/* the http block's: the metrics zone and its labels */

typedef struct ngx_http_chaton_metrics_s  ngx_http_chaton_metrics_t;
typedef struct ngx_http_chaton_model_counters_s
    ngx_http_chaton_model_counters_t;
typedef struct ngx_http_chaton_client_counters_s
    ngx_http_chaton_client_counters_t;

typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    value;          /* escaped, as exposed */
} ngx_http_chaton_label_t;

typedef struct {
    ngx_shm_zone_t              *metrics_zone;
    ngx_http_chaton_metrics_t   *metrics;        /* in the zone */

    /* each label's values, distinct, from the configuration */
    ngx_array_t                  models;         /* backend models */
    ngx_array_t                  routes;         /* the route table's */
    ngx_array_t                  credentials;    /* credential sets */
    ngx_array_t                  clients;        /* client keys' names */
    size_t                       label_max;      /* the longest value */
    uint32_t                     layout;         /* their crc32 */

    /* the counters sized by them, in the zone */
    ngx_http_chaton_model_counters_t   *model;
    ngx_atomic_t                       *requests;
    ngx_atomic_t                       *retries;
    ngx_http_chaton_client_counters_t  *client;

    size_t                       malloc_trim;    /* glibc's, 0: left be */
} ngx_http_chaton_main_conf_t;


/* chaton_malloc_trim_threshold's default (ngx_http_chaton_init_process()) */

#define NGX_HTTP_CHATON_MALLOC_TRIM_DEFAULT  (8 * 1024 * 1024)


/*
 * The block of a request's state pool (ngx_http_chaton_state_pool()), by
 * route: what an open stream of it takes, its pool's header included, so
 * that a chat or messages stream keeps one block (scripts/pool-steps shows
 * it; t/37 and t/90 check it).  Larger states take more blocks, or large
 * allocations: tools, pictures, a whole answer's text, a response's output
 * (kept for response.completed and the store).
 */

#define NGX_HTTP_CHATON_STATE_CHAT       2368
#define NGX_HTTP_CHATON_STATE_MESSAGES   2752
#define NGX_HTTP_CHATON_STATE_RESPONSES  3456
#define NGX_HTTP_CHATON_STATE_OTHER      4096


#define NGX_HTTP_CHATON_CALL_API     0       /* ChatOn, signed */
#define NGX_HTTP_CHATON_CALL_FETCH   1       /* any URL, nothing of ours */
#define NGX_HTTP_CHATON_CALL_PASS    2       /* another OpenAI server */

/* what an API call is for: its kind in the metrics */

#define NGX_HTTP_CHATON_FOR_OTHER    0
#define NGX_HTTP_CHATON_FOR_CHAT     1
#define NGX_HTTP_CHATON_FOR_UPLOAD   2
#define NGX_HTTP_CHATON_FOR_STORAGE  3
#define NGX_HTTP_CHATON_FOR_CRAWL    4
#define NGX_HTTP_CHATON_FOR_SPEECH   5


typedef struct {
    const char                  *method;         /* "GET" or "POST" */
    ngx_str_t                    path;           /* or a fetch's URL */
    ngx_str_t                    body;           /* signed; sent unless bufs */
    ngx_chain_t                 *bufs;           /* sent instead (multipart) */
    ngx_str_t                    content_type;
    size_t                       capture;        /* of an answer kept */
    ngx_uint_t                   kind;
    ngx_uint_t                   purpose;        /* an API call's */
    ngx_pool_t                  *pool;           /* for what only sending
                                                    needs (the body's buffer,
                                                    the signature); NULL:
                                                    the request's */
    unsigned                     background:1;
} ngx_http_chaton_call_args_t;


typedef struct ngx_http_chaton_call_s  ngx_http_chaton_call_t;

typedef ngx_int_t (*ngx_http_chaton_header_pt)(ngx_http_chaton_call_t *call);
typedef ngx_int_t (*ngx_http_chaton_body_pt)(ngx_http_chaton_call_t *call,
    u_char *pos, size_t len, chaton_buf_t *out);


/*
 * One backend call: a subrequest to the internal location.  It lives in
 * the main request's pool; its address is the subrequest's module context
 * (read by the variables that proxy_set_header uses, and by the filters)
 * and the post_subrequest data, which survives a context reset.
 */

/*
 * What a call's sending needs: its arguments (for another try too), its
 * request line's path and the values of its headers' variables
 * ($chaton_date, ...).  Kept where the call's sending is (args.pool), and
 * gone with it once it is sent.
 */

typedef struct {
    ngx_http_chaton_call_args_t  args;
    ngx_str_t                    path;           /* as signed and sent */
    ngx_str_t                    content_type;
    ngx_str_t                    date;
    ngx_str_t                    authorization;
    ngx_str_t                    user_agent;
    ngx_str_t                    time_zone;
    ngx_str_t                    url;            /* a fetch's */
} ngx_http_chaton_sending_t;


struct ngx_http_chaton_call_s {
    ngx_http_request_t          *request;        /* the main request */
    ngx_http_request_t          *sr;
    void                        *data;           /* the route's context */

    ngx_http_chaton_header_pt    header;         /* backend status known */
    ngx_http_chaton_body_pt      body;           /* backend bytes, if 200 */

    ngx_http_chaton_sending_t   *sending;        /* or NULL: sent */
    ngx_http_chaton_cred_t      *cred;
    ngx_uint_t                   cred_index;
    ngx_uint_t                   tries;          /* sets tried before */
    ngx_uint_t                   kind;           /* its args' */
    ngx_uint_t                   purpose;
    chaton_alloc_t               alloc;

    ngx_uint_t                   status;         /* the backend's, or 0 */
    ngx_int_t                    rc;             /* post_subrequest's */
    ngx_str_t                    retry_after;
    chaton_buf_t                 answer;         /* a captured answer */

    ngx_chain_t                 *held;           /* input kept back */
    ngx_chain_t                 *free;
    ngx_chain_t                 *busy;
    ngx_chain_t                 *pending;        /* output kept for the
                                                    next read's */
    ngx_event_t                 *flush;          /* sends it at the end of
                                                    the loop's turn */

    ngx_msec_t                   last_read;

    unsigned                     ended:1;        /* post_subrequest ran */
    unsigned                     whole:1;        /* the backend's last
                                                    byte arrived */
    unsigned                     unusable:1;     /* 200, but not what the
                                                    route can read */
    unsigned                     encoded:1;      /* compressed, unasked */
    unsigned                     forward_ok:1;   /* a 200's bytes go to the
                                                    client as they are */
    unsigned                     forward_any:1;  /* any status's bytes do */
    unsigned                     overflow:1;     /* answer over its cap */
    unsigned                     satisfied:1;    /* the route has all it
                                                    needs of the answer */
    unsigned                     background:1;   /* its args' */
    unsigned                     ending:1;       /* a flush or the end
                                                    passed: output waits
                                                    no more */
    unsigned                     burst:1;        /* the last read filled
                                                    the upstream's
                                                    buffer */
};


/*
 * A call in the client's way (not background) is over only once its
 * output has left the postpone filter too: nginx says so by sr->done,
 * which is set after post_subrequest ran.
 */

#define ngx_http_chaton_call_over(call)                                       \
    ((call)->background ? (call)->ended : (call)->sr->done)


typedef ngx_int_t (*ngx_http_chaton_start_pt)(ngx_http_request_t *r,
    ngx_str_t *body);


/*
 * What every route's request context starts with: its start, and the facts
 * the access log variables show.
 */

typedef struct {
    ngx_http_chaton_start_pt     start;
    ngx_pool_t                  *pool;           /* the state's: see
                                                    ngx_http_chaton_state_pool
                                                    () */
    ngx_msec_t                   started;
    ngx_str_t                    model;          /* as the client asked */
    ngx_str_t                    backend_model;  /* as ChatOn was sent */
    ngx_uint_t                   backend_status;
    ngx_str_t                    retry_after;    /* a backend 429's */
    ngx_str_t                    credential;     /* the set that served */
    ngx_str_t                    backend_addr;   /* the peer that served */
    ngx_msec_t                   first_token;    /* since started */
    uint64_t                     events;
    uint64_t                     chunks;
    uint64_t                     content_bytes;
    ngx_uint_t                   uploads;
    ngx_http_chaton_call_t      *relay;          /* a passthrough call */
    uint64_t                     prompt_tokens;  /* as reported, or */
    uint64_t                     completion_tokens;  /* counted for the
                                                        metrics */
    ngx_uint_t                   tool_calls;
    ngx_uint_t                   tool_call_failures;
    unsigned                     stream:1;
    unsigned                     stream_open:1;  /* in streams_open */
    unsigned                     token_seen:1;
    unsigned                     ended:1;        /* finalized */
} ngx_http_chaton_req_t;


extern ngx_module_t  ngx_http_chaton_module;


/* the module's log lines: each names its request by $request_id */

#define ngx_http_chaton_log(level, r, fmt, ...)                               \
    ngx_log_error(level, (r)->connection->log, 0, "chaton: [%V] " fmt,       \
                  ngx_http_chaton_request_id(r), ##__VA_ARGS__)


/* ngx_http_chaton_module.c */
ngx_str_t *ngx_http_chaton_request_id(ngx_http_request_t *r);
ngx_uint_t ngx_http_chaton_served(ngx_http_request_t *r);
void ngx_http_chaton_route(ngx_http_request_t *r, ngx_str_t *uri,
    chaton_route_t *rt);
void ngx_http_chaton_alloc_init(chaton_alloc_t *a, ngx_pool_t *pool);
ngx_pool_t *ngx_http_chaton_state_pool(ngx_http_request_t *r);
chaton_alloc_t *ngx_http_chaton_heap(void);

#if (NGX_DEBUG)
#define ngx_http_chaton_pool_debug(r, step)                                   \
    if ((r)->connection->log->log_level & NGX_LOG_DEBUG_HTTP)                \
        ngx_http_chaton_pool_log(r, step)
void ngx_http_chaton_pool_log(ngx_http_request_t *r, const char *step);
#else
#define ngx_http_chaton_pool_debug(r, step)
#endif
ngx_int_t ngx_http_chaton_read_request(ngx_http_request_t *r, size_t size,
    size_t state, ngx_http_chaton_start_pt start);
void ngx_http_chaton_body_release(ngx_http_request_t *r, ngx_str_t *body);

/* ngx_http_chaton_keys.c */
char *ngx_http_chaton_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_chaton_client_keys(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_str_t *ngx_http_chaton_client(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_client_index(ngx_http_request_t *r);

/* ngx_http_chaton_reply.c */
ngx_int_t ngx_http_chaton_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);
ngx_int_t ngx_http_chaton_send_chain(ngx_http_request_t *r,
    ngx_uint_t status, ngx_chain_t *out);
ngx_int_t ngx_http_chaton_chain_add(ngx_http_request_t *r,
    ngx_chain_t ***ll, u_char *data, size_t len);
ngx_int_t ngx_http_chaton_send_error(ngx_http_request_t *r,
    chaton_error_t *err);
ngx_int_t ngx_http_chaton_send_last(ngx_http_request_t *r, u_char *data,
    size_t len);
ngx_int_t ngx_http_chaton_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message);
ngx_int_t ngx_http_chaton_send_stream_header(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_cors(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_preflight(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_method_not_allowed(ngx_http_request_t *r,
    const char *allow);
ngx_int_t ngx_http_chaton_error_handler(ngx_http_request_t *r);
ngx_table_elt_t *ngx_http_chaton_find_header(ngx_list_t *headers,
    const char *name, size_t len);
void ngx_http_chaton_backend_error(ngx_http_chaton_call_t *call,
    chaton_error_t *err);

/* ngx_http_chaton_backend.c */
ngx_http_chaton_call_t *ngx_http_chaton_call(ngx_http_request_t *r,
    ngx_http_chaton_call_args_t *args, void *data);
ngx_http_chaton_call_t *ngx_http_chaton_call_again(
    ngx_http_chaton_call_t *call);
ngx_http_chaton_call_t *ngx_http_chaton_call_chat(ngx_http_request_t *r,
    ngx_str_t *body, ngx_uint_t background, ngx_pool_t *pool, void *data);
ngx_int_t ngx_http_chaton_call_sent(ngx_http_chaton_call_t *call);
ngx_http_chaton_call_t *ngx_http_chaton_call_upload(ngx_http_request_t *r,
    ngx_chain_t *bufs, ngx_str_t *content_type, ngx_pool_t *pool, void *data);
ngx_http_chaton_call_t *ngx_http_chaton_call_storage(ngx_http_request_t *r,
    u_char *path, size_t len, void *data);
ngx_int_t ngx_http_chaton_is_event_stream(ngx_str_t *type);
ngx_int_t ngx_http_chaton_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_chaton_backend_init(ngx_conf_t *cf);

/* ngx_http_chaton_variables.c */
ngx_int_t ngx_http_chaton_add_log_variables(ngx_conf_t *cf);

/* ngx_http_chaton_metrics.c */
void *ngx_http_chaton_metrics_create_conf(ngx_conf_t *cf);
char *ngx_http_chaton_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_chaton_metrics_location(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_chaton_metrics_model(ngx_conf_t *cf, u_char *name,
    size_t len);
ngx_int_t ngx_http_chaton_metrics_credential(ngx_conf_t *cf,
    ngx_str_t *name);
ngx_int_t ngx_http_chaton_metrics_client(ngx_conf_t *cf, ngx_str_t *name);
ngx_int_t ngx_http_chaton_metrics_init(ngx_conf_t *cf);
ngx_uint_t ngx_http_chaton_metrics_on(ngx_http_request_t *r);
void ngx_http_chaton_metrics_stream(ngx_http_request_t *r);
void ngx_http_chaton_metrics_call(ngx_http_chaton_call_t *call);
void ngx_http_chaton_metrics_retry(ngx_http_chaton_call_t *call);

/* ngx_http_chaton_store.c */
char *ngx_http_chaton_store_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_uint_t ngx_http_chaton_store_on(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_store_put(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *entry);
ngx_int_t ngx_http_chaton_store_get(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *entry);
ngx_int_t ngx_http_chaton_store_delete(ngx_http_request_t *r, ngx_str_t *id);

/* ngx_http_chaton_filter.c */
ngx_int_t ngx_http_chaton_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_chaton_call_output(ngx_http_chaton_call_t *call,
    ngx_chain_t *out);
ngx_int_t ngx_http_chaton_call_room(ngx_http_chaton_call_t *call,
    chaton_buf_t *out, size_t len);

/* ngx_http_chaton_models.c */
char *ngx_http_chaton_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_chaton_context_window(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_chaton_models_merge(ngx_conf_t *cf,
    ngx_http_chaton_loc_conf_t *prev, ngx_http_chaton_loc_conf_t *conf,
    ngx_uint_t served);

/* ngx_http_chaton_pass.c */
ngx_int_t ngx_http_chaton_pass(ngx_http_request_t *r, const char *method,
    const ngx_str_t *path, ngx_str_t *body);

/* the routes */
ngx_int_t ngx_http_chaton_chat_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_messages_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_count_tokens_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_responses_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_response_handler(ngx_http_request_t *r,
    chaton_route_t *rt);
ngx_int_t ngx_http_chaton_models_handler(ngx_http_request_t *r,
    chaton_route_t *rt);
ngx_int_t ngx_http_chaton_images_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_chaton_speech_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_CHATON_MODULE_H_INCLUDED_ */
