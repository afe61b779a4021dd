/*
 * The neutral output events: what the answer's pipeline (the backend
 * decoder, the pictures stage, the tool-call extractor: chaton_chunk.c)
 * tells a dialect's writer, whichever API the client speaks.  A writer is
 * a small state machine over these events, with a stream mode (each event
 * becomes that dialect's stream events at once) and a whole-answer mode
 * (one object at the end).
 *
 * Where a writer writes is an argument of each event.
 */

#ifndef _CHATON_CONV_H_INCLUDED_
#define _CHATON_CONV_H_INCLUDED_


#include "chaton.h"
#include "chaton_error.h"


typedef struct chaton_writer_s  chaton_writer_t;


/* a tool call the model made, whole (chaton_tools.c finds them) */

typedef struct {
    size_t                  index;          /* 0, 1, ... in the answer */
    const unsigned char    *id;             /* "call_..." */
    size_t                  id_len;
    const unsigned char    *name;
    size_t                  name_len;
    const unsigned char    *arguments;      /* a JSON object's text */
    size_t                  arguments_len;
} chaton_tool_call_t;


/* how the answer ended, for its last events or its whole object */

typedef struct {
    const char             *finish;         /* "stop", "length",
                                               "tool_calls", ... */
    uint64_t                prompt_tokens;
    uint64_t                completion_tokens;
    uint64_t                reasoning_tokens;
} chaton_outcome_t;


typedef struct {

    /* text the client sees, as UTF-8; the writer escapes it */
    int   (*text)(chaton_writer_t *w, chaton_buf_t *out,
                  const unsigned char *s, size_t len);

    /*
     * Text already in JSON's form, as chaton_json_escape() would write it:
     * only called while w->ready says the writer can take it as it is.
     */
    int   (*escaped)(chaton_writer_t *w, chaton_buf_t *out,
                     const unsigned char *s, size_t len);

    /* the model's reasoning (deepseek-r1, the reasoning models) */
    int   (*reasoning)(chaton_writer_t *w, chaton_buf_t *out,
                       const unsigned char *s, size_t len);

    int   (*tool_call)(chaton_writer_t *w, chaton_buf_t *out,
                       const chaton_tool_call_t *call);

    /* stream mode: the last events; whole mode: the one object */
    int   (*end)(chaton_writer_t *w, chaton_buf_t *out,
                 const chaton_outcome_t *o);

    /* stream mode: an error after the stream began, the stream's last */
    int   (*error)(chaton_writer_t *w, chaton_buf_t *out,
                   const chaton_error_t *e);

    /*
     * stream mode: what the stream begins with, written before anything
     * else goes out (a heartbeat may be first), once; NULL: nothing
     */
    int   (*start)(chaton_writer_t *w, chaton_buf_t *out);
} chaton_writer_ops_t;


struct chaton_writer_s {
    const chaton_writer_ops_t  *ops;
    uint64_t                    chunks;     /* client events written */

    /*
     * Set by a writer whose ops->escaped(s) has come to writing head, s
     * and tail and counting the chunk, nothing else: the caller may then
     * do that itself, for a run of events, without a call per event.
     */
    const chaton_buf_t         *head;
    const chaton_buf_t         *tail;

    unsigned                    stream:1;
    unsigned                    ready:1;    /* ops->escaped may be used */
};


#endif /* _CHATON_CONV_H_INCLUDED_ */
