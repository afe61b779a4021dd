/*
 * OpenAI's Chat Completions API (/v1/chat/completions): the dialect's
 * writer, from the neutral output events (chaton_conv.h) to
 * chat.completion.chunk events (stream) or one chat.completion object.
 */

#ifndef _DIALECT_OPENAI_CHAT_H_INCLUDED_
#define _DIALECT_OPENAI_CHAT_H_INCLUDED_


#include "chaton.h"
#include "chaton_conv.h"


typedef struct {
    chaton_buf_t            content;        /* JSON-escaped */
    chaton_buf_t            reasoning;      /* JSON-escaped */
    chaton_buf_t            calls;          /* tool_calls' members */
    chaton_buf_t            raw;            /* unfence: the text */

    const unsigned char    *id;
    size_t                  id_len;
    const unsigned char    *model;          /* as the client asked */
    size_t                  model_len;
    uint64_t                created;
} chaton_openai_chat_whole_t;


typedef struct {
    chaton_writer_t         w;              /* first: the events' target */
    chaton_alloc_t         *alloc;

    /* stream mode: every chunk's common parts */
    chaton_buf_t            prefix;         /* a text chunk's head */
    size_t                  choices;        /* its length to "choices":[ */
    size_t                  head_len;       /* to "delta":{, every chunk's */
    chaton_buf_t            tail;           /* a text chunk's last bytes */

    /*
     * whole mode: the answer kept, with the object's id, model and time
     * (made by the init, in that mode only; a stream's are in its prefix)
     */
    chaton_openai_chat_whole_t  *whole;

    unsigned                include_usage:1;
    unsigned                role_sent:1;
    unsigned                content_seen:1; /* text other than white space */
    unsigned                unfence:1;      /* whole: a JSON answer in a
                                               code fence is taken out */
} chaton_openai_chat_t;


int chaton_openai_chat_init(chaton_openai_chat_t *oc, chaton_alloc_t *a,
    const unsigned char *id, size_t id_len, const unsigned char *model,
    size_t model_len, uint64_t created, size_t max_answer, int stream,
    int include_usage);


#endif /* _DIALECT_OPENAI_CHAT_H_INCLUDED_ */
