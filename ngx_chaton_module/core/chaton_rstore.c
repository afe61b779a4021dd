/*
 * The Responses store's pure part: see chaton_rstore.h.
 *
 * An entry's bytes: a magic word, the three lengths (32 bits each, in the
 * host's order: the bytes never leave the machine's memory), then the
 * three texts one after the other.
 */

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "chaton_rstore.h"


#define CHATON_RSTORE_MAGIC   0x31535243      /* "CRS1" */
#define CHATON_RSTORE_HEADER  (4 * sizeof(uint32_t))


static int chaton_rstore_arg(const unsigned char *args, size_t len,
    const char *name, const unsigned char **value, size_t *value_len);
static int chaton_rstore_inner(chaton_buf_t *b, const unsigned char *array,
    size_t len, int *first);


size_t
chaton_rstore_size(const chaton_rstore_entry_t *e)
{
    return CHATON_RSTORE_HEADER + e->response_len + e->input_len
           + e->output_len;
}


/* dst has chaton_rstore_size(e) bytes */

void
chaton_rstore_write(unsigned char *dst, const chaton_rstore_entry_t *e)
{
    uint32_t  h[4];

    h[0] = CHATON_RSTORE_MAGIC;
    h[1] = (uint32_t) e->response_len;
    h[2] = (uint32_t) e->input_len;
    h[3] = (uint32_t) e->output_len;

    memcpy(dst, h, sizeof(h));
    dst += sizeof(h);

    memcpy(dst, e->response, e->response_len);
    dst += e->response_len;
    memcpy(dst, e->input, e->input_len);
    dst += e->input_len;
    memcpy(dst, e->output, e->output_len);
}


/* e points into src */

int
chaton_rstore_read(chaton_rstore_entry_t *e, const unsigned char *src,
    size_t len)
{
    uint32_t  h[4];

    if (len < CHATON_RSTORE_HEADER) {
        return CHATON_BAD;
    }

    memcpy(h, src, sizeof(h));

    if (h[0] != CHATON_RSTORE_MAGIC
        || (uint64_t) h[1] + h[2] + h[3] != len - CHATON_RSTORE_HEADER)
    {
        return CHATON_BAD;
    }

    src += CHATON_RSTORE_HEADER;

    e->response = src;
    e->response_len = h[1];
    e->input = src + h[1];
    e->input_len = h[2];
    e->output = src + h[1] + h[2];
    e->output_len = h[3];

    return CHATON_OK;
}


/* the conversation continued: its input items, then its output items */

int
chaton_rstore_items(chaton_buf_t *b, const chaton_rstore_entry_t *e)
{
    int  first;

    first = 1;

    chaton_try(chaton_buf_literal(b, "["));
    chaton_try(chaton_rstore_inner(b, e->input, e->input_len, &first));
    chaton_try(chaton_rstore_inner(b, e->output, e->output_len, &first));

    return chaton_buf_literal(b, "]");
}


/* an array's elements, after those already written */

static int
chaton_rstore_inner(chaton_buf_t *b, const unsigned char *array, size_t len,
    int *first)
{
    /* the entry's arrays are compact: "[" elements "]", or "[]" */

    if (len <= 2) {
        return CHATON_OK;
    }

    if (!*first) {
        chaton_try(chaton_buf_literal(b, ","));
    }

    *first = 0;

    return chaton_buf_append(b, array + 1, len - 2);
}


/* the query string of GET .../input_items */

int
chaton_rstore_page(chaton_rstore_page_t *p, const unsigned char *args,
    size_t len, chaton_error_t *err)
{
    size_t                n, i;
    const unsigned char  *v;

    memset(p, 0, sizeof(chaton_rstore_page_t));
    p->limit = 20;

    if (chaton_rstore_arg(args, len, "limit", &v, &n) == CHATON_OK) {
        p->limit = 0;

        for (i = 0; i < n && i < 4 && v[i] >= '0' && v[i] <= '9'; i++) {
            p->limit = p->limit * 10 + (v[i] - '0');
        }

        if (n == 0 || i != n || p->limit < 1 || p->limit > 100) {
            return chaton_error_set(err, 400, "limit", "invalid_value",
                                    "'limit' must be an integer from 1 "
                                    "to 100");
        }
    }

    if (chaton_rstore_arg(args, len, "order", &v, &n) == CHATON_OK) {
        if (n == 3 && memcmp(v, "asc", 3) == 0) {
            p->asc = 1;

        } else if (!(n == 4 && memcmp(v, "desc", 4) == 0)) {
            return chaton_error_set(err, 400, "order", "invalid_value",
                                    "'order' must be 'asc' or 'desc'");
        }
    }

    if (chaton_rstore_arg(args, len, "after", &v, &n) == CHATON_OK && n) {
        p->after = v;
        p->after_len = n;
    }

    return CHATON_OK;
}


/* a query argument's raw value; the items' ids need no unescaping */

static int
chaton_rstore_arg(const unsigned char *args, size_t len, const char *name,
    const unsigned char **value, size_t *value_len)
{
    size_t                n;
    const unsigned char  *p, *end, *amp;

    n = strlen(name);
    p = args;
    end = args + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        if ((size_t) (amp - p) > n && memcmp(p, name, n) == 0
            && p[n] == '=')
        {
            *value = p + n + 1;
            *value_len = amp - p - n - 1;
            return CHATON_OK;
        }

        p = amp + 1;
    }

    return CHATON_BAD;
}


/*
 * {"object": "list", "data": [...], "first_id", "last_id", "has_more"}:
 * the entry's input items, newest first unless asked otherwise, after the
 * item "after" in that order
 */

int
chaton_rstore_list(chaton_buf_t *b, const chaton_rstore_entry_t *e,
    const chaton_rstore_page_t *p, chaton_error_t *err)
{
    int     rc, i, n, step, k;
    char   *text;
    cJSON  *items, *it, *id, *first, *last;

    items = cJSON_ParseWithLength((const char *) e->input, e->input_len);

    if (!cJSON_IsArray(items)) {
        cJSON_Delete(items);
        return chaton_error_set(err, 500, NULL, NULL,
                                "The stored response cannot be read.");
    }

    n = cJSON_GetArraySize(items);
    step = p->asc ? 1 : -1;
    i = p->asc ? 0 : n - 1;

    if (p->after) {
        for ( ; i >= 0 && i < n; i += step) {
            id = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items,
                                                                     i),
                                                  "id");
            if (cJSON_IsString(id) && strlen(id->valuestring) == p->after_len
                && memcmp(id->valuestring, p->after, p->after_len) == 0)
            {
                break;
            }
        }

        if (i < 0 || i >= n) {
            cJSON_Delete(items);
            return chaton_error_set(err, 400, "after", "invalid_value",
                                    "No input item with id '%.*s' in this "
                                    "response.",
                                    (int) (p->after_len > 64
                                           ? 64 : p->after_len),
                                    p->after);
        }

        i += step;
    }

    rc = chaton_buf_literal(b, "{\"object\":\"list\",\"data\":[");
    first = NULL;
    last = NULL;

    for (k = 0; rc == CHATON_OK && i >= 0 && i < n
                && (size_t) k < p->limit; i += step, k++)
    {
        it = cJSON_GetArrayItem(items, i);

        text = cJSON_PrintUnformatted(it);
        if (text == NULL) {
            rc = CHATON_ERROR;
            break;
        }

        if (k) {
            rc = chaton_buf_literal(b, ",");
        }

        if (rc == CHATON_OK) {
            rc = chaton_buf_append_str(b, text);
        }

        cJSON_free(text);

        if (first == NULL) {
            first = it;
        }

        last = it;
    }

    if (rc == CHATON_OK) {
        rc = chaton_buf_literal(b, "],\"first_id\":");
    }

    for (k = 0; k < 2 && rc == CHATON_OK; k++) {
        it = k ? last : first;
        id = cJSON_GetObjectItemCaseSensitive(it, "id");

        if (k) {
            rc = chaton_buf_literal(b, ",\"last_id\":");
        }

        if (rc == CHATON_OK) {
            rc = cJSON_IsString(id) ? chaton_json_cstring(b, id->valuestring)
                                    : chaton_buf_literal(b, "null");
        }
    }

    if (rc == CHATON_OK) {
        rc = chaton_buf_append_str(b, (i >= 0 && i < n)
                                      ? ",\"has_more\":true}"
                                      : ",\"has_more\":false}");
    }

    cJSON_Delete(items);

    return rc;
}


int
chaton_rstore_deleted(chaton_buf_t *b, const unsigned char *id, size_t len)
{
    chaton_try(chaton_buf_literal(b, "{\"id\":"));
    chaton_try(chaton_json_string(b, id, len));

    return chaton_buf_literal(b, ",\"object\":\"response\","
                                 "\"deleted\":true}");
}


/*
 * OpenAI's answers for an id it does not have (never known, expired,
 * evicted, deleted, or another key's: all alike): a 400 naming
 * previous_response_id when a request continues it, a 404 otherwise
 */

int
chaton_rstore_not_found(chaton_error_t *err, const unsigned char *id,
    size_t len, int previous)
{
    int  n;

    n = (int) (len > 64 ? 64 : len);

    if (previous) {
        return chaton_error_set(err, 400, "previous_response_id",
                                "previous_response_not_found",
                                "Previous response with id '%.*s' not "
                                "found.", n, id);
    }

    return chaton_error_set(err, 404, NULL, NULL,
                            "Response with id '%.*s' not found.", n, id);
}
