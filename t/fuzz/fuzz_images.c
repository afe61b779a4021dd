/*
 * chaton_images: the /v1/images/generations translator.
 *
 * Input: the request body, as is.
 *
 * Checks: a refused body gives a valid OpenAI error (400); an accepted one
 * has a prompt, 1..10 images and one of the three aspect ratios, and its
 * ChatOn body is one valid JSON object asking for the drawing of exactly
 * the prompt, with the aspect ratio and the style (if any) byte for byte.
 * The parse is repeated with the allocator failing part way: CHATON_ERROR,
 * no leak.
 */

#include "fuzz.h"
#include "chaton_images.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc, rc2;
    cJSON                *j, *m, *v;
    size_t                allocs;
    fz_pool_t             pool, pool2;
    chaton_buf_t          b;
    const char           *content;
    chaton_error_t        err;
    chaton_images_req_t   req, req2;

    fz_pool_init(&pool, 1);
    chaton_buf_init(&b, &pool.a, 0);
    memset(&err, 0, sizeof(err));

    rc = chaton_images_parse(&req, &pool.a, data, size, &err);
    allocs = pool.allocs;

    if (rc != CHATON_OK) {
        FZ_CHECK(rc == CHATON_BAD && err.status == 400,
                 "images_parse: %d, status %d", rc, err.status);
        FZ_CHECK(chaton_error_json(&b, &err) == CHATON_OK, "error_json");
        fz_check_error_json(b.data, b.len);
        goto failing;
    }

    FZ_CHECK(req.prompt && req.prompt_len && req.n >= 1
             && req.n <= CHATON_IMAGES_MAX_N && req.aspect
             && (strcmp(req.aspect, "1:1") == 0
                 || strcmp(req.aspect, "16:9") == 0
                 || strcmp(req.aspect, "9:16") == 0),
             "an accepted request that makes no sense");

    FZ_CHECK(chaton_images_body(&b, &req) == CHATON_OK, "images_body");

    j = fz_json(b.data, b.len, "the images body");
    FZ_CHECK(cJSON_IsObject(j), "the body is not an object");

    m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "messages"),
                           0);
    FZ_CHECK(cJSON_IsObject(m), "no message");
    content = fz_jstr(m, "content");

    FZ_CHECK(strncmp(content, "Draw: ", 6) == 0
             && strlen(content + 6) == req.prompt_len
             && memcmp(content + 6, req.prompt, req.prompt_len) == 0,
             "the prompt differs");

    FZ_CHECK(strcmp(fz_jstr(j, "image_aspect_ratio"), req.aspect) == 0,
             "the aspect ratio differs");
    FZ_CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j,
                                                    "function_image_gen")),
             "function_image_gen is not true");

    v = cJSON_GetObjectItemCaseSensitive(j, "image_style");

    if (req.style) {
        FZ_CHECK(cJSON_IsString(v) && strlen(v->valuestring) == req.style_len
                 && memcmp(v->valuestring, req.style, req.style_len) == 0,
                 "the style differs");
    } else {
        FZ_CHECK(v == NULL, "a style not asked for");
    }

    cJSON_Delete(j);

failing:

    if (allocs) {
        fz_pool_init(&pool2, 0);
        pool2.fail_at = 1 + fz_hash(data, size) % allocs;
        memset(&err, 0, sizeof(err));

        rc2 = chaton_images_parse(&req2, &pool2.a, data, size, &err);

        FZ_CHECK(rc2 == CHATON_ERROR || (rc2 == rc && !pool2.refused),
                 "a parse failing at allocation %zu of %zu returned %d",
                 pool2.fail_at, allocs, rc2);

        fz_pool_release(&pool2);
    }

    fz_pool_release(&pool);

    return 0;
}
