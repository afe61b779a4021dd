/*
 * The backend event scanner: one pass over an event's JSON payload, no tree,
 * no allocation per event; it tells the common events (text deltas, pings,
 * notices) from the rest and takes out of a delta what the translator uses.
 */

#ifndef _CHATON_EVENT_H_INCLUDED_
#define _CHATON_EVENT_H_INCLUDED_


#include "chaton.h"


#define CHATON_EVENT_BAD     0     /* not one JSON object, as cJSON reads it */
#define CHATON_EVENT_DELTA   1     /* {"choices": [{...}, ...], ...} */
#define CHATON_EVENT_DROP    2     /* a ping, analytics, a progress notice */
#define CHATON_EVENT_OTHER   3     /* valid, anything else: for cJSON */


/*
 * What a delta carries: choices[0].delta.content and .reasoning_content
 * and choices[0].finish_reason, each the first member of its name, as
 * cJSON_GetObjectItemCaseSensitive() finds them.  A string is unescaped as
 * cJSON does, and ends where cJSON's C string would, at the first NUL; NULL
 * where the member is absent or not a string.  The bytes lie in the event
 * or in the scratch buffer, until either changes.
 */

typedef struct {
    const unsigned char    *content;
    size_t                  content_len;
    const unsigned char    *reasoning;
    size_t                  reasoning_len;
    const unsigned char    *finish;
    size_t                  finish_len;

    /* where content's and reasoning's strings lie in the event, quotes
     * included, when they are strings */
    const unsigned char    *content_raw;
    const unsigned char    *content_raw_end;
    const unsigned char    *reasoning_raw;
    const unsigned char    *reasoning_raw_end;
} chaton_event_t;


/*
 * The shape of the last delta read: its bytes before and after its one
 * string (content or reasoning), quotes with the string they enclose.  The
 * deltas of a stream differ only in that string, so the next event with
 * the same bytes around a string is read by reading that string alone.
 */

#define CHATON_EVENT_SHAPE_MAX  1024

typedef struct {
    chaton_buf_t            bytes;          /* the head, then the tail */
    size_t                  head;           /* to the opening quote, with it */
    unsigned                reasoning:1;    /* the string is reasoning's */
    unsigned                one_line:1;     /* no CR or LF in the bytes */
} chaton_event_shape_t;


/*
 * Scans len bytes.  Returns CHATON_EVENT_BAD exactly where
 * chaton_json_parse() would fail or give something else than an object.
 * Strings with escapes are unescaped into scratch, emptied first and grown
 * at most to len bytes, so that once it has grown no event allocates.  If
 * it cannot grow, the event is CHATON_EVENT_OTHER, for cJSON to read.
 */

int chaton_event_scan(chaton_event_t *e, const unsigned char *ev, size_t len,
    chaton_buf_t *scratch);


/*
 * The same as chaton_event_scan(), for the events of one stream: an event
 * of the last delta's shape has only its string read; any other is scanned
 * whole, and a delta scanned whole becomes the shape to look for next.
 */

void chaton_event_shape_init(chaton_event_shape_t *sh, chaton_alloc_t *a);
int chaton_event_read(chaton_event_shape_t *sh, chaton_event_t *e,
    const unsigned char *ev, size_t len, chaton_buf_t *scratch);


#endif /* _CHATON_EVENT_H_INCLUDED_ */
