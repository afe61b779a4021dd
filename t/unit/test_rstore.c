/*
 * chaton_rstore.h: the Responses store's entries (written, read back,
 * damaged ones refused), the conversation a continuation gets, the pages
 * of input_items (limit, after, order, has_more), the answers to DELETE
 * and the not-found errors.
 */

#include "unit.h"
#include "chaton_rstore.h"


#define RESPONSE  "{\"id\":\"resp_1\",\"object\":\"response\"}"
#define INPUT     "[{\"id\":\"a\",\"type\":\"message\"}," \
                  "{\"id\":\"b\",\"type\":\"message\"}," \
                  "{\"id\":\"c\",\"type\":\"function_call_output\"}]"
#define OUTPUT    "[{\"id\":\"d\",\"type\":\"message\"}]"


static void
entry(chaton_rstore_entry_t *e, const char *response, const char *input,
    const char *output)
{
    e->response = (const unsigned char *) response;
    e->response_len = strlen(response);
    e->input = (const unsigned char *) input;
    e->input_len = strlen(input);
    e->output = (const unsigned char *) output;
    e->output_len = strlen(output);
}


static void
test_rstore_entry(void **state)
{
    size_t                 n;
    unsigned char         *p;
    chaton_rstore_entry_t  e, r;

    entry(&e, RESPONSE, INPUT, OUTPUT);

    n = chaton_rstore_size(&e);
    assert_int_equal(n, 16 + e.response_len + e.input_len + e.output_len);

    p = unit_mem(n);
    chaton_rstore_write(p, &e);

    assert_int_equal(chaton_rstore_read(&r, p, n), CHATON_OK);
    assert_string_equal(unit_strn(r.response, r.response_len), RESPONSE);
    assert_string_equal(unit_strn(r.input, r.input_len), INPUT);
    assert_string_equal(unit_strn(r.output, r.output_len), OUTPUT);

    /* short, long, or not an entry: refused */
    assert_int_equal(chaton_rstore_read(&r, p, n - 1), CHATON_BAD);
    assert_int_equal(chaton_rstore_read(&r, p, 15), CHATON_BAD);
    p[0] ^= 1;
    assert_int_equal(chaton_rstore_read(&r, p, n), CHATON_BAD);
}


static void
test_rstore_items(void **state)
{
    chaton_buf_t           b;
    chaton_rstore_entry_t  e;

    entry(&e, RESPONSE, INPUT, OUTPUT);
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_rstore_items(&b, &e), CHATON_OK);
    assert_string_equal(unit_bufstr(&b),
                        "[{\"id\":\"a\",\"type\":\"message\"},"
                        "{\"id\":\"b\",\"type\":\"message\"},"
                        "{\"id\":\"c\",\"type\":\"function_call_output\"},"
                        "{\"id\":\"d\",\"type\":\"message\"}]");

    /* empty halves */
    entry(&e, RESPONSE, "[]", OUTPUT);
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_rstore_items(&b, &e), CHATON_OK);
    assert_string_equal(unit_bufstr(&b),
                        "[{\"id\":\"d\",\"type\":\"message\"}]");

    entry(&e, RESPONSE, "[{\"id\":\"a\"}]", "[]");
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_rstore_items(&b, &e), CHATON_OK);
    assert_string_equal(unit_bufstr(&b), "[{\"id\":\"a\"}]");
}


/* a page's ids, e.g. "c b", has_more, first_id and last_id checked */

static void
page_is(const char *args, const char *ids, int more)
{
    int                    i, n;
    cJSON                 *l, *data;
    chaton_buf_t           b, got;
    chaton_error_t         err;
    chaton_rstore_page_t   p;
    chaton_rstore_entry_t  e;

    entry(&e, RESPONSE, INPUT, OUTPUT);

    assert_int_equal(chaton_rstore_page(&p, (const unsigned char *) args,
                                        strlen(args), &err), CHATON_OK);

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_rstore_list(&b, &e, &p, &err), CHATON_OK);

    l = unit_json(b.data, b.len);
    unit_jkeys_exactly(l, "object", "data", "first_id", "last_id",
                       "has_more", NULL);
    assert_string_equal(unit_jstr(l, "object"), "list");
    data = cJSON_GetObjectItem(l, "data");
    n = cJSON_GetArraySize(data);

    chaton_buf_init(&got, &unit_alloc, 0);

    for (i = 0; i < n; i++) {
        if (i) {
            assert_int_equal(chaton_buf_literal(&got, " "), CHATON_OK);
        }

        assert_int_equal(chaton_buf_append_str(&got,
                             unit_jstr(cJSON_GetArrayItem(data, i), "id")),
                         CHATON_OK);
    }

    assert_string_equal(unit_bufstr(&got), ids);
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(l, "has_more")), more);

    if (n == 0) {
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(l, "first_id")));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(l, "last_id")));
        return;
    }

    assert_string_equal(unit_jstr(l, "first_id"),
                        unit_jstr(cJSON_GetArrayItem(data, 0), "id"));
    assert_string_equal(unit_jstr(l, "last_id"),
                        unit_jstr(cJSON_GetArrayItem(data, n - 1), "id"));
}


static void
test_rstore_list(void **state)
{
    /* newest first by default; the output items are not input items */
    page_is("", "c b a", 0);
    page_is("order=asc", "a b c", 0);
    page_is("order=desc&limit=2", "c b", 1);
    page_is("limit=2&order=asc", "a b", 1);
    page_is("limit=2&order=asc&after=b", "c", 0);
    page_is("after=c&limit=1", "b", 1);
    page_is("after=a", "", 0);
    page_is("limit=100&include[]=x&other", "c b a", 0);
}


static void
test_rstore_page_refused(void **state)
{
    size_t                 i;
    chaton_buf_t           b;
    chaton_error_t         err;
    chaton_rstore_page_t   p;
    chaton_rstore_entry_t  e;

    static const struct {
        const char  *args;
        const char  *param;
    } bad[] = {
        { "limit=0", "limit" },
        { "limit=101", "limit" },
        { "limit=", "limit" },
        { "limit=1x", "limit" },
        { "limit=99999", "limit" },
        { "order=up", "order" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(chaton_rstore_page(&p,
                             (const unsigned char *) bad[i].args,
                             strlen(bad[i].args), &err), CHATON_BAD);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.param, bad[i].param);
    }

    /* an "after" the response has not */
    entry(&e, RESPONSE, INPUT, OUTPUT);
    assert_int_equal(chaton_rstore_page(&p, (const unsigned char *) "after=z",
                                        7, &err), CHATON_OK);
    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_rstore_list(&b, &e, &p, &err), CHATON_BAD);
    assert_string_equal(err.param, "after");
}


static void
test_rstore_answers(void **state)
{
    chaton_buf_t    b;
    chaton_error_t  err;

    chaton_buf_init(&b, &unit_alloc, 0);
    assert_int_equal(chaton_rstore_deleted(&b, (const unsigned char *)
                                           "resp_1", 6), CHATON_OK);
    assert_string_equal(unit_bufstr(&b), "{\"id\":\"resp_1\",\"object\":"
                        "\"response\",\"deleted\":true}");

    assert_int_equal(chaton_rstore_not_found(&err, (const unsigned char *)
                                             "resp_1", 6, 1), CHATON_BAD);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.param, "previous_response_id");
    assert_string_equal(err.code, "previous_response_not_found");
    assert_string_equal(unit_strn(err.text, err.text_len),
                        "Previous response with id 'resp_1' not found.");

    assert_int_equal(chaton_rstore_not_found(&err, (const unsigned char *)
                                             "resp_1", 6, 0), CHATON_BAD);
    assert_int_equal(err.status, 404);
    assert_null(err.param);
    assert_null(err.code);
    assert_string_equal(unit_strn(err.text, err.text_len),
                        "Response with id 'resp_1' not found.");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_rstore_entry, unit_setup,
                                        unit_teardown),
        cmocka_unit_test_setup_teardown(test_rstore_items, unit_setup,
                                        unit_teardown),
        cmocka_unit_test_setup_teardown(test_rstore_list, unit_setup,
                                        unit_teardown),
        cmocka_unit_test_setup_teardown(test_rstore_page_refused, unit_setup,
                                        unit_teardown),
        cmocka_unit_test_setup_teardown(test_rstore_answers, unit_setup,
                                        unit_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
