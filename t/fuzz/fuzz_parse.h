/*
 * Helpers of the targets that fuzz a dialect's parser
 * (t/fuzz/fuzz_anthropic.c, t/fuzz/fuzz_responses.c; fuzz_request.c
 * shares the refusal's check): what any accepted
 * conversation must be, and the same parse failing at one of its
 * allocations.
 */

#ifndef FUZZ_PARSE_H
#define FUZZ_PARSE_H

#include "fuzz.h"
#include "chaton_request.h"


typedef int (*fz_parse_pt)(chaton_chat_req_t *req, chaton_alloc_t *a,
    const chaton_chat_conf_t *conf, const unsigned char *body, size_t len,
    chaton_error_t *err);


/*
 * The configuration both dialects' targets parse with: the built-in
 * models, a default model half the time, web search on half the time
 */

static FZ_UNUSED void
fz_parse_conf(chaton_chat_conf_t *conf, uint64_t h)
{
    memset(conf, 0, sizeof(chaton_chat_conf_t));

    conf->models = chaton_models_builtin;
    conf->nmodels = chaton_models_nbuiltin;
    conf->fallback = ((h >> 24) & 1) ? &chaton_models_builtin[0] : NULL;
    conf->max_tokens = 8000;
    conf->max_image = 300;
    conf->max_images = 6;
    conf->web_search = (h >> 25) & 1;
}


/*
 * A refusal: CHATON_BAD, a 400 or 404 with a message that fits, written
 * as valid error JSON
 */

static FZ_UNUSED void
fz_parse_refused(int rc, chaton_error_t *err, fz_pool_t *pool)
{
    chaton_buf_t  b;

    FZ_CHECK(rc == CHATON_BAD, "the parser returned %d", rc);
    FZ_CHECK(err->status == 400 || err->status == 404,
             "a refusal with status %d", err->status);
    FZ_CHECK(err->text_len > 0 && err->text_len < sizeof(err->buf),
             "a refusal message of %zu bytes", err->text_len);

    chaton_buf_init(&b, &pool->a, 0);
    FZ_CHECK(chaton_error_json(&b, err) == CHATON_OK, "error_json failed");
    fz_check_error_json(b.data, b.len);
}


/*
 * An accepted conversation: its model the table's or the default, and a
 * ChatOn body that is a JSON object (uploads given their URLs first, as
 * the module does).
 */

static FZ_UNUSED void
fz_parse_accepted(chaton_chat_req_t *req, const chaton_chat_conf_t *conf,
    fz_pool_t *pool)
{
    size_t         k;
    cJSON         *j;
    chaton_buf_t   b;

    FZ_CHECK(req->entry == chaton_model_find(conf->models, conf->nmodels,
                                             req->model, req->model_len)
             || req->entry == conf->fallback,
             "the model is not the table's nor the default");

    for (k = 0; k < req->nimages; k++) {
        if (req->images[k].url == NULL) {
            req->images[k].url = (const unsigned char *) "https://cdn/u.png";
            req->images[k].url_len = 16;
        }
    }

    chaton_buf_init(&b, &pool->a, 0);
    FZ_CHECK(chaton_chat_body(&b, req) == CHATON_OK, "chat_body failed");
    j = fz_json(b.data, b.len, "the ChatOn body");
    FZ_CHECK(cJSON_IsObject(j), "the ChatOn body is not an object");
    cJSON_Delete(j);
}


/*
 * The parse again, its allocation number 1 + (h >> 16) % allocs failing:
 * CHATON_ERROR, or what it answered before (rc), and never a refusal of
 * the allocator's making
 */

static FZ_UNUSED void
fz_parse_failing(fz_parse_pt parse, const chaton_chat_conf_t *conf,
    const unsigned char *data, size_t size, uint64_t h, size_t allocs,
    int rc)
{
    int                 rc2;
    fz_pool_t           pool;
    chaton_error_t      err;
    chaton_chat_req_t   req;

    if (allocs == 0) {
        return;
    }

    fz_pool_init(&pool, 0);
    pool.fail_at = 1 + (h >> 16) % allocs;
    memset(&err, 0, sizeof(err));

    rc2 = parse(&req, &pool.a, conf, data, size, &err);

    FZ_CHECK(rc2 == CHATON_ERROR || (rc2 == rc && !pool.refused),
             "a parse failing at allocation %zu of %zu returned %d",
             pool.fail_at, allocs, rc2);

    fz_pool_release(&pool);
}


#endif /* FUZZ_PARSE_H */
