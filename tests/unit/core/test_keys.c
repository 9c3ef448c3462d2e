/* Unit tests for gh_keys over a real SQLite store: key generation and
 * storage, JWS sign/verify with ES256 and RS256, everything verification
 * must refuse, rotation and expiry, the JWK Set, at_hash/c_hash, and
 * verification against a client's JWK Set (private_key_jwt).
 * With GATEHOUSE_TEST_DATABASE_URL set (a PostgreSQL URL, as scripts/pg.sh
 * prints), the same tests run on PostgreSQL instead: each test gets a fresh
 * database on that cluster.
 * With GH_KEYS_BENCH=1 it also prints signatures and verifications per
 * second for each algorithm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjose/cjose.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_db.h"
#include "gh_jose.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_mkey.h"
#include "gh_store_users.h"

#include "testdb.h"

struct fixture {
    test_db t; /* the fresh database (testdb.h) */
    gh_db *db;
    gh_arena *a;
    gh_config cfg;
    gh_app app;
};

static int teardown(void **state);

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256] = "";
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-keys", 4);
    if (!f->db)
        goto fail;
    f->a = gh_arena_new(0);
    /* both keys of the default tenant made (RSA generation is too slow for
     * start-up: the refresh thread makes that one) */
    if (test_db_keys_ready(&f->cfg, &f->app, f->db, err, sizeof(err)) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "test_keys: setup: %s\n", err);
    teardown(state);
    *state = NULL;
    return -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    gh_keys_shutdown();
    gh_db_close(f->db);
    gh_arena_free(f->a);
    test_db_drop(&f->t);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static char *b64url(gh_arena *a, const char *s)
{
    return gh_b64url(a, (const uint8_t *)s, strlen(s));
}

/* The decoded header (or payload: seg 1) of a compact JWS. */
static json_t *segment_json(const char *jws, int seg)
{
    const char *start = jws;
    for (int i = 0; i < seg; i++)
        start = strchr(start, '.') + 1;
    size_t n = strcspn(start, ".");
    unsigned char buf[8192];
    size_t out = 0;
    if (sodium_base642bin(buf, sizeof(buf), start, n, NULL, &out, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    return json_loadb((const char *)buf, out, 0, NULL);
}

/* The active kid of alg, as the JWK Set and the header of a new token say. */
static const char *active_kid(gh_arena *a, const char *alg)
{
    json_t *p = json_pack("{s:s}", "sub", "x");
    char *t = gh_keys_sign(a, alg, NULL, p);
    json_decref(p);
    if (!t)
        return NULL;
    json_t *h = segment_json(t, 0);
    char *kid = gh_arena_strdup(a, json_string_value(json_object_get(h, "kid")));
    json_decref(h);
    return kid;
}

static bool jwks_has(const char *kid)
{
    json_t *set = gh_keys_jwks();
    size_t i;
    json_t *k;
    bool found = false;
    json_array_foreach(json_object_get(set, "keys"), i, k)
    {
        if (strcmp(json_string_value(json_object_get(k, "kid")), kid) == 0)
            found = true;
    }
    json_decref(set);
    return found;
}

static size_t jwks_count(void)
{
    json_t *set = gh_keys_jwks();
    size_t n = json_array_size(json_object_get(set, "keys"));
    json_decref(set);
    return n;
}

/* A compact JWS signed by a cjose key with the given header. */
static char *sign_with(gh_arena *a, cjose_jwk_t *jwk, json_t *hdr, const char *payload)
{
    cjose_err ce;
    cjose_jws_t *jws =
        cjose_jws_sign(jwk, (cjose_header_t *)hdr, (const uint8_t *)payload, strlen(payload), &ce);
    const char *ser = NULL;
    char *out = NULL;
    if (jws && cjose_jws_export(jws, &ser, &ce))
        out = gh_arena_strdup(a, ser);
    cjose_jws_release(jws);
    json_decref(hdr);
    return out;
}

static cjose_jwk_t *new_ec(void)
{
    cjose_err ce;
    return cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &ce);
}

static cjose_jwk_t *new_rsa(void)
{
    static const uint8_t e[] = {1, 0, 1};
    cjose_err ce;
    return cjose_jwk_create_RSA_random(2048, e, 3, &ce);
}

/* The public JWK of a cjose key as JSON, with kid. */
static json_t *public_jwk(cjose_jwk_t *jwk, const char *kid)
{
    cjose_err ce;
    char *s = cjose_jwk_to_json(jwk, false, &ce);
    json_t *o = json_loads(s, 0, NULL);
    free(s);
    if (kid)
        json_object_set_new(o, "kid", json_string(kid));
    return o;
}

/* ---- tests ---- */

static void keys_made_once_and_kept(void **state)
{
    struct fixture *f = *state;
    char err[256];
    gh_dbconn *c = gh_db_acquire(f->db);
    gh_keyrow *rows;
    size_t n;
    assert_int_equal(gh_store_keys_list(c, f->a, GH_DEFAULT_TENANT, 0, 0, &rows, &n), GH_DB_OK);
    gh_db_release(c);
    assert_int_equal(n, 2);
    int es = 0, rs = 0;
    for (size_t i = 0; i < n; i++) {
        es += strcmp(rows[i].alg, "ES256") == 0;
        rs += strcmp(rows[i].alg, "RS256") == 0;
        assert_int_equal(rows[i].retired_at, 0);
        assert_int_equal(rows[i].expires_at, 0);
        assert_int_equal(strlen(rows[i].kid), 43);
    }
    assert_int_equal(es, 1);
    assert_int_equal(rs, 1);
    const char *kid_es = active_kid(f->a, "ES256"), *kid_rs = active_kid(f->a, "RS256");

    /* A restart loads the same keys and makes none. */
    gh_keys_shutdown();
    assert_int_equal(gh_keys_init(&f->app, err, sizeof(err)), 0);
    assert_string_equal(active_kid(f->a, "ES256"), kid_es);
    assert_string_equal(active_kid(f->a, "RS256"), kid_rs);
    c = gh_db_acquire(f->db);
    assert_int_equal(gh_store_keys_list(c, f->a, GH_DEFAULT_TENANT, 0, 0, &rows, &n), GH_DB_OK);
    gh_db_release(c);
    assert_int_equal(n, 2);
}

static void sign_verify_round_trip(void **state)
{
    struct fixture *f = *state;
    const char *algs[] = {"ES256", "RS256"};
    for (int i = 0; i < 2; i++) {
        json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "iss", "http://localhost:8080", "sub",
                              "user-1", "exp", 2000000000, "name", "Zoë");
        char *t = gh_keys_sign(f->a, algs[i], "JWT", p);
        assert_non_null(t);
        json_t *h = segment_json(t, 0);
        assert_string_equal(json_string_value(json_object_get(h, "alg")), algs[i]);
        assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
        assert_true(jwks_has(json_string_value(json_object_get(h, "kid"))));
        json_decref(h);
        const char *why = NULL;
        json_t *got = gh_keys_verify(t, "JWT", &why);
        assert_non_null(got);
        assert_null(why);
        assert_true(json_equal(got, p));
        json_decref(got);
        /* typ NULL: no typ check; no typ in the header either. */
        got = gh_keys_verify(t, NULL, NULL);
        assert_non_null(got);
        json_decref(got);
        char *t2 = gh_keys_sign(f->a, algs[i], NULL, p);
        h = segment_json(t2, 0);
        assert_null(json_object_get(h, "typ"));
        assert_int_equal(json_object_size(h), 2);
        json_decref(h);
        got = gh_keys_verify(t2, NULL, NULL);
        assert_non_null(got);
        json_decref(got);
        json_decref(p);
    }
    /* Unknown alg or a payload that is not an object: no token. */
    json_t *p = json_pack("{s:s}", "sub", "x");
    assert_null(gh_keys_sign(f->a, "HS256", NULL, p));
    assert_null(gh_keys_sign(f->a, "none", NULL, p));
    json_decref(p);
    json_t *arr = json_array();
    assert_null(gh_keys_sign(f->a, "ES256", NULL, arr));
    json_decref(arr);
}

static void tampering_refused(void **state)
{
    struct fixture *f = *state;
    const char *algs[] = {"ES256", "RS256"};
    for (int i = 0; i < 2; i++) {
        json_t *p = json_pack("{s:s, s:b}", "sub", "user-1", "admin", 0);
        char *t = gh_keys_sign(f->a, algs[i], "JWT", p);
        json_decref(p);
        const char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
        const char *why = NULL;

        /* Another payload under the same header and signature. */
        char *forged = gh_arena_printf(f->a, "%.*s.%s%s", (int)(d1 - t), t,
                                       b64url(f->a, "{\"sub\":\"user-1\",\"admin\":true}"), d2);
        assert_null(gh_keys_verify(forged, "JWT", &why));
        assert_string_equal(why, "bad signature");

        /* One bit of the signature flipped. */
        char *flipped = gh_arena_strdup(f->a, t);
        char *s = flipped + (d2 - t) + 5;
        *s = *s == 'A' ? 'B' : 'A';
        assert_null(gh_keys_verify(flipped, "JWT", &why));
        assert_string_equal(why, "bad signature");

        /* Signature cut short, or gone. */
        char *cut = gh_arena_strndup(f->a, t, strlen(t) - 4);
        assert_null(gh_keys_verify(cut, "JWT", &why));
        char *nosig = gh_arena_strndup(f->a, t, (size_t)(d2 - t) + 1);
        assert_null(gh_keys_verify(nosig, "JWT", &why));
        assert_string_equal(why, "no signature");

        /* Structure. */
        assert_null(gh_keys_verify("", NULL, &why));
        assert_null(gh_keys_verify("abc", NULL, &why));
        assert_null(gh_keys_verify("a.b.c.d", NULL, &why));
        assert_null(gh_keys_verify(gh_arena_printf(f->a, "%s=", t), NULL, &why));
        assert_null(gh_keys_verify(gh_arena_printf(f->a, " %s", t), NULL, &why));
        assert_null(gh_keys_verify(NULL, NULL, &why));
    }
    /* The header's alg switched to the other key's alg, same kid. */
    json_t *p = json_pack("{s:s}", "sub", "x");
    char *t = gh_keys_sign(f->a, "ES256", NULL, p);
    json_decref(p);
    json_t *h = segment_json(t, 0);
    json_object_set_new(h, "alg", json_string("RS256"));
    char *hs = json_dumps(h, JSON_COMPACT);
    char *switched = gh_arena_printf(f->a, "%s%s", b64url(f->a, hs), strchr(t, '.'));
    free(hs);
    json_decref(h);
    const char *why = NULL;
    assert_null(gh_keys_verify(switched, NULL, &why));
    assert_string_equal(why, "alg does not match the key");
}

static void alg_none_and_others_refused(void **state)
{
    struct fixture *f = *state;
    const char *kid = active_kid(f->a, "ES256");
    const char *payload = b64url(f->a, "{\"sub\":\"user-1\"}");
    const char *algs[] = {"none", "None", "NONE"};
    const char *why = NULL;
    for (int i = 0; i < 3; i++) {
        char *hdr = gh_arena_printf(f->a, "{\"alg\":\"%s\",\"kid\":\"%s\"}", algs[i], kid);
        char *t = gh_arena_printf(f->a, "%s.%s.", b64url(f->a, hdr), payload);
        assert_null(gh_keys_verify(t, NULL, &why));
        assert_string_equal(why, "alg none refused");
        t = gh_arena_printf(f->a, "%s.%s.AAAA", b64url(f->a, hdr), payload);
        assert_null(gh_keys_verify(t, NULL, &why));
        assert_string_equal(why, "alg none refused");
    }
    /* HS256 keyed with our public key (the classic confusion), and others. */
    const char *other[] = {"HS256", "PS256", "ES384", "RS512", "EdDSA"};
    for (int i = 0; i < 5; i++) {
        char *hdr = gh_arena_printf(f->a, "{\"alg\":\"%s\",\"kid\":\"%s\"}", other[i], kid);
        char *t = gh_arena_printf(f->a, "%s.%s.AAAA", b64url(f->a, hdr), payload);
        assert_null(gh_keys_verify(t, NULL, &why));
        assert_string_equal(why, "alg not allowed");
    }
    /* No alg, duplicate members, crit, a kid that is not a string. */
    const char *bad[] = {
        "{\"kid\":\"x\"}",
        "{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"x\"}",
        "{\"alg\":\"ES256\",\"kid\":\"x\",\"crit\":[\"exp\"],\"exp\":1}",
        "{\"alg\":\"ES256\",\"kid\":5}",
        "[\"alg\"]",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *t = gh_arena_printf(f->a, "%s.%s.AAAA", b64url(f->a, bad[i]), payload);
        assert_null(gh_keys_verify(t, NULL, &why));
        assert_non_null(why);
    }
    /* A token without kid is refused. */
    json_t *p = json_pack("{s:s}", "sub", "x");
    char *t = gh_keys_sign(f->a, "ES256", NULL, p);
    json_decref(p);
    char *nokid =
        gh_arena_printf(f->a, "%s%s", b64url(f->a, "{\"alg\":\"ES256\"}"), strchr(t, '.'));
    assert_null(gh_keys_verify(nokid, NULL, &why));
    assert_string_equal(why, "no kid");
}

static void foreign_key_refused(void **state)
{
    struct fixture *f = *state;
    const char *payload = "{\"sub\":\"user-1\"}";
    const char *why = NULL;
    cjose_jwk_t *ec = new_ec(), *rsa = new_rsa();
    /* Signed by a key of ours? No: by a stranger claiming our kid. */
    char *t = sign_with(f->a, ec,
                        json_pack("{s:s, s:s}", "alg", "ES256", "kid", active_kid(f->a, "ES256")),
                        payload);
    assert_null(gh_keys_verify(t, NULL, &why));
    assert_string_equal(why, "bad signature");
    t = sign_with(f->a, rsa,
                  json_pack("{s:s, s:s}", "alg", "RS256", "kid", active_kid(f->a, "RS256")),
                  payload);
    assert_null(gh_keys_verify(t, NULL, &why));
    assert_string_equal(why, "bad signature");
    /* A stranger with its own kid. */
    json_t *pub = public_jwk(ec, NULL);
    char *tp = gh_jose_thumbprint(f->a, pub);
    json_decref(pub);
    t = sign_with(f->a, ec, json_pack("{s:s, s:s}", "alg", "ES256", "kid", tp), payload);
    assert_null(gh_keys_verify(t, NULL, &why));
    assert_string_equal(why, "unknown kid");
    cjose_jwk_release(ec);
    cjose_jwk_release(rsa);
}

static void typ_checked(void **state)
{
    struct fixture *f = *state;
    json_t *p = json_pack("{s:s}", "sub", "x");
    char *at = gh_keys_sign(f->a, "ES256", "at+jwt", p);
    char *app = gh_keys_sign(f->a, "RS256", "application/at+jwt", p);
    char *jwt = gh_keys_sign(f->a, "ES256", "JWT", p);
    char *none = gh_keys_sign(f->a, "ES256", NULL, p);
    json_decref(p);
    const char *why = NULL;
    json_t *ok;
    assert_null(gh_keys_verify(at, "JWT", &why));
    assert_string_equal(why, "wrong typ");
    assert_null(gh_keys_verify(jwt, "at+jwt", &why));
    assert_string_equal(why, "wrong typ");
    assert_null(gh_keys_verify(none, "at+jwt", &why));
    assert_string_equal(why, "wrong typ");
    assert_null(gh_keys_verify(at, "logout+jwt", &why));
    ok = gh_keys_verify(at, "at+jwt", NULL);
    assert_non_null(ok);
    json_decref(ok);
    ok = gh_keys_verify(at, "AT+JWT", NULL);
    assert_non_null(ok);
    json_decref(ok);
    ok = gh_keys_verify(app, "at+jwt", NULL);
    assert_non_null(ok);
    json_decref(ok);
    ok = gh_keys_verify(jwt, "jwt", NULL);
    assert_non_null(ok);
    json_decref(ok);
}

/* gh_keys_verify remembers tokens that verified (by the hash of their text)
 * so a resource server's repeated introspection skips the signature; what
 * it returns must be the same as a full verification's, never shared with
 * another caller, and a key that expires or leaves takes its tokens along. */
static void verified_tokens_remembered_safely(void **state)
{
    struct fixture *f = *state;
    char err[256], es[64], rs[64];
    json_t *p = json_pack("{s:s, s:s, s:i}", "iss", "http://localhost:8080", "sub", "user-1", "exp",
                          2000000000);
    char *t = gh_keys_sign(f->a, "ES256", "at+jwt", p);
    assert_non_null(t);
    for (int i = 0; i < 3; i++) {
        json_t *got = gh_keys_verify(t, "at+jwt", NULL);
        assert_non_null(got);
        assert_true(json_equal(got, p));
        /* a caller changing its copy changes nobody else's */
        json_object_set_new(got, "sub", json_string("mallory"));
        json_object_set_new(got, "active", json_true());
        json_decref(got);
    }
    /* Checked for one typ, remembered for that typ only. */
    const char *why = NULL;
    assert_null(gh_keys_verify(t, "logout+jwt", &why));
    assert_string_equal(why, "wrong typ");
    /* One changed byte is another text: a full check, refused. */
    char *flipped = gh_arena_strdup(f->a, t);
    size_t n = strlen(flipped);
    flipped[n - 2] = flipped[n - 2] == 'A' ? 'B' : 'A';
    assert_null(gh_keys_verify(flipped, "at+jwt", &why));

    /* A token of a retired key that expires: refused once the key expires,
     * although it verified (and was remembered) before. The key lives 3 s:
     * the rotation makes new RSA and EC keys first, which on a loaded CI
     * machine has taken over 1.5 s. */
    const int64_t keep = 3000;
    assert_int_equal(gh_keys_rotate(f->db, f->cfg.master_key, keep, es, rs, err, sizeof(err)), 0);
    const int64_t rotated = gh_now_ms();
    assert_int_equal(gh_keys_reload(err, sizeof(err)), 0);
    json_t *got = gh_keys_verify(t, "at+jwt", NULL);
    assert_non_null(got);
    json_decref(got);
    int64_t wait_ms = rotated + keep + 100 - gh_now_ms();
    if (wait_ms > 0)
        usleep((useconds_t)wait_ms * 1000);
    assert_null(gh_keys_verify(t, "at+jwt", &why));
    assert_string_equal(why, "key expired");
    assert_int_equal(gh_keys_reload(err, sizeof(err)), 0);
    assert_null(gh_keys_verify(t, "at+jwt", &why));
    assert_string_equal(why, "unknown kid");
    json_decref(p);
}

static void rotation_and_expiry(void **state)
{
    struct fixture *f = *state;
    char err[256], es[64], rs[64];
    const char *old_es = active_kid(f->a, "ES256"), *old_rs = active_kid(f->a, "RS256");
    json_t *p = json_pack("{s:s}", "sub", "x");
    char *t_es = gh_keys_sign(f->a, "ES256", NULL, p);
    char *t_rs = gh_keys_sign(f->a, "RS256", NULL, p);

    /* The retired keys expire keep ms after the rotation's clock reading,
     * taken before it generates the new keys (RSA: slow under load), so the
     * window is generous and the wait below ends at a deadline measured from
     * the rotation's return. */
    const int64_t keep = 2500;
    assert_int_equal(gh_keys_rotate(f->db, f->cfg.master_key, keep, es, rs, err, sizeof(err)), 0);
    const int64_t rotated = gh_now_ms();
    /* Until this process re-reads, the old keys sign. */
    assert_string_equal(active_kid(f->a, "ES256"), old_es);
    assert_int_equal(gh_keys_reload(err, sizeof(err)), 0);
    assert_string_equal(active_kid(f->a, "ES256"), es);
    assert_string_equal(active_kid(f->a, "RS256"), rs);
    assert_string_not_equal(es, old_es);
    assert_int_equal(jwks_count(), 4);
    assert_true(jwks_has(old_es) && jwks_has(old_rs) && jwks_has(es) && jwks_has(rs));

    /* Tokens of the retired keys still verify... */
    json_t *got = gh_keys_verify(t_es, NULL, NULL);
    assert_non_null(got);
    json_decref(got);
    got = gh_keys_verify(t_rs, NULL, NULL);
    assert_non_null(got);
    json_decref(got);
    char *t_new = gh_keys_sign(f->a, "ES256", NULL, p);
    json_decref(p);

    /* ...until the keys expire; then they leave the JWK Set even before the
     * next re-read, and after it. */
    int64_t wait_ms = rotated + keep + 100 - gh_now_ms();
    if (wait_ms > 0)
        usleep((useconds_t)wait_ms * 1000);
    const char *why = NULL;
    assert_null(gh_keys_verify(t_es, NULL, &why));
    assert_string_equal(why, "key expired");
    assert_null(gh_keys_verify(t_rs, NULL, &why));
    assert_int_equal(jwks_count(), 2);
    assert_false(jwks_has(old_es));
    assert_int_equal(gh_keys_reload(err, sizeof(err)), 0);
    assert_null(gh_keys_verify(t_es, NULL, &why));
    assert_string_equal(why, "unknown kid");
    got = gh_keys_verify(t_new, NULL, NULL);
    assert_non_null(got);
    json_decref(got);

    /* The next rotation deletes the expired rows. */
    assert_int_equal(gh_keys_rotate(f->db, f->cfg.master_key, 60000, NULL, NULL, err, sizeof(err)),
                     0);
    gh_dbconn *c = gh_db_acquire(f->db);
    gh_keyrow *rows;
    size_t n;
    assert_int_equal(gh_store_keys_list(c, f->a, GH_DEFAULT_TENANT, 0, 0, &rows, &n), GH_DB_OK);
    gh_db_release(c);
    assert_int_equal(n, 4);
    int active = 0;
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(rows[i].kid, old_es);
        if (!rows[i].retired_at)
            active++;
        else
            assert_true(rows[i].expires_at > rows[i].retired_at);
    }
    assert_int_equal(active, 2);
}

/* A key made by another instance is found as soon as a token names it. */
static void unknown_kid_rereads(void **state)
{
    struct fixture *f = *state;
    char err[256], es[64];
    assert_int_equal(gh_keys_rotate(f->db, f->cfg.master_key, 60000, es, NULL, err, sizeof(err)),
                     0);
    /* Sign with the new key as the other instance would. */
    gh_dbconn *c = gh_db_acquire(f->db);
    gh_keyrow *rows;
    size_t n;
    assert_int_equal(gh_store_keys_list(c, f->a, GH_DEFAULT_TENANT, 1, gh_now_ms(), &rows, &n),
                     GH_DB_OK);
    gh_db_release(c);
    const gh_keyrow *k = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].kid, es) == 0)
            k = &rows[i];
    assert_non_null(k);
    char ad[128];
    snprintf(ad, sizeof(ad), "key:%s:%s", GH_DEFAULT_TENANT, es);
    size_t plen;
    uint8_t *plain = gh_mkey_open(f->a, f->cfg.master_key, ad, k->private_jwk, &plen);
    assert_non_null(plain);
    cjose_err ce;
    cjose_jwk_t *jwk = cjose_jwk_import((const char *)plain, plen, &ce);
    assert_non_null(jwk);
    char *t =
        sign_with(f->a, jwk, json_pack("{s:s, s:s}", "alg", "ES256", "kid", es), "{\"sub\":\"y\"}");
    cjose_jwk_release(jwk);
    sleep(1); /* an unknown kid re-reads the table at most once a second */
    const char *why = NULL;
    json_t *got = gh_keys_verify(t, NULL, &why);
    assert_non_null(got);
    json_decref(got);
    assert_string_equal(active_kid(f->a, "ES256"), es);
}

/* Issue 15 item 10: a token with an unknown kid never makes its thread (an
 * HTTP polling thread) wait: with every database connection taken, the
 * re-read is skipped at once instead of waiting 5 s for the pool. */
static double mono_s(void);

static void unknown_kid_never_waits(void **state)
{
    struct fixture *f = *state;
    cjose_jwk_t *ec = new_ec();
    char *t = sign_with(f->a, ec, json_pack("{s:s, s:s}", "alg", "ES256", "kid", "made-up-kid"),
                        "{\"sub\":\"x\"}");
    cjose_jwk_release(ec);
    gh_dbconn *held[4];
    for (int i = 0; i < 4; i++)
        assert_non_null(held[i] = gh_db_acquire(f->db));
    sleep(1); /* past the last re-read (start-up) */
    unsigned before = gh_keys_unknown_kid_reloads();
    const char *why = NULL;
    gh_log_set_level(GH_LOG_ERROR); /* "signing keys not refreshed" */
    double t0 = mono_s();
    assert_null(gh_keys_verify(t, NULL, &why));
    double took = mono_s() - t0;
    gh_log_set_level(GH_LOG_INFO);
    assert_string_equal(why, "unknown kid");
    assert_true(took < 1.0);
    assert_int_equal(gh_keys_unknown_kid_reloads(), before + 1);
    for (int i = 0; i < 4; i++)
        gh_db_release(held[i]);
}

/* A flood of tokens with made-up kids from several threads re-reads the
 * keys at most once a second, and only one thread re-reads. */
enum { FLOOD_THREADS = 4, FLOOD_TOKENS = 64, FLOOD_MS = 2500 };
static char *flood_tokens[FLOOD_THREADS][FLOOD_TOKENS];
static atomic_int flood_accepted;

static void *flood(void *arg)
{
    char **tokens = arg;
    double until = mono_s() + FLOOD_MS / 1000.0;
    while (mono_s() < until)
        for (int i = 0; i < FLOOD_TOKENS; i++) {
            json_t *got = gh_keys_verify(tokens[i], NULL, NULL);
            if (got)
                atomic_fetch_add(&flood_accepted, 1);
            json_decref(got);
        }
    return NULL;
}

static void unknown_kid_reloads_bounded(void **state)
{
    struct fixture *f = *state;
    cjose_jwk_t *ec = new_ec();
    for (int i = 0; i < FLOOD_THREADS; i++)
        for (int j = 0; j < FLOOD_TOKENS; j++) {
            char kid[40];
            snprintf(kid, sizeof(kid), "kid-%d-%d-%08x", i, j, randombytes_random());
            flood_tokens[i][j] = sign_with(
                f->a, ec, json_pack("{s:s, s:s}", "alg", "ES256", "kid", kid), "{\"sub\":\"x\"}");
            assert_non_null(flood_tokens[i][j]);
        }
    cjose_jwk_release(ec);
    atomic_store(&flood_accepted, 0);
    unsigned before = gh_keys_unknown_kid_reloads();
    double t0 = mono_s();
    pthread_t th[FLOOD_THREADS];
    gh_log_set_level(GH_LOG_WARN);
    for (int i = 0; i < FLOOD_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, flood, flood_tokens[i]), 0);
    for (int i = 0; i < FLOOD_THREADS; i++)
        pthread_join(th[i], NULL);
    gh_log_set_level(GH_LOG_INFO);
    double secs = mono_s() - t0;
    unsigned reloads = gh_keys_unknown_kid_reloads() - before;
    assert_int_equal(atomic_load(&flood_accepted), 0);
    assert_true(reloads >= 1);
    assert_true(reloads <= (unsigned)secs + 1);
}

static void jwks_public_only(void **state)
{
    struct fixture *f = *state;
    json_t *set = gh_keys_jwks();
    json_t *keys = json_object_get(set, "keys");
    assert_int_equal(json_array_size(keys), 2);
    size_t i;
    json_t *k;
    const char *priv[] = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"};
    json_array_foreach(keys, i, k)
    {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *alg = json_string_value(json_object_get(k, "alg"));
        assert_non_null(kty);
        assert_non_null(alg);
        assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
        const char *kid = json_string_value(json_object_get(k, "kid"));
        assert_non_null(kid);
        assert_string_equal(kid, gh_jose_thumbprint(f->a, k));
        for (size_t j = 0; j < sizeof(priv) / sizeof(priv[0]); j++)
            assert_null(json_object_get(k, priv[j]));
        if (strcmp(alg, "ES256") == 0) {
            assert_string_equal(kty, "EC");
            assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
            assert_int_equal(strlen(json_string_value(json_object_get(k, "x"))), 43);
            assert_int_equal(strlen(json_string_value(json_object_get(k, "y"))), 43);
            assert_int_equal(json_object_size(k), 7);
        } else {
            assert_string_equal(alg, "RS256");
            assert_string_equal(kty, "RSA");
            assert_string_equal(json_string_value(json_object_get(k, "e")), "AQAB");
            assert_int_equal(strlen(json_string_value(json_object_get(k, "n"))), 342);
            assert_int_equal(json_object_size(k), 6);
        }
    }
    json_decref(set);
}

/* RFC 7638 section 3.1 example. */
static void thumbprint_rfc7638(void **state)
{
    struct fixture *f = *state;
    json_t *k = json_pack(
        "{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
        "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
        "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
    assert_string_equal(gh_jose_thumbprint(f->a, k), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    json_decref(k);
    json_t *bad = json_pack("{s:s, s:s}", "kty", "oct", "k", "AAAA");
    assert_null(gh_jose_thumbprint(f->a, bad));
    json_decref(bad);
    bad = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", "a\"b", "y", "c");
    assert_null(gh_jose_thumbprint(f->a, bad));
    json_decref(bad);
}

/* Looks for needle in a file's bytes. */
static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    static char buf[8 << 20];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void private_keys_sealed(void **state)
{
    struct fixture *f = *state;
    gh_dbconn *c = gh_db_acquire(f->db);
    gh_keyrow *rows;
    size_t n;
    assert_int_equal(gh_store_keys_list(c, f->a, GH_DEFAULT_TENANT, 0, 0, &rows, &n), GH_DB_OK);
    gh_db_release(c);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        char ad[128];
        size_t plen;
        snprintf(ad, sizeof(ad), "key:%s:%s", GH_DEFAULT_TENANT, rows[i].kid);
        uint8_t *plain = gh_mkey_open(f->a, f->cfg.master_key, ad, rows[i].private_jwk, &plen);
        assert_non_null(plain);
        json_t *jwk = json_loadb((const char *)plain, plen, 0, NULL);
        const char *d = json_string_value(json_object_get(jwk, "d"));
        assert_non_null(d);
        assert_null(strstr(rows[i].private_jwk, d));
        assert_null(strstr(rows[i].public_jwk, d));
        assert_null(strstr(rows[i].private_jwk, "\"d\""));
        /* SQLite: not in the database file either (PostgreSQL keeps its files
         * in the cluster, out of this test's reach). */
        char p[160];
        const char *suffix[] = {"", "-wal"};
        for (int s = 0; !f->t.pgname[0] && s < 2; s++) {
            snprintf(p, sizeof(p), "%s%s", f->t.path, suffix[s]);
            assert_false(file_contains(p, d));
        }
        /* The seal is bound to the row: another kid's associated data fails. */
        snprintf(ad, sizeof(ad), "key:%s:%s", GH_DEFAULT_TENANT, rows[(i + 1) % n].kid);
        assert_null(gh_mkey_open(f->a, f->cfg.master_key, ad, rows[i].private_jwk, &plen));
        json_t *pub = json_loads(rows[i].public_jwk, 0, NULL);
        assert_null(json_object_get(pub, "d"));
        assert_string_equal(json_string_value(json_object_get(pub, "kid")), rows[i].kid);
        json_decref(pub);
        json_decref(jwk);
    }
}

static void wrong_master_key_refused(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    uint8_t other[GH_MASTER_KEY_BYTES];
    gh_random(other, sizeof(other));
    assert_int_equal(gh_keys_rotate(f->db, other, 1000, NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot be decrypted"));
    gh_keys_shutdown();
    gh_config cfg = f->cfg;
    memcpy(cfg.master_key, other, sizeof(other));
    gh_app app = {.cfg = &cfg, .db = f->db};
    err[0] = '\0';
    assert_int_equal(gh_keys_init(&app, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot be decrypted"));
    /* Nothing was added: the right key still starts. */
    assert_int_equal(gh_keys_init(&f->app, err, sizeof(err)), 0);
    assert_int_equal(jwks_count(), 2);
}

static void half_hash(void **state)
{
    struct fixture *f = *state;
    /* OpenID Connect Core A.4: the c_hash of its example code. */
    assert_string_equal(
        gh_keys_half_hash(f->a, "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"),
        "LDktKdoQak3Pk0cnXxCltA");
    /* And against OpenSSL's SHA-256, base64 turned base64url by hand. */
    const char *values[] = {"jHkWEdUXMU1BwAsC4vtUsZwnNNmHkNp1ZS1Q6Tt1gvA", "", "a",
                            "token-\xc3\xa9"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        unsigned char md[32];
        unsigned int mdlen = 0;
        assert_int_equal(EVP_Digest(values[i], strlen(values[i]), md, &mdlen, EVP_sha256(), NULL),
                         1);
        unsigned char b64[64];
        int n = EVP_EncodeBlock(b64, md, 16);
        while (n > 0 && b64[n - 1] == '=')
            n--;
        b64[n] = '\0';
        for (int j = 0; j < n; j++)
            b64[j] = b64[j] == '+' ? '-' : b64[j] == '/' ? '_' : b64[j];
        char *got = gh_keys_half_hash(f->a, values[i]);
        assert_int_equal(strlen(got), 22);
        assert_string_equal(got, (char *)b64);
    }
}

static void client_jwks(void **state)
{
    struct fixture *f = *state;
    cjose_jwk_t *ec = new_ec(), *rsa = new_rsa(), *stranger = new_ec();
    json_t *set = json_pack("{s:[o, o]}", "keys", public_jwk(ec, "ec-1"), public_jwk(rsa, "rsa-1"));
    const char *payload = "{\"iss\":\"client\",\"sub\":\"client\",\"aud\":\"http://x/token\"}";
    const char *why = NULL;
    json_t *got;

    char *t = sign_with(f->a, ec, json_pack("{s:s, s:s}", "alg", "ES256", "kid", "ec-1"), payload);
    got = gh_jose_verify_with_jwks(t, set, &why);
    assert_non_null(got);
    assert_string_equal(json_string_value(json_object_get(got, "iss")), "client");
    json_decref(got);
    t = sign_with(f->a, rsa, json_pack("{s:s, s:s}", "alg", "RS256", "kid", "rsa-1"), payload);
    got = gh_jose_verify_with_jwks(t, set, &why);
    assert_non_null(got);
    json_decref(got);
    t = sign_with(f->a, rsa, json_pack("{s:s, s:s}", "alg", "PS256", "kid", "rsa-1"), payload);
    got = gh_jose_verify_with_jwks(t, set, &why);
    assert_non_null(got);
    json_decref(got);

    /* No kid: the one key of the right type. */
    t = sign_with(f->a, ec, json_pack("{s:s}", "alg", "ES256"), payload);
    got = gh_jose_verify_with_jwks(t, set, &why);
    assert_non_null(got);
    json_decref(got);
    t = sign_with(f->a, rsa, json_pack("{s:s}", "alg", "RS256"), payload);
    got = gh_jose_verify_with_jwks(t, set, &why);
    assert_non_null(got);
    json_decref(got);

    /* Refused: unknown kid, the wrong key's kid, a stranger's signature,
     * alg none, HS256, a key type that does not fit. */
    t = sign_with(f->a, ec, json_pack("{s:s, s:s}", "alg", "ES256", "kid", "nope"), payload);
    assert_null(gh_jose_verify_with_jwks(t, set, &why));
    assert_string_equal(why, "unknown kid");
    t = sign_with(f->a, ec, json_pack("{s:s, s:s}", "alg", "ES256", "kid", "rsa-1"), payload);
    assert_null(gh_jose_verify_with_jwks(t, set, &why));
    assert_string_equal(why, "no suitable key");
    t = sign_with(f->a, stranger, json_pack("{s:s, s:s}", "alg", "ES256", "kid", "ec-1"), payload);
    assert_null(gh_jose_verify_with_jwks(t, set, &why));
    assert_string_equal(why, "bad signature");
    char *none = gh_arena_printf(
        f->a, "%s.%s.", b64url(f->a, "{\"alg\":\"none\",\"kid\":\"ec-1\"}"), b64url(f->a, payload));
    assert_null(gh_jose_verify_with_jwks(none, set, &why));
    assert_string_equal(why, "alg none refused");
    char *hs =
        gh_arena_printf(f->a, "%s.%s.AAAA", b64url(f->a, "{\"alg\":\"HS256\",\"kid\":\"ec-1\"}"),
                        b64url(f->a, payload));
    assert_null(gh_jose_verify_with_jwks(hs, set, &why));
    assert_string_equal(why, "alg not allowed");
    char *tampered = gh_arena_strdup(
        f->a, sign_with(f->a, ec, json_pack("{s:s, s:s}", "alg", "ES256", "kid", "ec-1"), payload));
    char *dot = strchr(tampered, '.') + 3;
    *dot = *dot == 'x' ? 'y' : 'x';
    assert_null(gh_jose_verify_with_jwks(tampered, set, &why));

    /* Two EC keys and no kid: ambiguous. */
    json_array_append_new(json_object_get(set, "keys"), public_jwk(stranger, "ec-2"));
    t = sign_with(f->a, ec, json_pack("{s:s}", "alg", "ES256"), payload);
    assert_null(gh_jose_verify_with_jwks(t, set, &why));
    assert_string_equal(why, "several keys fit: kid needed");

    /* A key's own alg and use bind it. */
    json_t *only = json_pack("{s:[o]}", "keys", public_jwk(rsa, "rsa-1"));
    json_t *k0 = json_array_get(json_object_get(only, "keys"), 0);
    json_object_set_new(k0, "alg", json_string("RS256"));
    t = sign_with(f->a, rsa, json_pack("{s:s, s:s}", "alg", "PS256", "kid", "rsa-1"), payload);
    assert_null(gh_jose_verify_with_jwks(t, only, &why));
    json_object_del(k0, "alg");
    json_object_set_new(k0, "use", json_string("enc"));
    assert_null(gh_jose_verify_with_jwks(t, only, &why));
    json_object_set_new(k0, "use", json_string("sig"));
    got = gh_jose_verify_with_jwks(t, only, &why);
    assert_non_null(got);
    json_decref(got);
    /* Private members sent by mistake are ignored. */
    json_decref(only);
    cjose_err ce;
    char *privtext = cjose_jwk_to_json(rsa, true, &ce);
    only = json_pack("{s:[o]}", "keys", json_loads(privtext, 0, NULL));
    free(privtext);
    t = sign_with(f->a, rsa, json_pack("{s:s}", "alg", "RS256"), payload);
    got = gh_jose_verify_with_jwks(t, only, &why);
    assert_non_null(got);
    json_decref(got);
    json_decref(only);

    /* Not a JWK Set. */
    json_t *empty = json_object();
    assert_null(gh_jose_verify_with_jwks(t, empty, &why));
    assert_null(gh_jose_verify_with_jwks(t, NULL, &why));
    json_decref(empty);

    json_decref(set);
    cjose_jwk_release(ec);
    cjose_jwk_release(rsa);
    cjose_jwk_release(stranger);
}

/* Sign and verify from several threads while the keys are re-read. */
static atomic_int thread_failures;

static void *hammer(void *arg)
{
    (void)arg;
    gh_arena *a = gh_arena_new(0);
    for (int i = 0; i < 150; i++) {
        const char *alg = i % 5 == 0 ? "RS256" : "ES256";
        json_t *p = json_pack("{s:i}", "n", i);
        char *t = gh_keys_sign(a, alg, "JWT", p);
        json_t *got = t ? gh_keys_verify(t, "JWT", NULL) : NULL;
        if (!got || !json_equal(got, p))
            atomic_fetch_add(&thread_failures, 1);
        json_decref(got);
        json_decref(p);
        json_t *set = gh_keys_jwks();
        if (json_array_size(json_object_get(set, "keys")) < 2)
            atomic_fetch_add(&thread_failures, 1);
        json_decref(set);
    }
    gh_arena_free(a);
    return NULL;
}

static void concurrent_use(void **state)
{
    (void)state;
    pthread_t th[4];
    char err[256];
    atomic_store(&thread_failures, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < 30; i++) {
        assert_int_equal(gh_keys_reload(err, sizeof(err)), 0);
        usleep(2000);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&thread_failures), 0);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* GH_KEYS_BENCH=1: one thread's signatures and verifications per second. */
static void bench(void **state)
{
    struct fixture *f = *state;
    if (!getenv("GH_KEYS_BENCH")) {
        skip();
        return;
    }
    const char *algs[] = {"ES256", "RS256"};
    json_t *p = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "iss", "http://localhost:8080", "sub",
                          "5f0c1e2a-8d7b-4c4e-9b1a-2f6d3c9e7a10", "aud", "client-1", "iat",
                          1700000000, "exp", 1700003600, "nonce", "n-0S6_WzA2Mj");
    for (int i = 0; i < 2; i++) {
        gh_arena *a = gh_arena_new(0);
        char *t = NULL;
        int n = 0;
        double t0 = mono_s(), dt;
        while ((dt = mono_s() - t0) < 2.0) {
            t = gh_keys_sign(a, algs[i], "JWT", p);
            n++;
        }
        printf("bench %s sign   %8.0f/s\n", algs[i], n / dt);
        n = 0;
        t0 = mono_s();
        while ((dt = mono_s() - t0) < 2.0) {
            json_t *got = gh_keys_verify(t, "JWT", NULL);
            assert_non_null(got);
            json_decref(got);
            n++;
        }
        printf("bench %s verify %8.0f/s\n", algs[i], n / dt);
        gh_arena_free(a);
    }
    json_decref(p);
    (void)f;
}

int main(void)
{
    if (gh_crypto_init() != 0)
        return 1;
    gh_log_set_level(GH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(keys_made_once_and_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(sign_verify_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(tampering_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(alg_none_and_others_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(typ_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(verified_tokens_remembered_safely, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_kid_rereads, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_kid_never_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_kid_reloads_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(jwks_public_only, setup, teardown),
        cmocka_unit_test_setup_teardown(thumbprint_rfc7638, setup, teardown),
        cmocka_unit_test_setup_teardown(private_keys_sealed, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_master_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(half_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(client_jwks, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_use, setup, teardown),
        cmocka_unit_test_setup_teardown(bench, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
