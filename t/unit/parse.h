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


/*
 * Parses s (accepted) with the messages in a scratch allocator, as the
 * module does (the setup's pool), checks that they are there, and frees
 * it scribbled over: what the request keeps for the answer must be intact
 * after (the caller checks it).
 */

#define parse_scratch(s)  parse_scratch_at((s), __LINE__)

static inline void
parse_scratch_at(const char *s, int line)
{
    size_t          i;
    unit_pool_t     scratch;
    chaton_alloc_t  a;

    unit_pool_init(&scratch);
    a = unit_allocator(&scratch, 1);
    conf.scratch = &a;

    parse_ok_at(s, line);
    conf.scratch = NULL;

    assert_true(req.nmessages > 0);
    assert_true(unit_pool_owns(&scratch, req.messages));

    for (i = 0; i < req.nmessages; i++) {
        if (req.messages[i].content_len
            && !unit_pool_owns(&scratch, req.messages[i].content))
        {
            print_error("line %d: message %zu's text is not scratch\n",
                        line, i);
            fail();
        }

        if (req.messages[i].ncalls
            && !unit_pool_owns(&scratch, req.messages[i].calls))
        {
            print_error("line %d: message %zu's calls are not scratch\n",
                        line, i);
            fail();
        }
    }

    if (req.nimages) {
        assert_true(unit_pool_owns(&scratch, req.images));
    }

    unit_pool_scribble(&scratch);

    req.messages = NULL;
    req.images = NULL;
}


/* the text of the conversation's message i */

static inline const char *
content(size_t i)
{
    assert_true(i < req.nmessages);

    return unit_strn(req.messages[i].content, req.messages[i].content_len);
}


#endif /* _UNIT_PARSE_H_INCLUDED_ */
