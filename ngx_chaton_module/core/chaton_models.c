/*
 * The alias table.  The backend's own ids are listed first, then the names
 * clients commonly use for them.  Operators add their own entries in front
 * of these (chaton_model directive); the first match wins.
 */

#include <stdlib.h>

#include <cjson/cJSON.h>

#include "chaton_models.h"


#define chaton_model(id, backend, listed)                                    \
    { id, sizeof(id) - 1, backend, sizeof(backend) - 1, listed }


const chaton_model_t  chaton_models_builtin[] = {
    chaton_model("gpt-4o", "gpt-4o", 1),
    chaton_model("gpt-4o-mini", "gpt-4o-mini", 1),
    chaton_model("claude-3-5-sonnet", "claude-3-5-sonnet", 1),
    chaton_model("claude-3-7-sonnet", "claude-3-7-sonnet", 1),
    chaton_model("claude", "claude", 1),
    chaton_model("deepseek-r1", "deepseek-r1", 1),
    chaton_model("sonar-reasoning-pro", "sonar-reasoning-pro", 1),

    chaton_model("claude-3.5-sonnet", "claude-3-5-sonnet", 1),
    chaton_model("claude-3.7-sonnet", "claude-3-7-sonnet", 1),
    chaton_model("claude-3-haiku", "claude", 1),
    chaton_model("gpt 4o", "gpt-4o", 0),
    chaton_model("gpt-4o-latest", "gpt-4o", 0),
    chaton_model("chatgpt-4o-latest", "gpt-4o", 0),
    chaton_model("claude-3-5-sonnet-latest", "claude-3-5-sonnet", 0),
    chaton_model("claude-3-7-sonnet-latest", "claude-3-7-sonnet", 0),
    chaton_model("claude-3-haiku-20240307", "claude", 0),
    chaton_model("deepseek-reasoner", "deepseek-r1", 0),
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

    return chaton_buf_literal(b, ",\"object\":\"model\",\"created\":0,"
                              "\"owned_by\":\"chaton\"}");
}


static int
chaton_models_items(chaton_buf_t *b, const chaton_model_t *table, size_t n)
{
    size_t   i;
    int      first;

    first = 1;

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

        if (!first) {
            chaton_try(chaton_buf_literal(b, ","));
        }

        first = 0;

        chaton_try(chaton_model_object(b, &table[i]));
    }

    return CHATON_OK;
}


int
chaton_models_list(chaton_buf_t *b, const chaton_model_t *table, size_t n)
{
    chaton_try(chaton_buf_literal(b, "{\"object\":\"list\",\"data\":["));
    chaton_try(chaton_models_items(b, table, n));

    return chaton_buf_literal(b, "]}");
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
    int     rc, empty;
    char   *s;
    cJSON  *root, *data, *m, *id;

    chaton_try(chaton_buf_literal(b, "{\"object\":\"list\",\"data\":["));

    rc = chaton_models_items(b, table, n);
    if (rc != CHATON_OK) {
        return rc;
    }

    empty = (b->data[b->len - 1] == '[');

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
