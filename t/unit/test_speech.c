/*
 * chaton_speech.h: OpenAI /v1/audio/speech body -> ChatOn /audio/speech
 * body, every refusal, and OpenAI's streamed speech events: the audio as
 * base64 in speech.audio.delta events (whole 3-byte groups each), then
 * speech.audio.done with usage.
 */

#include "unit.h"
#include "chaton_speech.h"


#define LS     "\xe2\x80\xa8"
#define EMOJI  "\xf0\x9f\x98\x80"

#define M      "\"model\":\"tts-1\""


static chaton_speech_req_t  req;
static chaton_error_t       err;


static int
parse_n(const char *body, size_t len)
{
    memset(&err, 0, sizeof(err));

    return chaton_speech_parse(&req, &unit_alloc,
                               (const unsigned char *) body, len, &err);
}

#define parse(s)  parse_n((s), strlen(s))


#define body_ok(s)  body_ok_at((s), strlen(s), __LINE__)

static cJSON *
body_ok_at(const char *s, size_t len, int line)
{
    chaton_buf_t  b;

    if (parse_n(s, len) != CHATON_OK) {
        print_error("line %d: refused (%d %.*s): %.200s\n", line, err.status,
                    (int) err.text_len, err.text, s);
        fail();
    }

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_speech_body(&b, &req), CHATON_OK);
    unit_one_line(&b);

    return unit_json(b.data, b.len);
}


#define refused(s, param)  refused_at((s), strlen(s), (param), __LINE__)

static void
refused_at(const char *s, size_t len, const char *param, int line)
{
    unit_refusal_at(parse_n(s, len), &err, 400, param, s, line);
}


static char *
input_of(const char *unit, size_t n)
{
    size_t  i, u;
    char   *s, *p;

    u = strlen(unit);
    s = unit_mem(n * u + 64);

    p = s + sprintf(s, "{" M ",\"input\":\"");

    for (i = 0; i < n; i++) {
        memcpy(p, unit, u);
        p += u;
    }

    strcpy(p, "\"}");

    return s;
}


/* ---- the ChatOn body ------------------------------------------------------- */


static void
test_speech_body(void **state)
{
    cJSON  *b, *v;

    b = body_ok("{\"model\":\"tts-1-hd\",\"input\":\"Hello there.\","
                "\"voice\":\"onyx\",\"response_format\":\"mp3\","
                "\"speed\":1.5}");

    unit_jkeys_exactly(b, "input", "model", "voice", "response_format",
                       "speed", "stream", NULL);
    assert_string_equal(unit_jstr(b, "input"), "Hello there.");
    assert_string_equal(unit_jstr(b, "model"), "tts-1-hd");
    assert_string_equal(unit_jstr(b, "voice"), "onyx");
    assert_string_equal(unit_jstr(b, "response_format"), "mp3");
    assert_true(unit_jnum(b, "speed") == 1.5);
    v = cJSON_GetObjectItemCaseSensitive(b, "stream");
    assert_true(cJSON_IsFalse(v));
    assert_false(req.sse);

    /* the defaults: voice nova, speed 1, mp3, not streamed */

    b = body_ok("{" M ",\"input\":\"x\"}");
    unit_jkeys_exactly(b, "input", "model", "voice", "response_format",
                       "speed", "stream", NULL);
    assert_string_equal(unit_jstr(b, "model"), "tts-1");
    assert_string_equal(unit_jstr(b, "voice"), "nova");
    assert_string_equal(unit_jstr(b, "response_format"), "mp3");
    assert_true(unit_jnum(b, "speed") == 1);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(b, "stream")));
    assert_true(req.speed == 1);
    assert_false(req.sse);

    /* nulls are defaults too; unknown fields are ignored */

    b = body_ok("{" M ",\"input\":\"x\",\"voice\":null,\"speed\":null,"
                "\"response_format\":null,\"stream_format\":null,"
                "\"instructions\":\"calm\"}");
    assert_string_equal(unit_jstr(b, "voice"), "nova");
    assert_true(unit_jnum(b, "speed") == 1);
    assert_false(req.sse);
}


static void
test_speech_body_escaping(void **state)
{
    size_t   i;
    cJSON   *b;
    char    *body;

    static const char  *input[] = {
        "He said \"hi\"",
        "back\\slash /slash",
        "line1\nline2\r\ttab",
        LS " and \xe2\x80\xa9",
        "\x01\x1f control",
        "</script>",
        "caf\xc3\xa9 \xe4\xb8\xad " EMOJI,
    };

    for (i = 0; i < sizeof(input) / sizeof(input[0]); i++) {
        cJSON  *r = cJSON_CreateObject();
        char   *s;

        cJSON_AddStringToObject(r, "model", "tts-1");
        cJSON_AddStringToObject(r, "input", input[i]);
        s = cJSON_PrintUnformatted(r);
        cJSON_Delete(r);
        body = unit_strn(s, strlen(s));
        free(s);

        b = body_ok(body);
        assert_string_equal(unit_jstr(b, "input"), input[i]);
        assert_int_equal(req.input_len, strlen(input[i]));
        assert_memory_equal(req.input, input[i], req.input_len);
    }
}


static void
test_speech_voices_models(void **state)
{
    size_t   i;
    char     body[128];
    cJSON   *b;

    static const char  *voice[] = {
        "alloy", "echo", "fable", "onyx", "nova", "shimmer",
    };

    for (i = 0; i < sizeof(voice) / sizeof(voice[0]); i++) {
        sprintf(body, "{" M ",\"input\":\"x\",\"voice\":\"%s\"}", voice[i]);
        b = body_ok(body);
        assert_string_equal(unit_jstr(b, "voice"), voice[i]);
        assert_string_equal(req.voice, voice[i]);
    }

    refused("{" M ",\"input\":\"x\",\"voice\":\"Nova\"}", "voice");
    refused("{" M ",\"input\":\"x\",\"voice\":\"coral\"}", "voice");
    refused("{" M ",\"input\":\"x\",\"voice\":\"\"}", "voice");
    refused("{" M ",\"input\":\"x\",\"voice\":\"nova \"}", "voice");
    refused("{" M ",\"input\":\"x\",\"voice\":5}", "voice");
    refused("{" M ",\"input\":\"x\",\"voice\":[\"nova\"]}", "voice");

    b = body_ok("{\"model\":\"tts-1\",\"input\":\"x\"}");
    assert_string_equal(unit_jstr(b, "model"), "tts-1");
    b = body_ok("{\"model\":\"tts-1-hd\",\"input\":\"x\"}");
    assert_string_equal(unit_jstr(b, "model"), "tts-1-hd");

    refused("{\"input\":\"x\"}", "model");
    refused("{\"model\":null,\"input\":\"x\"}", "model");
    refused("{\"model\":\"gpt-4o-mini-tts\",\"input\":\"x\"}", "model");
    refused("{\"model\":\"TTS-1\",\"input\":\"x\"}", "model");
    refused("{\"model\":\"tts-1-hd-1106\",\"input\":\"x\"}", "model");
    refused("{\"model\":\"tts\",\"input\":\"x\"}", "model");
    refused("{\"model\":\"\",\"input\":\"x\"}", "model");
    refused("{\"model\":1,\"input\":\"x\"}", "model");
}


static void
test_speech_format_speed(void **state)
{
    size_t   i;
    char     body[128];
    cJSON   *b;

    static const char  *format[] = {
        "opus", "aac", "flac", "wav", "pcm", "MP3", "mp3 ", "",
    };

    static const struct {
        const char  *json;
        double       value;
    } speed[] = {
        { "0.25", 0.25 }, { "4", 4 }, { "4.0", 4 }, { "1", 1 },
        { "1.5", 1.5 }, { "0.5", 0.5 }, { "2.75", 2.75 }, { "25e-2", 0.25 },
    };

    static const char  *bad_speed[] = {
        "0.24", "4.01", "0", "-1", "100", "1e300", "\"1\"", "true", "[1]",
    };

    (void) body_ok("{" M ",\"input\":\"x\",\"response_format\":\"mp3\"}");

    for (i = 0; i < sizeof(format) / sizeof(format[0]); i++) {
        sprintf(body, "{" M ",\"input\":\"x\",\"response_format\":\"%s\"}",
                format[i]);
        refused(body, "response_format");
    }

    refused("{" M ",\"input\":\"x\",\"response_format\":3}",
            "response_format");

    for (i = 0; i < sizeof(speed) / sizeof(speed[0]); i++) {
        sprintf(body, "{" M ",\"input\":\"x\",\"speed\":%s}", speed[i].json);
        b = body_ok(body);
        assert_true(req.speed == speed[i].value);
        assert_true(unit_jnum(b, "speed") == speed[i].value);
    }

    for (i = 0; i < sizeof(bad_speed) / sizeof(bad_speed[0]); i++) {
        sprintf(body, "{" M ",\"input\":\"x\",\"speed\":%s}", bad_speed[i]);
        refused(body, "speed");
    }

    /* stream_format: audio (the default) or sse */

    (void) body_ok("{" M ",\"input\":\"x\",\"stream_format\":\"audio\"}");
    assert_false(req.sse);
    (void) body_ok("{" M ",\"input\":\"x\",\"stream_format\":\"sse\"}");
    assert_true(req.sse);

    refused("{" M ",\"input\":\"x\",\"stream_format\":\"SSE\"}",
            "stream_format");
    refused("{" M ",\"input\":\"x\",\"stream_format\":\"\"}",
            "stream_format");
    refused("{" M ",\"input\":\"x\",\"stream_format\":\"stream\"}",
            "stream_format");
    refused("{" M ",\"input\":\"x\",\"stream_format\":true}",
            "stream_format");
}


static void
test_speech_input(void **state)
{
    refused("{" M "}", "input");
    refused("{" M ",\"input\":null}", "input");
    refused("{" M ",\"input\":\"\"}", "input");
    refused("{" M ",\"input\":5}", "input");
    refused("{" M ",\"input\":[\"x\"]}", "input");
    refused("{" M ",\"input\":{\"text\":\"x\"}}", "input");
    refused("{" M ",\"text\":\"x\"}", "input");

    /* 4096 characters, not bytes */

    (void) body_ok(input_of("a", CHATON_SPEECH_MAX_INPUT));
    assert_int_equal(req.input_len, CHATON_SPEECH_MAX_INPUT);
    refused(input_of("a", CHATON_SPEECH_MAX_INPUT + 1), "input");
    assert_string_equal(err.code, "string_above_max_length");

    (void) body_ok(input_of("\xe4\xb8\xad", CHATON_SPEECH_MAX_INPUT));
    assert_int_equal(req.input_len, 3 * CHATON_SPEECH_MAX_INPUT);
    (void) body_ok(input_of(EMOJI, CHATON_SPEECH_MAX_INPUT));
    refused(input_of("\xc3\xa9", CHATON_SPEECH_MAX_INPUT + 1), "input");
    refused(input_of(EMOJI, CHATON_SPEECH_MAX_INPUT + 1), "input");
}


static void
test_speech_not_json(void **state)
{
    size_t  i;

    static const char  *bad[] = {
        "{", "{\"input\":", "not json", "{'input':'a'}",
        "{\"input\":\"a\",}", "[]", "[{\"input\":\"a\"}]", "\"input\"",
        "null", "42", "   ",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        refused(bad[i], NULL);
    }

    refused_at("", 0, NULL, __LINE__);
    refused_at("{\"input\":\"a\0b\"," M "}", 15 + sizeof(M), NULL, __LINE__);
    refused("{" M ",\"input\":\"a\\u0000b\"}", NULL);
    refused("{" M ",\"input\":\"\xff\"}", NULL);

    (void) body_ok_at("{" M ",\"input\":\"a\"}garbage",
                      sizeof("{" M ",\"input\":\"a\"}") - 1, __LINE__);
}


/* more after the object: not JSON either (as /v1/chat/completions says) */

static void
test_speech_trailing_data(void **state)
{
    refused("{" M ",\"input\":\"a\"} x", NULL);
    refused("{" M ",\"input\":\"a\"}}", NULL);
    refused("{" M ",\"input\":\"a\"}{\"input\":\"b\"}", NULL);
}


/* ---- the SSE events -------------------------------------------------------- */


/* an independent, strict standard-base64 decoder; -1 if invalid */

static int
b64_value(unsigned char c)
{
    static const char  a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char        *p;

    if (c == '\0') {
        return -1;
    }

    p = strchr(a, c);

    return p ? (int) (p - a) : -1;
}


static long
b64_decode(const char *s, unsigned char *out)
{
    int      v[4];
    size_t   i, k, len, pad;
    long     n;

    len = strlen(s);

    if (len == 0 || len % 4 != 0) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i += 4) {
        pad = 0;

        for (k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }

            if (pad) {
                return -1;
            }

            v[k] = b64_value((unsigned char) s[i + k]);
            if (v[k] < 0) {
                return -1;
            }
        }

        out[n++] = (unsigned char) (v[0] << 2 | v[1] >> 4);

        if (pad < 2) {
            out[n++] = (unsigned char) ((v[1] & 0xf) << 4 | v[2] >> 2);
        }

        if (pad < 1) {
            out[n++] = (unsigned char) ((v[2] & 0x3) << 6 | v[3]);
        }
    }

    return n;
}


/* strict like unit_json(), but the caller deletes the tree */

static cJSON *
json_strict(const char *s, size_t len)
{
    cJSON       *j;
    const char  *end;

    j = cJSON_ParseWithLengthOpts(s, len, &end, 0);

    if (j == NULL || end != s + len) {
        print_error("not one JSON value: %.*s\n", (int) len, s);
        cJSON_Delete(j);
        fail();
    }

    return j;
}


/*
 * Reads the SSE output: "data: <json>\n\n" frames, deltas then one done
 * event; the decoded audio, each delta checked alone.  Returns the done
 * event.
 */

static cJSON *
read_events(const chaton_buf_t *out, unsigned char *audio, size_t *alen,
    size_t *ndeltas)
{
    long         n;
    cJSON       *j, *done;
    size_t       last_unpadded;
    const char  *p, *end, *next, *type, *b64;

    *alen = 0;
    *ndeltas = 0;
    done = NULL;
    last_unpadded = 1;

    p = (const char *) out->data;
    end = p + out->len;

    while (p < end) {
        assert_null(done);

        assert_true(end - p > 8);
        assert_memory_equal(p, "data: ", 6);
        p += 6;

        for (next = p; next + 1 < end; next++) {
            if (next[0] == '\n' && next[1] == '\n') {
                break;
            }
        }

        assert_true(next + 1 < end);
        assert_null(memchr(p, '\n', next - p));
        assert_null(memchr(p, '\r', next - p));

        j = json_strict(p, next - p);
        type = unit_jstr(j, "type");

        if (strcmp(type, "speech.audio.delta") == 0) {

            /* a delta after a padded one could not be concatenated */
            assert_true(last_unpadded);

            unit_jkeys_exactly(j, "type", "audio", NULL);
            b64 = unit_jstr(j, "audio");

            /* never empty; decodes alone */
            assert_true(strlen(b64) > 0);
            n = b64_decode(b64, audio + *alen);

            if (n < 0) {
                print_error("delta %zu: [%s] is not base64\n", *ndeltas, b64);
                fail();
            }

            last_unpadded = (strchr(b64, '=') == NULL);
            *alen += n;
            (*ndeltas)++;

            cJSON_Delete(j);

        } else {
            if (strcmp(type, "speech.audio.done") != 0) {
                print_error("event type %s\n", type);
                cJSON_Delete(j);
                fail();
            }

            done = unit_json_keep(j);
        }

        p = next + 2;
    }

    assert_non_null(done);

    return done;
}


static void
check_done(cJSON *done, uint64_t input_tokens, size_t bytes)
{
    cJSON   *u;
    double   in, outp, total;

    unit_jkeys_exactly(done, "type", "usage", NULL);

    u = cJSON_GetObjectItemCaseSensitive(done, "usage");
    unit_jkeys_exactly(u, "input_tokens", "output_tokens", "total_tokens",
                       NULL);

    in = unit_jnum(u, "input_tokens");
    outp = unit_jnum(u, "output_tokens");
    total = unit_jnum(u, "total_tokens");

    assert_true(in == (double) input_tokens);
    assert_true(outp >= 0 && outp == (double) (uint64_t) outp);
    assert_true(total == in + outp);

    /* the estimate documented in the core: 320 bytes of mp3 a token */
    assert_true(outp == (double) (bytes / 320));
}


/* feeds data cut at cuts[] (each piece a copy of exactly its bytes) */

static void
run_sse(const unsigned char *data, size_t len, const size_t *cuts,
    size_t ncuts, uint64_t input_tokens)
{
    size_t                i, from, to, alen, nd, whole_groups;
    cJSON                *done;
    chaton_buf_t          out;
    unsigned char        *piece, *audio;
    chaton_speech_sse_t   s;

    memset(&s, 0, sizeof(s));
    chaton_buf_init(&out, &unit_alloc, 0);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;

        piece = unit_mem(to - from);
        memcpy(piece, data + from, to - from);

        assert_int_equal(chaton_speech_delta(&s, &out, piece, to - from),
                         CHATON_OK);

        unit_pool_free(&unit_pool, piece);

        /* what is not yet sent is less than a group */
        assert_true(s.nrest < 3);

        from = to;
    }

    assert_int_equal(s.bytes, len);

    /* the deltas so far carry whole groups: len - len % 3 bytes */
    whole_groups = len - s.nrest;
    assert_int_equal(whole_groups % 3, 0);

    assert_int_equal(chaton_speech_done(&s, &out, input_tokens), CHATON_OK);

    audio = unit_mem(len + 3);
    done = read_events(&out, audio, &alen, &nd);

    if (alen != len || (len && memcmp(audio, data, len) != 0)) {
        print_error("%zu bytes in %zu pieces: %zu bytes came back\n", len,
                    ncuts + 1, alen);
        fail();
    }

    check_done(done, input_tokens, len);

    unit_pool_free(&unit_pool, audio);
    unit_pool_free(&unit_pool, out.data);
}


static void
test_speech_sse_every_split(void **state)
{
    size_t          len, cut, i;
    uint64_t        seed;
    unsigned char   data[40];

    seed = 2024;

    for (len = 0; len <= sizeof(data); len++) {
        for (i = 0; i < len; i++) {
            data[i] = (unsigned char) unit_rand(&seed);
        }

        run_sse(data, len, NULL, 0, len);

        for (cut = 0; cut <= len; cut++) {
            run_sse(data, len, &cut, 1, 7);
        }
    }
}


static void
test_speech_sse_random_splits(void **state)
{
    size_t          k, i, len, ncuts, cuts[64];
    uint64_t        seed;
    unsigned char  *data;

    seed = 77;

    for (k = 0; k < 400; k++) {
        len = unit_rand_below(&seed, 3000);
        data = unit_mem(len);

        for (i = 0; i < len; i++) {
            data[i] = (unsigned char) unit_rand(&seed);
        }

        ncuts = unit_rand_below(&seed, 64);

        for (i = 0; i < ncuts; i++) {
            cuts[i] = unit_rand_below(&seed, len + 1);
        }

        for (i = 1; i < ncuts; i++) {
            size_t  j, v = cuts[i];
            for (j = i; j > 0 && cuts[j - 1] > v; j--) {
                cuts[j] = cuts[j - 1];
            }
            cuts[j] = v;
        }

        run_sse(data, len, cuts, ncuts, k);

        unit_pool_free(&unit_pool, data);
    }
}


/* byte by byte: a delta every third byte, each exactly 4 characters */

static void
test_speech_sse_byte_by_byte(void **state)
{
    size_t               i, alen, nd, len;
    cJSON               *done;
    chaton_buf_t         out;
    unsigned char        audio[64];
    chaton_speech_sse_t  s;

    static const unsigned char  data[] = "ID3\x04\x00\x00\x00\x00\x00\x00"
                                         "\xff\xfb\x90\x64\x00";

    len = sizeof(data) - 1;

    memset(&s, 0, sizeof(s));
    chaton_buf_init(&out, &unit_alloc, 0);

    for (i = 0; i < len; i++) {
        size_t  before = out.len;

        assert_int_equal(chaton_speech_delta(&s, &out, data + i, 1),
                         CHATON_OK);

        if ((i + 1) % 3 == 0) {
            assert_true(out.len > before);
            assert_int_equal(out.len - before,
                             strlen("data: {\"type\":\"speech.audio.delta\","
                                    "\"audio\":\"XXXX\"}\n\n"));
        } else {
            assert_int_equal(out.len, before);
        }
    }

    assert_int_equal(chaton_speech_done(&s, &out, 3), CHATON_OK);

    done = read_events(&out, audio, &alen, &nd);
    assert_int_equal(alen, len);
    assert_memory_equal(audio, data, len);
    assert_int_equal(nd, len / 3 + (len % 3 != 0));
    check_done(done, 3, len);

    /* nothing at all: only the done event */

    memset(&s, 0, sizeof(s));
    chaton_buf_init(&out, &unit_alloc, 0);
    assert_int_equal(chaton_speech_delta(&s, &out, data, 0), CHATON_OK);
    assert_int_equal(out.len, 0);
    assert_int_equal(chaton_speech_done(&s, &out, 0), CHATON_OK);

    done = read_events(&out, audio, &alen, &nd);
    assert_int_equal(alen, 0);
    assert_int_equal(nd, 0);
    check_done(done, 0, 0);
    assert_string_equal(unit_bufstr(&out),
                        "data: {\"type\":\"speech.audio.done\",\"usage\":"
                        "{\"input_tokens\":0,\"output_tokens\":0,"
                        "\"total_tokens\":0}}\n\n");
}


/* a large body: the usage estimate counts every byte */

static void
test_speech_sse_usage(void **state)
{
    size_t          alen, nd;
    cJSON          *done;
    chaton_buf_t    out;
    unsigned char  *data, *audio;
    chaton_speech_sse_t  s;

    data = unit_mem(100000);
    memset(data, 0x55, 100000);
    audio = unit_mem(100003);

    memset(&s, 0, sizeof(s));
    chaton_buf_init(&out, &unit_alloc, 0);

    assert_int_equal(chaton_speech_delta(&s, &out, data, 40000), CHATON_OK);
    assert_int_equal(chaton_speech_delta(&s, &out, data + 40000, 60000),
                     CHATON_OK);
    assert_int_equal(chaton_speech_done(&s, &out, 1234), CHATON_OK);

    done = read_events(&out, audio, &alen, &nd);
    assert_int_equal(alen, 100000);
    assert_memory_equal(audio, data, 100000);
    assert_int_equal(nd, 3);
    check_done(done, 1234, 100000);
    assert_true(unit_jnum(cJSON_GetObjectItemCaseSensitive(done, "usage"),
                          "output_tokens") == 312);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_speech_body),
        utest(test_speech_body_escaping),
        utest(test_speech_voices_models),
        utest(test_speech_format_speed),
        utest(test_speech_input),
        utest(test_speech_not_json),
        utest(test_speech_trailing_data),
        utest(test_speech_sse_every_split),
        utest(test_speech_sse_random_splits),
        utest(test_speech_sse_byte_by_byte),
        utest(test_speech_sse_usage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
