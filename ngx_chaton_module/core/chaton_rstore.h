/*
 * What the Responses store keeps of a response, and what it answers from
 * it, without nginx: an entry serialised into one run of bytes (the glue
 * copies it into its shared memory as it is), the conversation a
 * previous_response_id continues, the pages of GET .../input_items, the
 * answers to GET and DELETE, and the not-found errors.
 *
 * An entry keeps its response object (what GET gives back), its input
 * items (those of the responses it continued first, then its own, each
 * with an id) and its output items, each a JSON text.  Continuing it is
 * its input items then its output items: one look-up, whatever the length
 * of the chain, and an older entry expiring does not break a later one.
 */

#ifndef _CHATON_RSTORE_H_INCLUDED_
#define _CHATON_RSTORE_H_INCLUDED_


#include "chaton.h"
#include "chaton_error.h"


typedef struct {
    const unsigned char    *response;   /* the response object */
    size_t                  response_len;
    const unsigned char    *input;      /* a JSON array of items */
    size_t                  input_len;
    const unsigned char    *output;     /* a JSON array of items */
    size_t                  output_len;
} chaton_rstore_entry_t;


/* GET .../input_items?limit=&after=&order= */

typedef struct {
    size_t                  limit;      /* 1 to 100; 20 */
    const unsigned char    *after;      /* an item's id, or NULL */
    size_t                  after_len;
    unsigned                asc:1;      /* order=asc; desc by default */
} chaton_rstore_page_t;


size_t chaton_rstore_size(const chaton_rstore_entry_t *e);
void chaton_rstore_write(unsigned char *dst, const chaton_rstore_entry_t *e);
int chaton_rstore_read(chaton_rstore_entry_t *e, const unsigned char *src,
    size_t len);

int chaton_rstore_items(chaton_buf_t *b, const chaton_rstore_entry_t *e);
int chaton_rstore_page(chaton_rstore_page_t *p, const unsigned char *args,
    size_t len, chaton_error_t *err);
int chaton_rstore_list(chaton_buf_t *b, const chaton_rstore_entry_t *e,
    const chaton_rstore_page_t *p, chaton_error_t *err);
int chaton_rstore_deleted(chaton_buf_t *b, const unsigned char *id,
    size_t len);
int chaton_rstore_not_found(chaton_error_t *err, const unsigned char *id,
    size_t len, int previous);


#endif /* _CHATON_RSTORE_H_INCLUDED_ */
