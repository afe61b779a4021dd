/*
 * Tool calling, the request side: the instructions that offer the tools and
 * say how to call them, the history written back in the same format, the
 * response_format instructions, and two helpers of the answer side (the
 * JSON minifier, the unfencing of a whole answer).
 *
 * Why the format is what it is (README, "Tool calling"): models know the
 * <tool_call>{"name": ..., "arguments": {...}}</tool_call> shape from their
 * training more than any other, so ours is that shape with the request's
 * nonce in the tag; the rules name what models get wrong most (fences, a
 * call described instead of made, a result made up after the call).
 */

#include <openssl/rand.h>

#include <cjson/cJSON.h>

#include "chaton.h"
#include "chaton_tools.h"


static int chaton_tools_tag(chaton_buf_t *b, const char *open,
    const unsigned char *nonce, const char *close);
static int chaton_tools_list(chaton_buf_t *b, const chaton_tools_t *t);
static int chaton_tools_format(chaton_buf_t *b, const chaton_tools_t *t);
static int chaton_tools_example(chaton_buf_t *b, const chaton_tools_t *t);
static int chaton_tools_example_args(chaton_buf_t *b,
    const chaton_tool_t *tool);
static int chaton_tools_example_value(chaton_buf_t *b, const cJSON *schema);
static int chaton_tools_result_form(chaton_buf_t *b,
    const unsigned char *nonce, const char *name);
static int chaton_tools_attr(chaton_buf_t *b, const char *attr,
    const unsigned char *v, size_t len);
static int chaton_tools_blank(unsigned char c);
static int chaton_tools_compact(chaton_buf_t *b, const unsigned char *s,
    size_t len);


static const char  chaton_tools_alphabet[] =
    "abcdefghijklmnopqrstuvwxyz0123456789";


/*
 * Eight characters of [a-z0-9] from the system's CSPRNG: 41 bits that the
 * user cannot guess, so no text of theirs can spell this request's tags.
 * Bytes of 252 and over are drawn again: 252 = 7 * 36 keeps them uniform.
 */

int
chaton_tools_nonce(unsigned char *nonce)
{
    size_t         n;
    unsigned char  r[32], *p, *end;

    n = 0;

    while (n < CHATON_TOOLS_NONCE_LEN) {
        if (RAND_bytes(r, sizeof(r)) != 1) {
            return CHATON_ERROR;
        }

        end = r + sizeof(r);

        for (p = r; p < end && n < CHATON_TOOLS_NONCE_LEN; p++) {
            if (*p < 252) {
                nonce[n++] = (unsigned char) chaton_tools_alphabet[*p % 36];
            }
        }
    }

    return CHATON_OK;
}


static int
chaton_tools_tag(chaton_buf_t *b, const char *open,
    const unsigned char *nonce, const char *close)
{
    chaton_try(chaton_buf_append_str(b, open));
    chaton_try(chaton_buf_append(b, nonce, CHATON_TOOLS_NONCE_LEN));

    return chaton_buf_append_str(b, close);
}


/*
 * The instructions: the tools, then how to call them, the choice's rule
 * last, nearest to the conversation, where models heed it most.  "none"
 * offers nothing and only says how earlier calls and results are written.
 */

int
chaton_tools_instructions(chaton_buf_t *b, const chaton_tools_t *t)
{
    if (t->choice == CHATON_TOOL_CHOICE_NONE) {
        chaton_try(chaton_buf_literal(b,
            "# Tool calls\n\n"
            "Earlier in this conversation, tools were called. A call is "
            "written as\n"));
        chaton_try(chaton_tools_tag(b, "<tool_call_", t->nonce,
                                    ">{\"name\": \"...\", \"arguments\": "
                                    "{...}}"));
        chaton_try(chaton_tools_tag(b, "</tool_call_", t->nonce, ">\n"));
        chaton_try(chaton_buf_literal(b, "and its result as\n"));
        chaton_try(chaton_tools_result_form(b, t->nonce, "..."));
        return chaton_buf_literal(b,
            "No tool can be called now: answer in text, without such "
            "tags.\n");
    }

    chaton_try(chaton_buf_literal(b,
        "# Tools\n\n"
        "You can call tools: functions that run outside this chat and "
        "send their results back to you. Call one when it helps to answer "
        "the user; otherwise answer as usual.\n\n"
        "The tools:\n\n"));

    chaton_try(chaton_tools_list(b, t));

    return chaton_tools_format(b, t);
}


static int
chaton_tools_list(chaton_buf_t *b, const chaton_tools_t *t)
{
    size_t                i, mark;
    const chaton_tool_t  *tool;

    for (i = 0; i < t->ntools; i++) {
        tool = &t->tools[i];

        chaton_try(chaton_buf_literal(b, "## "));
        chaton_try(chaton_buf_append(b, tool->name, tool->name_len));
        chaton_try(chaton_buf_literal(b, "\n"));

        if (tool->description_len) {
            chaton_try(chaton_buf_append(b, tool->description,
                                         tool->description_len));
            chaton_try(chaton_buf_literal(b, "\n"));
        }

        if (tool->parameters_len) {
            chaton_try(chaton_buf_literal(b, "Parameters (JSON Schema): "));

            /* compact: a pretty-printed schema costs the model's context */

            mark = b->len;

            if (chaton_tools_minify(b, tool->parameters, tool->parameters_len)
                != CHATON_OK)
            {
                b->len = mark;
                chaton_try(chaton_buf_append(b, tool->parameters,
                                             tool->parameters_len));
            }

            chaton_try(chaton_buf_literal(b, "\n"));

        } else {
            chaton_try(chaton_buf_literal(b, "No parameters.\n"));
        }

        chaton_try(chaton_buf_literal(b, "\n"));
    }

    return CHATON_OK;
}


static int
chaton_tools_format(chaton_buf_t *b, const chaton_tools_t *t)
{
    chaton_try(chaton_buf_literal(b,
        "# How to call a tool\n\n"
        "Write the call on its own line, in exactly this form:\n\n"));
    chaton_try(chaton_tools_example(b, t));

    chaton_try(chaton_buf_literal(b, "\n\n- Copy the tags "));
    chaton_try(chaton_tools_tag(b, "<tool_call_", t->nonce, ">"));
    chaton_try(chaton_buf_literal(b, " and "));
    chaton_try(chaton_tools_tag(b, "</tool_call_", t->nonce, ">"));
    chaton_try(chaton_buf_literal(b,
        " exactly as they are here.\n"
        "- Between them goes one JSON object: \"name\" is the name of a "
        "tool above, spelled exactly; \"arguments\" is a JSON object (not a "
        "string) with the arguments the tool's schema describes, or {} if "
        "it takes none. Write valid JSON: double quotes, and \\n for a new "
        "line inside a string.\n"));

    if (t->parallel) {
        chaton_try(chaton_buf_literal(b,
            "- To call several tools at once, write one such line for each "
            "call, one after the other.\n"));

    } else {
        chaton_try(chaton_buf_literal(b,
            "- Call at most one tool per answer: one such line. Call the "
            "next tool once the result of the first has come back.\n"));
    }

    chaton_try(chaton_buf_literal(b,
        "- You may write a short sentence before the first call. Write "
        "nothing after the last call: end your answer there and wait. The "
        "result of each call comes back to you in the next message, as:\n\n"));
    chaton_try(chaton_tools_result_form(b, t->nonce, "the tool's name"));

    chaton_try(chaton_buf_literal(b, "\n- Never write a "));
    chaton_try(chaton_tools_tag(b, "<tool_result_", t->nonce, ">"));
    chaton_try(chaton_buf_literal(b,
        " yourself, and never guess what a tool would return.\n"
        "- Do not put calls in a code block (```), do not write a call as "
        "bare JSON, and do not only say that you will call a tool: nothing "
        "but the tagged line calls it.\n"
        "- Earlier calls and results in this conversation are written in "
        "this same form.\n"));

    switch (t->choice) {

    case CHATON_TOOL_CHOICE_REQUIRED:
        return chaton_buf_literal(b,
            "- In this answer you must call at least one tool: do not answer "
            "in text only.\n");

    case CHATON_TOOL_CHOICE_FUNCTION:
        chaton_try(chaton_buf_literal(b,
            "- In this answer you must call the tool "));
        chaton_try(chaton_json_string(b, t->choice_name, t->choice_name_len));
        return chaton_buf_literal(b, ".\n");

    default:
        return CHATON_OK;
    }
}


/* <tool_result_N call_id="call_..." name="NAME">\nthe result\n</...> */

static int
chaton_tools_result_form(chaton_buf_t *b, const unsigned char *nonce,
    const char *name)
{
    chaton_try(chaton_tools_tag(b, "<tool_result_", nonce,
                                " call_id=\"call_...\" name=\""));
    chaton_try(chaton_buf_append_str(b, name));
    chaton_try(chaton_buf_literal(b, "\">\n...\n"));

    return chaton_tools_tag(b, "</tool_result_", nonce, ">\n");
}


/*
 * A call of the tool the choice names, or of the first: a real name and
 * the schema's own argument names show the model the form better than
 * placeholders it might copy.
 */

static int
chaton_tools_example(chaton_buf_t *b, const chaton_tools_t *t)
{
    size_t                i;
    const chaton_tool_t  *tool;

    tool = &t->tools[0];

    if (t->choice == CHATON_TOOL_CHOICE_FUNCTION) {
        for (i = 0; i < t->ntools; i++) {
            if (t->tools[i].name_len == t->choice_name_len
                && memcmp(t->tools[i].name, t->choice_name,
                          t->choice_name_len) == 0)
            {
                tool = &t->tools[i];
                break;
            }
        }
    }

    chaton_try(chaton_tools_tag(b, "<tool_call_", t->nonce, ">{\"name\": "));

    if (t->ntools == 0) {
        chaton_try(chaton_buf_literal(b, "\"...\", \"arguments\": {}}"));

    } else {
        chaton_try(chaton_json_string(b, tool->name, tool->name_len));
        chaton_try(chaton_buf_literal(b, ", \"arguments\": "));
        chaton_try(chaton_tools_example_args(b, tool));
        chaton_try(chaton_buf_literal(b, "}"));
    }

    return chaton_tools_tag(b, "</tool_call_", t->nonce, ">");
}


/* up to two of the schema's properties, the required ones first */

static int
chaton_tools_example_args(chaton_buf_t *b, const chaton_tool_t *tool)
{
    int           rc, n, pass;
    cJSON        *schema, *props, *req, *p, *r;
    const char   *key;

    schema = NULL;

    if (tool->parameters_len) {
        schema = chaton_json_parse(tool->parameters, tool->parameters_len);
    }

    props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    req = cJSON_GetObjectItemCaseSensitive(schema, "required");

    if (!cJSON_IsObject(props)) {
        props = NULL;
    }

    if (!cJSON_IsArray(req)) {
        req = NULL;
    }

    rc = chaton_buf_literal(b, "{");
    n = 0;

    for (pass = 0; pass < 2 && rc == CHATON_OK; pass++) {
        cJSON_ArrayForEach(p, props) {
            if (n == 2 || rc != CHATON_OK) {
                break;
            }

            key = p->string;

            /* pass 0: the required properties; pass 1: the others */

            cJSON_ArrayForEach(r, req) {
                if (cJSON_IsString(r) && strcmp(r->valuestring, key) == 0) {
                    break;
                }
            }

            if ((r != NULL) != (pass == 0)) {
                continue;
            }

            if (n++) {
                rc = chaton_buf_literal(b, ", ");
            }

            if (rc == CHATON_OK) {
                rc = chaton_json_cstring(b, key);
            }

            if (rc == CHATON_OK) {
                rc = chaton_buf_literal(b, ": ");
            }

            if (rc == CHATON_OK) {
                rc = chaton_tools_example_value(b, p);
            }
        }
    }

    cJSON_Delete(schema);

    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_buf_literal(b, "}");
}


static int
chaton_tools_example_value(chaton_buf_t *b, const cJSON *schema)
{
    cJSON       *type, *e;
    const char  *s;

    e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(schema, "enum"),
                           0);

    if (cJSON_IsString(e)) {
        return chaton_json_cstring(b, e->valuestring);
    }

    type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    s = cJSON_IsString(type) ? type->valuestring : "";

    if (strcmp(s, "integer") == 0 || strcmp(s, "number") == 0) {
        return chaton_buf_literal(b, "1");
    }

    if (strcmp(s, "boolean") == 0) {
        return chaton_buf_literal(b, "true");
    }

    if (strcmp(s, "array") == 0) {
        return chaton_buf_literal(b, "[]");
    }

    if (strcmp(s, "object") == 0) {
        return chaton_buf_literal(b, "{}");
    }

    return chaton_buf_literal(b, "\"...\"");
}


/*
 * An assistant's earlier call, in the answer format, so that the model
 * sees its own calls as it was told to write them.  The arguments are
 * compacted when they are JSON (the caller has checked that they are).
 */

int
chaton_tools_history_call(chaton_buf_t *b, const unsigned char *nonce,
    const unsigned char *name, size_t name_len, const unsigned char *args,
    size_t args_len)
{
    size_t  mark;

    chaton_try(chaton_tools_tag(b, "<tool_call_", nonce, ">{\"name\": "));
    chaton_try(chaton_json_string(b, name, name_len));
    chaton_try(chaton_buf_literal(b, ", \"arguments\": "));

    mark = b->len;

    if (args_len == 0) {
        chaton_try(chaton_buf_literal(b, "{}"));

    } else if (chaton_tools_minify(b, args, args_len) != CHATON_OK) {
        b->len = mark;
        chaton_try(chaton_buf_append(b, args, args_len));
    }

    return chaton_tools_tag(b, "}</tool_call_", nonce, ">");
}


/*
 * A tool's result: ChatOn knows no tool role, so it travels as a user
 * message's text, tagged with the nonce so that no text of the user's can
 * pass for a result, and naming the call it answers.  The attributes are
 * escaped as JSON strings are: a quote in an id cannot end the attribute.
 */

int
chaton_tools_history_result(chaton_buf_t *b, const unsigned char *nonce,
    const unsigned char *call_id, size_t call_id_len,
    const unsigned char *name, size_t name_len,
    const unsigned char *content, size_t content_len)
{
    chaton_try(chaton_tools_tag(b, "<tool_result_", nonce, ""));
    chaton_try(chaton_tools_attr(b, " call_id=\"", call_id, call_id_len));
    chaton_try(chaton_tools_attr(b, " name=\"", name, name_len));
    chaton_try(chaton_buf_literal(b, ">\n"));
    chaton_try(chaton_buf_append(b, content, content_len));
    chaton_try(chaton_buf_literal(b, "\n"));

    return chaton_tools_tag(b, "</tool_result_", nonce, ">");
}


static int
chaton_tools_attr(chaton_buf_t *b, const char *attr, const unsigned char *v,
    size_t len)
{
    if (len == 0) {
        return CHATON_OK;
    }

    chaton_try(chaton_buf_append_str(b, attr));
    chaton_try(chaton_json_escape(b, v, len));

    return chaton_buf_literal(b, "\"");
}


/* the id of the answer's index-th call: call_<nonce>_<index> */

int
chaton_tools_call_id(chaton_buf_t *b, const unsigned char *nonce,
    size_t index)
{
    chaton_try(chaton_tools_tag(b, "call_", nonce, "_"));

    return chaton_buf_append_uint(b, index);
}


/* response_format: json_object, and json_schema with its schema */

int
chaton_tools_json_object(chaton_buf_t *b)
{
    return chaton_buf_literal(b,
        "# Answer format\n\n"
        "Answer with one JSON object and nothing else: no text before or "
        "after it, no code block (```).\n");
}


int
chaton_tools_json_schema(chaton_buf_t *b, const unsigned char *name,
    size_t name_len, const unsigned char *schema, size_t schema_len)
{
    size_t  mark;

    chaton_try(chaton_tools_json_object(b));

    /* a json_schema without its schema asks for no more than an object */

    if (schema_len == 0) {
        return CHATON_OK;
    }

    chaton_try(chaton_buf_literal(b,
        "The object must match this JSON Schema"));

    if (name_len) {
        chaton_try(chaton_buf_literal(b, " (named "));
        chaton_try(chaton_json_string(b, name, name_len));
        chaton_try(chaton_buf_literal(b, ")"));
    }

    chaton_try(chaton_buf_literal(b, ": "));

    mark = b->len;

    if (chaton_tools_minify(b, schema, schema_len) != CHATON_OK) {
        b->len = mark;
        chaton_try(chaton_buf_append(b, schema, schema_len));
    }

    return chaton_buf_literal(b, "\n");
}


static int
chaton_tools_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/*
 * A whole answer that is exactly one fenced code block, white space around
 * it aside (```json\n...\n``` or ```\n...\n```): its inside.  Returns 1 and
 * sets the inside, or 0 when the answer is anything else (text around the
 * block, two blocks, no closing fence).
 */

int
chaton_tools_unfence(const unsigned char *s, size_t len,
    const unsigned char **inside, size_t *inside_len)
{
    const unsigned char  *p, *end, *body, *last;

    end = s + len;

    for (p = s; p < end && chaton_tools_blank(*p); p++) { /* void */ }
    while (end > p && chaton_tools_blank(end[-1])) { end--; }

    if (end - p < 7 || memcmp(p, "```", 3) != 0
        || memcmp(end - 3, "```", 3) != 0)
    {
        return 0;
    }

    /* the opening line: ``` and a language word at most */

    for (p += 3; p < end && chaton_tools_lang(*p); p++) { /* void */ }

    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) {
        p++;
    }

    if (p == end || *p != '\n') {
        return 0;
    }

    body = p + 1;
    last = end - 3;

    /* the closing fence starts its own line; no other fence line inside */

    if (last <= body || last[-1] != '\n') {
        return 0;
    }

    for (p = body; p < last; p++) {
        if ((p == body || p[-1] == '\n') && last - p >= 3
            && memcmp(p, "```", 3) == 0)
        {
            return 0;
        }
    }

    last--;

    if (last > body && last[-1] == '\r') {
        last--;
    }

    *inside = body;
    *inside_len = last - body;

    return 1;
}


/*
 * Appends JSON text without its insignificant white space, control
 * characters that models leave raw inside strings (a newline in code)
 * escaped.  CHATON_OK if the result is one valid JSON text; CHATON_BAD if
 * it is not (and any error) with b as it was.
 */

int
chaton_tools_minify(chaton_buf_t *b, const unsigned char *s, size_t len)
{
    int     rc;
    size_t  mark;

    mark = b->len;

    rc = chaton_tools_compact(b, s, len);

    if (rc == CHATON_OK
        && (b->len == mark
            || !chaton_json_strict(b->data + mark, b->len - mark)))
    {
        rc = CHATON_BAD;
    }

    if (rc != CHATON_OK) {
        b->len = mark;
    }

    return rc;
}


/* runs of bytes as they are, but blanks outside strings and raw controls */

static int
chaton_tools_compact(chaton_buf_t *b, const unsigned char *s, size_t len)
{
    int                   in_string;
    const unsigned char  *p, *run, *end;

    in_string = 0;
    end = s + len;
    run = s;

    for (p = s; p < end; p++) {

        if (!in_string) {
            if (chaton_tools_blank(*p)) {
                chaton_try(chaton_buf_append(b, run, p - run));
                run = p + 1;

            } else if (*p == '"') {
                in_string = 1;
            }

            continue;
        }

        if (*p == '\\' && p + 1 < end) {
            p++;

        } else if (*p == '"') {
            in_string = 0;

        } else if (*p < 0x20) {
            chaton_try(chaton_buf_append(b, run, p - run));
            chaton_try(chaton_json_escape(b, p, 1));
            run = p + 1;
        }
    }

    return chaton_buf_append(b, run, end - run);
}
