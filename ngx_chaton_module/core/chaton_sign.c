/*
 * The signer.
 *
 *   message       = METHOD ":" PATH ":" DATE "\n" BODY
 *   signature     = base64(HMAC-SHA256(keyB, message))
 *   Authorization = "Bearer " base64(keyA) "." signature
 *
 * Key B is keyed into an HMAC context once, when the configuration is read;
 * each request duplicates that context, so the key schedule is not redone
 * per request and key B itself is not kept anywhere else.
 */

#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "chaton_sign.h"


#define CHATON_MAC_LEN  32          /* SHA-256 */


struct chaton_signer_s {
    EVP_MAC_CTX       *keyed;
    unsigned char     *key_a;       /* "Bearer " base64(keyA) "." */
    size_t             key_a_len;
};


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
    int               ok;
    EVP_MAC          *mac;
    OSSL_PARAM        params[2];
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
        || chaton_buf_literal(&b, ".") != CHATON_OK)
    {
        free(b.data);
        free(s);
        return NULL;
    }

    s->key_a = b.data;
    s->key_a_len = b.len;

    mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (mac == NULL) {
        goto failed;
    }

    s->keyed = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (s->keyed == NULL) {
        goto failed;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    ok = EVP_MAC_init(s->keyed, key_b, key_b_len, params);
    if (!ok) {
        goto failed;
    }

    return s;

failed:

    chaton_signer_destroy(s);
    return NULL;
}


void
chaton_signer_destroy(chaton_signer_t *s)
{
    if (s == NULL) {
        return;
    }

    EVP_MAC_CTX_free(s->keyed);
    free(s->key_a);
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
    int              ok;
    size_t           n;
    EVP_MAC_CTX     *ctx;
    chaton_buf_t     b;
    unsigned char    mac[CHATON_MAC_LEN];

    ctx = EVP_MAC_CTX_dup(s->keyed);
    if (ctx == NULL) {
        return CHATON_ERROR;
    }

    ok = EVP_MAC_update(ctx, (const unsigned char *) method, strlen(method))
         && EVP_MAC_update(ctx, (const unsigned char *) ":", 1)
         && EVP_MAC_update(ctx, path, path_len)
         && EVP_MAC_update(ctx, (const unsigned char *) ":", 1)
         && EVP_MAC_update(ctx, (const unsigned char *) date, strlen(date))
         && EVP_MAC_update(ctx, (const unsigned char *) "\n", 1)
         && (body_len == 0 || EVP_MAC_update(ctx, body, body_len))
         && EVP_MAC_final(ctx, mac, &n, sizeof(mac));

    EVP_MAC_CTX_free(ctx);

    if (!ok || n != CHATON_MAC_LEN) {
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
