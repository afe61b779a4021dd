/*
 * data: URL decoder for images sent inline (data:image/png;base64,...).
 */

#ifndef _CHATON_DATAURL_H_INCLUDED_
#define _CHATON_DATAURL_H_INCLUDED_


#include "chaton.h"


#define CHATON_DATAURL_NOT_DATA     1   /* not a data: URL at all */
#define CHATON_DATAURL_BAD_TYPE     2   /* not an image type we upload */
#define CHATON_DATAURL_NOT_BASE64   3   /* not ";base64," or bad base64 */
#define CHATON_DATAURL_TOO_BIG      4   /* decoded size over the limit */
#define CHATON_DATAURL_EMPTY        5


typedef struct {
    const char             *mime;       /* canonical: image/png, ... */
    const char             *ext;        /* png, jpg, gif, webp */
} chaton_dataurl_type_t;


int chaton_dataurl_decode(chaton_buf_t *out, const unsigned char *url,
    size_t len, size_t max, const chaton_dataurl_type_t **type);
const chaton_dataurl_type_t *chaton_dataurl_type(const unsigned char *mime,
    size_t len);
int chaton_dataurl_base64(chaton_buf_t *out, const unsigned char *s,
    size_t n, size_t max);


#endif /* _CHATON_DATAURL_H_INCLUDED_ */
