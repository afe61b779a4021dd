/*
 * Request signing for the ChatOn API host.
 */

#ifndef _CHATON_SIGN_H_INCLUDED_
#define _CHATON_SIGN_H_INCLUDED_


#include <time.h>

#include "chaton.h"


#define CHATON_DATE_LEN  20         /* YYYY-MM-DDTHH:MM:SSZ */


typedef struct chaton_signer_s  chaton_signer_t;


int chaton_key_decode(chaton_buf_t *out, const unsigned char *value,
    size_t len);
chaton_signer_t *chaton_signer_create(const unsigned char *key_a,
    size_t key_a_len, const unsigned char *key_b, size_t key_b_len);
void chaton_signer_destroy(chaton_signer_t *s);
size_t chaton_sign_date(char *buf, time_t t);
size_t chaton_sign_len(const chaton_signer_t *s);
int chaton_sign(const chaton_signer_t *s, unsigned char *out,
    const char *method, const unsigned char *path, size_t path_len,
    const char *date, const unsigned char *body, size_t body_len);


#endif /* _CHATON_SIGN_H_INCLUDED_ */
