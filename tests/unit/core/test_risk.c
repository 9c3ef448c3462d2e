/* Unit tests for the risk engine's service (gh_risk) over a real store
 * (testdb.h), without HTTP: the velocity signals count the last hour's
 * failed sign-ins per account, address and network (credential stuffing,
 * spraying); an account keeps its 20 latest networks; a session's shift is
 * seen by comparison alone; a deleted account's decisions stay under the
 * pseudonym without the network and browser (docs/risk.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_geoip.h"
#include "gh_risk.h"
#include "gh_store_users.h"

#include "testdb.h"

#define T   GH_DEFAULT_TENANT
#define NOW 1700000000000LL

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_config cfg;
    gh_ctx x;
    const char *alice;
};

static int teardown(void **state);

static int setup(void **state)
{
    char err[256];
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-risk", 2);
    f->c = f->db ? gh_db_acquire(f->db) : NULL;
    f->x = (gh_ctx){.tenant = T,
                    .arena = gh_arena_new(0),
                    .cfg = &f->cfg,
                    .now = NOW,
                    .client_ip = "198.51.100.7",
                    .user_agent = "test",
                    .db = f->c};
    if (!f->c || !f->x.arena || gh_risk_init(&f->cfg, err, sizeof err) != 0)
        goto fail;
    f->alice = test_db_user(f->c, f->x.arena, "alice@example.com");
    if (!f->alice)
        goto fail;
    return 0;
fail:
    teardown(state);
    *state = NULL;
    return -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    gh_db_release(f->c);
    gh_db_close(f->db);
    gh_arena_free(f->x.arena);
    test_db_drop(&f->t);
    free(f);
    return 0;
}

/* A failed sign-in with the reason the audit trail records. */
static void failed_because(struct fixture *f, const char *subject, const char *ip,
                           const char *reason)
{
    gh_audit_event ev = {.tenant_id = T,
                         .type = "signin.failed",
                         .subject = subject,
                         .actor = subject,
                         .ip = ip,
                         .outcome = "failure",
                         .reason = reason};
    assert_int_equal(gh_audit_append(f->c, f->x.arena, &ev), GH_DB_OK);
}

/* A failed sign-in as the audit trail records it. */
static void failed(struct fixture *f, const char *subject, const char *ip)
{
    failed_because(f, subject, ip, "wrong password");
}

static gh_risk_signals signals(struct fixture *f)
{
    gh_risk_signals s;
    gh_risk_facts in = {.user_id = f->alice};
    assert_int_equal(gh_risk_signin_signals(&f->x, f->c, &in, &s), GH_DB_OK);
    return s;
}

static void velocity_counts_addresses_accounts_and_networks(void **state)
{
    struct fixture *f = *state;
    char ip[32];
    f->x.now = gh_now_ms();
    for (int i = 0; i < 12; i++) /* stuffing: unknown addresses from one client */
        failed(f, NULL, "198.51.100.7");
    failed(f, "someone-else", "198.51.100.9"); /* the same /24 */
    for (int i = 0; i < 3; i++) {              /* spraying: alice from three places */
        snprintf(ip, sizeof ip, "203.0.113.%d", i + 1);
        failed(f, f->alice, ip);
    }
    gh_risk_signals s = signals(f);
    assert_int_equal(s.v[GH_RS_IP_FAILURES], 12);
    assert_int_equal(s.v[GH_RS_NETWORK_FAILURES], 13);
    assert_int_equal(s.v[GH_RS_IP_ACCOUNTS], 12);
    assert_int_equal(s.v[GH_RS_ACCOUNT_FAILURES], 3);
    assert_int_equal(s.v[GH_RS_ACCOUNT_IPS], 3);
    assert_int_equal(s.v[GH_RS_TENANT_FAILURES], 16); /* every failure of the tenant */
    assert_int_equal(s.v[GH_RS_NEW_DEVICE], 1);
    assert_int_equal(s.v[GH_RS_NEW_NETWORK], 1);
    assert_string_equal(s.network, "198.51.100.0/24");
    /* an hour later the window holds none of them */
    f->x.now += 3600 * 1000 + 60 * 1000; /* the events were written just after x.now */
    s = signals(f);
    assert_int_equal(s.v[GH_RS_IP_FAILURES], 0);
    assert_int_equal(s.v[GH_RS_ACCOUNT_IPS], 0);
    assert_int_equal(s.v[GH_RS_TENANT_FAILURES], 0);
}

static void an_account_keeps_its_latest_twenty_networks(void **state)
{
    struct fixture *f = *state;
    char ip[32];
    for (int i = 0; i < 25; i++) {
        snprintf(ip, sizeof ip, "10.0.%d.1", i);
        f->x.client_ip = ip;
        f->x.now = NOW + i;
        assert_int_equal(gh_risk_network_seen(&f->x, f->c, f->alice), GH_DB_OK);
    }
    f->x.client_ip = "10.0.24.200"; /* the latest network */
    assert_int_equal(signals(f).v[GH_RS_NEW_NETWORK], 0);
    f->x.client_ip = "10.0.5.1"; /* the 20th latest */
    assert_int_equal(signals(f).v[GH_RS_NEW_NETWORK], 0);
    f->x.client_ip = "10.0.4.1"; /* dropped */
    assert_int_equal(signals(f).v[GH_RS_NEW_NETWORK], 1);
}

static void a_shift_is_seen_by_comparison(void **state)
{
    struct fixture *f = *state;
    gh_session s = {.ip = "198.51.100.7", .user_agent = "test"};
    assert_false(gh_risk_session_shifted(&f->x, &s));
    f->x.client_ip = "198.51.100.99"; /* the same /24 */
    assert_false(gh_risk_session_shifted(&f->x, &s));
    f->x.client_ip = "192.0.2.1";
    assert_true(gh_risk_session_shifted(&f->x, &s));
    /* once scored, the session is compared with the context it was scored in */
    s.risk_context = "192.0.2.0/24\ntest";
    assert_false(gh_risk_session_shifted(&f->x, &s));
    f->x.user_agent = "other";
    assert_true(gh_risk_session_shifted(&f->x, &s));
}

static void deletion_keeps_decisions_under_the_pseudonym(void **state)
{
    struct fixture *f = *state;
    gh_risk_signals s = signals(f);
    gh_risk_verdict v;
    long long n = 0;
    json_t *list = NULL, *one = NULL;
    assert_int_equal(gh_risk_decide(&f->x, f->c, GH_RJ_SIGNIN, f->alice, &s, &v), GH_DB_OK);
    assert_int_equal(gh_risk_decide(&f->x, f->c, GH_RJ_SIGNIN, f->alice, &s, &v), GH_DB_OK);
    assert_int_equal(gh_risk_erase(&f->x, f->c, f->alice, "pseud:abc", &n), GH_DB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(gh_risk_list(&f->x, f->c, f->alice, &list), GH_DB_OK);
    assert_int_equal(json_array_size(list), 0);
    assert_int_equal(gh_risk_explain(&f->x, f->c, v.id, &one), GH_DB_OK);
    assert_string_equal(json_string_value(json_object_get(one, "user_id")), "pseud:abc");
    json_t *sig = json_object_get(one, "signals");
    assert_null(json_object_get(sig, "network"));
    assert_null(json_object_get(sig, "ua_family"));
    assert_int_equal(json_integer_value(json_object_get(sig, "new_device")), 1);
    json_decref(list);
    json_decref(one);
}

/* An audit event of a journey as the handlers write it. */
static void event(struct fixture *f, const char *type, const char *subject, const char *ip)
{
    gh_audit_event ev = {.tenant_id = T,
                         .type = type,
                         .subject = subject,
                         .actor = subject,
                         .ip = ip,
                         .outcome = "success"};
    assert_int_equal(gh_audit_append(f->c, f->x.arena, &ev), GH_DB_OK);
}

static void journeys_count_their_own_attempts(void **state)
{
    struct fixture *f = *state;
    gh_risk_signals s;
    f->x.now = gh_now_ms();
    for (int i = 0; i < 3; i++)
        event(f, "email.change_started", f->alice, "198.51.100.7");
    event(f, "email.change_started", "someone-else", "198.51.100.20"); /* the same /24 */
    event(f, "emailXchange_started", f->alice, "198.51.100.7");        /* '_' is no wildcard */
    event(f, "recovery.started", f->alice, "198.51.100.7");            /* another journey */
    gh_risk_attempt a = {
        .journey = GH_RJ_EMAIL_CHANGE, .user_id = f->alice, .email = "new@example.com"};
    assert_int_equal(gh_risk_attempt_signals(&f->x, f->c, &a, &s), GH_DB_OK);
    assert_int_equal(s.v[GH_RS_IP_ATTEMPTS], 3);
    assert_int_equal(s.v[GH_RS_NETWORK_ATTEMPTS], 4);
    assert_int_equal(s.v[GH_RS_ACCOUNT_ATTEMPTS], 3);
    assert_int_equal(s.v[GH_RS_TENANT_ATTEMPTS], 4); /* anyone's, anywhere in the tenant */
    assert_int_equal(s.v[GH_RS_NEW_DEVICE], 1);
    /* sign-up counts every signup.* event, and knows no account */
    event(f, "signup.created", "new-1", "198.51.100.7");
    event(f, "signup.existing_email", f->alice, "198.51.100.7");
    a = (gh_risk_attempt){.journey = GH_RJ_SIGNUP, .email = "x@example.com"};
    assert_int_equal(gh_risk_attempt_signals(&f->x, f->c, &a, &s), GH_DB_OK);
    assert_int_equal(s.v[GH_RS_IP_ATTEMPTS], 2);
    assert_int_equal(s.v[GH_RS_TENANT_ATTEMPTS], 2);
    assert_int_equal(s.v[GH_RS_ACCOUNT_ATTEMPTS], 0);
    assert_int_equal(s.v[GH_RS_NEW_NETWORK], 0); /* no account: not looked up */
}

static void the_token_journey_writes_only_what_fired(void **state)
{
    struct fixture *f = *state;
    gh_risk_verdict v;
    json_t *list = NULL;
    f->x.now = gh_now_ms();
    const char *home = gh_risk_token_network(&f->x, "fam-1");
    assert_non_null(home);
    gh_risk_token_facts t = {
        .user_id = f->alice, .client_id = "unit-client", .family_id = "fam-1", .network = home};
    assert_int_equal(gh_risk_token(&f->x, f->c, &t, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_ALLOW);
    assert_null(v.id); /* nothing fired, nothing stored */
    assert_int_equal(gh_risk_list(&f->x, f->c, f->alice, &list), GH_DB_OK);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    /* the same family from another network, after 50 refused grants */
    for (int i = 0; i < 50; i++)
        gh_risk_token_failed("unit-client", f->x.now);
    f->x.client_ip = "203.0.113.5";
    assert_int_equal(gh_risk_token(&f->x, f->c, &t, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_DENY);
    assert_string_equal(v.reason, "token_abuse");
    assert_int_equal(gh_risk_list(&f->x, f->c, f->alice, &list), GH_DB_OK);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* a token from before migration 26 has no network: never new */
    t.network = NULL;
    assert_int_equal(gh_risk_token(&f->x, f->c, &t, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_NOTIFY); /* the client's failures alone */
    /* twenty minutes on, the failures have left both windows */
    f->x.now += 20 * 60 * 1000;
    assert_int_equal(gh_risk_token(&f->x, f->c, &t, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_ALLOW);
}

/* Fifty refused grants that straddle the start of a 10-minute window still
 * count as fifty a moment later (they were read as 49 when the previous
 * window's share was rounded down, and token_abuse did not fire). */
static void failures_across_a_window_start_count_whole(void **state)
{
    struct fixture *f = *state;
    gh_risk_verdict v;
    const long long window = 10 * 60 * 1000;
    long long start = (gh_now_ms() / window + 1) * window; /* a window's start */
    f->x.now = start - 1000;
    const char *home = gh_risk_token_network(&f->x, "fam-edge");
    gh_risk_token_facts t = {
        .user_id = f->alice, .client_id = "edge-client", .family_id = "fam-edge", .network = home};
    for (int i = 0; i < 30; i++)
        gh_risk_token_failed("edge-client", start - 500);
    for (int i = 0; i < 20; i++)
        gh_risk_token_failed("edge-client", start + 500);
    f->x.now = start + 1000;
    f->x.client_ip = "203.0.113.9";
    assert_int_equal(gh_risk_token(&f->x, f->c, &t, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_DENY);
    assert_string_equal(v.reason, "token_abuse");
}

/* The built-in policy (builtin-3 on) on the sign-ins without a password: a
 * right emailed code after five wrong ones on the account, from a device
 * it does not know, is refused; a passkey on the same account is not (the
 * factor is phishing-resistant), and its decision is stored on its own
 * journey. */
static void passwordless_signins_have_their_own_rules(void **state)
{
    struct fixture *f = *state;
    gh_risk_signals s;
    gh_risk_verdict v;
    gh_signin_facts facts = {0};
    f->x.now = gh_now_ms();
    for (int i = 0; i < 4; i++)
        failed_because(f, f->alice, "203.0.113.9", "wrong code");
    failed_because(f, f->alice, "203.0.113.9", "wrong password"); /* not a code */
    gh_risk_facts email = {.journey = GH_RJ_EMAIL_SIGNIN, .user_id = f->alice};
    assert_int_equal(gh_risk_signin_signals(&f->x, f->c, &email, &s), GH_DB_OK);
    assert_int_equal(s.v[GH_RS_CODE_FAILURES], 4);
    assert_int_equal(gh_risk_peek(&f->x, GH_RJ_EMAIL_SIGNIN, &s), GH_RO_ALLOW);
    failed_because(f, f->alice, "203.0.113.9", "wrong code");
    assert_int_equal(gh_risk_signin(&f->x, f->c, &email, &facts, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_DENY);
    assert_string_equal(v.reason, "email_code_guessing");
    assert_true(facts.risk_deny);
    /* the password journey has no such rule: the guard of issue 15 is its own */
    assert_int_equal(gh_risk_signin_signals(&f->x, f->c, &email, &s), GH_DB_OK);
    assert_int_equal(gh_risk_peek(&f->x, GH_RJ_SIGNIN, &s), GH_RO_ALLOW);
    /* the owner's passkey from a new device and network: allowed */
    gh_risk_facts passkey = {.journey = GH_RJ_PASSKEY_SIGNIN,
                             .user_id = f->alice,
                             .user_verified = true,
                             .phishing_resistant = true};
    memset(&facts, 0, sizeof facts);
    assert_int_equal(gh_risk_signin(&f->x, f->c, &passkey, &facts, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_ALLOW);
    assert_false(facts.risk_deny);
    json_t *d = NULL;
    assert_int_equal(gh_risk_explain(&f->x, f->c, v.id, &d), GH_DB_OK);
    assert_string_equal(json_string_value(json_object_get(d, "journey")), "passkey_signin");
    json_t *sig = json_object_get(d, "signals");
    assert_int_equal(json_integer_value(json_object_get(sig, "phishing_resistant")), 1);
    assert_int_equal(json_integer_value(json_object_get(sig, "user_verified")), 1);
    assert_int_equal(json_integer_value(json_object_get(sig, "new_device")), 1);
    json_decref(d);
    /* velocity still counts for a passkey: many accounts failing from here */
    for (int i = 0; i < 10; i++) {
        char who[16];
        snprintf(who, sizeof who, "acct-%d", i);
        failed_because(f, who, "198.51.100.7", "wrong password");
    }
    assert_int_equal(gh_risk_signin(&f->x, f->c, &passkey, &facts, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_NOTIFY);
    assert_string_equal(v.reason, "credential_stuffing");
}

/* The built-in policy on requests for emailed sign-in codes: every
 * signin.email_code_* event counts (sent, not sent, refused, the guarded
 * password's emailed step); eight on an account from a device and a
 * network it does not know, or a hundred from one address, are refused;
 * seven, eight from the owner's network, or twenty from one address, are
 * not. */
static void code_requests_count_every_request(void **state)
{
    struct fixture *f = *state;
    gh_risk_signals s;
    gh_risk_verdict v;
    f->x.now = gh_now_ms();
    for (int i = 0; i < 7; i++) /* from seven addresses elsewhere */
        event(f, i % 2 ? "signin.email_code_sent" : "signin.email_code_not_sent", f->alice,
              i % 3 ? "203.0.113.9" : "192.0.2.4");
    event(f, "signin.email_codeXsent", f->alice, "203.0.113.9"); /* '_' is no wildcard */
    event(f, "signin.failed", f->alice, "203.0.113.9");          /* another journey */
    gh_risk_attempt a = {.journey = GH_RJ_EMAIL_CODE_REQUEST, .user_id = f->alice};
    assert_int_equal(gh_risk_attempt_signals(&f->x, f->c, &a, &s), GH_DB_OK);
    assert_int_equal(s.v[GH_RS_ACCOUNT_ATTEMPTS], 7);
    assert_int_equal(s.v[GH_RS_IP_ATTEMPTS], 0);
    assert_int_equal(gh_risk_peek(&f->x, GH_RJ_EMAIL_CODE_REQUEST, &s), GH_RO_ALLOW);
    event(f, "signin.email_code_required", f->alice, "203.0.113.9");
    assert_int_equal(gh_risk_attempt_signals(&f->x, f->c, &a, &s), GH_DB_OK);
    assert_int_equal(s.v[GH_RS_ACCOUNT_ATTEMPTS], 8);
    assert_int_equal(gh_risk_decide(&f->x, f->c, GH_RJ_EMAIL_CODE_REQUEST, f->alice, &s, &v),
                     GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_DENY);
    assert_string_equal(v.reason, "email_code_velocity");
    /* from a network the account signed in from, the owner is not refused */
    assert_int_equal(gh_risk_network_seen(&f->x, f->c, f->alice), GH_DB_OK);
    assert_int_equal(gh_risk_attempt_signals(&f->x, f->c, &a, &s), GH_DB_OK);
    assert_int_equal(s.v[GH_RS_NEW_NETWORK], 0);
    assert_int_equal(gh_risk_peek(&f->x, GH_RJ_EMAIL_CODE_REQUEST, &s), GH_RO_ALLOW);
    /* the same count on no account (an address without one) refuses nothing */
    a.user_id = NULL;
    assert_int_equal(gh_risk_attempt_signals(&f->x, f->c, &a, &s), GH_DB_OK);
    assert_int_equal(gh_risk_peek(&f->x, GH_RJ_EMAIL_CODE_REQUEST, &s), GH_RO_ALLOW);
    /* one address asking for many addresses' codes: noticed, then refused */
    for (int i = 0; i < 20; i++)
        event(f, "signin.email_code_not_sent", NULL, "198.51.100.7");
    assert_int_equal(gh_risk_attempt_signals(&f->x, f->c, &a, &s), GH_DB_OK);
    assert_int_equal(s.v[GH_RS_IP_ATTEMPTS], 20);
    assert_int_equal(gh_risk_peek(&f->x, GH_RJ_EMAIL_CODE_REQUEST, &s), GH_RO_NOTIFY);
    s.v[GH_RS_IP_ATTEMPTS] = 100;
    assert_int_equal(gh_risk_peek(&f->x, GH_RJ_EMAIL_CODE_REQUEST, &s), GH_RO_DENY);
    s.v[GH_RS_IP_ATTEMPTS] = 0;
    s.v[GH_RS_NETWORK_ATTEMPTS] = 300;
    assert_int_equal(gh_risk_peek(&f->x, GH_RJ_EMAIL_CODE_REQUEST, &s), GH_RO_DENY);
}

/* The code grant: a public client's code redeemed from another network
 * than its /authorize request's counts as new; a confidential client's
 * never does (its server redeems from its own network), so others'
 * failures cannot make its codes refused. */
static void the_code_grant_compares_only_a_public_clients_network(void **state)
{
    struct fixture *f = *state;
    gh_risk_verdict v;
    f->x.now = gh_now_ms();
    const char *issued = gh_risk_token_network(&f->x, "code-hash-1");
    for (int i = 0; i < 50; i++)
        gh_risk_token_failed("code-client", f->x.now);
    f->x.client_ip = "203.0.113.5";
    gh_risk_token_facts t = {.user_id = f->alice,
                             .client_id = "code-client",
                             .family_id = "code-hash-1",
                             .network = issued,
                             .code_grant = true,
                             .public_client = false};
    assert_int_equal(gh_risk_token(&f->x, f->c, &t, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_NOTIFY); /* the failures alone */
    t.public_client = true;
    assert_int_equal(gh_risk_token(&f->x, f->c, &t, &v), GH_DB_OK);
    assert_int_equal(v.outcome, GH_RO_DENY);
    assert_string_equal(v.reason, "token_abuse");
    json_t *d = NULL;
    assert_int_equal(gh_risk_explain(&f->x, f->c, v.id, &d), GH_DB_OK);
    json_t *sig = json_object_get(d, "signals");
    assert_int_equal(json_integer_value(json_object_get(sig, "code_grant")), 1);
    assert_int_equal(json_integer_value(json_object_get(sig, "public_client")), 1);
    json_decref(d);
}

static void great_circle_distances(void **state)
{
    (void)state;
    /* Berlin to New York is 6,385 km; Berlin to Potsdam 27 km */
    double far = gh_geoip_distance_km(52.52, 13.405, 40.713, -74.006);
    assert_true(far > 6370 && far < 6400);
    double near = gh_geoip_distance_km(52.52, 13.405, 52.39, 13.065);
    assert_true(near > 25 && near < 30);
    assert_true(gh_geoip_distance_km(10, 20, 10, 20) < 1e-9);
    /* antipodes: half the circumference */
    double half = gh_geoip_distance_km(0, 0, 0, 180);
    assert_true(half > 20010 && half < 20020);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(velocity_counts_addresses_accounts_and_networks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_account_keeps_its_latest_twenty_networks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_shift_is_seen_by_comparison, setup, teardown),
        cmocka_unit_test_setup_teardown(deletion_keeps_decisions_under_the_pseudonym, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journeys_count_their_own_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(the_token_journey_writes_only_what_fired, setup, teardown),
        cmocka_unit_test_setup_teardown(failures_across_a_window_start_count_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(passwordless_signins_have_their_own_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(code_requests_count_every_request, setup, teardown),
        cmocka_unit_test_setup_teardown(the_code_grant_compares_only_a_public_clients_network,
                                        setup, teardown),
        cmocka_unit_test(great_circle_distances),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
