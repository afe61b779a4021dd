/*
 * OpenAI chat request -> ChatOn /chats/stream body.
 *
 * Parsing and writing are two steps: images given as data URLs must be
 * uploaded (and get their URLs) between them.
 */

#ifndef _CHATON_REQUEST_H_INCLUDED_
#define _CHATON_REQUEST_H_INCLUDED_


#include "chaton.h"
#include "chaton_bpe.h"
#include "chaton_error.h"
#include "chaton_models.h"
#include "chaton_tools.h"


typedef struct {
    const unsigned char    *url;        /* http(s) URL, or the upload's URL */
    size_t                  url_len;
    const char             *mime;       /* data URLs: image/png, ... */
    const char             *ext;        /* data URLs: png, ... */
    unsigned char          *data;       /* data URLs: the decoded bytes */
    size_t                  data_len;
    char                    param[64];  /* messages[i].content[j] */
} chaton_image_t;


/* a tool call an assistant made, in the history */

typedef struct {
    const unsigned char    *id;
    size_t                  id_len;
    const unsigned char    *name;
    size_t                  name_len;
    const unsigned char    *arguments;  /* a JSON object, compact */
    size_t                  arguments_len;
} chaton_call_t;


/*
 * A message as the backend gets it: a role it knows (system, user,
 * assistant) and text.  An assistant's tool calls and a tool's result
 * (role "tool" to the dialect) are written into that text in the tools'
 * format (chaton_tools.h), as the backend has no such things.
 */

typedef struct {
    const char             *role;
    unsigned char          *content;
    size_t                  content_len;
    size_t                  image;      /* first image in req->images */
    size_t                  nimages;
    chaton_call_t          *calls;      /* an assistant's tool calls */
    size_t                  ncalls;
} chaton_message_t;


#define CHATON_FORMAT_TEXT         0
#define CHATON_FORMAT_JSON_OBJECT  1
#define CHATON_FORMAT_JSON_SCHEMA  2


typedef struct {
    const chaton_model_t   *models;
    size_t                  nmodels;
    const chaton_model_t   *fallback;       /* serves unknown models, or
                                               NULL: they are a 404 */
    uint64_t                max_tokens;     /* when the client gives none */
    size_t                  max_image;      /* bytes of one decoded image */
    size_t                  max_images;     /* images in one request */
    const unsigned char    *nonce;          /* the tools' format's, of
                                               CHATON_TOOLS_NONCE_LEN */

    /*
     * Where the messages go (their texts, calls, images: what only the
     * chat call's body and its pre-steps read), so that they can go with
     * it; NULL: with the rest of the request.
     */
    chaton_alloc_t         *scratch;

    /*
     * Responses' store: the items of the stored response of an id (a
     * JSON array: previous_response_id's, or the one an item_reference's
     * id names), or CHATON_BAD with err set; NULL: nothing is stored, no
     * id is found.  response_id: the answer's id, for its input items'
     * ids; NULL: the items are not kept.
     */
    int                   (*previous)(void *data, const unsigned char *id,
                                      size_t len, const unsigned char **items,
                                      size_t *items_len, chaton_error_t *err);
    void                   *previous_data;
    const unsigned char    *response_id;
    size_t                  response_id_len;

    /* ChatOn's switches when the client does not say */
    unsigned                web_search:1;
    unsigned                image_gen:1;
    unsigned                code_interpreter:1;
} chaton_chat_conf_t;


/* a stop sequence (Anthropic's stop_sequences): the answer ends there */

typedef struct {
    const unsigned char    *data;
    size_t                  len;
} chaton_stop_t;


typedef struct {
    unsigned char          *model;          /* as the client asked */
    size_t                  model_len;
    const chaton_model_t   *entry;          /* what it means */

    uint64_t                max_tokens;

    chaton_message_t       *messages;
    size_t                  nmessages;
    chaton_image_t         *images;
    size_t                  nimages;

    /* text put in front of the last user message (page crawls) */
    const unsigned char    *context;
    size_t                  context_len;

    const unsigned char    *web_search_engine;
    size_t                  web_search_engine_len;

    chaton_usage_t          prompt;

    /* the tools offered, how the model may use them; the answer is read
     * for calls (chaton_tools_extract) only when "extract" is set */
    chaton_tools_t          tools;
    unsigned                extract:1;
    unsigned                nonce_drawn:1;

    int                     format;         /* CHATON_FORMAT_* */
    const unsigned char    *schema;         /* json_schema's, compact */
    size_t                  schema_len;
    const unsigned char    *schema_name;
    size_t                  schema_name_len;

    /* the writer ends the text at the first of these (chaton_anthropic) */
    chaton_stop_t          *stop;
    size_t                  nstop;

    /* Responses: previous_response_id (its items come first when the
     * configuration can resolve it); the request's fields its response
     * object repeats, as JSON members each after a comma */
    const unsigned char    *previous_response_id;
    size_t                  previous_response_id_len;
    const unsigned char    *echo;
    size_t                  echo_len;
    const unsigned char    *items;          /* the input items, as stored:
                                               a JSON array, or NULL */
    size_t                  items_len;

    unsigned                stream:1;
    unsigned                include_usage:1;
    unsigned                unreported:1;   /* the dialect reports no usage
                                               of this answer: not counted */
    unsigned                web_search:1;
    unsigned                image_gen:1;
    unsigned                code_interpreter:1;
    unsigned                store:1;        /* Responses: keep it */
} chaton_chat_req_t;


int chaton_chat_parse(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err);
int chaton_chat_body(chaton_buf_t *out, const chaton_chat_req_t *req);
uint64_t chaton_chat_prompt_tokens(const chaton_chat_req_t *req,
    const chaton_bpe_t *bpe);

/*
 * What every dialect's parser shares, once its messages are read: an
 * assistant's calls written into its text, the call a tool's result
 * answers, the instructions for tools and the answer's format as a first
 * system message (the messages array must have room for one more), the
 * context window's check.
 */

int chaton_conv_calls_text(chaton_chat_req_t *req, chaton_alloc_t *a,
    chaton_message_t *msg);
const chaton_call_t *chaton_conv_find_call(chaton_chat_req_t *req,
    const char *id, const char *name);
int chaton_conv_instructions(chaton_chat_req_t *req, chaton_alloc_t *a,
    int history);
int chaton_conv_fits(chaton_chat_req_t *req, chaton_error_t *err);
int chaton_chat_last_user(const chaton_chat_req_t *req);

/* the parts of parsing every dialect's parser has in common */

unsigned char *chaton_conv_copy(chaton_alloc_t *a, const char *s,
    size_t *len);
unsigned char *chaton_conv_json_text(chaton_alloc_t *a, struct cJSON *v,
    size_t *len);
int chaton_conv_model(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, struct cJSON *root, chaton_error_t *err);
int chaton_conv_tool(chaton_alloc_t *a, chaton_error_t *err,
    const char *param, struct cJSON *fn, const char *schema,
    chaton_tool_t *t);
int chaton_conv_tools(chaton_chat_req_t *req, chaton_alloc_t *a,
    chaton_error_t *err, struct cJSON *root, size_t max, int anthropic,
    struct cJSON **list, chaton_tool_t **tools);
int chaton_conv_bool(chaton_error_t *err, struct cJSON *root,
    const char *name, unsigned *value);
int chaton_conv_number(chaton_error_t *err, struct cJSON *root,
    const char *name, double min, double max);
int chaton_conv_integer(chaton_error_t *err, struct cJSON *root,
    const char *name, double min, double max, uint64_t *value);
int chaton_conv_choose(chaton_tools_t *t, const char *name);
int chaton_conv_format(chaton_chat_req_t *req, chaton_alloc_t *a,
    chaton_error_t *err, struct cJSON *v, const char *param, int nested);
int chaton_conv_nonce(chaton_chat_req_t *req,
    const chaton_chat_conf_t *conf);
int chaton_conv_image(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const char *param, chaton_error_t *err,
    chaton_image_t **image);
int chaton_conv_image_url(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const char *param, chaton_error_t *err,
    const char *url);
int chaton_conv_http_url(const unsigned char *url, size_t n);

int chaton_json_body_check(const unsigned char *body, size_t len,
    chaton_error_t *err);
struct cJSON *chaton_json_body(const unsigned char *body, size_t len,
    chaton_error_t *err);
int chaton_json_body_tree(struct cJSON **root, const unsigned char *body,
    size_t len, chaton_alloc_t *a, chaton_error_t *err);


#endif /* _CHATON_REQUEST_H_INCLUDED_ */
