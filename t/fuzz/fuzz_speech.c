/*
 * chaton_speech: the /v1/audio/speech translator and the streamed audio
 * writer.
 *
 * Input: [what] ...
 *
 *   what bit 0 = 0   a request body: chaton_speech_parse(), then
 *                    chaton_speech_body() when accepted
 *   what bit 0 = 1   [split seed] audio bytes: fed to chaton_speech_delta()
 *                    in pieces of input-derived lengths (empty ones too),
 *                    then chaton_speech_done()
 *
 * Checks: a refused body gives a valid OpenAI error (400); an accepted one
 * a ChatOn body that is one valid JSON object with the input byte for byte,
 * a listed model and voice, mp3, the speed as given (to %g's precision)
 * and stream false.  The audio events are "data: <JSON>\n\n" each, deltas
 * of whole 3-byte groups (no padding but in the last), which decode,
 * concatenated, to exactly the bytes given, then one speech.audio.done
 * with the usage.
 */

#include <math.h>

#include "fuzz.h"
#include "chaton_speech.h"


static void
check_request(const uint8_t *s, size_t len)
{
    int                  rc;
    cJSON               *j, *v;
    fz_pool_t            pool;
    chaton_buf_t         b;
    chaton_error_t       err;
    chaton_speech_req_t  req;

    fz_pool_init(&pool, 1);
    memset(&err, 0, sizeof(err));

    rc = chaton_speech_parse(&req, &pool.a, s, len, &err);

    chaton_buf_init(&b, &pool.a, 0);

    if (rc != CHATON_OK) {
        FZ_CHECK(rc == CHATON_BAD && err.status == 400,
                 "speech_parse: %d, status %d", rc, err.status);
        FZ_CHECK(chaton_error_json(&b, &err) == CHATON_OK, "error_json");
        fz_check_error_json(b.data, b.len);
        fz_pool_release(&pool);
        return;
    }

    FZ_CHECK(req.input && req.input_len && req.model && req.voice
             && req.speed >= 0.25 && req.speed <= 4.0,
             "an accepted request that makes no sense");

    FZ_CHECK(chaton_speech_body(&b, &req) == CHATON_OK, "speech_body");

    j = fz_json(b.data, b.len, "the speech body");
    FZ_CHECK(cJSON_IsObject(j) && cJSON_GetArraySize(j) == 6,
             "the body is not an object of 6");

    v = cJSON_GetObjectItemCaseSensitive(j, "input");
    FZ_CHECK(cJSON_IsString(v) && strlen(v->valuestring) == req.input_len
             && memcmp(v->valuestring, req.input, req.input_len) == 0,
             "input differs");

    FZ_CHECK(strcmp(fz_jstr(j, "model"), req.model) == 0, "model");
    FZ_CHECK(strcmp(fz_jstr(j, "voice"), req.voice) == 0, "voice");
    FZ_CHECK(strcmp(fz_jstr(j, "response_format"), "mp3") == 0, "format");
    FZ_CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "stream")),
             "stream");

    v = cJSON_GetObjectItemCaseSensitive(j, "speed");
    FZ_CHECK(cJSON_IsNumber(v)
             && fabs(v->valuedouble - req.speed) <= req.speed * 1e-5,
             "speed %g sent for %g", v->valuedouble, req.speed);

    cJSON_Delete(j);
    fz_pool_release(&pool);
}


static void
check_audio(const uint8_t *s, size_t len)
{
    int                   done;
    size_t                pos, n;
    uint64_t              st;
    fz_pool_t             pool;
    chaton_buf_t          out, dec;
    const char           *type, *audio;
    unsigned char        *copy, *p, *end, *e;
    chaton_speech_sse_t   sse;
    cJSON                *j, *u;

    if (len < 1) {
        return;
    }

    st = (s[0] + 1) * 0x9e3779b97f4a7c15ull;
    s++;
    len--;

    fz_pool_init(&pool, 1);
    chaton_buf_init(&out, &pool.a, 0);
    chaton_buf_init(&dec, &pool.a, 0);
    memset(&sse, 0, sizeof(sse));

    for (pos = 0; pos <= len; pos += n) {
        n = fz_rand(&st) % 8 == 0 ? 0 : 1 + fz_rand(&st) % 7;

        if (n > len - pos) {
            n = len - pos;
        }

        if (n == 0 && pos == len) {
            break;
        }

        copy = malloc(n ? n : 1);
        FZ_CHECK(copy != NULL, "out of memory");
        if (n) {
            memcpy(copy, s + pos, n);
        }

        FZ_CHECK(chaton_speech_delta(&sse, &out, copy, n) == CHATON_OK,
                 "speech_delta");

        free(copy);
    }

    FZ_CHECK(chaton_speech_done(&sse, &out, 7) == CHATON_OK, "speech_done");

    /* the events */

    p = out.data;
    end = out.data + out.len;
    done = 0;

    while (p < end) {
        FZ_CHECK(!done, "an event after speech.audio.done");
        FZ_CHECK(end - p > 8 && memcmp(p, "data: ", 6) == 0,
                 "an event does not start with \"data: \"");
        p += 6;

        e = memmem(p, end - p, "\n\n", 2);
        FZ_CHECK(e != NULL, "an event without its blank line");

        j = fz_json(p, e - p, "an audio event");
        type = fz_jstr(j, "type");

        if (strcmp(type, "speech.audio.delta") == 0) {
            audio = fz_jstr(j, "audio");
            n = strlen(audio);

            FZ_CHECK(n % 4 == 0 && n > 0, "a delta of %zu base64 bytes", n);

            /* padding only in the last delta: the rest are whole groups */

            if (memchr(audio, '=', n)) {
                FZ_CHECK(e + 2 < end
                         && memmem(e + 2, end - e - 2, "audio.delta", 11)
                            == NULL,
                         "a padded delta that is not the last");
            }

            FZ_CHECK(chaton_base64_decode(&dec, (unsigned char *) audio, n)
                     == CHATON_OK, "a delta that is not base64");

        } else {
            FZ_CHECK(strcmp(type, "speech.audio.done") == 0,
                     "an event of type %s", type);

            u = cJSON_GetObjectItemCaseSensitive(j, "usage");
            u = cJSON_GetObjectItemCaseSensitive(u, "input_tokens");
            FZ_CHECK(cJSON_IsNumber(u) && u->valuedouble == 7, "usage");
            done = 1;
        }

        cJSON_Delete(j);
        p = e + 2;
    }

    FZ_CHECK(done, "no speech.audio.done");

    FZ_CHECK(dec.len == len && (len == 0 || memcmp(dec.data, s, len) == 0),
             "the deltas decode to %zu bytes, not the %zu given", dec.len,
             len);

    fz_pool_release(&pool);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }

    if (data[0] & 1) {
        check_audio(data + 1, size - 1);

    } else {
        check_request(data + 1, size - 1);
    }

    return 0;
}
