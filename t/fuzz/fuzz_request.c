/*
 * chaton_request: arbitrary bodies through chaton_chat_parse() and
 * chaton_chat_body(), as the module runs them.
 *
 * Input: the request body, as is.  A hash of it decides whether the
 * location has a default model and which switches default on.
 *
 * Checks:
 *   - a refused body gives a 400 or 404 whose OpenAI error object (and its
 *     SSE form) is valid JSON, with "param" as the error says; no 404
 *     where a default model serves unknown names;
 *   - an accepted body means the table's entry for its model, or the
 *     default one for a name the table does not know, and its messages
 *     are estimated within twice that entry's context window;
 *   - an accepted body gives a ChatOn body that is one valid JSON object
 *     whose messages, images, model, max_tokens and switches are exactly
 *     what was parsed (the content decoded back byte for byte, with the
 *     page context in front of the last user message when there is one);
 *   - a strict JSON body's tree (chaton_json_tree(), one block) is the
 *     one cJSON parses of it, or refused where cJSON refuses it;
 *   - the same body parsed again with the allocator failing at an
 *     input-derived allocation returns CHATON_ERROR and leaks nothing
 *     (cJSON trees are freed on every path), and so does writing the body;
 *   - ASan/UBSan/LeakSanitizer on everything.
 */

#include "fuzz_parse.h"
#include "../json_same.h"


#define CONTEXT  "Page \"crawl\" \xc3\xa9 \xe4\xb8\xad\n\ttext\\ \xe2\x80\xa8\n\n"


static const chaton_model_t  custom[] = {
    { "my-model", 8, "gpt-4o-mini", 11, 1, 0, 0 },
    { "gpt-4o", 6, "claude", 6, 0, 0, 200000 },   /* redefines a built-in */
};


/* the location: a default model and the switches' defaults, or not */

static void
conf_init(chaton_chat_conf_t *conf, chaton_model_t *table, size_t *n,
    uint64_t h)
{
    memcpy(table, custom, sizeof(custom));
    memcpy(table + 2, chaton_models_builtin,
           chaton_models_nbuiltin * sizeof(chaton_model_t));
    *n = 2 + chaton_models_nbuiltin;

    memset(conf, 0, sizeof(chaton_chat_conf_t));

    conf->models = table;
    conf->nmodels = *n;
    conf->fallback = ((h >> 24) & 1) ? &table[1] : NULL;
    conf->max_tokens = 8000;
    conf->max_image = 300;
    conf->max_images = 6;
    conf->web_search = (h >> 25) & 1;
    conf->image_gen = (h >> 26) & 1;
    conf->code_interpreter = (h >> 27) & 1;
}


static void
check_refusal(int rc, chaton_error_t *err, fz_pool_t *pool)
{
    cJSON         *j, *e, *param;
    chaton_buf_t   b;

    /* what any dialect's refusal is; then chat's param and SSE form */

    fz_parse_refused(rc, err, pool);

    chaton_buf_init(&b, &pool->a, 0);
    FZ_CHECK(chaton_error_json(&b, err) == CHATON_OK, "error_json failed");

    j = fz_json(b.data, b.len, "the error");
    e = cJSON_GetObjectItemCaseSensitive(j, "error");
    param = cJSON_GetObjectItemCaseSensitive(e, "param");

    if (err->param) {
        FZ_CHECK(cJSON_IsString(param)
                 && strcmp(param->valuestring, err->param) == 0,
                 "param is not \"%s\"", err->param);
    } else {
        FZ_CHECK(cJSON_IsNull(param), "param is not null");
    }

    cJSON_Delete(j);

    b.len = 0;
    FZ_CHECK(chaton_error_event(&b, err) == CHATON_OK, "error_event failed");
    FZ_CHECK(b.len > 8 && memcmp(b.data, "data: ", 6) == 0
             && memcmp(b.data + b.len - 2, "\n\n", 2) == 0,
             "an error event is not \"data: ...\\n\\n\"");
    fz_check_error_json(b.data + 6, b.len - 8);
}


/* the bytes of a decoded JSON string equal these */

static void
check_bytes(const cJSON *v, const unsigned char *s, size_t len,
    const char *what)
{
    FZ_CHECK(cJSON_IsString(v), "%s is not a string", what);
    FZ_CHECK(strlen(v->valuestring) == len
             && memcmp(v->valuestring, s, len) == 0,
             "%s differs: %zu bytes sent, %zu written", what, len,
             strlen(v->valuestring));
}


static void
check_body(const chaton_chat_req_t *req, const chaton_buf_t *b)
{
    int                      last;
    char                     what[64];
    size_t                   i, k, clen;
    cJSON                   *j, *msgs, *m, *imgs, *img, *v;
    unsigned char           *content;
    const chaton_message_t  *msg;

    j = fz_json(b->data, b->len, "the ChatOn body");

    FZ_CHECK(cJSON_IsObject(j), "the body is not an object");

    check_bytes(cJSON_GetObjectItemCaseSensitive(j, "model"),
                (const unsigned char *) req->entry->backend,
                req->entry->backend_len, "model");

    msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    FZ_CHECK(cJSON_IsArray(msgs)
             && (size_t) cJSON_GetArraySize(msgs) == req->nmessages,
             "messages: %d written, %zu parsed", cJSON_GetArraySize(msgs),
             req->nmessages);

    last = req->context_len ? chaton_chat_last_user(req) : -1;

    for (i = 0; i < req->nmessages; i++) {
        msg = &req->messages[i];
        m = cJSON_GetArrayItem(msgs, (int) i);

        FZ_CHECK(cJSON_IsObject(m), "messages[%zu] is not an object", i);
        FZ_CHECK(strcmp(fz_jstr(m, "role"), msg->role) == 0,
                 "messages[%zu].role differs", i);

        clen = msg->content_len + ((int) i == last ? req->context_len : 0);
        content = malloc(clen + 1);
        FZ_CHECK(content != NULL, "out of memory");

        if ((int) i == last) {
            memcpy(content, req->context, req->context_len);
            memcpy(content + req->context_len, msg->content,
                   msg->content_len);

        } else if (msg->content_len) {
            memcpy(content, msg->content, msg->content_len);
        }

        snprintf(what, sizeof(what), "messages[%zu].content", i);
        check_bytes(cJSON_GetObjectItemCaseSensitive(m, "content"), content,
                    clen, what);
        free(content);

        /* nothing blank and image-less is sent */

        FZ_CHECK(msg->nimages || msg->content_len,
                 "messages[%zu] is empty and was sent", i);

        imgs = cJSON_GetObjectItemCaseSensitive(m, "images");

        if (msg->nimages == 0) {
            FZ_CHECK(imgs == NULL, "messages[%zu] has images[]", i);
            FZ_CHECK(cJSON_GetArraySize(m) == 2,
                     "messages[%zu] has other members", i);
            continue;
        }

        FZ_CHECK(cJSON_IsArray(imgs)
                 && (size_t) cJSON_GetArraySize(imgs) == msg->nimages,
                 "messages[%zu].images: %d, not %zu", i,
                 cJSON_GetArraySize(imgs), msg->nimages);

        for (k = 0; k < msg->nimages; k++) {
            img = cJSON_GetArrayItem(imgs, (int) k);
            snprintf(what, sizeof(what), "messages[%zu].images[%zu]", i, k);
            FZ_CHECK(cJSON_IsObject(img) && cJSON_GetArraySize(img) == 1,
                     "%s is not {\"data\": ...}", what);
            check_bytes(cJSON_GetObjectItemCaseSensitive(img, "data"),
                        req->images[msg->image + k].url,
                        req->images[msg->image + k].url_len, what);
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(j, "max_tokens");
    FZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == (double) req->max_tokens,
             "max_tokens differs");

    FZ_CHECK(strcmp(fz_jstr(j, "source"),
                    req->nimages ? "chat/image_upload" : "chat/free") == 0,
             "source differs");

    FZ_CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j,
                                                     "function_web_search"))
             && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j,
                                                     "function_web_search"))
                == (cJSON_bool) (req->web_search && !req->context_len)
             && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j,
                                                      "function_image_gen"))
                == (cJSON_bool) req->image_gen
             && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j,
                                              "function_code_interpreter"))
                == (cJSON_bool) req->code_interpreter,
             "a function_* switch differs");

    if (req->web_search_engine) {
        check_bytes(cJSON_GetObjectItemCaseSensitive(j, "web_search_engine"),
                    req->web_search_engine, req->web_search_engine_len,
                    "web_search_engine");

    } else {
        FZ_CHECK(strcmp(fz_jstr(j, "web_search_engine"), "auto") == 0,
                 "web_search_engine is not auto");
    }

    FZ_CHECK(cJSON_GetArraySize(j) == 8, "the body has %d members",
             cJSON_GetArraySize(j));

    cJSON_Delete(j);
}


/* data: images get the URL an upload would have given them */

static void
fake_uploads(chaton_chat_req_t *req, fz_pool_t *pool)
{
    int             n;
    size_t          i;
    unsigned char  *url;

    for (i = 0; i < req->nimages; i++) {
        if (req->images[i].url) {
            continue;
        }

        FZ_CHECK(req->images[i].data && req->images[i].data_len
                 && req->images[i].mime && req->images[i].ext,
                 "images[%zu] has neither a URL nor data", i);

        url = fz_alloc(pool, 64);
        n = snprintf((char *) url, 64, "https://cdn.example/u/%zu.%s", i,
                     req->images[i].ext);

        req->images[i].url = url;
        req->images[i].url_len = (size_t) n;
    }
}


/* the core's tree of a strict text is cJSON's (t/unit/test_json.c too) */

static void
check_tree(const uint8_t *data, size_t size)
{
    int                 rc;
    cJSON              *ours, *theirs;
    fz_pool_t           pool;
    chaton_json_room_t  room;

    if (!chaton_json_check(data, size, &room)) {
        return;
    }

    fz_pool_init(&pool, 1);

    rc = chaton_json_tree(&ours, data, size, &room, &pool.a);
    theirs = chaton_json_parse(data, size);

    if (rc == CHATON_OK) {
        FZ_CHECK(theirs != NULL && chaton_t_same_json(ours, theirs),
                 "the tree is not cJSON's");
        FZ_CHECK(fz_pool_live(&pool)
                 == room.values * sizeof(cJSON) + room.text,
                 "the tree is not one block of its room");
        chaton_json_tree_free(ours, &pool.a);
        FZ_CHECK(fz_pool_live(&pool) == 0, "the tree's block is kept");

    } else {
        FZ_CHECK(rc == CHATON_BAD && ours == NULL && theirs == NULL,
                 "the tree failed (%d) where cJSON %s", rc,
                 theirs ? "parses" : "fails too, but not so");
    }

    cJSON_Delete(theirs);
    fz_pool_release(&pool);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc, rc2, context;
    size_t               nmodels, allocs;
    uint64_t             h;
    fz_pool_t            pool, pool2;
    chaton_buf_t         b;
    chaton_error_t       err;
    chaton_model_t       table[64];
    chaton_chat_req_t    req, req2;
    chaton_chat_conf_t   conf;

    check_tree(data, size);

    h = fz_hash(data, size);
    context = (h >> 7) & 1;

    conf_init(&conf, table, &nmodels, h);

    /* as the module: the allocator frees (large pool blocks) */

    fz_pool_init(&pool, 1);
    memset(&err, 0, sizeof(err));

    rc = chaton_chat_parse(&req, &pool.a, &conf, data, size, &err);
    allocs = pool.allocs;

    if (rc != CHATON_OK) {
        check_refusal(rc, &err, &pool);

        /* with a default model, no model is unknown */

        FZ_CHECK(conf.fallback == NULL || err.code == NULL
                 || strcmp(err.code, "model_not_found") != 0,
                 "a 404 with a default model");
        goto failing;
    }

    FZ_CHECK(req.entry != NULL && req.model && req.nmessages > 0
             && req.nmessages <= 10000 && req.nimages <= conf.max_images,
             "an accepted request that makes no sense");

    /* the table's entry, or the default one for a name it does not know */

    FZ_CHECK(req.entry == chaton_model_find(table, nmodels, req.model,
                                            req.model_len)
             || (req.entry == conf.fallback
                 && chaton_model_find(table, nmodels, req.model,
                                      req.model_len) == NULL),
             "the model is not the table's nor the default");

    /* what is sent fits in twice the window, by the estimate */

    FZ_CHECK(req.entry->context == 0
             || chaton_usage_tokens(&req.prompt) <= 2 * req.entry->context,
             "%llu tokens sent for a window of %llu",
             (unsigned long long) chaton_usage_tokens(&req.prompt),
             (unsigned long long) req.entry->context);

    if (context) {
        req.context = (const unsigned char *) CONTEXT;
        req.context_len = sizeof(CONTEXT) - 1;
    }

    fake_uploads(&req, &pool);

    chaton_buf_init(&b, &pool.a, 0);
    FZ_CHECK(chaton_chat_body(&b, &req) == CHATON_OK, "chat_body failed");
    check_body(&req, &b);

    /* writing the body with an allocator that fails */

    fz_pool_init(&pool2, 0);
    pool2.fail_at = 1 + (h >> 8) % 4;
    chaton_buf_init(&b, &pool2.a, 0);
    rc2 = chaton_chat_body(&b, &req);
    FZ_CHECK(rc2 == CHATON_ERROR || (rc2 == CHATON_OK && !pool2.refused),
             "chat_body with failing allocations returned %d", rc2);
    fz_pool_release(&pool2);

failing:

    /* the same parse, with the allocator failing part way */

    if (allocs) {
        fz_pool_init(&pool2, 0);
        pool2.fail_at = 1 + (h >> 16) % allocs;
        memset(&err, 0, sizeof(err));

        rc2 = chaton_chat_parse(&req2, &pool2.a, &conf, data, size, &err);

        FZ_CHECK(rc2 == CHATON_ERROR || (rc2 == rc && !pool2.refused),
                 "a parse failing at allocation %zu of %zu returned %d",
                 pool2.fail_at, allocs, rc2);

        fz_pool_release(&pool2);
    }

    fz_pool_release(&pool);

    return 0;
}
