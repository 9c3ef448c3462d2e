/* Unit tests for gh_clients: exact redirect matching, secrets stored as
 * hashes, and jti replay protection over a temporary SQLite store (metadata
 * validation is tests/unit/proto/test_client_meta.c, the Basic header and
 * assertion claims tests/unit/proto/test_client_cred.c). With
 * GATEHOUSE_TEST_DATABASE_URL set (a PostgreSQL URL, as scripts/pg.sh
 * prints), the store tests run on PostgreSQL instead: each test gets a fresh
 * database on that cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_clients.h"
#include "gh_crypto.h"
#include "gh_store_users.h"

#include "testdb.h"

#define RU   "\"redirect_uris\":[\"https://app.example/cb\"]"
#define NONE "\"token_endpoint_auth_method\":\"none\""
#define CC   "\"grant_types\":[\"client_credentials\"]"
#define ISS  "https://id.example"

static json_t *validate_text(const char *text)
{
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr);
    gh_client_error err;
    json_t *out = gh_client_metadata_validate(in, &err);
    json_decref(in);
    return out;
}

/* ---- the model ---- */

static gh_client client_with(const char *metadata_text)
{
    gh_client cl = {.id = "c1", .auth_method = "client_secret_basic", .id_token_alg = "ES256"};
    cl.metadata = validate_text(metadata_text);
    assert_non_null(cl.metadata);
    return cl;
}

static void redirect_exact_match(void **state)
{
    (void)state;
    gh_client cl = client_with("{\"redirect_uris\":[\"https://app.example/cb\","
                               "\"https://app.example/cb2?x=1\"],"
                               "\"post_logout_redirect_uris\":[\"https://app.example/bye\"],"
                               "\"backchannel_logout_uri\":\"https://app.example/bcl\"}");
    assert_true(gh_client_redirect_ok(&cl, "https://app.example/cb"));
    assert_true(gh_client_redirect_ok(&cl, "https://app.example/cb2?x=1"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb/"));    /* trailing slash */
    assert_false(gh_client_redirect_ok(&cl, "https://APP.example/cb"));     /* case */
    assert_false(gh_client_redirect_ok(&cl, "HTTPS://app.example/cb"));     /* case of scheme */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/CB"));     /* case of path */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb?x=1")); /* query added */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb2"));    /* query removed */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb2?x=2"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/c"));   /* prefix */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cbx")); /* extension */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example:443/cb"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb#x"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/%63b"));
    assert_false(gh_client_redirect_ok(&cl, ""));
    assert_false(gh_client_redirect_ok(&cl, NULL));
    assert_true(gh_client_post_logout_redirect_ok(&cl, "https://app.example/bye"));
    assert_false(gh_client_post_logout_redirect_ok(&cl, "https://app.example/bye/"));
    assert_false(gh_client_post_logout_redirect_ok(&cl, "https://app.example/cb"));
    assert_string_equal(gh_client_backchannel_logout_uri(&cl), "https://app.example/bcl");
    assert_true(gh_client_grant_ok(&cl, "authorization_code"));
    assert_false(gh_client_grant_ok(&cl, "client_credentials"));
    assert_false(gh_client_grant_ok(&cl, "refresh_token"));
    gh_client_release(&cl);
    assert_null(cl.metadata);
    gh_client_release(&cl); /* twice is fine */
    gh_client_release(NULL);

    gh_client cc = client_with("{" CC "}");
    assert_true(gh_client_grant_ok(&cc, "client_credentials"));
    assert_false(gh_client_grant_ok(&cc, "authorization_code"));
    assert_false(gh_client_redirect_ok(&cc, "https://app.example/cb"));
    assert_null(gh_client_backchannel_logout_uri(&cc));
    gh_client_release(&cc);
}
/* ---- the store: secrets as hashes, jti replay ---- */

struct fixture {
    test_db t; /* the fresh database (testdb.h) */
    gh_db *db;
    gh_dbconn *c;
    gh_arena *a;
};

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    if (f->c)
        gh_db_release(f->c);
    gh_db_close(f->db);
    gh_arena_free(f->a);
    test_db_drop(&f->t);
    free(f);
    *state = NULL;
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-clients", 2);
    if (!f->db)
        goto fail;
    f->c = gh_db_acquire(f->db);
    f->a = gh_arena_new(0);
    return 0;
fail:
    /* cmocka skips the teardown of a test whose setup failed. */
    teardown(state);
    return -1;
}

static const gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "test"};

static json_t *register_text(struct fixture *f, const char *text, bool first_party)
{
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr);
    gh_client_error err;
    json_t *resp = NULL;
    gh_dbrc rc =
        gh_clients_register(f->c, f->a, &who, "https://id.example/", in, first_party, &resp, &err);
    json_decref(in);
    if (rc != GH_DB_OK)
        fail_msg("register: %s %s", gh_dbrc_str(rc), rc == GH_DB_INVALID ? err.description : "");
    return resp;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void secrets_are_hashed(void **state)
{
    struct fixture *f = *state;
    json_t *resp = register_text(f, "{" RU ",\"client_name\":\"App\"}", false);
    const char *id = str(resp, "client_id");
    const char *secret = str(resp, "client_secret");
    const char *rat = str(resp, "registration_access_token");
    assert_non_null(id);
    assert_non_null(secret);
    assert_non_null(rat);
    assert_int_equal(strlen(secret), 43); /* 256 bits, base64url */
    assert_string_equal(str(resp, "registration_client_uri"),
                        gh_arena_printf(f->a, "https://id.example/register/%s", id));
    assert_int_equal(json_integer_value(json_object_get(resp, "client_secret_expires_at")), 0);
    assert_true(json_is_false(json_object_get(resp, "gatehouse_first_party")));

    gh_client cl;
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    char h[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(secret, h);
    assert_string_equal(cl.secret_hash, h);
    assert_true(gh_secret_equal(cl.secret_hash, h));
    assert_string_not_equal(cl.secret_hash, secret);
    char *stored = json_dumps(cl.metadata, 0);
    assert_null(strstr(stored, secret));
    assert_null(strstr(stored, rat));
    free(stored);
    assert_false(cl.is_public);
    assert_false(cl.first_party);
    assert_string_equal(cl.auth_method, "client_secret_basic");
    assert_string_equal(cl.id_token_alg, "ES256");
    assert_true(gh_client_registration_token_ok(&cl, rat));
    assert_false(gh_client_registration_token_ok(&cl, secret));
    assert_false(gh_client_registration_token_ok(&cl, ""));
    assert_false(gh_client_registration_token_ok(&cl, NULL));
    assert_false(gh_client_registration_token_ok(NULL, rat));

    /* the view shows no secret */
    json_t *v = gh_client_view(&cl, "https://id.example");
    assert_null(json_object_get(v, "client_secret"));
    assert_null(json_object_get(v, "registration_access_token"));
    assert_string_equal(str(v, "client_id"), id);
    json_decref(v);

    /* PUT: a wrong client_secret or client_id is refused; the right one kept */
    gh_client_error err;
    json_t *upd = NULL;
    json_t *body = json_pack("{s:[s], s:s}", "redirect_uris", "https://app.example/new",
                             "client_secret", "wrong");
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err),
                     GH_DB_INVALID);
    json_decref(body);
    body = json_pack("{s:[s], s:s}", "redirect_uris", "https://app.example/new", "client_id", "x");
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err),
                     GH_DB_INVALID);
    json_decref(body);
    body = json_pack("{s:[s], s:s, s:s}", "redirect_uris", "https://app.example/new",
                     "client_secret", secret, "client_id", id);
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err), GH_DB_OK);
    json_decref(body);
    assert_null(json_object_get(upd, "client_secret")); /* kept, not re-issued */
    json_decref(upd);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_string_equal(cl.secret_hash, h);
    assert_true(gh_client_redirect_ok(&cl, "https://app.example/new"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb"));

    /* to a public client: the secret goes; back: a new one is issued */
    body = json_pack("{s:[s], s:s}", "redirect_uris", "https://app.example/new",
                     "token_endpoint_auth_method", "none");
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err), GH_DB_OK);
    json_decref(body);
    json_decref(upd);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_null(cl.secret_hash);
    assert_true(cl.is_public);
    body = json_pack("{s:[s]}", "redirect_uris", "https://app.example/new");
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err), GH_DB_OK);
    json_decref(body);
    const char *secret2 = str(upd, "client_secret");
    assert_non_null(secret2);
    assert_string_not_equal(secret2, secret);
    gh_secret_hash(secret2, h);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_string_equal(cl.secret_hash, h);
    json_decref(upd);
    gh_client_release(&cl);
    json_decref(resp);
}

static void public_and_first_party(void **state)
{
    struct fixture *f = *state;
    json_t *resp = register_text(
        f, "{\"redirect_uris\":[\"com.example.app:/cb\"]," NONE ",\"client_name\":\"Native\"}",
        true);
    assert_null(json_object_get(resp, "client_secret"));
    assert_null(json_object_get(resp, "client_secret_expires_at"));
    assert_true(json_is_true(json_object_get(resp, "gatehouse_first_party")));
    const char *id = str(resp, "client_id");
    gh_client cl;
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_true(cl.is_public);
    assert_true(cl.first_party);
    assert_null(cl.secret_hash);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_set_first_party(f->c, f->a, &who, id, false), GH_DB_OK);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_false(cl.first_party);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_set_first_party(f->c, f->a, &who, "nope", true), GH_DB_NOTFOUND);

    json_t *two = register_text(f, "{" CC ",\"client_name\":\"Service\"}", false);
    gh_client *v;
    size_t n;
    assert_int_equal(gh_store_client_list(f->c, f->a, GH_DEFAULT_TENANT, &v, &n), GH_DB_OK);
    assert_int_equal(n, 2); /* in creation order; the same millisecond orders by id */
    bool first = strcmp(v[0].id, id) == 0;
    assert_string_equal(v[first ? 0 : 1].id, id);
    assert_string_equal(v[first ? 1 : 0].id, str(two, "client_id"));
    assert_true(v[0].created_at <= v[1].created_at);
    for (size_t i = 0; i < n; i++)
        gh_client_release(&v[i]);

    assert_int_equal(gh_clients_delete(f->c, f->a, &who, id), GH_DB_OK);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_NOTFOUND);
    assert_null(cl.metadata);
    assert_int_equal(gh_clients_delete(f->c, f->a, &who, id), GH_DB_NOTFOUND);

    /* invalid metadata writes nothing */
    gh_client_error err;
    json_t *bad = json_pack("{s:[s]}", "redirect_uris", "http://evil.example/cb");
    json_t *out = NULL;
    assert_int_equal(gh_clients_register(f->c, f->a, &who, ISS, bad, false, &out, &err),
                     GH_DB_INVALID);
    assert_string_equal(err.error, "invalid_redirect_uri");
    assert_null(out);
    json_decref(bad);
    assert_int_equal(gh_store_client_list(f->c, f->a, GH_DEFAULT_TENANT, &v, &n), GH_DB_OK);
    assert_int_equal(n, 1);
    gh_client_release(&v[0]);
    json_decref(two);
    json_decref(resp);
}

static void jti_replay(void **state)
{
    struct fixture *f = *state;
    const char *t = GH_DEFAULT_TENANT;
    long long now = 1800000000000LL;
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 60000, now), GH_DB_OK);
    /* the same jti again: a replay, however its exp is presented */
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 60000, now + 1),
                     GH_DB_CONFLICT);
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 90000, now + 59999),
                     GH_DB_CONFLICT);
    /* per client: another client may use the same value */
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c2", "j1", now + 60000, now), GH_DB_OK);
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j2", now + 60000, now), GH_DB_OK);
    /* once the assertion has expired its row is swept (it could not be
     * replayed anyway: its exp has passed) */
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 200000, now + 60000),
                     GH_DB_OK);
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 200000, now + 60001),
                     GH_DB_CONFLICT);
    /* deleting the client forgets its jtis */
    json_t *resp = register_text(f, "{" CC "}", false);
    const char *id = str(resp, "client_id");
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, id, "j9", now + 60000, now), GH_DB_OK);
    assert_int_equal(gh_clients_delete(f->c, f->a, &who, id), GH_DB_OK);
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, id, "j9", now + 60000, now), GH_DB_OK);
    json_decref(resp);
}

/* ---- the cache client authentication reads through ---- */

struct lender {
    gh_dbconn *c; /* what acquire hands out; NULL: the pool is exhausted */
    int taken;    /* how many times a connection was asked for */
};

static gh_dbconn *lend(void *owner)
{
    struct lender *l = owner;
    l->taken++;
    return l->c;
}

static gh_ctx ctx_of(struct fixture *f, struct lender *l)
{
    return (gh_ctx){.tenant = GH_DEFAULT_TENANT,
                    .arena = f->a,
                    .acquire = lend,
                    .owner = l,
                    .client_ip = "",
                    .user_agent = ""};
}

static void cached_lookup(void **state)
{
    struct fixture *f = *state;
    json_t *resp = register_text(f, "{" CC "}", false);
    const char *id = str(resp, "client_id");
    struct lender l = {.c = f->c};
    gh_ctx x = ctx_of(f, &l);
    gh_client cl;
    /* a miss reads the store through the lazily taken connection */
    assert_int_equal(gh_clients_get_cached(&x, id, &cl), GH_DB_OK);
    assert_int_equal(l.taken, 1);
    assert_string_equal(cl.id, id);
    assert_non_null(cl.secret_hash);
    gh_client_release(&cl);
    /* a hit takes no connection at all (commit a0c42fd) */
    assert_int_equal(gh_clients_get_cached(&x, id, &cl), GH_DB_OK);
    assert_int_equal(l.taken, 1);
    assert_true(gh_client_grant_ok(&cl, "client_credentials"));
    gh_client_release(&cl);
    /* another tenant is another key */
    x.tenant = "other";
    assert_int_equal(gh_clients_get_cached(&x, id, &cl), GH_DB_NOTFOUND);
    assert_int_equal(l.taken, 2);
    x.tenant = GH_DEFAULT_TENANT;
    /* a change drops the entry: the next look-up reads the store again */
    assert_int_equal(gh_clients_set_first_party(f->c, f->a, &who, id, true), GH_DB_OK);
    assert_int_equal(gh_clients_get_cached(&x, id, &cl), GH_DB_OK);
    assert_int_equal(l.taken, 3);
    assert_true(cl.first_party);
    gh_client_release(&cl);
    /* unknown clients are not cached; no connection: BUSY */
    assert_int_equal(gh_clients_get_cached(&x, "nope", &cl), GH_DB_NOTFOUND);
    assert_int_equal(gh_clients_get_cached(&x, "nope", &cl), GH_DB_NOTFOUND);
    assert_int_equal(l.taken, 5);
    l.c = NULL;
    assert_int_equal(gh_clients_get_cached(&x, "nope", &cl), GH_DB_BUSY);
    assert_null(cl.id);
    /* a deleted client is gone at once */
    l.c = f->c;
    assert_int_equal(gh_clients_delete(f->c, f->a, &who, id), GH_DB_OK);
    assert_int_equal(gh_clients_get_cached(&x, id, &cl), GH_DB_NOTFOUND);
    json_decref(resp);
}

int main(void)
{
    if (gh_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redirect_exact_match),
        cmocka_unit_test_setup_teardown(secrets_are_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(public_and_first_party, setup, teardown),
        cmocka_unit_test_setup_teardown(jti_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(cached_lookup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
