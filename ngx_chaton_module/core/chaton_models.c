/*
 * The alias table.  The backend's own ids are listed first, then the names
 * clients commonly use for them.  Operators add their own entries in front
 * of these (chaton_model directive); the first match wins.
 */

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


int
chaton_models_list(chaton_buf_t *b, const chaton_model_t *table, size_t n)
{
    int      rc;
    size_t   i;
    int      first;

    rc = chaton_buf_literal(b, "{\"object\":\"list\",\"data\":[");
    if (rc != CHATON_OK) {
        return rc;
    }

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
            rc = chaton_buf_literal(b, ",");
            if (rc != CHATON_OK) {
                return rc;
            }
        }

        first = 0;

        rc = chaton_model_object(b, &table[i]);
        if (rc != CHATON_OK) {
            return rc;
        }
    }

    return chaton_buf_literal(b, "]}");
}
