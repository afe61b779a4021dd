/*
 * Links in messages: the URLs found, the crawler's path for each, the page
 * text it streams back, and how that text is given to the model.
 */

#ifndef _CHATON_CRAWL_H_INCLUDED_
#define _CHATON_CRAWL_H_INCLUDED_


#include "chaton.h"


typedef struct {
    const unsigned char    *data;
    size_t                  len;
} chaton_url_t;


size_t chaton_urls_find(const unsigned char *text, size_t len,
    chaton_url_t *urls, size_t max);
int chaton_crawl_path(chaton_buf_t *out, const unsigned char *url,
    size_t len);
int chaton_crawl_event(chaton_buf_t *text, const unsigned char *ev,
    size_t len);
int chaton_crawl_context(chaton_buf_t *out, const unsigned char *url,
    size_t url_len, const unsigned char *text, size_t text_len);


#endif /* _CHATON_CRAWL_H_INCLUDED_ */
