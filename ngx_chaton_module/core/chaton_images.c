/*
 * Image generation.  ChatOn draws in its chat: a /chats/stream request with
 * source "chat/pro_image", function_image_gen on and a "Draw: <prompt>" user
 * turn; the answer's text carries the picture as a spc.unk placeholder.
 */

#include <math.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "chaton_images.h"
#include "chaton_request.h"


static const struct {
    const char             *size;
    const char             *aspect;
} chaton_images_sizes[] = {
    { "auto", "1:1" },
    { "256x256", "1:1" },
    { "512x512", "1:1" },
    { "1024x1024", "1:1" },
    { "1792x1024", "16:9" },
    { "1536x1024", "16:9" },
    { "1024x1792", "9:16" },
    { "1024x1536", "9:16" },
};


static int chaton_images_gpt_image(const unsigned char *model, size_t len);


static unsigned char *
chaton_images_copy(chaton_alloc_t *a, const char *s, size_t *len)
{
    unsigned char  *p;

    *len = strlen(s);

    p = a->alloc(a->pool, *len + 1);
    if (p) {
        memcpy(p, s, *len + 1);
    }

    return p;
}


static int
chaton_images_fields(chaton_images_req_t *req, chaton_alloc_t *a, cJSON *root,
    chaton_error_t *err)
{
    size_t   i;
    cJSON   *v;

    v = cJSON_GetObjectItemCaseSensitive(root, "prompt");

    if (v == NULL || cJSON_IsNull(v)) {
        return chaton_error_set(err, 400, "prompt", NULL,
                                "Missing required parameter: 'prompt'.");
    }

    if (!cJSON_IsString(v)) {
        return chaton_error_set(err, 400, "prompt", NULL,
                                "'prompt' must be a non-empty string");
    }

    /* a prompt of white space is no prompt: refused like a missing one */

    if (chaton_blank((const unsigned char *) v->valuestring,
                     strlen(v->valuestring)))
    {
        return chaton_error_set(err, 400, "prompt", NULL,
                                "Missing required parameter: 'prompt' "
                                "(it is empty or only white space).");
    }

    req->prompt = chaton_images_copy(a, v->valuestring, &req->prompt_len);
    if (req->prompt == NULL) {
        return CHATON_ERROR;
    }

    if (chaton_utf8_chars(req->prompt, req->prompt_len)
        > CHATON_IMAGES_MAX_PROMPT)
    {
        return chaton_error_set(err, 400, "prompt", "string_above_max_length",
                                "'prompt' is longer than %d characters",
                                CHATON_IMAGES_MAX_PROMPT);
    }

    v = cJSON_GetObjectItemCaseSensitive(root, "model");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v)) {
            return chaton_error_set(err, 400, "model", NULL,
                                    "'model' must be a string");
        }

        req->model = chaton_images_copy(a, v->valuestring, &req->model_len);
        if (req->model == NULL) {
            return CHATON_ERROR;
        }
    }

    req->n = 1;

    v = cJSON_GetObjectItemCaseSensitive(root, "n");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)
            || v->valuedouble < 1 || v->valuedouble > CHATON_IMAGES_MAX_N)
        {
            return chaton_error_set(err, 400, "n", NULL,
                                    "'n' must be an integer from 1 to %d",
                                    CHATON_IMAGES_MAX_N);
        }

        req->n = (unsigned) v->valuedouble;
    }

    req->aspect = "1:1";

    v = cJSON_GetObjectItemCaseSensitive(root, "size");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v)) {
            return chaton_error_set(err, 400, "size", NULL,
                                    "'size' must be a string");
        }

        req->aspect = NULL;

        for (i = 0;
             i < sizeof(chaton_images_sizes) / sizeof(chaton_images_sizes[0]);
             i++)
        {
            if (strcmp(v->valuestring, chaton_images_sizes[i].size) == 0) {
                req->aspect = chaton_images_sizes[i].aspect;
                break;
            }
        }

        if (req->aspect == NULL) {
            return chaton_error_set(err, 400, "size", "invalid_size",
                                    "'%.40s' is not a supported size: "
                                    "256x256, 512x512, 1024x1024, 1792x1024, "
                                    "1024x1792, 1536x1024, 1024x1536 or auto",
                                    v->valuestring);
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(root, "style");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0'
            || strlen(v->valuestring) > 64)
        {
            return chaton_error_set(err, 400, "style", NULL,
                                    "'style' must be a short string such as "
                                    "vivid or natural");
        }

        req->style = chaton_images_copy(a, v->valuestring, &req->style_len);
        if (req->style == NULL) {
            return CHATON_ERROR;
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(root, "response_format");

    if (v && !cJSON_IsNull(v)) {
        if (cJSON_IsString(v) && strcmp(v->valuestring, "b64_json") == 0) {
            req->b64 = 1;

        } else if (!cJSON_IsString(v) || strcmp(v->valuestring, "url") != 0) {
            return chaton_error_set(err, 400, "response_format", NULL,
                                    "'response_format' must be 'url' or "
                                    "'b64_json'");
        }
    }

    /*
     * OpenAI's GPT image models always answer base64, whatever
     * response_format says, and their clients (the AI SDK) read only that
     */

    if (chaton_images_gpt_image(req->model, req->model_len)) {
        req->b64 = 1;
    }

    return CHATON_OK;
}


static int
chaton_images_gpt_image(const unsigned char *model, size_t len)
{
    size_t  i;

    static const struct {
        const char  *prefix;
        size_t       len;
    } gpt_image[] = {
        { "gpt-image-", sizeof("gpt-image-") - 1 },
        { "chatgpt-image-", sizeof("chatgpt-image-") - 1 },
    };

    for (i = 0; i < sizeof(gpt_image) / sizeof(gpt_image[0]); i++) {
        if (len > gpt_image[i].len
            && chaton_strncaseeq(model, gpt_image[i].prefix,
                                 gpt_image[i].len))
        {
            return 1;
        }
    }

    return 0;
}


int
chaton_images_parse(chaton_images_req_t *req, chaton_alloc_t *a,
    const unsigned char *body, size_t len, chaton_error_t *err)
{
    int     rc;
    cJSON  *root;

    memset(req, 0, sizeof(chaton_images_req_t));

    root = chaton_json_body(body, len, err);
    if (root == NULL) {
        return CHATON_BAD;
    }

    rc = chaton_images_fields(req, a, root, err);

    cJSON_Delete(root);

    return rc;
}


int
chaton_images_body(chaton_buf_t *out, const chaton_images_req_t *req)
{
    chaton_try(chaton_buf_literal(out, "{\"model\":\"gpt-4o\",\"messages\":"
                                       "[{\"role\":\"user\",\"content\":"
                                       "\"Draw: "));
    chaton_try(chaton_json_escape(out, req->prompt, req->prompt_len));
    chaton_try(chaton_buf_literal(out, "\"}],\"max_tokens\":8000,"
                                       "\"source\":\"chat/pro_image\","
                                       "\"function_web_search\":false,"
                                       "\"function_image_gen\":true,"
                                       "\"function_code_interpreter\":false,"
                                       "\"web_search_engine\":\"auto\","
                                       "\"image_aspect_ratio\":"));
    chaton_try(chaton_json_cstring(out, req->aspect));

    if (req->style) {
        chaton_try(chaton_buf_literal(out, ",\"image_style\":"));
        chaton_try(chaton_json_string(out, req->style, req->style_len));
    }

    return chaton_buf_literal(out, "}");
}


int
chaton_images_answer_head(chaton_buf_t *b, uint64_t created)
{
    chaton_try(chaton_buf_literal(b, "{\"created\":"));
    chaton_try(chaton_buf_append_uint(b, created));

    return chaton_buf_literal(b, ",\"data\":[");
}


int
chaton_images_answer_url(chaton_buf_t *b, size_t n, const unsigned char *url,
    size_t len)
{
    chaton_try(chaton_buf_append_str(b, n ? ",{\"url\":" : "{\"url\":"));
    chaton_try(chaton_json_string(b, url, len));

    return chaton_buf_literal(b, "}");
}


/* base64 needs no escaping: the image's own bytes go between these two */

int
chaton_images_answer_b64_open(chaton_buf_t *b, size_t n)
{
    return chaton_buf_append_str(b, n ? ",{\"b64_json\":\""
                                      : "{\"b64_json\":\"");
}


int
chaton_images_answer_b64_close(chaton_buf_t *b)
{
    return chaton_buf_literal(b, "\"}");
}


int
chaton_images_answer_end(chaton_buf_t *b)
{
    return chaton_buf_literal(b, "]}");
}
