/*
 * chaton_sign.h: the date, key decoding and the Authorization value.
 *
 * Signatures are checked against the openssl command line, run at test time
 * on the exact message bytes (written to a temporary file), so the expected
 * values are computed independently of the code under test.  Two vectors are
 * also pasted in, with the command that produced them, for when openssl(1)
 * is not installed.
 */

#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "chaton_sign.h"


#define DATE  "2026-11-24T22:31:25Z"

#define SEED_BODY                                                            \
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"    \
    "\"hello\"}],\"max_tokens\":8000,\"source\":\"chat/free\","              \
    "\"function_web_search\":false,\"function_image_gen\":false,"            \
    "\"function_code_interpreter\":false,\"web_search_engine\":\"auto\"}"


static int  have_openssl;


static int
group_setup(void **state)
{
    have_openssl = system("openssl version >/dev/null 2>&1") == 0;

    if (!have_openssl) {
        print_message("openssl(1) not found: the vectors computed at test "
                      "time are skipped\n");
    }

    return 0;
}


/* ---- openssl(1) as the oracle ------------------------------------------ */


static char *
tmpfile_with(const unsigned char *s, size_t len)
{
    int    fd;
    char  *path;

    path = unit_strn("/tmp/chaton-unit-XXXXXX", 23);
    fd = mkstemp(path);
    assert_true(fd >= 0);

    if (len) {
        assert_int_equal(write(fd, s, len), (ssize_t) len);
    }

    close(fd);

    return path;
}


static char *
run(const char *cmd)
{
    FILE    *f;
    size_t   n;
    char     out[512];

    f = popen(cmd, "r");
    assert_non_null(f);

    n = fread(out, 1, sizeof(out) - 1, f);
    assert_int_equal(pclose(f), 0);

    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) {
        n--;
    }

    assert_true(n > 0);

    return unit_strn(out, n);
}


/*
 * "Bearer " base64(keyA) "." base64(HMAC-SHA256(keyB, message)), by
 *   openssl dgst -sha256 -mac HMAC -macopt hexkey:<keyB> -binary <message>
 *   | openssl base64 -A
 * or, for a text key, with -hmac <keyB> (the form the protocol notes use).
 */

static char *
openssl_auth(const unsigned char *key_a, size_t key_a_len,
    const unsigned char *key_b, size_t key_b_len, int text_key,
    const unsigned char *msg, size_t msg_len)
{
    size_t   i;
    char    *a_file, *m_file, *hex, *cmd, *a64, *sig, *auth;

    m_file = tmpfile_with(msg, msg_len);
    a_file = tmpfile_with(key_a, key_a_len);

    hex = unit_mem(key_b_len * 2 + 1);
    for (i = 0; i < key_b_len; i++) {
        sprintf(hex + 2 * i, "%02x", key_b[i]);
    }
    hex[2 * key_b_len] = '\0';

    cmd = unit_mem(key_b_len * 2 + 512);

    if (text_key) {
        for (i = 0; i < key_b_len; i++) {
            assert_true(key_b[i] >= 0x20 && key_b[i] != '\'');
        }

        sprintf(cmd, "openssl dgst -sha256 -hmac '%.*s' -binary '%s' "
                "| openssl base64 -A", (int) key_b_len, key_b, m_file);

    } else {
        sprintf(cmd, "openssl dgst -sha256 -mac HMAC -macopt hexkey:%s "
                "-binary '%s' | openssl base64 -A", hex, m_file);
    }

    sig = run(cmd);

    if (key_a_len) {
        sprintf(cmd, "openssl base64 -A < '%s'", a_file);
        a64 = run(cmd);
    } else {
        a64 = "";
    }

    unlink(m_file);
    unlink(a_file);

    auth = unit_mem(strlen(a64) + strlen(sig) + 16);
    sprintf(auth, "Bearer %s.%s", a64, sig);

    return auth;
}


/* the message as the protocol defines it */

static unsigned char *
message(const char *method, const char *path, size_t path_len,
    const char *date, const unsigned char *body, size_t body_len,
    size_t *len)
{
    unsigned char  *m;

    *len = strlen(method) + 1 + path_len + 1 + strlen(date) + 1 + body_len;
    m = unit_mem(*len + 1);

    sprintf((char *) m, "%s:%.*s:%s\n", method, (int) path_len, path, date);
    if (body_len) {
        memcpy(m + *len - body_len, body, body_len);
    }

    return m;
}


/* the core's Authorization value, with a canary past its end */

static char *
sign(chaton_signer_t *s, const char *method, const char *path,
    size_t path_len, const char *date, const unsigned char *body,
    size_t body_len)
{
    size_t          n;
    unsigned char  *out;

    n = chaton_sign_len(s);
    out = unit_mem(n + 8);
    memset(out, 0x7e, n + 8);

    assert_int_equal(chaton_sign(s, out, method,
                                 (const unsigned char *) path, path_len,
                                 date, body, body_len), CHATON_OK);

    /* exactly chaton_sign_len() bytes were written */
    assert_int_equal(out[n], 0x7e);
    assert_int_equal(out[n + 7], 0x7e);
    assert_int_not_equal(out[n - 1], 0x7e);

    return unit_strn(out, n);
}


static chaton_signer_t *
signer(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
    chaton_signer_t  *s;

    s = chaton_signer_create(a, alen, b, blen);
    assert_non_null(s);

    return s;
}


static void
check(chaton_signer_t *s, const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen, int text_key, const char *method,
    const char *path, size_t path_len, const unsigned char *body,
    size_t body_len)
{
    size_t          mlen;
    unsigned char  *m;
    char           *got, *want;

    if (!have_openssl) {
        skip();
    }

    got = sign(s, method, path, path_len, DATE, body, body_len);

    m = message(method, path, path_len, DATE, body, body_len, &mlen);
    want = openssl_auth(a, alen, b, blen, text_key, m, mlen);

    if (strcmp(got, want) != 0) {
        print_error("%s %.*s:\n  got  %s\n  want %s\n", method,
                    (int) path_len, path, got, want);
        fail();
    }
}


/* ---- date ---------------------------------------------------------------- */


static void
test_sign_date(void **state)
{
    char  buf[CHATON_DATE_LEN + 8];

    static const struct {
        time_t       t;
        const char  *s;
    } v[] = {
        { 1795559485, "2026-11-24T22:31:25Z" },     /* date -u -d ... +%s */
        { 0, "1970-01-01T00:00:00Z" },
        { 951868799, "2000-02-29T23:59:59Z" },
        { 2147483648LL, "2038-01-19T03:14:08Z" },
        { 1704067199, "2023-12-31T23:59:59Z" },
        { 1704067200, "2024-01-01T00:00:00Z" },
    };

    size_t  i;

    /* UTC whatever the local zone */
    setenv("TZ", "America/New_York", 1);
    tzset();

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        memset(buf, 'x', sizeof(buf));
        assert_int_equal(chaton_sign_date(buf, v[i].t), CHATON_DATE_LEN);
        assert_string_equal(buf, v[i].s);
        assert_int_equal(buf[CHATON_DATE_LEN + 1], 'x');
    }

    unsetenv("TZ");
    tzset();
}


/* ---- keys -------------------------------------------------------------- */


static void
test_key_decode(void **state)
{
    chaton_buf_t  b;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_key_decode(&b, (const unsigned char *) "plain key",
                                       9), CHATON_OK);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "plain key", 9);

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_key_decode(&b, (const unsigned char *)
                                       "base64:AAECAwD/gA==", 19), CHATON_OK);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "\x00\x01\x02\x03\x00\xff\x80", 7);

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_key_decode(&b, (const unsigned char *)
                                       "base64:", 7), CHATON_OK);
    assert_int_equal(b.len, 0);

    /* "base64:" only as a prefix */
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_key_decode(&b, (const unsigned char *)
                                       "my base64:AAAA", 14), CHATON_OK);
    assert_int_equal(b.len, 14);
    assert_memory_equal(b.data, "my base64:AAAA", 14);

    /* a base64 key that is not base64 is refused, not taken as text */
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_key_decode(&b, (const unsigned char *)
                                       "base64:not base64!", 18), CHATON_BAD);
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_key_decode(&b, (const unsigned char *)
                                       "base64:AAECA", 12), CHATON_BAD);
}


/* ---- signatures ------------------------------------------------------- */


/*
 * Pasted vectors, made with:
 *
 *   printf 'POST:/chats/stream:2026-11-24T22:31:25Z\n<SEED_BODY>' \
 *     | openssl dgst -sha256 -hmac 'key-B secret' -binary | openssl base64 -A
 *   -> VJMCNcGQFyVFMhZYBTEjkujH7O4yJYikIMbZSvbaRng=
 *
 *   printf 'GET:/storage/abc.png:2026-11-24T22:31:25Z\n' \
 *     | openssl dgst -sha256 -hmac 'key-B secret' -binary | openssl base64 -A
 *   -> Ntjok0ru3B1BBvYHPxX6ajwqLFKT0L+x1ApE85KqxaA=
 *
 *   printf 'key-A id' | openssl base64 -A
 *   -> a2V5LUEgaWQ=
 */

static void
test_sign_pasted_vectors(void **state)
{
    chaton_signer_t  *s;

    s = signer((const unsigned char *) "key-A id", 8,
               (const unsigned char *) "key-B secret", 12);

    assert_string_equal(sign(s, "POST", "/chats/stream", 13, DATE,
                             (const unsigned char *) SEED_BODY,
                             sizeof(SEED_BODY) - 1),
                        "Bearer a2V5LUEgaWQ=."
                        "VJMCNcGQFyVFMhZYBTEjkujH7O4yJYikIMbZSvbaRng=");

    assert_string_equal(sign(s, "GET", "/storage/abc.png", 16, DATE, NULL, 0),
                        "Bearer a2V5LUEgaWQ=."
                        "Ntjok0ru3B1BBvYHPxX6ajwqLFKT0L+x1ApE85KqxaA=");

    chaton_signer_destroy(s);
}


static void
test_sign_text_keys(void **state)
{
    chaton_signer_t      *s;
    const unsigned char  *a = (const unsigned char *) "key-A id";
    const unsigned char  *b = (const unsigned char *) "key-B secret";

    s = signer(a, 8, b, 12);

    /* a chat body */
    check(s, a, 8, b, 12, 1, "POST", "/chats/stream", 13,
          (const unsigned char *) SEED_BODY, sizeof(SEED_BODY) - 1);

    /* GET with an empty body */
    check(s, a, 8, b, 12, 1, "GET", "/storage/abc/def.png", 20, NULL, 0);

    /* a path with '+', '/', '=' (standard base64, as sent) and a query */
    check(s, a, 8, b, 12, 1, "GET",
          "/urls/aHR0cHM6Ly9leGFtcGxlLmNvbS8/cT1hK2I+Yz0x/w==?lang=en&q=a+b",
          strlen("/urls/aHR0cHM6Ly9leGFtcGxlLmNvbS8/cT1hK2I+Yz0x/w==?lang="
                 "en&q=a+b"), NULL, 0);

    /* multipart upload: signed with an empty body */
    check(s, a, 8, b, 12, 1, "POST", "/storage/upload", 15, NULL, 0);

    /* the same key via hexkey gives the same */
    check(s, a, 8, b, 12, 0, "POST", "/audio/speech", 13,
          (const unsigned char *) "{\"input\":\"hi\"}", 14);

    chaton_signer_destroy(s);
}


static void
test_sign_binary_keys(void **state)
{
    size_t            n;
    chaton_buf_t      ka, kb;
    chaton_signer_t  *s;
    char             *auth;

    static const unsigned char  body[] = "{\"a\":\"\x00\xff\n\r\"}\n\n";

    chaton_buf_init(&ka, &unit_alloc, 0);
    chaton_buf_init(&kb, &unit_alloc, 0);

    /* key A 00 61 00 62 00, key B with NULs and high bytes */
    assert_int_equal(chaton_key_decode(&ka, (const unsigned char *)
                                       "base64:AGEAYgA=", 15), CHATON_OK);
    assert_int_equal(chaton_key_decode(&kb, (const unsigned char *)
                                       "base64:AAECAwD/gABoZWxsbwAAAA==", 31),
                     CHATON_OK);
    assert_int_equal(ka.len, 5);
    assert_int_equal(kb.len, 16);

    s = signer(ka.data, ka.len, kb.data, kb.len);

    /* key A, base64-encoded, before the '.' */
    auth = sign(s, "GET", "/storage/x", 10, DATE, NULL, 0);
    assert_memory_equal(auth, "Bearer AGEAYgA=.", 16);
    assert_int_equal(strlen(auth), 16 + 44);
    assert_int_equal(chaton_sign_len(s), 16 + 44);

    check(s, ka.data, ka.len, kb.data, kb.len, 0, "GET", "/storage/x", 10,
          NULL, 0);
    check(s, ka.data, ka.len, kb.data, kb.len, 0, "POST", "/chats/stream",
          13, body, sizeof(body) - 1);

    chaton_signer_destroy(s);

    /* a key B longer than a SHA-256 block is hashed first, per HMAC */
    chaton_buf_init(&kb, &unit_alloc, 0);
    assert_int_equal(chaton_buf_append(&kb, memset(unit_mem(100), 0xa5, 100),
                                       100), CHATON_OK);
    kb.data[50] = 0;

    s = signer(ka.data, ka.len, kb.data, kb.len);
    check(s, ka.data, ka.len, kb.data, kb.len, 0, "POST", "/chats/stream",
          13, (const unsigned char *) "{}", 2);
    chaton_signer_destroy(s);

    /* keys about a block long: padded (63, 64) or hashed (65) */
    for (n = 63; n <= 65; n++) {
        s = signer(ka.data, ka.len, kb.data, n);
        check(s, ka.data, ka.len, kb.data, n, 0, "POST", "/chats/stream",
              13, body, sizeof(body) - 1);
        chaton_signer_destroy(s);
    }
}


static void
test_sign_big_body(void **state)
{
    size_t            i, n;
    unsigned char    *body;
    chaton_signer_t  *s;

    n = 300000;
    body = unit_mem(n);

    for (i = 0; i < n; i++) {
        body[i] = (unsigned char) (i * 131 + (i >> 9));
    }

    s = signer((const unsigned char *) "A", 1, (const unsigned char *) "B",
               1);
    check(s, (const unsigned char *) "A", 1, (const unsigned char *) "B", 1,
          0, "POST", "/chats/stream", 13, body, n);
    chaton_signer_destroy(s);
}


/* the keyed context is reused, not consumed: same input, same output */

static void
test_sign_repeatable(void **state)
{
    int               i;
    char             *first, *again, *other;
    chaton_signer_t  *s, *s2;

    s = signer((const unsigned char *) "a", 1, (const unsigned char *) "b",
               1);

    first = sign(s, "POST", "/chats/stream", 13, DATE,
                 (const unsigned char *) "{}", 2);

    for (i = 0; i < 50; i++) {
        again = sign(s, "POST", "/chats/stream", 13, DATE,
                     (const unsigned char *) "{}", 2);
        assert_string_equal(again, first);
    }

    /* every input counts: date, method, path, body, keys */

    other = sign(s, "POST", "/chats/stream", 13, "2026-11-24T22:31:26Z",
                 (const unsigned char *) "{}", 2);
    assert_string_not_equal(other, first);

    other = sign(s, "GET", "/chats/stream", 13, DATE,
                 (const unsigned char *) "{}", 2);
    assert_string_not_equal(other, first);

    other = sign(s, "POST", "/chats/streams", 14, DATE,
                 (const unsigned char *) "{}", 2);
    assert_string_not_equal(other, first);

    other = sign(s, "POST", "/chats/stream", 13, DATE,
                 (const unsigned char *) "{} ", 3);
    assert_string_not_equal(other, first);

    /* the path length is honoured, not its NUL */
    other = sign(s, "POST", "/chats/stream?x", 13, DATE,
                 (const unsigned char *) "{}", 2);
    assert_string_equal(other, first);

    s2 = signer((const unsigned char *) "a", 1, (const unsigned char *) "c",
                1);
    other = sign(s2, "POST", "/chats/stream", 13, DATE,
                 (const unsigned char *) "{}", 2);
    assert_string_not_equal(other, first);

    /* key A is only in front of the '.' */
    assert_memory_equal(other, "Bearer YQ==.", 12);
    assert_memory_equal(first, "Bearer YQ==.", 12);

    chaton_signer_destroy(s);
    chaton_signer_destroy(s2);
    chaton_signer_destroy(NULL);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        utest(test_sign_date),
        utest(test_key_decode),
        utest(test_sign_pasted_vectors),
        utest(test_sign_text_keys),
        utest(test_sign_binary_keys),
        utest(test_sign_big_body),
        utest(test_sign_repeatable),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
