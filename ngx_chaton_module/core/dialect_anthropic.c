/*
 * Anthropic's Messages API: the parser (body -> the neutral conversation)
 * and the writer (neutral output events -> named SSE events or one
 * message object).  See dialect_anthropic.h for the choices made.
 *
 * The parser reads the body once with cJSON, checks it field by field
 * (each refusal names its field in err->param and in the message) and
 * builds the same conversation the OpenAI parser builds: a system
 * message, messages in the roles ChatOn knows, tool_use blocks as the
 * assistant's calls and tool_result blocks as results, both in the tools'
 * format (chaton_tools.h), images to upload or to pass by URL.
 */

#include <math.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "dialect_anthropic.h"
#include "chaton_dataurl.h"


#define CHATON_ANTHROPIC_MAX_MESSAGES  10000
#define CHATON_ANTHROPIC_MAX_TOOLS     1024


typedef struct {
    chaton_chat_req_t          *req;
    chaton_alloc_t             *alloc;
    chaton_alloc_t             *scratch;    /* the messages' (conf's) */
    const chaton_chat_conf_t   *conf;
    chaton_error_t             *err;
    unsigned                    count:1;    /* count_tokens: no max_tokens */
    char                        param[96];
} chaton_an_parse_t;


static int chaton_an_request(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err, int count);
static int chaton_an_fields(chaton_an_parse_t *ps, cJSON *root);
static int chaton_an_options(chaton_an_parse_t *ps, cJSON *root);
static int chaton_an_thinking(chaton_an_parse_t *ps, cJSON *root);
static int chaton_an_stops(chaton_an_parse_t *ps, cJSON *root);
static int chaton_an_tools(chaton_an_parse_t *ps, cJSON *root);
static int chaton_an_tool_choice(chaton_an_parse_t *ps, cJSON *root);
static int chaton_an_system(chaton_an_parse_t *ps, cJSON *root);
static int chaton_an_messages(chaton_an_parse_t *ps, cJSON *list);
static int chaton_an_message(chaton_an_parse_t *ps, cJSON *m, size_t i,
    chaton_message_t *msg);
static int chaton_an_block(chaton_an_parse_t *ps, cJSON *block,
    const char *role, chaton_message_t *msg, chaton_buf_t *text);
static int chaton_an_image(chaton_an_parse_t *ps, cJSON *block,
    chaton_message_t *msg);
static int chaton_an_tool_use(chaton_an_parse_t *ps, cJSON *block,
    chaton_message_t *msg, size_t n);
static int chaton_an_tool_result(chaton_an_parse_t *ps, cJSON *block,
    chaton_message_t *msg, chaton_buf_t *text);
static int chaton_an_text(chaton_an_parse_t *ps, cJSON *blocks,
    chaton_message_t *msg, chaton_buf_t *text, int images);
static int chaton_an_number(chaton_an_parse_t *ps, cJSON *root,
    const char *name, double min, double max, int integer);
static int chaton_an_string(chaton_an_parse_t *ps, cJSON *o,
    const char *key, const unsigned char **s, size_t *len);
static int chaton_an_object(chaton_an_parse_t *ps, cJSON *root,
    const char *name, cJSON **v);
static int chaton_an_append(chaton_buf_t *b, const char *s);
static size_t chaton_an_calls(cJSON *blocks);


int
chaton_anthropic_parse(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err)
{
    return chaton_an_request(req, a, conf, body, len, err, 0);
}


int
chaton_anthropic_parse_count(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err)
{
    return chaton_an_request(req, a, conf, body, len, err, 1);
}


int
chaton_anthropic_count_tokens(chaton_buf_t *b, const chaton_chat_req_t *req)
{
    chaton_try(chaton_buf_literal(b, "{\"input_tokens\":"));
    chaton_try(chaton_buf_append_uint(b, chaton_usage_tokens(&req->prompt)));

    return chaton_buf_literal(b, "}");
}


static int
chaton_an_request(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err, int count)
{
    int                 rc;
    cJSON              *root;
    chaton_an_parse_t   ps;

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
    ps.count = count ? 1 : 0;

    rc = chaton_an_fields(&ps, root);

    chaton_json_tree_free(root, ps.scratch);

    return rc;
}


static int
chaton_an_fields(chaton_an_parse_t *ps, cJSON *root)
{
    cJSON  *v;

    chaton_try(chaton_conv_model(ps->req, ps->alloc, ps->conf, root,
                                 ps->err));
    chaton_try(chaton_an_options(ps, root));
    chaton_try(chaton_an_stops(ps, root));
    chaton_try(chaton_an_tools(ps, root));
    chaton_try(chaton_an_tool_choice(ps, root));

    ps->req->extract = (ps->req->tools.ntools
                        && ps->req->tools.choice != CHATON_TOOL_CHOICE_NONE);

    /* the tools' nonce, only where tools are offered (history draws too) */

    if (ps->req->tools.ntools) {
        chaton_try(chaton_conv_nonce(ps->req, ps->conf));
    }

    v = chaton_json_get(root, "messages");

    if (v == NULL || cJSON_IsNull(v)) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "messages: Field required");
    }

    if (!cJSON_IsArray(v)) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "messages: must be an array");
    }

    if (cJSON_GetArraySize(v) == 0) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "messages: at least one message is "
                                "required");
    }

    if (cJSON_GetArraySize(v) > CHATON_ANTHROPIC_MAX_MESSAGES) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "messages: more than %d messages",
                                CHATON_ANTHROPIC_MAX_MESSAGES);
    }

    /* the system text first, one more for the tools' instructions */

    ps->req->messages = ps->scratch->alloc(ps->scratch->pool,
                                           ((size_t) cJSON_GetArraySize(v)
                                            + 2) * sizeof(chaton_message_t));
    if (ps->req->messages == NULL) {
        return CHATON_ERROR;
    }

    chaton_try(chaton_an_system(ps, root));

    return chaton_an_messages(ps, v);
}


/* max_tokens, stream, the sampling parameters, metadata, thinking */

static int
chaton_an_options(chaton_an_parse_t *ps, cJSON *root)
{
    cJSON              *v;
    chaton_chat_req_t  *req;

    req = ps->req;

    v = chaton_json_get(root, "max_tokens");

    if ((v == NULL || cJSON_IsNull(v)) && !ps->count) {
        return chaton_error_set(ps->err, 400, "max_tokens", NULL,
                                "max_tokens: Field required");
    }

    chaton_try(chaton_an_number(ps, root, "max_tokens", 1, 1e9, 1));

    req->max_tokens = cJSON_IsNumber(v) ? (uint64_t) v->valuedouble
                                        : ps->conf->max_tokens;

    v = chaton_json_get(root, "stream");

    if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v)) {
        return chaton_error_set(ps->err, 400, "stream", NULL,
                                "stream: must be a boolean");
    }

    req->stream = cJSON_IsTrue(v);

    /* sampling: checked as Anthropic checks them, then not used */

    chaton_try(chaton_an_number(ps, root, "temperature", 0, 1, 0));
    chaton_try(chaton_an_number(ps, root, "top_p", 0, 1, 0));
    chaton_try(chaton_an_number(ps, root, "top_k", 0, 1e9, 1));

    chaton_try(chaton_an_object(ps, root, "metadata", &v));

    if (v) {
        v = chaton_json_get(v, "user_id");

        if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
            return chaton_error_set(ps->err, 400, "metadata.user_id", NULL,
                                    "metadata.user_id: must be a string");
        }
    }

    req->web_search = ps->conf->web_search;
    req->image_gen = ps->conf->image_gen;
    req->code_interpreter = ps->conf->code_interpreter;

    return chaton_an_thinking(ps, root);
}


/*
 * thinking: {"type": "enabled", "budget_tokens": N} or "disabled" (or the
 * newer "adaptive").  Accepted: a reasoning model reasons anyway, and
 * ChatOn takes no budget.
 */

static int
chaton_an_thinking(chaton_an_parse_t *ps, cJSON *root)
{
    cJSON  *v, *type;

    chaton_try(chaton_an_object(ps, root, "thinking", &v));

    if (v == NULL) {
        return CHATON_OK;
    }

    type = chaton_json_get(v, "type");

    if (!cJSON_IsString(type)
        || (strcmp(type->valuestring, "enabled") != 0
            && strcmp(type->valuestring, "disabled") != 0
            && strcmp(type->valuestring, "adaptive") != 0))
    {
        return chaton_error_set(ps->err, 400, "thinking.type", NULL,
                                "thinking.type: must be 'enabled', "
                                "'disabled' or 'adaptive'");
    }

    if (strcmp(type->valuestring, "enabled") != 0) {
        return CHATON_OK;
    }

    v = chaton_json_get(v, "budget_tokens");

    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)
        || v->valuedouble < 1 || v->valuedouble > 1e9)
    {
        return chaton_error_set(ps->err, 400, "thinking.budget_tokens",
                                NULL, "thinking.budget_tokens: must be a "
                                "positive integer");
    }

    return CHATON_OK;
}


/* stop_sequences: the writer ends the answer's text at the first met */

static int
chaton_an_stops(chaton_an_parse_t *ps, cJSON *root)
{
    size_t              n, k;
    cJSON              *list, *v;
    chaton_chat_req_t  *req;

    req = ps->req;

    list = chaton_json_get(root, "stop_sequences");

    if (list == NULL || cJSON_IsNull(list)) {
        return CHATON_OK;
    }

    if (!cJSON_IsArray(list)) {
        return chaton_error_set(ps->err, 400, "stop_sequences", NULL,
                                "stop_sequences: must be an array of "
                                "strings");
    }

    n = (size_t) cJSON_GetArraySize(list);

    if (n > CHATON_ANTHROPIC_MAX_STOPS) {
        return chaton_error_set(ps->err, 400, "stop_sequences", NULL,
                                "stop_sequences: at most %d are served "
                                "here", CHATON_ANTHROPIC_MAX_STOPS);
    }

    if (n == 0) {
        return CHATON_OK;
    }

    req->stop = ps->alloc->alloc(ps->alloc->pool, n * sizeof(chaton_stop_t));
    if (req->stop == NULL) {
        return CHATON_ERROR;
    }

    k = 0;

    cJSON_ArrayForEach(v, list) {
        (void) snprintf(ps->param, sizeof(ps->param), "stop_sequences[%zu]",
                        k);

        if (!cJSON_IsString(v) || v->valuestring[0] == '\0'
            || strlen(v->valuestring) > CHATON_ANTHROPIC_MAX_STOP_LEN)
        {
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "%s: must be a string of 1 to %d "
                                    "bytes", ps->param,
                                    CHATON_ANTHROPIC_MAX_STOP_LEN);
        }

        req->stop[k].data = chaton_conv_copy(ps->alloc, v->valuestring,
                                             &req->stop[k].len);
        if (req->stop[k].data == NULL) {
            return CHATON_ERROR;
        }

        k++;
    }

    req->nstop = n;

    return CHATON_OK;
}


/*
 * tools: custom tools ({"name", "description", "input_schema"}, "type"
 * absent or "custom") go through the tool-calling emulation; Anthropic's
 * web search server tool ("web_search_20250305", ...) is ChatOn's web
 * search; other server tools cannot be served.
 */

static int
chaton_an_tools(chaton_an_parse_t *ps, cJSON *root)
{
    size_t              k;
    cJSON              *list, *item, *type, *schema;
    chaton_tool_t      *tools;
    chaton_chat_req_t  *req;

    req = ps->req;

    req->tools.choice = CHATON_TOOL_CHOICE_AUTO;
    req->tools.parallel = 1;

    chaton_try(chaton_conv_tools(req, ps->alloc, ps->err, root,
                                 CHATON_ANTHROPIC_MAX_TOOLS, 1, &list,
                                 &tools));

    k = 0;

    cJSON_ArrayForEach(item, list) {
        (void) snprintf(ps->param, sizeof(ps->param), "tools[%zu]", k);

        if (!cJSON_IsObject(item)) {
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "%s: must be an object", ps->param);
        }

        type = chaton_json_get(item, "type");

        if (cJSON_IsString(type)
            && strncmp(type->valuestring, "web_search_", 11) == 0)
        {
            req->web_search = 1;
            k++;
            continue;
        }

        if (type && !cJSON_IsNull(type)
            && !(cJSON_IsString(type)
                 && strcmp(type->valuestring, "custom") == 0))
        {
            (void) snprintf(ps->param, sizeof(ps->param), "tools[%zu].type",
                            k);
            return chaton_error_set(ps->err, 400, ps->param,
                                    "unsupported_value",
                                    "%s: '%.40s' is a server tool that is "
                                    "not served here; custom tools and "
                                    "web search are", ps->param,
                                    cJSON_IsString(type) ? type->valuestring
                                                         : "");
        }

        schema = chaton_json_get(item, "input_schema");

        if (!cJSON_IsObject(schema)) {
            (void) snprintf(ps->param, sizeof(ps->param),
                            "tools[%zu].input_schema", k);
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "%s: must be a JSON Schema object",
                                    ps->param);
        }

        chaton_try(chaton_conv_tool(ps->alloc, ps->err, ps->param, item,
                                    "input_schema",
                                    &tools[req->tools.ntools]));

        req->tools.ntools++;
        k++;
    }

    return CHATON_OK;
}


/* {"type": "auto" | "any" | "tool" | "none", "name", ...} */

static int
chaton_an_tool_choice(chaton_an_parse_t *ps, cJSON *root)
{
    cJSON           *v, *type, *name;
    chaton_tools_t  *t;

    t = &ps->req->tools;

    chaton_try(chaton_an_object(ps, root, "tool_choice", &v));

    if (v == NULL) {
        return CHATON_OK;
    }

    name = chaton_json_get(v, "disable_parallel_tool_use");

    if (name && !cJSON_IsNull(name)) {
        if (!cJSON_IsBool(name)) {
            return chaton_error_set(ps->err, 400,
                                    "tool_choice.disable_parallel_tool_use",
                                    NULL, "tool_choice.disable_parallel_"
                                    "tool_use: must be a boolean");
        }

        t->parallel = !cJSON_IsTrue(name);
    }

    type = chaton_json_get(v, "type");

    if (!cJSON_IsString(type)) {
        return chaton_error_set(ps->err, 400, "tool_choice.type", NULL,
                                "tool_choice.type: Field required");
    }

    if (strcmp(type->valuestring, "auto") == 0) {
        return CHATON_OK;
    }

    if (strcmp(type->valuestring, "none") == 0) {
        t->choice = CHATON_TOOL_CHOICE_NONE;
        return CHATON_OK;
    }

    if (strcmp(type->valuestring, "any") != 0
        && strcmp(type->valuestring, "tool") != 0)
    {
        return chaton_error_set(ps->err, 400, "tool_choice.type", NULL,
                                "tool_choice.type: must be 'auto', 'any', "
                                "'tool' or 'none'");
    }

    if (t->ntools == 0) {
        return chaton_error_set(ps->err, 400, "tool_choice.type", NULL,
                                "tool_choice.type: '%s' needs tools, and "
                                "none are given", type->valuestring);
    }

    if (type->valuestring[0] == 'a') {
        t->choice = CHATON_TOOL_CHOICE_REQUIRED;
        return CHATON_OK;
    }

    name = chaton_json_get(v, "name");

    if (cJSON_IsString(name)
        && chaton_conv_choose(t, name->valuestring) == CHATON_OK)
    {
        return CHATON_OK;
    }

    return chaton_error_set(ps->err, 400, "tool_choice.name", NULL,
                            "tool_choice.name: must name one of the tools "
                            "given");
}


/* system: a string or text blocks, the first message ChatOn gets */

static int
chaton_an_system(chaton_an_parse_t *ps, cJSON *root)
{
    cJSON              *v;
    chaton_buf_t        text;
    chaton_message_t   *msg;
    chaton_chat_req_t  *req;

    req = ps->req;

    v = chaton_json_get(root, "system");

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    chaton_buf_init(&text, ps->scratch, 0);

    (void) snprintf(ps->param, sizeof(ps->param), "system");

    if (cJSON_IsString(v)) {
        chaton_try(chaton_buf_append_str(&text, v->valuestring));

    } else if (cJSON_IsArray(v)) {
        chaton_try(chaton_an_text(ps, v, NULL, &text, 0));

    } else {
        return chaton_error_set(ps->err, 400, "system", NULL,
                                "system: must be a string or an array of "
                                "text blocks");
    }

    if (chaton_blank(text.data, text.len)) {
        return CHATON_OK;
    }

    msg = &req->messages[req->nmessages++];
    memset(msg, 0, sizeof(chaton_message_t));

    msg->role = "system";
    msg->content = text.data;
    msg->content_len = text.len;

    chaton_usage_add(&req->prompt, text.data, text.len);
    req->prompt.ascii += 12;

    return CHATON_OK;
}


static int
chaton_an_messages(chaton_an_parse_t *ps, cJSON *list)
{
    int                 history;
    size_t              i;
    cJSON              *m;
    chaton_message_t    msg;
    chaton_chat_req_t  *req;

    req = ps->req;
    history = 0;
    i = 0;

    cJSON_ArrayForEach(m, list) {

        chaton_try(chaton_an_message(ps, m, i, &msg));

        i++;

        if (msg.ncalls) {
            history = 1;
            chaton_try(chaton_conv_nonce(req, ps->conf));
            chaton_try(chaton_conv_calls_text(req, ps->scratch, &msg));
        }

        if (msg.nimages == 0 && chaton_blank(msg.content, msg.content_len)) {
            continue;
        }

        chaton_usage_add(&req->prompt, msg.content, msg.content_len);
        req->prompt.ascii += 12;

        req->messages[req->nmessages++] = msg;
    }

    if (req->nmessages == 0) {
        return chaton_error_set(ps->err, 400, "messages", NULL,
                                "messages: every message is empty; there "
                                "is nothing to answer");
    }

    chaton_try(chaton_conv_instructions(req, ps->scratch, history));

    /* count_tokens counts whatever the length: that is its question */

    return ps->count ? CHATON_OK : chaton_conv_fits(req, ps->err);
}


/* "messages[i]" and what follows, in ps->param */

static const char *
chaton_an_param(chaton_an_parse_t *ps, size_t i, const char *field)
{
    (void) snprintf(ps->param, sizeof(ps->param), "messages[%zu]%s", i,
                    field);

    return ps->param;
}


/* {"role": "user" | "assistant", "content": a string or blocks} */

static int
chaton_an_message(chaton_an_parse_t *ps, cJSON *m, size_t i,
    chaton_message_t *msg)
{
    size_t         j, n;
    cJSON         *v, *block;
    chaton_buf_t   text;

    memset(msg, 0, sizeof(chaton_message_t));

    /* the parameter's name is written when it is refused only */

    if (!cJSON_IsObject(m)) {
        return chaton_error_set(ps->err, 400, chaton_an_param(ps, i, ""),
                                NULL, "%s: must be an object", ps->param);
    }

    v = chaton_json_get(m, "role");

    if (cJSON_IsString(v) && strcmp(v->valuestring, "user") == 0) {
        msg->role = "user";

    } else if (cJSON_IsString(v)
               && strcmp(v->valuestring, "assistant") == 0)
    {
        msg->role = "assistant";

    } else {
        return chaton_error_set(ps->err, 400,
                                chaton_an_param(ps, i, ".role"), NULL,
                                "%s: must be 'user' or 'assistant' (the "
                                "system text is the top-level 'system')",
                                ps->param);
    }

    v = chaton_json_get(m, "content");

    chaton_buf_init(&text, ps->scratch, 0);

    if (cJSON_IsString(v)) {
        msg->content = chaton_conv_copy(ps->scratch, v->valuestring,
                                        &msg->content_len);
        return msg->content ? CHATON_OK : CHATON_ERROR;
    }

    if (!cJSON_IsArray(v)) {
        return chaton_error_set(ps->err, 400,
                                chaton_an_param(ps, i, ".content"), NULL,
                                "%s: must be a string or an array of "
                                "content blocks", ps->param);
    }

    n = chaton_an_calls(v);

    if (n && msg->role[0] == 'a') {
        msg->calls = ps->scratch->alloc(ps->scratch->pool,
                                        n * sizeof(chaton_call_t));
        if (msg->calls == NULL) {
            return CHATON_ERROR;
        }
    }

    msg->image = ps->req->nimages;
    j = 0;

    cJSON_ArrayForEach(block, v) {
        (void) snprintf(ps->param, sizeof(ps->param),
                        "messages[%zu].content[%zu]", i, j);

        chaton_try(chaton_an_block(ps, block, msg->role, msg, &text));

        j++;
    }

    msg->content = text.data ? text.data : (unsigned char *) "";
    msg->content_len = text.len;

    return CHATON_OK;
}


/* the tool_use blocks of a content array, for the calls' array */

static size_t
chaton_an_calls(cJSON *blocks)
{
    size_t   n;
    cJSON   *block, *type;

    n = 0;

    cJSON_ArrayForEach(block, blocks) {
        type = chaton_json_get(block, "type");

        if (cJSON_IsString(type) && strcmp(type->valuestring, "tool_use") == 0)
        {
            n++;
        }
    }

    return n;
}


/* one content block; ps->param names it */

static int
chaton_an_block(chaton_an_parse_t *ps, cJSON *block, const char *role,
    chaton_message_t *msg, chaton_buf_t *text)
{
    cJSON        *type, *v;
    const char   *t;

    type = chaton_json_get(block, "type");

    if (!cJSON_IsObject(block) || !cJSON_IsString(type)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "%s: must be an object with a string "
                                "'type'", ps->param);
    }

    t = type->valuestring;

    if (strcmp(t, "text") == 0) {
        v = chaton_json_get(block, "text");

        if (!cJSON_IsString(v)) {
            (void) strcat(ps->param, ".text");
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "%s: must be a string", ps->param);
        }

        return chaton_an_append(text, v->valuestring);
    }

    /* the model's earlier reasoning is not sent back to it */

    if (strcmp(t, "thinking") == 0 || strcmp(t, "redacted_thinking") == 0) {
        return CHATON_OK;
    }

    if (strcmp(t, "image") == 0 && role[0] == 'u') {
        return chaton_an_image(ps, block, msg);
    }

    if (strcmp(t, "tool_use") == 0 && role[0] == 'a') {
        return chaton_an_tool_use(ps, block, msg, msg->ncalls);
    }

    if (strcmp(t, "tool_result") == 0 && role[0] == 'u') {
        return chaton_an_tool_result(ps, block, msg, text);
    }

    (void) strcat(ps->param, ".type");

    return chaton_error_set(ps->err, 400, ps->param, "unsupported_value",
                            "%s: '%.40s' blocks are not served in %s "
                            "messages here", ps->param, t, role);
}


/* text blocks (system, a tool's result), and images where they may be */

static int
chaton_an_text(chaton_an_parse_t *ps, cJSON *blocks, chaton_message_t *msg,
    chaton_buf_t *text, int images)
{
    size_t   k, plen;
    cJSON   *block, *type, *v;

    plen = strlen(ps->param);
    k = 0;

    cJSON_ArrayForEach(block, blocks) {
        (void) snprintf(ps->param + plen, sizeof(ps->param) - plen, "[%zu]",
                        k++);

        type = chaton_json_get(block, "type");

        if (images && cJSON_IsString(type)
            && strcmp(type->valuestring, "image") == 0)
        {
            chaton_try(chaton_an_image(ps, block, msg));
            continue;
        }

        v = chaton_json_get(block, "text");

        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0
            || !cJSON_IsString(v))
        {
            return chaton_error_set(ps->err, 400, ps->param, NULL,
                                    "%s: must be a text block%s", ps->param,
                                    images ? " or an image block" : "");
        }

        chaton_try(chaton_an_append(text, v->valuestring));
    }

    ps->param[plen] = '\0';

    return CHATON_OK;
}


/*
 * {"type": "image", "source": {"type": "base64", "media_type", "data"}}:
 * decoded and uploaded as the OpenAI parser's data URLs are; or
 * {"type": "url", "url"}: an http(s) URL the backend fetches.
 */

static int
chaton_an_image(chaton_an_parse_t *ps, cJSON *block, chaton_message_t *msg)
{
    int                             rc;
    cJSON                          *src, *type, *v;
    char                            param[128];
    chaton_buf_t                    data;
    chaton_image_t                 *img;
    const chaton_dataurl_type_t    *mime;

    src = chaton_json_get(block, "source");
    type = chaton_json_get(src, "type");

    (void) snprintf(param, sizeof(param), "%s.source", ps->param);

    if (!cJSON_IsObject(src) || !cJSON_IsString(type)) {
        return chaton_error_set(ps->err, 400, param, NULL,
                                "%s: must be an object with a string "
                                "'type'", param);
    }

    chaton_try(chaton_conv_image(ps->req, ps->scratch, ps->conf, ps->param,
                                 ps->err, &img));

    if (strcmp(type->valuestring, "url") == 0) {
        v = chaton_json_get(src, "url");

        if (!cJSON_IsString(v)
            || !chaton_conv_http_url((const unsigned char *) v->valuestring,
                                     strlen(v->valuestring)))
        {
            (void) strcat(param, ".url");
            return chaton_error_set(ps->err, 400, param, "invalid_image_url",
                                    "%s: must be an http(s) URL", param);
        }

        img->url = chaton_conv_copy(ps->scratch, v->valuestring,
                                    &img->url_len);
        if (img->url == NULL) {
            return CHATON_ERROR;
        }

        ps->req->nimages++;
        msg->nimages++;

        return CHATON_OK;
    }

    if (strcmp(type->valuestring, "base64") != 0) {
        (void) strcat(param, ".type");
        return chaton_error_set(ps->err, 400, param, NULL,
                                "%s: must be 'base64' or 'url'", param);
    }

    v = chaton_json_get(src, "media_type");

    mime = cJSON_IsString(v)
           ? chaton_dataurl_type((const unsigned char *) v->valuestring,
                                 strlen(v->valuestring))
           : NULL;

    if (mime == NULL) {
        (void) strcat(param, ".media_type");
        return chaton_error_set(ps->err, 400, param, "invalid_image_format",
                                "%s: must be image/jpeg, image/png, "
                                "image/gif or image/webp", param);
    }

    (void) strcat(param, ".data");

    v = chaton_json_get(src, "data");

    if (!cJSON_IsString(v)) {
        return chaton_error_set(ps->err, 400, param, NULL,
                                "%s: must be a string of base64", param);
    }

    chaton_buf_init(&data, ps->scratch, 0);

    rc = chaton_dataurl_base64(&data, (const unsigned char *) v->valuestring,
                               strlen(v->valuestring), ps->conf->max_image);

    switch (rc) {

    case CHATON_OK:
        img->mime = mime->mime;
        img->ext = mime->ext;
        img->data = data.data;
        img->data_len = data.len;
        ps->req->nimages++;
        msg->nimages++;
        return CHATON_OK;

    case CHATON_DATAURL_EMPTY:
        return chaton_error_set(ps->err, 400, param, "invalid_image_url",
                                "%s: the image is empty", param);

    case CHATON_DATAURL_NOT_BASE64:
        return chaton_error_set(ps->err, 400, param, "invalid_image_url",
                                "%s: is not base64", param);

    case CHATON_DATAURL_TOO_BIG:
        return chaton_error_set(ps->err, 400, param, "image_too_large",
                                "%s: the image is larger than %zu bytes",
                                param, ps->conf->max_image);
    }

    return CHATON_ERROR;
}


/* {"type": "tool_use", "id", "name", "input": {...}}: a call, n-th */

static int
chaton_an_tool_use(chaton_an_parse_t *ps, cJSON *block,
    chaton_message_t *msg, size_t n)
{
    cJSON          *v;
    char            param[128];
    chaton_call_t  *c;

    c = &msg->calls[n];

    chaton_try(chaton_an_string(ps, block, "id", &c->id, &c->id_len));
    chaton_try(chaton_an_string(ps, block, "name", &c->name, &c->name_len));

    v = chaton_json_get(block, "input");

    if (!cJSON_IsObject(v)) {
        (void) snprintf(param, sizeof(param), "%s.input", ps->param);
        return chaton_error_set(ps->err, 400, param, NULL,
                                "%s: must be an object", param);
    }

    c->arguments = chaton_conv_json_text(ps->scratch, v, &c->arguments_len);
    if (c->arguments == NULL) {
        return CHATON_ERROR;
    }

    msg->ncalls++;

    return CHATON_OK;
}


/*
 * {"type": "tool_result", "tool_use_id", "content", "is_error"}: the
 * result of a call of an earlier assistant message, in the tools' format;
 * an error says so in front of its text.
 */

static int
chaton_an_tool_result(chaton_an_parse_t *ps, cJSON *block,
    chaton_message_t *msg, chaton_buf_t *text)
{
    cJSON                *v;
    size_t                plen;
    chaton_buf_t          content, blocks;
    const chaton_call_t  *call;

    plen = strlen(ps->param);

    (void) strcat(ps->param, ".tool_use_id");

    v = chaton_json_get(block, "tool_use_id");

    if (!cJSON_IsString(v)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "%s: must be a string", ps->param);
    }

    call = chaton_conv_find_call(ps->req, v->valuestring, NULL);

    if (call == NULL) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "%s: answers no tool_use block of an "
                                "earlier assistant message", ps->param);
    }

    ps->param[plen] = '\0';
    (void) strcat(ps->param, ".is_error");

    v = chaton_json_get(block, "is_error");

    if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "%s: must be a boolean", ps->param);
    }

    chaton_buf_init(&content, ps->scratch, 0);

    if (cJSON_IsTrue(v)) {
        chaton_try(chaton_buf_literal(&content, "Error: "));
    }


    ps->param[plen] = '\0';
    (void) strcat(ps->param, ".content");

    v = chaton_json_get(block, "content");

    if (cJSON_IsString(v)) {
        chaton_try(chaton_buf_append_str(&content, v->valuestring));

    } else if (cJSON_IsArray(v)) {
        chaton_buf_init(&blocks, ps->scratch, 0);
        chaton_try(chaton_an_text(ps, v, msg, &blocks, 1));
        chaton_try(chaton_buf_append(&content, blocks.data, blocks.len));

    } else if (v && !cJSON_IsNull(v)) {
        return chaton_error_set(ps->err, 400, ps->param, NULL,
                                "%s: must be a string or an array of "
                                "blocks", ps->param);
    }

    ps->param[plen] = '\0';

    if (text->len) {
        chaton_try(chaton_buf_literal(text, "\n\n"));
    }

    chaton_try(chaton_conv_nonce(ps->req, ps->conf));

    return chaton_tools_history_result(text, ps->req->tools.nonce,
                                       call->id, call->id_len, call->name,
                                       call->name_len, content.data,
                                       content.len);
}


/* a member that must be a non-empty string, copied; ps->param names o */

static int
chaton_an_string(chaton_an_parse_t *ps, cJSON *o, const char *key,
    const unsigned char **s, size_t *len)
{
    cJSON  *v;
    char    param[128];

    v = chaton_json_get(o, key);

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        (void) snprintf(param, sizeof(param), "%s.%s", ps->param, key);
        return chaton_error_set(ps->err, 400, param, NULL,
                                "%s: must be a non-empty string", param);
    }

    *s = chaton_conv_copy(ps->scratch, v->valuestring, len);

    return *s ? CHATON_OK : CHATON_ERROR;
}


/* an optional object member: *v is NULL when it is absent or null */

static int
chaton_an_object(chaton_an_parse_t *ps, cJSON *root, const char *name,
    cJSON **v)
{
    *v = chaton_json_get(root, name);

    if (*v == NULL || cJSON_IsNull(*v)) {
        *v = NULL;
        return CHATON_OK;
    }

    if (!cJSON_IsObject(*v)) {
        return chaton_error_set(ps->err, 400, name, NULL,
                                "%s: must be an object", name);
    }

    return CHATON_OK;
}


/* text blocks are paragraphs: joined with a blank line */

static int
chaton_an_append(chaton_buf_t *b, const char *s)
{
    if (s[0] == '\0') {
        return CHATON_OK;
    }

    if (b->len) {
        chaton_try(chaton_buf_literal(b, "\n\n"));
    }

    return chaton_buf_append_str(b, s);
}


/* an optional number in [min, max]; an integer if integer is set */

static int
chaton_an_number(chaton_an_parse_t *ps, cJSON *root, const char *name,
    double min, double max, int integer)
{
    cJSON  *v;

    v = chaton_json_get(root, name);

    if (v == NULL || cJSON_IsNull(v)) {
        return CHATON_OK;
    }

    if (!cJSON_IsNumber(v) || isnan(v->valuedouble)
        || v->valuedouble < min || v->valuedouble > max
        || (integer && v->valuedouble != floor(v->valuedouble)))
    {
        return chaton_error_set(ps->err, 400, name, NULL,
                                "%s: must be %s from %g to %g", name,
                                integer ? "an integer" : "a number", min,
                                max);
    }

    return CHATON_OK;
}


/* ---- the writer ---------------------------------------------------------- */


#define CHATON_AN_NONE      0
#define CHATON_AN_TEXT      1
#define CHATON_AN_THINKING  2


static int chaton_an_text_op(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_an_escaped(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_an_reasoning(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_an_tool_call(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_tool_call_t *call);
static int chaton_an_end(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_outcome_t *o);
static int chaton_an_error(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_error_t *e);
static int chaton_an_start_op(chaton_writer_t *w, chaton_buf_t *out);
static int chaton_an_emit(chaton_anthropic_t *an, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_an_stop_text(chaton_anthropic_t *an, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static const chaton_stop_t *chaton_an_stop_find(chaton_anthropic_t *an,
    const unsigned char *s, size_t len, size_t *at);
static size_t chaton_an_stop_prefix(chaton_anthropic_t *an,
    const unsigned char *s, size_t len);
static int chaton_an_flush(chaton_anthropic_t *an, chaton_buf_t *out);
static int chaton_an_start(chaton_anthropic_t *an, chaton_buf_t *out);
static int chaton_an_open(chaton_anthropic_t *an, chaton_buf_t *out,
    int block);
static int chaton_an_close(chaton_anthropic_t *an, chaton_buf_t *out);
static int chaton_an_event(chaton_anthropic_t *an, chaton_buf_t *out,
    const char *name);
static int chaton_an_delta(chaton_anthropic_t *an, chaton_buf_t *out,
    const char *type);
static int chaton_an_tool_use_block(chaton_buf_t *b,
    const chaton_tool_call_t *call, int whole);
static int chaton_an_usage(chaton_buf_t *b, uint64_t input,
    uint64_t output);
static int chaton_an_message_head(chaton_anthropic_t *an, chaton_buf_t *b);
static int chaton_an_stop_reason(chaton_anthropic_t *an, chaton_buf_t *b,
    const chaton_outcome_t *o);
static int chaton_an_message_whole(chaton_anthropic_t *an, chaton_buf_t *b,
    const chaton_outcome_t *o);


static const chaton_writer_ops_t  chaton_anthropic_ops = {
    chaton_an_text_op,
    chaton_an_escaped,
    chaton_an_reasoning,
    chaton_an_tool_call,
    chaton_an_end,
    chaton_an_error,
    chaton_an_start_op
};


int
chaton_anthropic_init(chaton_anthropic_t *an, chaton_alloc_t *a,
    const unsigned char *id, size_t id_len, const unsigned char *model,
    size_t model_len, size_t max_answer, int stream,
    const chaton_chat_req_t *req)
{
    memset(an, 0, sizeof(chaton_anthropic_t));

    an->w.ops = &chaton_anthropic_ops;
    an->w.stream = stream ? 1 : 0;
    an->alloc = a;
    an->id = id;
    an->id_len = id_len;
    an->model = model;
    an->model_len = model_len;

    if (req) {
        an->input_tokens = chaton_usage_tokens(&req->prompt);
        an->stop = req->stop;
        an->nstop = req->nstop;
    }

    chaton_buf_init(&an->hold, a, 0);
    chaton_buf_init(&an->scan, a, 0);
    chaton_buf_init(&an->text, a, max_answer);
    chaton_buf_init(&an->thinking, a, max_answer);
    chaton_buf_init(&an->calls, a, max_answer);
    chaton_buf_init(&an->head, a, 0);

    an->tail.data = (unsigned char *) "\"}}\n\n";
    an->tail.len = sizeof("\"}}\n\n") - 1;

    /* a whole answer takes text in JSON's form as it is, unless it must
     * be read for stop sequences */

    an->w.ready = (!stream && an->nstop == 0);

    return CHATON_OK;
}


int
chaton_anthropic_ping(chaton_buf_t *b)
{
    return chaton_buf_literal(b, "event: ping\ndata: {\"type\": \"ping\"}\n\n");
}


const char *
chaton_anthropic_error_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 504:
        return "timeout_error";
    case 529:
        return "overloaded_error";
    }

    return status >= 500 ? "api_error" : "invalid_request_error";
}


static int
chaton_an_text_op(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    chaton_anthropic_t  *an = (chaton_anthropic_t *) w;

    /* after a stop sequence the answer is over for the client */

    if (an->met) {
        return CHATON_OK;
    }

    if (an->nstop) {
        return chaton_an_stop_text(an, out, s, len);
    }

    return chaton_an_emit(an, out, s, len);
}


/* the fast path: text in JSON's form into an open text block as it is */

static int
chaton_an_escaped(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    chaton_anthropic_t  *an = (chaton_anthropic_t *) w;

    if (!w->stream) {
        return chaton_buf_append(&an->text, s, len);
    }

    /*
     * The open block's text_delta is the same but for its text: written
     * once, it is the writer's common chunk (w->head, w->tail), which the
     * translator may write itself until the block closes.
     */

    if (an->w.head == NULL) {
        an->head.len = 0;
        chaton_try(chaton_an_delta(an, &an->head,
                                   "text_delta\",\"text\":\""));
        an->w.chunks--;     /* counted as each chunk is written */
    }

    chaton_try(chaton_buf_reserve(out, an->head.len + len + an->tail.len));
    chaton_try(chaton_buf_append(out, an->head.data, an->head.len));
    chaton_try(chaton_buf_append(out, s, len));
    chaton_try(chaton_buf_append(out, an->tail.data, an->tail.len));

    an->w.chunks++;
    an->w.head = &an->head;
    an->w.tail = &an->tail;

    return CHATON_OK;
}


/* the text the client sees, unescaped: a text_delta, or the whole's text */

static int
chaton_an_emit(chaton_anthropic_t *an, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    if (len == 0) {
        return CHATON_OK;
    }

    if (!an->w.stream) {
        return chaton_json_escape(&an->text, s, len);
    }

    chaton_try(chaton_an_open(an, out, CHATON_AN_TEXT));
    chaton_try(chaton_an_delta(an, out, "text_delta\",\"text\":"));
    chaton_try(chaton_json_string(out, s, len));

    return chaton_buf_literal(out, "}}\n\n");
}


/*
 * Text read for stop sequences: what is before the first one met goes
 * out, the rest of the answer's text is dropped; held back is only the
 * end of the text that could still begin one (less than the longest).
 */

static int
chaton_an_stop_text(chaton_anthropic_t *an, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    size_t                at, keep;
    const chaton_stop_t  *met;

    if (an->hold.len) {
        an->scan.len = 0;
        chaton_try(chaton_buf_append(&an->scan, an->hold.data,
                                     an->hold.len));
        chaton_try(chaton_buf_append(&an->scan, s, len));

        an->hold.len = 0;
        s = an->scan.data;
        len = an->scan.len;
    }

    met = chaton_an_stop_find(an, s, len, &at);

    if (met) {
        an->met = met;
        return chaton_an_emit(an, out, s, at);
    }

    keep = chaton_an_stop_prefix(an, s, len);

    chaton_try(chaton_an_emit(an, out, s, len - keep));

    return chaton_buf_append(&an->hold, s + len - keep, keep);
}


/*
 * The stop sequence the text meets first, as if it came byte by byte: the
 * one that ends first (and of those the longest); *at is where it begins.
 */

static const chaton_stop_t *
chaton_an_stop_find(chaton_anthropic_t *an, const unsigned char *s,
    size_t len, size_t *at)
{
    size_t                k, i, end;
    const chaton_stop_t  *st, *best;

    best = NULL;
    end = SIZE_MAX;
    *at = 0;

    for (k = 0; k < an->nstop; k++) {
        st = &an->stop[k];

        for (i = 0; i + st->len <= len && i + st->len <= end; i++) {
            if (s[i] == st->data[0]
                && memcmp(s + i, st->data, st->len) == 0)
            {
                break;
            }
        }

        if (i + st->len > len || i + st->len > end) {
            continue;       /* not in the text, or ends after the best */
        }

        if (i + st->len < end || i < *at) {
            best = st;
            end = i + st->len;
            *at = i;
        }
    }

    return best;
}


/* how many bytes at the end of the text begin a stop sequence */

static size_t
chaton_an_stop_prefix(chaton_anthropic_t *an, const unsigned char *s,
    size_t len)
{
    size_t  k, keep;

    for (keep = len < CHATON_ANTHROPIC_MAX_STOP_LEN
                ? len : CHATON_ANTHROPIC_MAX_STOP_LEN;
         keep > 0;
         keep--)
    {
        for (k = 0; k < an->nstop; k++) {
            if (an->stop[k].len > keep
                && memcmp(an->stop[k].data, s + len - keep, keep) == 0)
            {
                return keep;
            }
        }
    }

    return 0;
}


/* held text that no stop sequence followed: the client's after all */

static int
chaton_an_flush(chaton_anthropic_t *an, chaton_buf_t *out)
{
    size_t  n;

    n = an->hold.len;

    if (n == 0 || an->met) {
        return CHATON_OK;
    }

    an->hold.len = 0;

    return chaton_an_emit(an, out, an->hold.data, n);
}


static int
chaton_an_reasoning(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    chaton_anthropic_t  *an = (chaton_anthropic_t *) w;

    if (an->met || len == 0) {
        return CHATON_OK;
    }

    if (!w->stream) {
        return chaton_json_escape(&an->thinking, s, len);
    }

    chaton_try(chaton_an_flush(an, out));
    chaton_try(chaton_an_open(an, out, CHATON_AN_THINKING));
    chaton_try(chaton_an_delta(an, out,
                               "thinking_delta\",\"thinking\":"));
    chaton_try(chaton_json_string(out, s, len));

    return chaton_buf_literal(out, "}}\n\n");
}


/* a call, whole: in a stream its block with all its input in one delta */

static int
chaton_an_tool_call(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_tool_call_t *call)
{
    chaton_anthropic_t  *an = (chaton_anthropic_t *) w;

    if (an->met) {
        return CHATON_OK;
    }

    chaton_try(chaton_an_flush(an, out));

    if (!w->stream) {
        if (an->calls.len) {
            chaton_try(chaton_buf_literal(&an->calls, ","));
        }

        return chaton_an_tool_use_block(&an->calls, call, 1);
    }

    chaton_try(chaton_an_start(an, out));
    chaton_try(chaton_an_close(an, out));

    chaton_try(chaton_an_event(an, out, "content_block_start"));
    chaton_try(chaton_buf_literal(out, "{\"type\":\"content_block_start\","
                                       "\"index\":"));
    chaton_try(chaton_buf_append_uint(out, an->index));
    chaton_try(chaton_buf_literal(out, ",\"content_block\":"));
    chaton_try(chaton_an_tool_use_block(out, call, 0));
    chaton_try(chaton_buf_literal(out, "}\n\n"));

    chaton_try(chaton_an_delta(an, out,
                               "input_json_delta\",\"partial_json\":"));
    chaton_try(chaton_json_string(out, call->arguments, call->arguments_len));
    chaton_try(chaton_buf_literal(out, "}}\n\n"));

    an->blocks = 1;
    an->block = CHATON_AN_NONE;

    chaton_try(chaton_an_event(an, out, "content_block_stop"));
    chaton_try(chaton_buf_literal(out, "{\"type\":\"content_block_stop\","
                                       "\"index\":"));
    chaton_try(chaton_buf_append_uint(out, an->index++));

    return chaton_buf_literal(out, "}\n\n");
}


/*
 * {"type":"tool_use","id","name","input"}: the input is the arguments
 * (a whole answer's) or {} (a stream's start; its delta brings them).
 * The id is the call's, "toolu_" for its "call_", as Anthropic's look.
 */

static int
chaton_an_tool_use_block(chaton_buf_t *b, const chaton_tool_call_t *call,
    int whole)
{
    chaton_try(chaton_buf_literal(b, "{\"type\":\"tool_use\",\"id\":"));

    if (call->id_len > 5 && memcmp(call->id, "call_", 5) == 0) {
        chaton_try(chaton_buf_literal(b, "\"toolu_"));
        chaton_try(chaton_json_escape(b, call->id + 5, call->id_len - 5));
        chaton_try(chaton_buf_literal(b, "\""));

    } else {
        chaton_try(chaton_json_string(b, call->id, call->id_len));
    }

    chaton_try(chaton_buf_literal(b, ",\"name\":"));
    chaton_try(chaton_json_string(b, call->name, call->name_len));
    chaton_try(chaton_buf_literal(b, ",\"input\":"));

    if (whole) {
        chaton_try(chaton_buf_append(b, call->arguments,
                                     call->arguments_len));

    } else {
        chaton_try(chaton_buf_literal(b, "{}"));
    }

    return chaton_buf_literal(b, "}");
}


static int
chaton_an_end(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_outcome_t *o)
{
    chaton_anthropic_t  *an = (chaton_anthropic_t *) w;

    chaton_try(chaton_an_flush(an, out));

    if (!w->stream) {
        return chaton_an_message_whole(an, out, o);
    }

    chaton_try(chaton_an_start(an, out));

    /* an answer without content still has its (empty) text block */

    if (!an->blocks) {
        chaton_try(chaton_an_open(an, out, CHATON_AN_TEXT));
    }

    chaton_try(chaton_an_close(an, out));

    chaton_try(chaton_an_event(an, out, "message_delta"));
    chaton_try(chaton_buf_literal(out, "{\"type\":\"message_delta\","
                                       "\"delta\":{"));
    chaton_try(chaton_an_stop_reason(an, out, o));
    chaton_try(chaton_buf_literal(out, "},\"usage\":{\"input_tokens\":"));
    chaton_try(chaton_buf_append_uint(out, o->prompt_tokens));
    chaton_try(chaton_buf_literal(out, ",\"output_tokens\":"));
    chaton_try(chaton_buf_append_uint(out, o->completion_tokens));
    chaton_try(chaton_buf_literal(out, "}}\n\n"));

    chaton_try(chaton_an_event(an, out, "message_stop"));

    return chaton_buf_literal(out, "{\"type\":\"message_stop\"}\n\n");
}


/* "stop_reason":...,"stop_sequence":... */

static int
chaton_an_stop_reason(chaton_anthropic_t *an, chaton_buf_t *b,
    const chaton_outcome_t *o)
{
    const char  *reason;

    if (an->met) {
        chaton_try(chaton_buf_literal(b, "\"stop_reason\":\"stop_sequence\","
                                         "\"stop_sequence\":"));
        return chaton_json_string(b, an->met->data, an->met->len);
    }

    if (strcmp(o->finish, "length") == 0) {
        reason = "max_tokens";

    } else if (strcmp(o->finish, "tool_calls") == 0) {
        reason = "tool_use";

    } else {
        reason = "end_turn";
    }

    chaton_try(chaton_buf_literal(b, "\"stop_reason\":"));
    chaton_try(chaton_json_cstring(b, reason));

    return chaton_buf_literal(b, ",\"stop_sequence\":null");
}


static int
chaton_an_usage(chaton_buf_t *b, uint64_t input, uint64_t output)
{
    chaton_try(chaton_buf_literal(b, "\"usage\":{\"input_tokens\":"));
    chaton_try(chaton_buf_append_uint(b, input));
    chaton_try(chaton_buf_literal(b, ",\"cache_creation_input_tokens\":0,"
                                     "\"cache_read_input_tokens\":0,"
                                     "\"output_tokens\":"));
    chaton_try(chaton_buf_append_uint(b, output));

    return chaton_buf_literal(b, "}");
}


/* {"id","type","role","model" then content: what message_start has */

static int
chaton_an_message_head(chaton_anthropic_t *an, chaton_buf_t *b)
{
    chaton_try(chaton_buf_literal(b, "{\"id\":"));
    chaton_try(chaton_json_string(b, an->id, an->id_len));
    chaton_try(chaton_buf_literal(b, ",\"type\":\"message\","
                                     "\"role\":\"assistant\",\"model\":"));
    chaton_try(chaton_json_string(b, an->model, an->model_len));

    return chaton_buf_literal(b, ",\"content\":[");
}


/* the whole answer: thinking, text, the calls; never no block at all */

static int
chaton_an_message_whole(chaton_anthropic_t *an, chaton_buf_t *b,
    const chaton_outcome_t *o)
{
    int  sep;

    chaton_try(chaton_buf_reserve(b, an->text.len + an->thinking.len
                                     + an->calls.len + 512));

    chaton_try(chaton_an_message_head(an, b));

    sep = 0;

    if (an->thinking.len) {
        chaton_try(chaton_buf_literal(b, "{\"type\":\"thinking\","
                                         "\"thinking\":\""));
        chaton_try(chaton_buf_append(b, an->thinking.data,
                                     an->thinking.len));
        chaton_try(chaton_buf_literal(b, "\",\"signature\":\"\"}"));
        sep = 1;
    }

    if (an->text.len || (!sep && an->calls.len == 0)) {
        if (sep) {
            chaton_try(chaton_buf_literal(b, ","));
        }

        chaton_try(chaton_buf_literal(b, "{\"type\":\"text\",\"text\":\""));
        chaton_try(chaton_buf_append(b, an->text.data, an->text.len));
        chaton_try(chaton_buf_literal(b, "\"}"));
        sep = 1;
    }

    if (an->calls.len) {
        if (sep) {
            chaton_try(chaton_buf_literal(b, ","));
        }

        chaton_try(chaton_buf_append(b, an->calls.data, an->calls.len));
    }

    chaton_try(chaton_buf_literal(b, "],"));
    chaton_try(chaton_an_stop_reason(an, b, o));
    chaton_try(chaton_buf_literal(b, ","));
    chaton_try(chaton_an_usage(b, o->prompt_tokens, o->completion_tokens));

    return chaton_buf_literal(b, "}");
}


static int
chaton_an_error(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_error_t *e)
{
    chaton_anthropic_t  *an = (chaton_anthropic_t *) w;

    /* the one writer of Anthropic's errors, as an event of the stream */

    chaton_try(chaton_an_event(an, out, "error"));
    chaton_try(chaton_error_anthropic_json(out, e));

    return chaton_buf_literal(out, "\n\n");
}


/* message_start, once, before anything else of the stream */

static int
chaton_an_start(chaton_anthropic_t *an, chaton_buf_t *out)
{
    if (an->started) {
        return CHATON_OK;
    }

    an->started = 1;

    chaton_try(chaton_an_event(an, out, "message_start"));
    chaton_try(chaton_buf_literal(out, "{\"type\":\"message_start\","
                                       "\"message\":"));
    chaton_try(chaton_an_message_head(an, out));
    chaton_try(chaton_buf_literal(out, "],\"stop_reason\":null,"
                                       "\"stop_sequence\":null,"));
    chaton_try(chaton_an_usage(out, an->input_tokens, 0));

    return chaton_buf_literal(out, "}}\n\n");
}


/* message_start before a heartbeat that comes first: no event precedes it */

static int
chaton_an_start_op(chaton_writer_t *w, chaton_buf_t *out)
{
    return chaton_an_start((chaton_anthropic_t *) w, out);
}


/* a text or thinking block, open after this (the other one closed) */

static int
chaton_an_open(chaton_anthropic_t *an, chaton_buf_t *out, int block)
{
    if (an->block == block) {
        return CHATON_OK;
    }

    chaton_try(chaton_an_start(an, out));
    chaton_try(chaton_an_close(an, out));

    chaton_try(chaton_an_event(an, out, "content_block_start"));
    chaton_try(chaton_buf_literal(out, "{\"type\":\"content_block_start\","
                                       "\"index\":"));
    chaton_try(chaton_buf_append_uint(out, an->index));

    if (block == CHATON_AN_TEXT) {
        chaton_try(chaton_buf_literal(out, ",\"content_block\":"
                                           "{\"type\":\"text\","
                                           "\"text\":\"\"}}\n\n"));
    } else {
        chaton_try(chaton_buf_literal(out, ",\"content_block\":"
                                           "{\"type\":\"thinking\","
                                           "\"thinking\":\"\","
                                           "\"signature\":\"\"}}\n\n"));
    }

    an->block = block;
    an->blocks = 1;
    an->w.ready = (block == CHATON_AN_TEXT && an->nstop == 0);

    return CHATON_OK;
}


/* the open block's end; a thinking block's signature comes just before */

static int
chaton_an_close(chaton_anthropic_t *an, chaton_buf_t *out)
{
    if (an->block == CHATON_AN_NONE) {
        return CHATON_OK;
    }

    if (an->block == CHATON_AN_THINKING) {
        chaton_try(chaton_an_delta(an, out,
                                   "signature_delta\",\"signature\":\"\""));
        chaton_try(chaton_buf_literal(out, "}}\n\n"));
    }

    chaton_try(chaton_an_event(an, out, "content_block_stop"));
    chaton_try(chaton_buf_literal(out, "{\"type\":\"content_block_stop\","
                                       "\"index\":"));
    chaton_try(chaton_buf_append_uint(out, an->index++));

    an->block = CHATON_AN_NONE;
    an->w.ready = 0;
    an->w.head = NULL;

    return chaton_buf_literal(out, "}\n\n");
}


/* "event: NAME\ndata: ": one more event for the client */

static int
chaton_an_event(chaton_anthropic_t *an, chaton_buf_t *out, const char *name)
{
    an->w.chunks++;

    chaton_try(chaton_buf_literal(out, "event: "));
    chaton_try(chaton_buf_append_str(out, name));

    return chaton_buf_literal(out, "\ndata: ");
}


/* a content_block_delta of the open block up to its delta's type's end */

static int
chaton_an_delta(chaton_anthropic_t *an, chaton_buf_t *out, const char *type)
{
    chaton_try(chaton_an_event(an, out, "content_block_delta"));
    chaton_try(chaton_buf_literal(out, "{\"type\":\"content_block_delta\","
                                       "\"index\":"));
    chaton_try(chaton_buf_append_uint(out, an->index));
    chaton_try(chaton_buf_literal(out, ",\"delta\":{\"type\":\""));

    return chaton_buf_append_str(out, type);
}
