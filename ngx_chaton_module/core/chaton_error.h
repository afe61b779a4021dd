/*
 * The one writer of client-visible errors, in OpenAI's shape:
 * {"error":{"message":...,"type":...,"param":...,"code":...}}
 */

#ifndef _CHATON_ERROR_H_INCLUDED_
#define _CHATON_ERROR_H_INCLUDED_


#include "chaton.h"


typedef struct {
    int                     status;     /* HTTP status to answer with */
    const char             *type;       /* NULL: derived from status */
    const char             *param;      /* NULL: null */
    const char             *code;       /* NULL: null */
    const unsigned char    *text;       /* the message */
    size_t                  text_len;
    char                    buf[256];   /* room for formatted messages */
    char                    param_buf[64];
} chaton_error_t;


int chaton_error_set(chaton_error_t *e, int status, const char *param,
    const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
void chaton_error_text(chaton_error_t *e, int status, const char *code,
    const unsigned char *text, size_t len);
const char *chaton_error_type(int status);
int chaton_error_json(chaton_buf_t *b, const chaton_error_t *e);
void chaton_error_backend(chaton_error_t *e, int status, int timed_out,
    const unsigned char *body, size_t len);
int chaton_error_event(chaton_buf_t *b, const chaton_error_t *e);


#endif /* _CHATON_ERROR_H_INCLUDED_ */
