/*
 * The signer.
 *
 *   message       = METHOD ":" PATH ":" DATE "\n" BODY
 *   signature     = base64(HMAC-SHA256(keyB, message))
 *   Authorization = "Bearer " base64(keyA) "." signature
 *
 * HMAC (RFC 2104) is computed here on SHA-256's own contexts: key B is
 * hashed into an inner (key ^ ipad) and an outer (key ^ opad) context once,
 * when the configuration is read, and each request copies those two
 * structures.  OpenSSL's EVP_MAC way (a keyed context duplicated per
 * request) costs a third again of the hashing itself in allocations,
 * provider dispatch and frees; the block function is the same.  Key B is
 * kept nowhere else, and the per-request copies are cleansed.
 */

#include <stdlib.h>

/* SHA256_Init() and the others are deprecated in OpenSSL 3, not removed */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "chaton_sign.h"


#define CHATON_MAC_LEN  32          /* SHA-256 */


struct chaton_signer_s {
    SHA256_CTX         inner;       /* SHA-256 of key ^ ipad */
    SHA256_CTX         outer;       /* SHA-256 of key ^ opad */
    unsigned char     *key_a;       /* "Bearer " base64(keyA) "." */
    size_t             key_a_len;
};


static int chaton_sign_key(chaton_signer_t *s, const unsigned char *key,
    size_t len);


static void *
chaton_sign_malloc(void *pool, size_t size)
{
    return malloc(size);
}


static void
chaton_sign_free(void *pool, void *p)
{
    free(p);
}


/* a key is plain text, or "base64:" and standard base64 of raw bytes */

int
chaton_key_decode(chaton_buf_t *out, const unsigned char *value, size_t len)
{
    if (len >= 7 && memcmp(value, "base64:", 7) == 0) {
        return chaton_base64_decode(out, value + 7, len - 7);
    }

    return chaton_buf_append(out, value, len);
}


chaton_signer_t *
chaton_signer_create(const unsigned char *key_a, size_t key_a_len,
    const unsigned char *key_b, size_t key_b_len)
{
    chaton_buf_t      b;
    chaton_alloc_t    a;
    chaton_signer_t  *s;

    s = calloc(1, sizeof(chaton_signer_t));
    if (s == NULL) {
        return NULL;
    }

    a.alloc = chaton_sign_malloc;
    a.free = chaton_sign_free;
    a.pool = NULL;

    chaton_buf_init(&b, &a, 0);

    if (chaton_buf_literal(&b, "Bearer ") != CHATON_OK
        || chaton_base64_encode(&b, key_a, key_a_len) != CHATON_OK
        || chaton_buf_literal(&b, ".") != CHATON_OK
        || chaton_sign_key(s, key_b, key_b_len) != CHATON_OK)
    {
        free(b.data);
        chaton_signer_destroy(s);
        return NULL;
    }

    s->key_a = b.data;
    s->key_a_len = b.len;

    return s;
}


/* the inner and outer contexts of HMAC-SHA256 with key B (RFC 2104) */

static int
chaton_sign_key(chaton_signer_t *s, const unsigned char *key, size_t len)
{
    int            ok;
    size_t         i;
    unsigned char  k[SHA256_CBLOCK], pad[SHA256_CBLOCK];

    memset(k, 0, sizeof(k));

    /* a key longer than a block is its hash */

    if (len > SHA256_CBLOCK) {
        SHA256(key, len, k);

    } else if (len) {
        memcpy(k, key, len);
    }

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = k[i] ^ 0x36;
    }

    ok = SHA256_Init(&s->inner) && SHA256_Update(&s->inner, pad, sizeof(pad));

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    ok = ok && SHA256_Init(&s->outer)
         && SHA256_Update(&s->outer, pad, sizeof(pad));

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));

    return ok ? CHATON_OK : CHATON_ERROR;
}


void
chaton_signer_destroy(chaton_signer_t *s)
{
    if (s == NULL) {
        return;
    }

    free(s->key_a);
    OPENSSL_cleanse(s, sizeof(chaton_signer_t));
    free(s);
}


size_t
chaton_sign_date(char *buf, time_t t)
{
    struct tm  tm;

    gmtime_r(&t, &tm);

    return strftime(buf, CHATON_DATE_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


/* the length of the Authorization value chaton_sign() writes */

size_t
chaton_sign_len(const chaton_signer_t *s)
{
    return s->key_a_len + (CHATON_MAC_LEN + 2) / 3 * 4;
}


int
chaton_sign(const chaton_signer_t *s, unsigned char *out,
    const char *method, const unsigned char *path, size_t path_len,
    const char *date, const unsigned char *body, size_t body_len)
{
    int            ok;
    chaton_buf_t   b;
    SHA256_CTX     ctx;
    unsigned char  mac[CHATON_MAC_LEN];

    /* a structure copy: the keyed contexts are reused, not consumed */

    ctx = s->inner;

    ok = SHA256_Update(&ctx, method, strlen(method))
         && SHA256_Update(&ctx, ":", 1)
         && SHA256_Update(&ctx, path, path_len)
         && SHA256_Update(&ctx, ":", 1)
         && SHA256_Update(&ctx, date, strlen(date))
         && SHA256_Update(&ctx, "\n", 1)
         && SHA256_Update(&ctx, body, body_len)
         && SHA256_Final(mac, &ctx);

    if (ok) {
        ctx = s->outer;

        ok = SHA256_Update(&ctx, mac, sizeof(mac))
             && SHA256_Final(mac, &ctx);
    }

    OPENSSL_cleanse(&ctx, sizeof(ctx));

    if (!ok) {
        return CHATON_ERROR;
    }

    memcpy(out, s->key_a, s->key_a_len);

    /* the buffer is exactly chaton_sign_len() bytes: no allocation needed */

    b.data = out + s->key_a_len;
    b.len = 0;
    b.cap = chaton_sign_len(s) - s->key_a_len;
    b.max = b.cap;
    b.alloc = NULL;

    return chaton_base64_encode(&b, mac, sizeof(mac));
}
