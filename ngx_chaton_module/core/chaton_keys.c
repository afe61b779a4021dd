/*
 * Client API keys.  Only their SHA-256 digests are kept; a presented key is
 * digested and compared with every stored digest, all of them, with
 * CRYPTO_memcmp: the time taken says nothing about how much of which key
 * matched, nor about the keys' lengths.
 */

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "chaton_keys.h"


int
chaton_key_digest(const unsigned char *key, size_t len, unsigned char *digest)
{
    unsigned int  n;

    if (!EVP_Digest(key, len, digest, &n, EVP_sha256(), NULL)
        || n != CHATON_KEY_DIGEST_LEN)
    {
        return CHATON_ERROR;
    }

    return CHATON_OK;
}


/* the index of the matching digest, or -1 */

long
chaton_key_match(const unsigned char *digests, size_t n,
    const unsigned char *digest)
{
    long    found;
    size_t  i;

    found = -1;

    /* every digest is compared, also after a match */

    for (i = 0; i < n; i++) {
        if (CRYPTO_memcmp(digests + i * CHATON_KEY_DIGEST_LEN, digest,
                          CHATON_KEY_DIGEST_LEN) == 0
            && found < 0)
        {
            found = (long) i;
        }
    }

    return found;
}
