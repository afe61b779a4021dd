/*
 * chaton_error: the backend error mapping and the OpenAI error writer.
 *
 * Input: [status hi] [status lo] [flags] body bytes...
 *
 *   status   the backend's HTTP status, 0..999 (0: no answer)
 *   flags    bit 0: the call timed out; bit 1: also fuzz chaton_error_set()
 *            with the body as the param name and the message
 *
 * Checks: chaton_error_backend() maps every status to one of the answers
 * README lists (never passing a 401/403 through, never a 2xx), with a
 * message of at most 255 bytes that is valid UTF-8 whenever the backend's
 * text was (a cut never splits a character); chaton_error_json() and
 * chaton_error_event() give valid OpenAI error objects for it and for
 * anything chaton_error_set() is given.
 */

#include "fuzz.h"
#include "chaton_error.h"


static void
check_writers(const chaton_error_t *e)
{
    fz_pool_t     pool;
    chaton_buf_t  b;

    fz_pool_init(&pool, 1);
    chaton_buf_init(&b, &pool.a, 0);

    FZ_CHECK(chaton_error_json(&b, e) == CHATON_OK, "error_json");
    fz_check_error_json(b.data, b.len);

    b.len = 0;
    FZ_CHECK(chaton_error_event(&b, e) == CHATON_OK, "error_event");
    FZ_CHECK(b.len > 8 && memcmp(b.data, "data: ", 6) == 0
             && memcmp(b.data + b.len - 2, "\n\n", 2) == 0
             && memchr(b.data, '\n', b.len - 2) == NULL,
             "an error event is not one \"data: ...\\n\\n\" line");
    fz_check_error_json(b.data + 6, b.len - 8);

    fz_pool_release(&pool);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             status, timed_out;
    char           *param;
    size_t          len;
    const uint8_t  *body;
    chaton_error_t  e;

    if (size < 3) {
        return 0;
    }

    status = ((data[0] << 8) | data[1]) % 1000;
    timed_out = data[2] & 1;
    body = data + 3;
    len = size - 3;

    memset(&e, 0x5a, sizeof(e));

    chaton_error_backend(&e, status, timed_out, body, len);

    FZ_CHECK(e.text != NULL && e.text_len > 0
             && e.text_len < sizeof(e.buf), "a message of %zu bytes",
             e.text_len);
    FZ_CHECK(e.code != NULL, "no code");
    FZ_CHECK(e.param == NULL, "a param");

    if (status == 0) {
        FZ_CHECK(e.status == (timed_out ? 504 : 502), "no answer: %d",
                 e.status);

    } else if (status == 401 || status == 403) {
        FZ_CHECK(e.status == 502
                 && strcmp(e.code, "backend_auth_failed") == 0,
                 "%d: %d %s", status, e.status, e.code);

    } else if (status == 429 || status == 413) {
        FZ_CHECK(e.status == status, "%d: %d", status, e.status);

    } else if (status >= 400 && status < 500) {
        FZ_CHECK(e.status == 400 && strcmp(e.code, "backend_rejected") == 0,
                 "%d: %d %s", status, e.status, e.code);

        /* the backend's text is passed on, cut whole */

        if (fz_utf8_valid(body, len) && memchr(body, '\0', len) == NULL) {
            FZ_CHECK(fz_utf8_valid(e.text, e.text_len),
                     "a message cut inside a character");
        }

    } else if (status == 503 || status == 529) {
        FZ_CHECK(e.status == 502
                 && strcmp(e.code, "backend_overloaded") == 0,
                 "%d: %d %s", status, e.status, e.code);

    } else {
        FZ_CHECK(e.status == 502 && strcmp(e.code, "backend_error") == 0,
                 "%d: %d %s", status, e.status, e.code);
    }

    check_writers(&e);

    /* the setter, with arbitrary text for the param and the message */

    if (data[2] & 2) {
        param = malloc(len + 1);
        FZ_CHECK(param != NULL, "out of memory");
        memcpy(param, body, len);
        param[len] = '\0';

        FZ_CHECK(chaton_error_set(&e, 400, param, "some_code", "%s: %.*s",
                                  param, (int) len, (const char *) body)
                 == CHATON_BAD, "error_set");

        FZ_CHECK(e.text_len < sizeof(e.buf) && e.text_len > 0,
                 "a formatted message of %zu bytes", e.text_len);
        FZ_CHECK(e.param == NULL || strlen(e.param) < sizeof(e.param_buf),
                 "param too long");

        check_writers(&e);

        free(param);
    }

    return 0;
}
