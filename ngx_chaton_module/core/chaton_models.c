/*
 * The alias table.  The backend's own ids are listed first, then the names
 * clients commonly use for them: OpenAI's and Anthropic's dated names of
 * the same models and their "-latest" names, the dotted names some
 * clients write.  Operators add their own entries in front of these
 * (chaton_model directive); the first match wins.
 *
 * "created" is the release of the model a name means, as a unix time (of
 * the version a dated name names); the context window is the largest the
 * model is known to have, so that the check against it (chaton_request.c)
 * refuses only what cannot fit anywhere.
 */

#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "chaton_models.h"


#define chaton_model(id, backend, listed, created, context)                  \
    { id, sizeof(id) - 1, backend, sizeof(backend) - 1, listed, created,     \
      context }


/* the releases, 00:00 UTC of the day */

#define CHATON_2024_03_07    1709769600
#define CHATON_2024_05_13    1715558400
#define CHATON_2024_06_20    1718841600
#define CHATON_2024_07_18    1721260800
#define CHATON_2024_08_06    1722902400
#define CHATON_2024_08_13    1723507200
#define CHATON_2024_10_22    1729555200
#define CHATON_2024_11_20    1732060800
#define CHATON_2025_01_20    1737331200
#define CHATON_2025_01_31    1738281600
#define CHATON_2025_02_19    1739923200
#define CHATON_2025_03_07    1741305600
#define CHATON_2025_04_16    1744761600

/* the context windows, in tokens */

#define CHATON_GPT_4O        128000
#define CHATON_O_MINI        200000
#define CHATON_CLAUDE        200000
#define CHATON_DEEPSEEK_R1   128000
#define CHATON_SONAR         128000


const chaton_model_t  chaton_models_builtin[] = {
    chaton_model("gpt-4o", "gpt-4o", 1,
                 CHATON_2024_05_13, CHATON_GPT_4O),
    chaton_model("gpt-4o-mini", "gpt-4o-mini", 1,
                 CHATON_2024_07_18, CHATON_GPT_4O),
    chaton_model("o3-mini", "o3-mini", 1,
                 CHATON_2025_01_31, CHATON_O_MINI),
    chaton_model("o4-mini", "o4-mini", 1,
                 CHATON_2025_04_16, CHATON_O_MINI),
    chaton_model("claude-3-5-sonnet", "claude-3-5-sonnet", 1,
                 CHATON_2024_06_20, CHATON_CLAUDE),
    chaton_model("claude-3-7-sonnet", "claude-3-7-sonnet", 1,
                 CHATON_2025_02_19, CHATON_CLAUDE),
    chaton_model("claude", "claude", 1,
                 CHATON_2024_03_07, CHATON_CLAUDE),
    chaton_model("deepseek-r1", "deepseek-r1", 1,
                 CHATON_2025_01_20, CHATON_DEEPSEEK_R1),
    chaton_model("sonar-reasoning-pro", "sonar-reasoning-pro", 1,
                 CHATON_2025_03_07, CHATON_SONAR),

    chaton_model("claude-3.5-sonnet", "claude-3-5-sonnet", 1,
                 CHATON_2024_06_20, CHATON_CLAUDE),
    chaton_model("claude-3.7-sonnet", "claude-3-7-sonnet", 1,
                 CHATON_2025_02_19, CHATON_CLAUDE),
    chaton_model("claude-3-haiku", "claude", 1,
                 CHATON_2024_03_07, CHATON_CLAUDE),

    /* OpenAI's names */

    chaton_model("gpt-4o-2024-05-13", "gpt-4o", 0,
                 CHATON_2024_05_13, CHATON_GPT_4O),
    chaton_model("gpt-4o-2024-08-06", "gpt-4o", 0,
                 CHATON_2024_08_06, CHATON_GPT_4O),
    chaton_model("gpt-4o-2024-11-20", "gpt-4o", 0,
                 CHATON_2024_11_20, CHATON_GPT_4O),
    chaton_model("chatgpt-4o-latest", "gpt-4o", 0,
                 CHATON_2024_08_13, CHATON_GPT_4O),
    chaton_model("gpt-4o-latest", "gpt-4o", 0,
                 CHATON_2024_11_20, CHATON_GPT_4O),
    chaton_model("gpt 4o", "gpt-4o", 0,
                 CHATON_2024_05_13, CHATON_GPT_4O),
    chaton_model("gpt-4o-mini-2024-07-18", "gpt-4o-mini", 0,
                 CHATON_2024_07_18, CHATON_GPT_4O),
    chaton_model("o3-mini-2025-01-31", "o3-mini", 0,
                 CHATON_2025_01_31, CHATON_O_MINI),
    chaton_model("o4-mini-2025-04-16", "o4-mini", 0,
                 CHATON_2025_04_16, CHATON_O_MINI),

    /* Anthropic's names */

    chaton_model("claude-3-5-sonnet-20240620", "claude-3-5-sonnet", 0,
                 CHATON_2024_06_20, CHATON_CLAUDE),
    chaton_model("claude-3-5-sonnet-20241022", "claude-3-5-sonnet", 0,
                 CHATON_2024_10_22, CHATON_CLAUDE),
    chaton_model("claude-3-5-sonnet-latest", "claude-3-5-sonnet", 0,
                 CHATON_2024_10_22, CHATON_CLAUDE),
    chaton_model("claude-3-7-sonnet-20250219", "claude-3-7-sonnet", 0,
                 CHATON_2025_02_19, CHATON_CLAUDE),
    chaton_model("claude-3-7-sonnet-latest", "claude-3-7-sonnet", 0,
                 CHATON_2025_02_19, CHATON_CLAUDE),
    chaton_model("claude-3-haiku-20240307", "claude", 0,
                 CHATON_2024_03_07, CHATON_CLAUDE),

    /* DeepSeek's */

    chaton_model("deepseek-reasoner", "deepseek-r1", 0,
                 CHATON_2025_01_20, CHATON_DEEPSEEK_R1),
};

const size_t  chaton_models_nbuiltin =
    sizeof(chaton_models_builtin) / sizeof(chaton_models_builtin[0]);


const chaton_model_t *
chaton_model_find(const chaton_model_t *table, size_t n,
    const unsigned char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        /* ids are compared without regard to ASCII case: "GPT-4o" works */

        if (table[i].id_len == len
            && chaton_strncaseeq(name, table[i].id, len))
        {
            return &table[i];
        }
    }

    return NULL;
}


/*
 * The operator's entries (chaton_model) mean a backend model: each takes
 * the release and the context window of the built-in entry of that id;
 * a backend model the table does not know has neither (0).
 */

void
chaton_models_inherit(chaton_model_t *m, size_t n)
{
    size_t                 i;
    const chaton_model_t  *b;

    for (i = 0; i < n; i++) {
        b = chaton_model_find(chaton_models_builtin, chaton_models_nbuiltin,
                              (const unsigned char *) m[i].backend,
                              m[i].backend_len);

        m[i].created = b ? b->created : 0;
        m[i].context = b ? b->context : 0;
    }
}


/*
 * A context window is the backend model's: every entry that means it (the
 * id as ChatOn is sent it, exactly) gets the new one.  Returns how many
 * did, 0 for a model no entry means.
 */

size_t
chaton_models_window(chaton_model_t *table, size_t n,
    const unsigned char *backend, size_t len, uint64_t context)
{
    size_t  i, changed;

    changed = 0;

    for (i = 0; i < n; i++) {
        if (table[i].backend_len == len
            && memcmp(backend, table[i].backend, len) == 0)
        {
            table[i].context = context;
            changed++;
        }
    }

    return changed;
}


int
chaton_model_object(chaton_buf_t *b, const chaton_model_t *m)
{
    int  rc;

    rc = chaton_buf_literal(b, "{\"id\":");
    if (rc != CHATON_OK) {
        return rc;
    }

    rc = chaton_json_string(b, (const unsigned char *) m->id, m->id_len);
    if (rc != CHATON_OK) {
        return rc;
    }

    chaton_try(chaton_buf_literal(b, ",\"object\":\"model\",\"created\":"));
    chaton_try(chaton_buf_append_uint(b, m->created));

    return chaton_buf_literal(b, ",\"owned_by\":\"chaton\"}");
}


typedef int (*chaton_model_object_pt)(chaton_buf_t *b,
    const chaton_model_t *m);


/* the listed entries, each once, in a list's shape; *first, *last: ids */

static int
chaton_models_items(chaton_buf_t *b, const chaton_model_t *table, size_t n,
    chaton_model_object_pt object, const chaton_model_t **first,
    const chaton_model_t **last)
{
    size_t   i;

    *first = NULL;
    *last = NULL;

    for (i = 0; i < n; i++) {
        if (!table[i].listed) {
            continue;
        }

        /* an id shadowed by an earlier entry is listed once */

        if (chaton_model_find(table, i, (const unsigned char *) table[i].id,
                              table[i].id_len))
        {
            continue;
        }

        if (*first) {
            chaton_try(chaton_buf_literal(b, ","));

        } else {
            *first = &table[i];
        }

        *last = &table[i];

        chaton_try(object(b, &table[i]));
    }

    return CHATON_OK;
}


int
chaton_models_list(chaton_buf_t *b, const chaton_model_t *table, size_t n)
{
    const chaton_model_t  *first, *last;

    chaton_try(chaton_buf_literal(b, "{\"object\":\"list\",\"data\":["));
    chaton_try(chaton_models_items(b, table, n, chaton_model_object, &first,
                                   &last));

    return chaton_buf_literal(b, "]}");
}


/*
 * Anthropic's model object: {"type": "model", "id", "display_name",
 * "created_at"}; the table has no display names, so the id is one, and
 * its release is an RFC 3339 time.
 */

int
chaton_model_object_anthropic(chaton_buf_t *b, const chaton_model_t *m)
{
    char        date[32];
    time_t      t;
    struct tm   tm;

    t = (time_t) m->created;

    if (gmtime_r(&t, &tm) == NULL
        || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        (void) strcpy(date, "1970-01-01T00:00:00Z");
    }

    chaton_try(chaton_buf_literal(b, "{\"type\":\"model\",\"id\":"));
    chaton_try(chaton_json_string(b, (const unsigned char *) m->id,
                                  m->id_len));
    chaton_try(chaton_buf_literal(b, ",\"display_name\":"));
    chaton_try(chaton_json_string(b, (const unsigned char *) m->id,
                                  m->id_len));
    chaton_try(chaton_buf_literal(b, ",\"created_at\":"));
    chaton_try(chaton_json_cstring(b, date));

    return chaton_buf_literal(b, "}");
}


/* the list in Anthropic's shape: one page, the first and last ids */

int
chaton_models_list_anthropic(chaton_buf_t *b, const chaton_model_t *table,
    size_t n)
{
    const chaton_model_t  *first, *last;

    chaton_try(chaton_buf_literal(b, "{\"data\":["));
    chaton_try(chaton_models_items(b, table, n, chaton_model_object_anthropic,
                                   &first, &last));
    chaton_try(chaton_buf_literal(b, "],\"has_more\":false,\"first_id\":"));

    if (first) {
        chaton_try(chaton_json_string(b, (const unsigned char *) first->id,
                                      first->id_len));
        chaton_try(chaton_buf_literal(b, ",\"last_id\":"));
        chaton_try(chaton_json_string(b, (const unsigned char *) last->id,
                                      last->id_len));

    } else {
        chaton_try(chaton_buf_literal(b, "null,\"last_id\":null"));
    }

    return chaton_buf_literal(b, "}");
}


/*
 * The list with another OpenAI-compatible server's models after ours (its
 * {"data": [...]} answer): ids of ours are not listed twice.  An answer
 * that is not such a list adds nothing.
 */

int
chaton_models_union(chaton_buf_t *b, const chaton_model_t *table, size_t n,
    const unsigned char *other, size_t len)
{
    int                    rc, empty;
    char                  *s;
    cJSON                 *root, *data, *m, *id;
    const chaton_model_t  *first, *last;

    chaton_try(chaton_buf_literal(b, "{\"object\":\"list\",\"data\":["));

    rc = chaton_models_items(b, table, n, chaton_model_object, &first,
                             &last);
    if (rc != CHATON_OK) {
        return rc;
    }

    empty = (first == NULL);

    root = chaton_json_parse(other, len);
    data = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "data")
                                : NULL;

    rc = CHATON_OK;

    if (!cJSON_IsArray(data)) {
        data = NULL;
    }

    cJSON_ArrayForEach(m, data) {
        id = cJSON_GetObjectItemCaseSensitive(m, "id");

        if (!cJSON_IsObject(m) || !cJSON_IsString(id)
            || chaton_model_find(table, n, (const unsigned char *)
                                 id->valuestring, strlen(id->valuestring)))
        {
            continue;
        }

        s = cJSON_PrintUnformatted(m);
        if (s == NULL) {
            rc = CHATON_ERROR;
            break;
        }

        rc = empty ? CHATON_OK : chaton_buf_literal(b, ",");

        if (rc == CHATON_OK) {
            rc = chaton_buf_append_str(b, s);
        }

        free(s);

        if (rc != CHATON_OK) {
            break;
        }

        empty = 0;
    }

    cJSON_Delete(root);

    if (rc != CHATON_OK) {
        return rc;
    }

    return chaton_buf_literal(b, "]}");
}
