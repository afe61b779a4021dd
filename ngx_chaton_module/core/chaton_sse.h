/*
 * Incremental Server-Sent Events parser: bytes in, events out.
 */

#ifndef _CHATON_SSE_H_INCLUDED_
#define _CHATON_SSE_H_INCLUDED_


#include "chaton.h"


/*
 * Called once per complete event with its data (the "data:" lines joined by
 * "\n").  The bytes are valid only during the call.  Returning anything but
 * CHATON_OK stops the feed and is handed back to the feeder.
 */

typedef int (*chaton_sse_handler_pt)(void *data, const unsigned char *ev,
    size_t len);


/*
 * Optional: may take whole events straight from the input, their framing
 * with them.  Called at the start of a line, nothing of an event pending,
 * with the input from there to its end; each event it takes is at most
 * room bytes (the largest event with "data: " and a blank line).  Sets *n
 * to the bytes it took, 0 to leave them to the parser.  Anything but
 * CHATON_OK stops the feed.
 */

typedef int (*chaton_sse_whole_pt)(void *data, const unsigned char *in,
    size_t len, size_t room, size_t *n);


typedef struct {
    chaton_buf_t            line;     /* an unfinished line from a past feed */
    chaton_buf_t            data;     /* the event's data, when not in place */
    const unsigned char    *ref;      /* the event's data, in the input */
    size_t                  ref_len;
    size_t                  max;      /* largest event accepted */
    chaton_sse_whole_pt     whole;
    unsigned                has_data:1;
    unsigned                cr:1;     /* a CR ended the last feed */
    unsigned                skip:1;   /* the unfinished line is ignored */
    unsigned                started:1;

    /*
     * Set after chaton_sse_init(), for an allocator whose free() gives the
     * memory back: a line held between feeds takes what it needs, no
     * more, and the line's and the data's memory goes back at the end of
     * any feed that left them empty.  A stream whose events arrive whole
     * then holds nothing between them; chaton_sse_free() ends it.
     */
    unsigned                lean:1;
} chaton_sse_t;


void chaton_sse_init(chaton_sse_t *p, chaton_alloc_t *a, size_t max_event);
void chaton_sse_free(chaton_sse_t *p);
int chaton_sse_feed(chaton_sse_t *p, const unsigned char *in, size_t len,
    chaton_sse_handler_pt handler, void *data);
int chaton_sse_finish(chaton_sse_t *p, chaton_sse_handler_pt handler,
    void *data);
#ifdef CHATON_TESTS
int chaton_sse_pending(chaton_sse_t *p);
#endif


#endif /* _CHATON_SSE_H_INCLUDED_ */
