/*
 * OpenAI's Responses API: the parser (body -> the neutral conversation)
 * and the writer (neutral output events -> typed SSE events or one
 * response object).  See dialect_openai_responses.h for the choices made.
 *
 * The parser reads the body once with cJSON and builds the conversation
 * the other dialects build: instructions as the system message, input
 * items as messages, function_call items as an assistant's calls and
 * function_call_output items as their results, in the tools' format
 * (chaton_tools.h); reasoning items are not sent back to the model.
 */

#include <math.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "dialect_openai_responses.h"
#include "chaton_rstore.h"


#define CHATON_RESPONSES_MAX_ITEMS  10000
#define CHATON_RESPONSES_MAX_TOOLS  1024

/* a custom tool, as the function the model is offered */
#define CHATON_RS_CUSTOM_SCHEMA                                               \
    "{\"type\":\"object\",\"properties\":{\"input\":{\"type\":"           \
    "\"string\",\"description\":\"the tool's input, free text\"}},"        \
    "\"required\":[\"input\"]}"

/* what the web_search tools given ask for */
#define CHATON_RS_WEB_DEFAULT  0            /* none: the location's */
#define CHATON_RS_WEB_CACHED   1            /* external_web_access false */
#define CHATON_RS_WEB_LIVE     2


typedef struct {
    chaton_chat_req_t          *req;
    chaton_alloc_t             *alloc;
    chaton_alloc_t             *scratch;    /* the messages' (conf's) */
    const chaton_chat_conf_t   *conf;
    chaton_error_t             *err;
    int                         history;    /* calls in the input */
    cJSON                      *input;      /* the request's items */
    cJSON                      *prev;       /* previous_response_id's */
    const unsigned char        *prev_text;
    size_t                      prev_len;
    cJSON                      *ref;        /* the items of the stored
                                               response an item_reference
                                               named last */
    char                        ref_id[72]; /* its id */
    chaton_buf_t                items;      /* the input items kept */
    size_t                      nkept;      /* of the request's */
    unsigned                    keep:1;     /* for a store */
    char                        param[96];
} chaton_rs_parse_t;


static int chaton_rs_fields(chaton_rs_parse_t *ps, cJSON *root);
static int chaton_rs_echo(chaton_rs_parse_t *ps, cJSON *root);
static int chaton_rs_options(chaton_rs_parse_t *ps, cJSON *root);
static int chaton_rs_kind(chaton_rs_parse_t *ps, cJSON *root,
    const char *name, int type);
static int chaton_rs_enum(chaton_rs_parse_t *ps, cJSON *o,
    const char *name, const char *param, const char *values);
static int chaton_rs_include(chaton_rs_parse_t *ps, cJSON *root);
static int chaton_rs_format(chaton_rs_parse_t *ps, cJSON *root);
static int chaton_rs_tools(chaton_rs_parse_t *ps, cJSON *root);
static int chaton_rs_web_search(chaton_rs_parse_t *ps, cJSON *item,
    int *web);
static int chaton_rs_room(chaton_rs_parse_t *ps, cJSON *list,
    chaton_tool_t **tools);
static int chaton_rs_tool(chaton_rs_parse_t *ps, cJSON *item,
    chaton_tool_t *t, const char *served);
static int chaton_rs_namespace(chaton_rs_parse_t *ps, cJSON *item,
    chaton_tool_t *tools);
static int chaton_rs_custom_tool(chaton_rs_parse_t *ps, cJSON *item,
    chaton_tool_t *t);
static int chaton_rs_tool_choice(chaton_rs_parse_t *ps, cJSON *root);
static int chaton_rs_choose(chaton_rs_parse_t *ps, cJSON *choice,
    const char *name);
static int chaton_rs_instructions(chaton_rs_parse_t *ps, cJSON *root);
static int chaton_rs_input(chaton_rs_parse_t *ps, cJSON *input);
static int chaton_rs_items(chaton_rs_parse_t *ps, cJSON *array, int own);
static int chaton_rs_previous(chaton_rs_parse_t *ps);
static int chaton_rs_reference(chaton_rs_parse_t *ps, cJSON *ref, size_t i,
    int own);
static int chaton_rs_stored(chaton_rs_parse_t *ps, const char *id,
    cJSON **found);
static cJSON *chaton_rs_find(cJSON *array, const char *id);
static int chaton_rs_keep(chaton_rs_parse_t *ps, cJSON *item);
static int chaton_rs_keep_text(cJSON *msg, const char *text);
static int chaton_rs_item(chaton_rs_parse_t *ps, cJSON *item, size_t i,
    cJSON **next);
static int chaton_rs_message(chaton_rs_parse_t *ps, cJSON *item, size_t i);
static int chaton_rs_part(chaton_rs_parse_t *ps, cJSON *part,
    chaton_message_t *msg, chaton_buf_t *text);
static int chaton_rs_image(chaton_rs_parse_t *ps, cJSON *part,
    chaton_message_t *msg);
static int chaton_rs_calls(chaton_rs_parse_t *ps, cJSON *item, size_t i,
    cJSON **next);
static int chaton_rs_namespaced(chaton_rs_parse_t *ps, cJSON *it,
    chaton_call_t *c);
static unsigned char *chaton_rs_dotted(chaton_alloc_t *a,
    const unsigned char *ns, size_t ns_len, const unsigned char *name,
    size_t *len);
static int chaton_rs_arguments(chaton_rs_parse_t *ps, cJSON *it,
    chaton_call_t *c);
static int chaton_rs_output(chaton_rs_parse_t *ps, cJSON *item, size_t i);
static int chaton_rs_push(chaton_rs_parse_t *ps, chaton_message_t *msg);
static int chaton_rs_string(chaton_rs_parse_t *ps, cJSON *o,
    const char *key, const unsigned char **s, size_t *len);
static int chaton_rs_type(cJSON *o, const char *type);


/*
 * What the response object repeats of the request, and the defaults: each
 * with its ',"name":' and lengths, as the echo is written for every
 * request.
 */

#define chaton_rs_default(name, value)                                       \
    { ",\"" name "\":", sizeof(",\"" name "\":") - 1, name,                   \
      value, sizeof(value) - 1 }


/* the echo's first room: the defaults take 416 bytes */

#define CHATON_RS_ECHO_ROOM  512


static const struct {
    const char             *key;        /* ,"name": */
    size_t                  key_len;
    const char             *name;
    const char             *value;
    size_t                  value_len;
} chaton_rs_echoes[] = {
    chaton_rs_default("background", "false"),
    chaton_rs_default("instructions", "null"),
    chaton_rs_default("max_output_tokens", "null"),
    chaton_rs_default("metadata", "{}"),
    chaton_rs_default("parallel_tool_calls", "true"),
    chaton_rs_default("previous_response_id", "null"),
    chaton_rs_default("prompt_cache_key", "null"),
    chaton_rs_default("reasoning", "{\"effort\":null,\"summary\":null}"),
    chaton_rs_default("safety_identifier", "null"),
    chaton_rs_default("service_tier", "\"default\""),
    chaton_rs_default("temperature", "1"),
    chaton_rs_default("text", "{\"format\":{\"type\":\"text\"},"
                              "\"verbosity\":\"medium\"}"),
    chaton_rs_default("tool_choice", "\"auto\""),
    chaton_rs_default("tools", "[]"),
    chaton_rs_default("top_logprobs", "0"),
    chaton_rs_default("top_p", "1"),
    chaton_rs_default("truncation", "\"disabled\""),
    chaton_rs_default("user", "null"),
    { NULL, 0, NULL, NULL, 0 }
};


/* what OpenAI's include takes; other values it refuses */

static const char  *chaton_rs_includes[] = {
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
    "web_search_call.action.sources",
    "web_search_call.results",
    NULL
};


int
chaton_responses_parse(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err)
{
    int                 rc;
    cJSON              *root;
    chaton_rs_parse_t   ps;

    memset(req, 0, sizeof(chaton_chat_req_t));

    root = chaton_json_body(body, len, err);
    if (root == NULL) {
        return CHATON_BAD;
    }

    memset(&ps, 0, sizeof(chaton_rs_parse_t));
    ps.req = req;
    ps.alloc = a;
    ps.scratch = conf->scratch ? conf->scratch : a;
    ps.conf = conf;
    ps.err = err;

    rc = chaton_rs_fields(&ps, root);

    cJSON_Delete(ps.prev);
    cJSON_Delete(ps.ref);
    cJSON_Delete(root);

    return rc;
}


static int
chaton_rs_fields(chaton_rs_parse_t *ps, cJSON *root)
{
    size_t   n;
    cJSON   *v;

    chaton_try(chaton_conv_model(ps->req, ps->alloc, ps->conf, root,
                                 ps->err));
    chaton_try(chaton_rs_options(ps, root));
    chaton_try(chaton_rs_include(ps, root));
    chaton_try(chaton_rs_format(ps, root));
    chaton_try(chaton_rs_tools(ps, root));
    chaton_try(chaton_rs_tool_choice(ps, root));

    ps->req->extract = (ps->req->tools.ntools
                        && ps->req->tools.choice != CHATON_TOOL_CHOICE_NONE);

    if (ps->req->tools.ntools) {
        chaton_try(chaton_conv_nonce(ps->req, ps->conf));
    }

    v = chaton_json_get(root, "input");

    if (v == NULL || cJSON_IsNull(v)) {
        return chaton_error_set(ps->err, 400, "input", NULL,
                                "Missing required parameter: 'input'.");
    }

    if (!cJSON_IsString(v) && !cJSON_IsArray(v)) {
        return chaton_error_set(ps->err, 400, "input", NULL,
                                "'input' must be a string or an array of "
                                "items");
    }

    ps->input = v;
    ps->keep = (ps->conf->response_id && ps->req->store);

    if (ps->req->previous_response_id) {
        chaton_try(chaton_rs_previous(ps));
    }

    n = cJSON_IsArray(v) ? (size_t) cJSON_GetArraySize(v) : 1;
    n += ps->prev ? (size_t) cJSON_GetArraySize(ps->prev) : 0;

    if (n > CHATON_RESPONSES_MAX_ITEMS) {
        return chaton_error_set(ps->err, 400, "input", NULL,
                                "'input' has more than %d items",
                                CHATON_RESPONSES_MAX_ITEMS);
    }

    /* the instructions first, one more for the tools' instructions */

    ps->req->messages = ps->scratch->alloc(ps->scratch->pool,
                                           (n + 2) * sizeof(chaton_message_t));
    if (ps->req->messages == NULL) {
        return CHATON_ERROR;
    }

    chaton_try(chaton_rs_instructions(ps, root));
    chaton_try(chaton_rs_input(ps, v));

    return chaton_rs_echo(ps, root);
}


/*
 * The request's fields the response object repeats, as OpenAI's does:
 * each as it was sent, or OpenAI's default when it was not ("store" and
 * "model" the writer gives: the one may not be honoured, the other is
 * always there).
 */

static int
chaton_rs_echo(chaton_rs_parse_t *ps, cJSON *root)
{
    int            rc;
    char          *text;
    cJSON         *v, *f;
    size_t         i;
    chaton_buf_t   b;

    chaton_buf_init(&b, ps->alloc, 0);

    /* sized at once: the request keeps it, no smaller block left behind */

    chaton_try(chaton_buf_reserve(&b, CHATON_RS_ECHO_ROOM));

    for (i = 0; chaton_rs_echoes[i].name; i++) {
        chaton_try(chaton_buf_append(&b, chaton_rs_echoes[i].key,
                                     chaton_rs_echoes[i].key_len));

        v = chaton_json_get(root, chaton_rs_echoes[i].name);

        if (v == NULL || cJSON_IsNull(v)) {
            chaton_try(chaton_buf_append(&b, chaton_rs_echoes[i].value,
                                         chaton_rs_echoes[i].value_len));
            continue;
        }

        /* "text" without its format has the default format */

        if (cJSON_IsObject(v) && strcmp(chaton_rs_echoes[i].name, "text") == 0
            && chaton_json_get(v, "format") == NULL)
        {
            f = cJSON_Parse("{\"type\":\"text\"}");

            if (f == NULL || !cJSON_AddItemToObject(v, "format", f)) {
                cJSON_Delete(f);
                return CHATON_ERROR;
            }
        }

        text = cJSON_PrintUnformatted(v);
        if (text == NULL) {
            return CHATON_ERROR;
        }

        rc = chaton_buf_append_str(&b, text);

        cJSON_free(text);

        chaton_try(rc);
    }

    ps->req->echo = b.data;
    ps->req->echo_len = b.len;

    return CHATON_OK;
}


/*
 * max_output_tokens, stream, parallel_tool_calls, store,
 * previous_response_id; checked and not used: temperature, top_p,
 * top_logprobs, truncation, user, metadata, reasoning (a reasoning model
 * reasons anyway), service_tier, prompt_cache_key, safety_identifier and
 * the other hints; refused: what cannot be served (background, a
 * conversation, a prompt template)
 */

static int
chaton_rs_options(chaton_rs_parse_t *ps, cJSON *root)
{
    unsigned            b;
    cJSON              *v;
    chaton_chat_req_t  *req;

    req = ps->req;

    req->max_tokens = ps->conf->max_tokens;

    chaton_try(chaton_conv_integer(ps->err, root, "max_output_tokens", 1,
                                   1e9, &req->max_tokens));

    b = 0;
    chaton_try(chaton_conv_bool(ps->err, root, "stream", &b));
    req->stream = b ? 1 : 0;

    b = 1;
    chaton_try(chaton_conv_bool(ps->err, root, "parallel_tool_calls", &b));
    req->tools.parallel = b ? 1 : 0;

    b = 1;
    chaton_try(chaton_conv_bool(ps->err, root, "store", &b));
    req->store = b ? 1 : 0;

    b = 0;
    chaton_try(chaton_conv_bool(ps->err, root, "background", &b));

    if (b) {
        return chaton_error_set(ps->err, 400, "background",
                                "unsupported_value",
                                "Background responses are not served "
                                "here; 'background' must be false.");
    }

    chaton_try(chaton_conv_number(ps->err, root, "temperature", 0, 2));
    chaton_try(chaton_conv_number(ps->err, root, "top_p", 0, 1));
    chaton_try(chaton_conv_integer(ps->err, root, "top_logprobs", 0, 20,
                                   NULL));

    chaton_try(chaton_rs_enum(ps, root, "truncation", "truncation",
                              "auto|disabled|"));
    chaton_try(chaton_rs_enum(ps, root, "service_tier", "service_tier",
                              "auto|default|flex|scale|priority|"));
    chaton_try(chaton_rs_enum(ps, root, "prompt_cache_retention",
                              "prompt_cache_retention", "in_memory|24h|"));

    chaton_try(chaton_rs_kind(ps, root, "user", cJSON_String));
    chaton_try(chaton_rs_kind(ps, root, "prompt_cache_key", cJSON_String));
    chaton_try(chaton_rs_kind(ps, root, "safety_identifier", cJSON_String));
    chaton_try(chaton_rs_kind(ps, root, "metadata", cJSON_Object));
    chaton_try(chaton_rs_kind(ps, root, "reasoning", cJSON_Object));
    chaton_try(chaton_rs_kind(ps, root, "stream_options", cJSON_Object));
    chaton_try(chaton_rs_kind(ps, root, "prompt_cache_options",
                              cJSON_Object));
    chaton_try(chaton_rs_kind(ps, root, "moderation", cJSON_Object));
    chaton_try(chaton_rs_kind(ps, root, "context_management", cJSON_Array));

    /* what needs state or features of OpenAI's the gateway has not */

    v = chaton_json_get(root, "conversation");

    if (v && !cJSON_IsNull(v)) {
        return chaton_error_set(ps->err, 400, "conversation",
                                "unsupported_value",
                                "Conversations are not served here; use "
                                "'previous_response_id' or send the "
                                "items in 'input'.");
    }

    v = chaton_json_get(root, "prompt");

    if (v && !cJSON_IsNull(v)) {
        return chaton_error_set(ps->err, 400, "prompt", "unsupported_value",
                                "Prompt templates are not served here; "
                                "send 'instructions' and 'input'.");
    }

    v = chaton_json_get(root, "previous_response_id");

    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        req->previous_response_id =
            chaton_conv_copy(ps->alloc, v->valuestring,
                             &req->previous_response_id_len);
        if (req->previous_response_id == NULL) {
            return CHATON_ERROR;
        }

    } else if (v && !cJSON_IsNull(v)) {
        return chaton_error_set(ps->err, 400, "previous_response_id", NULL,
                                "'previous_response_id' must be a "
                                "non-empty string");
    }

    req->web_search = ps->conf->web_search;
    req->image_gen = ps->conf->image_gen;
    req->code_interpreter = ps->conf->code_interpreter;

    return CHATON_OK;
}


/* an optional member of a JSON type: absent, null or that */

static int
chaton_rs_kind(chaton_rs_parse_t *ps, cJSON *root, const char *name,
    int type)
{
    cJSON  *v;

    v = chaton_json_get(root, name);

    if (v == NULL || cJSON_IsNull(v) || (v->type & 0xff) == type) {
        return CHATON_OK;
    }

    return chaton_error_set(ps->err, 400, name, NULL, "'%s' must be %s",
                            name, type == cJSON_String ? "a string"
                                  : type == cJSON_Array ? "an array"
                                  : "an object");
}


/* an optional string among values, each followed by '|' */

static int
chaton_rs_enum(chaton_rs_parse_t *ps, cJSON *o, const char *name,
    const char *param, const char *values)
{
    size_t       n;
    cJSON       *v;
    const char  *p;

    v = chaton_json_get(o, name);

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (cJSON_IsString(v) && strchr(v->valuestring, '|') == NULL) {
        n = strlen(v->valuestring);

        for (p = values; *p; p = strchr(p, '|') + 1) {
            if (strncmp(p, v->valuestring, n) == 0 && p[n] == '|') {
                return CHATON_OK;
            }
        }
    }

    return chaton_error_set(ps->err, 400, param, "invalid_value",
                            "'%s' must be one of: %.*s", param,
                            (int) strlen(values) - 1, values);
}


/* include: known values accepted (nothing more to give), others a 400 */

static int
chaton_rs_include(chaton_rs_parse_t *ps, cJSON *root)
{
    size_t   i, k;
    cJSON   *list, *v;

    list = chaton_json_get(root, "include");

    if (list == NULL || cJSON_IsNull(list)) {
        return CHATON_OK;
    }

    if (!cJSON_IsArray(list)) {
        return chaton_error_set(ps->err, 400, "include", NULL,
                                "'include' must be an array of strings");
    }

    i = 0;

    cJSON_ArrayForEach(v, list) {
        (void) snprintf(ps->param, sizeof(ps->param), "include[%zu]", i++);

        for (k = 0; cJSON_IsString(v) && chaton_rs_includes[k]; k++) {
            if (strcmp(v->valuestring, chaton_rs_includes[k]) == 0) {
                break;
            }
        }

        if (!cJSON_IsString(v) || chaton_rs_includes[k] == NULL) {
            return chaton_error_set(ps->err, 400, ps->param, "invalid_value",
                                    "'%s' is not a value 'include' "
                                    "supports", ps->param);
        }
    }

    return CHATON_OK;
}


/*
 * text: {"format": {"type": "text" | "json_object" | "json_schema", ...},
 * "verbosity": accepted, not used}
 */

static int
chaton_rs_format(chaton_rs_parse_t *ps, cJSON *root)
{
    cJSON  *text, *v;

    text = chaton_json_get(root, "text");

    if (text == NULL || cJSON_IsNull(text)) {
        return CHATON_OK;
    }

    if (!cJSON_IsObject(text)) {
        return chaton_error_set(ps->err, 400, "text", NULL,
                                "'text' must be an object");
    }

    chaton_try(chaton_rs_enum(ps, text, "verbosity", "text.verbosity",
                              "low|medium|high|"));

    v = chaton_json_get(text, "format");

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    return chaton_conv_format(ps->req, ps->alloc, ps->err, v, "text.format",
                              0);
}


/*
 * tools: {"type": "function", "name", "description", "parameters"} and
 * custom tools go through the tool-calling emulation, as do the tools of
 * a namespace; web_search(_preview) is ChatOn's web search; other hosted
 * tools cannot be served.
 */

static int
chaton_rs_tools(chaton_rs_parse_t *ps, cJSON *root)
{
    int                 web;
    size_t              k;
    cJSON              *list, *item;
    chaton_tool_t      *tools;
    chaton_chat_req_t  *req;

    req = ps->req;
    req->tools.choice = CHATON_TOOL_CHOICE_AUTO;
    web = CHATON_RS_WEB_DEFAULT;

    chaton_try(chaton_conv_tools(req, ps->alloc, ps->err, root,
                                 CHATON_RESPONSES_MAX_TOOLS, 0, &list,
                                 &tools));
    chaton_try(chaton_rs_room(ps, list, &tools));

    k = 0;

    cJSON_ArrayForEach(item, list) {
        (void) snprintf(ps->param, sizeof(ps->param), "tools[%zu]", k++);

        if (chaton_rs_type(item, "web_search")
            || chaton_rs_type(item, "web_search_preview"))
        {
            chaton_try(chaton_rs_web_search(ps, item, &web));
            continue;
        }

        if (chaton_rs_type(item, "namespace")) {
            chaton_try(chaton_rs_namespace(ps, item, tools));
            continue;
        }

        chaton_try(chaton_rs_tool(ps, item, &tools[req->tools.ntools],
                                  "function, custom, namespace and "
                                  "web_search"));

        req->tools.ntools++;
    }

    /* a live search asked for wins over a cached one; none: the default */

    if (web != CHATON_RS_WEB_DEFAULT) {
        req->web_search = (web == CHATON_RS_WEB_LIVE);
    }

    return CHATON_OK;
}


/*
 * A web_search tool: ChatOn's web search, unless "external_web_access" is
 * false, which OpenAI reads as "cached results only, no live access": the
 * gateway has no cache of the web, so that is no web search at all
 */

static int
chaton_rs_web_search(chaton_rs_parse_t *ps, cJSON *item, int *web)
{
    cJSON  *v;

    v = chaton_json_get(item, "external_web_access");

    if (v == NULL || cJSON_IsNull(v) || cJSON_IsTrue(v)) {
        *web = CHATON_RS_WEB_LIVE;
        return CHATON_OK;
    }

    if (!cJSON_IsBool(v)) {
        (void) strcat(ps->param, ".external_web_access");

        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a boolean", ps->param);
    }

    if (*web == CHATON_RS_WEB_DEFAULT) {
        *web = CHATON_RS_WEB_CACHED;
    }

    return CHATON_OK;
}


/*
 * Room for every tool: a namespace is as many as it has, not one; more
 * than CHATON_RESPONSES_MAX_TOOLS in all is a 400
 */

static int
chaton_rs_room(chaton_rs_parse_t *ps, cJSON *list, chaton_tool_t **tools)
{
    size_t   n, size;
    cJSON   *item, *v;

    n = 0;
    size = 0;

    cJSON_ArrayForEach(item, list) {
        v = chaton_json_get(item, "tools");

        n += (chaton_rs_type(item, "namespace") && cJSON_IsArray(v))
             ? (size_t) cJSON_GetArraySize(v) : 1;
        size++;
    }

    if (n <= size) {
        return CHATON_OK;
    }

    if (n > CHATON_RESPONSES_MAX_TOOLS) {
        return chaton_error_set(ps->err, 400, "tools", NULL,
                                "'tools' has more than %d tools, those of "
                                "namespaces counted",
                                CHATON_RESPONSES_MAX_TOOLS);
    }

    *tools = ps->alloc->alloc(ps->alloc->pool, n * sizeof(chaton_tool_t));
    if (*tools == NULL) {
        return CHATON_ERROR;
    }

    ps->req->tools.tools = *tools;

    return CHATON_OK;
}


/*
 * A function or custom tool at ps->param ("tools[k]", or a namespace's
 * "tools[k].tools[j]"); served names the types served there, for a
 * refusal
 */

static int
chaton_rs_tool(chaton_rs_parse_t *ps, cJSON *item, chaton_tool_t *t,
    const char *served)
{
    cJSON  *type;

    if (chaton_rs_type(item, "custom")) {
        return chaton_rs_custom_tool(ps, item, t);
    }

    if (chaton_rs_type(item, "function")) {
        return chaton_conv_tool(ps->alloc, ps->err, ps->param, item,
                                "parameters", t);
    }

    (void) strcat(ps->param, ".type");

    type = chaton_json_get(item, "type");

    if (!cJSON_IsString(type)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a string", ps->param);
    }

    return chaton_error_set(ps->err, 400, ps->param, "unsupported_value",
                            "'%s': '%.40s' tools are not served here; %s "
                            "tools are", ps->param, type->valuestring,
                            served);
}


/*
 * {"type": "namespace", "name", "description", "tools": function and
 * custom tools}: each of its tools is offered to the model as
 * "<namespace>.<name>" (a top-level tool's name has no dot, so none can
 * be the same), with the namespace's description before its own; the
 * writer answers a call of one as a call of "name" with "namespace".
 */

static int
chaton_rs_namespace(chaton_rs_parse_t *ps, cJSON *item, chaton_tool_t *tools)
{
    size_t          j, at;
    cJSON          *list, *it;
    chaton_buf_t    b;
    chaton_tool_t   ns, *t;

    /* its name and description are read as a tool's are */

    chaton_try(chaton_conv_tool(ps->alloc, ps->err, ps->param, item,
                                "parameters", &ns));

    at = strlen(ps->param);
    (void) strcat(ps->param, ".tools");

    list = chaton_json_get(item, "tools");

    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a non-empty array of "
                                "function and custom tools", ps->param);
    }

    j = 0;

    cJSON_ArrayForEach(it, list) {
        (void) snprintf(ps->param + at, sizeof(ps->param) - at,
                        ".tools[%zu]", j++);

        t = &tools[ps->req->tools.ntools];

        chaton_try(chaton_rs_tool(ps, it, t, "function and custom"));

        t->name = chaton_rs_dotted(ps->alloc, ns.name, ns.name_len,
                                   t->name, &t->name_len);
        if (t->name == NULL) {
            return CHATON_ERROR;
        }

        if (ns.description_len) {
            chaton_buf_init(&b, ps->alloc, 0);

            chaton_try(chaton_buf_append(&b, ns.description,
                                         ns.description_len));

            if (t->description_len) {
                chaton_try(chaton_buf_literal(&b, "\n\n"));
                chaton_try(chaton_buf_append(&b, t->description,
                                             t->description_len));
            }

            t->description = b.data;
            t->description_len = b.len;
        }

        ps->req->tools.ntools++;
    }

    ps->param[at] = '\0';

    return CHATON_OK;
}


/*
 * A custom (freeform) tool, {"name", "description", "format": text or a
 * grammar}: offered to the model as a function of one string, "input";
 * its calls are answered as custom_tool_call items with that string.
 */

static int
chaton_rs_custom_tool(chaton_rs_parse_t *ps, cJSON *item, chaton_tool_t *t)
{
    cJSON         *format, *v;
    chaton_buf_t   b;

    chaton_try(chaton_conv_tool(ps->alloc, ps->err, ps->param, item,
                                "parameters", t));

    t->custom = 1;
    t->parameters = (const unsigned char *) CHATON_RS_CUSTOM_SCHEMA;
    t->parameters_len = sizeof(CHATON_RS_CUSTOM_SCHEMA) - 1;

    format = chaton_json_get(item, "format");

    if (format == NULL || cJSON_IsNull(format)
        || chaton_rs_type(format, "text"))
    {
        return CHATON_OK;
    }

    (void) strcat(ps->param, ".format");

    v = chaton_json_get(format, "definition");

    if (!chaton_rs_type(format, "grammar") || !cJSON_IsString(v)) {
        return chaton_error_set(ps->err, 400, ps->param, "invalid_value",
                                "'%s' must be {\"type\": \"text\"} or "
                                "{\"type\": \"grammar\", \"syntax\", "
                                "\"definition\"}", ps->param);
    }

    /* the grammar goes to the model as words: its input must follow it */

    chaton_buf_init(&b, ps->alloc, 0);

    if (t->description_len) {
        chaton_try(chaton_buf_append(&b, t->description,
                                     t->description_len));
        chaton_try(chaton_buf_literal(&b, "\n\n"));
    }

    chaton_try(chaton_buf_literal(&b, "The input is free text (not JSON) "
                                      "that follows this grammar:\n"));
    chaton_try(chaton_buf_append_str(&b, v->valuestring));

    t->description = b.data;
    t->description_len = b.len;

    return CHATON_OK;
}


/*
 * "none" | "auto" | "required" | {"type": "function" or "custom", "name",
 * "namespace" for a namespace's tool}
 */

static int
chaton_rs_tool_choice(chaton_rs_parse_t *ps, cJSON *root)
{
    cJSON           *v, *name;
    const char      *s;
    chaton_tools_t  *t;

    t = &ps->req->tools;

    v = chaton_json_get(root, "tool_choice");

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (cJSON_IsString(v)) {
        s = v->valuestring;

        if (strcmp(s, "auto") == 0) {
            return CHATON_OK;
        }

        if (strcmp(s, "none") == 0) {
            t->choice = CHATON_TOOL_CHOICE_NONE;
            return CHATON_OK;
        }

        if (strcmp(s, "required") == 0 && t->ntools) {
            t->choice = CHATON_TOOL_CHOICE_REQUIRED;
            return CHATON_OK;
        }

        return chaton_error_set(ps->err, 400, "tool_choice", "invalid_value",
                                "'tool_choice' must be 'none', 'auto' or "
                                "'required' (with function tools given)");
    }

    if (!chaton_rs_type(v, "function") && !chaton_rs_type(v, "custom")) {
        return chaton_error_set(ps->err, 400, "tool_choice.type",
                                "invalid_value",
                                "'tool_choice' must be a string or "
                                "{\"type\": \"function\" or \"custom\", "
                                "\"name\"}");
    }

    name = chaton_json_get(v, "name");

    if (!cJSON_IsString(name)) {
        return chaton_error_set(ps->err, 400, "tool_choice.name",
                                "invalid_value", "'tool_choice.name' must "
                                "name one of the function tools given");
    }

    return chaton_rs_choose(ps, v, name->valuestring);
}


/*
 * The tool a tool_choice names: a top-level one, or with "namespace" (as
 * a call of it has) a namespace's
 */

static int
chaton_rs_choose(chaton_rs_parse_t *ps, cJSON *choice, const char *name)
{
    int             rc;
    cJSON          *ns;
    size_t          len;
    unsigned char  *full;

    ns = chaton_json_get(choice, "namespace");

    if (ns == NULL || cJSON_IsNull(ns)) {
        rc = chaton_conv_choose(&ps->req->tools, name);

    } else if (cJSON_IsString(ns)) {
        len = strlen(name);
        full = chaton_rs_dotted(ps->alloc,
                                (const unsigned char *) ns->valuestring,
                                strlen(ns->valuestring),
                                (const unsigned char *) name, &len);
        if (full == NULL) {
            return CHATON_ERROR;
        }

        rc = chaton_conv_choose(&ps->req->tools, (const char *) full);

    } else {
        return chaton_error_set(ps->err, 400, "tool_choice.namespace", NULL,
                                "'tool_choice.namespace' must be a string");
    }

    if (rc == CHATON_OK) {
        return CHATON_OK;
    }

    return chaton_error_set(ps->err, 400, "tool_choice.name",
                            "invalid_value", "'tool_choice.name' must name "
                            "one of the function tools given (with "
                            "'namespace', one of that namespace's)");
}


/* instructions: the first message ChatOn gets, as system */

static int
chaton_rs_instructions(chaton_rs_parse_t *ps, cJSON *root)
{
    cJSON             *v;
    chaton_message_t   msg;

    v = chaton_json_get(root, "instructions");

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (!cJSON_IsString(v)) {
        return chaton_error_set(ps->err, 400, "instructions", NULL,
                                "'instructions' must be a string");
    }

    memset(&msg, 0, sizeof(chaton_message_t));
    msg.role = "system";
    msg.content = chaton_conv_copy(ps->scratch, v->valuestring,
                                   &msg.content_len);
    if (msg.content == NULL) {
        return CHATON_ERROR;
    }

    return chaton_rs_push(ps, &msg);
}


static int
chaton_rs_input(chaton_rs_parse_t *ps, cJSON *input)
{
    int                 rc;
    cJSON              *m;
    chaton_message_t    msg;
    chaton_chat_req_t  *req;

    req = ps->req;

    if (ps->keep) {
        chaton_buf_init(&ps->items, ps->alloc, 0);
        chaton_try(chaton_buf_literal(&ps->items, "["));

        if (ps->prev_len > 2) {
            chaton_try(chaton_buf_append(&ps->items, ps->prev_text + 1,
                                         ps->prev_len - 2));
        }
    }

    if (ps->prev) {
        chaton_try(chaton_rs_items(ps, ps->prev, 0));
    }

    if (cJSON_IsString(input)) {
        memset(&msg, 0, sizeof(chaton_message_t));
        msg.role = "user";
        msg.content = chaton_conv_copy(ps->scratch, input->valuestring,
                                       &msg.content_len);
        if (msg.content == NULL) {
            return CHATON_ERROR;
        }

        chaton_try(chaton_rs_push(ps, &msg));

        if (ps->keep) {
            m = cJSON_CreateObject();

            rc = (m && cJSON_AddStringToObject(m, "role", "user")
                  && cJSON_AddStringToObject(m, "content",
                                             input->valuestring))
                 ? chaton_rs_keep(ps, m) : CHATON_ERROR;

            cJSON_Delete(m);
            chaton_try(rc);
        }

    } else {
        chaton_try(chaton_rs_items(ps, input, 1));
    }

    if (ps->keep) {
        chaton_try(chaton_buf_literal(&ps->items, "]"));
        req->items = ps->items.data;
        req->items_len = ps->items.len;
    }

    if (req->nmessages == 0) {
        return chaton_error_set(ps->err, 400, "input", NULL,
                                "'input' is empty; there is nothing to "
                                "answer");
    }

    chaton_try(chaton_conv_instructions(req, ps->scratch, ps->history));

    return chaton_conv_fits(req, ps->err);
}


/*
 * The items of an array: the request's ("own": kept for a store as they
 * are read) or the previous response's (kept already)
 */

static int
chaton_rs_items(chaton_rs_parse_t *ps, cJSON *array, int own)
{
    size_t   i;
    cJSON   *item, *next, *it;

    i = 0;

    for (item = array->child; item; item = next) {
        next = item->next;

        if (chaton_rs_type(item, "item_reference")) {
            chaton_try(chaton_rs_reference(ps, item, i++, own));
            continue;
        }

        chaton_try(chaton_rs_item(ps, item, i, &next));

        for (it = item; it != next; it = it->next) {
            if (own && ps->keep) {
                chaton_try(chaton_rs_keep(ps, it));
            }

            i++;
        }
    }

    return CHATON_OK;
}


/* previous_response_id: the stored items it continues, from the store */

static int
chaton_rs_previous(chaton_rs_parse_t *ps)
{
    size_t                len;
    const unsigned char  *items, *id;

    id = ps->req->previous_response_id;
    len = ps->req->previous_response_id_len;

    if (ps->conf->previous == NULL) {
        return chaton_rstore_not_found(ps->err, id, len, 1);
    }

    chaton_try(ps->conf->previous(ps->conf->previous_data, id, len, &items,
                                  &ps->prev_len, ps->err));

    ps->prev_text = items;
    ps->prev = cJSON_ParseWithLength((const char *) items, ps->prev_len);

    /* what cannot be read back is as good as not there */

    if (!cJSON_IsArray(ps->prev)) {
        return chaton_rstore_not_found(ps->err, id, len, 1);
    }

    return CHATON_OK;
}


/*
 * {"type": "item_reference", "id"}: the item of that id in the previous
 * response's items, in the request, or in the stored response its id
 * names, read in its place
 */

static int
chaton_rs_reference(chaton_rs_parse_t *ps, cJSON *ref, size_t i, int own)
{
    int      rc;
    cJSON   *id, *found, *copy, *next;

    (void) snprintf(ps->param, sizeof(ps->param), "input[%zu].id", i);

    id = chaton_json_get(ref, "id");

    if (!cJSON_IsString(id)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a string", ps->param);
    }

    found = chaton_rs_find(ps->prev, id->valuestring);

    if (found == NULL) {
        found = chaton_rs_find(ps->input, id->valuestring);
    }

    if (found == NULL) {
        chaton_try(chaton_rs_stored(ps, id->valuestring, &found));
    }

    if (found == NULL) {
        return chaton_error_set(ps->err, 400, ps->param, "invalid_value",
                                "Item with id '%.64s' not found.",
                                id->valuestring);
    }

    /* alone: a call referred to is not the start of a run of calls */

    copy = cJSON_Duplicate(found, 1);
    if (copy == NULL) {
        return CHATON_ERROR;
    }

    rc = chaton_rs_item(ps, copy, i, &next);

    if (rc == CHATON_OK && own && ps->keep) {
        rc = chaton_rs_keep(ps, copy);
    }

    cJSON_Delete(copy);

    return rc;
}


/*
 * An item of a stored response, found by its id alone (the AI SDK refers
 * to an earlier answer so, without previous_response_id): the ids the
 * gateway gives are the response's with another prefix for "resp_" and
 * "_<n>" or "_i<n>" after it, so "msg_<hex>_0" is an item of
 * "resp_<hex>", looked up in the store as previous_response_id is (the
 * asker's only); *found is NULL when there is no such item, or no store.
 * The response looked up last is kept for the next reference: an
 * answer's items are often referred to together.
 */

static int
chaton_rs_stored(chaton_rs_parse_t *ps, const char *id, cJSON **found)
{
    int                   rc;
    size_t                len;
    const char           *hex, *end, *p;
    chaton_error_t        err;
    const unsigned char  *items;

    *found = NULL;

    hex = strchr(id, '_');
    end = strrchr(id, '_');

    if (ps->conf->previous == NULL || hex == NULL || hex == end) {
        return CHATON_OK;
    }

    hex++;
    len = end - hex;
    p = end + 1 + (end[1] == 'i');

    if (len == 0 || len > sizeof(ps->ref_id) - sizeof("resp_")
        || *p == '\0' || p[strspn(p, "0123456789")] != '\0')
    {
        return CHATON_OK;
    }

    if (ps->ref == NULL || strncmp(ps->ref_id + 5, hex, len) != 0
        || ps->ref_id[5 + len] != '\0')
    {
        cJSON_Delete(ps->ref);
        ps->ref = NULL;

        (void) snprintf(ps->ref_id, sizeof(ps->ref_id), "resp_%.*s",
                        (int) len, hex);

        memset(&err, 0, sizeof(chaton_error_t));

        rc = ps->conf->previous(ps->conf->previous_data,
                                (const unsigned char *) ps->ref_id, len + 5,
                                &items, &len, &err);

        if (rc == CHATON_ERROR) {
            return CHATON_ERROR;
        }

        if (rc != CHATON_OK) {
            return CHATON_OK;
        }

        ps->ref = cJSON_ParseWithLength((const char *) items, len);
    }

    *found = chaton_rs_find(ps->ref, id);

    return CHATON_OK;
}


/* the item of an id in an array of items (references aside), or NULL */

static cJSON *
chaton_rs_find(cJSON *array, const char *id)
{
    cJSON  *it, *v;

    if (!cJSON_IsArray(array)) {
        return NULL;
    }

    cJSON_ArrayForEach(it, array) {
        v = chaton_json_get(it, "id");

        if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0
            && !chaton_rs_type(it, "item_reference"))
        {
            return it;
        }
    }

    return NULL;
}


/* a message's content as one part: input_text, an assistant's output_text */

static int
chaton_rs_keep_text(cJSON *msg, const char *text)
{
    cJSON       *parts, *part, *role;
    const char  *type;

    role = chaton_json_get(msg, "role");
    type = (cJSON_IsString(role) && strcmp(role->valuestring, "assistant")
                                    == 0)
           ? "output_text" : "input_text";

    parts = cJSON_CreateArray();
    part = cJSON_CreateObject();

    if (parts == NULL || part == NULL || !cJSON_AddItemToArray(parts, part)) {
        cJSON_Delete(parts);
        cJSON_Delete(part);
        return CHATON_ERROR;
    }

    if (cJSON_AddStringToObject(part, "type", type) == NULL
        || cJSON_AddStringToObject(part, "text", text) == NULL
        || !cJSON_ReplaceItemInObjectCaseSensitive(msg, "content", parts))
    {
        cJSON_Delete(parts);
        return CHATON_ERROR;
    }

    return CHATON_OK;
}


/*
 * An input item as the store keeps it: typed, with an id (the response's
 * with its kind's prefix and "_i<n>" when it had none), a message's text
 * as a part.
 */

static int
chaton_rs_keep(chaton_rs_parse_t *ps, cJSON *item)
{
    int          rc;
    char        *text, id[96];
    cJSON       *it, *v;
    const char  *type, *prefix;

    it = cJSON_Duplicate(item, 1);
    if (it == NULL) {
        return CHATON_ERROR;
    }

    rc = CHATON_ERROR;
    v = chaton_json_get(it, "type");
    type = cJSON_IsString(v) ? v->valuestring : "message";

    if (v == NULL && cJSON_AddStringToObject(it, "type", "message") == NULL) {
        goto done;
    }

    v = chaton_json_get(it, "content");

    if (strcmp(type, "message") == 0 && cJSON_IsString(v)
        && chaton_rs_keep_text(it, v->valuestring) != CHATON_OK)
    {
        goto done;
    }

    if (!cJSON_IsString(chaton_json_get(it, "id"))) {
        prefix = strcmp(type, "message") == 0 ? "msg_"
                 : strcmp(type, "function_call") == 0 ? "fc_"
                 : strcmp(type, "function_call_output") == 0 ? "fco_"
                 : strcmp(type, "custom_tool_call") == 0 ? "ctc_"
                 : strcmp(type, "custom_tool_call_output") == 0 ? "ctco_"
                 : strcmp(type, "reasoning") == 0 ? "rs_" : "item_";

        (void) snprintf(id, sizeof(id), "%s%.*s_i%zu", prefix,
                        (int) (ps->conf->response_id_len > 5
                               ? ps->conf->response_id_len - 5 : 0),
                        ps->conf->response_id + 5, ps->nkept);

        cJSON_DeleteItemFromObjectCaseSensitive(it, "id");

        if (cJSON_AddStringToObject(it, "id", id) == NULL) {
            goto done;
        }
    }

    ps->nkept++;

    text = cJSON_PrintUnformatted(it);
    if (text == NULL) {
        goto done;
    }

    rc = (ps->items.len > 1) ? chaton_buf_literal(&ps->items, ",")
                             : CHATON_OK;

    if (rc == CHATON_OK) {
        rc = chaton_buf_append_str(&ps->items, text);
    }

    cJSON_free(text);

done:

    cJSON_Delete(it);

    return rc;
}


/* "input[i]" and what follows, in ps->param */

static const char *
chaton_rs_param(chaton_rs_parse_t *ps, size_t i, const char *field)
{
    (void) snprintf(ps->param, sizeof(ps->param), "input[%zu]%s", i, field);

    return ps->param;
}


/*
 * One input item: a message (with or without "type"), a run of
 * function_call items (one assistant message; *next is the item after
 * them), a function_call_output, a reasoning item (not sent).
 */

static int
chaton_rs_item(chaton_rs_parse_t *ps, cJSON *item, size_t i, cJSON **next)
{
    cJSON       *type;
    const char  *t;

    /* the parameter's name is written when it is refused only */

    if (!cJSON_IsObject(item)) {
        return chaton_error_set(ps->err, 400, chaton_rs_param(ps, i, ""),
                                NULL, "'%s' must be an object", ps->param);
    }

    type = chaton_json_get(item, "type");

    if (type == NULL || cJSON_IsNull(type)) {
        return chaton_rs_message(ps, item, i);
    }

    t = cJSON_IsString(type) ? type->valuestring : "";

    if (strcmp(t, "message") == 0) {
        return chaton_rs_message(ps, item, i);
    }

    if (strcmp(t, "function_call") == 0
        || strcmp(t, "custom_tool_call") == 0)
    {
        return chaton_rs_calls(ps, item, i, next);
    }

    if (strcmp(t, "function_call_output") == 0
        || strcmp(t, "custom_tool_call_output") == 0)
    {
        return chaton_rs_output(ps, item, i);
    }

    if (strcmp(t, "reasoning") == 0) {
        return CHATON_OK;
    }

    return chaton_error_set(ps->err, 400, chaton_rs_param(ps, i, ".type"),
                            "unsupported_value",
                            "'%s': '%.40s' items are not served here",
                            ps->param, t);
}


/* {"role", "content": a string or parts} */

static int
chaton_rs_message(chaton_rs_parse_t *ps, cJSON *item, size_t i)
{
    size_t             j;
    cJSON             *v, *part;
    const char        *r;
    chaton_buf_t       text;
    chaton_message_t   msg;

    memset(&msg, 0, sizeof(chaton_message_t));

    v = chaton_json_get(item, "role");
    r = cJSON_IsString(v) ? v->valuestring : "";

    if (strcmp(r, "user") == 0 || strcmp(r, "assistant") == 0
        || strcmp(r, "system") == 0)
    {
        msg.role = r[0] == 'u' ? "user" : r[0] == 'a' ? "assistant"
                                                      : "system";

    } else if (strcmp(r, "developer") == 0) {
        msg.role = "system";

    } else {
        return chaton_error_set(ps->err, 400,
                                chaton_rs_param(ps, i, ".role"),
                                "invalid_value",
                                "'%s' must be 'user', 'assistant', "
                                "'system' or 'developer'", ps->param);
    }

    v = chaton_json_get(item, "content");

    if (cJSON_IsString(v)) {
        msg.content = chaton_conv_copy(ps->scratch, v->valuestring,
                                       &msg.content_len);
        if (msg.content == NULL) {
            return CHATON_ERROR;
        }

        return chaton_rs_push(ps, &msg);
    }

    if (!cJSON_IsArray(v)) {
        return chaton_error_set(ps->err, 400,
                                chaton_rs_param(ps, i, ".content"), NULL,
                                "'%s' must be a string or an array of "
                                "parts", ps->param);
    }

    chaton_buf_init(&text, ps->scratch, 0);
    msg.image = ps->req->nimages;
    j = 0;

    cJSON_ArrayForEach(part, v) {
        (void) snprintf(ps->param, sizeof(ps->param),
                        "input[%zu].content[%zu]", i, j++);
        chaton_try(chaton_rs_part(ps, part, &msg, &text));
    }

    msg.content = text.data ? text.data : (unsigned char *) "";
    msg.content_len = text.len;

    return chaton_rs_push(ps, &msg);
}


/* input_text, output_text (joined as paragraphs), input_image (user's) */

static int
chaton_rs_part(chaton_rs_parse_t *ps, cJSON *part, chaton_message_t *msg,
    chaton_buf_t *text)
{
    cJSON  *v;

    if (chaton_rs_type(part, "input_image") && msg->role[0] == 'u') {
        return chaton_rs_image(ps, part, msg);
    }

    if (!chaton_rs_type(part, "input_text")
        && !chaton_rs_type(part, "output_text")
        && !chaton_rs_type(part, "refusal"))
    {
        (void) strcat(ps->param, ".type");
        return chaton_error_set(ps->err, 400, ps->param, "invalid_value",
                                "'%s' must be 'input_text', 'output_text' "
                                "or (in user messages) 'input_image'",
                                ps->param);
    }

    v = chaton_json_get(part, "text");

    if (chaton_rs_type(part, "refusal")) {
        v = chaton_json_get(part, "refusal");
    }

    if (!cJSON_IsString(v)) {
        (void) strcat(ps->param, ".text");
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a string", ps->param);
    }

    if (v->valuestring[0] == '\0') {
        return CHATON_OK;
    }

    if (text->len) {
        chaton_try(chaton_buf_literal(text, "\n\n"));
    }

    return chaton_buf_append_str(text, v->valuestring);
}


/* {"type": "input_image", "image_url": a data URL or an http(s) URL} */

static int
chaton_rs_image(chaton_rs_parse_t *ps, cJSON *part, chaton_message_t *msg)
{
    cJSON  *v;

    (void) strcat(ps->param, ".image_url");

    v = chaton_json_get(part, "image_url");

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a non-empty string (file_id "
                                "images are not served)", ps->param);
    }

    chaton_try(chaton_conv_image_url(ps->req, ps->scratch, ps->conf,
                                     ps->param, ps->err, v->valuestring));

    msg->nimages++;

    return CHATON_OK;
}


/*
 * function_call and custom_tool_call items in a row: one assistant
 * message with their calls, {"call_id", "name", "arguments": a JSON
 * object's text} or {"call_id", "name", "input": a custom tool's text}
 */

static int
chaton_rs_calls(chaton_rs_parse_t *ps, cJSON *item, size_t i, cJSON **next)
{
    size_t             n, k;
    cJSON             *it;
    chaton_call_t     *c;
    chaton_message_t   msg;

    n = 0;

    for (it = item;
         it && (chaton_rs_type(it, "function_call")
                || chaton_rs_type(it, "custom_tool_call"));
         it = it->next)
    {
        n++;
    }

    memset(&msg, 0, sizeof(chaton_message_t));
    msg.role = "assistant";
    msg.content = (unsigned char *) "";
    msg.calls = ps->scratch->alloc(ps->scratch->pool,
                                   n * sizeof(chaton_call_t));
    if (msg.calls == NULL) {
        return CHATON_ERROR;
    }

    for (it = item, k = 0; k < n; it = it->next, k++) {
        (void) snprintf(ps->param, sizeof(ps->param), "input[%zu]", i + k);

        c = &msg.calls[k];

        chaton_try(chaton_rs_string(ps, it, "call_id", &c->id, &c->id_len));
        chaton_try(chaton_rs_string(ps, it, "name", &c->name,
                                    &c->name_len));
        chaton_try(chaton_rs_namespaced(ps, it, c));
        chaton_try(chaton_rs_arguments(ps, it, c));

        msg.ncalls++;
    }

    *next = it;

    ps->history = 1;
    chaton_try(chaton_conv_nonce(ps->req, ps->conf));
    chaton_try(chaton_conv_calls_text(ps->req, ps->scratch, &msg));

    return chaton_rs_push(ps, &msg);
}


/* a call of a namespace's tool: named as the model was offered it */

static int
chaton_rs_namespaced(chaton_rs_parse_t *ps, cJSON *it, chaton_call_t *c)
{
    cJSON  *v;

    v = chaton_json_get(it, "namespace");

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        (void) strcat(ps->param, ".namespace");
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a non-empty string",
                                ps->param);
    }

    c->name = chaton_rs_dotted(ps->scratch,
                               (const unsigned char *) v->valuestring,
                               strlen(v->valuestring), c->name,
                               &c->name_len);

    return c->name ? CHATON_OK : CHATON_ERROR;
}


/*
 * "<namespace>.<name>", a namespace's tool as the model is offered it,
 * NUL-terminated; *len is the name's length on entry, the result's after
 */

static unsigned char *
chaton_rs_dotted(chaton_alloc_t *a, const unsigned char *ns, size_t ns_len,
    const unsigned char *name, size_t *len)
{
    unsigned char  *p;

    p = a->alloc(a->pool, ns_len + 1 + *len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, ns, ns_len);
    p[ns_len] = '.';
    memcpy(p + ns_len + 1, name, *len);
    p[ns_len + 1 + *len] = '\0';

    *len += ns_len + 1;

    return p;
}


/* a call's arguments, compact; a custom tool's input is {"input": it} */

static int
chaton_rs_arguments(chaton_rs_parse_t *ps, cJSON *it, chaton_call_t *c)
{
    cJSON  *v, *args;

    if (chaton_rs_type(it, "custom_tool_call")) {
        (void) strcat(ps->param, ".input");

        v = chaton_json_get(it, "input");

        if (!cJSON_IsString(v)) {
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "'%s' must be a string", ps->param);
        }

        args = cJSON_CreateObject();

        if (args == NULL
            || cJSON_AddStringToObject(args, "input", v->valuestring) == NULL)
        {
            cJSON_Delete(args);
            return CHATON_ERROR;
        }

    } else {
        (void) strcat(ps->param, ".arguments");

        v = chaton_json_get(it, "arguments");
        args = cJSON_IsString(v) ? cJSON_Parse(v->valuestring) : NULL;

        if (!cJSON_IsObject(args)) {
            cJSON_Delete(args);
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "'%s' must be a string of a JSON "
                                    "object", ps->param);
        }
    }

    c->arguments = chaton_conv_json_text(ps->scratch, args, &c->arguments_len);
    cJSON_Delete(args);

    return c->arguments ? CHATON_OK : CHATON_ERROR;
}


/*
 * {"call_id", "output": a string (or text parts)}: a call's result, of a
 * function_call_output or a custom_tool_call_output
 */

static int
chaton_rs_output(chaton_rs_parse_t *ps, cJSON *item, size_t i)
{
    cJSON                *v, *part;
    chaton_buf_t          b, content;
    chaton_message_t      msg;
    const chaton_call_t  *call;

    (void) snprintf(ps->param, sizeof(ps->param), "input[%zu].call_id", i);

    v = chaton_json_get(item, "call_id");

    if (!cJSON_IsString(v)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a string", ps->param);
    }

    call = chaton_conv_find_call(ps->req, v->valuestring, NULL);

    if (call == NULL) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "No tool call found for function call "
                                "output with call_id %.64s.",
                                v->valuestring);
    }

    (void) snprintf(ps->param, sizeof(ps->param), "input[%zu].output", i);

    v = chaton_json_get(item, "output");
    chaton_buf_init(&content, ps->scratch, 0);

    if (cJSON_IsString(v)) {
        chaton_try(chaton_buf_append_str(&content, v->valuestring));

    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(part, v) {
            v = chaton_json_get(part, "text");

            if (!chaton_rs_type(part, "input_text") || !cJSON_IsString(v)) {
                return chaton_error_set(ps->err, 400, ps->param, NULL,
                                        "'%s' must be a string or "
                                        "input_text parts", ps->param);
            }

            chaton_try(chaton_buf_append_str(&content, v->valuestring));
        }

    } else {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "'%s' must be a string", ps->param);
    }

    chaton_buf_init(&b, ps->scratch, 0);

    chaton_try(chaton_tools_history_result(&b, ps->req->tools.nonce,
                                           call->id, call->id_len,
                                           call->name, call->name_len,
                                           content.data, content.len));

    memset(&msg, 0, sizeof(chaton_message_t));
    msg.role = "user";
    msg.content = b.data;
    msg.content_len = b.len;

    return chaton_rs_push(ps, &msg);
}


/* a message into the conversation, counted; empty ones are left out */

static int
chaton_rs_push(chaton_rs_parse_t *ps, chaton_message_t *msg)
{
    chaton_chat_req_t  *req;

    req = ps->req;

    if (msg->nimages == 0 && msg->ncalls == 0
        && chaton_blank(msg->content, msg->content_len))
    {
        return CHATON_OK;
    }

    chaton_usage_add(&req->prompt, msg->content, msg->content_len);
    req->prompt.ascii += 12;

    req->messages[req->nmessages++] = *msg;

    return CHATON_OK;
}


/* a member that must be a non-empty string, copied; ps->param names o */

static int
chaton_rs_string(chaton_rs_parse_t *ps, cJSON *o, const char *key,
    const unsigned char **s, size_t *len)
{
    cJSON  *v;
    char    param[128];

    v = chaton_json_get(o, key);

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        (void) snprintf(param, sizeof(param), "%s.%s", ps->param, key);
        return chaton_error_set(ps->err, 400, param, NULL,
                                "'%s' must be a non-empty string", param);
    }

    *s = chaton_conv_copy(ps->scratch, v->valuestring, len);

    return *s ? CHATON_OK : CHATON_ERROR;
}


static int
chaton_rs_type(cJSON *o, const char *type)
{
    cJSON  *v;

    v = chaton_json_get(o, "type");

    return cJSON_IsString(v) && strcmp(v->valuestring, type) == 0;
}


/* ---- the writer ---------------------------------------------------------- */


#define CHATON_RS_NONE       0
#define CHATON_RS_MESSAGE    1
#define CHATON_RS_REASONING  2


static int chaton_rs_text_op(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_rs_escaped(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_rs_reasoning(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_rs_tool_call(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_tool_call_t *call);
static int chaton_rs_end(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_outcome_t *o);
static int chaton_rs_error(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_error_t *e);
static int chaton_rs_start_op(chaton_writer_t *w, chaton_buf_t *out);
static int chaton_rs_start(chaton_responses_t *rs, chaton_buf_t *out);
static int chaton_rs_open(chaton_responses_t *rs, chaton_buf_t *out,
    int item);
static int chaton_rs_close(chaton_responses_t *rs, chaton_buf_t *out);
static int chaton_rs_delta(chaton_responses_t *rs, chaton_buf_t *out,
    const unsigned char *s, size_t len, int escaped);
static int chaton_rs_event_n(chaton_responses_t *rs, chaton_buf_t *out,
    const char *type, size_t len);
static int chaton_rs_where(chaton_responses_t *rs, chaton_buf_t *out,
    const char *part);
static int chaton_rs_delta_where(chaton_responses_t *rs, chaton_buf_t *out,
    const char *part);

#define chaton_rs_event(rs, out, type)                                        \
    chaton_rs_event_n(rs, out, type, strlen(type))
static int chaton_rs_output_index(chaton_responses_t *rs, chaton_buf_t *out);
static int chaton_rs_item_id(chaton_responses_t *rs, chaton_buf_t *b,
    const char *prefix);
static int chaton_rs_item_json(chaton_responses_t *rs, chaton_buf_t *b,
    int item, const char *status);
static int chaton_rs_part_json(chaton_responses_t *rs, chaton_buf_t *b,
    int item);
static int chaton_rs_call_json(chaton_responses_t *rs, chaton_buf_t *b,
    const chaton_tool_call_t *call, const char *status, int args);
static int chaton_rs_call_name(chaton_buf_t *b,
    const chaton_tool_call_t *call, int ns);
static int chaton_rs_response(chaton_responses_t *rs, chaton_buf_t *b,
    const char *status, const chaton_outcome_t *o, const chaton_error_t *e);
static int chaton_rs_echo_defaults(chaton_buf_t *b);
static const chaton_tool_t *chaton_rs_custom(chaton_responses_t *rs,
    const chaton_tool_call_t *call);
static int chaton_rs_custom_input(chaton_responses_t *rs,
    const chaton_tool_call_t *call);
static int chaton_rs_kept(chaton_responses_t *rs, chaton_buf_t *out,
    size_t at);


static const chaton_writer_ops_t  chaton_responses_ops = {
    chaton_rs_text_op,
    chaton_rs_escaped,
    chaton_rs_reasoning,
    chaton_rs_tool_call,
    chaton_rs_end,
    chaton_rs_error,
    chaton_rs_start_op
};


int
chaton_responses_init(chaton_responses_t *rs, chaton_alloc_t *a,
    const unsigned char *id, size_t id_len, const unsigned char *model,
    size_t model_len, uint64_t created_at, size_t max_answer, int stream,
    const chaton_chat_req_t *req)
{
    memset(rs, 0, sizeof(chaton_responses_t));

    rs->w.ops = &chaton_responses_ops;
    rs->w.stream = stream ? 1 : 0;
    rs->w.ready = 1;
    rs->alloc = a;
    rs->id = id;
    rs->id_len = id_len;
    rs->model = model;
    rs->model_len = model_len;
    rs->created_at = created_at;

    if (req) {
        rs->echo = req->echo;
        rs->echo_len = req->echo_len;
        rs->tools = &req->tools;
    }

    chaton_buf_init(&rs->items, a, max_answer);
    chaton_buf_init(&rs->cur, a, max_answer);
    chaton_buf_init(&rs->input, a, max_answer);
    chaton_buf_init(&rs->where, a, 0);

    return CHATON_OK;
}


static int
chaton_rs_text_op(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    return chaton_rs_delta((chaton_responses_t *) w, out, s, len, 0);
}


static int
chaton_rs_escaped(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    return chaton_rs_delta((chaton_responses_t *) w, out, s, len, 1);
}


/* text into the message item: its output_text.delta in a stream */

static int
chaton_rs_delta(chaton_responses_t *rs, chaton_buf_t *out,
    const unsigned char *s, size_t len, int escaped)
{
    size_t  at;

    if (len == 0) {
        return CHATON_OK;
    }

    chaton_try(chaton_rs_open(rs, out, CHATON_RS_MESSAGE));

    at = rs->cur.len;

    if (escaped) {
        chaton_try(chaton_buf_append(&rs->cur, s, len));

    } else {
        chaton_try(chaton_json_escape(&rs->cur, s, len));
    }

    if (!rs->w.stream) {
        return CHATON_OK;
    }

    chaton_try(chaton_rs_event(rs, out, "response.output_text.delta"));
    chaton_try(chaton_rs_delta_where(rs, out, "content_index"));
    chaton_try(chaton_buf_literal(out, ",\"delta\":\""));
    chaton_try(chaton_buf_append(out, rs->cur.data + at, rs->cur.len - at));

    return chaton_buf_literal(out, "\",\"logprobs\":[]}\n\n");
}


/* reasoning: the reasoning item's one summary part */

static int
chaton_rs_reasoning(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    size_t               at;
    chaton_responses_t  *rs = (chaton_responses_t *) w;

    if (len == 0) {
        return CHATON_OK;
    }

    chaton_try(chaton_rs_open(rs, out, CHATON_RS_REASONING));

    at = rs->cur.len;

    chaton_try(chaton_json_escape(&rs->cur, s, len));

    if (!w->stream) {
        return CHATON_OK;
    }

    chaton_try(chaton_rs_event(rs, out,
                               "response.reasoning_summary_text.delta"));
    chaton_try(chaton_rs_delta_where(rs, out, "summary_index"));
    chaton_try(chaton_buf_literal(out, ",\"delta\":\""));
    chaton_try(chaton_buf_append(out, rs->cur.data + at, rs->cur.len - at));

    return chaton_buf_literal(out, "\"}\n\n");
}


/*
 * a call, whole: its item added, its arguments (a custom tool's input) in
 * one delta, done
 */

static int
chaton_rs_tool_call(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_tool_call_t *call)
{
    chaton_responses_t  *rs = (chaton_responses_t *) w;

    chaton_try(chaton_rs_close(rs, out));

    rs->custom_call = (chaton_rs_custom(rs, call) != NULL);

    if (rs->custom_call) {
        chaton_try(chaton_rs_custom_input(rs, call));
    }

    if (rs->items.len) {
        chaton_try(chaton_buf_literal(&rs->items, ","));
    }

    chaton_try(chaton_rs_call_json(rs, &rs->items, call, "completed", 1));

    if (!w->stream) {
        rs->index++;
        return CHATON_OK;
    }

    chaton_try(chaton_rs_start(rs, out));

    chaton_try(chaton_rs_event(rs, out, "response.output_item.added"));
    chaton_try(chaton_rs_output_index(rs, out));
    chaton_try(chaton_buf_literal(out, ",\"item\":"));
    chaton_try(chaton_rs_call_json(rs, out, call, "in_progress", 0));
    chaton_try(chaton_buf_literal(out, "}\n\n"));

    if (rs->custom_call) {
        chaton_try(chaton_rs_event(rs, out,
                                   "response.custom_tool_call_input.delta"));
        chaton_try(chaton_rs_where(rs, out, NULL));
        chaton_try(chaton_buf_literal(out, ",\"delta\":\""));
        chaton_try(chaton_buf_append(out, rs->input.data, rs->input.len));
        chaton_try(chaton_buf_literal(out, "\"}\n\n"));

        chaton_try(chaton_rs_event(rs, out,
                                   "response.custom_tool_call_input.done"));
        chaton_try(chaton_rs_where(rs, out, NULL));
        chaton_try(chaton_buf_literal(out, ",\"input\":\""));
        chaton_try(chaton_buf_append(out, rs->input.data, rs->input.len));
        chaton_try(chaton_buf_literal(out, "\"}\n\n"));

    } else {
        chaton_try(chaton_rs_event(rs, out,
                                   "response.function_call_arguments.delta"));
        chaton_try(chaton_rs_where(rs, out, NULL));
        chaton_try(chaton_buf_literal(out, ",\"delta\":"));
        chaton_try(chaton_json_string(out, call->arguments,
                                      call->arguments_len));
        chaton_try(chaton_buf_literal(out, "}\n\n"));

        chaton_try(chaton_rs_event(rs, out,
                                   "response.function_call_arguments.done"));
        chaton_try(chaton_rs_where(rs, out, NULL));
        chaton_try(chaton_rs_call_name(out, call, 0));
        chaton_try(chaton_buf_literal(out, ",\"arguments\":"));
        chaton_try(chaton_json_string(out, call->arguments,
                                      call->arguments_len));
        chaton_try(chaton_buf_literal(out, "}\n\n"));
    }

    chaton_try(chaton_rs_event(rs, out, "response.output_item.done"));
    chaton_try(chaton_rs_output_index(rs, out));
    chaton_try(chaton_buf_literal(out, ",\"item\":"));
    chaton_try(chaton_rs_call_json(rs, out, call, "completed", 1));

    rs->index++;

    return chaton_buf_literal(out, "}\n\n");
}


/* the custom tool a call is of, or NULL: a function's */

static const chaton_tool_t *
chaton_rs_custom(chaton_responses_t *rs, const chaton_tool_call_t *call)
{
    size_t                i;
    const chaton_tool_t  *t;

    for (i = 0; rs->tools && i < rs->tools->ntools; i++) {
        t = &rs->tools->tools[i];

        if (t->custom && t->name_len == call->name_len
            && memcmp(t->name, call->name, call->name_len) == 0)
        {
            return t;
        }
    }

    return NULL;
}


/*
 * A custom call's input, JSON-escaped: the string the model gave as
 * "input"; arguments of another shape are the input as they are.
 */

static int
chaton_rs_custom_input(chaton_responses_t *rs, const chaton_tool_call_t *call)
{
    int     rc;
    cJSON  *args, *v;

    rs->input.len = 0;

    args = cJSON_ParseWithLength((const char *) call->arguments,
                                 call->arguments_len);
    v = chaton_json_get(args, "input");

    if (cJSON_IsString(v)) {
        rc = chaton_json_escape(&rs->input,
                                (const unsigned char *) v->valuestring,
                                strlen(v->valuestring));

    } else {
        rc = chaton_json_escape(&rs->input, call->arguments,
                                call->arguments_len);
    }

    cJSON_Delete(args);

    return rc;
}


/*
 * {"id","type":"function_call","status","call_id","name","arguments"}, or
 * a custom tool's {"id","type":"custom_tool_call","status","call_id",
 * "name","input"}, with "namespace" before "name" for a namespace's tool;
 * "args": with the arguments (the input) or empty
 */

static int
chaton_rs_call_json(chaton_responses_t *rs, chaton_buf_t *b,
    const chaton_tool_call_t *call, const char *status, int args)
{
    int  custom;

    custom = rs->custom_call;

    chaton_try(chaton_buf_literal(b, "{\"id\":"));
    chaton_try(chaton_rs_item_id(rs, b, custom ? "ctc_" : "fc_"));
    chaton_try(chaton_buf_append_str(b, custom
                                        ? ",\"type\":\"custom_tool_call\""
                                        : ",\"type\":\"function_call\""));
    chaton_try(chaton_buf_literal(b, ",\"status\":"));
    chaton_try(chaton_json_cstring(b, status));
    chaton_try(chaton_buf_literal(b, ",\"call_id\":"));
    chaton_try(chaton_json_string(b, call->id, call->id_len));
    chaton_try(chaton_rs_call_name(b, call, 1));

    if (!custom) {
        chaton_try(chaton_buf_literal(b, ",\"arguments\":"));
        chaton_try(chaton_json_string(b, call->arguments,
                                      args ? call->arguments_len : 0));

        return chaton_buf_literal(b, "}");
    }

    chaton_try(chaton_buf_literal(b, ",\"input\":\""));

    if (args) {
        chaton_try(chaton_buf_append(b, rs->input.data, rs->input.len));
    }

    return chaton_buf_literal(b, "\"}");
}


/*
 * ,"name": the call's; a namespace's tool, "<namespace>.<name>" to the
 * model (no other name has a dot), is ,"namespace":...,"name":<name>,
 * or only its name where the event has no namespace ("ns" 0)
 */

static int
chaton_rs_call_name(chaton_buf_t *b, const chaton_tool_call_t *call, int ns)
{
    size_t                len;
    const unsigned char  *name, *dot;

    name = call->name;
    len = call->name_len;

    dot = memchr(name, '.', len);

    if (dot) {
        if (ns) {
            chaton_try(chaton_buf_literal(b, ",\"namespace\":"));
            chaton_try(chaton_json_string(b, name, dot - name));
        }

        len -= dot + 1 - name;
        name = dot + 1;
    }

    chaton_try(chaton_buf_literal(b, ",\"name\":"));

    return chaton_json_string(b, name, len);
}


static int
chaton_rs_end(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_outcome_t *o)
{
    size_t               at;
    const char          *status, *type;
    chaton_responses_t  *rs = (chaton_responses_t *) w;

    chaton_try(chaton_rs_close(rs, out));

    if (strcmp(o->finish, "length") == 0) {
        status = "incomplete";
        type = "response.incomplete";

    } else {
        status = "completed";
        type = "response.completed";
    }

    if (w->stream) {
        chaton_try(chaton_rs_start(rs, out));
        chaton_try(chaton_rs_event(rs, out, type));
        chaton_try(chaton_buf_literal(out, ",\"response\":"));
    }

    at = out->len;

    chaton_try(chaton_rs_response(rs, out, status, o, NULL));
    chaton_try(chaton_rs_kept(rs, out, at));

    return w->stream ? chaton_buf_literal(out, "}\n\n") : CHATON_OK;
}


/* the final response object, copied for the one who asked (a store) */

static int
chaton_rs_kept(chaton_responses_t *rs, chaton_buf_t *out, size_t at)
{
    if (rs->kept == NULL) {
        return CHATON_OK;
    }

    rs->kept->len = 0;

    return chaton_buf_append(rs->kept, out->data + at, out->len - at);
}


/* an error after the stream began: response.failed, the stream's last */

static int
chaton_rs_error(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_error_t *e)
{
    chaton_responses_t  *rs = (chaton_responses_t *) w;

    chaton_try(chaton_rs_start(rs, out));
    chaton_try(chaton_rs_event(rs, out, "response.failed"));
    chaton_try(chaton_buf_literal(out, ",\"response\":"));
    chaton_try(chaton_rs_response(rs, out, "failed", NULL, e));

    return chaton_buf_literal(out, "}\n\n");
}


static int
chaton_rs_start_op(chaton_writer_t *w, chaton_buf_t *out)
{
    return chaton_rs_start((chaton_responses_t *) w, out);
}


/* response.created and response.in_progress, once, first */

static int
chaton_rs_start(chaton_responses_t *rs, chaton_buf_t *out)
{
    if (rs->started) {
        return CHATON_OK;
    }

    rs->started = 1;

    chaton_try(chaton_rs_event(rs, out, "response.created"));
    chaton_try(chaton_buf_literal(out, ",\"response\":"));
    chaton_try(chaton_rs_response(rs, out, "in_progress", NULL, NULL));
    chaton_try(chaton_buf_literal(out, "}\n\n"));

    chaton_try(chaton_rs_event(rs, out, "response.in_progress"));
    chaton_try(chaton_buf_literal(out, ",\"response\":"));
    chaton_try(chaton_rs_response(rs, out, "in_progress", NULL, NULL));

    return chaton_buf_literal(out, "}\n\n");
}


/* a message or reasoning item, open after this (the other one closed) */

static int
chaton_rs_open(chaton_responses_t *rs, chaton_buf_t *out, int item)
{
    if (rs->item == item) {
        return CHATON_OK;
    }

    chaton_try(chaton_rs_close(rs, out));

    rs->item = item;
    rs->cur.len = 0;

    if (!rs->w.stream) {
        return CHATON_OK;
    }

    chaton_try(chaton_rs_start(rs, out));

    chaton_try(chaton_rs_event(rs, out, "response.output_item.added"));
    chaton_try(chaton_rs_output_index(rs, out));
    chaton_try(chaton_buf_literal(out, ",\"item\":"));
    chaton_try(chaton_rs_item_json(rs, out, item, "in_progress"));
    chaton_try(chaton_buf_literal(out, "}\n\n"));

    if (item == CHATON_RS_MESSAGE) {
        chaton_try(chaton_rs_event(rs, out, "response.content_part.added"));
        chaton_try(chaton_rs_where(rs, out, "content_index"));

    } else {
        chaton_try(chaton_rs_event(rs, out,
                                   "response.reasoning_summary_part.added"));
        chaton_try(chaton_rs_where(rs, out, "summary_index"));
    }

    chaton_try(chaton_buf_literal(out, ",\"part\":"));
    chaton_try(chaton_rs_part_json(rs, out, item));

    return chaton_buf_literal(out, "}\n\n");
}


/* the open item's end: its done events, and the item kept for the end */

static int
chaton_rs_close(chaton_responses_t *rs, chaton_buf_t *out)
{
    int  item;

    item = rs->item;

    if (item == CHATON_RS_NONE) {
        return CHATON_OK;
    }

    if (rs->items.len) {
        chaton_try(chaton_buf_literal(&rs->items, ","));
    }

    chaton_try(chaton_rs_item_json(rs, &rs->items, item, "completed"));

    if (rs->w.stream) {
        if (item == CHATON_RS_MESSAGE) {
            chaton_try(chaton_rs_event(rs, out,
                                       "response.output_text.done"));
            chaton_try(chaton_rs_where(rs, out, "content_index"));
            chaton_try(chaton_buf_literal(out, ",\"text\":\""));
            chaton_try(chaton_buf_append(out, rs->cur.data, rs->cur.len));
            chaton_try(chaton_buf_literal(out, "\",\"logprobs\":[]}\n\n"));

            chaton_try(chaton_rs_event(rs, out,
                                       "response.content_part.done"));
            chaton_try(chaton_rs_where(rs, out, "content_index"));

        } else {
            chaton_try(chaton_rs_event(rs, out,
                                   "response.reasoning_summary_text.done"));
            chaton_try(chaton_rs_where(rs, out, "summary_index"));
            chaton_try(chaton_buf_literal(out, ",\"text\":\""));
            chaton_try(chaton_buf_append(out, rs->cur.data, rs->cur.len));
            chaton_try(chaton_buf_literal(out, "\"}\n\n"));

            chaton_try(chaton_rs_event(rs, out,
                                   "response.reasoning_summary_part.done"));
            chaton_try(chaton_rs_where(rs, out, "summary_index"));
        }

        chaton_try(chaton_buf_literal(out, ",\"part\":"));
        chaton_try(chaton_rs_part_json(rs, out, item));
        chaton_try(chaton_buf_literal(out, "}\n\n"));

        chaton_try(chaton_rs_event(rs, out, "response.output_item.done"));
        chaton_try(chaton_rs_output_index(rs, out));
        chaton_try(chaton_buf_literal(out, ",\"item\":"));
        chaton_try(chaton_rs_item_json(rs, out, item, "completed"));
        chaton_try(chaton_buf_literal(out, "}\n\n"));
    }

    rs->item = CHATON_RS_NONE;
    rs->cur.len = 0;
    rs->index++;

    return CHATON_OK;
}


/* a message item (its one output_text part) or a reasoning item */

static int
chaton_rs_item_json(chaton_responses_t *rs, chaton_buf_t *b, int item,
    const char *status)
{
    int  done;

    done = (status[0] == 'c');

    chaton_try(chaton_buf_literal(b, "{\"id\":"));

    if (item == CHATON_RS_REASONING) {
        chaton_try(chaton_rs_item_id(rs, b, "rs_"));
        chaton_try(chaton_buf_literal(b, ",\"type\":\"reasoning\","
                                         "\"summary\":["));

        if (done) {
            chaton_try(chaton_rs_part_json(rs, b, item));
        }

        return chaton_buf_literal(b, "]}");
    }

    chaton_try(chaton_rs_item_id(rs, b, "msg_"));
    chaton_try(chaton_buf_literal(b, ",\"type\":\"message\",\"status\":"));
    chaton_try(chaton_json_cstring(b, status));
    chaton_try(chaton_buf_literal(b, ",\"role\":\"assistant\","
                                     "\"content\":["));

    if (done) {
        chaton_try(chaton_rs_part_json(rs, b, item));
    }

    return chaton_buf_literal(b, "]}");
}


/* the open item's part with its text so far (none when just opened) */

static int
chaton_rs_part_json(chaton_responses_t *rs, chaton_buf_t *b, int item)
{
    if (item == CHATON_RS_REASONING) {
        chaton_try(chaton_buf_literal(b, "{\"type\":\"summary_text\","
                                         "\"text\":\""));
        chaton_try(chaton_buf_append(b, rs->cur.data, rs->cur.len));
        return chaton_buf_literal(b, "\"}");
    }

    chaton_try(chaton_buf_literal(b, "{\"type\":\"output_text\","
                                     "\"annotations\":[],\"logprobs\":[],"
                                     "\"text\":\""));
    chaton_try(chaton_buf_append(b, rs->cur.data, rs->cur.len));

    return chaton_buf_literal(b, "\"}");
}


/* "msg_<the response id after resp_>_<output index>" */

static int
chaton_rs_item_id(chaton_responses_t *rs, chaton_buf_t *b,
    const char *prefix)
{
    const unsigned char  *id;
    size_t                len;

    id = rs->id;
    len = rs->id_len;

    if (len > 5 && memcmp(id, "resp_", 5) == 0) {
        id += 5;
        len -= 5;
    }

    chaton_try(chaton_buf_literal(b, "\""));
    chaton_try(chaton_buf_append_str(b, prefix));
    chaton_try(chaton_json_escape(b, id, len));
    chaton_try(chaton_buf_literal(b, "_"));
    chaton_try(chaton_buf_append_uint(b, rs->index));

    return chaton_buf_literal(b, "\"");
}


/*
 * "event: TYPE\ndata: {"type":TYPE,"sequence_number":N"; TYPE's length is
 * known where it is a literal (chaton_rs_event(), in the header)
 */

static int
chaton_rs_event_n(chaton_responses_t *rs, chaton_buf_t *out,
    const char *type, size_t len)
{
    rs->w.chunks++;

    chaton_try(chaton_buf_literal(out, "event: "));
    chaton_try(chaton_buf_append(out, type, len));
    chaton_try(chaton_buf_literal(out, "\ndata: {\"type\":\""));
    chaton_try(chaton_buf_append(out, type, len));
    chaton_try(chaton_buf_literal(out, "\",\"sequence_number\":"));

    return chaton_buf_append_uint(out, rs->seq++);
}


/*
 * A delta's ,"item_id","output_index","content_index" (or summary_index)
 * are those of the open item, the same for each of its deltas: written
 * once per item and copied (an item's index is its own, and its kind
 * names its part).
 */

static int
chaton_rs_delta_where(chaton_responses_t *rs, chaton_buf_t *out,
    const char *part)
{
    if (rs->where_index != rs->index + 1) {
        rs->where.len = 0;
        chaton_try(chaton_rs_where(rs, &rs->where, part));
        rs->where_index = rs->index + 1;
    }

    return chaton_buf_append(out, rs->where.data, rs->where.len);
}


/* ,"item_id","output_index" and, when named, the part's index: 0 */

static int
chaton_rs_where(chaton_responses_t *rs, chaton_buf_t *out, const char *part)
{
    chaton_try(chaton_buf_literal(out, ",\"item_id\":"));
    chaton_try(chaton_rs_item_id(rs, out,
                                 rs->item == CHATON_RS_MESSAGE ? "msg_"
                                 : rs->item == CHATON_RS_REASONING ? "rs_"
                                 : rs->custom_call ? "ctc_" : "fc_"));
    chaton_try(chaton_rs_output_index(rs, out));

    if (part == NULL) {
        return CHATON_OK;
    }

    chaton_try(chaton_buf_literal(out, ",\""));
    chaton_try(chaton_buf_append_str(out, part));

    return chaton_buf_literal(out, "\":0");
}


/* ,"output_index": the output_item events have only this of the item */

static int
chaton_rs_output_index(chaton_responses_t *rs, chaton_buf_t *out)
{
    chaton_try(chaton_buf_literal(out, ",\"output_index\":"));

    return chaton_buf_append_uint(out, rs->index);
}


/*
 * The response object: in a stream's first events (in_progress, no
 * output), its last (the items done), or the whole answer.
 */

static int
chaton_rs_response(chaton_responses_t *rs, chaton_buf_t *b,
    const char *status, const chaton_outcome_t *o, const chaton_error_t *e)
{
    int  final;

    final = (o != NULL || e != NULL);

    chaton_try(chaton_buf_reserve(b, rs->items.len + rs->echo_len + 768));
    chaton_try(chaton_buf_literal(b, "{\"id\":"));
    chaton_try(chaton_json_string(b, rs->id, rs->id_len));
    chaton_try(chaton_buf_literal(b, ",\"object\":\"response\","
                                     "\"created_at\":"));
    chaton_try(chaton_buf_append_uint(b, rs->created_at));
    chaton_try(chaton_buf_literal(b, ",\"status\":"));
    chaton_try(chaton_json_cstring(b, status));
    chaton_try(chaton_buf_literal(b, ",\"error\":"));

    if (e) {
        chaton_try(chaton_buf_literal(b, "{\"code\":\"server_error\","
                                         "\"message\":"));
        chaton_try(chaton_json_string(b, e->text,
                                      e->text_len));
        chaton_try(chaton_buf_literal(b, "}"));

    } else {
        chaton_try(chaton_buf_literal(b, "null"));
    }

    chaton_try(chaton_buf_literal(b, ",\"incomplete_details\":"));

    if (status[0] == 'i' && status[1] == 'n' && status[2] == 'c') {
        chaton_try(chaton_buf_literal(b, "{\"reason\":"
                                         "\"max_output_tokens\"}"));
    } else {
        chaton_try(chaton_buf_literal(b, "null"));
    }

    chaton_try(chaton_buf_literal(b, ",\"model\":"));
    chaton_try(chaton_json_string(b, rs->model, rs->model_len));
    chaton_try(chaton_buf_literal(b, ",\"output\":["));

    if (final) {
        chaton_try(chaton_buf_append(b, rs->items.data, rs->items.len));
    }

    chaton_try(chaton_buf_literal(b, "],\"usage\":"));

    if (o == NULL) {
        chaton_try(chaton_buf_literal(b, "null"));

    } else {
        chaton_try(chaton_buf_literal(b, "{\"input_tokens\":"));
        chaton_try(chaton_buf_append_uint(b, o->prompt_tokens));
        chaton_try(chaton_buf_literal(b, ",\"input_tokens_details\":"
                                         "{\"cached_tokens\":0},"
                                         "\"output_tokens\":"));
        chaton_try(chaton_buf_append_uint(b, o->completion_tokens));
        chaton_try(chaton_buf_literal(b, ",\"output_tokens_details\":"
                                         "{\"reasoning_tokens\":"));
        chaton_try(chaton_buf_append_uint(b, o->reasoning_tokens));
        chaton_try(chaton_buf_literal(b, "},\"total_tokens\":"));
        chaton_try(chaton_buf_append_uint(b, o->prompt_tokens
                                             + o->completion_tokens));
        chaton_try(chaton_buf_literal(b, "}"));
    }

    if (rs->echo) {
        chaton_try(chaton_buf_append(b, rs->echo, rs->echo_len));

    } else {
        chaton_try(chaton_rs_echo_defaults(b));
    }

    chaton_try(chaton_buf_literal(b, ",\"store\":"));
    chaton_try(chaton_buf_append_str(b, rs->store ? "true" : "false"));

    return chaton_buf_literal(b, "}");
}


/* what the response object repeats of a request not known */

static int
chaton_rs_echo_defaults(chaton_buf_t *b)
{
    size_t  i;

    for (i = 0; chaton_rs_echoes[i].name; i++) {
        chaton_try(chaton_buf_append(b, chaton_rs_echoes[i].key,
                                     chaton_rs_echoes[i].key_len));
        chaton_try(chaton_buf_append(b, chaton_rs_echoes[i].value,
                                     chaton_rs_echoes[i].value_len));
    }

    return CHATON_OK;
}
