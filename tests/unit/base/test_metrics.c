/* Unit tests for gh_metrics and gh_metrics_series: the exposition text,
 * histogram buckets, bounded label sets, and counting from many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gh_config.h"
#include "gh_crypto.h"
#include "gh_metrics.h"
#include "gh_metrics_series.h"

static const char *const results[] = {"hit", "miss", "other", NULL};
static const char *const kinds[] = {"a", "b", NULL};

static char *render(const gh_metric_family *f, gh_arena *a)
{
    gh_strbuf out = {.a = a};
    gh_metric_render(f, "default", &out);
    assert_false(out.failed);
    return out.buf;
}

static void format_values(void **state)
{
    (void)state;
    char s[32];
    gh_metric_format(0, s);
    assert_string_equal(s, "0");
    gh_metric_format(12345678901.0, s);
    assert_string_equal(s, "12345678901");
    gh_metric_format(0.0005, s);
    assert_string_equal(s, "0.0005");
    gh_metric_format(0.1, s);
    assert_string_equal(s, "0.1");
    gh_metric_format(INFINITY, s);
    assert_string_equal(s, "+Inf");
    gh_metric_format(-2.5, s);
    assert_string_equal(s, "-2.5");
}

static void buckets(void **state)
{
    (void)state;
    static const double b[] = {0.1, 0.5, 1};
    assert_int_equal(gh_metric_bucket(b, 3, 0), 0);
    assert_int_equal(gh_metric_bucket(b, 3, 0.1), 0); /* le: the bound itself is inside */
    assert_int_equal(gh_metric_bucket(b, 3, 0.11), 1);
    assert_int_equal(gh_metric_bucket(b, 3, 1), 2);
    assert_int_equal(gh_metric_bucket(b, 3, 7), 3); /* +Inf */
}

/* A value outside a label's list is counted under the catch-all: input
 * can never add a series. */
static void unknown_values_fall_into_other(void **state)
{
    (void)state;
    gh_metric_family f = {.name = "t_total",
                          .help = "test",
                          .label = {"result"},
                          .values = {results},
                          .tenant = true};
    assert_int_equal(gh_metric_family_init(&f), 0);
    assert_int_equal(f.nseries, 3);
    gh_metric_add(&f, "hit", NULL, NULL, 2);
    gh_metric_add(&f, "someone@example.com", NULL, NULL, 1);
    gh_metric_add(&f, NULL, NULL, NULL, 1);
    assert_int_equal(gh_metric_value(&f, "hit", NULL, NULL), 2);
    assert_int_equal(gh_metric_value(&f, "other", NULL, NULL), 2);
    gh_arena *a = gh_arena_new(1 << 16);
    const char *text = render(&f, a);
    assert_string_equal(text, "# HELP t_total test\n"
                              "# TYPE t_total counter\n"
                              "t_total{tenant=\"default\",result=\"hit\"} 2\n"
                              "t_total{tenant=\"default\",result=\"miss\"} 0\n"
                              "t_total{tenant=\"default\",result=\"other\"} 2\n");
    assert_null(strstr(text, "example.com"));
    gh_arena_free(a);
    gh_metric_family_free(&f);
}

static void two_labels_and_sparse(void **state)
{
    (void)state;
    gh_metric_family f = {.name = "t2_total",
                          .help = "two",
                          .label = {"k", "result"},
                          .values = {kinds, results},
                          .sparse = true};
    assert_int_equal(gh_metric_family_init(&f), 0);
    assert_int_equal(f.nseries, 6);
    gh_metric_add(&f, "a", "miss", NULL, 1);
    gh_arena *a = gh_arena_new(1 << 16);
    assert_string_equal(render(&f, a), "# HELP t2_total two\n"
                                       "# TYPE t2_total counter\n"
                                       "t2_total{k=\"a\",result=\"miss\"} 1\n");
    gh_arena_free(a);
    gh_metric_family_free(&f);
}

static void histogram_text(void **state)
{
    (void)state;
    static const double b[] = {0.1, 1};
    gh_metric_family f = {
        .name = "t_seconds", .help = "h", .kind = GH_METRIC_HISTOGRAM, .bounds = b, .nbounds = 2};
    assert_int_equal(gh_metric_family_init(&f), 0);
    gh_metric_observe(&f, NULL, NULL, 0.05);
    gh_metric_observe(&f, NULL, NULL, 0.5);
    gh_metric_observe(&f, NULL, NULL, 2);
    gh_metric_observe(&f, NULL, NULL, -1); /* a clock step: counted as 0 */
    gh_arena *a = gh_arena_new(1 << 16);
    assert_string_equal(render(&f, a), "# HELP t_seconds h\n"
                                       "# TYPE t_seconds histogram\n"
                                       "t_seconds_bucket{le=\"0.1\"} 2\n"
                                       "t_seconds_bucket{le=\"1\"} 3\n"
                                       "t_seconds_bucket{le=\"+Inf\"} 4\n"
                                       "t_seconds_sum 2.55\n"
                                       "t_seconds_count 4\n");
    gh_arena_free(a);
    gh_metric_family_free(&f);
}

static void updates_before_init_are_dropped(void **state)
{
    (void)state;
    gh_metric_family f = {.name = "t_total", .help = "x", .label = {"r"}, .values = {results}};
    gh_metric_add(&f, "hit", NULL, NULL, 1);
    gh_metric_observe(&f, NULL, NULL, 1);
    assert_int_equal(gh_metric_value(&f, "hit", NULL, NULL), 0);
    gh_metrics_token_issued("refresh_token"); /* the catalog before gh_metrics_init */
}

static gh_metric_family shared = {
    .name = "t_total", .help = "x", .label = {"r"}, .values = {results}};

static void *count_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++)
        gh_metric_add(&shared, "hit", NULL, NULL, 1);
    return NULL;
}

/* No lock, and no count lost. */
static void threads_lose_nothing(void **state)
{
    (void)state;
    pthread_t t[4];
    assert_int_equal(gh_metric_family_init(&shared), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_many, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(gh_metric_value(&shared, "hit", NULL, NULL), 400000);
    gh_metric_family_free(&shared);
}

/* The catalog: every family is in the text with zeros before anything
 * happens (dashboards work before the risk engine and rate limits land),
 * the journey follows the audit events, and raw paths never become routes. */
static void catalog(void **state)
{
    (void)state;
    static const char *const patterns[] = {"/token", "/authorize", "/authorize", "/metrics"};
    assert_int_equal(gh_metrics_init(patterns, 4), 0);
    gh_metrics_audit_event("signup.created", "success", NULL, NULL);
    gh_metrics_audit_event("signin.failed", "failure", "wrong password", NULL);
    gh_metrics_audit_event("signin.failed", "failure", "a reason nobody listed", NULL);
    gh_metrics_audit_event("signin.succeeded", "success", NULL, "totp");
    gh_metrics_token_issued("authorization_code");
    gh_metrics_rate_limited("signin");
    gh_metrics_risk_decision("step_up", "new_device");
    gh_metrics_http("/token", "POST", 200, 0.002);
    gh_metrics_http(NULL, "GET", 404, 0.001);
    gh_metrics_http("/no/such/route/123", "BREW", 418, 0.001);
    gh_arena *a = gh_arena_new(1 << 20);
    gh_strbuf out = {.a = a};
    gh_metrics_render_all("default", &out);
    const char *t = out.buf;
    assert_non_null(strstr(t, "gatehouse_signups_total{tenant=\"default\",stage=\"started\"} 1\n"));
    assert_non_null(
        strstr(t, "gatehouse_signups_total{tenant=\"default\",stage=\"abandoned\"} 0\n"));
    assert_non_null(strstr(t, "gatehouse_signins_total{tenant=\"default\",outcome=\"failure\","
                              "reason=\"wrong_password\"} 1\n"));
    assert_non_null(strstr(
        t, "gatehouse_signins_total{tenant=\"default\",outcome=\"failure\",reason=\"other\"} 1\n"));
    assert_non_null(strstr(
        t,
        "gatehouse_second_factor_total{tenant=\"default\",stage=\"passed\",method=\"totp\"} 1\n"));
    assert_non_null(strstr(
        t,
        "gatehouse_tokens_issued_total{tenant=\"default\",grant_type=\"authorization_code\"} 1\n"));
    assert_non_null(strstr(
        t,
        "gatehouse_risk_decisions_total{tenant=\"default\",outcome=\"deny\",rule=\"none\"} 0\n"));
    assert_non_null(strstr(t, "gatehouse_risk_decisions_total{tenant=\"default\",outcome=\"step_"
                              "up\",rule=\"new_device\"} 1\n"));
    assert_non_null(
        strstr(t, "gatehouse_rate_limited_total{tenant=\"default\",class=\"token\"} 0\n"));
    assert_non_null(strstr(
        t, "gatehouse_http_requests_total{route=\"/token\",method=\"POST\",code=\"2xx\"} 1\n"));
    assert_non_null(strstr(
        t, "gatehouse_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"4xx\"} 1\n"));
    assert_non_null(strstr(
        t, "gatehouse_http_requests_total{route=\"unmatched\",method=\"other\",code=\"4xx\"} 1\n"));
    assert_null(strstr(t, "/no/such"));
    assert_non_null(strstr(t, "# TYPE gatehouse_mail_outbox_backlog gauge\n"));
    assert_non_null(strstr(t, "gatehouse_db_pool_wait_seconds_count 0\n"));
    /* a duplicated pattern is one route */
    const char *first = strstr(t, "route=\"/authorize\"");
    assert_true(first == NULL || strstr(first + 1, "route=\"/authorize\",method=\"GET\"") == NULL);
    gh_arena_free(a);
    gh_metrics_shutdown();
}

/* Loads the settings with name=value set in the environment (the real
 * getter), and unsets it again. */
static int load_with(gh_config *c, const char *name, const char *value, char *err, size_t n)
{
    if (name)
        setenv(name, value, 1);
    int rc = gh_config_load(c, gh_config_getenv, NULL, err, n);
    if (name)
        unsetenv(name);
    return rc;
}

/* GATEHOUSE_METRICS_LISTEN: unset by default, host:port checked like
 * GATEHOUSE_LISTEN, and never the main listener's own address. */
static void metrics_listen_setting(void **state)
{
    (void)state;
    gh_config c;
    char err[512];
    const char *name = "GATEHOUSE_METRICS_LISTEN";
    assert_int_equal(load_with(&c, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(c.metrics_port, 0);
    assert_int_equal(load_with(&c, name, "[::1]:9464", err, sizeof(err)), 0);
    assert_string_equal(c.metrics_host, "::1");
    assert_int_equal(c.metrics_port, 9464);
    static const char *const bad[] = {"9464", "127.0.0.1:0", "127.0.0.1:70000", ":9464",
                                      "127.0.0.1:x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load_with(&c, name, bad[i], err, sizeof(err)), -1);
        assert_non_null(strstr(err, name));
    }
    setenv("GATEHOUSE_LISTEN", "127.0.0.1:9000", 1);
    assert_int_equal(load_with(&c, name, "127.0.0.1:9000", err, sizeof(err)), -1);
    unsetenv("GATEHOUSE_LISTEN");
    assert_non_null(strstr(err, "GATEHOUSE_METRICS_LISTEN must differ"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_values),
        cmocka_unit_test(buckets),
        cmocka_unit_test(unknown_values_fall_into_other),
        cmocka_unit_test(two_labels_and_sparse),
        cmocka_unit_test(histogram_text),
        cmocka_unit_test(updates_before_init_are_dropped),
        cmocka_unit_test(threads_lose_nothing),
        cmocka_unit_test(catalog),
        cmocka_unit_test(metrics_listen_setting),
    };
    gh_crypto_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
