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


#endif /* _CHATON_IMAGES_H_INCLUDED_ */
