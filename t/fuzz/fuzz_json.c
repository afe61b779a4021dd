/*
 * chaton_buf: the JSON string escaper, base64 and UTF-8 helpers, against
 * independent oracles.
 *
 * Input: [flags] [room] bytes...
 *
 *   flags bit 0      the allocator frees (as the module's) or never does
 *         bits 1-7   bytes already in the buffer before the escaper writes
 *                    (0..127), so that every growth boundary is crossed
 *   room             the buffer's cap ("max") above what is needed at
 *                    least: 0 = no cap; else a cap of prefix + room - 1, so
 *                    that the escaper runs out of room at every point
 *
 * Checks:
 *   - chaton_json_string() of any bytes is one valid JSON string that
 *     decodes (by an independent RFC 8259 decoder) to the bytes, each byte
 *     that does not start a valid UTF-8 character replaced by U+FFFD;
 *     U+2028/U+2029 and control characters never appear raw; under a cap
 *     it either fits exactly or fails with CHATON_TOO_BIG, never writing
 *     past the cap (ASan) or leaving half an escape;
 *   - base64: decode(encode(x)) == x with the exact encoded length; any
 *     text the decoder accepts encodes back to itself (padding and the
 *     URL-safe alphabet aside), and an independent decoder agrees on what
 *     is accepted and on the bytes;
 *   - chaton_utf8_valid() agrees with an independent validator, and
 *     chaton_utf8_chars()/the usage estimate with an independent count.
 */

#include "fuzz.h"


static void
check_escape(const uint8_t *s, size_t len, int with_free, size_t pre,
    size_t room)
{
    int             rc;
    size_t          i, n, dlen, rlen;
    fz_pool_t       pool;
    chaton_buf_t    b;
    unsigned char  *dec, *rep;
    const uint8_t  *body;

    fz_pool_init(&pool, with_free);
    chaton_buf_init(&b, &pool.a, room ? pre + room - 1 : 0);

    for (i = 0; i < pre; i++) {
        FZ_CHECK(chaton_buf_append(&b, "p", 1) == CHATON_OK
                 || (room && b.max < pre), "prefix");
    }

    if (b.len != pre) {
        fz_pool_release(&pool);
        return;
    }

    rc = chaton_json_string(&b, s, len);

    FZ_CHECK(b.len <= b.cap && (b.max == 0 || b.len <= b.max),
             "the buffer holds %zu bytes, cap %zu, max %zu", b.len, b.cap,
             b.max);

    for (i = 0; i < pre; i++) {
        FZ_CHECK(b.data[i] == 'p', "the bytes before were changed");
    }

    if (rc == CHATON_TOO_BIG) {
        FZ_CHECK(room != 0, "TOO_BIG without a cap");

        /* what was written is whole escapes: it decodes */

        if (b.len > pre + 1) {
            dec = malloc(b.len);
            FZ_CHECK(dec != NULL, "out of memory");
            FZ_CHECK(b.data[pre] == '"', "no opening quote");
            n = b.len - pre - 1;
            if (b.data[b.len - 1] == '"' && n > 0
                && fz_json_unescape(b.data + pre + 1, n - 1, dec)
                   != (size_t) -1)
            {
                /* the closing quote did not fit: fine */
            } else {
                FZ_CHECK(fz_json_unescape(b.data + pre + 1, n, dec)
                         != (size_t) -1,
                         "a cut escape was left behind");
            }
            free(dec);
        }

        fz_pool_release(&pool);
        return;
    }

    FZ_CHECK(rc == CHATON_OK, "json_string returned %d", rc);

    body = b.data + pre;
    n = b.len - pre;

    FZ_CHECK(n >= 2 && body[0] == '"' && body[n - 1] == '"',
             "not a quoted string");

    /* no raw control characters, no raw U+2028/U+2029, valid UTF-8 */

    FZ_CHECK(fz_utf8_valid(body, n), "the escaped text is not valid UTF-8");
    FZ_CHECK(memmem(body, n, "\xe2\x80\xa8", 3) == NULL
             && memmem(body, n, "\xe2\x80\xa9", 3) == NULL,
             "a raw U+2028/U+2029");

    for (i = 0; i < n; i++) {
        FZ_CHECK(body[i] >= 0x20, "a raw control character 0x%02x",
                 body[i]);
    }

    dec = malloc(n + 1);
    rep = malloc(len * 3 + 1);
    FZ_CHECK(dec != NULL && rep != NULL, "out of memory");

    dlen = fz_json_unescape(body + 1, n - 2, dec);
    FZ_CHECK(dlen != (size_t) -1, "not a valid JSON string: %.*s",
             (int) (n > 400 ? 400 : n), body);

    rlen = fz_utf8_repair(s, len, rep);

    if (dlen != rlen || memcmp(dec, rep, dlen) != 0) {
        fz_dump("input", s, len);
        fz_dump("escaped", body, n);
        fz_dump("decoded", dec, dlen);
        fz_dump("expected", rep, rlen);
        FZ_CHECK(0, "the escaped string does not decode to the input");
    }

    /* cJSON reads it the same way (up to a NUL, where C strings end) */

    {
        cJSON  *j;

        j = fz_json(body, n, "an escaped string");
        FZ_CHECK(cJSON_IsString(j), "not a JSON string");
        FZ_CHECK(strncmp(j->valuestring, (char *) dec, dlen) == 0
                 || memchr(dec, '\0', dlen),
                 "cJSON decodes it otherwise");
        cJSON_Delete(j);
    }

    free(dec);
    free(rep);

    fz_pool_release(&pool);
}


static int
b64v(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') { return c - 'A'; }
    if (c >= 'a' && c <= 'z') { return c - 'a' + 26; }
    if (c >= '0' && c <= '9') { return c - '0' + 52; }
    if (c == '+' || c == '-') { return 62; }
    if (c == '/' || c == '_') { return 63; }
    return -1;
}


/*
 * An independent strict decoder: groups of four characters; a last group of
 * 2 or 3 characters, padded with "=" to four or not padded at all; the
 * bits an encoder leaves zero must be zero.  Returns the length or -1.
 */

static long
ref_b64_decode(const uint8_t *s, size_t len, unsigned char *out)
{
    int       v[4];
    size_t    i, k, g, pad, o;

    pad = 0;

    if (len % 4 == 0 && len >= 4) {
        pad = (s[len - 1] == '=') + (s[len - 1] == '=' && s[len - 2] == '=');
    }

    len -= pad;

    if (pad == 0) {
        /* unpadded: the text may end in a group of 2 or 3 */
        if (len % 4 == 1) {
            return -1;
        }
    }

    o = 0;

    for (i = 0; i < len; i += g) {
        g = len - i < 4 ? len - i : 4;

        for (k = 0; k < g; k++) {
            v[k] = b64v(s[i + k]);
            if (v[k] < 0) {
                return -1;
            }
        }

        out[o++] = (unsigned char) ((v[0] << 2) | (v[1] >> 4));

        if (g == 2) {
            if (v[1] & 0x0f) {
                return -1;
            }
            break;
        }

        out[o++] = (unsigned char) (((v[1] & 0x0f) << 4) | (v[2] >> 2));

        if (g == 3) {
            if (v[2] & 0x03) {
                return -1;
            }
            break;
        }

        out[o++] = (unsigned char) (((v[2] & 0x03) << 6) | v[3]);
    }

    return (long) o;
}


static void
check_base64(const uint8_t *s, size_t len, int with_free)
{
    int             rc;
    long            rlen;
    size_t          i, n, elen;
    fz_pool_t       pool;
    chaton_buf_t    e, d;
    unsigned char  *ref, *norm;

    fz_pool_init(&pool, with_free);

    /* the round trip */

    chaton_buf_init(&e, &pool.a, 0);
    chaton_buf_init(&d, &pool.a, 0);

    FZ_CHECK(chaton_base64_encode(&e, s, len) == CHATON_OK, "encode");
    FZ_CHECK(e.len == (len + 2) / 3 * 4, "%zu bytes encoded to %zu", len,
             e.len);

    rc = chaton_base64_decode(&d, e.data, e.len);
    FZ_CHECK(rc == CHATON_OK && d.len == len
             && (len == 0 || memcmp(d.data, s, len) == 0),
             "decode(encode(x)) != x (rc %d, %zu bytes)", rc, d.len);

    /* the input as base64 text */

    d.len = 0;
    rc = chaton_base64_decode(&d, s, len);

    ref = malloc(len + 1);
    FZ_CHECK(ref != NULL, "out of memory");

    rlen = ref_b64_decode(s, len, ref);

    if ((rc == CHATON_OK) != (rlen >= 0)
        || (rc == CHATON_OK
            && ((size_t) rlen != d.len
                || memcmp(ref, d.data, d.len) != 0)))
    {
        fz_dump("text", s, len);
        FZ_CHECK(0, "the decoder says %d (%zu bytes), the reference %ld",
                 rc, d.len, rlen);
    }

    FZ_CHECK(rc == CHATON_OK || rc == CHATON_BAD, "decode returned %d", rc);

    if (rc == CHATON_OK) {
        norm = malloc(len + 1);
        FZ_CHECK(norm != NULL, "out of memory");

        for (n = 0; n < len && s[n] != '='; n++) {
            norm[n] = s[n] == '-' ? '+' : s[n] == '_' ? '/' : s[n];
        }

        e.len = 0;
        FZ_CHECK(chaton_base64_encode(&e, d.data, d.len) == CHATON_OK,
                 "encode");

        elen = e.len;
        while (elen && e.data[elen - 1] == '=') {
            elen--;
        }

        FZ_CHECK(elen == n && (n == 0 || memcmp(e.data, norm, n) == 0),
                 "accepted base64 that does not encode back to itself");

        for (i = n; i < len; i++) {
            FZ_CHECK(s[i] == '=', "text after the padding");
        }

        free(norm);
    }

    free(ref);

    fz_pool_release(&pool);
}


static void
check_utf8(const uint8_t *s, size_t len)
{
    int             valid;
    size_t          i, n, chars;
    uint64_t        ascii, other;
    chaton_usage_t  u;

    valid = fz_utf8_valid(s, len);

    FZ_CHECK(chaton_utf8_valid(s, len) == valid,
             "chaton_utf8_valid() says %d, the oracle %d",
             chaton_utf8_valid(s, len), valid);

    if (!valid) {
        return;
    }

    chars = 0;
    ascii = 0;
    other = 0;

    for (i = 0; i < len; i += n) {
        n = fz_utf8_char(s + i, len - i, NULL);
        chars++;
        if (n == 1) { ascii++; } else { other++; }
    }

    FZ_CHECK(chaton_utf8_chars(s, len) == chars, "%zu characters, not %zu",
             chaton_utf8_chars(s, len), chars);

    /* in two pieces: the estimate adds up across pieces */

    memset(&u, 0, sizeof(u));
    chaton_usage_add(&u, s, len / 2);
    chaton_usage_add(&u, s + len / 2, len - len / 2);

    FZ_CHECK(chaton_usage_tokens(&u) == (ascii + 3) / 4 + other,
             "the usage estimate differs");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             with_free;
    size_t          pre, room;
    const uint8_t  *s;

    if (size < 2) {
        return 0;
    }

    with_free = data[0] & 1;
    pre = data[0] >> 1;
    room = data[1];
    s = data + 2;
    size -= 2;

    check_escape(s, size, with_free, pre, 0);

    if (room) {
        check_escape(s, size, with_free, pre, room);
    }

    check_base64(s, size, with_free);
    check_utf8(s, size);

    return 0;
}
