/* Unit tests for gh_audit_chain: the canonical form of an audit event, its
 * keyed digest of personal fields, and the check of each link (docs/audit.md,
 * SECURITY.md #47: the audit log holds the authentication events, and a
 * change to one is detected). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_audit_chain.h"
#include "gh_crypto.h"

static uint8_t key[GH_AUDIT_KEY_BYTES];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < GH_AUDIT_KEY_BYTES; i++)
        key[i] = (uint8_t)i;
    return gh_crypto_init();
}

/* Three events of one tenant, chained as gh_audit_append chains them; the
 * hex strings live in store. */
typedef struct chain {
    gh_audit_row r[3];
    char pii[3][GH_AUDIT_HEX + 1], hash[3][GH_AUDIT_HEX + 1];
} chain;

static void seal(chain *c, int i)
{
    gh_audit_pii_digest(key, &c->r[i], c->pii[i]);
    c->r[i].pii_digest = c->pii[i];
    gh_audit_row_hash(&c->r[i], c->hash[i]);
    c->r[i].hash = c->hash[i];
}

static void make_chain(chain *c)
{
    static const char *const ids[] = {"e1", "e2", "e3"};
    static const char *const types[] = {"signin.succeeded", "token.issued", "password.changed"};
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < 3; i++) {
        c->r[i] = (gh_audit_row){.seq = 10 + i,
                                 .tenant_id = "default",
                                 .n = i + 1,
                                 .prev_hash = i ? c->hash[i - 1] : GH_AUDIT_GENESIS,
                                 .id = ids[i],
                                 .time = 1765000000000 + i,
                                 .type = types[i],
                                 .subject = "u1",
                                 .actor = "u1",
                                 .ip = "127.0.0.1",
                                 .user_agent = "curl/8",
                                 .outcome = "success",
                                 .details = "{\"email\":\"ann@example.com\"}"};
        seal(c, i);
    }
}

/* The walk's answers for each row, in order; stops at the first failure. */
static gh_audit_check walk_all(chain *c, int *at)
{
    gh_audit_walk w;
    gh_audit_walk_start(&w);
    for (*at = 0; *at < 3; (*at)++) {
        if (c->r[*at].id == NULL)
            continue; /* a deleted row */
        gh_audit_check k = gh_audit_walk_step(&w, key, &c->r[*at]);
        if (k != GH_AUDIT_OK && k != GH_AUDIT_OK_ERASED)
            return k;
    }
    return GH_AUDIT_OK;
}

/* The documented canonical form, checked against digests computed apart
 * (Python hashlib/hmac over the same length-prefixed fields). */
static void canonical_form_vector(void **state)
{
    (void)state;
    gh_audit_row r = {.tenant_id = "default",
                      .n = 1,
                      .prev_hash = GH_AUDIT_GENESIS,
                      .id = "0b9c2c2e-0000-4000-8000-000000000001",
                      .time = 1765000000000,
                      .type = "signin.succeeded",
                      .subject = "u1",
                      .actor = "u1",
                      .ip = "127.0.0.1",
                      .user_agent = "curl/8",
                      .outcome = "success",
                      .reason = NULL,
                      .details = "{\"client_id\":\"app\"}"};
    char pii[GH_AUDIT_HEX + 1], hash[GH_AUDIT_HEX + 1];
    gh_audit_pii_digest(key, &r, pii);
    assert_string_equal(pii, "7c9911c2e37c935e7075d4c8def5996181d7dce53815b04d1784da676fc0b9a2");
    r.pii_digest = pii;
    gh_audit_row_hash(&r, hash);
    assert_string_equal(hash, "0dc73aed2fea54720906a4670373d50b193cf432a5592364c17803be75b54938");
    /* the seal MAC of the event as first written (before its position) */
    char mac[GH_AUDIT_HEX + 1];
    gh_audit_seal_mac(key, &r, mac);
    assert_string_equal(mac, "43c7a5bd70dfa66ceadb5c6a863f409ef0b33b36da292508a6f4a781f27b1c53");
    r.seal_mac = mac;
    assert_true(gh_audit_seal_ok(key, &r));
    /* each sealed field counts; a position does not (it comes later) */
    r.n = 7;
    assert_true(gh_audit_seal_ok(key, &r));
    r.type = "signin.failed";
    assert_false(gh_audit_seal_ok(key, &r));
    r.type = "signin.succeeded";
    r.time++;
    assert_false(gh_audit_seal_ok(key, &r));
    r.time--;
    r.pii_digest = GH_AUDIT_GENESIS;
    assert_false(gh_audit_seal_ok(key, &r));
    r.pii_digest = pii;
    r.seal_mac = NULL;
    assert_false(gh_audit_seal_ok(key, &r));
}

/* NULL and "" differ, and a field's bytes cannot slide into the next. */
static void fields_are_length_prefixed(void **state)
{
    (void)state;
    chain c;
    make_chain(&c);
    char h1[GH_AUDIT_HEX + 1], h2[GH_AUDIT_HEX + 1];
    c.r[0].reason = NULL;
    gh_audit_row_hash(&c.r[0], h1);
    c.r[0].reason = "";
    gh_audit_row_hash(&c.r[0], h2);
    assert_string_not_equal(h1, h2);
    gh_audit_row a = c.r[0], b = c.r[0];
    a.type = "ab";
    a.outcome = "c";
    b.type = "a";
    b.outcome = "bc";
    gh_audit_row_hash(&a, h1);
    gh_audit_row_hash(&b, h2);
    assert_string_not_equal(h1, h2);
}

/* The digest depends on the key: without it, a guessed address cannot be
 * tested against a stored digest. */
static void pii_digest_is_keyed(void **state)
{
    (void)state;
    chain c;
    make_chain(&c);
    uint8_t other[GH_AUDIT_KEY_BYTES] = {0};
    char d[GH_AUDIT_HEX + 1];
    gh_audit_pii_digest(other, &c.r[0], d);
    assert_string_not_equal(d, c.pii[0]);
}

static void intact_chain_passes(void **state)
{
    (void)state;
    chain c;
    make_chain(&c);
    int at;
    assert_int_equal(walk_all(&c, &at), GH_AUDIT_OK);
}

/* An erasure (gh_audit_pseudonymise) keeps the chain valid. */
static void pseudonymised_row_accepted(void **state)
{
    (void)state;
    chain c;
    make_chain(&c);
    c.r[1].subject = "pseud:abc";
    c.r[1].actor = "pseud:abc";
    c.r[1].ip = NULL;
    c.r[1].user_agent = NULL;
    c.r[2].ip = NULL; /* another customer's event naming the address */
    c.r[2].user_agent = NULL;
    c.r[2].details = "{\"email\":\"[erased]\"}";
    gh_audit_walk w;
    gh_audit_walk_start(&w);
    assert_int_equal(gh_audit_walk_step(&w, key, &c.r[0]), GH_AUDIT_OK);
    assert_int_equal(gh_audit_walk_step(&w, key, &c.r[1]), GH_AUDIT_OK_ERASED);
    assert_int_equal(gh_audit_walk_step(&w, key, &c.r[2]), GH_AUDIT_OK_ERASED);
    assert_int_equal(w.erased, 2);
}

static void altered_field_refused(void **state)
{
    (void)state;
    chain c;
    make_chain(&c);
    c.r[1].type = "token.revoked";
    int at;
    assert_int_equal(walk_all(&c, &at), GH_AUDIT_ALTERED);
    assert_int_equal(at, 1);
}

/* A personal field changed other than by an erasure, or an "erasure" that
 * keeps the ip, is refused. */
static void altered_personal_field_refused(void **state)
{
    (void)state;
    chain c;
    make_chain(&c);
    c.r[1].subject = "u2";
    int at;
    assert_int_equal(walk_all(&c, &at), GH_AUDIT_PII_ALTERED);
    assert_int_equal(at, 1);
    make_chain(&c);
    c.r[2].subject = "pseud:abc"; /* made to look erased, but the ip stays */
    assert_int_equal(walk_all(&c, &at), GH_AUDIT_PII_ALTERED);
    assert_int_equal(at, 2);
}

static void deleted_row_is_a_gap(void **state)
{
    (void)state;
    chain c;
    make_chain(&c);
    c.r[1].id = NULL; /* walk_all skips it, as the database no longer has it */
    int at;
    assert_int_equal(walk_all(&c, &at), GH_AUDIT_GAP);
    assert_int_equal(at, 2);
}

/* Rows rewritten with recomputed hashes (an attacker without the key) but
 * with a broken link, or a missing hash, are refused. */
static void rewritten_link_refused(void **state)
{
    (void)state;
    chain c;
    make_chain(&c);
    c.r[2].prev_hash = c.hash[0];
    gh_audit_row_hash(&c.r[2], c.hash[2]);
    int at;
    assert_int_equal(walk_all(&c, &at), GH_AUDIT_BAD_LINK);
    assert_int_equal(at, 2);
    make_chain(&c);
    c.r[0].hash = NULL;
    assert_int_equal(walk_all(&c, &at), GH_AUDIT_UNCHAINED);
    assert_int_equal(at, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_form_vector),
        cmocka_unit_test(fields_are_length_prefixed),
        cmocka_unit_test(pii_digest_is_keyed),
        cmocka_unit_test(intact_chain_passes),
        cmocka_unit_test(pseudonymised_row_accepted),
        cmocka_unit_test(altered_field_refused),
        cmocka_unit_test(altered_personal_field_refused),
        cmocka_unit_test(deleted_row_is_a_gap),
        cmocka_unit_test(rewritten_link_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
