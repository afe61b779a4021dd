/*
 * Text to speech.  ChatOn answers mp3 only; the voices and models are
 * OpenAI's.  Streamed as OpenAI does it ("stream_format": "sse"), the audio
 * goes out as it arrives, base64 in speech.audio.delta events: every event
 * carries whole 3-byte groups, the 0-2 bytes left over wait for the next
 * piece, so the concatenated deltas decode to the exact bytes.
 */

#include <math.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "chaton_request.h"
#include "chaton_speech.h"


static const char  *chaton_speech_models[] = { "tts-1", "tts-1-hd", NULL };
static const char  *chaton_speech_voices[] = {
    "alloy", "echo", "fable", "onyx", "nova", "shimmer", NULL
};


static const char *
chaton_speech_one_of(const char *s, const char **list)
{
    for ( /* void */ ; *list; list++) {
        if (strcmp(s, *list) == 0) {
            return *list;
        }
    }

    return NULL;
}


static int
chaton_speech_choice(cJSON *root, const char *name, const char **list,
    const char *dflt, const char **value, chaton_error_t *err)
{
    char     all[96];
    cJSON   *v;
    size_t   i;

    v = cJSON_GetObjectItemCaseSensitive(root, name);

    if (v == NULL || cJSON_IsNull(v)) {
        *value = dflt;

        if (dflt == NULL) {
            return chaton_error_set(err, 400, name, NULL,
                                    "Missing required parameter: '%s'.",
                                    name);
        }

        return CHATON_OK;
    }

    *value = cJSON_IsString(v) ? chaton_speech_one_of(v->valuestring, list)
                               : NULL;

    if (*value == NULL) {
        all[0] = '\0';

        for (i = 0; list[i]; i++) {
            (void) snprintf(all + strlen(all), sizeof(all) - strlen(all),
                            "%s%s", i ? ", " : "", list[i]);
        }

        return chaton_error_set(err, 400, name, "unsupported_value",
                                "'%s' must be one of %s", name, all);
    }

    return CHATON_OK;
}


static int
chaton_speech_fields(chaton_speech_req_t *req, chaton_alloc_t *a, cJSON *root,
    chaton_error_t *err)
{
    cJSON       *v;
    const char  *format;

    v = cJSON_GetObjectItemCaseSensitive(root, "input");

    if (v == NULL || cJSON_IsNull(v)) {
        return chaton_error_set(err, 400, "input", NULL,
                                "Missing required parameter: 'input'.");
    }

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return chaton_error_set(err, 400, "input", NULL,
                                "'input' must be a non-empty string");
    }

    req->input_len = strlen(v->valuestring);

    if (chaton_utf8_chars((const unsigned char *) v->valuestring,
                          req->input_len) > CHATON_SPEECH_MAX_INPUT)
    {
        return chaton_error_set(err, 400, "input", "string_above_max_length",
                                "'input' is longer than %d characters",
                                CHATON_SPEECH_MAX_INPUT);
    }

    req->input = a->alloc(a->pool, req->input_len + 1);
    if (req->input == NULL) {
        return CHATON_ERROR;
    }

    memcpy(req->input, v->valuestring, req->input_len + 1);

    chaton_try(chaton_speech_choice(root, "model", chaton_speech_models, NULL,
                                    &req->model, err));
    chaton_try(chaton_speech_choice(root, "voice", chaton_speech_voices,
                                    "nova", &req->voice, err));

    v = cJSON_GetObjectItemCaseSensitive(root, "response_format");

    if (v && !cJSON_IsNull(v)) {
        format = cJSON_IsString(v) ? v->valuestring : "";

        if (strcmp(format, "mp3") != 0) {
            return chaton_error_set(err, 400, "response_format",
                                    "unsupported_value",
                                    "'response_format' '%.20s' is not "
                                    "available: the backend answers mp3 "
                                    "only", format);
        }
    }

    req->speed = 1;

    v = cJSON_GetObjectItemCaseSensitive(root, "speed");

    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || isnan(v->valuedouble)
            || v->valuedouble < 0.25 || v->valuedouble > 4.0)
        {
            return chaton_error_set(err, 400, "speed", NULL,
                                    "'speed' must be a number from 0.25 to "
                                    "4.0");
        }

        req->speed = v->valuedouble;
    }

    v = cJSON_GetObjectItemCaseSensitive(root, "stream_format");

    if (v && !cJSON_IsNull(v)) {
        if (cJSON_IsString(v) && strcmp(v->valuestring, "sse") == 0) {
            req->sse = 1;

        } else if (!cJSON_IsString(v)
                   || strcmp(v->valuestring, "audio") != 0)
        {
            return chaton_error_set(err, 400, "stream_format", NULL,
                                    "'stream_format' must be 'audio' or "
                                    "'sse'");
        }
    }

    return CHATON_OK;
}


int
chaton_speech_parse(chaton_speech_req_t *req, chaton_alloc_t *a,
    const unsigned char *body, size_t len, chaton_error_t *err)
{
    int     rc;
    cJSON  *root;

    memset(req, 0, sizeof(chaton_speech_req_t));

    root = chaton_json_body(body, len, err);
    if (root == NULL) {
        return CHATON_BAD;
    }

    rc = chaton_speech_fields(req, a, root, err);

    cJSON_Delete(root);

    return rc;
}


int
chaton_speech_body(chaton_buf_t *out, const chaton_speech_req_t *req)
{
    char  speed[32];

    (void) snprintf(speed, sizeof(speed), "%g", req->speed);

    chaton_try(chaton_buf_literal(out, "{\"input\":"));
    chaton_try(chaton_json_string(out, req->input, req->input_len));
    chaton_try(chaton_buf_literal(out, ",\"model\":"));
    chaton_try(chaton_json_cstring(out, req->model));
    chaton_try(chaton_buf_literal(out, ",\"voice\":"));
    chaton_try(chaton_json_cstring(out, req->voice));
    chaton_try(chaton_buf_literal(out, ",\"response_format\":\"mp3\","
                                       "\"speed\":"));
    chaton_try(chaton_buf_append_str(out, speed));

    return chaton_buf_literal(out, ",\"stream\":false}");
}


static int
chaton_speech_event(chaton_buf_t *out, const unsigned char *data, size_t len)
{
    chaton_try(chaton_buf_literal(out, "data: {\"type\":\"speech.audio.delta\","
                                       "\"audio\":\""));
    chaton_try(chaton_base64_encode(out, data, len));

    return chaton_buf_literal(out, "\"}\n\n");
}


int
chaton_speech_delta(chaton_speech_sse_t *s, chaton_buf_t *out,
    const unsigned char *data, size_t len)
{
    size_t         n, whole;
    unsigned char  group[3];

    s->bytes += len;

    if (s->nrest + len < 3) {
        memcpy(s->rest + s->nrest, data, len);
        s->nrest += len;
        return CHATON_OK;
    }

    /* complete the group left over last time, then whole groups only */

    n = 0;

    if (s->nrest) {
        n = 3 - s->nrest;
        memcpy(group, s->rest, s->nrest);
        memcpy(group + s->nrest, data, n);
    }

    whole = (len - n) / 3 * 3;

    chaton_try(chaton_buf_literal(out, "data: {\"type\":\"speech.audio.delta\","
                                       "\"audio\":\""));

    if (s->nrest) {
        chaton_try(chaton_base64_encode(out, group, 3));
    }

    chaton_try(chaton_base64_encode(out, data + n, whole));
    chaton_try(chaton_buf_literal(out, "\"}\n\n"));

    s->nrest = len - n - whole;
    memcpy(s->rest, data + n + whole, s->nrest);

    return CHATON_OK;
}


/* the last bytes, and the end: OpenAI's usage counts tokens; bytes here */

int
chaton_speech_done(chaton_speech_sse_t *s, chaton_buf_t *out,
    uint64_t input_tokens)
{
    uint64_t  output;

    if (s->nrest) {
        chaton_try(chaton_speech_event(out, s->rest, s->nrest));
        s->nrest = 0;
    }

    /* about 50 audio tokens a second; 16 kB of mp3 is about a second */

    output = s->bytes / 320;

    chaton_try(chaton_buf_literal(out, "data: {\"type\":\"speech.audio.done\","
                                       "\"usage\":{\"input_tokens\":"));
    chaton_try(chaton_buf_append_uint(out, input_tokens));
    chaton_try(chaton_buf_literal(out, ",\"output_tokens\":"));
    chaton_try(chaton_buf_append_uint(out, output));
    chaton_try(chaton_buf_literal(out, ",\"total_tokens\":"));
    chaton_try(chaton_buf_append_uint(out, input_tokens + output));

    return chaton_buf_literal(out, "}}\n\n");
}
