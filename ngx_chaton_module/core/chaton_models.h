/*
 * Model ids: what clients say, what ChatOn is sent, what /v1/models lists.
 */

#ifndef _CHATON_MODELS_H_INCLUDED_
#define _CHATON_MODELS_H_INCLUDED_


#include "chaton.h"


typedef struct {
    const char             *id;        /* what a client says */
    size_t                  id_len;
    const char             *backend;   /* the ChatOn model id it means */
    size_t                  backend_len;
    unsigned                listed:1;  /* shown by /v1/models */
    uint64_t                created;   /* its release, unix time */
    uint64_t                context;   /* its context window in tokens;
                                          0: unknown, nothing refused */
} chaton_model_t;


extern const chaton_model_t  chaton_models_builtin[];
extern const size_t          chaton_models_nbuiltin;


const chaton_model_t *chaton_model_find(const chaton_model_t *table,
    size_t n, const unsigned char *name, size_t len);
void chaton_models_inherit(chaton_model_t *m, size_t n);
size_t chaton_models_window(chaton_model_t *table, size_t n,
    const unsigned char *backend, size_t len, uint64_t context);
int chaton_models_list(chaton_buf_t *b, const chaton_model_t *table,
    size_t n);
int chaton_models_list_anthropic(chaton_buf_t *b,
    const chaton_model_t *table, size_t n);
int chaton_model_object(chaton_buf_t *b, const chaton_model_t *m);
int chaton_model_object_anthropic(chaton_buf_t *b, const chaton_model_t *m);
int chaton_models_union(chaton_buf_t *b, const chaton_model_t *table,
    size_t n, const unsigned char *other, size_t len);


#endif /* _CHATON_MODELS_H_INCLUDED_ */
