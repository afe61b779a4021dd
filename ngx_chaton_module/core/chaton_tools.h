/*
 * Tool calling, emulated: ChatOn has no function calling, so the tools go
 * into the conversation as instructions, and the model's answer is read
 * back for calls written in an agreed format:
 *
 *     <tool_call_N>{"name": "get_weather", "arguments": {...}}</tool_call_N>
 *
 * N is a nonce of the request (8 characters of [a-z0-9]) that the user's
 * own text cannot know, so nothing but the model's answer to this request
 * makes a call.  Earlier calls are written back in the same form, tool
 * results as <tool_result_N call_id="..." name="...">...</tool_result_N>.
 *
 * Everything here writes plain UTF-8 text; the caller JSON-escapes it where
 * it goes into the backend's body.
 */

#ifndef _CHATON_TOOLS_H_INCLUDED_
#define _CHATON_TOOLS_H_INCLUDED_


#include "chaton.h"


#define CHATON_TOOLS_NONCE_LEN    8
#define CHATON_TOOLS_MARKER_LEN   (sizeof("<tool_call_>") - 1                \
                                   + CHATON_TOOLS_NONCE_LEN)

/* what the extractor holds back of the text, at most (54 bytes are used) */
#define CHATON_TOOLS_HOLD_MAX     64


#define CHATON_TOOL_CHOICE_AUTO      0
#define CHATON_TOOL_CHOICE_NONE      1
#define CHATON_TOOL_CHOICE_REQUIRED  2
#define CHATON_TOOL_CHOICE_FUNCTION  3


typedef struct {
    const unsigned char    *name;
    size_t                  name_len;
    const unsigned char    *description;        /* may be NULL */
    size_t                  description_len;
    const unsigned char    *parameters;         /* JSON Schema text, or NULL */
    size_t                  parameters_len;
    unsigned                custom:1;           /* Responses' freeform tool:
                                                   {"input": its text} */
} chaton_tool_t;


typedef struct {
    const chaton_tool_t    *tools;
    size_t                  ntools;
    int                     choice;             /* CHATON_TOOL_CHOICE_* */
    const unsigned char    *choice_name;        /* CHATON_TOOL_CHOICE_FUNCTION */
    size_t                  choice_name_len;
    unsigned                parallel:1;         /* several calls an answer */
    unsigned char           nonce[CHATON_TOOLS_NONCE_LEN];
} chaton_tools_t;


/* a character of a code fence's language word: ```json, ```tool_call */

static inline int
chaton_tools_lang(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+'
           || c == '.';
}


/* request side */

int chaton_tools_nonce(unsigned char *nonce);
int chaton_tools_instructions(chaton_buf_t *b, const chaton_tools_t *t);
int chaton_tools_history_call(chaton_buf_t *b, const unsigned char *nonce,
    const unsigned char *name, size_t name_len, const unsigned char *args,
    size_t args_len);
int chaton_tools_history_result(chaton_buf_t *b, const unsigned char *nonce,
    const unsigned char *call_id, size_t call_id_len,
    const unsigned char *name, size_t name_len,
    const unsigned char *content, size_t content_len);
int chaton_tools_call_id(chaton_buf_t *b, const unsigned char *nonce,
    size_t index);

int chaton_tools_json_object(chaton_buf_t *b);
int chaton_tools_json_schema(chaton_buf_t *b, const unsigned char *name,
    size_t name_len, const unsigned char *schema, size_t schema_len);
int chaton_tools_unfence(const unsigned char *s, size_t len,
    const unsigned char **inside, size_t *inside_len);

int chaton_tools_minify(chaton_buf_t *out, const unsigned char *s,
    size_t len);


/*
 * The answer side: the streaming extractor.  Fed the answer's text (UTF-8,
 * unescaped) in pieces of any size; gives, in the order of the answer,
 * text (at the end of each piece, all that can no longer start a call) and
 * calls (index 0, 1, ...; the offered tool's own name; the arguments as a
 * compact JSON object).  A callback's error ends the feeding with it.
 */

typedef int (*chaton_tools_text_pt)(void *ctx, const unsigned char *text,
    size_t len);
typedef int (*chaton_tools_call_pt)(void *ctx, size_t index,
    const unsigned char *name, size_t name_len, const unsigned char *args,
    size_t args_len);


typedef struct {
    const chaton_tools_t   *tools;
    size_t                  max_call;       /* bytes of one call's body */
    chaton_tools_text_pt    text;
    chaton_tools_call_pt    call;
    void                   *ctx;

    unsigned char           marker[CHATON_TOOLS_MARKER_LEN];

    int                     state;
    int                     fence;          /* where the text is: fences */
    int                     line;           /* where in its line */
    int                     body;           /* where in a call's body */
    unsigned                fenced:1;       /* a fence wraps the call */
    unsigned                inner:1;        /* a fence after the marker */
    unsigned                in_string:1;
    unsigned                escape:1;
    size_t                  depth;
    size_t                  ticks;          /* of a fence in a body */
    size_t                  prefix;         /* the marker and what led to it */
    size_t                  obj;            /* where the object starts */

    unsigned char           hold[CHATON_TOOLS_HOLD_MAX];
    size_t                  nhold;

    chaton_buf_t            out;            /* text of the current piece */
    chaton_buf_t            call_buf;       /* a call, from its marker on */
    chaton_buf_t            args;
    chaton_buf_t            scratch;

    size_t                  ncalls;
    size_t                  failures;       /* markers that made no call */
} chaton_tools_extract_t;


void chaton_tools_extract_init(chaton_tools_extract_t *x, chaton_alloc_t *a,
    const chaton_tools_t *tools, size_t max_call, chaton_tools_text_pt text,
    chaton_tools_call_pt call, void *ctx);
int chaton_tools_extract(chaton_tools_extract_t *x, const unsigned char *p,
    size_t len);
int chaton_tools_extract_finish(chaton_tools_extract_t *x);


#endif /* _CHATON_TOOLS_H_INCLUDED_ */
