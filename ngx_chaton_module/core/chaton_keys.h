/*
 * Client API keys: kept as SHA-256 digests, matched in constant time.
 */

#ifndef _CHATON_KEYS_H_INCLUDED_
#define _CHATON_KEYS_H_INCLUDED_


#include "chaton.h"


#define CHATON_KEY_DIGEST_LEN  32


int chaton_key_digest(const unsigned char *key, size_t len,
    unsigned char *digest);
long chaton_key_match(const unsigned char *digests, size_t n,
    const unsigned char *digest);


#endif /* _CHATON_KEYS_H_INCLUDED_ */
