/*
 * OpenAI /v1/audio/speech -> ChatOn /audio/speech, and OpenAI's streamed
 * speech events (stream_format "sse").
 */

#ifndef _CHATON_SPEECH_H_INCLUDED_
#define _CHATON_SPEECH_H_INCLUDED_


#include "chaton.h"
#include "chaton_error.h"


#define CHATON_SPEECH_MAX_INPUT  4096     /* characters, as OpenAI */


typedef struct {
    unsigned char          *input;
    size_t                  input_len;
    const char             *model;
    const char             *voice;
    double                  speed;
    unsigned                sse:1;
} chaton_speech_req_t;


typedef struct {
    unsigned char           rest[3];        /* bytes not yet encoded */
    size_t                  nrest;
    uint64_t                bytes;
} chaton_speech_sse_t;


int chaton_speech_parse(chaton_speech_req_t *req, chaton_alloc_t *a,
    const unsigned char *body, size_t len, chaton_error_t *err);
int chaton_speech_body(chaton_buf_t *out, const chaton_speech_req_t *req);
int chaton_speech_delta(chaton_speech_sse_t *s, chaton_buf_t *out,
    const unsigned char *data, size_t len);
int chaton_speech_done(chaton_speech_sse_t *s, chaton_buf_t *out,
    uint64_t input_tokens);


#endif /* _CHATON_SPEECH_H_INCLUDED_ */
