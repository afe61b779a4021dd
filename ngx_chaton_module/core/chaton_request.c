/*
 * The chat request translator: OpenAI /v1/chat/completions body in, ChatOn
 * /chats/stream body out.
 *
 * The client's JSON is parsed once with cJSON, validated field by field
 * (every refusal names the field, as OpenAI does), and copied into a small
 * model of the request owned by the caller's allocator; the cJSON tree is
 * freed before returning.  The ChatOn body is written from that model by
 * chaton_chat_body(), directly as JSON text, after uploads (if any) have
 * filled in image URLs.
 */

#include <math.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "chaton_request.h"
#include "chaton_dataurl.h"


#define CHATON_MAX_MESSAGES     10000
#define CHATON_CONTEXT_MARGIN   2


typedef struct {
    chaton_chat_req_t          *req;
    chaton_alloc_t             *alloc;
    chaton_alloc_t             *scratch;    /* the messages' (conf's) */
    const chaton_chat_conf_t   *conf;
    chaton_error_t             *err;
    size_t                      nimages;
    char                        param[64];
} chaton_parse_t;


static int chaton_json_body_text(const unsigned char **body, size_t *len,
    chaton_json_room_t *room, chaton_error_t *err);
static int chaton_json_body_bad(chaton_error_t *err);
static int chaton_json_body_object(chaton_error_t *err);
static int chaton_chat_fields(chaton_parse_t *ps, cJSON *root);
static int chaton_chat_messages(chaton_parse_t *ps, cJSON *messages);
static int chaton_chat_message(chaton_parse_t *ps, cJSON *m, size_t i,
    chaton_message_t *msg);
static int chaton_chat_parts(chaton_parse_t *ps, cJSON *parts, size_t i,
    chaton_message_t *msg, chaton_buf_t *text);
static int chaton_chat_image(chaton_parse_t *ps, cJSON *part);
static int chaton_chat_tokens(chaton_parse_t *ps, cJSON *root,
    const char *name);
static int chaton_chat_tools(chaton_parse_t *ps, cJSON *root);
static int chaton_chat_tool_choice(chaton_parse_t *ps, cJSON *v,
    const char *param);
static int chaton_chat_format(chaton_parse_t *ps, cJSON *root);
static int chaton_chat_calls(chaton_parse_t *ps, cJSON *m, size_t i,
    chaton_message_t *msg);
static int chaton_chat_call(chaton_parse_t *ps, cJSON *fn, chaton_call_t *c);
static int chaton_chat_result(chaton_parse_t *ps, cJSON *m, size_t i,
    chaton_message_t *msg, const char *role);


static const char *
chaton_chat_role(const char *role)
{
    if (strcmp(role, "user") == 0) {
        return "user";
    }

    if (strcmp(role, "assistant") == 0) {
        return "assistant";
    }

    /* OpenAI's newer name for the system role */

    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
        return "system";
    }

    return NULL;
}


/*
 * Checks that apply to every JSON body before cJSON sees it: cJSON stops at
 * a NUL and does not validate UTF-8, so both are refused here, and a "\u0000"
 * escape would silently cut a string short inside cJSON.
 */

int
chaton_json_body_check(const unsigned char *body, size_t len,
    chaton_error_t *err)
{
    size_t                i, bs;
    const unsigned char  *p, *end;

    if (len == 0) {
        return chaton_error_set(err, 400, NULL, NULL,
                                "The request body is empty; "
                                "a JSON object was expected.");
    }

    if (memchr(body, '\0', len) != NULL) {
        return chaton_error_set(err, 400, NULL, NULL,
                                "The request body contains a NUL byte.");
    }

    if (!chaton_utf8_valid(body, len)) {
        return chaton_error_set(err, 400, NULL, NULL,
                                "The request body is not valid UTF-8.");
    }

    p = body;
    end = body + len;

    while ((p = memchr(p, '\\', end - p)) != NULL) {

        for (i = 0; p + i < end && p[i] == '\\'; i++) { /* void */ }

        bs = i;

        if (bs % 2 == 1 && end - (p + bs) >= 5
            && memcmp(p + bs, "u0000", 5) == 0)
        {
            return chaton_error_set(err, 400, NULL, NULL,
                                    "The request body contains a \\u0000 "
                                    "escape; NUL characters are not "
                                    "accepted.");
        }

        p += bs;
    }

    return CHATON_OK;
}


/*
 * A request body as the one JSON object it must be; the refusal, if not,
 * in err.  The caller deletes the tree.
 */

cJSON *
chaton_json_body(const unsigned char *body, size_t len, chaton_error_t *err)
{
    cJSON               *root;
    chaton_json_room_t   room;

    if (chaton_json_body_text(&body, &len, &room, err) != CHATON_OK) {
        return NULL;
    }

    root = chaton_json_parse(body, len);

    if (root == NULL) {
        (void) chaton_json_body_bad(err);
        return NULL;
    }

    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        (void) chaton_json_body_object(err);
        return NULL;
    }

    return root;
}


/*
 * The same tree in one block of a's (chaton_json_tree()), for the parsers
 * that only read it: the caller gives it back with chaton_json_tree_free().
 * CHATON_BAD with the refusal in err, or CHATON_ERROR.
 */

int
chaton_json_body_tree(cJSON **root, const unsigned char *body, size_t len,
    chaton_alloc_t *a, chaton_error_t *err)
{
    int                  rc;
    chaton_json_room_t   room;

    *root = NULL;

    if (chaton_json_body_text(&body, &len, &room, err) != CHATON_OK) {
        return CHATON_BAD;
    }

    rc = chaton_json_tree(root, body, len, &room, a);

    if (rc == CHATON_BAD) {
        return chaton_json_body_bad(err);
    }

    if (rc != CHATON_OK) {
        return rc;
    }

    if (!cJSON_IsObject(*root)) {
        chaton_json_tree_free(*root, a);
        *root = NULL;
        return chaton_json_body_object(err);
    }

    return CHATON_OK;
}


/* a body's bytes checked, a BOM skipped, and the JSON text strict */

static int
chaton_json_body_text(const unsigned char **body, size_t *len,
    chaton_json_room_t *room, chaton_error_t *err)
{
    /* a UTF-8 byte order mark, as some clients write it, is no JSON */

    if (*len >= 3 && memcmp(*body, "\xef\xbb\xbf", 3) == 0) {
        *body += 3;
        *len -= 3;
    }

    if (chaton_json_body_check(*body, *len, err) != CHATON_OK) {
        return CHATON_BAD;
    }

    if (!chaton_json_check(*body, *len, room)) {
        return chaton_json_body_bad(err);
    }

    return CHATON_OK;
}


static int
chaton_json_body_bad(chaton_error_t *err)
{
    return chaton_error_set(err, 400, NULL, NULL,
                            "We could not parse the JSON body of your "
                            "request: it is not one valid JSON value.");
}


static int
chaton_json_body_object(chaton_error_t *err)
{
    return chaton_error_set(err, 400, NULL, NULL,
                            "The request body must be a JSON object.");
}


int
chaton_chat_parse(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err)
{
    int              rc;
    cJSON           *root;
    chaton_parse_t   ps;

    memset(req, 0, sizeof(chaton_chat_req_t));

    ps.scratch = conf->scratch ? conf->scratch : a;

    rc = chaton_json_body_tree(&root, body, len, ps.scratch, err);
    if (rc != CHATON_OK) {
        return rc;
    }

    ps.req = req;
    ps.alloc = a;
    ps.conf = conf;
    ps.err = err;
    ps.nimages = 0;

    rc = chaton_chat_fields(&ps, root);

    chaton_json_tree_free(root, ps.scratch);

    return rc;
}


static int
chaton_chat_fields(chaton_parse_t *ps, cJSON *root)
{
    int                  rc;
    cJSON               *v, *o;
    unsigned             web_search, image_gen, code_interpreter;
    chaton_chat_req_t   *req;

    req = ps->req;

    rc = chaton_conv_model(req, ps->alloc, ps->conf, root, ps->err);
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_conv_bool(ps->err, root, "stream", NULL);
    if (rc != CHATON_OK) {
        return rc;
    }

    v = chaton_json_get(root, "stream");
    req->stream = cJSON_IsTrue(v);

    v = chaton_json_get(root, "stream_options");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v)) {
            return chaton_error_set(ps->err, 400, "stream_options", NULL,
                                    "'stream_options' must be an object");
        }

        o = chaton_json_get(v, "include_usage");

        if (o && !cJSON_IsNull(o) && !cJSON_IsBool(o)) {
            return chaton_error_set(ps->err, 400,
                                    "stream_options.include_usage", NULL,
                                    "'stream_options.include_usage' must "
                                    "be a boolean");
        }

        req->include_usage = cJSON_IsTrue(o);

        if (!req->stream) {
            return chaton_error_set(ps->err, 400, "stream_options", NULL,
                                    "The 'stream_options' parameter is only "
                                    "allowed when 'stream' is enabled.");
        }
    }

    /* a stream reports usage only when asked to: nothing to count else */

    req->unreported = req->stream && !req->include_usage;

    req->max_tokens = ps->conf->max_tokens;

    rc = chaton_chat_tokens(ps, root, "max_tokens");
    if (rc != CHATON_OK) {
        return rc;
    }

    /* the newer name wins when a client sends both */

    rc = chaton_chat_tokens(ps, root, "max_completion_tokens");
    if (rc != CHATON_OK) {
        return rc;
    }

    v = chaton_json_get(root, "n");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)
            || v->valuedouble < 1)
        {
            return chaton_error_set(ps->err, 400, "n", NULL,
                                    "'n' must be a positive integer");
        }

        if (v->valuedouble != 1) {
            return chaton_error_set(ps->err, 400, "n", "unsupported_value",
                                    "Only n=1 is supported: the backend "
                                    "answers with one choice.");
        }
    }

    rc = chaton_chat_tools(ps, root);
    if (rc != CHATON_OK) {
        return rc;
    }

    /* sampling parameters: checked like OpenAI does, then not used */

    if (chaton_conv_number(ps->err, root, "temperature", 0, 2) != CHATON_OK
        || chaton_conv_number(ps->err, root, "top_p", 0, 1) != CHATON_OK
        || chaton_conv_number(ps->err, root, "presence_penalty", -2, 2)
           != CHATON_OK
        || chaton_conv_number(ps->err, root, "frequency_penalty", -2, 2)
           != CHATON_OK
        || chaton_conv_number(ps->err, root, "seed", -9.2e18, 9.2e18)
           != CHATON_OK)
    {
        return CHATON_BAD;
    }

    v = chaton_json_get(root, "stop");

    if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
        o = cJSON_IsArray(v) ? v->child : NULL;

        while (o && cJSON_IsString(o)) {
            o = o->next;
        }

        if (!cJSON_IsArray(v) || o) {
            return chaton_error_set(ps->err, 400, "stop", NULL,
                                    "'stop' must be a string or an array "
                                    "of strings");
        }
    }

    v = chaton_json_get(root, "user");

    if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
        return chaton_error_set(ps->err, 400, "user", NULL,
                                "'user' must be a string");
    }

    rc = chaton_chat_format(ps, root);
    if (rc != CHATON_OK) {
        return rc;
    }

    /*
     * ChatOn's own switches: the location's defaults, unless the client
     * says (true or false)
     */

    web_search = ps->conf->web_search;
    image_gen = ps->conf->image_gen;
    code_interpreter = ps->conf->code_interpreter;

    if (chaton_conv_bool(ps->err, root, "function_web_search", &web_search)
        != CHATON_OK
        || chaton_conv_bool(ps->err, root, "function_image_gen", &image_gen)
           != CHATON_OK
        || chaton_conv_bool(ps->err, root, "function_code_interpreter",
                            &code_interpreter)
           != CHATON_OK)
    {
        return CHATON_BAD;
    }

    req->web_search = web_search;
    req->image_gen = image_gen;
    req->code_interpreter = code_interpreter;

    /* OpenAI's way to ask for a searched answer */

    v = chaton_json_get(root, "web_search_options");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v)) {
            return chaton_error_set(ps->err, 400, "web_search_options", NULL,
                                    "'web_search_options' must be an "
                                    "object");
        }

        req->web_search = 1;
    }

    v = chaton_json_get(root, "web_search_engine");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
            return chaton_error_set(ps->err, 400, "web_search_engine", NULL,
                                    "'web_search_engine' must be a "
                                    "non-empty string");
        }

        req->web_search_engine = chaton_conv_copy(ps->alloc, v->valuestring,
                                             &req->web_search_engine_len);
        if (req->web_search_engine == NULL) {
            return CHATON_ERROR;
        }
    }

    v = chaton_json_get(root, "messages");

    if (v == NULL || cJSON_IsNull(v)) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "Missing required parameter: 'messages'.");
    }

    if (!cJSON_IsArray(v)) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "'messages' must be an array");
    }

    return chaton_chat_messages(ps, v);
}


static int
chaton_chat_messages(chaton_parse_t *ps, cJSON *messages)
{
    int                  rc, history;
    size_t               n, i;
    cJSON               *m;
    chaton_message_t     msg;
    chaton_chat_req_t   *req;

    req = ps->req;
    history = 0;

    n = (size_t) cJSON_GetArraySize(messages);

    if (n == 0) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "'messages' must not be empty");
    }

    if (n > CHATON_MAX_MESSAGES) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "'messages' has more than %d entries",
                                CHATON_MAX_MESSAGES);
    }

    /* one more: the instructions for tools or the answer's format */

    req->messages = ps->scratch->alloc(ps->scratch->pool,
                                       (n + 1) * sizeof(chaton_message_t));
    if (req->messages == NULL) {
        return CHATON_ERROR;
    }

    /* images: counted first so that one array holds them all, in order */

    req->images = NULL;
    req->nimages = 0;

    i = 0;

    cJSON_ArrayForEach(m, messages) {

        rc = chaton_chat_message(ps, m, i, &msg);
        if (rc != CHATON_OK) {
            return rc;
        }

        i++;

        /* the tool calls of an assistant's turn go into its text */

        if (msg.ncalls) {
            history = 1;

            if (chaton_conv_nonce(req, ps->conf) != CHATON_OK) {
                return CHATON_ERROR;
            }

            rc = chaton_conv_calls_text(req, ps->scratch, &msg);
            if (rc != CHATON_OK) {
                return rc;
            }
        }

        /* empty or blank messages without images are not sent */

        if (msg.nimages == 0 && chaton_blank(msg.content, msg.content_len))
        {
            continue;
        }

        chaton_usage_add(&req->prompt, msg.content, msg.content_len);
        req->prompt.ascii += 12;        /* role and framing, ~3 tokens */

        req->messages[req->nmessages++] = msg;
    }

    if (req->nmessages == 0) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "Every message is empty: there is nothing "
                                "to answer.");
    }

    rc = chaton_conv_instructions(req, ps->scratch, history);
    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_conv_fits(req, ps->err);
}


/*
 * Messages far beyond the model's context window are refused here rather
 * than sent.  The count is the usage estimate, which can be wrong either
 * way: it takes 4 ASCII bytes or 1 other character for a token, and real
 * tokenizers make 3 to 6 bytes of prose or code a token, and 0.5 to 1.5
 * tokens of a CJK character.  So only an estimate over CHATON_CONTEXT_MARGIN
 * times the window is refused: for that to refuse messages that fit, the
 * estimate would have to be more than that many times too high, which
 * takes text of runs a real tokenizer packs 8 or more ASCII bytes a token
 * (long runs of one character), or CJK at under half a token a character.
 */

int
chaton_conv_fits(chaton_chat_req_t *req, chaton_error_t *err)
{
    uint64_t                tokens, window;
    const chaton_model_t   *m;

    m = req->entry;
    window = m->context;
    tokens = chaton_usage_tokens(&req->prompt);

    if (window == 0 || tokens <= window * CHATON_CONTEXT_MARGIN) {
        return CHATON_OK;
    }

    return chaton_error_set(err, 400, "messages",
                            "context_length_exceeded",
                            "This model's maximum context length is %llu "
                            "tokens. However, your messages resulted in "
                            "about %llu tokens (estimated), over twice as "
                            "many. Please reduce the length of the "
                            "messages.",
                            (unsigned long long) window,
                            (unsigned long long) tokens);
}


/* "messages[i]" and what follows, in ps->param */

static const char *
chaton_chat_param(chaton_parse_t *ps, size_t i, const char *field)
{
    (void) snprintf(ps->param, sizeof(ps->param), "messages[%zu]%s", i,
                    field);

    return ps->param;
}


static int
chaton_chat_message(chaton_parse_t *ps, cJSON *m, size_t i,
    chaton_message_t *msg)
{
    int            rc;
    cJSON         *v;
    chaton_buf_t   text;

    /* the parameter's name is written when it is refused only */

    if (!cJSON_IsObject(m)) {
        return chaton_error_set(ps->err, 400, chaton_chat_param(ps, i, ""),
                                NULL, "'%s' must be an object", ps->param);
    }

    memset(msg, 0, sizeof(chaton_message_t));

    v = chaton_json_get(m, "role");

    if (!cJSON_IsString(v)) {
        return chaton_error_set(ps->err, 400,
                                chaton_chat_param(ps, i, ".role"), NULL,
                                "'%s' must be a string", ps->param);
    }

    if (strcmp(v->valuestring, "tool") == 0
        || strcmp(v->valuestring, "function") == 0)
    {
        return chaton_chat_result(ps, m, i, msg, v->valuestring);
    }

    msg->role = chaton_chat_role(v->valuestring);

    if (msg->role == NULL) {
        return chaton_error_set(ps->err, 400,
                                chaton_chat_param(ps, i, ".role"), NULL,
                                "'%s' must be one of system, developer, "
                                "user, assistant", ps->param);
    }

    if (msg->role[0] == 'a') {
        rc = chaton_chat_calls(ps, m, i, msg);
        if (rc != CHATON_OK) {
            return rc;
        }
    }

    v = chaton_json_get(m, "content");

    /* an assistant turn may have no content (it only called tools) */

    if (v == NULL || cJSON_IsNull(v)) {
        if (msg->role[0] == 'a') {
            return CHATON_OK;
        }

        return chaton_error_set(ps->err, 400,
                                chaton_chat_param(ps, i, ".content"), NULL,
                                "'%s' is required", ps->param);
    }

    if (cJSON_IsString(v)) {
        msg->content = chaton_conv_copy(ps->scratch, v->valuestring,
                                        &msg->content_len);
        return msg->content ? CHATON_OK : CHATON_ERROR;
    }

    if (!cJSON_IsArray(v)) {
        return chaton_error_set(ps->err, 400,
                                chaton_chat_param(ps, i, ".content"), NULL,
                                "'%s' must be a string or an array of "
                                "content parts", ps->param);
    }

    if (cJSON_GetArraySize(v) == 0) {
        return chaton_error_set(ps->err, 400,
                                chaton_chat_param(ps, i, ".content"), NULL,
                                "'%s' must not be an empty array", ps->param);
    }

    chaton_buf_init(&text, ps->scratch, 0);

    rc = chaton_chat_parts(ps, v, i, msg, &text);
    if (rc != CHATON_OK) {
        return rc;
    }

    /* "" and not NULL: a message of images only has empty content */

    msg->content = text.data ? text.data : (unsigned char *) "";
    msg->content_len = text.len;

    return CHATON_OK;
}


/* text parts are joined with a space; image parts become images[] */

static int
chaton_chat_parts(chaton_parse_t *ps, cJSON *parts, size_t i,
    chaton_message_t *msg, chaton_buf_t *text)
{
    int       rc;
    size_t    j;
    cJSON    *part, *type, *v;

    j = 0;
    msg->image = ps->req->nimages;

    cJSON_ArrayForEach(part, parts) {

        (void) snprintf(ps->param, sizeof(ps->param),
                        "messages[%zu].content[%zu]", i, j);

        type = chaton_json_get(part, "type");

        if (!cJSON_IsObject(part) || !cJSON_IsString(type)) {
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "'%s' must be an object with a string "
                                    "'type'", ps->param);
        }

        if (strcmp(type->valuestring, "text") == 0
            || strcmp(type->valuestring, "input_text") == 0)
        {
            v = chaton_json_get(part, "text");

            if (!cJSON_IsString(v)) {
                return chaton_error_set(ps->err, 400, ps->param, NULL,
                                        "'%s.text' must be a string",
                                        ps->param);
            }

            /* empty parts add nothing, not even a space */

            if (v->valuestring[0] == '\0') {
                j++;
                continue;
            }

            if (text->len) {
                rc = chaton_buf_append(text, " ", 1);
                if (rc != CHATON_OK) {
                    return rc;
                }
            }

            rc = chaton_buf_append_str(text, v->valuestring);
            if (rc != CHATON_OK) {
                return rc;
            }

        } else if (strcmp(type->valuestring, "image_url") == 0) {

            rc = chaton_chat_image(ps, part);
            if (rc != CHATON_OK) {
                return rc;
            }

            msg->nimages++;

        } else {
            return chaton_error_set(ps->err, 400, ps->param,
                                    "unsupported_value",
                                    "'%s' has type '%.40s'; only 'text' and "
                                    "'image_url' parts are supported",
                                    ps->param, type->valuestring);
        }

        j++;
    }

    return CHATON_OK;
}


static int
chaton_chat_image(chaton_parse_t *ps, cJSON *part)
{
    cJSON              *v;
    chaton_chat_req_t  *req;

    req = ps->req;

    v = chaton_json_get(part, "image_url");

    /* {"url": "..."} per the API, a bare string from lax clients */

    if (cJSON_IsObject(v)) {
        v = chaton_json_get(v, "url");
    }

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s.image_url.url' must be a non-empty "
                                "string", ps->param);
    }

    return chaton_conv_image_url(req, ps->scratch, ps->conf, ps->param,
                                 ps->err, v->valuestring);
}


/*
 * An image given as a URL: an http(s) one the backend fetches, or a data
 * URL decoded for its upload; counted in req (the caller counts it in
 * its message).
 */

int
chaton_conv_image_url(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const char *param, chaton_error_t *err,
    const char *url)
{
    int                             rc;
    size_t                          n;
    chaton_buf_t                    data;
    chaton_image_t                 *img;
    const chaton_dataurl_type_t    *type;

    rc = chaton_conv_image(req, a, conf, param, err, &img);
    if (rc != CHATON_OK) {
        return rc;
    }

    n = strlen(url);

    if (chaton_conv_http_url((const unsigned char *) url, n)) {
        img->url = chaton_conv_copy(a, url, &img->url_len);
        if (img->url == NULL) {
            return CHATON_ERROR;
        }

        req->nimages++;
        return CHATON_OK;
    }

    chaton_buf_init(&data, a, 0);

    rc = chaton_dataurl_decode(&data, (const unsigned char *) url, n,
                               conf->max_image, &type);

    switch (rc) {

    case CHATON_OK:
        img->mime = type->mime;
        img->ext = type->ext;
        img->data = data.data;
        img->data_len = data.len;
        req->nimages++;
        return CHATON_OK;

    case CHATON_DATAURL_NOT_DATA:
        return chaton_error_set(err, 400, param, "invalid_image_url",
                                "'%s' must be an http(s) URL or a data: URL",
                                param);

    case CHATON_DATAURL_BAD_TYPE:
        return chaton_error_set(err, 400, param, "invalid_image_format",
                                "'%s' is not a supported image type: "
                                "png, jpeg, gif and webp are", param);

    case CHATON_DATAURL_NOT_BASE64:
        return chaton_error_set(err, 400, param, "invalid_image_url",
                                "'%s' is not a base64 data URL", param);

    case CHATON_DATAURL_EMPTY:
        return chaton_error_set(err, 400, param, "invalid_image_url",
                                "'%s' is an empty image", param);

    case CHATON_DATAURL_TOO_BIG:
        return chaton_error_set(err, 400, param, "image_too_large",
                                "'%s' is larger than %zu bytes", param,
                                conf->max_image);
    }

    return CHATON_ERROR;
}


/*
 * A new image of the request, not yet counted (the caller counts it once
 * it is filled in), named by param in later refusals (uploads'); more
 * than the location allows is a refusal.
 */

int
chaton_conv_image(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const char *param, chaton_error_t *err,
    chaton_image_t **image)
{
    size_t           n;
    chaton_image_t  *images;

    if (req->nimages >= conf->max_images) {
        return chaton_error_set(err, 400, param, NULL,
                                "Too many images: at most %zu per request.",
                                conf->max_images);
    }

    /* the array only grows by doubling; images are few */

    if ((req->nimages & (req->nimages - 1)) == 0) {
        n = req->nimages ? req->nimages * 2 : 4;

        images = a->alloc(a->pool, n * sizeof(chaton_image_t));
        if (images == NULL) {
            return CHATON_ERROR;
        }

        if (req->nimages) {
            memcpy(images, req->images,
                   req->nimages * sizeof(chaton_image_t));
        }

        req->images = images;
    }

    *image = &req->images[req->nimages];
    memset(*image, 0, sizeof(chaton_image_t));

    (void) snprintf((*image)->param, sizeof((*image)->param), "%s", param);

    return CHATON_OK;
}


/*
 * "model", through the alias table; an unknown one is served by the
 * location's default model, if there is one, or is a 404.
 */

int
chaton_conv_model(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, cJSON *root, chaton_error_t *err)
{
    cJSON  *v;

    v = chaton_json_get(root, "model");

    if (v == NULL || cJSON_IsNull(v)) {
        return chaton_error_set(err, 400, "model", NULL,
                                "you must provide a model parameter");
    }

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return chaton_error_set(err, 400, "model", NULL,
                                "'model' must be a non-empty string");
    }

    req->model = chaton_conv_copy(a, v->valuestring, &req->model_len);
    if (req->model == NULL) {
        return CHATON_ERROR;
    }

    req->entry = chaton_model_find(conf->models, conf->nmodels,
                                   req->model, req->model_len);

    /* an unknown model: served by the default model, if there is one */

    if (req->entry == NULL) {
        req->entry = conf->fallback;
    }

    if (req->entry == NULL) {
        return chaton_error_set(err, 404, "model", "model_not_found",
                                "The model '%.100s' does not exist; "
                                "GET /v1/models lists the models served "
                                "here.", v->valuestring);
    }

    return CHATON_OK;
}


/* an image's address the backend fetches itself */

int
chaton_conv_http_url(const unsigned char *url, size_t n)
{
    return (n > 7 && chaton_strncaseeq(url, "http://", 7))
           || (n > 8 && chaton_strncaseeq(url, "https://", 8));
}


/* an optional boolean: absent, null, true or false */

int
chaton_conv_bool(chaton_error_t *err, cJSON *root, const char *name,
    unsigned *value)
{
    cJSON  *v;

    v = chaton_json_get(root, name);

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (!cJSON_IsBool(v)) {
        return chaton_error_set(err, 400, name, NULL,
                                "'%s' must be a boolean", name);
    }

    if (value) {
        *value = cJSON_IsTrue(v);
    }

    return CHATON_OK;
}


/* an optional number in [min, max] */

int
chaton_conv_number(chaton_error_t *err, cJSON *root, const char *name,
    double min, double max)
{
    cJSON  *v;

    v = chaton_json_get(root, name);

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (!cJSON_IsNumber(v) || isnan(v->valuedouble)
        || v->valuedouble < min || v->valuedouble > max)
    {
        return chaton_error_set(err, 400, name, NULL,
                                "'%s' must be a number from %g to %g",
                                name, min, max);
    }

    return CHATON_OK;
}


static int
chaton_chat_tokens(chaton_parse_t *ps, cJSON *root, const char *name)
{
    return chaton_conv_integer(ps->err, root, name, 1, 1e9,
                               &ps->req->max_tokens);
}


/* an optional integer in [min, max]; *value is set when one is given */

int
chaton_conv_integer(chaton_error_t *err, cJSON *root, const char *name,
    double min, double max, uint64_t *value)
{
    cJSON  *v;

    v = chaton_json_get(root, name);

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)
        || v->valuedouble < min || v->valuedouble > max)
    {
        return chaton_error_set(err, 400, name, NULL,
                                "'%s' must be an integer from %.0f to %.0f",
                                name, min, max);
    }

    if (value) {
        *value = (uint64_t) v->valuedouble;
    }

    return CHATON_OK;
}


/*
 * tools (and the older functions): each a function with a name, a
 * description and a JSON Schema of its parameters; tool_choice (or
 * function_call) and parallel_tool_calls say how the model may use them.
 * The backend knows none of it: chaton_chat_instructions() tells the
 * model, and the answer is read back for calls (chaton_tools.c).
 */

static int
chaton_chat_tools(chaton_parse_t *ps, cJSON *root)
{
    int                  rc, legacy;
    size_t               n, k;
    cJSON               *list, *item, *fn, *v;
    chaton_tool_t       *tools;
    chaton_chat_req_t   *req;

    req = ps->req;
    legacy = 0;

    list = chaton_json_get(root, "tools");

    if (list == NULL || cJSON_IsNull(list)) {
        list = chaton_json_get(root, "functions");
        legacy = 1;
    }

    if (list && !cJSON_IsNull(list) && !cJSON_IsArray(list)) {
        return chaton_error_set(ps->err, 400, legacy ? "functions" : "tools",
                                NULL, "'%s' must be an array",
                                legacy ? "functions" : "tools");
    }

    n = list ? (size_t) cJSON_GetArraySize(list) : 0;

    if (n > 128) {
        return chaton_error_set(ps->err, 400, legacy ? "functions" : "tools",
                                NULL, "'%s' has more than 128 entries",
                                legacy ? "functions" : "tools");
    }

    tools = n ? ps->alloc->alloc(ps->alloc->pool, n * sizeof(chaton_tool_t))
              : NULL;
    if (n && tools == NULL) {
        return CHATON_ERROR;
    }

    k = 0;

    cJSON_ArrayForEach(item, list) {

        if (legacy) {
            (void) snprintf(ps->param, sizeof(ps->param), "functions[%zu]",
                            k);
            fn = item;

        } else {
            (void) snprintf(ps->param, sizeof(ps->param), "tools[%zu]", k);

            if (!cJSON_IsObject(item)) {
                return chaton_error_set(ps->err, 400, ps->param, NULL,
                                        "'%s' must be an object", ps->param);
            }

            v = chaton_json_get(item, "type");

            if (!cJSON_IsString(v) || strcmp(v->valuestring, "function")) {
                (void) snprintf(ps->param, sizeof(ps->param),
                                "tools[%zu].type", k);
                return chaton_error_set(ps->err, 400, ps->param,
                                        "unsupported_value",
                                        "'%s' must be 'function': the "
                                        "gateway calls functions only",
                                        ps->param);
            }

            (void) snprintf(ps->param, sizeof(ps->param),
                            "tools[%zu].function", k);
            fn = chaton_json_get(item, "function");
        }

        rc = chaton_conv_tool(ps->alloc, ps->err, ps->param, fn,
                              "parameters", &tools[k]);
        if (rc != CHATON_OK) {
            return rc;
        }

        k++;
    }

    req->tools.tools = tools;
    req->tools.ntools = n;
    req->tools.choice = CHATON_TOOL_CHOICE_AUTO;
    req->tools.parallel = 1;

    v = chaton_json_get(root, "tool_choice");

    if (v && !cJSON_IsNull(v)) {
        rc = chaton_chat_tool_choice(ps, v, "tool_choice");

    } else {
        v = chaton_json_get(root, "function_call");
        rc = (v && !cJSON_IsNull(v))
             ? chaton_chat_tool_choice(ps, v, "function_call") : CHATON_OK;
    }

    if (rc != CHATON_OK) {
        return rc;
    }

    v = chaton_json_get(root, "parallel_tool_calls");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsBool(v)) {
            return chaton_error_set(ps->err, 400, "parallel_tool_calls", NULL,
                                    "'parallel_tool_calls' must be a "
                                    "boolean");
        }

        req->tools.parallel = cJSON_IsTrue(v);
    }

    if (n && chaton_conv_nonce(req, ps->conf) != CHATON_OK) {
        return CHATON_ERROR;
    }

    req->extract = (n && req->tools.choice != CHATON_TOOL_CHOICE_NONE);

    return CHATON_OK;
}


/*
 * One tool: {"name", "description", and its JSON Schema under "schema"
 * ("parameters" for OpenAI, "input_schema" for Anthropic)}; param names
 * the object in a refusal.
 */

int
chaton_conv_tool(chaton_alloc_t *a, chaton_error_t *err, const char *param,
    cJSON *fn, const char *schema, chaton_tool_t *t)
{
    cJSON        *v;
    const char   *p;
    char          name[96];

    memset(t, 0, sizeof(chaton_tool_t));

    if (!cJSON_IsObject(fn)) {
        return chaton_error_set(err, 400, param, NULL,
                                "'%s' must be an object", param);
    }

    (void) snprintf(name, sizeof(name), "%s.name", param);

    v = chaton_json_get(fn, "name");

    if (!cJSON_IsString(v)) {
        return chaton_error_set(err, 400, name, NULL,
                                "'%s' must be a string", name);
    }

    /* OpenAI's rule for names: the format's too, so they stay readable */

    for (p = v->valuestring; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
        {
            break;
        }
    }

    if (*p || p == v->valuestring || p - v->valuestring > 64) {
        return chaton_error_set(err, 400, name, "invalid_value",
                                "'%s' must be 1 to 64 characters of a-z, "
                                "A-Z, 0-9, underscores and dashes", name);
    }

    t->name = chaton_conv_copy(a, v->valuestring, &t->name_len);
    if (t->name == NULL) {
        return CHATON_ERROR;
    }

    v = chaton_json_get(fn, "description");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v)) {
            (void) snprintf(name, sizeof(name), "%s.description", param);
            return chaton_error_set(err, 400, name, NULL,
                                    "'%s' must be a string", name);
        }

        t->description = chaton_conv_copy(a, v->valuestring,
                                          &t->description_len);
        if (t->description == NULL) {
            return CHATON_ERROR;
        }
    }

    v = chaton_json_get(fn, schema);

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v)) {
            (void) snprintf(name, sizeof(name), "%s.%s", param, schema);
            return chaton_error_set(err, 400, name, NULL,
                                    "'%s' must be a JSON Schema object",
                                    name);
        }

        t->parameters = chaton_conv_json_text(a, v, &t->parameters_len);
        if (t->parameters == NULL) {
            return CHATON_ERROR;
        }
    }

    return CHATON_OK;
}


/*
 * The start of a "tools" array, for the dialects whose tools are one list
 * (Responses, Anthropic): absent or null is none; not an array, or more
 * than max tools, a 400 in the dialect's words ("anthropic": "tools:
 * ..."); otherwise *tools has room for each, and *list is the array (NULL
 * when there is nothing to read).
 */

int
chaton_conv_tools(chaton_chat_req_t *req, chaton_alloc_t *a,
    chaton_error_t *err, cJSON *root, size_t max, int anthropic,
    cJSON **list, chaton_tool_t **tools)
{
    size_t   n;
    cJSON   *v;

    *list = NULL;
    *tools = NULL;

    v = chaton_json_get(root, "tools");

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (!cJSON_IsArray(v)) {
        return chaton_error_set(err, 400, "tools", NULL,
                                anthropic ? "tools: must be an array"
                                          : "'tools' must be an array");
    }

    n = (size_t) cJSON_GetArraySize(v);

    if (n > max) {
        return chaton_error_set(err, 400, "tools", NULL,
                                anthropic ? "tools: more than %zu tools"
                                          : "'tools' has more than %zu tools",
                                max);
    }

    if (n == 0) {
        return CHATON_OK;
    }

    *tools = a->alloc(a->pool, n * sizeof(chaton_tool_t));
    if (*tools == NULL) {
        return CHATON_ERROR;
    }

    req->tools.tools = *tools;
    *list = v;

    return CHATON_OK;
}


/*
 * The tools' format's nonce: the configuration's (tests), or a new one;
 * drawn once, and only for a request that offers tools or has calls in
 * its history: the others make no RAND_bytes call.
 */

int
chaton_conv_nonce(chaton_chat_req_t *req, const chaton_chat_conf_t *conf)
{
    if (req->nonce_drawn) {
        return CHATON_OK;
    }

    if (conf->nonce) {
        memcpy(req->tools.nonce, conf->nonce, CHATON_TOOLS_NONCE_LEN);

    } else if (chaton_tools_nonce(req->tools.nonce) != CHATON_OK) {
        return CHATON_ERROR;
    }

    req->nonce_drawn = 1;

    return CHATON_OK;
}


/*
 * "none", "auto", "required", or one function: {"type": "function",
 * "function": {"name": ...}}; function_call's {"name": ...} is the same.
 */

static int
chaton_chat_tool_choice(chaton_parse_t *ps, cJSON *v, const char *param)
{
    cJSON              *fn, *name;
    chaton_tools_t     *t;

    t = &ps->req->tools;

    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "none") == 0) {
            t->choice = CHATON_TOOL_CHOICE_NONE;
            return CHATON_OK;
        }

        if (strcmp(v->valuestring, "auto") == 0) {
            t->choice = CHATON_TOOL_CHOICE_AUTO;
            return CHATON_OK;
        }

        if (strcmp(v->valuestring, "required") == 0 && param[0] == 't') {
            if (t->ntools == 0) {
                return chaton_error_set(ps->err, 400, param, NULL,
                                        "'%s' is 'required' but no tools "
                                        "are given", param);
            }

            t->choice = CHATON_TOOL_CHOICE_REQUIRED;
            return CHATON_OK;
        }

        return chaton_error_set(ps->err, 400, param, "invalid_value",
                                "'%s' must be 'none', 'auto'%s or name a "
                                "function", param,
                                param[0] == 't' ? ", 'required'" : "");
    }

    fn = v;

    if (cJSON_IsObject(v) && param[0] == 't') {
        name = chaton_json_get(v, "type");

        if (!cJSON_IsString(name) || strcmp(name->valuestring, "function")) {
            return chaton_error_set(ps->err, 400, param, "invalid_value",
                                    "'%s.type' must be 'function'", param);
        }

        fn = chaton_json_get(v, "function");
    }

    name = cJSON_IsObject(fn) ? chaton_json_get(fn, "name") : NULL;

    if (!cJSON_IsString(name)) {
        return chaton_error_set(ps->err, 400, param, "invalid_value",
                                "'%s' must be 'none', 'auto'%s or name a "
                                "function", param,
                                param[0] == 't' ? ", 'required'" : "");
    }

    if (chaton_conv_choose(t, name->valuestring) == CHATON_OK) {
        return CHATON_OK;
    }

    return chaton_error_set(ps->err, 400, param, "invalid_value",
                            "'%s' names the function '%.64s', which is not "
                            "among the tools given", param,
                            name->valuestring);
}


/*
 * tool_choice naming a function: the one tool of that name, CHATON_BAD
 * if there is none
 */

int
chaton_conv_choose(chaton_tools_t *t, const char *name)
{
    size_t  k, len;

    len = strlen(name);

    for (k = 0; k < t->ntools; k++) {
        if (t->tools[k].name_len == len
            && memcmp(t->tools[k].name, name, len) == 0)
        {
            t->choice = CHATON_TOOL_CHOICE_FUNCTION;
            t->choice_name = t->tools[k].name;
            t->choice_name_len = t->tools[k].name_len;
            return CHATON_OK;
        }
    }

    return CHATON_BAD;
}


/* response_format: {"type": "text" | "json_object" | "json_schema"} */

static int
chaton_chat_format(chaton_parse_t *ps, cJSON *root)
{
    cJSON  *v;

    v = chaton_json_get(root, "response_format");

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    return chaton_conv_format(ps->req, ps->alloc, ps->err, v,
                              "response_format", 1);
}


/*
 * An answer's format, {"type": "text" | "json_object" | "json_schema"}
 * named param: a json_schema's "name" and "schema" are in its
 * "json_schema" member (nested: chat's response_format) or in it (the
 * Responses API's text.format).
 */

int
chaton_conv_format(chaton_chat_req_t *req, chaton_alloc_t *a,
    chaton_error_t *err, cJSON *v, const char *param, int nested)
{
    cJSON  *type, *js, *o;
    char    p[96];

    if (!cJSON_IsObject(v)) {
        return chaton_error_set(err, 400, param, NULL,
                                "'%s' must be an object", param);
    }

    type = chaton_json_get(v, "type");
    (void) snprintf(p, sizeof(p), "%s.type", param);

    if (!cJSON_IsString(type)) {
        return chaton_error_set(err, 400, p, NULL, "'%s' must be a string",
                                p);
    }

    if (strcmp(type->valuestring, "text") == 0) {
        return CHATON_OK;
    }

    if (strcmp(type->valuestring, "json_object") == 0) {
        req->format = CHATON_FORMAT_JSON_OBJECT;
        return CHATON_OK;
    }

    if (strcmp(type->valuestring, "json_schema") != 0) {
        return chaton_error_set(err, 400, p, "invalid_value",
                                "'%s' must be 'text', 'json_object' or "
                                "'json_schema'", p);
    }

    js = v;
    (void) snprintf(p, sizeof(p), "%s", param);

    if (nested) {
        js = chaton_json_get(v, "json_schema");
        (void) snprintf(p, sizeof(p), "%s.json_schema", param);

        if (!cJSON_IsObject(js)) {
            return chaton_error_set(err, 400, p, NULL,
                                    "'%s' must be an object", p);
        }
    }

    o = chaton_json_get(js, "name");
    (void) strcat(p, ".name");

    if (!cJSON_IsString(o) || o->valuestring[0] == '\0') {
        return chaton_error_set(err, 400, p, NULL,
                                "'%s' must be a non-empty string", p);
    }

    req->schema_name = chaton_conv_copy(a, o->valuestring,
                                        &req->schema_name_len);
    if (req->schema_name == NULL) {
        return CHATON_ERROR;
    }

    o = chaton_json_get(js, "schema");

    if (o && !cJSON_IsNull(o)) {
        if (!cJSON_IsObject(o)) {
            p[strlen(p) - 5] = '\0';
            (void) strcat(p, ".schema");
            return chaton_error_set(err, 400, p, NULL,
                                    "'%s' must be an object", p);
        }

        req->schema = chaton_conv_json_text(a, o, &req->schema_len);
        if (req->schema == NULL) {
            return CHATON_ERROR;
        }
    }

    req->format = CHATON_FORMAT_JSON_SCHEMA;

    return CHATON_OK;
}


/* an assistant's tool_calls (or the older function_call) */

static int
chaton_chat_calls(chaton_parse_t *ps, cJSON *m, size_t i,
    chaton_message_t *msg)
{
    int      rc;
    size_t   n, k;
    cJSON   *list, *item, *v;
    char     param[80];

    list = chaton_json_get(m, "tool_calls");

    if (list == NULL || cJSON_IsNull(list)) {
        v = chaton_json_get(m, "function_call");

        if (v == NULL || cJSON_IsNull(v)) {
            return CHATON_OK;
        }

        (void) snprintf(ps->param, sizeof(ps->param),
                        "messages[%zu].function_call", i);

        msg->calls = ps->scratch->alloc(ps->scratch->pool,
                                        sizeof(chaton_call_t));
        if (msg->calls == NULL) {
            return CHATON_ERROR;
        }

        rc = chaton_chat_call(ps, v, &msg->calls[0]);
        if (rc != CHATON_OK) {
            return rc;
        }

        /* the older form has no ids: a function's result names it */

        msg->calls[0].id = msg->calls[0].name;
        msg->calls[0].id_len = msg->calls[0].name_len;
        msg->ncalls = 1;

        return CHATON_OK;
    }

    (void) snprintf(param, sizeof(param), "messages[%zu].tool_calls", i);

    if (!cJSON_IsArray(list)) {
        return chaton_error_set(ps->err, 400, param, NULL,
                                "'%s' must be an array", param);
    }

    n = (size_t) cJSON_GetArraySize(list);

    if (n == 0) {
        return CHATON_OK;
    }

    msg->calls = ps->scratch->alloc(ps->scratch->pool,
                                    n * sizeof(chaton_call_t));
    if (msg->calls == NULL) {
        return CHATON_ERROR;
    }

    k = 0;

    cJSON_ArrayForEach(item, list) {
        (void) snprintf(ps->param, sizeof(ps->param),
                        "messages[%zu].tool_calls[%zu]", i, k);

        if (!cJSON_IsObject(item)) {
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "'%s' must be an object", ps->param);
        }

        v = chaton_json_get(item, "id");

        if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
            (void) snprintf(param, sizeof(param), "%s.id", ps->param);
            return chaton_error_set(ps->err, 400, param, NULL,
                                    "'%s' must be a non-empty string",
                                    param);
        }

        msg->calls[k].id = chaton_conv_copy(ps->scratch, v->valuestring,
                                            &msg->calls[k].id_len);
        if (msg->calls[k].id == NULL) {
            return CHATON_ERROR;
        }

        v = chaton_json_get(item, "type");

        if (v && !cJSON_IsNull(v)
            && !(cJSON_IsString(v) && strcmp(v->valuestring, "function") == 0))
        {
            (void) snprintf(param, sizeof(param), "%s.type", ps->param);
            return chaton_error_set(ps->err, 400, param, NULL,
                                    "'%s' must be 'function'", param);
        }

        (void) snprintf(ps->param, sizeof(ps->param),
                        "messages[%zu].tool_calls[%zu].function", i, k);

        rc = chaton_chat_call(ps, chaton_json_get(item, "function"),
                              &msg->calls[k]);
        if (rc != CHATON_OK) {
            return rc;
        }

        k++;
    }

    msg->ncalls = n;

    return CHATON_OK;
}


/* {"name", "arguments"}: the arguments a JSON object's text; ps->param */

static int
chaton_chat_call(chaton_parse_t *ps, cJSON *fn, chaton_call_t *c)
{
    cJSON  *v, *args;
    char    param[96];

    if (!cJSON_IsObject(fn)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be an object", ps->param);
    }

    v = chaton_json_get(fn, "name");

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        (void) snprintf(param, sizeof(param), "%s.name", ps->param);
        return chaton_error_set(ps->err, 400, param, NULL,
                                "'%s' must be a non-empty string", param);
    }

    c->name = chaton_conv_copy(ps->scratch, v->valuestring, &c->name_len);
    if (c->name == NULL) {
        return CHATON_ERROR;
    }

    (void) snprintf(param, sizeof(param), "%s.arguments", ps->param);

    v = chaton_json_get(fn, "arguments");

    if (!cJSON_IsString(v)) {
        return chaton_error_set(ps->err, 400, param, NULL,
                                "'%s' must be a string of JSON", param);
    }

    args = chaton_json_parse((const unsigned char *) v->valuestring,
                             strlen(v->valuestring));

    if (!cJSON_IsObject(args)) {
        cJSON_Delete(args);
        return chaton_error_set(ps->err, 400, param, "invalid_value",
                                "'%s' is not a JSON object", param);
    }

    c->arguments = chaton_conv_json_text(ps->scratch, args, &c->arguments_len);

    cJSON_Delete(args);

    return c->arguments ? CHATON_OK : CHATON_ERROR;
}


/*
 * A tool's result (role "tool", or the older "function"): it answers a
 * call of an earlier assistant turn, and goes to the backend as a user's
 * text in the tools' format.
 */

static int
chaton_chat_result(chaton_parse_t *ps, cJSON *m, size_t i,
    chaton_message_t *msg, const char *role)
{
    cJSON                *v, *part, *text;
    chaton_buf_t          b, content;
    const chaton_call_t  *call;

    msg->role = "user";

    if (role[0] == 't') {
        (void) snprintf(ps->param, sizeof(ps->param),
                        "messages[%zu].tool_call_id", i);

        v = chaton_json_get(m, "tool_call_id");

        if (!cJSON_IsString(v)) {
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "'%s' must be a string", ps->param);
        }

        call = chaton_conv_find_call(ps->req, v->valuestring, NULL);

    } else {
        (void) snprintf(ps->param, sizeof(ps->param), "messages[%zu].name",
                        i);

        v = chaton_json_get(m, "name");

        if (!cJSON_IsString(v)) {
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "'%s' must be a string", ps->param);
        }

        call = chaton_conv_find_call(ps->req, NULL, v->valuestring);
    }

    if (call == NULL) {
        return chaton_error_set(ps->err, 400, ps->param, "invalid_value",
                                "'%s' answers no tool call of an earlier "
                                "assistant message", ps->param);
    }

    (void) snprintf(ps->param, sizeof(ps->param), "messages[%zu].content", i);

    chaton_buf_init(&content, ps->scratch, 0);

    v = chaton_json_get(m, "content");

    if (cJSON_IsString(v)) {
        chaton_try(chaton_buf_append_str(&content, v->valuestring));

    } else if (cJSON_IsArray(v)) {

        cJSON_ArrayForEach(part, v) {
            text = chaton_json_get(part, "text");

            if (!cJSON_IsString(text)) {
                return chaton_error_set(ps->err, 400, ps->param, NULL,
                                        "'%s' must be a string or an array "
                                        "of text parts", ps->param);
            }

            chaton_try(chaton_buf_append_str(&content, text->valuestring));
        }

    } else if (v && !cJSON_IsNull(v)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a string or an array of text "
                                "parts", ps->param);
    }

    chaton_try(chaton_conv_nonce(ps->req, ps->conf));

    chaton_buf_init(&b, ps->scratch, 0);

    chaton_try(chaton_tools_history_result(&b, ps->req->tools.nonce,
                                           call->id, call->id_len,
                                           call->name, call->name_len,
                                           content.data, content.len));

    msg->content = b.data;
    msg->content_len = b.len;

    return CHATON_OK;
}


/* the call a result answers: by its id, or (the older form) its name */

const chaton_call_t *
chaton_conv_find_call(chaton_chat_req_t *req, const char *id,
    const char *name)
{
    size_t                 i, k, len;
    const char            *s;
    const chaton_call_t   *c;

    s = id ? id : name;
    len = strlen(s);

    for (i = req->nmessages; i > 0; i--) {
        for (k = 0; k < req->messages[i - 1].ncalls; k++) {
            c = &req->messages[i - 1].calls[k];

            if (id && c->id_len == len && memcmp(c->id, s, len) == 0) {
                return c;
            }

            if (name && c->name_len == len && memcmp(c->name, s, len) == 0) {
                return c;
            }
        }
    }

    return NULL;
}


/* an assistant's text, then its calls, each in the tools' format */

int
chaton_conv_calls_text(chaton_chat_req_t *req, chaton_alloc_t *a,
    chaton_message_t *msg)
{
    size_t         k;
    chaton_buf_t   b;

    chaton_buf_init(&b, a, 0);

    if (!chaton_blank(msg->content, msg->content_len)) {
        chaton_try(chaton_buf_append(&b, msg->content, msg->content_len));
        chaton_try(chaton_buf_literal(&b, "\n\n"));
    }

    for (k = 0; k < msg->ncalls; k++) {
        if (k) {
            chaton_try(chaton_buf_literal(&b, "\n"));
        }

        chaton_try(chaton_tools_history_call(&b, req->tools.nonce,
                                             msg->calls[k].name,
                                             msg->calls[k].name_len,
                                             msg->calls[k].arguments,
                                             msg->calls[k].arguments_len));
    }

    msg->content = b.data;
    msg->content_len = b.len;

    return CHATON_OK;
}


/*
 * What the model must be told, as a system message first: the tools and
 * how to call them (or, with none to call, how the history's calls read),
 * and the answer's format.  It joins a system message that comes first.
 */

int
chaton_conv_instructions(chaton_chat_req_t *req, chaton_alloc_t *a,
    int history)
{
    size_t               mark;
    chaton_buf_t         b;
    chaton_message_t    *first;

    if (!req->extract && !history && req->format == CHATON_FORMAT_TEXT) {
        return CHATON_OK;
    }

    chaton_buf_init(&b, a, 0);

    first = &req->messages[0];

    if (first->role[0] == 's') {
        chaton_try(chaton_buf_append(&b, first->content, first->content_len));
        chaton_try(chaton_buf_literal(&b, "\n\n"));

    } else {
        memmove(&req->messages[1], &req->messages[0],
                req->nmessages * sizeof(chaton_message_t));
        req->nmessages++;

        memset(first, 0, sizeof(chaton_message_t));
        first->role = "system";
        req->prompt.ascii += 12;
    }

    mark = b.len;

    if (req->extract || history) {
        if (!req->extract) {
            req->tools.choice = CHATON_TOOL_CHOICE_NONE;
        }

        chaton_try(chaton_tools_instructions(&b, &req->tools));
    }

    if (req->format == CHATON_FORMAT_JSON_OBJECT) {
        chaton_try(chaton_tools_json_object(&b));

    } else if (req->format == CHATON_FORMAT_JSON_SCHEMA) {
        chaton_try(chaton_tools_json_schema(&b, req->schema_name,
                                            req->schema_name_len,
                                            req->schema, req->schema_len));
    }

    chaton_usage_add(&req->prompt, b.data + mark, b.len - mark);

    first->content = b.data;
    first->content_len = b.len;

    return CHATON_OK;
}


/* a JSON value's compact text, in the caller's memory */

unsigned char *
chaton_conv_json_text(chaton_alloc_t *a, cJSON *v, size_t *len)
{
    char           *text;
    unsigned char  *p;

    text = cJSON_PrintUnformatted(v);
    if (text == NULL) {
        return NULL;
    }

    p = chaton_conv_copy(a, text, len);

    cJSON_free(text);

    return p;
}


unsigned char *
chaton_conv_copy(chaton_alloc_t *a, const char *s, size_t *len)
{
    size_t          n;
    unsigned char  *p;

    n = strlen(s);

    p = a->alloc(a->pool, n + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, n + 1);
    *len = n;

    return p;
}


/* the index of the last user message, or -1 */

int
chaton_chat_last_user(const chaton_chat_req_t *req)
{
    size_t  i;

    for (i = req->nmessages; i > 0; i--) {
        if (req->messages[i - 1].role[0] == 'u') {
            return (int) (i - 1);
        }
    }

    return -1;
}


/*
 * The prompt's tokens, over the text the backend is sent: every message as
 * the gateway wrote it (the tools' instructions, calls and results in the
 * text) and the crawled pages' text, with OpenAI's framing of chat
 * messages (3 tokens a message and its role's, 3 for the reply's start).
 * Counted by the tokenizer when there is one, else the parser's estimate.
 */

uint64_t
chaton_chat_prompt_tokens(const chaton_chat_req_t *req,
    const chaton_bpe_t *bpe)
{
    size_t                   i;
    uint64_t                 n;
    chaton_usage_t           u;
    const chaton_message_t  *m;

    if (bpe == NULL) {
        u = req->prompt;
        chaton_usage_add(&u, req->context, req->context_len);

        return chaton_usage_tokens(&u);
    }

    n = 3 + chaton_bpe_count(bpe, req->context, req->context_len);

    for (i = 0; i < req->nmessages; i++) {
        m = &req->messages[i];

        n += 3 + chaton_bpe_count(bpe, (const unsigned char *) m->role,
                                  strlen(m->role))
             + chaton_bpe_count(bpe, m->content, m->content_len);
    }

    return n;
}


int
chaton_chat_body(chaton_buf_t *out, const chaton_chat_req_t *req)
{
    int                  last;
    size_t               i, k;
    const char          *source;
    chaton_image_t      *img;
    chaton_message_t    *m;

    chaton_try(chaton_buf_literal(out, "{\"model\":"));
    chaton_try(chaton_json_string(out,
                                  (const unsigned char *) req->entry->backend,
                                  req->entry->backend_len));
    chaton_try(chaton_buf_literal(out, ",\"messages\":["));

    last = req->context_len ? chaton_chat_last_user(req) : -1;

    for (i = 0; i < req->nmessages; i++) {
        m = &req->messages[i];

        if (i) {
            chaton_try(chaton_buf_literal(out, ","));
        }

        chaton_try(chaton_buf_literal(out, "{\"role\":"));
        chaton_try(chaton_json_cstring(out, m->role));
        chaton_try(chaton_buf_literal(out, ",\"content\":\""));

        if ((int) i == last) {
            chaton_try(chaton_json_escape(out, req->context,
                                          req->context_len));
        }

        chaton_try(chaton_json_escape(out, m->content, m->content_len));
        chaton_try(chaton_buf_literal(out, "\""));

        if (m->nimages) {
            chaton_try(chaton_buf_literal(out, ",\"images\":["));

            for (k = 0; k < m->nimages; k++) {
                img = &req->images[m->image + k];

                if (k) {
                    chaton_try(chaton_buf_literal(out, ","));
                }

                chaton_try(chaton_buf_literal(out, "{\"data\":"));
                chaton_try(chaton_json_string(out, img->url, img->url_len));
                chaton_try(chaton_buf_literal(out, "}"));
            }

            chaton_try(chaton_buf_literal(out, "]"));
        }

        chaton_try(chaton_buf_literal(out, "}"));
    }

    source = req->nimages ? "chat/image_upload" : "chat/free";

    chaton_try(chaton_buf_literal(out, "],\"max_tokens\":"));
    chaton_try(chaton_buf_append_uint(out, req->max_tokens));
    chaton_try(chaton_buf_literal(out, ",\"source\":"));
    chaton_try(chaton_json_cstring(out, source));
    chaton_try(chaton_buf_literal(out, ",\"function_web_search\":"));
    chaton_try(chaton_buf_append_str(out,
                     req->web_search && !req->context_len ? "true" : "false"));
    chaton_try(chaton_buf_literal(out, ",\"function_image_gen\":"));
    chaton_try(chaton_buf_append_str(out, req->image_gen ? "true" : "false"));
    chaton_try(chaton_buf_literal(out, ",\"function_code_interpreter\":"));
    chaton_try(chaton_buf_append_str(out,
                                  req->code_interpreter ? "true" : "false"));
    chaton_try(chaton_buf_literal(out, ",\"web_search_engine\":"));

    if (req->web_search_engine) {
        chaton_try(chaton_json_string(out, req->web_search_engine,
                                      req->web_search_engine_len));

    } else {
        chaton_try(chaton_buf_literal(out, "\"auto\""));
    }

    chaton_try(chaton_buf_literal(out, "}"));

    return CHATON_OK;
}
