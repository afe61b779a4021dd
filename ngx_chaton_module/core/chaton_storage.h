/*
 * ChatOn's file storage: upload bodies (multipart) and getUrl answers.
 */

#ifndef _CHATON_STORAGE_H_INCLUDED_
#define _CHATON_STORAGE_H_INCLUDED_


#include "chaton.h"


int chaton_get_url(chaton_buf_t *url, const unsigned char *body, size_t len);
int chaton_multipart_head(chaton_buf_t *out, const char *boundary,
    const char *filename, const char *type);
int chaton_multipart_tail(chaton_buf_t *out, const char *boundary);
int chaton_multipart_boundary_ok(const char *boundary,
    const unsigned char *data, size_t len);


#endif /* _CHATON_STORAGE_H_INCLUDED_ */
