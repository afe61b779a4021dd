/*
 * The one writer of client-visible errors, in OpenAI's shape:
 * {"error":{"message":...,"type":...,"param":...,"code":...}}, or in
 * Anthropic's: {"type":"error","error":{"type":...,"message":...}}.
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
int chaton_error_anthropic_json(chaton_buf_t *b, const chaton_error_t *e);
int chaton_error_anthropic_status(const chaton_error_t *e);
void chaton_error_backend(chaton_error_t *e, int status, int timed_out,
    const unsigned char *body, size_t len);
int chaton_error_event(chaton_buf_t *b, const chaton_error_t *e);
int chaton_error_status(chaton_error_t *e, int status);


/* what can go wrong with a backend's answer after its 200 */

typedef enum {
    CHATON_ANSWER_TOO_LARGE = 0,     /* over chaton_max_answer_size */
    CHATON_EVENT_TOO_LARGE,          /* an event over chaton_max_event_size */
    CHATON_ANSWER_ENCODED,           /* compressed, though not asked to be */
    CHATON_ANSWER_NOT_SSE,           /* not an event stream */
    CHATON_ANSWER_NOT_AUDIO,         /* speech: no audio */
    CHATON_AUDIO_CUT,                /* speech: closed before its end */
    CHATON_ANSWER_CUT,               /* closed before [DONE] */
    CHATON_ANSWER_SILENT             /* silent past proxy_read_timeout */
} chaton_answer_fault_e;

int chaton_error_answer(chaton_error_t *e, chaton_answer_fault_e fault);
void chaton_error_upload(chaton_error_t *e, int status, const char *param,
    const unsigned char *reason, size_t len);


#ifdef CHATON_TESTS
int chaton_error_same(const chaton_error_t *a, const chaton_error_t *b);
#endif


#endif /* _CHATON_ERROR_H_INCLUDED_ */
