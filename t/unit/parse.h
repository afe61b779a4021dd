/*
 * What the dialect parsers' tests share (test_request.c,
 * test_anthropic.c, test_responses.c): the configuration, the request and the error a parse
 * fills, the setup that resets them, and parse(), parse_ok(), refused()
 * and content() over the dialect's parser, which the file names first:
 *
 *   #define UNIT_PARSE  chaton_responses_parse
 *   #include "parse.h"
 *
 * The tools' nonce is NONCE when the file defines it; images at most
 * UNIT_MAX_IMAGES (4).
 */

#ifndef _UNIT_PARSE_H_INCLUDED_
#define _UNIT_PARSE_H_INCLUDED_


#include "unit.h"
#include "chaton_request.h"


static chaton_chat_conf_t  conf;
static chaton_chat_req_t   req;
static chaton_error_t      err;


static int
setup(void **state)
{
    unit_setup(state);

    memset(&conf, 0, sizeof(conf));
    conf.models = chaton_models_builtin;
    conf.nmodels = chaton_models_nbuiltin;
    conf.max_tokens = 8000;
    conf.max_image = 1024;
#ifdef UNIT_MAX_IMAGES
    conf.max_images = UNIT_MAX_IMAGES;
#else
    conf.max_images = 4;
#endif
#ifdef NONCE
    conf.nonce = (const unsigned char *) NONCE;
#endif

    memset(&req, 0, sizeof(req));
    memset(&err, 0, sizeof(err));

    return 0;
}

#define ptest(f)  cmocka_unit_test_setup_teardown(f, setup, unit_teardown)


static inline int
parse(const char *body)
{
    return UNIT_PARSE(&req, &unit_alloc, &conf, (const unsigned char *) body,
                      strlen(body), &err);
}


#define parse_ok(s)  parse_ok_at((s), __LINE__)

static inline void
parse_ok_at(const char *s, int line)
{
    if (parse(s) != CHATON_OK) {
        print_error("line %d: refused (%d %s: %.*s): %s\n", line,
                    err.status, err.param ? err.param : "-",
                    (int) err.text_len, err.text, s);
        fail();
    }
}


/* refused with a 400 that names param */

#define refused(s, p)  refused_at((s), (p), __LINE__)

static inline void
refused_at(const char *s, const char *param, int line)
{
    if (parse(s) == CHATON_OK) {
        print_error("line %d: accepted: %s\n", line, s);
        fail();
    }

    if (err.status != 400 || err.param == NULL
        || strcmp(err.param, param) != 0)
    {
        print_error("line %d: %d %s, not 400 %s: %s\n", line, err.status,
                    err.param ? err.param : "-", param, s);
        fail();
    }
}


/* the text of the conversation's message i */

static inline const char *
content(size_t i)
{
    assert_true(i < req.nmessages);

    return unit_strn(req.messages[i].content, req.messages[i].content_len);
}


#endif /* _UNIT_PARSE_H_INCLUDED_ */
