/* gh_topic: the pure rules of communication preferences (issue 20 item 5):
 * topic keys, topic and message bodies, a customer's changes, the shape of
 * an unsubscribe token and the RFC 8058 one-click body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gh_crypto.h"
#include "gh_topic.h"

static void topic_keys_are_lower_case_words(void **state)
{
    (void)state;
    assert_true(gh_topic_key_valid("newsletter"));
    assert_true(gh_topic_key_valid("product-updates_2"));
    assert_false(gh_topic_key_valid(""));
    assert_false(gh_topic_key_valid(NULL));
    assert_false(gh_topic_key_valid("2offers"));
    assert_false(gh_topic_key_valid("Offers"));
    assert_false(gh_topic_key_valid("a/b"));
    assert_false(gh_topic_key_valid("a b"));
    char long_key[GH_TOPIC_KEY_MAX + 2];
    memset(long_key, 'a', sizeof(long_key) - 1);
    long_key[GH_TOPIC_KEY_MAX + 1] = '\0';
    assert_false(gh_topic_key_valid(long_key));
    long_key[GH_TOPIC_KEY_MAX] = '\0';
    assert_true(gh_topic_key_valid(long_key));
}

static void only_email_and_known_sources(void **state)
{
    (void)state;
    assert_true(gh_topic_channel_valid("email"));
    assert_false(gh_topic_channel_valid("sms"));
    assert_true(gh_topic_via_valid("unsubscribe-link"));
    assert_true(gh_topic_via_valid("admin"));
    assert_false(gh_topic_via_valid("import"));
}

static void a_new_topic_needs_key_and_title_and_is_email(void **state)
{
    (void)state;
    char why[200];
    json_t *in = json_pack("{s:s, s:s}", "key", "offers", "title", "Offers");
    json_t *doc = gh_topic_validate(in, true, why, sizeof(why));
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "channel")), "email");
    assert_string_equal(json_string_value(json_object_get(doc, "description")), "");
    json_decref(doc);
    json_decref(in);

    in = json_pack("{s:s}", "key", "offers");
    assert_null(gh_topic_validate(in, true, why, sizeof(why)));
    assert_non_null(strstr(why, "title"));
    json_decref(in);

    in = json_pack("{s:s, s:s, s:s}", "key", "offers", "title", "Offers", "channel", "sms");
    assert_null(gh_topic_validate(in, true, why, sizeof(why)));
    json_decref(in);

    /* a title is one line: it is shown as a label */
    in = json_pack("{s:s, s:s}", "key", "offers", "title", "Offers\nand more");
    assert_null(gh_topic_validate(in, true, why, sizeof(why)));
    json_decref(in);

    /* an update may leave the title out */
    in = json_pack("{s:s}", "description", "Now weekly");
    doc = gh_topic_validate(in, false, why, sizeof(why));
    assert_non_null(doc);
    assert_null(json_object_get(doc, "title"));
    json_decref(doc);
    json_decref(in);
}

/* The subject becomes a header: a line break in it would inject one. */
static void a_message_subject_is_one_line(void **state)
{
    (void)state;
    char why[200];
    json_t *in = json_pack("{s:s, s:s}", "subject", "Hello\r\nBcc: x@example.com", "text", "Hi");
    assert_null(gh_topic_message_validate(in, why, sizeof(why)));
    json_decref(in);
    in = json_pack("{s:s, s:s, s:s}", "subject", "Spring news", "text", "Line one\nLine two",
                   "html", "<p>Hi</p>");
    json_t *msg = gh_topic_message_validate(in, why, sizeof(why));
    assert_non_null(msg);
    assert_string_equal(json_string_value(json_object_get(msg, "html")), "<p>Hi</p>");
    json_decref(msg);
    json_decref(in);
    in = json_pack("{s:s}", "subject", "No body");
    assert_null(gh_topic_message_validate(in, why, sizeof(why)));
    json_decref(in);
}

static void changes_are_read_and_checked(void **state)
{
    (void)state;
    char why[200];
    gh_topic_change ch[4];
    json_t *b = json_pack("{s:[{s:s, s:b}, {s:s, s:s, s:b}]}", "preferences", "topic", "news",
                          "subscribed", 1, "topic", "offers", "channel", "email", "subscribed", 0);
    assert_int_equal(gh_topic_changes(b, ch, 4, why, sizeof(why)), 2);
    assert_string_equal(ch[0].channel, "email");
    assert_true(ch[0].subscribed);
    assert_false(ch[1].subscribed);
    json_decref(b);

    b = json_pack("{s:[{s:s, s:b}, {s:s, s:b}]}", "preferences", "topic", "news", "subscribed", 1,
                  "topic", "news", "subscribed", 0);
    assert_int_equal(gh_topic_changes(b, ch, 4, why, sizeof(why)), -1);
    json_decref(b);

    b = json_pack("{s:[{s:s, s:s}]}", "preferences", "topic", "news", "subscribed", "yes");
    assert_int_equal(gh_topic_changes(b, ch, 4, why, sizeof(why)), -1);
    json_decref(b);

    b = json_pack("{s:[{s:s, s:b}, {s:s, s:b}]}", "preferences", "topic", "a", "subscribed", 1,
                  "topic", "b", "subscribed", 1);
    assert_int_equal(gh_topic_changes(b, ch, 1, why, sizeof(why)), -1); /* over the limit */
    json_decref(b);
}

static void a_token_has_the_shape_gh_token_makes(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char *t = gh_token(a);
    assert_true(gh_topic_token_shape(t));
    t[5] = '/';
    assert_false(gh_topic_token_shape(t));
    assert_false(gh_topic_token_shape("short"));
    assert_false(gh_topic_token_shape(NULL));
    gh_arena_free(a);
}

/* RFC 8058 §3.1: the POST body is List-Unsubscribe=One-Click; nothing
 * else (an empty POST from a link scanner, another value) counts. */
static void the_one_click_body_is_exact(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *ok = "List-Unsubscribe=One-Click";
    assert_true(gh_topic_one_click_body(a, ok, strlen(ok)));
    const char *enc = "x=1&List-Unsubscribe=One%2DClick";
    assert_true(gh_topic_one_click_body(a, enc, strlen(enc)));
    assert_false(gh_topic_one_click_body(a, "", 0));
    assert_false(gh_topic_one_click_body(a, NULL, 0));
    const char *other = "List-Unsubscribe=Yes";
    assert_false(gh_topic_one_click_body(a, other, strlen(other)));
    const char *bad = "List-Unsubscribe=%zz";
    assert_false(gh_topic_one_click_body(a, bad, strlen(bad)));
    gh_arena_free(a);
}

int main(void)
{
    gh_crypto_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topic_keys_are_lower_case_words),
        cmocka_unit_test(only_email_and_known_sources),
        cmocka_unit_test(a_new_topic_needs_key_and_title_and_is_email),
        cmocka_unit_test(a_message_subject_is_one_line),
        cmocka_unit_test(changes_are_read_and_checked),
        cmocka_unit_test(a_token_has_the_shape_gh_token_makes),
        cmocka_unit_test(the_one_click_body_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
