/*
 * Client-visible errors.  Every error the gateway answers, as a JSON body or
 * as an SSE event once a stream has begun, is written here.
 */

#include <stdarg.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "chaton_error.h"
#include "dialect_anthropic.h"


static size_t chaton_error_cut(const unsigned char *s, size_t len,
    size_t max);
static void chaton_error_message(chaton_error_t *e, const unsigned char *body,
    size_t len);


/*
 * Formats the message into e->buf.  Returns CHATON_BAD so that validators
 * can "return chaton_error_set(...)".
 */

int
chaton_error_set(chaton_error_t *e, int status, const char *param,
    const char *code, const char *fmt, ...)
{
    int      n;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(e->buf, sizeof(e->buf), fmt, args);
    va_end(args);

    if (n < 0) {
        n = 0;
    }

    if ((size_t) n >= sizeof(e->buf)) {
        n = sizeof(e->buf) - 1;
    }

    e->status = status;
    e->type = NULL;
    e->param = NULL;
    e->code = code;
    e->text = (const unsigned char *) e->buf;
    e->text_len = n;

    /* the name may be built on the caller's stack: it is copied */

    if (param) {
        n = snprintf(e->param_buf, sizeof(e->param_buf), "%s", param);
        e->param = (n >= 0) ? e->param_buf : NULL;
    }

    return CHATON_BAD;
}


/* a message that is not ours (the backend's): referenced, not copied */

void
chaton_error_text(chaton_error_t *e, int status, const char *code,
    const unsigned char *text, size_t len)
{
    e->status = status;
    e->type = NULL;
    e->param = NULL;
    e->code = code;
    e->text = text;
    e->text_len = len;
}


/*
 * OpenAI's types: its 404s (an unknown model, an unknown URL) are
 * "invalid_request_error" as every other client mistake is.
 */

const char *
chaton_error_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 429:
        return "rate_limit_error";
    }

    if (status >= 500) {
        return status == 502 || status == 504 ? "upstream_error"
                                              : "server_error";
    }

    return "invalid_request_error";
}


static int
chaton_error_field(chaton_buf_t *b, const char *name, const char *value)
{
    int  rc;

    rc = chaton_buf_append_str(b, name);
    if (rc != CHATON_OK) {
        return rc;
    }

    if (value == NULL) {
        return chaton_buf_literal(b, "null");
    }

    return chaton_json_cstring(b, value);
}


int
chaton_error_json(chaton_buf_t *b, const chaton_error_t *e)
{
    int  rc;

    rc = chaton_buf_literal(b, "{\"error\":{\"message\":");
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_json_string(b, e->text, e->text_len);
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_error_field(b, ",\"type\":",
                            e->type ? e->type : chaton_error_type(e->status));
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_error_field(b, ",\"param\":", e->param);
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_error_field(b, ",\"code\":", e->code);
    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_buf_literal(b, "}}");
}


/*
 * Anthropic's shape: {"type":"error","error":{"type":...,"message":...}}.
 * It has no param: the field a refusal names leads its message
 * ("max_tokens: Field required"), as in Anthropic's own messages.
 */

int
chaton_error_anthropic_json(chaton_buf_t *b, const chaton_error_t *e)
{
    int     rc;
    size_t  n;

    rc = chaton_buf_literal(b, "{\"type\":\"error\",\"error\":{\"type\":");
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_json_cstring(b,
             chaton_anthropic_error_type(chaton_error_anthropic_status(e)));
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_buf_literal(b, ",\"message\":");
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_buf_literal(b, "\"");
    if (rc != CHATON_OK) {
        return rc;
    }

    n = e->param ? strlen(e->param) : 0;

    /* a message that names its field already is left as it is */

    if (n && !(e->text_len > n && memcmp(e->text, e->param, n) == 0
               && e->text[n] == ':'))
    {
        rc = chaton_json_escape(b, (const unsigned char *) e->param, n);
        if (rc != CHATON_OK) {
            return rc;
        }

        rc = chaton_buf_literal(b, ": ");
        if (rc != CHATON_OK) {
            return rc;
        }
    }

    rc = chaton_json_escape(b, e->text, e->text_len);
    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_buf_literal(b, "\"}}");
}


/*
 * The status Anthropic's clients get: the same but for an overloaded
 * backend or server, which Anthropic answers 529 (its SDKs retry it).
 */

int
chaton_error_anthropic_status(const chaton_error_t *e)
{
    if (e->status == 503
        || (e->code && strcmp(e->code, "backend_overloaded") == 0))
    {
        return 529;
    }

    return e->status;
}


/* once a stream has begun, an error is one more event */

int
chaton_error_event(chaton_buf_t *b, const chaton_error_t *e)
{
    int  rc;

    rc = chaton_buf_literal(b, "data: ");
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_error_json(b, e);
    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_buf_literal(b, "\n\n");
}


/*
 * A backend answer that was not a success, mapped deliberately: the client
 * learns what it can act on, never details of the gateway's credentials.
 *
 *   no answer (status 0)   502, or 504 when it timed out
 *   400 and other 4xx      400, with the backend's own message
 *   401, 403               502: the backend rejected the gateway
 *   413                    413
 *   429                    429 (the caller keeps Retry-After)
 *   503, 529               502, "backend_overloaded" (Anthropic's 529)
 *   5xx and the rest       502
 */

void
chaton_error_backend(chaton_error_t *e, int status, int timed_out,
    const unsigned char *body, size_t len)
{
    if (status == 0) {
        if (timed_out) {
            (void) chaton_error_set(e, 504, NULL, "backend_timeout",
                                    "The backend did not answer in time.");
            return;
        }

        (void) chaton_error_set(e, 502, NULL, "backend_unreachable",
                                "The backend could not be reached.");
        return;
    }

    if (status == 401 || status == 403) {
        (void) chaton_error_set(e, 502, NULL, "backend_auth_failed",
                                "The backend rejected the gateway's "
                                "credentials (HTTP %d); the gateway's "
                                "operator must check them.", status);
        return;
    }

    if (status == 429) {
        (void) chaton_error_set(e, 429, NULL, "rate_limit_exceeded",
                                "The backend is limiting the rate of "
                                "requests; retry later.");
        return;
    }

    if (status == 413) {
        (void) chaton_error_set(e, 413, NULL, "request_too_large",
                                "The backend refused the request as too "
                                "large.");
        return;
    }

    /* still 502 for OpenAI; Anthropic's clients are told 529 */

    if (status == 503 || status == 529) {
        (void) chaton_error_set(e, 502, NULL, "backend_overloaded",
                                "The backend is overloaded (HTTP %d); "
                                "retry later.", status);
        return;
    }

    if (status >= 400 && status < 500) {
        (void) chaton_error_set(e, 400, NULL, "backend_rejected",
                                "The backend rejected the request "
                                "(HTTP %d).", status);
        chaton_error_message(e, body, len);
        return;
    }

    (void) chaton_error_set(e, 502, NULL, "backend_error",
                            "The backend failed (HTTP %d).", status);
}


/*
 * The backend's own words, when its body has them: {"error": {"message"}},
 * {"error": "..."}, {"message": "..."}, {"detail": "..."} or short text.
 */

static void
chaton_error_message(chaton_error_t *e, const unsigned char *body, size_t len)
{
    size_t       n;
    cJSON       *root, *v;
    const char  *text;

    if (len == 0) {
        return;
    }

    text = NULL;

    root = chaton_json_parse(body, len);

    if (cJSON_IsObject(root)) {
        v = cJSON_GetObjectItemCaseSensitive(root, "error");

        if (cJSON_IsObject(v)) {
            v = cJSON_GetObjectItemCaseSensitive(v, "message");
        }

        if (v == NULL) {
            v = cJSON_GetObjectItemCaseSensitive(root, "message");
        }

        if (v == NULL) {
            v = cJSON_GetObjectItemCaseSensitive(root, "detail");
        }

        if (cJSON_IsString(v) && v->valuestring[0]) {
            text = v->valuestring;
            len = strlen(text);
        }

    } else if (root == NULL && chaton_utf8_valid(body, len)) {
        text = (const char *) body;
    }

    n = text ? chaton_error_cut((const unsigned char *) text, len,
                                sizeof(e->buf) - 1)
             : 0;

    /* nothing readable left: our own words stay */

    if (n) {

        memcpy(e->buf, text, n);
        e->buf[n] = '\0';
        e->text = (const unsigned char *) e->buf;
        e->text_len = n;
    }

    cJSON_Delete(root);
}


/* at most max bytes of s, not cutting a UTF-8 character in two */

static size_t
chaton_error_cut(const unsigned char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }

    len = max;

    while (len && (s[len] & 0xc0) == 0x80) {
        len--;
    }

    return len;
}


/*
 * The error for a status nginx itself gives (its error_page): the status
 * the client gets, a code and a message, in our words.  Returns the
 * status, folded where several mean the same to a client.
 */

int
chaton_error_status(chaton_error_t *e, int status)
{
    const char  *code, *msg;

    switch (status) {

    case 400:
    case 494:       /* request header too large */
    case 495:       /* client certificate error */
    case 496:       /* no client certificate */
    case 497:       /* plain HTTP to an HTTPS port */
        status = 400;
        code = "bad_request";
        msg = "The HTTP request is malformed or its headers are too large.";
        break;

    case 401:
        code = "invalid_api_key";
        msg = "Incorrect or missing API key.";
        break;

    case 403:
        code = "forbidden";
        msg = "Access to this resource is forbidden.";
        break;

    case 404:
        code = "unknown_url";
        msg = "Unknown request URL.";
        break;

    case 405:
        code = "method_not_allowed";
        msg = "Method not allowed.";
        break;

    case 408:
        code = "request_timeout";
        msg = "The request was not received in time.";
        break;

    case 411:
        code = "length_required";
        msg = "The request needs a Content-Length or chunked body.";
        break;

    case 413:
        code = "request_too_large";
        msg = "The request body is too large for this server "
              "(client_max_body_size).";
        break;

    case 414:
        code = "uri_too_long";
        msg = "The request URI is too long.";
        break;

    case 429:
        code = "rate_limit_exceeded";
        msg = "Rate limit reached for requests; retry later.";
        break;

    case 501:
        code = "not_implemented";
        msg = "The request uses an HTTP feature this server does not "
              "implement.";
        break;

    case 505:
        code = "http_version_not_supported";
        msg = "The request's HTTP version is not supported.";
        break;

    case 502:
        code = "backend_unreachable";
        msg = "The backend could not be reached.";
        break;

    case 503:
        code = "service_unavailable";
        msg = "The service is temporarily unavailable; retry later.";
        break;

    case 504:
        code = "backend_timeout";
        msg = "The backend did not answer in time.";
        break;

    default:
        if (status < 400 || status > 599) {
            status = 500;
        }

        code = status < 500 ? "invalid_request" : "server_error";
        msg = status < 500 ? "The request was refused."
                           : "The server had an error while processing "
                             "the request.";
    }

    chaton_error_text(e, status, code, (const unsigned char *) msg,
                      strlen(msg));

    return status;
}


/* a backend's answer that began well and went wrong; returns CHATON_BAD */

int
chaton_error_answer(chaton_error_t *e, chaton_answer_fault_e fault)
{
    switch (fault) {

    case CHATON_ANSWER_TOO_LARGE:
        return chaton_error_set(e, 502, NULL, "answer_too_large",
                                "The answer is larger than "
                                "chaton_max_answer_size.");

    case CHATON_EVENT_TOO_LARGE:
        return chaton_error_set(e, 502, NULL, "event_too_large",
                                "The backend sent an event larger than "
                                "chaton_max_event_size.");

    case CHATON_ANSWER_ENCODED:
        return chaton_error_set(e, 502, NULL, "bad_backend_answer",
                                "The backend answered compressed, though "
                                "compression was not asked for.");

    case CHATON_ANSWER_NOT_SSE:
        return chaton_error_set(e, 502, NULL, "bad_backend_answer",
                                "The backend answered with something other "
                                "than an event stream.");

    case CHATON_ANSWER_NOT_AUDIO:
        return chaton_error_set(e, 502, NULL, "bad_backend_answer",
                                "The backend answered without audio.");

    case CHATON_AUDIO_CUT:
        return chaton_error_set(e, 502, NULL, "backend_truncated",
                                "The backend closed the audio before its "
                                "end.");

    case CHATON_ANSWER_SILENT:
        return chaton_error_set(e, 504, NULL, "backend_timeout",
                                "The backend stopped sending before the "
                                "answer was complete.");

    default: /* CHATON_ANSWER_CUT */
        return chaton_error_set(e, 502, NULL, "backend_truncated",
                                "The backend closed the stream before the "
                                "answer was complete.");
    }
}


/*
 * An upload of an image the backend refused ("status" its error's, after
 * chaton_error_backend()) or answered without a URL (status 200): the
 * request fails naming the image, with the backend's reason quoted.
 */

void
chaton_error_upload(chaton_error_t *e, int status, const char *param,
    const unsigned char *reason, size_t len)
{
    if (status == 200) {
        (void) chaton_error_set(e, 502, param, "upload_failed",
                                "The backend's answer to the upload of the "
                                "image in %s had no URL.", param);
        return;
    }

    (void) chaton_error_set(e, status == 429 ? 429 : 502, param,
                            "upload_failed",
                            "The backend refused the upload of the image "
                            "in %s: %.*s", param, (int) (len > 127 ? 127 : len),
                            (const char *) reason);
}


#ifdef CHATON_TESTS

/* whether two errors are the same: both none (NULL), or the same answer */

int
chaton_error_same(const chaton_error_t *a, const chaton_error_t *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }

    return a->status == b->status
           && (a->code == b->code
               || (a->code && b->code && strcmp(a->code, b->code) == 0))
           && (a->type == b->type
               || (a->type && b->type && strcmp(a->type, b->type) == 0))
           && a->text_len == b->text_len
           && (a->text_len == 0
               || memcmp(a->text, b->text, a->text_len) == 0);
}

#endif
