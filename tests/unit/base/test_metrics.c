/* Unit tests for gh_metrics and gh_metrics_series: the exposition text,
 * histogram buckets, bounded label sets, tenant slots, and counting from
 * many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
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
    gh_metric_tenants t;
    assert_int_equal(gh_metric_tenants_init(&t, 1), 0);
    gh_metric_family f = {
        .name = "t_total", .help = "test", .label = {"result"}, .values = {results}, .tenants = &t};
    assert_int_equal(gh_metric_family_init(&f), 0);
    assert_int_equal(f.nseries, 3);
    gh_metric_add_for(&f, "default", "hit", NULL, 2);
    gh_metric_add_for(&f, "default", "someone@example.com", NULL, 1);
    gh_metric_add_for(&f, "default", NULL, NULL, 1);
    assert_int_equal(gh_metric_value_for(&f, "default", "hit", NULL), 2);
    assert_int_equal(gh_metric_value_for(&f, "default", "other", NULL), 2);
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
    gh_metric_tenants_free(&t);
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
    gh_metrics_token_issued("default", "refresh_token"); /* the catalog before gh_metrics_init */
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

/* Tenant slots fill in the order tenants are first seen; once they are
 * gone a new tenant counts as "other", and earlier ones keep theirs. */
static void tenant_slots_fill_then_other(void **state)
{
    (void)state;
    gh_metric_tenants t;
    assert_int_equal(gh_metric_tenants_init(&t, 3), 0);
    assert_int_equal(gh_metric_tenant_find(&t, "acme"), 3); /* finding claims nothing */
    assert_int_equal(gh_metric_tenant_slot(&t, "default"), 0);
    assert_int_equal(gh_metric_tenant_slot(&t, "acme"), 1);
    assert_int_equal(gh_metric_tenant_slot(&t, "default"), 0);
    assert_int_equal(gh_metric_tenant_find(&t, "acme"), 1);
    assert_int_equal(gh_metric_tenant_slot(&t, "bank"), 2);
    assert_int_equal(gh_metric_tenant_slot(&t, "late"), 3);
    assert_int_equal(gh_metric_tenant_find(&t, "late"), 3);
    assert_int_equal(gh_metric_tenant_slot(&t, "acme"), 1);
    gh_metric_tenants_free(&t);
}

/* No slot of its own for NULL, an id over 63 bytes, or "other" itself
 * (its series would repeat the overflow's labels). */
static void tenant_ids_without_a_slot(void **state)
{
    (void)state;
    char longest[GH_METRIC_TENANT_MAX + 2];
    gh_metric_tenants t;
    assert_int_equal(gh_metric_tenants_init(&t, 4), 0);
    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    assert_int_equal(gh_metric_tenant_slot(&t, NULL), 4);
    assert_int_equal(gh_metric_tenant_slot(&t, GH_METRIC_TENANT_OTHER), 4);
    assert_int_equal(gh_metric_tenant_slot(&t, longest), 4);
    longest[GH_METRIC_TENANT_MAX] = '\0'; /* 63 bytes: a slot */
    assert_int_equal(gh_metric_tenant_slot(&t, longest), 0);
    gh_metric_tenants_free(&t);
}

/* A counter family with tenants over a fresh table, and an arena for its
 * text. x must not move while open (the family points at its table). */
typedef struct {
    gh_metric_tenants t;
    gh_metric_family f;
    gh_arena *a;
} tenant_fixture;

/* values: the one label "result"'s list, or NULL for no label. */
static void fixture_open(tenant_fixture *x, size_t nslots, const char *const *values)
{
    assert_int_equal(gh_metric_tenants_init(&x->t, nslots), 0);
    x->f = (gh_metric_family){.name = "j_total", .help = "j", .tenants = &x->t};
    if (values) {
        x->f.label[0] = "result";
        x->f.values[0] = values;
    }
    assert_int_equal(gh_metric_family_init(&x->f), 0);
    x->a = gh_arena_new(1 << 16);
}

/* The family's text: tenant's scrape, or every tenant's for NULL. */
static const char *fixture_text(tenant_fixture *x, const char *tenant)
{
    gh_strbuf out = {.a = x->a};
    gh_metric_render(&x->f, tenant, &out);
    assert_false(out.failed);
    return out.buf;
}

static void fixture_close(tenant_fixture *x)
{
    gh_arena_free(x->a);
    gh_metric_family_free(&x->f);
    gh_metric_tenants_free(&x->t);
}

/* The text with two tenants: each its own series, in slot order, then
 * "other" once the slots are gone; a tenant's own scrape never shows
 * another tenant, nor "other" for a tenant counted there. */
static void two_tenants_text(void **state)
{
    (void)state;
    tenant_fixture x;
    fixture_open(&x, 2, results);
    gh_metric_add_for(&x.f, "default", "miss", NULL, 1);
    gh_metric_add_for(&x.f, "acme", "hit", NULL, 3);
    gh_metric_add_for(&x.f, "zeta", "hit", NULL, 5); /* no slot left */
    assert_int_equal(gh_metric_value_for(&x.f, "acme", "hit", NULL), 3);
    assert_int_equal(gh_metric_value_for(&x.f, "default", "hit", NULL), 0);
    assert_int_equal(gh_metric_value_for(&x.f, "zeta", "hit", NULL), 0);
    assert_int_equal(gh_metric_value_for(&x.f, "other", "hit", NULL), 5);
    assert_string_equal(fixture_text(&x, NULL), "# HELP j_total j\n"
                                                "# TYPE j_total counter\n"
                                                "j_total{tenant=\"default\",result=\"hit\"} 0\n"
                                                "j_total{tenant=\"default\",result=\"miss\"} 1\n"
                                                "j_total{tenant=\"default\",result=\"other\"} 0\n"
                                                "j_total{tenant=\"acme\",result=\"hit\"} 3\n"
                                                "j_total{tenant=\"acme\",result=\"miss\"} 0\n"
                                                "j_total{tenant=\"acme\",result=\"other\"} 0\n"
                                                "j_total{tenant=\"other\",result=\"hit\"} 5\n"
                                                "j_total{tenant=\"other\",result=\"miss\"} 0\n"
                                                "j_total{tenant=\"other\",result=\"other\"} 0\n");
    assert_string_equal(fixture_text(&x, "acme"), "# HELP j_total j\n"
                                                  "# TYPE j_total counter\n"
                                                  "j_total{tenant=\"acme\",result=\"hit\"} 3\n"
                                                  "j_total{tenant=\"acme\",result=\"miss\"} 0\n"
                                                  "j_total{tenant=\"acme\",result=\"other\"} 0\n");
    assert_string_equal(fixture_text(&x, "zeta"), "# HELP j_total j\n# TYPE j_total counter\n");
    fixture_close(&x);
}

/* Slots left free are not in the text, nor is "other" before a tenant
 * is counted there. */
static void free_slots_not_rendered(void **state)
{
    (void)state;
    tenant_fixture x;
    fixture_open(&x, 4, NULL);
    gh_metric_add_for(&x.f, "default", NULL, NULL, 2);
    assert_string_equal(fixture_text(&x, NULL), "# HELP j_total j\n"
                                                "# TYPE j_total counter\n"
                                                "j_total{tenant=\"default\"} 2\n");
    /* a tenant that never gets a slot: "other" is there from then on */
    gh_metric_add_for(&x.f, GH_METRIC_TENANT_OTHER, NULL, NULL, 1);
    assert_string_equal(fixture_text(&x, NULL), "# HELP j_total j\n"
                                                "# TYPE j_total counter\n"
                                                "j_total{tenant=\"default\"} 2\n"
                                                "j_total{tenant=\"other\"} 1\n");
    fixture_close(&x);
}

/* A tenant id is a label value: \, " and a newline are escaped, so even
 * an id the tenant rules would refuse cannot break the text. */
static void tenant_label_escaped(void **state)
{
    (void)state;
    tenant_fixture x;
    fixture_open(&x, 1, NULL);
    gh_metric_add_for(&x.f, "a\"b\\c\nd", NULL, NULL, 1);
    assert_non_null(strstr(fixture_text(&x, NULL), "j_total{tenant=\"a\\\"b\\\\c\\nd\"} 1\n"));
    fixture_close(&x);
}

enum { CLAIM_THREADS = 4, CLAIM_IDS = 16, CLAIM_SLOTS = 8, CLAIM_ROUNDS = 1000 };
static gh_metric_tenants claimed;
static size_t claim_result[CLAIM_THREADS][CLAIM_IDS];
static pthread_barrier_t claim_start;

/* Claims every id, each thread in its own order, all starting at once. */
static void *claim_all(void *arg)
{
    size_t me = (size_t)(uintptr_t)arg;
    pthread_barrier_wait(&claim_start);
    for (size_t k = 0; k < CLAIM_IDS; k++) {
        size_t i = (k * 5 + me * 3) % CLAIM_IDS; /* 5 is prime to 16: every id once */
        char id[16];
        snprintf(id, sizeof(id), "t%zu", i);
        claim_result[me][i] = gh_metric_tenant_slot(&claimed, id);
    }
    return NULL;
}

/* One round on a fresh table: every slot taken, no id in two slots, and
 * every thread saw the same slot for an id (or "other" for the same
 * ids). */
static void claim_round(void)
{
    pthread_t th[CLAIM_THREADS];
    assert_int_equal(gh_metric_tenants_init(&claimed, CLAIM_SLOTS), 0);
    for (size_t i = 0; i < CLAIM_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, claim_all, (void *)(uintptr_t)i), 0);
    for (size_t i = 0; i < CLAIM_THREADS; i++)
        pthread_join(th[i], NULL);
    size_t with_slot = 0;
    for (size_t i = 0; i < CLAIM_IDS; i++) {
        for (size_t k = 1; k < CLAIM_THREADS; k++)
            assert_int_equal(claim_result[k][i], claim_result[0][i]);
        with_slot += claim_result[0][i] < CLAIM_SLOTS;
    }
    assert_int_equal(with_slot, CLAIM_SLOTS);
    for (size_t i = 0; i < CLAIM_SLOTS; i++)
        for (size_t j = i + 1; j < CLAIM_SLOTS; j++)
            assert_string_not_equal(atomic_load(&claimed.ids[i])->id,
                                    atomic_load(&claimed.ids[j])->id);
    gh_metric_tenants_free(&claimed);
}

/* Threads racing for the first sight of the same tenants, many times. */
static void racing_claims_agree(void **state)
{
    (void)state;
    assert_int_equal(pthread_barrier_init(&claim_start, NULL, CLAIM_THREADS), 0);
    for (int r = 0; r < CLAIM_ROUNDS; r++)
        claim_round();
    pthread_barrier_destroy(&claim_start);
}

/* The catalog per tenant: each tenant's journey is its own, a tenant the
 * server knows is there at zero, and a tenant's scrape holds its journey
 * series only (no other tenant's, no operator series). */
static void catalog_per_tenant(void **state)
{
    (void)state;
    static const char *const patterns[] = {"/token"};
    assert_int_equal(gh_metrics_init(patterns, 1, 4), 0);
    gh_metrics_audit_event("acme", "signin.succeeded", "success", NULL, NULL);
    gh_metrics_audit_event("default", "signin.failed", "failure", "wrong password", NULL);
    gh_metrics_token_issued("acme", "client_credentials");
    gh_metrics_rate_limited("default", "signup");
    gh_metrics_risk_decision("acme", "deny", "credential_stuffing");
    gh_metrics_stepup_asked("acme");
    gh_metrics_signups_abandoned("acme", 2);
    gh_metrics_tenant_known("bank");
    gh_metrics_http("/token", "POST", 200, 0.001);
    gh_arena *a = gh_arena_new(1 << 20);
    gh_strbuf all = {.a = a}, acme = {.a = a};
    gh_metrics_render_all(NULL, &all);
    gh_metrics_render_all("acme", &acme);
    const char *t = all.buf;
    assert_non_null(strstr(t, "gatehouse_signins_total{tenant=\"acme\",outcome=\"success\","
                              "reason=\"none\"} 1\n"));
    assert_non_null(strstr(t, "gatehouse_signins_total{tenant=\"default\",outcome=\"success\","
                              "reason=\"none\"} 0\n"));
    assert_non_null(strstr(t, "gatehouse_signins_total{tenant=\"default\",outcome=\"failure\","
                              "reason=\"wrong_password\"} 1\n"));
    assert_non_null(strstr(t, "gatehouse_signins_total{tenant=\"acme\",outcome=\"failure\","
                              "reason=\"wrong_password\"} 0\n"));
    assert_non_null(strstr(t, "gatehouse_tokens_issued_total{tenant=\"acme\",grant_type=\""
                              "client_credentials\"} 1\n"));
    assert_non_null(
        strstr(t, "gatehouse_rate_limited_total{tenant=\"default\",class=\"signup\"} 1\n"));
    assert_non_null(strstr(t, "gatehouse_risk_decisions_total{tenant=\"acme\",outcome=\"deny\","
                              "rule=\"credential_stuffing\"} 1\n"));
    assert_non_null(strstr(t, "gatehouse_stepups_total{tenant=\"acme\",stage=\"asked\"} 1\n"));
    assert_non_null(strstr(t, "gatehouse_signups_total{tenant=\"acme\",stage=\"abandoned\"} 2\n"));
    assert_non_null(strstr(t, "gatehouse_signups_total{tenant=\"bank\",stage=\"started\"} 0\n"));
    assert_null(strstr(t, "tenant=\"other\"")); /* a slot is still free */
    assert_non_null(strstr(t, "gatehouse_http_requests_total{route=\"/token\""));
    const char *s = acme.buf;
    assert_non_null(strstr(s, "gatehouse_signins_total{tenant=\"acme\",outcome=\"success\","
                              "reason=\"none\"} 1\n"));
    assert_null(strstr(s, "tenant=\"default\""));
    assert_null(strstr(s, "tenant=\"bank\""));
    assert_null(strstr(s, "gatehouse_http_"));
    assert_null(strstr(s, "gatehouse_mail_outbox_backlog"));
    /* the last slot taken, a fifth tenant counts under "other", which its
     * own scrape never shows */
    gh_metrics_tenant_known("late");
    gh_metrics_audit_event("later", "signup.created", "success", NULL, NULL);
    gh_strbuf all2 = {.a = a}, later = {.a = a};
    gh_metrics_render_all(NULL, &all2);
    gh_metrics_render_all("later", &later);
    assert_non_null(
        strstr(all2.buf, "gatehouse_signups_total{tenant=\"late\",stage=\"started\"} 0\n"));
    assert_non_null(
        strstr(all2.buf, "gatehouse_signups_total{tenant=\"other\",stage=\"started\"} 1\n"));
    assert_null(strstr(later.buf, "tenant="));
    gh_arena_free(a);
    gh_metrics_shutdown();
}

/* The catalog: every family is in the text with zeros before anything
 * happens (dashboards work before the risk engine and rate limits land),
 * the journey follows the audit events, and raw paths never become routes. */
static void catalog(void **state)
{
    (void)state;
    /* the same pattern twice, in two buffers: one route all the same */
    static const char authorize1[] = "/authorize", authorize2[] = "/authorize";
    static const char *const patterns[] = {"/token", authorize1, authorize2, "/metrics"};
    assert_int_equal(gh_metrics_init(patterns, 4, 8), 0);
    gh_metrics_audit_event("default", "signup.created", "success", NULL, NULL);
    gh_metrics_audit_event("default", "signin.failed", "failure", "wrong password", NULL);
    gh_metrics_audit_event("default", "signin.failed", "failure", "a reason nobody listed", NULL);
    gh_metrics_audit_event("default", "signin.succeeded", "success", NULL, "totp");
    gh_metrics_token_issued("default", "authorization_code");
    gh_metrics_rate_limited("default", "signin");
    gh_metrics_risk_decision("default", "step_up", "new_device");
    gh_metrics_http("/token", "POST", 200, 0.002);
    gh_metrics_http(NULL, "GET", 404, 0.001);
    gh_metrics_http("/no/such/route/123", "BREW", 418, 0.001);
    gh_metrics_http(authorize1, "GET", 302, 0.001);
    gh_metrics_http(authorize2, "GET", 302, 0.001);
    gh_arena *a = gh_arena_new(1 << 20);
    gh_strbuf out = {.a = a};
    gh_metrics_render_all(NULL, &out);
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
    /* a duplicated pattern is one route: both requests in one series */
    const char *line = "gatehouse_http_requests_total{route=\"/authorize\",method=\"GET\","
                       "code=\"3xx\"} 2\n";
    const char *first = strstr(t, line);
    assert_non_null(first);
    assert_null(strstr(first + strlen(line), "route=\"/authorize\",method=\"GET\""));
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

/* GATEHOUSE_METRICS_TENANTS: 64 by default, 1 to 1024, refused at start
 * otherwise with the setting named. */
static void metrics_tenants_setting(void **state)
{
    (void)state;
    gh_config c;
    char err[512];
    const char *name = "GATEHOUSE_METRICS_TENANTS";
    assert_int_equal(load_with(&c, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(c.metrics_tenants, 64);
    assert_int_equal(load_with(&c, name, "1", err, sizeof(err)), 0);
    assert_int_equal(c.metrics_tenants, 1);
    assert_int_equal(load_with(&c, name, "1024", err, sizeof(err)), 0);
    assert_int_equal(c.metrics_tenants, 1024);
    static const char *const bad[] = {"0", "1025", "-1", "x", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load_with(&c, name, bad[i], err, sizeof(err)), -1);
        assert_non_null(strstr(err, name));
    }
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
        cmocka_unit_test(tenant_slots_fill_then_other),
        cmocka_unit_test(tenant_ids_without_a_slot),
        cmocka_unit_test(two_tenants_text),
        cmocka_unit_test(free_slots_not_rendered),
        cmocka_unit_test(tenant_label_escaped),
        cmocka_unit_test(racing_claims_agree),
        cmocka_unit_test(catalog),
        cmocka_unit_test(catalog_per_tenant),
        cmocka_unit_test(metrics_tenants_setting),
        cmocka_unit_test(metrics_listen_setting),
    };
    gh_crypto_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
