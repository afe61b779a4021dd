/*
 * Routes.  The API root of a URI is what follows its first "/v1/" (any
 * case); without one, what follows the location's prefix ("/openai/" in
 * "location /openai/"), where the URI starts with it at a path segment's
 * boundary; otherwise what follows the URI's first "/".  Under the root,
 * a route's name, with one trailing slash tolerated; a model's id may
 * hold slashes ("models/meta-llama/llama-3"), as other servers' ids do.
 */

#include "chaton_route.h"


/*
 * A route's label is its name in the metrics; a route without one is
 * labelled by its own name ("responses"), so that a new route needs no
 * change elsewhere to be counted apart.
 */

static const struct {
    const char             *name;
    size_t                  len;
    int                     route;
    const char             *label;
} chaton_routes[] = {
    { "chat/completions", sizeof("chat/completions") - 1, CHATON_ROUTE_CHAT,
      "chat" },
    { "images/generations", sizeof("images/generations") - 1,
      CHATON_ROUTE_IMAGES, "images" },
    { "audio/speech", sizeof("audio/speech") - 1, CHATON_ROUTE_SPEECH,
      "speech" },
    { "models", sizeof("models") - 1, CHATON_ROUTE_MODELS, "models" },
    { "messages", sizeof("messages") - 1, CHATON_ROUTE_MESSAGES,
      "messages" },
    { "messages/count_tokens", sizeof("messages/count_tokens") - 1,
      CHATON_ROUTE_COUNT_TOKENS, "messages" },
    { "responses", sizeof("responses") - 1, CHATON_ROUTE_RESPONSES, NULL },
};


static void chaton_route_response(chaton_route_t *rt, const unsigned char *p,
    size_t n);


static const unsigned char *
chaton_route_root(const unsigned char *uri, size_t len,
    const unsigned char *prefix, size_t prefix_len)
{
    size_t                i;
    const unsigned char  *rest;

    for (i = 0; i + 4 <= len; i++) {
        if (uri[i] == '/' && chaton_strncaseeq(uri + i + 1, "v1/", 3)) {
            return uri + i + 4;
        }
    }

    if (prefix_len && prefix_len <= len
        && memcmp(uri, prefix, prefix_len) == 0)
    {
        rest = uri + prefix_len;

        if (prefix[prefix_len - 1] == '/') {
            return rest;
        }

        /* "location /openai": "/openai/models", not "/openaimodels" */

        if (rest == uri + len) {
            return rest;
        }

        if (*rest == '/') {
            return rest + 1;
        }
    }

    return (len && uri[0] == '/') ? uri + 1 : uri;
}


void
chaton_route_parse(chaton_route_t *rt, const unsigned char *uri, size_t len,
    const unsigned char *prefix, size_t prefix_len)
{
    size_t                i, n;
    const unsigned char  *p;

    memset(rt, 0, sizeof(chaton_route_t));

    p = chaton_route_root(uri, len, prefix, prefix_len);
    n = uri + len - p;

    /* tolerate a trailing slash: "/v1/models/" */

    if (n && p[n - 1] == '/') {
        n--;
    }

    rt->path = p;
    rt->path_len = n;

    for (i = 0; i < sizeof(chaton_routes) / sizeof(chaton_routes[0]); i++) {

        if (n < chaton_routes[i].len
            || memcmp(p, chaton_routes[i].name, chaton_routes[i].len) != 0)
        {
            continue;
        }

        if (n == chaton_routes[i].len) {
            rt->route = chaton_routes[i].route;
            rt->label = chaton_route_label(i, &rt->label_len);
            return;
        }

        if (p[chaton_routes[i].len] != '/' || n == chaton_routes[i].len + 1) {
            continue;
        }

        if (chaton_routes[i].route == CHATON_ROUTE_MODELS) {
            rt->route = CHATON_ROUTE_MODEL;
            rt->label = chaton_route_label(i, &rt->label_len);
            rt->id = p + chaton_routes[i].len + 1;
            rt->id_len = n - chaton_routes[i].len - 1;
            return;
        }

        if (chaton_routes[i].route == CHATON_ROUTE_RESPONSES) {
            rt->label = chaton_route_label(i, &rt->label_len);
            chaton_route_response(rt, p + chaton_routes[i].len + 1,
                                  n - chaton_routes[i].len - 1);
            return;
        }
    }
}


/* after "responses/": "<id>" or "<id>/input_items"; ids have no slash */

static void
chaton_route_response(chaton_route_t *rt, const unsigned char *p, size_t n)
{
    const unsigned char  *slash;

    slash = memchr(p, '/', n);

    if (slash == NULL) {
        rt->route = CHATON_ROUTE_RESPONSE;
        rt->id = p;
        rt->id_len = n;
        return;
    }

    if (slash > p && (size_t) (p + n - slash) == sizeof("/input_items") - 1
        && memcmp(slash, "/input_items", sizeof("/input_items") - 1) == 0)
    {
        rt->route = CHATON_ROUTE_RESPONSE_ITEMS;
        rt->id = p;
        rt->id_len = slash - p;
    }
}


/*
 * The label of the route table's i-th entry (routes may share one), or
 * NULL past the table's end: the metrics take the set of labels from it.
 */

const char *
chaton_route_label(size_t i, size_t *len)
{
    const char  *label;

    if (i >= sizeof(chaton_routes) / sizeof(chaton_routes[0])) {
        *len = 0;
        return NULL;
    }

    label = chaton_routes[i].label ? chaton_routes[i].label
                                   : chaton_routes[i].name;
    *len = strlen(label);

    return label;
}
