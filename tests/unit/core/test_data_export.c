/* Unit tests for the customer's data export (core/gh_data_export over
 * store/gh_store_data) on a real store (testdb.h), without HTTP: every
 * section holds the account's rows and only its own; no stored secret
 * (password hash, sealed TOTP seed, passkey key and id, code, session,
 * device and token hashes, sealed mail parameters, a waiting recovery's
 * cancel-link hash) reaches the document;
 * a section past GH_STORE_DATA_MAX_ROWS is cut and named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_crypto.h"
#include "gh_data_export.h"
#include "gh_store_data.h"
#include "gh_store_mail.h"
#include "gh_store_mfa.h"
#include "gh_store_oidc.h"
#include "gh_store_recovery.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"

#include "testdb.h"

#define T   GH_DEFAULT_TENANT
#define NOW 1700000000000LL

/* What the store holds for alice that must never be exported. */
static const char *const secrets[] = {
    "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$SECRETPWHASH",
    "SEALED-TOTP-SEED-0001",
    "PASSKEY-CREDENTIAL-ID-0001",
    "PASSKEY-PUBLIC-KEY-0001",
    "RECOVERY-CODE-HASH-0001",
    "RECOVERY-CODE-HASH-0002",
    "SESSION-TOKEN-HASH-0001",
    "DEVICE-COOKIE-HASH-0001",
    "SEALED-MAIL-PARAMS-0001",
    "RECOVERY-CANCEL-HASH-0001",
};

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_config cfg;
    gh_ctx x;
    const char *alice, *bob;
};

static int teardown(void **state);

static const char *add_user(struct fixture *f, const char *email)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_user u = {.tenant_id = T,
                 .id = gh_arena_strdup(f->x.arena, id),
                 .username = email,
                 .email = email,
                 .email_verified = true,
                 .active = true,
                 .given_name = "Ada",
                 .profile = "{\"locale\":\"de-CH\",\"zoneinfo\":\"Europe/Zurich\",\"shoe\":\"42\"}",
                 .version = 1,
                 .created_at = NOW - 86400000,
                 .updated_at = NOW - 3600000};
    return gh_store_user_insert(f->c, f->x.arena, &u) == GH_DB_OK ? u.id : NULL;
}

static gh_dbrc add_session(struct fixture *f, const char *user, const char *hash, const char *ip,
                           long long revoked)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_session s = {.tenant_id = T,
                    .id = gh_arena_strdup(f->x.arena, id),
                    .token_hash = hash,
                    .user_id = user,
                    .created_at = NOW - 1000,
                    .last_seen_at = NOW - 500,
                    .idle_expires_at = NOW + 1000000,
                    .expires_at = NOW + 2000000,
                    .auth_time = NOW - 1000,
                    .aal = 1,
                    .amr = "[\"pwd\"]",
                    .ip = ip,
                    .user_agent = "Firefox"};
    gh_dbrc rc = gh_store_session_insert(f->c, f->x.arena, &s);
    if (rc == GH_DB_OK && revoked)
        rc = gh_store_session_revoke(f->c, f->x.arena, T, s.id, revoked);
    return rc;
}

static gh_dbrc add_event(struct fixture *f, const char *user, const char *type, const char *ip)
{
    gh_audit_event ev = {.tenant_id = T,
                         .type = type,
                         .subject = user,
                         .actor = user,
                         .ip = ip,
                         .user_agent = "Firefox",
                         .outcome = "success"};
    return gh_audit_append(f->c, f->x.arena, &ev);
}

/* alice: a password, an authenticator app, a passkey, two recovery codes
 * (one used), a live and an ended session, a device, a consent, a mail, an
 * event. bob: a session, a mail and an event of his own. */
static gh_dbrc fill(struct fixture *f)
{
    const char *codes[] = {secrets[4], secrets[5]};
    gh_factor app = {.tenant_id = T,
                     .id = "f-app",
                     .user_id = f->alice,
                     .kind = "totp",
                     .name = "Phone",
                     .secret = secrets[1],
                     .confirmed = true,
                     .created_at = NOW - 5000};
    gh_factor key = {.tenant_id = T,
                     .id = "f-key",
                     .user_id = f->alice,
                     .kind = GH_FACTOR_PASSKEY,
                     .name = "Laptop",
                     .credential_id = secrets[2],
                     .public_key = secrets[3],
                     .alg = -7,
                     .flags = 0x08,
                     .aaguid = "adce0002-35bc-c60a-648b-0b25f1f05503",
                     .transports = "[\"internal\"]",
                     .attestation = "none",
                     .created_at = NOW - 4000,
                     .last_used_at = NOW - 100};
    gh_dbrc rc = gh_store_password_set(f->c, f->x.arena, T, f->alice, secrets[0]);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_insert(f->c, f->x.arena, &app);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_insert(f->c, f->x.arena, &key);
    if (rc == GH_DB_OK)
        rc = gh_store_recovery_replace(f->c, f->x.arena, T, f->alice, codes, 2, NOW - 3000);
    if (rc == GH_DB_OK)
        rc = gh_store_recovery_use(f->c, f->x.arena, T, f->alice, codes[0], NOW - 200);
    if (rc == GH_DB_OK)
        rc = add_session(f, f->alice, secrets[6], "192.0.2.7", 0);
    if (rc == GH_DB_OK)
        rc = add_session(f, f->alice, "SESSION-TOKEN-HASH-ENDED", "192.0.2.8", NOW - 10);
    if (rc == GH_DB_OK)
        rc = gh_store_device_seen(f->c, f->x.arena, T, f->alice, secrets[7], NOW - 900);
    if (rc == GH_DB_OK)
        rc = gh_store_consent_put(f->c, f->x.arena, T, f->alice, "client-1", "openid email",
                                  NOW - 800);
    if (rc == GH_DB_OK)
        rc = gh_store_mail_insert(f->c, f->x.arena, T, "m-1", "alice@example.com", "signin_code",
                                  secrets[8], NOW - 700, NOW - 700);
    if (rc == GH_DB_OK)
        rc = add_event(f, f->alice, "signin.succeeded", "192.0.2.7");
    gh_recovery_wait w = {.tenant_id = T,
                          .id = "w-1",
                          .user_id = f->alice,
                          .state = GH_WAIT_WAITING,
                          .started_at = NOW - 300,
                          .ends_at = NOW + 3600000,
                          .updated_at = NOW - 300,
                          .cancel_hash = secrets[9]};
    if (rc == GH_DB_OK)
        rc = gh_store_wait_insert(f->c, f->x.arena, &w);
    if (rc == GH_DB_OK)
        rc = add_session(f, f->bob, "BOB-SESSION-HASH", "198.51.100.9", 0);
    if (rc == GH_DB_OK)
        rc = gh_store_mail_insert(f->c, f->x.arena, T, "m-2", "bob@example.com", "verify_email",
                                  "BOB-SEALED", NOW - 600, NOW - 600);
    if (rc == GH_DB_OK)
        rc = add_event(f, f->bob, "bob.only.event", "198.51.100.9");
    return rc;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-dataexp", 2);
    f->c = f->db ? gh_db_acquire(f->db) : NULL;
    f->x = (gh_ctx){.tenant = T,
                    .arena = gh_arena_new(0),
                    .cfg = &f->cfg,
                    .now = NOW,
                    .client_ip = "192.0.2.1",
                    .user_agent = "test",
                    .db = f->c};
    if (!f->c || !f->x.arena)
        goto fail;
    f->alice = add_user(f, "alice@example.com");
    f->bob = add_user(f, "bob@example.com");
    if (!f->alice || !f->bob || fill(f) != GH_DB_OK)
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

static json_t *build(struct fixture *f, const char *user)
{
    json_t *doc = NULL;
    assert_int_equal(gh_data_export_build(&f->x, f->c, user, NULL, &doc), GH_DB_OK);
    assert_non_null(doc);
    return doc;
}

static json_t *at(json_t *doc, const char *a, const char *b)
{
    json_t *v = json_object_get(doc, a);
    return b ? json_object_get(v, b) : v;
}

static void test_sections(void **state)
{
    struct fixture *f = *state;
    json_t *doc = build(f, f->alice);
    assert_string_equal(json_string_value(at(doc, "format", NULL)), GH_DATA_EXPORT_FORMAT);
    assert_string_equal(json_string_value(at(doc, "exported_at", NULL)),
                        "2023-11-14T22:13:20.000Z");
    json_t *p = at(doc, "profile", NULL);
    assert_string_equal(json_string_value(json_object_get(p, "email")), "alice@example.com");
    assert_true(json_is_true(json_object_get(p, "email_verified")));
    assert_string_equal(json_string_value(json_object_get(p, "locale")), "de-CH");
    assert_string_equal(json_string_value(json_object_get(p, "zoneinfo")), "Europe/Zurich");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(p, "attributes"), "shoe")), "42");

    json_t *au = at(doc, "authentication", NULL);
    assert_true(json_is_true(json_object_get(json_object_get(au, "password"), "set")));
    json_t *app = json_array_get(json_object_get(au, "authenticator_apps"), 0);
    assert_string_equal(json_string_value(json_object_get(app, "name")), "Phone");
    assert_true(json_is_true(json_object_get(app, "confirmed")));
    json_t *key = json_array_get(json_object_get(au, "passkeys"), 0);
    assert_string_equal(json_string_value(json_object_get(key, "name")), "Laptop");
    assert_string_equal(json_string_value(json_object_get(key, "aaguid")),
                        "adce0002-35bc-c60a-648b-0b25f1f05503");
    assert_true(json_is_true(json_object_get(key, "backup_eligible")));
    assert_non_null(json_string_value(json_object_get(key, "last_used_at")));
    json_t *rc = json_object_get(au, "recovery_codes");
    assert_int_equal(json_integer_value(json_object_get(rc, "left")), 1);
    assert_int_equal(json_integer_value(json_object_get(rc, "issued")), 2);

    json_t *sessions = at(doc, "sessions", NULL);
    assert_int_equal(json_array_size(sessions), 2);
    size_t live = 0, i;
    json_t *s;
    json_array_foreach(sessions, i, s) live += json_is_true(json_object_get(s, "active"));
    assert_int_equal(live, 1);
    assert_int_equal(json_array_size(at(doc, "devices", NULL)), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(at(doc, "connected_apps", NULL), 0), "client_id")),
                        "client-1");
    json_t *mail = json_array_get(at(doc, "mails", NULL), 0);
    assert_string_equal(json_string_value(json_object_get(mail, "subject")), "Your sign-in code");
    assert_int_equal(json_array_size(at(doc, "mails", NULL)), 1);
    assert_int_equal(json_array_size(at(doc, "activity", NULL)), 1);
    assert_string_equal(json_string_value(at(doc, "pending_recovery", "state")), "waiting");
    assert_string_equal(json_string_value(at(doc, "pending_recovery", "ends_at")),
                        "2023-11-14T23:13:20.000Z");
    assert_int_equal(json_array_size(at(doc, "recovery_waits", NULL)), 1);
    assert_int_equal(json_array_size(at(doc, "truncated", NULL)), 0);
    json_decref(doc);
}

static void test_no_secret_no_stranger(void **state)
{
    struct fixture *f = *state;
    json_t *doc = build(f, f->alice);
    char *text = json_dumps(doc, 0);
    assert_non_null(text);
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (strstr(text, secrets[i]))
            fail_msg("a stored secret is in the export: %s", secrets[i]);
    assert_null(strstr(text, "$argon2"));
    assert_null(strstr(text, "SESSION-TOKEN-HASH"));
    assert_null(strstr(text, f->bob));
    assert_null(strstr(text, "bob"));
    assert_null(strstr(text, "198.51.100.9"));
    free(text);
    json_decref(doc);
}

static void test_unknown_user(void **state)
{
    struct fixture *f = *state;
    json_t *doc = NULL;
    assert_int_equal(gh_data_export_build(&f->x, f->c, "no-such-user", NULL, &doc), GH_DB_NOTFOUND);
    assert_null(doc);
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    for (int i = 0; i < GH_STORE_DATA_MAX_ROWS + 1; i++)
        add_event(f, f->alice, "filler", NULL);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    json_t *doc = build(f, f->alice);
    assert_int_equal(json_array_size(at(doc, "activity", NULL)), GH_STORE_DATA_MAX_ROWS);
    json_t *cut = at(doc, "truncated", NULL);
    assert_int_equal(json_array_size(cut), 1);
    assert_string_equal(json_string_value(json_array_get(cut, 0)), "activity");
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_secret_no_stranger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
