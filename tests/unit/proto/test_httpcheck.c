/* Unit tests for gh_httpcheck: request framing that two HTTP parsers could
 * read differently is refused (SECURITY.md: request smuggling, RFC 9112 6.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_httpcheck.h"

/* Feeds "name", "value" pairs (NULL-terminated list); returns the verdict. */
static const char *check_list(bool http10, const char *const *h)
{
    gh_hcheck c;
    gh_hcheck_init(&c);
    for (size_t i = 0; h[i]; i += 2)
        gh_hcheck_header(&c, h[i], strlen(h[i]), h[i + 1], strlen(h[i + 1]));
    return gh_hcheck_finish(&c, http10);
}

#define CHECK(http10, ...) check_list(http10, (const char *const[]){__VA_ARGS__, NULL})

static void ordinary_requests_pass(void **state)
{
    (void)state;
    assert_null(CHECK(false, "Host", "x", "Content-Length", "5", "Content-Type", "text/plain"));
    assert_null(CHECK(false, "Host", "x", "Transfer-Encoding", "chunked"));
    assert_null(CHECK(false, "Host", "x", "Transfer-Encoding", "Chunked"));
    assert_null(CHECK(false, "Host", "x", "Content-Length", "0"));
    assert_null(CHECK(true, "Content-Length", "3"));
    assert_null(
        CHECK(false, "User-Agent", "Mozilla/5.0 (X11; Linux) \t", "X-Odd!#$%&'*+-.^_`|~", "ok"));
    /* obs-text (UTF-8 bytes) in a value is allowed */
    assert_null(CHECK(false, "X-Name", "J\xc3\xbcrgen"));
}

static void te_and_cl_refused(void **state)
{
    (void)state;
    assert_non_null(CHECK(false, "Transfer-Encoding", "chunked", "Content-Length", "5"));
    assert_non_null(CHECK(false, "Content-Length", "0", "Transfer-Encoding", "chunked"));
}

static void odd_transfer_encodings_refused(void **state)
{
    (void)state;
    assert_non_null(CHECK(false, "Transfer-Encoding", "gzip, chunked"));
    assert_non_null(CHECK(false, "Transfer-Encoding", "chunked, chunked"));
    assert_non_null(CHECK(false, "Transfer-Encoding", "identity"));
    assert_non_null(CHECK(false, "Transfer-Encoding", "chunked "));
    assert_non_null(CHECK(false, "Transfer-Encoding", ""));
    assert_non_null(CHECK(false, "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"));
    assert_non_null(CHECK(true, "Transfer-Encoding", "chunked"));
}

static void content_length_rules(void **state)
{
    (void)state;
    assert_non_null(CHECK(false, "Content-Length", "3", "Content-Length", "5"));
    assert_non_null(CHECK(false, "Content-Length", "5", "content-length", "5"));
    assert_non_null(CHECK(false, "Content-Length", "+5"));
    assert_non_null(CHECK(false, "Content-Length", "5, 5"));
    assert_non_null(CHECK(false, "Content-Length", ""));
    assert_non_null(CHECK(false, "Content-Length", "-1"));
}

static void header_names_must_be_tokens(void **state)
{
    (void)state;
    /* libmicrohttpd stores "Content-Length : 5" under the name "Content-Length " */
    assert_non_null(CHECK(false, "Content-Length ", "5"));
    assert_non_null(CHECK(false, "Transfer-Encoding ", "chunked"));
    assert_non_null(CHECK(false, " Host", "x"));
    assert_non_null(CHECK(false, "X-A\t", "1"));
    assert_non_null(CHECK(false, "X(A)", "1"));
    assert_non_null(CHECK(false, "X-A\xc3\xa9", "1"));
    assert_non_null(CHECK(false, "", "1"));
}

static void folded_framing_headers_refused(void **state)
{
    (void)state;
    /* 0.9.75 glues a folded continuation onto the name: "Content-Length: 5\r\n 0" */
    assert_non_null(CHECK(false, "Content-Length0", "5"));
    assert_non_null(CHECK(false, "transfer-encodingx", "chunked"));
    /* a continuation with a space gives a name with a space */
    assert_non_null(CHECK(false, "X-Atwo three", "one"));
}

static void control_bytes_in_values_refused(void **state)
{
    (void)state;
    assert_non_null(CHECK(false, "X-A", "o\rne"));
    assert_non_null(CHECK(false, "X-A", "o\nne"));
    assert_non_null(CHECK(false, "X-A", "o\x01ne"));
    assert_non_null(CHECK(false, "X-A", "one\x7f"));
    /* an embedded NUL: the stored length runs past the C string */
    gh_hcheck c;
    gh_hcheck_init(&c);
    assert_false(gh_hcheck_header(&c, "X-A", 3, "o\0ne", 4));
    assert_non_null(gh_hcheck_finish(&c, false));
    /* the first reason stays */
    gh_hcheck_init(&c);
    assert_false(gh_hcheck_header(&c, "X A", 3, "1", 1));
    const char *first = c.reason;
    assert_false(gh_hcheck_header(&c, "Content-Length", 14, "x", 1));
    assert_ptr_equal(gh_hcheck_finish(&c, false), first);
}

static void targets(void **state)
{
    (void)state;
#define T(s) gh_hcheck_target(s, sizeof(s) - 1)
    assert_null(T("/scim/v2/Users"));
    assert_null(T("/scim/v2/Users?filter=userName%20eq%20%22a%22"));
    assert_null(T("/assets/app%2Ejs"));
    assert_null(T("/a%2"));
    assert_null(T("/a?x=%00")); /* the query: our form parser decides */
    assert_non_null(T("/scim/v2/Users%00.css"));
    assert_non_null(T("/scim/v2/Users%0a"));
    assert_non_null(T("/scim/v2/Users%0D%0A"));
    assert_non_null(T("/x%1f"));
    assert_non_null(T("/x%7F"));
    assert_non_null(T("/x\x01y"));
    assert_non_null(T("/x\x00y"));
    assert_non_null(T("/x?a=\x7f"));
    assert_non_null(gh_hcheck_target(NULL, 0));
#undef T
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ordinary_requests_pass),
        cmocka_unit_test(te_and_cl_refused),
        cmocka_unit_test(odd_transfer_encodings_refused),
        cmocka_unit_test(content_length_rules),
        cmocka_unit_test(header_names_must_be_tokens),
        cmocka_unit_test(folded_framing_headers_refused),
        cmocka_unit_test(control_bytes_in_values_refused),
        cmocka_unit_test(targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
