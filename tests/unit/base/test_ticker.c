/* Unit tests for gh_ticker: turns come at the delay the turn function
 * chooses, a wake brings one sooner but never inside the minimum gap, and
 * stop ends a long wait at once and lets no turn begin after it. The
 * bounds are loose (tenfold) so a loaded machine does not fail them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <time.h>

#include "gh_clock.h"
#include "gh_ticker.h"

struct turns {
    atomic_int n, woken;
    atomic_llong at[64]; /* gh_mono_ms of each turn */
    unsigned next_ms;
};

static unsigned turn(void *arg, bool woken)
{
    struct turns *t = arg;
    int i = atomic_fetch_add(&t->n, 1);
    if (i < 64)
        atomic_store(&t->at[i], gh_mono_ms());
    if (woken)
        atomic_fetch_add(&t->woken, 1);
    return t->next_ms;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to limit_ms for at least n turns; the ms it took. */
static int64_t until_turns(struct turns *t, int n, int64_t limit_ms)
{
    int64_t t0 = gh_mono_ms();
    while (atomic_load(&t->n) < n && gh_mono_ms() - t0 < limit_ms)
        nap_ms(2);
    return gh_mono_ms() - t0;
}

static void turns_follow_the_chosen_delay(void **state)
{
    (void)state;
    struct turns t = {.next_ms = 20};
    gh_ticker *k = gh_ticker_start("test", turn, &t, 20, 0);
    assert_non_null(k);
    until_turns(&t, 5, 5000);
    gh_ticker_stop(k);
    assert_true(atomic_load(&t.n) >= 5);
    assert_int_equal(atomic_load(&t.woken), 0);
    for (int i = 1; i < 5; i++) /* never sooner than asked */
        assert_true(atomic_load(&t.at[i]) - atomic_load(&t.at[i - 1]) >= 19);
}

static void wake_ends_a_long_wait(void **state)
{
    (void)state;
    struct turns t = {.next_ms = 60000};
    gh_ticker *k = gh_ticker_start("test", turn, &t, 60000, 0);
    assert_non_null(k);
    nap_ms(20);
    assert_int_equal(atomic_load(&t.n), 0);
    gh_ticker_wake(k);
    gh_ticker_wake(k); /* a burst of wakes: one turn */
    assert_true(until_turns(&t, 1, 5000) < 5000);
    nap_ms(50);
    assert_int_equal(atomic_load(&t.n), 1);
    assert_int_equal(atomic_load(&t.woken), 1);
    gh_ticker_wake(k); /* the next wake after a turn is heard too */
    assert_true(until_turns(&t, 2, 5000) < 5000);
    gh_ticker_stop(k);
    assert_int_equal(atomic_load(&t.n), 2);
}

static void wake_waits_for_the_gap(void **state)
{
    (void)state;
    struct turns t = {.next_ms = 60000};
    gh_ticker *k = gh_ticker_start("test", turn, &t, 0, 300);
    assert_non_null(k);
    assert_true(until_turns(&t, 1, 5000) < 5000); /* the first turn at once */
    gh_ticker_wake(k);                            /* inside the gap */
    assert_true(until_turns(&t, 2, 5000) < 5000);
    gh_ticker_stop(k);
    assert_true(atomic_load(&t.at[1]) - atomic_load(&t.at[0]) >= 295);
    assert_int_equal(atomic_load(&t.woken), 1);
}

static void stop_ends_a_long_wait(void **state)
{
    (void)state;
    struct turns t = {.next_ms = 60000};
    gh_ticker *k = gh_ticker_start("test", turn, &t, 60000, 30000);
    assert_non_null(k);
    int64_t t0 = gh_mono_ms();
    gh_ticker_stop(k);
    assert_true(gh_mono_ms() - t0 < 5000);
    assert_int_equal(atomic_load(&t.n), 0);
    gh_ticker_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(turns_follow_the_chosen_delay),
        cmocka_unit_test(wake_ends_a_long_wait),
        cmocka_unit_test(wake_waits_for_the_gap),
        cmocka_unit_test(stop_ends_a_long_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
