
/*
 * ngx_chaton: the Responses store, stored responses in a shared memory
 * zone (chaton_responses_store).
 *
 * Each entry is the bytes the core made of a response (chaton_rstore.h)
 * under its id, with its owner (the SHA-256 digest of the client key it
 * was made with, as chaton_client_keys keeps it, never the key) and when
 * it expires.  A red-black tree finds an id; a queue keeps the entries
 * oldest last: an entry that does not fit evicts the oldest until it
 * does, and each store first drops a few entries past their time, as
 * limit_req's zones do.  A reload keeps the zone and its entries (same
 * name, same size).  What is not found, expired, evicted, deleted or
 * another owner's is the same answer for the route: not there.
 */


#include "ngx_http_chaton_module.h"

#include "chaton_keys.h"


#define NGX_HTTP_CHATON_STORE_EXPIRE  3     /* expired dropped per store */


typedef struct {
    u_char                       color;
    u_char                       owned;      /* made with a client key */
    u_short                      id_len;
    uint32_t                     len;        /* the entry's bytes */
    ngx_queue_t                  queue;
    time_t                       expire;
    u_char                       owner[CHATON_KEY_DIGEST_LEN];
    u_char                       data[1];    /* the id, then the entry */
} ngx_http_chaton_store_node_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;      /* newest first */
} ngx_http_chaton_store_sh_t;


typedef struct {
    ngx_http_chaton_store_sh_t  *sh;
    ngx_slab_pool_t             *shpool;
} ngx_http_chaton_store_zone_t;


/* who asks: the client key's digest, or nobody's */

typedef struct {
    u_char                       owned;
    u_char                       owner[CHATON_KEY_DIGEST_LEN];
} ngx_http_chaton_store_who_t;


static ngx_int_t ngx_http_chaton_store_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_chaton_store_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_chaton_store_take(ngx_http_request_t *r,
    ngx_str_t *id, ngx_str_t *entry);
static ngx_http_chaton_store_zone_t *ngx_http_chaton_store_asked(
    ngx_http_request_t *r, ngx_str_t *id, ngx_http_chaton_store_who_t *who);
static ngx_http_chaton_store_node_t *ngx_http_chaton_store_find(
    ngx_http_chaton_store_zone_t *z, ngx_str_t *id,
    ngx_http_chaton_store_who_t *who);
static void ngx_http_chaton_store_drop(ngx_http_chaton_store_zone_t *z,
    ngx_http_chaton_store_node_t *sn);
static void ngx_http_chaton_store_expire(ngx_http_chaton_store_zone_t *z,
    ngx_uint_t n);
static void ngx_http_chaton_store_who(ngx_http_request_t *r,
    ngx_http_chaton_store_who_t *who);


/*
 * chaton_responses_store zone=NAME:SIZE [ttl=TIME];
 * chaton_responses_store off;
 */

char *
ngx_http_chaton_store_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_chaton_loc_conf_t *lcf = conf;

    u_char                        *p;
    time_t                         ttl;
    ssize_t                        size;
    ngx_str_t                     *value, name, s;
    ngx_uint_t                     i;
    ngx_shm_zone_t                *zone;
    ngx_http_chaton_store_zone_t  *z;

    if (lcf->store_zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        lcf->store_zone = NULL;
        return NGX_CONF_OK;
    }

    ngx_str_null(&name);
    size = 0;
    ttl = 3600;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                goto invalid;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);

            if (name.len == 0 || size == NGX_ERROR
                || size < (ssize_t) (8 * ngx_pagesize))
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ttl = ngx_parse_time(&s, 1);

            if (ttl == (time_t) NGX_ERROR || ttl < 1) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone=NAME:SIZE\" "
                           "(SIZE of 8 pages at least) or be \"off\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_chaton_module);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the same zone in several places: one store */

    if (zone->data == NULL) {
        z = ngx_pcalloc(cf->pool, sizeof(ngx_http_chaton_store_zone_t));
        if (z == NULL) {
            return NGX_CONF_ERROR;
        }

        zone->init = ngx_http_chaton_store_init_zone;
        zone->data = z;

    } else if (zone->init != ngx_http_chaton_store_init_zone) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    lcf->store_zone = zone;
    lcf->store_ttl = ttl;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);

    return NGX_CONF_ERROR;
}


/* a reload keeps the entries: the old cycle's zone is this one */

static ngx_int_t
ngx_http_chaton_store_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_chaton_store_zone_t  *oz = data;

    size_t                         len;
    ngx_http_chaton_store_zone_t  *z;

    z = shm_zone->data;

    if (oz) {
        z->sh = oz->sh;
        z->shpool = oz->shpool;
        return NGX_OK;
    }

    z->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        z->sh = z->shpool->data;
        return NGX_OK;
    }

    z->sh = ngx_slab_alloc(z->shpool, sizeof(ngx_http_chaton_store_sh_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }

    z->shpool->data = z->sh;

    ngx_rbtree_init(&z->sh->rbtree, &z->sh->sentinel,
                    ngx_http_chaton_store_insert_value);
    ngx_queue_init(&z->sh->queue);

    len = sizeof(" in chaton_responses_store zone \"\"")
          + shm_zone->shm.name.len;

    z->shpool->log_ctx = ngx_slab_alloc(z->shpool, len);
    if (z->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(z->shpool->log_ctx, " in chaton_responses_store zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a store that is full evicts: its allocator need not complain */

    z->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_chaton_store_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_http_chaton_store_node_t   *sn, *snt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            sn = (ngx_http_chaton_store_node_t *) &node->color;
            snt = (ngx_http_chaton_store_node_t *) &temp->color;

            p = (ngx_memn2cmp(sn->data, snt->data, sn->id_len, snt->id_len)
                 < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* whether the location keeps responses */

ngx_uint_t
ngx_http_chaton_store_on(ngx_http_request_t *r)
{
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    return lcf->store_zone != NULL;
}


/*
 * An entry into the store under its id, for the location's ttl.  A store
 * that cannot keep it (larger than the zone can hold) logs it and goes on:
 * the answer was given all the same.
 */

ngx_int_t
ngx_http_chaton_store_put(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *entry)
{
    size_t                          n;
    uint32_t                        hash;
    ngx_rbtree_node_t              *node;
    ngx_http_chaton_loc_conf_t     *lcf;
    ngx_http_chaton_store_who_t     who;
    ngx_http_chaton_store_node_t   *sn, *old;
    ngx_http_chaton_store_zone_t   *z;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);
    z = lcf->store_zone->data;

    ngx_http_chaton_store_who(r, &who);

    n = offsetof(ngx_rbtree_node_t, color)
        + offsetof(ngx_http_chaton_store_node_t, data) + id->len
        + entry->len;

    hash = ngx_crc32_short(id->data, id->len);

    /* what could only fit by emptying the zone is not worth it */

    if (n > lcf->store_zone->shm.size / 2 || id->len > 0xffff) {
        ngx_http_chaton_log(NGX_LOG_WARN, r, "response %V not stored: its "
                            "%uz bytes are more than half the zone \"%V\"",
                            id, entry->len, &lcf->store_zone->shm.name);
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    ngx_http_chaton_store_expire(z, NGX_HTTP_CHATON_STORE_EXPIRE);

    /* an id is drawn at random: one already there is replaced */

    old = ngx_http_chaton_store_find(z, id, NULL);

    if (old) {
        ngx_http_chaton_store_drop(z, old);
    }

    for ( ;; ) {
        node = ngx_slab_alloc_locked(z->shpool, n);

        if (node || ngx_queue_empty(&z->sh->queue)) {
            break;
        }

        /* full: the oldest goes */

        old = ngx_queue_data(ngx_queue_last(&z->sh->queue),
                             ngx_http_chaton_store_node_t, queue);
        ngx_http_chaton_store_drop(z, old);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);

        ngx_http_chaton_log(NGX_LOG_WARN, r, "response %V not stored: its "
                            "%uz bytes do not fit in the zone \"%V\"", id,
                            entry->len, &lcf->store_zone->shm.name);
        return NGX_DECLINED;
    }

    sn = (ngx_http_chaton_store_node_t *) &node->color;

    node->key = hash;
    sn->owned = who.owned;
    ngx_memcpy(sn->owner, who.owner, sizeof(sn->owner));
    sn->id_len = (u_short) id->len;
    sn->len = (uint32_t) entry->len;
    sn->expire = ngx_time() + lcf->store_ttl;
    ngx_memcpy(sn->data, id->data, id->len);
    ngx_memcpy(sn->data + id->len, entry->data, entry->len);

    ngx_rbtree_insert(&z->sh->rbtree, node);
    ngx_queue_insert_head(&z->sh->queue, &sn->queue);

    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/*
 * The entry of an id, the asker's and alive, copied into the request's
 * pool; NGX_DECLINED: not there (never, no more, or not the asker's).
 */

ngx_int_t
ngx_http_chaton_store_get(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *entry)
{
    return ngx_http_chaton_store_take(r, id, entry);
}


/* DELETE: NGX_DECLINED when there is no such entry of the asker's */

ngx_int_t
ngx_http_chaton_store_delete(ngx_http_request_t *r, ngx_str_t *id)
{
    return ngx_http_chaton_store_take(r, id, NULL);
}


/* an asker's entry: copied out (entry), or dropped (NULL) */

static ngx_int_t
ngx_http_chaton_store_take(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *entry)
{
    ngx_int_t                       rc;
    ngx_http_chaton_store_who_t     who;
    ngx_http_chaton_store_node_t   *sn;
    ngx_http_chaton_store_zone_t   *z;

    z = ngx_http_chaton_store_asked(r, id, &who);

    if (z == NULL) {
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_chaton_store_find(z, id, &who);
    rc = NGX_DECLINED;

    if (sn && entry == NULL) {
        ngx_http_chaton_store_drop(z, sn);
        rc = NGX_OK;

    } else if (sn) {
        entry->len = sn->len;
        entry->data = ngx_pnalloc(r->pool, sn->len);

        if (entry->data) {
            ngx_memcpy(entry->data, sn->data + sn->id_len, sn->len);
        }

        rc = entry->data ? NGX_OK : NGX_ERROR;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return rc;
}


/* the zone a request asks of, and who asks; NULL: no store, or no id */

static ngx_http_chaton_store_zone_t *
ngx_http_chaton_store_asked(ngx_http_request_t *r, ngx_str_t *id,
    ngx_http_chaton_store_who_t *who)
{
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    if (lcf->store_zone == NULL || id->len > 0xffff) {
        return NULL;
    }

    ngx_http_chaton_store_who(r, who);

    return lcf->store_zone->data;
}


/*
 * An id's node, alive (an expired one found is dropped) and, when "who"
 * is given, its owner's; the zone is locked.
 */

static ngx_http_chaton_store_node_t *
ngx_http_chaton_store_find(ngx_http_chaton_store_zone_t *z, ngx_str_t *id,
    ngx_http_chaton_store_who_t *who)
{
    uint32_t                       hash;
    ngx_int_t                      rc;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_chaton_store_node_t  *sn;

    hash = ngx_crc32_short(id->data, id->len);

    node = z->sh->rbtree.root;
    sentinel = z->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        sn = (ngx_http_chaton_store_node_t *) &node->color;

        rc = ngx_memn2cmp(id->data, sn->data, id->len, sn->id_len);

        if (rc != 0) {
            node = (rc < 0) ? node->left : node->right;
            continue;
        }

        if (sn->expire <= ngx_time()) {
            ngx_http_chaton_store_drop(z, sn);
            return NULL;
        }

        if (who
            && (who->owned != sn->owned
                || ngx_memcmp(who->owner, sn->owner, sizeof(sn->owner))
                   != 0))
        {
            return NULL;
        }

        return sn;
    }

    return NULL;
}


static void
ngx_http_chaton_store_drop(ngx_http_chaton_store_zone_t *z,
    ngx_http_chaton_store_node_t *sn)
{
    ngx_rbtree_node_t  *node;

    node = (ngx_rbtree_node_t *)
               ((u_char *) sn - offsetof(ngx_rbtree_node_t, color));

    ngx_queue_remove(&sn->queue);
    ngx_rbtree_delete(&z->sh->rbtree, node);
    ngx_slab_free_locked(z->shpool, node);
}


/* up to n of the oldest entries, if past their time; the zone is locked */

static void
ngx_http_chaton_store_expire(ngx_http_chaton_store_zone_t *z, ngx_uint_t n)
{
    time_t                         now;
    ngx_queue_t                   *q;
    ngx_http_chaton_store_node_t  *sn;

    now = ngx_time();

    while (n--) {

        if (ngx_queue_empty(&z->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&z->sh->queue);
        sn = ngx_queue_data(q, ngx_http_chaton_store_node_t, queue);

        if (sn->expire > now) {
            return;
        }

        ngx_http_chaton_store_drop(z, sn);
    }
}


/* the owner: the digest of the request's client key, as keys.c keeps it */

static void
ngx_http_chaton_store_who(ngx_http_request_t *r,
    ngx_http_chaton_store_who_t *who)
{
    u_char                      *digests;
    ngx_str_t                   *name;
    ngx_uint_t                   i;
    ngx_http_chaton_loc_conf_t  *lcf;

    ngx_memzero(who, sizeof(ngx_http_chaton_store_who_t));

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    name = ngx_http_chaton_client(r);

    if (name == NULL) {
        return;
    }

    i = name - (ngx_str_t *) lcf->clients->names.elts;
    digests = lcf->clients->digests.elts;

    who->owned = 1;
    ngx_memcpy(who->owner, digests + i * CHATON_KEY_DIGEST_LEN,
               CHATON_KEY_DIGEST_LEN);
}
