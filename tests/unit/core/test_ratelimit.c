/* Unit tests for the rate limits' bucket table and the disposable-domain
 * list (docs/rate-limits.md; SECURITY.md #12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_disposable.h"
#include "gh_ratelimit.h"

static const gh_bucket_rate two = {.burst = 2, .window_ms = 60000};

/* Keys of different classes or kinds are different buckets. */
static void keys_apart(void **state)
{
    (void)state;
    assert_int_equal(gh_ratelimit_init(1024), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_ADDRESS, "192.0.2.1", &two, 0).wait_ms, 0);
    gh_rl_result r = gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_ADDRESS, "192.0.2.1", &two, 0);
    assert_int_equal(r.wait_ms, 30000);
    assert_true(r.log);
    assert_false(gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_ADDRESS, "192.0.2.1", &two, 1)
                     .log); /* once a window */
    assert_int_equal(gh_ratelimit_take(GH_RL_SIGNUP, GH_RLK_ADDRESS, "192.0.2.1", &two, 0).wait_ms,
                     0);
    assert_int_equal(gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_NETWORK, "192.0.2.1", &two, 0).wait_ms,
                     0);
    gh_ratelimit_refund(GH_RL_SIGNIN, GH_RLK_ADDRESS, "192.0.2.1", &two);
    assert_int_equal(gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_ADDRESS, "192.0.2.1", &two, 2).wait_ms,
                     0);
    gh_ratelimit_free();
}

/* An attacker cycling 100,000 addresses fills the table and no more; a key
 * in use all the while keeps its (empty) bucket. */
static void bounded(void **state)
{
    (void)state;
    assert_int_equal(gh_ratelimit_init(1024), 0);
    size_t cap = gh_ratelimit_capacity();
    assert_true(cap >= 1024 && cap < 1024 + GH_RATELIMIT_WAYS);
    for (int i = 0; i < 2; i++)
        gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_IDENTIFIER, "victim", &two, 0);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_ADDRESS, key, &two, i + 1);
        if (i % 4 == 0) /* the victim's key stays recently used (and refused) */
            gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_IDENTIFIER, "victim", &two, i + 1);
    }
    assert_int_equal(gh_ratelimit_used(), cap);
    assert_true(gh_ratelimit_take(GH_RL_SIGNIN, GH_RLK_IDENTIFIER, "victim", &two, 100001).wait_ms >
                0);
    gh_ratelimit_free();
}

/* Another instance's tokens (gh_ratelimit_apply) come out of the local
 * bucket; a new window starts the count again. */
static void shared(void **state)
{
    (void)state;
    const gh_bucket_rate ten = {.burst = 10, .window_ms = 60000};
    assert_int_equal(gh_ratelimit_init(1024), 0);
    gh_ratelimit_take(GH_RL_TOKEN, GH_RLK_CLIENT, "c1", &ten, 0);
    gh_rl_hot hot[4];
    assert_int_equal(gh_ratelimit_collect(hot, 4), 1);
    assert_int_equal(hot[0].delta, 1);
    assert_int_equal(gh_ratelimit_collect(hot, 4), 0); /* counted once */
    gh_ratelimit_apply(hot[0].id, 0, 1, 10);           /* 9 from the others */
    assert_true(gh_ratelimit_take(GH_RL_TOKEN, GH_RLK_CLIENT, "c1", &ten, 0).wait_ms > 0);
    gh_ratelimit_apply(hot[0].id, 0, 0, 10); /* nothing new: no second debit */
    assert_int_equal(gh_ratelimit_take(GH_RL_TOKEN, GH_RLK_CLIENT, "c1", &ten, 6000).wait_ms, 0);
    gh_ratelimit_free();
}

static char *write_list(const char *text)
{
    static char path[] = "/tmp/gh-disposable-XXXXXX";
    strcpy(path, "/tmp/gh-disposable-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void disposable(void **state)
{
    (void)state;
    char err[256];
    char *p = write_list("# list\nMailinator.com\n\n  trash-mail.example  # note\n");
    assert_int_equal(gh_disposable_load(p, err, sizeof(err)), 0);
    unlink(p);
    assert_int_equal(gh_disposable_count(), 2);
    assert_true(gh_disposable_email("a@mailinator.com"));
    assert_true(gh_disposable_email("a@X.MAILINATOR.COM"));
    assert_true(gh_disposable_email("a@trash-mail.example."));
    assert_false(gh_disposable_email("a@notmailinator.com"));
    assert_false(gh_disposable_email("a@com"));
    assert_false(gh_disposable_email("no-at-sign"));
    p = write_list("ok.example\nbad domain.example\n");
    assert_int_equal(gh_disposable_load(p, err, sizeof(err)), -1);
    unlink(p);
    assert_non_null(strstr(err, "line 2: not a domain name"));
    assert_int_equal(gh_disposable_count(), 0);
    p = write_list("example\n");
    assert_int_equal(gh_disposable_load(p, err, sizeof(err)), -1);
    unlink(p);
    assert_non_null(strstr(err, "line 1: a single label"));
    assert_int_equal(gh_disposable_load("", err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_apart),
        cmocka_unit_test(bounded),
        cmocka_unit_test(shared),
        cmocka_unit_test(disposable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
