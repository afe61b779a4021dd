/*
 * Client-visible errors.  Every error the gateway answers, as a JSON body or
 * as an SSE event once a stream has begun, is written here.
 */

#include <stdarg.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "chaton_error.h"


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
