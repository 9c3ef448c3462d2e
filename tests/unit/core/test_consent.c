/* Unit tests for the consent service and its store (gh_consent,
 * gh_store_consent) over a real database (testdb.h): purposes and
 * versioned documents, what is pending for a customer, records with their
 * evidence and audit events, the database refusing to change or remove a
 * record, and a purge keeping the records under the audit pseudonym
 * (docs/privacy.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gh_consent.h"
#include "gh_consent_rule.h"
#include "gh_crypto.h"
#include "gh_deletion.h"
#include "gh_store_consent.h"
#include "gh_store_users.h"

#include "testdb.h"

#define T "default"

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_config cfg;
    gh_ctx x;
    const char *alice;
};

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

static json_t *body(const char *text)
{
    return json_loads(text, 0, NULL);
}

/* terms (required, version 1) and marketing_email (optional, no document) */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-consent", 2);
    f->c = f->db ? gh_db_acquire(f->db) : NULL;
    memset(f->cfg.master_key, 7, sizeof(f->cfg.master_key));
    f->x = (gh_ctx){.tenant = T,
                    .arena = gh_arena_new(0),
                    .cfg = &f->cfg,
                    .now = 1800000000000,
                    .client_ip = "192.0.2.1",
                    .user_agent = "test-agent",
                    .db = f->c};
    if (!f->c || !f->x.arena)
        goto fail;
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_user u = {.tenant_id = T,
                 .id = gh_arena_strdup(f->x.arena, id),
                 .username = "alice@example.com",
                 .email = "alice@example.com",
                 .active = true,
                 .version = 1,
                 .created_at = 1000,
                 .updated_at = 1000};
    if (gh_store_user_insert(f->c, f->x.arena, &u) != GH_DB_OK)
        goto fail;
    f->alice = u.id;
    char why[256];
    json_t *out = NULL, *in = body("{\"key\":\"terms\",\"title\":\"Terms of service\","
                                   "\"required\":true}");
    gh_dbrc rc = gh_consent_purpose_add(&f->x, "admin", in, &out, why, sizeof(why));
    json_decref(in);
    json_decref(out);
    in = body("{\"key\":\"marketing_email\",\"title\":\"Marketing email\","
              "\"label\":\"Send me marketing email\"}");
    if (rc == GH_DB_OK)
        rc = gh_consent_purpose_add(&f->x, "admin", in, &out, why, sizeof(why));
    json_decref(in);
    json_decref(out);
    in = body("{\"version\":\"1\",\"url\":\"https://example.com/terms/1\",\"text\":\"Be nice.\","
              "\"effective_at\":\"2020-01-01\"}");
    if (rc == GH_DB_OK)
        rc = gh_consent_document_publish(&f->x, "admin", "terms", in, &out, why, sizeof(why));
    json_decref(in);
    json_decref(out);
    if (rc != GH_DB_OK)
        goto fail;
    return 0;
fail:
    teardown(state);
    *state = NULL;
    return -1;
}

/* One decision in its own transaction. */
static gh_dbrc record_act(struct fixture *f, const gh_consent_act *a, char *why)
{
    gh_dbrc rc = gh_db_begin(f->c);
    if (rc == GH_DB_OK)
        rc = gh_consent_record(&f->x, f->c, a, why, 256);
    return rc == GH_DB_OK ? gh_db_commit(f->c) : (gh_db_rollback(f->c), rc);
}

static gh_dbrc record(struct fixture *f, const char *purpose, const char *decision,
                      const char *actor, const char *reason, char *why)
{
    gh_consent_act a = {.user_id = f->alice,
                        .purpose = purpose,
                        .decision = decision,
                        .channel = actor && strcmp(actor, "admin") == 0 ? "admin" : "page",
                        .actor = actor ? actor : f->alice,
                        .reason = reason};
    return record_act(f, &a, why);
}

static bool pending(struct fixture *f)
{
    bool p = false;
    assert_int_equal(gh_consent_pending(&f->x, f->c, f->alice, &p), GH_DB_OK);
    return p;
}

static void the_document_hash_is_the_texts(void **state)
{
    struct fixture *f = *state;
    gh_dbrc rc;
    json_t *p = gh_consent_purpose(&f->x, "terms", &rc);
    assert_non_null(p);
    json_t *d = json_object_get(p, "document");
    uint8_t h[GH_SHA256_BYTES];
    char hex[2 * GH_SHA256_BYTES + 1];
    gh_sha256("Be nice.", 8, h);
    gh_hex(h, sizeof(h), hex);
    assert_string_equal(json_string_value(json_object_get(d, "sha256")), hex);
    assert_string_equal(json_string_value(json_object_get(p, "label")),
                        "I accept the Terms of service");
    json_decref(p);
}

static void bad_bodies_and_taken_names_are_refused(void **state)
{
    struct fixture *f = *state;
    char why[256];
    json_t *out = NULL;
    const char *bad[] = {
        "{\"key\":\"Terms\",\"title\":\"x\"}",
        "{\"key\":\"terms2\"}",
        "{\"key\":\"terms2\",\"title\":\"x\",\"required\":\"yes\"}",
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *in = body(bad[i]);
        assert_int_equal(gh_consent_purpose_add(&f->x, "admin", in, &out, why, sizeof(why)),
                         GH_DB_INVALID);
        json_decref(in);
    }
    json_t *in = body("{\"key\":\"terms\",\"title\":\"Again\"}");
    assert_int_equal(gh_consent_purpose_add(&f->x, "admin", in, &out, why, sizeof(why)),
                     GH_DB_CONFLICT);
    json_decref(in);
    in = body("{\"version\":\"1\",\"url\":\"https://example.com/t\",\"sha256\":\"" //
              "0000000000000000000000000000000000000000000000000000000000000000\"}");
    assert_int_equal(
        gh_consent_document_publish(&f->x, "admin", "terms", in, &out, why, sizeof(why)),
        GH_DB_CONFLICT);
    assert_int_equal(
        gh_consent_document_publish(&f->x, "admin", "nope", in, &out, why, sizeof(why)),
        GH_DB_NOTFOUND);
    json_decref(in);
    in = body("{\"version\":\"9\",\"url\":\"javascript:alert(1)\",\"text\":\"x\"}");
    assert_int_equal(
        gh_consent_document_publish(&f->x, "admin", "terms", in, &out, why, sizeof(why)),
        GH_DB_INVALID);
    json_decref(in);
    in = body("{\"version\":\"9\",\"url\":\"https://example.com/t\",\"text\":\"x\",\"sha256\":\"" //
              "0000000000000000000000000000000000000000000000000000000000000000\"}");
    assert_int_equal(
        gh_consent_document_publish(&f->x, "admin", "terms", in, &out, why, sizeof(why)),
        GH_DB_INVALID); /* the hash must be the text's */
    json_decref(in);
}

/* The re-ask: accepting v1 settles it; v2 makes it pending again; a
 * version dated in the future does not, until its date. */
static void a_new_version_makes_the_customer_pending(void **state)
{
    struct fixture *f = *state;
    char why[256];
    assert_true(pending(f));
    assert_int_equal(record(f, "terms", "granted", NULL, NULL, why), GH_DB_OK);
    assert_false(pending(f));
    json_t *out = NULL, *in = body("{\"version\":\"2\",\"url\":\"https://example.com/terms/2\","
                                   "\"text\":\"Be nicer.\",\"effective_at\":\"2030-01-01\"}");
    assert_int_equal(
        gh_consent_document_publish(&f->x, "admin", "terms", in, &out, why, sizeof(why)), GH_DB_OK);
    json_decref(in);
    json_decref(out);
    assert_false(pending(f)); /* 2030 has not come */
    f->x.now = gh_consent_date_parse("2030-01-01") + 1;
    assert_true(pending(f));
    assert_int_equal(record(f, "terms", "granted", NULL, NULL, why), GH_DB_OK);
    assert_false(pending(f));
    gh_consent_record_row *r;
    size_t n;
    assert_int_equal(gh_store_consent_records(f->c, f->x.arena, T, f->alice, &r, &n), GH_DB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].version, "1");
    assert_string_equal(r[1].version, "2");
    assert_string_equal(r[1].wording, "I accept the Terms of service");
    assert_string_equal(r[1].ip, "192.0.2.1");
    assert_string_equal(r[1].user_agent, "test-agent");
    assert_string_equal(r[1].channel, "page");
}

static void required_purposes_are_not_withdrawn_and_operators_give_reasons(void **state)
{
    struct fixture *f = *state;
    char why[256];
    assert_int_equal(record(f, "terms", "withdrawn", NULL, NULL, why), GH_DB_INVALID);
    assert_non_null(strstr(why, "deleting the account"));
    assert_int_equal(record(f, "marketing_email", "granted", "admin", NULL, why), GH_DB_INVALID);
    assert_int_equal(record(f, "marketing_email", "granted", "admin", "paper form 42", why),
                     GH_DB_OK);
    assert_int_equal(record(f, "marketing_email", "withdrawn", NULL, NULL, why), GH_DB_OK);
    assert_int_equal(record(f, "unknown", "granted", NULL, NULL, why), GH_DB_INVALID);
    assert_int_equal(record(f, "marketing_email", "maybe", NULL, NULL, why), GH_DB_INVALID);
    gh_dbrc rc;
    json_t *view = gh_consent_view(&f->x, f->c, f->alice, &rc);
    assert_non_null(view);
    json_t *h = json_object_get(view, "history");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "reason")),
                        "paper form 42");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "decision")),
                        "withdrawn");
    json_decref(view);
}

static void sign_up_decisions_are_checked_before_anything_is_written(void **state)
{
    struct fixture *f = *state;
    char why[256];
    json_t *none = NULL, *no = body("{\"terms\":false}"), *yes = body("{\"terms\":true}");
    json_t *odd = body("{\"terms\":true,\"elsewhere\":true}");
    assert_int_equal(gh_consent_signup_check(&f->x, f->c, none, why, sizeof(why)), GH_DB_INVALID);
    assert_int_equal(gh_consent_signup_check(&f->x, f->c, no, why, sizeof(why)), GH_DB_INVALID);
    assert_string_equal(why, "Accept the Terms of service to create an account.");
    assert_int_equal(gh_consent_signup_check(&f->x, f->c, odd, why, sizeof(why)), GH_DB_INVALID);
    assert_int_equal(gh_consent_signup_check(&f->x, f->c, yes, why, sizeof(why)), GH_DB_OK);
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_consent_signup_record(&f->x, f->c, f->alice, yes, "page"), GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    gh_consent_record_row *r;
    size_t n;
    assert_int_equal(gh_store_consent_records(f->c, f->x.arena, T, f->alice, &r, &n), GH_DB_OK);
    assert_int_equal(n, 2); /* marketing left unticked: declined; terms granted */
    assert_string_equal(r[0].purpose, "marketing_email");
    assert_string_equal(r[0].decision, "declined");
    assert_string_equal(r[1].purpose, "terms");
    assert_string_equal(r[1].decision, "granted");
    json_decref(no);
    json_decref(yes);
    json_decref(odd);
}

/* migration 15's triggers: no UPDATE (but the erasure) and no DELETE */
static void the_database_refuses_to_change_a_record(void **state)
{
    struct fixture *f = *state;
    char why[256];
    assert_int_equal(record(f, "terms", "granted", NULL, NULL, why), GH_DB_OK);
    gh_dbparam p[] = {GH_TEXT(f->alice)};
    assert_int_not_equal(gh_db_exec_built(f->c, f->x.arena,
                                          "UPDATE consent_records SET decision = 'declined' "
                                          "WHERE user_id = $1",
                                          p, 1, NULL),
                         GH_DB_OK);
    assert_int_not_equal(gh_db_exec_built(f->c, f->x.arena,
                                          "UPDATE consent_records SET wording = 'other' "
                                          "WHERE user_id = $1",
                                          p, 1, NULL),
                         GH_DB_OK);
    assert_int_not_equal(gh_db_exec_built(f->c, f->x.arena,
                                          "DELETE FROM consent_records WHERE user_id = $1", p, 1,
                                          NULL),
                         GH_DB_OK);
    assert_int_not_equal(gh_db_exec_built(f->c, f->x.arena,
                                          "UPDATE consent_records SET user_id = 'someone-else' "
                                          "WHERE user_id = $1",
                                          p, 1, NULL),
                         GH_DB_OK);
    gh_consent_record_row *r;
    size_t n;
    assert_int_equal(gh_store_consent_records(f->c, f->x.arena, T, f->alice, &r, &n), GH_DB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].decision, "granted");
}

static void a_purge_keeps_the_records_under_the_pseudonym(void **state)
{
    struct fixture *f = *state;
    char why[256], pseud[GH_DELETION_PSEUDONYM_LEN + 1];
    assert_int_equal(record(f, "terms", "granted", NULL, NULL, why), GH_DB_OK);
    assert_int_equal(record(f, "marketing_email", "granted", NULL, NULL, why), GH_DB_OK);
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_deletion_purge(&f->x, f->c, f->alice, "admin", "scim.user.deleted", NULL),
                     GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    gh_deletion_pseudonym(&f->cfg, T, f->alice, pseud);
    gh_consent_record_row *r;
    size_t n;
    assert_int_equal(gh_store_consent_records(f->c, f->x.arena, T, f->alice, &r, &n), GH_DB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gh_store_consent_records(f->c, f->x.arena, T, pseud, &r, &n), GH_DB_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r[i].actor, pseud);
        assert_null(r[i].ip);
        assert_null(r[i].user_agent);
        assert_non_null(r[i].sha256 ? r[i].sha256 : "optional: no document");
    }
    assert_string_equal(r[0].version, "1");
}

/* Issue 20 item 4: an application's decision keeps its client id, which
 * the database then refuses to change like any other field (also inside
 * the one update it allows, the erasure of address and user agent). */
static void an_application_record_keeps_its_client_fixed(void **state)
{
    struct fixture *f = *state;
    char why[256];
    gh_consent_act a = {.user_id = f->alice,
                        .purpose = "marketing_email",
                        .decision = "granted",
                        .channel = "api",
                        .actor = f->alice,
                        .client_id = "shop-app"};
    assert_int_equal(record_act(f, &a, why), GH_DB_OK);
    gh_dbparam p[] = {GH_TEXT(f->alice)};
    assert_int_not_equal(gh_db_exec_built(f->c, f->x.arena,
                                          "UPDATE consent_records SET client_id = 'other-app', "
                                          "ip = NULL, user_agent = NULL WHERE user_id = $1",
                                          p, 1, NULL),
                         GH_DB_OK);
    gh_consent_record_row *r;
    size_t n;
    assert_int_equal(gh_store_consent_records(f->c, f->x.arena, T, f->alice, &r, &n), GH_DB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].client_id, "shop-app");
    assert_string_equal(r[0].channel, "api");
}

/* The consents claim: granted only while valid now, decision none for an
 * undecided optional purpose, a required purpose's newer version unaccepted
 * is not granted; the decision's time in seconds. */
static void the_claim_says_what_is_granted_now(void **state)
{
    struct fixture *f = *state;
    char why[256];
    gh_dbrc rc;
    json_t *o = gh_consent_claim(&f->x, f->c, f->alice, &rc);
    assert_non_null(o);
    json_t *m = json_object_get(o, "marketing_email");
    assert_false(json_is_true(json_object_get(m, "granted")));
    assert_string_equal(json_string_value(json_object_get(m, "decision")), "none");
    assert_true(json_is_null(json_object_get(m, "at")));
    json_decref(o);
    assert_int_equal(record(f, "terms", "granted", NULL, NULL, why), GH_DB_OK);
    o = gh_consent_claim(&f->x, f->c, f->alice, &rc);
    json_t *t = json_object_get(o, "terms");
    assert_true(json_is_true(json_object_get(t, "granted")));
    assert_true(json_is_true(json_object_get(t, "required")));
    assert_string_equal(json_string_value(json_object_get(t, "version")), "1");
    assert_int_equal(json_integer_value(json_object_get(t, "at")), f->x.now / 1000);
    json_decref(o);
    json_t *out = NULL, *in = body("{\"version\":\"2\",\"url\":\"https://example.com/terms/2\","
                                   "\"text\":\"Be kind.\",\"effective_at\":\"2020-01-02\"}");
    assert_int_equal(
        gh_consent_document_publish(&f->x, "admin", "terms", in, &out, why, sizeof(why)), GH_DB_OK);
    json_decref(in);
    json_decref(out);
    o = gh_consent_claim(&f->x, f->c, f->alice, &rc);
    t = json_object_get(o, "terms");
    assert_false(json_is_true(json_object_get(t, "granted")));
    assert_string_equal(json_string_value(json_object_get(t, "decision")), "granted");
    json_decref(o);
}

/* What an authorization request may ask about: optional purposes only;
 * undecided until the customer decides one way or the other. */
static void only_optional_purposes_are_asked(void **state)
{
    struct fixture *f = *state;
    char why[256];
    bool undecided = false;
    json_t *view = NULL;
    assert_int_equal(gh_consent_asked(&f->x, f->c, f->alice, "terms", NULL, NULL, why, sizeof(why)),
                     GH_DB_INVALID);
    assert_non_null(strstr(why, "terms"));
    assert_int_equal(
        gh_consent_asked(&f->x, f->c, f->alice, "research", NULL, NULL, why, sizeof(why)),
        GH_DB_INVALID);
    assert_int_equal(gh_consent_asked(&f->x, f->c, f->alice, "marketing_email", &undecided, &view,
                                      why, sizeof(why)),
                     GH_DB_OK);
    assert_true(undecided);
    assert_int_equal(json_array_size(view), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(view, 0), "label")),
                        "Send me marketing email");
    json_decref(view);
    assert_int_equal(record(f, "marketing_email", "declined", NULL, NULL, why), GH_DB_OK);
    assert_int_equal(gh_consent_asked(&f->x, f->c, f->alice, "marketing_email", &undecided, NULL,
                                      why, sizeof(why)),
                     GH_DB_OK);
    assert_false(undecided);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_document_hash_is_the_texts, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_bodies_and_taken_names_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_version_makes_the_customer_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(
            required_purposes_are_not_withdrawn_and_operators_give_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(sign_up_decisions_are_checked_before_anything_is_written,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_database_refuses_to_change_a_record, setup, teardown),
        cmocka_unit_test_setup_teardown(a_purge_keeps_the_records_under_the_pseudonym, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_application_record_keeps_its_client_fixed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_claim_says_what_is_granted_now, setup, teardown),
        cmocka_unit_test_setup_teardown(only_optional_purposes_are_asked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
