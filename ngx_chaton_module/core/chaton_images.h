/*
 * OpenAI /v1/images/generations -> ChatOn's image flow (a /chats/stream
 * request in image mode), and the answer's JSON.
 */

#ifndef _CHATON_IMAGES_H_INCLUDED_
#define _CHATON_IMAGES_H_INCLUDED_


#include "chaton.h"
#include "chaton_error.h"


#define CHATON_IMAGES_MAX_N        10
#define CHATON_IMAGES_MAX_PROMPT   4000      /* characters, as dall-e-3 */


typedef struct {
    unsigned char          *prompt;
    size_t                  prompt_len;
    unsigned char          *model;          /* as the client gave it */
    size_t                  model_len;
    unsigned char          *style;          /* NULL: not given */
    size_t                  style_len;
    const char             *aspect;         /* 1:1, 16:9, 9:16 */
    unsigned                n;
    unsigned                b64:1;
} chaton_images_req_t;


int chaton_images_parse(chaton_images_req_t *req, chaton_alloc_t *a,
    const unsigned char *body, size_t len, chaton_error_t *err);
int chaton_images_body(chaton_buf_t *out, const chaton_images_req_t *req);


/*
 * The answer, {"created": ..., "data": [{"url": ...} | {"b64_json": ...}]},
 * in pieces, so that a b64_json image goes out from its own buffer,
 * between the piece that opens it and the one that closes it; "n" is the
 * number of images before this one.
 */

int chaton_images_answer_head(chaton_buf_t *b, uint64_t created);
int chaton_images_answer_url(chaton_buf_t *b, size_t n,
    const unsigned char *url, size_t len);
int chaton_images_answer_b64_open(chaton_buf_t *b, size_t n);
int chaton_images_answer_b64_close(chaton_buf_t *b);
int chaton_images_answer_end(chaton_buf_t *b);


#endif /* _CHATON_IMAGES_H_INCLUDED_ */
