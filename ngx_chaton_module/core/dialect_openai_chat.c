/*
 * The OpenAI chat writer.  Stream mode writes each chunk once, into the
 * caller's buffer, between a head and a tail written once per stream: the
 * client gets one id, the model it asked for, the role in the first chunk
 * and exactly one finish_reason.  Whole mode keeps the text already
 * JSON-escaped, so the final object is assembled without a second pass.
 */

#include "dialect_openai_chat.h"
#include "chaton_tools.h"


static int chaton_openai_chat_text(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_openai_chat_escaped(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_openai_chat_reasoning(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len);
static int chaton_openai_chat_tool_call(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_tool_call_t *call);
static int chaton_openai_chat_end(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_outcome_t *o);
static int chaton_openai_chat_error(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_error_t *e);
static int chaton_openai_chat_head(chaton_openai_chat_t *oc,
    chaton_buf_t *out);
static int chaton_openai_chat_tail(chaton_openai_chat_t *oc,
    chaton_buf_t *out);
static int chaton_openai_chat_call(chaton_buf_t *b,
    const chaton_tool_call_t *call, int delta);
static int chaton_openai_chat_usage(chaton_buf_t *b,
    const chaton_outcome_t *o);
static int chaton_openai_chat_finish(chaton_openai_chat_t *oc,
    chaton_buf_t *b, const chaton_outcome_t *o);
static int chaton_openai_chat_completion(chaton_openai_chat_t *oc,
    chaton_buf_t *b, const chaton_outcome_t *o);
static int chaton_openai_chat_unfenced(chaton_openai_chat_t *oc);
static int chaton_openai_chat_prefix(chaton_openai_chat_t *oc,
    chaton_alloc_t *a, const unsigned char *id, size_t id_len,
    const unsigned char *model, size_t model_len, uint64_t created);


/* a text chunk's last bytes, with the usage member include_usage asks */

#define CHATON_OPENAI_CHAT_TAIL                                              \
    "\"},\"logprobs\":null,\"finish_reason\":null}]"

static const char  chaton_openai_chat_tail_plain[] =
    CHATON_OPENAI_CHAT_TAIL "}\n\n";
static const char  chaton_openai_chat_tail_usage[] =
    CHATON_OPENAI_CHAT_TAIL ",\"usage\":null}\n\n";


static const chaton_writer_ops_t  chaton_openai_chat_ops = {
    chaton_openai_chat_text,
    chaton_openai_chat_escaped,
    chaton_openai_chat_reasoning,
    chaton_openai_chat_tool_call,
    chaton_openai_chat_end,
    chaton_openai_chat_error,
    NULL                        /* the role goes in the first chunk */
};


int
chaton_openai_chat_init(chaton_openai_chat_t *oc, chaton_alloc_t *a,
    const unsigned char *id, size_t id_len, const unsigned char *model,
    size_t model_len, uint64_t created, size_t max_answer, int stream,
    int include_usage)
{
    chaton_openai_chat_whole_t  *wh;

    memset(oc, 0, sizeof(chaton_openai_chat_t));

    oc->w.ops = &chaton_openai_chat_ops;
    oc->w.stream = stream ? 1 : 0;
    oc->alloc = a;
    oc->include_usage = include_usage ? 1 : 0;

    if (stream) {
        return chaton_openai_chat_prefix(oc, a, id, id_len, model, model_len,
                                         created);
    }

    wh = a->alloc(a->pool, sizeof(chaton_openai_chat_whole_t));
    if (wh == NULL) {
        return CHATON_ERROR;
    }

    chaton_buf_init(&wh->content, a, max_answer);
    chaton_buf_init(&wh->reasoning, a, max_answer);
    chaton_buf_init(&wh->calls, a, max_answer);
    chaton_buf_init(&wh->raw, a, max_answer);

    wh->id = id;
    wh->id_len = id_len;
    wh->model = model;
    wh->model_len = model_len;
    wh->created = created;

    oc->whole = wh;

    return CHATON_OK;
}


/*
 * The parts every chunk of a stream shares, written once, and kept at
 * their size, for every open stream keeps them: built in room on the
 * stack first (a long model name's may spill to the allocator).  The id
 * and the model live on in the prefix only: the caller's may go.
 */

static int
chaton_openai_chat_prefix(chaton_openai_chat_t *oc, chaton_alloc_t *a,
    const unsigned char *id, size_t id_len, const unsigned char *model,
    size_t model_len, uint64_t created)
{
    unsigned char   room[320], *p;
    const char     *tail;
    chaton_alloc_t  spill;

    spill = *a;
    spill.free = NULL;          /* the room is no allocation of its */

    oc->prefix.data = room;
    oc->prefix.len = 0;
    oc->prefix.cap = sizeof(room);
    oc->prefix.max = 0;
    oc->prefix.alloc = &spill;

    chaton_try(chaton_buf_literal(&oc->prefix, "data: {\"id\":"));
    chaton_try(chaton_json_string(&oc->prefix, id, id_len));
    chaton_try(chaton_buf_literal(&oc->prefix,
                                  ",\"object\":\"chat.completion.chunk\","
                                  "\"created\":"));
    chaton_try(chaton_buf_append_uint(&oc->prefix, created));
    chaton_try(chaton_buf_literal(&oc->prefix, ",\"model\":"));
    chaton_try(chaton_json_string(&oc->prefix, model, model_len));
    chaton_try(chaton_buf_literal(&oc->prefix,
                                  ",\"system_fingerprint\":null,"
                                  "\"choices\":["));

    oc->choices = oc->prefix.len;

    chaton_try(chaton_buf_literal(&oc->prefix, "{\"index\":0,\"delta\":{"));

    /*
     * A chunk's head is the prefix to here; a text chunk's goes on with
     * the string's start, and its tail begins with the string's end: the
     * common chunk is the prefix, the text and the tail, whole.
     */

    oc->head_len = oc->prefix.len;

    chaton_try(chaton_buf_literal(&oc->prefix, "\"content\":\""));

    if (oc->prefix.data == room) {
        p = a->alloc(a->pool, oc->prefix.len);
        if (p == NULL) {
            return CHATON_ERROR;
        }

        memcpy(p, room, oc->prefix.len);
        oc->prefix.data = p;
        oc->prefix.cap = oc->prefix.len;
    }

    oc->prefix.alloc = a;

    /*
     * The tail is the same for every stream: the writer's, never written
     * to (it has no room of its own), so that a stream holds no copy
     */

    tail = oc->include_usage ? chaton_openai_chat_tail_usage
                             : chaton_openai_chat_tail_plain;

    chaton_buf_init(&oc->tail, a, 0);

    oc->tail.data = (unsigned char *) tail;
    oc->tail.len = strlen(tail);

    return CHATON_OK;
}

static int
chaton_openai_chat_text(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    chaton_openai_chat_t  *oc = (chaton_openai_chat_t *) w;

    if (!oc->content_seen && !chaton_blank(s, len)) {
        oc->content_seen = 1;
    }

    if (!w->stream) {
        return oc->unfence ? chaton_buf_append(&oc->whole->raw, s, len)
                           : chaton_json_escape(&oc->whole->content, s, len);
    }

    chaton_try(chaton_openai_chat_head(oc, out));
    chaton_try(chaton_buf_literal(out, "\"content\":\""));
    chaton_try(chaton_json_escape(out, s, len));
    chaton_try(chaton_buf_literal(out, "\""));
    chaton_try(chaton_openai_chat_tail(oc, out));

    w->chunks++;

    return CHATON_OK;
}


/*
 * The common chunk of a stream: one reservation, three copies.  After the
 * first, that is all it does, and the writer says so (w->head, w->tail):
 * the translator may write such chunks itself.
 */

static int
chaton_openai_chat_escaped(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    chaton_openai_chat_t  *oc = (chaton_openai_chat_t *) w;

    chaton_try(chaton_buf_reserve(out, oc->prefix.len + len + oc->tail.len));

    chaton_try(chaton_buf_append(out, oc->prefix.data, oc->prefix.len));
    chaton_try(chaton_buf_append(out, s, len));
    chaton_try(chaton_buf_append(out, oc->tail.data, oc->tail.len));

    oc->content_seen = 1;
    w->chunks++;

    w->head = &oc->prefix;
    w->tail = &oc->tail;

    return CHATON_OK;
}


static int
chaton_openai_chat_reasoning(chaton_writer_t *w, chaton_buf_t *out,
    const unsigned char *s, size_t len)
{
    chaton_openai_chat_t  *oc = (chaton_openai_chat_t *) w;

    if (!w->stream) {
        return chaton_json_escape(&oc->whole->reasoning, s, len);
    }

    chaton_try(chaton_openai_chat_head(oc, out));
    chaton_try(chaton_buf_literal(out, "\"content\":null,"
                                       "\"reasoning_content\":"));
    chaton_try(chaton_json_string(out, s, len));
    chaton_try(chaton_openai_chat_tail(oc, out));

    w->chunks++;

    return CHATON_OK;
}


/*
 * A call, whole: in a stream one chunk with its id, name and all its
 * arguments (clients join arguments from any number of chunks, one
 * included); in a whole answer a member of message.tool_calls.
 */

static int
chaton_openai_chat_tool_call(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_tool_call_t *call)
{
    chaton_openai_chat_t  *oc = (chaton_openai_chat_t *) w;

    if (!w->stream) {
        if (oc->whole->calls.len) {
            chaton_try(chaton_buf_literal(&oc->whole->calls, ","));
        }

        return chaton_openai_chat_call(&oc->whole->calls, call, 0);
    }

    chaton_try(chaton_openai_chat_head(oc, out));
    chaton_try(chaton_buf_literal(out, "\"content\":null,\"tool_calls\":["));
    chaton_try(chaton_openai_chat_call(out, call, 1));
    chaton_try(chaton_buf_literal(out, "]"));
    chaton_try(chaton_openai_chat_tail(oc, out));

    w->chunks++;

    return CHATON_OK;
}


static int
chaton_openai_chat_end(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_outcome_t *o)
{
    chaton_openai_chat_t  *oc = (chaton_openai_chat_t *) w;

    if (w->stream) {
        return chaton_openai_chat_finish(oc, out, o);
    }

    if (oc->unfence) {
        chaton_try(chaton_openai_chat_unfenced(oc));
    }

    return chaton_openai_chat_completion(oc, out, o);
}


/*
 * A JSON answer asked for (response_format) that the model wrapped in a
 * code fence anyway, as models do: the fence is taken off.
 */

static int
chaton_openai_chat_unfenced(chaton_openai_chat_t *oc)
{
    size_t                       n;
    const unsigned char         *s;
    chaton_openai_chat_whole_t  *wh = oc->whole;

    if (!chaton_tools_unfence(wh->raw.data, wh->raw.len, &s, &n)) {
        s = wh->raw.data;
        n = wh->raw.len;
    }

    return chaton_json_escape(&wh->content, s, n);
}


static int
chaton_openai_chat_error(chaton_writer_t *w, chaton_buf_t *out,
    const chaton_error_t *e)
{
    return chaton_error_event(out, e);
}


/* a chunk's head: the role goes in the first; then chunks may be copies */

static int
chaton_openai_chat_head(chaton_openai_chat_t *oc, chaton_buf_t *out)
{
    chaton_try(chaton_buf_append(out, oc->prefix.data, oc->head_len));

    if (!oc->role_sent) {
        chaton_try(chaton_buf_literal(out, "\"role\":\"assistant\","));
        oc->role_sent = 1;
        oc->w.ready = 1;
    }

    return CHATON_OK;
}


/* a chunk's tail: a text chunk's but its first byte, the closing quote */

static int
chaton_openai_chat_tail(chaton_openai_chat_t *oc, chaton_buf_t *out)
{
    return chaton_buf_append(out, oc->tail.data + 1, oc->tail.len - 1);
}


static int
chaton_openai_chat_call(chaton_buf_t *b, const chaton_tool_call_t *call,
    int delta)
{
    if (delta) {
        chaton_try(chaton_buf_literal(b, "{\"index\":"));
        chaton_try(chaton_buf_append_uint(b, call->index));
        chaton_try(chaton_buf_literal(b, ",\"id\":"));

    } else {
        chaton_try(chaton_buf_literal(b, "{\"id\":"));
    }

    chaton_try(chaton_json_string(b, call->id, call->id_len));
    chaton_try(chaton_buf_literal(b, ",\"type\":\"function\","
                                     "\"function\":{\"name\":"));
    chaton_try(chaton_json_string(b, call->name, call->name_len));
    chaton_try(chaton_buf_literal(b, ",\"arguments\":"));
    chaton_try(chaton_json_string(b, call->arguments, call->arguments_len));

    return chaton_buf_literal(b, "}}");
}


static int
chaton_openai_chat_usage(chaton_buf_t *b, const chaton_outcome_t *o)
{
    chaton_try(chaton_buf_literal(b, "{\"prompt_tokens\":"));
    chaton_try(chaton_buf_append_uint(b, o->prompt_tokens));
    chaton_try(chaton_buf_literal(b, ",\"completion_tokens\":"));
    chaton_try(chaton_buf_append_uint(b, o->completion_tokens));
    chaton_try(chaton_buf_literal(b, ",\"total_tokens\":"));
    chaton_try(chaton_buf_append_uint(b, o->prompt_tokens
                                         + o->completion_tokens));

    /* of completion_tokens, as OpenAI's reasoning models report them */

    if (o->reasoning_tokens) {
        chaton_try(chaton_buf_literal(b, ",\"completion_tokens_details\":"
                                         "{\"reasoning_tokens\":"));
        chaton_try(chaton_buf_append_uint(b, o->reasoning_tokens));
        chaton_try(chaton_buf_literal(b, "}"));
    }

    return chaton_buf_literal(b, "}");
}


/* stream mode: the finish_reason chunk, the usage chunk if asked, [DONE] */

static int
chaton_openai_chat_finish(chaton_openai_chat_t *oc, chaton_buf_t *b,
    const chaton_outcome_t *o)
{
    chaton_try(chaton_buf_append(b, oc->prefix.data, oc->head_len));

    /* an empty answer still tells the client whose turn it was */

    if (!oc->role_sent) {
        chaton_try(chaton_buf_literal(b, "\"role\":\"assistant\","
                                         "\"content\":\"\"}"));
        oc->role_sent = 1;

    } else {
        chaton_try(chaton_buf_literal(b, "}"));
    }

    chaton_try(chaton_buf_literal(b, ",\"logprobs\":null,\"finish_reason\":"));
    chaton_try(chaton_json_cstring(b, o->finish));
    chaton_try(chaton_buf_literal(b, "}]"));

    if (oc->include_usage) {
        chaton_try(chaton_buf_literal(b, ",\"usage\":null}\n\n"));
        chaton_try(chaton_buf_append(b, oc->prefix.data, oc->choices));
        chaton_try(chaton_buf_literal(b, "],\"usage\":"));
        chaton_try(chaton_openai_chat_usage(b, o));
        oc->w.chunks++;
    }

    chaton_try(chaton_buf_literal(b, "}\n\ndata: [DONE]\n\n"));

    oc->w.chunks++;

    return CHATON_OK;
}


/*
 * Whole mode: the one chat.completion object.  Content is null only when
 * the model called tools and wrote no text, as OpenAI answers.
 */

static int
chaton_openai_chat_completion(chaton_openai_chat_t *oc, chaton_buf_t *b,
    const chaton_outcome_t *o)
{
    chaton_openai_chat_whole_t  *wh = oc->whole;

    chaton_try(chaton_buf_reserve(b, wh->content.len + wh->reasoning.len
                                     + wh->calls.len + 512));

    chaton_try(chaton_buf_literal(b, "{\"id\":"));
    chaton_try(chaton_json_string(b, wh->id, wh->id_len));
    chaton_try(chaton_buf_literal(b, ",\"object\":\"chat.completion\","
                                     "\"created\":"));
    chaton_try(chaton_buf_append_uint(b, wh->created));
    chaton_try(chaton_buf_literal(b, ",\"model\":"));
    chaton_try(chaton_json_string(b, wh->model, wh->model_len));
    chaton_try(chaton_buf_literal(b, ",\"choices\":[{\"index\":0,"
                                     "\"message\":{\"role\":\"assistant\","
                                     "\"content\":"));

    if (wh->calls.len && !oc->content_seen) {
        chaton_try(chaton_buf_literal(b, "null"));

    } else {
        chaton_try(chaton_buf_literal(b, "\""));
        chaton_try(chaton_buf_append(b, wh->content.data, wh->content.len));
        chaton_try(chaton_buf_literal(b, "\""));
    }

    if (wh->reasoning.len) {
        chaton_try(chaton_buf_literal(b, ",\"reasoning_content\":\""));
        chaton_try(chaton_buf_append(b, wh->reasoning.data,
                                     wh->reasoning.len));
        chaton_try(chaton_buf_literal(b, "\""));
    }

    if (wh->calls.len) {
        chaton_try(chaton_buf_literal(b, ",\"tool_calls\":["));
        chaton_try(chaton_buf_append(b, wh->calls.data, wh->calls.len));
        chaton_try(chaton_buf_literal(b, "]"));
    }

    chaton_try(chaton_buf_literal(b, ",\"refusal\":null},\"logprobs\":null,"
                                     "\"finish_reason\":"));
    chaton_try(chaton_json_cstring(b, o->finish));
    chaton_try(chaton_buf_literal(b, "}],\"usage\":"));
    chaton_try(chaton_openai_chat_usage(b, o));

    return chaton_buf_literal(b, ",\"system_fingerprint\":null}");
}
