/*
 * The route of a request URI: which API call it is, and the model id of
 * "models/<id>".  The one parser of routes; the router and the routes
 * both read its answer.
 */

#ifndef _CHATON_ROUTE_H_INCLUDED_
#define _CHATON_ROUTE_H_INCLUDED_


#include "chaton.h"


#define CHATON_ROUTE_NONE      0
#define CHATON_ROUTE_CHAT      1       /* chat/completions */
#define CHATON_ROUTE_IMAGES    2       /* images/generations */
#define CHATON_ROUTE_SPEECH    3       /* audio/speech */
#define CHATON_ROUTE_MODELS    4       /* models */
#define CHATON_ROUTE_MODEL     5       /* models/<id> */
#define CHATON_ROUTE_MESSAGES  6       /* messages (Anthropic) */
#define CHATON_ROUTE_COUNT_TOKENS  7   /* messages/count_tokens */
#define CHATON_ROUTE_RESPONSES 8       /* responses (OpenAI's Responses) */
#define CHATON_ROUTE_RESPONSE  9       /* responses/<id> */
#define CHATON_ROUTE_RESPONSE_ITEMS 10 /* responses/<id>/input_items */


typedef struct {
    int                     route;
    const char             *label;     /* the route's name in metrics, */
    size_t                  label_len; /* or NULL: no route */
    const unsigned char    *path;      /* the URI under the API root, */
    size_t                  path_len;  /* without a trailing slash */
    const unsigned char    *id;        /* models/<id>, responses/<id>:
                                          the id */
    size_t                  id_len;
} chaton_route_t;


void chaton_route_parse(chaton_route_t *rt, const unsigned char *uri,
    size_t len, const unsigned char *prefix, size_t prefix_len);
const char *chaton_route_label(size_t i, size_t *len);


#endif /* _CHATON_ROUTE_H_INCLUDED_ */
