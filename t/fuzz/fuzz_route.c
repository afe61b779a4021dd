/*
 * chaton_route: the route of a URI under a location's prefix.
 *
 * Input: [prefix length] prefix bytes... URI bytes...
 *
 * The URI and the prefix are copied to buffers of their exact size, so
 * ASan sees a read past either.  Checks: the route is one of the six; the
 * path lies in the URI, is where the root rule puts it (after the first
 * "/v1/", else after the prefix at a segment's boundary, else after the
 * first "/"), less one trailing slash; a route's path is its name
 * exactly, a model's is "models/" and a non-empty id, and no route means
 * neither.
 */

#include "fuzz.h"
#include "chaton_route.h"


static const char  *names[] = {
    NULL, "chat/completions", "images/generations", "audio/speech", "models",
};


/* the root, by the rule README states, written apart from the parser */

static size_t
root_of(const uint8_t *uri, size_t len, const uint8_t *prefix, size_t plen)
{
    size_t  i;

    for (i = 0; i + 4 <= len; i++) {
        if (uri[i] == '/' && (uri[i + 1] | 0x20) == 'v' && uri[i + 2] == '1'
            && uri[i + 3] == '/')
        {
            return i + 4;
        }
    }

    if (plen && plen <= len && memcmp(uri, prefix, plen) == 0) {
        if (prefix[plen - 1] == '/' || plen == len) {
            return plen;
        }

        if (uri[plen] == '/') {
            return plen + 1;
        }
    }

    return (len && uri[0] == '/') ? 1 : 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t           plen, len, root, n, k;
    uint8_t         *uri, *prefix;
    chaton_route_t   rt;

    if (size < 1) {
        return 0;
    }

    plen = data[0];

    if (plen > size - 1) {
        plen = size - 1;
    }

    len = size - 1 - plen;

    prefix = malloc(plen ? plen : 1);
    uri = malloc(len ? len : 1);
    FZ_CHECK(prefix && uri, "malloc");

    memcpy(prefix, data + 1, plen);
    memcpy(uri, data + 1 + plen, len);

    chaton_route_parse(&rt, uri, len, plen ? prefix : NULL, plen);

    root = root_of(uri, len, prefix, plen);
    n = len - root;

    if (n && uri[root + n - 1] == '/') {
        n--;
    }

    FZ_CHECK(rt.path == uri + root && rt.path_len == n,
             "path at %td+%zu, expected %zu+%zu",
             rt.path - uri, rt.path_len, root, n);

    switch (rt.route) {

    case CHATON_ROUTE_NONE:
        for (k = 1; k < sizeof(names) / sizeof(names[0]); k++) {
            FZ_CHECK(n != strlen(names[k])
                     || memcmp(rt.path, names[k], n) != 0,
                     "no route for \"%s\"", names[k]);
        }

        FZ_CHECK(!(n > 7 && memcmp(rt.path, "models/", 7) == 0),
                 "no route for a model");
        FZ_CHECK(rt.id == NULL && rt.id_len == 0, "an id without a model");
        break;

    case CHATON_ROUTE_CHAT:
    case CHATON_ROUTE_IMAGES:
    case CHATON_ROUTE_SPEECH:
    case CHATON_ROUTE_MODELS:
        FZ_CHECK(n == strlen(names[rt.route])
                 && memcmp(rt.path, names[rt.route], n) == 0,
                 "route %d for another path", rt.route);
        FZ_CHECK(rt.id == NULL && rt.id_len == 0, "an id without a model");
        break;

    case CHATON_ROUTE_MODEL:
        FZ_CHECK(n > 7 && memcmp(rt.path, "models/", 7) == 0,
                 "a model without models/");
        FZ_CHECK(rt.id == rt.path + 7 && rt.id_len == n - 7,
                 "the id is not the rest");
        break;

    default:
        FZ_CHECK(0, "route %d", rt.route);
    }

    free(prefix);
    free(uri);

    return 0;
}
