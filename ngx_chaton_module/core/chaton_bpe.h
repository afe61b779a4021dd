/*
 * The o200k_base tokenizer (gpt-4o, the o-series): text -> its number of
 * tokens, as OpenAI's tiktoken counts it.  The vocabulary (each token's
 * bytes and rank) and the Unicode categories its pre-tokenization needs
 * are data, read once from files the caller loaded: tiktoken's file
 * format ("<base64 token> <rank>" a line) and Unicode's UnicodeData.txt.
 */

#ifndef _CHATON_BPE_H_INCLUDED_
#define _CHATON_BPE_H_INCLUDED_


#include "chaton.h"


/*
 * Pieces (the pre-tokenizer's matches) are merged whole up to this many
 * bytes; longer ones (runs of one class of character without a break,
 * beyond any word) are merged in parts of it, which bounds the merge's
 * cost (quadratic in a piece's length) and may count such runs apart
 * from tiktoken.  A stream holds back at most this much text too.
 */

#define CHATON_BPE_PIECE  512


typedef struct chaton_bpe_s  chaton_bpe_t;


/*
 * A count over text that comes in parts (a stream's deltas): the pieces
 * that more text can no longer change are counted as they come, the last
 * one is held (in a fixed buffer: memory per stream is bounded).
 */

typedef struct {
    const chaton_bpe_t     *bpe;
    uint64_t                tokens;
    size_t                  len;
    unsigned char           tail[CHATON_BPE_PIECE];
} chaton_bpe_stream_t;


int chaton_bpe_load(chaton_bpe_t **bpe, chaton_alloc_t *a,
    const unsigned char *ranks, size_t ranks_len,
    const unsigned char *ucd, size_t ucd_len, const char **why);
uint64_t chaton_bpe_count(const chaton_bpe_t *bpe, const unsigned char *s,
    size_t len);

void chaton_bpe_stream_init(chaton_bpe_stream_t *st, const chaton_bpe_t *bpe);
void chaton_bpe_feed(chaton_bpe_stream_t *st, const unsigned char *s,
    size_t len, int json);
uint64_t chaton_bpe_stream_end(chaton_bpe_stream_t *st);


#endif /* _CHATON_BPE_H_INCLUDED_ */
