/*
 * Forced into the module's sources (gcc -include) by the sanitizer builds,
 * make test-asan and make test-valgrind (scripts/sanitize); never by
 * make build.
 *
 * An nginx pool hands out slices of big blocks, so neither ASan nor
 * valgrind sees a write past the end of what the module asked for: it lands
 * in the next slice.  Here the module's own pool allocations (ngx_palloc,
 * ngx_pnalloc, ngx_pcalloc in its .c files, the core's allocator included)
 * each become a separate malloc'd block of the exact size, still owned and
 * freed by the pool (on the pool's large list, as ngx_pfree expects), so a
 * byte read or written past one is reported, and a block used after its
 * pool is gone is too.  Allocations nginx makes for
 * the module (temp bufs, chains, arrays) stay pool slices.
 *
 * Only where nginx's headers can be found: configure's feature tests are
 * compiled with the same flags and must not see this.
 */

#ifndef _CHATON_POOL_MALLOC_H_INCLUDED_
#define _CHATON_POOL_MALLOC_H_INCLUDED_

#if defined(__has_include)
#if __has_include(<ngx_config.h>) && __has_include(<ngx_core.h>)

#include <ngx_config.h>
#include <ngx_core.h>


/*
 * What ngx_palloc() does for a block too large for the pool's slices
 * (ngx_palloc_large, which is static): a block of its own, on the pool's
 * large list, reusing one of the first list entries that ngx_pfree()
 * emptied; so ngx_pfree() frees it, and a stream that allocates and frees
 * per event does not grow the list.
 */

static ngx_inline void *
chaton_pool_malloc(ngx_pool_t *pool, size_t size)
{
    void              *p;
    ngx_uint_t         n;
    ngx_pool_large_t  *large;

    p = ngx_memalign(NGX_ALIGNMENT, size ? size : 1, pool->log);
    if (p == NULL) {
        return NULL;
    }

    n = 0;

    for (large = pool->large; large; large = large->next) {
        if (large->alloc == NULL) {
            large->alloc = p;
            return p;
        }

        if (n++ > 3) {
            break;
        }
    }

    /* the real ngx_palloc: the macro below is not defined yet */

    large = ngx_palloc(pool, sizeof(ngx_pool_large_t));
    if (large == NULL) {
        ngx_free(p);
        return NULL;
    }

    large->alloc = p;
    large->next = pool->large;
    pool->large = large;

    return p;
}


static ngx_inline void *
chaton_pool_calloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    p = chaton_pool_malloc(pool, size);

    if (p) {
        ngx_memzero(p, size);
    }

    return p;
}


#define ngx_palloc(pool, size)   chaton_pool_malloc(pool, size)
#define ngx_pnalloc(pool, size)  chaton_pool_malloc(pool, size)
#define ngx_pcalloc(pool, size)  chaton_pool_calloc(pool, size)

#endif
#endif

#endif /* _CHATON_POOL_MALLOC_H_INCLUDED_ */
